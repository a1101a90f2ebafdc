/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_DET_COMMON_H
#define BWG_DET_COMMON_H

/*
 * What the payload detectors (det_*.c) share: reading untrusted payload bytes (fixed-width
 * fields in either byte order, bounded comparisons and searches) and telling which packet
 * of a flow a detector is looking at. The field readers trust the caller to have checked
 * the length; the others take it and never look past it. Worker thread; no state.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bwg_classify.h"

static inline uint16_t
bwg_det_be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t
bwg_det_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint16_t
bwg_det_le16(const uint8_t *b)
{
	return (uint16_t)(b[1] << 8 | b[0]);
}

/* b[0..n) begins with the m bytes of s. */
static inline bool
bwg_det_starts(const uint8_t *b, uint32_t n, const void *s, uint32_t m)
{
	return n >= m && memcmp(b, s, m) == 0;
}

/* b[0..n) ends with the m bytes of s. */
static inline bool
bwg_det_ends(const uint8_t *b, uint32_t n, const void *s, uint32_t m)
{
	return n >= m && memcmp(b + n - m, s, m) == 0;
}

/* b[0..n) begins with one of the k NUL-terminated strings in s[]. */
static inline bool
bwg_det_starts_any(const uint8_t *b, uint32_t n, const char *const *s, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (bwg_det_starts(b, n, s[i], (uint32_t)strlen(s[i])))
			return true;
	return false;
}

/* Where the m bytes of s first occur in b[0..n), or NULL. */
static inline const uint8_t *
bwg_det_find(const uint8_t *b, uint32_t n, const void *s, uint32_t m)
{
	for (uint32_t i = 0; m && n >= m && i <= n - m; i++) {
		const uint8_t *at = memchr(b + i, *(const uint8_t *)s, n - m + 1 - i);
		if (!at)
			break;
		i = (uint32_t)(at - b);
		if (memcmp(at, s, m) == 0)
			return at;
	}
	return NULL;
}

/* All of b[0..n) is zero. */
static inline bool
bwg_det_zero(const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/*
 * For detectors that judge the client's first data on a TCP connection: 1 when p is that
 * payload; 0 when it is the server's, sent first (wait for the client's); -1 when there
 * is nothing to judge any more: the connection was picked up mid-stream (its SYN unseen,
 * so this is no first payload), or the client's first payload has gone by.
 */
static inline int
bwg_det_client_opening(const struct bwg_det_pkt *p)
{
	if (!p->opened || (p->dir == 0 && p->seen[0] != 0))
		return -1;
	return p->dir == 0;
}

#endif
