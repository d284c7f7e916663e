/* test_tree.c -- Covers: src/tree.c.
 * Builds both views from hand-made entry lists and object graphs (no
 * bundle, no FUSE) and checks the naming rules: escaping round trips, the
 * '@' suffix, shortened long names, TensorFlow-style uniquifying, one
 * inode per tensor shared by both views, xattrs and stat data. */
#include "config.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

#include "bundle_writer.h"
#include "coding.h"
#include "crc32c.h"
#include "objgraph.h"
#include "tensor.h"
#include "tree.h"

static const int64_t dims23[] = { 2, 3 };

/* A float32 entry KEY of shape DIMS/RANK. */
static struct ckpt_entry
mk(const char *key, size_t klen, const int64_t *dims, int rank)
{
	struct ckpt_entry e = { 0 };

	e.key = key;
	e.key_len = klen;
	e.dtype = CKPT_DT_FLOAT;
	e.rank = rank;
	e.dims = dims;
	e.size = 4;
	if (rank == 2)
		e.size = 24;
	e.crc32c = ckpt_crc_mask(0x12345678u);
	return e;
}

#define MK(s) mk(s, sizeof(s) - 1, NULL, 0)

/* Escape RAW and compare with WANT, then unescape back. */
static void
check_escape(const char *raw, size_t len, bool dir, const char *want)
{
	struct ckpt_buf b = { 0 }, r = { 0 };
	bool d;

	CHECK_EQ_INT(ckptfs_name_escape(raw, len, dir, &b), 0);
	CHECK_EQ_MEM(b.data, b.len, want, strlen(want));
	CHECK_EQ_INT(ckptfs_name_unescape((const char *)b.data, b.len, &r, &d),
		     0);
	CHECK_EQ_INT(r.len, len);
	if (len > 0)	/* r.data is NULL for the empty component */
		CHECK_EQ_MEM(r.data, r.len, raw, len);
	CHECK_EQ_INT(d, dir);
	ckpt_buf_free(&b);
	ckpt_buf_free(&r);
}

