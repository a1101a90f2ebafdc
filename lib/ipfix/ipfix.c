/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX export (control thread; bwgate-pcap's one thread).
 *
 * libfixbuf encodes: one IPFIX transport session per collector (its templates and
 * sequence numbers), whose messages libfixbuf writes into a buffer of ours
 * (fbExporterAllocBuffer) rather than to a socket of its own, because its network
 * exporter resolves, connects and writes blocking and nothing here may wait on a
 * collector. The transport is ours and never blocks:
 *
 *  - UDP: a connected non-blocking socket. A message the kernel does not take at once
 *    (send buffer full, the collector's port refusing) is lost and counted; the
 *    collector sees the gap in the sequence numbers. Templates go again every
 *    ipfix.template_refresh seconds and right after a refusal (RFC 7011, 8.4), so a
 *    collector that starts later learns them.
 *  - TCP: a non-blocking connection whose messages wait in a bounded byte queue
 *    (ipfix.tcp_queue) and are written as the socket takes them; a message that does not
 *    fit is lost whole, so the stream stays framed. A connection that fails or breaks
 *    loses what it had queued and is tried again after 1 s, doubling to 60 s; records
 *    are lost at once while it is down. Every connection is a new transport session:
 *    templates first, sequence numbers from 0.
 *
 * A message leaves when it is full, or once it has been open for a second. Records are
 * biflows (RFC 5103): the client's side forward, the server's reverse, with bwgate's
 * own names as enterprise-specific string elements. The internal template holds both
 * address families; the two external templates (IPv4, IPv6) take what they need of it.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <fixbuf/public.h>

#include "bwg_ipfix.h"

#define MSG_UDP 1400 /* one datagram that crosses an Ethernet path, tunnels and all */
#define MSG_TCP 8192
#define OPEN_MAX_NS 1000000000ull /* a message waits this long for more records */
#define BACKOFF_MIN_NS 1000000000ull
#define BACKOFF_MAX_NS 60000000000ull
#define CONNECT_MAX_NS 5000000000ull
#define REFUSED_HOLD_NS 10000000000ull /* a UDP collector refused within this long is down */
#define USER_TIMEOUT_MS                                                                            \
	30000 /* a TCP collector that acknowledges nothing for this long is dropped */

#define TID_V4 256
#define TID_V6 257
#define TID_INTERNAL 258

/* Which templates an element belongs to (fbInfoElementSpec_t.flags). */
#define IN_V4 1
#define IN_V6 2
#define IN_INTERNAL 4
#define ALL_INTERNAL (IN_V4 | IN_V6 | IN_INTERNAL)

const char *const bwg_ipfix_state_names[BWG_IPFIX_STATE_MAX] = {
    [BWG_IPFIX_UP] = "up",
    [BWG_IPFIX_CONNECTING] = "connecting",
    [BWG_IPFIX_DOWN] = "down",
};

/* The internal record: laid out as the spec below, with no gap libfixbuf is not told of. */
struct rec {
	uint64_t start_ms, end_ms;
	uint64_t octets, packets, rev_octets, rev_packets, dropped;
	fbVarfield_t app, category, cls, class_source, unit, rule, action, host;
	uint8_t src6[16], dst6[16];
	uint32_t src4, dst4;
	uint16_t sport, dport, vlan;
	uint8_t proto, end_reason, direction;
	uint8_t pad[7];
};

static fbInfoElementSpec_t rec_spec[] = {
    {"flowStartMilliseconds", 8, 0},
    {"flowEndMilliseconds", 8, 0},
    {"octetDeltaCount", 8, 0},
    {"packetDeltaCount", 8, 0},
    {"reverseOctetDeltaCount", 8, 0},
    {"reversePacketDeltaCount", 8, 0},
    {"bwgateDroppedPacketDeltaCount", 8, 0},
    {"bwgateApp", FB_IE_VARLEN, 0},
    {"bwgateCategory", FB_IE_VARLEN, 0},
    {"bwgateClass", FB_IE_VARLEN, 0},
    {"bwgateClassSource", FB_IE_VARLEN, 0},
    {"bwgateUnit", FB_IE_VARLEN, 0},
    {"bwgateRule", FB_IE_VARLEN, 0},
    {"bwgateAction", FB_IE_VARLEN, 0},
    {"bwgateHost", FB_IE_VARLEN, 0},
    {"sourceIPv6Address", 16, IN_V6},
    {"destinationIPv6Address", 16, IN_V6},
    {"sourceIPv4Address", 4, IN_V4},
    {"destinationIPv4Address", 4, IN_V4},
    {"sourceTransportPort", 2, 0},
    {"destinationTransportPort", 2, 0},
    {"vlanId", 2, 0},
    {"protocolIdentifier", 1, 0},
    {"flowEndReason", 1, 0},
    {"biflowDirection", 1, 0},
    {"paddingOctets", 7, IN_INTERNAL},
    FB_IESPEC_NULL,
};

static const struct {
	const char *name;
	uint16_t num;
	uint16_t len;
	uint32_t flags;
	uint8_t type;
	const char *description;
} own_ies[] = {
    {"bwgateApp", BWG_IPFIX_IE_APP, FB_IE_VARLEN, FB_IE_F_NONE, FB_STRING,
     "application as nDPI names it"},
    {"bwgateCategory", BWG_IPFIX_IE_CATEGORY, FB_IE_VARLEN, FB_IE_F_NONE, FB_STRING,
     "nDPI category"},
    {"bwgateClass", BWG_IPFIX_IE_CLASS, FB_IE_VARLEN, FB_IE_F_NONE, FB_STRING, "policy class"},
    {"bwgateClassSource", BWG_IPFIX_IE_CLASS_SOURCE, FB_IE_VARLEN, FB_IE_F_NONE, FB_STRING,
     "evidence that decided the class"},
    {"bwgateUnit", BWG_IPFIX_IE_UNIT, FB_IE_VARLEN, FB_IE_F_NONE, FB_STRING,
     "unit (department) of the client"},
    {"bwgateRule", BWG_IPFIX_IE_RULE, FB_IE_VARLEN, FB_IE_F_NONE, FB_STRING,
     "policy rule that matched"},
    {"bwgateAction", BWG_IPFIX_IE_ACTION, FB_IE_VARLEN, FB_IE_F_NONE, FB_STRING,
     "allow, block or limit"},
    {"bwgateHost", BWG_IPFIX_IE_HOST, FB_IE_VARLEN, FB_IE_F_NONE, FB_STRING,
     "server name: TLS SNI, HTTP Host, DNS query"},
    {"bwgateDroppedPacketDeltaCount", BWG_IPFIX_IE_DROPPED, 8, FB_IE_F_ENDIAN | FB_IE_DELTACOUNTER,
     FB_UINT_64, "packets of the flow the gate dropped"},
};

/* A message's place in a TCP collector's queue. */
struct qmsg {
	uint32_t len;
	uint32_t records;
};

struct collector {
	enum bwg_transport transport;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd;
	fBuf_t *fbuf;		/* its transport session; NULL while a TCP collector is down */
	fbExporter_t *exporter; /* owned by fbuf: writes each message into msg */
	uint16_t msg_max;
	uint16_t tid; /* external template of the open data set; 0: none yet */
	uint32_t open_records;
	bool open_templates;
	uint64_t open_since_ns;
	uint64_t templates_ns; /* UDP: when templates were last put in a message */
	uint64_t refused_ns;   /* UDP: when the collector last refused a message */
	bool templates_due;
	/* TCP: the queue of whole messages, a byte ring and a ring of their boundaries */
	uint8_t *q;
	uint64_t qcap, qhead, qlen;
	struct qmsg *m;
	uint32_t mcap, mhead, mlen;
	uint64_t head_written; /* bytes of the oldest message already written */
	uint64_t retry_ns, backoff_ns, connect_ns;
	struct bwg_ipfix_collector_stats st;
	uint8_t msg[MSG_TCP];
};

struct bwg_ipfix {
	fbInfoModel_t *model;
	uint32_t domain;
	uint64_t template_refresh_ns;
	uint64_t records;
	uint32_t n;
	struct collector c[];
};

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- set-up ---------------------------------------------------------------------------- */

static int
resolve(const struct bwg_collector_url *u, struct sockaddr_storage *ss, socklen_t *len, char *why,
	size_t whylen)
{
	struct addrinfo hints =
			    {
				.ai_family = AF_UNSPEC,
				.ai_socktype =
				    u->transport == BWG_TRANSPORT_TCP ? SOCK_STREAM : SOCK_DGRAM,
				.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG,
			    },
			*res;
	int rc = getaddrinfo(u->host, u->port, &hints, &res);
	if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME) { /* loopback-only hosts: no AI_ADDRCONFIG */
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(u->host, u->port, &hints, &res);
	}
	if (rc != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", u->host, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static fbInfoModel_t *
model_create(uint32_t enterprise)
{
	fbInfoModel_t *m = fbInfoModelAlloc();
	for (size_t i = 0; i < sizeof(own_ies) / sizeof(own_ies[0]); i++) {
		fbInfoElement_t ie = FB_IE_INIT_FULL(own_ies[i].name, enterprise, own_ies[i].num,
						     own_ies[i].len, own_ies[i].flags, 0, 0,
						     own_ies[i].type, own_ies[i].description);
		fbInfoModelAddElement(m, &ie);
	}
	return m;
}

static fbTemplate_t *
template_make(fbInfoModel_t *m, uint32_t which, GError **gerr)
{
	fbTemplate_t *t = fbTemplateAlloc(m);
	if (!fbTemplateAppendSpecArray(t, rec_spec, which, gerr)) {
		fbTemplateFreeUnused(t);
		return NULL;
	}
	return t;
}

/* A new transport session for c, its templates at the head of its first message. */
static int
session_open(struct bwg_ipfix *x, struct collector *c, GError **gerr)
{
	fbSession_t *s = fbSessionAlloc(x->model);
	fbSessionSetDomain(s, x->domain);
	const struct {
		uint32_t which;
		bool internal;
		uint16_t tid;
	} tmpls[] = {
	    {ALL_INTERNAL, true, TID_INTERNAL}, {IN_V4, false, TID_V4}, {IN_V6, false, TID_V6}};
	for (size_t i = 0; i < sizeof(tmpls) / sizeof(tmpls[0]); i++) {
		fbTemplate_t *t = template_make(x->model, tmpls[i].which, gerr);
		if (!t || !fbSessionAddTemplate(s, tmpls[i].internal, tmpls[i].tid, t, gerr)) {
			if (t)
				fbTemplateFreeUnused(t);
			fbSessionFree(s);
			return -EINVAL;
		}
	}
	c->exporter = fbExporterAllocBuffer(c->msg, c->msg_max);
	c->fbuf = fBufAllocForExport(s, c->exporter);
	fBufSetAutomaticMode(c->fbuf, FALSE); /* a full message comes back to us: EOM */
	if (!fBufSetInternalTemplate(c->fbuf, TID_INTERNAL, gerr))
		return -EINVAL;
	c->tid = 0;
	c->templates_due = true;
	return 0;
}

static void
session_close(struct collector *c)
{
	if (c->fbuf)
		fBufFree(c->fbuf);
	c->fbuf = NULL;
	c->exporter = NULL;
}

/* ---- messages -------------------------------------------------------------------------- */

static void tcp_write(struct collector *c, uint64_t now);

static void
lose(struct collector *c, uint32_t records)
{
	c->st.records_lost += records;
}

/* A whole message dropped, and its records. */
static void
lose_message(struct collector *c, uint32_t records)
{
	c->st.messages_lost++;
	lose(c, records);
}

/*
 * A UDP message to the kernel, now or never. A refusal (an ICMP port unreachable for an
 * earlier datagram) fails one send and lets the next through, so the collector counts as
 * down for REFUSED_HOLD_NS after the last one.
 */
static void
udp_send(struct collector *c, size_t len, uint32_t records, uint64_t now)
{
	ssize_t w = send(c->fd, c->msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w == (ssize_t)len) {
		c->st.records_sent += records;
		c->st.messages_sent++;
		c->st.bytes_sent += len;
	} else {
		lose_message(c, records);
		if (w < 0 && errno == ECONNREFUSED) {
			/* Nothing listens there now; whoever does later needs the templates. */
			c->refused_ns = now;
			c->templates_due = true;
		}
	}
	c->st.state =
	    c->refused_ns && now - c->refused_ns < REFUSED_HOLD_NS ? BWG_IPFIX_DOWN : BWG_IPFIX_UP;
}

/* A TCP message into the queue, whole or not at all. */
static void
queue_put(struct collector *c, size_t len, uint32_t records, uint64_t now)
{
	if (len > c->qcap - c->qlen || c->mlen == c->mcap) {
		lose_message(c, records);
		return;
	}
	uint64_t tail = (c->qhead + c->qlen) % c->qcap;
	size_t first = len < c->qcap - tail ? len : (size_t)(c->qcap - tail);
	memcpy(c->q + tail, c->msg, first);
	memcpy(c->q, c->msg + first, len - first);
	c->qlen += len;
	c->m[(c->mhead + c->mlen) % c->mcap] = (struct qmsg){(uint32_t)len, records};
	c->mlen++;
	c->st.records_pending += records;
	if (c->st.state == BWG_IPFIX_UP)
		tcp_write(c, now);
}

/* Close the open message and hand it to the transport. */
static void
message_send(struct collector *c, uint64_t now)
{
	if (!c->fbuf || (!c->open_records && !c->open_templates))
		return;
	GError *gerr = NULL;
	uint32_t n = c->open_records;
	bool ok = fBufEmit(c->fbuf, &gerr);
	size_t len = fbExporterGetMsgLen(c->exporter);
	c->st.records_pending -= n;
	c->open_records = 0;
	c->open_templates = false;
	c->open_since_ns = 0;
	if (!ok) {
		g_clear_error(&gerr);
		lose_message(c, n);
		return;
	}
	if (c->transport == BWG_TRANSPORT_UDP)
		udp_send(c, len, n, now);
	else
		queue_put(c, len, n, now);
}

/* Templates at the head of a fresh message (the open one goes first). */
static void
templates_put(struct bwg_ipfix *x, struct collector *c, uint64_t now)
{
	message_send(c, now);
	if (!c->fbuf) /* a TCP connection broke meanwhile */
		return;
	GError *gerr = NULL;
	/* libfixbuf starts a message for templates only in automatic mode; an empty message
	 * of MSG_UDP bytes holds both templates, so nothing is emitted behind our back. */
	fBufSetAutomaticMode(c->fbuf, TRUE);
	bool ok = fbSessionExportTemplates(fBufGetSession(c->fbuf), &gerr);
	fBufSetAutomaticMode(c->fbuf, FALSE);
	g_clear_error(&gerr);
	c->templates_due = false;
	c->templates_ns = now;
	if (ok) {
		c->open_templates = true;
		c->open_since_ns = now;
	}
	c->tid = 0;
	(void)x;
}

/* ---- TCP --------------------------------------------------------------------------------- */

/* Drop the connection and everything it held; try again after the backoff. */
static void
tcp_down(struct collector *c, uint64_t now)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	uint32_t open = c->open_records;
	c->st.records_pending -= open;
	lose(c, open);
	c->open_records = 0;
	c->open_templates = false;
	c->open_since_ns = 0;
	session_close(c);
	for (uint32_t i = 0; i < c->mlen; i++) {
		const struct qmsg *qm = &c->m[(c->mhead + i) % c->mcap];
		c->st.records_pending -= qm->records;
		lose_message(c, qm->records);
	}
	c->qhead = c->qlen = c->mhead = c->mlen = 0;
	c->head_written = 0;
	c->st.state = BWG_IPFIX_DOWN;
	c->retry_ns = now + c->backoff_ns;
	c->backoff_ns = c->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : c->backoff_ns * 2;
}

static void
tcp_connect(struct bwg_ipfix *x, struct collector *c, uint64_t now)
{
	GError *gerr = NULL;
	c->fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		tcp_down(c, now);
		return;
	}
	unsigned timeout = USER_TIMEOUT_MS;
	setsockopt(c->fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof(timeout));
	if (connect(c->fd, (struct sockaddr *)&c->addr, c->addrlen) < 0 && errno != EINPROGRESS) {
		tcp_down(c, now);
		return;
	}
	if (session_open(x, c, &gerr) < 0) {
		g_clear_error(&gerr);
		tcp_down(c, now);
		return;
	}
	/* Records wait in the queue while the connection opens, templates first. */
	c->st.state = BWG_IPFIX_CONNECTING;
	c->connect_ns = now;
	templates_put(x, c, now);
	message_send(c, now);
}

/* Write what the socket takes; messages written whole are sent. */
static void
tcp_write(struct collector *c, uint64_t now)
{
	while (c->qlen > 0) {
		struct iovec iov[2];
		int n = 1;
		iov[0].iov_base = c->q + c->qhead;
		iov[0].iov_len = c->qhead + c->qlen <= c->qcap ? c->qlen : c->qcap - c->qhead;
		if (iov[0].iov_len < c->qlen) {
			iov[1].iov_base = c->q;
			iov[1].iov_len = c->qlen - iov[0].iov_len;
			n = 2;
		}
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		ssize_t w = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				tcp_down(c, now);
			return;
		}
		c->qhead = (c->qhead + (uint64_t)w) % c->qcap;
		c->qlen -= (uint64_t)w;
		c->head_written += (uint64_t)w;
		while (c->mlen && c->head_written >= c->m[c->mhead].len) {
			const struct qmsg *qm = &c->m[c->mhead];
			c->head_written -= qm->len;
			c->st.records_pending -= qm->records;
			c->st.records_sent += qm->records;
			c->st.messages_sent++;
			c->st.bytes_sent += qm->len;
			c->mhead = (c->mhead + 1) % c->mcap;
			c->mlen--;
		}
	}
}

