/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_INTERN_H
#define BWG_INTERN_H

/*
 * Reference-counted table of fixed-size keys, each with a fixed-size value: the host
 * names flows point at (so a 128-byte flow record can name its host with 4 bytes) and
 * the per-host token buckets of limit rules. Capacity is fixed at start-up; an entry
 * lives while flows reference it. Worker-owned, touched once per flow event, never per
 * packet.
 */

#include <stddef.h>
#include <stdint.h>

#include "bwg_slotmap.h"

#define BWG_INTERN_NONE UINT32_MAX

struct bwg_intern {
	struct bwg_slotmap index;
	uint8_t *entries; /* capacity entries of `stride` bytes: key, value */
	uint32_t *refs;
	uint32_t *hashes;
	uint32_t *free_stack;
	uint32_t free_top;
	uint32_t capacity;
	uint32_t key_len;
	uint32_t val_off; /* key_len rounded up to 8: values are 8-byte aligned */
	uint32_t stride;
	uint32_t used;
};

int bwg_intern_init(struct bwg_intern *t, uint32_t capacity, uint32_t key_len, uint32_t val_len);
void bwg_intern_fini(struct bwg_intern *t);

/*
 * Reference the entry for `key` (key_len bytes), creating it with a zeroed value if it
 * is new (*created = 1). Returns its id, or BWG_INTERN_NONE when the table is full.
 */
uint32_t bwg_intern_get(struct bwg_intern *t, const void *key, int *created);
/* Drop one reference; the entry goes when the last one does. */
void bwg_intern_put(struct bwg_intern *t, uint32_t id);

/* The id of `key` without taking a reference, or BWG_INTERN_NONE. */
uint32_t bwg_intern_find(const struct bwg_intern *t, const void *key);

/* References held on entry id. */
static inline uint32_t
bwg_intern_refs(const struct bwg_intern *t, uint32_t id)
{
	return t->refs[id];
}

static inline void *
bwg_intern_key(const struct bwg_intern *t, uint32_t id)
{
	return t->entries + (size_t)id * t->stride;
}

static inline void *
bwg_intern_val(const struct bwg_intern *t, uint32_t id)
{
	return t->entries + (size_t)id * t->stride + t->val_off;
}

#endif
