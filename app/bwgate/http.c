/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The HTTP API: routing, limits and authentication (libmicrohttpd's internal polling
 * thread; nothing here runs on a worker lcore).
 *
 * Every document is built from the snapshot the control thread last published (lib/api)
 * while holding `lock`, which is also what keeps the published policy alive: the control
 * thread frees a replaced policy only after it published its successor here. Writes
 * (PUT /api/v1/policy, POST /api/v1/reload, and GET /api/v1/flows, which needs the
 * workers) are handed to the control thread as a request and waited for, so the
 * control thread stays the only one that publishes a policy or talks to workers.
 *
 * Hostile clients: the daemon caps connections (in total and per address), idle time
 * and per-connection memory (long URLs and headers get libmicrohttpd's 414/431);
 * bodies over 1 MiB are read and discarded, then answered 413; a token bucket over all
 * clients answers 429 once it runs dry. Every error is {"error": "..."}.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "bwgate.h"
#include "control.h"
#include "http.h"

#define BODY_MAX (1u << 20)
#define CONN_MAX 256
#define CONN_PER_IP 32
#define CONN_TIMEOUT_S 10
#define CONN_MEMORY (64 * 1024)
#define BUCKET_RATE 1000.0 /* requests per second, all clients together */
#define BUCKET_BURST 2000.0
#define WRITE_WAIT_S 15
#define LIMIT_DEFAULT 10
#define LIMIT_MAX 1000

/* Per-request state, from the first call of the handler to the completion callback. */
struct req_ctx {
	char *body;
	size_t len, cap;
	bool too_large;
	bool limited; /* refused by the token bucket */
};

/* ---- responses ------------------------------------------------------------------------ */

/* Queue `text` (malloc'ed, taken over); `allow`: the Allow header of a 405, or NULL. */
static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned status, char *text, size_t len, const char *type,
	   const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"bwgate\"");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static bool
pretty(struct MHD_Connection *c)
{
	const char *v;
	size_t n;
	/* `?pretty` has no value: lookup_connection_value cannot tell it from absent. */
	return MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, "pretty", 6, &v, &n) ==
	       MHD_YES;
}

/* Send j (stolen) as the body. */
static enum MHD_Result
reply_json_allow(struct MHD_Connection *c, unsigned status, json_t *j, const char *allow)
{
	if (!j)
		return MHD_NO;
	size_t flags = (pretty(c) ? JSON_INDENT(2) : JSON_COMPACT) | BWG_JSON_REAL_FLAGS;
	char *txt = json_dumps(j, flags);
	json_decref(j);
	if (!txt)
		return MHD_NO;
	size_t len = strlen(txt);
	char *body = realloc(txt, len + 2);
	if (!body) {
		free(txt);
		return MHD_NO;
	}
	body[len++] = '\n';
	body[len] = 0;
	return reply_text(c, status, body, len, "application/json", allow);
}

static enum MHD_Result
reply_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	return reply_json_allow(c, status, j, NULL);
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum MHD_Result
reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
	char msg[BWG_CONFIG_ERR_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return reply_json(c, status, bwg_api_error_json(msg));
}

/* ---- query arguments ------------------------------------------------------------------ */

/* ?limit=N: 1..LIMIT_MAX, default LIMIT_DEFAULT. Returns -1 when malformed. */
static long
arg_limit(struct MHD_Connection *c)
{
	const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	if (!s)
		return LIMIT_DEFAULT;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > LIMIT_MAX)
		return -1;
	return v;
}

/* ---- read endpoints ------------------------------------------------------------------- */

static enum MHD_Result
get_policy(struct bwg_http *h, struct MHD_Connection *c)
{
	const struct bwg_policy *p = h->policy;
	json_t *doc =
	    json_pack("{s:I, s:I, s:s, s:O}", "version", (json_int_t)p->version, "loaded_at",
		      (json_int_t)p->loaded_at, "file", p->conf->path, "policy", p->conf->root);
	return reply_json(c, MHD_HTTP_OK, doc);
}

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

/*
 * Which rule a flow would meet now: unit from the addresses, class from the host and
 * the app (as a classified flow's would be, category unknown), then the first rule.
 */
