/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Names learned from DNS: A, AAAA and CNAME chains, compression, TTLs, replacement,
 * bounded memory, two threads at once, and malformed messages (counted, nothing
 * learned, no crash). Messages are built here byte by byte.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bwg_dnsnames.h"
#include "bwg_hash.h"

#define SEC 1000000000ull
#define T0 (1795572000ull * SEC) /* 2026-11-25 02:00:00 UTC */

/* ---- building messages ---------------------------------------------------------------- */

struct msg {
	uint8_t b[4096];
	uint32_t len;
	uint16_t an;
	uint32_t rdlen_at; /* where the open record's rdlength goes */
};

static void
put8(struct msg *m, uint8_t v)
{
	assert_true(m->len < sizeof(m->b));
	m->b[m->len++] = v;
}

static void
put16(struct msg *m, uint16_t v)
{
	put8(m, (uint8_t)(v >> 8));
	put8(m, (uint8_t)v);
}

static void
put32(struct msg *m, uint32_t v)
{
	put16(m, (uint16_t)(v >> 16));
	put16(m, (uint16_t)v);
}

/* Labels of the dotted `labels` ("" for none), then a pointer to `ptr` or (ptr < 0) the
 * root. Returns where the name starts. */
static uint32_t
name(struct msg *m, const char *labels, int ptr)
{
	uint32_t at = m->len;
	const char *p = labels;
	while (*p) {
		size_t l = strcspn(p, ".");
		put8(m, (uint8_t)l);
		for (size_t i = 0; i < l; i++)
			put8(m, (uint8_t)p[i]);
		p += l + (p[l] == '.');
	}
	if (ptr >= 0)
		put16(m, (uint16_t)(0xc000 | ptr));
	else
		put8(m, 0);
	return at;
}

/* A response header (flags 0x8180: QR, RD, RA, NOERROR) and the question; the answer
 * count is filled by done(). Returns the offset of QNAME (12). */
static uint32_t
response(struct msg *m, const char *qname, uint16_t qtype)
{
	memset(m, 0, sizeof(*m));
	put16(m, 0x1234);
	put16(m, 0x8180);
	put16(m, 1);
	put16(m, 0);
	put16(m, 0);
	put16(m, 0);
	uint32_t q = name(m, qname, -1);
	put16(m, qtype);
	put16(m, 1);
	return q;
}

/* A record's owner (labels + pointer), type, class IN, TTL; rdata follows, then rr_end. */
static void
rr_begin(struct msg *m, const char *labels, int ptr, uint16_t type, uint32_t ttl)
{
	name(m, labels, ptr);
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	m->rdlen_at = m->len;
	put16(m, 0);
	m->an++;
}

static void
rr_end(struct msg *m)
{
	uint32_t l = m->len - m->rdlen_at - 2;
	m->b[m->rdlen_at] = (uint8_t)(l >> 8);
	m->b[m->rdlen_at + 1] = (uint8_t)l;
}

static void
rr_addr(struct msg *m, int owner, uint32_t ttl, const char *ip)
{
	uint8_t a[16];
	int v6 = strchr(ip, ':') != NULL;
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, ip, a), 1);
	rr_begin(m, "", owner, v6 ? 28 : 1, ttl);
	for (int i = 0; i < (v6 ? 16 : 4); i++)
		put8(m, a[i]);
	rr_end(m);
}

/* CNAME owner -> labels + ptr; returns where the target starts. */
static uint32_t
rr_cname(struct msg *m, int owner, uint32_t ttl, const char *labels, int ptr)
{
	rr_begin(m, "", owner, 5, ttl);
	uint32_t t = name(m, labels, ptr);
	rr_end(m);
	return t;
}

static void
done(struct msg *m)
{
	m->b[6] = (uint8_t)(m->an >> 8);
	m->b[7] = (uint8_t)m->an;
}

/* A whole response: qname A (or AAAA, by the address) ip with this TTL. */
static void
answer(struct msg *m, const char *qname, uint32_t ttl, const char *ip)
{
	int q = (int)response(m, qname, strchr(ip, ':') ? 28 : 1);
	rr_addr(m, q, ttl, ip);
	done(m);
}

/* ---- helpers -------------------------------------------------------------------------- */

static struct bwg_dnsnames *
cache(uint32_t entries, uint32_t max_ttl)
{
	struct bwg_dnsnames *n;
	char err[128];
	struct bwg_dnsnames_conf c = {.entries = entries, .max_ttl = max_ttl};
	assert_int_equal(bwg_dnsnames_create(&n, &c, err, sizeof(err)), 0);
	return n;
}

/* The name learned for ip at now, or "" when none. */
static const char *
lookup(const struct bwg_dnsnames *n, const char *ip, uint64_t now)
{
	static char buf[80];
	uint8_t a[16] = {0};
	int v6 = strchr(ip, ':') != NULL;
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, ip, a), 1);
	if (!bwg_dnsnames_lookup(n, v6 ? 6 : 4, a, now, buf, sizeof(buf)))
		return "";
	return buf;
}

static void
learn(struct bwg_dnsnames *n, const struct msg *m, uint64_t now, struct bwg_dnsnames_counters *c)
{
	bwg_dnsnames_learn(n, m->b, m->len, false, now, c);
}

