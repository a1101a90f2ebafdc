/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The HTTP API's documents and the Prometheus exposition, as pure functions of a
 * `struct bwg_api_snapshot` (HTTP thread; the unit tests call them without EAL).
 *
 * Counters are exact integers, never reals. Rates are the difference between the two
 * sums of a snapshot over its interval: they are reals, and absent (0) until a second
 * snapshot exists. The metrics text is written in one pass per family so every family
 * has exactly one HELP and one TYPE line, as promtool wants.
 */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_api.h"

const char *const bwg_api_top_by_names[BWG_API_TOP_BY_MAX] = {
    [BWG_API_TOP_APPS] = "apps",
    [BWG_API_TOP_UNITS] = "units",
    [BWG_API_TOP_CLASSES] = "classes",
};

int
bwg_api_snapshot_init(struct bwg_api_snapshot *s, uint32_t app_count, uint32_t n_workers)
{
	memset(s, 0, sizeof(*s));
	if (bwg_stats_init(&s->cur, app_count) < 0 || bwg_stats_init(&s->prev, app_count) < 0 ||
	    !(s->workers = calloc(n_workers ? n_workers : 1, sizeof(*s->workers)))) {
		bwg_api_snapshot_fini(s);
		return -ENOMEM;
	}
	s->n_workers = n_workers;
	return 0;
}

void
bwg_api_snapshot_fini(struct bwg_api_snapshot *s)
{
	bwg_stats_fini(&s->cur);
	bwg_stats_fini(&s->prev);
	free(s->workers);
	s->workers = NULL;
}

void
bwg_api_snapshot_names(struct bwg_api_snapshot *s, const char *const *classes, uint32_t n_classes,
		       const char *const *units, uint32_t n_units)
{
	s->n_classes = n_classes < BWG_CLASS_SLOTS ? n_classes : BWG_CLASS_SLOTS;
	for (uint32_t i = 0; i < s->n_classes; i++)
		snprintf(s->class_names[i], BWG_NAME_MAX, "%s", classes[i] ? classes[i] : "");
	s->n_units = n_units < BWG_UNIT_SLOTS ? n_units : BWG_UNIT_SLOTS;
	for (uint32_t i = 0; i < s->n_units; i++)
		snprintf(s->unit_names[i], BWG_NAME_MAX, "%s", units[i] ? units[i] : "");
}

json_t *
bwg_api_error_json(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

static double
seconds(const struct bwg_api_snapshot *s)
{
	return (double)s->interval_ns / 1e9;
}

/* Per-second rate of a counter over the snapshot's interval; 0 without one. */
static double
rate(const struct bwg_api_snapshot *s, uint64_t cur, uint64_t prev)
{
	if (!s->interval_ns || cur < prev)
		return 0.0;
	return (double)(cur - prev) / seconds(s);
}

static json_t *
drops_json(const uint64_t *drops)
{
	json_t *o = json_object();
	for (int d = 0; d < BWG_DROP_MAX; d++)
		json_object_set_new(o, bwg_drop_names[d], json_integer((json_int_t)drops[d]));
	return o;
}

json_t *
bwg_api_ports_json(const struct bwg_api_snapshot *s)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < s->n_ports; i++) {
		const struct bwg_api_port *p = &s->ports[i];
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:s, s:i, s:i, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, "
				 "s:I, s:I, s:I, s:I}",
				 "role", p->role, "name", p->name, "driver", p->driver, "id",
				 (int)p->id, "queues", (int)p->queues, "rss", p->rss, "link_up", p->link_up,
				 "speed_mbps", (json_int_t)p->speed_mbps, "rx_packets",
				 (json_int_t)p->ipackets, "rx_bytes", (json_int_t)p->ibytes,
				 "tx_packets", (json_int_t)p->opackets, "tx_bytes",
				 (json_int_t)p->obytes, "rx_missed", (json_int_t)p->imissed,
				 "rx_errors", (json_int_t)p->ierrors, "tx_errors",
				 (json_int_t)p->oerrors, "rx_nombuf", (json_int_t)p->rx_nombuf,
				 "resets_sent", (json_int_t)p->resets_sent));
	}
	return a;
}

