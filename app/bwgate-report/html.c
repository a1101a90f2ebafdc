/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The HTML report: one self-contained file an information centre can mail, open in any
 * browser and print on A4. Styles are inline, the two charts are SVG drawn here —
 * blocked attempts per unit as bars split by class, and blocked attempts and limited
 * flows per day (per hour for a day or two) as lines — and there is no script, font,
 * image or link to fetch: the file shows the same offline, in a mail client that
 * blocks remote content, and on paper.
 *
 * Everything from the log (hosts, apps, units, classes) and from the command line
 * (file names) is HTML-escaped where it is written: a client chooses its TLS server
 * name, so a host can be "<script>...".
 */

#include <math.h>
#include <string.h>

#include "report.h"

/* Distinct on screen and on a grey printer; a class keeps its colour in both charts. */
static const char *const palette[] = {
	"#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9",
	"#882255", "#117733", "#332288", "#999933", "#44aa99", "#aa4499",
};
#define PALETTE_N (sizeof(palette) / sizeof(palette[0]))

#define SVG_W 700

static const char *
class_colour(const struct rpt_view *v, uint32_t cls)
{
	for (uint32_t k = 0; k < v->n_classes; k++)
		if (v->classes[k] == cls)
			return palette[k % PALETTE_N];
	return "#777777";
}

/* 1, 2 or 5 times a power of ten, at least x. */
static uint64_t
nice_ceil(uint64_t x)
{
	uint64_t p = 1;
	while (p * 10 <= x)
		p *= 10;
	for (;;) {
		if (x <= p)
			return p;
		if (x <= 2 * p)
			return 2 * p;
		if (x <= 5 * p)
			return 5 * p;
		p *= 10;
	}
}

/* An axis from 0 in steps of 1, 2 or 5 times a power of ten: about `want` of them
 * (never fewer than one) covering max. */
struct axis {
	uint64_t step, scale;
	int ticks;
};

static struct axis
axis_for(uint64_t max, int want)
{
	struct axis a;
	a.step = nice_ceil((max + (uint64_t)want - 1) / (uint64_t)want);
	if (!a.step)
		a.step = 1;
	a.ticks = (int)((max + a.step - 1) / a.step);
	if (a.ticks < 1)
		a.ticks = 1;
	a.scale = a.step * (uint64_t)a.ticks;
	return a;
}

/* A label cut to `max` characters (UTF-8 kept whole), escaped. */
static void
label(FILE *f, const char *s, size_t max)
{
	char buf[BWG_LOG_FIELD_MAX + 8];
	size_t n = 0, chars = 0;
	for (; s[n] && chars < max && n < sizeof(buf) - 4; chars++) {
		size_t k = 1;
		while ((s[n + k] & 0xc0) == 0x80)
			k++;
		n += k;
	}
	memcpy(buf, s, n);
	buf[n] = 0;
	if (s[n])
		strcpy(buf + (n > 3 ? n - 3 : n), "...");
	rpt_html_escape(f, buf);
}

#define LEGEND_ROW 16

/* Width of a legend label at 10px, roughly (DejaVu Sans averages 6.2px a character). */
static int
text_px(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xc0) != 0x80;
	return (int)(n * 13 / 2);
}

/* One legend item at (*x, *y), wrapped to a new row past the chart's width; f NULL
 * measures only. */
static void
legend_item(FILE *f, int x0, int *x, int *y, const char *text, const char *colour, int mark)
{
	int w = 18 + text_px(text) + 14;
	if (*x > x0 && *x + w > SVG_W - 8) {
		*x = x0;
		*y += LEGEND_ROW;
	}
	if (f) {
		if (mark == 0)
			fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>",
				*x, *y - 9, colour);
		else
			fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"%s\"/>",
				*x, *y - 4, *x + 14, *y - 4, mark == 1 ? "total" : "limited");
		fprintf(f, "<text x=\"%d\" y=\"%d\">", *x + 18, *y);
		rpt_html_escape(f, text);
		fputs("</text>", f);
	}
	*x += w;
}

/* The legend from (x0, y0); returns the y of its last row. */
static int
legend(FILE *f, const struct rpt *r, const struct rpt_view *v, const uint32_t *cls, uint32_t n,
       int x0, int y0, bool with_total, bool with_limited)
{
	int x = x0, y = y0;
	if (with_total)
		legend_item(f, x0, &x, &y, "all classes", NULL, 1);
	for (uint32_t i = 0; i < n; i++)
		legend_item(f, x0, &x, &y, r->classes.names[cls[i]], class_colour(v, cls[i]), 0);
	if (with_limited)
		legend_item(f, x0, &x, &y, "limited flows", NULL, 2);
	return y;
}

