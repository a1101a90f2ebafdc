/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the control thread (main lcore) does while the workers run, and the final
 * document once they stopped.
 *
 * It only reads worker memory: counters are plain per-worker stores summed here into a
 * snapshot (a counter read mid-burst may be one burst behind, never torn on 64-bit
 * targets); events leave each worker's single-producer ring through the consumer side;
 * loop counters feed the stall detector. The stats document is a pure function of the
 * snapshot (bwg_stats_json) plus the ports[] and workers[] arrays built here.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>

#include "bwg_log.h"
#include "bwg_setup.h"
#include "bwgate.h"
#include "control.h"

uint64_t
bwg_control_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
bwg_control_init(struct bwg_control *ctl, const struct bwg_policy *policy,
		 struct bwg_ports *ports, struct bwg_dp_lcore *lcores, uint32_t n, char *err,
		 size_t errlen)
{
	memset(ctl, 0, sizeof(*ctl));
	ctl->policy = policy;
	ctl->ports = ports;
	ctl->lcores = lcores;
	ctl->n = n;
	ctl->stall_timeout_ms = policy->conf->stall_timeout_ms;
	ctl->watch = calloc(n, sizeof(*ctl->watch));
	if (!ctl->watch || bwg_stats_init(&ctl->snap, lcores[0].w->stats.app_count) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	const char *path = policy->conf->events_file;
	if (path && !(ctl->events = fopen(path, "a"))) {
		int e = errno;
		snprintf(err, errlen, "%s: events.file: %s: %s", policy->conf->path, path,
			 strerror(e));
		return -e;
	}
	uint64_t now = bwg_control_now_ns();
	ctl->last_ns = ctl->idle_since_ns = now;
	for (uint32_t i = 0; i < n; i++)
		ctl->watch[i].since_ns = now;
	return 0;
}

void
bwg_control_fini(struct bwg_control *ctl)
{
	if (ctl->events)
		fclose(ctl->events);
	ctl->events = NULL;
	bwg_stats_fini(&ctl->snap);
	free(ctl->watch);
	ctl->watch = NULL;
}

void
bwg_control_snapshot(struct bwg_control *ctl)
{
	bwg_stats_clear(&ctl->snap);
	for (uint32_t i = 0; i < ctl->n; i++)
		bwg_stats_add(&ctl->snap, &ctl->lcores[i].w->stats);
}

void
bwg_control_events_drain(struct bwg_control *ctl)
{
	bool wrote = false;
	for (uint32_t i = 0; i < ctl->n; i++) {
		struct bwg_event_ring *r = &ctl->lcores[i].w->events;
		const struct bwg_event *e;
		while ((e = bwg_event_ring_peek(r))) {
			if (ctl->events && e->type != BWG_EVENT_FLOW) {
				json_t *o = bwg_log_event_json(e);
				json_dumpf(o, ctl->events, JSON_COMPACT | BWG_JSON_REAL_FLAGS);
				fputc('\n', ctl->events);
				json_decref(o);
				ctl->events_written++;
				wrote = true;
			}
			bwg_event_ring_pop(r);
		}
	}
	if (wrote)
		fflush(ctl->events);
}

void
bwg_control_stall_check(struct bwg_control *ctl, uint64_t now_ns)
{
	for (uint32_t i = 0; i < ctl->n; i++) {
		struct bwg_ctl_worker_watch *wt = &ctl->watch[i];
		uint64_t loops =
			atomic_load_explicit(&ctl->lcores[i].pub.loops, memory_order_relaxed);
		if (loops != wt->loops) {
			if (wt->stalled)
				BWG_APP_LOG("worker %u (lcore %u) is running again", i,
					    ctl->lcores[i].lcore);
			wt->loops = loops;
			wt->since_ns = now_ns;
			wt->stalled = false;
			continue;
		}
		uint64_t ms = (now_ns - wt->since_ns) / 1000000;
		if (!wt->stalled && ms >= ctl->stall_timeout_ms) {
			BWG_APP_LOG("worker %u (lcore %u) stalled: its loop counter has not moved "
				    "for %llu ms (ports.stall_timeout_ms = %u)",
				    i, ctl->lcores[i].lcore, (unsigned long long)ms,
				    ctl->stall_timeout_ms);
			wt->stalled = true;
		}
	}
}

void
bwg_control_summary_print(struct bwg_control *ctl, uint64_t now_ns)
{
	bwg_control_snapshot(ctl);
	const struct bwg_stats *s = &ctl->snap;
	uint64_t rx = s->cnt[BWG_CNT_RX_PACKETS], tx = s->cnt[BWG_CNT_TX_PACKETS];
	double secs = (double)(now_ns - ctl->last_ns) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	uint64_t missed = 0, nombuf = 0;
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++) {
		struct rte_eth_stats st;
		if (ctl->ports->port[r].started &&
		    rte_eth_stats_get(ctl->ports->port[r].id, &st) == 0) {
			missed += st.imissed;
			nombuf += st.rx_nombuf;
		}
	}
	fprintf(stderr,
		"bwgate: stats: rx %llu tx %llu dropped %llu (policy %llu, tx_full %llu) flows "
		"%llu | %.3f Mpps rx, %.3f Mpps tx | rx_missed %llu rx_nombuf %llu\n",
		(unsigned long long)rx, (unsigned long long)tx,
		(unsigned long long)s->cnt[BWG_CNT_DROPPED_PACKETS],
		(unsigned long long)(s->drops[BWG_DROP_POLICY_BLOCK] +
				     s->drops[BWG_DROP_POLICY_LIMIT]),
		(unsigned long long)s->drops[BWG_DROP_TX_FULL],
		(unsigned long long)s->flows_active, (double)(rx - ctl->last_rx) / secs / 1e6,
		(double)(tx - ctl->last_tx) / secs / 1e6, (unsigned long long)missed,
		(unsigned long long)nombuf);
	ctl->last_rx = rx;
	ctl->last_tx = tx;
	ctl->last_ns = now_ns;
}

