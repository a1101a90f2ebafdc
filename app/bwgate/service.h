/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_APP_SERVICE_H
#define BWG_APP_SERVICE_H

/* systemd's notification protocol (sd_notify): readiness, status, watchdog. */

#include <stdbool.h>
#include <stdint.h>

/* Read WatchdogSec= from the environment systemd set (WATCHDOG_USEC, WATCHDOG_PID). */
void bwg_service_init(void);
/* sd_notify one message, e.g. "READY=1\nSTATUS=forwarding ...". */
void bwg_service_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Feed the watchdog when `healthy` (every worker moves) and half its period passed.
 * Returns true when a ping was sent. */
bool bwg_service_watchdog(bool healthy, uint64_t now_ns);
/* WatchdogSec= in ns, 0 when off. */
uint64_t bwg_service_watchdog_ns(void);

#endif
