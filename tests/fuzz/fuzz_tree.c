/* fuzz_tree.c -- libFuzzer target for building the views (src/tree.c).
 *
 * The input is a flags byte, then checkpoint keys separated by '\n' (a key
 * may hold any other byte, NUL included).  Flags: bit 0, a TF2 checkpoint
 * without an object graph (keys are object paths); bit 1, the keys sorted
 * with repeats dropped, as a real index has them (the build then finishes
 * each directory while it lists the keys); bit 2, every third entry a
 * hidden slice part; bit 3, a TF2 checkpoint with an object graph: a line
 * "KEY\tNAME" is the key KEY and a graph node whose attribute gives it the
 * full name NAME (a line without a tab, a key alone); bit 4, the graph
 * ends with a node that does not unpack; bit 5, a TF1 checkpoint's
 * /by-object left for later and built after /by-name
 * (ckptfs_tree_build_object()).  A build either fails because
 * two keys would show alike (-EEXIST) or gives a tree in which every name
 * of every directory looks up to its node, under its own location, and
 * every visible entry has exactly one node whose path in the view its keys
 * name is its key, and a name in /by-name; with a graph that does not
 * unpack, a warning and the keys as names. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "objgraph.h"
#include "table.h"
#include "tensor.h"
#include "tree.h"

#include "check_dir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Most keys one input makes. */
#define MAX_KEYS 4096

struct key {
	char *p;	/* owned, exact size plus a NUL */
	size_t len;
};

/* The graph of bit 3: node 0, then one node per named key of K[0..N)
 * (their names as parsed: NAMES[i], NLENS[i]; NULL: none); bit 4 appends
 * a node that does not unpack.  Return 0 or -ENOMEM. */
static int
make_graph(const struct key *k, char *const *names, const size_t *nlens,
	   size_t n, bool bad, struct ckpt_buf *out)
{
	struct ckpt_objnode *nodes = calloc(n + 1, sizeof(*nodes));
	struct ckpt_objattr *attrs = calloc(n ? n : 1, sizeof(*attrs));
	struct ckpt_objgraph g = { .nodes = nodes, .n = 1 };
	int rc = -ENOMEM;

	if (nodes == NULL || attrs == NULL)
		goto out;
	nodes[0].has_checkpoint_values = -1;
	for (size_t i = 0; i < n; i++) {
		struct ckpt_objattr *a = &attrs[i];

		if (names[i] == NULL)
			continue;
		a->name = (char *)"VARIABLE_VALUE";
		a->name_len = 14;
		a->full_name = names[i];
		a->full_name_len = nlens[i];
		a->checkpoint_key = k[i].p;
		a->checkpoint_key_len = k[i].len;
		nodes[g.n].attrs = a;
		nodes[g.n].nattrs = 1;
		nodes[g.n++].has_checkpoint_values = -1;
	}
	rc = ckpt_objgraph_serialize(&g, out);
	if (rc == 0 && bad)
		rc = ckpt_buf_put(out, "\x0a\x02\x0a\x05", 4);
out:
	free(nodes);
	free(attrs);
	return rc;
}

/* qsort() order of keys: the index's (ckpt_key_cmp()). */
static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	return ckpt_key_cmp(x->p, x->len, y->p, y->len);
}

/* Whether NAME (LEN bytes) is BASE (BLEN bytes), or BASE made unique
 * among names alike ("BASE_N", as TensorFlow's names are). */
