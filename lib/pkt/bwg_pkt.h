/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_PKT_H
#define BWG_PKT_H

/*
 * Frame parsing: link layer -> VLAN/QinQ/MPLS/PPPoE -> IPv4/IPv6 (options, extension
 * headers, fragments, IP-in-IP tunnels) -> TCP/UDP/ICMP ports.
 *
 * Called on worker threads for every frame. It never reads past `caplen`, never
 * allocates and never logs: a frame it cannot make sense of gets a named result that
 * the caller counts.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Link types of the frames handed to the parser (pcap front-end maps DLTs to these). */
enum bwg_link {
	BWG_LINK_ETHER,
	BWG_LINK_LINUX_SLL,  /* Linux cooked v1, 16-byte header */
	BWG_LINK_LINUX_SLL2, /* Linux cooked v2, 20-byte header */
	BWG_LINK_RAW,        /* IPv4 or IPv6 header first */
	BWG_LINK_NULL,       /* BSD loopback: 4-byte address family, either byte order */
	BWG_LINK_MAX,
};

/*
 * Parse outcomes. OK and NON_IP are not errors; every other result is a malformed frame.
 * From L4_TRUNCATED on, the IP header was sound and struct bwg_pkt is filled (a TCP or
 * UDP header too short to hold ports keys the flow with ports 0, as ndpiReader does), so
 * the frame can still be attributed to its flow.
 */
#define BWG_PKT_RESULTS(X)                                                                         \
	X(OK, "ok")                                                                                \
	X(NON_IP, "non_ip")                                                                        \
	X(L2_TRUNCATED, "l2_truncated")                                                            \
	X(IPV4_BAD_HEADER, "ipv4_bad_header")                                                      \
	X(IPV4_BAD_LENGTH, "ipv4_bad_length")                                                      \
	X(IPV6_BAD_HEADER, "ipv6_bad_header")                                                      \
	X(IPV6_BAD_EXTENSION, "ipv6_bad_extension")                                                \
	X(TUNNEL_TOO_DEEP, "tunnel_too_deep")                                                      \
	X(L4_TRUNCATED, "l4_truncated")                                                            \
	X(TCP_BAD_OFFSET, "tcp_bad_offset")

enum bwg_pkt_result {
#define X(id, name) BWG_PKT_##id,
	BWG_PKT_RESULTS(X)
#undef X
	BWG_PKT_RESULT_MAX,
};

extern const char *const bwg_pkt_result_names[BWG_PKT_RESULT_MAX];

/* Whether a parse result left a usable struct bwg_pkt. */
static inline int
bwg_pkt_has_ip(enum bwg_pkt_result r)
{
	return r == BWG_PKT_OK || r >= BWG_PKT_L4_TRUNCATED;
}

enum bwg_pkt_frag {
	BWG_FRAG_NONE,
	BWG_FRAG_FIRST, /* offset 0, more fragments follow: carries the L4 header */
	BWG_FRAG_LATER, /* offset > 0: no L4 header */
};

#define BWG_TCP_FIN 0x01
#define BWG_TCP_SYN 0x02
#define BWG_TCP_RST 0x04
#define BWG_TCP_ACK 0x10

/* What the pipeline needs to know about one frame. Addresses of IPv4 use the first
 * 4 bytes of the 16 and leave the rest zero, so keys compare as plain bytes. */
struct bwg_pkt {
	/* The flow key, laid out as struct bwg_flow's so that it compares as five words. */
	uint8_t addr[2][16];
	uint16_t port[2]; /* host byte order; 0 when the protocol has none */
	uint16_t vlan;    /* innermost 802.1Q id, 0 when untagged */
	uint8_t proto;    /* L4 protocol number */
	uint8_t family;   /* 4 or 6 */

