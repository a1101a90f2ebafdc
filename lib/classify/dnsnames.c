/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Names learned from DNS (see bwg_dnsnames.h).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_dnsnames.h"

struct bwg_dnsnames {
	struct bwg_dnsnames_conf conf;
};

int
bwg_dnsnames_create(struct bwg_dnsnames **out, const struct bwg_dnsnames_conf *conf, char *err,
		    size_t errlen)
{
	(void)err, (void)errlen;
	struct bwg_dnsnames *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->conf = *conf;
	*out = n;
	return 0;
}

void
bwg_dnsnames_destroy(struct bwg_dnsnames *n)
{
	free(n);
}

void
bwg_dnsnames_learn(struct bwg_dnsnames *n, const uint8_t *msg, uint32_t len, bool tcp,
		   uint64_t now_ns, struct bwg_dnsnames_counters *cnt)
{
	(void)n, (void)msg, (void)len, (void)tcp, (void)now_ns, (void)cnt;
}

bool
bwg_dnsnames_lookup(const struct bwg_dnsnames *n, uint8_t family, const uint8_t *addr,
		    uint64_t now_ns, char *buf, size_t len)
{
	(void)n, (void)family, (void)addr, (void)now_ns, (void)buf, (void)len;
	return false;
}

size_t
bwg_dnsnames_bytes(const struct bwg_dnsnames *n)
{
	return sizeof(*n);
}
