/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame parser tests: hand-built frames for every link type and encapsulation the
 * parser knows, the malformed results, a walk over every prefix of valid frames
 * (each prefix in its own exact-size heap buffer, so valgrind or ASan flag any read
 * past the captured length), and the inline path against the whole parser.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "bwg_pkt.h"

/* ---- frame builder ------------------------------------------------------------------ */

struct fb {
	uint8_t b[2048];
	uint32_t n;
	uint32_t l3;     /* offset of the innermost IP header */
	uint32_t l4_end; /* offset where the L4 header (or, without ports, L3) ends */
};

static void
put(struct fb *f, const void *p, uint32_t n)
{
	assert_true(f->n + n <= sizeof(f->b));
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void
put8(struct fb *f, uint8_t v)
{
	put(f, &v, 1);
}

static void
put16(struct fb *f, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(f, b, 2);
}

static void
put32(struct fb *f, uint32_t v)
{
	put16(f, (uint16_t)(v >> 16));
	put16(f, (uint16_t)v);
}

static void
set16(struct fb *f, uint32_t off, uint16_t v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

static void
eth(struct fb *f, uint16_t type)
{
	static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
	put(f, macs, sizeof(macs));
	put16(f, type);
}

static void
vlan_tag(struct fb *f, uint16_t tci, uint16_t next_type)
{
	put16(f, tci);
	put16(f, next_type);
}

static void
addr4(const char *s, uint8_t out[4])
{
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static void
addr6(const char *s, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

/* IPv4 header with `optlen` bytes of options (NOPs); total length set by ip4_done. */
static uint32_t
ip4(struct fb *f, uint8_t proto, const char *src, const char *dst, uint32_t optlen,
    uint16_t frag, uint16_t id)
{
	uint32_t off = f->n;
	uint8_t a[4];
	put8(f, (uint8_t)(0x40 | (5 + optlen / 4)));
	put8(f, 0);
	put16(f, 0); /* total length */
	put16(f, id);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	addr4(src, a);
	put(f, a, 4);
	addr4(dst, a);
	put(f, a, 4);
	for (uint32_t i = 0; i < optlen; i++)
		put8(f, 1);
	f->l3 = off;
	f->l4_end = f->n;
	return off;
}

static void
ip4_done(struct fb *f, uint32_t off)
{
	set16(f, off + 2, (uint16_t)(f->n - off));
}

static uint32_t
ip6(struct fb *f, uint8_t next, const char *src, const char *dst)
{
	uint32_t off = f->n;
	uint8_t a[16];
	put32(f, 0x60000000);
	put16(f, 0); /* payload length */
	put8(f, next);
	put8(f, 64);
	addr6(src, a);
	put(f, a, 16);
	addr6(dst, a);
	put(f, a, 16);
	f->l3 = off;
	f->l4_end = f->n;
	return off;
}

static void
ip6_done(struct fb *f, uint32_t off)
{
	set16(f, off + 4, (uint16_t)(f->n - off - 40));
}

/* Hop-by-hop / destination options header of 8 * (1 + hdr_ext_len) bytes. */
static void
ip6_opts(struct fb *f, uint8_t next, uint8_t hdr_ext_len)
{
	put8(f, next);
	put8(f, hdr_ext_len);
	put8(f, 1); /* PadN covering the rest */
	put8(f, (uint8_t)(4 + 8 * hdr_ext_len));
	for (uint32_t i = 0; i < 4u + 8u * hdr_ext_len; i++)
		put8(f, 0);
	f->l4_end = f->n;
}

static void
ip6_frag(struct fb *f, uint8_t next, uint16_t offset_units, int more, uint32_t id)
{
	put8(f, next);
	put8(f, 0);
	put16(f, (uint16_t)(offset_units << 3 | (more ? 1 : 0)));
	put32(f, id);
	f->l4_end = f->n;
}

static void
tcp(struct fb *f, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t optlen,
    const char *payload)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, 1000);
	put32(f, 0);
	put8(f, (uint8_t)((5 + optlen / 4) << 4));
	put8(f, flags);
	put16(f, 65535);
	put16(f, 0);
	put16(f, 0);
	for (uint32_t i = 0; i < optlen; i++)
		put8(f, 1);
	f->l4_end = f->n;
	if (payload)
		put(f, payload, (uint32_t)strlen(payload));
}

static void
udp(struct fb *f, uint16_t sport, uint16_t dport, const char *payload)
{
	uint32_t n = payload ? (uint32_t)strlen(payload) : 0;
	put16(f, sport);
	put16(f, dport);
	put16(f, (uint16_t)(8 + n));
	put16(f, 0);
	f->l4_end = f->n;
	if (payload)
		put(f, payload, n);
}

static void
icmp_echo(struct fb *f)
{
	static const uint8_t echo[8] = {8, 0, 0, 0, 0, 1, 0, 1};
	put(f, echo, sizeof(echo));
	put(f, "pingpingping", 12);
}

/* Ethernet / IPv4 / TCP 10.0.0.1:40000 -> 93.184.216.34:80 with a payload. */
static void
eth_ip4_tcp(struct fb *f, uint8_t flags, const char *payload)
{
	eth(f, 0x0800);
	uint32_t ip = ip4(f, 6, "10.0.0.1", "93.184.216.34", 0, 0, 0x1234);
	tcp(f, 40000, 80, flags, 0, payload);
	ip4_done(f, ip);
}

static enum bwg_pkt_result
parse(struct bwg_pkt *p, const struct fb *f, enum bwg_link link, unsigned flags)
{
	return bwg_pkt_parse(p, f->b, f->n, f->n, link, flags);
}

static void
assert_addr4(const uint8_t a[16], const char *s)
{
	uint8_t want[16] = {0};
	addr4(s, want);
	assert_memory_equal(a, want, 16);
}

static void
assert_addr6(const uint8_t a[16], const char *s)
{
	uint8_t want[16];
	addr6(s, want);
	assert_memory_equal(a, want, 16);
}

/* ---- well-formed frames ------------------------------------------------------------- */

static void
test_eth_ipv4_tcp(void **state)
{
	(void)state;
	struct fb f = {0};
	eth_ip4_tcp(&f, BWG_TCP_SYN | BWG_TCP_ACK, "GET / HTTP/1.1\r\n");
	struct bwg_pkt p;
	memset(&p, 0xa5, sizeof(p));
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.family, 4);
	assert_int_equal(p.proto, 6);
	assert_addr4(p.addr[0], "10.0.0.1");
	assert_addr4(p.addr[1], "93.184.216.34");
	assert_int_equal(p.port[0], 40000);
	assert_int_equal(p.port[1], 80);
	assert_int_equal(p.tcp_flags, BWG_TCP_SYN | BWG_TCP_ACK);
	assert_int_equal(p.l4_payload, 16);
	assert_ptr_equal(p.l3, f.b + 14);
	assert_int_equal(p.l3_len, 20 + 20 + 16);
	assert_int_equal(p.l3_cap, 20 + 20 + 16);
	assert_int_equal(p.cut, 0);
	assert_int_equal(p.vlan, 0);
	assert_int_equal(p.frag, BWG_FRAG_NONE);
	assert_int_equal(p.tunnels, 0);
}

static void
test_eth_ipv4_udp_padded(void **state)
{
	(void)state;
	/* A short UDP datagram padded to the Ethernet minimum: l3_len stops at the IP total
	 * length, l3_cap runs to the end of the frame (nDPI sees the padding, as with
	 * ndpiReader), the payload count ignores the padding. */
	struct fb f = {0};
	eth(&f, 0x0800);
	uint32_t ip = ip4(&f, 17, "192.168.1.10", "8.8.8.8", 0, 0, 7);
	udp(&f, 5353, 53, "abcd");
	ip4_done(&f, ip);
	while (f.n < 60)
		put8(&f, 0);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.port[0], 5353);
	assert_int_equal(p.port[1], 53);
	assert_int_equal(p.l4_payload, 4);
	assert_int_equal(p.l3_len, 32);
	assert_int_equal(p.l3_cap, 60 - 14);
	assert_int_equal(p.cut, 0);
	assert_int_equal(p.tcp_flags, 0);
}

