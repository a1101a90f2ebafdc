/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_DPI_H
#define BWG_DPI_H

/*
 * Deep packet inspection: nDPI 4.2 behind one interface. Only dpi_ndpi.c includes nDPI.
 *
 * One `struct bwg_dpi` per worker: it holds that worker's nDPI detection module (nDPI
 * writes caches in it while dissecting, so it is not shared) and a fixed pool of
 * per-flow detection states. A flow borrows a state while it is being classified and
 * returns it when nDPI is done, so a classified flow costs only its 128-byte record.
 *
 * Created and destroyed by the control thread; fed by the owning worker.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bwg_pkt.h"

#define BWG_DPI_NO_SLOT UINT32_MAX
#define BWG_DPI_HOST_MAX 80 /* nDPI 4.2's host_server_name size, NUL included */

/* Packet budgets per L4 protocol family, indexes of bwg_dpi_conf.max_pkts. */
enum bwg_dpi_l4 {
	BWG_DPI_TCP,
	BWG_DPI_UDP,
	BWG_DPI_OTHER,
	BWG_DPI_L4_MAX,
};

struct bwg_dpi_conf {
	const char *protocols_file;  /* nDPI protos.txt format, or NULL */
	const char *categories_file; /* nDPI categories file format, or NULL */
	uint32_t pool_size;          /* detection states available at once */
	uint32_t max_pkts[BWG_DPI_L4_MAX]; /* give-up budget: packets of the flow */
};

/* What nDPI says of a flow. Ids are nDPI's; 0 is Unknown / Unspecified. */
struct bwg_dpi_result {
	uint16_t master;
	uint16_t app;
	uint16_t category;
	bool guessed;     /* no dissector named it: nothing yet, or a guess by port */
	/* What nDPI extracted; pointers are valid until the slot is returned. */
	const char *host; /* HTTP Host, TLS/QUIC SNI or DNS query; "" when none */
	const char *url;          /* HTTP request URL, or NULL */
	const char *content_type; /* HTTP response Content-Type, or NULL */
	const char *cert_names;   /* TLS/DTLS/QUIC server certificate names ("a,b"), or NULL */
	/* The server certificate's subject and issuer as nDPI writes them ("C=.., O=..,
	 * CN=.."), once it has read the certificate (TLS 1.2, DTLS); else NULL. */
	const char *cert_subject;
	const char *cert_issuer;
};

struct bwg_dpi;

/*
 * Build a detection module and a pool of `conf->pool_size` states. On error returns
 * -errno and writes a message naming the file and the fault into err.
 */
int bwg_dpi_create(struct bwg_dpi **out, const struct bwg_dpi_conf *conf, char *err,
		   size_t errlen);
void bwg_dpi_destroy(struct bwg_dpi *d);

/* Bytes of one nDPI per-flow state (688 in nDPI 4.2). */
size_t bwg_dpi_state_size(void);

/* Take a zeroed detection state; BWG_DPI_NO_SLOT when the pool is empty. */
uint32_t bwg_dpi_slot_get(struct bwg_dpi *d);
/* Return a state to the pool, releasing what nDPI allocated for it. */
void bwg_dpi_slot_put(struct bwg_dpi *d, uint32_t slot);
uint32_t bwg_dpi_slots_free(const struct bwg_dpi *d);
uint32_t bwg_dpi_pool_size(const struct bwg_dpi *d);

/*
 * Give one packet of a flow to nDPI. `flow_pkts` is the number of packets the flow has
 * seen including this one; `ts_ns` the packet time. Fills *r with the current answer.
 * Returns true when detection is over: nDPI named the app and has no more metadata to
 * extract, or the budget is spent (then the answer is nDPI's guess), as ndpiReader
 * decides. The caller then returns the slot.
 */
bool bwg_dpi_feed(struct bwg_dpi *d, uint32_t slot, const struct bwg_pkt *p, uint64_t ts_ns,
		  uint32_t flow_pkts, struct bwg_dpi_result *r);

/* Stop inspecting: nDPI's best guess for a flow that ends before it was classified. */
void bwg_dpi_giveup(struct bwg_dpi *d, uint32_t slot, struct bwg_dpi_result *r);

/* Names. Ids out of range name "Unknown". */
uint32_t bwg_dpi_app_count(const struct bwg_dpi *d);
uint32_t bwg_dpi_category_count(const struct bwg_dpi *d);
const char *bwg_dpi_app_name(const struct bwg_dpi *d, uint16_t id);
const char *bwg_dpi_category_name(const struct bwg_dpi *d, uint16_t id);
/* nDPI id of an application / category name (case-sensitive), or -1. */
int bwg_dpi_app_id(const struct bwg_dpi *d, const char *name);
int bwg_dpi_category_id(const struct bwg_dpi *d, const char *name);
/*
 * Why `name` is not an application (category) name, for an error message: the names
 * an operator most likely meant (`did you mean "YouTube"?`), or where to find them.
 * Returns buf.
 */
const char *bwg_dpi_app_hint(const struct bwg_dpi *d, const char *name, char *buf, size_t len);
const char *bwg_dpi_category_hint(const struct bwg_dpi *d, const char *name, char *buf,
				  size_t len);

/*
 * A label as bwg_dpi_label prints it back into ids: "TLS.YouTube" -> master TLS, app
 * YouTube; "HTTP" -> master 0, app HTTP (as nDPI reports a flow it names by one
 * protocol); "Unknown" -> 0, 0. Returns 0, or -1 when a part is no application name.
 */
int bwg_dpi_label_parse(const struct bwg_dpi *d, const char *label, uint16_t *master,
			uint16_t *app);
/* The category nDPI gives a flow of (master, app) when nothing more specific (a host
 * list of its own) says otherwise: the app's, else the master's. */
uint16_t bwg_dpi_app_category(const struct bwg_dpi *d, uint16_t master, uint16_t app);

/* The app label exactly as ndpiReader prints it ("TLS.YouTube"). Returns buf. */
const char *bwg_dpi_label(const struct bwg_dpi *d, uint16_t master, uint16_t app, char *buf,
			  size_t len);

#endif
