/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config loader tests: defaults of a minimal file, a full file read back field by
 * field, the exact message of every fault an operator is likely to make, the unit and
 * CIDR parsers, and host files (relative and absolute, with a bad line).
 *
 * JSON in this file is written with single quotes for legibility; cfg() turns them into
 * double quotes before parsing (no test needs a literal single quote).
 */

#include <errno.h>
#include <fcntl.h>
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

#define NAME "test.json"
#define DIR "/etc/bwgate"

static char err[BWG_CONFIG_ERR_MAX];

/* Parse JSON written with single quotes. Returns the rc; *out set on success. */
static int
cfg(const char *sq, struct bwg_config **out)
{
	char *text = strdup(sq);
	assert_non_null(text);
	for (char *p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	err[0] = 0;
	*out = NULL;
	int rc = bwg_config_parse(out, text, strlen(text), NAME, DIR, err, sizeof(err));
	free(text);
	if (rc == 0)
		assert_non_null(*out);
	else
		assert_null(*out);
	return rc;
}

static struct bwg_config *
cfg_ok(const char *sq)
{
	struct bwg_config *c;
	int rc = cfg(sq, &c);
	if (rc != 0)
		fail_msg("config refused: %s", err);
	return c;
}

static void
cfg_fails(const char *sq, const char *msg)
{
	struct bwg_config *c;
	int rc = cfg(sq, &c);
	if (rc == 0) {
		bwg_config_free(c);
		fail_msg("config accepted, expected: %s", msg);
	}
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, msg);
}

/* A minimal valid config with extra top-level members spliced in. */
#define MIN_HEAD "{'default_action': 'allow', "
#define MIN(extra) MIN_HEAD "'classes': {}, 'rules': []" extra "}"
/* One class and one rule, with the rule's members given. */
#define RULE(members)                                                                              \
	MIN_HEAD "'classes': {'p2p': {'apps': ['BitTorrent']}}, 'rules': [{'name': 'r', " members  \
		 "}]}"

/* ---- defaults and a full file ----------------------------------------------------------- */

/* The behaviour section: hosts, window, tag_for, peers, tcp_udp_peers, port_peers. */
static void
behaviour_is(const struct bwg_config *c, uint32_t hosts, uint32_t window, uint32_t tag_for,
	     uint32_t peers, uint32_t tcp_udp, uint32_t port_peers)
{
	assert_int_equal(c->behaviour_hosts, hosts);
	assert_int_equal(c->behaviour_window, window);
	assert_int_equal(c->behaviour_tag_for, tag_for);
	assert_int_equal(c->behaviour_peers, peers);
	assert_int_equal(c->behaviour_tcp_udp_peers, tcp_udp);
	assert_int_equal(c->behaviour_port_peers, port_peers);
}

static void
test_minimal_defaults(void **state)
{
	(void)state;
	struct bwg_config *c = cfg_ok(MIN(""));
	assert_string_equal(c->path, NAME);
	assert_string_equal(c->dir, DIR);
	assert_string_equal(c->timezone, "Asia/Shanghai");
	assert_int_equal(c->default_action, BWG_ACTION_ALLOW);
	assert_int_equal(c->flow_capacity, 262144);
	assert_false(c->flow_full_drop);
	assert_int_equal(c->hosts_capacity, 262144 / 4);
	assert_int_equal(c->timeout_tcp, 300);
	assert_int_equal(c->timeout_tcp_closed, 10);
	assert_int_equal(c->timeout_udp, 60);
	assert_int_equal(c->timeout_other, 30);
	assert_int_equal(c->dpi_max_pkts[0], 80);
	assert_int_equal(c->dpi_max_pkts[1], 24);
	assert_int_equal(c->dpi_max_pkts[2], 24);
	assert_int_equal(c->dpi_max_in_progress, 262144 / 4);
	assert_null(c->protocols_file);
	assert_null(c->categories_file);
	assert_false(c->non_ip_drop);
	assert_true(c->malformed_drop);
	assert_false(c->sniff_ip);
	assert_int_equal(c->n_units, 0);
	assert_int_equal(c->n_classes, 1);
	assert_string_equal(c->classes[0].name, "unknown");
	assert_int_equal(c->n_schedules, 0);
	assert_int_equal(c->n_rules, 0);
	assert_null(c->port_inside);
	assert_null(c->port_outside);
	assert_int_equal(c->workers, 1);
	assert_string_equal(c->api_listen, "127.0.0.1:8080");
	assert_null(c->api_token_file);
	assert_null(c->events_file);
	assert_int_equal(c->dns_cache_entries, 65536);
	assert_int_equal(c->dns_max_ttl, 3600);
	behaviour_is(c, 16384, 300, 600, 20, 3, 8);
	bwg_config_free(c);
}

static void
test_behaviour(void **state)
{
	(void)state;
	struct bwg_config *c =
		cfg_ok(MIN(", 'behaviour': {'hosts': 0, 'window': 600, 'tag_for': 3600, "
			   "'peers': 0, 'tcp_udp_peers': 5, 'port_peers': 100}"));
	behaviour_is(c, 0, 600, 3600, 0, 5, 100);
	bwg_config_free(c);
	cfg_fails(MIN(", 'behaviour': {'hosts': 2000000}"),
		  NAME ": behaviour.hosts: 2000000 is out of range (0..1048576)");
	cfg_fails(MIN(", 'behaviour': {'window': 5}"),
		  NAME ": behaviour.window: 5 is out of range (10..3600)");
	cfg_fails(MIN(", 'behaviour': {'tag_for': 0}"),
		  NAME ": behaviour.tag_for: 0 is out of range (10..86400)");
	cfg_fails(MIN(", 'behaviour': {'peers': 500}"),
		  NAME ": behaviour.peers: 500 is out of range (0..200)");
	cfg_fails(MIN(", 'behaviour': {'tcp_udp_peers': 41}"),
		  NAME ": behaviour.tcp_udp_peers: 41 is out of range (0..40)");
	cfg_fails(MIN(", 'behaviour': {'port_peers': '8'}"),
		  NAME ": behaviour.port_peers: must be an integer, not a string");
	cfg_fails(MIN(", 'behaviour': {'peer': 20}"),
		  NAME ": behaviour.peer: unknown key (expected one of: hosts, window, tag_for, "
		       "peers, tcp_udp_peers, port_peers)");
	cfg_fails(MIN(", 'behaviour': [20]"), NAME ": behaviour: must be an object, not an array");
}