static void
test_escape(void)
{
	char longname[300], want[240];
	struct ckpt_buf b = { 0 }, r = { 0 };
	bool d;

	CHECK_EQ_U64(ckpt_fnv1a64("", 0), 0xcbf29ce484222325ull);
	CHECK_EQ_U64(ckpt_fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
	check_escape("kernel", 6, false, "kernel");
	check_escape("kernel", 6, true, "kernel@");
	check_escape("", 0, false, "%");
	check_escape("", 0, true, "%@");
	check_escape(".", 1, false, "%2E");
	check_escape("..", 2, false, "%2E%2E");
	check_escape("..", 2, true, "%2E%2E@");
	check_escape("...", 3, false, "...");
	check_escape(".x", 2, false, ".x");
	check_escape("pct%sign", 8, false, "pct%25sign");
	check_escape("at@sign", 7, false, "at%40sign");
	check_escape("with space", 10, false, "with space");
	check_escape("a\x01z\x7f", 4, false, "a%01z%7F");
	check_escape("n\0l", 3, false, "n%00l");
	check_escape("h\xc3\xa9llo", 6, false, "h\xc3\xa9llo");
	check_escape("%2E", 3, false, "%252E");

	/* 300 bytes: 200 kept, "%#", the hash of the raw component. */
	memset(longname, 'L', sizeof(longname));
	memset(want, 'L', 200);
	snprintf(want + 200, sizeof(want) - 200, "%%#%016llx",
		 (unsigned long long)ckpt_fnv1a64(longname, 300));
	CHECK_EQ_INT(ckptfs_name_escape(longname, 300, false, &b), 0);
	CHECK_EQ_MEM(b.data, b.len, want, 218);
	CHECK_EQ_INT(ckptfs_name_unescape((const char *)b.data, b.len, &r, &d),
		     -ENAMETOOLONG);
	b.len = 0;
	CHECK_EQ_INT(ckptfs_name_escape(longname, 300, true, &b), 0);
	CHECK_EQ_INT(b.len, 219);
	CHECK_EQ_INT(b.data[218], '@');
	/* 255 bytes fit exactly; 254 + '@' too; 255 + '@' does not. */
	b.len = 0;
	CHECK_EQ_INT(ckptfs_name_escape(longname, 255, false, &b), 0);
	CHECK_EQ_INT(b.len, 255);
	b.len = 0;
	CHECK_EQ_INT(ckptfs_name_escape(longname, 254, true, &b), 0);
	CHECK_EQ_INT(b.len, 255);
	b.len = 0;
	CHECK_EQ_INT(ckptfs_name_escape(longname, 255, true, &b), 0);
	CHECK_EQ_INT(b.len, 219);
	/* 100 '%' escape to 300 bytes: shortened too. */
	memset(longname, '%', 100);
	b.len = 0;
	CHECK_EQ_INT(ckptfs_name_escape(longname, 100, false, &b), 0);
	CHECK_EQ_INT(b.len, 218);

	/* Not displayed names. */
	r.len = 0;
	CHECK_EQ_INT(ckptfs_name_unescape(".", 1, &r, &d), -EINVAL);
	CHECK_EQ_INT(ckptfs_name_unescape("%zz", 3, &r, &d), -EINVAL);
	CHECK_EQ_INT(ckptfs_name_unescape("a%4", 3, &r, &d), -EINVAL);
	CHECK_EQ_INT(ckptfs_name_unescape("a@b", 3, &r, &d), -EINVAL);
	CHECK_EQ_INT(ckptfs_name_unescape("", 0, &r, &d), -EINVAL);
	CHECK_EQ_INT(ckptfs_name_unescape("%2e", 3, &r, &d), -EINVAL);
	ckpt_buf_free(&b);
	ckpt_buf_free(&r);
}

/* Names in DIR joined by ' ' in readdir order. */
static const char *
listing(const struct ckptfs_tree *t, const char *dir)
{
	static char out[4096];
	const struct ckptfs_node *d = ckptfs_tree_path(t, dir);
	size_t i, pos = 0;

	CHECK(d != NULL && d->kind == CKPTFS_DIR);
	out[0] = '\0';
	for (i = 0; i < d->dir.n; i++)
		if (CKPTFS_DIR_ENTS(d)[i].node != NULL)
			pos += (size_t)snprintf(
				out + pos, sizeof(out) - pos, "%s%s",
				pos ? " " : "",
				CKPTFS_ENT_LOC(d, CKPTFS_DIR_ENTS(d)[i].node)->name);
	return out;
}

/* The node at PATH, which must exist. */
static struct ckptfs_node *
at(const struct ckptfs_tree *t, const char *path)
{
	struct ckptfs_node *n = ckptfs_tree_path(t, path);

	if (n == NULL)
		fprintf(stderr, "missing: %s\n", path);
	CHECK(n != NULL);
	return n;
}

static void
test_tf1(void)
{
	struct ckpt_entry e[] = {
		MK("a"),
		MK("b"),
		mk("dense/bias", 10, dims23 + 1, 1),
		mk("dense/kernel", 12, dims23, 2),
		mk("dense/kernel/Adam", 17, dims23, 2),
		mk("dense/kernel/Adam_1", 19, dims23, 2),
		MK("global_step"),
		MK("scoped/c"),
		MK("w"),
		MK("w-part"),
	};
	struct ckptfs_source src = { .entries = e, .n = ARRAY_SIZE(e),
				     .prefix = "/x/model \"q\"",
				     .num_shards = 1 };
	struct ckptfs_tree_opts o = { .uid = 7, .gid = 8 };
	struct ckptfs_tree *t;
	struct ckptfs_node *n, *k;
	struct ckpt_buf b = { 0 };
	struct ckpt_err err = { 0 };
	struct stat st;
	size_t i;

	e[9].is_part = true;
	src.mtime.tv_sec = 1234;
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, &o, &t, &err), 0);
	CHECK_EQ_INT(t->root->ino, 1);
	CHECK(ckptfs_tree_node(t, 1) == t->root);
	CHECK(ckptfs_tree_node(t, 0) == NULL);
	CHECK(ckptfs_tree_node(t, t->ninodes + 1) == NULL);
	for (i = 1; i <= t->ninodes; i++)
		CHECK_EQ_U64(ckptfs_tree_node(t, i)->ino, i);
	CHECK_EQ_STR(listing(t, ""), "by-name by-object info.json");
	CHECK_EQ_STR(listing(t, "by-name"), "a b dense global_step scoped w");
	CHECK_EQ_STR(listing(t, "by-name/dense"), "bias kernel kernel@");
	CHECK_EQ_STR(listing(t, "by-name/dense/kernel@"), "Adam Adam_1");
	CHECK_EQ_STR(listing(t, "by-object"), "vars");
	CHECK_EQ_STR(listing(t, "by-object/vars"),
		     "a b dense.Sbias dense.Skernel dense.Skernel.SAdam "
		     "dense.Skernel.SAdam_1 global_step scoped.Sc w");
	CHECK_EQ_STR(listing(t, "by-object/vars/a"), ".ATTRIBUTES");
	CHECK_EQ_STR(listing(t, "by-object/vars/a/.ATTRIBUTES"),
		     "VARIABLE_VALUE");
	CHECK_EQ_INT(t->ntensors, 9);
	/* Directories of one name keep it in the node, built ones too. */
	CHECK(!at(t, "by-object/vars/a")->big);
	CHECK(!at(t, "by-object/vars/a/.ATTRIBUTES")->big);
	CHECK(!at(t, "by-object")->big);
	CHECK(!at(t, "by-name/scoped")->big);
	CHECK(at(t, "by-name/dense")->big);
	CHECK(at(t, "by-object/vars")->big);

	/* One inode, two names. */
	n = at(t, "by-name/dense/kernel@/Adam");
	CHECK(n == at(t, "by-object/vars/dense.Skernel.SAdam/.ATTRIBUTES/"
			 "VARIABLE_VALUE"));
	CHECK(n->entry == &e[4]);
	CHECK_EQ_INT(n->nlink, 2);
	k = at(t, "by-name/dense/kernel");
	CHECK(k->kind == CKPTFS_TENSOR && k->entry == &e[3]);
	CHECK(at(t, "by-name/dense/kernel@")->kind == CKPTFS_DIR);
	CHECK(ckptfs_tree_path(t, "by-name/w-part") == NULL);
	CHECK(ckptfs_dir_lookup(t->by_name, "..", 2) == t->root);
	CHECK(ckptfs_dir_lookup(t->root, "..", 2) == t->root);
	CHECK(ckptfs_dir_lookup(t->by_name, ".", 1) == t->by_name);
	CHECK(ckptfs_dir_lookup(k, "x", 1) == NULL);

	/* stat */
	ckptfs_node_stat(t, k, &st);
	CHECK_EQ_INT(st.st_mode, S_IFREG | 0444);
	CHECK_EQ_INT(st.st_size, 24);
	CHECK_EQ_INT(st.st_nlink, 2);
	CHECK_EQ_INT(st.st_uid, 7);
	CHECK_EQ_INT(st.st_gid, 8);
	CHECK_EQ_INT(st.st_mtim.tv_sec, 1234);
	CHECK_EQ_U64(st.st_ino, k->ino);
	ckptfs_node_stat(t, at(t, "by-name/dense"), &st);
	CHECK_EQ_INT(st.st_mode, S_IFDIR | 0555);
	CHECK_EQ_INT(st.st_nlink, 3);	/* ".", its name, "kernel@/.." */
	ckptfs_node_stat(t, t->root, &st);
	CHECK_EQ_INT(st.st_nlink, 4);

	/* xattrs */
	CHECK_EQ_INT(ckptfs_xattr_get(t, k, CKPTFS_XATTR_DTYPE, &b), 0);
	CHECK_EQ_MEM(b.data, b.len, "float32", 7);
	b.len = 0;
	CHECK_EQ_INT(ckptfs_xattr_get(t, k, CKPTFS_XATTR_SHAPE, &b), 0);
	CHECK_EQ_MEM(b.data, b.len, "2,3", 3);
	b.len = 0;
	CHECK_EQ_INT(ckptfs_xattr_get(t, at(t, "by-name/a"), CKPTFS_XATTR_SHAPE,
				      &b),
		     0);
	CHECK_EQ_INT(b.len, 0);	/* a scalar */
	CHECK_EQ_INT(ckptfs_xattr_get(t, k, CKPTFS_XATTR_KEY, &b), 0);
	CHECK_EQ_MEM(b.data, b.len, "dense/kernel", 12);
	b.len = 0;
	CHECK_EQ_INT(ckptfs_xattr_get(t, k, CKPTFS_XATTR_CRC, &b), 0);
	CHECK_EQ_MEM(b.data, b.len, "12345678", 8);
	CHECK_EQ_INT(ckptfs_xattr_get(t, k, "user.other", &b), -ENODATA);
	/* Other namespaces are unsupported, not merely empty, on every
	 * node (so ls -l asks once per mount, not three times per file). */
	CHECK_EQ_INT(ckptfs_xattr_get(t, k, "security.selinux", &b),
		     -EOPNOTSUPP);
	CHECK_EQ_INT(ckptfs_xattr_get(t, t->by_name, "system.posix_acl_access",
				      &b),
		     -EOPNOTSUPP);
	CHECK_EQ_INT(ckptfs_xattr_get(t, k, "trusted.x", &b), -EOPNOTSUPP);
	CHECK_EQ_INT(ckptfs_xattr_get(t, k, "use", &b), -EOPNOTSUPP);
	CHECK(ckptfs_xattr_supported("user.ckpt.dtype"));
	CHECK(!ckptfs_xattr_supported("user"));
	CHECK_EQ_INT(ckptfs_xattr_get(t, t->by_name, CKPTFS_XATTR_KEY, &b),
		     -ENODATA);
	b.len = 0;
	CHECK_EQ_INT(ckptfs_xattr_list(k, &b), 0);
	CHECK_EQ_MEM(b.data, b.len,
		     "user.ckpt.dtype\0user.ckpt.shape\0user.ckpt.key\0"
		     "user.ckpt.crc32c\0user.ckpt.byteorder",
		     83);
	b.len = 0;
	CHECK_EQ_INT(ckptfs_xattr_get(t, k, CKPTFS_XATTR_ORDER, &b), 0);
	CHECK_EQ_MEM(b.data, b.len, "little", 6);
	b.len = 0;
	CHECK_EQ_INT(ckptfs_xattr_list(t->by_name, &b), 0);
	CHECK_EQ_INT(b.len, 0);
	ckpt_buf_free(&b);

	/* info.json */
	CHECK_EQ_STR(t->info_json,
		     "{\n  \"format\": \"tf1\",\n  \"source\": \"/x/model "
		     "\\\"q\\\"\",\n  \"tf2_root\": \"vars\",\n"
		     "  \"num_shards\": 1,\n  \"endianness\": \"little\",\n"
		     "  \"tensors\": 9,\n"
		     "  \"ckptfs_version\": \"" PACKAGE_VERSION "\"\n}\n");
	CHECK_EQ_U64(t->info->size, strlen(t->info_json));
	ckptfs_tree_free(t);

	/* Another root; a bad one. */
	o.tf2_root = "model";
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, &o, &t, &err), 0);
	at(t, "by-object/model/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE");
	ckptfs_tree_free(t);
	o.tf2_root = "a/b";
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, &o, &t, &err), -EINVAL);
	CHECK(t == NULL);
	CHECK(strstr(err.msg, "tf2_root") != NULL);
	o.tf2_root = "";
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, &o, &t, &err), -EINVAL);
}

