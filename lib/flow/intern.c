/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reference-counted intern table (worker-owned); see bwg_intern.h.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_hash.h"
#include "bwg_intern.h"

int
bwg_intern_init(struct bwg_intern *t, uint32_t capacity, uint32_t key_len, uint32_t val_len)
{
	memset(t, 0, sizeof(*t));
	t->capacity = capacity;
	t->key_len = key_len;
	t->val_off = (key_len + 7) & ~7u;
	t->stride = (t->val_off + val_len + 7) & ~7u;
	t->entries = calloc(capacity, t->stride);
	t->refs = calloc(capacity, sizeof(*t->refs));
	t->hashes = calloc(capacity, sizeof(*t->hashes));
	t->free_stack = malloc(capacity * sizeof(*t->free_stack));
	if (!t->entries || !t->refs || !t->hashes || !t->free_stack ||
	    bwg_slotmap_init(&t->index, capacity) < 0) {
		bwg_intern_fini(t);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < capacity; i++)
		t->free_stack[i] = capacity - 1 - i;
	t->free_top = capacity;
	return 0;
}

void
bwg_intern_fini(struct bwg_intern *t)
{
	free(t->entries);
	free(t->refs);
	free(t->hashes);
	free(t->free_stack);
	bwg_slotmap_fini(&t->index);
	memset(t, 0, sizeof(*t));
}

/* Keyed: host names and client addresses come from the network. */
static uint32_t
hash_bytes(const uint8_t *b, uint32_t n)
{
	return (uint32_t)bwg_siphash13(&bwg_hash_secret, b, n);
}

/* The entry of `key` (hash h), or BWG_INTERN_NONE. */
static uint32_t
find(const struct bwg_intern *t, const void *key, uint32_t h)
{
	BWG_SLOTMAP_FOREACH(&t->index, h, pos) {
		uint32_t id = t->index.slots[pos].idx;
		if (t->index.slots[pos].hash == h &&
		    memcmp(bwg_intern_key(t, id), key, t->key_len) == 0)
			return id;
	}
	return BWG_INTERN_NONE;
}

uint32_t
bwg_intern_find(const struct bwg_intern *t, const void *key)
{
	return find(t, key, hash_bytes(key, t->key_len));
}

uint32_t
bwg_intern_get(struct bwg_intern *t, const void *key, int *created)
{
	uint32_t h = hash_bytes(key, t->key_len);
	*created = 0;
	uint32_t found = find(t, key, h);
	if (found != BWG_INTERN_NONE) {
		t->refs[found]++;
		return found;
	}
	if (t->free_top == 0)
		return BWG_INTERN_NONE;
	uint32_t id = t->free_stack[--t->free_top];
	memset(bwg_intern_key(t, id), 0, t->stride);
	memcpy(bwg_intern_key(t, id), key, t->key_len);
	t->refs[id] = 1;
	t->hashes[id] = h;
	bwg_slotmap_insert(&t->index, h, id);
	t->used++;
	*created = 1;
	return id;
}

void
bwg_intern_put(struct bwg_intern *t, uint32_t id)
{
	if (--t->refs[id] > 0)
		return;
	bwg_slotmap_remove(&t->index, t->hashes[id], id);
	t->free_stack[t->free_top++] = id;
	t->used--;
}