#define BAR_UNITS 15

/* Blocked attempts per unit, one bar each, split by class. */
static void
chart_units(FILE *f, const struct rpt *r, const struct rpt_view *v)
{
	uint32_t rows[BAR_UNITS], n = 0, more = 0;
	uint64_t max = 0;
	for (uint32_t i = 0; i < v->n_units; i++) {
		const struct rpt_counts *c = &r->unit_v[v->units[i]].c;
		if (!c->blocked)
			continue;
		if (n == BAR_UNITS) {
			more++;
			continue;
		}
		rows[n++] = v->units[i];
		if (c->blocked > max)
			max = c->blocked;
	}
	if (!n)
		return;
	const int left = 160, right = 70, row_h = 24, bar_h = 15;
	const int top = legend(NULL, r, v, v->classes, v->n_classes, left, 14, false, false) + 20;
	const int plot_w = SVG_W - left - right, h = top + (int)n * row_h + 26;
	struct axis ax = axis_for(max, 8);
	uint64_t scale = ax.scale;
	fprintf(f, "<figure>\n<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"Blocked "
		"attempts per unit by class\">\n", SVG_W, h);
	legend(f, r, v, v->classes, v->n_classes, left, 14, false, false);
	for (int t = 0; t <= ax.ticks; t++) {
		double x = left + (double)plot_w * t / ax.ticks;
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"grid\"/>", x,
			top - 6, x, top + (int)n * row_h);
		char num[32];
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"axis\">%s</text>",
			x, top + (int)n * row_h + 16,
			rpt_num_text(ax.step * (uint64_t)t, true, num, sizeof(num)));
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct rpt_counts *c = &r->unit_v[rows[i]].c;
		int y = top + (int)i * row_h;
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 8, y + bar_h - 3);
		label(f, rpt_unit_name(r, rows[i]), 24);
		fputs("</text>", f);
		double x = left;
		for (uint32_t k = 0; k < v->n_classes; k++) {
			uint32_t cls = v->classes[k];
			if (!c->by_class[cls])
				continue;
			double w = (double)plot_w * c->by_class[cls] / (double)scale;
			fprintf(f, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\">"
				"<title>", x, y, w, bar_h, class_colour(v, cls));
			rpt_html_escape(f, rpt_unit_name(r, rows[i]));
			fputs(", ", f);
			rpt_html_escape(f, r->classes.names[cls]);
			fprintf(f, ": %u</title></rect>", c->by_class[cls]);
			x += w;
		}
		char num[32];
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"val\">%s</text>\n", x + 5, y + bar_h - 3,
			rpt_num_text(c->blocked, true, num, sizeof(num)));
	}
	fputs("</svg>\n", f);
	fprintf(f, "<figcaption>Blocked attempts (flows) per unit, by class%s.</figcaption>\n",
		more ? "; the units with the most attempts, the rest in the tables" : "");
	fputs("</figure>\n", f);
}

static uint64_t
bucket_blocked(const struct rpt *r, const struct rpt_bucket *b)
{
	uint64_t n = 0;
	for (uint32_t k = 0; k < r->classes.n; k++)
		n += b->blocked[k];
	return n;
}

#define LINE_CLASSES 6

