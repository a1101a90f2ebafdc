/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The API's router (HTTP thread; the fuzz target and the unit tests call it with no
 * socket): a request, as the HTTP glue gathered it into a plain struct, in; a status,
 * headers and a body out. It reads only what it is given — the published snapshot, the
 * flow list, the policy in force, the token — so the same request against the same
 * state always gets the same bytes, and nothing a client sends reaches a worker.
 *
 * Client bytes are checked before anything else looks at them: a path or a query
 * argument that is not UTF-8 (or holds a NUL) is answered 400, and every message that
 * quotes a client's text cleans it first (bwg_api_text_clean), so an answer is always
 * valid JSON. Writes are authenticated here and handed back to the glue with
 * rs->write set: only the control thread may carry them out.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_api.h"

#define MSG_MAX (BWG_CONFIG_ERR_MAX + 256)
#define QUOTE_MAX 200 /* bytes of a client's text quoted in a message */

static const char json_ctype[] = "application/json";

/* ---- responses ------------------------------------------------------------------------ */

static void
set_text(struct bwg_api_response *rs, unsigned status, char *text, size_t len, const char *type)
{
	rs->status = status;
	rs->body = text;
	rs->len = len;
	rs->content_type = type;
}

/* j (stolen) as the body, compact or indented, ending with a newline. */
static void
set_json(struct bwg_api_response *rs, unsigned status, json_t *j)
{
	size_t flags = (rs->pretty ? JSON_INDENT(2) : JSON_COMPACT) | BWG_JSON_REAL_FLAGS;
	char *txt = j ? json_dumps(j, flags) : NULL;
	json_decref(j);
	char *body = txt ? realloc(txt, strlen(txt) + 2) : NULL;
	if (!body) {
		free(txt);
		static const char oom[] = "{\"error\":\"out of memory\"}\n";
		char *t = strdup(oom);
		set_text(rs, 500, t, t ? sizeof(oom) - 1 : 0, json_ctype);
		return;
	}
	size_t len = strlen(body);
	body[len++] = '\n';
	body[len] = 0;
	set_text(rs, status, body, len, json_ctype);
}

void
bwg_api_respond_error(struct bwg_api_response *rs, unsigned status, const char *fmt, ...)
{
	char msg[MSG_MAX], clean[MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_json(rs, status,
		 bwg_api_error_json(bwg_api_text_clean(clean, sizeof(clean), msg, strlen(msg))));
}

void
bwg_api_write_answer(struct bwg_api_response *rs, unsigned status, const char *msg,
		     uint32_t version)
{
	rs->write = BWG_API_WRITE_NONE;
	if (status != 200) {
		bwg_api_respond_error(rs, status, "%s", msg);
		return;
	}
	char clean[MSG_MAX];
	set_json(rs, 200,
		 json_pack("{s:b, s:I, s:s}", "ok", 1, "version", (json_int_t)version, "message",
			   bwg_api_text_clean(clean, sizeof(clean), msg, strlen(msg))));
}

/* ---- the request's parts ---------------------------------------------------------------- */

static bool
is(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

/* The argument `key` ("?key" alone has a NULL value), or NULL when absent. */
static const struct bwg_api_arg *
arg(const struct bwg_api_request *rq, const char *key)
{
	for (uint32_t i = 0; i < rq->n_args; i++)
		if (is(rq->args[i].key, rq->args[i].key_len, key))
			return &rq->args[i];
	return NULL;
}

/* The argument's value as a C string in buf (it has no NUL: checked on entry), or NULL
 * when absent. A value longer than the buffer is reported as too long by the caller. */
static const char *
arg_str(const struct bwg_api_request *rq, const char *key, char *buf, size_t len, bool *too_long)
{
	const struct bwg_api_arg *a = arg(rq, key);
	if (!a)
		return NULL;
	size_t n = a->value ? a->value_len : 0;
	if (n >= len) {
		*too_long = true;
		n = len - 1;
	}
	if (n)
		memcpy(buf, a->value, n);
	buf[n] = 0;
	return buf;
}

/* ?limit=N: 1..BWG_API_LIMIT_MAX, default BWG_API_LIMIT_DEFAULT. -1 when malformed. */
static long
arg_limit(const struct bwg_api_request *rq)
{
	char buf[16];
	bool too_long = false;
	const char *s = arg_str(rq, "limit", buf, sizeof(buf), &too_long);
	if (!s)
		return BWG_API_LIMIT_DEFAULT;
	if (too_long || !*s)
		return -1;
	long v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > BWG_API_LIMIT_MAX)
			return -1;
	}
	return v >= 1 ? v : -1;
}