/* Odd names: every one reachable, none lost, none colliding. */
static void
test_oddnames(void)
{
	static char longk[301];
	struct ckpt_entry e[] = {
		MK(".."),
		MK("a//b"),
		MK("at@sign"),
		MK("ctl\x01"),
		MK("dense/kernel"),
		MK("dense/kernel%40"),
		MK("dense/kernel/Adam"),
		MK("dense/kernel@"),
		MK("dot.name"),
		MK("h\xc3\xa9llo/w\xc3\xb6rld"),
		MK("pct%sign"),
		MK("trail/"),
		MK("with space"),
		MK("x/./y"),
		mk("n\0ul", 4, NULL, 0),
		mk(longk, 300, NULL, 0),
		MK("/lead"),
	};
	struct ckptfs_source src = { .entries = e, .n = ARRAY_SIZE(e) };
	struct ckptfs_tree *t;
	struct ckpt_err err = { 0 };
	char path[600];
	size_t i;

	memset(longk, 'L', 300);
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &t, &err), 0);
	snprintf(path, sizeof(path),
		 "%%2E%%2E a at%%40sign ctl%%01 dense dot.name h\xc3\xa9llo "
		 "pct%%25sign trail with space x n%%00ul %.200s%%#%016llx %%",
		 longk, (unsigned long long)ckpt_fnv1a64(longk, 300));
	CHECK_EQ_STR(listing(t, "by-name"), path);
	CHECK_EQ_STR(listing(t, "by-name/a"), "%");
	CHECK_EQ_STR(listing(t, "by-name/a/%"), "b");
	CHECK_EQ_STR(listing(t, "by-name/trail"), "%");
	CHECK_EQ_STR(listing(t, "by-name/x"), "%2E");
	CHECK_EQ_STR(listing(t, "by-name/%"), "lead");
	CHECK_EQ_STR(listing(t, "by-name/dense"),
		     "kernel kernel@ kernel%2540 kernel%40");
	CHECK_EQ_STR(listing(t, "by-name/dense/kernel@"), "Adam");
	CHECK(at(t, "by-name/dense/kernel%40")->entry == &e[7]);
	CHECK(at(t, "by-name/dense/kernel%2540")->entry == &e[5]);
	CHECK(at(t, "by-name/x/%2E/y")->entry == &e[13]);
	CHECK(at(t, "by-object/vars/x.S...Sy/.ATTRIBUTES/VARIABLE_VALUE")
		      ->entry == &e[13]);
	CHECK(at(t, "by-object/vars/..../.ATTRIBUTES/VARIABLE_VALUE") !=
	      NULL);
	CHECK(at(t, "by-object/vars/.Slead")->kind == CKPTFS_DIR);
	/* Every tensor has exactly one name in each view. */
	for (i = 0; i < t->ninodes; i++)
		if (t->inodes[i]->kind == CKPTFS_TENSOR)
			CHECK_EQ_INT(t->inodes[i]->nlink, 2);
	CHECK_EQ_INT(t->ntensors, ARRAY_SIZE(e));
	/* Every displayed name fits NAME_MAX. */
	for (i = 0; i < t->ninodes; i++) {
		size_t j;

		if (t->inodes[i]->kind != CKPTFS_DIR)
			continue;
		for (j = 0; j < t->inodes[i]->dir.n; j++)
			CHECK(CKPTFS_ENT_LOC(t->inodes[i],
					     CKPTFS_DIR_ENTS(t->inodes[i])[j].node)
				      ->len <= CKPTFS_NAME_MAX);
	}
	snprintf(path, sizeof(path), "by-name/%.200s%%#%016llx", longk,
		 (unsigned long long)ckpt_fnv1a64(longk, 300));
	CHECK(at(t, path)->entry == &e[15]);
	ckptfs_tree_free(t);
}

/* Two long names whose shortened forms collide (FNV-1a 64 of 250 'a'
 * and two 10-byte tails found by a cycle search), the second also a
 * directory: the tree is built (the mount was refused), the second shown
 * with "~2" after the hash, and ckptfs_dir_lookup_raw() finds each by
 * its raw component, or the name a new one would take. */
static void
test_name_collision(void)
{
	static const uint8_t t1[] = { 0xc2, 0xd0, 0xde, 0x8a, 0xfe,
				      0xe2, 0x98, 0xb0, 0xac, 0x81 };
	static const uint8_t t2[] = { 0x98, 0xc9, 0xaa, 0x92, 0xfe,
				      0xf1, 0x81, 0xc5, 0xd1, 0x80 };
	static char k1[272], k2[272], k3[272];
	struct ckpt_entry e[3];
	struct ckptfs_source src = { .entries = e, .n = 3 };
	struct ckptfs_tree *t;
	struct ckpt_err err = { 0 };
	struct ckpt_buf disp = { 0 };
	struct ckptfs_node *d, *n1, *n2;
	char want[800], raw[260];
	int rc;

	/* in key order: "L/aaa..<t2>" < "L/aaa..<t1>" < "L/aaa..<t1>/x" */
	memcpy(k1, "L/", 2);
	memset(k1 + 2, 'a', 250);
	memcpy(k2, k1, 252);
	memcpy(k1 + 252, t2, 10);
	memcpy(k2 + 252, t1, 10);
	memcpy(k3, k2, 262);
	memcpy(k3 + 262, "/x", 2);
	e[0] = mk(k1, 262, NULL, 0);
	e[1] = mk(k2, 262, NULL, 0);
	e[2] = mk(k3, 264, NULL, 0);
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &t, &err), 0);
	snprintf(want, sizeof(want),
		 "%.200s%%#984ad11059b519d6 %.200s%%#984ad11059b519d6~2 "
		 "%.200s%%#984ad11059b519d6@",
		 k1 + 2, k1 + 2, k1 + 2);
	CHECK_EQ_STR(listing(t, "by-name/L"), want);
	d = at(t, "by-name/L");
	n1 = ckptfs_dir_lookup_raw(d, k1 + 2, 260, false, &disp, &rc);
	CHECK(rc == 0 && n1 != NULL && n1->entry == &e[0]);
	CHECK_EQ_INT(disp.len, 218);
	n2 = ckptfs_dir_lookup_raw(d, k2 + 2, 260, false, &disp, &rc);
	CHECK(rc == 0 && n2 != NULL && n2->entry == &e[1]);
	CHECK_EQ_INT(disp.len, 220);
	/* (its directory is the first of that hash with '@': names are
	 * told apart where they collide, not numbered alike) */
	CHECK(ckptfs_dir_lookup_raw(d, k2 + 2, 260, true, &disp, &rc)->kind ==
	      CKPTFS_DIR);
	CHECK_EQ_MEM(disp.data + 218, disp.len - 218, "@", 1);
	CHECK(ckptfs_dir_lookup_raw(d, k1 + 2, 260, true, &disp, &rc) ==
	      NULL);
	CHECK(rc == 0);
	CHECK_EQ_MEM(disp.data + 218, disp.len - 218, "~2@", 3);
	/* a raw component of neither: its own name, free */
	memcpy(raw, k1 + 2, 260);
	raw[259] ^= 1;
	CHECK(ckptfs_dir_lookup_raw(d, raw, 260, false, &disp, &rc) == NULL);
	CHECK(rc == 0 && disp.len == 218);
	/* both in /by-object, under their (distinct) TF2 escapes */
	CHECK_EQ_INT(t->ntensors, 3);
	for (size_t i = 0; i < t->ninodes; i++)
		if (t->inodes[i]->kind == CKPTFS_TENSOR)
			CHECK_EQ_INT(t->inodes[i]->nlink, 2);
	/* the first name gone (renamed away): the second still found at
	 * its "~2", the first's raw component given the free name */
	CHECK(ckptfs_dir_lookup_raw(d, k1 + 2, 260, false, &disp, &rc) == n1);
	CHECK_EQ_INT(ckptfs_dir_remove(d, (const char *)disp.data, disp.len),
		     0);
	CHECK(ckptfs_dir_lookup_raw(d, k2 + 2, 260, false, &disp, &rc) == n2);
	CHECK_EQ_INT(disp.len, 220);
	CHECK(ckptfs_dir_lookup_raw(d, k1 + 2, 260, false, &disp, &rc) ==
	      NULL);
	CHECK(rc == 0 && disp.len == 218);
	ckpt_buf_free(&disp);
	ckptfs_tree_free(t);
}

/* The TF2 key of every tensor of a lazy tree before /by-object is built
 * (computed from its TF1 name) is the key it has once built, for odd
 * names, save_counter and a root that is not a valid escape. */
