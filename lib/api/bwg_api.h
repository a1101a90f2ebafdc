/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_API_H
#define BWG_API_H

/*
 * What the HTTP API and /metrics serve, as pure functions of a snapshot.
 *
 * The control thread fills a `struct bwg_api_snapshot` every few hundred milliseconds
 * (the workers' counters summed, the previous sum for rates, device counters, loop
 * counters, names copied out of the policy in force) and hands it to the HTTP thread;
 * the functions below turn it into documents. They read nothing else, so the same
 * snapshot always gives the same bytes (tested against golden strings in test_api.c),
 * and the HTTP thread never touches worker memory.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "bwg_config.h"
#include "bwg_dpi.h"
#include "bwg_ipfix.h"
#include "bwg_log.h"
#include "bwg_policy.h"
#include "bwg_quota.h"
#include "bwg_stats.h"
#include "bwg_users.h"

#define BWG_API_PORTS 2
#define BWG_API_TOP_MAX 1000

/* One device, as rte_eth_stats_get() and the link watch saw it. */
struct bwg_api_port {
	char role[16]; /* "inside", "outside" */
	char name[64]; /* device name from the config */
	char driver[32];
	uint16_t id;
	uint16_t queues;
	bool link_up;
	bool rss; /* RSS configured on the port */
	uint32_t speed_mbps;
	uint64_t ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf;
	uint64_t resets_sent; /* TCP RSTs the gate sent out of this port */
};

/* One worker: its own counters and its loop counters. */
struct bwg_api_worker {
	uint32_t id;
	uint32_t lcore;
	uint32_t queue;
	bool alive; /* its loop counter moved within ports.stall_timeout_ms */
	uint32_t policy_version; /* the policy it runs (acknowledged) */
	uint64_t cnt[BWG_CNT_MAX];
	uint64_t drops[BWG_DROP_MAX];
	uint64_t flows_active;
	uint32_t flow_capacity;
	uint64_t loops, busy_loops;	/* since start */
	uint64_t loops_prev, busy_prev; /* at the previous snapshot */
	uint64_t pipeline_cycles, pipeline_packets;
	uint64_t resets_sent, resets_failed;	  /* RSTs this worker sent, and could not */
	uint64_t notices_sent;                    /* block notice pages it sent */
	uint64_t multiseg_linearized, multiseg_cut; /* chained mbufs */
};

struct bwg_api_snapshot {
	uint64_t seq;	       /* 1, 2, ... */
	uint64_t time_ns;      /* CLOCK_REALTIME of this snapshot */
	uint64_t interval_ns;  /* since the previous one: rates are over this (0 = none yet) */
	struct bwg_stats cur;  /* workers summed */
	struct bwg_stats prev; /* the previous sum (rates, top) */
	uint64_t flow_capacity;

	/* by counter slot (bwg_stats_slots): names the policy in force may no longer have */
	char class_names[BWG_CLASS_SLOTS][BWG_NAME_MAX];
	uint32_t n_classes;
	char unit_names[BWG_UNIT_SLOTS][BWG_NAME_MAX]; /* [0] = "" */
	uint32_t n_units;
	const char *const *app_names; /* [cur.app_count], static for the process */
	/* the policy's rules (bwg_setup_rule_names), copied: rules[] counts are of it */
	struct bwg_stats_rule_name rule_names[BWG_RULE_MAX + 1];
	uint32_t n_rules;

	struct bwg_api_port ports[BWG_API_PORTS];
	uint32_t n_ports;
	struct bwg_api_worker *workers; /* [n_workers] */
	uint32_t n_workers;

	uint32_t policy_version;
	uint64_t policy_loaded_at; /* unix s */
	char policy_file[256];
	uint64_t reloads_ok, reloads_failed;
	uint64_t events_written, events_write_errors;
	struct bwg_ipfix_stats ipfix; /* n == 0: no IPFIX export */
	uint64_t events_failed;  /* events that reached no file: write failures */
	bool events_failing;     /* the last write to events.file failed */
	bool events_on;          /* an events.file is configured */
	uint64_t started_at; /* unix s */
	uint64_t tsc_hz;     /* pipeline cycles per second (0: not measured) */
};

/* Allocate the arrays (apps for the two sums, workers). Returns 0 or -ENOMEM. */
int bwg_api_snapshot_init(struct bwg_api_snapshot *s, uint32_t app_count, uint32_t n_workers);
void bwg_api_snapshot_fini(struct bwg_api_snapshot *s);

