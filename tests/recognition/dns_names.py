#!/usr/bin/python3
"""Names learned from DNS, end to end: DNS answers cross the gate, then flows with no
name of their own go to the answered addresses, and bwgate-pcap must name them.

usage: dns_names.py BWGATE_PCAP CONFIG

One capture, generated here, with these scenarios (each its own client address):
  a      www.iqiyi.com A, then QUIC nDPI 4.2 cannot read (a reserved version, RFC 9000
         15): video by dns, host www.iqiyi.com, blocked; and a bare UDP flow, the same
  cname  www.iqiyi.com CNAME v.example-cdn.invalid A: the address is www.iqiyi.com
  aaaa   the same over IPv6 (AAAA)
  tcp    the answer over DNS over TCP (length-prefixed)
  own    TLS with an SNI of its own to a learned address keeps its own name
  never  QUIC to an address nobody resolved: as before (nDPI's category)
  ttl    QUIC to a learned address within its TTL, and past it (packet time is the clock)
  bad    three malformed answers: counted in dns.malformed, nothing learned, no crash
The flows classed by a learned name teach their UDP sockets the class (dns.taught), and
the TLS flow teaches its SNI for its client and server.
Prints `N passed, M failed`; exits 1 on a failure.
"""

import shutil
import struct
import sys

import reclib
from reclib import gf

from scapy.layers.dns import DNS, DNSRR

RESOLVER4, RESOLVER6 = "192.0.2.53", "2001:db8:cafe::53"
NAME = "www.iqiyi.com"          # video.txt: iqiyi.com
DNS_TTL = 300


def quic_reserved_version(rng, dcid, scid, size=1200):
    """A QUIC long-header packet of a reserved version (0x?a?a?a?a): nDPI 4.2 calls the
    flow QUIC but reads no ClientHello, so it has no name of its own."""
    head = (gf.u8(0xC0) + struct.pack("!I", 0x1A2A3A4A) + gf.vec8(dcid) + gf.vec8(scid)
            + gf.varint(0) + gf.u16(0x4000 | size))
    return head + rng.randbytes(size)


class Scenarios:
    """Builds every scenario into one capture, remembering what it sent."""

    def __init__(self):
        self.fx = reclib.fixture("dns_names")
        self.cap = self.fx.cap
        self.t = self.fx.t0
        self.responses = 0      # DNS responses sent
        self.learned = 0        # address records the gate must learn
        self.malformed = 0

    def _at(self, flow, gap_us=2000):
        """Start `flow` gap_us after everything built so far."""
        flow.t = self.t + gap_us
        return flow

    def _done(self, flow):
        self.t = max(self.t, flow.t)

    def dns_udp(self, client, answer_of, qtype="A"):
        """A query from `client` and the answer built by answer_of(query)."""
        resolver = RESOLVER6 if ":" in client else RESOLVER4
        f = self._at(gf.UdpFlow(self.fx, client, self.fx.port(), resolver, 53))
        q, raw = gf.dns_query(self.fx.rng, NAME, qtype)
        f.send(True, raw)
        f.send(False, answer_of(q))
        self.responses += 1
        self._done(f)

    def dns_tcp(self, client, answer_of):
        s = self._at(gf.TcpSession(self.fx, client, self.fx.port(), RESOLVER4, 53))
        s.handshake()
        q, raw = gf.dns_query(self.fx.rng, NAME)
        s.c2s(gf.u16(len(raw)) + raw)
        ans = answer_of(q)
        s.s2c(gf.u16(len(ans)) + ans)
        s.close()
        self.responses += 1
        self._done(s)

    def quic(self, client, server, gap_us=2000):
        rng = self.fx.rng
        f = self._at(gf.UdpFlow(self.fx, client, self.fx.port(), server, 443), gap_us)
        dcid, scid = rng.randbytes(8), rng.randbytes(8)
        f.send(True, quic_reserved_version(rng, dcid, scid))
        for size in (1200, 1200, 600):
            f.send(False, gf.quic_short(rng, scid, size))
        f.send(True, gf.quic_short(rng, dcid, 40))
        self._done(f)

    def bare_udp(self, client, server):
        rng = self.fx.rng
        f = self._at(gf.UdpFlow(self.fx, client, self.fx.port(), server, 8000))
        for i in range(6):
            f.send(i % 2 == 0, rng.randbytes(300))
        self._done(f)

    def tls(self, client, server, sni):
        s = self._at(gf.TcpSession(self.fx, client, self.fx.port(), server, 443))
        gf.tls_exchange(s, sni)
        self._done(s)

    def pause(self, seconds):
        self.t += int(seconds * gf.USEC)


