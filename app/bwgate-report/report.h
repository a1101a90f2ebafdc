/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_REPORT_H
#define BWG_REPORT_H

/*
 * bwgate-report's parts: input.c reads the audit log's files into lines, tally.c counts
 * each event into bounded keyed tables, view.c sorts what was counted into what a
 * report shows, table.c lays one table out as text, CSV or HTML, tables.c builds the
 * report's tables and writes the text and CSV reports, json.c and html.c the others.
 * One thread; what a run counts lives in one struct rpt.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bwg_config.h"
#include "bwg_log.h"
#include "bwg_policy.h"

#define RPT_CLASS_MAX 40  /* class slots: the config's, names only the log has, "other" */
#define RPT_UNIT_MAX 1024 /* units: the config's, names only the log has, "other" */
#define RPT_APP_MAX 4096
#define RPT_BUCKET_MAX 4000 /* chart buckets: 10 years of days */
#define RPT_LINE_MAX 65536  /* longer lines are skipped */

#define RPT_USERS_DEFAULT 262144
#define RPT_HOSTS_DEFAULT 65536
#define RPT_PAIRS_MAX (1u << 21) /* (user or unit, host or app) counters */

enum rpt_format { RPT_TEXT, RPT_CSV, RPT_JSON, RPT_HTML };
enum rpt_csv_table { RPT_CSV_USERS, RPT_CSV_UNITS, RPT_CSV_HOSTS };

/* Why a line was skipped. */
enum rpt_skip {
	RPT_SKIP_NOT_JSON, /* not one JSON object: corrupt, cut short, two run together, blank */
	RPT_SKIP_TOO_LONG, /* a line or a kept field longer than the reader takes */
	RPT_SKIP_FIELDS,   /* no event; a block or limit without time, src_ip, dst_ip (class) */
	RPT_SKIP_ADDRESS,  /* src_ip or dst_ip not an address, or not of one family */
	RPT_SKIP_MAX,
};
extern const char *const rpt_skip_names[RPT_SKIP_MAX]; /* for readers */
extern const char *const rpt_skip_keys[RPT_SKIP_MAX];  /* JSON keys */

/* ---- strings interned under the secret hash, bounded ---------------------------- */

struct rpt_strtab {
	char **names;     /* id -> name (owned) */
	uint64_t *hashes; /* id -> hash */
	uint32_t *slots;  /* open addressing: id + 1, 0 empty */
	uint32_t n, max, slot_mask;
};

int rpt_strtab_init(struct rpt_strtab *t, uint32_t max);
void rpt_strtab_fini(struct rpt_strtab *t);
/* The id of name[0 .. len), added if new. -1 when the table is full, -ENOMEM. */
int64_t rpt_strtab_get(struct rpt_strtab *t, const char *name, size_t len, bool add);

/* ---- counters --------------------------------------------------------------------- */

/* What every event touches first, so that a user's key and these share a cache line. */
struct rpt_counts {
	uint64_t blocked; /* block events: attempts (flows) */
	uint64_t limited; /* limit events: flows held to a rate */
	int64_t first_us, last_us;        /* blocked attempts; first > last: none */
	uint64_t other_hosts, other_apps; /* attempts counted without their host or app */
	uint32_t by_class[RPT_CLASS_MAX]; /* blocked attempts by class id */
};

struct rpt_user {
	uint8_t family;
	uint8_t addr[16];
	uint16_t unit;
	bool plan_differs; /* the current plan puts this address in another unit */
	struct rpt_counts c;
};

struct rpt_unit {
	struct rpt_counts c;
	uint32_t users;
	uint64_t untracked; /* events of users past the users bound */
};

struct rpt_host {
	uint64_t attempts;
	uint32_t users;      /* distinct users seen trying it (a lower bound past bounds) */
	uint16_t cls;        /* class of the first attempt */
};

/* A (user or unit) x (host or app) counter, key packed by pair_key(). */
struct rpt_pair {
	uint64_t key;
	uint64_t count;
};

struct rpt_bucket {
	uint32_t blocked[RPT_CLASS_MAX];
	uint32_t limited;
};

struct rpt_period {
	int64_t from, to; /* Unix seconds, [from, to); INT64_MIN / INT64_MAX unbounded */
	char label[96];   /* "day 2025-11-24", "week of 2025-11-24", "range", "all events" */
};

struct rpt_source {
	char *path;
	uint64_t lines, bytes;
	bool gz;
	bool skipped_by_name; /* rotated before or after the period: not read */
	char problem[160];    /* cut short, corrupt stream: what was read is kept */
};

struct rpt {
	/* set-up */
	struct bwg_config *conf;
	struct bwg_prefix *prefixes;
	uint32_t n_prefixes;
	struct bwg_tz_span *tz;
	uint32_t n_tz;
	struct rpt_period period;
	const char *unit_filter; /* NULL: all */
	bool user_filter;
	struct bwg_cidr user_cidr;
	uint32_t top;
	uint32_t show_users; /* users listed, worst first (UINT32_MAX: all) */
	uint32_t max_users;
	int64_t generated; /* Unix seconds */
	bool hourly;       /* chart buckets are hours (periods up to two days), else days */
	bool hourly_auto;  /* no fixed period: hours until the events span two days */

