/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "line_call": LINE voice and video calls, by the first datagram each side
 * sends before the media. nDPI's line.c (LineCall) knows two shapes of those opening
 * datagrams: at least 738 bytes starting with 0xda or 0xdb, or at least 150 bytes
 * starting with 0xd8 or 0xd9; both carry 06 02 in bytes 4 and 5 (bytes 2 and 3 are a
 * per-direction packet counter). The caller usually sends the long one; either side may
 * send the short one.
 *
 * nDPI trusts those bytes only towards LINE's own addresses. bwgate has no such list at
 * this layer, so it asks for both halves instead: the client's first payload and the
 * server's first payload must each be an opening datagram. Two independent three-byte
 * patterns with size floors, on the two datagrams that open a flow. Not unknown-only:
 * nDPI 4.2 calls the media that follows "RTP", which no class claims. Worker thread;
 * stateless (the engine's NEVER carries the first half).
 */

#include "bwg_classify.h"
#include "det_common.h"

static bool
opening(const uint8_t *b, uint32_t n)
{
	if (n < 150 || b[4] != 0x06 || b[5] != 0x02)
		return false;
	return b[0] == 0xd8 || b[0] == 0xd9 || (n >= 738 && (b[0] == 0xda || b[0] == 0xdb));
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	/* max_payloads 1: only each direction's first payload gets here. */
	if (!opening(p->payload, p->len))
		return BWG_DET_NEVER;
	if (p->dir == 0)
		return BWG_DET_MAYBE;
	return p->seen[0] ? BWG_DET_MATCH : BWG_DET_NEVER;
}

const struct bwg_detector bwg_det_line_call = {
	.name = "line_call",
	.rule = "LINE's opening pair: each side's first datagram >= 738 bytes starting da/db or >= "
		"150 starting d8/d9, with 06 02 at bytes 4-5",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 1,
	.unknown_only = false,
	.packet = packet,
};
