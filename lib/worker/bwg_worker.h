/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_WORKER_H
#define BWG_WORKER_H

/*
 * The per-packet pipeline: parse -> flow lookup/insert -> classify (nDPI) -> policy ->
 * meter -> verdict, over a burst of frames. One `struct bwg_worker` per worker thread
 * holds the state it writes alone (flow table, nDPI pool, hosts, counters, event
 * ring); nothing here does I/O, so the DPDK appliance and the offline replay tool run the
 * very same code.
 *
 * Threads: bwg_worker_create/destroy on the control thread; everything else on the
 * owning worker, except bwg_worker_stats (read by the control thread without locks) and
 * the event ring's consumer side.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bwg_behaviour.h"
#include "bwg_classify.h"
#include "bwg_dnsnames.h"
#include "bwg_dpi.h"
#include "bwg_flow.h"
#include "bwg_intern.h"
#include "bwg_log.h"
#include "bwg_meter.h"
#include "bwg_pkt.h"
#include "bwg_policy.h"
#include "bwg_quota.h"
#include "bwg_stats.h"
#include "bwg_users.h"

/* Frames parsed ahead of processing in one go; bursts may be longer. */
#define BWG_BURST_MAX 32

/* Verdict of one frame: BWG_VERDICT_FORWARD or the enum bwg_drop reason. */
#define BWG_VERDICT_FORWARD 0xff
/* OR'ed onto BWG_DROP_POLICY_BLOCK when the rule asks for TCP resets and a pair is due:
 * at most one per flow per packets.reset_interval, and packets.reset_rate per second per
 * worker (counter resets_throttled counts the rest). */
#define BWG_VERDICT_RESET 0x80
/* OR'ed onto BWG_DROP_POLICY_BLOCK instead of BWG_VERDICT_RESET when the rule has a
 * notice and the frame is its flow's first plain-HTTP request: the front-end sends the
 * rule's page (bwg_worker_notice) back to the client and a RST on to the server. Once
 * per flow, within the same budget as reset pairs. */
#define BWG_VERDICT_NOTICE 0x40
/* Unit of flow's reset clock (bwg_flow.rst_tick): 2^26 ns, about 67 ms. */
#define BWG_RESET_TICK_SHIFT 26

struct bwg_frame {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t wire_len;
	uint64_t ts_ns; /* packet time: capture timestamp offline, the burst's clock live */
	uint32_t nic_hash; /* the NIC's symmetric RSS hash of the frame, when nic_hashed */
	bool nic_hashed;
};

struct bwg_worker_conf {
	uint32_t id;
	enum bwg_link link;
	uint32_t event_ring_size; /* events buffered for the control thread */
	bool export_flows;        /* queue a BWG_EVENT_FLOW for every flow that ends */
	/* With export_flows: a BWG_EVENT_FLOW_UPDATE for a flow whose last record is this old
	 * (ns; 0: none), from the aging sweep, never from the packet path. */
	uint64_t active_timeout_ns;
	uint32_t aging_budget;    /* records visited per housekeeping tick */
	struct bwg_dnsnames *names;      /* names learned from DNS, shared; NULL: off */
	struct bwg_behaviour *behaviour; /* host behaviour, shared; NULL: off */
	struct bwg_quotas *quotas;       /* quota usage, shared; NULL: quotas not held */
	/* per-host token buckets, shared by the workers; NULL: the worker makes its own
	 * (one worker alone) */
	struct bwg_meter_table *meters;
	uint32_t workers; /* workers sharing the gate's per-host flow caps (0 counts as 1) */
	bool nic_hash;    /* frames may carry the NIC's symmetric hash: index flows by it too */
	/* (inside host, class) pairs one publication's per-user deltas hold; 0: no per-user
	 * accounting (bwg_worker_users_full) */
	uint32_t user_pairs;
};

struct bwg_frag_entry {
	uint32_t frag_id;
	uint32_t flow; /* flow table index */
	uint8_t family, proto;
	uint8_t addr[2][16];
};

#define BWG_FRAG_SLOTS 1024

/* The flow each address last sent or received a first fragment in: a later fragment
 * whose own first has not been seen is judged by its host's flow. */
struct bwg_frag_host {
	uint32_t flow; /* flow table index */
	uint8_t family;
	uint8_t addr[16];
};

#define BWG_FRAG_HOST_SLOTS 1024

/* What a flow's records reported so far (active timeout): beside the flow table, by
 * record index, read and written by the aging sweep and at the flow's end only. */
