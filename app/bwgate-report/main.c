/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bwgate-report: violations per unit and per user, from the gate's audit log.
 *
 *   bwgate-report -c CONFIG.json [--day DATE | --week DATE | --month YYYY-MM |
 *                 --from DATE[THH:MM] [--to DATE[THH:MM]]] [--unit NAME]
 *                 [--user ADDR[/LEN]] [--format text|csv|json|html]
 *                 [--table users|units|hosts] [--top N] [-o OUT] [FILE|DIR...]
 *
 * Reads block and limit events from the audit log and its rotations (plain or gzip;
 * with no FILE, the folder of the config's events.file) and counts, for the period in
 * the config's time zone, blocked attempts by class, limited flows, the forbidden hosts
 * and apps tried and the first and last attempt, per unit and per user. The config
 * gives the time zone and the address plan (which end of a flow is the inside user);
 * nothing else of it is used, so no DPI engine is started.
 *
 * One thread: read (input.c) -> count (tally.c) -> sort (view.c) -> write. A corrupt,
 * cut-short or foreign line is counted and skipped, never fatal; every table is
 * bounded (report.h).
 *
 * Exit status: 0 done, 1 a file could not be read or the report written, 2 bad usage
 * or config.
 */

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bwg_hash.h"
#include "report.h"

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: bwgate-report -c CONFIG.json [PERIOD] [--unit NAME] [--user ADDR[/LEN]]\n"
		"                     [--format text|csv|json|html] [--table users|units|hosts]\n"
		"                     [--top N] [--users N] [--max-users N] [--max-hosts N]\n"
		"                     [-o OUT] [FILE|DIR...]\n"
		"PERIOD, in the config's time zone (default: every event in the files):\n"
		"  --day DATE          that day; DATE is YYYY-MM-DD, today or yesterday\n"
		"  --week DATE         the week (Monday 00:00 to Monday 00:00) holding DATE\n"
		"  --month YYYY-MM     that calendar month\n"
		"  --from DATE[THH:MM] --to DATE[THH:MM]\n"
		"                      from that moment to that moment; a --to without a time\n"
		"                      takes in the whole of that day; either may be left out\n"
		"FILE: events.jsonl or a rotation of it, plain or gzip; DIR: a folder holding the\n"
		"log and its rotations. Without FILE, the folder of the config's events.file.\n"
		"--unit keeps the events the gate gave that unit (\"\" for no unit); --user the\n"
		"users in a prefix. --top N: hosts and apps listed per unit and user (default\n"
		"10; 0: all). --users N: list only the N users with the most blocked attempts.\n"
		"--max-users and --max-hosts bound the tables (default 262144 and 65536): past\n"
		"them events still count in their unit, and the footer says how many.\n"
		"--table picks the CSV report's one table (default users).\n"
		"Exit status: 0 done, 1 a file could not be read or written, 2 bad usage or config.\n");
}

/* "2025-11-24" -> days since 1970; "today" and "yesterday" in the config's zone. */
static int
parse_date(const struct rpt *r, const char *s, int64_t *days)
{
	if (strcmp(s, "today") == 0 || strcmp(s, "yesterday") == 0) {
		struct rpt_tm tm;
		rpt_localtime(r, r->generated, &tm);
		*days = bwg_days_from_civil(tm.year, tm.month, tm.day) - (s[0] == 'y');
		return 0;
	}
	int y, m, d, n = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || m < 1 || m > 12 ||
	    d < 1 || d > 31)
		return -1;
	int64_t days_ = bwg_days_from_civil(y, m, d);
	int yy, mm, dd;
	bwg_civil_from_days(days_, &yy, &mm, &dd);
	if (dd != d) /* 2025-02-30 */
		return -1;
	*days = days_;
	return 0;
}

/* DATE or DATETHH:MM (or "DATE HH:MM") as local seconds; *has_time says which. */
static int
parse_moment(const struct rpt *r, const char *s, int64_t *local, bool *has_time)
{
	char date[16];
	const char *t = NULL;
	size_t n = strcspn(s, "T ");
	if (n >= sizeof(date))
		return -1;
	memcpy(date, s, n);
	date[n] = 0;
	if (s[n])
		t = s + n + 1;
	int64_t days;
	if (parse_date(r, date, &days) < 0)
		return -1;
	int hh = 0, mm = 0, k = 0;
	if (t && (sscanf(t, "%2d:%2d%n", &hh, &mm, &k) != 2 || t[k] || hh > 24 || mm > 59 ||
		  (hh == 24 && mm)))
		return -1;
	*local = days * 86400 + hh * 3600 + mm * 60;
	*has_time = t != NULL;
	return 0;
}

