/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host behaviour tests: each rule's threshold on either side, the sliding window and the
 * tag's expiry, flows that never count (recognised, named, low ports, multicast), the
 * table when a bucket is full, and two threads feeding one table.
 *
 * The process secret is fixed, so the sketches' hash collisions are the same every run;
 * the counts below keep clear of each threshold so that no collision decides a test.
 */

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bwg_behaviour.h"
#include "bwg_hash.h"

#define SEC 1000000000ull
#define T0 (1795572000ull * SEC)

static char err[256];

static struct bwg_behaviour *
table(uint32_t hosts, uint32_t peers, uint32_t tcp_udp, uint32_t port_peers)
{
	const struct bwg_behaviour_conf c = {.hosts = hosts, .window = 300, .tag_for = 600,
					     .peers = peers, .tcp_udp_peers = tcp_udp,
					     .port_peers = port_peers};
	struct bwg_behaviour *b;
	assert_int_equal(bwg_behaviour_create(&b, &c, err, sizeof(err)), 0);
	return b;
}

/* 10.1.0.<n> (inside) and 198.51.<n / 256>.<n % 256> (outside), as 16-byte addresses. */
static void
inside(uint32_t n, uint8_t a[16])
{
	memset(a, 0, 16);
	a[0] = 10, a[1] = 1, a[2] = (uint8_t)(n >> 8), a[3] = (uint8_t)n;
}

static void
peer(uint32_t n, uint8_t a[16])
{
	memset(a, 0, 16);
	a[0] = 198, a[1] = 51, a[2] = (uint8_t)(n >> 8), a[3] = (uint8_t)n;
}

struct feed {
	uint32_t host;
	uint8_t proto;
	uint16_t host_port, peer_port;
	bool host_client, named, recognised, p2p;
};

/* Report flows to peers first..first+n-1 of host f->host; a zero port means "one per
 * flow" (an ephemeral local port, a peer's own port). */
static void
flows(struct bwg_behaviour *b, const struct feed *f, uint32_t first, uint32_t n, uint64_t now,
      struct bwg_behaviour_counters *cnt)
{
	uint8_t h[16], p[16];
	inside(f->host, h);
	for (uint32_t i = first; i < first + n; i++) {
		peer(i, p);
		struct bwg_behaviour_flow bf = {
			.family = 4, .host = h, .peer = p, .proto = f->proto,
			.host_port = f->host_port ? f->host_port : (uint16_t)(40000 + i),
			.peer_port = f->peer_port ? f->peer_port : (uint16_t)(20000 + 7 * i),
			.host_client = f->host_client, .named = f->named,
			.recognised = f->recognised, .p2p = f->p2p};
		bwg_behaviour_flow(b, &bf, now, cnt);
	}
}

static bool
tagged(const struct bwg_behaviour *b, uint32_t host, uint64_t now)
{
	uint8_t h[16];
	inside(host, h);
	return bwg_behaviour_tagged(b, 4, h, now);
}

static int
setup(void **state)
{
	(void)state;
	bwg_hash_secret_set(0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull);
	return 0;
}

static void
test_create_checks(void **state)
{
	(void)state;
	struct bwg_behaviour *b;
	struct bwg_behaviour_conf c = {.hosts = 0, .window = 300, .tag_for = 600};
	assert_int_equal(bwg_behaviour_create(&b, &c, err, sizeof(err)), -EINVAL);
	c.hosts = 10;
	c.peers = BWG_BEHAVIOUR_PEERS_MAX + 1;
	assert_int_equal(bwg_behaviour_create(&b, &c, err, sizeof(err)), -EINVAL);
	c.peers = 20;
	assert_int_equal(bwg_behaviour_create(&b, &c, err, sizeof(err)), 0);
	assert_int_equal(bwg_behaviour_capacity(b), 16); /* 10 hosts: 4 buckets of 4 */
	assert_true(bwg_behaviour_bytes(b) >= 16 * 256);
	bwg_behaviour_destroy(b);
	bwg_behaviour_destroy(NULL);
}

