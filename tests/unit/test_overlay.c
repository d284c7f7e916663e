/* test_overlay.c -- Covers: src/overlay.c, src/tree.c (name changes).
 * Drives the namespace operations on a tree built from a hand-made TF1
 * entry list (no bundle, no FUSE): the naming rules between the views
 * for create, rename of files and directories and remove, -EEXIST when
 * the other view's name is taken, pruning of other-view directories, and
 * the journal: a second tree replaying the spool ends up with the same
 * names, data and metadata; a spool of another checkpoint is refused.
 * A damaged tensor of a written bundle is never copied to the spool and
 * is refused by a commit once found.  A commit that refuses tensors names
 * all of them (as many as fit).  A second overlay on a spool in use is
 * busy; a journal damaged in the middle or missing a spool file is
 * refused, a last record cut short dropped.  A scope rename renames a
 * tensor's own other-view directories in place.  A tensor made under a
 * name the source held takes its dtype and shape.  All of an unchanged
 * tensor copied into a new file shares its bytes until the file changes
 * (ckptfs_ov_share()), replayed too.  A truncate that fails (ftruncate()
 * made to fail) leaves the tensor as it was.  A sync syncs the bytes
 * copied up from the source before the journal. */
#include "config.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle.h"
#include "bundle_writer.h"
#include "coding.h"
#include "convert.h"
#include "crc32c.h"
#include "overlay.h"
#include "tensor.h"
#include "tree.h"

static const int64_t dims3[] = { 3 };

/* This process's ftruncate() (the library's calls included) fails with
 * EIO at call FAIL_FTRUNCATE, counted in FTRUNCATE_CALLS, while that is
 * not 0. */
static int fail_ftruncate, ftruncate_calls;

int
ftruncate(int fd, off_t len)
{
	if (fail_ftruncate > 0 && ++ftruncate_calls == fail_ftruncate) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_ftruncate, fd, len);
}

/* This process's fdatasync() calls, counted. */
static int fdatasync_calls;

int
fdatasync(int fd)
{
	fdatasync_calls++;
	return (int)syscall(SYS_fdatasync, fd);
}

static struct ckpt_entry e[] = {
	{ .key = "a", .key_len = 1, .dtype = CKPT_DT_FLOAT, .size = 4 },
	{ .key = "dense/bias", .key_len = 10, .dtype = CKPT_DT_FLOAT,
	  .rank = 1, .dims = dims3, .size = 12 },
	{ .key = "scoped/c", .key_len = 8, .dtype = CKPT_DT_FLOAT, .size = 4 },
};

/* A fresh tree of E with an overlay spooled in SPOOL. */
static struct ckptfs_tree *
tree_with(const char *spool, int want)
{
	struct ckptfs_source src = { .entries = e, .n = 3,
				     .prefix = "/x/ckpt", .num_shards = 1 };
	struct ckptfs_tree *t;
	struct ckpt_err err = { 0 };

	src.mtime.tv_sec = 99;
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &t, &err), 0);
	CHECK_EQ_INT(ckptfs_overlay_open(t, spool, &err), want);
	return t;
}

/* The node at displayed PATH from the root (or NULL). */
static struct ckptfs_node *
at(struct ckptfs_tree *t, const char *path)
{
	return ckptfs_tree_path(t, path);
}

/* Raw path of N in VIEW, as a static string. */
static const char *
raw(struct ckptfs_tree *t, struct ckptfs_node *n, int view)
{
	static char s[256];
	struct ckpt_buf b = { 0 };

	CHECK_EQ_INT(ckptfs_node_rawpath(t, n, view, &b), 0);
	snprintf(s, sizeof(s), "%.*s", (int)b.len, (const char *)b.data);
	ckpt_buf_free(&b);
	return s;
}

/* Write a one-shard bundle at PREFIX of the float32 tensors K1 and K2
 * (lengths L1, L2), both of shape DIMS (RANK) holding the SIZE bytes V. */
static void
write_two(const char *prefix, const char *k1, size_t l1, const char *k2,
	  size_t l2, const int64_t *dims, int rank, const void *v, size_t size)
{
	struct ckpt_writer_opts o = { .producer = 1, .num_shards = 1 };
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;

	CHECK_EQ_INT(ckpt_writer_new(prefix, &o, &w, &err), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, k1, l1, CKPT_DT_FLOAT, dims, rank, v,
				     size, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add(w, k2, l2, CKPT_DT_FLOAT, dims, rank, v,
				     size, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
}

/* The paths of test NAME in DIR: its checkpoint's prefix, spool and
 * output. */
static void
paths_of(const char *dir, const char *name, char prefix[128],
	 char spool[160], char out[160])
{
	snprintf(prefix, 128, "%s/%s", dir, name);
	snprintf(spool, 160, "%s/%s-spool", dir, name);
	snprintf(out, 160, "%s/%s-out", dir, name);
}

/* The bundle at PREFIX (*B) and a tree of it with an overlay spooled in
 * SPOOL. */
static struct ckptfs_tree *
open_tree(const char *prefix, const char *spool, struct ckpt_bundle **b)
{
	struct ckpt_err err = { 0 };
	struct ckptfs_tree *t = NULL;

	CHECK_EQ_INT(ckpt_bundle_open(prefix, b, &err), 0);
	CHECK_EQ_INT(ckptfs_tree_build(*b, NULL, &t, &err), 0);
	CHECK_EQ_INT(ckptfs_overlay_open(t, spool, &err), 0);
	return t;
}

static void
test_rules_and_replay(const char *spool)
{
	struct ckptfs_tree *t = tree_with(spool, 0), *u;
	struct ckptfs_invals iv = { 0 };
	struct ckptfs_node *n, *d, *m;
	struct ckpt_buf b = { 0 };
	float four[] = { 1, 2, 3, 4 };

	CHECK(!ckptfs_overlay_changed(t));
	/* create in by-name: by-object gets <tf2_root>/<escaped>/... */
	d = at(t, "by-name/dense");
	CHECK_EQ_INT(ckptfs_ov_create(t, d, "w", 1, false, &n, &iv), 0);
	CHECK(at(t, "by-object/vars/dense.Sw/.ATTRIBUTES/VARIABLE_VALUE") ==
	      n);
	CHECK_EQ_INT(n->nlink, 2);
	CHECK(access(spool, F_OK) == 0);	/* made at the first change */
	CHECK_EQ_INT(ckptfs_ov_write(t, n, four, sizeof(four), 0), 0);
	CHECK_EQ_U64(n->size, 16);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_DTYPE, "float32",
					7), 0);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_SHAPE, "2,2", 3),
		     0);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_DTYPE, "nope", 4),
		     -EINVAL);
	/* a trailing newline or NUL is taken, anything after a NUL is not */
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_DTYPE,
					"float32\n\0", 9), 0);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_DTYPE,
					"int32\0junk", 10), -EINVAL);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_SHAPE, "4\0,5", 4),
		     -EINVAL);
	/* 2^62 + 1 float32s: the count fits, not the bytes (they wrapped
	 * to 4, and the write-out said "0 bytes") */
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_SHAPE,
					"5,922337203685477581", 20),
		     -EINVAL);
	/* nor a dtype that makes a shape too large */
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_DTYPE, "uint8", 5),
		     0);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_SHAPE,
					"4611686018427387904,1", 21),
		     0);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_DTYPE, "float32",
					7),
		     -EINVAL);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_SHAPE, "2,2", 3),
		     0);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_DTYPE, "float32",
					7),
		     0);
	CHECK_EQ_INT(n->dtype, CKPT_DT_FLOAT);
	CHECK_EQ_INT(n->rank, 2);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, "user.other", "x", 1),
		     -ENOTSUP);
	/* the name taken: same view, then the other view */
	CHECK_EQ_INT(ckptfs_ov_create(t, d, "w", 1, false, &m, &iv), -EEXIST);
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "x@", 2, false, &m, &iv),
		     -EINVAL);
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "%41", 3, false, &m,
				      &iv),
		     -EINVAL);	/* not the canonical display of "A" */
	/* rename a directory in by-name: every key follows */
	CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "dense", 5, t->by_name,
				      "net", 3, 0, &iv),
		     0);
	CHECK_EQ_STR(raw(t, n, CKPTFS_BY_OBJECT),
		     "vars/net.Sw/.ATTRIBUTES/VARIABLE_VALUE");
	CHECK(at(t, "by-object/vars/dense.Sw") == NULL);
	CHECK(at(t, "by-object/vars/net.Sbias/.ATTRIBUTES/VARIABLE_VALUE") ==
	      at(t, "by-name/net/bias"));
	CHECK(iv.n > 0);	/* old by-object names to drop */
	/* rename in by-object: canonical form sets the name... */
	m = at(t, "by-object/vars");
	CHECK_EQ_INT(ckptfs_ov_rename(t, m, "a", 1, m, "a2", 2, 0, &iv), 0);
	CHECK(at(t, "by-name/a") == NULL);
	CHECK(at(t, "by-name/a2") != NULL);
	/* ...any other path gives the path without the suffix */
	CHECK_EQ_INT(ckptfs_ov_rename(t, m, "scoped.Sc", 9, t->by_object,
				      "top", 3, 0, &iv),
		     0);
	CHECK_EQ_STR(raw(t, at(t, "by-name/top"), CKPTFS_BY_OBJECT),
		     "top/.ATTRIBUTES/VARIABLE_VALUE");
	CHECK(at(t, "by-name/scoped") == NULL);	/* pruned: made for c only */
	b.len = 0;
	CHECK_EQ_INT(ckptfs_name_from_key(t, "vars/x.Sy" CKPTFS_VARIABLE_SUFFIX,
					  9 + 27, &b),
		     0);
	CHECK_EQ_MEM(b.data, b.len, "x/y", 3);
	/* moving into a directory's own subtree, across views */
	CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "net", 3,
				      at(t, "by-name/net"), "x", 1, 0, &iv),
		     -EINVAL);
	CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "a2", 2, t->by_object,
				      "a2", 2, 0, &iv),
		     -EXDEV);
	/* a rename that would take another tensor's by-object name */
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "q", 1, false, &m, &iv),
		     0);
	CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "q", 1, t->by_name, "a2",
				      2, 1, &iv),
		     -EEXIST);	/* RENAME_NOREPLACE */
	CHECK_EQ_INT(ckptfs_ov_remove(t, t->by_name, "q", 1, false, &iv), 0);
	CHECK(at(t, "by-object/vars/q") == NULL);
	CHECK(m->deleted);
	CHECK_EQ_INT(ckptfs_ov_remove(t, t->by_name, "net", 3, true, &iv),
		     -ENOTEMPTY);
	CHECK(ckptfs_overlay_changed(t));
	ckptfs_invals_free(&iv);
	ckpt_buf_free(&b);

	/* A second mount, once the first is gone, replays it all. */
	ckptfs_overlay_close(t);
	u = tree_with(spool, 0);
	CHECK(ckptfs_overlay_changed(u));
	CHECK(ckptfs_overlay_replayed(u) >= 8);
	n = at(u, "by-name/net/w");
	CHECK(n != NULL);
	CHECK(at(u, "by-object/vars/net.Sw/.ATTRIBUTES/VARIABLE_VALUE") == n);
	CHECK_EQ_U64(n->size, 16);
	CHECK_EQ_INT(n->dtype, CKPT_DT_FLOAT);
	CHECK_EQ_INT(n->rank, 2);
	CHECK_EQ_INT((int)n->dims[1], 2);
	CHECK(at(u, "by-name/a2") != NULL && at(u, "by-name/a") == NULL);
	CHECK(at(u, "by-name/top") != NULL && at(u, "by-name/q") == NULL);
	{
		float got[4] = { 0 };
		size_t g = 0;

		CHECK_EQ_INT(ckptfs_node_pread(u, n, got, 16, 0, &g), 0);
		CHECK_EQ_U64(g, 16);
		CHECK_EQ_MEM(got, sizeof(got), four, sizeof(four));
	}
	ckptfs_overlay_close(u);
	ckptfs_tree_free(u);
	ckptfs_tree_free(t);
}

