/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading audit events back: one line of the audit log into the few fields a report
 * needs (bwgate-report; any thread, no allocation, no state).
 *
 * The audit log holds months of events, 10^7 lines and more, and a general JSON parser
 * costs ~14 µs a line building objects nobody keeps (jansson's json_loadb on a
 * 460-byte event). Events are flat objects, so a single pass suffices: keys are
 * matched by length and bytes, kept string values are decoded into fixed buffers, and
 * everything else is only checked — numbers against the JSON grammar, strings for
 * escapes, control characters and UTF-8, nested values (a future field) skipped to a
 * bounded depth. The input is a file anyone who reached the disk may have edited, so
 * every read is bounded by the line's length, and a line is either a complete JSON
 * object or refused: a line cut short by a crash, two lines run together or a stray
 * byte never yields half an event.
 */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "bwg_log.h"

#define NEST_MAX 32 /* depth of a nested value skipped over */

struct cur {
	const unsigned char *p, *end;
};

static void
skip_ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/*
 * The first byte at or after p that ends a run of plain string text: a quote, a
 * backslash, a control character or a non-ASCII byte; `end` if none. Sixteen bytes at
 * a time while they lie inside the line (strings are most of an event's bytes).
 */
static const unsigned char *
plain_run(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);
	while (end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* Signed: bytes >= 0x80 are negative, so below 0x20 too. */
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
						      _mm_cmpeq_epi8(x, bslash)),
					 _mm_cmplt_epi8(x, space));
		unsigned bits = (unsigned)_mm_movemask_epi8(m);
		if (bits)
			return p + __builtin_ctz(bits);
		p += 16;
	}
#endif
	while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		p++;
	return p;
}

