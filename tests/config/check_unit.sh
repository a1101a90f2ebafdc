#!/usr/bin/env bash
# The shipped unit as systemd 252 (Debian 12) reads it: `systemd-analyze verify` on a copy
# whose binary paths point at this build, plus the settings operations.md relies on.
# usage: check_unit.sh UNIT BWGATE
set -euo pipefail
unit=$1 bwgate=$(realpath "$2")
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: skipped"; exit 77; }
tmp=$(mktemp -d /tmp/bwgate-unit.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/local/bin/bwgate|$bwgate|g" "$unit" > "$tmp/bwgate.service"
passed=0 failed=0
check() { if eval "$2"; then echo "ok   $1"; passed=$((passed+1)); else echo "FAIL $1"; failed=$((failed+1)); fi; }
out=$(SYSTEMD_LOG_LEVEL=warning timeout 60 systemd-analyze verify --man=no "$tmp/bwgate.service" 2>&1 | grep -v "dpdk.service\|network-pre.target" || true)
check "systemd-analyze verify: no complaint${out:+ ($out)}" '[ -z "$out" ]'
check "Type=notify with a watchdog" 'grep -q "^Type=notify$" "$unit" && grep -q "^WatchdogSec=" "$unit"'
check "reload asks the gate and fails on refusal" 'grep -q "^ExecReload=/usr/local/bin/bwgate --reload -c" "$unit"'
check "no append: into a folder systemd has not made yet" '! grep -q "append:" "$unit"'
check "final stats written by the gate" 'grep -q -- "--final-stats /var/log/bwgate/final-stats.json" "$unit"'
check "exit 2 (bad config) is not restarted, exit 1 is" 'grep -q "^RestartPreventExitStatus=2$" "$unit" && grep -q "^Restart=on-failure$" "$unit"'
check "never gives up restarting" 'grep -q "^StartLimitIntervalSec=0$" "$unit"'
check "ordered after dpdk.service" 'grep -q "^After=.*dpdk.service" "$unit"'
check "Documentation= is where operations.md installs it" 'grep -q "^Documentation=file:///usr/local/share/doc/bwgate/operations.md$" "$unit"'
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
