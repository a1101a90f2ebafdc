/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_CLASSIFY_H
#define BWG_CLASSIFY_H

/*
 * A flow's class, from the most specific evidence there is (doc/configuration.md, "How a
 * flow gets its class"):
 *
 *   1. its own name (HTTP Host, TLS/QUIC SNI, DNS query, server certificate) in a class's
 *      host lists                                                       -> host_list
 *   2. its server's (else client's) address in a class's address lists -> host_list
 *   3. the application nDPI recognised (by its dissectors, not by port) -> ndpi_app
 *   4. for a flow with no name of its own: the name its server address
 *      was last resolved to (names learned from DNS), in the host lists -> dns;
 *      else the name the client's other flow to that server gave (its
 *      SNI or Host), in the host lists                                 -> flow_name
 *   5. one of bwgate's payload detectors (lib/classify/det_*.c) that
 *      recognises what a payload holds                                 -> heuristic
 *   5b. for a UDP flow: its inside socket (address and port) recently
 *      carried a flow strongly classed into a class with
 *      "socket_affinity"; taken only where what follows would say
 *      unknown or such a class itself (never over business)           -> socket
 *   6. for an unnamed flow (no name, no app nDPI recognised): its inside
 *      host is tagged as a P2P peer                                     -> behaviour;
 *      then a weak detector, one that goes by what a payload lacks     -> heuristic
 *   7. nDPI's guess by port, then its category, then the master protocol
 *                                                          -> ndpi_app / ndpi_category
 *   8. nothing: unknown                                                 -> default
 *
 * The compiled class tables (struct bwg_classes) belong to a policy: built by the control
 * thread, read-only afterwards. Detectors are registered in one table (detect.c); the
 * engine knows none of them by name. Workers call bwg_classes_decide() a few times in a
 * flow's life, never per packet, and run the payload detectors on the first payload
 * packets of young flows (bwg_detect_packet).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bwg_addrset.h"
#include "bwg_config.h"
#include "bwg_dpi.h"
#include "bwg_hostset.h"

#define BWG_CLASS_UNKNOWN 0

#define BWG_CLASS_SOURCES(X)                                                                       \
	X(DEFAULT, "default")             /* nothing matched: unknown */                          \
	X(HOST_LIST, "host_list")         /* the flow's name or address in a class's lists */     \
	X(NDPI_APP, "ndpi_app")           /* nDPI's application (or master protocol) */           \
	X(NDPI_CATEGORY, "ndpi_category") /* nDPI's category */                                   \
	X(DNS, "dns")                     /* the name learned for the server's address */         \
	X(BEHAVIOUR, "behaviour")         /* the inside host behaves as a P2P peer */             \
	X(HEURISTIC, "heuristic")         /* a payload detector */                               \
	X(FLOW_NAME, "flow_name")         /* the name another flow gave the same server */       \
	X(SOCKET, "socket")               /* another flow of the same inside UDP socket */

enum bwg_class_source {
#define X(id, name) BWG_SRC_##id,
	BWG_CLASS_SOURCES(X)
#undef X
	BWG_SRC_MAX,
};
extern const char *const bwg_class_source_names[BWG_SRC_MAX];

/* ---- detectors ------------------------------------------------------------------------ */

#define BWG_DET_NONE 0
#define BWG_DET_MAX 64 /* ids 1..BWG_DET_MAX-1 */
/* A set of detector ids (a class's claims, a flow's refusals): bit `id` stands for id. */
#define BWG_DET_BIT(id) ((uint64_t)1 << (id))

/* What a payload detector sees of one packet of a young flow. */
struct bwg_det_pkt {
	const uint8_t *payload; /* the L4 payload as captured */
	uint32_t len;
	uint8_t proto;          /* 6 TCP, 17 UDP */
	uint8_t dir;            /* 0: from the client (the flow's first sender) */
	uint16_t sport, dport;  /* this packet's ports */
	uint32_t seen[2];       /* payload packets of the flow before this one, per direction */
	/* The first four bytes of each direction's first payload (zero-padded), valid once
	 * seen[d] > 0: enough to pair a reply with its request (a connection id, a
	 * handshake word) without a detector keeping state of its own. */
	uint8_t first[2][4];
	bool opened;            /* TCP: the client's SYN was seen (not picked up mid-stream) */
	const struct bwg_dpi_result *dpi; /* nDPI's answer so far (metadata included) */
};

enum bwg_det_answer {
	BWG_DET_MAYBE, /* no decision yet: show me the next payload packet */
	BWG_DET_MATCH, /* this flow is what I recognise */
	BWG_DET_NEVER, /* this flow is not: do not ask again */
};

#define BWG_DET_TCP 0x1
#define BWG_DET_UDP 0x2

struct bwg_detector {
	const char *name;        /* as a class's "detectors" names it */
	const char *rule;        /* the rule of thumb, for flow records and explain */
	enum bwg_class_source source; /* HEURISTIC, or BEHAVIOUR for host-level evidence */
	uint8_t protos;          /* BWG_DET_TCP | BWG_DET_UDP */
	uint8_t max_payloads;    /* payload packets per direction it wants to see at most */
	bool unknown_only;       /* only for flows nDPI could not name (or named by port) */
	bool weak;               /* matches by what a payload lacks (structure), not by what
				    it holds: a host's P2P tag outranks it */
	/* NULL for detectors fed by other means (host behaviour). */
	enum bwg_det_answer (*packet)(const struct bwg_det_pkt *p);
};

/* The registry: id -> detector (NULL for unused ids). */
const struct bwg_detector *bwg_detector(uint8_t id);
/* Id of a detector by name, or -1. */
int bwg_detector_id(const char *name);
/* The detector that feeds the behaviour tag of hosts (p2p_behaviour). */
uint8_t bwg_detector_behaviour_id(void);

