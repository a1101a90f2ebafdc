/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPI context tests: nDPI names and ids, ndpiReader-style labels, the detection-state
 * pool, a file error, and one DNS query taken through detection.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bwg_dpi.h"
#include "bwg_pkt.h"

static int
setup(void **state)
{
	struct bwg_dpi_conf conf = {.pool_size = 4, .max_pkts = {80, 24, 24}};
	char err[256] = "";
	struct bwg_dpi *d = NULL;
	if (bwg_dpi_create(&d, &conf, err, sizeof(err)) != 0) {
		print_error("bwg_dpi_create: %s\n", err);
		return -1;
	}
	*state = d;
	return 0;
}

static int
teardown(void **state)
{
	bwg_dpi_destroy(*state);
	return 0;
}

static void
test_names_and_ids(void **state)
{
	struct bwg_dpi *d = *state;
	assert_true(bwg_dpi_app_count(d) > 200);
	assert_true(bwg_dpi_category_count(d) > 20);
	static const char *const apps[] = {"BitTorrent", "QQ", "YouTube", "TLS", "DNS",
					   "HTTP", "Zoom", "NetFlix", "eDonkey"};
	for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++) {
		int id = bwg_dpi_app_id(d, apps[i]);
		assert_true(id > 0);
		assert_string_equal(bwg_dpi_app_name(d, (uint16_t)id), apps[i]);
	}
	/* Names are exact. */
	assert_int_equal(bwg_dpi_app_id(d, "Bittorrent"), -1);
	assert_int_equal(bwg_dpi_app_id(d, "bittorrent"), -1);
	assert_int_equal(bwg_dpi_app_id(d, "NoSuchApp"), -1);
	assert_int_equal(bwg_dpi_app_id(d, "Unknown"), 0);
	assert_string_equal(bwg_dpi_app_name(d, 0), "Unknown");
	assert_string_equal(bwg_dpi_app_name(d, 65535), "Unknown");

	int video = bwg_dpi_category_id(d, "Video");
	assert_true(video > 0);
	assert_string_equal(bwg_dpi_category_name(d, (uint16_t)video), "Video");
	assert_true(bwg_dpi_category_id(d, "Chat") > 0);
	assert_int_equal(bwg_dpi_category_id(d, "video"), -1);
	assert_string_equal(bwg_dpi_category_name(d, 0), "Unspecified");
	assert_string_equal(bwg_dpi_category_name(d, 65535), "Unspecified");
}

static void
test_labels(void **state)
{
	struct bwg_dpi *d = *state;
	uint16_t tls = (uint16_t)bwg_dpi_app_id(d, "TLS");
	uint16_t yt = (uint16_t)bwg_dpi_app_id(d, "YouTube");
	uint16_t dns = (uint16_t)bwg_dpi_app_id(d, "DNS");
	char buf[64];
	assert_string_equal(bwg_dpi_label(d, tls, yt, buf, sizeof(buf)), "TLS.YouTube");
	assert_string_equal(bwg_dpi_label(d, 0, dns, buf, sizeof(buf)), "DNS");
	assert_string_equal(bwg_dpi_label(d, 0, 0, buf, sizeof(buf)), "Unknown");
}

static void
test_pool(void **state)
{
	struct bwg_dpi *d = *state;
	assert_int_equal(bwg_dpi_slots_free(d), 4);
	uint32_t s[4];
	for (int i = 0; i < 4; i++) {
		s[i] = bwg_dpi_slot_get(d);
		assert_true(s[i] < 4);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(s[i], s[j]);
	}
	assert_int_equal(bwg_dpi_slots_free(d), 0);
	assert_int_equal(bwg_dpi_slot_get(d), BWG_DPI_NO_SLOT);
	bwg_dpi_slot_put(d, s[2]);
	assert_int_equal(bwg_dpi_slots_free(d), 1);
	assert_int_equal(bwg_dpi_slot_get(d), s[2]);
	for (int i = 0; i < 4; i++)
		bwg_dpi_slot_put(d, s[i]);
	assert_int_equal(bwg_dpi_slots_free(d), 4);
	assert_true(bwg_dpi_state_size() > 0);
}

static void
test_missing_file(void **state)
{
	(void)state;
	struct bwg_dpi_conf conf = {.protocols_file = "/nonexistent/protos.txt",
				    .pool_size = 1,
				    .max_pkts = {1, 1, 1}};
	char err[256] = "";
	struct bwg_dpi *d = (struct bwg_dpi *)0x1;
	assert_int_equal(bwg_dpi_create(&d, &conf, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "dpi.protocols_file: /nonexistent/protos.txt: "
				 "No such file or directory");
	assert_ptr_equal(d, (struct bwg_dpi *)0x1); /* untouched on failure */

	conf.protocols_file = NULL;
	conf.categories_file = "/nonexistent/categories.txt";
	assert_int_equal(bwg_dpi_create(&d, &conf, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "dpi.categories_file: /nonexistent/categories.txt: "
				 "No such file or directory");
}

/* Raw IPv4 UDP DNS query for www.example.com, A record. */
static uint32_t
dns_query(uint8_t *b)
{
	static const uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
				    0x00, 0x00, 3,    'w',  'w',  'w',  7,    'e',  'x',  'a',
				    'm',  'p',  'l',  'e',  3,    'c',  'o',  'm',  0,    0x00,
				    0x01, 0x00, 0x01};
	uint32_t n = 20 + 8 + sizeof(q);
	static const uint8_t ip[20] = {0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0,
				       10,   0, 0, 1, 8, 8, 8, 8};
	memcpy(b, ip, 20);
	b[2] = (uint8_t)(n >> 8);
	b[3] = (uint8_t)n;
	const uint8_t udp[8] = {0xc3, 0x50, 0, 53, 0, (uint8_t)(8 + sizeof(q)), 0, 0};
	memcpy(b + 20, udp, 8);
	memcpy(b + 28, q, sizeof(q));
	return n;
}

static void
test_dns_detection(void **state)
{
	struct bwg_dpi *d = *state;
	uint8_t frame[128];
	uint32_t n = dns_query(frame);
	struct bwg_pkt p;
	assert_int_equal(bwg_pkt_parse(&p, frame, n, n, BWG_LINK_RAW, 0), BWG_PKT_OK);
	uint32_t slot = bwg_dpi_slot_get(d);
	assert_int_not_equal(slot, BWG_DPI_NO_SLOT);
	struct bwg_dpi_result r;
	memset(&r, 0, sizeof(r));
	bool done = bwg_dpi_feed(d, slot, &p, 1764036000ull * 1000000000ull, 1, &r);
	uint16_t dns = (uint16_t)bwg_dpi_app_id(d, "DNS");
	assert_true(r.app == dns || r.master == dns);
	assert_non_null(r.host);
	assert_string_equal(r.host, "www.example.com");
	if (!done) {
		/* nDPI waits for the answer; giving up keeps what it knows. */
		bwg_dpi_giveup(d, slot, &r);
		assert_true(r.app == dns || r.master == dns);
		assert_string_equal(r.host, "www.example.com");
	}
	bwg_dpi_slot_put(d, slot);
	/* A returned slot comes back clean. */
	slot = bwg_dpi_slot_get(d);
	bwg_dpi_giveup(d, slot, &r);
	assert_string_equal(r.host, "");
	assert_int_equal(r.app, 0);
	bwg_dpi_slot_put(d, slot);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_ids),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_dns_detection),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