/* Blocked attempts (all classes and the largest few) and limited flows per bucket. */
static void
chart_series(FILE *f, const struct rpt *r, const struct rpt_view *v)
{
	uint32_t nb = r->n_buckets;
	if (!nb || (!r->total.blocked && !r->total.limited))
		return;
	if (nb == 1) {
		/* One point is no line: say where it lies instead. */
		struct rpt_tm tm;
		rpt_localtime(r, rpt_bucket_start(r, r->bucket0), &tm);
		if (r->hourly)
			fprintf(f, "<p class=\"none\">Every event falls in one hour, %04d-%02d-%02d "
				"%02d:00.</p>\n", tm.year, tm.month, tm.day, tm.hour);
		else
			fprintf(f, "<p class=\"none\">Every event falls on one day, "
				"%04d-%02d-%02d.</p>\n", tm.year, tm.month, tm.day);
		return;
	}
	/* The classes with the most attempts get a line each. */
	uint32_t cls[RPT_CLASS_MAX], nc = v->n_classes;
	memcpy(cls, v->classes, nc * sizeof(*cls));
	for (uint32_t i = 1; i < nc; i++)
		for (uint32_t j = i; j > 0 && r->total.by_class[cls[j]] > r->total.by_class[cls[j - 1]];
		     j--) {
			uint32_t x = cls[j];
			cls[j] = cls[j - 1];
			cls[j - 1] = x;
		}
	if (nc > LINE_CLASSES)
		nc = LINE_CLASSES;
	bool show_classes = nc > 1; /* one class: its line is the total */
	uint64_t max = 1;
	for (uint32_t i = 0; i < nb; i++) {
		uint64_t b = bucket_blocked(r, &r->buckets[i]);
		if (b > max)
			max = b;
		if (r->buckets[i].limited > max)
			max = r->buckets[i].limited;
	}
	struct axis ax = axis_for(max, 4);
	uint64_t scale = ax.scale;
	const int left = 56, right = 16, bottom = 34;
	const int top = legend(NULL, r, v, cls, show_classes ? nc : 0, left, 14, true,
			       r->total.limited > 0) + 20;
	const int h = top + 190;
	const double plot_w = SVG_W - left - right, plot_h = h - top - bottom;
	fprintf(f, "<figure>\n<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"Blocked "
		"attempts per %s\">\n", SVG_W, h, r->hourly ? "hour" : "day");
	legend(f, r, v, cls, show_classes ? nc : 0, left, 14, true, r->total.limited > 0);
	for (int t = 0; t <= ax.ticks; t++) {
		double y = top + plot_h - plot_h * t / ax.ticks;
		char num[32];
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>",
			left, y, left + plot_w, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"axis\">%s</text>\n",
			left - 6, y + 3, rpt_num_text(ax.step * (uint64_t)t, true, num, sizeof(num)));
	}
	/* x of bucket i; a single bucket sits in the middle. */
#define BX(i) (nb > 1 ? left + plot_w * (double)(i) / (double)(nb - 1) : left + plot_w / 2)
#define BY(n) (top + plot_h - plot_h * (double)(n) / (double)scale)
	uint32_t step = 1;
	static const uint32_t steps[] = {1, 2, 3, 4, 6, 7, 12, 14, 24, 28, 31, 61, 91, 183, 366};
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		step = steps[s];
		if (nb / step <= 10)
			break;
	}
	for (uint32_t i = 0; i < nb; i += step) {
		struct rpt_tm tm;
		rpt_localtime(r, rpt_bucket_start(r, r->bucket0 + i), &tm);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"tick\"/>",
			BX(i), top + plot_h, BX(i), top + plot_h + 4);
		if (r->hourly)
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"axis\">"
				"%02d:00</text>\n", BX(i), top + plot_h + 16, tm.hour);
		else
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"axis\">"
				"%02d-%02d</text>\n", BX(i), top + plot_h + 16, tm.month, tm.day);
	}
	struct rpt_tm t0, t1;
	rpt_localtime(r, rpt_bucket_start(r, r->bucket0), &t0);
	rpt_localtime(r, rpt_bucket_start(r, r->bucket0 + nb - 1), &t1);
	/* Limited flows dashed, then each class, then all classes on top. */
	for (int s = -1; s <= (int)(show_classes ? nc : 0); s++) {
		bool limited = s == -1, all = s == (int)(show_classes ? nc : 0);
		if (limited && !r->total.limited)
			continue;
		if (limited)
			fputs("<polyline class=\"limited\" points=\"", f);
		else if (all)
			fputs("<polyline class=\"total\" points=\"", f);
		else
			fprintf(f, "<polyline class=\"cls\" stroke=\"%s\" points=\"",
				class_colour(v, cls[s]));
		for (uint32_t i = 0; i < nb; i++) {
			const struct rpt_bucket *b = &r->buckets[i];
			uint64_t y = limited ? b->limited : all ? bucket_blocked(r, b) : b->blocked[cls[s]];
			fprintf(f, "%s%.1f,%.1f", i ? " " : "", BX(i), BY(y));
		}
		fputs("\"/>\n", f);
		if (all && nb <= 62)
			for (uint32_t i = 0; i < nb; i++)
				fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\" class=\"dot\"/>",
					BX(i), BY(bucket_blocked(r, &r->buckets[i])));
	}
#undef BX
#undef BY
	fputs("</svg>\n", f);
	fprintf(f, "<figcaption>Blocked attempts and limited flows per %s, %04d-%02d-%02d to "
		"%04d-%02d-%02d (%s).</figcaption>\n</figure>\n", r->hourly ? "hour" : "day",
		t0.year, t0.month, t0.day, t1.year, t1.month, t1.day, r->conf->timezone);
}

