/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The HTTP API's glue to libmicrohttpd (its internal polling thread; nothing here runs
 * on a worker lcore).
 *
 * It only gathers a request into lib/api's plain `struct bwg_api_request` (method,
 * decoded path, query arguments with their lengths, the Authorization header, the body)
 * and hands it to the router, bwg_api_route(), together with what the control thread
 * last published: the snapshot, the flow list and the policy in force, read under
 * `lock`, which is also what keeps the published policy alive (the control thread frees
 * a replaced policy only after it published its successor here). Writes the router
 * accepted (PUT /api/v1/policy, POST /api/v1/reload) are handed to the control thread,
 * which stays the only one that publishes a policy; the connection is suspended until
 * the control thread answers and resumes it, so a policy that takes a second to compile
 * delays no other client. One write at a time: another meanwhile gets 503. No request
 * ever waits on a worker.
 *
 * Hostile clients: the daemon caps connections (in total and per address), idle time
 * and per-connection memory (long URLs and headers get libmicrohttpd's 414/431);
 * bodies over 1 MiB are read and discarded, then answered 413; request rates are
 * limited per client address, with reserves for token holders and /healthz probes
 * (lib/api/access.c), and answered 429 beyond them.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "bwgate.h"
#include "control.h"
#include "http.h"

#define CONN_MAX 256
#define CONN_PER_IP 32
#define CONN_TIMEOUT_S 10
#define CONN_MEMORY (64 * 1024)

/* Per-request state, from the first call of the handler to the completion callback. */
struct req_ctx {
	char *body;
	size_t len, cap;
	bool too_large;
	bool limited; /* refused by the rate limits */
	enum bwg_api_class cls;
	struct bwg_api_arg args[BWG_API_ARGS_MAX];
	uint32_t n_args;
	bool too_many_args;
	bool writing;		   /* w is with the control thread: the connection is suspended */
	struct bwg_http_req w;	   /* the write, answered by the control thread */
	struct bwg_api_response rs; /* the router's answer, kept for the write's */
};

/* ---- responses ------------------------------------------------------------------------ */

/* Queue the router's answer (its body is taken over). */
static enum MHD_Result
reply(struct MHD_Connection *c, struct bwg_api_response *rs)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(rs->len, rs->body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(rs->body);
		return MHD_NO;
	}
	rs->body = NULL;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				rs->content_type ? rs->content_type : "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (rs->authenticate)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"bwgate\"");
	if (rs->allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rs->allow);
	enum MHD_Result ret = MHD_queue_response(c, rs->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- writes, answered by the control thread ------------------------------------------- */

/* Hand rc's write to the control thread and suspend the connection; false when another
 * write is pending (or the API is stopping). */
static bool
write_start(struct bwg_http *h, struct MHD_Connection *c, struct req_ctx *rc)
{
	rc->w = (struct bwg_http_req){.kind = rc->rs.write, .body = rc->body, .len = rc->len,
				      .conn = c, .rollback = rc->rs.rollback};
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	snprintf(rc->w.client, sizeof(rc->w.client), "unknown");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  rc->w.client, sizeof(rc->w.client));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  rc->w.client, sizeof(rc->w.client));
	pthread_mutex_lock(&h->lock);
	bool free_slot = !h->req && !h->stopping;
	if (free_slot) {
		h->req = &rc->w;
		rc->writing = true;
		/* Suspended before the control thread can resume it: still under the lock. */
		MHD_suspend_connection(c);
	}
	pthread_mutex_unlock(&h->lock);
	return free_slot;
}

/* ---- gathering the request ------------------------------------------------------------ */

static enum MHD_Result
arg_collect(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
	    const char *value, size_t value_size)
{
	struct req_ctx *rc = cls;
	(void)kind;
	if (rc->n_args == BWG_API_ARGS_MAX) {
		rc->too_many_args = true;
		return MHD_NO;
	}
	rc->args[rc->n_args++] = (struct bwg_api_arg){key, key_size, value, value ? value_size : 0};
	return MHD_YES;
}

static void
request_fill(struct bwg_api_request *rq, struct req_ctx *rc, struct MHD_Connection *c,
	     const char *url, const char *method)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = method;
	rq->path = url;
	rq->path_len = strlen(url);
	rc->n_args = 0;
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, arg_collect, rc);
	rq->args = rc->args;
	rq->n_args = rc->n_args;
	rq->too_many_args = rc->too_many_args;
	if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
					  strlen(MHD_HTTP_HEADER_AUTHORIZATION), &rq->authorization,
					  &rq->authorization_len) != MHD_YES)
		rq->authorization = NULL;
	rq->body = rc->body;
	rq->body_len = rc->len;
	rq->body_too_large = rc->too_large;
}

