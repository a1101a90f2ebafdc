/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_APP_PORTS_H
#define BWG_APP_PORTS_H

/*
 * The port pair: inside (facing the extranet) and outside (facing the internet), their
 * queues, the mbuf pools and the link watch. Control thread only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "bwg_config.h"

enum bwg_port_role {
	BWG_PORT_INSIDE,
	BWG_PORT_OUTSIDE,
	BWG_PORT_ROLE_MAX,
};
extern const char *const bwg_port_role_names[BWG_PORT_ROLE_MAX];

struct bwg_port {
	uint16_t id;
	char name[RTE_ETH_NAME_MAX_LEN]; /* device name, as the config gives it (a copy: the
					 * config is replaced on reload) */
	char driver[32];
	bool rss;          /* RSS configured on this port */
	bool rss_hash;     /* frames come with the RSS hash (RTE_MBUF_F_RX_RSS_HASH) */
	const char *rss_how; /* the symmetric hash in force, for the log */
	uint8_t rss_key_len;
	uint64_t rss_types;
	uint16_t nb_rxd;   /* descriptors per queue, after the device's limits */
	uint16_t nb_txd;
	struct rte_eth_link link; /* as last seen by bwg_ports_link_watch() */
	bool started;
};

struct bwg_ports {
	struct bwg_port port[BWG_PORT_ROLE_MAX];
	uint16_t queues; /* RX and TX queues per port: one per worker */
	bool rss_hash;   /* both ports hand frames over with their RSS hash */
	uint32_t pool_size; /* mbufs in each pool */
	struct rte_mempool *pools[RTE_MAX_NUMA_NODES]; /* by socket; NULL where no worker */
};

/*
 * Find the configured devices and decide how many workers they can feed: `workers`
 * when both support RSS over that many queues, or, without RSS, when both have that
 * many RX and TX queues (virtual devices such as net_pcap with several rx_pcap: whoever
 * feeds them then decides which queue a frame reaches, and must send both directions
 * of a flow to the same queue number); else one (logged). Returns 0, or -ENODEV /
 * -EINVAL with a message in err.
 */
int bwg_ports_open(struct bwg_ports *ps, const struct bwg_config *c, uint16_t workers,
		   char *err, size_t errlen);

/*
 * Create one mbuf pool per socket of `lcores` (worker i runs on lcores[i], which also
 * picks the socket of queue i), configure both ports with ps->queues RX and TX queues,
 * symmetric RSS when there is more than one, the configured MTU and descriptors, enable
 * promiscuous mode and start them. Logs what it chose. Returns 0 or -errno with err.
 */
int bwg_ports_start(struct bwg_ports *ps, const struct bwg_config *c, const unsigned *lcores,
		    char *err, size_t errlen);

/* The pool of the socket `lcore` runs on (its worker builds resets from it). */
struct rte_mempool *bwg_ports_pool(const struct bwg_ports *ps, unsigned lcore);

/* Read each port's link; log it when it changed (or always with `log_all`). */
void bwg_ports_link_watch(struct bwg_ports *ps, bool log_all);

/* Sum of ipackets over both ports (the idle watch). */
uint64_t bwg_ports_rx_total(const struct bwg_ports *ps);

/* Stop and close started ports (flushes what virtual devices buffer, e.g. tx_pcap). */
void bwg_ports_close(struct bwg_ports *ps);

#endif
