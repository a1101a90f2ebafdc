/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_CONFIG_H
#define BWG_CONFIG_H

/*
 * Configuration: the JSON file (doc/configuration.md) read with jansson and validated
 * completely before anything uses it. Unknown keys, wrong types and out-of-range values
 * are errors; a syntax error is reported as FILE:LINE:COL, a field error by the JSON
 * path of the field and the fault: `bwgate.json: rules[3].limit.rate: unknown unit
 * "Mbs" (use bit, Kbit, Mbit, Gbit)`.
 *
 * Names that only nDPI can vouch for (applications, categories) are checked when the
 * policy is compiled against a detection module (bwg_policy.h).
 *
 * Control thread only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define BWG_CONFIG_ERR_MAX 512
#define BWG_NAME_MAX 64
#define BWG_CLASS_MAX 32 /* including the built-in "unknown" */
#define BWG_UNIT_MAX 255 /* not counting "no unit" */
#define BWG_RULE_MAX 1024
#define BWG_SCHEDULE_MAX 32
#define BWG_NOTICE_CONTACT_MAX 200 /* bytes of notice.contact */

enum bwg_action {
	BWG_ACTION_ALLOW,
	BWG_ACTION_BLOCK,
	BWG_ACTION_LIMIT,
	BWG_ACTION_MAX,
};
extern const char *const bwg_action_names[BWG_ACTION_MAX];

enum bwg_quota_period {
	BWG_PERIOD_DAY,  /* from local midnight in the config's time zone */
	BWG_PERIOD_WEEK, /* from Monday 00:00 local */
	BWG_PERIOD_MAX,
};
extern const char *const bwg_period_names[BWG_PERIOD_MAX];

enum bwg_limit_scope {
	BWG_SCOPE_AGGREGATE,
	BWG_SCOPE_PER_HOST,
	BWG_SCOPE_MAX,
};

struct bwg_cidr {
	uint8_t family; /* 4 or 6 */
	uint8_t len;    /* prefix length */
	uint8_t addr[16];
};

struct bwg_conf_unit {
	char *name;
	struct bwg_cidr *cidrs;
	uint32_t n_cidrs;
	bool has_flows_per_host_max; /* else flows.per_host_max applies */
	uint32_t flows_per_host_max; /* concurrent flows a client of the unit opens; 0: no cap */
};

/* A list of strings with the JSON path of each, for error messages at compile time. */
struct bwg_strlist {
	char **v;
	char **where; /* "classes.p2p.apps[2]" or "hosts/stock.txt:12" */
	uint32_t n;
};

struct bwg_conf_class {
	char *name;
	struct bwg_strlist apps;
	struct bwg_strlist categories;
	struct bwg_strlist hosts;         /* inline host patterns, checked and lower-cased */
	struct bwg_strlist host_files;    /* domain list files, as written (lists_dir) */
	struct bwg_strlist addresses;     /* inline CIDRs, checked */
	struct bwg_strlist address_files; /* address list files, as written (lists_dir) */
	struct bwg_strlist detectors;     /* bwgate detector names (checked when compiled) */
	bool socket_affinity; /* a UDP socket's next flows take the class of one recognised */
};

struct bwg_conf_window {
	uint8_t days;      /* bit 0 = Monday ... bit 6 = Sunday */
	uint16_t from_min; /* minutes since local midnight, inclusive */
	uint16_t to_min;   /* exclusive, up to 1440 */
};

struct bwg_conf_schedule {
	char *name;
	struct bwg_conf_window *windows;
	uint32_t n_windows;
};

