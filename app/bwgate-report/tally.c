/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counting events: each line of the audit log, read by lib/log's scanner, lands in a
 * few bounded tables — units, users, hosts, apps, (user or unit) x (host or app) pairs
 * and chart buckets.
 *
 * Whoever can make the gate see a host name writes into these tables, so every one is
 * keyed with the process's SipHash secret (lib/hash) and bounded. Past a bound nothing
 * is dropped silently: the event still counts in its unit and in the totals, and what
 * could not be kept is counted as such (users past --max-users, hosts past
 * --max-hosts, pairs past RPT_PAIRS_MAX) and reported in the footer. Units and classes
 * come first from the config, so they keep its order; names only the log knows (a unit
 * renamed since, a class removed) get rows of their own.
 *
 * The user is the inside end of the flow: the address the current plan puts in the
 * unit the event names, else the one it puts in any unit, else the client. The unit
 * itself is the one the event names — what the gate decided with the plan then in
 * force — not the one today's plan would give: a renumbered office must not move last
 * month's incidents to its new owner. Events where the two differ are counted.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_hash.h"
#include "report.h"

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int
grow(void **v, uint32_t *cap, uint32_t want, size_t size)
{
	if (want <= *cap)
		return 0;
	uint32_t n = *cap ? *cap : 64;
	while (n < want)
		n *= 2;
	void *p = realloc(*v, (size_t)n * size);
	if (!p)
		return -ENOMEM;
	memset((char *)p + (size_t)*cap * size, 0, (size_t)(n - *cap) * size);
	*v = p;
	*cap = n;
	return 0;
}

/* ---- interned strings ------------------------------------------------------------- */

int
rpt_strtab_init(struct rpt_strtab *t, uint32_t max)
{
	memset(t, 0, sizeof(*t));
	uint32_t slots = 16;
	while (slots < 2 * (max + 1))
		slots *= 2;
	t->max = max;
	t->slot_mask = slots - 1;
	/* One name more than the bound: the catch-all row's. */
	t->slots = calloc(slots, sizeof(*t->slots));
	t->names = calloc(max + 1, sizeof(*t->names));
	t->hashes = calloc(max + 1, sizeof(*t->hashes));
	return t->slots && t->names && t->hashes ? 0 : -ENOMEM;
}

void
rpt_strtab_fini(struct rpt_strtab *t)
{
	for (uint32_t i = 0; t->names && i < t->n; i++)
		free(t->names[i]);
	free(t->names);
	free(t->hashes);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

int64_t
rpt_strtab_get(struct rpt_strtab *t, const char *name, size_t len, bool add)
{
	uint64_t h = bwg_siphash13(&bwg_hash_secret, name, len);
	for (uint32_t i = (uint32_t)h & t->slot_mask;; i = (i + 1) & t->slot_mask) {
		uint32_t s = t->slots[i];
		if (!s)
			break;
		if (t->hashes[s - 1] == h && strncmp(t->names[s - 1], name, len) == 0 &&
		    t->names[s - 1][len] == 0)
			return s - 1;
	}
	if (!add || t->n == t->max)
		return -1;
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, name, len);
	copy[len] = 0;
	uint32_t id = t->n++;
	t->names[id] = copy;
	t->hashes[id] = h;
	uint32_t i = (uint32_t)h & t->slot_mask;
	while (t->slots[i])
		i = (i + 1) & t->slot_mask;
	t->slots[i] = id + 1;
	return id;
}

/* A name's id, added when new; past the bound the catch-all row `other` (made once). */
static int64_t
intern_or_other(struct rpt_strtab *t, const char *name, size_t len, int *other)
{
	int64_t id = rpt_strtab_get(t, name, len, true);
	if (id != -1)
		return id;
	if (*other < 0) {
		/* rpt_strtab_init kept a name for it. */
		t->max++;
		id = rpt_strtab_get(t, "(other)", 7, true);
		if (id < 0)
			return id;
		*other = (int)id;
	}
	return *other;
}

/* ---- set-up ------------------------------------------------------------------------ */

static void
counts_init(struct rpt_counts *c)
{
	memset(c, 0, sizeof(*c));
	c->first_us = INT64_MAX;
	c->last_us = INT64_MIN;
}

