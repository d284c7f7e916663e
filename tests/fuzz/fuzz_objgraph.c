/* fuzz_objgraph.c -- libFuzzer target for src/objgraph.c.
 *
 * Parses the input as a TrackableObjectGraph; a graph that parses is
 * walked (paths, has_checkpoint_values) and serialized, and the result
 * must parse again and serialize to the same bytes (serialization is
 * canonical).  The input is also escaped and unescaped as a name, which
 * must give it back (see escape_roundtrip()), and its lines are taken as
 * keys for ckpt_objgraph_build() (see build_from_lines()).  The parser
 * unpacks node by node; protobuf-c unpacking the whole message must agree
 * with it on what is malformed (see same_verdict()). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "objgraph.h"
#include "trackable_object_graph.pb-c.h"

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
		abort(); /* the root is always reachable, as "" */
	for (i = 0; i < g->n; i++)
		if (paths[i] != NULL)
			sink += strlen(paths[i]);
	(void)sink;
	ckpt_objgraph_paths_free(paths, g->n);
}

/* The node-by-node parse (RC, ERR, G) and protobuf-c's unpacking of the
 * whole message agree: what one finds malformed the other refuses too; a
 * message protobuf-c takes parses, or is refused only for a node id out
 * of range (which protobuf-c does not check), with the same node count. */
static void
same_verdict(const uint8_t *data, size_t size, int rc,
	     const struct ckpt_err *err, const struct ckpt_objgraph *g)
{
	Ckptpb__TrackableObjectGraph *m;

	m = ckptpb__trackable_object_graph__unpack(NULL, size, data);
	if (m == NULL && rc == 0)
		abort(); /* we took what protobuf-c refuses */
	if (m != NULL && rc < 0 && strstr(err->msg, "node id") == NULL)
		abort(); /* we refused what protobuf-c takes */
	if (m != NULL && rc == 0 && m->n_nodes != g->n)
		abort();
	if (m != NULL)
		ckptpb__trackable_object_graph__free_unpacked(m, NULL);
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
		abort(); /* our own output must parse */
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

/* Build a graph from the input's lines as keys; on success every
 * attribute of a path node must sit at the key its path gives, and the
 * graph must survive serialize + parse. */
static void
build_from_lines(const uint8_t *data, size_t size)
{
	struct ckpt_objvalue vals[64];
	struct ckpt_buf b = { 0 };
	struct ckpt_objgraph *g = NULL, *h = NULL;
	char *text, *line, *save = NULL, **paths = NULL;
	size_t n = 0, i, j;

	text = malloc(size + 1);
	if (text == NULL)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL && n < 64;
	     line = strtok_r(NULL, "\n", &save)) {
		vals[n++] = (struct ckpt_objvalue){ .key = line,
						    .full_name = line };
	}
	if (ckpt_objgraph_build(vals, n, &g, NULL) < 0)
		goto out;
	/* The builder packs its own bytes: they must be protobuf-c's. */
	if (ckpt_objgraph_build_bytes(vals, n, &b, NULL) < 0)
		abort();
	{
		struct ckpt_buf c = { 0 };

		if (ckpt_objgraph_serialize(g, &c) < 0 || c.len != b.len ||
		    (b.len && memcmp(c.data, b.data, b.len) != 0))
			abort();
		ckpt_buf_free(&c);
	}
	b.len = 0;
	if (ckpt_objgraph_serialize(g, &b) < 0 ||
	    ckpt_objgraph_parse(b.data, b.len, &h, NULL) < 0 ||
	    ckpt_objgraph_paths(h, &paths) < 0)
		abort();
	for (i = 0; i < h->n; i++) {
		for (j = 0; j < h->nodes[i].nattrs && paths[i] != NULL; j++) {
			const struct ckpt_objattr *a = &h->nodes[i].attrs[j];
			struct ckpt_buf k = { 0 };

			if (ckpt_buf_put(&k, paths[i], strlen(paths[i])) < 0 ||
			    ckpt_buf_put(&k, "/.ATTRIBUTES/", 13) < 0 ||
			    ckpt_name_escape(a->name, a->name_len, &k) < 0)
				abort();
			if (k.len != a->checkpoint_key_len ||
			    memcmp(k.data, a->checkpoint_key, k.len) != 0)
				abort();
			ckpt_buf_free(&k);
		}
	}
out:
	ckpt_objgraph_paths_free(paths, h ? h->n : 0);
	ckpt_objgraph_free(g);
	ckpt_objgraph_free(h);
	ckpt_buf_free(&b);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ckpt_objgraph *g;
	struct ckpt_err err;
	int rc;

	ckpt_err_clear(&err);
	escape_roundtrip(data, size);
	build_from_lines(data, size);
	rc = ckpt_objgraph_parse(data, size, &g, &err);
	same_verdict(data, size, rc, &err, g);
	if (rc < 0)
		return 0;
	walk_paths(g);
	reserialize(g);
	ckpt_objgraph_free(g);
	return 0;
}
