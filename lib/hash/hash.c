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

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "bwg_hash.h"

struct bwg_hash_key bwg_hash_secret;
static int secret_drawn;
static void aes_keys_derive(void);

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
	aes_keys_derive();
	return 0;
}

void
bwg_hash_secret_set(uint64_t k0, uint64_t k1)
{
	bwg_hash_secret.k0 = k0;
	bwg_hash_secret.k1 = k1;
	secret_drawn = 1;
	aes_keys_derive();
}

static inline uint64_t
load_le64(const uint8_t *p)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
#else
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
#endif
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
		if (off < full && !lower) {
			m = load_le64(in + off);
		} else if (off < full) {
			uint8_t w[8];
			for (int i = 0; i < 8; i++) {
				uint8_t ch = in[off + (size_t)i];
				w[i] = ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch;
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

/* ---- many messages at once ---------------------------------------------------------- */

static void
batch_scalar(const struct bwg_hash_key *k, const uint64_t *m, size_t stride, unsigned words,
	     uint64_t *out, unsigned from, unsigned n)
{
	uint64_t w[8];
	for (unsigned i = from; i < n; i++) {
		for (unsigned j = 0; j < words; j++)
			w[j] = m[j * stride + i];
		out[i] = bwg_siphash13_words(k, w, words);
	}
}

#if defined(__x86_64__)
/* The SipHash round on four lanes. Rotations by 32 and 16 are byte shuffles. */
#define V_ROTL(x, b) _mm256_or_si256(_mm256_slli_epi64(x, b), _mm256_srli_epi64(x, 64 - (b)))
#define V_ROUND(v0, v1, v2, v3, rot16)                                                             \
	do {                                                                                       \
		v0 = _mm256_add_epi64(v0, v1);                                                     \
		v1 = V_ROTL(v1, 13);                                                               \
		v1 = _mm256_xor_si256(v1, v0);                                                     \
		v0 = _mm256_shuffle_epi32(v0, 0xb1);                                               \
		v2 = _mm256_add_epi64(v2, v3);                                                     \
		v3 = _mm256_shuffle_epi8(v3, rot16);                                               \
		v3 = _mm256_xor_si256(v3, v2);                                                     \
		v0 = _mm256_add_epi64(v0, v3);                                                     \
		v3 = V_ROTL(v3, 21);                                                               \
		v3 = _mm256_xor_si256(v3, v0);                                                     \
		v2 = _mm256_add_epi64(v2, v1);                                                     \
		v1 = V_ROTL(v1, 17);                                                               \
		v1 = _mm256_xor_si256(v1, v2);                                                     \
		v2 = _mm256_shuffle_epi32(v2, 0xb1);                                               \
	} while (0)

__attribute__((target("avx2"))) static unsigned
batch_avx2(const struct bwg_hash_key *k, const uint64_t *m, size_t stride, unsigned words,
	   uint64_t *out, unsigned n)
{
	const __m256i rot16 = _mm256_setr_epi8(6, 7, 0, 1, 2, 3, 4, 5, 14, 15, 8, 9, 10, 11, 12,
					       13, 6, 7, 0, 1, 2, 3, 4, 5, 14, 15, 8, 9, 10, 11,
					       12, 13);
	const __m256i k0 = _mm256_set1_epi64x((long long)k->k0);
	const __m256i k1 = _mm256_set1_epi64x((long long)k->k1);
	const __m256i last = _mm256_set1_epi64x((long long)((uint64_t)(8 * words) << 56));
	const __m256i ff = _mm256_set1_epi64x(0xff);
	unsigned i = 0;
	for (; i + 4 <= n; i += 4) {
		__m256i v0 = _mm256_xor_si256(k0, _mm256_set1_epi64x(0x736f6d6570736575ll));
		__m256i v1 = _mm256_xor_si256(k1, _mm256_set1_epi64x(0x646f72616e646f6dll));
		__m256i v2 = _mm256_xor_si256(k0, _mm256_set1_epi64x(0x6c7967656e657261ll));
		__m256i v3 = _mm256_xor_si256(k1, _mm256_set1_epi64x(0x7465646279746573ll));
		for (unsigned j = 0; j < words; j++) {
			__m256i x = _mm256_loadu_si256((const __m256i *)(m + j * stride + i));
			v3 = _mm256_xor_si256(v3, x);
			V_ROUND(v0, v1, v2, v3, rot16);
			v0 = _mm256_xor_si256(v0, x);
		}
		v3 = _mm256_xor_si256(v3, last);
		V_ROUND(v0, v1, v2, v3, rot16);
		v0 = _mm256_xor_si256(v0, last);
		v2 = _mm256_xor_si256(v2, ff);
		V_ROUND(v0, v1, v2, v3, rot16);
		V_ROUND(v0, v1, v2, v3, rot16);
		V_ROUND(v0, v1, v2, v3, rot16);
		__m256i h = _mm256_xor_si256(_mm256_xor_si256(v0, v1), _mm256_xor_si256(v2, v3));
		_mm256_storeu_si256((__m256i *)(out + i), h);
	}
	return i;
}
#endif

void
bwg_siphash13_batch(const struct bwg_hash_key *k, const uint64_t *m, size_t stride,
		    unsigned words, uint64_t *out, unsigned n)
{
	unsigned done = 0;
#if defined(__x86_64__)
	if (__builtin_cpu_supports("avx2"))
		done = batch_avx2(k, m, stride, words, out, n);
#endif
	batch_scalar(k, m, stride, words, out, done, n);
}

/* ---- the flow table's hash: AES rounds where the CPU has them ------------------------ */

/*
 * Round keys are SipHash-2-4 of their number under the secret: as secret as it is, and
 * independent of one another. Two rounds already make every output bit depend on every
 * input bit; four after the last block and three between blocks keep the differential
 * trails an attacker would need below 2^-100 (AES: at least 25 active S-boxes in four
 * rounds), and nothing outside the process ever sees a hash value.
 */
uint64_t bwg_hash_aes_rk[BWG_AES_RK][2] __attribute__((aligned(16)));
int bwg_hash_aes;
static int aes_refused; /* bwg_hash_use_aes(0) */

static int
aes_cpu(void)
{
#if defined(__x86_64__)
	return __builtin_cpu_supports("aes") && __builtin_cpu_supports("avx");
#else
	return 0;
#endif
}

static void
aes_keys_derive(void)
{
	for (uint64_t i = 0; i < BWG_AES_RK; i++)
		for (uint64_t half = 0; half < 2; half++) {
			/* "bwg-aes-", then the round key's number and half */
			const uint64_t in[2] = {0x2d7365612d677762ull, i | half << 8};
			bwg_hash_aes_rk[i][half] = bwg_siphash24(&bwg_hash_secret, in, sizeof(in));
		}
	bwg_hash_aes = !aes_refused && aes_cpu();
}

/* Keys for the all-zero secret until one is set: every process hashes one way throughout. */
__attribute__((constructor)) static void
aes_keys_initial(void)
{
	aes_keys_derive();
}

int
bwg_hash_use_aes(int on)
{
	aes_refused = !on;
	bwg_hash_aes = on && aes_cpu();
	return bwg_hash_aes;
}

#if defined(__x86_64__)
__attribute__((target("avx,aes"))) static uint64_t
aes_hash(const uint64_t *m, unsigned words)
{
	return bwg_aes_words(m, 1, words);
}
#endif

uint64_t
bwg_hash_words(const uint64_t *m, unsigned words)
{
#if defined(__x86_64__)
	if (bwg_hash_aes)
		return aes_hash(m, words);
#endif
	return bwg_siphash13_words(&bwg_hash_secret, m, words);
}
