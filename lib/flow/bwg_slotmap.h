/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_SLOTMAP_H
#define BWG_SLOTMAP_H

/*
 * Hash index from a 32-bit hash to record indexes: open addressing, linear probing,
 * backward-shift deletion (no tombstones, so chains do not rot under churn). The
 * records themselves live in the caller's array; the caller compares keys. Used by the
 * flow table and by the interned host / per-host meter tables. Single writer.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BWG_SLOT_EMPTY UINT32_MAX

struct bwg_slot {
	uint32_t hash;
	uint32_t idx;
};

struct bwg_slotmap {
	struct bwg_slot *slots;
	uint32_t mask;
};

/*
 * Zeroed memory for a large table a worker indexes at random: 64-byte aligned, and from
 * 2 MiB up mapped on its own, on transparent huge pages where the kernel allows. Such a
 * mapping is backed as it is touched, unless bwg_table_prefault() asked for every page
 * up front. Release with bwg_table_free() and the same size.
 */
void *bwg_table_alloc(size_t bytes);
void bwg_table_free(void *p, size_t bytes);
/*
 * Whether tables made from now on have all their memory at once (the appliance: a table
 * it cannot have fails at start, not under traffic) or as they fill (an offline replay
 * of a small capture needs a fraction of a table sized for the egress). Off by default.
 */
void bwg_table_prefault(bool on);

/* At least 2 * entries slots, so chains stay short. Returns 0 or -ENOMEM. */
int bwg_slotmap_init(struct bwg_slotmap *m, uint32_t entries);
void bwg_slotmap_fini(struct bwg_slotmap *m);
void bwg_slotmap_insert(struct bwg_slotmap *m, uint32_t hash, uint32_t idx);
/* Insert within `probes` slots of hash's home, or return -ENOSPC and insert nothing.
 * Lookups of such entries never need to look further than `probes` slots. */
int bwg_slotmap_insert_near(struct bwg_slotmap *m, uint32_t hash, uint32_t idx,
			    uint32_t probes);
/* Remove the entry for idx, which must be present under hash. */
void bwg_slotmap_remove(struct bwg_slotmap *m, uint32_t hash, uint32_t idx);

/* Walk the candidates for `hash`: for (pos = first; idx != EMPTY; pos = next) ... */
#define BWG_SLOTMAP_FOREACH(m, h, pos)                                                             \
	for (uint32_t pos = (h) & (m)->mask; (m)->slots[pos].idx != BWG_SLOT_EMPTY;               \
	     pos = (pos + 1) & (m)->mask)

#endif
