/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flow table, owned by one worker.
 *
 * Records live in a flat array allocated at start-up; a stack of free indices hands
 * them out. The index is a bwg_slotmap ({hash, record} pairs, linear probing, at least
 * twice as many slots as records, backward-shift deletion), so a table that churns for
 * months probes as well as a fresh one. Where the NIC hashes frames for RSS, a second
 * slotmap finds flows by that hash (bwg_flow_table_nic_init): a flow enters it only near
 * its home, since nobody keyed that hash against flooding.
 *
 * Aging walks the record array from a cursor, `budget` records per call: the worker's
 * housekeeping tick bounds how much time expiry may take, and a full sweep of a large
 * table is spread over many ticks. Free records are handed out lowest index first, so
 * live flows cluster at the bottom of the array and the sweep stops at the highest
 * index ever used: a table sized for a million flows that holds a thousand sweeps a
 * thousand records.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_flow.h"
#include "bwg_hash.h"

int
bwg_flow_table_init(struct bwg_flow_table *t, uint32_t capacity,
		    const struct bwg_flow_timeouts *timeouts)
{
	memset(t, 0, sizeof(*t));
	if (capacity == 0 || capacity > (1u << 28))
		return -EINVAL;
	t->flows = bwg_table_alloc((size_t)capacity * sizeof(*t->flows));
	t->free_stack = malloc((size_t)capacity * sizeof(*t->free_stack));
	if (!t->flows || !t->free_stack || bwg_slotmap_init(&t->index, capacity) < 0) {
		bwg_flow_table_fini(t);
		return -ENOMEM;
	}
	/* Hand out low indices first: aging then walks a compact prefix. */
	for (uint32_t i = 0; i < capacity; i++)
		t->free_stack[i] = capacity - 1 - i;
	t->free_top = capacity;
	t->capacity = capacity;
	t->timeouts = *timeouts;
	return 0;
}

int
bwg_flow_table_nic_init(struct bwg_flow_table *t)
{
	if (t->nic.slots)
		return 0;
	if (!(t->nic_hash = calloc(t->capacity, sizeof(*t->nic_hash))) ||
	    bwg_slotmap_init(&t->nic, t->capacity) < 0) {
		free(t->nic_hash);
		t->nic_hash = NULL;
		return -ENOMEM;
	}
	return 0;
}

void
bwg_flow_nic_attach(struct bwg_flow_table *t, struct bwg_flow *f, uint32_t nic_hash)
{
	uint32_t idx = bwg_flow_index(t, f);
	if (t->nic_hash[idx] ||
	    bwg_slotmap_insert_near(&t->nic, nic_hash, idx, BWG_FLOW_NIC_PROBES) < 0)
		return;
	t->nic_hash[idx] = BWG_FLOW_NIC_ON | nic_hash;
}

void
bwg_flow_table_fini(struct bwg_flow_table *t)
{
	bwg_table_free(t->flows, (size_t)t->capacity * sizeof(*t->flows));
	bwg_slotmap_fini(&t->index);
	bwg_slotmap_fini(&t->nic);
	free(t->nic_hash);
	free(t->free_stack);
	memset(t, 0, sizeof(*t));
}

static inline uint64_t
load64(const uint8_t *b)
{
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}

/*
 * The flow key as the hash's message: both endpoints in a canonical order (the lower
 * address and port first), so both directions hash the same. An IPv4 key packs into
 * two words, an IPv6 key into five; the ports, VLAN, protocol and family are one load.
 * Returns the number of words.
 */
static inline unsigned
key_words(const struct bwg_pkt *p, uint64_t *m, size_t stride)
{
	uint64_t w = load64((const uint8_t *)p->port); /* port[0], port[1], vlan, proto, family */
	uint64_t tail = w & ~0xffffffffull;
	if (p->family == 4) {
		uint32_t a0, a1;
		memcpy(&a0, p->addr[0], 4);
		memcpy(&a1, p->addr[1], 4);
		uint64_t e0 = (uint64_t)a0 << 16 | (uint16_t)w;
		uint64_t e1 = (uint64_t)a1 << 16 | (uint16_t)(w >> 16);
		uint64_t lo = e0 < e1 ? e0 : e1, hi = e0 < e1 ? e1 : e0;
		m[0] = lo | hi << 48;
		m[stride] = hi >> 16 | tail;
		return 2;
	}
	uint64_t p0 = (uint16_t)w, p1 = (uint16_t)(w >> 16);
	uint64_t a0 = load64(p->addr[0]), a0h = load64(p->addr[0] + 8);
	uint64_t a1 = load64(p->addr[1]), a1h = load64(p->addr[1] + 8);
	if (a0 > a1 || (a0 == a1 && (a0h > a1h || (a0h == a1h && p0 > p1)))) {
		uint64_t t = a0;
		a0 = a1, a1 = t;
		t = a0h, a0h = a1h, a1h = t;
		t = p0, p0 = p1, p1 = t;
	}
	m[0] = a0;
	m[stride] = a0h;
	m[2 * stride] = a1;
	m[3 * stride] = a1h;
	m[4 * stride] = p0 | p1 << 16 | tail;
	return 5;
}

