/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config loader and validator (control thread).
 *
 * The walk mirrors the document: one function per object, each told the JSON path it
 * sits at, so any fault can name its place. Every object checks its keys against the
 * list it accepts, which turns a typo ("shedule") into an error instead of a rule that
 * quietly matches at all hours. Defaults exist only where doc/configuration.md
 * documents them.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>

#include <idn2.h>

#include "bwg_config.h"

const char *const bwg_period_names[BWG_PERIOD_MAX] = {
	[BWG_PERIOD_DAY] = "day",
	[BWG_PERIOD_WEEK] = "week",
};

const char *const bwg_action_names[BWG_ACTION_MAX] = {
	[BWG_ACTION_ALLOW] = "allow",
	[BWG_ACTION_BLOCK] = "block",
	[BWG_ACTION_LIMIT] = "limit",
};

/* Parsing context: the file label for messages and the error buffer. */
struct ctx {
	const char *name;
	const char *dir;
	char *err;
	size_t errlen;
	struct bwg_config *c;
};

#define PATH_MAX_LEN 256

static int __attribute__((format(printf, 3, 4)))
fail(struct ctx *x, const char *path, const char *fmt, ...)
{
	char msg[BWG_CONFIG_ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path && *path)
		snprintf(x->err, x->errlen, "%s: %s: %s", x->name, path, msg);
	else
		snprintf(x->err, x->errlen, "%s: %s", x->name, msg);
	return -EINVAL;
}

static const char *
json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static void
join(char *out, const char *path, const char *key)
{
	if (path && *path)
		snprintf(out, PATH_MAX_LEN, "%s.%s", path, key);
	else
		snprintf(out, PATH_MAX_LEN, "%s", key);
}

static void
join_idx(char *out, const char *path, size_t i)
{
	snprintf(out, PATH_MAX_LEN, "%s[%zu]", path, i);
}

/* Every key of obj must be in the NULL-terminated list. */
static int
check_keys(struct ctx *x, const char *path, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		int ok = 0;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(*a, key) == 0;
		if (!ok) {
			char p[PATH_MAX_LEN], list[256] = "";
			join(p, path, key);
			for (const char *const *a = allowed; *a; a++) {
				strncat(list, *a, sizeof(list) - strlen(list) - 1);
				if (a[1])
					strncat(list, ", ", sizeof(list) - strlen(list) - 1);
			}
			return fail(x, p, "unknown key (expected one of: %s)", list);
		}
	}
	return 0;
}

static int
want_object(struct ctx *x, const char *path, json_t *v)
{
	if (!json_is_object(v))
		return fail(x, path, "must be an object, not %s", json_type_name(v));
	return 0;
}

static int
get_uint(struct ctx *x, json_t *obj, const char *path, const char *key, uint32_t *out,
	 uint32_t def, uint32_t min, uint32_t max)
{
	char p[PATH_MAX_LEN];
	join(p, path, key);
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v))
		return fail(x, p, "must be an integer, not %s", json_type_name(v));
	json_int_t i = json_integer_value(v);
	if (i < (json_int_t)min || i > (json_int_t)max)
		return fail(x, p, "%lld is out of range (%u..%u)", (long long)i, min, max);
	*out = (uint32_t)i;
	return 0;
}

static int
get_bool(struct ctx *x, json_t *obj, const char *path, const char *key, bool *out, bool def)
{
	char p[PATH_MAX_LEN];
	join(p, path, key);
	json_t *v = json_object_get(obj, key);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v))
		return fail(x, p, "must be true or false, not %s", json_type_name(v));
	*out = json_is_true(v);
	return 0;
}

/* Optional string; *out stays NULL when absent. */
static int
get_string(struct ctx *x, json_t *obj, const char *path, const char *key, char **out)
{
	char p[PATH_MAX_LEN];
	join(p, path, key);
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return fail(x, p, "must be a string, not %s", json_type_name(v));
	if (json_string_length(v) == 0)
		return fail(x, p, "must not be empty");
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

/* One of the NULL-terminated choices; returns its index in *out. */
static int
get_enum(struct ctx *x, json_t *obj, const char *path, const char *key, int *out, int def,
	 const char *const *choices)
{
	char p[PATH_MAX_LEN];
	join(p, path, key);
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	if (!v) {
		if (def < 0)
			return fail(x, p, "is required");
		*out = def;
		return 0;
	}
	char list[128] = "";
	for (int i = 0; choices[i]; i++) {
		if (json_is_string(v) && strcmp(json_string_value(v), choices[i]) == 0) {
			*out = i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
			 i ? ", " : "", choices[i]);
	}
	if (!json_is_string(v))
		return fail(x, p, "must be one of %s, not %s", list, json_type_name(v));
	return fail(x, p, "\"%s\" is not one of %s", json_string_value(v), list);
}

static char *
resolve_path(const char *dir, const char *p)
{
	if (p[0] == '/' || !dir || !*dir)
		return strdup(p);
	size_t n = strlen(dir) + strlen(p) + 2;
	char *r = malloc(n);
	if (r)
		snprintf(r, n, "%s/%s", dir, p);
	return r;
}

static int
valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= BWG_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_' ||
		      *s == '-'))
			return 0;
	return 1;
}

/* ---- values with units ---------------------------------------------------------- */

static int
split_number(const char *s, double *num, const char **unit)
{
	char *end;
	errno = 0;
	*num = strtod(s, &end);
	if (end == s || errno || !isfinite(*num) || *num <= 0 || isspace((unsigned char)*s))
		return -1;
	while (*end == ' ')
		end++;
	*unit = end;
	return 0;
}

int
bwg_config_open_regular(const char *path, unsigned long long max_bytes, const char *prefix,
			char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s%s: %s", prefix, path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s%s: not a regular file", prefix, path);
		return -EINVAL;
	}
	if ((unsigned long long)st.st_size > max_bytes) {
		close(fd);
		snprintf(err, errlen, "%s%s: %lld bytes, more than such a file may hold (%llu)",
			 prefix, path, (long long)st.st_size, max_bytes);
		return -EFBIG;
	}
	return fd;
}

int
bwg_file_replace(const char *path, const char *text, size_t len, mode_t mode, char *err,
		 size_t errlen)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -errno;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	int e = off == len ? 0 : errno ? errno : EIO;
	if (!e && fsync(fd) < 0)
		e = errno;
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e) {
		unlink(tmp);
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	/* The rename itself reaches the disk with its folder. */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int
bwg_config_name_error(char *err, size_t errlen, const struct bwg_config *c, const char *where,
		      const char *msg, const char *name)
{
	snprintf(err, errlen, "%s: %s: \"%s\" %s", c->path, where, name, msg);
	return -EINVAL;
}

/* A number and a unit, scaled: one of the quantities the config writes with units. */
struct scaled {
	const char *what;    /* "rate", "size" */
	const char *example; /* "2Mbit" */
	const char *const *units; /* lower case, NULL-terminated */
	const double *mult;
	const char *unit_list; /* "bit, Kbit, Mbit, Gbit" */
	double min, max;
	const char *range; /* "8Kbit..400Gbit" */
};

static int
parse_scaled(const struct scaled *q, const char *s, uint64_t *out, char *err, size_t errlen)
{
	double num;
	const char *unit;
	if (split_number(s, &num, &unit) < 0) {
		snprintf(err, errlen, "\"%s\" is not a positive %s such as \"%s\"", s, q->what,
			 q->example);
		return -EINVAL;
	}
	for (size_t i = 0; q->units[i]; i++) {
		if (strcasecmp(unit, q->units[i]) == 0) {
			double v = num * q->mult[i];
			if (v < q->min || v > q->max) {
				snprintf(err, errlen, "%s is out of range (%s)", s, q->range);
				return -EINVAL;
			}
			*out = (uint64_t)llround(v);
			return 0;
		}
	}
	snprintf(err, errlen, "unknown unit \"%s\" (use %s)", unit, q->unit_list);
	return -EINVAL;
}

int
bwg_config_parse_rate(const char *s, uint64_t *bps, char *err, size_t errlen)
{
	static const char *const units[] = {"bit", "kbit", "mbit", "gbit", NULL};
	static const double mult[] = {1, 1e3, 1e6, 1e9};
	static const struct scaled q = {"rate", "2Mbit", units, mult, "bit, Kbit, Mbit, Gbit",
					8000, 400e9, "8Kbit..400Gbit"};
	return parse_scaled(&q, s, bps, err, errlen);
}

int
bwg_config_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	static const char *const units[] = {"b", "kb", "mb", NULL};
	static const double mult[] = {1, 1024, 1024 * 1024};
	static const struct scaled q = {"size", "64KB", units, mult, "B, KB, MB", 1500,
					1024.0 * 1024 * 1024, "1500B..1024MB"};
	return parse_scaled(&q, s, bytes, err, errlen);
}

