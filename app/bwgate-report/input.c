/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The audit log's files: which to read, and their lines.
 *
 * A file named on the command line is read whatever its name; a folder is searched for
 * the log and its rotations as config/logrotate leaves them (`events.jsonl`,
 * `events.jsonl-YYYYMMDD`, `events.jsonl-YYYYMMDD.gz`; also `events.jsonl.N[.gz]`),
 * and a rotated file whose date puts it wholly outside the period is not opened, so a
 * daily report reads two files, not six months of them. A file is gzip by its first
 * bytes, not its name; concatenated gzip members are read in turn. A compressed stream
 * cut short or corrupt is reported with what was read kept; a file that cannot be
 * opened or read is an error naming it.
 *
 * Lines are cut from a 1 MiB window refilled from the file; a line longer than
 * RPT_LINE_MAX is skipped (counted) without being held whole.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "report.h"

#define CHUNK (1u << 20)

/* "PREFIX-YYYYMMDD[.gz]": the rotation date as days since 1970; -1 otherwise. */
static int64_t
rotation_day(const char *name, size_t plen)
{
	const char *s = name + plen;
	if (s[0] != '-')
		return -1;
	int v[8];
	for (int i = 0; i < 8; i++) {
		if (s[1 + i] < '0' || s[1 + i] > '9')
			return -1;
		v[i] = s[1 + i] - '0';
	}
	if (s[9] != 0 && strcmp(s + 9, ".gz") != 0)
		return -1;
	int y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3], m = v[4] * 10 + v[5],
	    d = v[6] * 10 + v[7];
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	return rpt_days_from_civil(y, m, d);
}

/* "PREFIX.N[.gz]": N; -1 otherwise. */
static long
rotation_number(const char *name, size_t plen)
{
	const char *s = name + plen;
	if (s[0] != '.' || s[1] < '0' || s[1] > '9')
		return -1;
	char *e;
	long n = strtol(s + 1, &e, 10);
	return (*e == 0 || strcmp(e, ".gz") == 0) ? n : -1;
}

struct found {
	char *path;
	int64_t day; /* rotation date, -1 none */
	long num;    /* rotation number, -1 none */
};

