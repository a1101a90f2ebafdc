/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Class tables and the class decision (see bwg_classify.h).
 *
 * Built once per policy on the control thread: nDPI names become ids, host patterns
 * (inline and from list files) go into one host set, prefixes into one address set,
 * detector names into ids. Workers then decide a flow's class from its evidence with a
 * few table lookups, in the order of bwg_classify.h, a few times in the flow's life.
 */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_classify.h"
#include "bwg_log.h"
#include "bwg_lists.h"

const char *const bwg_class_source_names[BWG_SRC_MAX] = {
#define X(id, name) [BWG_SRC_##id] = name,
	BWG_CLASS_SOURCES(X)
#undef X
};

/* A list file gets a source tag: its index in c->src. */
static int
src_add(struct bwg_classes *c, const char *name, uint16_t *tag)
{
	if (c->n_src >= UINT16_MAX)
		return -E2BIG;
	char **n = realloc(c->src, (c->n_src + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->src = n;
	if (!(c->src[c->n_src] = strdup(name)))
		return -ENOMEM;
	*tag = (uint16_t)c->n_src++;
	return 0;
}

struct list_ctx {
	struct bwg_classes *c;
	uint8_t cls;
	uint16_t src;
};

static int
host_entry(void *ctx, const char *entry, unsigned line, char *why, size_t whylen)
{
	struct list_ctx *x = ctx;
	(void)line;
	uint8_t old;
	int rc = bwg_hostset_add_src(&x->c->hosts, entry, x->cls, x->src, &old);
	if (rc == -EEXIST) {
		snprintf(why, whylen, "a domain that is already a host of class \"%s\" (a domain "
			 "may be in one class only)", x->c->names[old]);
		return -EINVAL;
	} else if (rc == -ENOMEM)
		snprintf(why, whylen, "out of memory");
	else
		x->c->host_entries++;
	return rc;
}

static int
addr_entry(void *ctx, const char *entry, unsigned line, char *why, size_t whylen)
{
	struct list_ctx *x = ctx;
	struct bwg_cidr cd;
	char msg[BWG_CONFIG_ERR_MAX];
	if (bwg_config_parse_cidr(entry, &cd, msg, sizeof(msg)) < 0) {
		/* The parser quotes the entry; say what is wrong without it. */
		snprintf(why, whylen, "not an address or CIDR with its host bits zero "
			 "(e.g. 192.0.2.0/24, 2001:db8::/32)");
		return -EINVAL;
	}
	if (bwg_addrset_add(&x->c->addrs, cd.family, cd.addr, cd.len, x->cls, x->src, line) < 0) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	x->c->addr_entries++;
	return 0;
}

/* Read one list file for class k; errors as CONFIG: JSON.PATH: FILE:LINE: fault. */
static int
read_list(struct bwg_classes *c, const struct bwg_config *conf, uint8_t k, const char *name,
	  const char *where, enum bwg_list_kind kind, char *err, size_t errlen)
{
	struct list_ctx x = {.c = c, .cls = k};
	int rc = src_add(c, name, &x.src);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s: %s", conf->path, where,
			 rc == -E2BIG ? "too many list files" : "out of memory");
		return rc;
	}
	char msg[BWG_CONFIG_ERR_MAX];
	long n = bwg_list_read(conf->lists_dir, name, kind,
			       kind == BWG_LIST_DOMAINS ? host_entry : addr_entry, &x, msg,
			       sizeof(msg));
	if (n < 0) {
		snprintf(err, errlen, "%s: %s: %s", conf->path, where, msg);
		return (int)n;
	}
	return 0;
}

