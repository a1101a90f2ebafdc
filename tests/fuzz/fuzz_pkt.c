/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the frame parser on arbitrary bytes, under every link type, with
 * and without IP sniffing, and with wire lengths above the capture; the inline path
 * (bwg_pkt_parse) must agree with the whole parser (bwg_pkt_parse_full). Built by
 * `scripts/fuzz` (clang, -Dfuzz=true); any out-of-bounds read is an ASan report.
 */

#include <stdlib.h>
#include <string.h>

#include "bwg_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that reading one byte past the end is caught. */
	uint8_t *frame = malloc(size ? size : 1);
	if (!frame)
		return 0;
	memcpy(frame, data, size);
	for (int link = 0; link < BWG_LINK_MAX; link++) {
		for (unsigned flags = 0; flags <= BWG_PKT_SNIFF_IP; flags++) {
			struct bwg_pkt p;
			enum bwg_pkt_result r = bwg_pkt_parse(&p, frame, (uint32_t)size,
							      (uint32_t)size, link, flags);
			if (bwg_pkt_has_ip(r) && (p.l3 < frame || p.l3 + p.l3_cap > frame + size))
				abort(); /* nDPI would read outside the frame */
			/* The inline path must say what the whole parser says. */
			struct bwg_pkt z;
			if (bwg_pkt_parse_full(&z, frame, (uint32_t)size, (uint32_t)size, link,
					       flags) != r ||
			    (bwg_pkt_has_ip(r) &&
			     (memcmp(z.addr, p.addr, 40) != 0 || z.l3 != p.l3 ||
			      z.l3_len != p.l3_len || z.l3_cap != p.l3_cap || z.cut != p.cut ||
			      z.l4_off != p.l4_off || z.tcp_flags != p.tcp_flags ||
			      z.frag != p.frag || z.tunnels != p.tunnels ||
			      z.l4_payload != p.l4_payload)))
				abort();
			bwg_pkt_parse(&p, frame, (uint32_t)size, (uint32_t)size + 1500, link, flags);
		}
	}
	free(frame);
	return 0;
}