static const char style[] =
	"@page{size:A4;margin:14mm 12mm 16mm;"
	"@bottom-right{content:\"page \" counter(page) \" of \" counter(pages);"
	"font:8pt sans-serif;color:#5b6775}}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;background:#eef1f4;color:#1d2733;"
	"font:10pt/1.4 \"DejaVu Sans\",\"Noto Sans CJK SC\",\"Microsoft YaHei\",Arial,sans-serif}\n"
	"main{max-width:210mm;margin:8mm auto;background:#fff;padding:14mm 12mm;"
	"box-shadow:0 1px 4px rgba(0,0,0,.15)}\n"
	"header{border-bottom:3px solid #8b1e2d;padding-bottom:4mm;margin-bottom:5mm}\n"
	".org{color:#8b1e2d;font-size:9pt;letter-spacing:.06em;text-transform:uppercase}\n"
	"h1{font-size:19pt;margin:1mm 0 2mm}\n"
	".period{font-size:11.5pt;margin:0 0 3mm}\n"
	"dl{display:grid;grid-template-columns:max-content 1fr;gap:.6mm 5mm;margin:0;font-size:8.5pt}\n"
	"dt{color:#5b6775}dd{margin:0;overflow-wrap:anywhere}\n"
	".kpis{display:flex;gap:3mm;margin:0 0 5mm}\n"
	".kpi{flex:1;border:1px solid #d5dbe3;border-left:4px solid #8b1e2d;padding:2mm 3mm}\n"
	".kpi b{display:block;font-size:16pt;line-height:1.2}\n"
	".kpi span{font-size:8pt;color:#5b6775}\n"
	".kpi.quiet{border-left-color:#9aa5b1}\n"
	"h2{font-size:12pt;margin:7mm 0 2mm;padding-bottom:1mm;border-bottom:1px solid #d5dbe3;"
	"break-after:avoid}\n"
	"table{border-collapse:collapse;width:100%;font-size:8.5pt}\n"
	"th,td{padding:1.1mm 1.6mm;border-bottom:1px solid #e3e7ec;text-align:left;vertical-align:top}\n"
	"th{background:#eef2f6;font-weight:600;border-bottom:1px solid #b8c2cc;vertical-align:bottom}\n"
	"th.n{white-space:normal}\n"
	".k{white-space:nowrap}.t{overflow-wrap:anywhere}.l{overflow-wrap:anywhere}\n"
	".n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
	"tr.total td{font-weight:700;border-top:1.5px solid #1d2733}\n"
	"tr{break-inside:avoid}thead{display:table-header-group}\n"
	"tbody tr:nth-child(even) td{background:#fafbfc}\n"
	"figure{margin:2mm 0 4mm;break-inside:avoid}\n"
	"figcaption{font-size:8pt;color:#5b6775;margin-top:1mm}\n"
	"svg{width:100%;height:auto;display:block}\n"
	"svg text{font-size:10px;fill:#1d2733}\n"
	"svg .axis{fill:#5b6775;font-size:9px}svg .val{font-size:9.5px;font-weight:600}\n"
	"svg .grid{stroke:#e3e7ec;stroke-width:1}svg .tick{stroke:#9aa5b1}\n"
	"svg polyline{fill:none;stroke-linejoin:round}\n"
	"svg .cls{stroke-width:1.6}svg .total{stroke:#1d2733;stroke-width:2.4;fill:none}\n"
	"svg .limited{stroke:#7a8694;stroke-width:1.6;stroke-dasharray:5 3;fill:none}\n"
	"svg .dot{fill:#1d2733}\n"
	".none{color:#5b6775;font-style:italic}\n"
	".notes{margin-top:8mm;border-top:1px solid #d5dbe3;padding-top:3mm;font-size:8pt;"
	"color:#3c4857}\n"
	".notes p{margin:1mm 0}\n"
	".files{columns:2;column-gap:6mm;font-size:7.5pt;margin:1mm 0 0;padding-left:4mm}\n"
	"@media print{body{background:#fff}main{margin:0;max-width:none;padding:0;box-shadow:none}"
	"tbody tr:nth-child(even) td{background:none}}\n";

static void
kpi(FILE *f, uint64_t n, const char *what, bool quiet)
{
	char num[32];
	fprintf(f, "<div class=\"kpi%s\"><b>%s</b><span>%s</span></div>\n", quiet ? " quiet" : "",
		rpt_num_text(n, true, num, sizeof(num)), what);
}

static void
section(FILE *f, struct rpt_table *t)
{
	fputs("<h2>", f);
	rpt_html_escape(f, t->title);
	fputs("</h2>\n", f);
	rpt_table_write(t, f);
	rpt_table_fini(t);
	t->fmt = RPT_HTML;
}