static int
build_class(struct bwg_classes *c, const struct bwg_config *conf, const struct bwg_dpi *dpi,
	    uint8_t k, char *err, size_t errlen)
{
	const struct bwg_conf_class *cl = &conf->classes[k];
	char msg[320];
	for (uint32_t i = 0; i < cl->apps.n; i++) {
		int id = bwg_dpi_app_id(dpi, cl->apps.v[i]);
		if (id < 0) {
			char h[240];
			snprintf(msg, sizeof(msg), "is not an nDPI application name (%s)",
				 bwg_dpi_app_hint(dpi, cl->apps.v[i], h, sizeof(h)));
			return bwg_config_name_error(err, errlen, conf, cl->apps.where[i], msg, cl->apps.v[i]);
		}
		if (c->by_app[id] != BWG_CLASS_NONE && c->by_app[id] != k) {
			snprintf(msg, sizeof(msg), "is already in class \"%s\"",
				 c->names[c->by_app[id]]);
			return bwg_config_name_error(err, errlen, conf, cl->apps.where[i], msg, cl->apps.v[i]);
		}
		c->by_app[id] = k;
	}
	for (uint32_t i = 0; i < cl->categories.n; i++) {
		int id = bwg_dpi_category_id(dpi, cl->categories.v[i]);
		if (id < 0) {
			char h[240];
			snprintf(msg, sizeof(msg), "is not an nDPI category name (%s)",
				 bwg_dpi_category_hint(dpi, cl->categories.v[i], h, sizeof(h)));
			return bwg_config_name_error(err, errlen, conf, cl->categories.where[i], msg,
				    cl->categories.v[i]);
		}
		if (c->by_category[id] != BWG_CLASS_NONE && c->by_category[id] != k) {
			snprintf(msg, sizeof(msg), "is already in class \"%s\"",
				 c->names[c->by_category[id]]);
			return bwg_config_name_error(err, errlen, conf, cl->categories.where[i], msg,
				    cl->categories.v[i]);
		}
		c->by_category[id] = k;
	}
	for (uint32_t i = 0; i < cl->detectors.n; i++) {
		int id = bwg_detector_id(cl->detectors.v[i]);
		if (id < 0) {
			char known[BWG_CONFIG_ERR_MAX] = "";
			for (int d = 1; d < BWG_DET_MAX; d++)
				if (bwg_detector((uint8_t)d))
					snprintf(known + strlen(known), sizeof(known) - strlen(known),
						 "%s%s", known[0] ? ", " : "",
						 bwg_detector((uint8_t)d)->name);
			snprintf(err, errlen, "%s: %s: \"%s\" is not a bwgate detector (known: %s)",
				 conf->path, cl->detectors.where[i], cl->detectors.v[i], known);
			return -EINVAL;
		}
		if (c->by_detector[id] != BWG_CLASS_NONE && c->by_detector[id] != k) {
			snprintf(msg, sizeof(msg), "is already in class \"%s\"",
				 c->names[c->by_detector[id]]);
			return bwg_config_name_error(err, errlen, conf, cl->detectors.where[i], msg,
				    cl->detectors.v[i]);
		}
		c->by_detector[id] = k;
		c->detectors_wanted |= BWG_DET_BIT(id);
	}
	c->socket_affinity[k] = cl->socket_affinity;
	for (uint32_t i = 0; i < cl->hosts.n; i++) {
		uint8_t old;
		int rc = bwg_hostset_add_src(&c->hosts, cl->hosts.v[i], k, 0, &old);
		if (rc == -EEXIST) {
			snprintf(msg, sizeof(msg), "is already a host of class \"%s\"", c->names[old]);
			return bwg_config_name_error(err, errlen, conf, cl->hosts.where[i], msg, cl->hosts.v[i]);
		}
		if (rc < 0)
			return rc;
		c->host_entries++;
	}
	for (uint32_t i = 0; i < cl->addresses.n; i++) {
		struct bwg_cidr cd;
		if (bwg_config_parse_cidr(cl->addresses.v[i], &cd, msg, sizeof(msg)) < 0 ||
		    bwg_addrset_add(&c->addrs, cd.family, cd.addr, cd.len, k, 0, i) < 0)
			return -ENOMEM; /* the config checked the syntax */
		c->addr_entries++;
	}
	int rc;
	for (uint32_t i = 0; i < cl->host_files.n; i++)
		if ((rc = read_list(c, conf, k, cl->host_files.v[i], cl->host_files.where[i],
				    BWG_LIST_DOMAINS, err, errlen)) < 0)
			return rc;
	for (uint32_t i = 0; i < cl->address_files.n; i++)
		if ((rc = read_list(c, conf, k, cl->address_files.v[i], cl->address_files.where[i],
				    BWG_LIST_ADDRESSES, err, errlen)) < 0)
			return rc;
	return 0;
}