def a_answer(addr, qtype="A"):
    def build(q):
        rr = DNSRR(rrname=NAME, type=qtype, ttl=DNS_TTL, rdata=addr)
        return bytes(DNS(id=q.id, qr=1, rd=1, ra=1, qd=q.qd, an=rr))
    return build


def cname_answer(addrs, qtype="A"):
    def build(q):
        return gf.dns_answer(q, NAME, "v.example-cdn.invalid", addrs, qtype)
    return build


def broken(kind, addr):
    """A malformed answer naming addr: 'cut' (ends inside its record), 'loop' (the
    record's owner is a pointer to itself), 'label' (a label of 64 bytes)."""
    def build(q):
        good = a_answer(addr)(q)
        if kind == "cut":
            return good[:-3]
        if kind == "loop":
            wire = len(q.qd.qname) + 1          # "www.iqiyi.com." in wire form
            at = 12 + wire + 4                  # the answer's owner, written out in full
            return good[:at] + struct.pack("!H", 0xC000 | at) + good[at + wire:]
        # 'label': the question's name with a first label claiming 64 bytes
        return good[:12] + bytes([64]) + good[13:]
    return build


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    binary, config = argv[1], argv[2]
    sc = Scenarios()

    # a: A record; QUIC and a bare UDP flow to it.
    sc.dns_udp("10.1.0.60", a_answer("203.0.113.61"))
    sc.learned += 1
    sc.quic("10.1.0.60", "203.0.113.61")
    sc.bare_udp("10.1.0.61", "203.0.113.61")
    # cname: through a CNAME chain, two addresses.
    sc.dns_udp("10.1.0.62", cname_answer(["203.0.113.62", "203.0.113.72"]))
    sc.learned += 2
    sc.quic("10.1.0.62", "203.0.113.72")
    # aaaa: IPv6.
    sc.dns_udp("2001:db8:10:1::63", cname_answer(["2001:db8:cafe::63"], "AAAA"), "AAAA")
    sc.learned += 1
    sc.quic("2001:db8:10:1::63", "2001:db8:cafe::63")
    # tcp: DNS over TCP.
    sc.dns_tcp("10.1.0.66", a_answer("203.0.113.66"))
    sc.learned += 1
    sc.quic("10.1.0.66", "203.0.113.66")
    # own: TLS with its own SNI to a learned address.
    sc.tls("10.1.0.64", "203.0.113.61", "www.example.org")
    # never: an address nobody resolved.
    sc.quic("10.1.0.65", "203.0.113.69")
    # bad: malformed answers; then QUIC to the address they named.
    # Each has a whole header with QR set, so it counts as a response too.
    for kind, client in (("cut", "10.1.0.67"), ("loop", "10.1.0.68"), ("label", "10.1.0.69")):
        sc.dns_udp(client, broken(kind, "203.0.113.67"))
        sc.malformed += 1
    sc.quic("10.1.0.70", "203.0.113.67")
    # ttl: within the TTL, then past it.
    sc.dns_udp("10.1.0.71", a_answer("203.0.113.71"))
    sc.learned += 1
    sc.quic("10.1.0.71", "203.0.113.71", gap_us=10 * gf.USEC)
    sc.quic("10.1.0.72", "203.0.113.71", gap_us=(DNS_TTL + 30) * gf.USEC)

    work = reclib.workdir()
    pcap = work + "/dns_names.pcap"
    sc.cap.write(pcap)
    flows, stats, _ = reclib.replay(binary, config, pcap, work)
    ck = reclib.Checks()

    def named(client, host, what, server=None):
        r = next((r for r in flows if r["src_ip"] == client and r["proto"] == "UDP"
                  and r["dst_port"] != 53 and (server is None or r["dst_ip"] == server)), None)
        if not ck.ok(r is not None, what + ": flow record", client):
            return
        got = (r["class"], r["class_source"], r["host"], r["action"])
        ck.ok(got == ("video", "dns", host, "block"), what, repr(got))
        ck.ok(r["dropped_pkts"] == r["pkts_c2s"] + r["pkts_s2c"],
              what + ": blocked from its first packet", "%d of %d dropped" % (
                  r["dropped_pkts"], r["pkts_c2s"] + r["pkts_s2c"]))
        ck.ok(NAME in r.get("class_match", "") and "iqiyi.com" in r.get("class_match", ""),
              what + ": class_match names the learned name", r.get("class_match", ""))

    def unnamed(client, what, server=None):
        r = next((r for r in flows if r["src_ip"] == client and r["proto"] == "UDP"
                  and r["dst_port"] == 443 and (server is None or r["dst_ip"] == server)), None)
        if not ck.ok(r is not None, what + ": flow record", client):
            return
        got = (r["app"], r["class"], r["class_source"], r["host"])
        ck.ok(got == ("QUIC", "web", "ndpi_category", ""), what, repr(got))

    named("10.1.0.60", NAME, "QUIC after an A answer")
    named("10.1.0.61", NAME, "bare UDP after an A answer")
    named("10.1.0.62", NAME, "QUIC after a CNAME chain")
    named("2001:db8:10:1::63", NAME, "QUIC over IPv6 after an AAAA answer")
    named("10.1.0.66", NAME, "QUIC after an answer over TCP")
    named("10.1.0.71", NAME, "QUIC within the TTL")
    unnamed("10.1.0.65", "QUIC to an address nobody resolved")
    unnamed("10.1.0.70", "QUIC to an address only malformed answers named")
    unnamed("10.1.0.72", "QUIC past the TTL")

    own = reclib.flow_of(flows, "10.1.0.64")
    if ck.ok(own is not None, "TLS with its own SNI: flow record"):
        got = (own["host"], own["class"], own["class_source"])
        ck.ok(got == ("www.example.org", "web", "ndpi_category"),
              "TLS with its own SNI keeps its own name", repr(got))
        ck.ok(own["dropped_pkts"] == 0, "TLS with its own SNI: nothing dropped",
              str(own["dropped_pkts"]))

    dns_flows = [r for r in flows if r["dst_port"] == 53]
    ck.ok(all(r["app"] == "DNS" and r["action"] == "allow" for r in dns_flows),
          "DNS flows are DNS and allowed",
          repr([(r["src_ip"], r["app"], r["action"]) for r in dns_flows
                if r["app"] != "DNS" or r["action"] != "allow"]))

    d = stats.get("dns", {})
    # Taught: the TLS flow's SNI, and the socket of each UDP flow video by dns.
    taught = 1 + sum(1 for r in flows if r["proto"] == "UDP" and r["class_source"] == "dns")
    want = {"responses": sc.responses, "learned": sc.learned, "taught": taught,
            "malformed": sc.malformed, "evictions": 0, "busy": 0}
    ck.ok(d == want, "stats dns", "got %r, want %r" % (d, want))
    if ck.failed:
        print("capture and output kept in " + work)
    else:
        shutil.rmtree(work)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
