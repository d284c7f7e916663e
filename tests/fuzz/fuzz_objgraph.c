/* fuzz_objgraph.c -- libFuzzer target for src/objgraph.c.
 *
 * Parses the input as a TrackableObjectGraph; a graph that parses is
 * walked (paths, has_checkpoint_values) and serialized, and the result
 * must parse again and serialize to the same bytes (serialization is
 * canonical).  The input is also escaped and unescaped as a name, which
 * must give it back (see escape_roundtrip()). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "objgraph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touch every path so ASan sees a bad pointer or a missing NUL. */
static void
walk_paths(const struct ckpt_objgraph *g)
{
	volatile size_t sink = 0;
	char **paths;
	size_t i;

	if (ckpt_objgraph_paths(g, &paths) < 0)
		return;
	if (g->n > 0 && (paths[0] == NULL || paths[0][0] != '\0'))
		abort();	/* the root is always reachable, as "" */
	for (i = 0; i < g->n; i++)
		if (paths[i] != NULL)
			sink += strlen(paths[i]);
	ckpt_objgraph_paths_free(paths, g->n);
}

/* Serialize G, parse the result, serialize again: same bytes. */
static void
reserialize(struct ckpt_objgraph *g)
{
	struct ckpt_buf a = { 0 }, b = { 0 };
	struct ckpt_objgraph *h = NULL;

	if (ckpt_objgraph_serialize(g, &a) < 0)
		goto out;
	if (ckpt_objgraph_parse(a.data ? a.data : (const uint8_t *)"", a.len,
				&h, NULL) < 0)
		abort();	/* our own output must parse */
	if (ckpt_objgraph_serialize(h, &b) < 0)
		goto out;
	if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
		abort();
	/* the rule TF applies, on an arbitrary (possibly cyclic) graph */
	(void)ckpt_objgraph_mark_values(h);
out:
	ckpt_objgraph_free(h);
	ckpt_buf_free(&a);
	ckpt_buf_free(&b);
}

/* unescape(escape(DATA)) is DATA; escape(unescape(DATA)) is DATA when
 * DATA holds no '/' (an escaped name never does). */
static void
escape_roundtrip(const uint8_t *data, size_t size)
{
	struct ckpt_buf u = { 0 }, e = { 0 };

	if (ckpt_name_escape(data, size, &e) == 0 &&
	    (ckpt_name_unescape(e.data, e.len, &u) != 0 || u.len != size ||
	     (size && memcmp(u.data, data, size) != 0)))
		abort();
	u.len = e.len = 0;
	if (memchr(data, '/', size) == NULL &&
	    ckpt_name_unescape(data, size, &u) == 0 &&
	    ckpt_name_escape(u.data, u.len, &e) == 0 &&
	    (e.len != size || (size && memcmp(e.data, data, size) != 0)))
		abort();
	ckpt_buf_free(&u);
	ckpt_buf_free(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ckpt_objgraph *g;
	struct ckpt_err err;

	ckpt_err_clear(&err);
	escape_roundtrip(data, size);
	if (ckpt_objgraph_parse(data, size, &g, &err) < 0)
		return 0;
	walk_paths(g);
	reserialize(g);
	ckpt_objgraph_free(g);
	return 0;
}