static enum MHD_Result
get_explain(struct bwg_http *h, struct MHD_Connection *c)
{
	const char *src = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "src");
	const char *dst = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "dst");
	const char *app = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "app");
	const char *hostarg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "host");
	uint8_t fs, fd, as[16], ad[16];
	if (parse_ip(src, &fs, as) < 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "src: give the client's IP address");
	if (!dst)
		dst = fs == 4 ? "0.0.0.0" : "::";
	if (parse_ip(dst, &fd, ad) < 0 || fd != fs)
		return reply_error(c, MHD_HTTP_BAD_REQUEST,
				   "dst: give the server's IP address, of the same family as src");
	char host[BWG_DPI_HOST_MAX] = "";
	if (hostarg) {
		if (strlen(hostarg) >= sizeof(host))
			return reply_error(c, MHD_HTTP_BAD_REQUEST, "host: longer than %zu bytes",
					   sizeof(host) - 1);
		for (size_t i = 0; hostarg[i]; i++)
			host[i] = (char)(hostarg[i] >= 'A' && hostarg[i] <= 'Z' ? hostarg[i] + 32
										: hostarg[i]);
	}
	int app_id = 0;
	if (app && *app && (app_id = bwg_dpi_app_id(h->dpi, app)) < 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST,
				   "app: \"%s\" is not an nDPI 4.2 application", app);
	const struct bwg_policy *p = h->policy;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t next;
	uint32_t mask = bwg_policy_schedules_active(
	    p, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, &next);
	uint16_t unit = bwg_policy_unit(p, fs, as, ad);
	struct bwg_class_evidence ev = {.app = (uint16_t)app_id, .host = host, .family = fs,
					.client = as, .server = ad};
	struct bwg_class_decision dec;
	bwg_classes_decide(&p->classes, &ev, &dec);
	uint8_t cls = dec.cls;
	uint16_t rule = bwg_policy_match(p, cls, unit, 0, (uint16_t)app_id, host, mask);
	const struct bwg_rule *r = &p->rules[rule];
	json_t *active = json_array();
	for (uint32_t i = 0; i < p->conf->n_schedules; i++)
		if (mask & (1u << i))
			json_array_append_new(active, json_string(p->conf->schedules[i].name));
	char why[512];
	const char *cls_name = p->class_names[cls];
	if (rule == p->n_rules)
		snprintf(why, sizeof(why),
			 "no rule matches (unit \"%s\", class \"%s\"): "
			 "default_action applies",
			 p->unit_names[unit], cls_name);
	else
		snprintf(why, sizeof(why),
			 "rules[%u] \"%s\" is the first rule whose units, classes, "
			 "apps, hosts and schedule all match (unit \"%s\", class \"%s\")",
			 rule, r->conf->name, p->unit_names[unit], cls_name);
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:o, s:I, s:s}",
				"src", src, "dst", dst, "app", app ? app : "", "host", host, "unit",
				p->unit_names[unit], "class", cls_name, "rule", r->conf->name,
				"rule_index", rule == p->n_rules ? -1 : (int)rule, "action",
				bwg_action_names[r->action], "schedules_active", active,
				"policy_version", (json_int_t)p->version, "why", why);
	if (r->action == BWG_ACTION_LIMIT)
		json_object_set_new(
		    doc, "limit",
		    json_pack("{s:I, s:I, s:s}", "rate_bps", (json_int_t)r->conf->rate_bps,
			      "burst_bytes", (json_int_t)r->conf->burst_bytes, "scope",
			      r->conf->scope == BWG_SCOPE_PER_HOST ? "per_host" : "aggregate"));
	return reply_json(c, MHD_HTTP_OK, doc);
}

static enum MHD_Result
get_top(struct bwg_http *h, struct MHD_Connection *c)
{
	const char *by = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "by");
	long limit = arg_limit(c);
	if (limit < 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "limit: give a number from 1 to %d",
				   LIMIT_MAX);
	if (by && strcmp(by, "hosts") == 0)
		return reply_error(
		    c, MHD_HTTP_BAD_REQUEST,
		    "by=hosts: per-host counters are not kept (hosts live in the "
		    "workers' flow tables); use /api/v1/flows, or by=apps|units|classes");
	int b = by ? bwg_api_top_by_parse(by) : BWG_API_TOP_APPS;
	if (b < 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "by: give apps, units or classes");
	return reply_json(c, MHD_HTTP_OK, bwg_api_top_json(h->snap, b, (uint32_t)limit));
}

