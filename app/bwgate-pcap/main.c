/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bwgate-pcap: replay capture files through the gate's pipeline, offline.
 *
 *   bwgate-pcap -c CONFIG.json [--flows FLOWS.jsonl] [--stats STATS.json]
 *               [--events EVENTS.jsonl] [-w OUT.pcap] [--replies OUT.pcap] [--ipfix URL]...
 *               [--state STATE.json] [--check] IN.pcap...
 *
 * One thread plays both roles: it feeds frames to a worker (the packet's capture time
 * is the clock) and, between bursts, does what the appliance's control thread does —
 * drains the worker's event ring into the flow and event files, and to IPFIX collectors
 * (--ipfix, with the config's other "ipfix" settings; the config's own collectors are
 * never used offline). Answers an operator's "what would this policy have done to this
 * capture?".
 *
 * Exit status: 0 done, 1 an input or output could not be used, 2 bad usage or config.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "bwg_config.h"
#include "bwg_dpi.h"
#include "bwg_ipfix.h"
#include "bwg_policy.h"
#include "bwg_quota.h"
#include "bwg_setup.h"
#include "bwg_worker.h"

/* Packets between housekeeping ticks. libpcap hands out one frame at a time (its
 * buffer is reused), so frames go to the pipeline one by one rather than copied into
 * bursts; aging and event draining run every HOUSEKEEPING_EVERY of them. */
#define HOUSEKEEPING_EVERY 256
#define FLUSH_STEP 1024       /* flows ended per step at the end */
#define IPFIX_WAIT_MS 5000    /* for TCP collectors to take what is queued, at the end */

struct out {
	FILE *flows;
	FILE *events;
	pcap_t *dead;
	pcap_dumper_t *dump;
	int dump_linktype;
	const char *dump_path;
	pcap_t *rdead;           /* --replies: the frames the gate sends of its own */
	pcap_dumper_t *replies;
	struct bwg_ipfix *ipfix;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: bwgate-pcap -c CONFIG.json [--flows FLOWS.jsonl] [--stats STATS.json]\n"
		   "                   [--events EVENTS.jsonl] [-w OUT.pcap] [--replies OUT.pcap]\n"
		   "                   [--ipfix URL]... [--state STATE.json] [--check] IN.pcap...\n"
		   "Replays captures (pcap or pcapng; Ethernet, Linux cooked, raw IP, BSD null)\n"
		   "through bwgate's pipeline and reports what the policy did.\n"
		   "  --replies F  write the frames the gate would send of its own (TCP resets,\n"
		   "               block notice pages; Ethernet inputs) to F\n"
		   "  --state F    quota usage: read from F (when it exists) and written back to\n"
		   "               it at the end, as the appliance's state_file; without it an\n"
		   "               offline replay starts with no usage and keeps none\n"
		   "  --ipfix URL  also export the flow records to an IPFIX collector,\n"
		   "               udp://HOST:PORT or tcp://HOST:PORT (up to %d)\n",
		BWG_COLLECTORS_MAX);
}

static int
link_of(int dlt, enum bwg_link *link)
{
	switch (dlt) {
	case DLT_EN10MB: *link = BWG_LINK_ETHER; return 0;
	case DLT_LINUX_SLL: *link = BWG_LINK_LINUX_SLL; return 0;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2: *link = BWG_LINK_LINUX_SLL2; return 0;
#endif
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
	case DLT_IPV6:
#endif
		*link = BWG_LINK_RAW;
		return 0;
	case DLT_NULL:
	case DLT_LOOP: *link = BWG_LINK_NULL; return 0;
	default: return -1;
	}
}

static void
write_line(FILE *f, json_t *o)
{
	if (f) {
		json_dumpf(o, f, JSON_COMPACT | BWG_JSON_REAL_FLAGS);
		fputc('\n', f);
	}
	json_decref(o);
}

