/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port set-up and link watch (control thread).
 *
 * Both ports get the same queue layout: queue i, RX and TX, belongs to worker i. With
 * more than one worker, RSS spreads flows over the RX queues with a symmetric hash:
 * swapping source and destination leaves it unchanged, so both directions of a flow,
 * which enter on different ports, land on the same queue number and thus the same
 * worker, the only writer of that flow's state. The hash is keyed with random bits of
 * ours where the device offers the symmetric Toeplitz function through rte_flow, else
 * it is Toeplitz under the 16-bit key pattern 0x6d5a (a key of period 16 makes Toeplitz
 * symmetric; that one spreads well). Where frames carry the hash, workers find flows by it
 * (lib/flow: a second index, bounded, since that hash is not flood-proof). A device
 * that cannot hash gets one queue and the gate one worker, unless it has a queue per
 * worker (net_pcap with several rx_pcap): then whoever feeds it splits the traffic.
 *
 * Mbufs come from one pool per socket that runs a worker; a queue takes its buffers and
 * descriptor memory from its worker's socket. Frames up to the MTU fit one mbuf, so RX
 * scatter is never asked for.
 */

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "bwgate.h"
#include "ports.h"

const char *const bwg_port_role_names[BWG_PORT_ROLE_MAX] = {
	[BWG_PORT_INSIDE] = "inside",
	[BWG_PORT_OUTSIDE] = "outside",
};

#define RSS_WANTED                                                                                 \
	(RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP |          \
	 RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_NONFRAG_IPV6_UDP)
#define RSS_KEY_MAX 64
#define POOL_CACHE 256
#define VLAN_TAGS_BYTES 8 /* room for QinQ on top of the MTU */

int
bwg_ports_open(struct bwg_ports *ps, const struct bwg_config *c, uint16_t workers, char *err,
	       size_t errlen)
{
	const char *names[BWG_PORT_ROLE_MAX] = {c->port_inside, c->port_outside};
	bool rss = workers > 1, queues_ok = true;
	memset(ps, 0, sizeof(*ps));
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++) {
		struct bwg_port *p = &ps->port[r];
		snprintf(p->name, sizeof(p->name), "%s", names[r]);
		if (rte_eth_dev_get_port_by_name(p->name, &p->id) != 0) {
			snprintf(err, errlen,
				 "%s: ports.%s: no DPDK device \"%s\" (bind the NIC to a DPDK "
				 "driver or add --vdev; %u ports available)",
				 c->path, bwg_port_role_names[r], p->name,
				 (unsigned)rte_eth_dev_count_avail());
			return -ENODEV;
		}
		struct rte_eth_dev_info info;
		int rc = rte_eth_dev_info_get(p->id, &info);
		if (rc != 0) {
			snprintf(err, errlen, "%s: cannot read device info: %s", p->name,
				 rte_strerror(-rc));
			return rc;
		}
		snprintf(p->driver, sizeof(p->driver), "%s", info.driver_name);
		if (workers < 2)
			continue;
		if (info.max_rx_queues < workers || info.max_tx_queues < workers) {
			BWG_APP_LOG("ports.%s %s (%s): %u RX / %u TX queues, fewer than %u workers: "
				    "running one worker",
				    bwg_port_role_names[r], p->name, p->driver, info.max_rx_queues,
				    info.max_tx_queues, workers);
			queues_ok = false;
		} else if ((info.flow_type_rss_offloads & RSS_WANTED) == 0) {
			rss = false;
		}
	}
	ps->queues = workers > 1 && queues_ok ? workers : 1;
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++)
		ps->port[r].rss = rss && ps->queues > 1;
	if (ps->queues > 1 && !rss)
		BWG_APP_LOG("ports: no RSS on %s and %s: %u queues each, split by whoever feeds "
			    "them (both directions of a flow must reach the same queue number)",
			    ps->port[0].name, ps->port[1].name, ps->queues);
	return 0;
}

/* Socket of an lcore, as an index of ps->pools. */
static unsigned
lcore_socket(unsigned lcore)
{
	unsigned s = rte_lcore_to_socket_id(lcore);
	return s < RTE_MAX_NUMA_NODES ? s : 0;
}

