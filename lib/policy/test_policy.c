/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Policy tests against a real nDPI name table: compile errors with their JSON paths,
 * class precedence (host > app > category > master), unit lookup, first-match-wins
 * rule evaluation, schedules in the configured time zone, local times across daylight-
 * saving changes, civil dates, and the address plan on its own.
 *
 * JSON is written with single quotes; compile() turns them into double quotes.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "bwg_config.h"
#include "bwg_dpi.h"
#include "bwg_policy.h"

#define NAME "test.json"
#define SEC 1000000000ull

static struct bwg_dpi *dpi;
static char err[BWG_CONFIG_ERR_MAX];

static int
group_setup(void **state)
{
	(void)state;
	struct bwg_dpi_conf conf = {.pool_size = 16, .max_pkts = {80, 24, 24}};
	if (bwg_dpi_create(&dpi, &conf, err, sizeof(err)) != 0) {
		print_error("bwg_dpi_create: %s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	bwg_dpi_destroy(dpi);
	return 0;
}

/* Parse and compile; returns the rc of whichever step failed, the policy on success. */
static int
compile(const char *sq, const char *dir, struct bwg_policy **out)
{
	char *text = strdup(sq);
	assert_non_null(text);
	for (char *p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	struct bwg_config *c = NULL;
	err[0] = 0;
	*out = NULL;
	int rc = bwg_config_parse(&c, text, strlen(text), NAME, dir ? dir : "/etc/bwgate", err,
				  sizeof(err));
	free(text);
	if (rc)
		return rc;
	return bwg_policy_compile(out, c, dpi, 1, err, sizeof(err));
}

/* The class lib/classify decides from nDPI's answer and a host name alone. */
static uint8_t
classify(const struct bwg_policy *p, uint16_t master, uint16_t app, uint16_t category,
	 const char *host)
{
	static const uint8_t none[16];
	struct bwg_class_evidence e = {.master = master, .app = app, .category = category,
				       .host = host, .family = 4, .client = none, .server = none};
	struct bwg_class_decision d;
	bwg_classes_decide(&p->classes, &e, &d);
	return d.cls;
}

static struct bwg_policy *
compile_ok(const char *sq)
{
	struct bwg_policy *p;
	if (compile(sq, NULL, &p) != 0)
		fail_msg("policy refused: %s", err);
	assert_non_null(p);
	return p;
}

static void
compile_fails(const char *sq, const char *msg)
{
	struct bwg_policy *p;
	int rc = compile(sq, NULL, &p);
	if (rc == 0) {
		bwg_policy_free(p);
		fail_msg("policy accepted, expected: %s", msg);
	}
	assert_int_equal(rc, -EINVAL);
	assert_null(p);
	assert_string_equal(err, msg);
}

static uint16_t
app(const char *name)
{
	int id = bwg_dpi_app_id(dpi, name);
	if (id <= 0)
		fail_msg("nDPI has no app \"%s\"", name);
	return (uint16_t)id;
}

static uint16_t
category(const char *name)
{
	int id = bwg_dpi_category_id(dpi, name);
	if (id <= 0)
		fail_msg("nDPI has no category \"%s\"", name);
	return (uint16_t)id;
}

/* Class id by name in p, or fail. */
static uint8_t
class_id(const struct bwg_policy *p, const char *name)
{
	for (uint32_t i = 0; i < p->n_classes; i++)
		if (strcmp(p->class_names[i], name) == 0)
			return (uint8_t)i;
	fail_msg("no class \"%s\"", name);
	return 0xff;
}

static uint16_t
unit_id(const struct bwg_policy *p, const char *name)
{
	for (uint32_t i = 0; i < p->n_units; i++)
		if (strcmp(p->unit_names[i], name) == 0)
			return (uint16_t)i;
	fail_msg("no unit \"%s\"", name);
	return 0xffff;
}

/* ---- compile errors -------------------------------------------------------------------- */

static void
test_compile_errors(void **state)
{
	(void)state;
	compile_fails("{'default_action': 'allow', 'rules': [], 'classes': {'p2p': {'apps': "
		      "['BitTorrent', 'Bittorent']}}}",
		      NAME ": classes.p2p.apps[1]: \"Bittorent\" is not an nDPI application name "
			   "(did you mean \"BitTorrent\"?)");
	compile_fails("{'default_action': 'allow', 'rules': [], 'classes': {"
		      "'video': {'apps': ['YouTube', 'QQ']}, 'chat': {'apps': ['WeChat', 'QQ']}}}",
		      NAME ": classes.chat.apps[1]: \"QQ\" is already in class \"video\"");
	compile_fails("{'default_action': 'allow', 'rules': [], 'classes': {"
		      "'video': {'categories': ['Videos']}}}",
		      NAME ": classes.video.categories[0]: \"Videos\" is not an nDPI category name "
			   "(did you mean \"Video\"?)");
	compile_fails("{'default_action': 'allow', 'rules': [], 'classes': {"
		      "'video': {'categories': ['Video']}, 'web': {'categories': ['Web', "
		      "'Video']}}}",
		      NAME ": classes.web.categories[1]: \"Video\" is already in class \"video\"");
	compile_fails("{'default_action': 'allow', 'rules': [], 'classes': {"
		      "'video': {'hosts': ['v.qq.com']}, 'chat': {'hosts': ['qq.com', 'V.QQ.com']}}}",
		      NAME ": classes.chat.hosts[1]: \"v.qq.com\" is already a host of class "
			   "\"video\"");
	compile_fails("{'default_action': 'allow', 'classes': {}, 'rules': [{'name': 'yt', "
		      "'apps': ['Youtube'], 'action': 'block'}]}",
		      NAME ": rules[0].apps[0]: \"Youtube\" is not an nDPI application name "
			   "(did you mean \"YouTube\"?)");
	compile_fails("{'default_action': 'allow', 'classes': {}, 'rules': [{'name': 'x', "
		      "'apps': ['NoSuchThing'], 'action': 'block'}]}",
		      NAME ": rules[0].apps[0]: \"NoSuchThing\" is not an nDPI application name "
			   "(names are case-sensitive; `ndpiReader -a 0` lists them)");
	/* The same app twice in one class is not a conflict. */
	struct bwg_policy *p = compile_ok("{'default_action': 'allow', 'rules': [], 'classes': "
					  "{'p2p': {'apps': ['BitTorrent', 'BitTorrent']}}}");
	bwg_policy_free(p);
}

static void
test_duplicate_host_in_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/bwg-policy-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[300];
	snprintf(path, sizeof(path), "%s/chat.txt", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("qq.com\nv.qq.com\n", f);
	fclose(f);
	struct bwg_policy *p;
	int rc = compile("{'default_action': 'allow', 'rules': [], 'classes': {"
			 "'video': {'hosts': ['v.qq.com']}, 'chat': {'host_files': ['chat.txt']}}}",
			 dir, &p);
	assert_int_equal(rc, -EINVAL);
	char want[600];
	snprintf(want, sizeof(want),
		 NAME ": classes.chat.host_files[0]: %s:2: a domain that is already a host of "
		      "class \"video\" (a domain may be in one class only)",
		 path);
	assert_string_equal(err, want);
	unlink(path);
	rmdir(dir);
}

/* ---- classes ----------------------------------------------------------------------------- */

static const char classes_config[] =
	"{'default_action': 'allow', 'rules': [], 'classes': {"
	" 'video': {'categories': ['Video'], 'hosts': ['v.qq.com', 'youku.com', '*.bilibili.com']},"
	" 'chat': {'apps': ['QQ', 'WeChat'], 'categories': ['Chat']},"
	" 'business': {'apps': ['Zoom']},"
	" 'secure': {'apps': ['TLS']},"
	" 'stock': {'hosts': ['10jqka.com.cn']}}}";

static void
test_classify_precedence(void **state)
{
	(void)state;
	struct bwg_policy *p = compile_ok(classes_config);
	assert_int_equal(p->n_classes, 6);
	assert_string_equal(p->class_names[0], "unknown");
	const uint8_t video = class_id(p, "video"), chat = class_id(p, "chat"),
		      business = class_id(p, "business"), secure = class_id(p, "secure"),
		      stock = class_id(p, "stock");
	const uint16_t qq = app("QQ"), zoom = app("Zoom"), tls = app("TLS"), yt = app("YouTube"),
		       http = app("HTTP");
	const uint16_t cat_video = category("Video"), cat_chat = category("Chat"),
		       cat_web = category("Web");

	/* Host beats app: nDPI calls v.qq.com QQ (chat); the operator says video. */
	assert_int_equal(classify(p, http, qq, cat_chat, "v.qq.com"), video);
	assert_int_equal(classify(p, tls, qq, cat_chat, "V.QQ.COM."), video);
	/* Without the host, the app decides. */
	assert_int_equal(classify(p, http, qq, cat_chat, "im.qq.com"), chat);
	assert_int_equal(classify(p, 0, qq, cat_chat, NULL), chat);
	assert_int_equal(classify(p, 0, qq, cat_chat, ""), chat);
	/* App beats category: Zoom is business even though nDPI files it under Video. */
	assert_int_equal(classify(p, 0, zoom, cat_video, NULL), business);
	/* Category beats master: TLS.YouTube (no app class) is video by category. */
	assert_int_equal(classify(p, tls, yt, cat_video, NULL), video);
	/* App beats master too. */
	assert_int_equal(classify(p, tls, qq, 0, NULL), chat);
	/* The master is the last resort. */
	assert_int_equal(classify(p, tls, yt, cat_web, NULL), secure);
	assert_int_equal(classify(p, tls, 0, 0, NULL), secure);
	/* Hosts only. */
	assert_int_equal(classify(p, tls, 0, 0, "www.10jqka.com.cn"), stock);
	assert_int_equal(classify(p, http, 0, cat_web, "v.youku.com"), video);
	assert_int_equal(classify(p, http, 0, cat_web, "bilibili.com"), 0);
	assert_int_equal(classify(p, http, 0, cat_web, "api.bilibili.com"), video);
	/* Nothing known: unknown. Out-of-range ids are tolerated. */
	assert_int_equal(classify(p, 0, 0, 0, NULL), BWG_CLASS_UNKNOWN);
	assert_int_equal(classify(p, http, 0, cat_web, "example.com"),
			 BWG_CLASS_UNKNOWN);
	assert_int_equal(classify(p, 65535, 65535, 65535, NULL), BWG_CLASS_UNKNOWN);
	bwg_policy_free(p);
}

/* ---- units -------------------------------------------------------------------------------- */

static void
ip(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) != 1)
		assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static uint16_t
unit_of(const struct bwg_policy *p, const char *client, const char *server)
{
	uint8_t c[16], s[16];
	ip(client, c);
	ip(server, s);
	uint8_t family = strchr(client, ':') ? 6 : 4;
	return bwg_policy_unit(p, family, c, s);
}

static void
test_unit_lookup(void **state)
{
	(void)state;
	struct bwg_policy *p = compile_ok(
		"{'default_action': 'allow', 'classes': {}, 'rules': [], 'units': {"
		" 'everyone': ['10.0.0.0/8'],"
		" 'finance': ['10.2.0.0/16', '2001:db8:10:2::/64'],"
		" 'finance-core': ['10.2.3.0/24'],"
		" 'odd': ['192.168.128.0/17'],"
		" 'v6wide': ['2001:db8::/32'],"
		" 'host': ['10.2.3.4']}}");
	assert_int_equal(p->n_units, 7);
	assert_string_equal(p->unit_names[0], "");
	const uint16_t everyone = unit_id(p, "everyone"), finance = unit_id(p, "finance"),
		       core = unit_id(p, "finance-core"), odd = unit_id(p, "odd"),
		       v6wide = unit_id(p, "v6wide"), host = unit_id(p, "host");

	/* Longest prefix wins, whatever the order of the file. */
	assert_int_equal(unit_of(p, "10.2.3.4", "8.8.8.8"), host);
	assert_int_equal(unit_of(p, "10.2.3.5", "8.8.8.8"), core);
	assert_int_equal(unit_of(p, "10.2.9.9", "8.8.8.8"), finance);
	assert_int_equal(unit_of(p, "10.9.9.9", "8.8.8.8"), everyone);
	/* Prefix lengths that are not byte multiples. */
	assert_int_equal(unit_of(p, "192.168.200.1", "8.8.8.8"), odd);
	assert_int_equal(unit_of(p, "192.168.127.255", "8.8.8.8"), BWG_UNIT_NONE);
	/* The client decides; the server only when the client is in no unit. */
	assert_int_equal(unit_of(p, "10.9.9.9", "10.2.3.5"), everyone);
	assert_int_equal(unit_of(p, "8.8.8.8", "10.2.3.5"), core);
	assert_int_equal(unit_of(p, "8.8.8.8", "1.1.1.1"), BWG_UNIT_NONE);
	/* IPv6. */
	assert_int_equal(unit_of(p, "2001:db8:10:2::5", "2606:4700::1"), finance);
	assert_int_equal(unit_of(p, "2001:db8:ffff::1", "2606:4700::1"), v6wide);
	assert_int_equal(unit_of(p, "2606:4700::1", "2001:db8:10:2:ffff::1"), finance);
	assert_int_equal(unit_of(p, "2001:db9::1", "2606:4700::1"), BWG_UNIT_NONE);
	/* IPv4 prefixes never match IPv6 addresses with the same leading bytes. */
	assert_int_equal(unit_of(p, "a02:304::", "::1"), BWG_UNIT_NONE);
	bwg_policy_free(p);
}

/* ---- rules -------------------------------------------------------------------------------- */

static void
test_first_match_wins(void **state)
{
	(void)state;
	struct bwg_policy *p = compile_ok(
		"{'default_action': 'block', "
		" 'units': {'finance': ['10.2.0.0/16'], 'it': ['10.3.0.0/16']},"
		" 'classes': {'video': {'categories': ['Video']}, 'chat': {'apps': ['QQ']}},"
		" 'rules': ["
		"  {'name': 'finance-video', 'units': ['finance'], 'classes': ['video'], "
		"   'action': 'block'},"
		"  {'name': 'video', 'classes': ['video'], 'action': 'limit', "
		"   'limit': {'rate': '1Mbit', 'scope': 'aggregate'}},"
		"  {'name': 'wechat', 'apps': ['WeChat', 'QQ'], 'action': 'block', 'log': true},"
		"  {'name': 'it-any', 'units': ['it'], 'action': 'allow'},"
		"  {'name': 'example', 'hosts': ['*.example.com'], 'action': 'allow'},"
		"  {'name': 'unknown', 'classes': ['unknown'], 'action': 'allow'}"
		" ]}");
	assert_int_equal(p->n_rules, 6);
	const uint8_t video = class_id(p, "video"), chat = class_id(p, "chat");
	const uint16_t finance = unit_id(p, "finance"), it = unit_id(p, "it");
	const uint16_t qq = app("QQ"), wechat = app("WeChat"), tls = app("TLS");

	assert_int_equal(bwg_policy_match(p, video, finance, 0, 0, NULL, 0), 0);
	assert_int_equal(bwg_policy_match(p, video, it, 0, 0, NULL, 0), 1);
	assert_int_equal(bwg_policy_match(p, video, BWG_UNIT_NONE, 0, 0, NULL, 0), 1);
	assert_int_equal(bwg_policy_match(p, chat, it, 0, qq, NULL, 0), 2);
	/* A rule's apps match the master as well as the app. */
	assert_int_equal(bwg_policy_match(p, chat, BWG_UNIT_NONE, wechat, 0, NULL, 0), 2);
	assert_int_equal(bwg_policy_match(p, chat, it, tls, 0, NULL, 0), 3);
	assert_int_equal(bwg_policy_match(p, chat, BWG_UNIT_NONE, tls, 0, "www.example.com", 0),
			 4);
	assert_int_equal(bwg_policy_match(p, chat, BWG_UNIT_NONE, tls, 0, "example.com", 0),
			 6);
	assert_int_equal(bwg_policy_match(p, BWG_CLASS_UNKNOWN, BWG_UNIT_NONE, tls, 0,
					  "example.com", 0),
			 5);
	/* No rule: the default, which sits at index n_rules. */
	uint16_t d = bwg_policy_match(p, chat, BWG_UNIT_NONE, tls, 0, NULL, 0);
	assert_int_equal(d, p->n_rules);
	assert_string_equal(bwg_policy_rule_name(p, d), "default");
	assert_int_equal(p->rules[d].action, BWG_ACTION_BLOCK);
	assert_string_equal(bwg_policy_rule_name(p, 2), "wechat");
	assert_true(p->rules[2].log);
	assert_false(p->rules[0].log);
	assert_int_equal(p->rules[1].action, BWG_ACTION_LIMIT);
	assert_int_equal(p->rules[1].conf->rate_bps, 1000000);
	bwg_policy_free(p);
}

#define SCHEDULE_CONFIG(tz)                                                                        \
	"{'timezone': '" tz "', 'default_action': 'allow', "                                     \
	" 'classes': {'video': {'categories': ['Video']}},"                                      \
	" 'schedules': {'always-sunday': [{'days': ['sun'], 'from': '00:00', 'to': '24:00'}],"   \
	"   'workhours': [{'days': ['mon', 'tue', 'wed', 'thu', 'fri'], 'from': '08:30', "       \
	"'to': '17:30'}]},"                                                                      \
	" 'rules': [{'name': 'video-at-work', 'classes': ['video'], 'schedule': 'workhours', "   \
	"   'action': 'block'}]}"

/* Unix time of a UTC wall-clock moment in November 2026. */
static uint64_t
nov2026_utc(int day, int hour, int minute)
{
	/* 2026-11-01 00:00:00 UTC */
	const uint64_t base = 1793491200ull;
	return (base + (uint64_t)(day - 1) * 86400 + (uint64_t)hour * 3600 +
		(uint64_t)minute * 60) *
	       SEC;
}

static void
test_schedules(void **state)
{
	(void)state;
	struct bwg_policy *p = compile_ok(SCHEDULE_CONFIG("Asia/Shanghai"));
	const uint32_t work = 1u << 1, sunday = 1u << 0;
	assert_string_equal(p->conf->schedules[1].name, "workhours");
	uint64_t next = 0;
	assert_int_equal(nov2026_utc(25, 2, 0), 1795572000ull * SEC);

	/* Wednesday 2026-11-25 02:00 UTC is 10:00 in Shanghai: working hours. */
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(25, 2, 0), &next), work);
	assert_int_equal(next, nov2026_utc(25, 2, 1));
	/* Mid-minute: the answer may change at the start of the next minute. */
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(25, 2, 0) + 30 * SEC + 5,
						     &next),
			 work);
	assert_int_equal(next, nov2026_utc(25, 2, 1));
	/* 10:00 UTC is 18:00 local: after hours. */
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(25, 10, 0), &next), 0);
	/* Window edges: from is inclusive, to exclusive. */
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(25, 0, 29), NULL), 0);
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(25, 0, 30), NULL), work);
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(25, 9, 29), NULL), work);
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(25, 9, 30), NULL), 0);
	/* Saturday 2026-11-28 10:00 local: off. */
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(28, 2, 0), NULL), 0);
	/* Saturday 16:00 UTC is already Sunday in Shanghai. */
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(28, 16, 0), NULL), sunday);
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(28, 15, 59), NULL), 0);
	/* Monday 2026-11-23 00:00 UTC is 08:00 local: not yet. */
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(23, 0, 0), NULL), 0);
	/* Friday 17:29 local is in, Friday 17:30 is out. */
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(27, 9, 29), NULL), work);
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(27, 9, 30), NULL), 0);

	/* The rule only matches while its schedule is active. */
	const uint8_t video = class_id(p, "video");
	uint32_t mask = bwg_policy_schedules_active(p, nov2026_utc(25, 2, 0), NULL);
	assert_int_equal(bwg_policy_match(p, video, 0, 0, 0, NULL, mask), 0);
	mask = bwg_policy_schedules_active(p, nov2026_utc(25, 10, 0), NULL);
	assert_int_equal(bwg_policy_match(p, video, 0, 0, 0, NULL, mask), p->n_rules);
	assert_int_equal(bwg_policy_match(p, video, 0, 0, 0, NULL, sunday), p->n_rules);
	bwg_policy_free(p);
}

