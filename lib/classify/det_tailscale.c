/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "tailscale": Tailscale, the WireGuard-based mesh VPN, by the discovery
 * ("disco") messages its nodes exchange over the same UDP port as their WireGuard
 * traffic to find and keep direct paths (Tailscale's disco/disco.go,
 * github.com/tailscale/tailscale): a 6-byte magic "TS" followed by the UTF-8 speech
 * balloon U+1F4AC (54 53 f0 9f 92 ac), the sender's 32-byte disco public key, a 24-byte
 * nonce, then a NaCl secretbox (a 16-byte tag over at least a type and a version byte).
 *
 * Six fixed bytes at the start of a datagram of at least 80: Tailscale's own marker.
 * Looks at the first four payloads each way (disco pings are interleaved with the
 * WireGuard packets that nDPI 4.2 may already call WireGuard, which the tunnel class
 * claims anyway). Only for flows nDPI could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define MIN_LEN (6 + 32 + 24 + 16 + 2)

static const uint8_t magic[6] = {0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac};

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	if (p->len >= MIN_LEN && memcmp(p->payload, magic, sizeof(magic)) == 0)
		return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_tailscale = {
	.name = "tailscale",
	.rule = "a Tailscale disco message: \"TS\" and U+1F4AC (5453f09f92ac), a 32-byte key, a "
		"24-byte nonce and a sealed box, >= 80 bytes",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
