/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "paltalk": Paltalk's chat and video-room connections, by two fixed client
 * messages nDPI's paltalk.c (Paltalk) knows: a 20-byte message with 00 02 00 01 at bytes
 * 8-11 and 5a fd ff ff at bytes 16-19, and a 22-byte one with 24 c2 e8 0b at bytes 2-5 and
 * 5b 73 2b 00 at bytes 17-20.
 *
 * Eight fixed bytes in a message of one exact size. Paltalk's web and API names are in the
 * host lists; its chat servers answer on their own ports and addresses. Looks at the first
 * four payloads each way. Only for flows nDPI could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const uint8_t *b = p->payload;
	if (p->len == 20 && bwg_det_be32(b + 8) == 0x00020001u &&
	    bwg_det_be32(b + 16) == 0x5afdffffu)
		return BWG_DET_MATCH;
	if (p->len == 22 && bwg_det_be32(b + 2) == 0x24c2e80bu &&
	    bwg_det_be32(b + 17) == 0x5b732b00u)
		return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_paltalk = {
	.name = "paltalk",
	.rule = "Paltalk's TCP: a 20-byte message with 00020001 at bytes 8-11 and 5afdffff at "
		"16-19, or a 22-byte one with 24c2e80b at 2-5 and 5b732b00 at 17-20",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_TCP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
