/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_SETUP_H
#define BWG_SETUP_H

/*
 * Start-up shared by both front-ends (control thread): config file -> nDPI context ->
 * compiled policy, and the names a stats snapshot needs.
 */

#include <stddef.h>

#include "bwg_behaviour.h"
#include "bwg_dnsnames.h"
#include "bwg_dpi.h"
#include "bwg_policy.h"
#include "bwg_stats.h"

/* A detection context as the config asks for it (files, pool size, budgets). */
int bwg_setup_dpi(const struct bwg_config *conf, struct bwg_dpi **out, char *err, size_t errlen);

/*
 * Load and validate `path`, build a detection context for it and compile the policy
 * against it. On success the caller owns *policy and *dpi. Every failure is a bad
 * config (the message names the file and the place): front-ends exit 2.
 */
int bwg_setup_load(const char *path, uint32_t version, struct bwg_policy **policy,
		   struct bwg_dpi **dpi, char *err, size_t errlen);

/*
 * The recognisers every worker shares, sized by the config (NULL when it turns one
 * off): names learned from DNS and host behaviour. Returns 0 or -errno with a message.
 */
int bwg_setup_shared(const struct bwg_config *conf, struct bwg_dnsnames **names,
		     struct bwg_behaviour **behaviour, char *err, size_t errlen);

/*
 * Names for bwg_stats_json(): classes and units from the policy, apps from the DPI
 * context. `apps` must hold bwg_dpi_app_count(dpi) pointers.
 */
void bwg_setup_stats_names(struct bwg_stats_names *names, const struct bwg_policy *policy,
			   const struct bwg_dpi *dpi, const char **apps);

/*
 * The policy's rules as rules[] names them, the default last, into out (room for
 * BWG_RULE_MAX + 1). Returns how many: policy->n_rules + 1.
 */
uint32_t bwg_setup_rule_names(const struct bwg_policy *policy, struct bwg_stats_rule_name *out);

#endif
