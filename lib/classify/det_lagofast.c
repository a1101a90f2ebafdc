/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "lagofast": LagoFast, a game "accelerator" (a VPN that carries a game's
 * traffic through the vendor's relays), by the framing of its UDP tunnel (nDPI's
 * lagofast.c, LagoFast): every datagram starts with the 4-byte identifier 00 6e 5d 03,
 * then the length of what follows as a 16-bit big-endian number.
 *
 * Four fixed bytes and a length that must equal the rest of the datagram. The client's
 * sign-in and control plane (lagofast.com, 6fast.com) are in the host lists; the relays
 * are rented addresses all over the world. Looks at the first four payloads each way.
 * Only for flows nDPI could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define HEAD 6

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const uint8_t *b = p->payload;
	if (p->len >= HEAD && bwg_det_be32(b) == 0x006e5d03u &&
	    bwg_det_be16(b + 4) == p->len - HEAD)
		return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_lagofast = {
	.name = "lagofast",
	.rule = "LagoFast's UDP tunnel: a datagram starting 006e5d03, then a 16-bit length equal "
		"to the rest of it",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
