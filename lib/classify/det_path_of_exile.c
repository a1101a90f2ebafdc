/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "path_of_exile": Path of Exile 1 and 2, by the client's first message on a
 * game connection (nDPI's path_of_exile.c, PathofExile). Path of Exile's carries the
 * character name (4 to 23 characters): 26 to 49 bytes, byte 0 and byte 6 zero, 03 00 at
 * bytes 1-2, 02 00 at bytes 7-8, and it ends 00 00 00 00 40 00 00 01. Path of Exile 2's
 * is 19 bytes: byte 0 zero, 03 00 at 1-2, 02 00 at 7-8 and 00 00 00 40 at 14-17.
 *
 * Eight to thirteen fixed bytes in a short first message of an exact size range. Only the
 * client's first payload of a connection whose SYN was seen counts. Only for flows nDPI
 * could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static const uint8_t poe1_tail[8] = {0, 0, 0, 0, 0x40, 0, 0, 0x01};

static bool
common(const uint8_t *b)
{
	return b[0] == 0 && bwg_det_be16(b + 1) == 0x0300 && bwg_det_be16(b + 7) == 0x0200;
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	int at = bwg_det_client_opening(p);
	if (at <= 0)
		return at < 0 ? BWG_DET_NEVER : BWG_DET_MAYBE;
	const uint8_t *b = p->payload;
	if (p->len == 19 && common(b) && bwg_det_be32(b + 14) == 0x40)
		return BWG_DET_MATCH;
	if (p->len > 25 && p->len < 50 && common(b) && b[6] == 0 &&
	    bwg_det_ends(b, p->len, poe1_tail, sizeof(poe1_tail)))
		return BWG_DET_MATCH;
	return BWG_DET_NEVER;
}

const struct bwg_detector bwg_det_path_of_exile = {
	.name = "path_of_exile",
	.rule = "the client's first message: 26-49 bytes, 00 0300 .. 00 0200 at bytes 0-8, ending "
		"0000000040000001 (Path of Exile 2: 19 bytes)",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_TCP,
	.max_payloads = 1,
	.unknown_only = true,
	.packet = packet,
};
