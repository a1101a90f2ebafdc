/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flow record and event tests: golden JSON for an IPv4 and an IPv6 flow, address text,
 * protocol names, timestamps, and the single-producer single-consumer event ring.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "bwg_log.h"

static void
addr(uint8_t family, const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(family == 6 ? AF_INET6 : AF_INET, s, out), 1);
}

static char *
dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(s);
	json_decref(o);
	return s;
}

static void
view4(struct bwg_flow_view *v)
{
	memset(v, 0, sizeof(*v));
	v->family = 4;
	v->proto = 6;
	v->vlan = 100;
	addr(4, "10.1.2.3", v->addr[0]);
	addr(4, "93.184.216.34", v->addr[1]);
	v->port[0] = 51000;
	v->port[1] = 443;
	v->pkts[0] = 10;
	v->pkts[1] = 8;
	v->bytes[0] = 1200;
	v->bytes[1] = 9000;
	v->dropped_pkts = 2;
	v->first_ts = 1764036000123456789ull;
	v->last_ts = 1764036005000000000ull;
	v->event_ts = 1764036005500000000ull;
	strcpy(v->app, "TLS.YouTube");
	strcpy(v->category, "Video");
	strcpy(v->cls, "video");
	strcpy(v->unit, "finance");
	strcpy(v->rule, "video-limit");
	strcpy(v->host, "www.youtube.com");
	v->action = BWG_ACTION_LIMIT;
	strcpy(v->class_source, "ndpi_app");
	strcpy(v->class_match, "nDPI app YouTube");
}

static void
view6(struct bwg_flow_view *v)
{
	memset(v, 0, sizeof(*v));
	v->family = 6;
	v->proto = 17;
	addr(6, "2001:db8:10:2::5", v->addr[0]);
	addr(6, "2a03:2880:1010:6f03:face:b00c:0:2", v->addr[1]);
	v->port[0] = 50123;
	v->port[1] = 443;
	v->pkts[0] = 3;
	v->pkts[1] = 0;
	v->bytes[0] = 3900;
	v->first_ts = 1764036000000001000ull;
	v->last_ts = 1764036060999999000ull;
	v->event_ts = 1764036120000000000ull;
	strcpy(v->app, "QUIC.Facebook");
	strcpy(v->category, "SocialNetwork");
	strcpy(v->cls, "web");
	strcpy(v->rule, "default");
	v->action = BWG_ACTION_ALLOW;
	strcpy(v->class_source, "ndpi_category");
	strcpy(v->class_match, "nDPI category SocialNetwork");
}

static const char golden4[] =
	"{\"action\":\"limit\",\"app\":\"TLS.YouTube\",\"app_guessed\":false,\"bytes_c2s\":1200,\"bytes_s2c\":9000,"
	"\"category\":\"Video\",\"class\":\"video\",\"class_match\":\"nDPI app YouTube\","
	"\"class_source\":\"ndpi_app\",\"dropped_pkts\":2,\"dst_ip\":\"93.184.216.34\","
	"\"dst_port\":443,\"first_ts\":1764036000.123456,\"host\":\"www.youtube.com\","
	"\"host_learned\":false,\"last_ts\":1764036005.0,\"pkts_c2s\":10,\"pkts_s2c\":8,\"proto\":\"TCP\","
	"\"rule\":\"video-limit\",\"src_ip\":\"10.1.2.3\",\"src_port\":51000,\"unit\":\"finance\","
	"\"vlan\":100}";

static const char golden6[] =
	"{\"action\":\"allow\",\"app\":\"QUIC.Facebook\",\"app_guessed\":false,\"bytes_c2s\":3900,\"bytes_s2c\":0,"
	"\"category\":\"SocialNetwork\",\"class\":\"web\","
	"\"class_match\":\"nDPI category SocialNetwork\",\"class_source\":\"ndpi_category\","
	"\"dropped_pkts\":0,"
	"\"dst_ip\":\"2a03:2880:1010:6f03:face:b00c::2\",\"dst_port\":443,"
	"\"first_ts\":1764036000.000001,\"host\":\"\",\"host_learned\":false,\"last_ts\":1764036060.999999,"
	"\"pkts_c2s\":3,\"pkts_s2c\":0,\"proto\":\"UDP\",\"rule\":\"default\","
	"\"src_ip\":\"2001:db8:10:2::5\",\"src_port\":50123,\"unit\":\"\",\"vlan\":0}";

