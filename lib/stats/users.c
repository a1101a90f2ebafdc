/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-user accounting (bwg_users.h): the workers' delta tables and the control thread's
 * table of users.
 *
 * A worker's deltas are an open-addressing table of (host, class) pairs with linear
 * probing, emptied by moving its generation: it never deletes, so no tombstones and no
 * backward shifts. It holds at most half its slots, so a probe ends within a few slots;
 * past that a delta is lost and counted. Each publication starts from an empty table, so
 * its size is the pairs active within one publication period, not all users ever seen.
 *
 * The users table is what stays: chained buckets (indexes into one array allocated at
 * start-up) and a doubly linked list from the most to the least recently seen user. A
 * new user when the table is full takes the least recently seen one's place, counted in
 * `evictions`: a district's egress sees its active hosts again within minutes, so
 * the ones pushed out are those gone quiet. Control thread (writes) and HTTP thread
 * (reads), under the API's lock.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_hash.h"
#include "bwg_users.h"

/* A user's hash has salt 0x10000, a (user, class) pair's the class slot. */
#define USER_SALT 0x10000
#define addr_hash bwg_hash_addr

static uint32_t
pow2_at_least(uint64_t n)
{
	uint32_t p = 1;
	while (p < n && p < (1u << 31))
		p <<= 1;
	return p;
}

/* ---- the workers' deltas -------------------------------------------------------------- */

int
bwg_user_deltas_init(struct bwg_user_deltas *d, uint32_t cap)
{
	memset(d, 0, sizeof(*d));
	d->gen = 1;
	if (!cap)
		return 0;
	uint32_t n = pow2_at_least((uint64_t)cap * 2);
	d->slots = calloc(n, sizeof(*d->slots));
	d->used = calloc(n / 2, sizeof(*d->used));
	if (!d->slots || !d->used) {
		bwg_user_deltas_fini(d);
		return -ENOMEM;
	}
	d->mask = n - 1;
	return 0;
}

void
bwg_user_deltas_fini(struct bwg_user_deltas *d)
{
	free(d->slots);
	free(d->used);
	memset(d, 0, sizeof(*d));
}

void
bwg_user_deltas_clear(struct bwg_user_deltas *d)
{
	d->n = 0;
	if (++d->gen == 0) { /* after 2^32 clears: make sure no stale slot looks current */
		for (uint32_t i = 0; d->slots && i <= d->mask; i++)
			d->slots[i].gen = 0;
		d->gen = 1;
	}
}

#define DELTA_PROBES 16

struct bwg_user_delta *
bwg_user_deltas_get(struct bwg_user_deltas *d, uint8_t family, const uint8_t *addr,
		    uint16_t class_slot, uint16_t unit_slot)
{
	if (!d->slots) {
		d->lost++;
		return NULL;
	}
	uint32_t i = (uint32_t)addr_hash(family, addr, class_slot) & d->mask;
	for (uint32_t k = 0; k < DELTA_PROBES; k++, i = (i + 1) & d->mask) {
		struct bwg_user_delta *e = &d->slots[i];
		if (e->gen != d->gen) {
			if (d->n == (d->mask + 1) / 2)
				break;
			memset(e, 0, sizeof(*e));
			e->gen = d->gen;
			e->family = family;
			e->class_slot = class_slot;
			e->unit_slot = unit_slot;
			memcpy(e->addr, addr, 16);
			d->used[d->n++] = i;
			return e;
		}
		if (e->class_slot == class_slot && e->family == family &&
		    memcmp(e->addr, addr, 16) == 0)
			return e;
	}
	d->lost++;
	return NULL;
}

/* ---- the users ------------------------------------------------------------------------ */

int
bwg_users_init(struct bwg_users *u, uint32_t cap)
{
	memset(u, 0, sizeof(*u));
	u->lru_head = u->lru_tail = u->free_head = BWG_USER_NONE;
	if (!cap)
		return 0;
	uint32_t nb = pow2_at_least(cap);
	u->v = calloc(cap, sizeof(*u->v));
	u->buckets = malloc((size_t)nb * sizeof(*u->buckets));
	if (!u->v || !u->buckets) {
		bwg_users_fini(u);
		return -ENOMEM;
	}
	memset(u->buckets, 0xff, (size_t)nb * sizeof(*u->buckets));
	u->mask = nb - 1;
	u->cap = cap;
	for (uint32_t i = cap; i-- > 0;) {
		u->v[i].hnext = u->free_head;
		u->free_head = i;
	}
	return 0;
}

void
bwg_users_fini(struct bwg_users *u)
{
	free(u->v);
	free(u->buckets);
	memset(u, 0, sizeof(*u));
}

static uint32_t
bucket_of(const struct bwg_users *u, uint8_t family, const uint8_t *addr)
{
	return (uint32_t)addr_hash(family, addr, USER_SALT) & u->mask;
}

static uint32_t
user_index(const struct bwg_users *u, uint8_t family, const uint8_t *addr)
{
	if (!u->cap)
		return BWG_USER_NONE;
	for (uint32_t i = u->buckets[bucket_of(u, family, addr)]; i != BWG_USER_NONE;
	     i = u->v[i].hnext)
		if (u->v[i].family == family && memcmp(u->v[i].addr, addr, 16) == 0)
			return i;
	return BWG_USER_NONE;
}

const struct bwg_user *
bwg_users_find(const struct bwg_users *u, uint8_t family, const uint8_t *addr)
{
	uint32_t i = user_index(u, family, addr);
	return i == BWG_USER_NONE ? NULL : &u->v[i];
}

