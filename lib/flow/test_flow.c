/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flow table and slot map tests: keys in both directions, VLAN and protocol in the key,
 * a full table, a long random churn checked against a plain reference array (which
 * exercises backward-shift deletion), hash collisions and wrap-around in the slot map,
 * timeouts and bounded aging.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bwg_flow.h"
#include "bwg_hash.h"
#include "bwg_slotmap.h"

#define SEC 1000000000ull

static const struct bwg_flow_timeouts timeouts = {
	.tcp_ns = 300 * SEC,
	.tcp_closed_ns = 10 * SEC,
	.tcp_opening_ns = 15 * SEC,
	.udp_ns = 60 * SEC,
	.udp_unreplied_ns = 5 * SEC,
	.other_ns = 30 * SEC,
};

/* Deterministic generator (xorshift64*): the same sequence on every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static struct bwg_pkt
pkt4(uint32_t a, uint32_t b, uint16_t sport, uint16_t dport, uint8_t proto, uint16_t vlan)
{
	struct bwg_pkt p;
	memset(&p, 0, sizeof(p));
	p.family = 4;
	p.proto = proto;
	p.vlan = vlan;
	for (int i = 0; i < 4; i++) {
		p.addr[0][i] = (uint8_t)(a >> (24 - 8 * i));
		p.addr[1][i] = (uint8_t)(b >> (24 - 8 * i));
	}
	p.port[0] = sport;
	p.port[1] = dport;
	return p;
}

static struct bwg_pkt
reversed(const struct bwg_pkt *p)
{
	struct bwg_pkt r = *p;
	memcpy(r.addr[0], p->addr[1], 16);
	memcpy(r.addr[1], p->addr[0], 16);
	r.port[0] = p->port[1];
	r.port[1] = p->port[0];
	return r;
}

static struct bwg_flow *
lookup(struct bwg_flow_table *t, const struct bwg_pkt *p, int *dir)
{
	*dir = -1;
	return bwg_flow_lookup(t, p, bwg_flow_hash(p), dir);
}

static struct bwg_flow *
insert(struct bwg_flow_table *t, const struct bwg_pkt *p)
{
	struct bwg_flow *f = bwg_flow_insert(t, p, bwg_flow_hash(p));
	if (f)
		f->state = BWG_FLOW_CLASSIFIED; /* what the worker does right after */
	return f;
}

static void
test_record_size(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct bwg_flow), 128);
	assert_int_equal(_Alignof(struct bwg_flow), 64);
}

static void
test_init_errors(void **state)
{
	(void)state;
	struct bwg_flow_table t;
	assert_int_equal(bwg_flow_table_init(&t, 0, &timeouts), -EINVAL);
	assert_int_equal(bwg_flow_table_init(&t, (1u << 28) + 1, &timeouts), -EINVAL);
}

static void
test_insert_lookup_both_directions(void **state)
{
	(void)state;
	struct bwg_flow_table t;
	assert_int_equal(bwg_flow_table_init(&t, 1024, &timeouts), 0);
	struct bwg_pkt p = pkt4(0x0a000001, 0x5db8d822, 40000, 443, 6, 0);
	struct bwg_pkt r = reversed(&p);
	int dir;
	assert_null(lookup(&t, &p, &dir));

	struct bwg_flow *f = insert(&t, &p);
	assert_non_null(f);
	assert_int_equal(t.active, 1);
	/* The sender of the first packet is the client. */
	assert_memory_equal(f->addr[0], p.addr[0], 16);
	assert_memory_equal(f->addr[1], p.addr[1], 16);
	assert_int_equal(f->port[0], 40000);
	assert_int_equal(f->port[1], 443);
	assert_int_equal(f->proto, 6);
	assert_int_equal(f->family, 4);
	assert_int_equal(f->host_id, BWG_FLOW_NONE);
	assert_int_equal(f->dpi_slot, BWG_FLOW_NONE);
	assert_int_equal(f->meter_id, BWG_FLOW_NONE);
	assert_int_equal(f->pkts[0] + f->pkts[1] + f->bytes[0] + f->bytes[1], 0);

	assert_ptr_equal(lookup(&t, &p, &dir), f);
	assert_int_equal(dir, 0);
	assert_ptr_equal(lookup(&t, &r, &dir), f);
	assert_int_equal(dir, 1);

	/* Same addresses, other ports / protocol / VLAN: other flows. */
	struct bwg_pkt q = p;
	q.port[0] = 40001;
	assert_null(lookup(&t, &q, &dir));
	q = p;
	q.proto = 17;
	assert_null(lookup(&t, &q, &dir));
	q = p;
	q.vlan = 7;
	assert_null(lookup(&t, &q, &dir));
	/* Half-reversed (addresses swapped, ports not) is not the flow either. */
	q = p;
	memcpy(q.addr[0], p.addr[1], 16);
	memcpy(q.addr[1], p.addr[0], 16);
	assert_null(lookup(&t, &q, &dir));

	/* Same 5-tuple on VLAN 7 is its own flow; both stay found. */
	q = p;
	q.vlan = 7;
	struct bwg_flow *g = insert(&t, &q);
	assert_non_null(g);
	assert_ptr_not_equal(g, f);
	assert_int_equal(g->vlan, 7);
	struct bwg_pkt qr = reversed(&q);
	assert_ptr_equal(lookup(&t, &qr, &dir), g);
	assert_int_equal(dir, 1);
	assert_ptr_equal(lookup(&t, &r, &dir), f);
	assert_int_equal(dir, 1);
	assert_int_equal(t.active, 2);
	bwg_flow_table_fini(&t);
}

