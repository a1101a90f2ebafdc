/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "whatsapp_call": WhatsApp voice and video calls, by the STUN messages that
 * set them up. nDPI 4.2 calls those flows plain "STUN" (or nothing); a STUN message in
 * WhatsApp's dialect says more.
 *
 * A STUN message (RFC 8489, section 5): the two top bits zero, a 16-bit type, a length
 * that counts the attributes after the 20-byte header and is a multiple of 4, the magic
 * cookie 2112a442, a 96-bit transaction id; then attributes, each type (2), length (2)
 * and a value padded to 4 bytes, which must end exactly where the message does.
 * WhatsApp's own (nDPI's stun.c, WhatsAppCall): message types 0x0800, 0x0801, 0x0802,
 * 0x0804 and 0x0805, which IANA's STUN registry leaves unassigned, and attributes
 * 0x4000-0x4004 and 0x4007, in the comprehension-required range no IETF STUN usage
 * has assigned.
 *
 * A well-formed message carrying one of those: a standard STUN stack (ICE in browsers,
 * Teams, Zoom, Webex) sends neither. Not unknown-only, to refine nDPI's "STUN"; flows a
 * dissector gives a claimed application (Teams, Zoom) never get here. Looks at the
 * first four payloads each way. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define HDR_LEN 20
#define COOKIE 0x2112a442u

static bool
whatsapp_type(uint16_t t)
{
	return t == 0x0800 || t == 0x0801 || t == 0x0802 || t == 0x0804 || t == 0x0805;
}

static bool
whatsapp_attribute(uint16_t t)
{
	return (t >= 0x4000 && t <= 0x4004) || t == 0x4007;
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	const uint8_t *b = p->payload;
	if (p->len < HDR_LEN || (b[0] & 0xc0) || bwg_det_be32(b + 4) != COOKIE)
		return BWG_DET_MAYBE;
	uint32_t body = bwg_det_be16(b + 2);
	if (body % 4 || HDR_LEN + body != p->len)
		return BWG_DET_MAYBE;
	bool wa = whatsapp_type(bwg_det_be16(b));
	uint32_t off = HDR_LEN;
	while (off < p->len) {
		if (p->len - off < 4)
			return BWG_DET_MAYBE;
		uint32_t vlen = bwg_det_be16(b + off + 2);
		uint32_t step = 4 + ((vlen + 3) & ~3u);
		if (step > p->len - off)
			return BWG_DET_MAYBE;
		wa |= whatsapp_attribute(bwg_det_be16(b + off));
		off += step;
	}
	return wa ? BWG_DET_MATCH : BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_whatsapp_call = {
	.name = "whatsapp_call",
	.rule = "a well-formed STUN message (RFC 8489) of WhatsApp's dialect: type 0x0800-0x0802, "
		"0x0804 or 0x0805, or an attribute 0x4000-0x4004 or 0x4007",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 4,
	.unknown_only = false,
	.packet = packet,
};
