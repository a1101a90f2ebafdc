/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_dnsnames: the cost of names learned from DNS, as a worker pays it.
 *
 *   bench_dnsnames [--entries N] [--addrs A] [--ops K] [--cpus C0,C1]
 *
 * Builds a cache of N entries (default 65536, the config's default) and learns from A
 * distinct DNS responses (default 32768: the cache holds nearly all), each the shape a
 * CDN answers with: the question www-<i>.video.example, a CNAME to e<i>.cdn.example.net,
 * and one A record. Then times,
 * with the TSC, K operations (default 2^20) of each kind in random order:
 *
 *   learn        bwg_dnsnames_learn of one response (parse + one insert)
 *   lookup hit   bwg_dnsnames_lookup of an address learned (the name copied out)
 *   lookup miss  bwg_dnsnames_lookup of an address never answered
 *
 * first in one thread, then in two threads pinned to two CPUs at once: both learning the
 * same responses (every set contended), one learning while the other looks up, both
 * looking up. It prints ns per operation of the thread's CPU time (so that other
 * processes on a shared machine do not count), the same in TSC cycles (the TSC rate is
 * measured against CLOCK_MONOTONIC), cycles of wall time, and the records skipped
 * because another thread held their set (`busy`).
 */

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <x86intrin.h>

#include "bwg_dnsnames.h"
#include "bwg_hash.h"

#define MSG_MAX 128
#define T0 (1795572000ull * 1000000000ull)

static uint32_t naddrs;
static uint32_t nops = 1u << 20;
static struct bwg_dnsnames *cache;
static int cpus[2] = {0, 1};
static pthread_barrier_t start;

enum op { LEARN, HIT, MISS, OP_MAX };
static const char *const op_names[OP_MAX] = {"learn", "lookup hit", "lookup miss"};

static uint32_t
put_name(uint8_t *p, const char *dotted)
{
	uint32_t n = 0;
	while (*dotted) {
		size_t l = strcspn(dotted, ".");
		p[n++] = (uint8_t)l;
		memcpy(p + n, dotted, l);
		n += (uint32_t)l;
		dotted += l + (dotted[l] == '.');
	}
	p[n++] = 0;
	return n;
}

/* Response i: www-NNNNNN.video.example CNAME eNNNNNN.cdn.example.net A 100.64.x.y, with
 * NNNNNN = i. A worker learns from a packet it has just parsed, so each thread keeps one
 * message hot and rewrites its number and address in place (msg_set) before learning. */
struct msg {
	uint8_t b[MSG_MAX];
	uint32_t len;
	uint32_t qdigits, tdigits; /* where the two numbers are */
};

static uint32_t
put_digits(uint8_t *p, uint32_t i)
{
	for (int k = 5; k >= 0; k--, i /= 10)
		p[k] = (uint8_t)('0' + i % 10);
	return 6;
}

static void
msg_set(struct msg *m, uint32_t i)
{
	put_digits(m->b + m->qdigits, i);
	put_digits(m->b + m->tdigits, i);
	m->b[m->len - 3] = (uint8_t)(64 + (i >> 16));
	m->b[m->len - 2] = (uint8_t)(i >> 8);
	m->b[m->len - 1] = (uint8_t)i;
}

static void
msg_make(struct msg *m)
{
	static const uint8_t head[12] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0};
	uint8_t *b = m->b;
	memcpy(b, head, 12);
	uint32_t n = 12;
	m->qdigits = n + 5;
	n += put_name(b + n, "www-000000.video.example");
	memcpy(b + n, "\x00\x01\x00\x01", 4);
	n += 4;
	/* CNAME: owner -> QNAME, TTL 300 */
	memcpy(b + n, "\xc0\x0c\x00\x05\x00\x01\x00\x00\x01\x2c", 10);
	n += 10;
	uint32_t tlen = put_name(b + n + 2, "e000000.cdn.example.net");
	b[n] = (uint8_t)(tlen >> 8);
	b[n + 1] = (uint8_t)tlen;
	uint32_t target = n + 2;
	m->tdigits = target + 2;
	n += 2 + tlen;
	/* A: owner -> the target, TTL 60 */
	b[n++] = (uint8_t)(0xc0 | target >> 8);
	b[n++] = (uint8_t)target;
	memcpy(b + n, "\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04", 10);
	n += 10;
	b[n++] = 100;
	n += 3;
	m->len = n;
}

static inline uint32_t
next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

struct job {
	enum op op;
	int cpu;
	uint32_t seed;
	uint64_t cycles;  /* TSC, wall clock */
	uint64_t cpu_ns;  /* the thread's CPU time: what it cost when others share the CPU */
	struct bwg_dnsnames_counters cnt;
	uint64_t found;
};

