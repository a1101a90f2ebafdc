/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Address sets (see bwg_addrset.h). Control thread builds, workers read.
 *
 * Building turns nested prefixes into disjoint ranges with one sweep: prefixes sorted by
 * start, shortest first, are pushed on a stack; whenever the next prefix starts past
 * the end of the one on top, that one's remaining range is emitted and it is popped.
 * CIDR prefixes are either nested or disjoint, so the stack always holds a chain of
 * nested prefixes and the innermost one labels each range: the longest prefix wins.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_addrset.h"

typedef unsigned __int128 u128;

void
bwg_addrset_init(struct bwg_addrset *s)
{
	memset(s, 0, sizeof(*s));
}

void
bwg_addrset_fini(struct bwg_addrset *s)
{
	free(s->px);
	free(s->v4_start);
	free(s->v4_px);
	free(s->v6_start);
	free(s->v6_px);
	memset(s, 0, sizeof(*s));
}

static u128
to_u128(uint8_t family, const uint8_t *a)
{
	u128 v = 0;
	for (int i = 0; i < (family == 4 ? 4 : 16); i++)
		v = v << 8 | a[i];
	return v;
}

static void
range_of(const struct bwg_addrset_prefix *p, u128 *lo, u128 *hi)
{
	unsigned bits = p->family == 4 ? 32 : 128;
	*lo = to_u128(p->family, p->addr);
	u128 span = p->len == 0 ? ~(u128)0 >> (128 - bits) : (((u128)1 << (bits - p->len)) - 1);
	*hi = *lo | span;
}

int
bwg_addrset_add(struct bwg_addrset *s, uint8_t family, const uint8_t addr[16], uint8_t len,
		uint8_t value, uint16_t src, uint32_t line)
{
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 64;
		struct bwg_addrset_prefix *n = realloc(s->px, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->px = n;
		s->cap = cap;
	}
	struct bwg_addrset_prefix *p = &s->px[s->n++];
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->len = len;
	p->value = value;
	p->src = src;
	p->line = line;
	memcpy(p->addr, addr, family == 4 ? 4 : 16);
	return 0;
}

static int
px_cmp(const void *a, const void *b)
{
	const struct bwg_addrset_prefix *x = a, *y = b;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	int c = memcmp(x->addr, y->addr, 16);
	if (c)
		return c;
	return (int)x->len - (int)y->len;
}

struct ranges {
	u128 *start;
	uint32_t *px;
	uint32_t n, cap;
};

static int
emit(struct ranges *r, u128 start, uint32_t px)
{
	if (r->n && r->px[r->n - 1] == px)
		return 0; /* same label continues */
	if (r->n && r->start[r->n - 1] == start) {
		r->px[r->n - 1] = px; /* an empty range before: replace it */
		return 0;
	}
	if (r->n == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 64;
		u128 *s = realloc(r->start, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		r->start = s;
		uint32_t *p = realloc(r->px, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		r->px = p;
		r->cap = cap;
	}
	r->start[r->n] = start;
	r->px[r->n++] = px;
	return 0;
}

/* Flatten px[from, to) (one family, sorted) into r. */
static int
flatten(const struct bwg_addrset *s, uint32_t from, uint32_t to, struct ranges *r, u128 top_addr)
{
	uint32_t stack[130];
	int top = 0;
	u128 lo, hi, slo, shi;
	for (uint32_t i = from; i <= to; i++) {
		if (i < to)
			range_of(&s->px[i], &lo, &hi);
		/* Close every prefix on the stack that ends before this one starts. */
		while (top > 0) {
			range_of(&s->px[stack[top - 1]], &slo, &shi);
			if (i < to && lo <= shi)
				break;
			top--;
			/* What follows the closed prefix belongs to the one below it. */
			if (shi != top_addr && emit(r, shi + 1, top ? stack[top - 1] : BWG_ADDRSET_NONE))
				return -ENOMEM;
		}
		if (i == to)
			break;
		if (emit(r, lo, i) < 0)
			return -ENOMEM;
		stack[top++] = i;
	}
	return 0;
}

int
bwg_addrset_build(struct bwg_addrset *s)
{
	if (s->n)
		qsort(s->px, s->n, sizeof(*s->px), px_cmp);
	/* The same prefix twice is one entry, unless the two disagree on the value. */
	uint32_t k = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		if (k > 0 && px_cmp(&s->px[k - 1], &s->px[i]) == 0) {
			if (s->px[k - 1].value != s->px[i].value) {
				s->dup[0] = s->px[k - 1];
				s->dup[1] = s->px[i];
				return -EEXIST;
			}
			continue;
		}
		s->px[k++] = s->px[i];
	}
	s->n = k;
	uint32_t split = 0;
	while (split < s->n && s->px[split].family == 4)
		split++;
	struct ranges r4 = {0}, r6 = {0};
	int rc = -ENOMEM;
	if (flatten(s, 0, split, &r4, 0xffffffffu) < 0 || flatten(s, split, s->n, &r6, ~(u128)0) < 0)
		goto out;
	free(s->v4_start);
	free(s->v4_px);
	free(s->v6_start);
	free(s->v6_px);
	s->v4_start = malloc((r4.n ? r4.n : 1) * sizeof(uint32_t));
	s->v4_px = r4.px;
	s->n4 = r4.n;
	r4.px = NULL;
	if (!s->v4_start)
		goto out;
	for (uint32_t i = 0; i < r4.n; i++)
		s->v4_start[i] = (uint32_t)r4.start[i];
	s->v6_start = r6.start;
	s->v6_px = r6.px;
	s->n6 = r6.n;
	r6.start = NULL;
	r6.px = NULL;
	rc = 0;
out:
	free(r4.start);
	free(r4.px);
	free(r6.start);
	free(r6.px);
	return rc;
}

const struct bwg_addrset_prefix *
bwg_addrset_match(const struct bwg_addrset *s, uint8_t family, const uint8_t addr[16])
{
	uint32_t lo = 0, hi, px = BWG_ADDRSET_NONE;
	if (family == 4) {
		uint32_t a = (uint32_t)to_u128(4, addr);
		hi = s->n4;
		if (!hi || a < s->v4_start[0])
			return NULL;
		while (hi - lo > 1) { /* last start <= a */
			uint32_t mid = lo + (hi - lo) / 2;
			if (s->v4_start[mid] <= a)
				lo = mid;
			else
				hi = mid;
		}
		px = s->v4_px[lo];
	} else {
		u128 a = to_u128(6, addr);
		hi = s->n6;
		if (!hi || a < s->v6_start[0])
			return NULL;
		while (hi - lo > 1) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (s->v6_start[mid] <= a)
				lo = mid;
			else
				hi = mid;
		}
		px = s->v6_px[lo];
	}
	return px == BWG_ADDRSET_NONE ? NULL : &s->px[px];
}
