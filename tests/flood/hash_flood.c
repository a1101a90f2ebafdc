/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hash_flood: flows chosen to collide cost no more than random ones.
 *
 *   hash_flood CONFIG.json
 *
 * bwgate's flow hash was once an unkeyed sum of two CRC32C endpoint hashes. CRC32C is
 * linear over GF(2), so inside one IPv6 /64 the 64 interface-identifier bits map onto
 * 32 hash bits through a 32x64 matrix: its kernel holds 2^32 addresses whose endpoint
 * hash, and so whose flow hash, is the same. This test rebuilds that hash, solves for
 * 32,768 such source addresses (Gaussian elimination, milliseconds), and measures:
 *
 *  1. the flow table alone, keyed by the old hash and by today's: insert and look up the
 *     colliding flows and as many random ones (8,192 of each under the old hash, whose
 *     single chain makes that quadratic). Under the old hash every colliding flow
 *     lands in one probe chain (quadratic); under today's keyed SipHash they are random
 *     flows like any other.
 *  2. the whole pipeline (bwg_worker_burst, as bwgate-pcap runs it) on TCP SYNs of the
 *     colliding flows, of random flows, and of what today's hash deliberately maps
 *     together: both directions of one flow (the key is put in canonical order), and
 *     copies of one flow differing only in what the key leaves out (MAC addresses, TTL,
 *     flow label, TCP sequence).
 *
 * Each figure is the best of several runs (TSC cycles per packet) measured in this one
 * process, the runs of the sets compared taking turns, so a busy machine slows both
 * sides of a ratio alike. It fails when today's
 * colliding or structured flows cost more than 3x random ones, and (to show the test
 * sees the defect at all) when the old hash's colliding flows do not.
 *
 * It also checks that the other tables an outsider fills are keyed: the positions
 * chosen for the same keys move when the secret changes (intern tables: host names,
 * per-host meters, per-host flow counts; the fragment tables use the same keyed
 * SipHash, see lib/worker/worker.c).
 *
 * Prints its figures and "N passed, M failed".
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nmmintrin.h>
#include <x86intrin.h>

#include "bwg_hash.h"
#include "bwg_setup.h"
#include "bwg_worker.h"

#define N_FLOWS 32768
#define ROUNDS 3
#define TABLE_ROUNDS 9 /* a table round takes milliseconds: best of more */
#define OLD_FLOWS 8192   /* the old hash's one chain is quadratic: a quarter is plenty */
#define FRAME 74 /* Ethernet + IPv6 + TCP */

static int passed, failed;

static void
check(int ok, const char *what)
{
	if (ok)
		passed++;
	else
		failed++;
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
}

/* ---- the old hash (CRC32C sum of the endpoints), as bwgate once had it ------------- */

static uint64_t
load64(const uint8_t *b)
{
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}

static uint32_t
old_endpoint_hash(const uint8_t *addr, uint16_t port)
{
	uint32_t h = (uint32_t)_mm_crc32_u64(port, load64(addr));
	return (uint32_t)_mm_crc32_u64(h, load64(addr + 8));
}

static uint32_t
old_flow_hash(const struct bwg_pkt *p)
{
	uint32_t h = old_endpoint_hash(p->addr[0], p->port[0]) +
		     old_endpoint_hash(p->addr[1], p->port[1]);
	h ^= (uint32_t)p->proto << 24 ^ p->vlan;
	h *= 0x9e3779b1u;
	return h ^ (h >> 15);
}

/*
 * Interface identifiers (as the 64-bit little-endian word the hash loads) whose endpoint
 * hash under prefix/port equals that of identifier 0: the kernel of the linear part of
 * iid -> crc32c(h, iid). Writes `n` distinct ones (n <= 2^dim) to out. Returns the
 * kernel's dimension.
 */
