/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "bt_tracker": the UDP tracker protocol of BitTorrent (BEP 15,
 * bittorrent.org/beps/bep_0015.html), by the client's connect request that opens every
 * exchange with a tracker: 16 bytes, big-endian, the protocol id 0x41727101980, action
 * 0 (connect) and a random 32-bit transaction id.
 *
 * Twelve fixed bytes at an exact length: BEP 15 chose that constant to identify the
 * protocol. Only the client's first payload counts. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static const uint8_t connect_request[12] = {0x00, 0x00, 0x04, 0x17, 0x27, 0x10,
					    0x19, 0x80, 0x00, 0x00, 0x00, 0x00};

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	if (p->dir != 0)
		return BWG_DET_MAYBE;
	return p->len == 16 && memcmp(p->payload, connect_request, sizeof(connect_request)) == 0
		       ? BWG_DET_MATCH
		       : BWG_DET_NEVER;
}

const struct bwg_detector bwg_det_bt_tracker = {
	.name = "bt_tracker",
	.rule = "a BitTorrent UDP tracker connect request (BEP 15): 16 bytes, the protocol id "
		"0x41727101980 and action 0",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 1,
	.unknown_only = true,
	.packet = packet,
};
