/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bwgate --reload: ask the running gate for a reload through its own API and report the
 * gate's answer, so `systemctl reload bwgate` fails when the new policy is refused (a
 * SIGHUP cannot say). The address and the token are the config's (api.listen,
 * api.token_file); every step is bounded by the caller's timeout. No DPDK, no EAL.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bwg_api.h"
#include "client.h"

static uint64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait for `ev` on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int
wait_fd(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= deadline)
			return 0;
		struct pollfd p = {.fd = fd, .events = ev};
		int rc = poll(&p, 1, (int)(deadline - now));
		if (rc < 0 && errno == EINTR)
			continue;
		return rc < 0 ? -1 : rc > 0;
	}
}

int
bwg_client_request(const struct bwg_config *c, const char *method, const char *path,
		   double timeout_s, unsigned *status, char *msg, size_t msglen)
{
	struct sockaddr_storage ss;
	char err[512];
	*status = 0;
	const char *listen = c->api_listen; /* the config gives the default */
	if (bwg_api_listen_parse(listen, &ss, err, sizeof(err)) < 0) {
		snprintf(msg, msglen, "%s", err);
		return -EINVAL;
	}
	if (!c->api_token_file) {
		snprintf(msg, msglen, "%s: no api.token_file: the gate's API takes no writes, so "
			 "it cannot be asked to reload (give the API a token file, doc/api.md)", c->path);
		return -EINVAL;
	}
	char *token;
	size_t token_len;
	if (bwg_api_token_read(c->api_token_file, &token, &token_len, err, sizeof(err)) < 0) {
		snprintf(msg, msglen, "%s", err);
		return -EINVAL;
	}
	/* A gate listening on every address is asked on the loopback one. */
	socklen_t sl = sizeof(struct sockaddr_in);
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		if (a->sin_addr.s_addr == htonl(INADDR_ANY))
			a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
			a->sin6_addr = in6addr_loopback;
		sl = sizeof(struct sockaddr_in6);
	}
	uint64_t deadline = mono_ms() + (uint64_t)(timeout_s * 1000);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	char req[2048], *buf = NULL;
	int rc = -EIO;
	if (fd < 0)
		goto sys;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)
		goto sys;
	int r = wait_fd(fd, POLLOUT, deadline), soerr = 0;
	socklen_t el = sizeof(soerr);
	if (r <= 0)
		goto timeout;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0 || soerr) {
		errno = soerr ? soerr : errno;
		goto sys;
	}
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: bwgate\r\nAuthorization: Bearer %.*s\r\n"
			 "Content-Length: 0\r\nConnection: close\r\n\r\n",
			 method, path, (int)token_len, token);
	for (int off = 0; off < n;) {
		if ((r = wait_fd(fd, POLLOUT, deadline)) <= 0)
			goto timeout;
		ssize_t w = send(fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (w < 0)
			goto sys;
		off += (int)w;
	}
	size_t len = 0, cap = 65536;
	if (!(buf = malloc(cap + 1)))
		goto sys;
	for (;;) {
		if ((r = wait_fd(fd, POLLIN, deadline)) <= 0)
			goto timeout;
		ssize_t got = recv(fd, buf + len, cap - len, 0);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got < 0)
			goto sys;
		if (got == 0 || (len += (size_t)got) == cap)
			break;
	}
	buf[len] = 0;
	unsigned st;
	const char *body = strstr(buf, "\r\n\r\n");
	if (sscanf(buf, "HTTP/1.%*d %u", &st) != 1 || !body) {
		snprintf(msg, msglen, "%s: not an HTTP answer", listen);
		goto out;
	}
	*status = st;
	json_error_t je;
	json_t *j = json_loads(body + 4, 0, &je);
	const char *text = json_string_value(json_object_get(j, st == 200 ? "message" : "error"));
	snprintf(msg, msglen, "%s", text ? text : body + 4);
	json_decref(j);
	rc = 0;
	goto out;
timeout:
	snprintf(msg, msglen, "%s: no answer within %.0f s%s", listen, timeout_s,
		 r < 0 ? " (poll failed)" : "");
	rc = -ETIMEDOUT;
	goto out;
sys:
	rc = -errno;
	snprintf(msg, msglen, "%s: %s (is bwgate running with this config?)", listen,
		 strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(token);
	return rc;
}
