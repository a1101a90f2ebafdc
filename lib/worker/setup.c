/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Start-up shared by bwgate and bwgate-pcap (control thread).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bwg_hash.h"
#include "bwg_setup.h"

int
bwg_setup_dpi(const struct bwg_config *c, struct bwg_dpi **out, char *err, size_t errlen)
{
	struct bwg_dpi_conf dc = {
		.protocols_file = c->protocols_file,
		.categories_file = c->categories_file,
		.pool_size = c->dpi_max_in_progress,
		.max_pkts = {c->dpi_max_pkts[0], c->dpi_max_pkts[1], c->dpi_max_pkts[2]},
	};
	return bwg_dpi_create(out, &dc, err, errlen);
}

int
bwg_setup_load(const char *path, uint32_t version, struct bwg_policy **policy,
	       struct bwg_dpi **dpi, char *err, size_t errlen)
{
	/* Every table an outsider can fill is keyed: draw the secret before the first one. */
	int rc = bwg_hash_secret_init();
	if (rc < 0) {
		snprintf(err, errlen, "cannot draw the hash secret from the kernel: %s",
			 strerror(-rc));
		return rc;
	}
	struct bwg_config *conf;
	rc = bwg_config_load(&conf, path, err, errlen);
	if (rc < 0)
		return rc;
	char msg[512];
	if ((rc = bwg_setup_dpi(conf, dpi, msg, sizeof(msg))) < 0) {
		snprintf(err, errlen, "%s: %s", path, msg);
		bwg_config_free(conf);
		return rc;
	}
	if ((rc = bwg_policy_compile(policy, conf, *dpi, version, err, errlen)) < 0) {
		bwg_dpi_destroy(*dpi);
		*dpi = NULL;
	}
	return rc;
}

int
bwg_setup_shared(const struct bwg_config *c, struct bwg_dnsnames **names,
		 struct bwg_behaviour **behaviour, char *err, size_t errlen)
{
	*names = NULL;
	*behaviour = NULL;
	int rc = 0;
	if (c->dns_cache_entries) {
		struct bwg_dnsnames_conf dc = {.entries = c->dns_cache_entries,
					       .max_ttl = c->dns_max_ttl};
		rc = bwg_dnsnames_create(names, &dc, err, errlen);
	}
	if (rc == 0 && c->behaviour_hosts) {
		struct bwg_behaviour_conf bc = {
			.hosts = c->behaviour_hosts,
			.window = c->behaviour_window,
			.tag_for = c->behaviour_tag_for,
			.peers = c->behaviour_peers,
			.tcp_udp_peers = c->behaviour_tcp_udp_peers,
			.port_peers = c->behaviour_port_peers,
		};
		rc = bwg_behaviour_create(behaviour, &bc, err, errlen);
	}
	if (rc < 0) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory for the DNS names cache and host "
				 "behaviour tables");
		bwg_dnsnames_destroy(*names);
		*names = NULL;
	}
	return rc;
}

void
bwg_setup_stats_names(struct bwg_stats_names *names, const struct bwg_policy *p,
		      const struct bwg_dpi *dpi, const char **apps)
{
	uint32_t n = bwg_dpi_app_count(dpi);
	for (uint32_t i = 0; i < n; i++)
		apps[i] = bwg_dpi_app_name(dpi, (uint16_t)i);
	names->classes = p->class_names;
	names->n_classes = p->n_classes;
	names->units = p->unit_names;
	names->n_units = p->n_units;
	names->apps = apps;
	names->n_apps = n;
}

uint32_t
bwg_setup_rule_names(const struct bwg_policy *p, struct bwg_stats_rule_name *out)
{
	for (uint32_t i = 0; i <= p->n_rules; i++) {
		const struct bwg_conf_rule *r = p->rules[i].conf;
		snprintf(out[i].name, sizeof(out[i].name), "%s", r->name);
		out[i].action = (uint8_t)p->rules[i].action;
		out[i].monitor = r->monitor;
	}
	return p->n_rules + 1;
}
