#!/usr/bin/python3
"""A quota is exact across workers: one user's flows on two workers count once.

usage: quota_workers.py BWGATE CONFIG

Two workers on two queues of each port (net_pcap, two rx_pcap files each, as
workers_test.py). One user (10.2.0.7, unit finance) sends UDP flows on both queues,
2 MB in all, against a rule that allows finance's traffic up to a daily quota of 1 MB,
then blocks. Both workers count into the one shared entry at once, so:

- the bytes the gate forwarded for the user (every frame in the tx files) equal the
  usage it reports (/api/v1/quotas?host=, and the state file after SIGTERM) exactly:
  nothing counted twice, nothing lost;
- the usage reached the quota, and overshot it by less than one frame per worker (a
  frame each worker forwarded while the other's was taking the count over);
- exactly one quota event was logged.
"""

import json
import os
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import livelib  # noqa: E402

from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.utils import PcapWriter  # noqa: E402

USER = "10.2.0.7"
QUOTA = 1024 * 1024
FRAME = 1000

def make_traffic(tmp):
    """2 MB from USER: 16 flows, flow i on queue i % 2, 131 frames of 1000 B each."""
    frames = {0: [], 1: []}
    for i in range(16):
        pkt = (Ether(src="02:00:0a:02:00:01", dst="02:c6:33:64:00:01") /
               IP(src=USER, dst=f"198.51.100.{20 + i}") / UDP(sport=41000 + i, dport=9000))
        pad = FRAME - len(bytes(pkt))
        for k in range(131):
            frames[i % 2].append(bytes(pkt / (bytes([k % 256]) * pad)))
    paths = {}
    for q in (0, 1):
        paths[q] = os.path.join(tmp, f"rx-inside-{q}.pcap")
        w = PcapWriter(paths[q], linktype=1, sync=True)
        for f in frames[q]:
            w.write(f)
        w.close()
    empty = os.path.join(tmp, "rx-empty.pcap")
    PcapWriter(empty, linktype=1, sync=True).close()
    return paths, empty, sum(len(v) for v in frames.values())


def with_quota(state):
    def change(cfg):
        livelib.without_schedules(cfg)
        cfg["workers"] = 2
        cfg["state_file"] = state
        cfg["rules"].insert(0, {"name": "quota-finance", "units": ["finance"], "action": "allow",
                                "quota": {"period": "day", "bytes": "1MB", "then": "block"}})
    return change


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    bwgate, config = sys.argv[1:3]
    ck = livelib.Check("quota-workers")
    with tempfile.TemporaryDirectory(prefix="bwgate-quota-workers.") as tmp:
        rx, empty, total = make_traffic(tmp)
        state = os.path.join(tmp, "quota.state")
        cfg = livelib.write_config(config, tmp, "qw.json", with_quota(state),
                                   inside="net_pcap0", outside="net_pcap1")
        with open(cfg) as f:
            base = "http://" + json.load(f)["api"]["listen"]
        tx = [os.path.join(tmp, f"tx-outside-{q}.pcap") for q in (0, 1)]
        rx_ports = {"inside": [rx[0], rx[1]], "outside": [empty, empty]}
        tx_ports = {("inside", q): os.path.join(tmp, f"tx-in-{q}.pcap") for q in (0, 1)}
        tx_ports.update({("outside", q): tx[q] for q in (0, 1)})
        proc, errf = livelib.start_two_queues(bwgate, cfg, tmp, "qw", rx_ports, tx_ports)
        s, deadline = None, time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(base + "/api/v1/stats", timeout=5) as r:
                    s = json.load(r)
                if s["totals"]["rx_packets"] == total:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        ck(s is not None and s["totals"]["rx_packets"] == total,
           f"both workers received the user's {total} frames")
        q = None
        try:
            with urllib.request.urlopen(f"{base}/api/v1/quotas?host={USER}", timeout=5) as r:
                q = json.load(r)["quotas"][0]
        except (OSError, ValueError, KeyError, IndexError):
            pass
        rc, stats, err = livelib.stop_with_stats(proc, errf)
        if not ck(rc == 0 and stats is not None, "bwgate stopped on SIGTERM with its stats",
                  f"exit {rc}\n{err[-2000:]}"):
            ck.done()
        ws = stats["workers"]
        ck(len(ws) == 2 and all(w["rx_packets"] > 0 for w in ws),
           f"two workers, both carried the user's flows ({[w['rx_packets'] for w in ws]})")
        forwarded = sum(len(f) for p in tx for f in livelib.frames(p))
        with open(state) as f:
            saved = json.load(f)["quotas"]
        used = saved[0]["used_bytes"] if len(saved) == 1 else None
        ck(q is not None and q["used_bytes"] == forwarded and used == forwarded,
           f"usage equals the bytes forwarded, to the byte (API {q and q['used_bytes']}, "
           f"state file {used}, forwarded {forwarded})")
        ck(used is not None and QUOTA <= used < QUOTA + 2 * FRAME,
           f"the quota was reached, overshot by less than a frame per worker ({used})")
        with open(os.path.join(tmp, "qw.events.jsonl")) as f:
            evs = [e for e in (json.loads(line) for line in f) if e["event"] == "quota"]
        ck(len(evs) == 1, f"one quota event ({len(evs)})")
        ck(livelib.conserves(stats), "rx == tx + drops, in all and per worker")
    ck.done()


if __name__ == "__main__":
    sys.exit(main())
