/* objgraph.c -- the TF2 object graph: TrackableObjectGraph protobuf <->
 * struct ckpt_objgraph, object paths, key escaping, and building the graph
 * tf.train.Checkpoint would write for a set of keys (FORMAT.md section 7).
 *
 * protobuf-c is used only here: parse unpacks, copies into plain structs
 * and frees the message before returning; serialize points a temporary
 * message at the graph's strings and packs it.  The builder packs the
 * graph it builds itself, field by field in the same canonical form (its
 * tests compare with TensorFlow's files and with serialize).  Node ids are
 * checked against the node count whenever they come from outside. */
#include "config.h"

#include "objgraph.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "table.h"
#include "trackable_object_graph.pb-c.h"

typedef Ckptpb__TrackableObjectGraph__TrackableObject pb_object;
typedef Ckptpb__TrackableObjectGraph__TrackableObject__ObjectReference pb_ref;
typedef Ckptpb__TrackableObjectGraph__TrackableObject__SerializedTensor
	pb_tensor;
typedef Ckptpb__TrackableObjectGraph__TrackableObject__SlotVariableReference
	pb_slot;

#define ATTRIBUTES ".ATTRIBUTES"
#define OPTIMIZER_SLOT ".OPTIMIZER_SLOT"
#define VARIABLE_VALUE "VARIABLE_VALUE"

/* ---- helpers ------------------------------------------------------------ */

/* calloc() that never returns NULL for a zero count. */
static void *
xcalloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

/* Copy LEN bytes at P into a new NUL-terminated string at *OUT. */
static int
dup_bytes(const void *p, size_t len, char **out)
{
	char *s;

	if (len == SIZE_MAX)
		return -EOVERFLOW;
	s = malloc(len + 1);
	if (s == NULL)
		return -ENOMEM;
	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	*out = s;
	return 0;
}

/* ---- escaping ----------------------------------------------------------- */

/* Append the escaped form of NAME to OUT. */
int
ckpt_name_escape(const void *name, size_t len, struct ckpt_buf *out)
{
	const uint8_t *s = name;
	size_t i;
	int rc;

	if (len > (SIZE_MAX - 1) / 2)
		return -EOVERFLOW;
	if ((rc = ckpt_buf_reserve(out, 2 * len + 1)) < 0)
		return rc;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			out->data[out->len++] = '.';
			out->data[out->len++] = '.';
		} else if (s[i] == '/') {
			out->data[out->len++] = '.';
			out->data[out->len++] = 'S';
		} else {
			out->data[out->len++] = s[i];
		}
	}
	out->data[out->len] = '\0';
	return 0;
}

/* Unescape S[0..LEN) into DST (room for LEN bytes; NULL: only check
 * the escapes); set *DLEN. */
static int
unescape_to(const uint8_t *s, size_t len, uint8_t *dst, size_t *dlen)
{
	size_t i, j = 0;
	uint8_t c;

	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '.') {
			if (i + 1 == len)
				return -EBADMSG; /* lone '.' at the end */
			i++;
			if (s[i] == 'S')
				c = '/';
			else if (s[i] != '.')
				return -EBADMSG;
		}
		if (dst != NULL)
			dst[j] = c;
		j++;
	}
	*dlen = j;
	return 0;
}

/* Append the unescaped form of NAME to OUT. */
int
ckpt_name_unescape(const void *name, size_t len, struct ckpt_buf *out)
{
	size_t n;
	int rc;

	if (len == SIZE_MAX)
		return -EOVERFLOW;
	if ((rc = ckpt_buf_reserve(out, len + 1)) < 0)
		return rc;
	if ((rc = unescape_to(name, len, out->data + out->len, &n)) < 0) {
		out->data[out->len] = '\0';
		return rc;
	}
	out->len += n;
	out->data[out->len] = '\0';
	return 0;
}

/* ---- freeing ------------------------------------------------------------ */

/* Free everything NODE owns (not NODE itself). */
static void
node_clear(struct ckpt_objnode *node)
{
	size_t i;

	for (i = 0; i < node->nchildren; i++)
		free(node->children[i].local_name);
	free(node->children);
	for (i = 0; i < node->nattrs; i++) {
		free(node->attrs[i].name);
		free(node->attrs[i].full_name);
		free(node->attrs[i].checkpoint_key);
	}
	free(node->attrs);
	for (i = 0; i < node->nslots; i++)
		free(node->slots[i].slot_name);
	free(node->slots);
	free(node->saver_name);
	free(node->saver_object_name);
	memset(node, 0, sizeof(*node));
}

/* Free G and everything it owns; NULL is fine. */
void
ckpt_objgraph_free(struct ckpt_objgraph *g)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->n; i++)
		node_clear(&g->nodes[i]);
	free(g->nodes);
	free(g);
}

/* A new graph of N empty nodes (has_checkpoint_values absent). */
static int
graph_new(size_t n, struct ckpt_objgraph **out)
{
	struct ckpt_objgraph *g;
	size_t i;

	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return -ENOMEM;
	g->nodes = xcalloc(n, sizeof(*g->nodes));
	if (g->nodes == NULL) {
		free(g);
		return -ENOMEM;
	}
	g->n = n;
	for (i = 0; i < n; i++)
		g->nodes[i].has_checkpoint_values = -1;
	*out = g;
	return 0;
}

/* ---- parsing ------------------------------------------------------------ */

/* A protobuf-c allocator that remembers running out of memory, so a NULL
 * from unpack can be told apart: -ENOMEM instead of -EBADMSG. */
static void *
pb_alloc(void *data, size_t size)
{
	void *p = malloc(size);

	if (p == NULL)
		*(int *)data = 1;
	return p;
}

/* The free half of the allocator above. */
static void
pb_free(void *data, void *p)
{
	(void)data;
	free(p);
}

/* Check that node id ID is in [0, N); otherwise record why. */
static int
check_id(int32_t id, size_t n, size_t node, const char *what, size_t idx,
	 struct ckpt_err *err)
{
	if (id >= 0 && (uint64_t)id < n)
		return 0;
	return ckpt_fail(err, -EBADMSG,
			 "object graph: node %zu %s %zu: node id %ld out of "
			 "range [0, %zu)",
			 node, what, idx, (long)id, n);
}

/* Copy the unpacked object SRC into DST (of a graph of N nodes). */
static int
copy_node(const pb_object *src, size_t node, size_t n, struct ckpt_objnode *dst,
	  struct ckpt_err *err)
{
	size_t i;
	int rc;

	dst->children = xcalloc(src->n_children, sizeof(*dst->children));
	dst->attrs = xcalloc(src->n_attributes, sizeof(*dst->attrs));
	dst->slots = xcalloc(src->n_slot_variables, sizeof(*dst->slots));
	if (dst->children == NULL || dst->attrs == NULL || dst->slots == NULL)
		return -ENOMEM;
	for (i = 0; i < src->n_children; i++) {
		const pb_ref *r = src->children[i];
		struct ckpt_objref *d = &dst->children[i];

		if ((rc = check_id(r->node_id, n, node, "child", i, err)) < 0)
			return rc;
		if ((rc = dup_bytes(r->local_name.data, r->local_name.len,
				    &d->local_name)) < 0)
			return rc;
		d->node_id = r->node_id;
		d->local_name_len = r->local_name.len;
		dst->nchildren++;
	}
	for (i = 0; i < src->n_attributes; i++) {
		const pb_tensor *t = src->attributes[i];
		struct ckpt_objattr *d = &dst->attrs[i];

		dst->nattrs++;
		if ((rc = dup_bytes(t->name.data, t->name.len, &d->name)) < 0 ||
		    (rc = dup_bytes(t->full_name.data, t->full_name.len,
				    &d->full_name)) < 0 ||
		    (rc = dup_bytes(t->checkpoint_key.data,
				    t->checkpoint_key.len,
				    &d->checkpoint_key)) < 0)
			return rc;
		d->name_len = t->name.len;
		d->full_name_len = t->full_name.len;
		d->checkpoint_key_len = t->checkpoint_key.len;
		d->optional_restore = t->optional_restore != 0;
	}
	for (i = 0; i < src->n_slot_variables; i++) {
		const pb_slot *s = src->slot_variables[i];
		struct ckpt_slotref *d = &dst->slots[i];

		if ((rc = check_id(s->original_variable_node_id, n, node,
				   "slot variable (original)", i, err)) < 0 ||
		    (rc = check_id(s->slot_variable_node_id, n, node,
				   "slot variable", i, err)) < 0)
			return rc;
		if ((rc = dup_bytes(s->slot_name.data, s->slot_name.len,
				    &d->slot_name)) < 0)
			return rc;
		d->original_variable_node_id = s->original_variable_node_id;
		d->slot_variable_node_id = s->slot_variable_node_id;
		d->slot_name_len = s->slot_name.len;
		dst->nslots++;
	}
	if (src->registered_saver != NULL) {
		const Ckptpb__RegisteredSaver *rs = src->registered_saver;

		if ((rc = dup_bytes(rs->name.data, rs->name.len,
				    &dst->saver_name)) < 0 ||
		    (rc = dup_bytes(rs->object_name.data, rs->object_name.len,
				    &dst->saver_object_name)) < 0)
			return rc;
		dst->saver_name_len = rs->name.len;
		dst->saver_object_name_len = rs->object_name.len;
	}
	if (src->has_checkpoint_values == NULL)
		dst->has_checkpoint_values = -1;
	else
		dst->has_checkpoint_values =
			src->has_checkpoint_values->value ? 1 : 0;
	return 0;
}

/* A varint of at most MAX bytes at *P (before LIMIT), bits past 64
 * dropped, as protobuf-c reads one; -EBADMSG if it does not end. */
static int
scan_varint(const uint8_t **p, const uint8_t *limit, unsigned max, uint64_t *v)
{
	const uint8_t *q = *p;
	unsigned shift = 0, i;

	*v = 0;
	for (i = 0; i < max && q < limit; i++, shift += 7) {
		uint8_t byte = *q++;

		if (shift < 64)
			*v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*p = q;
			return 0;
		}
	}
	return -EBADMSG;
}

/* The next top-level field of a serialized TrackableObjectGraph at *P
 * (before LIMIT): a node (field 1) in *NODE and *NLEN, or a field the
 * graph does not have, skipped (*NODE NULL).  -EBADMSG where protobuf-c
 * refuses the message, read as protobuf-c reads it (its differences from
 * the letter of the wire format kept: fuzz_objgraph compares the two): a
 * tag of at most 5 bytes, not a one-byte field 0, whose field number
 * is what fits 32 bits (0 too, when longer), a
 * varint of at most 10, a length of at most 5 that stays inside, field 1
 * length-delimited, no groups or unknown wire types. */
static int
next_field(const uint8_t **p, const uint8_t *limit, const uint8_t **node,
	   size_t *nlen)
{
	uint32_t field;
	uint64_t tag, v;

	*node = NULL;
	/* protobuf-c refuses a tag whose first byte says field 0 and ends */
	if (*p < limit && (**p & 0xf8) == 0)
		return -EBADMSG;
	if (scan_varint(p, limit, 5, &tag) < 0)
		return -EBADMSG;
	field = (uint32_t)(tag >> 3);
	if (field == 1 && (tag & 7) != 2)
		return -EBADMSG;
	switch (tag & 7) {
	case 0:
		return scan_varint(p, limit, 10, &v);
	case 1:
	case 5:
		v = (tag & 7) == 1 ? 8 : 4;
		break;
	case 2:
		if (scan_varint(p, limit, 5, &v) < 0)
			return -EBADMSG;
		if (field == 1) {
			*node = *p;
			*nlen = (size_t)v;
		}
		break;
	default:
		return -EBADMSG;
	}
	if (v > (uint64_t)(limit - *p))
		return -EBADMSG;
	*p += v;
	return 0;
}

/* The graph's only field is its repeated nodes, so each node is unpacked
 * on its own and copied, with the protobuf-c structures of one node alive
 * at a time (unpacking a graph of 100,000 variables whole took about 60
 * MB).  Every field is framed before the first node is unpacked, so that
 * node ids can be checked against the count. */
