/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One table, three layouts: aligned text, CSV (RFC 4180) and HTML.
 *
 * Cells are escaped for their layout when they are added, because what is safe
 * differs: host names, apps and unit names come from a file anyone who reached the
 * disk — or any client choosing its TLS server name — could have written. Text shows
 * every byte outside printable ASCII as \xNN (no terminal escape sequences, and one
 * byte is one column, so columns stay aligned); CSV keeps UTF-8 but shows control
 * characters as \xNN and defuses a leading = + - @ (a spreadsheet would run it as a
 * formula); HTML escapes markup on top of that. A text cell may hold several lines
 * (lists wrapped to a width); the row is as tall as its tallest cell.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* s into buf with control characters — and with ascii_only every byte past ASCII — as
 * \xNN. */
static const char *
escape_bytes(const char *s, bool ascii_only, char *buf, size_t len)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && n + 5 < len; p++) {
		if (*p >= 0x20 && *p != 0x7f && (*p < 0x80 || !ascii_only))
			buf[n++] = (char)*p;
		else
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", *p);
	}
	buf[n] = 0;
	return buf;
}

const char *
rpt_text_safe(const char *s, char *buf, size_t len)
{
	return escape_bytes(s, true, buf, len);
}

/* Control characters as \xNN, UTF-8 kept. */
static const char *
controls_safe(const char *s, char *buf, size_t len)
{
	return escape_bytes(s, false, buf, len);
}

/* The entity for a byte HTML gives meaning to, or NULL. */
static const char *
html_entity(unsigned char c)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	default: return NULL;
	}
}

/* s escaped; with `breaks`, a line may break after each underscore (class names). */
static void
html_text(FILE *f, const char *s, bool breaks)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		const char *e = html_entity(*p);
		if (e)
			fputs(e, f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
		if (breaks && *p == '_')
			fputs("<wbr>", f);
	}
}

void
rpt_html_escape(FILE *f, const char *s)
{
	html_text(f, s, false);
}

void
rpt_table_init(struct rpt_table *t, enum rpt_format fmt, const char *title)
{
	memset(t, 0, sizeof(*t));
	t->fmt = fmt;
	t->title = title;
}

void
rpt_table_col(struct rpt_table *t, const char *head, enum rpt_col kind)
{
	if (t->n_cols < RPT_COL_MAX) {
		t->head[t->n_cols] = head;
		t->kind[t->n_cols] = kind;
		t->n_cols++;
	}
}

static const char *const col_class[] = {
	[RPT_COL_KEY] = "k", [RPT_COL_TEXT] = "t", [RPT_COL_NUM] = "n", [RPT_COL_LIST] = "l"};

int
rpt_table_row(struct rpt_table *t, bool strong)
{
	if (t->n_rows == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, (size_t)cap * t->n_cols * sizeof(*c));
		if (!c)
			return -ENOMEM;
		t->cells = c;
		bool *s = realloc(t->strong, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		t->strong = s;
		t->cap = cap;
	}
	memset(&t->cells[(size_t)t->n_rows * t->n_cols], 0, t->n_cols * sizeof(*t->cells));
	t->strong[t->n_rows] = strong;
	t->n_rows++;
	t->filled = 0;
	return 0;
}

/* Add an escaped cell (taken over). */
static int
put(struct rpt_table *t, char *cell)
{
	if (!cell)
		return -ENOMEM;
	if (t->filled >= t->n_cols) {
		free(cell);
		return -EINVAL;
	}
	t->cells[(size_t)(t->n_rows - 1) * t->n_cols + t->filled++] = cell;
	return 0;
}

/* s escaped for the table's layout, appended to a growing buffer. */
struct sbuf {
	char *s;
	size_t n, cap;
};

static void
sb_add(struct sbuf *b, const char *s)
{
	size_t k = strlen(s);
	if (b->n + k + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 128;
		while (cap < b->n + k + 1)
			cap *= 2;
		char *p = realloc(b->s, cap);
		if (!p)
			return; /* the cell ends short; put() sees NULL only if never allocated */
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, k + 1);
	b->n += k;
}

