/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pipeline end to end, without ports: a policy compiled from inline JSON against a
 * real nDPI context, synthetic Ethernet frames through bwg_worker_burst, and the
 * verdicts, counters and events that come out. Time is the frames' own timestamps.
 *
 * JSON is written with single quotes; make_worker() turns them into double quotes.
 */

#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "bwg_setup.h"
#include "bwg_worker.h"

#define SEC 1000000000ull
#define MSEC 1000000ull
#define T0 (1795572000ull * SEC) /* Wednesday 2026-11-25 10:00 in Shanghai */

/* ---- set-up ------------------------------------------------------------------------------ */

struct rig {
	struct bwg_worker *w;
	struct bwg_policy *p;
};

/* The quota table the next make_worker hands its worker (NULL: none). */
static struct bwg_quotas *rig_quotas;

/* A config written with single quotes. */
static struct bwg_config *
parse_sq(const char *sq)
{
	char *text = strdup(sq), err[512] = "";
	assert_non_null(text);
	for (char *c = text; *c; c++)
		if (*c == '\'')
			*c = '"';
	struct bwg_config *conf = NULL;
	if (bwg_config_parse(&conf, text, strlen(text), "test.json", "/tmp", err, sizeof(err)))
		fail_msg("config: %s", err);
	free(text);
	return conf;
}

static void
make_worker_with(struct rig *r, const char *sq, bool export_flows, struct bwg_behaviour *b)
{
	char err[512] = "";
	struct bwg_config *conf = parse_sq(sq);
	struct bwg_dpi *dpi = NULL;
	if (bwg_setup_dpi(conf, &dpi, err, sizeof(err)))
		fail_msg("dpi: %s", err);
	if (bwg_policy_compile(&r->p, conf, dpi, 1, err, sizeof(err)))
		fail_msg("policy: %s", err);
	struct bwg_worker_conf wc = {
		.id = 0,
		.link = BWG_LINK_ETHER,
		.event_ring_size = 4096,
		.export_flows = export_flows,
		/* Every record per tick (the tables here hold 1024): each housekeeping call
		 * then sees every idle flow, however the sweep is spread. */
		.aging_budget = 1024,
		.behaviour = b,
		.quotas = rig_quotas,
	};
	if (bwg_worker_create(&r->w, &wc, r->p, dpi, err, sizeof(err)))
		fail_msg("worker: %s", err);
}

static void
make_worker(struct rig *r, const char *sq, bool export_flows)
{
	make_worker_with(r, sq, export_flows, NULL);
}

/* Shut down as the front-ends do: end every flow, then destroy. */
static void
free_worker(struct rig *r)
{
	bwg_worker_flush(r->w, UINT32_MAX);
	bwg_worker_destroy(r->w);
	bwg_policy_free(r->p);
}

/* rx == tx + sum(drops), for packets and bytes. */
static void
assert_conservation(const struct bwg_worker *w)
{
	const struct bwg_stats *s = &w->stats;
	uint64_t drops = 0;
	for (int i = 0; i < BWG_DROP_MAX; i++)
		drops += s->drops[i];
	assert_int_equal(s->cnt[BWG_CNT_DROPPED_PACKETS], drops);
	assert_int_equal(s->cnt[BWG_CNT_RX_PACKETS], bwg_stats_tx_packets(s->cnt, s->drops) + drops);
	assert_int_equal(s->cnt[BWG_CNT_RX_BYTES],
			 bwg_stats_tx_bytes(s->cnt) + s->cnt[BWG_CNT_DROPPED_BYTES]);
}

static int
event_count(struct bwg_worker *w)
{
	/* Counts without consuming: the ring is ours alone in these tests. */
	uint32_t h = atomic_load(&w->events.head), t = atomic_load(&w->events.tail);
	return (int)(h - t);
}

/* ---- frames ------------------------------------------------------------------------------- */

struct frame {
	uint8_t b[1600];
	uint32_t n;
};

static void
be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
be32(uint8_t *p, uint32_t v)
{
	be16(p, v >> 16);
	be16(p + 2, v);
}

/* Ethernet + IPv4 header for `l4_len` bytes of L4; returns the L4 offset. */
static uint32_t
eth_ip4(struct frame *f, uint8_t proto, const char *src, const char *dst, uint32_t l4_len)
{
	memset(f, 0, sizeof(*f));
	static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
	memcpy(f->b, macs, 12);
	be16(f->b + 12, 0x0800);
	uint8_t *ip = f->b + 14;
	ip[0] = 0x45;
	be16(ip + 2, 20 + l4_len);
	ip[8] = 64;
	ip[9] = proto;
	assert_int_equal(inet_pton(AF_INET, src, ip + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, ip + 16), 1);
	f->n = 14 + 20 + l4_len;
	return 34;
}

static void
tcp4(struct frame *f, const char *src, uint16_t sport, const char *dst, uint16_t dport,
     uint8_t flags, uint32_t seq, uint32_t ack, const void *payload, uint32_t len)
{
	uint32_t o = eth_ip4(f, 6, src, dst, 20 + len);
	be16(f->b + o, sport);
	be16(f->b + o + 2, dport);
	be32(f->b + o + 4, seq);
	be32(f->b + o + 8, ack);
	f->b[o + 12] = 5 << 4;
	f->b[o + 13] = flags;
	be16(f->b + o + 14, 64240);
	if (len)
		memcpy(f->b + o + 20, payload, len);
}

/* UDP with `len` payload bytes of a fixed, protocol-less pattern. */
static void
udp4(struct frame *f, const char *src, uint16_t sport, const char *dst, uint16_t dport,
     uint32_t len)
{
	uint32_t o = eth_ip4(f, 17, src, dst, 8 + len);
	be16(f->b + o, sport);
	be16(f->b + o + 2, dport);
	be16(f->b + o + 4, 8 + len);
	for (uint32_t i = 0; i < len; i++)
		f->b[o + 8 + i] = (uint8_t)(0xa5 ^ (i * 7));
}

static uint8_t
run1(struct bwg_worker *w, const struct frame *f, uint64_t ts)
{
	struct bwg_frame fr = {.data = f->b, .caplen = f->n, .wire_len = f->n, .ts_ns = ts};
	uint8_t v = 0x55;
	bwg_worker_burst(w, &fr, 1, &v);
	return v;
}

/* ---- BitTorrent ------------------------------------------------------------------------------ */

static const char p2p_config[] =
	"{'default_action': 'allow', 'flows': {'capacity': 1024},"
	" 'classes': {'p2p': {'apps': ['BitTorrent']}, 'web': {'apps': ['HTTP']}},"
	" 'rules': [{'name': 'no-p2p', 'classes': ['p2p'], 'action': 'block'}]}";

#define CLI "10.1.0.5"
#define SRV "198.51.100.7"
#define CPORT 51413
#define SPORT 6881

static void
bt_handshake(uint8_t out[68], char peer)
{
	memcpy(out, "\x13" "BitTorrent protocol", 20);
	memset(out + 20, 0, 8);
	out[25] = 0x10; /* extension protocol */
	out[27] = 0x05;
	for (int i = 0; i < 20; i++)
		out[28 + i] = (uint8_t)(0x3c + i * 11); /* info hash */
	memcpy(out + 48, "-qB4250-", 8);
	for (int i = 0; i < 12; i++)
		out[56 + i] = (uint8_t)(peer + i);
}

/*
 * The frames of a BitTorrent connection: 3-way handshake, both BitTorrent handshakes,
 * then `extra` data segments each way. Returns the number of frames; dirs[i] is 0 for
 * client->server.
 */
static int
bt_flow(struct frame *f, int *dirs, int extra)
{
	uint32_t cs = 1000, ss = 50000;
	uint8_t hs[68];
	int n = 0;
	tcp4(&f[n], CLI, CPORT, SRV, SPORT, BWG_TCP_SYN, cs, 0, NULL, 0);
	dirs[n++] = 0;
	cs++;
	tcp4(&f[n], SRV, SPORT, CLI, CPORT, BWG_TCP_SYN | BWG_TCP_ACK, ss, cs, NULL, 0);
	dirs[n++] = 1;
	ss++;
	tcp4(&f[n], CLI, CPORT, SRV, SPORT, BWG_TCP_ACK, cs, ss, NULL, 0);
	dirs[n++] = 0;
	bt_handshake(hs, 'a');
	tcp4(&f[n], CLI, CPORT, SRV, SPORT, BWG_TCP_ACK | 0x08, cs, ss, hs, 68);
	dirs[n++] = 0;
	cs += 68;
	bt_handshake(hs, 'A');
	tcp4(&f[n], SRV, SPORT, CLI, CPORT, BWG_TCP_ACK | 0x08, ss, cs, hs, 68);
	dirs[n++] = 1;
	ss += 68;
	static const uint8_t msg[] = {0, 0, 0, 5, 4, 0, 0, 0, 1, /* have piece 1 */
				      0, 0, 0, 1, 2};              /* interested */
	for (int i = 0; i < extra; i++) {
		tcp4(&f[n], CLI, CPORT, SRV, SPORT, BWG_TCP_ACK | 0x08, cs, ss, msg, sizeof(msg));
		dirs[n++] = 0;
		cs += sizeof(msg);
		tcp4(&f[n], SRV, SPORT, CLI, CPORT, BWG_TCP_ACK | 0x08, ss, cs, msg, sizeof(msg));
		dirs[n++] = 1;
		ss += sizeof(msg);
	}
	return n;
}

