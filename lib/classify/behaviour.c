/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host behaviour (see bwg_behaviour.h): the "p2p_behaviour" detector and the table of
 * inside hosts it judges.
 *
 * The signs are Karagiannis et al.'s (IMC 2004), kept per host in a few fixed-size
 * sketches over two half-windows rotated by time (the judgement weighs the last half to
 * whole window): a 128-bit Bloom filter (2 hashes) of the peers reached over TCP and one
 * of those reached over UDP, whose union estimates the distinct peers by linear
 * counting; a 64-bit set of the peers found in both; and four local-port slots, each a
 * 64-bit set of its peers and one of their remote ports. TCP connections the host opens
 * leave the port slots alone (their local port is the system's ephemeral pick, one a
 * connection); any other local port takes a slot by replacing the one with the fewest
 * peers, the least recently used among equals, so one-off ports churn through the
 * weakest slot while a DHT/uTP socket or a listening port, used over and over, keeps its
 * own. Every estimate is a table lookup on a popcount, the tables built once here;
 * thresholds compare estimates, never per-flow floating point.
 *
 * Only flows nothing named count, and only on ports >= 1024 both ends: the services
 * that use both TCP and UDP or fixed ports (DNS, NetBIOS, NTP, ...) live below 1024 and
 * nDPI names them anyway, while P2P clients default to high ports. A web server's
 * clients open several connections each (more remote ports than peers); a host querying
 * many servers on one service port has one remote port for all: the port rule asks for
 * at least half as many remote ports as peers, Karagiannis's {IP, port} test.
 *
 * The table: buckets of 4 hosts chosen by SipHash-1-3 of the address under the process
 * secret, so nobody outside can aim addresses at one bucket. A full bucket replaces a
 * host with no evidence left in the window first, then the oldest untagged one, then the
 * oldest tagged one (counted when it still had evidence or a tag), as conntrack drops
 * unassured entries first. Writers (workers reporting a flow) take the bucket's try-lock
 * and, when another worker holds it, skip the flow and count it busy: a worker never
 * waits. Readers never lock: a host's tag is one atomic 64-bit "tagged until" read
 * between two reads of the entry's id (its keyed hash), so an entry being replaced is
 * never mistaken for another host. One atomic "some tag lasts until" lets readers answer
 * with one load while nobody is tagged.
 *
 * Threads: create/destroy/active on the control thread; flow/tagged/any on workers.
 */

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_behaviour.h"
#include "bwg_classify.h"
#include "bwg_hash.h"
#include "bwg_slotmap.h"

const struct bwg_detector bwg_det_p2p_behaviour = {
	.name = "p2p_behaviour",
	.rule = "the inside host behaves as a P2P peer (many external peers on high ports with "
		"no name, TCP and UDP to the same peers, one local port for many peers, or a "
		"flow recognised as P2P)",
	.source = BWG_SRC_BEHAVIOUR,
	.protos = BWG_DET_TCP | BWG_DET_UDP,
	.packet = NULL,
};

#define WAYS 4
#define PORT_SLOTS 4
#define PEER_BITS 128 /* per protocol: a Bloom filter with 2 hashes */
#define SET_BITS 64   /* the "both" set and the port slots: one hash */
#define EST_SATURATED UINT16_MAX
#define HIGH_PORT 1024
#define NS 1000000000ull

/* The evidence of one half-window. */
struct half {
	uint64_t peers[2][PEER_BITS / 64]; /* [0] TCP, [1] UDP */
	uint64_t both;                     /* peers reached over TCP and UDP */
	uint64_t port_peers[PORT_SLOTS];   /* per local-port slot: its peers */
	uint64_t port_rports[PORT_SLOTS];  /* ... and their remote ports */
	uint16_t port[PORT_SLOTS];         /* 0: the slot is free */
	uint16_t port_used[PORT_SLOTS];    /* `uses` when the slot last counted a flow */
	uint16_t uses;                     /* flows counted in port slots (wraps) */
};

struct host {
	_Atomic uint64_t id;           /* keyed hash of the address, bit 0 set; 0: free */
	_Atomic uint64_t tagged_until; /* ns; 0: never tagged */
	uint64_t last_ns;              /* last flow that counted */
	uint64_t half_ns;              /* start of the current half-window */
	uint8_t addr[16];
	uint8_t family;
	uint8_t cur;                   /* index of the current half in half[] */
	struct half half[2];
};

struct bucket {
	_Atomic uint8_t lock; /* writers' try-lock; its own cache line */
	struct host way[WAYS] __attribute__((aligned(64)));
};