static enum MHD_Result
get_metrics(struct bwg_http *h, struct MHD_Connection *c)
{
	size_t len;
	char *txt = bwg_api_metrics_text(h->snap, &len);
	if (!txt)
		return MHD_NO;
	return reply_text(c, MHD_HTTP_OK, txt, len, "text/plain; version=0.0.4; charset=utf-8",
			  NULL);
}

/* ---- writes and requests answered by the control thread ------------------------------- */

static bool
token_ok(const struct bwg_http *h, const char *auth)
{
	static const char bearer[] = "Bearer ";
	if (!auth || strncmp(auth, bearer, sizeof(bearer) - 1) != 0)
		return false;
	const char *t = auth + sizeof(bearer) - 1;
	size_t n = strlen(t);
	/* Constant time over the configured token, whatever the guess. */
	unsigned char diff = n != h->token_len;
	for (size_t i = 0; i < h->token_len; i++)
		diff |= (unsigned char)(h->token[i] ^ (i < n ? t[i] : 0));
	return diff == 0;
}

/* Hand r to the control thread and wait for its answer. Called with h->lock held. */
static void
control_call(struct bwg_http *h, struct bwg_http_req *r)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WRITE_WAIT_S;
	while (h->req && !h->stopping) /* one at a time */
		if (pthread_cond_timedwait(&h->cond, &h->lock, &until) == ETIMEDOUT)
			break;
	if (h->req || h->stopping) {
		r->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		snprintf(r->msg, sizeof(r->msg), "the control thread is busy: try again");
		return;
	}
	h->req = r;
	/* Once the control thread took r it will answer: wait for that, r lives here. */
	while (!r->done && !h->stopping) {
		if (pthread_cond_timedwait(&h->cond, &h->lock, &until) == ETIMEDOUT) {
			if (!r->taken)
				break;
			until.tv_sec++;
		}
	}
	if (!r->done) {
		if (h->req == r)
			h->req = NULL;
		r->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		snprintf(r->msg, sizeof(r->msg), "the control thread did not answer in %d s",
			 WRITE_WAIT_S);
	}
}

static enum MHD_Result
reply_req(struct MHD_Connection *c, struct bwg_http_req *r)
{
	if (r->status != MHD_HTTP_OK) {
		json_decref(r->result);
		return reply_error(c, r->status, "%s", r->msg);
	}
	if (r->result)
		return reply_json(c, r->status, r->result);
	return reply_json(c, r->status,
			  json_pack("{s:b, s:I, s:s}", "ok", 1, "version", (json_int_t)r->version,
				    "message", r->msg));
}

static enum MHD_Result
write_request(struct bwg_http *h, struct MHD_Connection *c, enum bwg_http_req_kind kind,
	      const struct req_ctx *rc)
{
	if (!h->token)
		return reply_error(c, MHD_HTTP_FORBIDDEN,
				   "writes are disabled: no api.token_file is configured");
	if (!token_ok(
		h, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)))
		return reply_error(
		    c, MHD_HTTP_UNAUTHORIZED,
		    "give Authorization: Bearer TOKEN (the api.token_file's content)");
	if (kind == BWG_HTTP_REQ_PUT_POLICY && rc->len == 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST,
				   "the body must be a policy (JSON config)");
	struct bwg_http_req r = {.kind = kind, .body = rc->body, .len = rc->len};
	pthread_mutex_lock(&h->lock);
	control_call(h, &r);
	pthread_mutex_unlock(&h->lock);
	return reply_req(c, &r);
}

static enum MHD_Result
get_flows(struct bwg_http *h, struct MHD_Connection *c)
{
	long limit = arg_limit(c);
	if (limit < 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "limit: give a number from 1 to %d",
				   LIMIT_MAX);
	struct bwg_http_req r = {.kind = BWG_HTTP_REQ_FLOWS, .limit = (uint32_t)limit};
	pthread_mutex_lock(&h->lock);
	control_call(h, &r);
	pthread_mutex_unlock(&h->lock);
	return reply_req(c, &r);
}

/* ---- routing -------------------------------------------------------------------------- */

enum route_kind { R_GET, R_PUT, R_POST };

struct route {
	const char *path;
	const char *allow; /* the Allow header of a 405 */
};