static void
test_bittorrent_blocked(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r, p2p_config, false);
	struct bwg_worker *w = r.w;
	static struct frame f[32];
	int dirs[32];
	int n = bt_flow(f, dirs, 6);
	uint8_t verdict[32];
	uint64_t bytes_before = 0, bytes_after = 0;
	int first_block = -1;
	for (int i = 0; i < n; i++) {
		verdict[i] = run1(w, &f[i], T0 + (uint64_t)i * MSEC);
		if (verdict[i] != BWG_VERDICT_FORWARD && first_block < 0)
			first_block = i;
		if (first_block < 0)
			bytes_before += f[i].n;
		else
			bytes_after += f[i].n;
	}
	/* Detected on a BitTorrent handshake at the latest, blocked from then on. */
	if (first_block < 3 || first_block > 4)
		fail_msg("first blocked frame: %d (expected a handshake, 3 or 4)", first_block);
	for (int i = 0; i < n; i++)
		assert_int_equal(verdict[i],
				 i < first_block ? BWG_VERDICT_FORWARD : BWG_DROP_POLICY_BLOCK);

	/* The flow. */
	assert_int_equal(w->flows.active, 1);
	const struct bwg_stats *s = &w->stats;
	assert_int_equal(s->flows_active, 1);
	assert_int_equal(s->cnt[BWG_CNT_FLOWS_CREATED], 1);
	uint32_t blocked = (uint32_t)(n - first_block);

	/* Exactly one block event, naming the flow. */
	assert_int_equal(event_count(w), 1);
	const struct bwg_event *e = bwg_event_ring_peek(&w->events);
	assert_non_null(e);
	assert_int_equal(e->type, BWG_EVENT_BLOCK);
	char a[64];
	assert_string_equal(bwg_log_format_ip(4, e->flow.addr[0], a, sizeof(a)), CLI);
	assert_string_equal(bwg_log_format_ip(4, e->flow.addr[1], a, sizeof(a)), SRV);
	assert_int_equal(e->flow.port[0], CPORT);
	assert_int_equal(e->flow.port[1], SPORT);
	assert_int_equal(e->flow.proto, 6);
	assert_string_equal(e->flow.app, "BitTorrent");
	assert_string_equal(e->flow.cls, "p2p");
	assert_string_equal(e->flow.rule, "no-p2p");
	assert_int_equal(e->flow.action, BWG_ACTION_BLOCK);
	assert_int_equal(e->flow.event_ts, T0 + (uint64_t)first_block * MSEC);
	bwg_event_ring_pop(&w->events);
	assert_int_equal(s->cnt[BWG_CNT_EVENTS], 1);
	assert_int_equal(s->cnt[BWG_CNT_EVENTS_LOST], 0);

	/* Counters: conservation, the drop reason, per class, per app, per unit (folded in
	 * from the flow, as a publication or the flow's end would). */
	bwg_worker_fold_all(w);
	assert_conservation(w);
	assert_int_equal(s->cnt[BWG_CNT_RX_PACKETS], n);
	assert_int_equal(bwg_stats_tx_packets(s->cnt, s->drops), first_block);
	assert_int_equal(s->drops[BWG_DROP_POLICY_BLOCK], blocked);
	assert_int_equal(s->cnt[BWG_CNT_DROPPED_BYTES], bytes_after);
	const uint8_t p2p = 1;
	assert_string_equal(r.p->class_names[p2p], "p2p");
	assert_int_equal(s->classes[p2p].packets, blocked);
	assert_int_equal(s->classes[p2p].bytes, bytes_after);
	assert_int_equal(s->classes[p2p].dropped_packets, blocked);
	assert_int_equal(s->classes[p2p].dropped_bytes, bytes_after);
	assert_int_equal(s->classes[p2p].flows, 1);
	assert_int_equal(s->classes[BWG_CLASS_UNKNOWN].packets, first_block);
	assert_int_equal(s->classes[BWG_CLASS_UNKNOWN].bytes, bytes_before);
	assert_int_equal(s->classes[BWG_CLASS_UNKNOWN].dropped_packets, 0);
	assert_int_equal(s->classes[BWG_CLASS_UNKNOWN].dropped_bytes, 0);
	assert_int_equal(s->classes[BWG_CLASS_UNKNOWN].flows, 0);
	int bt = bwg_dpi_app_id(w->dpi, "BitTorrent");
	assert_int_equal(s->apps[bt].packets, blocked);
	assert_int_equal(s->apps[bt].dropped_packets, blocked);
	assert_int_equal(s->apps[bt].dropped_bytes, bytes_after);
	assert_int_equal(s->apps[bt].flows, 1);
	assert_int_equal(s->units[BWG_UNIT_NONE].packets, n);
	assert_int_equal(s->units[BWG_UNIT_NONE].flows, 1);
	assert_int_equal(s->units[BWG_UNIT_NONE].dropped_packets, blocked);
	assert_int_equal(s->units[BWG_UNIT_NONE].dropped_bytes, bytes_after);

	/* The flow record carries it too. */
	int dir;
	struct bwg_pkt p;
	assert_int_equal(bwg_pkt_parse(&p, f[0].b, f[0].n, f[0].n, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	struct bwg_flow *fl = bwg_flow_lookup(&w->flows, &p, bwg_flow_hash(&p), &dir);
	assert_non_null(fl);
	assert_int_equal(fl->dropped_pkts, blocked);
	uint64_t pk[2] = {0, 0};
	for (int i = 0; i < n; i++)
		pk[dirs[i]]++;
	assert_int_equal(fl->pkts[0], pk[0]);
	assert_int_equal(fl->pkts[1], pk[1]);
	assert_int_equal(fl->first_ts, T0);
	assert_int_equal(fl->last_ts, T0 + (uint64_t)(n - 1) * MSEC);

	/* More packets of the flow: still blocked, no second event. */
	uint8_t v = run1(w, &f[n - 1], T0 + SEC);
	assert_int_equal(v, BWG_DROP_POLICY_BLOCK);
	assert_int_equal(event_count(w), 0);
	assert_conservation(w);
	free_worker(&r);
}

static void
test_block_with_reset(void **state)
{
	(void)state;
	/* A unit rule decides at the first packet, before nDPI has said anything. */
	struct rig r;
	make_worker(&r,
		    "{'default_action': 'allow', 'flows': {'capacity': 1024},"
		    " 'units': {'guests': ['10.9.0.0/16']}, 'classes': {},"
		    " 'rules': [{'name': 'no-guests', 'units': ['guests'], 'action': 'block',"
		    "            'reset': true}]}",
		    false);
	struct frame f;
	tcp4(&f, "10.9.1.1", 40000, "203.0.113.1", 443, BWG_TCP_SYN, 1, 0, NULL, 0);
	assert_int_equal(run1(r.w, &f, T0), BWG_DROP_POLICY_BLOCK | BWG_VERDICT_RESET);
	/* The server side of a guest's flow, too. */
	tcp4(&f, "203.0.113.1", 443, "10.9.1.1", 40000, BWG_TCP_SYN | BWG_TCP_ACK, 9, 2, NULL, 0);
	assert_int_equal(run1(r.w, &f, T0 + 2 * SEC), BWG_DROP_POLICY_BLOCK | BWG_VERDICT_RESET);
	/* No RST for UDP. */
	udp4(&f, "10.9.1.1", 5000, "203.0.113.1", 53, 20);
	assert_int_equal(run1(r.w, &f, T0 + 2 * SEC + 2), BWG_DROP_POLICY_BLOCK);
	/* Others pass. */
	tcp4(&f, "10.8.1.1", 40000, "203.0.113.1", 443, BWG_TCP_SYN, 1, 0, NULL, 0);
	assert_int_equal(run1(r.w, &f, T0 + 2 * SEC + 3), BWG_VERDICT_FORWARD);
	assert_int_equal(r.w->stats.cnt[BWG_CNT_RESETS], 2);
	assert_int_equal(r.w->stats.drops[BWG_DROP_POLICY_BLOCK], 3);
	assert_int_equal(event_count(r.w), 2); /* one per blocked flow */
	bwg_worker_fold_all(r.w);
	assert_int_equal(r.w->stats.units[1].flows, 2);
	assert_int_equal(r.w->stats.units[1].dropped_packets, 3);
	assert_conservation(r.w);
	free_worker(&r);
}

/*
 * A notice rule answers the client's first plain-HTTP request it drops with its page,
 * once per flow; a TLS ClientHello, the server's segments and later requests get the
 * rule's reset pair; a monitor twin answers nothing.
 */
static void
test_block_notice(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r,
		    "{'default_action': 'allow', 'flows': {'capacity': 1024},"
		    " 'units': {'guests': ['10.9.0.0/16']}, 'classes': {},"
		    " 'notice': {'contact': 'desk <8000>'},"
		    " 'packets': {'reset_interval': 0},"
		    " 'rules': [{'name': 'no-guests', 'units': ['guests'], 'action': 'block',"
		    "            'reset': true, 'notice': true}]}",
		    false);
	static const char get[] = "GET / HTTP/1.1\r\nHost: www.example.org\r\n\r\n";
	static const char hello[] = "\x16\x03\x01\x00\x05hello";
	struct frame f;
	tcp4(&f, "10.9.1.1", 40000, "203.0.113.1", 80, BWG_TCP_SYN, 1, 0, NULL, 0);
	assert_int_equal(run1(r.w, &f, T0), BWG_DROP_POLICY_BLOCK | BWG_VERDICT_RESET);
	tcp4(&f, "10.9.1.1", 40000, "203.0.113.1", 80, BWG_TCP_ACK | 0x08, 2, 9, get,
	     sizeof(get) - 1);
	assert_int_equal(run1(r.w, &f, T0 + 1), BWG_DROP_POLICY_BLOCK | BWG_VERDICT_NOTICE);
	const struct bwg_notice *n = bwg_worker_notice(r.w, f.b, f.n);
	assert_non_null(n);
	assert_memory_equal(n->text, "HTTP/1.1 403 Forbidden\r\n", 24);
	assert_non_null(strstr(n->text, "no-guests"));
	assert_non_null(strstr(n->text, "desk &lt;8000&gt;")); /* escaped */
	assert_non_null(strstr(n->text, "unit: guests"));
	/* Once per flow: the next request of the same flow gets the reset pair. */
	assert_int_equal(run1(r.w, &f, T0 + 2), BWG_DROP_POLICY_BLOCK | BWG_VERDICT_RESET);
	/* The server's segment, and TLS: resets, never a page. */
	tcp4(&f, "203.0.113.1", 80, "10.9.1.1", 40000, BWG_TCP_ACK | 0x08, 9, 2, get,
	     sizeof(get) - 1);
	assert_int_equal(run1(r.w, &f, T0 + 3), BWG_DROP_POLICY_BLOCK | BWG_VERDICT_RESET);
	tcp4(&f, "10.9.1.1", 40001, "203.0.113.1", 443, BWG_TCP_ACK | 0x08, 2, 9, hello,
	     sizeof(hello) - 1);
	assert_int_equal(run1(r.w, &f, T0 + 4), BWG_DROP_POLICY_BLOCK | BWG_VERDICT_RESET);
	assert_int_equal(r.w->stats.cnt[BWG_CNT_NOTICES], 1);
	assert_int_equal(r.w->stats.cnt[BWG_CNT_RESETS], 4);
	/* A request in a SYN (TCP Fast Open), or without ACK, has no sequence number of the
	 * server's to answer with, and a RST is never answered: no page, which stays for
	 * the flow's first request the client's stack can take one for. */
	tcp4(&f, "10.9.1.1", 40002, "203.0.113.1", 80, BWG_TCP_SYN, 1, 0, get, sizeof(get) - 1);
	assert_int_equal(run1(r.w, &f, T0 + 5), BWG_DROP_POLICY_BLOCK | BWG_VERDICT_RESET);
	tcp4(&f, "10.9.1.1", 40002, "203.0.113.1", 80, BWG_TCP_RST | BWG_TCP_ACK, 2, 9, get,
	     sizeof(get) - 1);
	assert_int_equal(run1(r.w, &f, T0 + 6), BWG_DROP_POLICY_BLOCK); /* never answered */
	tcp4(&f, "10.9.1.1", 40002, "203.0.113.1", 80, 0x08, 2, 0, get, sizeof(get) - 1);
	assert_int_equal(run1(r.w, &f, T0 + 7), BWG_DROP_POLICY_BLOCK | BWG_VERDICT_RESET);
	tcp4(&f, "10.9.1.1", 40002, "203.0.113.1", 80, BWG_TCP_ACK | 0x08, 2, 9, get,
	     sizeof(get) - 1);
	assert_int_equal(run1(r.w, &f, T0 + 8), BWG_DROP_POLICY_BLOCK | BWG_VERDICT_NOTICE);
	assert_int_equal(r.w->stats.cnt[BWG_CNT_NOTICES], 2);
	free_worker(&r);
}

/* Guests allowed, each held to 1 MB a day, then blocked. */
static const char guests_day_quota[] =
	"{'default_action': 'allow', 'flows': {'capacity': 1024},"
	" 'units': {'guests': ['10.9.0.0/16']}, 'classes': {},"
	" 'rules': [{'name': 'q', 'units': ['guests'], 'action': 'allow',"
	"            'quota': {'period': 'day', 'bytes': '1MB', 'then': 'block'}}]}";

/*
 * Users who find the shared quota table full are not held to the quota, and are
 * counted (meter_table_full), not passed over in silence.
 */
static void
test_quota_table_full(void **state)
{
	(void)state;
	struct rig r;
	assert_int_equal(bwg_quotas_create(&rig_quotas, 1), 0);
	make_worker(&r, guests_day_quota, false);
	uint32_t room = rig_quotas->cap;
	struct frame f;
	for (uint32_t i = 0; i < room + 10; i++) {
		char src[32];
		snprintf(src, sizeof(src), "10.9.%u.%u", i / 200, 1 + i % 200);
		udp4(&f, src, 40000, "203.0.113.1", 9999, 100);
		assert_int_equal(run1(r.w, &f, T0 + i), BWG_VERDICT_FORWARD);
	}
	assert_int_equal(atomic_load(&rig_quotas->n), room);
	assert_int_equal(atomic_load(&rig_quotas->full), 10);
	assert_int_equal(r.w->stats.cnt[BWG_CNT_METER_TABLE_FULL], 10);
	free_worker(&r);
	bwg_quotas_destroy(rig_quotas);
	rig_quotas = NULL;
}

/*
 * An outsider's flows toward many inside addresses make no quota entries: the shared
 * table is never freed while the gate runs. The user's own flow makes its entry, and a
 * flow toward the user then counts toward it.
 */
static void
test_quota_outsider_makes_no_entry(void **state)
{
	(void)state;
	struct rig r;
	assert_int_equal(bwg_quotas_create(&rig_quotas, 64), 0);
	make_worker(&r, guests_day_quota, false);
	struct frame f;
	for (uint32_t i = 0; i < 500; i++) {
		char dst[32];
		snprintf(dst, sizeof(dst), "10.9.%u.%u", i / 200, 1 + i % 200);
		udp4(&f, "203.0.113.9", 40000 + (uint16_t)i, dst, 9999, 100);
		assert_int_equal(run1(r.w, &f, T0 + i), BWG_VERDICT_FORWARD);
	}
	assert_int_equal(atomic_load(&rig_quotas->n), 0);
	assert_int_equal(r.w->stats.cnt[BWG_CNT_METER_TABLE_FULL], 0);
	/* 10.9.0.1 begins a flow of its own: its entry; an outsider's flow toward it then
	 * counts there too. */
	udp4(&f, "10.9.0.1", 50000, "203.0.113.1", 9999, 100);
	assert_int_equal(run1(r.w, &f, T0 + 1000), BWG_VERDICT_FORWARD);
	assert_int_equal(atomic_load(&rig_quotas->n), 1);
	const uint8_t user[16] = {10, 9, 0, 1};
	struct bwg_quota *q = bwg_quotas_find(rig_quotas, bwg_quota_rule_id("q"), 4, user);
	assert_non_null(q);
	uint64_t used = atomic_load(&q->bytes);
	assert_true(used > 0);
	udp4(&f, "203.0.113.9", 3000, "10.9.0.1", 9999, 100);
	assert_int_equal(run1(r.w, &f, T0 + 2000), BWG_VERDICT_FORWARD);
	assert_int_equal(atomic_load(&q->bytes), used + f.n);
	assert_int_equal(atomic_load(&rig_quotas->n), 1);
	free_worker(&r);
	bwg_quotas_destroy(rig_quotas);
	rig_quotas = NULL;
}

/* ---- limit ------------------------------------------------------------------------------------ */

/*
 * Offer UDP at `kbps` kbit/s per direction for `secs` seconds in 1000-byte frames on the
 * flows given (client i -> server, and back), interleaved; add forwarded bytes per flow
 * and direction to fwd[flow][dir].
 */