/* Names by counter slot, copied (the policy may be replaced later). */
void bwg_api_snapshot_names(struct bwg_api_snapshot *s, const char *const *classes,
			    uint32_t n_classes, const char *const *units, uint32_t n_units);

/* GET /api/v1/stats, and the final document the appliance prints at shut-down:
 * bwg_stats_json() + ports + workers + rates + policy + pipeline. */
json_t *bwg_api_stats_json(const struct bwg_api_snapshot *s);
/* GET /api/v1/ports and /api/v1/workers. */
json_t *bwg_api_ports_json(const struct bwg_api_snapshot *s);
json_t *bwg_api_workers_json(const struct bwg_api_snapshot *s);
/* GET /healthz. */
json_t *bwg_api_health_json(const struct bwg_api_snapshot *s);

enum bwg_api_top_by {
	BWG_API_TOP_APPS,
	BWG_API_TOP_UNITS,
	BWG_API_TOP_CLASSES,
	BWG_API_TOP_BY_MAX,
};
extern const char *const bwg_api_top_by_names[BWG_API_TOP_BY_MAX];

/* "apps" -> BWG_API_TOP_APPS; -1 when unknown. */
int bwg_api_top_by_parse(const char *s);

/*
 * GET /api/v1/top: the `limit` objects that moved the most bytes over the last
 * interval, largest first (ties: by name), with bytes/packets over the interval, their
 * rates and the totals since start.
 */
json_t *bwg_api_top_json(const struct bwg_api_snapshot *s, enum bwg_api_top_by by, uint32_t limit);

/*
 * GET /metrics: Prometheus text exposition format 0.0.4. Returns a malloc'ed string
 * (*len bytes, NUL-terminated) or NULL when out of memory.
 */
char *bwg_api_metrics_text(const struct bwg_api_snapshot *s, size_t *len);

/* {"error": msg}. */
json_t *bwg_api_error_json(const char *msg);

/* ---- /api/v1/flows: the largest active flows, refreshed on a schedule ------------------ */

/*
 * The workers' largest flows, merged by the control thread once a refresh completed (or
 * its deadline passed) and served as they are until the next one: a request never waits
 * on a worker. `as_of_ns` says how old the list is.
 */
struct bwg_api_flows {
	uint64_t seq;		     /* 1, 2, ... one per refresh */
	uint64_t asked_ns;	     /* CLOCK_REALTIME when the workers were asked */
	uint64_t as_of_ns;	     /* CLOCK_REALTIME when their lists were merged */
	uint32_t workers;	     /* asked */
	uint32_t workers_answered;   /* in time for this list */
	uint64_t flows_active;	     /* across the workers, at merge time */
	struct bwg_flow_view *views; /* [cap], largest first after bwg_api_flows_sort */
	uint32_t n, cap;
};

/*
 * What GET /api/v1/flows?unit=&class=&address=&app=&rule=&host=&action= keeps: every
 * field set must match (NULL: any). `app` matches the label or either of its parts
 * ("YouTube" matches "TLS.YouTube"); `host` the name or a name under it; `address` the
 * client or the server.
 */
struct bwg_api_flow_filter {
	const char *unit, *cls, *rule, *app, *host, *action;
	bool address;
	uint8_t family, prefix_len, addr[16];
};

int bwg_api_flows_init(struct bwg_api_flows *f, uint32_t cap);
void bwg_api_flows_fini(struct bwg_api_flows *f);
/* Order views by bytes both ways, largest first. */
void bwg_api_flows_sort(struct bwg_api_flows *f);
/* GET /api/v1/flows: the first `limit` views that pass `flt` (NULL: all), with the list's
 * age and completeness and how many passed. */
json_t *bwg_api_flows_json(const struct bwg_api_flows *f, uint32_t limit,
			   const struct bwg_api_flow_filter *flt);
bool bwg_api_flow_matches(const struct bwg_flow_view *v, const struct bwg_api_flow_filter *flt);

/* ---- users: /api/v1/top?by=hosts, /api/v1/hosts/ADDR, /api/v1/units/NAME (users.c) --- */

/*
 * GET /api/v1/top?by=hosts: the `limit` users of unit slot `unit` (-1: any) that moved
 * the most bytes over the users' last interval (ties: total bytes, then address), with
 * their unit, totals, rates, flows, blocked and limited flows, first and last seen. With
 * class slot `cls` (not -1) only that class of theirs counts, and only users with
 * traffic or attempts in it are listed. NULL when out of memory.
 */
