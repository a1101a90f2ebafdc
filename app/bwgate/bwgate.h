/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_APP_BWGATE_H
#define BWG_APP_BWGATE_H

/* What the appliance's modules share: sizes and the control thread's log line. */

#include <stdio.h>

#define BWG_BURST 32 /* frames per RX burst and per TX buffer */

/* Control thread only: workers never log. */
#define BWG_APP_LOG(...)                                                                           \
	do {                                                                                       \
		fprintf(stderr, "bwgate: " __VA_ARGS__);                                           \
		fputc('\n', stderr);                                                               \
	} while (0)

#endif