static void
offer_udp(struct bwg_worker *w, const char *const *clients, int nflows, uint32_t kbps,
	  unsigned secs, uint64_t fwd[][2])
{
	enum { FRAME = 1000 };
	struct frame f[8][2];
	for (int i = 0; i < nflows; i++) {
		udp4(&f[i][0], clients[i], 40000, "203.0.113.50", 9000, FRAME - 42);
		udp4(&f[i][1], "203.0.113.50", 9000, clients[i], 40000, FRAME - 42);
		assert_int_equal(f[i][0].n, FRAME);
	}
	const uint64_t gap = (uint64_t)FRAME * 8 * 1000000 / kbps; /* ns between frames */
	for (uint64_t t = 0; t < (uint64_t)secs * SEC; t += gap) {
		for (int i = 0; i < nflows; i++) {
			for (int d = 0; d < 2; d++) {
				uint8_t v = run1(w, &f[i][d], T0 + t + (uint64_t)(i * 2 + d));
				if (v == BWG_VERDICT_FORWARD)
					fwd[i][d] += FRAME;
				else
					assert_int_equal(v, BWG_DROP_POLICY_LIMIT);
			}
		}
	}
}

static void
assert_near(uint64_t got, uint64_t want, double tol, const char *what)
{
	double err = ((double)got - (double)want) / (double)want;
	if (err > tol || err < -tol)
		fail_msg("%s: %llu bytes, want %llu +- %.0f%% (off by %.2f%%)", what,
			 (unsigned long long)got, (unsigned long long)want, tol * 100, err * 100);
}

/*
 * A monitor rule forwards everything and counts, under its own name, exactly what the
 * same rule in force drops: packets and flows, for a limit rule (its bucket runs as it
 * would) and a block rule; its events and records say "monitor".
 */
static void
monitor_run(bool monitor, uint64_t fwd[1][2], struct bwg_rule_stats *cap,
	    struct bwg_rule_stats *guests)
{
	char conf[1024];
	const char *mode = monitor ? ", 'mode': 'monitor'" : "";
	snprintf(conf, sizeof(conf),
		 "{'default_action': 'allow', 'flows': {'capacity': 1024},"
		 " 'units': {'guests': ['10.9.0.0/16']}, 'classes': {},"
		 " 'rules': [{'name': 'no-guests', 'units': ['guests'], 'action': 'block'%s},"
		 "           {'name': 'cap', 'action': 'limit'%s,"
		 "            'limit': {'rate': '1Mbit', 'scope': 'per_host'}}]}",
		 mode, mode);
	struct rig r;
	make_worker(&r, conf, false);
	static const char *const one[] = {"10.1.0.9"};
	offer_udp(r.w, one, 1, 4000, 3, fwd);
	struct frame f;
	for (int i = 0; i < 3; i++) {
		udp4(&f, "10.9.1.1", (uint16_t)(5000 + i), "203.0.113.1", 9000, 20);
		uint8_t v = run1(r.w, &f, T0 + 10 * SEC + (uint64_t)i);
		assert_int_equal(v, monitor ? BWG_VERDICT_FORWARD : BWG_DROP_POLICY_BLOCK);
		v = run1(r.w, &f, T0 + 10 * SEC + 10 + (uint64_t)i);
		assert_int_equal(v, monitor ? BWG_VERDICT_FORWARD : BWG_DROP_POLICY_BLOCK);
	}
	*cap = r.w->stats.rules[1];
	*guests = r.w->stats.rules[0];
	if (monitor) {
		assert_int_equal(r.w->stats.cnt[BWG_CNT_DROPPED_PACKETS], 0);
		/* The block event of a guest flow: action block, marked monitor. */
		const struct bwg_event *e;
		bool seen = false;
		while ((e = bwg_event_ring_peek(&r.w->events))) {
			if (e->type == BWG_EVENT_BLOCK) {
				assert_true(e->flow.monitor);
				assert_int_equal(e->flow.action, BWG_ACTION_BLOCK);
				assert_int_equal(e->flow.dropped_pkts, 0);
				seen = true;
			}
			bwg_event_ring_pop(&r.w->events);
		}
		assert_true(seen);
	}
	assert_conservation(r.w);
	free_worker(&r);
}

static void
test_monitor_counts_what_enforce_drops(void **state)
{
	(void)state;
	uint64_t fwd_e[1][2] = {{0, 0}}, fwd_m[1][2] = {{0, 0}};
	struct bwg_rule_stats cap_e, guests_e, cap_m, guests_m;
	monitor_run(false, fwd_e, &cap_e, &guests_e);
	monitor_run(true, fwd_m, &cap_m, &guests_m);
	assert_true(cap_e.dropped_packets > 0);
	assert_int_equal(cap_m.would_limit_packets, cap_e.dropped_packets);
	assert_int_equal(cap_m.would_limit_flows, cap_e.dropped_flows);
	assert_int_equal(cap_m.would_limit_flows, 1);
	assert_int_equal(cap_m.dropped_packets, 0);
	assert_int_equal(guests_e.dropped_packets, 6);
	assert_int_equal(guests_e.dropped_flows, 3);
	assert_int_equal(guests_m.would_block_packets, 6);
	assert_int_equal(guests_m.would_block_flows, 3);
	assert_int_equal(guests_m.dropped_packets, 0);
	assert_int_equal(cap_e.would_limit_packets + guests_e.would_block_packets, 0);
	/* Monitor forwarded everything offered: 3 s at 4 Mbit/s each way. */
	assert_int_equal(fwd_m[0][0], fwd_m[0][1]);
	assert_int_equal(fwd_m[0][0], 1500 * 1000);
	assert_true(fwd_e[0][0] < fwd_m[0][0] / 3);
}

static void
test_limit_aggregate(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r,
		    "{'default_action': 'allow', 'flows': {'capacity': 1024}, 'classes': {},"
		    " 'rules': [{'name': 'cap', 'action': 'limit', 'log': true,"
		    "            'limit': {'rate': '1Mbit', 'scope': 'aggregate'}}]}",
		    false);
	/* 4 Mbit/s each way for 10 s: each direction is held to 1 Mbit/s on its own. */
	static const char *const one[] = {"10.1.0.9"};
	uint64_t fwd[1][2] = {{0, 0}};
	offer_udp(r.w, one, 1, 4000, 10, fwd);
	const uint64_t want = 1000000ull * 10 / 8;
	assert_near(fwd[0][0], want, 0.02, "client->server");
	assert_near(fwd[0][1], want, 0.02, "server->client");
	const struct bwg_stats *s = &r.w->stats;
	assert_true(s->drops[BWG_DROP_POLICY_LIMIT] > 0);
	assert_int_equal(s->drops[BWG_DROP_POLICY_LIMIT], s->cnt[BWG_CNT_DROPPED_PACKETS]);
	assert_int_equal(bwg_stats_tx_bytes(s->cnt), fwd[0][0] + fwd[0][1]);
	assert_conservation(r.w);
	/* One limit event for the flow; its end is logged at flush. */
	assert_int_equal(event_count(r.w), 1);
	assert_int_equal(bwg_event_ring_peek(&r.w->events)->type, BWG_EVENT_LIMIT);
	bwg_event_ring_pop(&r.w->events);
	assert_int_equal(bwg_worker_flush(r.w, UINT32_MAX), 0);
	assert_int_equal(event_count(r.w), 1);
	const struct bwg_event *e = bwg_event_ring_peek(&r.w->events);
	assert_int_equal(e->type, BWG_EVENT_FLOW_END);
	assert_int_equal(e->flow.action, BWG_ACTION_LIMIT);
	assert_string_equal(e->flow.rule, "cap");
	assert_int_equal(e->flow.bytes[0] + e->flow.bytes[1], s->cnt[BWG_CNT_RX_BYTES]);
	assert_int_equal(e->flow.dropped_pkts, s->drops[BWG_DROP_POLICY_LIMIT]);
	free_worker(&r);

	/* Two flows under one aggregate rule share its bucket. */
	make_worker(&r,
		    "{'default_action': 'allow', 'flows': {'capacity': 1024}, 'classes': {},"
		    " 'rules': [{'name': 'cap', 'action': 'limit',"
		    "            'limit': {'rate': '1Mbit', 'scope': 'aggregate'}}]}",
		    false);
	static const char *const two[] = {"10.1.0.9", "10.1.0.10"};
	uint64_t fwd2[2][2] = {{0, 0}, {0, 0}};
	offer_udp(r.w, two, 2, 2000, 10, fwd2);
	assert_near(fwd2[0][0] + fwd2[1][0], want, 0.02, "two flows, client->server");
	assert_near(fwd2[0][1] + fwd2[1][1], want, 0.02, "two flows, server->client");
	assert_conservation(r.w);
	free_worker(&r);
}

static void
test_limit_per_host(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r,
		    "{'default_action': 'allow', 'flows': {'capacity': 1024}, 'classes': {},"
		    " 'rules': [{'name': 'cap', 'action': 'limit',"
		    "            'limit': {'rate': '1Mbit', 'scope': 'per_host'}}]}",
		    false);
	/* Each client gets the rate for itself. */
	static const char *const two[] = {"10.1.0.9", "10.1.0.10"};
	uint64_t fwd[2][2] = {{0, 0}, {0, 0}};
	offer_udp(r.w, two, 2, 4000, 10, fwd);
	const uint64_t want = 1000000ull * 10 / 8;
	for (int i = 0; i < 2; i++)
		for (int d = 0; d < 2; d++)
			assert_near(fwd[i][d], want, 0.02, d ? "per host, s2c" : "per host, c2s");
	assert_int_equal(bwg_meter_table_held(r.w->meters), 2);
	assert_int_equal(r.w->stats.cnt[BWG_CNT_METER_TABLE_FULL], 0);
	assert_conservation(r.w);
	/* Flows gone: nobody holds their buckets. */
	assert_int_equal(bwg_worker_flush(r.w, UINT32_MAX), 0);
	assert_int_equal(bwg_meter_table_held(r.w->meters), 0);
	free_worker(&r);
}

/*
 * Several workers on one policy and one per-host bucket table, as the appliance runs
 * them: a limit holds its rate whatever the spread of flows over workers. Flow i (of
 * `nflows`, client clients[i % nclients], its own port) is carried by worker i % n;
 * each direction offers 4 x 1 Mbit/s in all for 10 s. Returns the forwarded bytes per
 * client and direction.
 */
static void
offer_spread(const char *cfg, int n, const char *const *clients, int nclients, int nflows,
	     uint64_t fwd[][2])
{
	enum { FRAME = 1000, WORKERS = 4, FLOWS = 8 };
	struct bwg_worker *w[WORKERS];
	struct bwg_policy *p = NULL;
	struct bwg_meter_table *meters = NULL;
	char err[512] = "";
	struct bwg_config *conf = parse_sq(cfg);
	assert_int_equal(bwg_meter_table_create(&meters, 64), 0);
	for (int i = 0; i < n; i++) {
		struct bwg_dpi *dpi = NULL;
		if (bwg_setup_dpi(conf, &dpi, err, sizeof(err)))
			fail_msg("dpi: %s", err);
		if (!p && bwg_policy_compile(&p, conf, dpi, 1, err, sizeof(err)))
			fail_msg("policy: %s", err);
		struct bwg_worker_conf wc = {.id = (uint32_t)i, .link = BWG_LINK_ETHER,
					     .event_ring_size = 4096, .aging_budget = 1024,
					     .workers = (uint32_t)n, .meters = meters};
		if (bwg_worker_create(&w[i], &wc, p, dpi, err, sizeof(err)))
			fail_msg("worker: %s", err);
	}
	struct frame f[FLOWS][2];
	for (int i = 0; i < nflows; i++) {
		const char *cli = clients[i % nclients];
		udp4(&f[i][0], cli, (uint16_t)(40000 + i), "203.0.113.50", 9000, FRAME - 42);
		udp4(&f[i][1], "203.0.113.50", 9000, cli, (uint16_t)(40000 + i), FRAME - 42);
	}
	const uint64_t gap = (uint64_t)FRAME * 8 * 1000000 * (uint64_t)nflows / 4000;
	for (uint64_t t = 0; t < 10 * SEC; t += gap)
		for (int i = 0; i < nflows; i++)
			for (int d = 0; d < 2; d++) {
				/* Workers' clocks differ a little, as cores' do. */
				uint8_t v = run1(w[i % n], &f[i][d], T0 + t + (uint64_t)(i * 2 + d) * 1000);
				if (v == BWG_VERDICT_FORWARD)
					fwd[i % nclients][d] += FRAME;
				else
					assert_int_equal(v, BWG_DROP_POLICY_LIMIT);
			}
	for (int i = 0; i < n; i++) {
		assert_int_equal(w[i]->stats.cnt[BWG_CNT_METER_TABLE_FULL], 0);
		assert_conservation(w[i]);
		assert_true(w[i]->stats.drops[BWG_DROP_POLICY_LIMIT] > 0);
		bwg_worker_flush(w[i], UINT32_MAX);
		bwg_worker_destroy(w[i]);
	}
	assert_int_equal(bwg_meter_table_held(meters), 0);
	bwg_meter_table_destroy(meters);
	bwg_policy_free(p);
}

