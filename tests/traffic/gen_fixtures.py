#!/usr/bin/python3
"""Generate bwgate's traffic fixtures: small, deterministic Ethernet captures of real
application exchanges, and expected.json saying what the gate must make of each flow.

usage: gen_fixtures.py OUTDIR        write every fixture, mixed.pcap, rate.pcap, expected.json
       gen_fixtures.py --list        print the fixtures and exit

Every flow is a complete exchange as a capture point on the inside link would see it:
TCP three-way handshake, payload both ways, FIN both ways; checksums and lengths are
right, frames under 60 bytes are padded as on the wire. Clients live in the inside
address plan (10.1.0.0/16, 10.2.0.0/16; 2001:db8:10::/48 for IPv6), servers in the
documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8:cafe::/48):
nDPI 4.2 classifies every fixture here from payload, never from a server address.

Output is byte-for-byte reproducible: every random choice comes from a generator seeded
with the fixture's name, and time starts at a fixed epoch, Wednesday 2026-11-25
10:00:00 Asia/Shanghai, inside working hours (Mon-Fri 08:30-17:30). Fixture i starts
i seconds after the epoch, so mixed.pcap is the captures merged in time order.

Run with Debian's interpreter (/usr/bin/python3): it needs python3-scapy and
python3-cryptography (QUIC Initial protection, the TLS 1.2 server certificates).
"""

import datetime
import hashlib
import hmac
import ipaddress
import heapq
import json
import os
import random
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRROPT
from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether
from scapy.packet import Raw

EPOCH = 1795572000            # 2026-11-25 02:00:00 UTC = Wed 10:00 Asia/Shanghai
USEC = 1_000_000

MAC_CLIENT = "02:00:0a:01:00:01"   # inside: the departments' access router
MAC_UPSTREAM = "02:00:c6:33:64:01"  # outside: the internet egress router

# The default policy (config/bwgate.json) at the fixtures' time, Wednesday 10:00 in
# Asia/Shanghai: the forbidden classes are blocked, web is limited per host during
# working hours, business and unknown are allowed. DNS lookups are allowed whatever the
# name (the policy's first rule): a resolver reuses one flow for many names.
CLASS_ACTION = {
    "p2p": "block", "video": "block", "chat": "block", "game": "block",
    "stock": "block", "adult": "block", "gambling": "block", "tunnel": "block",
    "web": "limit", "business": "allow", "unknown": "allow",
}
DNS_ACTION = "allow"

# nDPI 4.2's category of each app as ndpiReader prints it ([cat: NAME/N]); a host can
# override it (.iqiyi.com is TLS in category Streaming).
APP_CATEGORY = {
    "BitTorrent": "Download", "HTTP": "Web", "TLS": "Web", "DNS": "Network",
    "TLS.YouTube": "Media", "QUIC.YouTube": "Media", "TLS.Zoom": "Video",
    "TLS.Teams": "Collaborative", "TLS.Tor": "VPN",
}

RATE_CLIENT = "10.1.0.10"     # only rate.pcap uses this host
RATE_SERVER = "203.0.113.10"
RATE_OFFERED_BPS = 8_000_000  # frame bytes on the wire, server -> client
RATE_LIMIT_BPS = 2_000_000
RATE_PAYLOAD = 1400
RATE_SECONDS = 12             # the check window is [first data + 1 s, + 11 s)


# --------------------------------------------------------------------------- output

