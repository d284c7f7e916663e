/* mkfixture.c -- write the test checkpoints with our own writer.
 *
 * Usage: mkfixture KIND PREFIX [--tensors N] [--bytes B]
 *
 * Kinds and their exact contents (float32 little-endian unless said):
 *   tf1          a=1 b=2 scoped/c=3 (scalars); dense/kernel [2,3] 0..5;
 *                dense/kernel/Adam [2,3] 0,0.5,..,2.5; dense/kernel/Adam_1
 *                [2,3] 0,0.25,..,1.25; dense/bias [3] 1,2,3;
 *                dense/bias/Adam, dense/bias/Adam_1 [3] zeros;
 *                global_step int64 42.
 *   tf2          an object-based checkpoint with lists, a dict, an
 *                optimizer slot, duplicate and empty full_names (see
 *                tf2_values below) and its object graph.
 *   tf2list      tf.train.Checkpoint(var_list={'a','b','scoped/c'}).
 *   tf2dup       a, b and c of full names Variable, Variable and
 *                Variable_1 (eager variables made without names, and
 *                one whose name is the suffixed form), holding 1, 2, 3;
 *                model/w = 4; and objects without values: "asset" (a
 *                leaf), "signatures" (also named "sigs2") holding
 *                "serving_default" (as a SavedModel's), and "model/sig"
 *                holding "fn".
 *   tf2table     a hash table as TensorFlow saves one (a legacy saveable
 *                of two tensors): its attribute "table" of full name
 *                hash_table has key table/.ATTRIBUTES/table, which names
 *                no tensor; the tensors are that key followed by -keys
 *                (int64 [3] 1,2,3) and -values (float32 [3] 10,20,30).
 *                Beside it on the same object, attribute table_x
 *                (hash_table_x = 5), whose key begins with the table's;
 *                v = 1; save_counter int64 1.
 *   tf2saveables attributes of legacy saveables whose keys name no
 *                tensor (see mk_tf2saveables()); tensors
 *                t/.ATTRIBUTES/table-keys = 1, -values = 2, table_x = 3,
 *                u/.ATTRIBUTES/tbl-a = 4, v/.ATTRIBUTES/VARIABLE_VALUE = 5.
 *   saveflood    N (--tensors, default 20000) scalars and N attributes
 *                whose one key prefix begins them all (mk_saveflood(): a
 *                hostile graph, timed by hand in BENCHMARKS.md).
 *   strings      s/scalar "hello"; s/vec ["a","","xyz"]; s/empty [0];
 *                s/matrix [2,2] "00","01","10","11".
 *   dtypes       one [2] tensor per fixed-size dtype, named by its
 *                TensorFlow name, holding 1 and 2 (bool: 0,1; int2:
 *                1,-2; complex: (1+2j),(3+4j)); empty [0,3]; scalar
 *                int32 7; variant.
 *   partitioned  w [10,4] in 2 slices on dim 0, element i = i; v [4,6]
 *                in 2 slices on dim 1, element i = 100+i; p = 1.
 *   parthalf     h [10,4] of half in 2 slices on dim 0, element i = i;
 *                u [4,6] of uint64 in 2 slices on dim 1, element i =
 *                100+i (dtypes TensorFlow restores only from the slices
 *                saved); f [4] of float in 2 slices, element i = i.
 *   partstrings  s [3,2] of strings in 2 slices on dim 1: "", "b", 130
 *                x "c", "ddd", "eeee", "f"; whole: the same saved whole;
 *                vocab [5] in 2 slices on dim 0: "the", "", "of", "and",
 *                "x".
 *   shards       s0/x [4] 1..4, s1/y [4] 5..8, s2/z [4] 9..12 in 3 shards.
 *   oddnames     TF1 names with odd bytes, empty components, a 300-byte
 *                component, UTF-8, and a name that is also a prefix.
 *   widenames    a=0, "\u540d\u524d/\u91cd\u307f"=1 (wide characters),
 *                "e\u0301te\u0301"=2 (combining marks), "l1/\xe9t\xe9"=3
 *                (not UTF-8) as float32 scalars.
 *   big          N tensors (--tensors, default 2000) of realistic names
 *                totalling about B bytes (--bytes, default 256 MiB).
 *   layout       N uint8 tensors (--tensors, default 200) t/0000, ... of
 *                uneven sizes (0 bytes to about 256 KiB, most not whole
 *                blocks), each of bytes of its own, in 2 shards: where
 *                bytes sit in the data files matters.
 *   bigendian    a TF1 checkpoint as a big-endian host writes one (header
 *                endianness BIG): k [2] float32 1.5,-2; step int64 42;
 *                s/vec ["a","","xyz"] and s/other ["hello","","!!"]
 *                (length checksums big-endian); v, a variant scalar
 *                (its 8-byte length and checksum big-endian).
 *   badentry     tf1 with two index entries that cannot be used: that of
 *                dense/bias says dtype 99, that of scoped/c is not a
 *                BundleEntryProto (block checksums right).
 *   badgraph     tf2 whose _CHECKPOINTABLE_OBJECT_GRAPH entry says dtype
 *                99.
 *   badpart      partitioned without the entry of w's second slice: w
 *                cannot be assembled, its first slice is an entry of its
 *                own (named by its slice key).
 *   badempty     a [] float32 1; empty, float32 [0,3] (no bytes) whose
 *                stored crc32c is not that of nothing; z [] float32 2.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_writer.h"
#include "coding.h"
#include "crc32c.h"
#include "objgraph.h"
#include "table.h"
#include "tensor.h"

static struct ckpt_err err;

/* Exit with the writer's message. */
static void
die(const char *what, int rc)
{
	fprintf(stderr, "mkfixture: %s: %s\n", what, ckpt_err_str(&err, rc));
	exit(1);
}

/* Add a float32 tensor of shape DIMS with values V. */
static void
add_f32(struct ckpt_writer *w, const char *key, const int64_t *dims, int rank,
	const float *v, size_t n)
{
	int rc = ckpt_writer_add(w, key, strlen(key), CKPT_DT_FLOAT, dims, rank,
				 v, n * sizeof(float), &err);

	if (rc < 0)
		die(key, rc);
}

/* Add a float32 scalar. */
static void
add_scalar(struct ckpt_writer *w, const char *key, float v)
{
	add_f32(w, key, NULL, 0, &v, 1);
}