static void
test_limit_across_workers(void **state)
{
	(void)state;
	const uint64_t want = 1000000ull * 10 / 8;
	static const char *const one[] = {"10.1.0.9"};
	static const char *const two[] = {"10.1.0.9", "10.1.0.10"};
	for (int n = 2; n <= 4; n += 2) {
		/* One client, 8 flows over n workers: its own bucket pair, once. */
		uint64_t fwd[2][2] = {{0, 0}, {0, 0}};
		offer_spread("{'default_action': 'allow', 'flows': {'capacity': 1024},"
			     " 'classes': {}, 'rules': [{'name': 'cap', 'action': 'limit',"
			     " 'limit': {'rate': '1Mbit', 'scope': 'per_host'}}]}",
			     n, one, 1, 8, fwd);
		assert_near(fwd[0][0], want, 0.02, "per host over workers, c2s");
		assert_near(fwd[0][1], want, 0.02, "per host over workers, s2c");
		/* Two clients, 3 flows each, over n workers, under one aggregate bucket. */
		memset(fwd, 0, sizeof(fwd));
		offer_spread("{'default_action': 'allow', 'flows': {'capacity': 1024},"
			     " 'classes': {}, 'rules': [{'name': 'cap', 'action': 'limit',"
			     " 'limit': {'rate': '1Mbit', 'scope': 'aggregate'}}]}",
			     n, two, 2, 6, fwd);
		assert_near(fwd[0][0] + fwd[1][0], want, 0.02, "aggregate over workers, c2s");
		assert_near(fwd[0][1] + fwd[1][1], want, 0.02, "aggregate over workers, s2c");
	}
}

/* ---- exhaustion and odd frames ------------------------------------------------------------------ */

/* n UDP flows from n clients, each (when `answered`) with the server's reply. */
static void
open_flows_answered(struct bwg_worker *w, int n, uint8_t *verdicts, bool answered)
{
	for (int i = 0; i < n; i++) {
		struct frame f;
		char src[32];
		snprintf(src, sizeof(src), "10.2.%d.%d", i / 250, i % 250 + 1);
		udp4(&f, src, (uint16_t)(20000 + i), "203.0.113.9", 33333, 30);
		verdicts[i] = run1(w, &f, T0 + (uint64_t)i * 1000);
		if (answered) {
			udp4(&f, "203.0.113.9", 33333, src, (uint16_t)(20000 + i), 30);
			run1(w, &f, T0 + (uint64_t)i * 1000 + 1);
		}
	}
}

static void
open_flows(struct bwg_worker *w, int n, uint8_t *verdicts)
{
	open_flows_answered(w, n, verdicts, false);
}

static void
test_flow_table_full(void **state)
{
	(void)state;
	enum { CAP = 1024, N = 1100 };
	static uint8_t v[N];
	for (int drop = 0; drop < 2; drop++) {
		struct rig r;
		make_worker(&r,
			    drop ? "{'default_action': 'allow', 'classes': {}, 'rules': [],"
				   " 'flows': {'capacity': 1024, 'on_full': 'drop'}}"
				 : "{'default_action': 'allow', 'classes': {}, 'rules': [],"
				   " 'flows': {'capacity': 1024, 'on_full': 'forward'}}",
			    false);
		/* Established flows (answered): none of them may be evicted. */
		open_flows_answered(r.w, N, v, true);
		const struct bwg_stats *s = &r.w->stats;
		for (int i = 0; i < N; i++)
			assert_int_equal(v[i], (i >= CAP && drop) ? BWG_DROP_FLOW_TABLE_FULL
								  : BWG_VERDICT_FORWARD);
		assert_int_equal(s->cnt[BWG_CNT_FLOWS_EVICTED], 0);
		assert_int_equal(r.w->flows.active, CAP);
		assert_int_equal(s->flows_active, CAP);
		assert_int_equal(s->cnt[BWG_CNT_FLOWS_CREATED], CAP);
		assert_int_equal(s->cnt[BWG_CNT_FLOW_TABLE_FULL], 2 * (N - CAP));
		/* Each overflowing flow's packet and its answer found no room. */
		assert_int_equal(s->drops[BWG_DROP_FLOW_TABLE_FULL], drop ? 2 * (N - CAP) : 0);
		assert_int_equal(bwg_stats_tx_packets(s->cnt, s->drops), drop ? 2 * CAP : 2 * N);
		/* The detection pool (a quarter of the table by default) ran out first. */
		assert_int_equal(s->cnt[BWG_CNT_DPI_POOL_EXHAUSTED], CAP - CAP / 4);
		assert_conservation(r.w);
		free_worker(&r);
	}
}

static void
test_malformed(void **state)
{
	(void)state;
	for (int drop = 0; drop < 2; drop++) {
		struct rig r;
		make_worker(&r,
			    drop ? "{'default_action': 'allow', 'classes': {}, 'rules': [],"
				   " 'flows': {'capacity': 1024}}"
				 : "{'default_action': 'allow', 'classes': {}, 'rules': [],"
				   " 'flows': {'capacity': 1024}, 'packets': {'malformed': 'forward'}}",
			    false);
		struct bwg_worker *w = r.w;
		const uint8_t bad = drop ? BWG_DROP_MALFORMED : BWG_VERDICT_FORWARD;
		struct frame f;

		/* IHL below 5. */
		udp4(&f, "10.1.0.1", 1000, "10.2.0.1", 53, 10);
		f.b[14] = 0x44;
		assert_int_equal(run1(w, &f, T0), bad);
		/* Total length beyond the frame. */
		udp4(&f, "10.1.0.1", 1000, "10.2.0.1", 53, 10);
		be16(f.b + 16, 200);
		assert_int_equal(run1(w, &f, T0 + 1), bad);
		/* A runt: not even an Ethernet header. */
		f.n = 10;
		assert_int_equal(run1(w, &f, T0 + 2), bad);
		/* A TCP header cut to 12 bytes: attributed to a flow (ports 0), still bad. */
		tcp4(&f, "10.1.0.1", 1000, "10.2.0.1", 80, BWG_TCP_SYN, 1, 0, NULL, 0);
		be16(f.b + 16, 20 + 12);
		f.n = 14 + 20 + 12;
		assert_int_equal(run1(w, &f, T0 + 3), bad);
		/* A TCP data offset below 5 words. */
		tcp4(&f, "10.1.0.1", 1001, "10.2.0.1", 80, BWG_TCP_SYN, 1, 0, NULL, 0);
		f.b[34 + 12] = 3 << 4;
		assert_int_equal(run1(w, &f, T0 + 4), bad);
		/* A good frame passes either way. */
		udp4(&f, "10.1.0.1", 1000, "10.2.0.1", 53, 10);
		assert_int_equal(run1(w, &f, T0 + 5), BWG_VERDICT_FORWARD);

		const struct bwg_stats *s = &w->stats;
		assert_int_equal(s->malformed[BWG_PKT_IPV4_BAD_HEADER], 1);
		assert_int_equal(s->malformed[BWG_PKT_IPV4_BAD_LENGTH], 1);
		assert_int_equal(s->malformed[BWG_PKT_L2_TRUNCATED], 1);
		assert_int_equal(s->malformed[BWG_PKT_L4_TRUNCATED], 1);
		assert_int_equal(s->malformed[BWG_PKT_TCP_BAD_OFFSET], 1);
		assert_int_equal(s->malformed[BWG_PKT_OK], 0);
		assert_int_equal(s->drops[BWG_DROP_MALFORMED], drop ? 5 : 0);
		assert_int_equal(bwg_stats_tx_packets(s->cnt, s->drops), drop ? 1 : 6);
		/* The two frames with a sound IP header made flows (ports 0 and 1001->80); the
		 * good UDP frame made the third. */
		assert_int_equal(s->cnt[BWG_CNT_FLOWS_CREATED], 3);
		assert_conservation(w);
		assert_int_equal(bwg_worker_flush(w, UINT32_MAX), 0);
		free_worker(&r);
	}
}

static void
test_non_ip(void **state)
{
	(void)state;
	for (int drop = 0; drop < 2; drop++) {
		struct rig r;
		make_worker(&r,
			    drop ? "{'default_action': 'block', 'classes': {}, 'rules': [],"
				   " 'flows': {'capacity': 1024}, 'packets': {'non_ip': 'drop'}}"
				 : "{'default_action': 'block', 'classes': {}, 'rules': [],"
				   " 'flows': {'capacity': 1024}}",
			    false);
		struct frame f;
		memset(&f, 0, sizeof(f));
		memset(f.b, 0xff, 6);
		be16(f.b + 12, 0x0806); /* ARP request */
		static const uint8_t arp[] = {0, 1, 8, 0, 6, 4, 0, 1};
		memcpy(f.b + 14, arp, sizeof(arp));
		f.n = 60;
		/* ARP passes a gate whose default is block: it is not IP traffic. */
		for (int i = 0; i < 3; i++)
			assert_int_equal(run1(r.w, &f, T0 + (uint64_t)i),
					 drop ? BWG_DROP_NON_IP : BWG_VERDICT_FORWARD);
		const struct bwg_stats *s = &r.w->stats;
		assert_int_equal(s->cnt[BWG_CNT_NON_IP], 3);
		assert_int_equal(s->drops[BWG_DROP_NON_IP], drop ? 3 : 0);
		assert_int_equal(s->cnt[BWG_CNT_FLOWS_CREATED], 0);
		assert_int_equal(r.w->flows.active, 0);
		assert_conservation(r.w);
		free_worker(&r);
	}
}

static void
test_fragments(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r, "{'default_action': 'allow', 'classes': {}, 'rules': [],"
			" 'flows': {'capacity': 1024}}",
		    false);
	struct frame first, later, stray;
	udp4(&first, "10.1.0.1", 7000, "10.2.0.1", 7001, 100);
	be16(first.b + 14 + 4, 0x4242);
	be16(first.b + 14 + 6, 0x2000); /* MF */
	udp4(&later, "10.1.0.1", 7000, "10.2.0.1", 7001, 40);
	be16(later.b + 14 + 4, 0x4242);
	be16(later.b + 14 + 6, 0x000d); /* offset 104 bytes, last */
	udp4(&stray, "10.1.0.1", 7000, "10.2.0.1", 7001, 40);
	be16(stray.b + 14 + 4, 0x4343);
	be16(stray.b + 14 + 6, 0x000d);
	/* A later fragment between two hosts no first fragment has been seen for. */
	struct frame unknown;
	udp4(&unknown, "10.1.0.7", 7000, "10.2.0.7", 7001, 40);
	be16(unknown.b + 14 + 4, 0x4444);
	be16(unknown.b + 14 + 6, 0x000d);
	assert_int_equal(run1(r.w, &first, T0), BWG_VERDICT_FORWARD);
	assert_int_equal(run1(r.w, &later, T0 + 1), BWG_VERDICT_FORWARD);
	/* Another datagram's later fragment, its first unseen: judged by its host's flow. */
	assert_int_equal(run1(r.w, &stray, T0 + 2), BWG_VERDICT_FORWARD);
	/* packets.unmatched_fragments defaults to drop. */
	assert_int_equal(run1(r.w, &unknown, T0 + 3), BWG_DROP_FRAGMENT_UNMATCHED);
	const struct bwg_stats *s = &r.w->stats;
	assert_int_equal(s->cnt[BWG_CNT_FRAGMENTS], 4);
	assert_int_equal(s->cnt[BWG_CNT_FRAGMENTS_BY_HOST], 1);
	assert_int_equal(s->cnt[BWG_CNT_FRAGMENTS_UNMATCHED], 1);
	assert_int_equal(s->drops[BWG_DROP_FRAGMENT_UNMATCHED], 1);
	assert_int_equal(s->cnt[BWG_CNT_FLOWS_CREATED], 1);
	struct bwg_pkt p;
	int dir;
	assert_int_equal(bwg_pkt_parse(&p, first.b, first.n, first.n, BWG_LINK_ETHER, 0),
			 BWG_PKT_OK);
	struct bwg_flow *fl = bwg_flow_lookup(&r.w->flows, &p, bwg_flow_hash(&p), &dir);
	assert_non_null(fl);
	assert_int_equal(fl->pkts[0], 3);
	assert_int_equal(fl->bytes[0], first.n + later.n + stray.n);
	assert_conservation(r.w);
	free_worker(&r);
}

/*
 * A full table makes room by ending the unestablished flow idle longest: new flows are
 * still judged, established ones are never touched.
 */
