/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The users' documents: GET /api/v1/top?by=hosts, /api/v1/hosts/ADDR and
 * /api/v1/units/NAME, as pure functions of the users table (lib/stats/users.c), the
 * snapshot that names its counter slots and the flow list (HTTP thread, under the API's
 * lock; the unit tests call them without EAL).
 *
 * A user's counters are what its flows were folded into, so its classes add up to the
 * class totals and a unit's users to the unit's. Its apps, names and active flows come
 * from the flow list (the largest active flows, refreshed on a schedule): they say what
 * the user is doing now, not since it was first seen.
 */

#include <stdlib.h>
#include <string.h>

#include "bwg_api.h"

static double
unix_s(uint64_t ns)
{
	return (double)(ns / 1000) / 1e6;
}

/* bits per second of `bytes` over the users' last interval. */
static double
bps(const struct bwg_users *u, uint64_t bytes)
{
	return u->interval_ns ? 8.0 * (double)bytes * 1e9 / (double)u->interval_ns : 0.0;
}

static const char *
slot_name(const char (*names)[BWG_NAME_MAX], uint32_t n, uint32_t slot)
{
	return slot < n ? names[slot] : "";
}

/* What a listing counts of user x: all its classes, or the one of slot cls (-1: all). */
struct user_sum {
	uint64_t pkts[2], bytes[2], dropped_pkts, dropped_bytes, blocked, limited, rate;
	uint64_t dropped_rate; /* of rate, dropped */
	double up_bps, down_bps, dropped_bps;
};

/* Add class counters c of user x to t. */
static void
class_add(struct user_sum *t, const struct bwg_users *u, const struct bwg_user *x,
	  const struct bwg_user_class *c)
{
	for (int d = 0; d < 2; d++) {
		t->pkts[d] += c->pkts[d];
		t->bytes[d] += c->bytes[d];
	}
	t->dropped_pkts += c->dropped_pkts;
	t->dropped_bytes += c->dropped_bytes;
	t->blocked += c->blocked;
	t->limited += c->limited;
	t->rate += bwg_users_rate(u, x, c->acc_bytes, c->prev_bytes);
	t->dropped_rate += bwg_users_rate(u, x, c->acc_dropped, c->prev_dropped);
}

static void
user_sum(const struct bwg_users *u, const struct bwg_user *x, int cls, struct user_sum *t)
{
	memset(t, 0, sizeof(*t));
	for (uint32_t k = 0; k < x->n_classes; k++)
		if (cls < 0 || x->cls[k].slot == cls)
			class_add(t, u, x, &x->cls[k]);
	if (cls < 0) {
		t->up_bps = bps(u, bwg_users_rate(u, x, x->acc_bytes[0], x->prev_bytes[0]));
		t->down_bps = bps(u, bwg_users_rate(u, x, x->acc_bytes[1], x->prev_bytes[1]));
	} else {
		t->up_bps = bps(u, t->rate); /* a class's rate is kept both ways together */
	}
	t->dropped_bps = bps(u, t->dropped_rate);
}

static json_t *
sum_json(const struct user_sum *t)
{
	uint64_t bytes = t->bytes[0] + t->bytes[1];
	uint64_t dropped = t->dropped_bytes < bytes ? t->dropped_bytes : bytes;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "bytes",
			 (json_int_t)bytes, "forwarded_bytes", (json_int_t)(bytes - dropped),
			 "dropped_bytes", (json_int_t)dropped, "packets",
			 (json_int_t)(t->pkts[0] + t->pkts[1]), "bytes_up", (json_int_t)t->bytes[0],
			 "bytes_down", (json_int_t)t->bytes[1], "packets_up",
			 (json_int_t)t->pkts[0], "packets_down", (json_int_t)t->pkts[1],
			 "dropped_packets", (json_int_t)t->dropped_pkts, "blocked_flows",
			 (json_int_t)t->blocked,
			 "limited_flows", (json_int_t)t->limited);
}

