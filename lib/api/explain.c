/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GET /api/v1/explain: what the gate would do with a flow, by the workers' own code.
 *
 * The question is put as a flow record answers it: the names /api/v1/flows prints (the
 * app label "TLS.YouTube", the category, the host), the addresses, and when. From them
 * explain builds the very `struct bwg_class_evidence` a worker builds from its flow
 * (lib/worker: flow_evidence) and runs the same functions on it: bwg_classes_decide for
 * the class, bwg_policy_unit, bwg_policy_schedules_active at the given time in the
 * policy's zone, bwg_policy_match for the rule; bwg_classes_explain says which evidence
 * decided, as a flow record's class_source and class_match do. A category not given is
 * the one nDPI gives the app by default (a Spotify flow is "Music" to nDPI, so it is
 * video here as on the wire). What the workers could not use either — a URL as a host,
 * an unknown name — is refused, never guessed around.
 *
 * HTTP thread (and the tests); a pure function of the policy, the names and the query.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_api.h"

static int
parse_ip(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (s && inet_pton(AF_INET, s, addr) == 1) {
		*family = 4;
		return 0;
	}
	if (s && inet_pton(AF_INET6, s, addr) == 1) {
		*family = 6;
		return 0;
	}
	return -1;
}

/* A name as a flow carries it, into out (lower case, xn-- form); an IP address is kept
 * as it is (a flow may carry one; no host list holds one). -1 with why on a fault. */