static const char full_config[] =
	"{'timezone': 'Europe/Paris', 'default_action': 'block',"
	" 'flows': {'capacity': 4096, 'on_full': 'drop', 'hosts_capacity': 512,"
	"           'timeouts': {'tcp': 600, 'tcp_closed': 5, 'udp': 30, 'other': 15}},"
	" 'dpi': {'max_packets': {'tcp': 40, 'udp': 12, 'other': 6}, 'max_in_progress': 128,"
	"         'protocols_file': 'protos.txt', 'categories_file': '/abs/categories.txt'},"
	" 'packets': {'non_ip': 'drop', 'malformed': 'forward', 'unknown_ethertype': "
	"'ip_by_version'},"
	" 'units': {'finance': ['10.2.0.0/16', '2001:db8:10:2::/64'], 'hq': ['192.0.2.7']},"
	" 'classes': {'p2p': {'apps': ['BitTorrent', 'eDonkey']},"
	"             'video': {'categories': ['Video'], 'hosts': ['YouKu.com', '*.Bilibili.com']}},"
	" 'schedules': {'office': [{'days': ['mon', 'tue', 'wed', 'thu', 'fri'],"
	"                           'from': '08:30', 'to': '17:30'},"
	"                          {'days': ['sat'], 'from': '00:00', 'to': '24:00'}]},"
	" 'rules': ["
	"   {'name': 'no-p2p', 'classes': ['p2p'], 'action': 'block', 'reset': true, 'log': true},"
	"   {'name': 'slow video', 'units': ['finance'], 'classes': ['video', 'unknown'],"
	"    'apps': ['YouTube'], 'hosts': ['Example.org'], 'schedule': 'office', 'action': 'limit',"
	"    'limit': {'rate': '2Mbit', 'burst': '64KB', 'scope': 'per_host'}},"
	"   {'name': 'hq', 'units': ['hq', 'finance'], 'action': 'limit',"
	"    'limit': {'rate': '10Mbit', 'scope': 'aggregate'}},"
	"   {'name': 'tiny', 'action': 'limit', 'limit': {'rate': '64Kbit', 'scope': 'aggregate'}}"
	" ],"
	" 'ports': {'inside': '0000:01:00.0', 'outside': '0000:01:00.1'}, 'workers': 4,"
	" 'api': {'listen': '0.0.0.0:9090', 'token_file': 'token'}, 'events': {'file': "
	"'/var/log/bwgate/events.jsonl'}}";

static void
test_full_config(void **state)
{
	(void)state;
	struct bwg_config *c = cfg_ok(full_config);
	assert_string_equal(c->timezone, "Europe/Paris");
	assert_int_equal(c->default_action, BWG_ACTION_BLOCK);
	assert_int_equal(c->flow_capacity, 4096);
	assert_true(c->flow_full_drop);
	assert_int_equal(c->hosts_capacity, 512);
	assert_int_equal(c->timeout_tcp, 600);
	assert_int_equal(c->timeout_tcp_closed, 5);
	assert_int_equal(c->timeout_udp, 30);
	assert_int_equal(c->timeout_other, 15);
	assert_int_equal(c->dpi_max_pkts[0], 40);
	assert_int_equal(c->dpi_max_pkts[1], 12);
	assert_int_equal(c->dpi_max_pkts[2], 6);
	assert_int_equal(c->dpi_max_in_progress, 128);
	assert_string_equal(c->protocols_file, DIR "/protos.txt"); /* relative: config's dir */
	assert_string_equal(c->categories_file, "/abs/categories.txt");
	assert_true(c->non_ip_drop);
	assert_false(c->malformed_drop);
	assert_true(c->sniff_ip);

	assert_int_equal(c->n_units, 2);
	assert_string_equal(c->units[0].name, "finance");
	assert_int_equal(c->units[0].n_cidrs, 2);
	assert_int_equal(c->units[0].cidrs[0].family, 4);
	assert_int_equal(c->units[0].cidrs[0].len, 16);
	assert_memory_equal(c->units[0].cidrs[0].addr, "\x0a\x02\0\0", 4);
	assert_int_equal(c->units[0].cidrs[1].family, 6);
	assert_int_equal(c->units[0].cidrs[1].len, 64);
	assert_string_equal(c->units[1].name, "hq");
	assert_int_equal(c->units[1].cidrs[0].len, 32);

	assert_int_equal(c->n_classes, 3);
	assert_string_equal(c->classes[0].name, "unknown");
	assert_string_equal(c->classes[1].name, "p2p");
	assert_int_equal(c->classes[1].apps.n, 2);
	assert_string_equal(c->classes[1].apps.v[1], "eDonkey");
	assert_string_equal(c->classes[1].apps.where[1], "classes.p2p.apps[1]");
	assert_string_equal(c->classes[2].name, "video");
	assert_string_equal(c->classes[2].categories.v[0], "Video");
	assert_string_equal(c->classes[2].categories.where[0], "classes.video.categories[0]");
	assert_int_equal(c->classes[2].hosts.n, 2);
	assert_string_equal(c->classes[2].hosts.v[0], "youku.com"); /* lower-cased */
	assert_string_equal(c->classes[2].hosts.v[1], "*.bilibili.com");
	assert_string_equal(c->classes[2].hosts.where[1], "classes.video.hosts[1]");

	assert_int_equal(c->n_schedules, 1);
	assert_string_equal(c->schedules[0].name, "office");
	assert_int_equal(c->schedules[0].n_windows, 2);
	assert_int_equal(c->schedules[0].windows[0].days, 0x1f);
	assert_int_equal(c->schedules[0].windows[0].from_min, 8 * 60 + 30);
	assert_int_equal(c->schedules[0].windows[0].to_min, 17 * 60 + 30);
	assert_int_equal(c->schedules[0].windows[1].days, 1 << 5);
	assert_int_equal(c->schedules[0].windows[1].from_min, 0);
	assert_int_equal(c->schedules[0].windows[1].to_min, 1440);

	assert_int_equal(c->n_rules, 4);
	const struct bwg_conf_rule *r = &c->rules[0];
	assert_string_equal(r->name, "no-p2p");
	assert_true(r->has_classes);
	assert_int_equal(r->classes, 1u << 1);
	assert_int_equal(r->n_units, 0);
	assert_int_equal(r->schedule, -1);
	assert_int_equal(r->action, BWG_ACTION_BLOCK);
	assert_true(r->reset);
	assert_true(r->log);

	r = &c->rules[1];
	assert_string_equal(r->name, "slow video");
	assert_int_equal(r->n_units, 1);
	assert_int_equal(r->units[0], 1);
	assert_int_equal(r->classes, (1u << 2) | 1u);
	assert_int_equal(r->apps.n, 1);
	assert_string_equal(r->apps.v[0], "YouTube");
	assert_string_equal(r->apps.where[0], "rules[1].apps[0]");
	assert_string_equal(r->hosts.v[0], "example.org");
	assert_int_equal(r->schedule, 0);
	assert_int_equal(r->action, BWG_ACTION_LIMIT);
	assert_int_equal(r->rate_bps, 2000000);
	assert_int_equal(r->burst_bytes, 65536);
	assert_int_equal(r->scope, BWG_SCOPE_PER_HOST);
	assert_false(r->reset);
	assert_false(r->log);

	r = &c->rules[2];
	assert_int_equal(r->n_units, 2);
	assert_int_equal(r->units[0], 2);
	assert_int_equal(r->units[1], 1);
	assert_false(r->has_classes);
	assert_int_equal(r->rate_bps, 10000000);
	assert_int_equal(r->burst_bytes, 10000000 / 80); /* default: 100 ms at the rate */
	assert_int_equal(r->scope, BWG_SCOPE_AGGREGATE);
	/* ...but at least 3000 B. */
	assert_int_equal(c->rules[3].burst_bytes, 3000);

	assert_string_equal(c->port_inside, "0000:01:00.0");
	assert_string_equal(c->port_outside, "0000:01:00.1");
	assert_int_equal(c->workers, 4);
	assert_string_equal(c->api_listen, "0.0.0.0:9090");
	assert_string_equal(c->api_token_file, DIR "/token");
	assert_string_equal(c->events_file, "/var/log/bwgate/events.jsonl");
	bwg_config_free(c);
}