static bool
uniquified(const uint8_t *name, size_t len, const char *base, size_t blen)
{
	if (len < blen || memcmp(name, base, blen) != 0)
		return false;
	if (len == blen)
		return true;
	if (len < blen + 2 || name[blen] != '_')
		return false;
	for (size_t i = blen + 1; i < len; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	return true;
}

/* Check every directory of T and every visible entry of E[0..N). */
static void
check_tree(struct ckptfs_tree *t, const struct ckpt_entry *e, size_t n,
	   int view, bool graph, bool bad)
{
	struct ckpt_buf path = { 0 };
	size_t *seen = calloc(n ? n : 1, sizeof(*seen));

	if (seen == NULL)
		return;
	for (uint64_t ino = 1; ino <= t->ninodes; ino++) {
		struct ckptfs_node *d = ckptfs_tree_node(t, ino);

		if (d == NULL || d->ino != ino)
			abort();
		if (d->kind == CKPTFS_TENSOR) {
			size_t j = (size_t)(d->entry - e);

			if (j >= n || e[j].is_part)
				abort();
			seen[j]++;
			path.len = 0;
			if (ckptfs_node_rawpath(t, d, view, &path) < 0 ||
			    path.len != e[j].key_len ||
			    (path.len > 0 &&
			     memcmp(path.data, e[j].key, path.len) != 0))
				abort();
			if (!graph)
				continue;
			/* a name in /by-name; the key's object path when the
			 * graph did not unpack */
			path.len = 0;
			if (ckptfs_node_rawpath(t, d, CKPTFS_BY_NAME, &path) <
				    0 &&
			    !(e[j].key_len == sizeof(CKPT_OBJGRAPH_KEY) - 1 &&
			      memcmp(e[j].key, CKPT_OBJGRAPH_KEY,
				     e[j].key_len) == 0))
				abort();
			if (bad && path.len > 0 &&
			    !uniquified(path.data, path.len, e[j].key,
					ckptfs_object_path_len(e[j].key,
							       e[j].key_len)))
				abort();
			continue;
		}
		if (d->kind == CKPTFS_DIR)
			check_dir(d);
	}
	for (size_t j = 0; j < n; j++)
		if (seen[j] != (e[j].is_part ? 0u : 1u))
			abort();
	if (graph && (t->warning[0] != '\0') != bad)
		abort();
	ckpt_buf_free(&path);
	free(seen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct key *keys;
	struct ckpt_entry *e;
	struct ckptfs_tree *t = NULL;
	struct ckpt_err err = { 0 };
	struct ckpt_buf graph = { 0 };
	char **names;
	size_t *nlens, n = 0, start = 1;
	uint8_t flags;
	bool with_graph;
	int rc;

	if (size == 0)
		return 0;
	flags = data[0];
	with_graph = (flags & 8) != 0;
	keys = calloc(MAX_KEYS, sizeof(*keys));
	e = calloc(MAX_KEYS, sizeof(*e));
	names = calloc(MAX_KEYS, sizeof(*names));
	nlens = calloc(MAX_KEYS, sizeof(*nlens));
	if (keys == NULL || e == NULL || names == NULL || nlens == NULL)
		goto out;
	for (size_t i = 1; i <= size && n < MAX_KEYS; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (i == size && start == size)
			break;	/* no key after a final '\n' */
		keys[n].len = i - start;
		if (with_graph) {
			const uint8_t *tab =
				memchr(data + start, '\t', keys[n].len);

			if (tab != NULL) {
				names[n] = (char *)tab + 1;
				nlens[n] = (size_t)(data + i - tab - 1);
				keys[n].len = (size_t)(tab - data) - start;
			}
		}
		if ((keys[n].p = malloc(keys[n].len + 1)) == NULL)
			goto out;
		memcpy(keys[n].p, data + start, keys[n].len);
		keys[n].p[keys[n].len] = '\0';
		n++;
		start = i + 1;
	}
	if (with_graph &&
	    make_graph(keys, names, nlens, n, flags & 16, &graph) < 0)
		goto out;
	if (flags & 2) {
		size_t m = 0;

		qsort(keys, n, sizeof(*keys), key_cmp);
		for (size_t i = 0; i < n; i++) {
			if (m > 0 && key_cmp(&keys[m - 1], &keys[i]) == 0) {
				free(keys[i].p);
				continue;
			}
			keys[m++] = keys[i];
		}
		n = m;
	}
	for (size_t i = 0; i < n; i++) {
		e[i].key = keys[i].p;
		e[i].key_len = (uint32_t)keys[i].len;
		e[i].dtype = CKPT_DT_FLOAT;
		e[i].size = 4;
		e[i].crc32c = ckpt_crc_mask(0x12345678u);
		e[i].is_part = (flags & 4) && i % 3 == 2;
	}
	{
		struct ckptfs_source src = { .entries = e, .n = n,
					     .tf2 = (flags & 1) || with_graph,
					     .prefix = "fuzz", .num_shards = 1 };

		if (with_graph) {	/* given to the build */
			src.graph = graph.data;
			src.graph_len = graph.len;
			src.graph_buf = graph.data;
			graph.data = NULL;
		}
		struct ckptfs_tree_opts o = { .lazy_object = flags & 32 };

		rc = ckptfs_tree_build_from(&src, &o, &t, &err);
		if (rc == 0 && atomic_load(&t->object_pending))
			rc = ckptfs_tree_build_object(t, &err);
	}
	if (rc == 0)
		check_tree(t, e, n,
			   (flags & 1) || with_graph ? CKPTFS_BY_OBJECT
						     : CKPTFS_BY_NAME,
			   with_graph, with_graph && (flags & 16));
	else if (rc != -EEXIST && rc != -ENOMEM)
		abort();
	ckptfs_tree_free(t);
out:
	for (size_t i = 0; keys != NULL && i < n; i++)
		free(keys[i].p);
	ckpt_buf_free(&graph);
	free(keys);
	free(e);
	free(names);
	free(nlens);
	return 0;
}