static void
note_line(void *f, const char *label_, const char *text)
{
	fputs("<p><b>", f);
	rpt_html_escape(f, label_);
	fputs(":</b> ", f);
	rpt_html_escape(f, text);
	fputs("</p>\n", f);
}

int
rpt_write_html(const struct rpt *r, const struct rpt_view *v, FILE *f)
{
	char buf[512], title[128];
	rpt_period_text(r, buf, sizeof(buf));
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>Internet-use violation report, ", f);
	rpt_html_escape(f, r->period.label);
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<header>\n", style);
	fputs("<div class=\"org\">bwgate egress gate &middot; audit log</div>\n"
	      "<h1>Internet-use violation report</h1>\n<p class=\"period\">", f);
	rpt_html_escape(f, buf);
	fputs("</p>\n<dl>\n<dt>Generated</dt><dd>", f);
	rpt_html_escape(f, rpt_time(r, r->generated * 1000000, RPT_TIME_SEC, title, sizeof(title)));
	fputs(" ", f);
	rpt_html_escape(f, r->conf->timezone);
	fputs("</dd>\n<dt>Config</dt><dd>", f);
	rpt_html_escape(f, r->conf->path);
	uint32_t read = 0;
	for (uint32_t i = 0; i < r->n_sources; i++)
		read += !r->sources[i].skipped_by_name;
	char nl[32];
	fprintf(f, "</dd>\n<dt>Sources</dt><dd>%u audit-log files read, %s lines (listed at the "
		"end)</dd>\n", read, rpt_num_text(r->lines, true, nl, sizeof(nl)));
	if (r->unit_filter || r->user_filter) {
		fputs("<dt>Filter</dt><dd>", f);
		if (r->unit_filter) {
			fputs("unit ", f);
			rpt_html_escape(f, r->unit_filter[0] ? r->unit_filter : "(no unit)");
		}
		if (r->user_filter) {
			char ip[64];
			bwg_log_format_ip(r->user_cidr.family, r->user_cidr.addr, ip, sizeof(ip));
			fprintf(f, "%suser %s/%u", r->unit_filter ? ", " : "", ip, r->user_cidr.len);
		}
		fputs("</dd>\n", f);
	}
	fputs("</dl>\n</header>\n<section class=\"kpis\">\n", f);
	kpi(f, r->total.blocked, "blocked attempts", false);
	kpi(f, r->total.limited, "limited flows", true);
	kpi(f, r->n_users, "users", true);
	kpi(f, v->n_units, "units", true);
	kpi(f, rpt_skipped_total(r), "skipped lines", true);
	fputs("</section>\n", f);

	if (r->total.blocked) {
		fputs("<h2>Blocked attempts per unit</h2>\n", f);
		chart_units(f, r, v);
	}
	if (r->total.blocked || r->total.limited) {
		fprintf(f, "<h2>Blocked attempts per %s</h2>\n", r->hourly ? "hour" : "day");
		chart_series(f, r, v);
	}
	struct rpt_table t = {.fmt = RPT_HTML};
	for (int users = 0; users <= 1; users++) {
		rpt_table_counts(&t, r, v, users);
		section(f, &t);
		rpt_table_classes(&t, r, v, users);
		section(f, &t);
		if (!users) {
			rpt_table_top_hosts(&t, r, v, title, sizeof(title));
			section(f, &t);
		}
	}
	for (int users = 0; users <= 1; users++) {
		rpt_table_items(&t, r, v, users, title, sizeof(title));
		section(f, &t);
	}

	fputs("<section class=\"notes\">\n<p>A <b>blocked attempt</b> is a flow the gate "
	      "blocked (one <code>block</code> event); a <b>limited flow</b> one it held to a "
	      "rate. A user is the inside address of the flow; the unit is the one the gate "
	      "recorded when it acted. Times are local to ", f);
	rpt_html_escape(f, r->conf->timezone);
	fputs(".</p>\n", f);
	rpt_footer_lines(r, v, note_line, f);
	fputs("<p><b>Files:</b></p>\n<ol class=\"files\">\n", f);
	for (uint32_t i = 0; i < r->n_sources; i++) {
		char s[256];
		rpt_source_text(&r->sources[i], s, sizeof(s));
		fputs("<li>", f);
		rpt_html_escape(f, r->sources[i].path);
		fputs(": ", f);
		rpt_html_escape(f, s);
		fputs("</li>\n", f);
	}
	fputs("</ol>\n</section>\n</main>\n</body>\n</html>\n", f);
	return ferror(f) ? -1 : 0;
}
