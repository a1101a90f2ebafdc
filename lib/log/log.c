/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flow record and event JSON (control thread), and the event ring's set-up.
 *
 * Times are written as seconds with microseconds ("first_ts": 1764036000.123456), the
 * way capture tools print them, from the nanosecond clock the pipeline keeps.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_log.h"

const char *const bwg_event_names[BWG_EVENT_TYPE_MAX] = {
	[BWG_EVENT_BLOCK] = "block",
	[BWG_EVENT_LIMIT] = "limit",
	[BWG_EVENT_FLOW_END] = "flow_end",
	[BWG_EVENT_FLOW] = "flow",
	[BWG_EVENT_FLOW_UPDATE] = "flow_update",
	[BWG_EVENT_QUOTA] = "quota",
	[BWG_EVENT_PENALTY_START] = "penalty_start",
	[BWG_EVENT_PENALTY_END] = "penalty_end",
};

const char *const bwg_flow_end_names[BWG_END_MAX] = {
	[BWG_END_NONE] = "",
	[BWG_END_IDLE] = "idle",
	[BWG_END_ACTIVE] = "active_timeout",
	[BWG_END_OF_FLOW] = "end_of_flow",
	[BWG_END_FORCED] = "forced_end",
	[BWG_END_RESOURCES] = "lack_of_resources",
};

int
bwg_event_ring_init(struct bwg_event_ring *r, uint32_t size)
{
	uint32_t n = 1;
	while (n < size)
		n <<= 1;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	r->mask = n - 1;
	r->slots = calloc(n, sizeof(*r->slots));
	return r->slots ? 0 : -ENOMEM;
}

void
bwg_event_ring_fini(struct bwg_event_ring *r)
{
	free(r->slots);
	r->slots = NULL;
}

/* IANA's protocol numbers under the names ndpiReader prints for them (later releases
 * than 4.2 name AH, ESP, GRE and the rest too), so that records key like its reports;
 * any other as its number. */
const char *
bwg_log_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case 1: return "ICMP";
	case 2: return "IGMP";
	case 6: return "TCP";
	case 17: return "UDP";
	case 47: return "GRE";
	case 50: return "ESP";
	case 51: return "AH";
	case 58: return "ICMPV6";
	case 89: return "OSPF";
	case 103: return "PIM";
	case 112: return "VRRP";
	case 113: return "PGM";
	case 132: return "SCTP";
	default: snprintf(buf, len, "%u", proto); return buf;
	}
}

static json_t *
ts_json(uint64_t ns)
{
	/* Decimal microseconds; written back exactly with BWG_JSON_REAL_FLAGS. */
	char buf[32];
	snprintf(buf, sizeof(buf), "%llu.%06llu", (unsigned long long)(ns / 1000000000ull),
		 (unsigned long long)(ns % 1000000000ull / 1000));
	return json_real(strtod(buf, NULL));
}

const char *
bwg_log_format_ip(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (family != 6)
		return inet_ntop(AF_INET, addr, buf, (socklen_t)len);
	/*
	 * RFC 4291 text with the longest run of zero groups — even a run of one — written
	 * as "::". inet_ntop() leaves a single zero group as ":0:"; ndpiReader patches those
	 * into "::", and writing the same (still valid) text lets records be joined with its
	 * output.
	 */
	uint16_t g[8];
	for (int i = 0; i < 8; i++)
		g[i] = (uint16_t)(addr[2 * i] << 8 | addr[2 * i + 1]);
	int best = -1, best_len = 0;
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		i = j > i ? j : i + 1;
	}
	size_t n = 0;
	buf[0] = 0;
	for (int i = 0; i < 8 && n < len; i++) {
		if (i == best) {
			n += (size_t)snprintf(buf + n, len - n, "%s", i == 0 ? "::" : ":");
			i += best_len - 1;
			continue;
		}
		n += (size_t)snprintf(buf + n, len - n, "%x%s", g[i], i < 7 ? ":" : "");
	}
	return buf;
}