static void
test_lazy_keys(void)
{
	static char longk[301];
	struct ckpt_entry e[] = {
		MK(".."),       MK("a//b"),     MK("at@sign"),
		MK("ctl\x01"),  MK("dense/kernel"), MK("dense/kernel/Adam"),
		MK("dense/kernel@"), MK("dot.name"), MK("trail/"),
		MK("x/./y"),    mk("n\0ul", 4, NULL, 0), mk(longk, 300, NULL, 0),
		MK("/lead"),    MK("save_counter"),
	};
	struct ckptfs_source src = { .entries = e, .n = ARRAY_SIZE(e) };
	struct ckptfs_tree_opts o = { .tf2_root = "my.vars",
				      .lazy_object = true };
	struct ckpt_buf before[ARRAY_SIZE(e)], after = { 0 };
	struct ckptfs_tree *t;
	struct ckpt_err err = { 0 };
	struct stat st;
	size_t i, k;

	memset(longk, 'L', 300);
	memset(before, 0, sizeof(before));
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, &o, &t, &err), 0);
	CHECK(atomic_load(&t->object_pending));
	/* its links counted before: ".", its name, my.vars/.., save_counter/.. */
	ckptfs_node_stat(t, t->by_object, &st);
	CHECK_EQ_INT(st.st_nlink, 4);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < t->ninodes; i++) {
			struct ckptfs_node *n = t->inodes[i];
			size_t j;

			if (n->kind != CKPTFS_TENSOR)
				continue;
			j = (size_t)(n->entry - e);
			if (k == 0) {
				CHECK_EQ_INT(ckptfs_node_tf2_key(t, n, true,
								 &before[j]),
					     0);
				continue;
			}
			after.len = 0;
			CHECK_EQ_INT(ckptfs_node_tf2_key(t, n, true, &after), 0);
			CHECK_EQ_MEM(after.data, after.len, before[j].data,
				     before[j].len);
		}
		if (k == 0)
			CHECK_EQ_INT(ckptfs_tree_build_object(t, &err), 0);
	}
	CHECK(!atomic_load(&t->object_pending));
	ckptfs_node_stat(t, t->by_object, &st);
	CHECK_EQ_INT(st.st_nlink, 4);
	CHECK_EQ_MEM(before[7].data, before[7].len,
		     "my..vars/dot..name/.ATTRIBUTES/VARIABLE_VALUE", 45);
	/* tf.train.Checkpoint's counter is at the root, not in the dict */
	CHECK_EQ_MEM(before[13].data, before[13].len,
		     "save_counter/.ATTRIBUTES/VARIABLE_VALUE", 39);
	CHECK(at(t, "by-object/save_counter/.ATTRIBUTES/VARIABLE_VALUE") ==
	      at(t, "by-name/save_counter"));
	for (i = 0; i < ARRAY_SIZE(e); i++)
		ckpt_buf_free(&before[i]);
	ckpt_buf_free(&after);
	ckptfs_tree_free(t);
}

/* A lazy /by-object (TF1): empty, its links counted, until
 * ckptfs_tree_build_object() builds what an eager build would have, in
 * room the table kept for it (no copy of the table). */
static void
test_lazy_object(void)
{
	struct ckpt_entry e[] = {
		MK("a"),
		mk("dense/kernel", 12, dims23, 2),
		mk("dense/kernel/Adam", 17, dims23, 2),
		MK("scoped/c"),
		MK("w-part"),
	};
	struct ckptfs_source src = { .entries = e, .n = ARRAY_SIZE(e) };
	struct ckptfs_tree_opts o = { .tf2_root = "model",
				      .lazy_object = true };
	struct ckptfs_tree *t, *eager;
	struct ckpt_buf p1 = { 0 }, p2 = { 0 };
	struct ckpt_err err = { 0 };
	struct ckptfs_node **table;
	struct stat st;
	size_t before;

	e[4].is_part = true;
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, &o, &t, &err), 0);
	CHECK(atomic_load(&t->object_pending));
	CHECK_EQ_STR(listing(t, "by-object"), "");
	ckptfs_node_stat(t, at(t, "by-name/dense/kernel"), &st);
	CHECK_EQ_U64(st.st_nlink, 2);
	ckptfs_node_stat(t, t->by_object, &st);
	CHECK_EQ_U64(st.st_nlink, 3);
	ckptfs_node_stat(t, t->by_name, &st);
	CHECK_EQ_U64(st.st_nlink, 4);	/* dense and scoped */
	CHECK_EQ_INT(ckptfs_node_rawpath(t, at(t, "by-name/a"),
					 CKPTFS_BY_OBJECT, &p1),
		     -ENOENT);
	before = t->ninodes;
	table = atomic_load(&t->inodes);
	CHECK_EQ_U64(ckptfs_tree_inodes(t), before + 1 + 2 * 4);
	CHECK_EQ_INT(ckptfs_tree_build_object(t, &err), 0);
	CHECK(!atomic_load(&t->object_pending));
	CHECK(atomic_load(&t->inodes) == table);
	CHECK_EQ_U64(t->nretired, 0);
	CHECK_EQ_U64(t->ninodes, before + 1 + 2 * 4);
	CHECK_EQ_U64(ckptfs_tree_inodes(t), t->ninodes);
	CHECK_EQ_INT(ckptfs_tree_build_object(t, &err), 0);	/* once */
	CHECK_EQ_U64(t->ninodes, before + 1 + 2 * 4);

	o.lazy_object = false;
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, &o, &eager, &err), 0);
	CHECK(!atomic_load(&eager->object_pending));
	CHECK_EQ_STR(listing(t, "by-object"), "model");
	CHECK_EQ_STR(listing(eager, "by-object/model"),
		     "a dense.Skernel dense.Skernel.SAdam scoped.Sc");
	CHECK_EQ_STR(listing(t, "by-object/model"),
		     "a dense.Skernel dense.Skernel.SAdam scoped.Sc");
	for (size_t i = 0; i < 4; i++) {
		static const char *const names[] = {
			"a", "dense/kernel", "dense/kernel@/Adam", "scoped/c"
		};
		char path[64];
		struct ckptfs_node *n;

		snprintf(path, sizeof(path), "by-name/%s", names[i]);
		n = at(t, path);
		p1.len = p2.len = 0;
		CHECK_EQ_INT(ckptfs_node_rawpath(t, n, CKPTFS_BY_OBJECT, &p1),
			     0);
		CHECK_EQ_INT(ckptfs_node_rawpath(eager, at(eager, path),
						 CKPTFS_BY_OBJECT, &p2),
			     0);
		CHECK_EQ_MEM(p1.data, p1.len, p2.data, p2.len);
		CHECK_EQ_U64(n->nlink, 2);
		ckptfs_node_stat(t, n, &st);
		CHECK_EQ_U64(st.st_nlink, 2);
	}
	ckptfs_node_stat(t, t->by_object, &st);
	CHECK_EQ_U64(st.st_nlink, 3);
	ckptfs_tree_free(eager);
	ckptfs_tree_free(t);

	/* Never built: freed all the same (LeakSanitizer); a TF2 source's
	 * view is built at once whatever the option says. */
	o.lazy_object = true;
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, &o, &t, &err), 0);
	ckptfs_tree_free(t);
	src.tf2 = true;
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, &o, &t, &err), 0);
	CHECK(!atomic_load(&t->object_pending));
	CHECK_EQ_STR(listing(t, "by-object"), "a dense scoped");
	ckptfs_tree_free(t);
	ckpt_buf_free(&p1);
	ckpt_buf_free(&p2);
}

/* A hand-made object graph: node I gets attribute (FULL, KEY). */
struct attr_spec {
	const char *full;
	const char *key;
};

/* The key of the tensor at PATH. */
static const char *
key_at(const struct ckptfs_tree *t, const char *path)
{
	return at(t, path)->entry->key;
}

/* The tree of the TF2 checkpoint of entries E (N) whose object graph
 * gives node I + 1 the attribute SPEC[I], its source in *SRC. */
static struct ckptfs_tree *
tf2_tree(const struct attr_spec *spec, size_t nspec, struct ckpt_entry *e,
	 size_t n, struct ckptfs_source *src)
{
	struct ckpt_objnode *nodes = calloc(nspec + 1, sizeof(*nodes));
	struct ckpt_objattr *attrs = calloc(nspec ? nspec : 1, sizeof(*attrs));
	struct ckpt_objgraph g = { .nodes = nodes, .n = nspec + 1 };
	struct ckpt_buf bytes = { 0 };
	struct ckptfs_tree *t;
	struct ckpt_err err = { 0 };
	size_t i;

	*src = (struct ckptfs_source){ .entries = e, .n = n, .tf2 = true };
	CHECK(nodes != NULL && attrs != NULL);
	for (i = 0; i < nspec; i++) {
		attrs[i].name = (char *)"VARIABLE_VALUE";
		attrs[i].name_len = 14;
		attrs[i].full_name = (char *)spec[i].full;
		attrs[i].full_name_len = strlen(spec[i].full);
		attrs[i].checkpoint_key = (char *)spec[i].key;
		attrs[i].checkpoint_key_len = strlen(spec[i].key);
		nodes[i + 1].attrs = &attrs[i];
		nodes[i + 1].nattrs = 1;
	}
	CHECK_EQ_INT(ckpt_objgraph_serialize(&g, &bytes), 0);
	free(nodes);
	free(attrs);
	/* Given to the build, as ckptfs_tree_build() gives its graph. */
	src->graph = bytes.data;
	src->graph_len = bytes.len;
	src->graph_buf = bytes.data;
	CHECK_EQ_INT(ckptfs_tree_build_from(src, NULL, &t, &err), 0);
	return t;
}

