/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_LOG_H
#define BWG_LOG_H

/*
 * Flow records and audit events.
 *
 * A worker fills a `struct bwg_flow_view` — a self-contained copy of a flow with every
 * name resolved, so it stays true after the flow, the policy or the DPI state that
 * produced it are gone — and pushes it on its event ring. The control thread pops
 * events and turns them into JSON lines with the pure functions below. The ring is
 * single-producer single-consumer and never blocks the worker: a full ring is counted.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "bwg_config.h"

enum bwg_event_type {
	BWG_EVENT_BLOCK,    /* a flow was first blocked */
	BWG_EVENT_LIMIT,    /* a flow was first held to a limit rule's rate */
	BWG_EVENT_FLOW_END, /* a flow of a rule with log: true ended */
	BWG_EVENT_FLOW,     /* any flow ended (--flows, IPFIX) */
	BWG_EVENT_FLOW_UPDATE, /* a long flow's periodic record (IPFIX active timeout) */
	BWG_EVENT_QUOTA,    /* a user reached a rule's quota (this flow's packet did it) */
	BWG_EVENT_PENALTY_START, /* a user entered a rule's penalty lane */
	BWG_EVENT_PENALTY_END,   /* and left it (dated when it ran out) */
	BWG_EVENT_TYPE_MAX,
};
extern const char *const bwg_event_names[BWG_EVENT_TYPE_MAX];

/* Why a record was made: IPFIX's flowEndReason values (RFC 5102), 0 for none. */
enum bwg_flow_end {
	BWG_END_NONE = 0,      /* a view of a live flow (the API's list) */
	BWG_END_IDLE = 1,      /* idle timeout */
	BWG_END_ACTIVE = 2,    /* active timeout: the flow goes on */
	BWG_END_OF_FLOW = 3,   /* TCP FIN both ways or RST seen, then its short timeout */
	BWG_END_FORCED = 4,    /* shut-down, end of the capture */
	BWG_END_RESOURCES = 5, /* ended early for room: flow table or detection pool full */
	BWG_END_MAX,
};
extern const char *const bwg_flow_end_names[BWG_END_MAX];

struct bwg_flow_view {
	uint8_t family;
	uint8_t proto;
	uint16_t vlan;
	uint8_t addr[2][16];
	uint16_t port[2];
	uint64_t pkts[2];
	uint64_t bytes[2];
	uint64_t dropped_pkts;
	uint64_t first_ts; /* ns */
	uint64_t last_ts;
	uint64_t event_ts; /* when the event happened (ns) */
	char app[64];      /* ndpiReader's label, "TLS.YouTube" */
	char category[32];
	char cls[BWG_NAME_MAX];
	char unit[BWG_NAME_MAX];
	char rule[BWG_NAME_MAX];
	char host[80];
	bool host_learned; /* host is the name learned from DNS for the server, not the flow's */
	bool app_guessed;  /* nDPI named app by port (or not at all), not by a dissector */
	uint8_t action;    /* the rule's: with monitor, what it would have done */
	bool monitor;      /* the rule is in "mode": "monitor": the flow was forwarded */
	/* BWG_EVENT_QUOTA: the quota reached, and the user's usage then */
	uint8_t quota_period; /* enum bwg_quota_period */
	bool quota_block;     /* then: block; else held to quota_then_bps */
	uint64_t quota_bytes, quota_used_bytes, quota_then_bps;
	uint32_t quota_minutes, quota_used_minutes;
	char quota_user[48];  /* the user (inside address); also of penalty events */
	/* BWG_EVENT_PENALTY_*: the rule's lane and the penalty's span (ns) */
	uint64_t pen_above_bps, pen_rate_bps, pen_since, pen_until;
	uint32_t pen_for, pen_lasts;
	char class_source[16]; /* bwg_class_source_names */
	char class_match[160]; /* what matched, as bwg_classes_explain() puts it */
	uint8_t end_reason;    /* enum bwg_flow_end */
	/* What this flow's earlier periodic records reported: a record's deltas are the
	 * totals above less these. */
	uint64_t prior_pkts[2];
	uint64_t prior_bytes[2];
	uint64_t prior_dropped;
};

struct bwg_event {
	uint8_t type;
	struct bwg_flow_view flow;
};

