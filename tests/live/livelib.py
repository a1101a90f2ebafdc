"""Helpers shared by the live appliance's tests: configs, EAL command lines, pcaps.

Every process gets a timeout; EAL runs without hugepages or PCI, on lcores 0-1 (main
lcore 0 is the control thread, lcore 1 the worker), with a file prefix of its own.
"""

import json
import os
import signal
import socket
import subprocess
import sys

from scapy.utils import RawPcapReader

EAL = ["-l", "0-1", "--no-huge", "-m", "512", "--no-pci", "--log-level", "lib.eal:warning"]
# Two workers: the control thread on lcore 0, workers on lcores 1 and 2, which share CPU 1
# (a functional test, not a speed one).
EAL_TWO_WORKERS = ["--lcores", "0@0,1@1,2@1", "--no-huge", "-m", "768", "--no-pci",
                   "--log-level", "lib.eal:warning"]


class Check:
    """Counts and prints named checks; `done()` exits 1 when one failed."""

    def __init__(self, name):
        self.name = name
        self.failed = 0
        self.passed = 0

    def __call__(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}" + (f": {detail}" if detail else ""))
        sys.stdout.flush()
        return ok

    def done(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


def free_port(kind=socket.SOCK_STREAM):
    """A TCP (or, with kind=socket.SOCK_DGRAM, UDP) port on 127.0.0.1 nobody listens on
    (now)."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_config(src, tmp, name, mutate=None, **ports):
    """Copy the config at src into tmp with `ports` set, its list files still read from
    beside src (lists_dir), its API on a free port with a token file, its events file
    and policy history in tmp (NAME.token, NAME.events.jsonl, NAME.history/); let
    mutate(cfg) adjust it. Returns the new path."""
    with open(src) as f:
        cfg = json.load(f)
    here = os.path.dirname(os.path.abspath(src))
    cfg["lists_dir"] = os.path.join(here, cfg.get("lists_dir", "."))
    if ports:
        cfg["ports"] = dict(ports)
    # The shipped config logs to /var/log/bwgate: a test's gate logs into its own folder.
    stem = os.path.join(tmp, os.path.splitext(name)[0])
    # The shipped API listens on 8080 with /etc/bwgate/api.token: a test's gate on a free
    # port with a token of its own.
    with open(stem + ".token", "w") as f:
        f.write("test-token-" + os.urandom(12).hex() + "\n")
    cfg["api"] = {"listen": f"127.0.0.1:{free_port()}", "token_file": stem + ".token"}
    cfg["events"] = {"file": stem + ".events.jsonl"}
    cfg["history"] = {"dir": stem + ".history", "keep": 100}
    if mutate:
        mutate(cfg)
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    return path


def fixtures(gen, tmp):
    """Generate the traffic fixtures (tests/traffic/gen_fixtures.py) into tmp/fx."""
    fx = os.path.join(tmp, "fx")
    subprocess.run(["/usr/bin/python3", gen, fx], check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    return fx


def without_schedules(cfg):
    """Drop schedule-bound rules and the schedules: verdicts then do not depend on the
    time of day, which differs between live (now) and offline (capture time)."""
    cfg["rules"] = [r for r in cfg["rules"] if "schedule" not in r]
    cfg.pop("schedules", None)


def without_resets(cfg):
    for r in cfg["rules"]:
        r.pop("reset", None)


def run_bwgate(bwgate, prefix, vdevs, config, extra=(), timeout=120):
    """Run the appliance to its end; returns (exit status, final stats or None, stderr)."""
    cmd = [bwgate] + EAL + ["--file-prefix", prefix]
    for v in vdevs:
        cmd += ["--vdev", v]
    cmd += ["--", "-c", config] + list(extra)
    print("run: " + " ".join(cmd))
    sys.stdout.flush()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return None, None, (e.stderr or b"").decode(errors="replace") + "\n(timed out)"
    stats = None
    if p.returncode == 0:
        try:
            stats = json.loads(p.stdout)
        except ValueError:
            pass
    return p.returncode, stats, p.stderr


def start_two_queues(bwgate, config, tmp, name, rx, tx):
    """bwgate with two workers on two net_pcap ports of two queues each: rx[port][queue]
    read (port "inside" or "outside"), tx[(port, queue)] written. Returns (process, its
    stderr file), for stop_with_stats."""
    cmd = [bwgate] + EAL_TWO_WORKERS + ["--file-prefix", f"bwg-{name}-{os.getpid()}"]
    for n, p in enumerate(("inside", "outside")):
        cmd += ["--vdev", f"net_pcap{n},rx_pcap={rx[p][0]},rx_pcap={rx[p][1]},"
                          f"tx_pcap={tx[(p, 0)]},tx_pcap={tx[(p, 1)]}"]
    cmd += ["--", "-c", config]
    print("run: " + " ".join(cmd))
    sys.stdout.flush()
    errf = open(os.path.join(tmp, f"{name}-stderr.log"), "w+")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, text=True), errf


def stop_gate(proc, sig=signal.SIGINT, timeout=60):
    """Stop a gate started with Popen(stdout=PIPE) by `sig`, killing it after `timeout`
    seconds; returns (exit status, stdout)."""
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return proc.returncode, out


def stop_with_stats(proc, errf, sig=signal.SIGTERM):
    """Stop a gate started with Popen(stdout=PIPE, stderr=errf) by `sig`; returns (exit
    status, its final stats or None, its stderr)."""
    rc, stdout = stop_gate(proc, sig)
    errf.seek(0)
    err = errf.read()
    errf.close()
    try:
        return rc, json.loads(stdout), err
    except ValueError:
        return rc, None, err


def frames(path):
    """Every frame of a pcap file as bytes, in order."""
    if not os.path.exists(path):
        return []
    return [data for data, _ in RawPcapReader(path)]


def conserves(stats):
    """rx == tx + dropped == tx + sum(drops), for the totals and every worker."""
    t = stats["totals"]
    ok = t["rx_packets"] == t["tx_packets"] + t["dropped_packets"]
    ok &= t["dropped_packets"] == sum(stats["drops"].values())
    for w in stats["workers"]:
        ok &= w["rx_packets"] == w["tx_packets"] + w["dropped_packets"]
        ok &= w["dropped_packets"] == sum(w["drops"].values())
    return bool(ok)
