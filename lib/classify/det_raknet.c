/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "raknet": RakNet, the UDP game networking library behind Minecraft Bedrock
 * Edition, Roblox and many smaller games, by the handshake every RakNet peer speaks before
 * a connection exists. Those "offline" messages carry a fixed 16-byte cookie,
 * OFFLINE_MESSAGE_DATA_ID = 00 ff ff 00 fe fe fe fe fd fd fd fd 12 34 56 78 (RakNet's
 * RakPeer.cpp, github.com/facebookarchive/RakNet), at a place the message id in the first
 * byte fixes (RakNet's MessageIdentifiers.h; layouts as wiki.vg "Raknet Protocol" gives
 * them):
 *
 *   0x01, 0x02  unconnected ping: id, time (8), cookie, client GUID    -> cookie at 9
 *   0x1c        unconnected pong: id, time, server GUID, cookie, data  -> cookie at 17
 *   0x05..0x08  open connection request/reply 1 and 2: id, cookie, ... -> cookie at 1
 *   0x12, 0x14, 0x17, 0x1a  already connected, no free connections, banned, recently
 *               connected: id, cookie, GUID                           -> cookie at 1
 *   0x19        incompatible protocol: id, protocol, cookie, GUID      -> cookie at 2
 *
 * Sixteen fixed bytes where the first byte says they must be: no other protocol puts them
 * there by chance. Looks at the first two payloads each way (a client's ping can go
 * unanswered once). Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static const uint8_t cookie[16] = {0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe,
				   0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78};

/* Where the cookie sits in an offline message, by message id; 0 when it has none. */
static uint32_t
cookie_at(uint8_t id)
{
	switch (id) {
	case 0x01:
	case 0x02:
		return 9;
	case 0x1c:
		return 17;
	case 0x05:
	case 0x06:
	case 0x07:
	case 0x08:
	case 0x12:
	case 0x14:
	case 0x17:
	case 0x1a:
		return 1;
	case 0x19:
		return 2;
	default:
		return 0;
	}
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	uint32_t at = cookie_at(p->payload[0]);
	if (at && p->len >= at + sizeof(cookie) &&
	    memcmp(p->payload + at, cookie, sizeof(cookie)) == 0)
		return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_raknet = {
	.name = "raknet",
	.rule = "RakNet's offline-message cookie 00ffff00fefefefefdfdfdfd12345678 where the "
		"message id puts it (Minecraft Bedrock, Roblox and other RakNet games)",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 2,
	.unknown_only = true,
	.packet = packet,
};