/* Every byte a handler might look at or quote is text: 400 otherwise. */
static bool
request_text_ok(const struct bwg_api_request *rq, struct bwg_api_response *rs)
{
	char clean[QUOTE_MAX * 4 + 1];
	if (!bwg_api_utf8_valid(rq->path, rq->path_len)) {
		bwg_api_respond_error(
		    rs, 400, "the path is not valid UTF-8: %s",
		    bwg_api_text_clean(clean, sizeof(clean), rq->path, rq->path_len));
		return false;
	}
	if (rq->too_many_args) {
		bwg_api_respond_error(rs, 400, "more than %d query arguments", BWG_API_ARGS_MAX);
		return false;
	}
	for (uint32_t i = 0; i < rq->n_args; i++) {
		const struct bwg_api_arg *a = &rq->args[i];
		if (!bwg_api_utf8_valid(a->key, a->key_len) ||
		    (a->value && !bwg_api_utf8_valid(a->value, a->value_len))) {
			bwg_api_respond_error(
			    rs, 400, "query argument \"%s\" is not valid UTF-8 text",
			    bwg_api_text_clean(clean, sizeof(clean), a->key,
					       a->key_len < QUOTE_MAX ? a->key_len : QUOTE_MAX));
			return false;
		}
	}
	return true;
}

bool
bwg_api_token_ok(const char *token, size_t token_len, const char *auth, size_t auth_len)
{
	static const char bearer[] = "Bearer ";
	const size_t bl = sizeof(bearer) - 1;
	if (!token || !auth || auth_len < bl || memcmp(auth, bearer, bl) != 0)
		return false;
	const char *t = auth + bl;
	size_t n = auth_len - bl;
	/* Constant time over the configured token, whatever the guess. */
	unsigned char diff = n != token_len;
	for (size_t i = 0; i < token_len; i++)
		diff |= (unsigned char)(token[i] ^ (i < n ? t[i] : 0));
	return diff == 0;
}

bool
bwg_api_is_health(const struct bwg_api_request *rq)
{
	return is(rq->path, rq->path_len, "/healthz") && rq->method &&
	       (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0);
}

/* ---- read endpoints ------------------------------------------------------------------- */

static void
get_policy(const struct bwg_api_state *st, struct bwg_api_response *rs)
{
	const struct bwg_policy *p = st->policy;
	set_json(rs, 200,
		 json_pack("{s:I, s:I, s:s, s:O}", "version", (json_int_t)p->version, "loaded_at",
			   (json_int_t)p->loaded_at, "file", p->conf->path, "policy",
			   p->conf->root));
}

/* The argument `key` into buf as a C string, or NULL; 400 answered when it is too long. */
static bool
arg_fit(const struct bwg_api_request *rq, const char *key, char *buf, size_t len,
	const char **out, struct bwg_api_response *rs)
{
	bool too_long = false;
	*out = arg_str(rq, key, buf, len, &too_long);
	if (too_long)
		bwg_api_respond_error(rs, 400, "%s: longer than %zu bytes", key, len - 1);
	return !too_long;
}

/* What the workers would do with a flow like this one (lib/api/explain.c). */
static void
get_explain(const struct bwg_api_state *st, const struct bwg_api_request *rq,
	    struct bwg_api_response *rs)
{
	char b[12][BWG_DPI_HOST_MAX * 2];
	struct bwg_api_explain_query q;
	const char **f[] = {&q.src, &q.dst, &q.app, &q.category, &q.host, &q.learned,
			    &q.learned_from, &q.detector, &q.p2p_host, &q.socket_class,
			    &q.guessed, &q.at};
	static const char *const keys[] = {"src", "dst", "app", "category", "host",
					   "learned", "learned_from", "detector", "p2p_host",
					   "socket_class", "guessed", "at"};
	for (int i = 0; i < 12; i++)
		if (!arg_fit(rq, keys[i], b[i], sizeof(b[i]), f[i], rs))
			return;
	char err[MSG_MAX];
	json_t *doc = bwg_api_explain_json(st->policy, st->dpi, &q, st->now_ns, err, sizeof(err));
	if (!doc) {
		bwg_api_respond_error(rs, 400, "%s", err);
		return;
	}
	set_json(rs, 200, doc);
}