class Capture:
    """Frames with integer-microsecond timestamps, written as a classic pcap."""

    def __init__(self):
        self.frames = []      # (ts_us, seq, bytes); seq keeps insertion order stable

    def add(self, ts_us, frame):
        if len(frame) < 60:
            frame = frame + b"\x00" * (60 - len(frame))   # Ethernet minimum, no FCS
        self.frames.append((ts_us, len(self.frames), frame))

    def add_raw(self, ts_us, frame):
        """Add a frame exactly as given (no padding): for malformed frames."""
        self.frames.append((ts_us, len(self.frames), frame))

    def sorted(self):
        return sorted(self.frames)

    def write(self, path):
        write_pcap(path, self.sorted())


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, _, frame in frames:
            f.write(struct.pack("<IIII", ts // USEC, ts % USEC, len(frame), len(frame)))
            f.write(frame)


# --------------------------------------------------------------------------- layer 2

def ether(ip_pkt, from_client, vlans=(), outer_tpid=0x88A8):
    """Wrap an IP packet in Ethernet, with 802.1Q (one vlan) or QinQ (outer, inner): the
    outer tag is 802.1ad (0x88a8), or 0x8100 as older switches double-tag."""
    src, dst = (MAC_CLIENT, MAC_UPSTREAM) if from_client else (MAC_UPSTREAM, MAC_CLIENT)
    frame = Ether(src=src, dst=dst)
    if len(vlans) == 2:
        outer = Dot1AD(vlan=vlans[0]) if outer_tpid == 0x88A8 else Dot1Q(vlan=vlans[0])
        frame = frame / outer / Dot1Q(vlan=vlans[1])
    elif len(vlans) == 1:
        frame = frame / Dot1Q(vlan=vlans[0])
    return bytes(frame / ip_pkt)


def csum_words(data):
    """Sum of the big-endian 16-bit words of `data` (RFC 1071), zero-padded."""
    data = bytes(data) + b"\x00" * (len(data) % 2)
    return sum(struct.unpack("!%dH" % (len(data) // 2), data))


def csum_fold(total):
    """The Internet checksum of a csum_words() total."""
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ip_header(src, dst, ipid):
    if ":" in src:
        return IPv6(src=src, dst=dst, hlim=64)
    return IP(src=src, dst=dst, id=ipid & 0xFFFF, flags="DF", ttl=64)


# --------------------------------------------------------------------------- sessions

class Flow:
    """What both session helpers share: endpoints, clock, counters, expected record."""

    RTT_US = 24_000           # inside client <-> internet server
    TURN_US = 180             # the client answering what it just received
    BURST_US = 110            # back-to-back segments from one side

    def __init__(self, fx, proto, client, cport, server, sport, vlans=(), outer_tpid=0x88A8):
        self.fx, self.cap, self.rng = fx, fx.cap, fx.rng
        self.proto, self.vlans, self.outer_tpid = proto, tuple(vlans), outer_tpid
        self.client, self.cport, self.server, self.sport = client, cport, server, sport
        self.t = fx.t0
        self.last_side = None
        self.pkts = {True: 0, False: 0}
        self.ipid = {True: self.rng.randrange(1, 0xFFFF), False: self.rng.randrange(1, 0xFFFF)}

    def _advance(self, from_client):
        if self.last_side is None:       # the flow's first packet: at t0
            pass
        elif self.last_side == from_client:
            self.t += self.BURST_US
        elif from_client:
            self.t += self.TURN_US
        else:
            self.t += self.RTT_US
        self.last_side = from_client

    def pause(self, usec):
        self.t += usec

    def _ends(self, from_client):
        if from_client:
            return self.client, self.server, self.cport, self.sport
        return self.server, self.client, self.sport, self.cport

    def _emit(self, from_client, l4):
        self._advance(from_client)
        src, dst, _, _ = self._ends(from_client)
        self.ipid[from_client] += 1
        ip = ip_header(src, dst, self.ipid[from_client]) / l4
        self.cap.add(self.t, ether(ip, from_client, self.vlans, self.outer_tpid))
        self.pkts[from_client] += 1

    def expect(self, app, cls, host, classified_at, action=None, category=None, **extra):
        """Record the flow in expected.json; classified_at is the 1-based packet of
        the flow at which nDPI 4.2 first names `app` (see ndpi_check.py)."""
        rec = {
            "file": self.fx.file, "proto": self.proto,
            "src_ip": self.client, "src_port": self.cport,
            "dst_ip": self.server, "dst_port": self.sport,
            # QinQ: which tag the record shows is the gate's choice; not asserted
            "vlan": None if len(self.vlans) > 1 else (self.vlans or (0,))[0],
            "app": app, "category": category or APP_CATEGORY[app], "class": cls, "host": host,
            "action": action or CLASS_ACTION[cls],
            "pkts_c2s": self.pkts[True], "pkts_s2c": self.pkts[False],
            "classified_at": classified_at,
        }
        rec.update(extra)
        self.fx.flows.append(rec)
        return rec


class TcpSession(Flow):
    """A TCP connection: handshake, data both ways (segmented at the MSS, acked like a
    delayed-ACK receiver), orderly close."""

    MSS = 1460

    def __init__(self, fx, client, cport, server, sport, vlans=(), outer_tpid=0x88A8):
        super().__init__(fx, "TCP", client, cport, server, sport, vlans, outer_tpid)
        self.seq = {True: self.rng.getrandbits(32), False: self.rng.getrandbits(32)}
        self.win = {True: 502, False: 501}   # scaled windows, as after wscale

    def _segment(self, from_client, flags, payload=b"", options=None):
        _, _, sp, dp = self._ends(from_client)
        seq = self.seq[from_client]
        ack = self.seq[not from_client] if "A" in flags else 0
        tcp = TCP(sport=sp, dport=dp, seq=seq, ack=ack, flags=flags,
                  window=self.win[from_client] if "S" not in flags else 64240,
                  options=options or [])
        self._emit(from_client, tcp / Raw(payload) if payload else tcp)
        step = len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        self.seq[from_client] = (seq + step) & 0xFFFFFFFF

    def handshake(self):
        opts = [("MSS", self.MSS), ("NOP", None), ("WScale", 8),
                ("NOP", None), ("NOP", None), ("SAckOK", b"")]
        self._segment(True, "S", options=opts)
        self._segment(False, "SA", options=opts)
        self._segment(True, "A")
        return self

    def send(self, from_client, data, ack_every=2):
        """Send `data` as MSS-sized segments, PSH on the last; the peer acks every
        `ack_every` segments and the last (ack_every=0: the peer's next data acks it)."""
        chunks = [data[i:i + self.MSS] for i in range(0, len(data), self.MSS)]
        for n, chunk in enumerate(chunks, 1):
            self._segment(from_client, "PA" if n == len(chunks) else "A", chunk)
            if ack_every and (n % ack_every == 0 or n == len(chunks)):
                self._segment(not from_client, "A")
        return self

    def c2s(self, data):
        """Client data: requests are answered, so the server's reply carries the ACK."""
        return self.send(True, data, ack_every=0)

    def s2c(self, data):
        """Server data, acked by the client every second segment."""
        return self.send(False, data)

    def close(self):
        self._segment(True, "FA")
        self._segment(False, "FA")
        self._segment(True, "A")
        return self


class UdpFlow(Flow):
    """A UDP conversation; datagrams may be sent as IP fragments."""

    def __init__(self, fx, client, cport, server, sport):
        super().__init__(fx, "UDP", client, cport, server, sport)

    def send(self, from_client, payload):
        _, _, sp, dp = self._ends(from_client)
        self._emit(from_client, UDP(sport=sp, dport=dp) / Raw(payload))

    def send_fragmented(self, from_client, payload, fragsize):
        """One datagram as IPv4/IPv6 fragments of at most `fragsize` data bytes."""
        src, dst, sp, dp = self._ends(from_client)
        self.ipid[from_client] += 1
        udp = UDP(sport=sp, dport=dp) / Raw(payload)
        if ":" in src:
            frag_hdr = IPv6ExtHdrFragment(id=self.rng.getrandbits(32))
            pkt = IPv6(src=src, dst=dst, hlim=64) / frag_hdr / udp
            frags = fragment6(pkt, fragsize + 48)
        else:
            pkt = IP(src=src, dst=dst, id=self.ipid[from_client], ttl=64) / udp
            frags = fragment(pkt, fragsize=fragsize)
        for frag in frags:
            self._advance(from_client)
            self.cap.add(self.t, ether(frag, from_client, self.vlans, self.outer_tpid))
            self.pkts[from_client] += 1
        return len(frags)


# --------------------------------------------------------------------------- TLS bytes

def u8(n):
    return struct.pack("!B", n)


def u16(n):
    return struct.pack("!H", n)


def u24(n):
    return struct.pack("!I", n)[1:]


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def ext(etype, body):
    return u16(etype) + vec16(body)


def handshake_msg(htype, body):
    return u8(htype) + u24(len(body)) + body


def tls_record(ctype, body, version=0x0303):
    return u8(ctype) + u16(version) + vec16(body)


def client_hello(rng, sni, tls13=True, alpn=(b"h2", b"http/1.1"), quic_params=None):
    """A browser-like ClientHello handshake message (no record header)."""
    suites = [0x1301, 0x1302, 0x1303] if tls13 else []
    if quic_params is None:
        suites += [0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
                   0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]
    exts = [ext(0x0000, vec16(u8(0) + vec16(sni.encode())))] if sni else []  # server_name
    if quic_params is None:
        exts += [ext(0x0017, b""),                                  # extended_master_secret
                 ext(0xFF01, b"\x00"),                              # renegotiation_info
                 ext(0x000B, vec8(b"\x00")),                        # ec_point_formats
                 ext(0x0023, b""),                                  # session_ticket
                 ext(0x0005, b"\x01\x00\x00\x00\x00")]              # status_request
    exts += [ext(0x000A, vec16(b"".join(u16(g) for g in (0x001D, 0x0017, 0x0018)))),
             ext(0x0010, vec16(b"".join(vec8(p) for p in alpn))),
             ext(0x000D, vec16(b"".join(u16(s) for s in (
                 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601))))]
    if tls13:
        exts += [ext(0x0033, vec16(u16(0x001D) + vec16(rng.randbytes(32)))),  # key_share
                 ext(0x002D, vec8(b"\x01")),                                 # psk modes
                 ext(0x002B, vec8(b"".join(u16(v) for v in (0x0304, 0x0303))))]
    if quic_params is not None:
        exts.append(ext(0x0039, quic_params))                        # transport params
    sid = b"" if quic_params is not None else rng.randbytes(32)
    body = (u16(0x0303) + rng.randbytes(32) + vec8(sid)
            + vec16(b"".join(u16(s) for s in suites)) + vec8(b"\x00")
            + vec16(b"".join(exts)))
    return handshake_msg(1, body), sid


def server_hello(rng, sid, tls13=True, alpn=None):
    if tls13:
        exts = (ext(0x002B, u16(0x0304))
                + ext(0x0033, u16(0x001D) + vec16(rng.randbytes(32))))
        suite = 0x1301
    else:
        exts = ext(0xFF01, b"\x00") + ext(0x0017, b"") + ext(0x000B, vec8(b"\x00"))
        if alpn:
            exts += ext(0x0010, vec16(vec8(alpn)))
        suite = 0xC02F
    body = (u16(0x0303) + rng.randbytes(32) + vec8(sid) + u16(suite) + b"\x00"
            + vec16(exts))
    return handshake_msg(2, body)


def self_signed_cert(rng, name, org=None, cn=None):
    """A DER certificate for `name` (its SAN; none when None), organisation `org` (by
    default the name's parent domain) and common name `cn` (by default the name); Ed25519
    signs deterministically, so it is stable."""
    org = org or name.split(".", 1)[-1]
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                         x509.NameAttribute(NameOID.COMMON_NAME, cn or name)])
    key = ed25519.Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(subject)
               .public_key(key.public_key())
               .serial_number(rng.getrandbits(63) + 1)
               .not_valid_before(datetime.datetime(2026, 6, 1))
               .not_valid_after(datetime.datetime(2027, 6, 1)))
    if name:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]),
                                        critical=False)
    return builder.sign(key, None).public_bytes(serialization.Encoding.DER), key