struct bwg_conf_rule {
	char *name;
	uint16_t *units; /* unit indexes (1-based, as in bwg_conf.units[i - 1]) */
	uint32_t n_units;
	uint32_t classes; /* bitmask of class ids (0 = unknown) */
	bool has_classes;
	struct bwg_strlist apps;
	struct bwg_strlist hosts;
	int schedule; /* index into schedules, -1 for always */
	enum bwg_action action;
	uint64_t rate_bps;     /* limit only */
	uint64_t burst_bytes;  /* limit only */
	bool burst_default;    /* burst not given: derived from the rate */
	enum bwg_limit_scope scope;
	bool reset;
	bool log;
	bool monitor; /* "mode": "monitor": counts and logs what it would do, forwards */
	bool disabled; /* "enabled": false: checked, never matches (a worked example) */
	bool notice;  /* block: answer a plain-HTTP request with a 403 page (bwg_policy.h) */
	/* quota: per user (inside address) per period; past it, block or the then-limit */
	bool has_quota;
	enum bwg_quota_period quota_period;
	uint64_t quota_bytes;   /* 0: no byte quota */
	uint32_t quota_minutes; /* active minutes; 0: no minute quota */
	bool quota_block;       /* then: "block"; else held to the rate below, per user */
	uint64_t then_rate_bps;
	uint64_t then_burst_bytes;
	/* penalty lane: a user above pen_above_bps for pen_for minutes in a row is held to
	 * pen_rate_bps for pen_lasts minutes */
	bool has_penalty;
	uint64_t pen_above_bps;
	uint32_t pen_for, pen_lasts; /* minutes */
	uint64_t pen_rate_bps, pen_burst_bytes;
};

struct bwg_config {
	char *path; /* as given */
	char *dir;  /* folder relative paths in the config are resolved against */
	char *lists_dir; /* folder host and address list files are read from (and only there) */
	json_t *root;

	char *timezone;
	enum bwg_action default_action;

	uint32_t flow_capacity;
	bool flow_full_drop;
	uint32_t hosts_capacity;
	uint32_t timeout_tcp, timeout_tcp_closed, timeout_udp, timeout_other; /* seconds */
	uint32_t timeout_tcp_opening;  /* TCP before the handshake completed */
	uint32_t timeout_udp_unreplied; /* UDP the server has not answered */
	uint32_t flows_per_host_max;   /* concurrent flows one client opens; 0: no cap */

	uint32_t dpi_max_pkts[3]; /* tcp, udp, other */
	uint32_t dpi_max_in_progress;
	char *protocols_file;  /* resolved, or NULL */
	char *categories_file; /* resolved, or NULL */

	/* recognition (lib/classify) */
	uint32_t dns_cache_entries; /* names learned from DNS: addresses kept (0: off) */
	uint32_t dns_max_ttl;       /* seconds a learned name lives at most */
	uint32_t behaviour_hosts;   /* inside hosts whose behaviour is followed (0: off) */
	uint32_t behaviour_window;  /* seconds of evidence weighed */
	uint32_t behaviour_tag_for; /* seconds a P2P tag lasts */
	uint32_t behaviour_peers, behaviour_tcp_udp_peers, behaviour_port_peers; /* 0: off */
	uint32_t users_hosts; /* per-user accounting: inside hosts kept (0: off) */

	bool non_ip_drop;
	bool malformed_drop;
	bool sniff_ip; /* packets.unknown_ethertype = "ip_by_version" */
	bool unmatched_fragments_drop; /* packets.unmatched_fragments = "drop" */
	uint32_t reset_interval;       /* seconds between reset pairs for one flow */
	uint32_t reset_rate;           /* reset pairs per second per worker */

	struct bwg_conf_unit *units;
	uint32_t n_units;
	struct bwg_conf_class *classes; /* [0] is the built-in "unknown" */
	uint32_t n_classes;
	struct bwg_conf_schedule *schedules;
	uint32_t n_schedules;
	struct bwg_conf_rule *rules;
	uint32_t n_rules;

	/* live appliance */
	char *port_inside;
	char *port_outside;
	uint32_t rx_descriptors; /* per RX queue */
	uint32_t tx_descriptors; /* per TX queue */
	uint32_t mbufs;          /* mempool size per socket; 0 = computed from the above */
	uint32_t mtu;            /* bytes of IP packet */
	uint32_t stall_timeout_ms; /* a worker loop that stands still this long is reported */
	uint32_t workers;
	char *api_listen;
	char *api_token_file;
	char *events_file;

	/* IPFIX flow export (lib/ipfix); no collectors: off */
	struct bwg_strlist ipfix_collectors; /* "udp://HOST:PORT", "tcp://HOST:PORT", checked */
	uint32_t ipfix_enterprise;           /* private enterprise number of bwgate's elements */
	uint32_t ipfix_domain;               /* observation domain id */
	uint32_t ipfix_active_timeout;       /* s between records of a long flow; 0: at its end only */
	uint32_t ipfix_template_refresh;     /* s between templates resent over UDP */
	uint64_t ipfix_tcp_queue;            /* bytes queued per TCP collector */
	char *notice_contact;  /* notice.contact: whom block pages tell users to ask */
	char *state_file;      /* quota usage kept across restarts (NULL: not kept) */
	char *history_dir;     /* accepted policies, numbered (NULL: not kept) */
	uint32_t history_keep; /* versions kept there */
};

