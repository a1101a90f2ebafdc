/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "armagetron": Armagetron Advanced, the Tron light-cycle game, and its master
 * servers, by the framing of every datagram (Wireshark's packet-armagetronad.c, from
 * armagetronad 0.2.8): a chain of messages, each a descriptor id (16 bits, big-endian), a
 * message id (16) and a data length counted in 16-bit words (16), then that much data;
 * after the last message the sender's id (16 bits, 0 for the server) ends the datagram.
 * The descriptor ids are the game's message types: ack (1), login, logout, version and
 * console (2-11), network objects (20-28), passwords (40, 41), server browsing
 * (50 small_server ... 55 big_request_master), configuration (60), chat, players, teams,
 * votes (200-233) and the game objects (300-340).
 *
 * A datagram whose lengths chain exactly to its last two bytes, every message of a known
 * type: nDPI 4.2 checks three fixed message shapes only, and misses the short server
 * browser queries (8 bytes: one empty request and the sender id) and most replies. Both
 * sides' first datagrams must be well framed, so one chance alignment is not enough. Only
 * for flows nDPI could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static bool
known_descriptor(uint16_t d)
{
	return (d >= 1 && d <= 11) || (d >= 20 && d <= 28) || d == 40 || d == 41 ||
	       (d >= 50 && d <= 55) || d == 60 || (d >= 200 && d <= 203) || d == 210 || d == 220 ||
	       (d >= 230 && d <= 233) || d == 300 || d == 310 || d == 311 || d == 320 || d == 321 ||
	       d == 330 || d == 331 || d == 340;
}

/* b[0..n) is one or more messages of known types and a 2-byte sender id, exactly. */
static bool
framed(const uint8_t *b, uint32_t n)
{
	uint32_t at = 0, messages = 0;
	while (n - at > 2) {
		if (n - at < 6 || !known_descriptor(bwg_det_be16(b + at)))
			return false;
		uint32_t data = 2u * bwg_det_be16(b + at + 4);
		if (data > n - at - 6)
			return false;
		at += 6 + data;
		messages++;
	}
	return messages > 0 && n - at == 2;
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	/* max_payloads 1: only each direction's first payload gets here. */
	if (!framed(p->payload, p->len))
		return BWG_DET_NEVER;
	if (p->dir == 0)
		return BWG_DET_MAYBE;
	return p->seen[0] ? BWG_DET_MATCH : BWG_DET_NEVER;
}

const struct bwg_detector bwg_det_armagetron = {
	.name = "armagetron",
	.rule = "Armagetron: both sides' first datagrams are messages of known types (descriptor, "
		"id, length in words, data) chained exactly to a 2-byte sender id",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 1,
	.unknown_only = true,
	.packet = packet,
};
