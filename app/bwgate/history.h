/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_APP_HISTORY_H
#define BWG_APP_HISTORY_H

/* The policy's history folder (control thread). See history.c. */

#include <sys/types.h>

#include <jansson.h>

#include "bwg_api.h"

/* Create dir (one level, 0750) if missing and read the newest `keep` versions in it
 * into h (room for keep). Returns 0 or -errno with a message. */
int bwg_history_load(struct bwg_api_history *h, const char *dir, uint32_t keep, char *err,
		     size_t errlen);
void bwg_history_fini(struct bwg_api_history *h);
void bwg_history_entry_free(struct bwg_api_history_entry *e);

/* Write the next version (policy, who, when) to its file. Returns the entry, not yet in
 * h, or NULL with a message. */
struct bwg_api_history_entry *bwg_history_write(const struct bwg_api_history *h,
						const json_t *policy, const char *source,
						const char *client, uint64_t now_s, char *err,
						size_t errlen);
/* Put e in h as the current version; when h holds `keep`, the oldest leaves (its file is
 * removed) and is returned for the caller to free once no reader can see it. */
struct bwg_api_history_entry *bwg_history_add(struct bwg_api_history *h, uint32_t keep,
					      struct bwg_api_history_entry *e);

/* mkdir -p: 0 when dir was there, 1 when made (missing levels with `mode`), or -errno. */
int bwg_mkdir_p(const char *dir, mode_t mode);

#endif