static int
name_arg(const char *what, const char *in, char *out, size_t cap, char *err, size_t errlen)
{
	uint8_t fam, a[16];
	if (strlen(in) >= cap) {
		snprintf(err, errlen, "%s: longer than %zu bytes", what, cap - 1);
		return -1;
	}
	snprintf(out, cap, "%s", in);
	if (parse_ip(in, &fam, a) == 0)
		return 0;
	if (strchr(in, '/') || strchr(in, ':') || strchr(in, '*')) {
		snprintf(err, errlen, "%s: give a name as a flow carries it (www.example.org), not "
			 "a URL, a port or a pattern", what);
		return -1;
	}
	char why[160];
	if (bwg_config_host_normalise(out, cap, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", what, why);
		return -1;
	}
	return 0;
}

static bool
digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

static int
num(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int
bwg_api_time_parse(const struct bwg_policy *p, const char *s, uint64_t *ns)
{
	size_t n = strlen(s);
	/* Unix seconds, fractions allowed. */
	if (n && n < 24 && strspn(s, "0123456789.") == n && s[0] != '.') {
		char *end;
		double v = strtod(s, &end);
		if (*end || v < 0 || v > 4102444800.0) /* 2100 */
			return -1;
		*ns = (uint64_t)(v * 1e9);
		return 0;
	}
	/* YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|-HH:MM]; a space for the T also does. */
	if (n < 16 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2) || (s[10] != 'T' && s[10] != ' ') || !digits(s + 11, 2) ||
	    s[13] != ':' || !digits(s + 14, 2))
		return -1;
	int year = num(s, 4), mon = num(s + 5, 2), day = num(s + 8, 2);
	int hh = num(s + 11, 2), mm = num(s + 14, 2), ss = 0;
	size_t i = 16;
	if (s[i] == ':') {
		if (!digits(s + i + 1, 2))
			return -1;
		ss = num(s + i + 1, 2);
		i += 3;
	}
	if (year < 1970 || year > 2099 || mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 ||
	    mm > 59 || ss > 59)
		return -1;
	int y2, m2, d2;
	int64_t days = bwg_days_from_civil(year, mon, day);
	bwg_civil_from_days(days, &y2, &m2, &d2);
	if (m2 != mon || d2 != day) /* 2026-02-30 */
		return -1;
	int64_t t = days * 86400 + hh * 3600 + mm * 60 + ss;
	if (s[i] == 0) {
		t = bwg_tz_to_utc(p->tz, p->n_tz, t); /* local time in the policy's zone */
	} else if (s[i] == 'Z' && s[i + 1] == 0) {
		/* UTC */
	} else if ((s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) && s[i + 3] == ':' &&
		   digits(s + i + 4, 2) && s[i + 6] == 0) {
		int off = num(s + i + 1, 2) * 3600 + num(s + i + 4, 2) * 60;
		t -= s[i] == '+' ? off : -off;
	} else {
		return -1;
	}
	if (t < 0)
		return -1;
	*ns = (uint64_t)t * 1000000000ull;
	return 0;
}

/* "2026-11-28T10:00:00+08:00": t in the policy's zone. */
static void
local_iso(const struct bwg_policy *p, uint64_t ns, char *buf, size_t len)
{
	int64_t t = (int64_t)(ns / 1000000000ull);
	int32_t off = bwg_tz_offset(p->tz, p->n_tz, t);
	int64_t l = t + off;
	int64_t days = l >= 0 ? l / 86400 : (l - 86399) / 86400;
	int64_t sec = l - days * 86400;
	int y, m, d;
	bwg_civil_from_days(days, &y, &m, &d);
	int a = off < 0 ? -off : off;
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, m, d, (int)(sec / 3600),
		 (int)(sec / 60 % 60), (int)(sec % 60), off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

static int
flag_arg(const char *what, const char *v, bool *out, char *err, size_t errlen)
{
	if (!v) {
		*out = false;
		return 0;
	}
	if (!*v || strcmp(v, "1") == 0 || strcmp(v, "true") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0) {
		*out = false;
		return 0;
	}
	snprintf(err, errlen, "%s: give true or false", what);
	return -1;
}

json_t *
bwg_api_explain_json(const struct bwg_policy *p, const struct bwg_dpi *dpi,
		     const struct bwg_api_explain_query *q, uint64_t now_ns, char *err,
		     size_t errlen)
{
	uint8_t fs, fd, as[16], ad[16];
	char clean[4 * 64 + 1], hint[240];
	if (!q->src || parse_ip(q->src, &fs, as) < 0) {
		snprintf(err, errlen, "src: give the client's IP address");
		return NULL;
	}
	const char *dst = q->dst ? q->dst : fs == 4 ? "0.0.0.0" : "::";
	if (parse_ip(dst, &fd, ad) < 0 || fd != fs) {
		snprintf(err, errlen, "dst: give the server's IP address, of the same family as src");
		return NULL;
	}
	uint16_t master = 0, app = 0;
	if (q->app && *q->app && bwg_dpi_label_parse(dpi, q->app, &master, &app) < 0) {
		const char *dot = strchr(q->app, '.');
		const char *bad = q->app;
		char part[64];
		if (dot && (size_t)(dot - q->app) < sizeof(part)) {
			memcpy(part, q->app, (size_t)(dot - q->app));
			part[dot - q->app] = 0;
			bad = bwg_dpi_app_id(dpi, part) < 0 ? part : dot + 1;
		}
		snprintf(err, errlen, "app: \"%s\" is not an nDPI 4.2 application (%s); give the "
			 "name /api/v1/flows prints, e.g. TLS.YouTube",
			 bwg_api_text_clean(clean, sizeof(clean), bad, strnlen(bad, 64)),
			 bwg_dpi_app_hint(dpi, bad, hint, sizeof(hint)));
		return NULL;
	}
	uint16_t category;
	if (q->category && *q->category) {
		int c = bwg_dpi_category_id(dpi, q->category);
		if (c < 0) {
			snprintf(err, errlen, "category: \"%s\" is not an nDPI category (%s)",
				 bwg_api_text_clean(clean, sizeof(clean), q->category,
						    strnlen(q->category, 64)),
				 bwg_dpi_category_hint(dpi, q->category, hint, sizeof(hint)));
			return NULL;
		}
		category = (uint16_t)c;
	} else {
		category = bwg_dpi_app_category(dpi, master, app);
	}
	char host[BWG_DPI_HOST_MAX] = "", learned[BWG_DPI_HOST_MAX] = "";
	if (q->host && *q->host && name_arg("host", q->host, host, sizeof(host), err, errlen) < 0)
		return NULL;
	if (q->learned && *q->learned &&
	    name_arg("learned", q->learned, learned, sizeof(learned), err, errlen) < 0)
		return NULL;
	if (*host && *learned) {
		snprintf(err, errlen, "learned: a flow with a name of its own (host) learns none");
		return NULL;
	}
	uint8_t det = BWG_DET_NONE;
	if (q->detector && *q->detector) {
		int id = bwg_detector_id(q->detector);
		if (id < 0) {
			snprintf(err, errlen, "detector: \"%s\" is not a bwgate detector (the name "
				 "before the colon of a flow's class_match)",
				 bwg_api_text_clean(clean, sizeof(clean), q->detector,
						    strnlen(q->detector, 64)));
			return NULL;
		}
		det = (uint8_t)id;
	}
	bool p2p_host, guessed;
	if (flag_arg("p2p_host", q->p2p_host, &p2p_host, err, errlen) < 0 ||
	    flag_arg("guessed", q->guessed, &guessed, err, errlen) < 0)
		return NULL;
	bool from_flow = false;
	if (q->learned_from && *q->learned_from) {
		from_flow = strcmp(q->learned_from, "flow") == 0;
		if (!from_flow && strcmp(q->learned_from, "dns") != 0) {
			snprintf(err, errlen, "learned_from: give dns or flow");
			return NULL;
		}
		if (!*learned) {
			snprintf(err, errlen, "learned_from: says where `learned` came from; give "
				 "learned as well");
			return NULL;
		}
	}
	uint8_t socket_cls = BWG_CLASS_NONE;
	if (q->socket_class && *q->socket_class) {
		for (uint32_t k = 1; k < p->n_classes && socket_cls == BWG_CLASS_NONE; k++)
			if (strcmp(p->class_names[k], q->socket_class) == 0)
				socket_cls = (uint8_t)k;
		if (socket_cls == BWG_CLASS_NONE || !p->classes.socket_affinity[socket_cls]) {
			snprintf(err, errlen, "socket_class: \"%s\" is not a class with "
				 "socket_affinity in this policy",
				 bwg_api_text_clean(clean, sizeof(clean), q->socket_class,
						    strnlen(q->socket_class, 64)));
			return NULL;
		}
	}
	uint64_t at = now_ns;
	if (q->at && bwg_api_time_parse(p, q->at, &at) < 0) {
		snprintf(err, errlen, "at: give Unix seconds or a time such as 2026-11-28T10:00 "
			 "(the policy's zone, %s) or 2026-11-28T10:00+08:00", p->conf->timezone);
		return NULL;
	}

	/* What a worker holds of such a flow, and what it does with it. */
	struct bwg_class_evidence ev = {
	    .master = master,
	    .app = app,
	    .category = category,
	    .guessed = guessed || (app == 0 && master == 0),
	    .host = host,
	    .learned = *learned ? learned : NULL,
	    .learned_from_flow = from_flow,
	    .family = fs,
	    .client = as,
	    .server = ad,
	    .detector = det,
	    .p2p_host = p2p_host,
	    .socket_cls = socket_cls,
	};
	struct bwg_class_decision dec;
	bwg_classes_decide(&p->classes, &ev, &dec);
	uint64_t next;
	uint32_t mask = bwg_policy_schedules_active(p, at, &next);
	uint16_t unit = bwg_policy_unit(p, fs, as, ad);
	const char *flow_host = *host ? host : learned;
	uint16_t rule = bwg_policy_match(p, dec.cls, unit, master, app, flow_host, mask);
	const struct bwg_rule *r = &p->rules[rule];
	char match[256], label[64], when[40];
	bwg_classes_explain(&p->classes, dpi, &ev, &dec, match, sizeof(match));
	bwg_dpi_label(dpi, master, app, label, sizeof(label));
	local_iso(p, at, when, sizeof(when));

	json_t *active = json_array();
	for (uint32_t i = 0; i < p->conf->n_schedules; i++)
		if (mask & (1u << i))
			json_array_append_new(active, json_string(p->conf->schedules[i].name));
	char why[512];
	const char *cls = p->class_names[dec.cls];
	if (rule == p->n_rules)
		snprintf(why, sizeof(why), "no rule matches (unit \"%s\", class \"%s\"): "
			 "default_action applies", p->unit_names[unit], cls);
	else
		snprintf(why, sizeof(why), "rules[%u] \"%s\" is the first rule whose units, classes, "
			 "apps, hosts and schedule all match (unit \"%s\", class \"%s\")",
			 rule, r->conf->name, p->unit_names[unit], cls);
	json_t *doc = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:f, s:s, s:o, "
	    "s:I, s:s}",
	    "src", q->src, "dst", dst, "app", label, "category",
	    bwg_dpi_category_name(dpi, category), "host", flow_host, "unit", p->unit_names[unit],
	    "class", cls, "class_source", bwg_class_source_names[dec.source], "class_match", match,
	    "rule", r->conf->name, "action", bwg_action_names[r->action], "rule_index",
	    rule == p->n_rules ? -1 : (int)rule, "timezone", p->conf->timezone, "at",
	    (double)(at / 1000000) / 1e3, "at_local", when, "schedules_active", active,
	    "policy_version", (json_int_t)p->version, "why", why);
	if (doc) {
		/* A monitor rule forwards: action is what it would have done. */
		json_object_set_new(doc, "mode",
				    json_string(r->conf->monitor ? "monitor" : "enforce"));
		if (r->conf->monitor)
			json_object_set_new(doc, "forwarded", json_true());
		/* What the rule holds each user to besides: the user's state is in
		 * /api/v1/quotas?host=. */
		const struct bwg_conf_rule *c = r->conf;
		if (c->has_quota)
			json_object_set_new(
			    doc, "quota",
			    json_pack("{s:s, s:I, s:i, s:o}", "period",
				      bwg_period_names[c->quota_period], "bytes",
				      (json_int_t)c->quota_bytes, "minutes", (int)c->quota_minutes,
				      "then", c->quota_block
						  ? json_string("block")
						  : json_pack("{s:I}", "rate_bps",
							      (json_int_t)c->then_rate_bps)));
		if (c->has_penalty)
			json_object_set_new(
			    doc, "penalty",
			    json_pack("{s:I, s:i, s:I, s:i}", "above_bps", (json_int_t)c->pen_above_bps,
				      "for_minutes", (int)c->pen_for, "rate_bps",
				      (json_int_t)c->pen_rate_bps, "lasts_minutes", (int)c->pen_lasts));
	}
	if (doc && r->action == BWG_ACTION_LIMIT)
		json_object_set_new(
		    doc, "limit",
		    json_pack("{s:I, s:I, s:s}", "rate_bps", (json_int_t)r->conf->rate_bps,
			      "burst_bytes", (json_int_t)r->conf->burst_bytes, "scope",
			      r->conf->scope == BWG_SCOPE_PER_HOST ? "per_host" : "aggregate"));
	if (!doc)
		snprintf(err, errlen, "out of memory");
	return doc;
}