/* Where a prefix came from, for messages: "FILE:LINE" or the JSON path. */
static void
prefix_where(const struct bwg_classes *c, const struct bwg_config *conf,
	     const struct bwg_addrset_prefix *p, char *buf, size_t len)
{
	if (p->src == 0)
		snprintf(buf, len, "classes.%s.addresses[%u]", c->names[p->value], p->line);
	else
		snprintf(buf, len, "%s:%u", c->src[p->src], p->line);
	(void)conf;
}

int
bwg_classes_build(struct bwg_classes *c, const struct bwg_config *conf, const struct bwg_dpi *dpi,
		  char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	bwg_addrset_init(&c->addrs);
	c->app_count = bwg_dpi_app_count(dpi);
	c->category_count = bwg_dpi_category_count(dpi);
	c->by_app = malloc(c->app_count);
	c->by_category = malloc(c->category_count);
	uint16_t tag;
	if (!c->by_app || !c->by_category || bwg_hostset_init(&c->hosts, 1024) < 0 ||
	    src_add(c, conf->path, &tag) < 0) {
		snprintf(err, errlen, "out of memory compiling the classes");
		return -ENOMEM;
	}
	memset(c->by_app, BWG_CLASS_NONE, c->app_count);
	memset(c->by_category, BWG_CLASS_NONE, c->category_count);
	memset(c->by_detector, BWG_CLASS_NONE, sizeof(c->by_detector));
	c->n = conf->n_classes;
	for (uint32_t k = 0; k < conf->n_classes; k++)
		c->names[k] = conf->classes[k].name;
	for (uint32_t k = 0; k < conf->n_classes; k++) {
		int rc = build_class(c, conf, dpi, (uint8_t)k, err, errlen);
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory compiling the classes");
		if (rc < 0)
			return rc;
	}
	int rc = bwg_addrset_build(&c->addrs);
	if (rc == -EEXIST) {
		const struct bwg_addrset_prefix *a = &c->addrs.dup[0], *b = &c->addrs.dup[1];
		if (a->src > b->src || (a->src == b->src && a->line > b->line)) {
			const struct bwg_addrset_prefix *t = a;
			a = b, b = t;
		}
		char wa[300], wb[300];
		prefix_where(c, conf, a, wa, sizeof(wa));
		prefix_where(c, conf, b, wb, sizeof(wb));
		snprintf(err, errlen, "%s: %s: the same prefix as %s, which puts it in class \"%s\" "
			 "(a prefix may be in one class only)", conf->path, wb, wa,
			 c->names[a->value]);
		return -EINVAL;
	}
	if (rc < 0) {
		snprintf(err, errlen, "out of memory compiling the classes");
		return rc;
	}
	return 0;
}

void
bwg_classes_fini(struct bwg_classes *c)
{
	free(c->by_app);
	free(c->by_category);
	bwg_hostset_fini(&c->hosts);
	bwg_addrset_fini(&c->addrs);
	for (uint32_t i = 0; i < c->n_src; i++)
		free(c->src[i]);
	free(c->src);
	memset(c, 0, sizeof(*c));
}

/* ---- the decision ------------------------------------------------------------------------ */

static inline bool
named(const char *s)
{
	return s && *s;
}

static inline uint8_t
by_app(const struct bwg_classes *c, uint16_t id)
{
	return id && id < c->app_count ? c->by_app[id] : BWG_CLASS_NONE;
}

static const struct bwg_addrset_prefix *
addr_match(const struct bwg_classes *c, const struct bwg_class_evidence *e)
{
	if (!c->addrs.n || !e->server)
		return NULL;
	const struct bwg_addrset_prefix *p = bwg_addrset_match(&c->addrs, e->family, e->server);
	if (!p && e->client)
		p = bwg_addrset_match(&c->addrs, e->family, e->client);
	return p;
}

static inline void
set(struct bwg_class_decision *d, uint8_t cls, enum bwg_class_source src, uint8_t det)
{
	d->cls = cls;
	d->source = (uint8_t)src;
	d->detector = det;
}

/* What the weakest evidence says (nDPI's port guess, its category, the master protocol),
 * steps 7 and 8. */
