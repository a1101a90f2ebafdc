/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_APP_CONTROL_H
#define BWG_APP_CONTROL_H

/*
 * The control thread's periodic work while workers run: counter snapshots, the summary
 * line, the events file, the stall detector, the link and idle watches; and, once the
 * workers stopped, the final stats document. It reads worker memory, never writes it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "bwg_api.h"
#include "bwg_ipfix.h"
#include "bwg_policy.h"
#include "bwg_stats.h"
#include "datapath.h"
#include "http.h"
#include "ports.h"

#define BWG_CTL_RETIRED_MAX 16 /* replaced policies workers may still be reading */

struct bwg_ctl_worker_watch {
	uint64_t loops;    /* last value seen */
	uint64_t since_ns; /* when it last moved */
	bool stalled;      /* reported */
};

/* A replaced policy, freed once every worker acknowledged version `until`. */
struct bwg_ctl_retired {
	struct bwg_policy *policy;
	uint32_t until;
};

struct bwg_control {
	struct bwg_policy *policy; /* in force; owned from bwg_control_init on */
	const char *config_path;   /* what POST /api/v1/reload and SIGHUP re-read */
	struct bwg_dpi *dpi;       /* the control thread's own: compiles replacements */
	struct bwg_ports *ports;
	struct bwg_dp_lcore *lcores; /* [n] */
	uint32_t n;
	uint32_t stall_timeout_ms;
	int events_fd;                /* events.file, O_APPEND; -1 without one or after a failed
					 reopen */
	bool events_failing;          /* the last write or open failed: /healthz is not ok */
	uint64_t events_retry_ns;     /* when to try opening events.file again */
	uint64_t events_failed_lines; /* events that reached no file (write failures) */
	uint64_t events_fail_logged_ns; /* when a failure was last logged (rate limit) */
	struct bwg_stats snap;        /* last aggregate */
	struct bwg_ctl_worker_watch *watch; /* [n] */
	uint64_t events_written;      /* lines that reached the file whole */
	uint64_t events_write_errors; /* failed writes and reopens */
	struct bwg_ipfix *ipfix;      /* flow records to collectors; NULL without "ipfix" */
	/* policy replacement */
	struct bwg_ctl_retired retired[BWG_CTL_RETIRED_MAX];
	uint32_t n_retired;
	uint64_t reloads_ok, reloads_failed;
	/* counters belong to names across replacements: the slots each name counts in */
	struct bwg_stats_slots class_slots, unit_slots;
	/* HTTP API: snapshots published to its thread, requests answered here */
	bool http_on;
	uint64_t api_retry_ns; /* not serving: when to try again (0: no need) */
	struct bwg_http http;
	struct bwg_api_snapshot snaps[2];
	int front;              /* snaps[front] is published; -1 before the first */
	uint64_t snap_mono_ns;  /* when it was taken */
	/* Each worker's latest publication of its counters (bwg_dp_lcore.stats), asked for
	 * every BWG_CTL_SNAPSHOT_NS; a snapshot sums them once all answered, or when the
	 * period is over (a stalled worker's last one stays). */
	struct bwg_stats *wstats; /* [n] */
	uint32_t stats_seq;
	bool stats_asking;
	uint64_t stats_asked_ns;
	const char **app_names; /* [app count], from the DPI context */
	/* GET /api/v1/flows: lists refreshed every BWG_CTL_FLOWS_NS, two buffers as snaps */
	struct bwg_api_flows flow_lists[2];
	int flows_front;       /* flow_lists[flows_front] is published; -1 before the first */
	bool flows_asking;     /* the workers are scanning for flows_seq */
	uint32_t flows_seq;
	uint64_t flows_asked_ns;   /* monotonic, when they were asked */
	uint64_t flows_asked_real; /* CLOCK_REALTIME of the same */
	/* the policy's history (history.dir): published to the HTTP thread, changed under its
	 * lock (the router reads it under the same lock) */
	bool history_on;
	struct bwg_api_history history;
	/* per-user accounting: merged from the workers' publications and their block and
	 * limit events; read by the HTTP thread, so changed under its lock when it runs */
	struct bwg_users users;
	uint64_t users_interval_ns; /* monotonic: when the users' last interval began */
	/* summary line */
	uint64_t last_rx, last_tx, last_dropped, last_ns;
	/* idle watch */
	uint64_t idle_rx, idle_since_ns;
	/* quota usage, shared with the workers; saved to the policy's state_file */
	struct bwg_quotas *quotas;
	bool quota_save_failing;
};