struct bwg_behaviour {
	struct bucket *buckets;
	uint32_t mask; /* buckets - 1 */
	uint64_t window_ns, half_ns, tag_ns;
	uint32_t peers, tcp_udp, port_peers;
	/* Distinct elements estimated from the bits set (linear counting). */
	uint16_t est_peers[PEER_BITS + 1]; /* 2 hashes in PEER_BITS */
	uint16_t est_set[SET_BITS + 1];    /* 1 hash in SET_BITS */
	_Atomic uint64_t tags_until __attribute__((aligned(64))); /* latest tag end, ns */
};

/*
 * est[X]: how many distinct elements, inserted with k hashes into m bits, leave X bits set
 * on average. The expected fill grows by 1 - x/m per hash; est[X] is the first count
 * whose fill reaches X - 1/2. All bits set says only "many".
 */
static void
est_table(uint16_t *est, unsigned m, unsigned k)
{
	double x = 0;
	unsigned n = 0;
	est[0] = 0;
	for (unsigned X = 1; X < m; X++) {
		while (x < X - 0.5 && n < EST_SATURATED - 1) {
			for (unsigned i = 0; i < k; i++)
				x += 1.0 - x / m;
			n++;
		}
		est[X] = (uint16_t)n;
	}
	est[m] = EST_SATURATED;
}

int
bwg_behaviour_create(struct bwg_behaviour **out, const struct bwg_behaviour_conf *conf,
		     char *err, size_t errlen)
{
	*out = NULL;
	if (conf->hosts == 0 || conf->window < 2 || conf->tag_for == 0 ||
	    conf->peers > BWG_BEHAVIOUR_PEERS_MAX ||
	    conf->tcp_udp_peers > BWG_BEHAVIOUR_TCP_UDP_MAX ||
	    conf->port_peers > BWG_BEHAVIOUR_PORT_PEERS_MAX) {
		snprintf(err, errlen, "host behaviour: hosts, window (>= 2 s), tag_for or a "
			 "threshold out of range");
		return -EINVAL;
	}
	struct bwg_behaviour *b = aligned_alloc(64, (sizeof(*b) + 63) & ~(size_t)63);
	if (!b)
		return -ENOMEM;
	memset(b, 0, sizeof(*b));
	uint32_t want = (conf->hosts + WAYS - 1) / WAYS, n = 1;
	while (n < want)
		n <<= 1;
	b->buckets = bwg_table_alloc((size_t)n * sizeof(*b->buckets));
	if (!b->buckets) {
		free(b);
		return -ENOMEM;
	}
	b->mask = n - 1;
	b->window_ns = (uint64_t)conf->window * NS;
	b->half_ns = b->window_ns / 2;
	b->tag_ns = (uint64_t)conf->tag_for * NS;
	b->peers = conf->peers;
	b->tcp_udp = conf->tcp_udp_peers;
	b->port_peers = conf->port_peers;
	est_table(b->est_peers, PEER_BITS, 2);
	est_table(b->est_set, SET_BITS, 1);
	atomic_init(&b->tags_until, 0);
	*out = b;
	return 0;
}

void
bwg_behaviour_destroy(struct bwg_behaviour *b)
{
	if (!b)
		return;
	bwg_table_free(b->buckets, ((size_t)b->mask + 1) * sizeof(*b->buckets));
	free(b);
}

uint32_t
bwg_behaviour_capacity(const struct bwg_behaviour *b)
{
	return (b->mask + 1) * WAYS;
}

size_t
bwg_behaviour_bytes(const struct bwg_behaviour *b)
{
	return sizeof(*b) + (size_t)(b->mask + 1) * sizeof(*b->buckets);
}

/* ---- hashing ---------------------------------------------------------------------------- */

#define addr_hash bwg_hash_addr

/* A host's id: never 0 (a free way). */
static inline uint64_t
host_id(uint8_t family, const uint8_t *host)
{
	return addr_hash(family, host, 0) | 1;
}

static inline struct bucket *
bucket_of(const struct bwg_behaviour *b, uint64_t id)
{
	return &b->buckets[(uint32_t)(id >> 32) & b->mask];
}

static inline bool
multicast(uint8_t family, const uint8_t *a)
{
	if (family == 6)
		return a[0] == 0xff;
	return (a[0] >= 224 && a[0] <= 239) || (a[0] == 255 && a[1] == 255 && a[2] == 255 &&
						a[3] == 255);
}

/* ---- readers ---------------------------------------------------------------------------- */

bool
bwg_behaviour_any(const struct bwg_behaviour *b, uint64_t now_ns)
{
	return atomic_load_explicit(&b->tags_until, memory_order_relaxed) > now_ns;
}