static void
sb_escaped(struct sbuf *b, enum rpt_format fmt, const char *raw)
{
	char buf[4 * BWG_LOG_FIELD_MAX + 8];
	if (fmt == RPT_TEXT) {
		sb_add(b, rpt_text_safe(raw, buf, sizeof(buf)));
		return;
	}
	controls_safe(raw, buf, sizeof(buf));
	if (fmt != RPT_HTML) {
		sb_add(b, buf);
		return;
	}
	char one[2] = {0, 0};
	for (const char *p = buf; *p; p++) {
		const char *e = html_entity((unsigned char)*p);
		one[0] = *p;
		sb_add(b, e ? e : one);
	}
}

static char *
sb_take(struct sbuf *b)
{
	if (!b->s)
		return strdup("");
	return b->s;
}

int
rpt_cell_text(struct rpt_table *t, const char *raw)
{
	struct sbuf b = {0};
	/* A spreadsheet runs a cell starting with these as a formula. */
	if (t->fmt == RPT_CSV && strchr("=+-@", raw[0]) && raw[0] && raw[1])
		sb_add(&b, "'");
	sb_escaped(&b, t->fmt, raw);
	return put(t, sb_take(&b));
}

const char *
rpt_num_text(uint64_t n, bool group, char *buf, size_t len)
{
	char d[32];
	int k = snprintf(d, sizeof(d), "%llu", (unsigned long long)n);
	size_t o = 0;
	for (int i = 0; i < k && o + 2 < len; i++) {
		if (group && i > 0 && (k - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = d[i];
	}
	buf[o] = 0;
	return buf;
}

int
rpt_cell_num(struct rpt_table *t, uint64_t n)
{
	char buf[40];
	rpt_num_text(n, t->fmt != RPT_CSV, buf, sizeof(buf));
	return put(t, strdup(buf));
}

/* Append item `s` to a list cell: ", " between items; in text a new line before an item
 * that would pass `width`. */
static void
list_add(struct sbuf *b, enum rpt_format fmt, const char *item_escaped, size_t *line, size_t width)
{
	size_t k = strlen(item_escaped);
	if (b->n) {
		if (fmt == RPT_TEXT && *line + 2 + k > width) {
			sb_add(b, ",\n");
			*line = 0;
		} else {
			sb_add(b, fmt == RPT_CSV ? "; " : ", ");
			*line += 2;
		}
	}
	sb_add(b, item_escaped);
	*line += k;
}

int
rpt_cell_items(struct rpt_table *t, const struct rpt *r, const struct rpt_item_count *v,
	       uint32_t n, uint64_t more, uint32_t n_more, enum rpt_item kind, size_t width)
{
	const struct rpt_strtab *names = kind == RPT_ITEM_HOST ? &r->hosts : &r->apps;
	struct sbuf b = {0};
	size_t line = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct sbuf it = {0};
		char num[40];
		sb_escaped(&it, t->fmt, names->names[v[i].id]);
		rpt_num_text(v[i].count, t->fmt != RPT_CSV, num, sizeof(num));
		sb_add(&it, " (");
		sb_add(&it, num);
		sb_add(&it, ")");
		if (it.s)
			list_add(&b, t->fmt, it.s, &line, width);
		free(it.s);
	}
	if (n_more) {
		char buf[96], num[40];
		rpt_num_text(more, t->fmt != RPT_CSV, num, sizeof(num));
		snprintf(buf, sizeof(buf), "+%u more (%s)", n_more, num);
		list_add(&b, t->fmt, buf, &line, width);
	}
	return put(t, b.s ? b.s : strdup(t->fmt == RPT_CSV ? "" : "-"));
}

static const char *
cell(const struct rpt_table *t, uint32_t row, uint32_t col)
{
	const char *c = t->cells[(size_t)row * t->n_cols + col];
	return c ? c : "";
}

/* Length of line `k` of a multi-line cell, and where it starts; NULL past the last. */
static const char *
cell_line(const char *c, uint32_t k, size_t *len)
{
	for (; k > 0; k--) {
		c = strchr(c, '\n');
		if (!c)
			return NULL;
		c++;
	}
	const char *e = strchr(c, '\n');
	*len = e ? (size_t)(e - c) : strlen(c);
	return c;
}

static void
write_text(const struct rpt_table *t, FILE *f)
{
	size_t w[RPT_COL_MAX];
	for (uint32_t c = 0; c < t->n_cols; c++) {
		char hb[4 * BWG_LOG_FIELD_MAX + 8];
		w[c] = strlen(rpt_text_safe(t->head[c], hb, sizeof(hb)));
		for (uint32_t r = 0; r < t->n_rows; r++) {
			size_t len;
			for (uint32_t k = 0; cell_line(cell(t, r, c), k, &len); k++)
				if (len > w[c])
					w[c] = len;
		}
	}
	fprintf(f, "%s\n", t->title);
	if (t->n_rows == 0) {
		fputs("  (none)\n", f);
		return;
	}
	for (uint32_t c = 0; c < t->n_cols; c++) {
		bool last = c + 1 == t->n_cols;
		char hb[4 * BWG_LOG_FIELD_MAX + 8];
		const char *h = rpt_text_safe(t->head[c], hb, sizeof(hb));
		if (t->kind[c] == RPT_COL_NUM)
			fprintf(f, "%*s%s", (int)w[c], h, last ? "" : "  ");
		else
			fprintf(f, "%-*s%s", last ? 0 : (int)w[c], h, last ? "" : "  ");
	}
	fputc('\n', f);
	for (uint32_t c = 0; c < t->n_cols; c++) {
		for (size_t i = 0; i < w[c]; i++)
			fputc('-', f);
		fputs(c + 1 == t->n_cols ? "\n" : "  ", f);
	}
	for (uint32_t r = 0; r < t->n_rows; r++) {
		for (uint32_t k = 0;; k++) {
			bool any = false;
			for (uint32_t c = 0; c < t->n_cols; c++)
				any |= cell_line(cell(t, r, c), k, &(size_t){0}) != NULL;
			if (!any)
				break;
			/* Trailing blanks are left off, so a short last column leaves none. */
			size_t pending = 0;
			for (uint32_t c = 0; c < t->n_cols; c++) {
				size_t len = 0;
				const char *s = cell_line(cell(t, r, c), k, &len);
				if (!s)
					len = 0;
				if (len == 0) {
					pending += w[c] + 2;
					continue;
				}
				size_t pad = t->kind[c] == RPT_COL_NUM ? w[c] - len : 0;
				fprintf(f, "%*s%.*s", (int)(pending + pad), "", (int)len, s);
				pending = t->kind[c] == RPT_COL_NUM ? 2 : w[c] - len + 2;
			}
			fputc('\n', f);
		}
	}
}

static void
csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
write_csv(const struct rpt_table *t, FILE *f)
{
	for (uint32_t c = 0; c < t->n_cols; c++) {
		char hb[4 * BWG_LOG_FIELD_MAX + 8];
		csv_field(f, controls_safe(t->head[c], hb, sizeof(hb)));
		fputs(c + 1 == t->n_cols ? "\r\n" : ",", f);
	}
	for (uint32_t r = 0; r < t->n_rows; r++)
		for (uint32_t c = 0; c < t->n_cols; c++) {
			csv_field(f, cell(t, r, c));
			fputs(c + 1 == t->n_cols ? "\r\n" : ",", f);
		}
}

static void
write_html(const struct rpt_table *t, FILE *f)
{
	if (t->n_rows == 0) {
		fputs("<p class=\"none\">None.</p>\n", f);
		return;
	}
	fputs("<table>\n<thead><tr>", f);
	for (uint32_t c = 0; c < t->n_cols; c++) {
		fprintf(f, "<th class=\"%s\">", col_class[t->kind[c]]);
		html_text(f, t->head[c], true);
		fputs("</th>", f);
	}
	fputs("</tr></thead>\n<tbody>\n", f);
	for (uint32_t r = 0; r < t->n_rows; r++) {
		fputs(t->strong[r] ? "<tr class=\"total\">" : "<tr>", f);
		for (uint32_t c = 0; c < t->n_cols; c++) {
			fprintf(f, "<td class=\"%s\">", col_class[t->kind[c]]);
			fputs(cell(t, r, c), f); /* escaped when added */
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

void
rpt_table_write(const struct rpt_table *t, FILE *f)
{
	switch (t->fmt) {
	case RPT_TEXT: write_text(t, f); break;
	case RPT_CSV: write_csv(t, f); break;
	case RPT_HTML: write_html(t, f); break;
	case RPT_JSON: break;
	}
}

void
rpt_table_fini(struct rpt_table *t)
{
	for (size_t i = 0; i < (size_t)t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->strong);
	memset(t, 0, sizeof(*t));
}
