/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame parser, run by workers on every frame.
 *
 * Every read is preceded by a bounds check against the captured length; frames are
 * untrusted input (tests/fuzz has a target for this file). The walk is a straight line:
 * link header, any number of VLAN tags (innermost id kept, as ndpiReader reports it),
 * MPLS labels or a PPPoE session header, then IP. IP-in-IP (protocol 4 and 41) is
 * stripped up to BWG_PKT_MAX_TUNNELS deep so flows are keyed, classified and policed on
 * the inner packet, as ndpiReader does. Only the innermost IP header is handed on.
 */

#include <string.h>

#include "bwg_pkt.h"

#define BWG_PKT_MAX_TUNNELS 2
#define BWG_PKT_MAX_VLANS 4
#define BWG_PKT_MAX_IPV6_EXT 8

const char *const bwg_pkt_result_names[BWG_PKT_RESULT_MAX] = {
#define X(id, name) [BWG_PKT_##id] = name,
	BWG_PKT_RESULTS(X)
#undef X
};

static inline uint16_t
rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t
rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/*
 * L4 header at `l4` with `avail` captured bytes. A header too short for its ports leaves
 * them 0 and reports L4_TRUNCATED; a TCP data offset below 5 words keeps the ports.
 */
static enum bwg_pkt_result
parse_l4(struct bwg_pkt *p, const uint8_t *l4, uint32_t avail)
{
	p->port[0] = p->port[1] = 0;
	p->tcp_flags = 0;
	p->l4_payload = 0;
	if (p->frag == BWG_FRAG_LATER)
		return BWG_PKT_OK;
	switch (p->proto) {
	case 6: { /* TCP */
		if (avail < 20)
			return BWG_PKT_L4_TRUNCATED;
		p->port[0] = rd16(l4);
		p->port[1] = rd16(l4 + 2);
		p->tcp_flags = l4[13];
		uint32_t off = (uint32_t)(l4[12] >> 4) * 4;
		if (off < 20)
			return BWG_PKT_TCP_BAD_OFFSET;
		if (off > avail)
			return BWG_PKT_L4_TRUNCATED;
		p->l4_payload = (uint16_t)(avail - off);
		return BWG_PKT_OK;
	}
	case 17:  /* UDP */
	case 136: /* UDP-Lite */
		if (avail < 8)
			return BWG_PKT_L4_TRUNCATED;
		p->port[0] = rd16(l4);
		p->port[1] = rd16(l4 + 2);
		p->l4_payload = (uint16_t)(avail - 8);
		return BWG_PKT_OK;
	default: /* ICMP, ICMPv6, IGMP, GRE, ESP, ...: no ports */
		return BWG_PKT_OK;
	}
}

static enum bwg_pkt_result parse_ip(struct bwg_pkt *p, const uint8_t *ip, uint32_t cap,
				    uint32_t wire, unsigned depth);

static enum bwg_pkt_result
parse_ipv4(struct bwg_pkt *p, const uint8_t *ip, uint32_t cap, uint32_t wire, unsigned depth)
{
	if (cap < 20)
		return BWG_PKT_IPV4_BAD_HEADER;
	uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	uint32_t total = rd16(ip + 2);
	if (ihl < 20 || ihl > cap)
		return BWG_PKT_IPV4_BAD_HEADER;
	if (total < ihl || total > wire)
		return BWG_PKT_IPV4_BAD_LENGTH;
	uint32_t have = total < cap ? total : cap;
	uint16_t frag = rd16(ip + 6);

	p->family = 4;
	p->proto = ip[9];
	memset(p->addr, 0, sizeof(p->addr));
	memcpy(p->addr[0], ip + 12, 4);
	memcpy(p->addr[1], ip + 16, 4);
	p->l3 = ip;
	p->l3_len = (uint16_t)have;
	p->l3_cap = (uint16_t)(cap > UINT16_MAX ? UINT16_MAX : cap);
	p->cut = cap < total;
	p->frag = BWG_FRAG_NONE;
	if (frag & 0x3fff) {
		p->frag = (frag & 0x1fff) ? BWG_FRAG_LATER : BWG_FRAG_FIRST;
		p->frag_id = rd16(ip + 4);
	}
	if ((p->proto == 4 || p->proto == 41) && p->frag == BWG_FRAG_NONE) {
		if (depth >= BWG_PKT_MAX_TUNNELS)
			return BWG_PKT_TUNNEL_TOO_DEEP;
		p->tunnels++;
		return parse_ip(p, ip + ihl, have - ihl, total - ihl, depth + 1);
	}
	p->l4_off = (uint16_t)ihl;
	return parse_l4(p, ip + ihl, have - ihl);
}

