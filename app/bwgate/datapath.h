/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_APP_DATAPATH_H
#define BWG_APP_DATAPATH_H

/*
 * The worker lcores' loop. One `struct bwg_dp_lcore` per worker: the pipeline state
 * (struct bwg_worker), its queue number on both ports, its TX buffers and the counters
 * the control thread reads. Set up and torn down by the control thread; while the loop
 * runs, only its worker writes it, except `quit`.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "bwg_worker.h"
#include "ports.h"

/* ns = ns0 + (tsc - tsc0) * mult / 2^32: wall-clock time from the TSC, no syscall. */
struct bwg_dp_clock {
	uint64_t tsc0;
	uint64_t ns0;  /* CLOCK_REALTIME at tsc0: schedules need the time of day */
	uint64_t mult; /* 2^32 * 1e9 / TSC Hz */
};

/* Where a TX buffer sends and whose counters its failures correct. */
struct bwg_dp_txq {
	struct bwg_worker *w;
	uint16_t port;
	uint16_t queue;
	struct rte_eth_dev_tx_buffer *buf; /* BWG_BURST frames, on the worker's socket */
};

/* Counters the worker publishes at every housekeeping tick (relaxed stores). */
struct bwg_dp_counters {
	_Atomic uint64_t loops;           /* loop iterations: the stall detector's pulse */
	_Atomic uint64_t busy_loops;      /* iterations that received at least one frame */
	_Atomic uint64_t pipeline_cycles; /* TSC cycles spent on frames -> verdicts */
	_Atomic uint64_t pipeline_packets;
	_Atomic uint64_t resets_sent[BWG_PORT_ROLE_MAX]; /* TCP RSTs sent, by port */
	_Atomic uint64_t resets_failed;   /* RSTs not sent: no mbuf, not TCP/IP, TX full */
	_Atomic uint64_t notices_sent;    /* block notice pages sent toward clients */
	_Atomic uint64_t multiseg;        /* chained mbufs linearized */
	_Atomic uint64_t multiseg_cut;    /* chained mbufs too long to linearize (first
					   * segment inspected, whole frame forwarded) */
};

#define BWG_DP_FLOWS_MAX 100 /* largest flows a worker reports per request */

/*
 * A request for the worker's largest active flows (GET /api/v1/flows): the control
 * thread bumps `req`; the worker scans its table over a few housekeeping ticks (a
 * bounded number of records each), fills `views` and stores `done = req` (release).
 * The control thread reads `views` only when done == the req it made.
 */
struct bwg_dp_flows {
	_Atomic uint32_t req;
	_Atomic uint32_t done;
	uint32_t n; /* views filled */
	struct bwg_flow_view *views; /* [BWG_DP_FLOWS_MAX] */
	/* worker-private scan state */
	uint32_t scan_seq, cursor, k;
	uint32_t idx[BWG_DP_FLOWS_MAX];
	uint64_t bytes[BWG_DP_FLOWS_MAX];
};

struct bwg_dp_lcore {
	struct bwg_worker *w;
	unsigned lcore;
	uint16_t queue;
	uint16_t port[BWG_PORT_ROLE_MAX];   /* port ids by role */
	struct bwg_dp_txq txq[BWG_PORT_ROLE_MAX];
	struct rte_mempool *pool;           /* for resets */
	struct bwg_dp_clock clock;
	struct bwg_dp_counters pub;
	/* The worker's conservation totals as they stood at its last housekeeping tick, TX
	 * buffers drained (bwg_stats_totals): written by the worker under an odd/even
	 * sequence count, read by the control thread with bwg_dp_totals_read(). */
	_Atomic uint32_t totals_seq;
	struct bwg_stats_totals totals;
	/* The policy to run: set by the control thread, adopted at a housekeeping tick,
	 * whose version is then acknowledged in policy_seen (release): from then on the
	 * worker no longer reads the policy it replaced. */
	const struct bwg_policy *_Atomic policy_next;
	_Atomic uint32_t policy_seen;
	/* The worker's whole counters at one housekeeping tick, TX drained, class, unit
	 * and app counts folded in exactly (bwg_worker_publish_step): the control thread
	 * asks by bumping stats_req; the worker fills `stats` over a few ticks, then stores
	 * stats_done = stats_req (release). The control thread reads `stats` only while
	 * stats_done == stats_req. policy_counted: the policy version in force when that
	 * publication began; no flow of this worker still has uncounted packets toward a
	 * counter slot only older policies name (the control thread may reuse it). */
	_Atomic uint32_t stats_req, stats_done;
	_Atomic uint32_t policy_counted;
	uint32_t stats_version; /* worker-private: the version in force at the beginning */
	struct bwg_stats stats;
	struct bwg_dp_flows flows;
	_Atomic bool quit; /* set by the control thread */
} __attribute__((aligned(64)));

/* The totals lc's worker last published: consistent (rx == tx + drops) and never
 * behind a set read before. Control thread. */
void bwg_dp_totals_read(const struct bwg_dp_lcore *lc, struct bwg_stats_totals *t);

/* Anchor a clock: TSC and wall time now. */
void bwg_dp_clock_init(struct bwg_dp_clock *c);

static inline uint64_t
bwg_dp_clock_ns(const struct bwg_dp_clock *c, uint64_t tsc)
{
	return c->ns0 + (uint64_t)(((unsigned __int128)(tsc - c->tsc0) * c->mult) >> 32);
}

/* Prepare lc for worker w on queue q (allocates TX buffers). Returns 0 or -ENOMEM. */
int bwg_dp_lcore_init(struct bwg_dp_lcore *lc, struct bwg_worker *w, unsigned lcore,
		      uint16_t q, const struct bwg_ports *ps);
void bwg_dp_lcore_fini(struct bwg_dp_lcore *lc);

/* The worker loop (lcore_function_t): runs until lc->quit, then flushes its TX. */
int bwg_dp_lcore_run(void *lc);

#endif
