#!/usr/bin/python3
"""Recognition test for the p2p_behaviour detector (lib/classify/behaviour.c).

usage: p2p_behaviour.py BWGATE_PCAP CONFIG

One capture, generated here, of four inside hosts at once, replayed through bwgate-pcap
with the default policy:

- a swarm peer (10.1.0.50): a P2P client nDPI cannot name (every payload random bytes,
  as an obfuscated protocol's), with one UDP socket on port 38219 talking to 40 peers on
  their own high ports, TCP connections to a third of those peers from ephemeral ports,
  and peers connecting to its listening port. Its host must be tagged and every one of its
  unnamed flows classed p2p by behaviour and blocked, including those judged before the
  tag (re-decided as they end);
- a Teams call (10.1.0.60): one media socket (port 50016) to a relay and ten peers,
  STUN connectivity checks carrying Microsoft's implementation-version attribute (which
  nDPI 4.2 names) then SRTP. Named, classed business, never counted, never tagged, even
  though one local port talks to many peers on their own ports;
- a browsing host (10.1.0.70): thirty TLS connections to named servers;
- a game client (10.1.0.80): unnamed UDP from one local port to twelve servers that
  all listen on one port (27015): Karagiannis's {IP, port} test says client, not peer;
- a client of resolved servers (10.1.0.90): 24 names looked up over DNS, then unnamed
  UDP from one local port to each answered address on its own high port. Without the
  answers this would tag it (more peers than `peers`, one port for all); a peer behind
  a DNS name is no P2P peer's.

Exits 0 when every check passes.
"""

import os
import struct
import sys
import zlib

import reclib

SWARM, TEAMS, BROWSER, GAME = "10.1.0.50", "10.1.0.60", "10.1.0.70", "10.1.0.80"
RESOLVED, RESOLVER = "10.1.0.90", "192.0.2.53"
LISTEN_PORT = 38219       # no port nDPI 4.2 guesses an application by
TEAMS_PORT = 50016
TEAMS_RELAY = "52.114.250.123"
MS_IMPLEMENTATION_VERSION = 0x8070   # STUN attribute [MS-ICE2]: nDPI 4.2's Teams/Skype cue
STUN_COOKIE = 0x2112A442
MS = 1000