static void
test_evict_unestablished(void **state)
{
	(void)state;
	enum { CAP = 1024 };
	static uint8_t v[CAP];
	struct rig r;
	make_worker(&r, "{'default_action': 'allow', 'classes': {}, 'rules': [],"
			" 'flows': {'capacity': 1024, 'on_full': 'drop'}}",
		    false);
	struct bwg_worker *w = r.w;
	/* A quarter of the table established, then unanswered flows fill the rest. */
	open_flows_answered(w, CAP / 4, v, true);
	struct frame f;
	for (int i = 0; i < 3 * CAP / 4; i++) {
		char src[32];
		snprintf(src, sizeof(src), "10.5.%d.%d", i / 250, i % 250 + 1);
		udp4(&f, src, 999, "203.0.113.7", 53, 20);
		assert_int_equal(run1(w, &f, T0 + SEC + (uint64_t)i), BWG_VERDICT_FORWARD);
	}
	assert_int_equal(w->flows.active, CAP);
	/* More new flows than the table holds: (nearly) every one gets a record, each
	 * from one of BWG_EVICT_PROBES records looked at. */
	uint32_t admitted = 0;
	for (int i = 0; i < 2 * CAP; i++) {
		char src[32];
		snprintf(src, sizeof(src), "10.6.%d.%d", i / 250, i % 250 + 1);
		tcp4(&f, src, 4000, "203.0.113.8", 443, BWG_TCP_SYN, 1, 0, NULL, 0);
		admitted += run1(w, &f, T0 + 2 * SEC + (uint64_t)i) == BWG_VERDICT_FORWARD;
	}
	const struct bwg_stats *s = &w->stats;
	assert_int_equal(s->cnt[BWG_CNT_FLOWS_EVICTED], admitted);
	assert_int_equal(s->drops[BWG_DROP_FLOW_TABLE_FULL], 2 * CAP - admitted);
	assert_true(admitted >= 2 * CAP * 99 / 100);
	uint32_t established = 0;
	for (uint32_t i = 0; i < w->flows.high_water; i++)
		established += w->flows.flows[i].state != BWG_FLOW_FREE &&
			       bwg_flow_established(&w->flows.flows[i]);
	assert_int_equal(established, CAP / 4);
	/* The established flows still pass as themselves. */
	udp4(&f, "10.2.0.1", 20000, "203.0.113.9", 33333, 30);
	assert_int_equal(run1(w, &f, T0 + 3 * SEC), BWG_VERDICT_FORWARD);
	assert_int_equal(s->cnt[BWG_CNT_FLOWS_CREATED], CAP + admitted);
	assert_conservation(w);
	free_worker(&r);
}

/* An empty detection pool is refilled from unestablished flows, not left empty. */
static void
test_dpi_reclaim(void **state)
{
	(void)state;
	static uint8_t v[64];
	struct rig r;
	make_worker(&r, "{'default_action': 'allow', 'classes': {}, 'rules': [],"
			" 'flows': {'capacity': 1024}, 'dpi': {'max_in_progress': 16}}",
		    false);
	struct bwg_worker *w = r.w;
	open_flows(w, 64, v); /* unanswered: each takes the state of an older one */
	const struct bwg_stats *s = &w->stats;
	assert_int_equal(s->cnt[BWG_CNT_DPI_STATES_RECLAIMED], 64 - 16);
	assert_int_equal(s->cnt[BWG_CNT_DPI_POOL_EXHAUSTED], 0);
	assert_int_equal(w->flows.active, 16);
	free_worker(&r);
	/* Established flows keep their states: the new flow goes uninspected. */
	make_worker(&r, "{'default_action': 'allow', 'classes': {}, 'rules': [],"
			" 'flows': {'capacity': 1024}, 'dpi': {'max_in_progress': 16}}",
		    false);
	open_flows_answered(r.w, 20, v, true);
	assert_int_equal(r.w->stats.cnt[BWG_CNT_DPI_STATES_RECLAIMED], 0);
	assert_int_equal(r.w->stats.cnt[BWG_CNT_DPI_POOL_EXHAUSTED], 4);
	free_worker(&r);
}

/* flows.per_host_max, a unit's own cap, and its share per worker. */
static void
test_host_flow_cap(void **state)
{
	(void)state;
	for (uint32_t workers = 1; workers <= 2; workers++) {
		struct rig r;
		make_worker(&r,
			    "{'default_action': 'allow', 'classes': {}, 'rules': [],"
			    " 'flows': {'capacity': 1024, 'per_host_max': 10},"
			    " 'units': {'servers': {'cidrs': ['10.7.0.0/16'], 'flows_per_host_max': 0},"
			    "           'lab': {'cidrs': ['10.8.0.0/16'], 'flows_per_host_max': 4},"
			    "           'office': ['10.1.0.0/16']}}",
			    false);
		struct bwg_worker *w = r.w;
		w->conf.workers = workers; /* as the live gate sets it */
		struct frame f;
		static const struct {
			const char *client;
			uint32_t cap; /* for the whole gate */
		} hosts[] = {{"10.1.0.1", 10}, {"10.8.0.1", 4}, {"10.7.0.1", 0}};
		for (int h = 0; h < 3; h++) {
			uint32_t admitted = 0;
			for (int i = 0; i < 40; i++) {
				tcp4(&f, hosts[h].client, (uint16_t)(1000 + i), "203.0.113.1", 443,
				     BWG_TCP_SYN, 1, 0, NULL, 0);
				admitted += run1(w, &f, T0 + (uint64_t)i) == BWG_VERDICT_FORWARD;
			}
			uint32_t share = (hosts[h].cap + workers - 1) / workers;
			assert_int_equal(admitted, hosts[h].cap ? share : 40);
		}
		const struct bwg_stats *s = &w->stats;
		uint32_t shares = (10 + workers - 1) / workers + (4 + workers - 1) / workers;
		assert_int_equal(s->drops[BWG_DROP_HOST_FLOW_LIMIT], 80 - shares);
		/* A flow that ends gives its place back. */
		assert_int_equal(bwg_worker_housekeeping(w, T0 + 100 * SEC), w->flows.active);
		tcp4(&f, "10.1.0.1", 5000, "203.0.113.1", 443, BWG_TCP_SYN, 1, 0, NULL, 0);
		assert_int_equal(run1(w, &f, T0 + 101 * SEC), BWG_VERDICT_FORWARD);
		assert_int_equal(w->host_flows.used, 1);
		assert_conservation(w);
		free_worker(&r);
		assert_true(1);
	}
}

/* Resets for one flow at most once per packets.reset_interval, and reset_rate a second
 * in all: a flood of a blocked flow's packets is not reflected one for one. */
static void
test_reset_throttle(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r,
		    "{'default_action': 'allow', 'flows': {'capacity': 1024},"
		    " 'packets': {'reset_interval': 1, 'reset_rate': 100},"
		    " 'units': {'guests': ['10.9.0.0/16']}, 'classes': {},"
		    " 'rules': [{'name': 'no-guests', 'units': ['guests'], 'action': 'block',"
		    "            'reset': true}]}",
		    false);
	struct bwg_worker *w = r.w;
	struct frame f;
	/* 1000 packets of one flow in 2 s: a pair at 0 s and one at >= 1 s. */
	uint32_t resets = 0;
	for (int i = 0; i < 1000; i++) {
		tcp4(&f, "10.9.1.1", 40000, "203.0.113.1", 443, BWG_TCP_ACK, (uint32_t)i, 1, NULL,
		     0);
		resets += (run1(w, &f, T0 + (uint64_t)i * 2 * MSEC) & BWG_VERDICT_RESET) != 0;
	}
	assert_int_equal(resets, 2);
	/* 1000 flows in 100 ms: the bucket (a quarter second of 100/s) lets 25 + 10 go. */
	resets = 0;
	for (int i = 0; i < 1000; i++) {
		char src[32];
		snprintf(src, sizeof(src), "10.9.%d.%d", 2 + i / 250, i % 250 + 1);
		tcp4(&f, src, 40000, "203.0.113.1", 443, BWG_TCP_SYN, 1, 0, NULL, 0);
		resets += (run1(w, &f, T0 + 10 * SEC + (uint64_t)i * 100000) &
			   BWG_VERDICT_RESET) != 0;
	}
	assert_in_range(resets, 25, 36);
	printf("reset pairs asked for: %llu, throttled: %llu (2000 blocked TCP packets)\n",
	       (unsigned long long)w->stats.cnt[BWG_CNT_RESETS],
	       (unsigned long long)w->stats.cnt[BWG_CNT_RESETS_THROTTLED]);
	assert_int_equal(w->stats.cnt[BWG_CNT_RESETS] + w->stats.cnt[BWG_CNT_RESETS_THROTTLED],
			 2000);
	/* A RST itself is never answered. */
	tcp4(&f, "10.9.200.1", 1, "203.0.113.1", 443, BWG_TCP_RST, 1, 0, NULL, 0);
	assert_int_equal(run1(w, &f, T0 + 20 * SEC), BWG_DROP_POLICY_BLOCK);
	assert_conservation(w);
	free_worker(&r);
}

/* IPv4 fragment `k` of `n` (8-byte units of `unit`) of datagram `id`, UDP 7000->7001. */
static void
frag4(struct frame *f, const char *src, const char *dst, uint16_t id, int k, int n,
      uint32_t unit)
{
	udp4(f, src, 7000, dst, 7001, k == 0 ? unit - 8 : unit);
	be16(f->b + 14 + 4, id);
	be16(f->b + 14 + 6, (uint16_t)((k < n - 1 ? 0x2000 : 0) | (k * unit / 8)));
}

/* Fragments in any order get their flow's verdict: limited alike, blocked alike. */
static void
test_fragments_reverse_order(void **state)
{
	(void)state;
	uint64_t passed[2][2] = {{0}}; /* [blocked][reverse] bytes forwarded */
	for (int blocked = 0; blocked < 2; blocked++)
		for (int rev = 0; rev < 2; rev++) {
			struct rig r;
			make_worker(&r,
				    blocked ? "{'default_action': 'allow', 'classes': {},"
					      " 'flows': {'capacity': 1024},"
					      " 'units': {'lab': ['10.1.0.0/16']},"
					      " 'rules': [{'name': 'b', 'units': ['lab'],"
					      "            'action': 'block'}]}"
					    : "{'default_action': 'allow', 'classes': {},"
					      " 'flows': {'capacity': 1024},"
					      " 'units': {'lab': ['10.1.0.0/16']},"
					      " 'rules': [{'name': 'l', 'units': ['lab'],"
					      "            'action': 'limit', 'limit': {'rate': '1Mbit',"
					      "            'burst': '16KB', 'scope': 'per_host'}}]}",
				    false);
			/* 400 datagrams of 8 fragments (1400 bytes each) in 4 s: 9 Mbit/s. */
			struct frame f;
			for (int d = 0; d < 400; d++)
				for (int k = 0; k < 8; k++) {
					int kk = rev ? 7 - k : k;
					frag4(&f, "10.1.0.5", "203.0.113.5", (uint16_t)(100 + d), kk,
					      8, 1400);
					uint64_t ts = T0 + (uint64_t)d * 10 * MSEC + (uint64_t)k;
					if (run1(r.w, &f, ts) == BWG_VERDICT_FORWARD)
						passed[blocked][rev] += f.n;
				}
			assert_conservation(r.w);
			free_worker(&r);
		}
	printf("limited flow: %llu bytes forwarded in order, %llu in reverse order; "
	       "blocked flow: %llu, %llu\n",
	       (unsigned long long)passed[0][0], (unsigned long long)passed[0][1],
	       (unsigned long long)passed[1][0], (unsigned long long)passed[1][1]);
	assert_true(passed[0][1] <= passed[0][0] * 11 / 10);
	assert_true(passed[0][1] >= passed[0][0] * 9 / 10);
	assert_int_equal(passed[1][0], 0);
	assert_int_equal(passed[1][1], 0);
}

/*
 * Per-app flow counts add up to the flows created, also for flows that found the
 * detection pool empty (counted under nDPI's Unknown).
 */
static void
test_flow_counts_add_up(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r, "{'default_action': 'allow', 'classes': {}, 'rules': [],"
			" 'flows': {'capacity': 1024}}",
		    false);
	static uint8_t v[300];
	open_flows_answered(r.w, 300, v, true);
	assert_int_equal(bwg_worker_flush(r.w, UINT32_MAX), 0);
	const struct bwg_stats *s = &r.w->stats;
	uint64_t classes = 0, units = 0, apps = 0, app_pkts = 0;
	for (int i = 0; i < BWG_CLASS_SLOTS; i++)
		classes += s->classes[i].flows;
	for (int i = 0; i < BWG_UNIT_SLOTS; i++)
		units += s->units[i].flows;
	for (uint32_t i = 0; i < s->app_count; i++) {
		apps += s->apps[i].flows;
		app_pkts += s->apps[i].packets;
	}
	assert_int_equal(s->cnt[BWG_CNT_DPI_POOL_EXHAUSTED], 300 - 256);
	free_worker(&r);
	assert_int_equal(classes, 300);
	assert_int_equal(units, 300);
	assert_int_equal(app_pkts, 600);
	assert_int_equal(apps, 300);
}

/* ---- flow ends ------------------------------------------------------------------------------------ */