/* What the appliance's control thread does with events, here synchronously. */
static void
drain(struct bwg_worker *w, struct out *o)
{
	const struct bwg_event *e;
	while ((e = bwg_event_ring_peek(&w->events))) {
		if (e->type == BWG_EVENT_FLOW || e->type == BWG_EVENT_FLOW_UPDATE)
			bwg_ipfix_record(o->ipfix, &e->flow);
		if (e->type == BWG_EVENT_FLOW)
			write_line(o->flows, bwg_log_flow_json(&e->flow));
		else if (e->type != BWG_EVENT_FLOW_UPDATE)
			write_line(o->events, bwg_log_event_json(e));
		bwg_event_ring_pop(&w->events);
	}
	bwg_ipfix_tick(o->ipfix);
}

static int
open_dump(struct out *o, int dlt, const char *in)
{
	if (!o->dump_path)
		return 0;
	if (o->dump) {
		if (dlt != o->dump_linktype) {
			fprintf(stderr, "bwgate-pcap: %s: link type %s differs from the first "
				"input's (%s); -w writes one link type per file\n", in,
				pcap_datalink_val_to_name(dlt),
				pcap_datalink_val_to_name(o->dump_linktype));
			return -1;
		}
		return 0;
	}
	o->dead = pcap_open_dead_with_tstamp_precision(dlt, 262144, PCAP_TSTAMP_PRECISION_NANO);
	o->dump = o->dead ? pcap_dump_open(o->dead, o->dump_path) : NULL;
	if (!o->dump) {
		fprintf(stderr, "bwgate-pcap: %s: %s\n", o->dump_path,
			o->dead ? pcap_geterr(o->dead) : "cannot create");
		return -1;
	}
	o->dump_linktype = dlt;
	return 0;
}

/*
 * What the appliance sends of its own for a frame with verdict v (Ethernet only): for a
 * reset, a RST back toward the frame's sender and one on toward its receiver; for a
 * notice, the rule's page back to the client and a RST on to the server. Written in
 * that order with the frame's time, as datapath.c builds them.
 */
static void
replies_write(struct bwg_worker *w, struct out *o, const struct pcap_pkthdr *h,
	      const u_char *data, uint8_t v)
{
	struct bwg_tcp_seg s;
	if (!o->replies || w->conf.link != BWG_LINK_ETHER ||
	    !(v & (BWG_VERDICT_RESET | BWG_VERDICT_NOTICE)) ||
	    !bwg_pkt_tcp_seg(&s, data, h->caplen) || (s.flags & BWG_TCP_RST))
		return;
	const struct bwg_notice *page =
		v & BWG_VERDICT_NOTICE ? bwg_worker_notice(w, data, h->caplen) : NULL;
	uint8_t buf[2048];
	for (int back = 1; back >= 0; back--) {
		uint32_t n = page && back ? bwg_pkt_tcp_answer(&s, (const uint8_t *)page->text,
							       page->len, buf, sizeof(buf))
					  : bwg_pkt_tcp_reset(&s, back, buf, sizeof(buf));
		if (!n)
			continue;
		struct pcap_pkthdr rh = {.ts = h->ts, .caplen = n, .len = n};
		pcap_dump((u_char *)o->replies, &rh, buf);
	}
}