int
rpt_tally_init(struct rpt *r, uint32_t max_hosts)
{
	r->other_class = r->other_unit = r->other_app = -1;
	counts_init(&r->total);
	r->seen_first_us = INT64_MAX;
	r->seen_last_us = INT64_MIN;
	/* One slot short of each bound: the catch-all row takes it. */
	if (rpt_strtab_init(&r->classes, RPT_CLASS_MAX - 1) < 0 ||
	    rpt_strtab_init(&r->units, RPT_UNIT_MAX - 1) < 0 ||
	    rpt_strtab_init(&r->hosts, max_hosts) < 0 ||
	    rpt_strtab_init(&r->apps, RPT_APP_MAX - 1) < 0)
		return -ENOMEM;
	/* Units and classes in the config's order: "" (no unit) is unit 0, as in the gate. */
	if (rpt_strtab_get(&r->units, "", 0, true) < 0)
		return -ENOMEM;
	for (uint32_t u = 0; u < r->conf->n_units; u++) {
		const char *n = r->conf->units[u].name;
		if (rpt_strtab_get(&r->units, n, strlen(n), true) < 0)
			return -ENOMEM;
	}
	r->n_config_units = r->units.n;
	for (uint32_t k = 0; k < r->conf->n_classes && k < RPT_CLASS_MAX - 2; k++) {
		const char *n = r->conf->classes[k].name;
		if (rpt_strtab_get(&r->classes, n, strlen(n), true) < 0)
			return -ENOMEM;
	}
	r->n_config_classes = r->classes.n;
	r->unit_v = calloc(RPT_UNIT_MAX, sizeof(*r->unit_v));
	if (!r->unit_v)
		return -ENOMEM;
	for (uint32_t u = 0; u < RPT_UNIT_MAX; u++)
		counts_init(&r->unit_v[u].c);
	r->user_slot_mask = 1024 - 1;
	r->user_slots = calloc(1024, sizeof(*r->user_slots));
	r->pair_slot_mask = 1024 - 1;
	r->pairs = calloc(1024, sizeof(*r->pairs));
	if (!r->user_slots || !r->pairs)
		return -ENOMEM;
	/* A bounded period has its buckets from the start: days without events show. */
	if (r->period.from != INT64_MIN && r->period.to != INT64_MAX) {
		int64_t size = r->hourly ? 3600 : 86400;
		int64_t lo = r->period.from + bwg_tz_offset(r->tz, r->n_tz, r->period.from);
		int64_t hi = r->period.to - 1 + bwg_tz_offset(r->tz, r->n_tz, r->period.to - 1);
		int64_t b0 = floor_div(lo, size), b1 = floor_div(hi, size);
		if (b1 - b0 + 1 <= RPT_BUCKET_MAX) {
			r->buckets = calloc((size_t)(b1 - b0 + 1), sizeof(*r->buckets));
			if (!r->buckets)
				return -ENOMEM;
			r->bucket0 = b0;
			r->n_buckets = (uint32_t)(b1 - b0 + 1);
		}
	}
	return 0;
}

void
rpt_tally_fini(struct rpt *r)
{
	rpt_strtab_fini(&r->classes);
	rpt_strtab_fini(&r->units);
	rpt_strtab_fini(&r->hosts);
	rpt_strtab_fini(&r->apps);
	free(r->unit_v);
	free(r->users);
	free(r->user_slots);
	free(r->host_v);
	free(r->pairs);
	free(r->buckets);
}

/* ---- users ------------------------------------------------------------------------- */

static uint64_t
user_hash(uint8_t family, const uint8_t *addr, uint16_t unit)
{
	uint64_t m[3];
	memcpy(&m[0], addr, 8);
	memcpy(&m[1], addr + 8, 8);
	m[2] = (uint64_t)family | (uint64_t)unit << 8;
	return bwg_siphash13_words(&bwg_hash_secret, m, 3);
}

/*
 * A slot holds the user's index + 1 and, above it, the top half of its hash: a probe
 * compares tags and reads a user's record only when they match. The slots grow with
 * the users (at most half full), so a district's few thousand fit in the cache.
 */
static uint64_t
user_slot(uint64_t h, uint32_t index)
{
	return (h & 0xffffffff00000000ull) | (index + 1);
}

static int
users_grow(struct rpt *r)
{
	uint32_t n = (r->user_slot_mask + 1) * 2;
	uint64_t *v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t j = 0; j <= r->user_slot_mask; j++) {
		uint64_t s = r->user_slots[j];
		if (!s)
			continue;
		/* The tag keeps only the top of the hash: the bottom is recomputed. */
		const struct rpt_user *u = &r->users[(uint32_t)s - 1];
		uint32_t i = (uint32_t)user_hash(u->family, u->addr, u->unit) & (n - 1);
		while (v[i])
			i = (i + 1) & (n - 1);
		v[i] = s;
	}
	free(r->user_slots);
	r->user_slots = v;
	r->user_slot_mask = n - 1;
	return 0;
}

