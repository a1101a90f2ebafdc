#!/usr/bin/python3
"""Wire test: the appliance forwards exactly what the offline replay forwards.

usage: wire_test.py BWGATE BWGATE_PCAP CONFIG GEN_FIXTURES

Generated traffic enters bwgate on a net_pcap port (inside, rx_pcap); what leaves the
outside port (tx_pcap) must equal, byte for byte and in order, what `bwgate-pcap -w`
forwards for the same input and config. The appliance stops by itself at the end of
the input (--exit-when-idle), and its final stats must conserve packets and agree with
the offline totals.

Packet time differs: live frames carry the TSC clock of their burst, offline ones their
capture time. The config is therefore the default policy without its schedule-bound
rule (the working-hours web limit): with no schedule and no limit rule, no verdict
depends on time. A second run keeps `reset: true` on the block rules and checks the RSTs
the gate sends both ways.
"""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import livelib  # noqa: E402

from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402


def tuple_of(frame):
    p = Ether(frame)
    ip = p.getlayer(IP) or p.getlayer(IPv6)
    if ip is None:
        return None
    l4 = ip.payload
    sport = getattr(l4, "sport", 0)
    dport = getattr(l4, "dport", 0)
    return (str(ip.src), int(sport), str(ip.dst), int(dport))


def offline(bwgate_pcap, config, pcap, tmp, tag):
    out = os.path.join(tmp, f"{tag}-offline.pcap")
    stats = os.path.join(tmp, f"{tag}-offline.json")
    flows = os.path.join(tmp, f"{tag}-flows.jsonl")
    subprocess.run([bwgate_pcap, "-c", config, "-w", out, "--stats", stats, "--flows", flows,
                    pcap], check=True, timeout=120)
    import json
    with open(stats) as f:
        st = json.load(f)
    with open(flows) as f:
        fl = [json.loads(line) for line in f if line.strip()]
    return livelib.frames(out), st, fl


def live(bwgate, config, pcap, tmp, tag):
    tx_out = os.path.join(tmp, f"{tag}-outside.pcap")
    tx_in = os.path.join(tmp, f"{tag}-inside.pcap")
    rc, stats, err = livelib.run_bwgate(
        bwgate, f"bwg-wire-{os.getpid()}-{tag}",
        [f"net_pcap0,rx_pcap={pcap},tx_pcap={tx_in}", f"net_pcap1,tx_pcap={tx_out}"],
        config, ["--exit-when-idle", "1"])
    return rc, stats, err, livelib.frames(tx_out), livelib.frames(tx_in)