/* ---- what is learned ------------------------------------------------------------------ */

static void
test_a_and_aaaa(void **state)
{
	(void)state;
	struct bwg_dnsnames *n = cache(1024, 3600);
	struct bwg_dnsnames_counters c = {0};
	struct msg m;
	int q = (int)response(&m, "www.iqiyi.com", 1);
	rr_addr(&m, q, 300, "203.0.113.7");
	rr_addr(&m, q, 300, "203.0.113.8");
	done(&m);
	learn(n, &m, T0, &c);
	assert_string_equal(lookup(n, "203.0.113.7", T0), "www.iqiyi.com");
	assert_string_equal(lookup(n, "203.0.113.8", T0 + SEC), "www.iqiyi.com");
	assert_string_equal(lookup(n, "203.0.113.9", T0), "");
	assert_int_equal(c.responses, 1);
	assert_int_equal(c.learned, 2);
	assert_int_equal(c.malformed, 0);

	answer(&m, "v.qq.com", 300, "2001:db8:cafe::7");
	learn(n, &m, T0, &c);
	assert_string_equal(lookup(n, "2001:db8:cafe::7", T0), "v.qq.com");
	/* The same bytes under the other family are another key. */
	uint8_t a[16] = {203, 0, 113, 7};
	char buf[80];
	assert_false(bwg_dnsnames_lookup(n, 6, a, T0, buf, sizeof(buf)));
	assert_int_equal(c.learned, 3);

	/* A short buffer gets the name cut, NUL-terminated. */
	assert_true(bwg_dnsnames_lookup(n, 4, a, T0, buf, 6));
	assert_string_equal(buf, "www.i");
	bwg_dnsnames_destroy(n);
}

static void
test_cname_chain(void **state)
{
	(void)state;
	struct bwg_dnsnames *n = cache(1024, 3600);
	struct bwg_dnsnames_counters c = {0};
	struct msg m;
	/* v.qq.com -> v.qq.com.edgekey.example -> e1.cdn.example: both addresses are
	 * v.qq.com, what the user asked for. The targets share suffixes by compression. */
	int q = (int)response(&m, "v.qq.com", 1);
	int t1 = (int)rr_cname(&m, q, 600, "v.qq.com.edgekey.example", -1);
	int ex = t1 + 2 + 3 + 4 + 8; /* "example" inside t1: a pointer into a name's middle */
	int t2 = (int)rr_cname(&m, t1, 600, "e1.cdn", ex);
	rr_addr(&m, t2, 20, "198.51.100.1");
	rr_addr(&m, t2, 20, "2001:db8:cafe::1");
	/* Not on the chain: an address for another name. */
	rr_begin(&m, "evil", ex, 1, 600);
	put32(&m, 0xc6336402); /* 198.51.100.2 */
	rr_end(&m);
	done(&m);
	learn(n, &m, T0, &c);
	assert_int_equal(c.malformed, 0);
	assert_string_equal(lookup(n, "198.51.100.1", T0), "v.qq.com");
	assert_string_equal(lookup(n, "2001:db8:cafe::1", T0), "v.qq.com");
	assert_string_equal(lookup(n, "198.51.100.2", T0), "");
	assert_int_equal(c.learned, 2);
	bwg_dnsnames_destroy(n);
}

static void
test_chain_out_of_order_and_case(void **state)
{
	(void)state;
	struct bwg_dnsnames *n = cache(1024, 3600);
	struct bwg_dnsnames_counters c = {0};
	struct msg m;
	/* The address first, then the CNAMEs backwards; names in mixed case. */
	response(&m, "WWW.Bilibili.COM", 1);
	rr_begin(&m, "b.CDN.example", -1, 1, 300);
	put32(&m, 0xc0000205); /* 192.0.2.5 */
	rr_end(&m);
	rr_begin(&m, "a.cdn.EXAMPLE", -1, 5, 300);
	name(&m, "B.cdn.example", -1);
	rr_end(&m);
	rr_begin(&m, "www.bilibili.com", -1, 5, 300);
	name(&m, "a.cdn.example", -1);
	rr_end(&m);
	done(&m);
	learn(n, &m, T0, &c);
	assert_string_equal(lookup(n, "192.0.2.5", T0), "www.bilibili.com");
	bwg_dnsnames_destroy(n);
}