/* The request's rate class: the token's reserve, a probe's, or anonymous. */
static enum bwg_api_class
request_class(struct bwg_http *h, struct MHD_Connection *c, const char *url, const char *method)
{
	const char *auth = NULL;
	size_t auth_len = 0;
	if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
					  strlen(MHD_HTTP_HEADER_AUTHORIZATION), &auth,
					  &auth_len) == MHD_YES &&
	    bwg_api_token_ok(h->token, h->token_len, auth, auth_len))
		return BWG_API_CLASS_AUTH;
	struct bwg_api_request rq = {.method = method, .path = url, .path_len = strlen(url)};
	return bwg_api_is_health(&rq) ? BWG_API_CLASS_HEALTH : BWG_API_CLASS_ANON;
}

/* May this connection's client be served now? HTTP thread only. */
static bool
rate_ok(struct bwg_http *h, struct MHD_Connection *c, enum bwg_api_class k)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	static const uint8_t unknown[16];
	uint8_t family = 6;
	const uint8_t *addr = unknown;
	if (sa && sa->sa_family == AF_INET) {
		family = 4;
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa && sa->sa_family == AF_INET6) {
		addr = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	}
	return bwg_api_limiter_take(&h->limiter, family, addr, k, bwg_control_now_ns());
}

static enum MHD_Result
body_append(struct req_ctx *rc, const char *data, size_t n)
{
	if (rc->too_large || rc->limited)
		return MHD_YES;
	if (rc->len + n > BWG_API_BODY_MAX) {
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
	memcpy(rc->body + rc->len, data, n);
	rc->len += n;
	rc->body[rc->len] = 0;
	return MHD_YES;
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
		rc->cls = request_class(h, c, url, method);
		rc->limited = !rate_ok(h, c, rc->cls);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		return body_append(rc, upload_data, n);
	}
	if (rc->writing) { /* resumed: the control thread answered */
		rc->writing = false;
		bwg_api_write_answer(&rc->rs, rc->w.status, rc->w.msg, rc->w.version);
		return reply(c, &rc->rs);
	}
	struct bwg_api_response *rs = &rc->rs;
	if (rc->limited) {
		memset(rs, 0, sizeof(*rs));
		bwg_api_respond_error(rs, MHD_HTTP_TOO_MANY_REQUESTS,
				      "too many requests (%s): at most %.0f per second from one "
				      "address, %.0f /healthz probes per second, %.0f per second "
				      "with the token",
				      bwg_api_class_names[rc->cls], BWG_API_CLIENT_RATE,
				      BWG_API_HEALTH_RATE, BWG_API_AUTH_RATE);
		return reply(c, rs);
	}
	struct bwg_api_request rq;
	request_fill(&rq, rc, c, url, method);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&h->lock);
	struct bwg_api_state st = {
	    .snap = h->snap,
	    .flows = h->flows,
	    .policy = h->policy,
	    .history = h->history,
	    .dpi = h->dpi,
	    .token = h->token,
	    .token_len = h->token_len,
	    .now_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
	    .limiter = &h->limiter, /* this thread's own */
	    .users = h->users,
	    .files = h->files,
	    .n_files = h->n_files,
	    .quotas = h->quotas,
	};
	bwg_api_route(&st, &rq, rs);
	pthread_mutex_unlock(&h->lock);
	if (rs->write != BWG_API_WRITE_NONE) {
		if (write_start(h, c, rc))
			return MHD_YES;
		bwg_api_write_answer(rs, MHD_HTTP_SERVICE_UNAVAILABLE,
				     "the control thread is busy with another write: try again", 0);
	}
	return reply(c, rs);
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

/* ---- the dashboard's files ---------------------------------------------------------------- */

#define FILE_MAX (4u << 20) /* bytes of one static file */
#ifndef BWG_DATADIR
#define BWG_DATADIR "/usr/share"
#endif
#define CHART_JS "/usr/share/javascript/chart.js/chart.min.js" /* Debian's libjs-chart.js */

/* The whole of a regular file of at most FILE_MAX bytes (never a FIFO or a device), or
 * NULL. */
static char *
file_slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *b = NULL;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= FILE_MAX &&
	    (b = malloc((size_t)st.st_size + 1))) {
		size_t got = 0;
		ssize_t r = 1;
		while (got < (size_t)st.st_size &&
		       (r = read(fd, b + got, (size_t)st.st_size - got)) > 0)
			got += (size_t)r;
		if (r <= 0 && got < (size_t)st.st_size) {
			free(b);
			b = NULL;
		} else {
			*len = got;
		}
	}
	close(fd);
	return b;
}

