/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The report's tables — units, blocked attempts by class, users, hosts and apps per
 * unit and per user, top hosts — built once from the view for the text and HTML
 * reports, and the text and CSV reports themselves.
 *
 * The text report is for a terminal or a mail: tables aligned in ASCII, lists wrapped
 * so that a row stays within about 120 columns, numbers grouped by thousands, times in
 * the config's zone to the second. The CSV report is one table (--table) with one
 * header row, RFC 4180 quoting and CRLF line ends, plain numbers, and a column per
 * class of the config so that the columns stay the same from one report to the next.
 */

#include <string.h>

#include "report.h"

#define WRAP_HOSTS 44
#define WRAP_APPS 30

const char *
rpt_period_text(const struct rpt *r, char *buf, size_t len)
{
	char a[40], b[40];
	int64_t from = r->period.from, to = r->period.to;
	struct rpt_tm tm;
	rpt_localtime(r, r->generated, &tm);
	int32_t o = tm.offset < 0 ? -tm.offset : tm.offset;
	if (from == INT64_MIN && to == INT64_MAX) {
		if (r->seen_first_us > r->seen_last_us) {
			snprintf(buf, len, "%s: no events (%s, UTC%c%02d:%02d)", r->period.label,
				 r->conf->timezone, tm.offset < 0 ? '-' : '+', o / 3600, o / 60 % 60);
			return buf;
		}
		snprintf(buf, len, "%s: %s to %s %s (UTC%c%02d:%02d)", r->period.label,
			 rpt_time(r, r->seen_first_us, RPT_TIME_SEC, a, sizeof(a)),
			 rpt_time(r, r->seen_last_us, RPT_TIME_SEC, b, sizeof(b)), r->conf->timezone,
			 tm.offset < 0 ? '-' : '+', o / 3600, o / 60 % 60);
		return buf;
	}
	if (from == INT64_MIN)
		snprintf(a, sizeof(a), "the start");
	else
		rpt_time(r, from * 1000000, RPT_TIME_MIN, a, sizeof(a));
	if (to == INT64_MAX)
		snprintf(b, sizeof(b), "the end");
	else
		rpt_time(r, to * 1000000, RPT_TIME_MIN, b, sizeof(b));
	rpt_localtime(r, from == INT64_MIN ? r->generated : from, &tm);
	o = tm.offset < 0 ? -tm.offset : tm.offset;
	snprintf(buf, len, "%s: %s to %s %s (UTC%c%02d:%02d)", r->period.label, a, b,
		 r->conf->timezone, tm.offset < 0 ? '-' : '+', o / 3600, o / 60 % 60);
	return buf;
}

static void
time_cell(struct rpt_table *t, const struct rpt *r, int64_t us)
{
	char buf[40];
	if (t->fmt == RPT_CSV && (us == INT64_MAX || us == INT64_MIN))
		rpt_cell_text(t, "");
	else
		rpt_cell_text(t, rpt_time(r, us, RPT_TIME_SEC, buf, sizeof(buf)));
}

/*
 * A row of a per-unit or per-user table: owner i of the view's units or users, or (i ==
 * n, units only) the "all units" total. Every such table is these rows with different
 * columns.
 */
struct row {
	const struct rpt_counts *c;
	const struct rpt_items *items; /* NULL for the total */
	uint32_t unit;
	const struct rpt_user *user; /* NULL for a unit */
	uint32_t users;              /* a unit's users */
	bool total;
};

static uint32_t
rows(const struct rpt_view *v, bool users)
{
	return users ? v->n_users : v->n_units;
}

static struct row
row_of(const struct rpt *r, const struct rpt_view *v, bool users, uint32_t i)
{
	struct row w = {0};
	if (i == rows(v, users)) {
		w.c = &r->total;
		w.users = r->n_users;
		w.total = true;
	} else if (users) {
		w.user = &r->users[v->users[i]];
		w.c = &w.user->c;
		w.unit = w.user->unit;
		w.items = &v->user_items[v->users[i]];
	} else {
		w.unit = v->units[i];
		w.c = &r->unit_v[w.unit].c;
		w.users = r->unit_v[w.unit].users;
		w.items = &v->unit_items[w.unit];
	}
	return w;
}

