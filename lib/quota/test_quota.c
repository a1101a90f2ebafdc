/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shared quota table: entries found and added, usage counted exactly by several
 * threads at once, the crossing reported once, periods rolled over, the penalty lane
 * entered and left on minute boundaries, and the state file written and read back
 * (entries dated after today left out).
 */

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bwg_policy.h"
#include "bwg_quota.h"

#define SEC 1000000000ull
#define MIN (60 * SEC)
#define T0 (1795572000ull * SEC) /* a minute boundary */

static const uint8_t user[16] = {10, 1, 0, 50};

static struct bwg_config *
config(const char *sq)
{
	char *text = strdup(sq), err[512] = "";
	for (char *c = text; *c; c++)
		if (*c == '\'')
			*c = '"';
	struct bwg_config *c = NULL;
	if (bwg_config_parse(&c, text, strlen(text), "test.json", "/tmp", err, sizeof(err)))
		fail_msg("config: %s", err);
	free(text);
	return c;
}

static const char conf_text[] =
	"{'default_action': 'allow', 'classes': {'web': {'categories': ['Web']}},"
	" 'rules': [{'name': 'q', 'classes': ['web'], 'action': 'allow',"
	"            'quota': {'period': 'day', 'bytes': '1MB', 'then': {'rate': '1Mbit'}}},"
	"           {'name': 'p', 'classes': ['web'], 'action': 'allow',"
	"            'penalty': {'above': '1Mbit', 'for': 2, 'then': {'rate': '100Kbit'},"
	"                        'lasts': 3}}]}";

static void
test_find_and_add(void **state)
{
	(void)state;
	struct bwg_quotas *q;
	assert_int_equal(bwg_quotas_create(&q, 100), 0);
	uint64_t id = bwg_quota_rule_id("q");
	assert_null(bwg_quotas_find(q, id, 4, user));
	struct bwg_quota *e = bwg_quotas_get(q, id, 4, user, 7);
	assert_non_null(e);
	assert_ptr_equal(bwg_quotas_get(q, id, 4, user, 7), e);
	assert_ptr_equal(bwg_quotas_find(q, id, 4, user), e);
	assert_null(bwg_quotas_find(q, bwg_quota_rule_id("other"), 4, user));
	assert_int_equal(atomic_load(&e->period), 7);
	/* Bounded: past its capacity a user is counted, not added. */
	uint8_t a[16] = {10, 2};
	uint32_t added = 1;
	for (uint32_t i = 0; i < 1000; i++) {
		a[2] = (uint8_t)(i >> 8), a[3] = (uint8_t)i;
		added += bwg_quotas_get(q, id, 4, a, 7) != NULL;
	}
	assert_int_equal(added, q->cap);
	assert_int_equal(atomic_load(&q->full), 1001 - q->cap);
	bwg_quotas_destroy(q);
}

static void
test_count_cross_roll(void **state)
{
	(void)state;
	struct bwg_config *c = config(conf_text);
	const struct bwg_conf_rule *r = &c->rules[0];
	struct bwg_quotas *q;
	assert_int_equal(bwg_quotas_create(&q, 16), 0);
	struct bwg_quota *e = bwg_quotas_get(q, bwg_quota_rule_id("q"), 4, user, 7);
	int crossed = 0;
	uint32_t n = 0;
	while (!bwg_quota_over(e, r)) {
		crossed += bwg_quota_count(e, r, 1000, T0 + n * SEC);
		n++;
	}
	/* The packet that reached 1 MB (1048576 B) is the 1049th of 1000 B. */
	assert_int_equal(n, 1049);
	assert_int_equal(crossed, 1);
	assert_int_equal(bwg_quota_count(e, r, 1000, T0 + n * SEC), false);
	assert_int_equal(atomic_load(&e->minutes), (1049 + 59) / 60);
	/* A later day starts from zero; an earlier one changes nothing. */
	bwg_quota_roll(e, 6);
	assert_true(bwg_quota_over(e, r));
	bwg_quota_roll(e, 8);
	assert_false(bwg_quota_over(e, r));
	assert_int_equal(atomic_load(&e->bytes), 0);
	assert_int_equal(atomic_load(&e->crossed), 0);
	/* The then-limit: 1 Mbit/s per direction, burst 100 ms (12500 B). */
	uint64_t sent = 0;
	for (uint64_t t = 0; t < 10 * SEC; t += SEC / 1000)
		sent += bwg_quota_then_take(e, r, 0, T0 + t, 1000) ? 1000 : 0;
	assert_true(sent >= 1250000 && sent <= 1250000 + 13000);
	/* Weeks start on Mondays: 2026-11-25 (a Wednesday) is in the week of the 23rd. */
	int64_t wed = bwg_days_from_civil(2026, 11, 25);
	assert_int_equal(bwg_quota_period_start(BWG_PERIOD_WEEK, wed),
			 bwg_days_from_civil(2026, 11, 23));
	assert_int_equal(bwg_quota_period_start(BWG_PERIOD_DAY, wed), wed);
	bwg_quotas_destroy(q);
	bwg_config_free(c);
}