/* "100MB", "1.5GB": a quota's volume (B, KB, MB, GB, TB; x1024), 1MB .. 1024TB. */
static int
parse_volume(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	static const char *const units[] = {"b", "kb", "mb", "gb", "tb", NULL};
	static const double mult[] = {1, 1024.0, 1024.0 * 1024, 1024.0 * 1024 * 1024,
				      1024.0 * 1024 * 1024 * 1024};
	static const struct scaled q = {"volume", "100MB", units, mult, "B, KB, MB, GB, TB",
					1024.0 * 1024, 1024.0 * 1024 * 1024 * 1024 * 1024,
					"1MB..1024TB"};
	return parse_scaled(&q, s, bytes, err, errlen);
}

int
bwg_config_parse_cidr(const char *s, struct bwg_cidr *c, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "\"%s\" is not an address or CIDR", s);
		return -EINVAL;
	}
	strcpy(buf, s);
	char *slash = strchr(buf, '/');
	long len = -1;
	if (slash) {
		char *end;
		*slash = 0;
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || errno || len < 0 || !isdigit((unsigned char)slash[1])) {
			snprintf(err, errlen, "\"%s\": bad prefix length", s);
			return -EINVAL;
		}
	}
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = 4;
		if (len < 0)
			len = 32;
		if (len > 32) {
			snprintf(err, errlen, "\"%s\": prefix length %ld is over 32", s, len);
			return -EINVAL;
		}
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = 6;
		if (len < 0)
			len = 128;
		if (len > 128) {
			snprintf(err, errlen, "\"%s\": prefix length %ld is over 128", s, len);
			return -EINVAL;
		}
	} else {
		snprintf(err, errlen, "\"%s\" is not an IPv4 or IPv6 address", buf);
		return -EINVAL;
	}
	c->len = (uint8_t)len;
	/* Host bits set is almost always a typo in an address plan. */
	for (unsigned bit = (unsigned)len; bit < (c->family == 4 ? 32u : 128u); bit++) {
		if (c->addr[bit / 8] & (0x80 >> (bit % 8))) {
			snprintf(err, errlen, "\"%s\" has host bits set beyond /%ld", s, len);
			return -EINVAL;
		}
	}
	return 0;
}

int
bwg_config_parse_collector(const char *s, struct bwg_collector_url *u, char *err, size_t errlen)
{
	static const char *const schemes[BWG_TRANSPORT_MAX] = {"udp://", "tcp://"};
	memset(u, 0, sizeof(*u));
	const char *rest = NULL;
	for (int t = 0; t < BWG_TRANSPORT_MAX && !rest; t++)
		if (strncmp(s, schemes[t], strlen(schemes[t])) == 0) {
			u->transport = (enum bwg_transport)t;
			rest = s + strlen(schemes[t]);
		}
	if (!rest) {
		snprintf(err, errlen, "\"%s\" is not udp://HOST:PORT or tcp://HOST:PORT", s);
		return -EINVAL;
	}
	const char *host = rest, *colon;
	size_t hlen;
	if (*rest == '[') { /* an IPv6 address */
		const char *close = strchr(rest, ']');
		if (!close || close[1] != ':') {
			snprintf(err, errlen, "\"%s\": an IPv6 address is written [ADDRESS]:PORT", s);
			return -EINVAL;
		}
		host = rest + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(rest, ':');
		if (!colon || memchr(rest, ':', (size_t)(colon - rest))) {
			snprintf(err, errlen, "\"%s\": expected HOST:PORT (an IPv6 address in "
				 "brackets)", s);
			return -EINVAL;
		}
		hlen = (size_t)(colon - rest);
	}
	if (hlen == 0 || hlen >= sizeof(u->host)) {
		snprintf(err, errlen, "\"%s\": the host must be 1 to %zu characters", s,
			 sizeof(u->host) - 1);
		return -EINVAL;
	}
	memcpy(u->host, host, hlen);
	for (size_t i = 0; i < hlen; i++)
		if (!isalnum((unsigned char)u->host[i]) && !strchr(".-_:", u->host[i])) {
			snprintf(err, errlen, "\"%s\": the host has a character a name or an "
				 "address cannot hold", s);
			return -EINVAL;
		}
	const char *port = colon + 1;
	char *end;
	errno = 0;
	unsigned long n = strtoul(port, &end, 10);
	if (!isdigit((unsigned char)*port) || *end || errno || n < 1 || n > 65535) {
		snprintf(err, errlen, "\"%s\": the port must be a number from 1 to 65535", s);
		return -EINVAL;
	}
	snprintf(u->port, sizeof(u->port), "%lu", n);
	return 0;
}

static int
is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
bwg_config_host_normalise(char *s, size_t cap, char *why, size_t whylen)
{
	size_t n = strlen(s);
	int wild = n >= 2 && s[0] == '*' && s[1] == '.';
	char *p = s + (wild ? 2 : 0);
	int ascii = 1;
	for (const char *q = p; *q; q++)
		ascii &= (unsigned char)*q < 0x80;
	if (!ascii) {
		char *out = NULL;
		int rc = idn2_to_ascii_8z(p, &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		if (rc != IDN2_OK) {
			snprintf(why, whylen, "not a valid international domain name (%s)",
				 idn2_strerror(rc));
			return -EINVAL;
		}
		size_t m = strlen(out);
		if ((size_t)(p - s) + m + 1 > cap) {
			idn2_free(out);
			snprintf(why, whylen, "longer than %d characters in its xn-- form",
				 BWG_HOST_NAME_MAX);
			return -EINVAL;
		}
		memcpy(p, out, m + 1);
		idn2_free(out);
		n = strlen(s);
	}
	for (char *q = p; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q + 32);
	if (*p == 0) {
		snprintf(why, whylen, "an empty name");
		return -EINVAL;
	}
	if (n > BWG_HOST_NAME_MAX) {
		snprintf(why, whylen, "longer than %d characters", BWG_HOST_NAME_MAX);
		return -EINVAL;
	}
	unsigned char a[16];
	if (inet_pton(AF_INET, p, a) == 1 || inet_pton(AF_INET6, p, a) == 1) {
		snprintf(why, whylen, "an IP address, not a host name (put addresses in an "
			 "address list)");
		return -EINVAL;
	}
	size_t label = 0;
	for (size_t i = 0; p[i]; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '.') {
			if (label == 0) {
				snprintf(why, whylen, "an empty label at column %zu",
					 (size_t)(p - s) + i + 1);
				return -EINVAL;
			}
			label = 0;
			continue;
		}
		if (!is_name_char(c)) {
			if (c == '*')
				snprintf(why, whylen, "'*' is only allowed as a leading \"*.\"");
			else if (c == ':' || c == '/')
				snprintf(why, whylen, "bad character '%c' at column %zu: give the "
					 "host name alone, not a URL", c, (size_t)(p - s) + i + 1);
			else if (c >= 0x20 && c < 0x7f)
				snprintf(why, whylen, "bad character '%c' at column %zu", c,
					 (size_t)(p - s) + i + 1);
			else
				snprintf(why, whylen, "bad byte 0x%02x at column %zu", c,
					 (size_t)(p - s) + i + 1);
			return -EINVAL;
		}
		if (++label > 63) {
			snprintf(why, whylen, "a label longer than 63 characters");
			return -EINVAL;
		}
	}
	if (label == 0) {
		snprintf(why, whylen, "ends with a dot");
		return -EINVAL;
	}
	return 0;
}

int
bwg_config_check_host(char *s, char *err, size_t errlen)
{
	char orig[BWG_HOST_NAME_MAX + 1], why[256];
	snprintf(orig, sizeof(orig), "%s", s);
	if (bwg_config_host_normalise(s, BWG_HOST_NAME_MAX + 1, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "\"%s\" is not a host pattern: %s", orig, why);
		return -EINVAL;
	}
	return 0;
}

/* Edit distance of a and b (case-insensitive), or > limit as soon as it must be. */
static unsigned
edit_distance(const char *a, const char *b, unsigned limit)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return limit + 1;
	if ((la > lb ? la - lb : lb - la) > limit)
		return limit + 1;
	unsigned prev[64], cur[64];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (unsigned)i;
		unsigned best = cur[0];
		for (size_t j = 1; j <= lb; j++) {
			unsigned sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) !=
						      tolower((unsigned char)b[j - 1]));
			unsigned del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
			if (cur[j] < best)
				best = cur[j];
		}
		if (best > limit)
			return limit + 1;
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

int
bwg_config_suggest(const char *name, const char *const *cands, uint32_t n, char *out,
		   size_t len)
{
	int found = 0;
	out[0] = 0;
	for (unsigned d = 0; d <= 2 && found == 0; d++) {
		for (uint32_t i = 0; i < n && found < 3; i++) {
			if (!cands[i] || !*cands[i])
				continue;
			if (edit_distance(name, cands[i], 2) != d)
				continue;
			snprintf(out + strlen(out), len - strlen(out), "%s\"%s\"", found ? ", " : "",
				 cands[i]);
			found++;
		}
	}
	return found;
}