static void
test_peers_threshold(void **state)
{
	(void)state;
	struct bwg_behaviour *b = table(64, 20, 0, 0);
	struct bwg_behaviour_counters cnt = {0};
	const struct feed udp = {.host = 1, .proto = 17}, tcp = {.host = 2, .proto = 6};
	flows(b, &udp, 0, 14, T0, &cnt);
	assert_false(tagged(b, 1, T0));
	assert_false(bwg_behaviour_any(b, T0));
	assert_int_equal(bwg_behaviour_active(b, T0), 0);
	flows(b, &udp, 14, 16, T0 + SEC, &cnt); /* 30 distinct peers */
	assert_true(tagged(b, 1, T0 + SEC));
	assert_int_equal(cnt.flows, 30);
	assert_int_equal(cnt.tagged, 1);
	/* The same peers again are not new peers; TCP peers count as well. */
	flows(b, &udp, 0, 14, T0, &cnt);
	flows(b, &tcp, 0, 14, T0, &cnt);
	flows(b, &tcp, 0, 14, T0, &cnt);
	assert_false(tagged(b, 2, T0 + SEC));
	flows(b, &tcp, 100, 16, T0 + SEC, &cnt);
	assert_true(tagged(b, 2, T0 + SEC));
	/* Tags are per host. */
	assert_false(tagged(b, 3, T0 + SEC));
	assert_int_equal(bwg_behaviour_active(b, T0 + SEC), 2);
	assert_int_equal(cnt.tagged, 2);
	bwg_behaviour_destroy(b);
}

static void
test_tcp_udp_threshold(void **state)
{
	(void)state;
	struct bwg_behaviour *b = table(64, 0, 3, 0);
	struct bwg_behaviour_counters cnt = {0};
	/* Ten peers over TCP and ten others over UDP: no peer over both. */
	flows(b, &(struct feed){.host = 1, .proto = 6}, 0, 10, T0, &cnt);
	flows(b, &(struct feed){.host = 1, .proto = 17}, 10, 10, T0, &cnt);
	assert_false(tagged(b, 1, T0));
	/* One peer over both: still under three. */
	flows(b, &(struct feed){.host = 1, .proto = 17}, 0, 1, T0, &cnt);
	assert_false(tagged(b, 1, T0));
	/* Five peers over both. */
	flows(b, &(struct feed){.host = 2, .proto = 17}, 50, 5, T0, &cnt);
	assert_false(tagged(b, 2, T0));
	flows(b, &(struct feed){.host = 2, .proto = 6}, 50, 5, T0, &cnt);
	assert_true(tagged(b, 2, T0));
	bwg_behaviour_destroy(b);
}

static void
test_port_threshold(void **state)
{
	(void)state;
	struct bwg_behaviour *b = table(64, 0, 0, 8);
	struct bwg_behaviour_counters cnt = {0};
	/* A DHT socket: one local port, each peer on its own port. */
	flows(b, &(struct feed){.host = 1, .proto = 17, .host_port = 6881}, 0, 5, T0, &cnt);
	assert_false(tagged(b, 1, T0));
	flows(b, &(struct feed){.host = 1, .proto = 17, .host_port = 6881}, 5, 7, T0, &cnt);
	assert_true(tagged(b, 1, T0));
	/* One local port to many servers on one service port: a client, not a peer. */
	flows(b, &(struct feed){.host = 2, .proto = 17, .host_port = 50000, .peer_port = 27015},
	      0, 30, T0, &cnt);
	assert_false(tagged(b, 2, T0));
	/* Outbound UDP from a new port each time: one peer a port. */
	flows(b, &(struct feed){.host = 3, .proto = 17, .host_client = true}, 0, 40, T0, &cnt);
	assert_false(tagged(b, 3, T0));
	/* TCP connections it opened all from one port (the system's choice): not counted. */
	flows(b, &(struct feed){.host = 3, .proto = 6, .host_port = 40000, .host_client = true},
	      0, 40, T0, &cnt);
	assert_false(tagged(b, 3, T0));
	/* Peers connecting to a listening port, among one-off UDP ports that churn. */
	for (uint32_t i = 0; i < 12; i++) {
		flows(b, &(struct feed){.host = 4, .proto = 17, .host_client = true}, 100 + 3 * i,
		      3, T0, &cnt);
		flows(b, &(struct feed){.host = 4, .proto = 6, .host_port = 51413}, i, 1, T0,
		      &cnt);
	}
	assert_true(tagged(b, 4, T0));
	bwg_behaviour_destroy(b);
}

static void
test_window(void **state)
{
	(void)state;
	struct bwg_behaviour *b = table(64, 20, 0, 0);
	struct bwg_behaviour_counters cnt = {0};
	const struct feed f1 = {.host = 1, .proto = 17}, f2 = {.host = 2, .proto = 17};
	/* Within the window (the earlier half is still weighed): tagged. */
	flows(b, &f1, 0, 14, T0, &cnt);
	flows(b, &f1, 14, 14, T0 + 200 * SEC, &cnt);
	assert_true(tagged(b, 1, T0 + 200 * SEC));
	/* Two bursts a whole window apart: the first has gone. */
	flows(b, &f2, 0, 14, T0, &cnt);
	flows(b, &f2, 14, 14, T0 + 301 * SEC, &cnt);
	assert_false(tagged(b, 2, T0 + 301 * SEC));
	/* ... and half-windows rotate one at a time: 150 s later the second is still in. */
	flows(b, &f2, 30, 10, T0 + 451 * SEC + 1, &cnt);
	assert_true(tagged(b, 2, T0 + 452 * SEC));
	bwg_behaviour_destroy(b);
}