static void
lru_unlink(struct bwg_users *u, uint32_t i)
{
	struct bwg_user *x = &u->v[i];
	if (x->lru_prev != BWG_USER_NONE)
		u->v[x->lru_prev].lru_next = x->lru_next;
	else
		u->lru_head = x->lru_next;
	if (x->lru_next != BWG_USER_NONE)
		u->v[x->lru_next].lru_prev = x->lru_prev;
	else
		u->lru_tail = x->lru_prev;
}

static void
lru_push(struct bwg_users *u, uint32_t i)
{
	struct bwg_user *x = &u->v[i];
	x->lru_prev = BWG_USER_NONE;
	x->lru_next = u->lru_head;
	if (u->lru_head != BWG_USER_NONE)
		u->v[u->lru_head].lru_prev = i;
	u->lru_head = i;
	if (u->lru_tail == BWG_USER_NONE)
		u->lru_tail = i;
}

static void
bucket_unlink(struct bwg_users *u, uint32_t i)
{
	uint32_t *p = &u->buckets[bucket_of(u, u->v[i].family, u->v[i].addr)];
	while (*p != i)
		p = &u->v[*p].hnext;
	*p = u->v[i].hnext;
}

/* The user of (family, addr), made (evicting the least recently seen) if new; seen now. */
static struct bwg_user *
user_get(struct bwg_users *u, uint8_t family, const uint8_t *addr, uint16_t unit_slot,
	 uint64_t now_ns)
{
	if (!u->cap)
		return NULL;
	uint32_t i = user_index(u, family, addr);
	if (i == BWG_USER_NONE) {
		if (u->free_head != BWG_USER_NONE) {
			i = u->free_head;
			u->free_head = u->v[i].hnext;
			u->n++;
		} else {
			i = u->lru_tail;
			lru_unlink(u, i);
			bucket_unlink(u, i);
			u->evictions++;
		}
		struct bwg_user *x = &u->v[i];
		memset(x, 0, sizeof(*x));
		x->family = family;
		memcpy(x->addr, addr, 16);
		x->first_ns = now_ns;
		uint32_t b = bucket_of(u, family, addr);
		x->hnext = u->buckets[b];
		u->buckets[b] = i;
	} else {
		lru_unlink(u, i);
	}
	lru_push(u, i);
	struct bwg_user *x = &u->v[i];
	x->unit_slot = unit_slot; /* the unit its address belongs to now */
	if (now_ns > x->last_ns)
		x->last_ns = now_ns;
	if (x->rate_seq != u->seq) { /* a new interval: the last one's counts become prev */
		bool last = x->rate_seq + 1 == u->seq;
		for (int d = 0; d < 2; d++) {
			x->prev_bytes[d] = last ? x->acc_bytes[d] : 0;
			x->acc_bytes[d] = 0;
		}
		for (uint32_t k = 0; k < x->n_classes; k++) {
			x->cls[k].prev_bytes = last ? x->cls[k].acc_bytes : 0;
			x->cls[k].acc_bytes = 0;
			x->cls[k].prev_dropped = last ? x->cls[k].acc_dropped : 0;
			x->cls[k].acc_dropped = 0;
		}
		x->rate_seq = u->seq;
	}
	return x;
}

/* x's counters of class slot `slot`, or NULL when it has BWG_USER_CLASSES others. */
static struct bwg_user_class *
user_class(struct bwg_user *x, uint16_t slot)
{
	for (uint32_t k = 0; k < x->n_classes; k++)
		if (x->cls[k].slot == slot)
			return &x->cls[k];
	if (x->n_classes == BWG_USER_CLASSES)
		return NULL;
	struct bwg_user_class *c = &x->cls[x->n_classes++];
	memset(c, 0, sizeof(*c));
	c->slot = slot;
	return c;
}

void
bwg_users_interval(struct bwg_users *u, uint64_t interval_ns)
{
	u->seq++;
	u->interval_ns = interval_ns;
}

void
bwg_users_merge(struct bwg_users *u, const struct bwg_user_deltas *d, uint64_t now_ns)
{
	for (uint32_t k = 0; k < d->n; k++) {
		const struct bwg_user_delta *e = &d->slots[d->used[k]];
		struct bwg_user *x = user_get(u, e->family, e->addr, e->unit_slot, now_ns);
		if (!x)
			return;
		x->flows += e->flows;
		x->acc_bytes[0] += e->bytes[0];
		x->acc_bytes[1] += e->bytes[1];
		struct bwg_user_class *c = user_class(x, e->class_slot);
		if (!c) {
			x->overflow_bytes += e->bytes[0] + e->bytes[1];
			x->overflow_pkts += e->pkts[0] + e->pkts[1];
			continue;
		}
		for (int dir = 0; dir < 2; dir++) {
			c->pkts[dir] += e->pkts[dir];
			c->bytes[dir] += e->bytes[dir];
		}
		c->dropped_pkts += e->dropped_pkts;
		c->dropped_bytes += e->dropped_bytes;
		c->acc_bytes += e->bytes[0] + e->bytes[1];
		c->acc_dropped += e->dropped_bytes;
	}
}

void
bwg_users_block(struct bwg_users *u, uint8_t family, const uint8_t *addr, uint16_t class_slot,
		uint16_t unit_slot, const struct bwg_user_block *b)
{
	struct bwg_user *x = user_get(u, family, addr, unit_slot, b->time_ns);
	if (!x)
		return;
	struct bwg_user_class *c = user_class(x, class_slot);
	if (c) {
		if (b->action == BWG_ACTION_BLOCK)
			c->blocked++;
		else
			c->limited++;
	}
	x->blocks[x->block_next] = *b;
	x->block_next = (x->block_next + 1) % BWG_USER_BLOCKS;
	if (x->n_blocks < BWG_USER_BLOCKS)
		x->n_blocks++;
}
