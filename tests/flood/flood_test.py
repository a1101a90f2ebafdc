#!/usr/bin/python3
"""A SYN flood that fills the flow table ten times over, from 8 inside hosts, while
established downloads run and new legitimate flows start every second.

usage: flood_test.py BWGATE_PCAP CONFIG.json

The capture: 30 s of packet time; the flood is 10 x flows.capacity TCP SYNs from 8 inside
hosts to random internet addresses and ports, spread evenly; three HTTP downloads from
business servers were established before it began and run throughout; each second a new
legitimate flow starts from another inside host, in turn BitTorrent (p2p: block), TLS to
www.iqiyi.com (video: block), HTTP to www.gov.cn (business: allow) and TLS to
www.example.com (web: limited during working hours). The fixtures' clock is a Wednesday
at 10:00 in Shanghai, inside working hours.

It replays the capture through bwgate-pcap three times with CONFIG.json's policy and a
4096-flow table: with the detection pool at a quarter of the table (it runs short
first), with a pool as large as the table (the table runs short), and with
flows.per_host_max 64; and checks each time that:
  - the established downloads are at least 99% forwarded;
  - every new legitimate flow is judged right: its record has the expected class and
    action (before these defences, 0 of 84 such flows were);
  - rx_packets == tx_packets + sum(drops), and the flood shows in its counters.
Prints the figures and "N passed, M failed"."""

import json
import os
import random
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "recognition"))

import reclib  # noqa: E402
from reclib import gf  # noqa: E402