/* A by-name rename of a scope renames each tensor's own by-object
 * directory (vars/<name>/) in place: no node is made, the directory keeps
 * its inode; one that holds something else as well is left with it, and
 * the tensor gets new directories. */
static void
test_rename_in_place(const char *dir)
{
	char spool[64];
	struct ckptfs_tree *t;
	struct ckptfs_invals iv = { 0 };
	struct ckptfs_node *bias, *vd, *attrs, *keep;
	size_t before;

	snprintf(spool, sizeof(spool), "%s/sp-inplace", dir);
	t = tree_with(spool, 0);
	bias = at(t, "by-name/dense/bias");
	vd = at(t, "by-object/vars/dense.Sbias");
	attrs = at(t, "by-object/vars/dense.Sbias/.ATTRIBUTES");
	CHECK(bias != NULL && vd != NULL && attrs != NULL);
	before = t->ninodes;
	CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "dense", 5, t->by_name,
				      "net", 3, 0, &iv),
		     0);
	CHECK_EQ_U64(t->ninodes, before);
	CHECK(at(t, "by-object/vars/net.Sbias") == vd);
	CHECK(at(t, "by-object/vars/net.Sbias/.ATTRIBUTES") == attrs);
	CHECK(at(t, "by-object/vars/net.Sbias/.ATTRIBUTES/VARIABLE_VALUE") ==
	      bias);
	CHECK(at(t, "by-object/vars/dense.Sbias") == NULL);
	CHECK_EQ_STR(raw(t, bias, CKPTFS_BY_OBJECT),
		     "vars/net.Sbias/.ATTRIBUTES/VARIABLE_VALUE");
	/* and back, still without a new node */
	CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "net", 3, t->by_name,
				      "dense", 5, 0, &iv),
		     0);
	CHECK_EQ_U64(t->ninodes, before);
	CHECK(at(t, "by-object/vars/dense.Sbias") == vd);
	/* a directory made there by mkdir stays where it is */
	CHECK_EQ_INT(ckptfs_ov_create(t, vd, "keep", 4, true, &keep, &iv), 0);
	CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "dense", 5, t->by_name,
				      "net", 3, 0, &iv),
		     0);
	CHECK(at(t, "by-object/vars/dense.Sbias") == vd);
	CHECK(at(t, "by-object/vars/dense.Sbias/keep") == keep);
	CHECK(at(t, "by-object/vars/dense.Sbias/.ATTRIBUTES") == NULL);
	CHECK(at(t, "by-object/vars/net.Sbias/.ATTRIBUTES/VARIABLE_VALUE") ==
	      bias);
	CHECK(at(t, "by-object/vars/net.Sbias") != vd);
	ckptfs_invals_free(&iv);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
}

/* The index of the entry of NAME in directory D (SIZE_MAX: none). */
static size_t
ent_index(struct ckptfs_node *d, const char *name)
{
	for (size_t i = 0; i < d->dir.n; i++) {
		struct ckptfs_node *n = CKPTFS_DIR_ENTS(d)[i].node;

		if (n != NULL && strcmp(CKPTFS_ENT_LOC(d, n)->name, name) == 0)
			return i;
	}
	return SIZE_MAX;
}

/* A file saved through a temporary name renamed over a tensor (as
 * editors, rsync and sed -i save) is listed where the tensor was, in
 * both views, so that a listing under way sees the name once; and the
 * directories do not grow with every save. */
static void
test_save_keeps_place(const char *dir)
{
	char spool[64];
	struct ckptfs_tree *t;
	struct ckptfs_invals iv = { 0 };
	struct ckptfs_node *n, *vars, *ed;
	size_t a, o, len, i;

	snprintf(spool, sizeof(spool), "%s/sp-place", dir);
	t = tree_with(spool, 0);
	vars = at(t, "by-object/vars");
	CHECK(vars != NULL);
	a = ent_index(t->by_name, "a");
	o = ent_index(vars, "a");
	CHECK(a != SIZE_MAX && o != SIZE_MAX);
	for (i = 0; i < 50; i++) {
		CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "a.tmp", 5, false,
					      &n, &iv),
			     0);
		CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "a.tmp", 5,
					      t->by_name, "a", 1, 0, &iv),
			     0);
		CHECK(at(t, "by-name/a") == n);
		CHECK_EQ_U64(ent_index(t->by_name, "a"), a);
		CHECK_EQ_U64(ent_index(vars, "a"), o);
	}
	/* a, dense, scoped and one place the temporary names take */
	len = t->by_name->dir.n;
	CHECK_EQ_U64(len, 4);
	CHECK_EQ_U64(vars->dir.n, 4);
	/* With a hole before it, which the temporary name takes (one left
	 * long enough ago: four names removed since): the name saved over
	 * still goes back to its own place, not to the hole. */
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "f1", 2, false, &n, &iv),
		     0);
	for (i = 0; i < 4; i++) {
		char h[4] = { 'h', (char)('0' + i), 0, 0 };

		CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, h, 2, false, &n,
					      &iv),
			     0);
	}
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "f2", 2, false, &n, &iv),
		     0);
	a = ent_index(t->by_name, "f2");
	CHECK_EQ_INT(ckptfs_ov_remove(t, t->by_name, "f1", 2, false, &iv), 0);
	for (i = 0; i < 4; i++) {
		char h[4] = { 'h', (char)('0' + i), 0, 0 };

		CHECK_EQ_INT(ckptfs_ov_remove(t, t->by_name, h, 2, false, &iv),
			     0);
	}
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "f2.tmp", 6, false, &n,
				      &iv),
		     0);
	CHECK(ent_index(t->by_name, "f2.tmp") < a);
	CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "f2.tmp", 6, t->by_name,
				      "f2", 2, 0, &iv),
		     0);
	CHECK_EQ_U64(ent_index(t->by_name, "f2"), a);
	/* An editor's save that first renames the file to a backup: the
	 * backup does not take its place (the one hole), the new file does. */
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "e", 1, true, &ed, &iv),
		     0);
	for (i = 0; i < 3; i++) {
		char nm[4] = { 'e', (char)('0' + i), 0, 0 };

		CHECK_EQ_INT(ckptfs_ov_create(t, ed, nm, 2, false, &n, &iv),
			     0);
	}
	a = ent_index(ed, "e1");
	CHECK_EQ_INT(ckptfs_ov_rename(t, ed, "e1", 2, ed, "e1~", 3, 0, &iv),
		     0);
	CHECK(ent_index(ed, "e1~") != a);
	CHECK_EQ_INT(ckptfs_ov_create(t, ed, "e1", 2, false, &n, &iv), 0);
	CHECK_EQ_U64(ent_index(ed, "e1"), a);
	ckptfs_invals_free(&iv);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
}

