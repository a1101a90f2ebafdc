/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The policy's history as the API shows it: the list of accepted versions, one version
 * whole, and what changed between two (HTTP thread; pure functions of the entries the
 * control thread published, which it writes to the history folder and never changes).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bwg_api.h"

static json_t *
meta(const struct bwg_api_history_entry *e, uint32_t current)
{
	return json_pack("{s:I, s:I, s:s, s:s?, s:b}", "version", (json_int_t)e->version, "time",
			 (json_int_t)e->time, "source", e->source, "client",
			 e->client[0] ? e->client : NULL, "current", e->version == current);
}

json_t *
bwg_api_history_json(const struct bwg_api_history *h)
{
	json_t *a = json_array();
	for (uint32_t i = h->n; i-- > 0;)
		json_array_append_new(a, meta(h->v[i], h->current));
	return json_pack("{s:s, s:I, s:i, s:o}", "dir", h->dir ? h->dir : "", "current",
			 (json_int_t)h->current, "kept", (int)h->n, "versions", a);
}

const struct bwg_api_history_entry *
bwg_api_history_find(const struct bwg_api_history *h, uint32_t version)
{
	for (uint32_t i = 0; h && i < h->n; i++)
		if (h->v[i]->version == version)
			return h->v[i];
	return NULL;
}

json_t *
bwg_api_history_entry_json(const struct bwg_api_history_entry *e, uint32_t current)
{
	json_error_t je;
	json_t *p = json_loads(e->policy, 0, &je);
	json_t *o = meta(e, current);
	if (!p || !o) {
		json_decref(p);
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "policy", p);
	return o;
}

static void
change(json_t *out, const char *path, json_t *a, json_t *b)
{
	json_t *c = json_pack("{s:s}", "path", path[0] ? path : ".");
	if (a)
		json_object_set(c, "from", a);
	if (b)
		json_object_set(c, "to", b);
	json_array_append_new(out, c);
}

static void
diff(json_t *out, const char *path, json_t *a, json_t *b)
{
	char sub[1024];
	if (json_is_object(a) && json_is_object(b)) {
		const char *k;
		json_t *v;
		json_object_foreach(a, k, v) {
			snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", k);
			diff(out, sub, v, json_object_get(b, k));
		}
		json_object_foreach(b, k, v) {
			if (json_object_get(a, k))
				continue;
			snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", k);
			change(out, sub, NULL, v);
		}
		return;
	}
	if (json_is_array(a) && json_is_array(b)) {
		size_t na = json_array_size(a), nb = json_array_size(b);
		for (size_t i = 0; i < na || i < nb; i++) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			diff(out, sub, json_array_get(a, i), json_array_get(b, i));
		}
		return;
	}
	if (!json_equal(a, b))
		change(out, path, a, b);
}

json_t *
bwg_api_policy_diff_json(const struct bwg_api_history_entry *a,
			 const struct bwg_api_history_entry *b)
{
	json_error_t je;
	json_t *pa = json_loads(a->policy, 0, &je), *pb = json_loads(b->policy, 0, &je);
	json_t *changes = json_array();
	if (pa && pb)
		diff(changes, "", pa, pb);
	json_t *doc = pa && pb ? json_pack("{s:I, s:I, s:i, s:O}", "from", (json_int_t)a->version,
					   "to", (json_int_t)b->version, "changed",
					   (int)json_array_size(changes), "changes", changes)
			       : NULL;
	json_decref(changes);
	json_decref(pa);
	json_decref(pb);
	return doc;
}
