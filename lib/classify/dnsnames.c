/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Names learned from DNS (see bwg_dnsnames.h): a DNS response parser and a cache of
 * address -> name shared by every worker.
 *
 * Parser (worker thread; the bytes are anyone's). A response is read whole before
 * anything is learned: the header, the one question (its name is what the user asked
 * for), and at most MAX_ANSWERS records of the answer section, every name decoded under
 * RFC 1035's rules: labels of at most 63 bytes, names of at most 255, compression
 * pointers that point before the labels they end (so they cannot loop or point forward)
 * and at most MAX_HOPS of them a name, every read inside the message. Anything else
 * makes the message malformed: counted, nothing learned. Authority and additional
 * sections are never read: their addresses are not what the user asked for.
 *
 * Cache (created by the control thread; written and read by every worker). A
 * set-associative table: SipHash-1-3 of the address under the process secret picks a
 * set of WAYS entries, so nobody can aim answers at one set. Each set starts with a
 * sequence counter that is both the writers' try-lock and the readers' seqlock:
 *
 *   writer  CAS seq even -> odd, or give up and count `busy` (another worker is
 *           writing that set: one record lost, never a wait); write; seq = odd + 1
 *   reader  read seq (even), copy the entry, re-read seq: unchanged means the copy is
 *           whole; else try again, READ_TRIES times, then report "not found"
 *
 * so neither a writer nor a reader ever waits on another thread, and readers write
 * nothing shared (no cache line bounces between workers that only look names up). An
 * insert takes, in its set: the same address (the newest answer wins), else an empty or
 * expired way, else the least recently written one (counted as an eviction). All the
 * memory is allocated at create: 448 bytes a set of 4, 112 bytes an entry. Besides
 * addresses, an entry may hold the last name of a CNAME chain that ended without an
 * address (an iterative resolver asks for it next), keyed by two keyed hashes of the
 * name, with the question's name as its value; the name a flow gave its server, keyed by
 * two keyed hashes of the client and server addresses; or the class an inside socket's
 * flow was given, keyed by two keyed hashes of the socket. Each kind has a family code
 * of its own, so no key of one kind can meet a key of another.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <x86intrin.h>

#include "bwg_dnsnames.h"
#include "bwg_dpi.h"
#include "bwg_hash.h"
#include "bwg_slotmap.h"

#define WAYS 4
#define READ_TRIES 4
#define ENTRIES_MAX (1u << 24)
#define NAME_BYTES BWG_DPI_HOST_MAX /* a flow's host: 79 characters and the NUL */
#define NAME_WORDS (NAME_BYTES / 8)

#define MAX_ANSWERS 32 /* answer records read from one response; the rest are not */
#define MAX_NAMES 16   /* distinct names of one response followed along the chain */
#define MAX_HOPS 127   /* pointers in one name: no more than it can have labels */
#define WIRE_MAX 255   /* RFC 1035 2.3.4: a name's length, length octets included */
#define LABEL_MAX 63

#define FAM_NAME 1   /* key of a CNAME target awaiting its own answer (not an address) */
#define FAM_FLOW 2   /* key of a client and server pair: the name a flow gave its server */
#define FAM_SOCKET 3 /* key of an inside socket: the class one of its flows was given */

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1

_Static_assert(NAME_BYTES % 8 == 0, "names are copied in 64-bit words");

struct dn_entry {
	_Atomic uint64_t key[2];          /* the address, or a name's two keyed hashes */
	_Atomic uint64_t name[NAME_WORDS]; /* NUL-padded */
};

struct dn_set {
	_Atomic uint32_t seq;              /* odd while a writer is inside */
	_Atomic uint8_t family[WAYS];      /* 0: empty; 4, 6; FAM_NAME */
	_Atomic uint32_t tag[WAYS];        /* the hash's high half: most misses stop here */
	_Atomic uint32_t expires[WAYS];    /* seconds of packet time */
	_Atomic uint32_t written[WAYS];    /* seq when written: the oldest goes first */
	struct dn_entry e[WAYS] __attribute__((aligned(64)));
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct dn_set) == 64 + WAYS * sizeof(struct dn_entry),
	       "a set is one line of bookkeeping and its entries");