static void
test_eth_ipv4_icmp(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x0800);
	uint32_t ip = ip4(&f, 1, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	icmp_echo(&f);
	ip4_done(&f, ip);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.proto, 1);
	assert_int_equal(p.port[0], 0);
	assert_int_equal(p.port[1], 0);
	assert_int_equal(p.l4_payload, 0);
	assert_int_equal(p.tcp_flags, 0);
	assert_int_equal(p.l3_len, 20 + 20);
}

static void
test_ipv4_options(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x0800);
	uint32_t ip = ip4(&f, 6, "10.0.0.1", "10.0.0.2", 12, 0, 1); /* IHL 8 */
	tcp(&f, 1111, 2222, BWG_TCP_ACK, 0, "xy");
	ip4_done(&f, ip);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.port[0], 1111);
	assert_int_equal(p.port[1], 2222);
	assert_int_equal(p.tcp_flags, BWG_TCP_ACK);
	assert_int_equal(p.l4_payload, 2);
	assert_int_equal(p.l3_len, 32 + 20 + 2);
	assert_int_equal(p.l4_off, 32);
}

static void
test_tcp_options(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x0800);
	uint32_t ip = ip4(&f, 6, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	tcp(&f, 1, 2, BWG_TCP_SYN, 20, "payload"); /* doff 10 */
	ip4_done(&f, ip);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.l4_payload, 7);
}

static void
test_vlan(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x8100);
	vlan_tag(&f, 0xe000 | 100, 0x0800); /* PCP 7: only the 12-bit id counts */
	uint32_t ip = ip4(&f, 17, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	udp(&f, 1000, 2000, "q");
	ip4_done(&f, ip);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.vlan, 100);
	assert_ptr_equal(p.l3, f.b + 18);
	assert_int_equal(p.port[1], 2000);
}

