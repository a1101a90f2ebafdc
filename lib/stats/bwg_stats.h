/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_STATS_H
#define BWG_STATS_H

/*
 * Counters. Each is declared once below (X-macro -> enum, JSON key). Workers own a
 * `struct bwg_stats` each and bump it with plain stores; the control thread sums them
 * into a snapshot of the same type (bwg_stats_add) and turns snapshots into JSON with
 * pure functions (bwg_stats_json), so the same numbers reach --stats, the HTTP API and
 * Prometheus.
 *
 * Conservation: rx_packets == tx_packets + sum(drops[]) at every burst boundary, with
 * tx_packets = forwarded_packets - drops[tx_full] (bwg_stats_tx_packets()). Every counter
 * only goes up: the pipeline counts a forward verdict once, and the front-end counts a
 * frame the TX queue then refused once, as tx_full; tx is their difference.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "bwg_behaviour.h"
#include "bwg_classify.h"
#include "bwg_config.h"
#include "bwg_dnsnames.h"
#include "bwg_pkt.h"

/* Why a frame was not forwarded. */
#define BWG_DROP_REASONS(X)                                                                        \
	X(POLICY_BLOCK, "policy_block")       /* a block rule */                                  \
	X(POLICY_LIMIT, "policy_limit")       /* over a limit rule's rate */                      \
	X(MALFORMED, "malformed")             /* packets.malformed = drop */                      \
	X(NON_IP, "non_ip")                   /* packets.non_ip = drop */                         \
	X(FLOW_TABLE_FULL, "flow_table_full") /* flows.on_full = drop */                          \
	X(TX_FULL, "tx_full")                 /* live: the TX queue stayed full */                \
	X(HOST_FLOW_LIMIT, "host_flow_limit") /* a client over its concurrent-flow cap */         \
	X(FRAGMENT_UNMATCHED, "fragment_unmatched") /* packets.unmatched_fragments = drop */

enum bwg_drop {
#define X(id, name) BWG_DROP_##id,
	BWG_DROP_REASONS(X)
#undef X
	BWG_DROP_MAX,
};
extern const char *const bwg_drop_names[BWG_DROP_MAX];

/* Everything else a worker counts. */
#define BWG_COUNTERS(X)                                                                            \
	X(RX_PACKETS, "rx_packets")                                                                \
	X(RX_BYTES, "rx_bytes")                                                                    \
	X(FORWARDED_PACKETS, "forwarded_packets")  /* pipeline verdicts: forward */               \
	X(FORWARDED_BYTES, "forwarded_bytes")                                                      \
	X(TX_FULL_BYTES, "tx_full_bytes")           /* bytes of drop reason tx_full */            \
	X(DROPPED_PACKETS, "dropped_packets")                                                      \
	X(DROPPED_BYTES, "dropped_bytes")                                                          \
	X(FLOWS_CREATED, "flows_created")                                                          \
	X(FLOWS_EXPIRED, "flows_expired")                                                          \
	X(FLOW_TABLE_FULL, "flow_table_full")       /* new flows that found no room */            \
	X(FLOWS_EVICTED, "flows_evicted_unestablished") /* ended early to make room */            \
	X(DPI_STATES_RECLAIMED, "dpi_states_reclaimed") /* taken from unestablished flows */      \
	X(DPI_PACKETS, "dpi_packets")               /* packets given to nDPI */                   \
	X(DPI_POOL_EXHAUSTED, "dpi_pool_exhausted") /* flows left uninspected */                  \
	X(HOST_TABLE_FULL, "host_table_full")       /* hosts not recorded */                      \
	X(METER_TABLE_FULL, "meter_table_full")     /* per-host buckets that fell back */         \
	X(FRAGMENTS, "fragments")                   /* IP fragments seen */                       \
	X(FRAGMENTS_UNMATCHED, "fragments_unmatched") /* later fragments with no flow */          \
	X(FRAGMENTS_BY_HOST, "fragments_by_host")   /* judged by their host's fragmented flow */  \
	X(TUNNELS, "tunnels")                       /* IP-in-IP packets decapsulated */           \
	X(NON_IP, "non_ip")                         /* non-IP frames seen */                      \
	X(POLICY_UPDATES, "policy_updates")         /* re-evaluations after a change */           \
	X(RESETS, "resets")                         /* reset pairs the pipeline asked for */      \
	X(RESETS_THROTTLED, "resets_throttled")     /* reset pairs not asked for: too many */     \
	X(NOTICES, "notices")                       /* block notice pages asked for */            \
	X(QUOTAS_REACHED, "quotas_reached")         /* users that reached a rule's quota */       \
	X(PENALTIES, "penalties")                   /* users put in a penalty lane */             \
	X(PENALTIES_ENDED, "penalties_ended")       /* penalties that ran out (as seen) */        \
	X(EVENTS, "events")                         /* events queued */                           \
	X(EVENTS_LOST, "events_lost")               /* event ring full */                         \
	X(USER_DELTAS_LOST, "user_deltas_lost")     /* per-user deltas with no room */

