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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ndpi_api.h>

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

static int
load_file(struct bwg_dpi *d, const char *path, const char *what, char *err, size_t errlen)
{
	if (access(path, R_OK) != 0) {
		int e = errno;
		snprintf(err, errlen, "dpi.%s: cannot read \"%s\": %s", what, path, strerror(e));
		return -e;
	}
	int rc = strcmp(what, "protocols_file") == 0 ? ndpi_load_protocols_file(d->mod, path)
						     : ndpi_load_categories_file(d->mod, path);
	if (rc < 0) {
		snprintf(err, errlen, "dpi.%s: nDPI could not load \"%s\"", what, path);
		return -EINVAL;
	}
	return 0;
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
	d->states = aligned_alloc(64, d->state_stride * (conf->pool_size ? conf->pool_size : 1));
	d->free_stack = malloc(sizeof(uint32_t) * (conf->pool_size ? conf->pool_size : 1));
	if (!d->states || !d->free_stack) {
		snprintf(err, errlen, "out of memory for %u nDPI flow states (%zu bytes each)",
			 conf->pool_size, d->state_stride);
		goto fail;
	}
	memset(d->states, 0, d->state_stride * conf->pool_size);
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
	free(d->states);
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
	r->cert_names = NULL;
	if (is_proto(proto, NDPI_PROTOCOL_TLS) || is_proto(proto, NDPI_PROTOCOL_DTLS) ||
	    is_proto(proto, NDPI_PROTOCOL_QUIC))
		r->cert_names = s->protos.tls_quic.server_names;
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

const char *
bwg_dpi_label(const struct bwg_dpi *d, uint16_t master, uint16_t app, char *buf, size_t len)
{
	ndpi_protocol proto = {.master_protocol = master, .app_protocol = app};
	return ndpi_protocol2name(d->mod, proto, buf, (u_int)len);
}
