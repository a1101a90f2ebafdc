/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Policy compiler and evaluator.
 *
 * Compilation (control thread) resolves every name once: the classes through
 * lib/classify (nDPI names, host and address lists, detectors), units into a prefix
 * list sorted longest first, rules into bitmaps. Evaluation (workers) happens once per flow when its
 * classification, the policy or the active schedules change — never per packet — so it
 * favours plain loops over clever structures: a rule list is walked in order because the
 * config promises first-match-wins, and operators read it that way.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bwg_policy.h"

static int
prefix_cmp(const void *a, const void *b)
{
	const struct bwg_prefix *x = a, *y = b;
	return (int)y->len - (int)x->len;
}

int
bwg_prefixes_build(const struct bwg_config *c, struct bwg_prefix **out, uint32_t *n_out)
{
	uint32_t n = 0;
	for (uint32_t u = 0; u < c->n_units; u++)
		n += c->units[u].n_cidrs;
	struct bwg_prefix *px = calloc(n ? n : 1, sizeof(*px));
	if (!px)
		return -ENOMEM;
	n = 0;
	for (uint32_t u = 0; u < c->n_units; u++) {
		for (uint32_t i = 0; i < c->units[u].n_cidrs; i++) {
			const struct bwg_cidr *cd = &c->units[u].cidrs[i];
			px[n].family = cd->family;
			px[n].len = cd->len;
			px[n].unit = (uint16_t)(u + 1);
			memcpy(px[n].addr, cd->addr, 16);
			n++;
		}
	}
	qsort(px, n, sizeof(*px), prefix_cmp);
	*out = px;
	*n_out = n;
	return 0;
}

static int
compile_units(struct bwg_policy *p)
{
	const struct bwg_config *c = p->conf;
	p->unit_names[0] = "";
	p->host_flows_max[0] = c->flows_per_host_max;
	for (uint32_t u = 0; u < c->n_units; u++) {
		p->unit_names[u + 1] = c->units[u].name;
		p->host_flows_max[u + 1] = c->units[u].has_flows_per_host_max
						   ? c->units[u].flows_per_host_max
						   : c->flows_per_host_max;
	}
	p->n_units = c->n_units + 1;
	for (uint32_t u = 0; u < p->n_units; u++)
		p->host_flows_capped |= p->host_flows_max[u] != 0;
	return bwg_prefixes_build(c, &p->prefixes, &p->n_prefixes);
}

/* Append s to b (cap bytes, NUL-terminated) with HTML's special characters escaped. */
static void
html_append(char *b, size_t cap, const char *s)
{
	size_t n = strlen(b);
	for (; *s && n + 7 < cap; s++) {
		const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
			      : *s == '"' ? "&quot;" : NULL;
		if (e)
			n += (size_t)snprintf(b + n, cap - n, "%s", e);
		else
			b[n++] = *s;
	}
	b[n] = 0;
}

/* Why a rule blocks, as the notice page says it: what it matches on. */
static void
notice_reason(const struct bwg_policy *p, const struct bwg_conf_rule *cr, char *b, size_t cap)
{
	const struct bwg_config *c = p->conf;
	const char *what = "policy";
	const struct bwg_strlist *list = NULL;
	char names[160] = "";
	if (cr->has_classes) {
		what = "class";
		for (uint32_t k = 0; k < c->n_classes; k++)
			if (cr->classes & (1u << k))
				snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
					 names[0] ? ", " : "", c->classes[k].name);
	} else if (cr->apps.n) {
		what = "app", list = &cr->apps;
	} else if (cr->hosts.n) {
		what = "host", list = &cr->hosts;
	} else if (cr->n_units) {
		what = "unit";
		for (uint32_t i = 0; i < cr->n_units; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i ? ", " : "", c->units[cr->units[i] - 1].name);
	}
	for (uint32_t i = 0; list && i < list->n; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 i ? ", " : "", list->v[i]);
	snprintf(b, cap, "%s%s", what, names[0] ? ": " : "");
	html_append(b, cap, names);
}

/*
 * The HTTP answer a block rule with `notice` sends to a plain-HTTP request: 403, the
 * rule, why, and whom to ask, in Chinese and English. It must fit one frame of
 * ports.mtu (IPv6 and TCP headers taken off): a page split over segments would need
 * the client's acknowledgments, which the gate never waits for.
 */
