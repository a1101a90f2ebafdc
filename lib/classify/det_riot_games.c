/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "riot_games": the UDP game traffic of Riot Games (League of Legends,
 * Valorant), by two fixed trailers nDPI's riotgames.c knows: the latency probes end
 * with aa aa aa aa bb bb bb bb, and a 53-byte handshake datagram ends with
 * 3c b1 1f 2d ea 23 46 0c.
 *
 * Eight fixed bytes at the end of a datagram (and an exact size for the second):
 * specific to these games. A Riot server's address is the business of the address
 * lists; this catches the servers no list has yet. Looks at the first four payloads
 * each way. Only for flows nDPI could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static const uint8_t probe[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb};
static const uint8_t handshake[8] = {0x3c, 0xb1, 0x1f, 0x2d, 0xea, 0x23, 0x46, 0x0c};

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	if (p->len > sizeof(probe) && bwg_det_ends(p->payload, p->len, probe, sizeof(probe)))
		return BWG_DET_MATCH;
	if (p->len == 53 && bwg_det_ends(p->payload, p->len, handshake, sizeof(handshake)))
		return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_riot_games = {
	.name = "riot_games",
	.rule = "Riot Games' UDP: a datagram ending aaaaaaaabbbbbbbb (latency probe), or 53 bytes "
		"ending 3cb11f2dea23460c (handshake)",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
