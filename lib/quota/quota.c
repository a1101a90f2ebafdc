/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Quota usage shared by the workers, and its state file (see bwg_quota.h).
 *
 * Slots: open addressing with linear probing, keyed with the process secret (a user's
 * address is what outsiders may choose), never deleted while the gate runs, so a
 * probe sequence stays valid without locks: a claimed slot is filled, then published
 * with a release store; readers skip slots not yet live.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bwg_hash.h"
#include "bwg_log.h"
#include "bwg_policy.h"
#include "bwg_quota.h"

enum { SLOT_FREE, SLOT_BUSY, SLOT_LIVE };

#define STATE_MAX_BYTES (256ull << 20)

int
bwg_quotas_create(struct bwg_quotas **out, uint32_t cap)
{
	struct bwg_quotas *q = calloc(1, sizeof(*q));
	uint32_t slots = 64;
	while (slots < cap + cap / 3 && slots < (1u << 30))
		slots <<= 1;
	if (q)
		q->v = aligned_alloc(64, (size_t)slots * sizeof(*q->v));
	if (!q || !q->v) {
		free(q);
		return -ENOMEM;
	}
	memset(q->v, 0, (size_t)slots * sizeof(*q->v));
	for (uint32_t i = 0; i < slots; i++)
		atomic_flag_clear(&q->v[i].lock);
	q->mask = slots - 1;
	q->cap = slots / 4 * 3;
	*out = q;
	return 0;
}

void
bwg_quotas_destroy(struct bwg_quotas *q)
{
	if (!q)
		return;
	free(q->v);
	free(q);
}

uint64_t
bwg_quota_rule_id(const char *name)
{
	/* FNV-1a: rule names are the operator's, not an outsider's. */
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return h | 1; /* never 0 */
}

static inline uint32_t
slot_of(const struct bwg_quotas *q, uint64_t rule, uint8_t family, const uint8_t *addr)
{
	uint64_t a[2];
	memcpy(a, addr, sizeof(a));
	return (uint32_t)bwg_siphash13_5w(&bwg_hash_secret, rule, a[0], a[1], family, 0) & q->mask;
}

static inline bool
same(const struct bwg_quota *e, uint64_t rule, uint8_t family, const uint8_t *addr)
{
	return e->rule == rule && e->family == family && memcmp(e->addr, addr, 16) == 0;
}

struct bwg_quota *
bwg_quotas_find(const struct bwg_quotas *q, uint64_t rule, uint8_t family, const uint8_t *addr)
{
	for (uint32_t i = slot_of(q, rule, family, addr), k = 0; k <= q->mask;
	     i = (i + 1) & q->mask, k++) {
		struct bwg_quota *e = &q->v[i];
		uint32_t st = atomic_load_explicit(&e->state, memory_order_acquire);
		if (st == SLOT_FREE)
			return NULL;
		if (st == SLOT_LIVE && same(e, rule, family, addr))
			return e;
	}
	return NULL;
}

struct bwg_quota *
bwg_quotas_get(struct bwg_quotas *q, uint64_t rule, uint8_t family, const uint8_t *addr,
	       int32_t period)
{
	for (uint32_t i = slot_of(q, rule, family, addr), k = 0; k <= q->mask;
	     i = (i + 1) & q->mask, k++) {
		struct bwg_quota *e = &q->v[i];
		uint32_t st = atomic_load_explicit(&e->state, memory_order_acquire);
		while (st == SLOT_BUSY) /* another worker is filling it: a few stores away */
			st = atomic_load_explicit(&e->state, memory_order_acquire);
		if (st == SLOT_LIVE) {
			if (same(e, rule, family, addr))
				return e;
			continue;
		}
		if (atomic_fetch_add_explicit(&q->n, 1, memory_order_relaxed) >= q->cap) {
			atomic_fetch_sub_explicit(&q->n, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&q->full, 1, memory_order_relaxed);
			return NULL;
		}
		uint32_t want = SLOT_FREE;
		if (!atomic_compare_exchange_strong_explicit(&e->state, &want, SLOT_BUSY,
							     memory_order_acquire,
							     memory_order_acquire)) {
			/* Taken meanwhile: look at it again. */
			atomic_fetch_sub_explicit(&q->n, 1, memory_order_relaxed);
			while ((st = atomic_load_explicit(&e->state, memory_order_acquire)) ==
			       SLOT_BUSY)
				;
			if (same(e, rule, family, addr))
				return e;
			continue;
		}
		e->rule = rule;
		e->family = family;
		memcpy(e->addr, addr, 16);
		atomic_store_explicit(&e->period, period, memory_order_relaxed);
		atomic_store_explicit(&e->state, SLOT_LIVE, memory_order_release);
		return e;
	}
	return NULL;
}

