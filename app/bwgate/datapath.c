/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker loop (worker lcores; set-up and tear-down on the control thread).
 *
 * One fixed shape, run to completion: for each port, RX burst from this worker's queue
 * -> frames (the clock read once per burst) -> bwg_worker_burst() -> buffered TX of the
 * forwarded frames to the peer port's queue of the same number; dropped frames are
 * freed, and those of `reset: true` rules answered with TCP RSTs. Every HOUSEKEEPING
 * loops a tick adopts a policy the control thread published (and acknowledges its
 * version, which lets the control thread free the one it replaced), ages flows, drains
 * the TX buffers, takes a bounded step of a largest-flows request (GET /api/v1/flows)
 * and publishes the loop counter the control thread's stall detector watches. A loop
 * that received nothing also drains the TX buffers, so a light load never waits for a
 * buffer to fill.
 *
 * Nothing here blocks, locks, logs or touches the heap. A frame the TX queue refuses
 * (after a few retries) is counted as drop reason tx_full; tx_packets is the pipeline's
 * forwarded frames less those. At each tick, TX drained, the worker publishes its
 * totals for the control thread's snapshots: rx == tx + drops holds in each exactly,
 * and no counter ever goes down.
 *
 * Chained mbufs (a PMD that splits frames larger than one buffer) are linearized when
 * the first segment has room; otherwise the pipeline sees the first segment as a frame
 * cut short (caplen < wire_len, as in a snaplen capture): it still has the headers, the
 * flow is accounted with the full length, and a forwarded frame leaves whole.
 */

#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>

#include "bwgate.h"
#include "datapath.h"

#define HOUSEKEEPING 64 /* loops between ticks */
#define TX_RETRIES 4    /* extra tries before a frame counts as tx_full */

void
bwg_dp_clock_init(struct bwg_dp_clock *c)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	c->tsc0 = rte_rdtsc();
	c->ns0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	c->mult = (uint64_t)(((unsigned __int128)1000000000ull << 32) / rte_get_tsc_hz());
}

/* ---- TX ------------------------------------------------------------------------------- */

/* The TX queue stayed full: retry a little, then count what is left as tx_full. */
static void
tx_unsent(struct rte_mbuf **pkts, uint16_t n, void *arg)
{
	struct bwg_dp_txq *t = arg;
	uint16_t sent = 0;
	for (int i = 0; i < TX_RETRIES && sent < n; i++)
		sent += rte_eth_tx_burst(t->port, t->queue, pkts + sent, n - sent);
	for (uint16_t i = sent; i < n; i++) {
		bwg_worker_tx_failed(t->w, rte_pktmbuf_pkt_len(pkts[i]));
		rte_pktmbuf_free(pkts[i]);
	}
}

int
bwg_dp_lcore_init(struct bwg_dp_lcore *lc, struct bwg_worker *w, unsigned lcore, uint16_t q,
		  const struct bwg_ports *ps)
{
	memset(lc, 0, sizeof(*lc));
	lc->w = w;
	lc->lcore = lcore;
	lc->queue = q;
	lc->pool = bwg_ports_pool(ps, lcore);
	bwg_dp_clock_init(&lc->clock);
	atomic_init(&lc->policy_next, w->policy);
	atomic_init(&lc->policy_seen, w->policy->version);
	atomic_init(&lc->policy_counted, w->policy->version);
	if (bwg_stats_init(&lc->stats, w->stats.app_count) < 0)
		return -ENOMEM;
	lc->flows.views = rte_zmalloc_socket("bwg_flowviews",
					     BWG_DP_FLOWS_MAX * sizeof(struct bwg_flow_view), 0,
					     (int)rte_lcore_to_socket_id(lcore));
	if (!lc->flows.views)
		return -ENOMEM;
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++) {
		struct bwg_dp_txq *t = &lc->txq[r];
		lc->port[r] = ps->port[r].id;
		t->w = w;
		t->port = ps->port[r].id;
		t->queue = q;
		t->buf = rte_zmalloc_socket("bwg_txbuf", RTE_ETH_TX_BUFFER_SIZE(BWG_BURST), 0,
					    (int)rte_lcore_to_socket_id(lcore));
		if (!t->buf) {
			bwg_dp_lcore_fini(lc);
			return -ENOMEM;
		}
		rte_eth_tx_buffer_init(t->buf, BWG_BURST);
		rte_eth_tx_buffer_set_err_callback(t->buf, tx_unsent, t);
	}
	return 0;
}

