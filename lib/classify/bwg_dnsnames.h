/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_DNSNAMES_H
#define BWG_DNSNAMES_H

/*
 * Names learned from DNS: the answers of DNS responses crossing the gate (A, AAAA and
 * CNAME chains) kept as address -> name with the record's TTL, so that a flow with no
 * name of its own (no SNI, no Host: QUIC nDPI cannot read, a bare UDP flow) takes the
 * name its server address was last resolved to.
 *
 * One cache shared by every worker (a DNS answer seen by one worker serves flows on all
 * of them), created by the control thread with a bounded number of entries; workers
 * learn from the DNS flows they carry and look names up when they decide a class.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bwg_dnsnames;

struct bwg_dnsnames_conf {
	uint32_t entries; /* addresses remembered at most (0: the cache is off) */
	uint32_t max_ttl; /* seconds a record is kept at most, whatever its TTL */
};

/* Counters a worker keeps of what it fed the cache (summed by the control thread). */
struct bwg_dnsnames_counters {
	uint64_t responses;   /* DNS responses parsed */
	uint64_t learned;     /* address records learned */
	uint64_t malformed;   /* responses that could not be parsed (ignored) */
	uint64_t evictions;   /* live entries pushed out to make room */
	uint64_t busy;        /* records not stored: another worker held the bucket */
};

int bwg_dnsnames_create(struct bwg_dnsnames **out, const struct bwg_dnsnames_conf *conf,
			char *err, size_t errlen);
void bwg_dnsnames_destroy(struct bwg_dnsnames *n);

/*
 * Worker: learn from one DNS message (`tcp`: as carried by TCP, with its 2-byte length
 * prefix) seen at now_ns. Never reads past len; a malformed message is counted and
 * ignored.
 */
void bwg_dnsnames_learn(struct bwg_dnsnames *n, const uint8_t *msg, uint32_t len, bool tcp,
			uint64_t now_ns, struct bwg_dnsnames_counters *cnt);

/*
 * Worker: the name `addr` (16 bytes, IPv4 in the first 4) was last resolved to, if its
 * record is still alive at now_ns: copied into buf (NUL-terminated, cut to len). Returns
 * true when found.
 */
bool bwg_dnsnames_lookup(const struct bwg_dnsnames *n, uint8_t family, const uint8_t *addr,
			 uint64_t now_ns, char *buf, size_t len);

/* Bytes the cache holds. */
size_t bwg_dnsnames_bytes(const struct bwg_dnsnames *n);

#endif
