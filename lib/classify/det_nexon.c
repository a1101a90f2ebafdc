/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "nexon": the game connections of Nexon's online games (MapleStory, Dungeon &
 * Fighter and the rest of its catalogue), by two fixed TCP messages nDPI's nexon.c knows:
 * a 24-byte message starting 18 00 00 00 64 00 00 00 (its own length, 24, and the value
 * 100, both as 32-bit little-endian words), and a 20-byte message carrying 16 3a 99 2e in
 * bytes 4-7.
 *
 * Eight (or four) fixed bytes in a message of one exact size. Nexon's game servers are
 * rented cloud addresses, so no address list finds them. Looks at the first four payloads
 * each way. Only for flows nDPI could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const uint8_t *b = p->payload;
	if (p->len == 24 && bwg_det_be32(b) == 0x18000000u && bwg_det_be32(b + 4) == 0x64000000u)
		return BWG_DET_MATCH;
	if (p->len == 20 && bwg_det_be32(b + 4) == 0x163a992eu)
		return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_nexon = {
	.name = "nexon",
	.rule = "Nexon games' TCP: a 24-byte message starting 1800000064000000, or a 20-byte one "
		"with 163a992e at bytes 4-7",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_TCP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
