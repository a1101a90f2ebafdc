/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_pipeline: the established path of the pipeline, alone, in one thread.
 *
 *   bench_pipeline CONFIG.json [--flows N] [--rounds R] [--ipv6] [--shuffle] [--nic-hash]
 *                  [--callgrind] [--new-flows] [--payload 0..18]
 *
 * Builds a worker for CONFIG (as bwgate-pcap does), makes N distinct UDP flows of one
 * 60-byte frame each (80 over IPv6) (10.1.x.y:p -> 198.51.100.z:4433, zero payload nDPI cannot name; or
 * the same over IPv6), runs them through until nDPI has given up on every one, then
 * times R rounds over all of them in bursts of 32 with the TSC and prints cycles per
 * packet (best round). With --shuffle the timed rounds take the flows in a random order
 * (fixed seed) instead of the order they were made in, whose records lie side by side:
 * a table much larger than the caches is then read as live traffic reads it (the frames
 * themselves stay in order, as a burst's frames are fresh in cache). With --nic-hash
 * every frame carries a symmetric hash as a NIC with RSS delivers it (made here, before
 * the timed part, as SipHash of the flow key under another key: a well spread one), and
 * the worker finds flows by it. With --callgrind the timed part is the only part valgrind's
 * callgrind instruments (run it under `valgrind --tool=callgrind --collect-atstart=no`):
 * instructions per packet are then exact and repeatable, whatever else the machine does.
 * It also prints what the warm-up's first 24 packets of every flow cost (the whole of a
 * UDP flow's inspection, nDPI's budget), per flow. --payload sets the UDP payload (18
 * bytes by default; 0: none, nothing for nDPI to read). With --new-flows it times the
 * creation path instead: every round N flows never seen before, one frame each, and
 * prints new flows per second on one core (scripts/bench-flows).
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <x86intrin.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include "bwg_hash.h"
#include "bwg_setup.h"
#include "bwg_worker.h"

#define FRAME 80 /* room for IPv6; IPv4 frames are 60 bytes */

static uint32_t payload = 18; /* UDP payload bytes (zeroes) */

/* Returns the frame's length. */
static uint32_t
frame_make(uint8_t *f, uint32_t i, int ipv6)
{
	memset(f, 0, FRAME);
	memcpy(f, "\x02\x00\x0a\x01\x00\x01\x02\xc6\x33\x64\x00\x01", 12);
	uint8_t *l4;
	if (!ipv6) {
		f[12] = 0x08, f[13] = 0x00;
		uint8_t *ip = f + 14;
		ip[0] = 0x45, ip[3] = (uint8_t)(28 + payload), ip[8] = 64, ip[9] = 17;
		ip[12] = 10, ip[13] = (uint8_t)(1 + (i >> 16)), ip[14] = (uint8_t)(i >> 8);
		ip[15] = (uint8_t)i;
		ip[16] = 198, ip[17] = 51, ip[18] = 100, ip[19] = (uint8_t)(1 + i % 200);
		l4 = ip + 20;
	} else {
		f[12] = 0x86, f[13] = 0xdd;
		uint8_t *ip = f + 14;
		ip[0] = 0x60, ip[5] = (uint8_t)(8 + payload), ip[6] = 17, ip[7] = 64;
		memcpy(ip + 8, "\x20\x01\x0d\xb8\x00\x10\x00\x01", 8);
		ip[21] = (uint8_t)(i >> 16), ip[22] = (uint8_t)(i >> 8), ip[23] = (uint8_t)i;
		memcpy(ip + 24, "\x20\x01\x0d\xb8\x02\x00\x00\x00", 8);
		ip[39] = (uint8_t)(1 + i % 200);
		l4 = ip + 40;
	}
	uint16_t sport = (uint16_t)(20000 + i % 40000);
	l4[0] = (uint8_t)(sport >> 8), l4[1] = (uint8_t)sport;
	l4[2] = 4433 >> 8, l4[3] = 4433 & 0xff;
	l4[5] = (uint8_t)(8 + payload);
	return ipv6 ? 80 : 60;
}

/* All nflows frames through the worker in bursts of 32; returns the TSC ticks taken. */
static uint64_t
round_run(struct bwg_worker *w, const struct bwg_frame *fr, uint32_t nflows)
{
	uint8_t verdict[BWG_BURST_MAX];
	uint64_t t0 = __rdtsc();
	for (uint32_t i = 0; i < nflows; i += BWG_BURST_MAX) {
		uint16_t n = (uint16_t)(nflows - i < BWG_BURST_MAX ? nflows - i : BWG_BURST_MAX);
		bwg_worker_burst(w, fr + i, n, verdict);
	}
	return __rdtsc() - t0;
}