int
ckpt_objgraph_walk(const uint8_t *buf, size_t len, ckpt_objnode_fn fn,
		   void *ctx, struct ckpt_err *err)
{
	int oom = 0;
	ProtobufCAllocator alloc = { pb_alloc, pb_free, &oom };
	const uint8_t *p, *end = len ? buf + len : buf, *node;
	size_t n = 0, i = 0, nlen = 0;
	int rc = 0;

	for (p = buf; p < end; n += node != NULL)
		if (next_field(&p, end, &node, &nlen) < 0)
			goto malformed;
	if (n > INT32_MAX)
		return ckpt_fail(err, -EBADMSG, "object graph: %zu nodes", n);
	for (p = buf; p < end && rc == 0;) {
		struct ckpt_objnode tmp = { .has_checkpoint_values = -1 };
		pb_object *obj;

		(void)next_field(&p, end, &node, &nlen); /* checked above */
		if (node == NULL)
			continue;
		/* (protobuf-c makes no unpack function for a nested
		 * message: the generic one with its descriptor) */
		obj = (pb_object *)protobuf_c_message_unpack(
			&ckptpb__trackable_object_graph__trackable_object__descriptor,
			&alloc, nlen, node);
		if (obj == NULL && !oom)
			goto malformed;
		if (obj == NULL)
			return ckpt_fail(err, -ENOMEM,
					 "object graph: out of memory");
		rc = copy_node(obj, i, n, &tmp, err);
		protobuf_c_message_free_unpacked((ProtobufCMessage *)obj,
						 &alloc);
		if (rc == -ENOMEM)
			ckpt_fail(err, rc, "object graph: out of memory");
		if (rc == 0)
			rc = fn(ctx, i++, n, &tmp);
		node_clear(&tmp);
	}
	return rc;
malformed:
	return ckpt_fail(err, -EBADMSG,
			 "object graph: malformed TrackableObjectGraph "
			 "(%zu bytes)",
			 len);
}

/* ckpt_objgraph_parse()'s walk: node I moves into the graph, made at the
 * first node (the walk knows the count by then). */
static int
take_node(void *ctx, size_t i, size_t n, struct ckpt_objnode *node)
{
	struct ckpt_objgraph **g = ctx;

	if (*g == NULL && graph_new(n, g) < 0)
		return -ENOMEM;
	(*g)->nodes[i] = *node;
	memset(node, 0, sizeof(*node));
	return 0;
}

int
ckpt_objgraph_parse(const uint8_t *buf, size_t len, struct ckpt_objgraph **out,
		    struct ckpt_err *err)
{
	struct ckpt_objgraph *g = NULL;
	int rc = ckpt_objgraph_walk(buf, len, take_node, &g, err);

	if (rc == 0 && g == NULL)
		rc = graph_new(0, &g);
	if (rc == -ENOMEM) /* (kept if a message is there already) */
		ckpt_fail(err, rc, "object graph: out of memory");
	if (rc < 0) {
		ckpt_objgraph_free(g);
		g = NULL;
	}
	*out = g;
	return rc;
}

/* ---- serializing -------------------------------------------------------- */

/* The temporary protobuf-c message of one node for
 * ckpt_objgraph_serialize(); every array is owned (room for the largest
 * node), every string is borrowed from the graph. */
struct pb_tmp {
	pb_object obj;
	Ckptpb__BoolValue has_values;
	Ckptpb__RegisteredSaver saver;
	pb_ref *refs;
	pb_ref **refp;
	pb_tensor *tensors;
	pb_tensor **tensorp;
	pb_slot *slots;
	pb_slot **slotp;
};

/* Free the arrays of T. */
static void
pb_tmp_free(struct pb_tmp *t)
{
	free(t->refs);
	free(t->refp);
	free(t->tensors);
	free(t->tensorp);
	free(t->slots);
	free(t->slotp);
}

/* A borrowed ProtobufCBinaryData for LEN bytes at P. */
static ProtobufCBinaryData
bin(const char *p, size_t len)
{
	ProtobufCBinaryData b;

	b.len = len;
	b.data = (uint8_t *)(uintptr_t)p;
	return b;
}

/* Check every node id of G against g->n. */
static int
check_ids(const struct ckpt_objgraph *g)
{
	size_t i, j;

	for (i = 0; i < g->n; i++) {
		const struct ckpt_objnode *nd = &g->nodes[i];

		for (j = 0; j < nd->nchildren; j++)
			if (nd->children[j].node_id < 0 ||
			    (uint64_t)nd->children[j].node_id >= g->n)
				return -EINVAL;
		for (j = 0; j < nd->nslots; j++) {
			const struct ckpt_slotref *s = &nd->slots[j];

			if (s->original_variable_node_id < 0 ||
			    (uint64_t)s->original_variable_node_id >= g->n ||
			    s->slot_variable_node_id < 0 ||
			    (uint64_t)s->slot_variable_node_id >= g->n)
				return -EINVAL;
		}
	}
	return 0;
}

/* Point T's message at node ND's data. */
static void
fill_object(struct pb_tmp *t, const struct ckpt_objnode *nd)
{
	pb_object *o = &t->obj;
	size_t j;

	ckptpb__trackable_object_graph__trackable_object__init(o);
	o->n_children = nd->nchildren;
	o->children = t->refp;
	for (j = 0; j < nd->nchildren; j++) {
		pb_ref *ref = &t->refs[j];

		ckptpb__trackable_object_graph__trackable_object__object_reference__init(
			ref);
		ref->node_id = nd->children[j].node_id;
		ref->local_name = bin(nd->children[j].local_name,
				      nd->children[j].local_name_len);
		t->refp[j] = ref;
	}
	o->n_attributes = nd->nattrs;
	o->attributes = t->tensorp;
	for (j = 0; j < nd->nattrs; j++) {
		const struct ckpt_objattr *at = &nd->attrs[j];
		pb_tensor *ten = &t->tensors[j];

		ckptpb__trackable_object_graph__trackable_object__serialized_tensor__init(
			ten);
		ten->name = bin(at->name, at->name_len);
		ten->full_name = bin(at->full_name, at->full_name_len);
		ten->checkpoint_key =
			bin(at->checkpoint_key, at->checkpoint_key_len);
		ten->optional_restore = at->optional_restore;
		t->tensorp[j] = ten;
	}
	o->n_slot_variables = nd->nslots;
	o->slot_variables = t->slotp;
	for (j = 0; j < nd->nslots; j++) {
		const struct ckpt_slotref *sr = &nd->slots[j];
		pb_slot *sl = &t->slots[j];

		ckptpb__trackable_object_graph__trackable_object__slot_variable_reference__init(
			sl);
		sl->original_variable_node_id = sr->original_variable_node_id;
		sl->slot_name = bin(sr->slot_name, sr->slot_name_len);
		sl->slot_variable_node_id = sr->slot_variable_node_id;
		t->slotp[j] = sl;
	}
	if (nd->saver_name != NULL) {
		Ckptpb__RegisteredSaver *rs = &t->saver;
		const char *on = nd->saver_object_name;

		ckptpb__registered_saver__init(rs);
		rs->name = bin(nd->saver_name,
			       nd->saver_name_len ? nd->saver_name_len
						  : strlen(nd->saver_name));
		if (on != NULL)
			rs->object_name =
				bin(on, nd->saver_object_name_len
						? nd->saver_object_name_len
						: strlen(on));
		o->registered_saver = rs;
	}
	if (nd->has_checkpoint_values >= 0) {
		Ckptpb__BoolValue *bv = &t->has_values;

		ckptpb__bool_value__init(bv);
		bv->value = nd->has_checkpoint_values > 0;
		o->has_checkpoint_values = bv;
	}
}

/* A packed graph on its way to a sink: gathered in BUF and passed on
 * each time PIECE bytes or more are held, so that about that much is. */
#define PIECE ((size_t)64 * 1024)

struct packer {
	const struct ckpt_objgraph_sink *sink;
	struct ckpt_buf buf;
};

/* Room for LEN more bytes at the end of K's piece; NULL if out of
 * memory. */
static uint8_t *
packer_room(struct packer *k, size_t len)
{
	if (ckpt_buf_reserve(&k->buf, len) < 0)
		return NULL;
	return k->buf.data + k->buf.len;
}

/* LEN bytes were written at the room: pass the piece on once it holds
 * PIECE bytes or more, or with LAST whatever it holds. */
static int
packer_done(struct packer *k, size_t len, bool last)
{
	int rc = 0;

	k->buf.len += len;
	if (k->buf.len > 0 && (last || k->buf.len >= PIECE)) {
		rc = k->sink->put(k->sink->ctx, k->buf.data, k->buf.len);
		k->buf.len = 0;
	}
	return rc;
}

/* Pack G's node I, whose protobuf-c form T holds (SIZE bytes packed),
 * into K after its tag and length (field 1, length-delimited: tag
 * 0x0a). */
static int
pack_object(struct packer *k, struct pb_tmp *t, size_t size)
{
	uint8_t *p = packer_room(k, 1 + ckpt_varint_len(size) + size), *q;

	if (p == NULL)
		return -ENOMEM;
	q = p;
	*q++ = 0x0a;
	q = ckpt_put_varint64(q, size);
	q += protobuf_c_message_pack((const ProtobufCMessage *)&t->obj, q);
	return packer_done(k, (size_t)(q - p), false);
}

/* Serialize G into SINK.  The graph's only field is its repeated nodes,
 * so each node is packed on its own after its tag and length, which is
 * byte for byte what packing the whole message gives, with the
 * protobuf-c structures of one node alive at a time (100,000 variables
 * made about 30 MB of them): once to measure, once to pack. */
int
ckpt_objgraph_serialize_to(const struct ckpt_objgraph *g,
			   const struct ckpt_objgraph_sink *sink)
{
	struct pb_tmp t = { 0 };
	struct packer k = { .sink = sink };
	size_t nref = 0, nattr = 0, nslot = 0, i;
	uint64_t total = 0;
	int rc;

	if ((rc = check_ids(g)) < 0)
		return rc;
	/* Room for the largest node. */
	for (i = 0; i < g->n; i++) {
		if (g->nodes[i].nchildren > nref)
			nref = g->nodes[i].nchildren;
		if (g->nodes[i].nattrs > nattr)
			nattr = g->nodes[i].nattrs;
		if (g->nodes[i].nslots > nslot)
			nslot = g->nodes[i].nslots;
	}
	t.refs = xcalloc(nref, sizeof(*t.refs));
	t.refp = xcalloc(nref, sizeof(*t.refp));
	t.tensors = xcalloc(nattr, sizeof(*t.tensors));
	t.tensorp = xcalloc(nattr, sizeof(*t.tensorp));
	t.slots = xcalloc(nslot, sizeof(*t.slots));
	t.slotp = xcalloc(nslot, sizeof(*t.slotp));
	if (t.refs == NULL || t.refp == NULL || t.tensors == NULL ||
	    t.tensorp == NULL || t.slots == NULL || t.slotp == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < g->n; i++) {
		size_t size;

		fill_object(&t, &g->nodes[i]);
		size = protobuf_c_message_get_packed_size(
			(const ProtobufCMessage *)&t.obj);
		total += 1 + ckpt_varint_len(size) + size;
	}
	if ((rc = sink->begin(sink->ctx, total)) < 0)
		goto out;
	for (i = 0; i < g->n && rc == 0; i++) {
		fill_object(&t, &g->nodes[i]);
		rc = pack_object(&k, &t,
				 protobuf_c_message_get_packed_size(
					 (const ProtobufCMessage *)&t.obj));
	}
	if (rc == 0)
		rc = packer_done(&k, 0, true);
out:
	ckpt_buf_free(&k.buf);
	pb_tmp_free(&t);
	return rc;
}

/* A sink appending to a struct ckpt_buf. */
static int
buf_begin(void *ctx, uint64_t total)
{
	return total > SIZE_MAX ? -ENOMEM
				: ckpt_buf_reserve(ctx, (size_t)total);
}

static int
buf_put(void *ctx, const void *p, size_t len)
{
	return ckpt_buf_put(ctx, p, len);
}

/* Append the serialized form of G to OUT (unchanged on failure). */
int
ckpt_objgraph_serialize(const struct ckpt_objgraph *g, struct ckpt_buf *out)
{
	struct ckpt_objgraph_sink sink = { buf_begin, buf_put, out };
	size_t len = out->len;
	int rc = ckpt_objgraph_serialize_to(g, &sink);

	if (rc < 0)
		out->len = len;
	return rc;
}

/* ---- walking ------------------------------------------------------------ */

