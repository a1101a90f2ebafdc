/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "freefire": Garena Free Fire's TCP control connections, by what nDPI's
 * freefire.c (FreeFire) finds in them: the game's name, "freefiremobile" or "FREE FIRE",
 * in an early message, or the 10-byte keep-alive that starts a0 and carries "vj73p" at
 * bytes 5-9.
 *
 * The game's own name in the clear, or five fixed characters at a fixed place in a message
 * of one size. nDPI's other rules (a first message of 770 bytes with four zero bytes;
 * gameplay datagrams towards a port range) are too loose or port rules, and left out.
 * Looks at the first four payloads each way. Only for flows nDPI could not name (a web
 * page that names the game is HTTP or TLS to nDPI). Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static const char keepalive[] = "vj73p";
static const char *const names[] = {"freefiremobile", "FREE FIRE"};

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const uint8_t *b = p->payload;
	if (p->len == 10 && b[0] == 0xa0 && memcmp(b + 5, keepalive, sizeof(keepalive) - 1) == 0)
		return BWG_DET_MATCH;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bwg_det_find(b, p->len, names[i], (uint32_t)strlen(names[i])))
			return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_freefire = {
	.name = "freefire",
	.rule = "Garena Free Fire's TCP: \"freefiremobile\" or \"FREE FIRE\" in an early message, "
		"or a 10-byte a0 keep-alive with \"vj73p\" at bytes 5-9",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_TCP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
