#!/usr/bin/python3
"""DPDK telemetry polled in a loop while bwgate shuts down on SIGTERM.

usage: telemetry_shutdown.py BWGATE CONFIG [ROUNDS]

DPDK 22.11 keeps telemetry commands registered until the process exits, so bwgate's
/bwgate/* commands can run after the HTTP API, its lock and its snapshots are gone. Each
round starts the gate (net_null ports, no traffic needed: the commands serve the API's
snapshots), opens four connections to /var/run/dpdk/PREFIX/dpdk_telemetry.v2 and polls
/bwgate/stats, /bwgate/apps and /bwgate/workers on each as fast as it answers, sends
SIGTERM while they poll, and keeps polling until the sockets close. The gate must exit 0
with no sanitizer report on stderr; built with ASan (scripts/test runs this test against
build-asan too), reading a freed snapshot is a heap-use-after-free report. Every wait is
bounded.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "live"))
import livelib  # noqa: E402

COMMANDS = (b"/bwgate/stats", b"/bwgate/apps", b"/bwgate/workers")


def telemetry_connect(path, deadline):
    while time.time() < deadline:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.settimeout(2)
            s.connect(path)
            s.recv(16384)  # the greeting
            return s
        except OSError:
            time.sleep(0.1)
    return None


def poller(path, stop, counts, i):
    s = telemetry_connect(path, time.time() + 20)
    if not s:
        return
    k = 0
    while not stop.is_set():
        try:
            s.send(COMMANDS[k % len(COMMANDS)])
            reply = s.recv(1 << 20)
            if not reply:
                break
            json.loads(reply)
            counts[i] += 1
            k += 1
        except (OSError, ValueError):
            break
    s.close()


def one_round(ck, bwgate, config, tmp, n):
    port = livelib.free_port()
    prefix = f"bwg-tel-{os.getpid()}-{n}"

    def api(cfg):
        cfg["api"] = {"listen": f"127.0.0.1:{port}"}

    cfg = livelib.write_config(config, tmp, f"tel{n}.json", api, inside="net_null0",
                               outside="net_null1")
    cmd = [bwgate] + livelib.EAL + ["--file-prefix", prefix, "--vdev", "net_null0,no-rx=1",
                                    "--vdev", "net_null1,no-rx=1", "--", "-c", cfg]
    env = dict(os.environ)
    # Leaks are not this test's business (nDPI keeps a few for the process's life).
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    err_path = os.path.join(tmp, f"stderr{n}.txt")
    with open(err_path, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
    sock = f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2"
    counts = [0] * 4
    stop = threading.Event()
    threads = []
    try:
        deadline = time.time() + 30
        while time.time() < deadline and proc.poll() is None:
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=1)
                c.close()
                break
            except OSError:
                time.sleep(0.2)
        threads = [threading.Thread(target=poller, args=(sock, stop, counts, i))
                   for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        before = sum(counts)
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        stop.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with open(err_path) as f:
        err = f.read()
    report = [l for l in err.splitlines() if "Sanitizer" in l or "runtime error" in l]
    print(f"round {n}: {before} telemetry answers before SIGTERM, {sum(counts)} in all; "
          f"exit {rc}")
    ck(before > 0, f"round {n}: telemetry answers while the gate runs ({before})")
    ck(rc == 0 and not report, f"round {n}: SIGTERM under telemetry polling: exit 0, no "
       "sanitizer report", f"exit {rc}: " + "\n".join(report[:5] or err.splitlines()[-5:]))


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    bwgate, config = sys.argv[1:3]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    ck = livelib.Check("telemetry-shutdown")
    with tempfile.TemporaryDirectory(prefix="bwgate-tel.") as tmp:
        for n in range(rounds):
            one_round(ck, bwgate, config, tmp, n)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
