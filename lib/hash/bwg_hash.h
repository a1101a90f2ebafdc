/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_HASH_H
#define BWG_HASH_H

/*
 * Keyed hashing for every table an outsider can fill (flows, host names, per-host
 * meters, fragments, names learned from DNS, host behaviour): SipHash-1-3 (Aumasson and
 * Bernstein's SipHash with one compression and three finalisation rounds, the variant
 * hash tables use) under a 128-bit secret drawn from the kernel at start-up. Without
 * the secret an attacker cannot aim packets at one bucket chain, which an unkeyed CRC
 * lets anyone do by linear algebra. The flow table, hashed for every packet, uses AES
 * rounds under round keys drawn from the same secret where the CPU has AES-NI
 * (bwg_hash_words below).
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

/*
 * The flow table's keyed hash of a message of `words` (1..8) 64-bit words: rounds of AES
 * (the CPU's AES-NI) under round keys drawn from the process secret where the CPU has
 * it, else SipHash-1-3 under the secret. Flow keys are hashed for every packet, and
 * four AES rounds over an IPv4 key cost a third of SipHash's instructions; the bucket a
 * key lands in still depends on every bit of the key and of the secret, and nobody
 * outside sees a hash value. The choice is made once, at start-up: the same message
 * and secret hash the same throughout a process.
 */
uint64_t bwg_hash_words(const uint64_t *m, unsigned words);
/* Whether bwg_hash_words() is AES (then bwg_aes_words() below equals it). */
extern int bwg_hash_aes;
/* Tests: use AES (1) or SipHash (0) from now on, where the CPU allows; returns
 * bwg_hash_aes. The choice outlasts bwg_hash_secret_set(). */
int bwg_hash_use_aes(int on);

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

#if defined(__x86_64__)
#include <immintrin.h>

/* Round keys of bwg_aes_words(), drawn from the secret whenever it is set. */
#define BWG_AES_RK 16
extern uint64_t bwg_hash_aes_rk[BWG_AES_RK][2];

/*
 * The last rounds of bwg_aes_words(): state s, then four rounds under k[0..3]. A caller
 * that hashes many two-word messages holds the round keys in registers and calls
 * bwg_aes_2w() with rk0 = round key 0 XOR the word count (2) and k = round keys 1..4.
 */
__attribute__((target("avx,aes"))) static inline uint64_t
bwg_aes_final(__m128i s, const __m128i *k)
{
	s = _mm_aesenc_si128(s, k[0]);
	s = _mm_aesenc_si128(s, k[1]);
	s = _mm_aesenc_si128(s, k[2]);
	s = _mm_aesenc_si128(s, k[3]);
	return (uint64_t)_mm_cvtsi128_si64(s);
}

__attribute__((target("avx,aes"))) static inline uint64_t
bwg_aes_2w(uint64_t m0, uint64_t m1, __m128i rk0, const __m128i *k)
{
	return bwg_aes_final(_mm_xor_si128(_mm_set_epi64x((long long)m1, (long long)m0), rk0), k);
}

/*
 * bwg_hash_words() where bwg_hash_aes: the message in 128-bit blocks (word j of it at
 * m[j * stride]), the first whitened with round key 0 and the word count, each further
 * one XORed in after three rounds, then four rounds; the low 64 bits of the state.
 */
__attribute__((target("avx,aes"))) static inline uint64_t
bwg_aes_words(const uint64_t *m, size_t stride, unsigned words)
{
	const __m128i *rk = (const __m128i *)bwg_hash_aes_rk;
	__m128i s = _mm_set_epi64x((long long)(words > 1 ? m[stride] : 0), (long long)m[0]);
	s = _mm_xor_si128(s, _mm_xor_si128(_mm_load_si128(rk), _mm_cvtsi32_si128((int)words)));
	unsigned r = 1;
	for (unsigned j = 2; j < words; j += 2, r += 3) {
		s = _mm_aesenc_si128(s, _mm_load_si128(rk + r));
		s = _mm_aesenc_si128(s, _mm_load_si128(rk + r + 1));
		s = _mm_aesenc_si128(s, _mm_load_si128(rk + r + 2));
		uint64_t hi = j + 1 < words ? m[(j + 1) * stride] : 0;
		s = _mm_xor_si128(s, _mm_set_epi64x((long long)hi, (long long)m[j * stride]));
	}
	return bwg_aes_final(s, rk + r);
}
#endif

#endif