static void
test_iterative_resolution(void **state)
{
	(void)state;
	struct bwg_dnsnames *n = cache(1024, 3600);
	struct bwg_dnsnames_counters c = {0};
	struct msg m;
	/* iqiyi.com's servers answer with a CNAME into another zone and no address ... */
	int q = (int)response(&m, "www.iqiyi.com", 1);
	rr_cname(&m, q, 600, "www.iqiyi.com.cdn.dnsv1", -1);
	done(&m);
	learn(n, &m, T0, &c);
	assert_int_equal(c.learned, 0);
	/* ... the resolver asks the next zone, hop by hop ... */
	q = (int)response(&m, "www.iqiyi.com.cdn.dnsv1", 1);
	rr_cname(&m, q, 600, "edge.dnsv1", -1);
	done(&m);
	learn(n, &m, T0 + SEC, &c);
	/* ... and the addresses carry the name the user asked for. */
	answer(&m, "edge.dnsv1", 600, "198.51.100.40");
	learn(n, &m, T0 + 2 * SEC, &c);
	assert_string_equal(lookup(n, "198.51.100.40", T0 + 3 * SEC), "www.iqiyi.com");
	assert_int_equal(c.learned, 1);
	/* A question nobody led to keeps its own name. */
	answer(&m, "edge2.dnsv1", 600, "198.51.100.41");
	learn(n, &m, T0 + 2 * SEC, &c);
	assert_string_equal(lookup(n, "198.51.100.41", T0 + 3 * SEC), "edge2.dnsv1");
	/* Past the CNAME's life the link is gone. */
	answer(&m, "edge.dnsv1", 600, "198.51.100.42");
	learn(n, &m, T0 + 700 * SEC, &c);
	assert_string_equal(lookup(n, "198.51.100.42", T0 + 700 * SEC), "edge.dnsv1");
	bwg_dnsnames_destroy(n);
}

static void
test_names_as_flows_show_them(void **state)
{
	(void)state;
	struct bwg_dnsnames *n = cache(1024, 3600);
	struct bwg_dnsnames_counters c = {0};
	struct msg m;
	/* 2 labels of 63 and one of 40: 168 characters. The suffix that fits in 79 is kept,
	 * whole labels only: "<40 x>.com" is 44 characters, one more label would be 108. */
	char big[200], want[80];
	memset(big, 'a', 63);
	big[63] = '.';
	memset(big + 64, 'b', 63);
	big[127] = '.';
	memset(big + 128, 'x', 40);
	strcpy(big + 168, ".com");
	strcpy(want, big + 128);
	answer(&m, big, 300, "192.0.2.10");
	learn(n, &m, T0, &c);
	assert_string_equal(lookup(n, "192.0.2.10", T0), want);

	/* Bytes a record may not quote become '?', a dot inside a label too. */
	response(&m, "", 1);
	m.len = 12;
	const uint8_t odd[] = {5, 'a', ' ', '"', 0x7f, 'B', 3, 'x', '.', '\\', 2, 'c', 'n', 0};
	memcpy(m.b + m.len, odd, sizeof(odd));
	m.len += sizeof(odd);
	put16(&m, 1);
	put16(&m, 1);
	rr_addr(&m, 12, 300, "192.0.2.11");
	done(&m);
	learn(n, &m, T0, &c);
	assert_string_equal(lookup(n, "192.0.2.11", T0), "a???b.x??.cn");

	/* A label of exactly 63 and a name of exactly 255 bytes are fine. */
	char edge[300];
	size_t k = 0;
	for (int i = 0; i < 3; i++) {
		memset(edge + k, 'a' + i, 63);
		k += 63;
		edge[k++] = '.';
	}
	memset(edge + k, 'z', 61); /* 4 x 64 - 2 + ... = 3*64 + 62 + 1 = 255 */
	k += 61;
	edge[k] = 0;
	answer(&m, edge, 300, "192.0.2.12");
	learn(n, &m, T0, &c);
	assert_int_equal(c.malformed, 0);
	assert_int_equal(strlen(lookup(n, "192.0.2.12", T0)), 61);
	bwg_dnsnames_destroy(n);
}

/* ---- time, replacement, memory --------------------------------------------------------- */

static void
one_answer(struct bwg_dnsnames *n, const char *qname, const char *ip, uint32_t ttl, uint64_t now,
	   struct bwg_dnsnames_counters *c)
{
	struct msg m;
	answer(&m, qname, ttl, ip);
	learn(n, &m, now, c);
}

static void
test_ttl(void **state)
{
	(void)state;
	struct bwg_dnsnames *n = cache(1024, 600);
	struct bwg_dnsnames_counters c = {0};
	one_answer(n, "a.example", "192.0.2.1", 300, T0, &c);
	assert_string_equal(lookup(n, "192.0.2.1", T0 + 299 * SEC), "a.example");
	assert_string_equal(lookup(n, "192.0.2.1", T0 + 300 * SEC), "");
	/* max_ttl caps a long TTL. */
	one_answer(n, "b.example", "192.0.2.2", 86400, T0, &c);
	assert_string_equal(lookup(n, "192.0.2.2", T0 + 599 * SEC), "b.example");
	assert_string_equal(lookup(n, "192.0.2.2", T0 + 600 * SEC), "");
	/* TTLs under the floor (0 included, and RFC 2181's top-bit TTLs) live the floor. */
	one_answer(n, "c.example", "192.0.2.3", 0, T0, &c);
	one_answer(n, "d.example", "192.0.2.4", 5, T0, &c);
	one_answer(n, "e.example", "192.0.2.5", 0x80000000u, T0, &c);
	for (int i = 3; i <= 5; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		assert_string_not_equal(lookup(n, ip, T0 + (BWG_DNSNAMES_TTL_FLOOR - 1) * SEC), "");
		assert_string_equal(lookup(n, ip, T0 + BWG_DNSNAMES_TTL_FLOOR * SEC), "");
	}
	assert_int_equal(c.learned, 5);
	bwg_dnsnames_destroy(n);

	/* A max_ttl under the floor still caps it. */
	n = cache(16, 30);
	one_answer(n, "f.example", "192.0.2.6", 0, T0, &c);
	assert_string_equal(lookup(n, "192.0.2.6", T0 + 29 * SEC), "f.example");
	assert_string_equal(lookup(n, "192.0.2.6", T0 + 30 * SEC), "");
	bwg_dnsnames_destroy(n);
}