void
bwg_dp_lcore_fini(struct bwg_dp_lcore *lc)
{
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++) {
		rte_free(lc->txq[r].buf);
		lc->txq[r].buf = NULL;
	}
	rte_free(lc->flows.views);
	lc->flows.views = NULL;
	bwg_stats_fini(&lc->stats);
}

static inline void
tx_drain(struct bwg_dp_lcore *lc)
{
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++)
		rte_eth_tx_buffer_flush(lc->txq[r].port, lc->txq[r].queue, lc->txq[r].buf);
}

/* ---- TCP resets and block notices ----------------------------------------------------- */

/* Room for one frame of the gate's own: headers and a notice page (BWG_NOTICE_MAX). */
#define REPLY_FRAME_MAX 2048

/* A copy of the frame buf[len] in a fresh mbuf, or NULL (len 0: nothing was built). */
static struct rte_mbuf *
reply_mbuf(struct rte_mempool *mp, const uint8_t *buf, uint32_t len)
{
	struct rte_mbuf *m = len ? rte_pktmbuf_alloc(mp) : NULL;
	uint8_t *d = m ? (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len) : NULL;
	if (!d) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(d, buf, len);
	return m;
}

static struct rte_mbuf *
reset_build(struct rte_mempool *mp, const struct bwg_tcp_seg *s, bool back)
{
	uint8_t buf[128];
	return reply_mbuf(mp, buf, bwg_pkt_tcp_reset(s, back, buf, sizeof(buf)));
}

static struct rte_mbuf *
notice_build(struct rte_mempool *mp, const struct bwg_tcp_seg *s, const struct bwg_notice *n)
{
	uint8_t buf[REPLY_FRAME_MAX];
	return reply_mbuf(mp, buf, bwg_pkt_tcp_answer(s, (const uint8_t *)n->text, n->len, buf,
						      sizeof(buf)));
}

struct reset_batch {
	struct rte_mbuf *m[BWG_PORT_ROLE_MAX][BWG_BURST];
	bool notice[BWG_PORT_ROLE_MAX][BWG_BURST]; /* a notice page, not a RST */
	uint16_t n[BWG_PORT_ROLE_MAX];
};

static void
batch_add(struct reset_batch *b, int r, struct rte_mbuf *m, bool notice, uint64_t *failed)
{
	if (!m) {
		(*failed)++;
		return;
	}
	b->notice[r][b->n[r]] = notice;
	b->m[r][b->n[r]++] = m;
}

/*
 * Queue the gate's answer to the frame m that came in on `side`: RSTs, one back out of
 * that port toward its sender and one out of the peer port toward its receiver; or,
 * for a block notice (the worker says which page), the page back toward the sender
 * (the client of a plain-HTTP request) and a RST toward the receiver (its server).
 */
static void
reset_queue(struct bwg_dp_lcore *lc, struct reset_batch *b, int side, const struct rte_mbuf *m,
	    bool notice, uint64_t *failed)
{
	struct bwg_tcp_seg s;
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	if (!bwg_pkt_tcp_seg(&s, frame, rte_pktmbuf_data_len(m))) {
		(*failed)++;
		return;
	}
	if (s.flags & BWG_TCP_RST)
		return; /* never answer a reset */
	const struct bwg_notice *page =
		notice ? bwg_worker_notice(lc->w, frame, rte_pktmbuf_data_len(m)) : NULL;
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++) {
		bool back = r == side;
		if (page && back)
			batch_add(b, r, notice_build(lc->pool, &s, page), true, failed);
		else
			batch_add(b, r, reset_build(lc->pool, &s, back), false, failed);
	}
}

static void
reset_send(struct bwg_dp_lcore *lc, struct reset_batch *b, uint64_t sent[BWG_PORT_ROLE_MAX],
	   uint64_t *notices, uint64_t *failed)
{
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++) {
		uint16_t n = b->n[r];
		if (n == 0)
			continue;
		uint16_t ok = rte_eth_tx_burst(lc->port[r], lc->queue, b->m[r], n);
		for (uint16_t i = 0; i < ok; i++) {
			if (b->notice[r][i])
				(*notices)++;
			else
				sent[r]++;
		}
		*failed += n - ok;
		for (uint16_t i = ok; i < n; i++)
			rte_pktmbuf_free(b->m[r][i]);
		b->n[r] = 0;
	}
}

/* ---- the loop ------------------------------------------------------------------------- */

struct loop_counters {
	uint64_t loops, busy_loops, cycles, packets, resets_sent[BWG_PORT_ROLE_MAX],
		resets_failed, notices_sent, multiseg, multiseg_cut;
};

