/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_IPFIX_H
#define BWG_IPFIX_H

/*
 * IPFIX flow export: flow records (bwg_flow_view) to the collectors an operator names in
 * the config's "ipfix" section, over UDP or TCP, encoded by libfixbuf.
 *
 * Nothing here waits on a collector: sockets are non-blocking, a TCP collector's
 * messages wait in a bounded queue, and what cannot be sent now is lost and counted.
 * Each record is counted once per collector as sent, lost, or pending (in the message
 * being built or in the queue): records = sent + lost + pending, per collector.
 *
 * Control thread only (the appliance's main lcore; bwgate-pcap's one thread).
 */

#include <stdint.h>

#include <jansson.h>

#include "bwg_config.h"
#include "bwg_log.h"

/* Information elements bwgate defines under ipfix.enterprise_number (doc/api.md). */
enum bwg_ipfix_ie {
	BWG_IPFIX_IE_APP = 1,	       /* string: nDPI's label, "TLS.YouTube" */
	BWG_IPFIX_IE_CATEGORY = 2,     /* string: nDPI's category */
	BWG_IPFIX_IE_CLASS = 3,	       /* string: the policy class */
	BWG_IPFIX_IE_CLASS_SOURCE = 4, /* string: what decided the class */
	BWG_IPFIX_IE_UNIT = 5,	       /* string: the client's unit, "" for none */
	BWG_IPFIX_IE_RULE = 6,	       /* string: the rule that matched */
	BWG_IPFIX_IE_ACTION = 7,       /* string: "allow", "block", "limit" */
	BWG_IPFIX_IE_HOST = 8,	       /* string: SNI, HTTP Host, DNS name */
	BWG_IPFIX_IE_DROPPED = 9,      /* unsigned64 delta: packets the gate dropped */
};

enum bwg_ipfix_state {
	BWG_IPFIX_UP,	      /* UDP: the last message went out; TCP: connected */
	BWG_IPFIX_CONNECTING, /* TCP: connecting (records are queued meanwhile) */
	BWG_IPFIX_DOWN,	      /* UDP: the collector refused the last message; TCP: waiting to
				 reconnect (records are lost meanwhile) */
	BWG_IPFIX_STATE_MAX,
};
extern const char *const bwg_ipfix_state_names[BWG_IPFIX_STATE_MAX];

struct bwg_ipfix_collector_stats {
	char url[272];		  /* as configured */
	uint8_t state;		  /* enum bwg_ipfix_state */
	uint64_t records_sent;	  /* in messages handed whole to the kernel */
	uint64_t records_lost;	  /* dropped: not sent, queue full, collector down */
	uint64_t records_pending; /* in the message being built or in the queue */
	uint64_t messages_sent;
	uint64_t messages_lost;
	uint64_t bytes_sent;
	uint64_t connects; /* TCP connections made */
};

struct bwg_ipfix_stats {
	uint64_t records; /* records handed to the exporter (each goes to every collector) */
	uint32_t n;	  /* collectors */
	struct bwg_ipfix_collector_stats c[BWG_COLLECTORS_MAX];
};

struct bwg_ipfix;

/*
 * Start exporting to the collectors of c->ipfix_collectors, or to urls[n_urls] instead
 * when urls is not NULL (bwgate-pcap --ipfix), with the other settings of c's "ipfix"
 * section. Host names are resolved here, once. Returns 0 (*out NULL when there is no
 * collector), or -errno with a message naming the collector in err.
 */
int bwg_ipfix_create(struct bwg_ipfix **out, const struct bwg_config *c, const char *const *urls,
		     uint32_t n_urls, char *err, size_t errlen);

/* Resolve every collector's host without starting anything (--check). 0 or -EINVAL. */
int bwg_ipfix_check(const struct bwg_config *c, char *err, size_t errlen);

/* Export one record: a flow's end (BWG_EVENT_FLOW) or a long flow's periodic record
 * (BWG_EVENT_FLOW_UPDATE); counts are v's totals less its prior_* counts. */
void bwg_ipfix_record(struct bwg_ipfix *x, const struct bwg_flow_view *v);

/* Periodic work, every few milliseconds: send messages open for a second, write TCP
 * queues, (re)connect, refresh UDP templates. Never waits. */
void bwg_ipfix_tick(struct bwg_ipfix *x);

/* Send every open message and wait up to wait_ms for TCP queues to drain (shut-down,
 * end of a replay). What is left stays pending. */
void bwg_ipfix_flush(struct bwg_ipfix *x, uint32_t wait_ms);

void bwg_ipfix_stats(const struct bwg_ipfix *x, struct bwg_ipfix_stats *out);

/* Close the sockets; pending records are counted lost first. NULL is fine. */
void bwg_ipfix_destroy(struct bwg_ipfix *x);

/* {"records", "records_sent", "records_lost", "collectors": [...]}: sums over collectors
 * and each collector's counters. Pure. */
json_t *bwg_ipfix_stats_json(const struct bwg_ipfix_stats *s);

#endif
