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
"""

import json
import os
import signal
import subprocess
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
EAL = ["--lcores", "0@0,1@1,2@1", "--no-huge", "-m", "768", "--no-pci",
       "--log-level", "lib.eal:warning"]


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
        vdevs = []
        for n, p in enumerate(("inside", "outside")):
            vdevs.append(f"net_pcap{n},rx_pcap={paths[(p, 0)]},rx_pcap={paths[(p, 1)]},"
                         f"tx_pcap={tx[(p, 0)]},tx_pcap={tx[(p, 1)]}")
        cmd = [bwgate] + EAL + ["--file-prefix", f"bwg-workers-{os.getpid()}"]
        for v in vdevs:
            cmd += ["--vdev", v]
        cmd += ["--", "-c", cfg]
        print("run: " + " ".join(cmd))
        sys.stdout.flush()
        errf = open(os.path.join(tmp, "stderr.log"), "w+")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, text=True)
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
    ck.done()


if __name__ == "__main__":
    sys.exit(main())
