/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The payload detectors (det_*.c) one by one, through the engine's own entry point
 * (bwg_detect_packet) with only that detector wanted: payloads built from each protocol's
 * published layout that must match, near misses that must not, and every truncation of
 * each positive payload. Each payload is copied into a heap buffer of exactly its length,
 * so a detector reading past `len` trips AddressSanitizer (scripts/test runs these under
 * it). Also the registry itself: unique names, complete entries, and rules that fit a
 * flow record's class_match.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bwg_classify.h"
#include "bwg_log.h"

#define TCP 6
#define UDP 17
#define C2S 0 /* from the client (the flow's first sender) */
#define S2C 1

/* One flow as the worker shows it to the detectors: its state and the one detector. */
struct sim {
	struct bwg_det_flow st;
	uint64_t want;
	uint8_t id;
	uint8_t proto;
	struct bwg_dpi_result dpi;
};

static struct sim
flow(const char *name, uint8_t proto, bool opened)
{
	int id = bwg_detector_id(name);
	assert_true(id > 0);
	struct sim s = {.want = BWG_DET_BIT(id), .id = (uint8_t)id, .proto = proto};
	s.st.opened = opened;
	return s;
}

/* Show one packet; 1 when the detector matched. The payload goes in a buffer of exactly
 * n bytes, so ASan catches a read past it. */
static int
show(struct sim *s, uint8_t dir, const void *b, uint32_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, b, n);
	uint8_t hit = bwg_detect_packet(&s->st, s->want, copy, n, s->proto, dir,
					dir ? 443 : 50000, dir ? 50000 : 443, &s->dpi);
	free(copy);
	assert_true(hit == BWG_DET_NONE || hit == s->id);
	return hit == s->id;
}

/* show(), with the server on port `sport` instead of 443. */
static int
show_port(struct sim *s, uint8_t dir, const void *b, uint32_t n, uint16_t sport)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, b, n);
	uint8_t hit = bwg_detect_packet(&s->st, s->want, copy, n, s->proto, dir,
					dir ? sport : 50000, dir ? 50000 : sport, &s->dpi);
	free(copy);
	assert_true(hit == BWG_DET_NONE || hit == s->id);
	return hit == s->id;
}

/* The first payload of a fresh flow, client to server. */
static int
first(const char *name, uint8_t proto, const void *b, uint32_t n)
{
	struct sim s = flow(name, proto, true);
	return show(&s, C2S, b, n);
}

/* A fresh UDP flow: the client's a, then the server's b; 1 when b matched (a must not). */
static int
pair(const char *name, const void *a, uint32_t na, const void *b, uint32_t nb)
{
	struct sim s = flow(name, UDP, false);
	assert_false(show(&s, C2S, a, na));
	return show(&s, S2C, b, nb);
}

/* pair(), with the server on port `sport`. */
static int
pair_port(const char *name, const void *a, uint32_t na, const void *b, uint32_t nb,
	  uint16_t sport)
{
	struct sim s = flow(name, UDP, false);
	assert_false(show_port(&s, C2S, a, na, sport));
	return show_port(&s, S2C, b, nb, sport);
}

/* Every strict prefix of b as a flow's first payload: no crash, no read past the end;
 * returns how many matched (for the caller to bound). */
static int
prefixes(const char *name, uint8_t proto, uint8_t dir, const void *b, uint32_t n)
{
	int hits = 0;
	for (uint32_t k = 1; k < n; k++) {
		struct sim s = flow(name, proto, true);
		if (dir == S2C)
			s.st.seen[C2S] = 1; /* pretend the client spoke first */
		hits += show(&s, dir, b, k);
	}
	return hits;
}

static void
fill(uint8_t *b, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++) {
		seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
		b[i] = (uint8_t)seed;
	}
}

static void
put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8), b[1] = (uint8_t)v;
}

static void
put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16)), put16(b + 2, (uint16_t)v);
}

/* ---- the registry ----------------------------------------------------------------------- */

static void
test_registry(void **state)
{
	(void)state;
	struct bwg_flow_view v;
	int n = 0;
	for (int id = 1; id < BWG_DET_MAX; id++) {
		const struct bwg_detector *d = bwg_detector((uint8_t)id);
		if (!d)
			continue;
		n++;
		assert_non_null(d->name);
		assert_non_null(d->rule);
		assert_int_equal(bwg_detector_id(d->name), id);
		if (d->source == BWG_SRC_HEURISTIC) {
			/* The flow record shows "name: rule" in class_match: it must fit. */
			assert_true(strlen(d->name) + 2 + strlen(d->rule) < sizeof(v.class_match));
			assert_non_null(d->packet);
			assert_true(d->protos & (BWG_DET_TCP | BWG_DET_UDP));
			assert_true(d->max_payloads > 0);
		}
	}
	assert_true(n > 2); /* p2p_behaviour, fully_encrypted and the payload detectors */
	assert_int_equal(bwg_detector_id("no_such_detector"), -1);
}

/* ---- games ------------------------------------------------------------------------------ */

static const uint8_t raknet_cookie[16] = {0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe,
					  0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78};

static void
test_raknet(void **state)
{
	(void)state;
	uint8_t ping[33], pong[60], ocr1[1200], bad[33];
	/* Unconnected ping: id, time, cookie, client GUID. */
	fill(ping, sizeof(ping), 1);
	ping[0] = 0x01;
	memcpy(ping + 9, raknet_cookie, 16);
	assert_true(first("raknet", UDP, ping, sizeof(ping)));
	/* Unconnected pong from the server: id, time, GUID, cookie, a server string. */
	fill(pong, sizeof(pong), 2);
	pong[0] = 0x1c;
	memcpy(pong + 17, raknet_cookie, 16);
	struct sim s = flow("raknet", UDP, false);
	assert_false(show(&s, C2S, ping, 20)); /* a ping cut before its cookie ends */
	assert_true(show(&s, S2C, pong, sizeof(pong)));
	/* Open connection request 1: id, cookie, protocol, zero padding to the MTU. */
	memset(ocr1, 0, sizeof(ocr1));
	ocr1[0] = 0x05;
	memcpy(ocr1 + 1, raknet_cookie, 16);
	ocr1[17] = 11;
	assert_true(first("raknet", UDP, ocr1, sizeof(ocr1)));
	/* Incompatible protocol: id, version, cookie. */
	uint8_t incompat[25] = {0x19, 10};
	memcpy(incompat + 2, raknet_cookie, 16);
	assert_true(first("raknet", UDP, incompat, sizeof(incompat)));
	/* The cookie where the id does not put it; an id without one; random bytes. */
	memcpy(bad, ping, sizeof(bad));
	bad[0] = 0x05; /* cookie expected at 1, it is at 9 */
	assert_false(first("raknet", UDP, bad, sizeof(bad)));
	bad[0] = 0x84; /* a connected frame set */
	assert_false(first("raknet", UDP, bad, sizeof(bad)));
	fill(bad, sizeof(bad), 3);
	bad[0] = 0x01;
	assert_false(first("raknet", UDP, bad, sizeof(bad)));
	/* Cut short before the cookie ends: never a match. */
	assert_int_equal(prefixes("raknet", UDP, C2S, ping, 25), 0);
	prefixes("raknet", UDP, C2S, ocr1, 40);
	/* TCP is not RakNet. */
	assert_false(first("raknet", TCP, ping, sizeof(ping)));
}

/* A RakNet frame set: id, 24-bit sequence, one frame per (reliability, body, split). */
static uint32_t
raknet_frames(uint8_t *b, uint8_t id, const uint8_t *rels, const uint16_t *bodies,
	      const bool *split, uint32_t k)
{
	b[0] = id, b[1] = 7, b[2] = 0, b[3] = 0;
	uint32_t at = 4;
	for (uint32_t i = 0; i < k; i++) {
		uint8_t r = rels[i];
		b[at] = (uint8_t)(r << 5 | (split[i] ? 0x10 : 0));
		put16(b + at + 1, (uint16_t)(bodies[i] * 8));
		uint32_t head = 3 + (r == 2 || r == 3 || r == 4 || r == 6 || r == 7 ? 3 : 0) +
				(r == 1 || r == 4 ? 3 : 0) + (r == 1 || r == 3 || r == 4 || r == 7 ? 4 : 0) +
				(split[i] ? 10 : 0);
		fill(b + at + 3, head - 3 + bodies[i], 60 + i);
		at += head + bodies[i];
	}
	return at;
}