/* Add an int64 scalar. */
static void
add_i64(struct ckpt_writer *w, const char *key, int64_t v)
{
	int rc = ckpt_writer_add(w, key, strlen(key), CKPT_DT_INT64, NULL, 0,
				 &v, sizeof(v), &err);

	if (rc < 0)
		die(key, rc);
}

/* Add a string tensor under KEY of KLEN bytes. */
static void
add_strings_k(struct ckpt_writer *w, const char *key, size_t klen,
	      const int64_t *dims, int rank, const char *const *s, size_t n)
{
	const uint8_t **data = calloc(n ? n : 1, sizeof(*data));
	uint64_t *lens = calloc(n ? n : 1, sizeof(*lens));
	struct ckpt_buf buf = { 0 };
	uint32_t crc;
	int rc;

	if (data == NULL || lens == NULL)
		die(key, -ENOMEM);
	for (size_t i = 0; i < n; i++) {
		data[i] = (const uint8_t *)s[i];
		lens[i] = strlen(s[i]);
	}
	if ((rc = ckpt_string_encode(data, lens, n, &buf, &crc)) < 0)
		die(key, rc);
	rc = ckpt_writer_add(w, key, klen, CKPT_DT_STRING, dims, rank,
			     buf.data, buf.len, &err);
	if (rc < 0)
		die(key, rc);
	ckpt_buf_free(&buf);
	free(data);
	free(lens);
}

/* Add a string tensor. */
static void
add_strings(struct ckpt_writer *w, const char *key, const int64_t *dims,
	    int rank, const char *const *s, size_t n)
{
	add_strings_k(w, key, strlen(key), dims, rank, s, n);
}

/* Finish and free W. */
static void
finish(struct ckpt_writer *w)
{
	int rc = ckpt_writer_finish(w, &err);

	if (rc < 0)
		die("finish", rc);
	ckpt_writer_free(w);
}

/* Open a writer with default options and NSHARDS shards. */
static struct ckpt_writer *
open_writer(const char *prefix, int nshards)
{
	struct ckpt_writer_opts o = { 0 };
	struct ckpt_writer *w;
	int rc;

	o.producer = 1;
	o.num_shards = nshards;
	if ((rc = ckpt_writer_new(prefix, &o, &w, &err)) < 0)
		die(prefix, rc);
	return w;
}

/* The tf1 fixture. */
static void
mk_tf1(const char *prefix)
{
	struct ckpt_writer *w = open_writer(prefix, 1);
	static const int64_t d23[] = { 2, 3 }, d3[] = { 3 };
	float k[6], m[6], v[6];
	static const float bias[3] = { 1, 2, 3 }, zero[3] = { 0 };

	for (int i = 0; i < 6; i++) {
		k[i] = (float)i;
		m[i] = (float)i * 0.5f;
		v[i] = (float)i * 0.25f;
	}
	add_scalar(w, "a", 1);
	add_scalar(w, "b", 2);
	add_scalar(w, "scoped/c", 3);
	add_f32(w, "dense/kernel", d23, 2, k, 6);
	add_f32(w, "dense/kernel/Adam", d23, 2, m, 6);
	add_f32(w, "dense/kernel/Adam_1", d23, 2, v, 6);
	add_f32(w, "dense/bias", d3, 1, bias, 3);
	add_f32(w, "dense/bias/Adam", d3, 1, zero, 3);
	add_f32(w, "dense/bias/Adam_1", d3, 1, zero, 3);
	add_i64(w, "global_step", 42);
	finish(w);
}

/* Add the serialized object graph BUF (freed) as the graph's tensor (it
 * may hold NUL bytes: a string scalar encoded directly). */
static void
put_graph(struct ckpt_writer *w, struct ckpt_buf *buf)
{
	int rc;

	if ((rc = ckpt_string_encode_in_place(buf, false)) < 0 ||
	    (rc = ckpt_writer_add(w, CKPT_OBJGRAPH_KEY,
				  strlen(CKPT_OBJGRAPH_KEY), CKPT_DT_STRING,
				  NULL, 0, buf->data, buf->len, &err)) < 0)
		die("object graph", rc);
	ckpt_buf_free(buf);
}

/* Add the object graph built from VALS. */
static void
add_graph(struct ckpt_writer *w, const struct ckpt_objvalue *vals, size_t n)
{
	struct ckpt_buf buf = { 0 };
	int rc;

	if ((rc = ckpt_objgraph_build_bytes(vals, n, &buf, &err)) < 0)
		die("object graph", rc);
	put_graph(w, &buf);
}

/* The tf2 fixture. */
static void
mk_tf2(const char *prefix)
{
	static const struct ckpt_objvalue vals[] = {
		{ "model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE",
		  "dense/kernel" },
		{ "model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE",
		  "dense/bias" },
		{ "model/layers/1/kernel/.ATTRIBUTES/VARIABLE_VALUE",
		  "dense_1/kernel" },
		{ "model/named/scoped.Sx..y/.ATTRIBUTES/VARIABLE_VALUE", "x" },
		{ "model/extra/0/.ATTRIBUTES/VARIABLE_VALUE", "Variable" },
		{ "model/extra/1/.ATTRIBUTES/VARIABLE_VALUE", "Variable" },
		{ "model/nameless/.ATTRIBUTES/VARIABLE_VALUE", "" },
		{ "model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m/"
		  ".ATTRIBUTES/VARIABLE_VALUE",
		  "Adam/m/dense/kernel" },
		{ "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE", "Adam/iter" },
		{ "save_counter/.ATTRIBUTES/VARIABLE_VALUE", "save_counter" },
	};
	static const int64_t d23[] = { 2, 3 }, d3[] = { 3 }, d31[] = { 3, 1 };
	static const float k[6] = { 0, 1, 2, 3, 4, 5 }, bias[3] = { 1, 2, 3 };
	static const float k1[3] = { 6, 7, 8 };
	static const float slot[6] = { 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f };
	struct ckpt_writer *w = open_writer(prefix, 1);

	add_f32(w, vals[0].key, d23, 2, k, 6);
	add_f32(w, vals[1].key, d3, 1, bias, 3);
	add_f32(w, vals[2].key, d31, 2, k1, 3);
	add_scalar(w, vals[3].key, 9);
	add_scalar(w, vals[4].key, 10);
	add_scalar(w, vals[5].key, 11);
	add_scalar(w, vals[6].key, 12);
	add_f32(w, vals[7].key, d23, 2, slot, 6);
	add_i64(w, vals[8].key, 10);
	add_i64(w, vals[9].key, 1);
	add_graph(w, vals, sizeof(vals) / sizeof(vals[0]));
	finish(w);
}

