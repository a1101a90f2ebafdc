/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SipHash tests: the specification's SipHash-2-4 vectors, SipHash-1-3 against OpenSSL's
 * SIPHASH MAC (c-rounds 1, d-rounds 3), the five-word flow form against the generic one,
 * the lower-casing variant, many messages at once against one at a time, and a secret
 * that really is drawn.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bwg_hash.h"

static const struct bwg_hash_key spec_key = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

static void
test_siphash24_vectors(void **state)
{
	(void)state;
	uint8_t in[15];
	for (int i = 0; i < 15; i++)
		in[i] = (uint8_t)i;
	assert_true(bwg_siphash24(&spec_key, in, 0) == 0x726fdb47dd0e0e31ull);
	assert_true(bwg_siphash24(&spec_key, in, 1) == 0x74f839c593dc67fdull);
	assert_true(bwg_siphash24(&spec_key, in, 15) == 0xa129ca6149be45e5ull);
}

static void
test_siphash13_vectors(void **state)
{
	(void)state;
	uint8_t in[40];
	for (int i = 0; i < 40; i++)
		in[i] = (uint8_t)i;
	/* openssl mac -macopt hexkey:000102...0f -macopt size:8 -macopt c-rounds:1
	 *             -macopt d-rounds:3 SIPHASH (printed little-endian) */
	assert_true(bwg_siphash13(&spec_key, in, 1) == 0xc9f49bf37d57ca93ull);
	assert_true(bwg_siphash13(&spec_key, "abc", 3) == 0x6fce24e8af8146ebull);
	assert_true(bwg_siphash13(&spec_key, in, 40) == 0xc1d2363299e41531ull);
}

static void
test_five_words_equal_generic(void **state)
{
	(void)state;
	uint64_t w[5] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull, 0x1716151413121110ull,
			 0x1f1e1d1c1b1a1918ull, 0x2726252423222120ull};
	assert_true(bwg_siphash13_5w(&spec_key, w[0], w[1], w[2], w[3], w[4]) ==
		    0xc1d2363299e41531ull);
	struct bwg_hash_key k = {0x1234, 0x5678};
	for (int i = 0; i < 5; i++)
		w[i] = w[i] * 0x9e3779b97f4a7c15ull + (uint64_t)i;
	assert_true(bwg_siphash13_5w(&k, w[0], w[1], w[2], w[3], w[4]) ==
		    bwg_siphash13(&k, w, sizeof(w)));
}

static void
test_lower(void **state)
{
	(void)state;
	const char *a = "WWW.Example.COM.long.name.example", *b = "www.example.com.long.name.example";
	assert_true(bwg_siphash13_lower(&spec_key, a, strlen(a)) ==
		    bwg_siphash13(&spec_key, b, strlen(b)));
	assert_true(bwg_siphash13_lower(&spec_key, a, strlen(a)) !=
		    bwg_siphash13(&spec_key, a, strlen(a)));
}

/* Many messages at once equal one at a time, for every count around the lane width. */
static void
test_batch_equals_words(void **state)
{
	(void)state;
	enum { N = 19, STRIDE = 24 };
	uint64_t m[8 * STRIDE], out[N], x = 0x243f6a8885a308d3ull;
	for (unsigned i = 0; i < 8 * STRIDE; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		m[i] = x;
	}
	struct bwg_hash_key k = {0x0123456789abcdefull, 0xfedcba9876543210ull};
	for (unsigned words = 1; words <= 8; words++)
		for (unsigned n = 0; n <= N; n++) {
			memset(out, 0, sizeof(out));
			bwg_siphash13_batch(&k, m, STRIDE, words, out, n);
			for (unsigned i = 0; i < n; i++) {
				uint64_t w[8];
				for (unsigned j = 0; j < words; j++)
					w[j] = m[j * STRIDE + i];
				assert_true(out[i] == bwg_siphash13_words(&k, w, words));
			}
		}
}

/*
 * The flow table's hash, AES rounds and SipHash alike: every bit of every word and of
 * the secret moves it, the word count is part of it, and the SipHash choice equals
 * bwg_siphash13_words().
 */
static void
test_hash_words(void **state)
{
	(void)state;
	bwg_hash_secret_set(0x0123456789abcdefull, 0xfedcba9876543210ull);
	for (int aes = 0; aes < 2; aes++) {
		bwg_hash_use_aes(aes);
		for (unsigned words = 1; words <= 8; words++) {
			uint64_t m[8] = {0}, x = 0x243f6a8885a308d3ull;
			for (unsigned j = 0; j < words; j++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				m[j] = x;
			}
			uint64_t h = bwg_hash_words(m, words);
			if (!aes)
				assert_true(h == bwg_siphash13_words(&bwg_hash_secret, m, words));
			for (unsigned bit = 0; bit < 64 * words; bit++) {
				m[bit / 64] ^= 1ull << (bit % 64);
				uint64_t g = bwg_hash_words(m, words);
				m[bit / 64] ^= 1ull << (bit % 64);
				/* A flip moves about half of the low 32 bits, the bucket's. */
				int moved = __builtin_popcount((uint32_t)(g ^ h));
				assert_true(moved >= 4 && moved <= 28);
			}
			if (words < 8)
				/* a zero word more */
				assert_true(bwg_hash_words(m, words + 1) != h);
			for (int bit = 0; bit < 128; bit++) {
				struct bwg_hash_key k = {0x0123456789abcdefull,
							 0xfedcba9876543210ull};
				if (bit < 64)
					k.k0 ^= 1ull << bit;
				else
					k.k1 ^= 1ull << (bit - 64);
				bwg_hash_secret_set(k.k0, k.k1);
				assert_true(bwg_hash_words(m, words) != h);
			}
			bwg_hash_secret_set(0x0123456789abcdefull, 0xfedcba9876543210ull);
			assert_true(bwg_hash_words(m, words) == h);
		}
	}
	bwg_hash_use_aes(1);
}

static void
test_secret_drawn(void **state)
{
	(void)state;
	assert_int_equal(bwg_hash_secret_init(), 0);
	struct bwg_hash_key k = bwg_hash_secret;
	assert_true(k.k0 != 0 || k.k1 != 0);
	/* Drawn once: a second call keeps it. */
	assert_int_equal(bwg_hash_secret_init(), 0);
	assert_true(bwg_hash_secret.k0 == k.k0 && bwg_hash_secret.k1 == k.k1);
	bwg_hash_secret_set(1, 2);
	assert_true(bwg_hash_secret.k0 == 1 && bwg_hash_secret.k1 == 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash24_vectors),
		cmocka_unit_test(test_siphash13_vectors),
		cmocka_unit_test(test_five_words_equal_generic),
		cmocka_unit_test(test_lower),
		cmocka_unit_test(test_batch_equals_words),
		cmocka_unit_test(test_hash_words),
		cmocka_unit_test(test_secret_drawn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