def check_forwarding(ck, bwgate, bwgate_pcap, config, pcap, tmp, tag):
    name = os.path.basename(pcap)
    want, off_stats, flows = offline(bwgate_pcap, config, pcap, tmp, tag)
    rc, stats, err, got, back = live(bwgate, config, pcap, tmp, tag)
    if not ck(rc == 0 and stats is not None, f"{name}: bwgate ran to the end of the input "
              "and printed its final stats", f"exit {rc}\n{err[-2000:]}"):
        return
    ck(len(got) == len(want), f"{name}: outside port sent {len(got)} frames, offline "
       f"forwarded {len(want)}")
    first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
    ck(got == want, f"{name}: frames on the wire equal bwgate-pcap -w byte for byte, in order",
       f"first difference at frame {first}")
    ck(len(back) == 0, f"{name}: nothing sent back out of the inside port")
    ck(livelib.conserves(stats), f"{name}: rx == tx + drops (totals and per worker)")
    t, o = stats["totals"], off_stats["totals"]
    keys = ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "dropped_packets")
    ck(all(t[k] == o[k] for k in keys) and stats["drops"] == off_stats["drops"],
       f"{name}: totals and drops equal the offline replay's "
       f"(rx {t['rx_packets']}, tx {t['tx_packets']}, dropped {t['dropped_packets']})",
       f"live {t} {stats['drops']} offline {o} {off_stats['drops']}")
    ports = {p["role"]: p for p in stats["ports"]}
    ck(ports["inside"]["rx_packets"] == t["rx_packets"] and
       ports["outside"]["tx_packets"] == t["tx_packets"],
       f"{name}: port counters agree (inside rx {ports['inside']['rx_packets']}, outside tx "
       f"{ports['outside']['tx_packets']})")
    ck(all(p["rx_missed"] == 0 and p["rx_nombuf"] == 0 for p in ports.values()),
       f"{name}: no rx_missed, no rx_nombuf")
    ck(stats["flows"]["created"] == off_stats["flows"]["created"] and
       stats["flows"]["active"] == 0,
       f"{name}: {stats['flows']['created']} flows created as offline, all ended at exit")
    blocked = [f for f in flows if f["action"] == "block"]
    seen = {}
    for fr in got:
        k = tuple_of(fr)
        if k:
            seen[k] = seen.get(k, 0) + 1
    bad = []
    for f in blocked:
        a = (f["src_ip"], f["src_port"], f["dst_ip"], f["dst_port"])
        b = (f["dst_ip"], f["dst_port"], f["src_ip"], f["src_port"])
        n = seen.get(a, 0) + seen.get(b, 0)
        if f["dropped_pkts"] == 0 or n != f["pkts_c2s"] + f["pkts_s2c"] - f["dropped_pkts"]:
            bad.append((f["app"], a, n, f["dropped_pkts"]))
    ck(blocked and not bad, f"{name}: {len(blocked)} blocked flows absent from the wire once "
       "blocked", str(bad))


