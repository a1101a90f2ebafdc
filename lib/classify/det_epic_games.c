/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "epic_games": the UDP connection handshake of Epic Games' online games
 * (Fortnite and others on Epic's servers), by the request and its answer (nDPI's
 * epicgames.c): the client's first datagram is at least 34 bytes, bit 0x08 of its first
 * 32-bit word (big-endian) is clear and bytes 10..33 are zero; the server's first
 * datagram starts with the same word with that bit set.
 *
 * A 24-byte zero run alone is common; the answer echoing the request's first four
 * bytes with exactly one bit flipped is not. The client may repeat its request before
 * the answer comes (up to four times are waited through). Only for flows nDPI could not
 * name. Worker thread; stateless (the request's word comes from bwg_det_pkt.first).
 */

#include "bwg_classify.h"
#include "det_common.h"

#define FLAG 0x08u

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const uint8_t *b = p->payload;
	if (p->dir == 0) {
		if (p->seen[0])
			return BWG_DET_MAYBE; /* a repeated request; the first decided */
		return p->len >= 34 && !(bwg_det_be32(b) & FLAG) && bwg_det_zero(b + 10, 24)
			       ? BWG_DET_MAYBE
			       : BWG_DET_NEVER;
	}
	if (p->seen[0] == 0 || p->len <= 4)
		return BWG_DET_NEVER;
	return bwg_det_be32(b) == (bwg_det_be32(p->first[0]) | FLAG) ? BWG_DET_MATCH
								     : BWG_DET_NEVER;
}

const struct bwg_detector bwg_det_epic_games = {
	.name = "epic_games",
	.rule = "Epic Games' UDP handshake: a request with bit 0x08 of word 0 clear and bytes "
		"10-33 zero, answered by the same word with that bit set",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
