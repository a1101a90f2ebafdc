/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK telemetry commands over the same snapshots the HTTP API serves (telemetry
 * thread). Each command takes the snapshot lock, builds the API's JSON with lib/api's
 * pure functions and flattens it into a telemetry dictionary: DPDK 22.11 dictionaries
 * hold numbers, strings and arrays only, so nested objects become path keys
 * ("drops/policy_block", "classes/video/packets"); telemetry names allow letters,
 * digits, '_' and '/', so other characters of a name ("district-office") become '_'.
 *
 *   /bwgate/stats    totals, drops, malformed, flows, counters
 *   /bwgate/classes  /bwgate/apps  /bwgate/units  per-name packets, bytes, flows, drops
 *   /bwgate/ports    /bwgate/workers
 *
 * Shut-down: DPDK 22.11 cannot unregister a command, and its telemetry threads answer
 * until the process exits, after the API's lock and snapshots are gone. So every
 * command goes through `tel_lock`, a mutex that lives as long as the process, and finds
 * the API through `tel_http`: bwg_telemetry_unregister() clears it under that lock
 * before the API is stopped, and from then on the commands answer {}.
 */

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <rte_telemetry.h>

#include "telemetry.h"

static pthread_mutex_t tel_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bwg_http *tel_http; /* under tel_lock; NULL once unregistered */

/* Add obj's scalars under `prefix`, objects recursively, arrays of named objects by
 * name (or id). Stops quietly at telemetry's dictionary size. */
static const char *
tel_name(const char *in, char *out, size_t len)
{
	size_t i = 0;
	for (; in[i] && i + 1 < len; i++) {
		char c = in[i];
		out[i] = (char)(((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				 (c >= '0' && c <= '9') || c == '_' || c == '/') ? c : '_');
	}
	out[i] = 0;
	return out;
}

static void
flatten(struct rte_tel_data *d, const char *prefix, json_t *v, unsigned *n)
{
	char key[RTE_TEL_MAX_STRING_LEN];
	if (*n >= RTE_TEL_MAX_DICT_ENTRIES)
		return;
	if (json_is_integer(v)) {
		rte_tel_data_add_dict_u64(d, tel_name(prefix, key, sizeof(key)),
					  (uint64_t)json_integer_value(v));
		(*n)++;
	} else if (json_is_real(v) || json_is_string(v) || json_is_boolean(v)) {
		char buf[RTE_TEL_MAX_STRING_LEN];
		if (json_is_string(v))
			snprintf(buf, sizeof(buf), "%s", json_string_value(v));
		else if (json_is_real(v))
			snprintf(buf, sizeof(buf), "%.6f", json_real_value(v));
		else
			snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
		rte_tel_data_add_dict_string(d, tel_name(prefix, key, sizeof(key)), buf);
		(*n)++;
	} else if (json_is_object(v)) {
		const char *k;
		json_t *item;
		json_object_foreach(v, k, item) {
			snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "/" : "", k);
			flatten(d, key, item, n);
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item) {
			json_t *name = json_object_get(item, "name");
			json_t *id = json_object_get(item, "id");
			if (json_is_string(name))
				snprintf(key, sizeof(key), "%s/%s", prefix,
					 *json_string_value(name) ? json_string_value(name) : "-");
			else if (json_is_integer(id))
				snprintf(key, sizeof(key), "%s/%lld", prefix,
					 (long long)json_integer_value(id));
			else
				snprintf(key, sizeof(key), "%s/%zu", prefix, i);
			json_t *copy = json_deep_copy(item);
			json_object_del(copy, "name");
			flatten(d, key, copy, n);
			json_decref(copy);
		}
	}
}

/* The snapshot's stats document, or NULL before the first snapshot. */
static json_t *
stats_doc(json_t *(*build)(const struct bwg_api_snapshot *))
{
	json_t *doc = NULL;
	pthread_mutex_lock(&tel_lock);
	if (tel_http) {
		pthread_mutex_lock(&tel_http->lock);
		if (tel_http->snap)
			doc = build(tel_http->snap);
		pthread_mutex_unlock(&tel_http->lock);
	}
	pthread_mutex_unlock(&tel_lock);
	return doc;
}

static int
reply(struct rte_tel_data *d, json_t *doc, const char *const *keys)
{
	unsigned n = 0;
	rte_tel_data_start_dict(d);
	if (!doc)
		return 0;
	for (const char *const *k = keys; *k; k++)
		flatten(d, *k, json_is_array(doc) ? doc : json_object_get(doc, *k), &n);
	json_decref(doc);
	return 0;
}

static int
cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const keys[] = {"totals", "drops", "malformed", "flows", "counters",
					   NULL};
	(void)cmd;
	(void)params;
	return reply(d, stats_doc(bwg_api_stats_json), keys);
}

static int
cmd_table(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)params;
	const char *which = strrchr(cmd, '/') + 1; /* classes, apps or units */
	const char *keys[] = {which, NULL};
	return reply(d, stats_doc(bwg_api_stats_json), keys);
}

static int
cmd_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const keys[] = {"ports", NULL};
	(void)cmd;
	(void)params;
	return reply(d, stats_doc(bwg_api_ports_json), keys);
}

static int
cmd_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const keys[] = {"workers", NULL};
	(void)cmd;
	(void)params;
	return reply(d, stats_doc(bwg_api_workers_json), keys);
}

void
bwg_telemetry_register(struct bwg_http *h)
{
	pthread_mutex_lock(&tel_lock);
	tel_http = h;
	pthread_mutex_unlock(&tel_lock);
	rte_telemetry_register_cmd("/bwgate/stats", cmd_stats,
				   "bwgate totals, drops by reason, flows and counters");
	rte_telemetry_register_cmd("/bwgate/classes", cmd_table,
				   "bwgate packets, bytes, flows, drops per traffic class");
	rte_telemetry_register_cmd("/bwgate/apps", cmd_table,
				   "bwgate packets, bytes, flows, drops per nDPI application");
	rte_telemetry_register_cmd("/bwgate/units", cmd_table,
				   "bwgate packets, bytes, flows, drops per department");
	rte_telemetry_register_cmd("/bwgate/ports", cmd_ports, "bwgate port counters");
	rte_telemetry_register_cmd("/bwgate/workers", cmd_workers, "bwgate worker counters");
}

void
bwg_telemetry_unregister(void)
{
	pthread_mutex_lock(&tel_lock);
	tel_http = NULL;
	pthread_mutex_unlock(&tel_lock);
}
