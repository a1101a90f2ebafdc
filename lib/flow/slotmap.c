/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hash index with backward-shift deletion; see bwg_slotmap.h. Worker-owned.
 */

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "bwg_slotmap.h"

void *
bwg_table_alloc(size_t bytes)
{
	const size_t huge = 2u << 20;
	if (bytes < huge)
		return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	/*
	 * Lookups land anywhere in a large table: with 4 KiB pages nearly every one also
	 * misses the TLB. Ask for transparent huge pages (a hint; the kernel may say no).
	 */
	size_t n = (bytes + huge - 1) & ~(huge - 1);
	void *p = aligned_alloc(huge, n);
	if (p)
		madvise(p, n, MADV_HUGEPAGE);
	return p;
}

int
bwg_slotmap_init(struct bwg_slotmap *m, uint32_t entries)
{
	uint32_t n = 16;
	while (n < entries * 2)
		n <<= 1;
	m->slots = bwg_table_alloc((size_t)n * sizeof(*m->slots));
	if (!m->slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		m->slots[i].idx = BWG_SLOT_EMPTY;
	m->mask = n - 1;
	return 0;
}

void
bwg_slotmap_fini(struct bwg_slotmap *m)
{
	free(m->slots);
	m->slots = NULL;
}

void
bwg_slotmap_insert(struct bwg_slotmap *m, uint32_t hash, uint32_t idx)
{
	uint32_t i = hash & m->mask;
	while (m->slots[i].idx != BWG_SLOT_EMPTY)
		i = (i + 1) & m->mask;
	m->slots[i].hash = hash;
	m->slots[i].idx = idx;
}

int
bwg_slotmap_insert_near(struct bwg_slotmap *m, uint32_t hash, uint32_t idx, uint32_t probes)
{
	uint32_t i = hash & m->mask;
	for (uint32_t k = 0; k < probes; k++, i = (i + 1) & m->mask) {
		if (m->slots[i].idx == BWG_SLOT_EMPTY) {
			m->slots[i].hash = hash;
			m->slots[i].idx = idx;
			return 0;
		}
	}
	return -ENOSPC;
}

void
bwg_slotmap_remove(struct bwg_slotmap *m, uint32_t hash, uint32_t idx)
{
	uint32_t hole = hash & m->mask;
	while (m->slots[hole].idx != idx)
		hole = (hole + 1) & m->mask;
	/* Pull back later members of the chain whose home lies at or before the hole. */
	for (uint32_t j = (hole + 1) & m->mask; m->slots[j].idx != BWG_SLOT_EMPTY;
	     j = (j + 1) & m->mask) {
		uint32_t home = m->slots[j].hash & m->mask;
		if (((j - home) & m->mask) >= ((j - hole) & m->mask)) {
			m->slots[hole] = m->slots[j];
			hole = j;
		}
	}
	m->slots[hole].idx = BWG_SLOT_EMPTY;
}