static double
busy_ratio(const struct bwg_api_worker *w)
{
	uint64_t loops = w->loops - w->loops_prev;
	return loops ? (double)(w->busy_loops - w->busy_prev) / (double)loops : 0.0;
}

json_t *
bwg_api_workers_json(const struct bwg_api_snapshot *s)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < s->n_workers; i++) {
		const struct bwg_api_worker *w = &s->workers[i];
		json_t *o = json_pack(
		    "{s:i, s:i, s:i, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, "
		    "s:I, s:I, s:I, s:I, s:f}",
		    "id", (int)w->id, "lcore", (int)w->lcore, "queue", (int)w->queue, "alive",
		    w->alive, "policy_version", (json_int_t)w->policy_version, "rx_packets", (json_int_t)w->cnt[BWG_CNT_RX_PACKETS], "rx_bytes",
		    (json_int_t)w->cnt[BWG_CNT_RX_BYTES], "tx_packets",
		    (json_int_t)bwg_stats_tx_packets(w->cnt, w->drops), "tx_bytes",
		    (json_int_t)bwg_stats_tx_bytes(w->cnt), "dropped_packets",
		    (json_int_t)w->cnt[BWG_CNT_DROPPED_PACKETS], "dropped_bytes",
		    (json_int_t)w->cnt[BWG_CNT_DROPPED_BYTES], "drops", drops_json(w->drops),
		    "flows_active", (json_int_t)w->flows_active, "flow_capacity",
		    (json_int_t)w->flow_capacity, "flows_created",
		    (json_int_t)w->cnt[BWG_CNT_FLOWS_CREATED], "loops", (json_int_t)w->loops,
		    "busy_loops", (json_int_t)w->busy_loops, "pipeline_cycles",
		    (json_int_t)w->pipeline_cycles, "pipeline_packets",
		    (json_int_t)w->pipeline_packets, "busy_ratio", busy_ratio(w));
		json_object_set_new(o, "cycles_per_packet",
				    json_real(w->pipeline_packets ? (double)w->pipeline_cycles /
									(double)w->pipeline_packets
								  : 0.0));
		json_object_set_new(o, "resets_sent", json_integer((json_int_t)w->resets_sent));
		json_object_set_new(o, "resets_failed", json_integer((json_int_t)w->resets_failed));
		json_object_set_new(o, "notices_sent", json_integer((json_int_t)w->notices_sent));
		json_object_set_new(o, "multiseg_linearized",
				    json_integer((json_int_t)w->multiseg_linearized));
		json_object_set_new(o, "multiseg_cut", json_integer((json_int_t)w->multiseg_cut));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *
bwg_api_stats_json(const struct bwg_api_snapshot *s)
{
	const char *classes[BWG_CLASS_SLOTS], *units[BWG_UNIT_SLOTS];
	for (uint32_t i = 0; i < s->n_classes; i++)
		classes[i] = s->class_names[i];
	for (uint32_t i = 0; i < s->n_units; i++)
		units[i] = s->unit_names[i];
	struct bwg_stats_names names = {
	    .classes = classes,
	    .n_classes = s->n_classes,
	    .units = units,
	    .n_units = s->n_units,
	    .apps = (const char *const *)s->app_names,
	    .n_apps = s->app_names ? s->cur.app_count : 0,
	    .rules = s->rule_names,
	    .n_rules = s->n_rules,
	    .rules_version = s->policy_version,
	};
	json_t *doc = bwg_stats_json(&s->cur, &names, s->flow_capacity, bwg_api_ports_json(s),
				     bwg_api_workers_json(s));
	if (!doc)
		return NULL;
	const uint64_t *c = s->cur.cnt, *p = s->prev.cnt;
	json_object_set_new(
	    doc, "rates",
	    json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "interval_s", seconds(s), "rx_pps",
		      rate(s, c[BWG_CNT_RX_PACKETS], p[BWG_CNT_RX_PACKETS]), "rx_bps",
		      8 * rate(s, c[BWG_CNT_RX_BYTES], p[BWG_CNT_RX_BYTES]), "tx_pps",
		      rate(s, bwg_stats_tx_packets(c, s->cur.drops),
			   bwg_stats_tx_packets(p, s->prev.drops)),
		      "tx_bps", 8 * rate(s, bwg_stats_tx_bytes(c), bwg_stats_tx_bytes(p)), "drop_pps",
		      rate(s, c[BWG_CNT_DROPPED_PACKETS], p[BWG_CNT_DROPPED_PACKETS]), "drop_bps",
		      8 * rate(s, c[BWG_CNT_DROPPED_BYTES], p[BWG_CNT_DROPPED_BYTES]),
		      "flows_per_s", rate(s, c[BWG_CNT_FLOWS_CREATED], p[BWG_CNT_FLOWS_CREATED])));
	json_object_set_new(doc, "policy",
			    json_pack("{s:s, s:I, s:I}", "file", s->policy_file, "version",
				      (json_int_t)s->policy_version, "loaded_at",
				      (json_int_t)s->policy_loaded_at));
	json_object_set_new(doc, "snapshot",
			    json_pack("{s:I, s:f}", "seq", (json_int_t)s->seq, "time",
				      (double)(s->time_ns / 1000) / 1e6));
	json_object_set_new(doc, "events_written", json_integer((json_int_t)s->events_written));
	if (s->ipfix.n)
		json_object_set_new(doc, "ipfix", bwg_ipfix_stats_json(&s->ipfix));
	uint64_t cycles = 0, pkts = 0;
	for (uint32_t i = 0; i < s->n_workers; i++) {
		cycles += s->workers[i].pipeline_cycles;
		pkts += s->workers[i].pipeline_packets;
	}
	json_object_set_new(doc, "pipeline",
			    json_pack("{s:I, s:I, s:f, s:I}", "cycles", (json_int_t)cycles,
				      "packets", (json_int_t)pkts, "cycles_per_packet",
				      pkts ? (double)cycles / (double)pkts : 0.0, "tsc_hz",
				      (json_int_t)s->tsc_hz));
	return doc;
}