static int
solve_collisions(const uint8_t prefix[8], uint16_t port, uint64_t *out, uint32_t n)
{
	uint8_t a[16];
	memcpy(a, prefix, 8);
	memset(a + 8, 0, 8);
	uint32_t base = old_endpoint_hash(a, port);
	/* Column i: the hash change flipping bit i makes. Row-reduce the 64 columns,
	 * tracking which input bits each reduced column combines. */
	uint32_t col[64];
	uint64_t comb[64];
	for (int i = 0; i < 64; i++) {
		uint64_t x = 1ull << i;
		memcpy(a + 8, &x, 8);
		col[i] = old_endpoint_hash(a, port) ^ base;
		comb[i] = x;
	}
	uint64_t kernel[64];
	int dim = 0, rank = 0;
	for (int bit = 0; bit < 32; bit++) {
		int piv = -1;
		for (int i = rank; i < 64; i++)
			if (col[i] >> bit & 1) {
				piv = i;
				break;
			}
		if (piv < 0)
			continue;
		uint32_t tc = col[piv];
		uint64_t tm = comb[piv];
		col[piv] = col[rank], comb[piv] = comb[rank];
		col[rank] = tc, comb[rank] = tm;
		for (int i = 0; i < 64; i++)
			if (i != rank && (col[i] >> bit & 1)) {
				col[i] ^= col[rank];
				comb[i] ^= comb[rank];
			}
		rank++;
	}
	for (int i = rank; i < 64; i++)
		kernel[dim++] = comb[i]; /* col[i] == 0: these combinations change nothing */
	for (uint32_t k = 0; k < n; k++) {
		uint64_t x = 0;
		for (int b = 0; b < dim && b < 32; b++)
			if ((k + 1) >> b & 1)
				x ^= kernel[b];
		out[k] = x;
	}
	return dim;
}

/* ---- frames -------------------------------------------------------------------------- */

static const uint8_t src_prefix[8] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x10, 0x00, 0x01};
static const uint8_t dst_addr[16] = {0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0, 0,
				     0,    0,    0,    0,    0,    0,    0, 0x80};
#define SRC_PORT 40000
#define DST_PORT 443

/* A TCP segment from src:sport to dst:dport; `salt` varies what the key leaves out. */
static void
frame_make(uint8_t *f, const uint8_t *src, uint16_t sport, const uint8_t *dst,
	   uint16_t dport, uint8_t flags, uint32_t salt)
{
	memset(f, 0, FRAME);
	memcpy(f, "\x02\x00\xc6\x33\x64\x01\x02\x00\x0a\x01\x00\x01", 12);
	f[5] ^= (uint8_t)salt, f[11] ^= (uint8_t)(salt >> 8);
	f[12] = 0x86, f[13] = 0xdd;
	uint8_t *ip = f + 14;
	ip[0] = 0x60 | (uint8_t)(salt >> 16 & 0x0f); /* traffic class */
	ip[2] = (uint8_t)salt, ip[3] = (uint8_t)(salt >> 8); /* flow label */
	ip[5] = 20, ip[6] = 6, ip[7] = (uint8_t)(32 + salt % 200);
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	uint8_t *tcp = ip + 40;
	tcp[0] = (uint8_t)(sport >> 8), tcp[1] = (uint8_t)sport;
	tcp[2] = (uint8_t)(dport >> 8), tcp[3] = (uint8_t)dport;
	memcpy(tcp + 4, &salt, 4);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	tcp[14] = 0xfa, tcp[15] = 0xf0;
}

struct flood {
	const char *name;
	uint8_t *frames;
	struct bwg_frame *fr;
	struct bwg_pkt *pkts;
};

static void
flood_init(struct flood *fl, const char *name)
{
	fl->name = name;
	fl->frames = calloc(N_FLOWS, FRAME);
	fl->fr = calloc(N_FLOWS, sizeof(*fl->fr));
	fl->pkts = calloc(N_FLOWS, sizeof(*fl->pkts));
	if (!fl->frames || !fl->fr || !fl->pkts) {
		fprintf(stderr, "hash_flood: out of memory\n");
		exit(1);
	}
}

