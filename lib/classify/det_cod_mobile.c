/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "cod_mobile": Call of Duty: Mobile's match traffic, by the loadout message
 * nDPI's cod_mobile.c (CoD_Mobile) knows: a datagram of more than 350 bytes starting 0xce
 * that carries the text LOC_PREFAB_LOADOUTNAME_1 (the player's first loadout slot).
 *
 * A 24-character game-specific string in a datagram with a fixed first byte. nDPI's other
 * rule (a 12-byte "ping" towards one port) is a port rule and left out. The game's own
 * names are in the host lists; its match servers are rented addresses. Looks at the first
 * four payloads each way. Only for flows nDPI could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static const char loadout[] = "LOC_PREFAB_LOADOUTNAME_1";

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	if (p->len > 350 && p->payload[0] == 0xce &&
	    bwg_det_find(p->payload, p->len, loadout, sizeof(loadout) - 1))
		return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_cod_mobile = {
	.name = "cod_mobile",
	.rule = "Call of Duty: Mobile: a datagram of 350+ bytes starting ce that carries "
		"LOC_PREFAB_LOADOUTNAME_1",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