/* A connection under way: done, failed, or taking too long? */
static void
tcp_connecting(struct collector *c, uint64_t now)
{
	struct pollfd p = {.fd = c->fd, .events = POLLOUT};
	if (poll(&p, 1, 0) <= 0) {
		if (now - c->connect_ns >= CONNECT_MAX_NS)
			tcp_down(c, now);
		return;
	}
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0 ||
	    (p.revents & (POLLERR | POLLHUP))) {
		tcp_down(c, now);
		return;
	}
	c->st.state = BWG_IPFIX_UP;
	c->st.connects++;
	c->backoff_ns = BACKOFF_MIN_NS;
	tcp_write(c, now);
}

/* ---- the exporter ---------------------------------------------------------------------- */

static int
collector_init(struct bwg_ipfix *x, struct collector *c, const struct bwg_config *cf,
	       const char *url, char *err, size_t errlen)
{
	struct bwg_collector_url u;
	char why[BWG_CONFIG_ERR_MAX];
	snprintf(c->st.url, sizeof(c->st.url), "%s", url);
	c->fd = -1;
	if (bwg_config_parse_collector(url, &u, why, sizeof(why)) < 0 ||
	    resolve(&u, &c->addr, &c->addrlen, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "ipfix collector %s: %s", url, why);
		return -EINVAL;
	}
	c->transport = u.transport;
	c->backoff_ns = BACKOFF_MIN_NS;
	uint64_t now = now_ns();
	GError *gerr = NULL;
	if (u.transport == BWG_TRANSPORT_TCP) {
		c->msg_max = MSG_TCP;
		c->qcap = cf->ipfix_tcp_queue;
		c->mcap = (uint32_t)(c->qcap / 64) + 16; /* a message is never under 64 bytes */
		if (!(c->q = malloc(c->qcap)) || !(c->m = calloc(c->mcap, sizeof(*c->m))))
			goto nomem;
		tcp_connect(x, c, now);
		return 0;
	}
	c->msg_max = MSG_UDP;
	c->fd = socket(c->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int sndbuf = 1 << 20;
	if (c->fd < 0 || setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&c->addr, c->addrlen) < 0) {
		snprintf(err, errlen, "ipfix collector %s: %s", url, strerror(errno));
		return -errno;
	}
	if (session_open(x, c, &gerr) < 0) {
		snprintf(err, errlen, "ipfix collector %s: %s", url, gerr->message);
		g_clear_error(&gerr);
		return -EINVAL;
	}
	c->st.state = BWG_IPFIX_UP;
	return 0;
nomem:
	snprintf(err, errlen, "ipfix collector %s: out of memory for its %llu-byte queue", url,
		 (unsigned long long)cf->ipfix_tcp_queue);
	return -ENOMEM;
}

