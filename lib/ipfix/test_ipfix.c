/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX exporter tests against collectors on loopback: what a UDP and a TCP collector
 * receive, decoded back with libfixbuf by the wire numbers doc/api.md gives; and the
 * collectors that fail: a TCP port nobody listens on, a TCP collector that never reads,
 * a UDP port that refuses. Every record is counted sent, lost or pending, and no call
 * waits on a collector.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <fixbuf/public.h>

#include "bwg_ipfix.h"

#define PEN 32473

static char err[BWG_CONFIG_ERR_MAX];

static uint64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* A config whose ipfix section is `ipfix` (JSON). */
static struct bwg_config *
config(const char *ipfix)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "{\"default_action\": \"allow\", \"classes\": {}, \"rules\": [], \"ipfix\": %s}",
		 ipfix);
	struct bwg_config *c;
	if (bwg_config_parse(&c, text, strlen(text), "t.json", ".", err, sizeof(err)) < 0)
		fail_msg("config: %s", err);
	return c;
}

/* A socket bound on 127.0.0.1 (port 0: any); its port in *port. */
static int
bound(int type, uint16_t *port)
{
	int fd = socket(AF_INET, type, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t len = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	*port = ntohs(sa.sin_port);
	return fd;
}

static struct bwg_ipfix *
exporter(const char *scheme, uint16_t port, const char *more)
{
	char ipfix[256];
	snprintf(ipfix, sizeof(ipfix), "{\"collectors\": [\"%s://127.0.0.1:%u\"]%s}", scheme, port,
		 more);
	struct bwg_config *c = config(ipfix);
	struct bwg_ipfix *x;
	if (bwg_ipfix_create(&x, c, NULL, 0, err, sizeof(err)) < 0)
		fail_msg("create: %s", err);
	bwg_config_free(c);
	assert_non_null(x);
	return x;
}

static void
view(struct bwg_flow_view *v, int family, uint16_t sport)
{
	memset(v, 0, sizeof(*v));
	v->family = (uint8_t)family;
	v->proto = 6;
	v->vlan = 7;
	if (family == 4) {
		inet_pton(AF_INET, "10.1.2.3", v->addr[0]);
		inet_pton(AF_INET, "192.0.2.80", v->addr[1]);
	} else {
		inet_pton(AF_INET6, "2001:db8:10:1::5", v->addr[0]);
		inet_pton(AF_INET6, "2001:db8:cafe::80", v->addr[1]);
	}
	v->port[0] = sport;
	v->port[1] = 443;
	v->pkts[0] = 10, v->pkts[1] = 8;
	v->bytes[0] = 1200, v->bytes[1] = 9000;
	v->dropped_pkts = 3;
	v->first_ts = 1764036000123000000ull;
	v->last_ts = 1764036005456000000ull;
	strcpy(v->app, "TLS.YouTube");
	strcpy(v->category, "Video");
	strcpy(v->cls, "video");
	strcpy(v->class_source, "ndpi_app");
	strcpy(v->unit, "finance");
	strcpy(v->rule, "block-video");
	strcpy(v->host, "www.youtube.com");
	v->action = BWG_ACTION_BLOCK;
	v->end_reason = BWG_END_OF_FLOW;
}

static void
stats_of(struct bwg_ipfix *x, struct bwg_ipfix_collector_stats *st)
{
	struct bwg_ipfix_stats s;
	bwg_ipfix_stats(x, &s);
	assert_int_equal(s.n, 1);
	*st = s.c[0];
	/* The invariant: every record is sent, lost or pending. */
	assert_int_equal(st->records_sent + st->records_lost + st->records_pending, s.records);
}

/* ---- a collector of our own, with libfixbuf ------------------------------------------ */

struct got {
	uint64_t start_ms, end_ms, octets, packets, rev_octets, rev_packets, dropped;
	fbVarfield_t app, cls, unit, action, host;
	uint8_t src6[16];
	uint32_t src4, dst4;
	uint16_t sport, dport, vlan;
	uint8_t proto, reason, direction;
	uint8_t pad[3];
};

static fbInfoElementSpec_t got_spec[] = {
    {"flowStartMilliseconds", 8, 0},
    {"flowEndMilliseconds", 8, 0},
    {"octetDeltaCount", 8, 0},
    {"packetDeltaCount", 8, 0},
    {"reverseOctetDeltaCount", 8, 0},
    {"reversePacketDeltaCount", 8, 0},
    {"droppedByGate", 8, 0},
    {"appName", FB_IE_VARLEN, 0},
    {"className", FB_IE_VARLEN, 0},
    {"unitName", FB_IE_VARLEN, 0},
    {"actionName", FB_IE_VARLEN, 0},
    {"hostName", FB_IE_VARLEN, 0},
    {"sourceIPv6Address", 16, 0},
    {"sourceIPv4Address", 4, 0},
    {"destinationIPv4Address", 4, 0},
    {"sourceTransportPort", 2, 0},
    {"destinationTransportPort", 2, 0},
    {"vlanId", 2, 0},
    {"protocolIdentifier", 1, 0},
    {"flowEndReason", 1, 0},
    {"biflowDirection", 1, 0},
    {"paddingOctets", 3, 0},
    FB_IESPEC_NULL,
};

/* The collector's own names for bwgate's elements: only the numbers must agree. */
static fbInfoElement_t got_ies[] = {
    FB_IE_INIT_FULL("appName", PEN, 1, FB_IE_VARLEN, 0, 0, 0, FB_STRING, NULL),
    FB_IE_INIT_FULL("className", PEN, 3, FB_IE_VARLEN, 0, 0, 0, FB_STRING, NULL),
    FB_IE_INIT_FULL("unitName", PEN, 5, FB_IE_VARLEN, 0, 0, 0, FB_STRING, NULL),
    FB_IE_INIT_FULL("actionName", PEN, 7, FB_IE_VARLEN, 0, 0, 0, FB_STRING, NULL),
    FB_IE_INIT_FULL("hostName", PEN, 8, FB_IE_VARLEN, 0, 0, 0, FB_STRING, NULL),
    FB_IE_INIT_FULL("droppedByGate", PEN, 9, 8, FB_IE_F_ENDIAN, 0, 0, FB_UINT_64, NULL),
    FB_IE_NULL,
};

struct decoder {
	fbInfoModel_t *model;
	fBuf_t *buf;
	uint32_t messages;
};

static void
decoder_init(struct decoder *d)
{
	GError *gerr = NULL;
	d->model = fbInfoModelAlloc();
	fbInfoModelAddElementArray(d->model, got_ies);
	fbSession_t *s = fbSessionAlloc(d->model);
	fbTemplate_t *t = fbTemplateAlloc(d->model);
	assert_true(fbTemplateAppendSpecArray(t, got_spec, UINT32_MAX, &gerr));
	assert_int_equal(fbSessionAddTemplate(s, TRUE, 999, t, &gerr), 999);
	d->buf = fBufAllocForCollection(s, NULL);
	fBufSetAutomaticMode(d->buf, FALSE);
	assert_true(fBufSetInternalTemplate(d->buf, 999, &gerr));
	d->messages = 0;
}

static void
decoder_fini(struct decoder *d)
{
	fBufFree(d->buf);
	fbInfoModelFree(d->model);
}

/* Decode one message; its records into got[] (at most max). Returns how many. */
static uint32_t
decode(struct decoder *d, uint8_t *msg, size_t len, struct got *got, uint32_t max)
{
	GError *gerr = NULL;
	uint32_t n = 0;
	fBufSetBuffer(d->buf, msg, len);
	d->messages++;
	for (;;) {
		struct got g;
		size_t glen = sizeof(g);
		memset(&g, 0, sizeof(g));
		if (!fBufNext(d->buf, (uint8_t *)&g, &glen, &gerr)) {
			g_clear_error(&gerr);
			return n;
		}
		if (n < max)
			got[n] = g;
		n++;
	}
}

static void
assert_str(const fbVarfield_t *f, const char *s)
{
	assert_int_equal(f->len, strlen(s));
	assert_memory_equal(f->buf, s, f->len);
}

/* ---- the tests -------------------------------------------------------------------------- */

/* Two flows, IPv4 and IPv6, reach a UDP collector with every field as the gate had it;
 * a periodic record carries what its flow did since the previous one. */
static void
test_udp_roundtrip(void **state)
{
	(void)state;
	uint16_t port;
	int rx = bound(SOCK_DGRAM, &port);
	struct bwg_ipfix *x = exporter("udp", port, "");
	struct bwg_flow_view v4, v6;
	view(&v4, 4, 40001);
	view(&v6, 6, 40002);
	v6.prior_pkts[0] = 4, v6.prior_bytes[0] = 200, v6.prior_dropped = 1;
	v6.end_reason = BWG_END_ACTIVE;
	bwg_ipfix_record(x, &v4);
	bwg_ipfix_record(x, &v6);
	bwg_ipfix_flush(x, 0);
	struct bwg_ipfix_collector_stats st;
	stats_of(x, &st);
	assert_int_equal(st.records_sent, 2);
	assert_int_equal(st.records_lost, 0);
	assert_int_equal(st.state, BWG_IPFIX_UP);

	struct decoder d;
	decoder_init(&d);
	struct got got[4];
	uint32_t n = 0;
	uint8_t msg[65536];
	struct pollfd p = {.fd = rx, .events = POLLIN};
	while (n < 2 && poll(&p, 1, 1000) == 1) {
		ssize_t len = recv(rx, msg, sizeof(msg), 0);
		assert_true(len > 16);
		assert_int_equal(msg[0] << 8 | msg[1], 10); /* IPFIX */
		n += decode(&d, msg, (size_t)len, got + n, 4 - n);
	}
	assert_int_equal(n, 2);
	assert_int_equal(got[0].start_ms, 1764036000123ull);
	assert_int_equal(got[0].end_ms, 1764036005456ull);
	assert_int_equal(got[0].packets, 10);
	assert_int_equal(got[0].octets, 1200);
	assert_int_equal(got[0].rev_packets, 8);
	assert_int_equal(got[0].rev_octets, 9000);
	assert_int_equal(got[0].dropped, 3);
	assert_int_equal(got[0].src4, 0x0a010203);
	assert_int_equal(got[0].dst4, 0xc0000250);
	assert_int_equal(got[0].sport, 40001);
	assert_int_equal(got[0].dport, 443);
	assert_int_equal(got[0].vlan, 7);
	assert_int_equal(got[0].proto, 6);
	assert_int_equal(got[0].reason, BWG_END_OF_FLOW);
	assert_int_equal(got[0].direction, 1);
	assert_str(&got[0].app, "TLS.YouTube");
	assert_str(&got[0].cls, "video");
	assert_str(&got[0].unit, "finance");
	assert_str(&got[0].action, "block");
	assert_str(&got[0].host, "www.youtube.com");
	uint8_t a6[16];
	inet_pton(AF_INET6, "2001:db8:10:1::5", a6);
	assert_memory_equal(got[1].src6, a6, 16);
	assert_int_equal(got[1].packets, 6);
	assert_int_equal(got[1].octets, 1000);
	assert_int_equal(got[1].dropped, 2);
	assert_int_equal(got[1].reason, BWG_END_ACTIVE);
	decoder_fini(&d);
	bwg_ipfix_destroy(x);
	close(rx);
}

/* A TCP collector gets every record, templates first, over one connection. */
static void
test_tcp_delivers(void **state)
{
	(void)state;
	uint16_t port;
	int ls = bound(SOCK_STREAM, &port);
	assert_int_equal(listen(ls, 4), 0);
	struct bwg_ipfix *x = exporter("tcp", port, "");
	struct bwg_flow_view v;
	const uint32_t total = 300;
	for (uint32_t i = 0; i < total; i++) {
		view(&v, i % 2 ? 6 : 4, (uint16_t)(1024 + i));
		bwg_ipfix_record(x, &v);
		if (i % 50 == 0)
			bwg_ipfix_tick(x);
	}
	bwg_ipfix_flush(x, 2000);
	struct bwg_ipfix_collector_stats st;
	stats_of(x, &st);
	assert_int_equal(st.records_sent, total);
	assert_int_equal(st.connects, 1);
	assert_int_equal(st.state, BWG_IPFIX_UP);

	int fd = accept(ls, NULL, NULL);
	assert_true(fd >= 0);
	static uint8_t stream[1 << 20];
	size_t have = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (have < st.bytes_sent && poll(&p, 1, 1000) == 1) {
		ssize_t r = recv(fd, stream + have, sizeof(stream) - have, 0);
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	assert_int_equal(have, st.bytes_sent);
	struct decoder d;
	decoder_init(&d);
	uint32_t n = 0, ports_ok = 0;
	for (size_t off = 0; off + 16 <= have;) {
		size_t len = (size_t)(stream[off + 2] << 8 | stream[off + 3]);
		assert_true(len >= 16 && off + len <= have);
		struct got got[64];
		uint32_t k = decode(&d, stream + off, len, got, 64);
		for (uint32_t i = 0; i < k && i < 64; i++)
			ports_ok += got[i].sport == 1024 + n + i;
		n += k;
		off += len;
	}
	assert_int_equal(n, total);
	assert_int_equal(ports_ok, total); /* in order, none twice */
	decoder_fini(&d);
	bwg_ipfix_destroy(x);
	close(fd);
	close(ls);
}

/* Nobody listens: every record is lost and counted, and no call waits. */
static void
test_tcp_collector_gone(void **state)
{
	(void)state;
	uint16_t port;
	int fd = bound(SOCK_STREAM, &port);
	close(fd); /* the port is free: connections are refused */
	uint64_t t0 = mono_ms();
	struct bwg_ipfix *x = exporter("tcp", port, "");
	struct bwg_flow_view v;
	view(&v, 4, 1);
	for (uint32_t i = 0; i < 2000; i++) {
		bwg_ipfix_record(x, &v);
		if (i % 100 == 0) {
			bwg_ipfix_tick(x);
			sleep_ms(1);
		}
	}
	bwg_ipfix_flush(x, 100);
	uint64_t took = mono_ms() - t0;
	struct bwg_ipfix_collector_stats st;
	stats_of(x, &st);
	printf("collector gone: %llu records lost, %llu sent, in %llu ms\n",
	       (unsigned long long)st.records_lost, (unsigned long long)st.records_sent,
	       (unsigned long long)took);
	assert_int_equal(st.records_sent, 0);
	assert_int_equal(st.records_lost, 2000);
	assert_int_equal(st.records_pending, 0);
	assert_int_equal(st.state, BWG_IPFIX_DOWN);
	assert_true(took < 1000);
	bwg_ipfix_destroy(x);
}

/* A collector that accepts and never reads: the queue fills, what does not fit is lost,
 * and recording stays quick. */
static void
test_tcp_collector_stuck(void **state)
{
	(void)state;
	uint16_t port;
	int ls = bound(SOCK_STREAM, &port);
	int small = 4096;
	setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(listen(ls, 4), 0); /* the kernel completes the handshake; nobody reads */
	struct bwg_ipfix *x = exporter("tcp", port, ", \"tcp_queue\": \"64KB\"");
	struct bwg_flow_view v;
	view(&v, 4, 1);
	const uint32_t total = 200000; /* some 30 MB: more than the kernel buffers on loopback */
	uint64_t t0 = mono_ms();
	for (uint32_t i = 0; i < total; i++) {
		bwg_ipfix_record(x, &v);
		if (i % 500 == 0)
			bwg_ipfix_tick(x);
	}
	bwg_ipfix_flush(x, 50);
	uint64_t took = mono_ms() - t0;
	struct bwg_ipfix_collector_stats st;
	stats_of(x, &st);
	printf("stuck collector: %llu sent, %llu lost, %llu pending of %u, in %llu ms\n",
	       (unsigned long long)st.records_sent, (unsigned long long)st.records_lost,
	       (unsigned long long)st.records_pending, total, (unsigned long long)took);
	assert_int_equal(st.state, BWG_IPFIX_UP);
	assert_true(st.records_lost > total / 2);
	/* What is still queued at the end depends on how much the kernel took meanwhile
	 * (its buffers grow with load): only that nothing waited and all is counted. */
	assert_true(took < 5000);
	bwg_ipfix_destroy(x);
	close(ls);
}

/* A UDP port that refuses: messages are lost and counted, the collector shows down. */
static void
test_udp_refused(void **state)
{
	(void)state;
	uint16_t port;
	int fd = bound(SOCK_DGRAM, &port);
	close(fd);
	struct bwg_ipfix *x = exporter("udp", port, "");
	struct bwg_flow_view v;
	view(&v, 4, 1);
	for (uint32_t i = 0; i < 200; i++)
		bwg_ipfix_record(x, &v);
	bwg_ipfix_flush(x, 0);
	struct bwg_ipfix_collector_stats st;
	stats_of(x, &st);
	assert_true(st.records_lost > 0);
	assert_int_equal(st.records_pending, 0);
	assert_int_equal(st.state, BWG_IPFIX_DOWN);
	bwg_ipfix_destroy(x);
}

static void
test_stats_json(void **state)
{
	(void)state;
	struct bwg_ipfix_stats s;
	memset(&s, 0, sizeof(s));
	s.records = 10;
	s.n = 2;
	snprintf(s.c[0].url, sizeof(s.c[0].url), "udp://192.0.2.1:4739");
	s.c[0].records_sent = 10;
	s.c[0].messages_sent = 2;
	s.c[0].bytes_sent = 1500;
	snprintf(s.c[1].url, sizeof(s.c[1].url), "tcp://192.0.2.2:4739");
	s.c[1].state = BWG_IPFIX_DOWN;
	s.c[1].records_lost = 10;
	s.c[1].messages_lost = 1;
	json_t *j = bwg_ipfix_stats_json(&s);
	char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
	    txt,
	    "{\"collectors\":[{\"bytes_sent\":1500,\"connects\":0,\"messages_lost\":0,"
	    "\"messages_sent\":2,\"records_lost\":0,\"records_pending\":0,\"records_sent\":10,"
	    "\"state\":\"up\",\"url\":\"udp://192.0.2.1:4739\"},{\"bytes_sent\":0,"
	    "\"connects\":0,\"messages_lost\":1,\"messages_sent\":0,\"records_lost\":10,"
	    "\"records_pending\":0,\"records_sent\":0,\"state\":\"down\",\"url\":"
	    "\"tcp://192.0.2.2:4739\"}],\"collectors_up\":1,\"records\":10,\"records_lost\":10,"
	    "\"records_pending\":0,\"records_sent\":10}");
	free(txt);
	json_decref(j);
}

/* A name that does not resolve is refused at start, naming the collector. */
static void
test_unresolvable(void **state)
{
	(void)state;
	struct bwg_config *c = config("{\"collectors\": [\"udp://no-such-host.invalid:4739\"]}");
	struct bwg_ipfix *x;
	assert_int_equal(bwg_ipfix_create(&x, c, NULL, 0, err, sizeof(err)), -EINVAL);
	assert_null(x);
	assert_non_null(strstr(err, "udp://no-such-host.invalid:4739: cannot resolve"));
	assert_int_equal(bwg_ipfix_check(c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ipfix.collectors[0]: cannot resolve no-such-host.invalid"));
	bwg_config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_udp_roundtrip),      cmocka_unit_test(test_tcp_delivers),
	    cmocka_unit_test(test_tcp_collector_gone), cmocka_unit_test(test_tcp_collector_stuck),
	    cmocka_unit_test(test_udp_refused),	       cmocka_unit_test(test_stats_json),
	    cmocka_unit_test(test_unresolvable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