	const uint8_t *l3; /* innermost IP header: what nDPI inspects */
	uint16_t l3_len;   /* captured bytes of that IP packet, at most its total length */
	uint16_t l3_cap;   /* captured bytes from l3 to the end of the frame (what nDPI reads,
			    * as ndpiReader passes it: L2 padding included) */
	uint8_t cut;       /* the capture holds less than the IP total length */
	uint16_t l4_off;   /* L4 header at l3 + l4_off (IPv4 options, IPv6 extensions skipped) */
	uint8_t tcp_flags;
	uint8_t frag;       /* enum bwg_pkt_frag */
	uint8_t tunnels;    /* IP-in-IP headers stripped */
	uint32_t frag_id;   /* IPv4 identification or IPv6 fragment id, when frag != NONE */
	uint16_t l4_payload; /* captured L4 payload bytes (TCP/UDP), 0 otherwise */
};

/* bwg_pkt_parse flags */
#define BWG_PKT_SNIFF_IP 0x1 /* unknown ethertype: try IP by the version nibble */

/*
 * Parse one frame of `caplen` captured bytes. `wire_len` is the length the frame had
 * on the wire (equal to caplen on live ports; larger when a capture cut it short):
 * IP lengths are checked against it, reads are bounded by caplen. With BWG_PKT_SNIFF_IP
 * an Ethernet frame of an unknown ethertype whose payload parses as IP is taken as IP,
 * as ndpiReader does (it looks at the version nibble only); otherwise it is NON_IP.
 * Returns BWG_PKT_OK with *p filled, or another result (p is then undefined).
 *
 * Inline: the common frame (Ethernet, at most one VLAN tag, IPv4 without options or
 * IPv6 without extension headers, not a fragment, a whole TCP or UDP header) is read in
 * a straight line; any other goes to bwg_pkt_parse_full(), which fills *p the same way.
 */
static inline enum bwg_pkt_result bwg_pkt_parse(struct bwg_pkt *p, const uint8_t *frame,
						uint32_t caplen, uint32_t wire_len,
						enum bwg_link link, unsigned flags);

/* The whole parser: every link type, tag, label, header and tunnel above. */
enum bwg_pkt_result bwg_pkt_parse_full(struct bwg_pkt *p, const uint8_t *frame,
				       uint32_t caplen, uint32_t wire_len, enum bwg_link link,
				       unsigned flags);

/* ---- inline implementation (hot path) -------------------------------------------- */

/* A big-endian 16-bit field (one load and a byte swap). */
static inline uint16_t
bwg_pkt_rd16(const uint8_t *b)
{
	uint16_t v;
	memcpy(&v, b, sizeof(v));
	return __builtin_bswap16(v);
}

/*
 * The L4 header of the common frame at l3 + l4_off, `avail` captured bytes from it:
 * BWG_PKT_OK with ports, flags and payload filled, or BWG_PKT_NON_IP when the full
 * parser must look (anything but a whole TCP or UDP header).
 */
static inline enum bwg_pkt_result
bwg_pkt_fast_l4(struct bwg_pkt *p, const uint8_t *l4, uint32_t avail)
{
	uint32_t hl;
	if (p->proto == 6) {
		if (avail < 20)
			return BWG_PKT_NON_IP;
		hl = (uint32_t)(l4[12] >> 4) * 4u;
		if (hl < 20 || hl > avail)
			return BWG_PKT_NON_IP;
		p->tcp_flags = l4[13];
	} else if (p->proto == 17) {
		if (avail < 8)
			return BWG_PKT_NON_IP;
		hl = 8;
		p->tcp_flags = 0;
	} else {
		return BWG_PKT_NON_IP;
	}
	p->port[0] = bwg_pkt_rd16(l4);
	p->port[1] = bwg_pkt_rd16(l4 + 2);
	p->l4_payload = (uint16_t)(avail - hl);
	return BWG_PKT_OK;
}

