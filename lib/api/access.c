/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Who may use the API: the listen address and the token file (read at start-up and by
 * --check, control thread), and the request rates (HTTP thread).
 *
 * The token file is read like every file an operator names: as a regular file only
 * (opened without waiting, so a FIFO or a device cannot hang start-up or --check),
 * bounded, and checked byte by byte — a NUL byte or a non-printable one would make the
 * token something other than what the operator sees, and is refused by name. Messages
 * never quote the file's content.
 *
 * Rates: see bwg_api.h. The client table is open addressing over a power-of-two array,
 * keyed with SipHash under the process secret, probed over a short window; no entry is
 * ever freed, only reused once its buckets are full again (a full bucket is exactly
 * what a new entry would start with, so nothing is lost by forgetting it).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bwg_api.h"
#include "bwg_hash.h"

/* ---- the token file --------------------------------------------------------------------- */

int
bwg_api_token_read(const char *path, char **token, size_t *len, char *err, size_t errlen)
{
	*token = NULL;
	*len = 0;
	/* Any size opens; what is read is bounded, and an over-long file is refused below. */
	int fd = bwg_config_open_regular(path, ~0ull, "api.token_file: ", err, errlen);
	if (fd < 0)
		return fd;
	char buf[BWG_API_TOKEN_MAX + 1];
	size_t n = 0;
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			snprintf(err, errlen, "api.token_file: %s: %s", path, strerror(e));
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > BWG_API_TOKEN_MAX) {
		snprintf(err, errlen, "api.token_file: %s: more than %d bytes: not a token file",
			 path, BWG_API_TOKEN_MAX);
		return -EFBIG;
	}
	if (memchr(buf, 0, n)) {
		snprintf(err, errlen,
			 "api.token_file: %s: a NUL byte: the token must be text (one line of "
			 "printable characters)",
			 path);
		return -EINVAL;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	bool printable = true;
	for (size_t i = 0; i < n; i++)
		printable &= buf[i] > 0x20 && buf[i] < 0x7f;
	if (n < BWG_API_TOKEN_MIN || !printable) {
		snprintf(err, errlen,
			 "api.token_file: %s: the token must be one line of at least %d printable "
			 "ASCII characters without blanks",
			 path, BWG_API_TOKEN_MIN);
		return -EINVAL;
	}
	if (!(*token = malloc(n + 1))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(*token, buf, n);
	(*token)[n] = 0;
	*len = n;
	return 0;
}

/* ---- the listen address ----------------------------------------------------------------- */

int
bwg_api_listen_parse(const char *listen, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	char *end = NULL;
	long port = colon && colon[1] ? strtol(colon + 1, &end, 10) : -1;
	size_t hl = colon ? (size_t)(colon - listen) : 0;
	if (!colon || !end || *end || port < 0 || port > 65535 || hl == 0 || hl >= sizeof(host))
		goto bad;
	memcpy(host, listen, hl);
	host[hl] = 0;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			return 0;
		}
	}
bad:
	snprintf(err, errlen,
		 "api.listen: \"%s\" is not ADDR:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)", listen);
	return -EINVAL;
}

/* ---- request rates ---------------------------------------------------------------------- */

const char *const bwg_api_class_names[BWG_API_CLASS_MAX] = {
    [BWG_API_CLASS_ANON] = "anonymous",
    [BWG_API_CLASS_HEALTH] = "healthz",
    [BWG_API_CLASS_AUTH] = "token",
};

#define PROBE 8 /* entries a client may land in */

static void
bucket_fill(struct bwg_api_bucket *b, double burst, uint64_t now_ns)
{
	b->tokens = burst;
	b->last_ns = now_ns;
}

static void
bucket_refill(struct bwg_api_bucket *b, double rate, double burst, uint64_t now_ns)
{
	if (now_ns > b->last_ns) {
		b->tokens += (double)(now_ns - b->last_ns) / 1e9 * rate;
		if (b->tokens > burst)
			b->tokens = burst;
		b->last_ns = now_ns;
	}
}

