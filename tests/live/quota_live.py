#!/usr/bin/python3
"""Quota usage survives SIGTERM and a restart of the live appliance.

usage: quota_live.py BWGATE CONFIG

A rule holds web traffic to a daily quota of 1 MB per user, then blocks. A first gate
forwards about 750 KB of an HTTP download to one user (net_pcap, inside port); the API
shows the usage (/api/v1/quotas?host=); SIGTERM stops it and the state_file holds the
usage. A second gate, started on the same config, reads it back and takes another
750 KB download: it forwards exactly the frames up to the one that reaches 1 MB in
total, blocks the rest, and logs one quota event. SIGTERM again: the state file holds
the day's total.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "traffic"))
import livelib  # noqa: E402
from check_policy import Download, QUOTA_USER  # noqa: E402

QUOTA = 1024 * 1024


def with_quota(state):
    def change(cfg):
        livelib.without_schedules(cfg)
        cfg["state_file"] = state
        cfg["rules"].insert(0, {"name": "quota-web", "classes": ["web"], "action": "allow",
                                "quota": {"period": "day", "bytes": "1MB", "then": "block"}})
    return change


def quotas(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/quotas?host={QUOTA_USER}",
                                    timeout=2) as r:
            return json.load(r)["quotas"][0]
    except (OSError, ValueError, KeyError, IndexError):
        return None


def start(bwgate, cfg, pcap, tmp, tag):
    out = os.path.join(tmp, tag + ".outside.pcap")
    cmd = [bwgate] + livelib.EAL + ["--file-prefix", f"bwg-quota-{os.getpid()}-{tag}",
                                    "--vdev", f"net_pcap0,rx_pcap={pcap}",
                                    "--vdev", f"net_pcap1,tx_pcap={out}", "--", "-c", cfg]
    print("run: " + " ".join(cmd))
    sys.stdout.flush()
    err = open(os.path.join(tmp, tag + ".stderr"), "w")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True), out


def wait_usage(port, proc, want, timeout=30):
    deadline = time.time() + timeout
    q = None
    while time.time() < deadline and proc.poll() is None:
        q = quotas(port)
        if q and q["used_bytes"] >= want:
            return q
        time.sleep(0.2)
    return q


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    bwgate, config = sys.argv[1:3]
    ck = livelib.Check("quota")
    with tempfile.TemporaryDirectory(prefix="bwgate-quota.") as tmp:
        state = os.path.join(tmp, "quota.state")
        cfg_path = livelib.write_config(config, tmp, "quota.json", with_quota(state),
                                        inside="net_pcap0", outside="net_pcap1")
        with open(cfg_path) as f:
            port = int(json.load(f)["api"]["listen"].rsplit(":", 1)[1])
        # About 750 KB each: two downloads of the same user, on two ports.
        first = Download(time.time(), 41001).run(0.06, 100e6)
        second = Download(time.time() + 1, 41002).run(0.06, 100e6)
        a = first.write(os.path.join(tmp, "a.pcap"))
        b = second.write(os.path.join(tmp, "b.pcap"))
        used_a = sum(len(fr) for _, _, fr in first.frames[3:])

        proc, _ = start(bwgate, cfg_path, a, tmp, "first")
        q = wait_usage(port, proc, used_a)
        ck(q is not None and q["used_bytes"] == used_a and not q["over"],
           f"first gate: the API shows the user's usage ({q and q['used_bytes']} of "
           f"{used_a} bytes)")
        rc, _ = livelib.stop_gate(proc, signal.SIGTERM)
        ck(rc == 0, f"first gate stops on SIGTERM (exit {rc})")
        try:
            with open(state) as f:
                saved = json.load(f)["quotas"]
        except (OSError, ValueError, KeyError):
            saved = None
        ck(saved is not None and [(s["host"], s["used_bytes"]) for s in saved] ==
           [(QUOTA_USER, used_a)], f"the state file holds the usage after SIGTERM ({saved})")

        proc, out = start(bwgate, cfg_path, b, tmp, "second")
        used, cut = used_a, None
        for i, (_, _, fr) in enumerate(second.frames[3:]):
            used += len(fr)
            if used >= QUOTA:
                cut = i + 3
                break
        q = wait_usage(port, proc, QUOTA)
        ck(q is not None and q["over"] and q["used_bytes"] == used,
           f"second gate: usage read back and counted on to the quota ({q and q['used_bytes']}"
           f", want {used})")
        rc, _ = livelib.stop_gate(proc, signal.SIGTERM)
        ck(rc == 0, f"second gate stops on SIGTERM (exit {rc})")
        sent = livelib.frames(out)
        ck(cut is not None and sent == [fr for _, _, fr in second.frames[:cut + 1]],
           f"second gate: forwarded up to the frame that reached 1 MB ({len(sent)} frames, "
           f"want {cut and cut + 1}), blocked after")
        with open(os.path.join(tmp, "quota.events.jsonl")) as f:
            evs = [json.loads(line) for line in f if '"quota"' in line]
        evs = [e for e in evs if e["event"] == "quota"]
        ck(len(evs) == 1 and evs[0]["quota"]["user"] == QUOTA_USER,
           f"one quota event in the audit log ({len(evs)})")
        with open(state) as f:
            saved = json.load(f)["quotas"]
        ck([(s["host"], s["used_bytes"]) for s in saved] == [(QUOTA_USER, used)],
           f"the state file holds the day's total ({saved})")
        with open(os.path.join(tmp, "second.stderr")) as f:
            log = f.read()
        ck("quota usage of 1 user read back" in log, "the second gate says it read the usage")
    ck.done()


if __name__ == "__main__":
    sys.exit(main())