static int
hex4(const unsigned char *p, uint32_t *v)
{
	uint32_t x = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char ch = p[i];
		uint32_t d;
		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
			d = (uint32_t)((ch | 0x20) - 'a' + 10);
		else
			return -1;
		x = x << 4 | d;
	}
	*v = x;
	return 0;
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char b = p[0];
	size_t n;
	uint32_t min, cp;
	if (b >= 0xc2 && b <= 0xdf) {
		n = 2, min = 0x80, cp = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		n = 3, min = 0x800, cp = b & 0x0f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		n = 4, min = 0x10000, cp = b & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static size_t
put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A string, the cursor on its opening quote. With `out` (cap bytes) the value is
 * decoded into it, NUL-terminated, its length in *len. Returns 0, -EINVAL for text that
 * is not a JSON string (or holds a NUL when decoded), -E2BIG when it does not fit.
 */
static int
read_string(struct cur *c, char *out, size_t cap, uint16_t *len)
{
	const unsigned char *p = c->p + 1, *end = c->end;
	size_t n = 0;
	int too_long = 0;
	for (;;) {
		/* The common case: a run of plain ASCII. */
		const unsigned char *run = p;
		p = plain_run(p, end);
		if (out && p > run) {
			size_t k = (size_t)(p - run);
			if (n + k < cap)
				memcpy(out + n, run, k);
			else
				too_long = 1;
			n += k;
		}
		if (p >= end)
			return -EINVAL;
		unsigned char ch = *p;
		if (ch == '"') {
			c->p = p + 1;
			if (!out)
				return 0;
			if (too_long || n >= cap)
				return -E2BIG;
			out[n] = 0;
			*len = (uint16_t)n;
			return 0;
		}
		if (ch < 0x20)
			return -EINVAL;
		char buf[4];
		size_t k;
		if (ch >= 0x80) {
			k = utf8_len(p, end);
			if (!k)
				return -EINVAL;
			memcpy(buf, p, k);
			p += k;
		} else { /* backslash */
			if (end - p < 2)
				return -EINVAL;
			ch = p[1];
			p += 2;
			switch (ch) {
			case '"': buf[0] = '"'; k = 1; break;
			case '\\': buf[0] = '\\'; k = 1; break;
			case '/': buf[0] = '/'; k = 1; break;
			case 'b': buf[0] = '\b'; k = 1; break;
			case 'f': buf[0] = '\f'; k = 1; break;
			case 'n': buf[0] = '\n'; k = 1; break;
			case 'r': buf[0] = '\r'; k = 1; break;
			case 't': buf[0] = '\t'; k = 1; break;
			case 'u': {
				uint32_t cp, lo;
				if (end - p < 4 || hex4(p, &cp) < 0)
					return -EINVAL;
				p += 4;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return -EINVAL; /* a low surrogate alone */
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
					    hex4(p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
						return -EINVAL;
					p += 6;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				if (cp == 0 && out)
					return -EINVAL; /* kept strings are C strings */
				k = put_utf8(buf, cp);
				break;
			}
			default: return -EINVAL;
			}
		}
		if (out) {
			if (n + k < cap)
				memcpy(out + n, buf, k);
			else
				too_long = 1;
			n += k;
		}
	}
}

static int
digits(struct cur *c)
{
	const unsigned char *s = c->p;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return c->p > s ? 0 : -1;
}

/*
 * A number by the JSON grammar. With t_us, its value as Unix microseconds (fraction
 * digits past the sixth dropped), or -1 when negative or beyond 2100.
 */
static int
read_number(struct cur *c, int64_t *t_us)
{
	const unsigned char *s = c->p;
	int neg = 0;
	if (c->p < c->end && *c->p == '-') {
		neg = 1;
		c->p++;
	}
	const unsigned char *ip = c->p;
	if (c->p < c->end && *c->p == '0')
		c->p++;
	else if (digits(c) < 0)
		return -EINVAL;
	const unsigned char *ie = c->p, *fp = NULL, *fe = NULL;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		fp = c->p;
		if (digits(c) < 0)
			return -EINVAL;
		fe = c->p;
	}
	int exp = 0;
	if (c->p < c->end && (*c->p | 0x20) == 'e') {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (digits(c) < 0)
			return -EINVAL;
		exp = 1;
	}
	if (!t_us)
		return 0;
	const int64_t limit = 4102444800ll; /* 2100-01-01 */
	*t_us = -1;
	if (neg)
		return 0;
	if (exp) {
		char buf[64];
		size_t n = (size_t)(c->p - s);
		if (n >= sizeof(buf))
			return 0;
		memcpy(buf, s, n);
		buf[n] = 0;
		double v = strtod(buf, NULL);
		if (v >= 0 && v < (double)limit)
			*t_us = (int64_t)llround(v * 1e6);
		return 0;
	}
	if (ie - ip > 10)
		return 0;
	int64_t sec = 0, us = 0;
	for (const unsigned char *q = ip; q < ie; q++)
		sec = sec * 10 + (*q - '0');
	for (int i = 0; i < 6; i++)
		us = us * 10 + (fp && fp + i < fe ? fp[i] - '0' : 0);
	if (sec < limit)
		*t_us = sec * 1000000 + us;
	return 0;
}

static int
literal(struct cur *c, const char *word, size_t n)
{
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return -EINVAL;
	c->p += n;
	return 0;
}

/* Any value, checked and skipped; objects and arrays to NEST_MAX deep. */
static int
skip_value(struct cur *c, int depth)
{
	if (c->p >= c->end)
		return -EINVAL;
	switch (*c->p) {
	case '"': return read_string(c, NULL, 0, NULL);
	case 't': return literal(c, "true", 4);
	case 'f': return literal(c, "false", 5);
	case 'n': return literal(c, "null", 4);
	case '{':
	case '[': {
		unsigned char close = *c->p == '{' ? '}' : ']';
		int obj = close == '}';
		if (depth >= NEST_MAX)
			return -EINVAL;
		c->p++;
		skip_ws(c);
		if (c->p < c->end && *c->p == close) {
			c->p++;
			return 0;
		}
		for (;;) {
			if (obj) {
				if (c->p >= c->end || *c->p != '"' ||
				    read_string(c, NULL, 0, NULL) < 0)
					return -EINVAL;
				skip_ws(c);
				if (c->p >= c->end || *c->p != ':')
					return -EINVAL;
				c->p++;
				skip_ws(c);
			}
			if (skip_value(c, depth + 1) < 0)
				return -EINVAL;
			skip_ws(c);
			if (c->p >= c->end)
				return -EINVAL;
			if (*c->p == close) {
				c->p++;
				return 0;
			}
			if (*c->p != ',')
				return -EINVAL;
			c->p++;
			skip_ws(c);
		}
	}
	default: return read_number(c, NULL);
	}
}

/* The kept field a key names, BWG_LOGF_TIME for "time", or -1. */
static int
field_of(const unsigned char *k, size_t n)
{
	switch (n) {
	case 3: return memcmp(k, "app", 3) == 0 ? BWG_LOGF_APP : -1;
	case 4:
		if (memcmp(k, "time", 4) == 0)
			return BWG_LOGF_TIME;
		if (memcmp(k, "host", 4) == 0)
			return BWG_LOGF_HOST;
		if (memcmp(k, "unit", 4) == 0)
			return BWG_LOGF_UNIT;
		return memcmp(k, "rule", 4) == 0 ? BWG_LOGF_RULE : -1;
	case 5:
		if (memcmp(k, "event", 5) == 0)
			return BWG_LOGF_EVENT;
		return memcmp(k, "class", 5) == 0 ? BWG_LOGF_CLASS : -1;
	case 6:
		if (memcmp(k, "src_ip", 6) == 0)
			return BWG_LOGF_SRC_IP;
		return memcmp(k, "dst_ip", 6) == 0 ? BWG_LOGF_DST_IP : -1;
	default: return -1;
	}
}

int
bwg_log_line_parse(struct bwg_log_line *l, const char *line, size_t len)
{
	struct cur c = {(const unsigned char *)line, (const unsigned char *)line + len};
	l->present = 0;
	skip_ws(&c);
	if (c.p >= c.end || *c.p != '{')
		return -EINVAL;
	c.p++;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
		goto tail;
	}
	for (;;) {
		if (c.p >= c.end || *c.p != '"')
			return -EINVAL;
		const unsigned char *k = c.p + 1;
		if (read_string(&c, NULL, 0, NULL) < 0)
			return -EINVAL;
		/* A key with an escape never names a kept field: the log writes them plain. */
		int f = field_of(k, (size_t)(c.p - 1 - k));
		skip_ws(&c);
		if (c.p >= c.end || *c.p != ':')
			return -EINVAL;
		c.p++;
		skip_ws(&c);
		if (c.p >= c.end)
			return -EINVAL;
		int rc;
		if (f == BWG_LOGF_TIME && (*c.p == '-' || (*c.p >= '0' && *c.p <= '9'))) {
			rc = read_number(&c, &l->time_us);
			l->present &= ~(1u << BWG_LOGF_TIME);
			if (rc == 0 && l->time_us >= 0)
				l->present |= 1u << BWG_LOGF_TIME;
		} else if (f >= 0 && f < BWG_LOGF_STR_MAX && *c.p == '"') {
			rc = read_string(&c, l->str[f], sizeof(l->str[f]), &l->len[f]);
			if (rc == 0)
				l->present |= 1u << f;
		} else {
			/* A kept key of the wrong type counts as absent; a repeated key, last wins. */
			if (f >= 0)
				l->present &= ~(1u << f);
			rc = skip_value(&c, 0);
		}
		if (rc < 0)
			return rc;
		skip_ws(&c);
		if (c.p >= c.end)
			return -EINVAL;
		if (*c.p == '}') {
			c.p++;
			break;
		}
		if (*c.p != ',')
			return -EINVAL;
		c.p++;
		skip_ws(&c);
	}
tail:
	skip_ws(&c);
	return c.p == c.end ? 0 : -EINVAL;
}