static void
test_ipv6_key(void **state)
{
	(void)state;
	struct bwg_flow_table t;
	assert_int_equal(bwg_flow_table_init(&t, 1024, &timeouts), 0);
	struct bwg_pkt p;
	memset(&p, 0, sizeof(p));
	p.family = 6;
	p.proto = 17;
	for (int i = 0; i < 16; i++) {
		p.addr[0][i] = (uint8_t)(0x20 + i);
		p.addr[1][i] = (uint8_t)(0x20 + i);
	}
	p.addr[1][15] ^= 1; /* differ in the last byte only */
	p.port[0] = p.port[1] = 443;
	struct bwg_flow *f = insert(&t, &p);
	assert_non_null(f);
	struct bwg_pkt r = reversed(&p);
	int dir;
	assert_ptr_equal(lookup(&t, &p, &dir), f);
	assert_int_equal(dir, 0);
	assert_ptr_equal(lookup(&t, &r, &dir), f);
	assert_int_equal(dir, 1);
	/* An IPv4 packet whose address bytes happen to match is not this flow. */
	struct bwg_pkt v4 = p;
	v4.family = 4;
	assert_null(lookup(&t, &v4, &dir));
	bwg_flow_table_fini(&t);
}

/* A random key, IPv4 or IPv6; the two addresses equal now and then. */
static struct bwg_pkt
random_key(uint64_t *s, int i)
{
	struct bwg_pkt p;
	memset(&p, 0, sizeof(p));
	p.family = (i & 1) ? 6 : 4;
	p.proto = (uint8_t)rnd(s);
	p.vlan = (uint16_t)(rnd(s) & 0xfff);
	for (int k = 0; k < (p.family == 6 ? 16 : 4); k++) {
		p.addr[0][k] = (uint8_t)rnd(s);
		p.addr[1][k] = (i % 7 == 0) ? p.addr[0][k] : (uint8_t)rnd(s);
	}
	p.port[0] = (uint16_t)rnd(s);
	p.port[1] = (uint16_t)rnd(s);
	return p;
}

/* Both hashes the flow table may use (AES rounds, SipHash): symmetric, and covering the
 * VLAN and the protocol. */
static void
test_symmetric_hash(void **state)
{
	(void)state;
	for (int aes = 0; aes < 2; aes++) {
		bwg_hash_use_aes(aes);
		uint64_t s = 0x1234567887654321ull;
		for (int i = 0; i < 10000; i++) {
			struct bwg_pkt p = random_key(&s, i);
			struct bwg_pkt r = reversed(&p);
			assert_int_equal(bwg_flow_hash(&p), bwg_flow_hash(&r));
		}
		struct bwg_pkt a = pkt4(1, 2, 3, 4, 6, 0), b = a, c = a, d = a;
		b.vlan = 1;
		c.proto = 17;
		d.port[1] = 5; /* ports packed next to the addresses */
		assert_int_not_equal(bwg_flow_hash(&a), bwg_flow_hash(&b));
		assert_int_not_equal(bwg_flow_hash(&a), bwg_flow_hash(&c));
		assert_int_not_equal(bwg_flow_hash(&a), bwg_flow_hash(&d));
	}
	bwg_hash_use_aes(1);
}

