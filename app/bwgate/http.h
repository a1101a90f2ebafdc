/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_APP_HTTP_H
#define BWG_APP_HTTP_H

/*
 * The HTTP API (libmicrohttpd, its own polling thread, off the worker lcores). It only
 * routes: lib/api's router answers from the snapshot and the flow list the control
 * thread publishes here, and writes (PUT /api/v1/policy, POST /api/v1/reload) are
 * handed to the control thread, which answers them on its next tick; their connection
 * waits suspended, the HTTP thread does not.
 *
 * Shared between the two threads, under `lock`: the published snapshot and flow list,
 * the policy in force (kept alive by the control thread until it is replaced here), and
 * the one pending write request.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bwg_api.h"
#include "bwg_dpi.h"
#include "bwg_policy.h"

/*
 * A write handed to the control thread; it fills status, msg and version and calls
 * bwg_http_answer(), which resumes the connection (suspended meanwhile, so the HTTP
 * thread goes on serving everyone else while a policy compiles).
 */
struct bwg_http_req {
	enum bwg_api_write kind;
	const char *body;
	size_t len;
	struct MHD_Connection *conn; /* suspended until answered */
	char client[64];             /* the client's address */
	uint32_t rollback;           /* BWG_API_WRITE_ROLLBACK: the version */
	bool done;
	unsigned status; /* HTTP status */
	char msg[BWG_CONFIG_ERR_MAX + 256];
	uint32_t version; /* the policy version in force afterwards */
};

#define BWG_HTTP_FILES_MAX 8

struct bwg_http {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	const struct bwg_api_snapshot *snap; /* under lock */
	const struct bwg_api_flows *flows;   /* under lock */
	const struct bwg_policy *policy;     /* under lock */
	const struct bwg_api_history *history; /* under lock; NULL: none kept */
	const struct bwg_users *users;	       /* under lock (the control thread merges) */
	struct bwg_api_file files[BWG_HTTP_FILES_MAX]; /* the dashboard, read at start */
	uint32_t n_files;
	char *file_data[BWG_HTTP_FILES_MAX];
	char files_note[512]; /* what could not be read, logged once serving */
	const struct bwg_dpi *dpi;	     /* names only: immutable while running */
	const struct bwg_quotas *quotas;     /* shared with the workers; set before start */
	struct bwg_http_req *req;	     /* under lock: pending write, or NULL */
	bool stopping;
	char *token; /* NULL: no token file, writes are refused with 403 */
	size_t token_len;
	struct bwg_api_limiter limiter; /* request rates, HTTP thread only */
};

/*
 * Read the token file (when one is configured) and start listening on `listen`
 * ("ADDR:PORT", IPv4 or [IPv6]). Returns 0 or -errno with a message in err.
 */
int bwg_http_start(struct bwg_http *h, const char *listen, const char *token_file,
		   const struct bwg_dpi *dpi, const struct bwg_quotas *quotas, char *err,
		   size_t errlen);
/* Answer a pending write with 503 and stop the daemon (waits for its thread). Control
 * thread, which therefore is not carrying out a write meanwhile. */
void bwg_http_stop(struct bwg_http *h);

/* Control thread: publish a snapshot / the policy in force. Returns the previous one,
 * which the HTTP thread no longer sees. */
const struct bwg_api_snapshot *bwg_http_publish_snapshot(struct bwg_http *h,
							 const struct bwg_api_snapshot *s);
void bwg_http_publish_flows(struct bwg_http *h, const struct bwg_api_flows *f);
void bwg_http_publish_policy(struct bwg_http *h, const struct bwg_policy *p);

/* Control thread: the pending write, or NULL. Answer it with bwg_http_answer, before
 * asking for the next one. */
struct bwg_http_req *bwg_http_pending(struct bwg_http *h);
void bwg_http_answer(struct bwg_http *h, struct bwg_http_req *r);

#endif