bool
bwg_quota_count(struct bwg_quota *e, const struct bwg_conf_rule *r, uint32_t bytes,
		uint64_t now_ns)
{
	atomic_fetch_add_explicit(&e->bytes, bytes, memory_order_relaxed);
	int64_t minute = (int64_t)(now_ns / 60000000000ull);
	int64_t last = atomic_load_explicit(&e->last_minute, memory_order_relaxed);
	if (minute != last &&
	    atomic_compare_exchange_strong_explicit(&e->last_minute, &last, minute,
						    memory_order_relaxed, memory_order_relaxed))
		atomic_fetch_add_explicit(&e->minutes, 1, memory_order_relaxed);
	if (!bwg_quota_over(e, r) || atomic_load_explicit(&e->crossed, memory_order_relaxed))
		return false;
	return atomic_exchange_explicit(&e->crossed, 1, memory_order_relaxed) == 0;
}

/*
 * Take a frame from one of the user's bucket pairs (the quota's then-limit, the
 * penalty's) under the entry's lock; a pair set for another rate (first use, or the
 * policy changed it) starts full at the new one.
 */
static bool
user_take(struct bwg_quota *e, struct bwg_meter *pair, uint64_t *rate, uint64_t *burst,
	  uint64_t want_rate, uint64_t want_burst, int dir, uint64_t now_ns, uint32_t bytes)
{
	while (atomic_flag_test_and_set_explicit(&e->lock, memory_order_acquire))
		;
	if (*rate != want_rate || *burst != want_burst) {
		*rate = want_rate;
		*burst = want_burst;
		bwg_meter_init(&pair[0], want_rate, want_burst, now_ns);
		bwg_meter_init(&pair[1], want_rate, want_burst, now_ns);
	}
	bool ok = bwg_meter_take(&pair[dir], now_ns, bytes);
	atomic_flag_clear_explicit(&e->lock, memory_order_release);
	return ok;
}

bool
bwg_quota_then_take(struct bwg_quota *e, const struct bwg_conf_rule *r, int dir,
		    uint64_t now_ns, uint32_t bytes)
{
	return user_take(e, e->then, &e->then_rate, &e->then_burst, r->then_rate_bps,
			 r->then_burst_bytes, dir, now_ns, bytes);
}

enum bwg_penalty_change
bwg_penalty_count(struct bwg_quota *e, const struct bwg_conf_rule *r, uint32_t bytes,
		  uint64_t now_ns, bool *active, uint64_t *at)
{
	enum bwg_penalty_change ch = BWG_PENALTY_NONE;
	uint64_t until = atomic_load_explicit(&e->pen_until, memory_order_relaxed);
	if (until && now_ns >= until &&
	    atomic_compare_exchange_strong_explicit(&e->pen_until, &until, 0,
						    memory_order_relaxed, memory_order_relaxed)) {
		/* Ended: the lane starts measuring afresh. */
		*at = until;
		atomic_store_explicit(&e->pen_streak, 0, memory_order_relaxed);
		atomic_store_explicit(&e->pen_bytes, 0, memory_order_relaxed);
		atomic_store_explicit(&e->pen_minute, (int64_t)(now_ns / 60000000000ull),
				      memory_order_relaxed);
		ch = BWG_PENALTY_END;
	}
	until = atomic_load_explicit(&e->pen_until, memory_order_relaxed);
	*active = until != 0;
	if (*active)
		return ch; /* held to the penalty rate: nothing to measure */
	int64_t minute = (int64_t)(now_ns / 60000000000ull);
	int64_t cur = atomic_load_explicit(&e->pen_minute, memory_order_relaxed);
	if (minute != cur &&
	    atomic_compare_exchange_strong_explicit(&e->pen_minute, &cur, minute,
						    memory_order_relaxed, memory_order_relaxed)) {
		/* This caller judges the minute that ended. */
		uint64_t last = atomic_exchange_explicit(&e->pen_bytes, 0, memory_order_relaxed);
		bool above = cur && last * 8 > r->pen_above_bps * 60;
		uint32_t streak = above && minute == cur + 1
					  ? atomic_load_explicit(&e->pen_streak,
								 memory_order_relaxed) + 1
					  : 0;
		atomic_store_explicit(&e->pen_streak, streak, memory_order_relaxed);
		if (streak >= r->pen_for) {
			atomic_store_explicit(&e->pen_streak, 0, memory_order_relaxed);
			atomic_store_explicit(&e->pen_since, now_ns, memory_order_relaxed);
			atomic_store_explicit(&e->pen_until,
					      now_ns + (uint64_t)r->pen_lasts * 60000000000ull,
					      memory_order_relaxed);
			*active = true;
			*at = now_ns;
			return BWG_PENALTY_START;
		}
	}
	atomic_fetch_add_explicit(&e->pen_bytes, bytes, memory_order_relaxed);
	return ch;
}