static void
test_tag_expiry(void **state)
{
	(void)state;
	struct bwg_behaviour *b = table(64, 20, 0, 0);
	struct bwg_behaviour_counters cnt = {0};
	const struct feed f = {.host = 1, .proto = 17};
	flows(b, &f, 0, 30, T0, &cnt);
	assert_true(tagged(b, 1, T0 + 599 * SEC));
	assert_true(bwg_behaviour_any(b, T0 + 599 * SEC));
	assert_false(tagged(b, 1, T0 + 600 * SEC));
	assert_false(bwg_behaviour_any(b, T0 + 600 * SEC));
	assert_int_equal(bwg_behaviour_active(b, T0 + 600 * SEC), 0);
	/* Evidence that goes on renews the tag without counting a new one. */
	flows(b, &f, 100, 1, T0 + 100 * SEC, &cnt);
	assert_true(tagged(b, 1, T0 + 699 * SEC));
	assert_int_equal(cnt.tagged, 1);
	/* A later tag is counted again. */
	flows(b, &f, 200, 30, T0 + 2000 * SEC, &cnt);
	assert_int_equal(cnt.tagged, 2);
	bwg_behaviour_destroy(b);
}

static void
test_what_never_counts(void **state)
{
	(void)state;
	struct bwg_behaviour *b = table(64, 20, 3, 8);
	struct bwg_behaviour_counters cnt = {0};
	/* Business media (nDPI named it, or a list), named flows, low ports, multicast. */
	flows(b, &(struct feed){.host = 1, .proto = 17, .host_port = 50000, .recognised = true},
	      0, 60, T0, &cnt);
	flows(b, &(struct feed){.host = 1, .proto = 6, .recognised = true}, 0, 60, T0, &cnt);
	flows(b, &(struct feed){.host = 1, .proto = 17, .named = true}, 0, 60, T0, &cnt);
	flows(b, &(struct feed){.host = 1, .proto = 17, .peer_port = 443}, 0, 60, T0, &cnt);
	flows(b, &(struct feed){.host = 1, .proto = 17, .host_port = 123}, 0, 60, T0, &cnt);
	flows(b, &(struct feed){.host = 1, .proto = 1}, 0, 60, T0, &cnt);
	uint8_t h[16], m[16] = {239, 255, 255, 250};
	inside(1, h);
	for (uint16_t i = 0; i < 60; i++) {
		struct bwg_behaviour_flow bf = {.family = 4, .host = h, .peer = m, .proto = 17,
						.host_port = (uint16_t)(40000 + i),
						.peer_port = 1900};
		bwg_behaviour_flow(b, &bf, T0, &cnt);
	}
	assert_false(tagged(b, 1, T0));
	assert_int_equal(cnt.flows, 0);
	assert_int_equal(bwg_behaviour_active(b, T0), 0);
	/* A flow recognised as P2P tags its host at once. */
	flows(b, &(struct feed){.host = 2, .proto = 6, .host_port = 443, .peer_port = 80,
				.recognised = true, .p2p = true},
	      0, 1, T0, &cnt);
	assert_true(tagged(b, 2, T0));
	assert_int_equal(cnt.p2p_flows, 1);
	assert_int_equal(cnt.tagged, 1);
	bwg_behaviour_destroy(b);
}

static void
test_ipv6(void **state)
{
	(void)state;
	struct bwg_behaviour *b = table(64, 0, 0, 8);
	struct bwg_behaviour_counters cnt = {0};
	uint8_t h[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 0, 1, [15] = 5}, p[16] = {0x24, 0x08};
	for (uint16_t i = 0; i < 12; i++) {
		p[15] = (uint8_t)i;
		struct bwg_behaviour_flow bf = {.family = 6, .host = h, .peer = p, .proto = 17,
						.host_port = 6881,
						.peer_port = (uint16_t)(30000 + i)};
		bwg_behaviour_flow(b, &bf, T0, &cnt);
	}
	assert_true(bwg_behaviour_tagged(b, 6, h, T0));
	/* The same bytes as IPv4 are another host. */
	assert_false(bwg_behaviour_tagged(b, 4, h, T0));
	bwg_behaviour_destroy(b);
}

