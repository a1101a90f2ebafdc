/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counter aggregation and the stats JSON document (control thread).
 *
 * bwg_stats_json() is a pure function of a snapshot and its names: it is what the
 * offline tool writes with --stats, what GET /api/v1/stats serves, and what the unit
 * tests compare against golden strings.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_stats.h"

const char *const bwg_drop_names[BWG_DROP_MAX] = {
#define X(id, name) [BWG_DROP_##id] = name,
	BWG_DROP_REASONS(X)
#undef X
};

const char *const bwg_counter_names[BWG_CNT_MAX] = {
#define X(id, name) [BWG_CNT_##id] = name,
	BWG_COUNTERS(X)
#undef X
};

int
bwg_stats_init(struct bwg_stats *s, uint32_t app_count)
{
	memset(s, 0, sizeof(*s));
	s->apps = calloc(app_count ? app_count : 1, sizeof(*s->apps));
	if (!s->apps)
		return -ENOMEM;
	s->app_count = app_count;
	return 0;
}

void
bwg_stats_fini(struct bwg_stats *s)
{
	free(s->apps);
	s->apps = NULL;
	s->app_count = 0;
}

void
bwg_stats_clear(struct bwg_stats *s)
{
	struct bwg_obj_stats *apps = s->apps;
	uint32_t n = s->app_count;
	memset(s, 0, sizeof(*s));
	memset(apps, 0, n * sizeof(*apps));
	s->apps = apps;
	s->app_count = n;
}

static void
obj_add(struct bwg_obj_stats *d, const struct bwg_obj_stats *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		d[i].packets += s[i].packets;
		d[i].bytes += s[i].bytes;
		d[i].flows += s[i].flows;
		d[i].dropped_packets += s[i].dropped_packets;
		d[i].dropped_bytes += s[i].dropped_bytes;
	}
}

void
bwg_stats_add(struct bwg_stats *dst, const struct bwg_stats *src)
{
	for (int i = 0; i < BWG_CNT_MAX; i++)
		dst->cnt[i] += src->cnt[i];
	for (int i = 0; i < BWG_DROP_MAX; i++)
		dst->drops[i] += src->drops[i];
	for (int i = 0; i < BWG_PKT_RESULT_MAX; i++)
		dst->malformed[i] += src->malformed[i];
	dst->flows_active += src->flows_active;
	obj_add(dst->classes, src->classes, BWG_CLASS_SLOTS);
	obj_add(dst->units, src->units, BWG_UNIT_SLOTS);
	uint32_t n = src->app_count < dst->app_count ? src->app_count : dst->app_count;
	obj_add(dst->apps, src->apps, n);
	for (int i = 0; i < BWG_SRC_MAX; i++)
		dst->class_sources[i] += src->class_sources[i];
	dst->dns.responses += src->dns.responses;
	dst->dns.learned += src->dns.learned;
	dst->dns.taught += src->dns.taught;
	dst->dns.malformed += src->dns.malformed;
	dst->dns.evictions += src->dns.evictions;
	dst->dns.busy += src->dns.busy;
	dst->behaviour.flows += src->behaviour.flows;
	dst->behaviour.p2p_flows += src->behaviour.p2p_flows;
	dst->behaviour.tagged += src->behaviour.tagged;
	dst->behaviour.evictions += src->behaviour.evictions;
	dst->behaviour.busy += src->behaviour.busy;
	dst->behaviour.active += src->behaviour.active;
	if (!dst->rules_version)
		dst->rules_version = src->rules_version;
	if (src->rules_version != dst->rules_version)
		return;
	for (uint32_t i = 0; i <= BWG_RULE_MAX; i++) {
		struct bwg_rule_stats *d = &dst->rules[i];
		const struct bwg_rule_stats *r = &src->rules[i];
		d->dropped_packets += r->dropped_packets;
		d->dropped_flows += r->dropped_flows;
		d->would_block_packets += r->would_block_packets;
		d->would_block_flows += r->would_block_flows;
		d->would_limit_packets += r->would_limit_packets;
		d->would_limit_flows += r->would_limit_flows;
	}
}

static json_t *
rule_json(const struct bwg_stats_rule_name *n, const struct bwg_rule_stats *r)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "name", n->name,
			 "action", n->action < BWG_ACTION_MAX ? bwg_action_names[n->action] : "",
			 "mode", n->monitor ? "monitor" : "enforce", "dropped_packets",
			 (json_int_t)r->dropped_packets, "dropped_flows",
			 (json_int_t)r->dropped_flows, "would_block_packets",
			 (json_int_t)r->would_block_packets, "would_block_flows",
			 (json_int_t)r->would_block_flows, "would_limit_packets",
			 (json_int_t)r->would_limit_packets, "would_limit_flows",
			 (json_int_t)r->would_limit_flows);
}

