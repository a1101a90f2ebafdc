/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bwgate: the inline bandwidth gate.
 *
 *   bwgate [EAL options] -- -c CONFIG.json [--check] [--stats-interval SEC]
 *                           [--exit-when-idle SEC]
 *
 * Start-up and shut-down on the main lcore, which then stays the control thread. The
 * config is loaded and validated before EAL starts, so --check needs no DPDK
 * resources. Then: ports and queues (ports.c), one pipeline worker per queue pair,
 * each on its own lcore (datapath.c), and the control loop (control.c) until SIGINT or
 * SIGTERM, or until the ports have been idle for --exit-when-idle seconds (replays of
 * net_pcap files). On the way out: workers stop and drain their TX buffers, the
 * remaining flows are ended (their records reach the events file), the final stats
 * document goes to stdout and the ports are closed (which completes a tx_pcap file).
 *
 * Signals: SIGHUP re-reads the config and replaces the policy (as POST /api/v1/reload);
 * SIGUSR1 reopens events.file (logrotate's postrotate).
 *
 * Exit status: 0 stopped cleanly (or --check: valid), 1 the platform failed (EAL,
 * devices, memory), 2 bad usage or config (the policy, api.listen, api.token_file,
 * events.file's folder: all checked before any device starts, and all --check checks).
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "bwg_api.h"
#include "bwg_ipfix.h"
#include "bwg_setup.h"
#include "bwg_slotmap.h"
#include "bwgate.h"
#include "client.h"
#include "control.h"
#include "datapath.h"
#include "history.h"
#include "ports.h"
#include "service.h"

#define EVENT_RING 8192
#define FLUSH_STEP 1024      /* flows ended per step at shut-down: below EVENT_RING */
#define CONTROL_TICK_NS 10000000ull /* 10 ms */
#define STALL_EVERY_NS 100000000ull
#define LINK_EVERY_NS 1000000000ull
#define QUOTA_SAVE_EVERY_NS 5000000000ull /* quota usage to the state_file */

static volatile sig_atomic_t stop_signal, reload_signal, reopen_signal;

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static void
on_hup(int sig)
{
	(void)sig;
	reload_signal = 1;
}

static void
on_usr1(int sig)
{
	(void)sig;
	reopen_signal = 1;
}

struct options {
	const char *config;
	bool check;
	bool reload;             /* ask the running gate to reload, through its API */
	double reload_timeout;   /* s */
	const char *final_stats; /* the final document goes here (atomically), not stdout */
	double stats_interval; /* s, 0 = off */
	double exit_when_idle; /* s, 0 = off */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: bwgate [EAL options] -- -c CONFIG.json [--check] [--stats-interval SEC]\n"
		   "                                [--exit-when-idle SEC] [--final-stats FILE]\n"
		   "       bwgate --reload -c CONFIG.json [--reload-timeout SEC]\n"
		   "Forwards frames between the config's ports.inside and ports.outside through\n"
		   "the policy; SIGINT/SIGTERM stops it and prints the final stats as JSON.\n"
		   "  -c, --config FILE       the config (doc/configuration.md)\n"
		   "      --check             validate the config, the API's address and token file\n"
		   "                          and events.file's folder, start no device, and exit\n"
		   "                          (0 valid, 2 invalid)\n"
		   "      --stats-interval S  print a summary line to stderr every S seconds\n"
		   "      --exit-when-idle S  stop as on SIGINT after S seconds without RX\n"
		   "      --final-stats FILE  write the final stats to FILE (replaced atomically)\n"
		   "                          instead of stdout\n"
		   "      --reload            ask the gate running CONFIG to re-read it (POST\n"
		   "                          /api/v1/reload with api.token_file's token) and exit\n"
		   "                          0 when the new policy is in force, 1 when the gate\n"
		   "                          refused it or did not answer, 2 when CONFIG names\n"
		   "                          no usable api.listen and api.token_file\n"
		   "      --reload-timeout S  how long --reload waits for the answer (default 60)\n");
}

static int
parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 86400)
		return -1;
	*out = v;
	return 0;
}