/* Index of the user (h: its user_hash), added when new; -1 past the bound, -ENOMEM. */
static int64_t
user_get(struct rpt *r, uint64_t h, uint8_t family, const uint8_t *addr, uint16_t unit,
	 bool *added)
{
	uint32_t i = (uint32_t)h & r->user_slot_mask;
	*added = false;
	for (;; i = (i + 1) & r->user_slot_mask) {
		uint64_t s = r->user_slots[i];
		if (!s)
			break;
		if ((s ^ h) >> 32)
			continue;
		const struct rpt_user *u = &r->users[(uint32_t)s - 1];
		if (u->unit == unit && u->family == family && memcmp(u->addr, addr, 16) == 0)
			return (uint32_t)s - 1;
	}
	if (r->n_users == r->max_users)
		return -1;
	if (grow((void **)&r->users, &r->users_cap, r->n_users + 1, sizeof(*r->users)) < 0)
		return -ENOMEM;
	if (2 * (r->n_users + 1) > r->user_slot_mask + 1) {
		if (users_grow(r) < 0)
			return -ENOMEM;
		i = (uint32_t)h & r->user_slot_mask;
		while (r->user_slots[i])
			i = (i + 1) & r->user_slot_mask;
	}
	struct rpt_user *u = &r->users[r->n_users];
	u->family = family;
	memcpy(u->addr, addr, 16);
	u->unit = unit;
	counts_init(&u->c);
	r->user_slots[i] = user_slot(h, r->n_users);
	r->n_users++;
	*added = true;
	return r->n_users - 1;
}

/* ---- pairs ------------------------------------------------------------------------- */

static uint64_t
pair_hash(uint64_t key)
{
	return bwg_siphash13_words(&bwg_hash_secret, &key, 1);
}

static uint32_t
pair_slot(const struct rpt *r, uint64_t key)
{
	return (uint32_t)pair_hash(key) & r->pair_slot_mask;
}

static int
pairs_grow(struct rpt *r)
{
	uint32_t n = (r->pair_slot_mask + 1) * 2;
	struct rpt_pair *old = r->pairs, *v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	uint32_t old_n = r->pair_slot_mask + 1;
	r->pairs = v;
	r->pair_slot_mask = n - 1;
	for (uint32_t j = 0; j < old_n; j++) {
		if (!old[j].count)
			continue;
		uint32_t i = pair_slot(r, old[j].key);
		while (v[i].count)
			i = (i + 1) & r->pair_slot_mask;
		v[i] = old[j];
	}
	free(old);
	return 0;
}

/* Count one attempt under key (h: its pair_hash). 1 when the pair is new, 0 when known,
 * -1 past the bound, -ENOMEM. */
static int
pair_add(struct rpt *r, uint64_t key, uint64_t h)
{
	uint32_t i = (uint32_t)h & r->pair_slot_mask;
	for (; r->pairs[i].count; i = (i + 1) & r->pair_slot_mask)
		if (r->pairs[i].key == key) {
			r->pairs[i].count++;
			return 0;
		}
	if (r->n_pairs == RPT_PAIRS_MAX)
		return -1;
	if (2 * (r->n_pairs + 1) > r->pair_slot_mask + 1) {
		if (pairs_grow(r) < 0)
			return -ENOMEM;
		i = (uint32_t)h & r->pair_slot_mask;
		while (r->pairs[i].count)
			i = (i + 1) & r->pair_slot_mask;
	}
	r->pairs[i] = (struct rpt_pair){.key = key, .count = 1};
	r->n_pairs++;
	return 1;
}

/* ---- local time ---------------------------------------------------------------------- */

void
rpt_localtime(const struct rpt *r, int64_t t, struct rpt_tm *tm)
{
	tm->offset = bwg_tz_offset(r->tz, r->n_tz, t);
	int64_t local = t + tm->offset;
	int64_t days = local / 86400 - (local % 86400 < 0);
	int64_t secs = local - days * 86400;
	bwg_civil_from_days(days, &tm->year, &tm->month, &tm->day);
	tm->hour = (int)(secs / 3600);
	tm->min = (int)(secs / 60 % 60);
	tm->sec = (int)(secs % 60);
}