/*
 * Take over `policy` (loaded from config_path) and start the HTTP API. Returns 0, or
 * -errno with a message in err (events file, API address or token file, memory).
 */
int bwg_control_init(struct bwg_control *ctl, struct bwg_policy *policy, const char *config_path,
		     struct bwg_ports *ports, struct bwg_dp_lcore *lcores, uint32_t n,
		     struct bwg_quotas *quotas, char *err, size_t errlen);
/* Save the quota usage to the state_file of the policy in force, if any. */
void bwg_control_quotas_save(struct bwg_control *ctl);
/* Stop the API and free replaced policies (workers stopped). Returns the policy in force,
 * which the caller frees after the workers. */
struct bwg_policy *bwg_control_fini(struct bwg_control *ctl);

/*
 * Periodic API work: publish a snapshot every BWG_CTL_SNAPSHOT_NS, refresh the flow
 * list every BWG_CTL_FLOWS_NS (the workers scan their tables in bounded steps at their
 * housekeeping ticks; a worker that has not finished within the period is left out of
 * that list), answer the pending write, free policies every worker has stopped reading.
 */
#define BWG_CTL_SNAPSHOT_NS 200000000ull
#define BWG_CTL_FLOWS_NS 1000000000ull
void bwg_control_api_tick(struct bwg_control *ctl, uint64_t now_ns);

/* A policy change, as asked for. */
struct bwg_policy_change {
	const char *body;   /* a config document; NULL: re-read config_path */
	size_t len;
	const char *how;    /* "SIGHUP", "POST /api/v1/reload", "PUT /api/v1/policy", ... */
	const char *client; /* the API client's address, or NULL */
	uint32_t rollback;  /* the history version body comes from, or 0 */
};

/*
 * Replace the policy. Parse, validate and compile here; a policy from the API (PUT,
 * rollback) is then written back to config_path (atomically), so the next reload or
 * SIGHUP re-reads it; on success workers adopt it at their next housekeeping tick and a
 * new version goes to the history. Accepted or refused, the change reaches the audit log
 * with who asked. Returns an HTTP status (200, 400, 500, 503) with a message in msg.
 */
unsigned bwg_control_policy_replace(struct bwg_control *ctl, const struct bwg_policy_change *ch,
				    char *msg, size_t msglen);

/* True while every worker's loop counter moves (what feeds systemd's watchdog). */
bool bwg_control_workers_alive(const struct bwg_control *ctl);

/* Reopen events.file (after logrotate moved it). */
void bwg_control_events_reopen(struct bwg_control *ctl);

/*
 * Open events.file for appending, mode 0640, creating its folder (0750) when only the
 * last level is missing. Returns the descriptor or -errno with a message in err.
 */
int bwg_control_events_open(const char *path, char *err, size_t errlen);

/* Sum the workers' counters into ctl->snap. */
void bwg_control_snapshot(struct bwg_control *ctl);

/* Move every queued event to the events file (or discard it without one) and flow
 * records to the IPFIX collectors. */
void bwg_control_events_drain(struct bwg_control *ctl);

/* Workers stopped and drained: send the IPFIX messages still open and give TCP
 * collectors up to BWG_CTL_IPFIX_WAIT_MS to take what is queued. */
#define BWG_CTL_IPFIX_WAIT_MS 2000
void bwg_control_export_flush(struct bwg_control *ctl);

/* Report workers whose loop counter stood still for stall_timeout_ms (and recoveries). */
void bwg_control_stall_check(struct bwg_control *ctl, uint64_t now_ns);

/* One line on stderr: rx/tx/dropped packets, active flows, Mpps since the last line. */
void bwg_control_summary_print(struct bwg_control *ctl, uint64_t now_ns);

/* Nanoseconds since anything was received on either port. */
uint64_t bwg_control_idle_ns(struct bwg_control *ctl, uint64_t now_ns);

/* The final stats document (workers stopped): GET /api/v1/stats's, by the same
 * functions (bwg_api_stats_json of a snapshot filled now). */
json_t *bwg_control_stats_json(struct bwg_control *ctl);

/* Monotonic clock, ns. */
uint64_t bwg_control_now_ns(void);

#endif