/* ---- lists ------------------------------------------------------------------------ */

static int
strlist_add(struct bwg_strlist *l, const char *v, const char *where)
{
	char **nv = realloc(l->v, (l->n + 1) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	l->v = nv;
	char **nw = realloc(l->where, (l->n + 1) * sizeof(char *));
	if (!nw)
		return -ENOMEM;
	l->where = nw;
	l->v[l->n] = strdup(v);
	l->where[l->n] = strdup(where);
	if (!l->v[l->n] || !l->where[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

static void
strlist_free(struct bwg_strlist *l)
{
	for (uint32_t i = 0; i < l->n; i++) {
		free(l->v[i]);
		free(l->where[i]);
	}
	free(l->v);
	free(l->where);
	memset(l, 0, sizeof(*l));
}

/* Array of non-empty strings at obj[key] (optional); hosts are syntax-checked. */
static int
get_strlist(struct ctx *x, json_t *obj, const char *path, const char *key, struct bwg_strlist *l,
	    bool hosts, bool *present)
{
	char p[PATH_MAX_LEN];
	join(p, path, key);
	json_t *arr = json_object_get(obj, key);
	if (present)
		*present = arr != NULL;
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return fail(x, p, "must be an array of strings, not %s", json_type_name(arr));
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		char pi[PATH_MAX_LEN];
		join_idx(pi, p, i);
		if (!json_is_string(v) || json_string_length(v) == 0)
			return fail(x, pi, "must be a non-empty string");
		char buf[300], msg[BWG_CONFIG_ERR_MAX];
		snprintf(buf, sizeof(buf), "%s", json_string_value(v));
		if (hosts && bwg_config_check_host(buf, msg, sizeof(msg)) < 0)
			return fail(x, pi, "%s", msg);
		if (strlist_add(l, buf, pi) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Array of CIDR strings at obj[key] (optional), each checked. */
static int
get_cidrlist(struct ctx *x, json_t *obj, const char *path, const char *key,
	     struct bwg_strlist *l)
{
	int rc = get_strlist(x, obj, path, key, l, false, NULL);
	for (uint32_t i = 0; rc == 0 && i < l->n; i++) {
		struct bwg_cidr cd;
		char msg[BWG_CONFIG_ERR_MAX];
		if (bwg_config_parse_cidr(l->v[i], &cd, msg, sizeof(msg)) < 0)
			rc = fail(x, l->where[i], "%s", msg);
	}
	return rc;
}

/* ---- sections -------------------------------------------------------------------- */

static int
parse_flows(struct ctx *x, json_t *o)
{
	static const char *const keys[] = {"capacity", "on_full", "hosts_capacity", "timeouts",
					   "per_host_max", NULL};
	static const char *const full[] = {"forward", "drop", NULL};
	struct bwg_config *c = x->c;
	int rc, on_full;
	if (o && ((rc = want_object(x, "flows", o)) || (rc = check_keys(x, "flows", o, keys))))
		return rc;
	if ((rc = get_uint(x, o, "flows", "capacity", &c->flow_capacity, 262144, 1024,
			   16777216)) ||
	    (rc = get_enum(x, o, "flows", "on_full", &on_full, 0, full)) ||
	    (rc = get_uint(x, o, "flows", "hosts_capacity", &c->hosts_capacity,
			   c->flow_capacity / 4, 64, 16777216)) ||
	    (rc = get_uint(x, o, "flows", "per_host_max", &c->flows_per_host_max, 0, 0,
			   16777216)))
		return rc;
	c->flow_full_drop = on_full == 1;
	json_t *t = o ? json_object_get(o, "timeouts") : NULL;
	static const char *const tkeys[] = {"tcp",   "tcp_closed",    "tcp_opening",
					    "udp",   "udp_unreplied", "other",
					    NULL};
	if (t && ((rc = want_object(x, "flows.timeouts", t)) ||
		  (rc = check_keys(x, "flows.timeouts", t, tkeys))))
		return rc;
	if ((rc = get_uint(x, t, "flows.timeouts", "tcp", &c->timeout_tcp, 300, 1, 86400)) ||
	    (rc = get_uint(x, t, "flows.timeouts", "tcp_closed", &c->timeout_tcp_closed, 10, 1,
			   86400)) ||
	    (rc = get_uint(x, t, "flows.timeouts", "udp", &c->timeout_udp, 60, 1, 86400)) ||
	    (rc = get_uint(x, t, "flows.timeouts", "other", &c->timeout_other, 30, 1, 86400)) ||
	    (rc = get_uint(x, t, "flows.timeouts", "tcp_opening", &c->timeout_tcp_opening, 15, 1,
			   86400)) ||
	    (rc = get_uint(x, t, "flows.timeouts", "udp_unreplied", &c->timeout_udp_unreplied,
			   10, 1, 86400)))
		return rc;
	return 0;
}

static int
parse_dpi(struct ctx *x, json_t *o)
{
	static const char *const keys[] = {"max_packets", "max_in_progress", "protocols_file",
					   "categories_file", NULL};
	static const char *const mkeys[] = {"tcp", "udp", "other", NULL};
	struct bwg_config *c = x->c;
	int rc;
	if (o && ((rc = want_object(x, "dpi", o)) || (rc = check_keys(x, "dpi", o, keys))))
		return rc;
	json_t *m = o ? json_object_get(o, "max_packets") : NULL;
	if (m && ((rc = want_object(x, "dpi.max_packets", m)) ||
		  (rc = check_keys(x, "dpi.max_packets", m, mkeys))))
		return rc;
	if ((rc = get_uint(x, m, "dpi.max_packets", "tcp", &c->dpi_max_pkts[0], 80, 1, 255)) ||
	    (rc = get_uint(x, m, "dpi.max_packets", "udp", &c->dpi_max_pkts[1], 24, 1, 255)) ||
	    (rc = get_uint(x, m, "dpi.max_packets", "other", &c->dpi_max_pkts[2], 24, 1, 255)) ||
	    (rc = get_uint(x, o, "dpi", "max_in_progress", &c->dpi_max_in_progress,
			   c->flow_capacity / 4, 16, c->flow_capacity)))
		return rc;
	char *pf = NULL, *cf = NULL;
	if ((rc = get_string(x, o, "dpi", "protocols_file", &pf)) ||
	    (rc = get_string(x, o, "dpi", "categories_file", &cf))) {
		free(pf);
		return rc;
	}
	if (pf) {
		c->protocols_file = resolve_path(x->dir, pf);
		free(pf);
	}
	if (cf) {
		c->categories_file = resolve_path(x->dir, cf);
		free(cf);
	}
	return 0;
}

/* dns: the names learned from DNS answers (lib/classify/dnsnames.c). */
static int
parse_dns(struct ctx *x, json_t *o)
{
	static const char *const keys[] = {"cache_entries", "max_ttl", NULL};
	struct bwg_config *c = x->c;
	int rc;
	if (o && ((rc = want_object(x, "dns", o)) || (rc = check_keys(x, "dns", o, keys))))
		return rc;
	if ((rc = get_uint(x, o, "dns", "cache_entries", &c->dns_cache_entries, 65536, 0,
			   16777216)) ||
	    (rc = get_uint(x, o, "dns", "max_ttl", &c->dns_max_ttl, 3600, 1, 604800)))
		return rc;
	return 0;
}

/*
 * behaviour: P2P behaviour of inside hosts (lib/classify/behaviour.c). The thresholds'
 * ceilings are what its sketches estimate well (bwg_behaviour.h).
 */
static int
parse_behaviour(struct ctx *x, json_t *o)
{
	static const char *const keys[] = {"hosts", "window", "tag_for", "peers",
					   "tcp_udp_peers", "port_peers", NULL};
	struct bwg_config *c = x->c;
	int rc;
	if (o && ((rc = want_object(x, "behaviour", o)) ||
		  (rc = check_keys(x, "behaviour", o, keys))))
		return rc;
	if ((rc = get_uint(x, o, "behaviour", "hosts", &c->behaviour_hosts, 16384, 0, 1048576)) ||
	    (rc = get_uint(x, o, "behaviour", "window", &c->behaviour_window, 300, 10, 3600)) ||
	    (rc = get_uint(x, o, "behaviour", "tag_for", &c->behaviour_tag_for, 600, 10,
			   86400)) ||
	    (rc = get_uint(x, o, "behaviour", "peers", &c->behaviour_peers, 20, 0, 200)) ||
	    (rc = get_uint(x, o, "behaviour", "tcp_udp_peers", &c->behaviour_tcp_udp_peers, 3, 0,
			   40)) ||
	    (rc = get_uint(x, o, "behaviour", "port_peers", &c->behaviour_port_peers, 8, 0,
			   100)))
		return rc;
	return 0;
}

/* users: per-user accounting (lib/stats/users.c), sized at start-up. */
static int
parse_users(struct ctx *x, json_t *o)
{
	static const char *const keys[] = {"hosts", NULL};
	int rc;
	if (o && ((rc = want_object(x, "users", o)) || (rc = check_keys(x, "users", o, keys))))
		return rc;
	return get_uint(x, o, "users", "hosts", &x->c->users_hosts, 4096, 0, 1048576);
}

static int
parse_packets(struct ctx *x, json_t *o)
{
	static const char *const keys[] = {"non_ip",		  "malformed",
					   "unknown_ethertype",	  "unmatched_fragments",
					   "reset_interval",	  "reset_rate",
					   NULL};
	static const char *const fd[] = {"forward", "drop", NULL};
	static const char *const ue[] = {"non_ip", "ip_by_version", NULL};
	int rc, non_ip, malformed, unknown, unmatched;
	if (o && ((rc = want_object(x, "packets", o)) || (rc = check_keys(x, "packets", o, keys))))
		return rc;
	if ((rc = get_enum(x, o, "packets", "non_ip", &non_ip, 0, fd)) ||
	    (rc = get_enum(x, o, "packets", "malformed", &malformed, 1, fd)) ||
	    (rc = get_enum(x, o, "packets", "unknown_ethertype", &unknown, 0, ue)) ||
	    (rc = get_enum(x, o, "packets", "unmatched_fragments", &unmatched, 1, fd)) ||
	    (rc = get_uint(x, o, "packets", "reset_interval", &x->c->reset_interval, 1, 0,
			   3600)) ||
	    (rc = get_uint(x, o, "packets", "reset_rate", &x->c->reset_rate, 1000, 1, 1000000)))
		return rc;
	x->c->unmatched_fragments_drop = unmatched == 1;
	x->c->sniff_ip = unknown == 1;
	x->c->non_ip_drop = non_ip == 1;
	x->c->malformed_drop = malformed == 1;
	return 0;
}

static int
parse_units(struct ctx *x, json_t *o)
{
	struct bwg_config *c = x->c;
	int rc;
	if (!o)
		return 0;
	if ((rc = want_object(x, "units", o)))
		return rc;
	if (json_object_size(o) > BWG_UNIT_MAX)
		return fail(x, "units", "at most %d units", BWG_UNIT_MAX);
	c->units = calloc(json_object_size(o) + 1, sizeof(*c->units));
	if (!c->units)
		return -ENOMEM;
	const char *name;
	json_t *arr;
	json_object_foreach(o, name, arr) {
		char p[PATH_MAX_LEN];
		join(p, "units", name);
		if (!valid_name(name))
			return fail(x, p, "unit names use a-z, 0-9, '_' and '-' (at most %d)",
				    BWG_NAME_MAX - 1);
		struct bwg_conf_unit *u = &c->units[c->n_units++];
		if (json_is_object(arr)) {
			/* The long form: {"cidrs": [...], "flows_per_host_max": N}. */
			static const char *const ukeys[] = {"cidrs", "flows_per_host_max", NULL};
			json_t *cap = json_object_get(arr, "flows_per_host_max");
			if ((rc = check_keys(x, p, arr, ukeys)) ||
			    (cap && (rc = get_uint(x, arr, p, "flows_per_host_max",
						   &u->flows_per_host_max, 0, 0, 16777216))))
				return rc;
			u->has_flows_per_host_max = cap != NULL;
			char pu[PATH_MAX_LEN];
			join(pu, p, "cidrs");
			memcpy(p, pu, sizeof(p));
			arr = json_object_get(arr, "cidrs");
		}
		if (!json_is_array(arr) || json_array_size(arr) == 0)
			return fail(x, p, "must be a non-empty array of CIDR strings");
		u->name = strdup(name);
		u->cidrs = calloc(json_array_size(arr), sizeof(*u->cidrs));
		if (!u->name || !u->cidrs)
			return -ENOMEM;
		size_t i;
		json_t *v;
		json_array_foreach(arr, i, v) {
			char pi[PATH_MAX_LEN], msg[BWG_CONFIG_ERR_MAX];
			join_idx(pi, p, i);
			if (!json_is_string(v))
				return fail(x, pi, "must be a CIDR string, not %s",
					    json_type_name(v));
			if (bwg_config_parse_cidr(json_string_value(v), &u->cidrs[i], msg,
						  sizeof(msg)) < 0)
				return fail(x, pi, "%s", msg);
			/* Longest prefix wins, so a second unit with the same prefix would never
			 * match: refuse it. */
			for (uint32_t k = 0; k < c->n_units; k++) {
				const struct bwg_conf_unit *ou = &c->units[k];
				uint32_t n = ou == u ? (uint32_t)i : ou->n_cidrs;
				for (uint32_t m = 0; m < n; m++)
					if (ou->cidrs[m].family == u->cidrs[i].family &&
					    ou->cidrs[m].len == u->cidrs[i].len &&
					    memcmp(ou->cidrs[m].addr, u->cidrs[i].addr, 16) == 0)
						return fail(x, pi, "\"%s\" is already a prefix of "
							    "unit \"%s\" (a prefix may belong to one "
							    "unit only)",
							    json_string_value(v), ou->name);
			}
			u->n_cidrs++;
		}
	}
	return 0;
}

static int
parse_classes(struct ctx *x, json_t *o)
{
	static const char *const keys[] = {"apps", "categories", "hosts", "host_files",
					   "addresses", "address_files", "detectors",
					   "socket_affinity", NULL};
	struct bwg_config *c = x->c;
	int rc;
	if (!o)
		return fail(x, "classes", "is required");
	if ((rc = want_object(x, "classes", o)))
		return rc;
	if (json_object_size(o) + 1 > BWG_CLASS_MAX)
		return fail(x, "classes", "at most %d classes besides \"unknown\"",
			    BWG_CLASS_MAX - 1);
	c->classes = calloc(json_object_size(o) + 1, sizeof(*c->classes));
	if (!c->classes)
		return -ENOMEM;
	c->classes[0].name = strdup("unknown");
	c->n_classes = 1;
	const char *name;
	json_t *cl;
	json_object_foreach(o, name, cl) {
		char p[PATH_MAX_LEN];
		join(p, "classes", name);
		if (strcmp(name, "unknown") == 0)
			return fail(x, p, "\"unknown\" is built in: flows no class claims fall "
				    "into it; it cannot be defined");
		if (!valid_name(name))
			return fail(x, p, "class names use a-z, 0-9, '_' and '-' (at most %d)",
				    BWG_NAME_MAX - 1);
		if ((rc = want_object(x, p, cl)) || (rc = check_keys(x, p, cl, keys)))
			return rc;
		struct bwg_conf_class *k = &c->classes[c->n_classes++];
		k->name = strdup(name);
		if (!k->name)
			return -ENOMEM;
		/* List files are read when the policy is compiled (lib/classify). */
		if ((rc = get_strlist(x, cl, p, "apps", &k->apps, false, NULL)) ||
		    (rc = get_strlist(x, cl, p, "categories", &k->categories, false, NULL)) ||
		    (rc = get_strlist(x, cl, p, "hosts", &k->hosts, true, NULL)) ||
		    (rc = get_strlist(x, cl, p, "host_files", &k->host_files, false, NULL)) ||
		    (rc = get_cidrlist(x, cl, p, "addresses", &k->addresses)) ||
		    (rc = get_strlist(x, cl, p, "address_files", &k->address_files, false,
				      NULL)) ||
		    (rc = get_strlist(x, cl, p, "detectors", &k->detectors, false, NULL)) ||
		    (rc = get_bool(x, cl, p, "socket_affinity", &k->socket_affinity, false)))
			return rc;
	}
	return 0;
}

static int
parse_hhmm(const char *s, uint16_t *min)
{
	unsigned h, m;
	char tail;
	if (strlen(s) != 5 || sscanf(s, "%2u:%2u%c", &h, &m, &tail) != 2 || m > 59 ||
	    h > 24 || (h == 24 && m != 0))
		return -1;
	*min = (uint16_t)(h * 60 + m);
	return 0;
}

static int
parse_window(struct ctx *x, const char *p, json_t *w, struct bwg_conf_window *out)
{
	static const char *const keys[] = {"days", "from", "to", NULL};
	static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
	int rc;
	if ((rc = want_object(x, p, w)) || (rc = check_keys(x, p, w, keys)))
		return rc;
	char pd[PATH_MAX_LEN], pf[PATH_MAX_LEN], pt[PATH_MAX_LEN];
	join(pd, p, "days");
	join(pf, p, "from");
	join(pt, p, "to");
	json_t *d = json_object_get(w, "days");
	if (!d)
		return fail(x, pd, "is required");
	if (!json_is_array(d) || json_array_size(d) == 0)
		return fail(x, pd, "must be a non-empty array of day names");
	size_t i;
	json_t *v;
	json_array_foreach(d, i, v) {
		char pi[PATH_MAX_LEN];
		join_idx(pi, pd, i);
		int found = -1;
		for (int k = 0; k < 7; k++)
			if (json_is_string(v) && strcmp(json_string_value(v), days[k]) == 0)
				found = k;
		if (found < 0)
			return fail(x, pi, "must be one of \"mon\", \"tue\", \"wed\", \"thu\", "
				    "\"fri\", \"sat\", \"sun\"");
		out->days |= (uint8_t)(1u << found);
	}
	json_t *f = json_object_get(w, "from"), *t = json_object_get(w, "to");
	if (!f)
		return fail(x, pf, "is required");
	if (!t)
		return fail(x, pt, "is required");
	if (!json_is_string(f) || parse_hhmm(json_string_value(f), &out->from_min) < 0)
		return fail(x, pf, "must be a time \"HH:MM\" (00:00..24:00)");
	if (!json_is_string(t) || parse_hhmm(json_string_value(t), &out->to_min) < 0)
		return fail(x, pt, "must be a time \"HH:MM\" (00:00..24:00)");
	if (out->from_min >= out->to_min)
		return fail(x, p, "\"from\" must be before \"to\"; write a window that "
			    "crosses midnight as two windows");
	return 0;
}

static int
parse_schedules(struct ctx *x, json_t *o)
{
	struct bwg_config *c = x->c;
	int rc;
	if (!o)
		return 0;
	if ((rc = want_object(x, "schedules", o)))
		return rc;
	if (json_object_size(o) > BWG_SCHEDULE_MAX)
		return fail(x, "schedules", "at most %d schedules", BWG_SCHEDULE_MAX);
	c->schedules = calloc(json_object_size(o) + 1, sizeof(*c->schedules));
	if (!c->schedules)
		return -ENOMEM;
	const char *name;
	json_t *arr;
	json_object_foreach(o, name, arr) {
		char p[PATH_MAX_LEN];
		join(p, "schedules", name);
		if (!valid_name(name))
			return fail(x, p, "schedule names use a-z, 0-9, '_' and '-'");
		if (!json_is_array(arr) || json_array_size(arr) == 0)
			return fail(x, p, "must be a non-empty array of windows "
				    "{\"days\", \"from\", \"to\"}");
		struct bwg_conf_schedule *s = &c->schedules[c->n_schedules++];
		s->name = strdup(name);
		s->windows = calloc(json_array_size(arr), sizeof(*s->windows));
		if (!s->name || !s->windows)
			return -ENOMEM;
		size_t i;
		json_t *w;
		json_array_foreach(arr, i, w) {
			char pi[PATH_MAX_LEN];
			join_idx(pi, p, i);
			if ((rc = parse_window(x, pi, w, &s->windows[i])))
				return rc;
			s->n_windows++;
		}
	}
	return 0;
}

/* Index of the element of `base` (n structs of `stride` bytes whose first member is the
 * name) called `name`, or -1. */
static int
find_name(const char *name, const void *base, size_t stride, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const char *k = *(const char *const *)((const char *)base + i * stride);
		if (strcmp(k, name) == 0)
			return (int)i;
	}
	return -1;
}

static int
parse_limit(struct ctx *x, const char *p, json_t *l, struct bwg_conf_rule *r, int scope_def)
{
	static const char *const keys[] = {"rate", "burst", "scope", NULL};
	static const char *const scopes[] = {"aggregate", "per_host", NULL};
	int rc, scope;
	char msg[BWG_CONFIG_ERR_MAX], pr[PATH_MAX_LEN], pb[PATH_MAX_LEN];
	if ((rc = want_object(x, p, l)) || (rc = check_keys(x, p, l, keys)))
		return rc;
	join(pr, p, "rate");
	join(pb, p, "burst");
	json_t *rate = json_object_get(l, "rate"), *burst = json_object_get(l, "burst");
	if (!rate)
		return fail(x, pr, "is required (e.g. \"2Mbit\")");
	if (!json_is_string(rate))
		return fail(x, pr, "must be a string such as \"2Mbit\", not %s",
			    json_type_name(rate));
	if (bwg_config_parse_rate(json_string_value(rate), &r->rate_bps, msg, sizeof(msg)) < 0)
		return fail(x, pr, "%s", msg);
	if (burst) {
		if (!json_is_string(burst))
			return fail(x, pb, "must be a string such as \"64KB\", not %s",
				    json_type_name(burst));
		if (bwg_config_parse_size(json_string_value(burst), &r->burst_bytes, msg,
					  sizeof(msg)) < 0)
			return fail(x, pb, "%s", msg);
	} else {
		/* Documented default: 100 ms at the rate, at least 3000 B; raised to two
		 * maximum frames once ports.mtu is known (check_bursts). */
		r->burst_bytes = r->rate_bps / 80;
		if (r->burst_bytes < 3000)
			r->burst_bytes = 3000;
		r->burst_default = true;
	}
	if ((rc = get_enum(x, l, p, "scope", &scope, scope_def, scopes)))
		return rc;
	r->scope = (enum bwg_limit_scope)scope;
	return 0;
}

/*
 * A limit object that holds one user (a quota's or a penalty's "then"), by the limit's
 * own parser into a scratch rule `t`: the rule keeps its own limit. `why` says why only
 * per_host applies.
 */
static int
parse_user_limit(struct ctx *x, const char *p, json_t *l, struct bwg_conf_rule *t,
		 const char *why)
{
	int rc = parse_limit(x, p, l, t, BWG_SCOPE_PER_HOST);
	if (rc == 0 && t->scope != BWG_SCOPE_PER_HOST) {
		char ps[PATH_MAX_LEN];
		join(ps, p, "scope");
		return fail(x, ps, "\"aggregate\" does not apply: %s (\"per_host\")", why);
	}
	return rc;
}

/* What a rule holds each user to (`key`: quota, penalty), where it applies. */
static int
parse_per_user(struct ctx *x, const char *p, json_t *o, struct bwg_conf_rule *r,
	       const char *key, const char *verb,
	       int (*parse)(struct ctx *, const char *, json_t *, struct bwg_conf_rule *))
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	char pk[PATH_MAX_LEN];
	join(pk, p, key);
	if (r->action == BWG_ACTION_BLOCK)
		return fail(x, pk, "does not apply to \"action\": \"block\" (nothing of it "
			    "passes to %s)", verb);
	return parse(x, pk, v, r);
}

/*
 * A rule's penalty lane: {"above": RATE, "for": MINUTES, "then": LIMIT, "lasts": MINUTES}.
 */
static int
parse_penalty(struct ctx *x, const char *p, json_t *o, struct bwg_conf_rule *r)
{
	static const char *const keys[] = {"above", "for", "then", "lasts", NULL};
	char msg[BWG_CONFIG_ERR_MAX], pa[PATH_MAX_LEN], pt[PATH_MAX_LEN];
	int rc;
	if ((rc = want_object(x, p, o)) || (rc = check_keys(x, p, o, keys)))
		return rc;
	r->has_penalty = true;
	json_t *above = json_object_get(o, "above");
	join(pa, p, "above");
	if (!above)
		return fail(x, pa, "is required (the rate a user must stay above, e.g. \"20Mbit\")");
	if (!json_is_string(above))
		return fail(x, pa, "must be a string such as \"20Mbit\", not %s",
			    json_type_name(above));
	if (bwg_config_parse_rate(json_string_value(above), &r->pen_above_bps, msg,
				  sizeof(msg)) < 0)
		return fail(x, pa, "%s", msg);
	char pf[PATH_MAX_LEN], pl[PATH_MAX_LEN];
	join(pf, p, "for");
	join(pl, p, "lasts");
	if (!json_object_get(o, "for"))
		return fail(x, pf, "is required (minutes in a row above the rate)");
	if (!json_object_get(o, "lasts"))
		return fail(x, pl, "is required (minutes the penalty lasts)");
	if ((rc = get_uint(x, o, p, "for", &r->pen_for, 0, 1, 1440)) ||
	    (rc = get_uint(x, o, p, "lasts", &r->pen_lasts, 0, 1, 10080)))
		return rc;
	json_t *then = json_object_get(o, "then");
	join(pt, p, "then");
	if (!then)
		return fail(x, pt, "is required: a limit object such as {\"rate\": \"1Mbit\"}");
	struct bwg_conf_rule t = {0};
	if ((rc = parse_user_limit(x, pt, then, &t, "a penalty holds one user")))
		return rc;
	if (t.rate_bps >= r->pen_above_bps)
		return fail(x, pt, "rate %s is not below \"above\": the penalty would hold "
			    "nothing back", json_string_value(json_object_get(then, "rate")));
	r->pen_rate_bps = t.rate_bps;
	r->pen_burst_bytes = t.burst_bytes;
	return 0;
}

/*
 * A rule's quota: {"period", "bytes" and/or "minutes", "then"}. Past it the rule's flows
 * of that user are blocked ("then": "block") or held to a rate per user ("then": a limit
 * object as a limit rule's, scope per_host, the only one that means something here).
 */
static int
parse_quota(struct ctx *x, const char *p, json_t *q, struct bwg_conf_rule *r)
{
	static const char *const keys[] = {"period", "bytes", "minutes", "then", NULL};
	static const char *const periods[] = {"day", "week", NULL};
	char msg[BWG_CONFIG_ERR_MAX], pb[PATH_MAX_LEN], pt[PATH_MAX_LEN];
	int rc, period;
	if ((rc = want_object(x, p, q)) || (rc = check_keys(x, p, q, keys)) ||
	    (rc = get_enum(x, q, p, "period", &period, -1, periods)))
		return rc;
	r->has_quota = true;
	r->quota_period = (enum bwg_quota_period)period;
	json_t *bytes = json_object_get(q, "bytes");
	join(pb, p, "bytes");
	if (bytes) {
		if (!json_is_string(bytes))
			return fail(x, pb, "must be a string such as \"100MB\", not %s",
				    json_type_name(bytes));
		if (parse_volume(json_string_value(bytes), &r->quota_bytes, msg, sizeof(msg)) < 0)
			return fail(x, pb, "%s", msg);
	}
	if ((rc = get_uint(x, q, p, "minutes", &r->quota_minutes, 0, 1, 7 * 24 * 60)))
		return rc;
	if (!r->quota_bytes && !r->quota_minutes)
		return fail(x, p, "needs \"bytes\" or \"minutes\" (or both)");
	json_t *then = json_object_get(q, "then");
	join(pt, p, "then");
	if (!then)
		return fail(x, pt, "is required: \"block\", or a limit object such as "
			    "{\"rate\": \"1Mbit\"}");
	if (json_is_string(then)) {
		if (strcmp(json_string_value(then), "block") != 0)
			return fail(x, pt, "\"%s\" is not \"block\" or a limit object",
				    json_string_value(then));
		r->quota_block = true;
		return 0;
	}
	if (!json_is_object(then))
		return fail(x, pt, "must be \"block\" or a limit object, not %s",
			    json_type_name(then));
	struct bwg_conf_rule t = {0};
	if ((rc = parse_user_limit(x, pt, then, &t,
				   "past the quota each user is held to the rate on its own")))
		return rc;
	r->then_rate_bps = t.rate_bps;
	r->then_burst_bytes = t.burst_bytes;
	return 0;
}

static int
parse_rule(struct ctx *x, const char *p, json_t *o, struct bwg_conf_rule *r, uint32_t idx)
{
	static const char *const keys[] = {"name", "units", "classes", "apps", "hosts",
					   "schedule", "action", "limit", "reset", "log", "mode",
					   "notice", "quota", "penalty", "enabled", NULL};
	static const char *const actions[] = {"allow", "block", "limit", NULL};
	static const char *const modes[] = {"enforce", "monitor", NULL};
	struct bwg_config *c = x->c;
	int rc, action, mode;
	if ((rc = want_object(x, p, o)) || (rc = check_keys(x, p, o, keys)))
		return rc;
	char pn[PATH_MAX_LEN];
	join(pn, p, "name");
	if ((rc = get_string(x, o, p, "name", &r->name)))
		return rc;
	if (!r->name)
		return fail(x, pn, "is required");
	for (uint32_t i = 0; i < idx; i++)
		if (strcmp(c->rules[i].name, r->name) == 0)
			return fail(x, pn, "\"%s\" is already the name of rules[%u]", r->name, i);
	if (strcmp(r->name, "default") == 0)
		return fail(x, pn, "\"default\" names the default action; choose another name");
	if (strlen(r->name) >= BWG_NAME_MAX)
		return fail(x, pn, "%zu bytes: at most %d (flow records and events carry it)",
			    strlen(r->name), BWG_NAME_MAX - 1);

	/* units */
	json_t *units = json_object_get(o, "units");
	if (units) {
		char pu[PATH_MAX_LEN];
		join(pu, p, "units");
		if (!json_is_array(units) || json_array_size(units) == 0)
			return fail(x, pu, "must be a non-empty array of unit names");
		r->units = calloc(json_array_size(units), sizeof(*r->units));
		if (!r->units)
			return -ENOMEM;
		size_t i;
		json_t *v;
		json_array_foreach(units, i, v) {
			char pi[PATH_MAX_LEN];
			join_idx(pi, pu, i);
			int u = json_is_string(v) ? find_name(json_string_value(v),
							      c->units,
							      sizeof(c->units[0]), c->n_units)
						  : -1;
			if (u < 0)
				return fail(x, pi, "%s%s%s is not a unit defined under \"units\"",
					    json_is_string(v) ? "\"" : "",
					    json_is_string(v) ? json_string_value(v) : "value",
					    json_is_string(v) ? "\"" : "");
			r->units[r->n_units++] = (uint16_t)(u + 1);
		}
	}
	/* classes */
	json_t *classes = json_object_get(o, "classes");
	if (classes) {
		char pc[PATH_MAX_LEN];
		join(pc, p, "classes");
		if (!json_is_array(classes) || json_array_size(classes) == 0)
			return fail(x, pc, "must be a non-empty array of class names");
		size_t i;
		json_t *v;
		json_array_foreach(classes, i, v) {
			char pi[PATH_MAX_LEN];
			join_idx(pi, pc, i);
			int k = json_is_string(v) ? find_name(json_string_value(v),
							      c->classes,
							      sizeof(c->classes[0]), c->n_classes)
						  : -1;
			if (k < 0)
				return fail(x, pi, "%s%s%s is not a class defined under \"classes\" "
					    "(or \"unknown\")",
					    json_is_string(v) ? "\"" : "",
					    json_is_string(v) ? json_string_value(v) : "value",
					    json_is_string(v) ? "\"" : "");
			r->classes |= 1u << k;
		}
		r->has_classes = true;
	}
	if ((rc = get_strlist(x, o, p, "apps", &r->apps, false, NULL)) ||
	    (rc = get_strlist(x, o, p, "hosts", &r->hosts, true, NULL)))
		return rc;
	/* schedule */
	char *sched = NULL;
	if ((rc = get_string(x, o, p, "schedule", &sched)))
		return rc;
	r->schedule = -1;
	if (sched) {
		char ps[PATH_MAX_LEN];
		join(ps, p, "schedule");
		r->schedule = find_name(sched, c->schedules,
					sizeof(c->schedules[0]), c->n_schedules);
		if (r->schedule < 0)
			rc = fail(x, ps, "\"%s\" is not a schedule defined under \"schedules\"",
				  sched);
		free(sched);
		if (rc)
			return rc;
	}
	/* action */
	if ((rc = get_enum(x, o, p, "action", &action, -1, actions)))
		return rc;
	r->action = (enum bwg_action)action;
	json_t *limit = json_object_get(o, "limit");
	char pl[PATH_MAX_LEN];
	join(pl, p, "limit");
	if (r->action == BWG_ACTION_LIMIT) {
		if (!limit)
			return fail(x, pl, "is required when the action is \"limit\"");
		if ((rc = parse_limit(x, pl, limit, r, -1)))
			return rc;
	} else if (limit) {
		return fail(x, pl, "only applies to \"action\": \"limit\"");
	}
	bool enabled;
	if ((rc = get_bool(x, o, p, "enabled", &enabled, true)))
		return rc;
	r->disabled = !enabled;
	if ((rc = get_bool(x, o, p, "reset", &r->reset, false)) ||
	    (rc = get_bool(x, o, p, "log", &r->log, false)) ||
	    (rc = get_bool(x, o, p, "notice", &r->notice, false)))
		return rc;
	if (r->notice && r->action != BWG_ACTION_BLOCK) {
		char pn2[PATH_MAX_LEN];
		join(pn2, p, "notice");
		return fail(x, pn2, "only applies to \"action\": \"block\"");
	}
	if (r->reset && r->action != BWG_ACTION_BLOCK) {
		char pr[PATH_MAX_LEN];
		join(pr, p, "reset");
		return fail(x, pr, "only applies to \"action\": \"block\"");
	}
	if ((rc = parse_per_user(x, p, o, r, "quota", "count", parse_quota)) ||
	    (rc = parse_per_user(x, p, o, r, "penalty", "measure", parse_penalty)))
		return rc;
	if ((rc = get_enum(x, o, p, "mode", &mode, 0, modes)))
		return rc;
	r->monitor = mode == 1;
	if (r->monitor && r->action == BWG_ACTION_ALLOW && !r->has_quota && !r->has_penalty) {
		char pm[PATH_MAX_LEN];
		join(pm, p, "mode");
		return fail(x, pm, "\"monitor\" applies to block and limit rules and to rules "
			    "with a quota or a penalty (an allow rule holds nothing back)");
	}
	return 0;
}

static int
parse_rules(struct ctx *x, json_t *o)
{
	struct bwg_config *c = x->c;
	int rc;
	if (!o)
		return fail(x, "rules", "is required (an array, first match wins; it may be "
			    "empty)");
	if (!json_is_array(o))
		return fail(x, "rules", "must be an array, not %s", json_type_name(o));
	if (json_array_size(o) > BWG_RULE_MAX)
		return fail(x, "rules", "at most %d rules", BWG_RULE_MAX);
	c->rules = calloc(json_array_size(o) + 1, sizeof(*c->rules));
	if (!c->rules)
		return -ENOMEM;
	size_t i;
	json_t *r;
	json_array_foreach(o, i, r) {
		char p[PATH_MAX_LEN];
		join_idx(p, "rules", i);
		c->n_rules++;
		if ((rc = parse_rule(x, p, r, &c->rules[i], (uint32_t)i)))
			return rc;
	}
	return 0;
}

static int
parse_live(struct ctx *x, json_t *root)
{
	struct bwg_config *c = x->c;
	int rc;
	static const char *const pkeys[] = {"inside", "outside", "rx_descriptors",
					    "tx_descriptors", "mbufs", "mtu",
					    "stall_timeout_ms", NULL};
	static const char *const akeys[] = {"listen", "token_file", NULL};
	static const char *const ekeys[] = {"file", NULL};
	static const char *const hkeys[] = {"dir", "keep", NULL};
	json_t *ports = json_object_get(root, "ports");
	if (ports) {
		if ((rc = want_object(x, "ports", ports)) ||
		    (rc = check_keys(x, "ports", ports, pkeys)) ||
		    (rc = get_string(x, ports, "ports", "inside", &c->port_inside)) ||
		    (rc = get_string(x, ports, "ports", "outside", &c->port_outside)))
			return rc;
		if (!c->port_inside || !c->port_outside)
			return fail(x, "ports", "needs both \"inside\" and \"outside\"");
		if (strcmp(c->port_inside, c->port_outside) == 0)
			return fail(x, "ports", "\"inside\" and \"outside\" must be different "
				    "devices");
	}
	/* Ring sizes and the pool are checked against the devices when the ports start. */
	if ((rc = get_uint(x, ports, "ports", "rx_descriptors", &c->rx_descriptors, 1024, 64,
			   32768)) ||
	    (rc = get_uint(x, ports, "ports", "tx_descriptors", &c->tx_descriptors, 1024, 64,
			   32768)) ||
	    (rc = get_uint(x, ports, "ports", "mbufs", &c->mbufs, 0, 1024, 16777216)) ||
	    (rc = get_uint(x, ports, "ports", "mtu", &c->mtu, 1500, 68, 9600)) ||
	    (rc = get_uint(x, ports, "ports", "stall_timeout_ms", &c->stall_timeout_ms, 1000, 10,
			   600000)))
		return rc;
	if ((rc = get_uint(x, root, "", "workers", &c->workers, 1, 1, 64)))
		return rc;
	json_t *api = json_object_get(root, "api");
	if (api && ((rc = want_object(x, "api", api)) || (rc = check_keys(x, "api", api, akeys))))
		return rc;
	char *tok = NULL;
	if ((rc = get_string(x, api, "api", "listen", &c->api_listen)) ||
	    (rc = get_string(x, api, "api", "token_file", &tok)))
		return rc;
	if (!c->api_listen && !(c->api_listen = strdup("127.0.0.1:8080")))
		return -ENOMEM;
	if (tok) {
		c->api_token_file = resolve_path(x->dir, tok);
		free(tok);
	}
	json_t *ev = json_object_get(root, "events");
	char *evf = NULL;
	if (ev && ((rc = want_object(x, "events", ev)) ||
		   (rc = check_keys(x, "events", ev, ekeys)) ||
		   (rc = get_string(x, ev, "events", "file", &evf))))
		return rc;
	if (evf) {
		c->events_file = resolve_path(x->dir, evf);
		free(evf);
	}
	json_t *hist = json_object_get(root, "history");
	char *hd = NULL;
	if (hist && ((rc = want_object(x, "history", hist)) ||
		     (rc = check_keys(x, "history", hist, hkeys)) ||
		     (rc = get_string(x, hist, "history", "dir", &hd)) ||
		     (rc = get_uint(x, hist, "history", "keep", &c->history_keep, 100, 2, 100000))))
		return rc;
	if (!hist)
		c->history_keep = 100;
	if (hd) {
		c->history_dir = resolve_path(x->dir, hd);
		free(hd);
	}
	return 0;
}

/* ipfix: flow records to collectors (lib/ipfix). Names are resolved when export starts. */
static int
parse_ipfix(struct ctx *x, json_t *o)
{
	static const char *const keys[] = {"collectors", "enterprise_number", "observation_domain",
					   "active_timeout", "template_refresh", "tcp_queue", NULL};
	struct bwg_config *c = x->c;
	int rc;
	if (o && ((rc = want_object(x, "ipfix", o)) || (rc = check_keys(x, "ipfix", o, keys))))
		return rc;
	if ((rc = get_strlist(x, o, "ipfix", "collectors", &c->ipfix_collectors, false, NULL)))
		return rc;
	if (c->ipfix_collectors.n > BWG_COLLECTORS_MAX)
		return fail(x, "ipfix.collectors", "at most %d collectors", BWG_COLLECTORS_MAX);
	for (uint32_t i = 0; i < c->ipfix_collectors.n; i++) {
		struct bwg_collector_url u;
		char msg[BWG_CONFIG_ERR_MAX];
		if (bwg_config_parse_collector(c->ipfix_collectors.v[i], &u, msg, sizeof(msg)) < 0)
			return fail(x, c->ipfix_collectors.where[i], "%s", msg);
		for (uint32_t k = 0; k < i; k++)
			if (strcmp(c->ipfix_collectors.v[k], c->ipfix_collectors.v[i]) == 0)
				return fail(x, c->ipfix_collectors.where[i], "\"%s\" is already "
					    "%s", c->ipfix_collectors.v[i],
					    c->ipfix_collectors.where[k]);
	}
	/* 32473 is the number RFC 5612 reserves for documentation. */
	if ((rc = get_uint(x, o, "ipfix", "enterprise_number", &c->ipfix_enterprise, 32473, 1,
			   UINT32_MAX)) ||
	    (rc = get_uint(x, o, "ipfix", "observation_domain", &c->ipfix_domain, 1, 0,
			   UINT32_MAX)) ||
	    (rc = get_uint(x, o, "ipfix", "active_timeout", &c->ipfix_active_timeout, 300, 0,
			   86400)) ||
	    (rc = get_uint(x, o, "ipfix", "template_refresh", &c->ipfix_template_refresh, 60, 1,
			   86400)))
		return rc;
	json_t *q = o ? json_object_get(o, "tcp_queue") : NULL;
	c->ipfix_tcp_queue = 4u << 20;
	if (q) {
		char msg[BWG_CONFIG_ERR_MAX];
		if (!json_is_string(q))
			return fail(x, "ipfix.tcp_queue", "must be a size such as \"4MB\", not %s",
				    json_type_name(q));
		if (bwg_config_parse_size(json_string_value(q), &c->ipfix_tcp_queue, msg,
					  sizeof(msg)) < 0)
			return fail(x, "ipfix.tcp_queue", "%s", msg);
		if (c->ipfix_tcp_queue < 65536 || c->ipfix_tcp_queue > (256u << 20))
			return fail(x, "ipfix.tcp_queue", "%s is out of range (64KB..256MB)",
				    json_string_value(q));
	}
	return 0;
}

/* lists_dir: where list files are read from; the config's folder by default. */
static int
parse_lists_dir(struct ctx *x, json_t *root)
{
	char *d = NULL;
	int rc = get_string(x, root, "", "lists_dir", &d);
	if (rc)
		return rc;
	x->c->lists_dir = d ? resolve_path(x->dir, d) : strdup(x->dir);
	free(d);
	/* Whether it exists is found when the first list is read from it. */
	return x->c->lists_dir ? 0 : -ENOMEM;
}

/*
 * A token bucket smaller than a frame never lets that frame through: every limit's burst
 * must hold one maximum frame (ports.mtu + Ethernet header and VLAN tag; 1518 B at the
 * default MTU, which is also what the offline tool assumes). A default burst is raised
 * to two such frames. The rate needs no such rule: the bucket refills continuously, so
 * at the lowest rate (8 Kbit/s) a full bucket of 1518 B comes back in 1.5 s.
 */
static int
check_bursts(struct ctx *x)
{
	struct bwg_config *c = x->c;
	uint32_t frame = bwg_config_max_frame(c);
	for (uint32_t i = 0; i < c->n_rules; i++) {
		struct bwg_conf_rule *r = &c->rules[i];
		if (r->action != BWG_ACTION_LIMIT || r->burst_bytes >= frame)
			continue;
		if (r->burst_default) {
			r->burst_bytes = 2ull * frame;
			continue;
		}
		char p[PATH_MAX_LEN];
		snprintf(p, sizeof(p), "rules[%u].limit.burst", i);
		return fail(x, p,
			    "%llu B cannot hold one maximum frame of %u B (ports.mtu %u + %d B of "
			    "Ethernet header and VLAN tag): no such frame would ever conform; give "
			    "at least \"%uB\"",
			    (unsigned long long)r->burst_bytes, frame, c->mtu, BWG_L2_OVERHEAD,
			    frame);
	}
	return 0;
}

/* "state_file": where quota usage is kept across restarts (relative: the config's folder). */
static int
parse_state_file(struct ctx *x, json_t *root)
{
	char *sf = NULL;
	int rc = get_string(x, root, "", "state_file", &sf);
	if (rc || !sf)
		return rc;
	x->c->state_file = resolve_path(x->dir, sf);
	free(sf);
	return x->c->state_file ? 0 : -ENOMEM;
}

/* "notice": {"contact"}: whom a block notice page tells users to ask. */
static int
parse_notice(struct ctx *x, json_t *o)
{
	static const char *const keys[] = {"contact", NULL};
	struct bwg_config *c = x->c;
	int rc;
	if (o && ((rc = want_object(x, "notice", o)) || (rc = check_keys(x, "notice", o, keys)) ||
		  (rc = get_string(x, o, "notice", "contact", &c->notice_contact))))
		return rc;
	if (c->notice_contact) {
		size_t n = strlen(c->notice_contact);
		if (n > BWG_NOTICE_CONTACT_MAX)
			return fail(x, "notice.contact", "%zu bytes: at most %d (the page must fit "
				    "in one frame)", n, BWG_NOTICE_CONTACT_MAX);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)c->notice_contact[i] < 0x20 ||
			    c->notice_contact[i] == 0x7f)
				return fail(x, "notice.contact", "holds a control character at "
					    "byte %zu", i);
	}
	for (uint32_t i = 0; i < c->n_rules; i++) {
		if (c->rules[i].notice && !c->notice_contact) {
			char p[PATH_MAX_LEN];
			snprintf(p, sizeof(p), "rules[%u].notice", i);
			return fail(x, p, "needs \"notice\": {\"contact\": ...} at the top level "
				    "(the page tells users whom to ask)");
		}
	}
	return 0;
}

static int
parse_root(struct ctx *x, json_t *root)
{
	static const char *const keys[] = {"timezone", "default_action", "lists_dir", "flows",
					   "dpi", "dns", "behaviour", "users", "packets", "units",
					   "classes", "schedules", "rules", "ports", "workers",
					   "api", "events", "ipfix", "history", "notice", "state_file",
					   NULL};
	static const char *const actions[] = {"allow", "block", NULL};
	struct bwg_config *c = x->c;
	int rc, def;
	if ((rc = want_object(x, "", root)) || (rc = check_keys(x, "", root, keys)))
		return rc;
	if ((rc = get_string(x, root, "", "timezone", &c->timezone)))
		return rc;
	if (!c->timezone && !(c->timezone = strdup("Asia/Shanghai")))
		return -ENOMEM;
	char zpath[512];
	snprintf(zpath, sizeof(zpath), "/usr/share/zoneinfo/%s", c->timezone);
	/* A zone is a TZif file; a folder ("Asia") or a table ("zone.tab") is not. */
	FILE *z = strstr(c->timezone, "..") || c->timezone[0] == '/' ? NULL : fopen(zpath, "rb");
	char magic[4] = {0};
	size_t got = z ? fread(magic, 1, sizeof(magic), z) : 0;
	if (z)
		fclose(z);
	if (got != sizeof(magic) || memcmp(magic, "TZif", 4) != 0)
		return fail(x, "timezone", "\"%s\" is not a time zone known to this system "
			    "(/usr/share/zoneinfo; install tzdata)", c->timezone);
	if ((rc = get_enum(x, root, "", "default_action", &def, -1, actions)))
		return rc;
	c->default_action = (enum bwg_action)def;
	if ((rc = parse_lists_dir(x, root)))
		return rc;
	if ((rc = parse_flows(x, json_object_get(root, "flows"))) ||
	    (rc = parse_dpi(x, json_object_get(root, "dpi"))) ||
	    (rc = parse_dns(x, json_object_get(root, "dns"))) ||
	    (rc = parse_behaviour(x, json_object_get(root, "behaviour"))) ||
	    (rc = parse_users(x, json_object_get(root, "users"))) ||
	    (rc = parse_packets(x, json_object_get(root, "packets"))) ||
	    (rc = parse_units(x, json_object_get(root, "units"))) ||
	    (rc = parse_classes(x, json_object_get(root, "classes"))) ||
	    (rc = parse_schedules(x, json_object_get(root, "schedules"))) ||
	    (rc = parse_rules(x, json_object_get(root, "rules"))) ||
	    (rc = parse_notice(x, json_object_get(root, "notice"))) ||
	    (rc = parse_state_file(x, root)) ||
	    (rc = parse_live(x, root)) ||
	    (rc = parse_ipfix(x, json_object_get(root, "ipfix"))))
		return rc;
	if (c->hosts_capacity > c->flow_capacity)
		return fail(x, "flows.hosts_capacity", "%u is more than flows.capacity (%u)",
			    c->hosts_capacity, c->flow_capacity);
	return check_bursts(x);
}

static int
finish(struct bwg_config **out, struct bwg_config *c, json_t *root, struct ctx *x)
{
	c->root = root;
	int rc = parse_root(x, root);
	if (rc < 0) {
		if (rc == -ENOMEM)
			snprintf(x->err, x->errlen, "%s: out of memory", x->name);
		bwg_config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int
bwg_config_parse(struct bwg_config **out, const char *text, size_t len, const char *name,
		 const char *dir, char *err, size_t errlen)
{
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		snprintf(err, errlen, "%s: starts with a UTF-8 byte-order mark (BOM): save it as "
			 "UTF-8 without one", name);
		return -EINVAL;
	}
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "%s:%d:%d: %s", name, je.line, je.column, je.text);
		return -EINVAL;
	}
	struct bwg_config *c = calloc(1, sizeof(*c));
	if (!c) {
		json_decref(root);
		return -ENOMEM;
	}
	c->path = strdup(name);
	c->dir = strdup(dir ? dir : ".");
	struct ctx x = {.name = name, .dir = c->dir, .err = err, .errlen = errlen, .c = c};
	return finish(out, c, root, &x);
}

int
bwg_config_load(struct bwg_config **out, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	unsigned char bom[3];
	size_t got = fread(bom, 1, sizeof(bom), f);
	if (got == 3 && memcmp(bom, "\xef\xbb\xbf", 3) == 0) {
		fclose(f);
		snprintf(err, errlen, "%s: starts with a UTF-8 byte-order mark (BOM): save it as "
			 "UTF-8 without one", path);
		return -EINVAL;
	}
	rewind(f);
	json_error_t je;
	json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	if (!root) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
		return -EINVAL;
	}
	struct bwg_config *c = calloc(1, sizeof(*c));
	if (!c) {
		json_decref(root);
		return -ENOMEM;
	}
	c->path = strdup(path);
	const char *slash = strrchr(path, '/');
	c->dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (slash == path) {
		free(c->dir);
		c->dir = strdup("/");
	}
	struct ctx x = {.name = path, .dir = c->dir, .err = err, .errlen = errlen, .c = c};
	return finish(out, c, root, &x);
}