static void
key_cols(struct rpt_table *t, bool users)
{
	if (users)
		rpt_table_col(t, "user", RPT_COL_KEY);
	rpt_table_col(t, "unit", RPT_COL_KEY);
}

/* Starts the row and fills its user and unit cells. */
static void
key_cells(struct rpt_table *t, const struct rpt *r, const struct row *w)
{
	char a[64];
	rpt_table_row(t, w->total);
	if (w->user)
		rpt_cell_text(t, rpt_user_addr(w->user, a, sizeof(a)));
	rpt_cell_text(t, w->total ? "all units" : rpt_unit_name(r, w->unit));
}

/* Blocked attempts and limited flows, first and last attempt: per unit (with their
 * users and a total) or per user. */
void
rpt_table_counts(struct rpt_table *t, const struct rpt *r, const struct rpt_view *v, bool users)
{
	rpt_table_init(t, t->fmt, users ? "Users: blocked attempts (flows) and limited flows"
					: "Units: blocked attempts (flows) and limited flows");
	key_cols(t, users);
	if (!users)
		rpt_table_col(t, "users", RPT_COL_NUM);
	rpt_table_col(t, "blocked", RPT_COL_NUM);
	rpt_table_col(t, "limited", RPT_COL_NUM);
	rpt_table_col(t, "first attempt", RPT_COL_KEY);
	rpt_table_col(t, "last attempt", RPT_COL_KEY);
	uint32_t n = rows(v, users) + (!users && v->n_units);
	for (uint32_t i = 0; i < n; i++) {
		struct row w = row_of(r, v, users, i);
		key_cells(t, r, &w);
		if (!users)
			rpt_cell_num(t, w.users);
		rpt_cell_num(t, w.c->blocked);
		rpt_cell_num(t, w.c->limited);
		time_cell(t, r, w.c->first_us);
		time_cell(t, r, w.c->last_us);
	}
}

/* Blocked attempts by class: per unit (with a total) or per user. */
void
rpt_table_classes(struct rpt_table *t, const struct rpt *r, const struct rpt_view *v, bool users)
{
	rpt_table_init(t, t->fmt, users ? "Users: blocked attempts by class"
					: "Units: blocked attempts by class");
	key_cols(t, users);
	for (uint32_t k = 0; k < v->n_classes; k++)
		rpt_table_col(t, r->classes.names[v->classes[k]], RPT_COL_NUM);
	rpt_table_col(t, "total", RPT_COL_NUM);
	if (!v->n_classes)
		return;
	uint32_t n = rows(v, users) + !users;
	for (uint32_t i = 0; i < n; i++) {
		struct row w = row_of(r, v, users, i);
		if (!w.total && !w.c->blocked)
			continue;
		key_cells(t, r, &w);
		for (uint32_t k = 0; k < v->n_classes; k++)
			rpt_cell_num(t, w.c->by_class[v->classes[k]]);
		rpt_cell_num(t, w.c->blocked);
	}
}

static void
items_cells(struct rpt_table *t, const struct rpt *r, const struct rpt_items *it,
	    const struct rpt_counts *c)
{
	rpt_cell_items(t, r, it->hosts, it->n_hosts, it->more_hosts + c->other_hosts,
		       it->distinct_hosts - it->n_hosts + (c->other_hosts ? 1 : 0), RPT_ITEM_HOST,
		       WRAP_HOSTS);
	rpt_cell_items(t, r, it->apps, it->n_apps, it->more_apps + c->other_apps,
		       it->distinct_apps - it->n_apps + (c->other_apps ? 1 : 0), RPT_ITEM_APP,
		       WRAP_APPS);
}

/* The hosts and apps tried, most first: per unit or per user. */
void
rpt_table_items(struct rpt_table *t, const struct rpt *r, const struct rpt_view *v, bool users,
		char *title, size_t len)
{
	snprintf(title, len, "Forbidden hosts and apps tried per %s (attempts; top %u)",
		 users ? "user" : "unit", r->top);
	rpt_table_init(t, t->fmt, title);
	key_cols(t, users);
	rpt_table_col(t, "hosts", RPT_COL_LIST);
	rpt_table_col(t, "apps", RPT_COL_LIST);
	for (uint32_t i = 0; i < rows(v, users); i++) {
		struct row w = row_of(r, v, users, i);
		if (!w.c->blocked)
			continue;
		key_cells(t, r, &w);
		items_cells(t, r, w.items, w.c);
	}
}