struct rte_mempool *
bwg_ports_pool(const struct bwg_ports *ps, unsigned lcore)
{
	return ps->pools[lcore_socket(lcore)];
}

static int
pools_create(struct bwg_ports *ps, const struct bwg_config *c, const unsigned *lcores,
	     char *err, size_t errlen)
{
	/* Each worker holds at most: its RX rings full on both ports, its TX rings full on
	 * both ports, a burst in flight per port, a full TX buffer per port, resets, and
	 * the per-lcore cache. */
	uint32_t per_worker = 2 * (c->rx_descriptors + c->tx_descriptors) + 4 * BWG_BURST;
	uint32_t n = c->mbufs ? c->mbufs : ps->queues * per_worker + (ps->queues + 1) * POOL_CACHE;
	uint32_t cache = RTE_MIN((uint32_t)POOL_CACHE, n / 2);
	uint32_t room = RTE_MAX((uint32_t)RTE_MBUF_DEFAULT_BUF_SIZE,
				RTE_PKTMBUF_HEADROOM + c->mtu + RTE_ETHER_HDR_LEN +
					RTE_ETHER_CRC_LEN + VLAN_TAGS_BYTES);
	ps->pool_size = n;
	for (uint16_t q = 0; q < ps->queues; q++) {
		unsigned s = lcore_socket(lcores[q]);
		if (ps->pools[s])
			continue;
		char name[RTE_MEMPOOL_NAMESIZE];
		snprintf(name, sizeof(name), "bwg_mbuf_s%u", s);
		ps->pools[s] = rte_pktmbuf_pool_create(name, n, cache, 0, (uint16_t)room, (int)s);
		if (!ps->pools[s]) {
			snprintf(err, errlen,
				 "cannot create mbuf pool %s (%u mbufs of %u bytes): %s; give EAL "
				 "more memory (-m, hugepages) or lower ports.mbufs / "
				 "ports.rx_descriptors",
				 name, n, room, rte_strerror(rte_errno));
			return -ENOMEM;
		}
		BWG_APP_LOG("mbuf pool %s: %u mbufs of %u bytes (%s: %u queues x 2 ports x "
			    "(%u RX + %u TX descriptors) + bursts + caches), %.1f MiB",
			    name, n, room, c->mbufs ? "ports.mbufs" : "computed", ps->queues,
			    c->rx_descriptors, c->tx_descriptors,
			    (double)n * (room + sizeof(struct rte_mbuf)) / (1024.0 * 1024.0));
	}
	return 0;
}

