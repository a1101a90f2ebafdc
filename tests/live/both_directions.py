#!/usr/bin/python3
"""Both directions: one TCP flow whose client frames enter the inside port and whose
server frames enter the outside port is one flow, on one worker, in one record.

usage: both_directions.py BWGATE CONFIG GEN_FIXTURES

The generated HTTP exchange with www.gov.cn (business, allowed) is split by direction
into two net_pcap rx files, one per port: the SYN enters inside, the SYN/ACK outside.
The worker polls the inside queue first, so the SYN is the flow's first packet and its
sender the client. Checked: flows.created == 1, each port transmits exactly the other
port's input, in order, counters conserve, and the flow-end record (the rule is given
`log: true`, events go to events.file) names the client, the server, both directions'
packet and byte counts, HTTP, www.gov.cn, business, the rule and the action.
The config drops the schedule-bound rule, so the live clock cannot change the verdict.
"""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import livelib  # noqa: E402

from scapy.utils import PcapWriter  # noqa: E402

MAC_CLIENT = bytes.fromhex("02000a010001")


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    bwgate, config, gen = sys.argv[1:4]
    ck = livelib.Check("both-directions")
    with tempfile.TemporaryDirectory(prefix="bwgate-both.") as tmp:
        fx = os.path.join(tmp, "fx")
        subprocess.run(["/usr/bin/python3", gen, fx], check=True, timeout=120,
                       stdout=subprocess.DEVNULL)
        frames = livelib.frames(os.path.join(fx, "http_gov.pcap"))
        inside = [f for f in frames if f[6:12] == MAC_CLIENT]
        outside = [f for f in frames if f[6:12] != MAC_CLIENT]
        paths = {}
        for name, fr in (("inside", inside), ("outside", outside)):
            paths[name] = os.path.join(tmp, name + ".pcap")
            w = PcapWriter(paths[name], linktype=1, sync=True)
            for f in fr:
                w.write(f)
            w.close()
        print(f"http_gov.pcap: {len(inside)} client frames -> inside, {len(outside)} server "
              "frames -> outside")
        events = os.path.join(tmp, "events.jsonl")

        def mutate(cfg):
            livelib.without_schedules(cfg)
            for r in cfg["rules"]:
                if r["name"] == "allow-business":
                    r["log"] = True
            cfg["events"] = {"file": events}

        cfg = livelib.write_config(config, tmp, "both.json", mutate, inside="net_pcap0",
                                   outside="net_pcap1")
        tx_in, tx_out = os.path.join(tmp, "tx-inside.pcap"), os.path.join(tmp, "tx-outside.pcap")
        rc, stats, err = livelib.run_bwgate(
            bwgate, f"bwg-both-{os.getpid()}",
            [f"net_pcap0,rx_pcap={paths['inside']},tx_pcap={tx_in}",
             f"net_pcap1,rx_pcap={paths['outside']},tx_pcap={tx_out}"],
            cfg, ["--exit-when-idle", "1"])
        if not ck(rc == 0 and stats is not None, "bwgate ran to the end of both inputs",
                  f"exit {rc}\n{err[-2000:]}"):
            ck.done()
        ck(stats["flows"]["created"] == 1,
           f"flows.created == 1 (got {stats['flows']['created']})")
        ck(len(stats["workers"]) == 1 and stats["workers"][0]["flows_created"] == 1,
           "one worker holds the flow")
        ck(livelib.conserves(stats), "rx == tx + drops")
        ck(stats["totals"]["rx_packets"] == len(frames) and
           stats["totals"]["tx_packets"] == len(frames),
           f"all {len(frames)} frames received and forwarded")
        ck(livelib.frames(tx_out) == inside, "outside port sent the client frames, in order")
        ck(livelib.frames(tx_in) == outside, "inside port sent the server frames, in order")
        with open(events) as f:
            ev = [json.loads(line) for line in f if line.strip()]
        ends = [e for e in ev if e["event"] == "flow_end"]
        if ck(len(ends) == 1, f"one flow_end event (events: {[e['event'] for e in ev]})"):
            e = ends[0]
            want = {
                "proto": "TCP", "src_ip": "10.2.0.23", "dst_ip": "198.51.100.23",
                "dst_port": 80, "pkts_c2s": len(inside), "pkts_s2c": len(outside),
                "bytes_c2s": sum(map(len, inside)), "bytes_s2c": sum(map(len, outside)),
                "app": "HTTP", "host": "www.gov.cn", "class": "business",
                "rule": "allow-business", "action": "allow", "dropped_pkts": 0,
            }
            bad = {k: (e.get(k), v) for k, v in want.items() if e.get(k) != v}
            ck(not bad, "flow record: client 10.2.0.23 -> 198.51.100.23:80, both directions "
               "counted, HTTP www.gov.cn, business, allow-business, allow", str(bad))
            keys = {"event", "time", "proto", "src_ip", "src_port", "dst_ip", "dst_port", "vlan",
                    "app", "category", "class", "host", "unit", "rule", "action", "pkts_c2s",
                    "bytes_c2s", "pkts_s2c", "bytes_s2c", "dropped_pkts", "first_ts", "last_ts"}
            ck(keys <= set(e), "event has every flow record field", str(keys - set(e)))
    ck.done()


if __name__ == "__main__":
    sys.exit(main())
