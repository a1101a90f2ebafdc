/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Class tables and recognisers: list files in every accepted form and every refused
 * one (no content in the messages, only regular files under the lists folder, long
 * lines, BOM, NUL), address sets (longest prefix, nesting, conflicts), the order of
 * evidence in bwg_classes_decide with its explanations, and the fully-encrypted
 * detector on the paper's exemptions.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "bwg_addrset.h"
#include "bwg_classify.h"
#include "bwg_config.h"
#include "bwg_lists.h"

static char dir[64];
static char err[1024];
static struct bwg_dpi *dpi;

static int
group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/bwg-classes-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	struct bwg_dpi_conf conf = {.pool_size = 4, .max_pkts = {80, 24, 24}};
	return bwg_dpi_create(&dpi, &conf, err, sizeof(err));
}

static int
group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return -1;
	bwg_dpi_destroy(dpi);
	return 0;
}

static void
write_file(const char *name, const char *text, size_t len)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* ---- list files ------------------------------------------------------------------------- */

struct got {
	char v[16][300];
	unsigned line[16];
	int n;
};

static int
collect(void *ctx, const char *entry, unsigned line, char *why, size_t whylen)
{
	struct got *g = ctx;
	(void)why, (void)whylen;
	if (g->n < 16) {
		snprintf(g->v[g->n], sizeof(g->v[0]), "%s", entry);
		g->line[g->n++] = line;
	}
	return 0;
}

static void
test_domain_list_forms(void **state)
{
	(void)state;
	static const char text[] = "# header\n"
				   "! adblock comment\n"
				   "[Adblock Plus 2.0]\n"
				   "Example.COM   # trailing comment\n"
				   "*.sub.example.net\r\n"
				   "0.0.0.0 ads.example.org tracker.example.org\n"
				   "127.0.0.1 localhost\n"
				   "||blocked.example^\n"
				   "\n"
				   "\t\xe6\x94\xbf\xe5\xba\x9c.cn\t\n"
				   "last.example";
	write_file("d.txt", text, sizeof(text) - 1);
	struct got g = {0};
	long n = bwg_list_read(dir, "d.txt", BWG_LIST_DOMAINS, collect, &g, err, sizeof(err));
	if (n < 0)
		fail_msg("%s", err);
	assert_int_equal(n, 7);
	const char *want[] = {"example.com", "*.sub.example.net", "ads.example.org",
			      "tracker.example.org", "blocked.example", "xn--mxtq1m.cn",
			      "last.example"};
	const unsigned lines[] = {4, 5, 6, 6, 8, 10, 11};
	assert_int_equal(g.n, 7);
	for (int i = 0; i < 7; i++) {
		assert_string_equal(g.v[i], want[i]);
		assert_int_equal(g.line[i], lines[i]);
	}
}

static void
list_fails(const char *name, const char *text, size_t len, enum bwg_list_kind kind,
	   const char *want_part)
{
	if (text)
		write_file(name, text, len);
	struct got g = {0};
	long n = bwg_list_read(dir, name, kind, collect, &g, err, sizeof(err));
	assert_true(n < 0);
	if (!strstr(err, want_part))
		fail_msg("got \"%s\", want it to hold \"%s\"", err, want_part);
}