	/* what was read */
	struct rpt_source *sources;
	uint32_t n_sources;
	uint64_t lines;
	uint64_t skipped[RPT_SKIP_MAX];
	uint64_t outside;    /* block/limit events outside the period */
	uint64_t filtered;   /* block/limit events of other units or users */
	uint64_t flow_end;   /* flow-end records: not attempts */
	uint64_t other_events;
	uint64_t plan_differs; /* events whose unit differs from the current plan's */
	int64_t seen_first_us, seen_last_us; /* events counted */

	/* tables */
	struct rpt_strtab classes, units, hosts, apps;
	uint32_t n_config_classes, n_config_units;
	int other_class, other_unit, other_app; /* ids of the catch-all rows, -1 none yet */
	struct rpt_unit *unit_v; /* by unit id */
	struct rpt_user *users;
	uint32_t n_users, users_cap;
	uint64_t *user_slots; /* open addressing: hash tag and index + 1 (tally.c) */
	uint32_t user_slot_mask;
	uint64_t users_untracked; /* events of users past the bound */
	struct rpt_host *host_v;  /* by host id */
	uint64_t hosts_untracked; /* attempts at hosts past the bound */
	struct rpt_pair *pairs;
	uint32_t n_pairs, pair_slot_mask;
	uint64_t pairs_untracked;
	struct rpt_bucket *buckets;
	int64_t bucket0; /* local bucket number of buckets[0] */
	uint32_t n_buckets;
	uint64_t buckets_untracked;
	struct rpt_counts total;
};

/* ---- input.c ------------------------------------------------------------------------ */

/*
 * Add what `arg` names: a file as it is, or a folder's audit-log files (names starting
 * with `prefix`), those whose rotation date lies outside r->period marked not to read.
 * Returns 0, or -1 with the fault (naming the file) in err.
 */
int rpt_sources_add(struct rpt *r, const char *arg, const char *prefix, char *err,
		    size_t errlen);
/* Read every source into rpt_tally_line(). 0, or -1 with the fault in err. */
int rpt_sources_read(struct rpt *r, char *err, size_t errlen);

/* ---- tally.c ------------------------------------------------------------------------ */

/* Tables sized for the config (classes and units first, in its order). 0 or -ENOMEM. */
int rpt_tally_init(struct rpt *r, uint32_t max_hosts);
void rpt_tally_fini(struct rpt *r);
/* One line of the audit log. Returns 0, or -ENOMEM (the report cannot go on). */
int rpt_tally_line(struct rpt *r, const char *line, size_t len);

/* Pair keys: owner (user index or unit id) and item (host or app id). */
enum rpt_owner { RPT_OWNER_USER, RPT_OWNER_UNIT };
enum rpt_item { RPT_ITEM_HOST, RPT_ITEM_APP };
static inline uint64_t
rpt_pair_key(enum rpt_owner ok, uint32_t owner, enum rpt_item ik, uint32_t item)
{
	return (uint64_t)ok << 63 | (uint64_t)ik << 62 | (uint64_t)(owner & 0x3fffffff) << 32 |
	       item;
}

/* Local time of Unix microseconds t, split. */
struct rpt_tm {
	int year, month, day, hour, min, sec;
	int32_t offset; /* seconds east of UTC */
};
void rpt_localtime(const struct rpt *r, int64_t t_sec, struct rpt_tm *tm);
/* "2025-11-24 08:01" (minutes), "2025-11-24 08:01:02" (seconds) or ISO 8601 with the
 * offset ("2025-11-24T08:01:02+08:00"); "-" for none (first > last). */
enum rpt_time_style { RPT_TIME_MIN, RPT_TIME_SEC, RPT_TIME_ISO };
const char *rpt_time(const struct rpt *r, int64_t t_us, enum rpt_time_style s, char *buf,
		     size_t len);
/* Local start of a bucket (Unix seconds). */
int64_t rpt_bucket_start(const struct rpt *r, int64_t bucket);

/* ---- view.c: what the report shows, sorted ------------------------------------------ */

struct rpt_item_count {
	uint32_t id;
	uint64_t count;
};

/* A unit's or a user's hosts and apps, most tried first, at most `top` of each. */
struct rpt_items {
	struct rpt_item_count *hosts, *apps;
	uint32_t n_hosts, n_apps;
	uint64_t more_hosts, more_apps; /* attempts at hosts/apps beyond the top */
	uint32_t distinct_hosts, distinct_apps;
};

