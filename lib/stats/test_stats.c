/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stats tests: the JSON document of a hand-filled snapshot against a golden string,
 * summing per-worker snapshots, clearing, and the counter name tables.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bwg_stats.h"

static const char *const class_names[] = {"unknown", "p2p"};
static const char *const unit_names[] = {"", "finance"};
static const char *const app_names[] = {"Unknown", "HTTP", "BitTorrent"};

static void
fill(struct bwg_stats *s)
{
	s->cnt[BWG_CNT_RX_PACKETS] = 100;
	s->cnt[BWG_CNT_RX_BYTES] = 64000;
	s->cnt[BWG_CNT_FORWARDED_PACKETS] = 90;
	s->cnt[BWG_CNT_FORWARDED_BYTES] = 60000;
	s->cnt[BWG_CNT_DROPPED_PACKETS] = 10;
	s->cnt[BWG_CNT_DROPPED_BYTES] = 4000;
	s->cnt[BWG_CNT_FLOWS_CREATED] = 7;
	s->cnt[BWG_CNT_FLOWS_EXPIRED] = 3;
	s->cnt[BWG_CNT_DPI_PACKETS] = 12;
	s->cnt[BWG_CNT_EVENTS] = 2;
	s->drops[BWG_DROP_POLICY_BLOCK] = 6;
	s->drops[BWG_DROP_POLICY_LIMIT] = 3;
	s->drops[BWG_DROP_MALFORMED] = 1;
	s->malformed[BWG_PKT_L4_TRUNCATED] = 1;
	s->flows_active = 4;
	s->classes[0] = (struct bwg_obj_stats){40, 20000, 4, 0};
	s->classes[1] = (struct bwg_obj_stats){60, 44000, 3, 9, 3600};
	s->units[0] = (struct bwg_obj_stats){100, 64000, 7, 10, 4000};
	s->apps[0] = (struct bwg_obj_stats){40, 20000, 4, 0};
	s->apps[2] = (struct bwg_obj_stats){60, 44000, 3, 9, 3600};
	s->class_sources[BWG_SRC_NDPI_APP] = 3;
	s->class_sources[BWG_SRC_DEFAULT] = 4;
	s->dns.responses = 5;
	s->dns.learned = 8;
	s->dns.taught = 2;
	s->dns.malformed = 1;
	s->behaviour.flows = 30;
	s->behaviour.p2p_flows = 2;
	s->behaviour.tagged = 1;
	s->behaviour.active = 1;
	s->behaviour.busy = 4;
	s->rules_version = 3;
	s->rules[0] = (struct bwg_rule_stats){.dropped_packets = 6, .dropped_flows = 2};
	s->rules[1] = (struct bwg_rule_stats){.would_limit_packets = 5, .would_limit_flows = 1};
}

static const struct bwg_stats_rule_name rule_names[] = {
	{"no-p2p", BWG_ACTION_BLOCK, false},
	{"web", BWG_ACTION_LIMIT, true},
	{"default", BWG_ACTION_ALLOW, false},
};