/* The TF2 names of E (N entries, in the order given: SORTED says whether
 * that is key order) under the graph of SPEC. */
static void
check_tf2(const struct attr_spec *spec, size_t nspec, struct ckpt_entry *e,
	  size_t n, bool sorted)
{
	struct ckptfs_source src;
	struct ckptfs_tree *t = tf2_tree(spec, nspec, e, n, &src);
	struct ckpt_err err = { 0 };
	size_t i, missing;

	/* a key no entry has is counted, the first named */
	for (i = 0, missing = 0; i < nspec; i++) {
		size_t j = 0, kl = strlen(spec[i].key);

		while (j < n && (e[j].key_len != kl ||
				 memcmp(e[j].key, spec[i].key, kl) != 0))
			j++;
		missing += j == n;
	}
	CHECK_EQ_U64(t->graph_missing, missing);
	if (missing == 0)
		CHECK_EQ_STR(t->warning, "");
	else
		CHECK(strstr(t->warning, "which the checkpoint does not "
					 "hold") != NULL);
	/* Attributes in node order first: the second and third "Variable"
	 * skip every name the checkpoint gives a tensor, the given
	 * "Variable_1" and the key "Variable_2" of a tensor no attribute
	 * names (which comes last and keeps its name). */
	CHECK_EQ_STR(listing(t, "by-name"),
		     "Variable Variable_1 Variable_3 Variable_4 model dense "
		     "Adam Variable_2");
	CHECK_EQ_STR(key_at(t, "by-name/Variable"),
		     "model/extra/0/.ATTRIBUTES/VARIABLE_VALUE");
	CHECK_EQ_STR(key_at(t, "by-name/Variable_1"),
		     "model/v1/.ATTRIBUTES/VARIABLE_VALUE");
	CHECK_EQ_STR(key_at(t, "by-name/Variable_3"),
		     "model/extra/1/.ATTRIBUTES/VARIABLE_VALUE");
	CHECK_EQ_STR(key_at(t, "by-name/Variable_4"),
		     "model/extra/2/.ATTRIBUTES/VARIABLE_VALUE");
	CHECK_EQ_STR(key_at(t, "by-name/Variable_2"), "Variable_2");
	CHECK_EQ_STR(key_at(t, "by-name/model/nameless"),
		     "model/nameless/.ATTRIBUTES/VARIABLE_VALUE");
	CHECK_EQ_STR(key_at(t, "by-name/dense/kernel"),
		     "model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE");
	CHECK_EQ_STR(key_at(t, "by-name/Adam/m/dense/kernel"),
		     "model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m/"
		     ".ATTRIBUTES/VARIABLE_VALUE");
	CHECK(at(t, "by-name/model/nameless")->derived_name);
	CHECK(!at(t, "by-name/dense/kernel")->derived_name);
	CHECK(ckptfs_tree_path(t, "by-name/dup") == NULL);
	CHECK(ckptfs_tree_path(t, "by-name/" CKPT_OBJGRAPH_KEY) == NULL);
	/* by-object: the keys as they are. */
	CHECK_EQ_STR(listing(t, "by-object"),
		     sorted ? "Variable_2 " CKPT_OBJGRAPH_KEY " model"
			    : CKPT_OBJGRAPH_KEY " Variable_2 model");
	CHECK_EQ_STR(listing(t, "by-object/model/layers/0/kernel"),
		     ".ATTRIBUTES .OPTIMIZER_SLOT");
	CHECK(at(t, "by-object/model/layers/0/kernel/.OPTIMIZER_SLOT/"
		    "optimizer/m/.ATTRIBUTES/VARIABLE_VALUE") ==
	      at(t, "by-name/Adam/m/dense/kernel"));
	CHECK_EQ_INT(at(t, "by-object/" CKPT_OBJGRAPH_KEY)->nlink, 1);
	CHECK_EQ_INT(at(t, "by-name/Variable")->nlink, 2);
	CHECK_EQ_INT(t->ntensors, n);
	CHECK(strstr(t->info_json, "\"format\": \"tf2\"") != NULL);
	CHECK(strstr(t->info_json, "tf2_root") == NULL);
	/* The build took the graph's buffer and freed it (ASan: no double
	 * free, LeakSanitizer: no leak); the tree keeps no pointer to it. */
	CHECK(t->src.graph == NULL && t->src.graph_buf == NULL);
	ckptfs_tree_free(t);

	/* Without a graph every key but the graph's is shown by name, as
	 * its object path (less /.ATTRIBUTES/VARIABLE_VALUE: a slot's
	 * path holds it too). */
	src.graph = NULL;
	src.graph_len = 0;
	src.graph_buf = NULL;
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &t, &err), 0);
	CHECK_EQ_STR(listing(t, "by-name"), "Variable_2 model");
	CHECK_EQ_STR(key_at(t, "by-name/model/extra/0"),
		     "model/extra/0/.ATTRIBUTES/VARIABLE_VALUE");
	CHECK_EQ_STR(listing(t, "by-name/model/layers/0"), "kernel kernel@");
	CHECK_EQ_STR(key_at(t, "by-name/model/layers/0/kernel@/"
			       ".OPTIMIZER_SLOT/optimizer/m"),
		     "model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m/"
		     ".ATTRIBUTES/VARIABLE_VALUE");
	CHECK(ckptfs_tree_path(t, "by-name/model/extra/0/.ATTRIBUTES") ==
	      NULL);
	ckptfs_tree_free(t);
}

static void
test_tf2(void)
{
	static const struct attr_spec spec[] = {
		{ "Variable", "model/extra/0/.ATTRIBUTES/VARIABLE_VALUE" },
		{ "Variable_1", "model/v1/.ATTRIBUTES/VARIABLE_VALUE" },
		{ "Variable", "model/extra/1/.ATTRIBUTES/VARIABLE_VALUE" },
		{ "Variable", "model/extra/2/.ATTRIBUTES/VARIABLE_VALUE" },
		{ "", "model/nameless/.ATTRIBUTES/VARIABLE_VALUE" },
		{ "dense/kernel",
		  "model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE" },
		{ "Adam/m/dense/kernel",
		  "model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m/"
		  ".ATTRIBUTES/VARIABLE_VALUE" },
		{ "missing", "not/in/bundle" },
		{ "dup", "model/extra/0/.ATTRIBUTES/VARIABLE_VALUE" },
	};
	/* In key order, as a bundle's are (binary-searched), ... */
	struct ckpt_entry e[] = {
		MK("Variable_2"),	/* unreferenced, and a taken name */
		MK(CKPT_OBJGRAPH_KEY),
		MK("model/extra/0/.ATTRIBUTES/VARIABLE_VALUE"),
		MK("model/extra/1/.ATTRIBUTES/VARIABLE_VALUE"),
		MK("model/extra/2/.ATTRIBUTES/VARIABLE_VALUE"),
		MK("model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE"),
		MK("model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m/"
		   ".ATTRIBUTES/VARIABLE_VALUE"),
		MK("model/nameless/.ATTRIBUTES/VARIABLE_VALUE"),
		MK("model/v1/.ATTRIBUTES/VARIABLE_VALUE"),
	};
	/* ... and not (a hand-made source: looked up in a map). */
	struct ckpt_entry u[ARRAY_SIZE(e)];

	memcpy(u, e, sizeof(e));
	u[0] = e[1];
	u[1] = e[0];
	check_tf2(spec, ARRAY_SIZE(spec), e, ARRAY_SIZE(e), true);
	check_tf2(spec, ARRAY_SIZE(spec), u, ARRAY_SIZE(u), false);
}

/* The tensors of legacy saveables (a hash table's), whose attribute's key
 * names none and theirs are it followed by more: the first attribute
 * with a full name takes those no attribute names by their keys and no
 * attribute before took; one without a full name takes none; one that
 * finds none free names a key the checkpoint does not hold.  The same in
 * key order and out of it (a salvaged index). */