/* Names flows gave their servers: per client and server, for BWG_DNSNAMES_FLOW_TTL;
 * socket classes: per inside address and port, for BWG_DNSNAMES_SOCKET_TTL; neither
 * meets the other nor an address learned from DNS. */
static void
test_taught(void **state)
{
	(void)state;
	struct bwg_dnsnames *n = cache(1024, 3600);
	struct bwg_dnsnames_counters c = {0};
	uint8_t cli[16] = {10, 0, 0, 1}, cli2[16] = {10, 0, 0, 2}, srv[16] = {192, 0, 2, 9};
	char buf[80];
	bwg_dnsnames_teach(n, 4, cli, srv, "play.example", T0, &c);
	assert_true(bwg_dnsnames_taught(n, 4, cli, srv, T0 + SEC, buf, sizeof(buf)));
	assert_string_equal(buf, "play.example");
	assert_false(bwg_dnsnames_taught(n, 4, cli2, srv, T0 + SEC, buf, sizeof(buf)));
	assert_false(bwg_dnsnames_taught(n, 4, srv, cli, T0 + SEC, buf, sizeof(buf)));
	assert_false(bwg_dnsnames_taught(n, 6, cli, srv, T0 + SEC, buf, sizeof(buf)));
	assert_string_equal(lookup(n, "192.0.2.9", T0 + SEC), "");
	/* Saying it again writes nothing; a new name replaces it. */
	bwg_dnsnames_teach(n, 4, cli, srv, "play.example", T0 + SEC, &c);
	assert_int_equal(c.taught, 1);
	bwg_dnsnames_teach(n, 4, cli, srv, "other.example", T0 + 2 * SEC, &c);
	assert_int_equal(c.taught, 2);
	assert_true(bwg_dnsnames_taught(n, 4, cli, srv, T0 + 3 * SEC, buf, 6));
	assert_string_equal(buf, "other"); /* cut to the buffer */
	assert_true(bwg_dnsnames_taught(n, 4, cli, srv,
					T0 + (2 + BWG_DNSNAMES_FLOW_TTL - 1) * SEC, buf, sizeof(buf)));
	assert_false(bwg_dnsnames_taught(n, 4, cli, srv, T0 + (2 + BWG_DNSNAMES_FLOW_TTL) * SEC,
					 buf, sizeof(buf)));
	/* Sockets. */
	assert_false(bwg_dnsnames_socket_get(n, 4, cli, 4000, T0, buf, sizeof(buf)));
	bwg_dnsnames_socket_put(n, 4, cli, 4000, "chat", T0, &c);
	assert_true(bwg_dnsnames_socket_get(n, 4, cli, 4000, T0 + SEC, buf, sizeof(buf)));
	assert_string_equal(buf, "chat");
	assert_false(bwg_dnsnames_socket_get(n, 4, cli, 4001, T0 + SEC, buf, sizeof(buf)));
	assert_false(bwg_dnsnames_socket_get(n, 4, cli2, 4000, T0 + SEC, buf, sizeof(buf)));
	assert_false(bwg_dnsnames_taught(n, 4, cli, srv, T0 + SEC, buf, sizeof(buf)) &&
		     strcmp(buf, "chat") == 0);
	assert_true(bwg_dnsnames_socket_get(n, 4, cli, 4000,
					    T0 + (BWG_DNSNAMES_SOCKET_TTL - 1) * SEC, buf,
					    sizeof(buf)));
	assert_false(bwg_dnsnames_socket_get(n, 4, cli, 4000, T0 + BWG_DNSNAMES_SOCKET_TTL * SEC,
					     buf, sizeof(buf)));
	assert_int_equal(c.taught, 3);
	/* Nothing of the kind for other families or empty values. */
	bwg_dnsnames_teach(n, 5, cli, srv, "x.example", T0, &c);
	bwg_dnsnames_teach(n, 4, cli, srv, "", T0, &c);
	bwg_dnsnames_socket_put(n, 4, cli, 4000, "", T0, &c);
	assert_int_equal(c.taught, 3);
	/* max_ttl caps both. */
	bwg_dnsnames_destroy(n);
	n = cache(16, 30);
	bwg_dnsnames_teach(n, 4, cli, srv, "play.example", T0, &c);
	assert_true(bwg_dnsnames_taught(n, 4, cli, srv, T0 + 29 * SEC, buf, sizeof(buf)));
	assert_false(bwg_dnsnames_taught(n, 4, cli, srv, T0 + 30 * SEC, buf, sizeof(buf)));
	bwg_dnsnames_destroy(n);
}