const char *
rpt_time(const struct rpt *r, int64_t t_us, enum rpt_time_style s, char *buf, size_t len)
{
	if (t_us == INT64_MAX || t_us == INT64_MIN) {
		snprintf(buf, len, "-");
		return buf;
	}
	int64_t t = t_us / 1000000 - (t_us % 1000000 < 0);
	struct rpt_tm tm;
	rpt_localtime(r, t, &tm);
	if (s == RPT_TIME_MIN) {
		snprintf(buf, len, "%04d-%02d-%02d %02d:%02d", tm.year, tm.month, tm.day, tm.hour,
			 tm.min);
	} else if (s == RPT_TIME_SEC) {
		snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d", tm.year, tm.month, tm.day,
			 tm.hour, tm.min, tm.sec);
	} else {
		int32_t o = tm.offset < 0 ? -tm.offset : tm.offset;
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", tm.year, tm.month,
			 tm.day, tm.hour, tm.min, tm.sec, tm.offset < 0 ? '-' : '+', o / 3600,
			 o / 60 % 60);
	}
	return buf;
}

int64_t
rpt_bucket_start(const struct rpt *r, int64_t bucket)
{
	return bwg_tz_to_utc(r->tz, r->n_tz, bucket * (r->hourly ? 3600 : 86400));
}

/* ---- buckets ------------------------------------------------------------------------- */

/* Hours become days once a report with no fixed end spans more than two days: both
 * are counted in local time, so day d is exactly hours 24d .. 24d + 23. */
static int
hours_to_days(struct rpt *r)
{
	int64_t d0 = floor_div(r->bucket0, 24);
	int64_t d1 = floor_div(r->bucket0 + r->n_buckets - 1, 24);
	struct rpt_bucket *v = calloc((size_t)(d1 - d0 + 1), sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->n_buckets; i++) {
		struct rpt_bucket *d = &v[floor_div(r->bucket0 + i, 24) - d0];
		for (uint32_t k = 0; k < RPT_CLASS_MAX; k++)
			d->blocked[k] += r->buckets[i].blocked[k];
		d->limited += r->buckets[i].limited;
	}
	free(r->buckets);
	r->buckets = v;
	r->bucket0 = d0;
	r->n_buckets = (uint32_t)(d1 - d0 + 1);
	r->hourly = r->hourly_auto = false;
	return 0;
}

static struct rpt_bucket *
bucket_of(struct rpt *r, int64_t t)
{
	int64_t local = t + bwg_tz_offset(r->tz, r->n_tz, t);
	int64_t b = floor_div(local, r->hourly ? 3600 : 86400);
	if (r->n_buckets == 0) {
		r->buckets = calloc(1, sizeof(*r->buckets));
		if (!r->buckets)
			return NULL;
		r->bucket0 = b;
		r->n_buckets = 1;
	}
	int64_t lo = b < r->bucket0 ? b : r->bucket0;
	int64_t hi = b >= r->bucket0 + r->n_buckets ? b + 1 : r->bucket0 + r->n_buckets;
	if (r->hourly_auto && hi - lo > 48) {
		if (hours_to_days(r) < 0)
			return NULL;
		return bucket_of(r, t);
	}
	if (hi - lo > RPT_BUCKET_MAX)
		return NULL;
	if (lo < r->bucket0 || hi > r->bucket0 + r->n_buckets) {
		struct rpt_bucket *v = calloc((size_t)(hi - lo), sizeof(*v));
		if (!v)
			return NULL;
		memcpy(v + (r->bucket0 - lo), r->buckets, r->n_buckets * sizeof(*v));
		free(r->buckets);
		r->buckets = v;
		r->bucket0 = lo;
		r->n_buckets = (uint32_t)(hi - lo);
	}
	return &r->buckets[b - r->bucket0];
}

/* ---- one line -------------------------------------------------------------------------- */

/* A dotted quad as inet_pton takes it (no leading zeros), without its generality. */
static int
parse_ipv4(const char *s, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned v = 0, digits = 0;
		const char *start = s;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (v > 255 || digits > 3 || (digits > 1 && *start == '0'))
			return -1;
		out[i] = (uint8_t)v;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	return *s ? -1 : 0;
}