static void
test_saveables(void)
{
	static const struct attr_spec spec[] = {
		{ "", "u/.ATTRIBUTES/tbl" },
		{ "hash", "t/.ATTRIBUTES/table" },
		{ "lookup", "u/.ATTRIBUTES/tbl" },
		{ "x", "t/.ATTRIBUTES/table_x" },
		{ "again", "t/.ATTRIBUTES/table" },
		{ "graph", "_CHECKPOINTABLE" },
		{ "nested", "t/.ATTRIBUTES/t" },
		{ "none", "" },
		/* a name a saveable's tensor takes, given first: that one
		 * is made unique (hash-values_1) */
		{ "hash-values", "w/.ATTRIBUTES/VARIABLE_VALUE" },
	};
	struct ckpt_entry e[] = {
		MK(CKPT_OBJGRAPH_KEY),
		MK("t/.ATTRIBUTES/table-keys"),
		MK("t/.ATTRIBUTES/table-values"),
		MK("t/.ATTRIBUTES/table_x"),
		MK("u/.ATTRIBUTES/tbl-a"),
		MK("v/.ATTRIBUTES/VARIABLE_VALUE"),
		MK("w/.ATTRIBUTES/VARIABLE_VALUE"),
	};
	struct ckpt_entry u[ARRAY_SIZE(e)];

	for (int order = 0; order < 2; order++) {
		struct ckptfs_source src;
		struct ckptfs_tree *t;

		for (size_t i = 0; i < ARRAY_SIZE(e); i++)
			u[i] = e[order ? ARRAY_SIZE(e) - 1 - i : i];
		t = tf2_tree(spec, ARRAY_SIZE(spec), u, ARRAY_SIZE(u), &src);
		CHECK_EQ_STR(listing(t, "by-name"),
			     "x hash-values hash-keys hash-values_1 lookup-a "
			     "v");
		CHECK_EQ_STR(key_at(t, "by-name/hash-values"),
			     "w/.ATTRIBUTES/VARIABLE_VALUE");
		CHECK_EQ_STR(key_at(t, "by-name/hash-values_1"),
			     "t/.ATTRIBUTES/table-values");
		CHECK_EQ_STR(key_at(t, "by-name/hash-keys"),
			     "t/.ATTRIBUTES/table-keys");
		CHECK_EQ_STR(key_at(t, "by-name/x"), "t/.ATTRIBUTES/table_x");
		CHECK_EQ_STR(key_at(t, "by-name/lookup-a"),
			     "u/.ATTRIBUTES/tbl-a");
		/* again, graph, nested, none: no tensor free */
		CHECK_EQ_U64(t->graph_missing, 4);
		ckptfs_tree_free(t);
	}
}

/* A graph found malformed while /by-name is being built from it (its
 * first node unpacks, the second does not): the tree is built again from
 * the keys, with a warning; nothing leaks. */
static void
test_tf2_bad_graph(void)
{
	static const char key[] = "model/v/.ATTRIBUTES/VARIABLE_VALUE";
	struct ckpt_entry e[] = { MK(CKPT_OBJGRAPH_KEY), MK(key) };
	struct ckpt_objattr a = { .name = (char *)"VARIABLE_VALUE",
				  .name_len = 14,
				  .full_name = (char *)"v",
				  .full_name_len = 1,
				  .checkpoint_key = (char *)key,
				  .checkpoint_key_len = sizeof(key) - 1 };
	struct ckpt_objnode nodes[1] = { { .attrs = &a, .nattrs = 1,
					   .has_checkpoint_values = -1 } };
	struct ckpt_objgraph g = { .nodes = nodes, .n = 1 };
	struct ckpt_buf bytes = { 0 };
	struct ckptfs_source src = { .entries = e, .n = 2, .tf2 = true,
				     .prefix = "ckpt" };
	/* A second node whose first field (children, length 5) overruns
	 * the node's 2 bytes. */
	static const uint8_t bad[] = { 0x0a, 0x02, 0x0a, 0x05 };
	struct ckptfs_tree *t;
	struct ckpt_err err = { 0 };

	CHECK_EQ_INT(ckpt_objgraph_serialize(&g, &bytes), 0);
	CHECK_EQ_INT(ckpt_buf_put(&bytes, bad, sizeof(bad)), 0);
	/* Borrowed this time: the build must not free it. */
	src.graph = bytes.data;
	src.graph_len = bytes.len;
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &t, &err), 0);
	CHECK_EQ_INT(err.code, 0);
	CHECK(strstr(t->warning, "object graph unreadable (ckpt: object "
				 "graph: malformed TrackableObjectGraph") ==
	      t->warning);
	CHECK_EQ_STR(listing(t, "by-name"), "model");
	CHECK_EQ_STR(key_at(t, "by-name/model/v"), key);
	CHECK(ckptfs_tree_path(t, "by-name/v") == NULL);
	ckptfs_tree_free(t);

	/* A build refused before it starts still frees the graph given to
	 * it (LeakSanitizer), with or without a graph to read. */
	for (int k = 0; k < 2; k++) {
		struct ckptfs_tree_opts o = { .tf2_root = "a/b" };

		uint8_t *copy = malloc(bytes.len);

		CHECK(copy != NULL);
		memcpy(copy, bytes.data, bytes.len);
		src.graph_buf = copy;
		src.graph = k == 0 ? copy : NULL;
		ckpt_err_clear(&err);
		CHECK_EQ_INT(ckptfs_tree_build_from(&src, &o, &t, &err),
			     -EINVAL);
		CHECK(t == NULL);
		CHECK(strstr(err.msg, "tf2_root=a/b") != NULL);
	}
	ckpt_buf_free(&bytes);
}

/* Many full names, two of them 20 KB long, some repeated: the unique
 * names fill several arena chunks, and the long ones get blocks of their
 * own (before the first chunk and between two). */
static void
test_tf2_many_names(void)
{
	enum { N = 6000, LONG = 100 * 200 };
	struct ckpt_entry *e = calloc(N, sizeof(*e));
	struct ckpt_objnode *nodes = calloc(N + 1, sizeof(*nodes));
	struct ckpt_objattr *attrs = calloc(N, sizeof(*attrs));
	char (*keys)[48] = calloc(N, sizeof(*keys));
	char (*names)[16] = calloc(N, sizeof(*names));
	char *longs[2], path[LONG + 64];
	struct ckpt_objgraph g = { .nodes = nodes, .n = N + 1 };
	struct ckpt_buf bytes = { 0 };
	struct ckptfs_source src = { .entries = e, .n = N, .tf2 = true };
	struct ckptfs_tree *t;
	struct ckpt_err err = { 0 };

	CHECK(e && nodes && attrs && keys && names);
	for (int k = 0; k < 2; k++) {
		/* 100 components of 199 letters */
		longs[k] = malloc(LONG);
		CHECK(longs[k] != NULL);
		memset(longs[k], k == 0 ? 'a' : 'b', LONG);
		for (int c = 199; c < LONG; c += 200)
			longs[k][c] = '/';
		longs[k][LONG - 1] = '\0';
	}
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]),
			 "k/%05d/.ATTRIBUTES/VARIABLE_VALUE", i);
		/* every 1000th is "n0" (no tensor 0 has it): n0, n0_1,
		 * n0_2, ... */
		snprintf(names[i], sizeof(names[i]), "n%d",
			 i % 1000 == 999 ? 0 : i);
		e[i] = mk(keys[i], strlen(keys[i]), NULL, 0);
		attrs[i].name = (char *)"VARIABLE_VALUE";
		attrs[i].name_len = 14;
		attrs[i].full_name = i == 0      ? longs[0]
				     : i == 3000 ? longs[1]
						 : names[i];
		attrs[i].full_name_len = strlen(attrs[i].full_name);
		attrs[i].checkpoint_key = keys[i];
		attrs[i].checkpoint_key_len = strlen(keys[i]);
		nodes[i + 1].attrs = &attrs[i];
		nodes[i + 1].nattrs = 1;
		nodes[i + 1].has_checkpoint_values = -1;
	}
	nodes[0].has_checkpoint_values = -1;
	CHECK_EQ_INT(ckpt_objgraph_serialize(&g, &bytes), 0);
	src.graph = bytes.data;
	src.graph_len = bytes.len;
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &t, &err), 0);
	for (int i = 0; i < N; i++) {
		if (i == 0 || i == 3000)
			snprintf(path, sizeof(path), "by-name/%s",
				 longs[i != 0]);
		else if (i % 1000 == 999 && i > 999)
			snprintf(path, sizeof(path), "by-name/n0_%d", i / 1000);
		else
			snprintf(path, sizeof(path), "by-name/%s", names[i]);
		CHECK(ckptfs_tree_path(t, path) != NULL);
		CHECK_EQ_STR(key_at(t, path), keys[i]);
	}
	CHECK_EQ_U64(t->ntensors, N);
	ckptfs_tree_free(t);
	ckpt_buf_free(&bytes);
	free(longs[0]);
	free(longs[1]);
	free(names);
	free(keys);
	free(attrs);
	free(nodes);
	free(e);
}

