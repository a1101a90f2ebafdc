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
 * A gzip file of up to 64 MiB (a day of a busy gate) is decompressed whole with
 * libdeflate, at twice zlib's speed: six months of log are mostly inflating. Plain
 * files, larger ones and damaged ones are streamed through a 1 MiB window (zlib for
 * gzip). A line longer than RPT_LINE_MAX is skipped (counted) without being held whole.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdeflate.h>
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
	return bwg_days_from_civil(y, m, d);
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
		size_t dl = strlen(dir);
		sprintf(path, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name);
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

/* Where a file's lines stand between refills. */
struct splitter {
	bool discarding; /* inside a line already skipped as too long */
	int rc;          /* rpt_tally_line's failure, which ends the read */
};

static void
one_line(struct rpt *r, struct rpt_source *s, struct splitter *sp, const unsigned char *p,
	 size_t n)
{
	s->lines++;
	if (n > RPT_LINE_MAX) {
		r->lines++;
		r->skipped[RPT_SKIP_TOO_LONG]++;
	} else {
		sp->rc = rpt_tally_line(r, (const char *)p, n);
	}
}

/*
 * Count the complete lines of buf[0 .. len); returns the bytes used. With `last` the
 * rest is a line too (a final line with no newline: a write cut short, most likely).
 * A line longer than RPT_LINE_MAX is counted as skipped, however it was read.
 */
static size_t
split_lines(struct rpt *r, struct rpt_source *s, struct splitter *sp, const unsigned char *buf,
	    size_t len, bool last)
{
	const unsigned char *p = buf, *end = buf + len, *nl;
	while (sp->rc == 0 && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		if (!sp->discarding)
			one_line(r, s, sp, p, (size_t)(nl - p));
		sp->discarding = false;
		p = nl + 1;
	}
	size_t rest = (size_t)(end - p);
	if (sp->rc == 0 && last && rest && !sp->discarding) {
		one_line(r, s, sp, p, rest);
		p = end;
	} else if (rest > RPT_LINE_MAX || (sp->discarding && rest)) {
		/* No end in sight: skip it without holding it whole. */
		if (!sp->discarding)
			one_line(r, s, sp, p, rest);
		sp->discarding = true;
		p = end;
	}
	return (size_t)(p - buf);
}

/* Buffers kept from file to file. */
struct buffers {
	unsigned char *win; /* CHUNK + RPT_LINE_MAX: the streaming window */
	unsigned char *in;  /* CHUNK: compressed input while streaming */
	unsigned char *gz;  /* a whole compressed file */
	unsigned char *text; /* ... and its text */
	size_t gz_cap, text_cap;
	struct libdeflate_decompressor *inflater;
};

#define WHOLE_GZ_MAX (64u << 20)    /* compressed bytes read whole */
#define WHOLE_TEXT_MAX (1024u << 20) /* text bytes decompressed whole */