static int
notice_build(struct bwg_policy *p, struct bwg_rule *r, const char *where, char *err,
	     size_t errlen)
{
	const struct bwg_conf_rule *cr = r->conf;
	char rule[3 * BWG_NAME_MAX * 2] = "", reason[400], contact[BWG_NOTICE_CONTACT_MAX * 6 + 8] = "";
	html_append(rule, sizeof(rule), cr->name);
	notice_reason(p, cr, reason, sizeof(reason));
	html_append(contact, sizeof(contact), p->conf->notice_contact);
	char body[BWG_NOTICE_MAX];
	int nb = snprintf(body, sizeof(body),
			  "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
			  "<title>\xe8\xae\xbf\xe9\x97\xae\xe5\xb7\xb2\xe8\xa2\xab\xe9\x98\xbb"
			  "\xe6\xad\xa2 / Access blocked</title></head><body>\n"
			  /* 访问已被阻止 */
			  "<h1>\xe8\xae\xbf\xe9\x97\xae\xe5\xb7\xb2\xe8\xa2\xab\xe9\x98\xbb"
			  "\xe6\xad\xa2</h1>\n"
			  /* 根据本单位互联网使用规定，此访问已被阻止。 */
			  "<p>\xe6\xa0\xb9\xe6\x8d\xae\xe6\x9c\xac\xe5\x8d\x95\xe4\xbd\x8d"
			  "\xe4\xba\x92\xe8\x81\x94\xe7\xbd\x91\xe4\xbd\xbf\xe7\x94\xa8"
			  "\xe8\xa7\x84\xe5\xae\x9a\xef\xbc\x8c\xe6\xad\xa4\xe8\xae\xbf"
			  "\xe9\x97\xae\xe5\xb7\xb2\xe8\xa2\xab\xe9\x98\xbb\xe6\xad\xa2"
			  "\xe3\x80\x82</p>\n"
			  /* 规则： 原因： 如有疑问，请联系： */
			  "<p>\xe8\xa7\x84\xe5\x88\x99\xef\xbc\x9a%s<br>"
			  "\xe5\x8e\x9f\xe5\x9b\xa0\xef\xbc\x9a%s<br>"
			  "\xe5\xa6\x82\xe6\x9c\x89\xe7\x96\x91\xe9\x97\xae\xef\xbc\x8c"
			  "\xe8\xaf\xb7\xe8\x81\x94\xe7\xb3\xbb\xef\xbc\x9a%s</p>\n<hr>\n"
			  "<h1>Access blocked</h1>\n"
			  "<p>This site is blocked under the internet use policy.</p>\n"
			  "<p>Rule: %s<br>Reason: %s<br>Questions: %s</p>\n</body></html>\n",
			  rule, reason, contact, rule, reason, contact);
	char *text = malloc(BWG_NOTICE_MAX);
	if (!text)
		return -ENOMEM;
	int n = nb < 0 || (size_t)nb >= sizeof(body)
			? -1
			: snprintf(text, BWG_NOTICE_MAX,
				   "HTTP/1.1 403 Forbidden\r\n"
				   "Content-Type: text/html; charset=utf-8\r\n"
				   "Content-Length: %d\r\n"
				   "Cache-Control: no-store\r\n"
				   "Connection: close\r\n\r\n%s",
				   nb, body);
	uint32_t room = p->conf->mtu > 60 ? p->conf->mtu - 60 : 0; /* IPv6 + TCP headers */
	if (room > BWG_NOTICE_MAX - 1)
		room = BWG_NOTICE_MAX - 1;
	if (n < 0 || (uint32_t)n > room) {
		free(text);
		snprintf(err, errlen, "%s: %s: the notice page would not fit one frame of "
			 "ports.mtu %u (%u bytes at most): shorten notice.contact or the rule's "
			 "name", p->conf->path, where, p->conf->mtu, room);
		return -EINVAL;
	}
	r->notice.text = text;
	r->notice.len = (uint32_t)n;
	return 0;
}

