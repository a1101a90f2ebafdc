/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "source_engine": game server queries of Valve's Source and GoldSrc engines
 * (Counter-Strike, Team Fortress 2, Garry's Mod, Rust, ARK and the many games that
 * answer Steam's server browser), by the client's request. The queries are
 * "connectionless" packets: a 32-bit -1 (ff ff ff ff) then a one-letter request (Valve
 * Developer Wiki, "Server queries"):
 *
 *   'T' A2S_INFO     "Source Engine Query" and its NUL, optionally a 4-byte challenge
 *                    -> 25 or 29 bytes
 *   'U' A2S_PLAYER, 'V' A2S_RULES   a 4-byte challenge     -> 9 bytes
 *   'W' A2S_SERVERQUERY_GETCHALLENGE, 'i' A2A_PING          -> 5 bytes
 *
 * A 4-byte -1, the request letter and an exact length (and for A2S_INFO the 20-byte
 * string) are specific to these queries. Only the client's first payload counts: a
 * server's answer alone (one more letter after the -1, then free-form data) is too weak.
 * Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static const char info[] = "Source Engine Query"; /* with its NUL: 20 bytes */

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const uint8_t *b = p->payload;
	if (p->dir != 0)
		return BWG_DET_MAYBE;
	if (p->len < 5 || bwg_det_be32(b) != 0xffffffffu)
		return BWG_DET_NEVER;
	switch (b[4]) {
	case 'T':
		return (p->len == 5 + sizeof(info) || p->len == 9 + sizeof(info)) &&
			       memcmp(b + 5, info, sizeof(info)) == 0
			       ? BWG_DET_MATCH
			       : BWG_DET_NEVER;
	case 'U':
	case 'V':
		return p->len == 9 ? BWG_DET_MATCH : BWG_DET_NEVER;
	case 'W':
	case 'i':
		return p->len == 5 ? BWG_DET_MATCH : BWG_DET_NEVER;
	default:
		return BWG_DET_NEVER;
	}
}

const struct bwg_detector bwg_det_source_engine = {
	.name = "source_engine",
	.rule = "a Valve A2S server query: ff ff ff ff, then 'T' \"Source Engine Query\", 'U'/'V' "
		"and a challenge, or 'W'/'i', each at its exact length",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 1,
	.unknown_only = true,
	.packet = packet,
};