void
rpt_table_top_hosts(struct rpt_table *t, const struct rpt *r, const struct rpt_view *v,
		    char *title, size_t len)
{
	snprintf(title, len, "Top forbidden hosts (all units; top %u)", r->top);
	rpt_table_init(t, t->fmt, title);
	rpt_table_col(t, "host", RPT_COL_TEXT);
	rpt_table_col(t, "class", RPT_COL_KEY);
	rpt_table_col(t, "attempts", RPT_COL_NUM);
	rpt_table_col(t, "users", RPT_COL_NUM);
	for (uint32_t i = 0; i < v->n_top_hosts; i++) {
		const struct rpt_host *h = &r->host_v[v->top_hosts[i].id];
		rpt_table_row(t, false);
		rpt_cell_text(t, r->hosts.names[v->top_hosts[i].id]);
		rpt_cell_text(t, r->classes.names[h->cls]);
		rpt_cell_num(t, h->attempts);
		rpt_cell_num(t, h->users);
	}
}

/* ---- text ----------------------------------------------------------------------------- */

/* The footer: what was read, skipped and not kept, as (label, text) lines. */
void
rpt_footer_lines(const struct rpt *r, const struct rpt_view *v,
		 void (*line)(void *, const char *, const char *), void *arg)
{
	char buf[1024], n[8][32];
	rpt_num_text(r->lines, true, n[0], sizeof(n[0]));
	line(arg, "lines read", n[0]);
	rpt_num_text(r->total.blocked, true, n[1], sizeof(n[1]));
	rpt_num_text(r->total.limited, true, n[2], sizeof(n[2]));
	snprintf(buf, sizeof(buf), "%s block and %s limit events", n[1], n[2]);
	line(arg, "counted", buf);
	rpt_num_text(r->outside, true, n[3], sizeof(n[3]));
	rpt_num_text(r->filtered, true, n[4], sizeof(n[4]));
	rpt_num_text(r->flow_end, true, n[5], sizeof(n[5]));
	rpt_num_text(r->other_events, true, n[6], sizeof(n[6]));
	snprintf(buf, sizeof(buf),
		 "outside the period %s; other units or users %s; flow-end records %s; other "
		 "events %s", n[3], n[4], n[5], n[6]);
	line(arg, "not counted", buf);
	uint64_t sk = rpt_skipped_total(r);
	rpt_num_text(sk, true, n[0], sizeof(n[0]));
	size_t o = (size_t)snprintf(buf, sizeof(buf), "%s", n[0]);
	const char *sep = " (";
	for (int i = 0; i < RPT_SKIP_MAX; i++) {
		if (!r->skipped[i])
			continue;
		rpt_num_text(r->skipped[i], true, n[1], sizeof(n[1]));
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s: %s", sep, rpt_skip_names[i],
				      n[1]);
		sep = "; ";
	}
	if (sk)
		snprintf(buf + o, sizeof(buf) - o, ")");
	line(arg, "skipped lines", buf);
	if (v->n_users < v->n_users_all) {
		rpt_num_text(v->n_users_all, true, n[0], sizeof(n[0]));
		snprintf(buf, sizeof(buf), "the %u with the most blocked attempts of %s (--users)",
			 v->n_users, n[0]);
		line(arg, "users listed", buf);
	}
	if (r->plan_differs) {
		rpt_num_text(r->plan_differs, true, n[0], sizeof(n[0]));
		snprintf(buf, sizeof(buf), "%s (events whose unit is not the one today's address "
			 "plan gives their user; reported as the gate wrote them)", n[0]);
		line(arg, "plan differs", buf);
	}
	o = 0;
	buf[0] = 0;
	if (r->users_untracked) {
		rpt_num_text(r->users_untracked, true, n[0], sizeof(n[0]));
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
				      "%s events of users past --max-users %u (in unit totals only); ",
				      n[0], r->max_users);
	}
	if (r->hosts_untracked) {
		rpt_num_text(r->hosts_untracked, true, n[0], sizeof(n[0]));
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
				      "%s attempts at hosts past --max-hosts %u (\"more\"); ", n[0],
				      r->hosts.max);
	}
	if (r->pairs_untracked) {
		rpt_num_text(r->pairs_untracked, true, n[0], sizeof(n[0]));
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
				      "%s host and app counts past %u pairs (\"more\"); ", n[0],
				      RPT_PAIRS_MAX);
	}
	if (r->buckets_untracked) {
		rpt_num_text(r->buckets_untracked, true, n[0], sizeof(n[0]));
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
				      "%s events beyond the chart's %u %s; ", n[0], RPT_BUCKET_MAX,
				      r->hourly ? "hours" : "days");
	}
	if (o) {
		buf[o - 2] = 0;
		line(arg, "not kept", buf);
	}
}