/* o with t's counters after what it holds. */
static void
sums_add(json_t *o, const struct user_sum *t)
{
	json_t *sum = sum_json(t);
	json_object_update(o, sum);
	json_decref(sum);
}

/*
 * User x, counting its class of slot cls only (-1: all): its address, unit, counters,
 * rates, flows and times. of_class: the class's item of a user's document instead, named
 * by the class.
 */
static json_t *
user_item(const struct bwg_api_snapshot *s, const struct bwg_users *u, const struct bwg_user *x,
	  int cls, bool of_class)
{
	char a[64];
	struct user_sum t;
	user_sum(u, x, cls, &t);
	json_t *o;
	if (!of_class) {
		bwg_log_format_ip(x->family, x->addr, a, sizeof(a));
		o = json_pack("{s:s, s:s}", "name", a, "unit",
			      slot_name(s->unit_names, s->n_units, x->unit_slot));
	} else {
		o = json_pack("{s:s}", "name", slot_name(s->class_names, s->n_classes,
							 (uint32_t)cls));
	}
	sums_add(o, &t);
	json_object_set_new(o, "interval_bytes", json_integer((json_int_t)t.rate));
	if (cls < 0) {
		json_object_set_new(o, "up_bps", json_real(t.up_bps));
		json_object_set_new(o, "down_bps", json_real(t.down_bps));
	}
	double offered = cls < 0 ? t.up_bps + t.down_bps : t.up_bps;
	double dropped = t.dropped_bps < offered ? t.dropped_bps : offered;
	json_object_set_new(o, "offered_bps", json_real(offered));
	json_object_set_new(o, "forwarded_bps", json_real(offered - dropped));
	json_object_set_new(o, "dropped_bps", json_real(dropped));
	if (!of_class) {
		json_object_set_new(o, "flows", json_integer((json_int_t)x->flows));
		json_object_set_new(o, "first_seen", json_real(unix_s(x->first_ns)));
		json_object_set_new(o, "last_seen", json_real(unix_s(x->last_ns)));
	}
	return o;
}

struct rank {
	const struct bwg_user *x;
	uint64_t rate, bytes;
};

static int
rank_cmp(const void *a, const void *b)
{
	const struct rank *p = a, *q = b;
	if (p->rate != q->rate)
		return p->rate < q->rate ? 1 : -1;
	if (p->bytes != q->bytes)
		return p->bytes < q->bytes ? 1 : -1;
	if (p->x->family != q->x->family)
		return p->x->family < q->x->family ? -1 : 1;
	return memcmp(p->x->addr, q->x->addr, 16);
}

/* The users of unit slot `unit` (-1: any) with traffic or attempts in class slot `cls`
 * (-1: any), busiest first; *n of them. NULL when out of memory. */
static struct rank *
ranked(const struct bwg_users *u, int unit, int cls, uint32_t *n)
{
	struct rank *r = calloc(u->n ? u->n : 1, sizeof(*r));
	*n = 0;
	if (!r)
		return NULL;
	for (uint32_t i = u->lru_head; i != BWG_USER_NONE; i = u->v[i].lru_next) {
		const struct bwg_user *x = &u->v[i];
		if (unit >= 0 && x->unit_slot != unit)
			continue;
		struct user_sum t;
		user_sum(u, x, cls, &t);
		uint64_t bytes = t.bytes[0] + t.bytes[1];
		if (cls >= 0 && !bytes && !t.blocked && !t.limited)
			continue;
		r[(*n)++] = (struct rank){x, t.rate, bytes};
	}
	qsort(r, *n, sizeof(*r), rank_cmp);
	return r;
}

static json_t *
table_json(const struct bwg_users *u)
{
	return json_pack("{s:i, s:i, s:I, s:I}", "hosts", (int)u->n, "capacity", (int)u->cap,
			 "evictions", (json_int_t)u->evictions, "deltas_lost",
			 (json_int_t)u->deltas_lost);
}

