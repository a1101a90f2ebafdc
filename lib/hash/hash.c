/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SipHash and the process secret (see bwg_hash.h). Written from the algorithm's
 * specification (Aumasson, Bernstein: "SipHash: a fast short-input PRF", 2012); the
 * unit test checks it against the specification's vectors and OpenSSL's SIPHASH MAC.
 *
 * Any thread; the secret is written once, before workers start.
 */

#include <errno.h>
#include <sys/random.h>

#include "bwg_hash.h"

struct bwg_hash_key bwg_hash_secret;
static int secret_drawn;

int
bwg_hash_secret_init(void)
{
	if (secret_drawn)
		return 0;
	struct bwg_hash_key k;
	size_t got = 0;
	while (got < sizeof(k)) {
		ssize_t n = getrandom((uint8_t *)&k + got, sizeof(k) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	bwg_hash_secret = k;
	secret_drawn = 1;
	return 0;
}

void
bwg_hash_secret_set(uint64_t k0, uint64_t k1)
{
	bwg_hash_secret.k0 = k0;
	bwg_hash_secret.k1 = k1;
	secret_drawn = 1;
}

static inline uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
siphash(const struct bwg_hash_key *k, const uint8_t *in, size_t len, int c, int d,
	int lower)
{
	uint64_t v0 = k->k0 ^ 0x736f6d6570736575ull, v1 = k->k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k->k0 ^ 0x6c7967656e657261ull, v3 = k->k1 ^ 0x7465646279746573ull;
	size_t full = len & ~(size_t)7;
	uint8_t tail[8] = {0};
	for (size_t off = 0; off <= full; off += 8) {
		uint64_t m;
		if (off < full) {
			uint8_t w[8];
			for (int i = 0; i < 8; i++) {
				uint8_t ch = in[off + (size_t)i];
				w[i] = lower && ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch;
			}
			m = load_le64(w);
		} else {
			for (size_t i = 0; i < len - full; i++) {
				uint8_t ch = in[full + i];
				tail[i] = lower && ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch;
			}
			tail[7] = (uint8_t)len;
			m = load_le64(tail);
		}
		v3 ^= m;
		for (int r = 0; r < c; r++)
			BWG_SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	v2 ^= 0xff;
	for (int r = 0; r < d; r++)
		BWG_SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
bwg_siphash13(const struct bwg_hash_key *k, const void *data, size_t len)
{
	return siphash(k, data, len, 1, 3, 0);
}

uint64_t
bwg_siphash24(const struct bwg_hash_key *k, const void *data, size_t len)
{
	return siphash(k, data, len, 2, 4, 0);
}

uint64_t
bwg_siphash13_lower(const struct bwg_hash_key *k, const char *s, size_t len)
{
	return siphash(k, (const uint8_t *)s, len, 1, 3, 1);
}