static void
day_text(int64_t days, char *buf, size_t len)
{
	int y, m, d;
	bwg_civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
}

struct period_opts {
	const char *day, *week, *month, *from, *to;
};

static int
set_period(struct rpt *r, const struct period_opts *o, char *err, size_t errlen)
{
	struct rpt_period *p = &r->period;
	p->from = INT64_MIN;
	p->to = INT64_MAX;
	int n = !!o->day + !!o->week + !!o->month + !!(o->from || o->to);
	if (n > 1) {
		snprintf(err, errlen, "give one period: --day, --week, --month or --from/--to");
		return -1;
	}
	char a[16];
	int64_t days;
	if (o->day || o->week) {
		const char *s = o->day ? o->day : o->week;
		if (parse_date(r, s, &days) < 0) {
			snprintf(err, errlen, "--%s %s: not a date (YYYY-MM-DD, today or yesterday)",
				 o->day ? "day" : "week", s);
			return -1;
		}
		int64_t len = 1;
		if (o->week) {
			days -= ((days + 3) % 7 + 7) % 7; /* 1970-01-01 was a Thursday */
			len = 7;
		}
		day_text(days, a, sizeof(a));
		snprintf(p->label, sizeof(p->label), "%s %s", o->day ? "day" : "week of", a);
		p->from = bwg_tz_to_utc(r->tz, r->n_tz, days * 86400);
		p->to = bwg_tz_to_utc(r->tz, r->n_tz, (days + len) * 86400);
	} else if (o->month) {
		int y, m, k = 0;
		if (sscanf(o->month, "%4d-%2d%n", &y, &m, &k) != 2 || k != 7 || o->month[k] ||
		    m < 1 || m > 12) {
			snprintf(err, errlen, "--month %s: not a month (YYYY-MM)", o->month);
			return -1;
		}
		snprintf(p->label, sizeof(p->label), "month %04d-%02d", y, m);
		p->from = bwg_tz_to_utc(r->tz, r->n_tz, bwg_days_from_civil(y, m, 1) * 86400);
		p->to = bwg_tz_to_utc(r->tz, r->n_tz,
				      bwg_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) *
					      86400);
	} else if (o->from || o->to) {
		int64_t local;
		bool has_time;
		if (o->from) {
			if (parse_moment(r, o->from, &local, &has_time) < 0) {
				snprintf(err, errlen, "--from %s: not a date or time "
					 "(YYYY-MM-DD or YYYY-MM-DDTHH:MM)", o->from);
				return -1;
			}
			p->from = bwg_tz_to_utc(r->tz, r->n_tz, local);
		}
		if (o->to) {
			if (parse_moment(r, o->to, &local, &has_time) < 0) {
				snprintf(err, errlen, "--to %s: not a date or time "
					 "(YYYY-MM-DD or YYYY-MM-DDTHH:MM)", o->to);
				return -1;
			}
			p->to = bwg_tz_to_utc(r->tz, r->n_tz, has_time ? local : local + 86400);
		}
		if (p->from >= p->to) {
			snprintf(err, errlen, "--from %s is not before --to %s", o->from, o->to);
			return -1;
		}
		snprintf(p->label, sizeof(p->label), "range");
	} else {
		snprintf(p->label, sizeof(p->label), "all events in the files");
	}
	/* Charts by the hour for a day or two, by the day beyond; with no fixed period, by
	 * the hour until the events span more than two days. */
	r->hourly_auto = p->from == INT64_MIN || p->to == INT64_MAX;
	r->hourly = r->hourly_auto || p->to - p->from <= 2 * 86400;
	return 0;
}