def tls_exchange(sess, sni, tls13=True, request=400, response=3000, alpn=b"h2", cert=None):
    """ClientHello (with server name `sni`, none when None) .. ServerHello (+ certificate
    for TLS 1.2: `cert`, else one self-signed for sni), finished, one request and one
    response of encrypted application data, close."""
    rng = sess.rng
    sess.handshake()
    hello, sid = client_hello(rng, sni, tls13)
    sess.c2s(tls_record(0x16, hello, version=0x0301))
    ccs = tls_record(0x14, b"\x01")
    if tls13:
        flight = (tls_record(0x16, server_hello(rng, sid, True)) + ccs
                  + tls_record(0x17, rng.randbytes(2400)))  # EE, Certificate, CV, Finished
        sess.s2c(flight)
        sess.c2s(ccs + tls_record(0x17, rng.randbytes(53)))   # client Finished
    else:
        der, key = cert or self_signed_cert(rng, sni)
        cert_msg = handshake_msg(11, u24(len(der) + 3) + u24(len(der)) + der)
        params = b"\x03" + u16(0x001D) + vec8(rng.randbytes(32))
        ske = handshake_msg(12, params + u16(0x0807) + vec16(key.sign(params)))
        flight = tls_record(0x16, server_hello(rng, sid, False, alpn)
                            + cert_msg + ske + handshake_msg(14, b""))
        sess.s2c(flight)
        cke = handshake_msg(16, vec8(rng.randbytes(32)))
        sess.c2s(tls_record(0x16, cke) + ccs + tls_record(0x16, rng.randbytes(40)))
        sess.s2c(ccs + tls_record(0x16, rng.randbytes(40)))
    sess.c2s(tls_record(0x17, rng.randbytes(request)))
    sess.s2c(tls_record(0x17, rng.randbytes(response)))
    sess.pause(150_000)
    sess.c2s(tls_record(0x15, rng.randbytes(26)))              # close_notify
    return sess.close()