json_t *
bwg_api_top_hosts_json(const struct bwg_api_snapshot *s, const struct bwg_users *u,
		       uint32_t limit, int unit, int cls)
{
	uint32_t n;
	struct rank *r = ranked(u, unit, cls, &n);
	if (!r)
		return NULL;
	json_t *a = json_array();
	for (uint32_t i = 0; i < n && i < limit; i++)
		json_array_append_new(a, user_item(s, u, r[i].x, cls, false));
	free(r);
	json_t *doc = json_pack("{s:s, s:i, s:f, s:o, s:o}", "by", "hosts", "limit", (int)limit,
				"interval_s", (double)u->interval_ns / 1e9, "users",
				table_json(u), "top", a);
	if (unit >= 0)
		json_object_set_new(doc, "unit",
				    json_string(slot_name(s->unit_names, s->n_units, (uint32_t)unit)));
	if (cls >= 0)
		json_object_set_new(doc, "class", json_string(slot_name(s->class_names, s->n_classes,
									(uint32_t)cls)));
	return doc;
}

static json_t *
block_json(const struct bwg_user_block *b)
{
	char peer[64], proto[16];
	bwg_log_format_ip(b->family, b->peer, peer, sizeof(peer));
	return json_pack("{s:f, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "time",
			 unix_s(b->time_ns), "action",
			 b->action < BWG_ACTION_MAX ? bwg_action_names[b->action] : "",
			 "class", b->cls, "rule", b->rule, "app", b->app, "host", b->host, "peer",
			 peer, "proto", bwg_log_proto_name(b->proto, proto, sizeof(proto)), "port",
			 (int)b->port);
}

/* x's blocks, newest first, appended to a. */
static void
blocks_append(json_t *a, const struct bwg_user *x)
{
	for (uint32_t k = 0; k < x->n_blocks; k++) {
		uint32_t i = (x->block_next + BWG_USER_BLOCKS - 1 - k) % BWG_USER_BLOCKS;
		json_array_append_new(a, block_json(&x->blocks[i]));
	}
}

/* One kept block of one user, for sorting across users. */
struct blk_ref {
	const struct bwg_user *x;
	const struct bwg_user_block *b;
};

static int
blk_cmp(const void *a, const void *b)
{
	const struct blk_ref *p = a, *q = b;
	if (p->b->time_ns != q->b->time_ns)
		return p->b->time_ns < q->b->time_ns ? 1 : -1;
	return rank_cmp(&(struct rank){p->x, 0, 0}, &(struct rank){q->x, 0, 0});
}

/* The `limit` newest blocks of the users of unit slot `unit` (-1: any), each with its
 * user's address and unit. NULL when out of memory. */
static json_t *
recent_blocks(const struct bwg_api_snapshot *s, const struct bwg_users *u, int unit,
	      uint32_t limit)
{
	size_t n = 0, cap = (size_t)u->n * BWG_USER_BLOCKS;
	struct blk_ref *r = calloc(cap ? cap : 1, sizeof(*r));
	if (!r)
		return NULL;
	for (uint32_t i = u->lru_head; i != BWG_USER_NONE; i = u->v[i].lru_next) {
		const struct bwg_user *x = &u->v[i];
		if (unit >= 0 && x->unit_slot != unit)
			continue;
		for (uint32_t k = 0; k < x->n_blocks && n < cap; k++)
			r[n++] = (struct blk_ref){x, &x->blocks[k]};
	}
	qsort(r, n, sizeof(*r), blk_cmp);
	json_t *a = json_array();
	for (size_t i = 0; i < n && i < limit; i++) {
		char addr[64];
		json_t *o = block_json(r[i].b);
		bwg_log_format_ip(r[i].x->family, r[i].x->addr, addr, sizeof(addr));
		json_object_set_new(o, "user", json_string(addr));
		json_object_set_new(o, "unit", json_string(slot_name(s->unit_names, s->n_units,
								      r[i].x->unit_slot)));
		json_array_append_new(a, o);
	}
	free(r);
	return a;
}