static const char golden[] =
	"{\"apps\":["
	"{\"bytes\":20000,\"dropped_bytes\":0,\"dropped_packets\":0,\"flows\":4,\"forwarded_bytes\":20000,\"forwarded_packets\":40,\"name\":\"Unknown\",\"packets\":40},"
	"{\"bytes\":44000,\"dropped_bytes\":3600,\"dropped_packets\":9,\"flows\":3,\"forwarded_bytes\":40400,\"forwarded_packets\":51,\"name\":\"BitTorrent\",\"packets\":60}],"
	"\"behaviour\":{\"active\":1,\"busy\":4,\"evictions\":0,\"flows\":30,\"p2p_flows\":2,"
	"\"tagged\":1},"
	"\"class_sources\":{\"behaviour\":0,\"default\":4,\"dns\":0,\"flow_name\":0,"
	"\"heuristic\":0,\"host_list\":0,\"ndpi_app\":3,\"ndpi_category\":0,\"socket\":0},"
	"\"classes\":["
	"{\"bytes\":20000,\"dropped_bytes\":0,\"dropped_packets\":0,\"flows\":4,\"forwarded_bytes\":20000,\"forwarded_packets\":40,\"name\":\"unknown\",\"packets\":40},"
	"{\"bytes\":44000,\"dropped_bytes\":3600,\"dropped_packets\":9,\"flows\":3,\"forwarded_bytes\":40400,\"forwarded_packets\":51,\"name\":\"p2p\",\"packets\":60}],"
	"\"counters\":{\"dpi_packets\":12,\"dpi_pool_exhausted\":0,\"dpi_states_reclaimed\":0,"
	"\"dropped_bytes\":4000,\"dropped_packets\":10,\"events\":2,\"events_lost\":0,"
	"\"flow_table_full\":0,\"flows_created\":7,\"flows_evicted_unestablished\":0,"
	"\"flows_expired\":3,\"forwarded_bytes\":60000,\"forwarded_packets\":90,"
	"\"fragments\":0,\"fragments_by_host\":0,\"fragments_unmatched\":0,"
	"\"host_table_full\":0,\"meter_table_full\":0,\"non_ip\":0,\"notices\":0,\"penalties\":0,\"penalties_ended\":0,\"policy_updates\":0,\"quotas_reached\":0,"
	"\"resets\":0,\"resets_throttled\":0,\"rx_bytes\":64000,\"rx_packets\":100,"
	"\"tunnels\":0,\"tx_full_bytes\":0,\"user_deltas_lost\":0},"
	"\"dns\":{\"busy\":0,\"evictions\":0,\"learned\":8,\"malformed\":1,\"responses\":5,"
	"\"taught\":2},"
	"\"drops\":{\"flow_table_full\":0,\"fragment_unmatched\":0,\"host_flow_limit\":0,"
	"\"malformed\":1,\"non_ip\":0,\"policy_block\":6,\"policy_limit\":3,\"tx_full\":0},"
	"\"flows\":{\"active\":4,\"capacity\":1024,\"created\":7,\"expired\":3},"
	"\"malformed\":{\"ipv4_bad_header\":0,\"ipv4_bad_length\":0,\"ipv6_bad_extension\":0,"
	"\"ipv6_bad_header\":0,\"l2_truncated\":0,\"l4_truncated\":1,\"tcp_bad_offset\":0,"
	"\"tunnel_too_deep\":0},"
	"\"ports\":[{\"name\":\"inside\"}],"
	"\"rules\":["
	"{\"action\":\"block\",\"dropped_flows\":2,\"dropped_packets\":6,\"mode\":\"enforce\",\"name\":\"no-p2p\",\"would_block_flows\":0,\"would_block_packets\":0,\"would_limit_flows\":0,\"would_limit_packets\":0},"
	"{\"action\":\"limit\",\"dropped_flows\":0,\"dropped_packets\":0,\"mode\":\"monitor\",\"name\":\"web\",\"would_block_flows\":0,\"would_block_packets\":0,\"would_limit_flows\":1,\"would_limit_packets\":5},"
	"{\"action\":\"allow\",\"dropped_flows\":0,\"dropped_packets\":0,\"mode\":\"enforce\",\"name\":\"default\",\"would_block_flows\":0,\"would_block_packets\":0,\"would_limit_flows\":0,\"would_limit_packets\":0}],"
	"\"totals\":{\"dropped_bytes\":4000,\"dropped_packets\":10,\"rx_bytes\":64000,"
	"\"rx_packets\":100,\"tx_bytes\":60000,\"tx_packets\":90},"
	"\"units\":["
	"{\"bytes\":64000,\"dropped_bytes\":4000,\"dropped_packets\":10,\"flows\":7,\"forwarded_bytes\":60000,\"forwarded_packets\":90,\"name\":\"\",\"packets\":100},"
	"{\"bytes\":0,\"dropped_bytes\":0,\"dropped_packets\":0,\"flows\":0,\"forwarded_bytes\":0,\"forwarded_packets\":0,\"name\":\"finance\",\"packets\":0}],"
	"\"workers\":[]}";

static const struct bwg_stats_names names = {
	.classes = class_names,
	.n_classes = 2,
	.units = unit_names,
	.n_units = 2,
	.apps = app_names,
	.n_apps = 3,
	.rules = rule_names,
	.n_rules = 3,
	.rules_version = 3,
};

