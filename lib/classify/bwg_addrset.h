/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_ADDRSET_H
#define BWG_ADDRSET_H

/*
 * Address sets: IPv4 and IPv6 prefixes, each with a value (a class id) and a source tag
 * (which list it came from); a lookup returns the longest prefix holding an address.
 *
 * Built by the control thread (add every prefix, then bwg_addrset_build), read by
 * workers once per flow: the prefixes are flattened into sorted disjoint ranges, so a
 * lookup is one binary search however the prefixes nest.
 */

#include <stdint.h>

#define BWG_ADDRSET_NONE UINT32_MAX

struct bwg_addrset_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t len;
	uint8_t value;
	uint8_t pad;
	uint16_t src;   /* the caller's tag: which list */
	uint32_t line;  /* and where in it */
	uint8_t addr[16];
};

struct bwg_addrset {
	struct bwg_addrset_prefix *px;
	uint32_t n, cap;
	/* built: range starts (ascending) and the prefix each range belongs to, or NONE */
	uint32_t *v4_start;
	uint32_t *v4_px;
	uint32_t n4;
	unsigned __int128 *v6_start;
	uint32_t *v6_px;
	uint32_t n6;
	struct bwg_addrset_prefix dup[2]; /* after -EEXIST from build: the two entries */
};

void bwg_addrset_init(struct bwg_addrset *s);
void bwg_addrset_fini(struct bwg_addrset *s);

/* Add a prefix (host bits zero). Returns 0 or -ENOMEM. */
int bwg_addrset_add(struct bwg_addrset *s, uint8_t family, const uint8_t addr[16], uint8_t len,
		    uint8_t value, uint16_t src, uint32_t line);

/*
 * Flatten into ranges; call once after the last add. The same prefix twice with the same
 * value is harmless; with two values it is -EEXIST, and s->dup holds both entries.
 * Returns 0, -EEXIST or -ENOMEM.
 */
int bwg_addrset_build(struct bwg_addrset *s);

/* The longest prefix holding addr, or NULL. */
const struct bwg_addrset_prefix *bwg_addrset_match(const struct bwg_addrset *s, uint8_t family,
						  const uint8_t addr[16]);

#endif
