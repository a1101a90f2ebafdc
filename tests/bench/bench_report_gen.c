/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Synthetic audit log for scripts/bench-report: months of block, limit and flow-end
 * events for the default config's units, in the files config/logrotate leaves —
 * events.jsonl (the last day), events.jsonl-YYYYMMDD (the day before, plain: delaycompress)
 * and events.jsonl-YYYYMMDD.gz (the rest, gzip level 6 as logrotate's gzip) — each
 * rotated at local midnight (Asia/Shanghai, UTC+8 all year) and named by that date.
 *
 *   bench_report_gen [--events N] [--days D] [--end YYYY-MM-DD] [--jobs J] OUTDIR
 *
 * Lines are what lib/log writes (same keys, same order, ~450 bytes). Users follow a
 * skewed draw (a few heavy offenders), hosts come from a few base names per class under
 * many subdomains, and tunnel attempts carry random names as Tor's do, so the report's
 * host table meets its bound. One line in 100,000 is corrupt and the live file ends in a
 * line cut short, as after a crash. Deterministic: the same arguments give the same files.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include "bwg_policy.h"

#define TZ_OFFSET (8 * 3600)

struct cls {
	const char *name, *rule, *category;
	const char *hosts[8];
	const char *apps[5];
	unsigned weight; /* per mille of block events */
};

static const struct cls classes[] = {
	{"video", "block-video", "Video",
	 {"youku.com", "iqiyi.com", "bilibili.com", "v.qq.com", "youtube.com", "douyin.com",
	  "mgtv.com", "netflix.com"},
	 {"TLS.YouTube", "QUIC.YouTube", "TLS", "HTTP", "TikTok"}, 300},
	{"chat", "block-chat", "Chat",
	 {"weixin.qq.com", "qq.com", "telegram.org", "whatsapp.net", "weibo.com", "signal.org",
	  "line.me", "kakao.com"},
	 {"TLS.WeChat", "QQ", "Telegram", "WhatsApp", "TLS"}, 200},
	{"stock", "block-stock", "Web",
	 {"10jqka.com.cn", "eastmoney.com", "xueqiu.com", "gw.com.cn", "tdx.com.cn",
	  "htsc.com.cn", "95579.com", "cmschina.com"},
	 {"TLS", "HTTP", "TLS", "HTTP", "TLS"}, 120},
	{"game", "block-game", "Game",
	 {"steampowered.com", "battle.net", "mihoyo.com", "nintendo.net", "4399.com",
	  "qq.com", "netease.com", "epicgames.com"},
	 {"Steam", "TLS.Steam", "GenshinImpact", "AmongUs", "TLS"}, 110},
	{"p2p", "block-p2p", "Download",
	 {"xunlei.com", "thunder.com", "bt.example", "", "", "", "", ""},
	 {"BitTorrent", "BitTorrent", "Thunder", "eDonkey", "BitTorrent"}, 100},
	{"tunnel", "block-tunnel", "VPN",
	 {"", "", "", "", "", "", "", ""},
	 {"TLS.Tor", "OpenVPN", "WireGuard", "TLS", "TLS.Tor"}, 60},
	{"encrypted_dns", "block-encrypted-dns", "Network",
	 {"dns.google", "cloudflare-dns.com", "doh.pub", "dns.alidns.com", "dns.quad9.net",
	  "doh.opendns.com", "dns.adguard.com", "doh.360.cn"},
	 {"DoH_DoT", "TLS", "DoH_DoT", "TLS", "DoH_DoT"}, 60},
	{"gambling", "block-gambling", "Web",
	 {"bet365.com", "williamhill.com", "188bet.com", "dafabet.com", "pinnacle.com",
	  "betway.com", "sbobet.com", "12bet.com"},
	 {"TLS", "HTTP", "TLS", "TLS", "HTTP"}, 30},
	{"adult", "block-adult", "Web",
	 {"adult-a.example", "adult-b.example", "adult-c.example", "adult-d.example",
	  "adult-e.example", "adult-f.example", "adult-g.example", "adult-h.example"},
	 {"TLS", "HTTP", "TLS", "TLS", "HTTP"}, 20},
};
#define N_CLASSES (sizeof(classes) / sizeof(classes[0]))

static const char *const web_hosts[] = {"www.sina.com.cn", "www.sohu.com", "www.163.com",
					"www.baidu.com", "news.qq.com", "www.zhihu.com",
					"www.taobao.com", "www.jd.com"};
static const char *const subdomains[] = {"www", "m", "api", "v", "img", "cdn", "live", "static"};

static const struct {
	const char *name;
	unsigned v4_net; /* second octet of 10.x.0.0/16; the IPv6 /64 is 2001:db8:10:x:: */
	const char *v6;
} units[] = {
	{"district-office", 1, "2001:db8:10:1"}, {"finance", 2, "2001:db8:10:2"},
	{"health", 3, "2001:db8:10:3"},          {"education", 4, "2001:db8:10:4"},
	{"data-center", 100, "2001:db8:10:100"},
};
#define N_UNITS 5
#define USERS_PER_UNIT 4000

/* xorshift64*: fast, and the same stream for the same seed. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static unsigned
below(uint64_t *s, unsigned n)
{
	return (unsigned)((rnd(s) >> 32) * n >> 32);
}

/* Skewed towards 0: a few users and hosts take most attempts. */
static unsigned
skewed(uint64_t *s, unsigned n)
{
	double u = (double)(rnd(s) >> 11) / 9007199254740992.0;
	return (unsigned)(u * u * u * n);
}

/* One event line, without its newline, into buf. */
static int
event_line(char *buf, size_t len, uint64_t *s, int64_t day)
{
	/* When: mostly working hours, local time. */
	int64_t sec = below(s, 10) < 8 ? 8 * 3600 + below(s, 10 * 3600) : below(s, 86400);
	int64_t t = day * 86400 + sec - TZ_OFFSET;
	unsigned us = below(s, 1000000);
	unsigned u = below(s, N_UNITS), user = skewed(s, USERS_PER_UNIT);
	bool v6 = user % 7 == 3;
	char src[48], dst[48], host[96] = "";
	if (v6) {
		snprintf(src, sizeof(src), "%s::%x", units[u].v6, 0x100 + user);
		snprintf(dst, sizeof(dst), "2001:db8:ff:%x::%x", below(s, 4096), 1 + below(s, 200));
	} else {
		snprintf(src, sizeof(src), "10.%u.%u.%u", units[u].v4_net, 1 + user / 250,
			 1 + user % 250);
		snprintf(dst, sizeof(dst), "%u.%u.%u.%u", 36 + below(s, 180), below(s, 256),
			 below(s, 256), 1 + below(s, 254));
	}
	unsigned kind = below(s, 100);
	const char *event = kind < 75 ? "block" : kind < 95 ? "limit" : "flow_end";
	const char *cls, *rule, *cat, *app, *action = "block";
	unsigned pick = below(s, 1000), acc = 0, k = 0;
	if (kind < 75 || kind >= 98) {
		for (k = 0; k < N_CLASSES - 1; k++) {
			acc += classes[k].weight;
			if (pick < acc)
				break;
		}
		const struct cls *c = &classes[k];
		cls = c->name;
		rule = c->rule;
		cat = c->category;
		app = c->apps[below(s, 5)];
		const char *base = c->hosts[skewed(s, 8)];
		if (strcmp(cls, "tunnel") == 0 && below(s, 2)) {
			/* Tor's made-up server names: almost every one new. */
			char r[17];
			for (int i = 0; i < 16; i++)
				r[i] = "abcdefghijklmnopqrstuvwxyz234567"[below(s, 32)];
			r[below(s, 8) + 8] = 0;
			snprintf(host, sizeof(host), "www.%s.com", r);
		} else if (base[0]) {
			snprintf(host, sizeof(host), "%s.%s",
				 subdomains[skewed(s, sizeof(subdomains) / sizeof(*subdomains))], base);
		}
	} else {
		cls = "web";
		rule = "limit-web-workhours";
		cat = "Web";
		app = below(s, 2) ? "TLS" : "HTTP";
		action = "limit";
		snprintf(host, sizeof(host), "%s", web_hosts[skewed(s, 8)]);
	}
	unsigned pc = 1 + below(s, 40), ps = below(s, 30);
	return snprintf(buf, len,
			"{\"event\":\"%s\",\"time\":%lld.%06u,\"proto\":\"%s\",\"src_ip\":\"%s\","
			"\"src_port\":%u,\"dst_ip\":\"%s\",\"dst_port\":%u,\"vlan\":0,\"app\":\"%s\","
			"\"category\":\"%s\",\"class\":\"%s\",\"class_source\":\"host_list\","
			"\"class_match\":\"hosts/%s.txt: %s\",\"host\":\"%s\",\"unit\":\"%s\","
			"\"rule\":\"%s\",\"action\":\"%s\",\"pkts_c2s\":%u,\"bytes_c2s\":%u,"
			"\"pkts_s2c\":%u,\"bytes_s2c\":%u,\"dropped_pkts\":%u,\"first_ts\":%lld.%06u,"
			"\"last_ts\":%lld.%06u}",
			event, (long long)t, us, below(s, 5) ? "TCP" : "UDP", src, 1024 + below(s, 64000),
			dst, below(s, 3) ? 443 : 80, app, cat, cls, cls, host[0] ? host : "-", host,
			units[u].name, rule, action, pc, pc * (60 + below(s, 1400)), ps,
			ps * (60 + below(s, 1400)), action[0] == 'b' ? pc : below(s, 5),
			(long long)t, us, (long long)t + below(s, 300), us);
}

struct out {
	FILE *f;
	gzFile gz;
};

static int
put(struct out *o, const char *s, size_t n)
{
	if (o->gz)
		return gzwrite(o->gz, s, (unsigned)n) == (int)n ? 0 : -1;
	return fwrite(s, 1, n, o->f) == n ? 0 : -1;
}

/* The file holding day `day`'s events: rotated at the next midnight, or the live one. */
static int
write_day(const char *dir, int64_t day, int64_t last, uint64_t events, uint64_t seed)
{
	char path[4096];
	int y, m, d;
	bwg_civil_from_days(day + 1, &y, &m, &d);
	struct out o = {0};
	if (day == last)
		snprintf(path, sizeof(path), "%s/events.jsonl", dir);
	else if (day == last - 1)
		snprintf(path, sizeof(path), "%s/events.jsonl-%04d%02d%02d", dir, y, m, d);
	else
		snprintf(path, sizeof(path), "%s/events.jsonl-%04d%02d%02d.gz", dir, y, m, d);
	if (day < last - 1)
		o.gz = gzopen(path, "wb6");
	else
		o.f = fopen(path, "w");
	if (!o.gz && !o.f) {
		fprintf(stderr, "bench_report_gen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	uint64_t s = seed ^ (uint64_t)(day * 0x9e3779b97f4a7c15ull);
	if (!s)
		s = 1;
	char line[1024];
	int rc = 0;
	for (uint64_t i = 0; i < events && rc == 0; i++) {
		int n = event_line(line, sizeof(line) - 1, &s, day);
		if (below(&s, 100000) == 0)
			n /= 2; /* cut short: corrupt */
		line[n++] = '\n';
		rc = put(&o, line, (size_t)n);
	}
	if (day == last && rc == 0) {
		/* The gate stopped mid-write. */
		int n = event_line(line, sizeof(line), &s, day);
		rc = put(&o, line, (size_t)(n * 2 / 3));
	}
	if (o.gz ? gzclose(o.gz) != Z_OK : fclose(o.f) != 0)
		rc = -1;
	if (rc < 0)
		fprintf(stderr, "bench_report_gen: %s: write failed\n", path);
	return rc;
}

int
main(int argc, char **argv)
{
	uint64_t events = 10000000;
	int days = 183, jobs = 2, y = 2025, m = 11, d = 30;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
			events = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc)
			days = atoi(argv[++i]);
		else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
			jobs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--end") == 0 && i + 1 < argc &&
			 sscanf(argv[i + 1], "%d-%d-%d", &y, &m, &d) == 3)
			i++;
		else if (argv[i][0] != '-' && !dir)
			dir = argv[i];
		else
			dir = NULL, i = argc;
	}
	if (!dir || days < 2 || jobs < 1 || events < (uint64_t)days) {
		fprintf(stderr, "usage: bench_report_gen [--events N] [--days D] [--end YYYY-MM-DD] "
				"[--jobs J] OUTDIR\n");
		return 2;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "bench_report_gen: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	int64_t last = bwg_days_from_civil(y, m, d), first = last - days + 1;
	/* Weekdays carry three times a weekend day's events. */
	double weight_sum = 0;
	for (int64_t day = first; day <= last; day++)
		weight_sum += ((day + 3) % 7 >= 5) ? 1 : 3;
	int status = 0;
	for (int j = 0; j < jobs; j++) {
		pid_t pid = jobs > 1 ? fork() : 0;
		if (pid < 0)
			return 1;
		if (pid > 0)
			continue;
		uint64_t done = 0;
		int rc = 0;
		for (int64_t day = first; day <= last && rc == 0; day++) {
			double w = ((day + 3) % 7 >= 5) ? 1 : 3;
			uint64_t n = (uint64_t)((double)events * w / weight_sum + 0.5);
			if (day == last)
				n = events > done ? events - done : 0;
			done += n;
			if ((day - first) % jobs == j)
				rc = write_day(dir, day, last, n, 0x5eed);
		}
		if (jobs > 1)
			_exit(rc ? 1 : 0);
		status = rc ? 1 : 0;
	}
	for (int j = 0; jobs > 1 && j < jobs; j++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			status = 1;
	}
	return status;
}