json_t *
bwg_api_blocks_json(const struct bwg_api_snapshot *s, const struct bwg_users *u, uint32_t limit)
{
	json_t *a = recent_blocks(s, u, -1, limit);
	if (!a)
		return NULL;
	return json_pack("{s:i, s:o, s:o}", "limit", (int)limit, "users", table_json(u), "blocks",
			 a);
}

/* Name -> bytes and flows, from flow views: the user's apps and host names. */
struct tally {
	const char *name;
	uint64_t bytes, flows;
};

static void
tally_add(struct tally *t, uint32_t *n, uint32_t cap, const char *name, uint64_t bytes)
{
	if (!name[0])
		return;
	for (uint32_t i = 0; i < *n; i++)
		if (strcmp(t[i].name, name) == 0) {
			t[i].bytes += bytes;
			t[i].flows++;
			return;
		}
	if (*n < cap)
		t[(*n)++] = (struct tally){name, bytes, 1};
}

static int
tally_cmp(const void *a, const void *b)
{
	const struct tally *p = a, *q = b;
	if (p->bytes != q->bytes)
		return p->bytes < q->bytes ? 1 : -1;
	return strcmp(p->name, q->name);
}

static json_t *
tally_json(struct tally *t, uint32_t n, uint32_t limit)
{
	qsort(t, n, sizeof(*t), tally_cmp);
	json_t *a = json_array();
	for (uint32_t i = 0; i < n && i < limit; i++)
		json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "name", t[i].name, "bytes",
						   (json_int_t)t[i].bytes, "flows",
						   (json_int_t)t[i].flows));
	return a;
}

#define HOST_FLOWS_MAX 20
#define HOST_TALLY_MAX 64
#define HOST_TOP_MAX 10

json_t *
bwg_api_host_json(const struct bwg_api_snapshot *s, const struct bwg_users *u,
		  const struct bwg_user *x, const struct bwg_api_flows *fl)
{
	json_t *doc = user_item(s, u, x, -1, false);
	json_t *cl = json_array();
	for (uint32_t k = 0; k < x->n_classes; k++) {
		const struct bwg_user_class *c = &x->cls[k];
		json_array_append_new(cl, user_item(s, u, x, c->slot, true));
	}
	json_object_set_new(doc, "classes", cl);
	if (x->overflow_pkts)
		json_object_set_new(doc, "other_classes",
				    json_pack("{s:I, s:I}", "bytes", (json_int_t)x->overflow_bytes,
					      "packets", (json_int_t)x->overflow_pkts));
	json_t *blocks = json_array();
	blocks_append(blocks, x);
	json_object_set_new(doc, "recent_blocks", blocks);

	/* What it does now, from the flow list. */
	struct bwg_api_flow_filter flt = {.address = true, .family = x->family,
					  .prefix_len = x->family == 4 ? 32 : 128};
	memcpy(flt.addr, x->addr, 16);
	struct tally apps[HOST_TALLY_MAX], names[HOST_TALLY_MAX];
	uint32_t na = 0, nn = 0, matched = 0;
	json_t *flows = json_array();
	for (uint32_t i = 0; fl && i < fl->n; i++) {
		const struct bwg_flow_view *v = &fl->views[i];
		if (!bwg_api_flow_matches(v, &flt))
			continue;
		uint64_t b = v->bytes[0] + v->bytes[1];
		tally_add(apps, &na, HOST_TALLY_MAX, v->app, b);
		tally_add(names, &nn, HOST_TALLY_MAX, v->host, b);
		if (matched++ < HOST_FLOWS_MAX)
			json_array_append_new(flows, bwg_log_flow_json(v));
	}
	json_object_set_new(doc, "top_apps", tally_json(apps, na, HOST_TOP_MAX));
	json_object_set_new(doc, "top_hosts", tally_json(names, nn, HOST_TOP_MAX));
	json_object_set_new(doc, "active_flows", json_integer(matched));
	json_object_set_new(doc, "active", flows); /* "flows" counts all it started */
	json_object_set_new(doc, "flows_as_of", json_real(fl ? unix_s(fl->as_of_ns) : 0.0));
	json_object_set_new(doc, "interval_s", json_real((double)u->interval_ns / 1e9));
	return doc;
}