/* Oldest first: numbered rotations (highest number first), dated ones, the live file. */
static int
found_cmp(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	int kx = x->num >= 0 ? 0 : x->day >= 0 ? 1 : 2, ky = y->num >= 0 ? 0 : y->day >= 0 ? 1 : 2;
	if (kx != ky)
		return kx - ky;
	if (kx == 0 && x->num != y->num)
		return x->num > y->num ? -1 : 1;
	if (kx == 1 && x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int
add_source(struct rpt *r, const char *path, bool pruned)
{
	struct rpt_source *v = realloc(r->sources, (r->n_sources + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->sources = v;
	struct rpt_source *s = &v[r->n_sources];
	memset(s, 0, sizeof(*s));
	s->path = strdup(path);
	s->skipped_by_name = pruned;
	if (!s->path)
		return -ENOMEM;
	r->n_sources++;
	return 0;
}

static int64_t
local_day(const struct rpt *r, int64_t t)
{
	int64_t l = t + bwg_tz_offset(r->tz, r->n_tz, t);
	return l / 86400 - (l % 86400 < 0);
}

/*
 * Whether a rotated file can hold events of the period. File i, dated D_i, holds what
 * was written after the rotation before it (D_{i-1}) and up to its own: local days
 * [D_{i-1}, D_i], widened by a day each way for the rotating host's own clock and zone.
 */
static bool
outside_period(const struct rpt *r, int64_t lo_day, int64_t hi_day)
{
	if (r->period.from != INT64_MIN && hi_day != INT64_MAX &&
	    hi_day + 1 < local_day(r, r->period.from))
		return true;
	if (r->period.to != INT64_MAX && lo_day != INT64_MIN &&
	    lo_day - 1 > local_day(r, r->period.to - 1))
		return true;
	return false;
}

static int
add_folder(struct rpt *r, const char *dir, const char *prefix, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	size_t plen = strlen(prefix);
	struct found *v = NULL;
	uint32_t n = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *name = e->d_name;
		if (strncmp(name, prefix, plen) != 0)
			continue;
		int64_t day = rotation_day(name, plen);
		long num = rotation_number(name, plen);
		if (name[plen] != 0 && strcmp(name + plen, ".gz") != 0 && day < 0 && num < 0)
			continue;
		struct found *nv = realloc(v, (n + 1) * sizeof(*nv));
		char *path = malloc(strlen(dir) + strlen(name) + 2);
		if (!nv || !path) {
			free(nv ? NULL : path);
			v = nv ? nv : v;
			rc = -ENOMEM;
			break;
		}
		v = nv;
		sprintf(path, "%s/%s", dir, name);
		v[n++] = (struct found){.path = path, .day = day, .num = num};
	}
	closedir(d);
	if (rc == 0 && n == 0) {
		snprintf(err, errlen, "%s: no audit-log files (%s, %s-YYYYMMDD[.gz]) in this folder",
			 dir, prefix, prefix);
		rc = -1;
	}
	if (rc == 0) {
		qsort(v, n, sizeof(*v), found_cmp);
		int64_t prev = INT64_MIN; /* date of the previous dated file */
		for (uint32_t i = 0; i < n && rc == 0; i++) {
			bool pruned = false;
			if (v[i].day >= 0) {
				pruned = outside_period(r, prev, v[i].day);
				prev = v[i].day;
			} else if (v[i].num < 0 && prev != INT64_MIN) {
				pruned = outside_period(r, prev, INT64_MAX); /* the live file */
			}
			rc = add_source(r, v[i].path, pruned);
		}
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory listing %s", dir);
	} else if (rc == -ENOMEM) {
		snprintf(err, errlen, "out of memory listing %s", dir);
	}
	for (uint32_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
	return rc < 0 ? -1 : 0;
}

int
rpt_sources_add(struct rpt *r, const char *arg, const char *prefix, char *err, size_t errlen)
{
	struct stat st;
	if (stat(arg, &st) < 0) {
		snprintf(err, errlen, "%s: %s", arg, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return add_folder(r, arg, prefix, err, errlen);
	int fd = open(arg, O_RDONLY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", arg, strerror(errno));
		return -1;
	}
	close(fd);
	if (add_source(r, arg, false) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- reading ------------------------------------------------------------------------ */

struct reader {
	int fd;
	bool gz, in_eof, done;
	z_stream z;
	unsigned char *in;
	struct rpt_source *src;
};

/* More compressed input when the last is used up. 0, or -1 on a read error. */
static int
refill(struct reader *rd)
{
	if (rd->z.avail_in || rd->in_eof)
		return 0;
	ssize_t n;
	do
		n = read(rd->fd, rd->in, CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	rd->src->bytes += (uint64_t)n;
	rd->in_eof = n == 0;
	rd->z.next_in = rd->in;
	rd->z.avail_in = (uInt)n;
	return 0;
}

/* Up to `room` bytes of the file's text into out: the count, 0 at the end, -1 on a read
 * error (errno set). A compressed stream's fault ends it, noted in src->problem. */
static ssize_t
fill(struct reader *rd, unsigned char *out, size_t room)
{
	if (rd->done)
		return 0;
	if (!rd->gz) {
		ssize_t n;
		do
			n = read(rd->fd, out, room);
		while (n < 0 && errno == EINTR);
		if (n > 0)
			rd->src->bytes += (uint64_t)n;
		return n;
	}
	rd->z.next_out = out;
	rd->z.avail_out = (uInt)room;
	while (rd->z.avail_out == room && !rd->done) {
		if (refill(rd) < 0)
			return -1;
		int rc = inflate(&rd->z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END) {
			/* Another gzip member may follow (cat a.gz b.gz). */
			if (refill(rd) < 0)
				return -1;
			if (rd->z.avail_in == 0)
				rd->done = true;
			else
				inflateReset(&rd->z);
		} else if (rc == Z_BUF_ERROR && rd->in_eof) {
			snprintf(rd->src->problem, sizeof(rd->src->problem),
				 "compressed stream cut short");
			rd->done = true;
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			snprintf(rd->src->problem, sizeof(rd->src->problem),
				 "corrupt compressed data (%s)", rd->z.msg ? rd->z.msg : "zlib error");
			rd->done = true;
		}
	}
	return (ssize_t)(room - rd->z.avail_out);
}

static int
read_source(struct rpt *r, struct rpt_source *s, unsigned char *buf, unsigned char *in, char *err,
	    size_t errlen)
{
	struct reader rd = {.src = s, .in = in};
	rd.fd = open(s->path, O_RDONLY);
	if (rd.fd < 0) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	posix_fadvise(rd.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	unsigned char magic[2];
	ssize_t m = pread(rd.fd, magic, 2, 0);
	rd.gz = m == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
	s->gz = rd.gz;
	if (rd.gz && inflateInit2(&rd.z, 15 + 16) != Z_OK) {
		snprintf(err, errlen, "%s: zlib cannot start", s->path);
		close(rd.fd);
		return -1;
	}
	const size_t cap = CHUNK + RPT_LINE_MAX;
	size_t have = 0;
	bool discarding = false;
	int rc = 0;
	for (;;) {
		ssize_t n = fill(&rd, buf + have, cap - have);
		if (n < 0) {
			snprintf(err, errlen, "%s: read error after %llu lines: %s", s->path,
				 (unsigned long long)s->lines, strerror(errno));
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		unsigned char *p = buf, *end = buf + have, *nl;
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			if (!discarding) {
				s->lines++;
				if ((rc = rpt_tally_line(r, (const char *)p, (size_t)(nl - p))) < 0)
					break;
			}
			discarding = false;
			p = nl + 1;
		}
		if (rc < 0) {
			snprintf(err, errlen, "out of memory counting %s", s->path);
			break;
		}
		size_t rest = (size_t)(end - p);
		if (rest >= RPT_LINE_MAX || (discarding && rest)) {
			if (!discarding) {
				s->lines++;
				r->lines++;
				r->skipped[RPT_SKIP_TOO_LONG]++;
			}
			discarding = true;
			rest = 0;
		}
		memmove(buf, p, rest);
		have = rest;
	}
	if (rc == 0 && have && !discarding) {
		/* The last line has no newline: a write cut short, most likely. */
		s->lines++;
		if (rpt_tally_line(r, (const char *)buf, have) < 0) {
			snprintf(err, errlen, "out of memory counting %s", s->path);
			rc = -1;
		}
	}
	if (rd.gz)
		inflateEnd(&rd.z);
	close(rd.fd);
	return rc;
}

int
rpt_sources_read(struct rpt *r, char *err, size_t errlen)
{
	unsigned char *buf = malloc(CHUNK + RPT_LINE_MAX), *in = malloc(CHUNK);
	int rc = 0;
	if (!buf || !in) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	for (uint32_t i = 0; rc == 0 && i < r->n_sources; i++) {
		struct rpt_source *s = &r->sources[i];
		if (s->skipped_by_name)
			continue;
		rc = read_source(r, s, buf, in, err, errlen);
		if (rc == 0 && s->problem[0])
			fprintf(stderr, "bwgate-report: %s: %s after %llu lines; those lines are "
				"counted\n", s->path, s->problem, (unsigned long long)s->lines);
	}
	free(buf);
	free(in);
	return rc;
}