/* A burst's hashes, for any subset of its packets in any mix of families, equal one at
 * a time; and they move with the secret. */
static void
test_hash_burst(void **state)
{
	(void)state;
	enum { N = 67 };
	struct bwg_pkt p[N];
	uint16_t idx[N];
	uint32_t hash[N];
	uint64_t s = 0x0ddba11cafef00dull;
	for (int i = 0; i < N; i++)
		p[i] = random_key(&s, (int)(rnd(&s) % 3));
	for (int aes = 0; aes < 2; aes++) {
		bwg_hash_use_aes(aes);
		for (uint16_t n = 0; n <= N; n += 11) {
			uint16_t k = 0;
			for (uint16_t i = 0; i < n; i++)
				if (i % 3 != 1)
					idx[k++] = i;
			memset(hash, 0, sizeof(hash));
			bwg_flow_hash_burst(p, idx, k, hash);
			for (uint16_t j = 0; j < k; j++)
				assert_int_equal(hash[idx[j]], bwg_flow_hash(&p[idx[j]]));
		}
		uint32_t before = bwg_flow_hash(&p[0]), before6 = bwg_flow_hash(&p[1]);
		struct bwg_hash_key saved = bwg_hash_secret;
		bwg_hash_secret_set(saved.k0 ^ 1, saved.k1);
		assert_int_not_equal(bwg_flow_hash(&p[0]), before);
		assert_int_not_equal(bwg_flow_hash(&p[1]), before6);
		bwg_hash_secret_set(saved.k0, saved.k1);
		assert_int_equal(bwg_flow_hash(&p[0]), before);
	}
	bwg_hash_use_aes(1);
}

static void
test_capacity_full(void **state)
{
	(void)state;
	struct bwg_flow_table t;
	assert_int_equal(bwg_flow_table_init(&t, 64, &timeouts), 0);
	struct bwg_flow *fl[64];
	for (uint32_t i = 0; i < 64; i++) {
		struct bwg_pkt p = pkt4(0x0a000000 + i, 0x08080808, 1000, 53, 17, 0);
		fl[i] = insert(&t, &p);
		assert_non_null(fl[i]);
		assert_true(bwg_flow_index(&t, fl[i]) < 64);
	}
	assert_int_equal(t.active, 64);
	struct bwg_pkt extra = pkt4(0x0b000000, 0x08080808, 1000, 53, 17, 0);
	assert_null(bwg_flow_insert(&t, &extra, bwg_flow_hash(&extra)));
	assert_int_equal(t.active, 64);

	/* Remove one: it is gone, the others stay, and its room serves the next flow. */
	struct bwg_pkt gone = pkt4(0x0a000000 + 10, 0x08080808, 1000, 53, 17, 0);
	int dir;
	bwg_flow_remove(&t, fl[10]);
	assert_int_equal(t.active, 63);
	assert_null(lookup(&t, &gone, &dir));
	for (uint32_t i = 0; i < 64; i++) {
		if (i == 10)
			continue;
		struct bwg_pkt p = pkt4(0x0a000000 + i, 0x08080808, 1000, 53, 17, 0);
		assert_ptr_equal(lookup(&t, &p, &dir), fl[i]);
	}
	struct bwg_flow *f = insert(&t, &extra);
	assert_non_null(f);
	assert_ptr_equal(f, fl[10]);
	assert_ptr_equal(lookup(&t, &extra, &dir), f);
	assert_null(lookup(&t, &gone, &dir));
	assert_null(bwg_flow_insert(&t, &gone, bwg_flow_hash(&gone)));

	/* Remove and re-insert the same key. */
	bwg_flow_remove(&t, f);
	assert_null(lookup(&t, &extra, &dir));
	f = insert(&t, &extra);
	assert_non_null(f);
	assert_ptr_equal(lookup(&t, &extra, &dir), f);
	assert_int_equal(dir, 0);
	bwg_flow_table_fini(&t);
}

