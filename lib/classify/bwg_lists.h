/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BWG_LISTS_H
#define BWG_LISTS_H

/*
 * Operator list files: domain lists and address lists, read when a policy is compiled
 * (control thread).
 *
 * Domain lists take one entry a line in any of the forms list publishers use:
 *   example.com  /  *.example.com            bwgate's own patterns
 *   0.0.0.0 a.example b.example               hosts-file lines (the address is ignored)
 *   ||example.com^                            Adblock domain rules
 * with `#` comments (whole line or trailing), `!` and `[Adblock ...]` header lines, blank
 * lines; names in Unicode are converted to their IDNA `xn--` form, which is what SNI
 * and Host carry. Address lists take one CIDR a line ("162.249.72.0/21", a bare address
 * is a /32 or /128) with `#` comments.
 *
 * Files are untrusted in the sense that a policy pushed over the API names them: only
 * regular files under the lists folder are read (relative names resolve there, and no
 * name may lead out of it, symbolic links included), at most BWG_LIST_FILE_MAX bytes,
 * lines of at most BWG_LIST_LINE_MAX bytes (a longer line is an error, never split).
 * Errors name the file and the line and say what is wrong with it, without quoting
 * the file's content.
 */

#include <stddef.h>

#define BWG_LIST_FILE_MAX (512u << 20)
#define BWG_LIST_LINE_MAX 4096

enum bwg_list_kind {
	BWG_LIST_DOMAINS,
	BWG_LIST_ADDRESSES,
};

/*
 * Called for each entry: a normalised host pattern (lower case, IDNA) or a CIDR text,
 * with its line number. Returns 0 to go on, or a negative errno with a message in err
 * (which the reader prefixes with "FILE:LINE: ").
 */
typedef int (*bwg_list_entry_fn)(void *ctx, const char *entry, unsigned line, char *err,
				 size_t errlen);

/*
 * Resolve `name` against `dir` (the lists folder) and check it stays inside it; the
 * result goes to `out` (PATH_MAX bytes). Returns 0 or -errno with a message in err.
 */
int bwg_list_resolve(const char *dir, const char *name, char *out, char *err, size_t errlen);

/*
 * Read the list `name` (resolved against `dir`) and call fn for every entry. Returns the
 * number of entries, or -errno with "FILE:LINE: fault" (or "FILE: fault") in err.
 */
long bwg_list_read(const char *dir, const char *name, enum bwg_list_kind kind,
		   bwg_list_entry_fn fn, void *ctx, char *err, size_t errlen);

#endif
