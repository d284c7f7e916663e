/* test_objgraph.c -- Covers: src/objgraph.c.
 * Key escaping; parsing, serializing and walking TrackableObjectGraphs
 * (hand-made ones, a cyclic one, and the two TF-written graphs of
 * REALDATA, decoded as in FORMAT.md 7.8); building the graph of
 * FORMAT.md 7.6 byte for byte, and build/serialize/parse round trips. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coding.h"
#include "objgraph.h"

/* ---- helpers ------------------------------------------------------------ */

/* Escape or unescape S with FN; return a malloc()ed string, or NULL if FN
 * failed (its code in *RC). */
static char *
xform(int (*fn)(const void *, size_t, struct ckpt_buf *), const char *s,
      size_t len, int *rc)
{
	struct ckpt_buf b = { 0 };
	char *r;

	CHECK(ckpt_buf_put(&b, "<", 1) == 0); /* fn appends */
	*rc = fn(s, len, &b);
	if (*rc < 0) {
		CHECK_EQ_INT(b.len, 1); /* nothing appended on failure */
		ckpt_buf_free(&b);
		return NULL;
	}
	CHECK_EQ_INT(b.data[b.len], '\0');
	r = strdup((char *)b.data + 1);
	CHECK(r != NULL);
	ckpt_buf_free(&b);
	return r;
}

/* Append a length-delimited field TAG with LEN bytes at P (a hand encoder,
 * independent of protobuf-c, for expected bytes). */
static void
put_ld(struct ckpt_buf *b, uint8_t tag, const void *p, size_t len)
{
	CHECK(ckpt_buf_put(b, &tag, 1) == 0);
	CHECK(ckpt_buf_put_varint(b, len) == 0);
	CHECK(ckpt_buf_put(b, p, len) == 0);
}

/* Append the string field TAG. */
static void
put_str(struct ckpt_buf *b, uint8_t tag, const char *s)
{
	put_ld(b, tag, s, strlen(s));
}

/* Append the varint field TAG. */
static void
put_vi(struct ckpt_buf *b, uint8_t tag, uint64_t v)
{
	CHECK(ckpt_buf_put(b, &tag, 1) == 0);
	CHECK(ckpt_buf_put_varint(b, v) == 0);
}

/* Append sub-message SUB as field TAG and free SUB. */
static void
put_msg(struct ckpt_buf *b, uint8_t tag, struct ckpt_buf *sub)
{
	put_ld(b, tag, sub->data, sub->len);
	ckpt_buf_free(sub);
}

/* Serialize G into a fresh buffer. */
static struct ckpt_buf
serialize(const struct ckpt_objgraph *g)
{
	struct ckpt_buf b = { 0 };

	CHECK_EQ_INT(ckpt_objgraph_serialize(g, &b), 0);
	return b;
}

/* Parse LEN bytes at P from an exact-size heap copy. */
static struct ckpt_objgraph *
parse_ok(const void *p, size_t len)
{
	uint8_t *copy = check_memdup(p, len);
	struct ckpt_objgraph *g = NULL;
	struct ckpt_err err = { 0 };

	CHECK_EQ_INT(ckpt_objgraph_parse(copy, len, &g, &err), 0);
	CHECK(g != NULL);
	CHECK_EQ_INT(err.code, 0);
	free(copy);
	return g;
}

/* Parse P expecting -EBADMSG with a message containing WANT. */
static void
parse_bad(const void *p, size_t len, const char *want)
{
	uint8_t *copy = check_memdup(p, len);
	struct ckpt_objgraph *g = (struct ckpt_objgraph *)&g;
	struct ckpt_err err = { 0 };

	CHECK_EQ_INT(ckpt_objgraph_parse(copy, len, &g, &err), -EBADMSG);
	CHECK(g == NULL);
	CHECK_EQ_INT(err.code, -EBADMSG);
	if (strstr(err.msg, want) == NULL)
		fprintf(stderr, "message: %s\n", err.msg);
	CHECK(strstr(err.msg, want) != NULL);
	free(copy);
}

/* Whether two byte strings are equal. */
static bool
bytes_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	if (alen == 0)
		return true;
	return a != NULL && b != NULL && memcmp(a, b, alen) == 0;
}

/* Whether A and B have the same nodes, field by field. */
static bool
graph_eq(const struct ckpt_objgraph *a, const struct ckpt_objgraph *b)
{
	size_t i, j;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++) {
		const struct ckpt_objnode *x = &a->nodes[i], *y = &b->nodes[i];

		if (x->nchildren != y->nchildren || x->nattrs != y->nattrs ||
		    x->nslots != y->nslots ||
		    x->has_checkpoint_values != y->has_checkpoint_values ||
		    (x->saver_name == NULL) != (y->saver_name == NULL))
			return false;
		if (x->saver_name != NULL &&
		    (!bytes_eq(x->saver_name, x->saver_name_len, y->saver_name,
			       y->saver_name_len) ||
		     !bytes_eq(x->saver_object_name, x->saver_object_name_len,
			       y->saver_object_name, y->saver_object_name_len)))
			return false;
		for (j = 0; j < x->nchildren; j++)
			if (x->children[j].node_id != y->children[j].node_id ||
			    !bytes_eq(x->children[j].local_name,
				      x->children[j].local_name_len,
				      y->children[j].local_name,
				      y->children[j].local_name_len))
				return false;
		for (j = 0; j < x->nattrs; j++) {
			const struct ckpt_objattr *p = &x->attrs[j];
			const struct ckpt_objattr *q = &y->attrs[j];

			if (!bytes_eq(p->name, p->name_len, q->name,
				      q->name_len) ||
			    !bytes_eq(p->full_name, p->full_name_len,
				      q->full_name, q->full_name_len) ||
			    !bytes_eq(p->checkpoint_key, p->checkpoint_key_len,
				      q->checkpoint_key,
				      q->checkpoint_key_len) ||
			    p->optional_restore != q->optional_restore)
				return false;
		}
		for (j = 0; j < x->nslots; j++) {
			const struct ckpt_slotref *p = &x->slots[j];
			const struct ckpt_slotref *q = &y->slots[j];

			if (p->original_variable_node_id !=
				    q->original_variable_node_id ||
			    p->slot_variable_node_id !=
				    q->slot_variable_node_id ||
			    !bytes_eq(p->slot_name, p->slot_name_len,
				      q->slot_name, q->slot_name_len))
				return false;
		}
	}
	return true;
}

/* Child J of node I of G: check its id and name. */
static void
check_child(const struct ckpt_objgraph *g, size_t i, size_t j, int32_t id,
	    const char *name)
{
	CHECK(i < g->n);
	CHECK(j < g->nodes[i].nchildren);
	CHECK_EQ_INT(g->nodes[i].children[j].node_id, id);
	CHECK_EQ_STR(g->nodes[i].children[j].local_name, name);
	CHECK_EQ_INT(g->nodes[i].children[j].local_name_len, strlen(name));
}

/* ---- escaping ----------------------------------------------------------- */