static void
test_raknet_connected(void **state)
{
	(void)state;
	uint8_t a[400], b[400];
	static const uint8_t rels[3] = {3, 0, 4}, rels2[2] = {7, 2};
	static const uint16_t bodies[3] = {40, 12, 100}, bodies2[2] = {200, 1};
	static const bool split[3] = {false, false, true}, nosplit[2] = {false, false};
	uint32_t na = raknet_frames(a, 0x84, rels, bodies, split, 3);
	uint32_t nb = raknet_frames(b, 0x8c, rels2, bodies2, nosplit, 2);
	/* Two frame sets in a row, either way; one alone is not enough. */
	struct sim s = flow("raknet", UDP, false);
	assert_false(show(&s, S2C, a, na));
	assert_true(show(&s, S2C, b, nb));
	s = flow("raknet", UDP, false);
	assert_false(show(&s, C2S, a, na));
	assert_true(show(&s, S2C, b, nb));
	/* An ACK of a single index and a range. */
	uint8_t ack[14] = {0xc0, 0x00, 0x02, 0x01, 0x05, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x09, 0x00,
			   0x00};
	s = flow("raknet", UDP, false);
	assert_false(show(&s, C2S, a, na));
	assert_true(show(&s, S2C, ack, sizeof(ack)));
	/* A frame one byte short or long, a low flag bit, a length not in whole bytes, a
	 * record count one too many: the datagram is not RakNet and ends the search. */
	static const uint32_t spoil[] = {0, 1, 2, 3};
	for (size_t i = 0; i < sizeof(spoil) / sizeof(spoil[0]); i++) {
		uint8_t c[400];
		memcpy(c, a, na);
		uint32_t nc = na;
		if (spoil[i] == 0)
			nc--;
		else if (spoil[i] == 1)
			c[nc++] = 0;
		else if (spoil[i] == 2)
			c[4] |= 0x01;
		else
			put16(c + 5, 41 * 8 + 1);
		s = flow("raknet", UDP, false);
		assert_false(show(&s, C2S, c, nc));
		assert_false(show(&s, S2C, b, nb));
	}
	ack[2] = 3;
	s = flow("raknet", UDP, false);
	assert_false(show(&s, C2S, a, na));
	assert_false(show(&s, S2C, ack, sizeof(ack)));
	/* Something else first ends the search. */
	s = flow("raknet", UDP, false);
	assert_false(show(&s, C2S, "\x16\xfe\xfd\x00", 4)); /* DTLS */
	assert_false(show(&s, S2C, a, na));
	assert_false(show(&s, S2C, b, nb));
}

static void
netcode_request(uint8_t *b, uint32_t n, char version)
{
	fill(b, n, 4);
	b[0] = 0;
	memcpy(b + 1, "NETCODE 1.0", 11);
	b[12] = (uint8_t)version;
	b[13] = 0;
}

static void
test_netcode(void **state)
{
	(void)state;
	static uint8_t b[1078];
	netcode_request(b, 1078, '2');
	assert_true(first("netcode", UDP, b, 1078));
	netcode_request(b, 1062, '1');
	assert_true(first("netcode", UDP, b, 1062));
	/* A server drops any other size; so must we. */
	netcode_request(b, 1077, '2');
	assert_false(first("netcode", UDP, b, 1077));
	netcode_request(b, 1078, 'x');
	assert_false(first("netcode", UDP, b, 1078));
	netcode_request(b, 1078, '2');
	b[0] = 0x15; /* an encrypted packet's prefix byte */
	assert_false(first("netcode", UDP, b, 1078));
	netcode_request(b, 1078, '2');
	b[13] = ' ';
	assert_false(first("netcode", UDP, b, 1078));
	netcode_request(b, 1062, '2'); /* 1.02's request is 1078 bytes */
	assert_false(first("netcode", UDP, b, 1062));
	netcode_request(b, 1078, '2');
	assert_int_equal(prefixes("netcode", UDP, C2S, b, 1078), 0);
}

static void
test_source_engine(void **state)
{
	(void)state;
	uint8_t info[29] = {0xff, 0xff, 0xff, 0xff, 'T'};
	memcpy(info + 5, "Source Engine Query", 20); /* with its NUL */
	assert_true(first("source_engine", UDP, info, 25));
	put32(info + 25, 0x4a3b2c1d); /* the challenge the server asked for */
	assert_true(first("source_engine", UDP, info, 29));
	uint8_t player[9] = {0xff, 0xff, 0xff, 0xff, 'U', 0xff, 0xff, 0xff, 0xff};
	assert_true(first("source_engine", UDP, player, 9));
	player[4] = 'V';
	assert_true(first("source_engine", UDP, player, 9));
	uint8_t getchallenge[5] = {0xff, 0xff, 0xff, 0xff, 'W'};
	assert_true(first("source_engine", UDP, getchallenge, 5));
	/* The server's answer first, then the client's query: still the query decides. */
	struct sim s = flow("source_engine", UDP, false);
	uint8_t challenge[9] = {0xff, 0xff, 0xff, 0xff, 'A', 1, 2, 3, 4};
	assert_false(show(&s, S2C, challenge, 9));
	assert_true(show(&s, C2S, player, 9));
	/* Near misses: another string, other lengths, another letter, no -1. */
	uint8_t other[25];
	memcpy(other, info, 25);
	other[10] = 'x';
	assert_false(first("source_engine", UDP, other, 25));
	assert_false(first("source_engine", UDP, info, 26));
	assert_false(first("source_engine", UDP, player, 8));
	player[4] = 'q';
	assert_false(first("source_engine", UDP, player, 9));
	memcpy(other, info, 25);
	other[0] = 0xfe;
	assert_false(first("source_engine", UDP, other, 25));
	/* The client's first payload decides: a query later on does not count. */
	s = flow("source_engine", UDP, false);
	assert_false(show(&s, C2S, other, 25));
	assert_false(show(&s, C2S, info, 25));
	assert_int_equal(prefixes("source_engine", UDP, C2S, info, 25), 0);
}

static void
test_epic_games(void **state)
{
	(void)state;
	uint8_t req[40], reply[48];
	fill(req, sizeof(req), 5);
	put32(req, 0x471a2000); /* bit 0x08 clear */
	memset(req + 10, 0, 24);
	fill(reply, sizeof(reply), 6);
	put32(reply, 0x471a2008);
	/* The request (repeated while unanswered), then the answer echoing its word. */
	struct sim s = flow("epic_games", UDP, false);
	assert_false(show(&s, C2S, req, sizeof(req)));
	assert_false(show(&s, C2S, req, sizeof(req)));
	assert_true(show(&s, S2C, reply, sizeof(reply)));
	/* An answer with another word, or with the bit already set in the request. */
	s = flow("epic_games", UDP, false);
	assert_false(show(&s, C2S, req, sizeof(req)));
	put32(reply, 0x471a2009);
	assert_false(show(&s, S2C, reply, sizeof(reply)));
	put32(reply, 0x471a2008);
	s = flow("epic_games", UDP, false);
	put32(req, 0x471a2008);
	assert_false(show(&s, C2S, req, sizeof(req)));
	assert_false(show(&s, S2C, reply, sizeof(reply)));
	/* Not the zero run, too short, or the server speaking first. */
	put32(req, 0x471a2000);
	req[20] = 1;
	assert_false(pair("epic_games", req, sizeof(req), reply, sizeof(reply)));
	req[20] = 0;
	assert_false(pair("epic_games", req, 33, reply, sizeof(reply)));
	s = flow("epic_games", UDP, false);
	assert_false(show(&s, S2C, reply, sizeof(reply)));
	assert_false(show(&s, C2S, req, sizeof(req)));
	/* Truncated answers after a good request. */
	for (uint32_t k = 1; k <= 4; k++) {
		s = flow("epic_games", UDP, false);
		assert_false(show(&s, C2S, req, sizeof(req)));
		assert_false(show(&s, S2C, reply, k));
	}
}

static void
test_riot_games(void **state)
{
	(void)state;
	static const uint8_t probe[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb};
	static const uint8_t hs[8] = {0x3c, 0xb1, 0x1f, 0x2d, 0xea, 0x23, 0x46, 0x0c};
	uint8_t b[53];
	fill(b, 36, 7);
	memcpy(b + 28, probe, 8);
	assert_true(first("riot_games", UDP, b, 36));
	assert_false(first("riot_games", UDP, probe, 8)); /* the trailer alone */
	fill(b, 53, 8);
	memcpy(b + 45, hs, 8);
	assert_true(first("riot_games", UDP, b, 53));
	memmove(b, b + 1, 52); /* the same trailer on 52 bytes */
	assert_false(first("riot_games", UDP, b, 52));
	fill(b, 53, 9);
	assert_false(first("riot_games", UDP, b, 53));
	/* A later datagram (the fourth each way) still counts. */
	struct sim s = flow("riot_games", UDP, false);
	fill(b, 36, 10);
	for (int i = 0; i < 3; i++)
		assert_false(show(&s, C2S, b, 36));
	memcpy(b + 28, probe, 8);
	assert_true(show(&s, C2S, b, 36));
	assert_int_equal(prefixes("riot_games", UDP, C2S, b, 36), 0);
}

static void
eso_login(uint8_t *b, uint32_t n, uint32_t mark_at, const void *mark, uint32_t mlen)
{
	fill(b, n, 11);
	put32(b, n - 4);
	memcpy(b + mark_at, mark, mlen);
}