SECONDS = 30
FLOOD_HOSTS = ["10.3.0.%d" % (i + 1) for i in range(8)]   # unit "health"
DOWNLOADS = [("10.2.1.%d" % (i + 1), "198.51.100.%d" % (90 + i)) for i in range(3)]
CHUNK = 14600          # bytes a download sends every 100 ms: about 1.2 Mbit/s each


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def syn_frame(src, sport, dst, dport, seq):
    """An Ethernet/IPv4/TCP SYN with correct checksums, built directly (scapy is slow
    for tens of thousands of frames)."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", gf.csum_fold(gf.csum_words(pseudo + tcp))) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), seq & 0xFFFF, 0x4000, 64, 6, 0,
                     ip4(src), ip4(dst))
    ip = ip[:10] + struct.pack("!H", gf.csum_fold(gf.csum_words(ip))) + ip[12:]
    eth = (bytes.fromhex(gf.MAC_UPSTREAM.replace(":", "")) +
           bytes.fromhex(gf.MAC_CLIENT.replace(":", "")) + b"\x08\x00")
    return eth + ip + tcp


def legit_flow(n, second, kind):
    """Legitimate flow n, starting at `second` of the capture: (fixture, session,
    expected class, expected action)."""
    fx = gf.Fixture("flood-%s-%d" % (kind, n), 60 + second)
    client = "10.1.%d.%d" % (10 + n // 200, n % 200 + 1)
    second = n
    if kind == "bittorrent":
        s = gf.TcpSession(fx, client, fx.port(), "198.51.100.%d" % (second % 50 + 1), 6881)
        s.handshake()
        info_hash = fx.rng.randbytes(20)
        s.c2s(gf.bt_handshake(fx.rng, info_hash, b"-qB4560-" + fx.rng.randbytes(12)))
        s.s2c(gf.bt_handshake(fx.rng, info_hash, b"-TR3000-" + fx.rng.randbytes(12)))
        s.c2s(gf.bt_message(5, fx.rng.randbytes(64)) + gf.bt_message(2))
        s.s2c(gf.bt_message(5, b"\xff" * 64) + gf.bt_message(1))
        s.close()
        return fx, s, "p2p", "block"
    if kind == "iqiyi":
        s = gf.TcpSession(fx, client, fx.port(), "203.0.113.%d" % (second % 50 + 1), 443)
        gf.tls_exchange(s, "www.iqiyi.com", tls13=False)
        return fx, s, "video", "block"
    if kind == "gov":
        s = gf.TcpSession(fx, client, fx.port(), "198.51.100.%d" % (second % 50 + 101), 80)
        gf.http_exchange(s, "www.gov.cn", 6000)
        return fx, s, "business", "allow"
    s = gf.TcpSession(fx, client, fx.port(), "203.0.113.%d" % (second % 50 + 101), 443)
    gf.tls_exchange(s, "www.example.com", tls13=True)
    return fx, s, "web", "limit"


def download(i, client, server):
    """An HTTP download from a business server, established before the flood and going
    on for the whole capture."""
    fx = gf.Fixture("flood-download-%d" % i, 50)  # 12 s before the flood
    s = gf.TcpSession(fx, client, fx.port(), server, 80)
    s.handshake()
    s.c2s(gf.http_request("download.gov.cn", "/files/archive-%d.zip" % i))
    total = CHUNK * 10 * (SECONDS + 10)
    s.s2c(gf.http_response_head(total, "application/zip"))
    for _ in range(10 * (SECONDS + 10) - 1):
        s.pause(100_000 - 3_000)
        s.s2c(fx.rng.randbytes(CHUNK))
    return fx, s


def build(path, capacity):
    rng = random.Random("bwgate-flood")
    frames = []
    downloads = []
    for i, (client, server) in enumerate(DOWNLOADS):
        fx, s = download(i, client, server)
        frames += fx.cap.frames
        downloads.append((client, s.cport, server, 80))
    legit = []
    kinds = ["bittorrent", "iqiyi", "gov", "example"]
    for sec in range(SECONDS - 9):  # the last flows have time to finish before the end
        for k, kind in enumerate(kinds):
            fx, s, cls, action = legit_flow(sec * 4 + k, 5 + sec, kind)
            # the four kinds spread over the second
            frames += [(t + k * 250_000, q, b) for t, q, b in fx.cap.frames]
            legit.append((s.client, s.cport, kind, cls, action))
    flood = 10 * capacity
    t0 = (gf.EPOCH + 60) * gf.USEC
    span = (SECONDS - 2) * gf.USEC
    for n in range(flood):
        host = FLOOD_HOSTS[n % len(FLOOD_HOSTS)]
        dst = "%d.%d.%d.%d" % (rng.choice((45, 101, 118, 203)), rng.randrange(256),
                               rng.randrange(256), rng.randrange(1, 255))
        ts = t0 + 2 * gf.USEC + n * span // flood
        frames.append((ts, 1 << 40 | n, syn_frame(host, rng.randrange(1024, 65535), dst,
                                                  rng.choice((80, 443, 8080)),
                                                  rng.getrandbits(32))))
    # Each builder's clock started at its own epoch; line them up on the flood's.
    frames.sort(key=lambda f: (f[0], f[1]))
    gf.write_pcap(path, frames)
    return downloads, legit, flood, len(frames)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack_from("<IIII", data, off)
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def tcp_key(frame):
    """(src, sport, dst, dport) of an Ethernet/IPv4/TCP frame, else None."""
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 15) * 4
    src = ".".join(str(b) for b in frame[26:30])
    dst = ".".join(str(b) for b in frame[30:34])
    sport, dport = struct.unpack_from("!HH", frame, 14 + ihl)
    return src, sport, dst, dport


def download_frames(frames, downloads):
    keys = set()
    for c, cp, s, sp in downloads:
        keys.add((c, cp, s, sp))
        keys.add((s, sp, c, cp))
    return sum(1 for f in frames if tcp_key(f) in keys)


def run(ck, bwgate_pcap, config, pcap, work, label, downloads, legit, flood):
    out = os.path.join(work, label + ".out.pcap")
    flows, stats, _ = reclib.replay(bwgate_pcap, config, pcap, work, extra=("-w", out))
    t, d, c = stats["totals"], stats["drops"], stats["counters"]
    sent = download_frames(read_pcap(pcap), downloads)
    passed = download_frames(read_pcap(out), downloads)
    judged, wrong = 0, []
    for client, cport, kind, cls, action in legit:
        recs = [r for r in flows if r["src_ip"] == client and r["src_port"] == cport]
        ok = len(recs) == 1 and recs[0]["class"] == cls and recs[0]["action"] == action
        judged += ok
        if not ok:
            wrong.append("%s %s:%d -> %s" % (kind, client, cport, [
                (r["class"], r["action"], r["pkts_c2s"], r["pkts_s2c"]) for r in recs]))
    print("%s: flood of %d SYNs from %d hosts into a table of %d; established downloads "
          "%d of %d frames forwarded (%.2f%%); new legitimate flows judged right %d of %d"
          % (label, flood, len(FLOOD_HOSTS), stats["flows"]["capacity"], passed, sent,
             100.0 * passed / sent, judged, len(legit)))
    print("%s: flows created %d, evicted unestablished %d, detection states reclaimed %d, "
          "uninspected %d, table full %d; drops %s"
          % (label, stats["flows"]["created"], c["flows_evicted_unestablished"],
             c["dpi_states_reclaimed"], c["dpi_pool_exhausted"], c["flow_table_full"],
             json.dumps({k: v for k, v in d.items() if v})))
    for w in wrong[:5]:
        print("  misjudged: " + w)
    ck.ok(passed >= 0.99 * sent, label + ": established downloads >= 99% forwarded",
          "%d of %d" % (passed, sent))
    ck.ok(judged == len(legit), label + ": every new legitimate flow judged right",
          "%d of %d" % (judged, len(legit)))
    ck.ok(t["rx_packets"] == t["tx_packets"] + sum(d.values()) and
          t["dropped_packets"] == sum(d.values()), label + ": counters conserve",
          json.dumps(t))
    return stats


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    bwgate_pcap, config = argv[1], argv[2]
    ck = reclib.Checks()
    with open(config) as f:
        conf = json.load(f)
    # The shipped policy with a small table, so that the flood is quick to replay.
    capacity = 4096
    conf["lists_dir"] = os.path.dirname(os.path.abspath(config))
    conf["flows"] = dict(conf.get("flows", {}), capacity=capacity, hosts_capacity=1024)
    conf["dpi"] = dict(conf.get("dpi", {}), max_in_progress=1024)
    with tempfile.TemporaryDirectory(prefix="bwg-flood-") as work:
        pcap = os.path.join(work, "flood.pcap")
        downloads, legit, flood, n = build(pcap, capacity)
        print("capture: %d frames, %d s; %d SYNs; %d downloads; %d new legitimate flows"
              % (n, SECONDS, flood, len(downloads), len(legit)))
        runs = (("detection pool short", {}, {}),
                ("flow table short", {}, {"max_in_progress": capacity}),
                ("per-host cap 64", {"per_host_max": 64}, {}))
        for i, (label, flows, dpi) in enumerate(runs):
            cpath = os.path.join(work, "config-%d.json" % i)
            with open(cpath, "w") as f:
                json.dump(dict(conf, flows=dict(conf["flows"], **flows),
                               dpi=dict(conf["dpi"], **dpi)), f)
            st = run(ck, bwgate_pcap, cpath, pcap, work, label, downloads, legit, flood)
            c = st["counters"]
            if i == 0:
                ck.ok(c["dpi_states_reclaimed"] > 0, label + ": detection states reclaimed")
            elif i == 1:
                ck.ok(c["flows_evicted_unestablished"] > 0, label + ": flows evicted")
        limited = st["drops"]["host_flow_limit"]
        print("per-host cap 64: %d SYNs refused under host_flow_limit (8 hosts x 64 flows "
              "at most)" % limited)
        ck.ok(limited > 0, "per-host cap: the flooding hosts' excess flows refused")
    return ck.done()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
