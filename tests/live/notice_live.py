#!/usr/bin/python3
"""Block notice on the wire: the live appliance answers a blocked plain-HTTP request
with the rule's 403 page toward the client and a RST toward the server.

usage: notice_live.py BWGATE BWGATE_PCAP CONFIG GEN_FIXTURES

The generated HTTP and TLS fixtures enter the gate on its inside port (net_pcap); a
block rule with "notice": true (and "reset": true) matches both. Out of the inside port
(back toward the client) must come the page: the request's server as sender, seq = the
request's ack, ack = the request's end, PSH+FIN, "HTTP/1.1 403 Forbidden", the rule
and the contact. Out of the outside port: the forwarded frames, then a RST toward the
server with the request's seq. Both equal, byte for byte, what `bwgate-pcap --replies`
builds for the same input. The TLS flow gets its RST pair and no page.
"""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import livelib  # noqa: E402

from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

CONTACT = "信息中心 IT service desk, tel. 8000"
RULE = "notice-example"


def with_notice(cfg):
    livelib.without_schedules(cfg)
    livelib.without_resets(cfg)
    cfg["notice"] = {"contact": CONTACT}
    cfg["rules"].insert(0, {"name": RULE, "hosts": ["www.example.org", "www.example.com"],
                            "action": "block", "notice": True, "reset": True})


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    bwgate, bwgate_pcap, config, gen = sys.argv[1:5]
    ck = livelib.Check("notice")
    with tempfile.TemporaryDirectory(prefix="bwgate-notice.") as tmp:
        fx = livelib.fixtures(gen, tmp)
        cfg = livelib.write_config(config, tmp, "notice.json", with_notice,
                                   inside="net_pcap0", outside="net_pcap1")
        for name, page_due in (("http_example", True), ("tls_example", False)):
            pcap = os.path.join(fx, name + ".pcap")
            replies = os.path.join(tmp, name + ".replies.pcap")
            fwd = os.path.join(tmp, name + ".fwd.pcap")
            subprocess.run([bwgate_pcap, "-c", cfg, "-w", fwd, "--replies", replies, pcap],
                           check=True, timeout=120)
            want = [Ether(f) for f in livelib.frames(replies)]
            tx_in = os.path.join(tmp, name + ".inside.pcap")
            tx_out = os.path.join(tmp, name + ".outside.pcap")
            rc, stats, err = livelib.run_bwgate(
                bwgate, f"bwg-notice-{os.getpid()}-{name}",
                [f"net_pcap0,rx_pcap={pcap},tx_pcap={tx_in}", f"net_pcap1,tx_pcap={tx_out}"],
                cfg, ["--exit-when-idle", "1"])
            if not ck(rc == 0 and stats is not None, f"{name}: bwgate ran to the end",
                      f"exit {rc}\n{err[-2000:]}"):
                continue
            back = livelib.frames(tx_in)
            out = livelib.frames(tx_out)
            inputs = set(livelib.frames(pcap))
            made = [f for f in out if f not in inputs]
            ck(livelib.frames(fwd) == [f for f in out if f in inputs],
               f"{name}: forwarded frames equal bwgate-pcap -w")
            sent = sum(w["notices_sent"] for w in stats["workers"])
            if page_due:
                ck(len(back) == 1 and len(made) == 1,
                   f"{name}: one page back out of the inside port, one RST out of the "
                   f"outside port ({len(back)}, {len(made)})")
                ck(sent == 1 and stats["counters"]["notices"] == 1,
                   f"{name}: notices 1, notices_sent 1 ({stats['counters']['notices']}, {sent})")
                if len(back) != 1 or len(made) != 1:
                    continue
                page, rst = Ether(back[0]), Ether(made[0])
                req = next(Ether(f) for f in livelib.frames(pcap)
                           if TCP in Ether(f) and bytes(Ether(f)[TCP].payload).startswith(b"GET "))
                t, r = page[TCP], req[TCP]
                ck((page[IP].src, page[IP].dst, t.sport, t.dport) ==
                   (req[IP].dst, req[IP].src, r.dport, r.sport),
                   f"{name}: the page goes from the server's address and port to the client")
                ck((t.seq, t.ack, str(t.flags)) ==
                   (r.ack, (r.seq + len(r.payload)) & 0xffffffff, "FPA"),
                   f"{name}: page seq = request's ack, ack = request's end, FIN+PSH+ACK",
                   f"{(t.seq, t.ack, str(t.flags))} vs request {(r.seq, r.ack, len(r.payload))}")
                body = bytes(t.payload)
                ck(body.startswith(b"HTTP/1.1 403 Forbidden\r\n") and
                   RULE.encode() in body and CONTACT.encode() in body and
                   "访问已被阻止".encode() in body,
                   f"{name}: a 403 page naming the rule and the contact, Chinese and English")
                ck((rst[IP].dst, rst[TCP].dport, rst[TCP].seq, rst[TCP].flags & 0x04) ==
                   (req[IP].dst, r.dport, r.seq, 0x04),
                   f"{name}: RST toward the server with the request's seq")
                ck([bytes(page), bytes(rst)] == [bytes(p) for p in want],
                   f"{name}: page and RST equal bwgate-pcap --replies byte for byte")
            else:
                ck(sent == 0 and stats["counters"]["notices"] == 0,
                   f"{name}: no page for a TLS flow")
                ck(len(made) == len(back) and len(made) > 0 and
                   all(Ether(f)[TCP].flags & 0x04 and not bytes(Ether(f)[TCP].payload)
                       for f in made + back),
                   f"{name}: RST pairs only ({len(made)} + {len(back)})")
            ck(livelib.conserves(stats), f"{name}: rx == tx + drops")
    ck.done()


if __name__ == "__main__":
    sys.exit(main())
