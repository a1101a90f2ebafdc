/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON report (doc/operations.md, "Violation reports", documents its shape): one
 * object built with jansson from the view, so it holds the same rows in the same
 * order as the text report. Counts are numbers, times ISO 8601 with the zone's offset
 * (null when there is none), units as the gate wrote them ("" for no unit), and every
 * list of hosts and apps says how much lies beyond its top N.
 */

#include <string.h>

#include "report.h"

/* A string jansson takes; bytes that are not UTF-8 (a file name) shown as \xNN. */
static json_t *
str(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	char buf[1024];
	return json_string(rpt_text_safe(s, buf, sizeof(buf)));
}

static json_t *
time_json(const struct rpt *r, int64_t us)
{
	char buf[40];
	if (us == INT64_MAX || us == INT64_MIN)
		return json_null();
	return json_string(rpt_time(r, us, RPT_TIME_ISO, buf, sizeof(buf)));
}

static json_t *
by_class(const struct rpt *r, const uint32_t *counts)
{
	json_t *o = json_object();
	for (uint32_t k = 0; k < r->classes.n; k++)
		if (counts[k])
			json_object_set_new(o, r->classes.names[k], json_integer(counts[k]));
	return o;
}

static json_t *
items_json(const struct rpt *r, const struct rpt_item_count *v, uint32_t n, enum rpt_item kind)
{
	const struct rpt_strtab *names = kind == RPT_ITEM_HOST ? &r->hosts : &r->apps;
	json_t *a = json_array();
	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:o, s:I}",
						   kind == RPT_ITEM_HOST ? "host" : "app",
						   str(names->names[v[i].id]), "attempts",
						   (json_int_t)v[i].count));
	return a;
}

/* The fields units and users share. */
static void
counts_json(json_t *o, const struct rpt *r, const struct rpt_counts *c, const struct rpt_items *it)
{
	json_object_set_new(o, "blocked", json_integer((json_int_t)c->blocked));
	json_object_set_new(o, "limited", json_integer((json_int_t)c->limited));
	json_object_set_new(o, "by_class", by_class(r, c->by_class));
	json_object_set_new(o, "first_attempt", time_json(r, c->first_us));
	json_object_set_new(o, "last_attempt", time_json(r, c->last_us));
	if (!it)
		return;
	json_object_set_new(o, "hosts", items_json(r, it->hosts, it->n_hosts, RPT_ITEM_HOST));
	json_object_set_new(o, "more_hosts",
			    json_pack("{s:I, s:I, s:I}", "hosts",
				      (json_int_t)(it->distinct_hosts - it->n_hosts), "attempts",
				      (json_int_t)it->more_hosts, "not_kept",
				      (json_int_t)c->other_hosts));
	json_object_set_new(o, "apps", items_json(r, it->apps, it->n_apps, RPT_ITEM_APP));
	json_object_set_new(o, "more_apps",
			    json_pack("{s:I, s:I, s:I}", "apps",
				      (json_int_t)(it->distinct_apps - it->n_apps), "attempts",
				      (json_int_t)it->more_apps, "not_kept",
				      (json_int_t)c->other_apps));
}

static json_t *
series_json(const struct rpt *r)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < r->n_buckets; i++) {
		const struct rpt_bucket *b = &r->buckets[i];
		uint64_t blocked = 0;
		for (uint32_t k = 0; k < r->classes.n; k++)
			blocked += b->blocked[k];
		char buf[40];
		int64_t start = rpt_bucket_start(r, r->bucket0 + i);
		json_array_append_new(a, json_pack("{s:s, s:I, s:o, s:I}", "start",
						   rpt_time(r, start * 1000000, RPT_TIME_ISO, buf,
							    sizeof(buf)),
						   "blocked", (json_int_t)blocked, "by_class",
						   by_class(r, b->blocked), "limited",
						   (json_int_t)b->limited));
	}
	return a;
}