/* With jumbo frames a default burst holds two of them. */
static void
test_burst_jumbo(void **state)
{
	(void)state;
	struct bwg_config *c = cfg_ok(
	    MIN_HEAD "'classes': {}, 'ports': {'inside': 'a', 'outside': 'b', 'mtu': 9000}, "
	    "'rules': [{'name': 'r', 'action': 'limit', 'limit': {'rate': '64Kbit', "
	    "'scope': 'per_host'}}, {'name': 's', 'action': 'limit', 'limit': {'rate': '1Mbit', "
	    "'burst': '9018B', 'scope': 'per_host'}}]}");
	assert_int_equal(bwg_config_max_frame(c), 9018);
	assert_int_equal(c->rules[0].burst_bytes, 2 * 9018);
	assert_int_equal(c->rules[1].burst_bytes, 9018);
	bwg_config_free(c);
}

/* ---- faults ------------------------------------------------------------------------------ */

static void
test_json_syntax(void **state)
{
	(void)state;
	cfg_fails("{'default_action': 'allow',, }",
		  NAME ":1:28: string or '}' expected near ','");
	/* A missing comma is reported where the next member starts. */
	cfg_fails("{\n  'default_action': 'allow'\n  'classes': {}\n}",
		  NAME ":3:11: '}' expected near '\"classes\"'");
	cfg_fails("", NAME ":1:0: '[' or '{' expected near end of file");
	/* Keys given twice are refused, not silently overwritten. */
	cfg_fails("{'default_action': 'allow', 'default_action': 'block', 'classes': {}, "
		  "'rules': []}",
		  NAME ":1:44: duplicate object key near '\"default_action\"'");
	cfg_fails(RULE("'action': 'allow', 'action': 'block'"),
		  NAME ":1:125: duplicate object key near '\"action\"'");
}

static void
test_top_level_faults(void **state)
{
	(void)state;
	cfg_fails("[]", NAME ": must be an object, not an array");
	cfg_fails(MIN(", 'shedule': {}"),
		  NAME ": shedule: unknown key (expected one of: timezone, default_action, lists_dir, flows, "
		       "dpi, dns, behaviour, users, packets, units, classes, schedules, rules, ports, "
		       "workers, api, events, ipfix, history, notice, state_file)");
	cfg_fails("{'classes': {}, 'rules': []}", NAME ": default_action: is required");
	cfg_fails("{'default_action': 'limit', 'classes': {}, 'rules': []}",
		  NAME ": default_action: \"limit\" is not one of \"allow\", \"block\"");
	cfg_fails("{'default_action': true, 'classes': {}, 'rules': []}",
		  NAME ": default_action: must be one of \"allow\", \"block\", not a boolean");
	cfg_fails("{'default_action': 'allow', 'rules': []}", NAME ": classes: is required");
	cfg_fails("{'default_action': 'allow', 'classes': {}}",
		  NAME ": rules: is required (an array, first match wins; it may be empty)");
	cfg_fails(MIN_HEAD "'classes': {}, 'rules': {}}",
		  NAME ": rules: must be an array, not an object");
	cfg_fails(MIN(", 'workers': 0"), NAME ": workers: 0 is out of range (1..64)");
	cfg_fails(MIN(", 'ports': {'inside': 'net_null0'}"),
		  NAME ": ports: needs both \"inside\" and \"outside\"");
	cfg_fails(MIN(", 'ports': {'inside': 'a', 'outside': 'a'}"),
		  NAME ": ports: \"inside\" and \"outside\" must be different devices");
	cfg_fails(MIN(", 'api': {'listen': ''}"), NAME ": api.listen: must not be empty");
}

static void
test_timezone(void **state)
{
	(void)state;
	cfg_fails("{'timezone': 'Asia/Beijing', 'default_action': 'allow', 'classes': {}, "
		  "'rules': []}",
		  NAME ": timezone: \"Asia/Beijing\" is not a time zone known to this system "
		       "(/usr/share/zoneinfo; install tzdata)");
	cfg_fails("{'timezone': '../../../etc/passwd', 'default_action': 'allow', 'classes': {}, "
		  "'rules': []}",
		  NAME ": timezone: \"../../../etc/passwd\" is not a time zone known to this "
		       "system (/usr/share/zoneinfo; install tzdata)");
	struct bwg_config *c = cfg_ok("{'timezone': 'UTC', 'default_action': 'allow', "
				      "'classes': {}, 'rules': []}");
	assert_string_equal(c->timezone, "UTC");
	bwg_config_free(c);
}

/*
 * A time zone must be a zone file (TZif), not a folder ("Asia") or a table
 * ("zone.tab"): glibc would silently use UTC and every schedule would run hours off.
 */
static void
test_timezone_not_a_zone(void **state)
{
	(void)state;
	cfg_fails("{'timezone': 'Asia', 'default_action': 'allow', 'classes': {}, 'rules': []}",
		  NAME ": timezone: \"Asia\" is not a time zone known to this system "
		       "(/usr/share/zoneinfo; install tzdata)");
	cfg_fails("{'timezone': 'zone.tab', 'default_action': 'allow', 'classes': {}, "
		  "'rules': []}",
		  NAME ": timezone: \"zone.tab\" is not a time zone known to this system "
		       "(/usr/share/zoneinfo; install tzdata)");
}

