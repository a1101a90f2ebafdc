/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * GET /api/v1/explain through the router against a compiled policy: the names /flows
 * prints are taken, the app's default category counts, schedules are evaluated at the
 * time asked for, and what no flow could carry is refused. (tests/traffic/check_explain.py
 * compares explain with the flow records of every generated fixture.)
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

static struct bwg_dpi *dpi;
static struct bwg_policy *policy;
static struct bwg_api_snapshot snap;

/* Web is limited on weekdays' working hours; "guests" are limited all week. */
static const char policy_json[] =
    "{'timezone': 'Asia/Shanghai', 'default_action': 'allow',"
    " 'units': {'finance': ['10.2.0.0/16'], 'guests': ['10.9.0.0/16']},"
    " 'classes': {"
    "   'video': {'apps': ['YouTube'], 'categories': ['Video', 'Music'],"
    "             'hosts': ['bilibili.com']},"
    "   'web': {'categories': ['Web']}},"
    " 'schedules': {"
    "   'workhours': [{'days': ['mon', 'tue', 'wed', 'thu', 'fri'],"
    "                  'from': '08:30', 'to': '17:30'}],"
    "   'always': [{'days': ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],"
    "               'from': '00:00', 'to': '24:00'}]},"
    " 'rules': ["
    "   {'name': 'block-video', 'classes': ['video'], 'action': 'block'},"
    "   {'name': 'limit-guests', 'units': ['guests'], 'classes': ['web'],"
    "    'schedule': 'always', 'action': 'limit', 'limit': {'rate': '2Mbit', 'scope': 'aggregate'}},"
    "   {'name': 'limit-web-workhours', 'classes': ['web'], 'schedule': 'workhours',"
    "    'action': 'limit', 'limit': {'rate': '2Mbit', 'scope': 'per_host'}},"
    "   {'name': 'allow-web', 'classes': ['web'], 'action': 'allow', 'mode': 'monitor',"
    "    'quota': {'period': 'week', 'minutes': 300, 'then': 'block'},"
    "    'penalty': {'above': '20Mbit', 'for': 10, 'then': {'rate': '2Mbit'}, 'lasts': 30}},"
    "   {'name': 'allow-unknown', 'classes': ['unknown'], 'action': 'allow'}]}";