/* Replay one capture. Returns 0, or -1 when it could not be read at all. */
static int
replay(struct bwg_worker *w, const char *path, struct out *o, json_t *ports)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
							     errbuf);
	if (!pc) {
		fprintf(stderr, "bwgate-pcap: %s: %s\n", path, errbuf);
		return -1;
	}
	int dlt = pcap_datalink(pc);
	enum bwg_link link;
	if (link_of(dlt, &link) < 0) {
		fprintf(stderr, "bwgate-pcap: %s: unsupported link type %s (%d); bwgate reads "
			"Ethernet, Linux cooked, raw IP and BSD null captures\n", path,
			pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?", dlt);
		pcap_close(pc);
		return -1;
	}
	if (open_dump(o, dlt, path) < 0) {
		pcap_close(pc);
		return -1;
	}
	w->conf.link = link;

	uint64_t rx = 0, fwd = 0;
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		struct bwg_frame fr = {
			.data = data,
			.caplen = h->caplen,
			.wire_len = h->len,
			.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec,
		};
		uint8_t verdict;
		bwg_worker_burst(w, &fr, 1, &verdict);
		rx++;
		if (verdict == BWG_VERDICT_FORWARD) {
			fwd++;
			if (o->dump)
				pcap_dump((u_char *)o->dump, h, data);
		} else {
			replies_write(w, o, h, data, verdict);
		}
		if (rx % HOUSEKEEPING_EVERY == 0) {
			bwg_worker_housekeeping(w, 0);
			drain(w, o);
		}
	}
	if (rc == PCAP_ERROR)
		fprintf(stderr, "bwgate-pcap: %s: stopped after %llu packets: %s\n", path,
			(unsigned long long)rx, pcap_geterr(pc));
	drain(w, o);
	json_array_append_new(ports, json_pack("{s:s, s:s, s:I, s:I, s:b}", "name", path, "link",
					       pcap_datalink_val_to_name(dlt), "rx_packets",
					       (json_int_t)rx, "tx_packets", (json_int_t)fwd,
					       "complete", rc != PCAP_ERROR));
	pcap_close(pc);
	return 0;
}

static FILE *
open_out(const char *path)
{
	if (!path)
		return NULL;
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	if (!f)
		fprintf(stderr, "bwgate-pcap: %s: %s\n", path, strerror(errno));
	return f;
}

