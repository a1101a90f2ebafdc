/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "gaijin": the UDP traffic of Gaijin Entertainment's games (War Thunder,
 * Crossout, Enlisted), by what nDPI's gaijin_entertainment.c (GaijinEntertainment) knows:
 * a 52-byte datagram starting 8f ff 00 with 82 ff 00 01 at bytes 4-7 (a game session's
 * opening), or a datagram of more than 100 bytes that starts with one of the games'
 * telemetry event names, "embeddedupdater.", "app.start" or "app.stage".
 *
 * Seven fixed bytes in a datagram of one size, or a game-specific name at a datagram's
 * start. Gaijin's web and launcher names are in the host lists. Looks at the first four
 * payloads each way. Only for flows nDPI could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static const char *const events[] = {"embeddedupdater.", "app.start", "app.stage"};

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const uint8_t *b = p->payload;
	if (p->len == 52 && bwg_det_be16(b) == 0x8fff && b[2] == 0 &&
	    bwg_det_be32(b + 4) == 0x82ff0001u)
		return BWG_DET_MATCH;
	if (p->len > 100 &&
	    bwg_det_starts_any(b, p->len, events, sizeof(events) / sizeof(events[0])))
		return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_gaijin = {
	.name = "gaijin",
	.rule = "Gaijin: a 52-byte datagram 8fff00 ?? 82ff0001 ..., or a 100+ byte one starting "
		"embeddedupdater., app.start or app.stage",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
