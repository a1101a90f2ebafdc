/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_policing: one limit (aggregate, or one client's per-host limit) held across
 * several workers, two ways, compared.
 *
 *   bench_policing [--seconds S]
 *
 * shared : one bucket pair every worker charges (bwg_meter_shared_take: GCRA, one
 *          compare-and-swap per conforming frame).
 * shares : a bucket per worker (struct bwg_meter, single writer) whose rate and burst
 *          are the limit's times the worker's share of the demand its meter saw over the
 *          last tick, recomputed every tick (1 ms or 10 ms) as a control thread would.
 *
 * Simulated time, one thread: 48 flows of 1000-byte frames offering 3 x the rate (10
 * Mbit/s, burst 64 KB) in all, spread over 2 or 4 workers evenly, skewed (the first
 * worker carries 3/4 of the flows), or moving (every second all flows but one move to
 * the next worker). Prints the forwarded rate over the last S/2 seconds against the limit
 * (±5% is the target), then what a frame costs each way in cycles: alone, and with two
 * threads charging the same shared bucket at once (the line bouncing between cores).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <x86intrin.h>

#include "bwg_meter.h"

#define RATE 10000000ull /* bit/s */
#define BURST 65536ull   /* bytes */
#define FRAME 1000u
#define FLOWS 48
#define STEP_NS 10000ull /* the simulation's clock step */

enum spread { EVEN, SKEWED, MOVING };
static const char *const spread_names[] = {"even", "skewed", "moving"};

/* Which worker carries flow f at time t. */
static int
worker_of(enum spread sp, int workers, int f, uint64_t t_ns)
{
	switch (sp) {
	case EVEN:
		return f % workers;
	case SKEWED:
		return f < FLOWS * 3 / 4 ? 0 : 1 + f % (workers - 1);
	case MOVING:
		if (f == 0)
			return workers - 1;
		return (int)((t_ns / 1000000000ull) % (uint64_t)workers);
	}
	return 0;
}

/* Forwarded bit/s over the second half of `seconds`, with `tick_ns` 0 for shared. */
static double
run(enum spread sp, int workers, uint64_t tick_ns, uint32_t seconds)
{
	struct bwg_meter_shared shared;
	struct bwg_meter own[4];
	uint64_t demand[4] = {0};
	bwg_meter_shared_init(&shared, RATE, BURST);
	for (int i = 0; i < workers; i++)
		bwg_meter_init(&own[i], RATE / (uint64_t)workers, BURST / (uint64_t)workers, 0);
	/* Each flow sends a frame every `gap` ns: 3 x RATE in all. */
	const uint64_t gap = (uint64_t)FRAME * 8 * 1000000000ull * FLOWS / (3 * RATE);
	uint64_t next[FLOWS];
	for (int f = 0; f < FLOWS; f++)
		next[f] = (uint64_t)f * gap / FLOWS;
	const uint64_t end = (uint64_t)seconds * 1000000000ull, from = end / 2;
	uint64_t fwd = 0, next_tick = tick_ns;
	for (uint64_t t = 0; t < end; t += STEP_NS) {
		if (tick_ns && t >= next_tick) {
			uint64_t sum = 0;
			for (int i = 0; i < workers; i++)
				sum += demand[i];
			for (int i = 0; i < workers; i++) {
				/* A worker that saw nothing keeps a sliver, so it can show demand. */
				uint64_t share = sum ? demand[i] * 1000 / sum : 1000 / (uint64_t)workers;
				if (share < 10)
					share = 10;
				struct bwg_meter *m = &own[i];
				uint64_t cap = BURST * share / 1000 * 8 * BWG_METER_SCALE;
				bwg_meter_take(m, t, 0); /* refill at the old rate up to now */
				m->rate_bps = RATE * share / 1000;
				m->cap = cap;
				if (m->tokens > cap)
					m->tokens = cap;
				demand[i] = 0;
			}
			next_tick += tick_ns;
		}
		for (int f = 0; f < FLOWS; f++) {
			while (next[f] <= t) {
				next[f] += gap;
				int w = worker_of(sp, workers, f, t);
				int ok;
				if (tick_ns) {
					demand[w] += FRAME;
					ok = bwg_meter_take(&own[w], t, FRAME);
				} else {
					ok = bwg_meter_shared_take(&shared, 0, t, FRAME);
				}
				if (ok && t >= from)
					fwd += FRAME;
			}
		}
	}
	return (double)fwd * 8 / ((double)(end - from) / 1e9);
}

/* ---- cost ------------------------------------------------------------------------- */

static struct bwg_meter_shared hot;
static _Atomic int go;

static void *
charge(void *arg)
{
	uint64_t *cycles = arg, n = 2000000, t = 0;
	while (!atomic_load(&go))
		;
	uint64_t t0 = __rdtsc();
	for (uint64_t i = 0; i < n; i++, t += 80)
		bwg_meter_shared_take(&hot, 0, t, 64);
	*cycles = (__rdtsc() - t0) / n;
	return NULL;
}

int
main(int argc, char **argv)
{
	uint32_t seconds = 20;
	if (argc == 3 && strcmp(argv[1], "--seconds") == 0)
		seconds = (uint32_t)strtoul(argv[2], NULL, 10);
	if (seconds < 2) {
		fprintf(stderr, "usage: bench_policing [--seconds S>=2]\n");
		return 2;
	}
	printf("limit %.0f Mbit/s, burst %llu KB, %d flows offering 3 x the limit, %u s "
	       "(the last %u measured)\n",
	       RATE / 1e6, BURST / 1024, FLOWS, seconds, seconds / 2);
	int worst_shared = 0, worst_shares = 0;
	double ws = 0, wp = 0;
	for (int workers = 2; workers <= 4; workers += 2)
		for (int sp = EVEN; sp <= MOVING; sp++) {
			double s = run((enum spread)sp, workers, 0, seconds) / RATE - 1;
			double p1 = run((enum spread)sp, workers, 1000000, seconds) / RATE - 1;
			double p10 = run((enum spread)sp, workers, 10000000, seconds) / RATE - 1;
			printf("workers %d, spread %-6s: shared %+6.2f%%   shares, 1 ms tick %+6.2f%%   "
			       "shares, 10 ms tick %+6.2f%%\n",
			       workers, spread_names[sp], 100 * s, 100 * p1, 100 * p10);
			if (s * s > ws * ws)
				ws = s;
			if (p1 * p1 > wp * wp)
				wp = p1;
		}
	worst_shared = ws < 0.05 && ws > -0.05;
	worst_shares = wp < 0.05 && wp > -0.05;
	/* Cost per frame: a worker's own bucket; the shared one alone; two threads at once. */
	struct bwg_meter m;
	bwg_meter_init(&m, 100000000000ull, 1 << 20, 0);
	uint64_t n = 2000000, t = 0, t0 = __rdtsc();
	int sink = 0;
	for (uint64_t i = 0; i < n; i++, t += 80)
		sink += bwg_meter_take(&m, t, 64);
	uint64_t own = (__rdtsc() - t0) / n;
	bwg_meter_shared_init(&hot, 100000000000ull, 1 << 20);
	uint64_t alone, c[2];
	atomic_store(&go, 1);
	charge(&alone);
	bwg_meter_shared_init(&hot, 100000000000ull, 1 << 20);
	atomic_store(&go, 0);
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, charge, &c[i]);
	atomic_store(&go, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	printf("cost per frame: own bucket %llu cycles, shared bucket alone %llu, shared by two "
	       "threads at once %llu and %llu (%d)\n",
	       (unsigned long long)own, (unsigned long long)alone, (unsigned long long)c[0],
	       (unsigned long long)c[1], sink > 0);
	printf("within +-5%% everywhere: shared %s, shares (1 ms) %s\n", worst_shared ? "yes" : "no",
	       worst_shares ? "yes" : "no");
	return 0;
}