#define UNIT_BLOCKS_MAX 20

json_t *
bwg_api_unit_json(const struct bwg_api_snapshot *s, const struct bwg_users *u, uint32_t unit,
		  uint32_t limit)
{
	const struct bwg_obj_stats *c = &s->cur.units[unit], *p = &s->prev.units[unit];
	double sec = (double)s->interval_ns / 1e9;
	double obps = s->interval_ns && c->bytes >= p->bytes ? 8.0 * (double)(c->bytes - p->bytes) / sec
							      : 0.0;
	double dbps = s->interval_ns && c->dropped_bytes >= p->dropped_bytes
			  ? 8.0 * (double)(c->dropped_bytes - p->dropped_bytes) / sec
			  : 0.0;
	json_t *doc = json_pack(
	    "{s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f}", "name",
	    slot_name(s->unit_names, s->n_units, unit), "bytes", (json_int_t)c->bytes, "packets",
	    (json_int_t)c->packets, "flows", (json_int_t)c->flows, "dropped_packets",
	    (json_int_t)c->dropped_packets, "dropped_bytes", (json_int_t)c->dropped_bytes,
	    "offered_bps", obps, "forwarded_bps", obps > dbps ? obps - dbps : 0.0, "dropped_bps",
	    dbps, "interval_s", sec);

	/* Its classes: its users' classes summed. */
	struct user_sum cls[BWG_CLASS_SLOTS];
	memset(cls, 0, sizeof(cls));
	bool seen[BWG_CLASS_SLOTS] = {false};
	uint32_t n;
	struct rank *r = ranked(u, (int)unit, -1, &n);
	if (!r) {
		json_decref(doc);
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct bwg_user *x = r[i].x;
		for (uint32_t k = 0; k < x->n_classes; k++) {
			const struct bwg_user_class *uc = &x->cls[k];
			if (uc->slot >= BWG_CLASS_SLOTS)
				continue;
			seen[uc->slot] = true;
			class_add(&cls[uc->slot], u, x, uc);
		}
	}
	json_t *ca = json_array();
	for (uint32_t k = 0; k < BWG_CLASS_SLOTS; k++) {
		if (!seen[k])
			continue;
		json_t *o = json_pack("{s:s}", "name", slot_name(s->class_names, s->n_classes, k));
		sums_add(o, &cls[k]);
		json_object_set_new(o, "interval_bytes", json_integer((json_int_t)cls[k].rate));
		json_object_set_new(o, "offered_bps", json_real(bps(u, cls[k].rate)));
		json_array_append_new(ca, o);
	}
	json_object_set_new(doc, "classes", ca);
	json_t *top = json_array();
	for (uint32_t i = 0; i < n && i < limit; i++)
		json_array_append_new(top, user_item(s, u, r[i].x, -1, false));
	free(r);
	json_object_set_new(doc, "hosts", json_integer(n));
	json_object_set_new(doc, "top_users", top);
	/* Recent blocks of all its users, newest first. */
	json_t *recent = recent_blocks(s, u, (int)unit, UNIT_BLOCKS_MAX);
	json_object_set_new(doc, "recent_blocks", recent ? recent : json_array());
	json_object_set_new(doc, "users", table_json(u));
	return doc;
}
