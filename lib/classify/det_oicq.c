/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "oicq": OICQ, the UDP protocol of Tencent QQ's desktop messenger, by the
 * fixed header of its datagrams (as nDPI's OICQ dissector, added after 4.2, describes
 * it): a 0x02 start byte, the client version 0x3b0b (16 bits, big-endian), a command
 * (16 bits: 0x0001 .. 0x00b5, or 0x03f7) and a sequence number (16 bits). The servers
 * listen on UDP 8000; clients log in and keep alive with one short datagram after
 * another, often unanswered, each a flow of its own.
 *
 * nDPI 4.2 names QQ by host names only and leaves these flows unknown. 24 fixed bits and
 * a command in 182 of 65536 values, in the flow's first datagram: a random payload
 * matches about once in 2^32. Only for flows nDPI could not name. Worker thread;
 * stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define OICQ_HEADER 7 /* start byte, version, command, sequence */

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	/* max_payloads 1: only each direction's first payload gets here; the client's
	 * decides. */
	const uint8_t *b = p->payload;
	if (p->dir != 0 || p->len < OICQ_HEADER || b[0] != 0x02 || bwg_det_be16(b + 1) != 0x3b0b)
		return BWG_DET_NEVER;
	uint16_t command = bwg_det_be16(b + 3);
	if (command == 0 || (command > 0x00b5 && command != 0x03f7))
		return BWG_DET_NEVER;
	return BWG_DET_MATCH;
}

const struct bwg_detector bwg_det_oicq = {
	.name = "oicq",
	.rule = "OICQ (QQ): the client's first datagram starts 0x02, version 0x3b0b and a known "
		"command (1..0xb5 or 0x3f7)",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 1,
	.unknown_only = true,
	.packet = packet,
};