/* Escape NAME, expect WANT, and unescape it back. */
static void
check_escape(const char *name, const char *want)
{
	char *e, *u;
	int rc;

	e = xform(ckpt_name_escape, name, strlen(name), &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(e, want);
	u = xform(ckpt_name_unescape, e, strlen(e), &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(u, name);
	free(e);
	free(u);
}

/* Unescape S, expecting WANT, or failure when WANT is NULL. */
static void
check_unescape(const char *s, const char *want)
{
	char *u;
	int rc;

	u = xform(ckpt_name_unescape, s, strlen(s), &rc);
	if (want == NULL) {
		CHECK_EQ_INT(rc, -EBADMSG);
		CHECK(u == NULL);
		return;
	}
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(u, want);
	free(u);
}

/* FORMAT.md 7.3 and pitfall 14. */
static void
test_escape(void)
{
	check_escape("", "");
	check_escape("plain", "plain");
	check_escape("scoped/c", "scoped.Sc");
	check_escape("conv.1/w", "conv..1.Sw");
	check_escape("a./b", "a...Sb");
	check_escape("/", ".S");
	check_escape(".", "..");
	check_escape("./..//", "...S.....S.S");
	check_escape("caf\xc3\xa9 x", "caf\xc3\xa9 x");
	check_unescape("a...Sb", "a./b");
	check_unescape("...S", "./");
	check_unescape(".S..", "/.");
	check_unescape("S", "S");
	check_unescape("a.x", NULL);
	check_unescape(".A", NULL);
	check_unescape(".s", NULL); /* case matters */
	check_unescape("a.", NULL); /* lone '.' at the end */
	check_unescape("...", NULL);
	check_unescape(".", NULL);
}

/* A name holding a NUL byte is escaped as bytes. */
static void
test_escape_nul(void)
{
	struct ckpt_buf b = { 0 };

	CHECK_EQ_INT(ckpt_name_escape("a\0.", 3, &b), 0);
	CHECK_EQ_MEM(b.data, b.len, "a\0..", 4);
	CHECK_EQ_INT(ckpt_name_unescape(b.data, b.len, &b), 0);
	CHECK_EQ_MEM(b.data, b.len, "a\0..a\0.", 7);
	ckpt_buf_free(&b);
}

/* ---- parsing and serializing hand-made graphs --------------------------- */

/* The three encodings of has_checkpoint_values survive a round trip. */
static void
test_hcv_encodings(void)
{
	static const struct {
		uint8_t bytes[8];
		size_t len;
		int hcv;
	} cases[] = {
		{ { 0x0a, 0x00 }, 2, -1 },
		{ { 0x0a, 0x02, 0x2a, 0x00 }, 4, 0 },
		{ { 0x0a, 0x04, 0x2a, 0x02, 0x08, 0x01 }, 6, 1 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ckpt_objgraph *g =
			parse_ok(cases[i].bytes, cases[i].len);
		struct ckpt_buf b;

		CHECK_EQ_INT(g->n, 1);
		CHECK_EQ_INT(g->nodes[0].has_checkpoint_values, cases[i].hcv);
		CHECK(g->nodes[0].saver_name == NULL);
		b = serialize(g);
		CHECK_EQ_MEM(b.data, b.len, cases[i].bytes, cases[i].len);
		ckpt_buf_free(&b);
		ckpt_objgraph_free(g);
	}
}

/* Every field, including the registered saver, optional_restore, names
 * with NUL bytes and a BoolValue with an explicit false, in canonical
 * order: serialize gives back the same bytes. */
static void
test_all_fields(void)
{
	struct ckpt_buf in = { 0 }, node = { 0 }, sub = { 0 }, out;
	struct ckpt_objgraph *g;
	const struct ckpt_objnode *n0;

	/* node 0 */
	put_vi(&sub, 0x08, 1);
	put_ld(&sub, 0x12, "x\0y", 3);
	put_msg(&node, 0x0a, &sub);
	put_str(&sub, 0x12, "back"); /* node_id 0: omitted */
	put_msg(&node, 0x0a, &sub);
	put_str(&sub, 0x0a, "VARIABLE_VALUE");
	put_str(&sub, 0x1a, "/.ATTRIBUTES/VARIABLE_VALUE");
	put_vi(&sub, 0x20, 1);
	put_msg(&node, 0x12, &sub);
	put_vi(&sub, 0x08, 1);
	put_str(&sub, 0x12, "m");
	put_vi(&sub, 0x18, 2);
	put_msg(&node, 0x1a, &sub);
	put_str(&sub, 0x0a, "tf.saver");
	put_str(&sub, 0x12, "obj");
	put_msg(&node, 0x22, &sub);
	put_msg(&node, 0x2a, &sub); /* empty BoolValue */
	put_msg(&in, 0x0a, &node);
	/* node 1: just a saver with an empty object name */
	put_str(&sub, 0x0a, "s");
	put_msg(&node, 0x22, &sub);
	put_msg(&in, 0x0a, &node);
	/* node 2: empty */
	put_msg(&in, 0x0a, &node);

	g = parse_ok(in.data, in.len);
	CHECK_EQ_INT(g->n, 3);
	n0 = &g->nodes[0];
	CHECK_EQ_INT(n0->nchildren, 2);
	CHECK_EQ_INT(n0->children[0].node_id, 1);
	CHECK_EQ_MEM(n0->children[0].local_name, n0->children[0].local_name_len,
		     "x\0y", 3);
	check_child(g, 0, 1, 0, "back");
	CHECK_EQ_INT(n0->nattrs, 1);
	CHECK_EQ_STR(n0->attrs[0].name, "VARIABLE_VALUE");
	CHECK_EQ_STR(n0->attrs[0].full_name, "");
	CHECK_EQ_INT(n0->attrs[0].full_name_len, 0);
	CHECK_EQ_STR(n0->attrs[0].checkpoint_key,
		     "/.ATTRIBUTES/VARIABLE_VALUE");
	CHECK(n0->attrs[0].optional_restore);
	CHECK_EQ_INT(n0->nslots, 1);
	CHECK_EQ_INT(n0->slots[0].original_variable_node_id, 1);
	CHECK_EQ_INT(n0->slots[0].slot_variable_node_id, 2);
	CHECK_EQ_STR(n0->slots[0].slot_name, "m");
	CHECK_EQ_STR(n0->saver_name, "tf.saver");
	CHECK_EQ_INT(n0->saver_name_len, 8);
	CHECK_EQ_STR(n0->saver_object_name, "obj");
	CHECK_EQ_INT(n0->has_checkpoint_values, 0);
	CHECK_EQ_STR(g->nodes[1].saver_name, "s");
	CHECK_EQ_STR(g->nodes[1].saver_object_name, "");
	CHECK_EQ_INT(g->nodes[1].has_checkpoint_values, -1);
	CHECK_EQ_INT(g->nodes[2].nchildren + g->nodes[2].nattrs, 0);
	out = serialize(g);
	CHECK_EQ_MEM(out.data, out.len, in.data, in.len);

	/* mark_values: 0 has attrs; 1 has a saver; 2 has nothing. */
	CHECK_EQ_INT(ckpt_objgraph_mark_values(g), 0);
	CHECK_EQ_INT(g->nodes[0].has_checkpoint_values, 1);
	CHECK_EQ_INT(g->nodes[1].has_checkpoint_values, 1);
	CHECK_EQ_INT(g->nodes[2].has_checkpoint_values, 0);

	/* Serialize appends. */
	CHECK_EQ_INT(ckpt_objgraph_serialize(g, &out), 0);
	CHECK_EQ_INT(out.len, 2 * in.len + 2 + 4 + 2);
	ckpt_buf_free(&out);
	ckpt_buf_free(&in);
	ckpt_objgraph_free(g);
}

/* Field order, unknown fields and repeated BoolValues are accepted. */
static void
test_parse_lenient(void)
{
	/* node: ref {local_name "a", node_id 0}, unknown field 9 = 7,
	 * then hcv true */
	static const uint8_t in[] = { 0x0a, 0x0b, 0x0a, 0x03, 0x12, 0x01, 0x61,
				      0x48, 0x07, 0x2a, 0x02, 0x08, 0x01 };
	static const uint8_t want[] = { 0x0a, 0x09, 0x0a, 0x03, 0x12, 0x01,
					0x61, 0x2a, 0x02, 0x08, 0x01 };
	struct ckpt_objgraph *g = parse_ok(in, sizeof(in));
	struct ckpt_buf b;

	CHECK_EQ_INT(g->n, 1);
	check_child(g, 0, 0, 0, "a");
	CHECK_EQ_INT(g->nodes[0].has_checkpoint_values, 1);
	b = serialize(g);
	CHECK_EQ_MEM(b.data, b.len, want, sizeof(want));
	ckpt_buf_free(&b);
	ckpt_objgraph_free(g);

	g = parse_ok("", 0);
	CHECK_EQ_INT(g->n, 0);
	b = serialize(g);
	CHECK_EQ_INT(b.len, 0);
	ckpt_buf_free(&b);
	ckpt_objgraph_free(g);
}

/* Out-of-range, negative and malformed input is -EBADMSG. */
static void
test_parse_bad(void)
{
	/* child node_id 1 in a 1-node graph */
	static const uint8_t child_range[] = { 0x0a, 0x04, 0x0a,
					       0x02, 0x08, 0x01 };
	/* child node_id -1 (ten-byte varint) */
	static const uint8_t child_neg[] = { 0x0a, 0x0d, 0x0a, 0x0b, 0x08,
					     0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff, 0xff, 0x01 };
	/* slot_variable_node_id 5 */
	static const uint8_t slot_range[] = {
		0x0a, 0x04, 0x1a, 0x02, 0x18, 0x05
	};
	/* original_variable_node_id 2 in a 2-node graph */
	static const uint8_t orig_range[] = { 0x0a, 0x00, 0x0a, 0x04,
					      0x1a, 0x02, 0x08, 0x02 };
	static const uint8_t truncated[] = { 0x0a, 0x05, 0x0a, 0x02 };
	static const uint8_t bad_varint[] = { 0x0a, 0x02, 0x08, 0x80 };
	/* nodes as a varint field */
	static const uint8_t bad_wire[] = { 0x08, 0x01 };

	parse_bad(child_range, sizeof(child_range),
		  "node 0 child 0: node id 1 out of range [0, 1)");
	parse_bad(child_neg, sizeof(child_neg), "node id -1 out of range");
	parse_bad(slot_range, sizeof(slot_range),
		  "node 0 slot variable 0: node id 5");
	parse_bad(orig_range, sizeof(orig_range),
		  "node 1 slot variable (original) 0: node id 2");
	parse_bad(truncated, sizeof(truncated), "malformed");
	parse_bad(bad_varint, sizeof(bad_varint), "malformed");
	parse_bad(bad_wire, sizeof(bad_wire), "malformed");
}

/* Serialize refuses node ids out of range in a hand-built graph. */
static void
test_serialize_bad_id(void)
{
	struct ckpt_objref ref = { 2, (char[]){ "x" }, 1 };
	struct ckpt_slotref slot = { 0, -1, (char[]){ "m" }, 1 };
	struct ckpt_objnode nodes[2];
	struct ckpt_objgraph g = { nodes, 2 };
	struct ckpt_buf b = { 0 };

	memset(nodes, 0, sizeof(nodes));
	nodes[0].children = &ref;
	nodes[0].nchildren = 1;
	nodes[0].has_checkpoint_values = -1;
	nodes[1].has_checkpoint_values = -1;
	CHECK_EQ_INT(ckpt_objgraph_serialize(&g, &b), -EINVAL);
	CHECK_EQ_INT(b.len, 0);
	CHECK_EQ_INT(ckpt_objgraph_mark_values(&g), -EINVAL);
	ref.node_id = 1;
	nodes[1].slots = &slot;
	nodes[1].nslots = 1;
	CHECK_EQ_INT(ckpt_objgraph_serialize(&g, &b), -EINVAL);
	slot.slot_variable_node_id = 1;
	CHECK_EQ_INT(ckpt_objgraph_serialize(&g, &b), 0);
	/* 0a 05 | 0a 03 08 01 12 01 "x" ; 0a 07 | 1a 05 12 01 "m" 18 01 */
	CHECK_EQ_MEM(b.data, b.len,
		     "\x0a\x07\x0a\x05\x08\x01\x12\x01x"
		     "\x0a\x07\x1a\x05\x12\x01m\x18\x01",
		     18);
	ckpt_buf_free(&b);
}

/* ---- paths -------------------------------------------------------------- */

/* A graph with a cycle back to the root, a self edge, a node reachable
 * under two names and an unreachable node. */
static void
test_paths_cyclic(void)
{
	struct ckpt_objref r0[] = { { 1, (char[]){ "x" }, 1 },
				    { 3, (char[]){ "c" }, 1 } };
	struct ckpt_objref r1[] = { { 2, (char[]){ "y.z" }, 3 },
				    { 3, (char[]){ "a/b" }, 3 },
				    { 0, (char[]){ "root" }, 4 },
				    { 5, (char[]){ "deep" }, 4 } };
	struct ckpt_objref r2[] = { { 1, (char[]){ "again" }, 5 },
				    { 2, (char[]){ "self" }, 4 },
				    { 6, (char[]){ "d/" }, 2 } };
	struct ckpt_objref r5[] = { { 6, (char[]){ "e" }, 1 } };
	struct ckpt_objnode nodes[7];
	struct ckpt_objgraph g = { nodes, 7 }, *h;
	struct ckpt_buf b;
	char **p;
	size_t i;

	memset(nodes, 0, sizeof(nodes));
	for (i = 0; i < 7; i++)
		nodes[i].has_checkpoint_values = -1;
	nodes[0].children = r0;
	nodes[0].nchildren = ARRAY_SIZE(r0);
	nodes[1].children = r1;
	nodes[1].nchildren = ARRAY_SIZE(r1);
	nodes[2].children = r2;
	nodes[2].nchildren = ARRAY_SIZE(r2);
	nodes[5].children = r5;
	nodes[5].nchildren = ARRAY_SIZE(r5);

	CHECK_EQ_INT(ckpt_objgraph_paths(&g, &p), 0);
	CHECK_EQ_STR(p[0], "");
	CHECK_EQ_STR(p[1], "x");
	CHECK_EQ_STR(p[2], "x/y..z");
	CHECK_EQ_STR(p[3], "c"); /* depth 1 beats x/a.Sb */
	CHECK(p[4] == NULL);	 /* unreachable */
	CHECK_EQ_STR(p[5], "x/deep");
	/* 6 is reached at depth 3 from 2 (x/y.z/d/) and from 5 (x/deep/e);
	 * 2 is dequeued first */
	CHECK_EQ_STR(p[6], "x/y..z/d.S");
	ckpt_objgraph_paths_free(p, g.n);

	/* The cycle survives serialize + parse; node_id 0 is omitted. */
	b = serialize(&g);
	h = parse_ok(b.data, b.len);
	CHECK(graph_eq(&g, h));
	ckpt_objgraph_free(h);
	ckpt_buf_free(&b);

	/* mark_values through the cycle: only 6's ancestors get values. */
	nodes[6].saver_name = (char[]){ "saver" };
	CHECK_EQ_INT(ckpt_objgraph_mark_values(&g), 0);
	CHECK_EQ_INT(nodes[0].has_checkpoint_values, 1);
	CHECK_EQ_INT(nodes[1].has_checkpoint_values, 1);
	CHECK_EQ_INT(nodes[2].has_checkpoint_values, 1);
	CHECK_EQ_INT(nodes[3].has_checkpoint_values, 0);
	CHECK_EQ_INT(nodes[4].has_checkpoint_values, 0);
	CHECK_EQ_INT(nodes[5].has_checkpoint_values, 1);
	CHECK_EQ_INT(nodes[6].has_checkpoint_values, 1);
	/* saver_name_len 0 means strlen() */
	b = serialize(&g);
	h = parse_ok(b.data, b.len);
	CHECK_EQ_STR(h->nodes[6].saver_name, "saver");
	CHECK_EQ_INT(h->nodes[6].saver_name_len, 5);
	CHECK(h->nodes[6].saver_object_name != NULL);
	CHECK_EQ_INT(h->nodes[6].saver_object_name_len, 0);
	ckpt_objgraph_free(h);
	ckpt_buf_free(&b);

	/* An empty graph has no paths. */
	g.n = 0;
	CHECK_EQ_INT(ckpt_objgraph_paths(&g, &p), 0);
	CHECK(p != NULL);
	ckpt_objgraph_paths_free(p, 0);
}

/* ---- the real TF2 graphs (FORMAT.md 7.8) -------------------------------- */

/* Read the DT_STRING scalar of SIZE bytes at OFF of file NAME in DIR and
 * return a heap copy of its element (LEN bytes, exact size), checking
 * the varint length WANT_LEN. */
static uint8_t *
read_graph(const char *dir, const char *name, long off, size_t size,
	   size_t want_len, size_t *len)
{
	char path[4096];
	uint8_t *raw = malloc(size), *el;
	const uint8_t *p;
	uint64_t n;
	FILE *f;

	CHECK(raw != NULL);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	CHECK(f != NULL);
	CHECK(fseek(f, off, SEEK_SET) == 0);
	CHECK_EQ_INT(fread(raw, 1, size, f), size);
	fclose(f);
	p = raw;
	CHECK_EQ_INT(ckpt_get_varint64(&p, raw + size, &n), 0);
	CHECK_EQ_U64(n, want_len);
	CHECK_EQ_INT((size_t)(p - raw) + 4 + n, size);
	el = check_memdup(p + 4, n);
	free(raw);
	*len = n;
	return el;
}

/* Rewrite a serialized graph so that in every ObjectReference node_id comes
 * before local_name, i.e. put the fields of TF's out-of-order references
 * in canonical order.  Only the order changes: lengths stay the same. */
static uint8_t *
canonical_refs(const uint8_t *in, size_t len)
{
	uint8_t *out = check_memdup(in, len);
	const uint8_t *p = in, *end = in + len;

	while (p < end) { /* TrackableObjectGraph: nodes = 1 */
		uint64_t nlen;
		const uint8_t *nend;

		CHECK_EQ_INT(*p++, 0x0a);
		CHECK_EQ_INT(ckpt_get_varint64(&p, end, &nlen), 0);
		nend = p + nlen;
		while (p < nend) { /* TrackableObject fields */
			uint8_t tag = *p++;
			uint64_t flen;
			const uint8_t *f, *fend, *idf = NULL, *namef = NULL;
			size_t idlen = 0, namelen = 0;
			uint8_t *o;

			CHECK_EQ_INT(tag & 7, 2);
			CHECK_EQ_INT(ckpt_get_varint64(&p, nend, &flen), 0);
			f = p;
			fend = p + flen;
			p = fend;
			if (tag != 0x0a)
				continue;
			while (f < fend) { /* ObjectReference fields */
				const uint8_t *start = f;
				uint8_t t = *f++;
				uint64_t v;

				CHECK_EQ_INT(ckpt_get_varint64(&f, fend, &v),
					     0);
				if (t == 0x08) {
					idf = start;
					idlen = (size_t)(f - start);
				} else {
					CHECK_EQ_INT(t, 0x12);
					CHECK(v <= (uint64_t)(fend - f));
					f += v;
					namef = start;
					namelen = (size_t)(f - start);
				}
			}
			o = out + (fend - flen - in);
			if (idf != NULL) {
				memcpy(o, idf, idlen);
				o += idlen;
			}
			if (namef != NULL)
				memcpy(o, namef, namelen);
		}
	}
	return out;
}

/* Serialize G and compare with ORIG: byte-identical when CANONICAL, else
 * identical to ORIG with its ObjectReferences put in canonical order, and
 * equal after a second parse. */
static void
check_reserialize(const struct ckpt_objgraph *g, const uint8_t *orig,
		  size_t len, bool canonical)
{
	struct ckpt_buf b = serialize(g);
	struct ckpt_objgraph *h;
	uint8_t *canon;

	CHECK_EQ_INT(b.len, len);
	if (canonical) {
		CHECK_EQ_MEM(b.data, b.len, orig, len);
	} else {
		CHECK(memcmp(b.data, orig, len) != 0);
		canon = canonical_refs(orig, len);
		CHECK_EQ_MEM(b.data, b.len, canon, len);
		free(canon);
	}
	h = parse_ok(b.data, b.len);
	CHECK(graph_eq(g, h));
	ckpt_objgraph_free(h);
	ckpt_buf_free(&b);
}

/* saved_model_half_plus_two_tf2_cpu_variables: 24 nodes.
 *
 * TF wrote this graph with local_name (field 2) before node_id (field 1)
 * in every ObjectReference (`0a 05 12 01 61 08 01`); everything else is
 * canonical.  So serialize(parse(x)) has the same length as x and differs
 * exactly in the order of those two fields (checked by canonical_refs()),
 * and parse(serialize(parse(x))) equals parse(x). */
static void
test_real_tf2_cpu(const char *dir)
{
	static const char *const root[] = { "a",
					    "b",
					    "c",
					    "asset",
					    "classify_x2y3",
					    "classify_xy",
					    "predict",
					    "regress_x2y3",
					    "regress_xy",
					    "regress_xy2",
					    "signatures" };
	static const char *const sigs[] = {
		"regress_x_to_y",  "regress_x_to_y2",	"regress_x2_to_y3",
		"classify_x_to_y", "classify_x2_to_y3", "serving_default"
	};
	static const char *const abc[] = { "a", "b", "c" };
	struct ckpt_objgraph *g;
	uint8_t *buf;
	char **p, key[64];
	int hcv[24];
	size_t len, i;

	buf = read_graph(dir,
			 "saved_model_half_plus_two_tf2_cpu_variables.data-"
			 "00000-of-00001",
			 12, 619, 613, &len);
	CHECK_EQ_MEM(buf, 7, "\x0a\x98\x01\x0a\x05\x12\x01", 7);
	g = parse_ok(buf, len);
	CHECK_EQ_INT(g->n, 24);
	CHECK_EQ_INT(g->nodes[0].nchildren, 11);
	for (i = 0; i < 11; i++)
		check_child(g, 0, i, (int32_t)i + 1, root[i]);
	CHECK_EQ_INT(g->nodes[0].nattrs, 0);
	CHECK_EQ_INT(g->nodes[0].has_checkpoint_values, 1);
	for (i = 1; i <= 3; i++) {
		const struct ckpt_objnode *n = &g->nodes[i];

		CHECK_EQ_INT(n->nchildren, 0);
		CHECK_EQ_INT(n->nattrs, 1);
		CHECK_EQ_STR(n->attrs[0].name, "VARIABLE_VALUE");
		CHECK_EQ_STR(n->attrs[0].full_name, abc[i - 1]);
		snprintf(key, sizeof(key), "%s/.ATTRIBUTES/VARIABLE_VALUE",
			 abc[i - 1]);
		CHECK_EQ_STR(n->attrs[0].checkpoint_key, key);
		CHECK(!n->attrs[0].optional_restore);
		CHECK_EQ_INT(n->has_checkpoint_values, 1);
	}
	for (i = 4; i < 24; i++) {
		CHECK_EQ_INT(g->nodes[i].nattrs, 0);
		CHECK_EQ_INT(g->nodes[i].nslots, 0);
		CHECK(g->nodes[i].saver_name == NULL);
		CHECK_EQ_INT(g->nodes[i].has_checkpoint_values, 0);
	}
	CHECK_EQ_INT(g->nodes[4].nchildren, 0);
	for (i = 5; i <= 10; i++) {
		CHECK_EQ_INT(g->nodes[i].nchildren, 1);
		check_child(g, i, 0, (int32_t)i + 7, "trace_0");
	}
	CHECK_EQ_INT(g->nodes[11].nchildren, 6);
	for (i = 0; i < 6; i++)
		check_child(g, 11, i, (int32_t)i + 18, sigs[i]);
	for (i = 12; i < 24; i++)
		CHECK_EQ_INT(g->nodes[i].nchildren, 0);

	CHECK_EQ_INT(ckpt_objgraph_paths(g, &p), 0);
	CHECK_EQ_STR(p[0], "");
	CHECK_EQ_STR(p[1], "a");
	CHECK_EQ_STR(p[4], "asset");
	CHECK_EQ_STR(p[11], "signatures");
	CHECK_EQ_STR(p[12], "classify_x2y3/trace_0");
	CHECK_EQ_STR(p[17], "regress_xy2/trace_0");
	CHECK_EQ_STR(p[20], "signatures/regress_x2_to_y3");
	CHECK_EQ_STR(p[23], "signatures/serving_default");
	for (i = 0; i < 24; i++)
		CHECK(p[i] != NULL);
	ckpt_objgraph_paths_free(p, g->n);

	check_reserialize(g, buf, len, false);

	/* TF's has_checkpoint_values is what mark_values computes. */
	for (i = 0; i < 24; i++)
		hcv[i] = g->nodes[i].has_checkpoint_values;
	CHECK_EQ_INT(ckpt_objgraph_mark_values(g), 0);
	for (i = 0; i < 24; i++)
		CHECK_EQ_INT(g->nodes[i].has_checkpoint_values, hcv[i]);

	ckpt_objgraph_free(g);
	free(buf);
}

/* tf_text_regression_01_variables_variables: 30 nodes, no values, node 6
 * reached under two names, node 18 shared; written in canonical order, so
 * serialize(parse(x)) == x byte for byte. */
static void
test_real_tf_text(const char *dir)
{
	static const char *const root[] = {
		"variables",
		"trainable_variables",
		"regularization_losses",
		"keras_api",
		"__call__",
		"call_and_return_all_conditional_losses",
		"_default_save_signature",
		"wp_vocab_table",
		"call",
		"signatures"
	};
	static const struct {
		int32_t id;
		const char *name;
	} keras[] = {
		{ 11, "non_trainable_variables" },
		{ 12, "layers" },
		{ 13, "metrics" },
		{ 14, "layer_regularization_losses" },
		{ 15, "layer_metrics" },
		{ 1, "variables" },
		{ 2, "trainable_variables" },
		{ 3, "regularization_losses" },
		{ 5, "__call__" },
		{ 7, "_default_save_signature" },
		{ 6, "call_and_return_all_conditional_losses" },
		{ 6, "call_and_return_conditional_losses" },
	};
	static const int empty[] = { 1,	 2,  3,	 11, 12, 13, 14,
				     15, 18, 19, 25, 27, 28, 29 };
	struct ckpt_objgraph *g;
	uint8_t *buf;
	char **p;
	size_t len, i;

	buf = read_graph(dir,
			 "tf_text_regression_01_variables_variables.data-"
			 "00000-of-00001",
			 0, 927, 921, &len);
	g = parse_ok(buf, len);
	CHECK_EQ_INT(g->n, 30);
	CHECK_EQ_INT(g->nodes[0].nchildren, 10);
	for (i = 0; i < 10; i++)
		check_child(g, 0, i, (int32_t)i + 1, root[i]);
	CHECK_EQ_INT(g->nodes[4].nchildren, ARRAY_SIZE(keras));
	for (i = 0; i < ARRAY_SIZE(keras); i++)
		check_child(g, 4, i, keras[i].id, keras[i].name);
	check_child(g, 5, 0, 16, "trace_0");
	check_child(g, 6, 0, 17, "trace_0");
	check_child(g, 7, 0, 18, "capture_1");
	check_child(g, 9, 0, 23, "trace_0");
	check_child(g, 10, 0, 24, "serving_default");
	CHECK_EQ_INT(g->nodes[8].nchildren, 4);
	check_child(g, 8, 0, 19, "_initializer");
	check_child(g, 8, 1, 20, "_create_resource");
	check_child(g, 8, 2, 21, "_initialize");
	check_child(g, 8, 3, 22, "_destroy_resource");
	check_child(g, 16, 0, 18, "capture_1");
	check_child(g, 17, 0, 18, "capture_1");
	check_child(g, 23, 0, 18, "capture_1");
	check_child(g, 24, 0, 18, "capture_1");
	check_child(g, 20, 0, 25, "trace_0");
	check_child(g, 21, 0, 26, "trace_0");
	check_child(g, 22, 0, 27, "trace_0");
	CHECK_EQ_INT(g->nodes[26].nchildren, 2);
	check_child(g, 26, 0, 28, "capture_1");
	check_child(g, 26, 1, 29, "capture_2");
	for (i = 0; i < ARRAY_SIZE(empty); i++)
		CHECK_EQ_INT(g->nodes[empty[i]].nchildren, 0);
	for (i = 0; i < 30; i++) {
		CHECK_EQ_INT(g->nodes[i].nattrs, 0);
		CHECK_EQ_INT(g->nodes[i].nslots, 0);
		CHECK_EQ_INT(g->nodes[i].has_checkpoint_values, 0);
	}

	CHECK_EQ_INT(ckpt_objgraph_paths(g, &p), 0);
	CHECK_EQ_STR(p[0], "");
	CHECK_EQ_STR(p[4], "keras_api");
	/* first name wins; the keras_api back-edges do not rename 1..7 */
	CHECK_EQ_STR(p[6], "call_and_return_all_conditional_losses");
	CHECK_EQ_STR(p[1], "variables");
	CHECK_EQ_STR(p[12], "keras_api/layers");
	CHECK_EQ_STR(p[16], "__call__/trace_0");
	/* 7 is dequeued before 16, so 18 is found under 7 */
	CHECK_EQ_STR(p[18], "_default_save_signature/capture_1");
	CHECK_EQ_STR(p[24], "signatures/serving_default");
	CHECK_EQ_STR(p[25], "wp_vocab_table/_create_resource/trace_0");
	CHECK_EQ_STR(p[29], "wp_vocab_table/_initialize/trace_0/capture_2");
	for (i = 0; i < 30; i++)
		CHECK(p[i] != NULL);
	ckpt_objgraph_paths_free(p, g->n);

	check_reserialize(g, buf, len, true);

	CHECK_EQ_INT(ckpt_objgraph_mark_values(g), 0);
	for (i = 0; i < 30; i++)
		CHECK_EQ_INT(g->nodes[i].has_checkpoint_values, 0);

	ckpt_objgraph_free(g);
	free(buf);
}

/* ---- building ----------------------------------------------------------- */

/* Append a node with the given encoded fields to the graph B. */
static void
put_attr(struct ckpt_buf *node, const char *name, const char *full,
	 const char *key)
{
	struct ckpt_buf sub = { 0 };

	put_str(&sub, 0x0a, name);
	put_str(&sub, 0x12, full);
	put_str(&sub, 0x1a, key);
	put_msg(node, 0x12, &sub);
}

/* Append a child reference to NODE. */
static void
put_ref(struct ckpt_buf *node, int32_t id, const char *name)
{
	struct ckpt_buf sub = { 0 };

	if (id != 0)
		put_vi(&sub, 0x08, (uint64_t)id);
	put_str(&sub, 0x12, name);
	put_msg(node, 0x0a, &sub);
}

/* Finish NODE with hcv true and append it to G. */
static void
put_node_true(struct ckpt_buf *g, struct ckpt_buf *node)
{
	CHECK(ckpt_buf_put(node, "\x2a\x02\x08\x01", 4) == 0);
	put_msg(g, 0x0a, node);
}

/* FORMAT.md 7.6: tf.train.Checkpoint(vars={'a': a, 'scoped/c': c}). */
static void
test_build_example(void)
{
	static const struct ckpt_objvalue vals[] = {
		{ "save_counter/.ATTRIBUTES/VARIABLE_VALUE", "save_counter" },
		{ "vars/a/.ATTRIBUTES/VARIABLE_VALUE", "a" },
		{ "vars/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE", "scoped/c" },
	};
	static const uint8_t node0[] = "\x0a\x20"
				       "\x0a\x08\x08\x01\x12\x04vars"
				       "\x0a\x10\x08\x02\x12\x0csave_counter"
				       "\x2a\x02\x08\x01";
	static const uint8_t node3[] =
		"\x0a\x3c"
		"\x12\x36\x0a\x0eVARIABLE_VALUE\x12\x01"
		"a\x1a\x21vars/a/.ATTRIBUTES/VARIABLE_VALUE"
		"\x2a\x02\x08\x01";
	struct ckpt_buf want = { 0 }, node = { 0 }, b;
	struct ckpt_objgraph *g;
	struct ckpt_err err = { 0 };
	char **p;

	CHECK_EQ_INT(ckpt_objgraph_build(vals, ARRAY_SIZE(vals), &g, &err), 0);
	CHECK_EQ_INT(g->n, 5);
	b = serialize(g);
	CHECK_EQ_INT(b.len, 279);
	CHECK_EQ_MEM(b.data, sizeof(node0) - 1, node0, sizeof(node0) - 1);
	/* node 3 follows nodes 0 (34 B), 1 (27 B) and 2 (79 B) */
	CHECK_EQ_MEM(b.data + 34 + 27 + 79, sizeof(node3) - 1, node3,
		     sizeof(node3) - 1);

	/* The whole graph, from the text form in FORMAT.md 7.6. */
	put_ref(&node, 1, "vars");
	put_ref(&node, 2, "save_counter");
	put_node_true(&want, &node);
	put_ref(&node, 3, "a");
	put_ref(&node, 4, "scoped/c");
	put_node_true(&want, &node);
	put_attr(&node, "VARIABLE_VALUE", "save_counter",
		 "save_counter/.ATTRIBUTES/VARIABLE_VALUE");
	put_node_true(&want, &node);
	put_attr(&node, "VARIABLE_VALUE", "a",
		 "vars/a/.ATTRIBUTES/VARIABLE_VALUE");
	put_node_true(&want, &node);
	put_attr(&node, "VARIABLE_VALUE", "scoped/c",
		 "vars/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE");
	put_node_true(&want, &node);
	CHECK_EQ_MEM(b.data, b.len, want.data, want.len);

	CHECK_EQ_INT(ckpt_objgraph_paths(g, &p), 0);
	CHECK_EQ_STR(p[1], "vars");
	CHECK_EQ_STR(p[2], "save_counter");
	CHECK_EQ_STR(p[4], "vars/scoped.Sc");
	ckpt_objgraph_paths_free(p, g->n);
	ckpt_objgraph_free(g);
	ckpt_buf_free(&b);
	ckpt_buf_free(&want);

	/* No values: a lone root without values. */
	CHECK_EQ_INT(ckpt_objgraph_build(NULL, 0, &g, &err), 0);
	b = serialize(g);
	CHECK_EQ_MEM(b.data, b.len, "\x0a\x02\x2a\x00", 4);
	ckpt_buf_free(&b);
	ckpt_objgraph_free(g);
}

/* Keys of a bigger model: lists, slots of two optimizers, names holding
 * '.', '/', spaces and UTF-8, attributes of the root and of inner nodes. */
static const struct ckpt_objvalue big[] = {
	{ "save_counter/.ATTRIBUTES/VARIABLE_VALUE", "save_counter" },
	{ "model/layer/0/kernel/.ATTRIBUTES/VARIABLE_VALUE", "dense/kernel" },
	{ "model/layer/0/bias/.ATTRIBUTES/VARIABLE_VALUE", "dense/bias" },
	{ "model/layer/1/kernel/.ATTRIBUTES/VARIABLE_VALUE", "k1" },
	{ "model/layer/10/kernel/.ATTRIBUTES/VARIABLE_VALUE", "k10" },
	{ "model/layer/2/kernel/.ATTRIBUTES/VARIABLE_VALUE", "k2" },
	{ "model/conv..1.Sw/.ATTRIBUTES/VARIABLE_VALUE", "conv.1/w" },
	{ "model/a...Sb/.ATTRIBUTES/VARIABLE_VALUE", NULL },
	{ "model/.ATTRIBUTES/OBJECT_CONFIG_JSON", "" },
	{ "/.ATTRIBUTES/ROOT.SATTR", "root" },
	{ "vars/caf\xc3\xa9 x/.ATTRIBUTES/VARIABLE_VALUE", "caf\xc3\xa9 x" },
	{ "model/layer/0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/"
	  "VARIABLE_VALUE",
	  "dense/kernel/Adam" },
	{ "model/layer/0/kernel/.OPTIMIZER_SLOT/optimizer/v/.ATTRIBUTES/"
	  "VARIABLE_VALUE",
	  "dense/kernel/Adam_1" },
	{ "model/layer/1/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/"
	  "VARIABLE_VALUE",
	  "k1/Adam" },
	{ "model/conv..1.Sw/.OPTIMIZER_SLOT/optimizer/m..x/.ATTRIBUTES/"
	  "VARIABLE_VALUE",
	  "conv/mx" },
	{ "model/layer/2/kernel/.OPTIMIZER_SLOT/opt2/inner/momentum/"
	  ".ATTRIBUTES/VARIABLE_VALUE",
	  "k2/Momentum" },
	{ "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE", "iter" },
	{ "optimizer/learning_rate/.ATTRIBUTES/VARIABLE_VALUE", "lr" },
};

/* The bundle key of attribute A of node I, derived from paths P and the
 * slot references of G (as TF derives keys). */
static char *
derive_key(const struct ckpt_objgraph *g, char **p, size_t i,
	   const struct ckpt_objattr *a)
{
	struct ckpt_buf b = { 0 };
	size_t o, s;
	char *r;

	if (p[i] != NULL) {
		CHECK(ckpt_buf_put(&b, p[i], strlen(p[i])) == 0);
	} else {
		const struct ckpt_slotref *sr = NULL;

		for (o = 0; o < g->n && sr == NULL; o++)
			for (s = 0; s < g->nodes[o].nslots; s++)
				if ((size_t)g->nodes[o]
					    .slots[s]
					    .slot_variable_node_id == i) {
					sr = &g->nodes[o].slots[s];
					break;
				}
		CHECK(sr != NULL);
		o--;
		CHECK(p[sr->original_variable_node_id] != NULL);
		CHECK(p[o] != NULL);
		CHECK(ckpt_buf_put(&b, p[sr->original_variable_node_id],
				   strlen(p[sr->original_variable_node_id])) ==
		      0);
		CHECK(ckpt_buf_put(&b, "/.OPTIMIZER_SLOT/", 17) == 0);
		CHECK(ckpt_buf_put(&b, p[o], strlen(p[o])) == 0);
		CHECK(ckpt_buf_put(&b, "/", 1) == 0);
		CHECK(ckpt_name_escape(sr->slot_name, sr->slot_name_len, &b) ==
		      0);
	}
	CHECK(ckpt_buf_put(&b, "/.ATTRIBUTES/", 13) == 0);
	CHECK(ckpt_name_escape(a->name, a->name_len, &b) == 0);
	r = strdup((char *)b.data);
	CHECK(r != NULL);
	ckpt_buf_free(&b);
	return r;
}

/* Depth of the node at escaped path P (escaped names hold no '/'). */
static size_t
depth(const char *p)
{
	size_t d = 1;

	for (; *p != '\0'; p++)
		d += *p == '/';
	return d;
}

/* Index of the path P in PATHS of G, or abort. */
static int32_t
node_of(const struct ckpt_objgraph *g, char **paths, const char *p)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (paths[i] != NULL && strcmp(paths[i], p) == 0)
			return (int32_t)i;
	fprintf(stderr, "no node at path \"%s\"\n", p);
	CHECK(0);
	return -1;
}

/* build -> serialize -> parse gives back exactly the keys. */
static void
test_build_roundtrip(void)
{
	struct ckpt_objvalue shuffled[ARRAY_SIZE(big)];
	struct ckpt_objgraph *g, *h;
	struct ckpt_err err = { 0 };
	struct ckpt_buf b, b2;
	bool seen[ARRAY_SIZE(big)] = { false };
	size_t i, j, nattrs = 0, nnodes;
	int32_t model, layer, opt, opt2, k0, k1, k2, conv;
	char **p;

	CHECK_EQ_INT(ckpt_objgraph_build(big, ARRAY_SIZE(big), &g, &err), 0);
	b = serialize(g);
	h = parse_ok(b.data, b.len);
	CHECK(graph_eq(g, h));
	CHECK_EQ_INT(ckpt_objgraph_paths(h, &p), 0);

	for (i = 0; i < h->n; i++) {
		for (j = 0; j < h->nodes[i].nattrs; j++) {
			const struct ckpt_objattr *a = &h->nodes[i].attrs[j];
			char *k = derive_key(h, p, i, a);
			size_t v;

			CHECK_EQ_STR(k, a->checkpoint_key);
			for (v = 0; v < ARRAY_SIZE(big); v++)
				if (strcmp(big[v].key, k) == 0)
					break;
			CHECK(v < ARRAY_SIZE(big));
			CHECK(!seen[v]);
			seen[v] = true;
			CHECK_EQ_STR(a->full_name,
				     big[v].full_name ? big[v].full_name : "");
			free(k);
			nattrs++;
		}
		CHECK_EQ_INT(h->nodes[i].has_checkpoint_values, 1);
	}
	CHECK_EQ_INT(nattrs, ARRAY_SIZE(big));

	/* Shape: root children sorted, save_counter last. */
	check_child(h, 0, 0, 1, "model");
	check_child(h, 0, 1, 2, "opt2");
	check_child(h, 0, 2, 3, "optimizer");
	check_child(h, 0, 3, 4, "vars");
	check_child(h, 0, 4, 5, "save_counter");
	CHECK_EQ_INT(h->nodes[0].nchildren, 5);
	CHECK_EQ_INT(h->nodes[0].nattrs, 1);
	CHECK_EQ_STR(h->nodes[0].attrs[0].name, "ROOT/ATTR");
	CHECK_EQ_STR(p[0], "");
	model = node_of(h, p, "model");
	CHECK_EQ_INT(model, 1);
	check_child(h, 1, 0, 6, "a./b");
	check_child(h, 1, 1, 7, "conv.1/w");
	check_child(h, 1, 2, 8, "layer");
	CHECK_EQ_INT(h->nodes[1].nattrs, 1);
	CHECK_EQ_STR(h->nodes[1].attrs[0].name, "OBJECT_CONFIG_JSON");
	CHECK_EQ_STR(h->nodes[1].attrs[0].full_name, "");
	layer = node_of(h, p, "model/layer");
	/* bytewise: "10" sorts before "2" */
	CHECK_EQ_INT(h->nodes[layer].nchildren, 4);
	CHECK_EQ_STR(h->nodes[layer].children[0].local_name, "0");
	CHECK_EQ_STR(h->nodes[layer].children[1].local_name, "1");
	CHECK_EQ_STR(h->nodes[layer].children[2].local_name, "10");
	CHECK_EQ_STR(h->nodes[layer].children[3].local_name, "2");
	CHECK_EQ_STR(p[7], "model/conv..1.Sw");
	CHECK_EQ_STR(p[6], "model/a...Sb");
	/* breadth-first: depth never decreases with the id */
	for (i = 2; i < h->n && p[i] != NULL; i++)
		CHECK(depth(p[i]) >= depth(p[i - 1]));
	CHECK_EQ_INT(depth(p[h->n - 6]), 4); /* the last path node */

	/* Slot variables: after every path node, ordered by (optimizer,
	 * slot name, variable); no child edge points at them. */
	opt = node_of(h, p, "optimizer");
	opt2 = node_of(h, p, "opt2/inner");
	k0 = node_of(h, p, "model/layer/0/kernel");
	k1 = node_of(h, p, "model/layer/1/kernel");
	k2 = node_of(h, p, "model/layer/2/kernel");
	conv = node_of(h, p, "model/conv..1.Sw");
	CHECK(opt < opt2);
	nnodes = h->n;
	for (i = nnodes - 5; i < nnodes; i++)
		CHECK(p[i] == NULL);
	for (i = 0; i < nnodes - 5; i++)
		CHECK(p[i] != NULL);
	CHECK_EQ_INT(h->nodes[opt2].nslots, 1);
	CHECK_EQ_INT(h->nodes[opt2].nattrs, 0);
	CHECK_EQ_INT(h->nodes[opt2].slots[0].original_variable_node_id, k2);
	CHECK_EQ_STR(h->nodes[opt2].slots[0].slot_name, "momentum");
	CHECK_EQ_INT(h->nodes[opt2].slots[0].slot_variable_node_id, nnodes - 1);
	CHECK_EQ_INT(h->nodes[opt].nslots, 4);
	CHECK(k0 < k1);
	CHECK_EQ_INT(h->nodes[opt].slots[0].original_variable_node_id, k0);
	CHECK_EQ_STR(h->nodes[opt].slots[0].slot_name, "m");
	CHECK_EQ_INT(h->nodes[opt].slots[1].original_variable_node_id, k1);
	CHECK_EQ_STR(h->nodes[opt].slots[1].slot_name, "m");
	CHECK_EQ_INT(h->nodes[opt].slots[2].original_variable_node_id, conv);
	CHECK_EQ_STR(h->nodes[opt].slots[2].slot_name, "m.x");
	CHECK_EQ_INT(h->nodes[opt].slots[3].original_variable_node_id, k0);
	CHECK_EQ_STR(h->nodes[opt].slots[3].slot_name, "v");
	for (i = 0; i < 4; i++)
		CHECK_EQ_INT(h->nodes[opt].slots[i].slot_variable_node_id,
			     nnodes - 5 + i);
	ckpt_objgraph_paths_free(p, h->n);

	/* Input order does not matter. */
	for (i = 0; i < ARRAY_SIZE(big); i++)
		shuffled[i] = big[(i * 7 + 3) % ARRAY_SIZE(big)];
	ckpt_objgraph_free(g);
	CHECK_EQ_INT(ckpt_objgraph_build(shuffled, ARRAY_SIZE(big), &g, &err),
		     0);
	b2 = serialize(g);
	CHECK_EQ_MEM(b2.data, b2.len, b.data, b.len);
	ckpt_buf_free(&b2);
	ckpt_buf_free(&b);
	ckpt_objgraph_free(g);
	ckpt_objgraph_free(h);
	CHECK_EQ_INT(err.code, 0);
}

/* Keys that are not object attribute keys are -EINVAL naming the key. */
static void
test_build_bad(void)
{
	static const char *const bad[] = {
		"foo",
		"",
		"a/.ATTRIBUTESX/VARIABLE_VALUE",
		"_CHECKPOINTABLE_OBJECT_GRAPH",
		".ATTRIBUTES/VARIABLE_VALUE",
		"a/.ATTRIBUTES",
		"a/.ATTRIBUTES/b/c",
		"a/.ATTRIBUTES/.ATTRIBUTES/c",
		"a.x/.ATTRIBUTES/VARIABLE_VALUE",
		"a./.ATTRIBUTES/VARIABLE_VALUE",
		"a/.ATTRIBUTES/V.",
		"a/.OPTIMIZER_SLOT/m/.ATTRIBUTES/VARIABLE_VALUE",
		".OPTIMIZER_SLOT/o/m/.ATTRIBUTES/VARIABLE_VALUE",
		"a/.OPTIMIZER_SLOT/o/.OPTIMIZER_SLOT/m/.ATTRIBUTES/V",
		"a/.ATTRIBUTES/V/.OPTIMIZER_SLOT/o/m",
		/* a slot is restored from its VARIABLE_VALUE only */
		"a/.OPTIMIZER_SLOT/o/m/.ATTRIBUTES/OTHER",
	};
	struct ckpt_objvalue v[2] = {
		{ "ok/.ATTRIBUTES/VARIABLE_VALUE", "ok" },
		{ NULL, "x" },
	};
	struct ckpt_objgraph *g;
	struct ckpt_err err;
	const char *why;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ckpt_err_clear(&err);
		g = (struct ckpt_objgraph *)&g;
		v[1].key = bad[i];
		CHECK_EQ_INT(ckpt_objgraph_build(v, 2, &g, &err), -EINVAL);
		CHECK(g == NULL);
		CHECK_EQ_INT(err.code, -EINVAL);
		if (strstr(err.msg, bad[i]) == NULL)
			fprintf(stderr, "%s: %s\n", bad[i], err.msg);
		CHECK(strstr(err.msg, bad[i]) != NULL);
		/* The check the write-out makes first agrees. */
		CHECK_EQ_INT(ckpt_objgraph_key_check(bad[i], strlen(bad[i]),
						     &why),
			     -EINVAL);
		CHECK(why != NULL && strstr(err.msg, why) != NULL);
	}
	CHECK_EQ_INT(ckpt_objgraph_key_check("a..b.Sc/.ATTRIBUTES/V", 21, &why),
		     0);
	CHECK(why == NULL);
	CHECK_EQ_INT(ckpt_objgraph_key_check("a.x/.ATTRIBUTES/V", 17, &why),
		     -EINVAL);
	CHECK_EQ_STR(why, "a '.' in a component must be followed by '.' or 'S'");
	CHECK_EQ_INT(ckpt_objgraph_key_check("a/.ATTRIBUTES/b/c", 17, &why),
		     -EINVAL);
	CHECK_EQ_STR(why, "not <path>/.ATTRIBUTES/<name>");
	CHECK_EQ_INT(ckpt_objgraph_key_check(
			     "a/.OPTIMIZER_SLOT/o/m/.ATTRIBUTES/OTHER", 39,
			     &why),
		     -EINVAL);
	CHECK_EQ_STR(why, "a slot variable's value is its .ATTRIBUTES/"
			  "VARIABLE_VALUE, no other attribute");
	CHECK_EQ_INT(ckpt_objgraph_key_check(
			     "a/.OPTIMIZER_SLOT/o/m/.ATTRIBUTES/VARIABLE_VALUE",
			     48, &why),
		     0);
	/* Graph strings are proto3 strings: UTF-8 only, key and full name */
	CHECK_EQ_INT(ckpt_objgraph_key_check("caf\xe9/.ATTRIBUTES/V", 18, &why),
		     -EINVAL);
	CHECK_EQ_STR(why, "not valid UTF-8");
	CHECK_EQ_INT(ckpt_objgraph_key_check("caf\xc3\xa9/.ATTRIBUTES/V", 19,
					     &why),
		     0);
	ckpt_err_clear(&err);
	v[1].key = "caf\xe9/.ATTRIBUTES/V";
	CHECK_EQ_INT(ckpt_objgraph_build(v, 2, &g, &err), -EINVAL);
	CHECK(strstr(err.msg, "not valid UTF-8") != NULL);
	ckpt_err_clear(&err);
	v[1].key = "x/.ATTRIBUTES/V";
	v[1].full_name = "x\xff";
	CHECK_EQ_INT(ckpt_objgraph_build(v, 2, &g, &err), -EINVAL);
	CHECK_EQ_STR(err.msg, "object graph: the full name of value 1 is not "
			      "valid UTF-8");
	v[1].full_name = "x";
	/* Canonical: components not validly escaped become literal names. */
	{
		static const struct {
			const char *in, *out;
		} c[] = {
			{ "a.b/.ATTRIBUTES/V", "a..b/.ATTRIBUTES/V" },
			{ "a..b.Sc/x.y.Sz/.ATTRIBUTES/V.",
			  "a..b.Sc/x..y..Sz/.ATTRIBUTES/V.." },
			{ "v/.OPTIMIZER_SLOT/o/m/.ATTRIBUTES/V",
			  "v/.OPTIMIZER_SLOT/o/m/.ATTRIBUTES/V" },
			{ ".", ".." },
			{ "/a", "/a" },
		};
		struct ckpt_buf b = { 0 };

		for (i = 0; i < ARRAY_SIZE(c); i++) {
			b.len = 0;
			CHECK_EQ_INT(ckpt_objgraph_key_canon(c[i].in,
							     strlen(c[i].in),
							     &b),
				     0);
			CHECK_EQ_MEM(b.data, b.len, c[i].out, strlen(c[i].out));
		}
		ckpt_buf_free(&b);
	}
	/* the same attribute twice (the same key, or an equal name) */
	ckpt_err_clear(&err);
	v[1].key = "ok/.ATTRIBUTES/VARIABLE_VALUE";
	CHECK_EQ_INT(ckpt_objgraph_build(v, 2, &g, &err), -EINVAL);
	CHECK(strstr(err.msg, "repeats") != NULL);
	ckpt_err_clear(&err);
	v[0].key = "o.Sk/.ATTRIBUTES/A.Sb";
	v[1].key = "o.Sk/.ATTRIBUTES/A.Sb";
	CHECK_EQ_INT(ckpt_objgraph_build(v, 2, &g, &err), -EINVAL);
	ckpt_err_clear(&err);
	v[1].key = "o.Sk/.ATTRIBUTES/A.Sc";
	CHECK_EQ_INT(ckpt_objgraph_build(v, 2, &g, &err), 0);
	CHECK_EQ_INT(g->n, 2);
	CHECK_EQ_INT(g->nodes[1].nattrs, 2);
	CHECK_EQ_STR(g->nodes[1].attrs[0].name, "A/b");
	CHECK_EQ_STR(g->nodes[1].attrs[1].name, "A/c");
	check_child(g, 0, 0, 1, "o/k");
	ckpt_objgraph_free(g);
	/* a NULL key */
	ckpt_err_clear(&err);
	v[1].key = NULL;
	CHECK_EQ_INT(ckpt_objgraph_build(v, 2, &g, &err), -EINVAL);
}

/* Keys and full names given with their lengths may hold NUL bytes: the
 * local names and the stored key and full name keep them. */
static void
test_build_nul(void)
{
	static const char key[] = "m/a\0b/.ATTRIBUTES/VARIABLE_VALUE";
	static const char fn[] = "a\0b";
	struct ckpt_objvalue v[1] = { { .key = key, .key_len = sizeof(key) - 1,
					.full_name = fn,
					.full_name_len = sizeof(fn) - 1 } };
	struct ckpt_objgraph *g;
	struct ckpt_err err = { 0 };
	const struct ckpt_objattr *a;

	CHECK_EQ_INT(ckpt_objgraph_build(v, 1, &g, &err), 0);
	CHECK_EQ_INT(g->n, 3);
	CHECK_EQ_MEM(g->nodes[0].children[0].local_name,
		     g->nodes[0].children[0].local_name_len, "m", 1);
	CHECK_EQ_MEM(g->nodes[1].children[0].local_name,
		     g->nodes[1].children[0].local_name_len, "a\0b", 3);
	CHECK_EQ_INT(g->nodes[2].nattrs, 1);
	a = &g->nodes[2].attrs[0];
	CHECK_EQ_MEM(a->checkpoint_key, a->checkpoint_key_len, key,
		     sizeof(key) - 1);
	CHECK_EQ_MEM(a->full_name, a->full_name_len, fn, sizeof(fn) - 1);
	ckpt_objgraph_free(g);
}

/* ---- editing ------------------------------------------------------------ */

/* Append to NODE an attribute NAME (FN, KEY; OPTIONAL: optional_restore),
 * an empty FN left out as TensorFlow does (put_attr() writes it). */
static void
e_attr(struct ckpt_buf *node, const char *name, const char *fn,
       const char *key, bool optional)
{
	struct ckpt_buf sub = { 0 };

	put_str(&sub, 0x0a, name);
	if (*fn != '\0')
		put_str(&sub, 0x12, fn);
	put_str(&sub, 0x1a, key);
	if (optional)
		put_vi(&sub, 0x20, 1);
	put_msg(node, 0x12, &sub);
}

/* Append to NODE slot variable SLOT of ORIG, at node ID. */
static void
e_slot(struct ckpt_buf *node, uint64_t orig, const char *slot, uint64_t id)
{
	struct ckpt_buf sub = { 0 };

	put_vi(&sub, 0x08, orig);
	put_str(&sub, 0x12, slot);
	put_vi(&sub, 0x18, id);
	put_msg(node, 0x1a, &sub);
}

/* End NODE (has_checkpoint_values HCV unless -1) as the next node of G. */
static void
e_node(struct ckpt_buf *g, struct ckpt_buf *node, int hcv)
{
	struct ckpt_buf sub = { 0 };

	if (hcv == 1)
		put_vi(&sub, 0x08, 1);
	if (hcv >= 0)
		put_msg(node, 0x2a, &sub);
	put_msg(g, 0x0a, node);
}

/* A Keras-like graph: model holds an optional attribute, a shared
 * object (two edges to dense) and one without values (sig); optimizer
 * has the slot m of dense and iter.  With HCV, has_checkpoint_values is
 * stored. */
static struct ckpt_objgraph *
edit_source(bool hcv)
{
	struct ckpt_buf g = { 0 }, n = { 0 };
	struct ckpt_objgraph *out;
	int t = hcv ? 1 : -1, f = hcv ? 0 : -1;

	put_ref(&n, 1, "model");	/* 0 */
	put_ref(&n, 2, "optimizer");
	put_ref(&n, 3, "save_counter");
	e_node(&g, &n, t);
	put_ref(&n, 4, "dense");	/* 1 model */
	put_ref(&n, 4, "alias");
	put_ref(&n, 5, "sig");
	put_ref(&n, 8, "anon");
	e_attr(&n, "OBJECT_CONFIG_JSON", "",
	       "model/.ATTRIBUTES/OBJECT_CONFIG_JSON", true);
	e_node(&g, &n, t);
	put_ref(&n, 7, "iter");	/* 2 optimizer */
	e_slot(&n, 4, "m", 6);
	e_node(&g, &n, t);
	e_attr(&n, "VARIABLE_VALUE", "save_counter",	/* 3 */
	       "save_counter/.ATTRIBUTES/VARIABLE_VALUE", false);
	e_node(&g, &n, t);
	e_attr(&n, "VARIABLE_VALUE", "dense/kernel",	/* 4 model/dense */
	       "model/dense/.ATTRIBUTES/VARIABLE_VALUE", false);
	e_node(&g, &n, t);
	e_node(&g, &n, f);	/* 5 model/sig: no values */
	e_attr(&n, "VARIABLE_VALUE", "dense/kernel/Adam",	/* 6 slot */
	       "model/dense/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/"
	       "VARIABLE_VALUE",
	       false);
	e_node(&g, &n, t);
	e_attr(&n, "VARIABLE_VALUE", "Adam/iter",	/* 7 optimizer/iter */
	       "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE", false);
	e_node(&g, &n, t);
	e_attr(&n, "VARIABLE_VALUE", "",	/* 8 model/anon: no full_name */
	       "model/anon/.ATTRIBUTES/VARIABLE_VALUE", false);
	e_attr(&n, "x", "", "model/anon/.ATTRIBUTES/x", false);
	e_node(&g, &n, t);
	out = parse_ok(g.data, g.len);
	ckpt_buf_free(&g);
	return out;
}

/* Check attribute J of node I of G. */
static void
check_attr(const struct ckpt_objgraph *g, size_t i, size_t j,
	   const char *name, const char *fn, const char *key, bool optional)
{
	const struct ckpt_objattr *a;

	CHECK(i < g->n);
	CHECK(j < g->nodes[i].nattrs);
	a = &g->nodes[i].attrs[j];
	CHECK_EQ_STR(a->name, name);
	CHECK_EQ_STR(a->full_name, fn);
	CHECK_EQ_INT(a->full_name_len, strlen(fn));
	CHECK_EQ_STR(a->checkpoint_key, key);
	CHECK_EQ_INT(a->optional_restore, optional);
}

/* Edit G with the N values of V, expecting RC; G serialized and parsed
 * again when it is 0. */
static struct ckpt_objgraph *
edit(struct ckpt_objgraph *g, const struct ckpt_objvalue *v, size_t n,
     int rc)
{
	struct ckpt_err err = { 0 };
	struct ckpt_objgraph *back;
	struct ckpt_buf b;

	CHECK_EQ_INT(ckpt_objgraph_edit(g, v, n, &err), rc);
	if (rc != 0)
		return g;
	b = serialize(g);
	back = parse_ok(b.data, b.len);
	CHECK(graph_eq(g, back));
	ckpt_buf_free(&b);
	ckpt_objgraph_free(g);
	return back;
}

#define SLOT_KEY(v, s)                                                       \
	v "/.OPTIMIZER_SLOT/optimizer/" s "/.ATTRIBUTES/VARIABLE_VALUE"

/* A graph of a hash table saved as TensorFlow saves one (a legacy
 * saveable of two tensors: its attribute's key names neither), an
 * attribute beside it whose key begins with the table's, a variable and
 * a table without a full name. */
static struct ckpt_objgraph *
table_source(void)
{
	struct ckpt_buf g = { 0 }, n = { 0 };
	struct ckpt_objgraph *out;

	put_ref(&n, 1, "table");	/* 0 */
	put_ref(&n, 2, "v");
	put_ref(&n, 3, "t2");
	e_node(&g, &n, 1);
	e_attr(&n, "table", "hash_table", "table/.ATTRIBUTES/table", false);
	e_attr(&n, "table_x", "hash_table_x", "table/.ATTRIBUTES/table_x",
	       false);
	e_node(&g, &n, 1);	/* 1 */
	e_attr(&n, "VARIABLE_VALUE", "v", "v/.ATTRIBUTES/VARIABLE_VALUE",
	       false);
	e_node(&g, &n, 1);	/* 2 */
	e_attr(&n, "t", "", "t2/.ATTRIBUTES/t", false);
	e_node(&g, &n, 1);	/* 3 */
	out = parse_ok(g.data, g.len);
	ckpt_buf_free(&g);
	return out;
}

/* The values of a legacy saveable (keys: its attribute's followed by
 * more) keep its attribute through an edit, each taken once and none
 * from the attribute beside it; their full names (its own followed by
 * the same) give it its full name, and must agree. */
static void
test_edit_parts(void)
{
	static const struct ckpt_objvalue same[] = {
		{ "table/.ATTRIBUTES/table-keys", "hash_table-keys" },
		{ "table/.ATTRIBUTES/table-values", "hash_table-values" },
		{ "table/.ATTRIBUTES/table_x", "hash_table_x" },
		{ "v/.ATTRIBUTES/VARIABLE_VALUE", "v" },
		{ "t2/.ATTRIBUTES/t-keys", "t2/.ATTRIBUTES/t-keys" },
		{ "t2/.ATTRIBUTES/t-values", "t2/.ATTRIBUTES/t-values" },
	};
	static const struct ckpt_objvalue renamed[] = {
		{ "table/.ATTRIBUTES/table-keys", "lookup-keys" },
		{ "table/.ATTRIBUTES/table-values", "lookup-values" },
		{ "t2/.ATTRIBUTES/t-keys", "mine-keys" },
		{ "t2/.ATTRIBUTES/t-values", "mine-values" },
	};
	/* the table's tensors copied to an object of their own (cp -a of
	 * its object): one attribute for both there too */
	static const struct ckpt_objvalue copied[] = {
		{ "table/.ATTRIBUTES/table-keys", "hash_table-keys" },
		{ "table/.ATTRIBUTES/table-values", "hash_table-values" },
		{ "tcopy/.ATTRIBUTES/table-keys", "copy-keys" },
		{ "tcopy/.ATTRIBUTES/table-values", "copy-values" },
		{ "tcopy/.ATTRIBUTES/x-keys", "x-keys" },
	};
	/* one of a hash table's two removed: refused, in place or moved */
	static const struct ckpt_objvalue half[] = {
		{ "table/.ATTRIBUTES/table-keys", "hash_table-keys" },
		{ "table/.ATTRIBUTES/table_x", "hash_table_x" },
	};
	static const struct ckpt_objvalue half_moved[] = {
		{ "tbl/.ATTRIBUTES/table-values", "hash_table-values" },
	};
	static const struct ckpt_objvalue mixed[] = {
		{ "table/.ATTRIBUTES/table-keys", "a-keys" },
		{ "table/.ATTRIBUTES/table-values", "b-values" },
	};
	static const struct ckpt_objvalue gone[] = {
		{ "v/.ATTRIBUTES/VARIABLE_VALUE", "v" },
	};
	static const struct ckpt_objvalue moved[] = {
		{ "tbl/.ATTRIBUTES/table-keys", "hash_table-keys" },
		{ "tbl/.ATTRIBUTES/table-values", "hash_table-values" },
		{ "tbl/.ATTRIBUTES/table_x", "hash_table_x" },
		{ "v/.ATTRIBUTES/VARIABLE_VALUE", "v" },
	};
	static const struct ckpt_objvalue moved_renamed[] = {
		{ "x/tbl/.ATTRIBUTES/table-keys", "newname-keys" },
		{ "x/tbl/.ATTRIBUTES/table-values", "newname-values" },
	};
	static const struct ckpt_objvalue moved_apart[] = {
		{ "tbl/.ATTRIBUTES/table-keys", "newname-keys" },
		{ "tbl/.ATTRIBUTES/table-values", "hash_table-values" },
	};
	/* t2's table gone, whose own part "t" begins "table-keys" */
	static const struct ckpt_objvalue t_gone[] = {
		{ "table/.ATTRIBUTES/table-keys", "hash_table-keys" },
		{ "table/.ATTRIBUTES/table-values", "hash_table-values" },
		{ "table/.ATTRIBUTES/table_x", "hash_table_x" },
	};
	static const struct ckpt_objvalue alone[] = {
		{ "table/.ATTRIBUTES/table-keys", "foo" },
		{ "table/.ATTRIBUTES/table-values", "hash_table-values" },
	};
	struct ckpt_err err = { 0 };
	struct ckpt_objgraph *g;

	g = edit(table_source(), same, ARRAY_SIZE(same), 0);
	CHECK_EQ_INT(g->n, 4);
	CHECK_EQ_INT(g->nodes[1].nattrs, 2);
	check_attr(g, 1, 0, "table", "hash_table", "table/.ATTRIBUTES/table",
		   false);
	check_attr(g, 1, 1, "table_x", "hash_table_x",
		   "table/.ATTRIBUTES/table_x", false);
	CHECK_EQ_INT(g->nodes[3].nattrs, 1);
	check_attr(g, 3, 0, "t", "", "t2/.ATTRIBUTES/t", false);
	ckpt_objgraph_free(g);
	g = edit(table_source(), renamed, ARRAY_SIZE(renamed), 0);
	CHECK_EQ_INT(g->nodes[1].nattrs, 1);	/* table_x has no value */
	check_attr(g, 1, 0, "table", "lookup", "table/.ATTRIBUTES/table",
		   false);
	check_attr(g, 3, 0, "t", "mine", "t2/.ATTRIBUTES/t", false);
	CHECK_EQ_INT(g->nodes[2].nattrs, 0);
	ckpt_objgraph_free(g);
	/* named apart: one full name cannot hold both, refused */
	g = table_source();
	CHECK_EQ_INT(ckpt_objgraph_edit(g, mixed, ARRAY_SIZE(mixed), &err),
		     -EINVAL);
	CHECK_EQ_STR(err.msg,
		     "object graph: the tensors of key "
		     "\"table/.ATTRIBUTES/table\" (a saveable of several, as "
		     "a hash table: their keys are it followed by more) have "
		     "one full name, but that of "
		     "\"table/.ATTRIBUTES/table-values\" is \"b-values\": name "
		     "them all that name followed by what their keys add (as "
		     "NAME-keys, NAME-values)");
	ckpt_objgraph_free(g);
	ckpt_err_clear(&err);
	g = table_source();
	CHECK_EQ_INT(ckpt_objgraph_edit(g, alone, ARRAY_SIZE(alone), &err),
		     -EINVAL);
	CHECK(strstr(err.msg, "that of \"table/.ATTRIBUTES/table-keys\" is "
			      "\"foo\"") != NULL);
	ckpt_objgraph_free(g);
	ckpt_err_clear(&err);
	g = table_source();
	CHECK_EQ_INT(ckpt_objgraph_edit(g, half, ARRAY_SIZE(half), &err),
		     -EINVAL);
	CHECK_EQ_STR(err.msg,
		     "object graph: \"table/.ATTRIBUTES/table-keys\" is "
		     "written without \"table/.ATTRIBUTES/table-values\": a "
		     "hash table is saved as both (the attribute of key "
		     "\"table/.ATTRIBUTES/table\"), and TensorFlow restores it "
		     "from both or fails; put the other back, or remove this "
		     "one too");
	ckpt_objgraph_free(g);
	ckpt_err_clear(&err);
	g = table_source();
	CHECK_EQ_INT(ckpt_objgraph_edit(g, half_moved, ARRAY_SIZE(half_moved),
					&err),
		     -EINVAL);
	CHECK(strstr(err.msg, "\"tbl/.ATTRIBUTES/table-values\" is written "
			      "without \"tbl/.ATTRIBUTES/table-keys\"") != NULL);
	ckpt_objgraph_free(g);
	g = edit(table_source(), copied, ARRAY_SIZE(copied), 0);
	CHECK_EQ_INT(g->n, 5);
	check_child(g, 0, 3, 4, "tcopy");
	CHECK_EQ_INT(g->nodes[4].nattrs, 2);
	check_attr(g, 4, 0, "table", "copy", "tcopy/.ATTRIBUTES/table", false);
	check_attr(g, 4, 1, "x-keys", "x-keys", "tcopy/.ATTRIBUTES/x-keys",
		   false);
	CHECK_EQ_INT(g->nodes[1].nattrs, 1);
	check_attr(g, 1, 0, "table", "hash_table", "table/.ATTRIBUTES/table",
		   false);
	ckpt_objgraph_free(g);
	/* The table's object renamed: its attribute goes with its tensors,
	 * not split into one of each, and the attribute beside it keeps its
	 * own value (whose key and full name look like a third tensor's). */
	g = edit(table_source(), moved, ARRAY_SIZE(moved), 0);
	CHECK_EQ_INT(g->n, 5);
	CHECK_EQ_INT(g->nodes[1].nattrs, 0);
	check_child(g, 0, 3, 4, "tbl");
	CHECK_EQ_INT(g->nodes[4].nattrs, 2);
	check_attr(g, 4, 0, "table", "hash_table", "tbl/.ATTRIBUTES/table",
		   false);
	check_attr(g, 4, 1, "table_x", "hash_table_x",
		   "tbl/.ATTRIBUTES/table_x", false);
	ckpt_objgraph_free(g);
	/* moved deeper, and its tensors renamed alike: the name too */
	g = edit(table_source(), moved_renamed, ARRAY_SIZE(moved_renamed), 0);
	CHECK_EQ_INT(g->n, 6);
	CHECK_EQ_INT(g->nodes[1].nattrs, 0);
	CHECK_EQ_INT(g->nodes[5].nattrs, 1);
	check_attr(g, 5, 0, "table", "newname", "x/tbl/.ATTRIBUTES/table",
		   false);
	ckpt_objgraph_free(g);
	/* moved, and named apart: refused as in place */
	ckpt_err_clear(&err);
	g = table_source();
	CHECK_EQ_INT(ckpt_objgraph_edit(g, moved_apart,
					ARRAY_SIZE(moved_apart), &err),
		     -EINVAL);
	CHECK(strstr(err.msg, "the tensors of key \"tbl/.ATTRIBUTES/table\"") !=
	      NULL);
	ckpt_objgraph_free(g);
	/* a saveable gone takes none of another's in place */
	g = edit(table_source(), t_gone, ARRAY_SIZE(t_gone), 0);
	CHECK_EQ_INT(g->n, 4);
	CHECK_EQ_INT(g->nodes[1].nattrs, 2);
	check_attr(g, 1, 0, "table", "hash_table", "table/.ATTRIBUTES/table",
		   false);
	CHECK_EQ_INT(g->nodes[3].nattrs, 0);
	ckpt_objgraph_free(g);
	g = edit(table_source(), gone, ARRAY_SIZE(gone), 0);
	CHECK_EQ_INT(g->nodes[1].nattrs, 0);
	CHECK_EQ_INT(g->nodes[3].nattrs, 0);
	CHECK_EQ_INT(g->nodes[2].nattrs, 1);
	ckpt_objgraph_free(g);
}

/* A source's graph edited: what it holds beyond the values is kept,
 * attributes without a value go, new values get nodes and slots where
 * their keys lead; what cannot be edited says so. */
static void
test_edit(void)
{
	static const struct ckpt_objvalue v1[] = {
		{ "model/.ATTRIBUTES/OBJECT_CONFIG_JSON", NULL },
		{ "model/dense/.ATTRIBUTES/VARIABLE_VALUE", "net/kernel" },
		{ SLOT_KEY("model/dense", "m"), "dense/kernel/Adam" },
		{ "model/new/.ATTRIBUTES/VARIABLE_VALUE", "new" },
		{ SLOT_KEY("model/dense", "v"), "dense/kernel/Adam_1" },
		{ "save_counter/.ATTRIBUTES/VARIABLE_VALUE", "save_counter" },
		/* the names shown for empty full_names: kept empty */
		{ "model/anon/.ATTRIBUTES/VARIABLE_VALUE", "model/anon" },
		{ "model/anon/.ATTRIBUTES/x", "model/anon/.ATTRIBUTES/x" },
	};
	static const struct ckpt_objvalue v2[] = {
		{ "model/dense/.ATTRIBUTES/VARIABLE_VALUE", "dense/kernel" },
		/* a name of its own */
		{ "model/anon/.ATTRIBUTES/VARIABLE_VALUE", "anon" },
	};
	static const struct ckpt_objvalue alias[] = {
		{ "model/alias/.ATTRIBUTES/VARIABLE_VALUE", "x" },
	};
	static const struct ckpt_objvalue twice[] = {
		{ "model/dense/.ATTRIBUTES/VARIABLE_VALUE", "dense/kernel" },
		{ "model/dense/.ATTRIBUTES/VARIABLE_VALUE", "again" },
	};
	static const struct ckpt_objvalue bad[] = {
		{ "model/.ATTRIBUTES/a/b", "x" },
	};
	struct ckpt_objgraph *g = edit(edit_source(true), v1, ARRAY_SIZE(v1),
				       0);
	const struct ckpt_objnode *nd;
	struct ckpt_err err = { 0 };

	CHECK_EQ_INT(g->n, 11);
	/* model: its edges (dense twice) and optional attribute kept, the
	 * new object last */
	CHECK_EQ_INT(g->nodes[1].nchildren, 5);
	check_child(g, 1, 0, 4, "dense");
	check_child(g, 1, 1, 4, "alias");
	check_child(g, 1, 2, 5, "sig");
	check_child(g, 1, 3, 8, "anon");
	check_child(g, 1, 4, 9, "new");
	CHECK_EQ_INT(g->nodes[1].nattrs, 1);
	check_attr(g, 1, 0, "OBJECT_CONFIG_JSON", "",
		   "model/.ATTRIBUTES/OBJECT_CONFIG_JSON", true);
	/* the full_name is the value's */
	check_attr(g, 4, 0, "VARIABLE_VALUE", "net/kernel",
		   "model/dense/.ATTRIBUTES/VARIABLE_VALUE", false);
	check_attr(g, 9, 0, "VARIABLE_VALUE", "new",
		   "model/new/.ATTRIBUTES/VARIABLE_VALUE", false);
	check_attr(g, 8, 0, "VARIABLE_VALUE", "",
		   "model/anon/.ATTRIBUTES/VARIABLE_VALUE", false);
	check_attr(g, 8, 1, "x", "", "model/anon/.ATTRIBUTES/x", false);
	/* iter lost its value; sig never had one */
	CHECK_EQ_INT(g->nodes[7].nattrs, 0);
	CHECK_EQ_INT(g->nodes[7].has_checkpoint_values, 0);
	CHECK_EQ_INT(g->nodes[5].has_checkpoint_values, 0);
	CHECK_EQ_INT(g->nodes[2].has_checkpoint_values, 1);
	CHECK_EQ_INT(g->nodes[9].has_checkpoint_values, 1);
	/* slot m kept, v made (node 10) and listed after it */
	nd = &g->nodes[2];
	CHECK_EQ_INT(nd->nslots, 2);
	CHECK_EQ_STR(nd->slots[0].slot_name, "m");
	CHECK_EQ_INT(nd->slots[0].slot_variable_node_id, 6);
	CHECK_EQ_STR(nd->slots[1].slot_name, "v");
	CHECK_EQ_INT(nd->slots[1].original_variable_node_id, 4);
	CHECK_EQ_INT(nd->slots[1].slot_variable_node_id, 10);
	check_attr(g, 10, 0, "VARIABLE_VALUE", "dense/kernel/Adam_1",
		   SLOT_KEY("model/dense", "v"), false);
	check_child(g, 0, 2, 3, "save_counter");

	/* Again with one value: the slots go with theirs, the nodes stay. */
	g = edit(g, v2, ARRAY_SIZE(v2), 0);
	CHECK_EQ_INT(g->n, 11);
	CHECK_EQ_INT(g->nodes[8].nattrs, 1);
	check_attr(g, 8, 0, "VARIABLE_VALUE", "anon",
		   "model/anon/.ATTRIBUTES/VARIABLE_VALUE", false);
	CHECK_EQ_INT(g->nodes[2].nslots, 0);
	CHECK_EQ_INT(g->nodes[1].nattrs, 0);
	CHECK_EQ_INT(g->nodes[3].nattrs, 0);
	CHECK_EQ_INT(g->nodes[3].has_checkpoint_values, 0);
	check_attr(g, 4, 0, "VARIABLE_VALUE", "dense/kernel",
		   "model/dense/.ATTRIBUTES/VARIABLE_VALUE", false);
	CHECK_EQ_INT(g->nodes[1].has_checkpoint_values, 1);
	CHECK_EQ_INT(g->nodes[0].has_checkpoint_values, 1);
	ckpt_objgraph_free(g);

	/* Without has_checkpoint_values, none is added. */
	g = edit(edit_source(false), v1, ARRAY_SIZE(v1), 0);
	for (size_t i = 0; i < g->n; i++)
		CHECK_EQ_INT(g->nodes[i].has_checkpoint_values, -1);
	ckpt_objgraph_free(g);

	/* A path through the second edge to a shared object, or a second
	 * attribute of one name on a node: 1, build anew. */
	g = edit(edit_source(true), alias, ARRAY_SIZE(alias), 1);
	ckpt_objgraph_free(g);
	g = edit(edit_source(true), twice, ARRAY_SIZE(twice), 1);
	ckpt_objgraph_free(g);
	g = edit_source(true);
	CHECK_EQ_INT(ckpt_objgraph_edit(g, bad, ARRAY_SIZE(bad), &err),
		     -EINVAL);
	CHECK(strstr(err.msg, "model/.ATTRIBUTES/a/b") != NULL);
	ckpt_objgraph_free(g);
}

/* A source of many edges and slots (its tables are filled and grown):
 * every variable and slot moved to a new name, and back. */
static void
test_edit_many(void)
{
	enum { K = 600 };
	struct ckpt_objvalue *v = calloc(2 * K, sizeof(*v));
	char (*keys)[64] = calloc(2 * K, sizeof(*keys));
	struct ckpt_objgraph *g;
	struct ckpt_err err = { 0 };
	size_t i;

	CHECK(v != NULL && keys != NULL);
	for (int pass = 0; pass < 3; pass++) {
		char c = pass == 1 ? 'w' : 'v';

		for (i = 0; i < K; i++) {
			snprintf(keys[2 * i], sizeof(keys[0]),
				 "%c%zu/.ATTRIBUTES/VARIABLE_VALUE", c, i);
			snprintf(keys[2 * i + 1], sizeof(keys[0]),
				 "%c%zu/.OPTIMIZER_SLOT/opt/m/.ATTRIBUTES/"
				 "VARIABLE_VALUE",
				 c, i);
			v[2 * i].key = keys[2 * i];
			v[2 * i + 1].key = keys[2 * i + 1];
			v[2 * i].full_name = v[2 * i + 1].full_name = "x";
		}
		if (pass == 0) {
			CHECK_EQ_INT(ckpt_objgraph_build(v, 2 * K, &g, &err),
				     0);
			/* root, opt, K variables, K slot nodes */
			CHECK_EQ_INT(g->n, 2 * K + 2);
			continue;
		}
		g = edit(g, v, 2 * K, 0);
	}
	/* v0.. (empty after the first edit) kept, w0.. and their slot
	 * nodes made, then v0.. given their values again (new slot nodes:
	 * a dropped slot's node is left unused) and w0.. left empty; the
	 * optimizer lists each variable's slot once */
	CHECK_EQ_INT(g->n, 2 * K + 2 + 2 * K + K);
	for (i = 0; i < g->n; i++)
		if (g->nodes[i].nslots > 0)
			CHECK_EQ_INT(g->nodes[i].nslots, K);
	CHECK_EQ_INT(g->nodes[0].nchildren, 1 + 2 * K);
	ckpt_objgraph_free(g);
	free(v);
	free(keys);
}

/* build_bytes packs the graph itself: its bytes must be what protobuf-c
 * packs for the same graph (serialize of the parsed graph), appended after
 * what OUT held; a refused key leaves OUT as it was. */
static void
test_build_bytes(void)
{
	static const struct ckpt_objvalue bad[] = {
		{ "ok/.ATTRIBUTES/VARIABLE_VALUE", "ok" },
		{ "a/.ATTRIBUTES/b/c", "x" },
	};
	static const struct ckpt_objvalue empty[] = {
		{ "a//b/.ATTRIBUTES/V", NULL },
	};
	struct ckpt_buf b = { 0 }, want = { 0 };
	struct ckpt_objgraph *g;
	struct ckpt_err err = { 0 };

	CHECK_EQ_INT(ckpt_buf_put(&b, "xyz", 3), 0);
	CHECK_EQ_INT(ckpt_objgraph_build_bytes(big, ARRAY_SIZE(big), &b, &err),
		     0);
	CHECK_EQ_MEM(b.data, 3, "xyz", 3);
	g = parse_ok(b.data + 3, b.len - 3);
	CHECK_EQ_INT(ckpt_objgraph_serialize(g, &want), 0);
	CHECK_EQ_MEM(b.data + 3, b.len - 3, want.data, want.len);
	/* 22 path nodes and the 5 slot variable nodes test_build_roundtrip()
	 * checks one by one */
	CHECK_EQ_INT(g->n, 27);
	ckpt_objgraph_free(g);
	want.len = 0;
	CHECK_EQ_INT(ckpt_buf_put(&want, b.data, b.len), 0);
	CHECK_EQ_INT(ckpt_objgraph_build_bytes(bad, ARRAY_SIZE(bad), &b, &err),
		     -EINVAL);
	CHECK(strstr(err.msg, "a/.ATTRIBUTES/b/c") != NULL);
	CHECK_EQ_MEM(b.data, b.len, want.data, want.len);
	/* no values: the lone root */
	b.len = 0;
	CHECK_EQ_INT(ckpt_objgraph_build_bytes(NULL, 0, &b, &err), 0);
	CHECK_EQ_MEM(b.data, b.len, "\x0a\x02\x2a\x00", 4);
	/* fields at their default are left out: an empty local_name, no
	 * full_name */
	b.len = want.len = 0;
	CHECK_EQ_INT(
		ckpt_objgraph_build_bytes(empty, ARRAY_SIZE(empty), &b, &err),
		0);
	g = parse_ok(b.data, b.len);
	CHECK_EQ_INT(g->n, 4);
	CHECK_EQ_INT(g->nodes[1].children[0].local_name_len, 0);
	CHECK_EQ_INT(g->nodes[3].attrs[0].full_name_len, 0);
	CHECK_EQ_INT(ckpt_objgraph_serialize(g, &want), 0);
	CHECK_EQ_MEM(b.data, b.len, want.data, want.len);
	ckpt_objgraph_free(g);
	ckpt_buf_free(&b);
	ckpt_buf_free(&want);
}

/* A sink that keeps the pieces it gets (BYTES), counts them and fails
 * with -ENOSPC at piece FAIL_AT (0: never). */
struct pieces {
	struct ckpt_buf bytes;
	uint64_t total;
	size_t n, largest, fail_at;
	int begins;
};

static int
pieces_begin(void *ctx, uint64_t total)
{
	struct pieces *p = ctx;

	p->total = total;
	p->begins++;
	return 0;
}

static int
pieces_put(void *ctx, const void *data, size_t len)
{
	struct pieces *p = ctx;

	CHECK_EQ_INT(p->begins, 1);
	if (++p->n == p->fail_at)
		return -ENOSPC;
	if (len > p->largest)
		p->largest = len;
	return ckpt_buf_put(&p->bytes, data, len);
}

/* build_to and serialize_to give a sink the bytes build_bytes and
 * serialize give, the whole length first, in pieces of about 64 KiB (one
 * node larger than that whole: the root of 3,000 children here), and stop
 * at the sink's error. */
static void
test_build_to(void)
{
	enum { K = 3000 };
	struct ckpt_objvalue *v = calloc(K, sizeof(*v));
	char (*keys)[64] = calloc(K, sizeof(*keys));
	struct ckpt_objgraph_sink sink = { pieces_begin, pieces_put, NULL };
	struct pieces p = { 0 };
	struct ckpt_buf want = { 0 };
	struct ckpt_objgraph *g;
	struct ckpt_err err = { 0 };
	size_t i;

	CHECK(v != NULL && keys != NULL);
	for (i = 0; i < K; i++) {
		snprintf(keys[i], sizeof(keys[0]),
			 "layer_%zu/.ATTRIBUTES/VARIABLE_VALUE", i);
		v[i].key = keys[i];
		v[i].full_name = keys[i];
	}
	sink.ctx = &p;
	CHECK_EQ_INT(ckpt_objgraph_build_to(v, K, &sink, &err), 0);
	CHECK_EQ_INT(ckpt_objgraph_build_bytes(v, K, &want, &err), 0);
	CHECK_EQ_MEM(p.bytes.data, p.bytes.len, want.data, want.len);
	CHECK_EQ_INT(p.total, want.len);
	/* the root (3,000 references, about 50 KB) and the variables
	 * (about 100 bytes each): more than one piece, none much over
	 * 64 KiB */
	CHECK(want.len > 300000);
	CHECK(p.n >= 4);
	CHECK(p.largest < 64 * 1024 + 200);
	/* the same through protobuf-c */
	g = parse_ok(want.data, want.len);
	ckpt_buf_free(&p.bytes);
	memset(&p, 0, sizeof(p));
	CHECK_EQ_INT(ckpt_objgraph_serialize_to(g, &sink), 0);
	CHECK_EQ_MEM(p.bytes.data, p.bytes.len, want.data, want.len);
	CHECK_EQ_INT(p.total, want.len);
	CHECK(p.n >= 4);
	/* the sink's error stops both */
	ckpt_buf_free(&p.bytes);
	memset(&p, 0, sizeof(p));
	p.fail_at = 2;
	CHECK_EQ_INT(ckpt_objgraph_build_to(v, K, &sink, &err), -ENOSPC);
	CHECK_EQ_INT(p.n, 2);
	ckpt_buf_free(&p.bytes);
	memset(&p, 0, sizeof(p));
	p.fail_at = 3;
	CHECK_EQ_INT(ckpt_objgraph_serialize_to(g, &sink), -ENOSPC);
	CHECK_EQ_INT(p.n, 3);
	ckpt_buf_free(&p.bytes);
	ckpt_objgraph_free(g);
	ckpt_buf_free(&want);
	free(v);
	free(keys);
}

/* Regression: slot variables of one variable under the same slot name of
 * two optimizers are two nodes. */
static void
test_build_slots_two_optimizers(void)
{
	static const struct ckpt_objvalue vals[] = {
		{ "v/.ATTRIBUTES/VARIABLE_VALUE", "v" },
		{ "v/.OPTIMIZER_SLOT/o1/m/.ATTRIBUTES/VARIABLE_VALUE", "v/m1" },
		{ "v/.OPTIMIZER_SLOT/o2/m/.ATTRIBUTES/VARIABLE_VALUE", "v/m2" },
	};
	struct ckpt_objgraph *g;
	struct ckpt_err err = { 0 };

	CHECK_EQ_INT(ckpt_objgraph_build(vals, ARRAY_SIZE(vals), &g, &err), 0);
	CHECK_EQ_INT(g->n, 6);
	check_child(g, 0, 0, 1, "o1");
	check_child(g, 0, 1, 2, "o2");
	check_child(g, 0, 2, 3, "v");
	CHECK_EQ_INT(g->nodes[1].nslots, 1);
	CHECK_EQ_INT(g->nodes[1].slots[0].original_variable_node_id, 3);
	CHECK_EQ_INT(g->nodes[1].slots[0].slot_variable_node_id, 4);
	CHECK_EQ_INT(g->nodes[2].slots[0].slot_variable_node_id, 5);
	CHECK_EQ_STR(g->nodes[4].attrs[0].full_name, "v/m1");
	CHECK_EQ_STR(g->nodes[5].attrs[0].full_name, "v/m2");
	CHECK_EQ_STR(g->nodes[5].attrs[0].checkpoint_key, vals[2].key);
	CHECK_EQ_INT(g->nodes[1].has_checkpoint_values, 1);
	CHECK_EQ_INT(g->nodes[1].nattrs, 0);
	ckpt_objgraph_free(g);
}

/* A graph built anew gives a hash table's two tensors (K-keys, K-values)
 * one attribute K, of the full name theirs give; names apart refused. */
static void
test_build_table(void)
{
	static const struct ckpt_objvalue v[] = {
		{ "t/.ATTRIBUTES/table-values", "hash_table-values" },
		{ "v/.ATTRIBUTES/VARIABLE_VALUE", "v" },
		{ "t/.ATTRIBUTES/table-keys", "hash_table-keys" },
		{ "t/.ATTRIBUTES/x-keys", "x-keys" },
	};
	static const struct ckpt_objvalue apart[] = {
		{ "t/.ATTRIBUTES/table-keys", "a-keys" },
		{ "t/.ATTRIBUTES/table-values", "b-values" },
	};
	struct ckpt_objgraph *g = NULL;
	struct ckpt_err err = { 0 };

	CHECK_EQ_INT(ckpt_objgraph_build(v, ARRAY_SIZE(v), &g, &err), 0);
	if (g == NULL)
		return;
	CHECK_EQ_INT(g->n, 3);
	check_child(g, 0, 0, 1, "t");
	CHECK_EQ_INT(g->nodes[1].nattrs, 2);
	check_attr(g, 1, 0, "table", "hash_table", "t/.ATTRIBUTES/table",
		   false);
	check_attr(g, 1, 1, "x-keys", "x-keys", "t/.ATTRIBUTES/x-keys", false);
	ckpt_objgraph_free(g);
	CHECK_EQ_INT(ckpt_objgraph_build(apart, ARRAY_SIZE(apart), &g, &err),
		     -EINVAL);
	CHECK(strstr(err.msg, "have one full name") != NULL);
}

int
main(void)
{
	const char *real = check_realdata();

	test_escape();
	test_escape_nul();
	test_hcv_encodings();
	test_all_fields();
	test_parse_lenient();
	test_parse_bad();
	test_serialize_bad_id();
	test_paths_cyclic();
	test_build_example();
	test_build_roundtrip();
	test_build_bad();
	test_build_bytes();
	test_build_to();
	test_edit();
	test_edit_parts();
	test_edit_many();
	test_build_nul();
	test_build_table();
	test_build_slots_two_optimizers();
	if (real != NULL) {
		test_real_tf2_cpu(real);
		test_real_tf_text(real);
	}
	return check_done("test_objgraph");
}