static int
write_stats(const char *path, struct bwg_worker *w, const struct bwg_policy *pol, json_t *ports,
	    const struct bwg_ipfix *ipfix)
{
	const char **apps = calloc(bwg_dpi_app_count(w->dpi) + 1, sizeof(*apps));
	if (!apps)
		return -1;
	struct bwg_stats_rule_name *rules = calloc(pol->n_rules + 1, sizeof(*rules));
	if (!rules) {
		free(apps);
		return -1;
	}
	struct bwg_stats_names names;
	bwg_setup_stats_names(&names, pol, w->dpi, apps);
	names.rules = rules;
	names.n_rules = bwg_setup_rule_names(pol, rules);
	names.rules_version = pol->version;
	const uint64_t *c = w->stats.cnt;
	if (w->conf.behaviour)
		w->stats.behaviour.active = bwg_behaviour_active(w->conf.behaviour, w->clock_ns);
	json_t *workers = json_array();
	json_array_append_new(workers,
			      json_pack("{s:i, s:I, s:I, s:I, s:I}", "id", 0, "rx_packets",
					(json_int_t)c[BWG_CNT_RX_PACKETS], "tx_packets",
					(json_int_t)bwg_stats_tx_packets(c, w->stats.drops), "dropped_packets",
					(json_int_t)c[BWG_CNT_DROPPED_PACKETS], "flows_active",
					(json_int_t)w->flows.active));
	json_t *doc = bwg_stats_json(&w->stats, &names, w->flows.capacity, json_incref(ports),
				     workers);
	json_object_set_new(doc, "policy", json_pack("{s:s, s:i}", "file", pol->conf->path,
						     "version", (int)pol->version));
	json_object_set_new(doc, "quotas", bwg_quotas_json(w->conf.quotas, pol->conf, w->today));
	json_object_set_new(doc, "penalties",
			    bwg_penalties_json(w->conf.quotas, pol->conf, w->clock_ns));
	if (ipfix) {
		struct bwg_ipfix_stats is;
		bwg_ipfix_stats(ipfix, &is);
		json_object_set_new(doc, "ipfix", bwg_ipfix_stats_json(&is));
	}
	free(apps);
	free(rules);
	FILE *f = open_out(path);
	int rc = -1;
	if (f) {
		rc = json_dumpf(doc, f, JSON_INDENT(2) | BWG_JSON_REAL_FLAGS) == 0 ? 0 : -1;
		fputc('\n', f);
		if (f != stdout && fclose(f) != 0)
			rc = -1;
	}
	json_decref(doc);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'}, {"flows", required_argument, NULL, 'f'},
		{"stats", required_argument, NULL, 's'},  {"events", required_argument, NULL, 'e'},
		{"write", required_argument, NULL, 'w'},  {"check", no_argument, NULL, 'C'},
		{"ipfix", required_argument, NULL, 'x'},  {"help", no_argument, NULL, 'h'},
		{"replies", required_argument, NULL, 'r'},
		{"state", required_argument, NULL, 'S'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *flows = NULL, *stats = NULL, *events = NULL, *wpath = NULL,
		   *rpath = NULL, *spath = NULL;
	const char *collectors[BWG_COLLECTORS_MAX];
	uint32_t n_collectors = 0;
	int check = 0, opt;
	while ((opt = getopt_long(argc, argv, "c:w:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'f': flows = optarg; break;
		case 's': stats = optarg; break;
		case 'e': events = optarg; break;
		case 'w': wpath = optarg; break;
		case 'r': rpath = optarg; break;
		case 'S': spath = optarg; break;
		case 'C': check = 1; break;
		case 'x':
			if (n_collectors == BWG_COLLECTORS_MAX) {
				fprintf(stderr, "bwgate-pcap: --ipfix: at most %d collectors\n",
					BWG_COLLECTORS_MAX);
				return 2;
			}
			collectors[n_collectors++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config || (!check && optind >= argc)) {
		usage(stderr);
		return 2;
	}

	char err[BWG_CONFIG_ERR_MAX + 256];
	struct bwg_policy *pol;
	struct bwg_dpi *dpi;
	if (bwg_setup_load(config, 1, &pol, &dpi, err, sizeof(err)) < 0) {
		fprintf(stderr, "bwgate-pcap: %s\n", err);
		return 2;
	}
	if (check) {
		printf("%s: valid (%u classes, %u units, %u rules)\n", config, pol->n_classes,
		       pol->n_units - 1, pol->n_rules);
		bwg_policy_free(pol);
		bwg_dpi_destroy(dpi);
		return 0;
	}
	struct bwg_dnsnames *names;
	struct bwg_behaviour *behaviour;
	if (bwg_setup_shared(pol->conf, &names, &behaviour, err, sizeof(err)) < 0) {
		fprintf(stderr, "bwgate-pcap: %s\n", err);
		bwg_policy_free(pol);
		bwg_dpi_destroy(dpi);
		return 1;
	}
	for (uint32_t i = 0; i < n_collectors; i++) {
		struct bwg_collector_url u;
		if (bwg_config_parse_collector(collectors[i], &u, err, sizeof(err)) < 0) {
			fprintf(stderr, "bwgate-pcap: --ipfix: %s\n", err);
			bwg_policy_free(pol);
			bwg_dpi_destroy(dpi);
			return 2;
		}
	}
	/* Quota usage: read back from the state file, as the appliance does at start (any
	 * period: the capture's days are not known before it is read). The table is held
	 * only where a rule in force counts usage or a penalty lane, or --state asks for it:
	 * a replay never takes another policy, so it never needs one later. */
	bool per_user = spath != NULL;
	for (uint32_t i = 0; i < pol->conf->n_rules; i++)
		per_user |= !pol->conf->rules[i].disabled &&
			    (pol->conf->rules[i].has_quota || pol->conf->rules[i].has_penalty);
	struct bwg_quotas *quotas = NULL;
	if (per_user && bwg_quotas_create(&quotas, pol->conf->hosts_capacity) < 0) {
		fprintf(stderr, "bwgate-pcap: out of memory for quotas\n");
		return 1;
	}
	if (spath && access(spath, F_OK) == 0 &&
	    bwg_quotas_load(quotas, pol->conf, spath, INT64_MAX, err, sizeof(err)) < 0)
		fprintf(stderr, "bwgate-pcap: %s; starting with no quota usage\n", err);
	struct bwg_worker_conf wc = {
		.quotas = quotas,
		.id = 0,
		.link = BWG_LINK_ETHER,
		.event_ring_size = 8192,
		.export_flows = flows != NULL || n_collectors > 0,
		.active_timeout_ns = n_collectors ? pol->conf->ipfix_active_timeout * 1000000000ull : 0,
		.aging_budget = 256,
		.names = names,
		.behaviour = behaviour,
	};
	struct bwg_worker *w;
	if (bwg_worker_create(&w, &wc, pol, dpi, err, sizeof(err)) < 0) {
		fprintf(stderr, "bwgate-pcap: %s\n", err);
		bwg_policy_free(pol);
		bwg_dnsnames_destroy(names);
		bwg_behaviour_destroy(behaviour);
		return 1;
	}

	int status = 0;
	struct out o = {.dump_path = wpath};
	o.flows = open_out(flows);
	o.events = open_out(events);
	if ((flows && !o.flows) || (events && !o.events))
		status = 1;
	if (rpath) {
		o.rdead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144,
							       PCAP_TSTAMP_PRECISION_NANO);
		o.replies = o.rdead ? pcap_dump_open(o.rdead, rpath) : NULL;
		if (!o.replies) {
			fprintf(stderr, "bwgate-pcap: %s: %s\n", rpath,
				o.rdead ? pcap_geterr(o.rdead) : "cannot create");
			status = 1;
		}
	}
	if (n_collectors && bwg_ipfix_create(&o.ipfix, pol->conf, collectors, n_collectors, err,
					     sizeof(err)) < 0) {
		fprintf(stderr, "bwgate-pcap: %s\n", err);
		status = 1;
	}
	json_t *ports = json_array();
	for (int i = optind; status == 0 && i < argc; i++)
		if (replay(w, argv[i], &o, ports) < 0)
			status = 1;
	while (bwg_worker_flush(w, FLUSH_STEP) > 0)
		drain(w, &o);
	drain(w, &o);
	if (o.ipfix) {
		bwg_ipfix_flush(o.ipfix, IPFIX_WAIT_MS);
		struct bwg_ipfix_stats is;
		bwg_ipfix_stats(o.ipfix, &is);
		for (uint32_t i = 0; i < is.n; i++)
			fprintf(stderr, "bwgate-pcap: ipfix %s: %llu records sent, %llu lost, %llu "
				"pending\n", is.c[i].url, (unsigned long long)is.c[i].records_sent,
				(unsigned long long)is.c[i].records_lost,
				(unsigned long long)is.c[i].records_pending);
	}

	if (spath && bwg_quotas_save(quotas, pol->conf, spath, w->clock_ns / 1000000000ull, err,
				     sizeof(err)) < 0) {
		fprintf(stderr, "bwgate-pcap: %s\n", err);
		status = 1;
	}
	if (stats && write_stats(stats, w, pol, ports, o.ipfix) < 0) {
		fprintf(stderr, "bwgate-pcap: %s: cannot write stats\n", stats);
		status = 1;
	}
	json_decref(ports);
	if (o.flows && o.flows != stdout && fclose(o.flows) != 0)
		status = 1;
	if (o.events && o.events != stdout && fclose(o.events) != 0)
		status = 1;
	if (o.dump)
		pcap_dump_close(o.dump);
	if (o.dead)
		pcap_close(o.dead);
	if (o.replies)
		pcap_dump_close(o.replies);
	if (o.rdead)
		pcap_close(o.rdead);
	bwg_ipfix_destroy(o.ipfix);
	bwg_worker_destroy(w);
	bwg_policy_free(pol);
	bwg_dnsnames_destroy(names);
	bwg_behaviour_destroy(behaviour);
	bwg_quotas_destroy(quotas);
	return status;
}