static enum bwg_pkt_result
parse_ipv6(struct bwg_pkt *p, const uint8_t *ip, uint32_t cap, uint32_t wire, unsigned depth)
{
	if (cap < 40)
		return BWG_PKT_IPV6_BAD_HEADER;
	uint32_t total = 40 + (uint32_t)rd16(ip + 4);
	if (total > wire)
		return BWG_PKT_IPV6_BAD_HEADER;
	uint32_t have = total < cap ? total : cap;

	p->family = 6;
	memcpy(p->addr[0], ip + 8, 16);
	memcpy(p->addr[1], ip + 24, 16);
	p->l3 = ip;
	p->l3_len = (uint16_t)(have > UINT16_MAX ? UINT16_MAX : have);
	p->l3_cap = (uint16_t)(cap > UINT16_MAX ? UINT16_MAX : cap);
	p->cut = cap < total;
	p->frag = BWG_FRAG_NONE;

	uint8_t next = ip[6];
	uint32_t off = 40;
	for (unsigned i = 0;; i++) {
		uint32_t len;
		switch (next) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
			if (off + 8 > have || i >= BWG_PKT_MAX_IPV6_EXT)
				return BWG_PKT_IPV6_BAD_EXTENSION;
			len = ((uint32_t)ip[off + 1] + 1) * 8;
			break;
		case 51: /* AH */
			if (off + 8 > have || i >= BWG_PKT_MAX_IPV6_EXT)
				return BWG_PKT_IPV6_BAD_EXTENSION;
			len = ((uint32_t)ip[off + 1] + 2) * 4;
			break;
		case 44: { /* fragment */
			if (off + 8 > have || i >= BWG_PKT_MAX_IPV6_EXT)
				return BWG_PKT_IPV6_BAD_EXTENSION;
			uint16_t fo = rd16(ip + off + 2);
			p->frag = (fo & 0xfff8) ? BWG_FRAG_LATER : BWG_FRAG_FIRST;
			p->frag_id = rd32(ip + off + 4);
			len = 8;
			break;
		}
		default:
			goto done;
		}
		if (off + len > have)
			return BWG_PKT_IPV6_BAD_EXTENSION;
		next = ip[off];
		off += len;
		if (p->frag == BWG_FRAG_LATER)
			break; /* what follows is the middle of someone's payload */
	}
done:
	p->proto = next;
	if ((next == 4 || next == 41) && p->frag == BWG_FRAG_NONE) {
		if (depth >= BWG_PKT_MAX_TUNNELS)
			return BWG_PKT_TUNNEL_TOO_DEEP;
		p->tunnels++;
		return parse_ip(p, ip + off, have - off, total - off, depth + 1);
	}
	p->l4_off = (uint16_t)off;
	return parse_l4(p, ip + off, have - off);
}

static enum bwg_pkt_result
parse_ip(struct bwg_pkt *p, const uint8_t *ip, uint32_t cap, uint32_t wire, unsigned depth)
{
	if (cap < 1)
		return BWG_PKT_L2_TRUNCATED;
	switch (ip[0] >> 4) {
	case 4:
		return parse_ipv4(p, ip, cap, wire, depth);
	case 6:
		return parse_ipv6(p, ip, cap, wire, depth);
	default:
		return BWG_PKT_IPV4_BAD_HEADER;
	}
}