static int
options_parse(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'C'},
		{"stats-interval", required_argument, NULL, 's'},
		{"exit-when-idle", required_argument, NULL, 'i'},
		{"final-stats", required_argument, NULL, 'f'},
		{"reload", no_argument, NULL, 'r'},
		{"reload-timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	memset(o, 0, sizeof(*o));
	o->reload_timeout = 60;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': o->config = optarg; break;
		case 'C': o->check = true; break;
		case 's':
			if (parse_seconds(optarg, &o->stats_interval) < 0) {
				fprintf(stderr, "bwgate: --stats-interval: \"%s\" is not a number of "
					"seconds\n", optarg);
				return 2;
			}
			break;
		case 'i':
			if (parse_seconds(optarg, &o->exit_when_idle) < 0) {
				fprintf(stderr, "bwgate: --exit-when-idle: \"%s\" is not a number of "
					"seconds\n", optarg);
				return 2;
			}
			break;
		case 'f': o->final_stats = optarg; break;
		case 'r': o->reload = true; break;
		case 't':
			if (parse_seconds(optarg, &o->reload_timeout) < 0 || o->reload_timeout <= 0) {
				fprintf(stderr, "bwgate: --reload-timeout: \"%s\" is not a number of "
					"seconds\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o->config || optind < argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/*
 * A folder the gate writes in: there and writable, or missing with the nearest folder
 * above it writable, so the gate can make the missing levels (as systemd's
 * LogsDirectory= and StateDirectory= would).
 */
static int
folder_check(const char *key, const char *what, const char *dir, char *err, size_t errlen)
{
	struct stat st;
	const char *why = NULL;
	char up[PATH_MAX];
	snprintf(up, sizeof(up), "%s", dir);
	bool missing = false;
	while (stat(up, &st) < 0 && errno == ENOENT) {
		missing = true;
		char *ps = strrchr(up, '/');
		if (ps && ps != up)
			*ps = 0;
		else if (ps)
			up[1] = 0;
		else
			snprintf(up, sizeof(up), ".");
	}
	if (stat(up, &st) < 0)
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a folder";
	else if (access(up, W_OK | X_OK) < 0)
		why = strerror(errno);
	if (why && missing) {
		snprintf(err, errlen, "%s: %s: the folder %s is missing and the gate cannot make it "
			 "(%s: %s)", key, what, dir, up, why);
		return -EINVAL;
	}
	if (why) {
		snprintf(err, errlen, "%s: %s: its folder %s: %s", key, what, dir, why);
		return -EINVAL;
	}
	return 0;
}

/*
 * What the appliance reads besides the policy, checked before any device starts (and by
 * --check): the API's address and token file, and where events.file will be written —
 * an existing folder the gate may write in, and the file, if it exists, a regular file
 * (opening a FIFO for writing would wait for a reader forever).
 */
static int
live_check(const struct bwg_config *c, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int rc;
	if ((rc = bwg_api_listen_parse(c->api_listen, &ss, err, errlen)) < 0)
		return rc;
	if (c->api_token_file) {
		char *token;
		size_t len;
		if ((rc = bwg_api_token_read(c->api_token_file, &token, &len, err, errlen)) < 0)
			return rc;
		free(token);
	}
	if (c->events_file) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", c->events_file);
		char *slash = strrchr(dir, '/');
		if (!slash)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == dir)
			dir[1] = 0;
		else
			*slash = 0;
		if ((rc = folder_check("events.file", c->events_file, dir, err, errlen)) < 0)
			return rc;
		struct stat st;
		if (stat(c->events_file, &st) == 0 &&
		    (!S_ISREG(st.st_mode) || access(c->events_file, W_OK) < 0)) {
			snprintf(err, errlen, "events.file: %s: %s", c->events_file,
				 S_ISREG(st.st_mode) ? "cannot be written" : "not a regular file");
			return -EINVAL;
		}
	}
	if (c->history_dir &&
	    (rc = folder_check("history.dir", c->history_dir, c->history_dir, err, errlen)) < 0)
		return rc;
	return bwg_ipfix_check(c, err, errlen); /* the collectors' names resolve */
}

/*
 * bwgate --reload: the running gate re-reads its config, or says why not. Only the api
 * section is read here (where to ask, with which token): whether the rest is a policy
 * the gate accepts is the gate's to say, with the message it gives.
 */
static int
reload_client(const struct options *o)
{
	char err[BWG_CONFIG_ERR_MAX + 256];
	json_error_t je;
	json_t *root = json_load_file(o->config, 0, &je);
	if (!root) {
		fprintf(stderr, "bwgate: reload refused: %s:%d:%d: %s\n", o->config, je.line,
			je.column, je.text);
		return 1;
	}
	json_t *api = json_object_get(root, "api");
	const char *listen = json_string_value(json_object_get(api, "listen"));
	const char *token = json_string_value(json_object_get(api, "token_file"));
	char dir[PATH_MAX], token_path[PATH_MAX * 2];
	snprintf(dir, sizeof(dir), "%s", o->config);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	if (token)
		snprintf(token_path, sizeof(token_path), "%s%s%s", token[0] == '/' || !slash ? ""
				 : dir, token[0] == '/' || !slash ? "" : "/", token);
	struct bwg_config c = {
	    .path = (char *)o->config,
	    .api_listen = (char *)(listen ? listen : "127.0.0.1:8080"),
	    .api_token_file = token ? token_path : NULL,
	};
	unsigned status;
	int rc = bwg_client_request(&c, "POST", "/api/v1/reload", o->reload_timeout, &status, err,
				    sizeof(err));
	json_decref(root);
	if (rc == -EINVAL) {
		fprintf(stderr, "bwgate: --reload: %s\n", err);
		return 2;
	}
	if (rc < 0 || status != 200) {
		fprintf(stderr, "bwgate: reload refused%s%.0u: %s\n", status ? ", HTTP " : "",
			status, err);
		return 1;
	}
	printf("bwgate: %s\n", err);
	return 0;
}

/* Log what the flow state costs before the first packet does. */
static void
log_capacity(const struct bwg_config *c, uint32_t workers)
{
	double flows_mib = (double)c->flow_capacity * sizeof(struct bwg_flow) / (1024.0 * 1024.0);
	double dpi_mib = (double)c->dpi_max_in_progress * bwg_dpi_state_size() / (1024.0 * 1024.0);
	BWG_APP_LOG("flow table: %u flows x %zu bytes = %.1f MiB per worker; nDPI pool: %u states "
		    "x %zu bytes = %.1f MiB per worker; %u worker%s: %.1f MiB",
		    c->flow_capacity, sizeof(struct bwg_flow), flows_mib, c->dpi_max_in_progress,
		    bwg_dpi_state_size(), dpi_mib, workers, workers > 1 ? "s" : "",
		    (flows_mib + dpi_mib) * workers);
}

struct gate {
	struct bwg_policy *policy;
	struct bwg_dpi *dpi0; /* until worker 0 owns it */
	struct bwg_dnsnames *names;      /* shared by the workers */
	struct bwg_behaviour *behaviour; /* shared by the workers */
	struct bwg_quotas *quotas;       /* shared by the workers */
	struct bwg_meter_table *meters;  /* per-host buckets, shared by the workers */
	struct bwg_ports ports;
	bool eal, ports_open;
	unsigned lcores[RTE_MAX_LCORE];
	uint32_t n_lcores;
	struct bwg_dp_lcore *dp; /* [ports.queues] */
	uint32_t n;
	struct bwg_control ctl;
	bool ctl_ready;
};

static void
gate_free(struct gate *g)
{
	if (g->ctl_ready)
		g->policy = bwg_control_fini(&g->ctl); /* the one in force now */
	for (uint32_t i = 0; g->dp && i < g->n; i++) {
		bwg_dp_lcore_fini(&g->dp[i]);
		bwg_worker_destroy(g->dp[i].w);
	}
	free(g->dp);
	bwg_meter_table_destroy(g->meters);
	if (g->ports_open)
		bwg_ports_close(&g->ports);
	bwg_dpi_destroy(g->dpi0);
	bwg_policy_free(g->policy);
	bwg_dnsnames_destroy(g->names);
	bwg_behaviour_destroy(g->behaviour);
	bwg_quotas_destroy(g->quotas);
	if (g->eal)
		rte_eal_cleanup();
}

/* The quota table, with the usage the state file kept (missing or corrupt: reported,
 * and the gate starts with none). */
static int
quotas_start(struct gate *g, char *err, size_t errlen)
{
	const struct bwg_config *c = g->policy->conf;
	if (bwg_quotas_create(&g->quotas, c->hosts_capacity) < 0) {
		snprintf(err, errlen, "out of memory for %u users' quotas", c->hosts_capacity);
		return -ENOMEM;
	}
	if (!c->state_file || !bwg_quotas_in_use(c))
		return 0;
	char why[PATH_MAX + 256];
	/* Today in the policy's time zone, as the workers will count it. */
	int64_t t = (int64_t)time(NULL);
	t += bwg_tz_offset(g->policy->tz, g->policy->n_tz, t);
	int64_t today = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int n = bwg_quotas_load(g->quotas, c, c->state_file, today, why, sizeof(why));
	if (n < 0)
		BWG_APP_LOG("%s; starting with no quota usage", why);
	else
		BWG_APP_LOG("state_file %s: quota usage of %d user%s read back", c->state_file, n,
			    n == 1 ? "" : "s");
	return 0;
}

/* One pipeline worker per queue pair, each with its own nDPI context. */
static int
workers_create(struct gate *g, char *err, size_t errlen)
{
	const struct bwg_config *c = g->policy->conf;
	g->dp = calloc(g->ports.queues, sizeof(*g->dp));
	/* One bucket pair per (rule, user) of per_host limits whatever worker carries the
	 * user's flows: room for twice flows.hosts_capacity, as one worker alone has. */
	if (!g->dp || bwg_meter_table_create(&g->meters, 2 * c->hosts_capacity) < 0) {
		snprintf(err, errlen, "out of memory for %u workers and %u users' buckets",
			 g->ports.queues, 2 * c->hosts_capacity);
		return -ENOMEM;
	}
	for (uint16_t q = 0; q < g->ports.queues; q++) {
		struct bwg_dpi *dpi = NULL;
		int rc;
		if (q == 0) {
			dpi = g->dpi0;
			g->dpi0 = NULL;
		} else if ((rc = bwg_setup_dpi(c, &dpi, err, errlen)) < 0) {
			return rc;
		}
		struct bwg_worker_conf wc = {
			.id = q,
			.link = BWG_LINK_ETHER,
			.event_ring_size = EVENT_RING,
			/* Flow records leave through the control thread to IPFIX collectors. */
			.export_flows = c->ipfix_collectors.n > 0,
			.active_timeout_ns = c->ipfix_active_timeout * 1000000000ull,
			.aging_budget = 256,
			.names = g->names,
			.behaviour = g->behaviour,
			.quotas = g->quotas,
			.meters = g->meters,
			.workers = g->ports.queues,
			/* a user is active in a class or two within one publication period */
			.user_pairs = c->users_hosts * 2,
			.nic_hash = g->ports.rss_hash,
		};
		struct bwg_worker *w;
		if ((rc = bwg_worker_create(&w, &wc, g->policy, dpi, err, errlen)) < 0)
			return rc;
		if ((rc = bwg_dp_lcore_init(&g->dp[q], w, g->lcores[q], q, &g->ports)) < 0) {
			bwg_worker_destroy(w);
			snprintf(err, errlen, "out of memory for worker %u's TX buffers", q);
			return rc;
		}
		g->n++;
	}
	return 0;
}

static void
control_loop(struct gate *g, const struct options *o)
{
	uint64_t now = bwg_control_now_ns();
	uint64_t next_stall = now + STALL_EVERY_NS, next_link = now + LINK_EVERY_NS;
	uint64_t stats_ns = (uint64_t)(o->stats_interval * 1e9);
	uint64_t idle_ns = (uint64_t)(o->exit_when_idle * 1e9);
	uint64_t next_stats = now + stats_ns, next_save = now + QUOTA_SAVE_EVERY_NS;
	while (!stop_signal) {
		struct timespec tick = {0, (long)CONTROL_TICK_NS};
		nanosleep(&tick, NULL);
		now = bwg_control_now_ns();
		bwg_control_events_drain(&g->ctl);
		bwg_control_api_tick(&g->ctl, now);
		if (reload_signal) {
			reload_signal = 0;
			char msg[BWG_CONFIG_ERR_MAX + 256];
			struct bwg_policy_change ch = {.how = "SIGHUP"};
			bwg_control_policy_replace(&g->ctl, &ch, msg, sizeof(msg));
		}
		if (reopen_signal) {
			reopen_signal = 0;
			bwg_control_events_reopen(&g->ctl);
		}
		if (now >= next_stall) {
			bwg_control_stall_check(&g->ctl, now);
			next_stall = now + STALL_EVERY_NS;
		}
		bwg_service_watchdog(bwg_control_workers_alive(&g->ctl), now);
		if (now >= next_link) {
			bwg_ports_link_watch(&g->ports, false);
			next_link = now + LINK_EVERY_NS;
		}
		if (now >= next_save) {
			bwg_control_quotas_save(&g->ctl);
			next_save = now + QUOTA_SAVE_EVERY_NS;
		}
		if (stats_ns && now >= next_stats) {
			bwg_control_summary_print(&g->ctl, now);
			next_stats += stats_ns;
		}
		if (idle_ns && bwg_control_idle_ns(&g->ctl, now) >= idle_ns) {
			BWG_APP_LOG("no frame received for %.1f s: stopping", o->exit_when_idle);
			break;
		}
	}
	if (stop_signal)
		BWG_APP_LOG("%s: stopping", strsignal(stop_signal));
}

/* The final document into path, replaced atomically (a reader finds the previous
 * document or this one whole, never a mix). */
static int
final_stats_write(json_t *doc, const char *path)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | BWG_JSON_REAL_FLAGS);
	char err[PATH_MAX + 128] = "out of memory";
	int rc = text ? bwg_file_replace(path, text, strlen(text), 0644, err, sizeof(err)) : -1;
	free(text);
	if (rc < 0) {
		BWG_APP_LOG("--final-stats: %s", err);
		return 1;
	}
	BWG_APP_LOG("final stats written to %s", path);
	return 0;
}

