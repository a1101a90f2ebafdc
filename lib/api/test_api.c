/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * API document tests: a hand-filled snapshot through every builder, compared against
 * golden strings (JSON with sorted keys), and the metrics text's shape; the router on
 * hostile requests (no socket), the rate limits on fake time, the token file.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bwg_api.h"
#include "bwg_hash.h"

static const char *const class_names[] = {"unknown", "p2p"};
static const char *const unit_names[] = {"", "finance"};
static const char *const app_names[] = {"Unknown", "HTTP", "BitTorrent"};

static void
fill(struct bwg_api_snapshot *s)
{
	assert_int_equal(bwg_api_snapshot_init(s, 3, 1), 0);
	bwg_api_snapshot_names(s, class_names, 2, unit_names, 2);
	s->app_names = app_names;
	s->seq = 5;
	s->time_ns = 1764036000123456789ull;
	s->interval_ns = 500000000ull; /* 0.5 s */
	s->flow_capacity = 1024;
	s->cur.cnt[BWG_CNT_RX_PACKETS] = 100;
	s->cur.cnt[BWG_CNT_RX_BYTES] = 64000;
	s->cur.cnt[BWG_CNT_FORWARDED_PACKETS] = 90;
	s->cur.cnt[BWG_CNT_FORWARDED_BYTES] = 60000;
	s->cur.cnt[BWG_CNT_DROPPED_PACKETS] = 10;
	s->cur.cnt[BWG_CNT_DROPPED_BYTES] = 4000;
	s->cur.drops[BWG_DROP_POLICY_BLOCK] = 10;
	s->cur.flows_active = 4;
	s->cur.classes[0] = (struct bwg_obj_stats){40, 20000, 4, 0};
	s->cur.classes[1] = (struct bwg_obj_stats){60, 44000, 3, 10, 4000};
	s->cur.units[1] = (struct bwg_obj_stats){100, 64000, 7, 10, 4000};
	s->cur.apps[1] = (struct bwg_obj_stats){40, 20000, 4, 0};
	s->cur.apps[2] = (struct bwg_obj_stats){60, 44000, 3, 10, 4000};
	s->prev.cnt[BWG_CNT_RX_PACKETS] = 50;
	s->prev.cnt[BWG_CNT_RX_BYTES] = 32000;
	s->prev.apps[1] = (struct bwg_obj_stats){30, 19000, 4, 0};
	s->prev.apps[2] = (struct bwg_obj_stats){20, 13000, 2, 5, 2000};
	s->n_ports = 1;
	s->ports[0] = (struct bwg_api_port){.role = "inside",
					    .name = "net_null0",
					    .driver = "net_null",
					    .queues = 1,
					    .link_up = true,
					    .speed_mbps = 10000,
					    .ipackets = 60,
					    .opackets = 40,
					    .ibytes = 38000,
					    .obytes = 26000};
	s->workers[0] = (struct bwg_api_worker){.id = 0,
						.lcore = 1,
						.alive = true,
						.flows_active = 4,
						.flow_capacity = 1024,
						.loops = 1000,
						.busy_loops = 300,
						.loops_prev = 600,
						.busy_prev = 200};
	s->workers[0].cnt[BWG_CNT_RX_PACKETS] = 100;
	s->policy_version = 3;
	s->policy_loaded_at = 1764036000;
	snprintf(s->policy_file, sizeof(s->policy_file), "bwgate.json");
	s->events_written = 2;
}

static void
assert_json(json_t *j, const char *golden)
{
	assert_non_null(j);
	char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(16));
	if (strcmp(txt, golden) != 0)
		printf("got:    %s\nwanted: %s\n", txt, golden);
	assert_string_equal(txt, golden);
	free(txt);
	json_decref(j);
}

static void
test_top_apps(void **state)
{
	(void)state;
	struct bwg_api_snapshot s;
	fill(&s);
	/* BitTorrent moved 31000 bytes in the interval, HTTP 1000; limit 1 keeps one. */
	assert_json(
	    bwg_api_top_json(&s, BWG_API_TOP_APPS, 1),
	    "{\"by\":\"apps\",\"interval_s\":0.5,\"limit\":1,\"top\":[{\"bytes\":44000,"
	    "\"dropped_bps\":32000.0,\"dropped_bytes\":4000,\"dropped_packets\":10,"
	    "\"dropped_pps\":10.0,\"flows\":3,\"forwarded_bps\":464000.0,\"forwarded_bytes\":40000,"
	    "\"forwarded_pps\":70.0,\"interval_bytes\":31000,\"interval_packets\":40,"
	    "\"name\":\"BitTorrent\",\"offered_bps\":496000.0,\"offered_pps\":80.0,"
	    "\"packets\":60}]}");
	assert_json(
	    bwg_api_top_json(&s, BWG_API_TOP_UNITS, 10),
	    "{\"by\":\"units\",\"interval_s\":0.5,\"limit\":10,\"top\":[{\"bytes\":64000,"
	    "\"dropped_bps\":64000.0,\"dropped_bytes\":4000,\"dropped_packets\":10,"
	    "\"dropped_pps\":20.0,\"flows\":7,\"forwarded_bps\":960000.0,\"forwarded_bytes\":60000,"
	    "\"forwarded_pps\":180.0,\"interval_bytes\":64000,\"interval_packets\":100,"
	    "\"name\":\"finance\",\"offered_bps\":1024000.0,\"offered_pps\":200.0,"
	    "\"packets\":100}]}");
	bwg_api_snapshot_fini(&s);
}