struct bwg_dnsnames {
	struct dn_set *sets;
	uint32_t mask; /* sets - 1 */
	uint32_t max_ttl;
	/* Seconds of packet time until which some socket class may still live: while none
	 * does, a socket lookup costs one read of this word. Written racily by workers (a
	 * late, smaller value only makes a lookup miss early). */
	_Atomic uint32_t socket_until;
};

int
bwg_dnsnames_create(struct bwg_dnsnames **out, const struct bwg_dnsnames_conf *conf, char *err,
		    size_t errlen)
{
	*out = NULL;
	if (conf->entries == 0 || conf->entries > ENTRIES_MAX) {
		snprintf(err, errlen, "dns.cache_entries: %u is not in 1 .. %u", conf->entries,
			 ENTRIES_MAX);
		return -EINVAL;
	}
	if (conf->max_ttl == 0) {
		snprintf(err, errlen, "dns.max_ttl: must be at least 1 second");
		return -EINVAL;
	}
	uint32_t sets = 1;
	while ((uint64_t)sets * WAYS < conf->entries)
		sets <<= 1;
	struct bwg_dnsnames *n = calloc(1, sizeof(*n));
	size_t bytes = (size_t)sets * sizeof(struct dn_set);
	if (!n || !(n->sets = bwg_table_alloc(bytes))) {
		free(n);
		snprintf(err, errlen, "out of memory for %u names learned from DNS (%zu bytes)",
			 sets * WAYS, bytes);
		return -ENOMEM;
	}
	n->mask = sets - 1;
	n->max_ttl = conf->max_ttl;
	*out = n;
	return 0;
}

void
bwg_dnsnames_destroy(struct bwg_dnsnames *n)
{
	if (!n)
		return;
	bwg_table_free(n->sets, ((size_t)n->mask + 1) * sizeof(struct dn_set));
	free(n);
}

size_t
bwg_dnsnames_bytes(const struct bwg_dnsnames *n)
{
	return sizeof(*n) + ((size_t)n->mask + 1) * sizeof(struct dn_set);
}

uint32_t
bwg_dnsnames_capacity(const struct bwg_dnsnames *n)
{
	return (n->mask + 1) * WAYS;
}

/* ---- the cache ------------------------------------------------------------------------ */

/* Where a key lives: its set, and the tag that most misses stop at. */
struct slot {
	struct dn_set *set;
	uint32_t tag;
	uint8_t family;
	uint64_t key[2];
};

/*
 * Find key's set and start loading it: its bookkeeping line and its entries are fetched
 * from memory together rather than one after the other (a lookup that hits would
 * otherwise wait for two misses in a row). `write`: the caller will store into it.
 */
static inline void
slot_find(const struct bwg_dnsnames *n, uint8_t family, const uint64_t key[2], bool write,
	  struct slot *sl)
{
	const uint64_t m[3] = {key[0], key[1], family};
	uint64_t h = bwg_siphash13_words(&bwg_hash_secret, m, 3);
	sl->set = &n->sets[h & n->mask];
	sl->tag = (uint32_t)(h >> 32);
	sl->family = family;
	sl->key[0] = key[0];
	sl->key[1] = key[1];
	for (size_t off = 0; off < sizeof(struct dn_set); off += 64) {
		if (write)
			__builtin_prefetch((const char *)sl->set + off, 1);
		else
			__builtin_prefetch((const char *)sl->set + off, 0);
	}
}

static inline uint32_t
seconds(uint64_t now_ns)
{
	return (uint32_t)(now_ns / 1000000000u);
}

/* Store the slot's key -> name (NUL-padded to NAME_BYTES) until `expires`. Returns true
 * when stored. */