bool
bwg_behaviour_tagged(const struct bwg_behaviour *b, uint8_t family, const uint8_t *host,
		     uint64_t now_ns)
{
	if (!bwg_behaviour_any(b, now_ns))
		return false;
	uint64_t id = host_id(family, host);
	const struct bucket *k = bucket_of(b, id);
	for (int i = 0; i < WAYS; i++) {
		const struct host *h = &k->way[i];
		if (atomic_load_explicit(&h->id, memory_order_acquire) != id)
			continue;
		uint64_t until = atomic_load_explicit(&h->tagged_until, memory_order_acquire);
		/* A writer replacing the entry clears its id before its tag: a tag read after
		 * the id changed belongs to another host. */
		if (atomic_load_explicit(&h->id, memory_order_relaxed) != id)
			return false;
		return until > now_ns;
	}
	return false;
}

uint64_t
bwg_behaviour_active(const struct bwg_behaviour *b, uint64_t now_ns)
{
	uint64_t n = 0;
	if (!bwg_behaviour_any(b, now_ns))
		return 0;
	for (uint32_t i = 0; i <= b->mask; i++)
		for (int j = 0; j < WAYS; j++) {
			const struct host *h = &b->buckets[i].way[j];
			n += atomic_load_explicit(&h->id, memory_order_relaxed) != 0 &&
			     atomic_load_explicit(&h->tagged_until, memory_order_relaxed) > now_ns;
		}
	return n;
}

/* ---- writers (under the bucket's lock) -------------------------------------------------- */

static inline bool
bucket_trylock(struct bucket *k)
{
	/* Look before writing: a held lock's line is not pulled away from its holder. */
	return !atomic_load_explicit(&k->lock, memory_order_relaxed) &&
	       !atomic_exchange_explicit(&k->lock, 1, memory_order_acquire);
}

static inline void
bucket_unlock(struct bucket *k)
{
	atomic_store_explicit(&k->lock, 0, memory_order_release);
}

/* 0: free or nothing left to lose; 1: evidence in the window; 2: tagged. */
static inline int
host_worth(const struct bwg_behaviour *b, const struct host *h, uint64_t now)
{
	if (atomic_load_explicit(&h->id, memory_order_relaxed) == 0)
		return 0;
	if (atomic_load_explicit(&h->tagged_until, memory_order_relaxed) > now)
		return 2;
	return h->last_ns + b->window_ns > now ? 1 : 0;
}

static struct host *
host_get(struct bwg_behaviour *b, struct bucket *k, uint64_t id, uint8_t family,
	 const uint8_t *addr, uint64_t now, struct bwg_behaviour_counters *cnt)
{
	struct host *victim = NULL;
	int vworth = 3;
	for (int i = 0; i < WAYS; i++) {
		struct host *h = &k->way[i];
		if (atomic_load_explicit(&h->id, memory_order_relaxed) == id &&
		    h->family == family && memcmp(h->addr, addr, 16) == 0)
			return h;
		int w = host_worth(b, h, now);
		if (w < vworth || (w == vworth && h->last_ns < victim->last_ns)) {
			victim = h;
			vworth = w;
		}
	}
	if (vworth > 0)
		cnt->evictions++;
	/* Readers match the id alone: clear it before anything else changes. */
	atomic_store_explicit(&victim->id, 0, memory_order_relaxed);
	atomic_store_explicit(&victim->tagged_until, 0, memory_order_release);
	memset(victim->half, 0, sizeof(victim->half));
	memcpy(victim->addr, addr, 16);
	victim->family = family;
	victim->cur = 0;
	victim->half_ns = now;
	victim->last_ns = now;
	atomic_store_explicit(&victim->id, id, memory_order_release);
	return victim;
}

/* Move the half-windows on to now: the current one becomes the previous. */
static void
host_rotate(const struct bwg_behaviour *b, struct host *h, uint64_t now)
{
	if (now < h->half_ns + b->half_ns)
		return; /* also a clock a little behind another worker's */
	if (now - h->half_ns >= 2 * b->half_ns) {
		memset(h->half, 0, sizeof(h->half));
		h->half_ns = now;
		return;
	}
	h->cur ^= 1;
	memset(&h->half[h->cur], 0, sizeof(h->half[0]));
	h->half_ns += b->half_ns;
}

static void
host_tag(struct bwg_behaviour *b, struct host *h, uint64_t now,
	 struct bwg_behaviour_counters *cnt)
{
	uint64_t until = now + b->tag_ns;
	uint64_t old = atomic_load_explicit(&h->tagged_until, memory_order_relaxed);
	if (old <= now)
		cnt->tagged++;
	if (until > old)
		atomic_store_explicit(&h->tagged_until, until, memory_order_release);
	uint64_t g = atomic_load_explicit(&b->tags_until, memory_order_relaxed);
	while (g < until && !atomic_compare_exchange_weak_explicit(&b->tags_until, &g, until,
								   memory_order_release,
								   memory_order_relaxed))
		;
}

static inline bool
bloom_has(const uint64_t *f, unsigned i, unsigned j)
{
	return (f[i / 64] >> (i % 64) & 1) && (f[j / 64] >> (j % 64) & 1);
}

