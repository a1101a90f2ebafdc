/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_FLOW_H
#define BWG_FLOW_H

/*
 * Per-worker flow table: bidirectional 5-tuple + VLAN key, fixed capacity chosen at
 * start-up, open addressing with linear probing and backward-shift deletion (no
 * tombstones, so probe chains never rot), and aging in bounded steps.
 *
 * Single writer: only the worker that owns the table touches it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bwg_pkt.h"
#include "bwg_slotmap.h"

#define BWG_FLOW_NONE UINT32_MAX

/* Flow lifecycle. */
enum bwg_flow_state {
	BWG_FLOW_FREE,
	BWG_FLOW_DETECTING, /* owns an nDPI state; the app may already be known */
	BWG_FLOW_CLASSIFIED, /* nDPI is done with it (answer or give-up) */
	BWG_FLOW_UNINSPECTED, /* no nDPI state was available: stays unknown */
	BWG_FLOW_STATE_MAX,
};

/* flags */
#define BWG_FLOW_FIN_C2S 0x01
#define BWG_FLOW_FIN_S2C 0x02
#define BWG_FLOW_RST 0x04
#define BWG_FLOW_EVENT_SENT 0x08 /* block/limit event already written */
#define BWG_FLOW_LOGGED 0x10     /* matched a rule with log: a flow-end record is due */
#define BWG_FLOW_GUESSED 0x20    /* nDPI's answer is a guess (port), not a dissector's */
#define BWG_FLOW_HOST_LEARNED 0x40 /* host_id is the name learned from DNS, not its own */
#define BWG_FLOW_DNS 0x80        /* a DNS flow (port 53): its answers feed the names cache */

/* life */
#define BWG_FLOW_HOST_COUNTED 0x01 /* counted in its client's concurrent flows */
#define BWG_FLOW_RESET_SENT 0x02   /* a reset pair was due at rst_tick */
/* life, as host behaviour (lib/classify/behaviour.c) knows the flow */
#define BWG_FLOW_BEH_DATA_C2S 0x04 /* the client sent payload while nDPI inspected */
#define BWG_FLOW_BEH_DATA_S2C 0x08 /* the server did */
#define BWG_FLOW_BEH_JUDGED 0x10   /* reported to the host table; its host's tag applies */
/* life, as the worker's counter folding knows the flow (lib/worker/worker.c); 0x20 is free */
#define BWG_FLOW_UNFOLDED 0x40   /* has packets not yet in the class, unit and app counters */
#define BWG_FLOW_FOLD_EPOCH 0x80 /* the publication epoch it was last made UNFOLDED in */

/*
 * The steady-state record of a flow: 128 bytes, two cache lines; the first holds the
 * key, times and counters that every packet touches.
 */
struct bwg_flow {
	/* key: addr[0]/port[0] is the client (sender of the first packet) */
	uint8_t addr[2][16];
	uint16_t port[2];
	uint16_t vlan;
	uint8_t proto;
	uint8_t family;

	uint64_t first_ts; /* ns */
	uint64_t last_ts;  /* ns */
	uint64_t pkts[2];  /* [0] client->server, [1] server->client */
	uint64_t bytes[2];
	uint32_t dropped_pkts;

	uint32_t host_id;  /* bwg_host table id, BWG_FLOW_NONE when no host seen */
	uint32_t dpi_slot; /* nDPI state while DETECTING, else BWG_FLOW_NONE */
	uint32_t meter_id; /* token bucket while the action is limit */
	uint32_t decision_gen; /* worker generation the cached decision belongs to */
	uint16_t app_master;   /* nDPI ids */
	uint16_t app;
	uint16_t category;
	uint16_t rule; /* index of the matching rule; rule count = default */
	uint16_t unit; /* 0 = no unit */
	uint8_t cls;
	uint8_t action; /* enum bwg_action, or the worker's BWG_ACTION_RULE */
	uint8_t state;
	uint8_t flags;
	uint8_t dpi_pkts; /* packets given to nDPI */
	uint8_t cls_src;  /* enum bwg_class_source of cls */
	uint8_t det;      /* bwgate payload detector that matched (bwg_classify.h), or 0 */
	uint8_t life;     /* BWG_FLOW_HOST_COUNTED, _RESET_SENT, _BEH_*, _UNFOLDED, _FOLD_EPOCH */
	uint16_t rst_tick; /* when the last reset pair was due, in 2^26 ns ticks (wraps) */
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct bwg_flow) <= 128, "flow record must stay within two cache lines");
#define BWG_FLOW_KEY_BYTES 40 /* addr, port, vlan, proto, family */
_Static_assert(offsetof(struct bwg_flow, family) + 1 == BWG_FLOW_KEY_BYTES &&
		       offsetof(struct bwg_pkt, family) + 1 == BWG_FLOW_KEY_BYTES &&
		       offsetof(struct bwg_flow, port) == offsetof(struct bwg_pkt, port) &&
		       offsetof(struct bwg_flow, vlan) == offsetof(struct bwg_pkt, vlan) &&
		       offsetof(struct bwg_flow, proto) == offsetof(struct bwg_pkt, proto),
	       "a packet's key and a flow's are laid out alike");