static void
test_top_parse(void **state)
{
	(void)state;
	assert_int_equal(bwg_api_top_by_parse("apps"), BWG_API_TOP_APPS);
	assert_int_equal(bwg_api_top_by_parse("units"), BWG_API_TOP_UNITS);
	assert_int_equal(bwg_api_top_by_parse("hosts"), -1);
	assert_int_equal(bwg_api_top_by_parse(NULL), -1);
}

static void
test_health_and_error(void **state)
{
	(void)state;
	struct bwg_api_snapshot s;
	fill(&s);
	assert_json(bwg_api_health_json(&s),
		    "{\"events_failed\":0,\"events_failing\":false,\"events_file\":false,"
		    "\"events_lost\":0,\"events_write_errors\":0,\"events_written\":2,\"ok\":true,"
		    "\"policy_version\":3,\"snapshot_seq\":5,\"workers\":1,\"workers_alive\":1}");
	/* A write that failed once and then succeeded leaves the probe green; one failing now
	 * turns it red. */
	s.events_write_errors = 1;
	json_t *h = bwg_api_health_json(&s);
	assert_true(json_is_true(json_object_get(h, "ok")));
	json_decref(h);
	s.events_failing = true;
	h = bwg_api_health_json(&s);
	assert_false(json_is_true(json_object_get(h, "ok")));
	json_decref(h);
	assert_json(bwg_api_error_json("no such path"), "{\"error\":\"no such path\"}");
	bwg_api_snapshot_fini(&s);
}

static void
test_ports_workers(void **state)
{
	(void)state;
	struct bwg_api_snapshot s;
	fill(&s);
	assert_json(bwg_api_ports_json(&s),
		    "[{\"driver\":\"net_null\",\"id\":0,\"link_up\":true,\"name\":\"net_null0\","
		    "\"queues\":1,\"resets_sent\":0,\"role\":\"inside\",\"rss\":false,\"rx_bytes\":38000,"
		    "\"rx_errors\":0,\"rx_missed\":0,\"rx_nombuf\":0,\"rx_packets\":60,"
		    "\"speed_mbps\":10000,\"tx_bytes\":26000,\"tx_errors\":0,\"tx_packets\":40}]");
	json_t *w = bwg_api_workers_json(&s);
	json_t *w0 = json_array_get(w, 0);
	assert_true(json_real_value(json_object_get(w0, "busy_ratio")) == 0.25);
	assert_int_equal(json_integer_value(json_object_get(w0, "rx_packets")), 100);
	assert_true(json_is_true(json_object_get(w0, "alive")));
	json_decref(w);
	bwg_api_snapshot_fini(&s);
}

static void
test_stats_rates(void **state)
{
	(void)state;
	struct bwg_api_snapshot s;
	fill(&s);
	json_t *doc = bwg_api_stats_json(&s);
	assert_non_null(doc);
	assert_json(json_incref(json_object_get(doc, "rates")),
		    "{\"drop_bps\":64000.0,\"drop_pps\":20.0,\"flows_per_s\":0.0,\"interval_s\":0.5,\"rx_bps\":512000.0,"
		    "\"rx_pps\":100.0,\"tx_bps\":960000.0,\"tx_pps\":180.0}");
	assert_json(json_incref(json_object_get(doc, "totals")),
		    "{\"dropped_bytes\":4000,\"dropped_packets\":10,\"rx_bytes\":64000,"
		    "\"rx_packets\":100,\"tx_bytes\":60000,\"tx_packets\":90}");
	assert_json(json_incref(json_object_get(doc, "policy")),
		    "{\"file\":\"bwgate.json\",\"loaded_at\":1764036000,\"version\":3}");
	assert_int_equal(json_array_size(json_object_get(doc, "ports")), 1);
	assert_int_equal(json_array_size(json_object_get(doc, "workers")), 1);
	json_decref(doc);
	bwg_api_snapshot_fini(&s);
}