static int
parse_count(const char *opt, const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *e;
	errno = 0;
	unsigned long v = strtoul(s, &e, 10);
	if (errno || e == s || *e || s[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "bwgate-report: %s %s: give a whole number from %u to %u\n", opt, s,
			lo, hi);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int64_t
now(void)
{
	/* Reproducible reports (tests, archives): the generation time may be fixed. */
	const char *e = getenv("SOURCE_DATE_EPOCH");
	if (e && *e) {
		char *end;
		long long v = strtoll(e, &end, 10);
		if (!*end && v >= 0)
			return v;
	}
	return (int64_t)time(NULL);
}

/* The audit log's name, as logrotate rotates it: the config's events.file, or the
 * default. */
static const char *
log_prefix(const struct bwg_config *c, char *buf, size_t len)
{
	if (!c->events_file)
		return "events.jsonl";
	snprintf(buf, len, "%s", c->events_file);
	return basename(buf);
}

enum {
	OPT_DAY = 256, OPT_WEEK, OPT_MONTH, OPT_FROM, OPT_TO, OPT_UNIT, OPT_USER, OPT_FORMAT,
	OPT_TABLE, OPT_TOP, OPT_USERS, OPT_MAX_USERS, OPT_MAX_HOSTS,
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"day", required_argument, NULL, OPT_DAY},
		{"week", required_argument, NULL, OPT_WEEK},
		{"month", required_argument, NULL, OPT_MONTH},
		{"from", required_argument, NULL, OPT_FROM},
		{"to", required_argument, NULL, OPT_TO},
		{"unit", required_argument, NULL, OPT_UNIT},
		{"user", required_argument, NULL, OPT_USER},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"table", required_argument, NULL, OPT_TABLE},
		{"top", required_argument, NULL, OPT_TOP},
		{"users", required_argument, NULL, OPT_USERS},
		{"max-users", required_argument, NULL, OPT_MAX_USERS},
		{"max-hosts", required_argument, NULL, OPT_MAX_HOSTS},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *out_path = NULL, *user = NULL, *unit = NULL;
	struct period_opts po = {0};
	enum rpt_format fmt = RPT_TEXT;
	enum rpt_csv_table table = RPT_CSV_USERS;
	uint32_t top = 10, show_users = 0, max_users = RPT_USERS_DEFAULT, max_hosts = RPT_HOSTS_DEFAULT;
	int opt;
	while ((opt = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'o': out_path = optarg; break;
		case OPT_DAY: po.day = optarg; break;
		case OPT_WEEK: po.week = optarg; break;
		case OPT_MONTH: po.month = optarg; break;
		case OPT_FROM: po.from = optarg; break;
		case OPT_TO: po.to = optarg; break;
		case OPT_UNIT: unit = optarg; break;
		case OPT_USER: user = optarg; break;
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0)
				fmt = RPT_TEXT;
			else if (strcmp(optarg, "csv") == 0)
				fmt = RPT_CSV;
			else if (strcmp(optarg, "json") == 0)
				fmt = RPT_JSON;
			else if (strcmp(optarg, "html") == 0)
				fmt = RPT_HTML;
			else {
				fprintf(stderr, "bwgate-report: --format %s: use text, csv, json or "
					"html\n", optarg);
				return 2;
			}
			break;
		case OPT_TABLE:
			if (strcmp(optarg, "users") == 0)
				table = RPT_CSV_USERS;
			else if (strcmp(optarg, "units") == 0)
				table = RPT_CSV_UNITS;
			else if (strcmp(optarg, "hosts") == 0)
				table = RPT_CSV_HOSTS;
			else {
				fprintf(stderr, "bwgate-report: --table %s: use users, units or "
					"hosts\n", optarg);
				return 2;
			}
			break;
		case OPT_TOP:
			if (parse_count("--top", optarg, 0, 100000, &top) < 0)
				return 2;
			break;
		case OPT_USERS:
			if (parse_count("--users", optarg, 0, 1u << 24, &show_users) < 0)
				return 2;
			break;
		case OPT_MAX_USERS:
			if (parse_count("--max-users", optarg, 1, 1u << 24, &max_users) < 0)
				return 2;
			break;
		case OPT_MAX_HOSTS:
			if (parse_count("--max-hosts", optarg, 1, 1u << 22, &max_hosts) < 0)
				return 2;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config) {
		usage(stderr);
		return 2;
	}

	static struct rpt r;
	char err[BWG_CONFIG_ERR_MAX + 256];
	if (bwg_config_load(&r.conf, config, err, sizeof(err)) < 0) {
		fprintf(stderr, "bwgate-report: %s\n", err);
		return 2;
	}
	int status = 2;
	FILE *out = NULL;
	struct rpt_view view = {0};
	r.top = top ? top : UINT32_MAX;
	r.show_users = show_users ? show_users : UINT32_MAX;
	r.max_users = max_users;
	r.unit_filter = unit;
	r.generated = now();
	if (bwg_tz_build(r.conf->timezone, &r.tz, &r.n_tz) < 0 ||
	    bwg_prefixes_build(r.conf, &r.prefixes, &r.n_prefixes) < 0) {
		fprintf(stderr, "bwgate-report: out of memory\n");
		status = 1;
		goto done;
	}
	if (set_period(&r, &po, err, sizeof(err)) < 0) {
		fprintf(stderr, "bwgate-report: %s\n", err);
		goto done;
	}
	if (user) {
		if (bwg_config_parse_cidr(user, &r.user_cidr, err, sizeof(err)) < 0) {
			fprintf(stderr, "bwgate-report: --user: %s\n", err);
			goto done;
		}
		r.user_filter = true;
	}
	if (unit && unit[0]) {
		const char **names = calloc(r.conf->n_units + 1, sizeof(*names));
		bool known = false;
		for (uint32_t u = 0; names && u < r.conf->n_units; u++) {
			names[u] = r.conf->units[u].name;
			known |= strcmp(names[u], unit) == 0;
		}
		char near[256], hint[300] = "";
		if (!known && names &&
		    bwg_config_suggest(unit, names, r.conf->n_units, near, sizeof(near)) > 0)
			snprintf(hint, sizeof(hint), " (did you mean %s?)", near);
		if (!known)
			fprintf(stderr, "bwgate-report: --unit %s: not a unit of %s%s; reporting the "
				"events that name it\n", unit, config, hint);
		free(names);
	}

	/* What to read: the arguments, or the folder of events.file. */
	char pbuf[256];
	const char *prefix = log_prefix(r.conf, pbuf, sizeof(pbuf));
	if (optind == argc) {
		if (!r.conf->events_file) {
			fprintf(stderr, "bwgate-report: no FILE given and %s has no events.file: "
				"name the audit log's files or folder\n", config);
			goto done;
		}
		char *copy = strdup(r.conf->events_file);
		if (!copy || rpt_sources_add(&r, dirname(copy), prefix, err, sizeof(err)) < 0) {
			fprintf(stderr, "bwgate-report: %s\n", copy ? err : "out of memory");
			free(copy);
			status = 1;
			goto done;
		}
		free(copy);
	}
	for (int i = optind; i < argc; i++) {
		if (rpt_sources_add(&r, argv[i], prefix, err, sizeof(err)) < 0) {
			fprintf(stderr, "bwgate-report: %s\n", err);
			status = 1;
			goto done;
		}
	}

	status = 1;
	if (bwg_hash_secret_init() < 0)
		fprintf(stderr, "bwgate-report: no randomness from the kernel; tables are keyed "
			"with a fixed secret\n");
	if (rpt_tally_init(&r, max_hosts) < 0) {
		fprintf(stderr, "bwgate-report: out of memory\n");
		goto done;
	}
	if (rpt_sources_read(&r, err, sizeof(err)) < 0) {
		fprintf(stderr, "bwgate-report: %s\n", err);
		goto done;
	}
	if (rpt_view_build(&view, &r) < 0) {
		fprintf(stderr, "bwgate-report: out of memory\n");
		goto done;
	}
	out = out_path && strcmp(out_path, "-") != 0 ? fopen(out_path, "w") : stdout;
	if (!out) {
		fprintf(stderr, "bwgate-report: %s: %s\n", out_path, strerror(errno));
		goto done;
	}
	int rc;
	switch (fmt) {
	case RPT_CSV: rc = rpt_write_csv(&r, &view, table, out); break;
	case RPT_JSON: rc = rpt_write_json(&r, &view, out); break;
	case RPT_HTML: rc = rpt_write_html(&r, &view, out); break;
	default: rc = rpt_write_text(&r, &view, out); break;
	}
	if (fflush(out) != 0)
		rc = -1;
	if (out != stdout && fclose(out) != 0)
		rc = -1;
	out = NULL;
	if (rc < 0) {
		fprintf(stderr, "bwgate-report: %s: cannot write the report: %s\n",
			out_path ? out_path : "standard output", strerror(errno));
		goto done;
	}
	uint64_t skipped = rpt_skipped_total(&r);
	if (fmt == RPT_CSV && skipped) /* the CSV report has no footer */
		fprintf(stderr, "bwgate-report: %llu of %llu lines skipped (corrupt, cut short or "
			"without the fields a report needs)\n", (unsigned long long)skipped,
			(unsigned long long)r.lines);
	status = 0;
done:
	rpt_view_fini(&view);
	rpt_tally_fini(&r);
	for (uint32_t i = 0; i < r.n_sources; i++)
		free(r.sources[i].path);
	free(r.sources);
	free(r.tz);
	free(r.prefixes);
	bwg_config_free(r.conf);
	return status;
}