static json_t *
obj_json(const char *name, const struct bwg_obj_stats *o)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "name", name, "packets",
			 (json_int_t)o->packets, "bytes", (json_int_t)o->bytes, "flows",
			 (json_int_t)o->flows, "dropped_packets", (json_int_t)o->dropped_packets,
			 "dropped_bytes", (json_int_t)o->dropped_bytes, "forwarded_packets",
			 (json_int_t)(o->packets - o->dropped_packets), "forwarded_bytes",
			 (json_int_t)(o->bytes - o->dropped_bytes));
}

json_t *
bwg_stats_json(const struct bwg_stats *s, const struct bwg_stats_names *names,
	       uint64_t flow_capacity, json_t *ports, json_t *workers)
{
	const uint64_t *c = s->cnt;
	json_t *doc = json_object();
	json_object_set_new(
		doc, "totals",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "rx_packets",
			  (json_int_t)c[BWG_CNT_RX_PACKETS], "rx_bytes",
			  (json_int_t)c[BWG_CNT_RX_BYTES], "tx_packets",
			  (json_int_t)bwg_stats_tx_packets(c, s->drops), "tx_bytes",
			  (json_int_t)bwg_stats_tx_bytes(c), "dropped_packets",
			  (json_int_t)c[BWG_CNT_DROPPED_PACKETS], "dropped_bytes",
			  (json_int_t)c[BWG_CNT_DROPPED_BYTES]));

	json_t *drops = json_object();
	for (int i = 0; i < BWG_DROP_MAX; i++)
		json_object_set_new(drops, bwg_drop_names[i], json_integer((json_int_t)s->drops[i]));
	json_object_set_new(doc, "drops", drops);

	json_t *mal = json_object();
	for (int i = BWG_PKT_L2_TRUNCATED; i < BWG_PKT_RESULT_MAX; i++)
		json_object_set_new(mal, bwg_pkt_result_names[i],
				    json_integer((json_int_t)s->malformed[i]));
	json_object_set_new(doc, "malformed", mal);

	json_object_set_new(doc, "flows",
			    json_pack("{s:I, s:I, s:I, s:I}", "active",
				      (json_int_t)s->flows_active, "created",
				      (json_int_t)c[BWG_CNT_FLOWS_CREATED], "expired",
				      (json_int_t)c[BWG_CNT_FLOWS_EXPIRED], "capacity",
				      (json_int_t)flow_capacity));

	json_t *cnt = json_object();
	for (int i = 0; i < BWG_CNT_MAX; i++)
		json_object_set_new(cnt, bwg_counter_names[i], json_integer((json_int_t)c[i]));
	json_object_set_new(doc, "counters", cnt);

	json_t *srcs = json_object();
	for (int i = 0; i < BWG_SRC_MAX; i++)
		json_object_set_new(srcs, bwg_class_source_names[i],
				    json_integer((json_int_t)s->class_sources[i]));
	json_object_set_new(doc, "class_sources", srcs);
	json_object_set_new(doc, "dns",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "responses",
				      (json_int_t)s->dns.responses, "learned",
				      (json_int_t)s->dns.learned, "taught",
				      (json_int_t)s->dns.taught, "malformed",
				      (json_int_t)s->dns.malformed, "evictions",
				      (json_int_t)s->dns.evictions, "busy",
				      (json_int_t)s->dns.busy));
	const struct bwg_behaviour_counters *bh = &s->behaviour;
	json_object_set_new(doc, "behaviour",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "flows",
				      (json_int_t)bh->flows, "p2p_flows", (json_int_t)bh->p2p_flows,
				      "tagged", (json_int_t)bh->tagged, "active",
				      (json_int_t)bh->active, "evictions",
				      (json_int_t)bh->evictions, "busy", (json_int_t)bh->busy));

	json_t *classes = json_array();
	for (uint32_t i = 0; i < names->n_classes && i < BWG_CLASS_SLOTS; i++)
		json_array_append_new(classes, obj_json(names->classes[i], &s->classes[i]));
	json_object_set_new(doc, "classes", classes);

	json_t *apps = json_array();
	for (uint32_t i = 0; i < names->n_apps && i < s->app_count; i++)
		if (s->apps[i].packets || s->apps[i].flows)
			json_array_append_new(apps, obj_json(names->apps[i], &s->apps[i]));
	json_object_set_new(doc, "apps", apps);

	json_t *units = json_array();
	for (uint32_t i = 0; i < names->n_units && i < BWG_UNIT_SLOTS; i++)
		json_array_append_new(units, obj_json(i ? names->units[i] : "", &s->units[i]));
	json_object_set_new(doc, "units", units);

	json_t *rules = json_array();
	static const struct bwg_rule_stats none;
	bool counted = names->rules_version == s->rules_version;
	for (uint32_t i = 0; i < names->n_rules && i <= BWG_RULE_MAX; i++)
		json_array_append_new(rules, rule_json(&names->rules[i],
						       counted ? &s->rules[i] : &none));
	json_object_set_new(doc, "rules", rules);

	json_object_set_new(doc, "ports", ports ? ports : json_array());
	json_object_set_new(doc, "workers", workers ? workers : json_array());
	return doc;
}