static void
test_schedules_follow_timezone(void **state)
{
	(void)state;
	/* The same moment in another zone: 02:00 UTC is 02:00 in UTC, before work. */
	struct bwg_policy *p = compile_ok(SCHEDULE_CONFIG("UTC"));
	assert_string_equal(p->conf->timezone, "UTC");
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(25, 2, 0), NULL), 0);
	assert_int_equal(bwg_policy_schedules_active(p, nov2026_utc(25, 10, 0), NULL), 1u << 1);
	bwg_policy_free(p);
}

/* Each policy keeps its own zone, whatever was compiled after it. */
static void
test_schedules_use_own_timezone(void **state)
{
	(void)state;
	struct bwg_policy *shanghai = compile_ok(SCHEDULE_CONFIG("Asia/Shanghai"));
	struct bwg_policy *utc = compile_ok(SCHEDULE_CONFIG("UTC"));
	uint32_t a = bwg_policy_schedules_active(shanghai, nov2026_utc(25, 2, 0), NULL);
	uint32_t b = bwg_policy_schedules_active(utc, nov2026_utc(25, 2, 0), NULL);
	bwg_policy_free(utc);
	bwg_policy_free(shanghai);
	assert_int_equal(b, 0);
	assert_int_equal(a, 1u << 1);
}

