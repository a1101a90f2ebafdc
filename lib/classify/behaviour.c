/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host behaviour (see bwg_behaviour.h): the "p2p_behaviour" detector.
 */

#include <errno.h>
#include <stdlib.h>

#include "bwg_behaviour.h"
#include "bwg_classify.h"

const struct bwg_detector bwg_det_p2p_behaviour = {
	.name = "p2p_behaviour",
	.rule = "the inside host behaves as a P2P peer (many external peers on high ports with "
		"no DNS name, TCP and UDP to the same peers, one local port for many peers)",
	.source = BWG_SRC_BEHAVIOUR,
	.protos = BWG_DET_TCP | BWG_DET_UDP,
	.packet = NULL,
};

struct bwg_behaviour {
	struct bwg_behaviour_conf conf;
};

int
bwg_behaviour_create(struct bwg_behaviour **out, const struct bwg_behaviour_conf *conf,
		     char *err, size_t errlen)
{
	(void)err, (void)errlen;
	struct bwg_behaviour *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->conf = *conf;
	*out = b;
	return 0;
}

void
bwg_behaviour_destroy(struct bwg_behaviour *b)
{
	free(b);
}

void
bwg_behaviour_flow(struct bwg_behaviour *b, const struct bwg_behaviour_flow *f, uint64_t now_ns)
{
	(void)b, (void)f, (void)now_ns;
}

bool
bwg_behaviour_tagged(const struct bwg_behaviour *b, uint8_t family, const uint8_t *host,
		     uint64_t now_ns)
{
	(void)b, (void)family, (void)host, (void)now_ns;
	return false;
}