/* A tensor made under a name the source gave a tensor no longer there
 * (removed, or renamed away) takes its dtype and shape, also when
 * renamed there; whatever it has of its own stays.  A replay decides the
 * same. */
static void
test_vacated_name(const char *dir)
{
	char spool[64];
	struct ckptfs_tree *t, *u;
	struct ckptfs_invals iv = { 0 };
	struct ckptfs_node *n, *d, *m;

	snprintf(spool, sizeof(spool), "%s/sp-vacated", dir);
	t = tree_with(spool, 0);
	d = at(t, "by-name/dense");
	CHECK_EQ_INT(ckptfs_ov_remove(t, d, "bias", 4, false, &iv), 0);
	CHECK_EQ_INT(ckptfs_ov_create(t, d, "bias", 4, false, &n, &iv), 0);
	CHECK_EQ_INT(n->dtype, CKPT_DT_FLOAT);
	CHECK_EQ_INT(n->rank, 1);
	CHECK_EQ_INT((int)n->dims[0], 3);
	CHECK(n->entry == NULL);
	/* renamed away, and a new file renamed into the name */
	CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "a", 1, t->by_name, "a~",
				      2, 0, &iv),
		     0);
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "tmp", 3, false, &n,
				      &iv),
		     0);
	CHECK_EQ_INT(n->dtype, -1);
	CHECK_EQ_INT(n->rank, -1);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_DTYPE, "int8", 4),
		     0);
	CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "tmp", 3, t->by_name,
				      "a", 1, 0, &iv),
		     0);
	CHECK_EQ_INT(n->dtype, CKPT_DT_INT8);	/* its own */
	CHECK_EQ_INT(n->rank, 0);		/* the scalar's */
	/* Its dtype removed, it takes nothing back where it was. */
	CHECK_EQ_INT(ckptfs_ov_removexattr(t, n, CKPTFS_XATTR_DTYPE), 0);
	CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "a", 1, t->by_name, "a2",
				      2, 0, &iv),
		     0);
	CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "a2", 2, t->by_name, "a",
				      1, 0, &iv),
		     0);
	CHECK_EQ_INT(n->dtype, -1);
	/* The shape set in the mount is what the name passes on. */
	d = at(t, "by-name/dense");
	m = at(t, "by-name/dense/bias");
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, m, CKPTFS_XATTR_SHAPE, "1,3", 3),
		     0);
	CHECK_EQ_INT(ckptfs_ov_rename(t, d, "bias", 4, d, "bias~", 5, 0,
				      &iv),
		     0);
	CHECK_EQ_INT(ckptfs_ov_create(t, d, "bias", 4, false, &n, &iv), 0);
	CHECK_EQ_INT(n->dtype, CKPT_DT_FLOAT);
	CHECK_EQ_INT(n->rank, 2);
	CHECK_EQ_INT((int)n->dims[0], 1);
	CHECK_EQ_INT((int)n->dims[1], 3);
	/* by-object, at the path the name gives */
	CHECK_EQ_INT(ckptfs_ov_remove(t, at(t, "by-object/vars/scoped.Sc/"
					      ".ATTRIBUTES"),
				      "VARIABLE_VALUE", 14, false, &iv),
		     0);
	CHECK(at(t, "by-name/scoped/c") == NULL);
	d = at(t, "by-object/vars/scoped.Sc/.ATTRIBUTES");
	CHECK(d != NULL);
	CHECK_EQ_INT(ckptfs_ov_create(t, d, "VARIABLE_VALUE", 14, false, &n,
				      &iv),
		     0);
	CHECK(at(t, "by-name/scoped/c") == n);
	CHECK_EQ_INT(n->dtype, CKPT_DT_FLOAT);
	CHECK_EQ_INT(n->rank, 0);
	/* a name the source never had */
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "b", 1, false, &n, &iv),
		     0);
	CHECK_EQ_INT(n->dtype, -1);
	ckptfs_invals_free(&iv);
	ckptfs_overlay_close(t);

	u = tree_with(spool, 0);
	n = at(u, "by-name/dense/bias");
	CHECK(n != NULL && n->entry == NULL);
	CHECK_EQ_INT(n->dtype, CKPT_DT_FLOAT);
	CHECK_EQ_INT(n->rank, 2);
	n = at(u, "by-name/dense/bias~");
	CHECK(n != NULL && n->entry == NULL);
	CHECK_EQ_INT(n->rank, 2);
	n = at(u, "by-name/a");
	CHECK(n != NULL);
	CHECK_EQ_INT(n->dtype, -1);
	CHECK_EQ_INT(n->rank, 0);
	CHECK_EQ_INT(at(u, "by-name/scoped/c")->dtype, CKPT_DT_FLOAT);
	CHECK_EQ_INT(at(u, "by-name/b")->dtype, -1);
	ckptfs_overlay_close(u);
	ckptfs_tree_free(u);
	ckptfs_tree_free(t);
}

/* A TF1 source's own key that is not UTF-8 is written back as TF1 (a
 * changed tensor beside it), but refused in a new TF2 object graph. */
static void
test_not_utf8(const char *dir)
{
	static const float v[1] = { 1 };
	char prefix[128], spool[160], out[160];
	struct ckptfs_output outs[1];
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b, *r;
	struct ckptfs_tree *t;
	bool wrote = false;

	paths_of(dir, "u8", prefix, spool, out);
	write_two(prefix, "a", 1, "b\xff", 2, NULL, 0, v, sizeof(v));
	t = open_tree(prefix, spool, &b);
	CHECK_EQ_INT(ckptfs_ov_write(t, at(t, "by-name/a"), "\0\0\0\x40", 4,
				     0),
		     0);
	outs[0] = (struct ckptfs_output){ .format = CKPT_FORMAT_TF2,
					  .prefix = out };
	CHECK_EQ_INT(ckptfs_ov_commit(t, outs, 1, 0, &wrote, &err),
		     -EINVAL);
	CHECK(!wrote);
	CHECK(strstr(err.msg, "(not valid UTF-8)") != NULL);
	/* the refusal, with its reason, one line */
	{
		const struct ckpt_buf *why = ckptfs_ov_refusals(t);

		CHECK(why != NULL && why->len > 0 &&
		      why->data[why->len - 1] == '\n');
		CHECK(memchr(why->data, '\n', why->len) ==
		      why->data + why->len - 1);
		/* (made safe to print, as the log makes it: the name's
		 * byte 0xff as \xff) */
		struct ckpt_buf safe = { 0 };

		CHECK_EQ_INT(ckpt_text_safe(err.msg, &safe), 0);
		CHECK(strstr(err.msg, "\xff") != NULL);
		CHECK(why->len == safe.len + 1 &&
		      memcmp(why->data, safe.data, safe.len) == 0);
		CHECK(memmem(why->data, why->len, "\\xff", 4) != NULL);
		ckpt_buf_free(&safe);
	}
	outs[0].format = CKPT_FORMAT_TF1;
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckptfs_ov_commit(t, outs, 1, 0, &wrote, &err), 0);
	CHECK(wrote);
	CHECK_EQ_U64(ckptfs_ov_refusals(t)->len, 0);
	CHECK_EQ_INT(ckpt_bundle_open(out, &r, &err), 0);
	CHECK(ckpt_bundle_find(r, "b\xff", 2) != NULL);
	ckpt_bundle_close(r);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	ckpt_bundle_close(b);
}

/* Two overlays (mounts) with one spool: the second is busy and changes
 * nothing, even after the first is gone; with a journal there it cannot
 * even be opened. */