static void
test_metrics(void **state)
{
	(void)state;
	struct bwg_api_snapshot s;
	fill(&s);
	snprintf(s.class_names[1], BWG_NAME_MAX, "p\"2\\p");
	size_t len;
	char *m = bwg_api_metrics_text(&s, &len);
	assert_non_null(m);
	assert_int_equal(strlen(m), len);
	assert_non_null(strstr(m, "# TYPE bwgate_rx_packets_total counter\n"
				  "bwgate_rx_packets_total 100\n"));
	assert_non_null(strstr(m, "bwgate_drops_total{reason=\"policy_block\"} 10\n"));
	assert_non_null(strstr(m, "bwgate_class_bytes_total{class=\"p\\\"2\\\\p\"} 44000\n"));
	assert_non_null(strstr(m, "bwgate_app_packets_total{app=\"BitTorrent\"} 60\n"));
	assert_null(strstr(m, "app=\"Unknown\"")); /* apps never seen are left out */
	assert_non_null(strstr(m, "bwgate_unit_flows_total{unit=\"finance\"} 7\n"));
	assert_non_null(strstr(m, "bwgate_port_rx_packets_total{port=\"inside\"} 60\n"));
	assert_non_null(strstr(m, "bwgate_worker_busy_ratio{worker=\"0\"} 0.250000\n"));
	assert_non_null(strstr(m, "bwgate_flow_table_occupancy_ratio 0.003906\n"));
	assert_non_null(strstr(m, "bwgate_policy_version 3\n"));
	/* Each family is declared once. */
	const char *p = strstr(m, "# TYPE bwgate_drops_total");
	assert_non_null(p);
	assert_null(strstr(p + 1, "# TYPE bwgate_drops_total"));
	free(m);
	bwg_api_snapshot_fini(&s);
}