/*
 * The dashboard's folder: beside the binary in the build tree (app/bwgate/www, copied by
 * meson), else the installed share/bwgate/www of the binary's prefix, else the one the
 * build was configured for.
 */
static bool
www_dir(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	static const char *const tries[] = {"/www", "/../share/bwgate/www", NULL};
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		for (int i = 0; tries[i]; i++) {
			char index[PATH_MAX + 64];
			snprintf(out, len, "%s%s", exe, tries[i]);
			snprintf(index, sizeof(index), "%s/index.html", out);
			if (access(index, R_OK) == 0)
				return true;
		}
	}
	snprintf(out, len, "%s/bwgate/www", BWG_DATADIR);
	char index[PATH_MAX + 64];
	snprintf(index, sizeof(index), "%s/index.html", out);
	return access(index, R_OK) == 0;
}

/* Read the dashboard's files once: requests never touch the disk. */
static void
files_load(struct bwg_http *h)
{
	static const struct {
		const char *url, *file, *type;
	} want[] = {
	    {"/", "index.html", "text/html; charset=utf-8"},
	    {"/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"},
	    {"/dashboard.css", "dashboard.css", "text/css; charset=utf-8"},
	    {"/chart.js", NULL, "text/javascript; charset=utf-8"},
	};
	char dir[PATH_MAX];
	bool have = www_dir(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char path[PATH_MAX + 64];
		if (want[i].file && !have)
			continue;
		if (want[i].file)
			snprintf(path, sizeof(path), "%s/%s", dir, want[i].file);
		else
			snprintf(path, sizeof(path), "%s", CHART_JS);
		size_t len = 0;
		char *b = file_slurp(path, &len);
		if (!b) {
			size_t k = strlen(h->files_note);
			snprintf(h->files_note + k, sizeof(h->files_note) - k, "%scannot read %s%s",
				 k ? "; " : "", path,
				 want[i].file ? "" : " (install libjs-chart.js for its charts)");
			continue;
		}
		h->file_data[h->n_files] = b;
		h->files[h->n_files++] =
		    (struct bwg_api_file){want[i].url, want[i].type, b, len};
	}
	if (!have)
		snprintf(h->files_note, sizeof(h->files_note),
			 "no index.html beside the binary or in %s: / is not served", dir);
}

/* ---- life cycle ----------------------------------------------------------------------- */

int
bwg_http_start(struct bwg_http *h, const char *listen, const char *token_file,
	       const struct bwg_dpi *dpi, const struct bwg_quotas *quotas, char *err,
	       size_t errlen)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->dpi = dpi;
	h->quotas = quotas;
	struct sockaddr_storage ss;
	int rc;
	if ((rc = bwg_api_listen_parse(listen, &ss, err, errlen)) < 0)
		return rc;
	if (token_file &&
	    (rc = bwg_api_token_read(token_file, &h->token, &h->token_len, err, errlen)) < 0)
		return rc;
	files_load(h);
	if ((rc = bwg_api_limiter_init(&h->limiter, BWG_API_CLIENTS, bwg_control_now_ns())) < 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME;
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
	if (h->files_note[0])
		BWG_APP_LOG("dashboard: %s", h->files_note);
	return 0;
}

void
bwg_http_stop(struct bwg_http *h)
{
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	struct bwg_http_req *r = h->req;
	h->req = NULL;
	pthread_mutex_unlock(&h->lock);
	/* libmicrohttpd must not be stopped with a connection suspended. */
	if (r) {
		r->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		snprintf(r->msg, sizeof(r->msg), "bwgate is stopping");
		r->done = true;
		MHD_resume_connection(r->conn);
	}
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	h->daemon = NULL;
	free(h->token);
	h->token = NULL;
	bwg_api_limiter_fini(&h->limiter);
	for (uint32_t i = 0; i < h->n_files; i++)
		free(h->file_data[i]);
	h->n_files = 0;
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
bwg_http_publish_flows(struct bwg_http *h, const struct bwg_api_flows *f)
{
	pthread_mutex_lock(&h->lock);
	h->flows = f;
	pthread_mutex_unlock(&h->lock);
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
	/* Under the lock: bwg_http_stop cannot resume it a second time. */
	MHD_resume_connection(r->conn);
	pthread_mutex_unlock(&h->lock);
}