json_t *
bwg_log_flow_json(const struct bwg_flow_view *v)
{
	char a[2][INET6_ADDRSTRLEN], pbuf[8];
	bwg_log_format_ip(v->family, v->addr[0], a[0], sizeof(a[0]));
	bwg_log_format_ip(v->family, v->addr[1], a[1], sizeof(a[1]));
	json_t *o = json_object();
	json_object_set_new(o, "proto", json_string(bwg_log_proto_name(v->proto, pbuf, sizeof(pbuf))));
	json_object_set_new(o, "src_ip", json_string(a[0]));
	json_object_set_new(o, "src_port", json_integer(v->port[0]));
	json_object_set_new(o, "dst_ip", json_string(a[1]));
	json_object_set_new(o, "dst_port", json_integer(v->port[1]));
	json_object_set_new(o, "vlan", json_integer(v->vlan));
	json_object_set_new(o, "app", json_string(v->app));
	json_object_set_new(o, "category", json_string(v->category));
	json_object_set_new(o, "class", json_string(v->cls));
	json_object_set_new(o, "class_source", json_string(v->class_source));
	json_object_set_new(o, "class_match",
			    json_stringn(v->class_match, strnlen(v->class_match,
								  sizeof(v->class_match))));
	json_object_set_new(o, "host", json_stringn(v->host, strnlen(v->host, sizeof(v->host))));
	json_object_set_new(o, "host_learned", json_boolean(v->host_learned));
	json_object_set_new(o, "app_guessed", json_boolean(v->app_guessed));
	json_object_set_new(o, "unit", json_string(v->unit));
	json_object_set_new(o, "rule", json_string(v->rule));
	json_object_set_new(o, "action", json_string(bwg_action_names[v->action]));
	if (v->monitor)
		json_object_set_new(o, "mode", json_string("monitor"));
	json_object_set_new(o, "pkts_c2s", json_integer((json_int_t)v->pkts[0]));
	json_object_set_new(o, "bytes_c2s", json_integer((json_int_t)v->bytes[0]));
	json_object_set_new(o, "pkts_s2c", json_integer((json_int_t)v->pkts[1]));
	json_object_set_new(o, "bytes_s2c", json_integer((json_int_t)v->bytes[1]));
	json_object_set_new(o, "dropped_pkts", json_integer((json_int_t)v->dropped_pkts));
	json_object_set_new(o, "first_ts", ts_json(v->first_ts));
	json_object_set_new(o, "last_ts", ts_json(v->last_ts));
	if (v->end_reason > BWG_END_NONE && v->end_reason < BWG_END_MAX)
		json_object_set_new(o, "end_reason",
				    json_string(bwg_flow_end_names[v->end_reason]));
	return o;
}

json_t *
bwg_log_event_json(const struct bwg_event *e)
{
	json_t *o = json_object();
	json_object_set_new(o, "event", json_string(bwg_event_names[e->type]));
	json_object_set_new(o, "time", ts_json(e->flow.event_ts));
	json_t *f = bwg_log_flow_json(&e->flow);
	json_object_update(o, f);
	json_decref(f);
	if (e->type == BWG_EVENT_QUOTA) {
		const struct bwg_flow_view *v = &e->flow;
		json_t *q = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "user", v->quota_user,
				      "period", v->quota_period < BWG_PERIOD_MAX
						    ? bwg_period_names[v->quota_period]
						    : "",
				      "bytes", (json_int_t)v->quota_bytes, "used_bytes",
				      (json_int_t)v->quota_used_bytes, "minutes",
				      (json_int_t)v->quota_minutes, "used_minutes",
				      (json_int_t)v->quota_used_minutes);
		json_object_set_new(q, "then", v->quota_block ? json_string("block")
							     : json_pack("{s:I}", "rate_bps",
									 (json_int_t)v->quota_then_bps));
		json_object_set_new(o, "quota", q);
	}
	if (e->type == BWG_EVENT_PENALTY_START || e->type == BWG_EVENT_PENALTY_END) {
		const struct bwg_flow_view *v = &e->flow;
		json_object_set_new(
		    o, "penalty",
		    json_pack("{s:s, s:I, s:i, s:I, s:i, s:o, s:o}", "user", v->quota_user,
			      "above_bps", (json_int_t)v->pen_above_bps, "for_minutes",
			      (int)v->pen_for, "rate_bps", (json_int_t)v->pen_rate_bps,
			      "lasts_minutes", (int)v->pen_lasts, "since", ts_json(v->pen_since),
			      "until", ts_json(v->pen_until)));
	}
	return o;
}