static void
text_footer_line(void *f, const char *label, const char *text)
{
	char l[40];
	snprintf(l, sizeof(l), "%s:", label);
	fprintf(f, "%-15s %s\n", l, text);
}

/* One line per file: its name, lines and kind, or why it was not read. */
void
rpt_source_text(const struct rpt_source *s, char *buf, size_t len)
{
	char n[32];
	rpt_num_text(s->lines, true, n, sizeof(n));
	if (s->skipped_by_name)
		snprintf(buf, len, "not read: rotated outside the period");
	else
		snprintf(buf, len, "%s lines%s%s%s", n, s->gz ? ", gzip" : "",
			 s->problem[0] ? "; " : "", s->problem);
}

static void
table_out(struct rpt_table *t, FILE *f)
{
	rpt_table_write(t, f);
	rpt_table_fini(t);
	t->fmt = RPT_TEXT;
	fputc('\n', f);
}

int
rpt_write_text(const struct rpt *r, const struct rpt_view *v, FILE *f)
{
	char buf[512], title[128], a[64];
	fprintf(f, "bwgate violation report\n");
	fprintf(f, "%-11s %s\n", "Period:", rpt_period_text(r, buf, sizeof(buf)));
	fprintf(f, "%-11s %s %s; config %s\n", "Generated:",
		rpt_time(r, r->generated * 1000000, RPT_TIME_SEC, a, sizeof(a)), r->conf->timezone,
		rpt_text_safe(r->conf->path, buf, sizeof(buf)));
	if (r->unit_filter || r->user_filter) {
		char u[80] = "";
		if (r->user_filter) {
			char ip[64];
			bwg_log_format_ip(r->user_cidr.family, r->user_cidr.addr, ip, sizeof(ip));
			snprintf(u, sizeof(u), "%suser %s/%u", r->unit_filter ? ", " : "", ip,
				 r->user_cidr.len);
		}
		fprintf(f, "%-11s %s%s%s\n", "Filter:", r->unit_filter ? "unit " : "",
			r->unit_filter ? rpt_text_safe(r->unit_filter, buf, sizeof(buf)) : "", u);
	}
	char nb[32], nl[32], nu[32];
	rpt_num_text(r->total.blocked, true, nb, sizeof(nb));
	rpt_num_text(r->total.limited, true, nl, sizeof(nl));
	rpt_num_text(r->n_users, true, nu, sizeof(nu));
	fprintf(f, "%-11s blocked attempts %s, limited flows %s, users %s, units %u\n\n",
		"Summary:", nb, nl, nu, v->n_units);

	struct rpt_table t = {.fmt = RPT_TEXT};
	for (int users = 0; users <= 1; users++) {
		rpt_table_counts(&t, r, v, users);
		table_out(&t, f);
		rpt_table_classes(&t, r, v, users);
		table_out(&t, f);
	}
	for (int users = 0; users <= 1; users++) {
		rpt_table_items(&t, r, v, users, title, sizeof(title));
		table_out(&t, f);
	}
	rpt_table_top_hosts(&t, r, v, title, sizeof(title));
	table_out(&t, f);

	rpt_footer_lines(r, v, text_footer_line, f);
	uint32_t read = 0;
	for (uint32_t i = 0; i < r->n_sources; i++)
		read += !r->sources[i].skipped_by_name;
	fprintf(f, "%-15s %u read, %u not read\n", "files:", read, r->n_sources - read);
	for (uint32_t i = 0; i < r->n_sources; i++) {
		char s[256];
		rpt_source_text(&r->sources[i], s, sizeof(s));
		fprintf(f, "  %s: %s\n", rpt_text_safe(r->sources[i].path, buf, sizeof(buf)), s);
	}
	return ferror(f) ? -1 : 0;
}