# --------------------------------------------------------------------------- QUIC bytes

QUIC_V1_SALT = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")


def hkdf_expand_label(secret, label, length):
    full = b"tls13 " + label
    info = u16(length) + vec8(full) + b"\x00"
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + u8(i), hashlib.sha256).digest()
        out, i = out + block, i + 1
    return out[:length]


def quic_initial_keys(dcid, side):
    """RFC 9001 5.2: (key, iv, hp) of the client's or server's Initial packets."""
    initial = hmac.new(QUIC_V1_SALT, dcid, hashlib.sha256).digest()
    secret = hkdf_expand_label(initial, side, 32)
    return (hkdf_expand_label(secret, b"quic key", 16),
            hkdf_expand_label(secret, b"quic iv", 12),
            hkdf_expand_label(secret, b"quic hp", 16))


def varint(n):
    if n < 0x40:
        return u8(n)
    if n < 0x4000:
        return u16(0x4000 | n)
    return struct.pack("!I", 0x80000000 | n)


def quic_initial(keys, dcid, scid, pn, frames, pad_to=0):
    """A protected QUIC v1 Initial packet (RFC 9000 17.2.2, RFC 9001 5)."""
    key, iv, hp = keys
    pn_len = 2
    head = u8(0xC0 | (pn_len - 1)) + struct.pack("!I", 1) + vec8(dcid) + vec8(scid) + varint(0)
    overhead = len(head) + 2 + pn_len + 16
    if len(frames) + overhead < pad_to:
        frames += b"\x00" * (pad_to - overhead - len(frames))   # PADDING frames
    header = head + u16(0x4000 | (pn_len + len(frames) + 16)) + pn.to_bytes(pn_len, "big")
    nonce = bytes(a ^ b for a, b in zip(iv, pn.to_bytes(12, "big")))
    sealed = AESGCM(key).encrypt(nonce, frames, header)
    sample = sealed[4 - pn_len:4 - pn_len + 16]
    mask = Cipher(algorithms.AES(hp), modes.ECB()).encryptor().update(sample)
    pn_at = len(header) - pn_len
    out = bytearray(header)
    out[0] ^= mask[0] & 0x0F
    for i in range(pn_len):
        out[pn_at + i] ^= mask[1 + i]
    return bytes(out) + sealed


def quic_long_opaque(rng, ptype, dcid, scid, size):
    """A long-header packet of another space (Handshake): opaque ciphertext."""
    head = u8(0xC0 | (ptype << 4) | 1) + struct.pack("!I", 1) + vec8(dcid) + vec8(scid)
    return head + u16(0x4000 | size) + rng.randbytes(size)


def quic_short(rng, dcid, size):
    return u8(0x40 | rng.getrandbits(5)) + dcid + rng.randbytes(size)


def crypto_frame(data):
    return b"\x06" + varint(0) + varint(len(data)) + data


def quic_transport_params(rng, scid):
    def tp(pid, value):
        return varint(pid) + varint(len(value)) + value
    return b"".join([
        tp(0x01, varint(30000)),            # max_idle_timeout
        tp(0x03, varint(1472)),             # max_udp_payload_size
        tp(0x04, varint(15728640)),         # initial_max_data
        tp(0x05, varint(6291456)), tp(0x06, varint(6291456)), tp(0x07, varint(6291456)),
        tp(0x08, varint(100)), tp(0x09, varint(103)),
        tp(0x0F, scid),                     # initial_source_connection_id
    ])


# --------------------------------------------------------------------------- app bytes

UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36")


def http_request(host, path="/"):
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {UA}\r\n"
            "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n"
            "Accept-Language: zh-CN,zh;q=0.9,en;q=0.8\r\n"
            "Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n").encode()


def http_response_head(length, ctype="text/html; charset=utf-8"):
    return (f"HTTP/1.1 200 OK\r\nDate: Wed, 25 Nov 2026 02:00:00 GMT\r\n"
            f"Server: nginx\r\nContent-Type: {ctype}\r\nContent-Length: {length}\r\n"
            "Connection: keep-alive\r\n\r\n").encode()


