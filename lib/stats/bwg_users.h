/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_USERS_H
#define BWG_USERS_H

/*
 * Per-user accounting: what every inside host did, by class.
 *
 * Two tables, one per side of the thread boundary:
 *
 * - `struct bwg_user_deltas` (worker): what the worker's flows counted toward each
 *   (inside host, class) since its last publication. Filled when a flow is folded (flow
 *   end, a change of what it counts toward, a publication; never per packet) and when a
 *   flow starts. The control thread reads a complete one while the worker fills the
 *   other, then the worker empties it in O(1) (a generation) and starts again. Bounded:
 *   when full, a delta is counted in `lost` (the class and unit totals stay exact).
 *
 * - `struct bwg_users` (control): the users themselves, merged from every worker's
 *   deltas (RSS spreads a user's flows over the workers) and from the block and limit
 *   events the workers queue. Bounded by users.hosts: the least recently seen user is
 *   evicted and counted. The HTTP thread reads it under the API's lock, the control
 *   thread writes it under the same lock; lib/api builds the documents from it.
 *
 * Both are keyed with the process secret (SipHash-1-3): addresses are what outsiders
 * choose when the units cannot tell which end is inside.
 */

#include <stdbool.h>
#include <stdint.h>

#include "bwg_config.h"

#define BWG_USER_CLASSES 16 /* classes counted apart per user; more go to "overflow" */
#define BWG_USER_BLOCKS 8   /* recent block and limit attempts kept per user */
#define BWG_USER_NONE UINT32_MAX

/* What one (host, class) counted since the worker's last publication. */
struct bwg_user_delta {
	uint32_t gen; /* the table's generation it belongs to; else the slot is free */
	uint8_t family;
	uint8_t pad;
	uint16_t class_slot, unit_slot;
	uint16_t pad2;
	uint32_t flows; /* flows started */
	uint8_t addr[16];
	uint64_t pkts[2], bytes[2]; /* [0] up (sent by the inside host), [1] down */
	uint64_t dropped_pkts, dropped_bytes;
	uint64_t last_ns; /* packet time */
};

struct bwg_user_deltas {
	struct bwg_user_delta *slots; /* [mask + 1] */
	uint32_t *used;               /* [mask + 1]: indexes of this generation's slots */
	uint32_t mask, n, gen;
	uint64_t lost; /* deltas that found no room */
};

/* Room for `cap` (host, class) pairs (rounded up to a power of two, twice over for the
 * probes). cap 0: a table that takes nothing. Returns 0 or -ENOMEM. */
int bwg_user_deltas_init(struct bwg_user_deltas *d, uint32_t cap);
void bwg_user_deltas_fini(struct bwg_user_deltas *d);
/* Empty it (O(1): a new generation). */
void bwg_user_deltas_clear(struct bwg_user_deltas *d);
/*
 * The delta of (family, addr, class_slot), made with `unit_slot` if new; NULL when the
 * table is full (counted in lost) or has no room at all. Worker thread.
 */
struct bwg_user_delta *bwg_user_deltas_get(struct bwg_user_deltas *d, uint8_t family,
					   const uint8_t *addr, uint16_t class_slot,
					   uint16_t unit_slot);

/* ---- the users (control thread writes, HTTP thread reads, under the API's lock) ------ */

struct bwg_user_class {
	uint16_t slot; /* class counter slot */
	uint64_t pkts[2], bytes[2]; /* [0] up, [1] down */
	uint64_t dropped_pkts, dropped_bytes;
	uint64_t blocked, limited; /* flows that were blocked / held to a limit */
	uint64_t acc_bytes, prev_bytes; /* both ways: this interval so far, the one before */
	uint64_t acc_dropped, prev_dropped; /* of those, dropped bytes */
};

/* A flow of the user's that was blocked or limited (its event). */
struct bwg_user_block {
	uint64_t time_ns; /* CLOCK_REALTIME of the event */
	uint8_t action;	  /* BWG_ACTION_BLOCK or BWG_ACTION_LIMIT */
	uint8_t proto;
	uint16_t port; /* the other end's */
	uint8_t family;
	uint8_t peer[16]; /* the other end */
	char cls[BWG_NAME_MAX];
	char rule[BWG_NAME_MAX];
	char app[64];
	char host[80];
};

struct bwg_user {
	uint8_t family;
	uint8_t n_classes;
	uint16_t unit_slot;
	uint8_t addr[16];
	uint64_t first_ns, last_ns; /* CLOCK_REALTIME: first and last seen */
	uint64_t flows;
	uint64_t overflow_bytes, overflow_pkts; /* of classes past BWG_USER_CLASSES */
	uint64_t rate_seq;	 /* the interval acc_* count in (prev_*: the one before) */
	uint64_t acc_bytes[2], prev_bytes[2]; /* up, down */
	struct bwg_user_class cls[BWG_USER_CLASSES];
	uint32_t n_blocks, block_next; /* ring of the last BWG_USER_BLOCKS */
	struct bwg_user_block blocks[BWG_USER_BLOCKS];
	uint32_t hnext;		  /* bucket chain */
	uint32_t lru_prev, lru_next; /* most recently seen first */
};

struct bwg_users {
	struct bwg_user *v; /* [cap] */
	uint32_t *buckets;  /* [mask + 1] */
	uint32_t mask, cap, n;
	uint32_t lru_head, lru_tail, free_head;
	uint64_t seq;	      /* intervals begun (bwg_users_rate) */
	uint64_t interval_ns; /* the last interval's length (0: none yet) */
	uint64_t evictions;   /* users pushed out by newer ones */
	uint64_t deltas_lost; /* the workers' lost deltas, as last published */
};

/* Bytes of user x in the last complete interval, from the counts acc (of interval
 * x->rate_seq) and prev (of the one before it). */
static inline uint64_t
bwg_users_rate(const struct bwg_users *u, const struct bwg_user *x, uint64_t acc, uint64_t prev)
{
	return x->rate_seq == u->seq ? prev : x->rate_seq + 1 == u->seq ? acc : 0;
}

/* cap users (0: off, every call takes nothing). Returns 0 or -ENOMEM. */
int bwg_users_init(struct bwg_users *u, uint32_t cap);
void bwg_users_fini(struct bwg_users *u);

/* The user of (family, addr), or NULL. */
const struct bwg_user *bwg_users_find(const struct bwg_users *u, uint8_t family,
				      const uint8_t *addr);

/* Close the interval, `interval_ns` long, and begin the next: rates are over the deltas
 * merged in the interval closed last. */
void bwg_users_interval(struct bwg_users *u, uint64_t interval_ns);

/* Add a worker's deltas; `now_ns` (CLOCK_REALTIME) is when they were published. */
void bwg_users_merge(struct bwg_users *u, const struct bwg_user_deltas *d, uint64_t now_ns);

/* Note a block or limit event of the user at (family, addr) in class slot `class_slot`. */
void bwg_users_block(struct bwg_users *u, uint8_t family, const uint8_t *addr,
		     uint16_t class_slot, uint16_t unit_slot, const struct bwg_user_block *b);

#endif