static void
test_table_full(void **state)
{
	(void)state;
	/* Four hosts: one bucket, so every host competes for it. */
	struct bwg_behaviour *b = table(4, 20, 0, 0);
	struct bwg_behaviour_counters cnt = {0};
	flows(b, &(struct feed){.host = 1, .proto = 17}, 0, 30, T0, &cnt);
	assert_true(tagged(b, 1, T0));
	for (uint32_t h = 2; h <= 4; h++)
		flows(b, &(struct feed){.host = h, .proto = 17}, 0, 2, T0 + h * SEC, &cnt);
	assert_int_equal(cnt.evictions, 0);
	/* A fifth host pushes out the oldest untagged one, not the tagged one. */
	flows(b, &(struct feed){.host = 5, .proto = 17}, 0, 2, T0 + 10 * SEC, &cnt);
	assert_int_equal(cnt.evictions, 1);
	assert_true(tagged(b, 1, T0 + 10 * SEC));
	/* Host 2 lost its evidence: 14 more peers do not tag it. */
	flows(b, &(struct feed){.host = 2, .proto = 17}, 2, 14, T0 + 11 * SEC, &cnt);
	assert_false(tagged(b, 2, T0 + 11 * SEC));
	/* Once the window has passed, an idle host leaves without counting as evicted. */
	uint64_t evictions = cnt.evictions;
	flows(b, &(struct feed){.host = 6, .proto = 17}, 0, 1, T0 + 400 * SEC, &cnt);
	assert_int_equal(cnt.evictions, evictions);
	/* When every host is tagged, the oldest tag goes. */
	struct bwg_behaviour *t = table(4, 20, 0, 0);
	struct bwg_behaviour_counters c2 = {0};
	for (uint32_t h = 1; h <= 5; h++)
		flows(t, &(struct feed){.host = h, .proto = 17}, 0, 30, T0 + h * SEC, &c2);
	assert_int_equal(c2.evictions, 1);
	assert_false(tagged(t, 1, T0 + 5 * SEC));
	assert_true(tagged(t, 5, T0 + 5 * SEC));
	assert_int_equal(bwg_behaviour_active(t, T0 + 5 * SEC), 4);
	bwg_behaviour_destroy(t);
	bwg_behaviour_destroy(b);
}

struct worker_arg {
	struct bwg_behaviour *b;
	uint32_t first_host;
	struct bwg_behaviour_counters cnt;
};

#define THREAD_HOSTS 8
#define THREAD_ROUNDS 200

/* Every host gets the same 24 peers from both threads, over and over. */
static void *
worker(void *p)
{
	struct worker_arg *a = p;
	for (uint32_t r = 0; r < THREAD_ROUNDS; r++)
		for (uint32_t h = 0; h < THREAD_HOSTS; h++)
			flows(a->b, &(struct feed){.host = h, .proto = 17}, 0, 24, T0 + r, &a->cnt);
	return NULL;
}

static void *
reader(void *p)
{
	struct worker_arg *a = p;
	uint64_t seen = 0;
	for (uint32_t r = 0; r < THREAD_ROUNDS * 10; r++)
		for (uint32_t h = 0; h < 2 * THREAD_HOSTS; h++)
			seen += tagged(a->b, h, T0 + SEC);
	a->cnt.tagged = seen;
	return NULL;
}

static void
test_two_threads(void **state)
{
	(void)state;
	struct bwg_behaviour *b = table(64, 20, 3, 8);
	struct worker_arg a[3] = {{.b = b}, {.b = b}, {.b = b}};
	pthread_t th[3];
	assert_int_equal(pthread_create(&th[0], NULL, worker, &a[0]), 0);
	assert_int_equal(pthread_create(&th[1], NULL, worker, &a[1]), 0);
	assert_int_equal(pthread_create(&th[2], NULL, reader, &a[2]), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	/* Every flow either counted or was skipped as busy; nothing waited. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(a[i].cnt.flows + a[i].cnt.busy, THREAD_ROUNDS * THREAD_HOSTS * 24);
	/* Each host was tagged once, by one thread or the other. */
	assert_int_equal(a[0].cnt.tagged + a[1].cnt.tagged, THREAD_HOSTS);
	assert_int_equal(a[0].cnt.evictions + a[1].cnt.evictions, 0);
	for (uint32_t h = 0; h < THREAD_HOSTS; h++)
		assert_true(tagged(b, h, T0 + SEC));
	for (uint32_t h = THREAD_HOSTS; h < 2 * THREAD_HOSTS; h++)
		assert_false(tagged(b, h, T0 + SEC));
	assert_int_equal(bwg_behaviour_active(b, T0 + SEC), THREAD_HOSTS);
	bwg_behaviour_destroy(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_checks),
		cmocka_unit_test(test_peers_threshold),
		cmocka_unit_test(test_tcp_udp_threshold),
		cmocka_unit_test(test_port_threshold),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_tag_expiry),
		cmocka_unit_test(test_what_never_counts),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_two_threads),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