static void
test_qinq(void **state)
{
	(void)state;
	/* 802.1ad outer tag 10, 802.1Q inner tag 20: the innermost id is kept. */
	struct fb f = {0};
	eth(&f, 0x88a8);
	vlan_tag(&f, 10, 0x8100);
	vlan_tag(&f, 20, 0x86dd);
	uint32_t ip = ip6(&f, 17, "2001:db8::1", "2001:db8::2");
	udp(&f, 1000, 2000, "q");
	ip6_done(&f, ip);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.vlan, 20);
	assert_int_equal(p.family, 6);
	assert_ptr_equal(p.l3, f.b + 22);

	/* Old-style 0x9100 outer tag. */
	struct fb g = {0};
	eth(&g, 0x9100);
	vlan_tag(&g, 30, 0x8100);
	vlan_tag(&g, 4095, 0x0800);
	ip = ip4(&g, 17, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	udp(&g, 1, 2, NULL);
	ip4_done(&g, ip);
	assert_int_equal(parse(&p, &g, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.vlan, 4095);
}

static void
test_too_many_vlan_tags(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x8100);
	for (int i = 0; i < 8; i++)
		vlan_tag(&f, (uint16_t)(i + 1), 0x8100);
	vlan_tag(&f, 9, 0x0800);
	uint32_t ip = ip4(&f, 17, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	udp(&f, 1, 2, NULL);
	ip4_done(&f, ip);
	struct bwg_pkt p;
	enum bwg_pkt_result r = parse(&p, &f, BWG_LINK_ETHER, 0);
	assert_int_not_equal(r, BWG_PKT_OK);
	assert_false(bwg_pkt_has_ip(r));
}

static void
test_mpls(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x8847);
	put32(&f, 16u << 12 | 0 << 8 | 64); /* label 16, not bottom */
	put32(&f, 17u << 12 | 1 << 8 | 64); /* label 17, bottom of stack */
	uint32_t ip = ip4(&f, 6, "10.1.1.1", "10.2.2.2", 0, 0, 1);
	tcp(&f, 5000, 443, BWG_TCP_SYN, 0, NULL);
	ip4_done(&f, ip);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_ptr_equal(p.l3, f.b + 22);
	assert_addr4(p.addr[0], "10.1.1.1");
	assert_int_equal(p.port[1], 443);

	/* MPLS carrying IPv6 (the version nibble decides). */
	struct fb g = {0};
	eth(&g, 0x8848);
	put32(&g, 20u << 12 | 1 << 8 | 64);
	ip = ip6(&g, 17, "2001:db8::1", "2001:db8::2");
	udp(&g, 53, 53, "x");
	ip6_done(&g, ip);
	assert_int_equal(parse(&p, &g, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.port[0], 53);
}

static void
test_pppoe(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x8864);
	put8(&f, 0x11);
	put8(&f, 0);
	put16(&f, 0x0042); /* session id */
	put16(&f, 0);      /* length, unused */
	put16(&f, 0x0021); /* PPP: IPv4 */
	uint32_t ip = ip4(&f, 17, "100.64.0.1", "1.1.1.1", 0, 0, 1);
	udp(&f, 3333, 53, "dns");
	ip4_done(&f, ip);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_ptr_equal(p.l3, f.b + 22);
	assert_addr4(p.addr[1], "1.1.1.1");
	assert_int_equal(p.port[0], 3333);

	struct fb g = {0};
	eth(&g, 0x8864);
	put32(&g, 0x11000042);
	put16(&g, 0);
	put16(&g, 0x0057); /* PPP: IPv6 */
	ip = ip6(&g, 6, "2001:db8::a", "2001:db8::b");
	tcp(&g, 1, 2, BWG_TCP_SYN, 0, NULL);
	ip6_done(&g, ip);
	assert_int_equal(parse(&p, &g, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.tcp_flags, BWG_TCP_SYN);

	struct fb h = {0};
	eth(&h, 0x8864);
	put32(&h, 0x11000042);
	put16(&h, 0);
	put16(&h, 0xc021); /* LCP */
	put32(&h, 0x01010004);
	assert_int_equal(parse(&p, &h, BWG_LINK_ETHER, 0), BWG_PKT_NON_IP);
}

static void
test_ipv6_extension_headers(void **state)
{
	(void)state;
	/* hop-by-hop (16 bytes) -> destination options (8) -> fragment (first) -> UDP */
	struct fb f = {0};
	eth(&f, 0x86dd);
	uint32_t ip = ip6(&f, 0, "2001:db8:1::1", "2001:db8:2::2");
	ip6_opts(&f, 60, 1);
	ip6_opts(&f, 44, 0);
	ip6_frag(&f, 17, 0, 1, 0xdeadbeef);
	udp(&f, 546, 547, "dhcp");
	ip6_done(&f, ip);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.proto, 17);
	assert_addr6(p.addr[0], "2001:db8:1::1");
	assert_addr6(p.addr[1], "2001:db8:2::2");
	assert_int_equal(p.port[0], 546);
	assert_int_equal(p.port[1], 547);
	assert_int_equal(p.frag, BWG_FRAG_FIRST);
	assert_int_equal(p.frag_id, 0xdeadbeef);
	assert_int_equal(p.l4_payload, 4);
	assert_int_equal(p.l3_len, 40 + 16 + 8 + 8 + 8 + 4);
	assert_int_equal(p.l4_off, 40 + 16 + 8 + 8);

	/* Without the fragment header: hop-by-hop -> dest-opts -> TCP. */
	struct fb g = {0};
	eth(&g, 0x86dd);
	ip = ip6(&g, 0, "2001:db8:1::1", "2001:db8:2::2");
	ip6_opts(&g, 60, 0);
	ip6_opts(&g, 6, 2);
	tcp(&g, 443, 50000, BWG_TCP_FIN | BWG_TCP_ACK, 0, "z");
	ip6_done(&g, ip);
	assert_int_equal(parse(&p, &g, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.proto, 6);
	assert_int_equal(p.frag, BWG_FRAG_NONE);
	assert_int_equal(p.port[0], 443);
	assert_int_equal(p.tcp_flags, BWG_TCP_FIN | BWG_TCP_ACK);
	assert_int_equal(p.l4_payload, 1);
}

static void
test_ipv6_later_fragment(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x86dd);
	uint32_t ip = ip6(&f, 44, "2001:db8::1", "2001:db8::2");
	ip6_frag(&f, 17, 185, 0, 77);
	put(&f, "middle of someone else's datagram", 33);
	ip6_done(&f, ip);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.frag, BWG_FRAG_LATER);
	assert_int_equal(p.frag_id, 77);
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.port[0], 0);
	assert_int_equal(p.port[1], 0);
	assert_int_equal(p.l4_payload, 0);
}

