/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_POLICY_H
#define BWG_POLICY_H

/*
 * The policy in force: a validated config compiled into lookup tables.
 *
 * Compiled by the control thread (bwg_policy_compile), then read-only: workers hold a
 * pointer and evaluate a flow's class, unit and rule once when its classification or the
 * policy changes, never per packet. Replacing the policy is a pointer swap; the old one
 * is freed when no worker can still see it.
 */

#include <stdbool.h>
#include <stdint.h>

#include "bwg_classify.h"
#include "bwg_config.h"
#include "bwg_dpi.h"
#include "bwg_hostset.h"
#include "bwg_meter.h"

#define BWG_UNIT_NONE 0

struct bwg_prefix {
	uint8_t family;
	uint8_t len;
	uint16_t unit;
	uint8_t addr[16];
};

/* A block rule's notice: the whole HTTP answer (status line, headers, page). */
#define BWG_NOTICE_MAX 1440
struct bwg_notice {
	char *text; /* NULL: the rule has no notice */
	uint32_t len;
};

struct bwg_rule {
	const struct bwg_conf_rule *conf; /* names, limit parameters */
	uint64_t units[4];                /* bitmap of unit ids, when match_units */
	uint32_t classes;                 /* bitmask of class ids, when match_classes */
	uint16_t *apps;                   /* nDPI ids */
	uint32_t n_apps;
	struct bwg_hostset hosts;
	int schedule; /* -1: always */
	bool match_units, match_classes, match_hosts;
	enum bwg_action action;
	bool log;
	struct bwg_notice notice; /* owned */
};

/* From `from` (Unix seconds) on, local time is UTC + offset seconds. */
struct bwg_tz_span {
	int64_t from;
	int32_t offset;
};

struct bwg_policy {
	uint32_t version;
	struct bwg_config *conf; /* owned */
	uint64_t loaded_at;      /* unix seconds */

	struct bwg_classes classes; /* what decides a flow's class (lib/classify) */

	struct bwg_prefix *prefixes; /* longest first */
	uint32_t n_prefixes;

	struct bwg_rule *rules; /* n_rules + 1: the last is the default */
	uint32_t n_rules;
	struct bwg_conf_rule default_rule;
	/* [n_rules + 1]: each limit rule's bucket pair, which every worker running this
	 * policy charges (aggregate scope, and per-host flows that found no bucket of their
	 * own). The one part of a policy that workers write (atomically); a new policy
	 * starts them full. A line each: workers charging two rules do not share one. */
	struct bwg_rule_meter {
		struct bwg_meter_shared m;
	} __attribute__((aligned(64))) * rule_meters;

	/* The config's time zone as UTC offsets (DST changes included), resolved at compile
	 * time so evaluation never touches the process-wide TZ or glibc's zone lock. */
	struct bwg_tz_span *tz;
	uint32_t n_tz;

	const char *class_names[BWG_CLASS_MAX];
	uint32_t n_classes;
	const char *unit_names[BWG_UNIT_MAX + 1]; /* [0] = "" */
	uint32_t n_units;                         /* including [0] */
	/* Concurrent flows a client of each unit may open ([0]: clients in no unit), per
	 * gate; 0: no cap. Each of the config's N workers enforces its share (see worker). */
	uint32_t host_flows_max[BWG_UNIT_MAX + 1];
	bool host_flows_capped; /* any of them is not 0 */

	/* Where workers count each class and unit (struct bwg_stats): ids are numbered per
	 * policy, counters belong to names. The identity when compiled; the appliance's
	 * control thread rebinds them to slots kept by name across replacements
	 * (bwg_stats_slots_bind) before it publishes the policy. */
	uint16_t class_slot[BWG_CLASS_MAX];
	uint16_t unit_slot[BWG_UNIT_MAX + 1];
};

/*
 * Compile `conf` (ownership passes to the policy, also on failure) against the names
 * `dpi` knows. Errors name the JSON path: `classes.p2p.apps[1]: "Bittorent" is not an
 * nDPI 4.2 application`. Returns 0 or -errno.
 */
int bwg_policy_compile(struct bwg_policy **out, struct bwg_config *conf,
		       const struct bwg_dpi *dpi, uint32_t version, char *err, size_t errlen);
void bwg_policy_free(struct bwg_policy *p);

/* Unit of a flow: the longest prefix holding the client, else the server; 0 if none. */
uint16_t bwg_policy_unit(const struct bwg_policy *p, uint8_t family, const uint8_t *client,
			 const uint8_t *server);
/*
 * The inside end of a flow (0: client, 1: server): the one in a unit's address plan.
 * When the units do not tell (neither end is in one, or both are), the client, and
 * *either (may be NULL) says the other end may be the inside host as well.
 */
int bwg_policy_inside(const struct bwg_policy *p, uint8_t family, const uint8_t *client,
		      const uint8_t *server, bool *either);

/* First rule that matches; n_rules means the default. sched_mask: active schedules. */
uint16_t bwg_policy_match(const struct bwg_policy *p, uint8_t cls, uint16_t unit,
			  uint16_t master, uint16_t app, const char *host, uint32_t sched_mask);

/*
 * Which schedules are active at unix time `now_ns`, in the policy's time zone. Sets
 * *next_ns to the start of the next minute, when the answer may change.
 */
uint32_t bwg_policy_schedules_active(const struct bwg_policy *p, uint64_t now_ns,
				     uint64_t *next_ns);

/*
 * The address plan and the time zone on their own, for tools that read the config but
 * enforce nothing (bwgate-report): the policy is built from the same functions.
 */

/* The units' prefixes, longest first, into *out (free()). Returns 0 or -ENOMEM. */
int bwg_prefixes_build(const struct bwg_config *c, struct bwg_prefix **out, uint32_t *n);

/* Unit (1-based, as in c->units[unit - 1]) of the longest prefix holding `addr`, or
 * BWG_UNIT_NONE. */
uint16_t bwg_prefixes_find(const struct bwg_prefix *px, uint32_t n, uint8_t family,
			   const uint8_t *addr);

/*
 * The IANA zone `zone` (checked by the config) as UTC offsets from 1970 to 2100, into
 * *out (free()); spans are in time order and the first starts at INT64_MIN. Touches the
 * process-wide TZ during the call: control thread only. Returns 0 or -ENOMEM.
 */
int bwg_tz_build(const char *zone, struct bwg_tz_span **out, uint32_t *n);

/* Seconds to add to Unix time t for local time. */
int32_t bwg_tz_offset(const struct bwg_tz_span *tz, uint32_t n, int64_t t);

/*
 * Unix time of local time `local` (seconds since 1970-01-01 00:00 local). A local time
 * that happened twice (clocks set back) is the earlier instant; one that never happened
 * (clocks set forward) is the instant of the change.
 */
int64_t bwg_tz_to_utc(const struct bwg_tz_span *tz, uint32_t n, int64_t local);

/* Days since 1970-01-01 of a date of the proleptic Gregorian calendar, and back. */
int64_t bwg_days_from_civil(int year, int month, int day);
void bwg_civil_from_days(int64_t days, int *year, int *month, int *day);

/* Name of rule i (n_rules: "default"). */
static inline const char *
bwg_policy_rule_name(const struct bwg_policy *p, uint16_t i)
{
	return p->rules[i].conf->name;
}

#endif
