/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The detector registry and the loop that shows a young flow's payload packets to the
 * payload detectors (worker thread, only while the flow is under inspection).
 *
 * Each detector lives in a file of its own (det_*.c, behaviour.c) and is listed once in
 * the table below; its position is its id. The engine knows none of them by name: a
 * class claims a detector by name in the config ("detectors": ["fully_encrypted"]), the
 * policy compiles the names to ids, and only the detectors some class claims run.
 */

#include <string.h>

#include "bwg_classify.h"

extern const struct bwg_detector bwg_det_p2p_behaviour;
extern const struct bwg_detector bwg_det_fully_encrypted;
extern const struct bwg_detector bwg_det_raknet;
extern const struct bwg_detector bwg_det_netcode;
extern const struct bwg_detector bwg_det_source_engine;
extern const struct bwg_detector bwg_det_epic_games;
extern const struct bwg_detector bwg_det_riot_games;
extern const struct bwg_detector bwg_det_elder_scrolls_online;
extern const struct bwg_detector bwg_det_path_of_exile;
extern const struct bwg_detector bwg_det_armagetron;
extern const struct bwg_detector bwg_det_photon;
extern const struct bwg_detector bwg_det_netease_games;
extern const struct bwg_detector bwg_det_nexon;
extern const struct bwg_detector bwg_det_cod_mobile;
extern const struct bwg_detector bwg_det_blizzard;
extern const struct bwg_detector bwg_det_freefire;
extern const struct bwg_detector bwg_det_guild_wars_2;
extern const struct bwg_detector bwg_det_tencent_games;
extern const struct bwg_detector bwg_det_gaijin;
extern const struct bwg_detector bwg_det_crynetwork;
extern const struct bwg_detector bwg_det_discord_voice;
extern const struct bwg_detector bwg_det_whatsapp_call;
extern const struct bwg_detector bwg_det_line_call;
extern const struct bwg_detector bwg_det_paltalk;
extern const struct bwg_detector bwg_det_oicq;
extern const struct bwg_detector bwg_det_utp;
extern const struct bwg_detector bwg_det_bt_dht;
extern const struct bwg_detector bwg_det_bt_tracker;
extern const struct bwg_detector bwg_det_softether;
extern const struct bwg_detector bwg_det_tailscale;
extern const struct bwg_detector bwg_det_hamachi;
extern const struct bwg_detector bwg_det_lagofast;
extern const struct bwg_detector bwg_det_gearup_booster;
extern const struct bwg_detector bwg_det_ultrasurf;
extern const struct bwg_detector bwg_det_mudfish;
extern const struct bwg_detector bwg_det_vpn_certificate;
extern const struct bwg_detector bwg_det_http_media;

/* The first to answer MATCH wins. The protocol signatures are specific enough that the
 * order between them does not matter, so they are grouped by the class they usually feed;
 * fully_encrypted, which knows no protocol, comes last so that a protocol's own signature
 * in the same payload (Hamachi's, Paltalk's) names it first. */
static const struct bwg_detector *const registry[BWG_DET_MAX] = {
	&bwg_det_p2p_behaviour, /* id 0 is "none": shifted by one below */
	/* games */
	&bwg_det_raknet,
	&bwg_det_netcode,
	&bwg_det_source_engine,
	&bwg_det_epic_games,
	&bwg_det_riot_games,
	&bwg_det_elder_scrolls_online,
	&bwg_det_path_of_exile,
	&bwg_det_armagetron,
	&bwg_det_photon,
	&bwg_det_netease_games,
	&bwg_det_nexon,
	&bwg_det_cod_mobile,
	&bwg_det_blizzard,
	&bwg_det_freefire,
	&bwg_det_guild_wars_2,
	&bwg_det_tencent_games,
	&bwg_det_gaijin,
	&bwg_det_crynetwork,
	/* chat and calls */
	&bwg_det_discord_voice,
	&bwg_det_whatsapp_call,
	&bwg_det_line_call,
	&bwg_det_paltalk,
	&bwg_det_oicq,
	/* peer-to-peer */
	&bwg_det_utp,
	&bwg_det_bt_dht,
	&bwg_det_bt_tracker,
	/* tunnels */
	&bwg_det_softether,
	&bwg_det_tailscale,
	&bwg_det_hamachi,
	&bwg_det_lagofast,
	&bwg_det_gearup_booster,
	&bwg_det_ultrasurf,
	&bwg_det_mudfish,
	&bwg_det_vpn_certificate,
	/* video */
	&bwg_det_http_media,
	/* no protocol: random-looking first payloads */
	&bwg_det_fully_encrypted,
};

const struct bwg_detector *
bwg_detector(uint8_t id)
{
	return id > 0 && id < BWG_DET_MAX ? registry[id - 1] : NULL;
}

int
bwg_detector_id(const char *name)
{
	for (int id = 1; id < BWG_DET_MAX; id++)
		if (registry[id - 1] && strcmp(registry[id - 1]->name, name) == 0)
			return id;
	return -1;
}

uint8_t
bwg_detector_behaviour_id(void)
{
	static uint8_t cached;
	if (!cached)
		for (int id = 1; id < BWG_DET_MAX && !cached; id++)
			if (registry[id - 1] && registry[id - 1]->source == BWG_SRC_BEHAVIOUR)
				cached = (uint8_t)id;
	return cached;
}

uint8_t
bwg_detect_packet(struct bwg_det_flow *st, uint64_t want, const uint8_t *payload, uint32_t len,
		  uint8_t proto, uint8_t dir, uint16_t sport, uint16_t dport,
		  const struct bwg_dpi_result *dpi)
{
	uint64_t live = want & ~st->never;
	if (!live || len == 0)
		return BWG_DET_NONE;
	struct bwg_det_pkt p = {
		.payload = payload, .len = len, .proto = proto, .dir = dir, .sport = sport,
		.dport = dport, .seen = {st->seen[0], st->seen[1]}, .opened = st->opened,
		.dpi = dpi};
	memcpy(p.first, st->first, sizeof(p.first));
	uint8_t pbit = proto == 6 ? BWG_DET_TCP : proto == 17 ? BWG_DET_UDP : 0;
	uint8_t hit = BWG_DET_NONE;
	for (uint8_t id = 1; id < BWG_DET_MAX && !hit; id++) {
		uint64_t bit = BWG_DET_BIT(id);
		if (!(live & bit))
			continue;
		const struct bwg_detector *d = registry[id - 1];
		if (!d || !d->packet || !(d->protos & pbit)) {
			st->never |= bit;
			continue;
		}
		if (st->seen[dir] >= d->max_payloads) {
			if (st->seen[dir ^ 1] >= d->max_payloads)
				st->never |= bit;
			continue;
		}
		switch (d->packet(&p)) {
		case BWG_DET_MATCH: hit = id; break;
		case BWG_DET_NEVER: st->never |= bit; break;
		default: break;
		}
	}
	if (st->seen[dir]++ == 0)
		memcpy(st->first[dir], payload, len < 4 ? len : 4);
	return hit;
}