/* Single-producer single-consumer ring of events, fixed size. */
struct bwg_event_ring {
	_Alignas(64) _Atomic uint32_t head; /* written by the producer */
	_Alignas(64) _Atomic uint32_t tail; /* written by the consumer */
	_Alignas(64) uint32_t mask;
	struct bwg_event *slots;
};

/* size is rounded up to a power of two. Returns 0 or -ENOMEM. */
int bwg_event_ring_init(struct bwg_event_ring *r, uint32_t size);
void bwg_event_ring_fini(struct bwg_event_ring *r);

/* Producer: a slot to fill, or NULL when full; then publish it. */
static inline struct bwg_event *
bwg_event_ring_reserve(struct bwg_event_ring *r)
{
	uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (h - t > r->mask)
		return NULL;
	return &r->slots[h & r->mask];
}

static inline void
bwg_event_ring_publish(struct bwg_event_ring *r)
{
	uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
}

/* Consumer: the oldest event or NULL; release it with bwg_event_ring_pop. */
static inline const struct bwg_event *
bwg_event_ring_peek(struct bwg_event_ring *r)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	if (t == h)
		return NULL;
	return &r->slots[t & r->mask];
}

static inline void
bwg_event_ring_pop(struct bwg_event_ring *r)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
}

/*
 * Flags every JSON writer passes to json_dump*(): times are reals with microseconds,
 * and a Unix time in microseconds needs 16 significant digits (jansson's default, 17,
 * prints the binary double's noise: 1764036000.0000031).
 */
#define BWG_JSON_REAL_FLAGS JSON_REAL_PRECISION(16)

/* "TCP", "UDP", "ICMP", "ICMPV6", "IGMP", else the number. Returns buf. */
const char *bwg_log_proto_name(uint8_t proto, char *buf, size_t len);

/* Address text: dotted quad, or IPv6 with the longest zero run (even one group) as "::". */
const char *bwg_log_format_ip(uint8_t family, const uint8_t *addr, char *buf, size_t len);

/* DESIGN.md's flow record, with "end_reason" when it has one. Pure. */
json_t *bwg_log_flow_json(const struct bwg_flow_view *v);

/* An audit event: {"event", "time", ...flow record fields}. Pure. */
json_t *bwg_log_event_json(const struct bwg_event *e);

/* ---- reading the audit log back (logread.c) ------------------------------------- */

/* The string fields of an event a reader keeps; "time" is kept apart, as a number. */
enum bwg_logf {
	BWG_LOGF_EVENT,
	BWG_LOGF_SRC_IP,
	BWG_LOGF_DST_IP,
	BWG_LOGF_APP,
	BWG_LOGF_CLASS,
	BWG_LOGF_HOST,
	BWG_LOGF_UNIT,
	BWG_LOGF_RULE,
	BWG_LOGF_STR_MAX,
	BWG_LOGF_TIME = BWG_LOGF_STR_MAX, /* a bit in `present` only */
};

#define BWG_LOG_FIELD_MAX 256 /* bytes of a kept string, decoded, with its NUL */

struct bwg_log_line {
	uint32_t present; /* bit (1 << BWG_LOGF_x) for each kept field found, of its type */
	int64_t time_us;  /* "time" in Unix microseconds, when present */
	uint16_t len[BWG_LOGF_STR_MAX];
	char str[BWG_LOGF_STR_MAX][BWG_LOG_FIELD_MAX]; /* decoded, valid UTF-8, no NUL */
};

/*
 * Read one line of the audit log (without its newline; surrounding whitespace is
 * allowed): it must be exactly one JSON object. Kept fields of the right type set
 * their bit in l->present — a string for the strings, a number from 0 to 2100 for
 * "time" — others count as absent; unknown keys and nested values are checked and
 * skipped. Returns 0; -EINVAL when the line is not one JSON object (cut short, bad
 * escape or UTF-8, trailing bytes, nesting deeper than 32, a kept string holding
 * "\u0000"); -E2BIG when a kept string does not fit BWG_LOG_FIELD_MAX. Reads only
 * line[0 .. len), allocates nothing.
 */
int bwg_log_line_parse(struct bwg_log_line *l, const char *line, size_t len);

#endif