static int
reserve(unsigned char **p, size_t *cap, size_t want)
{
	if (want <= *cap)
		return 0;
	size_t n = *cap ? *cap : 1u << 20;
	while (n < want)
		n *= 2;
	unsigned char *q = realloc(*p, n);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/*
 * A whole gzip file at once with libdeflate — twice zlib's speed, and the audit log's
 * daily files are tens of megabytes. Every member must decompress; anything else (cut
 * short, corrupt, too large) returns 1 and the file is streamed with zlib instead,
 * which keeps what can be read and says what went wrong. Nothing is counted before the
 * whole file has decompressed, so the fallback never counts a line twice.
 */
static int
read_whole_gz(struct rpt *r, struct rpt_source *s, int fd, struct buffers *b)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size < 18 || (uint64_t)st.st_size > WHOLE_GZ_MAX)
		return 1;
	size_t n = (size_t)st.st_size, got = 0;
	if (reserve(&b->gz, &b->gz_cap, n) < 0)
		return 1;
	while (got < n) {
		ssize_t k = pread(fd, b->gz + got, n - got, (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			return 1; /* shrank under us: stream it */
		got += (size_t)k;
	}
	if (!b->inflater && !(b->inflater = libdeflate_alloc_decompressor()))
		return 1;
	/* The trailer gives the last member's size (mod 2^32): a first guess for one. */
	const unsigned char *t = b->gz + n - 4;
	size_t guess = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
	if (guess < 4 * n)
		guess = 4 * n;
	size_t in_off = 0, out_off = 0;
	while (in_off < n) {
		size_t used, made;
		if (out_off + guess > WHOLE_TEXT_MAX ||
		    reserve(&b->text, &b->text_cap, out_off + guess) < 0)
			return 1;
		enum libdeflate_result rc = libdeflate_gzip_decompress_ex(
			b->inflater, b->gz + in_off, n - in_off, b->text + out_off,
			b->text_cap - out_off, &used, &made);
		if (rc == LIBDEFLATE_INSUFFICIENT_SPACE) {
			guess = 2 * (b->text_cap - out_off);
			continue;
		}
		if (rc != LIBDEFLATE_SUCCESS)
			return 1;
		in_off += used;
		out_off += made;
	}
	s->bytes = n;
	struct splitter sp = {0};
	split_lines(r, s, &sp, b->text, out_off, true);
	return sp.rc;
}

static int
read_source(struct rpt *r, struct rpt_source *s, struct buffers *b, char *err, size_t errlen)
{
	struct reader rd = {.src = s, .in = b->in};
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
	int rc = 0;
	if (rd.gz) {
		rc = read_whole_gz(r, s, rd.fd, b);
		if (rc <= 0) {
			if (rc == -ENOMEM)
				snprintf(err, errlen, "out of memory counting %s", s->path);
			else if (rc < 0)
				snprintf(err, errlen, "%s: read error: %s", s->path, strerror(errno));
			close(rd.fd);
			return rc < 0 ? -1 : 0;
		}
		if (inflateInit2(&rd.z, 15 + 16) != Z_OK) {
			snprintf(err, errlen, "%s: zlib cannot start", s->path);
			close(rd.fd);
			return -1;
		}
	}
	const size_t cap = CHUNK + RPT_LINE_MAX;
	size_t have = 0;
	struct splitter sp = {0};
	rc = 0;
	for (;;) {
		ssize_t n = fill(&rd, b->win + have, cap - have);
		if (n < 0) {
			snprintf(err, errlen, "%s: read error after %llu lines: %s", s->path,
				 (unsigned long long)s->lines, strerror(errno));
			rc = -1;
			break;
		}
		have += (size_t)n;
		size_t used = split_lines(r, s, &sp, b->win, have, n == 0);
		if (sp.rc < 0) {
			snprintf(err, errlen, "out of memory counting %s", s->path);
			rc = -1;
			break;
		}
		memmove(b->win, b->win + used, have - used);
		have -= used;
		if (n == 0)
			break;
	}
	if (rd.gz)
		inflateEnd(&rd.z);
	close(rd.fd);
	return rc;
}

int
rpt_sources_read(struct rpt *r, char *err, size_t errlen)
{
	struct buffers b = {.win = malloc(CHUNK + RPT_LINE_MAX), .in = malloc(CHUNK)};
	int rc = 0;
	if (!b.win || !b.in) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	for (uint32_t i = 0; rc == 0 && i < r->n_sources; i++) {
		struct rpt_source *s = &r->sources[i];
		if (s->skipped_by_name)
			continue;
		rc = read_source(r, s, &b, err, errlen);
		if (rc == 0 && s->problem[0])
			fprintf(stderr, "bwgate-report: %s: %s after %llu lines; those lines are "
				"counted\n", s->path, s->problem, (unsigned long long)s->lines);
	}
	free(b.win);
	free(b.in);
	free(b.gz);
	free(b.text);
	if (b.inflater)
		libdeflate_free_decompressor(b.inflater);
	return rc;
}