static void
test_elder_scrolls_online(void **state)
{
	(void)state;
	static uint8_t b[700];
	static const uint8_t zmark[4] = {0x8b, 0x78, 0x9c, 0x01};
	eso_login(b, 700, 40, "eso.live.9.3.6", 14);
	assert_true(first("elder_scrolls_online", TCP, b, 700));
	eso_login(b, 700, 100, zmark, 4);
	assert_true(first("elder_scrolls_online", TCP, b, 700));
	/* Markers past the first 140 bytes, a wrong length prefix, a short message. */
	eso_login(b, 700, 200, "eso.live", 8);
	assert_false(first("elder_scrolls_online", TCP, b, 700));
	eso_login(b, 700, 40, "eso.live", 8);
	put32(b, 700);
	assert_false(first("elder_scrolls_online", TCP, b, 700));
	eso_login(b, 599, 40, "eso.live", 8);
	assert_false(first("elder_scrolls_online", TCP, b, 599));
	/* A connection picked up in its middle has no first message. */
	eso_login(b, 700, 40, "eso.live", 8);
	struct sim s = flow("elder_scrolls_online", TCP, false);
	assert_false(show(&s, C2S, b, 700));
	assert_int_equal(prefixes("elder_scrolls_online", TCP, C2S, b, 700), 0);
}

static void
test_path_of_exile(void **state)
{
	(void)state;
	/* 00, 03 00, two bytes, 00, 02 00, a length-prefixed character name, the tail. */
	uint8_t poe[31] = {0x00, 0x03, 0x00, 0x37, 0x75, 0x60, 0x00, 0x02, 0x00, 0x09};
	memcpy(poe + 10, "Templar01", 9);
	fill(poe + 19, 4, 12);
	static const uint8_t tail[8] = {0, 0, 0, 0, 0x40, 0, 0, 0x01};
	memcpy(poe + 23, tail, 8);
	assert_true(first("path_of_exile", TCP, poe, 31));
	uint8_t poe2[19] = {0x00, 0x03, 0x00, 0x11, 0x22, 0x33, 0x00, 0x02, 0x00};
	put32(poe2 + 14, 0x40);
	assert_true(first("path_of_exile", TCP, poe2, 19));
	uint8_t bad[31];
	memcpy(bad, poe, 31);
	bad[30] = 0x02;
	assert_false(first("path_of_exile", TCP, bad, 31));
	memcpy(bad, poe, 31);
	bad[1] = 0x00, bad[2] = 0x03; /* 00 03 instead of 03 00 */
	assert_false(first("path_of_exile", TCP, bad, 31));
	struct sim s = flow("path_of_exile", TCP, false);
	assert_false(show(&s, C2S, poe, 31));
	assert_false(first("path_of_exile", UDP, poe, 31));
	assert_int_equal(prefixes("path_of_exile", TCP, C2S, poe, 31), 0);
}

/* One Armagetron message: descriptor, id, length in 16-bit words, data. */
static uint32_t
arma_msg(uint8_t *b, uint32_t at, uint16_t desc, uint16_t id, const void *data, uint16_t words)
{
	put16(b + at, desc);
	put16(b + at + 2, id);
	put16(b + at + 4, words);
	memcpy(b + at + 6, data, 2u * words);
	return at + 6 + 2u * words;
}

static void
test_armagetron(void **state)
{
	(void)state;
	/* The server browser's small request (8 bytes: an empty message and the sender id)
	 * and a big_server answer: a name (byte pairs swapped, as the game sends them), an ack,
	 * the sender id 0. */
	uint8_t req[8], reply[64];
	uint32_t n = arma_msg(req, 0, 53, 0x0001, "", 0);
	put16(req + n, 0x0007);
	n = arma_msg(reply, 0, 51, 0x0002, "rAamegort nevrre", 8);
	uint8_t ack[4] = {0x00, 0x01, 0x00, 0x02};
	n = arma_msg(reply, n, 1, 0x0000, ack, 2);
	put16(reply + n, 0);
	n += 2;
	assert_true(pair("armagetron", req, sizeof(req), reply, n));
	/* One side alone says nothing; the server speaking first neither. */
	assert_false(first("armagetron", UDP, reply, n));
	struct sim s = flow("armagetron", UDP, false);
	s.st.seen[C2S] = 0;
	assert_false(show(&s, S2C, reply, n));
	/* A length one word short or long, an unknown descriptor, no sender id. */
	uint8_t bad[64];
	memcpy(bad, reply, n);
	put16(bad + 4, 7);
	assert_false(pair("armagetron", req, sizeof(req), bad, n));
	put16(bad + 4, 9);
	assert_false(pair("armagetron", req, sizeof(req), bad, n));
	memcpy(bad, reply, n);
	put16(bad, 0x1234);
	assert_false(pair("armagetron", req, sizeof(req), bad, n));
	assert_false(pair("armagetron", req, sizeof(req), reply, n - 2));
	assert_false(pair("armagetron", req, 6, reply, n));
	/* Truncated answers: only the one that ends right after a whole message (whose next
	 * two bytes then read as the sender id) is still well framed. */
	for (uint32_t k = 1; k < n; k++)
		if (k != 24)
			assert_false(pair("armagetron", req, sizeof(req), reply, k));
}

/* A Photon datagram: header (peer id, CRC flag, command count, time, challenge), then
 * the commands (type, channel, flags, reserved, length, reliable sequence, payload). */
static uint32_t
photon_head(uint8_t *b, uint16_t peer, uint8_t count)
{
	put16(b, peer);
	b[2] = 0, b[3] = count;
	put32(b + 4, 0x0a0b0c0d);
	put32(b + 8, 0x11223344);
	return 12;
}

static uint32_t
photon_cmd(uint8_t *b, uint32_t at, uint8_t type, uint32_t payload, uint32_t seq)
{
	b[at] = type, b[at + 1] = 0xff, b[at + 2] = 1, b[at + 3] = 0;
	put32(b + at + 4, 12 + payload);
	put32(b + at + 8, seq);
	fill(b + at + 12, payload, seq);
	return at + 12 + payload;
}

static void
test_photon(void **state)
{
	(void)state;
	uint8_t b[200];
	/* A connect from an unassigned peer, then an ack and a reliable message together. */
	uint32_t n = photon_cmd(b, photon_head(b, 0xffff, 1), 2, 32, 1);
	assert_true(first("photon", UDP, b, n));
	assert_int_equal(prefixes("photon", UDP, C2S, b, n), 0);
	photon_head(b, 0x0042, 2);
	n = photon_cmd(b, 12, 1, 8, 0);
	n = photon_cmd(b, n, 6, 40, 2);
	assert_true(first("photon", UDP, b, n));
	/* Server to client only (one-way bursts are common). */
	struct sim s = flow("photon", UDP, false);
	assert_true(show(&s, S2C, b, n));
	/* One command too many or too few; an ack of the wrong length; an unknown type; a
	 * length past the end; a trailing byte; a CRC flag that is not 0 or 1. */
	b[3] = 3;
	assert_false(first("photon", UDP, b, n));
	b[3] = 1;
	assert_false(first("photon", UDP, b, n));
	b[3] = 2;
	put32(b + 16, 24);
	assert_false(first("photon", UDP, b, n));
	put32(b + 16, 20);
	b[32] = 13;
	assert_false(first("photon", UDP, b, n));
	b[32] = 6;
	put32(b + 36, 1000);
	assert_false(first("photon", UDP, b, n));
	put32(b + 36, 52);
	assert_true(first("photon", UDP, b, n));
	assert_false(first("photon", UDP, b, n + 1));
	b[2] = 2;
	assert_false(first("photon", UDP, b, n));
	b[2] = 0;
	assert_false(first("photon", TCP, b, n));
	fill(b, sizeof(b), 30);
	assert_false(first("photon", UDP, b, sizeof(b)));
}

static void
test_netease_games(void **state)
{
	(void)state;
	uint8_t hello[12] = {0x01, 0x5c, 0xd0, 0x01, 0x9a, 0x3b, 0x11, 0x07, 0x00, 0x01, 0x01, 0x01};
	assert_true(first("netease_games", UDP, hello, 12));
	assert_int_equal(prefixes("netease_games", UDP, C2S, hello, 12), 0);
	struct sim s = flow("netease_games", UDP, false);
	s.st.seen[C2S] = 1;
	assert_false(show(&s, S2C, hello, 12)); /* the hello is the client's */
	uint8_t bad[13];
	memcpy(bad, hello, 12);
	bad[2] = 0xd1;
	assert_false(first("netease_games", UDP, bad, 12));
	memcpy(bad, hello, 12);
	assert_false(first("netease_games", UDP, bad, 13));
	uint8_t b[40];
	fill(b, sizeof(b), 31);
	put32(b, 0xb3af8de8);
	assert_true(first("netease_games", UDP, b, 30));
	assert_false(first("netease_games", UDP, b, 29));
	put32(b, 0x0708080c);
	assert_true(first("netease_games", UDP, b, 31));
	assert_false(first("netease_games", UDP, b, 30));
	assert_false(first("netease_games", TCP, b, 31));
}