static bool
cache_put(const struct slot *sl, const uint64_t name[NAME_WORDS], uint32_t now_s,
	  uint32_t expires, struct bwg_dnsnames_counters *cnt)
{
	struct dn_set *s = sl->set;
	const uint8_t family = sl->family;
	const uint64_t *key = sl->key;
	const uint32_t tag = sl->tag;
	uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
	if ((seq & 1) || !atomic_compare_exchange_strong_explicit(&s->seq, &seq, seq + 1,
								   memory_order_acquire,
								   memory_order_relaxed)) {
		cnt->busy++;
		return false;
	}
	/* Readers that see any store below also see the odd seq, and retry. */
	atomic_thread_fence(memory_order_release);
	int way = -1, free_way = -1, oldest = 0;
	uint32_t oldest_age = 0;
	for (int w = 0; w < WAYS; w++) {
		uint8_t f = atomic_load_explicit(&s->family[w], memory_order_relaxed);
		if (f == family && atomic_load_explicit(&s->tag[w], memory_order_relaxed) == tag &&
		    atomic_load_explicit(&s->e[w].key[0], memory_order_relaxed) == key[0] &&
		    atomic_load_explicit(&s->e[w].key[1], memory_order_relaxed) == key[1]) {
			way = w;
			break;
		}
		if (f == 0 || atomic_load_explicit(&s->expires[w], memory_order_relaxed) <= now_s) {
			if (free_way < 0)
				free_way = w;
			continue;
		}
		uint32_t age = seq - atomic_load_explicit(&s->written[w], memory_order_relaxed);
		if (age >= oldest_age) {
			oldest_age = age;
			oldest = w;
		}
	}
	if (way < 0 && (way = free_way) < 0) {
		way = oldest;
		cnt->evictions++;
	}
	atomic_store_explicit(&s->family[way], family, memory_order_relaxed);
	atomic_store_explicit(&s->tag[way], tag, memory_order_relaxed);
	atomic_store_explicit(&s->expires[way], expires, memory_order_relaxed);
	atomic_store_explicit(&s->written[way], seq + 2, memory_order_relaxed);
	atomic_store_explicit(&s->e[way].key[0], key[0], memory_order_relaxed);
	atomic_store_explicit(&s->e[way].key[1], key[1], memory_order_relaxed);
	for (int i = 0; i < NAME_WORDS; i++)
		atomic_store_explicit(&s->e[way].name[i], name[i], memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
	return true;
}

/* The name stored for the slot's key, alive at now_s, into name[]. Returns true when
 * found. */
static bool
cache_get(const struct slot *sl, uint32_t now_s, uint64_t name[NAME_WORDS])
{
	const struct dn_set *s = sl->set;
	const uint8_t family = sl->family;
	const uint64_t *key = sl->key;
	const uint32_t tag = sl->tag;
	for (int t = 0; t < READ_TRIES; t++) {
		uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (seq & 1) {
			_mm_pause(); /* a writer is inside for a few dozen ns */
			continue;
		}
		bool found = false;
		for (int w = 0; w < WAYS && !found; w++) {
			if (atomic_load_explicit(&s->family[w], memory_order_relaxed) != family ||
			    atomic_load_explicit(&s->tag[w], memory_order_relaxed) != tag ||
			    atomic_load_explicit(&s->expires[w], memory_order_relaxed) <= now_s ||
			    atomic_load_explicit(&s->e[w].key[0], memory_order_relaxed) != key[0] ||
			    atomic_load_explicit(&s->e[w].key[1], memory_order_relaxed) != key[1])
				continue;
			for (int i = 0; i < NAME_WORDS; i++)
				name[i] = atomic_load_explicit(&s->e[w].name[i],
							       memory_order_relaxed);
			found = true;
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) == seq)
			return found;
	}
	return false;
}

/* The text stored under (family code, key), alive at now_ns, into buf (cut to len). */
static bool
text_get(const struct bwg_dnsnames *n, uint8_t fam, const uint64_t key[2], uint64_t now_ns,
	 char *buf, size_t len)
{
	uint64_t v[NAME_WORDS];
	struct slot sl;
	if (len == 0)
		return false;
	slot_find(n, fam, key, false, &sl);
	if (!cache_get(&sl, seconds(now_ns), v))
		return false;
	const char *s = (const char *)v;
	size_t k = strnlen(s, NAME_BYTES - 1);
	if (k >= len)
		k = len - 1;
	memcpy(buf, s, k);
	buf[k] = 0;
	return true;
}

