/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_METER_H
#define BWG_METER_H

/*
 * Token-bucket policer for `limit` rules.
 *
 * The operator's units ("2Mbit", "64KB") are turned into bucket parameters once, at
 * config time (bwg_config_parse_rate/size); the hot path is integer arithmetic on the
 * caller's clock in nanoseconds (packet timestamps offline, TSC live). Tokens are kept
 * in bit-nanoseconds so that any rate from 8 Kbit/s to 400 Gbit/s refills exactly, with
 * no rounding drift over long windows.
 *
 * A struct bwg_meter has a single writer: the worker that owns it. A struct
 * bwg_meter_shared is one bucket pair that several workers charge at once, exactly.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define BWG_METER_SCALE 1000000000ull /* token units per bit */

struct bwg_meter {
	uint64_t tokens;   /* bit-ns available */
	uint64_t cap;      /* bucket size in bit-ns */
	uint64_t rate_bps; /* refill: bit-ns per ns == bits per second */
	uint64_t last_ns;
};

/* Start full at `now_ns`. burst_bytes is at most 1 GiB (cap < 2^64). */
void bwg_meter_init(struct bwg_meter *m, uint64_t rate_bps, uint64_t burst_bytes,
		    uint64_t now_ns);

/*
 * A token bucket pair (one per direction) that several workers charge at once, exactly:
 * the same bucket as struct bwg_meter, kept as one word per direction, the time at
 * which the bucket is full again (GCRA's theoretical arrival time), counted in bytes on
 * the bucket's own clock, (now_ns * rate / 8e9) mod 2^64. A frame that conforms moves
 * it with one compare-and-swap; a frame that does not only reads it, so a flood over
 * the rate keeps the line shared rather than bouncing it between workers. 0 means full
 * (never charged), whatever the clock.
 */
struct bwg_meter_shared {
	_Atomic uint64_t tat[2];
	uint64_t bpn;   /* bytes per ns, fixed point: BWG_METER_BPN_SHIFT fraction bits */
	uint64_t burst; /* bytes */
};

#define BWG_METER_BPN_SHIFT 40

/* A full pair at `rate_bps` (8 Kbit/s .. 400 Gbit/s) and `burst_bytes` (<= 1 GiB). Not
 * atomic: before any worker may use it. */
void bwg_meter_shared_init(struct bwg_meter_shared *m, uint64_t rate_bps, uint64_t burst_bytes);

/*
 * Per-host buckets every worker shares: one bucket pair per (policy version, rule,
 * address), found by a keyed hash, held by the flows bound to it (a reference count)
 * and reused once no flow holds it. Bounded: a key may sit in two sets of eight slots
 * (meters.c); what finds no room there (or its sets busy with other workers' inserts for
 * too long) gets BWG_METER_NONE and the caller falls back to the rule's aggregate bucket. Lookups and inserts happen when a
 * flow's rule is decided, never per packet.
 */
struct bwg_meter_key {
	uint32_t version; /* policy */
	uint16_t rule;
	uint8_t family;
	uint8_t pad;
	uint8_t addr[16];
};

struct bwg_meter_slot {
	struct bwg_meter_shared m;
	struct bwg_meter_key key;
	_Atomic uint32_t refs; /* flows bound to it; 0: free to reuse */
	uint32_t keyed;        /* key is set */
	_Atomic(void *) data;  /* the caller's, with the bucket (NULL when new) */
};

struct bwg_meter_table {
	struct bwg_meter_slot *slots; /* [8 * (set_mask + 1)] */
	atomic_flag *locks;           /* [set_mask + 1]: inserts into a set */
	uint32_t set_mask;
};

#define BWG_METER_NONE UINT32_MAX

/* `entries` slots or more (keys fit to about 70% of them). Returns 0 or -ENOMEM. */
int bwg_meter_table_create(struct bwg_meter_table **out, uint32_t entries);
void bwg_meter_table_destroy(struct bwg_meter_table *t);

/* The bucket pair of `key` with one more reference, new and full (and *created set)
 * if it was not there; BWG_METER_NONE when there is no room. Any thread. */
uint32_t bwg_meter_table_get(struct bwg_meter_table *t, const struct bwg_meter_key *key,
			     uint64_t rate_bps, uint64_t burst_bytes, bool *created);
/* Drop one reference to bucket pair `id`. Any thread. */
void bwg_meter_table_put(struct bwg_meter_table *t, uint32_t id);
/* Bucket pairs some flow holds now (a walk of the table: tests, the control thread). */
uint32_t bwg_meter_table_held(const struct bwg_meter_table *t);

static inline struct bwg_meter_slot *
bwg_meter_table_at(struct bwg_meter_table *t, uint32_t id)
{
	return &t->slots[id];
}

/* ---- inline implementation (hot path) -------------------------------------------- */

/*
 * Charge a frame of `bytes` at `now_ns`. Returns 1 when it conforms (and takes the
 * tokens), 0 when it exceeds the rate (nothing taken). A clock that steps back is
 * treated as no time passing.
 */
static inline int
bwg_meter_take(struct bwg_meter *m, uint64_t now_ns, uint32_t bytes)
{
	if (now_ns > m->last_ns) {
		uint64_t dt = now_ns - m->last_ns;
		uint64_t room = m->cap - m->tokens;
		/* dt * rate may overflow; it cannot when it is below room / rate. */
		if (dt >= room / m->rate_bps)
			m->tokens = m->cap;
		else
			m->tokens += dt * m->rate_bps;
		m->last_ns = now_ns;
	}
	uint64_t cost = (uint64_t)bytes * 8 * BWG_METER_SCALE;
	if (cost > m->tokens)
		return 0;
	m->tokens -= cost;
	return 1;
}

/*
 * Charge a frame of `bytes` at `now_ns` to direction `dir` of m. Returns 1 when it
 * conforms (and takes the tokens), 0 when it exceeds the rate (nothing written). Clocks
 * of different workers may differ by a little; a clock behind the bucket's counts as no
 * time passing. Any thread.
 */
static inline int
bwg_meter_shared_take(struct bwg_meter_shared *m, int dir, uint64_t now_ns, uint32_t bytes)
{
	const uint64_t u = (uint64_t)(((unsigned __int128)now_ns * m->bpn) >> BWG_METER_BPN_SHIFT);
	uint64_t old = atomic_load_explicit(&m->tat[dir], memory_order_relaxed);
	for (;;) {
		/* Tokens are burst less what the bucket owes: how far tat runs ahead of now. */
		uint64_t owed = 0, from = u;
		if (old != 0 && (int64_t)(old - u) > 0) {
			owed = old - u;
			from = old;
		}
		if (owed + bytes > m->burst)
			return 0;
		uint64_t next = from + bytes;
		if (atomic_compare_exchange_weak_explicit(&m->tat[dir], &old, next ? next : 1,
							  memory_order_relaxed, memory_order_relaxed))
			return 1;
	}
}

#endif