/* Ethertype dispatch shared by Ethernet and the cooked captures. */
static enum bwg_pkt_result
parse_ethertype(struct bwg_pkt *p, uint16_t type, const uint8_t *b, uint32_t off, uint32_t cap,
		uint32_t wire, unsigned flags)
{
	for (unsigned tags = 0;; tags++) {
		switch (type) {
		case 0x8100: /* 802.1Q */
		case 0x88a8: /* 802.1ad */
		case 0x9100: /* old QinQ */
			if (tags >= BWG_PKT_MAX_VLANS || off + 4 > cap)
				return BWG_PKT_L2_TRUNCATED;
			p->vlan = rd16(b + off) & 0x0fff;
			type = rd16(b + off + 2);
			off += 4;
			continue;
		case 0x8847: /* MPLS unicast: skip to the bottom of the stack */
		case 0x8848:
			for (;;) {
				if (off + 4 > cap)
					return BWG_PKT_L2_TRUNCATED;
				uint8_t bos = b[off + 2] & 1;
				off += 4;
				if (bos)
					break;
			}
			if (off >= cap)
				return BWG_PKT_L2_TRUNCATED;
			return parse_ip(p, b + off, cap - off, wire - off, 0);
		case 0x8864: /* PPPoE session: 6-byte header, 2-byte PPP protocol */
			if (off + 8 > cap)
				return BWG_PKT_L2_TRUNCATED;
			type = rd16(b + off + 6);
			off += 8;
			if (type == 0x0021)
				return parse_ipv4(p, b + off, cap - off, wire - off, 0);
			if (type == 0x0057)
				return parse_ipv6(p, b + off, cap - off, wire - off, 0);
			return BWG_PKT_NON_IP;
		case 0x0800:
			return parse_ipv4(p, b + off, cap - off, wire - off, 0);
		case 0x86dd:
			return parse_ipv6(p, b + off, cap - off, wire - off, 0);
		default:
			if ((flags & BWG_PKT_SNIFF_IP) && off < cap) {
				enum bwg_pkt_result r = parse_ip(p, b + off, cap - off, wire - off, 0);
				return bwg_pkt_has_ip(r) ? r : BWG_PKT_NON_IP;
			}
			return BWG_PKT_NON_IP;
		}
	}
}

enum bwg_pkt_result
bwg_pkt_parse_full(struct bwg_pkt *p, const uint8_t *b, uint32_t caplen, uint32_t wire_len,
		   enum bwg_link link, unsigned flags)
{
	if (wire_len < caplen)
		wire_len = caplen;
	p->vlan = 0;
	p->tunnels = 0;
	switch (link) {
	case BWG_LINK_ETHER:
		if (caplen < 14)
			return BWG_PKT_L2_TRUNCATED;
		return parse_ethertype(p, rd16(b + 12), b, 14, caplen, wire_len, flags);
	case BWG_LINK_LINUX_SLL:
		if (caplen < 16)
			return BWG_PKT_L2_TRUNCATED;
		return parse_ethertype(p, rd16(b + 14), b, 16, caplen, wire_len, flags);
	case BWG_LINK_LINUX_SLL2:
		if (caplen < 20)
			return BWG_PKT_L2_TRUNCATED;
		return parse_ethertype(p, rd16(b), b, 20, caplen, wire_len, flags);
	case BWG_LINK_RAW:
		return parse_ip(p, b, caplen, wire_len, 0);
	case BWG_LINK_NULL: {
		if (caplen < 4)
			return BWG_PKT_L2_TRUNCATED;
		/* The family is in the writer's byte order: accept both. */
		uint32_t fam = b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
			       (uint32_t)b[3] << 24;
		if (fam > 0xffff)
			fam = rd32(b);
		if (fam == 2)
			return parse_ipv4(p, b + 4, caplen - 4, wire_len - 4, 0);
		if (fam == 24 || fam == 28 || fam == 30)
			return parse_ipv6(p, b + 4, caplen - 4, wire_len - 4, 0);
		return BWG_PKT_NON_IP;
	}
	default:
		return BWG_PKT_NON_IP;
	}
}