static bool
all_alive(const struct bwg_api_snapshot *s, uint32_t *alive)
{
	*alive = 0;
	for (uint32_t i = 0; i < s->n_workers; i++)
		*alive += s->workers[i].alive;
	return *alive == s->n_workers;
}

json_t *
bwg_api_health_json(const struct bwg_api_snapshot *s)
{
	uint32_t alive;
	bool ok = all_alive(s, &alive) && !s->events_failing;
	json_t *doc = json_pack(
	    "{s:b, s:i, s:i, s:I, s:b, s:b, s:I, s:I, s:I, s:I, s:I}", "ok", ok, "workers",
	    (int)s->n_workers, "workers_alive", (int)alive, "policy_version",
	    (json_int_t)s->policy_version, "events_file", s->events_on, "events_failing",
	    s->events_failing, "events_written", (json_int_t)s->events_written,
	    "events_write_errors", (json_int_t)s->events_write_errors, "events_failed",
	    (json_int_t)s->events_failed, "events_lost",
	    (json_int_t)s->cur.cnt[BWG_CNT_EVENTS_LOST], "snapshot_seq", (json_int_t)s->seq);
	/* A collector down loses records (counted here) but does not make the gate unwell. */
	if (s->ipfix.n)
		json_object_set_new(doc, "ipfix", bwg_ipfix_stats_json(&s->ipfix));
	return doc;
}

int
bwg_api_top_by_parse(const char *str)
{
	for (int i = 0; i < BWG_API_TOP_BY_MAX; i++)
		if (str && strcmp(str, bwg_api_top_by_names[i]) == 0)
			return i;
	return -1;
}