void
bwg_config_free(struct bwg_config *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->n_units; i++) {
		free(c->units[i].name);
		free(c->units[i].cidrs);
	}
	free(c->units);
	for (uint32_t i = 0; i < c->n_classes; i++) {
		free(c->classes[i].name);
		strlist_free(&c->classes[i].apps);
		strlist_free(&c->classes[i].categories);
		strlist_free(&c->classes[i].hosts);
		strlist_free(&c->classes[i].host_files);
		strlist_free(&c->classes[i].addresses);
		strlist_free(&c->classes[i].address_files);
		strlist_free(&c->classes[i].detectors);
	}
	free(c->classes);
	for (uint32_t i = 0; i < c->n_schedules; i++) {
		free(c->schedules[i].name);
		free(c->schedules[i].windows);
	}
	free(c->schedules);
	for (uint32_t i = 0; i < c->n_rules; i++) {
		free(c->rules[i].name);
		free(c->rules[i].units);
		strlist_free(&c->rules[i].apps);
		strlist_free(&c->rules[i].hosts);
	}
	free(c->rules);
	free(c->path);
	free(c->dir);
	free(c->lists_dir);
	free(c->timezone);
	free(c->protocols_file);
	free(c->categories_file);
	free(c->port_inside);
	free(c->port_outside);
	free(c->api_listen);
	free(c->api_token_file);
	free(c->events_file);
	strlist_free(&c->ipfix_collectors);
	free(c->history_dir);
	free(c->notice_contact);
	free(c->state_file);
	json_decref(c->root);
	free(c);
}
