/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * explain_records CONFIG FLOWS.jsonl...: ask GET /api/v1/explain about every flow record,
 * through the API's router as the HTTP thread does, and compare its unit, class,
 * class_source, rule and action with the record's. The question is put only in the
 * names a record prints (the app label, category, host or the name learned from DNS,
 * the detector that matched, whether the host was tagged a P2P peer or the app guessed
 * by port) and at the flow's first packet time, so explain must reach the verdict the
 * data path reached by the same code. Prints every disagreement and "N passed, M failed".
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_api.h"
#include "bwg_setup.h"

static const char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: explain_records CONFIG FLOWS.jsonl...\n");
		return 2;
	}
	char err[BWG_CONFIG_ERR_MAX + 256];
	struct bwg_policy *p;
	struct bwg_dpi *dpi;
	if (bwg_setup_load(argv[1], 1, &p, &dpi, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	struct bwg_api_snapshot snap;
	if (bwg_api_snapshot_init(&snap, bwg_dpi_app_count(dpi), 1) < 0)
		return 2;
	struct bwg_api_state st = {.snap = &snap, .policy = p, .dpi = dpi};
	unsigned passed = 0, failed = 0;
	for (int f = 2; f < argc; f++) {
		FILE *in = fopen(argv[f], "r");
		if (!in) {
			perror(argv[f]);
			return 2;
		}
		char line[8192];
		while (fgets(line, sizeof(line), in)) {
			json_error_t je;
			json_t *r = json_loads(line, 0, &je);
			if (!r)
				continue;
			const char *src = str(r, "class_source"), *match = str(r, "class_match");
			char det[64] = "", at[32];
			if (!strcmp(src, "heuristic") || !strcmp(src, "behaviour"))
				snprintf(det, sizeof(det), "%.*s", (int)strcspn(match, ":"), match);
			snprintf(at, sizeof(at), "%.6f",
				 json_number_value(json_object_get(r, "first_ts")));
			bool learned = json_is_true(json_object_get(r, "host_learned"));
			struct bwg_api_arg args[12];
			uint32_t n = 0;
#define ARG(k, v)                                                                              \
	do {                                                                                   \
		const char *v_ = (v);                                                          \
		if (*v_)                                                                       \
			args[n++] = (struct bwg_api_arg){k, strlen(k), v_, strlen(v_)};        \
	} while (0)
			ARG("src", str(r, "src_ip"));
			ARG("dst", str(r, "dst_ip"));
			ARG("app", str(r, "app"));
			ARG("category", str(r, "category"));
			ARG(learned ? "learned" : "host", str(r, "host"));
			ARG("learned_from", strcmp(src, "flow_name") ? "" : "flow");
			ARG("detector", det);
			ARG("p2p_host", strcmp(src, "behaviour") ? "" : "true");
			ARG("socket_class", strcmp(src, "socket") ? "" : str(r, "class"));
			ARG("guessed", json_is_true(json_object_get(r, "app_guessed")) ? "true" : "");
			ARG("at", at);
#undef ARG
			struct bwg_api_request rq = {.method = "GET", .path = "/api/v1/explain",
						     .path_len = 15, .args = args, .n_args = n};
			struct bwg_api_response rs;
			bwg_api_route(&st, &rq, &rs);
			json_t *x = json_loadb(rs.body ? rs.body : "", rs.len, 0, &je);
			static const char *const keys[] = {"unit", "class", "class_source", "rule",
							   "action"};
			bool ok = rs.status == 200 && x;
			for (int k = 0; ok && k < 5; k++)
				ok = strcmp(str(r, keys[k]), str(x, keys[k])) == 0;
			if (ok) {
				passed++;
			} else {
				failed++;
				printf("FAIL %s %s:%lld -> %s:%lld app %s host %s: record %s/%s/%s/%s, "
				       "explain %u %.*s\n", str(r, "proto"), str(r, "src_ip"),
				       (long long)json_integer_value(json_object_get(r, "src_port")),
				       str(r, "dst_ip"),
				       (long long)json_integer_value(json_object_get(r, "dst_port")),
				       str(r, "app"), str(r, "host"), str(r, "unit"), str(r, "class"),
				       str(r, "class_source"), str(r, "rule"), rs.status, (int)rs.len,
				       rs.body ? rs.body : "");
			}
			free(rs.body);
			json_decref(x);
			json_decref(r);
		}
		fclose(in);
	}
	printf("explain vs flow records: %u passed, %u failed\n", passed, failed);
	bwg_api_snapshot_fini(&snap);
	bwg_policy_free(p);
	bwg_dpi_destroy(dpi);
	return failed || !passed ? 1 : 0;
}
