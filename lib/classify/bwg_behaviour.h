/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_BEHAVIOUR_H
#define BWG_BEHAVIOUR_H

/*
 * Host behaviour: inside hosts whose new flows look like a P2P peer's (Karagiannis et
 * al., "Transport Layer Identification of P2P Traffic", IMC 2004) are tagged for a while;
 * their unnamed flows are then classed by the class that claims detector
 * "p2p_behaviour".
 *
 * The evidence, over a sliding window, per inside host, from flows nothing named (no host
 * name of their own or learned from DNS, no application nDPI recognised, no list) whose
 * ports are both >= 1024:
 *
 *   peers     distinct external peers
 *   tcp_udp   distinct peers reached over both TCP and UDP
 *   port      one local port shared by many peers, with about as many distinct remote
 *             ports as peers (a DHT/uTP socket, a listening port peers connect to; the
 *             ephemeral port of a TCP connection the host opened says nothing)
 *
 * and any flow recognised as P2P itself (nDPI's BitTorrent, eDonkey, ..., the P2P
 * class's lists, or bwgate's own P2P detectors: uTP, the DHT, UDP trackers), which tags
 * its host at once. Flows recognised by evidence of their own (lists, a DNS name, an
 * nDPI dissector, a payload detector: Zoom, Teams, Webex and their peer-to-peer media, a
 * game) never count and are never reclassed.
 *
 * One table shared by every worker (a host's flows are spread over workers by RSS), built
 * by the control thread; workers report each flow once, when it is first judged (see
 * bwg_behaviour_flow), and read a host's tag when they decide a class. Writers take a
 * bucket's try-lock and skip (counting `busy`) when another worker holds it; readers take
 * no lock at all.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bwg_behaviour;

/* What a worker reports of one flow of an inside host. */
struct bwg_behaviour_flow {
	uint8_t family;        /* 4 or 6 */
	const uint8_t *host;   /* the inside host's address (16 bytes, IPv4 in the first 4) */
	const uint8_t *peer;   /* the other end's */
	uint16_t host_port, peer_port;
	uint8_t proto;         /* 6 or 17; others are ignored */
	bool host_client;      /* the inside host opened the flow */
	bool named;            /* the flow has a host name (own, or learned from DNS) */
	bool recognised;       /* nDPI named its application (not a guess by port), or a
				  list, a DNS name or a payload detector decided its
				  class: never counts */
	bool p2p;              /* recognised, and its class is the P2P class: tags at once */
};

struct bwg_behaviour_conf {
	uint32_t hosts;         /* inside hosts followed at once (0: behaviour is off) */
	uint32_t window;        /* seconds of evidence weighed (two halves rotated by time) */
	uint32_t tag_for;       /* seconds a tag lasts after the evidence that set it */
	uint32_t peers;         /* distinct unnamed peers on high ports that tag (0: off) */
	uint32_t tcp_udp_peers; /* peers reached over both TCP and UDP that tag (0: off) */
	uint32_t port_peers;    /* peers of one local port that tag (0: off) */
};

/* Largest thresholds the sketches estimate well (the config refuses more). */
#define BWG_BEHAVIOUR_PEERS_MAX 200
#define BWG_BEHAVIOUR_TCP_UDP_MAX 40
#define BWG_BEHAVIOUR_PORT_PEERS_MAX 100

/* What a worker counts of what it reported (summed by the control thread). */
struct bwg_behaviour_counters {
	uint64_t flows;     /* unnamed flows on high ports that counted as evidence */
	uint64_t p2p_flows; /* flows recognised as P2P (each tags its host) */
	uint64_t tagged;    /* hosts tagged (a tag begun; renewals are not counted) */
	uint64_t evictions; /* hosts with evidence or a tag pushed out to make room */
	uint64_t busy;      /* flows not counted: another worker held the host's bucket */
	uint64_t active;    /* gauge: hosts tagged now (filled by the front-end, see
			       bwg_behaviour_active) */
};

/*
 * Build the table: conf->hosts rounded up to a power of two, in buckets of 4 hosts.
 * Returns 0, -EINVAL (a message in err) or -ENOMEM.
 */
int bwg_behaviour_create(struct bwg_behaviour **out, const struct bwg_behaviour_conf *conf,
			 char *err, size_t errlen);
void bwg_behaviour_destroy(struct bwg_behaviour *b);

/*
 * Worker: one flow of an inside host, reported once, when it is first judged (nDPI done,
 * or payload seen both ways with nothing named yet, or the flow ended); now_ns is its
 * time. Never blocks: when another worker holds the host's bucket the flow is not
 * counted (cnt->busy).
 */
void bwg_behaviour_flow(struct bwg_behaviour *b, const struct bwg_behaviour_flow *f,
			uint64_t now_ns, struct bwg_behaviour_counters *cnt);

/* Worker: whether the inside host is tagged a P2P peer at now_ns. Lock-free. */
bool bwg_behaviour_tagged(const struct bwg_behaviour *b, uint8_t family, const uint8_t *host,
			  uint64_t now_ns);

/* Any thread: whether some host may still be tagged at now_ns (one atomic read). */
bool bwg_behaviour_any(const struct bwg_behaviour *b, uint64_t now_ns);

/* Control thread: hosts tagged at now_ns (walks the table: for snapshots, not per packet). */
uint64_t bwg_behaviour_active(const struct bwg_behaviour *b, uint64_t now_ns);

/* Hosts the table holds at most, and its bytes. */
uint32_t bwg_behaviour_capacity(const struct bwg_behaviour *b);
size_t bwg_behaviour_bytes(const struct bwg_behaviour *b);

#endif
