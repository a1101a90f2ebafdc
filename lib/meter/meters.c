/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-host token buckets shared by every worker (see bwg_meter.h). Workers call in when
 * a flow's rule is decided or the flow ends; the caller that creates the table destroys
 * it after the workers.
 *
 * A client's flows are spread over the workers by RSS, so a per-host limit is one bucket
 * pair that all of them charge (bwg_meter_shared_take, lock-free). Finding it is the
 * rare part: SipHash-1-3 of the key under the process secret picks two sets of eight
 * slots (an outsider chooses the addresses); a new key goes to the emptier set, which
 * keeps the sets even: a table of 2^18 slots refuses its first key at 73% full
 * (build/tests/bench/bench_policing). A lookup takes the two sets' try-locks, lower set
 * first, spinning a bounded while, since whoever holds one holds it for a few dozen
 * instructions. A flow holds a reference; a slot nobody holds is reused, first one
 * never keyed, else the first free one. References are dropped without the lock: a
 * slot at 0 is never charged again by the flow that let it go. A slot nobody holds
 * keeps its key and bucket until it is reused, so a client that closes its flows and
 * opens new ones finds the bucket it emptied, not a full one.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_hash.h"
#include "bwg_meter.h"

#define WAYS 8
#define SPIN 4096 /* tries at a set's lock before giving up on it */

int
bwg_meter_table_create(struct bwg_meter_table **out, uint32_t entries)
{
	struct bwg_meter_table *t = calloc(1, sizeof(*t));
	uint32_t sets = 2;
	while ((uint64_t)sets * WAYS < entries && sets < (1u << 28))
		sets <<= 1;
	if (!t || !(t->slots = calloc((size_t)sets * WAYS, sizeof(*t->slots))) ||
	    !(t->locks = calloc(sets, sizeof(*t->locks)))) {
		bwg_meter_table_destroy(t);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < sets; i++)
		atomic_flag_clear(&t->locks[i]);
	t->set_mask = sets - 1;
	*out = t;
	return 0;
}

void
bwg_meter_table_destroy(struct bwg_meter_table *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->locks);
	free(t);
}

static bool
lock(struct bwg_meter_table *t, uint32_t set)
{
	for (int tries = 0;
	     atomic_flag_test_and_set_explicit(&t->locks[set], memory_order_acquire);)
		if (++tries == SPIN)
			return false;
	return true;
}

static void
unlock(struct bwg_meter_table *t, uint32_t set)
{
	atomic_flag_clear_explicit(&t->locks[set], memory_order_release);
}

/* Slot `i` of sets[0] then sets[1] (i < 2 * WAYS). */
static uint32_t
slot_id(const uint32_t sets[2], uint32_t i)
{
	return sets[i / WAYS] * WAYS + i % WAYS;
}

uint32_t
bwg_meter_table_get(struct bwg_meter_table *t, const struct bwg_meter_key *key,
		    uint64_t rate_bps, uint64_t burst_bytes, bool *created)
{
	_Static_assert(sizeof(struct bwg_meter_key) == 24, "a key is three words");
	uint64_t w[3];
	memcpy(w, key, sizeof(w));
	uint64_t h = bwg_siphash13_words(&bwg_hash_secret, w, 3);
	uint32_t a = (uint32_t)h & t->set_mask, b = (uint32_t)(h >> 32) & t->set_mask;
	if (b == a)
		b = a ^ 1;
	const uint32_t sets[2] = {a < b ? a : b, a < b ? b : a};
	*created = false;
	if (!lock(t, sets[0]))
		return BWG_METER_NONE;
	if (!lock(t, sets[1])) {
		unlock(t, sets[0]);
		return BWG_METER_NONE;
	}
	uint32_t found = BWG_METER_NONE, free_slot = BWG_METER_NONE;
	int n_free[2] = {0, 0};
	for (uint32_t i = 0; i < 2 * WAYS && found == BWG_METER_NONE; i++) {
		const struct bwg_meter_slot *s = &t->slots[slot_id(sets, i)];
		if (s->keyed && memcmp(&s->key, key, sizeof(*key)) == 0)
			found = slot_id(sets, i);
		n_free[i / WAYS] += atomic_load_explicit(&s->refs, memory_order_acquire) == 0;
	}
	/* A new key goes to the set with more free slots (two choices keep the sets even);
	 * there, a slot never keyed before one that was. */
	for (uint32_t k = 0; found == BWG_METER_NONE && k < WAYS && (n_free[0] || n_free[1]);
	     k++) {
		uint32_t id = (n_free[0] >= n_free[1] ? sets[0] : sets[1]) * WAYS + k;
		const struct bwg_meter_slot *s = &t->slots[id];
		if (atomic_load_explicit(&s->refs, memory_order_acquire) == 0 &&
		    (free_slot == BWG_METER_NONE || (t->slots[free_slot].keyed && !s->keyed)))
			free_slot = id;
	}
	if (found == BWG_METER_NONE && free_slot != BWG_METER_NONE) {
		/* Nobody holds it: nobody charges it until this reference is handed out. */
		struct bwg_meter_slot *s = &t->slots[free_slot];
		found = free_slot;
		bwg_meter_shared_init(&s->m, rate_bps, burst_bytes);
		s->key = *key;
		s->keyed = 1;
		atomic_store_explicit(&s->data, NULL, memory_order_relaxed);
		*created = true;
	}
	if (found != BWG_METER_NONE)
		atomic_fetch_add_explicit(&t->slots[found].refs, 1, memory_order_relaxed);
	unlock(t, sets[1]);
	unlock(t, sets[0]);
	return found;
}

void
bwg_meter_table_put(struct bwg_meter_table *t, uint32_t id)
{
	atomic_fetch_sub_explicit(&t->slots[id].refs, 1, memory_order_release);
}

uint32_t
bwg_meter_table_held(const struct bwg_meter_table *t)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < (t->set_mask + 1) * WAYS; i++)
		n += atomic_load_explicit(&t->slots[i].refs, memory_order_relaxed) > 0;
	return n;
}