int
bwg_ipfix_create(struct bwg_ipfix **out, const struct bwg_config *c, const char *const *urls,
		 uint32_t n_urls, char *err, size_t errlen)
{
	*out = NULL;
	if (!urls) {
		urls = (const char *const *)c->ipfix_collectors.v;
		n_urls = c->ipfix_collectors.n;
	}
	if (n_urls == 0)
		return 0;
	if (n_urls > BWG_COLLECTORS_MAX) {
		snprintf(err, errlen, "at most %d IPFIX collectors", BWG_COLLECTORS_MAX);
		return -EINVAL;
	}
	struct bwg_ipfix *x = calloc(1, sizeof(*x) + n_urls * sizeof(x->c[0]));
	if (!x) {
		snprintf(err, errlen, "out of memory for the IPFIX exporter");
		return -ENOMEM;
	}
	x->model = model_create(c->ipfix_enterprise);
	/* struct rec must be laid out as libfixbuf reads the internal template. */
	GError *gerr = NULL;
	fbTemplate_t *t = template_make(x->model, ALL_INTERNAL, &gerr);
	uint16_t len = t ? fbTemplateGetIELenOfMemBuffer(t) : 0;
	if (t)
		fbTemplateFreeUnused(t);
	g_clear_error(&gerr);
	if (len != sizeof(struct rec)) {
		snprintf(err, errlen, "IPFIX: the record template is %u bytes, struct rec %zu", len,
			 sizeof(struct rec));
		bwg_ipfix_destroy(x);
		return -EINVAL;
	}
	x->domain = c->ipfix_domain;
	x->template_refresh_ns = (uint64_t)c->ipfix_template_refresh * 1000000000ull;
	for (uint32_t i = 0; i < n_urls; i++) {
		int rc = collector_init(x, &x->c[i], c, urls[i], err, errlen);
		x->n++;
		if (rc < 0) {
			bwg_ipfix_destroy(x);
			return rc;
		}
	}
	*out = x;
	return 0;
}