/* `name` among names[0..n), or a message listing them. */
static bool
known_name(const char *key, const char *name, const char *const *names, uint32_t first,
	   uint32_t n, const char *extra, struct bwg_api_response *rs)
{
	for (uint32_t i = first; i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return true;
	if (extra && strcmp(extra, name) == 0)
		return true;
	char list[600] = "", clean[QUOTE_MAX * 4 + 1];
	for (uint32_t i = first; i < n && strlen(list) < sizeof(list) - 80; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 list[0] ? ", " : "", names[i]);
	if (extra)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), ", %s", extra);
	bwg_api_respond_error(rs, 400, "%s: no such name \"%s\" in the policy in force (%s)", key,
			      bwg_api_text_clean(clean, sizeof(clean), name, strlen(name)), list);
	return false;
}

/* The filters of GET /api/v1/flows, checked against the policy in force. */
static bool
flow_filter(const struct bwg_api_state *st, const struct bwg_api_request *rq,
	    struct bwg_api_flow_filter *flt, char b[7][BWG_DPI_HOST_MAX * 2],
	    struct bwg_api_response *rs)
{
	const struct bwg_policy *p = st->policy;
	const char *addr;
	memset(flt, 0, sizeof(*flt));
	if (!arg_fit(rq, "unit", b[0], sizeof(b[0]), &flt->unit, rs) ||
	    !arg_fit(rq, "class", b[1], sizeof(b[1]), &flt->cls, rs) ||
	    !arg_fit(rq, "rule", b[2], sizeof(b[2]), &flt->rule, rs) ||
	    !arg_fit(rq, "app", b[3], sizeof(b[3]), &flt->app, rs) ||
	    !arg_fit(rq, "host", b[4], sizeof(b[4]), &flt->host, rs) ||
	    !arg_fit(rq, "action", b[5], sizeof(b[5]), &flt->action, rs) ||
	    !arg_fit(rq, "address", b[6], sizeof(b[6]), &addr, rs))
		return false;
	if (!p)
		return true; /* nothing to check names against yet */
	const char *rules[BWG_RULE_MAX + 1];
	for (uint32_t i = 0; i < p->n_rules; i++)
		rules[i] = p->rules[i].conf->name;
	if ((flt->unit && !known_name("unit", flt->unit, p->unit_names, 1, p->n_units, NULL, rs)) ||
	    (flt->cls && !known_name("class", flt->cls, p->class_names, 0, p->n_classes, NULL, rs)) ||
	    (flt->rule && !known_name("rule", flt->rule, rules, 0, p->n_rules, "default", rs)) ||
	    (flt->action &&
	     !known_name("action", flt->action, bwg_action_names, 0, BWG_ACTION_MAX, NULL, rs)))
		return false;
	uint16_t m, a;
	if (flt->app && bwg_dpi_label_parse(st->dpi, flt->app, &m, &a) < 0) {
		char clean[QUOTE_MAX * 4 + 1], hint[240];
		bwg_api_respond_error(rs, 400, "app: \"%s\" is not an nDPI 4.2 application or label (%s)",
				      bwg_api_text_clean(clean, sizeof(clean), flt->app, strlen(flt->app)),
				      bwg_dpi_app_hint(st->dpi, flt->app, hint, sizeof(hint)));
		return false;
	}
	if (flt->host) {
		char why[160];
		if (bwg_config_host_normalise(b[4], sizeof(b[4]), why, sizeof(why)) < 0 ||
		    b[4][0] == '*') {
			bwg_api_respond_error(rs, 400, "host: %s", b[4][0] == '*' ? "give a name, not a "
					      "pattern (a name also matches the names under it)" : why);
			return false;
		}
	}
	if (addr) {
		struct bwg_cidr cd;
		char why[BWG_CONFIG_ERR_MAX];
		if (bwg_config_parse_cidr(addr, &cd, why, sizeof(why)) < 0) {
			bwg_api_respond_error(rs, 400, "address: %s", why);
			return false;
		}
		flt->address = true;
		flt->family = cd.family;
		flt->prefix_len = cd.len;
		memcpy(flt->addr, cd.addr, 16);
	}
	return true;
}

