#!/usr/bin/python3
"""Names and classes one flow passes to another, end to end: a generated capture replayed
through bwgate-pcap.

usage: flow_names.py BWGATE_PCAP CONFIG

Names other flows gave (class source flow_name), each scenario its own client:
  name     TLS with an SNI in the game list (hosts/game.txt: nvidiagrid.net), then a UDP
           flow of no name to the same server (a cloud game's stream): game by
           flow_name, host the SNI, blocked; the same client's UDP flow to another
           server learns nothing
  other    another client's UDP flow to that server: not named (names are the client's)
  cdn      DNS named the server edge.cdn.example.net (in no list), then TLS with a game
           SNI to it: the UDP flow takes the SNI (flow_name); where DNS gave a listed
           name (www.iqiyi.com, video) that name wins (dns)
Socket affinity (class source socket):
  sock     UDP from one socket to a chat address (addresses/chat.txt), then from the
           same socket to a peer nobody named: chat by socket, blocked; from another
           port of the same host: unknown; from the first socket again after the
           socket's class expired (120 s): unknown
  biz      UDP from one socket to a business address, then to a peer: unknown (business
           passes nothing to its socket)
  tcp      a TCP connection from the chat socket's port: unknown (only UDP sockets)
  inbound  a chat address sends first to an inside socket (its flow is chat), then that
           socket talks to a peer: unknown (only a flow the inside socket began passes
           its class on, or any outsider could have an inside UDP service blocked)
The payloads are text, so no payload detector claims the flows by themselves.
Prints `N passed, M failed`; exits 1 on a failure.
"""

import sys

import reclib
from reclib import gf

GAME_SNI = "cloudmatch-1.nvidiagrid.net"   # hosts/game.txt: nvidiagrid.net
GAME_SERVER = "203.0.113.90"
CHAT_SERVER = "91.108.8.1"                 # addresses/chat.txt: 91.108.8.0/21
BUSINESS_SERVER = "3.7.35.10"              # addresses/business.txt: 3.7.35.0/25
PEER = "198.51.100.77"


class Capture:
    def __init__(self):
        self.fx = reclib.fixture("flow_names")
        self.cap = self.fx.cap
        self.t = self.fx.t0

    def _at(self, flow, gap_us=2000):
        flow.t = self.t + gap_us
        return flow

    def _done(self, flow):
        self.t = max(self.t, flow.t)

    def tls(self, client, server, sni):
        s = self._at(gf.TcpSession(self.fx, client, self.fx.port(), server, 443))
        gf.tls_exchange(s, sni)
        self._done(s)

    def dns(self, client, name, cname, addr):
        """A lookup of `name` answered with the CNAME `cname` and the address `addr`."""
        f = self._at(gf.UdpFlow(self.fx, client, self.fx.port(), "192.0.2.53", 53))
        q, raw = gf.dns_query(self.fx.rng, name)
        f.send(True, raw)
        f.send(False, gf.dns_answer(q, name, cname, [addr]))
        self._done(f)

    def udp(self, client, cport, server, sport, gap_us=2000):
        """Six datagrams of text each way: nothing any detector names."""
        f = self._at(gf.UdpFlow(self.fx, client, cport, server, sport), gap_us)
        for i in range(6):
            f.send(i % 2 == 0, (b"hello peer %d, " % i) * 20)
        self._done(f)

    def tcp(self, client, cport, server, sport):
        s = self._at(gf.TcpSession(self.fx, client, cport, server, sport))
        s.handshake()
        s.c2s(b"hello peer, " * 20)
        s.s2c(b"hello back, " * 20)
        s.close()
        self._done(s)