/* Free the N strings of PATHS and the array; NULL is fine. */
void
ckpt_objgraph_paths_free(char **paths, size_t n)
{
	size_t i;

	if (paths == NULL)
		return;
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

/* Breadth-first tree of G's child edges (see objgraph.h). */
int
ckpt_objgraph_bfs(const struct ckpt_objgraph *g, size_t **up)
{
	size_t *u, *queue, head = 0, tail = 0, j;

	*up = NULL;
	u = xcalloc(2 * g->n + 1, sizeof(*u));
	queue = xcalloc(g->n + 1, sizeof(*queue));
	if (u == NULL || queue == NULL) {
		free(u);
		free(queue);
		return -ENOMEM;
	}
	for (j = 0; j < g->n; j++)
		u[2 * j] = SIZE_MAX;	/* not reached (yet) */
	if (g->n > 0) {
		u[0] = 0;
		queue[tail++] = 0;
	}
	while (head < tail) {
		size_t v = queue[head++];
		const struct ckpt_objnode *nd = &g->nodes[v];

		for (j = 0; j < nd->nchildren; j++) {
			int32_t c = nd->children[j].node_id;

			if (c <= 0 || (uint64_t)c >= g->n ||
			    u[2 * (size_t)c] != SIZE_MAX)
				continue; /* bad id (unparsed graph) or seen */
			u[2 * (size_t)c] = v;
			u[2 * (size_t)c + 1] = j;
			queue[tail++] = (size_t)c;
		}
	}
	free(queue);
	*up = u;
	return 0;
}

int
ckpt_objgraph_path(const struct ckpt_objgraph *g, const size_t *up, size_t i,
		   size_t max, struct ckpt_buf *out)
{
	struct ckpt_buf ids = { 0 };
	size_t len = 0, n = 0, c;
	const size_t *v;
	int rc = 0;

	if (i >= g->n || up[2 * i] == SIZE_MAX)
		return 1;
	/* Up from I, as far as MAX bytes of names reach. */
	for (c = i; c != 0 && len <= max; c = up[2 * c], n++) {
		const struct ckpt_objref *e =
			&g->nodes[up[2 * c]].children[up[2 * c + 1]];

		len += e->local_name_len + 1;
		if ((rc = ckpt_buf_put(&ids, &c, sizeof(c))) < 0)
			goto out;
	}
	if (c != 0)
		rc = ckpt_buf_put(out, ".../", 4);
	v = (const size_t *)(const void *)ids.data;
	while (rc == 0 && n-- > 0) {
		const struct ckpt_objref *e =
			&g->nodes[up[2 * v[n]]].children[up[2 * v[n] + 1]];

		rc = ckpt_name_escape(e->local_name, e->local_name_len, out);
		if (rc == 0 && n > 0)
			rc = ckpt_buf_put(out, "/", 1);
	}
out:
	ckpt_buf_free(&ids);
	return rc;
}

/* Breadth-first object paths of every node of G, whole. */
int
ckpt_objgraph_paths(const struct ckpt_objgraph *g, char ***paths)
{
	struct ckpt_buf b = { 0 };
	size_t *up = NULL, i;
	char **p;
	int rc;

	*paths = NULL;
	if ((rc = ckpt_objgraph_bfs(g, &up)) < 0)
		return rc;
	p = xcalloc(g->n, sizeof(*p));
	rc = p != NULL ? 0 : -ENOMEM;
	for (i = 0; i < g->n && rc == 0; i++) {
		b.len = 0;
		rc = ckpt_objgraph_path(g, up, i, SIZE_MAX, &b);
		if (rc == 0)
			rc = dup_bytes(b.data ? (const char *)b.data : "",
				       b.len, &p[i]);
		else if (rc == 1)
			rc = 0;	/* not reached: NULL */
	}
	free(up);
	ckpt_buf_free(&b);
	if (rc < 0) {
		ckpt_objgraph_paths_free(p, p ? g->n : 0);
		return rc;
	}
	*paths = p;
	return 0;
}

/* Set has_checkpoint_values of every node of G (see objgraph.h). */
int
ckpt_objgraph_mark_values(struct ckpt_objgraph *g)
{
	size_t *start = NULL, *parents = NULL, *fill = NULL, *stack = NULL;
	size_t nedge = 0, top = 0, i, j;
	int rc;

	if ((rc = check_ids(g)) < 0)
		return rc;
	for (i = 0; i < g->n; i++)
		nedge += g->nodes[i].nchildren;
	/* Parents of node c are parents[start[c] .. start[c + 1]). */
	start = xcalloc(g->n + 1, sizeof(*start));
	fill = xcalloc(g->n + 1, sizeof(*fill));
	parents = xcalloc(nedge, sizeof(*parents));
	stack = xcalloc(g->n, sizeof(*stack));
	if (start == NULL || fill == NULL || parents == NULL || stack == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < g->n; i++)
		for (j = 0; j < g->nodes[i].nchildren; j++)
			start[g->nodes[i].children[j].node_id + 1]++;
	for (i = 0; i < g->n; i++)
		start[i + 1] += start[i];
	memcpy(fill, start, (g->n + 1) * sizeof(*fill));
	for (i = 0; i < g->n; i++)
		for (j = 0; j < g->nodes[i].nchildren; j++)
			parents[fill[g->nodes[i].children[j].node_id]++] = i;
	for (i = 0; i < g->n; i++) {
		struct ckpt_objnode *nd = &g->nodes[i];

		nd->has_checkpoint_values = nd->nattrs > 0 || nd->nslots > 0 ||
					    nd->saver_name != NULL;
		if (nd->has_checkpoint_values)
			stack[top++] = i;
	}
	while (top > 0) {
		size_t v = stack[--top];

		for (j = start[v]; j < start[v + 1]; j++) {
			struct ckpt_objnode *pn = &g->nodes[parents[j]];

			if (pn->has_checkpoint_values == 0) {
				pn->has_checkpoint_values = 1;
				stack[top++] = parents[j];
			}
		}
	}
out:
	free(start);
	free(fill);
	free(parents);
	free(stack);
	return rc;
}

/* ---- building ----------------------------------------------------------- */

/* The builder writes the serialized graph itself: the keys are split once
 * into one array of components, the path nodes form a trie numbered
 * breadth-first, and each node is packed straight from the trie and the
 * sorted attribute and slot records.  No struct ckpt_objgraph and no copy
 * of a string is made on the way (for 100,000 variables the graph, its
 * strings and the per-key buffers were about 60 MB of the write-out). */

/* One unescaped path component: in the key itself when it holds no
 * escape, else in the builder's arena. */
struct comp {
	const uint8_t *p;
	size_t len;
};

/* A path that must exist as a node: components from the root. */
struct preq {
	const struct comp *c;
	size_t nc;
	size_t tnode; /* trie node, once built */
};

/* One input key, split. */
struct bkey {
	size_t obj;	  /* index into reqs: object or original variable */
	size_t opt;	  /* index into reqs: optimizer; SIZE_MAX if none */
	struct comp slot; /* slot name (slot keys only) */
	struct comp attr; /* attribute name */
	int32_t node;	  /* node the attribute goes to */
};

/* A trie node: one path node of the graph.  Its children are linked in
 * sorted order through FIRST and NEXT; 0 ends a list (the root, trie
 * node 0, is nobody's child). */
struct tnode {
	struct comp name;
	uint32_t first, last, next;
	int32_t id;  /* breadth-first node id */
	bool values; /* has_checkpoint_values */
};

/* A slot key: the optimizer and original variable nodes it names and,
 * once numbered, its slot variable node. */
struct srec {
	int32_t opt, var, id;
	const struct comp *slot;
	size_t key;
};

/* An attribute record for sorting. */
struct arec {
	int32_t node;
	const struct comp *name;
	size_t key;
};

/* State of one ckpt_objgraph_build_bytes() call. */
struct builder {
	const struct ckpt_objvalue *vals;
	size_t nvals;
	struct bkey *keys;
	struct comp *comps; /* every key's components, key after key */
	size_t ncomps;
	uint8_t *arena; /* unescaped components that held an escape */
	size_t narena;
	struct preq *reqs;
	size_t nreqs;
	struct tnode *trie;
	size_t ntrie;
	size_t trie_cap;
	uint32_t *order; /* trie node of each path node id */
	struct srec *srecs;
	size_t nsrec;
	size_t nslotnodes;
	struct arec *arecs; /* sorted by node, then name */
	struct ckpt_err *err;
};

/* Order of two components at DEPTH: bytewise, but a root child named
 * "save_counter" sorts after every other root child. */
static int
comp_cmp(const struct comp *a, const struct comp *b, size_t depth)
{
	static const char sc[] = "save_counter";

	if (depth == 0) {
		int as = a->len == sizeof(sc) - 1 && !memcmp(a->p, sc, a->len);
		int bs = b->len == sizeof(sc) - 1 && !memcmp(b->p, sc, b->len);

		if (as != bs)
			return as - bs;
	}
	return ckpt_key_cmp(a->p, a->len, b->p, b->len);
}

/* qsort() order of path requests: component-wise, a prefix first. */
static int
preq_cmp(const void *va, const void *vb)
{
	const struct preq *a = *(const struct preq *const *)va;
	const struct preq *b = *(const struct preq *const *)vb;
	size_t i;
	int c;

	for (i = 0; i < a->nc && i < b->nc; i++)
		if ((c = comp_cmp(&a->c[i], &b->c[i], i)) != 0)
			return c;
	return a->nc < b->nc ? -1 : a->nc > b->nc;
}

/* qsort() order of slot records: optimizer, slot name, variable. */
static int
srec_cmp(const void *va, const void *vb)
{
	const struct srec *a = va, *b = vb;
	int c;

	if (a->opt != b->opt)
		return a->opt < b->opt ? -1 : 1;
	c = ckpt_key_cmp(a->slot->p, a->slot->len, b->slot->p, b->slot->len);
	if (c != 0)
		return c;
	if (a->var != b->var)
		return a->var < b->var ? -1 : 1;
	return a->key < b->key ? -1 : a->key > b->key;
}

/* qsort() order of attribute records: node, name. */
static int
arec_cmp(const void *va, const void *vb)
{
	const struct arec *a = va, *b = vb;
	int c;

	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	c = ckpt_key_cmp(a->name->p, a->name->len, b->name->p, b->name->len);
	if (c != 0)
		return c;
	return a->key < b->key ? -1 : a->key > b->key;
}

/* Whether component [S, S+LEN) of a key is the literal WORD. */
static int
is_word(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(s, word, len) == 0;
}

/* The end of the key component that starts at S, in a key ending at END. */
static const char *
comp_end(const char *s, const char *end)
{
	const char *e = memchr(s, '/', (size_t)(end - s));

	return e != NULL ? e : end;
}

/* The length of V's key and of its full name. */
static size_t
key_len(const struct ckpt_objvalue *v)
{
	return v->key_len ? v->key_len : strlen(v->key);
}

static size_t
full_name_len(const struct ckpt_objvalue *v)
{
	if (v->full_name == NULL)
		return 0;
	return v->full_name_len ? v->full_name_len : strlen(v->full_name);
}

/* Where the special components of a key are (SIZE_MAX: absent). */
struct key_shape {
	size_t n;		/* components */
	size_t attr_at;		/* ".ATTRIBUTES" */
	size_t slot_at;		/* ".OPTIMIZER_SLOT" */
};

/* Check that KEY[0..LEN) is an object attribute key and find its special
 * components: return NULL, or why it is not one. */
static const char *
key_shape(const char *key, size_t len, struct key_shape *ks)
{
	const char *s, *e, *end = key + len, *last = key;
	size_t ulen, lastlen = 0;

	ks->n = 0;
	ks->attr_at = ks->slot_at = SIZE_MAX;
	/* Graph strings are proto3 strings, which TensorFlow's protobuf
	 * refuses to parse unless they are UTF-8 (the whole graph, then). */
	if (!ckpt_utf8_valid(key, len))
		return "not valid UTF-8";
	for (s = key;; s = e + 1) {
		size_t clen;

		e = comp_end(s, end);
		clen = (size_t)(e - s);
		last = s;
		lastlen = clen;
		if (is_word(s, clen, ATTRIBUTES)) {
			if (ks->attr_at != SIZE_MAX)
				return "two .ATTRIBUTES components";
			ks->attr_at = ks->n;
		} else if (is_word(s, clen, OPTIMIZER_SLOT)) {
			if (ks->slot_at != SIZE_MAX ||
			    ks->attr_at != SIZE_MAX)
				return "a misplaced .OPTIMIZER_SLOT component";
			ks->slot_at = ks->n;
		} else if (memchr(s, '.', clen) != NULL &&
			   unescape_to((const uint8_t *)s, clen, NULL,
				       &ulen) < 0) {
			return "a '.' in a component must be followed by '.' "
			       "or 'S'";
		}
		ks->n++;
		if (e == end)
			break;
	}
	/* "<path>/.ATTRIBUTES/<attr>": exactly one component after it. */
	if (ks->attr_at == SIZE_MAX || ks->attr_at + 2 != ks->n ||
	    ks->attr_at == 0)
		return "not <path>/.ATTRIBUTES/<name>";
	/* "<var>/.OPTIMIZER_SLOT/<opt path>/<slot>/.ATTRIBUTES/<attr>" */
	if (ks->slot_at != SIZE_MAX &&
	    (ks->slot_at == 0 || ks->attr_at < ks->slot_at + 3))
		return "not <var>/.OPTIMIZER_SLOT/<optimizer>/<slot>/"
		       ".ATTRIBUTES/<name>";
	/* A slot is a variable: TensorFlow restores its value from
	 * VARIABLE_VALUE only (any other attribute leaves it as made). */
	if (ks->slot_at != SIZE_MAX &&
	    !(lastlen == sizeof(VARIABLE_VALUE) - 1 &&
	      memcmp(last, VARIABLE_VALUE, lastlen) == 0))
		return "a slot variable's value is its .ATTRIBUTES/"
		       "VARIABLE_VALUE, no other attribute";
	return NULL;
}

int
ckpt_objgraph_key_canon(const char *key, size_t len, struct ckpt_buf *out)
{
	const char *s, *e, *end = key + len;
	size_t ulen;
	int rc;

	if (len == 0)
		return 0;	/* (KEY may be NULL) */
	for (s = key;; s = e + 1) {
		size_t clen;

		e = comp_end(s, end);
		clen = (size_t)(e - s);
		if (is_word(s, clen, ATTRIBUTES) ||
		    is_word(s, clen, OPTIMIZER_SLOT) ||
		    memchr(s, '.', clen) == NULL ||
		    unescape_to((const uint8_t *)s, clen, NULL, &ulen) == 0)
			rc = ckpt_buf_put(out, s, clen);
		else
			rc = ckpt_name_escape(s, clen, out);
		if (rc == 0 && e != end)
			rc = ckpt_buf_put(out, "/", 1);
		if (rc < 0 || e == end)
			return rc;
	}
}

int
ckpt_objgraph_key_check(const char *key, size_t len, const char **why)
{
	struct key_shape ks;

	*why = key_shape(key, len, &ks);
	return *why == NULL ? 0 : -EINVAL;
}

/* Check value V (the I-th) has a key and a full name in UTF-8; return 0
 * or -EINVAL. */
static int
value_ok(const struct ckpt_objvalue *v, size_t i, struct ckpt_err *err)
{
	if (v->key == NULL)
		return ckpt_fail(err, -EINVAL,
				 "object graph: value %zu has no key", i);
	if (v->full_name != NULL &&
	    !ckpt_utf8_valid(v->full_name, full_name_len(v)))
		return ckpt_fail(err, -EINVAL,
				 "object graph: the full name of value %zu is "
				 "not valid UTF-8",
				 i);
	return 0;
}

/* Count what the keys of B need: components, arena bytes (components
 * holding a '.'), path requests (one per key, two for a slot key). */
static int
count_keys(const struct builder *b, size_t *ncomps, size_t *narena,
	   size_t *nreqs)
{
	size_t i;

	for (i = 0; i < b->nvals; i++) {
		const char *s = b->vals[i].key, *e, *end;
		int rc;

		if ((rc = value_ok(&b->vals[i], i, b->err)) < 0)
			return rc;
		end = s + key_len(&b->vals[i]);
		++*nreqs;
		for (;; s = e + 1) {
			e = comp_end(s, end);
			++*ncomps;
			if (memchr(s, '.', (size_t)(e - s)) != NULL) {
				*narena += (size_t)(e - s);
				*nreqs += is_word(s, (size_t)(e - s),
						  OPTIMIZER_SLOT);
			}
			if (e == end)
				break;
		}
	}
	return 0;
}

/* Split the path components [FIRST, LAST) of a key into REQ, treating a
 * single empty component as the root (as "/.ATTRIBUTES/x" is). */
static void
set_req(struct preq *req, const struct comp *comps, size_t first, size_t last)
{
	req->c = comps + first;
	req->nc = last - first;
	if (req->nc == 1 && req->c[0].len == 0)
		req->nc = 0;
	req->tnode = 0;
}

/* Split key I of B into components and path requests. */
static int
split_key(struct builder *b, size_t i)
{
	const char *key = b->vals[i].key, *s, *e, *end;
	size_t klen = key_len(&b->vals[i]), n = 0, attr_at, slot_at;
	struct bkey *k = &b->keys[i];
	struct comp *comps = b->comps + b->ncomps;
	struct key_shape ks;
	const char *why = key_shape(key, klen, &ks);

	/* A NUL byte in the key shows as one in the message. */
	if (why != NULL)
		return ckpt_fail(b->err, -EINVAL,
				 "object graph: key \"%.*s\": %s", (int)klen,
				 key, why);
	attr_at = ks.attr_at;
	slot_at = ks.slot_at;
	end = key + klen;
	for (s = key;; s = e + 1) {
		size_t len, ulen;

		e = comp_end(s, end);
		len = (size_t)(e - s);
		if (n == attr_at || n == slot_at) {
			/* not a path component */
		} else if (memchr(s, '.', len) == NULL) {
			comps[n].p = (const uint8_t *)s;
			comps[n].len = len;
		} else {
			uint8_t *u = b->arena + b->narena;

			(void)unescape_to((const uint8_t *)s, len, u, &ulen);
			comps[n].p = u;
			comps[n].len = ulen;
			b->narena += ulen;
		}
		n++;
		if (e == end)
			break;
	}
	b->ncomps += n;
	k->attr = comps[attr_at + 1];
	k->obj = b->nreqs++;
	k->opt = SIZE_MAX;
	if (slot_at == SIZE_MAX) {
		set_req(&b->reqs[k->obj], comps, 0, attr_at);
		return 0;
	}
	k->opt = b->nreqs++;
	k->slot = comps[attr_at - 1];
	set_req(&b->reqs[k->obj], comps, 0, slot_at);
	set_req(&b->reqs[k->opt], comps, slot_at + 1, attr_at - 1);
	return 0;
}

/* Append a trie node named NAME as the last child of PARENT; its index
 * in *OUT.  Trie indexes stay below INT32_MAX, as node ids must. */
static int
trie_add(struct builder *b, size_t parent, const struct comp *name, size_t *out)
{
	struct tnode *pn, *t;
	uint32_t ix;

	if (b->ntrie == b->trie_cap) {
		size_t cap = 2 * b->trie_cap;
		struct tnode *nt;

		if (b->trie_cap >= INT32_MAX)
			return ckpt_fail(b->err, -EINVAL,
					 "object graph: too many nodes");
		if (cap > INT32_MAX)
			cap = INT32_MAX;
		nt = reallocarray(b->trie, cap, sizeof(*nt));
		if (nt == NULL)
			return -ENOMEM;
		b->trie = nt;
		b->trie_cap = cap;
	}
	ix = (uint32_t)b->ntrie++;
	t = &b->trie[ix];
	memset(t, 0, sizeof(*t));
	t->name = *name;
	pn = &b->trie[parent];
	if (pn->first == 0)
		pn->first = ix;
	else
		b->trie[pn->last].next = ix;
	pn->last = ix;
	*out = ix;
	return 0;
}

/* Build the trie of all path requests, children in sorted order, and
 * number it breadth-first into b->order. */
static int
build_trie(struct builder *b)
{
	struct preq **order = NULL;
	size_t *stack = NULL, maxdepth = 0, i, d, head, tail = 0;
	const struct preq *prev = NULL;
	int rc = -ENOMEM;

	order = xcalloc(b->nreqs, sizeof(*order));
	if (order == NULL)
		goto out;
	for (i = 0; i < b->nreqs; i++) {
		order[i] = &b->reqs[i];
		if (b->reqs[i].nc > maxdepth)
			maxdepth = b->reqs[i].nc;
	}
	qsort(order, b->nreqs, sizeof(*order), preq_cmp);
	stack = xcalloc(maxdepth + 1, sizeof(*stack));
	b->trie = calloc(16, sizeof(*b->trie));
	if (stack == NULL || b->trie == NULL)
		goto out;
	b->trie_cap = 16;
	b->ntrie = 1; /* the root */
	stack[0] = 0;
	/* Sorted, so each request shares a prefix with the previous one and
	 * every new node is a child that sorts after its existing siblings. */
	for (i = 0; i < b->nreqs; i++) {
		struct preq *r = order[i];

		d = 0;
		while (prev != NULL && d < r->nc && d < prev->nc &&
		       ckpt_key_cmp(r->c[d].p, r->c[d].len, prev->c[d].p,
				    prev->c[d].len) == 0)
			d++;
		for (; d < r->nc; d++)
			if ((rc = trie_add(b, stack[d], &r->c[d],
					   &stack[d + 1])) < 0)
				goto out;
		r->tnode = stack[r->nc];
		prev = r;
	}
	/* Free the sort's scratch before the next array is taken. */
	free(order);
	order = NULL;
	b->order = xcalloc(b->ntrie, sizeof(*b->order));
	if (b->order == NULL)
		goto out;
	b->order[tail++] = 0;
	for (head = 0; head < tail; head++) {
		struct tnode *t = &b->trie[b->order[head]];
		uint32_t kid;

		t->id = (int32_t)head;
		for (kid = t->first; kid != 0; kid = b->trie[kid].next)
			b->order[tail++] = kid;
	}
	rc = 0;
out:
	free(order);
	free(stack);
	return rc;
}

/* Number the slot variable nodes (ids from b->ntrie on, in srec_cmp()
 * order, one per distinct optimizer, slot name and variable) and give
 * each slot key its node. */
static int
number_slots(struct builder *b)
{
	size_t i;

	if (b->nsrec > 1)	/* (NULL while empty) */
		qsort(b->srecs, b->nsrec, sizeof(*b->srecs), srec_cmp);
	for (i = 0; i < b->nsrec; i++) {
		struct srec *r = &b->srecs[i], *p = i > 0 ? r - 1 : NULL;

		if (p == NULL || r->opt != p->opt || r->var != p->var ||
		    ckpt_key_cmp(r->slot->p, r->slot->len, p->slot->p,
				 p->slot->len) != 0) {
			if (b->nslotnodes >= (size_t)INT32_MAX - b->ntrie)
				return ckpt_fail(b->err, -EINVAL,
						 "object graph: too many "
						 "nodes");
			b->nslotnodes++;
		}
		r->id = (int32_t)(b->ntrie + b->nslotnodes - 1);
		b->keys[r->key].node = r->id;
	}
	return 0;
}

/* Sort every key's attribute by node and name, rejecting repeats. */
static int
sort_attrs(struct builder *b)
{
	struct arec *r = b->arecs;
	size_t i;

	for (i = 0; i < b->nvals; i++) {
		r[i].node = b->keys[i].node;
		r[i].name = &b->keys[i].attr;
		r[i].key = i;
	}
	if (b->nvals > 1)
		qsort(r, b->nvals, sizeof(*r), arec_cmp);
	for (i = 1; i < b->nvals; i++)
		if (r[i].node == r[i - 1].node &&
		    ckpt_key_cmp(r[i].name->p, r[i].name->len, r[i - 1].name->p,
				 r[i - 1].name->len) == 0)
			return ckpt_fail(
				b->err, -EINVAL,
				"object graph: key \"%.*s\" repeats an "
				"attribute of \"%.*s\"",
				(int)key_len(&b->vals[r[i].key]),
				b->vals[r[i].key].key,
				(int)key_len(&b->vals[r[i - 1].key]),
				b->vals[r[i - 1].key].key);
	return 0;
}

/* has_checkpoint_values of the path nodes, as ckpt_objgraph_mark_values()
 * sets it: a node with attributes or slot variables, and every node above
 * one.  Children have higher ids than their parents, so one pass from the
 * last id up carries the flag to the root.  (Slot variable nodes have
 * attributes: always true.) */
static void
mark_values(struct builder *b)
{
	size_t i;
	uint32_t kid;

	for (i = 0; i < b->nvals; i++)
		if ((size_t)b->arecs[i].node < b->ntrie)
			b->trie[b->order[b->arecs[i].node]].values = true;
	for (i = 0; i < b->nsrec; i++)
		b->trie[b->order[b->srecs[i].opt]].values = true;
	for (i = b->ntrie; i-- > 0;) {
		struct tnode *t = &b->trie[b->order[i]];

		for (kid = t->first; kid != 0; kid = b->trie[kid].next)
			t->values |= b->trie[kid].values;
	}
}

/* ---- packing the built graph ---- */

/* Size of a length-delimited field of LEN bytes, 0 when empty (proto3
 * leaves out empty strings, and protobuf-c with it). */
static size_t
bytes_size(size_t len)
{
	return len ? 1 + ckpt_varint_len(len) + len : 0;
}

/* Size of an int32 field holding ID (never negative here), 0 for 0. */
static size_t
id_size(int32_t id)
{
	return id ? 1 + ckpt_varint_len((uint64_t)id) : 0;
}

/* Size of a message field whose message is LEN bytes; present even when
 * empty. */
static size_t
msg_size(size_t len)
{
	return 1 + ckpt_varint_len(len) + len;
}

/* Write the tag of length-delimited FIELD and the length LEN at P; return
 * the end. */
static uint8_t *
put_msg_head(uint8_t *p, unsigned field, size_t len)
{
	*p++ = (uint8_t)(field << 3 | 2);
	return ckpt_put_varint64(p, len);
}

/* Write bytes FIELD holding S[0..LEN), nothing when empty (bytes_size()). */
static uint8_t *
put_bytes(uint8_t *p, unsigned field, const void *s, size_t len)
{
	if (len == 0)
		return p;
	p = put_msg_head(p, field, len);
	memcpy(p, s, len);
	return p + len;
}

/* Write int32 FIELD holding ID, nothing for 0 (id_size()). */
static uint8_t *
put_id(uint8_t *p, unsigned field, int32_t id)
{
	if (id == 0)
		return p;
	*p++ = (uint8_t)(field << 3);
	return ckpt_put_varint64(p, (uint64_t)id);
}

/* The full_name of value V: "" for none. */
static const char *
full_name(const struct ckpt_objvalue *v)
{
	return v->full_name != NULL ? v->full_name : "";
}

/* Node ID's records: attributes arecs[a0, a1), slot records
 * srecs[s0, s1) (an optimizer's). */
struct span {
	size_t a0, a1, s0, s1;
};

/* Whether slot record I starts a new slot variable node. */
static bool
slot_first(const struct builder *b, size_t i, size_t s0)
{
	return i == s0 || b->srecs[i].id != b->srecs[i - 1].id;
}

/* Pack node ID (a TrackableObject message) at P, or only measure it when
 * P is NULL; return its size. */
static size_t
pack_node(const struct builder *b, size_t id, const struct span *sp, uint8_t *p)
{
	const struct tnode *t = id < b->ntrie ? &b->trie[b->order[id]] : NULL;
	size_t size = 0, i;
	uint32_t kid;

	/* children = 1 */
	for (kid = t ? t->first : 0; kid != 0; kid = b->trie[kid].next) {
		const struct tnode *k = &b->trie[kid];
		size_t len = id_size(k->id) + bytes_size(k->name.len);

		size += msg_size(len);
		if (p == NULL)
			continue;
		p = put_msg_head(p, 1, len);
		p = put_id(p, 1, k->id);
		p = put_bytes(p, 2, k->name.p, k->name.len);
	}
	/* attributes = 2 */
	for (i = sp->a0; i < sp->a1; i++) {
		const struct arec *r = &b->arecs[i];
		const struct ckpt_objvalue *v = &b->vals[r->key];
		const char *fn = full_name(v);
		size_t fnlen = full_name_len(v), klen = key_len(v);
		size_t len = bytes_size(r->name->len) + bytes_size(fnlen) +
			     bytes_size(klen);

		size += msg_size(len);
		if (p == NULL)
			continue;
		p = put_msg_head(p, 2, len);
		p = put_bytes(p, 1, r->name->p, r->name->len);
		p = put_bytes(p, 2, fn, fnlen);
		p = put_bytes(p, 3, v->key, klen);
	}
	/* slot_variables = 3: one per slot variable node */
	for (i = sp->s0; i < sp->s1; i++) {
		const struct srec *r = &b->srecs[i];
		size_t len;

		if (!slot_first(b, i, sp->s0))
			continue;
		len = id_size(r->var) + bytes_size(r->slot->len) +
		      id_size(r->id);
		size += msg_size(len);
		if (p == NULL)
			continue;
		p = put_msg_head(p, 3, len);
		p = put_id(p, 1, r->var);
		p = put_bytes(p, 2, r->slot->p, r->slot->len);
		p = put_id(p, 3, r->id);
	}
	/* has_checkpoint_values = 5, a BoolValue: `2a 02 08 01` or `2a 00` */
	if (t == NULL || t->values) {
		size += msg_size(2);
		if (p != NULL)
			p = (uint8_t *)memcpy(p, "\x2a\x02\x08\x01", 4) + 4;
	} else {
		size += msg_size(0);
		if (p != NULL)
			p = (uint8_t *)memcpy(p, "\x2a\x00", 2) + 2;
	}
	return size;
}

/* Advance SP from the node before ID to node ID. */
static void
span_next(const struct builder *b, size_t id, struct span *sp)
{
	sp->a0 = sp->a1;
	while (sp->a1 < b->nvals && (size_t)b->arecs[sp->a1].node == id)
		sp->a1++;
	sp->s0 = sp->s1;
	while (sp->s1 < b->nsrec && (size_t)b->srecs[sp->s1].opt == id)
		sp->s1++;
}

/* Pack the graph (nodes = 1, each a length-delimited node) into SINK:
 * one pass to measure, one to pack. */
static int
pack_graph(const struct builder *b, const struct ckpt_objgraph_sink *sink)
{
	size_t n = b->ntrie + b->nslotnodes, id, len;
	struct packer k = { .sink = sink };
	struct span sp = { 0 };
	uint64_t total = 0;
	uint8_t *p;
	int rc;

	for (id = 0; id < n; id++) {
		span_next(b, id, &sp);
		total += msg_size(pack_node(b, id, &sp, NULL));
	}
	if ((rc = sink->begin(sink->ctx, total)) < 0)
		return rc;
	memset(&sp, 0, sizeof(sp));
	for (id = 0; id < n && rc == 0; id++) {
		span_next(b, id, &sp);
		len = pack_node(b, id, &sp, NULL);
		if ((p = packer_room(&k, msg_size(len))) == NULL) {
			rc = -ENOMEM;
			break;
		}
		p = put_msg_head(p, 1, len);
		pack_node(b, id, &sp, p);
		rc = packer_done(&k, msg_size(len), false);
	}
	if (rc == 0)
		rc = packer_done(&k, 0, true);
	ckpt_buf_free(&k.buf);
	return rc;
}

/* Free what B owns. */
static void
builder_free(struct builder *b)
{
	free(b->keys);
	free(b->comps);
	free(b->arena);
	free(b->reqs);
	free(b->trie);
	free(b->order);
	free(b->srecs);
	free(b->arecs);
}

/* Build the serialized object graph for the keys of VALS (see
 * objgraph.h). */
static int pair_values(const struct ckpt_objvalue *vals, size_t n,
		       struct ckpt_objvalue **out, size_t *nout,
		       struct ckpt_err *err);

int
ckpt_objgraph_build_to(const struct ckpt_objvalue *vals, size_t n,
		       const struct ckpt_objgraph_sink *sink,
		       struct ckpt_err *err)
{
	struct builder b = { 0 };
	struct ckpt_objvalue *paired = NULL;
	size_t ncomps = 0, narena = 0, nreqs = 0, i;
	int rc;

	/* a hash table's two tensors: one attribute */
	if ((rc = pair_values(vals, n, &paired, &n, err)) < 0)
		return rc;
	if (paired != NULL)
		vals = paired;
	b.vals = vals;
	b.nvals = n;
	b.err = err;
	if ((rc = count_keys(&b, &ncomps, &narena, &nreqs)) < 0)
		goto out;
	rc = -ENOMEM;
	b.keys = xcalloc(n, sizeof(*b.keys));
	b.comps = xcalloc(ncomps, sizeof(*b.comps));
	b.arena = malloc(narena ? narena : 1);
	b.reqs = xcalloc(nreqs, sizeof(*b.reqs));
	b.srecs = xcalloc(nreqs - n, sizeof(*b.srecs));
	b.arecs = xcalloc(n, sizeof(*b.arecs));
	if (b.keys == NULL || b.comps == NULL || b.arena == NULL ||
	    b.reqs == NULL || b.srecs == NULL || b.arecs == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if ((rc = split_key(&b, i)) < 0)
			goto out;
	if ((rc = build_trie(&b)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct bkey *k = &b.keys[i];
		struct srec *r = &b.srecs[b.nsrec];

		k->node = b.trie[b.reqs[k->obj].tnode].id;
		if (k->opt == SIZE_MAX)
			continue;
		r->var = k->node;
		r->opt = b.trie[b.reqs[k->opt].tnode].id;
		r->slot = &k->slot;
		r->key = i;
		b.nsrec++;
	}
	free(b.reqs); /* every key has its nodes */
	b.reqs = NULL;
	if ((rc = number_slots(&b)) < 0 || (rc = sort_attrs(&b)) < 0)
		goto out;
	mark_values(&b);
	rc = pack_graph(&b, sink);
out:
	if (rc == -ENOMEM)
		ckpt_fail(err, rc, "object graph: out of memory");
	builder_free(&b);
	free(paired);
	return rc;
}

int
ckpt_objgraph_build_bytes(const struct ckpt_objvalue *vals, size_t n,
			  struct ckpt_buf *out, struct ckpt_err *err)
{
	struct ckpt_objgraph_sink sink = { buf_begin, buf_put, out };
	size_t len = out->len;
	int rc = ckpt_objgraph_build_to(vals, n, &sink, err);

	if (rc < 0)
		out->len = len;
	return rc;
}

/* The graph ckpt_objgraph_build_bytes() packs, parsed. */
int
ckpt_objgraph_build(const struct ckpt_objvalue *vals, size_t n,
		    struct ckpt_objgraph **out, struct ckpt_err *err)
{
	struct ckpt_buf buf = { 0 };
	int rc;

	*out = NULL;
	if ((rc = ckpt_objgraph_build_bytes(vals, n, &buf, err)) == 0)
		rc = ckpt_objgraph_parse(buf.data, buf.len, out, err);
	ckpt_buf_free(&buf);
	return rc;
}

/* ---- editing ------------------------------------------------------------ */

/* One reference of a node, in one of the editor's tables: a child edge
 * (found by parent and name) or a slot variable (by optimizer, original
 * variable and slot name). */
struct ref {
	int32_t parent;	/* the node; -1: an empty place */
	uint32_t j;	/* its index in the node's children or slots */
};

/* Such a table: every child edge, or every slot variable, of the graph
 * (open addressing, CAP a power of two, at most half full). */
struct reftab {
	struct ref *e;
	size_t n, cap;
	bool slots;
};

/* Room in one node's arrays (a parsed node's are just as long as they
 * are, and grow by doubling here: one object may get 100,000 children,
 * an optimizer as many slots). */
struct room {
	size_t children, attrs, slots;
};

/* ARR (of N elements of SIZE bytes, room for *CAP) with room for one
 * more, or NULL (ARR unchanged) on -ENOMEM. */
static void *
room_for_one(void *arr, size_t n, size_t *cap, size_t size)
{
	size_t c = n < 4 ? 4 : 2 * n;

	if (n < *cap)
		return arr;
	if ((arr = reallocarray(arr, c, size)) != NULL)
		*cap = c;
	return arr;
}

/* State of one ckpt_objgraph_edit() call.  A node's object path is that
 * of the first breadth-first edge reaching it (ckpt_objgraph_paths()):
 * UP and UPEDGE say which, so that a path is followed edge by edge
 * without keeping path strings (a deep graph's would take the square of
 * its depth). */
struct editor {
	struct ckpt_objgraph *g;
	int32_t *up;		/* the node whose edge gives each node its
				 * path; -1: none (the root, slot variables) */
	uint32_t *upedge;	/* that edge's index in UP's children */
	struct room *room;	/* room in each node's arrays */
	size_t cap;		/* room in g->nodes, up, upedge and room */
	struct reftab edges, slots;
	const struct ckpt_objvalue *vals;
	const struct ckpt_objvalue **byk;	/* VALS in key order */
	/* VALS in the order of their keys' own parts (after the last
	 * "/.ATTRIBUTES/"), made at claim_moved()'s first need */
	const struct ckpt_objvalue **bya;
	size_t nvals;
	bool *claimed;	/* VALS[i] has its attribute */
	/* Attributes of saveables of several tensors whose objects were
	 * renamed (claim_moved()): added where their tensors are now, as
	 * values of these keys and full names (one owned piece of memory,
	 * at KEY, each). */
	struct ckpt_objvalue *moved;
	size_t nmoved;
	struct ckpt_err *err;
};

/* Order of two values (pointers to them) by key. */
static int
val_cmp(const void *a, const void *b)
{
	const struct ckpt_objvalue *x = *(const struct ckpt_objvalue *const *)a;
	const struct ckpt_objvalue *y = *(const struct ckpt_objvalue *const *)b;

	return ckpt_key_cmp(x->key, key_len(x), y->key, key_len(y));
}

/* The value whose key is KEY[0..LEN), or SIZE_MAX. */
static size_t
val_find(const struct editor *ed, const char *key, size_t len)
{
	size_t lo = 0, hi = ed->nvals;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ckpt_objvalue *v = ed->byk[mid];
		int c = ckpt_key_cmp(v->key, key_len(v), key, len);

		if (c == 0)
			return (size_t)(v - ed->vals);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

/* True if attribute A has an empty full_name and value X the name a
 * mount shows for that: A's key, less "/.ATTRIBUTES/VARIABLE_VALUE". */
static bool
empty_shown(const struct ckpt_objattr *a, const struct ckpt_objvalue *x)
{
	static const char sfx[] = "/" ATTRIBUTES "/VARIABLE_VALUE";
	size_t sl = sizeof(sfx) - 1, kl = a->checkpoint_key_len;
	size_t fl = full_name_len(x);

	if (kl >= sl && memcmp(a->checkpoint_key + kl - sl, sfx, sl) == 0)
		kl -= sl;
	return a->full_name_len == 0 && fl == kl &&
	       (fl == 0 || memcmp(x->full_name, a->checkpoint_key, fl) == 0);
}

/* Where the attribute's own part of KEY[0..LEN) starts: after its last
 * "/.ATTRIBUTES/"; NULL if none. */
static const char *
attr_part(const char *key, size_t len)
{
	static const char at[] = "/" ATTRIBUTES "/";
	size_t al = sizeof(at) - 1;

	for (size_t i = len; i >= al; i--)
		if (memcmp(key + i - al, at, al) == 0)
			return key + i;
	return NULL;
}

/* The length of value X's key's own part (attr_part()), 0 if none. */
static size_t
part_len(const struct ckpt_objvalue *x, const char **part)
{
	size_t xl = key_len(x);

	*part = attr_part(x->key, xl);
	return *part != NULL ? (size_t)(x->key + xl - *part) : 0;
}

/* Order of two values (pointers to them) by their keys' own parts. */
static int
val_pcmp(const void *a, const void *b)
{
	const struct ckpt_objvalue *x = *(const struct ckpt_objvalue *const *)a;
	const struct ckpt_objvalue *y = *(const struct ckpt_objvalue *const *)b;
	const char *px, *py;
	size_t lx = part_len(x, &px), ly = part_len(y, &py);

	return ckpt_key_cmp(px ? px : "", lx, py ? py : "", ly);
}

/* Whether node ND has an attribute whose key's own part (attr_part()) is
 * S[0..LEN). */
static bool
has_attr_part(const struct ckpt_objnode *nd, const char *s, size_t len)
{
	for (size_t j = 0; j < nd->nattrs; j++) {
		const struct ckpt_objattr *a = &nd->attrs[j];
		const char *p = attr_part(a->checkpoint_key,
					  a->checkpoint_key_len);

		if (p != NULL &&
		    (size_t)(a->checkpoint_key + a->checkpoint_key_len - p) ==
			    len &&
		    memcmp(p, s, len) == 0)
			return true;
	}
	return false;
}

/* The full name the values N values of V (claimed for attribute A, of
 * key K[0..KL) now) give it: each is it followed by what the value's key
 * adds to K; set *F, *FL (to A's own when they keep it).  -EINVAL (the
 * message names the one that differs) if they do not agree. */
static int
parts_name(struct ckpt_err *err, const struct ckpt_objattr *a,
	   const char *k, size_t kl, const struct ckpt_objvalue *const *v,
	   size_t n, const char **f, size_t *fl)
{
	const struct ckpt_objvalue *odd = NULL;
	int half = 0;	/* a hash table's -keys (1), -values (2), both */

	*f = NULL;
	*fl = 0;
	for (size_t i = 0; i < n; i++) {
		size_t sl = key_len(v[i]) - kl;

		if (sl == 5 && memcmp(v[i]->key + kl, "-keys", 5) == 0)
			half |= 1;
		else if (sl == 7 && memcmp(v[i]->key + kl, "-values", 7) == 0)
			half |= 2;
	}
	if (half == 1 || half == 2)
		return ckpt_fail(err, -EINVAL,
				 "object graph: \"%.*s%s\" is written without "
				 "\"%.*s%s\": a hash table is saved as both "
				 "(the attribute of key \"%.*s\"), and "
				 "TensorFlow restores it from both or fails; "
				 "put the other back, or remove this one too",
				 (int)kl, k, half == 1 ? "-keys" : "-values",
				 (int)kl, k, half == 1 ? "-values" : "-keys",
				 (int)kl, k);
	for (size_t i = 0; i < n && odd == NULL; i++) {
		size_t vf = full_name_len(v[i]), sl = key_len(v[i]) - kl;

		if (vf < sl ||
		    memcmp(v[i]->full_name + vf - sl, v[i]->key + kl, sl) != 0)
			odd = v[i];
		else if (i == 0)
			*f = v[i]->full_name, *fl = vf - sl;
		else if (*fl != vf - sl || memcmp(*f, v[i]->full_name, *fl))
			odd = v[i];
	}
	if (odd != NULL)
		return ckpt_fail(err, -EINVAL,
				 "object graph: the tensors of key \"%.*s\" "
				 "(a saveable of several, as a hash table: "
				 "their keys are it followed by more) have one "
				 "full name, but that of \"%.*s\" is \"%.*s\": "
				 "name them all that name followed by what "
				 "their keys add (as NAME-keys, NAME-values)",
				 (int)kl, k, (int)key_len(odd), odd->key,
				 (int)full_name_len(odd),
				 odd->full_name ? odd->full_name : "");
	/* (named by their keys: an empty full name stays so) */
	if (n == 0 || (a->full_name_len == 0 && *fl == kl &&
		       memcmp(*f, k, kl) == 0)) {
		*f = a->full_name;
		*fl = a->full_name_len;
	}
	return 0;
}

/* Attribute A of node ND names no value, by its key or as a saveable's
 * (claim_parts()): if its object was renamed, its tensors are the values
 * not claimed yet keyed P/.ATTRIBUTES/<A's own part><S> (S not empty nor
 * beginning with a letter or digit: a hash table's -keys and -values),
 * of one P, each not the key of another
 * attribute of ND (which moved with it under its own name).  Claim them
 * and note A's attribute at P (ed->moved), of the full name they give
 * (parts_name()).  Return how many, -EINVAL (names that disagree) or
 * -ENOMEM. */
static ssize_t
claim_moved(struct editor *ed, const struct ckpt_objnode *nd,
	    const struct ckpt_objattr *a)
{
	static const char at[] = "/" ATTRIBUTES "/";
	size_t al = sizeof(at) - 1, tl, lo = 0, hi, n = 0, pl = 0, i, fl;
	const char *tail = attr_part(a->checkpoint_key, a->checkpoint_key_len);
	const char *p = NULL, *f;
	const struct ckpt_objvalue **got;
	struct ckpt_objvalue *m;
	struct ckpt_buf key = { 0 };
	int rc;

	if (tail == NULL)
		return 0;
	tl = (size_t)(a->checkpoint_key + a->checkpoint_key_len - tail);
	/* (a variable's is one tensor: not looked for, as most attributes
	 * without a value are removed variables) */
	if (tl == sizeof("VARIABLE_VALUE") - 1 &&
	    memcmp(tail, "VARIABLE_VALUE", tl) == 0)
		return 0;
	if (ed->bya == NULL) {
		if ((ed->bya = xcalloc(ed->nvals, sizeof(*ed->bya))) == NULL)
			return -ENOMEM;
		for (i = 0; i < ed->nvals; i++)
			ed->bya[i] = &ed->vals[i];
		qsort(ed->bya, ed->nvals, sizeof(*ed->bya), val_pcmp);
	}
	for (hi = ed->nvals; lo < hi;) {	/* the first part above A's */
		size_t mid = lo + (hi - lo) / 2;
		const char *mp;
		size_t ml = part_len(ed->bya[mid], &mp);

		if (ckpt_key_cmp(mp ? mp : "", ml, tail, tl) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if ((got = xcalloc(ed->nvals, sizeof(*got))) == NULL)
		return -ENOMEM;
	for (i = lo; i < ed->nvals; i++) {
		const struct ckpt_objvalue *x = ed->bya[i];
		const char *xp;
		size_t xpl = part_len(x, &xp);

		if (xpl <= tl || memcmp(xp, tail, tl) != 0)
			break;
		/* (S begins as saveables' suffixes do, "-keys", "_stamp":
		 * "table" is not "t" followed by "able") */
		if (ed->claimed[x - ed->vals] || isalnum((unsigned char)xp[tl]) ||
		    has_attr_part(nd, xp, xpl))
			continue;
		if (p == NULL) {
			p = x->key;
			pl = (size_t)(xp - x->key) - al;
		} else if ((size_t)(xp - x->key) - al != pl ||
			   memcmp(p, x->key, pl) != 0) {
			continue;
		}
		got[n++] = x;
	}
	if (n == 0) {
		free(got);
		return 0;
	}
	/* its key at P, a NUL, its full name: one piece (A leaves ND) */
	if ((rc = ckpt_buf_put(&key, p, pl)) < 0 ||
	    (rc = ckpt_buf_put(&key, at, al)) < 0 ||
	    (rc = ckpt_buf_put(&key, tail, tl)) < 0 ||
	    (rc = parts_name(ed->err, a, (const char *)key.data, key.len,
			     got, n, &f, &fl)) < 0 ||
	    (rc = ckpt_buf_put(&key, "", 1)) < 0 ||
	    (rc = ckpt_buf_put(&key, f, fl)) < 0 ||
	    (m = realloc(ed->moved, (ed->nmoved + 1) * sizeof(*m))) == NULL) {
		free(got);
		ckpt_buf_free(&key);
		return rc < 0 ? rc : -ENOMEM;
	}
	for (i = 0; i < n; i++)
		ed->claimed[got[i] - ed->vals] = true;
	free(got);
	ed->moved = m;
	m[ed->nmoved++] = (struct ckpt_objvalue){
		.key = (const char *)key.data,
		.key_len = pl + al + tl,
		.full_name = (const char *)key.data + pl + al + tl + 1,
		.full_name_len = fl,
	};
	return (ssize_t)n;
}

/* Claim the values not claimed yet whose keys are A's followed by more:
 * the tensors of a legacy saveable of several (a hash table's -keys and
 * -values), whose attribute names none itself.  Their full names give A
 * its own (parts_name()).  Return how many, -EINVAL (names that
 * disagree) or -ENOMEM. */
static ssize_t
claim_parts(struct editor *ed, struct ckpt_objattr *a)
{
	size_t lo = 0, hi = ed->nvals, kl = a->checkpoint_key_len, i, n = 0;
	const struct ckpt_objvalue **got;
	const char *f;
	size_t fl;
	char *fn;
	int rc;

	if (kl == 0)
		return 0;
	while (lo < hi) {	/* the first key above A's */
		size_t mid = lo + (hi - lo) / 2;
		const struct ckpt_objvalue *v = ed->byk[mid];

		if (ckpt_key_cmp(v->key, key_len(v), a->checkpoint_key, kl) <=
		    0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (hi = lo; hi < ed->nvals && key_len(ed->byk[hi]) > kl &&
		      memcmp(ed->byk[hi]->key, a->checkpoint_key, kl) == 0;
	     hi++)
		;
	if (hi == lo)
		return 0;
	if ((got = xcalloc(hi - lo, sizeof(*got))) == NULL)
		return -ENOMEM;
	for (i = lo; i < hi; i++)
		if (!ed->claimed[ed->byk[i] - ed->vals])
			got[n++] = ed->byk[i];
	rc = parts_name(ed->err, a, a->checkpoint_key, kl, got, n, &f, &fl);
	for (i = 0; rc == 0 && i < n; i++)
		ed->claimed[got[i] - ed->vals] = true;
	free(got);
	if (rc < 0 || n == 0 ||
	    (fl == a->full_name_len && (fl == 0 || memcmp(f, a->full_name,
							  fl) == 0)))
		return rc < 0 ? rc : (ssize_t)n;
	if ((rc = dup_bytes(f, fl, &fn)) < 0)
		return rc;
	free(a->full_name);
	a->full_name = fn;
	a->full_name_len = fl;
	return (ssize_t)n;
}

/* Keep the attributes of node ND that a value still has (its full_name
 * then that value's, but an empty one stays empty while the value has
 * the name shown for it), each value once; drop the others, but those
 * whose key no value has: they are left to the second pass (the tensors
 * of saveables of several, in place or moved: ckpt_objgraph_edit()). */
static int
keep_attrs(struct editor *ed, struct ckpt_objnode *nd)
{
	size_t j, k = 0;
	int rc = 0;

	for (j = 0; j < nd->nattrs; j++) {
		struct ckpt_objattr *a = &nd->attrs[j];
		size_t v = rc < 0 ? 0
				  : val_find(ed, a->checkpoint_key,
					     a->checkpoint_key_len);
		char *fn;

		if (rc == 0 && v != SIZE_MAX && ed->claimed[v]) {
			free(a->name);
			free(a->full_name);
			free(a->checkpoint_key);
			continue;
		}
		/* (after a failure the rest is kept for node_clear()) */
		if (rc == 0 && v != SIZE_MAX) {
			const struct ckpt_objvalue *x = &ed->vals[v];

			ed->claimed[v] = true;
			if (empty_shown(a, x)) {
				nd->attrs[k++] = *a;
				continue;
			}
			rc = dup_bytes(x->full_name ? x->full_name : "",
				       full_name_len(x), &fn);
			if (rc == 0) {
				free(a->full_name);
				a->full_name = fn;
				a->full_name_len = full_name_len(x);
			}
		}
		nd->attrs[k++] = *a;
	}
	nd->nattrs = k;
	return rc;
}

/* The second pass over G's attributes left without a value by their
 * keys: first every saveable of several in place takes its tensors
 * (claim_parts()), then one whose object was renamed finds them where
 * it went (claim_moved()), and the others are dropped (a moved one is
 * added where it went: ed->moved). */
static int
keep_saveables(struct editor *ed)
{
	struct ckpt_objgraph *g = ed->g;
	size_t i, j, k, total = 0;
	uint8_t *keep;
	ssize_t got;
	int rc = 0;

	for (i = 0; i < g->n; i++)
		total += g->nodes[i].nattrs;
	if ((keep = xcalloc(total ? total : 1, 1)) == NULL)
		return -ENOMEM;
	for (i = 0, k = 0; i < g->n && rc == 0; i++)
		for (j = 0; j < g->nodes[i].nattrs && rc == 0; j++, k++) {
			struct ckpt_objattr *a = &g->nodes[i].attrs[j];

			got = val_find(ed, a->checkpoint_key,
				       a->checkpoint_key_len) != SIZE_MAX
				      ? 1
				      : claim_parts(ed, a);
			keep[k] = got > 0;
			rc = got < 0 ? (int)got : 0;
		}
	for (i = 0, k = 0; i < g->n && rc == 0; i++)
		for (j = 0; j < g->nodes[i].nattrs && rc == 0; j++, k++)
			if (!keep[k] &&
			    (got = claim_moved(ed, &g->nodes[i],
					       &g->nodes[i].attrs[j])) < 0)
				rc = (int)got;
	for (i = 0, k = 0; i < g->n && rc == 0; i++) {
		struct ckpt_objnode *nd = &g->nodes[i];
		size_t kept = 0;

		for (j = 0; j < nd->nattrs; j++, k++) {
			if (keep[k]) {
				nd->attrs[kept++] = nd->attrs[j];
				continue;
			}
			free(nd->attrs[j].name);
			free(nd->attrs[j].full_name);
			free(nd->attrs[j].checkpoint_key);
		}
		nd->nattrs = kept;
	}
	free(keep);
	return rc;
}

/* Whether value X's key is K-keys, K/.ATTRIBUTES/<name>: a hash table's
 * keys tensor (K: its first *KL bytes). */
static bool
table_keys(const struct ckpt_objvalue *x, size_t *kl)
{
	size_t xl = x->key != NULL ? key_len(x) : 0;
	const char *part;

	*kl = xl - 5;
	return xl > 5 && memcmp(x->key + *kl, "-keys", 5) == 0 &&
	       (part = attr_part(x->key, *kl)) != NULL &&
	       part != x->key + *kl;
}

/* For a graph built anew: VALS (N) with each pair of values K-keys and
 * K-values (a hash table's tensors) made one value K, of the full name
 * theirs give (parts_name()), in *OUT (*NOUT values, pointing into VALS'
 * strings; NULL when there is no pair).  0, -EINVAL (names that
 * disagree) or -ENOMEM. */
static int
pair_values(const struct ckpt_objvalue *vals, size_t n,
	    struct ckpt_objvalue **out, size_t *nout, struct ckpt_err *err)
{
	const struct ckpt_objvalue **byk = NULL;
	struct ckpt_objvalue *o = NULL;
	struct ckpt_buf other = { 0 };
	size_t i, kl, m = 0;
	uint8_t *gone = NULL;	/* 1: taken into another, 2: a pair */
	bool any = false;
	int rc = 0;

	*out = NULL;
	for (i = 0; i < n && !any; i++)
		any = table_keys(&vals[i], &kl);
	if (!any)
		return 0;
	byk = xcalloc(n, sizeof(*byk));
	gone = xcalloc(n, sizeof(*gone));
	o = xcalloc(n, sizeof(*o));
	if (byk == NULL || gone == NULL || o == NULL) {
		rc = ckpt_fail(err, -ENOMEM, "object graph: out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		byk[i] = &vals[i];
		o[i] = vals[i];
	}
	qsort(byk, n, sizeof(*byk), val_cmp);
	for (i = 0; i < n && rc == 0; i++) {
		const struct ckpt_objvalue *got[2] = { &vals[i], NULL };
		struct ckpt_objattr none = { 0 };
		size_t lo = 0, hi = n, fl;
		const char *f;

		if (gone[i] != 0 || !table_keys(&vals[i], &kl))
			continue;
		other.len = 0;
		if (ckpt_buf_put(&other, vals[i].key, kl) < 0 ||
		    ckpt_buf_put(&other, "-values", 7) < 0) {
			rc = ckpt_fail(err, -ENOMEM,
				       "object graph: out of memory");
			break;
		}
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (ckpt_key_cmp(byk[mid]->key, key_len(byk[mid]),
					 other.data, other.len) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == n || key_len(byk[lo]) != other.len ||
		    memcmp(byk[lo]->key, other.data, other.len) != 0 ||
		    gone[byk[lo] - vals] != 0)
			continue;
		got[1] = byk[lo];
		if ((rc = parts_name(err, &none, vals[i].key, kl, got, 2, &f,
				     &fl)) < 0)
			break;
		gone[byk[lo] - vals] = 1;
		gone[i] = 2;
		o[i].key_len = kl;
		o[i].full_name = fl > 0 ? f : "";
		o[i].full_name_len = fl;
	}
	/* the pairs first, as an edit adds a moved saveable's first (BYK's
	 * room, no longer needed, holds the order) */
	for (int pass = 2; pass >= 0 && rc == 0; pass -= 2)
		for (i = 0; i < n; i++)
			if (gone[i] == pass)
				byk[m++] = &o[i];
	if (rc == 0) {
		struct ckpt_objvalue *r = xcalloc(m ? m : 1, sizeof(*r));

		if (r == NULL)
			rc = ckpt_fail(err, -ENOMEM,
				       "object graph: out of memory");
		for (i = 0; r != NULL && i < m; i++)
			r[i] = *byk[i];
		free(o);
		o = r;
	}
out:
	ckpt_buf_free(&other);
	free(byk);
	free(gone);
	if (rc < 0) {
		free(o);
		return rc;
	}
	*out = o;
	*nout = m;
	return 0;
}

/* Drop the slot variables of node ND whose slot variable node has no
 * attribute left (TensorFlow lists a slot only with its value). */
static void
keep_slots(struct editor *ed, struct ckpt_objnode *nd)
{
	size_t j, k = 0;

	for (j = 0; j < nd->nslots; j++) {
		struct ckpt_slotref *s = &nd->slots[j];
		int32_t id = s->slot_variable_node_id;

		if (id < 0 || (uint64_t)id >= ed->g->n ||
		    ed->g->nodes[id].nattrs == 0) {
			free(s->slot_name);
			continue;
		}
		nd->slots[k++] = *s;
	}
	nd->nslots = k;
}

/* Hash of a reference from node A (and variable B: slots) named
 * NAME[0..LEN). */
static uint64_t
ref_hash(int32_t a, int32_t b, const void *name, size_t len)
{
	uint64_t ids = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;

	/* (the ids mixed by a multiply, so that consecutive ones spread) */
	return ckpt_hash(name, len) ^ ids * 0x9e3779b97f4a7c15ull;
}

/* What reference E of table T is found by: its variable (*B; -1 for an
 * edge) and name. */
static void
ref_key(const struct editor *ed, const struct reftab *t, const struct ref *e,
	int32_t *b, const char **name, size_t *len)
{
	const struct ckpt_objnode *nd = &ed->g->nodes[e->parent];

	if (t->slots) {
		*b = nd->slots[e->j].original_variable_node_id;
		*name = nd->slots[e->j].slot_name;
		*len = nd->slots[e->j].slot_name_len;
	} else {
		*b = -1;
		*name = nd->children[e->j].local_name;
		*len = nd->children[e->j].local_name_len;
	}
}

/* Put reference J of node A in T (there is room). */
static void
ref_put(const struct editor *ed, struct reftab *t, int32_t a, uint32_t j)
{
	struct ref e = { a, j };
	const char *name;
	size_t len, i;
	int32_t b;

	ref_key(ed, t, &e, &b, &name, &len);
	i = (size_t)ref_hash(a, b, name, len) & (t->cap - 1);
	while (t->e[i].parent >= 0)
		i = (i + 1) & (t->cap - 1);
	t->e[i] = e;
	t->n++;
}

/* Fill T anew: every child edge (or slot) of the graph, node by node and
 * in their order, so that of references found alike the first is found
 * first; room for twice as many. */
static int
ref_fill(const struct editor *ed, struct reftab *t)
{
	size_t cap = 64, want = 0, i, j;

	for (i = 0; i < ed->g->n; i++)
		want += t->slots ? ed->g->nodes[i].nslots
				 : ed->g->nodes[i].nchildren;
	while (cap < 4 * want)
		cap *= 2;
	free(t->e);
	t->n = 0;
	t->cap = 0;
	if ((t->e = calloc(cap, sizeof(*t->e))) == NULL)
		return -ENOMEM;
	t->cap = cap;
	for (i = 0; i < cap; i++)
		t->e[i].parent = -1;
	for (i = 0; i < ed->g->n; i++) {
		const struct ckpt_objnode *nd = &ed->g->nodes[i];
		size_t n = t->slots ? nd->nslots : nd->nchildren;

		for (j = 0; j < n; j++)
			ref_put(ed, t, (int32_t)i, (uint32_t)j);
	}
	return 0;
}

/* Reference J of node A was just added to the graph: put it in T (the
 * table filled anew when it grows, the new one with the rest). */
static int
ref_add(const struct editor *ed, struct reftab *t, int32_t a, uint32_t j)
{
	if (2 * (t->n + 1) > t->cap)
		return ref_fill(ed, t);
	ref_put(ed, t, a, j);
	return 0;
}

/* The first reference of node A (for variable B: slots) named
 * NAME[0..LEN) in T, or NULL. */
static const struct ref *
ref_find(const struct editor *ed, const struct reftab *t, int32_t a,
	 int32_t b, const void *name, size_t len)
{
	size_t i;

	if (t->cap == 0)
		return NULL;
	i = (size_t)ref_hash(a, b, name, len) & (t->cap - 1);
	for (; t->e[i].parent >= 0; i = (i + 1) & (t->cap - 1)) {
		const struct ref *e = &t->e[i];
		const char *en;
		size_t el;
		int32_t eb;

		if (e->parent != a)
			continue;
		ref_key(ed, t, e, &eb, &en, &el);
		if (eb == b && el == len &&
		    (len == 0 || memcmp(en, name, len) == 0))
			return e;
	}
	return NULL;
}

/* A new node at the end of the graph, given its path by edge UPEDGE of
 * UP (-1: no path, a slot variable); its id in *ID. */
static int
add_node(struct editor *ed, int32_t up, uint32_t upedge, int32_t *id)
{
	struct ckpt_objgraph *g = ed->g;

	if (g->n >= INT32_MAX)
		return ckpt_fail(ed->err, -EINVAL,
				 "object graph: too many nodes");
	if (g->n == ed->cap) {
		size_t cap = 2 * ed->cap + 16;
		struct ckpt_objnode *nn;
		struct room *nr;
		int32_t *nu;
		uint32_t *ne;

		if ((nn = reallocarray(g->nodes, cap, sizeof(*nn))) == NULL)
			return -ENOMEM;
		g->nodes = nn;
		if ((nu = reallocarray(ed->up, cap, sizeof(*nu))) == NULL)
			return -ENOMEM;
		ed->up = nu;
		if ((ne = reallocarray(ed->upedge, cap, sizeof(*ne))) == NULL)
			return -ENOMEM;
		ed->upedge = ne;
		if ((nr = reallocarray(ed->room, cap, sizeof(*nr))) == NULL)
			return -ENOMEM;
		ed->room = nr;
		ed->cap = cap;
	}
	memset(&ed->room[g->n], 0, sizeof(ed->room[g->n]));
	memset(&g->nodes[g->n], 0, sizeof(g->nodes[g->n]));
	g->nodes[g->n].has_checkpoint_values = -1;
	ed->up[g->n] = up;
	ed->upedge[g->n] = upedge;
	*id = (int32_t)g->n++;
	return 0;
}

/* The node at the object path made of the components of KEY from FIRST
 * up to (not including) LAST, made where missing (KEY[0..LEN) is a valid
 * key: key_shape()).  A child reached by an edge of the right name whose
 * own path comes from another edge (a second edge to a shared object)
 * cannot hold the new path: 1. */
static int
walk_or_add(struct editor *ed, const char *key, size_t len, size_t first,
	    size_t last, int32_t *out)
{
	const char *s = key, *e, *end = key + len;
	struct ckpt_buf name = { 0 };
	int32_t cur = 0;
	size_t i = 0;
	int rc = 0;

	for (;; s = e + 1, i++) {
		const struct ref *r;
		int32_t found;

		e = comp_end(s, end);
		if (i < first)
			goto next;
		if (i >= last)
			break;
		/* a path of one empty component is the root's */
		if (i == first && last == first + 1 && e == s)
			break;
		name.len = 0;
		if ((rc = ckpt_name_unescape(s, (size_t)(e - s), &name)) < 0)
			break;
		r = ref_find(ed, &ed->edges, cur, -1, name.data, name.len);
		if (r != NULL) {
			found = ed->g->nodes[cur].children[r->j].node_id;
			if (ed->up[found] != cur ||
			    ed->upedge[found] != r->j) {
				rc = 1;
				break;
			}
		} else {
			struct ckpt_objnode *nd = &ed->g->nodes[cur];
			struct ckpt_objref *c;
			uint32_t j = (uint32_t)nd->nchildren;

			if (nd->nchildren >= UINT32_MAX) {
				rc = 1;
				break;
			}
			c = room_for_one(nd->children, nd->nchildren,
					 &ed->room[cur].children, sizeof(*c));
			if (c == NULL) {
				rc = -ENOMEM;
				break;
			}
			nd->children = c;
			c = &nd->children[j];
			memset(c, 0, sizeof(*c));
			if ((rc = dup_bytes(name.data, name.len,
					    &c->local_name)) < 0)
				break;
			c->local_name_len = name.len;
			nd->nchildren++;
			if ((rc = add_node(ed, cur, j, &found)) < 0)
				break;
			/* (NODES may have moved: C is not used again) */
			ed->g->nodes[cur].children[j].node_id = found;
			if ((rc = ref_add(ed, &ed->edges, cur, j)) < 0)
				break;
		}
		cur = found;
	next:
		if (e == end)
			break;
	}
	ckpt_buf_free(&name);
	*out = cur;
	return rc;
}

/* Number the path of every node of ED's graph: the first breadth-first
 * edge reaching it, as ckpt_objgraph_paths() gives paths; and put every
 * edge in the table. */
static int
edit_index(struct editor *ed)
{
	const struct ckpt_objgraph *g = ed->g;
	size_t *queue = xcalloc(g->n, sizeof(*queue)), head = 0, tail = 0;
	bool *seen = xcalloc(g->n, sizeof(*seen));
	int rc = 0;

	ed->up = xcalloc(g->n, sizeof(*ed->up));
	ed->upedge = xcalloc(g->n, sizeof(*ed->upedge));
	ed->room = xcalloc(g->n, sizeof(*ed->room));
	if (queue == NULL || seen == NULL || ed->up == NULL ||
	    ed->upedge == NULL || ed->room == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < g->n; i++) {
		ed->up[i] = -1;
		ed->room[i].children = g->nodes[i].nchildren;
		ed->room[i].attrs = g->nodes[i].nattrs;
		ed->room[i].slots = g->nodes[i].nslots;
	}
	seen[0] = true;
	queue[tail++] = 0;
	while (head < tail) {
		size_t v = queue[head++];

		for (size_t j = 0; j < g->nodes[v].nchildren; j++) {
			int32_t c = g->nodes[v].children[j].node_id;

			if (seen[c])
				continue;
			seen[c] = true;
			ed->up[c] = (int32_t)v;
			ed->upedge[c] = (uint32_t)j;
			queue[tail++] = (size_t)c;
		}
	}
	rc = ref_fill(ed, &ed->edges);
out:
	free(queue);
	free(seen);
	return rc;
}

/* Component I of KEY[0..LEN), unescaped, in *OUT. */
static int
comp_at(const char *key, size_t len, size_t i, struct ckpt_buf *out)
{
	const char *s = key, *e, *end = key + len;

	for (;; s = e + 1) {
		e = comp_end(s, end);
		if (i-- == 0)
			return ckpt_name_unescape(s, (size_t)(e - s), out);
		if (e == end)
			return -EINVAL;
	}
}

/* Give value V an attribute: on its object's node, or on its slot
 * variable's node (made, and listed by the optimizer, if new).  1: it
 * cannot go where its key says (walk_or_add(), or the node has an
 * attribute of its name). */
static int
add_value(struct editor *ed, const struct ckpt_objvalue *x)
{
	const char *key = x->key;
	size_t len = key_len(x), j;
	struct ckpt_buf attr = { 0 }, slot = { 0 };
	struct ckpt_objnode *nd;
	struct ckpt_objattr *a;
	struct key_shape ks;
	const char *why = key_shape(key, len, &ks);
	const struct ref *sr;
	int32_t obj, opt, id = -1;
	int rc;

	if (why != NULL)
		return ckpt_fail(ed->err, -EINVAL,
				 "object graph: key \"%.*s\": %s", (int)len,
				 key, why);
	if ((rc = comp_at(key, len, ks.attr_at + 1, &attr)) < 0)
		goto out;
	if (ks.slot_at == SIZE_MAX) {
		if ((rc = walk_or_add(ed, key, len, 0, ks.attr_at, &id)) != 0)
			goto out;
	} else {
		if ((rc = walk_or_add(ed, key, len, 0, ks.slot_at,
				      &obj)) != 0 ||
		    (rc = walk_or_add(ed, key, len, ks.slot_at + 1,
				      ks.attr_at - 1, &opt)) != 0 ||
		    (rc = comp_at(key, len, ks.attr_at - 1, &slot)) < 0)
			goto out;
		sr = ref_find(ed, &ed->slots, opt, obj, slot.data, slot.len);
		if (sr != NULL)
			id = ed->g->nodes[opt].slots[sr->j].slot_variable_node_id;
		if (id < 0) {
			struct ckpt_slotref *s;

			if ((rc = add_node(ed, -1, 0, &id)) < 0)
				goto out;
			nd = &ed->g->nodes[opt];
			s = room_for_one(nd->slots, nd->nslots,
					 &ed->room[opt].slots, sizeof(*s));
			if (s == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			nd->slots = s;
			s = &nd->slots[nd->nslots];
			memset(s, 0, sizeof(*s));
			if ((rc = dup_bytes(slot.data, slot.len,
					    &s->slot_name)) < 0)
				goto out;
			s->slot_name_len = slot.len;
			s->original_variable_node_id = obj;
			s->slot_variable_node_id = id;
			nd->nslots++;
			if ((rc = ref_add(ed, &ed->slots, opt,
					  (uint32_t)(nd->nslots - 1))) < 0)
				goto out;
		}
	}
	nd = &ed->g->nodes[id];
	for (j = 0; j < nd->nattrs; j++)
		if (nd->attrs[j].name_len == attr.len &&
		    memcmp(nd->attrs[j].name, attr.data, attr.len) == 0) {
			rc = 1;
			goto out;
		}
	a = room_for_one(nd->attrs, nd->nattrs, &ed->room[id].attrs,
			 sizeof(*a));
	if (a == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	nd->attrs = a;
	a = &nd->attrs[nd->nattrs];
	memset(a, 0, sizeof(*a));
	nd->nattrs++;
	if ((rc = dup_bytes(attr.data, attr.len, &a->name)) < 0 ||
	    (rc = dup_bytes(x->full_name ? x->full_name : "",
			    full_name_len(x), &a->full_name)) < 0 ||
	    (rc = dup_bytes(key, len, &a->checkpoint_key)) < 0)
		goto out;
	a->name_len = attr.len;
	a->full_name_len = full_name_len(x);
	a->checkpoint_key_len = len;
out:
	ckpt_buf_free(&attr);
	ckpt_buf_free(&slot);
	return rc;
}

int
ckpt_objgraph_edit(struct ckpt_objgraph *g, const struct ckpt_objvalue *vals,
		   size_t n, struct ckpt_err *err)
{
	struct editor ed = { .g = g, .vals = vals, .nvals = n, .err = err };
	struct ckpt_objvalue *rest = NULL, *paired = NULL;
	bool marked = false;
	size_t i, nrest = 0;
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = value_ok(&vals[i], i, err)) < 0)
			return rc;
	if (g->n == 0)
		return 1;	/* no root to keep */
	if ((rc = check_ids(g)) < 0)
		return 1;
	ed.cap = g->n;
	ed.byk = xcalloc(n, sizeof(*ed.byk));
	ed.claimed = xcalloc(n, sizeof(*ed.claimed));
	if (ed.byk == NULL || ed.claimed == NULL ||
	    (rc = edit_index(&ed)) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		ed.byk[i] = &vals[i];
	qsort(ed.byk, n, sizeof(*ed.byk), val_cmp);
	for (i = 0; i < g->n; i++) {
		marked |= g->nodes[i].has_checkpoint_values >= 0;
		if ((rc = keep_attrs(&ed, &g->nodes[i])) < 0)
			goto out;
	}
	if ((rc = keep_saveables(&ed)) < 0)
		goto out;
	for (i = 0; i < g->n; i++)
		keep_slots(&ed, &g->nodes[i]);
	ed.slots.slots = true;
	if ((rc = ref_fill(&ed, &ed.slots)) < 0)
		goto out;
	for (i = 0; i < ed.nmoved; i++)
		if ((rc = add_value(&ed, &ed.moved[i])) != 0)
			goto out;
	/* The new values, a hash table's two as one (a copy of its
	 * object: pair_values(), as a graph built anew has them) */
	if ((rest = xcalloc(n ? n : 1, sizeof(*rest))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (!ed.claimed[i])
			rest[nrest++] = vals[i];
	if ((rc = pair_values(rest, nrest, &paired, &nrest, err)) < 0)
		goto out;
	for (i = 0; i < nrest; i++)
		if ((rc = add_value(&ed, paired ? &paired[i] : &rest[i])) != 0)
			goto out;
	if (marked)
		rc = ckpt_objgraph_mark_values(g);
out:
	if (rc == -ENOMEM)
		ckpt_fail(err, rc, "object graph: out of memory");
	free(ed.up);
	free(ed.upedge);
	free(ed.room);
	free(ed.edges.e);
	free(ed.slots.e);
	free(ed.byk);
	free(ed.bya);
	free(ed.claimed);
	for (i = 0; i < ed.nmoved; i++)
		free((char *)ed.moved[i].key);
	free(ed.moved);
	free(rest);
	free(paired);
	return rc;
}

bool
ckpt_objgraph_is_key(const void *key, size_t len)
{
	return len == sizeof(CKPT_OBJGRAPH_KEY) - 1 &&
	       memcmp(key, CKPT_OBJGRAPH_KEY, len) == 0;
}

int
ckpt_saveables_init(struct ckpt_saveables *s, const struct ckpt_entry *v,
		    size_t n, const size_t *ord, const bool *used)
{
	*s = (struct ckpt_saveables){ .v = v, .ord = ord, .n = n };
	if (ckpt_skip_init(&s->skip, n) < 0)
		return -ENOMEM;
	for (size_t p = 0; p < n; p++) {
		size_t k = ord != NULL ? ord[p] : p;

		if ((used != NULL && used[k]) || v[k].is_part ||
		    ckpt_objgraph_is_key(v[k].key, v[k].key_len))
			ckpt_skip_use(&s->skip, p);
	}
	return 0;
}

int
ckpt_saveables_claim(struct ckpt_saveables *s, const void *key, size_t klen,
		     bool take, int (*fn)(void *ctx, size_t k), void *ctx,
		     bool *found)
{
	size_t lo, hi, p;
	int rc = 0;

	ckpt_entries_prefix_range(s->v, s->ord, s->n, key, klen, &lo, &hi);
	p = ckpt_skip_next(&s->skip, lo);
	*found = p < hi;
	for (; take && p < hi && rc == 0; p = ckpt_skip_next(&s->skip, p + 1)) {
		ckpt_skip_use(&s->skip, p);
		rc = fn(ctx, s->ord != NULL ? s->ord[p] : p);
	}
	return rc;
}

void
ckpt_saveables_free(struct ckpt_saveables *s)
{
	ckpt_skip_free(&s->skip);
}