/* ---- counter slots by name ---------------------------------------------------------------- */

int
bwg_stats_slots_init(struct bwg_stats_slots *t, uint32_t cap, bool no_unit_slot)
{
	memset(t, 0, sizeof(*t));
	t->names = calloc(cap, sizeof(*t->names));
	t->version = calloc(cap, sizeof(*t->version));
	t->base = calloc(cap, sizeof(*t->base));
	if (!t->names || !t->version || !t->base) {
		bwg_stats_slots_fini(t);
		return -ENOMEM;
	}
	t->cap = cap;
	if (no_unit_slot) {
		t->n = 1; /* slot 0: "", no unit, forever */
		t->version[0] = UINT32_MAX;
	}
	return 0;
}

void
bwg_stats_slots_fini(struct bwg_stats_slots *t)
{
	free(t->names);
	free(t->version);
	free(t->base);
	memset(t, 0, sizeof(*t));
}

static int
slot_of(const struct bwg_stats_slots *t, const char *name)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (strcmp(t->names[i], name) == 0)
			return (int)i;
	return -1;
}

int
bwg_stats_slots_bind(struct bwg_stats_slots *t, const char *const *names, uint32_t n,
		     uint32_t version, uint32_t oldest_live, const struct bwg_obj_stats *sums,
		     uint16_t *out)
{
	/* Plan first, so that a failure changes nothing. */
	int plan[BWG_UNIT_SLOTS];
	bool taken[BWG_UNIT_SLOTS] = {false};
	uint32_t fresh = t->n;
	if (n > BWG_UNIT_SLOTS || t->cap > BWG_UNIT_SLOTS)
		return -ENOSPC;
	for (uint32_t i = 0; i < n; i++)
		if ((plan[i] = slot_of(t, names[i])) >= 0)
			taken[plan[i]] = true;
	for (uint32_t i = 0; i < n; i++) {
		if (plan[i] >= 0)
			continue;
		if (fresh < t->cap) {
			plan[i] = (int)fresh++;
			continue;
		}
		int best = -1; /* the slot whose name left the live policies longest ago */
		for (uint32_t k = 0; k < t->n; k++)
			if (!taken[k] && t->version[k] < oldest_live &&
			    (best < 0 || t->version[k] < t->version[best]))
				best = (int)k;
		if (best < 0)
			return -ENOSPC;
		taken[best] = true;
		plan[i] = best;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = (uint32_t)plan[i];
		if (k >= t->n || strcmp(t->names[k], names[i]) != 0) {
			snprintf(t->names[k], BWG_NAME_MAX, "%s", names[i]);
			t->base[k] = sums[k]; /* a fresh slot counted nothing: zero */
		}
		if (t->version[k] != UINT32_MAX)
			t->version[k] = version;
		out[i] = (uint16_t)k;
	}
	t->n = fresh;
	return 0;
}

void
bwg_stats_slots_rebase(const struct bwg_stats_slots *t, struct bwg_obj_stats *sums)
{
	for (uint32_t i = 0; i < t->n; i++) {
		sums[i].packets -= t->base[i].packets;
		sums[i].bytes -= t->base[i].bytes;
		sums[i].flows -= t->base[i].flows;
		sums[i].dropped_packets -= t->base[i].dropped_packets;
		sums[i].dropped_bytes -= t->base[i].dropped_bytes;
	}
}

void
bwg_stats_slots_names(const struct bwg_stats_slots *t, const char **names)
{
	for (uint32_t i = 0; i < t->n; i++)
		names[i] = t->names[i];
}