static const struct route routes[] = {
    {"/api/v1/stats", "GET, HEAD"},   {"/api/v1/ports", "GET, HEAD"},
    {"/api/v1/workers", "GET, HEAD"}, {"/api/v1/policy", "GET, HEAD, PUT"},
    {"/api/v1/top", "GET, HEAD"},     {"/api/v1/flows", "GET, HEAD"},
    {"/api/v1/explain", "GET, HEAD"}, {"/api/v1/reload", "POST"},
    {"/healthz", "GET, HEAD"},	      {"/metrics", "GET, HEAD"},
};

static enum MHD_Result
route(struct bwg_http *h, struct MHD_Connection *c, const char *url, const char *method,
      const struct req_ctx *rc)
{
	const struct route *rt = NULL;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && !rt; i++)
		if (strcmp(url, routes[i].path) == 0)
			rt = &routes[i];
	if (!rt)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such path: %.200s", url);
	bool get =
	    strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	bool put = strcmp(method, MHD_HTTP_METHOD_PUT) == 0;
	bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	bool is_policy = strcmp(url, "/api/v1/policy") == 0;
	bool is_reload = strcmp(url, "/api/v1/reload") == 0;
	if (rc->too_large && (put || post))
		return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "the body is over %u bytes",
				   BODY_MAX);
	if (is_policy && put)
		return write_request(h, c, BWG_HTTP_REQ_PUT_POLICY, rc);
	if (is_reload && post)
		return write_request(h, c, BWG_HTTP_REQ_RELOAD, rc);
	if (!get || is_reload) {
		char msg[96];
		snprintf(msg, sizeof(msg), "%.16s is not allowed here: use %s", method, rt->allow);
		return reply_json_allow(c, MHD_HTTP_METHOD_NOT_ALLOWED, bwg_api_error_json(msg),
					rt->allow);
	}
	if (strcmp(url, "/api/v1/flows") == 0)
		return get_flows(h, c);

	enum MHD_Result ret;
	pthread_mutex_lock(&h->lock);
	if (!h->snap || !h->policy) {
		ret = reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting: no snapshot yet");
	} else if (strcmp(url, "/api/v1/stats") == 0) {
		ret = reply_json(c, MHD_HTTP_OK, bwg_api_stats_json(h->snap));
	} else if (strcmp(url, "/api/v1/ports") == 0) {
		ret = reply_json(c, MHD_HTTP_OK, bwg_api_ports_json(h->snap));
	} else if (strcmp(url, "/api/v1/workers") == 0) {
		ret = reply_json(c, MHD_HTTP_OK, bwg_api_workers_json(h->snap));
	} else if (is_policy) {
		ret = get_policy(h, c);
	} else if (strcmp(url, "/api/v1/top") == 0) {
		ret = get_top(h, c);
	} else if (strcmp(url, "/api/v1/explain") == 0) {
		ret = get_explain(h, c);
	} else if (strcmp(url, "/healthz") == 0) {
		json_t *doc = bwg_api_health_json(h->snap);
		bool ok = json_is_true(json_object_get(doc, "ok"));
		ret = reply_json(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, doc);
	} else {
		ret = get_metrics(h, c);
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

/* The token bucket: false when the request must be refused. HTTP thread only. */
static bool
bucket_take(struct bwg_http *h)
{
	uint64_t now = bwg_control_now_ns();
	h->bucket += (double)(now - h->bucket_ns) / 1e9 * BUCKET_RATE;
	if (h->bucket > BUCKET_BURST)
		h->bucket = BUCKET_BURST;
	h->bucket_ns = now;
	if (h->bucket < 1.0) {
		h->rate_limited++;
		return false;
	}
	h->bucket -= 1.0;
	return true;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size, void **ctx)
{
	struct bwg_http *h = cls;
	(void)version;
	struct req_ctx *rc = *ctx;
	if (!rc) {
		if (!(rc = calloc(1, sizeof(*rc))))
			return MHD_NO;
		*ctx = rc;
		rc->limited = !bucket_take(h);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (rc->too_large || rc->limited)
			return MHD_YES;
		if (rc->len + n > BODY_MAX) {
			rc->too_large = true;
			free(rc->body);
			rc->body = NULL;
			rc->len = rc->cap = 0;
			return MHD_YES;
		}
		if (rc->len + n + 1 > rc->cap) {
			size_t cap = rc->cap ? rc->cap : 4096;
			while (cap < rc->len + n + 1)
				cap *= 2;
			char *b = realloc(rc->body, cap);
			if (!b)
				return MHD_NO;
			rc->body = b;
			rc->cap = cap;
		}
		memcpy(rc->body + rc->len, upload_data, n);
		rc->len += n;
		rc->body[rc->len] = 0;
		return MHD_YES;
	}
	if (rc->limited)
		return reply_error(c, MHD_HTTP_TOO_MANY_REQUESTS,
				   "too many requests: at most %.0f per second", BUCKET_RATE);
	return route(h, c, url, method, rc);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode t)
{
	(void)cls, (void)c, (void)t;
	struct req_ctx *rc = *ctx;
	if (rc) {
		free(rc->body);
		free(rc);
	}
	*ctx = NULL;
}

/* ---- life cycle ----------------------------------------------------------------------- */

static int
token_read(struct bwg_http *h, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "api.token_file: %s: %s", path, strerror(e));
		return -e;
	}
	char buf[1024];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
		     buf[n - 1] == '\t'))
		buf[--n] = 0;
	if (n < 16 || strpbrk(buf, " \t\r\n")) {
		snprintf(err, errlen,
			 "api.token_file: %s: the token must be one line of at least "
			 "16 characters without blanks",
			 path);
		return -EINVAL;
	}
	if (!(h->token = strdup(buf)))
		return -ENOMEM;
	h->token_len = n;
	return 0;
}