static void
test_flush_exports_flows(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r,
		    "{'default_action': 'allow', 'flows': {'capacity': 1024}, 'classes': {},"
		    " 'units': {'lan': ['10.1.0.0/16']}, 'rules': []}",
		    true);
	struct bwg_worker *w = r.w;
	struct frame f;
	udp4(&f, "10.1.0.1", 5000, "198.51.100.1", 9999, 100);
	run1(w, &f, T0);
	udp4(&f, "198.51.100.1", 9999, "10.1.0.1", 5000, 200);
	run1(w, &f, T0 + 2 * SEC);
	tcp4(&f, "10.1.0.2", 40000, "198.51.100.2", 443, BWG_TCP_SYN, 1, 0, NULL, 0);
	run1(w, &f, T0 + 3 * SEC);
	uint32_t o = eth_ip4(&f, 1, "10.1.0.3", "198.51.100.3", 16);
	f.b[o] = 8; /* echo request */
	run1(w, &f, T0 + 4 * SEC);
	assert_int_equal(w->flows.active, 3);
	assert_int_equal(event_count(w), 0);

	assert_int_equal(bwg_worker_flush(w, UINT32_MAX), 0);
	assert_int_equal(w->flows.active, 0);
	assert_int_equal(w->stats.flows_active, 0);
	assert_int_equal(w->stats.cnt[BWG_CNT_FLOWS_EXPIRED], 3);
	assert_int_equal(event_count(w), 3);
	int seen = 0;
	const struct bwg_event *e;
	while ((e = bwg_event_ring_peek(&w->events))) {
		assert_int_equal(e->type, BWG_EVENT_FLOW);
		const struct bwg_flow_view *v = &e->flow;
		char a[64];
		bwg_log_format_ip(4, v->addr[0], a, sizeof(a));
		assert_string_equal(v->rule, "default");
		assert_string_equal(v->unit, "lan");
		assert_int_equal(v->action, BWG_ACTION_ALLOW);
		if (v->proto == 17) {
			seen |= 1;
			assert_string_equal(a, "10.1.0.1");
			assert_int_equal(v->port[0], 5000);
			assert_int_equal(v->port[1], 9999);
			assert_int_equal(v->pkts[0], 1);
			assert_int_equal(v->pkts[1], 1);
			assert_int_equal(v->bytes[0], 14 + 20 + 8 + 100);
			assert_int_equal(v->bytes[1], 14 + 20 + 8 + 200);
			assert_int_equal(v->first_ts, T0);
			assert_int_equal(v->last_ts, T0 + 2 * SEC);
			assert_string_equal(v->app, "Unknown");
			assert_string_equal(v->cls, "unknown");
		} else if (v->proto == 6) {
			seen |= 2;
			assert_string_equal(a, "10.1.0.2");
			assert_int_equal(v->port[1], 443);
			assert_int_equal(v->pkts[0], 1);
		} else {
			seen |= 4;
			assert_int_equal(v->proto, 1);
			assert_string_equal(a, "10.1.0.3");
			assert_int_equal(v->port[0], 0);
			assert_int_equal(v->port[1], 0);
		}
		bwg_event_ring_pop(&w->events);
	}
	assert_int_equal(seen, 7);
	/* Every detection state went back to the pool. */
	assert_int_equal(bwg_dpi_slots_free(w->dpi), 256);
	assert_int_equal(bwg_worker_flush(w, UINT32_MAX), 0);
	assert_int_equal(event_count(w), 0);
	free_worker(&r);
}

static void
test_flush_budget(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r, "{'default_action': 'allow', 'flows': {'capacity': 1024}, 'classes': {},"
			" 'rules': []}",
		    true);
	static uint8_t v[100];
	open_flows(r.w, 100, v);
	assert_int_equal(bwg_worker_flush(r.w, 30), 70);
	assert_int_equal(event_count(r.w), 30);
	assert_int_equal(bwg_worker_flush(r.w, 30), 40);
	assert_int_equal(bwg_worker_flush(r.w, 1000), 0);
	assert_int_equal(event_count(r.w), 100);
	assert_int_equal(r.w->stats.cnt[BWG_CNT_FLOWS_EXPIRED], 100);
	free_worker(&r);
}

static void
test_housekeeping_ages_idle_flows(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r,
		    "{'default_action': 'allow', 'classes': {}, 'rules': [],"
		    " 'flows': {'capacity': 1024, 'timeouts': {'tcp': 300, 'tcp_closed': 10,"
		    "           'udp': 60, 'other': 30}}}",
		    false);
	struct bwg_worker *w = r.w;
	struct frame f;
	/* An answered UDP flow and an established TCP flow (picked up mid-connection). */
	udp4(&f, "10.1.0.1", 5000, "198.51.100.1", 53, 30);
	run1(w, &f, T0);
	udp4(&f, "198.51.100.1", 53, "10.1.0.1", 5000, 30);
	run1(w, &f, T0);
	tcp4(&f, "10.1.0.2", 40000, "198.51.100.2", 443, BWG_TCP_ACK, 1, 1, NULL, 0);
	run1(w, &f, T0);
	tcp4(&f, "198.51.100.2", 443, "10.1.0.2", 40000, BWG_TCP_ACK, 1, 2, NULL, 0);
	run1(w, &f, T0);
	tcp4(&f, "10.1.0.2", 40000, "198.51.100.2", 443, BWG_TCP_ACK, 2, 2, NULL, 0);
	run1(w, &f, T0);
	/* A TCP flow closed both ways. */
	tcp4(&f, "10.1.0.3", 40001, "198.51.100.2", 443, BWG_TCP_FIN | BWG_TCP_ACK, 1, 1, NULL,
	     0);
	run1(w, &f, T0);
	tcp4(&f, "198.51.100.2", 443, "10.1.0.3", 40001, BWG_TCP_FIN | BWG_TCP_ACK, 1, 2, NULL,
	     0);
	run1(w, &f, T0);
	assert_int_equal(w->flows.active, 3);

	assert_int_equal(bwg_worker_housekeeping(w, T0 + 5 * SEC), 0);
	assert_int_equal(bwg_worker_housekeeping(w, T0 + 11 * SEC), 1); /* the closed one */
	assert_int_equal(w->flows.active, 2);
	assert_int_equal(bwg_worker_housekeeping(w, T0 + 60 * SEC), 0);
	assert_int_equal(bwg_worker_housekeeping(w, T0 + 61 * SEC), 1); /* the UDP one */
	assert_int_equal(w->stats.flows_active, 1);
	assert_int_equal(w->stats.cnt[BWG_CNT_FLOWS_EXPIRED], 2);
	/* The UDP flow is gone: its next packet starts a new flow. */
	udp4(&f, "10.1.0.1", 5000, "198.51.100.1", 53, 30);
	run1(w, &f, T0 + 62 * SEC);
	assert_int_equal(w->stats.cnt[BWG_CNT_FLOWS_CREATED], 4);
	/* A clock that steps back ages nothing early. */
	assert_int_equal(bwg_worker_housekeeping(w, T0), 0);
	/* At 300 s the TCP flow has been idle exactly its timeout: only the new UDP flow
	 * (idle 238 s) goes; a second later the TCP flow follows. */
	assert_int_equal(bwg_worker_housekeeping(w, T0 + 300 * SEC), 1);
	assert_int_equal(bwg_worker_housekeeping(w, T0 + 301 * SEC), 1);
	assert_int_equal(w->flows.active, 0);
	assert_int_equal(w->stats.cnt[BWG_CNT_FLOWS_EXPIRED], 4);
	assert_int_equal(event_count(w), 0); /* nothing logged, nothing exported */
	assert_int_equal(bwg_dpi_slots_free(w->dpi), 256);
	free_worker(&r);
}

/* ---- host behaviour ------------------------------------------------------------------------ */

static const char behaviour_config[] =
	"{'default_action': 'allow', 'flows': {'capacity': 1024, 'timeouts': {'udp': 3600}},"
	" 'units': {'office': ['10.1.0.0/16']},"
	" 'classes': {'p2p': {'apps': ['BitTorrent'], 'detectors': ['p2p_behaviour']}},"
	" 'rules': [{'name': 'no-p2p', 'classes': ['p2p'], 'action': 'block'}]}";

#define PEER_HOST "10.1.0.9"
#define PEER_PORT 38000

/* The live flow of the inside peer with remote port `rport`. */
static const struct bwg_flow *
peer_flow(const struct bwg_worker *w, uint16_t rport)
{
	for (uint32_t i = 0; i < w->flows.high_water; i++) {
		const struct bwg_flow *f = &w->flows.flows[i];
		if (f->state != BWG_FLOW_FREE && f->port[0] == PEER_PORT && f->port[1] == rport)
			return f;
	}
	fail_msg("no flow to port %u", rport);
	return NULL;
}

/* One datagram each way between the inside peer's socket and peer n; the answer's verdict. */
static uint8_t
exchange(struct bwg_worker *w, unsigned n, uint64_t ts)
{
	char addr[32];
	struct frame f;
	snprintf(addr, sizeof(addr), "198.51.100.%u", n);
	udp4(&f, PEER_HOST, PEER_PORT, addr, (uint16_t)(30000 + n), 60);
	assert_int_equal(run1(w, &f, ts), BWG_VERDICT_FORWARD); /* judged once answered */
	udp4(&f, addr, (uint16_t)(30000 + n), PEER_HOST, PEER_PORT, 90);
	return run1(w, &f, ts + MSEC);
}

/*
 * An inside host whose UDP socket talks to many peers is tagged by the flow that tips it
 * over; from then on its unnamed flows are blocked: new ones as they are judged, the ones
 * judged before at the next aging sweep. When the tag ends they pass again.
 */
static void
test_behaviour_tags_host(void **state)
{
	(void)state;
	const struct bwg_behaviour_conf bc = {.hosts = 64, .window = 300, .tag_for = 600,
					      .port_peers = 4};
	struct bwg_behaviour *b;
	char err[256];
	assert_int_equal(bwg_behaviour_create(&b, &bc, err, sizeof(err)), 0);
	struct rig r;
	make_worker_with(&r, behaviour_config, false, b);
	struct bwg_worker *w = r.w;

	/* Peer 1: a long exchange nDPI gives up on (after 24 packets): unknown, allowed. */
	for (int i = 0; i < 13; i++)
		assert_int_equal(exchange(w, 1, T0 + (uint64_t)i * MSEC * 10), BWG_VERDICT_FORWARD);
	const struct bwg_flow *first = peer_flow(w, 30001);
	assert_int_equal(first->state, BWG_FLOW_CLASSIFIED);
	assert_int_equal(first->cls, BWG_CLASS_UNKNOWN);
	/* Peers 2 and 3: judged, not enough. Peer 4 tips the host over: its answer is the
	 * first packet dropped. */
	assert_int_equal(exchange(w, 2, T0 + 1 * SEC), BWG_VERDICT_FORWARD);
	assert_int_equal(exchange(w, 3, T0 + 2 * SEC), BWG_VERDICT_FORWARD);
	assert_int_equal(w->stats.behaviour.tagged, 0);
	assert_int_equal(exchange(w, 4, T0 + 3 * SEC), BWG_DROP_POLICY_BLOCK);
	assert_int_equal(w->stats.behaviour.tagged, 1);
	assert_int_equal(w->stats.behaviour.flows, 4);
	assert_int_equal(peer_flow(w, 30004)->cls_src, BWG_SRC_BEHAVIOUR);
	/* Peer 5, after the tag: dropped as soon as it is judged. */
	assert_int_equal(exchange(w, 5, T0 + 4 * SEC), BWG_DROP_POLICY_BLOCK);
	/* Peer 1's flow was decided before the tag: it passes until the aging sweep. */
	struct frame f;
	udp4(&f, PEER_HOST, PEER_PORT, "198.51.100.1", 30001, 60);
	assert_int_equal(run1(w, &f, T0 + 5 * SEC), BWG_VERDICT_FORWARD);
	bwg_worker_housekeeping(w, T0 + 5 * SEC);
	assert_int_equal(first->cls_src, BWG_SRC_BEHAVIOUR);
	assert_int_equal(run1(w, &f, T0 + 6 * SEC), BWG_DROP_POLICY_BLOCK);
	/* Another inside host is not tagged. */
	udp4(&f, "10.1.0.10", PEER_PORT, "198.51.100.1", 30001, 60);
	assert_int_equal(run1(w, &f, T0 + 6 * SEC), BWG_VERDICT_FORWARD);
	/* The tag ends 600 s after the evidence that set (or renewed) it: flows pass again
	 * from the sweep after. */
	udp4(&f, PEER_HOST, PEER_PORT, "198.51.100.1", 30001, 60);
	assert_int_equal(run1(w, &f, T0 + 603 * SEC), BWG_DROP_POLICY_BLOCK);
	bwg_worker_housekeeping(w, T0 + 605 * SEC);
	assert_int_equal(first->cls_src, BWG_SRC_DEFAULT);
	assert_int_equal(run1(w, &f, T0 + 605 * SEC), BWG_VERDICT_FORWARD);
	assert_conservation(w);
	free_worker(&r);
	bwg_behaviour_destroy(b);
}

/* ---- policy and schedule changes --------------------------------------------------------------- */

/* Compile another policy against the worker's own nDPI names. */
static struct bwg_policy *
other_policy(struct bwg_worker *w, const char *sq, uint32_t version)
{
	char *text = strdup(sq), err[512] = "";
	for (char *c = text; *c; c++)
		if (*c == '\'')
			*c = '"';
	struct bwg_config *conf = NULL;
	if (bwg_config_parse(&conf, text, strlen(text), "test2.json", "/tmp", err, sizeof(err)))
		fail_msg("config: %s", err);
	free(text);
	struct bwg_policy *p = NULL;
	if (bwg_policy_compile(&p, conf, w->dpi, version, err, sizeof(err)))
		fail_msg("policy: %s", err);
	return p;
}