static void
publish(struct bwg_dp_lcore *lc, const struct loop_counters *c)
{
	struct bwg_dp_counters *p = &lc->pub;
	atomic_store_explicit(&p->loops, c->loops, memory_order_relaxed);
	atomic_store_explicit(&p->busy_loops, c->busy_loops, memory_order_relaxed);
	atomic_store_explicit(&p->pipeline_cycles, c->cycles, memory_order_relaxed);
	atomic_store_explicit(&p->pipeline_packets, c->packets, memory_order_relaxed);
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++)
		atomic_store_explicit(&p->resets_sent[r], c->resets_sent[r], memory_order_relaxed);
	atomic_store_explicit(&p->resets_failed, c->resets_failed, memory_order_relaxed);
	atomic_store_explicit(&p->notices_sent, c->notices_sent, memory_order_relaxed);
	atomic_store_explicit(&p->multiseg, c->multiseg, memory_order_relaxed);
	atomic_store_explicit(&p->multiseg_cut, c->multiseg_cut, memory_order_relaxed);
}

/* ---- conservation totals ---------------------------------------------------------------- */

/*
 * Called with no frame in flight (between bursts, right after the TX buffers were
 * drained): every frame received so far is forwarded-and-sent, or counted as a drop,
 * tx_full included. A snapshot of such sets conserves exactly, and its tx (frames the
 * NIC took) only goes up, which a read of the live counters, taken between a forward
 * verdict and the TX queue refusing that frame, would not give.
 */
static void
totals_publish(struct bwg_dp_lcore *lc)
{
	uint32_t seq = atomic_load_explicit(&lc->totals_seq, memory_order_relaxed);
	atomic_store_explicit(&lc->totals_seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	bwg_stats_totals_get(&lc->w->stats, &lc->totals);
	atomic_store_explicit(&lc->totals_seq, seq + 2, memory_order_release);
}

void
bwg_dp_totals_read(const struct bwg_dp_lcore *lc, struct bwg_stats_totals *t)
{
	for (;;) {
		uint32_t seq = atomic_load_explicit(&lc->totals_seq, memory_order_acquire);
		if (seq & 1)
			continue;
		memcpy(t, &lc->totals, sizeof(*t));
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&lc->totals_seq, memory_order_relaxed) == seq)
			return;
	}
}

/* ---- housekeeping requests ------------------------------------------------------------ */

#define FLOWS_SCAN_STEP 4096 /* flow records visited per housekeeping tick */
#define STATS_FOLD_STEP 1024 /* flow records a publication visits per tick */

/* One bounded step of the counters the control thread asked for, when it asked. */
static inline void
stats_step(struct bwg_dp_lcore *lc)
{
	uint32_t req = atomic_load_explicit(&lc->stats_req, memory_order_acquire);
	if (likely(req == atomic_load_explicit(&lc->stats_done, memory_order_relaxed)))
		return;
	if (!lc->w->pub)
		lc->stats_version = lc->w->policy->version;
	if (!bwg_worker_publish_step(lc->w, &lc->stats, STATS_FOLD_STEP))
		return;
	atomic_store_explicit(&lc->policy_counted, lc->stats_version, memory_order_relaxed);
	atomic_store_explicit(&lc->stats_done, req, memory_order_release);
}

/* Adopt the policy the control thread published, and say so. */
static inline void
policy_follow(struct bwg_dp_lcore *lc)
{
	const struct bwg_policy *p = atomic_load_explicit(&lc->policy_next, memory_order_acquire);
	if (unlikely(p != lc->w->policy)) {
		bwg_worker_set_policy(lc->w, p);
		atomic_store_explicit(&lc->policy_seen, p->version, memory_order_release);
	}
}

/* Keep the BWG_DP_FLOWS_MAX largest flows seen so far (replace the smallest). */
static void
flows_keep(struct bwg_dp_flows *fl, uint32_t idx, uint64_t bytes)
{
	if (fl->k < BWG_DP_FLOWS_MAX) {
		fl->idx[fl->k] = idx;
		fl->bytes[fl->k++] = bytes;
		return;
	}
	uint32_t min = 0;
	for (uint32_t i = 1; i < fl->k; i++)
		if (fl->bytes[i] < fl->bytes[min])
			min = i;
	if (bytes > fl->bytes[min]) {
		fl->idx[min] = idx;
		fl->bytes[min] = bytes;
	}
}