bool
bwg_penalty_take(struct bwg_quota *e, const struct bwg_conf_rule *r, int dir, uint64_t now_ns,
		 uint32_t bytes)
{
	return user_take(e, e->pen, &e->pen_rate, &e->pen_burst, r->pen_rate_bps,
			 r->pen_burst_bytes, dir, now_ns, bytes);
}

json_t *
bwg_penalty_json(const struct bwg_quota *e, const struct bwg_conf_rule *r, uint64_t now_ns)
{
	uint64_t until = e ? atomic_load_explicit(&e->pen_until, memory_order_relaxed) : 0;
	bool active = until && now_ns < until;
	json_t *o = json_pack("{s:s, s:I, s:i, s:I, s:i, s:b, s:i}", "rule", r->name, "above_bps",
			      (json_int_t)r->pen_above_bps, "for_minutes", (int)r->pen_for,
			      "rate_bps", (json_int_t)r->pen_rate_bps, "lasts_minutes",
			      (int)r->pen_lasts, "active", active, "minutes_above",
			      e ? (int)atomic_load_explicit(&e->pen_streak, memory_order_relaxed)
				: 0);
	if (active) {
		json_object_set_new(
		    o, "since",
		    json_real((double)(atomic_load_explicit(&e->pen_since, memory_order_relaxed) /
				       1000) / 1e6));
		json_object_set_new(o, "until", json_real((double)(until / 1000) / 1e6));
	}
	return o;
}

/* ---- documents -------------------------------------------------------------------------- */

static void
date_of(int64_t day, char *buf, size_t len)
{
	int y, m, d;
	bwg_civil_from_days(day, &y, &m, &d);
	snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
}

static json_t *
then_json(const struct bwg_conf_rule *r)
{
	if (r->quota_block)
		return json_string("block");
	return json_pack("{s:I, s:I, s:s}", "rate_bps", (json_int_t)r->then_rate_bps,
			 "burst_bytes", (json_int_t)r->then_burst_bytes, "scope", "per_host");
}

/* One rule's usage by a user (e NULL: none yet) in the period holding `today`. */
static json_t *
usage_json(const struct bwg_quota *e, const struct bwg_conf_rule *r, int64_t today)
{
	int32_t start = bwg_quota_period_start(r->quota_period, today);
	uint64_t bytes = 0, minutes = 0;
	if (e && atomic_load_explicit(&e->period, memory_order_relaxed) >= start) {
		bytes = atomic_load_explicit(&e->bytes, memory_order_relaxed);
		minutes = atomic_load_explicit(&e->minutes, memory_order_relaxed);
	}
	char date[16];
	date_of(start, date, sizeof(date));
	json_t *o = json_pack("{s:s, s:s, s:s}", "rule", r->name, "period",
			      bwg_period_names[r->quota_period], "period_start", date);
	if (r->quota_bytes) {
		json_object_set_new(o, "bytes", json_integer((json_int_t)r->quota_bytes));
		json_object_set_new(o, "used_bytes", json_integer((json_int_t)bytes));
		json_object_set_new(o, "remaining_bytes",
				    json_integer((json_int_t)(bytes < r->quota_bytes
								  ? r->quota_bytes - bytes
								  : 0)));
	}
	if (r->quota_minutes) {
		json_object_set_new(o, "minutes", json_integer(r->quota_minutes));
		json_object_set_new(o, "used_minutes", json_integer((json_int_t)minutes));
		json_object_set_new(o, "remaining_minutes",
				    json_integer((json_int_t)(minutes < r->quota_minutes
								  ? r->quota_minutes - minutes
								  : 0)));
	}
	bool over = (r->quota_bytes && bytes >= r->quota_bytes) ||
		    (r->quota_minutes && minutes >= r->quota_minutes);
	json_object_set_new(o, "over", json_boolean(over));
	json_object_set_new(o, "then", then_json(r));
	json_object_set_new(o, "mode", json_string(r->monitor ? "monitor" : "enforce"));
	return o;
}

/*
 * One user's state under every rule of c in use with a quota (`penalty` false: `when`
 * is the local day number) or a penalty (`when`: now, ns).
 */