/* Key number k of the churn test: a small address space so that keys repeat. */
static struct bwg_pkt
churn_key(uint32_t k)
{
	return pkt4(0x0a000000 | (k >> 4), 0xc0a80001 + (k & 3), (uint16_t)(1024 + (k & 15)),
		    443, (k & 8) ? 6 : 17, (uint16_t)(k % 3));
}

static void
test_churn(void **state)
{
	(void)state;
	enum { CAP = 2048, KEYS = 3000, OPS = 200000 };
	struct bwg_flow_table t;
	assert_int_equal(bwg_flow_table_init(&t, CAP, &timeouts), 0);
	static struct bwg_flow *ref[KEYS]; /* live flow of key k, or NULL */
	static int ref_rev[KEYS];           /* it was inserted from the reversed key */
	memset(ref, 0, sizeof(ref));
	uint32_t live = 0, full_seen = 0;
	uint64_t s = 42;
	int dir;
	for (uint32_t op = 0; op < OPS; op++) {
		uint32_t k = (uint32_t)(rnd(&s) % KEYS);
		int rev = (int)(rnd(&s) & 1);
		struct bwg_pkt p = churn_key(k);
		if (rev)
			p = reversed(&p);
		struct bwg_flow *f = lookup(&t, &p, &dir);
		assert_ptr_equal(f, ref[k]);
		if (ref[k]) {
			assert_int_equal(dir, rev != ref_rev[k]);
			/* Remove half the time: about two thirds of the keys stay live, which
			 * keeps the table at or near full. */
			if (rnd(&s) & 1)
				continue;
			bwg_flow_remove(&t, f);
			ref[k] = NULL;
			live--;
			assert_null(lookup(&t, &p, &dir));
		} else {
			f = insert(&t, &p);
			if (live == CAP) {
				assert_null(f);
				full_seen++;
				continue;
			}
			assert_non_null(f);
			ref[k] = f;
			ref_rev[k] = rev;
			live++;
			assert_ptr_equal(lookup(&t, &p, &dir), f);
			assert_int_equal(dir, 0);
		}
		assert_int_equal(t.active, live);
		if (op % 5000 == 0 || op == OPS - 1) {
			for (uint32_t j = 0; j < KEYS; j++) {
				struct bwg_pkt q = churn_key(j);
				struct bwg_pkt qr = reversed(&q);
				assert_ptr_equal(lookup(&t, &q, &dir), ref[j]);
				if (ref[j])
					assert_int_equal(dir, ref_rev[j]);
				assert_ptr_equal(lookup(&t, &qr, &dir), ref[j]);
				if (ref[j])
					assert_int_equal(dir, !ref_rev[j]);
			}
		}
	}
	assert_true(full_seen > 0); /* the full-table path was taken too */
	/* Drain everything: the index must end empty. */
	for (uint32_t j = 0; j < KEYS; j++)
		if (ref[j])
			bwg_flow_remove(&t, ref[j]);
	assert_int_equal(t.active, 0);
	for (uint32_t i = 0; i <= t.index.mask; i++)
		assert_int_equal(t.index.slots[i].idx, BWG_SLOT_EMPTY);
	bwg_flow_table_fini(&t);
}

/* ---- slot map with chosen hashes ------------------------------------------------------ */

static int
slotmap_has(const struct bwg_slotmap *m, uint32_t hash, uint32_t idx)
{
	BWG_SLOTMAP_FOREACH(m, hash, pos)
		if (m->slots[pos].hash == hash && m->slots[pos].idx == idx)
			return 1;
	return 0;
}