static void
test_section_faults(void **state)
{
	(void)state;
	cfg_fails(MIN(", 'flows': {'capacity': 100}"),
		  NAME ": flows.capacity: 100 is out of range (1024..16777216)");
	cfg_fails(MIN(", 'flows': {'capacity': '1M'}"),
		  NAME ": flows.capacity: must be an integer, not a string");
	cfg_fails(MIN(", 'flows': {'capacity': 1024, 'hosts_capacity': 2048}"),
		  NAME ": flows.hosts_capacity: 2048 is more than flows.capacity (1024)");
	cfg_fails(MIN(", 'flows': {'on_full': 'drop-new'}"),
		  NAME ": flows.on_full: \"drop-new\" is not one of \"forward\", \"drop\"");
	cfg_fails(MIN(", 'flows': {'timeouts': {'tcp': 0}}"),
		  NAME ": flows.timeouts.tcp: 0 is out of range (1..86400)");
	cfg_fails(MIN(", 'flows': {'timeouts': {'icmp': 5}}"),
		  NAME ": flows.timeouts.icmp: unknown key (expected one of: tcp, tcp_closed, "
		  "tcp_opening, udp, udp_unreplied, other)");
	cfg_fails(MIN(", 'flows': []"), NAME ": flows: must be an object, not an array");
	cfg_fails(MIN(", 'dpi': {'max_packets': {'tcp': 256}}"),
		  NAME ": dpi.max_packets.tcp: 256 is out of range (1..255)");
	cfg_fails(MIN(", 'dpi': {'max_in_progress': 300000}"),
		  NAME ": dpi.max_in_progress: 300000 is out of range (16..262144)");
	cfg_fails(MIN(", 'packets': {'non_ip': 'pass'}"),
		  NAME ": packets.non_ip: \"pass\" is not one of \"forward\", \"drop\"");
	cfg_fails(MIN(", 'packets': {'unknown_ethertype': 'ip'}"),
		  NAME ": packets.unknown_ethertype: \"ip\" is not one of \"non_ip\", "
		       "\"ip_by_version\"");
}

static void
test_unit_faults(void **state)
{
	(void)state;
	cfg_fails(MIN(", 'units': {'finance': ['10.2.0.300/16']}"),
		  NAME ": units.finance[0]: \"10.2.0.300\" is not an IPv4 or IPv6 address");
	cfg_fails(MIN(", 'units': {'finance': ['10.2.0.0/16', '10.2.0.1/16']}"),
		  NAME ": units.finance[1]: \"10.2.0.1/16\" has host bits set beyond /16");
	cfg_fails(MIN(", 'units': {'finance': []}"),
		  NAME ": units.finance: must be a non-empty array of CIDR strings");
	cfg_fails(MIN(", 'units': {'finance': [10]}"),
		  NAME ": units.finance[0]: must be a CIDR string, not an integer");
	cfg_fails(MIN(", 'units': {'Finance': ['10.0.0.0/8']}"),
		  NAME ": units.Finance: unit names use a-z, 0-9, '_' and '-' (at most 63)");
}

static void
test_class_faults(void **state)
{
	(void)state;
	cfg_fails(MIN_HEAD "'classes': {'unknown': {}}, 'rules': []}",
		  NAME ": classes.unknown: \"unknown\" is built in: flows no class claims fall "
		       "into it; it cannot be defined");
	cfg_fails(MIN_HEAD "'classes': {'P2P': {}}, 'rules': []}",
		  NAME ": classes.P2P: class names use a-z, 0-9, '_' and '-' (at most 63)");
	cfg_fails(MIN_HEAD "'classes': {'p2p': {'app': ['BitTorrent']}}, 'rules': []}",
		  NAME ": classes.p2p.app: unknown key (expected one of: apps, categories, hosts, "
		       "host_files, addresses, address_files, detectors, socket_affinity)");
	cfg_fails(MIN_HEAD "'classes': {'p2p': {'apps': 'BitTorrent'}}, 'rules': []}",
		  NAME ": classes.p2p.apps: must be an array of strings, not a string");
	cfg_fails(MIN_HEAD "'classes': {'p2p': {'apps': ['BitTorrent', '']}}, 'rules': []}",
		  NAME ": classes.p2p.apps[1]: must be a non-empty string");
	cfg_fails(MIN_HEAD "'classes': {'web': {'hosts': ['http://example.com/x']}}, 'rules': []}",
		  NAME ": classes.web.hosts[0]: \"http://example.com/x\" is not a host pattern: "
		       "bad character ':' at column 5: give the host name alone, not a URL");
	cfg_fails(MIN_HEAD "'classes': {'web': {'hosts': ['example.com.']}}, 'rules': []}",
		  NAME ": classes.web.hosts[0]: \"example.com.\" is not a host pattern: "
		       "ends with a dot");
	cfg_fails(MIN_HEAD "'classes': {'web': []}, 'rules': []}",
		  NAME ": classes.web: must be an object, not an array");
}

static void
test_schedule_faults(void **state)
{
	(void)state;
#define SCHED(win) MIN(", 'schedules': {'office': [" win "]}")
	cfg_fails(SCHED("{'days': ['mon', 'Tue'], 'from': '08:00', 'to': '17:00'}"),
		  NAME ": schedules.office[0].days[1]: must be one of \"mon\", \"tue\", \"wed\", "
		       "\"thu\", \"fri\", \"sat\", \"sun\"");
	cfg_fails(SCHED("{'days': ['mon'], 'from': '08:00', 'to': '17:00'},"
			"{'days': ['sun'], 'from': '17:00', 'to': '17:00'}"),
		  NAME ": schedules.office[1]: \"from\" must be before \"to\"; write a window "
		       "that crosses midnight as two windows");
	cfg_fails(SCHED("{'days': ['mon'], 'from': '22:00', 'to': '06:00'}"),
		  NAME ": schedules.office[0]: \"from\" must be before \"to\"; write a window "
		       "that crosses midnight as two windows");
	cfg_fails(SCHED("{'days': ['mon'], 'from': '8:00', 'to': '17:00'}"),
		  NAME ": schedules.office[0].from: must be a time \"HH:MM\" (00:00..24:00)");
	cfg_fails(SCHED("{'days': ['mon'], 'from': '08:00', 'to': '24:01'}"),
		  NAME ": schedules.office[0].to: must be a time \"HH:MM\" (00:00..24:00)");
	cfg_fails(SCHED("{'days': ['mon'], 'from': '08:60', 'to': '17:00'}"),
		  NAME ": schedules.office[0].from: must be a time \"HH:MM\" (00:00..24:00)");
	cfg_fails(SCHED("{'days': ['mon'], 'from': '08:00'}"),
		  NAME ": schedules.office[0].to: is required");
	cfg_fails(SCHED("{'days': [], 'from': '08:00', 'to': '17:00'}"),
		  NAME ": schedules.office[0].days: must be a non-empty array of day names");
	cfg_fails(SCHED("{'days': ['mon'], 'from': '08:00', 'to': '17:00', 'tz': 'UTC'}"),
		  NAME ": schedules.office[0].tz: unknown key (expected one of: days, from, to)");
	cfg_fails(MIN(", 'schedules': {'office': []}"),
		  NAME ": schedules.office: must be a non-empty array of windows "
		       "{\"days\", \"from\", \"to\"}");
#undef SCHED
}