bool
bwg_dnsnames_lookup(const struct bwg_dnsnames *n, uint8_t family, const uint8_t *addr,
		    uint64_t now_ns, char *buf, size_t len)
{
	uint64_t key[2];
	if (family != 4 && family != 6)
		return false;
	memcpy(key, addr, sizeof(key));
	return text_get(n, family, key, now_ns, buf, len);
}

/* ---- names and classes other flows gave ------------------------------------------------ */

/*
 * A pair of addresses or a socket as a 128-bit key: SipHash-1-3 under the secret of its
 * words, twice, told apart by the top bit of the last word (two outputs of a keyed PRF
 * on distinct messages: independent). `m[n - 1]` holds the family and what else the
 * kind of key needs below bit 63.
 */
static void
words_key(uint64_t *m, unsigned n, uint64_t key[2])
{
	key[0] = bwg_siphash13_words(&bwg_hash_secret, m, n);
	m[n - 1] |= 1ull << 63;
	key[1] = bwg_siphash13_words(&bwg_hash_secret, m, n);
}

static void
pair_key(uint8_t family, const uint8_t *client, const uint8_t *server, uint64_t key[2])
{
	uint64_t m[5];
	memcpy(m, client, 16);
	memcpy(m + 2, server, 16);
	m[4] = (uint64_t)FAM_FLOW << 8 | family;
	words_key(m, 5, key);
}

static void
socket_key(uint8_t family, const uint8_t *addr, uint16_t port, uint64_t key[2])
{
	uint64_t m[3];
	memcpy(m, addr, 16);
	m[2] = (uint64_t)port << 16 | (uint64_t)FAM_SOCKET << 8 | family;
	words_key(m, 3, key);
}

/* Store text under (family code, key) for ttl seconds, unless the same text is there
 * already: flows that say again what the cache holds write nothing shared. Returns true
 * when stored. */
static bool
text_put(struct bwg_dnsnames *n, uint8_t fam, const uint64_t key[2], const char *text,
	 uint64_t now_ns, uint32_t ttl, struct bwg_dnsnames_counters *cnt)
{
	uint64_t v[NAME_WORDS], old[NAME_WORDS];
	memset(v, 0, sizeof(v));
	size_t k = strnlen(text, NAME_BYTES - 1);
	memcpy(v, text, k);
	uint32_t now_s = seconds(now_ns);
	struct slot sl;
	slot_find(n, fam, key, true, &sl);
	if (cache_get(&sl, now_s, old) && memcmp(old, v, sizeof(v)) == 0)
		return false;
	if (ttl > n->max_ttl)
		ttl = n->max_ttl;
	if (!cache_put(&sl, v, now_s, now_s > UINT32_MAX - ttl ? UINT32_MAX : now_s + ttl, cnt))
		return false;
	cnt->taught++;
	return true;
}

void
bwg_dnsnames_teach(struct bwg_dnsnames *n, uint8_t family, const uint8_t *client,
		   const uint8_t *server, const char *name, uint64_t now_ns,
		   struct bwg_dnsnames_counters *cnt)
{
	uint64_t key[2];
	if ((family != 4 && family != 6) || !name || !*name)
		return;
	pair_key(family, client, server, key);
	text_put(n, FAM_FLOW, key, name, now_ns, BWG_DNSNAMES_FLOW_TTL, cnt);
}

bool
bwg_dnsnames_taught(const struct bwg_dnsnames *n, uint8_t family, const uint8_t *client,
		    const uint8_t *server, uint64_t now_ns, char *buf, size_t len)
{
	uint64_t key[2];
	if (family != 4 && family != 6)
		return false;
	pair_key(family, client, server, key);
	return text_get(n, FAM_FLOW, key, now_ns, buf, len);
}