static void
test_list_faults(void **state)
{
	(void)state;
	list_fails("url.txt", "ok.example\nhttp://secret.example/path\n", 38, BWG_LIST_DOMAINS,
		   "url.txt:2: bad character ':' at column 5: give the host name alone, not a URL");
	/* The content never shows in the message. */
	assert_null(strstr(err, "secret"));
	list_fails("ip.txt", "192.0.2.1\n", 10, BWG_LIST_DOMAINS,
		   "ip.txt:1: an IP address, not a host name (put addresses in an address list)");
	list_fails("words.txt", "two words\n", 10, BWG_LIST_DOMAINS,
		   "words.txt:1: several words: one pattern a line, or a hosts-file line that "
		   "starts with an address");
	list_fails("opts.txt", "||x.example^$third-party\n", 25, BWG_LIST_DOMAINS,
		   "opts.txt:1: an Adblock rule other than ||domain^ (options, paths and "
		   "wildcards are not supported)");
	list_fails("bom.txt", "\xef\xbb\xbf" "example.com\n", 15, BWG_LIST_DOMAINS,
		   "bom.txt: starts with a UTF-8 byte-order mark (BOM): save the file as UTF-8 "
		   "without one");
	list_fails("nul.txt", "a.example\nb\0.example\n", 21, BWG_LIST_DOMAINS,
		   "nul.txt:2: a NUL byte: not a text file");
	char *big = malloc(BWG_LIST_LINE_MAX + 64);
	memset(big, 'a', BWG_LIST_LINE_MAX + 20);
	memcpy(big, "ok.example\n", 11);
	big[BWG_LIST_LINE_MAX + 20] = '\n';
	list_fails("long.txt", big, BWG_LIST_LINE_MAX + 21, BWG_LIST_DOMAINS,
		   "long.txt:2: longer than 4096 bytes");
	free(big);
	list_fails("cidr.txt", "192.0.2.0/24 extra\n", 19, BWG_LIST_ADDRESSES,
		   "cidr.txt:1: one address or CIDR a line");
	/* Only regular files, only under the lists folder. */
	list_fails("/dev/zero", NULL, 0, BWG_LIST_DOMAINS,
		   "/dev/zero: outside the lists folder");
	snprintf(err, sizeof(err), "%s", dir);
	char fifo[256];
	snprintf(fifo, sizeof(fifo), "%s/fifo.txt", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	list_fails("fifo.txt", NULL, 0, BWG_LIST_DOMAINS, "fifo.txt: not a regular file");
	list_fails("../../etc/passwd", NULL, 0, BWG_LIST_DOMAINS,
		   "outside the lists folder");
	char link[256];
	snprintf(link, sizeof(link), "%s/escape.txt", dir);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	list_fails("escape.txt", NULL, 0, BWG_LIST_DOMAINS, "outside the lists folder");
	list_fails("missing.txt", NULL, 0, BWG_LIST_DOMAINS,
		   "missing.txt: No such file or directory");
}

/* ---- address sets ----------------------------------------------------------------------- */

static void
ip(const char *s, uint8_t *family, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = 4;
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
	*family = 6;
}

static void
add(struct bwg_addrset *s, const char *cidr, uint8_t value)
{
	struct bwg_cidr c;
	char msg[256];
	assert_int_equal(bwg_config_parse_cidr(cidr, &c, msg, sizeof(msg)), 0);
	assert_int_equal(bwg_addrset_add(s, c.family, c.addr, c.len, value, 0, 0), 0);
}

static int
lookup(const struct bwg_addrset *s, const char *a)
{
	uint8_t fam, addr[16];
	ip(a, &fam, addr);
	const struct bwg_addrset_prefix *p = bwg_addrset_match(s, fam, addr);
	return p ? p->value : -1;
}

static void
test_addrset_longest_prefix(void **state)
{
	(void)state;
	struct bwg_addrset s;
	bwg_addrset_init(&s);
	add(&s, "10.0.0.0/8", 1);
	add(&s, "10.1.0.0/16", 2);
	add(&s, "10.1.5.0/24", 3);
	add(&s, "10.1.5.7", 4);
	add(&s, "10.2.0.0/16", 5);
	add(&s, "192.0.2.0/24", 6);
	add(&s, "0.0.0.0/0", 7);
	add(&s, "2001:db8::/32", 8);
	add(&s, "2001:db8:10::/48", 9);
	add(&s, "10.1.0.0/16", 2); /* again, same value: harmless */
	assert_int_equal(bwg_addrset_build(&s), 0);
	assert_int_equal(lookup(&s, "10.0.0.1"), 1);
	assert_int_equal(lookup(&s, "10.1.0.0"), 2);
	assert_int_equal(lookup(&s, "10.1.4.255"), 2);
	assert_int_equal(lookup(&s, "10.1.5.0"), 3);
	assert_int_equal(lookup(&s, "10.1.5.7"), 4);
	assert_int_equal(lookup(&s, "10.1.5.8"), 3);
	assert_int_equal(lookup(&s, "10.1.6.0"), 2);
	assert_int_equal(lookup(&s, "10.1.255.255"), 2);
	assert_int_equal(lookup(&s, "10.2.3.4"), 5);
	assert_int_equal(lookup(&s, "10.3.0.0"), 1);
	assert_int_equal(lookup(&s, "10.255.255.255"), 1);
	assert_int_equal(lookup(&s, "11.0.0.0"), 7);
	assert_int_equal(lookup(&s, "192.0.2.200"), 6);
	assert_int_equal(lookup(&s, "255.255.255.255"), 7);
	assert_int_equal(lookup(&s, "0.0.0.0"), 7);
	assert_int_equal(lookup(&s, "2001:db8::1"), 8);
	assert_int_equal(lookup(&s, "2001:db8:10:ffff::1"), 9);
	assert_int_equal(lookup(&s, "2001:db8:11::"), 8);
	assert_int_equal(lookup(&s, "2001:db9::"), -1);
	assert_int_equal(lookup(&s, "::1"), -1);
	bwg_addrset_fini(&s);

	/* The same prefix for two values is refused. */
	bwg_addrset_init(&s);
	add(&s, "198.51.100.0/24", 1);
	add(&s, "198.51.100.0/24", 2);
	assert_int_equal(bwg_addrset_build(&s), -EEXIST);
	bwg_addrset_fini(&s);
}

/* Against a brute-force reference on random nested prefixes. */
static void
test_addrset_random(void **state)
{
	(void)state;
	srand(7);
	for (int round = 0; round < 20; round++) {
		struct bwg_addrset s;
		bwg_addrset_init(&s);
		struct bwg_addrset_prefix ref[64];
		int n = 0;
		for (int i = 0; i < 64; i++) {
			uint8_t len = (uint8_t)(8 + rand() % 25);
			uint32_t a = (uint32_t)rand() & 0x0f0f0f0fu; /* collide often */
			a &= len == 32 ? ~0u : ~(~0u >> len);
			uint8_t addr[16] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8),
					    (uint8_t)a};
			int dup = 0;
			for (int j = 0; j < n; j++)
				dup |= ref[j].len == len && memcmp(ref[j].addr, addr, 4) == 0;
			if (dup)
				continue;
			ref[n] = (struct bwg_addrset_prefix){.family = 4, .len = len,
							     .value = (uint8_t)n};
			memcpy(ref[n].addr, addr, 16);
			bwg_addrset_add(&s, 4, addr, len, (uint8_t)n, 0, 0);
			n++;
		}
		assert_int_equal(bwg_addrset_build(&s), 0);
		for (int k = 0; k < 2000; k++) {
			uint32_t a = (uint32_t)rand() & 0x0f0f0fffu;
			uint8_t addr[16] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8),
					    (uint8_t)a};
			int best = -1, best_len = -1;
			for (int j = 0; j < n; j++) {
				uint32_t p = (uint32_t)ref[j].addr[0] << 24 |
					     (uint32_t)ref[j].addr[1] << 16 |
					     (uint32_t)ref[j].addr[2] << 8 | ref[j].addr[3];
				uint32_t m = ref[j].len == 0 ? 0 : ~0u << (32 - ref[j].len);
				if ((a & m) == p && ref[j].len > best_len) {
					best = j;
					best_len = ref[j].len;
				}
			}
			const struct bwg_addrset_prefix *got = bwg_addrset_match(&s, 4, addr);
			assert_int_equal(got ? got->value : -1, best);
		}
		bwg_addrset_fini(&s);
	}
}

