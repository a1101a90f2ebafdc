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
 * there by chance.
 *
 * Once connected, peers send datagrams of their own layout (wiki.vg "Raknet Protocol";
 * RakNet's ReliabilityLayer.cpp), which is what a flow picked up in its middle, or a
 * one-way burst, shows:
 *
 *   0x80..0x8d  frame set: id, sequence number (24 bits), then frames: flags (reliability
 *               in the top 3 bits, 0x10 split, low 4 bits zero), body length in bits
 *               (16, big-endian, whole bytes), the reliable index (24) for reliabilities
 *               2, 3, 4, 6 and 7, the sequencing index (24) for 1 and 4, the ordering
 *               index (24) and channel (8) for 1, 3, 4 and 7, the split count (32), id
 *               (16) and index (32) when split, then the body;
 *   0xa0, 0xc0  NACK, ACK: id, record count (16, big-endian), records: 1 and an index
 *               (24), or 0 and a range (two 24-bit indexes).
 *
 * The frames or records must end exactly where the datagram does; two such datagrams in
 * a row (either direction) are asked for, since one short frame set can happen by
 * chance. Looks at the first two payloads each way (a client's ping can go unanswered
 * once). Worker thread; stateless: a datagram of neither kind ends the search.
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

/* A frame set (0x80..0x8d) whose frames end exactly with the datagram. */
static bool
frame_set(const uint8_t *b, uint32_t n)
{
	uint32_t at = 4, frames = 0;
	while (at < n) {
		if (n - at < 3)
			return false;
		uint8_t flags = b[at], rel = flags >> 5;
		uint16_t bits = bwg_det_be16(b + at + 1);
		if ((flags & 0x0f) || bits == 0 || bits % 8)
			return false;
		uint32_t head = 3;
		if (rel == 2 || rel == 3 || rel == 4 || rel == 6 || rel == 7)
			head += 3; /* reliable index */
		if (rel == 1 || rel == 4)
			head += 3; /* sequencing index */
		if (rel == 1 || rel == 3 || rel == 4 || rel == 7)
			head += 4; /* ordering index and channel */
		if (flags & 0x10)
			head += 10; /* split count, id, index */
		uint32_t frame = head + bits / 8u;
		if (frame > n - at)
			return false;
		at += frame;
		frames++;
	}
	return frames > 0;
}

/* An ACK or NACK whose records fill the datagram exactly. */
static bool
acknowledgement(const uint8_t *b, uint32_t n)
{
	uint32_t count = bwg_det_be16(b + 1), at = 3;
	for (uint32_t i = 0; i < count; i++) {
		if (at >= n || b[at] > 1)
			return false;
		uint32_t rec = b[at] == 1 ? 4 : 7;
		if (rec > n - at)
			return false;
		at += rec;
	}
	return count > 0 && at == n;
}

static bool
connected(const uint8_t *b, uint32_t n)
{
	if (n < 4)
		return false;
	if (b[0] >= 0x80 && b[0] <= 0x8d)
		return frame_set(b, n);
	return (b[0] == 0xa0 || b[0] == 0xc0) && acknowledgement(b, n);
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	uint32_t at = cookie_at(p->payload[0]);
	if (at && p->len >= at + sizeof(cookie) &&
	    memcmp(p->payload + at, cookie, sizeof(cookie)) == 0)
		return BWG_DET_MATCH;
	if (at)
		return BWG_DET_MAYBE; /* an offline message's id: its cookie may come yet */
	if (!connected(p->payload, p->len))
		return BWG_DET_NEVER;
	/* Every payload before this one was RakNet too, or NEVER would have ended it. */
	return p->seen[0] + p->seen[1] ? BWG_DET_MATCH : BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_raknet = {
	.name = "raknet",
	.rule = "RakNet: the offline cookie 00ffff00fefefefefdfdfdfd12345678 where the id puts it, "
		"or two frame sets or ACKs framed exactly (Minecraft, Roblox...)",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 2,
	.unknown_only = true,
	.packet = packet,
};
