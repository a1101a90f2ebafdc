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
	const uint8_t *l3; /* innermost IP header: what nDPI inspects */
	uint16_t l3_len;   /* captured bytes of that IP packet, at most its total length */
	uint16_t l3_cap;   /* captured bytes from l3 to the end of the frame (what nDPI reads,
			    * as ndpiReader passes it: L2 padding included) */
	uint8_t cut;       /* the capture holds less than the IP total length */
	uint16_t l4_off;   /* L4 header at l3 + l4_off (IPv4 options, IPv6 extensions skipped) */
	uint8_t family;    /* 4 or 6 */
	uint8_t proto;     /* L4 protocol number */
	uint8_t addr[2][16];
	uint16_t port[2]; /* host byte order; 0 when the protocol has none */
	uint16_t vlan;    /* innermost 802.1Q id, 0 when untagged */
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
 */
enum bwg_pkt_result bwg_pkt_parse(struct bwg_pkt *p, const uint8_t *frame, uint32_t caplen,
				  uint32_t wire_len, enum bwg_link link, unsigned flags);

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