static inline enum bwg_pkt_result
bwg_pkt_parse(struct bwg_pkt *p, const uint8_t *b, uint32_t caplen, uint32_t wire_len,
	      enum bwg_link link, unsigned flags)
{
	/* With 58 bytes (a VLAN tag and an IPv6 header fit) every header read below is in
	 * the frame; the L4 header is read within what the IP header says it holds. */
	if (link != BWG_LINK_ETHER || caplen < 58 || wire_len < caplen)
		return bwg_pkt_parse_full(p, b, caplen, wire_len, link, flags);
	uint32_t off = 14;
	uint16_t type = bwg_pkt_rd16(b + 12), vlan = 0;
	if (type == 0x8100) {
		vlan = bwg_pkt_rd16(b + 14) & 0x0fff;
		type = bwg_pkt_rd16(b + 16);
		off = 18;
	}
	const uint8_t *ip = b + off;
	const uint32_t cap = caplen - off, wire = wire_len - off;
	uint32_t total, hl;
	if (type == 0x0800 && ip[0] == 0x45 && !(bwg_pkt_rd16(ip + 6) & 0x3fff)) {
		total = bwg_pkt_rd16(ip + 2);
		if (total < 20 || total > wire)
			return bwg_pkt_parse_full(p, b, caplen, wire_len, link, flags);
		hl = 20;
		p->family = 4;
		p->proto = ip[9];
		memset(p->addr, 0, sizeof(p->addr));
		memcpy(p->addr[0], ip + 12, 4);
		memcpy(p->addr[1], ip + 16, 4);
	} else if (type == 0x86dd && (ip[0] >> 4) == 6) {
		total = 40u + bwg_pkt_rd16(ip + 4);
		if (total > wire)
			return bwg_pkt_parse_full(p, b, caplen, wire_len, link, flags);
		hl = 40;
		p->family = 6;
		p->proto = ip[6];
		memcpy(p->addr[0], ip + 8, 16);
		memcpy(p->addr[1], ip + 24, 16);
	} else {
		return bwg_pkt_parse_full(p, b, caplen, wire_len, link, flags);
	}
	uint32_t have = total < cap ? total : cap;
	if (have < hl || bwg_pkt_fast_l4(p, ip + hl, have - hl) != BWG_PKT_OK)
		return bwg_pkt_parse_full(p, b, caplen, wire_len, link, flags);
	p->l3 = ip;
	p->l3_len = (uint16_t)(have > 0xffff ? 0xffff : have);
	p->l3_cap = (uint16_t)(cap > 0xffff ? 0xffff : cap);
	p->cut = cap < total;
	p->l4_off = (uint16_t)hl;
	p->vlan = vlan;
	p->frag = BWG_FRAG_NONE;
	p->tunnels = 0;
	return BWG_PKT_OK;
}

/*
 * Frames the gate sends of its own (reply.c): built from a dropped frame `s` describes,
 * into out[cap]. Worker threads and the offline tool; no heap.
 */
struct bwg_tcp_seg {
	const uint8_t *frame;
	uint16_t l2_len; /* bytes before the IP header, tags included */
	uint8_t family;
	uint8_t flags; /* TCP flags */
	const uint8_t *ip;
	const uint8_t *tcp;
	uint32_t seq, ack;  /* host byte order */
	uint32_t seg_len;   /* sequence space the segment used: payload, SYN, FIN */
	const uint8_t *payload;
	uint16_t payload_len;
};

/* Whether frame is a plain Ethernet [VLAN...] IPv4/IPv6 TCP frame a reply can be built
 * from (no MPLS, PPPoE, tunnel, fragment or IPv6 extension header); fills *s. */
bool bwg_pkt_tcp_seg(struct bwg_tcp_seg *s, const uint8_t *frame, uint32_t len);

/* A RST for one end: toward s's sender (`back`: seq = its ack, acking the frame) or
 * toward its receiver (the frame's own seq). Returns the frame's length, 0 if cap is
 * too small. */
uint32_t bwg_pkt_tcp_reset(const struct bwg_tcp_seg *s, bool back, uint8_t *out, uint32_t cap);

/* n bytes toward s's sender as its peer would send them (seq = s's ack, ack = s's end),
 * with PSH and FIN. Returns the frame's length, 0 if cap is too small. */
uint32_t bwg_pkt_tcp_answer(const struct bwg_tcp_seg *s, const uint8_t *data, uint32_t n,
			    uint8_t *out, uint32_t cap);

/* Whether a TCP payload starts an HTTP/1 request (a method, then a space). */
bool bwg_pkt_http_request(const uint8_t *payload, uint32_t n);

#endif