static void
test_utf8(void **state)
{
	(void)state;
	assert_true(bwg_api_utf8_valid("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80", 14));
	assert_false(bwg_api_utf8_valid("\xff", 1));
	assert_false(bwg_api_utf8_valid("\xc0\xaf", 2));	 /* overlong '/' */
	assert_false(bwg_api_utf8_valid("\xed\xa0\x80", 3));	 /* surrogate */
	assert_false(bwg_api_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
	assert_false(bwg_api_utf8_valid("\xe4\xb8", 2));	 /* cut short */
	assert_false(bwg_api_utf8_valid("a\0b", 3));
	char out[32];
	assert_string_equal(bwg_api_text_clean(out, sizeof(out), "/\xff\x01z", 4), "/\\xff\\x01z");
	/* A cut never splits a character. */
	assert_string_equal(bwg_api_text_clean(out, 5, "ab\xe4\xb8\xad", 5), "ab");
	assert_string_equal(bwg_api_text_clean(out, 6, "ab\xe4\xb8\xad", 5), "ab\xe4\xb8\xad");
}

/* Route a GET of `path` with the given query arguments against st. */
static void
route_get(const struct bwg_api_state *st, const char *path, size_t path_len,
	  const struct bwg_api_arg *args, uint32_t n, struct bwg_api_response *rs)
{
	struct bwg_api_request rq = {.method = "GET", .path = path, .path_len = path_len,
				     .args = args, .n_args = n};
	bwg_api_route(st, &rq, rs);
}

/* The body is one JSON object with an "error" string. */
static void
assert_error_body(const struct bwg_api_response *rs, unsigned status, const char *part)
{
	assert_int_equal(rs->status, status);
	json_error_t je;
	json_t *j = json_loadb(rs->body, rs->len, 0, &je);
	assert_non_null(j);
	const char *e = json_string_value(json_object_get(j, "error"));
	assert_non_null(e);
	if (!strstr(e, part))
		printf("error: %s\n", e);
	assert_non_null(strstr(e, part));
	json_decref(j);
}

static void
test_route_hostile(void **state)
{
	(void)state;
	struct bwg_api_snapshot s;
	fill(&s);
	struct bwg_api_state st = {.snap = &s};
	struct bwg_api_response rs;
	static const struct bwg_api_arg bad = {"src", 3, "1\xc0\xaf", 3};
	static const struct bwg_api_arg nul = {"by", 2, "apps\0x", 6};
	static const struct bwg_api_arg lim = {"limit", 5, "99999999999999999999", 20};
	static const struct bwg_api_arg unit_typo = {"units", 5, "finance", 7};
	static const struct {
		const char *path;
		size_t len;
		const struct bwg_api_arg *arg;
		unsigned status;
		const char *error;
	} cases[] = {
	    {"/\xff", 2, NULL, 400, "not valid UTF-8: /\\xff"},
	    {"/api/v1/explain", 15, &bad, 400, "query argument \"src\" is not valid UTF-8"},
	    {"/api/v1/top", 11, &nul, 400, "query argument \"by\" is not valid UTF-8"},
	    {"/nothing/\xe4\xb8\xad", 12, NULL, 404, "no such path: /nothing/\xe4\xb8\xad"},
	    {"/api/v1/top", 11, &lim, 400, "limit: give a number from 1 to 1000"},
	    {"/api/v1/flows", 13, &unit_typo, 400, "unknown query argument \"units\""},
	    {"/api/v1/stats", 13, &unit_typo, 400, "this path takes none but pretty"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		route_get(&st, cases[i].path, cases[i].len, cases[i].arg, cases[i].arg ? 1 : 0,
			  &rs);
		assert_error_body(&rs, cases[i].status, cases[i].error);
		free(rs.body);
	}
	/* Served from the snapshot. */
	struct bwg_api_arg pretty = {"pretty", 6, NULL, 0};
	route_get(&st, "/healthz", 8, &pretty, 1, &rs);
	assert_int_equal(rs.status, 200);
	assert_non_null(strstr(rs.body, "\n  \"ok\": true"));
	free(rs.body);
	/* No flow list yet: 503, not a wait. */
	route_get(&st, "/api/v1/flows", 13, NULL, 0, &rs);
	assert_error_body(&rs, 503, "no flow list yet");
	free(rs.body);
	struct bwg_api_request rq = {.method = "D\xff\x45LETE", .path = "/metrics", .path_len = 8};
	bwg_api_route(&st, &rq, &rs);
	assert_error_body(&rs, 405, "D\\xffELETE is not allowed here");
	assert_string_equal(rs.allow, "GET, HEAD");
	free(rs.body);
	bwg_api_snapshot_fini(&s);
}

/* Two users of finance (one with a block), their classes adding up; routed. */
static void
test_users(void **state)
{
	(void)state;
	struct bwg_api_snapshot s;
	fill(&s);
	struct bwg_user_deltas d;
	struct bwg_users u;
	bwg_hash_secret_set(3, 4);
	assert_int_equal(bwg_user_deltas_init(&d, 16), 0);
	assert_int_equal(bwg_users_init(&u, 16), 0);
	uint8_t a1[16] = {10, 2, 0, 1}, a2[16] = {10, 2, 0, 2};
	struct bwg_user_delta *e = bwg_user_deltas_get(&d, 4, a1, 0, 1);
	*e = (struct bwg_user_delta){.gen = e->gen, .family = 4, .class_slot = 0, .unit_slot = 1,
				     .flows = 2, .pkts = {10, 30}, .bytes = {2000, 18000}};
	memcpy(e->addr, a1, 16);
	e = bwg_user_deltas_get(&d, 4, a1, 1, 1);
	e->pkts[0] = 50, e->bytes[0] = 40000, e->dropped_pkts = 10, e->dropped_bytes = 8000;
	e = bwg_user_deltas_get(&d, 4, a2, 1, 1);
	e->pkts[1] = 10, e->bytes[1] = 4000, e->flows = 1;
	bwg_users_merge(&u, &d, 1764036000000000000ull);
	bwg_users_interval(&u, 500000000ull); /* rates over what was merged before */
	struct bwg_user_block b = {.time_ns = 1764036001000000000ull, .action = BWG_ACTION_BLOCK,
				   .proto = 6, .port = 6881, .family = 4, .peer = {198, 51, 100, 7}};
	snprintf(b.cls, sizeof(b.cls), "p2p");
	snprintf(b.rule, sizeof(b.rule), "block-p2p");
	snprintf(b.app, sizeof(b.app), "BitTorrent");
	bwg_users_block(&u, 4, a2, 1, 1, &b);

	/* top: 10.2.0.1 moved 60000 bytes this interval, 10.2.0.2 4000 */
	json_t *top = bwg_api_top_hosts_json(&s, &u, 10, -1, -1);
	json_t *items = json_object_get(top, "top");
	assert_int_equal(json_array_size(items), 2);
	json_t *first = json_array_get(items, 0);
	assert_string_equal(json_string_value(json_object_get(first, "name")), "10.2.0.1");
	assert_string_equal(json_string_value(json_object_get(first, "unit")), "finance");
	assert_int_equal(json_integer_value(json_object_get(first, "bytes")), 60000);
	assert_true(json_real_value(json_object_get(first, "up_bps")) == 42000 * 8 * 2.0);
	/* forwarded and dropped apart: 8000 of its 60000 bytes were dropped */
	assert_int_equal(json_integer_value(json_object_get(first, "dropped_bytes")), 8000);
	assert_int_equal(json_integer_value(json_object_get(first, "forwarded_bytes")), 52000);
	assert_true(json_real_value(json_object_get(first, "dropped_bps")) == 8000 * 8 * 2.0);
	assert_true(json_real_value(json_object_get(first, "forwarded_bps")) == 52000 * 8 * 2.0);
	/* the users add up to the unit and to the classes */
	json_int_t sum = 0;
	for (size_t i = 0; i < json_array_size(items); i++)
		sum += json_integer_value(json_object_get(json_array_get(items, i), "bytes"));
	assert_int_equal(sum, s.cur.units[1].bytes);
	json_decref(top);
	top = bwg_api_top_hosts_json(&s, &u, 10, -1, 1); /* class p2p */
	items = json_object_get(top, "top");
	assert_int_equal(json_array_size(items), 2);
	sum = 0;
	for (size_t i = 0; i < json_array_size(items); i++)
		sum += json_integer_value(json_object_get(json_array_get(items, i), "bytes"));
	assert_int_equal(sum, s.cur.classes[1].bytes);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 1),
							   "blocked_flows")), 1);
	json_decref(top);

	/* routes: /top?by=hosts&unit=finance, /hosts/ADDR, /units/NAME, /blocks */
	struct bwg_api_state st = {.snap = &s, .users = &u};
	struct bwg_api_response rs;
	struct bwg_api_arg args[] = {{"by", 2, "hosts", 5}, {"unit", 4, "finance", 7},
				     {"class", 5, "p2p", 3}};
	route_get(&st, "/api/v1/top", 11, args, 3, &rs);
	assert_int_equal(rs.status, 200);
	assert_non_null(strstr(rs.body, "\"class\":\"p2p\""));
	assert_non_null(strstr(rs.body, "{\"name\":\"10.2.0.1\",\"unit\":\"finance\""));
	free(rs.body);
	struct bwg_api_arg typo[] = {{"by", 2, "hosts", 5}, {"unit", 4, "sales", 5}};
	route_get(&st, "/api/v1/top", 11, typo, 2, &rs);
	assert_error_body(&rs, 400, "unit: no unit is named \"sales\"");
	free(rs.body);
	struct bwg_api_arg apps[] = {{"by", 2, "apps", 4}, {"class", 5, "p2p", 3}};
	route_get(&st, "/api/v1/top", 11, apps, 2, &rs);
	assert_error_body(&rs, 400, "by=hosts only");
	free(rs.body);
	route_get(&st, "/api/v1/hosts/10.2.0.2", 22, NULL, 0, &rs);
	assert_int_equal(rs.status, 200);
	assert_non_null(strstr(rs.body, "\"recent_blocks\":[{\"action\":\"block\"") ||
			strstr(rs.body, "\"rule\":\"block-p2p\""));
	free(rs.body);
	route_get(&st, "/api/v1/hosts/10.2.0.9", 22, NULL, 0, &rs);
	assert_error_body(&rs, 404, "no such user");
	free(rs.body);
	route_get(&st, "/api/v1/hosts/10.2.0.x", 22, NULL, 0, &rs);
	assert_error_body(&rs, 400, "not an IPv4 or IPv6 address");
	free(rs.body);
	route_get(&st, "/api/v1/units/finance", 21, NULL, 0, &rs);
	assert_int_equal(rs.status, 200);
	json_t *unit = json_loadb(rs.body, rs.len, 0, NULL);
	free(rs.body);
	assert_int_equal(json_integer_value(json_object_get(unit, "hosts")), 2);
	json_t *classes = json_object_get(unit, "classes");
	assert_int_equal(json_array_size(classes), 2);
	sum = 0;
	for (size_t i = 0; i < json_array_size(classes); i++)
		sum += json_integer_value(json_object_get(json_array_get(classes, i), "bytes"));
	assert_int_equal(sum, json_integer_value(json_object_get(unit, "bytes")));
	assert_int_equal(json_array_size(json_object_get(unit, "recent_blocks")), 1);
	json_decref(unit);
	route_get(&st, "/api/v1/units/sales", 19, NULL, 0, &rs);
	assert_error_body(&rs, 404, "no unit is named \"sales\"");
	free(rs.body);
	route_get(&st, "/api/v1/blocks", 14, NULL, 0, &rs);
	assert_int_equal(rs.status, 200);
	assert_non_null(strstr(rs.body, "\"user\":\"10.2.0.2\""));
	free(rs.body);
	/* accounting off */
	struct bwg_users off;
	bwg_users_init(&off, 0);
	st.users = &off;
	route_get(&st, "/api/v1/top", 11, args, 1, &rs);
	assert_error_body(&rs, 404, "per-user accounting is off");
	free(rs.body);
	bwg_users_fini(&off);
	bwg_users_fini(&u);
	bwg_user_deltas_fini(&d);
	bwg_api_snapshot_fini(&s);
}