static void
flood_frame(struct flood *fl, uint32_t i, const uint8_t *src, uint16_t sport,
	    const uint8_t *dst, uint16_t dport, uint8_t flags, uint32_t salt)
{
	uint8_t *f = fl->frames + (size_t)i * FRAME;
	frame_make(f, src, sport, dst, dport, flags, salt);
	fl->fr[i] = (struct bwg_frame){.data = f, .caplen = FRAME, .wire_len = FRAME};
	if (bwg_pkt_parse(&fl->pkts[i], f, FRAME, FRAME, BWG_LINK_ETHER, 0) != BWG_PKT_OK) {
		fprintf(stderr, "hash_flood: a generated frame does not parse\n");
		exit(1);
	}
}

static void
flood_fini(struct flood *fl)
{
	free(fl->frames);
	free(fl->fr);
	free(fl->pkts);
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	return *s = x;
}

/* ---- 1. the flow table under either hash ---------------------------------------------- */

typedef uint32_t (*hash_fn)(const struct bwg_pkt *p);

/* Cycles per flow to insert the first n flows of fl and look each up once (best of
 * `rounds`). */
static double
table_cost(const struct flood *fl, uint32_t n, hash_fn hash, int rounds)
{
	static const struct bwg_flow_timeouts to = {1, 1, 1, 1, 1, 1};
	uint64_t best = UINT64_MAX;
	for (int r = 0; r < rounds; r++) {
		struct bwg_flow_table t;
		if (bwg_flow_table_init(&t, 2 * N_FLOWS, &to) < 0)
			exit(1);
		uint64_t t0 = __rdtsc();
		int dir, found = 0;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t h = hash(&fl->pkts[i]);
			if (!bwg_flow_lookup(&t, &fl->pkts[i], h, &dir))
				bwg_flow_insert(&t, &fl->pkts[i], h);
		}
		for (uint32_t i = 0; i < n; i++)
			found += bwg_flow_lookup(&t, &fl->pkts[i], hash(&fl->pkts[i]), &dir) != NULL;
		uint64_t dt = __rdtsc() - t0;
		if (found != (int)n)
			exit(1);
		if (dt < best)
			best = dt;
		bwg_flow_table_fini(&t);
	}
	return (double)best / n;
}

/* ---- 2. the pipeline ------------------------------------------------------------------ */

/* Cycles per packet through a fresh worker, in bursts of 32. */
static double
pipeline_cost(const char *config, struct flood *fl, uint64_t *flows_created)
{
	uint64_t best = UINT64_MAX;
	{
		char err[1024];
		struct bwg_policy *pol;
		struct bwg_dpi *dpi;
		if (bwg_setup_load(config, 1, &pol, &dpi, err, sizeof(err)) < 0) {
			fprintf(stderr, "hash_flood: %s\n", err);
			exit(2);
		}
		struct bwg_worker_conf wc = {.link = BWG_LINK_ETHER, .event_ring_size = 1024,
					     .aging_budget = 256};
		struct bwg_worker *w;
		if (bwg_worker_create(&w, &wc, pol, dpi, err, sizeof(err)) < 0) {
			fprintf(stderr, "hash_flood: %s\n", err);
			exit(1);
		}
		uint8_t verdict[BWG_BURST_MAX];
		uint64_t ts = 1795572000ull * 1000000000ull;
		uint64_t t0 = __rdtsc();
		for (uint32_t i = 0; i < N_FLOWS; i += BWG_BURST_MAX) {
			for (uint32_t j = i; j < i + BWG_BURST_MAX; j++)
				fl->fr[j].ts_ns = ts + j * 1000ull;
			bwg_worker_burst(w, fl->fr + i, BWG_BURST_MAX, verdict);
			while (bwg_event_ring_peek(&w->events))
				bwg_event_ring_pop(&w->events);
		}
		uint64_t dt = __rdtsc() - t0;
		if (dt < best)
			best = dt;
		*flows_created = w->stats.cnt[BWG_CNT_FLOWS_CREATED];
		bwg_worker_flush(w, UINT32_MAX);
		bwg_worker_destroy(w);
		bwg_policy_free(pol);
	}
	return (double)best / N_FLOWS;
}