static json_t *
host_rules_json(const struct bwg_quotas *q, const struct bwg_config *c, uint8_t family,
		const uint8_t *addr, bool penalty, int64_t when)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < c->n_rules; i++) {
		const struct bwg_conf_rule *r = &c->rules[i];
		if (r->disabled || !(penalty ? r->has_penalty : r->has_quota))
			continue;
		const struct bwg_quota *e =
			q ? bwg_quotas_find(q, bwg_quota_rule_id(r->name), family, addr) : NULL;
		json_array_append_new(a, penalty ? bwg_penalty_json(e, r, (uint64_t)when)
						 : usage_json(e, r, when));
	}
	return a;
}

json_t *
bwg_quotas_host_json(const struct bwg_quotas *q, const struct bwg_config *c, uint8_t family,
		     const uint8_t *addr, int64_t today)
{
	return host_rules_json(q, c, family, addr, false, today);
}

json_t *
bwg_penalties_host_json(const struct bwg_quotas *q, const struct bwg_config *c, uint8_t family,
			const uint8_t *addr, uint64_t now_ns)
{
	return host_rules_json(q, c, family, addr, true, (int64_t)now_ns);
}

/* The quota (or `penalty`) rule of c with id `rule`, or NULL. */
static const struct bwg_conf_rule *
rule_of(const struct bwg_config *c, uint64_t rule, bool penalty)
{
	for (uint32_t i = 0; i < c->n_rules; i++)
		if ((penalty ? c->rules[i].has_penalty : c->rules[i].has_quota) &&
		    bwg_quota_rule_id(c->rules[i].name) == rule)
			return &c->rules[i];
	return NULL;
}