int
bwg_ipfix_check(const struct bwg_config *c, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < c->ipfix_collectors.n; i++) {
		struct bwg_collector_url u;
		struct sockaddr_storage ss;
		socklen_t len;
		char why[BWG_CONFIG_ERR_MAX];
		if (bwg_config_parse_collector(c->ipfix_collectors.v[i], &u, why, sizeof(why)) <
			0 ||
		    resolve(&u, &ss, &len, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s", c->ipfix_collectors.where[i], why);
			return -EINVAL;
		}
	}
	return 0;
}

static void
varfield(fbVarfield_t *f, const char *s, size_t cap)
{
	f->buf = (uint8_t *)(uintptr_t)s;
	f->len = strnlen(s, cap);
}

static uint64_t
delta(uint64_t total, uint64_t prior)
{
	return total > prior ? total - prior : 0;
}

/* v as the internal record; returns the external template its family needs. */
static uint16_t
rec_fill(struct rec *r, const struct bwg_flow_view *v)
{
	memset(r, 0, sizeof(*r));
	r->start_ms = v->first_ts / 1000000;
	r->end_ms = v->last_ts / 1000000;
	r->octets = delta(v->bytes[0], v->prior_bytes[0]);
	r->packets = delta(v->pkts[0], v->prior_pkts[0]);
	r->rev_octets = delta(v->bytes[1], v->prior_bytes[1]);
	r->rev_packets = delta(v->pkts[1], v->prior_pkts[1]);
	r->dropped = delta(v->dropped_pkts, v->prior_dropped);
	varfield(&r->app, v->app, sizeof(v->app));
	varfield(&r->category, v->category, sizeof(v->category));
	varfield(&r->cls, v->cls, sizeof(v->cls));
	varfield(&r->class_source, v->class_source, sizeof(v->class_source));
	varfield(&r->unit, v->unit, sizeof(v->unit));
	varfield(&r->rule, v->rule, sizeof(v->rule));
	const char *action = v->action < BWG_ACTION_MAX ? bwg_action_names[v->action] : "";
	varfield(&r->action, action, 8);
	varfield(&r->host, v->host, sizeof(v->host));
	r->sport = v->port[0];
	r->dport = v->port[1];
	r->vlan = v->vlan;
	r->proto = v->proto;
	r->end_reason = v->end_reason;
	r->direction = 1; /* biflowDirection "initiator": the source is the client */
	if (v->family == 6) {
		memcpy(r->src6, v->addr[0], 16);
		memcpy(r->dst6, v->addr[1], 16);
		return TID_V6;
	}
	uint32_t a;
	memcpy(&a, v->addr[0], 4);
	r->src4 = ntohl(a); /* libfixbuf writes integers in network order */
	memcpy(&a, v->addr[1], 4);
	r->dst4 = ntohl(a);
	return TID_V4;
}