struct bwg_flow_export {
	uint64_t at_ns; /* when the last record was made; 0: none yet */
	uint64_t pkts[2];
	uint64_t bytes[2];
	uint64_t dropped;
};

/* Unestablished flows looked at to find one to evict, and detection states to reclaim. */
#define BWG_EVICT_PROBES 8

/*
 * What a flow's packets count toward besides its own record, and how much of them
 * already does: one per flow record, beside the table, touched only when the flow is
 * folded or drops a packet (dropped bytes and its rule's counts are counted then, out
 * of line). The established path counts a packet in its flow alone; the class, unit and
 * app counters receive the difference when the flow ends, when what it counts toward
 * changes, and when the worker publishes its counters (bwg_worker_publish_step).
 */
struct bwg_fold {
	uint64_t pkts, bytes;
	uint64_t bytes_c2s; /* of bytes, the client's */
	uint64_t dropped_bytes; /* dropped since the last fold (not in the flow record) */
	uint32_t dropped;
	uint32_t pkts_c2s; /* of pkts, the client's (modulo 2^32: a fold takes the difference) */
	uint16_t class_slot, unit_slot; /* counter slots: policy->class_slot[cls], ... */
	uint16_t app;                   /* nDPI id, BWG_FOLD_NO_APP when not counted */
	bool rule_counted;              /* in its rule's dropped_flows or would_*_flows */
	bool notice_sent;               /* its rule's notice page was asked for */
	uint8_t inside;                 /* the user's end: 0 client, 1 server (per-user deltas) */
};

#define BWG_FOLD_NO_APP UINT16_MAX

struct bwg_worker {
	struct bwg_flow_table flows;
	struct bwg_dpi *dpi; /* owned */
	struct bwg_det_flow *det; /* payload detectors' state, per nDPI slot */
	const struct bwg_policy *policy;
	uint32_t gen; /* bumped when the policy or the active schedules change */
	uint32_t sched_mask;
	uint64_t sched_next_ns;
	uint64_t clock_ns; /* latest packet time seen: never goes back */
	int32_t today;     /* local day number of clock_ns in the policy's zone (quotas) */

	struct bwg_intern hosts;  /* key: char[BWG_DPI_HOST_MAX] */
	/* Per (rule, user) of per_host limit and quota rules: the user's token buckets and
	 * quota entry (slot data), shared by the workers (conf.meters), or this worker's
	 * own when it runs alone (meters_owned). Aggregate buckets are the policy's. */
	struct bwg_meter_table *meters;
	bool meters_owned;

	struct bwg_frag_entry frags[BWG_FRAG_SLOTS];
	struct bwg_frag_host frag_hosts[BWG_FRAG_HOST_SLOTS];
	struct bwg_intern host_flows; /* key: client (family, address); refs: its flows */
	uint32_t *slot_flow;          /* per nDPI slot: the flow that holds it */
	uint32_t slot_cursor;
	struct bwg_meter reset_bucket; /* reset pairs this worker may ask for */
	uint16_t reset_interval_ticks; /* between two pairs for one flow, BWG_RESET_TICK units */
	struct bwg_stats stats;
	struct bwg_event_ring events;
	struct bwg_flow_export *exported; /* [flow capacity] with an active timeout, else NULL */
	uint8_t end_cause; /* enum bwg_flow_end of the flows ended now; 0: the aging sweep's */

	struct bwg_fold *fold; /* [flow capacity], by record index */
	uint8_t fold_mark;     /* life bits of a flow counted in this epoch: UNFOLDED | epoch */
	/* The flow whose packet is being decided (its counters already hold the packet,
	 * which counts toward what the decision makes of it), or NULL. */
	const struct bwg_flow *deciding;
	uint32_t deciding_len;
	uint8_t deciding_dir;
	struct bwg_stats *pub; /* the publication under way, or NULL */
	uint32_t pub_cursor, pub_end;
	/* Per-user deltas (conf.user_pairs): folds go to users[users_cur], those of the epoch
	 * a publication closes to users[users_closing]; a complete one waits in users_full
	 * (1 + its index, 0: none) until the control thread has merged it. */
	struct bwg_user_deltas users[2];
	uint8_t users_cur;
	int8_t users_closing; /* -1: none (no publication, or the last one was not merged) */
	_Atomic uint8_t users_full;