void
bwg_dnsnames_socket_put(struct bwg_dnsnames *n, uint8_t family, const uint8_t *addr,
			uint16_t port, const char *cls, uint64_t now_ns,
			struct bwg_dnsnames_counters *cnt)
{
	uint64_t key[2];
	if ((family != 4 && family != 6) || !cls || !*cls)
		return;
	socket_key(family, addr, port, key);
	if (text_put(n, FAM_SOCKET, key, cls, now_ns, BWG_DNSNAMES_SOCKET_TTL, cnt))
		atomic_store_explicit(&n->socket_until, seconds(now_ns) + BWG_DNSNAMES_SOCKET_TTL,
				      memory_order_relaxed);
}

bool
bwg_dnsnames_socket_get(const struct bwg_dnsnames *n, uint8_t family, const uint8_t *addr,
			uint16_t port, uint64_t now_ns, char *buf, size_t len)
{
	uint64_t key[2];
	if ((family != 4 && family != 6) ||
	    atomic_load_explicit(&n->socket_until, memory_order_relaxed) <= seconds(now_ns))
		return false;
	socket_key(family, addr, port, key);
	return text_get(n, FAM_SOCKET, key, now_ns, buf, len);
}

/* ---- the parser ------------------------------------------------------------------------ */

/* A name in wire form, uncompressed and folded to lower case (root label included). */
struct wire_name {
	uint8_t len;
	uint8_t b[WIRE_MAX];
};

/* The distinct names of one response, numbered in order of appearance (0: QNAME). */
struct msg_names {
	uint32_t n;
	struct wire_name v[MAX_NAMES];
};

struct answer {
	uint16_t type;
	uint32_t ttl;
	int8_t owner, target;  /* msg_names indexes; -1: not followed (MAX_NAMES) */
	uint32_t rdata;        /* A/AAAA: the address's offset */
};

/* A message's 16- and 32-bit fields: network order, any alignment. */
static inline uint16_t
be16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return ntohs(v);
}

static inline uint32_t
be32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return ntohl(v);
}

/*
 * Decode the name at m[off] into *out. Returns the offset just past the name's own bytes
 * (its root label or its first pointer), or -1 when it breaks RFC 1035: a read past len,
 * a label over 63 bytes or of a reserved type (0x40, 0x80), a name over 255 bytes, a
 * pointer to or past the start of the labels it ends (forward pointers and loops), more
 * than MAX_HOPS pointers.
 */
static int32_t
name_read(const uint8_t *m, uint32_t len, uint32_t off, struct wire_name *out)
{
	uint32_t pos = off, seg = off, n = 0, hops = 0;
	int32_t end = -1;
	for (;;) {
		if (pos >= len)
			return -1;
		uint8_t c = m[pos];
		if (c == 0) {
			out->b[n++] = 0;
			if (end < 0)
				end = (int32_t)pos + 1;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++hops > MAX_HOPS)
				return -1;
			uint32_t to = (uint32_t)(c & 0x3f) << 8 | m[pos + 1];
			if (to >= seg)
				return -1;
			if (end < 0)
				end = (int32_t)pos + 2;
			pos = seg = to;
			continue;
		}
		if (c > LABEL_MAX || pos + 1 + c > len || n + 1 + c + 1 > WIRE_MAX)
			return -1;
		out->b[n++] = c;
		for (uint32_t i = 1; i <= c; i++) {
			uint8_t ch = m[pos + i];
			out->b[n++] = ch >= 'A' && ch <= 'Z' ? (uint8_t)(ch + 32) : ch;
		}
		pos += 1 + c;
	}
	out->len = (uint8_t)n;
	return end;
}

/* The index of name w in the response's names, added if new; -1 when they are full. */
static int8_t
names_index(struct msg_names *ns, const struct wire_name *w)
{
	for (uint32_t i = 0; i < ns->n; i++)
		if (ns->v[i].len == w->len && memcmp(ns->v[i].b, w->b, w->len) == 0)
			return (int8_t)i;
	if (ns->n == MAX_NAMES)
		return -1;
	ns->v[ns->n].len = w->len;
	memcpy(ns->v[ns->n].b, w->b, w->len);
	return (int8_t)ns->n++;
}

/*
 * A wire name as the text a flow shows: labels joined by dots, printable ASCII only
 * (anything else, a dot inside a label included, becomes '?'), at most NAME_BYTES - 1
 * characters. A longer name loses whole labels from its front: the suffix is what host
 * patterns match. Returns the length (0 for the root).
 */