static void
test_json_golden(void **state)
{
	(void)state;
	struct bwg_stats *s = aligned_alloc(64, sizeof(*s));
	assert_non_null(s);
	assert_int_equal(bwg_stats_init(s, 3), 0);
	fill(s);
	json_t *ports = json_pack("[{s:s}]", "name", "inside");
	json_t *doc = bwg_stats_json(s, &names, 1024, ports, NULL);
	assert_non_null(doc);
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, golden);
	free(text);
	json_decref(doc);

	/* Pure: the same snapshot gives the same document again. */
	doc = bwg_stats_json(s, &names, 1024, json_pack("[{s:s}]", "name", "inside"), NULL);
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, golden);
	free(text);
	json_decref(doc);
	bwg_stats_fini(s);
	free(s);
}

static void
test_json_empty(void **state)
{
	(void)state;
	/* Nothing counted: every configured class and unit is listed, no app is. */
	struct bwg_stats *s = aligned_alloc(64, sizeof(*s));
	assert_int_equal(bwg_stats_init(s, 3), 0);
	json_t *doc = bwg_stats_json(s, &names, 0, NULL, json_array());
	assert_int_equal(json_array_size(json_object_get(doc, "apps")), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "classes")), 2);
	assert_int_equal(json_array_size(json_object_get(doc, "units")), 2);
	assert_int_equal(json_object_size(json_object_get(doc, "drops")), BWG_DROP_MAX);
	assert_int_equal(json_object_size(json_object_get(doc, "counters")), BWG_CNT_MAX);
	assert_int_equal(json_object_size(json_object_get(doc, "malformed")),
			 BWG_PKT_RESULT_MAX - BWG_PKT_L2_TRUNCATED);
	assert_true(json_is_array(json_object_get(doc, "ports")));
	assert_true(json_is_array(json_object_get(doc, "workers")));
	json_decref(doc);
	bwg_stats_fini(s);
	free(s);
}

static void
test_add_and_clear(void **state)
{
	(void)state;
	struct bwg_stats *a = aligned_alloc(64, sizeof(*a)), *b = aligned_alloc(64, sizeof(*b)),
			 *sum = aligned_alloc(64, sizeof(*sum));
	assert_int_equal(bwg_stats_init(a, 3), 0);
	assert_int_equal(bwg_stats_init(b, 3), 0);
	assert_int_equal(bwg_stats_init(sum, 3), 0);
	fill(a);
	fill(b);
	b->cnt[BWG_CNT_EVENTS_LOST] = 5;
	b->drops[BWG_DROP_TX_FULL] = 4;
	b->units[255].packets = 8;
	b->classes[BWG_CLASS_MAX - 1].flows = 2;
	b->apps[1].bytes = 77;
	bwg_stats_add(sum, a);
	bwg_stats_add(sum, b);
	assert_int_equal(sum->cnt[BWG_CNT_RX_PACKETS], 200);
	assert_int_equal(sum->cnt[BWG_CNT_RX_BYTES], 128000);
	assert_int_equal(sum->rules[0].dropped_flows, 4);
	assert_int_equal(sum->cnt[BWG_CNT_EVENTS_LOST], 5);
	assert_int_equal(sum->drops[BWG_DROP_POLICY_BLOCK], 12);
	assert_int_equal(sum->drops[BWG_DROP_TX_FULL], 4);
	assert_int_equal(sum->malformed[BWG_PKT_L4_TRUNCATED], 2);
	assert_int_equal(sum->flows_active, 8);
	assert_int_equal(sum->classes[1].dropped_packets, 18);
	assert_int_equal(sum->classes[1].bytes, 88000);
	assert_int_equal(sum->classes[BWG_CLASS_MAX - 1].flows, 2);
	assert_int_equal(sum->units[0].flows, 14);
	assert_int_equal(sum->units[255].packets, 8);
	assert_int_equal(sum->apps[2].packets, 120);
	assert_int_equal(sum->apps[1].bytes, 77);
	assert_int_equal(sum->dns.learned, 16);
	assert_int_equal(sum->dns.taught, 4);
	assert_int_equal(sum->behaviour.flows, 60);
	assert_int_equal(sum->behaviour.tagged, 2);
	assert_int_equal(sum->behaviour.busy, 8);
	assert_int_equal(sum->rules_version, 3);
	assert_int_equal(sum->rules[0].dropped_packets, 12);
	assert_int_equal(sum->rules[1].would_limit_flows, 2);
	/* Sources are untouched. */
	assert_int_equal(a->cnt[BWG_CNT_RX_PACKETS], 100);

	/* A source with fewer apps (an older DPI context) adds what it has. */
	struct bwg_stats *small = aligned_alloc(64, sizeof(*small));
	assert_int_equal(bwg_stats_init(small, 1), 0);
	small->apps[0].packets = 1;
	/* A worker still counting for another policy's rules adds nothing to them. */
	small->rules_version = 4;
	small->rules[0].dropped_packets = 1;
	bwg_stats_add(sum, small);
	assert_int_equal(sum->apps[0].packets, 81);
	assert_int_equal(sum->rules[0].dropped_packets, 12);
	bwg_stats_add(small, sum); /* and the reverse never writes past its array */
	assert_int_equal(small->apps[0].packets, 82);

	struct bwg_obj_stats *apps = sum->apps;
	bwg_stats_clear(sum);
	assert_ptr_equal(sum->apps, apps);
	assert_int_equal(sum->app_count, 3);
	assert_int_equal(sum->cnt[BWG_CNT_RX_PACKETS], 0);
	assert_int_equal(sum->apps[2].packets, 0);
	assert_int_equal(sum->units[255].packets, 0);

	bwg_stats_fini(a);
	bwg_stats_fini(b);
	bwg_stats_fini(sum);
	bwg_stats_fini(small);
	free(a);
	free(b);
	free(sum);
	free(small);
}