def main(argv):
    binary, config = reclib.args(argv, __doc__)
    c = Capture()
    # name / other
    c.tls("10.2.0.10", GAME_SERVER, GAME_SNI)
    c.udp("10.2.0.10", 50010, GAME_SERVER, 49004)
    c.udp("10.2.0.10", 50011, "203.0.113.91", 49004)
    c.udp("10.2.0.11", 50012, GAME_SERVER, 49004)
    # cdn
    c.dns("10.2.0.40", "edge.cdn-example.net", "a1.cdn-example.net", "203.0.113.95")
    c.tls("10.2.0.40", "203.0.113.95", GAME_SNI)
    c.udp("10.2.0.40", 50040, "203.0.113.95", 49004)
    c.dns("10.2.0.41", "www.iqiyi.com", "a2.cdn-example.net", "203.0.113.96")
    c.tls("10.2.0.41", "203.0.113.96", GAME_SNI)
    c.udp("10.2.0.41", 50041, "203.0.113.96", 49004)
    # sock
    c.udp("10.2.0.20", 50020, CHAT_SERVER, 529)
    c.udp("10.2.0.20", 50020, PEER, 40020)
    c.udp("10.2.0.20", 50021, PEER, 40021)
    c.tcp("10.2.0.20", 50020, PEER, 40022)
    c.udp("10.2.0.20", 50020, "198.51.100.78", 40023, gap_us=130 * gf.USEC)
    # inbound
    c.udp(CHAT_SERVER, 529, "10.2.0.50", 50050)
    c.udp("10.2.0.50", 50050, PEER, 40050)
    # biz
    c.udp("10.2.0.30", 50030, BUSINESS_SERVER, 8801)
    c.udp("10.2.0.30", 50030, PEER, 40030)

    work = reclib.workdir()
    pcap = work + "/flow_names.pcap"
    c.cap.write(pcap)
    flows, stats, _ = reclib.replay(binary, config, pcap, work)
    ck = reclib.Checks()

    def rec(proto, client, cport, server, sport):
        r = next((r for r in flows if r["proto"] == proto and r["src_ip"] == client and
                  r["src_port"] == cport and r["dst_ip"] == server and
                  r["dst_port"] == sport), None)
        ck.ok(r is not None, "flow record", "%s %s:%d -> %s:%d" % (proto, client, cport,
                                                                   server, sport))
        return r or {}

    def want(r, what, cls, src, action, host=None):
        got = (r.get("class"), r.get("class_source"), r.get("action"))
        ck.ok(got == (cls, src, action), what, repr(got))
        if host is not None:
            ck.ok(r.get("host") == host and r.get("host_learned") is True,
                  what + ": host learned", repr((r.get("host"), r.get("host_learned"))))

    tls = next((r for r in flows if r["proto"] == "TCP" and r["src_ip"] == "10.2.0.10"), {})
    want(tls, "name: the TLS flow", "game", "host_list", "block")
    r = rec("UDP", "10.2.0.10", 50010, GAME_SERVER, 49004)
    want(r, "name: UDP to the server the SNI named", "game", "flow_name", "block", GAME_SNI)
    ck.ok("another flow to the server" in r.get("class_match", "") and
          "nvidiagrid.net" in r.get("class_match", ""), "name: class_match says where the "
          "name came from", r.get("class_match", ""))
    ck.ok(r.get("dropped_pkts") == 6, "name: blocked from its first packet",
          str(r.get("dropped_pkts")))
    want(rec("UDP", "10.2.0.10", 50011, "203.0.113.91", 49004), "name: another server",
         "unknown", "default", "allow")
    r = rec("UDP", "10.2.0.11", 50012, GAME_SERVER, 49004)
    want(r, "other: another client learns nothing", "unknown", "default", "allow")
    ck.ok(r.get("host") == "", "other: no host", repr(r.get("host")))

    want(rec("UDP", "10.2.0.40", 50040, "203.0.113.95", 49004),
         "cdn: an unlisted DNS name gives way to the SNI", "game", "flow_name", "block", GAME_SNI)
    want(rec("UDP", "10.2.0.41", 50041, "203.0.113.96", 49004),
         "cdn: a listed DNS name wins", "video", "dns", "block", "www.iqiyi.com")
    want(rec("UDP", "10.2.0.20", 50020, CHAT_SERVER, 529), "sock: the chat flow", "chat",
         "host_list", "block")
    r = rec("UDP", "10.2.0.20", 50020, PEER, 40020)
    want(r, "sock: the same socket to a peer", "chat", "socket", "block")
    ck.ok("socket" in r.get("class_match", ""), "sock: class_match", r.get("class_match", ""))
    want(rec("UDP", "10.2.0.20", 50021, PEER, 40021), "sock: another port", "unknown",
         "default", "allow")
    want(rec("TCP", "10.2.0.20", 50020, PEER, 40022), "tcp: a TCP connection", "unknown",
         "default", "allow")
    want(rec("UDP", "10.2.0.20", 50020, "198.51.100.78", 40023), "sock: after 130 s",
         "unknown", "default", "allow")
    want(rec("UDP", CHAT_SERVER, 529, "10.2.0.50", 50050), "inbound: the chat address's flow",
         "chat", "host_list", "block")
    want(rec("UDP", "10.2.0.50", 50050, PEER, 40050), "inbound: the socket to a peer",
         "unknown", "default", "allow")
    want(rec("UDP", "10.2.0.30", 50030, BUSINESS_SERVER, 8801), "biz: the business flow",
         "business", "host_list", "allow")
    want(rec("UDP", "10.2.0.30", 50030, PEER, 40030), "biz: the same socket to a peer",
         "unknown", "default", "allow")

    srcs = stats.get("class_sources", {})
    ck.ok(srcs.get("flow_name") == 2 and srcs.get("socket") == 1, "stats class_sources",
          repr(srcs))
    # Taught: the three TLS flows' SNIs; the sockets of the three UDP flows classed by a
    # learned name and of the chat flow (the business one and the inbound one teach
    # nothing).
    ck.ok(stats.get("dns", {}).get("taught") == 7, "stats dns.taught",
          repr(stats.get("dns")))
    return reclib.finish(ck, work)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