struct counter_arg {
	struct bwg_quota *e;
	const struct bwg_conf_rule *r;
	int crossed;
};

static void *
counter(void *p)
{
	struct counter_arg *a = p;
	for (int i = 0; i < 200000; i++)
		a->crossed += bwg_quota_count(a->e, a->r, 7, T0);
	return NULL;
}

/* Two threads (two workers) count one user at once: the sum is exact, one crossing. */
static void
test_exact_across_threads(void **state)
{
	(void)state;
	struct bwg_config *c = config(conf_text);
	struct bwg_quotas *q;
	assert_int_equal(bwg_quotas_create(&q, 16), 0);
	struct bwg_quota *e = bwg_quotas_get(q, bwg_quota_rule_id("q"), 4, user, 7);
	struct counter_arg a[2] = {{e, &c->rules[0], 0}, {e, &c->rules[0], 0}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, counter, &a[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&e->bytes), 2 * 200000 * 7);
	assert_int_equal(a[0].crossed + a[1].crossed, 1);
	bwg_quotas_destroy(q);
	bwg_config_free(c);
}

static void
test_penalty_lane(void **state)
{
	(void)state;
	struct bwg_config *c = config(conf_text);
	const struct bwg_conf_rule *r = &c->rules[1];
	struct bwg_quotas *q;
	assert_int_equal(bwg_quotas_create(&q, 16), 0);
	struct bwg_quota *e = bwg_quotas_get(q, bwg_quota_rule_id("p"), 4, user, 7);
	/* 2 Mbit/s: 250 B every ms. */
	bool active = false;
	uint64_t at = 0, start = 0, end = 0;
	for (uint64_t t = 0; t < 7 * MIN; t += SEC / 1000) {
		enum bwg_penalty_change ch = bwg_penalty_count(e, r, 250, T0 + t, &active, &at);
		if (ch == BWG_PENALTY_START)
			start = at;
		else if (ch == BWG_PENALTY_END)
			end = at;
	}
	/* Minutes 0 and 1 above 1 Mbit/s: in the lane at 2:00, for 3 minutes. */
	assert_int_equal(start, T0 + 2 * MIN);
	assert_int_equal(end, T0 + 5 * MIN);
	assert_false(active);
	/* Measured afresh after it: minute 5 above, minute 6 not over yet. */
	assert_int_equal(atomic_load(&e->pen_streak), 1);
	/* A minute with no traffic breaks a run. */
	struct bwg_quota *f = bwg_quotas_get(q, bwg_quota_rule_id("p"), 4, (uint8_t[16]){1}, 7);
	for (uint64_t t = 0; t < MIN; t += SEC / 1000)
		bwg_penalty_count(f, r, 250, T0 + t, &active, &at);
	assert_int_equal(bwg_penalty_count(f, r, 250, T0 + 2 * MIN, &active, &at),
			 BWG_PENALTY_NONE);
	assert_int_equal(atomic_load(&f->pen_streak), 0);
	bwg_quotas_destroy(q);
	bwg_config_free(c);
}

