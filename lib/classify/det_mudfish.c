/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "mudfish": Mudfish, a game accelerator that tunnels a game's traffic through
 * its relay nodes (a VPN for games), by the two exchanges nDPI's Mudfish dissector
 * (added after 4.2) describes:
 *
 *   - TCP, the client's node discovery: its first message is exactly "UN v2\r\n";
 *   - UDP, the node pings: a datagram of the one byte 0x50 ("P") each way, to or from a
 *     port in 10000 .. 10010, the nodes' ports.
 *
 * Seven fixed bytes that make the whole first message; or a one-byte datagram answered
 * by the same one byte on the relays' port range (the client probes tens of nodes at
 * once, each a flow of its own). Only for flows nDPI could not name: nDPI 4.2 calls
 * some one-byte exchanges IMO, a chat application the default policy blocks as well.
 * Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define NODE_PORT_LO 10000
#define NODE_PORT_HI 10010

static const char discovery[] = "UN v2\r\n";

static bool
node_port(uint16_t port)
{
	return port >= NODE_PORT_LO && port <= NODE_PORT_HI;
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	/* max_payloads 1: only each direction's first payload gets here. */
	if (p->proto == 6) {
		if (p->dir != 0)
			return BWG_DET_NEVER;
		return p->len == sizeof(discovery) - 1 &&
				       bwg_det_starts(p->payload, p->len, discovery, p->len)
			       ? BWG_DET_MATCH
			       : BWG_DET_NEVER;
	}
	if (p->len != 1 || p->payload[0] != 0x50 || !(node_port(p->sport) || node_port(p->dport)))
		return BWG_DET_NEVER;
	/* The client's ping leaves the detector waiting; the node's answer decides. */
	return p->dir == 1 && p->seen[0] ? BWG_DET_MATCH : BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_mudfish = {
	.name = "mudfish",
	.rule = "Mudfish: the client's first TCP message is \"UN v2\\r\\n\", or a one-byte 0x50 "
		"ping answered alike on UDP ports 10000-10010",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_TCP | BWG_DET_UDP,
	.max_payloads = 1,
	.unknown_only = true,
	.packet = packet,
};
