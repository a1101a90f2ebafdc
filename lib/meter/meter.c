/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Token-bucket set-up; the per-packet part is inline in bwg_meter.h.
 * Called by the worker when a flow is first bound to a meter.
 */

#include "bwg_meter.h"

void
bwg_meter_init(struct bwg_meter *m, uint64_t rate_bps, uint64_t burst_bytes, uint64_t now_ns)
{
	m->rate_bps = rate_bps ? rate_bps : 1;
	m->cap = burst_bytes * 8 * BWG_METER_SCALE;
	m->tokens = m->cap;
	m->last_ns = now_ns;
}

void
bwg_meter_shared_init(struct bwg_meter_shared *m, uint64_t rate_bps, uint64_t burst_bytes)
{
	atomic_init(&m->tat[0], 0);
	atomic_init(&m->tat[1], 0);
	/* bytes per ns = rate / 8e9; 400 Gbit/s is 50 bytes/ns: 46 bits with the fraction. */
	m->bpn = (uint64_t)(((unsigned __int128)(rate_bps ? rate_bps : 1) << BWG_METER_BPN_SHIFT) /
			    8000000000ull);
	if (m->bpn == 0)
		m->bpn = 1;
	m->burst = burst_bytes;
}