static int
listen_parse(const char *listen, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	size_t hl = colon ? (size_t)(colon - listen) : 0;
	if (!colon || *end || port < 0 || port > 65535 || hl == 0 || hl >= sizeof(host))
		goto bad;
	memcpy(host, listen, hl);
	host[hl] = 0;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			return 0;
		}
	}
bad:
	snprintf(err, errlen,
		 "api.listen: \"%s\" is not ADDR:PORT (e.g. 127.0.0.1:8080 or "
		 "[::1]:8080)",
		 listen);
	return -EINVAL;
}

int
bwg_http_start(struct bwg_http *h, const char *listen, const char *token_file,
	       const struct bwg_dpi *dpi, char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->dpi = dpi;
	h->bucket = BUCKET_BURST;
	h->bucket_ns = bwg_control_now_ns();
	struct sockaddr_storage ss;
	int rc;
	if ((rc = listen_parse(listen, &ss, err, errlen)) < 0)
		return rc;
	if (token_file && (rc = token_read(h, token_file, err, errlen)) < 0)
		return rc;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_MAX, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned)CONN_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, h, MHD_OPTION_END);
	if (!h->daemon) {
		snprintf(err, errlen, "api.listen: cannot serve HTTP on %s (address in use?)",
			 listen);
		return -EADDRINUSE;
	}
	BWG_APP_LOG("HTTP API on %s%s", listen, h->token ? "" : " (read-only: no api.token_file)");
	return 0;
}

void
bwg_http_stop(struct bwg_http *h)
{
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	h->daemon = NULL;
	free(h->token);
	h->token = NULL;
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
}

const struct bwg_api_snapshot *
bwg_http_publish_snapshot(struct bwg_http *h, const struct bwg_api_snapshot *s)
{
	pthread_mutex_lock(&h->lock);
	const struct bwg_api_snapshot *old = h->snap;
	h->snap = s;
	pthread_mutex_unlock(&h->lock);
	return old;
}

void
bwg_http_publish_policy(struct bwg_http *h, const struct bwg_policy *p)
{
	pthread_mutex_lock(&h->lock);
	h->policy = p;
	pthread_mutex_unlock(&h->lock);
}

struct bwg_http_req *
bwg_http_pending(struct bwg_http *h)
{
	pthread_mutex_lock(&h->lock);
	struct bwg_http_req *r = h->req;
	if (r)
		r->taken = true;
	pthread_mutex_unlock(&h->lock);
	return r;
}

void
bwg_http_answer(struct bwg_http *h, struct bwg_http_req *r)
{
	pthread_mutex_lock(&h->lock);
	r->done = true;
	if (h->req == r)
		h->req = NULL;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}