/* ---- classes ---------------------------------------------------------------------------- */

static struct bwg_config *
config(const char *sq)
{
	char *text = strdup(sq);
	for (char *p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	struct bwg_config *c = NULL;
	int rc = bwg_config_parse(&c, text, strlen(text), "t.json", dir, err, sizeof(err));
	free(text);
	if (rc)
		fail_msg("config: %s", err);
	return c;
}

static const char classes_json[] =
	"{'default_action': 'allow', 'rules': [], 'classes': {"
	" 'video': {'categories': ['Video'], 'host_files': ['video.txt']},"
	" 'game': {'address_files': ['game-nets.txt'], 'addresses': ['203.0.113.0/24'],"
	"          'detectors': ['raknet'], 'socket_affinity': true},"
	" 'business': {'apps': ['Zoom'], 'hosts': ['zoom.us']},"
	" 'p2p': {'apps': ['BitTorrent'], 'detectors': ['p2p_behaviour']},"
	" 'tunnel': {'apps': ['OpenVPN'], 'detectors': ['fully_encrypted'],"
	"            'socket_affinity': true},"
	" 'web': {'categories': ['Web']}}}";

static uint8_t
id(const struct bwg_classes *c, const char *name)
{
	for (uint32_t k = 0; k < c->n; k++)
		if (strcmp(c->names[k], name) == 0)
			return (uint8_t)k;
	fail_msg("no class %s", name);
	return 0;
}

static void
test_decide_order(void **state)
{
	(void)state;
	static const char video[] = "# video\nbilibili.com\n||iqiyi.com^\n";
	static const char nets[] = "# Riot Games\n162.249.72.0/21\n2001:db8:77::/48\n";
	write_file("video.txt", video, sizeof(video) - 1);
	write_file("game-nets.txt", nets, sizeof(nets) - 1);
	struct bwg_config *conf = config(classes_json);
	struct bwg_classes c;
	if (bwg_classes_build(&c, conf, dpi, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(c.host_entries, 3);
	assert_int_equal(c.addr_entries, 3);
	const uint16_t zoom = (uint16_t)bwg_dpi_app_id(dpi, "Zoom"),
		       tls = (uint16_t)bwg_dpi_app_id(dpi, "TLS"),
		       quic = (uint16_t)bwg_dpi_app_id(dpi, "QUIC"),
		       bt = (uint16_t)bwg_dpi_app_id(dpi, "BitTorrent"),
		       ovpn = (uint16_t)bwg_dpi_app_id(dpi, "OpenVPN");
	const uint16_t web = (uint16_t)bwg_dpi_category_id(dpi, "Web"),
		       vid = (uint16_t)bwg_dpi_category_id(dpi, "Video");
	uint8_t fam, cli[16], srv[16], riot[16];
	ip("10.1.2.3", &fam, cli);
	ip("198.51.100.9", &fam, srv);
	ip("162.249.72.1", &fam, riot);
	const uint8_t fet = (uint8_t)bwg_detector_id("fully_encrypted");
	struct bwg_class_decision d;
	char why[256];
#define DECIDE(...)                                                                                \
	do {                                                                                       \
		struct bwg_class_evidence e_ = {.family = 4, .client = cli, .server = srv,         \
						__VA_ARGS__};                                      \
		bwg_classes_decide(&c, &e_, &d);                                                   \
		bwg_classes_explain(&c, dpi, &e_, &d, why, sizeof(why));                           \
	} while (0)

	/* 1. Own name in a host list beats the app. */
	DECIDE(.master = tls, .app = zoom, .category = web, .host = "www.bilibili.com");
	assert_int_equal(d.cls, id(&c, "video"));
	assert_int_equal(d.source, BWG_SRC_HOST_LIST);
	snprintf(err, sizeof(err), "video.txt: bilibili.com");
	assert_string_equal(why, err);
	/* 2. The server's address. */
	{
		struct bwg_class_evidence e = {.family = 4, .client = cli, .server = riot,
					       .master = quic};
		bwg_classes_decide(&c, &e, &d);
		bwg_classes_explain(&c, dpi, &e, &d, why, sizeof(why));
	}
	assert_int_equal(d.cls, id(&c, "game"));
	assert_int_equal(d.source, BWG_SRC_HOST_LIST);
	assert_string_equal(why, "game-nets.txt: 162.249.72.0/21");
	/* ... also over a detector that matched the flow's payload (a system of the
	 * operator's own that looks like a tunnel). */
	{
		struct bwg_class_evidence e = {.family = 4, .client = cli, .server = riot,
					       .master = tls, .detector = fet};
		bwg_classes_decide(&c, &e, &d);
	}
	assert_int_equal(d.cls, id(&c, "game"));
	assert_int_equal(d.source, BWG_SRC_HOST_LIST);
	/* 3. The app (a dissector's) beats the learned name and the detectors. */
	DECIDE(.app = zoom, .category = vid, .learned = "v.iqiyi.com", .detector = fet);
	assert_int_equal(d.cls, id(&c, "business"));
	assert_int_equal(d.source, BWG_SRC_NDPI_APP);
	assert_string_equal(why, "nDPI app Zoom");
	/* 4. A name learned from DNS, for a flow with none of its own. */
	DECIDE(.master = quic, .category = web, .learned = "cache.video.iqiyi.com");
	assert_int_equal(d.cls, id(&c, "video"));
	assert_int_equal(d.source, BWG_SRC_DNS);
	assert_true(d.named_by_dns);
	assert_string_equal(why, "name learned from DNS cache.video.iqiyi.com -> video.txt: iqiyi.com");
	/* ... or the name the client's other flow gave the server (its SNI). */
	DECIDE(.master = quic, .category = web, .learned = "cache.video.iqiyi.com",
	       .learned_from_flow = true);
	assert_int_equal(d.cls, id(&c, "video"));
	assert_int_equal(d.source, BWG_SRC_FLOW_NAME);
	assert_string_equal(why, "name learned from another flow to the server "
				 "cache.video.iqiyi.com -> video.txt: iqiyi.com");
	/* ... but not when it has a name of its own. */
	DECIDE(.master = quic, .category = web, .host = "www.example.org",
	       .learned = "v.iqiyi.com");
	assert_int_equal(d.cls, id(&c, "web"));
	assert_int_equal(d.source, BWG_SRC_NDPI_CATEGORY);
	/* 5. A detector that recognises what a payload holds, even on a tagged host. */
	const uint8_t raknet = (uint8_t)bwg_detector_id("raknet");
	DECIDE(.p2p_host = true, .detector = raknet);
	assert_int_equal(d.cls, id(&c, "game"));
	assert_int_equal(d.source, BWG_SRC_HEURISTIC);
	/* 5b. The class its socket's other flow was given, for a flow nothing strong names:
	 * over a tagged host and a weak detector, and over weaker evidence that says a class
	 * with socket affinity too ... */
	const uint8_t game = id(&c, "game");
	DECIDE(.socket_cls = game);
	assert_int_equal(d.cls, game);
	assert_int_equal(d.source, BWG_SRC_SOCKET);
	assert_string_equal(why, "its inside socket's other flow was classed game");
	DECIDE(.socket_cls = game, .detector = fet, .p2p_host = true);
	assert_int_equal(d.cls, game);
	DECIDE(.socket_cls = game, .app = ovpn, .guessed = true);
	assert_int_equal(d.cls, game);
	assert_int_equal(d.source, BWG_SRC_SOCKET);
	/* ... never over a class without it (business by a port guess, web by category) ... */
	DECIDE(.socket_cls = game, .app = zoom, .guessed = true);
	assert_int_equal(d.cls, id(&c, "business"));
	assert_int_equal(d.source, BWG_SRC_NDPI_APP);
	DECIDE(.socket_cls = game, .master = quic, .category = web);
	assert_int_equal(d.cls, id(&c, "web"));
	/* ... nor over the flow's own evidence; and a class without it passes nothing. */
	DECIDE(.socket_cls = game, .app = zoom, .category = vid);
	assert_int_equal(d.cls, id(&c, "business"));
	DECIDE(.socket_cls = game, .master = quic, .learned = "v.iqiyi.com");
	assert_int_equal(d.cls, id(&c, "video"));
	DECIDE(.socket_cls = id(&c, "business"));
	assert_int_equal(d.cls, BWG_CLASS_UNKNOWN);
	DECIDE(.socket_cls = BWG_CLASS_NONE);
	assert_int_equal(d.cls, BWG_CLASS_UNKNOWN);
	/* 6. Behaviour: only unnamed flows (no name, no app a dissector recognised) of a
	 * tagged host; before a weak detector (a peer's encrypted connections look fully
	 * encrypted too). */
	DECIDE(.p2p_host = true);
	assert_int_equal(d.cls, id(&c, "p2p"));
	assert_int_equal(d.source, BWG_SRC_BEHAVIOUR);
	assert_true(strncmp(why, "p2p_behaviour: ", 15) == 0);
	DECIDE(.p2p_host = true, .detector = fet);
	assert_int_equal(d.source, BWG_SRC_BEHAVIOUR);
	DECIDE(.p2p_host = true, .app = ovpn, .guessed = true, .category = web);
	assert_int_equal(d.source, BWG_SRC_BEHAVIOUR);
	DECIDE(.p2p_host = true, .host = "www.example.org", .category = web);
	assert_int_equal(d.cls, id(&c, "web"));
	DECIDE(.p2p_host = true, .learned = "www.example.org", .category = web);
	assert_int_equal(d.cls, id(&c, "web"));
	DECIDE(.p2p_host = true, .master = tls, .category = web); /* TLS, no name: still TLS */
	assert_int_equal(d.cls, id(&c, "web"));
	DECIDE(.p2p_host = true, .master = quic);
	assert_int_equal(d.cls, BWG_CLASS_UNKNOWN);
	DECIDE(.p2p_host = true, .app = zoom, .category = vid); /* business is never reclassed */
	assert_int_equal(d.cls, id(&c, "business"));
	/* ... and the weak detector, for a flow nDPI could not name (or named by port only). */
	DECIDE(.detector = fet);
	assert_int_equal(d.cls, id(&c, "tunnel"));
	assert_int_equal(d.source, BWG_SRC_HEURISTIC);
	assert_true(strncmp(why, "fully_encrypted: ", 17) == 0);
	DECIDE(.app = tls, .category = web, .guessed = true, .detector = fet);
	assert_int_equal(d.cls, id(&c, "tunnel"));
	/* An unknown-only detector does not override a dissector's answer. */
	DECIDE(.app = tls, .category = web, .detector = fet);
	assert_int_equal(d.cls, id(&c, "web"));
	/* 7. A guess by port, then the category, then the master. */
	DECIDE(.app = ovpn, .guessed = true, .category = web);
	assert_int_equal(d.cls, id(&c, "tunnel"));
	assert_string_equal(why, "nDPI app OpenVPN (guessed by port)");
	DECIDE(.app = bt, .category = web);
	assert_int_equal(d.cls, id(&c, "p2p"));
	DECIDE(.master = tls, .category = vid);
	assert_int_equal(d.cls, id(&c, "video"));
	assert_string_equal(why, "nDPI category Video");
	/* 8. Nothing. */
	DECIDE(.master = 0);
	assert_int_equal(d.cls, BWG_CLASS_UNKNOWN);
	assert_int_equal(d.source, BWG_SRC_DEFAULT);
#undef DECIDE
	/* A certificate names the flow by its first name in a host list, else its first; by
	 * its first when nDPI named the service. */
	char name[BWG_DPI_HOST_MAX];
	static const char cdn[] = "sni.cdn.example,*.bilibili.com,x.org";
	assert_string_equal(bwg_classes_cert_name(&c, cdn, NULL, true, name, sizeof(name)),
			    "bilibili.com");
	assert_string_equal(bwg_classes_cert_name(&c, cdn, NULL, false, name, sizeof(name)),
			    "sni.cdn.example");
	assert_string_equal(bwg_classes_cert_name(&c, "*.cdn.example,www.example.org", NULL, true,
						  name, sizeof(name)),
			    "cdn.example");
	assert_string_equal(bwg_classes_cert_name(&c, "www.iqiyi.com", NULL, true, name, 6),
			    "www.i");
	assert_null(bwg_classes_cert_name(&c, "", NULL, true, name, sizeof(name)));
	assert_null(bwg_classes_cert_name(&c, NULL, NULL, true, name, sizeof(name)));
	assert_null(bwg_classes_cert_name(&c, ",", NULL, true, name, sizeof(name)));
	/* Without names, the subject's common name when it is a host name (as written, no
	 * leading "*."); names, when the certificate has them, come first. */
	static const char wu[] = "C=US, ST=Washington, L=Redmond, O=Microsoft, OU=DSP, "
				 "CN=WWW.Update.Microsoft.com";
	assert_string_equal(bwg_classes_cert_name(&c, NULL, wu, true, name, sizeof(name)),
			    "WWW.Update.Microsoft.com");
	assert_string_equal(bwg_classes_cert_name(&c, "", "O=X, CN=*.bilibili.com", true, name,
						  sizeof(name)),
			    "bilibili.com");
	assert_string_equal(bwg_classes_cert_name(&c, "x.org", wu, true, name, sizeof(name)),
			    "x.org");
	/* Not an address, a single label, an empty label or other characters. */
	static const char *const not_hosts[] = {
		"CN=203.0.113.7", "CN=2001:db8::7", "CN=localhost", "CN=a..b.org", "CN=.a.org",
		"CN=a.org.", "CN=a b.org", "CN=Windscribe VPN", "O=only", "CN=", "CN=*.",
		"OU=X CN=a.org"};
	for (size_t i = 0; i < sizeof(not_hosts) / sizeof(not_hosts[0]); i++)
		assert_null(bwg_classes_cert_name(&c, NULL, not_hosts[i], true, name, sizeof(name)));
	assert_null(bwg_classes_cert_name(&c, NULL, NULL, true, name, sizeof(name)));
	/* The subject's attributes by key: the first, whole keys only, cut to the buffer. */
	char v[8];
	assert_true(bwg_cert_dn_value("C=CA, O=Windscribe, OU=IT, CN=1.2.3.4", "O", v, sizeof(v)));
	assert_string_equal(v, "Windscr");
	assert_true(bwg_cert_dn_value("O=a, O=b", "O", v, sizeof(v)));
	assert_string_equal(v, "a");
	assert_false(bwg_cert_dn_value("OU=x, CO=y", "O", v, sizeof(v)));
	assert_false(bwg_cert_dn_value(NULL, "O", v, sizeof(v)));
	bwg_classes_fini(&c);
	bwg_config_free(conf);
}

static void
build_fails(const char *sq, const char *want)
{
	struct bwg_config *conf = config(sq);
	struct bwg_classes c;
	int rc = bwg_classes_build(&c, conf, dpi, err, sizeof(err));
	bwg_classes_fini(&c);
	bwg_config_free(conf);
	assert_true(rc < 0);
	/* Every "%s" in want stands for the lists folder. */
	char full[1024];
	size_t k = 0;
	for (const char *p = want; *p && k + sizeof(dir) < sizeof(full);) {
		if (p[0] == '%' && p[1] == 's') {
			k += (size_t)snprintf(full + k, sizeof(full) - k, "%s", dir);
			p += 2;
		} else {
			full[k++] = *p++;
		}
	}
	full[k] = 0;
	assert_string_equal(err, full);
}

static void
test_build_faults(void **state)
{
	(void)state;
	static const char chat[] = "qq.com\nv.qq.com\n";
	static const char nets1[] = "192.0.2.0/24\n";
	static const char nets2[] = "# same\n\n192.0.2.0/24\n";
	static const char badnet[] = "192.0.2.1/24\n";
	write_file("chat.txt", chat, sizeof(chat) - 1);
	write_file("nets1.txt", nets1, sizeof(nets1) - 1);
	write_file("nets2.txt", nets2, sizeof(nets2) - 1);
	write_file("badnet.txt", badnet, sizeof(badnet) - 1);
	build_fails("{'default_action': 'allow', 'rules': [], 'classes': {"
		    "'video': {'hosts': ['v.qq.com']}, 'chat': {'host_files': ['chat.txt']}}}",
		    "t.json: classes.chat.host_files[0]: %s/chat.txt:2: a domain that is already "
		    "a host of class \"video\" (a domain may be in one class only)");
	build_fails("{'default_action': 'allow', 'rules': [], 'classes': {"
		    "'game': {'address_files': ['nets1.txt']}, 'chat': {'address_files': "
		    "['nets2.txt']}}}",
		    "t.json: nets2.txt:3: the same prefix as nets1.txt:1, which puts it in class "
		    "\"game\" (a prefix may be in one class only)");
	build_fails("{'default_action': 'allow', 'rules': [], 'classes': {"
		    "'game': {'address_files': ['badnet.txt']}}}",
		    "t.json: classes.game.address_files[0]: %s/badnet.txt:1: not an address or "
		    "CIDR with its host bits zero (e.g. 192.0.2.0/24, 2001:db8::/32)");
	build_fails("{'default_action': 'allow', 'rules': [], 'classes': {"
		    "'tunnel': {'detectors': ['fet']}}}",
		    "t.json: classes.tunnel.detectors[0]: \"fet\" is not a bwgate detector (known: "
		    "p2p_behaviour, raknet, netcode, source_engine, epic_games, riot_games, "
		    "elder_scrolls_online, path_of_exile, armagetron, photon, netease_games, nexon, "
		    "cod_mobile, blizzard, freefire, guild_wars_2, tencent_games, gaijin, crynetwork, "
		    "discord_voice, whatsapp_call, line_call, paltalk, oicq, utp, bt_dht, bt_tracker, "
		    "softether, tailscale, "
		    "hamachi, lagofast, gearup_booster, ultrasurf, mudfish, vpn_certificate, http_media, fully_encrypted)");
	build_fails("{'default_action': 'allow', 'rules': [], 'classes': {"
		    "'tunnel': {'detectors': ['fully_encrypted']}, 'p2p': {'detectors': "
		    "['fully_encrypted']}}}",
		    "t.json: classes.p2p.detectors[0]: \"fully_encrypted\" is already in class "
		    "\"tunnel\"");
}

/* ---- the fully-encrypted detector ------------------------------------------------------- */

static uint8_t
fet_on(const uint8_t *b, uint32_t n)
{
	struct bwg_det_flow st = {.opened = true};
	uint64_t want = BWG_DET_BIT(bwg_detector_id("fully_encrypted"));
	struct bwg_dpi_result r = {0};
	return bwg_detect_packet(&st, want, b, n, 6, 0, 50000, 8388, &r);
}

static void
test_fully_encrypted(void **state)
{
	(void)state;
	const uint8_t fet = (uint8_t)bwg_detector_id("fully_encrypted");
	uint8_t b[512];
	/* Random bytes (a fixed generator): fully encrypted. */
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < sizeof(b); i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		b[i] = (uint8_t)x;
	}
	b[0] = 0x80; /* not printable: Ex2 must not apply */
	assert_int_equal(fet_on(b, 200), fet);
	/* Ex5: a TLS record header, an HTTP request. */
	uint8_t tls[200];
	memcpy(tls, b, sizeof(tls));
	tls[0] = 0x16, tls[1] = 0x03, tls[2] = 0x01;
	assert_int_equal(fet_on(tls, sizeof(tls)), BWG_DET_NONE);
	uint8_t http[200];
	memcpy(http, b, sizeof(http));
	memcpy(http, "POST ", 5);
	assert_int_equal(fet_on(http, sizeof(http)), BWG_DET_NONE);
	/* Ex2: six printable bytes first. */
	uint8_t pre[200];
	memcpy(pre, b, sizeof(pre));
	memcpy(pre, "abcdef", 6);
	assert_int_equal(fet_on(pre, sizeof(pre)), BWG_DET_NONE);
	/* Ex4: a run of 21 printable bytes. */
	uint8_t run[200];
	memcpy(run, b, sizeof(run));
	memset(run + 100, 'x', 21);
	assert_int_equal(fet_on(run, sizeof(run)), BWG_DET_NONE);
	/* Ex1: mostly zero bytes (a length-prefixed binary header). */
	uint8_t zero[200] = {0x00, 0x00, 0x00, 0xc8, 0x01};
	assert_int_equal(fet_on(zero, sizeof(zero)), BWG_DET_NONE);
	/* Ex3: text. */
	static const char text[] = "HELO mail.example.org\r\n";
	assert_int_equal(fet_on((const uint8_t *)text, sizeof(text) - 1), BWG_DET_NONE);
	/* Too short to count bits. */
	assert_int_equal(fet_on(b, 7), BWG_DET_NONE);
	/* Only the client's first data packet counts: the server speaking first is waited
	 * through, a client's second packet is not looked at. */
	struct bwg_det_flow st = {.opened = true};
	uint64_t want = BWG_DET_BIT(fet);
	struct bwg_dpi_result r = {0};
	assert_int_equal(bwg_detect_packet(&st, want, b, 100, 6, 1, 8388, 50000, &r),
			 BWG_DET_NONE);
	assert_int_equal(bwg_detect_packet(&st, want, b, 100, 6, 0, 50000, 8388, &r), fet);
	/* A connection picked up mid-stream has no first packet to judge. */
	memset(&st, 0, sizeof(st));
	assert_int_equal(bwg_detect_packet(&st, want, b, 100, 6, 0, 50000, 8388, &r),
			 BWG_DET_NONE);
	memset(&st, 0, sizeof(st));
	st.opened = true;
	assert_int_equal(bwg_detect_packet(&st, want, zero, 100, 6, 0, 50000, 8388, &r),
			 BWG_DET_NONE);
	assert_int_equal(bwg_detect_packet(&st, want, b, 100, 6, 0, 50000, 8388, &r),
			 BWG_DET_NONE);
	/* UDP is not its business. */
	memset(&st, 0, sizeof(st));
	st.opened = true;
	assert_int_equal(bwg_detect_packet(&st, want, b, 100, 17, 0, 50000, 8388, &r),
			 BWG_DET_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_list_forms),
		cmocka_unit_test(test_list_faults),
		cmocka_unit_test(test_addrset_longest_prefix),
		cmocka_unit_test(test_addrset_random),
		cmocka_unit_test(test_decide_order),
		cmocka_unit_test(test_build_faults),
		cmocka_unit_test(test_fully_encrypted),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