static void
pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *
run(void *arg)
{
	struct job *j = arg;
	pin(j->cpu);
	uint32_t x = j->seed;
	char name[80];
	uint8_t addr[16] = {100};
	struct msg m;
	msg_make(&m);
	pthread_barrier_wait(&start);
	struct timespec c0, c1;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	uint64_t t = __rdtsc();
	for (uint32_t k = 0; k < nops; k++) {
		uint32_t i = next(&x) % naddrs;
		if (j->op == LEARN) {
			msg_set(&m, i);
			bwg_dnsnames_learn(cache, m.b, m.len, false, T0, &j->cnt);
			continue;
		}
		addr[1] = (uint8_t)((j->op == HIT ? 64 : 96) + (i >> 16));
		addr[2] = (uint8_t)(i >> 8);
		addr[3] = (uint8_t)i;
		j->found += bwg_dnsnames_lookup(cache, 4, addr, T0, name, sizeof(name));
	}
	j->cycles = __rdtsc() - t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	j->cpu_ns = (uint64_t)((c1.tv_sec - c0.tv_sec) * 1000000000ll + (c1.tv_nsec - c0.tv_nsec));
	return NULL;
}

/* Run `n` jobs at once (each on its own thread and CPU). */
static void
run_jobs(struct job *jobs, int n)
{
	pthread_t t[2];
	pthread_barrier_init(&start, NULL, (unsigned)n);
	for (int k = 0; k < n; k++)
		pthread_create(&t[k], NULL, run, &jobs[k]);
	for (int k = 0; k < n; k++)
		pthread_join(t[k], NULL);
	pthread_barrier_destroy(&start);
}

static double
tsc_ghz(void)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	uint64_t c = __rdtsc();
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec) < 200000000);
	uint64_t dc = __rdtsc() - c;
	return (double)dc / (double)((b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec));
}

static void
report(const char *what, const struct job *j, double ghz)
{
	double ns = (double)j->cpu_ns / nops;
	printf("  %-38s %7.1f ns %7.0f cycles/op (wall %7.0f)", what, ns, ns * ghz,
	       (double)j->cycles / nops);
	if (j->op == LEARN)
		printf("  busy %llu of %u", (unsigned long long)j->cnt.busy, nops);
	else
		printf("  found %.0f%%", 100.0 * (double)j->found / nops);
	printf("\n");
}

int
main(int argc, char **argv)
{
	uint32_t entries = 65536;
	naddrs = 32768;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--entries") == 0 && i + 1 < argc)
			entries = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--addrs") == 0 && i + 1 < argc)
			naddrs = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
			nops = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--cpus") == 0 && i + 1 < argc &&
			 sscanf(argv[++i], "%d,%d", &cpus[0], &cpus[1]) == 2)
			;
		else {
			fprintf(stderr, "usage: bench_dnsnames [--entries N] [--addrs A<=999999] "
					"[--ops K] [--cpus C0,C1]\n");
			return 2;
		}
	}
	if (naddrs == 0 || naddrs > 999999 || nops == 0) {
		fprintf(stderr, "bench_dnsnames: --addrs 1..999999, --ops > 0\n");
		return 2;
	}
	bwg_hash_secret_init();
	char err[256];
	struct bwg_dnsnames_conf conf = {.entries = entries, .max_ttl = 3600};
	if (bwg_dnsnames_create(&cache, &conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_dnsnames: %s\n", err);
		return 1;
	}
	double ghz = tsc_ghz();
	printf("bench_dnsnames: cache of %u entries (%zu bytes), %u responses, %u ops each, "
	       "TSC %.2f GHz\n", bwg_dnsnames_capacity(cache), bwg_dnsnames_bytes(cache), naddrs,
	       nops, ghz);

	/* Fill the cache first so that lookups meet a cache in its steady state. */
	struct job fill = {.op = LEARN, .cpu = cpus[0], .seed = 1};
	run_jobs(&fill, 1);

	printf("one thread (CPU %d):\n", cpus[0]);
	for (int op = 0; op < OP_MAX; op++) {
		struct job j = {.op = (enum op)op, .cpu = cpus[0], .seed = 7 + (uint32_t)op};
		run_jobs(&j, 1);
		report(op_names[op], &j, ghz);
	}

	printf("two threads (CPUs %d and %d) at once:\n", cpus[0], cpus[1]);
	struct job both[2] = {{.op = LEARN, .cpu = cpus[0], .seed = 11},
			      {.op = LEARN, .cpu = cpus[1], .seed = 13}};
	run_jobs(both, 2);
	report("learn, while the other learns", &both[0], ghz);
	report("learn, while the other learns", &both[1], ghz);
	struct job mixed[2] = {{.op = LEARN, .cpu = cpus[0], .seed = 17},
			       {.op = HIT, .cpu = cpus[1], .seed = 19}};
	run_jobs(mixed, 2);
	report("learn, while the other looks up", &mixed[0], ghz);
	report("lookup hit, while the other learns", &mixed[1], ghz);
	struct job readers[2] = {{.op = HIT, .cpu = cpus[0], .seed = 23},
				 {.op = HIT, .cpu = cpus[1], .seed = 29}};
	run_jobs(readers, 2);
	report("lookup hit, while the other looks up", &readers[0], ghz);
	report("lookup hit, while the other looks up", &readers[1], ghz);

	bwg_dnsnames_destroy(cache);
	return 0;
}