static void
test_busy_spool(const char *dir)
{
	struct ckptfs_invals iv = { 0 };
	struct ckptfs_tree *t, *u, *v;
	struct ckptfs_node *n;
	struct ckpt_err err = { 0 };
	struct ckptfs_source src = { .entries = e, .n = 3,
				     .prefix = "/x/ckpt", .num_shards = 1 };
	char spool[160];

	snprintf(spool, sizeof(spool), "%s/busy-spool", dir);
	t = tree_with(spool, 0);
	CHECK(!ckptfs_overlay_busy(t));
	u = tree_with(spool, 0);
	CHECK(ckptfs_overlay_busy(u));
	n = at(u, "by-name/a");
	CHECK_EQ_INT(ckptfs_ov_truncate(u, n, 0), -EBUSY);
	CHECK_EQ_INT(ckptfs_ov_create(u, u->by_name, "z", 1, false, &n, &iv),
		     -EBUSY);
	CHECK(access(spool, F_OK) != 0);
	/* The first one changes, and so has a journal. */
	CHECK_EQ_INT(ckptfs_ov_truncate(t, at(t, "by-name/a"), 0), 0);
	src.mtime.tv_sec = 99;
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &v, &err), 0);
	CHECK_EQ_INT(ckptfs_overlay_open(v, spool, &err), -EBUSY);
	CHECK(strstr(err.msg, "busy-spool: the spool of another mount that is "
			      "still up") != NULL);
	ckptfs_tree_free(v);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	CHECK_EQ_INT(ckptfs_ov_truncate(u, at(u, "by-name/scoped/c"), 0), -EBUSY);
	ckptfs_overlay_close(u);
	ckptfs_tree_free(u);
	ckptfs_invals_free(&iv);
}

/* A truncate that fails changes nothing: not when the copy-up's own cut
 * fails, and a cut the copy-up made needs no second one (whose failure
 * was reported while the tensor stayed cut); growing, the bytes stay. */
static void
test_failed_truncate(const char *dir)
{
	static const float v[3] = { 1, 2, 3 };
	char prefix[128], spool[160], out[160], got[16];
	struct ckpt_bundle *b;
	struct ckptfs_tree *t;
	struct ckptfs_node *n;
	size_t g;

	paths_of(dir, "trunc", prefix, spool, out);
	write_two(prefix, "a", 1, "b", 1, dims3, 1, v, sizeof(v));
	t = open_tree(prefix, spool, &b);
	n = at(t, "by-name/a");
	fail_ftruncate = 1;
	ftruncate_calls = 0;
	CHECK_EQ_INT(ckptfs_ov_truncate(t, n, 4), -EIO);
	CHECK(!ckptfs_ov_spooled(n));
	CHECK_EQ_U64(n->size, 12);
	fail_ftruncate = 2;
	ftruncate_calls = 0;
	CHECK_EQ_INT(ckptfs_ov_truncate(t, n, 4), 0);
	CHECK_EQ_U64(n->size, 4);
	CHECK_EQ_INT(ckptfs_node_pread(t, n, got, sizeof(got), 0, &g), 0);
	CHECK_EQ_MEM(got, g, v, 4);
	n = at(t, "by-name/b");
	ftruncate_calls = 0;
	CHECK_EQ_INT(ckptfs_ov_truncate(t, n, 20), -EIO);
	CHECK_EQ_U64(n->size, 12);
	CHECK_EQ_INT(ckptfs_node_pread(t, n, got, sizeof(got), 0, &g), 0);
	CHECK_EQ_MEM(got, g, v, sizeof(v));
	fail_ftruncate = 0;
	CHECK_EQ_INT(ckptfs_ov_truncate(t, n, 16), 0);
	CHECK_EQ_U64(n->size, 16);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	ckpt_bundle_close(b);
}

/* A sync (fsync(2) of any file in the mount) syncs the spool files that
 * hold bytes copied up from the source before the journal naming them,
 * once; a copy-up that keeps no byte has none to sync. */
static void
test_sync_copied(const char *dir)
{
	static const float v[3] = { 1, 2, 3 };
	char prefix[128], spool[160], out[160];
	struct ckpt_bundle *b;
	struct ckptfs_tree *t;

	paths_of(dir, "sync", prefix, spool, out);
	write_two(prefix, "a", 1, "b", 1, dims3, 1, v, sizeof(v));
	t = open_tree(prefix, spool, &b);
	CHECK_EQ_INT(ckptfs_ov_truncate(t, at(t, "by-name/a"), 8), 0);
	CHECK_EQ_INT(ckptfs_ov_truncate(t, at(t, "by-name/b"), 0), 0);
	fdatasync_calls = 0;
	CHECK_EQ_INT(ckptfs_overlay_sync(t), 0);
	CHECK_EQ_INT(fdatasync_calls, 1);
	CHECK_EQ_INT(ckptfs_overlay_sync(t), 0);
	CHECK_EQ_INT(fdatasync_calls, 1);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	ckpt_bundle_close(b);
}

/* The claim's name is open to every user: one that took it first (here
 * a child as nobody, listening or not) does not make the spool busy, and
 * a second mount of it still is. */
static void
test_claim_squatted(const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ckptfs_tree *t, *u;
	struct stat st;
	char spool[160];
	int p[2], len, status;
	pid_t pid;

	if (geteuid() != 0)
		return;	/* (another user is needed) */
	snprintf(spool, sizeof(spool), "%s/squat-spool", dir);
	CHECK_EQ_INT(stat(dir, &st), 0);
	len = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
		       "ckptfs-spool/%jx/%jx/%016" PRIx64, (uintmax_t)st.st_dev,
		       (uintmax_t)st.st_ino,
		       ckpt_fnv1a64("squat-spool", strlen("squat-spool")));
	for (int listening = 0; listening < 2; listening++) {
		CHECK_EQ_INT(pipe(p), 0);
		if ((pid = fork()) == 0) {
			int fd = socket(AF_UNIX, SOCK_STREAM, 0);
			char c = 1;

			if (setgid(65534) < 0 || setuid(65534) < 0 ||
			    bind(fd, (struct sockaddr *)&sa,
				 (socklen_t)(offsetof(struct sockaddr_un,
						      sun_path) +
					     1 + (size_t)len)) < 0 ||
			    (listening && listen(fd, 1) < 0))
				c = 0;
			if (write(p[1], &c, 1) != 1 || c == 0)
				_exit(1);
			/* (gone in 30 s even if a failed check left it) */
			close(STDOUT_FILENO);
			close(STDERR_FILENO);
			alarm(30);
			pause();
			_exit(0);
		}
		{
			char c = 0;

			CHECK(pid > 0);
			CHECK_EQ_INT(read(p[0], &c, 1), 1);
			CHECK_EQ_INT(c, 1);
		}
		t = tree_with(spool, 0);
		CHECK(!ckptfs_overlay_busy(t));
		u = tree_with(spool, listening ? -EBUSY : 0);
		if (!listening) {
			CHECK(ckptfs_overlay_busy(u));
			ckptfs_overlay_close(u);
		}
		ckptfs_tree_free(u);
		CHECK_EQ_INT(ckptfs_ov_truncate(t, at(t, "by-name/a"), 0), 0);
		ckptfs_overlay_close(t);
		ckptfs_tree_free(t);
		kill(pid, SIGKILL);
		CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
		close(p[0]);
		close(p[1]);
	}
}

static void
test_foreign_spool(const char *spool)
{
	struct ckptfs_source src = { .entries = e, .n = 3,
				     .prefix = "/other/ckpt",
				     .num_shards = 1 };
	struct ckptfs_tree *t;
	struct ckpt_err err = { 0 };

	CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &t, &err), 0);
	CHECK_EQ_INT(ckptfs_overlay_open(t, spool, &err), -ESTALE);
	CHECK(strstr(err.msg, "another checkpoint") != NULL);
	CHECK(t->ov == NULL);
	ckptfs_tree_free(t);
}

/* The NBYTES stored bytes of KEY in the checkpoint at PREFIX equal WANT. */
static void
check_stored(const char *prefix, const char *key, const void *want,
	     size_t nbytes)
{
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b;
	const struct ckpt_entry *x;
	uint8_t *buf = NULL;
	size_t len = 0;

	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	x = ckpt_bundle_find(b, key, strlen(key));
	CHECK(x != NULL);
	if (x != NULL) {
		CHECK_EQ_INT(ckpt_bundle_read(b, x, &buf, &len, &err), 0);
		CHECK(len == nbytes && memcmp(buf, want, nbytes) == 0);
	}
	free(buf);
	ckpt_bundle_close(b);
}

/* A tensor whose stored bytes do not match their checksum: no change
 * copies them to the spool (where they would get a fresh checksum when
 * written), a commit refuses it once a check found it, and overwritten
 * whole it is written. */
