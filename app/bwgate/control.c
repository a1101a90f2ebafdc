/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the control thread (main lcore) does while the workers run, and the final
 * document once they stopped.
 *
 * It only reads worker memory: the API's counters are each worker's publication, asked
 * for every snapshot period and made at its housekeeping ticks, TX drained and every
 * flow's counts folded in (stats_collect), so that they are exact, conserve and never go
 * back; the summary line reads rx, tx and drops as each worker published them at its
 * last tick; events leave each worker's single-producer ring through the consumer side;
 * loop counters feed the stall detector. The API's documents and the final stats document
 * come from one snapshot, filled here (snapshot_fill), by lib/api's pure functions.
 *
 * For the HTTP API it publishes a snapshot every 200 ms (two buffers: the HTTP thread
 * reads the front one under the API lock while the back one is filled), refreshes the
 * list of the largest flows every second the same way (the workers scan their tables in
 * bounded steps at their housekeeping ticks; no request waits for them) and answers the
 * writes the HTTP thread hands over. Policy replacement happens here too: parse,
 * validate and compile against the control thread's own nDPI context, then a pointer
 * per worker, adopted at the worker's housekeeping tick and acknowledged by version;
 * a replaced policy is freed once every worker acknowledged a newer one.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "bwg_log.h"
#include "bwg_setup.h"
#include "bwgate.h"
#include "control.h"
#include "history.h"
#include "telemetry.h"

uint64_t
bwg_control_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define RETRY_NS 10000000000ull /* the API's port, the events file: tried again every 10 s */

static void events_try_open(struct bwg_control *ctl, uint64_t now_ns);

/*
 * The API is on by default (127.0.0.1:8080). A failure to serve it (the port is taken,
 * the token file went away since --check) does not stop the gate: forwarding matters
 * more than the API. It is logged, and tried again every RETRY_NS until it works.
 */
static int
api_start(struct bwg_control *ctl, char *err, size_t errlen)
{
	const struct bwg_config *c = ctl->policy->conf;
	int rc = bwg_http_start(&ctl->http, c->api_listen, c->api_token_file, ctl->dpi,
				ctl->quotas, err, errlen);
	if (rc < 0) {
		bwg_http_stop(&ctl->http);
		if (rc == -ENOMEM)
			return rc;
		if (!ctl->api_retry_ns)
			BWG_APP_LOG("%s: forwarding goes on without the HTTP API (no /healthz, no "
				    "reload through it); trying again every %llu s", err,
				    RETRY_NS / 1000000000ull);
		ctl->api_retry_ns = bwg_control_now_ns() + RETRY_NS;
		return 0;
	}
	if (ctl->api_retry_ns)
		BWG_APP_LOG("HTTP API: serving at last");
	ctl->api_retry_ns = 0;
	ctl->http_on = true;
	bwg_http_publish_policy(&ctl->http, ctl->policy);
	if (ctl->history_on) {
		pthread_mutex_lock(&ctl->http.lock);
		ctl->http.history = &ctl->history;
		pthread_mutex_unlock(&ctl->http.lock);
	}
	pthread_mutex_lock(&ctl->http.lock);
	ctl->http.users = &ctl->users;
	pthread_mutex_unlock(&ctl->http.lock);
	bwg_telemetry_register(&ctl->http);
	bwg_control_api_tick(ctl, bwg_control_now_ns());
	return 0;
}

/* The oldest policy version a worker may still be reading. */
static uint32_t
oldest_live(const struct bwg_control *ctl)
{
	uint32_t v = ctl->policy ? ctl->policy->version : UINT32_MAX;
	for (uint32_t i = 0; i < ctl->n_retired; i++)
		if (ctl->retired[i].policy->version < v)
			v = ctl->retired[i].policy->version;
	return v;
}

/*
 * Point p's class and unit ids at the counter slots of their names (before p is
 * published: workers count where it says). Names new since start take free slots, or
 * those of names no live policy has had for the longest; their counts start at zero.
 */
static int
slots_bind(struct bwg_control *ctl, struct bwg_policy *p)
{
	bwg_control_snapshot(ctl);
	/* A slot is free for another name once no live policy names it and no worker has
	 * packets not yet counted toward it (flows fold their counts later). */
	uint32_t live = oldest_live(ctl);
	for (uint32_t i = 0; i < ctl->n; i++) {
		uint32_t v = atomic_load_explicit(&ctl->lcores[i].policy_counted,
						  memory_order_relaxed);
		if (v < live)
			live = v;
	}
	/* All or nothing: the class table as it was, should the units not fit. */
	struct bwg_stats_slots *cs = &ctl->class_slots;
	char names[BWG_CLASS_SLOTS][BWG_NAME_MAX];
	uint32_t version[BWG_CLASS_SLOTS], n = cs->n;
	struct bwg_obj_stats base[BWG_CLASS_SLOTS];
	memcpy(names, cs->names, sizeof(names));
	memcpy(version, cs->version, sizeof(version));
	memcpy(base, cs->base, sizeof(base));
	int rc = bwg_stats_slots_bind(cs, p->class_names, p->n_classes, p->version, live,
				      ctl->snap.classes, p->class_slot);
	if (rc == 0 &&
	    (rc = bwg_stats_slots_bind(&ctl->unit_slots, p->unit_names, p->n_units, p->version,
				       live, ctl->snap.units, p->unit_slot)) < 0) {
		memcpy(cs->names, names, sizeof(names));
		memcpy(cs->version, version, sizeof(version));
		memcpy(cs->base, base, sizeof(base));
		cs->n = n;
	}
	return rc;
}

static uint64_t
unix_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

/*
 * Record p as the version in force: the current one when it holds the same policy,
 * else a new version written to history.dir. A failure to write is logged; the policy
 * stays in force (an emergency change must not wait for a disk).
 */