/* Random bytes for a key, from the kernel; false if it gave too few. */
static bool
random_fill(uint8_t *b, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = getrandom(b + got, n - got, 0);
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

/*
 * The symmetric Toeplitz function under `key`, for every frame, through rte_flow; NULL
 * when the device does not take it (the port-level key pattern stays).
 */
static struct rte_flow *
rss_symmetric_flow(const struct bwg_port *p, uint16_t queues, const uint8_t *key,
		   uint8_t key_len, uint64_t types)
{
	uint16_t q[RTE_MAX_QUEUES_PER_PORT];
	for (uint16_t i = 0; i < queues; i++)
		q[i] = i;
	const struct rte_flow_attr attr = {.ingress = 1};
	const struct rte_flow_item pattern[] = {
		{.type = RTE_FLOW_ITEM_TYPE_ETH},
		{.type = RTE_FLOW_ITEM_TYPE_END},
	};
	const struct rte_flow_action_rss rss = {
		.func = RTE_ETH_HASH_FUNCTION_SYMMETRIC_TOEPLITZ,
		.types = types,
		.key_len = key_len,
		.key = key,
		.queue_num = queues,
		.queue = q,
	};
	const struct rte_flow_action actions[] = {
		{.type = RTE_FLOW_ACTION_TYPE_RSS, .conf = &rss},
		{.type = RTE_FLOW_ACTION_TYPE_END},
	};
	struct rte_flow_error e;
	if (rte_flow_validate(p->id, &attr, pattern, actions, &e) != 0)
		return NULL;
	return rte_flow_create(p->id, &attr, pattern, actions, &e);
}

/* Both ports or neither: the two directions of a flow must meet on one queue. */
static void
rss_symmetric(struct bwg_ports *ps)
{
	struct bwg_port *a = &ps->port[0], *b = &ps->port[1];
	if (!a->rss || !b->rss || a->rss_key_len != b->rss_key_len)
		return;
	uint8_t key[RSS_KEY_MAX];
	if (!random_fill(key, a->rss_key_len))
		return;
	struct rte_flow *fa = rss_symmetric_flow(a, ps->queues, key, a->rss_key_len,
						 a->rss_types & b->rss_types);
	struct rte_flow *fb = fa ? rss_symmetric_flow(b, ps->queues, key, b->rss_key_len,
						      a->rss_types & b->rss_types)
				 : NULL;
	if (fa && !fb) {
		struct rte_flow_error e;
		rte_flow_destroy(a->id, fa, &e);
		return;
	}
	if (fa) {
		a->rss_how = b->rss_how = "symmetric Toeplitz, random key (rte_flow)";
		a->rss_types = b->rss_types = a->rss_types & b->rss_types;
	}
}

static int
port_start(struct bwg_ports *ps, struct bwg_port *p, const struct bwg_config *c,
	   const unsigned *lcores, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	int rc = rte_eth_dev_info_get(p->id, &info);
	if (rc != 0) {
		snprintf(err, errlen, "%s: cannot read device info: %s", p->name, rte_strerror(-rc));
		return rc;
	}
	uint8_t key[RSS_KEY_MAX];
	struct rte_eth_conf conf = {0};
	conf.rxmode.mtu = c->mtu;
	uint8_t len = info.hash_key_size ? info.hash_key_size : 40;
	if (len > RSS_KEY_MAX)
		len = RSS_KEY_MAX;
	if (p->rss) {
		/* Toeplitz is symmetric under a key whose bits repeat every 16: 0x6d5a, the
		 * pattern known to spread flows well (a random one may not: 0x0000 sends all
		 * to one queue). Both ports get the same. */
		for (uint8_t i = 0; i < len; i++)
			key[i] = (i & 1) ? 0x5a : 0x6d;
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH)
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
		p->rss_hash = (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_RSS_HASH) != 0;
		p->rss_how = "Toeplitz, symmetric key pattern 0x6d5a";
		conf.rx_adv_conf.rss_conf.rss_key = key;
		conf.rx_adv_conf.rss_conf.rss_key_len = len;
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & RSS_WANTED;
	}
	if (c->mtu > info.max_mtu || c->mtu < info.min_mtu) {
		snprintf(err, errlen, "%s: ports.mtu: %u is outside what %s (%s) accepts (%u..%u)",
			 c->path, c->mtu, p->name, p->driver, info.min_mtu, info.max_mtu);
		return -EINVAL;
	}
	if ((rc = rte_eth_dev_configure(p->id, ps->queues, ps->queues, &conf)) != 0) {
		snprintf(err, errlen, "%s: cannot configure %u queues: %s", p->name, ps->queues,
			 rte_strerror(-rc));
		return rc;
	}
	p->nb_rxd = (uint16_t)c->rx_descriptors;
	p->nb_txd = (uint16_t)c->tx_descriptors;
	if ((rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->id, &p->nb_rxd, &p->nb_txd)) != 0) {
		snprintf(err, errlen, "%s: descriptors: %s", p->name, rte_strerror(-rc));
		return rc;
	}
	if (p->nb_rxd != c->rx_descriptors || p->nb_txd != c->tx_descriptors)
		BWG_APP_LOG("ports.%s %s: descriptors adjusted to the device: %u RX, %u TX",
			    p == &ps->port[0] ? "inside" : "outside", p->name, p->nb_rxd,
			    p->nb_txd);
	for (uint16_t q = 0; q < ps->queues; q++) {
		unsigned socket = lcore_socket(lcores[q]);
		struct rte_eth_rxconf rxc = info.default_rxconf;
		struct rte_eth_txconf txc = info.default_txconf;
		rxc.offloads = conf.rxmode.offloads;
		txc.offloads = conf.txmode.offloads;
		if ((rc = rte_eth_rx_queue_setup(p->id, q, p->nb_rxd, socket, &rxc,
						 bwg_ports_pool(ps, lcores[q]))) != 0 ||
		    (rc = rte_eth_tx_queue_setup(p->id, q, p->nb_txd, socket, &txc)) != 0) {
			snprintf(err, errlen, "%s: queue %u: %s", p->name, q, rte_strerror(-rc));
			return rc;
		}
	}
	if ((rc = rte_eth_dev_start(p->id)) != 0) {
		snprintf(err, errlen, "%s: cannot start: %s", p->name, rte_strerror(-rc));
		return rc;
	}
	p->started = true;
	p->rss_key_len = len;
	p->rss_types = conf.rx_adv_conf.rss_conf.rss_hf;
	/* Bump in the wire: every frame is ours, whatever its destination MAC. */
	if ((rc = rte_eth_promiscuous_enable(p->id)) != 0 && rc != -ENOTSUP)
		BWG_APP_LOG("%s: cannot enable promiscuous mode: %s", p->name, rte_strerror(-rc));
	return 0;
}