static void
test_damaged(const char *dir)
{
	static const float v[2] = { 1, 2 }, v3[2] = { 3, 2 };
	static const int64_t d2[] = { 2 };
	char prefix[128], data[160], spool[160], out[160];
	struct ckptfs_output outs[1];
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b;
	struct ckptfs_tree *t;
	struct ckptfs_node *bad, *good;
	bool wrote = true;
	int fd;

	paths_of(dir, "dmg", prefix, spool, out);
	snprintf(data, sizeof(data), "%s.data-00000-of-00001", prefix);
	write_two(prefix, "bad", 3, "good", 4, d2, 1, v, sizeof(v));
	/* "bad" is first in the shard: damage its first byte. */
	fd = open(data, O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ_INT(pwrite(fd, "\x7f", 1, 0), 1);
	close(fd);
	t = open_tree(prefix, spool, &b);
	bad = at(t, "by-name/bad");
	good = at(t, "by-name/good");
	CHECK(bad != NULL && good != NULL);
	/* Every change that keeps its bytes is refused, unchecked before. */
	CHECK_EQ_INT(ckptfs_ov_write(t, bad, "x", 1, 0), -EIO);
	CHECK_EQ_INT(atomic_load(&bad->verified), -EBADMSG);
	CHECK(ckptfs_node_damaged(bad));
	CHECK_EQ_INT(ckptfs_ov_truncate(t, bad, 4), -EIO);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, bad, CKPTFS_XATTR_SHAPE, "1,2", 3),
		     -EIO);
	CHECK(!ckptfs_ov_spooled(bad));
	/* A good one is checked and copied. */
	CHECK_EQ_INT(ckptfs_ov_write(t, good, "\0\0\x40\x40", 4, 0), 0);
	CHECK(ckptfs_ov_spooled(good));
	CHECK_EQ_INT(atomic_load(&good->verified), 1);
	CHECK(!ckptfs_node_damaged(good));
	/* Unchanged and known damaged: the commit refuses it, by name. */
	outs[0] = (struct ckptfs_output){ .format = CKPT_FORMAT_TF1,
					  .prefix = out };
	CHECK_EQ_INT(ckptfs_ov_commit(t, outs, 1, CKPTFS_COMMIT_FORCE,
				      &wrote, &err),
		     -EBADMSG);
	CHECK(!wrote);
	CHECK(strstr(err.msg, "by-name/bad: damaged") != NULL);
	/* Overwritten whole: nothing of it is kept, so it is written. */
	CHECK_EQ_INT(ckptfs_ov_truncate(t, bad, 0), 0);
	CHECK_EQ_INT(ckptfs_ov_write(t, bad, v, sizeof(v), 0), 0);
	CHECK_EQ_INT(ckptfs_ov_commit(t, outs, 1, CKPTFS_COMMIT_FORCE,
				      &wrote, &err),
		     0);
	CHECK(wrote);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	ckpt_bundle_close(b);
	check_stored(out, "bad", v, sizeof(v));
	check_stored(out, "good", v3, sizeof(v3));
}

/* Size of spool file ID of SPOOL (-1 if there is none). */
static long long
spool_size(const char *spool, uint64_t id)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%016" PRIx64 ".spool", spool, id);
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* A new file given all of an unchanged tensor by ckptfs_ov_share() reads
 * its bytes from the source and spools nothing; only a whole copy into an
 * empty new file shares; a copy continued where the bytes are the same
 * is done; a write copies the file up into its own spool file; a replay
 * of the journal, and the commit, give the same bytes and metadata. */
static void
test_share(const char *dir)
{
	static const float v[3] = { 1, 2, 3 }, w[3] = { 1, 2, 7 };
	static const int64_t d3[] = { 3 };
	char prefix[128], spool[160], out[160], got[12];
	struct ckptfs_output outs[1];
	struct ckptfs_invals iv = { 0 };
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b;
	struct ckptfs_tree *t, *u;
	struct ckptfs_node *x, *y, *z, *q, *r;
	uint64_t count, id;
	size_t n;
	bool wrote = false;

	paths_of(dir, "shr", prefix, spool, out);
	write_two(prefix, "x", 1, "y", 1, d3, 1, v, sizeof(v));
	t = open_tree(prefix, spool, &b);
	CHECK_EQ_INT(ckptfs_tree_build_object(t, &err), 0);
	x = at(t, "by-name/x");
	y = at(t, "by-name/y");
	CHECK(x != NULL && y != NULL);
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "z", 1, false, &z, &iv),
		     0);
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "q", 1, false, &q, &iv),
		     0);
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "r", 1, false, &r, &iv),
		     0);
	/* Not all of it, or not from the start: not shared. */
	CHECK_EQ_INT(ckptfs_ov_share(t, z, x, 0, 8, &count), 0);
	CHECK_EQ_INT(ckptfs_ov_share(t, z, x, 4, 100, &count), 0);
	/* Into a file with bytes, or from a changed tensor: neither. */
	CHECK_EQ_INT(ckptfs_ov_write(t, q, "ab", 2, 0), 0);
	CHECK_EQ_INT(ckptfs_ov_share(t, q, x, 0, 100, &count), 0);
	CHECK_EQ_INT(ckptfs_ov_write(t, y, "\0\0\x80\x3f", 4, 0), 0);
	CHECK_EQ_INT(ckptfs_ov_share(t, r, y, 0, 100, &count), 0);
	CHECK(ckptfs_ov_spooled(r));
	/* Into an empty new file of its own dtype and shape, which the
	 * bytes fit, other than the tensor's: not shared (it keeps them,
	 * as after write(2)). */
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "m", 1, false, &r, &iv),
		     0);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, r, CKPTFS_XATTR_DTYPE, "int32", 5),
		     0);
	CHECK_EQ_INT(ckptfs_ov_setxattr(t, r, CKPTFS_XATTR_SHAPE, "3,1", 3),
		     0);
	CHECK_EQ_INT(ckptfs_ov_share(t, r, x, 0, 100, &count), 0);
	CHECK_EQ_INT(ckptfs_ov_remove(t, t->by_name, "m", 1, false, &iv), 0);
	/* All of it into an empty new file: shared. */
	id = z->spool_id;
	CHECK_EQ_INT(ckptfs_ov_share(t, z, x, 0, 100, &count), 1);
	CHECK_EQ_U64(count, sizeof(v));
	CHECK(!ckptfs_ov_spooled(z));
	CHECK(atomic_load(&z->shares));
	CHECK(z->entry == x->entry);
	CHECK_EQ_U64(z->size, sizeof(v));
	CHECK_EQ_INT(z->dtype, CKPT_DT_FLOAT);
	CHECK_EQ_INT(z->rank, 1);
	CHECK(z->dims != NULL && z->dims[0] == 3);
	CHECK_EQ_INT(ckptfs_node_pread(t, z, got, sizeof(got), 0, &n), 0);
	CHECK(n == sizeof(v) && memcmp(got, v, sizeof(v)) == 0);
	CHECK(spool_size(spool, id) == 0);
	/* Continued: the same bytes already. */
	CHECK_EQ_INT(ckptfs_ov_share(t, z, x, 4, 100, &count), 1);
	CHECK_EQ_U64(count, 8);
	CHECK_EQ_INT(ckptfs_ov_share(t, z, x, 12, 100, &count), 1);
	CHECK_EQ_U64(count, 0);
	/* A write copies it up into the spool file it has. */
	CHECK_EQ_INT(ckptfs_ov_write(t, z, "\0\0\xe0\x40", 4, 8), 0);
	CHECK(ckptfs_ov_spooled(z));
	CHECK(!atomic_load(&z->shares));
	CHECK_EQ_U64(z->spool_id, id);
	CHECK(spool_size(spool, id) == (long long)sizeof(w));
	CHECK_EQ_INT(ckptfs_node_pread(t, z, got, sizeof(got), 0, &n), 0);
	CHECK(n == sizeof(w) && memcmp(got, w, sizeof(w)) == 0);
	/* A second share, left as it is; its source removed after. */
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "s", 1, false, &r, &iv),
		     0);
	CHECK_EQ_INT(ckptfs_ov_share(t, r, x, 0, 100, &count), 1);
	CHECK_EQ_INT(ckptfs_ov_remove(t, t->by_name, "x", 1, false, &iv), 0);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	/* Replayed: the same. */
	CHECK_EQ_INT(ckptfs_tree_build(b, NULL, &u, &err), 0);
	CHECK_EQ_INT(ckptfs_overlay_open(u, spool, &err), 0);
	CHECK(at(u, "by-name/x") == NULL);
	z = at(u, "by-name/z");
	r = at(u, "by-name/s");
	CHECK(z != NULL && r != NULL);
	if (z != NULL && r != NULL) {
		CHECK(ckptfs_ov_spooled(z));
		CHECK_EQ_INT(ckptfs_node_pread(u, z, got, sizeof(got), 0, &n),
			     0);
		CHECK(n == sizeof(w) && memcmp(got, w, sizeof(w)) == 0);
		CHECK(atomic_load(&r->shares));
		CHECK_EQ_INT(r->dtype, CKPT_DT_FLOAT);
		CHECK_EQ_INT(ckptfs_node_pread(u, r, got, sizeof(got), 0, &n),
			     0);
		CHECK(n == sizeof(v) && memcmp(got, v, sizeof(v)) == 0);
		/* q and r have no dtype: removed for the commit */
		CHECK_EQ_INT(ckptfs_ov_remove(u, u->by_name, "q", 1, false,
					      &iv),
			     0);
		CHECK_EQ_INT(ckptfs_ov_remove(u, u->by_name, "r", 1, false,
					      &iv),
			     0);
	}
	outs[0] = (struct ckptfs_output){ .format = CKPT_FORMAT_TF1,
					  .prefix = out };
	CHECK_EQ_INT(ckptfs_ov_commit(u, outs, 1, CKPTFS_COMMIT_FORCE,
				      &wrote, &err),
		     0);
	CHECK(wrote);
	ckptfs_overlay_close(u);
	ckptfs_tree_free(u);
	ckpt_bundle_close(b);
	ckptfs_invals_free(&iv);
	check_stored(out, "z", w, sizeof(w));
	check_stored(out, "s", v, sizeof(v));
}