/* The dashboard's files are served as they are, before any snapshot. */
static void
test_files(void **state)
{
	(void)state;
	static const char html[] = "<!DOCTYPE html>";
	struct bwg_api_file f = {"/", "text/html; charset=utf-8", html, sizeof(html) - 1};
	struct bwg_api_state st = {.files = &f, .n_files = 1};
	struct bwg_api_response rs;
	route_get(&st, "/", 1, NULL, 0, &rs);
	assert_int_equal(rs.status, 200);
	assert_string_equal(rs.content_type, "text/html; charset=utf-8");
	assert_int_equal(rs.len, sizeof(html) - 1);
	assert_memory_equal(rs.body, html, rs.len);
	free(rs.body);
	route_get(&st, "/index.htm", 10, NULL, 0, &rs);
	assert_error_body(&rs, 404, "no such path");
	free(rs.body);
	/* the endpoint table's own name for files is no path */
	route_get(&st, "(file)", 6, NULL, 0, &rs);
	assert_error_body(&rs, 404, "no such path");
	free(rs.body);
	route_get(&st, "/api/v1/hosts/", 14, NULL, 0, &rs);
	assert_error_body(&rs, 404, "no such path");
	free(rs.body);
	struct bwg_api_request rq = {.method = "POST", .path = "/", .path_len = 1};
	bwg_api_route(&st, &rq, &rs);
	assert_int_equal(rs.status, 405);
	free(rs.body);
}