struct bwg_flow_timeouts {
	uint64_t tcp_ns;
	uint64_t tcp_closed_ns;
	uint64_t tcp_opening_ns; /* handshake not completed */
	uint64_t udp_ns;
	uint64_t udp_unreplied_ns; /* never answered */
	uint64_t other_ns;
};

struct bwg_flow_table {
	struct bwg_flow *flows;
	struct bwg_slotmap index; /* by the keyed flow hash (bwg_flow_hash): every flow */
	struct bwg_slotmap nic;   /* by the NIC's hash, flows near its home only; .slots NULL
				   * until bwg_flow_table_nic_init() */
	uint64_t *nic_hash;       /* [capacity]: BWG_FLOW_NIC_ON | the hash a record is in
				   * `nic` under, 0 when it is not there */
	uint32_t *free_stack;
	uint32_t free_top;
	uint32_t capacity;
	uint32_t active;
	uint32_t age_cursor;
	uint64_t evict_rng; /* picks the records eviction looks at */
	uint32_t high_water; /* 1 + highest record index ever handed out: aging stops there */
	struct bwg_flow_timeouts timeouts;
};

/* Allocates every record and bucket now. Returns 0 or -ENOMEM/-EINVAL. */
int bwg_flow_table_init(struct bwg_flow_table *t, uint32_t capacity,
			const struct bwg_flow_timeouts *timeouts);
void bwg_flow_table_fini(struct bwg_flow_table *t);

/*
 * A second index, by the hash the NIC computed for RSS (symmetric: both directions of a
 * flow get the same). Established packets that carry one are found without the keyed
 * hash. The NIC's hash is not keyed against flooding (symmetric Toeplitz maps every
 * flow with the same source ^ destination to one value), so a flow enters this index
 * only within BWG_FLOW_NIC_PROBES slots of its home; past that it is found by the keyed
 * hash alone, and a lookup here never walks further. Returns 0 or -ENOMEM.
 */
int bwg_flow_table_nic_init(struct bwg_flow_table *t);
#define BWG_FLOW_NIC_PROBES 4

/* Symmetric hash: both directions of a flow hash the same. */
uint32_t bwg_flow_hash(const struct bwg_pkt *p);

/* hash[idx[j]] = bwg_flow_hash(&p[idx[j]]) for j < n, a burst at a time (the SipHash
 * rounds of several keys side by side, bwg_siphash13_batch). */
void bwg_flow_hash_burst(const struct bwg_pkt *p, const uint16_t *idx, uint16_t n,
			 uint32_t *hash);

/*
 * Find the flow of packet p. On a hit *dir is 0 when p goes client->server, 1 otherwise.
 * Returns NULL on a miss. Inline (below).
 */
static inline struct bwg_flow *bwg_flow_lookup(struct bwg_flow_table *t,
					       const struct bwg_pkt *p, uint32_t hash, int *dir);

/* Insert a zeroed flow keyed on p (p's sender becomes the client). NULL when full. */
struct bwg_flow *bwg_flow_insert(struct bwg_flow_table *t, const struct bwg_pkt *p,
				 uint32_t hash);

/*
 * Also index f under the NIC's hash, if it is not yet and a slot is free within
 * BWG_FLOW_NIC_PROBES of that hash's home. Needs bwg_flow_table_nic_init().
 */
void bwg_flow_nic_attach(struct bwg_flow_table *t, struct bwg_flow *f, uint32_t nic_hash);

#define BWG_FLOW_NIC_ON (1ull << 32)

/* Whether f is in the NIC's index too. */
static inline bool
bwg_flow_nic_indexed(const struct bwg_flow_table *t, const struct bwg_flow *f)
{
	return t->nic_hash && t->nic_hash[f - t->flows];
}

/*
 * Warm the cache for a lookup of `hash` in index m (t->index or t->nic) a few packets
 * from now, in two steps: the bucket first, then (once it has arrived) both lines of
 * the record it points at.
 */
static inline void
bwg_flow_prefetch_bucket(const struct bwg_slotmap *m, uint32_t hash)
{
	__builtin_prefetch(&m->slots[hash & m->mask]);
}

static inline void
bwg_flow_prefetch_record(const struct bwg_flow_table *t, const struct bwg_slotmap *m,
			 uint32_t hash)
{
	uint32_t idx = m->slots[hash & m->mask].idx;
	if (idx != BWG_SLOT_EMPTY) {
		__builtin_prefetch(&t->flows[idx]);
		__builtin_prefetch((const char *)&t->flows[idx] + 64);
	}
}

/* Remove f from the table; its record is free for reuse. */
void bwg_flow_remove(struct bwg_flow_table *t, struct bwg_flow *f);

/* Idle timeout that applies to f, in ns. */
uint64_t bwg_flow_timeout(const struct bwg_flow_table *t, const struct bwg_flow *f);

/*
 * Visit up to `budget` records from the aging cursor and call expire(f, ctx) on every
 * flow idle for longer than its timeout at `now_ns` (or on every live flow when
 * now_ns is UINT64_MAX). The callback must call bwg_flow_remove(). Returns the number
 * of flows expired.
 */
