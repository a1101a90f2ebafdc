/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "ultrasurf": UltraSurf, the censorship-circumvention proxy, by the 8-byte
 * marker its proxy connections carry at the start of a message (nDPI's ultrasurf.c,
 * UltraSurf): cc 1c 30 41 5b a4 38 66.
 *
 * Eight fixed bytes at a message's start; the rest of the connection is TLS without a
 * server name to servers on unlisted addresses, which nothing else tells apart. Either
 * side may send it (the proxy often speaks first). Looks at the first two payloads each
 * way. Only for flows nDPI could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

static const uint8_t marker[8] = {0xcc, 0x1c, 0x30, 0x41, 0x5b, 0xa4, 0x38, 0x66};

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	return bwg_det_starts(p->payload, p->len, marker, sizeof(marker)) ? BWG_DET_MATCH
									  : BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_ultrasurf = {
	.name = "ultrasurf",
	.rule = "UltraSurf's proxy: a TCP message starting cc1c30415ba43866",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_TCP,
	.max_payloads = 2,
	.unknown_only = true,
	.packet = packet,
};