/* A big flat directory: hashed lookups find every name. */
static void
test_big(void)
{
	enum { N = 20000 };
	struct ckpt_entry *e = calloc(N, sizeof(*e));
	char (*keys)[32] = calloc(N, sizeof(*keys));
	struct ckptfs_source src = { .entries = e, .n = N };
	struct ckptfs_tree *t;
	struct ckpt_err err = { 0 };
	char path[64];
	size_t i;

	CHECK(e != NULL && keys != NULL);
	for (i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "layer_%05zu/k", i);
		e[i] = mk(keys[i], strlen(keys[i]), NULL, 0);
	}
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &t, &err), 0);
	CHECK_EQ_INT(t->by_name->dir.n, N);
	CHECK_EQ_INT(t->by_name->nlink, N + 2);
	for (i = 0; i < N; i += 997) {
		snprintf(path, sizeof(path), "by-name/%s", keys[i]);
		CHECK(at(t, path)->entry == &e[i]);
	}
	CHECK(ckptfs_tree_path(t, "by-name/layer_20000") == NULL);
	ckptfs_tree_free(t);
	free(e);
	free(keys);
}

/* A key of more components than any fixed limit: its paths in both views
 * (written out, journalled) are whole (4,096 was a limit, and past it
 * the write-out failed with a bare ENOENT). */
static void
test_deep(void)
{
	enum { D = 5000 };
	char *key = malloc(2 * D + 1);
	struct ckpt_entry e;
	struct ckptfs_source src = { .entries = &e, .n = 1 };
	struct ckptfs_tree *t;
	struct ckpt_err err = { 0 };
	struct ckpt_buf b = { 0 };
	struct ckptfs_node *n, *d;

	CHECK(key != NULL);
	for (size_t i = 0; i < D; i++)
		memcpy(key + 2 * i, "a/", 2);
	key[2 * D - 1] = '\0';	/* a/a/.../a */
	e = mk(key, 2 * D - 1, NULL, 0);
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &t, &err), 0);
	for (d = t->by_name, n = NULL; d != NULL && d->kind == CKPTFS_DIR;
	     d = n)
		n = ckptfs_dir_lookup(d, "a", 1);
	CHECK(n != NULL && n->entry == &e);
	CHECK_EQ_INT(ckptfs_node_rawpath(t, n, CKPTFS_BY_NAME, &b), 0);
	CHECK_EQ_MEM(b.data, b.len, key, 2 * D - 1);
	b.len = 0;
	CHECK_EQ_INT(ckptfs_node_path(t, n, CKPTFS_BY_NAME, &b), 0);
	CHECK_EQ_INT(b.len, strlen("by-name/") + 2 * D - 1);
	ckpt_buf_free(&b);
	ckptfs_tree_free(t);
	free(key);
}

/* The same keys in key order (directories finished while the names are
 * added) and out of order (a hostile index: everything finished at the
 * end) give the same trees, TF1 in /by-name and TF2 in /by-object. */
static void
test_key_order(void)
{
	static const char *const keys[] = { "a",     "a-b",   "a/b", "a/b/c",
					    "a/b/d", "a/x",   "b/y" };
	enum { N = ARRAY_SIZE(keys) };
	static const char *const paths[N] = { "a",     "a-b",   "a@/b",
					      "a@/b@/c", "a@/b@/d", "a@/x",
					      "b/y" };
	struct ckpt_entry e[N];
	struct ckpt_err err = { 0 };
	struct ckptfs_tree *t;
	char path[64];
	size_t i, order, tf2;

	for (order = 0; order < 3; order++) {
		for (tf2 = 0; tf2 < 2; tf2++) {
			struct ckptfs_source src = { .entries = e, .n = N,
						     .tf2 = tf2 };
			const char *view = tf2 ? "by-object" : "by-name";

			for (i = 0; i < N; i++) {
				/* 0: key order; 1: reversed; 2: one pair
				 * swapped, late (a directory finished too
				 * early would be reopened). */
				size_t k = order == 0   ? i
					   : order == 1 ? N - 1 - i
					   : i == 4     ? 6
					   : i == 6     ? 4
							: i;

				e[i] = mk(keys[k], strlen(keys[k]), NULL, 0);
			}
			CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &t,
							    &err),
				     0);
			for (i = 0; i < N; i++) {
				const struct ckptfs_node *n;

				snprintf(path, sizeof(path), "%s/%s", view,
					 paths[i]);
				n = ckptfs_tree_path(t, path);
				CHECK(n != NULL && n->kind == CKPTFS_TENSOR &&
				      n->entry != NULL &&
				      strcmp(n->entry->key, keys[i]) == 0);
			}
			snprintf(path, sizeof(path), "%s/a@", view);
			CHECK_EQ_INT(ckptfs_tree_path(t, path)->dir.nlive, 3);
			snprintf(path, sizeof(path), "%s/a@/b@", view);
			CHECK_EQ_INT(ckptfs_tree_path(t, path)->dir.nlive, 2);
			CHECK_EQ_INT(t->ntensors, N);
			ckptfs_tree_free(t);
		}
	}
}

/* Names added to and removed from one directory, across the size where
 * it stops being searched in order and gets a hash. */
static void
test_dir_ops(void)
{
	enum { N = 40 };
	struct ckptfs_source src = { 0 };
	struct ckpt_err err = { 0 };
	struct ckptfs_tree *t;
	struct ckptfs_node *d, *f[N];
	char name[16];
	size_t i, k;

	CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &t, &err), 0);
	d = ckptfs_node_new(t, CKPTFS_DIR, t->by_name);
	CHECK(d != NULL);
	for (i = 0; i < N; i++) {
		f[i] = ckptfs_node_new(t, CKPTFS_TENSOR, NULL);
		CHECK(f[i] != NULL);
		snprintf(name, sizeof(name), "n%zu", i);
		CHECK_EQ_INT(ckptfs_dir_link(d, f[i], name, strlen(name), name,
					     strlen(name)),
			     0);
		/* A refused link changes nothing: the name stays. */
		CHECK_EQ_INT(ckptfs_dir_link(d, f[i], name, strlen(name), "x",
					     1),
			     -EEXIST);
		CHECK(f[i]->loc.dir == d && f[i]->loc.len == strlen(name) &&
		      strcmp(f[i]->loc.name, name) == 0 &&
		      strcmp(CKPTFS_LOC_RAW(&f[i]->loc), name) == 0);
		/* One name is kept in the node, more in a table. */
		CHECK(d->big == (i > 0));
		/* Every third name so far goes again; the rest stay. */
		for (k = 0; k <= i; k++) {
			snprintf(name, sizeof(name), "n%zu", k);
			CHECK(ckptfs_dir_lookup(d, name, strlen(name)) ==
			      (k % 3 == 1 && k < i ? NULL : f[k]));
		}
		if (i % 3 == 1) {
			snprintf(name, sizeof(name), "n%zu", i);
			CHECK_EQ_INT(ckptfs_dir_remove(d, name, strlen(name)),
				     0);
			CHECK_EQ_INT(ckptfs_dir_remove(d, name, strlen(name)),
				     -ENOENT);
			CHECK(ckptfs_dir_lookup(d, name, strlen(name)) == NULL);
		}
	}
	/* Holes are taken by names linked later, but not those of the names
	 * removed last (one may come back): every live name once, no
	 * removed one, and fewer places than names made. */
	CHECK_EQ_INT(d->dir.nlive, N - (N + 1) / 3);
	CHECK(d->dir.n < N && d->dir.n > d->dir.nlive);
	CHECK(d->big && d->dir.tab->nslots != 0);
	for (i = 0; i < N; i++) {
		size_t seen = 0;

		CHECK_EQ_INT(f[i]->nlink, i % 3 == 1 ? 0 : 1);
		for (k = 0; k < d->dir.n; k++)
			seen += CKPTFS_DIR_ENTS(d)[k].node == f[i];
		CHECK_EQ_U64(seen, i % 3 == 1 ? 0 : 1);
	}
	/* A name removed and linked again (a file renamed over it) takes
	 * back its own place, a hole before it or not; another name takes
	 * a hole, but not the place of a name just removed.  A small
	 * directory is not hashed. */
	for (k = 0; CKPTFS_DIR_ENTS(d)[k].node != f[N - 1]; k++)
		;
	CHECK_EQ_INT(ckptfs_dir_remove(d, "n0", 2), 0);
	snprintf(name, sizeof(name), "n%d", N - 1);
	CHECK_EQ_INT(ckptfs_dir_remove(d, name, strlen(name)), 0);
	CHECK_EQ_INT(ckptfs_dir_link(d, f[N - 1], name, strlen(name), name,
				     strlen(name)),
		     0);
	CHECK(CKPTFS_DIR_ENTS(d)[k].node == f[N - 1]);
	CHECK(CKPTFS_DIR_ENTS(d)[0].node == NULL);
	CHECK_EQ_INT(ckptfs_dir_link(d, f[1], "n1", 2, "n1", 2), 0);
	CHECK(CKPTFS_DIR_ENTS(d)[0].node == NULL);
	CHECK_EQ_INT(ckptfs_dir_link(d, f[0], "n0", 2, "n0", 2), 0);
	CHECK(CKPTFS_DIR_ENTS(d)[0].node == f[0]);
	CHECK(ckptfs_dir_lookup(d, "n1", 2) == f[1]);
	CHECK(ckptfs_dir_lookup(d, "n", 1) == NULL);
	CHECK(ckptfs_dir_lookup(t->by_name, "x", 1) == NULL);
	CHECK(!t->root->big || t->root->dir.tab->nslots == 0);
	CHECK(ckptfs_dir_lookup(t->root, "by-object", 9) == t->by_object);
	ckptfs_tree_free(t);
}