def html_page(title, size):
    head = f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n".encode()
    line = f"<p>{title}: notices, services and documents.</p>\n".encode()
    body = head + line * ((size - len(head)) // len(line) + 1)
    return body[:size - 15] + b"</body></html>\n"


def http_exchange(sess, host, size=4000):
    sess.handshake()
    sess.c2s(http_request(host))
    page = html_page(host, size)
    sess.s2c(http_response_head(len(page)) + page)
    sess.pause(300_000)
    return sess.close()


def bt_handshake(rng, info_hash, peer_id):
    return b"\x13BitTorrent protocol" + bytes([0, 0, 0, 0, 0, 0x10, 0, 5]) + info_hash + peer_id


def bt_message(mid, body=b""):
    return struct.pack("!IB", len(body) + 1, mid) + body


def dns_query(rng, name, qtype="A", pad_to=0):
    q = DNS(id=rng.getrandbits(16), rd=1, qd=DNSQR(qname=name, qtype=qtype))
    if pad_to:
        q.ar = DNSRROPT(rclass=1232, rdata=[])
        q.arcount = 1
        raw = bytes(q)
        # EDNS(0) Padding option (RFC 7830) to reach pad_to bytes
        padlen = max(0, pad_to - len(raw) - 4)
        raw = raw[:-2] + u16(padlen + 4) + u16(12) + u16(padlen) + b"\x00" * padlen
        return DNS(raw), raw
    return q, bytes(q)


def dns_answer(query, name, cname, addrs, qtype="A"):
    rrs = DNSRR(rrname=name, type="CNAME", ttl=300, rdata=cname)
    for a in addrs:
        rrs = rrs / DNSRR(rrname=cname, type=qtype, ttl=60, rdata=a)
    resp = DNS(id=query.id, qr=1, rd=1, ra=1, qd=query.qd, an=rrs)
    return bytes(resp)


# --------------------------------------------------------------------------- fixtures

class Fixture:
    """What a fixture function gets: its own capture, random generator, start time."""

    def __init__(self, name, index):
        self.name, self.file = name, name + ".pcap"
        self.cap = Capture()
        self.rng = random.Random("bwgate-fixture-" + name)
        self.t0 = (EPOCH + index) * USEC
        self.flows = []
        self.meta = {}

    def port(self):
        return self.rng.randrange(49152, 65000)


def fx_bittorrent(fx):
    """BitTorrent peer wire: handshake both ways, bitfield, interested/unchoke, a piece."""
    rng = fx.rng
    s = TcpSession(fx, "10.1.0.21", fx.port(), "198.51.100.21", 6881).handshake()
    info_hash = rng.randbytes(20)
    s.c2s(bt_handshake(rng, info_hash, b"-qB4560-" + rng.randbytes(12)))
    s.s2c(bt_handshake(rng, info_hash, b"-TR3000-" + rng.randbytes(12)))
    s.c2s(bt_message(5, rng.randbytes(64)) + bt_message(2))          # bitfield, interested
    s.s2c(bt_message(5, b"\xff" * 64) + bt_message(1))               # bitfield, unchoke
    s.c2s(bt_message(6, struct.pack("!III", 7, 0, 16384)))           # request
    s.s2c(bt_message(7, struct.pack("!II", 7, 0) + rng.randbytes(16384)))
    s.close()
    s.expect("BitTorrent", "p2p", None, classified_at=4)


def fx_http_example(fx):
    """HTTP/1.1 GET http://www.example.org/ and a 200 response."""
    s = http_exchange(TcpSession(fx, "10.1.0.22", fx.port(), "203.0.113.22", 80), "www.example.org")
    s.expect("HTTP", "web", "www.example.org", classified_at=4)


def fx_http_gov(fx):
    """HTTP/1.1 GET http://www.gov.cn/ (a government site: business)."""
    s = TcpSession(fx, "10.2.0.23", fx.port(), "198.51.100.23", 80)
    http_exchange(s, "www.gov.cn", 6000)
    s.expect("HTTP", "business", "www.gov.cn", classified_at=4)


def tls_fixture(client, server, sni, app, cls, tls13, vlans=(), outer_tpid=0x88A8,
                classified_at=4, category=None, note=None):
    def fixture(fx):
        s = TcpSession(fx, client, fx.port(), server, 443, vlans, outer_tpid)
        tls_exchange(s, sni, tls13=tls13)
        s.expect(app, cls, sni, classified_at=classified_at, category=category,
                 **({"note": note} if note else {}))
    ver = "1.3" if tls13 else "1.2 (with certificate)"
    tag = ""
    if len(vlans) == 1:
        tag = f" on VLAN {vlans[0]}"
    elif vlans:
        tag = f" on QinQ {vlans[0]}/{vlans[1]} (outer TPID {outer_tpid:#06x})"
    fixture.__doc__ = f"TLS {ver} to {sni}{tag}."
    return fixture


def fx_dns(name, client, cls, qtype="A", addrs=("203.0.113.80",)):
    def fixture(fx):
        f = UdpFlow(fx, client, fx.port(), "192.0.2.53", 53)
        q, raw = dns_query(fx.rng, name, qtype)
        f.send(True, raw)
        cname = "edge." + name.split(".", 1)[1] + ".cdn.example.net"
        f.send(False, dns_answer(q, name, cname, addrs, qtype))
        f.expect("DNS", cls, name, classified_at=1, action=DNS_ACTION)
    fixture.__doc__ = f"DNS {qtype} query and answer for {name} over UDP/53."
    return fixture


def fx_quic_youtube(fx):
    """QUIC v1: protected client Initial (ClientHello, SNI www.youtube.com), server
    Initial+Handshake, then 1-RTT packets both ways."""
    rng = fx.rng
    f = UdpFlow(fx, "10.1.0.34", fx.port(), "203.0.113.34", 443)
    dcid, cscid, sscid = rng.randbytes(8), rng.randbytes(8), rng.randbytes(8)
    hello, _ = client_hello(rng, "www.youtube.com", True, alpn=(b"h3",),
                            quic_params=quic_transport_params(rng, cscid))
    ckeys, skeys = quic_initial_keys(dcid, b"client in"), quic_initial_keys(dcid, b"server in")
    f.send(True, quic_initial(ckeys, dcid, cscid, 0, crypto_frame(hello), pad_to=1250))
    sh = server_hello(rng, b"", True)
    f.send(False, quic_initial(skeys, cscid, sscid, 0, b"\x02\x00\x00\x00\x00" + crypto_frame(sh))
           + quic_long_opaque(rng, 2, cscid, sscid, 1000))
    f.send(True, quic_initial(ckeys, sscid, cscid, 1, b"\x02\x00\x00\x00\x00", pad_to=1250 - 60)
           + quic_long_opaque(rng, 2, sscid, cscid, 40))
    f.send(True, quic_short(rng, sscid, 180))          # HTTP/3 request
    for size in (1220, 1220, 1220, 640):
        f.send(False, quic_short(rng, cscid, size))
    f.send(True, quic_short(rng, sscid, 30))           # ACK
    f.expect("QUIC.YouTube", "video", "www.youtube.com", classified_at=1)


def fx_http_ipv6(fx):
    """HTTP/1.1 GET http://www.example.org/ over IPv6."""
    s = http_exchange(TcpSession(fx, "2001:db8:10:1::35", fx.port(), "2001:db8:cafe::35", 80),
                      "www.example.org")
    s.expect("HTTP", "web", "www.example.org", classified_at=4)


def fx_frag_ipv4(fx):
    """DNS query for www.gov.cn (EDNS-padded to 300 bytes) sent as 3 IPv4 fragments;
    the answer comes back whole."""
    f = UdpFlow(fx, "10.2.0.39", fx.port(), "192.0.2.53", 53)
    q, raw = dns_query(fx.rng, "www.gov.cn", pad_to=300)
    nfrag = f.send_fragmented(True, raw, fragsize=112)
    f.send(False, dns_answer(q, "www.gov.cn", "www.gov.cn.cdn.example.net", ["198.51.100.60"]))
    fx.meta["fragments"] = nfrag
    f.expect("DNS", "business", "www.gov.cn", classified_at=None, action=DNS_ACTION, pkts_c2s=None, pkts_s2c=None,
             note="query is fragmented; nDPI sees the unfragmented answer")


def fx_frag_ipv6(fx):
    """DNS AAAA query for www.gov.cn (EDNS-padded to 400 bytes) as 3 IPv6 fragments
    (Fragment extension header); the answer comes back whole."""
    f = UdpFlow(fx, "2001:db8:10:2::40", fx.port(), "2001:db8:cafe::53", 53)
    q, raw = dns_query(fx.rng, "www.gov.cn", "AAAA", pad_to=400)
    nfrag = f.send_fragmented(True, raw, fragsize=160)
    f.send(False, dns_answer(q, "www.gov.cn", "www.gov.cn.cdn.example.net",
                             ["2001:db8:cafe::60"], "AAAA"))
    fx.meta["fragments"] = nfrag
    f.expect("DNS", "business", "www.gov.cn", classified_at=None, action=DNS_ACTION, pkts_c2s=None, pkts_s2c=None,
             note="query is fragmented; nDPI sees the unfragmented answer")


def fx_nonip(fx):
    """ARP who-has/is-at pair and an LLDP advertisement (not IP: forwarded)."""
    t = fx.t0
    req = Ether(src=MAC_CLIENT, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=MAC_CLIENT, psrc="10.1.0.1", pdst="10.1.0.254")
    rep = Ether(src=MAC_UPSTREAM, dst=MAC_CLIENT) / ARP(
        op=2, hwsrc=MAC_UPSTREAM, psrc="10.1.0.254", hwdst=MAC_CLIENT, pdst="10.1.0.1")
    fx.cap.add(t, bytes(req))
    fx.cap.add(t + 350, bytes(rep))

    def tlv(ttype, value):
        return u16((ttype << 9) | len(value)) + value
    lldpdu = (tlv(1, b"\x04" + bytes.fromhex("02000a010001"))      # chassis id: MAC
              + tlv(2, b"\x05" + b"ge-0/0/1")                     # port id: interface name
              + tlv(3, u16(120))                                  # TTL
              + tlv(5, b"access-router-1")                        # system name
              + tlv(0, b""))
    lldp = Ether(src=MAC_CLIENT, dst="01:80:c2:00:00:0e", type=0x88CC) / Raw(lldpdu)
    fx.cap.add(t + 500_000, bytes(lldp))


def fx_malformed(fx):
    """Frames the parser must count as malformed and drop, never crash on."""
    t = fx.t0
    good4 = bytes(Ether(src=MAC_CLIENT, dst=MAC_UPSTREAM)
                  / IP(src="10.1.0.50", dst="203.0.113.50", id=7) / UDP(sport=40000, dport=53)
                  / Raw(b"\x00" * 24))
    good6 = (Ether(src=MAC_CLIENT, dst=MAC_UPSTREAM)
             / IPv6(src="2001:db8:10:1::50", dst="2001:db8:cafe::50"))

    def ip_csum(hdr):
        hdr = bytearray(hdr)
        hdr[10:12] = b"\x00\x00"
        hdr[10:12] = u16(csum_fold(csum_words(hdr)))
        return bytes(hdr)

    frames = []
    frames.append(("cut inside the IPv4 header", good4[:14 + 12]))
    ihl4 = bytearray(good4)
    ihl4[14] = 0x44
    frames.append(("IPv4 IHL 4 (< 5)", bytes(ihl4[:14]) + ip_csum(ihl4[14:30]) + bytes(ihl4[30:])))
    long_tl = bytearray(good4)
    long_tl[16:18] = u16(1400)
    frames.append(("IPv4 total length 1400 > frame", bytes(long_tl[:14]) + ip_csum(long_tl[14:34])
                   + bytes(long_tl[34:])))
    frames.append(("TCP data offset 3 (< 5)", bytes(
        Ether(src=MAC_CLIENT, dst=MAC_UPSTREAM) / IP(src="10.1.0.50", dst="203.0.113.50", id=8)
        / TCP(sport=40001, dport=443, flags="S", dataofs=3, seq=1) / Raw(b"\x00" * 8))))
    frames.append(("10-byte frame", bytes.fromhex("02000a01000102000a01")))
    # Hop-by-Hop (complete, next: Destination Options) then a Destination Options header
    # claiming 24 bytes with 4 present; the IPv6 payload length matches what is there.
    ext6 = bytes([60, 0, 1, 4, 0, 0, 0, 0]) + bytes([17, 2, 1, 0])
    v6 = bytearray(bytes(good6 / Raw(ext6)))
    v6[14 + 6] = 0     # next header: Hop-by-Hop
    frames.append(("IPv6 extension header chain cut short", bytes(v6)))
    for i, (_, frame) in enumerate(frames):
        fx.cap.add_raw(t + i * 1000, frame)
    fx.meta["malformed"] = [what for what, _ in frames]


class FastTcp4:
    """Ethernet/IPv4/TCP frames from a fixed template: only seq, ack, IP id and flags vary."""

    FLAGS = {"A": 0x10, "PA": 0x18}

    def __init__(self, smac, dmac, src, dst, sport, dport, payload):
        self.eth = bytes(Ether(src=smac, dst=dmac, type=0x0800))
        self.saddr = ipaddress.ip_address(src).packed + ipaddress.ip_address(dst).packed
        self.sport, self.dport, self.payload = sport, dport, payload
        # pseudo-header and payload never change: sum them once
        self.fixed_sum = csum_words(self.saddr) + 6 + 20 + len(payload) + csum_words(payload)

    def frame(self, seq, ack, ipid, flags):
        ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(self.payload), ipid & 0xFFFF,
                                   0x4000, 64, 6, 0, self.saddr[:4], self.saddr[4:]))
        ip[10:12] = u16(csum_fold(csum_words(ip)))
        tcp = bytearray(struct.pack("!HHIIBBHHH", self.sport, self.dport, seq, ack, 0x50,
                                    self.FLAGS[flags], 502, 0, 0))
        tcp[16:18] = u16(csum_fold(self.fixed_sum + csum_words(tcp)))
        return self.eth + bytes(ip) + bytes(tcp) + self.payload