int
rpt_write_json(const struct rpt *r, const struct rpt_view *v, FILE *f)
{
	char buf[512];
	json_t *doc = json_object();
	json_object_set_new(doc, "report", json_string("bwgate violations"));
	json_object_set_new(doc, "generated", time_json(r, r->generated * 1000000));
	json_object_set_new(doc, "config", str(r->conf->path));
	json_object_set_new(doc, "timezone", str(r->conf->timezone));
	json_object_set_new(
		doc, "period",
		json_pack("{s:s, s:o, s:o, s:s, s:o, s:o}", "label", r->period.label, "from",
			  r->period.from == INT64_MIN ? json_null()
						      : time_json(r, r->period.from * 1000000),
			  "to",
			  r->period.to == INT64_MAX ? json_null() : time_json(r, r->period.to * 1000000),
			  "buckets", r->hourly ? "hour" : "day", "first_event",
			  time_json(r, r->seen_first_us), "last_event", time_json(r, r->seen_last_us)));
	json_t *flt = json_object();
	json_object_set_new(flt, "unit", r->unit_filter ? str(r->unit_filter) : json_null());
	if (r->user_filter) {
		char ip[64];
		bwg_log_format_ip(r->user_cidr.family, r->user_cidr.addr, ip, sizeof(ip));
		snprintf(buf, sizeof(buf), "%s/%u", ip, r->user_cidr.len);
		json_object_set_new(flt, "user", json_string(buf));
	} else {
		json_object_set_new(flt, "user", json_null());
	}
	json_object_set_new(doc, "filter", flt);

	json_t *tot = json_object();
	json_object_set_new(tot, "units", json_integer(v->n_units));
	json_object_set_new(tot, "users", json_integer(r->n_users));
	counts_json(tot, r, &r->total, NULL);
	json_object_set_new(doc, "totals", tot);

	json_t *units = json_array();
	for (uint32_t i = 0; i < v->n_units; i++) {
		const struct rpt_unit *u = &r->unit_v[v->units[i]];
		json_t *o = json_object();
		json_object_set_new(o, "unit", str(r->units.names[v->units[i]]));
		json_object_set_new(o, "users", json_integer(u->users));
		counts_json(o, r, &u->c, &v->unit_items[v->units[i]]);
		if (u->untracked)
			json_object_set_new(o, "events_of_users_not_kept",
					    json_integer((json_int_t)u->untracked));
		json_array_append_new(units, o);
	}
	json_object_set_new(doc, "units", units);

	json_t *users = json_array();
	for (uint32_t i = 0; i < v->n_users; i++) {
		const struct rpt_user *u = &r->users[v->users[i]];
		char a[64];
		json_t *o = json_object();
		json_object_set_new(o, "user", json_string(rpt_user_addr(u, a, sizeof(a))));
		json_object_set_new(o, "unit", str(r->units.names[u->unit]));
		counts_json(o, r, &u->c, &v->user_items[v->users[i]]);
		if (u->plan_differs)
			json_object_set_new(o, "plan_differs", json_true());
		json_array_append_new(users, o);
	}
	json_object_set_new(doc, "users", users);
	json_object_set_new(doc, "users_listed",
			    json_pack("{s:I, s:I}", "listed", (json_int_t)v->n_users, "of",
				      (json_int_t)v->n_users_all));

	json_t *hosts = json_array();
	for (uint32_t i = 0; i < v->n_top_hosts; i++) {
		const struct rpt_host *h = &r->host_v[v->top_hosts[i].id];
		json_array_append_new(hosts,
				      json_pack("{s:o, s:o, s:I, s:I}", "host",
						str(r->hosts.names[v->top_hosts[i].id]), "class",
						str(r->classes.names[h->cls]), "attempts",
						(json_int_t)h->attempts, "users", (json_int_t)h->users));
	}
	json_object_set_new(doc, "top_hosts", hosts);
	json_object_set_new(doc, "series", series_json(r));

	json_t *skipped = json_object();
	for (int i = 0; i < RPT_SKIP_MAX; i++)
		json_object_set_new(skipped, rpt_skip_keys[i], json_integer((json_int_t)r->skipped[i]));
	json_object_set_new(
		doc, "lines",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I}", "read",
			  (json_int_t)r->lines, "block", (json_int_t)r->total.blocked, "limit",
			  (json_int_t)r->total.limited, "outside_period", (json_int_t)r->outside,
			  "filtered_out", (json_int_t)r->filtered, "flow_end",
			  (json_int_t)r->flow_end, "other_events", (json_int_t)r->other_events,
			  "skipped", skipped, "plan_differs", (json_int_t)r->plan_differs));
	json_object_set_new(doc, "skipped_lines", json_integer((json_int_t)rpt_skipped_total(r)));
	json_object_set_new(
		doc, "not_kept",
		json_pack("{s:I, s:I, s:I, s:I}", "events_of_users", (json_int_t)r->users_untracked,
			  "host_attempts", (json_int_t)r->hosts_untracked, "pair_counts",
			  (json_int_t)r->pairs_untracked, "series_events",
			  (json_int_t)r->buckets_untracked));

	json_t *src = json_array();
	for (uint32_t i = 0; i < r->n_sources; i++) {
		const struct rpt_source *s = &r->sources[i];
		json_array_append_new(src, json_pack("{s:o, s:b, s:o, s:I, s:I, s:o}", "file",
						     str(s->path), "read", !s->skipped_by_name,
						     "gzip", s->skipped_by_name ? json_null()
									   : json_boolean(s->gz),
						     "lines", (json_int_t)s->lines,
						     "bytes", (json_int_t)s->bytes, "problem",
						     s->problem[0] ? json_string(s->problem)
								   : json_null()));
	}
	json_object_set_new(doc, "sources", src);

	int rc = json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', f);
	json_decref(doc);
	return rc < 0 || ferror(f) ? -1 : 0;
}