struct rpt_view {
	uint32_t *units; /* unit ids with events, worst first */
	uint32_t n_units;
	uint32_t *users; /* user indexes, worst first, at most r->show_users */
	uint32_t n_users, n_users_all;
	struct rpt_items *unit_items; /* by unit id */
	struct rpt_items *user_items; /* by user index */
	uint32_t n_unit_items, n_user_items;
	struct rpt_item_count *top_hosts; /* all units */
	uint32_t n_top_hosts;
	uint32_t classes[RPT_CLASS_MAX]; /* class ids with blocked attempts, config order */
	uint32_t n_classes;
	uint32_t all_classes[RPT_CLASS_MAX]; /* every class id, config order (CSV columns) */
	uint32_t n_all_classes;
};

int rpt_view_build(struct rpt_view *v, const struct rpt *r);
void rpt_view_fini(struct rpt_view *v);
/* Name of unit id u for a reader: "(no unit)" for the gate's "". */
const char *rpt_unit_name(const struct rpt *r, uint32_t u);
const char *rpt_user_addr(const struct rpt_user *u, char *buf, size_t len);
uint64_t rpt_skipped_total(const struct rpt *r);

/* ---- table.c: one table, three layouts ---------------------------------------------- */

#define RPT_COL_MAX 48

enum rpt_col {
	RPT_COL_KEY,  /* a unit, a user, a time: never broken across lines */
	RPT_COL_TEXT, /* a host name: broken anywhere if it must */
	RPT_COL_NUM,  /* right-aligned */
	RPT_COL_LIST, /* "name (n), name (n)": wrapped between items */
};

struct rpt_table {
	enum rpt_format fmt;
	const char *title;
	uint32_t n_cols, n_rows, cap;
	uint32_t filled; /* cells of the last row so far */
	const char *head[RPT_COL_MAX];
	enum rpt_col kind[RPT_COL_MAX];
	char **cells;            /* n_rows x n_cols, escaped for fmt */
	bool *strong;            /* rows to stress (totals) */
};

void rpt_table_init(struct rpt_table *t, enum rpt_format fmt, const char *title);
void rpt_table_col(struct rpt_table *t, const char *head, enum rpt_col kind);
/* Start a row; then exactly n_cols cells. */
int rpt_table_row(struct rpt_table *t, bool strong);
int rpt_cell_text(struct rpt_table *t, const char *raw);  /* from the log or config */
int rpt_cell_num(struct rpt_table *t, uint64_t n);
/* "name 12, name 3, +4 more (9)": list cells, wrapped to `width` in text. */
int rpt_cell_items(struct rpt_table *t, const struct rpt *r, const struct rpt_item_count *v,
		   uint32_t n, uint64_t more, uint32_t n_more, enum rpt_item kind, size_t width);
void rpt_table_write(const struct rpt_table *t, FILE *f);
void rpt_table_fini(struct rpt_table *t);

/* Thousands grouped with commas (group) or plain digits. Returns buf. */
const char *rpt_num_text(uint64_t n, bool group, char *buf, size_t len);
/* Text for a terminal: bytes outside printable ASCII as \xNN. Returns buf. */
const char *rpt_text_safe(const char *s, char *buf, size_t len);
/* HTML text and attribute values: & < > " ' escaped. */
void rpt_html_escape(FILE *f, const char *s);

/* ---- tables.c: the report's tables, for text and HTML (t->fmt set by the caller) ---- */

/* Per unit (users false, with an "all units" total) or per user: blocked attempts and
 * limited flows with first and last attempt; blocked attempts by class. */
void rpt_table_counts(struct rpt_table *t, const struct rpt *r, const struct rpt_view *v,
		      bool users);
void rpt_table_classes(struct rpt_table *t, const struct rpt *r, const struct rpt_view *v,
		       bool users);
/* The hosts and apps tried; these two write their title into title[len]. */
void rpt_table_items(struct rpt_table *t, const struct rpt *r, const struct rpt_view *v,
		     bool users, char *title, size_t len);
void rpt_table_top_hosts(struct rpt_table *t, const struct rpt *r, const struct rpt_view *v,
			 char *title, size_t len);
/* The footer: what was read, skipped and not kept, as (label, text) lines. */
void rpt_footer_lines(const struct rpt *r, const struct rpt_view *v,
		      void (*line)(void *, const char *, const char *), void *arg);
/* "1,234 lines, gzip; compressed stream cut short", or why the file was not read. */
void rpt_source_text(const struct rpt_source *s, char *buf, size_t len);

/* ---- report writers ---------------------------------------------------------------- */

int rpt_write_text(const struct rpt *r, const struct rpt_view *v, FILE *f);
int rpt_write_csv(const struct rpt *r, const struct rpt_view *v, enum rpt_csv_table which,
		  FILE *f);
int rpt_write_json(const struct rpt *r, const struct rpt_view *v, FILE *f);
int rpt_write_html(const struct rpt *r, const struct rpt_view *v, FILE *f);

/* The period's first line: "2025-11-24 00:00 to 2025-12-01 00:00 Asia/Shanghai (UTC+08:00)". */
const char *rpt_period_text(const struct rpt *r, char *buf, size_t len);

#endif
