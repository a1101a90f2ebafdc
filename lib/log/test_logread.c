/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Audit-log reader tests: the documented event line, events written by
 * bwg_log_event_json() read back (escapes, IPv6, non-ASCII hosts), every prefix of a
 * line refused, string escapes and UTF-8, fields of the wrong type, nested values,
 * repeated keys, times in every form the JSON grammar allows.
 */

#include <errno.h>
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

static struct bwg_log_line l;

static int
parse(const char *s)
{
	return bwg_log_line_parse(&l, s, strlen(s));
}

static int
has(enum bwg_logf f)
{
	return (l.present >> f) & 1;
}

#define DOC_LINE                                                                                   \
	"{\"event\":\"block\",\"time\":1795587417.130902,\"proto\":\"TCP\",\"src_ip\":"           \
	"\"10.1.0.21\",\"src_port\":63667,\"dst_ip\":\"198.51.100.21\",\"dst_port\":6881,"       \
	"\"vlan\":0,\"app\":\"BitTorrent\",\"category\":\"Download\",\"class\":\"p2p\","         \
	"\"class_source\":\"ndpi_app\",\"class_match\":\"nDPI app BitTorrent\",\"host\":\"\","    \
	"\"unit\":\"district-office\",\"rule\":\"block-p2p\",\"action\":\"block\","              \
	"\"pkts_c2s\":3,\"bytes_c2s\":248,\"pkts_s2c\":1,\"bytes_s2c\":66,\"dropped_pkts\":0,"   \
	"\"first_ts\":1795587417.130902,\"last_ts\":1795587417.130902}"

static void
test_documented_line(void **state)
{
	(void)state;
	assert_int_equal(parse(DOC_LINE), 0);
	assert_int_equal(l.present, ((1u << BWG_LOGF_STR_MAX) - 1) | 1u << BWG_LOGF_TIME);
	assert_true(l.time_us == 1795587417130902ll);
	assert_string_equal(l.str[BWG_LOGF_EVENT], "block");
	assert_string_equal(l.str[BWG_LOGF_SRC_IP], "10.1.0.21");
	assert_string_equal(l.str[BWG_LOGF_DST_IP], "198.51.100.21");
	assert_string_equal(l.str[BWG_LOGF_APP], "BitTorrent");
	assert_string_equal(l.str[BWG_LOGF_CLASS], "p2p");
	assert_string_equal(l.str[BWG_LOGF_HOST], "");
	assert_int_equal(l.len[BWG_LOGF_HOST], 0);
	assert_string_equal(l.str[BWG_LOGF_UNIT], "district-office");
	assert_string_equal(l.str[BWG_LOGF_RULE], "block-p2p");
	/* A CRLF line and surrounding blanks are still the same event. */
	assert_int_equal(parse("  " DOC_LINE " \r"), 0);
	assert_string_equal(l.str[BWG_LOGF_UNIT], "district-office");
}

/* What the gate writes, read back. */
static void
test_round_trip(void **state)
{
	(void)state;
	struct bwg_event e;
	memset(&e, 0, sizeof(e));
	e.type = BWG_EVENT_BLOCK;
	e.flow.family = 6;
	e.flow.proto = 17;
	inet_pton(AF_INET6, "2001:db8:10:2::21", e.flow.addr[0]);
	inet_pton(AF_INET6, "2001:db8:ff::1", e.flow.addr[1]);
	e.flow.event_ts = 1764036005500001000ull;
	strcpy(e.flow.app, "QUIC.YouTube");
	strcpy(e.flow.cls, "video");
	strcpy(e.flow.unit, "finance");
	strcpy(e.flow.rule, "block-video");
	strcpy(e.flow.host, "a\"b\\c\t\xe4\xb8\xad.example"); /* quote, backslash, tab, 中 */
	json_t *o = bwg_log_event_json(&e);
	char *s = json_dumps(o, JSON_COMPACT | BWG_JSON_REAL_FLAGS);
	json_decref(o);
	assert_int_equal(parse(s), 0);
	free(s);
	assert_true(l.time_us == 1764036005500001ll);
	assert_string_equal(l.str[BWG_LOGF_SRC_IP], "2001:db8:10:2::21");
	assert_string_equal(l.str[BWG_LOGF_HOST], "a\"b\\c\t\xe4\xb8\xad.example");
	assert_string_equal(l.str[BWG_LOGF_APP], "QUIC.YouTube");
}

/* A line cut anywhere is refused, never half an event. */
static void
test_every_prefix_refused(void **state)
{
	(void)state;
	const char *s = DOC_LINE;
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		char *cut = malloc(i ? i : 1); /* exact size: ASan sees a read past the end */
		memcpy(cut, s, i);
		assert_int_equal(bwg_log_line_parse(&l, cut, i), -EINVAL);
		free(cut);
	}
}