/* Append r to c's open message; a full message is sent and r goes in the next one. */
static void
record_put(struct bwg_ipfix *x, struct collector *c, struct rec *r, uint16_t tid, uint64_t now)
{
	if (c->st.state == BWG_IPFIX_DOWN && c->transport == BWG_TRANSPORT_TCP) {
		lose(c, 1);
		return;
	}
	if (c->templates_due)
		templates_put(x, c, now);
	GError *gerr = NULL;
	for (int attempt = 0; attempt < 2 && c->fbuf; attempt++) {
		if ((c->tid == tid || fBufSetExportTemplate(c->fbuf, tid, &gerr)) &&
		    fBufAppend(c->fbuf, (uint8_t *)r, sizeof(*r), &gerr)) {
			c->tid = tid;
			c->open_records++;
			c->st.records_pending++;
			if (!c->open_since_ns)
				c->open_since_ns = now;
			return;
		}
		bool eom = g_error_matches(gerr, FB_ERROR_DOMAIN, FB_ERROR_EOM);
		g_clear_error(&gerr);
		if (!eom)
			break;
		message_send(c, now); /* may find a TCP connection broken: no fbuf any more */
	}
	lose(c, 1);
}

void
bwg_ipfix_record(struct bwg_ipfix *x, const struct bwg_flow_view *v)
{
	if (!x)
		return;
	struct rec r;
	uint16_t tid = rec_fill(&r, v);
	uint64_t now = now_ns();
	x->records++;
	for (uint32_t i = 0; i < x->n; i++)
		record_put(x, &x->c[i], &r, tid, now);
}