struct top_item {
	const char *name;
	const struct bwg_obj_stats *cur, *prev;
	uint64_t dbytes;
};

static int
top_cmp(const void *a, const void *b)
{
	const struct top_item *x = a, *y = b;
	if (x->dbytes != y->dbytes)
		return x->dbytes < y->dbytes ? 1 : -1;
	if (x->cur->bytes != y->cur->bytes)
		return x->cur->bytes < y->cur->bytes ? 1 : -1;
	return strcmp(x->name, y->name);
}

json_t *
bwg_api_top_json(const struct bwg_api_snapshot *s, enum bwg_api_top_by by, uint32_t limit)
{
	const struct bwg_obj_stats *cur, *prev;
	uint32_t n, first = 0;
	switch (by) {
	case BWG_API_TOP_APPS:
		cur = s->cur.apps, prev = s->prev.apps;
		n = s->app_names ? s->cur.app_count : 0;
		break;
	case BWG_API_TOP_UNITS:
		cur = s->cur.units, prev = s->prev.units, n = s->n_units;
		first = 1; /* [0] is "no unit" */
		break;
	default:
		cur = s->cur.classes, prev = s->prev.classes, n = s->n_classes;
		break;
	}
	struct top_item *items = calloc(n ? n : 1, sizeof(*items));
	if (!items)
		return NULL;
	uint32_t k = 0;
	for (uint32_t i = first; i < n; i++) {
		if (!cur[i].packets && !cur[i].flows)
			continue;
		const char *name = by == BWG_API_TOP_APPS    ? s->app_names[i]
				   : by == BWG_API_TOP_UNITS ? s->unit_names[i]
							     : s->class_names[i];
		uint64_t d = cur[i].bytes >= prev[i].bytes ? cur[i].bytes - prev[i].bytes : 0;
		items[k++] = (struct top_item){name, &cur[i], &prev[i], d};
	}
	qsort(items, k, sizeof(*items), top_cmp);
	json_t *a = json_array();
	for (uint32_t i = 0; i < k && i < limit; i++) {
		const struct top_item *t = &items[i];
		const struct bwg_obj_stats *c = t->cur, *p = t->prev;
		uint64_t dp = c->packets >= p->packets ? c->packets - p->packets : 0;
		/* Offered = forwarded + dropped: a blocked app offers much and passes nothing. */
		double dbps = 8 * rate(s, c->dropped_bytes, p->dropped_bytes);
		double dpps = rate(s, c->dropped_packets, p->dropped_packets);
		double obps = 8 * rate(s, c->bytes, p->bytes), opps = rate(s, c->packets, p->packets);
		json_array_append_new(
		    a, json_pack("{s:s, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, "
				 "s:I, s:I}",
				 "name", t->name, "interval_bytes", (json_int_t)t->dbytes,
				 "interval_packets", (json_int_t)dp, "offered_bps", obps,
				 "forwarded_bps", obps > dbps ? obps - dbps : 0.0, "dropped_bps", dbps,
				 "offered_pps", opps, "forwarded_pps", opps > dpps ? opps - dpps : 0.0,
				 "dropped_pps", dpps, "bytes", (json_int_t)c->bytes, "packets",
				 (json_int_t)c->packets, "flows", (json_int_t)c->flows,
				 "dropped_packets", (json_int_t)c->dropped_packets, "dropped_bytes",
				 (json_int_t)c->dropped_bytes, "forwarded_bytes",
				 (json_int_t)(c->bytes - c->dropped_bytes)));
	}
	free(items);
	return json_pack("{s:s, s:i, s:f, s:o}", "by", bwg_api_top_by_names[by], "limit",
			 (int)limit, "interval_s", seconds(s), "top", a);
}

/* ---- Prometheus ----------------------------------------------------------------------- */

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped. */
static void
label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*v, f);
	}
}

static void
sample(FILE *f, const char *name, const char *lname, const char *lvalue, uint64_t v)
{
	fputs(name, f);
	if (lname) {
		fprintf(f, "{%s=\"", lname);
		label(f, lvalue);
		fputs("\"}", f);
	}
	fprintf(f, " %llu\n", (unsigned long long)v);
}

