/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "bt_dht": BitTorrent's distributed hash table (BEP 5, Mainline DHT,
 * bittorrent.org/beps/bep_0005.html), the UDP traffic a BitTorrent client keeps up with
 * thousands of peers to find others, which nDPI 4.2 does not always name. DHT messages
 * are KRPC: one bencoded dictionary per datagram (BEP 3 "bencoding": i<digits>e, <len>:
 * <bytes>, l...e, d...e with string keys), with a transaction id "t" (a string) and a
 * type "y": "q" query (with method name "q" and arguments dict "a"), "r" response
 * (values dict "r") or "e" error (list "e"). A query therefore starts "d1:ad2:id20:", a
 * response "d1:rd2:id20:".
 *
 * The datagram must be exactly one well-formed bencoded dictionary (nothing after it,
 * nesting at most 8 deep) holding "t" and a "y" whose body ("a"+"q", "r" or "e") is
 * there with its type: random or other binary data is never that. Looks at the first
 * two payloads each way. Only for flows nDPI could not name. Worker thread; stateless.
 */

#include "bwg_classify.h"
#include "det_common.h"

#define MAX_DEPTH 8

/* A decimal length or integer at b[*off..n) up to the byte `end`; false if malformed. */
static bool
number(const uint8_t *b, uint32_t n, uint32_t *off, uint8_t end, uint64_t *v)
{
	uint32_t i = *off, digits = 0;
	uint64_t x = 0;
	if (end == 'e' && i < n && b[i] == '-')
		i++;
	for (; i < n && b[i] >= '0' && b[i] <= '9'; i++, digits++) {
		if (digits == 18)
			return false;
		x = x * 10 + (b[i] - '0');
	}
	if (!digits || i >= n || b[i] != end)
		return false;
	*off = i + 1;
	*v = x;
	return true;
}

/* A string at b[*off..n): its bytes in *s, *slen. */
static bool
string(const uint8_t *b, uint32_t n, uint32_t *off, const uint8_t **s, uint32_t *slen)
{
	uint64_t len;
	if (!number(b, n, off, ':', &len) || len > n - *off)
		return false;
	*s = b + *off;
	*slen = (uint32_t)len;
	*off += (uint32_t)len;
	return true;
}

/* One value of any type at b[*off..n); *type is its first byte ('i', 'l', 'd' or a digit). */
static bool
value(const uint8_t *b, uint32_t n, uint32_t *off, int depth, uint8_t *type)
{
	if (*off >= n || depth > MAX_DEPTH)
		return false;
	const uint8_t *s;
	uint32_t slen;
	uint64_t v;
	uint8_t t = b[*off], sub;
	*type = t;
	switch (t) {
	case 'i':
		++*off;
		return number(b, n, off, 'e', &v);
	case 'l':
	case 'd':
		++*off;
		while (*off < n && b[*off] != 'e') {
			if (t == 'd' && !string(b, n, off, &s, &slen))
				return false;
			if (!value(b, n, off, depth + 1, &sub))
				return false;
		}
		if (*off >= n)
			return false;
		++*off;
		return true;
	default:
		return t >= '0' && t <= '9' && string(b, n, off, &s, &slen);
	}
}

static bool
is_krpc(const uint8_t *b, uint32_t n)
{
	if (n < 2 || b[0] != 'd')
		return false;
	uint32_t off = 1;
	uint8_t type_of[128] = {0}; /* one-letter keys seen: the type of their value */
	uint8_t y = 0;
	while (off < n && b[off] != 'e') {
		const uint8_t *key, *val = NULL;
		uint32_t klen, vlen = 0;
		if (!string(b, n, &off, &key, &klen))
			return false;
		uint32_t start = off;
		uint8_t t;
		if (!value(b, n, &off, 1, &t))
			return false;
		if (klen == 1 && key[0] < 128) {
			type_of[key[0]] = t;
			if (key[0] == 'y' && t >= '0' && t <= '9') {
				string(b, n, &start, &val, &vlen);
				y = vlen == 1 ? val[0] : '?';
			}
		}
	}
	/* Exactly one dictionary: its closing 'e' is the datagram's last byte. */
	if (off + 1 != n)
		return false;
	bool t_str = type_of['t'] >= '0' && type_of['t'] <= '9';
	bool q_str = type_of['q'] >= '0' && type_of['q'] <= '9';
	switch (y) {
	case 'q':
		return t_str && q_str && type_of['a'] == 'd';
	case 'r':
		return t_str && type_of['r'] == 'd';
	case 'e':
		return t_str && type_of['e'] == 'l';
	default:
		return false;
	}
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	return is_krpc(p->payload, p->len) ? BWG_DET_MATCH : BWG_DET_MAYBE;
}

const struct bwg_detector bwg_det_bt_dht = {
	.name = "bt_dht",
	.rule = "a BitTorrent DHT message (BEP 5): one bencoded dictionary with an id \"t\" and a "
		"type \"y\": query (\"q\", \"a\"), response \"r\" or error \"e\"",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_UDP,
	.max_payloads = 2,
	.unknown_only = true,
	.packet = packet,
};
