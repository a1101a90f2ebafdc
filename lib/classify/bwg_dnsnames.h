/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_DNSNAMES_H
#define BWG_DNSNAMES_H

/*
 * Names learned from DNS: the answers of DNS responses crossing the gate (A, AAAA and
 * CNAME chains) kept as address -> name with the record's TTL, so that a flow with no
 * name of its own (no SNI, no Host: QUIC nDPI cannot read, a bare UDP flow) takes the
 * name its server address was last resolved to.
 *
 * What is learned from a response: for every A and AAAA record of the answer section
 * whose owner is the question's name or on the CNAME chain that starts there, address ->
 * the question's name (what the user resolved, e.g. v.qq.com, not the CDN's name at the
 * end of the chain). A resolver inside the gate that resolves iteratively asks for the
 * chain one zone at a time; an answer that ends in a CNAME and holds no address for it
 * is kept as target -> question's name, and the answer for the target then teaches its
 * addresses under the first name.
 *
 * One cache shared by every worker (a DNS answer seen by one worker serves flows on all
 * of them), created by the control thread with a bounded number of entries; workers
 * learn from the DNS flows they carry and look names up when they decide a class.
 * Neither side waits on the other: see dnsnames.c.
 *
 * The same cache keeps two more kinds of entry, each under keys of its own:
 *
 *  - names other flows gave: a TLS, QUIC or DTLS flow's server name or an HTTP flow's
 *    Host, kept as (client, server) -> name, so that the client's next flow to that
 *    server with no name of its own (a DTLS or RTP flow beside the TLS connection that
 *    set it up, a QUIC connection nDPI cannot read) takes it. Keyed by the client as
 *    well: a name one inside host sends teaches nothing about another host's flows.
 *  - socket classes: an inside address and UDP port -> the class a flow from that
 *    socket was strongly given (a chat app's STUN exchange, a game's login), so that
 *    the socket's next flows (the call's media to a peer, the match's server) take it
 *    for a short while.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bwg_dnsnames;

struct bwg_dnsnames_conf {
	uint32_t entries; /* addresses remembered at most (rounded up to a power of two) */
	uint32_t max_ttl; /* seconds a record is kept at most, whatever its TTL */
};

/* Seconds a learned record lives at least: a TTL under it (0 included) is raised to it,
 * as browsers keep an answer about a minute whatever its TTL. max_ttl still caps it. */
#define BWG_DNSNAMES_TTL_FLOOR 60

/* Seconds a name another flow gave its server lives (at most max_ttl). */
#define BWG_DNSNAMES_FLOW_TTL 600
/* Seconds a socket's class lives after the flow that set it was classed. */
#define BWG_DNSNAMES_SOCKET_TTL 120

/* Counters a worker keeps of what it fed the cache (summed by the control thread). */
struct bwg_dnsnames_counters {
	uint64_t responses;   /* DNS responses (QR set) parsed */
	uint64_t learned;     /* address records learned */
	uint64_t taught;      /* names and socket classes flows gave (stored, not repeats) */
	uint64_t malformed;   /* messages that could not be parsed (ignored, nothing learned) */
	uint64_t evictions;   /* live entries pushed out to make room */
	uint64_t busy;        /* records not stored: another worker held the set */
};

/*
 * Control thread: allocate a cache of conf->entries (1 .. 2^24) entries, all of its
 * memory at once (bwg_dnsnames_bytes). Returns 0, -EINVAL (message in err) or -ENOMEM.
 */
int bwg_dnsnames_create(struct bwg_dnsnames **out, const struct bwg_dnsnames_conf *conf,
			char *err, size_t errlen);
void bwg_dnsnames_destroy(struct bwg_dnsnames *n);

/*
 * Worker: learn from one DNS message from a server (`tcp`: as carried by TCP, with its
 * 2-byte length prefix; a segment may hold several whole messages, and one that does not
 * end with a whole message counts as malformed) seen at now_ns (packet time, ns). Never
 * reads past len; a malformed message is counted and teaches nothing.
 */
void bwg_dnsnames_learn(struct bwg_dnsnames *n, const uint8_t *msg, uint32_t len, bool tcp,
			uint64_t now_ns, struct bwg_dnsnames_counters *cnt);

/*
 * Worker: the name `addr` (16 bytes, IPv4 in the first 4 and the rest zero; family 4 or
 * 6) was last resolved to, if its record is still alive at now_ns: copied into buf
 * (printable lower-case ASCII, NUL-terminated, cut to len). Returns true when found.
 * Never waits: gives up (not found) if writers keep the set busy.
 */
bool bwg_dnsnames_lookup(const struct bwg_dnsnames *n, uint8_t family, const uint8_t *addr,
			 uint64_t now_ns, char *buf, size_t len);

/*
 * Worker: remember that a flow from client to server (16 bytes each) gave `name` as its
 * server's (its SNI or Host), for BWG_DNSNAMES_FLOW_TTL seconds. Writes nothing when the
 * cache holds that name for the pair already.
 */
void bwg_dnsnames_teach(struct bwg_dnsnames *n, uint8_t family, const uint8_t *client,
			const uint8_t *server, const char *name, uint64_t now_ns,
			struct bwg_dnsnames_counters *cnt);

/* Worker: the name a flow from client to server gave, if still alive; as lookup. */
bool bwg_dnsnames_taught(const struct bwg_dnsnames *n, uint8_t family, const uint8_t *client,
			 const uint8_t *server, uint64_t now_ns, char *buf, size_t len);

/*
 * Worker: remember that a flow from the inside socket addr:port was classed `cls` (a
 * class name), for BWG_DNSNAMES_SOCKET_TTL seconds; socket_get finds it. While no
 * socket class lives, socket_get costs one atomic read.
 */
void bwg_dnsnames_socket_put(struct bwg_dnsnames *n, uint8_t family, const uint8_t *addr,
			     uint16_t port, const char *cls, uint64_t now_ns,
			     struct bwg_dnsnames_counters *cnt);
bool bwg_dnsnames_socket_get(const struct bwg_dnsnames *n, uint8_t family, const uint8_t *addr,
			     uint16_t port, uint64_t now_ns, char *buf, size_t len);

/* Bytes the cache holds (all allocated at create). */
size_t bwg_dnsnames_bytes(const struct bwg_dnsnames *n);

/* Entries the cache holds (conf->entries rounded up). */
uint32_t bwg_dnsnames_capacity(const struct bwg_dnsnames *n);

#endif