static uint32_t
name_text(const struct wire_name *w, uint64_t out[NAME_WORDS])
{
	char *t = (char *)out;
	memset(out, 0, NAME_BYTES);
	uint32_t total = (uint32_t)w->len > 2 ? (uint32_t)w->len - 2 : 0; /* text length */
	uint32_t pos = 0;
	while (total > NAME_BYTES - 1) {
		total -= (uint32_t)w->b[pos] + 1u;
		pos += (uint32_t)w->b[pos] + 1u;
	}
	uint32_t k = 0;
	while (w->b[pos]) {
		uint8_t l = w->b[pos++];
		if (k)
			t[k++] = '.';
		for (uint8_t i = 0; i < l; i++, pos++) {
			uint8_t ch = w->b[pos];
			t[k++] = ch > 0x20 && ch < 0x7f && ch != '.' && ch != '"' && ch != '\\'
					 ? (char)ch
					 : '?';
		}
	}
	return k;
}

/* The key of a CNAME target: two independent keyed hashes of its wire form. */
static void
name_key(const struct wire_name *w, uint64_t key[2])
{
	key[0] = bwg_siphash13(&bwg_hash_secret, w->b, w->len);
	key[1] = bwg_siphash24(&bwg_hash_secret, w->b, w->len);
}

static uint32_t
expiry(const struct bwg_dnsnames *n, uint32_t now_s, uint32_t ttl)
{
	if (ttl & 0x80000000u) /* RFC 2181 8: a TTL with the top bit set means 0 */
		ttl = 0;
	if (ttl < BWG_DNSNAMES_TTL_FLOOR)
		ttl = BWG_DNSNAMES_TTL_FLOOR;
	if (ttl > n->max_ttl)
		ttl = n->max_ttl;
	return now_s > UINT32_MAX - ttl ? UINT32_MAX : now_s + ttl;
}

/* Parse a response and learn from it; returns -1 when it is malformed. */
static int
learn_one(struct bwg_dnsnames *n, const uint8_t *m, uint32_t len, uint32_t now_s,
	  struct bwg_dnsnames_counters *cnt)
{
	if (len < 12 || len > UINT16_MAX) /* TCP's 16-bit prefix bounds every message */
		return -1;
	if (!(m[2] & 0x80))
		return 0; /* a query: nothing to learn */
	cnt->responses++;
	uint8_t opcode = (m[2] >> 3) & 0xf, rcode = m[3] & 0xf;
	bool tc = m[2] & 0x02;
	uint16_t qd = be16(m + 4), an = be16(m + 6);
	if (opcode != 0 || rcode != 0 || qd != 1 || an == 0)
		return 0; /* no answer to the one question */

	struct msg_names ns; /* not zeroed: only the first ns.n are read */
	ns.n = 0;
	struct wire_name w;
	int32_t pos = name_read(m, len, 12, &w);
	if (pos < 0 || (uint32_t)pos + 4 > len)
		return -1;
	if (w.len <= 1)
		return 0; /* the root: not a name anyone connects to */
	names_index(&ns, &w);
	pos += 4;

	struct answer ans[MAX_ANSWERS];
	uint32_t na = 0;
	for (uint32_t i = 0; i < an && i < MAX_ANSWERS; i++) {
		if ((uint32_t)pos == len && tc)
			break; /* truncated by the server, and said so: keep what came */
		if ((pos = name_read(m, len, (uint32_t)pos, &w)) < 0 || (uint32_t)pos + 10 > len)
			return -1;
		const uint8_t *r = m + pos;
		uint16_t type = be16(r), cls = be16(r + 2), rdlen = be16(r + 8);
		uint32_t rdata = (uint32_t)pos + 10;
		if (rdata + rdlen > len)
			return -1;
		pos = (int32_t)(rdata + rdlen);
		if (cls != DNS_CLASS_IN)
			continue;
		struct answer *a = &ans[na];
		*a = (struct answer){.type = type, .ttl = be32(r + 4), .target = -1,
				     .rdata = rdata};
		if (type == DNS_TYPE_A || type == DNS_TYPE_AAAA) {
			if (rdlen != (type == DNS_TYPE_A ? 4 : 16))
				return -1;
		} else if (type == DNS_TYPE_CNAME) {
			struct wire_name t;
			if (name_read(m, len, rdata, &t) != pos)
				return -1; /* the target must fill its rdata exactly */
			a->target = names_index(&ns, &t);
		} else {
			continue;
		}
		a->owner = names_index(&ns, &w);
		na++;
	}

