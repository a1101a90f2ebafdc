/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_TELEMETRY_H
#define BWG_TELEMETRY_H

#include "http.h"

/*
 * Register the /bwgate/... commands with DPDK telemetry (dpdk-telemetry.py), serving
 * the snapshots published to `h`. Call once, after the HTTP API started.
 */
void bwg_telemetry_register(struct bwg_http *h);

#endif