enum bwg_counter {
#define X(id, name) BWG_CNT_##id,
	BWG_COUNTERS(X)
#undef X
	BWG_CNT_MAX,
};
extern const char *const bwg_counter_names[BWG_CNT_MAX];

struct bwg_obj_stats {
	uint64_t packets;         /* received (offered): forwarded + dropped */
	uint64_t bytes;
	uint64_t flows;
	uint64_t dropped_packets; /* of those, dropped (block, limit, any drop reason) */
	uint64_t dropped_bytes;
};

/*
 * Class and unit counters are indexed by slot, not by the policy's ids: a slot belongs
 * to a name for as long as the process runs (see bwg_stats_slots below), so replacing
 * the policy — reordering, adding, removing names — never moves counts from one name to
 * another. There are twice as many slots as a policy may name, so names that left the
 * policy keep their counters until their slot is needed again.
 */
#define BWG_CLASS_SLOTS (2 * BWG_CLASS_MAX)

/*
 * What each rule held back, by rule index (the default last). Rule indexes mean
 * something only within one policy, so the counts belong to one policy version
 * (rules_version): a worker starts them from zero when it adopts a new policy, and a
 * sum adds only the workers' that count for the same version. Counted where a packet
 * is dropped or a monitor rule lets one through, never on the path of a packet a rule
 * simply forwards.
 */
struct bwg_rule_stats {
	uint64_t dropped_packets;     /* in force: dropped by the rule (block, over a limit) */
	uint64_t dropped_flows;       /* flows with at least one */
	uint64_t would_block_packets; /* "mode": "monitor": what the block rule let through */
	uint64_t would_block_flows;
	uint64_t would_limit_packets; /* monitor: over the limit rule's rate, let through */
	uint64_t would_limit_flows;
};

/* A rule as rules[] names it. */
struct bwg_stats_rule_name {
	char name[BWG_NAME_MAX];
	uint8_t action; /* enum bwg_action */
	bool monitor;
};
#define BWG_UNIT_SLOTS (2 * (BWG_UNIT_MAX + 1))

struct bwg_stats {
	uint64_t cnt[BWG_CNT_MAX];
	uint64_t drops[BWG_DROP_MAX];
	uint64_t malformed[BWG_PKT_RESULT_MAX]; /* parse results, [OK] unused */
	uint64_t flows_active;                  /* gauge */
	struct bwg_obj_stats classes[BWG_CLASS_SLOTS]; /* by slot: policy->class_slot[id] */
	struct bwg_obj_stats units[BWG_UNIT_SLOTS];    /* by slot: policy->unit_slot[id] */
	struct bwg_obj_stats *apps; /* [app_count], indexed by nDPI id */
	uint32_t app_count;
	uint64_t class_sources[BWG_SRC_MAX]; /* flows by the evidence that classed them */
	struct bwg_dnsnames_counters dns;   /* what DNS answers taught the names cache */
	struct bwg_behaviour_counters behaviour; /* what flows told the host behaviour table */
	uint32_t rules_version;                  /* policy version rules[] count for */
	struct bwg_rule_stats rules[BWG_RULE_MAX + 1];
} __attribute__((aligned(64)));

/* Names the JSON needs, taken from the policy and the DPI context at snapshot time. */
struct bwg_stats_names {
	const char *const *classes;
	uint32_t n_classes;
	const char *const *units;
	uint32_t n_units; /* including [0] = no unit */
	const char *const *apps;
	uint32_t n_apps;
	const struct bwg_stats_rule_name *rules; /* [n_rules]: the rules, then "default" */
	uint32_t n_rules;
	uint32_t rules_version; /* the policy they are of: counts of another read as 0 */
};

/* Frames and bytes that left the gate: forwarded, less what the TX queue refused. */
static inline uint64_t
bwg_stats_tx_packets(const uint64_t *cnt, const uint64_t *drops)
{
	return cnt[BWG_CNT_FORWARDED_PACKETS] - drops[BWG_DROP_TX_FULL];
}

static inline uint64_t
bwg_stats_tx_bytes(const uint64_t *cnt)
{
	return cnt[BWG_CNT_FORWARDED_BYTES] - cnt[BWG_CNT_TX_FULL_BYTES];
}

/*
 * The counters conservation ties together (rx, forwarded, dropped, refused by TX, and
 * drops by reason), read as one set. The live appliance publishes a worker's set at a
 * point where no frame is in flight (between bursts, its TX buffers drained), so that
 * a snapshot built from published sets has rx == tx + drops exactly and a tx that never
 * goes back; bwg_stats_totals_put() writes such a set over a snapshot's own.
 */