	/* The chain from QNAME, whatever order the CNAMEs came in: one pass adds at least
	 * one name or ends it. */
	bool chain[MAX_NAMES] = {true};
	for (bool grew = true; grew;) {
		grew = false;
		for (uint32_t i = 0; i < na; i++)
			if (ans[i].type == DNS_TYPE_CNAME && ans[i].owner >= 0 && ans[i].target >= 0 &&
			    chain[ans[i].owner] && !chain[ans[i].target])
				chain[ans[i].target] = grew = true;
	}

	/* The sets this answer reads and writes, requested from memory all at once. */
	struct slot from, to[MAX_ANSWERS];
	uint8_t to_answer[MAX_ANSWERS];
	uint32_t nto = 0;
	uint64_t key[2];
	name_key(&ns.v[0], key);
	slot_find(n, FAM_NAME, key, false, &from);
	for (uint32_t i = 0; i < na; i++) {
		const struct answer *a = &ans[i];
		if (a->type == DNS_TYPE_CNAME || a->owner < 0 || !chain[a->owner])
			continue;
		key[0] = key[1] = 0;
		memcpy(key, m + a->rdata, a->type == DNS_TYPE_A ? 4 : 16);
		to_answer[nto] = (uint8_t)i;
		slot_find(n, a->type == DNS_TYPE_A ? 4 : 6, key, true, &to[nto++]);
	}

	/* What the user asked for: QNAME, or the name whose CNAME led here in an earlier
	 * answer (an iterative resolver's next question). */
	uint64_t origin[NAME_WORDS];
	if (!cache_get(&from, now_s, origin))
		name_text(&ns.v[0], origin);
	for (uint32_t k = 0; k < nto; k++)
		if (cache_put(&to[k], origin, now_s, expiry(n, now_s, ans[to_answer[k]].ttl), cnt))
			cnt->learned++;
	if (nto)
		return 0;
	/* A chain with no address at its end: its last names wait for their own answer. */
	for (uint32_t i = 0; i < na; i++) {
		const struct answer *a = &ans[i];
		if (a->type != DNS_TYPE_CNAME || a->owner < 0 || a->target < 0 || !chain[a->owner])
			continue;
		bool last = true;
		for (uint32_t j = 0; j < na && last; j++)
			last = !(ans[j].type == DNS_TYPE_CNAME && ans[j].owner == a->target);
		if (!last)
			continue;
		name_key(&ns.v[a->target], key);
		slot_find(n, FAM_NAME, key, true, &from);
		cache_put(&from, origin, now_s, expiry(n, now_s, a->ttl), cnt);
	}
	return 0;
}

void
bwg_dnsnames_learn(struct bwg_dnsnames *n, const uint8_t *msg, uint32_t len, bool tcp,
		   uint64_t now_ns, struct bwg_dnsnames_counters *cnt)
{
	uint32_t now_s = seconds(now_ns);
	if (!tcp) {
		if (learn_one(n, msg, len, now_s, cnt) < 0)
			cnt->malformed++;
		return;
	}
	/* DNS over TCP (RFC 1035 4.2.2): each message behind its 16-bit length. Segments are
	 * not reassembled: one that ends inside a message teaches nothing more. */
	while (len > 0) {
		uint32_t l = len >= 2 ? be16(msg) : 0;
		if (l == 0 || l > len - 2 || learn_one(n, msg + 2, l, now_s, cnt) < 0) {
			cnt->malformed++;
			return;
		}
		msg += 2 + l;
		len -= 2 + l;
	}
}