/* The tf2list fixture. */
static void
mk_tf2list(const char *prefix)
{
	static const struct ckpt_objvalue vals[] = {
		{ "var_list/a/.ATTRIBUTES/VARIABLE_VALUE", "a" },
		{ "var_list/b/.ATTRIBUTES/VARIABLE_VALUE", "b" },
		{ "var_list/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE", "scoped/c" },
		{ "save_counter/.ATTRIBUTES/VARIABLE_VALUE", "save_counter" },
	};
	struct ckpt_writer *w = open_writer(prefix, 1);

	add_scalar(w, vals[0].key, 1);
	add_scalar(w, vals[1].key, 2);
	add_scalar(w, vals[2].key, 3);
	add_i64(w, vals[3].key, 1);
	add_graph(w, vals, sizeof(vals) / sizeof(vals[0]));
	finish(w);
}

/* Give node PARENT of G the child edge NAME to node CHILD. */
static void
add_edge(struct ckpt_objgraph *g, size_t parent, const char *name,
	 size_t child)
{
	struct ckpt_objnode *p = &g->nodes[parent];
	struct ckpt_objref *kids = realloc(p->children, (p->nchildren + 1) *
							      sizeof(*kids));

	if (kids == NULL)
		die("object graph", -ENOMEM);
	p->children = kids;
	kids[p->nchildren].node_id = (int32_t)child;
	if ((kids[p->nchildren].local_name = strdup(name)) == NULL)
		die("object graph", -ENOMEM);
	kids[p->nchildren++].local_name_len = strlen(name);
}

/* Add to G a node without values as child NAME of node PARENT; return
 * its id. */
static size_t
add_child(struct ckpt_objgraph *g, size_t parent, const char *name)
{
	struct ckpt_objnode *nodes = realloc(g->nodes,
					     (g->n + 1) * sizeof(*nodes));

	if (nodes == NULL)
		die("object graph", -ENOMEM);
	g->nodes = nodes;
	memset(&nodes[g->n], 0, sizeof(nodes[g->n]));
	nodes[g->n].has_checkpoint_values = -1;
	add_edge(g, parent, name, g->n);
	return g->n++;
}

/* The tf2dup fixture. */
static void
mk_tf2dup(const char *prefix)
{
	static const struct ckpt_objvalue vals[] = {
		{ "a/.ATTRIBUTES/VARIABLE_VALUE", "Variable" },
		{ "b/.ATTRIBUTES/VARIABLE_VALUE", "Variable" },
		{ "c/.ATTRIBUTES/VARIABLE_VALUE", "Variable_1" },
		{ "model/w/.ATTRIBUTES/VARIABLE_VALUE", "model/w" },
	};
	struct ckpt_writer *w = open_writer(prefix, 1);
	struct ckpt_buf buf = { 0 };
	struct ckpt_objgraph *g;
	size_t model = 0, sig;
	int rc;

	for (size_t i = 0; i < 4; i++)
		add_scalar(w, vals[i].key, (float)(i + 1));
	/* the graph of the values, objects without values added */
	if ((rc = ckpt_objgraph_build_bytes(vals, 4, &buf, &err)) < 0 ||
	    (rc = ckpt_objgraph_parse(buf.data, buf.len, &g, &err)) < 0)
		die("object graph", rc);
	for (size_t i = 0; i < g->nodes[0].nchildren; i++)
		if (strcmp(g->nodes[0].children[i].local_name, "model") == 0)
			model = (size_t)g->nodes[0].children[i].node_id;
	add_child(g, 0, "asset");
	sig = add_child(g, 0, "signatures");
	add_child(g, sig, "serving_default");
	add_edge(g, 0, "sigs2", sig);	/* a second name of it */
	add_child(g, add_child(g, model, "sig"), "fn");
	buf.len = 0;
	if ((rc = ckpt_objgraph_serialize(g, &buf)) < 0)
		die("object graph", rc);
	put_graph(w, &buf);
	ckpt_objgraph_free(g);
	finish(w);
}

/* The tf2table fixture. */
static void
mk_tf2table(const char *prefix)
{
	static const struct ckpt_objvalue vals[] = {
		{ "table/.ATTRIBUTES/table", "hash_table" },
		{ "table/.ATTRIBUTES/table_x", "hash_table_x" },
		{ "v/.ATTRIBUTES/VARIABLE_VALUE", "v" },
		{ "save_counter/.ATTRIBUTES/VARIABLE_VALUE", "save_counter" },
	};
	static const int64_t d3[] = { 3 };
	static const float values[3] = { 10, 20, 30 };
	static const int64_t keys[3] = { 1, 2, 3 };
	struct ckpt_writer *w = open_writer(prefix, 1);
	int rc;

	rc = ckpt_writer_add(w, "table/.ATTRIBUTES/table-keys", 28,
			     CKPT_DT_INT64, d3, 1, keys, sizeof(keys), &err);
	if (rc < 0)
		die("table-keys", rc);
	add_f32(w, "table/.ATTRIBUTES/table-values", d3, 1, values, 3);
	add_scalar(w, vals[1].key, 5);
	add_scalar(w, vals[2].key, 1);
	add_i64(w, vals[3].key, 1);
	add_graph(w, vals, sizeof(vals) / sizeof(vals[0]));
	finish(w);
}

/* Add an object graph of N objects under the root, object I + 1 with one
 * attribute of key KEYS[I] and full name FULLS[I], whatever they are
 * (ckpt_objgraph_build() takes only keys of objects: built with stand-in
 * keys, then given these). */