/* One bounded step of a largest-flows request, when one is pending. */
static void
flows_step(struct bwg_dp_lcore *lc)
{
	struct bwg_dp_flows *fl = &lc->flows;
	uint32_t req = atomic_load_explicit(&fl->req, memory_order_acquire);
	if (likely(req == atomic_load_explicit(&fl->done, memory_order_relaxed)))
		return;
	if (fl->scan_seq != req) {
		fl->scan_seq = req;
		fl->cursor = 0;
		fl->k = 0;
	}
	const struct bwg_flow_table *t = &lc->w->flows;
	uint32_t end = fl->cursor + FLOWS_SCAN_STEP;
	if (end > t->high_water)
		end = t->high_water;
	for (uint32_t i = fl->cursor; i < end; i++) {
		const struct bwg_flow *f = &t->flows[i];
		if (f->state != BWG_FLOW_FREE)
			flows_keep(fl, i, f->bytes[0] + f->bytes[1]);
	}
	fl->cursor = end;
	if (end < t->high_water)
		return;
	for (uint32_t i = 0; i < fl->k; i++)
		bwg_worker_flow_view(lc->w, &t->flows[fl->idx[i]], &fl->views[i]);
	fl->n = fl->k;
	atomic_store_explicit(&fl->done, req, memory_order_release);
}

/* One RX burst of `side` through the pipeline and out. */
static inline void
burst_run(struct bwg_dp_lcore *lc, int side, struct rte_mbuf **pkts, uint16_t n,
	  struct loop_counters *c, struct reset_batch *rb)
{
	struct bwg_frame fr[BWG_BURST];
	uint8_t verdict[BWG_BURST];
	uint64_t t0 = rte_rdtsc();
	uint64_t now = bwg_dp_clock_ns(&lc->clock, t0);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		if (unlikely(m->nb_segs > 1)) {
			if (rte_pktmbuf_linearize(m) == 0)
				c->multiseg++;
			else
				c->multiseg_cut++;
		}
		rte_prefetch0(rte_pktmbuf_mtod(m, void *));
		fr[i].data = rte_pktmbuf_mtod(m, const uint8_t *);
		fr[i].caplen = rte_pktmbuf_data_len(m);
		fr[i].wire_len = rte_pktmbuf_pkt_len(m);
		fr[i].ts_ns = now;
		fr[i].nic_hash = m->hash.rss;
		fr[i].nic_hashed = (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) != 0;
	}
	bwg_worker_burst(lc->w, fr, n, verdict);
	c->cycles += rte_rdtsc() - t0;
	c->packets += n;

	struct bwg_dp_txq *peer = &lc->txq[side ^ 1];
	for (uint16_t i = 0; i < n; i++) {
		if (verdict[i] == BWG_VERDICT_FORWARD) {
			rte_eth_tx_buffer(peer->port, peer->queue, peer->buf, pkts[i]);
			continue;
		}
		if (verdict[i] & (BWG_VERDICT_RESET | BWG_VERDICT_NOTICE))
			reset_queue(lc, rb, side, pkts[i], verdict[i] & BWG_VERDICT_NOTICE,
				    &c->resets_failed);
		rte_pktmbuf_free(pkts[i]);
	}
	reset_send(lc, rb, c->resets_sent, &c->notices_sent, &c->resets_failed);
}

int
bwg_dp_lcore_run(void *arg)
{
	struct bwg_dp_lcore *lc = arg;
	struct rte_mbuf *pkts[BWG_BURST];
	struct reset_batch rb = {0};
	struct loop_counters c = {0};

	while (!atomic_load_explicit(&lc->quit, memory_order_relaxed)) {
		bool busy = false;
		for (int side = 0; side < BWG_PORT_ROLE_MAX; side++) {
			uint16_t n = rte_eth_rx_burst(lc->port[side], lc->queue, pkts, BWG_BURST);
			if (n) {
				busy = true;
				burst_run(lc, side, pkts, n, &c, &rb);
			}
		}
		c.loops++;
		c.busy_loops += busy;
		if (!busy)
			tx_drain(lc);
		if (c.loops % HOUSEKEEPING == 0) {
			tx_drain(lc);
			totals_publish(lc);
			stats_step(lc);
			policy_follow(lc);
			bwg_worker_housekeeping(lc->w, bwg_dp_clock_ns(&lc->clock, rte_rdtsc()));
			flows_step(lc);
			publish(lc, &c);
		}
	}
	tx_drain(lc);
	totals_publish(lc);
	publish(lc, &c);
	return 0;
}