/*
 * The keyed hash of the flow key under the process secret (bwg_hash_words: AES rounds,
 * or SipHash-1-3): nobody without the secret can aim packets at one probe chain.
 */
uint32_t
bwg_flow_hash(const struct bwg_pkt *p)
{
	uint64_t m[5];
	unsigned n = key_words(p, m, 1);
	return (uint32_t)bwg_hash_words(m, n);
}

#if defined(__x86_64__)
/* The burst's keys built and hashed in one loop, an IPv4 key's round keys held in
 * registers: AES rounds of several keys overlap in the pipeline. */
__attribute__((target("avx,aes"))) static void
hash_burst_aes(const struct bwg_pkt *p, const uint16_t *idx, uint16_t n, uint32_t *hash)
{
	const __m128i *rk = (const __m128i *)bwg_hash_aes_rk;
	const __m128i rk0 = _mm_xor_si128(_mm_load_si128(rk), _mm_cvtsi32_si128(2));
	const __m128i k[4] = {_mm_load_si128(rk + 1), _mm_load_si128(rk + 2),
			      _mm_load_si128(rk + 3), _mm_load_si128(rk + 4)};
	for (uint16_t j = 0; j < n; j++) {
		const struct bwg_pkt *q = &p[idx[j]];
		uint64_t m[5];
		if (key_words(q, m, 1) == 2)
			hash[idx[j]] = (uint32_t)bwg_aes_2w(m[0], m[1], rk0, k);
		else
			hash[idx[j]] = (uint32_t)bwg_aes_words(m, 1, 5);
	}
}
#endif

void
bwg_flow_hash_burst(const struct bwg_pkt *p, const uint16_t *idx, uint16_t n, uint32_t *hash)
{
#if defined(__x86_64__)
	if (bwg_hash_aes) {
		hash_burst_aes(p, idx, n, hash);
		return;
	}
#endif
	/* SipHash: the rounds of four keys side by side in AVX2 lanes. */
	enum { CHUNK = 32 };
	uint64_t m4[2 * CHUNK], m6[5 * CHUNK], h4[CHUNK], h6[CHUNK];
	uint16_t i4[CHUNK], i6[CHUNK];
	for (uint16_t base = 0; base < n; base += CHUNK) {
		uint16_t end = n - base < CHUNK ? n : base + CHUNK, n4 = 0, n6 = 0;
		for (uint16_t j = base; j < end; j++) {
			const struct bwg_pkt *q = &p[idx[j]];
			if (q->family == 4) {
				key_words(q, m4 + n4, CHUNK);
				i4[n4++] = idx[j];
			} else {
				key_words(q, m6 + n6, CHUNK);
				i6[n6++] = idx[j];
			}
		}
		bwg_siphash13_batch(&bwg_hash_secret, m4, CHUNK, 2, h4, n4);
		bwg_siphash13_batch(&bwg_hash_secret, m6, CHUNK, 5, h6, n6);
		for (uint16_t j = 0; j < n4; j++)
			hash[i4[j]] = (uint32_t)h4[j];
		for (uint16_t j = 0; j < n6; j++)
			hash[i6[j]] = (uint32_t)h6[j];
	}
}

struct bwg_flow *
bwg_flow_insert(struct bwg_flow_table *t, const struct bwg_pkt *p, uint32_t hash)
{
	if (t->free_top == 0)
		return NULL;
	uint32_t idx = t->free_stack[--t->free_top];
	struct bwg_flow *f = &t->flows[idx];
	if (idx >= t->high_water)
		t->high_water = idx + 1;
	memset(f, 0, sizeof(*f));
	memcpy(f->addr, p->addr, sizeof(f->addr));
	f->port[0] = p->port[0];
	f->port[1] = p->port[1];
	f->vlan = p->vlan;
	f->proto = p->proto;
	f->family = p->family;
	f->host_id = BWG_FLOW_NONE;
	f->dpi_slot = BWG_FLOW_NONE;
	f->meter_id = BWG_FLOW_NONE;

	bwg_slotmap_insert(&t->index, hash, idx);
	t->active++;
	return f;
}

