#!/usr/bin/python3
"""bwgate's payload detectors (lib/classify/det_*.c) on traffic generated here.

usage: detectors.py BWGATE_PCAP CONFIG

One capture holds a flow of each protocol a detector recognises, built from the
protocol's published layout (BEP 5/15/29, netcode.io's standard, Valve's server queries,
Discord's IP discovery, RFC 8489 STUN in WhatsApp's dialect, RakNet's offline messages,
Photon's and Armagetron's framing, OICQ's and CryNetwork's headers, SoftEther's PACK, Tailscale's disco, HLS/DASH over
HTTP..., a VPN's TLS certificate) in forms nDPI 4.2 does not name. Under the default policy each must get its class from the detector (class_source
"heuristic", class_match naming it) and the class's action; a form nDPI 4.2 does name
(A2S_INFO, which it calls Steam) must end in the same class. Then the fully-encrypted
rule: a random first payload is a tunnel, HTTP and TLS first payloads are not. Last,
ordinary flows (a web page, a TLS session, a DNS lookup, a browser's ICE check, RTP, a
UDP exchange of random bytes) must match no detector at all.
Prints `N passed, M failed`; exits 1 on any failure.
"""

import os
import struct
import sys

import reclib
from reclib import gf

FORBIDDEN = {"p2p", "video", "chat", "game", "tunnel"}

RAKNET_COOKIE = bytes.fromhex("00ffff00fefefefefdfdfdfd12345678")


def be16(n):
    return struct.pack("!H", n)


def be32(n):
    return struct.pack("!I", n)


class Builder:
    """Flows for one capture: each gets its own client address and an expectation."""

    def __init__(self, fx):
        self.fx, self.rng = fx, fx.rng
        self.n = 0
        # (client, cport, what, class, detector): class None = no detector may match;
        # detector None = nDPI names the flow, only its class and action are checked
        self.expect = []

    def _ends(self):
        self.n += 1
        return "10.1.7.%d" % self.n, self.fx.port(), "198.51.100.%d" % self.n

    def udp(self, sport, exchange, what, cls, det):
        client, cport, server = self._ends()
        f = gf.UdpFlow(self.fx, client, cport, server, sport)
        for from_client, payload in exchange:
            f.send(from_client, payload)
            f.pause(20_000)
        self.expect.append((client, cport, what, cls, det))

    def tcp(self, sport, exchange, what, cls, det):
        client, cport, server = self._ends()
        s = gf.TcpSession(self.fx, client, cport, server, sport).handshake()
        for from_client, payload in exchange:
            s.c2s(payload) if from_client else s.s2c(payload)
        s.close()
        self.expect.append((client, cport, what, cls, det))


def stun(rng, mtype, attrs=()):
    body = b""
    for atype, value in attrs:
        body += be16(atype) + be16(len(value)) + value + b"\x00" * (-len(value) % 4)
    return be16(mtype) + be16(len(body)) + be32(0x2112A442) + rng.randbytes(12) + body


def utp_header(ptype, conn_id, seq, ack, ext=0):
    ts = 0x10EEB2F0 + seq * 1000
    return bytes([ptype << 4 | 1, ext]) + be16(conn_id) + be32(ts) + be32(0) + \
        be32(0x00100000) + be16(seq) + be16(ack)


def bencode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    return b"d" + b"".join(bencode(k) + bencode(v[k]) for k in sorted(v)) + b"e"


def softether_pack(elements):
    """SoftEther's PACK: count, then name (len+1, bytes), type, value count, values."""
    out = be32(len(elements))
    for name, vtype, value in elements:
        out += be32(len(name) + 1) + name + be32(vtype) + be32(1)
        out += value if vtype in (0, 4) else be32(len(value)) + value
    return out


