/* fuzz_tree.c -- libFuzzer target for building the views (src/tree.c).
 *
 * The input is a flags byte, then checkpoint keys separated by '\n' (a key
 * may hold any other byte, NUL included).  Flags: bit 0, a TF2 checkpoint
 * without an object graph (keys are object paths); bit 1, the keys sorted
 * with repeats dropped, as a real index has them (the build then finishes
 * each directory while it lists the keys); bit 2, every third entry a
 * hidden slice part.  A build either fails because two keys would show
 * alike (-EEXIST) or gives a tree in which every name of every directory
 * looks up to its node, under its own location, and every visible entry
 * has exactly one node whose path in the view its keys name is its key. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "table.h"
#include "tensor.h"
#include "tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Most keys one input makes. */
#define MAX_KEYS 4096

struct key {
	char *p;	/* owned, exact size plus a NUL */
	size_t len;
};

/* qsort() order of keys: the index's (ckpt_key_cmp()). */
static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	return ckpt_key_cmp(x->p, x->len, y->p, y->len);
}

/* Check every directory of T and every visible entry of E[0..N). */
static void
check_tree(struct ckptfs_tree *t, const struct ckpt_entry *e, size_t n,
	   int view)
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
			continue;
		}
		if (d->kind != CKPTFS_DIR)
			continue;
		for (size_t k = 0; k < d->dir.n; k++) {
			struct ckptfs_node *c = CKPTFS_DIR_ENTS(d)[k].node;
			const struct ckptfs_loc *l;

			if (c == NULL)
				continue;
			l = CKPTFS_ENT_LOC(d, c);
			if (l->dir != d || l->len == 0 ||
			    l->len > CKPTFS_NAME_MAX ||
			    ckptfs_dir_lookup(d, l->name, l->len) != c)
				abort();
		}
	}
	for (size_t j = 0; j < n; j++)
		if (seen[j] != (e[j].is_part ? 0u : 1u))
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
	size_t n = 0, start = 1;
	uint8_t flags;
	int rc;

	if (size == 0)
		return 0;
	flags = data[0];
	keys = calloc(MAX_KEYS, sizeof(*keys));
	e = calloc(MAX_KEYS, sizeof(*e));
	if (keys == NULL || e == NULL)
		goto out;
	for (size_t i = 1; i <= size && n < MAX_KEYS; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (i == size && start == size)
			break;	/* no key after a final '\n' */
		keys[n].len = i - start;
		if ((keys[n].p = malloc(keys[n].len + 1)) == NULL)
			goto out;
		memcpy(keys[n].p, data + start, keys[n].len);
		keys[n].p[keys[n].len] = '\0';
		n++;
		start = i + 1;
	}
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
					     .tf2 = flags & 1,
					     .prefix = "fuzz", .num_shards = 1 };

		rc = ckptfs_tree_build_from(&src, NULL, &t, &err);
	}
	if (rc == 0)
		check_tree(t, e, n,
			   (flags & 1) ? CKPTFS_BY_OBJECT : CKPTFS_BY_NAME);
	else if (rc != -EEXIST && rc != -ENOMEM)
		abort();
	ckptfs_tree_free(t);
out:
	for (size_t i = 0; keys != NULL && i < n; i++)
		free(keys[i].p);
	free(keys);
	free(e);
	return 0;
}
