/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the HTTP API's router on arbitrary requests, no socket. The input
 * is split into a request the way the glue would gather one: the first line holds the
 * method and the target (path and query, %-decoded like libmicrohttpd does), the next
 * the Authorization header, the rest is the body. The router answers against a real
 * snapshot, flow list and policy (a small config compiled against nDPI); every answer
 * must be a status in 200..599 and, for JSON, a document jansson can read back.
 * Built by `scripts/fuzz` (clang, -Dfuzz=true).
 */

#include <stdlib.h>
#include <string.h>

#include "bwg_api.h"
#include "bwg_hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char config[] =
    "{\"default_action\": \"allow\", \"timezone\": \"UTC\","
    " \"units\": {\"finance\": [\"10.1.0.0/16\"], \"hq\": [\"10.2.0.0/16\", \"2001:db8::/32\"]},"
    " \"classes\": {\"p2p\": {\"apps\": [\"BitTorrent\"]}, \"video\": {\"hosts\": "
    "[\"*.youku.com\"]}},"
    " \"schedules\": {\"work\": [{\"days\": [\"mon\"], \"from\": \"08:00\", \"to\": \"17:00\"}]},"
    " \"rules\": [{\"name\": \"no-p2p\", \"classes\": [\"p2p\"], \"action\": \"block\"},"
    "  {\"name\": \"slow-video\", \"classes\": [\"video\"], \"schedule\": \"work\","
    "   \"action\": \"limit\", \"limit\": {\"rate\": \"2Mbit\", \"scope\": \"per_host\"}}]}";

static const char *const app_names[] = {"Unknown", "HTTP", "BitTorrent"};
static const char token[] = "fuzz-token-0123456789";

static struct bwg_api_state st;
static struct bwg_api_snapshot snap;
static struct bwg_api_flows flows;
static struct bwg_users users;
static const char page[] = "<!DOCTYPE html>";
static const struct bwg_api_file files[] = {{"/", "text/html", page, sizeof(page) - 1}};

static void
setup(void)
{
	static struct bwg_dpi *dpi;
	static struct bwg_policy *policy;
	char err[BWG_CONFIG_ERR_MAX + 256];
	struct bwg_config *c;
	bwg_hash_secret_set(1, 2);
	struct bwg_dpi_conf dc = {.pool_size = 1, .max_pkts = {80, 24, 24}};
	if (bwg_dpi_create(&dpi, &dc, err, sizeof(err)) < 0 ||
	    bwg_config_parse(&c, config, sizeof(config) - 1, "fuzz.json", "/nonexistent", err,
			     sizeof(err)) < 0 ||
	    bwg_policy_compile(&policy, c, dpi, 1, err, sizeof(err)) < 0 ||
	    bwg_api_snapshot_init(&snap, 3, 2) < 0 || bwg_api_flows_init(&flows, 4) < 0 ||
	    bwg_users_init(&users, 4) < 0)
		abort();
	/* two users, one with a block, for /api/v1/hosts/, /units/, /top?by=hosts, /blocks */
	struct bwg_user_deltas d;
	if (bwg_user_deltas_init(&d, 4) < 0)
		abort();
	static const uint8_t a4[16] = {10, 1, 0, 1}, a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	struct bwg_user_delta *e = bwg_user_deltas_get(&d, 4, a4, 1, 1);
	e->pkts[0] = 10, e->bytes[0] = 1000;
	e = bwg_user_deltas_get(&d, 6, a6, 0, 0);
	e->pkts[1] = 1, e->bytes[1] = 100;
	bwg_users_merge(&users, &d, 1764036000000000000ull);
	bwg_users_interval(&users, 200000000);
	bwg_user_deltas_fini(&d);
	struct bwg_user_block b = {.time_ns = 1764036000000000000ull, .action = 1, .family = 4};
	bwg_users_block(&users, 4, a4, 1, 1, &b);
	bwg_api_snapshot_names(&snap, policy->class_names, policy->n_classes, policy->unit_names,
			       policy->n_units);
	snap.app_names = app_names;
	snap.seq = 3;
	snap.interval_ns = 200000000;
	snap.cur.cnt[BWG_CNT_RX_PACKETS] = 1000;
	snap.cur.classes[1] = (struct bwg_obj_stats){10, 1000, 1, 10};
	snap.cur.apps[2] = (struct bwg_obj_stats){10, 1000, 1, 10};
	snap.cur.units[1] = (struct bwg_obj_stats){10, 1000, 1, 10};
	snap.n_ports = 2;
	for (uint32_t i = 0; i < 2; i++)
		snap.workers[i] = (struct bwg_api_worker){.id = i, .alive = true, .loops = 10};
	flows.n = 2;
	flows.workers = flows.workers_answered = 2;
	snprintf(flows.views[0].app, sizeof(flows.views[0].app), "BitTorrent");
	flows.views[0].family = 4;
	flows.views[1].family = 6;
	st = (struct bwg_api_state){.snap = &snap, .flows = &flows, .policy = policy,
				    .dpi = dpi, .token = token, .token_len = sizeof(token) - 1,
				    .now_ns = 1764036000000000000ull, .users = &users,
				    .files = files, .n_files = 1};
}