/*
 * Read and validate `path`. On success *out holds the config (free with
 * bwg_config_free) and 0 is returned; on failure a negative errno and a message in err.
 */
int bwg_config_load(struct bwg_config **out, const char *path, char *err, size_t errlen);

/* The same from JSON text; `name` labels messages, `dir` resolves relative paths. */
int bwg_config_parse(struct bwg_config **out, const char *text, size_t len, const char *name,
		     const char *dir, char *err, size_t errlen);

void bwg_config_free(struct bwg_config *c);

/*
 * Open a file an operator names the way every such file is read: without waiting (a
 * FIFO or a device cannot hang start-up, --check or a reload), a regular file only, at
 * most max_bytes. Returns the descriptor, or -errno with "PREFIXPATH: fault" in err
 * (prefix such as "api.token_file: ", may be ""), never quoting the file's content.
 */
int bwg_config_open_regular(const char *path, unsigned long long max_bytes, const char *prefix,
			    char *err, size_t errlen);

/*
 * Replace path with text the way every file the gate writes is replaced: a temporary
 * file beside it (never through a symbolic link), synced, renamed over it, the folder
 * synced. Returns 0, or -errno with "PATH: fault" in err.
 */
int bwg_file_replace(const char *path, const char *text, size_t len, mode_t mode, char *err,
		     size_t errlen);

/*
 * A fault of a name the config gives at `where`, found after loading (an nDPI name, a
 * host already in another class): `CONFIG: where: "name" msg` into err. Returns -EINVAL.
 */
int bwg_config_name_error(char *err, size_t errlen, const struct bwg_config *c, const char *where,
			  const char *msg, const char *name);

/* "2Mbit" -> 2000000 bit/s. Returns 0 or -EINVAL with the fault in err. */
int bwg_config_parse_rate(const char *s, uint64_t *bps, char *err, size_t errlen);
/* "64KB" -> 65536 bytes. */
int bwg_config_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen);
/* A flow collector: "udp://HOST:PORT" or "tcp://HOST:PORT", HOST a name, an IPv4
 * address or an IPv6 address in brackets. */
enum bwg_transport {
	BWG_TRANSPORT_UDP,
	BWG_TRANSPORT_TCP,
	BWG_TRANSPORT_MAX,
};
#define BWG_COLLECTORS_MAX 8
struct bwg_collector_url {
	enum bwg_transport transport;
	char host[254]; /* without brackets */
	char port[6];   /* 1..65535, as text */
};
/* Returns 0 or -EINVAL with the fault in err. */
int bwg_config_parse_collector(const char *s, struct bwg_collector_url *u, char *err,
			       size_t errlen);

/* "10.0.0.0/8", "2001:db8::/32", "10.1.2.3" */
int bwg_config_parse_cidr(const char *s, struct bwg_cidr *c, char *err, size_t errlen);
#define BWG_HOST_NAME_MAX 253 /* a DNS name, as text */

/*
 * Bytes a frame of an MTU-sized IP packet occupies as the meters count it: the
 * Ethernet header and one VLAN tag (the frame check sequence is not counted). A limit's
 * burst must hold one such frame, or no frame of that size would ever conform.
 */
#define BWG_L2_OVERHEAD 18
static inline uint32_t
bwg_config_max_frame(const struct bwg_config *c)
{
	return c->mtu + BWG_L2_OVERHEAD;
}

/*
 * Check and normalise one host pattern in place: ASCII lower case, a Unicode name to its
 * IDNA `xn--` form (what SNI and Host carry), a leading "*." kept. `cap` is the buffer's
 * size. On a fault writes the reason, without quoting the pattern, to why; -EINVAL.
 */
int bwg_config_host_normalise(char *s, size_t cap, char *why, size_t whylen);
/* The same for a pattern written in the config: the message quotes it. */
int bwg_config_check_host(char *s, char *err, size_t errlen);

/*
 * The names among cands[n] an operator most likely meant by `name`: equal but for case,
 * else within two edits; written as `"A", "B"` (at most three) into out. Returns how
 * many (0: nothing close).
 */
int bwg_config_suggest(const char *name, const char *const *cands, uint32_t n, char *out,
		       size_t len);

#endif
