/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_QUOTA_H
#define BWG_QUOTA_H

/*
 * Quota usage: what each user (inside address) used of each quota rule in the current
 * period, one table shared by every worker, so that a user whose flows RSS spreads
 * over several workers is counted once, exactly.
 *
 * Workers find or add their user's entry when a flow is decided (lock-free: a slot is
 * claimed with a compare-and-swap, then published), then count each forwarded packet
 * of the flow with relaxed atomic adds; a period that ended is reset by the first
 * worker that sees the new one. Past the quota, the rule's then-limit is one pair of
 * token buckets per entry, taken under the entry's spinlock: the rate holds per user
 * across workers. The table never shrinks while the gate runs (bounded by its
 * capacity: a user who finds it full is not held to a quota, and counted).
 *
 * The control thread saves the table to the config's state_file atomically and loads
 * it at start (bwg_quotas_save, bwg_quotas_load); the HTTP thread reads entries with
 * atomic loads (bwg_quotas_host_json). Rules are known by name, through a 64-bit id.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "bwg_config.h"
#include "bwg_meter.h"

#define BWG_QUOTA_NONE UINT32_MAX

struct bwg_quota {
	_Atomic uint32_t state; /* free, being filled, live */
	uint8_t family;
	uint8_t addr[16];
	uint64_t rule; /* bwg_quota_rule_id() of the rule's name */
	_Atomic int32_t period;      /* local day number the usage counts from */
	_Atomic uint32_t minutes;    /* minutes with traffic */
	_Atomic uint64_t bytes;      /* forwarded, both directions */
	_Atomic int64_t last_minute; /* Unix minute of the last counted packet */
	_Atomic uint32_t crossed;    /* the crossing event was sent for this period */
	atomic_flag lock;            /* the then-limit's and the penalty's buckets */
	uint64_t then_rate, then_burst;
	struct bwg_meter then[2];    /* per direction, as a limit rule's */
	/* penalty lane: the user's rate minute by minute (Unix minutes) */
	_Atomic int64_t pen_minute;   /* the minute pen_bytes counts in */
	_Atomic uint64_t pen_bytes;   /* forwarded in it */
	_Atomic uint32_t pen_streak;  /* minutes in a row above the rule's rate */
	_Atomic uint64_t pen_since;   /* when the penalty began (ns), 0: none */
	_Atomic uint64_t pen_until;   /* when it ends (ns) */
	uint64_t pen_rate, pen_burst;
	struct bwg_meter pen[2];
} __attribute__((aligned(64)));

/* What a packet's count did to the user's penalty lane. */
enum bwg_penalty_change {
	BWG_PENALTY_NONE,
	BWG_PENALTY_START, /* the user entered it: pen_since..pen_until */
	BWG_PENALTY_END,   /* it ended, at pen_until (the caller reports it, dated so) */
};

struct bwg_quotas {
	struct bwg_quota *v; /* [mask + 1] */
	uint32_t mask;
	uint32_t cap; /* live entries at most (3/4 of the slots) */
	_Atomic uint32_t n;
	_Atomic uint64_t full; /* users that found no room */
};

/* Room for `cap` users' quotas. Returns 0 or -ENOMEM. */
int bwg_quotas_create(struct bwg_quotas **out, uint32_t cap);
void bwg_quotas_destroy(struct bwg_quotas *q);

/* The id of a rule name (stable across restarts and reloads). */
uint64_t bwg_quota_rule_id(const char *name);

/*
 * The entry of (rule, user), added if missing (counting from local day `period`); NULL
 * when the table is full (counted). Any thread.
 */
struct bwg_quota *bwg_quotas_get(struct bwg_quotas *q, uint64_t rule, uint8_t family,
				 const uint8_t *addr, int32_t period);
/* The entry or NULL, never adding. */
struct bwg_quota *bwg_quotas_find(const struct bwg_quotas *q, uint64_t rule, uint8_t family,
				  const uint8_t *addr);

/* Start e's usage over when `period` (local day number) is later than its own. */
static inline void
bwg_quota_roll(struct bwg_quota *e, int32_t period)
{
	int32_t cur = atomic_load_explicit(&e->period, memory_order_relaxed);
	if (period > cur &&
	    atomic_compare_exchange_strong_explicit(&e->period, &cur, period, memory_order_relaxed,
						    memory_order_relaxed)) {
		atomic_store_explicit(&e->bytes, 0, memory_order_relaxed);
		atomic_store_explicit(&e->minutes, 0, memory_order_relaxed);
		atomic_store_explicit(&e->crossed, 0, memory_order_relaxed);
	}
}

