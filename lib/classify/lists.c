/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * List file reader (control thread): see bwg_lists.h.
 *
 * The file is read in large chunks and split into lines here, so a line longer than
 * BWG_LIST_LINE_MAX is noticed and reported rather than cut in two by a fixed-size
 * fgets() buffer, and a million-line list costs one pass with no allocation per line.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bwg_config.h"
#include "bwg_lists.h"

#define CHUNK (1u << 20)

int
bwg_list_resolve(const char *dir, const char *name, char *out, char *err, size_t errlen)
{
	char joined[PATH_MAX], real_dir[PATH_MAX];
	if (!realpath(dir, real_dir)) {
		int e = errno;
		snprintf(err, errlen, "lists folder \"%s\": %s", dir, strerror(e));
		return -e;
	}
	if (name[0] == '/')
		snprintf(joined, sizeof(joined), "%s", name);
	else
		snprintf(joined, sizeof(joined), "%s/%s", real_dir, name);
	if (!realpath(joined, out)) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", joined, strerror(e));
		return -e;
	}
	size_t n = strlen(real_dir);
	if (strcmp(real_dir, "/") != 0 &&
	    (strncmp(out, real_dir, n) != 0 || out[n] != '/')) {
		snprintf(err, errlen, "%s: outside the lists folder %s (lists_dir): lists are "
			 "read from there only", joined, real_dir);
		return -EACCES;
	}
	return 0;
}

/* One line without its end-of-line: its entries handed to fn. Returns how many, or
 * -errno with the reason in why. */
static int
do_line(char *s, size_t len, unsigned lineno, enum bwg_list_kind kind, bwg_list_entry_fn fn,
	void *ctx, char *why, size_t whylen)
{
	s[len] = 0;
	char *hash = strchr(s, '#');
	if (hash)
		*hash = 0;
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = 0;
	if (!*s)
		return 0;
	if (kind == BWG_LIST_ADDRESSES) {
		if (strpbrk(s, " \t")) {
			snprintf(why, whylen, "one address or CIDR a line");
			return -EINVAL;
		}
		int rc = fn(ctx, s, lineno, why, whylen);
		return rc < 0 ? rc : 1;
	}
	if (*s == '!' || (*s == '[' && e[-1] == ']'))
		return 0; /* Adblock comment or header */
	if (s[0] == '|' && s[1] == '|') {
		if (e - s < 4 || e[-1] != '^') {
			snprintf(why, whylen, "an Adblock rule other than ||domain^ (options, "
				 "paths and wildcards are not supported)");
			return -EINVAL;
		}
		e[-1] = 0;
		s += 2;
	} else if (s[0] == '@' && s[1] == '@') {
		snprintf(why, whylen, "an Adblock exception rule (@@): not supported");
		return -EINVAL;
	}
	char *sp = strpbrk(s, " \t");
	if (!sp) {
		char name[BWG_HOST_NAME_MAX * 4 + 8];
		if (strlen(s) >= sizeof(name)) {
			snprintf(why, whylen, "a name longer than %d characters", BWG_HOST_NAME_MAX);
			return -EINVAL;
		}
		strcpy(name, s);
		int rc = bwg_config_host_normalise(name, sizeof(name), why, whylen);
		if (rc == 0)
			rc = fn(ctx, name, lineno, why, whylen);
		return rc < 0 ? rc : 1;
	}
	/* Hosts-file line: an address, then names. */
	*sp = 0;
	unsigned char a[16];
	if (inet_pton(AF_INET, s, a) != 1 && inet_pton(AF_INET6, s, a) != 1) {
		snprintf(why, whylen, "several words: one pattern a line, or a hosts-file line "
			 "that starts with an address");
		return -EINVAL;
	}
	int n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(sp + 1, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		static const char *const local[] = {"localhost", "localhost.localdomain", "local",
						    "broadcasthost", "ip6-localhost",
						    "ip6-loopback", "0.0.0.0", NULL};
		int skip = 0;
		for (int i = 0; local[i]; i++)
			skip |= strcasecmp(tok, local[i]) == 0;
		if (skip)
			continue;
		char name[BWG_HOST_NAME_MAX * 4 + 8];
		if (strlen(tok) >= sizeof(name)) {
			snprintf(why, whylen, "a name longer than %d characters", BWG_HOST_NAME_MAX);
			return -EINVAL;
		}
		strcpy(name, tok);
		int rc = bwg_config_host_normalise(name, sizeof(name), why, whylen);
		if (rc < 0 || (rc = fn(ctx, name, lineno, why, whylen)) < 0)
			return rc;
		n++;
	}
	return n;
}

long
bwg_list_read(const char *dir, const char *name, enum bwg_list_kind kind, bwg_list_entry_fn fn,
	      void *ctx, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int rc = bwg_list_resolve(dir, name, path, err, errlen);
	if (rc < 0)
		return rc;
	int fd = bwg_config_open_regular(path, BWG_LIST_FILE_MAX, "", err, errlen);
	if (fd < 0)
		return fd;
	char *buf = malloc(CHUNK + BWG_LIST_LINE_MAX + 2);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t have = 0, total = 0;
	unsigned lineno = 1;
	long entries = 0;
	int eof = 0;
	char why[320];
	rc = 0;
	while (rc == 0) {
		if (!eof) {
			ssize_t n = read(fd, buf + have, CHUNK + BWG_LIST_LINE_MAX + 1 - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = -errno;
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				break;
			}
			if (n == 0)
				eof = 1;
			if (total == 0 && n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
				snprintf(err, errlen, "%s: starts with a UTF-8 byte-order mark (BOM): "
					 "save the file as UTF-8 without one", path);
				rc = -EINVAL;
				break;
			}
			have += (size_t)(n > 0 ? n : 0);
			total += (size_t)(n > 0 ? n : 0);
			if (total > BWG_LIST_FILE_MAX) {
				snprintf(err, errlen, "%s: grew past %u MiB while being read", path,
					 BWG_LIST_FILE_MAX >> 20);
				rc = -EFBIG;
				break;
			}
		}
		size_t start = 0;
		for (;;) {
			char *nl = memchr(buf + start, '\n', have - start);
			size_t len = nl ? (size_t)(nl - (buf + start)) : have - start;
			if (len > BWG_LIST_LINE_MAX) {
				snprintf(err, errlen, "%s:%u: longer than %d bytes", path, lineno,
					 BWG_LIST_LINE_MAX);
				rc = -EINVAL;
				break;
			}
			if (!nl && !(eof && len > 0))
				break;
			if (memchr(buf + start, 0, len)) {
				snprintf(err, errlen, "%s:%u: a NUL byte: not a text file", path,
					 lineno);
				rc = -EINVAL;
				break;
			}
			why[0] = 0;
			int r = do_line(buf + start, len, lineno, kind, fn, ctx, why, sizeof(why));
			if (r < 0) {
				snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
				rc = r;
				break;
			}
			entries += r;
			start += len + (nl != NULL);
			lineno++;
			if (!nl)
				break;
		}
		if (rc)
			break;
		memmove(buf, buf + start, have - start);
		have -= start;
		if (eof && have == 0)
			break;
	}
	free(buf);
	close(fd);
	return rc < 0 ? rc : entries;
}
