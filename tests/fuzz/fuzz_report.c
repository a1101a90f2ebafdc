/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the audit-log line reader (bwgate-report's parser) on arbitrary
 * bytes. Every input is one line or refused; a line accepted holds kept strings that
 * are NUL-terminated at their stated length, valid UTF-8 with no NUL inside. Built by
 * `scripts/fuzz`; a read past the line is an ASan report.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char b = s[i];
		size_t k = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3
			 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
		if (!k || i + k > n)
			return 0;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bwg_log_line l;
	/* An exact-size copy, so that reading one byte past the end is caught. */
	char *line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	int rc = bwg_log_line_parse(&l, line, size);
	if (rc != 0 && rc != -EINVAL && rc != -E2BIG)
		abort();
	if (rc == 0) {
		for (int f = 0; f < BWG_LOGF_STR_MAX; f++) {
			if (!(l.present & (1u << f)))
				continue;
			if (l.len[f] >= BWG_LOG_FIELD_MAX || l.str[f][l.len[f]] != 0 ||
			    strlen(l.str[f]) != l.len[f] ||
			    !valid_utf8((const unsigned char *)l.str[f], l.len[f]))
				abort();
		}
		if ((l.present & (1u << BWG_LOGF_TIME)) && l.time_us < 0)
			abort();
	}
	free(line);
	return 0;
}