/* IPFIX export, by collector (at most BWG_COLLECTORS_MAX of them). */
static void
ipfix_metrics(FILE *f, const struct bwg_ipfix_stats *x)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} m[] = {
	    {"bwgate_ipfix_records_sent_total", "counter", "flow records handed to the network",
	     offsetof(struct bwg_ipfix_collector_stats, records_sent)},
	    {"bwgate_ipfix_records_lost_total", "counter",
	     "flow records dropped: collector down or slow, queue full",
	     offsetof(struct bwg_ipfix_collector_stats, records_lost)},
	    {"bwgate_ipfix_records_pending", "gauge", "flow records waiting to be sent",
	     offsetof(struct bwg_ipfix_collector_stats, records_pending)},
	    {"bwgate_ipfix_bytes_sent_total", "counter", "IPFIX message bytes sent",
	     offsetof(struct bwg_ipfix_collector_stats, bytes_sent)},
	    {"bwgate_ipfix_connects_total", "counter", "TCP connections made",
	     offsetof(struct bwg_ipfix_collector_stats, connects)},
	};
	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		family(f, m[k].name, m[k].type, m[k].help);
		for (uint32_t i = 0; i < x->n; i++) {
			uint64_t v;
			memcpy(&v, (const char *)&x->c[i] + m[k].off, sizeof(v));
			sample(f, m[k].name, "collector", x->c[i].url, v);
		}
	}
	family(f, "bwgate_ipfix_collector_up", "gauge", "1 while the collector takes records");
	for (uint32_t i = 0; i < x->n; i++)
		sample(f, "bwgate_ipfix_collector_up", "collector", x->c[i].url,
		       x->c[i].state == BWG_IPFIX_UP);
}

/* packets/bytes/flows/dropped of classes, apps or units. */
static void
objs(FILE *f, const char *what, const char *lname, const struct bwg_obj_stats *o, uint32_t first,
     uint32_t n, const char *(*name)(const struct bwg_api_snapshot *, uint32_t),
     const struct bwg_api_snapshot *s)
{
	static const char *const fields[] = {"packets", "bytes", "flows", "dropped_packets",
					     "dropped_bytes"};
	for (int k = 0; k < 5; k++) {
		char mname[96], help[128];
		snprintf(mname, sizeof(mname), "bwgate_%s_%s_total", what, fields[k]);
		snprintf(help, sizeof(help), "%s by %s since start", fields[k], lname);
		family(f, mname, "counter", help);
		for (uint32_t i = first; i < n; i++) {
			const struct bwg_obj_stats *x = &o[i];
			if (!x->packets && !x->flows && lname[0] == 'a')
				continue; /* apps: only those seen */
			uint64_t v = k == 0   ? x->packets
				     : k == 1 ? x->bytes
				     : k == 2 ? x->flows
				     : k == 3 ? x->dropped_packets
					      : x->dropped_bytes;
			sample(f, mname, lname, name(s, i), v);
		}
	}
}

static const char *
class_name(const struct bwg_api_snapshot *s, uint32_t i)
{
	return s->class_names[i];
}

static const char *
unit_name(const struct bwg_api_snapshot *s, uint32_t i)
{
	return s->unit_names[i];
}

static const char *
app_name(const struct bwg_api_snapshot *s, uint32_t i)
{
	return s->app_names[i];
}