static void
test_ipv4_fragments(void **state)
{
	(void)state;
	struct bwg_pkt p;

	/* First fragment: MF set, offset 0: carries the ports. */
	struct fb f = {0};
	eth(&f, 0x0800);
	uint32_t ip = ip4(&f, 17, "10.0.0.1", "10.0.0.2", 0, 0x2000, 0xabcd);
	udp(&f, 4000, 4001, "first part");
	ip4_done(&f, ip);
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.frag, BWG_FRAG_FIRST);
	assert_int_equal(p.frag_id, 0xabcd);
	assert_int_equal(p.port[0], 4000);
	assert_int_equal(p.port[1], 4001);

	/* Middle fragment: MF set, offset 185 (1480 bytes). */
	struct fb g = {0};
	eth(&g, 0x0800);
	ip = ip4(&g, 17, "10.0.0.1", "10.0.0.2", 0, 0x2000 | 185, 0xabcd);
	put(&g, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	ip4_done(&g, ip);
	assert_int_equal(parse(&p, &g, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.frag, BWG_FRAG_LATER);
	assert_int_equal(p.frag_id, 0xabcd);
	assert_int_equal(p.port[0], 0);
	assert_int_equal(p.port[1], 0);
	assert_int_equal(p.l4_payload, 0);

	/* Last fragment: MF clear, offset > 0. */
	struct fb h = {0};
	eth(&h, 0x0800);
	ip = ip4(&h, 6, "10.0.0.1", "10.0.0.2", 0, 370, 0x0102);
	put(&h, "tail", 4);
	ip4_done(&h, ip);
	assert_int_equal(parse(&p, &h, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.frag, BWG_FRAG_LATER);
	assert_int_equal(p.frag_id, 0x0102);
	assert_int_equal(p.port[0], 0);

	/* DF alone is not a fragment. */
	struct fb k = {0};
	eth(&k, 0x0800);
	ip = ip4(&k, 6, "10.0.0.1", "10.0.0.2", 0, 0x4000, 9);
	tcp(&k, 1, 2, BWG_TCP_ACK, 0, NULL);
	ip4_done(&k, ip);
	assert_int_equal(parse(&p, &k, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.frag, BWG_FRAG_NONE);
	assert_int_equal(p.port[1], 2);
}

static void
test_ip_in_ip(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x0800);
	uint32_t outer = ip4(&f, 4, "198.51.100.1", "198.51.100.2", 0, 0, 1);
	uint32_t inner = ip4(&f, 17, "10.9.0.1", "10.9.0.2", 0, 0, 2);
	udp(&f, 7000, 7001, "inner");
	ip4_done(&f, inner);
	ip4_done(&f, outer);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.tunnels, 1);
	assert_int_equal(p.family, 4);
	assert_int_equal(p.proto, 17);
	assert_addr4(p.addr[0], "10.9.0.1");
	assert_addr4(p.addr[1], "10.9.0.2");
	assert_int_equal(p.port[0], 7000);
	assert_int_equal(p.port[1], 7001);
	assert_ptr_equal(p.l3, f.b + inner);
	assert_int_equal(p.l3_len, 20 + 8 + 5);
	assert_int_equal(p.l4_payload, 5);
}

static void
test_6in4(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x0800);
	uint32_t outer = ip4(&f, 41, "192.0.2.1", "192.88.99.1", 0, 0, 1);
	uint32_t inner = ip6(&f, 6, "2002:c000:201::1", "2001:db8::80");
	tcp(&f, 51000, 80, BWG_TCP_SYN, 0, NULL);
	ip6_done(&f, inner);
	ip4_done(&f, outer);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.tunnels, 1);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.proto, 6);
	assert_addr6(p.addr[0], "2002:c000:201::1");
	assert_addr6(p.addr[1], "2001:db8::80");
	assert_int_equal(p.port[0], 51000);
	assert_int_equal(p.port[1], 80);
	assert_ptr_equal(p.l3, f.b + inner);
}

static void
test_tunnel_depth(void **state)
{
	(void)state;
	struct bwg_pkt p;
	/* Two tunnels deep is fine. */
	struct fb f = {0};
	eth(&f, 0x0800);
	uint32_t a = ip4(&f, 4, "1.0.0.1", "1.0.0.2", 0, 0, 1);
	uint32_t b = ip4(&f, 41, "2.0.0.1", "2.0.0.2", 0, 0, 2);
	uint32_t c = ip6(&f, 17, "2001:db8::1", "2001:db8::2");
	udp(&f, 10, 20, "x");
	ip6_done(&f, c);
	ip4_done(&f, b);
	ip4_done(&f, a);
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.tunnels, 2);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.port[1], 20);

	/* Three is refused. */
	struct fb g = {0};
	eth(&g, 0x0800);
	a = ip4(&g, 4, "1.0.0.1", "1.0.0.2", 0, 0, 1);
	b = ip4(&g, 4, "2.0.0.1", "2.0.0.2", 0, 0, 2);
	c = ip4(&g, 4, "3.0.0.1", "3.0.0.2", 0, 0, 3);
	uint32_t d = ip4(&g, 17, "4.0.0.1", "4.0.0.2", 0, 0, 4);
	udp(&g, 10, 20, "x");
	ip4_done(&g, d);
	ip4_done(&g, c);
	ip4_done(&g, b);
	ip4_done(&g, a);
	assert_int_equal(parse(&p, &g, BWG_LINK_ETHER, 0), BWG_PKT_TUNNEL_TOO_DEEP);
	assert_false(bwg_pkt_has_ip(BWG_PKT_TUNNEL_TOO_DEEP));
}

