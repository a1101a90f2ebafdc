#!/usr/bin/python3
"""Two workers on two queues of each port: flows split by queue, both directions of a
flow on the same queue number; per-worker counters, totals, conservation, and a policy
reload that every worker acknowledges.

usage: workers_test.py BWGATE CONFIG

Each port is net_pcap with two rx_pcap files (one RX queue each) and two tx_pcap files.
48 UDP flows (10.2.0.x -> 198.51.100.x, 3 frames out, 2 back) are split by flow: flow i
on queue i % 2, its client frames into the inside port's file of that queue, its server
frames into the outside port's. Three lcores share the machine's two CPUs (a functional
test, not a speed one): 0 is the control thread, 1 and 2 the workers.

Checked: 2 workers in the final stats, each created exactly the flows of its queue and
received exactly its queue's frames (a flow whose directions met different workers
would be created twice); totals are the workers' sums and conserve, per worker too;
each port sent on queue q exactly what the other port received on queue q; a SIGHUP
reload is acknowledged by both workers (workers[].policy_version) within 10 s.

Then a per-host limit over both workers: one client of unit health sends 8 UDP flows,
flow i on queue i % 2, at three times a per_host limit of 800 Kbit/s (burst 64 KB).
Each inside RX queue is a FIFO this script writes in time: 32 frames to each queue every
213 ms for 6 s (2.4 Mbit/s in all), so the gate's clock sees the traffic as it was
sent. Checked: both workers carried the client's frames, and what they forwarded together
is the burst plus the rate over the time sent, within 5% (one bucket pair shared by the
workers; a bucket per worker would let through twice as much).
"""

import json
import os
import signal
import struct
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import livelib  # noqa: E402

from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.utils import PcapWriter  # noqa: E402

FLOWS = 48

def make_traffic(tmp):
    """Returns ({(port, queue): path}, {queue: frames in}, {queue: flows})."""
    out = {(p, q): [] for p in ("inside", "outside") for q in (0, 1)}
    for i in range(FLOWS):
        q = i % 2
        cli, srv = f"10.2.0.{10 + i}", f"198.51.100.{10 + i}"
        sport, dport = 40000 + i, 7000 + i
        for k in range(3):
            out[("inside", q)].append(bytes(
                Ether(src="02:00:0a:02:00:01", dst="02:c6:33:64:00:01") /
                IP(src=cli, dst=srv) / UDP(sport=sport, dport=dport) / (b"q%02d" % k * 8)))
        for k in range(2):
            out[("outside", q)].append(bytes(
                Ether(src="02:c6:33:64:00:01", dst="02:00:0a:02:00:01") /
                IP(src=srv, dst=cli) / UDP(sport=dport, dport=sport) / (b"r%02d" % k * 8)))
    paths = {}
    for key, frames in out.items():
        paths[key] = os.path.join(tmp, f"rx-{key[0]}-{key[1]}.pcap")
        w = PcapWriter(paths[key], linktype=1, sync=True)
        for f in frames:
            w.write(f)
        w.close()
    frames_in = {q: len(out[("inside", q)]) + len(out[("outside", q)]) for q in (0, 1)}
    return paths, out, frames_in


LIMIT_BPS = 800000
LIMIT_BURST = 64 * 1024
CLIENT = "10.3.0.7"
FRAME = 1000
ROUND_FRAMES = 32     # per queue per write: one RX burst
ROUND_S = 0.213       # 64 frames of 1000 B every 213 ms: 2.4 Mbit/s
ROUNDS = 29           # 28 gaps: 5.96 s


def pcap_record(frame, t):
    return struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(frame), len(frame)) + frame