static void
test_state_file(void **state)
{
	(void)state;
	struct bwg_config *c = config(conf_text);
	struct bwg_quotas *q, *back;
	assert_int_equal(bwg_quotas_create(&q, 16), 0);
	struct bwg_quota *e = bwg_quotas_get(q, bwg_quota_rule_id("q"), 4, user, 20000);
	bwg_quota_count(e, &c->rules[0], 123456, T0);
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	bwg_quota_count(bwg_quotas_get(q, bwg_quota_rule_id("q"), 6, v6, 20000), &c->rules[0],
			2000000, T0);
	char path[] = "/tmp/bwgate-quota-XXXXXX", err[512];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(bwg_quotas_save(q, c, path, 1, err, sizeof(err)), 2);
	assert_int_equal(bwg_quotas_create(&back, 16), 0);
	assert_int_equal(bwg_quotas_load(back, c, path, 20000, err, sizeof(err)), 2);
	const struct bwg_quota *b = bwg_quotas_find(back, bwg_quota_rule_id("q"), 4, user);
	assert_non_null(b);
	assert_int_equal(atomic_load(&b->bytes), 123456);
	assert_int_equal(atomic_load(&b->period), 20000);
	b = bwg_quotas_find(back, bwg_quota_rule_id("q"), 6, v6);
	assert_non_null(b);
	assert_int_equal(atomic_load(&b->crossed), 1);
	bwg_quotas_destroy(back);
	/* Corrupt: reported with the place, nothing read. */
	FILE *f = fopen(path, "w");
	fputs("{\"bwgate_quota_state\": 1, \"quotas\": [{\"rule\": \"q\"}]}", f);
	fclose(f);
	assert_int_equal(bwg_quotas_create(&back, 16), 0);
	assert_true(bwg_quotas_load(back, c, path, 20000, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "quotas[0]: needs rule, host"));
	unlink(path);
	assert_true(bwg_quotas_load(back, c, path, 20000, err, sizeof(err)) < 0); /* missing */
	bwg_quotas_destroy(back);
	bwg_quotas_destroy(q);
	bwg_config_free(c);
}

/*
 * An entry of a period that begins after today would never roll over (bwg_quota_roll
 * only moves a period forward): a user over its quota "in 2099" would stay held until
 * then. One of a period that ended holds no usage that counts, only a slot of the
 * table, which is never freed while the gate runs: a restart frees it. Only the
 * period holding today is read.
 */
static void
test_state_file_ahead(void **state)
{
	(void)state;
	struct bwg_config *c = config(conf_text);
	struct bwg_quotas *q;
	char path[] = "/tmp/bwgate-quota-XXXXXX", err[512];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	static const char *const starts[] = {"2099-01-01", "2026-11-26", "2026-11-25",
					     "2026-11-24"};
	fputs("{\"bwgate_quota_state\": 1, \"quotas\": [", f);
	for (int i = 0; i < 4; i++)
		fprintf(f, "%s{\"rule\": \"q\", \"host\": \"10.1.0.%d\", \"period\": \"day\", "
			"\"period_start\": \"%s\", \"used_bytes\": 2000000, \"used_minutes\": 0, "
			"\"last_minute\": 0, \"crossed\": true}",
			i ? ", " : "", i + 1, starts[i]);
	fputs("]}", f);
	fclose(f);
	int64_t today = bwg_days_from_civil(2026, 11, 25);
	assert_int_equal(bwg_quotas_create(&q, 16), 0);
	assert_int_equal(bwg_quotas_load(q, c, path, today, err, sizeof(err)), 1);
	uint8_t a[16] = {10, 1, 0, 1};
	uint64_t id = bwg_quota_rule_id("q");
	assert_null(bwg_quotas_find(q, id, 4, a));
	a[3] = 2;
	assert_null(bwg_quotas_find(q, id, 4, a));
	a[3] = 3;
	struct bwg_quota *e = bwg_quotas_find(q, id, 4, a);
	assert_non_null(e);
	assert_true(bwg_quota_over(e, &c->rules[0]));
	a[3] = 4;
	assert_null(bwg_quotas_find(q, id, 4, a));
	bwg_quotas_destroy(q);
	/* Without a today (an offline replay): every entry. */
	assert_int_equal(bwg_quotas_create(&q, 16), 0);
	assert_int_equal(bwg_quotas_load(q, c, path, INT64_MAX, err, sizeof(err)), 4);
	bwg_quotas_destroy(q);
	unlink(path);
	bwg_config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_and_add),
		cmocka_unit_test(test_count_cross_roll),
		cmocka_unit_test(test_exact_across_threads),
		cmocka_unit_test(test_penalty_lane),
		cmocka_unit_test(test_state_file),
		cmocka_unit_test(test_state_file_ahead),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