static void
test_overwrite(void **state)
{
	(void)state;
	struct bwg_dnsnames *n = cache(1024, 3600);
	struct bwg_dnsnames_counters c = {0};
	one_answer(n, "www.iqiyi.com", "192.0.2.1", 300, T0, &c);
	one_answer(n, "www.gov.cn", "192.0.2.1", 60, T0 + SEC, &c);
	assert_string_equal(lookup(n, "192.0.2.1", T0 + 2 * SEC), "www.gov.cn");
	/* The newest answer's TTL counts too. */
	assert_string_equal(lookup(n, "192.0.2.1", T0 + 61 * SEC), "");
	assert_int_equal(c.evictions, 0);
	bwg_dnsnames_destroy(n);
}

static void
test_eviction(void **state)
{
	(void)state;
	/* One set of 4: the fifth address pushes out the least recently written. */
	struct bwg_dnsnames *n = cache(4, 3600);
	assert_int_equal(bwg_dnsnames_capacity(n), 4);
	struct bwg_dnsnames_counters c = {0};
	const char *ips[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"};
	one_answer(n, "one.example", ips[0], 3600, T0, &c);
	one_answer(n, "two.example", ips[1], 3600, T0, &c);
	one_answer(n, "three.example", ips[2], 3600, T0, &c);
	one_answer(n, "four.example", ips[3], 3600, T0, &c);
	/* Rewriting the first makes the second the oldest. */
	one_answer(n, "one.example", ips[0], 3600, T0, &c);
	assert_int_equal(c.evictions, 0);
	one_answer(n, "five.example", ips[4], 3600, T0, &c);
	assert_int_equal(c.evictions, 1);
	assert_string_equal(lookup(n, ips[1], T0), "");
	assert_string_equal(lookup(n, ips[0], T0), "one.example");
	assert_string_equal(lookup(n, ips[4], T0), "five.example");
	/* Expired entries make room without evicting anything live. */
	one_answer(n, "six.example", "192.0.2.6", 60, T0 + 4000 * SEC, &c);
	one_answer(n, "seven.example", "192.0.2.7", 60, T0 + 4000 * SEC, &c);
	assert_int_equal(c.evictions, 1);
	bwg_dnsnames_destroy(n);
}

static void
test_bounded_memory(void **state)
{
	(void)state;
	struct bwg_dnsnames *n = cache(1000, 3600);
	uint32_t cap = bwg_dnsnames_capacity(n);
	assert_int_equal(cap, 1024);
	size_t bytes = bwg_dnsnames_bytes(n);
	assert_true(bytes >= cap * 112u && bytes < cap * 112u + 4096);
	struct bwg_dnsnames_counters c = {0};
	char ip[32];
	for (uint32_t i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", i >> 16, (i >> 8) & 0xff, i & 0xff);
		one_answer(n, "flood.example", ip, 3600, T0, &c);
	}
	assert_int_equal(c.learned, 20000);
	assert_int_equal(c.evictions, 20000 - cap);
	uint32_t found = 0;
	for (uint32_t i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", i >> 16, (i >> 8) & 0xff, i & 0xff);
		found += lookup(n, ip, T0)[0] != 0;
	}
	assert_int_equal(found, cap);
	assert_int_equal(bwg_dnsnames_bytes(n), bytes);
	bwg_dnsnames_destroy(n);
}

static void
test_create_limits(void **state)
{
	(void)state;
	struct bwg_dnsnames *n;
	char err[128];
	struct bwg_dnsnames_conf c = {.entries = 0, .max_ttl = 60};
	assert_int_equal(bwg_dnsnames_create(&n, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "dns.cache_entries"));
	c.entries = (1u << 24) + 1;
	assert_int_equal(bwg_dnsnames_create(&n, &c, err, sizeof(err)), -EINVAL);
	c.entries = 1;
	c.max_ttl = 0;
	assert_int_equal(bwg_dnsnames_create(&n, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "dns.max_ttl"));
	c.max_ttl = 1;
	assert_int_equal(bwg_dnsnames_create(&n, &c, err, sizeof(err)), 0);
	assert_int_equal(bwg_dnsnames_capacity(n), 4);
	bwg_dnsnames_destroy(n);
	bwg_dnsnames_destroy(NULL);
}

/* ---- what is not learned ---------------------------------------------------------------- */

static void
test_nothing_to_learn(void **state)
{
	(void)state;
	struct bwg_dnsnames *n = cache(1024, 3600);
	struct bwg_dnsnames_counters c = {0};
	struct msg m;
	/* A query is not a response: not counted at all. */
	answer(&m, "a.example", 300, "192.0.2.1");
	m.b[2] &= 0x7f;
	learn(n, &m, T0, &c);
	/* NXDOMAIN, another opcode, two questions, no question. */
	const struct {
		uint32_t at;
		uint8_t v;
	} edits[] = {{3, 0x83}, {2, 0x81 | (2 << 3)}, {5, 2}, {5, 0}};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		answer(&m, "a.example", 300, "192.0.2.1");
		m.b[edits[i].at] = edits[i].v;
		learn(n, &m, T0, &c);
	}
	/* A record of another class. */
	answer(&m, "a.example", 300, "192.0.2.1");
	m.b[m.len - 4 - 2 - 4 - 1] = 3; /* class CH */
	learn(n, &m, T0, &c);
	/* The root as the question. */
	answer(&m, "", 300, "192.0.2.1");
	learn(n, &m, T0, &c);
	assert_int_equal(c.responses, 6);
	assert_int_equal(c.learned, 0);
	assert_int_equal(c.malformed, 0);
	assert_string_equal(lookup(n, "192.0.2.1", T0), "");

	/* Truncated by the server (TC) at a record boundary: what came is learned. */
	answer(&m, "a.example", 300, "192.0.2.1");
	m.b[7] = 5;
	m.b[2] |= 0x02;
	learn(n, &m, T0, &c);
	assert_string_equal(lookup(n, "192.0.2.1", T0), "a.example");
	assert_int_equal(c.malformed, 0);

	/* More than 16 distinct names: the ones past that are not followed. */
	int q = (int)response(&m, "a.example", 1);
	for (int i = 0; i < 20; i++) {
		char l[16];
		snprintf(l, sizeof(l), "n%d", i);
		rr_begin(&m, l, q, 1, 300);
		put32(&m, 0xc0000264u + (uint32_t)i);
		rr_end(&m);
	}
	rr_addr(&m, q, 300, "192.0.2.2");
	done(&m);
	learn(n, &m, T0, &c);
	assert_int_equal(c.malformed, 0);
	assert_string_equal(lookup(n, "192.0.2.2", T0), "a.example");
	bwg_dnsnames_destroy(n);
}

