/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_BEHAVIOUR_H
#define BWG_BEHAVIOUR_H

/*
 * Host behaviour: inside hosts whose new flows look like a P2P peer's (Karagiannis et
 * al., "Transport Layer Identification of P2P Traffic", IMC 2004) are tagged for a while;
 * their unnamed flows are then classed by the class that claims detector
 * "p2p_behaviour".
 *
 * One table shared by every worker (a host's flows are spread over workers by RSS), built
 * by the control thread; workers feed it when a flow starts or is classified and read a
 * host's tag when they decide a class.
 */

#include <stdbool.h>
#include <stdint.h>

struct bwg_behaviour;

/* What a worker reports of one new flow of an inside host. */
struct bwg_behaviour_flow {
	uint8_t family;
	const uint8_t *host;   /* the inside host's address (16 bytes) */
	const uint8_t *peer;   /* the other end's */
	uint16_t host_port, peer_port;
	uint8_t proto;         /* 6 or 17 */
	bool named;            /* the flow has a name (own or learned from DNS) */
	bool p2p_app;          /* nDPI named it a P2P application */
	bool business;         /* classed business: never counts */
};

struct bwg_behaviour_conf {
	uint32_t hosts; /* inside hosts followed at once (0: behaviour is off) */
};

int bwg_behaviour_create(struct bwg_behaviour **out, const struct bwg_behaviour_conf *conf,
			 char *err, size_t errlen);
void bwg_behaviour_destroy(struct bwg_behaviour *b);

/* Worker: one flow of an inside host, once, when its class is known (now_ns: its time). */
void bwg_behaviour_flow(struct bwg_behaviour *b, const struct bwg_behaviour_flow *f,
			uint64_t now_ns);

/* Worker: whether the inside host is tagged a P2P peer at now_ns. */
bool bwg_behaviour_tagged(const struct bwg_behaviour *b, uint8_t family, const uint8_t *host,
			  uint64_t now_ns);

#endif
