/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Detector "fully_encrypted": proxies whose every byte looks random from the first one
 * (Shadowsocks, VMess, obfs4 and the like), by the rule the Great Firewall of China was
 * measured to apply from November 2021 (Wu, Zohaib, Durumeric, Houmansadr, Wustrow: "How
 * the Great Firewall of China Detects and Blocks Fully Encrypted Traffic", USENIX
 * Security 2023, section 4). It looks at the first data packet a TCP client sends and
 * exempts it when any of these holds:
 *
 *   Ex1  the average number of bits set per byte is <= 3.4 or >= 4.6 (random bytes
 *        average 4: text, zero-padded headers and most binary formats are far off)
 *   Ex2  its first six bytes are printable ASCII (0x20..0x7e)
 *   Ex3  more than half of its bytes are printable ASCII
 *   Ex4  it holds more than 20 contiguous printable ASCII bytes
 *   Ex5  it starts like TLS ([\x16-\x17]\x03[\x00-\x09]) or an HTTP request
 *
 * and calls the connection fully encrypted when none does. The GFW applies it to a share
 * of connections only; bwgate applies it to every TCP flow nDPI cannot name (the class
 * engine gives nDPI's own dissectors precedence) whose opening SYN it saw — a connection
 * picked up mid-stream (after an idle timeout, or a capture started late) shows an SSH
 * or TLS record's middle, not a first packet — with a floor of 8 bytes, below which a
 * bit count says nothing. Worker thread; stateless.
 */

#include <string.h>

#include "bwg_classify.h"
#include "det_common.h"

#define MIN_LEN 8

static inline int
printable(uint8_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* 1 when the paper's exemptions leave the payload standing: it looks fully encrypted. */
static int
looks_fully_encrypted(const uint8_t *b, uint32_t n)
{
	if (n < MIN_LEN)
		return 0;
	uint64_t bits = 0;
	uint32_t print = 0, run = 0, longest = 0;
	for (uint32_t i = 0; i < n; i++) {
		bits += (uint64_t)__builtin_popcount(b[i]);
		if (printable(b[i])) {
			print++;
			if (++run > longest)
				longest = run;
		} else {
			run = 0;
		}
	}
	/* Ex1 in integers: bits/n <= 3.4  <=>  10 bits <= 34 n. */
	if (10 * bits <= 34ull * n || 10 * bits >= 46ull * n)
		return 0;
	int prefix = 1; /* Ex2 */
	for (int i = 0; i < 6; i++)
		prefix &= printable(b[i]);
	if (prefix || 2 * print > n || longest > 20) /* Ex2, Ex3, Ex4 */
		return 0;
	if (b[0] >= 0x16 && b[0] <= 0x17 && b[1] == 0x03 && b[2] <= 0x09) /* Ex5: TLS */
		return 0;
	static const char *const http[] = {"GET ", "PUT ", "POST ", "HEAD "};
	for (unsigned i = 0; i < sizeof(http) / sizeof(http[0]); i++) /* Ex5: HTTP */
		if (n >= strlen(http[i]) && memcmp(b, http[i], strlen(http[i])) == 0)
			return 0;
	return 1;
}

static enum bwg_det_answer
packet(const struct bwg_det_pkt *p)
{
	/* The client's first data packet decides (after the server's, if it speaks first);
	 * a connection picked up mid-stream has no first packet to judge. */
	int at = bwg_det_client_opening(p);
	if (at <= 0)
		return at < 0 ? BWG_DET_NEVER : BWG_DET_MAYBE;
	return looks_fully_encrypted(p->payload, p->len) ? BWG_DET_MATCH : BWG_DET_NEVER;
}

const struct bwg_detector bwg_det_fully_encrypted = {
	.name = "fully_encrypted",
	.rule = "the client's first data looks fully encrypted: 3.4 < bits/byte < 4.6, no "
		"printable prefix or run, not TLS or HTTP (Wu et al. 2023)",
	.source = BWG_SRC_HEURISTIC,
	.protos = BWG_DET_TCP,
	.max_payloads = 1,
	.unknown_only = true,
	.weak = true, /* random-looking is all it knows: a P2P peer's MSE/PE looks the same */
	.packet = packet,
};