/* ---- CSV ------------------------------------------------------------------------------ */

static void
csv_classes_head(struct rpt_table *t, const struct rpt *r, const struct rpt_view *v)
{
	for (uint32_t k = 0; k < v->n_all_classes; k++)
		rpt_table_col(t, r->classes.names[v->all_classes[k]], RPT_COL_NUM);
}

static void
csv_counts(struct rpt_table *t, const struct rpt *r, const struct rpt_view *v,
	   const struct rpt_counts *c)
{
	rpt_cell_num(t, c->blocked);
	rpt_cell_num(t, c->limited);
	for (uint32_t k = 0; k < v->n_all_classes; k++)
		rpt_cell_num(t, c->by_class[v->all_classes[k]]);
	time_cell(t, r, c->first_us);
	time_cell(t, r, c->last_us);
}

int
rpt_write_csv(const struct rpt *r, const struct rpt_view *v, enum rpt_csv_table which, FILE *f)
{
	struct rpt_table t;
	rpt_table_init(&t, RPT_CSV, "");
	if (which == RPT_CSV_HOSTS) {
		rpt_table_col(&t, "unit", RPT_COL_KEY);
		rpt_table_col(&t, "host", RPT_COL_TEXT);
		rpt_table_col(&t, "class", RPT_COL_KEY);
		rpt_table_col(&t, "attempts", RPT_COL_NUM);
		for (uint32_t i = 0; i < v->n_units; i++) {
			const struct rpt_items *it = &v->unit_items[v->units[i]];
			for (uint32_t j = 0; j < it->n_hosts; j++) {
				rpt_table_row(&t, false);
				rpt_cell_text(&t, rpt_unit_name(r, v->units[i]));
				rpt_cell_text(&t, r->hosts.names[it->hosts[j].id]);
				rpt_cell_text(&t, r->classes.names[r->host_v[it->hosts[j].id].cls]);
				rpt_cell_num(&t, it->hosts[j].count);
			}
		}
	} else {
		bool users = which == RPT_CSV_USERS;
		rpt_table_col(&t, "unit", RPT_COL_KEY);
		rpt_table_col(&t, users ? "user" : "users", users ? RPT_COL_KEY : RPT_COL_NUM);
		rpt_table_col(&t, "blocked", RPT_COL_NUM);
		rpt_table_col(&t, "limited", RPT_COL_NUM);
		csv_classes_head(&t, r, v);
		rpt_table_col(&t, "first_attempt", RPT_COL_KEY);
		rpt_table_col(&t, "last_attempt", RPT_COL_KEY);
		rpt_table_col(&t, "hosts", RPT_COL_LIST);
		rpt_table_col(&t, "apps", RPT_COL_LIST);
		uint32_t n = users ? v->n_users : v->n_units;
		for (uint32_t i = 0; i < n; i++) {
			const struct rpt_counts *c;
			const struct rpt_items *it;
			rpt_table_row(&t, false);
			if (users) {
				const struct rpt_user *u = &r->users[v->users[i]];
				char a[64];
				rpt_cell_text(&t, rpt_unit_name(r, u->unit));
				rpt_cell_text(&t, rpt_user_addr(u, a, sizeof(a)));
				c = &u->c;
				it = &v->user_items[v->users[i]];
			} else {
				const struct rpt_unit *u = &r->unit_v[v->units[i]];
				rpt_cell_text(&t, rpt_unit_name(r, v->units[i]));
				rpt_cell_num(&t, u->users);
				c = &u->c;
				it = &v->unit_items[v->units[i]];
			}
			csv_counts(&t, r, v, c);
			items_cells(&t, r, it, c);
		}
	}
	rpt_table_write(&t, f);
	rpt_table_fini(&t);
	return ferror(f) ? -1 : 0;
}
