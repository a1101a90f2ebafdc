/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "utp": BitTorrent's uTP transport (BEP 29, bittorrent.org/beps/bep_0029.html),
 * the UDP connections most BitTorrent clients prefer to TCP, which nDPI 4.2 names only
 * some of the time. Every uTP packet starts with a 20-byte header:
 *
 *   type (4 bits: 0 DATA, 1 FIN, 2 STATE, 3 RESET, 4 SYN) | version (4 bits: 1),
 *   first extension type (8), connection id (16), timestamp in microseconds (32),
 *   timestamp difference (32), window size (32), seq_nr (16), ack_nr (16)
 *
 * then a chain of extensions, each "next extension type, length, bytes" (1: selective
 * ack, a multiple of 4 bytes; 2: extension bits, and 3: close reason, as libtorrent and
 * Wireshark's bt-utp know them), then the payload, which only DATA packets carry. The
 * initiator's SYN carries its receive id X; from then on the peer sends with id X and the
 * initiator with X+1 (BEP 29, "connection setup").
 *
 * A flow is uTP when its first payloads all parse so (any that does not ends the
 * question) and one of these holds:
 *   - the handshake: the client's first packet is a SYN, the server's first a STATE with
 *     the SYN's connection id;
 *   - a packet's connection id is the other direction's first id, plus or minus one;
 *   - three packets one way with one connection id, the first or the last of them
 *     without payload (a STATE, SYN, FIN or RESET: exactly header and extensions long),
 *     for a flow seen from its middle or one way only;
 *   - a DATA packet carries the BitTorrent handshake ("\x13BitTorrent protocol", BEP 3).
 * A type/version nibble pair, an exact header-and-extension length and a repeated or
 * paired 16-bit id together are far from what other traffic does. Only for flows nDPI
 * could not name. Worker thread; stateless (it pairs ids with bwg_det_pkt.first).
 */

#include "bwg_classify.h"
#include "det_common.h"

#define HDR_LEN 20
#define MAX_EXTENSIONS 4

enum { ST_DATA, ST_FIN, ST_STATE, ST_RESET, ST_SYN };

static const char bt_handshake[] = "\x13" "BitTorrent protocol";

/* The header and extensions of one packet; returns its type, or -1 when it is not uTP. */
static int
parse(const uint8_t *b, uint32_t n, uint32_t *hdr_len)
{
	if (n < HDR_LEN || (b[0] & 0x0f) != 1 || (b[0] >> 4) > ST_SYN)
		return -1;
	if (bwg_det_be32(b + 4) == 0) /* a microsecond clock, never zero in practice */
		return -1;
	uint32_t off = HDR_LEN;
	uint8_t ext = b[1];
	for (int i = 0; ext; i++) {
		if (i == MAX_EXTENSIONS || ext > 3 || n - off < 2)
			return -1;
		uint8_t next = b[off], elen = b[off + 1];
		if (ext == 1 && (elen == 0 || elen % 4))
			return -1;
		if (elen > n - off - 2)
			return -1;
		off += 2u + elen;
		ext = next;
	}
	int type = b[0] >> 4;
	/* Only DATA carries a payload; the others end with their extensions. */
	if ((type == ST_DATA) != (n > off))
		return -1;
	*hdr_len = off;
	return type;
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	uint32_t hdr;
	int type = parse(p->payload, p->len, &hdr);
	if (type < 0)
		return BWG_DET_NEVER;
	uint8_t d = p->dir, o = d ^ 1;
	uint16_t id = bwg_det_be16(p->payload + 2);
	if (type == ST_DATA && bwg_det_starts(p->payload + hdr, p->len - hdr, bt_handshake,
					      sizeof(bt_handshake) - 1))
		return BWG_DET_MATCH;
	if (p->seen[o]) {
		/* Every earlier packet parsed (or the detector would have given up), so the
		 * other direction's first bytes are a uTP header too. */
		uint16_t other = bwg_det_be16(p->first[o] + 2);
		if ((uint16_t)(id - other) == 1 || (uint16_t)(other - id) == 1)
			return BWG_DET_MATCH;
		if (d == 1 && p->seen[1] == 0 && type == ST_STATE && id == other &&
		    p->first[0][0] >> 4 == ST_SYN)
			return BWG_DET_MATCH;
	}
	if (p->seen[d] && id != bwg_det_be16(p->first[d] + 2))
		return BWG_DET_NEVER;
	bool bare = type != ST_DATA || p->first[d][0] >> 4 != ST_DATA;
	return p->seen[d] >= 2 && bare ? BWG_DET_MATCH : BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_utp = {
	.name = "utp",
	.rule = "uTP (BEP 29): early packets all uTP headers, and a SYN answered with its id, ids "
		"X/X+1 both ways, three with one id and an ack, or a BitTorrent handshake",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 8,
	.unknown_only = true,
	.packet = packet,
};
