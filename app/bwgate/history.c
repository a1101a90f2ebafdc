/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The policy's history on disk (control thread): every accepted policy as a numbered
 * file in history.dir, `NNNNNNNNNN.json` = {"version", "time", "source", "client",
 * "policy"}, written to a temporary name, synced and renamed, so a file there is always
 * whole. Numbers go on across restarts (the next is one past the largest kept); only the
 * newest history.keep files are kept. The API serves the same entries (lib/api/history.c).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bwgate.h"
#include "history.h"

#define HISTORY_FILE_MAX (4u << 20) /* bytes: a policy PUT is at most 1 MiB */

void
bwg_history_entry_free(struct bwg_api_history_entry *e)
{
	if (e)
		free(e->policy);
	free(e);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct bwg_api_history_entry *x = *(const struct bwg_api_history_entry *const *)a;
	const struct bwg_api_history_entry *y = *(const struct bwg_api_history_entry *const *)b;
	return x->version < y->version ? -1 : x->version > y->version;
}

/* One history file into an entry, or NULL (not ours, too large, not whole). */
static struct bwg_api_history_entry *
entry_read(const char *dir, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > HISTORY_FILE_MAX)
		return NULL;
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	json_t *pol = json_object_get(j, "policy");
	struct bwg_api_history_entry *e = calloc(1, sizeof(*e));
	if (!e || !json_is_object(pol) || !json_is_integer(json_object_get(j, "version"))) {
		json_decref(j);
		free(e);
		return NULL;
	}
	e->version = (uint32_t)json_integer_value(json_object_get(j, "version"));
	e->time = (uint64_t)json_integer_value(json_object_get(j, "time"));
	const char *s = json_string_value(json_object_get(j, "source"));
	snprintf(e->source, sizeof(e->source), "%s", s ? s : "");
	s = json_string_value(json_object_get(j, "client"));
	snprintf(e->client, sizeof(e->client), "%s", s ? s : "");
	e->policy = json_dumps(pol, JSON_COMPACT | BWG_JSON_REAL_FLAGS);
	json_decref(j);
	if (!e->policy) {
		free(e);
		return NULL;
	}
	return e;
}

int
bwg_history_load(struct bwg_api_history *h, const char *dir, uint32_t keep, char *err,
		 size_t errlen)
{
	memset(h, 0, sizeof(*h));
	if (!(h->dir = strdup(dir))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = bwg_mkdir_p(dir, 0750);
	if (rc < 0) {
		snprintf(err, errlen, "history.dir: cannot make %s: %s", dir, strerror(-rc));
		return rc;
	}
	if (rc > 0)
		BWG_APP_LOG("history.dir: created %s (0750)", dir);
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "history.dir: %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!(h->v = calloc(keep + 1, sizeof(*h->v)))) {
		closedir(d);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n != 15 || strspn(de->d_name, "0123456789") != 10 ||
		    strcmp(de->d_name + 10, ".json") != 0)
			continue;
		struct bwg_api_history_entry *e = entry_read(dir, de->d_name);
		if (!e)
			continue;
		if (h->n < keep) {
			h->v[h->n++] = e;
			continue;
		}
		/* Keep the newest: replace the oldest held when e is newer. */
		uint32_t old = 0;
		for (uint32_t i = 1; i < h->n; i++)
			if (h->v[i]->version < h->v[old]->version)
				old = i;
		if (e->version > h->v[old]->version) {
			bwg_history_entry_free(h->v[old]);
			h->v[old] = e;
		} else {
			bwg_history_entry_free(e);
		}
	}
	closedir(d);
	qsort(h->v, h->n, sizeof(*h->v), entry_cmp);
	return 0;
}

void
bwg_history_fini(struct bwg_api_history *h)
{
	for (uint32_t i = 0; h->v && i < h->n; i++)
		bwg_history_entry_free(h->v[i]);
	free(h->v);
	free((char *)h->dir);
	memset(h, 0, sizeof(*h));
}

int
bwg_mkdir_p(const char *dir, mode_t mode)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", dir);
	struct stat st;
	if (stat(p, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 1;
}

struct bwg_api_history_entry *
bwg_history_write(const struct bwg_api_history *h, const json_t *policy, const char *source,
		  const char *client, uint64_t now_s, char *err, size_t errlen)
{
	uint32_t version = h->n ? h->v[h->n - 1]->version + 1 : 1;
	struct bwg_api_history_entry *e = calloc(1, sizeof(*e));
	json_t *doc = json_pack("{s:I, s:I, s:s, s:s?, s:O}", "version", (json_int_t)version,
				"time", (json_int_t)now_s, "source", source, "client",
				client && *client ? client : NULL, "policy", policy);
	char *text = doc ? json_dumps(doc, JSON_INDENT(2) | BWG_JSON_REAL_FLAGS) : NULL;
	json_decref(doc);
	if (!e || !text || !(e->policy = json_dumps(policy, JSON_COMPACT | BWG_JSON_REAL_FLAGS))) {
		snprintf(err, errlen, "out of memory");
		free(text);
		bwg_history_entry_free(e);
		return NULL;
	}
	e->version = version;
	e->time = now_s;
	snprintf(e->source, sizeof(e->source), "%s", source);
	snprintf(e->client, sizeof(e->client), "%s", client ? client : "");
	char path[PATH_MAX], msg[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%010u.json", h->dir, version);
	if (bwg_file_replace(path, text, strlen(text), 0640, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "history.dir: %s", msg);
		free(text);
		bwg_history_entry_free(e);
		return NULL;
	}
	free(text);
	return e;
}

struct bwg_api_history_entry *
bwg_history_add(struct bwg_api_history *h, uint32_t keep, struct bwg_api_history_entry *e)
{
	struct bwg_api_history_entry *old = NULL;
	if (h->n == keep) {
		old = h->v[0];
		memmove(h->v, h->v + 1, (h->n - 1) * sizeof(*h->v));
		h->n--;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%010u.json", h->dir, old->version);
		unlink(path);
	}
	h->v[h->n++] = e;
	h->current = e->version;
	return old;
}
