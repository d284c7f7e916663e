/* objgraph.h -- the TF2 object graph (TrackableObjectGraph) stored in the
 * _CHECKPOINTABLE_OBJECT_GRAPH string tensor, and TensorFlow's escaping of
 * object names inside checkpoint keys.
 *
 * Node ids are indexes into nodes[]; references are range-checked at parse
 * time, but the graph may still share nodes and contain cycles, so walkers
 * must keep a visited set. */
#ifndef CKPT_OBJGRAPH_H
#define CKPT_OBJGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coding.h"
#include "err.h"

#define CKPT_OBJGRAPH_KEY "_CHECKPOINTABLE_OBJECT_GRAPH"

/* Byte strings below are owned by the graph, NUL-terminated for
 * convenience, but may contain NUL bytes: use the _len fields. */
struct ckpt_objref {
	int32_t node_id;
	char *local_name; /* unescaped edge name */
	size_t local_name_len;
};

struct ckpt_objattr {
	char *name; /* e.g. "VARIABLE_VALUE" */
	size_t name_len;
	char *full_name; /* TF1 variable name, may be empty */
	size_t full_name_len;
	char *checkpoint_key; /* the bundle key */
	size_t checkpoint_key_len;
	bool optional_restore;
};

struct ckpt_slotref {
	int32_t original_variable_node_id;
	int32_t slot_variable_node_id;
	char *slot_name; /* e.g. "m" */
	size_t slot_name_len;
};

struct ckpt_objnode {
	struct ckpt_objref *children;
	size_t nchildren;
	struct ckpt_objattr *attrs;
	size_t nattrs;
	struct ckpt_slotref *slots;
	size_t nslots;
	int has_checkpoint_values; /* -1 absent, 0 false, 1 true */
	char *saver_name;	   /* registered_saver, NULL if absent */
	size_t saver_name_len; /* 0: ckpt_objgraph_serialize() uses strlen() */
	char *saver_object_name; /* NULL or owned; "" when saver_name is set */
	size_t saver_object_name_len; /* as saver_name_len */
};

struct ckpt_objgraph {
	struct ckpt_objnode *nodes; /* owned */
	size_t n;
};

/* Parse a serialized TrackableObjectGraph (the string element, not the
 * stored tensor bytes).  Every node id must be in range (-EBADMSG
 * otherwise).  Return 0, -EBADMSG, -ENOMEM. */
int ckpt_objgraph_parse(const uint8_t *buf, size_t len,
			struct ckpt_objgraph **out, struct ckpt_err *err);

/* Called by ckpt_objgraph_walk() with node I of the N nodes; NODE is freed
 * after the call, unless FN takes what it owns (zeroing what it took).
 * A negative return stops the walk and is its result. */
typedef int (*ckpt_objnode_fn)(void *ctx, size_t i, size_t n,
			       struct ckpt_objnode *node);

/* Parse the serialized graph BUF as ckpt_objgraph_parse() does (same
 * checks, same errors), handing each node to FN in order instead of
 * keeping them: one node at a time is in memory.  Malformed bytes may be
 * found after FN has seen the nodes before them.  Return 0, -EBADMSG,
 * -ENOMEM or FN's result. */
int ckpt_objgraph_walk(const uint8_t *buf, size_t len, ckpt_objnode_fn fn,
		       void *ctx, struct ckpt_err *err);

/* Serialize G in canonical field order (as TensorFlow writes it), appending
 * to OUT.  Fields at their proto3 default (node_id 0, empty strings, false)
 * are omitted; has_checkpoint_values -1 is omitted, 0 is written as the
 * present-but-empty BoolValue `2a 00`, 1 as `2a 02 08 01`.
 * Not every TF file is canonical: saved_model_half_plus_two_tf2_cpu has
 * local_name before node_id in each ObjectReference, so parse + serialize
 * gives other (equivalent) bytes there; keep the original bytes when a graph
 * must stay unchanged.  Return 0, -EINVAL (bad node id), -ENOMEM. */
int ckpt_objgraph_serialize(const struct ckpt_objgraph *g,
			    struct ckpt_buf *out);

/* Where a serialized graph goes, front to back, without being held whole
 * (a graph of 100,000 variables is about 15 MB): BEGIN(CTX, TOTAL) once
 * with its length, then PUT(CTX, P, LEN) for each piece in order (pieces
 * of about 64 KiB, or one node if larger).  Each returns 0 or a negative
 * errno, which stops the packing and is returned. */
struct ckpt_objgraph_sink {
	int (*begin)(void *ctx, uint64_t total);
	int (*put)(void *ctx, const void *p, size_t len);
	void *ctx;
};

/* ckpt_objgraph_serialize() into SINK; returns as it does, or the sink's
 * error. */
int ckpt_objgraph_serialize_to(const struct ckpt_objgraph *g,
			       const struct ckpt_objgraph_sink *sink);

void ckpt_objgraph_free(struct ckpt_objgraph *g);