def rate_frames(fx):
    """A 12 s HTTP download from www.example.org to 10.1.0.10: 1400-byte segments
    (1454-byte frames) server->client at a steady 8 Mbit/s, for a 2 Mbit/s limit rule.

    Built by patching a template: scapy for ~12k frames would take seconds."""
    rng, cap = fx.rng, fx.cap
    s = TcpSession(fx, RATE_CLIENT, 50010, RATE_SERVER, 80)
    s.handshake()
    s.c2s(http_request("www.example.org", "/downloads/archive-2026.iso"))
    frame_len = 14 + 20 + 20 + RATE_PAYLOAD
    gap = frame_len * 8 * USEC // RATE_OFFERED_BPS               # 1454 us
    count = RATE_SECONDS * USEC // gap
    body = count * RATE_PAYLOAD
    head = http_response_head(body, "application/octet-stream")
    head = http_response_head(body + RATE_PAYLOAD - len(head), "application/octet-stream")
    s.s2c(head + rng.randbytes(RATE_PAYLOAD - len(head)))     # headers + first data
    t = s.t + s.RTT_US // 4
    data_start = t
    payload = bytes(range(256)) * (RATE_PAYLOAD // 256) + bytes(range(RATE_PAYLOAD % 256))
    down = FastTcp4(MAC_UPSTREAM, MAC_CLIENT, RATE_SERVER, RATE_CLIENT, 80, 50010, payload)
    up = FastTcp4(MAC_CLIENT, MAC_UPSTREAM, RATE_CLIENT, RATE_SERVER, 50010, 80, b"")
    sseq, cseq = s.seq[False], s.seq[True]
    sid, cid = s.ipid[False], s.ipid[True]
    for i in range(count):
        ts = t + i * gap
        sid += 1
        cap.add(ts, down.frame(sseq, cseq, sid, "A" if i % 8 else "PA"))
        sseq = (sseq + RATE_PAYLOAD) & 0xFFFFFFFF
        s.pkts[False] += 1
        if i % 2 == 1:
            cid += 1
            cap.add(ts + 60, up.frame(cseq, sseq, cid, "A"))
            s.pkts[True] += 1
    s.seq[False], s.seq[True] = sseq, cseq
    s.ipid[False], s.ipid[True] = sid, cid
    s.t = t + count * gap
    s.last_side = False
    s.close()
    s.expect("HTTP", "web", "www.example.org", classified_at=4, action="limit")
    fx.meta["rate"] = {
        "client_ip": RATE_CLIENT, "server_ip": RATE_SERVER, "server_port": 80,
        "offered_bps": RATE_OFFERED_BPS, "limit_bps": RATE_LIMIT_BPS, "tolerance": 0.02,
        "bytes": "frame", "frame_len": frame_len, "data_packets": count,
        "window_start": (data_start + USEC) / USEC, "window_end": (data_start + 11 * USEC) / USEC,
    }


def tls(client, server, sni, app, cls, version, **kw):
    return tls_fixture(client, server, sni, app, cls, version == "1.3", **kw)


# (file stem, fixture, part of mixed.pcap); fixture i starts i seconds after EPOCH.
# TLS rows: client, server, SNI, nDPI 4.2 app, class, TLS version.
FIXTURES = [
    ("bittorrent", fx_bittorrent, True),
    ("http_example", fx_http_example, True),
    ("http_gov", fx_http_gov, True),
    ("tls_iqiyi", tls("10.1.0.24", "203.0.113.24", "www.iqiyi.com", "TLS", "video", "1.2",
                      category="Streaming",
                      note="nDPI 4.2: app TLS, category Streaming (.iqiyi.com)"), True),
    ("tls_10jqka", tls("10.2.0.25", "198.51.100.25", "www.10jqka.com.cn", "TLS", "stock",
                       "1.2"), True),
    ("tls_gov", tls("10.2.0.26", "198.51.100.26", "www.gov.cn", "TLS", "business", "1.2"), True),
    ("tls_youtube", tls("10.1.0.27", "203.0.113.27", "www.youtube.com", "TLS.YouTube", "video",
                        "1.3"), True),
    ("tls_example", tls("10.1.0.28", "203.0.113.28", "www.example.com", "TLS", "web", "1.3"), True),
    ("tls_zoom", tls("10.2.0.29", "198.51.100.29", "us04web.zoom.us", "TLS.Zoom", "business",
                     "1.2"), True),
    ("tls_teams", tls("10.2.0.30", "198.51.100.30", "teams.microsoft.com", "TLS.Teams", "business",
                      "1.3"), True),
    # nDPI names TLS "Tor" when the SNI looks like Tor's random www.<dga>.com names
    ("tls_tor", tls("10.1.0.31", "192.0.2.31", "www.q7lrwbkf3zhtxv2m5e.com", "TLS.Tor", "tunnel",
                    "1.2"), True),
    ("dns_bilibili", fx_dns("www.bilibili.com", "10.1.0.32", "video"), True),
    ("dns_gov", fx_dns("www.gov.cn", "10.2.0.33", "business"), True),
    ("quic_youtube", fx_quic_youtube, True),
    ("http_ipv6", fx_http_ipv6, True),
    ("tls_ipv6_youtube", tls("2001:db8:10:1::36", "2001:db8:cafe::36", "www.youtube.com",
                             "TLS.YouTube", "video", "1.3"), True),
    ("tls_vlan100", tls("10.1.0.37", "203.0.113.37", "www.example.com", "TLS", "web", "1.3",
                        vlans=(100,)), True),
    ("tls_qinq", tls("10.2.0.38", "198.51.100.38", "www.10jqka.com.cn", "TLS", "stock", "1.3",
                     vlans=(200, 100)), True),
    ("tls_qinq_8100", tls("10.2.0.42", "198.51.100.42", "www.gov.cn", "TLS", "business", "1.3",
                          vlans=(200, 100), outer_tpid=0x8100), True),
    ("frag_ipv4", fx_frag_ipv4, True),
    ("frag_ipv6", fx_frag_ipv6, True),
    ("nonip", fx_nonip, True),
    ("malformed", fx_malformed, False),
    ("rate", rate_frames, False),
]
RATE_START_S = 60             # rate.pcap starts a minute after EPOCH


def first_paragraph(func):
    return " ".join((func.__doc__ or "").split("\n\n")[0].split())


def build(name, func, index):
    fx = Fixture(name, index)
    func(fx)
    return fx


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        for name, func, _ in FIXTURES:
            print(f"{name + '.pcap':24} {first_paragraph(func)}")
        print(f"{'mixed.pcap':24} All fixtures above except malformed and rate, in time order.")
        return 0
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    flows, files, merged = [], {}, []
    expected = {"epoch": EPOCH, "timezone": "Asia/Shanghai", "class_action": CLASS_ACTION}
    for index, (name, func, in_mixed) in enumerate(FIXTURES):
        fx = build(name, func, RATE_START_S if name == "rate" else index)
        fx.cap.write(os.path.join(outdir, fx.file))
        flows.extend(fx.flows)
        files[fx.file] = dict(frames=len(fx.cap.frames), flows=len(fx.flows), mixed=in_mixed,
                              doc=first_paragraph(func))
        files[fx.file].update({k: v for k, v in fx.meta.items() if k != "rate"})
        if "malformed" in fx.meta:
            expected["malformed_frames"] = len(fx.meta["malformed"])
        if "rate" in fx.meta:
            expected["rate"] = dict(file=fx.file, **fx.meta["rate"])
        if in_mixed:
            merged.append(fx.cap.sorted())
    mixed = list(heapq.merge(*merged, key=lambda f: f[0]))
    write_pcap(os.path.join(outdir, "mixed.pcap"), mixed)
    parts = [f for f, v in files.items() if v["mixed"]]
    files["mixed.pcap"] = dict(frames=len(mixed), flows=sum(files[f]["flows"] for f in parts),
                               mixed=False, contains=parts,
                               doc="All fixtures except malformed and rate, in time order.")
    expected.update(files=files, flows=flows)
    with open(os.path.join(outdir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