/* Workers stop and drain TX; their remaining flows end; the final document. */
static int
shutdown_and_report(struct gate *g, const char *final_stats)
{
	for (uint32_t i = 0; i < g->n; i++)
		atomic_store_explicit(&g->dp[i].quit, true, memory_order_relaxed);
	rte_eal_mp_wait_lcore();
	/* Workers are stopped: this thread may now act as their single writer. */
	for (uint32_t i = 0; i < g->n; i++) {
		while (bwg_worker_flush(g->dp[i].w, FLUSH_STEP) > 0)
			bwg_control_events_drain(&g->ctl);
		bwg_control_events_drain(&g->ctl);
	}
	bwg_control_export_flush(&g->ctl);
	bwg_control_quotas_save(&g->ctl);
	json_t *doc = bwg_control_stats_json(&g->ctl);
	if (!doc) {
		BWG_APP_LOG("out of memory for the final stats");
		return 1;
	}
	int rc;
	if (final_stats) {
		rc = final_stats_write(doc, final_stats);
	} else {
		rc = json_dumpf(doc, stdout, JSON_INDENT(2) | BWG_JSON_REAL_FLAGS) == 0 ? 0 : 1;
		fputc('\n', stdout);
		fflush(stdout);
	}
	json_decref(doc);
	return rc;
}