def detector_flows(b):
    rng = b.rng
    # --- games
    ping = b"\x01" + rng.randbytes(8) + RAKNET_COOKIE + rng.randbytes(8)
    motd = b"MCPE;Dedicated Server;589;1.20.40;0;10;" + b"1" * 19 + b";Bedrock level;Survival;"
    pong = b"\x1c" + rng.randbytes(16) + RAKNET_COOKIE + be16(len(motd)) + motd
    b.udp(19132, [(True, ping), (False, pong)], "RakNet unconnected ping/pong",
          "game", "raknet")
    # RakNet picked up mid-session: frame sets (reliable ordered, then unreliable) only.
    def frame_set(seq, frames):
        out = bytes([0x84]) + seq.to_bytes(3, "little")
        for rel, body in frames:
            head = bytes([rel << 5]) + be16(len(body) * 8)
            if rel in (2, 3, 4, 6, 7):
                head += rng.randbytes(3)
            if rel in (1, 3, 4, 7):
                head += rng.randbytes(4)
            out += head + body
        return out
    b.udp(19132, [(True, frame_set(7, [(3, rng.randbytes(60)), (0, rng.randbytes(20))])),
                  (True, frame_set(8, [(3, rng.randbytes(90))])),
                  (False, frame_set(9, [(0, rng.randbytes(30))]))],
          "RakNet frame sets mid-session", "game", "raknet")
    request = b"\x00NETCODE 1.02\x00" + rng.randbytes(8 + 8 + 24 + 1024)
    b.udp(40000, [(True, request), (True, request), (False, b"\x12" + rng.randbytes(384))],
          "netcode.io connection request", "game", "netcode")
    query = b"\xff\xff\xff\xffTSource Engine Query\x00"
    challenge = rng.randbytes(4)
    info = b"\xff\xff\xff\xffI\x11Office Server\x00de_dust2\x00csgo\x00" + rng.randbytes(40)
    # nDPI 4.2 itself calls A2S_INFO "Steam" (the detector agrees: game either way)...
    b.udp(27015, [(True, query), (False, b"\xff\xff\xff\xffA" + challenge),
                  (True, query + challenge), (False, info)],
          "Source engine A2S_INFO with challenge", "game", None)
    # ...but not the other queries.
    players = b"\xff\xff\xff\xffD\x02" + rng.randbytes(60)
    b.udp(27016, [(True, b"\xff\xff\xff\xffU" + challenge), (False, players)],
          "Source engine A2S_PLAYER", "game", "source_engine")
    b.udp(27017, [(True, b"\xff\xff\xff\xffW"), (False, b"\xff\xff\xff\xffA" + challenge)],
          "Source engine A2S_SERVERQUERY_GETCHALLENGE", "game", "source_engine")
    word = 0x471A2000
    hello = be32(word) + rng.randbytes(6) + bytes(24) + rng.randbytes(18)
    b.udp(15011, [(True, hello), (True, hello), (False, be32(word | 0x08) + rng.randbytes(50))],
          "Epic Games handshake", "game", "epic_games")
    probe = rng.randbytes(28) + bytes.fromhex("aaaaaaaabbbbbbbb")
    b.udp(8181, [(True, probe), (False, probe)], "Riot Games latency probe", "game",
          "riot_games")
    login = b"\x00\x01\x00\x01" + rng.randbytes(12) + b"\x00\x16eso.live.9.3.6.2849903" + \
        rng.randbytes(700)
    b.tcp(24120, [(True, be32(len(login)) + login), (False, rng.randbytes(200))],
          "The Elder Scrolls Online login", "game", "elder_scrolls_online")
    name = b"Witch_of_Oriath"
    poe = b"\x00\x03\x00" + rng.randbytes(3) + b"\x00\x02\x00" + bytes([len(name)]) + name + \
        rng.randbytes(4) + bytes.fromhex("0000000040000001")
    b.tcp(6112, [(True, poe), (False, rng.randbytes(120))], "Path of Exile login", "game",
          "path_of_exile")
    # Armagetron: the server browser's small request and the master's big_server answer
    # (messages: descriptor, id, length in words, data; then the sender id).
    name = b"rAamegort nevrre"
    arma_req = be16(53) + be16(1) + be16(0) + be16(7)
    arma_reply = be16(51) + be16(2) + be16(len(name) // 2) + name + \
        be16(1) + be16(0) + be16(2) + be16(1) + be16(2) + be16(0)
    b.udp(4533, [(True, arma_req), (False, arma_reply)], "Armagetron server browser",
          "game", "armagetron")
    # Photon: a connect from an unassigned peer, then an ack with a reliable message.
    def photon(peer, cmds):
        out = be16(peer) + bytes([0, len(cmds)]) + be32(0x0A0B0C0D) + be32(0x11223344)
        for ctype, seq, payload in cmds:
            out += bytes([ctype, 0xFF, 1, 0]) + be32(12 + len(payload)) + be32(seq) + payload
        return out
    b.udp(5055, [(True, photon(0xFFFF, [(2, 1, rng.randbytes(32))])),
                 (False, photon(0x0042, [(1, 0, rng.randbytes(8)),
                                         (6, 2, rng.randbytes(40))]))],
          "Photon engine connect", "game", "photon")
    netease = b"\x01" + rng.randbytes(1) + b"\xd0\x01" + rng.randbytes(4) + b"\x00\x01\x01\x01"
    b.udp(28203, [(True, netease), (False, rng.randbytes(60))], "NetEase game hello", "game",
          "netease_games")
    b.tcp(9995, [(True, b"\x18\x00\x00\x00\x64\x00\x00\x00" + rng.randbytes(16)),
                 (False, rng.randbytes(40))], "Nexon game login", "game", "nexon")
    loadout = b"\xce" + rng.randbytes(150) + b"LOC_PREFAB_LOADOUTNAME_1" + rng.randbytes(200)
    b.udp(7948, [(True, rng.randbytes(120)), (False, loadout)], "Call of Duty: Mobile loadout",
          "game", "cod_mobile")
    rumble = rng.randbytes(14) + b"\x01\x00\x00\x00"
    b.udp(7521, [(True, rumble), (False, rng.randbytes(14) + b"\x01")],
          "Warcraft Rumble opening", "game", "blizzard")
    b.tcp(39698, [(True, rng.randbytes(30) + b"com.dts.freefiremobile" + rng.randbytes(90)),
                  (False, rng.randbytes(200))], "Free Fire control connection", "game",
          "freefire")
    sts = b"P /Sts/Connect STS/1.0\r\nl:120\r\n\r\n<Connect><ConnType>400</ConnType>" + \
        b"<Program>1001</Program></Connect>"
    b.tcp(6600, [(True, sts), (False, b"STS/1.0 400 Success\r\nl:20\r\n\r\n" + rng.randbytes(60))],
          "Guild Wars 2 STS on another port", "game", "guild_wars_2")
    tmsg = rng.randbytes(120)
    b.tcp(31003, [(True, be32(0x3366000B) + be16(0x000B) + tmsg), (False, rng.randbytes(300))],
          "Tencent game login", "game", "tencent_games")
    b.udp(20011, [(True, b"embeddedupdater.start" + rng.randbytes(140))],
          "Gaijin game telemetry", "game", "gaijin")
    cry = bytearray(rng.randbytes(92))
    cry[0], cry[3:5], cry[16], cry[20], cry[24:26] = 82, b"\x08\xed", 1, 7, b"\x03\x07"
    b.udp(21931, [(True, bytes(cry)), (True, rng.randbytes(120)), (False, rng.randbytes(165))],
          "CryENGINE session opening", "game", "crynetwork")
    # --- calls
    ssrc = rng.randbytes(4)
    disc_req = be16(1) + be16(70) + ssrc + bytes(64) + be16(0)
    disc_resp = be16(2) + be16(70) + ssrc + b"192.0.2.77".ljust(64, b"\x00") + be16(50123)
    rtp = [(True, b"\x90\x78" + rng.randbytes(2) + rng.randbytes(4) + ssrc + rng.randbytes(120))
           for _ in range(3)]
    b.udp(50004, [(True, disc_req), (False, disc_resp)] + rtp, "Discord voice IP discovery",
          "chat", "discord_voice")
    wa = stun(rng, 0x0801)
    wa_reply = stun(rng, 0x0802, [(0x0020, b"\x00\x01" + rng.randbytes(6)),
                                  (0x4002, rng.randbytes(4))])
    b.udp(3478, [(True, wa), (True, wa), (False, wa_reply)], "WhatsApp call STUN", "chat",
          "whatsapp_call")
    call = b"\xdb\x64" + rng.randbytes(2) + b"\x06\x02" + rng.randbytes(840)
    answer = b"\xd8\xee" + rng.randbytes(2) + b"\x06\x02" + rng.randbytes(236)
    b.udp(20610, [(True, call), (True, call), (False, answer)], "LINE call opening pair",
          "chat", "line_call")
    pal = rng.randbytes(8) + be32(0x00020001) + rng.randbytes(4) + be32(0x5AFDFFFF)
    b.tcp(7970, [(True, pal), (False, rng.randbytes(30))], "Paltalk chat login", "chat",
          "paltalk")
    oicq = b"\x02\x3b\x0b\x00\x22" + rng.randbytes(88) + b"\x03"
    b.udp(8000, [(True, oicq)], "OICQ (QQ) login, unanswered", "chat", "oicq")
    # --- peer-to-peer
    syn = utp_header(4, 0x5302, 1, 0)
    state = utp_header(2, 0x5302, 7000, 1)
    data = utp_header(0, 0x5303, 2, 7000) + rng.randbytes(300)
    b.udp(51413, [(True, syn), (False, state), (True, data)], "uTP connection", "p2p", "utp")
    node_id = rng.randbytes(20)
    # BEP 42 responses carry the querier's address under "ip", before "r".
    get_peers = bencode({b"t": b"aa", b"y": b"q", b"q": b"get_peers",
                         b"a": {b"id": node_id, b"info_hash": rng.randbytes(20)}})
    reply = bencode({b"ip": rng.randbytes(6), b"t": b"aa", b"y": b"r",
                     b"r": {b"id": rng.randbytes(20), b"token": rng.randbytes(8),
                            b"nodes": rng.randbytes(26 * 4)}})
    # nDPI 4.2 names DHT towards high ports itself, not towards the low ones real nodes
    # also listen on.
    b.udp(999, [(True, get_peers), (False, reply)], "BitTorrent DHT get_peers (BEP 42 reply)",
          "p2p", "bt_dht")
    connect = bytes.fromhex("0000041727101980") + be32(0) + rng.randbytes(4)
    b.udp(6969, [(True, connect), (False, be32(0) + connect[12:] + rng.randbytes(8))],
          "BitTorrent UDP tracker connect", "p2p", "bt_tracker")
    # --- tunnels
    pack = softether_pack([(b"host_name", 2, b"vpn"),
                           (b"machine_key", 1, rng.randbytes(20)),
                           (b"nat_traversal_version", 0, be32(1))])
    b.udp(5004, [(True, b"A"), (False, b"IP=192.0.2.88,PORT=%d" % 51381), (True, pack)],
          "SoftEther NAT traversal", "tunnel", "softether")
    disco = b"TS\xf0\x9f\x92\xac" + rng.randbytes(32) + rng.randbytes(24) + rng.randbytes(46)
    b.udp(41641, [(True, disco), (False, disco[:6] + rng.randbytes(118))],
          "Tailscale disco ping/pong", "tunnel", "tailscale")
    hmsg = rng.randbytes(400)
    hmsg = be32(len(hmsg) - 4) + hmsg[4:12] + be32(0x7B7A0DAD) + hmsg[16:]
    b.tcp(12975, [(True, hmsg), (False, rng.randbytes(80))], "Hamachi relay login", "tunnel",
          "hamachi")
    b.udp(17771, [(True, bytes(8) + rng.randbytes(68)), (False, bytes(8) + rng.randbytes(68)),
                  (True, rng.randbytes(150))], "Hamachi peer key exchange", "tunnel", "hamachi")
    lago = rng.randbytes(48)
    b.udp(1216, [(True, be32(0x006E5D03) + be16(len(lago)) + lago),
                 (False, be32(0x006E5D03) + be16(42) + rng.randbytes(42))],
          "LagoFast tunnel", "tunnel", "lagofast")
    b.udp(9999, [(True, b"\x11\x22\x33\x44\x02\x00\x00\x00"),
                 (False, b"\x11\x22\x33\x44\x02\x00\x00\x00")],
          "GearUP Booster relay probe", "tunnel", "gearup_booster")
    b.tcp(50053, [(False, bytes.fromhex("cc1c30415ba43866") + rng.randbytes(1300)),
                  (True, rng.randbytes(60))], "UltraSurf proxy", "tunnel", "ultrasurf")
    b.tcp(10010, [(True, b"UN v2\r\n"), (False, b"INET UDP 192.0.2.54 10007 1\r\n")],
          "Mudfish node discovery", "tunnel", "mudfish")
    # --- video
    host = "media.example.net"
    playlist = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:6.0,\nseg-1.ts\n"
    b.tcp(80, [(True, gf.http_request(host, "/live/channel1/master.m3u8")),
               (False, gf.http_response_head(len(playlist), "application/vnd.apple.mpegurl")
                + playlist)], "HLS playlist over HTTP", "video", "http_media")
    segment = rng.randbytes(2000)
    b.tcp(80, [(True, gf.http_request(host, "/dash/video/seg-00042.m4s?t=1")),
               (False, gf.http_response_head(len(segment), "video/iso.segment") + segment)],
          "DASH segment over HTTP", "video", "http_media")
    clip = rng.randbytes(3000)
    b.tcp(80, [(True, gf.http_request(host, "/play?id=8841")),
               (False, gf.http_response_head(len(clip), "video/mp4") + clip)],
          "video download by Content-Type", "video", "http_media")
    # RTMP (nDPI 4.2 names it, category Media): video by the application.
    c1 = be32(0) + bytes(4) + rng.randbytes(1528)
    s1 = be32(0) + bytes(4) + rng.randbytes(1528)
    b.tcp(1935, [(True, b"\x03" + c1), (False, b"\x03" + s1 + c1), (True, s1)],
          "RTMP handshake", "video", None)
    # --- a VPN's TLS server by its certificate (TLS 1.2: the certificate in the clear),
    # the client naming no server: a provider's organisation; an address, self-signed
    for org, what in (("Windscribe", "TLS to a server whose certificate names a VPN provider"),
                      ("Acme Hosting", "TLS without a name to a self-signed address certificate")):
        client, cport, server = b._ends()
        cert = gf.self_signed_cert(rng, None, org=org, cn=server)
        gf.tls_exchange(gf.TcpSession(b.fx, client, cport, server, 443), None, tls13=False,
                        cert=cert)
        b.expect.append((client, cport, what, "tunnel", "vpn_certificate"))
    # --- the fully-encrypted rule (the acceptance)
    b.tcp(8388, [(True, bytes([0x80]) + rng.randbytes(300)), (False, rng.randbytes(200))],
          "random-byte first payload", "tunnel", "fully_encrypted")


def ordinary_flows(b):
    """Flows no detector may claim (class from nDPI or nothing)."""
    rng = b.rng
    page = gf.html_page("www.example.org", 3000)
    b.tcp(80, [(True, gf.http_request("www.example.org")),
               (False, gf.http_response_head(len(page)) + page)],
          "HTTP first payload (a web page)", None, None)
    client, cport, server = b._ends()
    gf.tls_exchange(gf.TcpSession(b.fx, client, cport, server, 443), "www.example.org")
    b.expect.append((client, cport, "TLS first payload", None, None))
    # TLS 1.2, its certificate in the clear: the server's own name, asked for by it
    client, cport, server = b._ends()
    gf.tls_exchange(gf.TcpSession(b.fx, client, cport, server, 443), "intranet.example.org",
                    tls13=False)
    b.expect.append((client, cport, "TLS 1.2 with a named self-signed certificate", None, None))
    _, q = gf.dns_query(rng, "www.example.org")
    b.udp(53, [(True, q)], "DNS lookup", None, None)
    ice = stun(rng, 0x0001, [(0x0006, b"abcd:efgh"), (0x8029, rng.randbytes(8)),
                             (0x0024, be32(1845501695)), (0x0008, rng.randbytes(20)),
                             (0x8028, rng.randbytes(4))])
    ok = stun(rng, 0x0101, [(0x0020, b"\x00\x01" + rng.randbytes(6)),
                            (0x0008, rng.randbytes(20)), (0x8028, rng.randbytes(4))])
    b.udp(19302, [(True, ice), (False, ok)], "browser ICE connectivity check", None, None)
    ssrc = rng.randbytes(4)
    rtp = [(True, bytes([0x80, 111]) + be16(i) + be32(i * 960) + ssrc + rng.randbytes(80))
           for i in range(1, 6)]
    b.udp(16384, rtp, "RTP audio", None, None)
    b.udp(9999, [(True, rng.randbytes(100)), (False, rng.randbytes(100)),
                 (True, rng.randbytes(60))], "UDP random bytes", None, None)
    b.udp(5000, [(True, b"\x11\x22\x33\x44"), (False, b"\x11\x22\x33\x44")],
          "UDP 4-byte probes on another port", None, None)


def main():
    bwgate_pcap, config = sys.argv[1], sys.argv[2]
    checks = reclib.Checks()
    work = reclib.workdir()
    fx = reclib.fixture("detectors")
    b = Builder(fx)
    detector_flows(b)
    ordinary_flows(b)
    pcap = os.path.join(work, "detectors.pcap")
    fx.cap.write(pcap)
    flows, stats, _ = reclib.replay(bwgate_pcap, config, pcap, work)
    t = stats["totals"]
    checks.ok(t["rx_packets"] == t["tx_packets"] + sum(stats["drops"].values()),
              "counters conserve packets")
    for client, cport, what, cls, det in b.expect:
        r = reclib.flow_of(flows, client, cport)
        if not checks.ok(r is not None, what + ": a flow record"):
            continue
        got = "%s/%s/%s (%s, %s)" % (r["class"], r["class_source"], r["action"], r["app"],
                                     r["class_match"])
        if cls is None:
            checks.ok(r["class_source"] != "heuristic", what + ": no detector", got)
            continue
        checks.ok(r["action"] == ("block" if cls in FORBIDDEN else "allow"),
                  "%s: action" % what, got)
        if det is None:  # nDPI names it: only the class and action matter
            checks.ok(r["class"] == cls, "%s: class %s" % (what, cls), got)
            continue
        checks.ok(r["class"] == cls, "%s: class %s" % (what, cls), got)
        checks.ok(r["class_source"] == "heuristic", what + ": class_source heuristic", got)
        checks.ok(r["class_match"].startswith(det + ": "),
                  "%s: class_match names %s" % (what, det), got)
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