static void
test_route_writes(void **state)
{
	(void)state;
	static const char token[] = "0123456789abcdef0123";
	struct bwg_api_state st = {.token = token, .token_len = sizeof(token) - 1};
	struct bwg_api_response rs;
	struct bwg_api_request rq = {.method = "PUT", .path = "/api/v1/policy", .path_len = 14,
				     .body = "{}", .body_len = 2};
	bwg_api_route(&st, &rq, &rs);
	assert_error_body(&rs, 401, "Authorization: Bearer TOKEN");
	assert_true(rs.authenticate);
	free(rs.body);
	char auth[64];
	snprintf(auth, sizeof(auth), "Bearer %s", token);
	rq.authorization = auth;
	rq.authorization_len = strlen(auth) - 1; /* a prefix of the token is not the token */
	bwg_api_route(&st, &rq, &rs);
	assert_int_equal(rs.status, 401);
	free(rs.body);
	rq.authorization_len = strlen(auth);
	bwg_api_route(&st, &rq, &rs);
	assert_int_equal(rs.write, BWG_API_WRITE_POLICY);
	assert_null(rs.body);
	bwg_api_write_answer(&rs, 400, "bad.json: rules[0]: \xff", 1);
	assert_error_body(&rs, 400, "rules[0]: \\xff");
	free(rs.body);
	st.token = NULL;
	bwg_api_route(&st, &rq, &rs);
	assert_error_body(&rs, 403, "no api.token_file");
	free(rs.body);
}

static void
test_flows_json(void **state)
{
	(void)state;
	struct bwg_api_flows f;
	assert_int_equal(bwg_api_flows_init(&f, 3), 0);
	for (int i = 0; i < 3; i++) {
		f.views[i].proto = 17;
		f.views[i].family = 4;
		f.views[i].bytes[0] = (uint64_t)(i + 1) * 100;
	}
	f.n = 3;
	f.seq = 7;
	f.workers = 2;
	f.workers_answered = 1;
	f.asked_ns = 1764036000000000000ull;
	f.as_of_ns = 1764036000250000000ull;
	bwg_api_flows_sort(&f);
	json_t *j = bwg_api_flows_json(&f, 2, NULL);
	assert_int_equal(json_array_size(json_object_get(j, "flows")), 2);
	assert_int_equal(json_integer_value(json_object_get(
			     json_array_get(json_object_get(j, "flows"), 0), "bytes_c2s")),
			 300);
	assert_true(json_real_value(json_object_get(j, "as_of")) == 1764036000.25);
	assert_false(json_is_true(json_object_get(j, "complete")));
	json_decref(j);
	/* Filters: every field given must match; apps by label or either part; hosts and
	 * the names under them; addresses of either end within a prefix. */
	snprintf(f.views[0].unit, sizeof(f.views[0].unit), "finance");
	snprintf(f.views[0].app, sizeof(f.views[0].app), "TLS.YouTube");
	snprintf(f.views[0].host, sizeof(f.views[0].host), "www.youtube.com");
	f.views[0].addr[1][0] = 10, f.views[0].addr[1][1] = 2, f.views[0].addr[1][3] = 7;
	snprintf(f.views[1].unit, sizeof(f.views[1].unit), "health");
	snprintf(f.views[1].app, sizeof(f.views[1].app), "TLS");
	struct bwg_api_flow_filter flt = {.unit = "finance"};
	j = bwg_api_flows_json(&f, 10, &flt);
	assert_int_equal(json_integer_value(json_object_get(j, "matched")), 1);
	json_decref(j);
	flt = (struct bwg_api_flow_filter){.app = "TLS"};
	j = bwg_api_flows_json(&f, 10, &flt);
	assert_int_equal(json_integer_value(json_object_get(j, "matched")), 2);
	json_decref(j);
	flt = (struct bwg_api_flow_filter){.app = "YouTube", .host = "youtube.com"};
	assert_true(bwg_api_flow_matches(&f.views[0], &flt));
	flt.host = "outube.com";
	assert_false(bwg_api_flow_matches(&f.views[0], &flt));
	flt = (struct bwg_api_flow_filter){.address = true, .family = 4, .prefix_len = 16,
					   .addr = {10, 2}};
	assert_true(bwg_api_flow_matches(&f.views[0], &flt));
	assert_false(bwg_api_flow_matches(&f.views[1], &flt));
	bwg_api_flows_fini(&f);
}

