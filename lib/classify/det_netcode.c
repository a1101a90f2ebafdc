/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "netcode": netcode.io, the open client/server protocol for multiplayer games
 * (used through the yojimbo library and its ports), by its connection request. That is
 * the one packet of the protocol sent in the clear (netcode STANDARD.md, "Packet
 * Structure", github.com/mas-bandwidth/netcode): a zero prefix byte, the 13-byte version
 * info "NETCODE 1.0x" with its NUL, then protocol id, expire timestamp and sequence or
 * nonce before a 1024-byte encrypted connect token, so the datagram has exactly one
 * length per version: 1062 bytes for 1.00 and 1.01 (an 8-byte sequence), 1078 for 1.02
 * (a 24-byte nonce). Servers drop requests of any other size, so clients never send
 * them.
 *
 * Fourteen fixed bytes and a fixed length: specific to netcode.io. Worker thread;
 * stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define VERSION "NETCODE 1.0" /* then one digit and a NUL */

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const uint8_t *b = p->payload;
	if (p->len != 1062 && p->len != 1078)
		return BWG_DET_MAYBE;
	if (b[0] != 0 || memcmp(b + 1, VERSION, sizeof(VERSION) - 1) != 0 || b[13] != 0)
		return BWG_DET_MAYBE;
	uint32_t want = b[12] == '0' || b[12] == '1' ? 1062 : b[12] == '2' ? 1078 : 0;
	return p->len == want ? BWG_DET_MATCH : BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_netcode = {
	.name = "netcode",
	.rule = "a netcode.io connection request: a zero byte, \"NETCODE 1.0x\" and its NUL, 1062 "
		"or 1078 bytes in all (yojimbo games)",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 2,
	.unknown_only = true,
	.packet = packet,
};
