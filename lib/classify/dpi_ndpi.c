/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The only file that includes nDPI. A library upgrade touches this file alone.
 *
 * The dissection loop follows ndpiReader's (nDPI 4.2 example/reader_util.c) so that
 * the labels bwgate prints agree with the reference tool: every packet of a flow goes
 * to ndpi_detection_process_packet() until the app is known and
 * ndpi_extra_dissection_possible() says nothing more is to be learnt, or the flow has
 * seen more than the packet budget (ndpiReader: 80 TCP, 24 UDP); then an unknown flow
 * takes ndpi_detection_giveup()'s guess. Unlike ndpiReader, bwgate stops there: an
 * established flow never reaches nDPI again.
 *
 * Detection states come from a pool carved out of one allocation at start-up. nDPI
 * itself still allocates small buffers inside a state while dissecting (e.g. TLS
 * certificate names); ndpi_free_flow_data() releases them when the slot is returned.
 *
 * Create/destroy: control thread. Slots and feeding: the owning worker only.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ndpi_api.h>

#include "bwg_config.h"
#include "bwg_slotmap.h"
#include "bwg_dpi.h"

struct bwg_dpi {
	struct ndpi_detection_module_struct *mod;
	uint8_t *states;     /* pool_size states of state_stride bytes */
	uint32_t *free_stack;
	uint32_t free_top;
	uint32_t pool_size;
	size_t state_stride;
	uint32_t max_pkts[BWG_DPI_L4_MAX];
	uint32_t app_count;
};

static inline struct ndpi_flow_struct *
slot_state(const struct bwg_dpi *d, uint32_t slot)
{
	return (struct ndpi_flow_struct *)(d->states + (size_t)slot * d->state_stride);
}

size_t
bwg_dpi_state_size(void)
{
	return ndpi_detection_get_sizeof_ndpi_flow_struct();
}

#define DPI_FILE_MAX (64u << 20)
#define NDPI_LINE_MAX 511 /* nDPI reads these files with a 512-byte fgets() buffer */

/*
 * A categories file line is NAME<TAB>CATEGORY_ID. nDPI turns anything else into nothing
 * (a space instead of the tab) or into category 0 (a name instead of the number).
 */