static void
test_rule_faults(void **state)
{
	(void)state;
	cfg_fails(RULE("'shedule': 'office', 'action': 'block'"),
		  NAME ": rules[0].shedule: unknown key (expected one of: name, units, classes, "
		       "apps, hosts, schedule, action, limit, reset, log, mode, notice, quota, "
		       "penalty, enabled)");
	cfg_fails(RULE("'action': 'limit', 'limit': {'rate': '2Mbs', 'scope': 'aggregate'}"),
		  NAME ": rules[0].limit.rate: unknown unit \"Mbs\" (use bit, Kbit, Mbit, Gbit)");
	cfg_fails(RULE("'classes': ['video'], 'action': 'block'"),
		  NAME ": rules[0].classes[0]: \"video\" is not a class defined under \"classes\" "
		       "(or \"unknown\")");
	cfg_fails(RULE("'classes': [3], 'action': 'block'"),
		  NAME ": rules[0].classes[0]: value is not a class defined under \"classes\" "
		       "(or \"unknown\")");
	cfg_fails(RULE("'units': ['finance'], 'action': 'block'"),
		  NAME ": rules[0].units[0]: \"finance\" is not a unit defined under \"units\"");
	cfg_fails(RULE("'schedule': 'office', 'action': 'block'"),
		  NAME ": rules[0].schedule: \"office\" is not a schedule defined under "
		       "\"schedules\"");
	cfg_fails(RULE("'action': 'limit'"),
		  NAME ": rules[0].limit: is required when the action is \"limit\"");
	cfg_fails(RULE("'action': 'block', 'limit': {'rate': '1Mbit', 'scope': 'aggregate'}"),
		  NAME ": rules[0].limit: only applies to \"action\": \"limit\"");
	cfg_fails(RULE("'action': 'allow', 'reset': true"),
		  NAME ": rules[0].reset: only applies to \"action\": \"block\"");
	cfg_fails(RULE("'action': 'allow', 'mode': 'monitor'"),
		  NAME ": rules[0].mode: \"monitor\" applies to block and limit rules and to "
		       "rules with a quota or a penalty (an allow rule holds nothing back)");
	cfg_fails(RULE("'action': 'block', 'quota': {'period': 'day', 'bytes': '1MB', "
		       "'then': 'block'}"),
		  NAME ": rules[0].quota: does not apply to \"action\": \"block\" (nothing of it "
		       "passes to count)");
	cfg_fails(RULE("'action': 'allow', 'penalty': {'above': '2Mbit', 'for': 5, "
		       "'then': {'rate': '4Mbit'}, 'lasts': 30}"),
		  NAME ": rules[0].penalty.then: rate 4Mbit is not below \"above\": the penalty "
		       "would hold nothing back");
	cfg_fails(RULE("'action': 'allow', 'penalty': {'above': '2Mbit', "
		       "'then': {'rate': '1Mbit'}, 'lasts': 30}"),
		  NAME ": rules[0].penalty.for: is required (minutes in a row above the rate)");
	cfg_fails(RULE("'action': 'allow', 'penalty': {'above': '2Mbit', 'for': 0, "
		       "'then': {'rate': '1Mbit'}, 'lasts': 30}"),
		  NAME ": rules[0].penalty.for: 0 is out of range (1..1440)");
	cfg_fails(RULE("'action': 'block', 'penalty': {'above': '2Mbit', 'for': 5, "
		       "'then': {'rate': '1Mbit'}, 'lasts': 30}"),
		  NAME ": rules[0].penalty: does not apply to \"action\": \"block\" (nothing of "
		       "it passes to measure)");
	cfg_fails(RULE("'action': 'allow', 'quota': {'period': 'month', 'bytes': '1MB', "
		       "'then': 'block'}"),
		  NAME ": rules[0].quota.period: \"month\" is not one of \"day\", \"week\"");
	cfg_fails(RULE("'action': 'allow', 'quota': {'period': 'day', 'then': 'block'}"),
		  NAME ": rules[0].quota: needs \"bytes\" or \"minutes\" (or both)");
	cfg_fails(RULE("'action': 'allow', 'quota': {'period': 'day', 'bytes': '100Mo', "
		       "'then': 'block'}"),
		  NAME ": rules[0].quota.bytes: unknown unit \"Mo\" (use B, KB, MB, GB, TB)");
	cfg_fails(RULE("'action': 'allow', 'quota': {'period': 'day', 'bytes': '10KB', "
		       "'then': 'block'}"),
		  NAME ": rules[0].quota.bytes: 10KB is out of range (1MB..1024TB)");
	cfg_fails(RULE("'action': 'allow', 'quota': {'period': 'day', 'minutes': 0, "
		       "'then': 'block'}"),
		  NAME ": rules[0].quota.minutes: 0 is out of range (1..10080)");
	cfg_fails(RULE("'action': 'allow', 'quota': {'period': 'day', 'bytes': '1MB'}"),
		  NAME ": rules[0].quota.then: is required: \"block\", or a limit object such as "
		       "{\"rate\": \"1Mbit\"}");
	cfg_fails(RULE("'action': 'allow', 'quota': {'period': 'day', 'bytes': '1MB', "
		       "'then': 'drop'}"),
		  NAME ": rules[0].quota.then: \"drop\" is not \"block\" or a limit object");
	cfg_fails(RULE("'action': 'allow', 'quota': {'period': 'day', 'bytes': '1MB', "
		       "'then': {'rate': '1Mbit', 'scope': 'aggregate'}}"),
		  NAME ": rules[0].quota.then.scope: \"aggregate\" does not apply: past the quota "
		       "each user is held to the rate on its own (\"per_host\")");
	cfg_fails(RULE("'action': 'allow', 'notice': true"),
		  NAME ": rules[0].notice: only applies to \"action\": \"block\"");
	cfg_fails(RULE("'action': 'block', 'notice': true"),
		  NAME ": rules[0].notice: needs \"notice\": {\"contact\": ...} at the top level "
		       "(the page tells users whom to ask)");
	cfg_fails(MIN(", 'notice': {'contact': 'a\\tb'}"),
		  NAME ": notice.contact: holds a control character at byte 1");
	cfg_fails(MIN(", 'notice': {'email': 'x'}"),
		  NAME ": notice.email: unknown key (expected one of: contact)");
	cfg_fails(RULE("'action': 'block', 'mode': 'watch'"),
		  NAME ": rules[0].mode: \"watch\" is not one of \"enforce\", \"monitor\"");
	cfg_fails(RULE("'action': 'block', 'reset': 'yes'"),
		  NAME ": rules[0].reset: must be true or false, not a string");
	cfg_fails(RULE("'action': 'deny'"),
		  NAME ": rules[0].action: \"deny\" is not one of \"allow\", \"block\", \"limit\"");
	cfg_fails(RULE("'classes': ['p2p']"), NAME ": rules[0].action: is required");
	cfg_fails(RULE("'action': 'limit', 'limit': {'rate': '1Mbit'}"),
		  NAME ": rules[0].limit.scope: is required");
	cfg_fails(RULE("'action': 'limit', 'limit': {'rate': '1Mbit', 'scope': 'per_flow'}"),
		  NAME ": rules[0].limit.scope: \"per_flow\" is not one of \"aggregate\", "
		       "\"per_host\"");
	cfg_fails(RULE("'action': 'limit', 'limit': {'scope': 'aggregate'}"),
		  NAME ": rules[0].limit.rate: is required (e.g. \"2Mbit\")");
	cfg_fails(RULE("'action': 'limit', 'limit': {'rate': 2000000, 'scope': 'aggregate'}"),
		  NAME ": rules[0].limit.rate: must be a string such as \"2Mbit\", not an integer");
	cfg_fails(RULE("'action': 'limit', 'limit': {'rate': '1Mbit', 'burst': '1KB', "
		       "'scope': 'aggregate'}"),
		  NAME ": rules[0].limit.burst: 1KB is out of range (1500B..1024MB)");
	/* A burst must hold one maximum frame: ports.mtu + 18 B (1518 B by default). */
	cfg_fails(RULE("'action': 'limit', 'limit': {'rate': '1Mbit', 'burst': '1500B', "
		       "'scope': 'aggregate'}"),
		  NAME ": rules[0].limit.burst: 1500 B cannot hold one maximum frame of 1518 B "
		       "(ports.mtu 1500 + 18 B of Ethernet header and VLAN tag): no such frame "
		       "would ever conform; give at least \"1518B\"");
	cfg_fails(MIN_HEAD "'classes': {}, 'ports': {'inside': 'a', 'outside': 'b', 'mtu': 9000}, "
		  "'rules': [{'name': 'r', 'action': 'limit', 'limit': {'rate': '1Mbit', "
		  "'burst': '8KB', 'scope': 'per_host'}}]}",
		  NAME ": rules[0].limit.burst: 8192 B cannot hold one maximum frame of 9018 B "
		       "(ports.mtu 9000 + 18 B of Ethernet header and VLAN tag): no such frame "
		       "would ever conform; give at least \"9018B\"");
	cfg_fails(RULE("'action': 'limit', 'limit': {'rate': '1Mbit', 'ceil': '2Mbit', "
		       "'scope': 'aggregate'}"),
		  NAME ": rules[0].limit.ceil: unknown key (expected one of: rate, burst, scope)");
	cfg_fails(RULE("'hosts': ['bad host'], 'action': 'block'"),
		  NAME ": rules[0].hosts[0]: \"bad host\" is not a host pattern: bad character "
		       "' ' at column 4");
	cfg_fails(MIN_HEAD "'classes': {}, 'rules': [{'action': 'block'}]}",
		  NAME ": rules[0].name: is required");
	cfg_fails(MIN_HEAD "'classes': {}, 'rules': [{'name': 'a', 'action': 'block'}, "
			   "{'name': 'b', 'action': 'allow'}, {'name': 'a', 'action': 'allow'}]}",
		  NAME ": rules[2].name: \"a\" is already the name of rules[0]");
	cfg_fails(MIN_HEAD "'classes': {}, 'rules': [{'name': 'default', 'action': 'block'}]}",
		  NAME ": rules[0].name: \"default\" names the default action; choose another "
		       "name");
	cfg_fails(MIN_HEAD "'classes': {}, 'rules': ['block']}",
		  NAME ": rules[0]: must be an object, not a string");
}