static void
test_flow_json_golden(void **state)
{
	(void)state;
	struct bwg_flow_view v;
	view4(&v);
	char *s = dump(bwg_log_flow_json(&v));
	assert_string_equal(s, golden4);
	free(s);
	view6(&v);
	s = dump(bwg_log_flow_json(&v));
	assert_string_equal(s, golden6);
	free(s);
}

static void
test_event_json_golden(void **state)
{
	(void)state;
	struct bwg_event e;
	memset(&e, 0, sizeof(e));
	e.type = BWG_EVENT_LIMIT;
	view4(&e.flow);
	char *s = dump(bwg_log_event_json(&e));
	assert_string_equal(
		s, "{\"action\":\"limit\",\"app\":\"TLS.YouTube\",\"app_guessed\":false,\"bytes_c2s\":1200,"
		   "\"bytes_s2c\":9000,\"category\":\"Video\",\"class\":\"video\","
		   "\"class_match\":\"nDPI app YouTube\",\"class_source\":\"ndpi_app\","
		   "\"dropped_pkts\":2,\"dst_ip\":\"93.184.216.34\",\"dst_port\":443,"
		   "\"event\":\"limit\",\"first_ts\":1764036000.123456,"
		   "\"host\":\"www.youtube.com\",\"host_learned\":false,\"last_ts\":1764036005.0,\"pkts_c2s\":10,"
		   "\"pkts_s2c\":8,\"proto\":\"TCP\",\"rule\":\"video-limit\","
		   "\"src_ip\":\"10.1.2.3\",\"src_port\":51000,\"time\":1764036005.5,"
		   "\"unit\":\"finance\",\"vlan\":100}");
	free(s);

	e.type = BWG_EVENT_FLOW_END;
	view6(&e.flow);
	s = dump(bwg_log_event_json(&e));
	assert_string_equal(
		s, "{\"action\":\"allow\",\"app\":\"QUIC.Facebook\",\"app_guessed\":false,\"bytes_c2s\":3900,"
		   "\"bytes_s2c\":0,\"category\":\"SocialNetwork\",\"class\":\"web\","
		   "\"class_match\":\"nDPI category SocialNetwork\","
		   "\"class_source\":\"ndpi_category\",\"dropped_pkts\":0,\"dst_ip\":\"2a03:2880:1010:6f03:face:b00c::2\","
		   "\"dst_port\":443,\"event\":\"flow_end\",\"first_ts\":1764036000.000001,"
		   "\"host\":\"\",\"host_learned\":false,\"last_ts\":1764036060.999999,\"pkts_c2s\":3,\"pkts_s2c\":0,"
		   "\"proto\":\"UDP\",\"rule\":\"default\",\"src_ip\":\"2001:db8:10:2::5\","
		   "\"src_port\":50123,\"time\":1764036120.0,\"unit\":\"\",\"vlan\":0}");
	free(s);

	assert_string_equal(bwg_event_names[BWG_EVENT_BLOCK], "block");
	assert_string_equal(bwg_event_names[BWG_EVENT_LIMIT], "limit");
	assert_string_equal(bwg_event_names[BWG_EVENT_FLOW_END], "flow_end");
	assert_string_equal(bwg_event_names[BWG_EVENT_FLOW], "flow");
}