static inline unsigned
pop(uint64_t x)
{
	return (unsigned)__builtin_popcountll(x);
}

/* Slot i is weaker than slot j: fewer peers, or as many and used less recently. */
static inline bool
port_weaker(const struct half *h, unsigned i, unsigned j)
{
	unsigned pi = pop(h->port_peers[i]), pj = pop(h->port_peers[j]);
	return pi < pj || (pi == pj && (uint16_t)(h->uses - h->port_used[i]) >
					       (uint16_t)(h->uses - h->port_used[j]));
}

/* The slot of `port` in half h; a port without one takes the weakest (a free one first). */
static unsigned
port_slot(struct half *h, uint16_t port)
{
	unsigned weakest = 0;
	h->uses++;
	for (unsigned i = 0; i < PORT_SLOTS; i++) {
		if (h->port[i] == port) {
			h->port_used[i] = h->uses;
			return i;
		}
		if (port_weaker(h, i, weakest))
			weakest = i;
	}
	h->port[weakest] = port;
	h->port_peers[weakest] = h->port_rports[weakest] = 0;
	h->port_used[weakest] = h->uses;
	return weakest;
}

/* Count one unnamed flow into the host's sketches. Returns true when a rule fires. */
static bool
host_count(const struct bwg_behaviour *b, struct host *h, const struct bwg_behaviour_flow *f,
	   uint64_t now)
{
	host_rotate(b, h, now);
	struct half *cur = &h->half[h->cur], *prev = &h->half[h->cur ^ 1];
	uint64_t ph = addr_hash(f->family, f->peer, 1);
	unsigned p = f->proto == 6 ? 0 : 1;
	unsigned i = ph % PEER_BITS, j = (ph >> 7) % PEER_BITS;
	cur->peers[p][i / 64] |= 1ull << (i % 64);
	cur->peers[p][j / 64] |= 1ull << (j % 64);
	if (bloom_has(cur->peers[p ^ 1], i, j) || bloom_has(prev->peers[p ^ 1], i, j))
		cur->both |= 1ull << (ph >> 14 & 63);
	/* The ephemeral port of a connection the host opened is the system's, not the
	 * application's: it says nothing of how the host listens. */
	bool port_rule = b->port_peers && !(f->proto == 6 && f->host_client);
	unsigned s = 0;
	if (port_rule) {
		uint64_t rport = (uint64_t)f->peer_port | 2ull << 32;
		uint64_t rh = bwg_siphash13_words(&bwg_hash_secret, &rport, 1);
		s = port_slot(cur, f->host_port);
		cur->port_peers[s] |= 1ull << (ph >> 20 & 63);
		cur->port_rports[s] |= 1ull << (rh & 63);
	}

	if (b->peers) {
		unsigned x = 0;
		for (unsigned w = 0; w < PEER_BITS / 64; w++)
			x += pop(cur->peers[0][w] | cur->peers[1][w] | prev->peers[0][w] |
				 prev->peers[1][w]);
		if (b->est_peers[x] >= b->peers)
			return true;
	}
	if (b->tcp_udp && b->est_set[pop(cur->both | prev->both)] >= b->tcp_udp)
		return true;
	if (port_rule) {
		uint64_t pp = cur->port_peers[s], rp = cur->port_rports[s];
		for (unsigned t = 0; t < PORT_SLOTS; t++)
			if (prev->port[t] == f->host_port) {
				pp |= prev->port_peers[t];
				rp |= prev->port_rports[t];
			}
		unsigned peers = b->est_set[pop(pp)], rports = b->est_set[pop(rp)];
		if (peers >= b->port_peers && 2 * rports >= peers)
			return true;
	}
	return false;
}

void
bwg_behaviour_flow(struct bwg_behaviour *b, const struct bwg_behaviour_flow *f, uint64_t now_ns,
		   struct bwg_behaviour_counters *cnt)
{
	if (f->proto != 6 && f->proto != 17)
		return;
	if (!f->p2p && (f->named || f->recognised || f->host_port < HIGH_PORT ||
			f->peer_port < HIGH_PORT || multicast(f->family, f->peer)))
		return;
	uint64_t id = host_id(f->family, f->host);
	struct bucket *k = bucket_of(b, id);
	if (!bucket_trylock(k)) {
		cnt->busy++;
		return;
	}
	struct host *h = host_get(b, k, id, f->family, f->host, now_ns, cnt);
	if (f->p2p) {
		cnt->p2p_flows++;
		host_tag(b, h, now_ns, cnt);
	} else {
		cnt->flows++;
		if (host_count(b, h, f, now_ns))
			host_tag(b, h, now_ns, cnt);
	}
	if (now_ns > h->last_ns)
		h->last_ns = now_ns;
	bucket_unlock(k);
}
