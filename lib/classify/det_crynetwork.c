/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "crynetwork": the network layer of games built on Crytek's CryENGINE (Warface,
 * Hunt: Showdown, Crysis), by the fixed fields of a session's first datagram (as nDPI's
 * CryNetwork dissector, added after 4.2, describes it): its first byte is the datagram's
 * length less 10, bytes 3-4 are 0x08ed (big-endian), byte 16 is 0x01, byte 20 is 0x07 and
 * bytes 24-25 are 0x0307; at least 26 bytes. The game servers sit on high UDP ports of
 * hosting companies, which no address list can follow.
 *
 * A length tied to the first byte and 48 fixed bits: a random datagram matches about
 * once in 2^56. The client's first datagram decides; only for flows nDPI could not name.
 * Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define CRYNET_MIN 26

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	/* max_payloads 1: only each direction's first payload gets here. */
	const uint8_t *b = p->payload;
	if (p->dir != 0 || p->len < CRYNET_MIN || p->len != (uint32_t)b[0] + 10 ||
	    bwg_det_be16(b + 3) != 0x08ed || b[16] != 0x01 || b[20] != 0x07 ||
	    bwg_det_be16(b + 24) != 0x0307)
		return BWG_DET_NEVER;
	return BWG_DET_MATCH;
}

const struct bwg_detector bwg_det_crynetwork = {
	.name = "crynetwork",
	.rule = "CryENGINE network: the client's first datagram is its first byte + 10 long, "
		"with 0x08ed at 3, 0x01 at 16, 0x07 at 20 and 0x0307 at 24",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 1,
	.unknown_only = true,
	.packet = packet,
};
