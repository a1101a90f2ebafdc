/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a report shows, from what was counted: units and users worst first (blocked
 * attempts, then limited flows, then name or address, so equal rows keep one order),
 * each one's most tried hosts and apps, the hosts most tried overall, and the classes
 * that had blocked attempts. Every writer (text, CSV, JSON, HTML) reads the same view,
 * so the formats cannot disagree.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_log.h"
#include "report.h"

const char *const rpt_skip_names[RPT_SKIP_MAX] = {
	[RPT_SKIP_NOT_JSON] = "corrupt or cut short",
	[RPT_SKIP_TOO_LONG] = "too long",
	[RPT_SKIP_FIELDS] = "missing fields",
	[RPT_SKIP_ADDRESS] = "bad address",
};

const char *const rpt_skip_keys[RPT_SKIP_MAX] = {
	[RPT_SKIP_NOT_JSON] = "not_json",
	[RPT_SKIP_TOO_LONG] = "too_long",
	[RPT_SKIP_FIELDS] = "missing_fields",
	[RPT_SKIP_ADDRESS] = "bad_address",
};

uint64_t
rpt_skipped_total(const struct rpt *r)
{
	uint64_t n = 0;
	for (int i = 0; i < RPT_SKIP_MAX; i++)
		n += r->skipped[i];
	return n;
}

const char *
rpt_unit_name(const struct rpt *r, uint32_t u)
{
	const char *n = r->units.names[u];
	return n[0] ? n : "(no unit)";
}

const char *
rpt_user_addr(const struct rpt_user *u, char *buf, size_t len)
{
	return bwg_log_format_ip(u->family, u->addr, buf, len);
}

/* qsort has no context argument; the report being sorted is set before each sort. */
static const struct rpt *sorting;

static int
counts_cmp(const struct rpt_counts *a, const struct rpt_counts *b)
{
	if (a->blocked != b->blocked)
		return a->blocked > b->blocked ? -1 : 1;
	if (a->limited != b->limited)
		return a->limited > b->limited ? -1 : 1;
	return 0;
}

static int
unit_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	int c = counts_cmp(&sorting->unit_v[a].c, &sorting->unit_v[b].c);
	return c ? c : strcmp(sorting->units.names[a], sorting->units.names[b]);
}

static int
user_cmp(const void *x, const void *y)
{
	const struct rpt_user *a = &sorting->users[*(const uint32_t *)x];
	const struct rpt_user *b = &sorting->users[*(const uint32_t *)y];
	int c = counts_cmp(&a->c, &b->c);
	if (c)
		return c;
	if (a->family != b->family)
		return a->family - b->family;
	if ((c = memcmp(a->addr, b->addr, 16)))
		return c;
	return strcmp(sorting->units.names[a->unit], sorting->units.names[b->unit]);
}

static const struct rpt_strtab *sorting_names;

static int
item_cmp(const void *x, const void *y)
{
	const struct rpt_item_count *a = x, *b = y;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(sorting_names->names[a->id], sorting_names->names[b->id]);
}

/* Sort v[n] by count and keep the first `top`; the rest summed into *more. */
static void
keep_top(struct rpt_item_count *v, uint32_t *n, uint32_t top, uint64_t *more,
	 const struct rpt_strtab *names)
{
	sorting_names = names;
	qsort(v, *n, sizeof(*v), item_cmp);
	*more = 0;
	for (uint32_t i = top; i < *n; i++)
		*more += v[i].count;
	if (*n > top)
		*n = top;
}

/*
 * Every owner's hosts and apps from the pair table in one pass: count each owner's
 * pairs, give each a slice of one array, fill the slices, then sort and cut each.
 */