int
bwg_ports_start(struct bwg_ports *ps, const struct bwg_config *c, const unsigned *lcores,
		char *err, size_t errlen)
{
	int rc = pools_create(ps, c, lcores, err, errlen);
	for (int r = 0; rc == 0 && r < BWG_PORT_ROLE_MAX; r++)
		if ((rc = port_start(ps, &ps->port[r], c, lcores, err, errlen)) != 0)
			return rc;
	rss_symmetric(ps);
	for (int r = 0; rc == 0 && r < BWG_PORT_ROLE_MAX; r++) {
		struct bwg_port *p = &ps->port[r];
		BWG_APP_LOG("ports.%s: %s, port %u, driver %s, %u queue%s (%s%s), %u RX / %u TX "
			    "descriptors, MTU %u",
			    bwg_port_role_names[r], p->name, p->id, p->driver, ps->queues,
			    ps->queues > 1 ? "s" : "", p->rss ? p->rss_how : "no RSS",
			    p->rss_hash ? ", hash in every frame" : "", p->nb_rxd, p->nb_txd, c->mtu);
	}
	/* Workers index flows by the hash only when both directions of a flow get the same
	 * value: the same function, key and fields on both ports. */
	ps->rss_hash = rc == 0 && ps->port[0].rss_hash && ps->port[1].rss_hash &&
		       ps->port[0].rss_types == ps->port[1].rss_types &&
		       ps->port[0].rss_how == ps->port[1].rss_how;
	return rc;
}

void
bwg_ports_link_watch(struct bwg_ports *ps, bool log_all)
{
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++) {
		struct bwg_port *p = &ps->port[r];
		struct rte_eth_link link;
		memset(&link, 0, sizeof(link));
		if (!p->started || rte_eth_link_get_nowait(p->id, &link) != 0)
			continue;
		bool changed = link.link_status != p->link.link_status ||
			       link.link_speed != p->link.link_speed;
		p->link = link;
		if (changed || log_all) {
			if (!link.link_status)
				BWG_APP_LOG("ports.%s %s: link down", bwg_port_role_names[r],
					    p->name);
			else
				BWG_APP_LOG("ports.%s %s: link up, %u Mbps, %s-duplex",
					    bwg_port_role_names[r], p->name, link.link_speed,
					    link.link_duplex ? "full" : "half");
		}
	}
}

uint64_t
bwg_ports_rx_total(const struct bwg_ports *ps)
{
	uint64_t n = 0;
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++) {
		struct rte_eth_stats st;
		if (ps->port[r].started && rte_eth_stats_get(ps->port[r].id, &st) == 0)
			n += st.ipackets + st.imissed;
	}
	return n;
}

void
bwg_ports_close(struct bwg_ports *ps)
{
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++) {
		struct bwg_port *p = &ps->port[r];
		if (!p->started)
			continue;
		rte_eth_dev_stop(p->id);
		rte_eth_dev_close(p->id);
		p->started = false;
	}
	for (unsigned s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		rte_mempool_free(ps->pools[s]);
		ps->pools[s] = NULL;
	}
}