static int
parse_addr(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (strchr(s, ':')) {
		*family = 6;
		return inet_pton(AF_INET6, s, addr) == 1 ? 0 : -1;
	}
	*family = 4;
	return parse_ipv4(s, addr);
}

static bool
cidr_has(const struct bwg_cidr *c, uint8_t family, const uint8_t *a)
{
	struct bwg_prefix px = {.family = c->family, .len = c->len, .unit = 1};
	memcpy(px.addr, c->addr, 16);
	return bwg_prefixes_find(&px, 1, family, a) != BWG_UNIT_NONE;
}

static void
count(struct rpt_counts *c, bool block, uint32_t cls, int64_t t_us)
{
	if (!block) {
		c->limited++;
		return;
	}
	c->blocked++;
	c->by_class[cls]++;
	if (t_us < c->first_us)
		c->first_us = t_us;
	if (t_us > c->last_us)
		c->last_us = t_us;
}

/*
 * A blocked attempt's host (item[0], -1: none kept) and app (item[1], -1: none) under
 * its user (user < 0: not kept) and unit. The pair table is the report's largest, so
 * its slots are fetched together before any is touched: four cache misses overlap
 * instead of following one another. Sets *new_host when the user had not tried the
 * host before. 0 or -ENOMEM.
 */
static int
count_items(struct rpt *r, const int64_t item[2], int64_t user, uint32_t unit,
	    struct rpt_counts *uc, struct rpt_counts *nc, bool *new_host)
{
	uint64_t key[4], h[4];
	struct rpt_counts *owner[4];
	unsigned n = 0;
	for (int k = 0; k < 2; k++) {
		if (item[k] < 0)
			continue;
		if (user >= 0) {
			owner[n] = uc;
			key[n++] = rpt_pair_key(RPT_OWNER_USER, (uint32_t)user, (enum rpt_item)k,
						(uint32_t)item[k]);
		}
		owner[n] = nc;
		key[n++] = rpt_pair_key(RPT_OWNER_UNIT, unit, (enum rpt_item)k, (uint32_t)item[k]);
	}
	for (unsigned i = 0; i < n; i++) {
		h[i] = pair_hash(key[i]);
		__builtin_prefetch(&r->pairs[(uint32_t)h[i] & r->pair_slot_mask], 1);
	}
	*new_host = false;
	for (unsigned i = 0; i < n; i++) {
		int rc = pair_add(r, key[i], h[i]);
		if (rc == -ENOMEM)
			return rc;
		bool host = !((key[i] >> 62) & 1);
		if (rc < 0) {
			r->pairs_untracked++;
			*(host ? &owner[i]->other_hosts : &owner[i]->other_apps) += 1;
		}
		if (rc == 1 && host && !(key[i] >> 63))
			*new_host = true;
	}
	return 0;
}