static void
add_graph_raw(struct ckpt_writer *w, size_t n, const char *const *keys,
	      const char *const *fulls)
{
	struct ckpt_objvalue *vals = calloc(n ? n : 1, sizeof(*vals));
	char (*stand)[64] = calloc(n ? n : 1, sizeof(*stand));
	struct ckpt_buf buf = { 0 };
	struct ckpt_objgraph *g;
	int rc;

	if (vals == NULL || stand == NULL)
		die("object graph", -ENOMEM);
	for (size_t i = 0; i < n; i++) {
		snprintf(stand[i], sizeof(stand[i]),
			 "o%zu/.ATTRIBUTES/VARIABLE_VALUE", i);
		vals[i] = (struct ckpt_objvalue){ stand[i], "" };
	}
	if ((rc = ckpt_objgraph_build_bytes(vals, n, &buf, &err)) < 0 ||
	    (rc = ckpt_objgraph_parse(buf.data, buf.len, &g, &err)) < 0)
		die("object graph", rc);
	for (size_t i = 0; i < g->n; i++)
		for (size_t j = 0; j < g->nodes[i].nattrs; j++) {
			struct ckpt_objattr *a = &g->nodes[i].attrs[j];
			size_t k = strtoul(a->checkpoint_key + 1, NULL, 10);

			free(a->checkpoint_key);
			free(a->full_name);
			a->checkpoint_key = strdup(keys[k]);
			a->checkpoint_key_len = strlen(keys[k]);
			a->full_name = strdup(fulls[k]);
			a->full_name_len = strlen(fulls[k]);
			if (a->checkpoint_key == NULL || a->full_name == NULL)
				die("object graph", -ENOMEM);
		}
	buf.len = 0;
	if ((rc = ckpt_objgraph_serialize(g, &buf)) < 0)
		die("object graph", rc);
	put_graph(w, &buf);
	ckpt_objgraph_free(g);
	free(vals);
	free(stand);
}

/* The tf2saveables fixture: attributes whose keys name no tensor (legacy
 * saveables of several) and tensors their keys begin with, as
 * test_tree's test_saveables(): an attribute without a full name before
 * one with, one naming a key another took, a prefix of the graph's key,
 * an empty key. */
static void
mk_tf2saveables(const char *prefix)
{
	static const char *const fulls[] = {
		"", "hash", "lookup", "x", "again", "graph", "nested", "none",
	};
	static const char *const keys[] = {
		"u/.ATTRIBUTES/tbl",	 "t/.ATTRIBUTES/table",
		"u/.ATTRIBUTES/tbl",	 "t/.ATTRIBUTES/table_x",
		"t/.ATTRIBUTES/table",	 "_CHECKPOINTABLE",
		"t/.ATTRIBUTES/t",	 "",
	};
	struct ckpt_writer *w = open_writer(prefix, 1);

	add_graph_raw(w, sizeof(keys) / sizeof(keys[0]), keys, fulls);
	add_scalar(w, "t/.ATTRIBUTES/table-keys", 1);
	add_scalar(w, "t/.ATTRIBUTES/table-values", 2);
	add_scalar(w, "t/.ATTRIBUTES/table_x", 3);
	add_scalar(w, "u/.ATTRIBUTES/tbl-a", 4);
	add_scalar(w, "v/.ATTRIBUTES/VARIABLE_VALUE", 5);
	finish(w);
}

/* The saveflood fixture (a hostile graph, for timing by hand): N scalars
 * p/.ATTRIBUTES/t000000000... and N attributes of key p/.ATTRIBUTES/t and
 * full name x, each a legacy saveable of all N (the first takes them). */
static void
mk_saveflood(const char *prefix, uint64_t n)
{
	const char **keys = calloc(n ? n : 1, sizeof(*keys));
	const char **fulls = calloc(n ? n : 1, sizeof(*fulls));
	struct ckpt_writer *w = open_writer(prefix, 1);
	char key[40];

	if (keys == NULL || fulls == NULL)
		die("saveflood", -ENOMEM);
	for (uint64_t i = 0; i < n; i++) {
		keys[i] = "p/.ATTRIBUTES/t";
		fulls[i] = "x";
	}
	add_graph_raw(w, n, keys, fulls);
	for (uint64_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "p/.ATTRIBUTES/t%09" PRIu64, i);
		add_scalar(w, key, 1);
	}
	finish(w);
	free(keys);
	free(fulls);
}

/* Add string tensor KEY of the N strings S, big-endian. */
static void
add_strings_be(struct ckpt_writer *w, const char *key, const char *const *s,
	       size_t n)
{
	const uint8_t *data[8];
	uint64_t lens[8];
	int64_t dims[1] = { (int64_t)n };
	struct ckpt_buf buf = { 0 };
	uint32_t crc;
	int rc;

	if (n > 8)
		die(key, -EINVAL);
	for (size_t i = 0; i < n; i++) {
		data[i] = (const uint8_t *)s[i];
		lens[i] = strlen(s[i]);
	}
	if ((rc = ckpt_string_encode_order(data, lens, n, true, &buf,
					   &crc)) < 0)
		die(key, rc);
	rc = ckpt_writer_add(w, key, strlen(key), CKPT_DT_STRING, dims, 1,
			     buf.data, buf.len, &err);
	if (rc < 0)
		die(key, rc);
	ckpt_buf_free(&buf);
}

/* The bigendian fixture. */
static void
mk_bigendian(const char *prefix)
{
	/* 1.5f, -2.0f and int64 42, most significant byte first */
	static const uint8_t k[] = { 0x3f, 0xc0, 0, 0, 0xc0, 0, 0, 0 };
	static const uint8_t step[] = { 0, 0, 0, 0, 0, 0, 0, 42 };
	static const char *const vec[] = { "a", "", "xyz" };
	static const char *const other[] = { "hello", "", "!!" };
	static const int64_t d2[] = { 2 };
	struct ckpt_writer_opts o = { .producer = 1, .endianness = 1 };
	struct ckpt_writer *w;
	int rc;

	if ((rc = ckpt_writer_new(prefix, &o, &w, &err)) < 0)
		die(prefix, rc);
	if ((rc = ckpt_writer_add(w, "k", 1, CKPT_DT_FLOAT, d2, 1, k,
				  sizeof(k), &err)) < 0 ||
	    (rc = ckpt_writer_add(w, "step", 4, CKPT_DT_INT64, NULL, 0, step,
				  sizeof(step), &err)) < 0)
		die("bigendian", rc);
	add_strings_be(w, "s/other", other, 3);
	add_strings_be(w, "s/vec", vec, 3);
	{
		static const char blob[] = "\x0a\x03" "abc";
		uint8_t v[1 + 5 + 4], l8[8];
		uint32_t crc;

		v[0] = sizeof(blob) - 1;
		memcpy(v + 1, blob, sizeof(blob) - 1);
		ckpt_store64(l8, sizeof(blob) - 1, true);
		crc = ckpt_crc_mask(ckpt_crc32c_extend(
			ckpt_crc32c_extend(0, l8, 8), blob, sizeof(blob) - 1));
		ckpt_store32(v + 6, crc, true);
		if ((rc = ckpt_writer_add(w, "v", 1, CKPT_DT_VARIANT, NULL, 0, v,
					  sizeof(v), &err)) < 0)
			die("v", rc);
	}
	finish(w);
}