#define BWG_STATS_TOTALS(X)                                                                        \
	X(RX_PACKETS) X(RX_BYTES) X(FORWARDED_PACKETS) X(FORWARDED_BYTES) X(TX_FULL_BYTES)         \
	X(DROPPED_PACKETS) X(DROPPED_BYTES)

struct bwg_stats_totals {
#define X(id) uint64_t id;
	BWG_STATS_TOTALS(X)
#undef X
	uint64_t drops[BWG_DROP_MAX];
};

static inline void
bwg_stats_totals_get(const struct bwg_stats *s, struct bwg_stats_totals *t)
{
#define X(id) t->id = s->cnt[BWG_CNT_##id];
	BWG_STATS_TOTALS(X)
#undef X
	memcpy(t->drops, s->drops, sizeof(t->drops));
}

static inline void
bwg_stats_totals_add(struct bwg_stats_totals *sum, const struct bwg_stats_totals *t)
{
#define X(id) sum->id += t->id;
	BWG_STATS_TOTALS(X)
#undef X
	for (int d = 0; d < BWG_DROP_MAX; d++)
		sum->drops[d] += t->drops[d];
}

/* Write t over the same counters in cnt[BWG_CNT_MAX] and drops[BWG_DROP_MAX]. */
static inline void
bwg_stats_totals_put(uint64_t *cnt, uint64_t *drops, const struct bwg_stats_totals *t)
{
#define X(id) cnt[BWG_CNT_##id] = t->id;
	BWG_STATS_TOTALS(X)
#undef X
	memcpy(drops, t->drops, sizeof(t->drops));
}

/* Allocate the per-app array. Returns 0 or -ENOMEM. */
int bwg_stats_init(struct bwg_stats *s, uint32_t app_count);
void bwg_stats_fini(struct bwg_stats *s);
/* Reset to zero (keeps the app array). */
void bwg_stats_clear(struct bwg_stats *s);
/* dst += src. Reads src without locking: call on the control thread. Rule counters are
 * added when src counts them for the same policy version as dst (a cleared dst takes
 * src's). */
void bwg_stats_add(struct bwg_stats *dst, const struct bwg_stats *src);

/*
 * Stats document (DESIGN.md's contract): totals, drops, malformed, flows
 * {active, created, expired, capacity}, counters, class_sources, dns, behaviour, classes[],
 * apps[], units[], rules[]. `ports` and `workers` are arrays the front-end builds (stolen
 * references; NULL -> []).
 * Objects with no packets and no flows are left out of apps[]; classes[] and units[]
 * list every configured name. Pure function of its arguments.
 */
json_t *bwg_stats_json(const struct bwg_stats *s, const struct bwg_stats_names *names,
		       uint64_t flow_capacity, json_t *ports, json_t *workers);

/*
 * Counter slots by name (control thread of the appliance). One table for class names,
 * one for unit names (slot 0 stays "", no unit). A name keeps its slot across policy
 * replacements; a new name takes a free slot, else the slot of a name that no live
 * policy (one a worker may still read) names, the one gone longest; that slot's count so
 * far becomes its base, which bwg_stats_slots_rebase() subtracts, so the new name starts
 * from zero and the old one is forgotten.
 */
struct bwg_stats_slots {
	uint32_t cap, n;		 /* slots, slots ever used */
	char (*names)[BWG_NAME_MAX];	 /* [cap] */
	uint32_t *version;		 /* [cap]: the newest policy version naming it */
	struct bwg_obj_stats *base;	 /* [cap]: counted before its name took it */
};

int bwg_stats_slots_init(struct bwg_stats_slots *t, uint32_t cap, bool no_unit_slot);
void bwg_stats_slots_fini(struct bwg_stats_slots *t);
/*
 * Bind the n names of a policy of `version` to slots, written to out[i]. `oldest_live`
 * is the oldest version a worker may still be reading: slots named only by older
 * versions may be reused. `sums` are the workers' counters by slot now (a reused slot's
 * base). Returns 0, or -ENOSPC (nothing changed) when the live names need more slots.
 */
int bwg_stats_slots_bind(struct bwg_stats_slots *t, const char *const *names, uint32_t n,
			 uint32_t version, uint32_t oldest_live, const struct bwg_obj_stats *sums,
			 uint16_t *out);
/* sums[i] -= base[i] for every slot: counters as the slots' current names see them. */
void bwg_stats_slots_rebase(const struct bwg_stats_slots *t, struct bwg_obj_stats *sums);
/* The names by slot, for bwg_stats_json: names[i] = slot i's name ("" when unused). */
void bwg_stats_slots_names(const struct bwg_stats_slots *t, const char **names);

#endif