char *
bwg_api_metrics_text(const struct bwg_api_snapshot *s, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	const uint64_t *c = s->cur.cnt;
	const struct {
		uint64_t value;
		const char *name, *help;
	} totals[] = {
	    {c[BWG_CNT_RX_PACKETS], "bwgate_rx_packets_total", "frames received by the pipeline"},
	    {c[BWG_CNT_RX_BYTES], "bwgate_rx_bytes_total", "bytes received by the pipeline"},
	    {bwg_stats_tx_packets(c, s->cur.drops), "bwgate_tx_packets_total",
	     "frames forwarded and sent"},
	    {bwg_stats_tx_bytes(c), "bwgate_tx_bytes_total", "bytes forwarded and sent"},
	    {c[BWG_CNT_DROPPED_PACKETS], "bwgate_dropped_packets_total", "frames dropped"},
	    {c[BWG_CNT_DROPPED_BYTES], "bwgate_dropped_bytes_total", "bytes dropped"},
	    {c[BWG_CNT_FLOWS_CREATED], "bwgate_flows_created_total", "flows created"},
	    {c[BWG_CNT_FLOWS_EXPIRED], "bwgate_flows_expired_total", "flows expired"},
	    {c[BWG_CNT_FLOWS_EVICTED], "bwgate_flows_evicted_unestablished_total",
	     "unestablished flows ended early to make room"},
	    {c[BWG_CNT_RESETS_THROTTLED], "bwgate_resets_throttled_total",
	     "reset pairs not sent: per-flow interval or per-worker rate"},
	    {c[BWG_CNT_EVENTS_LOST], "bwgate_events_lost_total", "events lost to a full ring"},
	};
	for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		family(f, totals[i].name, "counter", totals[i].help);
		sample(f, totals[i].name, NULL, NULL, totals[i].value);
	}
	/* Every other pipeline counter under its stats name (doc/configuration.md and
	 * operations.md say which to watch: dpi_pool_exhausted, flow_table_full, ...). */
	for (int k = 0; k < BWG_CNT_MAX; k++) {
		static const int shown[] = {BWG_CNT_RX_PACKETS,	    BWG_CNT_RX_BYTES,
					    BWG_CNT_DROPPED_PACKETS, BWG_CNT_DROPPED_BYTES,
					    BWG_CNT_FLOWS_CREATED,   BWG_CNT_FLOWS_EXPIRED,
					    BWG_CNT_FLOWS_EVICTED,   BWG_CNT_RESETS_THROTTLED,
					    BWG_CNT_EVENTS_LOST};
		bool dup = false;
		for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
			dup |= shown[i] == k;
		if (dup)
			continue;
		char mname[96], help[128];
		snprintf(mname, sizeof(mname), "bwgate_%s_total", bwg_counter_names[k]);
		snprintf(help, sizeof(help), "pipeline counter %s (counters.%s of /api/v1/stats)",
			 bwg_counter_names[k], bwg_counter_names[k]);
		family(f, mname, "counter", help);
		sample(f, mname, NULL, NULL, c[k]);
	}
	family(f, "bwgate_resets_sent_total", "counter", "TCP resets the gate sent, by port");
	for (uint32_t i = 0; i < s->n_ports; i++)
		sample(f, "bwgate_resets_sent_total", "port", s->ports[i].role, s->ports[i].resets_sent);
	family(f, "bwgate_drops_total", "counter", "frames dropped by reason");
	for (int d = 0; d < BWG_DROP_MAX; d++)
		sample(f, "bwgate_drops_total", "reason", bwg_drop_names[d], s->cur.drops[d]);

	static const char *const pf[] = {"rx_packets", "rx_bytes",  "tx_packets", "tx_bytes",
					 "rx_missed",  "rx_errors", "tx_errors",  "rx_nombuf"};
	for (int k = 0; k < 8; k++) {
		char mname[96];
		snprintf(mname, sizeof(mname), "bwgate_port_%s_total", pf[k]);
		family(f, mname, "counter", "device counter (rte_eth_stats) by port role");
		for (uint32_t i = 0; i < s->n_ports; i++) {
			const struct bwg_api_port *p = &s->ports[i];
			uint64_t v[] = {p->ipackets, p->ibytes,	 p->opackets, p->obytes,
					p->imissed,  p->ierrors, p->oerrors,  p->rx_nombuf};
			sample(f, mname, "port", p->role, v[k]);
		}
	}
	family(f, "bwgate_port_link_up", "gauge", "1 when the port's link is up");
	for (uint32_t i = 0; i < s->n_ports; i++)
		sample(f, "bwgate_port_link_up", "port", s->ports[i].role, s->ports[i].link_up);

	objs(f, "class", "class", s->cur.classes, 0, s->n_classes, class_name, s);
	objs(f, "unit", "unit", s->cur.units, 1, s->n_units, unit_name, s);
	if (s->app_names)
		objs(f, "app", "app", s->cur.apps, 0, s->cur.app_count, app_name, s);

	family(f, "bwgate_flows_active", "gauge", "flows in the flow tables");
	sample(f, "bwgate_flows_active", NULL, NULL, s->cur.flows_active);
	family(f, "bwgate_flows_capacity", "gauge", "flow records across workers");
	sample(f, "bwgate_flows_capacity", NULL, NULL, s->flow_capacity);
	family(f, "bwgate_flow_table_occupancy_ratio", "gauge", "active flows / capacity");
	fprintf(f, "bwgate_flow_table_occupancy_ratio %.6f\n",
		s->flow_capacity ? (double)s->cur.flows_active / (double)s->flow_capacity : 0.0);

	family(f, "bwgate_worker_busy_ratio", "gauge",
	       "share of loop iterations that received frames, last interval");
	for (uint32_t i = 0; i < s->n_workers; i++)
		fprintf(f, "bwgate_worker_busy_ratio{worker=\"%u\"} %.6f\n", s->workers[i].id,
			busy_ratio(&s->workers[i]));
	family(f, "bwgate_worker_alive", "gauge", "1 while the worker's loop counter moves");
	for (uint32_t i = 0; i < s->n_workers; i++)
		fprintf(f, "bwgate_worker_alive{worker=\"%u\"} %d\n", s->workers[i].id,
			s->workers[i].alive ? 1 : 0);

	family(f, "bwgate_policy_version", "gauge", "version of the policy in force");
	sample(f, "bwgate_policy_version", NULL, NULL, s->policy_version);
	family(f, "bwgate_policy_loaded_timestamp_seconds", "gauge", "when it was loaded");
	sample(f, "bwgate_policy_loaded_timestamp_seconds", NULL, NULL, s->policy_loaded_at);
	family(f, "bwgate_policy_reloads_total", "counter", "policy reloads by result");
	sample(f, "bwgate_policy_reloads_total", "result", "ok", s->reloads_ok);
	sample(f, "bwgate_policy_reloads_total", "result", "failed", s->reloads_failed);
	family(f, "bwgate_events_written_total", "counter", "audit events written");
	sample(f, "bwgate_events_written_total", NULL, NULL, s->events_written);
	family(f, "bwgate_events_write_errors_total", "counter", "audit log write errors");
	sample(f, "bwgate_events_write_errors_total", NULL, NULL, s->events_write_errors);
	if (s->ipfix.n)
		ipfix_metrics(f, &s->ipfix);
	family(f, "bwgate_events_failed_total", "counter",
	       "audit events that reached no file (write failures)");
	sample(f, "bwgate_events_failed_total", NULL, NULL, s->events_failed);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- /api/v1/flows ---------------------------------------------------------------------- */

