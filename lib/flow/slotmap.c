/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hash index with backward-shift deletion; see bwg_slotmap.h. Worker-owned.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bwg_slotmap.h"

#define HUGE_BYTES ((size_t)2 << 20)

static bool prefault;

void
bwg_table_prefault(bool on)
{
	prefault = on;
}

void *
bwg_table_alloc(size_t bytes)
{
	if (bytes < HUGE_BYTES) {
		size_t n = (bytes + 63) & ~(size_t)63;
		void *p = aligned_alloc(64, n ? n : 64);
		if (p)
			memset(p, 0, n);
		return p;
	}
	/*
	 * Lookups land anywhere in a large table: with 4 KiB pages nearly every one also
	 * misses the TLB. Map it 2 MiB-aligned (an extra 2 MiB mapped, then trimmed) and ask
	 * for transparent huge pages (a hint; the kernel may say no). The kernel hands out
	 * zeroed pages, so nothing is written here.
	 */
	size_t n = (bytes + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
	uint8_t *m = mmap(NULL, n + HUGE_BYTES, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uint8_t *p = (uint8_t *)(((uintptr_t)m + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1));
	if (p > m)
		munmap(m, (size_t)(p - m));
	munmap(p + n, (size_t)(m + HUGE_BYTES - p));
	madvise(p, n, MADV_HUGEPAGE);
	if (prefault && madvise(p, n, MADV_POPULATE_WRITE) != 0) {
		if (errno != EINVAL) { /* no memory for it now: say so now */
			munmap(p, n);
			return NULL;
		}
		memset(p, 0, n); /* a kernel before 5.14 */
	}
	return p;
}

void
bwg_table_free(void *p, size_t bytes)
{
	if (!p)
		return;
	if (bytes < HUGE_BYTES)
		free(p);
	else
		munmap(p, (bytes + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1));
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
	if (m->slots)
		bwg_table_free(m->slots, ((size_t)m->mask + 1) * sizeof(*m->slots));
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