static void
test_names(void **state)
{
	(void)state;
	for (int i = 0; i < BWG_CNT_MAX; i++)
		assert_non_null(bwg_counter_names[i]);
	for (int i = 0; i < BWG_DROP_MAX; i++)
		assert_non_null(bwg_drop_names[i]);
	assert_string_equal(bwg_drop_names[BWG_DROP_POLICY_BLOCK], "policy_block");
	assert_string_equal(bwg_drop_names[BWG_DROP_FLOW_TABLE_FULL], "flow_table_full");
	assert_string_equal(bwg_counter_names[BWG_CNT_RX_PACKETS], "rx_packets");
	assert_string_equal(bwg_counter_names[BWG_CNT_EVENTS_LOST], "events_lost");
}

/* Counter slots follow names across policies: reordered names keep their slots, a new
 * name takes a fresh one, and once every slot was used a name that left the live
 * policies gives its slot up, its count turned into the base the new name starts from. */
static void
test_slots(void **state)
{
	(void)state;
	struct bwg_stats_slots t;
	struct bwg_obj_stats sums[8] = {{0}};
	uint16_t out[4];
	assert_int_equal(bwg_stats_slots_init(&t, 4, true), 0);
	const char *v1[] = {"", "finance", "hq"};
	assert_int_equal(bwg_stats_slots_bind(&t, v1, 3, 1, 1, sums, out), 0);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], 2);
	sums[1].packets = 100; /* finance */
	sums[2].packets = 7;   /* hq */
	const char *v2[] = {"", "hq", "finance"}; /* reordered: same slots */
	assert_int_equal(bwg_stats_slots_bind(&t, v2, 3, 2, 2, sums, out), 0);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 2);
	assert_int_equal(out[2], 1);
	const char *v3[] = {"", "school"}; /* new: the last fresh slot */
	assert_int_equal(bwg_stats_slots_bind(&t, v3, 2, 3, 3, sums, out), 0);
	assert_int_equal(out[1], 3);
	/* No fresh slot left, and version 2 (finance, hq) may still be read: no room. */
	const char *v4[] = {"", "school", "lab"};
	assert_int_equal(bwg_stats_slots_bind(&t, v4, 3, 4, 2, sums, out), -ENOSPC);
	assert_int_equal(t.n, 4);
	assert_string_equal(t.names[1], "finance");
	/* Once it is not: "lab" takes a slot of a name gone since version 2, from zero. */
	assert_int_equal(bwg_stats_slots_bind(&t, v4, 3, 4, 3, sums, out), 0);
	assert_true(out[2] == 1 || out[2] == 2);
	uint16_t lab = out[2];
	sums[lab].packets += 5;
	struct bwg_obj_stats seen[8];
	memcpy(seen, sums, sizeof(seen));
	bwg_stats_slots_rebase(&t, seen);
	assert_int_equal(seen[lab].packets, 5);
	assert_int_equal(seen[3].packets, 0);
	const char *by_slot[4];
	bwg_stats_slots_names(&t, by_slot);
	assert_string_equal(by_slot[lab], "lab");
	assert_string_equal(by_slot[0], "");
	bwg_stats_slots_fini(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_golden),
		cmocka_unit_test(test_json_empty),
		cmocka_unit_test(test_add_and_clear),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