static int
compile_rule(struct bwg_policy *p, struct bwg_rule *r, const struct bwg_conf_rule *cr,
	     const struct bwg_dpi *dpi, char *err, size_t errlen)
{
	r->conf = cr;
	r->action = cr->action;
	r->log = cr->log;
	r->schedule = cr->schedule;
	r->match_units = cr->n_units > 0;
	for (uint32_t i = 0; i < cr->n_units; i++)
		r->units[cr->units[i] / 64] |= 1ull << (cr->units[i] % 64);
	r->match_classes = cr->has_classes;
	r->classes = cr->classes;
	if (cr->apps.n) {
		r->apps = calloc(cr->apps.n, sizeof(*r->apps));
		if (!r->apps)
			return -ENOMEM;
		for (uint32_t i = 0; i < cr->apps.n; i++) {
			int id = bwg_dpi_app_id(dpi, cr->apps.v[i]);
			if (id < 0) {
				char h[240], msg[320];
				snprintf(msg, sizeof(msg), "is not an nDPI application name (%s)",
					 bwg_dpi_app_hint(dpi, cr->apps.v[i], h, sizeof(h)));
				return bwg_config_name_error(err, errlen, p->conf, cr->apps.where[i], msg,
					    cr->apps.v[i]);
			}
			r->apps[r->n_apps++] = (uint16_t)id;
		}
	}
	r->match_hosts = cr->hosts.n > 0;
	if (r->match_hosts) {
		if (bwg_hostset_init(&r->hosts, cr->hosts.n) < 0)
			return -ENOMEM;
		for (uint32_t i = 0; i < cr->hosts.n; i++)
			if (bwg_hostset_add(&r->hosts, cr->hosts.v[i], 1, NULL) == -ENOMEM)
				return -ENOMEM;
	}
	if (cr->notice) {
		char where[32];
		snprintf(where, sizeof(where), "rules[%u].notice", (uint32_t)(r - p->rules));
		return notice_build(p, r, where, err, errlen);
	}
	return 0;
}

static int32_t
utc_offset_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	return (int32_t)tm.tm_gmtoff;
}

struct tz_table {
	struct bwg_tz_span *v;
	uint32_t n, cap;
};

static int
tz_push(struct tz_table *t, int64_t from, int32_t offset)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		struct bwg_tz_span *n = realloc(t->v, t->cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->v = n;
	}
	t->v[t->n++] = (struct bwg_tz_span){.from = from, .offset = offset};
	return 0;
}

/*
 * Turn the zone into a table of UTC offsets from 1970 to 2100: glibc is asked day by
 * day (and to the second around each change) with TZ pointing at the zone for the
 * duration of the call, then TZ is put back. The zone file was checked by the config.
 */
int
bwg_tz_build(const char *zone, struct bwg_tz_span **out, uint32_t *n_out)
{
	const int64_t day = 86400, start = 0, end = 4102444800; /* 2100-01-01 */
	char *saved = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	setenv("TZ", zone, 1);
	tzset();
	struct tz_table t = {0};
	int32_t cur = utc_offset_at(start);
	int rc = tz_push(&t, INT64_MIN, cur);
	for (int64_t d = start + day; rc == 0 && d < end; d += day) {
		int32_t o = utc_offset_at(d);
		if (o == cur)
			continue;
		int64_t lo = d - day, hi = d; /* offset(lo) == cur, offset(hi) == o */
		while (hi - lo > 1) {
			int64_t mid = lo + (hi - lo) / 2;
			if (utc_offset_at(mid) == cur)
				lo = mid;
			else
				hi = mid;
		}
		rc = tz_push(&t, hi, o);
		cur = o;
	}
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	if (rc < 0) {
		free(t.v);
		return rc;
	}
	*out = t.v;
	*n_out = t.n;
	return 0;
}