static void
test_limiter(void **state)
{
	(void)state;
	struct bwg_api_limiter l;
	uint64_t t = 1000000000ull;
	assert_int_equal(bwg_api_limiter_init(&l, 64, t), 0);
	const uint8_t a[4] = {127, 0, 0, 2}, b[4] = {127, 0, 0, 3}, op[4] = {127, 0, 0, 1};
	/* Two clients flood for a second, 10000 requests each. */
	uint32_t ok_a = 0, ok_op = 0, ok_health = 0;
	for (int i = 0; i < 10000; i++) {
		t += 50000; /* 20000 requests per second in all */
		ok_a += bwg_api_limiter_take(&l, 4, a, BWG_API_CLASS_ANON, t);
		bwg_api_limiter_take(&l, 4, b, BWG_API_CLASS_ANON, t);
		if (i % 500 == 0) {
			ok_op += bwg_api_limiter_take(&l, 4, op, BWG_API_CLASS_AUTH, t);
			ok_health += bwg_api_limiter_take(&l, 4, op, BWG_API_CLASS_HEALTH, t);
		}
	}
	/* Each flooder gets its own allowance only: burst + rate x 0.5 s. */
	assert_true(ok_a <= BWG_API_CLIENT_BURST + BWG_API_CLIENT_RATE * 0.5 + 1);
	assert_true(ok_a >= BWG_API_CLIENT_BURST);
	assert_int_equal(ok_op, 20);
	assert_int_equal(ok_health, 20);
	/* A third anonymous client still gets through. */
	const uint8_t c[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	assert_true(bwg_api_limiter_take(&l, 6, c, BWG_API_CLASS_ANON, t));
	assert_true(l.refused[BWG_API_CLASS_ANON] > 0);
	/* The operators' reserve: only the token draws on it. */
	for (int i = 0; i < 1000; i++)
		bwg_api_limiter_take(&l, 4, op, BWG_API_CLASS_AUTH, t);
	assert_false(bwg_api_limiter_take(&l, 4, op, BWG_API_CLASS_AUTH, t));
	assert_true(bwg_api_limiter_take(&l, 4, op, BWG_API_CLASS_HEALTH, t));
	char *m = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&m, &len);
	bwg_api_limiter_metrics(&l, f);
	fclose(f);
	char want[96];
	snprintf(want, sizeof(want), "bwgate_api_requests_refused_total{class=\"token\"} %llu\n",
		 (unsigned long long)l.refused[BWG_API_CLASS_AUTH]);
	assert_non_null(strstr(m, want));
	assert_non_null(strstr(m, "bwgate_api_clients_overflowed_total 0\n"));
	free(m);
	bwg_api_limiter_fini(&l);
}

