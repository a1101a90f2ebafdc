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

#include <jansson.h>

#include "bwg_config.h"
#include "bwg_stats.h"

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
	uint64_t cnt[BWG_CNT_MAX];
	uint64_t drops[BWG_DROP_MAX];
	uint64_t flows_active;
	uint32_t flow_capacity;
	uint64_t loops, busy_loops;	/* since start */
	uint64_t loops_prev, busy_prev; /* at the previous snapshot */
	uint64_t pipeline_cycles, pipeline_packets;
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

	struct bwg_api_port ports[BWG_API_PORTS];
	uint32_t n_ports;
	struct bwg_api_worker *workers; /* [n_workers] */
	uint32_t n_workers;

	uint32_t policy_version;
	uint64_t policy_loaded_at; /* unix s */
	char policy_file[256];
	uint64_t reloads_ok, reloads_failed;
	uint64_t events_written, events_write_errors;
	uint64_t started_at; /* unix s */
};

/* Allocate the arrays (apps for the two sums, workers). Returns 0 or -ENOMEM. */
int bwg_api_snapshot_init(struct bwg_api_snapshot *s, uint32_t app_count, uint32_t n_workers);
void bwg_api_snapshot_fini(struct bwg_api_snapshot *s);

/* Names by counter slot, copied (the policy may be replaced later). */
void bwg_api_snapshot_names(struct bwg_api_snapshot *s, const char *const *classes,
			    uint32_t n_classes, const char *const *units, uint32_t n_units);

/* GET /api/v1/stats: bwg_stats_json() + ports + workers + rates + policy. */
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

#endif
