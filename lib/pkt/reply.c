/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frames the gate sends of its own, built from a frame it dropped (worker threads, and
 * the offline tool): TCP resets for `reset` rules, and a block rule's notice — an HTTP
 * answer toward the client of a plain-HTTP request, sequenced so the client's stack
 * takes it as the server's (seq = the request's ack, ack = the request's end), with FIN.
 *
 * Only plain Ethernet [VLAN...] IPv4/IPv6 TCP frames are answered: the L2 header is
 * copied as it is, which is right only when nothing in it counts bytes (not MPLS, not
 * PPPoE), and no tunnel, fragment or IPv6 extension header may stand in the way. The
 * pipeline's own parser finds the headers. No heap, no I/O: the caller owns `out`.
 */

#include <string.h>

#include "bwg_pkt.h"

#define IP4_HDR 20
#define IP6_HDR 40
#define TCP_HDR 20
#define TCP_PSH 0x08

static inline uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

bool
bwg_pkt_tcp_seg(struct bwg_tcp_seg *s, const uint8_t *frame, uint32_t len)
{
	struct bwg_pkt p;
	if (bwg_pkt_parse(&p, frame, len, len, BWG_LINK_ETHER, 0) != BWG_PKT_OK ||
	    p.proto != 6 || p.tunnels || p.frag != BWG_FRAG_NONE || p.cut)
		return false;
	uint32_t l2 = (uint32_t)(p.l3 - frame);
	uint16_t type = (uint16_t)(p.l3[-2] << 8 | p.l3[-1]);
	if (l2 < 14 || type != (p.family == 4 ? 0x0800 : 0x86dd) ||
	    (p.family == 6 && p.l4_off != IP6_HDR))
		return false;
	const uint8_t *tcp = p.l3 + p.l4_off;
	s->frame = frame;
	s->l2_len = (uint16_t)l2;
	s->family = p.family;
	s->ip = p.l3;
	s->tcp = tcp;
	s->flags = p.tcp_flags;
	s->seq = rd32(tcp + 4);
	s->ack = rd32(tcp + 8);
	s->payload = p.l3 + p.l3_len - p.l4_payload;
	s->payload_len = p.l4_payload;
	s->seg_len = p.l4_payload + !!(p.tcp_flags & BWG_TCP_SYN) + !!(p.tcp_flags & BWG_TCP_FIN);
	return true;
}

static uint32_t
sum16(uint32_t sum, const uint8_t *p, uint32_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t
fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * A TCP segment from one end of s's connection to the other: `back` swaps MACs,
 * addresses and ports (toward s's sender). Returns the frame's length, 0 if cap is short.
 */
static uint32_t
segment(const struct bwg_tcp_seg *s, bool back, uint32_t seq, uint32_t ack, uint8_t flags,
	uint16_t window, const uint8_t *data, uint32_t n, uint8_t *out, uint32_t cap)
{
	uint32_t iph = s->family == 4 ? IP4_HDR : IP6_HDR;
	uint32_t len = s->l2_len + iph + TCP_HDR + n;
	if (len > cap || iph + TCP_HDR + n > 0xffff)
		return 0;
	memcpy(out, s->frame, s->l2_len);
	if (back) {
		memcpy(out, s->frame + 6, 6);
		memcpy(out + 6, s->frame, 6);
	}
	uint8_t *ip = out + s->l2_len, *tcp = ip + iph;
	const uint8_t *src, *dst;
	uint32_t alen = s->family == 4 ? 4 : 16;
	if (s->family == 4) {
		src = s->ip + 12, dst = s->ip + 16;
		memset(ip, 0, IP4_HDR);
		ip[0] = 0x45;
		wr16(ip + 2, IP4_HDR + TCP_HDR + n);
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, back ? dst : src, 4);
		memcpy(ip + 16, back ? src : dst, 4);
		wr16(ip + 10, fold(sum16(0, ip, IP4_HDR)));
	} else {
		src = s->ip + 8, dst = s->ip + 24;
		memset(ip, 0, IP6_HDR);
		ip[0] = 0x60;
		wr16(ip + 4, TCP_HDR + n);
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, back ? dst : src, 16);
		memcpy(ip + 24, back ? src : dst, 16);
	}
	memset(tcp, 0, TCP_HDR);
	memcpy(tcp, s->tcp + (back ? 2 : 0), 2);
	memcpy(tcp + 2, s->tcp + (back ? 0 : 2), 2);
	wr32(tcp + 4, seq);
	wr32(tcp + 8, ack);
	tcp[12] = (TCP_HDR / 4) << 4;
	tcp[13] = flags;
	wr16(tcp + 14, window);
	if (n)
		memcpy(tcp + TCP_HDR, data, n);
	/* Pseudo-header: addresses, protocol, TCP length. */
	uint32_t sum = sum16(0, ip + (s->family == 4 ? 12 : 8), 2 * alen);
	sum += 6 + TCP_HDR + n;
	wr16(tcp + 16, fold(sum16(sum, tcp, TCP_HDR + n)));
	return len;
}

uint32_t
bwg_pkt_tcp_reset(const struct bwg_tcp_seg *s, bool back, uint8_t *out, uint32_t cap)
{
	bool had_ack = s->flags & BWG_TCP_ACK;
	/* Toward the sender (RFC 793's reset generation): seq from the frame's ack,
	 * acknowledging the frame. Toward the receiver, which never saw the frame: the
	 * frame's own sequence number, what that end expects next. */
	if (back)
		return segment(s, true, had_ack ? s->ack : 0, s->seq + s->seg_len,
			       BWG_TCP_RST | BWG_TCP_ACK, 0, NULL, 0, out, cap);
	return segment(s, false, s->seq, had_ack ? s->ack : 0,
		       (uint8_t)(BWG_TCP_RST | (had_ack ? BWG_TCP_ACK : 0)), 0, NULL, 0, out, cap);
}

uint32_t
bwg_pkt_tcp_answer(const struct bwg_tcp_seg *s, const uint8_t *data, uint32_t n, uint8_t *out,
		   uint32_t cap)
{
	/* As the other end would: its next sequence number is what the frame acknowledged. */
	return segment(s, true, s->ack, s->seq + s->seg_len,
		       BWG_TCP_FIN | TCP_PSH | BWG_TCP_ACK, 8192, data, n, out, cap);
}

bool
bwg_pkt_http_request(const uint8_t *p, uint32_t n)
{
	static const char *const methods[] = {"GET ", "POST ", "HEAD ", "PUT ", "DELETE ",
					      "OPTIONS ", "PATCH "};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t m = strlen(methods[i]);
		if (n > m && memcmp(p, methods[i], m) == 0)
			return true;
	}
	return false;
}