uint64_t
bwg_control_idle_ns(struct bwg_control *ctl, uint64_t now_ns)
{
	uint64_t rx = bwg_ports_rx_total(ctl->ports);
	for (uint32_t i = 0; i < ctl->n; i++)
		rx += atomic_load_explicit(&ctl->lcores[i].pub.pipeline_packets,
					   memory_order_relaxed);
	if (rx != ctl->idle_rx) {
		ctl->idle_rx = rx;
		ctl->idle_since_ns = now_ns;
	}
	return now_ns - ctl->idle_since_ns;
}

static json_t *
drops_json(const struct bwg_stats *s)
{
	json_t *o = json_object();
	for (int d = 0; d < BWG_DROP_MAX; d++)
		json_object_set_new(o, bwg_drop_names[d], json_integer((json_int_t)s->drops[d]));
	return o;
}

static json_t *
workers_json(struct bwg_control *ctl)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < ctl->n; i++) {
		const struct bwg_dp_lcore *lc = &ctl->lcores[i];
		const struct bwg_stats *s = &lc->w->stats;
		struct bwg_dp_counters *p = &ctl->lcores[i].pub;
#define LOAD(f) ((json_int_t)atomic_load_explicit(&p->f, memory_order_relaxed))
		json_int_t pkts = LOAD(pipeline_packets), cycles = LOAD(pipeline_cycles);
		json_t *o = json_pack(
			"{s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I, "
			"s:I, s:f, s:I, s:I, s:I, s:I}",
			"id", (int)i, "lcore", (int)lc->lcore, "queue", (int)lc->queue, "rx_packets",
			(json_int_t)s->cnt[BWG_CNT_RX_PACKETS], "rx_bytes",
			(json_int_t)s->cnt[BWG_CNT_RX_BYTES], "tx_packets",
			(json_int_t)s->cnt[BWG_CNT_TX_PACKETS], "tx_bytes",
			(json_int_t)s->cnt[BWG_CNT_TX_BYTES], "dropped_packets",
			(json_int_t)s->cnt[BWG_CNT_DROPPED_PACKETS], "dropped_bytes",
			(json_int_t)s->cnt[BWG_CNT_DROPPED_BYTES], "drops", drops_json(s),
			"flows_active", (json_int_t)lc->w->flows.active, "flows_created",
			(json_int_t)s->cnt[BWG_CNT_FLOWS_CREATED], "loops", LOAD(loops),
			"busy_loops", LOAD(busy_loops), "pipeline_cycles", cycles,
			"pipeline_packets", pkts, "cycles_per_packet",
			pkts ? (double)cycles / (double)pkts : 0.0, "resets_sent",
			LOAD(resets_sent[0]) + LOAD(resets_sent[1]), "resets_failed", LOAD(resets_failed),
			"multiseg_linearized", LOAD(multiseg), "multiseg_cut", LOAD(multiseg_cut));
#undef LOAD
		json_array_append_new(a, o);
	}
	return a;
}

json_t *
bwg_control_stats_json(struct bwg_control *ctl)
{
	bwg_control_snapshot(ctl);
	const struct bwg_dpi *dpi = ctl->lcores[0].w->dpi;
	const char **apps = calloc(bwg_dpi_app_count(dpi) + 1, sizeof(*apps));
	if (!apps)
		return NULL;
	struct bwg_stats_names names;
	bwg_setup_stats_names(&names, ctl->policy, dpi, apps);
	uint64_t capacity = 0, cycles = 0, pkts = 0;
	for (uint32_t i = 0; i < ctl->n; i++) {
		capacity += ctl->lcores[i].w->flows.capacity;
		cycles += atomic_load_explicit(&ctl->lcores[i].pub.pipeline_cycles,
					       memory_order_relaxed);
		pkts += atomic_load_explicit(&ctl->lcores[i].pub.pipeline_packets,
					     memory_order_relaxed);
	}
	/* Resets are frames the gate makes: they show in a port's tx_packets on top of the
	 * forwarded frames (totals.tx_packets). */
	json_t *ports = bwg_ports_json(ctl->ports);
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++) {
		uint64_t n = 0;
		for (uint32_t i = 0; i < ctl->n; i++)
			n += atomic_load_explicit(&ctl->lcores[i].pub.resets_sent[r],
						  memory_order_relaxed);
		json_object_set_new(json_array_get(ports, (size_t)r), "resets_sent",
				    json_integer((json_int_t)n));
	}
	json_t *doc = bwg_stats_json(&ctl->snap, &names, capacity, ports, workers_json(ctl));
	free(apps);
	if (!doc)
		return NULL;
	json_object_set_new(doc, "policy",
			    json_pack("{s:s, s:i}", "file", ctl->policy->conf->path, "version",
				      (int)ctl->policy->version));
	json_object_set_new(doc, "pipeline",
			    json_pack("{s:I, s:I, s:f, s:I}", "cycles", (json_int_t)cycles,
				      "packets", (json_int_t)pkts, "cycles_per_packet",
				      pkts ? (double)cycles / (double)pkts : 0.0, "tsc_hz",
				      (json_int_t)rte_get_tsc_hz()));
	json_object_set_new(doc, "events_written", json_integer((json_int_t)ctl->events_written));
	return doc;
}
