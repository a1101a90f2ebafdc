/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "discord_voice": Discord voice and video calls (Discord's own servers, and
 * the game hosters such as i3D.net that run its voice servers), by the first datagrams
 * of the UDP voice connection.
 *
 *   IP discovery (Discord Developer Documentation, "Voice Connections", "IP Discovery"):
 *   before any media the client asks the voice server for its public address in a
 *   74-byte packet, all fields big-endian: type (0x0001 request, 0x0002 response),
 *   length (70), SSRC (4), address (64 bytes, a NUL-terminated string, all zero in the
 *   request), port (2). The 4-byte type+length word at an exact size, with a
 *   NUL-padded text field, is the invariant.
 *
 *   Keep-alive (nDPI's discord.c): an 8-byte datagram starting 13 37 ca fe.
 *
 * Looks at the first two payloads each way. Not unknown-only: nDPI 4.2 may call the RTP
 * that follows "RTP", which no class claims, and a match here says more. Worker
 * thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define DISCOVERY_LEN 74
#define ADDR_OFF 8
#define ADDR_LEN 64

/* The address field: printable text (an IPv4 or IPv6 address), then only NULs; or, in
 * a request, nothing but NULs. */
static bool
address_field(const uint8_t *a)
{
	uint32_t i = 0;
	while (i < ADDR_LEN && a[i] >= 0x20 && a[i] <= 0x7e)
		i++;
	return i < ADDR_LEN && bwg_det_zero(a + i, ADDR_LEN - i);
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const uint8_t *b = p->payload;
	if (p->len == 8 && bwg_det_be32(b) == 0x1337cafeu)
		return BWG_DET_MATCH;
	if (p->len == DISCOVERY_LEN) {
		uint32_t head = bwg_det_be32(b);
		if ((head == 0x00010046u || head == 0x00020046u) && address_field(b + ADDR_OFF))
			return BWG_DET_MATCH;
	}
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_discord_voice = {
	.name = "discord_voice",
	.rule = "Discord's voice IP discovery (74 bytes: type 1 or 2, length 70, SSRC, a "
		"NUL-padded address, port) or its 8-byte 1337cafe keep-alive",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 2,
	.unknown_only = false,
	.packet = packet,
};