static void
test_nexon(void **state)
{
	(void)state;
	uint8_t b[24];
	fill(b, sizeof(b), 32);
	put32(b, 0x18000000);
	put32(b + 4, 0x64000000);
	assert_true(first("nexon", TCP, b, 24));
	assert_false(first("nexon", TCP, b, 23));
	assert_false(first("nexon", UDP, b, 24));
	put32(b + 4, 0x65000000);
	assert_false(first("nexon", TCP, b, 24));
	fill(b, sizeof(b), 33);
	put32(b + 4, 0x163a992e);
	assert_true(first("nexon", TCP, b, 20));
	assert_false(first("nexon", TCP, b, 21));
	assert_int_equal(prefixes("nexon", TCP, C2S, b, 24), 1); /* the 20-byte one */
}

static void
test_cod_mobile(void **state)
{
	(void)state;
	static uint8_t b[400];
	fill(b, sizeof(b), 34);
	b[0] = 0xce;
	memcpy(b + 200, "LOC_PREFAB_LOADOUTNAME_1", 24);
	assert_true(first("cod_mobile", UDP, b, 400));
	assert_true(first("cod_mobile", UDP, b, 351));
	assert_false(first("cod_mobile", UDP, b, 350));
	b[0] = 0xcf;
	assert_false(first("cod_mobile", UDP, b, 400));
	b[0] = 0xce;
	b[223] = '2';
	assert_false(first("cod_mobile", UDP, b, 400));
}

static void
test_blizzard(void **state)
{
	(void)state;
	static const uint8_t hello[23] = {0xff, 0xff, 0xff, 0xff, 0xa3, 0x1f, 0xb6, 0x1e,
					  0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 0x00, 0x00,
					  0x00, 0x00, 0x00, 0x04, 0x03, 0x02, 0x01};
	assert_true(first("blizzard", UDP, hello, 23));
	assert_int_equal(prefixes("blizzard", UDP, C2S, hello, 23), 0);
	uint8_t bad[24];
	memcpy(bad, hello, 23);
	bad[22] = 0x00;
	assert_false(first("blizzard", UDP, bad, 23));
	memcpy(bad, hello, 23);
	assert_false(first("blizzard", UDP, bad, 24));
	/* The first exchange: sequence 1 each way, little-endian on the client's side. */
	uint8_t c[18], sv[15];
	fill(c, 18, 35);
	fill(sv, 15, 36);
	put32(c + 14, 0x01000000);
	sv[14] = 1;
	assert_true(pair("blizzard", c, 18, sv, 15));
	sv[14] = 2;
	assert_false(pair("blizzard", c, 18, sv, 15));
	sv[14] = 1;
	put32(c + 14, 0x00000001);
	assert_false(pair("blizzard", c, 18, sv, 15));
	put32(c + 14, 0x01000000);
	assert_false(pair("blizzard", c, 17, sv, 15));
	assert_false(first("blizzard", UDP, sv, 15)); /* the answer alone */
}

static void
test_freefire(void **state)
{
	(void)state;
	uint8_t ka[10] = {0xa0, 0x00, 0x00, 0x00, 0x05, 'v', 'j', '7', '3', 'p'};
	assert_true(first("freefire", TCP, ka, 10));
	assert_int_equal(prefixes("freefire", TCP, C2S, ka, 10), 0);
	ka[0] = 0xa1;
	assert_false(first("freefire", TCP, ka, 10));
	uint8_t b[300];
	fill(b, sizeof(b), 37);
	memcpy(b + 120, "com.dts.freefiremobile", 22);
	assert_true(first("freefire", TCP, b, sizeof(b)));
	assert_false(first("freefire", UDP, b, sizeof(b)));
	fill(b, sizeof(b), 38);
	memcpy(b + 5, "GARENA FREE FIRE", 16);
	assert_true(first("freefire", TCP, b, sizeof(b)));
	b[17] = 'f';
	assert_false(first("freefire", TCP, b, sizeof(b)));
}

static void
test_guild_wars_2(void **state)
{
	(void)state;
	static const char hello[] = "P /Sts/Connect STS/1.0\r\nl:120\r\n\r\n<Connect><ConnType>400"
				    "</ConnType><Program>1001</Program>";
	static const char answer[] = "STS/1.0 400 Success\r\ns:1R\r\nl:125\r\n\r\n<Reply><Server>"
				     "1</Server>";
	uint32_t n = sizeof(hello) - 1;
	assert_true(first("guild_wars_2", TCP, hello, n));
	assert_int_equal(prefixes("guild_wars_2", TCP, C2S, hello, n), n - 51);
	assert_false(first("guild_wars_2", TCP, hello, 50));
	struct sim s = flow("guild_wars_2", TCP, true);
	assert_false(show(&s, C2S, "P /Sts/Ping STS/1.0\r\n                                        "
				   "          ", 62));
	assert_true(show(&s, S2C, answer, sizeof(answer) - 1));
	static const char http[] = "POST /Sts/Connect HTTP/1.1\r\nHost: example.org\r\n"
				   "Content-Length: 0\r\n\r\n";
	assert_false(first("guild_wars_2", TCP, http, sizeof(http) - 1));
}

static void
test_tencent_games(void **state)
{
	(void)state;
	uint8_t b[80];
	fill(b, sizeof(b), 50);
	put32(b, 0x3366000b);
	put16(b + 4, 0x000b);
	assert_true(first("tencent_games", TCP, b, 80));
	assert_true(first("tencent_games", TCP, b, 51));
	assert_false(first("tencent_games", TCP, b, 50));
	assert_false(first("tencent_games", UDP, b, 80));
	put16(b + 4, 0x000c);
	assert_false(first("tencent_games", TCP, b, 80));
	fill(b, sizeof(b), 51);
	put32(b, 0x4366aa00);
	put32(b + 12, 0x10e68601);
	assert_true(first("tencent_games", TCP, b, 80));
	fill(b, sizeof(b), 52);
	put32(b, 0xaa000000);
	put32(b + 10, 0x10e68601);
	assert_true(first("tencent_games", TCP, b, 80));
	put32(b + 12, 0x10e68601);
	assert_false(first("tencent_games", TCP, b, 80)); /* bytes 10-13 spoilt */
	fill(b, sizeof(b), 53);
	put32(b, 76);
	put16(b + 4, 0x7801);
	assert_true(first("tencent_games", TCP, b, 80));
	assert_false(first("tencent_games", TCP, b, 79));
	assert_int_equal(prefixes("tencent_games", TCP, C2S, b, 80), 0);
}

static void
test_gaijin(void **state)
{
	(void)state;
	uint8_t b[160];
	fill(b, sizeof(b), 54);
	put16(b, 0x8fff);
	b[2] = 0;
	put32(b + 4, 0x82ff0001);
	assert_true(first("gaijin", UDP, b, 52));
	assert_false(first("gaijin", UDP, b, 53));
	assert_false(first("gaijin", TCP, b, 52));
	b[2] = 1;
	assert_false(first("gaijin", UDP, b, 52));
	fill(b, sizeof(b), 55);
	memcpy(b, "embeddedupdater.start", 21);
	assert_true(first("gaijin", UDP, b, 101));
	assert_false(first("gaijin", UDP, b, 100));
	memcpy(b, "app.stage", 9);
	assert_true(first("gaijin", UDP, b, 160));
	memcpy(b, "app.stop\x00", 9);
	assert_false(first("gaijin", UDP, b, 160));
	assert_int_equal(prefixes("gaijin", UDP, C2S, b, 52), 0);
}

static void
test_crynetwork(void **state)
{
	(void)state;
	/* A session's first datagram: length = first byte + 10, the fixed fields. */
	uint8_t b[120];
	fill(b, sizeof(b), 56);
	b[0] = 82;
	put16(b + 3, 0x08ed);
	b[16] = 0x01;
	b[20] = 0x07;
	put16(b + 24, 0x0307);
	assert_true(first("crynetwork", UDP, b, 92));
	assert_false(first("crynetwork", UDP, b, 91)); /* the length must agree */
	assert_false(first("crynetwork", UDP, b, 93));
	assert_false(first("crynetwork", TCP, b, 92));
	/* The server's first datagram alone does not decide. */
	struct sim s = flow("crynetwork", UDP, false);
	s.st.seen[C2S] = 1;
	assert_false(show(&s, S2C, b, 92));
	/* Each fixed field. */
	static const uint8_t at[] = {3, 4, 16, 20, 24, 25};
	for (size_t i = 0; i < sizeof(at); i++) {
		uint8_t bad[120];
		memcpy(bad, b, sizeof(bad));
		bad[at[i]] ^= 0x10;
		assert_false(first("crynetwork", UDP, bad, 92));
	}
	/* Shorter than 26 bytes, whatever the first byte says. */
	b[0] = 15;
	assert_false(first("crynetwork", UDP, b, 25));
	assert_int_equal(prefixes("crynetwork", UDP, C2S, b, 92), 0);
}