static void
test_load_file(void **state)
{
	(void)state;
	char path[] = "/tmp/bwg-config-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "{\"default_action\": \"block\", \"classes\": {}, \"rules\": [],\n"
			   " \"api\": {\"token_file\": \"secret\"}}\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct bwg_config *c = NULL;
	assert_int_equal(bwg_config_load(&c, path, err, sizeof(err)), 0);
	assert_string_equal(c->path, path);
	assert_string_equal(c->dir, "/tmp");
	assert_string_equal(c->api_token_file, "/tmp/secret");
	assert_int_equal(c->default_action, BWG_ACTION_BLOCK);
	bwg_config_free(c);

	/* A syntax error names the file, line and column. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	text = "{\"default_action\": \"block\",\n \"classes\": {}\n \"rules\": []}\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	c = NULL;
	assert_int_equal(bwg_config_load(&c, path, err, sizeof(err)), -EINVAL);
	assert_null(c);
	char want[256];
	snprintf(want, sizeof(want), "%s:3:8: '}' expected near '\"rules\"'", path);
	assert_string_equal(err, want);
	unlink(path);

	assert_int_equal(bwg_config_load(&c, "/nonexistent/bwgate.json", err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "/nonexistent/bwgate.json: cannot open: No such file or "
				 "directory");
}

/* ---- host files ---------------------------------------------------------------------------- */

static void
test_host_files(void **state)
{
	(void)state;
	/* List files are named here and read when the policy is compiled (lib/classify):
	 * the config keeps the names as written, and lists_dir defaults to its folder. */
	const char *json =
		"{\"default_action\": \"allow\", \"rules\": [], \"classes\": {\"stock\": "
		"{\"hosts\": [\"tdx.com.cn\"], \"host_files\": [\"stock.txt\", \"/abs/x.txt\"], "
		"\"addresses\": [\"192.0.2.0/24\", \"2001:db8::1\"], \"address_files\": "
		"[\"stock-nets.txt\"], \"detectors\": [\"fully_encrypted\"]}}}";
	struct bwg_config *c = NULL;
	int rc = bwg_config_parse(&c, json, strlen(json), NAME, "/etc/bwgate", err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	const struct bwg_conf_class *k = &c->classes[1];
	assert_int_equal(k->hosts.n, 1);
	assert_int_equal(k->host_files.n, 2);
	assert_string_equal(k->host_files.v[0], "stock.txt");
	assert_string_equal(k->host_files.where[1], "classes.stock.host_files[1]");
	assert_string_equal(k->host_files.v[1], "/abs/x.txt");
	assert_int_equal(k->addresses.n, 2);
	assert_int_equal(k->address_files.n, 1);
	assert_string_equal(k->detectors.v[0], "fully_encrypted");
	assert_string_equal(c->lists_dir, "/etc/bwgate");
	bwg_config_free(c);

	json = "{\"default_action\": \"allow\", \"lists_dir\": \"lists\", \"rules\": [], "
	       "\"classes\": {}}";
	assert_int_equal(bwg_config_parse(&c, json, strlen(json), NAME, "/etc/bwgate", err,
					  sizeof(err)), 0);
	assert_string_equal(c->lists_dir, "/etc/bwgate/lists");
	bwg_config_free(c);

	/* An inline address is checked like a unit's. */
	json = "{\"default_action\": \"allow\", \"rules\": [], \"classes\": {\"game\": "
	       "{\"addresses\": [\"192.0.2.1/24\"]}}}";
	assert_int_equal(bwg_config_parse(&c, json, strlen(json), NAME, "/etc/bwgate", err,
					  sizeof(err)), -EINVAL);
	assert_string_equal(err, NAME ": classes.game.addresses[0]: \"192.0.2.1/24\" has host bits "
				 "set beyond /24");
}

/* ---- value parsers ------------------------------------------------------------------------- */

static void
test_parse_rate(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t bps;
	} ok[] = {
		{"2Mbit", 2000000},   {"2mbit", 2000000},         {"2MBIT", 2000000},
		{"1.5Gbit", 1500000000}, {"8Kbit", 8000},          {"8000bit", 8000},
		{"400Gbit", 400000000000}, {"2 Mbit", 2000000},    {"0.064Mbit", 64000},
		{"10Gbit", 10000000000}, {"1e3Kbit", 1000000},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t v = 0;
		if (bwg_config_parse_rate(ok[i].s, &v, err, sizeof(err)) != 0)
			fail_msg("\"%s\": %s", ok[i].s, err);
		assert_int_equal(v, ok[i].bps);
	}
	static const struct {
		const char *s, *msg;
	} bad[] = {
		{"2Mbs", "unknown unit \"Mbs\" (use bit, Kbit, Mbit, Gbit)"},
		{"2MB", "unknown unit \"MB\" (use bit, Kbit, Mbit, Gbit)"},
		{"2", "unknown unit \"\" (use bit, Kbit, Mbit, Gbit)"},
		{"Mbit", "\"Mbit\" is not a positive rate such as \"2Mbit\""},
		{"", "\"\" is not a positive rate such as \"2Mbit\""},
		{"0Mbit", "\"0Mbit\" is not a positive rate such as \"2Mbit\""},
		{"-1Mbit", "\"-1Mbit\" is not a positive rate such as \"2Mbit\""},
		{" 2Mbit", "\" 2Mbit\" is not a positive rate such as \"2Mbit\""},
		{"nanMbit", "\"nanMbit\" is not a positive rate such as \"2Mbit\""},
		{"infGbit", "\"infGbit\" is not a positive rate such as \"2Mbit\""},
		{"7999bit", "7999bit is out of range (8Kbit..400Gbit)"},
		{"401Gbit", "401Gbit is out of range (8Kbit..400Gbit)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 12345;
		err[0] = 0;
		assert_int_equal(bwg_config_parse_rate(bad[i].s, &v, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, bad[i].msg);
		assert_int_equal(v, 12345);
	}
}

static void
test_parse_size(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t bytes;
	} ok[] = {
		{"64KB", 65536},  {"64kb", 65536},           {"1500B", 1500},
		{"2MB", 2097152}, {"1024MB", 1073741824ull}, {"1.5KB", 1536},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t v = 0;
		if (bwg_config_parse_size(ok[i].s, &v, err, sizeof(err)) != 0)
			fail_msg("\"%s\": %s", ok[i].s, err);
		assert_int_equal(v, ok[i].bytes);
	}
	static const struct {
		const char *s, *msg;
	} bad[] = {
		{"64KiB", "unknown unit \"KiB\" (use B, KB, MB)"},
		{"1GB", "unknown unit \"GB\" (use B, KB, MB)"},
		{"KB", "\"KB\" is not a positive size such as \"64KB\""},
		{"1499B", "1499B is out of range (1500B..1024MB)"},
		{"1025MB", "1025MB is out of range (1500B..1024MB)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 0;
		assert_int_equal(bwg_config_parse_size(bad[i].s, &v, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, bad[i].msg);
	}
}

static void
test_parse_cidr(void **state)
{
	(void)state;
	struct bwg_cidr c;
	assert_int_equal(bwg_config_parse_cidr("10.0.0.0/8", &c, err, sizeof(err)), 0);
	assert_int_equal(c.family, 4);
	assert_int_equal(c.len, 8);
	uint8_t want[16] = {10};
	assert_memory_equal(c.addr, want, 16);

	assert_int_equal(bwg_config_parse_cidr("10.1.2.3", &c, err, sizeof(err)), 0);
	assert_int_equal(c.len, 32);
	assert_int_equal(bwg_config_parse_cidr("0.0.0.0/0", &c, err, sizeof(err)), 0);
	assert_int_equal(c.len, 0);
	assert_int_equal(bwg_config_parse_cidr("2001:db8::/32", &c, err, sizeof(err)), 0);
	assert_int_equal(c.family, 6);
	assert_int_equal(c.len, 32);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::", want), 1);
	assert_memory_equal(c.addr, want, 16);
	assert_int_equal(bwg_config_parse_cidr("::1", &c, err, sizeof(err)), 0);
	assert_int_equal(c.len, 128);
	assert_int_equal(bwg_config_parse_cidr("10.2.0.0/15", &c, err, sizeof(err)), 0);

	static const struct {
		const char *s, *msg;
	} bad[] = {
		{"10.0.0.1/8", "\"10.0.0.1/8\" has host bits set beyond /8"},
		{"10.3.0.0/15", "\"10.3.0.0/15\" has host bits set beyond /15"},
		{"2001:db8::1/64", "\"2001:db8::1/64\" has host bits set beyond /64"},
		{"10.0.0.0/33", "\"10.0.0.0/33\": prefix length 33 is over 32"},
		{"2001:db8::/129", "\"2001:db8::/129\": prefix length 129 is over 128"},
		{"10.0.0.0/", "\"10.0.0.0/\": bad prefix length"},
		{"10.0.0.0/8x", "\"10.0.0.0/8x\": bad prefix length"},
		{"10.0.0/8", "\"10.0.0\" is not an IPv4 or IPv6 address"},
		{"example.com", "\"example.com\" is not an IPv4 or IPv6 address"},
		{"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/64",
		 "\"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/64\" is not an address "
		 "or CIDR"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(bwg_config_parse_cidr(bad[i].s, &c, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, bad[i].msg);
	}
}

/*
 * A negative prefix length is refused, not taken as "no prefix".
 */
static void
test_parse_cidr_negative_prefix(void **state)
{
	(void)state;
	struct bwg_cidr c;
	err[0] = 0;
	assert_int_equal(bwg_config_parse_cidr("10.0.0.0/-1", &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "\"10.0.0.0/-1\": bad prefix length");
}

static void
test_check_host(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} ok[] = {
		{"Example.COM", "example.com"},
		{"*.Example.com", "*.example.com"},
		{"xn--fiqs8s.cn", "xn--fiqs8s.cn"},
		{"under_score.example", "under_score.example"},
		{"localhost", "localhost"},
		{"10jqka.com.cn", "10jqka.com.cn"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char buf[300];
		snprintf(buf, sizeof(buf), "%s", ok[i].in);
		if (bwg_config_check_host(buf, err, sizeof(err)) != 0)
			fail_msg("\"%s\": %s", ok[i].in, err);
		assert_string_equal(buf, ok[i].out);
	}
	static const struct {
		const char *in, *msg;
	} bad[] = {
		{"", "\"\" is not a host pattern: an empty name"},
		{".example.com", "\".example.com\" is not a host pattern: an empty label at column 1"},
		{"example.com.", "\"example.com.\" is not a host pattern: ends with a dot"},
		{"*..example.com",
		 "\"*..example.com\" is not a host pattern: an empty label at column 3"},
		{"a..b", "\"a..b\" is not a host pattern: an empty label at column 3"},
		{"*.*.com", "\"*.*.com\" is not a host pattern: '*' is only allowed as a leading "
			    "\"*.\""},
		{"*example.com", "\"*example.com\" is not a host pattern: '*' is only allowed as a "
				 "leading \"*.\""},
		{"*.", "\"*.\" is not a host pattern: an empty name"},
		{"example.com/path", "\"example.com/path\" is not a host pattern: bad character '/' "
				     "at column 12: give the host name alone, not a URL"},
		{"a b", "\"a b\" is not a host pattern: bad character ' ' at column 2"},
		{"192.0.2.1", "\"192.0.2.1\" is not a host pattern: an IP address, not a host name "
			      "(put addresses in an address list)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[300];
		snprintf(buf, sizeof(buf), "%s", bad[i].in);
		err[0] = 0;
		assert_int_equal(bwg_config_check_host(buf, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, bad[i].msg);
	}
	/* 253 characters is the longest name DNS allows; one more is refused. */
	char longname[300];
	memset(longname, 'a', 253);
	for (int i = 63; i < 253; i += 64)
		longname[i] = '.';
	longname[253] = 0;
	assert_int_equal(bwg_config_check_host(longname, err, sizeof(err)), 0);
	memset(longname, 'a', 254);
	longname[254] = 0;
	assert_int_equal(bwg_config_check_host(longname, err, sizeof(err)), -EINVAL);
}

/*
 * A bad host pattern is quoted as the operator wrote it.
 */
static void
test_check_host_message_quotes_input(void **state)
{
	(void)state;
	char buf[64] = "HTTP://Example.com";
	err[0] = 0;
	assert_int_equal(bwg_config_check_host(buf, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "\"HTTP://Example.com\" is not a host pattern: bad character ':' "
				 "at column 5: give the host name alone, not a URL");
	/* Unicode names become their IDNA form, which is what SNI and Host carry. */
	char idn[64] = "\xe6\x94\xbf\xe5\xba\x9c.cn"; /* 政府.cn */
	assert_int_equal(bwg_config_check_host(idn, err, sizeof(err)), 0);
	assert_string_equal(idn, "xn--mxtq1m.cn");
}

/* ipfix: defaults, collectors as URLs, the faults an operator makes. */
static void
test_ipfix(void **state)
{
	(void)state;
	struct bwg_config *c = cfg_ok(MIN(""));
	assert_int_equal(c->ipfix_collectors.n, 0);
	assert_int_equal(c->ipfix_enterprise, 32473);
	assert_int_equal(c->ipfix_domain, 1);
	assert_int_equal(c->ipfix_active_timeout, 300);
	assert_int_equal(c->ipfix_template_refresh, 60);
	assert_int_equal(c->ipfix_tcp_queue, 4u << 20);
	bwg_config_free(c);
	c = cfg_ok(MIN(", 'ipfix': {'collectors': ['udp://192.0.2.10:4739', "
		       "'tcp://[2001:db8::1]:4740', 'tcp://collector.example:4739'], "
		       "'enterprise_number': 99, 'observation_domain': 7, 'active_timeout': 0, "
		       "'template_refresh': 30, 'tcp_queue': '1MB'}"));
	assert_int_equal(c->ipfix_collectors.n, 3);
	assert_string_equal(c->ipfix_collectors.where[1], "ipfix.collectors[1]");
	assert_int_equal(c->ipfix_enterprise, 99);
	assert_int_equal(c->ipfix_domain, 7);
	assert_int_equal(c->ipfix_active_timeout, 0);
	assert_int_equal(c->ipfix_template_refresh, 30);
	assert_int_equal(c->ipfix_tcp_queue, 1u << 20);
	bwg_config_free(c);

	cfg_fails(MIN(", 'ipfix': {'collectors': ['http://192.0.2.10:4739']}"),
		  "test.json: ipfix.collectors[0]: \"http://192.0.2.10:4739\" is not "
		  "udp://HOST:PORT or tcp://HOST:PORT");
	cfg_fails(MIN(", 'ipfix': {'collectors': ['udp://192.0.2.10']}"),
		  "test.json: ipfix.collectors[0]: \"udp://192.0.2.10\": expected HOST:PORT (an "
		  "IPv6 address in brackets)");
	cfg_fails(MIN(", 'ipfix': {'collectors': ['udp://2001:db8::1:4739']}"),
		  "test.json: ipfix.collectors[0]: \"udp://2001:db8::1:4739\": expected HOST:PORT "
		  "(an IPv6 address in brackets)");
	cfg_fails(MIN(", 'ipfix': {'collectors': ['udp://192.0.2.10:0']}"),
		  "test.json: ipfix.collectors[0]: \"udp://192.0.2.10:0\": the port must be a "
		  "number from 1 to 65535");
	cfg_fails(MIN(", 'ipfix': {'collectors': ['tcp://a b:1']}"),
		  "test.json: ipfix.collectors[0]: \"tcp://a b:1\": the host has a character a "
		  "name or an address cannot hold");
	cfg_fails(MIN(", 'ipfix': {'collectors': ['udp://h:1', 'udp://h:1']}"),
		  "test.json: ipfix.collectors[1]: \"udp://h:1\" is already ipfix.collectors[0]");
	cfg_fails(MIN(", 'ipfix': {'collector': []}"),
		  "test.json: ipfix.collector: unknown key (expected one of: collectors, "
		  "enterprise_number, observation_domain, active_timeout, template_refresh, "
		  "tcp_queue)");
	cfg_fails(MIN(", 'ipfix': {'tcp_queue': '1KB'}"),
		  "test.json: ipfix.tcp_queue: 1KB is out of range (1500B..1024MB)");
	cfg_fails(MIN(", 'ipfix': {'tcp_queue': '512MB'}"),
		  "test.json: ipfix.tcp_queue: 512MB is out of range (64KB..256MB)");
	cfg_fails(MIN(", 'ipfix': {'active_timeout': 90000}"),
		  "test.json: ipfix.active_timeout: 90000 is out of range (0..86400)");
	cfg_fails(MIN(", 'ipfix': {'enterprise_number': 0}"),
		  "test.json: ipfix.enterprise_number: 0 is out of range (1..4294967295)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_burst_jumbo),
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_json_syntax),
		cmocka_unit_test(test_top_level_faults),
		cmocka_unit_test(test_timezone),
		cmocka_unit_test(test_timezone_not_a_zone),
		cmocka_unit_test(test_section_faults),
		cmocka_unit_test(test_behaviour),
		cmocka_unit_test(test_unit_faults),
		cmocka_unit_test(test_class_faults),
		cmocka_unit_test(test_schedule_faults),
		cmocka_unit_test(test_rule_faults),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_host_files),
		cmocka_unit_test(test_parse_rate),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_ipfix),
		cmocka_unit_test(test_parse_cidr),
		cmocka_unit_test(test_parse_cidr_negative_prefix),
		cmocka_unit_test(test_check_host),
		cmocka_unit_test(test_check_host_message_quotes_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