int
bwg_api_flows_init(struct bwg_api_flows *f, uint32_t cap)
{
	memset(f, 0, sizeof(*f));
	if (!(f->views = calloc(cap ? cap : 1, sizeof(*f->views))))
		return -ENOMEM;
	f->cap = cap;
	return 0;
}

void
bwg_api_flows_fini(struct bwg_api_flows *f)
{
	free(f->views);
	f->views = NULL;
	f->n = f->cap = 0;
}

static int
view_cmp(const void *a, const void *b)
{
	const struct bwg_flow_view *x = a, *y = b;
	uint64_t bx = x->bytes[0] + x->bytes[1], by = y->bytes[0] + y->bytes[1];
	return bx < by ? 1 : bx > by ? -1 : 0;
}

void
bwg_api_flows_sort(struct bwg_api_flows *f)
{
	qsort(f->views, f->n, sizeof(*f->views), view_cmp);
}

/* Unix seconds with microseconds, as the flow records' times. */
static double
unix_s(uint64_t ns)
{
	return (double)(ns / 1000) / 1e6;
}

static bool
label_has(const char *label, const char *app)
{
	if (strcmp(label, app) == 0)
		return true;
	const char *dot = strchr(label, '.');
	if (!dot)
		return false;
	size_t n = (size_t)(dot - label);
	return strcmp(dot + 1, app) == 0 || (strlen(app) == n && memcmp(label, app, n) == 0);
}

