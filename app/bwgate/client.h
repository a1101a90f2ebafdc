/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_APP_CLIENT_H
#define BWG_APP_CLIENT_H

#include "bwg_config.h"

/*
 * One authenticated request (no body) to the gate that runs config c, e.g. POST
 * /api/v1/reload, within timeout_s seconds. Returns 0 with the HTTP status and the
 * gate's message (or error) in msg, or -errno with what went wrong in msg.
 */
int bwg_client_request(const struct bwg_config *c, const char *method, const char *path,
		       double timeout_s, unsigned *status, char *msg, size_t msglen);

#endif