static int
check_categories(struct bwg_dpi *d, FILE *f, const char *path, char *err, size_t errlen)
{
	char line[NDPI_LINE_MAX + 3];
	unsigned lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		size_t n = strlen(line);
		if (n > NDPI_LINE_MAX && line[n - 1] != '\n') {
			snprintf(err, errlen, "dpi.categories_file: %s:%u: longer than %d bytes "
				 "(nDPI would split it)", path, lineno, NDPI_LINE_MAX);
			return -EINVAL;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (n == 0 || line[0] == '#')
			continue;
		char *tab = strchr(line, '\t');
		if (!tab || tab == line) {
			snprintf(err, errlen, "dpi.categories_file: %s:%u: not NAME<TAB>CATEGORY_ID "
				 "(%s): nDPI would ignore the line", path, lineno,
				 strchr(line, ' ') ? "a space where the tab belongs" : "no tab");
			return -EINVAL;
		}
		char *id = tab + 1, *end;
		errno = 0;
		long v = strtol(id, &end, 10);
		if (end == id || *end || errno || v <= 0 || v >= NDPI_PROTOCOL_NUM_CATEGORIES ||
		    !ndpi_category_get_name(d->mod, (ndpi_protocol_category_t)v)) {
			snprintf(err, errlen, "dpi.categories_file: %s:%u: the category must be an "
				 "nDPI category number (e.g. 102 for Banned_Site), not a name: nDPI "
				 "would file the name under category 0", path, lineno);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * nDPI's loaders read whatever they are given and skip what they do not understand
 * without a word. The file is opened once, the way every file an operator names is (a
 * regular file, bounded, without waiting), its lines checked where nDPI would misread
 * them, and nDPI then reads that same open file through /proc/self/fd, so nothing can
 * be swapped in between the check and the load.
 */
static int
load_file(struct bwg_dpi *d, const char *path, const char *what, char *err, size_t errlen)
{
	char prefix[40];
	snprintf(prefix, sizeof(prefix), "dpi.%s: ", what);
	int fd = bwg_config_open_regular(path, DPI_FILE_MAX, prefix, err, errlen);
	if (fd < 0)
		return fd;
	bool categories = strcmp(what, "categories_file") == 0;
	int rc = 0;
	if (categories) {
		int dup_fd = dup(fd);
		FILE *f = dup_fd >= 0 ? fdopen(dup_fd, "r") : NULL;
		if (!f) {
			rc = -errno;
			if (dup_fd >= 0)
				close(dup_fd);
			snprintf(err, errlen, "%s%s: %s", prefix, path, strerror(-rc));
		} else {
			rc = check_categories(d, f, path, err, errlen);
			fclose(f);
		}
	}
	if (rc == 0) {
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		lseek(fd, 0, SEEK_SET);
		rc = categories ? ndpi_load_categories_file(d->mod, self)
				: ndpi_load_protocols_file(d->mod, self);
		if (rc < 0) {
			snprintf(err, errlen, "%snDPI could not load \"%s\"", prefix, path);
			rc = -EINVAL;
		} else {
			rc = 0;
		}
	}
	close(fd);
	return rc;
}

int
bwg_dpi_create(struct bwg_dpi **out, const struct bwg_dpi_conf *conf, char *err, size_t errlen)
{
	struct bwg_dpi *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory for the DPI context");
		return -ENOMEM;
	}
	int rc = -ENOMEM;
	d->mod = ndpi_init_detection_module(ndpi_no_prefs);
	if (!d->mod) {
		snprintf(err, errlen, "nDPI: cannot initialise a detection module");
		goto fail;
	}
	NDPI_PROTOCOL_BITMASK all;
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(d->mod, &all);
	/* Same order as ndpiReader: protocols, categories, then finalize. */
	if (conf->protocols_file &&
	    (rc = load_file(d, conf->protocols_file, "protocols_file", err, errlen)) < 0)
		goto fail;
	if (conf->categories_file &&
	    (rc = load_file(d, conf->categories_file, "categories_file", err, errlen)) < 0)
		goto fail;
	ndpi_finalize_initialization(d->mod);
	d->app_count = ndpi_get_num_supported_protocols(d->mod);

	d->pool_size = conf->pool_size;
	d->state_stride = (bwg_dpi_state_size() + 63) & ~(size_t)63;
	memcpy(d->max_pkts, conf->max_pkts, sizeof(d->max_pkts));
	rc = -ENOMEM;
	d->states = bwg_table_alloc(d->state_stride * (conf->pool_size ? conf->pool_size : 1));
	d->free_stack = malloc(sizeof(uint32_t) * (conf->pool_size ? conf->pool_size : 1));
	if (!d->states || !d->free_stack) {
		snprintf(err, errlen, "out of memory for %u nDPI flow states (%zu bytes each)",
			 conf->pool_size, d->state_stride);
		goto fail;
	}
	for (uint32_t i = 0; i < conf->pool_size; i++)
		d->free_stack[i] = conf->pool_size - 1 - i;
	d->free_top = conf->pool_size;
	*out = d;
	return 0;
fail:
	bwg_dpi_destroy(d);
	return rc;
}

void
bwg_dpi_destroy(struct bwg_dpi *d)
{
	if (!d)
		return;
	if (d->mod)
		ndpi_exit_detection_module(d->mod);
	bwg_table_free(d->states, d->state_stride * (d->pool_size ? d->pool_size : 1));
	free(d->free_stack);
	free(d);
}

uint32_t
bwg_dpi_slot_get(struct bwg_dpi *d)
{
	if (d->free_top == 0)
		return BWG_DPI_NO_SLOT;
	return d->free_stack[--d->free_top];
}

void
bwg_dpi_slot_put(struct bwg_dpi *d, uint32_t slot)
{
	struct ndpi_flow_struct *s = slot_state(d, slot);
	ndpi_free_flow_data(s);
	memset(s, 0, bwg_dpi_state_size());
	d->free_stack[d->free_top++] = slot;
}

uint32_t
bwg_dpi_slots_free(const struct bwg_dpi *d)
{
	return d->free_top;
}

uint32_t
bwg_dpi_pool_size(const struct bwg_dpi *d)
{
	return d->pool_size;
}

static inline bool
is_proto(ndpi_protocol p, uint16_t id)
{
	return p.master_protocol == id || p.app_protocol == id;
}

static void
fill_result(const struct ndpi_flow_struct *s, ndpi_protocol proto, struct bwg_dpi_result *r)
{
	r->master = proto.master_protocol;
	r->app = proto.app_protocol;
	r->category = (uint16_t)proto.category;
	r->guessed = s->confidence < NDPI_CONFIDENCE_MATCH_BY_IP;
	r->host = s->host_server_name;
	r->url = s->http.url;
	r->content_type = s->http.content_type;
	/* protos is a union: its TLS member means something only for TLS-like flows (the
	 * test nDPI itself makes before freeing those names). */
	r->cert_names = r->cert_subject = r->cert_issuer = NULL;
	if (is_proto(proto, NDPI_PROTOCOL_TLS) || is_proto(proto, NDPI_PROTOCOL_DTLS) ||
	    is_proto(proto, NDPI_PROTOCOL_QUIC)) {
		r->cert_names = s->protos.tls_quic.server_names;
		r->cert_subject = s->protos.tls_quic.subjectDN;
		r->cert_issuer = s->protos.tls_quic.issuerDN;
	}
}

bool
bwg_dpi_feed(struct bwg_dpi *d, uint32_t slot, const struct bwg_pkt *p, uint64_t ts_ns,
	     uint32_t flow_pkts, struct bwg_dpi_result *r)
{
	struct ndpi_flow_struct *s = slot_state(d, slot);
	ndpi_protocol proto =
		ndpi_detection_process_packet(d->mod, s, p->l3, p->l3_cap, ts_ns / 1000000);
	enum bwg_dpi_l4 l4 = p->proto == 6 ? BWG_DPI_TCP : p->proto == 17 ? BWG_DPI_UDP
									  : BWG_DPI_OTHER;
	bool enough = flow_pkts > d->max_pkts[l4];
	bool done = false;
	if (enough || proto.app_protocol != NDPI_PROTOCOL_UNKNOWN) {
		if (enough || !ndpi_extra_dissection_possible(d->mod, s)) {
			done = true;
			if (proto.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
				uint8_t guessed;
				proto = ndpi_detection_giveup(d->mod, s, 1, &guessed);
			}
		}
	}
	fill_result(s, proto, r);
	return done;
}

void
bwg_dpi_giveup(struct bwg_dpi *d, uint32_t slot, struct bwg_dpi_result *r)
{
	struct ndpi_flow_struct *s = slot_state(d, slot);
	uint8_t guessed;
	ndpi_protocol proto = ndpi_detection_giveup(d->mod, s, 1, &guessed);
	fill_result(s, proto, r);
}

uint32_t
bwg_dpi_app_count(const struct bwg_dpi *d)
{
	return d->app_count;
}

uint32_t
bwg_dpi_category_count(const struct bwg_dpi *d)
{
	(void)d;
	return NDPI_PROTOCOL_NUM_CATEGORIES;
}

const char *
bwg_dpi_app_name(const struct bwg_dpi *d, uint16_t id)
{
	if (id >= d->app_count)
		id = NDPI_PROTOCOL_UNKNOWN;
	return ndpi_get_proto_name(d->mod, id);
}

const char *
bwg_dpi_category_name(const struct bwg_dpi *d, uint16_t id)
{
	if (id >= NDPI_PROTOCOL_NUM_CATEGORIES)
		id = NDPI_PROTOCOL_CATEGORY_UNSPECIFIED;
	const char *n = ndpi_category_get_name(d->mod, (ndpi_protocol_category_t)id);
	return n ? n : "Unspecified";
}

int
bwg_dpi_app_id(const struct bwg_dpi *d, const char *name)
{
	/* ndpi_get_protocol_id() is case-insensitive; keep names exact for operators. */
	for (uint32_t i = 0; i < d->app_count; i++) {
		const char *n = ndpi_get_proto_name(d->mod, (uint16_t)i);
		if (n && strcmp(n, name) == 0)
			return (int)i;
	}
	return -1;
}

int
bwg_dpi_category_id(const struct bwg_dpi *d, const char *name)
{
	for (int i = 0; i < NDPI_PROTOCOL_NUM_CATEGORIES; i++) {
		const char *n = ndpi_category_get_name(d->mod, (ndpi_protocol_category_t)i);
		if (n && strcmp(n, name) == 0)
			return i;
	}
	return -1;
}

static const char *
hint(const char *const *names, uint32_t n, const char *name, const char *list_cmd, char *buf,
     size_t len)
{
	char near[200];
	if (bwg_config_suggest(name, names, n, near, sizeof(near)) > 0)
		snprintf(buf, len, "did you mean %s?", near);
	else
		snprintf(buf, len, "names are case-sensitive; %s lists them", list_cmd);
	return buf;
}

const char *
bwg_dpi_app_hint(const struct bwg_dpi *d, const char *name, char *buf, size_t len)
{
	const char **names = calloc(d->app_count + 1, sizeof(*names));
	if (!names) {
		snprintf(buf, len, "names are case-sensitive");
		return buf;
	}
	for (uint32_t i = 0; i < d->app_count; i++)
		names[i] = ndpi_get_proto_name(d->mod, (uint16_t)i);
	hint(names, d->app_count, name, "`ndpiReader -a 0`", buf, len);
	free(names);
	return buf;
}

const char *
bwg_dpi_category_hint(const struct bwg_dpi *d, const char *name, char *buf, size_t len)
{
	const char *names[NDPI_PROTOCOL_NUM_CATEGORIES];
	for (int i = 0; i < NDPI_PROTOCOL_NUM_CATEGORIES; i++)
		names[i] = ndpi_category_get_name(d->mod, (ndpi_protocol_category_t)i);
	return hint(names, NDPI_PROTOCOL_NUM_CATEGORIES, name,
		    "doc/configuration.md section 4.4", buf, len);
}

const char *
bwg_dpi_label(const struct bwg_dpi *d, uint16_t master, uint16_t app, char *buf, size_t len)
{
	ndpi_protocol proto = {.master_protocol = master, .app_protocol = app};
	return ndpi_protocol2name(d->mod, proto, buf, (u_int)len);
}

int
bwg_dpi_label_parse(const struct bwg_dpi *d, const char *label, uint16_t *master, uint16_t *app)
{
	int id = bwg_dpi_app_id(d, label);
	if (id >= 0) {
		*master = 0;
		*app = (uint16_t)id;
		return 0;
	}
	const char *dot = strchr(label, '.');
	char m[64];
	if (!dot || (size_t)(dot - label) >= sizeof(m))
		return -1;
	memcpy(m, label, (size_t)(dot - label));
	m[dot - label] = 0;
	int mid = bwg_dpi_app_id(d, m), aid = bwg_dpi_app_id(d, dot + 1);
	if (mid < 0 || aid < 0)
		return -1;
	*master = (uint16_t)mid;
	*app = (uint16_t)aid;
	return 0;
}

uint16_t
bwg_dpi_app_category(const struct bwg_dpi *d, uint16_t master, uint16_t app)
{
	ndpi_protocol proto = {.master_protocol = master, .app_protocol = app,
			       .category = NDPI_PROTOCOL_CATEGORY_UNSPECIFIED};
	return (uint16_t)ndpi_get_proto_category(d->mod, proto);
}