static void
test_tcp(void **state)
{
	(void)state;
	struct bwg_dnsnames *n = cache(1024, 3600);
	struct bwg_dnsnames_counters c = {0};
	struct msg m;
	uint8_t seg[3 * sizeof(m.b)];
	answer(&m, "tcp.example", 300, "192.0.2.1");
	seg[0] = (uint8_t)(m.len >> 8);
	seg[1] = (uint8_t)m.len;
	memcpy(seg + 2, m.b, m.len);
	bwg_dnsnames_learn(n, seg, m.len + 2, true, T0, &c);
	assert_string_equal(lookup(n, "192.0.2.1", T0), "tcp.example");
	/* Two messages in one segment. */
	uint32_t l1 = m.len;
	answer(&m, "tcp2.example", 300, "2001:db8::2");
	seg[2 + l1] = (uint8_t)(m.len >> 8);
	seg[3 + l1] = (uint8_t)m.len;
	memcpy(seg + 4 + l1, m.b, m.len);
	bwg_dnsnames_learn(n, seg, l1 + m.len + 4, true, T0, &c);
	assert_string_equal(lookup(n, "2001:db8::2", T0), "tcp2.example");
	assert_int_equal(c.responses, 3);
	assert_int_equal(c.malformed, 0);
	bwg_dnsnames_destroy(n);
}

/* ---- malformed -------------------------------------------------------------------------- */

/* A valid response for www.iqiyi.com -> 192.0.2.99 to break. */
static void
base(struct msg *m)
{
	answer(m, "www.iqiyi.com", 300, "192.0.2.99");
}

static void
mk_short_header(struct msg *m)
{
	base(m);
	m->len = 11;
}

static void
mk_cut_question_name(struct msg *m)
{
	base(m);
	m->len = 12 + 6;
}

static void
mk_cut_question_type(struct msg *m)
{
	base(m);
	m->len = 12 + 15 + 3;
}

static void
mk_cut_answer_fixed(struct msg *m)
{
	base(m);
	m->len = 12 + 15 + 4 + 2 + 8; /* owner pointer, then 8 of the 10 fixed bytes */
}

static void
mk_rdlength_past_end(struct msg *m)
{
	base(m);
	m->len -= 1;
}

static void
mk_more_answers_than_sent(struct msg *m)
{
	base(m);
	m->b[7] = 2; /* and no TC bit */
}

static void
mk_pointer_to_itself(struct msg *m)
{
	base(m);
	uint32_t at = 12 + 15 + 4;
	m->b[at] = 0xc0;
	m->b[at + 1] = (uint8_t)at;
}

static void
mk_pointer_forward(struct msg *m)
{
	base(m);
	uint32_t at = 12 + 15 + 4;
	m->b[at + 1] = (uint8_t)(at + 2); /* points at its own type field */
}

static void
mk_pointer_out_of_range(struct msg *m)
{
	base(m);
	m->b[12 + 15 + 4] = 0xcf; /* 0xf0c: far past the end */
	m->b[12 + 15 + 5] = 0x0c;
}

static void
mk_pointer_loop(struct msg *m)
{
	/* Two names pointing at each other: "a" + ptr -> "b" + ptr -> "a" ... */
	response(m, "x.example", 1);
	uint32_t a = m->len;
	rr_begin(m, "a", (int)a + 4 + 10 + 4, 1, 300); /* points forward, at the next owner */
	put32(m, 0xc0000263);
	rr_end(m);
	rr_begin(m, "b", (int)a, 1, 300);
	put32(m, 0xc0000263);
	rr_end(m);
	done(m);
}

static void
mk_pointer_into_own_labels(struct msg *m)
{
	/* A name whose pointer points back into its own labels: a loop that only ever
	 * points backwards, which a hop count alone would let run to its bound. */
	response(m, "x.example", 1);
	uint32_t a = m->len;
	rr_begin(m, "aa.bb", (int)a + 3, 1, 300);
	put32(m, 0xc0000263);
	rr_end(m);
	done(m);
}