json_t *bwg_api_top_hosts_json(const struct bwg_api_snapshot *s, const struct bwg_users *u,
			       uint32_t limit, int unit, int cls);
/* GET /api/v1/hosts/ADDR: user x now: totals, rates, per class, recent blocks; its top
 * apps, names and active flows from the flow list `fl` (NULL: none yet). */
json_t *bwg_api_host_json(const struct bwg_api_snapshot *s, const struct bwg_users *u,
			  const struct bwg_user *x, const struct bwg_api_flows *fl);
/* GET /api/v1/units/NAME: unit slot `unit`'s totals and rates (the snapshot's), its
 * classes and recent blocks (its users'), its `limit` busiest users. */
json_t *bwg_api_unit_json(const struct bwg_api_snapshot *s, const struct bwg_users *u,
			  uint32_t unit, uint32_t limit);
/* GET /api/v1/blocks: the `limit` newest block and limit attempts the users keep, each
 * with its user and unit. */
json_t *bwg_api_blocks_json(const struct bwg_api_snapshot *s, const struct bwg_users *u,
			    uint32_t limit);

/* ---- /api/v1/policy/history: accepted policies, numbered ------------------------------- */

/* One accepted policy, as its history file holds it. Immutable once published. */
struct bwg_api_history_entry {
	uint32_t version;  /* 1, 2, ... across restarts */
	uint64_t time;     /* unix s, when it was accepted */
	char source[320];  /* "file /etc/bwgate/bwgate.json (start)", "PUT /api/v1/policy", ... */
	char client[64];   /* the API client's address; "" for the file, a signal, start-up */
	char *policy;      /* the whole policy, JSON text */
};

/* The versions kept, oldest first, as the control thread last published them. */
struct bwg_api_history {
	struct bwg_api_history_entry **v;
	uint32_t n;
	uint32_t current; /* the version in force; 0 when unknown */
	const char *dir;
};

/* GET /api/v1/policy/history: the versions, newest first, without their policies. */
json_t *bwg_api_history_json(const struct bwg_api_history *h);
/* Version `version`, or NULL. */
const struct bwg_api_history_entry *bwg_api_history_find(const struct bwg_api_history *h,
							 uint32_t version);
/* GET /api/v1/policy/history/N: one version with its whole policy (NULL: bad JSON). */
json_t *bwg_api_history_entry_json(const struct bwg_api_history_entry *e, uint32_t current);
/*
 * GET /api/v1/policy/diff?from=N&to=M: what changed between two policies, as a list of
 * {"path": "rules[3].action", "from": ..., "to": ...} (a missing side is absent).
 * Objects are compared key by key, arrays element by element.
 */
json_t *bwg_api_policy_diff_json(const struct bwg_api_history_entry *a,
				 const struct bwg_api_history_entry *b);

/* ---- /api/v1/explain ----------------------------------------------------------------- */

/* The question, as the client put it (NUL-terminated; NULL: not given). */
struct bwg_api_explain_query {
	const char *src, *dst;	  /* addresses: client (required), server */
	const char *app;	  /* the label /flows prints: "TLS.YouTube", "HTTP" */
	const char *category;	  /* nDPI category; default: the app's own */
	const char *host;	  /* the flow's own name (HTTP Host, SNI, DNS query) */
	const char *learned;	  /* a name learned for a flow without one */
	const char *learned_from; /* "dns" (default) or "flow": where `learned` came from */
	const char *detector;	  /* a payload detector that matched */
	const char *p2p_host;	  /* "true": the inside host is tagged a P2P peer */
	const char *socket_class; /* the class its inside socket's other flow passed on */
	const char *guessed;	  /* "true": nDPI's app is a guess by port */
	const char *at;		  /* Unix seconds or an ISO time; default now */
};

/*
 * The verdict the workers would give such a flow, by their code: evidence -> class
 * (bwg_classes_decide), unit, schedules at `at` (else now_ns), rule. NULL with a message
 * in err when the query holds what a flow could not (a URL as host, unknown names).
 */
json_t *bwg_api_explain_json(const struct bwg_policy *p, const struct bwg_dpi *dpi,
			     const struct bwg_api_explain_query *q, uint64_t now_ns, char *err,
			     size_t errlen);
/*
 * Unix seconds ("1764298800", fractions allowed), or an ISO time "YYYY-MM-DDTHH:MM[:SS]"
 * in the policy's zone, or with "Z" or "+HH:MM". Returns 0 with *ns, or -1.
 */
