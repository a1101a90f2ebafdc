/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The gate under systemd (Type=notify, WatchdogSec=), control thread only.
 *
 * READY=1 is sent once the workers forward, not when the process merely exists, so a
 * unit ordered after bwgate.service starts after the gate passes traffic. The watchdog
 * is fed from the control loop, and only while every worker's loop counter moves
 * (bwg_control_stall_check): a worker stuck in a PMD or a lock stops the pings and
 * systemd restarts the gate, which is what an operator would have done. Without
 * NOTIFY_SOCKET (a shell, the tests) every call here does nothing.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-daemon.h>

#include "service.h"

static uint64_t watchdog_ns; /* ping period: half of WatchdogSec; 0 = off */
static uint64_t last_ping_ns;

void
bwg_service_init(void)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec)
		watchdog_ns = usec * 1000ull / 2;
}

void
bwg_service_notify(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sd_notify(0, msg);
}

bool
bwg_service_watchdog(bool healthy, uint64_t now_ns)
{
	if (!watchdog_ns || !healthy || now_ns - last_ping_ns < watchdog_ns)
		return false;
	sd_notify(0, "WATCHDOG=1");
	last_ping_ns = now_ns;
	return true;
}

uint64_t
bwg_service_watchdog_ns(void)
{
	return watchdog_ns * 2;
}
