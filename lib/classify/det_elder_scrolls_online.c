/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "elder_scrolls_online": The Elder Scrolls Online, by the client's login
 * message on its game connections (nDPI's teso.c, TES_Online): a 32-bit big-endian
 * length of the rest of the message first, at least 600 bytes in all, and within its
 * first 140 bytes either the game's server name "eso.live" or the bytes 8b 78 9c 01
 * (the head of a zlib stream, 78 9c, behind a one-byte tag).
 *
 * A length prefix equal to the segment's size and one of two markers at the front of a
 * large first message. Only the client's first payload of a connection whose SYN was
 * seen counts (a connection picked up in the middle shows no first message). Only for
 * flows nDPI could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define MIN_LEN 600
#define WINDOW 140

static const uint8_t zlib_mark[4] = {0x8b, 0x78, 0x9c, 0x01};

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	int at = bwg_det_client_opening(p);
	if (at <= 0)
		return at < 0 ? BWG_DET_NEVER : BWG_DET_MAYBE;
	const uint8_t *b = p->payload;
	if (p->len < MIN_LEN || bwg_det_be32(b) != p->len - 4)
		return BWG_DET_NEVER;
	if (bwg_det_find(b, WINDOW, "eso.live", 8) || bwg_det_find(b, WINDOW, zlib_mark, 4))
		return BWG_DET_MATCH;
	return BWG_DET_NEVER;
}

const struct bwg_detector bwg_det_elder_scrolls_online = {
	.name = "elder_scrolls_online",
	.rule = "the client's first message: >= 600 bytes, length-prefixed, with \"eso.live\" or "
		"8b789c01 in its first 140 bytes",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_TCP,
	.max_payloads = 1,
	.unknown_only = true,
	.packet = packet,
};
