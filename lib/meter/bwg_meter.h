/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_METER_H
#define BWG_METER_H

/*
 * Token-bucket policer for `limit` rules.
 *
 * The operator's units ("2Mbit", "64KB") are turned into bucket parameters once, at
 * config time (bwg_config_parse_rate/size); the hot path is integer arithmetic on the
 * caller's clock in nanoseconds (packet timestamps offline, TSC live). Tokens are kept
 * in bit-nanoseconds so that any rate from 8 Kbit/s to 400 Gbit/s refills exactly, with
 * no rounding drift over long windows.
 *
 * A meter has a single writer: the worker that owns it.
 */

#include <stdint.h>

#define BWG_METER_SCALE 1000000000ull /* token units per bit */

struct bwg_meter {
	uint64_t tokens;   /* bit-ns available */
	uint64_t cap;      /* bucket size in bit-ns */
	uint64_t rate_bps; /* refill: bit-ns per ns == bits per second */
	uint64_t last_ns;
};

/* Start full at `now_ns`. burst_bytes is at most 1 GiB (cap < 2^64). */
void bwg_meter_init(struct bwg_meter *m, uint64_t rate_bps, uint64_t burst_bytes,
		    uint64_t now_ns);

/* ---- inline implementation (hot path) -------------------------------------------- */

/*
 * Charge a frame of `bytes` at `now_ns`. Returns 1 when it conforms (and takes the
 * tokens), 0 when it exceeds the rate (nothing taken). A clock that steps back is
 * treated as no time passing.
 */
static inline int
bwg_meter_take(struct bwg_meter *m, uint64_t now_ns, uint32_t bytes)
{
	if (now_ns > m->last_ns) {
		uint64_t dt = now_ns - m->last_ns;
		uint64_t room = m->cap - m->tokens;
		/* dt * rate may overflow; it cannot when it is below room / rate. */
		if (dt >= room / m->rate_bps)
			m->tokens = m->cap;
		else
			m->tokens += dt * m->rate_bps;
		m->last_ns = now_ns;
	}
	uint64_t cost = (uint64_t)bytes * 8 * BWG_METER_SCALE;
	if (cost > m->tokens)
		return 0;
	m->tokens -= cost;
	return 1;
}

#endif