/* A commit that refuses tensors gives the first one's reason and names
 * the others, as many as fit, and writes nothing. */
static void
test_refuse_all(const char *dir)
{
	struct ckptfs_invals iv = { 0 };
	struct ckptfs_output outs[1];
	struct ckpt_err err = { 0 };
	struct ckptfs_tree *t;
	struct ckptfs_node *n;
	char spool[160], out[160], idx[170], name[8];
	bool wrote = true;
	const char *p;
	int i;

	snprintf(spool, sizeof(spool), "%s/ref-spool", dir);
	snprintf(out, sizeof(out), "%s/ref-out", dir);
	snprintf(idx, sizeof(idx), "%s.index", out);
	outs[0] = (struct ckptfs_output){ .format = CKPT_FORMAT_TF2,
					  .prefix = out };
	t = tree_with(spool, 0);
	/* Two: the first's reason, then the other's name. */
	n = at(t, "by-name/a");	/* no bundle: nothing of it can be kept */
	CHECK_EQ_INT(ckptfs_ov_truncate(t, n, 0), 0);
	CHECK_EQ_INT(ckptfs_ov_write(t, n, "12345678", 8, 0), 0);
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "new", 3, false, &n, &iv),
		     0);
	CHECK_EQ_INT(ckptfs_ov_write(t, n, "xy", 2, 0), 0);
	CHECK_EQ_INT(ckptfs_ov_commit(t, outs, 1, CKPTFS_COMMIT_FORCE,
				      &wrote, &err),
		     -EINVAL);
	CHECK(!wrote);
	CHECK_EQ_STR(err.msg,
		     "by-name/a: 8 bytes do not match float32 [] (4 bytes); "
		     "fix the data or set user.ckpt.shape; 1 more tensor "
		     "refused: by-name/new");
	CHECK(access(idx, F_OK) != 0);
	/* Forty more: the names that fit, then "...". */
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "n%02d", i);
		CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, name, 3, false,
					      &n, &iv),
			     0);
	}
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckptfs_ov_commit(t, outs, 1, CKPTFS_COMMIT_FORCE,
				      &wrote, &err),
		     -EINVAL);
	CHECK(!wrote);
	CHECK(strncmp(err.msg, "by-name/a: 8 bytes", 18) == 0);
	p = strstr(err.msg, "; 41 more tensors refused: by-name/new, "
			    "by-name/n00, by-name/n01, ");
	CHECK(p != NULL);
	CHECK(strstr(err.msg, "by-name/n39") == NULL);
	CHECK(strlen(p) < 200);
	CHECK_EQ_STR(err.msg + strlen(err.msg) - 5, ", ...");
	CHECK(access(idx, F_OK) != 0);
	/* Those two mended, the first one left leads. */
	CHECK_EQ_INT(ckptfs_ov_truncate(t, at(t, "by-name/a"), 4), 0);
	CHECK_EQ_INT(ckptfs_ov_remove(t, t->by_name, "new", 3, false, &iv), 0);
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckptfs_ov_commit(t, outs, 1, CKPTFS_COMMIT_FORCE,
				      &wrote, &err),
		     -EINVAL);
	CHECK(strncmp(err.msg, "by-name/n00: no dtype", 21) == 0);
	ckptfs_invals_free(&iv);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
}

/* Read the whole file at PATH into B. */
static void
slurp_file(const char *path, struct ckpt_buf *b)
{
	char buf[4096];
	ssize_t r;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	b->len = 0;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		CHECK_EQ_INT(ckpt_buf_put(b, buf, (size_t)r), 0);
	close(fd);
}

/* The unmount's write-out frees the tree's namespace once its list of
 * tensors is made (CKPTFS_COMMIT_LAST): the same bytes are written, a
 * shape a node owned among them, and what the tree keeps goes with it. */
static void
test_commit_last(const char *dir)
{
	static const float v[2] = { 1, 2 };
	static const int64_t dims[1] = { 2 };
	char prefix[128], spool[2][160], out[2][160], path[400];
	struct ckpt_buf got[2][2] = { { { 0 } } };

	paths_of(dir, "last", prefix, spool[0], out[0]);
	paths_of(dir, "last2", path, spool[1], out[1]);
	write_two(prefix, "a", 1, "s/b", 3, dims, 1, v, sizeof(v));
	for (int k = 0; k < 2; k++) {
		struct ckptfs_output outs[1] = {
			{ .format = CKPT_FORMAT_TF2, .prefix = out[k] }
		};
		struct ckptfs_invals iv = { 0 };
		struct ckpt_err err = { 0 };
		struct ckpt_bundle *b;
		struct ckptfs_tree *t = open_tree(prefix, spool[k], &b);
		struct ckptfs_node *n;
		size_t count;
		bool wrote = false;

		CHECK_EQ_INT(ckptfs_ov_create(t, at(t, "by-name/s"), "n", 1,
					      false, &n, &iv),
			     0);
		CHECK_EQ_INT(ckptfs_ov_write(t, n, "\0\0\0\x40\0\0\x40\x40",
					     8, 0),
			     0);
		CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_DTYPE,
						"float32", 7),
			     0);
		CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_SHAPE,
						"1,2", 3),
			     0);
		CHECK(n->dims_owned);
		/* a dtype other than the source's under its name: a note */
		CHECK_EQ_INT(ckptfs_ov_setxattr(t, at(t, "by-name/a"),
						CKPTFS_XATTR_DTYPE, "int32", 5),
			     0);
		CHECK_EQ_INT(ckptfs_ov_commit(t, outs, 1,
					      k ? CKPTFS_COMMIT_LAST : 0,
					      &wrote, &err),
			     0);
		CHECK(wrote);
		CHECK((ckptfs_tree_node(t, 1) == NULL) == (k == 1));
		CHECK(ckptfs_ov_notes(t, &count) != NULL);
		CHECK_EQ_U64(count, 1);
		ckptfs_invals_free(&iv);
		ckptfs_overlay_close(t);
		ckptfs_tree_free(t);
		ckpt_bundle_close(b);
		snprintf(path, sizeof(path), "%s.index", out[k]);
		slurp_file(path, &got[k][0]);
		snprintf(path, sizeof(path), "%s.data-00000-of-00001",
			 out[k]);
		slurp_file(path, &got[k][1]);
	}
	for (int f = 0; f < 2; f++) {
		CHECK(got[0][f].len > 0);
		CHECK(got[0][f].len == got[1][f].len &&
		      memcmp(got[0][f].data, got[1][f].data,
			     got[0][f].len) == 0);
		ckpt_buf_free(&got[0][f]);
		ckpt_buf_free(&got[1][f]);
	}
}

/* Write LEN bytes of DATA as the file at PATH. */
static void
put_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, data, len), (int)len);
	close(fd);
}

/* Open a fresh tree on SPOOL; return overlay_open's result (and the
 * tree, closed again, in *T unless NULL). */
static int
reopen(const char *spool, struct ckpt_err *err, size_t *replayed,
       size_t *dropped)
{
	struct ckptfs_source src = { .entries = e, .n = 3,
				     .prefix = "/x/ckpt", .num_shards = 1 };
	struct ckptfs_tree *t;
	int rc;

	src.mtime.tv_sec = 99;
	ckpt_err_clear(err);
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &t, err), 0);
	rc = ckptfs_overlay_open(t, spool, err);
	*replayed = ckptfs_overlay_replayed(t);
	*dropped = ckptfs_overlay_dropped(t);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	return rc;
}

/* A journal damaged in the middle, or naming a spool file that is gone,
 * is refused, whole and untouched; a last record cut short, or zeros
 * after the last record (a crash while appending), is dropped and said. */
