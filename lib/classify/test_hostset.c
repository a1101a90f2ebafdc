/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host pattern set tests: domain and subdomain matching, "*." patterns, longest match,
 * case and trailing dots, duplicates, growth.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bwg_hostset.h"

/* Value of the longest match, or -1. */
static int
match(const struct bwg_hostset *s, const char *host)
{
	uint8_t v = 0xee;
	int hit = bwg_hostset_match(s, host, &v);
	assert_true(hit == 0 || hit == 1);
	if (!hit) {
		assert_int_equal(v, 0xee); /* untouched on a miss */
		return -1;
	}
	return v;
}

static void
test_domain_and_subdomains(void **state)
{
	(void)state;
	struct bwg_hostset s;
	assert_int_equal(bwg_hostset_init(&s, 4), 0);
	assert_int_equal(bwg_hostset_add(&s, "example.com", 3, NULL), 0);
	assert_int_equal(match(&s, "example.com"), 3);
	assert_int_equal(match(&s, "www.example.com"), 3);
	assert_int_equal(match(&s, "a.b.example.com"), 3);
	assert_int_equal(match(&s, "notexample.com"), -1);
	assert_int_equal(match(&s, "example.com.cn"), -1);
	assert_int_equal(match(&s, "example.co"), -1);
	assert_int_equal(match(&s, "xample.com"), -1);
	assert_int_equal(match(&s, "com"), -1);
	assert_int_equal(match(&s, ""), -1);
	bwg_hostset_fini(&s);
}

static void
test_subdomains_only(void **state)
{
	(void)state;
	struct bwg_hostset s;
	assert_int_equal(bwg_hostset_init(&s, 4), 0);
	assert_int_equal(bwg_hostset_add(&s, "*.example.com", 5, NULL), 0);
	assert_int_equal(match(&s, "example.com"), -1);
	assert_int_equal(match(&s, "www.example.com"), 5);
	assert_int_equal(match(&s, "a.b.example.com"), 5);
	assert_int_equal(match(&s, "wwwexample.com"), -1);
	bwg_hostset_fini(&s);
}

static void
test_longest_wins(void **state)
{
	(void)state;
	struct bwg_hostset s;
	assert_int_equal(bwg_hostset_init(&s, 4), 0);
	/* Added short first, then long: order must not matter. */
	assert_int_equal(bwg_hostset_add(&s, "example.com", 1, NULL), 0);
	assert_int_equal(bwg_hostset_add(&s, "a.example.com", 2, NULL), 0);
	assert_int_equal(bwg_hostset_add(&s, "*.deep.a.example.com", 4, NULL), 0);
	assert_int_equal(bwg_hostset_add(&s, "qq.com", 7, NULL), 0);
	assert_int_equal(bwg_hostset_add(&s, "v.qq.com", 8, NULL), 0);
	assert_int_equal(match(&s, "a.example.com"), 2);
	assert_int_equal(match(&s, "x.a.example.com"), 2);
	assert_int_equal(match(&s, "b.example.com"), 1);
	assert_int_equal(match(&s, "example.com"), 1);
	/* "*.deep..." does not cover deep.a.example.com itself: the next longest does. */
	assert_int_equal(match(&s, "deep.a.example.com"), 2);
	assert_int_equal(match(&s, "x.deep.a.example.com"), 4);
	assert_int_equal(match(&s, "v.qq.com"), 8);
	assert_int_equal(match(&s, "apd-vlive.apdcdn.tc.qq.com"), 7);
	assert_int_equal(match(&s, "vv.qq.com"), 7);
	bwg_hostset_fini(&s);
}

static void
test_case_and_trailing_dot(void **state)
{
	(void)state;
	struct bwg_hostset s;
	assert_int_equal(bwg_hostset_init(&s, 4), 0);
	assert_int_equal(bwg_hostset_add(&s, "example.com", 9, NULL), 0);
	assert_int_equal(bwg_hostset_add(&s, "*.bilibili.com", 10, NULL), 0);
	assert_int_equal(match(&s, "EXAMPLE.COM"), 9);
	assert_int_equal(match(&s, "Www.ExAmple.Com"), 9);
	assert_int_equal(match(&s, "example.com."), 9);
	assert_int_equal(match(&s, "WWW.EXAMPLE.COM."), 9);
	assert_int_equal(match(&s, "bilibili.com."), -1);
	assert_int_equal(match(&s, "API.BILIBILI.COM."), 10);
	assert_int_equal(match(&s, "."), -1);
	bwg_hostset_fini(&s);
}

