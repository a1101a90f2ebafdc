/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_TELEMETRY_H
#define BWG_TELEMETRY_H

#include "http.h"

/*
 * Register the /bwgate/... commands with DPDK telemetry (dpdk-telemetry.py), serving
 * the snapshots published to `h`. Call once, after the HTTP API started.
 */
void bwg_telemetry_register(struct bwg_http *h);
/*
 * Detach the commands from `h` (they answer {} from then on); returns once no command
 * reads it any more. Call before the HTTP API stops: DPDK 22.11 keeps the commands
 * registered until the process exits.
 */
void bwg_telemetry_unregister(void);

#endif