int bwg_api_time_parse(const struct bwg_policy *p, const char *s, uint64_t *ns);

/* ---- text from clients ------------------------------------------------------------------ */

/* s[0..len) is UTF-8 as RFC 3629 has it (what jansson accepts), with no NUL byte. */
bool bwg_api_utf8_valid(const char *s, size_t len);
/*
 * Copy s[0..len) into out (outlen bytes, NUL-terminated) as text any JSON string can
 * hold: valid UTF-8 is kept, every other byte and every control character is written
 * as "\xNN"; a cut falls between characters. Returns out.
 */
char *bwg_api_text_clean(char *out, size_t outlen, const char *s, size_t len);

/* ---- the router: a request in, a response out ------------------------------------------ */

#define BWG_API_BODY_MAX (1u << 20) /* bytes of a PUT body */
#define BWG_API_ARGS_MAX 32	    /* query arguments a request may carry */
#define BWG_API_LIMIT_DEFAULT 10
#define BWG_API_LIMIT_MAX 1000

/* A query argument as the client sent it, decoded; value NULL for "?pretty". */
struct bwg_api_arg {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
};

/* What the HTTP glue gathered of a request. Strings need not be NUL-terminated. */
struct bwg_api_request {
	const char *method;
	const char *path; /* decoded */
	size_t path_len;
	const struct bwg_api_arg *args;
	uint32_t n_args;
	bool too_many_args; /* more than BWG_API_ARGS_MAX were sent */
	const char *authorization; /* the header, or NULL */
	size_t authorization_len;
	const char *body;
	size_t body_len;
	bool body_too_large; /* over BWG_API_BODY_MAX: read and discarded */
};

/* A write only the control thread may carry out. */
enum bwg_api_write {
	BWG_API_WRITE_NONE,
	BWG_API_WRITE_POLICY, /* PUT /api/v1/policy with the request's body */
	BWG_API_WRITE_RELOAD, /* POST /api/v1/reload */
	BWG_API_WRITE_ROLLBACK, /* POST /api/v1/policy/rollback?version=N */
};

struct bwg_api_response {
	unsigned status;
	const char *content_type; /* static */
	const char *allow;	  /* the Allow header of a 405, static, or NULL */
	bool authenticate;	  /* send WWW-Authenticate: Bearer */
	bool pretty;		  /* ?pretty: indent JSON */
	char *body;		  /* malloc'ed, the caller frees it */
	size_t len;
	enum bwg_api_write write; /* not NONE: no body yet, answer with bwg_api_write_answer */
	uint32_t rollback;	  /* BWG_API_WRITE_ROLLBACK: the version asked for */
};

/* A static file served as it is (the dashboard's), loaded by the HTTP glue. */
struct bwg_api_file {
	const char *path; /* "/", "/dashboard.js", ... */
	const char *type; /* Content-Type */
	const char *body;
	size_t len;
};

/* What requests are answered from: read-only while bwg_api_route runs. */
struct bwg_api_state {
	const struct bwg_api_snapshot *snap; /* NULL before the first */
	const struct bwg_api_flows *flows;   /* NULL before the first refresh */
	const struct bwg_policy *policy;     /* NULL before the first */
	const struct bwg_dpi *dpi;	     /* application names */
	const char *token;		     /* NULL: no token file, writes get 403 */
	size_t token_len;
	uint64_t now_ns; /* CLOCK_REALTIME: the schedules /api/v1/explain sees */
	const struct bwg_api_limiter *limiter; /* its counters on /metrics, or NULL */
	const struct bwg_api_history *history; /* NULL: no history kept */
	const struct bwg_users *users;	       /* NULL: per-user accounting is off */
	const struct bwg_api_file *files;      /* [n_files]: GET answers them as they are */
	uint32_t n_files;
	const struct bwg_quotas *quotas; /* quota usage, read with atomic loads; NULL: none */
};

/*
 * Answer rq from st: a pure function of its arguments. Every answer is JSON (or the
 * metrics text), errors {"error": "..."} in valid UTF-8 whatever bytes the client sent.
 * A write that passed authentication comes back with rs->write set and no body.
 */
void bwg_api_route(const struct bwg_api_state *st, const struct bwg_api_request *rq,
		   struct bwg_api_response *rs);
/* The answer to a write the control thread carried out (status 200, 400 or 503). */
void bwg_api_write_answer(struct bwg_api_response *rs, unsigned status, const char *msg,
			  uint32_t version);