static int
hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* %-decode s[0..n) in place (and '+' in queries, as libmicrohttpd); returns the length. */
static size_t
unescape(char *s, size_t n, bool query)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
			s[o++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 2;
		} else {
			s[o++] = query && s[i] == '+' ? ' ' : s[i];
		}
	}
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!st.snap)
		setup();
	/* Exact-size copies: reading past any part is an ASan report. */
	char *in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	char *line1_end = memchr(in, '\n', size);
	size_t l1 = line1_end ? (size_t)(line1_end - in) : size;
	char *rest = line1_end ? line1_end + 1 : in + size;
	size_t rest_len = size - (size_t)(rest - in);
	char *line2_end = memchr(rest, '\n', rest_len);
	size_t l2 = line2_end ? (size_t)(line2_end - rest) : rest_len;
	char *body = line2_end ? line2_end + 1 : rest + rest_len;
	size_t body_len = size - (size_t)(body - in);

	/* "METHOD TARGET" */
	char *sp = memchr(in, ' ', l1);
	char method[16] = "GET";
	char *target = in;
	size_t tlen = l1;
	if (sp) {
		size_t ml = (size_t)(sp - in) < sizeof(method) - 1 ? (size_t)(sp - in)
								   : sizeof(method) - 1;
		memcpy(method, in, ml);
		method[ml] = 0;
		target = sp + 1;
		tlen = l1 - (size_t)(target - in);
	}
	char *q = memchr(target, '?', tlen);
	size_t plen = q ? (size_t)(q - target) : tlen;
	char *path = malloc(plen + 1);
	if (!path) {
		free(in);
		return 0;
	}
	memcpy(path, target, plen);
	plen = unescape(path, plen, false);
	struct bwg_api_arg args[BWG_API_ARGS_MAX];
	uint32_t n_args = 0;
	bool too_many = false;
	if (q) {
		char *a = q + 1, *end = target + tlen;
		while (a < end) {
			char *amp = memchr(a, '&', (size_t)(end - a));
			char *e = amp ? amp : end;
			if (n_args == BWG_API_ARGS_MAX) {
				too_many = true;
				break;
			}
			char *eq = memchr(a, '=', (size_t)(e - a));
			struct bwg_api_arg *g = &args[n_args++];
			g->key = a;
			g->key_len = unescape(a, (size_t)((eq ? eq : e) - a), true);
			g->value = eq ? eq + 1 : NULL;
			g->value_len = eq ? unescape(eq + 1, (size_t)(e - eq - 1), true) : 0;
			a = e + 1;
		}
	}
	struct bwg_api_request rq = {
	    .method = method,
	    .path = path,
	    .path_len = plen,
	    .args = args,
	    .n_args = n_args,
	    .too_many_args = too_many,
	    .authorization = l2 ? rest : NULL,
	    .authorization_len = l2,
	    .body = body,
	    .body_len = body_len,
	    .body_too_large = body_len > 0 && body[0] == 'L',
	};
	struct bwg_api_response rs;
	bwg_api_route(&st, &rq, &rs);
	if (rs.write != BWG_API_WRITE_NONE)
		bwg_api_write_answer(&rs, body_len % 2 ? 400 : 200, "policy not replaced: \xff", 2);
	if (rs.status < 200 || rs.status > 599 || !rs.content_type)
		abort();
	if (strcmp(rs.content_type, "application/json") == 0) {
		json_error_t je;
		json_t *j = json_loadb(rs.body, rs.len, 0, &je);
		if (!j)
			abort(); /* the router wrote something that is not JSON */
		json_decref(j);
	}
	free(rs.body);
	free(path);
	free(in);
	return 0;
}
