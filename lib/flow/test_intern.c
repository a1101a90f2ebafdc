/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Intern table tests: reference counts, one id per key, zeroed values, slot reuse
 * after the last reference goes, a full table, and random churn against a reference.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bwg_intern.h"

#define KEY_LEN 80 /* as the worker's host table: char[BWG_DPI_HOST_MAX] */

static void
key_of(char k[KEY_LEN], const char *name)
{
	memset(k, 0, KEY_LEN);
	snprintf(k, KEY_LEN, "%s", name);
}

static void
test_get_put_refcounts(void **state)
{
	(void)state;
	struct bwg_intern t;
	assert_int_equal(bwg_intern_init(&t, 8, KEY_LEN, 16), 0);
	char a[KEY_LEN], b[KEY_LEN];
	key_of(a, "www.example.com");
	key_of(b, "video.example.net");
	int created = -1;

	uint32_t ia = bwg_intern_get(&t, a, &created);
	assert_int_not_equal(ia, BWG_INTERN_NONE);
	assert_int_equal(created, 1);
	assert_int_equal(t.used, 1);
	assert_memory_equal(bwg_intern_key(&t, ia), a, KEY_LEN);

	/* The value starts zeroed and is 8-byte aligned. */
	uint8_t *v = bwg_intern_val(&t, ia);
	assert_int_equal((uintptr_t)v % 8, 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(v[i], 0);
	memset(v, 0x5a, 16);

	/* Same key, same id, no new entry. */
	assert_int_equal(bwg_intern_get(&t, a, &created), ia);
	assert_int_equal(created, 0);
	assert_int_equal(bwg_intern_get(&t, a, &created), ia);
	assert_int_equal(t.refs[ia], 3);
	assert_int_equal(t.used, 1);

	uint32_t ib = bwg_intern_get(&t, b, &created);
	assert_int_equal(created, 1);
	assert_int_not_equal(ib, ia);
	assert_int_equal(t.used, 2);

	/* Two puts of three: still there, value intact. */
	bwg_intern_put(&t, ia);
	bwg_intern_put(&t, ia);
	assert_int_equal(t.used, 2);
	assert_int_equal(bwg_intern_get(&t, a, &created), ia);
	assert_int_equal(created, 0);
	assert_int_equal(((uint8_t *)bwg_intern_val(&t, ia))[15], 0x5a);
	bwg_intern_put(&t, ia);
	bwg_intern_put(&t, ia); /* the last reference */
	assert_int_equal(t.used, 1);

	/* Gone: getting it again creates a fresh entry with a zeroed value. */
	uint32_t ia2 = bwg_intern_get(&t, a, &created);
	assert_int_equal(created, 1);
	v = bwg_intern_val(&t, ia2);
	for (int i = 0; i < 16; i++)
		assert_int_equal(v[i], 0);
	assert_int_equal(bwg_intern_get(&t, b, &created), ib);
	assert_int_equal(created, 0);
	bwg_intern_fini(&t);
}

static void
test_full_and_reuse(void **state)
{
	(void)state;
	enum { CAP = 4 };
	struct bwg_intern t;
	assert_int_equal(bwg_intern_init(&t, CAP, KEY_LEN, 0), 0);
	char k[KEY_LEN];
	uint32_t id[CAP];
	int created;
	for (int i = 0; i < CAP; i++) {
		char name[16];
		snprintf(name, sizeof(name), "h%d", i);
		key_of(k, name);
		id[i] = bwg_intern_get(&t, k, &created);
		assert_int_equal(created, 1);
		assert_true(id[i] < CAP);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(id[i], id[j]);
	}
	key_of(k, "one-too-many");
	assert_int_equal(bwg_intern_get(&t, k, &created), BWG_INTERN_NONE);
	assert_int_equal(created, 0);
	/* A key already present still gets a reference on a full table. */
	char h1[KEY_LEN];
	key_of(h1, "h1");
	assert_int_equal(bwg_intern_get(&t, h1, &created), id[1]);
	assert_int_equal(created, 0);
	bwg_intern_put(&t, id[1]);

	/* Free h2: its slot is the only one, so the next new key lands there. */
	bwg_intern_put(&t, id[2]);
	assert_int_equal(t.used, CAP - 1);
	assert_int_equal(bwg_intern_get(&t, k, &created), id[2]);
	assert_int_equal(created, 1);
	assert_memory_equal(bwg_intern_key(&t, id[2]), k, KEY_LEN);
	char h2[KEY_LEN];
	key_of(h2, "h2");
	assert_int_equal(bwg_intern_get(&t, h2, &created), BWG_INTERN_NONE);
	/* The others are untouched. */
	assert_int_equal(bwg_intern_get(&t, h1, &created), id[1]);
	assert_int_equal(created, 0);
	bwg_intern_fini(&t);
}

static void
test_short_keys_and_stride(void **state)
{
	(void)state;
	/* A 20-byte key with a 2 x 32-byte value, like the per-host meter table. */
	struct bwg_intern t;
	assert_int_equal(bwg_intern_init(&t, 16, 20, 64), 0);
	assert_int_equal(t.val_off, 24);
	assert_int_equal(t.stride % 8, 0);
	assert_true(t.stride >= 24 + 64);
	uint8_t k1[20] = {1}, k2[20] = {1};
	k2[19] = 1; /* differs in the last byte only */
	int c1, c2;
	uint32_t a = bwg_intern_get(&t, k1, &c1), b = bwg_intern_get(&t, k2, &c2);
	assert_int_equal(c1, 1);
	assert_int_equal(c2, 1);
	assert_int_not_equal(a, b);
	memset(bwg_intern_val(&t, a), 0xff, 64);
	/* Writing a's value does not spill into b's key or value. */
	assert_memory_equal(bwg_intern_key(&t, b), k2, 20);
	for (int i = 0; i < 64; i++)
		assert_int_equal(((uint8_t *)bwg_intern_val(&t, b))[i], 0);
	bwg_intern_fini(&t);
}

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static void
test_churn(void **state)
{
	(void)state;
	enum { CAP = 256, KEYS = 400, OPS = 100000 };
	struct bwg_intern t;
	assert_int_equal(bwg_intern_init(&t, CAP, KEY_LEN, 8), 0);
	static uint32_t refs[KEYS], ids[KEYS];
	uint32_t used = 0;
	uint64_t s = 99;
	for (uint32_t op = 0; op < OPS; op++) {
		uint32_t i = (uint32_t)(rnd(&s) % KEYS);
		char k[KEY_LEN], name[16];
		snprintf(name, sizeof(name), "k%u", i);
		key_of(k, name);
		if (refs[i] && (rnd(&s) % 2)) {
			bwg_intern_put(&t, ids[i]);
			if (--refs[i] == 0)
				used--;
		} else {
			int created;
			uint32_t id = bwg_intern_get(&t, k, &created);
			if (refs[i]) {
				assert_int_equal(id, ids[i]);
				assert_int_equal(created, 0);
				refs[i]++;
			} else if (used == CAP) {
				assert_int_equal(id, BWG_INTERN_NONE);
			} else {
				assert_int_not_equal(id, BWG_INTERN_NONE);
				assert_int_equal(created, 1);
				ids[i] = id;
				refs[i] = 1;
				used++;
			}
		}
		assert_int_equal(t.used, used);
	}
	for (uint32_t i = 0; i < KEYS; i++) {
		if (refs[i])
			assert_int_equal(t.refs[ids[i]], refs[i]);
		while (refs[i]--)
			bwg_intern_put(&t, ids[i]);
	}
	assert_int_equal(t.used, 0);
	bwg_intern_fini(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_put_refcounts),
		cmocka_unit_test(test_full_and_reuse),
		cmocka_unit_test(test_short_keys_and_stride),
		cmocka_unit_test(test_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