static void
test_slotmap_collisions_and_wrap(void **state)
{
	(void)state;
	struct bwg_slotmap m;
	assert_int_equal(bwg_slotmap_init(&m, 16), 0);
	assert_int_equal(m.mask, 31);
	/* A chain that starts at 29, wraps past the end and mixes homes 29, 30, 31, 0. */
	static const uint32_t homes[] = {29, 29, 30, 29, 31, 0, 30, 0, 1, 29};
	enum { N = sizeof(homes) / sizeof(homes[0]) };
	uint32_t hash[N];
	for (uint32_t i = 0; i < N; i++) {
		hash[i] = homes[i] | (i + 1) << 8; /* distinct hashes, chosen homes */
		bwg_slotmap_insert(&m, hash[i], i);
	}
	for (uint32_t i = 0; i < N; i++)
		assert_true(slotmap_has(&m, hash[i], i));

	/* Remove in an order that makes every shift case happen, checking each time. */
	static const uint32_t order[] = {0, 5, 2, 9, 4, 1, 7, 3, 6, 8};
	int present[N];
	for (uint32_t i = 0; i < N; i++)
		present[i] = 1;
	for (uint32_t r = 0; r < N; r++) {
		bwg_slotmap_remove(&m, hash[order[r]], order[r]);
		present[order[r]] = 0;
		for (uint32_t i = 0; i < N; i++)
			assert_int_equal(slotmap_has(&m, hash[i], i), present[i]);
	}
	for (uint32_t i = 0; i <= m.mask; i++)
		assert_int_equal(m.slots[i].idx, BWG_SLOT_EMPTY);
	bwg_slotmap_fini(&m);
}

static void
test_slotmap_random_clusters(void **state)
{
	(void)state;
	/* Hashes confined to 8 homes of 64 slots: long, overlapping, wrapping chains. */
	enum { ENTRIES = 32, ROUNDS = 20000 };
	struct bwg_slotmap m;
	assert_int_equal(bwg_slotmap_init(&m, ENTRIES), 0);
	uint32_t hash[ENTRIES];
	int in[ENTRIES] = {0};
	uint64_t s = 7;
	for (uint32_t r = 0; r < ROUNDS; r++) {
		uint32_t i = (uint32_t)(rnd(&s) % ENTRIES);
		if (in[i]) {
			bwg_slotmap_remove(&m, hash[i], i);
			in[i] = 0;
		} else {
			hash[i] = (uint32_t)(rnd(&s) & ~0x3fu) | (uint32_t)((rnd(&s) % 8) * 8 + 58) % 64;
			bwg_slotmap_insert(&m, hash[i], i);
			in[i] = 1;
		}
		for (uint32_t j = 0; j < ENTRIES; j++)
			if (in[j])
				assert_true(slotmap_has(&m, hash[j], j));
	}
	bwg_slotmap_fini(&m);
}

/* ---- timeouts and aging ----------------------------------------------------------------- */

static void
test_timeouts(void **state)
{
	(void)state;
	struct bwg_flow_table t;
	assert_int_equal(bwg_flow_table_init(&t, 1024, &timeouts), 0);
	struct bwg_flow f;
	memset(&f, 0, sizeof(f));
	f.proto = 6;
	/* A handshake that never completed: the short timeout, until the client's ACK. */
	assert_int_equal(bwg_flow_timeout(&t, &f), 15 * SEC);
	f.pkts[0] = 1, f.pkts[1] = 1; /* SYN, SYN-ACK */
	assert_int_equal(bwg_flow_timeout(&t, &f), 15 * SEC);
	f.pkts[0] = 2; /* the ACK */
	assert_true(bwg_flow_established(&f));
	assert_int_equal(bwg_flow_timeout(&t, &f), 300 * SEC);
	f.flags = BWG_FLOW_FIN_C2S;
	assert_int_equal(bwg_flow_timeout(&t, &f), 300 * SEC);
	f.flags = BWG_FLOW_FIN_S2C;
	assert_int_equal(bwg_flow_timeout(&t, &f), 300 * SEC);
	f.flags = BWG_FLOW_FIN_C2S | BWG_FLOW_FIN_S2C;
	assert_int_equal(bwg_flow_timeout(&t, &f), 10 * SEC);
	f.flags = BWG_FLOW_RST;
	assert_int_equal(bwg_flow_timeout(&t, &f), 10 * SEC);
	f.flags = BWG_FLOW_FIN_C2S | BWG_FLOW_EVENT_SENT | BWG_FLOW_LOGGED;
	assert_int_equal(bwg_flow_timeout(&t, &f), 300 * SEC);
	f.flags = 0;
	f.proto = 17;
	f.pkts[0] = 5, f.pkts[1] = 0;
	assert_int_equal(bwg_flow_timeout(&t, &f), 5 * SEC); /* never answered */
	f.pkts[1] = 1;
	assert_true(bwg_flow_established(&f));
	assert_int_equal(bwg_flow_timeout(&t, &f), 60 * SEC);
	f.flags = BWG_FLOW_RST; /* means nothing for UDP */
	assert_int_equal(bwg_flow_timeout(&t, &f), 60 * SEC);
	f.proto = 1;
	assert_int_equal(bwg_flow_timeout(&t, &f), 30 * SEC);
	f.proto = 58;
	assert_int_equal(bwg_flow_timeout(&t, &f), 30 * SEC);
	f.proto = 47;
	assert_int_equal(bwg_flow_timeout(&t, &f), 30 * SEC);
	bwg_flow_table_fini(&t);
}