/* The strings fixture. */
static void
mk_strings(const char *prefix)
{
	static const char *const scalar[] = { "hello" };
	static const char *const vec[] = { "a", "", "xyz" };
	static const char *const mat[] = { "00", "01", "10", "11" };
	static const int64_t d3[] = { 3 }, d0[] = { 0 }, d22[] = { 2, 2 };
	struct ckpt_writer *w = open_writer(prefix, 1);

	add_strings(w, "s/scalar", NULL, 0, scalar, 1);
	add_strings(w, "s/vec", d3, 1, vec, 3);
	add_strings(w, "s/empty", d0, 1, NULL, 0);
	add_strings(w, "s/matrix", d22, 2, mat, 4);
	finish(w);
}

/* Store the little-endian bytes of V (SIZE bytes) at P. */
static void
put_le(uint8_t *p, uint64_t v, size_t size)
{
	for (size_t i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Write value X (1 or 2) in DTYPE's element encoding at P. */
static void
put_value(int dtype, uint8_t *p, int x)
{
	float f = (float)x;
	double d = x;
	uint32_t u;
	uint64_t u64;

	switch (dtype) {
	case CKPT_DT_FLOAT:
		memcpy(&u, &f, 4);
		put_le(p, u, 4);
		break;
	case CKPT_DT_DOUBLE:
		memcpy(&u64, &d, 8);
		put_le(p, u64, 8);
		break;
	case CKPT_DT_COMPLEX64: {
		float re = (float)(2 * x - 1), im = (float)(2 * x);

		memcpy(&u, &re, 4);
		put_le(p, u, 4);
		memcpy(&u, &im, 4);
		put_le(p + 4, u, 4);
		break;
	}
	case CKPT_DT_COMPLEX128: {
		double re = 2 * x - 1, im = 2 * x;

		memcpy(&u64, &re, 8);
		put_le(p, u64, 8);
		memcpy(&u64, &im, 8);
		put_le(p + 8, u64, 8);
		break;
	}
	case CKPT_DT_BFLOAT16:
		memcpy(&u, &f, 4);
		put_le(p, u >> 16, 2);
		break;
	case CKPT_DT_HALF:
		put_le(p, x == 1 ? 0x3c00 : 0x4000, 2);
		break;
	case CKPT_DT_BOOL:
		p[0] = (uint8_t)(x - 1);
		break;
	case CKPT_DT_INT2:	/* -2 to 1: 1 and -2 */
		p[0] = x == 1 ? 0x01 : 0x02;
		break;
	case CKPT_DT_FLOAT8_E5M2:
		p[0] = x == 1 ? 0x3c : 0x40;	/* 1.0, 2.0 */
		break;
	case CKPT_DT_FLOAT8_E4M3FN:
		p[0] = x == 1 ? 0x38 : 0x40;
		break;
	/* The fnuz types: exponent bias 8, 16 and 11 (ml_dtypes). */
	case CKPT_DT_FLOAT8_E4M3FNUZ:
		p[0] = x == 1 ? 0x40 : 0x48;
		break;
	case CKPT_DT_FLOAT8_E5M2FNUZ:
		p[0] = x == 1 ? 0x40 : 0x44;
		break;
	case CKPT_DT_FLOAT8_E4M3B11FNUZ:
		p[0] = x == 1 ? 0x58 : 0x60;
		break;
	default:
		put_le(p, (uint64_t)x, ckpt_dtype_size(dtype));
		break;
	}
}

/* The dtypes fixture. */
static void
mk_dtypes(const char *prefix)
{
	static const int64_t d2[] = { 2 }, d03[] = { 0, 3 };
	struct ckpt_writer *w = open_writer(prefix, 1);
	uint8_t buf[32];
	int32_t seven = 7;
	int rc;

	for (int dt = 1; dt < 64; dt++) {
		size_t esz = ckpt_dtype_size(dt);
		const char *name = ckpt_dtype_name(dt);

		if (esz == 0 || name == NULL || !ckpt_dtype_storable(dt))
			continue;
		put_value(dt, buf, 1);
		put_value(dt, buf + esz, 2);
		rc = ckpt_writer_add(w, name, strlen(name), dt, d2, 1, buf,
				     2 * esz, &err);
		if (rc < 0)
			die(name, rc);
	}
	add_f32(w, "empty", d03, 2, NULL, 0);
	if ((rc = ckpt_writer_add(w, "scalar", 6, CKPT_DT_INT32, NULL, 0, &seven,
				  4, &err)) < 0)
		die("scalar", rc);
	{
		/* One variant element: varint length, bytes, masked CRC of
		 * (8-byte length, bytes). */
		static const char blob[] = "\x0a\x03" "abc";
		struct ckpt_buf v = { 0 };
		uint8_t l8[8];
		uint32_t crc;

		ckpt_buf_put_varint(&v, sizeof(blob) - 1);
		ckpt_buf_put(&v, blob, sizeof(blob) - 1);
		ckpt_store64le(l8, sizeof(blob) - 1);
		crc = ckpt_crc32c_extend(0, l8, 8);
		crc = ckpt_crc32c_extend(crc, blob, sizeof(blob) - 1);
		ckpt_buf_put_fixed32(&v, ckpt_crc_mask(crc));
		rc = ckpt_writer_add(w, "variant", 7, CKPT_DT_VARIANT, NULL, 0,
				     v.data, v.len, &err);
		if (rc < 0)
			die("variant", rc);
		ckpt_buf_free(&v);
	}
	finish(w);
}

/* Add slice EXT of full tensor KEY of DTYPE: its slice key, shape LENS,
 * SIZE bytes at DATA. */
static void
add_part_of(struct ckpt_writer *w, const char *key,
	    const struct ckpt_extent *ext, const int64_t *lens, int rank,
	    int dtype, const void *data, size_t size)
{
	struct ckpt_buf k = { 0 };
	int rc;

	if ((rc = ckpt_slice_key_encode(key, strlen(key), ext, rank, &k)) < 0)
		die(key, rc);
	rc = ckpt_writer_add(w, k.data, k.len, dtype, lens, rank, data, size,
			     &err);
	if (rc < 0)
		die(key, rc);
	ckpt_buf_free(&k);
}

/* Add slice PART of full float tensor KEY: its slice key, shape LENS. */
static void
add_part(struct ckpt_writer *w, const char *key, const struct ckpt_extent *ext,
	 const int64_t *lens, int rank, const float *v, size_t n)
{
	add_part_of(w, key, ext, lens, rank, CKPT_DT_FLOAT, v,
		    n * sizeof(float));
}

/* The IEEE half-precision bits of whole number I (below 2048). */
static uint16_t
half_of(unsigned i)
{
	unsigned e = 0;

	if (i == 0)
		return 0;
	while ((i >> (e + 1)) != 0)
		e++;
	return (uint16_t)(((e + 15) << 10) | ((i << (10 - e)) & 0x3ff));
}

/* The parthalf fixture. */
static void
mk_parthalf(const char *prefix)
{
	static const int64_t dh[] = { 10, 4 }, du[] = { 4, 6 }, df[] = { 4 };
	static const int64_t lh[] = { 5, 4 }, lu[] = { 4, 3 }, lf[] = { 2 };
	static const struct ckpt_extent sh[] = { { 0, 5 }, { 0, 4 },
						 { 5, 5 }, { 0, 4 } };
	static const struct ckpt_extent su[] = { { 0, 4 }, { 0, 3 },
						 { 0, 4 }, { 3, 3 } };
	static const struct ckpt_extent sf[] = { { 0, 2 }, { 2, 2 } };
	static const float f0[] = { 0, 1 }, f1[] = { 2, 3 };
	struct ckpt_writer *w = open_writer(prefix, 1);
	uint16_t h[2][20];
	uint64_t u[2][12];
	int rc;

	for (unsigned i = 0; i < 20; i++) {
		h[0][i] = half_of(i);
		h[1][i] = half_of(20 + i);
	}
	for (int r = 0; r < 4; r++)
		for (int j = 0; j < 3; j++) {
			u[0][r * 3 + j] = (uint64_t)(100 + r * 6 + j);
			u[1][r * 3 + j] = (uint64_t)(100 + r * 6 + 3 + j);
		}
	for (int k = 0; k < 2; k++) {
		add_part_of(w, "h", &sh[2 * k], lh, 2, CKPT_DT_HALF, h[k],
			    sizeof(h[k]));
		add_part_of(w, "u", &su[2 * k], lu, 2, CKPT_DT_UINT64, u[k],
			    sizeof(u[k]));
	}
	add_part(w, "f", &sf[0], lf, 1, f0, 2);
	add_part(w, "f", &sf[1], lf, 1, f1, 2);
	if ((rc = ckpt_writer_add_partitioned(w, "h", 1, CKPT_DT_HALF, dh, 2,
					      sh, 2, &err)) < 0 ||
	    (rc = ckpt_writer_add_partitioned(w, "u", 1, CKPT_DT_UINT64, du, 2,
					      su, 2, &err)) < 0 ||
	    (rc = ckpt_writer_add_partitioned(w, "f", 1, CKPT_DT_FLOAT, df, 1,
					      sf, 2, &err)) < 0)
		die("parthalf", rc);
	finish(w);
}

/* The partitioned fixture. */
static void
mk_partitioned(const char *prefix)
{
	static const int64_t dw[] = { 10, 4 }, dv[] = { 4, 6 };
	static const int64_t lw[] = { 5, 4 }, lv[] = { 4, 3 };
	static const struct ckpt_extent sw[] = { { 0, 5 }, { 0, 4 },
						 { 5, 5 }, { 0, 4 } };
	static const struct ckpt_extent sv[] = { { 0, 4 }, { 0, 3 },
						 { 0, 4 }, { 3, 3 } };
	struct ckpt_writer *w = open_writer(prefix, 1);
	float a[20], b[20], c[12], d[12];
	int rc;

	for (int i = 0; i < 20; i++) {
		a[i] = (float)i;
		b[i] = (float)(20 + i);
	}
	for (int r = 0; r < 4; r++)
		for (int j = 0; j < 3; j++) {
			c[r * 3 + j] = (float)(100 + r * 6 + j);
			d[r * 3 + j] = (float)(100 + r * 6 + 3 + j);
		}
	add_part(w, "w", &sw[0], lw, 2, a, 20);
	add_part(w, "w", &sw[2], lw, 2, b, 20);
	add_part(w, "v", &sv[0], lv, 2, c, 12);
	add_part(w, "v", &sv[2], lv, 2, d, 12);
	if ((rc = ckpt_writer_add_partitioned(w, "w", 1, CKPT_DT_FLOAT, dw, 2,
					      sw, 2, &err)) < 0 ||
	    (rc = ckpt_writer_add_partitioned(w, "v", 1, CKPT_DT_FLOAT, dv, 2,
					      sv, 2, &err)) < 0)
		die("partitioned", rc);
	add_scalar(w, "p", 1);
	finish(w);
}

/* Add the string part of KEY at slice X (RANK extents) of shape LENS. */
static void
add_string_part(struct ckpt_writer *w, const char *key,
		const struct ckpt_extent *x, const int64_t *lens, int rank,
		const char *const *s, size_t n)
{
	struct ckpt_buf k = { 0 };
	int rc;

	if ((rc = ckpt_slice_key_encode(key, strlen(key), x, rank, &k)) < 0)
		die(key, rc);
	add_strings_k(w, (const char *)k.data, k.len, lens, rank, s, n);
	ckpt_buf_free(&k);
}

/* The partstrings fixture. */
static void
mk_partstrings(const char *prefix)
{
	static const int64_t ds[] = { 3, 2 }, ls[] = { 3, 1 }, dv[] = { 5 };
	static const int64_t lv0[] = { 3 }, lv1[] = { 2 };
	static const struct ckpt_extent ss[] = { { 0, -1 }, { 0, 1 },
						 { 0, -1 }, { 1, 1 } };
	static const struct ckpt_extent sv[] = { { 0, 3 }, { 3, 2 } };
	static const char *const vocab[] = { "the", "", "of", "and", "x" };
	char c[131];
	const char *all[6] = { "", "b", c, "ddd", "eeee", "f" };
	const char *col0[3] = { all[0], all[2], all[4] };
	const char *col1[3] = { all[1], all[3], all[5] };
	struct ckpt_writer *w = open_writer(prefix, 1);
	int rc;

	memset(c, 'c', 130);
	c[130] = '\0';
	add_string_part(w, "s", &ss[0], ls, 2, col0, 3);
	add_string_part(w, "s", &ss[2], ls, 2, col1, 3);
	add_string_part(w, "vocab", &sv[0], lv0, 1, vocab, 3);
	add_string_part(w, "vocab", &sv[1], lv1, 1, vocab + 3, 2);
	if ((rc = ckpt_writer_add_partitioned(w, "s", 1, CKPT_DT_STRING, ds, 2,
					      ss, 2, &err)) < 0 ||
	    (rc = ckpt_writer_add_partitioned(w, "vocab", 5, CKPT_DT_STRING,
					      dv, 1, sv, 2, &err)) < 0)
		die("partstrings", rc);
	add_strings(w, "whole", ds, 2, all, 6);
	finish(w);
}

/* The shards fixture. */
static void
mk_shards(const char *prefix)
{
	static const int64_t d4[] = { 4 };
	static const char *const keys[] = { "s0/x", "s1/y", "s2/z" };
	struct ckpt_writer *w = open_writer(prefix, 3);

	for (int s = 0; s < 3; s++) {
		float v[4];

		for (int i = 0; i < 4; i++)
			v[i] = (float)(s * 4 + i + 1);
		ckpt_writer_select_shard(w, s);
		add_f32(w, keys[s], d4, 1, v, 4);
	}
	finish(w);
}

/* The layout fixture. */
static void
mk_layout(const char *prefix, uint64_t nt)
{
	struct ckpt_writer *w = open_writer(prefix, 2);
	uint8_t *buf = malloc((size_t)1 << 18);
	char key[32];

	if (buf == NULL)
		die("layout", -ENOMEM);
	for (uint64_t i = 0; i < nt; i++) {
		/* 0 to 256 KiB, mostly ragged, some below a 4 KiB block */
		uint64_t size = (i * 2654435761u) % ((uint64_t)1 << 18);
		uint32_t x = (uint32_t)i * 2246822519u + 1;
		int64_t d[1];
		int rc;

		if (i % 5 == 1)
			size %= 5000;
		for (uint64_t j = 0; j < size; j++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[j] = (uint8_t)x;
		}
		d[0] = (int64_t)size;
		snprintf(key, sizeof(key), "t/%04llu", (unsigned long long)i);
		ckpt_writer_select_shard(w, (int32_t)(i % 2));
		rc = ckpt_writer_add(w, key, strlen(key), CKPT_DT_UINT8, d, 1,
				     buf, (size_t)size, &err);
		if (rc < 0)
			die(key, rc);
	}
	free(buf);
	finish(w);
}

/* The oddnames fixture. */
static void
mk_oddnames(const char *prefix)
{
	static const char *const names[] = {
		"with space", "pct%sign", "at@sign", "dot.name", "..",
		"a//b", "trail/", "x/./y", "h\xc3\xa9llo/w\xc3\xb6rld",
		"ctl\x01" "char", "dense/kernel", "dense/kernel/Adam",
	};
	struct ckpt_writer *w = open_writer(prefix, 1);
	char longname[301];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		add_scalar(w, names[i], (float)i);
	memset(longname, 'L', 300);
	longname[300] = '\0';
	add_scalar(w, longname, 300);
	finish(w);
}

/* The widenames fixture: names whose display width is not their count
 * of characters, and one that is not UTF-8 (Latin-1 "ete" with accents:
 * TensorFlow's writers would not make it, a foreign one might). */
static void
mk_widenames(const char *prefix)
{
	static const char *const names[] = {
		"a",
		"\xe5\x90\x8d\xe5\x89\x8d/\xe9\x87\x8d\xe3\x81\xbf",
		"e\xcc\x81te\xcc\x81",
		"l1/\xe9t\xe9",
	};
	struct ckpt_writer *w = open_writer(prefix, 1);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		add_scalar(w, names[i], (float)i);
	finish(w);
}

/* The big fixture: NT tensors of about BYTES bytes in all. */
static void
mk_big(const char *prefix, uint64_t nt, uint64_t bytes)
{
	struct ckpt_writer *w = open_writer(prefix, 1);
	uint64_t per, largest;
	float *buf;
	uint64_t made = 0;
	char key[128];

	if (nt < 2)
		nt = 2;
	/* A quarter of the bytes in the first tensor, the rest spread. */
	largest = bytes / 4 / sizeof(float);
	per = (bytes - largest * sizeof(float)) / (nt - 1) / sizeof(float);
	if (per == 0)
		per = 1;
	buf = calloc(largest > per ? largest : per, sizeof(float));
	if (buf == NULL)
		die("big", -ENOMEM);
	for (uint64_t i = 0; i < (largest > per ? largest : per); i++)
		buf[i] = (float)(i % 1000) * 0.001f;
	{
		int64_t d[] = { (int64_t)largest };

		add_f32(w, "embedding/embeddings", d, 1, buf, largest);
	}
	for (uint64_t i = 1; i < nt; i++) {
		static const char *const kinds[] = { "kernel", "bias",
						     "kernel/Adam",
						     "kernel/Adam_1" };
		int64_t d[] = { (int64_t)per };

		snprintf(key, sizeof(key), "layer_%llu/dense/%s",
			 (unsigned long long)(i / 4),
			 kinds[i % 4]);
		add_f32(w, key, d, 1, buf, per);
		made += per;
	}
	(void)made;
	free(buf);
	finish(w);
}

/* Invert the crc32c (field 6, fixed32) of BundleEntryProto E (LEN
 * bytes, of scalar fields only, as the writer makes them). */
static void
flip_crc(uint8_t *e, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t tag = e[i++];

		if (tag == 0x35 && i + 4 <= len) {	/* 6 << 3 | fixed32 */
			for (int k = 0; k < 4; k++)
				e[i + k] ^= 0xff;
			return;
		}
		if ((tag & 7) == 0)
			while (i < len && (e[i++] & 0x80))
				;
		else if ((tag & 7) == 2 && i < len)
			i += 1 + e[i];	/* (lengths below 128 here) */
		else if ((tag & 7) == 5)
			i += 4;
		else
			i += 8;
	}
	die("flip_crc: no crc32c", -EINVAL);
}

/* Write PREFIX's index again with the entry of key DT99 (NULL: none)
 * saying dtype 99, that of key JUNK (NULL: none) not a BundleEntryProto,
 * that of DROP (DROPLEN bytes; NULL: none) left out, and that of key
 * BADCRC (NULL: none) with its crc32c inverted. */
static void
spoil(const char *prefix, const char *dt99, const char *junk,
      const void *drop, size_t droplen, const char *badcrc)
{
	static const uint8_t bad[] = { 0xff, 0xff, 0xff };
	struct ckpt_table_builder *tb;
	struct ckpt_table *t;
	struct ckpt_buf in = { 0 }, out = { 0 };
	char path[4096], chunk[4096];
	size_t got;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s.index", prefix);
	if ((f = fopen(path, "rb")) == NULL)
		die(path, -errno);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (ckpt_buf_put(&in, chunk, got) < 0)
			die(path, -ENOMEM);
	fclose(f);
	if ((rc = ckpt_table_parse(in.data, in.len, path, &t, &err)) < 0 ||
	    (rc = ckpt_table_builder_new(NULL, &tb)) < 0)
		die(path, rc);
	for (size_t i = 0; i < t->n; i++) {
		const struct ckpt_kv *kv = &t->kv[i];
		const void *v = kv->value.data;
		size_t vl = kv->value.len;
		uint8_t e[256];

		if (drop != NULL && kv->key.len == droplen &&
		    memcmp(kv->key.data, drop, droplen) == 0)
			continue;
		if (dt99 != NULL && kv->key.len == strlen(dt99) &&
		    memcmp(kv->key.data, dt99, kv->key.len) == 0 &&
		    vl <= sizeof(e) && vl > 2 && kv->value.data[0] == 0x08) {
			memcpy(e, kv->value.data, vl);
			e[1] = 99;	/* field 1, dtype */
			v = e;
		} else if (junk != NULL && kv->key.len == strlen(junk) &&
			   memcmp(kv->key.data, junk, kv->key.len) == 0) {
			v = bad;
			vl = sizeof(bad);
		} else if (badcrc != NULL && kv->key.len == strlen(badcrc) &&
			   memcmp(kv->key.data, badcrc, kv->key.len) == 0 &&
			   vl <= sizeof(e)) {
			memcpy(e, kv->value.data, vl);
			flip_crc(e, vl);
			v = e;
		}
		if ((rc = ckpt_table_builder_add(tb, kv->key.data, kv->key.len,
						 v, vl)) < 0)
			die(path, rc);
	}
	if ((rc = ckpt_table_builder_finish(tb, &out)) < 0)
		die(path, rc);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0)
		die(path, -EIO);
	ckpt_table_builder_free(tb);
	ckpt_table_free(t);
	ckpt_buf_free(&in);
	ckpt_buf_free(&out);
}