uint32_t bwg_flow_table_age(struct bwg_flow_table *t, uint64_t now_ns, uint32_t budget,
			    void (*expire)(struct bwg_flow *f, void *ctx), void *ctx);

/*
 * bwg_flow_table_age(), and live(f, ctx) on every visited flow that stays: work that must
 * reach every flow in time (re-deciding flows whose host changed) rides on the same
 * bounded walk, on records aging already brings into cache. live may be NULL.
 */
uint32_t bwg_flow_table_sweep(struct bwg_flow_table *t, uint64_t now_ns, uint32_t budget,
			      void (*expire)(struct bwg_flow *f, void *ctx),
			      void (*live)(struct bwg_flow *f, void *ctx), void *ctx);

/*
 * Whether f got past its opening: the server answered and, for TCP, the client spoke
 * again (the handshake's ACK, or data). Read from the packet counters, so the per-packet
 * path pays nothing for it. What is not established ages out sooner and is what a full
 * table or detection pool gives up first: it is what a flood of SYNs or of one-way
 * datagrams leaves behind. A sender that gets answers can establish flows for real;
 * flows.per_host_max is what bounds it.
 */
static inline bool
bwg_flow_established(const struct bwg_flow *f)
{
	return f->pkts[1] > 0 && (f->proto != 6 || f->pkts[0] >= 2);
}

/*
 * The flow to evict when the table is full: of `probes` records picked at random, the
 * unestablished flow idle longest; NULL when none of them is unestablished. Bounded:
 * never a scan of the table.
 */
struct bwg_flow *bwg_flow_evict_candidate(struct bwg_flow_table *t, uint32_t probes);

static inline uint32_t
bwg_flow_index(const struct bwg_flow_table *t, const struct bwg_flow *f)
{
	return (uint32_t)(f - t->flows);
}

/* ---- inline implementation (hot path) -------------------------------------------- */

static inline uint64_t
bwg_flow_ld64(const void *b)
{
	uint64_t v;
	memcpy(&v, b, sizeof(v));
	return v;
}

/* 0: p goes client->server, 1: server->client, -1: another flow's packet. */
static inline int
bwg_flow_key_match(const struct bwg_flow *f, const struct bwg_pkt *p)
{
	const uint8_t *a = f->addr[0], *b = p->addr[0];
	uint64_t f0 = bwg_flow_ld64(a), f1 = bwg_flow_ld64(a + 8), f2 = bwg_flow_ld64(a + 16);
	uint64_t f3 = bwg_flow_ld64(a + 24), f4 = bwg_flow_ld64(a + 32);
	uint64_t p0 = bwg_flow_ld64(b), p1 = bwg_flow_ld64(b + 8), p2 = bwg_flow_ld64(b + 16);
	uint64_t p3 = bwg_flow_ld64(b + 24), p4 = bwg_flow_ld64(b + 32);
	if (((f0 ^ p0) | (f1 ^ p1) | (f2 ^ p2) | (f3 ^ p3) | (f4 ^ p4)) == 0)
		return 0;
	/* The other way: addresses and ports swapped (ports are the word's low 32 bits). */
	uint32_t ports = (uint32_t)p4;
	uint64_t r4 = (p4 & ~0xffffffffull) | (uint32_t)(ports << 16 | ports >> 16);
	if (((f0 ^ p2) | (f1 ^ p3) | (f2 ^ p0) | (f3 ^ p1) | (f4 ^ r4)) == 0)
		return 1;
	return -1;
}

/* Find p's flow by the NIC's hash of it: NULL when it is not (or not yet) there. */
static inline struct bwg_flow *
bwg_flow_lookup_nic(struct bwg_flow_table *t, const struct bwg_pkt *p, uint32_t nic_hash,
		    int *dir)
{
	const struct bwg_slotmap *m = &t->nic;
	uint32_t pos = nic_hash & m->mask;
	for (int k = 0; k < BWG_FLOW_NIC_PROBES; k++, pos = (pos + 1) & m->mask) {
		const struct bwg_slot *s = &m->slots[pos];
		if (s->idx == BWG_SLOT_EMPTY)
			return NULL;
		if (s->hash != nic_hash)
			continue;
		struct bwg_flow *f = &t->flows[s->idx];
		int d = bwg_flow_key_match(f, p);
		if (d >= 0) {
			*dir = d;
			return f;
		}
	}
	return NULL;
}

static inline struct bwg_flow *
bwg_flow_lookup(struct bwg_flow_table *t, const struct bwg_pkt *p, uint32_t hash, int *dir)
{
	BWG_SLOTMAP_FOREACH(&t->index, hash, pos) {
		const struct bwg_slot *s = &t->index.slots[pos];
		if (s->hash != hash)
			continue;
		struct bwg_flow *f = &t->flows[s->idx];
		int d = bwg_flow_key_match(f, p);
		if (d >= 0) {
			*dir = d;
			return f;
		}
	}
	return NULL;
}

#endif