/* Object path of every node, as TensorFlow derives keys: escaped edge names
 * of the first breadth-first path from node 0, joined by '/'; "" for the
 * root; NULL for nodes unreachable by child edges (slot variables).
 * Children are visited in listed order; a node reached again keeps its
 * first path; child ids out of range (possible only in hand-built graphs)
 * are skipped.  A name holding a NUL byte cuts its descendants' paths at
 * the NUL.  *PATHS is an array of G->n owned strings (free with
 * ckpt_objgraph_paths_free()).  Return 0 or -ENOMEM. */
int ckpt_objgraph_paths(const struct ckpt_objgraph *g, char ***paths);
void ckpt_objgraph_paths_free(char **paths, size_t n);

/* The tree of those first breadth-first paths, for ckpt_objgraph_path():
 * *UP (owned, 2 * G->n entries) holds for node I its parent UP[2I] and
 * the index of the edge in the parent's children UP[2I + 1]; SIZE_MAX
 * for a node not reached.  Memory and time in proportion to the graph,
 * where every path whole takes its depth times its size.  0 or -ENOMEM. */
int ckpt_objgraph_bfs(const struct ckpt_objgraph *g, size_t **up);

/* Append node I's path (as ckpt_objgraph_paths() gives it) to OUT, from
 * UP: whole when its names take up to about MAX bytes, else its last
 * names after ".../" (never a component: escaping doubles every '.').
 * Return 0, 1 (I not reached: nothing appended) or -ENOMEM. */
int ckpt_objgraph_path(const struct ckpt_objgraph *g, const size_t *up,
		       size_t i, size_t max, struct ckpt_buf *out);

/* One value for ckpt_objgraph_build(). */
struct ckpt_objvalue {
	const char *key;       /* bundle key "<path>/.ATTRIBUTES/<attr>" */
	const char *full_name; /* TF1 name recorded as full_name */
	/* Their lengths, so that they may hold NUL bytes; 0: up to the
	 * first NUL. */
	size_t key_len, full_name_len;
};

/* Check that KEY[0..LEN) is a key ckpt_objgraph_build() takes: an object
 * attribute key "<path>/.ATTRIBUTES/<name>" (or a slot variable's
 * "<var>/.OPTIMIZER_SLOT/<optimizer>/<slot>/.ATTRIBUTES/<name>") whose
 * components escape '.' and '/' as ".." and ".S", in valid UTF-8 (full
 * names must be too: TensorFlow cannot parse a graph with other bytes in
 * its strings).  Return 0, or -EINVAL with *WHY saying what is wrong
 * (static text). */
int ckpt_objgraph_key_check(const char *key, size_t len, const char **why);

/* True if KEY (LEN bytes) is the object graph's own key. */
bool ckpt_objgraph_is_key(const void *key, size_t len);

struct ckpt_entry;

/* The tensors of legacy saveables of several (a hash table's: an
 * attribute whose checkpoint_key names no tensor, and the tensors whose
 * keys are it followed by more, "-keys" and "-values"), as by-name/ of a
 * ckptfs mount takes them: attribute after attribute, each the tensors of
 * its key that no attribute naming their own keys and none before it
 * took.  Each entry is looked at about once, however many attributes
 * share a prefix (hostile graphs). */
struct ckpt_saveables {
	const struct ckpt_entry *v;
	const size_t *ord;	/* borrowed: key order, or NULL */
	size_t n;
	struct ckpt_skip skip;	/* over positions of key order */
};

/* Over the N entries V, in the key order ORD (ORD[i] the index in V of
 * the I-th; NULL: V's own): slices, the graph's entry and the entries
 * USED (per index of V; USED may be NULL) are taken already.  Return 0
 * or -ENOMEM. */
int ckpt_saveables_init(struct ckpt_saveables *s, const struct ckpt_entry *v,
			size_t n, const size_t *ord, const bool *used);

/* The turn of an attribute of key KEY (KLEN bytes), which names no
 * tensor: *FOUND whether any of its tensors is free; if TAKE (the
 * attribute has a full name), each is taken and FN(CTX, K) called with
 * its index K in V.  Return 0 or FN's negative return. */
int ckpt_saveables_claim(struct ckpt_saveables *s, const void *key,
			 size_t klen, bool take,
			 int (*fn)(void *ctx, size_t k), void *ctx,
			 bool *found);

void ckpt_saveables_free(struct ckpt_saveables *s);

/* Append KEY[0..LEN) to OUT with each component that is not validly
 * escaped taken as a literal name and escaped ("a.b" becomes "a..b", the
 * key TensorFlow gives an object named "a.b"); .ATTRIBUTES and
 * .OPTIMIZER_SLOT are kept.  Return 0 or -ENOMEM. */
int ckpt_objgraph_key_canon(const char *key, size_t len,
			    struct ckpt_buf *out);