/* ---- calls ------------------------------------------------------------------------------ */

static void
test_discord_voice(void **state)
{
	(void)state;
	uint8_t req[74] = {0x00, 0x01, 0x00, 0x46, 0x00, 0x03, 0xcf, 0xa8};
	put16(req + 72, 50004);
	assert_true(first("discord_voice", UDP, req, 74));
	uint8_t resp[74] = {0x00, 0x02, 0x00, 0x46, 0x00, 0x03, 0xcf, 0xa8};
	memcpy(resp + 8, "198.51.100.23", 13);
	put16(resp + 72, 61234);
	assert_true(pair("discord_voice", "xx", 2, resp, 74));
	uint8_t keepalive[8] = {0x13, 0x37, 0xca, 0xfe, 0x0d, 0, 0, 0};
	assert_true(first("discord_voice", UDP, keepalive, 8));
	/* Near misses: another length word, a size off by one, junk in the address. */
	uint8_t bad[75];
	memcpy(bad, req, 74);
	bad[3] = 0x47;
	assert_false(first("discord_voice", UDP, bad, 74));
	memcpy(bad, req, 74);
	bad[74] = 0;
	assert_false(first("discord_voice", UDP, bad, 75));
	memcpy(bad, resp, 74);
	bad[30] = 0x01; /* a control byte after the NULs */
	assert_false(first("discord_voice", UDP, bad, 74));
	memcpy(bad, resp, 74);
	memset(bad + 8, '1', 64); /* no NUL at all */
	assert_false(first("discord_voice", UDP, bad, 74));
	assert_false(first("discord_voice", UDP, keepalive, 7));
	assert_int_equal(prefixes("discord_voice", UDP, C2S, resp, 74), 0);
}

/* A STUN message: type, the attributes given (type, length, value), padded. */
static uint32_t
stun(uint8_t *b, uint16_t type, const uint16_t *attrs, int n_attrs)
{
	put16(b, type);
	put32(b + 4, 0x2112a442);
	fill(b + 8, 12, 13);
	uint32_t off = 20;
	for (int i = 0; i < n_attrs; i++) {
		uint16_t len = attrs[2 * i + 1];
		put16(b + off, attrs[2 * i]);
		put16(b + off + 2, len);
		memset(b + off + 4, 0x5a, (len + 3u) & ~3u);
		off += 4 + ((len + 3u) & ~3u);
	}
	put16(b + 2, (uint16_t)(off - 20));
	return off;
}

static void
test_whatsapp_call(void **state)
{
	(void)state;
	uint8_t b[256];
	uint32_t n = stun(b, 0x0801, NULL, 0);
	assert_true(first("whatsapp_call", UDP, b, n));
	static const uint16_t wa_attr[] = {0x0020, 8, 0x4002, 4, 0x0008, 20};
	n = stun(b, 0x0001, wa_attr, 3);
	assert_true(first("whatsapp_call", UDP, b, n));
	/* A browser's ICE check: USERNAME, ICE-CONTROLLING, PRIORITY, MESSAGE-INTEGRITY,
	 * FINGERPRINT. Standard STUN is not WhatsApp. */
	static const uint16_t ice[] = {0x0006, 9, 0x802a, 8, 0x0024, 4, 0x0008, 20, 0x8028, 4};
	n = stun(b, 0x0001, ice, 5);
	assert_false(first("whatsapp_call", UDP, b, n));
	n = stun(b, 0x0101, ice, 5);
	assert_false(first("whatsapp_call", UDP, b, n));
	/* WhatsApp's type without the magic cookie, with a wrong length, or a bad TLV. */
	n = stun(b, 0x0801, NULL, 0);
	b[4] = 0x22;
	assert_false(first("whatsapp_call", UDP, b, n));
	n = stun(b, 0x0800, wa_attr, 3);
	put16(b + 2, (uint16_t)(n - 20 + 4));
	assert_false(first("whatsapp_call", UDP, b, n));
	n = stun(b, 0x0001, wa_attr, 3);
	put16(b + 20 + 12 + 2, 200); /* the 0x4002 attribute claims more than there is */
	assert_false(first("whatsapp_call", UDP, b, n));
	n = stun(b, 0x0001, wa_attr, 3);
	b[0] |= 0x80; /* not STUN's two zero bits (RTP, DTLS...) */
	assert_false(first("whatsapp_call", UDP, b, n));
	n = stun(b, 0x0001, wa_attr, 3);
	assert_int_equal(prefixes("whatsapp_call", UDP, C2S, b, n), 0);
}

static void
test_line_call(void **state)
{
	(void)state;
	static uint8_t call[800], answer[240], shortc[160];
	fill(call, sizeof(call), 14);
	call[0] = 0xdb, call[4] = 0x06, call[5] = 0x02;
	fill(answer, sizeof(answer), 15);
	answer[0] = 0xd8, answer[4] = 0x06, answer[5] = 0x02;
	struct sim s = flow("line_call", UDP, false);
	assert_false(show(&s, C2S, call, sizeof(call)));
	assert_false(show(&s, C2S, call, sizeof(call))); /* repeated: waited through */
	assert_true(show(&s, S2C, answer, sizeof(answer)));
	/* The short form from both sides. */
	fill(shortc, sizeof(shortc), 16);
	shortc[0] = 0xd9, shortc[4] = 0x06, shortc[5] = 0x02;
	assert_true(pair("line_call", shortc, sizeof(shortc), answer, sizeof(answer)));
	/* One half is not enough; the long form must be long; order matters. */
	s = flow("line_call", UDP, false);
	assert_false(show(&s, C2S, call, sizeof(call)));
	answer[5] = 0x03;
	assert_false(show(&s, S2C, answer, sizeof(answer)));
	answer[5] = 0x02;
	assert_false(pair("line_call", call, 700, answer, sizeof(answer)));
	s = flow("line_call", UDP, false);
	assert_false(show(&s, S2C, answer, sizeof(answer)));
	assert_false(show(&s, C2S, call, sizeof(call)));
	assert_false(pair("line_call", call, sizeof(call), answer, 149));
	assert_int_equal(prefixes("line_call", UDP, C2S, call, sizeof(call)), 0);
}

static void
test_paltalk(void **state)
{
	(void)state;
	uint8_t b[22];
	fill(b, sizeof(b), 40);
	put32(b + 8, 0x00020001);
	put32(b + 16, 0x5afdffff);
	assert_true(first("paltalk", TCP, b, 20));
	assert_false(first("paltalk", TCP, b, 21));
	assert_false(first("paltalk", UDP, b, 20));
	b[19] = 0xfe;
	assert_false(first("paltalk", TCP, b, 20));
	fill(b, sizeof(b), 41);
	put32(b + 2, 0x24c2e80b);
	put32(b + 17, 0x5b732b00);
	assert_true(first("paltalk", TCP, b, 22));
	assert_int_equal(prefixes("paltalk", TCP, C2S, b, 22), 0);
}

/* ---- peer-to-peer ----------------------------------------------------------------------- */

/* A uTP header (BEP 29) of `type` with connection id `id` and no extension. */
static void
utp(uint8_t *b, int type, uint16_t id, uint16_t seq)
{
	memset(b, 0, 20);
	b[0] = (uint8_t)(type << 4 | 1);
	put16(b + 2, id);
	put32(b + 4, 0x10eeb2f0); /* timestamp, microseconds */
	put32(b + 12, 0x00100000); /* window */
	put16(b + 16, seq);
}

static void
test_oicq(void **state)
{
	(void)state;
	/* A login datagram: start byte, version 0x3b0b, command 0x0022, sequence, the
	 * client's number and its encrypted part, the end byte. */
	uint8_t b[94];
	fill(b, sizeof(b), 57);
	b[0] = 0x02;
	put16(b + 1, 0x3b0b);
	put16(b + 3, 0x0022);
	b[sizeof(b) - 1] = 0x03;
	assert_true(first("oicq", UDP, b, sizeof(b)));
	assert_true(first("oicq", UDP, b, 7));
	assert_false(first("oicq", UDP, b, 6));
	assert_false(first("oicq", TCP, b, sizeof(b)));
	/* Commands: 1 .. 0xb5 and 0x3f7 only. */
	static const uint16_t good[] = {0x0001, 0x00b5, 0x03f7}, bad[] = {0x0000, 0x00b6,
									 0x03f6, 0x03f8, 0xffff};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		put16(b + 3, good[i]);
		assert_true(first("oicq", UDP, b, sizeof(b)));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put16(b + 3, bad[i]);
		assert_false(first("oicq", UDP, b, sizeof(b)));
	}
	put16(b + 3, 0x0022);
	/* Another start byte or version; the server's datagram alone. */
	b[0] = 0x03;
	assert_false(first("oicq", UDP, b, sizeof(b)));
	b[0] = 0x02;
	put16(b + 1, 0x3b0c);
	assert_false(first("oicq", UDP, b, sizeof(b)));
	put16(b + 1, 0x3b0b);
	struct sim s = flow("oicq", UDP, false);
	s.st.seen[C2S] = 1;
	assert_false(show(&s, S2C, b, sizeof(b)));
	assert_int_equal(prefixes("oicq", UDP, C2S, b, 7), 0);
}

