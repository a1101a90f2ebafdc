/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: names learned from DNS. Arbitrary bytes go to bwg_dnsnames_learn as
 * a UDP message and as a TCP segment (length-prefixed messages), into a cache of one set
 * so that replacement and expiry run too; then every address the bytes could have
 * taught is looked up, and a name found must be printable lower-case ASCII,
 * NUL-terminated. Built
 * by `scripts/fuzz` (clang, -Dfuzz=true); any out-of-bounds read is an ASan report.
 */

#include <stdlib.h>
#include <string.h>

#include "bwg_dnsnames.h"
#include "bwg_hash.h"

#define SEC 1000000000ull
#define T0 (1795572000ull * SEC)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_name(const char *s, size_t len)
{
	size_t n = strnlen(s, len);
	if (n == len)
		abort(); /* not NUL-terminated */
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '"' ||
		    s[i] == '\\')
			abort(); /* printable lower-case ASCII that a record quotes as it is */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int keyed;
	if (!keyed) {
		bwg_hash_secret_set(0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull);
		keyed = 1;
	}
	struct bwg_dnsnames *n;
	struct bwg_dnsnames_conf conf = {.entries = 4, .max_ttl = 120};
	char err[128];
	if (bwg_dnsnames_create(&n, &conf, err, sizeof(err)) < 0)
		abort();
	/* An exact-size copy, so that reading one byte past the end is caught. */
	uint8_t *msg = malloc(size ? size : 1);
	if (!msg)
		abort();
	memcpy(msg, data, size);
	struct bwg_dnsnames_counters c = {0};
	bwg_dnsnames_learn(n, msg, (uint32_t)size, false, T0, &c);
	bwg_dnsnames_learn(n, msg, (uint32_t)size, true, T0 + 90 * SEC, &c);
	if (c.busy != 0)
		abort(); /* one thread never finds a set busy */

	/* An address it taught follows an rdlength of 4 or 16. */
	char name[80];
	for (size_t off = 2; off + 4 <= size; off++) {
		if (msg[off - 2] != 0 || (msg[off - 1] != 4 && msg[off - 1] != 16))
			continue;
		uint8_t a[16] = {0};
		memcpy(a, msg + off, msg[off - 1] == 4 ? 4 : (off + 16 <= size ? 16 : 0));
		if (bwg_dnsnames_lookup(n, msg[off - 1] == 4 ? 4 : 6, a, T0 + 100 * SEC, name,
					sizeof(name)))
			check_name(name, sizeof(name));
	}
	free(msg);
	bwg_dnsnames_destroy(n);
	return 0;
}