/* TSC ticks per second, against the monotonic clock over 100 ms. */
static double
tsc_hz(void)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	uint64_t t0 = __rdtsc();
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec) < 100000000);
	uint64_t t1 = __rdtsc();
	return (double)(t1 - t0) * 1e9 /
	       (double)((b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec));
}

/*
 * --new-flows: every round, `nflows` flows never seen before, one frame each, through
 * the worker in bursts of 32 (timed); then the table is emptied (not timed). Prints the
 * best round's cycles per new flow and what that is in new flows per second on one core.
 */
static int
bench_new_flows(struct bwg_worker *w, uint8_t *frames, struct bwg_frame *fr, uint32_t nflows,
		uint32_t rounds, int ipv6, uint64_t ts)
{
	uint64_t best = UINT64_MAX, created0 = w->stats.cnt[BWG_CNT_FLOWS_CREATED];
	for (uint32_t r = 0; r < rounds; r++) {
		for (uint32_t i = 0; i < nflows; i++) {
			uint32_t len = frame_make(frames + (size_t)i * FRAME, r * nflows + i, ipv6);
			fr[i] = (struct bwg_frame){.data = frames + (size_t)i * FRAME, .caplen = len,
						   .wire_len = len, .ts_ns = ts};
		}
		uint64_t dt = round_run(w, fr, nflows);
		if (dt < best)
			best = dt;
		while (bwg_worker_flush(w, UINT32_MAX) > 0)
			;
		while (bwg_event_ring_peek(&w->events))
			bwg_event_ring_pop(&w->events);
		ts += 1000000000ull;
	}
	uint64_t created = w->stats.cnt[BWG_CNT_FLOWS_CREATED] - created0;
	double cyc = (double)best / nflows, hz = tsc_hz();
	printf("new flows %u a round (%s, %u bytes of payload), rounds %u, created %llu: best "
	       "round %.1f cycles/flow, %.2f M new flows/s on one core (TSC %.2f GHz)\n",
	       nflows, ipv6 ? "IPv6" : "IPv4", payload, rounds, (unsigned long long)created, cyc,
	       hz / cyc / 1e6, hz / 1e9);
	return created == (uint64_t)nflows * rounds ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *config = NULL;
	uint32_t nflows = 4096, rounds = 200;
	int ipv6 = 0, callgrind = 0, shuffle = 0, nic = 0, new_flows = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--flows") == 0 && i + 1 < argc)
			nflows = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--ipv6") == 0)
			ipv6 = 1;
		else if (strcmp(argv[i], "--callgrind") == 0)
			callgrind = 1;
		else if (strcmp(argv[i], "--shuffle") == 0)
			shuffle = 1;
		else if (strcmp(argv[i], "--nic-hash") == 0)
			nic = 1;
		else if (strcmp(argv[i], "--new-flows") == 0)
			new_flows = 1;
		else if (strcmp(argv[i], "--payload") == 0 && i + 1 < argc)
			payload = (uint32_t)strtoul(argv[++i], NULL, 10);
		else
			config = argv[i];
	}
	if (!config || nflows == 0 || nflows > (1u << 22) || rounds == 0 || payload > 18 ||
	    (new_flows && (uint64_t)nflows * rounds > (1u << 23))) {
		fprintf(stderr, "usage: bench_pipeline CONFIG.json [--flows N<=4194304] [--rounds R] "
				"[--ipv6] [--shuffle] [--nic-hash] [--callgrind] [--new-flows] "
				"[--payload 0..18]\n");
		return 2;
	}
	char err[1024];
	struct bwg_policy *pol;
	struct bwg_dpi *dpi;
	if (bwg_setup_load(config, 1, &pol, &dpi, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_pipeline: %s\n", err);
		return 2;
	}
	/* The tables workers share (names learned from DNS, host behaviour), as the
	 * front-ends build them: the established path must not pay for them. */
	struct bwg_dnsnames *names;
	struct bwg_behaviour *behaviour;
	if (bwg_setup_shared(pol->conf, &names, &behaviour, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_pipeline: %s\n", err);
		return 1;
	}
	struct bwg_worker_conf wc = {.link = BWG_LINK_ETHER, .event_ring_size = 1 << 16,
				     .aging_budget = 256, .names = names,
				     .behaviour = behaviour, .nic_hash = nic,
				     /* per-user accounting on, sized as the appliance sizes it */
				     .user_pairs = pol->conf->users_hosts * 2};
	struct bwg_worker *w;
	if (bwg_worker_create(&w, &wc, pol, dpi, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_pipeline: %s\n", err);
		return 1;
	}
	uint8_t *frames = malloc((size_t)nflows * FRAME);
	struct bwg_frame *fr = calloc(nflows, sizeof(*fr));
	uint8_t verdict[BWG_BURST_MAX];
	for (uint32_t i = 0; i < nflows; i++) {
		uint32_t len = frame_make(frames + (size_t)i * FRAME, i, ipv6);
		fr[i] = (struct bwg_frame){.data = frames + (size_t)i * FRAME, .caplen = len,
					   .wire_len = len};
	}
	if (nic) {
		/* Symmetric (the key is put in canonical order) and well spread, as a NIC's
		 * symmetric Toeplitz hash under a random key is for ordinary traffic. */
		struct bwg_hash_key mine = bwg_hash_secret;
		bwg_hash_secret_set(0x6d5a6d5a12345678ull, 0x0badc0ffee0ddf00dull);
		for (uint32_t i = 0; i < nflows; i++) {
			struct bwg_pkt p;
			bwg_pkt_parse(&p, fr[i].data, fr[i].caplen, fr[i].wire_len, BWG_LINK_ETHER, 0);
			fr[i].nic_hash = bwg_flow_hash(&p);
			fr[i].nic_hashed = true;
		}
		bwg_hash_secret_set(mine.k0, mine.k1);
	}
	uint64_t ts = 1764036000ull * 1000000000ull;
	int rc = 0;
	if (new_flows) {
		rc = bench_new_flows(w, frames, fr, nflows, rounds, ipv6, ts);
		goto out;
	}
	/* Warm up past nDPI's UDP budget: every flow ends classified (given up). The
	 * first 24 packets of every flow are its whole inspection (nDPI's UDP budget). */
	uint64_t dpi_cycles = 0;
	for (int k = 0; k < 40; k++) {
		uint64_t t0 = __rdtsc();
		for (uint32_t i = 0; i < nflows; i += BWG_BURST_MAX) {
			uint16_t n = (uint16_t)(nflows - i < BWG_BURST_MAX ? nflows - i : BWG_BURST_MAX);
			for (uint16_t j = 0; j < n; j++)
				fr[i + j].ts_ns = ts;
			bwg_worker_burst(w, fr + i, n, verdict);
			while (bwg_event_ring_peek(&w->events))
				bwg_event_ring_pop(&w->events);
		}
		if (k < 24)
			dpi_cycles += __rdtsc() - t0;
		ts += 1000000;
	}
	if (!callgrind)
		printf("inspection (first 24 packets of a flow, %u bytes of payload each): %.0f "
		       "cycles/flow\n", payload, (double)dpi_cycles / nflows);
	if (w->flows.active != nflows)
		fprintf(stderr, "bench_pipeline: %u flows of %u fit the table (flows.capacity %u)\n",
			w->flows.active, nflows, w->flows.capacity);
	if (shuffle) {
		/* The frames stay where they are (live, a burst's frames are fresh in cache);
		 * which flow each one belongs to is shuffled. */
		uint32_t *perm = malloc((size_t)nflows * sizeof(*perm));
		uint64_t x = 0x9e3779b97f4a7c15ull;
		for (uint32_t i = 0; i < nflows; i++)
			perm[i] = i;
		for (uint32_t i = nflows - 1; i > 0; i--) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			uint32_t j = (uint32_t)(x % (i + 1)), t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		uint32_t *nh = malloc((size_t)nflows * sizeof(*nh));
		for (uint32_t i = 0; i < nflows; i++)
			nh[i] = fr[i].nic_hash;
		for (uint32_t i = 0; i < nflows; i++) {
			frame_make(frames + (size_t)i * FRAME, perm[i], ipv6);
			fr[i].nic_hash = nh[perm[i]];
		}
		free(nh);
		free(perm);
	}
	uint64_t best = UINT64_MAX, pkts = 0;
	if (callgrind)
		CALLGRIND_START_INSTRUMENTATION;
	for (uint32_t r = 0; r < rounds; r++) {
		uint64_t dt = round_run(w, fr, nflows);
		if (dt < best)
			best = dt;
		pkts += nflows;
	}
	if (callgrind)
		CALLGRIND_STOP_INSTRUMENTATION;
	printf("flows %u (%s%s%s), rounds %u, packets %llu: best round %.1f cycles/packet\n",
	       nflows, ipv6 ? "IPv6" : "IPv4", shuffle ? ", shuffled" : "",
	       nic ? ", NIC hash" : "", rounds,
	       (unsigned long long)pkts, (double)best / nflows);
out:
	bwg_worker_destroy(w);
	bwg_policy_free(pol);
	bwg_dnsnames_destroy(names);
	bwg_behaviour_destroy(behaviour);
	free(frames);
	free(fr);
	return rc;
}