static void
test_utp(void **state)
{
	(void)state;
	uint8_t syn[20], st[30], data[100], bad[40];
	/* The handshake: SYN with id X, STATE back with id X. */
	utp(syn, 4, 0x5302, 1);
	utp(st, 2, 0x5302, 77);
	struct sim s = flow("utp", UDP, false);
	assert_false(show(&s, C2S, syn, 20));
	assert_true(show(&s, S2C, st, 20));
	/* The STATE with an extension-bits extension (type 2, 8 bytes). */
	st[1] = 2, st[20] = 0, st[21] = 8;
	assert_true(pair("utp", syn, 20, st, 30));
	/* Ids paired X / X+1 both ways (a flow met after its SYN). */
	utp(data, 0, 0x5303, 2);
	fill(data + 20, 80, 17);
	utp(st, 2, 0x5302, 77);
	assert_true(pair("utp", data, 100, st, 20));
	/* One way only: three packets with one id, one of them payload-free. */
	s = flow("utp", UDP, false);
	utp(st, 2, 0x5303, 78);
	assert_false(show(&s, C2S, st, 20));
	assert_false(show(&s, C2S, data, 100));
	assert_true(show(&s, C2S, data, 100));
	s = flow("utp", UDP, false);
	for (int i = 0; i < 4; i++) /* DATA only: not yet */
		assert_false(show(&s, C2S, data, 100));
	assert_true(show(&s, C2S, st, 20));
	/* The BitTorrent handshake inside a DATA packet. */
	memcpy(data + 20, "\x13" "BitTorrent protocol", 20);
	assert_true(first("utp", UDP, data, 100));
	/* Not uTP: version 2, a STATE with a payload, a DATA without, an extension that
	 * overruns, a selective ack of 3 bytes, a zero clock. */
	utp(bad, 2, 1, 1);
	bad[0] = 0x22;
	assert_false(first("utp", UDP, bad, 20));
	utp(bad, 2, 1, 1);
	assert_false(first("utp", UDP, bad, 24));
	utp(bad, 0, 1, 1);
	assert_false(first("utp", UDP, bad, 20));
	utp(bad, 2, 1, 1);
	bad[1] = 1, bad[20] = 0, bad[21] = 16;
	assert_false(first("utp", UDP, bad, 30));
	utp(bad, 2, 1, 1);
	bad[1] = 1, bad[20] = 0, bad[21] = 3;
	assert_false(first("utp", UDP, bad, 25));
	utp(bad, 2, 1, 1);
	put32(bad + 4, 0);
	assert_false(first("utp", UDP, bad, 20));
	/* Three packets, but the id changes: not one connection. */
	s = flow("utp", UDP, false);
	utp(st, 2, 0x1111, 1);
	assert_false(show(&s, C2S, st, 20));
	utp(st, 2, 0x2222, 1);
	assert_false(show(&s, C2S, st, 20));
	utp(st, 2, 0x1111, 1);
	assert_false(show(&s, C2S, st, 20));
	/* A SYN answered with another id. */
	s = flow("utp", UDP, false);
	assert_false(show(&s, C2S, syn, 20));
	utp(st, 2, 0x7777, 1);
	assert_false(show(&s, S2C, st, 20));
	memcpy(data + 20, "\x13" "BitTorrent protocol", 20);
	assert_int_equal(prefixes("utp", UDP, C2S, data, 40), 0);
}

static uint32_t
cat(uint8_t *b, uint32_t off, const void *s, uint32_t n)
{
	memcpy(b + off, s, n);
	return off + n;
}

/* A KRPC message (BEP 5) with 20-byte ids made of `c`. */
static uint32_t
krpc(uint8_t *b, char y)
{
	uint8_t id[20];
	memset(id, 0xc3, sizeof(id));
	uint32_t n = 0;
#define S(str) n = cat(b, n, str, sizeof(str) - 1)
	if (y == 'q') {
		S("d1:ad2:id20:");
		n = cat(b, n, id, 20);
		S("6:target20:");
		n = cat(b, n, id, 20);
		S("e1:q9:find_node1:t2:aa1:y1:qe");
	} else if (y == 'r') {
		S("d1:rd2:id20:");
		n = cat(b, n, id, 20);
		S("5:nodes26:abcdefghijklmnopqrstuvwxyze1:t2:aa1:y1:re");
	} else {
		S("d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee");
	}
#undef S
	return n;
}

static void
test_bt_dht(void **state)
{
	(void)state;
	uint8_t b[256];
	uint32_t n = krpc(b, 'q');
	assert_true(first("bt_dht", UDP, b, n));
	assert_int_equal(prefixes("bt_dht", UDP, C2S, b, n), 0);
	n = krpc(b, 'r');
	assert_true(first("bt_dht", UDP, b, n));
	n = krpc(b, 'e');
	assert_true(first("bt_dht", UDP, b, n));
	/* A trailing byte, a missing transaction id, a query without arguments, an
	 * unknown type. */
	n = krpc(b, 'q');
	b[n] = 'x';
	assert_false(first("bt_dht", UDP, b, n + 1));
	static const char no_t[] = "d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:y1:qe";
	assert_false(first("bt_dht", UDP, no_t, sizeof(no_t) - 1));
	static const char no_a[] = "d1:q4:ping1:t2:aa1:y1:qe";
	assert_false(first("bt_dht", UDP, no_a, sizeof(no_a) - 1));
	static const char y_x[] = "d1:rd2:id20:aaaaaaaaaaaaaaaaaaaae1:t2:aa1:y1:xe";
	assert_false(first("bt_dht", UDP, y_x, sizeof(y_x) - 1));
	/* Malformed bencoding: a string longer than the datagram, a huge length, nesting
	 * deeper than allowed, an integer without digits. */
	static const char long_str[] = "d1:t2:aa1:y1:q1:q9:ping1:ad2:id99:xe";
	assert_false(first("bt_dht", UDP, long_str, sizeof(long_str) - 1));
	static const char huge[] = "d1:t99999999999999999999:a";
	assert_false(first("bt_dht", UDP, huge, sizeof(huge) - 1));
	char deep[64] = "d1:ald1:ald1:ald1:ald1:ald1:ald1:ald1:ald1:a";
	assert_false(first("bt_dht", UDP, deep, (uint32_t)strlen(deep)));
	static const char no_digits[] = "d1:ai-e1:q4:ping1:t2:aa1:y1:qe";
	assert_false(first("bt_dht", UDP, no_digits, sizeof(no_digits) - 1));
	/* A JSON document and random bytes. */
	static const char json[] = "{\"t\":\"aa\",\"y\":\"q\"}";
	assert_false(first("bt_dht", UDP, json, sizeof(json) - 1));
	fill(b, 100, 18);
	b[0] = 'd';
	assert_false(first("bt_dht", UDP, b, 100));
}

static void
test_bt_tracker(void **state)
{
	(void)state;
	uint8_t req[16] = {0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0};
	put32(req + 12, 0xdeadbeef);
	assert_true(first("bt_tracker", UDP, req, 16));
	assert_false(first("bt_tracker", UDP, req, 15));
	uint8_t announce[98];
	fill(announce, sizeof(announce), 19);
	memcpy(announce, req, 8);
	put32(announce + 8, 1); /* action announce, which needs a connection id instead */
	assert_false(first("bt_tracker", UDP, announce, 98));
	req[7] = 0x81;
	assert_false(first("bt_tracker", UDP, req, 16));
	req[7] = 0x80;
	struct sim s = flow("bt_tracker", UDP, false);
	assert_false(show(&s, S2C, req, 16)); /* the server's side is not a request */
	assert_true(show(&s, C2S, req, 16));
	assert_int_equal(prefixes("bt_tracker", UDP, C2S, req, 16), 0);
}

/* ---- tunnels ---------------------------------------------------------------------------- */

/* A SoftEther PACK element: name, type, one value. */
static uint32_t
pack_elem(uint8_t *b, uint32_t off, const char *name, uint32_t type, const void *v, uint32_t vlen)
{
	uint32_t nlen = (uint32_t)strlen(name);
	put32(b + off, nlen + 1);
	off = cat(b, off + 4, name, nlen);
	put32(b + off, type);
	put32(b + off + 4, 1);
	off += 8;
	if (type == 1 || type == 2 || type == 3) {
		put32(b + off, vlen);
		off += 4;
	}
	return cat(b, off, v, vlen);
}

