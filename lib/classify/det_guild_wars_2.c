/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "guild_wars_2": Guild Wars 2's login and game connections, by the preamble of
 * ArenaNet's STS protocol, an HTTP-like exchange that opens the connection before TLS
 * starts (nDPI's guildwars2.c, GuildWars2): the client's first message starts
 * "P /Sts/Connect STS/1.0" or "P /Auth/StartTls STS/1.0", the server's answer
 * "STS/1.0 400 Success"; each such message is more than 50 bytes (its headers follow).
 *
 * A protocol name and version in the first line of the first message. nDPI 4.2 only
 * guesses the game by its port (6112); this finds it on any port. Looks at the first two
 * payloads each way. Only for flows nDPI could not name or named by port. Worker thread;
 * stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static const char *const openings[] = {"P /Sts/Connect STS/1.0", "P /Auth/StartTls STS/1.0",
				       "STS/1.0 400 Success"};

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	if (p->len > 50 && bwg_det_starts_any(p->payload, p->len, openings,
					       sizeof(openings) / sizeof(openings[0])))
		return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_guild_wars_2 = {
	.name = "guild_wars_2",
	.rule = "Guild Wars 2's STS preamble: a 50+ byte message starting \"P /Sts/Connect "
		"STS/1.0\", \"P /Auth/StartTls STS/1.0\" or \"STS/1.0 400 Success\"",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_TCP,
	.max_payloads = 2,
	.unknown_only = true,
	.packet = packet,
};
