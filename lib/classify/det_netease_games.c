/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "netease_games": the UDP game sessions of NetEase's games (Naraka: Bladepoint,
 * Lost Light, Badlanders), by three openings nDPI's netease_games.c (NetEaseGames) knows:
 *
 *   - the client's 12-byte hello: 01 in byte 0, 0x01d0 little-endian in bytes 2-3 and
 *     00 01 01 01 in bytes 8-11;
 *   - Lost Light: a datagram of at least 30 bytes starting b3 af 8d e8;
 *   - Naraka: Bladepoint: a datagram of more than 30 bytes starting 07 08 08 0c.
 *
 * Fixed words at fixed places, on one size or with a size floor. NetEase's own names are
 * the business of the host lists; its game servers run on rented cloud addresses no list
 * can hold. Looks at the first four payloads each way. Only for flows nDPI could not name.
 * Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const uint8_t *b = p->payload;
	if (p->dir == 0 && p->len == 12 && b[0] == 0x01 && bwg_det_le16(b + 2) == 0x01d0 &&
	    bwg_det_be32(b + 8) == 0x00010101u)
		return BWG_DET_MATCH;
	if (p->len >= 30 && bwg_det_be32(b) == 0xb3af8de8u)
		return BWG_DET_MATCH;
	if (p->len > 30 && bwg_det_be32(b) == 0x0708080cu)
		return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_netease_games = {
	.name = "netease_games",
	.rule = "NetEase games: a 12-byte hello 01??d001????????00010101, or a datagram of 30+ "
		"bytes starting b3af8de8 (Lost Light) or 0708080c (Naraka)",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
