/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "blizzard": the UDP game sessions of Blizzard's Warcraft Rumble, by the
 * openings nDPI's blizzard.c knows:
 *
 *   - a 23-byte datagram: ff ff ff ff a3 1f b6 1e 00 00 40 01, seven zero bytes, then
 *     04 03 02 01;
 *   - the session's first exchange: the client's 18-byte datagram ends with a 32-bit
 *     little-endian sequence number 1, the server's 15-byte answer with the byte 1
 *     (both sides count from one).
 *
 * Twenty-three fixed bytes; or an exact pair of sizes each carrying the first sequence
 * number, on the two datagrams that open the flow. Blizzard's own address blocks are in
 * the address lists; these sessions run on rented cloud addresses. Only for flows nDPI
 * could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static const uint8_t hello[23] = {0xff, 0xff, 0xff, 0xff, 0xa3, 0x1f, 0xb6, 0x1e,
				  0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 0x00, 0x00,
				  0x00, 0x00, 0x00, 0x04, 0x03, 0x02, 0x01};

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	/* max_payloads 1: only each direction's first payload gets here. */
	const uint8_t *b = p->payload;
	if (p->len == sizeof(hello) && bwg_det_starts(b, p->len, hello, sizeof(hello)))
		return BWG_DET_MATCH;
	if (p->dir == 0)
		return p->len == 18 && bwg_det_be32(b + 14) == 0x01000000u ? BWG_DET_MAYBE
									   : BWG_DET_NEVER;
	return p->seen[0] && p->len == 15 && b[14] == 1 ? BWG_DET_MATCH : BWG_DET_NEVER;
}

const struct bwg_detector bwg_det_blizzard = {
	.name = "blizzard",
	.rule = "Warcraft Rumble: a 23-byte ffffffffa31fb61e00004001..04030201 hello, or an 18-byte "
		"opening ending seq 1 answered by 15 bytes ending 01",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 1,
	.unknown_only = true,
	.packet = packet,
};
