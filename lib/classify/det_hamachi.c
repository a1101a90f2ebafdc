/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "hamachi": LogMeIn Hamachi, a VPN that joins computers into virtual LANs
 * (popular to play LAN games over the internet), by what nDPI's hamachi.c (Hamachi)
 * knows of its two transports:
 *
 *   - TCP to the relays: a message of more than 300 bytes whose first 32-bit big-endian
 *     word is the length of the rest and whose word at bytes 12-15 is 7b 7a 0d ad;
 *   - UDP between peers and relays: the session opens with a 76-byte datagram that starts
 *     with eight zero bytes (a key exchange) - bwgate asks for it from both sides.
 *
 * A length prefix that must match and four fixed bytes; or two datagrams of one exact
 * size and zero prefix, one from each side, opening the flow. nDPI's state machine over
 * the UDP data that follows needs more per-flow memory than bwgate's detectors keep.
 * Only for flows nDPI could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define TCP_MIN 301
#define KEX_LEN 76

static enum bwg_det_answer
tcp(const struct bwg_det_pkt *p)
{
	const uint8_t *b = p->payload;
	if (p->len >= TCP_MIN && bwg_det_be32(b) == p->len - 4 &&
	    bwg_det_be32(b + 12) == 0x7b7a0dadu)
		return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

static enum bwg_det_answer
udp(const struct bwg_det_pkt *p)
{
	/* max_payloads 4, but only the first payload each way decides. */
	if (p->seen[p->dir])
		return BWG_DET_NEVER;
	if (p->len != KEX_LEN || !bwg_det_zero(p->payload, 8))
		return BWG_DET_NEVER;
	if (p->dir == 0)
		return BWG_DET_MAYBE;
	return p->seen[0] ? BWG_DET_MATCH : BWG_DET_NEVER;
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	return p->proto == 6 ? tcp(p) : udp(p);
}

const struct bwg_detector bwg_det_hamachi = {
	.name = "hamachi",
	.rule = "Hamachi: a 300+ byte TCP message, 32-bit length prefix, 7b7a0dad at bytes 12-15; "
		"or 76-byte UDP openings both ways starting with 8 zero bytes",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_TCP | BWG_DET_UDP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