static int
setup(void **state)
{
	(void)state;
	char err[BWG_CONFIG_ERR_MAX];
	struct bwg_dpi_conf dc = {.pool_size = 1, .max_pkts = {80, 24, 24}};
	if (bwg_dpi_create(&dpi, &dc, err, sizeof(err)) != 0)
		return -1;
	char *text = strdup(policy_json);
	for (char *p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	struct bwg_config *c;
	int rc = bwg_config_parse(&c, text, strlen(text), "t.json", "/tmp", err, sizeof(err));
	free(text);
	if (rc || bwg_policy_compile(&policy, c, dpi, 1, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return bwg_api_snapshot_init(&snap, bwg_dpi_app_count(dpi), 1);
}

static int
teardown(void **state)
{
	(void)state;
	bwg_api_snapshot_fini(&snap);
	bwg_policy_free(policy);
	bwg_dpi_destroy(dpi);
	return 0;
}

/* GET /api/v1/explain?QUERY ("k=v&k=v", no escapes needed here): the response. */
static json_t *
explain(const char *query, unsigned want_status)
{
	struct bwg_api_arg args[16];
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", query);
	uint32_t n = 0;
	for (char *kv = strtok(buf, "&"); kv && n < 16; kv = strtok(NULL, "&")) {
		char *eq = strchr(kv, '=');
		*eq = 0;
		args[n++] = (struct bwg_api_arg){kv, strlen(kv), eq + 1, strlen(eq + 1)};
	}
	struct bwg_api_state st = {.snap = &snap, .policy = policy, .dpi = dpi,
				   /* Monday 2026-11-30 10:00 in Beijing */
				   .now_ns = 1796004000ull * 1000000000ull};
	struct bwg_api_request rq = {.method = "GET", .path = "/api/v1/explain", .path_len = 15,
				     .args = args, .n_args = n};
	struct bwg_api_response rs;
	bwg_api_route(&st, &rq, &rs);
	json_error_t je;
	json_t *j = json_loadb(rs.body, rs.len, 0, &je);
	if (rs.status != want_status)
		fail_msg("%s: %u %.*s", query, rs.status, (int)rs.len, rs.body);
	free(rs.body);
	return j;
}

static void
expect(const char *query, const char *cls, const char *source, const char *rule)
{
	json_t *j = explain(query, 200);
	const char *c = json_string_value(json_object_get(j, "class"));
	const char *s = json_string_value(json_object_get(j, "class_source"));
	const char *r = json_string_value(json_object_get(j, "rule"));
	if (strcmp(c, cls) || strcmp(s, source) || strcmp(r, rule))
		fail_msg("%s: %s/%s/%s, want %s/%s/%s", query, c, s, r, cls, source, rule);
	json_decref(j);
}

static void
refused(const char *query, const char *part)
{
	json_t *j = explain(query, 400);
	const char *e = json_string_value(json_object_get(j, "error"));
	if (!e || !strstr(e, part))
		fail_msg("%s: \"%s\" lacks \"%s\"", query, e ? e : "", part);
	json_decref(j);
}

static void
test_names_as_flows_print_them(void **state)
{
	(void)state;
	/* HTTP is "Web" to nDPI: the class a flow of it gets, not unknown. */
	expect("src=10.2.0.5&dst=93.184.216.34&app=HTTP&host=www.example.org&at=2026-11-28T10:00",
	       "web", "ndpi_category", "allow-web");
	/* Spotify's category is Music: video here, as on the wire. */
	expect("src=10.2.0.5&app=Spotify", "video", "ndpi_category", "block-video");
	/* The label /flows prints. */
	expect("src=10.2.0.5&app=TLS.YouTube", "video", "ndpi_app", "block-video");
	expect("src=10.2.0.5&app=TLS&host=www.bilibili.com", "video", "host_list", "block-video");
	/* A name learned from DNS, for a flow with none of its own. */
	expect("src=10.2.0.5&app=TLS&learned=bilibili.com", "video", "dns", "block-video");
	/* A category given wins over the app's own. */
	expect("src=10.2.0.5&app=HTTP&category=Music", "video", "ndpi_category", "block-video");
	json_t *j = explain("src=10.2.0.5&app=TLS.YouTube", 200);
	assert_string_equal(json_string_value(json_object_get(j, "category")), "Media");
	assert_string_equal(json_string_value(json_object_get(j, "class_match")),
			    "nDPI app YouTube");
	json_decref(j);
}

static void
test_schedules_at(void **state)
{
	(void)state;
	/* Saturday: working hours are not on; Monday 10:00 they are (default now). */
	expect("src=10.2.0.5&app=HTTP&at=2026-11-28T10:00", "web", "ndpi_category", "allow-web");
	expect("src=10.2.0.5&app=HTTP", "web", "ndpi_category", "limit-web-workhours");
	expect("src=10.2.0.5&app=HTTP&at=2026-11-30T10:00:00+08:00", "web", "ndpi_category",
	       "limit-web-workhours");
	expect("src=10.2.0.5&app=HTTP&at=2026-11-30T02:00:00Z", "web", "ndpi_category",
	       "limit-web-workhours");
	expect("src=10.2.0.5&app=HTTP&at=1796004000", "web", "ndpi_category",
	       "limit-web-workhours");
	expect("src=10.2.0.5&app=HTTP&at=2026-11-30T18:00", "web", "ndpi_category", "allow-web");
	/* An all-week schedule holds on a Sunday night as well. */
	expect("src=10.9.0.5&app=HTTP&at=2026-11-29T23:59", "web", "ndpi_category",
	       "limit-guests");
	json_t *j = explain("src=10.9.0.5&app=HTTP&at=2026-11-29T23:59", 200);
	assert_string_equal(json_string_value(json_object_get(j, "at_local")),
			    "2026-11-29T23:59:00+08:00");
	assert_string_equal(json_string_value(json_object_get(j, "action")), "limit");
	json_decref(j);
}

/* A rule's mode, quota and penalty in explain; a user's standing in /api/v1/quotas. */
static void
test_quota_rules(void **state)
{
	(void)state;
	json_t *j = explain("src=10.2.0.5&app=HTTP&at=2026-11-28T10:00", 200);
	assert_string_equal(json_string_value(json_object_get(j, "mode")), "monitor");
	assert_true(json_is_true(json_object_get(j, "forwarded")));
	json_t *q = json_object_get(j, "quota"), *p = json_object_get(j, "penalty");
	assert_string_equal(json_string_value(json_object_get(q, "period")), "week");
	assert_int_equal(json_integer_value(json_object_get(q, "minutes")), 300);
	assert_string_equal(json_string_value(json_object_get(q, "then")), "block");
	assert_int_equal(json_integer_value(json_object_get(p, "rate_bps")), 2000000);
	json_decref(j);
	j = explain("src=10.2.0.5&app=YouTube", 200);
	assert_string_equal(json_string_value(json_object_get(j, "mode")), "enforce");
	assert_null(json_object_get(j, "quota"));
	json_decref(j);

	struct bwg_quotas *qs;
	assert_int_equal(bwg_quotas_create(&qs, 16), 0);
	uint8_t a[16] = {10, 2, 0, 5};
	struct bwg_quota *e =
		bwg_quotas_get(qs, bwg_quota_rule_id("allow-web"), 4, a, 20420 /* 2025-11-28 */);
	atomic_store(&e->minutes, 42);
	struct bwg_api_state st = {.snap = &snap, .policy = policy, .dpi = dpi, .quotas = qs,
				   .now_ns = 1796004000ull * 1000000000ull};
	struct bwg_api_arg arg = {"host", 4, "10.2.0.5", 8};
	struct bwg_api_request rq = {.method = "GET", .path = "/api/v1/quotas", .path_len = 14,
				     .args = &arg, .n_args = 1};
	struct bwg_api_response rs;
	bwg_api_route(&st, &rq, &rs);
	assert_int_equal(rs.status, 200);
	j = json_loadb(rs.body, rs.len, 0, NULL);
	free(rs.body);
	json_t *u = json_array_get(json_object_get(j, "quotas"), 0);
	assert_string_equal(json_string_value(json_object_get(u, "rule")), "allow-web");
	/* The entry's period (a year ago) is over: this week starts from zero. */
	assert_int_equal(json_integer_value(json_object_get(u, "used_minutes")), 0);
	assert_string_equal(json_string_value(json_object_get(u, "period_start")), "2026-11-30");
	json_t *pen = json_array_get(json_object_get(j, "penalties"), 0);
	assert_false(json_is_true(json_object_get(pen, "active")));
	json_decref(j);
	atomic_store(&e->period, 20787); /* this week's Monday, 2026-11-30 */
	bwg_api_route(&st, &rq, &rs);
	j = json_loadb(rs.body, rs.len, 0, NULL);
	free(rs.body);
	u = json_array_get(json_object_get(j, "quotas"), 0);
	assert_int_equal(json_integer_value(json_object_get(u, "used_minutes")), 42);
	assert_int_equal(json_integer_value(json_object_get(u, "remaining_minutes")), 258);
	json_decref(j);
	rq.n_args = 0;
	bwg_api_route(&st, &rq, &rs);
	assert_int_equal(rs.status, 400);
	free(rs.body);
	bwg_quotas_destroy(qs);
}

static void
test_refused(void **state)
{
	(void)state;
	refused("src=10.2.0.5&host=http://www.bilibili.com/", "not a URL");
	refused("src=10.2.0.5&host=*.bilibili.com", "not a URL, a port or a pattern");
	refused("src=10.2.0.5&app=Youtube", "did you mean \"YouTube\"");
	refused("src=10.2.0.5&app=TLS.Youtube", "\"Youtube\" is not an nDPI 4.2 application");
	refused("src=10.2.0.5&category=video", "not an nDPI category");
	refused("src=10.2.0.5&at=saturday", "at: give Unix seconds");
	refused("src=10.2.0.5&at=2026-02-30T10:00", "at: give Unix seconds");
	refused("src=10.2.0.5&detector=nope", "not a bwgate detector");
	refused("src=10.2.0.5&guessed=maybe", "guessed: give true or false");
	refused("src=10.2.0.5&host=a.example&learned=b.example", "learns none");
	refused("src=www.example.org", "src: give the client's IP address");
	refused("src=10.2.0.5&unit=finance", "unknown query argument \"unit\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_as_flows_print_them),
	    cmocka_unit_test(test_schedules_at),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_quota_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