static void
test_flow_json_edge_values(void **state)
{
	(void)state;
	/* A host filling its whole buffer (no NUL) is cut at the buffer, not read past. */
	struct bwg_flow_view *v = malloc(sizeof(*v));
	view4(v);
	memset(v->host, 'h', sizeof(v->host));
	v->proto = 46; /* RSVP: no name, its number */
	v->port[0] = v->port[1] = 0;
	v->pkts[0] = UINT32_MAX + 5ull;
	json_t *o = bwg_log_flow_json(v);
	assert_int_equal(strlen(json_string_value(json_object_get(o, "host"))), sizeof(v->host));
	assert_string_equal(json_string_value(json_object_get(o, "proto")), "46");
	assert_int_equal(json_integer_value(json_object_get(o, "src_port")), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "pkts_c2s")), UINT32_MAX + 5ull);
	assert_int_equal(json_object_size(o), 24);
	json_decref(o);
	free(v);
}

/* Times keep their microseconds exactly when dumped with BWG_JSON_REAL_FLAGS. */
static void
test_timestamps_exact_microseconds(void **state)
{
	(void)state;
	struct bwg_flow_view v;
	view4(&v);
	v.first_ts = 1764036000000003000ull;
	json_t *o = bwg_log_flow_json(&v);
	char *s = json_dumps(json_object_get(o, "first_ts"),
			     JSON_COMPACT | JSON_ENCODE_ANY | BWG_JSON_REAL_FLAGS);
	json_decref(o);
	char text[64];
	snprintf(text, sizeof(text), "%s", s);
	free(s);
	assert_string_equal(text, "1764036000.000003");
}