/* Every live entry of c's quota (or penalty) rules, with its "host". */
static json_t *
entries_json(const struct bwg_quotas *q, const struct bwg_config *c, bool penalty, int64_t when)
{
	json_t *a = json_array();
	for (uint32_t i = 0; q && i <= q->mask; i++) {
		const struct bwg_quota *e = &q->v[i];
		const struct bwg_conf_rule *r;
		if (atomic_load_explicit(&e->state, memory_order_acquire) != SLOT_LIVE ||
		    !(r = rule_of(c, e->rule, penalty)))
			continue;
		char host[64];
		bwg_log_format_ip(e->family, e->addr, host, sizeof(host));
		json_t *o = penalty ? bwg_penalty_json(e, r, (uint64_t)when) : usage_json(e, r, when);
		json_object_set_new(o, "host", json_string(host));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *
bwg_quotas_json(const struct bwg_quotas *q, const struct bwg_config *c, int64_t today)
{
	return entries_json(q, c, false, today);
}

bool
bwg_quotas_in_use(const struct bwg_config *c)
{
	for (uint32_t i = 0; i < c->n_rules; i++)
		if (c->rules[i].has_quota && !c->rules[i].disabled)
			return true;
	return false;
}

json_t *
bwg_penalties_json(const struct bwg_quotas *q, const struct bwg_config *c, uint64_t now_ns)
{
	return entries_json(q, c, true, (int64_t)now_ns);
}

/* ---- state file ------------------------------------------------------------------------- */

int
bwg_quotas_save(const struct bwg_quotas *q, const struct bwg_config *c, const char *path,
		uint64_t now_s, char *err, size_t errlen)
{
	json_t *list = json_array();
	for (uint32_t i = 0; i <= q->mask; i++) {
		const struct bwg_quota *e = &q->v[i];
		const struct bwg_conf_rule *r;
		if (atomic_load_explicit(&e->state, memory_order_acquire) != SLOT_LIVE ||
		    !(r = rule_of(c, e->rule, false)))
			continue;
		char host[64], date[16];
		bwg_log_format_ip(e->family, e->addr, host, sizeof(host));
		date_of(atomic_load_explicit(&e->period, memory_order_relaxed), date, sizeof(date));
		json_array_append_new(
		    list, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b}", "rule", r->name,
				    "host", host, "period", bwg_period_names[r->quota_period],
				    "period_start", date, "used_bytes",
				    (json_int_t)atomic_load_explicit(&e->bytes, memory_order_relaxed),
				    "used_minutes",
				    (json_int_t)atomic_load_explicit(&e->minutes, memory_order_relaxed),
				    "last_minute",
				    (json_int_t)atomic_load_explicit(&e->last_minute,
								     memory_order_relaxed),
				    "crossed",
				    atomic_load_explicit(&e->crossed, memory_order_relaxed) != 0));
	}
	int n = (int)json_array_size(list);
	json_t *doc = json_pack("{s:i, s:I, s:s, s:o}", "bwgate_quota_state", 1, "saved_at",
				(json_int_t)now_s, "timezone", c->timezone, "quotas", list);
	char *text = json_dumps(doc, JSON_INDENT(1));
	json_decref(doc);
	size_t len = text ? strlen(text) : 0;
	char *line = text ? realloc(text, len + 2) : NULL;
	if (!line) {
		free(text);
		snprintf(err, errlen, "state_file %s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	memcpy(line + len, "\n", 2);
	char why[PATH_MAX + 128];
	int rc = bwg_file_replace(path, line, len + 1, 0640, why, sizeof(why));
	free(line);
	if (rc < 0) {
		snprintf(err, errlen, "state_file %s", why);
		return rc;
	}
	return n;
}

static int
load_fail(char *err, size_t errlen, const char *path, const char *what, size_t i)
{
	if (i == (size_t)-1)
		snprintf(err, errlen, "state_file %s: %s", path, what);
	else
		snprintf(err, errlen, "state_file %s: quotas[%zu]: %s", path, i, what);
	return -EINVAL;
}

int
bwg_quotas_load(struct bwg_quotas *q, const struct bwg_config *c, const char *path,
		int64_t today, char *err, size_t errlen)
{
	int fd = bwg_config_open_regular(path, STATE_MAX_BYTES, "state_file ", err, errlen);
	if (fd < 0)
		return fd;
	json_error_t je;
	json_t *doc = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	close(fd);
	if (!doc) {
		snprintf(err, errlen, "state_file %s:%d:%d: %s", path, je.line, je.column, je.text);
		return -EINVAL;
	}
	json_t *list = json_object_get(doc, "quotas");
	int rc = 0;
	if (json_integer_value(json_object_get(doc, "bwgate_quota_state")) != 1 ||
	    !json_is_array(list))
		rc = load_fail(err, errlen, path, "not a bwgate quota state (version 1)",
			       (size_t)-1);
	size_t i;
	json_t *o;
	int n = 0;
	json_array_foreach(list, i, o) {
		if (rc < 0)
			break;
		const char *rule = json_string_value(json_object_get(o, "rule"));
		const char *host = json_string_value(json_object_get(o, "host"));
		const char *period = json_string_value(json_object_get(o, "period"));
		const char *start = json_string_value(json_object_get(o, "period_start"));
		json_t *bytes = json_object_get(o, "used_bytes");
		json_t *minutes = json_object_get(o, "used_minutes");
		json_t *last = json_object_get(o, "last_minute");
		struct bwg_cidr a;
		int y, m, d;
		char why[128];
		if (!rule || !host || !period || !start || !json_is_integer(bytes) ||
		    !json_is_integer(minutes) || !json_is_integer(last) ||
		    json_integer_value(bytes) < 0 || json_integer_value(minutes) < 0 ||
		    bwg_config_parse_cidr(host, &a, why, sizeof(why)) < 0 || a.len != (a.family == 4 ? 32 : 128) ||
		    sscanf(start, "%4d-%2d-%2d", &y, &m, &d) != 3) {
			rc = load_fail(err, errlen, path,
				       "needs rule, host (an address), period, period_start "
				       "(YYYY-MM-DD), used_bytes, used_minutes, last_minute",
				       i);
			break;
		}
		const struct bwg_conf_rule *r = rule_of(c, bwg_quota_rule_id(rule), false);
		if (!r || strcmp(r->name, rule) != 0 ||
		    strcmp(period, bwg_period_names[r->quota_period]) != 0)
			continue; /* a rule the policy no longer holds to this quota */
		int64_t day = bwg_days_from_civil(y, m, d);
		/* A period to come would never roll over; one that ended counts nothing and
		 * would only keep its slot, never freed while the gate runs. */
		if (today != INT64_MAX && day != bwg_quota_period_start(r->quota_period, today))
			continue;
		struct bwg_quota *e = bwg_quotas_get(q, bwg_quota_rule_id(rule), a.family, a.addr,
						     (int32_t)day);
		if (!e)
			break;
		atomic_store(&e->bytes, (uint64_t)json_integer_value(bytes));
		atomic_store(&e->minutes, (uint32_t)json_integer_value(minutes));
		atomic_store(&e->last_minute, (int64_t)json_integer_value(last));
		atomic_store(&e->crossed, json_is_true(json_object_get(o, "crossed")) ? 1u : 0u);
		n++;
	}
	json_decref(doc);
	return rc < 0 ? rc : n;
}