static void
test_journal_damage(const char *dir)
{
	struct ckptfs_invals iv = { 0 };
	struct ckpt_buf j = { 0 }, k = { 0 };
	struct ckpt_err err = { 0 };
	struct ckptfs_tree *t;
	struct ckptfs_node *n;
	char spool[160], jpath[192], sp1[192], name[4], at[96];
	size_t off[16], nrec = 0, o = 0, replayed, dropped;
	static const uint8_t zeros[100];

	snprintf(spool, sizeof(spool), "%s/dmg-journal", dir);
	snprintf(jpath, sizeof(jpath), "%s/journal", spool);
	snprintf(sp1, sizeof(sp1), "%s/0000000000000002.spool", spool);
	t = tree_with(spool, 0);
	CHECK_EQ_INT(ckptfs_overlay_sync(t), 0);	/* no spool yet */
	/* a tensor made and removed: its spool file goes with it */
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "gone", 4, false, &n,
				      &iv),
		     0);
	CHECK_EQ_INT(ckptfs_ov_remove(t, t->by_name, "gone", 4, false, &iv),
		     0);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, name, 2, false,
					      &n, &iv),
			     0);
		CHECK_EQ_INT(ckptfs_ov_write(t, n, "abcd", 4, 0), 0);
		CHECK_EQ_INT(ckptfs_ov_setxattr(t, n, CKPTFS_XATTR_DTYPE,
						"float32", 7),
			     0);
	}
	CHECK_EQ_INT(ckptfs_overlay_sync(t), 0);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	ckptfs_invals_free(&iv);
	slurp_file(jpath, &j);
	while (o + 8 <= j.len && nrec < 16) {
		off[nrec++] = o;
		o += 8 + (size_t)(j.data[o] | j.data[o + 1] << 8 |
				  j.data[o + 2] << 16 |
				  (uint32_t)j.data[o + 3] << 24);
	}
	CHECK_EQ_U64(o, j.len);
	CHECK_EQ_U64(nrec, 9);	/* header, 2, 3 x (create, dtype) */
	CHECK_EQ_INT(reopen(spool, &err, &replayed, &dropped), 0);
	CHECK_EQ_U64(replayed, 8);
	CHECK_EQ_U64(dropped, 0);
	/* One byte of the third record changed: refused, nothing cut. */
	CHECK_EQ_INT(ckpt_buf_put(&k, j.data, j.len), 0);
	k.data[off[2] + 9] ^= 1;
	put_file(jpath, k.data, k.len);
	CHECK_EQ_INT(reopen(spool, &err, &replayed, &dropped), -EBADMSG);
	CHECK(strstr(err.msg, "journal: the change recorded at byte") != NULL);
	CHECK(strstr(err.msg, "nothing was mounted") != NULL);
	slurp_file(jpath, &k);
	CHECK_EQ_U64(k.len, j.len);
	/* So is a damaged header with records after it. */
	k.data[off[2] + 9] ^= 1;
	k.data[9] ^= 1;
	put_file(jpath, k.data, k.len);
	CHECK_EQ_INT(reopen(spool, &err, &replayed, &dropped), -EBADMSG);
	k.data[9] ^= 1;
	/* A length damaged to run past the end, whole records after it
	 * (a cut append has none): refused, not cut there; also when only
	 * the last record follows. */
	for (size_t r = 1; r <= 7; r += 6) {
		k.data[off[r] + 1] ^= 1;
		put_file(jpath, k.data, k.len);
		CHECK_EQ_INT(reopen(spool, &err, &replayed, &dropped),
			     -EBADMSG);
		snprintf(at, sizeof(at),
			 "recorded at byte %zu is damaged, and %zu bytes of "
			 "changes follow it",
			 off[r], j.len - off[r + 1]);
		CHECK(strstr(err.msg, at) != NULL);
		CHECK(strstr(err.msg, "nothing was mounted") != NULL);
		slurp_file(jpath, &k);
		CHECK_EQ_U64(k.len, j.len);
		k.data[off[r] + 1] ^= 1;
	}
	/* The last record cut short: dropped, the rest replayed. */
	put_file(jpath, j.data, j.len - 3);
	CHECK_EQ_INT(reopen(spool, &err, &replayed, &dropped), 0);
	CHECK_EQ_U64(replayed, 7);
	CHECK_EQ_U64(dropped, j.len - 3 - off[8]);
	slurp_file(jpath, &k);
	CHECK_EQ_U64(k.len, off[8]);
	/* Zeros after the last record (the size grew, the data did not
	 * reach the disk). */
	k.len = 0;
	CHECK_EQ_INT(ckpt_buf_put(&k, j.data, j.len), 0);
	CHECK_EQ_INT(ckpt_buf_put(&k, zeros, sizeof(zeros)), 0);
	put_file(jpath, k.data, k.len);
	CHECK_EQ_INT(reopen(spool, &err, &replayed, &dropped), 0);
	CHECK_EQ_U64(replayed, 8);
	CHECK_EQ_U64(dropped, sizeof(zeros));
	/* A live tensor's spool file gone: refused, naming both. */
	CHECK_EQ_INT(unlink(sp1), 0);
	CHECK_EQ_INT(reopen(spool, &err, &replayed, &dropped), -ENOENT);
	CHECK(strstr(err.msg, "0000000000000002.spool: missing, so the "
			      "changes to by-name/w0 cannot be replayed") !=
	      NULL);
	ckpt_buf_free(&j);
	ckpt_buf_free(&k);
}

/* Append to J a journal record OP on PATH with number NUM, framed as
 * the overlay frames its own. */
static void
add_record(struct ckpt_buf *j, char op, const char *path, uint64_t num)
{
	struct ckpt_buf body = { 0 };

	CHECK_EQ_INT(ckpt_buf_put(&body, &op, 1), 0);
	CHECK_EQ_INT(ckpt_buf_put_varint(&body, strlen(path)), 0);
	CHECK_EQ_INT(ckpt_buf_put(&body, path, strlen(path)), 0);
	CHECK_EQ_INT(ckpt_buf_put_varint(&body, num), 0);
	CHECK_EQ_INT(ckpt_buf_put_fixed32(j, (uint32_t)body.len), 0);
	CHECK_EQ_INT(ckpt_buf_put_fixed32(
			     j, ckpt_crc_mask(ckpt_crc32c(body.data, body.len))),
		     0);
	CHECK_EQ_INT(ckpt_buf_put(j, body.data, body.len), 0);
	ckpt_buf_free(&body);
}

/* Records the overlay never writes are refused, not applied: spool id 0
 * (the mark of "not spooled"), a copy-up of a directory, paths through
 * "." or "..".  And the ids of spool files gone are never given again:
 * a later record removes what they named, with the file of that id. */
static void
test_journal_records(const char *dir)
{
	struct ckptfs_invals iv = { 0 };
	struct ckpt_buf j = { 0 }, k = { 0 };
	struct ckpt_err err = { 0 };
	struct ckptfs_tree *t;
	struct ckptfs_node *n;
	char spool[160], jpath[192], sp[192];
	size_t replayed, dropped;
	static const struct {
		char op;
		const char *path;
		uint64_t num;
		int rc;
	} bad[] = {
		{ 'C', "by-name/q", 0, -EBADMSG },
		{ 'P', "by-name/dd", 7, -EBADMSG },
		{ 'P', "by-name/dd/.", 7, -ENOENT },
		{ 'C', "by-name/./q", 8, -EINVAL },
		{ 'C', "by-name/dd/../q", 8, -EINVAL },
	};

	snprintf(spool, sizeof(spool), "%s/rec-journal", dir);
	snprintf(jpath, sizeof(jpath), "%s/journal", spool);
	t = tree_with(spool, 0);
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "x", 1, false, &n, &iv),
		     0);
	CHECK_EQ_INT(ckptfs_ov_remove(t, t->by_name, "x", 1, false, &iv), 0);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	slurp_file(jpath, &j);
	add_record(&j, 'M', "by-name/dd", 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(sp, sizeof(sp), "%s/%016jx.spool", spool,
			 (uintmax_t)bad[i].num);
		put_file(sp, "abcd", 4);
		k.len = 0;
		CHECK_EQ_INT(ckpt_buf_put(&k, j.data, j.len), 0);
		add_record(&k, bad[i].op, bad[i].path, bad[i].num);
		put_file(jpath, k.data, k.len);
		CHECK_EQ_INT(reopen(spool, &err, &replayed, &dropped),
			     bad[i].rc);
		CHECK(strstr(err.msg, "cannot replay") != NULL);
		CHECK_EQ_INT(unlink(sp), 0);
	}
	/* x had spool id 1, its file is gone: y must not get 1. */
	put_file(jpath, j.data, j.len);
	t = tree_with(spool, 0);
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "y", 1, false, &n, &iv),
		     0);
	CHECK_EQ_U64(n->spool_id, 2);
	CHECK_EQ_INT(ckptfs_ov_write(t, n, "abcd", 4, 0), 0);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	t = tree_with(spool, 0);
	CHECK((n = at(t, "by-name/y")) != NULL);
	CHECK_EQ_U64(n->size, 4);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	ckptfs_invals_free(&iv);
	ckpt_buf_free(&j);
	ckpt_buf_free(&k);
}