	struct bwg_worker_conf conf;
	uint16_t name_apps[4]; /* nDPI ids of TLS, QUIC, DTLS, HTTP: their names teach */
	bool non_ip_drop, malformed_drop, full_drop, unmatched_frag_drop;
	uint8_t refused; /* verdict of the last packet no flow could be made for */
	unsigned parse_flags;
};

/*
 * Build a worker for `policy` (whose config gives capacities and timeouts), taking
 * ownership of `dpi`. Returns 0 or -errno with a message in err.
 */
int bwg_worker_create(struct bwg_worker **out, const struct bwg_worker_conf *conf,
		      const struct bwg_policy *policy, struct bwg_dpi *dpi, char *err,
		      size_t errlen);
void bwg_worker_destroy(struct bwg_worker *w);

/*
 * Run n frames through the pipeline; verdict[i] receives BWG_VERDICT_FORWARD or a drop
 * reason for frames[i]. Counts everything. Never allocates, never blocks.
 */
void bwg_worker_burst(struct bwg_worker *w, const struct bwg_frame *frames, uint16_t n,
		      uint8_t *verdict);

/*
 * A frame bwg_worker_burst() forwarded could not be sent after all (the TX queue stayed
 * full): count it under drop reason tx_full. Nothing is taken back: tx_packets is
 * forwarded less tx_full (bwg_stats_tx_packets), so every counter only goes up and
 * rx == tx + drops still holds.
 */
static inline void
bwg_worker_tx_failed(struct bwg_worker *w, uint32_t bytes)
{
	struct bwg_stats *s = &w->stats;
	s->drops[BWG_DROP_TX_FULL]++;
	s->cnt[BWG_CNT_TX_FULL_BYTES] += bytes;
	s->cnt[BWG_CNT_DROPPED_PACKETS]++;
	s->cnt[BWG_CNT_DROPPED_BYTES] += bytes;
}

/*
 * Publish the worker's counters into *pub exactly as they stand at the first call: the
 * totals, and per class, unit and app what the aggregates hold plus what flows have
 * counted and not yet folded. The first call copies the counters and opens a new
 * epoch; every call then folds up to `budget` flow records of the old one (a flow
 * counted again before its turn is folded first). Returns true when *pub is complete;
 * the caller may then read it until it passes it to the next first call. pub's app
 * array must be as long as w->stats'. Worker thread, between bursts.
 */
bool bwg_worker_publish_step(struct bwg_worker *w, struct bwg_stats *pub, uint32_t budget);

/*
 * The per-user deltas of the publications completed since the control thread last took
 * them, or NULL: it reads them, then hands them back with bwg_worker_users_release. Until
 * then the worker leaves them alone (its next publications keep theirs in the table it
 * fills, which a later one delivers). Control thread.
 */
static inline const struct bwg_user_deltas *
bwg_worker_users_full(struct bwg_worker *w)
{
	uint8_t i = atomic_load_explicit(&w->users_full, memory_order_acquire);
	return i ? &w->users[i - 1] : NULL;
}

static inline void
bwg_worker_users_release(struct bwg_worker *w)
{
	atomic_store_explicit(&w->users_full, 0, memory_order_release);
}

/* Fold every flow's pending counts into w->stats, which is then exact (offline replay,
 * tests, shut-down). Visits every record; an unfinished publication completes. */
void bwg_worker_fold_all(struct bwg_worker *w);

/*
 * Housekeeping tick at `now_ns`: expire idle flows (conf.aging_budget records at most)
 * and follow schedule boundaries. Returns the number of flows expired.
 */
uint32_t bwg_worker_housekeeping(struct bwg_worker *w, uint64_t now_ns);

/* Adopt a new policy (its tables must fit this worker's capacities). Flows are
 * re-evaluated against it on their next packet. */
void bwg_worker_set_policy(struct bwg_worker *w, const struct bwg_policy *policy);

/*
 * End up to `budget` flows regardless of age (shutdown, end of a capture), emitting
 * their records. Returns how many are still active.
 */
uint32_t bwg_worker_flush(struct bwg_worker *w, uint32_t budget);

/*
 * The notice page for a frame the last burst gave BWG_VERDICT_NOTICE (an Ethernet
 * frame), from its flow's rule; NULL if it has none. Valid until the policy changes.
 */
const struct bwg_notice *bwg_worker_notice(struct bwg_worker *w, const uint8_t *frame,
					   uint32_t len);

/* Fill a view of f (names resolved) for records and the API. */
void bwg_worker_flow_view(const struct bwg_worker *w, const struct bwg_flow *f,
			  struct bwg_flow_view *v);

#endif