static void
history_record(struct bwg_control *ctl, const struct bwg_policy *p, const char *source,
	       const char *client)
{
	if (!ctl->history_on)
		return;
	const struct bwg_api_history_entry *last =
	    ctl->history.n ? ctl->history.v[ctl->history.n - 1] : NULL;
	if (last) {
		json_error_t je;
		json_t *j = json_loads(last->policy, 0, &je);
		bool same = j && json_equal(j, p->conf->root);
		json_decref(j);
		if (same) {
			ctl->history.current = last->version;
			return;
		}
	}
	char err[PATH_MAX + 128];
	struct bwg_api_history_entry *e = bwg_history_write(&ctl->history, p->conf->root, source,
							    client, unix_now(), err, sizeof(err));
	if (!e) {
		BWG_APP_LOG("policy version %u is in force but not in the history: %s", p->version,
			    err);
		return;
	}
	if (ctl->http_on)
		pthread_mutex_lock(&ctl->http.lock);
	struct bwg_api_history_entry *old = bwg_history_add(&ctl->history,
							    p->conf->history_keep, e);
	if (ctl->http_on)
		pthread_mutex_unlock(&ctl->http.lock);
	bwg_history_entry_free(old);
	BWG_APP_LOG("policy history: version %u (%s%s%s) in %s", e->version, source,
		    client ? " from " : "", client ? client : "", ctl->history.dir);
}

static int
history_start(struct bwg_control *ctl, char *err, size_t errlen)
{
	const struct bwg_config *c = ctl->policy->conf;
	char msg[PATH_MAX + 128];
	int rc = bwg_history_load(&ctl->history, c->history_dir, c->history_keep, msg,
				  sizeof(msg));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", c->path, msg);
		return rc;
	}
	ctl->history_on = true;
	char source[PATH_MAX + 32];
	snprintf(source, sizeof(source), "file %s (start)", c->path);
	history_record(ctl, ctl->policy, source, NULL);
	return 0;
}