static void
test_softether(void **state)
{
	(void)state;
	static const char ip4[] = "IP=203.0.113.9,PORT=51381", ip6[] = "IP=2001:db8::7,PORT=443";
	struct sim s = flow("softether", UDP, false);
	assert_false(show(&s, C2S, "A", 1));
	assert_true(show(&s, S2C, ip4, sizeof(ip4) - 1));
	assert_true(first("softether", UDP, ip6, sizeof(ip6) - 1));
	static const char *const bad_text[] = {"IP=1.2.3.4,PORT=", "IP=1.2.3.4,PORT=123456",
					       "IP=1.2.3.4,PORT=12x", "IP=,PORT=80",
					       "IP=1.2.3.4;PORT=80", "IP=hostname,PORT=80"};
	for (size_t i = 0; i < sizeof(bad_text) / sizeof(bad_text[0]); i++)
		assert_false(first("softether", UDP, bad_text[i], (uint32_t)strlen(bad_text[i])));
	/* A PACK: host_name (string), machine_key (data), nat_traversal_version (int). */
	uint8_t b[256], key[20], one[4] = {0, 0, 0, 1};
	fill(key, sizeof(key), 20);
	put32(b, 3);
	uint32_t n = pack_elem(b, 4, "host_name", 2, "vpn", 3);
	n = pack_elem(b, n, "machine_key", 1, key, sizeof(key));
	n = pack_elem(b, n, "nat_traversal_version", 0, one, 4);
	assert_true(first("softether", UDP, b, n));
	assert_int_equal(prefixes("softether", UDP, C2S, b, n), 0);
	/* A one-element PACK must end where the element does. */
	put32(b, 1);
	uint32_t n1 = pack_elem(b, 4, "opcode", 2, "get_token", 9);
	assert_true(first("softether", UDP, b, n1));
	assert_false(first("softether", UDP, b, n1 + 1));
	/* An unknown value type, no elements, a name that is not an identifier. */
	put32(b, 3);
	n = pack_elem(b, 4, "host_name", 7, "vpnx", 4);
	n = pack_elem(b, n, "opcode", 2, "x", 1);
	assert_false(first("softether", UDP, b, n));
	put32(b, 0);
	assert_false(first("softether", UDP, b, n));
	put32(b, 2);
	n = pack_elem(b, 4, "host name", 2, "vpn", 3);
	n = pack_elem(b, n, "opcode", 2, "x", 1);
	assert_false(first("softether", UDP, b, n));
	/* A value larger than the datagram. */
	put32(b, 2);
	n = pack_elem(b, 4, "host_name", 2, "vpn", 3);
	put32(b + 4 + 4 + 9 + 8, 5000);
	assert_false(first("softether", UDP, b, n));
}

static void
test_tailscale(void **state)
{
	(void)state;
	uint8_t b[120];
	fill(b, sizeof(b), 21);
	memcpy(b, "TS\xf0\x9f\x92\xac", 6);
	assert_true(first("tailscale", UDP, b, 80));
	assert_true(first("tailscale", UDP, b, 120));
	assert_false(first("tailscale", UDP, b, 79));
	b[5] = 0xad;
	assert_false(first("tailscale", UDP, b, 120));
	b[5] = 0xac;
	assert_false(first("tailscale", TCP, b, 120));
	assert_int_equal(prefixes("tailscale", UDP, C2S, b, 80), 0);
}

static void
test_hamachi(void **state)
{
	(void)state;
	static uint8_t b[400];
	fill(b, sizeof(b), 42);
	put32(b, 396);
	put32(b + 12, 0x7b7a0dad);
	assert_true(first("hamachi", TCP, b, 400));
	put32(b, 395);
	assert_false(first("hamachi", TCP, b, 400));
	put32(b, 296);
	assert_false(first("hamachi", TCP, b, 300)); /* 300 bytes is not more than 300 */
	put32(b, 297);
	assert_true(first("hamachi", TCP, b, 301));
	/* UDP: the 76-byte key exchange from both sides. */
	uint8_t kc[76] = {0}, ks[76] = {0};
	fill(kc + 8, 68, 43);
	fill(ks + 8, 68, 44);
	assert_true(pair("hamachi", kc, 76, ks, 76));
	assert_false(first("hamachi", UDP, kc, 76));
	assert_false(pair("hamachi", kc, 76, ks, 75));
	ks[3] = 1;
	assert_false(pair("hamachi", kc, 76, ks, 76));
	/* The exchange only counts as the flow's opening. */
	struct sim s = flow("hamachi", UDP, false);
	uint8_t data[120];
	fill(data, sizeof(data), 45);
	assert_false(show(&s, C2S, data, sizeof(data)));
	assert_false(show(&s, C2S, kc, 76));
	ks[3] = 0;
	assert_false(show(&s, S2C, ks, 76));
}

static void
test_lagofast(void **state)
{
	(void)state;
	uint8_t b[60];
	fill(b, sizeof(b), 46);
	put32(b, 0x006e5d03);
	put16(b + 4, 54);
	assert_true(first("lagofast", UDP, b, 60));
	assert_false(first("lagofast", UDP, b, 59));
	assert_false(first("lagofast", TCP, b, 60));
	put16(b + 4, 0);
	assert_true(first("lagofast", UDP, b, 6));
	b[3] = 0x04;
	assert_false(first("lagofast", UDP, b, 6));
	b[3] = 0x03;
	put16(b + 4, 54);
	struct sim s = flow("lagofast", UDP, false);
	uint8_t other[30];
	fill(other, sizeof(other), 47);
	assert_false(show(&s, C2S, other, sizeof(other)));
	assert_true(show(&s, S2C, b, 60));
	assert_int_equal(prefixes("lagofast", UDP, C2S, b, 60), 0);
}

static void
test_gearup_booster(void **state)
{
	(void)state;
	uint8_t mobile[4] = {0x5e, 0x21, 0x07, 0x93}, desktop[8] = {0x11, 0x22, 0x33, 0x44, 0x02};
	struct sim s = flow("gearup_booster", UDP, false);
	assert_false(show_port(&s, C2S, mobile, 4, 9999));
	assert_true(show_port(&s, S2C, mobile, 4, 9999));
	s = flow("gearup_booster", UDP, false);
	assert_false(show_port(&s, C2S, desktop, 8, 9999));
	assert_true(show_port(&s, S2C, desktop, 8, 9999));
	/* Another port, all-zero probes, a desktop probe with its tail set, no answer, an
	 * answer that is no probe. */
	s = flow("gearup_booster", UDP, false);
	assert_false(show_port(&s, C2S, mobile, 4, 9998));
	assert_false(show_port(&s, S2C, mobile, 4, 9998));
	uint8_t zero[8] = {0};
	s = flow("gearup_booster", UDP, false);
	assert_false(show_port(&s, C2S, zero, 4, 9999));
	assert_false(show_port(&s, S2C, mobile, 4, 9999));
	desktop[7] = 1;
	s = flow("gearup_booster", UDP, false);
	assert_false(show_port(&s, C2S, desktop, 8, 9999));
	assert_false(show_port(&s, S2C, mobile, 4, 9999));
	s = flow("gearup_booster", UDP, false);
	s.st.seen[C2S] = 0;
	assert_false(show_port(&s, S2C, mobile, 4, 9999));
	s = flow("gearup_booster", UDP, false);
	assert_false(show_port(&s, C2S, mobile, 4, 9999));
	assert_false(show_port(&s, S2C, zero, 4, 9999));
	s = flow("gearup_booster", UDP, false);
	assert_false(show_port(&s, C2S, mobile, 4, 9999));
	assert_false(show_port(&s, S2C, desktop, 5, 9999));
}

static void
test_ultrasurf(void **state)
{
	(void)state;
	uint8_t b[100];
	fill(b, sizeof(b), 48);
	static const uint8_t marker[8] = {0xcc, 0x1c, 0x30, 0x41, 0x5b, 0xa4, 0x38, 0x66};
	memcpy(b, marker, 8);
	assert_true(first("ultrasurf", TCP, b, 100));
	assert_true(first("ultrasurf", TCP, b, 8));
	assert_false(first("ultrasurf", UDP, b, 100));
	struct sim s = flow("ultrasurf", TCP, false);
	assert_true(show(&s, S2C, b, 100)); /* the proxy may speak first */
	b[7] = 0x67;
	assert_false(first("ultrasurf", TCP, b, 100));
	b[7] = 0x66;
	assert_int_equal(prefixes("ultrasurf", TCP, C2S, b, 8), 0);
}

/* What vpn_certificate says of a TLS flow whose certificate nDPI read as subject/issuer,
 * the client having sent `sni` ("" for none). */
static int
vpn_cert(const char *subject, const char *issuer, const char *sni, const char *names)
{
	struct sim s = flow("vpn_certificate", TCP, true);
	s.dpi.host = sni;
	s.dpi.cert_subject = subject;
	s.dpi.cert_issuer = issuer;
	s.dpi.cert_names = names;
	return show(&s, S2C, "\x16\x03\x03\x00\x10", 5);
}