/* An error answer; the message is cleaned to valid UTF-8. */
void bwg_api_respond_error(struct bwg_api_response *rs, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "Bearer TOKEN" against the configured token, in time independent of the guess. */
bool bwg_api_token_ok(const char *token, size_t token_len, const char *auth, size_t auth_len);
/* True when rq is a GET or HEAD of /healthz (the monitoring probe's reserve). */
bool bwg_api_is_health(const struct bwg_api_request *rq);

/* ---- who may use the API: listen address, token file, request rates ------------------- */

#define BWG_API_TOKEN_MIN 16
#define BWG_API_TOKEN_MAX 1024 /* bytes of the token file, end of line included */

/*
 * Read api.token_file: a regular file (never waited on: FIFOs and devices are refused),
 * at most BWG_API_TOKEN_MAX bytes, one line of BWG_API_TOKEN_MIN or more printable ASCII
 * characters without blanks; a NUL byte is refused by name. *token is malloc'ed. Returns
 * 0 or -errno with "api.token_file: PATH: fault" in err (never the file's content).
 */
int bwg_api_token_read(const char *path, char **token, size_t *len, char *err, size_t errlen);

struct sockaddr_storage;
/* "ADDR:PORT" (IPv4, or [IPv6]) -> *ss. Returns 0 or -EINVAL with "api.listen: ..." in err. */
int bwg_api_listen_parse(const char *listen, struct sockaddr_storage *ss, char *err,
			 size_t errlen);

/*
 * Request rates. Every client address has a bucket for its requests and one for its
 * /healthz probes; anonymous requests also share one bucket for all clients, and
 * requests with the right token draw on the operators' reserve instead, which only
 * token holders can drain. So a flooding client exhausts its own allowance and, at
 * worst, the anonymous pool, never another address's, a probe's or an operator's.
 *
 * The client table is keyed with the process secret (lib/hash) and bounded: a client
 * whose buckets are full again is as good as absent and its entry is reused; when every
 * entry within reach is held by a recently active client, the newcomer shares one
 * overflow entry with the others in that position (counted in `overflowed`).
 *
 * HTTP thread only.
 */
enum bwg_api_class {
	BWG_API_CLASS_ANON,   /* no valid token */
	BWG_API_CLASS_HEALTH, /* GET /healthz without a token */
	BWG_API_CLASS_AUTH,   /* the right token */
	BWG_API_CLASS_MAX,
};
extern const char *const bwg_api_class_names[BWG_API_CLASS_MAX];

#define BWG_API_CLIENT_RATE 100.0   /* requests/s of one client address */
#define BWG_API_CLIENT_BURST 200.0
#define BWG_API_HEALTH_RATE 20.0    /* /healthz probes/s of one client address */
#define BWG_API_HEALTH_BURST 40.0
#define BWG_API_ANON_RATE 1000.0    /* requests/s of all clients without a token */
#define BWG_API_ANON_BURST 2000.0
#define BWG_API_AUTH_RATE 200.0     /* requests/s with the token: the operators' reserve */
#define BWG_API_AUTH_BURST 400.0
#define BWG_API_CLIENTS 4096	    /* client addresses followed */

struct bwg_api_bucket {
	double tokens;
	uint64_t last_ns;
};

struct bwg_api_client {
	uint8_t family; /* 0: free */
	uint8_t addr[16];
	struct bwg_api_bucket req, health;
};

struct bwg_api_limiter {
	struct bwg_api_client *clients; /* [mask + 1] */
	uint32_t mask;
	struct bwg_api_client overflow;
	struct bwg_api_bucket anon, auth;
	uint64_t refused[BWG_API_CLASS_MAX];
	uint64_t overflowed; /* requests whose client found no entry of its own */
};

/* A table of `clients` entries (a power of two), every bucket full at now_ns. */
int bwg_api_limiter_init(struct bwg_api_limiter *l, uint32_t clients, uint64_t now_ns);
void bwg_api_limiter_fini(struct bwg_api_limiter *l);
/*
 * May a request of class k from (family 4 or 6, addr) be served at now_ns (monotonic)?
 * Takes one token from each bucket it draws on; false (counted in refused[k]) when one
 * is empty.
 */
bool bwg_api_limiter_take(struct bwg_api_limiter *l, uint8_t family, const uint8_t *addr,
			  enum bwg_api_class k, uint64_t now_ns);
/* The refusals by class and the overflowed requests, as Prometheus text appended to f. */
void bwg_api_limiter_metrics(const struct bwg_api_limiter *l, FILE *f);

#endif