/* ---- the other keyed tables --------------------------------------------------------- */

/* Hash positions the intern tables give `keys` under the current secret. */
static void
intern_positions(uint32_t *pos, uint32_t key_len)
{
	struct bwg_intern t;
	if (bwg_intern_init(&t, 1024, key_len, 0) < 0)
		exit(1);
	for (uint32_t i = 0; i < 64; i++) {
		uint8_t key[64] = {0};
		snprintf((char *)key, sizeof(key), "host-%u.example.com", i);
		int created;
		uint32_t id = bwg_intern_get(&t, key, &created);
		pos[i] = t.hashes[id];
	}
	bwg_intern_fini(&t);
}

static void
check_intern_keyed(void)
{
	uint32_t a[64], b[64];
	struct bwg_hash_key saved = bwg_hash_secret;
	int moved = 0;
	bwg_hash_secret_set(1, 2);
	intern_positions(a, 64);
	bwg_hash_secret_set(3, 4);
	intern_positions(b, 64);
	for (int i = 0; i < 64; i++)
		moved += a[i] != b[i];
	bwg_hash_secret_set(saved.k0, saved.k1);
	printf("intern tables (host names, per-host meters, per-host flow counts): %d of 64 "
	       "keys hash elsewhere under another secret\n", moved);
	check(moved >= 62, "intern table hashes depend on the secret");
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: hash_flood CONFIG.json\n");
		return 2;
	}
	const char *config = argv[1];
	if (bwg_hash_secret_init() < 0) {
		fprintf(stderr, "hash_flood: no randomness for the secret\n");
		return 1;
	}
	uint64_t *iid = malloc(N_FLOWS * sizeof(*iid));
	int dim = solve_collisions(src_prefix, SRC_PORT, iid, N_FLOWS);
	printf("old hash: kernel of dimension %d inside %02x%02x:%02x%02x:%02x%02x:%02x%02x::/64 "
	       "(2^%d colliding source addresses per port)\n",
	       dim, src_prefix[0], src_prefix[1], src_prefix[2], src_prefix[3], src_prefix[4],
	       src_prefix[5], src_prefix[6], src_prefix[7], dim);

	struct flood col, rnd, both, same;
	flood_init(&col, "colliding (old hash)");
	flood_init(&rnd, "random");
	flood_init(&both, "both directions");
	flood_init(&same, "fields the key ignores");
	uint64_t seed = bwg_hash_secret.k1 | 1;
	for (uint32_t i = 0; i < N_FLOWS; i++) {
		uint8_t a[16];
		memcpy(a, src_prefix, 8);
		memcpy(a + 8, &iid[i], 8);
		flood_frame(&col, i, a, SRC_PORT, dst_addr, DST_PORT, 0x02, i);
		uint64_t r = rng_next(&seed);
		memcpy(a + 8, &r, 8);
		flood_frame(&rnd, i, a, SRC_PORT, dst_addr, DST_PORT, 0x02, i);
		/* Half the flows, each seen from both ends: SYN, then the SYN-ACK. */
		uint64_t r2 = rng_next(&seed);
		memcpy(a + 8, &r2, 8);
		if (i % 2 == 0) {
			flood_frame(&both, i, a, SRC_PORT, dst_addr, DST_PORT, 0x02, i);
			flood_frame(&both, i + 1, dst_addr, DST_PORT, a, SRC_PORT, 0x12, i);
		}
		/* 256 flows, each sent 128 times with other MACs, TTL, flow label, seq. */
		memcpy(a + 8, &(uint64_t){i % 256 + 1}, 8);
		flood_frame(&same, i, a, SRC_PORT, dst_addr, DST_PORT, 0x02, i);
	}
	uint32_t h0 = old_flow_hash(&col.pkts[0]), same_hash = 0, distinct = 0;
	for (uint32_t i = 0; i < N_FLOWS; i++) {
		same_hash += old_flow_hash(&col.pkts[i]) == h0;
		distinct += i == 0 || memcmp(col.pkts[i].addr[0], col.pkts[i - 1].addr[0], 16);
	}
	printf("old hash: %u of %u distinct flows hash to %08x\n", same_hash, N_FLOWS, h0);
	check(same_hash == N_FLOWS && distinct == N_FLOWS,
	      "the colliding flows are distinct and collide under the old hash");

	/* 1. The table under each hash. */
	/* Rounds of the two sets alternate, so that a busy spell of the machine costs each
	 * alike; the best of each is kept. */
	double new_r = 1e300, new_c = 1e300, old_r = 1e300;
	for (int r = 0; r < TABLE_ROUNDS; r++) {
		double x = table_cost(&rnd, N_FLOWS, bwg_flow_hash, 1);
		double y = table_cost(&col, N_FLOWS, bwg_flow_hash, 1);
		double z = table_cost(&rnd, OLD_FLOWS, old_flow_hash, 1);
		new_r = x < new_r ? x : new_r;
		new_c = y < new_c ? y : new_c;
		old_r = z < old_r ? z : old_r;
	}
	double old_c = table_cost(&col, OLD_FLOWS, old_flow_hash, 1); /* quadratic: once */
	printf("flow table, flows inserted and looked up, cycles per flow (best of %d; the "
	       "old hash's colliding flows once):\n",
	       TABLE_ROUNDS);
	printf("  old hash (%5u flows): colliding %10.1f  random %6.1f  ratio %7.1fx\n",
	       OLD_FLOWS, old_c, old_r, old_c / old_r);
	printf("  new hash (%5u flows): colliding %10.1f  random %6.1f  ratio %7.2fx\n",
	       N_FLOWS, new_c, new_r, new_c / new_r);
	check(old_c > 3 * old_r, "the old hash's colliding flows cost more than 3x random "
				 "(the test sees the defect)");
	check(new_c <= 3 * new_r, "today's hash: colliding flows cost at most 3x random");

	/* 2. The pipeline. */
	uint64_t created[4];
	struct flood *sets[4] = {&rnd, &col, &both, &same};
	double best[4] = {1e300, 1e300, 1e300, 1e300};
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < 4; k++) {
			double c = pipeline_cost(config, sets[k], &created[k]);
			best[k] = c < best[k] ? c : best[k];
		}
	double p_rnd = best[0], p_col = best[1], p_both = best[2], p_same = best[3];
	printf("pipeline (bwg_worker_burst), %u IPv6 TCP packets, cycles per packet (best of "
	       "%d):\n", N_FLOWS, ROUNDS);
	const struct {
		const char *name;
		double cost;
		uint64_t flows;
	} rows[] = {{rnd.name, p_rnd, created[0]},
		    {col.name, p_col, created[1]},
		    {both.name, p_both, created[2]},
		    {same.name, p_same, created[3]}};
	for (int i = 0; i < 4; i++)
		printf("  %-24s %8.1f  (%5.2fx random; %llu flows)\n", rows[i].name, rows[i].cost,
		       rows[i].cost / p_rnd, (unsigned long long)rows[i].flows);
	check(p_col <= 3 * p_rnd, "pipeline: old-hash collisions cost at most 3x random");
	check(p_both <= 3 * p_rnd, "pipeline: both directions of flows cost at most 3x random");
	check(p_same <= 3 * p_rnd, "pipeline: flows differing only in fields the key ignores "
				   "cost at most 3x random");
	check(created[2] == N_FLOWS / 2 && created[3] == 256,
	      "both directions make one flow; ignored fields make no new flow");

	check_intern_keyed();

	flood_fini(&col);
	flood_fini(&rnd);
	flood_fini(&both);
	flood_fini(&same);
	free(iid);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