static uint32_t
tz_span_at(const struct bwg_tz_span *tz, uint32_t n, int64_t t)
{
	/* Last span starting at or before t (the first starts at INT64_MIN). */
	uint32_t lo = 0, hi = n;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (tz[mid].from <= t)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Civil dates in the proleptic Gregorian calendar, by eras of 400 years (146097 days,
 * which repeat exactly); years start on March 1st inside an era so that the leap day
 * is the last day of a year.
 */
int64_t
bwg_days_from_civil(int y, int m, int d)
{
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;                        /* 0 .. 399 */
	int64_t mp = (m + 9) % 12;                           /* March = 0 */
	int64_t doy = (153 * mp + 2) / 5 + d - 1;            /* 0 .. 365 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0 .. 146096 */
	return era * 146097 + doe - 719468; /* days from 0000-03-01 to 1970-01-01 */
}

void
bwg_civil_from_days(int64_t days, int *y, int *m, int *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int32_t
bwg_tz_offset(const struct bwg_tz_span *tz, uint32_t n, int64_t t)
{
	return tz[tz_span_at(tz, n, t)].offset;
}

int64_t
bwg_tz_to_utc(const struct bwg_tz_span *tz, uint32_t n, int64_t local)
{
	/*
	 * Spans are days apart, so the answer lies in the span holding `local` read as UTC
	 * or a neighbour of it. An ambiguous time (clocks set back) is the earlier instant;
	 * a time that never happened (clocks set forward) is the change itself.
	 */
	uint32_t k = tz_span_at(tz, n, local);
	uint32_t lo = k > 2 ? k - 2 : 0, hi = k + 2 < n ? k + 2 : n - 1;
	for (uint32_t i = lo; i <= hi; i++) {
		int64_t t = local - tz[i].offset;
		if (tz[i].from <= t && (i + 1 == n || t < tz[i + 1].from))
			return t;
	}
	for (uint32_t i = lo + 1; i <= hi; i++)
		if (local - tz[i - 1].offset >= tz[i].from && local - tz[i].offset < tz[i].from)
			return tz[i].from;
	return local - tz[k].offset;
}

int
bwg_policy_compile(struct bwg_policy **out, struct bwg_config *conf, const struct bwg_dpi *dpi,
		   uint32_t version, char *err, size_t errlen)
{
	struct bwg_policy *p = calloc(1, sizeof(*p));
	if (!p) {
		bwg_config_free(conf);
		snprintf(err, errlen, "out of memory compiling the policy");
		return -ENOMEM;
	}
	p->conf = conf;
	p->version = version;
	p->loaded_at = (uint64_t)time(NULL);
	int rc = -ENOMEM;
	p->rules = calloc(conf->n_rules + 1, sizeof(*p->rules));
	if (!p->rules)
		goto fail;
	if ((rc = bwg_classes_build(&p->classes, conf, dpi, err, errlen)) < 0)
		goto fail_msg;
	for (uint32_t k = 0; k < p->classes.n; k++)
		p->class_names[k] = p->classes.names[k];
	p->n_classes = p->classes.n;
	for (uint32_t k = 0; k < BWG_CLASS_MAX; k++)
		p->class_slot[k] = (uint16_t)k;
	for (uint32_t u = 0; u <= BWG_UNIT_MAX; u++)
		p->unit_slot[u] = (uint16_t)u;
	if ((rc = compile_units(p)) < 0)
		goto fail;
	for (uint32_t i = 0; i < conf->n_rules; i++)
		if ((rc = compile_rule(p, &p->rules[i], &conf->rules[i], dpi, err, errlen)) < 0)
			goto fail;
	p->default_rule.name = "default";
	p->default_rule.action = conf->default_action;
	p->default_rule.schedule = -1;
	if ((rc = compile_rule(p, &p->rules[conf->n_rules], &p->default_rule, dpi, err,
			       errlen)) < 0)
		goto fail;
	p->n_rules = conf->n_rules;
	p->rule_meters = aligned_alloc(64, (conf->n_rules + 1) * sizeof(*p->rule_meters));
	if (!p->rule_meters) {
		rc = -ENOMEM;
		goto fail;
	}
	memset(p->rule_meters, 0, (conf->n_rules + 1) * sizeof(*p->rule_meters));
	for (uint32_t i = 0; i <= conf->n_rules; i++)
		if (p->rules[i].action == BWG_ACTION_LIMIT)
			bwg_meter_shared_init(&p->rule_meters[i].m, p->rules[i].conf->rate_bps,
					      p->rules[i].conf->burst_bytes);

	if ((rc = bwg_tz_build(conf->timezone, &p->tz, &p->n_tz)) < 0)
		goto fail;
	*out = p;
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory compiling the policy");
fail_msg:
	bwg_policy_free(p);
	return rc;
}

void
bwg_policy_free(struct bwg_policy *p)
{
	if (!p)
		return;
	if (p->rules) {
		uint32_t n = p->conf ? p->conf->n_rules + 1 : 0;
		for (uint32_t i = 0; i < n; i++) {
			free(p->rules[i].apps);
			free(p->rules[i].notice.text);
			bwg_hostset_fini(&p->rules[i].hosts);
		}
	}
	free(p->rules);
	free(p->rule_meters);
	bwg_classes_fini(&p->classes);
	free(p->prefixes);
	free(p->tz);
	bwg_config_free(p->conf);
	free(p);
}

static int
prefix_has(const struct bwg_prefix *px, const uint8_t *a)
{
	unsigned full = px->len / 8, rest = px->len % 8;
	if (memcmp(px->addr, a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (px->addr[full] & m) == (a[full] & m);
}

uint16_t
bwg_prefixes_find(const struct bwg_prefix *px, uint32_t n, uint8_t family, const uint8_t *a)
{
	for (uint32_t i = 0; i < n; i++)
		if (px[i].family == family && prefix_has(&px[i], a))
			return px[i].unit;
	return BWG_UNIT_NONE;
}

uint16_t
bwg_policy_unit(const struct bwg_policy *p, uint8_t family, const uint8_t *client,
		const uint8_t *server)
{
	uint16_t u = bwg_prefixes_find(p->prefixes, p->n_prefixes, family, client);
	return u ? u : bwg_prefixes_find(p->prefixes, p->n_prefixes, family, server);
}

int
bwg_policy_inside(const struct bwg_policy *p, uint8_t family, const uint8_t *client,
		  const uint8_t *server, bool *either)
{
	bool c = bwg_prefixes_find(p->prefixes, p->n_prefixes, family, client) != BWG_UNIT_NONE;
	bool s = bwg_prefixes_find(p->prefixes, p->n_prefixes, family, server) != BWG_UNIT_NONE;
	if (either)
		*either = c == s;
	return !c && s ? 1 : 0;
}

static int
rule_matches(const struct bwg_rule *r, uint8_t cls, uint16_t unit, uint16_t master,
	     uint16_t app, const char *host, uint32_t sched_mask)
{
	if (r->conf->disabled)
		return 0;
	if (r->match_classes && !(r->classes & (1u << cls)))
		return 0;
	if (r->match_units && !(r->units[unit / 64] & (1ull << (unit % 64))))
		return 0;
	if (r->schedule >= 0 && !(sched_mask & (1u << r->schedule)))
		return 0;
	if (r->n_apps) {
		int hit = 0;
		for (uint32_t i = 0; i < r->n_apps && !hit; i++)
			hit = (app && r->apps[i] == app) || (master && r->apps[i] == master);
		if (!hit)
			return 0;
	}
	uint8_t v;
	if (r->match_hosts && !(host && *host && bwg_hostset_match(&r->hosts, host, &v)))
		return 0;
	return 1;
}

uint16_t
bwg_policy_match(const struct bwg_policy *p, uint8_t cls, uint16_t unit, uint16_t master,
		 uint16_t app, const char *host, uint32_t sched_mask)
{
	for (uint32_t i = 0; i < p->n_rules; i++)
		if (rule_matches(&p->rules[i], cls, unit, master, app, host, sched_mask))
			return (uint16_t)i;
	return (uint16_t)p->n_rules;
}

uint32_t
bwg_policy_schedules_active(const struct bwg_policy *p, uint64_t now_ns, uint64_t *next_ns)
{
	int64_t t = (int64_t)(now_ns / 1000000000ull);
	int64_t local = t + bwg_tz_offset(p->tz, p->n_tz, t);
	int64_t days = local / 86400 - (local % 86400 < 0);
	int64_t secs = local - days * 86400;
	unsigned day = (unsigned)(((days + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday; Monday = 0 */
	unsigned minute = (unsigned)(secs / 60);
	uint32_t mask = 0;
	for (uint32_t s = 0; s < p->conf->n_schedules; s++) {
		const struct bwg_conf_schedule *sc = &p->conf->schedules[s];
		for (uint32_t w = 0; w < sc->n_windows; w++) {
			const struct bwg_conf_window *win = &sc->windows[w];
			if ((win->days & (1u << day)) && minute >= win->from_min &&
			    minute < win->to_min)
				mask |= 1u << s;
		}
	}
	if (next_ns)
		*next_ns = ((uint64_t)t / 60 + 1) * 60 * 1000000000ull;
	return mask;
}
