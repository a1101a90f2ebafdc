/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_HOSTSET_H
#define BWG_HOSTSET_H

/*
 * Host pattern sets: "example.com" matches example.com and every subdomain,
 * "*.example.com" only subdomains; matching is case-insensitive and the longest
 * matching pattern wins. Built by the control thread, read by workers once per flow.
 */

#include <stddef.h>
#include <stdint.h>

struct bwg_hostset_entry {
	uint32_t hash;
	uint32_t off;   /* into names; UINT32_MAX when the slot is empty */
	uint16_t len;
	uint8_t subonly; /* "*.x": x itself does not match */
	uint8_t value;   /* what a match returns (e.g. a class id) */
	uint16_t src;    /* the caller's tag: which list the pattern came from */
	uint16_t pad;
};

struct bwg_hostset {
	struct bwg_hostset_entry *slots;
	uint32_t mask;
	uint32_t count;
	char *names;
	uint32_t names_len;
	uint32_t names_cap;
};

/* Empty set sized for `expected` patterns. Returns 0 or -ENOMEM. */
int bwg_hostset_init(struct bwg_hostset *s, uint32_t expected);
void bwg_hostset_fini(struct bwg_hostset *s);

/*
 * Add a pattern (already syntax-checked, lower case). Adding a pattern again with the
 * same value is harmless. Returns 0, -EEXIST when the domain is already present with
 * another value (*old_value tells which), or -ENOMEM.
 */
int bwg_hostset_add(struct bwg_hostset *s, const char *pattern, uint8_t value,
		    uint8_t *old_value);
/* The same, tagging the pattern with `src` (kept from the first add of a domain). */
int bwg_hostset_add_src(struct bwg_hostset *s, const char *pattern, uint8_t value, uint16_t src,
			uint8_t *old_value);

/*
 * Longest pattern matching `host`; returns 1 and its value in *value, or 0. `host` may
 * be in any case and may end in a dot.
 */
int bwg_hostset_match(const struct bwg_hostset *s, const char *host, uint8_t *value);

/* The longest pattern matching `host` (its entry), or NULL. */
const struct bwg_hostset_entry *bwg_hostset_lookup(const struct bwg_hostset *s,
						   const char *host);

/* The pattern of an entry as text ("*.example.com" or "example.com") into buf. */
const char *bwg_hostset_pattern(const struct bwg_hostset *s, const struct bwg_hostset_entry *e,
				char *buf, size_t len);

/* Bytes the set holds (slots and names): for list-size figures. */
size_t bwg_hostset_bytes(const struct bwg_hostset *s);

#endif
