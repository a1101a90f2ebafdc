/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "photon": games on Exit Games' Photon engine (Photon Realtime, PUN, Quantum:
 * Toca Boca World, Albion Online, VRChat and many Unity games), by the framing of its UDP
 * datagrams as Photon's "Binary Protocol" reference gives it (doc.photonengine.com,
 * Realtime and Server reference): a 12-byte header - peer id (16 bits), CRC flag (1 byte),
 * command count (1 byte), sent time (32), challenge (32) - then exactly that many eNet
 * commands, each a 12-byte command header - command type (1 byte), channel (1), flags
 * (1), reserved (1), command length including this header (32 bits, big-endian), reliable
 * sequence number (32) - and its payload. An acknowledgement command is 20 bytes.
 *
 * The command lengths must chain exactly to the end of the datagram, every command of a
 * known eNet type (1-12), an acknowledgement exactly 20 bytes, the CRC flag 0 or 1: one
 * datagram says it. nDPI 4.2 has no Photon dissector. Looks at the first four payloads
 * each way; many Photon flows are one-way bursts. Only for flows nDPI could not name.
 * Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define HEADER 12
#define COMMAND 12
#define ACK 1
#define ACK_LEN 20
#define TYPES 12

static bool
framed(const uint8_t *b, uint32_t n)
{
	if (n < HEADER + COMMAND || b[2] > 1 || b[3] == 0)
		return false;
	uint32_t at = HEADER;
	for (uint32_t k = 0; k < b[3]; k++) {
		if (n - at < COMMAND || b[at] == 0 || b[at] > TYPES)
			return false;
		uint32_t len = bwg_det_be32(b + at + 4);
		if (len < COMMAND || len > n - at || (b[at] == ACK && len != ACK_LEN))
			return false;
		at += len;
	}
	return at == n;
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	return framed(p->payload, p->len) ? BWG_DET_MATCH : BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_photon = {
	.name = "photon",
	.rule = "Photon engine: a 12-byte header with the command count, then that many commands "
		"(type 1-12, 32-bit length) chained exactly to the datagram's end",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
