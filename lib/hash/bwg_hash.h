/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_HASH_H
#define BWG_HASH_H

/*
 * Keyed hashing for every table an outsider can fill (flows, host names, per-host
 * meters, fragments, names learned from DNS, host behaviour): SipHash-1-3 (Aumasson and
 * Bernstein's SipHash with one compression and three finalisation rounds, the variant
 * hash tables use) under a 128-bit secret drawn from the kernel at start-up. Without
 * the secret an attacker cannot aim packets at one bucket chain, which an unkeyed CRC
 * lets anyone do by linear algebra.
 *
 * The secret is process-wide: set once by the control thread before any table is
 * built (bwg_hash_secret_init), read-only afterwards. Tests may fix it.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct bwg_hash_key {
	uint64_t k0, k1;
};

/* The process's secret. Before bwg_hash_secret_init() it is all zeroes. */
extern struct bwg_hash_key bwg_hash_secret;

/* Draw the secret from getrandom(). Idempotent: only the first call draws. Returns 0,
 * or -errno when the kernel gave no randomness (the secret then stays as it was). */
int bwg_hash_secret_init(void);
/* Use a fixed secret (tests, benchmarks, reproducible runs). */
void bwg_hash_secret_set(uint64_t k0, uint64_t k1);

/* SipHash-1-3 / SipHash-2-4 of `len` bytes under key k. */
uint64_t bwg_siphash13(const struct bwg_hash_key *k, const void *data, size_t len);
uint64_t bwg_siphash24(const struct bwg_hash_key *k, const void *data, size_t len);

/* SipHash-1-3 of a string folded to lower case (ASCII), at most `max` bytes of it. */
uint64_t bwg_siphash13_lower(const struct bwg_hash_key *k, const char *s, size_t len);

/*
 * SipHash-1-3 of n messages of `words` (1..8) 64-bit words each, stored word by word: word w
 * of message i is m[w * stride + i]. out[i] equals bwg_siphash13_words() of message i.
 * Where the CPU has AVX2 (checked at run time) four messages go through the rounds side
 * by side; a burst of flow keys then costs about a third of hashing them one by one.
 */
void bwg_siphash13_batch(const struct bwg_hash_key *k, const uint64_t *m, size_t stride,
			 unsigned words, uint64_t *out, unsigned n);

/* ---- inline implementation (hot path) -------------------------------------------- */

#define BWG_SIP_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define BWG_SIP_ROUND(v0, v1, v2, v3)                                                              \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = BWG_SIP_ROTL(v1, 13);                                                         \
		v1 ^= v0;                                                                          \
		v0 = BWG_SIP_ROTL(v0, 32);                                                         \
		v2 += v3;                                                                          \
		v3 = BWG_SIP_ROTL(v3, 16);                                                         \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = BWG_SIP_ROTL(v3, 21);                                                         \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = BWG_SIP_ROTL(v1, 17);                                                         \
		v1 ^= v2;                                                                          \
		v2 = BWG_SIP_ROTL(v2, 32);                                                         \
	} while (0)

/*
 * SipHash-1-3 of n 64-bit words (8n bytes, little-endian view), equal to bwg_siphash13()
 * over the same bytes on a little-endian machine. With n a constant the loop unrolls:
 * the flow hash costs n + 4 rounds.
 */
static inline uint64_t
bwg_siphash13_words(const struct bwg_hash_key *k, const uint64_t *m, unsigned n)
{
	uint64_t v0 = k->k0 ^ 0x736f6d6570736575ull, v1 = k->k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k->k0 ^ 0x6c7967656e657261ull, v3 = k->k1 ^ 0x7465646279746573ull;
	for (unsigned i = 0; i <= n; i++) {
		uint64_t w = i < n ? m[i] : (uint64_t)(8 * n) << 56;
		v3 ^= w;
		BWG_SIP_ROUND(v0, v1, v2, v3);
		v0 ^= w;
	}
	v2 ^= 0xff;
	BWG_SIP_ROUND(v0, v1, v2, v3);
	BWG_SIP_ROUND(v0, v1, v2, v3);
	BWG_SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* SipHash-1-3 under the process secret of an address (16 bytes, IPv4 in the first four)
 * with its family and a salt below 2^56 that tells tables or uses apart. */
static inline uint64_t
bwg_hash_addr(uint8_t family, const uint8_t *a, uint64_t salt)
{
	uint64_t m[3];
	memcpy(&m[0], a, 8);
	memcpy(&m[1], a + 8, 8);
	m[2] = (uint64_t)family << 56 | salt;
	return bwg_siphash13_words(&bwg_hash_secret, m, 3);
}

static inline uint64_t
bwg_siphash13_5w(const struct bwg_hash_key *k, uint64_t m0, uint64_t m1, uint64_t m2,
		 uint64_t m3, uint64_t m4)
{
	const uint64_t m[5] = {m0, m1, m2, m3, m4};
	return bwg_siphash13_words(k, m, 5);
}

#endif