def peer_addr(rng, n):
    """A public address for peer n: documentation ranges and one 100.x range the lists
    leave alone, so no address list or nDPI IP match names the flow."""
    nets = ("198.51.100.", "203.0.113.", "192.0.2.")
    return nets[n % 3] + str(10 + n // 3 + rng.randrange(0, 4) * 60)


def high_port(rng):
    return rng.randrange(1025, 65535)


def opaque(rng, n):
    """Bytes an obfuscated protocol sends: random, but never starting like a protocol
    nDPI knows (no TLS/DTLS record type, no STUN type, no RTP version 2, no OpenVPN
    opcode)."""
    b = bytearray(rng.randbytes(n))
    b[0] = 0x60 | (b[0] & 0x1f)
    return bytes(b)


def at(flow, t_us):
    flow.t = t_us
    return flow


def talk(flow, rng, rounds, c2s, s2c):
    """`rounds` opaque datagrams each way; a size is a number or a (low, high) range."""
    def size(s):
        return rng.randrange(*s) if isinstance(s, tuple) else s
    for _ in range(rounds):
        flow.send(True, opaque(rng, size(c2s)))
        flow.send(False, opaque(rng, size(s2c)))


# --------------------------------------------------------------------------- the swarm

def swarm(fx):
    rng = fx.rng
    peers = [(peer_addr(rng, n), high_port(rng)) for n in range(40)]
    t = fx.t0
    for n, (addr, port) in enumerate(peers):
        t += 40 * MS
        # The UDP socket: a request and its answer, then a few packets of transfer.
        u = at(reclib.gf.UdpFlow(fx, SWARM, LISTEN_PORT, addr, port), t)
        talk(u, rng, 2, (60, 160), (60, 300))
        if n % 3 == 0:
            # A TCP connection to the same peer, from an ephemeral port.
            s = at(reclib.gf.TcpSession(fx, SWARM, fx.port(), addr, port), t + 5 * MS)
            s.handshake()
            s.c2s(opaque(rng, 96))
            s.s2c(opaque(rng, 96))
            s.s2c(opaque(rng, 3000))
            s.close()
        if n % 4 == 1:
            # A peer connecting to the listening port.
            s = at(reclib.gf.TcpSession(fx, addr, high_port(rng), SWARM, LISTEN_PORT),
                   t + 9 * MS)
            s.handshake()
            s.c2s(opaque(rng, 96))
            s.s2c(opaque(rng, 96))
            s.c2s(opaque(rng, 1200))
            s.close()


# --------------------------------------------------------------------------- a Teams call

def stun_attr(atype, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", atype, len(value)) + value + b"\x00" * pad


def stun(rng, mtype, txid, attrs):
    """A STUN message (RFC 8489) with MESSAGE-INTEGRITY (a placeholder HMAC: nobody
    here checks it) and a correct FINGERPRINT."""
    body = b"".join(attrs) + stun_attr(0x0008, rng.randbytes(20))
    head = struct.pack("!HHI", mtype, len(body) + 8, STUN_COOKIE) + txid
    crc = zlib.crc32(head + body) ^ 0x5354554E
    return head + body + stun_attr(0x8028, struct.pack("!I", crc))


def xor_mapped(addr, port):
    a = bytes(int(x) for x in addr.split("."))
    xa = bytes(x ^ y for x, y in zip(a, struct.pack("!I", STUN_COOKIE)))
    return stun_attr(0x0020, struct.pack("!BBH", 0, 1, port ^ (STUN_COOKIE >> 16)) + xa)


def rtp(rng, seq, ssrc, size):
    return struct.pack("!BBHII", 0x80, 0x6F, seq & 0xFFFF, seq * 960, ssrc) + rng.randbytes(size)


def teams(fx):
    rng = fx.rng
    version = stun_attr(MS_IMPLEMENTATION_VERSION, b"\x00\x00\x00\x03")
    ends = [(TEAMS_RELAY, 3478)] + [(peer_addr(rng, 100 + n), high_port(rng)) for n in range(10)]
    t = fx.t0
    for addr, port in ends:
        t += 30 * MS
        f = at(reclib.gf.UdpFlow(fx, TEAMS, TEAMS_PORT, addr, port), t)
        for _ in range(2):
            txid = rng.randbytes(12)
            user = stun_attr(0x0006, rng.randbytes(8).hex().encode())
            prio = stun_attr(0x0024, struct.pack("!I", 0x6E7F1EFF))
            f.send(True, stun(rng, 0x0001, txid, [user, prio, version]))
            f.send(False, stun(rng, 0x0101, txid, [xor_mapped(TEAMS, TEAMS_PORT), version]))
        ssrc = [rng.getrandbits(32), rng.getrandbits(32)]
        for seq in range(30):
            f.send(True, rtp(rng, seq, ssrc[0], 160))
            f.send(False, rtp(rng, seq, ssrc[1], 160))


# --------------------------------------------------------------------------- browsing, a game

def browsing(fx):
    t = fx.t0
    for n in range(30):
        t += 60 * MS
        s = at(reclib.gf.TcpSession(fx, BROWSER, fx.port(), "203.0.113.%d" % (100 + n), 443), t)
        reclib.gf.tls_exchange(s, "www.site%d.example.org" % n, request=300, response=2000)


def game(fx):
    rng = fx.rng
    t = fx.t0
    local = fx.port()
    for n in range(12):
        t += 50 * MS
        f = at(reclib.gf.UdpFlow(fx, GAME, local, "198.51.100.%d" % (200 + n), 27015), t)
        talk(f, rng, 3, 40, 120)


def resolved(fx):
    rng = fx.rng
    t = fx.t0
    local = fx.port()
    for n in range(24):
        t += 40 * MS
        name = "svc%d.example.net" % n
        addr = "198.18.0.%d" % (10 + n)   # RFC 2544's range: in no list, no swarm's
        d = at(reclib.gf.UdpFlow(fx, RESOLVED, fx.port(), RESOLVER, 53), t)
        q, raw = reclib.gf.dns_query(rng, name)
        d.send(True, raw)
        d.send(False, reclib.gf.dns_answer(q, name, "edge%d.example.net" % n, [addr]))
        f = at(reclib.gf.UdpFlow(fx, RESOLVED, local, addr, high_port(rng)), t + 20 * MS)
        talk(f, rng, 2, 80, 200)


# --------------------------------------------------------------------------- checks

def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    tool, config = argv[1], argv[2]
    work = reclib.workdir()
    fx = reclib.fixture("p2p_behaviour")
    for build in (swarm, teams, browsing, game, resolved):
        build(fx)
    pcap = os.path.join(work, fx.file)
    fx.cap.write(pcap)
    flows, stats, _ = reclib.replay(tool, config, pcap, work)
    c = reclib.Checks()

    def of(host):
        return [r for r in flows if host in (r["src_ip"], r["dst_ip"])]

    def show(r):
        return "%s %s:%s -> %s:%s app %s class %s/%s action %s" % (
            r["proto"], r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["app"],
            r["class"], r["class_source"], r["action"])

    # The swarm: nDPI names none of it, behaviour classes all of it.
    sw = of(SWARM)
    c.ok(len(sw) >= 60, "the swarm's flows are all in the records", "%d flows" % len(sw))
    named = [r for r in sw if r["app"] != "Unknown" or r["host"]]
    c.ok(not named, "nDPI names none of the swarm's flows", "; ".join(map(show, named[:3])))
    for r in sw:
        c.ok(r["class"] == "p2p" and r["class_source"] == "behaviour" and r["action"] == "block",
             "swarm flow classed p2p by behaviour and blocked", show(r))
    c.ok(any(r["proto"] == "TCP" for r in sw) and any(r["proto"] == "UDP" for r in sw),
         "the swarm speaks TCP and UDP")
    c.ok(any(r["dst_ip"] == SWARM and r["dst_port"] == LISTEN_PORT and r["proto"] == "TCP"
             for r in sw), "peers connect to the swarm's listening port")
    blocked = sum(r["dropped_pkts"] for r in sw)
    c.ok(blocked > 0, "packets of the swarm are dropped once its host is tagged")

    # The Teams call: named, business, never behaviour.
    tm = of(TEAMS)
    c.ok(len(tm) == 11, "the Teams call's media flows are in the records", "%d" % len(tm))
    for r in tm:
        c.ok(r["class"] == "business" and r["class_source"] != "behaviour"
             and r["action"] == "allow", "Teams media is business and passes", show(r))
    peers = [r for r in tm if r["dst_ip"] != TEAMS_RELAY]
    c.ok(all("Skype" in r["app"] or "Teams" in r["app"] for r in peers),
         "nDPI 4.2 names the call's peer-to-peer media",
         "; ".join(show(r) for r in peers if "Skype" not in r["app"] and "Teams" not in r["app"]))

    # Browsing and the game: not P2P.
    br, gm = of(BROWSER), of(GAME)
    c.ok(len(br) == 30 and all(r["class"] == "web" and r["class_source"] != "behaviour"
                               for r in br), "browsing is web, not behaviour",
         "; ".join(show(r) for r in br if r["class"] != "web")[:300])
    c.ok(len(gm) == 12 and all(r["class_source"] != "behaviour" for r in gm),
         "a game client's servers on one port do not make it a peer",
         "; ".join(show(r) for r in gm if r["class_source"] == "behaviour")[:300])

    rs = [r for r in of(RESOLVED) if r["dst_port"] != 53]
    c.ok(len(rs) == 24 and all(r["class_source"] != "behaviour" for r in rs),
         "servers behind DNS names do not make their client a peer",
         "; ".join(show(r) for r in rs if r["class_source"] == "behaviour")[:300])
    c.ok(all(r["host"].startswith("svc") for r in rs), "those flows take the names learned",
         "; ".join(show(r) + " host " + r["host"] for r in rs if not r["host"].startswith("svc"))[:300])

    # One host tagged, counted once; only new flows are counted.
    b = stats["behaviour"]
    c.ok(b["tagged"] == 1 and b["active"] == 1, "exactly one host is tagged", str(b))
    c.ok(b["busy"] == 0 and b["evictions"] == 0, "one worker never finds a bucket busy", str(b))
    c.ok(b["flows"] <= len(sw) + len(gm), "behaviour counts each flow at most once, "
         "and only unnamed ones", "%s of %d" % (b["flows"], len(sw) + len(gm)))
    c.ok(stats["class_sources"]["behaviour"] > 0, "class_sources counts behaviour")
    return c.done()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
