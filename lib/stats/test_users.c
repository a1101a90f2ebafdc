/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-user accounting tests: the workers' delta tables (one pair per host and class,
 * emptied by a generation, bounded with losses counted) and the users table (deltas of
 * several workers merged, rates over an interval, block events, least recently seen
 * users evicted and counted).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bwg_hash.h"
#include "bwg_users.h"

static void
v4(uint8_t a[16], uint8_t last)
{
	memset(a, 0, 16);
	a[0] = 10, a[1] = 1, a[2] = 0, a[3] = last;
}

static void
add(struct bwg_user_deltas *d, uint8_t host, uint16_t cls, uint64_t up, uint64_t down)
{
	uint8_t a[16];
	v4(a, host);
	struct bwg_user_delta *e = bwg_user_deltas_get(d, 4, a, cls, 1);
	assert_non_null(e);
	e->pkts[0]++, e->pkts[1]++;
	e->bytes[0] += up, e->bytes[1] += down;
}

static void
test_deltas(void **state)
{
	(void)state;
	struct bwg_user_deltas d;
	assert_int_equal(bwg_user_deltas_init(&d, 4), 0);
	add(&d, 1, 2, 100, 1000);
	add(&d, 1, 2, 10, 0); /* same pair: same delta */
	add(&d, 1, 3, 1, 1);
	add(&d, 2, 2, 5, 5);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.slots[d.used[0]].bytes[0], 110);
	assert_int_equal(d.slots[d.used[0]].pkts[1], 2);
	/* room for 4 pairs (half the slots): the rest is lost and counted */
	add(&d, 3, 2, 1, 1);
	uint8_t a[16];
	v4(a, 9);
	assert_null(bwg_user_deltas_get(&d, 4, a, 2, 1));
	assert_int_equal(d.lost, 1);
	bwg_user_deltas_clear(&d);
	assert_int_equal(d.n, 0);
	add(&d, 9, 2, 7, 7);
	assert_int_equal(d.slots[d.used[0]].bytes[0], 7);
	bwg_user_deltas_fini(&d);
	struct bwg_user_deltas none;
	assert_int_equal(bwg_user_deltas_init(&none, 0), 0);
	assert_null(bwg_user_deltas_get(&none, 4, a, 2, 1));
	bwg_user_deltas_fini(&none);
}

static void
test_merge(void **state)
{
	(void)state;
	struct bwg_user_deltas w0, w1;
	struct bwg_users u;
	assert_int_equal(bwg_user_deltas_init(&w0, 16), 0);
	assert_int_equal(bwg_user_deltas_init(&w1, 16), 0);
	assert_int_equal(bwg_users_init(&u, 8), 0);
	/* one user's flows on two workers */
	add(&w0, 1, 2, 100, 1000);
	add(&w1, 1, 2, 50, 500);
	add(&w1, 1, 5, 1, 2);
	bwg_users_interval(&u, 1000000000);
	bwg_users_merge(&u, &w0, 1000);
	bwg_users_merge(&u, &w1, 2000);
	uint8_t a[16];
	v4(a, 1);
	const struct bwg_user *x = bwg_users_find(&u, 4, a);
	assert_non_null(x);
	assert_int_equal(u.n, 1);
	assert_int_equal(x->n_classes, 2);
	assert_int_equal(x->cls[0].slot, 2);
	assert_int_equal(x->cls[0].bytes[0], 150);
	assert_int_equal(x->cls[0].bytes[1], 1500);
	assert_int_equal(x->cls[0].pkts[0], 2);
	assert_int_equal(x->acc_bytes[0], 151);
	assert_int_equal(bwg_users_rate(&u, x, x->acc_bytes[0], x->prev_bytes[0]), 0);
	assert_int_equal(x->first_ns, 1000);
	assert_int_equal(x->last_ns, 2000);
	/* the next interval: rates start again, totals go on */
	bwg_user_deltas_clear(&w0);
	add(&w0, 1, 2, 1, 1);
	bwg_users_interval(&u, 1000000000);
	assert_int_equal(bwg_users_rate(&u, x, x->acc_bytes[0], x->prev_bytes[0]), 151);
	bwg_users_merge(&u, &w0, 3000);
	assert_int_equal(bwg_users_rate(&u, x, x->acc_bytes[0], x->prev_bytes[0]), 151);
	assert_int_equal(x->acc_bytes[0], 1);
	assert_int_equal(x->cls[0].acc_bytes, 2);
	assert_int_equal(x->cls[1].acc_bytes, 0);
	assert_int_equal(x->cls[1].prev_bytes, 3);
	bwg_users_interval(&u, 1000000000);
	assert_int_equal(bwg_users_rate(&u, x, x->acc_bytes[0], x->prev_bytes[0]), 1);
	bwg_users_interval(&u, 1000000000);
	assert_int_equal(bwg_users_rate(&u, x, x->acc_bytes[0], x->prev_bytes[0]), 0);
	assert_int_equal(x->cls[0].bytes[0], 151);
	/* a block event */
	struct bwg_user_block blk = {.time_ns = 4000, .action = BWG_ACTION_BLOCK};
	snprintf(blk.rule, sizeof(blk.rule), "no-p2p");
	bwg_users_block(&u, 4, a, 5, 1, &blk);
	assert_int_equal(x->cls[1].blocked, 1);
	assert_int_equal(x->n_blocks, 1);
	assert_string_equal(x->blocks[0].rule, "no-p2p");
	for (int i = 0; i < BWG_USER_BLOCKS + 3; i++)
		bwg_users_block(&u, 4, a, 7, 1, &blk);
	assert_int_equal(x->n_blocks, BWG_USER_BLOCKS);
	assert_int_equal(x->n_classes, 3);
	bwg_user_deltas_fini(&w0);
	bwg_user_deltas_fini(&w1);
	bwg_users_fini(&u);
}

static void
test_evict(void **state)
{
	(void)state;
	struct bwg_user_deltas d;
	struct bwg_users u;
	assert_int_equal(bwg_user_deltas_init(&d, 64), 0);
	assert_int_equal(bwg_users_init(&u, 4), 0);
	for (uint8_t h = 1; h <= 4; h++)
		add(&d, h, 2, h, h);
	bwg_users_merge(&u, &d, 100);
	bwg_user_deltas_clear(&d);
	add(&d, 1, 2, 1, 1); /* host 1 seen again: host 2 is now the least recently seen */
	bwg_users_merge(&u, &d, 200);
	bwg_user_deltas_clear(&d);
	add(&d, 5, 2, 1, 1);
	add(&d, 6, 2, 1, 1);
	bwg_users_merge(&u, &d, 300);
	assert_int_equal(u.n, 4);
	assert_int_equal(u.evictions, 2);
	uint8_t a[16];
	for (uint8_t h = 1; h <= 6; h++) {
		v4(a, h);
		bool kept = h == 1 || h >= 4;
		assert_true((bwg_users_find(&u, 4, a) != NULL) == kept);
	}
	/* off: nothing kept, nothing fails */
	struct bwg_users off;
	assert_int_equal(bwg_users_init(&off, 0), 0);
	bwg_users_merge(&off, &d, 1);
	assert_null(bwg_users_find(&off, 4, a));
	bwg_users_fini(&off);
	bwg_user_deltas_fini(&d);
	bwg_users_fini(&u);
}

int
main(void)
{
	bwg_hash_secret_set(1, 2);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deltas),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_evict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
