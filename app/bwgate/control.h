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

#include "bwg_policy.h"
#include "bwg_stats.h"
#include "datapath.h"
#include "ports.h"

struct bwg_ctl_worker_watch {
	uint64_t loops;    /* last value seen */
	uint64_t since_ns; /* when it last moved */
	bool stalled;      /* reported */
};

struct bwg_control {
	const struct bwg_policy *policy;
	struct bwg_ports *ports;
	struct bwg_dp_lcore *lcores; /* [n] */
	uint32_t n;
	uint32_t stall_timeout_ms;
	FILE *events;                 /* events.file, appended; NULL without one */
	struct bwg_stats snap;        /* last aggregate */
	struct bwg_ctl_worker_watch *watch; /* [n] */
	uint64_t events_written;
	/* summary line */
	uint64_t last_rx, last_tx, last_ns;
	/* idle watch */
	uint64_t idle_rx, idle_since_ns;
};

/* Returns 0, or -errno with a message in err (events file, memory). */
int bwg_control_init(struct bwg_control *ctl, const struct bwg_policy *policy,
		     struct bwg_ports *ports, struct bwg_dp_lcore *lcores, uint32_t n, char *err,
		     size_t errlen);
void bwg_control_fini(struct bwg_control *ctl);

/* Sum the workers' counters into ctl->snap. */
void bwg_control_snapshot(struct bwg_control *ctl);

/* Move every queued event to the events file (or discard it without one). */
void bwg_control_events_drain(struct bwg_control *ctl);

/* Report workers whose loop counter stood still for stall_timeout_ms (and recoveries). */
void bwg_control_stall_check(struct bwg_control *ctl, uint64_t now_ns);

/* One line on stderr: rx/tx/dropped packets, active flows, Mpps since the last line. */
void bwg_control_summary_print(struct bwg_control *ctl, uint64_t now_ns);

/* Nanoseconds since anything was received on either port. */
uint64_t bwg_control_idle_ns(struct bwg_control *ctl, uint64_t now_ns);

/* The final stats document (workers stopped): bwg_stats_json + ports[] + workers[]. */
json_t *bwg_control_stats_json(struct bwg_control *ctl);

/* Monotonic clock, ns. */
uint64_t bwg_control_now_ns(void);

#endif