int
main(int argc, char **argv)
{
	const char *kind, *prefix;
	uint64_t nt = 0, bytes = (uint64_t)256 << 20;
	bool nt_set = false;	/* --tensors given (else each kind's) */

	if (argc < 3) {
		fprintf(stderr,
			"usage: mkfixture KIND PREFIX [--tensors N] "
			"[--bytes B]\n"
			"KIND: tf1 tf2 tf2list tf2dup tf2table tf2saveables "
			"saveflood\n"
			"      strings dtypes "
			"partitioned parthalf partstrings shards\n"
			"      oddnames widenames big layout bigendian "
			"badentry badgraph badpart badempty\n");
		return 2;
	}
	kind = argv[1];
	prefix = argv[2];
	for (int i = 3; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--tensors") == 0) {
			nt = strtoull(argv[i + 1], NULL, 0);
			nt_set = true;
		}
		else if (strcmp(argv[i], "--bytes") == 0)
			bytes = strtoull(argv[i + 1], NULL, 0);
	}
	if (strcmp(kind, "tf1") == 0)
		mk_tf1(prefix);
	else if (strcmp(kind, "tf2") == 0)
		mk_tf2(prefix);
	else if (strcmp(kind, "tf2list") == 0)
		mk_tf2list(prefix);
	else if (strcmp(kind, "tf2dup") == 0)
		mk_tf2dup(prefix);
	else if (strcmp(kind, "tf2table") == 0)
		mk_tf2table(prefix);
	else if (strcmp(kind, "tf2saveables") == 0)
		mk_tf2saveables(prefix);
	else if (strcmp(kind, "saveflood") == 0)
		mk_saveflood(prefix, nt_set ? nt : 20000);
	else if (strcmp(kind, "strings") == 0)
		mk_strings(prefix);
	else if (strcmp(kind, "dtypes") == 0)
		mk_dtypes(prefix);
	else if (strcmp(kind, "partitioned") == 0)
		mk_partitioned(prefix);
	else if (strcmp(kind, "parthalf") == 0)
		mk_parthalf(prefix);
	else if (strcmp(kind, "partstrings") == 0)
		mk_partstrings(prefix);
	else if (strcmp(kind, "shards") == 0)
		mk_shards(prefix);
	else if (strcmp(kind, "oddnames") == 0)
		mk_oddnames(prefix);
	else if (strcmp(kind, "widenames") == 0)
		mk_widenames(prefix);
	else if (strcmp(kind, "big") == 0)
		mk_big(prefix, nt_set ? nt : 2000, bytes);
	else if (strcmp(kind, "layout") == 0)
		mk_layout(prefix, nt_set ? nt : 200);
	else if (strcmp(kind, "bigendian") == 0)
		mk_bigendian(prefix);
	else if (strcmp(kind, "badentry") == 0) {
		mk_tf1(prefix);
		spoil(prefix, "dense/bias", "scoped/c", NULL, 0, NULL);
	} else if (strcmp(kind, "badgraph") == 0) {
		mk_tf2(prefix);
		spoil(prefix, CKPT_OBJGRAPH_KEY, NULL, NULL, 0, NULL);
	} else if (strcmp(kind, "badpart") == 0) {
		/* w's second slice, [5:10,:], left out of the index */
		static const struct ckpt_extent x[] = { { 5, 5 }, { 0, 4 } };
		struct ckpt_buf k = { 0 };

		mk_partitioned(prefix);
		if (ckpt_slice_key_encode("w", 1, x, 2, &k) < 0)
			die("badpart", -ENOMEM);
		spoil(prefix, NULL, NULL, k.data, k.len, NULL);
		ckpt_buf_free(&k);
	} else if (strcmp(kind, "badempty") == 0) {
		static const int64_t d03[] = { 0, 3 };
		struct ckpt_writer *w = open_writer(prefix, 1);

		add_scalar(w, "a", 1);
		add_f32(w, "empty", d03, 2, NULL, 0);
		add_scalar(w, "z", 2);
		finish(w);
		spoil(prefix, NULL, NULL, NULL, 0, "empty");
	} else {
		fprintf(stderr, "mkfixture: unknown kind '%s'\n", kind);
		return 2;
	}
	return 0;
}