static void
mk_label_64(struct msg *m)
{
	char l[70];
	memset(l, 'a', 64);
	strcpy(l + 64, ".com");
	answer(m, l, 300, "192.0.2.99");
}

static void
mk_label_type_80(struct msg *m)
{
	base(m);
	m->b[12] = 0x83; /* "www" with the reserved 10 type bits */
	for (int i = 0; i < 200; i++)
		put8(m, 0); /* trailing bytes: 0x83 is not refused for running past the end */
}

static void
mk_name_256(struct msg *m)
{
	char big[300];
	size_t k = 0;
	for (int i = 0; i < 4; i++) {
		memset(big + k, 'a' + i, 63);
		k += 63;
		big[k++] = '.';
	}
	big[k - 1] = 0; /* 4 x 64 + 1 = 257 bytes */
	answer(m, big, 300, "192.0.2.99");
}

static void
mk_name_256_by_pointer(struct msg *m)
{
	/* Each name is fine alone (3 x 64 + 1 = 193); the owner's two labels of 63 ahead of
	 * a pointer to it make 321. */
	char big[300];
	size_t k = 0;
	for (int i = 0; i < 3; i++) {
		memset(big + k, 'a' + i, 63);
		k += 63;
		big[k++] = '.';
	}
	big[k - 1] = 0;
	int q = (int)response(m, big, 1);
	char two[140];
	memset(two, 'x', 63);
	two[63] = '.';
	memset(two + 64, 'y', 63);
	two[127] = 0;
	rr_begin(m, two, q, 1, 300);
	put32(m, 0xc0000263);
	rr_end(m);
	done(m);
}

static void
mk_a_rdlength_5(struct msg *m)
{
	int q = (int)response(m, "www.iqiyi.com", 1);
	rr_begin(m, "", q, 1, 300);
	put32(m, 0xc0000263);
	put8(m, 0);
	rr_end(m);
	done(m);
}

static void
mk_aaaa_rdlength_4(struct msg *m)
{
	int q = (int)response(m, "www.iqiyi.com", 28);
	rr_begin(m, "", q, 28, 300);
	put32(m, 0xc0000263);
	rr_end(m);
	rr_addr(m, q, 300, "192.0.2.99");
	done(m);
}

static void
mk_cname_rdlength_long(struct msg *m)
{
	int q = (int)response(m, "www.iqiyi.com", 1);
	rr_begin(m, "", q, 5, 300);
	name(m, "cdn", q);
	put8(m, 0); /* one byte of rdata past the target */
	rr_end(m);
	rr_addr(m, q, 300, "192.0.2.99");
	done(m);
}

static void
mk_cname_target_past_rdata(struct msg *m)
{
	int q = (int)response(m, "www.iqiyi.com", 1);
	rr_begin(m, "", q, 5, 300);
	name(m, "cdn", q);
	rr_end(m);
	m->b[m->rdlen_at + 1] = 3; /* the target runs past its rdata */
	rr_addr(m, q, 300, "192.0.2.99");
	done(m);
}

static void
mk_hop_bomb(struct msg *m)
{
	/* 200 pointers each to the one before, in the rdata of a record of a type nobody
	 * reads: every one points backwards, but a name may not take more hops than it
	 * could have labels. */
	response(m, "x.example", 1);
	rr_begin(m, "", 12, 10, 300);
	uint32_t first = m->len;
	put16(m, 0xc000 | 12);
	for (uint32_t i = 1; i < 200; i++)
		put16(m, (uint16_t)(0xc000 | (first + 2 * (i - 1))));
	uint32_t last = m->len - 2;
	rr_end(m);
	rr_addr(m, (int)last, 300, "192.0.2.99");
	done(m);
}

enum framing { UDP, TCP, TCP_LONG, TCP_SHORT, TCP_ZERO, TCP_ONE_BYTE };

struct bad {
	const char *what;
	void (*make)(struct msg *m);
	enum framing how;
};

static void
mk_base(struct msg *m)
{
	base(m);
}