static int
build_items(struct rpt_items *items, uint32_t n_owners, enum rpt_owner kind, const struct rpt *r)
{
	uint32_t *n_h = calloc(n_owners + 1, sizeof(*n_h)), *n_a = calloc(n_owners + 1, sizeof(*n_a));
	if (!n_h || !n_a) {
		free(n_h);
		free(n_a);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i <= r->pair_slot_mask; i++) {
		const struct rpt_pair *p = &r->pairs[i];
		if (!p->count || (enum rpt_owner)(p->key >> 63) != kind)
			continue;
		uint32_t o = (uint32_t)(p->key >> 32) & 0x3fffffff;
		if ((p->key >> 62) & 1)
			n_a[o]++;
		else
			n_h[o]++;
	}
	int rc = 0;
	for (uint32_t o = 0; o < n_owners && rc == 0; o++) {
		items[o].hosts = calloc(n_h[o] + 1, sizeof(*items[o].hosts));
		items[o].apps = calloc(n_a[o] + 1, sizeof(*items[o].apps));
		if (!items[o].hosts || !items[o].apps)
			rc = -ENOMEM;
	}
	for (uint32_t i = 0; rc == 0 && i <= r->pair_slot_mask; i++) {
		const struct rpt_pair *p = &r->pairs[i];
		if (!p->count || (enum rpt_owner)(p->key >> 63) != kind)
			continue;
		struct rpt_items *it = &items[(uint32_t)(p->key >> 32) & 0x3fffffff];
		struct rpt_item_count ic = {.id = (uint32_t)p->key, .count = p->count};
		if ((p->key >> 62) & 1)
			it->apps[it->n_apps++] = ic;
		else
			it->hosts[it->n_hosts++] = ic;
	}
	for (uint32_t o = 0; rc == 0 && o < n_owners; o++) {
		struct rpt_items *it = &items[o];
		it->distinct_hosts = it->n_hosts;
		it->distinct_apps = it->n_apps;
		keep_top(it->hosts, &it->n_hosts, r->top, &it->more_hosts, &r->hosts);
		keep_top(it->apps, &it->n_apps, r->top, &it->more_apps, &r->apps);
	}
	free(n_h);
	free(n_a);
	return rc;
}

int
rpt_view_build(struct rpt_view *v, const struct rpt *r)
{
	memset(v, 0, sizeof(*v));
	v->units = calloc(r->units.n + 1, sizeof(*v->units));
	v->users = calloc(r->n_users + 1, sizeof(*v->users));
	v->unit_items = calloc(r->units.n + 1, sizeof(*v->unit_items));
	v->user_items = calloc(r->n_users + 1, sizeof(*v->user_items));
	v->top_hosts = calloc(r->hosts.n + 1, sizeof(*v->top_hosts));
	if (!v->units || !v->users || !v->unit_items || !v->user_items || !v->top_hosts)
		return -ENOMEM;
	v->n_unit_items = r->units.n;
	v->n_user_items = r->n_users;
	for (uint32_t u = 0; u < r->units.n; u++)
		if (r->unit_v[u].c.blocked || r->unit_v[u].c.limited)
			v->units[v->n_units++] = u;
	sorting = r;
	qsort(v->units, v->n_units, sizeof(*v->units), unit_cmp);
	for (uint32_t i = 0; i < r->n_users; i++)
		v->users[v->n_users++] = i;
	qsort(v->users, v->n_users, sizeof(*v->users), user_cmp);
	sorting = NULL;
	v->n_users_all = v->n_users;
	if (v->n_users > r->show_users)
		v->n_users = r->show_users;
	if (build_items(v->unit_items, r->units.n, RPT_OWNER_UNIT, r) < 0 ||
	    build_items(v->user_items, r->n_users, RPT_OWNER_USER, r) < 0)
		return -ENOMEM;
	for (uint32_t h = 0; h < r->hosts.n; h++)
		v->top_hosts[v->n_top_hosts++] =
			(struct rpt_item_count){.id = h, .count = r->host_v[h].attempts};
	uint64_t more;
	keep_top(v->top_hosts, &v->n_top_hosts, r->top, &more, &r->hosts);
	for (uint32_t k = 0; k < r->classes.n; k++) {
		v->all_classes[v->n_all_classes++] = k;
		if (r->total.by_class[k])
			v->classes[v->n_classes++] = k;
	}
	return 0;
}

void
rpt_view_fini(struct rpt_view *v)
{
	for (uint32_t i = 0; v->unit_items && i < v->n_unit_items; i++) {
		free(v->unit_items[i].hosts);
		free(v->unit_items[i].apps);
	}
	for (uint32_t i = 0; v->user_items && i < v->n_user_items; i++) {
		free(v->user_items[i].hosts);
		free(v->user_items[i].apps);
	}
	free(v->unit_items);
	free(v->user_items);
	free(v->units);
	free(v->users);
	free(v->top_hosts);
	memset(v, 0, sizeof(*v));
}