struct age_ctx {
	struct bwg_flow_table *t;
	uint32_t calls;
	uint64_t seen_ports; /* sum of client ports, to tell which flows went */
	uint32_t live;       /* flows visited that stayed */
};

static void
expire_cb(struct bwg_flow *f, void *ctx)
{
	struct age_ctx *a = ctx;
	a->calls++;
	a->seen_ports += f->port[0];
	bwg_flow_remove(a->t, f);
}

static void
test_age_budget(void **state)
{
	(void)state;
	enum { CAP = 1024 };
	struct bwg_flow_table t;
	assert_int_equal(bwg_flow_table_init(&t, CAP, &timeouts), 0);
	/* A full table of idle UDP flows: any `budget` records visited are all due. */
	for (uint32_t i = 0; i < CAP; i++) {
		struct bwg_pkt p = pkt4(0x0a000000 + i, 0x01010101, 1, 53, 17, 0);
		struct bwg_flow *f = insert(&t, &p);
		assert_non_null(f);
		f->first_ts = f->last_ts = 100 * SEC;
	}
	struct age_ctx a = {.t = &t};
	uint64_t now = 100 * SEC + 61 * SEC;
	for (int round = 1; round <= 8; round++) {
		uint32_t n = bwg_flow_table_age(&t, now, 100, expire_cb, &a);
		assert_int_equal(n, 100);
		assert_int_equal(a.calls, 100u * (uint32_t)round);
		assert_int_equal(t.active, CAP - 100u * (uint32_t)round);
	}
	/* A budget of 0 visits nothing. */
	assert_int_equal(bwg_flow_table_age(&t, now, 0, expire_cb, &a), 0);
	assert_int_equal(t.active, CAP - 800);
	/* The rest go within a bounded number of further calls. */
	for (int i = 0; i < CAP / 100 + 2 && t.active; i++) {
		uint32_t before = a.calls;
		uint32_t n = bwg_flow_table_age(&t, now, 100, expire_cb, &a);
		assert_true(n <= 100);
		assert_int_equal(a.calls - before, n);
	}
	assert_int_equal(t.active, 0);
	assert_int_equal(a.calls, CAP);
	/* Nothing left: aging is a no-op. */
	assert_int_equal(bwg_flow_table_age(&t, UINT64_MAX, UINT32_MAX, expire_cb, &a), 0);
	bwg_flow_table_fini(&t);
}

static void
live_cb(struct bwg_flow *f, void *ctx)
{
	struct age_ctx *a = ctx;
	(void)f;
	a->live++;
}

/* The sweep visits the flows that stay too, within the same budget. */
static void
test_sweep_visits_live_flows(void **state)
{
	(void)state;
	struct bwg_flow_table t;
	assert_int_equal(bwg_flow_table_init(&t, 1024, &timeouts), 0);
	for (uint32_t i = 0; i < 10; i++) {
		struct bwg_pkt p = pkt4(0x0a000000 + i, 0x01010101, 1, 53, 17, 0);
		struct bwg_flow *f = insert(&t, &p);
		f->first_ts = f->last_ts = (i < 4 ? 100 : 150) * SEC; /* 4 idle, 6 not */
		f->pkts[0] = f->pkts[1] = 1;                           /* answered */
	}
	struct age_ctx a = {.t = &t};
	assert_int_equal(bwg_flow_table_sweep(&t, 170 * SEC, 6, expire_cb, live_cb, &a), 4);
	assert_int_equal(a.calls, 4);
	assert_int_equal(a.live, 2);
	assert_int_equal(bwg_flow_table_sweep(&t, 170 * SEC, 1024, expire_cb, live_cb, &a), 0);
	assert_int_equal(a.live, 2 + 6);
	assert_int_equal(t.active, 6);
	bwg_flow_table_fini(&t);
}

