/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Token-bucket tests on a simulated clock: long-run rate accuracy from 8 Kbit/s to
 * 10 Gbit/s under 4x overload, the burst, refill, and a clock that steps back; the
 * shared bucket several workers charge.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bwg_meter.h"

#define SEC 1000000000ull

static void
test_init(void **state)
{
	(void)state;
	struct bwg_meter m;
	bwg_meter_init(&m, 2000000, 64 * 1024, 5 * SEC);
	assert_int_equal(m.rate_bps, 2000000);
	assert_int_equal(m.cap, 64ull * 1024 * 8 * BWG_METER_SCALE);
	assert_int_equal(m.tokens, m.cap);
	assert_int_equal(m.last_ns, 5 * SEC);
	/* The largest documented burst fits. */
	bwg_meter_init(&m, 400000000000ull, 1024ull * 1024 * 1024, 0);
	assert_int_equal(m.cap, 1024ull * 1024 * 1024 * 8 * BWG_METER_SCALE);
}

static void
test_burst(void **state)
{
	(void)state;
	/* A full bucket of 15000 bytes passes exactly ten 1500-byte frames at once. */
	struct bwg_meter m;
	bwg_meter_init(&m, 1000000, 15000, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(bwg_meter_take(&m, 0, 1500), 1);
	assert_int_equal(m.tokens, 0);
	assert_int_equal(bwg_meter_take(&m, 0, 1500), 0);
	assert_int_equal(bwg_meter_take(&m, 0, 1), 0);
	/* A refused frame takes nothing. */
	assert_int_equal(m.tokens, 0);

	/* 12 ms at 1 Mbit/s refills 12000 bits: one frame, then nothing. */
	assert_int_equal(bwg_meter_take(&m, 12000000, 1500), 1);
	assert_int_equal(bwg_meter_take(&m, 12000000, 1500), 0);
	/* Smaller frames use what is left exactly. */
	bwg_meter_init(&m, 1000000, 3000, 0);
	assert_int_equal(bwg_meter_take(&m, 0, 2999), 1);
	assert_int_equal(bwg_meter_take(&m, 0, 2), 0);
	assert_int_equal(bwg_meter_take(&m, 0, 1), 1);
	assert_int_equal(bwg_meter_take(&m, 0, 1), 0);

	/* A long idle period refills to the burst, never beyond. */
	bwg_meter_init(&m, 1000000, 15000, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(bwg_meter_take(&m, 0, 1500), 1);
	uint64_t t = 3600 * SEC;
	int passed = 0;
	while (bwg_meter_take(&m, t, 1500))
		passed++;
	assert_int_equal(passed, 10);
	/* Even after a very long gap (no overflow in dt * rate). */
	bwg_meter_init(&m, 10000000000ull, 1024ull * 1024 * 1024, 0);
	assert_int_equal(bwg_meter_take(&m, 0, 1500), 1);
	assert_int_equal(bwg_meter_take(&m, UINT64_MAX / 2, 1500), 1);
	assert_int_equal(m.tokens, m.cap - 1500ull * 8 * BWG_METER_SCALE);
}

static void
test_clock_backwards(void **state)
{
	(void)state;
	struct bwg_meter m;
	bwg_meter_init(&m, 1000000, 3000, 10 * SEC);
	assert_int_equal(bwg_meter_take(&m, 10 * SEC, 1500), 1);
	assert_int_equal(bwg_meter_take(&m, 10 * SEC, 1500), 1);
	assert_int_equal(bwg_meter_take(&m, 10 * SEC, 1500), 0);
	/* Going back in time adds nothing and does not move the reference point. */
	assert_int_equal(bwg_meter_take(&m, 9 * SEC, 1500), 0);
	assert_int_equal(bwg_meter_take(&m, 0, 1500), 0);
	assert_int_equal(m.tokens, 0);
	assert_int_equal(m.last_ns, 10 * SEC);
	/* 12 ms after the latest time seen, one frame's worth is back. */
	assert_int_equal(bwg_meter_take(&m, 10 * SEC + 12000000, 1500), 1);
	assert_int_equal(bwg_meter_take(&m, 10 * SEC + 12000000, 1500), 0);
}

/*
 * Offer `factor` times the rate in back-to-back frames of `bytes` for `secs` seconds,
 * after draining the initial burst; return the bytes that conformed.
 */
static uint64_t
offer(uint64_t rate_bps, uint64_t burst, uint32_t bytes, unsigned factor, unsigned secs)
{
	struct bwg_meter m;
	const uint64_t t0 = 1000 * SEC;
	bwg_meter_init(&m, rate_bps, burst, t0);
	/* Drain the burst at t0. */
	while (bwg_meter_take(&m, t0, bytes))
		;
	/* Frames every bits / (factor * rate) seconds, stepped exactly: whole ns plus a
	 * carried remainder, so the offered load has no rounding drift. */
	const uint64_t bits = (uint64_t)bytes * 8;
	const uint64_t den = (uint64_t)factor * rate_bps;
	const uint64_t step_ns = bits * SEC / den, step_rem = bits * SEC % den;
	const uint64_t end = t0 + (uint64_t)secs * SEC;
	uint64_t passed = 0, t = t0, rem = 0;
	for (;;) {
		t += step_ns;
		rem += step_rem;
		if (rem >= den) {
			rem -= den;
			t++;
		}
		if (t > end)
			break;
		if (bwg_meter_take(&m, t, bytes))
			passed += bytes;
	}
	return passed;
}

static void
test_rate_accuracy(void **state)
{
	(void)state;
	static const uint64_t rates[] = {
		8000,        /* 8 Kbit */
		64000,       /* 64 Kbit */
		1000000,     /* 1 Mbit */
		2500000,     /* 2.5 Mbit */
		100000000,   /* 100 Mbit */
		1000000000,  /* 1 Gbit */
		10000000000, /* 10 Gbit */
	};
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		uint64_t rate = rates[i];
		/* 1500-byte frames; at the lowest rates 10 s hold too few of them to measure
		 * within 2%, so the frames shrink to keep at least 200 per window. */
		uint64_t want = rate * 10 / 8; /* bytes */
		uint32_t bytes = 1500;
		if (want / bytes < 200)
			bytes = (uint32_t)(want / 200);
		uint64_t burst = rate / 80 < 3000 ? 3000 : rate / 80;
		uint64_t got = offer(rate, burst, bytes, 4, 10);
		double err = ((double)got - (double)want) / (double)want;
		if (err > 0.02 || err < -0.02)
			fail_msg("rate %llu bit/s, %u-byte frames: %llu bytes in 10 s, want %llu "
				 "(%.2f%%)",
				 (unsigned long long)rate, bytes, (unsigned long long)got,
				 (unsigned long long)want, err * 100);
	}
}

static void
test_rate_accuracy_full_frames(void **state)
{
	(void)state;
	/* The same with 1500-byte frames at 8 Kbit/s over a long enough window (200 s). */
	uint64_t got = offer(8000, 3000, 1500, 4, 200);
	uint64_t want = 8000ull * 200 / 8;
	assert_true(got >= want - 1500 && got <= want + 1500);
}

static void
test_under_rate_passes_everything(void **state)
{
	(void)state;
	/* Half the rate in evenly spaced frames never exceeds it. */
	struct bwg_meter m;
	bwg_meter_init(&m, 1000000, 3000, 0);
	for (uint64_t i = 1; i <= 10000; i++)
		assert_int_equal(bwg_meter_take(&m, i * 24000000, 1500), 1);
}

/*
 * One shared bucket pair, charged by four "workers" in turn whose clocks differ by up
 * to 3 us (a clock behind the bucket's counts as no time passing): over 10 s at 4x the
 * rate, what passes is rate x time + burst within 0.1% (less a frame at the lowest
 * rates), from 8 Kbit/s to 10 Gbit/s. The
 * other direction is untouched.
 */
static void
test_shared_rate(void **state)
{
	(void)state;
	static const uint64_t rates[] = {8000, 2000000, 100000000, 10000000000ull};
	for (size_t k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
		struct bwg_meter_shared m;
		const uint64_t burst = 3000, frame = 1500;
		bwg_meter_shared_init(&m, rates[k], burst);
		uint64_t gap = frame * 8 * SEC / (4 * rates[k]), passed = 0, sent = 0;
		for (uint64_t t = SEC; t < 11 * SEC; t += gap, sent++) {
			uint64_t skew = (sent % 4) * 1000; /* worker (sent % 4)'s clock */
			passed += bwg_meter_shared_take(&m, 0, t - skew, (uint32_t)frame) * frame;
		}
		double want = (double)rates[k] / 8 * 10 + (double)burst;
		double err = (double)passed - want; /* a frame's worth, or 0.1% */
		assert_true(err > -(double)frame - want * 0.001 && err < want * 0.001);
		assert_int_equal(atomic_load(&m.tat[1]), 0);
		assert_true(bwg_meter_shared_take(&m, 1, 11 * SEC, (uint32_t)burst));
		assert_false(bwg_meter_shared_take(&m, 1, 11 * SEC, 1));
	}
}

/* The shared per-host table: one pair per key, references, reuse, a bound. */
static void
test_table(void **state)
{
	(void)state;
	struct bwg_meter_table *t;
	assert_int_equal(bwg_meter_table_create(&t, 64), 0);
	struct bwg_meter_key k = {.version = 1, .rule = 2, .family = 4, .addr = {10, 0, 0, 1}};
	bool created;
	uint32_t a = bwg_meter_table_get(t, &k, 1000000, 3000, &created);
	assert_int_not_equal(a, BWG_METER_NONE);
	assert_true(created);
	int one = 1;
	atomic_store(&bwg_meter_table_at(t, a)->data, &one);
	/* Another worker's flow of the same client: the same pair, not new. */
	assert_int_equal(bwg_meter_table_get(t, &k, 1000000, 3000, &created), a);
	assert_false(created);
	assert_int_equal(bwg_meter_table_held(t), 1);
	/* Emptied, let go by every flow, then asked for again: the bucket it emptied. */
	while (bwg_meter_shared_take(&bwg_meter_table_at(t, a)->m, 0, 1000, 1000))
		;
	bwg_meter_table_put(t, a);
	bwg_meter_table_put(t, a);
	assert_int_equal(bwg_meter_table_held(t), 0);
	assert_int_equal(bwg_meter_table_get(t, &k, 1000000, 3000, &created), a);
	assert_false(created);
	assert_int_equal(bwg_meter_shared_take(&bwg_meter_table_at(t, a)->m, 0, 1000, 1000), 0);
	assert_ptr_equal(atomic_load(&bwg_meter_table_at(t, a)->data), &one);
	/* Another policy version is another key. */
	k.version = 2;
	uint32_t b = bwg_meter_table_get(t, &k, 1000000, 3000, &created);
	assert_int_not_equal(b, a);
	assert_true(created);
	assert_null(atomic_load(&bwg_meter_table_at(t, b)->data));
	/* Bounded: held keys never exceed the slots; what finds no room is refused. */
	uint32_t got = 0, refused = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		struct bwg_meter_key x = {.version = 3, .family = 4};
		memcpy(x.addr, &i, sizeof(i));
		if (bwg_meter_table_get(t, &x, 1000000, 3000, &created) == BWG_METER_NONE)
			refused++;
		else
			got++;
	}
	assert_int_equal(got + 2, bwg_meter_table_held(t));
	assert_true(got + 2 <= 64);
	assert_int_equal(got + refused, 1000);
	/* A slot let go is reused by a new key once its sets are full. */
	bwg_meter_table_put(t, b);
	uint32_t again = 0;
	for (uint32_t i = 1000; i < 3000 && !again; i++) {
		struct bwg_meter_key x = {.version = 3, .family = 4};
		memcpy(x.addr, &i, sizeof(i));
		if (bwg_meter_table_get(t, &x, 1000000, 3000, &created) == b) {
			again = 1;
			assert_true(created);
			assert_null(atomic_load(&bwg_meter_table_at(t, b)->data));
		}
	}
	assert_true(again);
	bwg_meter_table_destroy(t);
	/* Two choices keep the sets even: distinct clients fill well over half of the
	 * slots before the first is refused (one set per key would refuse far sooner). */
	assert_int_equal(bwg_meter_table_create(&t, 4096), 0);
	uint32_t held = 0;
	for (uint32_t i = 0;; i++, held++) {
		struct bwg_meter_key x = {.version = 1, .family = 4};
		memcpy(x.addr, &i, sizeof(i));
		if (bwg_meter_table_get(t, &x, 1000000, 3000, &created) == BWG_METER_NONE)
			break;
	}
	assert_true(held >= 4096 * 6 / 10);
	bwg_meter_table_destroy(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_clock_backwards),
		cmocka_unit_test(test_rate_accuracy),
		cmocka_unit_test(test_rate_accuracy_full_frames),
		cmocka_unit_test(test_under_rate_passes_everything),
		cmocka_unit_test(test_shared_rate),
		cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
