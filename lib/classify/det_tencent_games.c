/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "tencent_games": the TCP game connections of Tencent's games (mostly mobile:
 * Honor of Kings, PUBG Mobile, Arena Breakout and others), by the message headers nDPI's
 * tencent_games.c (TencentGames) knows, each on a message of more than 50 bytes:
 *
 *   - 33 66 00 0b, then 00 0b;
 *   - 43 66 aa 00 with 10 e6 86 01 at bytes 12-15, or aa 00 00 00 with it at bytes 10-13;
 *   - a 32-bit big-endian length equal to the rest of the message, then 78 01 (a zlib
 *     stream).
 *
 * Fixed words at fixed places, or a length prefix that must match followed by a fixed
 * stream header. Tencent's address space also carries Tencent Meeting, WeCom and Tencent
 * Cloud's customers, so it is in no address list; this finds the games on it. Looks at
 * the first four payloads each way. Only for flows nDPI could not name. Worker thread;
 * stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define MIN_LEN 51

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const uint8_t *b = p->payload;
	if (p->len < MIN_LEN)
		return BWG_DET_MAYBE;
	uint32_t w0 = bwg_det_be32(b);
	if ((w0 == 0x3366000bu && bwg_det_be16(b + 4) == 0x000b) ||
	    (w0 == 0x4366aa00u && bwg_det_be32(b + 12) == 0x10e68601u) ||
	    (w0 == 0xaa000000u && bwg_det_be32(b + 10) == 0x10e68601u) ||
	    (w0 == p->len - 4 && bwg_det_be16(b + 4) == 0x7801))
		return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_tencent_games = {
	.name = "tencent_games",
	.rule = "Tencent games: a 50+ byte TCP message starting 3366000b000b, 4366aa00 (10e68601 at "
		"12), aa000000 (10e68601 at 10), or a length prefix then 7801",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_TCP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