/* Per-flow detector state while the flow is young (kept with its nDPI state). */
struct bwg_det_flow {
	uint64_t never;   /* BWG_DET_BIT(i): detector i answered NEVER */
	uint32_t seen[2]; /* payload packets per direction shown so far */
	uint8_t first[2][4]; /* see bwg_det_pkt.first */
	bool opened;      /* TCP: the flow began with the client's SYN */
};

/*
 * Show one packet to the detectors that still wait (`want`: bitmask of detector ids the
 * policy's classes use). Returns the id of the first to answer MATCH, or BWG_DET_NONE.
 */
uint8_t bwg_detect_packet(struct bwg_det_flow *st, uint64_t want, const uint8_t *payload,
			  uint32_t len, uint8_t proto, uint8_t dir, uint16_t sport, uint16_t dport,
			  const struct bwg_dpi_result *dpi);

/* ---- class tables ------------------------------------------------------------------------ */

struct bwg_classes {
	uint32_t n; /* classes including [0] = unknown */
	const char *names[BWG_CLASS_MAX];
	uint8_t *by_app;      /* [app_count] class id or BWG_CLASS_NONE */
	uint8_t *by_category; /* [category_count] */
	uint32_t app_count, category_count;
	uint8_t by_detector[BWG_DET_MAX];
	uint64_t detectors_wanted; /* BWG_DET_BIT() of each detector some class uses */
	bool socket_affinity[BWG_CLASS_MAX]; /* the class passes to its socket's next flows */
	struct bwg_hostset hosts;
	struct bwg_addrset addrs;
	char **src; /* list files by source tag; [0] = the config itself */
	uint32_t n_src;
	uint64_t host_entries, addr_entries; /* loaded */
};

#define BWG_CLASS_NONE 0xff

/*
 * Compile the classes of `conf`: nDPI names to ids (checked against dpi), host and
 * address lists read from conf->lists_dir. Errors name the JSON path or FILE:LINE.
 * Returns 0 or -errno. On failure c is left for bwg_classes_fini().
 */
int bwg_classes_build(struct bwg_classes *c, const struct bwg_config *conf,
		      const struct bwg_dpi *dpi, char *err, size_t errlen);
void bwg_classes_fini(struct bwg_classes *c);

/* Everything known about a flow that may decide its class. */
struct bwg_class_evidence {
	uint16_t master, app, category; /* nDPI ids */
	bool guessed;        /* nDPI's answer is a guess (port, or nothing), not a dissector's */
	const char *host;    /* the flow's own name, or NULL / "" */
	const char *learned; /* the name its server address was last resolved to, or NULL */
	bool learned_from_flow; /* `learned` is the name another flow gave the server */
	uint8_t family;
	const uint8_t *client, *server; /* 16 bytes each */
	uint8_t detector;    /* payload detector that matched, or BWG_DET_NONE */
	bool p2p_host;       /* the inside host is tagged a P2P peer */
	uint8_t socket_cls;  /* the class its inside socket's other flow was given, or
				BWG_CLASS_NONE (set only for a UDP flow) */
};

/* nDPI recognised no application: nothing yet, or only a guess by port. */
static inline bool
bwg_class_evidence_nameless(const struct bwg_class_evidence *e)
{
	return e->guessed || (e->app == 0 && e->master == 0);
}

struct bwg_class_decision {
	uint8_t cls;
	uint8_t source;   /* enum bwg_class_source */
	uint8_t detector; /* HEURISTIC / BEHAVIOUR: which detector */
	bool named_by_dns; /* the learned name decided (the flow's host is that name) */
};

void bwg_classes_decide(const struct bwg_classes *c, const struct bwg_class_evidence *e,
			struct bwg_class_decision *d);

/*
 * The name a TLS, DTLS or QUIC flow without a server name of its own takes from its
 * server's certificate (`names`: nDPI's list, "a,*.b,c"), a leading "*." dropped: its
 * first name; or, with `search` (nDPI named no service for the flow), the first of its
 * names that a class's host lists hold, else its first. A certificate often names the
 * service second, after a CDN's own name; but a service's certificate also names its
 * sister services, so the search is only for flows nDPI could not name. A certificate
 * without names (no subjectAltName) is named by its subject's common name (`subject`,
 * nDPI's "C=.., O=.., CN=.."), as browsers once read it, when that is a host name and not
 * an address; as its names, it is taken as written. Writes the name into buf (len bytes) and returns buf, or NULL when the
 * certificate names nothing.
 */
const char *bwg_classes_cert_name(const struct bwg_classes *c, const char *names,
				  const char *subject, bool search, char *buf, size_t len);

/*
 * The value of attribute `key` ("O", "CN") in a certificate's subject or issuer as nDPI
 * writes it ("C=.., O=.., CN=..", attributes joined by ", "), cut to len - 1 bytes, into
 * buf; false when the name has none. The first such attribute.
 */
bool bwg_cert_dn_value(const char *dn, const char *key, char *buf, size_t len);

/*
 * What matched, as an operator reads it: `hosts/video.txt: bilibili.com`, `address list
 * addresses/game.txt: 162.249.72.0/21`, `nDPI app YouTube`, `nDPI category Video`,
 * `dns: www.iqiyi.com -> hosts/video.txt: iqiyi.com`, `fully_encrypted: ...`. The
 * evidence must be the one the decision came from. Returns buf.
 */
const char *bwg_classes_explain(const struct bwg_classes *c, const struct bwg_dpi *dpi,
				const struct bwg_class_evidence *e,
				const struct bwg_class_decision *d, char *buf, size_t len);

#endif