static void
test_not_one_object(void **state)
{
	(void)state;
	const char *bad[] = {
		"", " ", "[]", "\"block\"", "42", "{", "}", "{}{}", "{} x", "{\"a\":1,}",
		"{\"a\" 1}", "{a:1}", "{\"a\":1 \"b\":2}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
		"{\"a\":1e}", "{\"a\":-}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":[1,]}", "{\"a\":[1}",
		"{\"a\":{\"b\"}}", "{\"a\":'x'}", "{\"a\":\"x}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
		"{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\u0041\"}",
		"{\"a\":\"tab\there\"}", "{\"a\":\"\xc0\x80\"}", "{\"a\":\"\xed\xa0\x80\"}",
		"{\"a\":\"\xf5\x80\x80\x80\"}", "{\"a\":\"\xe4\xb8\"}", "{\"a\":\"\x80\"}",
		"{\"host\":\"\\u0000\"}", "\xef\xbb\xbf{}", "{\"a\":1}\n{\"b\":2}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i]) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	/* A NUL inside the line is a byte like any other: not JSON. */
	assert_int_equal(bwg_log_line_parse(&l, "{\"a\":1}\0", 8), -EINVAL);
	assert_int_equal(parse("{}"), 0);
	assert_int_equal(l.present, 0);
}

static void
test_escapes_and_utf8(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"host\":\"\\u00e9\\u4e2d\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\"}"), 0);
	assert_string_equal(l.str[BWG_LOGF_HOST],
			    "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80/\b\f\n\r\t");
	assert_int_equal(parse("{\"unit\":\"\xe8\xb4\xa2\xe6\x94\xbf\"}"), 0); /* 财政 */
	assert_string_equal(l.str[BWG_LOGF_UNIT], "\xe8\xb4\xa2\xe6\x94\xbf");
	/* NUL is fine in a string nobody keeps. */
	assert_int_equal(parse("{\"category\":\"\\u0000\"}"), 0);
}

static void
test_wrong_types_and_repeats(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"time\":\"1795587417\",\"host\":null,\"unit\":5,\"class\":"
			       "[\"p2p\"],\"event\":\"block\"}"),
			 0);
	assert_int_equal(l.present, 1u << BWG_LOGF_EVENT);
	assert_int_equal(parse("{\"unit\":\"a\",\"unit\":\"b\",\"time\":1,\"time\":2}"), 0);
	assert_string_equal(l.str[BWG_LOGF_UNIT], "b");
	assert_true(l.time_us == 2000000);
	assert_int_equal(parse("{\"unit\":\"a\",\"unit\":false}"), 0);
	assert_false(has(BWG_LOGF_UNIT));
	/* A key spelt with an escape is some other key. */
	assert_int_equal(parse("{\"uni\\u0074\":\"a\"}"), 0);
	assert_false(has(BWG_LOGF_UNIT));
}

static void
test_nesting(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"x\":{\"a\":[1,{\"b\":\"}\"},[]],\"c\":{}},\"event\":\"limit\"}"),
			 0);
	assert_string_equal(l.str[BWG_LOGF_EVENT], "limit");
	char deep[200], *p = deep;
	p += sprintf(p, "{\"x\":");
	for (int i = 0; i < 32; i++)
		*p++ = '[';
	for (int i = 0; i < 32; i++)
		*p++ = ']';
	strcpy(p, "}");
	assert_int_equal(parse(deep), 0);
	p = deep + 5;
	for (int i = 0; i < 33; i++)
		*p++ = '[';
	for (int i = 0; i < 33; i++)
		*p++ = ']';
	strcpy(p, "}");
	assert_int_equal(parse(deep), -EINVAL);
}

static void
test_times(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"time\":1795587417}"), 0);
	assert_true(l.time_us == 1795587417000000ll);
	assert_int_equal(parse("{\"time\":1795587417.1309}"), 0);
	assert_true(l.time_us == 1795587417130900ll);
	assert_int_equal(parse("{\"time\":1795587417.13090299}"), 0);
	assert_true(l.time_us == 1795587417130902ll);
	assert_int_equal(parse("{\"time\":1.7955874171309E9}"), 0);
	assert_true(l.time_us == 1795587417130900ll);
	assert_int_equal(parse("{\"time\":0}"), 0);
	assert_true(has(BWG_LOGF_TIME) && l.time_us == 0);
	/* Valid numbers, but no time of the audit log. */
	const char *none[] = {"{\"time\":-1}", "{\"time\":4102444800}", "{\"time\":1e300}",
			      "{\"time\":99999999999999999999}", "{\"time\":-0.5e3}"};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		assert_int_equal(parse(none[i]), 0);
		assert_false(has(BWG_LOGF_TIME));
	}
}

static void
test_too_long(void **state)
{
	(void)state;
	char s[BWG_LOG_FIELD_MAX + 64];
	int n = sprintf(s, "{\"host\":\"");
	memset(s + n, 'a', BWG_LOG_FIELD_MAX - 1);
	strcpy(s + n + BWG_LOG_FIELD_MAX - 1, "\"}");
	assert_int_equal(parse(s), 0);
	assert_int_equal(l.len[BWG_LOGF_HOST], BWG_LOG_FIELD_MAX - 1);
	memset(s + n, 'a', BWG_LOG_FIELD_MAX);
	strcpy(s + n + BWG_LOG_FIELD_MAX, "\"}");
	assert_int_equal(parse(s), -E2BIG);
	/* The same length in a field nobody keeps is fine. */
	memcpy(s + 2, "hist", 4);
	assert_int_equal(parse(s), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documented_line),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_prefix_refused),
		cmocka_unit_test(test_not_one_object),
		cmocka_unit_test(test_escapes_and_utf8),
		cmocka_unit_test(test_wrong_types_and_repeats),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