/* Build the graph tf.train.Checkpoint would write for values at KEYS:
 * node 0 is the root; every path component becomes a child node whose
 * local_name is the unescaped component; ".ATTRIBUTES/<name>" becomes an
 * attribute (name unescaped, full_name from the value, NULL = "",
 * checkpoint_key = the key); "/.ATTRIBUTES/<name>" is an attribute of the
 * root.  "<var>/.OPTIMIZER_SLOT/<opt path>/<slot>/.ATTRIBUTES/<name>"
 * makes <var> and <opt path> ordinary path nodes and a slot variable node
 * listed in the optimizer node's slot_variables.  Two values K-keys and
 * K-values (K = "<path>/.ATTRIBUTES/<name>": a hash table's tensors) make
 * one attribute K, whose full name theirs give (their own followed by
 * -keys and -values; else -EINVAL).
 *
 * Order, so that the result is reproducible and matches FORMAT.md 7.6:
 *  - children are sorted bytewise by unescaped local_name (shorter first
 *    on a common prefix; list indexes "10" < "2" too), except that a root
 *    child named "save_counter" comes last (tf.train.Checkpoint sorts its
 *    keyword arguments and adds save_counter at the first save);
 *  - path nodes are numbered breadth-first from the root, children in that
 *    order;
 *  - slot variable nodes come after all of them, ordered by (optimizer
 *    node id, slot name bytewise, original variable node id), which is
 *    also their order in the optimizer's slot_variables;
 *  - attributes of a node are sorted bytewise by name;
 *  - has_checkpoint_values as ckpt_objgraph_mark_values().
 * Return 0, -EINVAL (a key that is not an object attribute key, has a bad
 * escape, or repeats an attribute; the message names the key), -ENOMEM. */
int ckpt_objgraph_build(const struct ckpt_objvalue *vals, size_t n,
			struct ckpt_objgraph **out, struct ckpt_err *err);

/* The same graph, serialized (the bytes ckpt_objgraph_serialize() gives for
 * it) and appended to OUT, without building a struct ckpt_objgraph or
 * copying a string: what the writer uses, as the graph of 100,000
 * variables would take tens of MB.  Return values as above; OUT is
 * unchanged on failure. */
int ckpt_objgraph_build_bytes(const struct ckpt_objvalue *vals, size_t n,
			      struct ckpt_buf *out, struct ckpt_err *err);

/* The same into SINK: what the writer uses, which keeps no more than a
 * piece of it.  A sink's error is returned without a message in ERR. */
int ckpt_objgraph_build_to(const struct ckpt_objvalue *vals, size_t n,
			   const struct ckpt_objgraph_sink *sink,
			   struct ckpt_err *err);

/* Edit G, a source's graph, to hold the values at VALS and no others,
 * keeping everything else of it: its nodes (objects without values too),
 * their ids, edges (shared objects too) and registered savers, and the
 * attributes whose key a value still has, with their flags
 * (optional_restore) and that value's full_name (an empty one stays
 * empty while the value's is the name a mount shows for it: the key less
 * "/.ATTRIBUTES/VARIABLE_VALUE").  An attribute whose key no value has
 * but values have keys that are it followed by more (a saveable of
 * several tensors, as a hash table's -keys and -values) is kept for them
 * (their full names must be its own followed by the same: else -EINVAL;
 * so must a hash table's two, K-keys and K-values, be kept together);
 * one whose object was renamed goes where its values' keys now lead, and
 * two new values K-keys and K-values get one such attribute K.
 * Another attribute whose key no value has is dropped, and so is a slot
 * variable left with none.  A
 * value whose key G does not have gets its attribute where the key's path
 * leads: on the node of that path, made (at the end, and as the last
 * child of its parent) where missing; a slot variable's on the node the
 * optimizer lists for its variable and slot name, made and listed where
 * missing.  has_checkpoint_values is set again (ckpt_objgraph_mark_values())
 * when G had it.  Return 0; 1 when a value's attribute cannot go where
 * its key says (an edge of its path's name leads to an object whose own
 * path is another, or the node already has an attribute of its name), G
 * then half edited: build a graph anew instead; -EINVAL (a key that is
 * not an object attribute key), -ENOMEM. */
int ckpt_objgraph_edit(struct ckpt_objgraph *g,
		       const struct ckpt_objvalue *vals, size_t n,
		       struct ckpt_err *err);

/* Set has_checkpoint_values of every node as TensorFlow does: 1 if the node
 * has attributes, slot variables or a registered saver, or reaches such a
 * node through child edges; 0 otherwise.  Return 0, -EINVAL (a node id out
 * of range), -ENOMEM. */
int ckpt_objgraph_mark_values(struct ckpt_objgraph *g);

/* TensorFlow's escaping of one name in a key: '.' -> "..", '/' -> ".S".
 * Appends to OUT and leaves a NUL after the appended bytes (not counted in
 * out->len).  Return 0, -ENOMEM, -EOVERFLOW. */
int ckpt_name_escape(const void *name, size_t len, struct ckpt_buf *out);
/* The inverse, left to right ("a...Sb" is "a./b"), appending to OUT with a
 * NUL after, as ckpt_name_escape().  Return 0, -EBADMSG on any other ".x"
 * or a lone '.' at the end (OUT unchanged), -ENOMEM. */
int ckpt_name_unescape(const void *name, size_t len, struct ckpt_buf *out);

#endif