int
main(int argc, char **argv)
{
	/* EAL options before "--", ours after it (or all of them when there is none). */
	int dash = 0;
	for (int i = 1; i < argc && !dash; i++)
		if (strcmp(argv[i], "--") == 0)
			dash = i;
	char **app_argv = dash ? argv + dash : argv;
	int app_argc = dash ? argc - dash : argc;
	struct options o;
	int rc = options_parse(&o, app_argc, app_argv);
	if (rc >= 0)
		return rc;

	char err[BWG_CONFIG_ERR_MAX + 256];
	if (o.reload)
		return reload_client(&o);
	bwg_service_init();
	/* Every table's memory now: a gate that cannot have it fails at start, not later. */
	bwg_table_prefault(true);
	struct gate g = {0};
	if (bwg_setup_load(o.config, 1, &g.policy, &g.dpi0, err, sizeof(err)) < 0) {
		fprintf(stderr, "bwgate: %s\n", err);
		return 2;
	}
	const struct bwg_config *c = g.policy->conf;
	if (live_check(c, err, sizeof(err)) < 0) {
		fprintf(stderr, "bwgate: %s: %s\n", o.config, err);
		gate_free(&g);
		return 2;
	}
	uint32_t logged = 0;
	for (uint32_t i = 0; i < c->n_rules; i++)
		logged += c->rules[i].log;
	if (logged && !c->events_file)
		fprintf(stderr, "bwgate: %s: warning: %u rule%s \"log\": true but no events.file is "
			"configured: nothing is recorded\n", o.config, logged,
			logged == 1 ? " has" : "s have");
	if (o.check) {
		printf("%s: valid (%u classes, %u units, %u rules; audit log %s)\n", o.config,
		       g.policy->n_classes, g.policy->n_units - 1, g.policy->n_rules,
		       c->events_file ? c->events_file : "off");
		gate_free(&g);
		return 0;
	}
	if (!c->port_inside) {
		fprintf(stderr, "bwgate: %s: ports: the appliance needs \"ports\": {\"inside\": "
			"DEVICE, \"outside\": DEVICE}\n", o.config);
		gate_free(&g);
		return 2;
	}

	char *eal_argv0[] = {argv[0], NULL};
	if (rte_eal_init(dash ? dash : 1, dash ? argv : eal_argv0) < 0) {
		fprintf(stderr, "bwgate: EAL: %s\n", rte_strerror(rte_errno));
		gate_free(&g);
		return 1;
	}
	g.eal = true;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_hup);   /* re-read the config: a new policy */
	signal(SIGUSR1, on_usr1); /* reopen events.file (logrotate) */
	signal(SIGPIPE, SIG_IGN); /* HTTP clients that hang up */
	signal(SIGXFSZ, SIG_IGN); /* a file size limit: the write fails, counted and logged */

	unsigned lc;
	RTE_LCORE_FOREACH_WORKER(lc)
		g.lcores[g.n_lcores++] = lc;
	if (g.n_lcores < c->workers) {
		fprintf(stderr, "bwgate: %s: workers: %u, but EAL gave %u worker lcore%s (main "
			"lcore %u is the control thread; use e.g. -l 0-%u)\n", o.config, c->workers,
			g.n_lcores, g.n_lcores == 1 ? "" : "s", rte_get_main_lcore(), c->workers);
		gate_free(&g);
		return 2;
	}
	int status = 1;
	if ((rc = bwg_ports_open(&g.ports, c, (uint16_t)c->workers, err, sizeof(err))) < 0) {
		/* A device that is missing or not bound (yet) is the platform: exit 1, which
		 * the unit restarts, so the gate comes up once dpdk.service has bound it. */
		fprintf(stderr, "bwgate: %s\n", err);
		goto out;
	}
	g.ports_open = true;
	if (bwg_ports_start(&g.ports, c, g.lcores, err, sizeof(err)) < 0 ||
	    bwg_setup_shared(c, &g.names, &g.behaviour, err, sizeof(err)) < 0 ||
	    quotas_start(&g, err, sizeof(err)) < 0 ||
	    workers_create(&g, err, sizeof(err)) < 0 ||
	    bwg_control_init(&g.ctl, g.policy, o.config, &g.ports, g.dp, g.n, g.quotas, err,
			     sizeof(err)) < 0) {
		fprintf(stderr, "bwgate: %s\n", err);
		goto out;
	}
	g.ctl_ready = true;
	log_capacity(c, g.n);
	for (uint32_t i = 0; i < g.n; i++)
		BWG_APP_LOG("worker %u: lcore %u, queue %u of both ports", i, g.lcores[i], i);
	if (g.n_lcores > g.n)
		BWG_APP_LOG("%u worker lcore%s left idle", g.n_lcores - g.n,
			    g.n_lcores - g.n > 1 ? "s" : "");
	bwg_ports_link_watch(&g.ports, true);

	for (uint32_t i = 0; i < g.n; i++)
		rte_eal_remote_launch(bwg_dp_lcore_run, &g.dp[i], g.lcores[i]);
	BWG_APP_LOG("forwarding %s <-> %s with policy %s", c->port_inside, c->port_outside,
		    c->path);
	/* Ready once the workers forward; the watchdog is fed from the control loop. */
	bwg_service_notify("READY=1\nSTATUS=forwarding %s <-> %s, policy version %u%s",
			   c->port_inside, c->port_outside, g.ctl.policy->version,
			   g.ctl.http_on ? "" : "; the HTTP API is not serving (see the log)");
	if (bwg_service_watchdog_ns())
		BWG_APP_LOG("systemd watchdog: %.1f s, fed while every worker's loop moves",
			    (double)bwg_service_watchdog_ns() / 1e9);
	control_loop(&g, &o);
	bwg_service_notify("STOPPING=1\nSTATUS=stopping: workers drain, flows end");
	status = shutdown_and_report(&g, o.final_stats);
out:
	gate_free(&g);
	return status;
}