def check_resets(ck, bwgate, bwgate_pcap, config, pcap, tmp):
    name = os.path.basename(pcap)
    want, _, flows = offline(bwgate_pcap, config, pcap, tmp, "rst")
    rc, stats, err, got, back = live(bwgate, config, pcap, tmp, "rst")
    if not ck(rc == 0 and stats is not None, f"{name} with resets: bwgate ran",
              f"exit {rc}\n{err[-2000:]}"):
        return
    inputs = set(livelib.frames(pcap))
    fwd = [f for f in got if f in inputs]
    made = [f for f in got if f not in inputs]
    ck(fwd == want, f"{name} with resets: forwarded frames equal bwgate-pcap -w "
       f"({len(fwd)} frames)")
    sent = sum(w["resets_sent"] for w in stats["workers"])
    ck(len(made) > 0 and len(made) == len(back) and len(made) + len(back) == sent,
       f"{name} with resets: {len(made)} RSTs out of the outside port, {len(back)} back out "
       f"of the inside port, resets_sent {sent}")
    reset_rules = {"block-video", "block-chat", "block-game", "block-stock", "block-adult",
                   "block-gambling"}
    tuples = set()
    for f in flows:
        if f["rule"] in reset_rules and f["proto"] == "TCP":
            tuples.add((f["src_ip"], f["src_port"], f["dst_ip"], f["dst_port"]))
    bad = []
    for fr in made + back:
        p = Ether(fr)
        ip = p.getlayer(IP) or p.getlayer(IPv6)
        tcp = p.getlayer(TCP)
        if ip is None or tcp is None or not (tcp.flags & 0x04):
            bad.append(("not a TCP RST", fr[:64].hex()))
            continue
        # Every frame of this capture enters on the inside port, either direction: the
        # RST toward a frame's sender leaves inside, the one toward its receiver outside.
        k = (str(ip.src), tcp.sport, str(ip.dst), tcp.dport)
        if k not in tuples and (k[2], k[3], k[0], k[1]) not in tuples:
            bad.append(("RST outside a reset rule's flow", k))
        q = p.copy()
        del q[TCP].chksum
        if IP in q:
            del q[IP].chksum
        q = Ether(bytes(q))
        if q[TCP].chksum != tcp.chksum or (IP in p and q[IP].chksum != p[IP].chksum):
            bad.append(("bad checksum", k))
    ck(not bad, f"{name} with resets: every RST is a well-formed TCP RST of a flow blocked by "
       "a reset rule, checksums right", str(bad[:5]))
    # A reset flow's first dropped frame yields one RST per port, in order: out of the
    # outside port toward its receiver (the frame's own sequence number), back out of the
    # inside port toward its sender (swapped, seq = the frame's ack, acking the frame).
    # Its later dropped frames yield none: one pair per flow per packets.reset_interval
    # (1 s; the replay takes far less), so the gate never reflects a flood one for one.
    fwd_set = set(want)
    dropped, reset_flows, throttled = [], set(), 0
    for fr in livelib.frames(pcap):
        if fr in fwd_set:
            continue
        p = Ether(fr)
        ip, tcp = p.getlayer(IP) or p.getlayer(IPv6), p.getlayer(TCP)
        if ip is None or tcp is None or tcp.flags & 0x04:
            continue
        k = (str(ip.src), tcp.sport, str(ip.dst), tcp.dport)
        if k in tuples or (k[2], k[3], k[0], k[1]) in tuples:
            l4 = ip.len - ip.ihl * 4 if IP in p else ip.plen
            seg = l4 - tcp.dataofs * 4 + bool(tcp.flags & 0x02) + bool(tcp.flags & 0x01)
            canon = min(k, (k[2], k[3], k[0], k[1]))
            if canon in reset_flows:
                throttled += 1
                continue
            reset_flows.add(canon)
            dropped.append((k, tcp, seg))
    seq_bad = []
    c = stats["counters"]
    if (c["resets"], c["resets_throttled"]) != (len(dropped), throttled):
        seq_bad.append(f"counters resets {c['resets']} resets_throttled "
                       f"{c['resets_throttled']}, expected {len(dropped)} and {throttled}")
    if len(dropped) != len(made):
        seq_bad.append(f"{len(dropped)} dropped reset-flow frames, {len(made)} RSTs")
    for (k, tcp, seg), fwd_rst, back_rst in zip(dropped, made, back):
        f, b = Ether(fwd_rst)[TCP], Ether(back_rst)[TCP]
        if (f.sport, f.dport, f.seq) != (k[1], k[3], tcp.seq):
            seq_bad.append(("toward receiver", k, f.seq, tcp.seq))
        want_seq = tcp.ack if tcp.flags & 0x10 else 0
        if (b.sport, b.dport, b.seq, b.ack) != (k[3], k[1], want_seq,
                                                (tcp.seq + seg) & 0xffffffff):
            seq_bad.append(("toward sender", k, (b.seq, b.ack), (want_seq, tcp.seq + seg)))
    ck(not seq_bad, f"{name} with resets: RST ports and sequence numbers match each reset "
       f"flow's first dropped frame ({len(dropped)} flows, {throttled} later frames "
       "throttled)", str(seq_bad[:5]))
    ck(livelib.conserves(stats), f"{name} with resets: rx == tx + drops")


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    bwgate, bwgate_pcap, config, gen = sys.argv[1:5]
    ck = livelib.Check("wire")
    with tempfile.TemporaryDirectory(prefix="bwgate-wire.") as tmp:
        fx = os.path.join(tmp, "fx")
        subprocess.run(["/usr/bin/python3", gen, fx], check=True, timeout=120,
                       stdout=subprocess.DEVNULL)
        ports = {"inside": "net_pcap0", "outside": "net_pcap1"}

        def plain(cfg):
            livelib.without_schedules(cfg)
            livelib.without_resets(cfg)

        cfg = livelib.write_config(config, tmp, "wire.json", plain, **ports)
        for tag in ("mixed", "bittorrent"):
            check_forwarding(ck, bwgate, bwgate_pcap, cfg, os.path.join(fx, tag + ".pcap"),
                             tmp, tag)
        cfg = livelib.write_config(config, tmp, "wire-rst.json", livelib.without_schedules,
                                   **ports)
        check_resets(ck, bwgate, bwgate_pcap, cfg, os.path.join(fx, "mixed.pcap"), tmp)
    ck.done()


if __name__ == "__main__":
    sys.exit(main())