static bool
bucket_take(struct bwg_api_bucket *b, double rate, double burst, uint64_t now_ns)
{
	bucket_refill(b, rate, burst, now_ns);
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

/* Both buckets would be full at now_ns: the entry holds nothing worth keeping. */
static bool
client_idle(struct bwg_api_client *c, uint64_t now_ns)
{
	bucket_refill(&c->req, BWG_API_CLIENT_RATE, BWG_API_CLIENT_BURST, now_ns);
	bucket_refill(&c->health, BWG_API_HEALTH_RATE, BWG_API_HEALTH_BURST, now_ns);
	return c->req.tokens >= BWG_API_CLIENT_BURST && c->health.tokens >= BWG_API_HEALTH_BURST;
}

static void
client_start(struct bwg_api_client *c, uint8_t family, const uint8_t *addr, uint64_t now_ns)
{
	c->family = family;
	memset(c->addr, 0, sizeof(c->addr));
	memcpy(c->addr, addr, family == 4 ? 4 : 16);
	bucket_fill(&c->req, BWG_API_CLIENT_BURST, now_ns);
	bucket_fill(&c->health, BWG_API_HEALTH_BURST, now_ns);
}

int
bwg_api_limiter_init(struct bwg_api_limiter *l, uint32_t clients, uint64_t now_ns)
{
	memset(l, 0, sizeof(*l));
	if (clients < PROBE || (clients & (clients - 1)))
		return -EINVAL;
	if (!(l->clients = calloc(clients, sizeof(*l->clients))))
		return -ENOMEM;
	l->mask = clients - 1;
	static const uint8_t none[16];
	client_start(&l->overflow, 6, none, now_ns);
	bucket_fill(&l->anon, BWG_API_ANON_BURST, now_ns);
	bucket_fill(&l->auth, BWG_API_AUTH_BURST, now_ns);
	return 0;
}

void
bwg_api_limiter_fini(struct bwg_api_limiter *l)
{
	free(l->clients);
	l->clients = NULL;
}

/* The client's entry: its own, a reused idle one, or the shared overflow entry. */
static struct bwg_api_client *
client_find(struct bwg_api_limiter *l, uint8_t family, const uint8_t *addr, uint64_t now_ns)
{
	uint8_t key[17] = {family};
	memcpy(key + 1, addr, family == 4 ? 4 : 16);
	uint32_t h = (uint32_t)bwg_siphash13(&bwg_hash_secret, key, sizeof(key));
	struct bwg_api_client *reuse = NULL;
	for (uint32_t i = 0; i < PROBE; i++) {
		struct bwg_api_client *c = &l->clients[(h + i) & l->mask];
		if (c->family == family && memcmp(c->addr, key + 1, 16) == 0)
			return c;
		if (!reuse && (!c->family || client_idle(c, now_ns)))
			reuse = c;
	}
	if (!reuse) {
		l->overflowed++;
		return &l->overflow;
	}
	client_start(reuse, family, addr, now_ns);
	return reuse;
}

bool
bwg_api_limiter_take(struct bwg_api_limiter *l, uint8_t family, const uint8_t *addr,
		     enum bwg_api_class k, uint64_t now_ns)
{
	bool ok;
	if (k == BWG_API_CLASS_AUTH) {
		ok = bucket_take(&l->auth, BWG_API_AUTH_RATE, BWG_API_AUTH_BURST, now_ns);
	} else {
		struct bwg_api_client *c = client_find(l, family, addr, now_ns);
		if (k == BWG_API_CLASS_HEALTH)
			ok = bucket_take(&c->health, BWG_API_HEALTH_RATE, BWG_API_HEALTH_BURST,
					 now_ns);
		else
			ok = bucket_take(&c->req, BWG_API_CLIENT_RATE, BWG_API_CLIENT_BURST,
					 now_ns) &&
			     bucket_take(&l->anon, BWG_API_ANON_RATE, BWG_API_ANON_BURST, now_ns);
	}
	if (!ok)
		l->refused[k]++;
	return ok;
}

void
bwg_api_limiter_metrics(const struct bwg_api_limiter *l, FILE *f)
{
	fprintf(f, "# HELP bwgate_api_requests_refused_total API requests answered 429, by "
		   "the bucket that ran dry\n# TYPE bwgate_api_requests_refused_total counter\n");
	for (int k = 0; k < BWG_API_CLASS_MAX; k++)
		fprintf(f, "bwgate_api_requests_refused_total{class=\"%s\"} %llu\n",
			bwg_api_class_names[k], (unsigned long long)l->refused[k]);
	fprintf(f, "# HELP bwgate_api_clients_overflowed_total API requests whose client "
		   "address found no entry of its own in the rate table\n"
		   "# TYPE bwgate_api_clients_overflowed_total counter\n"
		   "bwgate_api_clients_overflowed_total %llu\n",
		(unsigned long long)l->overflowed);
}
