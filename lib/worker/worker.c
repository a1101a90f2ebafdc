/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pipeline a worker runs on every burst (worker thread).
 *
 * The established-flow path is: parse, hash, lookup, count, one table lookup for the
 * verdict and, for limit rules, one token-bucket check. Everything that costs more —
 * nDPI, class and rule evaluation, host interning, events — happens a few times in a
 * flow's life: while nDPI inspects it, when its answer changes, and when the policy or
 * the active schedules change (detected by comparing the flow's decision generation
 * with the worker's).
 *
 * Every frame ends as forwarded or as a named drop; the counters keep
 * rx_packets == tx_packets + sum(drops) at the end of every burst.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_hash.h"
#include "bwg_worker.h"

#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif

/* A client in the per-host flow counts. */
struct host_key {
	uint8_t family;
	uint8_t pad[3];
	uint8_t addr[16];
};

/*
 * A flow's action when its rule must be asked about every packet (rule_packet): one in
 * "mode": "monitor", or with a quota. Never in a record: views show the rule's.
 */
#define BWG_ACTION_RULE BWG_ACTION_MAX

/* verdict[action][conforms]: what happens to a packet of a flow under a rule. */
static const uint8_t verdict_table[BWG_ACTION_MAX + 1][2] = {
	[BWG_ACTION_ALLOW] = {BWG_VERDICT_FORWARD, BWG_VERDICT_FORWARD},
	[BWG_ACTION_BLOCK] = {BWG_DROP_POLICY_BLOCK, BWG_DROP_POLICY_BLOCK},
	[BWG_ACTION_LIMIT] = {BWG_DROP_POLICY_LIMIT, BWG_VERDICT_FORWARD},
	[BWG_ACTION_RULE] = {BWG_VERDICT_FORWARD, BWG_VERDICT_FORWARD}, /* rule_packet decides */
};

int
bwg_worker_create(struct bwg_worker **out, const struct bwg_worker_conf *conf,
		  const struct bwg_policy *policy, struct bwg_dpi *dpi, char *err, size_t errlen)
{
	const struct bwg_config *c = policy->conf;
	struct bwg_worker *w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
	if (!w) {
		bwg_dpi_destroy(dpi);
		snprintf(err, errlen, "out of memory for worker %u", conf->id);
		return -ENOMEM;
	}
	memset(w, 0, sizeof(*w));
	w->dpi = dpi;
	w->conf = *conf;
	w->meters = conf->meters;
	w->meters_owned = !conf->meters;
	if (w->conf.aging_budget == 0)
		w->conf.aging_budget = 256;
	if (w->conf.workers == 0)
		w->conf.workers = 1;
	struct bwg_flow_timeouts to = {
		.tcp_ns = c->timeout_tcp * 1000000000ull,
		.tcp_closed_ns = c->timeout_tcp_closed * 1000000000ull,
		.tcp_opening_ns = c->timeout_tcp_opening * 1000000000ull,
		.udp_ns = c->timeout_udp * 1000000000ull,
		.udp_unreplied_ns = c->timeout_udp_unreplied * 1000000000ull,
		.other_ns = c->timeout_other * 1000000000ull,
	};
	int rc;
	if ((rc = bwg_flow_table_init(&w->flows, c->flow_capacity, &to)) < 0 ||
	    (conf->nic_hash && (rc = bwg_flow_table_nic_init(&w->flows)) < 0) ||
	    (rc = bwg_intern_init(&w->hosts, c->hosts_capacity, BWG_DPI_HOST_MAX, 0)) < 0 ||
	    (!conf->meters && (rc = bwg_meter_table_create(&w->meters, 2 * c->hosts_capacity)) < 0) ||
	    /* As many entries as flows: each is held by a live flow (host_flows_take). */
	    (rc = bwg_intern_init(&w->host_flows, c->flow_capacity, sizeof(struct host_key),
				  0)) < 0 ||
	    (rc = bwg_stats_init(&w->stats, bwg_dpi_app_count(dpi))) < 0 ||
	    (rc = bwg_event_ring_init(&w->events, conf->event_ring_size)) < 0 ||
	    (conf->export_flows && conf->active_timeout_ns &&
	     !(w->exported = calloc(c->flow_capacity, sizeof(*w->exported)))) ||
	    !(w->fold = bwg_table_alloc((size_t)c->flow_capacity * sizeof(*w->fold))) ||
	    bwg_user_deltas_init(&w->users[0], conf->user_pairs) < 0 ||
	    bwg_user_deltas_init(&w->users[1], conf->user_pairs) < 0 ||
	    !(w->det = calloc(bwg_dpi_pool_size(dpi) + 1, sizeof(*w->det))) ||
	    !(w->slot_flow = calloc(bwg_dpi_pool_size(dpi) + 1, sizeof(*w->slot_flow)))) {
		if (rc == 0)
			rc = -ENOMEM;
		snprintf(err, errlen,
			 "worker %u: out of memory for %u flows (%zu bytes each) and %u hosts",
			 conf->id, c->flow_capacity, sizeof(struct bwg_flow), c->hosts_capacity);
		bwg_worker_destroy(w);
		return rc;
	}
	for (uint32_t i = 0; i < BWG_FRAG_SLOTS; i++)
		w->frags[i].flow = BWG_FLOW_NONE;
	for (uint32_t i = 0; i < BWG_FRAG_HOST_SLOTS; i++)
		w->frag_hosts[i].flow = BWG_FLOW_NONE;
	/* One token a reset pair; a quarter second's worth may go at once. */
	bwg_meter_init(&w->reset_bucket, (uint64_t)c->reset_rate * 8,
		       c->reset_rate / 4 > 0 ? c->reset_rate / 4 : 1, 0);
	w->reset_interval_ticks = (uint16_t)(((uint64_t)c->reset_interval * 1000000000ull +
					      (1ull << BWG_RESET_TICK_SHIFT) - 1) >>
					     BWG_RESET_TICK_SHIFT);
	w->unmatched_frag_drop = c->unmatched_fragments_drop;
	w->non_ip_drop = c->non_ip_drop;
	w->malformed_drop = c->malformed_drop;
	w->full_drop = c->flow_full_drop;
	w->parse_flags = c->sniff_ip ? BWG_PKT_SNIFF_IP : 0;
	static const char *const name_apps[] = {"TLS", "QUIC", "DTLS", "HTTP"};
	for (int i = 0; i < 4; i++) {
		int id = bwg_dpi_app_id(dpi, name_apps[i]);
		w->name_apps[i] = id > 0 ? (uint16_t)id : UINT16_MAX;
	}
	w->policy = policy;
	w->gen = 1;
	w->stats.rules_version = policy->version;
	w->fold_mark = BWG_FLOW_UNFOLDED;
	w->users_closing = -1;
	*out = w;
	return 0;
}

void
bwg_worker_destroy(struct bwg_worker *w)
{
	if (!w)
		return;
	/* Flows still under inspection hold buffers nDPI allocated inside their state. */
	for (uint32_t i = 0; i < w->flows.high_water; i++)
		if (w->flows.flows && w->flows.flows[i].state == BWG_FLOW_DETECTING)
			bwg_dpi_slot_put(w->dpi, w->flows.flows[i].dpi_slot);
	/* One fold record per flow record: sized as the table, which fini forgets. */
	bwg_table_free(w->fold, (size_t)w->flows.capacity * sizeof(*w->fold));
	bwg_flow_table_fini(&w->flows);
	bwg_intern_fini(&w->hosts);
	if (w->meters_owned)
		bwg_meter_table_destroy(w->meters);
	bwg_intern_fini(&w->host_flows);
	bwg_stats_fini(&w->stats);
	bwg_event_ring_fini(&w->events);
	free(w->exported);
	bwg_dpi_destroy(w->dpi);
	bwg_user_deltas_fini(&w->users[0]);
	bwg_user_deltas_fini(&w->users[1]);
	free(w->det);
	free(w->slot_flow);
	free(w);
}

void
bwg_worker_set_policy(struct bwg_worker *w, const struct bwg_policy *policy)
{
	w->policy = policy;
	w->sched_next_ns = 0; /* re-evaluate schedules in the new zone */
	w->gen++;
	/* Rule indexes mean other rules now: their counts start again (bwg_rule_stats). */
	w->stats.rules_version = 0;
	memset(w->stats.rules, 0, sizeof(w->stats.rules));
	w->stats.rules_version = policy->version;
}

/* ---- names and views ---------------------------------------------------------------- */

static const char *
flow_host(const struct bwg_worker *w, const struct bwg_flow *f)
{
	return f->host_id == BWG_FLOW_NONE ? "" : (const char *)bwg_intern_key(&w->hosts, f->host_id);
}

/* The flow's evidence as its record holds it (names learned from DNS included). */
static void
flow_evidence(const struct bwg_worker *w, const struct bwg_flow *f, struct bwg_class_evidence *e)
{
	const char *host = flow_host(w, f);
	bool learned = f->flags & BWG_FLOW_HOST_LEARNED;
	*e = (struct bwg_class_evidence){
		.master = f->app_master,
		.app = f->app,
		.category = f->category,
		.guessed = f->flags & BWG_FLOW_GUESSED,
		.host = learned ? NULL : host,
		.learned = learned ? host : NULL,
		/* Set where the name is learned (class_decide); kept by the source it gave. */
		.learned_from_flow = learned && f->cls_src == BWG_SRC_FLOW_NAME,
		.family = f->family,
		.client = f->addr[0],
		.server = f->addr[1],
		.detector = f->det,
		.p2p_host = f->cls_src == BWG_SRC_BEHAVIOUR,
		.socket_cls = f->cls_src == BWG_SRC_SOCKET ? f->cls : BWG_CLASS_NONE,
	};
}

void
bwg_worker_flow_view(const struct bwg_worker *w, const struct bwg_flow *f,
		     struct bwg_flow_view *v)
{
	const struct bwg_policy *p = w->policy;
	v->family = f->family;
	v->proto = f->proto;
	v->vlan = f->vlan;
	memcpy(v->addr, f->addr, sizeof(v->addr));
	v->port[0] = f->port[0];
	v->port[1] = f->port[1];
	for (int d = 0; d < 2; d++) {
		v->pkts[d] = f->pkts[d];
		v->bytes[d] = f->bytes[d];
	}
	v->dropped_pkts = f->dropped_pkts;
	v->first_ts = f->first_ts;
	v->last_ts = f->last_ts;
	v->event_ts = w->clock_ns;
	bwg_dpi_label(w->dpi, f->app_master, f->app, v->app, sizeof(v->app));
	snprintf(v->category, sizeof(v->category), "%s",
		 bwg_dpi_category_name(w->dpi, f->category));
	snprintf(v->cls, sizeof(v->cls), "%s",
		 f->cls < p->n_classes ? p->class_names[f->cls] : "unknown");
	snprintf(v->unit, sizeof(v->unit), "%s", f->unit < p->n_units ? p->unit_names[f->unit] : "");
	snprintf(v->rule, sizeof(v->rule), "%s",
		 f->rule <= p->n_rules ? bwg_policy_rule_name(p, f->rule) : "default");
	snprintf(v->host, sizeof(v->host), "%s", flow_host(w, f));
	v->host_learned = f->flags & BWG_FLOW_HOST_LEARNED;
	v->app_guessed = f->flags & BWG_FLOW_GUESSED;
	v->action = f->action;
	v->monitor = false;
	if (f->action == BWG_ACTION_RULE) { /* the record says what the rule does */
		v->action = (uint8_t)p->rules[f->rule].action;
		v->monitor = p->rules[f->rule].conf->monitor;
	}
	snprintf(v->class_source, sizeof(v->class_source), "%s",
		 f->cls_src < BWG_SRC_MAX ? bwg_class_source_names[f->cls_src] : "default");
	v->end_reason = BWG_END_NONE;
	memset(v->prior_pkts, 0, sizeof(v->prior_pkts));
	memset(v->prior_bytes, 0, sizeof(v->prior_bytes));
	v->prior_dropped = 0;
	struct bwg_class_evidence e;
	struct bwg_class_decision d = {.cls = f->cls, .source = f->cls_src, .detector = f->det};
	flow_evidence(w, f, &e);
	if (f->cls_src == BWG_SRC_BEHAVIOUR)
		d.detector = bwg_detector_behaviour_id();
	bwg_classes_explain(&p->classes, w->dpi, &e, &d, v->class_match, sizeof(v->class_match));
}

/* Queue an event about f for the control thread; `why` is its record's enum bwg_flow_end.
 * Returns false when the ring was full (counted). */
static bool
emit(struct bwg_worker *w, const struct bwg_flow *f, enum bwg_event_type type, uint8_t why)
{
	struct bwg_event *e = bwg_event_ring_reserve(&w->events);
	if (!e) {
		w->stats.cnt[BWG_CNT_EVENTS_LOST]++;
		return false;
	}
	e->type = (uint8_t)type;
	bwg_worker_flow_view(w, f, &e->flow);
	e->flow.end_reason = why;
	if (w->exported) {
		const struct bwg_flow_export *x = &w->exported[bwg_flow_index(&w->flows, f)];
		memcpy(e->flow.prior_pkts, x->pkts, sizeof(x->pkts));
		memcpy(e->flow.prior_bytes, x->bytes, sizeof(x->bytes));
		e->flow.prior_dropped = x->dropped;
	}
	bwg_event_ring_publish(&w->events);
	w->stats.cnt[BWG_CNT_EVENTS]++;
	return true;
}

/* A user reached rule r's quota with a packet of f: the audit log says so, once. */
static void
emit_quota(struct bwg_worker *w, const struct bwg_flow *f, const struct bwg_conf_rule *r,
	   const struct bwg_quota *q)
{
	struct bwg_event *e = bwg_event_ring_reserve(&w->events);
	if (!e) {
		w->stats.cnt[BWG_CNT_EVENTS_LOST]++;
		return;
	}
	e->type = BWG_EVENT_QUOTA;
	bwg_worker_flow_view(w, f, &e->flow);
	struct bwg_flow_view *v = &e->flow;
	v->quota_period = (uint8_t)r->quota_period;
	v->quota_block = r->quota_block;
	v->quota_bytes = r->quota_bytes;
	v->quota_minutes = r->quota_minutes;
	v->quota_then_bps = r->then_rate_bps;
	v->quota_used_bytes = atomic_load_explicit(&q->bytes, memory_order_relaxed);
	v->quota_used_minutes = atomic_load_explicit(&q->minutes, memory_order_relaxed);
	bwg_log_format_ip(q->family, q->addr, v->quota_user, sizeof(v->quota_user));
	bwg_event_ring_publish(&w->events);
	w->stats.cnt[BWG_CNT_EVENTS]++;
	w->stats.cnt[BWG_CNT_QUOTAS_REACHED]++;
}

/* A user entered (or left) rule r's penalty lane, at `at`: the audit log says so. */
static void
emit_penalty(struct bwg_worker *w, const struct bwg_flow *f, const struct bwg_conf_rule *r,
	     const struct bwg_quota *q, enum bwg_penalty_change ch, uint64_t at)
{
	struct bwg_event *e = bwg_event_ring_reserve(&w->events);
	if (!e) {
		w->stats.cnt[BWG_CNT_EVENTS_LOST]++;
		return;
	}
	e->type = ch == BWG_PENALTY_START ? BWG_EVENT_PENALTY_START : BWG_EVENT_PENALTY_END;
	bwg_worker_flow_view(w, f, &e->flow);
	struct bwg_flow_view *v = &e->flow;
	v->event_ts = at;
	v->pen_above_bps = r->pen_above_bps;
	v->pen_rate_bps = r->pen_rate_bps;
	v->pen_for = r->pen_for;
	v->pen_lasts = r->pen_lasts;
	uint64_t span = (uint64_t)r->pen_lasts * 60000000000ull;
	v->pen_since = ch == BWG_PENALTY_START ? at : at - span;
	v->pen_until = ch == BWG_PENALTY_START ? at + span : at;
	bwg_log_format_ip(q->family, q->addr, v->quota_user, sizeof(v->quota_user));
	bwg_event_ring_publish(&w->events);
	w->stats.cnt[BWG_CNT_EVENTS]++;
	w->stats.cnt[ch == BWG_PENALTY_START ? BWG_CNT_PENALTIES : BWG_CNT_PENALTIES_ENDED]++;
}

/*
 * Aging sweep, on a flow that stays: a long flow whose last record is
 * conf.active_timeout_ns old gets a periodic one with what it did since. A full event ring
 * leaves its counts to the next record.
 */
static void
active_check(struct bwg_worker *w, struct bwg_flow *f)
{
	struct bwg_flow_export *x = &w->exported[bwg_flow_index(&w->flows, f)];
	uint64_t since = x->at_ns ? x->at_ns : f->first_ts;
	if (w->clock_ns < since || w->clock_ns - since < w->conf.active_timeout_ns)
		return;
	if (f->pkts[0] == x->pkts[0] && f->pkts[1] == x->pkts[1]) {
		x->at_ns = w->clock_ns; /* nothing new to say */
		return;
	}
	if (!emit(w, f, BWG_EVENT_FLOW_UPDATE, BWG_END_ACTIVE))
		return;
	x->at_ns = w->clock_ns;
	memcpy(x->pkts, f->pkts, sizeof(x->pkts));
	memcpy(x->bytes, f->bytes, sizeof(x->bytes));
	x->dropped = f->dropped_pkts;
}

/* ---- counters: folding ------------------------------------------------------------------ */

static inline void
obj_add(struct bwg_obj_stats *o, uint64_t pkts, uint64_t bytes, uint64_t dropped,
	uint64_t dropped_bytes)
{
	o->packets += pkts;
	o->bytes += bytes;
	o->dropped_packets += dropped;
	o->dropped_bytes += dropped_bytes;
}

static void user_fold(struct bwg_worker *w, const struct bwg_flow *f, const struct bwg_fold *b,
		      uint64_t dp, uint64_t db, uint64_t dp0, uint64_t db0, uint64_t dd,
		      uint64_t ddb);

/*
 * Move what f counted since its last fold into the class, unit and app counters its
 * fold record names. The packet being decided stays in the flow: it counts toward what
 * the decision makes of the flow. A flow of the epoch a publication is folding (it was
 * counted before the publication began and not since) goes into the publication too.
 */
static void
flow_fold(struct bwg_worker *w, struct bwg_flow *f)
{
	if (!(f->life & BWG_FLOW_UNFOLDED))
		return;
	struct bwg_fold *b = &w->fold[bwg_flow_index(&w->flows, f)];
	uint64_t pkts = f->pkts[0] + f->pkts[1], bytes = f->bytes[0] + f->bytes[1];
	uint64_t pkts0 = f->pkts[0], bytes0 = f->bytes[0];
	bool deciding = f == w->deciding;
	if (deciding) {
		pkts--;
		bytes -= w->deciding_len;
		if (w->deciding_dir == 0) {
			pkts0--;
			bytes0 -= w->deciding_len;
		}
	}
	uint64_t dp = pkts - b->pkts, db = bytes - b->bytes, dd = f->dropped_pkts - b->dropped;
	uint64_t ddb = b->dropped_bytes;
	struct bwg_stats *to[2] = {&w->stats, NULL};
	if ((f->life & BWG_FLOW_FOLD_EPOCH) != (w->fold_mark & BWG_FLOW_FOLD_EPOCH))
		to[1] = w->pub;
	for (int i = 0; i < 2 && to[i]; i++) {
		obj_add(&to[i]->classes[b->class_slot], dp, db, dd, ddb);
		obj_add(&to[i]->units[b->unit_slot], dp, db, dd, ddb);
		if (b->app != BWG_FOLD_NO_APP)
			obj_add(&to[i]->apps[b->app], dp, db, dd, ddb);
	}
	if (w->conf.user_pairs && dp)
		user_fold(w, f, b, dp, db, (uint32_t)((uint32_t)pkts0 - b->pkts_c2s),
			  bytes0 - b->bytes_c2s, dd, ddb);
	b->dropped_bytes = 0;
	b->pkts = pkts;
	b->bytes = bytes;
	b->pkts_c2s = (uint32_t)pkts0;
	b->bytes_c2s = bytes0;
	b->dropped = f->dropped_pkts;
	if (!deciding)
		f->life &= (uint8_t)~BWG_FLOW_UNFOLDED;
}

/* ---- per-user deltas -------------------------------------------------------------------- */

/* The table a fold of f goes to: the one a publication closes for a flow of the epoch it
 * closes, else the one being filled. */
static inline struct bwg_user_deltas *
user_table(struct bwg_worker *w, const struct bwg_flow *f)
{
	if (w->users_closing >= 0 &&
	    (f->life & BWG_FLOW_FOLD_EPOCH) != (w->fold_mark & BWG_FLOW_FOLD_EPOCH))
		return &w->users[w->users_closing];
	return &w->users[w->users_cur];
}

/* f's user: its inside end's (family, address), under the class and unit it counts in. */
static struct bwg_user_delta *
user_delta(struct bwg_worker *w, const struct bwg_flow *f, struct bwg_user_deltas *t,
	   const struct bwg_fold *b)
{
	struct bwg_user_delta *e =
	    bwg_user_deltas_get(t, f->family, f->addr[b->inside], b->class_slot, b->unit_slot);
	if (!e)
		w->stats.cnt[BWG_CNT_USER_DELTAS_LOST]++;
	return e;
}

/*
 * What flow_fold moved into the class, unit and app counters, into the user's delta as
 * well: dp packets, db bytes, of which dp0 and db0 the client's; dd dropped packets, ddb
 * dropped bytes. Once per flow fold, never per packet.
 */
static __attribute__((noinline)) void
user_fold(struct bwg_worker *w, const struct bwg_flow *f, const struct bwg_fold *b,
	  uint64_t dp, uint64_t db, uint64_t dp0, uint64_t db0, uint64_t dd, uint64_t ddb)
{
	struct bwg_user_delta *e = user_delta(w, f, user_table(w, f), b);
	if (!e)
		return;
	/* [0] is up, what the user sent: the client's share when the user is the client. */
	e->pkts[b->inside] += dp0;
	e->pkts[!b->inside] += dp - dp0;
	e->bytes[b->inside] += db0;
	e->bytes[!b->inside] += db - db0;
	e->dropped_pkts += dd;
	e->dropped_bytes += ddb;
	e->last_ns = w->clock_ns;
}

/*
 * f is counted a packet in an epoch it was not counted in yet: fold what it counted in
 * the old one first (that belongs to the publication being made), then mark it.
 */
static __attribute__((noinline)) void
flow_touch(struct bwg_worker *w, struct bwg_flow *f)
{
	flow_fold(w, f);
	f->life = (uint8_t)((f->life & ~(BWG_FLOW_UNFOLDED | BWG_FLOW_FOLD_EPOCH)) | w->fold_mark);
}

/* What f counts toward changed (or was just decided): fold what it counted toward
 * before, then count toward the new class, unit and app. */
static void
flow_attr_sync(struct bwg_worker *w, struct bwg_flow *f)
{
	const struct bwg_policy *p = w->policy;
	struct bwg_fold *b = &w->fold[bwg_flow_index(&w->flows, f)];
	uint16_t app = f->app ? f->app : f->app_master;
	if (app >= w->stats.app_count)
		app = BWG_FOLD_NO_APP;
	uint16_t cs = p->class_slot[f->cls], us = p->unit_slot[f->unit];
	if (b->class_slot == cs && b->unit_slot == us && b->app == app)
		return;
	flow_fold(w, f);
	b->class_slot = cs;
	b->unit_slot = us;
	b->app = app;
}

bool
bwg_worker_publish_step(struct bwg_worker *w, struct bwg_stats *pub, uint32_t budget)
{
	if (!w->pub) {
		/* The counters now, then a new epoch: every flow counted before this point
		 * and not folded since is of the old one, and owes the publication. */
		struct bwg_obj_stats *apps = pub->apps;
		memcpy(pub, &w->stats, sizeof(*pub));
		pub->apps = apps;
		memcpy(apps, w->stats.apps, w->stats.app_count * sizeof(*apps));
		w->fold_mark ^= BWG_FLOW_FOLD_EPOCH;
		w->pub = pub;
		w->pub_cursor = 0;
		w->pub_end = w->flows.high_water;
		/* The users' deltas so far close with this publication, unless the control
		 * thread still holds the last ones: then they wait for the next. */
		if (w->conf.user_pairs &&
		    !atomic_load_explicit(&w->users_full, memory_order_acquire)) {
			w->users_closing = (int8_t)w->users_cur;
			w->users_cur ^= 1;
			bwg_user_deltas_clear(&w->users[w->users_cur]);
		}
	}
	const uint8_t old = (uint8_t)(w->fold_mark ^ BWG_FLOW_FOLD_EPOCH);
	const uint8_t mask = BWG_FLOW_UNFOLDED | BWG_FLOW_FOLD_EPOCH;
	uint32_t end = w->pub_end - w->pub_cursor > budget ? w->pub_cursor + budget : w->pub_end;
	for (uint32_t i = w->pub_cursor; i < end; i++) {
		struct bwg_flow *f = &w->flows.flows[i];
		if ((f->life & mask) == old && f->state != BWG_FLOW_FREE)
			flow_fold(w, f);
	}
	w->pub_cursor = end;
	if (end < w->pub_end)
		return false;
	w->pub = NULL;
	if (w->users_closing >= 0) {
		atomic_store_explicit(&w->users_full, (uint8_t)(w->users_closing + 1),
				      memory_order_release);
		w->users_closing = -1;
	}
	return true;
}

void
bwg_worker_fold_all(struct bwg_worker *w)
{
	if (w->pub)
		bwg_worker_publish_step(w, w->pub, UINT32_MAX);
	for (uint32_t i = 0; i < w->flows.high_water; i++)
		if (w->flows.flows[i].state != BWG_FLOW_FREE)
			flow_fold(w, &w->flows.flows[i]);
}

/* ---- decisions ------------------------------------------------------------------------ */

static void
meter_release(struct bwg_worker *w, struct bwg_flow *f)
{
	if (f->meter_id != BWG_FLOW_NONE && f->meter_id > BWG_RULE_MAX)
		bwg_meter_table_put(w->meters, f->meter_id - (BWG_RULE_MAX + 1));
	f->meter_id = BWG_FLOW_NONE;
}

/* Charge f's frame of `len` bytes going `dir` (each direction is policed to the rate on
 * its own) to its bucket pair: its user's (per_host), else its rule's. Every worker
 * charges the same pairs, so a limit holds whatever the spread of flows over workers. */
static inline int
meter_take(struct bwg_worker *w, const struct bwg_flow *f, int dir, uint32_t len)
{
	struct bwg_meter_shared *m =
		f->meter_id <= BWG_RULE_MAX
			? &w->policy->rule_meters[f->meter_id].m
			: &bwg_meter_table_at(w->meters, f->meter_id - (BWG_RULE_MAX + 1))->m;
	return bwg_meter_shared_take(m, dir, w->clock_ns, len);
}

/* The user's bucket pair of f's rule, keyed by the policy's version (a new policy starts
 * its users' buckets full), or BWG_METER_NONE (table full, counted). */
static uint32_t
user_meter_get(struct bwg_worker *w, const struct bwg_flow *f, const struct bwg_conf_rule *r,
	       int user, bool *created)
{
	struct bwg_meter_key k = {.version = w->policy->version, .rule = f->rule,
				  .family = f->family};
	memcpy(k.addr, f->addr[user], 16);
	uint32_t id = bwg_meter_table_get(w->meters, &k, r->rate_bps, r->burst_bytes, created);
	if (id == BWG_METER_NONE)
		w->stats.cnt[BWG_CNT_METER_TABLE_FULL]++;
	return id;
}

/* Bind f to the token bucket of its limit rule: its client's (per_host), else the
 * rule's (aggregate, and a client that found no room). */
static void
meter_bind(struct bwg_worker *w, struct bwg_flow *f, const struct bwg_conf_rule *r)
{
	f->meter_id = f->rule;
	if (r->scope == BWG_SCOPE_PER_HOST) {
		bool created;
		uint32_t id = user_meter_get(w, f, r, 0, &created);
		if (id != BWG_METER_NONE)
			f->meter_id = id + BWG_RULE_MAX + 1;
	}
}

static int inside_side(const struct bwg_worker *w, const struct bwg_flow *f, bool *either);

/*
 * Bind f to its user's entry of its quota rule: the user is the flow's inside end (its
 * client when the units do not tell), the key of the per-host buckets too. No entry
 * (tables full, counted): the flow is held to the rule's action alone.
 */
static void
host_rule_bind(struct bwg_worker *w, struct bwg_flow *f, const struct bwg_conf_rule *r)
{
	bool either, fresh;
	int in = inside_side(w, f, &either);
	uint32_t id = user_meter_get(w, f, r, in, &fresh);
	f->meter_id = f->rule; /* rule_packet: no user entry */
	if (id == BWG_METER_NONE)
		return;
	f->meter_id = id + BWG_RULE_MAX + 1;
	/*
	 * Only a flow its user began gives the user an entry of the shared table, never
	 * freed while the gate runs: an outsider's flows toward every inside address would
	 * fill it. A flow toward the user counts toward an entry the user already has.
	 */
	struct bwg_meter_slot *h = bwg_meter_table_at(w->meters, id);
	if (w->conf.quotas && !atomic_load_explicit(&h->data, memory_order_relaxed) &&
	    (fresh || in == 0)) {
		uint64_t rule_id = bwg_quota_rule_id(r->name);
		struct bwg_quota *q =
			in == 0 ? bwg_quotas_get(w->conf.quotas, rule_id, f->family, f->addr[in],
						 bwg_quota_period_start(r->quota_period, w->today))
				: bwg_quotas_find(w->conf.quotas, rule_id, f->family, f->addr[in]);
		if (!q && in == 0) /* the shared table is full */
			w->stats.cnt[BWG_CNT_METER_TABLE_FULL]++;
		/* Any worker that finds the entry finds the same one. */
		if (q)
			atomic_store_explicit(&h->data, q, memory_order_relaxed);
	}
}

/* (Re)compute f's rule and action from its class, unit, app and host. */
static void
decide(struct bwg_worker *w, struct bwg_flow *f)
{
	const struct bwg_policy *p = w->policy;
	uint16_t rule = bwg_policy_match(p, f->cls, f->unit, f->app_master, f->app,
					 flow_host(w, f), w->sched_mask);
	const struct bwg_rule *r = &p->rules[rule];
	meter_release(w, f);
	if (rule != f->rule)
		w->fold[bwg_flow_index(&w->flows, f)].rule_counted = false;
	f->rule = rule;
	f->decision_gen = w->gen;
	/* A monitor rule's flow, or a quota rule's, asks its rule about each packet
	 * (rule_packet): what it would do, where its user stands. */
	bool per_user = r->conf->has_quota || r->conf->has_penalty;
	f->action = (uint8_t)(r->conf->monitor || per_user ? BWG_ACTION_RULE : r->action);
	if (per_user)
		host_rule_bind(w, f, r->conf);
	else if (r->action == BWG_ACTION_LIMIT)
		meter_bind(w, f, r->conf);
	if (r->log)
		f->flags |= BWG_FLOW_LOGGED;
	if (r->action != BWG_ACTION_ALLOW && !(f->flags & BWG_FLOW_EVENT_SENT)) {
		f->flags |= BWG_FLOW_EVENT_SENT;
		emit(w, f, r->action == BWG_ACTION_BLOCK ? BWG_EVENT_BLOCK : BWG_EVENT_LIMIT,
		     BWG_END_NONE);
	}
}

/*
 * Name the flow: its own name (nDPI's) replaces a name learned from DNS; a learned one is
 * taken only by a flow that has none. Kept printable ASCII: records quote it.
 */
static void
host_set(struct bwg_worker *w, struct bwg_flow *f, const char *host, bool learned)
{
	if (!host || !*host)
		return;
	if (f->host_id != BWG_FLOW_NONE) {
		if (learned || !(f->flags & BWG_FLOW_HOST_LEARNED))
			return;
		bwg_intern_put(&w->hosts, f->host_id);
		f->host_id = BWG_FLOW_NONE;
		f->flags &= (uint8_t)~BWG_FLOW_HOST_LEARNED;
	}
	char key[BWG_DPI_HOST_MAX] = {0};
	for (size_t i = 0; i < sizeof(key) - 1 && host[i]; i++) {
		unsigned char ch = (unsigned char)host[i];
		key[i] = (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\') ? '?' : (char)ch;
	}
	int created;
	uint32_t id = bwg_intern_get(&w->hosts, key, &created);
	if (id == BWG_INTERN_NONE) {
		w->stats.cnt[BWG_CNT_HOST_TABLE_FULL]++;
		return;
	}
	f->host_id = id;
	if (learned)
		f->flags |= BWG_FLOW_HOST_LEARNED;
}

/* The inside end of f (0: client, 1: server), as bwg_policy_inside() says. */
static int
inside_side(const struct bwg_worker *w, const struct bwg_flow *f, bool *either)
{
	return bwg_policy_inside(w->policy, f->family, f->addr[0], f->addr[1], either);
}

static inline bool
flow_nameless(const struct bwg_flow *f)
{
	return (f->flags & BWG_FLOW_GUESSED) || (f->app == 0 && f->app_master == 0);
}

/*
 * Whether a DNS answer named the address at f's end `side`. A P2P peer's address comes
 * from a tracker, the DHT or another peer, never from DNS; the flow itself takes the name
 * only later (name_learnable), but what behaviour weighs is that there is one.
 */
static bool
end_resolved(const struct bwg_worker *w, const struct bwg_flow *f, int side)
{
	char name[BWG_DPI_HOST_MAX];
	return w->conf.names && bwg_dnsnames_lookup(w->conf.names, f->family, f->addr[side],
						    w->clock_ns, name, sizeof(name));
}

/*
 * Whether host behaviour may class f: it was judged (its own report is in), it has no
 * name (own, learned, or learnable: its peer's address resolved) and no app nDPI
 * recognised, and its inside host is tagged. Costs one atomic read while no host
 * anywhere is tagged.
 */
static bool
flow_p2p_host(const struct bwg_worker *w, const struct bwg_flow *f)
{
	const struct bwg_behaviour *b = w->conf.behaviour;
	if (!b || !(f->life & BWG_FLOW_BEH_JUDGED) || f->host_id != BWG_FLOW_NONE ||
	    !flow_nameless(f) || !bwg_behaviour_any(b, w->clock_ns) ||
	    w->policy->classes.by_detector[bwg_detector_behaviour_id()] == BWG_CLASS_NONE)
		return false;
	bool either;
	int in = inside_side(w, f, &either);
	if (!bwg_behaviour_tagged(b, f->family, f->addr[in], w->clock_ns)) {
		if (!either || !bwg_behaviour_tagged(b, f->family, f->addr[in ^ 1], w->clock_ns))
			return false;
		in ^= 1;
	}
	return !end_resolved(w, f, in ^ 1);
}

/*
 * A name learned from DNS is for a flow with no name of its own, so a flow takes one only
 * once it has had its chance to show its own: detection is over (`settled`, or it never
 * ran), nDPI has seen its first datagram (a QUIC ClientHello it cannot read, a bare UDP
 * payload), or nDPI has named a TCP flow's application without a host (the SNI or Host
 * comes with the first data, which may span segments). Taken at the SYN, the name last
 * resolved to a CDN address several sites share would block a connection before it
 * could say where it goes.
 */
static bool
name_learnable(const struct bwg_flow *f, bool settled)
{
	if (settled)
		return true;
	if (f->proto != 6)
		return f->dpi_pkts > 0;
	return (f->app || f->app_master) && !(f->flags & BWG_FLOW_GUESSED);
}

static inline bool flow_class_strong(const struct bwg_flow *f);

/*
 * The class f's inside UDP socket passed on (another of its flows was strongly classed
 * into a class with socket_affinity), or BWG_CLASS_NONE. The socket is the inside end's
 * address and port (the client's when the units do not tell).
 */
static uint8_t
socket_class(const struct bwg_worker *w, const struct bwg_flow *f)
{
	char name[BWG_NAME_MAX + 1];
	bool either;
	int in = inside_side(w, f, &either);
	if (!bwg_dnsnames_socket_get(w->conf.names, f->family, f->addr[in], f->port[in],
				     w->clock_ns, name, sizeof(name)))
		return BWG_CLASS_NONE;
	const struct bwg_classes *c = &w->policy->classes;
	for (uint32_t k = 1; k < c->n; k++)
		if (c->socket_affinity[k] && strcmp(c->names[k], name) == 0)
			return (uint8_t)k;
	return BWG_CLASS_NONE;
}

/* f's class from everything known of it now (lib/classify decides); `settled`: nDPI
 * will say no more of it. */
static void
class_decide(struct bwg_worker *w, struct bwg_flow *f, bool settled)
{
	/* The name a DNS answer gave the server; or the one the client's other flow to it
	 * gave, when there was no answer, or the answer's name (a CDN's, say) is in no list
	 * and the other flow's is. */
	bool from_flow = false;
	if (f->host_id == BWG_FLOW_NONE && w->conf.names && name_learnable(f, settled)) {
		char name[BWG_DPI_HOST_MAX], taught[BWG_DPI_HOST_MAX];
		bool dns = bwg_dnsnames_lookup(w->conf.names, f->family, f->addr[1], w->clock_ns,
					       name, sizeof(name));
		if ((!dns || !bwg_hostset_lookup(&w->policy->classes.hosts, name)) &&
		    bwg_dnsnames_taught(w->conf.names, f->family, f->addr[0], f->addr[1],
					w->clock_ns, taught, sizeof(taught)) &&
		    (!dns || bwg_hostset_lookup(&w->policy->classes.hosts, taught))) {
			host_set(w, f, taught, true);
			from_flow = true;
		} else if (dns) {
			host_set(w, f, name, true);
		}
	}
	struct bwg_class_evidence e;
	flow_evidence(w, f, &e);
	e.learned_from_flow |= from_flow && e.learned;
	e.p2p_host = flow_p2p_host(w, f);
	/* A class its socket gave it stays its own for its life (flow_evidence), though the
	 * socket's entry expires. */
	bool had_socket = e.socket_cls != BWG_CLASS_NONE;
	struct bwg_class_decision d;
	bwg_classes_decide(&w->policy->classes, &e, &d);
	f->cls = d.cls;
	f->cls_src = d.source;
	/* Only a UDP flow nothing strong classed asks its socket, once nDPI has seen it. */
	if (!had_socket && f->proto == 17 && w->conf.names && (f->dpi_pkts > 0 || settled) &&
	    !flow_class_strong(f) && (e.socket_cls = socket_class(w, f)) != BWG_CLASS_NONE) {
		bwg_classes_decide(&w->policy->classes, &e, &d);
		f->cls = d.cls;
		f->cls_src = d.source;
	}
	flow_attr_sync(w, f);
}

/*
 * What f teaches the names cache: its own server name, when nDPI has just read it
 * (`named`) from a TLS, QUIC or DTLS handshake or an HTTP request (a DNS query's name, a
 * DHCP client's, say nothing of the server), for the client's other flows to that
 * server; and, while a UDP flow is strongly classed into a class with socket_affinity,
 * that class for its inside socket's next flows (a DNS query's socket, classed by the
 * name it asks for, teaches nothing). The cache writes only what it does not hold.
 */
static void
flow_teach(struct bwg_worker *w, struct bwg_flow *f, bool named)
{
	struct bwg_dnsnames *n = w->conf.names;
	if (!n)
		return;
	if (named && f->host_id != BWG_FLOW_NONE &&
	    !(f->flags & (BWG_FLOW_HOST_LEARNED | BWG_FLOW_DNS))) {
		for (int i = 0; i < 4; i++) {
			if (f->app_master != w->name_apps[i] && f->app != w->name_apps[i])
				continue;
			bwg_dnsnames_teach(n, f->family, f->addr[0], f->addr[1], flow_host(w, f),
					   w->clock_ns, &w->stats.dns);
			break;
		}
	}
	const struct bwg_classes *c = &w->policy->classes;
	/* Only on the flow's own packet: a flow ended by the aging sweep is gone from its
	 * socket and renews nothing. Only a flow the inside socket began: one an outsider
	 * began toward it (chosen to be strongly classed) would class that socket's flows,
	 * an inside UDP service's answers to everyone, as the outsider liked. */
	bool either;
	if (f->proto == 17 && !(f->flags & BWG_FLOW_DNS) && f->last_ts >= w->clock_ns &&
	    f->cls < c->n && c->socket_affinity[f->cls] && flow_class_strong(f) &&
	    inside_side(w, f, &either) == 0)
		bwg_dnsnames_socket_put(n, f->family, f->addr[0], f->port[0], c->names[f->cls],
					w->clock_ns, &w->stats.dns);
}

/*
 * f's class comes from evidence about the flow itself: lists, a DNS name, an app nDPI
 * recognised, or a payload detector that recognised what the payload holds (a weak one,
 * which only saw what it lacks, does not count).
 */
static inline bool
flow_class_strong(const struct bwg_flow *f)
{
	const struct bwg_detector *d;
	return f->cls_src == BWG_SRC_HOST_LIST || f->cls_src == BWG_SRC_DNS ||
	       f->cls_src == BWG_SRC_FLOW_NAME ||
	       ((f->cls_src == BWG_SRC_NDPI_APP || f->cls_src == BWG_SRC_NDPI_CATEGORY) &&
		!flow_nameless(f)) ||
	       (f->cls_src == BWG_SRC_HEURISTIC && (d = bwg_detector(f->det)) && !d->weak);
}

/*
 * Tell host behaviour, once, what kind of flow f is, as soon as that is known: when
 * something recognises it (a P2P flow, by nDPI, the lists or bwgate's own P2P detectors,
 * tags its host at once; any other never counts), else when both ends have
 * sent payload and nDPI still names nothing (waiting for a reply keeps a ClientHello
 * split over two segments from being judged half-read), else when nDPI gives up or the
 * flow ends. Only flows under inspection are judged: one nDPI never saw says nothing.
 * Then its own host's tag may class it (`settled` as for class_decide).
 */
static void
behaviour_judge(struct bwg_worker *w, struct bwg_flow *f, bool settled)
{
	f->life |= BWG_FLOW_BEH_JUDGED;
	const struct bwg_classes *c = &w->policy->classes;
	bool nameless = flow_nameless(f), strong = flow_class_strong(f);
	bool either;
	int in = inside_side(w, f, &either);
	bool recognised = strong || !nameless, named = f->host_id != BWG_FLOW_NONE;
	if (!named && !recognised)
		named = end_resolved(w, f, in ^ 1);
	struct bwg_behaviour_flow bf = {
		.family = f->family,
		.host = f->addr[in],
		.peer = f->addr[in ^ 1],
		.host_port = f->port[in],
		.peer_port = f->port[in ^ 1],
		.proto = f->proto,
		.host_client = in == 0,
		.named = named,
		.recognised = recognised,
		.p2p = strong && f->cls == c->by_detector[bwg_detector_behaviour_id()],
	};
	bwg_behaviour_flow(w->conf.behaviour, &bf, w->clock_ns, &w->stats.behaviour);
	if (flow_p2p_host(w, f))
		class_decide(w, f, settled);
}

/* Whether f is to be judged now (see behaviour_judge); its class is decided. */
static inline bool
behaviour_due(const struct bwg_worker *w, const struct bwg_flow *f, bool final)
{
	const uint8_t both = BWG_FLOW_BEH_DATA_C2S | BWG_FLOW_BEH_DATA_S2C;
	return w->conf.behaviour && !(f->life & BWG_FLOW_BEH_JUDGED) &&
	       (final || (f->life & both) == both || !flow_nameless(f) || flow_class_strong(f));
}

/*
 * A judged flow whose host's tag may have begun or ended since its class was decided:
 * decide again (from the aging sweep, and as it ends). Cheap for every other flow.
 */
static void
behaviour_recheck(struct bwg_flow *f, void *ctx)
{
	struct bwg_worker *w = ctx;
	if (!w->conf.behaviour || !(f->life & BWG_FLOW_BEH_JUDGED) ||
	    f->state == BWG_FLOW_UNINSPECTED || f->decision_gen != w->gen)
		return;
	bool was = f->cls_src == BWG_SRC_BEHAVIOUR;
	if (!was && (f->host_id != BWG_FLOW_NONE || !flow_nameless(f) || flow_class_strong(f) ||
		     !bwg_behaviour_any(w->conf.behaviour, w->clock_ns)))
		return;
	if (was == flow_p2p_host(w, f))
		return;
	class_decide(w, f, f->state != BWG_FLOW_DETECTING);
	decide(w, f);
}

/* Classification is over for f (nDPI done, or never to start): count it once. */
static void
flow_classified(struct bwg_worker *w, struct bwg_flow *f)
{
	struct bwg_stats *s = &w->stats;
	uint16_t app = f->app ? f->app : f->app_master;
	s->classes[w->policy->class_slot[f->cls]].flows++;
	if (app < s->app_count)
		s->apps[app].flows++;
	s->class_sources[f->cls_src < BWG_SRC_MAX ? f->cls_src : BWG_SRC_DEFAULT]++;
}

/* Take nDPI's current answer and the detectors' (`det`); `final` when detection is over. */
static void
classify(struct bwg_worker *w, struct bwg_flow *f, const struct bwg_dpi_result *r, uint8_t det,
	 bool final)
{
	char cbuf[BWG_DPI_HOST_MAX];
	bool service = r->master && r->app && r->app != r->master; /* TLS.Facebook, not TLS */
	const char *own = r->host && *r->host ? r->host
					      : bwg_classes_cert_name(&w->policy->classes,
								      r->cert_names, r->cert_subject,
								      !service, cbuf, sizeof(cbuf));
	bool own_new = own && (f->host_id == BWG_FLOW_NONE || (f->flags & BWG_FLOW_HOST_LEARNED));
	bool guessed = r->guessed;
	/* nDPI's first look at a datagram flow may leave its answer as it was, but makes a
	 * learned name usable (name_learnable). */
	bool first_datagram = f->dpi_pkts == 1 && f->proto != 6 && w->conf.names;
	bool changed = r->master != f->app_master || r->app != f->app ||
		       r->category != f->category || own_new || det != f->det ||
		       guessed != !!(f->flags & BWG_FLOW_GUESSED) || first_datagram;
	if (!changed && !final && !behaviour_due(w, f, false))
		return;
	f->app_master = r->master;
	f->app = r->app;
	f->category = r->category;
	f->det = det;
	f->flags = (uint8_t)(guessed ? f->flags | BWG_FLOW_GUESSED : f->flags & ~BWG_FLOW_GUESSED);
	host_set(w, f, own, false);
	class_decide(w, f, final);
	flow_teach(w, f, own_new && f->host_id != BWG_FLOW_NONE &&
			       !(f->flags & BWG_FLOW_HOST_LEARNED));
	if (behaviour_due(w, f, final))
		behaviour_judge(w, f, final);
	if (final)
		flow_classified(w, f);
	decide(w, f);
}

/*
 * The policy or the active schedules changed since f's decision: its unit and class
 * may mean something else now (units and classes are numbered per policy), so both are
 * looked up again before the rule.
 */
static void
reevaluate(struct bwg_worker *w, struct bwg_flow *f)
{
	f->unit = bwg_policy_unit(w->policy, f->family, f->addr[0], f->addr[1]);
	class_decide(w, f, f->state != BWG_FLOW_DETECTING);
	decide(w, f);
}

static void
dpi_finish(struct bwg_worker *w, struct bwg_flow *f)
{
	bwg_dpi_slot_put(w->dpi, f->dpi_slot);
	f->dpi_slot = BWG_FLOW_NONE;
	f->state = BWG_FLOW_CLASSIFIED;
}

/* ---- per-host flow caps ------------------------------------------------------------ */

static inline void
host_key_make(struct host_key *k, uint8_t family, const uint8_t *addr)
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	memcpy(k->addr, addr, 16);
}

/*
 * The cap on the flows p's client may have open on this worker: its share of its unit's
 * cap (or flows.per_host_max), since RSS spreads a client's flows over the workers and no
 * worker writes another's memory. 0: no cap.
 */
static inline uint32_t
host_flows_cap(const struct bwg_worker *w, const struct bwg_pkt *p)
{
	const struct bwg_policy *pol = w->policy;
	if (!pol->host_flows_capped)
		return 0;
	uint32_t cap = pol->host_flows_max[bwg_policy_unit(pol, p->family, p->addr[0],
							   p->addr[0])];
	return (cap + w->conf.workers - 1) / w->conf.workers;
}

/* Whether p's client already has `cap` flows open here. */
static bool
host_flows_full(const struct bwg_worker *w, const struct bwg_pkt *p, uint32_t cap)
{
	struct host_key k;
	host_key_make(&k, p->family, p->addr[0]);
	uint32_t id = bwg_intern_find(&w->host_flows, &k);
	return id != BWG_INTERN_NONE && bwg_intern_refs(&w->host_flows, id) >= cap;
}

/* Count one more flow of p's client. The table has as many entries as the flow table
 * has records, and every entry is held by a live flow: with a record free for this
 * flow there is always room. */
static void
host_flows_take(struct bwg_worker *w, const struct bwg_pkt *p)
{
	struct host_key k;
	host_key_make(&k, p->family, p->addr[0]);
	int created;
	(void)bwg_intern_get(&w->host_flows, &k, &created);
}

static void
host_flows_put(struct bwg_worker *w, uint8_t family, const uint8_t *addr)
{
	struct host_key k;
	host_key_make(&k, family, addr);
	uint32_t id = bwg_intern_find(&w->host_flows, &k);
	if (id != BWG_INTERN_NONE)
		bwg_intern_put(&w->host_flows, id);
}

/* ---- flow life ----------------------------------------------------------------------- */

static void flow_end(struct bwg_flow *f, void *ctx);

/*
 * The detection pool is empty: end the unestablished flow that has been idle longest
 * among the next few holding a state (a half-open connection or an unanswered datagram
 * a flood may have sent), so that `f` can be inspected. Returns true when one was ended.
 */
static bool
dpi_reclaim(struct bwg_worker *w, const struct bwg_flow *f)
{
	uint32_t pool = bwg_dpi_pool_size(w->dpi);
	struct bwg_flow *best = NULL;
	for (uint32_t k = 0; k < BWG_EVICT_PROBES && pool > 0; k++) {
		uint32_t slot = w->slot_cursor++ % pool;
		struct bwg_flow *o = &w->flows.flows[w->slot_flow[slot]];
		if (o == f || o->state != BWG_FLOW_DETECTING || o->dpi_slot != slot ||
		    bwg_flow_established(o))
			continue;
		if (!best || o->last_ts < best->last_ts)
			best = o;
	}
	if (!best)
		return false;
	w->stats.cnt[BWG_CNT_DPI_STATES_RECLAIMED]++;
	w->end_cause = BWG_END_RESOURCES;
	flow_end(best, w);
	w->end_cause = BWG_END_NONE;
	return true;
}

/* A new flow; `syn`: the TCP flags of its first packet. */
static void
flow_start(struct bwg_worker *w, struct bwg_flow *f, uint64_t ts, uint8_t syn)
{
	const struct bwg_policy *p = w->policy;
	f->first_ts = f->last_ts = ts;
	f->unit = bwg_policy_unit(p, f->family, f->addr[0], f->addr[1]);
	if ((f->proto == 17 || f->proto == 6) && (f->port[0] == 53 || f->port[1] == 53))
		f->flags |= BWG_FLOW_DNS;
	w->stats.units[p->unit_slot[f->unit]].flows++;
	w->stats.cnt[BWG_CNT_FLOWS_CREATED]++;
	/* Nothing counted yet; class_decide below names what the flow counts toward. */
	struct bwg_fold *b = &w->fold[bwg_flow_index(&w->flows, f)];
	*b = (struct bwg_fold){.app = BWG_FOLD_NO_APP};
	if (w->conf.user_pairs)
		b->inside = (uint8_t)inside_side(w, f, NULL);
	f->dpi_slot = bwg_dpi_slot_get(w->dpi);
	if (f->dpi_slot == BWG_DPI_NO_SLOT && dpi_reclaim(w, f))
		f->dpi_slot = bwg_dpi_slot_get(w->dpi);
	/* Before nDPI says anything, the flow's addresses (lists, and names learned from DNS
	 * for a flow nDPI will never see) may already tell its class. */
	f->flags |= BWG_FLOW_GUESSED;
	class_decide(w, f, f->dpi_slot == BWG_DPI_NO_SLOT);
	flow_teach(w, f, false);
	if (f->dpi_slot == BWG_DPI_NO_SLOT) {
		f->dpi_slot = BWG_FLOW_NONE;
		f->state = BWG_FLOW_UNINSPECTED;
		w->stats.cnt[BWG_CNT_DPI_POOL_EXHAUSTED]++;
		flow_classified(w, f);
	} else {
		f->state = BWG_FLOW_DETECTING;
		w->slot_flow[f->dpi_slot] = bwg_flow_index(&w->flows, f);
		memset(&w->det[f->dpi_slot], 0, sizeof(w->det[0]));
		w->det[f->dpi_slot].opened = f->proto == 6 && (syn & BWG_TCP_SYN) &&
					     !(syn & BWG_TCP_ACK);
	}
	decide(w, f);
	struct bwg_user_delta *e;
	if (w->conf.user_pairs && (e = user_delta(w, f, &w->users[w->users_cur], b)))
		e->flows++;
}

/* A flow's life is over: settle its classification, report it, free what it holds. */
static void
flow_end(struct bwg_flow *f, void *ctx)
{
	struct bwg_worker *w = ctx;
	flow_fold(w, f); /* its packets count toward what it was when they passed */
	if (f->state == BWG_FLOW_DETECTING) {
		struct bwg_dpi_result r;
		bwg_dpi_giveup(w->dpi, f->dpi_slot, &r);
		classify(w, f, &r, f->det, true);
		dpi_finish(w, f);
	} else if (f->decision_gen != w->gen) {
		reevaluate(w, f);
	} else {
		behaviour_recheck(f, w); /* the record says what the host's tag made of it */
	}
	uint8_t why = w->end_cause;
	if (why == BWG_END_NONE) /* the aging sweep: a closed TCP flow has its own timeout */
		why = (f->flags & BWG_FLOW_RST) ||
				      (f->flags & (BWG_FLOW_FIN_C2S | BWG_FLOW_FIN_S2C)) ==
					      (BWG_FLOW_FIN_C2S | BWG_FLOW_FIN_S2C)
			      ? BWG_END_OF_FLOW
			      : BWG_END_IDLE;
	if (w->conf.export_flows)
		emit(w, f, BWG_EVENT_FLOW, why);
	if (f->flags & BWG_FLOW_LOGGED)
		emit(w, f, BWG_EVENT_FLOW_END, why);
	if (w->exported)
		memset(&w->exported[bwg_flow_index(&w->flows, f)], 0, sizeof(*w->exported));
	meter_release(w, f);
	if (f->host_id != BWG_FLOW_NONE)
		bwg_intern_put(&w->hosts, f->host_id);
	if (f->life & BWG_FLOW_HOST_COUNTED)
		host_flows_put(w, f->family, f->addr[0]);
	w->stats.cnt[BWG_CNT_FLOWS_EXPIRED]++;
	bwg_flow_remove(&w->flows, f);
}

/* ---- fragments ------------------------------------------------------------------------ */

static inline uint32_t
frag_slot(const struct bwg_pkt *p)
{
	/* Keyed: fragments are the sender's to choose. */
	uint64_t a[4];
	memcpy(a, p->addr, sizeof(a));
	uint64_t h = bwg_siphash13_5w(&bwg_hash_secret, a[0], a[1], a[2], a[3],
				      (uint64_t)p->frag_id << 8 | p->proto);
	return (uint32_t)h & (BWG_FRAG_SLOTS - 1);
}

static inline struct bwg_frag_host *
frag_host_slot(struct bwg_worker *w, uint8_t family, const uint8_t *addr)
{
	uint64_t a[2];
	memcpy(a, addr, sizeof(a));
	uint64_t m[3] = {a[0], a[1], family};
	return &w->frag_hosts[bwg_siphash13_words(&bwg_hash_secret, m, 3) &
			      (BWG_FRAG_HOST_SLOTS - 1)];
}

/* The live flow e names, if it still has e's address as an end; else NULL. */
static struct bwg_flow *
frag_host_flow(struct bwg_worker *w, const struct bwg_frag_host *e, uint8_t family,
	       const uint8_t *addr)
{
	if (e->flow == BWG_FLOW_NONE || e->family != family || memcmp(e->addr, addr, 16) != 0)
		return NULL;
	struct bwg_flow *f = &w->flows.flows[e->flow];
	if (f->state == BWG_FLOW_FREE || f->family != family ||
	    (memcmp(f->addr[0], addr, 16) != 0 && memcmp(f->addr[1], addr, 16) != 0))
		return NULL;
	return f;
}

/* How strict an action is: a host's strictest fragmented flow judges its stray
 * fragments, so a permitted flow cannot launder a blocked one's. */
static const uint8_t action_rank[BWG_ACTION_MAX + 1] = {
	[BWG_ACTION_ALLOW] = 0,
	[BWG_ACTION_LIMIT] = 1,
	[BWG_ACTION_RULE] = 1,
	[BWG_ACTION_BLOCK] = 2,
};

static void
frag_host_remember(struct bwg_worker *w, uint8_t family, const uint8_t *addr,
		   const struct bwg_flow *f)
{
	struct bwg_frag_host *e = frag_host_slot(w, family, addr);
	const struct bwg_flow *old = frag_host_flow(w, e, family, addr);
	if (old && old != f && action_rank[old->action] > action_rank[f->action])
		return;
	e->flow = bwg_flow_index(&w->flows, f);
	e->family = family;
	memcpy(e->addr, addr, 16);
}

static void
frag_remember(struct bwg_worker *w, const struct bwg_pkt *p, const struct bwg_flow *f)
{
	struct bwg_frag_entry *e = &w->frags[frag_slot(p)];
	e->frag_id = p->frag_id;
	e->family = p->family;
	e->proto = p->proto;
	memcpy(e->addr, p->addr, sizeof(e->addr));
	e->flow = bwg_flow_index(&w->flows, f);
	frag_host_remember(w, p->family, p->addr[0], f);
	frag_host_remember(w, p->family, p->addr[1], f);
}

/* The flow of a later fragment, through the first fragment of its datagram. */
static struct bwg_flow *
frag_flow(struct bwg_worker *w, const struct bwg_pkt *p, int *dir)
{
	const struct bwg_frag_entry *e = &w->frags[frag_slot(p)];
	if (e->flow == BWG_FLOW_NONE || e->frag_id != p->frag_id || e->family != p->family ||
	    e->proto != p->proto || memcmp(e->addr, p->addr, sizeof(e->addr)) != 0)
		return NULL;
	struct bwg_flow *f = &w->flows.flows[e->flow];
	if (f->state == BWG_FLOW_FREE || f->proto != p->proto)
		return NULL;
	if (memcmp(f->addr[0], p->addr[0], 16) == 0 && memcmp(f->addr[1], p->addr[1], 16) == 0)
		*dir = 0;
	else if (memcmp(f->addr[0], p->addr[1], 16) == 0 && memcmp(f->addr[1], p->addr[0], 16) == 0)
		*dir = 1;
	else
		return NULL;
	return f;
}

/*
 * The flow a later fragment whose first has not been seen (it comes later, or went to
 * another worker) is judged by: the flow its sender, else its receiver, last had a
 * first fragment in, the strictest one kept. Reverse-order fragments of a datagram are
 * thus policed or blocked like the flow's earlier datagrams; only a host's very first
 * fragmented datagram can find nothing (packets.unmatched_fragments decides). Out of
 * line, like the other rare paths here, so that the established path keeps its registers.
 */
static __attribute__((noinline)) struct bwg_flow *
frag_host_match(struct bwg_worker *w, const struct bwg_pkt *p, int *dir)
{
	for (int side = 0; side < 2; side++) {
		struct bwg_frag_host *e = frag_host_slot(w, p->family, p->addr[side]);
		struct bwg_flow *f = frag_host_flow(w, e, p->family, p->addr[side]);
		if (f) {
			/* Toward f's server when sent by its client or to its server. */
			*dir = memcmp(f->addr[0], p->addr[0], 16) == 0 ||
					       memcmp(f->addr[1], p->addr[1], 16) == 0
				       ? 0
				       : 1;
			return f;
		}
	}
	return NULL;
}

/* ---- the burst ------------------------------------------------------------------------ */

/* The worker's clock never goes back; schedules are re-read when a minute passes. */
static inline void
clock_advance(struct bwg_worker *w, uint64_t ts)
{
	if (ts > w->clock_ns)
		w->clock_ns = ts;
	if (w->clock_ns >= w->sched_next_ns) {
		const struct bwg_policy *p = w->policy;
		int64_t t = (int64_t)(w->clock_ns / 1000000000ull);
		t += bwg_tz_offset(p->tz, p->n_tz, t);
		w->today = (int32_t)(t >= 0 ? t / 86400 : (t - 86399) / 86400);
		uint32_t mask = bwg_policy_schedules_active(w->policy, w->clock_ns,
							    &w->sched_next_ns);
		if (mask != w->sched_mask) {
			w->sched_mask = mask;
			w->gen++;
		}
	}
}

static inline uint8_t
drop(struct bwg_worker *w, enum bwg_drop why, uint32_t bytes)
{
	w->stats.drops[why]++;
	w->stats.cnt[BWG_CNT_DROPPED_PACKETS]++;
	w->stats.cnt[BWG_CNT_DROPPED_BYTES] += bytes;
	return (uint8_t)why;
}

/* Not a verdict: the frame goes on to its flow (frame_unusual). */
#define VERDICT_CONTINUE 0xfe
_Static_assert(BWG_DROP_MAX < BWG_VERDICT_RESET, "drop reasons fit below the reset bit");

/*
 * A packet p of no known flow: count it against its client's cap, take a record
 * (evicting the unestablished flow idle longest among a few when the table is full),
 * start the flow. NULL when it got none, with the packet's verdict in w->refused. Kept
 * out of line, and with no verdict to hand back through the caller's stack: either way
 * it would cost the established path registers.
 */
static __attribute__((noinline)) struct bwg_flow *
flow_new(struct bwg_worker *w, const struct bwg_pkt *p, uint32_t hash,
	 const struct bwg_frame *fr)
{
	uint8_t *v = &w->refused;
	const uint32_t len = fr->wire_len;
	/* The cap first: a client over it must not push other flows out either. */
	uint32_t cap = host_flows_cap(w, p);
	if (cap && host_flows_full(w, p, cap)) {
		*v = drop(w, BWG_DROP_HOST_FLOW_LIMIT, len);
		return NULL;
	}
	if (w->flows.active == w->flows.capacity) {
		struct bwg_flow *victim = bwg_flow_evict_candidate(&w->flows, BWG_EVICT_PROBES);
		if (victim) {
			w->stats.cnt[BWG_CNT_FLOWS_EVICTED]++;
			w->end_cause = BWG_END_RESOURCES;
			flow_end(victim, w);
			w->end_cause = BWG_END_NONE;
		}
	}
	struct bwg_flow *f = bwg_flow_insert(&w->flows, p, hash);
	if (!f) {
		w->stats.cnt[BWG_CNT_FLOW_TABLE_FULL]++;
		*v = w->full_drop ? drop(w, BWG_DROP_FLOW_TABLE_FULL, len) : BWG_VERDICT_FORWARD;
		return NULL;
	}
	if (cap) {
		host_flows_take(w, p);
		f->life |= BWG_FLOW_HOST_COUNTED;
	}
	flow_start(w, f, w->clock_ns, p->tcp_flags);
	return f;
}

/*
 * p's flow, when the NIC's hash of p did not find it: by the keyed hash, or a new flow.
 * Either way indexed under the NIC's hash from now on where there is room. NULL when
 * no flow could be made, with the packet's verdict in w->refused (see flow_new).
 */
static __attribute__((noinline)) struct bwg_flow *
flow_find_keyed(struct bwg_worker *w, const struct bwg_pkt *p, const struct bwg_frame *fr,
		int *dir)
{
	uint32_t hash = bwg_flow_hash(p);
	struct bwg_flow *f = bwg_flow_lookup(&w->flows, p, hash, dir);
	if (!f && !(f = flow_new(w, p, hash, fr)))
		return NULL;
	bwg_flow_nic_attach(&w->flows, f, fr->nic_hash);
	return f;
}

/* The user's quota entry of f (NULL: none, or the rule has no quota). */
static inline struct bwg_quota *
flow_quota(struct bwg_worker *w, const struct bwg_flow *f)
{
	if (f->meter_id == BWG_FLOW_NONE || f->meter_id <= BWG_RULE_MAX)
		return NULL;
	return atomic_load_explicit(
	    &bwg_meter_table_at(w->meters, f->meter_id - (BWG_RULE_MAX + 1))->data,
	    memory_order_relaxed);
}

static void emit_quota(struct bwg_worker *w, const struct bwg_flow *f,
		       const struct bwg_conf_rule *r, const struct bwg_quota *q);
static void emit_penalty(struct bwg_worker *w, const struct bwg_flow *f,
			 const struct bwg_conf_rule *r, const struct bwg_quota *q,
			 enum bwg_penalty_change ch, uint64_t at);

/*
 * A packet of flow f whose rule is asked about each packet: in "mode": "monitor", or
 * with a quota. Past its user's quota the quota's then-action applies (block, or the
 * user's then-limit), else the rule's own; a monitor rule counts what that would have
 * dropped (its buckets run as in force, so would_limit_packets is exactly what the
 * limit would drop) and forwards. What is forwarded counts toward the user's quota.
 * Returns the verdict.
 */
static __attribute__((noinline)) uint8_t
rule_packet(struct bwg_worker *w, struct bwg_flow *f, int dir, uint32_t len)
{
	const struct bwg_rule *rule = &w->policy->rules[f->rule];
	const struct bwg_conf_rule *r = rule->conf;
	struct bwg_quota *q = r->has_quota || r->has_penalty ? flow_quota(w, f) : NULL;
	bool over = false, pen = false;
	if (q && r->has_quota) {
		bwg_quota_roll(q, bwg_quota_period_start(r->quota_period, w->today));
		over = bwg_quota_over(q, r);
	}
	if (q && r->has_penalty) {
		/* The lane measures what the user's flows of the rule offer. */
		uint64_t at = 0;
		enum bwg_penalty_change ch = bwg_penalty_count(q, r, len, w->clock_ns, &pen, &at);
		if (ch != BWG_PENALTY_NONE)
			emit_penalty(w, f, r, q, ch, at);
	}
	uint8_t v = BWG_VERDICT_FORWARD;
	if (over && r->quota_block) {
		v = BWG_DROP_POLICY_BLOCK;
	} else if (over) {
		if (!bwg_quota_then_take(q, r, dir, w->clock_ns, len))
			v = BWG_DROP_POLICY_LIMIT;
	} else if (pen) {
		if (!bwg_penalty_take(q, r, dir, w->clock_ns, len))
			v = BWG_DROP_POLICY_LIMIT;
	} else if (rule->action == BWG_ACTION_BLOCK) {
		v = BWG_DROP_POLICY_BLOCK;
	} else if (rule->action == BWG_ACTION_LIMIT) {
		/* f is bound to its user's pair for the quota; an aggregate limit is the rule's. */
		if (!(r->scope == BWG_SCOPE_AGGREGATE
			      ? bwg_meter_shared_take(&w->policy->rule_meters[f->rule].m, dir,
						      w->clock_ns, len)
			      : meter_take(w, f, dir, len)))
			v = BWG_DROP_POLICY_LIMIT;
	}
	if (v != BWG_VERDICT_FORWARD && r->monitor) {
		struct bwg_rule_stats *rs = &w->stats.rules[f->rule];
		struct bwg_fold *b = &w->fold[bwg_flow_index(&w->flows, f)];
		bool first = !b->rule_counted;
		if (v == BWG_DROP_POLICY_BLOCK) {
			rs->would_block_packets++;
			rs->would_block_flows += first;
		} else {
			rs->would_limit_packets++;
			rs->would_limit_flows += first;
		}
		b->rule_counted = true;
		v = BWG_VERDICT_FORWARD;
	}
	if (q && r->has_quota && v == BWG_VERDICT_FORWARD &&
	    bwg_quota_count(q, r, len, w->clock_ns))
		emit_quota(w, f, r, q);
	return v;
}

/* A packet of flow f its rule dropped (block, or over a limit). */
static inline void
rule_dropped(struct bwg_worker *w, struct bwg_flow *f)
{
	struct bwg_rule_stats *rs = &w->stats.rules[f->rule];
	struct bwg_fold *b = &w->fold[bwg_flow_index(&w->flows, f)];
	rs->dropped_packets++;
	rs->dropped_flows += !b->rule_counted;
	b->rule_counted = true;
}

/* A reset pair (or a notice) for blocked flow f: at most one per flow per interval, and
 * as many per second as the worker's bucket holds, so the gate never answers a flood in
 * kind. */
static bool
reset_due(struct bwg_worker *w, struct bwg_flow *f)
{
	uint16_t now = (uint16_t)(w->clock_ns >> BWG_RESET_TICK_SHIFT);
	if (((f->life & BWG_FLOW_RESET_SENT) &&
	     (uint16_t)(now - f->rst_tick) < w->reset_interval_ticks) ||
	    !bwg_meter_take(&w->reset_bucket, w->clock_ns, 1)) {
		w->stats.cnt[BWG_CNT_RESETS_THROTTLED]++;
		return false;
	}
	f->life |= BWG_FLOW_RESET_SENT;
	f->rst_tick = now;
	return true;
}

/*
 * What the gate sends of its own for TCP frame p of flow f, which its block rule drops:
 * the rule's notice page for the client's first plain-HTTP request (never for TLS or
 * anything else: no interception), else a reset pair with `reset`. Returns the verdict
 * flag, or 0.
 */
static __attribute__((noinline)) uint8_t
block_answer(struct bwg_worker *w, struct bwg_flow *f, const struct bwg_pkt *p, int dir)
{
	const struct bwg_rule *r = &w->policy->rules[f->rule];
	struct bwg_fold *b = &w->fold[bwg_flow_index(&w->flows, f)];
	/* The page goes as the server's next segment, numbered from the request's ACK: a
	 * request in a SYN (TCP Fast Open), in a RST or without ACK gets none. */
	if (r->notice.text && dir == 0 && !b->notice_sent && p->l4_payload && !p->cut &&
	    (p->tcp_flags & (BWG_TCP_SYN | BWG_TCP_RST | BWG_TCP_ACK)) == BWG_TCP_ACK &&
	    bwg_pkt_http_request(p->l3 + p->l3_len - p->l4_payload, p->l4_payload) &&
	    reset_due(w, f)) {
		b->notice_sent = true;
		w->stats.cnt[BWG_CNT_NOTICES]++;
		return BWG_VERDICT_NOTICE;
	}
	if (r->conf->reset && reset_due(w, f)) {
		w->stats.cnt[BWG_CNT_RESETS]++;
		return BWG_VERDICT_RESET;
	}
	return 0;
}

const struct bwg_notice *
bwg_worker_notice(struct bwg_worker *w, const uint8_t *frame, uint32_t len)
{
	struct bwg_pkt p;
	int dir;
	if (bwg_pkt_parse(&p, frame, len, len, BWG_LINK_ETHER, w->parse_flags) != BWG_PKT_OK)
		return NULL;
	const struct bwg_flow *f = bwg_flow_lookup(&w->flows, &p, bwg_flow_hash(&p), &dir);
	if (!f || f->rule > w->policy->n_rules || !w->policy->rules[f->rule].notice.text)
		return NULL;
	return &w->policy->rules[f->rule].notice;
}

/*
 * The counters and the flow of a frame off the common path: not IP, malformed, an IP
 * fragment, a tunnel. Returns the frame's verdict, or VERDICT_CONTINUE for a frame that
 * goes on to its flow: *fp is then the flow of a later fragment, or NULL (look it up).
 */
static __attribute__((noinline)) uint8_t
frame_unusual(struct bwg_worker *w, const struct bwg_pkt *p, enum bwg_pkt_result res,
	      uint32_t len, struct bwg_flow **fp, int *dir)
{
	struct bwg_stats *s = &w->stats;
	*fp = NULL;
	if (res == BWG_PKT_NON_IP) {
		s->cnt[BWG_CNT_NON_IP]++;
		return w->non_ip_drop ? drop(w, BWG_DROP_NON_IP, len) : BWG_VERDICT_FORWARD;
	}
	if (res != BWG_PKT_OK) {
		s->malformed[res]++;
		if (!bwg_pkt_has_ip(res))
			return w->malformed_drop ? drop(w, BWG_DROP_MALFORMED, len)
						 : BWG_VERDICT_FORWARD;
		/* A bad L4 header: still its flow's packet (and nDPI's, as in ndpiReader),
		 * but the malformed-frame policy decides its fate. */
	}
	if (p->tunnels)
		s->cnt[BWG_CNT_TUNNELS]++;
	if (p->frag != BWG_FRAG_NONE) {
		s->cnt[BWG_CNT_FRAGMENTS]++;
		if (p->frag == BWG_FRAG_LATER) {
			*fp = frag_flow(w, p, dir);
			if (!*fp && (*fp = frag_host_match(w, p, dir)))
				s->cnt[BWG_CNT_FRAGMENTS_BY_HOST]++;
			if (!*fp) {
				s->cnt[BWG_CNT_FRAGMENTS_UNMATCHED]++;
				return w->unmatched_frag_drop
					       ? drop(w, BWG_DROP_FRAGMENT_UNMATCHED, len)
					       : BWG_VERDICT_FORWARD;
			}
		}
	}
	return VERDICT_CONTINUE;
}

/*
 * What f's packet p may change: the decision, when the policy or the schedules moved
 * since it was made (first, so that unit and class are of the policy in force before
 * anything is decided from them); the classification, while nDPI inspects the flow;
 * the names cache, for a DNS answer. The packet is already in f's counters and counts
 * toward what comes out of this (w->deciding).
 */
static __attribute__((noinline)) void
flow_inspect(struct bwg_worker *w, struct bwg_flow *f, const struct bwg_pkt *p, int dir,
	     uint32_t len)
{
	struct bwg_stats *s = &w->stats;
	w->deciding = f;
	w->deciding_len = len;
	w->deciding_dir = (uint8_t)dir;
	if (f->decision_gen != w->gen) {
		s->cnt[BWG_CNT_POLICY_UPDATES]++;
		reevaluate(w, f);
	}
	/* Like ndpiReader, nDPI sees whole captured packets only, never later fragments. */
	if (f->state == BWG_FLOW_DETECTING && !p->cut && p->frag != BWG_FRAG_LATER) {
		struct bwg_dpi_result r;
		if (p->l4_payload)
			f->life |= dir ? BWG_FLOW_BEH_DATA_S2C : BWG_FLOW_BEH_DATA_C2S;
		s->cnt[BWG_CNT_DPI_PACKETS]++;
		f->dpi_pkts++;
		bool done = bwg_dpi_feed(w->dpi, f->dpi_slot, p, w->clock_ns,
					 (uint32_t)(f->pkts[0] + f->pkts[1]), &r);
		uint8_t det = f->det;
		uint64_t want = w->policy->classes.detectors_wanted;
		if (!det && want && p->l4_payload)
			det = bwg_detect_packet(&w->det[f->dpi_slot], want,
						p->l3 + p->l3_len - p->l4_payload, p->l4_payload,
						p->proto, (uint8_t)dir, p->port[0], p->port[1], &r);
		classify(w, f, &r, det, done);
		if (done)
			dpi_finish(w, f);
	}
	/* DNS answers teach the names cache, whatever the state of their flow. Only answers
	 * to the flow's client: its first packet was the query, so a datagram an outsider
	 * sends from port 53 unasked teaches nothing. */
	if ((f->flags & BWG_FLOW_DNS) && w->conf.names && p->port[0] == 53 && dir == 1 &&
	    p->l4_payload && !p->cut && p->frag == BWG_FRAG_NONE) {
		bwg_dnsnames_learn(w->conf.names, p->l3 + p->l3_len - p->l4_payload, p->l4_payload,
				   p->proto == 6, w->clock_ns, &s->dns);
	}
	w->deciding = NULL;
}

/* f's packet p is dropped with verdict v: count it; a block may be answered with resets. */
static __attribute__((noinline)) uint8_t
flow_drop(struct bwg_worker *w, struct bwg_flow *f, const struct bwg_pkt *p, int dir,
	  uint8_t v, uint32_t len)
{
	/* The flow keeps its dropped packets, its fold record their bytes (the record has
	 * no room for them): both reach the class, unit, app and user when it is folded. */
	w->fold[bwg_flow_index(&w->flows, f)].dropped_bytes += len;
	f->dropped_pkts++;
	if (v == BWG_DROP_POLICY_BLOCK || v == BWG_DROP_POLICY_LIMIT)
		rule_dropped(w, f);
	v = drop(w, (enum bwg_drop)v, len);
	if (v == BWG_DROP_POLICY_BLOCK && f->proto == 6 && !(p->tcp_flags & BWG_TCP_RST) &&
	    p->frag == BWG_FRAG_NONE)
		v |= block_answer(w, f, p, dir);
	return v;
}

/*
 * One frame. The established path: lookup, the flow's own counters, a compare of the
 * decision's generation, the verdict table (and for a limit, the meter). Everything else
 * is out of line. Totals are the burst's (bwg_worker_burst); class, unit and app counts
 * are folded in from the flow later (flow_fold).
 */
static inline uint8_t
process_one(struct bwg_worker *w, const struct bwg_frame *fr, const struct bwg_pkt *p,
	    enum bwg_pkt_result res, uint32_t hash, bool nic)
{
	const uint32_t len = fr->wire_len;
	clock_advance(w, fr->ts_ns);

	struct bwg_flow *f;
	int dir = 0;
	if (unlikely(res != BWG_PKT_OK || p->frag != BWG_FRAG_NONE || p->tunnels)) {
		uint8_t v = frame_unusual(w, p, res, len, &f, &dir);
		if (v != VERDICT_CONTINUE)
			return v;
		if (f)
			goto account;
	}
	if (nic) {
		f = bwg_flow_lookup_nic(&w->flows, p, hash, &dir);
		if (unlikely(!f) && !(f = flow_find_keyed(w, p, fr, &dir)))
			return w->refused;
	} else {
		f = bwg_flow_lookup(&w->flows, p, hash, &dir);
		if (unlikely(!f) && !(f = flow_new(w, p, hash, fr)))
			return w->refused;
	}
	if (unlikely(p->frag == BWG_FRAG_FIRST))
		frag_remember(w, p, f);

account:
	if (unlikely((f->life & (BWG_FLOW_UNFOLDED | BWG_FLOW_FOLD_EPOCH)) != w->fold_mark))
		flow_touch(w, f);
	f->pkts[dir]++;
	f->bytes[dir] += len;
	f->last_ts = w->clock_ns;
	if (unlikely(p->tcp_flags & (BWG_TCP_RST | BWG_TCP_FIN)))
		f->flags |= (p->tcp_flags & BWG_TCP_RST ? BWG_FLOW_RST : 0) |
			    (p->tcp_flags & BWG_TCP_FIN ? (dir ? BWG_FLOW_FIN_S2C : BWG_FLOW_FIN_C2S)
							: 0);
	if (unlikely(f->state == BWG_FLOW_DETECTING || f->decision_gen != w->gen ||
		     (f->flags & BWG_FLOW_DNS)))
		flow_inspect(w, f, p, dir, len);

	int conforms = f->action != BWG_ACTION_LIMIT || meter_take(w, f, dir, len);
	uint8_t v = verdict_table[f->action][conforms];
	if (unlikely(res != BWG_PKT_OK) && w->malformed_drop)
		v = BWG_DROP_MALFORMED;
	else if (unlikely(f->action == BWG_ACTION_RULE))
		v = rule_packet(w, f, dir, len);
	if (likely(v == BWG_VERDICT_FORWARD))
		return v;
	return flow_drop(w, f, p, dir, v, len);
}

/* Records are asked for this many frames before their turn, once their buckets are in. */
#define AHEAD 8

void
bwg_worker_burst(struct bwg_worker *w, const struct bwg_frame *frames, uint16_t n,
		 uint8_t *verdict)
{
	/* Parse and hash the whole burst first and prefetch each flow's bucket and record,
	 * so the lookups below find them in cache instead of waiting on memory one by one. */
	struct bwg_stats *s = &w->stats;
	struct bwg_pkt pkts[BWG_BURST_MAX];
	enum bwg_pkt_result res[BWG_BURST_MAX];
	uint32_t hash[BWG_BURST_MAX];
	const uint64_t dropped0 = s->cnt[BWG_CNT_DROPPED_PACKETS];
	const uint64_t dropped_bytes0 = s->cnt[BWG_CNT_DROPPED_BYTES];
	uint64_t bytes = 0;
	const struct bwg_slotmap *map[BWG_BURST_MAX]; /* the index to look in, NULL: none */
	const bool nic = w->flows.nic.slots != NULL;
	uint16_t keyed[BWG_BURST_MAX];
	for (uint16_t base = 0; base < n; base += BWG_BURST_MAX) {
		uint16_t m = n - base < BWG_BURST_MAX ? n - base : BWG_BURST_MAX, nk = 0;
		for (uint16_t i = 0; i < m; i++) {
			const struct bwg_frame *fr = &frames[base + i];
			bytes += fr->wire_len;
			res[i] = bwg_pkt_parse(&pkts[i], fr->data, fr->caplen, fr->wire_len,
					       w->conf.link, w->parse_flags);
			map[i] = NULL;
			hash[i] = 0;
			if (!bwg_pkt_has_ip(res[i]) || pkts[i].frag == BWG_FRAG_LATER)
				continue;
			/* The NIC hashed the headers the flow is keyed on: not a tunnel's inner
			 * packet, not a fragment (whose hash covers the addresses only). */
			if (nic && fr->nic_hashed && !pkts[i].tunnels &&
			    pkts[i].frag == BWG_FRAG_NONE) {
				hash[i] = fr->nic_hash;
				map[i] = &w->flows.nic;
			} else {
				keyed[nk++] = i;
				map[i] = &w->flows.index;
			}
		}
		bwg_flow_hash_burst(pkts, keyed, nk, hash);
		for (uint16_t i = 0; i < m; i++)
			if (map[i])
				bwg_flow_prefetch_bucket(map[i], hash[i]);
		for (uint16_t i = 0; i < m && i < AHEAD; i++)
			if (map[i])
				bwg_flow_prefetch_record(&w->flows, map[i], hash[i]);
		for (uint16_t i = 0; i < m; i++) {
			if (i + AHEAD < m && map[i + AHEAD])
				bwg_flow_prefetch_record(&w->flows, map[i + AHEAD], hash[i + AHEAD]);
			verdict[base + i] = process_one(w, &frames[base + i], &pkts[i], res[i],
							hash[i], map[i] == &w->flows.nic);
		}
	}
	/* Every frame of the burst was received, and forwarded unless counted as a drop. */
	uint64_t dropped = s->cnt[BWG_CNT_DROPPED_PACKETS] - dropped0;
	uint64_t dropped_bytes = s->cnt[BWG_CNT_DROPPED_BYTES] - dropped_bytes0;
	s->cnt[BWG_CNT_RX_PACKETS] += n;
	s->cnt[BWG_CNT_RX_BYTES] += bytes;
	s->cnt[BWG_CNT_FORWARDED_PACKETS] += n - dropped;
	s->cnt[BWG_CNT_FORWARDED_BYTES] += bytes - dropped_bytes;
	s->flows_active = w->flows.active;
}

/* The aging sweep's visit to a flow that stays. */
static void
flow_live(struct bwg_flow *f, void *ctx)
{
	struct bwg_worker *w = ctx;
	behaviour_recheck(f, w);
	if (w->exported)
		active_check(w, f);
}

uint32_t
bwg_worker_housekeeping(struct bwg_worker *w, uint64_t now_ns)
{
	clock_advance(w, now_ns);
	uint32_t n = bwg_flow_table_sweep(&w->flows, w->clock_ns, w->conf.aging_budget, flow_end,
					  w->conf.behaviour || w->exported ? flow_live : NULL, w);
	w->stats.flows_active = w->flows.active;
	return n;
}

uint32_t
bwg_worker_flush(struct bwg_worker *w, uint32_t budget)
{
	/* Visit records until `budget` flows ended or the table is empty. */
	uint32_t ended = 0;
	w->end_cause = BWG_END_FORCED;
	while (w->flows.active > 0 && ended < budget)
		ended += bwg_flow_table_age(&w->flows, UINT64_MAX,
					    budget - ended < w->flows.capacity
						    ? budget - ended
						    : w->flows.capacity,
					    flow_end, w);
	w->end_cause = BWG_END_NONE;
	w->stats.flows_active = w->flows.active;
	return w->flows.active;
}