static void
test_age_selects_idle_flows(void **state)
{
	(void)state;
	struct bwg_flow_table t;
	assert_int_equal(bwg_flow_table_init(&t, 1024, &timeouts), 0);
	const uint64_t now = 1000 * SEC;
	struct {
		uint8_t proto;
		uint8_t flags;
		uint64_t idle;
		int due;
	} cases[] = {
		{6, 0, 300 * SEC, 0},                  /* exactly the timeout: not yet */
		{6, 0, 300 * SEC + 1, 1},
		{6, BWG_FLOW_FIN_C2S, 11 * SEC, 0},     /* half-closed keeps the long timeout */
		{6, BWG_FLOW_FIN_C2S | BWG_FLOW_FIN_S2C, 11 * SEC, 1},
		{6, BWG_FLOW_RST, 10 * SEC + 1, 1},
		{6, BWG_FLOW_RST, 9 * SEC, 0},
		{17, 0, 60 * SEC + 1, 1},
		{17, 0, 59 * SEC, 0},
		{1, 0, 30 * SEC + 1, 1},
		{1, 0, 30 * SEC, 0},
		{58, 0, 31 * SEC, 1},
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	uint64_t due_ports = 0;
	uint32_t due = 0;
	for (uint32_t i = 0; i < N; i++) {
		struct bwg_pkt p = pkt4(0x0a000001, 0x0a000002, (uint16_t)(1 << i), 80,
					cases[i].proto, 0);
		struct bwg_flow *f = insert(&t, &p);
		assert_non_null(f);
		f->flags = cases[i].flags;
		f->pkts[0] = 2, f->pkts[1] = 1; /* established */
		f->last_ts = now - cases[i].idle;
		if (cases[i].due) {
			due_ports += 1u << i;
			due++;
		}
	}
	/* A flow whose last packet is later than `now` (clock skew) is not due. */
	struct bwg_pkt p = pkt4(0x0a000003, 0x0a000002, 1, 80, 17, 0);
	struct bwg_flow *late = insert(&t, &p);
	late->last_ts = now + SEC;

	struct age_ctx a = {.t = &t};
	assert_int_equal(bwg_flow_table_age(&t, now, 1024, expire_cb, &a), due);
	assert_int_equal(a.seen_ports, due_ports);
	assert_int_equal(t.active, N + 1 - due);

	/* UINT64_MAX ends every live flow, whatever its age. */
	a.calls = 0;
	assert_int_equal(bwg_flow_table_age(&t, UINT64_MAX, 1024, expire_cb, &a), N + 1 - due);
	assert_int_equal(t.active, 0);
	bwg_flow_table_fini(&t);
}

static void
test_age_sparse_table(void **state)
{
	(void)state;
	/* Flows come and go: live records are scattered, the budget still bounds each call
	 * and repeated calls reach every idle flow. */
	enum { CAP = 4096 };
	struct bwg_flow_table t;
	assert_int_equal(bwg_flow_table_init(&t, CAP, &timeouts), 0);
	static struct bwg_flow *fl[CAP];
	for (uint32_t i = 0; i < CAP; i++) {
		struct bwg_pkt p = pkt4(0x0a000000 + i, 0x01010101, 2, 53, 17, 0);
		fl[i] = insert(&t, &p);
		fl[i]->last_ts = 0;
	}
	for (uint32_t i = 0; i < CAP; i++)
		if (i % 5)
			bwg_flow_remove(&t, fl[i]);
	uint32_t left = t.active;
	assert_int_equal(left, (CAP + 4) / 5);
	struct age_ctx a = {.t = &t};
	uint32_t calls = 0;
	while (t.active) {
		uint32_t n = bwg_flow_table_age(&t, 100 * SEC, 64, expire_cb, &a);
		assert_true(n <= 64);
		assert_true(++calls <= CAP / 64 + 1);
	}
	assert_int_equal(a.calls, left);
	bwg_flow_table_fini(&t);
}

/*
 * The NIC's hash as a second index: both directions found by it; a flow absent from it
 * is still found by the keyed hash; flows that all share one NIC hash (what symmetric
 * Toeplitz gives every flow with the same source ^ destination) fill only the slots
 * near its home, and the rest are found by the keyed hash; removal empties both.
 */
static void
test_nic_index(void **state)
{
	(void)state;
	struct bwg_flow_table t;
	assert_int_equal(bwg_flow_table_init(&t, 256, &timeouts), 0);
	assert_int_equal(bwg_flow_table_nic_init(&t), 0);
	int dir;
	struct bwg_pkt a = pkt4(0x0a000001, 0x08080808, 40000, 443, 6, 0);
	struct bwg_pkt ar = reversed(&a);
	struct bwg_flow *f = insert(&t, &a);
	assert_null(bwg_flow_lookup_nic(&t, &a, 0x1234, &dir));
	bwg_flow_nic_attach(&t, f, 0x1234);
	assert_true(bwg_flow_nic_indexed(&t, f));
	assert_ptr_equal(bwg_flow_lookup_nic(&t, &a, 0x1234, &dir), f);
	assert_int_equal(dir, 0);
	assert_ptr_equal(bwg_flow_lookup_nic(&t, &ar, 0x1234, &dir), f);
	assert_int_equal(dir, 1);
	assert_null(bwg_flow_lookup_nic(&t, &a, 0x1235, &dir));
	/* Attached once: another hash of the same flow is not added. */
	bwg_flow_nic_attach(&t, f, 0x9999);
	assert_null(bwg_flow_lookup_nic(&t, &a, 0x9999, &dir));

	/* 40 flows under one NIC hash: BWG_FLOW_NIC_PROBES of them in the NIC index, all
	 * 40 by the keyed hash. */
	struct bwg_flow *c[40];
	int indexed = 0;
	for (uint32_t i = 0; i < 40; i++) {
		struct bwg_pkt p = pkt4(0x0b000000 + i, 0x0c000000 + i, 1000, 2000, 17, 0);
		c[i] = insert(&t, &p);
		bwg_flow_nic_attach(&t, c[i], 0xabcd00);
		indexed += !!bwg_flow_nic_indexed(&t, c[i]);
	}
	assert_int_equal(indexed, BWG_FLOW_NIC_PROBES);
	for (uint32_t i = 0; i < 40; i++) {
		struct bwg_pkt p = pkt4(0x0b000000 + i, 0x0c000000 + i, 1000, 2000, 17, 0);
		struct bwg_flow *n = bwg_flow_lookup_nic(&t, &p, 0xabcd00, &dir);
		assert_true(n == (bwg_flow_nic_indexed(&t, c[i]) ? c[i] : NULL));
		assert_ptr_equal(lookup(&t, &p, &dir), c[i]);
	}
	/* Removing an indexed one makes room for the next flow that comes by. */
	struct bwg_pkt p0 = pkt4(0x0b000000, 0x0c000000, 1000, 2000, 17, 0);
	assert_true(bwg_flow_nic_indexed(&t, c[0]));
	bwg_flow_remove(&t, c[0]);
	assert_null(bwg_flow_lookup_nic(&t, &p0, 0xabcd00, &dir));
	assert_null(lookup(&t, &p0, &dir));
	bwg_flow_nic_attach(&t, c[39], 0xabcd00);
	struct bwg_pkt p39 = pkt4(0x0b000000 + 39, 0x0c000000 + 39, 1000, 2000, 17, 0);
	assert_ptr_equal(bwg_flow_lookup_nic(&t, &p39, 0xabcd00, &dir), c[39]);
	bwg_flow_remove(&t, f);
	assert_null(bwg_flow_lookup_nic(&t, &a, 0x1234, &dir));
	for (uint32_t i = 1; i < 40; i++)
		bwg_flow_remove(&t, c[i]);
	for (uint32_t i = 0; i <= t.nic.mask; i++)
		assert_int_equal(t.nic.slots[i].idx, BWG_SLOT_EMPTY);
	bwg_flow_table_fini(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_size),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_insert_lookup_both_directions),
		cmocka_unit_test(test_ipv6_key),
		cmocka_unit_test(test_symmetric_hash),
		cmocka_unit_test(test_hash_burst),
		cmocka_unit_test(test_capacity_full),
		cmocka_unit_test(test_nic_index),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_slotmap_collisions_and_wrap),
		cmocka_unit_test(test_slotmap_random_clusters),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_age_budget),
		cmocka_unit_test(test_sweep_visits_live_flows),
		cmocka_unit_test(test_age_selects_idle_flows),
		cmocka_unit_test(test_age_sparse_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