static uint32_t
key_hash(const struct bwg_flow *f)
{
	struct bwg_pkt p;
	memcpy(p.addr, f->addr, sizeof(p.addr));
	p.port[0] = f->port[0];
	p.port[1] = f->port[1];
	p.vlan = f->vlan;
	p.proto = f->proto;
	p.family = f->family;
	return bwg_flow_hash(&p);
}

void
bwg_flow_remove(struct bwg_flow_table *t, struct bwg_flow *f)
{
	uint32_t idx = bwg_flow_index(t, f);
	bwg_slotmap_remove(&t->index, key_hash(f), idx);
	if (t->nic_hash && t->nic_hash[idx]) {
		bwg_slotmap_remove(&t->nic, (uint32_t)t->nic_hash[idx], idx);
		t->nic_hash[idx] = 0;
	}
	f->state = BWG_FLOW_FREE;
	t->free_stack[t->free_top++] = idx;
	t->active--;
}

uint64_t
bwg_flow_timeout(const struct bwg_flow_table *t, const struct bwg_flow *f)
{
	switch (f->proto) {
	case 6:
		if ((f->flags & BWG_FLOW_RST) ||
		    (f->flags & (BWG_FLOW_FIN_C2S | BWG_FLOW_FIN_S2C)) ==
			    (BWG_FLOW_FIN_C2S | BWG_FLOW_FIN_S2C))
			return t->timeouts.tcp_closed_ns;
		/* A handshake that never completed holds a record a flood may have sent. */
		return bwg_flow_established(f) ? t->timeouts.tcp_ns : t->timeouts.tcp_opening_ns;
	case 17:
		return bwg_flow_established(f) ? t->timeouts.udp_ns : t->timeouts.udp_unreplied_ns;
	default:
		return t->timeouts.other_ns;
	}
}

struct bwg_flow *
bwg_flow_evict_candidate(struct bwg_flow_table *t, uint32_t probes)
{
	/*
	 * Records at random (xorshift seeded with the process secret), not the hash's or a
	 * cursor's: nobody can aim at which records are probed, and established flows that
	 * cluster in the array cannot hide a run of unestablished ones.
	 */
	struct bwg_flow *best = NULL;
	if (t->high_water == 0)
		return NULL;
	if (t->evict_rng == 0)
		t->evict_rng = (bwg_hash_secret.k0 ^ 0x9e3779b97f4a7c15ull) | 1;
	for (uint32_t k = 0; k < probes; k++) {
		uint64_t x = t->evict_rng;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		t->evict_rng = x;
		uint32_t i = (uint32_t)(((x >> 32) * t->high_water) >> 32);
		struct bwg_flow *f = &t->flows[i];
		if (f->state == BWG_FLOW_FREE || bwg_flow_established(f))
			continue;
		if (!best || f->last_ts < best->last_ts)
			best = f;
	}
	return best;
}

uint32_t
bwg_flow_table_sweep(struct bwg_flow_table *t, uint64_t now_ns, uint32_t budget,
		     void (*expire)(struct bwg_flow *f, void *ctx),
		     void (*live)(struct bwg_flow *f, void *ctx), void *ctx)
{
	uint32_t n = 0;
	if (budget > t->high_water)
		budget = t->high_water;
	for (uint32_t k = 0; k < budget && t->active > 0; k++) {
		if (t->age_cursor >= t->high_water)
			t->age_cursor = 0;
		struct bwg_flow *f = &t->flows[t->age_cursor++];
		if (f->state == BWG_FLOW_FREE)
			continue;
		if (now_ns == UINT64_MAX ||
		    (now_ns > f->last_ts && now_ns - f->last_ts > bwg_flow_timeout(t, f))) {
			expire(f, ctx);
			n++;
		} else if (live) {
			live(f, ctx);
		}
	}
	return n;
}

uint32_t
bwg_flow_table_age(struct bwg_flow_table *t, uint64_t now_ns, uint32_t budget,
		   void (*expire)(struct bwg_flow *f, void *ctx), void *ctx)
{
	return bwg_flow_table_sweep(t, now_ns, budget, expire, NULL, ctx);
}