static void
test_linux_cooked(void **state)
{
	(void)state;
	struct bwg_pkt p;
	/* v1: packet type, ARPHRD, address length, 8 address bytes, protocol. */
	struct fb f = {0};
	put16(&f, 0);
	put16(&f, 1);
	put16(&f, 6);
	put(&f, "\x02\0\0\0\0\x01\0\0", 8);
	put16(&f, 0x0800);
	uint32_t ip = ip4(&f, 17, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	udp(&f, 1234, 53, "q");
	ip4_done(&f, ip);
	assert_int_equal(parse(&p, &f, BWG_LINK_LINUX_SLL, 0), BWG_PKT_OK);
	assert_ptr_equal(p.l3, f.b + 16);
	assert_int_equal(p.port[0], 1234);

	/* v1 with an 802.1Q tag behind it. */
	struct fb v = {0};
	put16(&v, 0);
	put16(&v, 1);
	put16(&v, 6);
	put(&v, "\x02\0\0\0\0\x01\0\0", 8);
	put16(&v, 0x8100);
	vlan_tag(&v, 42, 0x0800);
	ip = ip4(&v, 17, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	udp(&v, 1234, 53, "q");
	ip4_done(&v, ip);
	assert_int_equal(parse(&p, &v, BWG_LINK_LINUX_SLL, 0), BWG_PKT_OK);
	assert_int_equal(p.vlan, 42);

	/* v2: protocol, reserved, ifindex, ARPHRD, packet type, address length, address. */
	struct fb g = {0};
	put16(&g, 0x86dd);
	put16(&g, 0);
	put32(&g, 3);
	put16(&g, 1);
	put8(&g, 4);
	put8(&g, 6);
	put(&g, "\x02\0\0\0\0\x01\0\0", 8);
	ip = ip6(&g, 17, "fe80::1", "ff02::fb");
	udp(&g, 5353, 5353, "mdns");
	ip6_done(&g, ip);
	assert_int_equal(parse(&p, &g, BWG_LINK_LINUX_SLL2, 0), BWG_PKT_OK);
	assert_ptr_equal(p.l3, g.b + 20);
	assert_int_equal(p.family, 6);
	assert_addr6(p.addr[1], "ff02::fb");
	assert_int_equal(p.port[1], 5353);
}

static void
test_raw(void **state)
{
	(void)state;
	struct bwg_pkt p;
	struct fb f = {0};
	uint32_t ip = ip4(&f, 6, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	tcp(&f, 1, 2, BWG_TCP_RST, 0, NULL);
	ip4_done(&f, ip);
	assert_int_equal(parse(&p, &f, BWG_LINK_RAW, 0), BWG_PKT_OK);
	assert_ptr_equal(p.l3, f.b);
	assert_int_equal(p.tcp_flags, BWG_TCP_RST);

	struct fb g = {0};
	ip = ip6(&g, 58, "2001:db8::1", "2001:db8::2");
	put(&g, "\x80\0\0\0\0\1\0\1", 8); /* echo request */
	ip6_done(&g, ip);
	assert_int_equal(parse(&p, &g, BWG_LINK_RAW, 0), BWG_PKT_OK);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.proto, 58);
	assert_int_equal(p.port[0], 0);

	/* Neither 4 nor 6 in the version nibble. */
	g.b[0] = 0x50;
	enum bwg_pkt_result r = parse(&p, &g, BWG_LINK_RAW, 0);
	assert_int_not_equal(r, BWG_PKT_OK);
	assert_false(bwg_pkt_has_ip(r));
}

static void
null_frame(struct fb *f, const uint8_t fam[4], int v6)
{
	put(f, fam, 4);
	uint32_t ip;
	if (v6) {
		ip = ip6(f, 17, "2001:db8::1", "2001:db8::2");
		udp(f, 1, 2, "x");
		ip6_done(f, ip);
	} else {
		ip = ip4(f, 17, "127.0.0.1", "127.0.0.2", 0, 0, 1);
		udp(f, 1, 2, "x");
		ip4_done(f, ip);
	}
}

static void
test_bsd_null(void **state)
{
	(void)state;
	static const struct {
		uint8_t fam[4];
		int v6;
	} cases[] = {
		{{2, 0, 0, 0}, 0},  /* AF_INET, little-endian writer */
		{{0, 0, 0, 2}, 0},  /* AF_INET, big-endian writer */
		{{24, 0, 0, 0}, 1}, /* AF_INET6 as NetBSD/OpenBSD number it */
		{{28, 0, 0, 0}, 1}, /* FreeBSD */
		{{30, 0, 0, 0}, 1}, /* macOS */
		{{0, 0, 0, 30}, 1},
		{{0, 0, 0, 24}, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fb f = {0};
		null_frame(&f, cases[i].fam, cases[i].v6);
		struct bwg_pkt p;
		assert_int_equal(parse(&p, &f, BWG_LINK_NULL, 0), BWG_PKT_OK);
		assert_int_equal(p.family, cases[i].v6 ? 6 : 4);
		assert_ptr_equal(p.l3, f.b + 4);
		assert_int_equal(p.port[1], 2);
	}
	struct fb f = {0};
	null_frame(&f, (const uint8_t[4]){7, 0, 0, 0}, 0);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_NULL, 0), BWG_PKT_NON_IP);
}

static void
test_arp_is_non_ip(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x0806);
	put(&f, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
	for (int i = 0; i < 20; i++)
		put8(&f, (uint8_t)i);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_NON_IP);
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, BWG_PKT_SNIFF_IP), BWG_PKT_NON_IP);
	assert_false(bwg_pkt_has_ip(BWG_PKT_NON_IP));
}

static void
test_sniff_ip(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x1234);
	uint32_t ip = ip4(&f, 17, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	udp(&f, 111, 222, "x");
	ip4_done(&f, ip);
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_NON_IP);
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, BWG_PKT_SNIFF_IP), BWG_PKT_OK);
	assert_int_equal(p.port[0], 111);
	assert_int_equal(p.port[1], 222);
	assert_ptr_equal(p.l3, f.b + 14);
}

/* ---- malformed frames ---------------------------------------------------------------- */

static void
test_ipv4_bad_ihl(void **state)
{
	(void)state;
	struct fb f = {0};
	eth_ip4_tcp(&f, BWG_TCP_SYN, NULL);
	f.b[14] = 0x44; /* IHL 4 */
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_IPV4_BAD_HEADER);
	assert_false(bwg_pkt_has_ip(BWG_PKT_IPV4_BAD_HEADER));
	f.b[14] = 0x40;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_IPV4_BAD_HEADER);
	/* IHL past the captured bytes. */
	f.b[14] = 0x4f;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_IPV4_BAD_HEADER);
}

static void
test_ipv4_bad_length(void **state)
{
	(void)state;
	struct fb f = {0};
	eth_ip4_tcp(&f, BWG_TCP_SYN, "abc");
	struct bwg_pkt p;
	/* Total length beyond the frame on the wire. */
	set16(&f, 16, (uint16_t)(f.n - 14 + 1));
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_IPV4_BAD_LENGTH);
	/* ...but fine when the capture was cut and the wire had it. */
	assert_int_equal(bwg_pkt_parse(&p, f.b, f.n, f.n + 1, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	assert_int_equal(p.cut, 1);
	assert_int_equal(p.l3_len, f.n - 14);
	/* Total length below the header length. */
	set16(&f, 16, 19);
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_IPV4_BAD_LENGTH);
	assert_false(bwg_pkt_has_ip(BWG_PKT_IPV4_BAD_LENGTH));
}

static void
test_ipv6_bad_length(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x86dd);
	uint32_t ip = ip6(&f, 17, "2001:db8::1", "2001:db8::2");
	udp(&f, 1, 2, "abc");
	ip6_done(&f, ip);
	set16(&f, ip + 4, 12); /* one byte more than there is */
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_IPV6_BAD_HEADER);
	assert_false(bwg_pkt_has_ip(BWG_PKT_IPV6_BAD_HEADER));
}

