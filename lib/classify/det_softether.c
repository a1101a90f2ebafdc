/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "softether": SoftEther VPN, by the UDP exchanges of its NAT traversal and
 * VPN Azure relay service, which speak two recognisable forms (nDPI's softether.c):
 *
 *   - the server's answer to a probe: plain text "IP=<address>,PORT=<port>" telling the
 *     client its public address and nothing else;
 *   - a PACK, SoftEther's binary key-value format (SoftEther's Mayaqua/Pack.c,
 *     github.com/SoftEtherVPN/SoftEtherVPN): all integers big-endian, an element count,
 *     then per element its name (length+1, then the bytes without NUL, at most 63),
 *     value type (0 int, 1 data, 2 string, 3 unicode string, 4 int64), value count and
 *     the values (int 4 bytes, int64 8, the others a 32-bit size then the bytes).
 *
 * The text form is matched whole (a dotted or colon address, one to five digits); a PACK
 * must fill the datagram exactly: a plausible count, then that many elements with names
 * of identifier characters, known types and values that fit, dozens of bytes
 * constrained at once. Looks at the first four payloads each way. Only for flows nDPI
 * could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define NAME_MAX_LEN 63
#define MAX_ELEMENTS 4096
#define MAX_VALUES 4096

enum { VALUE_INT, VALUE_DATA, VALUE_STR, VALUE_UNISTR, VALUE_INT64 };

/* "IP=" address ",PORT=" digits, and nothing else. */
static bool
ip_port(const uint8_t *b, uint32_t n)
{
	static const char ip[] = "IP=", port[] = ",PORT=";
	if (!bwg_det_starts(b, n, ip, 3))
		return false;
	uint32_t i = 3, a = 0;
	for (; i < n && ((b[i] >= '0' && b[i] <= '9') || (b[i] >= 'a' && b[i] <= 'f') ||
			 (b[i] >= 'A' && b[i] <= 'F') || b[i] == '.' || b[i] == ':');
	     i++)
		a++;
	if (a < 3 || a > 45 || !bwg_det_starts(b + i, n - i, port, 6))
		return false;
	uint32_t digits = n - i - 6;
	for (i += 6; i < n; i++)
		if (b[i] < '0' || b[i] > '9')
			return false;
	return digits >= 1 && digits <= 5;
}

/* An element name at b[*off..n): a length of 2..64 (strlen+1), identifier characters. */
static bool
name(const uint8_t *b, uint32_t n, uint32_t *off)
{
	if (n - *off < 4)
		return false;
	uint32_t len = bwg_det_be32(b + *off);
	if (len < 2 || len - 1 > NAME_MAX_LEN || len - 1 > n - *off - 4)
		return false;
	const uint8_t *s = b + *off + 4;
	for (uint32_t i = 0; i < len - 1; i++) {
		uint8_t c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	*off += 4 + len - 1;
	return true;
}

/* One element (name, type, count, values) at b[*off..n). */
static bool
element(const uint8_t *b, uint32_t n, uint32_t *off)
{
	if (!name(b, n, off) || n - *off < 8)
		return false;
	uint32_t type = bwg_det_be32(b + *off), count = bwg_det_be32(b + *off + 4);
	*off += 8;
	if (type > VALUE_INT64 || count == 0 || count > MAX_VALUES)
		return false;
	for (uint32_t v = 0; v < count; v++) {
		uint32_t size = type == VALUE_INT ? 4 : type == VALUE_INT64 ? 8 : 0;
		if (!size) {
			if (n - *off < 4)
				return false;
			size = bwg_det_be32(b + *off);
			*off += 4;
		}
		if (size > n - *off)
			return false;
		*off += size;
	}
	return true;
}

/* The whole datagram is one PACK: every element parses and the last ends it. Each
 * element and value consumes bytes, so this is linear in the datagram. */
static bool
pack(const uint8_t *b, uint32_t n)
{
	if (n < 4)
		return false;
	uint32_t count = bwg_det_be32(b), off = 4;
	if (count == 0 || count > MAX_ELEMENTS)
		return false;
	for (uint32_t i = 0; i < count; i++)
		if (!element(b, n, &off))
			return false;
	return off == n;
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	if (ip_port(p->payload, p->len) || pack(p->payload, p->len))
		return BWG_DET_MATCH;
	return BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_softether = {
	.name = "softether",
	.rule = "SoftEther's UDP NAT traversal: a whole \"IP=<address>,PORT=<port>\" answer, or "
		"a datagram that is one PACK (a count, then named, typed values)",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 4,
	.unknown_only = true,
	.packet = packet,
};