static void
decide_weak(const struct bwg_classes *c, const struct bwg_class_evidence *e,
	    struct bwg_class_decision *d)
{
	uint8_t k;
	if (e->guessed && (k = by_app(c, e->app)) != BWG_CLASS_NONE)
		return set(d, k, BWG_SRC_NDPI_APP, 0);
	/* The category says what kind of service it is, the master only how it travels. */
	if (e->category < c->category_count && (k = c->by_category[e->category]) != BWG_CLASS_NONE)
		return set(d, k, BWG_SRC_NDPI_CATEGORY, 0);
	if ((k = by_app(c, e->master)) != BWG_CLASS_NONE)
		return set(d, k, BWG_SRC_NDPI_APP, 0);
	set(d, BWG_CLASS_UNKNOWN, BWG_SRC_DEFAULT, 0);
}

void
bwg_classes_decide(const struct bwg_classes *c, const struct bwg_class_evidence *e,
		   struct bwg_class_decision *d)
{
	const struct bwg_hostset_entry *h;
	const struct bwg_addrset_prefix *px;
	uint8_t k;
	d->named_by_dns = false;
	if (named(e->host) && (h = bwg_hostset_lookup(&c->hosts, e->host)))
		return set(d, h->value, BWG_SRC_HOST_LIST, 0);
	if ((px = addr_match(c, e)))
		return set(d, px->value, BWG_SRC_HOST_LIST, 0);
	/* The app names the service (YouTube in TLS.YouTube); a port guess is weaker than
	 * bwgate's own evidence below. */
	if (!e->guessed && (k = by_app(c, e->app)) != BWG_CLASS_NONE)
		return set(d, k, BWG_SRC_NDPI_APP, 0);
	if (!named(e->host) && named(e->learned) &&
	    (h = bwg_hostset_lookup(&c->hosts, e->learned))) {
		set(d, h->value, e->learned_from_flow ? BWG_SRC_FLOW_NAME : BWG_SRC_DNS, 0);
		d->named_by_dns = true;
		return;
	}
	bool nameless = bwg_class_evidence_nameless(e);
	const struct bwg_detector *det = bwg_detector(e->detector);
	uint8_t kd = det && (nameless || !det->unknown_only) ? c->by_detector[e->detector]
							     : BWG_CLASS_NONE;
	if (kd != BWG_CLASS_NONE && !det->weak)
		return set(d, kd, BWG_SRC_HEURISTIC, e->detector);
	/* The socket's other flow was recognised (a call's signalling, a game's login): its
	 * class outranks what a payload lacks and a host's tag, but never what nDPI's guess
	 * or category give a class of no socket affinity (business, ordinary web). */
	if (e->socket_cls < c->n && c->socket_affinity[e->socket_cls]) {
		decide_weak(c, e, d);
		if (d->cls == BWG_CLASS_UNKNOWN || c->socket_affinity[d->cls])
			set(d, e->socket_cls, BWG_SRC_SOCKET, 0);
		return;
	}
	/* A P2P peer's unnamed flows are its P2P. A weak detector comes after: a peer's
	 * encrypted connections look fully encrypted too, and what the host is known to be
	 * says more than a payload's lack of structure. */
	uint8_t beh = bwg_detector_behaviour_id();
	if (e->p2p_host && nameless && !named(e->host) && !named(e->learned) &&
	    (k = c->by_detector[beh]) != BWG_CLASS_NONE)
		return set(d, k, BWG_SRC_BEHAVIOUR, beh);
	if (kd != BWG_CLASS_NONE)
		return set(d, kd, BWG_SRC_HEURISTIC, e->detector);
	decide_weak(c, e, d);
}

/* The n-th name of a certificate's list into buf, without a leading "*."; false past the
 * last one. */
static bool
cert_nth(const char *names, unsigned n, char *buf, size_t len)
{
	const char *p = names;
	for (; n > 0 && p; n--) {
		p = strchr(p, ',');
		if (p)
			p++;
	}
	if (!p || !*p)
		return false;
	if (p[0] == '*' && p[1] == '.')
		p += 2;
	size_t k = strcspn(p, ",");
	if (k >= len)
		k = len - 1;
	memcpy(buf, p, k);
	buf[k] = 0;
	return true;
}

bool
bwg_cert_dn_value(const char *dn, const char *key, char *buf, size_t len)
{
	size_t k = strlen(key);
	if (!dn || len == 0)
		return false;
	for (const char *at = dn; *at; at++) {
		if ((at != dn && (at - dn < 2 || at[-2] != ',' || at[-1] != ' ')) ||
		    strncmp(at, key, k) != 0 || at[k] != '=')
			continue;
		const char *v = at + k + 1, *end = strstr(v, ", ");
		size_t n = end ? (size_t)(end - v) : strlen(v);
		if (n >= len)
			n = len - 1;
		memcpy(buf, v, n);
		buf[n] = '\0';
		return true;
	}
	return false;
}