static void
test_duplicates(void **state)
{
	(void)state;
	struct bwg_hostset s;
	assert_int_equal(bwg_hostset_init(&s, 4), 0);
	uint8_t old = 0;
	assert_int_equal(bwg_hostset_add(&s, "v.qq.com", 2, &old), 0);
	/* Same domain, same value: harmless. */
	assert_int_equal(bwg_hostset_add(&s, "v.qq.com", 2, &old), 0);
	assert_int_equal(s.count, 1);
	/* Same domain, other value: refused, the old value is reported and kept. */
	assert_int_equal(bwg_hostset_add(&s, "v.qq.com", 3, &old), -EEXIST);
	assert_int_equal(old, 2);
	assert_int_equal(match(&s, "v.qq.com"), 2);
	/* "*.x" is the same domain as "x". */
	old = 0;
	assert_int_equal(bwg_hostset_add(&s, "*.v.qq.com", 4, &old), -EEXIST);
	assert_int_equal(old, 2);
	/* A NULL old_value pointer is allowed. */
	assert_int_equal(bwg_hostset_add(&s, "v.qq.com", 5, NULL), -EEXIST);
	assert_int_equal(s.count, 1);

	/* "*.x" then "x" with the same value: "x" covers both. */
	assert_int_equal(bwg_hostset_add(&s, "*.youku.com", 6, NULL), 0);
	assert_int_equal(match(&s, "youku.com"), -1);
	assert_int_equal(bwg_hostset_add(&s, "youku.com", 6, NULL), 0);
	assert_int_equal(match(&s, "youku.com"), 6);
	assert_int_equal(match(&s, "v.youku.com"), 6);
	/* ...and "x" then "*.x" does not narrow it again. */
	assert_int_equal(bwg_hostset_add(&s, "*.youku.com", 6, NULL), 0);
	assert_int_equal(match(&s, "youku.com"), 6);
	assert_int_equal(s.count, 2);
	bwg_hostset_fini(&s);
}

static void
test_growth(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct bwg_hostset s;
	assert_int_equal(bwg_hostset_init(&s, 1), 0);
	uint32_t initial_slots = s.mask + 1;
	for (int i = 0; i < N; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%sh%d.zone%d.example.org", (i % 3) ? "" : "*.", i,
			 i % 17);
		assert_int_equal(bwg_hostset_add(&s, name, (uint8_t)(i % 251), NULL), 0);
	}
	assert_int_equal(s.count, N);
	assert_true(s.mask + 1 > initial_slots);
	assert_true(s.mask + 1 >= 2 * N); /* load stays at or below one half */
	for (int i = 0; i < N; i++) {
		char name[64];
		snprintf(name, sizeof(name), "h%d.zone%d.example.org", i, i % 17);
		assert_int_equal(match(&s, name), (i % 3) ? i % 251 : -1);
		snprintf(name, sizeof(name), "www.H%d.ZONE%d.example.org.", i, i % 17);
		assert_int_equal(match(&s, name), i % 251);
	}
	assert_int_equal(match(&s, "zone1.example.org"), -1);
	assert_int_equal(match(&s, "h5000.zone1.example.org"), -1);
	bwg_hostset_fini(&s);
}

static void
test_empty_set(void **state)
{
	(void)state;
	struct bwg_hostset s;
	assert_int_equal(bwg_hostset_init(&s, 0), 0);
	assert_int_equal(match(&s, "example.com"), -1);
	uint8_t v;
	assert_int_equal(bwg_hostset_match(&s, NULL, &v), 0);
	bwg_hostset_fini(&s);
	/* A set that was finalised matches nothing. */
	assert_int_equal(bwg_hostset_match(&s, "example.com", &v), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_and_subdomains),
		cmocka_unit_test(test_subdomains_only),
		cmocka_unit_test(test_longest_wins),
		cmocka_unit_test(test_case_and_trailing_dot),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_empty_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
