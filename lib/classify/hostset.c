/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host pattern set: an open-addressing hash of domain names.
 *
 * A host is matched by looking up each of its suffixes that starts at a label boundary,
 * longest first: "a.b.example.com" tries a.b.example.com, b.example.com, example.com,
 * com. The first hit is the longest pattern. That is one probe per label, so a list of
 * a million blocked domains costs the same per flow as a list of ten.
 *
 * Built once per policy on the control thread; workers only read it.
 */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_hash.h"
#include "bwg_hostset.h"

#define EMPTY UINT32_MAX

/* Keyed: the names looked up come from the network (SNI, Host, DNS). */
static uint32_t
hash_lower(const char *s, size_t n)
{
	return (uint32_t)bwg_siphash13_lower(&bwg_hash_secret, s, n);
}

int
bwg_hostset_init(struct bwg_hostset *s, uint32_t expected)
{
	memset(s, 0, sizeof(*s));
	uint32_t n = 16;
	while (n < expected * 2)
		n <<= 1;
	s->slots = malloc(n * sizeof(*s->slots));
	if (!s->slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		s->slots[i].off = EMPTY;
	s->mask = n - 1;
	return 0;
}

void
bwg_hostset_fini(struct bwg_hostset *s)
{
	free(s->slots);
	free(s->names);
	memset(s, 0, sizeof(*s));
}

static int
grow(struct bwg_hostset *s)
{
	struct bwg_hostset bigger = *s;
	uint32_t n = (s->mask + 1) * 2;
	bigger.slots = malloc(n * sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		bigger.slots[i].off = EMPTY;
	bigger.mask = n - 1;
	for (uint32_t i = 0; i <= s->mask; i++) {
		if (s->slots[i].off == EMPTY)
			continue;
		uint32_t j = s->slots[i].hash & bigger.mask;
		while (bigger.slots[j].off != EMPTY)
			j = (j + 1) & bigger.mask;
		bigger.slots[j] = s->slots[i];
	}
	free(s->slots);
	*s = bigger;
	return 0;
}

static const struct bwg_hostset_entry *
find(const struct bwg_hostset *s, const char *name, size_t n, uint32_t h)
{
	for (uint32_t i = h & s->mask;; i = (i + 1) & s->mask) {
		const struct bwg_hostset_entry *e = &s->slots[i];
		if (e->off == EMPTY)
			return NULL;
		if (e->hash == h && e->len == n && strncasecmp(s->names + e->off, name, n) == 0)
			return e;
	}
}

int
bwg_hostset_add(struct bwg_hostset *s, const char *pattern, uint8_t value, uint8_t *old_value)
{
	return bwg_hostset_add_src(s, pattern, value, 0, old_value);
}

int
bwg_hostset_add_src(struct bwg_hostset *s, const char *pattern, uint8_t value, uint16_t src,
		    uint8_t *old_value)
{
	uint8_t subonly = 0;
	if (pattern[0] == '*' && pattern[1] == '.') {
		pattern += 2;
		subonly = 1;
	}
	size_t n = strlen(pattern);
	uint32_t h = hash_lower(pattern, n);
	struct bwg_hostset_entry *old = (struct bwg_hostset_entry *)find(s, pattern, n, h);
	if (old) {
		/* "x" and "*.x" for the same value: "x" covers both. */
		if (old->value == value) {
			old->subonly &= subonly;
			return 0;
		}
		if (old_value)
			*old_value = old->value;
		return -EEXIST;
	}
	if ((s->count + 1) * 2 > s->mask + 1 && grow(s) < 0)
		return -ENOMEM;
	if (s->names_len + n + 1 > s->names_cap) {
		uint32_t cap = s->names_cap ? s->names_cap * 2 : 4096;
		while (cap < s->names_len + n + 1)
			cap *= 2;
		char *nn = realloc(s->names, cap);
		if (!nn)
			return -ENOMEM;
		s->names = nn;
		s->names_cap = cap;
	}
	memcpy(s->names + s->names_len, pattern, n + 1);
	uint32_t i = h & s->mask;
	while (s->slots[i].off != EMPTY)
		i = (i + 1) & s->mask;
	s->slots[i] = (struct bwg_hostset_entry){
		.hash = h, .off = s->names_len, .len = (uint16_t)n, .subonly = subonly,
		.value = value, .src = src};
	s->names_len += (uint32_t)n + 1;
	s->count++;
	return 0;
}

const struct bwg_hostset_entry *
bwg_hostset_lookup(const struct bwg_hostset *s, const char *host)
{
	if (!s->slots || s->count == 0 || !host)
		return NULL;
	size_t n = strlen(host);
	while (n > 0 && host[n - 1] == '.')
		n--;
	for (size_t start = 0; start < n;) {
		const struct bwg_hostset_entry *e =
			find(s, host + start, n - start, hash_lower(host + start, n - start));
		if (e && (start > 0 || !e->subonly))
			return e;
		const char *dot = memchr(host + start, '.', n - start);
		if (!dot)
			break;
		start = (size_t)(dot - host) + 1;
	}
	return NULL;
}

int
bwg_hostset_match(const struct bwg_hostset *s, const char *host, uint8_t *value)
{
	const struct bwg_hostset_entry *e = bwg_hostset_lookup(s, host);
	if (!e)
		return 0;
	*value = e->value;
	return 1;
}

const char *
bwg_hostset_pattern(const struct bwg_hostset *s, const struct bwg_hostset_entry *e, char *buf,
		    size_t len)
{
	snprintf(buf, len, "%s%.*s", e->subonly ? "*." : "", (int)e->len, s->names + e->off);
	return buf;
}

size_t
bwg_hostset_bytes(const struct bwg_hostset *s)
{
	return (size_t)(s->mask + 1) * sizeof(*s->slots) + s->names_cap;
}
