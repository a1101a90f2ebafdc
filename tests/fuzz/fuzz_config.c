/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the config loader on arbitrary text. Every input must end in a
 * config or an error message, with nothing leaked. Built by `scripts/fuzz`.
 */

#include "bwg_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bwg_config *c;
	char err[BWG_CONFIG_ERR_MAX];
	if (bwg_config_parse(&c, (const char *)data, size, "fuzz.json", "/nonexistent", err,
			     sizeof(err)) == 0)
		bwg_config_free(c);
	return 0;
}