static void
test_schedule_boundary(void **state)
{
	(void)state;
	/* Guests are blocked during working hours; at 17:30 a running flow is released. */
	struct rig r;
	make_worker(&r,
		    "{'timezone': 'Asia/Shanghai', 'default_action': 'allow',"
		    " 'flows': {'capacity': 1024}, 'units': {'guests': ['10.9.0.0/16']},"
		    " 'classes': {}, 'schedules': {'workhours': [{'days': ['mon', 'tue', 'wed',"
		    "   'thu', 'fri'], 'from': '08:30', 'to': '17:30'}]},"
		    " 'rules': [{'name': 'guests-at-work', 'units': ['guests'],"
		    "            'schedule': 'workhours', 'action': 'block'}]}",
		    false);
	struct frame f;
	udp4(&f, "10.9.1.1", 5000, "203.0.113.1", 33333, 100);
	const uint64_t t1729 = T0 + (7 * 3600 + 29 * 60) * SEC; /* Wed 17:29 local */
	assert_int_equal(run1(r.w, &f, T0), BWG_DROP_POLICY_BLOCK);
	assert_int_equal(run1(r.w, &f, t1729 + 59 * SEC), BWG_DROP_POLICY_BLOCK);
	assert_int_equal(run1(r.w, &f, t1729 + 60 * SEC), BWG_VERDICT_FORWARD);
	assert_int_equal(run1(r.w, &f, t1729 + 61 * SEC), BWG_VERDICT_FORWARD);
	assert_true(r.w->stats.cnt[BWG_CNT_POLICY_UPDATES] >= 1);
	/* Thursday 08:30 local: blocked again. */
	const uint64_t thu0830 = T0 + (22 * 3600 + 30 * 60) * SEC;
	assert_int_equal(run1(r.w, &f, thu0830 - SEC), BWG_VERDICT_FORWARD);
	assert_int_equal(run1(r.w, &f, thu0830), BWG_DROP_POLICY_BLOCK);
	/* One block event for the flow, however often it is blocked. */
	assert_int_equal(event_count(r.w), 1);
	assert_conservation(r.w);
	free_worker(&r);
}