static void
test_vpn_certificate(void **state)
{
	(void)state;
	/* Windscribe's servers, as its certificates say it (self-signed, CN an address). */
	static const char ws[] = "C=CA, ST=ON, L=San Francisco, O=Windscribe, OU=IT Dept., "
				 "CN=54.153.90.230";
	assert_true(vpn_cert(ws, ws, "", NULL));
	/* A provider's name, whole or before a non-alphanumeric, in subject or issuer. */
	assert_true(vpn_cert("C=PA, O=Tefincom S.A., CN=vpn.example.net",
			     "C=US, O=Example CA, CN=R3", "vpn.example.net", "vpn.example.net"));
	assert_true(vpn_cert("CN=gw.example.org", "C=CA, O=windscribe limited, CN=Root",
			     "gw.example.org", "gw.example.org"));
	assert_true(vpn_cert("O=Private Internet Access, CN=x", "O=Y", "", NULL));
	assert_false(vpn_cert("C=US, O=Windscribers Club, CN=www.example.org",
			      "C=US, O=Example CA, CN=R3", "www.example.org", "www.example.org"));
	/* "O=" inside another attribute's value is no organisation. */
	assert_false(vpn_cert("C=US, OU=NO=Mullvad, CN=www.example.org", "C=US, O=Example CA",
			      "www.example.org", "www.example.org"));
	/* A self-signed certificate for an address, no server name asked: IPv4 and IPv6. */
	static const char v4[] = "C=DE, O=Acme, CN=203.0.113.7", v6[] = "CN=2001:db8::7";
	assert_true(vpn_cert(v4, v4, "", NULL));
	assert_true(vpn_cert(v6, v6, "", NULL));
	/* Not with a server name asked, names in the certificate, a CA's signature, or a
	 * name for CN. */
	assert_false(vpn_cert(v4, v4, "printer.example.org", NULL));
	assert_false(vpn_cert(v4, v4, "", "203.0.113.7"));
	assert_false(vpn_cert(v4, "C=US, O=Example CA, CN=R3", "", NULL));
	static const char named[] = "C=DE, O=Acme, CN=nas.example.org";
	assert_false(vpn_cert(named, named, "", NULL));
	static const char almost[] = "C=DE, O=Acme, CN=203.0.113.7x";
	assert_false(vpn_cert(almost, almost, "", NULL));
	/* Until nDPI has read the certificate the detector waits (TLS 1.3: forever). */
	struct sim w = flow("vpn_certificate", TCP, true);
	w.dpi.host = "";
	assert_false(show(&w, C2S, "\x16\x03\x01\x00\x10", 5));
	w.dpi.cert_subject = w.dpi.cert_issuer = ws;
	assert_true(show(&w, S2C, "\x16\x03\x03\x00\x10", 5));
	/* An attribute value longer than the buffer is cut, not overrun. */
	char big[400];
	memset(big, 'A', sizeof(big));
	memcpy(big, "O=", 2);
	big[sizeof(big) - 1] = '\0';
	assert_false(vpn_cert(big, big, "", NULL));
}

/* ---- video ------------------------------------------------------------------------------ */

static int
http_media(const char *url, const char *content_type)
{
	struct sim s = flow("http_media", TCP, true);
	s.dpi.url = url;
	s.dpi.content_type = content_type;
	s.dpi.host = "";
	return show(&s, C2S, "GET / HTTP/1.1\r\n", 16);
}

static void
test_mudfish(void **state)
{
	(void)state;
	/* The node discovery over TCP: exactly "UN v2\r\n" from the client. */
	static const char disc[] = "UN v2\r\n";
	assert_true(first("mudfish", TCP, disc, 7));
	assert_false(first("mudfish", TCP, disc, 6));
	assert_false(first("mudfish", TCP, "UN v3\r\n", 7));
	assert_false(first("mudfish", TCP, "UN v2\r\nX", 8));
	struct sim s = flow("mudfish", TCP, true);
	s.st.seen[C2S] = 1;
	assert_false(show(&s, S2C, disc, 7)); /* from the server it says nothing */
	/* The node ping over UDP: "P" each way, a node port on either side. */
	assert_true(pair_port("mudfish", "P", 1, "P", 1, 10007));
	assert_true(pair_port("mudfish", "P", 1, "P", 1, 10000));
	/* Off the node ports, another byte, a longer datagram or answer. */
	assert_false(pair_port("mudfish", "P", 1, "P", 1, 10011));
	assert_false(pair_port("mudfish", "Q", 1, "P", 1, 10007));
	assert_false(pair_port("mudfish", "PP", 2, "P", 1, 10007));
	assert_false(pair_port("mudfish", "P", 1, "PONG", 4, 10007));
	assert_int_equal(prefixes("mudfish", TCP, C2S, disc, 7), 0);
}

static void
test_http_media(void **state)
{
	(void)state;
	assert_true(http_media("media.example.net/live/chunk_ctvideo_1080p/seg-1234.m4s", NULL));
	assert_true(http_media("media.example.net/dash/manifest.mpd?token=abc", NULL));
	assert_true(http_media("/hls/master.m3u8", NULL));
	assert_true(http_media("cdn.example.org/films/Movie.MP4#t=10", NULL));
	assert_true(http_media("cdn.example.org/v/clip.flv", NULL));
	assert_true(http_media(NULL, "video/mp4"));
	assert_true(http_media(NULL, "Video/MP2T"));
	assert_true(http_media(NULL, " application/vnd.apple.mpegurl; charset=utf-8"));
	assert_true(http_media(NULL, "application/dash+xml"));
	/* Ordinary web objects, look-alikes and the empty cases. */
	assert_false(http_media("www.example.org/index.html", "text/html; charset=utf-8"));
	assert_false(http_media("www.example.org/app/main.ts", "application/javascript"));
	assert_false(http_media("www.example.org/watch?v=clip.mp4", "text/html"));
	assert_false(http_media("www.example.org/mp4", NULL));
	assert_false(http_media(NULL, "video/"));
	assert_false(http_media(NULL, "application/dash+xml-like"));
	assert_false(http_media("", ""));
	assert_false(http_media(NULL, NULL));
	/* The response head read from the payload, as nDPI 4.2 keeps no type for it. */
	static const char head[] = "HTTP/1.1 200 OK\r\nServer: nginx\r\ncontent-type: video/mp4\r\n"
				   "Content-Length: 1000\r\n\r\n";
	struct sim h = flow("http_media", TCP, true);
	assert_false(show(&h, C2S, "GET /play?id=7 HTTP/1.1\r\n", 25));
	assert_true(show(&h, S2C, head, sizeof(head) - 1));
	/* Cut before the type is known ("video/" and one more character): no match. */
	uint32_t known = (uint32_t)(strstr(head, "video/") - head) + 7;
	assert_int_equal(prefixes("http_media", TCP, S2C, head, known), 0);
	prefixes("http_media", TCP, S2C, head, sizeof(head) - 1);
	static const char page[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
				   "<p>Content-Type: video/mp4</p>";
	assert_false(first("http_media", TCP, page, sizeof(page) - 1));
	static const char req[] = "POST /x HTTP/1.1\r\nContent-Type: video/mp4\r\n\r\n";
	assert_false(first("http_media", TCP, req, sizeof(req) - 1));
	/* Over UDP it does not run. */
	struct sim s = flow("http_media", UDP, true);
	s.dpi.url = "x/a.m4s";
	assert_false(show(&s, C2S, "x", 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_raknet),
		cmocka_unit_test(test_raknet_connected),
		cmocka_unit_test(test_netcode),
		cmocka_unit_test(test_source_engine),
		cmocka_unit_test(test_epic_games),
		cmocka_unit_test(test_riot_games),
		cmocka_unit_test(test_elder_scrolls_online),
		cmocka_unit_test(test_path_of_exile),
		cmocka_unit_test(test_armagetron),
		cmocka_unit_test(test_photon),
		cmocka_unit_test(test_netease_games),
		cmocka_unit_test(test_nexon),
		cmocka_unit_test(test_cod_mobile),
		cmocka_unit_test(test_blizzard),
		cmocka_unit_test(test_freefire),
		cmocka_unit_test(test_guild_wars_2),
		cmocka_unit_test(test_tencent_games),
		cmocka_unit_test(test_gaijin),
		cmocka_unit_test(test_crynetwork),
		cmocka_unit_test(test_discord_voice),
		cmocka_unit_test(test_whatsapp_call),
		cmocka_unit_test(test_line_call),
		cmocka_unit_test(test_paltalk),
		cmocka_unit_test(test_oicq),
		cmocka_unit_test(test_utp),
		cmocka_unit_test(test_bt_dht),
		cmocka_unit_test(test_bt_tracker),
		cmocka_unit_test(test_softether),
		cmocka_unit_test(test_tailscale),
		cmocka_unit_test(test_hamachi),
		cmocka_unit_test(test_lagofast),
		cmocka_unit_test(test_gearup_booster),
		cmocka_unit_test(test_ultrasurf),
		cmocka_unit_test(test_mudfish),
		cmocka_unit_test(test_http_media),
		cmocka_unit_test(test_vpn_certificate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