void
bwg_ipfix_tick(struct bwg_ipfix *x)
{
	if (!x)
		return;
	uint64_t now = now_ns();
	for (uint32_t i = 0; i < x->n; i++) {
		struct collector *c = &x->c[i];
		if (c->transport == BWG_TRANSPORT_TCP) {
			if (c->st.state == BWG_IPFIX_DOWN && now >= c->retry_ns)
				tcp_connect(x, c, now);
			if (c->st.state == BWG_IPFIX_CONNECTING)
				tcp_connecting(c, now);
			else if (c->st.state == BWG_IPFIX_UP)
				tcp_write(c, now);
		} else if (now - c->templates_ns >= x->template_refresh_ns) {
			templates_put(x, c, now);
		}
		if (c->open_since_ns && now - c->open_since_ns >= OPEN_MAX_NS)
			message_send(c, now);
	}
}

void
bwg_ipfix_flush(struct bwg_ipfix *x, uint32_t wait_ms)
{
	if (!x)
		return;
	uint64_t now = now_ns(), until = now + (uint64_t)wait_ms * 1000000ull;
	for (uint32_t i = 0; i < x->n; i++)
		message_send(&x->c[i], now);
	for (;;) {
		struct pollfd p[BWG_COLLECTORS_MAX];
		nfds_t np = 0;
		for (uint32_t i = 0; i < x->n; i++) {
			struct collector *c = &x->c[i];
			if (c->transport == BWG_TRANSPORT_TCP && c->fd >= 0 && c->qlen > 0)
				p[np++] = (struct pollfd){.fd = c->fd, .events = POLLOUT};
		}
		now = now_ns();
		if (np == 0 || now >= until)
			return;
		uint64_t left_ms = (until - now) / 1000000;
		poll(p, np, left_ms > 100 ? 100 : (int)left_ms + 1);
		for (uint32_t i = 0; i < x->n; i++) {
			struct collector *c = &x->c[i];
			if (c->transport != BWG_TRANSPORT_TCP)
				continue;
			if (c->st.state == BWG_IPFIX_CONNECTING)
				tcp_connecting(c, now_ns());
			else if (c->st.state == BWG_IPFIX_UP)
				tcp_write(c, now_ns());
		}
	}
}