/* Slot of `name` among names[first..n) (non-empty), or -1. */
static int
slot_of(const char (*names)[BWG_NAME_MAX], uint32_t first, uint32_t n, const char *name)
{
	for (uint32_t i = first; i < n; i++)
		if (names[i][0] && strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

/* ?key=NAME naming a unit or class the snapshot counts: its slot in *slot (-1 when
 * absent); false with a 400 answered otherwise. */
static bool
slot_arg(const struct bwg_api_state *st, const struct bwg_api_request *rq, const char *key,
	 bool unit, int *slot, struct bwg_api_response *rs)
{
	char b[BWG_NAME_MAX], clean[QUOTE_MAX * 4 + 1];
	bool too_long = false;
	const char *v = arg_str(rq, key, b, sizeof(b), &too_long);
	*slot = -1;
	if (!v)
		return true;
	const struct bwg_api_snapshot *s = st->snap;
	*slot = too_long ? -1
		: unit	 ? slot_of(s->unit_names, 1, s->n_units, v)
			 : slot_of(s->class_names, 0, s->n_classes, v);
	if (*slot < 0) {
		bwg_api_respond_error(rs, 400, "%s: no %s is named \"%s\"", key, key,
				      bwg_api_text_clean(clean, sizeof(clean), v, strlen(v)));
		return false;
	}
	return true;
}

static void
get_top(const struct bwg_api_state *st, const struct bwg_api_request *rq,
	struct bwg_api_response *rs)
{
	char byb[16];
	bool too_long = false;
	const char *by = arg_str(rq, "by", byb, sizeof(byb), &too_long);
	long limit = arg_limit(rq);
	if (limit < 0) {
		bwg_api_respond_error(rs, 400, "limit: give a number from 1 to %d",
				      BWG_API_LIMIT_MAX);
		return;
	}
	bool hosts = by && !too_long && strcmp(by, "hosts") == 0;
	if (!hosts && (arg(rq, "unit") || arg(rq, "class"))) {
		bwg_api_respond_error(rs, 400, "unit and class filter by=hosts only");
		return;
	}
	if (hosts) {
		int unit, cls;
		if (!slot_arg(st, rq, "unit", true, &unit, rs) ||
		    !slot_arg(st, rq, "class", false, &cls, rs))
			return;
		if (!st->users || !st->users->cap) {
			bwg_api_respond_error(rs, 404, "per-user accounting is off (users.hosts is 0)");
			return;
		}
		set_json(rs, 200, bwg_api_top_hosts_json(st->snap, st->users, (uint32_t)limit, unit,
							 cls));
		return;
	}
	int b = by ? (too_long ? -1 : bwg_api_top_by_parse(by)) : BWG_API_TOP_APPS;
	if (b < 0) {
		bwg_api_respond_error(rs, 400, "by: give hosts, apps, units or classes");
		return;
	}
	set_json(rs, 200, bwg_api_top_json(st->snap, (enum bwg_api_top_by)b, (uint32_t)limit));
}

/* A user's usage of the policy's quotas, in the period holding now (its time zone). */
static json_t *
quotas_json(const struct bwg_api_state *st, uint8_t family, const uint8_t *addr)
{
	const struct bwg_policy *p = st->policy;
	int64_t t = (int64_t)(st->now_ns / 1000000000ull);
	t += bwg_tz_offset(p->tz, p->n_tz, t);
	int64_t today = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	return bwg_quotas_host_json(st->quotas, p->conf, family, addr, today);
}

/* GET /api/v1/hosts/ADDR: one user, and its quotas when the policy has any. */
static void
get_host(const struct bwg_api_state *st, const char *text, size_t len,
	 struct bwg_api_response *rs)
{
	char b[64], clean[QUOTE_MAX * 4 + 1];
	uint8_t a[16] = {0};
	uint8_t family = 0;
	if (len < sizeof(b)) {
		memcpy(b, text, len);
		b[len] = 0;
		if (inet_pton(AF_INET, b, a) == 1)
			family = 4;
		else if (inet_pton(AF_INET6, b, a) == 1)
			family = 6;
	}
	if (!family) {
		bwg_api_respond_error(rs, 400, "/api/v1/hosts/ADDR: \"%s\" is not an IPv4 or IPv6 "
				      "address", bwg_api_text_clean(clean, sizeof(clean), text,
								    len < QUOTE_MAX ? len : QUOTE_MAX));
		return;
	}
	if (!st->users || !st->users->cap) {
		bwg_api_respond_error(rs, 404, "per-user accounting is off (users.hosts is 0)");
		return;
	}
	const struct bwg_user *x = bwg_users_find(st->users, family, a);
	if (!x) {
		bwg_api_respond_error(rs, 404, "%s: no such user (not seen, or evicted: see "
				      "/api/v1/top?by=hosts)", b);
		return;
	}
	json_t *doc = bwg_api_host_json(st->snap, st->users, x, st->flows);
	if (doc && st->policy && bwg_quotas_in_use(st->policy->conf))
		json_object_set_new(doc, "quotas", quotas_json(st, family, a));
	set_json(rs, 200, doc);
}

/* GET /api/v1/units/NAME: one unit and its users. */
static void
get_unit(const struct bwg_api_state *st, const struct bwg_api_request *rq, const char *text,
	 size_t len, struct bwg_api_response *rs)
{
	char name[BWG_NAME_MAX], clean[QUOTE_MAX * 4 + 1];
	int slot = -1;
	long limit = arg_limit(rq);
	if (limit < 0) {
		bwg_api_respond_error(rs, 400, "limit: give a number from 1 to %d",
				      BWG_API_LIMIT_MAX);
		return;
	}
	if (len < sizeof(name)) {
		memcpy(name, text, len);
		name[len] = 0;
		slot = slot_of(st->snap->unit_names, 1, st->snap->n_units, name);
	}
	if (slot < 0) {
		bwg_api_respond_error(rs, 404, "no unit is named \"%s\"",
				      bwg_api_text_clean(clean, sizeof(clean), text,
							 len < QUOTE_MAX ? len : QUOTE_MAX));
		return;
	}
	static const struct bwg_users none;
	set_json(rs, 200, bwg_api_unit_json(st->snap, st->users ? st->users : &none,
					    (uint32_t)slot, (uint32_t)limit));
}

/* A static file of the dashboard, copied: the response owns its body. */
static void
get_file(const struct bwg_api_file *f, struct bwg_api_response *rs)
{
	char *b = malloc(f->len ? f->len : 1);
	if (!b) {
		bwg_api_respond_error(rs, 500, "out of memory");
		return;
	}
	memcpy(b, f->body, f->len);
	set_text(rs, 200, b, f->len, f->type);
}

static void
get_flows(const struct bwg_api_state *st, const struct bwg_api_request *rq,
	  struct bwg_api_response *rs)
{
	long limit = arg_limit(rq);
	if (limit < 0) {
		bwg_api_respond_error(rs, 400, "limit: give a number from 1 to %d",
				      BWG_API_LIMIT_MAX);
		return;
	}
	char b[7][BWG_DPI_HOST_MAX * 2];
	struct bwg_api_flow_filter flt;
	if (!flow_filter(st, rq, &flt, b, rs))
		return;
	if (!st->flows) {
		bwg_api_respond_error(rs, 503, "starting: no flow list yet");
		return;
	}
	set_json(rs, 200, bwg_api_flows_json(st->flows, (uint32_t)limit, &flt));
}

static void
get_metrics(const struct bwg_api_state *st, struct bwg_api_response *rs)
{
	size_t len;
	char *txt = bwg_api_metrics_text(st->snap, &len);
	if (txt && st->limiter) {
		char *all = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&all, &n);
		if (f) {
			fwrite(txt, 1, len, f);
			bwg_api_limiter_metrics(st->limiter, f);
		}
		free(txt);
		txt = f && fclose(f) == 0 ? all : NULL;
		if (!txt)
			free(all);
		len = n;
	}
	if (!txt) {
		bwg_api_respond_error(rs, 500, "out of memory");
		return;
	}
	set_text(rs, 200, txt, len, "text/plain; version=0.0.4; charset=utf-8");
}

/* ---- routing -------------------------------------------------------------------------- */

enum endpoint {
	EP_STATS,
	EP_PORTS,
	EP_WORKERS,
	EP_POLICY,
	EP_TOP,
	EP_FLOWS,
	EP_EXPLAIN,
	EP_RELOAD,
	EP_HEALTHZ,
	EP_METRICS,
	EP_HISTORY,
	EP_HISTORY_ONE, /* /api/v1/policy/history/N */
	EP_DIFF,
	EP_ROLLBACK,
	EP_HOST, /* /api/v1/hosts/ADDR */
	EP_UNIT, /* /api/v1/units/NAME */
	EP_FILE, /* a static file of the dashboard */
	EP_BLOCKS,
	EP_QUOTAS,
};

static const struct {
	const char *path;
	const char *allow; /* the Allow header of a 405 */
	const char *keys;  /* the query arguments it takes, besides "pretty" */
} endpoints[] = {
    [EP_STATS] = {"/api/v1/stats", "GET, HEAD", ""},
    [EP_PORTS] = {"/api/v1/ports", "GET, HEAD", ""},
    [EP_WORKERS] = {"/api/v1/workers", "GET, HEAD", ""},
    [EP_POLICY] = {"/api/v1/policy", "GET, HEAD, PUT", ""},
    [EP_TOP] = {"/api/v1/top", "GET, HEAD", "by,limit,unit,class"},
    [EP_FLOWS] = {"/api/v1/flows", "GET, HEAD", "limit,unit,class,address,app,rule,host,action"},
    [EP_EXPLAIN] = {"/api/v1/explain", "GET, HEAD",
		    "src,dst,app,category,host,learned,learned_from,detector,p2p_host,"
		    "socket_class,guessed,at"},
    [EP_RELOAD] = {"/api/v1/reload", "POST", ""},
    [EP_HEALTHZ] = {"/healthz", "GET, HEAD", ""},
    [EP_METRICS] = {"/metrics", "GET, HEAD", ""},
    [EP_HISTORY] = {"/api/v1/policy/history", "GET, HEAD", ""},
    [EP_HISTORY_ONE] = {"/api/v1/policy/history/", "GET, HEAD", ""},
    [EP_DIFF] = {"/api/v1/policy/diff", "GET, HEAD", "from,to"},
    [EP_ROLLBACK] = {"/api/v1/policy/rollback", "POST", "version"},
    [EP_HOST] = {"/api/v1/hosts/", "GET, HEAD", ""},
    [EP_UNIT] = {"/api/v1/units/", "GET, HEAD", "limit"},
    [EP_FILE] = {"(file)", "GET, HEAD", ""}, /* paths in st->files */
    [EP_BLOCKS] = {"/api/v1/blocks", "GET, HEAD", "limit"},
    [EP_QUOTAS] = {"/api/v1/quotas", "GET, HEAD", "host"},
};

/* A version number: 1..UINT32_MAX in decimal. */
static long long
version_parse(const char *s, size_t n)
{
	long long v = 0;
	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= UINT32_MAX ? v : -1;
}

/* ?key=N naming a kept version (or, absent, `dflt`); 400/404 answered otherwise. */
static const struct bwg_api_history_entry *
version_arg(const struct bwg_api_state *st, const struct bwg_api_request *rq, const char *key,
	    uint32_t dflt, struct bwg_api_response *rs)
{
	const struct bwg_api_arg *a = arg(rq, key);
	long long v = a ? version_parse(a->value ? a->value : "", a->value ? a->value_len : 0)
			: (long long)dflt;
	if (v < 1) {
		bwg_api_respond_error(rs, 400, "%s: give a version number from "
				      "/api/v1/policy/history", key);
		return NULL;
	}
	const struct bwg_api_history_entry *e = bwg_api_history_find(st->history, (uint32_t)v);
	if (!e)
		bwg_api_respond_error(rs, 404, "%s: version %lld is not kept (see "
				      "/api/v1/policy/history)", key, v);
	return e;
}

static void
get_history(const struct bwg_api_state *st, const struct bwg_api_request *rq, int ep,
	    struct bwg_api_response *rs)
{
	if (ep == EP_HISTORY) {
		set_json(rs, 200, bwg_api_history_json(st->history));
		return;
	}
	if (ep == EP_DIFF) {
		const struct bwg_api_history_entry *a, *b;
		if (!arg(rq, "from")) {
			bwg_api_respond_error(rs, 400, "from: give a version number from "
					      "/api/v1/policy/history");
			return;
		}
		if (!(a = version_arg(st, rq, "from", 0, rs)) ||
		    !(b = version_arg(st, rq, "to", st->history->current, rs)))
			return;
		set_json(rs, 200, bwg_api_policy_diff_json(a, b));
		return;
	}
	size_t plen = strlen(endpoints[EP_HISTORY_ONE].path);
	long long v = version_parse(rq->path + plen, rq->path_len - plen);
	const struct bwg_api_history_entry *e =
	    v > 0 ? bwg_api_history_find(st->history, (uint32_t)v) : NULL;
	if (!e) {
		bwg_api_respond_error(rs, 404, "no such version: /api/v1/policy/history lists "
				      "the versions kept");
		return;
	}
	set_json(rs, 200, bwg_api_history_entry_json(e, st->history->current));
}

/* Every query argument is one the endpoint takes: a filter it would ignore is refused. */
static bool
keys_known(const struct bwg_api_request *rq, const char *keys, struct bwg_api_response *rs)
{
	for (uint32_t i = 0; i < rq->n_args; i++) {
		const struct bwg_api_arg *a = &rq->args[i];
		if (is(a->key, a->key_len, "pretty"))
			continue;
		bool known = false;
		for (const char *k = keys; *k && !known;) {
			size_t n = strcspn(k, ",");
			known = a->key_len == n && memcmp(a->key, k, n) == 0;
			k += n + (k[n] == ',');
		}
		if (!known) {
			char clean[QUOTE_MAX * 4 + 1];
			bwg_api_respond_error(
			    rs, 400, "unknown query argument \"%s\": this path takes %s%s",
			    bwg_api_text_clean(clean, sizeof(clean), a->key,
					       a->key_len < QUOTE_MAX ? a->key_len : QUOTE_MAX),
			    *keys ? keys : "none", *keys ? " (and pretty)" : " but pretty");
			return false;
		}
	}
	return true;
}

static void
write_request(const struct bwg_api_state *st, const struct bwg_api_request *rq,
	      enum bwg_api_write w, struct bwg_api_response *rs)
{
	if (!st->token) {
		bwg_api_respond_error(rs, 403,
				      "writes are disabled: no api.token_file is configured");
		return;
	}
	if (!bwg_api_token_ok(st->token, st->token_len, rq->authorization, rq->authorization_len)) {
		rs->authenticate = true;
		bwg_api_respond_error(
		    rs, 401, "give Authorization: Bearer TOKEN (the api.token_file's content)");
		return;
	}
	if (w == BWG_API_WRITE_POLICY && rq->body_len == 0) {
		bwg_api_respond_error(rs, 400, "the body must be a policy (JSON config)");
		return;
	}
	rs->write = w;
}

/*
 * GET /api/v1/quotas?host=ADDR: what one user used of each quota rule of the policy in
 * force and what remains, in the period holding now (the policy's time zone). The
 * usage is the workers' shared table, read with atomic loads: no worker is asked.
 */
static void
get_quotas(const struct bwg_api_state *st, const struct bwg_api_request *rq,
	   struct bwg_api_response *rs)
{
	char host[64];
	bool too_long = false;
	const char *h = arg_str(rq, "host", host, sizeof(host), &too_long);
	uint8_t addr[16] = {0}, family = 0;
	if (h && !too_long && inet_pton(AF_INET, h, addr) == 1)
		family = 4;
	else if (h && !too_long && inet_pton(AF_INET6, h, addr) == 1)
		family = 6;
	if (!family) {
		char clean[QUOTE_MAX * 4 + 1];
		bwg_api_respond_error(rs, 400, "host: give a user's address (?host=10.1.0.5)%s%s",
				      h ? ", not " : "",
				      h ? bwg_api_text_clean(clean, sizeof(clean), h, strlen(h))
					: "");
		return;
	}
	set_json(rs, 200,
		 json_pack("{s:s, s:o, s:o}", "host", h, "quotas", quotas_json(st, family, addr),
			   "penalties",
			   bwg_penalties_host_json(st->quotas, st->policy->conf, family, addr,
						   st->now_ns)));
}

void
bwg_api_route(const struct bwg_api_state *st, const struct bwg_api_request *rq,
	      struct bwg_api_response *rs)
{
	memset(rs, 0, sizeof(*rs));
	if (!request_text_ok(rq, rs))
		return;
	rs->pretty = arg(rq, "pretty") != NULL;
	int ep = -1;
	/* Paths matched whole; a file's path is in st->files, a user's or unit's follows a
	 * prefix. */
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]) && ep < 0; i++)
		if (i != EP_FILE && i != EP_HOST && i != EP_UNIT &&
		    is(rq->path, rq->path_len, endpoints[i].path))
			ep = (int)i;
	static const int prefixed[] = {EP_HISTORY_ONE, EP_HOST, EP_UNIT};
	size_t tail = 0; /* where the path's variable part begins */
	for (size_t i = 0; i < sizeof(prefixed) / sizeof(prefixed[0]) && ep < 0; i++) {
		size_t hl = strlen(endpoints[prefixed[i]].path);
		if (rq->path_len > hl && memcmp(rq->path, endpoints[prefixed[i]].path, hl) == 0)
			ep = prefixed[i], tail = hl;
	}
	const struct bwg_api_file *file = NULL;
	for (uint32_t i = 0; i < st->n_files && ep < 0; i++)
		if (is(rq->path, rq->path_len, st->files[i].path))
			ep = EP_FILE, file = &st->files[i];
	if (ep < 0) {
		char clean[QUOTE_MAX * 4 + 1];
		bwg_api_respond_error(
		    rs, 404, "no such path: %s",
		    bwg_api_text_clean(clean, sizeof(clean), rq->path,
				       rq->path_len < QUOTE_MAX ? rq->path_len : QUOTE_MAX));
		return;
	}
	const char *m = rq->method ? rq->method : "";
	bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	bool put = strcmp(m, "PUT") == 0, post = strcmp(m, "POST") == 0;
	if (rq->body_too_large && (put || post)) {
		bwg_api_respond_error(rs, 413, "the body is over %u bytes", BWG_API_BODY_MAX);
		return;
	}
	if (ep == EP_POLICY && put) {
		write_request(st, rq, BWG_API_WRITE_POLICY, rs);
		return;
	}
	if (ep == EP_RELOAD && post) {
		write_request(st, rq, BWG_API_WRITE_RELOAD, rs);
		return;
	}
	if (ep == EP_ROLLBACK && post) {
		if (!keys_known(rq, endpoints[ep].keys, rs))
			return;
		if (!st->history) {
			bwg_api_respond_error(rs, 404, "no policy history is kept (history.dir)");
			return;
		}
		if (!arg(rq, "version")) {
			bwg_api_respond_error(rs, 400, "version: give a version number from "
					      "/api/v1/policy/history");
			return;
		}
		const struct bwg_api_history_entry *e = version_arg(st, rq, "version", 0, rs);
		if (!e)
			return;
		write_request(st, rq, BWG_API_WRITE_ROLLBACK, rs);
		if (rs->write == BWG_API_WRITE_ROLLBACK)
			rs->rollback = e->version;
		return;
	}
	if (!get || ep == EP_RELOAD || ep == EP_ROLLBACK) {
		char clean[64];
		bwg_api_respond_error(
		    rs, 405, "%s is not allowed here: use %s",
		    bwg_api_text_clean(clean, 17 * 4, m, strlen(m) < 16 ? strlen(m) : 16),
		    endpoints[ep].allow);
		rs->allow = endpoints[ep].allow;
		return;
	}
	if (!keys_known(rq, endpoints[ep].keys, rs))
		return;
	if (ep == EP_FILE) { /* the dashboard shows "starting" itself */
		get_file(file, rs);
		return;
	}
	if (!st->snap ||
	    (!st->policy && (ep == EP_POLICY || ep == EP_EXPLAIN || ep == EP_QUOTAS))) {
		bwg_api_respond_error(rs, 503, "starting: no snapshot yet");
		return;
	}
	switch ((enum endpoint)ep) {
	case EP_STATS:
		set_json(rs, 200, bwg_api_stats_json(st->snap));
		return;
	case EP_PORTS:
		set_json(rs, 200, bwg_api_ports_json(st->snap));
		return;
	case EP_WORKERS:
		set_json(rs, 200, bwg_api_workers_json(st->snap));
		return;
	case EP_POLICY:
		get_policy(st, rs);
		return;
	case EP_TOP:
		get_top(st, rq, rs);
		return;
	case EP_FLOWS:
		get_flows(st, rq, rs);
		return;
	case EP_EXPLAIN:
		get_explain(st, rq, rs);
		return;
	case EP_HEALTHZ: {
		json_t *doc = bwg_api_health_json(st->snap);
		set_json(rs, json_is_true(json_object_get(doc, "ok")) ? 200 : 503, doc);
		return;
	}
	case EP_METRICS:
		get_metrics(st, rs);
		return;
	case EP_HISTORY:
	case EP_HISTORY_ONE:
	case EP_DIFF:
		if (!st->history) {
			bwg_api_respond_error(rs, 404, "no policy history is kept (history.dir)");
			return;
		}
		get_history(st, rq, ep, rs);
		return;
	case EP_HOST:
		get_host(st, rq->path + tail, rq->path_len - tail, rs);
		return;
	case EP_UNIT:
		get_unit(st, rq, rq->path + tail, rq->path_len - tail, rs);
		return;
	case EP_BLOCKS: {
		long limit = arg_limit(rq);
		static const struct bwg_users none;
		if (limit < 0)
			bwg_api_respond_error(rs, 400, "limit: give a number from 1 to %d",
					      BWG_API_LIMIT_MAX);
		else
			set_json(rs, 200, bwg_api_blocks_json(st->snap, st->users ? st->users : &none,
							      (uint32_t)limit));
		return;
	}
	case EP_QUOTAS:
		get_quotas(st, rq, rs);
		return;
	case EP_ROLLBACK:
	case EP_RELOAD:
	case EP_FILE:
		break;
	}
}