static void
test_limiter_full(void **state)
{
	(void)state;
	struct bwg_api_limiter l;
	uint64_t t = 1;
	assert_int_equal(bwg_api_limiter_init(&l, 8, t), 0);
	/* Eight busy clients hold every entry: a ninth shares the overflow entry. */
	for (uint8_t i = 0; i < 8; i++) {
		const uint8_t a[4] = {10, 0, 0, i};
		assert_true(bwg_api_limiter_take(&l, 4, a, BWG_API_CLASS_ANON, t));
	}
	const uint8_t ninth[4] = {10, 0, 1, 0};
	assert_true(bwg_api_limiter_take(&l, 4, ninth, BWG_API_CLASS_ANON, t));
	assert_int_equal(l.overflowed, 1);
	/* Once their buckets are full again, entries are reused. */
	t += 10000000000ull;
	assert_true(bwg_api_limiter_take(&l, 4, ninth, BWG_API_CLASS_ANON, t));
	assert_int_equal(l.overflowed, 1);
	bwg_api_limiter_fini(&l);
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void
test_token_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/bwg-token.XXXXXX", path[128], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/token", dir);
	char *tok;
	size_t len;
	write_file(path, "0123456789abcdefXYZ\n", 20);
	assert_int_equal(bwg_api_token_read(path, &tok, &len, err, sizeof(err)), 0);
	assert_string_equal(tok, "0123456789abcdefXYZ");
	assert_int_equal(len, 19);
	assert_true(bwg_api_token_ok(tok, len, "Bearer 0123456789abcdefXYZ", 26));
	free(tok);
	/* A NUL byte: refused by name, nothing of the file quoted. */
	write_file(path, "0123456789abcdef\0secret-part\n", 29);
	assert_int_equal(bwg_api_token_read(path, &tok, &len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a NUL byte"));
	assert_null(strstr(err, "secret"));
	assert_null(tok);
	write_file(path, "short\n", 6);
	assert_int_equal(bwg_api_token_read(path, &tok, &len, err, sizeof(err)), -EINVAL);
	write_file(path, "0123456789abcdef with blanks\n", 29);
	assert_int_equal(bwg_api_token_read(path, &tok, &len, err, sizeof(err)), -EINVAL);
	assert_int_equal(bwg_api_token_read("/dev/zero", &tok, &len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "api.token_file: /dev/zero: not a regular file");
	char fifo[160];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(bwg_api_token_read(fifo, &tok, &len, err, sizeof(err)), -EINVAL);
	unlink(fifo);
	unlink(path);
	rmdir(dir);
}

static void
test_listen(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	char err[256];
	assert_int_equal(bwg_api_listen_parse("127.0.0.1:8080", &ss, err, sizeof(err)), 0);
	assert_int_equal(bwg_api_listen_parse("[::1]:80", &ss, err, sizeof(err)), 0);
	assert_int_equal(bwg_api_listen_parse("localhost:80", &ss, err, sizeof(err)), -EINVAL);
	assert_int_equal(bwg_api_listen_parse("127.0.0.1:", &ss, err, sizeof(err)), -EINVAL);
	assert_int_equal(bwg_api_listen_parse("127.0.0.1:99999", &ss, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "api.listen: \"127.0.0.1:99999\" is not ADDR:PORT (e.g. "
				 "127.0.0.1:8080 or [::1]:8080)");
}

/* IPFIX export shows in /healthz and /metrics only when configured, by collector. */
static void
test_health_ipfix(void **state)
{
	(void)state;
	struct bwg_api_snapshot s;
	fill(&s);
	s.ipfix.records = 5;
	s.ipfix.n = 2;
	snprintf(s.ipfix.c[0].url, sizeof(s.ipfix.c[0].url), "udp://192.0.2.1:4739");
	s.ipfix.c[0].records_sent = 5;
	snprintf(s.ipfix.c[1].url, sizeof(s.ipfix.c[1].url), "tcp://192.0.2.2:4739");
	s.ipfix.c[1].state = BWG_IPFIX_DOWN;
	s.ipfix.c[1].records_lost = 5;
	json_t *h = bwg_api_health_json(&s);
	assert_true(json_is_true(json_object_get(h, "ok")));
	json_t *x = json_object_get(h, "ipfix");
	assert_int_equal(json_integer_value(json_object_get(x, "records_lost")), 5);
	assert_int_equal(json_integer_value(json_object_get(x, "collectors_up")), 1);
	json_decref(h);
	size_t len;
	char *m = bwg_api_metrics_text(&s, &len);
	assert_non_null(m);
	assert_non_null(strstr(m, "bwgate_ipfix_records_sent_total{collector=\"udp://192.0.2.1:4739\"} 5\n"));
	assert_non_null(strstr(m, "bwgate_ipfix_records_lost_total{collector=\"tcp://192.0.2.2:4739\"} 5\n"));
	assert_non_null(strstr(m, "bwgate_ipfix_collector_up{collector=\"tcp://192.0.2.2:4739\"} 0\n"));
	free(m);
	s.ipfix.n = 0;
	m = bwg_api_metrics_text(&s, &len);
	assert_null(strstr(m, "bwgate_ipfix"));
	free(m);
	bwg_api_snapshot_fini(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_top_apps),	     cmocka_unit_test(test_top_parse),
	    cmocka_unit_test(test_health_and_error), cmocka_unit_test(test_health_ipfix),
	    cmocka_unit_test(test_ports_workers),
	    cmocka_unit_test(test_stats_rates),	     cmocka_unit_test(test_metrics),
	    cmocka_unit_test(test_utf8),	     cmocka_unit_test(test_route_hostile),
	    cmocka_unit_test(test_route_writes),     cmocka_unit_test(test_users),
	    cmocka_unit_test(test_files),     cmocka_unit_test(test_flows_json),
	    cmocka_unit_test(test_limiter),	     cmocka_unit_test(test_limiter_full),
	    cmocka_unit_test(test_token_file),	     cmocka_unit_test(test_listen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
