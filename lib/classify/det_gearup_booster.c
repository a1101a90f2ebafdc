/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "gearup_booster": GearUP Booster, a game "accelerator" (a VPN for games), by
 * the latency probes its client sends to the vendor's relays before it picks one (nDPI's
 * gearup_booster.c, GearUP_Booster): UDP to the relays' port 9999, the client's first
 * datagram 4 bytes that are not all zero (the mobile client) or 8 bytes whose first four
 * are not all zero and whose last three are (the desktop client).
 *
 * The one detector that also checks a port: the probes carry nothing else, and nDPI's
 * signature is the port and the sizes. bwgate asks for more than nDPI: the client's
 * probe must go to port 9999 and the relay must answer from it with a probe of the same
 * shape. A client probes a hundred relays or more at once, each in a flow of its own.
 * The client's control plane (gearupportal.com) is in the host lists. Only for flows
 * nDPI could not name. Worker thread; stateless (the engine's NEVER carries the first
 * half).
 */

#include "bwg_classify.h"
#include "det_common.h"

#define RELAY_PORT 9999

static bool
probe(const uint8_t *b, uint32_t n)
{
	if (n == 4)
		return !bwg_det_zero(b, 4);
	return n == 8 && !bwg_det_zero(b, 4) && bwg_det_zero(b + 5, 3);
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	/* max_payloads 1: only each direction's first payload gets here. */
	if (p->dir == 0)
		return p->dport == RELAY_PORT && probe(p->payload, p->len) ? BWG_DET_MAYBE
									   : BWG_DET_NEVER;
	return p->seen[0] && p->sport == RELAY_PORT && probe(p->payload, p->len) ? BWG_DET_MATCH
										 : BWG_DET_NEVER;
}

const struct bwg_detector bwg_det_gearup_booster = {
	.name = "gearup_booster",
	.rule = "GearUP Booster: the client's first datagram to UDP port 9999 is 4 bytes, not all "
		"zero, or 8 ending 000000, answered alike",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 1,
	.unknown_only = true,
	.packet = packet,
};
