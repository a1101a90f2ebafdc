/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * API document tests: a hand-filled snapshot through every builder, compared against
 * golden strings (JSON with sorted keys), and the metrics text's shape.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bwg_api.h"

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
	s->cur.classes[1] = (struct bwg_obj_stats){60, 44000, 3, 10};
	s->cur.units[1] = (struct bwg_obj_stats){100, 64000, 7, 10};
	s->cur.apps[1] = (struct bwg_obj_stats){40, 20000, 4, 0};
	s->cur.apps[2] = (struct bwg_obj_stats){60, 44000, 3, 10};
	s->prev.cnt[BWG_CNT_RX_PACKETS] = 50;
	s->prev.cnt[BWG_CNT_RX_BYTES] = 32000;
	s->prev.apps[1] = (struct bwg_obj_stats){30, 19000, 4, 0};
	s->prev.apps[2] = (struct bwg_obj_stats){20, 13000, 2, 5};
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
	    "{\"by\":\"apps\",\"interval_s\":0.5,\"limit\":1,\"top\":[{\"bps\":496000.0,"
	    "\"bytes\":44000,\"dropped_packets\":10,\"flows\":3,\"interval_bytes\":31000,"
	    "\"interval_packets\":40,\"name\":\"BitTorrent\",\"packets\":60,\"pps\":80.0}]}");
	assert_json(
	    bwg_api_top_json(&s, BWG_API_TOP_UNITS, 10),
	    "{\"by\":\"units\",\"interval_s\":0.5,\"limit\":10,\"top\":[{\"bps\":1024000.0,"
	    "\"bytes\":64000,\"dropped_packets\":10,\"flows\":7,\"interval_bytes\":64000,"
	    "\"interval_packets\":100,\"name\":\"finance\",\"packets\":100,\"pps\":200.0}]}");
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
		    "{\"events_lost\":0,\"events_write_errors\":0,\"events_written\":2,\"ok\":true,"
		    "\"policy_version\":3,\"snapshot_seq\":5,\"workers\":1,\"workers_alive\":1}");
	s.events_write_errors = 1;
	json_t *h = bwg_api_health_json(&s);
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
		    "\"queues\":1,\"resets_sent\":0,\"role\":\"inside\",\"rx_bytes\":38000,"
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
		    "{\"drop_pps\":20.0,\"flows_per_s\":0.0,\"interval_s\":0.5,\"rx_bps\":512000.0,"
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_top_apps),	     cmocka_unit_test(test_top_parse),
	    cmocka_unit_test(test_health_and_error), cmocka_unit_test(test_ports_workers),
	    cmocka_unit_test(test_stats_rates),	     cmocka_unit_test(test_metrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