static void
test_malformed(void **state)
{
	(void)state;
	const struct bad cases[] = {
		{"header cut at 11 bytes", mk_short_header, UDP},
		{"question name cut", mk_cut_question_name, UDP},
		{"question type and class cut", mk_cut_question_type, UDP},
		{"answer's fixed part cut", mk_cut_answer_fixed, UDP},
		{"rdlength past the end", mk_rdlength_past_end, UDP},
		{"ancount past the end, no TC", mk_more_answers_than_sent, UDP},
		{"pointer to itself", mk_pointer_to_itself, UDP},
		{"pointer forward", mk_pointer_forward, UDP},
		{"pointer past the end", mk_pointer_out_of_range, UDP},
		{"two names pointing at each other", mk_pointer_loop, UDP},
		{"pointer into its own labels", mk_pointer_into_own_labels, UDP},
		{"label of 64", mk_label_64, UDP},
		{"label type 10", mk_label_type_80, UDP},
		{"name of 257 bytes", mk_name_256, UDP},
		{"name of 321 bytes through a pointer", mk_name_256_by_pointer, UDP},
		{"A with rdlength 5", mk_a_rdlength_5, UDP},
		{"AAAA with rdlength 4", mk_aaaa_rdlength_4, UDP},
		{"CNAME rdata longer than its target", mk_cname_rdlength_long, UDP},
		{"CNAME target past its rdata", mk_cname_target_past_rdata, UDP},
		{"200 pointers in a row", mk_hop_bomb, UDP},
		{"TCP: header cut at 11 bytes", mk_short_header, TCP},
		{"TCP: pointer loop", mk_pointer_loop, TCP},
		{"TCP length prefix one too long", mk_base, TCP_LONG},
		{"TCP length prefix one too short", mk_base, TCP_SHORT},
		{"TCP length prefix zero", mk_base, TCP_ZERO},
		{"TCP segment of one byte", mk_base, TCP_ONE_BYTE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bwg_dnsnames *n = cache(64, 3600);
		struct bwg_dnsnames_counters c = {0};
		struct msg m;
		cases[i].make(&m);
		const char *what = cases[i].what;
		if (cases[i].how == UDP) {
			learn(n, &m, T0, &c);
		} else {
			uint8_t seg[sizeof(m.b) + 2];
			uint32_t l = cases[i].how == TCP_LONG    ? m.len + 1
				     : cases[i].how == TCP_SHORT ? m.len - 1
				     : cases[i].how == TCP_ZERO  ? 0
								 : m.len;
			seg[0] = (uint8_t)(l >> 8);
			seg[1] = (uint8_t)l;
			memcpy(seg + 2, m.b, m.len);
			uint32_t seglen = cases[i].how == TCP_ONE_BYTE ? 1 : m.len + 2;
			bwg_dnsnames_learn(n, seg, seglen, true, T0, &c);
		}
		if (c.malformed != 1 || c.learned != 0)
			fail_msg("%s: malformed %lu, learned %lu", what, (unsigned long)c.malformed,
				 (unsigned long)c.learned);
		if (lookup(n, "192.0.2.99", T0)[0])
			fail_msg("%s: learned an address", what);
		bwg_dnsnames_destroy(n);
	}
}

/* ---- two threads ------------------------------------------------------------------------ */

#define RACE_ADDRS 512
#define RACE_ROUNDS 200000

/* Name variant v of address i: lengths differ, so a torn copy cannot pass for either. */
static void
race_name(uint32_t i, int v, char *buf, size_t len)
{
	char pad[64];
	size_t k = (i * 7 + (uint32_t)v * 13) % 50;
	memset(pad, v ? 'b' : 'a', k);
	pad[k] = 0;
	snprintf(buf, len, "v%d-%u-%s.example", v, i, pad);
}

struct racer {
	struct bwg_dnsnames *n;
	int id;
	struct bwg_dnsnames_counters c;
	uint64_t found, torn;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	uint32_t x = 2463534242u + (uint32_t)r->id;
	char want[2][80], got[80], ip[32];
	for (uint32_t round = 0; round < RACE_ROUNDS; round++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		uint32_t i = x % RACE_ADDRS;
		snprintf(ip, sizeof(ip), "198.51.%u.%u", i >> 8, i & 0xff);
		if (round & 1) {
			char qn[80];
			race_name(i, (int)(x >> 16) & 1, qn, sizeof(qn));
			one_answer(r->n, qn, ip, 3600, T0, &r->c);
			continue;
		}
		uint8_t a[16] = {198, 51, (uint8_t)(i >> 8), (uint8_t)i};
		if (!bwg_dnsnames_lookup(r->n, 4, a, T0, got, sizeof(got)))
			continue;
		r->found++;
		race_name(i, 0, want[0], sizeof(want[0]));
		race_name(i, 1, want[1], sizeof(want[1]));
		if (strcmp(got, want[0]) != 0 && strcmp(got, want[1]) != 0)
			r->torn++;
	}
	return NULL;
}

static void
test_two_threads(void **state)
{
	(void)state;
	/* 256 entries for 512 addresses: constant eviction and overwriting. */
	struct bwg_dnsnames *n = cache(256, 3600);
	struct racer r[2] = {{.n = n, .id = 0}, {.n = n, .id = 1}};
	pthread_t t[2];
	for (int k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&t[k], NULL, race, &r[k]), 0);
	for (int k = 0; k < 2; k++)
		assert_int_equal(pthread_join(t[k], NULL), 0);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(r[k].torn, 0);
		assert_true(r[k].found > 0);
		assert_int_equal(r[k].c.learned + r[k].c.busy, RACE_ROUNDS / 2);
		assert_int_equal(r[k].c.malformed, 0);
	}
	printf("two threads: %lu + %lu names found, %lu + %lu records skipped busy\n",
	       (unsigned long)r[0].found, (unsigned long)r[1].found, (unsigned long)r[0].c.busy,
	       (unsigned long)r[1].c.busy);
	bwg_dnsnames_destroy(n);
}

static int
setup(void **state)
{
	(void)state;
	bwg_hash_secret_set(0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_and_aaaa),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_chain_out_of_order_and_case),
		cmocka_unit_test(test_iterative_resolution),
		cmocka_unit_test(test_names_as_flows_show_them),
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_taught),
		cmocka_unit_test(test_overwrite),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_bounded_memory),
		cmocka_unit_test(test_create_limits),
		cmocka_unit_test(test_nothing_to_learn),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_two_threads),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