/* A change whose journal record a full disk cut short is taken back
 * whole, also after a replay that dropped a crash's torn last record
 * (the journal's end is then where the replay cut it). */
static void
test_journal_taken_back(const char *dir)
{
	struct ckptfs_invals iv = { 0 };
	struct ckpt_buf j = { 0 };
	struct ckpt_err err = { 0 };
	struct ckptfs_tree *t;
	struct ckptfs_node *n;
	struct rlimit rl, small;
	char spool[160], jpath[192];
	size_t replayed, dropped;

	snprintf(spool, sizeof(spool), "%s/cut-journal", dir);
	snprintf(jpath, sizeof(jpath), "%s/journal", spool);
	t = tree_with(spool, 0);
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "x", 1, false, &n, &iv),
		     0);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	slurp_file(jpath, &j);
	/* a crash cut an append: 10 bytes of a 48-byte record */
	CHECK_EQ_INT(ckpt_buf_put(&j, "\x30\0\0\0\x11\x22\x33\x44\x55\x66",
				  10),
		     0);
	put_file(jpath, j.data, j.len);
	t = tree_with(spool, 0);
	CHECK_EQ_U64(ckptfs_overlay_dropped(t), 10);
	/* x's spool file is reopened by the replay: the journal's size was
	 * taken then, before the cut */
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "y", 1, false, &n, &iv),
		     0);
	signal(SIGXFSZ, SIG_IGN);
	CHECK_EQ_INT(getrlimit(RLIMIT_FSIZE, &rl), 0);
	slurp_file(jpath, &j);
	small = rl;
	small.rlim_cur = (rlim_t)j.len + 12;
	CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &small), 0);
	CHECK(ckptfs_ov_create(t, t->by_name, "zzzzzzzz", 8, false, &n,
			       &iv) < 0);
	CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &rl), 0);
	signal(SIGXFSZ, SIG_DFL);
	CHECK(at(t, "by-name/zzzzzzzz") == NULL);
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "w", 1, false, &n, &iv),
		     0);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	CHECK_EQ_INT(reopen(spool, &err, &replayed, &dropped), 0);
	CHECK_EQ_U64(replayed, 3);	/* x, y, w */
	CHECK_EQ_U64(dropped, 0);
	ckptfs_invals_free(&iv);
	ckpt_buf_free(&j);
}

/* Set the limit of file sizes so that SPOOL's journal cannot grow: the
 * next record fails (SIGXFSZ ignored), as on a full disk.  RL gets the
 * limit to put back. */
static void
journal_full(const char *spool, struct rlimit *rl)
{
	struct rlimit small;
	struct stat st;
	char jpath[192];

	snprintf(jpath, sizeof(jpath), "%s/journal", spool);
	CHECK_EQ_INT(stat(jpath, &st), 0);
	signal(SIGXFSZ, SIG_IGN);
	CHECK_EQ_INT(getrlimit(RLIMIT_FSIZE, rl), 0);
	small = *rl;
	small.rlim_cur = (rlim_t)st.st_size;
	CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &small), 0);
}

static void
journal_room(const struct rlimit *rl)
{
	CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, rl), 0);
	signal(SIGXFSZ, SIG_DFL);
}

/* A create whose journal record cannot be written changes nothing else
 * in the tree: a scope in the way of its name keeps its own (a TF1
 * source, a variable made in by-object), a tensor whose key it would take
 * keeps it (a TF2 source, an editor's save after renaming the file to a
 * backup).  Made again once there is room, it does both, and a replay
 * agrees. */
static void
test_create_taken_back(const char *dir)
{
	char prefix[128], spool[160], out[160];
	struct ckptfs_invals iv = { 0 };
	struct ckpt_convert_opts o = { .format = CKPT_FORMAT_TF2 };
	struct ckpt_out_tensor in = { 0 };
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b;
	struct ckptfs_tree *t;
	struct ckptfs_node *n, *d, *m;
	struct rlimit rl;
	float one = 1;
	int fd;

	paths_of(dir, "tb1", prefix, spool, out);
	t = tree_with(spool, 0);
	CHECK_EQ_INT(ckptfs_ov_create(t, at(t, "by-object/vars"), "dense", 5,
				      true, &m, &iv),
		     0);
	CHECK_EQ_INT(ckptfs_ov_create(t, m, ".ATTRIBUTES", 11, true, &d, &iv),
		     0);
	journal_full(spool, &rl);
	CHECK(ckptfs_ov_create(t, d, "VARIABLE_VALUE", 14, false, &n, &iv) <
	      0);
	journal_room(&rl);
	CHECK(at(t, "by-name/dense@") == NULL);
	CHECK(at(t, "by-name/dense/bias") != NULL);
	CHECK_EQ_INT(ckptfs_ov_create(t, d, "VARIABLE_VALUE", 14, false, &n,
				      &iv),
		     0);
	CHECK(at(t, "by-name/dense") == n);
	CHECK(at(t, "by-name/dense@/bias") != NULL);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	t = tree_with(spool, 0);
	CHECK(at(t, "by-name/dense") != NULL &&
	      at(t, "by-name/dense")->kind == CKPTFS_TENSOR);
	CHECK(at(t, "by-name/dense@/bias") != NULL);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);

	/* a TF2 checkpoint of one variable, a */
	paths_of(dir, "tb2", prefix, spool, out);
	snprintf(out, sizeof(out), "%s/tb2-a", dir);
	put_file(out, &one, sizeof(one));
	CHECK((fd = open(out, O_RDONLY)) >= 0);
	in = (struct ckpt_out_tensor){
		.name = "a", .name_len = 1,
		.key = "vars/a/.ATTRIBUTES/VARIABLE_VALUE", .key_len = 33,
		.dtype = CKPT_DT_FLOAT, .fd = fd, .size = 4, .dirfd = -1 };
	CHECK_EQ_INT(ckpt_convert_write(&in, 1, prefix, &o, &err), 0);
	close(fd);
	t = open_tree(prefix, spool, &b);
	CHECK_EQ_INT(ckptfs_ov_rename(t, t->by_name, "a", 1, t->by_name, "a~",
				      2, 0, &iv),
		     0);
	m = at(t, "by-name/a~");
	CHECK(m != NULL);
	CHECK(strcmp(raw(t, m, CKPTFS_BY_OBJECT),
		     "vars/a/.ATTRIBUTES/VARIABLE_VALUE") == 0);
	journal_full(spool, &rl);
	CHECK(ckptfs_ov_create(t, t->by_name, "a", 1, false, &n, &iv) < 0);
	journal_room(&rl);
	CHECK(strcmp(raw(t, m, CKPTFS_BY_OBJECT),
		     "vars/a/.ATTRIBUTES/VARIABLE_VALUE") == 0);
	CHECK(at(t, "by-name/a") == NULL);
	CHECK_EQ_INT(ckptfs_ov_create(t, t->by_name, "a", 1, false, &n, &iv),
		     0);
	CHECK(strcmp(raw(t, n, CKPTFS_BY_OBJECT),
		     "vars/a/.ATTRIBUTES/VARIABLE_VALUE") == 0);
	CHECK(strcmp(raw(t, m, CKPTFS_BY_OBJECT),
		     "vars/a/.ATTRIBUTES/VARIABLE_VALUE") != 0);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	ckpt_bundle_close(b);
	t = open_tree(prefix, spool, &b);
	CHECK(strcmp(raw(t, at(t, "by-name/a"), CKPTFS_BY_OBJECT),
		     "vars/a/.ATTRIBUTES/VARIABLE_VALUE") == 0);
	CHECK(at(t, "by-name/a~") != NULL);
	ckptfs_overlay_close(t);
	ckptfs_tree_free(t);
	ckpt_bundle_close(b);
	ckptfs_invals_free(&iv);
}

int
main(void)
{
	char dir[] = "/tmp/test_overlay.XXXXXX", spool[64], cmd[128];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(spool, sizeof(spool), "%s/sp", dir);
	test_rules_and_replay(spool);
	test_foreign_spool(spool);
	test_rename_in_place(dir);
	test_save_keeps_place(dir);
	test_vacated_name(dir);
	test_not_utf8(dir);
	test_damaged(dir);
	test_share(dir);
	test_refuse_all(dir);
	test_busy_spool(dir);
	test_failed_truncate(dir);
	test_sync_copied(dir);
	test_claim_squatted(dir);
	test_journal_damage(dir);
	test_journal_records(dir);
	test_journal_taken_back(dir);
	test_create_taken_back(dir);
	test_commit_last(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_EQ_INT(system(cmd), 0);
	return check_done("test_overlay");
}