def per_host_limit(bwgate, config, ck, tmp):
    """The per-host limit held across the two workers (see the docstring)."""
    def mutate(cfg):
        livelib.without_schedules(cfg)
        cfg["workers"] = 2
        cfg["rules"].insert(0, {"name": "cap-health", "units": ["health"], "action": "limit",
                                "limit": {"rate": f"{LIMIT_BPS // 1000}Kbit",
                                          "burst": f"{LIMIT_BURST // 1024}KB",
                                          "scope": "per_host"}})

    cfg = livelib.write_config(config, tmp, "limit.json", mutate, inside="net_pcap0",
                               outside="net_pcap1")
    flows = []
    for i in range(8):
        pkt = (Ether(src="02:00:0a:03:00:07", dst="02:c6:33:64:00:01") /
               IP(src=CLIENT, dst=f"198.51.100.{40 + i}") / UDP(sport=42000 + i, dport=9100))
        flows.append(bytes(pkt / bytes((k * 7 + i) % 256 for k in range(FRAME - len(pkt)))))
    header = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
    fifo, empty, tx, fds = {}, {}, {}, {}
    for q in (0, 1):
        fifo[q] = os.path.join(tmp, f"limit-in-{q}.fifo")
        os.mkfifo(fifo[q])
        # Read-write: the gate's open for reading does not wait for a writer, and the
        # pipe stays open until this script closes it (then the gate reads EOF).
        fds[q] = os.open(fifo[q], os.O_RDWR)
        os.write(fds[q], header)
        empty[q] = os.path.join(tmp, f"limit-out-{q}.pcap")
        PcapWriter(empty[q], linktype=1, sync=True).close()
        for p in ("inside", "outside"):
            tx[(p, q)] = os.path.join(tmp, f"limit-tx-{p}-{q}.pcap")
    proc, errf = livelib.start_two_queues(bwgate, cfg, tmp, "limit", {"inside": fifo, "outside": empty}, tx)
    with open(cfg) as f:
        c = json.load(f)
    base = "http://" + c["api"]["listen"]
    with open(c["api"]["token_file"]) as f:
        token = f.read().strip()
    up, deadline = False, time.time() + 60
    while not up and time.time() < deadline and proc.poll() is None:
        try:
            up = api_get(base, token, "/api/v1/stats") is not None
        except (OSError, ValueError):
            time.sleep(0.2)
    sent, t0, t_last = 0, time.time(), None
    if up:
        for r in range(ROUNDS):
            at = t0 + r * ROUND_S
            while time.time() < at:
                time.sleep(min(0.01, at - time.time()))
            now = time.time()
            for q in (0, 1):
                mine = [f for i, f in enumerate(flows) if i % 2 == q]
                os.write(fds[q], b"".join(pcap_record(mine[k % len(mine)], now)
                                          for k in range(ROUND_FRAMES)))
                sent += ROUND_FRAMES
            t_last = now
        time.sleep(0.5)
    for q in (0, 1):
        os.close(fds[q])
    rc, stats, err = livelib.stop_with_stats(proc, errf)
    if not ck(up and rc == 0 and stats is not None, "per-host limit run: bwgate ran and "
              "stopped with its final stats", f"exit {rc}\n{err[-2000:]}"):
        return
    ws = stats["workers"]
    ck(all(w["rx_packets"] == sent // 2 for w in ws) and len(ws) == 2,
       f"per-host limit run: each worker received its queue's {sent // 2} frames",
       str([w["rx_packets"] for w in ws]))
    fwd = [len(livelib.frames(tx[("outside", q)])) * FRAME for q in (0, 1)]
    span = t_last - t0
    want = LIMIT_BURST + LIMIT_BPS / 8 * span
    rate = (sum(fwd) - LIMIT_BURST) * 8 / span
    print(f"per-host limit {LIMIT_BPS} bit/s (burst {LIMIT_BURST} B) over 2 workers: "
          f"offered {sent * FRAME} B in {span:.2f} s, forwarded {fwd[0]} + {fwd[1]} B "
          f"= {sum(fwd)} B, want {want:.0f} B: {(sum(fwd) - want) / want * 100:+.2f}%; "
          f"rate past the burst {rate:.0f} bit/s ({(rate - LIMIT_BPS) / LIMIT_BPS * 100:+.2f}%)")
    ck(fwd[0] > 0 and fwd[1] > 0, "the client's flows went through both workers", str(fwd))
    ck(abs(rate - LIMIT_BPS) <= 0.05 * LIMIT_BPS,
       "the two workers together held the client to its per_host rate within 5%",
       f"{rate:.0f} bit/s")
    ck(stats["drops"].get("policy_limit", 0) == sent - sum(fwd) // FRAME,
       "what was not forwarded is counted under policy_limit", json.dumps(stats["drops"]))
    ck(livelib.conserves(stats), "per-host limit run: rx == tx + drops, per worker too")


def api_get(base, token, path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    bwgate, config = sys.argv[1:3]
    ck = livelib.Check("workers")
    with tempfile.TemporaryDirectory(prefix="bwgate-workers.") as tmp:
        paths, out, frames_in = make_traffic(tmp)

        def mutate(cfg):
            livelib.without_schedules(cfg)
            cfg["workers"] = 2

        cfg = livelib.write_config(config, tmp, "workers.json", mutate, inside="net_pcap0",
                                   outside="net_pcap1")
        with open(cfg) as f:
            c = json.load(f)
        base = "http://" + c["api"]["listen"]
        with open(c["api"]["token_file"]) as f:
            token = f.read().strip()
        tx = {(p, q): os.path.join(tmp, f"tx-{p}-{q}.pcap") for p in ("inside", "outside")
              for q in (0, 1)}
        rx = {p: [paths[(p, q)] for q in (0, 1)] for p in ("inside", "outside")}
        proc, errf = livelib.start_two_queues(bwgate, cfg, tmp, "workers", rx, tx)
        total = sum(frames_in.values())
        s, deadline = None, time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            try:
                s = api_get(base, token, "/api/v1/stats")
                if s["totals"]["rx_packets"] == total:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        ck(s is not None and s["totals"]["rx_packets"] == total,
           f"the API counts all {total} frames received",
           json.dumps(s["totals"]) if s else "no answer")
        version = s["policy"]["version"] if s else 0
        os.kill(proc.pid, signal.SIGHUP)
        seen, deadline = None, time.time() + 10
        while time.time() < deadline:
            try:
                seen = [w["policy_version"] for w in api_get(base, token, "/api/v1/stats")["workers"]]
                if seen == [version + 1] * 2:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        ck(seen == [version + 1] * 2,
           f"a SIGHUP reload is acknowledged by both workers (version {version + 1})",
           str(seen))
        rc, stdout = livelib.stop_gate(proc)
        errf.seek(0)
        err = errf.read()
        errf.close()
        stats = None
        try:
            stats = json.loads(stdout)
        except ValueError:
            pass
        if not ck(rc == 0 and stats is not None, "bwgate stopped with its final stats",
                  f"exit {rc}\n{err[-2000:]}"):
            ck.done()
        ws = stats["workers"]
        ck(len(ws) == 2 and [w["queue"] for w in ws] == [0, 1], "two workers, queues 0 and 1",
           str([(w.get("id"), w.get("queue")) for w in ws]))
        for w in ws:
            q = w["queue"]
            ck(w["rx_packets"] == frames_in[q],
               f"worker {w['id']} received its queue's {frames_in[q]} frames",
               str(w["rx_packets"]))
            ck(w["flows_created"] == FLOWS // 2,
               f"worker {w['id']} created its queue's {FLOWS // 2} flows, one per flow "
               "(both directions met it)", str(w["flows_created"]))
        ck(stats["flows"]["created"] == FLOWS, f"flows.created == {FLOWS}",
           str(stats["flows"]["created"]))
        t = stats["totals"]
        ok = all(t[k] == sum(w[k] for w in ws)
                 for k in ("rx_packets", "rx_bytes", "tx_packets", "dropped_packets"))
        ck(ok, "totals are the workers' sums", json.dumps(t))
        ck(livelib.conserves(stats), "rx == tx + drops, in all and per worker")
        for q in (0, 1):
            fwd_out = livelib.frames(tx[("outside", q)])
            fwd_in = livelib.frames(tx[("inside", q)])
            ck(set(fwd_out) <= set(out[("inside", q)]) and
               set(fwd_in) <= set(out[("outside", q)]),
               f"queue {q}: each port sent only what the other received on queue {q}")
        ck(sum(len(livelib.frames(p)) for p in tx.values()) == t["tx_packets"],
           "the tx files hold tx_packets frames")
        per_host_limit(bwgate, config, ck, tmp)
    ck.done()


if __name__ == "__main__":
    sys.exit(main())