static void
test_timestamps(void **state)
{
	(void)state;
	static const struct {
		uint64_t ns;
		const char *text;
	} cases[] = {
		{1764036000123456789ull, "1764036000.123456"}, /* truncated to the microsecond */
		{1764036005000000000ull, "1764036005.0"},
		{1764036000000001000ull, "1764036000.000001"},
		{1000000ull, "0.001"},
		{0, "0.0"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bwg_flow_view v;
		view4(&v);
		v.last_ts = cases[i].ns;
		json_t *o = bwg_log_flow_json(&v);
		char *s = json_dumps(json_object_get(o, "last_ts"), JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(o);
		assert_string_equal(s, cases[i].text);
		free(s);
	}
}

static const char *
fmt6(const char *in, char *buf, size_t len)
{
	uint8_t a[16];
	addr(6, in, a);
	return bwg_log_format_ip(6, a, buf, len);
}

static void
test_format_ip(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} v6[] = {
		/* A single zero group is compressed too, as ndpiReader prints it. */
		{"2a03:2880:1010:6f03:face:b00c:0:2", "2a03:2880:1010:6f03:face:b00c::2"},
		{"2001:db8::1", "2001:db8::1"},
		{"::1", "::1"},
		{"::", "::"},
		{"1::", "1::"},
		{"1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7::"},
		{"0:1:2:3:4:5:6:7", "::1:2:3:4:5:6:7"},
		{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
		/* Two runs: the longest is compressed... */
		{"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
		{"2001:0:0:0:1:0:0:1", "2001::1:0:0:1"},
		/* ...and of two equally long runs, the first (RFC 5952). */
		{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
		{"fe80:0:0:0:1:0:0:0", "fe80::1:0:0:0"},
		{"2001:DB8:AbCd::1", "2001:db8:abcd::1"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	};
	char buf[64];
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++)
		assert_string_equal(fmt6(v6[i].in, buf, sizeof(buf)), v6[i].out);

	uint8_t a[16];
	addr(4, "10.1.2.3", a);
	assert_string_equal(bwg_log_format_ip(4, a, buf, sizeof(buf)), "10.1.2.3");
	addr(4, "255.255.255.255", a);
	assert_string_equal(bwg_log_format_ip(4, a, buf, sizeof(buf)), "255.255.255.255");

	/* A buffer too small for the text: cut short, terminated, nothing written past it. */
	char *small = malloc(10);
	const char *r = fmt6("2a03:2880:1010:6f03:face:b00c:0:2", small, 10);
	assert_ptr_equal(r, small);
	assert_true(strlen(small) < 10);
	assert_memory_equal(small, "2a03:2880", strlen(small));
	free(small);
}

static void
test_proto_names(void **state)
{
	(void)state;
	char buf[8];
	assert_string_equal(bwg_log_proto_name(1, buf, sizeof(buf)), "ICMP");
	assert_string_equal(bwg_log_proto_name(2, buf, sizeof(buf)), "IGMP");
	assert_string_equal(bwg_log_proto_name(6, buf, sizeof(buf)), "TCP");
	assert_string_equal(bwg_log_proto_name(17, buf, sizeof(buf)), "UDP");
	assert_string_equal(bwg_log_proto_name(58, buf, sizeof(buf)), "ICMPV6");
	assert_string_equal(bwg_log_proto_name(47, buf, sizeof(buf)), "GRE");
	assert_string_equal(bwg_log_proto_name(50, buf, sizeof(buf)), "ESP");
	assert_string_equal(bwg_log_proto_name(51, buf, sizeof(buf)), "AH");
	assert_string_equal(bwg_log_proto_name(132, buf, sizeof(buf)), "SCTP");
	assert_string_equal(bwg_log_proto_name(46, buf, sizeof(buf)), "46");
	assert_string_equal(bwg_log_proto_name(0, buf, sizeof(buf)), "0");
	assert_string_equal(bwg_log_proto_name(255, buf, sizeof(buf)), "255");
}

static void
push(struct bwg_event_ring *r, uint16_t tag)
{
	struct bwg_event *e = bwg_event_ring_reserve(r);
	assert_non_null(e);
	e->type = (uint8_t)(tag % BWG_EVENT_TYPE_MAX);
	e->flow.port[0] = tag;
	bwg_event_ring_publish(r);
}

static void
pop_expect(struct bwg_event_ring *r, uint16_t tag)
{
	const struct bwg_event *e = bwg_event_ring_peek(r);
	assert_non_null(e);
	assert_int_equal(e->flow.port[0], tag);
	assert_int_equal(e->type, tag % BWG_EVENT_TYPE_MAX);
	/* Peeking again sees the same event until it is popped. */
	assert_ptr_equal(bwg_event_ring_peek(r), e);
	bwg_event_ring_pop(r);
}

static void
test_event_ring(void **state)
{
	(void)state;
	struct bwg_event_ring r;
	assert_int_equal(bwg_event_ring_init(&r, 5), 0);
	assert_int_equal(r.mask, 7); /* rounded up to 8 */
	assert_null(bwg_event_ring_peek(&r));

	for (uint16_t i = 0; i < 8; i++)
		push(&r, i);
	/* Full: no slot, and a reservation that fails changes nothing. */
	assert_null(bwg_event_ring_reserve(&r));
	assert_null(bwg_event_ring_reserve(&r));
	pop_expect(&r, 0);
	pop_expect(&r, 1);
	/* Room for exactly two more, which land after the rest. */
	push(&r, 8);
	push(&r, 9);
	assert_null(bwg_event_ring_reserve(&r));
	for (uint16_t i = 2; i < 10; i++)
		pop_expect(&r, i);
	assert_null(bwg_event_ring_peek(&r));
	bwg_event_ring_fini(&r);

	/* Sizes that are powers of two stay; the counters survive wrapping past 2^32. */
	assert_int_equal(bwg_event_ring_init(&r, 4), 0);
	assert_int_equal(r.mask, 3);
	atomic_store(&r.head, UINT32_MAX - 5);
	atomic_store(&r.tail, UINT32_MAX - 5);
	uint16_t next_in = 0, next_out = 0;
	for (int round = 0; round < 50; round++) {
		while (bwg_event_ring_reserve(&r))
			push(&r, next_in++);
		assert_int_equal(next_in - next_out, 4);
		for (int k = 0; k < 3; k++)
			pop_expect(&r, next_out++);
	}
	while (next_out != next_in)
		pop_expect(&r, next_out++);
	assert_null(bwg_event_ring_peek(&r));
	bwg_event_ring_fini(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flow_json_golden),
		cmocka_unit_test(test_event_json_golden),
		cmocka_unit_test(test_flow_json_edge_values),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_timestamps_exact_microseconds),
		cmocka_unit_test(test_format_ip),
		cmocka_unit_test(test_proto_names),
		cmocka_unit_test(test_event_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