void
bwg_ipfix_stats(const struct bwg_ipfix *x, struct bwg_ipfix_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!x)
		return;
	out->records = x->records;
	out->n = x->n;
	for (uint32_t i = 0; i < x->n; i++)
		out->c[i] = x->c[i].st;
}

void
bwg_ipfix_destroy(struct bwg_ipfix *x)
{
	if (!x)
		return;
	for (uint32_t i = 0; i < x->n; i++) {
		struct collector *c = &x->c[i];
		if (c->transport == BWG_TRANSPORT_TCP) {
			tcp_down(c, 0);
		} else {
			c->st.records_pending -= c->open_records;
			lose(c, c->open_records);
			session_close(c);
			if (c->fd >= 0)
				close(c->fd);
		}
		free(c->q);
		free(c->m);
	}
	if (x->model)
		fbInfoModelFree(x->model);
	free(x);
}

json_t *
bwg_ipfix_stats_json(const struct bwg_ipfix_stats *s)
{
	uint64_t sent = 0, lost = 0, pending = 0;
	uint32_t up = 0;
	json_t *a = json_array();
	for (uint32_t i = 0; i < s->n; i++) {
		const struct bwg_ipfix_collector_stats *c = &s->c[i];
		sent += c->records_sent;
		lost += c->records_lost;
		pending += c->records_pending;
		up += c->state == BWG_IPFIX_UP;
		json_array_append_new(
		    a, json_pack(
			   "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "url", c->url, "state",
			   bwg_ipfix_state_names[c->state < BWG_IPFIX_STATE_MAX ? c->state : 0],
			   "records_sent", (json_int_t)c->records_sent, "records_lost",
			   (json_int_t)c->records_lost, "records_pending",
			   (json_int_t)c->records_pending, "messages_sent",
			   (json_int_t)c->messages_sent, "messages_lost",
			   (json_int_t)c->messages_lost, "bytes_sent", (json_int_t)c->bytes_sent,
			   "connects", (json_int_t)c->connects));
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:i, s:o}", "records", (json_int_t)s->records,
			 "records_sent", (json_int_t)sent, "records_lost", (json_int_t)lost,
			 "records_pending", (json_int_t)pending, "collectors_up", (int)up,
			 "collectors", a);
}