static void
test_ipv6_bad_extension(void **state)
{
	(void)state;
	/* A destination-options header claiming more bytes than the datagram holds. */
	struct fb f = {0};
	eth(&f, 0x86dd);
	uint32_t ip = ip6(&f, 60, "2001:db8::1", "2001:db8::2");
	ip6_opts(&f, 17, 0);
	udp(&f, 1, 2, "abc");
	ip6_done(&f, ip);
	f.b[ip + 41] = 5;
	struct bwg_pkt p;
	assert_int_equal(parse(&p, &f, BWG_LINK_ETHER, 0), BWG_PKT_IPV6_BAD_EXTENSION);

	/* An endless chain of hop-by-hop headers is cut off. */
	struct fb g = {0};
	eth(&g, 0x86dd);
	ip = ip6(&g, 0, "2001:db8::1", "2001:db8::2");
	for (int i = 0; i < 20; i++)
		ip6_opts(&g, i < 19 ? 0 : 59, 0);
	ip6_done(&g, ip);
	assert_int_equal(parse(&p, &g, BWG_LINK_ETHER, 0), BWG_PKT_IPV6_BAD_EXTENSION);
	assert_false(bwg_pkt_has_ip(BWG_PKT_IPV6_BAD_EXTENSION));
}

static void
test_tcp_header_short(void **state)
{
	(void)state;
	/* The IP datagram ends 10 bytes into the TCP header: the flow is known (ports 0,
	 * as ndpiReader keys it), the frame is malformed. */
	struct fb f = {0};
	eth(&f, 0x0800);
	uint32_t ip = ip4(&f, 6, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	put16(&f, 1234);
	put16(&f, 80);
	put(&f, "\0\0\0\0\0\0", 6);
	ip4_done(&f, ip);
	struct bwg_pkt p;
	enum bwg_pkt_result r = parse(&p, &f, BWG_LINK_ETHER, 0);
	assert_int_equal(r, BWG_PKT_L4_TRUNCATED);
	assert_true(bwg_pkt_has_ip(r));
	assert_int_equal(p.family, 4);
	assert_int_equal(p.proto, 6);
	assert_addr4(p.addr[0], "10.0.0.1");
	assert_int_equal(p.port[0], 0);
	assert_int_equal(p.port[1], 0);
	assert_int_equal(p.l4_payload, 0);

	/* Same for a UDP header of 6 bytes. */
	struct fb g = {0};
	eth(&g, 0x0800);
	ip = ip4(&g, 17, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	put(&g, "\x04\xd2\x00\x35\x00\x08", 6);
	ip4_done(&g, ip);
	assert_int_equal(parse(&p, &g, BWG_LINK_ETHER, 0), BWG_PKT_L4_TRUNCATED);
	assert_int_equal(p.port[0], 0);
	assert_int_equal(p.port[1], 0);
}

static void
test_tcp_bad_offset(void **state)
{
	(void)state;
	struct fb f = {0};
	eth_ip4_tcp(&f, BWG_TCP_SYN, "data");
	f.b[14 + 20 + 12] = 4 << 4; /* doff 4 words */
	struct bwg_pkt p;
	enum bwg_pkt_result r = parse(&p, &f, BWG_LINK_ETHER, 0);
	assert_int_equal(r, BWG_PKT_TCP_BAD_OFFSET);
	assert_true(bwg_pkt_has_ip(r));
	assert_int_equal(p.port[0], 40000);
	assert_int_equal(p.port[1], 80);
	assert_int_equal(p.tcp_flags, BWG_TCP_SYN);

	/* Options running past the datagram: truncated, ports kept. */
	f.b[14 + 20 + 12] = 15 << 4;
	r = parse(&p, &f, BWG_LINK_ETHER, 0);
	assert_int_equal(r, BWG_PKT_L4_TRUNCATED);
	assert_int_equal(p.port[0], 40000);
}

static void
test_result_names(void **state)
{
	(void)state;
	for (int i = 0; i < BWG_PKT_RESULT_MAX; i++)
		assert_non_null(bwg_pkt_result_names[i]);
	assert_string_equal(bwg_pkt_result_names[BWG_PKT_OK], "ok");
	assert_string_equal(bwg_pkt_result_names[BWG_PKT_NON_IP], "non_ip");
	assert_string_equal(bwg_pkt_result_names[BWG_PKT_L4_TRUNCATED], "l4_truncated");
	assert_string_equal(bwg_pkt_result_names[BWG_PKT_TCP_BAD_OFFSET], "tcp_bad_offset");
	assert_true(bwg_pkt_has_ip(BWG_PKT_OK));
	assert_false(bwg_pkt_has_ip(BWG_PKT_L2_TRUNCATED));
}

/* ---- every prefix of valid frames ---------------------------------------------------- */

struct sample {
	const char *name;
	struct fb f;
	enum bwg_link link;
	uint32_t hdr_end; /* captured bytes the parser needs to return OK */
	uint32_t ip_end;  /* end of the innermost IP header (+ extension headers) */
	int has_ports;    /* TCP or UDP with a full header */
};

static void
make_samples(struct sample *s, size_t *n)
{
	size_t k = 0;
	uint32_t ip, in;

#define NEXT(nm, lk) (s[k] = (struct sample){.name = nm, .link = lk}, &s[k].f)
#define DONE(ports)                                                                                \
	do {                                                                                       \
		s[k].hdr_end = s[k].f.l4_end;                                                      \
		s[k].has_ports = ports;                                                            \
		k++;                                                                               \
	} while (0)

	struct fb *f = NEXT("eth ipv4 tcp", BWG_LINK_ETHER);
	eth_ip4_tcp(f, BWG_TCP_ACK, "hello");
	s[k].ip_end = 34;
	DONE(1);

	f = NEXT("vlan ipv4 opts tcp opts", BWG_LINK_ETHER);
	eth(f, 0x8100);
	vlan_tag(f, 5, 0x0800);
	ip = ip4(f, 6, "10.0.0.1", "10.0.0.2", 8, 0, 1);
	s[k].ip_end = f->n;
	tcp(f, 1, 2, BWG_TCP_SYN, 12, "abc");
	ip4_done(f, ip);
	DONE(1);

	f = NEXT("qinq ipv6 ext frag udp", BWG_LINK_ETHER);
	eth(f, 0x88a8);
	vlan_tag(f, 1, 0x8100);
	vlan_tag(f, 2, 0x86dd);
	ip = ip6(f, 0, "2001:db8::1", "2001:db8::2");
	ip6_opts(f, 60, 1);
	ip6_opts(f, 44, 0);
	ip6_frag(f, 17, 0, 1, 99);
	s[k].ip_end = f->n;
	udp(f, 3, 4, "payload");
	ip6_done(f, ip);
	DONE(1);

	f = NEXT("mpls ipv4 icmp", BWG_LINK_ETHER);
	eth(f, 0x8847);
	put32(f, 1u << 12);
	put32(f, 2u << 12 | 1 << 8);
	ip = ip4(f, 1, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	s[k].ip_end = f->n;
	icmp_echo(f);
	ip4_done(f, ip);
	DONE(0);

	f = NEXT("pppoe ipv4 udp", BWG_LINK_ETHER);
	eth(f, 0x8864);
	put32(f, 0x11000001);
	put16(f, 0);
	put16(f, 0x0021);
	ip = ip4(f, 17, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	s[k].ip_end = f->n;
	udp(f, 3, 4, "p");
	ip4_done(f, ip);
	DONE(1);

	f = NEXT("ipv4 later fragment", BWG_LINK_ETHER);
	eth(f, 0x0800);
	ip = ip4(f, 17, "10.0.0.1", "10.0.0.2", 0, 100, 5);
	s[k].ip_end = f->n;
	put(f, "fragmentdata", 12);
	ip4_done(f, ip);
	DONE(0);

	f = NEXT("ipv6 later fragment", BWG_LINK_ETHER);
	eth(f, 0x86dd);
	ip = ip6(f, 44, "2001:db8::1", "2001:db8::2");
	ip6_frag(f, 6, 10, 1, 5);
	s[k].ip_end = f->n;
	put(f, "fragmentdata", 12);
	ip6_done(f, ip);
	DONE(0);

	f = NEXT("ip-in-ip udp", BWG_LINK_ETHER);
	eth(f, 0x0800);
	ip = ip4(f, 4, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	in = ip4(f, 17, "10.1.0.1", "10.1.0.2", 4, 0, 2);
	s[k].ip_end = f->n;
	udp(f, 5, 6, "tunnelled");
	ip4_done(f, in);
	ip4_done(f, ip);
	DONE(1);

	f = NEXT("6in4 tcp", BWG_LINK_ETHER);
	eth(f, 0x0800);
	ip = ip4(f, 41, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	in = ip6(f, 6, "2001:db8::1", "2001:db8::2");
	s[k].ip_end = f->n;
	tcp(f, 7, 8, BWG_TCP_SYN, 0, "x");
	ip6_done(f, in);
	ip4_done(f, ip);
	DONE(1);

	f = NEXT("sll ipv4 tcp", BWG_LINK_LINUX_SLL);
	put(f, "\0\0\0\1\0\6\2\0\0\0\0\1\0\0", 14);
	put16(f, 0x0800);
	ip = ip4(f, 6, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	s[k].ip_end = f->n;
	tcp(f, 9, 10, BWG_TCP_ACK, 0, "sll");
	ip4_done(f, ip);
	DONE(1);

	f = NEXT("sll2 ipv6 udp", BWG_LINK_LINUX_SLL2);
	put16(f, 0x86dd);
	put(f, "\0\0\0\0\0\3\0\1\4\6\2\0\0\0\0\1\0\0", 18);
	ip = ip6(f, 17, "2001:db8::1", "2001:db8::2");
	s[k].ip_end = f->n;
	udp(f, 11, 12, "sll2");
	ip6_done(f, ip);
	DONE(1);

	f = NEXT("raw ipv6 tcp", BWG_LINK_RAW);
	ip = ip6(f, 6, "2001:db8::1", "2001:db8::2");
	s[k].ip_end = f->n;
	tcp(f, 13, 14, BWG_TCP_ACK, 4, "raw");
	ip6_done(f, ip);
	DONE(1);

	f = NEXT("null ipv4 udp", BWG_LINK_NULL);
	put(f, "\0\0\0\2", 4);
	ip = ip4(f, 17, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	s[k].ip_end = f->n;
	udp(f, 15, 16, "null");
	ip4_done(f, ip);
	DONE(1);
#undef NEXT
#undef DONE
	*n = k;
}

static void
test_every_prefix(void **state)
{
	(void)state;
	static struct sample s[16];
	size_t n;
	make_samples(s, &n);
	for (size_t i = 0; i < n; i++) {
		const struct fb *f = &s[i].f;
		struct bwg_pkt p;
		/* The whole frame parses. */
		assert_int_equal(bwg_pkt_parse(&p, f->b, f->n, f->n, s[i].link, 0), BWG_PKT_OK);
		assert_int_equal(p.cut, 0);
		for (uint32_t len = 0; len <= f->n; len++) {
			uint8_t *buf = malloc(len ? len : 1);
			assert_non_null(buf);
			memcpy(buf, f->b, len);

			/* A frame this short on the wire: the IP length no longer fits. */
			enum bwg_pkt_result r = bwg_pkt_parse(&p, buf, len, len, s[i].link, 0);
			if (len < f->n) {
				if (r == BWG_PKT_OK || r == BWG_PKT_NON_IP)
					fail_msg("%s: prefix %u of %u (wire %u) returned %s",
						 s[i].name, len, f->n, len, bwg_pkt_result_names[r]);
			} else {
				assert_int_equal(r, BWG_PKT_OK);
			}

			/* A capture cut at len of the whole frame: OK once the headers are in. */
			r = bwg_pkt_parse(&p, buf, len, f->n, s[i].link, 0);
			if (len < s[i].hdr_end) {
				if (r == BWG_PKT_OK || r == BWG_PKT_NON_IP)
					fail_msg("%s: prefix %u of %u (headers end at %u) returned %s",
						 s[i].name, len, f->n, s[i].hdr_end,
						 bwg_pkt_result_names[r]);
				if (len < s[i].ip_end && bwg_pkt_has_ip(r))
					fail_msg("%s: prefix %u cuts the IP header, yet %s",
						 s[i].name, len, bwg_pkt_result_names[r]);
			} else {
				if (r != BWG_PKT_OK)
					fail_msg("%s: prefix %u of %u returned %s", s[i].name, len,
						 f->n, bwg_pkt_result_names[r]);
				assert_int_equal(p.cut, len < f->n);
				assert_ptr_equal(p.l3, buf + f->l3);
				assert_int_equal(p.l3_len, len - f->l3);
				assert_int_equal(p.l3_cap, len - f->l3);
				assert_int_equal(p.l4_payload,
						 s[i].has_ports ? len - s[i].hdr_end : 0);
			}
			free(buf);
		}
	}
}

/* ---- the inline path against the whole parser ------------------------------------------- */

static void
assert_same_parse(const uint8_t *b, uint32_t caplen, uint32_t wire, enum bwg_link link,
		  const char *what)
{
	struct bwg_pkt a, z;
	memset(&a, 0xa5, sizeof(a));
	memset(&z, 0xa5, sizeof(z));
	enum bwg_pkt_result ra = bwg_pkt_parse(&a, b, caplen, wire, link, 0);
	enum bwg_pkt_result rz = bwg_pkt_parse_full(&z, b, caplen, wire, link, 0);
	if (ra != rz)
		fail_msg("%s (cap %u, wire %u): inline %s, full %s", what, caplen, wire,
			 bwg_pkt_result_names[ra], bwg_pkt_result_names[rz]);
	if (!bwg_pkt_has_ip(ra))
		return;
	bool same = memcmp(a.addr, z.addr, sizeof(a.addr)) == 0 &&
		    memcmp(a.port, z.port, sizeof(a.port)) == 0 && a.vlan == z.vlan &&
		    a.proto == z.proto && a.family == z.family && a.l3 == z.l3 &&
		    a.l3_len == z.l3_len && a.l3_cap == z.l3_cap && a.cut == z.cut &&
		    a.l4_off == z.l4_off && a.tcp_flags == z.tcp_flags && a.frag == z.frag &&
		    a.tunnels == z.tunnels && a.l4_payload == z.l4_payload &&
		    (a.frag == BWG_FRAG_NONE || a.frag_id == z.frag_id);
	if (!same)
		fail_msg("%s (cap %u, wire %u): inline and full parses differ", what, caplen, wire);
}

/*
 * The inline path (the common frame) and the whole parser agree on every frame: the
 * samples, frames of the common shapes, every prefix of them under three wire lengths,
 * and each of their first 80 bytes set to a few telling values.
 */
static void
test_inline_equals_full(void **state)
{
	(void)state;
	static struct sample s[24];
	size_t n;
	make_samples(s, &n);
	struct fb *f;
	uint32_t ip;
#define ADD(nm) (s[n] = (struct sample){.name = nm, .link = BWG_LINK_ETHER}, &s[n++].f)
	f = ADD("eth ipv4 udp");
	eth(f, 0x0800);
	ip = ip4(f, 17, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	udp(f, 5000, 53, "query-ish payload");
	ip4_done(f, ip);
	f = ADD("eth ipv4 udp padded");
	eth(f, 0x0800);
	ip = ip4(f, 17, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	udp(f, 5000, 53, NULL);
	ip4_done(f, ip);
	while (f->n < 60)
		put8(f, 0);
	f = ADD("vlan ipv4 tcp syn");
	eth(f, 0x8100);
	vlan_tag(f, 0x2007, 0x0800);
	ip = ip4(f, 6, "10.0.0.1", "10.0.0.2", 0, 0x4000, 1);
	tcp(f, 40000, 443, BWG_TCP_SYN, 12, NULL);
	ip4_done(f, ip);
	f = ADD("eth ipv6 tcp");
	eth(f, 0x86dd);
	ip = ip6(f, 6, "2001:db8::1", "2001:db8::2");
	tcp(f, 40000, 443, BWG_TCP_ACK | BWG_TCP_FIN, 0, "data data");
	ip6_done(f, ip);
	f = ADD("vlan ipv6 udp");
	eth(f, 0x8100);
	vlan_tag(f, 9, 0x86dd);
	ip = ip6(f, 17, "2001:db8::1", "2001:db8::2");
	udp(f, 443, 50000, "quic-ish bytes here");
	ip6_done(f, ip);
	f = ADD("eth ipv4 icmp");
	eth(f, 0x0800);
	ip = ip4(f, 1, "10.0.0.1", "10.0.0.2", 0, 0, 1);
	icmp_echo(f);
	ip4_done(f, ip);
#undef ADD
	static const uint8_t values[] = {0x00, 0x01, 0x05, 0x06, 0x11, 0x14, 0x20, 0x40,
					 0x45, 0x50, 0x60, 0x81, 0x86, 0xdd, 0xf0, 0xff};
	for (size_t i = 0; i < n; i++) {
		const struct fb *g = &s[i].f;
		for (uint32_t len = 0; len <= g->n; len++) {
			assert_same_parse(g->b, len, len, s[i].link, s[i].name);
			assert_same_parse(g->b, len, g->n, s[i].link, s[i].name);
			assert_same_parse(g->b, len, g->n + 100, s[i].link, s[i].name);
		}
		struct fb m = *g;
		for (uint32_t pos = 0; pos < 80 && pos < g->n; pos++)
			for (size_t v = 0; v < sizeof(values); v++) {
				m.b[pos] = values[v];
				assert_same_parse(m.b, m.n, m.n, s[i].link, s[i].name);
				assert_same_parse(m.b, m.n, m.n + 7, s[i].link, s[i].name);
				m.b[pos] = g->b[pos];
			}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_ipv4_tcp),
		cmocka_unit_test(test_eth_ipv4_udp_padded),
		cmocka_unit_test(test_eth_ipv4_icmp),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_tcp_options),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_qinq),
		cmocka_unit_test(test_too_many_vlan_tags),
		cmocka_unit_test(test_mpls),
		cmocka_unit_test(test_pppoe),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_ipv6_later_fragment),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ip_in_ip),
		cmocka_unit_test(test_6in4),
		cmocka_unit_test(test_tunnel_depth),
		cmocka_unit_test(test_linux_cooked),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_bsd_null),
		cmocka_unit_test(test_arp_is_non_ip),
		cmocka_unit_test(test_sniff_ip),
		cmocka_unit_test(test_ipv4_bad_ihl),
		cmocka_unit_test(test_ipv4_bad_length),
		cmocka_unit_test(test_ipv6_bad_length),
		cmocka_unit_test(test_ipv6_bad_extension),
		cmocka_unit_test(test_tcp_header_short),
		cmocka_unit_test(test_tcp_bad_offset),
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_inline_equals_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