static void
test_policy_swap_changes_action(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r,
		    "{'default_action': 'allow', 'flows': {'capacity': 1024},"
		    " 'units': {'guests': ['10.9.0.0/16']}, 'classes': {}, 'rules': []}",
		    false);
	struct frame f;
	udp4(&f, "10.9.1.1", 5000, "203.0.113.1", 33333, 100);
	assert_int_equal(run1(r.w, &f, T0), BWG_VERDICT_FORWARD);
	struct bwg_policy *p2 = other_policy(r.w,
					     "{'default_action': 'allow', 'flows': {'capacity': 1024},"
					     " 'units': {'guests': ['10.9.0.0/16']}, 'classes': {},"
					     " 'rules': [{'name': 'no-guests', 'units': ['guests'],"
					     "            'action': 'block'}]}",
					     2);
	uint64_t updates = r.w->stats.cnt[BWG_CNT_POLICY_UPDATES];
	bwg_worker_set_policy(r.w, p2);
	assert_int_equal(run1(r.w, &f, T0 + SEC), BWG_DROP_POLICY_BLOCK);
	assert_int_equal(r.w->stats.cnt[BWG_CNT_POLICY_UPDATES], updates + 1);
	struct bwg_flow_view v;
	struct bwg_pkt p;
	int dir;
	assert_int_equal(bwg_pkt_parse(&p, f.b, f.n, f.n, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	bwg_worker_flow_view(r.w, bwg_flow_lookup(&r.w->flows, &p, bwg_flow_hash(&p), &dir), &v);
	assert_string_equal(v.rule, "no-guests");
	assert_string_equal(v.unit, "guests");
	assert_conservation(r.w);
	assert_int_equal(bwg_worker_flush(r.w, UINT32_MAX), 0);
	free_worker(&r);
	bwg_policy_free(p2);
}

/*
 * After a policy change a running flow's unit is looked up again: unit ids are
 * positions in the config. Guests are unit 1 in the old policy and unit 2 in the new
 * one; the guest's flow stays blocked after the swap.
 */
static void
test_policy_swap_recomputes_unit(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r,
		    "{'default_action': 'allow', 'flows': {'capacity': 1024},"
		    " 'units': {'guests': ['10.9.0.0/16']}, 'classes': {},"
		    " 'rules': [{'name': 'no-guests', 'units': ['guests'], 'action': 'block'}]}",
		    false);
	struct frame f;
	udp4(&f, "10.9.1.1", 5000, "203.0.113.1", 33333, 100);
	assert_int_equal(run1(r.w, &f, T0), BWG_DROP_POLICY_BLOCK);
	struct bwg_policy *p2 = other_policy(
		r.w,
		"{'default_action': 'allow', 'flows': {'capacity': 1024},"
		" 'units': {'staff': ['10.8.0.0/16'], 'guests': ['10.9.0.0/16']}, 'classes': {},"
		" 'rules': [{'name': 'no-guests', 'units': ['guests'], 'action': 'block'}]}",
		2);
	bwg_worker_set_policy(r.w, p2);
	uint8_t v = run1(r.w, &f, T0 + SEC);
	struct bwg_flow_view view;
	struct bwg_pkt p;
	int dir;
	assert_int_equal(bwg_pkt_parse(&p, f.b, f.n, f.n, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	bwg_worker_flow_view(r.w, bwg_flow_lookup(&r.w->flows, &p, bwg_flow_hash(&p), &dir),
			     &view);
	char unit[BWG_NAME_MAX];
	snprintf(unit, sizeof(unit), "%s", view.unit);
	assert_int_equal(bwg_worker_flush(r.w, UINT32_MAX), 0);
	free_worker(&r);
	bwg_policy_free(p2);
	assert_string_equal(unit, "guests");
	assert_int_equal(v, BWG_DROP_POLICY_BLOCK);
}

/*
 * The same for the class: p2p is class 1 in the old policy and class 2 in the new one;
 * the BitTorrent flow stays blocked by "no-p2p".
 */
static void
test_policy_swap_recomputes_class(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r, p2p_config, false);
	static struct frame f[32];
	int dirs[32];
	int n = bt_flow(f, dirs, 2);
	for (int i = 0; i < n; i++)
		run1(r.w, &f[i], T0 + (uint64_t)i * MSEC);
	assert_int_equal(run1(r.w, &f[n - 1], T0 + SEC), BWG_DROP_POLICY_BLOCK);
	struct bwg_policy *p2 = other_policy(
		r.w,
		"{'default_action': 'allow', 'flows': {'capacity': 1024},"
		" 'classes': {'video': {'categories': ['Video']}, 'p2p': {'apps': ['BitTorrent']}},"
		" 'rules': [{'name': 'no-p2p', 'classes': ['p2p'], 'action': 'block'}]}",
		2);
	bwg_worker_set_policy(r.w, p2);
	uint8_t v = run1(r.w, &f[n - 1], T0 + 2 * SEC);
	struct bwg_flow_view view;
	struct bwg_pkt p;
	int dir;
	assert_int_equal(bwg_pkt_parse(&p, f[0].b, f[0].n, f[0].n, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	bwg_worker_flow_view(r.w, bwg_flow_lookup(&r.w->flows, &p, bwg_flow_hash(&p), &dir),
			     &view);
	char cls[BWG_NAME_MAX];
	snprintf(cls, sizeof(cls), "%s", view.cls);
	assert_int_equal(bwg_worker_flush(r.w, UINT32_MAX), 0);
	free_worker(&r);
	bwg_policy_free(p2);
	assert_string_equal(cls, "p2p");
	assert_int_equal(v, BWG_DROP_POLICY_BLOCK);
}

/* ---- counters folded in from flows ---------------------------------------------------------- */

/* Packets over every class, unit and app counter of s: [0] classes, [1] units, [2] apps. */
static void
obj_packets(const struct bwg_stats *s, uint64_t out[3])
{
	out[0] = out[1] = out[2] = 0;
	for (int i = 0; i < BWG_CLASS_SLOTS; i++)
		out[0] += s->classes[i].packets;
	for (int i = 0; i < BWG_UNIT_SLOTS; i++)
		out[1] += s->units[i].packets;
	for (uint32_t i = 0; i < s->app_count; i++)
		out[2] += s->apps[i].packets;
}

/*
 * A publication holds the counters as they stood when it began, exactly, however the
 * flows move while it is folded in small steps: counted again (their old counts go in
 * first), ended by aging, new ones created. Every frame here is a flow's, so classes,
 * units and apps each add up to rx_packets.
 */
static void
test_publish_exact(void **state)
{
	(void)state;
	struct rig r;
	make_worker(&r,
		    "{'default_action': 'allow',"
		    " 'flows': {'capacity': 1024, 'timeouts': {'udp_unreplied': 10}},"
		    " 'units': {'a': ['10.1.0.0/16'], 'b': ['10.2.0.0/16']},"
		    " 'classes': {'near': {'addresses': ['198.51.100.0/25']}}, 'rules': []}",
		    false);
	struct bwg_worker *w = r.w;
	struct bwg_stats pub;
	assert_int_equal(bwg_stats_init(&pub, w->stats.app_count), 0);
	struct frame f;
	char src[32], dst[32];
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 200; i++) {
			snprintf(src, sizeof(src), "10.%d.0.%d", 1 + i % 2, i / 2);
			snprintf(dst, sizeof(dst), "198.51.100.%d", i);
			udp4(&f, src, (uint16_t)(1000 + i), dst, 4433, 20 + (uint32_t)i % 7);
			run1(w, &f, T0 + (uint64_t)k * MSEC);
		}
	const uint64_t rx = w->stats.cnt[BWG_CNT_RX_PACKETS], rx_bytes = w->stats.cnt[BWG_CNT_RX_BYTES];
	assert_int_equal(rx, 600);
	const uint16_t near = 1, unit_a = 1, unit_b = 2;
	assert_string_equal(r.p->class_names[near], "near");

	/* Begin, then move the flows between steps of 7 records. */
	assert_false(bwg_worker_publish_step(w, &pub, 7));
	int steps = 1;
	for (int i = 0; i < 250; i++) {
		snprintf(src, sizeof(src), "10.%d.0.%d", 1 + i % 2, i / 2);
		snprintf(dst, sizeof(dst), "198.51.100.%d", i);
		udp4(&f, src, (uint16_t)(1000 + i), dst, 4433, 20);
		run1(w, &f, T0 + 5 * SEC);
		if (i % 10 == 0 && !bwg_worker_publish_step(w, &pub, 7))
			steps++;
		if (i == 120) /* the first 200 flows were never answered: they end */
			assert_true(bwg_worker_housekeeping(w, T0 + 12 * SEC) > 0);
	}
	while (!bwg_worker_publish_step(w, &pub, 7))
		steps++;
	assert_true(steps > 5);

	uint64_t sums[3];
	obj_packets(&pub, sums);
	assert_int_equal(pub.cnt[BWG_CNT_RX_PACKETS], rx);
	assert_int_equal(sums[0], rx);
	assert_int_equal(sums[1], rx);
	assert_int_equal(sums[2], rx);
	uint64_t bytes = 0;
	for (int i = 0; i < BWG_CLASS_SLOTS; i++)
		bytes += pub.classes[i].bytes;
	assert_int_equal(bytes, rx_bytes);
	/* Flows to .0-.127 are "near", the others unknown; units alternate. */
	assert_int_equal(pub.classes[near].packets, 3 * 128);
	assert_int_equal(pub.classes[BWG_CLASS_UNKNOWN].packets, 3 * 72);
	assert_int_equal(pub.units[unit_a].packets, 300);
	assert_int_equal(pub.units[unit_b].packets, 300);

	/* The worker's own counters, settled, add up to everything since. */
	bwg_worker_fold_all(w);
	obj_packets(&w->stats, sums);
	assert_int_equal(w->stats.cnt[BWG_CNT_RX_PACKETS], 850);
	assert_int_equal(sums[0], 850);
	assert_int_equal(sums[1], 850);
	assert_int_equal(sums[2], 850);
	/* And a second publication, at once, equals them. */
	assert_true(bwg_worker_publish_step(w, &pub, UINT32_MAX));
	obj_packets(&pub, sums);
	assert_int_equal(sums[0], 850);
	assert_int_equal(pub.units[unit_a].packets + pub.units[unit_b].packets, 850);
	bwg_stats_fini(&pub);
	free_worker(&r);
}

/* ---- the NIC's hash -------------------------------------------------------------------------- */

/*
 * Frames that carry the NIC's symmetric hash make the same flows, verdicts and counts
 * as frames without: here the hash is the worst a NIC could give (source ^ destination
 * folded to 8 bits, so hundreds of flows share each value) and every fifth frame comes
 * without one.
 */
static void
test_nic_hash_same_flows(void **state)
{
	(void)state;
	static const char cfg[] = "{'default_action': 'allow', 'flows': {'capacity': 1024},"
				  " 'dpi': {'max_in_progress': 1024},"
				  " 'classes': {'far': {'addresses': ['203.0.113.0/25']}},"
				  " 'rules': [{'name': 'b', 'classes': ['far'], 'action': 'block'}]}";
	struct rig plain, nic;
	make_worker(&plain, cfg, false);
	make_worker(&nic, cfg, false);
	assert_int_equal(bwg_flow_table_nic_init(&nic.w->flows), 0);
	struct frame f;
	char src[32], dst[32];
	int k = 0, indexed = 0;
	for (int round = 0; round < 5; round++)
		for (int i = 0; i < 300; i++) {
			int back = round == 1 || round == 3;
			snprintf(src, sizeof(src), "10.3.%d.%d", i / 200, i % 200 + 1);
			snprintf(dst, sizeof(dst), "203.0.113.%d", i % 250);
			uint16_t sp = (uint16_t)(30000 + i), dp = 4433;
			if (back)
				udp4(&f, dst, dp, src, sp, 12);
			else
				udp4(&f, src, sp, dst, dp, 12);
			uint32_t a, b;
			memcpy(&a, f.b + 26, 4);
			memcpy(&b, f.b + 30, 4);
			struct bwg_frame fr = {.data = f.b, .caplen = f.n, .wire_len = f.n,
					       .ts_ns = T0 + (uint64_t)k * MSEC};
			uint8_t v1, v2;
			bwg_worker_burst(plain.w, &fr, 1, &v1);
			fr.nic_hash = (a ^ b ^ (uint32_t)(sp ^ dp)) & 0xff;
			fr.nic_hashed = k++ % 5 != 0;
			bwg_worker_burst(nic.w, &fr, 1, &v2);
			assert_int_equal(v1, v2);
		}
	assert_int_equal(plain.w->stats.cnt[BWG_CNT_FLOWS_CREATED], 300);
	assert_int_equal(nic.w->stats.cnt[BWG_CNT_FLOWS_CREATED], 300);
	for (int i = 0; i < 300; i++) {
		struct bwg_pkt p;
		snprintf(src, sizeof(src), "10.3.%d.%d", i / 200, i % 200 + 1);
		snprintf(dst, sizeof(dst), "203.0.113.%d", i % 250);
		udp4(&f, src, (uint16_t)(30000 + i), dst, 4433, 12);
		assert_int_equal(bwg_pkt_parse(&p, f.b, f.n, f.n, BWG_LINK_ETHER, 0), BWG_PKT_OK);
		int d1, d2;
		struct bwg_flow *x = bwg_flow_lookup(&plain.w->flows, &p, bwg_flow_hash(&p), &d1);
		struct bwg_flow *y = bwg_flow_lookup(&nic.w->flows, &p, bwg_flow_hash(&p), &d2);
		assert_non_null(x);
		assert_non_null(y);
		assert_int_equal(x->pkts[0], 3);
		assert_int_equal(y->pkts[0], 3);
		assert_int_equal(y->pkts[1], 2);
		assert_int_equal(x->dropped_pkts, y->dropped_pkts);
		indexed += bwg_flow_nic_indexed(&nic.w->flows, y);
	}
	/* 256 hash values, BWG_FLOW_NIC_PROBES slots from each home at most. */
	assert_true(indexed > 50 && indexed < 300);
	assert_int_equal(plain.w->stats.drops[BWG_DROP_POLICY_BLOCK],
			 nic.w->stats.drops[BWG_DROP_POLICY_BLOCK]);
	assert_conservation(nic.w);
	free_worker(&plain);
	free_worker(&nic);
}

/* Bytes the C library has handed out and not had back. */
static size_t
heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

/* A TLS record header announcing more than the segment holds: nDPI buffers it. */
static void
partial_tls(struct bwg_worker *w)
{
	static const uint8_t rec[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03,
				      0x03, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
	struct frame f;
	tcp4(&f, "10.1.0.1", 40000, "198.51.100.1", 443, BWG_TCP_SYN, 100, 0, NULL, 0);
	run1(w, &f, T0);
	tcp4(&f, "198.51.100.1", 443, "10.1.0.1", 40000, BWG_TCP_SYN | BWG_TCP_ACK, 900, 101,
	     NULL, 0);
	run1(w, &f, T0 + 1);
	tcp4(&f, "10.1.0.1", 40000, "198.51.100.1", 443, BWG_TCP_ACK, 101, 901, NULL, 0);
	run1(w, &f, T0 + 2);
	tcp4(&f, "10.1.0.1", 40000, "198.51.100.1", 443, BWG_TCP_ACK | 0x08, 101, 901, rec,
	     sizeof(rec));
	run1(w, &f, T0 + 3);
}

/*
 * Destroying a worker whose flows are still under inspection releases what nDPI
 * allocated inside their detection states (here the TLS reassembly buffer).
 * (Under valgrind mallinfo2 reads zero; a leak would show as a leak report.)
 */
static void
test_destroy_releases_detection_state(void **state)
{
	(void)state;
	static const char cfg[] = "{'default_action': 'allow', 'classes': {}, 'rules': [],"
				  " 'flows': {'capacity': 1024}}";
	struct rig r;
	/* Warm up once (lazy allocations of the libraries), the clean way. */
	make_worker(&r, cfg, false);
	partial_tls(r.w);
	assert_int_equal(bwg_worker_flush(r.w, UINT32_MAX), 0);
	free_worker(&r);

	size_t before = heap_in_use();
	make_worker(&r, cfg, false);
	partial_tls(r.w);
	assert_int_equal(r.w->flows.active, 1);
	assert_int_equal(bwg_dpi_slots_free(r.w->dpi), 255); /* still under inspection */
	bwg_worker_destroy(r.w);
	bwg_policy_free(r.p);
	size_t after = heap_in_use();
	assert_int_equal(after, before);
}

/* ---- names learned from DNS ------------------------------------------------------------- */

/* A DNS response: www.iqiyi.com A addr, TTL 300. Returns its length. */
static uint32_t
dns_answer(uint8_t *out, const char *addr)
{
	static const uint8_t head[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
				       3, 'w', 'w', 'w', 5, 'i', 'q', 'i', 'y', 'i', 3, 'c', 'o', 'm', 0,
				       0, 1, 0, 1,
				       0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4};
	memcpy(out, head, sizeof(head));
	assert_int_equal(inet_pton(AF_INET, addr, out + sizeof(head)), 1);
	return sizeof(head) + 4;
}

static void
udp4_payload(struct frame *f, const char *src, uint16_t sport, const char *dst, uint16_t dport,
	     const uint8_t *payload, uint32_t len)
{
	udp4(f, src, sport, dst, dport, len);
	memcpy(f->b + 34 + 8, payload, len);
}

static void
test_dns_names(void **state)
{
	(void)state;
	static const char cfg[] =
		"{'default_action': 'allow', 'flows': {'capacity': 1024},"
		" 'classes': {'video': {'hosts': ['iqiyi.com']}},"
		" 'rules': [{'name': 'allow-dns', 'apps': ['DNS'], 'action': 'allow'},"
		"           {'name': 'no-video', 'classes': ['video'], 'action': 'block'}]}";
	struct rig r;
	make_worker(&r, cfg, false);
	struct bwg_dnsnames *names;
	struct bwg_dnsnames_conf nc = {.entries = 64, .max_ttl = 3600};
	char err[128];
	assert_int_equal(bwg_dnsnames_create(&names, &nc, err, sizeof(err)), 0);
	r.w->conf.names = names;
	struct frame f;
	uint8_t msg[64];
	uint32_t n;

	/* A query, and its answer: learned. */
	static const uint8_t query[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
					3, 'w', 'w', 'w', 5, 'i', 'q', 'i', 'y', 'i', 3, 'c', 'o', 'm', 0,
					0, 1, 0, 1};
	udp4_payload(&f, CLI, 40000, "192.0.2.53", 53, query, sizeof(query));
	assert_int_equal(run1(r.w, &f, T0), BWG_VERDICT_FORWARD);
	n = dns_answer(msg, "198.51.100.9");
	udp4_payload(&f, "192.0.2.53", 53, CLI, 40000, msg, n);
	assert_int_equal(run1(r.w, &f, T0 + MSEC), BWG_VERDICT_FORWARD);
	assert_int_equal(r.w->stats.dns.responses, 1);
	assert_int_equal(r.w->stats.dns.learned, 1);

	/* An answer nobody asked for (the first packet of its flow): not learned. */
	n = dns_answer(msg, "198.51.100.10");
	udp4_payload(&f, "203.0.113.53", 53, "10.1.0.6", 40001, msg, n);
	assert_int_equal(run1(r.w, &f, T0 + 2 * MSEC), BWG_VERDICT_FORWARD);
	assert_int_equal(r.w->stats.dns.responses, 1);

	/* A nameless flow to the learned address takes the name, and its class. */
	udp4(&f, CLI, 50000, "198.51.100.9", 9999, 40);
	assert_int_equal(run1(r.w, &f, T0 + 3 * MSEC), BWG_DROP_POLICY_BLOCK);
	struct bwg_pkt p;
	int dir;
	assert_int_equal(bwg_pkt_parse(&p, f.b, f.n, f.n, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	struct bwg_flow *fl = bwg_flow_lookup(&r.w->flows, &p, bwg_flow_hash(&p), &dir);
	assert_non_null(fl);
	assert_int_equal(fl->cls_src, BWG_SRC_DNS);
	assert_true(fl->flags & BWG_FLOW_HOST_LEARNED);
	struct bwg_flow_view v;
	bwg_worker_flow_view(r.w, fl, &v);
	assert_string_equal(v.host, "www.iqiyi.com");
	assert_string_equal(v.cls, "video");

	/* The address the unasked answer named stays unnamed. */
	udp4(&f, CLI, 50001, "198.51.100.10", 9999, 40);
	assert_int_equal(run1(r.w, &f, T0 + 4 * MSEC), BWG_VERDICT_FORWARD);

	/* A TCP connection to it shows its own name before a learned one is considered: its
	 * handshake passes, and its HTTP Host names it. */
	uint32_t cs = 1000, ss = 9000;
	static const char req[] = "GET / HTTP/1.1\r\nHost: www.example.org\r\nAccept: */*\r\n\r\n";
	tcp4(&f, CLI, 50003, "198.51.100.9", 80, BWG_TCP_SYN, cs++, 0, NULL, 0);
	assert_int_equal(run1(r.w, &f, T0 + 5 * MSEC), BWG_VERDICT_FORWARD);
	tcp4(&f, "198.51.100.9", 80, CLI, 50003, BWG_TCP_SYN | BWG_TCP_ACK, ss++, cs, NULL, 0);
	assert_int_equal(run1(r.w, &f, T0 + 6 * MSEC), BWG_VERDICT_FORWARD);
	tcp4(&f, CLI, 50003, "198.51.100.9", 80, BWG_TCP_ACK, cs, ss, NULL, 0);
	assert_int_equal(run1(r.w, &f, T0 + 7 * MSEC), BWG_VERDICT_FORWARD);
	tcp4(&f, CLI, 50003, "198.51.100.9", 80, BWG_TCP_ACK | 0x08, cs, ss, req, sizeof(req) - 1);
	assert_int_equal(run1(r.w, &f, T0 + 8 * MSEC), BWG_VERDICT_FORWARD);
	assert_int_equal(bwg_pkt_parse(&p, f.b, f.n, f.n, BWG_LINK_ETHER, 0), BWG_PKT_OK);
	fl = bwg_flow_lookup(&r.w->flows, &p, bwg_flow_hash(&p), &dir);
	assert_non_null(fl);
	bwg_worker_flow_view(r.w, fl, &v);
	assert_string_equal(v.host, "www.example.org");
	assert_int_equal(fl->dropped_pkts, 0);

	/* Past the TTL the name is not used. */
	udp4(&f, CLI, 50002, "198.51.100.9", 9999, 40);
	assert_int_equal(run1(r.w, &f, T0 + 301 * SEC), BWG_VERDICT_FORWARD);
	free_worker(&r);
	bwg_dnsnames_destroy(names);
}

int
main(void)
{
	/* heap_in_use() compares totals: keep glibc from moving its mmap threshold as large
	 * blocks come and go, which shifts a block between the heap and mmap (rounded to
	 * pages) and the total with it. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bittorrent_blocked),
		cmocka_unit_test(test_block_with_reset),
		cmocka_unit_test(test_limit_aggregate),
		cmocka_unit_test(test_limit_per_host),
		cmocka_unit_test(test_limit_across_workers),
		cmocka_unit_test(test_flow_table_full),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_non_ip),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_flow_counts_add_up),
		cmocka_unit_test(test_flush_exports_flows),
		cmocka_unit_test(test_flush_budget),
		cmocka_unit_test(test_housekeeping_ages_idle_flows),
		cmocka_unit_test(test_behaviour_tags_host),
		cmocka_unit_test(test_schedule_boundary),
		cmocka_unit_test(test_policy_swap_changes_action),
		cmocka_unit_test(test_policy_swap_recomputes_unit),
		cmocka_unit_test(test_policy_swap_recomputes_class),
		cmocka_unit_test(test_publish_exact),
		cmocka_unit_test(test_nic_hash_same_flows),
		cmocka_unit_test(test_destroy_releases_detection_state),
		cmocka_unit_test(test_evict_unestablished),
		cmocka_unit_test(test_dpi_reclaim),
		cmocka_unit_test(test_host_flow_cap),
		cmocka_unit_test(test_reset_throttle),
		cmocka_unit_test(test_monitor_counts_what_enforce_drops),
		cmocka_unit_test(test_block_notice),
		cmocka_unit_test(test_quota_table_full),
		cmocka_unit_test(test_quota_outsider_makes_no_entry),
		cmocka_unit_test(test_fragments_reverse_order),
		cmocka_unit_test(test_dns_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