static void
test_default_rule(void **state)
{
	(void)state;
	struct bwg_policy *p = compile_ok("{'default_action': 'allow', 'classes': {}, 'rules': []}");
	assert_int_equal(p->n_rules, 0);
	assert_int_equal(bwg_policy_match(p, 0, 0, 0, 0, NULL, 0), 0);
	assert_string_equal(bwg_policy_rule_name(p, 0), "default");
	assert_int_equal(p->rules[0].action, BWG_ACTION_ALLOW);
	assert_int_equal(p->version, 1);
	bwg_policy_free(p);
}

/* Local times to Unix times and back, across daylight-saving changes. */
static void
test_tz_local_times(void **state)
{
	(void)state;
	struct bwg_tz_span *tz;
	uint32_t n;
	assert_int_equal(bwg_tz_build("Asia/Shanghai", &tz, &n), 0);
	/* 2025-11-24 00:00 in Beijing is 16:00 UTC the day before. */
	assert_int_equal(bwg_tz_to_utc(tz, n, 1763942400), 1763913600);
	assert_int_equal(bwg_tz_offset(tz, n, 1763913600), 8 * 3600);
	free(tz);

	assert_int_equal(bwg_tz_build("Europe/Berlin", &tz, &n), 0);
	/* 2026-03-29 02:30 never happened: the change, 01:00 UTC. */
	assert_int_equal(bwg_tz_to_utc(tz, n, 1774751400), 1774746000);
	/* 2026-10-25 02:30 happened twice: the first, 00:30 UTC; 03:00 once, 02:00 UTC. */
	assert_int_equal(bwg_tz_to_utc(tz, n, 1792895400), 1792888200);
	assert_int_equal(bwg_tz_to_utc(tz, n, 1792897200), 1792893600);
	assert_int_equal(bwg_tz_offset(tz, n, 1792888200), 2 * 3600);
	assert_int_equal(bwg_tz_offset(tz, n, 1792893600), 3600);
	free(tz);
}