/* Eight threads reading the first bytes of a tensor at once: one checks
 * it, the others wait for that answer. */
struct verify_arg {
	const struct ckptfs_tree *t;
	struct ckptfs_node *n;
	int rc;
	bool first;
};

static void *
verify_thread(void *p)
{
	struct verify_arg *a = p;
	struct ckpt_err err = { 0 };

	a->rc = ckptfs_node_verify(a->t, a->n, &a->first, &err);
	return NULL;
}

static void
test_verify(void)
{
	enum { T = 8, ELEMS = 1 << 20 };
	char dir[PATH_MAX], prefix[PATH_MAX + 8], data[PATH_MAX + 40];
	struct ckpt_writer_opts o = { .producer = 1, .num_shards = 1 };
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	struct ckpt_bundle *b;
	struct ckptfs_tree *t;
	struct verify_arg a[T];
	pthread_t th[T];
	int64_t dims[1] = { ELEMS };
	float *v = malloc(ELEMS * sizeof(*v));
	const char *names[2] = { "by-name/good", "by-name/bad" };
	uint64_t runs;
	int fd, nfirst;

	CHECK(v != NULL);
	check_mkdtemp(dir, sizeof(dir));
	snprintf(prefix, sizeof(prefix), "%s/m", dir);
	for (int i = 0; i < ELEMS; i++)
		v[i] = (float)i;
	CHECK_EQ_INT(ckpt_writer_new(prefix, &o, &w, &err), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, "bad", 3, CKPT_DT_FLOAT, dims, 1, v,
				     ELEMS * sizeof(*v), &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add(w, "good", 4, CKPT_DT_FLOAT, dims, 1, v,
				     ELEMS * sizeof(*v), &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	/* "bad" is first in the shard: damage its last byte. */
	snprintf(data, sizeof(data), "%s.data-00000-of-00001", prefix);
	fd = open(data, O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ_INT(pwrite(fd, "\x7f", 1, ELEMS * sizeof(*v) - 1), 1);
	close(fd);
	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	CHECK_EQ_INT(ckptfs_tree_build(b, NULL, &t, &err), 0);
	for (int k = 0; k < 2; k++) {
		struct ckptfs_node *n = ckptfs_tree_path(t, names[k]);

		CHECK(n != NULL);
		runs = ckptfs_verify_runs();
		for (int i = 0; i < T; i++) {
			a[i] = (struct verify_arg){ .t = t, .n = n, .rc = 1 };
			CHECK_EQ_INT(pthread_create(&th[i], NULL, verify_thread,
						    &a[i]),
				     0);
		}
		nfirst = 0;
		for (int i = 0; i < T; i++) {
			pthread_join(th[i], NULL);
			CHECK_EQ_INT(a[i].rc, k == 0 ? 0 : -EIO);
			nfirst += a[i].first;
		}
		/* The tensor is read once, the damage found (and logged)
		 * once. */
		CHECK_EQ_INT(ckptfs_verify_runs() - runs, 1);
		CHECK_EQ_INT(nfirst, k == 0 ? 0 : 1);
		CHECK_EQ_INT(atomic_load(&n->verified), k == 0 ? 1 : -EBADMSG);
		a[0].first = true;
		CHECK_EQ_INT(ckptfs_node_verify(t, n, &a[0].first, &err),
			     k == 0 ? 0 : -EIO);
		CHECK(!a[0].first);
	}
	ckptfs_tree_free(t);
	ckpt_bundle_close(b);
	check_rmtree(dir);
	free(v);
}

/* Inode numbers looked up while another thread adds nodes (as the
 * daemon looks them up before taking its namespace lock while a create
 * grows the table): every lookup finds the node that has that number. */
struct table_arg {
	struct ckptfs_tree *t;
	atomic_bool *stop;
	atomic_int *started;	/* readers inside their first pass */
	long bad, seen;
};

static void *
table_reader(void *p)
{
	struct table_arg *a = p;
	bool first = true;

	while (first || !atomic_load(a->stop)) {
		size_t n = 0;

		if (first)
			atomic_fetch_add(a->started, 1);
		first = false;
		for (uint64_t ino = 1;; ino++) {
			struct ckptfs_node *x = ckptfs_tree_node(a->t, ino);

			if (x == NULL)
				break;
			a->bad += x->ino != ino;
			n++;
		}
		a->seen += (long)n;
	}
	return NULL;
}

static void
test_table_grows(void)
{
	enum { R = 3, N = 200000 };
	struct ckptfs_source src = { 0 };
	struct ckpt_err err = { 0 };
	struct ckptfs_tree *t;
	struct table_arg a[R];
	pthread_t th[R];
	atomic_bool stop;
	atomic_int started;
	size_t base;

	atomic_init(&stop, false);
	atomic_init(&started, 0);
	CHECK_EQ_INT(ckptfs_tree_build_from(&src, NULL, &t, &err), 0);
	base = t->ninodes;
	for (int i = 0; i < R; i++) {
		a[i] = (struct table_arg){ .t = t, .stop = &stop,
					   .started = &started };
		CHECK_EQ_INT(pthread_create(&th[i], NULL, table_reader, &a[i]),
			     0);
	}
	/* Every reader in a pass before the table grows (on a busy machine
	 * the adds could end before a reader ran at all). */
	while (atomic_load(&started) < R)
		sched_yield();
	for (int i = 0; i < N; i++)
		if (ckptfs_node_new(t, CKPTFS_TENSOR, NULL) == NULL)
			break;
	atomic_store(&stop, true);
	for (int i = 0; i < R; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ_INT(a[i].bad, 0);
		CHECK(a[i].seen > 0);
	}
	CHECK_EQ_INT(t->ninodes, base + N);
	CHECK(ckptfs_tree_node(t, base + N) != NULL);
	CHECK(ckptfs_tree_node(t, base + N + 1) == NULL);
	ckptfs_tree_free(t);
}

int
main(void)
{
	test_escape();
	test_tf1();
	test_oddnames();
	test_name_collision();
	test_lazy_object();
	test_lazy_keys();
	test_tf2();
	test_saveables();
	test_tf2_bad_graph();
	test_tf2_many_names();
	test_big();
	test_deep();
	test_verify();
	test_dir_ops();
	test_key_order();
	test_table_grows();
	return check_done("test_tree");
}