/* A host name as a certificate's CN may hold one: labels of letters, digits and '-',
 * at least two, an optional leading "*."; not an address (a last label of digits). */
static bool
cn_host(const char *s)
{
	if (s[0] == '*' && s[1] == '.')
		s += 2;
	size_t n = strlen(s), label = 0, dots = 0;
	const char *last = s;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
			dots++;
			last = s + i + 1;
		} else if (isalnum(ch) || ch == '-') {
			label++;
		} else {
			return false;
		}
	}
	return label > 0 && dots > 0 && strspn(last, "0123456789") != strlen(last);
}

const char *
bwg_classes_cert_name(const struct bwg_classes *c, const char *names, const char *subject,
		      bool search, char *buf, size_t len)
{
	/* Without names, the common name is the certificate's one name (host lists match
	 * in any case). */
	char cn[BWG_DPI_HOST_MAX];
	if ((!names || !*names) && bwg_cert_dn_value(subject, "CN", cn, sizeof(cn)) && cn_host(cn))
		names = cn;
	if (!names || !*names || len == 0)
		return NULL;
	for (unsigned i = 0; search && cert_nth(names, i, buf, len); i++)
		if (*buf && bwg_hostset_lookup(&c->hosts, buf))
			return buf;
	return cert_nth(names, 0, buf, len) && *buf ? buf : NULL;
}

const char *
bwg_classes_explain(const struct bwg_classes *c, const struct bwg_dpi *dpi,
		    const struct bwg_class_evidence *e, const struct bwg_class_decision *d,
		    char *buf, size_t len)
{
	char pat[BWG_HOST_NAME_MAX + 8], ip[64];
	const struct bwg_hostset_entry *h;
	const struct bwg_addrset_prefix *px;
	buf[0] = 0;
	switch (d->source) {
	case BWG_SRC_HOST_LIST:
		if (named(e->host) && (h = bwg_hostset_lookup(&c->hosts, e->host))) {
			snprintf(buf, len, "%s: %s", h->src ? c->src[h->src] : "config hosts",
				 bwg_hostset_pattern(&c->hosts, h, pat, sizeof(pat)));
		} else if ((px = addr_match(c, e))) {
			bwg_log_format_ip(px->family, px->addr, ip, sizeof(ip));
			snprintf(buf, len, "%s: %s/%u", px->src ? c->src[px->src] : "config addresses",
				 ip, px->len);
		}
		break;
	case BWG_SRC_DNS:
	case BWG_SRC_FLOW_NAME:
		if (named(e->learned) && (h = bwg_hostset_lookup(&c->hosts, e->learned)))
			snprintf(buf, len, "name learned from %s %s -> %s: %s",
				 d->source == BWG_SRC_DNS ? "DNS" : "another flow to the server",
				 e->learned, h->src ? c->src[h->src] : "config hosts",
				 bwg_hostset_pattern(&c->hosts, h, pat, sizeof(pat)));
		break;
	case BWG_SRC_SOCKET:
		snprintf(buf, len, "its inside socket's other flow was classed %s",
			 d->cls < c->n ? c->names[d->cls] : "?");
		break;
	case BWG_SRC_NDPI_APP: {
		uint16_t id = by_app(c, e->app) == d->cls ? e->app : e->master;
		snprintf(buf, len, "nDPI %s %s%s", id == e->app ? "app" : "master protocol",
			 bwg_dpi_app_name(dpi, id), e->guessed ? " (guessed by port)" : "");
		break;
	}
	case BWG_SRC_NDPI_CATEGORY:
		snprintf(buf, len, "nDPI category %s", bwg_dpi_category_name(dpi, e->category));
		break;
	case BWG_SRC_HEURISTIC:
	case BWG_SRC_BEHAVIOUR: {
		const struct bwg_detector *det = bwg_detector(d->detector);
		if (det)
			snprintf(buf, len, "%s: %s", det->name, det->rule);
		break;
	}
	default:
		snprintf(buf, len, "no class claims it");
		break;
	}
	return buf;
}