/* Civil dates both ways, leap days and centuries included. */
static void
test_civil_dates(void **state)
{
	(void)state;
	assert_int_equal(bwg_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(bwg_days_from_civil(2000, 2, 29), 11016);
	assert_int_equal(bwg_days_from_civil(2025, 11, 24), 20416);
	assert_int_equal(bwg_days_from_civil(1969, 12, 31), -1);
	int64_t prev = bwg_days_from_civil(1899, 12, 31);
	for (int y = 1900; y <= 2400; y++) {
		for (int m = 1; m <= 12; m++) {
			static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
			int n = len[m - 1] + (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
			for (int d = 1; d <= n; d++) {
				int64_t days = bwg_days_from_civil(y, m, d);
				int yy, mm, dd;
				assert_int_equal(days, prev + 1);
				bwg_civil_from_days(days, &yy, &mm, &dd);
				assert_true(yy == y && mm == m && dd == d);
				prev = days;
			}
		}
	}
}

/* The address plan without a policy: longest prefix first, 0 outside it. */
static void
test_prefixes_alone(void **state)
{
	(void)state;
	const char *text = "{\"default_action\": \"allow\", \"classes\": {}, \"rules\": [], "
			   "\"units\": {\"bureau\": [\"10.1.0.0/16\", \"2001:db8:1::/48\"], "
			   "\"office\": [\"10.1.5.0/24\"]}}";
	struct bwg_config *c;
	assert_int_equal(bwg_config_parse(&c, text, strlen(text), NAME, "/etc/bwgate", err,
					  sizeof(err)), 0);
	struct bwg_prefix *px;
	uint32_t n;
	assert_int_equal(bwg_prefixes_build(c, &px, &n), 0);
	assert_int_equal(n, 3);
	uint8_t a[16] = {0};
	inet_pton(AF_INET, "10.1.5.9", a);
	assert_int_equal(bwg_prefixes_find(px, n, 4, a), 2);
	inet_pton(AF_INET, "10.1.6.9", a);
	assert_int_equal(bwg_prefixes_find(px, n, 4, a), 1);
	inet_pton(AF_INET, "10.2.0.1", a);
	assert_int_equal(bwg_prefixes_find(px, n, 4, a), BWG_UNIT_NONE);
	inet_pton(AF_INET6, "2001:db8:1::21", a);
	assert_int_equal(bwg_prefixes_find(px, n, 6, a), 1);
	free(px);
	bwg_config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_duplicate_host_in_file),
		cmocka_unit_test(test_classify_precedence),
		cmocka_unit_test(test_unit_lookup),
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test(test_schedules),
		cmocka_unit_test(test_schedules_follow_timezone),
		cmocka_unit_test(test_schedules_use_own_timezone),
		cmocka_unit_test(test_default_rule),
		cmocka_unit_test(test_tz_local_times),
		cmocka_unit_test(test_prefixes_alone),
		cmocka_unit_test(test_civil_dates),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