static bool
host_under(const char *host, const char *name)
{
	size_t h = strlen(host), n = strlen(name);
	return h == n ? strcmp(host, name) == 0
		      : h > n && host[h - n - 1] == '.' && strcmp(host + h - n, name) == 0;
}

static bool
in_prefix(const struct bwg_api_flow_filter *flt, uint8_t family, const uint8_t *a)
{
	if (family != flt->family)
		return false;
	uint8_t full = flt->prefix_len / 8, rest = flt->prefix_len % 8;
	if (memcmp(a, flt->addr, full) != 0)
		return false;
	return !rest || ((a[full] ^ flt->addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool
bwg_api_flow_matches(const struct bwg_flow_view *v, const struct bwg_api_flow_filter *flt)
{
	if (!flt)
		return true;
	return (!flt->unit || strcmp(v->unit, flt->unit) == 0) &&
	       (!flt->cls || strcmp(v->cls, flt->cls) == 0) &&
	       (!flt->rule || strcmp(v->rule, flt->rule) == 0) &&
	       (!flt->app || label_has(v->app, flt->app)) &&
	       (!flt->host || host_under(v->host, flt->host)) &&
	       (!flt->action || (v->action < BWG_ACTION_MAX &&
				 strcmp(bwg_action_names[v->action], flt->action) == 0)) &&
	       (!flt->address || in_prefix(flt, v->family, v->addr[0]) ||
		in_prefix(flt, v->family, v->addr[1]));
}

json_t *
bwg_api_flows_json(const struct bwg_api_flows *f, uint32_t limit,
		   const struct bwg_api_flow_filter *flt)
{
	json_t *a = json_array();
	uint32_t matched = 0;
	for (uint32_t i = 0; i < f->n; i++) {
		if (!bwg_api_flow_matches(&f->views[i], flt))
			continue;
		if (matched++ < limit)
			json_array_append_new(a, bwg_log_flow_json(&f->views[i]));
	}
	return json_pack("{s:i, s:f, s:f, s:I, s:I, s:i, s:i, s:b, s:i, s:i, s:o}", "limit",
			 (int)limit, "as_of", unix_s(f->as_of_ns), "asked_at", unix_s(f->asked_ns),
			 "refresh_seq", (json_int_t)f->seq, "flows_active",
			 (json_int_t)f->flows_active, "workers", (int)f->workers,
			 "workers_answered", (int)f->workers_answered, "complete",
			 f->workers_answered == f->workers, "listed", (int)f->n, "matched",
			 (int)matched, "flows", a);
}

/* ---- text from clients ------------------------------------------------------------------ */

/* Length of the valid UTF-8 character at s (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), or 0. */
static size_t
utf8_char(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	if (c >= 0x01 && c < 0x80)
		return 1;
	size_t n;
	unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

bool
bwg_api_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_char(u + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

char *
bwg_api_text_clean(char *out, size_t outlen, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;
	if (!outlen)
		return out;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_char(u + i, len - i);
		if (n && u[i] >= 0x20 && u[i] != 0x7f) {
			if (o + n >= outlen)
				break;
			memcpy(out + o, u + i, n);
			o += n;
			i += n;
			continue;
		}
		if (o + 4 >= outlen)
			break;
		snprintf(out + o, 5, "\\x%02x", u[i]);
		o += 4;
		i++;
	}
	out[o] = 0;
	return out;
}