/* Whether e's usage has reached rule r's quota. */
static inline bool
bwg_quota_over(const struct bwg_quota *e, const struct bwg_conf_rule *r)
{
	return (r->quota_bytes &&
		atomic_load_explicit(&e->bytes, memory_order_relaxed) >= r->quota_bytes) ||
	       (r->quota_minutes &&
		atomic_load_explicit(&e->minutes, memory_order_relaxed) >= r->quota_minutes);
}

/*
 * Count `bytes` forwarded at packet time now_ns. Returns true once per period: when
 * this call made the usage reach r's quota (the caller logs the crossing).
 */
bool bwg_quota_count(struct bwg_quota *e, const struct bwg_conf_rule *r, uint32_t bytes,
		     uint64_t now_ns);

/* Past the quota: take a frame of `bytes` from the user's then-limit. */
bool bwg_quota_then_take(struct bwg_quota *e, const struct bwg_conf_rule *r, int dir,
			 uint64_t now_ns, uint32_t bytes);

/*
 * Penalty lane: count `bytes` forwarded at now_ns toward the user's rate; at each new
 * minute the last one is judged (above r's rate or not), and after r->pen_for minutes
 * in a row above it the user is held to r's penalty rate for r->pen_lasts minutes.
 * Returns what changed (START or END once each, to one caller), with *at the moment it
 * changed (START: now_ns; END: when the penalty ran out, which may be earlier). *active
 * tells whether the penalty holds now.
 */
enum bwg_penalty_change bwg_penalty_count(struct bwg_quota *e, const struct bwg_conf_rule *r,
					  uint32_t bytes, uint64_t now_ns, bool *active,
					  uint64_t *at);
/* In the penalty: take a frame of `bytes` from the user's penalty buckets. */
bool bwg_penalty_take(struct bwg_quota *e, const struct bwg_conf_rule *r, int dir,
		      uint64_t now_ns, uint32_t bytes);
/* The user's penalty state under rule r, at now_ns: {"rule", "above_bps", "for_minutes",
 * "rate_bps", "lasts_minutes", "active", "since", "until", "minutes_above"}. */
json_t *bwg_penalty_json(const struct bwg_quota *e, const struct bwg_conf_rule *r,
			 uint64_t now_ns);
/* Every live entry of c's penalty rules, as above with "host" (offline --stats). */
json_t *bwg_penalties_json(const struct bwg_quotas *q, const struct bwg_config *c,
			   uint64_t now_ns);
/* Every penalty rule of c for (family, addr), at now_ns. */
json_t *bwg_penalties_host_json(const struct bwg_quotas *q, const struct bwg_config *c,
				uint8_t family, const uint8_t *addr, uint64_t now_ns);

/* The local day number the period of `p` holding local day `day` began. */
static inline int32_t
bwg_quota_period_start(enum bwg_quota_period p, int64_t day)
{
	/* 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays. */
	return (int32_t)(p == BWG_PERIOD_WEEK ? day - ((day % 7 + 7 + 3) % 7) : day);
}

/* Whether c has a quota rule in use ("enabled"): only then is usage kept in a file. */
bool bwg_quotas_in_use(const struct bwg_config *c);

/*
 * State file (control thread): the usage of every live entry whose rule `c` still has
 * with a quota, written to a temporary file beside `path`, synced, then renamed over
 * it. Returns the entries written or -errno with the fault in err.
 */
int bwg_quotas_save(const struct bwg_quotas *q, const struct bwg_config *c, const char *path,
		    uint64_t now_s, char *err, size_t errlen);
/*
 * Read `path` back into an empty table: entries of rules `c` has with a quota of the
 * same period, of the period holding local day `today` (INT64_MAX: any). An entry of a
 * later period (saved while the clock ran ahead, or forged) is left out: the period
 * only ever rolls forward, so it would hold its user until that date; one of a period
 * that ended counts nothing and would only keep a slot of the table. Returns how many,
 * or -errno (missing, unreadable, corrupt) with the fault in err: the caller reports it
 * and goes on with no usage.
 */
int bwg_quotas_load(struct bwg_quotas *q, const struct bwg_config *c, const char *path,
		    int64_t today, char *err, size_t errlen);

/*
 * What (family, addr) used of every quota rule of c, and what remains, in the period
 * holding local day `today`: [{"rule", "period", "period_start", "bytes",
 * "used_bytes", "remaining_bytes", "minutes", "used_minutes", "remaining_minutes",
 * "over", "then"}]. Rules with no entry for the user show zero usage.
 */
json_t *bwg_quotas_host_json(const struct bwg_quotas *q, const struct bwg_config *c,
			     uint8_t family, const uint8_t *addr, int64_t today);
/* Every live entry of c's quota rules, as above with "host" (offline --stats). */
json_t *bwg_quotas_json(const struct bwg_quotas *q, const struct bwg_config *c, int64_t today);

#endif