int
bwg_control_init(struct bwg_control *ctl, struct bwg_policy *policy, const char *config_path,
		 struct bwg_ports *ports, struct bwg_dp_lcore *lcores, uint32_t n,
		 struct bwg_quotas *quotas, char *err, size_t errlen)
{
	memset(ctl, 0, sizeof(*ctl));
	ctl->events_fd = -1;
	ctl->quotas = quotas;
	ctl->policy = policy;
	ctl->config_path = config_path;
	ctl->ports = ports;
	ctl->lcores = lcores;
	ctl->n = n;
	ctl->stall_timeout_ms = policy->conf->stall_timeout_ms;
	ctl->front = -1;
	ctl->users_interval_ns = bwg_control_now_ns();
	ctl->watch = calloc(n, sizeof(*ctl->watch));
	if (!ctl->watch || bwg_stats_init(&ctl->snap, lcores[0].w->stats.app_count) < 0 ||
	    bwg_stats_slots_init(&ctl->class_slots, BWG_CLASS_SLOTS, false) < 0 ||
	    bwg_stats_slots_init(&ctl->unit_slots, BWG_UNIT_SLOTS, true) < 0 ||
	    bwg_users_init(&ctl->users, policy->conf->users_hosts) < 0 ||
	    slots_bind(ctl, policy) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* A detection context of its own with one state: replacements compile against the
	 * same names as the workers' (same protocol files), and explain looks apps up. */
	const struct bwg_config *c = policy->conf;
	struct bwg_dpi_conf dc = {
		.protocols_file = c->protocols_file,
		.categories_file = c->categories_file,
		.pool_size = 1,
		.max_pkts = {c->dpi_max_pkts[0], c->dpi_max_pkts[1], c->dpi_max_pkts[2]},
	};
	char msg[512];
	int rc;
	if ((rc = bwg_dpi_create(&ctl->dpi, &dc, msg, sizeof(msg))) < 0) {
		snprintf(err, errlen, "%s: %s", c->path, msg);
		return rc;
	}
	ctl->events_fd = -1;
	if (c->events_file)
		events_try_open(ctl, bwg_control_now_ns());
	if ((rc = bwg_ipfix_create(&ctl->ipfix, c, NULL, 0, msg, sizeof(msg))) < 0) {
		snprintf(err, errlen, "%s: %s", c->path, msg);
		return rc;
	}
	/* The snapshots the API serves and the final document is made of. */
	uint32_t apps = bwg_dpi_app_count(ctl->dpi);
	if (!(ctl->app_names = calloc(apps + 1, sizeof(*ctl->app_names)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < apps; i++)
		ctl->app_names[i] = bwg_dpi_app_name(ctl->dpi, (uint16_t)i);
	for (int i = 0; i < 2; i++)
		if (bwg_api_snapshot_init(&ctl->snaps[i], ctl->snap.app_count, ctl->n) < 0 ||
		    bwg_api_flows_init(&ctl->flow_lists[i], ctl->n * BWG_DP_FLOWS_MAX) < 0) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	if (!(ctl->wstats = calloc(n, sizeof(*ctl->wstats)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++)
		if (bwg_stats_init(&ctl->wstats[i], ctl->snap.app_count) < 0) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	ctl->flows_front = -1;
	uint64_t now = bwg_control_now_ns();
	ctl->last_ns = ctl->idle_since_ns = now;
	for (uint32_t i = 0; i < n; i++)
		ctl->watch[i].since_ns = now;
	if (c->history_dir && (rc = history_start(ctl, err, errlen)) < 0) {
		if (rc == -ENOMEM)
			return rc;
		/* Checked by --check; should it fail now, forwarding matters more. */
		BWG_APP_LOG("%s: the policy history is off until bwgate restarts", err);
	}
	if ((rc = api_start(ctl, err, errlen)) < 0) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		return rc;
	}
	return 0;
}

struct bwg_policy *
bwg_control_fini(struct bwg_control *ctl)
{
	if (ctl->http_on) {
		bwg_telemetry_unregister(); /* its threads outlive the API: detach them first */
		bwg_http_stop(&ctl->http);
	}
	ctl->http_on = false;
	for (int i = 0; i < 2; i++) {
		bwg_api_snapshot_fini(&ctl->snaps[i]);
		bwg_api_flows_fini(&ctl->flow_lists[i]);
	}
	free(ctl->app_names);
	ctl->app_names = NULL;
	bwg_users_fini(&ctl->users);
	if (ctl->history_on)
		bwg_history_fini(&ctl->history);
	ctl->history_on = false;
	for (uint32_t i = 0; ctl->wstats && i < ctl->n; i++)
		bwg_stats_fini(&ctl->wstats[i]);
	free(ctl->wstats);
	ctl->wstats = NULL;
	for (uint32_t i = 0; i < ctl->n_retired; i++)
		bwg_policy_free(ctl->retired[i].policy);
	ctl->n_retired = 0;
	bwg_dpi_destroy(ctl->dpi);
	ctl->dpi = NULL;
	if (ctl->events_fd >= 0)
		close(ctl->events_fd);
	ctl->events_fd = -1;
	bwg_ipfix_destroy(ctl->ipfix);
	ctl->ipfix = NULL;
	bwg_stats_fini(&ctl->snap);
	bwg_stats_slots_fini(&ctl->class_slots);
	bwg_stats_slots_fini(&ctl->unit_slots);
	free(ctl->watch);
	ctl->watch = NULL;
	struct bwg_policy *p = ctl->policy;
	ctl->policy = NULL;
	return p;
}

/* Hosts tagged P2P now (the shared table's gauge), by the workers' clock: wall time. */
static uint64_t
behaviour_active(const struct bwg_control *ctl)
{
	const struct bwg_behaviour *b = ctl->n ? ctl->lcores[0].w->conf.behaviour : NULL;
	if (!b)
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return bwg_behaviour_active(b, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

void
bwg_control_snapshot(struct bwg_control *ctl)
{
	bwg_stats_clear(&ctl->snap);
	struct bwg_stats_totals sum = {0};
	for (uint32_t i = 0; i < ctl->n; i++) {
		struct bwg_stats_totals t;
		bwg_stats_add(&ctl->snap, &ctl->lcores[i].w->stats);
		bwg_dp_totals_read(&ctl->lcores[i], &t);
		bwg_stats_totals_add(&sum, &t);
	}
	/* rx, tx and drops as the workers published them, with no frame in flight. */
	bwg_stats_totals_put(ctl->snap.cnt, ctl->snap.drops, &sum);
	ctl->snap.behaviour.active = behaviour_active(ctl);
}

int
bwg_control_events_open(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		/* The folder systemd's LogsDirectory= makes, or the gate makes it. */
		int rc = bwg_mkdir_p(dir, 0750);
		if (rc > 0)
			BWG_APP_LOG("events.file: created the folder %s (0750)", dir);
		else if (rc < 0) {
			snprintf(err, errlen, "events.file: %s: cannot create its folder %s: %s", path,
				 dir, strerror(-rc));
			return rc;
		}
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0640);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "events.file: %s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "events.file: %s: not a regular file", path);
		return -EINVAL;
	}
	return fd;
}

#define EVENTS_FAIL_LOG_NS 60000000000ull /* a failing events file is logged once a minute */

/*
 * Open events.file (at start, and again every RETRY_NS while it cannot be). A file that
 * cannot be opened does not stop the gate: its events are counted as failed, /healthz
 * is not ok, and the log says so.
 */
static void
events_try_open(struct bwg_control *ctl, uint64_t now_ns)
{
	char err[PATH_MAX + 128];
	int fd = bwg_control_events_open(ctl->policy->conf->events_file, err, sizeof(err));
	ctl->events_retry_ns = now_ns + RETRY_NS;
	if (fd >= 0) {
		ctl->events_fd = fd;
		if (ctl->events_failing)
			BWG_APP_LOG("events.file: %s: open again", ctl->policy->conf->events_file);
		ctl->events_failing = false;
		return;
	}
	if (!ctl->events_failing)
		BWG_APP_LOG("%s (events are counted as failed and /healthz is not ok until it "
			    "opens; trying again every %llu s)", err, RETRY_NS / 1000000000ull);
	ctl->events_failing = true;
}

/*
 * Append buf (whole lines) to the events file. Lines count as written only once write()
 * took them whole: a line the file refused is counted as failed, never as written, and
 * the first failure (then one a minute) and the recovery reach the log.
 */
static void
events_write(struct bwg_control *ctl, const char *buf, size_t len, uint64_t lines)
{
	size_t off = 0;
	int e = 0;
	while (off < len && ctl->events_fd >= 0) {
		ssize_t n = write(ctl->events_fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			break;
		}
		off += (size_t)n;
	}
	if (ctl->events_fd < 0)
		e = EBADF;
	uint64_t whole = 0;
	for (size_t i = 0; i < off; i++)
		whole += buf[i] == '\n';
	ctl->events_written += whole;
	if (off == len) {
		if (ctl->events_failing)
			BWG_APP_LOG("events.file: %s: written again (%llu events were lost)",
				    ctl->policy->conf->events_file,
				    (unsigned long long)ctl->events_failed_lines);
		ctl->events_failing = false;
		return;
	}
	ctl->events_write_errors++;
	ctl->events_failed_lines += lines - whole;
	uint64_t now = bwg_control_now_ns();
	if (!ctl->events_failing || now - ctl->events_fail_logged_ns >= EVENTS_FAIL_LOG_NS) {
		BWG_APP_LOG("events.file: %s: write failed: %s (%llu events lost so far; /healthz "
			    "is not ok until a write succeeds)",
			    ctl->policy->conf->events_file, strerror(e),
			    (unsigned long long)ctl->events_failed_lines);
		ctl->events_fail_logged_ns = now;
	}
	ctl->events_failing = true;
}

/* One event of the control thread's own (a policy change) to the events file. */
static void
events_put(struct bwg_control *ctl, json_t *o)
{
	char *line = o && ctl->policy->conf->events_file
			 ? json_dumps(o, JSON_COMPACT | BWG_JSON_REAL_FLAGS) : NULL;
	json_decref(o);
	if (!line)
		return;
	size_t n = strlen(line);
	char *buf = realloc(line, n + 2);
	if (!buf) {
		free(line);
		return;
	}
	buf[n++] = '\n';
	events_write(ctl, buf, n, 1);
	free(buf);
}

/* The control thread's name -> counter slot, or -1 when the policy in force has no such
 * name (the event came from a replaced one). */
static int
name_slot(const char *const *names, uint32_t first, uint32_t n, const uint16_t *slot,
	  const char *name)
{
	for (uint32_t i = first; i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return slot[i];
	return -1;
}

/* A block or limit event: the inside host's attempt, in its user's record. */
static void
users_event(struct bwg_control *ctl, const struct bwg_event *e)
{
	const struct bwg_flow_view *v = &e->flow;
	const struct bwg_policy *p = ctl->policy;
	int cls = name_slot(p->class_names, 0, p->n_classes, p->class_slot, v->cls);
	int unit = v->unit[0] ? name_slot(p->unit_names, 1, p->n_units, p->unit_slot, v->unit) : 0;
	if (cls < 0 || unit < 0)
		return;
	int in = bwg_policy_inside(p, v->family, v->addr[0], v->addr[1], NULL);
	struct bwg_user_block b = {
	    .time_ns = v->event_ts,
	    .action = e->type == BWG_EVENT_BLOCK ? BWG_ACTION_BLOCK : BWG_ACTION_LIMIT,
	    .proto = v->proto,
	    .port = v->port[!in],
	    .family = v->family,
	};
	memcpy(b.peer, v->addr[!in], 16);
	snprintf(b.cls, sizeof(b.cls), "%s", v->cls);
	snprintf(b.rule, sizeof(b.rule), "%s", v->rule);
	snprintf(b.app, sizeof(b.app), "%s", v->app);
	snprintf(b.host, sizeof(b.host), "%s", v->host);
	if (ctl->http_on)
		pthread_mutex_lock(&ctl->http.lock);
	bwg_users_block(&ctl->users, v->family, v->addr[in], (uint16_t)cls, (uint16_t)unit, &b);
	if (ctl->http_on)
		pthread_mutex_unlock(&ctl->http.lock);
}

void
bwg_control_events_drain(struct bwg_control *ctl)
{
	char *buf = NULL;
	size_t len = 0;
	uint64_t lines = 0;
	FILE *mem = NULL;
	for (uint32_t i = 0; i < ctl->n; i++) {
		struct bwg_event_ring *r = &ctl->lcores[i].w->events;
		const struct bwg_event *e;
		while ((e = bwg_event_ring_peek(r))) {
			if (e->type == BWG_EVENT_BLOCK || e->type == BWG_EVENT_LIMIT)
				users_event(ctl, e);
			if (e->type == BWG_EVENT_FLOW || e->type == BWG_EVENT_FLOW_UPDATE) {
				bwg_ipfix_record(ctl->ipfix, &e->flow);
			} else if (ctl->policy->conf->events_file) {
				if (!mem)
					mem = open_memstream(&buf, &len);
				json_t *o = bwg_log_event_json(e);
				if (mem && o &&
				    json_dumpf(o, mem, JSON_COMPACT | BWG_JSON_REAL_FLAGS) == 0 &&
				    fputc('\n', mem) != EOF)
					lines++;
				else
					ctl->events_failed_lines++; /* out of memory */
				json_decref(o);
			}
			bwg_event_ring_pop(r);
		}
	}
	bwg_ipfix_tick(ctl->ipfix);
	if (!mem)
		return;
	if (ctl->events_fd < 0) {
		uint64_t now = bwg_control_now_ns();
		if (now >= ctl->events_retry_ns)
			events_try_open(ctl, now);
	}
	if (fclose(mem) == 0 && lines)
		events_write(ctl, buf, len, lines);
	free(buf);
}

void
bwg_control_export_flush(struct bwg_control *ctl)
{
	bwg_ipfix_flush(ctl->ipfix, BWG_CTL_IPFIX_WAIT_MS);
}

void
bwg_control_events_reopen(struct bwg_control *ctl)
{
	const char *path = ctl->policy->conf->events_file;
	if (!path)
		return;
	if (ctl->events_fd >= 0 && close(ctl->events_fd) < 0)
		ctl->events_write_errors++;
	char err[PATH_MAX + 128];
	int fd = bwg_control_events_open(path, err, sizeof(err));
	ctl->events_fd = fd >= 0 ? fd : -1;
	if (fd < 0) {
		ctl->events_write_errors++;
		ctl->events_failing = true;
		BWG_APP_LOG("%s (events are lost until the next SIGUSR1)", err);
		return;
	}
	BWG_APP_LOG("events.file: reopened %s", path);
}

void
bwg_control_stall_check(struct bwg_control *ctl, uint64_t now_ns)
{
	for (uint32_t i = 0; i < ctl->n; i++) {
		struct bwg_ctl_worker_watch *wt = &ctl->watch[i];
		uint64_t loops =
			atomic_load_explicit(&ctl->lcores[i].pub.loops, memory_order_relaxed);
		if (loops != wt->loops) {
			if (wt->stalled)
				BWG_APP_LOG("worker %u (lcore %u) is running again", i,
					    ctl->lcores[i].lcore);
			wt->loops = loops;
			wt->since_ns = now_ns;
			wt->stalled = false;
			continue;
		}
		uint64_t ms = (now_ns - wt->since_ns) / 1000000;
		if (!wt->stalled && ms >= ctl->stall_timeout_ms) {
			BWG_APP_LOG("worker %u (lcore %u) stalled: its loop counter has not moved "
				    "for %llu ms (ports.stall_timeout_ms = %u)",
				    i, ctl->lcores[i].lcore, (unsigned long long)ms,
				    ctl->stall_timeout_ms);
			wt->stalled = true;
		}
	}
}

bool
bwg_control_workers_alive(const struct bwg_control *ctl)
{
	for (uint32_t i = 0; i < ctl->n; i++)
		if (ctl->watch[i].stalled)
			return false;
	return true;
}

void
bwg_control_summary_print(struct bwg_control *ctl, uint64_t now_ns)
{
	bwg_control_snapshot(ctl);
	const struct bwg_stats *s = &ctl->snap;
	uint64_t rx = s->cnt[BWG_CNT_RX_PACKETS], tx = bwg_stats_tx_packets(s->cnt, s->drops);
	double secs = (double)(now_ns - ctl->last_ns) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	uint64_t missed = 0, nombuf = 0;
	for (int r = 0; r < BWG_PORT_ROLE_MAX; r++) {
		struct rte_eth_stats st;
		if (ctl->ports->port[r].started &&
		    rte_eth_stats_get(ctl->ports->port[r].id, &st) == 0) {
			missed += st.imissed;
			nombuf += st.rx_nombuf;
		}
	}
	fprintf(stderr,
		"bwgate: stats: rx %llu tx %llu dropped %llu (policy %llu, tx_full %llu) flows "
		"%llu | %.3f Mpps rx, %.3f Mpps tx, %.3f Mpps dropped | rx_missed %llu rx_nombuf "
		"%llu\n",
		(unsigned long long)rx, (unsigned long long)tx,
		(unsigned long long)s->cnt[BWG_CNT_DROPPED_PACKETS],
		(unsigned long long)(s->drops[BWG_DROP_POLICY_BLOCK] +
				     s->drops[BWG_DROP_POLICY_LIMIT]),
		(unsigned long long)s->drops[BWG_DROP_TX_FULL],
		(unsigned long long)s->flows_active, (double)(rx - ctl->last_rx) / secs / 1e6,
		(double)(tx - ctl->last_tx) / secs / 1e6,
		(double)(s->cnt[BWG_CNT_DROPPED_PACKETS] - ctl->last_dropped) / secs / 1e6,
		(unsigned long long)missed, (unsigned long long)nombuf);
	ctl->last_rx = rx;
	ctl->last_tx = tx;
	ctl->last_dropped = s->cnt[BWG_CNT_DROPPED_PACKETS];
	ctl->last_ns = now_ns;
}

uint64_t
bwg_control_idle_ns(struct bwg_control *ctl, uint64_t now_ns)
{
	uint64_t rx = bwg_ports_rx_total(ctl->ports);
	for (uint32_t i = 0; i < ctl->n; i++)
		rx += atomic_load_explicit(&ctl->lcores[i].pub.pipeline_packets,
					   memory_order_relaxed);
	if (rx != ctl->idle_rx) {
		ctl->idle_rx = rx;
		ctl->idle_since_ns = now_ns;
	}
	return now_ns - ctl->idle_since_ns;
}

/* ---- HTTP API: snapshots ---------------------------------------------------------------- */

/* Fill s from the workers and the ports (rates against the published snapshot). */
static void
snapshot_fill(struct bwg_control *ctl, struct bwg_api_snapshot *s, uint64_t now_ns)
{
	const struct bwg_api_snapshot *f = ctl->front >= 0 ? &ctl->snaps[ctl->front] : NULL;
	const struct bwg_policy *p = ctl->policy;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);

	s->seq = f ? f->seq + 1 : 1;
	s->time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	s->interval_ns = f ? now_ns - ctl->snap_mono_ns : 0;
	bwg_stats_clear(&s->prev);
	if (f)
		bwg_stats_add(&s->prev, &f->cur);
	bwg_stats_clear(&s->cur);
	s->flow_capacity = 0;
	for (uint32_t i = 0; i < ctl->n; i++) {
		const struct bwg_dp_lcore *lc = &ctl->lcores[i];
		const struct bwg_worker *w = lc->w;
		const struct bwg_stats *ws = &ctl->wstats[i]; /* as published: exact */
		struct bwg_api_worker *aw = &s->workers[i];
		bwg_stats_add(&s->cur, ws);
		s->flow_capacity += w->flows.capacity;
		aw->id = i;
		aw->lcore = lc->lcore;
		aw->queue = lc->queue;
		aw->alive = !ctl->watch[i].stalled;
		aw->policy_version = atomic_load_explicit(&lc->policy_seen, memory_order_relaxed);
		memcpy(aw->cnt, ws->cnt, sizeof(aw->cnt));
		memcpy(aw->drops, ws->drops, sizeof(aw->drops));
		aw->flows_active = ws->flows_active;
		aw->flow_capacity = w->flows.capacity;
		aw->loops_prev = f ? f->workers[i].loops : 0;
		aw->busy_prev = f ? f->workers[i].busy_loops : 0;
#define LOAD(x) atomic_load_explicit(&lc->pub.x, memory_order_relaxed)
		aw->loops = LOAD(loops);
		aw->busy_loops = LOAD(busy_loops);
		aw->pipeline_cycles = LOAD(pipeline_cycles);
		aw->pipeline_packets = LOAD(pipeline_packets);
		aw->resets_sent = LOAD(resets_sent[0]) + LOAD(resets_sent[1]);
		aw->resets_failed = LOAD(resets_failed);
		aw->notices_sent = LOAD(notices_sent);
		aw->multiseg_linearized = LOAD(multiseg);
		aw->multiseg_cut = LOAD(multiseg_cut);
#undef LOAD
	}
	s->cur.behaviour.active = behaviour_active(ctl);
	s->n_ports = 0;
	for (int r = 0; r < BWG_PORT_ROLE_MAX && r < BWG_API_PORTS; r++) {
		const struct bwg_port *pt = &ctl->ports->port[r];
		struct bwg_api_port *ap = &s->ports[s->n_ports++];
		memset(ap, 0, sizeof(*ap));
		snprintf(ap->role, sizeof(ap->role), "%s", bwg_port_role_names[r]);
		snprintf(ap->name, sizeof(ap->name), "%s", pt->name);
		snprintf(ap->driver, sizeof(ap->driver), "%s", pt->driver);
		ap->id = pt->id;
		ap->queues = ctl->ports->queues;
		ap->link_up = pt->link.link_status == RTE_ETH_LINK_UP;
		ap->rss = pt->rss;
		ap->speed_mbps = pt->link.link_speed;
		struct rte_eth_stats st;
		if (pt->started && rte_eth_stats_get(pt->id, &st) == 0) {
			ap->ipackets = st.ipackets, ap->opackets = st.opackets;
			ap->ibytes = st.ibytes, ap->obytes = st.obytes;
			ap->imissed = st.imissed, ap->ierrors = st.ierrors;
			ap->oerrors = st.oerrors, ap->rx_nombuf = st.rx_nombuf;
		}
		for (uint32_t i = 0; i < ctl->n; i++)
			ap->resets_sent += atomic_load_explicit(&ctl->lcores[i].pub.resets_sent[r],
								memory_order_relaxed);
	}
	bwg_stats_slots_rebase(&ctl->class_slots, s->cur.classes);
	bwg_stats_slots_rebase(&ctl->unit_slots, s->cur.units);
	const char *classes[BWG_CLASS_SLOTS], *units[BWG_UNIT_SLOTS];
	bwg_stats_slots_names(&ctl->class_slots, classes);
	bwg_stats_slots_names(&ctl->unit_slots, units);
	bwg_api_snapshot_names(s, classes, ctl->class_slots.n, units, ctl->unit_slots.n);
	s->app_names = ctl->app_names;
	s->policy_version = p->version;
	s->n_rules = bwg_setup_rule_names(p, s->rule_names);
	s->policy_loaded_at = p->loaded_at;
	snprintf(s->policy_file, sizeof(s->policy_file), "%s", p->conf->path);
	s->reloads_ok = ctl->reloads_ok;
	s->reloads_failed = ctl->reloads_failed;
	s->events_written = ctl->events_written;
	s->events_write_errors = ctl->events_write_errors;
	bwg_ipfix_stats(ctl->ipfix, &s->ipfix);
	s->events_failed = ctl->events_failed_lines;
	s->events_failing = ctl->events_failing;
	s->events_on = p->conf->events_file != NULL;
	s->tsc_hz = rte_get_tsc_hz();
}

/*
 * Write the quota usage to the policy's state_file, if it names one (every few seconds
 * and at shut-down). A failure is logged once until a write works again; the gate goes
 * on, counting in memory.
 */
void
bwg_control_quotas_save(struct bwg_control *ctl)
{
	const struct bwg_config *c = ctl->policy->conf;
	if (!c->state_file || !ctl->quotas || !bwg_quotas_in_use(c))
		return;
	char err[PATH_MAX + 128];
	int n = bwg_quotas_save(ctl->quotas, c, c->state_file, unix_now(), err, sizeof(err));
	if (n < 0 && !ctl->quota_save_failing)
		BWG_APP_LOG("%s: quota usage not saved; trying again every few seconds", err);
	else if (n >= 0 && ctl->quota_save_failing)
		BWG_APP_LOG("state_file %s: quota usage saved again", c->state_file);
	ctl->quota_save_failing = n < 0;
}

/* Build the back snapshot and publish it. */
static void
snapshot_publish(struct bwg_control *ctl, uint64_t now_ns)
{
	int back = ctl->front == 0 ? 1 : 0;
	snapshot_fill(ctl, &ctl->snaps[back], now_ns);
	bwg_http_publish_snapshot(&ctl->http, &ctl->snaps[back]);
	ctl->front = back;
	ctl->snap_mono_ns = now_ns;
}

/*
 * The final document: the snapshot the API would serve now, by the same functions. The
 * workers are stopped and their flows ended (every flow folded in): their own counters
 * are final, with rx, tx and drops as they published them, TX drained.
 */
json_t *
bwg_control_stats_json(struct bwg_control *ctl)
{
	uint64_t now = bwg_control_now_ns();
	for (uint32_t i = 0; i < ctl->n; i++) {
		struct bwg_stats *ws = &ctl->wstats[i];
		struct bwg_stats_totals t;
		bwg_stats_clear(ws);
		bwg_stats_add(ws, &ctl->lcores[i].w->stats);
		bwg_dp_totals_read(&ctl->lcores[i], &t);
		bwg_stats_totals_put(ws->cnt, ws->drops, &t);
	}
	int back = ctl->front == 0 ? 1 : 0;
	snapshot_fill(ctl, &ctl->snaps[back], now);
	return bwg_api_stats_json(&ctl->snaps[back]);
}

/* ---- policy replacement ------------------------------------------------------------------ */

static bool
str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* The first key sized or fixed at start-up that `n` changes, or NULL. */
static const char *
fixed_key_changed(const struct bwg_config *o, const struct bwg_config *n)
{
	if (o->flow_capacity != n->flow_capacity)
		return "flows.capacity";
	if (o->flow_full_drop != n->flow_full_drop)
		return "flows.on_full";
	if (o->hosts_capacity != n->hosts_capacity)
		return "flows.hosts_capacity";
	if (o->timeout_tcp != n->timeout_tcp || o->timeout_tcp_closed != n->timeout_tcp_closed ||
	    o->timeout_udp != n->timeout_udp || o->timeout_other != n->timeout_other ||
	    o->timeout_tcp_opening != n->timeout_tcp_opening ||
	    o->timeout_udp_unreplied != n->timeout_udp_unreplied)
		return "flows.timeouts";
	if (memcmp(o->dpi_max_pkts, n->dpi_max_pkts, sizeof(o->dpi_max_pkts)) != 0)
		return "dpi.max_packets";
	if (o->dpi_max_in_progress != n->dpi_max_in_progress)
		return "dpi.max_in_progress";
	if (str_differs(o->protocols_file, n->protocols_file))
		return "dpi.protocols_file";
	if (str_differs(o->categories_file, n->categories_file))
		return "dpi.categories_file";
	if (o->non_ip_drop != n->non_ip_drop || o->malformed_drop != n->malformed_drop ||
	    o->sniff_ip != n->sniff_ip || o->unmatched_fragments_drop != n->unmatched_fragments_drop ||
	    o->reset_interval != n->reset_interval || o->reset_rate != n->reset_rate)
		return "packets";
	if (str_differs(o->port_inside, n->port_inside) ||
	    str_differs(o->port_outside, n->port_outside) ||
	    o->rx_descriptors != n->rx_descriptors || o->tx_descriptors != n->tx_descriptors ||
	    o->mbufs != n->mbufs || o->mtu != n->mtu || o->stall_timeout_ms != n->stall_timeout_ms)
		return "ports";
	if (o->workers != n->workers)
		return "workers";
	if (str_differs(o->api_listen, n->api_listen) ||
	    str_differs(o->api_token_file, n->api_token_file))
		return "api";
	if (str_differs(o->events_file, n->events_file))
		return "events.file";
	if (str_differs(o->history_dir, n->history_dir) || o->history_keep != n->history_keep)
		return "history";
	if (str_differs(o->lists_dir, n->lists_dir))
		return "lists_dir";
	if (o->dns_cache_entries != n->dns_cache_entries || o->dns_max_ttl != n->dns_max_ttl)
		return "dns";
	if (o->ipfix_collectors.n != n->ipfix_collectors.n ||
	    o->ipfix_enterprise != n->ipfix_enterprise || o->ipfix_domain != n->ipfix_domain ||
	    o->ipfix_active_timeout != n->ipfix_active_timeout ||
	    o->ipfix_template_refresh != n->ipfix_template_refresh ||
	    o->ipfix_tcp_queue != n->ipfix_tcp_queue)
		return "ipfix";
	for (uint32_t i = 0; i < o->ipfix_collectors.n; i++)
		if (strcmp(o->ipfix_collectors.v[i], n->ipfix_collectors.v[i]) != 0)
			return "ipfix.collectors";
	if (o->behaviour_hosts != n->behaviour_hosts || o->behaviour_window != n->behaviour_window ||
	    o->behaviour_tag_for != n->behaviour_tag_for ||
	    o->behaviour_peers != n->behaviour_peers ||
	    o->behaviour_tcp_udp_peers != n->behaviour_tcp_udp_peers ||
	    o->behaviour_port_peers != n->behaviour_port_peers)
		return "behaviour";
	if (o->users_hosts != n->users_hosts)
		return "users";
	return NULL;
}

/* Free replaced policies no worker reads any more. */
static void
retired_collect(struct bwg_control *ctl)
{
	uint32_t seen = UINT32_MAX;
	for (uint32_t i = 0; i < ctl->n; i++) {
		uint32_t v = atomic_load_explicit(&ctl->lcores[i].policy_seen, memory_order_acquire);
		if (v < seen)
			seen = v;
	}
	uint32_t k = 0;
	for (uint32_t i = 0; i < ctl->n_retired; i++) {
		if (ctl->retired[i].until <= seen)
			bwg_policy_free(ctl->retired[i].policy);
		else
			ctl->retired[k++] = ctl->retired[i];
	}
	ctl->n_retired = k;
}

/* The audit log's record of a policy change: who asked, how, and what came of it. */
static void
policy_event(struct bwg_control *ctl, const struct bwg_policy_change *ch, bool ok,
	     const char *msg)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	const struct bwg_api_history_entry *cur =
	    ctl->history_on && ctl->history.current ? bwg_api_history_find(&ctl->history,
									   ctl->history.current)
						    : NULL;
	json_t *o = json_pack("{s:s, s:f, s:s, s:s, s:s?, s:s, s:i, s:s}", "event", "policy",
			      "time", (double)ts.tv_sec + (double)(ts.tv_nsec / 1000) / 1e6,
			      "result", ok ? "accepted" : "refused", "how", ch->how, "client",
			      ch->client, "file", ctl->config_path, "policy_version",
			      (int)ctl->policy->version, "message", msg);
	if (o && ok && cur)
		json_object_set_new(o, "history_version", json_integer(cur->version));
	if (o && ch->rollback)
		json_object_set_new(o, "rollback_to", json_integer(ch->rollback));
	events_put(ctl, o);
}

unsigned
bwg_control_policy_replace(struct bwg_control *ctl, const struct bwg_policy_change *ch,
			   char *msg, size_t msglen)
{
	const struct bwg_config *old = ctl->policy->conf;
	char source[PATH_MAX + 64];
	if (ch->rollback)
		snprintf(source, sizeof(source), "rollback to version %u", ch->rollback);
	else if (ch->body)
		snprintf(source, sizeof(source), "%s", ch->how);
	else
		snprintf(source, sizeof(source), "file %s (%s)", ctl->config_path, ch->how);
	char err[BWG_CONFIG_ERR_MAX + 256];
	struct bwg_config *conf;
	unsigned status = 400;
	int rc;
	retired_collect(ctl);
	if (ctl->n_retired == BWG_CTL_RETIRED_MAX) {
		snprintf(msg, msglen, "%u replaced policies are still in use by workers: try again",
			 ctl->n_retired);
		policy_event(ctl, ch, false, msg);
		return 503;
	}
	if (ch->body)
		rc = bwg_config_parse(&conf, ch->body, ch->len, source, old->dir, err, sizeof(err));
	else
		rc = bwg_config_load(&conf, ctl->config_path, err, sizeof(err));
	if (rc < 0)
		goto bad;
	const char *key = fixed_key_changed(old, conf);
	if (key) {
		snprintf(err, sizeof(err), "%s: %s differs from the running config: it is fixed at "
			 "start-up, restart bwgate to change it", source, key);
		bwg_config_free(conf);
		goto bad;
	}
	struct bwg_policy *p;
	if (bwg_policy_compile(&p, conf, ctl->dpi, ctl->policy->version + 1, err, sizeof(err)) < 0)
		goto bad;
	if (slots_bind(ctl, p) < 0) {
		snprintf(err, sizeof(err), "%s: more class or unit names than counters can be kept "
			 "for while %u replaced policies are still in use (%d classes, %d units): "
			 "try again once the workers moved on, or restart bwgate", source,
			 ctl->n_retired, BWG_CLASS_SLOTS, BWG_UNIT_SLOTS);
		bwg_policy_free(p);
		goto bad;
	}
	/* A policy from the API becomes the config file's content: the next reload or SIGHUP
	 * re-reads it instead of silently going back to the old file. */
	if (ch->body) {
		char werr[PATH_MAX + 128];
		struct stat st;
		mode_t mode = stat(ctl->config_path, &st) == 0 ? (st.st_mode & 07777) : 0644;
		char *text = json_dumps(p->conf->root, JSON_INDENT(2) | BWG_JSON_REAL_FLAGS);
		if (!text || bwg_file_replace(ctl->config_path, text, strlen(text), mode, werr,
					      sizeof(werr)) < 0) {
			snprintf(err, sizeof(err), "%s: accepted, but it cannot be written back to the "
				 "config file (%s), so it is not put in force: a reload would undo it",
				 source, text ? werr : "out of memory");
			free(text);
			bwg_policy_free(p);
			status = 500;
			goto bad;
		}
		free(text);
	}
	/* Publish: workers adopt it at their next housekeeping tick; the HTTP thread at once.
	 * The old one is freed once every worker acknowledged the new version. */
	for (uint32_t i = 0; i < ctl->n; i++)
		atomic_store_explicit(&ctl->lcores[i].policy_next, p, memory_order_release);
	if (ctl->http_on)
		bwg_http_publish_policy(&ctl->http, p);
	ctl->retired[ctl->n_retired++] = (struct bwg_ctl_retired){ctl->policy, p->version};
	ctl->policy = p;
	ctl->reloads_ok++;
	history_record(ctl, p, source, ch->client);
	snprintf(msg, msglen, "policy version %u from %s: %u classes, %u units, %u rules%s",
		 p->version, source, p->n_classes, p->n_units - 1, p->n_rules,
		 ch->body ? ", written to the config file" : "");
	if (ctl->history_on && ctl->history.current)
		snprintf(msg + strlen(msg), msglen - strlen(msg), "; history version %u",
			 ctl->history.current);
	BWG_APP_LOG("%s%s%s", msg, ch->client ? "; asked by " : "", ch->client ? ch->client : "");
	policy_event(ctl, ch, true, msg);
	return 200;
bad:
	ctl->reloads_failed++;
	snprintf(msg, msglen, "%s", err);
	BWG_APP_LOG("policy not replaced, version %u stays in force: %s", ctl->policy->version, err);
	policy_event(ctl, ch, false, msg);
	return status;
}

/* ---- HTTP API: the flow list -------------------------------------------------------------- */

static uint64_t
realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Ask every worker for its largest flows (answered at their housekeeping ticks). */
static void
flows_ask(struct bwg_control *ctl, uint64_t now_ns)
{
	ctl->flows_seq++;
	ctl->flows_asking = true;
	ctl->flows_asked_ns = now_ns;
	ctl->flows_asked_real = realtime_ns();
	for (uint32_t i = 0; i < ctl->n; i++)
		atomic_store_explicit(&ctl->lcores[i].flows.req, ctl->flows_seq,
				      memory_order_release);
}

/* Merge the workers' lists into the back buffer and publish it: once every worker
 * answered, or with the ones that did when the period is over. */
static void
flows_collect(struct bwg_control *ctl, uint64_t now_ns)
{
	uint32_t answered = 0;
	for (uint32_t i = 0; i < ctl->n; i++)
		answered += atomic_load_explicit(&ctl->lcores[i].flows.done,
						 memory_order_acquire) == ctl->flows_seq;
	if (answered < ctl->n && now_ns - ctl->flows_asked_ns < BWG_CTL_FLOWS_NS)
		return;
	int back = ctl->flows_front == 0 ? 1 : 0;
	struct bwg_api_flows *fl = &ctl->flow_lists[back];
	fl->n = 0;
	fl->flows_active = 0;
	for (uint32_t i = 0; i < ctl->n; i++) {
		const struct bwg_dp_flows *wf = &ctl->lcores[i].flows;
		fl->flows_active += ctl->lcores[i].w->stats.flows_active;
		if (atomic_load_explicit(&wf->done, memory_order_acquire) != ctl->flows_seq)
			continue;
		uint32_t k = wf->n <= fl->cap - fl->n ? wf->n : fl->cap - fl->n;
		memcpy(fl->views + fl->n, wf->views, k * sizeof(*fl->views));
		fl->n += k;
	}
	bwg_api_flows_sort(fl);
	fl->seq = ctl->flows_seq;
	fl->asked_ns = ctl->flows_asked_real;
	fl->as_of_ns = realtime_ns();
	fl->workers = ctl->n;
	fl->workers_answered = answered;
	bwg_http_publish_flows(&ctl->http, fl);
	ctl->flows_front = back;
	ctl->flows_asking = false;
}

/*
 * Ask the workers for their counters every BWG_CTL_SNAPSHOT_NS, take each answer as it
 * comes, and publish a snapshot once all answered (or, should one be stalled, when the
 * period is over, with its last answer). The first snapshot, before any answer, is of
 * zeroes.
 */
static void
stats_collect(struct bwg_control *ctl, uint64_t now_ns)
{
	if (ctl->front < 0)
		snapshot_publish(ctl, now_ns);
	if (!ctl->stats_asking) {
		if (now_ns - ctl->stats_asked_ns < BWG_CTL_SNAPSHOT_NS)
			return;
		ctl->stats_seq++;
		ctl->stats_asking = true;
		ctl->stats_asked_ns = now_ns;
		for (uint32_t i = 0; i < ctl->n; i++)
			atomic_store_explicit(&ctl->lcores[i].stats_req, ctl->stats_seq,
					      memory_order_release);
	}
	/* Each worker's per-user deltas, once per publication that closed them. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t real = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	for (uint32_t i = 0; i < ctl->n; i++) {
		const struct bwg_user_deltas *d = bwg_worker_users_full(ctl->lcores[i].w);
		if (!d)
			continue;
		pthread_mutex_lock(&ctl->http.lock);
		bwg_users_merge(&ctl->users, d, real);
		pthread_mutex_unlock(&ctl->http.lock);
		bwg_worker_users_release(ctl->lcores[i].w);
	}
	uint32_t answered = 0;
	for (uint32_t i = 0; i < ctl->n; i++) {
		const struct bwg_dp_lcore *lc = &ctl->lcores[i];
		if (atomic_load_explicit(&lc->stats_done, memory_order_acquire) != ctl->stats_seq)
			continue;
		answered++;
		bwg_stats_clear(&ctl->wstats[i]);
		bwg_stats_add(&ctl->wstats[i], &lc->stats);
	}
	if (answered < ctl->n && now_ns - ctl->stats_asked_ns < BWG_CTL_SNAPSHOT_NS)
		return;
	snapshot_publish(ctl, now_ns);
	ctl->stats_asking = false;
	/* The users' rates: over what the publications of this round delivered. */
	pthread_mutex_lock(&ctl->http.lock);
	bwg_users_interval(&ctl->users, now_ns - ctl->users_interval_ns);
	ctl->users.deltas_lost = ctl->snaps[ctl->front].cur.cnt[BWG_CNT_USER_DELTAS_LOST];
	pthread_mutex_unlock(&ctl->http.lock);
	ctl->users_interval_ns = now_ns;
}

void
bwg_control_api_tick(struct bwg_control *ctl, uint64_t now_ns)
{
	if (ctl->n_retired)
		retired_collect(ctl);
	if (!ctl->http_on) {
		char err[PATH_MAX + 128];
		if (ctl->api_retry_ns && now_ns >= ctl->api_retry_ns)
			api_start(ctl, err, sizeof(err));
		return;
	}
	stats_collect(ctl, now_ns);
	if (ctl->flows_asking)
		flows_collect(ctl, now_ns);
	else if (ctl->flows_seq == 0 || now_ns - ctl->flows_asked_ns >= BWG_CTL_FLOWS_NS)
		flows_ask(ctl, now_ns);
	struct bwg_http_req *r = bwg_http_pending(&ctl->http);
	if (!r)
		return;
	struct bwg_policy_change ch = {.how = "POST /api/v1/reload", .client = r->client};
	if (r->kind == BWG_API_WRITE_POLICY) {
		ch.how = "PUT /api/v1/policy";
		ch.body = r->body;
		ch.len = r->len;
	} else if (r->kind == BWG_API_WRITE_ROLLBACK) {
		const struct bwg_api_history_entry *e =
		    bwg_api_history_find(&ctl->history, r->rollback);
		ch.how = "POST /api/v1/policy/rollback";
		ch.rollback = r->rollback;
		ch.body = e ? e->policy : NULL;
		ch.len = e ? strlen(e->policy) : 0;
	}
	if (r->kind == BWG_API_WRITE_ROLLBACK && !ch.body) {
		r->status = 404;
		snprintf(r->msg, sizeof(r->msg), "version %u is no longer kept", r->rollback);
	} else {
		r->status = bwg_control_policy_replace(ctl, &ch, r->msg, sizeof(r->msg));
	}
	r->version = ctl->policy->version;
	bwg_http_answer(&ctl->http, r);
}