int
rpt_tally_line(struct rpt *r, const char *line, size_t len)
{
	static struct bwg_log_line l;
	r->lines++;
	int rc = bwg_log_line_parse(&l, line, len);
	if (rc < 0) {
		r->skipped[rc == -E2BIG ? RPT_SKIP_TOO_LONG : RPT_SKIP_NOT_JSON]++;
		return 0;
	}
	if (!(l.present & (1u << BWG_LOGF_EVENT))) {
		r->skipped[RPT_SKIP_FIELDS]++;
		return 0;
	}
	const char *ev = l.str[BWG_LOGF_EVENT];
	bool block = strcmp(ev, "block") == 0;
	if (!block && strcmp(ev, "limit") != 0) {
		if (strcmp(ev, "flow_end") == 0)
			r->flow_end++;
		else
			r->other_events++;
		return 0;
	}
	uint32_t need = 1u << BWG_LOGF_TIME | 1u << BWG_LOGF_SRC_IP | 1u << BWG_LOGF_DST_IP |
			(block ? 1u << BWG_LOGF_CLASS : 0);
	if ((l.present & need) != need) {
		r->skipped[RPT_SKIP_FIELDS]++;
		return 0;
	}
	int64_t t_us = l.time_us, t = t_us / 1000000;
	if (t < r->period.from || t >= r->period.to) {
		r->outside++;
		return 0;
	}
	uint8_t fam[2], addr[2][16];
	if (parse_addr(l.str[BWG_LOGF_SRC_IP], &fam[0], addr[0]) < 0 ||
	    parse_addr(l.str[BWG_LOGF_DST_IP], &fam[1], addr[1]) < 0 || fam[0] != fam[1]) {
		r->skipped[RPT_SKIP_ADDRESS]++;
		return 0;
	}
	const char *unit = l.present & (1u << BWG_LOGF_UNIT) ? l.str[BWG_LOGF_UNIT] : "";
	size_t unit_len = l.present & (1u << BWG_LOGF_UNIT) ? l.len[BWG_LOGF_UNIT] : 0;
	if (r->unit_filter && strcmp(r->unit_filter, unit) != 0) {
		r->filtered++;
		return 0;
	}

	/* The inside end, and whether today's plan agrees with the unit the gate wrote. */
	uint16_t pu[2] = {0, 0};
	int side = -1;
	for (int s = 0; s < 2 && side < 0; s++) {
		pu[s] = bwg_prefixes_find(r->prefixes, r->n_prefixes, fam[s], addr[s]);
		if (pu[s] && strcmp(r->conf->units[pu[s] - 1].name, unit) == 0)
			side = s;
	}
	bool differs = side < 0;
	if (side < 0)
		side = pu[0] ? 0 : pu[1] ? 1 : 0;
	if (r->user_filter && !cidr_has(&r->user_cidr, fam[side], addr[side])) {
		r->filtered++;
		return 0;
	}
	if (differs && (unit_len || pu[0] || pu[1]))
		r->plan_differs++;
	else
		differs = false;

	int64_t unit_id = intern_or_other(&r->units, unit, unit_len, &r->other_unit);
	if (unit_id < 0)
		return (int)unit_id;
	uint64_t uh = user_hash(fam[side], addr[side], (uint16_t)unit_id);
	__builtin_prefetch(&r->user_slots[(uint32_t)uh & r->user_slot_mask]);
	uint32_t cls = 0;
	if (block) {
		int64_t c = intern_or_other(&r->classes, l.str[BWG_LOGF_CLASS], l.len[BWG_LOGF_CLASS],
					    &r->other_class);
		if (c < 0)
			return (int)c;
		cls = (uint32_t)c;
	}
	struct rpt_unit *un = &r->unit_v[unit_id];
	bool added;
	int64_t user = user_get(r, uh, fam[side], addr[side], (uint16_t)unit_id, &added);
	if (user == -ENOMEM)
		return -ENOMEM;
	struct rpt_counts *uc = NULL;
	if (user >= 0) {
		uc = &r->users[user].c;
		r->users[user].plan_differs |= differs;
		un->users += added;
		count(uc, block, cls, t_us);
	} else {
		r->users_untracked++;
		un->untracked++;
	}
	count(&un->c, block, cls, t_us);
	count(&r->total, block, cls, t_us);
	if (t_us < r->seen_first_us)
		r->seen_first_us = t_us;
	if (t_us > r->seen_last_us)
		r->seen_last_us = t_us;
	struct rpt_bucket *b = bucket_of(r, t);
	if (!b)
		r->buckets_untracked++;
	else if (block)
		b->blocked[cls]++;
	else
		b->limited++;
	if (!block)
		return 0;

	struct rpt_counts none;
	if (!uc)
		uc = &none;
	int64_t item[2] = {-1, -1};
	struct rpt_host *hv = NULL;
	if (l.len[BWG_LOGF_HOST] && (l.present & (1u << BWG_LOGF_HOST))) {
		item[0] = rpt_strtab_get(&r->hosts, l.str[BWG_LOGF_HOST], l.len[BWG_LOGF_HOST], true);
		if (item[0] == -ENOMEM)
			return -ENOMEM;
		if (item[0] < 0) {
			r->hosts_untracked++;
			uc->other_hosts++;
			un->c.other_hosts++;
		} else {
			if (!r->host_v && !(r->host_v = calloc(r->hosts.max + 1, sizeof(*r->host_v))))
				return -ENOMEM;
			hv = &r->host_v[item[0]];
			if (!hv->attempts)
				hv->cls = (uint16_t)cls;
			hv->attempts++;
		}
	}
	if (l.len[BWG_LOGF_APP] && (l.present & (1u << BWG_LOGF_APP))) {
		item[1] = intern_or_other(&r->apps, l.str[BWG_LOGF_APP], l.len[BWG_LOGF_APP],
					  &r->other_app);
		if (item[1] < 0)
			return (int)item[1];
	}
	bool new_host;
	if (count_items(r, item, user, (uint32_t)unit_id, uc, &un->c, &new_host) < 0)
		return -ENOMEM;
	if (hv)
		hv->users += new_host;
	return 0;
}
