/* test_convert.c -- covers src/convert.c and ckpt_writer_add_fd(): the
 * migration guide's conversions as library calls.  TF1 -> TF2 gives
 * vars/<escaped name> keys and a graph that names every variable; TF2 ->
 * TF1 gives the full_names back; partitioned tensors keep their parts
 * under the new name; changed tensors come from a spool file; a size that
 * disagrees with dtype and shape is refused and leaves no files; copies
 * of a tensor's bytes under other names follow the tensors in their
 * source's order. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "bundle_writer.h"
#include "check.h"
#include "convert.h"
#include "objgraph.h"

static char tmp[PATH_MAX - 128];

/* Write a small TF1 checkpoint: a, scoped/c, conv.1/w and a partitioned
 * p [4,2] (2 slices on dim 0, element i = i). */
static void
write_tf1(const char *prefix)
{
	static const int64_t d2[] = { 2 }, dp[] = { 4, 2 }, lp[] = { 2, 2 };
	static const struct ckpt_extent sp[] = { { 0, 2 }, { 0, -1 },
						 { 2, 2 }, { 0, -1 } };
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	float a = 1, c = 3, v[2] = { 5, 6 }, p[8];

	for (int i = 0; i < 8; i++)
		p[i] = (float)i;
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, "a", 1, CKPT_DT_FLOAT, NULL, 0, &a, 4,
				     &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add(w, "scoped/c", 8, CKPT_DT_FLOAT, NULL, 0,
				     &c, 4, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add(w, "conv.1/w", 8, CKPT_DT_FLOAT, d2, 1, v,
				     8, &err),
		     0);
	for (int s = 0; s < 2; s++) {
		struct ckpt_buf k = { 0 };

		CHECK_EQ_INT(ckpt_slice_key_encode("p", 1, &sp[2 * s], 2, &k), 0);
		CHECK_EQ_INT(ckpt_writer_add(w, k.data, k.len, CKPT_DT_FLOAT, lp,
					     2, p + 4 * s, 16, &err),
			     0);
		ckpt_buf_free(&k);
	}
	CHECK_EQ_INT(ckpt_writer_add_partitioned(w, "p", 1, CKPT_DT_FLOAT, dp, 2,
						 sp, 2, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
}

/* Read float tensor KEY of B into OUT (N values). */
static void
read_f32(const struct ckpt_bundle *b, const char *key, float *out, size_t n)
{
	const struct ckpt_entry *e = ckpt_bundle_find(b, key, strlen(key));
	struct ckpt_err err = { 0 };
	uint8_t *buf;
	size_t len;

	if (e == NULL)
		fprintf(stderr, "missing key %s\n", key);
	CHECK(e != NULL);
	CHECK_EQ_INT(ckpt_bundle_read(b, e, &buf, &len, &err), 0);
	CHECK_EQ_INT(len, n * 4);
	memcpy(out, buf, len);
	free(buf);
}

/* The out-tensors of every visible entry of B, named as the TF1 view
 * names them; KEYS receives owned TF2 keys. */
static size_t
tf1_tensors(const struct ckpt_bundle *b, struct ckpt_out_tensor *t,
	    struct ckpt_buf *keys)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n; i++) {
		const struct ckpt_entry *e = &b->entries[i];

		if (e->is_part)
			continue;
		CHECK_EQ_INT(ckpt_tf2_key_for_name("vars", e->key, e->key_len,
						   &keys[n]),
			     0);
		/* ckpt_out_tensor keys are followed by a NUL. */
		CHECK_EQ_INT(ckpt_buf_put(&keys[n], "", 1), 0);
		keys[n].len--;
		t[n].name = e->key;
		t[n].name_len = e->key_len;
		t[n].key = (const char *)keys[n].data;
		t[n].key_len = keys[n].len;
		t[n].dtype = e->dtype;
		t[n].rank = e->rank;
		t[n].dims = e->dims;
		t[n].bundle = b;
		t[n].entry = e;
		t[n].fd = -1;
		n++;
	}
	return n;
}

/* write_tf1() at SRC, opened, and its 4 tensors as tf1_tensors() gives
 * them (*N). */
static struct ckpt_bundle *
tf1_source(const char *src, struct ckpt_out_tensor *t, struct ckpt_buf *keys,
	   size_t *n)
{
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b = NULL;

	write_tf1(src);
	CHECK_EQ_INT(ckpt_bundle_open(src, &b, &err), 0);
	*n = tf1_tensors(b, t, keys);
	CHECK_EQ_INT(*n, 4);
	return b;
}

static void
test_tf1_to_tf2_and_back(void)
{
	char src[PATH_MAX], out2[PATH_MAX], out1[PATH_MAX];
	struct ckpt_convert_opts o = { 0 };
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b, *b2, *b1;
	struct ckpt_out_tensor t[8] = { 0 }, t2[8] = { 0 };
	struct ckpt_buf keys[8] = { 0 };
	struct ckpt_objgraph *g;
	char **paths;
	float f[8];
	size_t n, n2 = 0;

	snprintf(src, sizeof(src), "%s/tf1", tmp);
	snprintf(out2, sizeof(out2), "%s/tf2", tmp);
	snprintf(out1, sizeof(out1), "%s/back", tmp);
	b = tf1_source(src, t, keys, &n);
	o.format = CKPT_FORMAT_TF2;
	o.add_save_counter = true;
	CHECK_EQ_INT(ckpt_convert_write(t, n, out2, &o, &err), 0);

	CHECK_EQ_INT(ckpt_bundle_open(out2, &b2, &err), 0);
	CHECK(b2->tf2);
	read_f32(b2, "vars/a/.ATTRIBUTES/VARIABLE_VALUE", f, 1);
	CHECK(f[0] == 1.0f);
	read_f32(b2, "vars/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE", f, 1);
	CHECK(f[0] == 3.0f);
	read_f32(b2, "vars/conv..1.Sw/.ATTRIBUTES/VARIABLE_VALUE", f, 2);
	CHECK(f[0] == 5.0f && f[1] == 6.0f);
	read_f32(b2, "vars/p/.ATTRIBUTES/VARIABLE_VALUE", f, 8);
	for (int i = 0; i < 8; i++)
		CHECK(f[i] == (float)i);
	{
		const struct ckpt_entry *e =
			ckpt_bundle_find(b2, "vars/p/.ATTRIBUTES/VARIABLE_VALUE",
					 33);

		CHECK(e != NULL);
		CHECK_EQ_INT(e->nparts, 2);	/* still partitioned */
		e = ckpt_bundle_find(b2, CKPT_SAVE_COUNTER_KEY,
				     strlen(CKPT_SAVE_COUNTER_KEY));
		CHECK(e != NULL && e->dtype == CKPT_DT_INT64);
	}
	/* The graph: root -> vars -> one child per variable, full_name = the
	 * TF1 name, checkpoint_key = the bundle key; plus save_counter. */
	CHECK_EQ_INT(ckpt_bundle_objgraph(b2, &g, &err), 0);
	CHECK_EQ_INT(ckpt_objgraph_paths(g, &paths), 0);
	{
		int found = 0;

		for (size_t i = 0; i < g->n; i++)
			for (size_t k = 0; k < g->nodes[i].nattrs; k++) {
				const struct ckpt_objattr *at =
					&g->nodes[i].attrs[k];

				CHECK(ckpt_bundle_find(b2, at->checkpoint_key,
						       at->checkpoint_key_len) !=
				      NULL);
				if (strcmp(at->full_name, "conv.1/w") == 0) {
					CHECK_EQ_STR(paths[i], "vars/conv..1.Sw");
					CHECK_EQ_STR(at->checkpoint_key,
						     "vars/conv..1.Sw/.ATTRIBUTES/"
						     "VARIABLE_VALUE");
					found++;
				}
				if (strcmp(at->full_name, "save_counter") == 0)
					found++;
			}
		CHECK_EQ_INT(found, 2);
		CHECK_EQ_INT(g->nodes[0].nchildren, 2);
		CHECK_EQ_STR(g->nodes[0].children[0].local_name, "vars");
		CHECK_EQ_STR(g->nodes[0].children[1].local_name, "save_counter");
	}
	ckpt_objgraph_paths_free(paths, g->n);

	/* Back to TF1: the names are the graph's full_names. */
	for (size_t i = 0; i < g->n; i++)
		for (size_t k = 0; k < g->nodes[i].nattrs; k++) {
			const struct ckpt_objattr *at = &g->nodes[i].attrs[k];
			const struct ckpt_entry *e =
				ckpt_bundle_find(b2, at->checkpoint_key,
						 at->checkpoint_key_len);

			if (strcmp(at->full_name, "save_counter") == 0)
				continue;
			t2[n2].name = at->full_name;
			t2[n2].name_len = at->full_name_len;
			t2[n2].key = e->key;
			t2[n2].key_len = e->key_len;
			t2[n2].dtype = e->dtype;
			t2[n2].rank = e->rank;
			t2[n2].dims = e->dims;
			t2[n2].bundle = b2;
			t2[n2].entry = e;
			n2++;
		}
	CHECK_EQ_INT(n2, 4);
	o.format = CKPT_FORMAT_TF1;
	CHECK_EQ_INT(ckpt_convert_write(t2, n2, out1, &o, &err), 0);
	CHECK_EQ_INT(ckpt_bundle_open(out1, &b1, &err), 0);
	CHECK(!b1->tf2);
	CHECK_EQ_INT(b1->nvisible, 4);
	read_f32(b1, "scoped/c", f, 1);
	CHECK(f[0] == 3.0f);
	read_f32(b1, "conv.1/w", f, 2);
	CHECK(f[1] == 6.0f);
	read_f32(b1, "p", f, 8);
	CHECK(f[7] == 7.0f);
	ckpt_bundle_close(b1);
	ckpt_objgraph_free(g);
	ckpt_bundle_close(b2);
	ckpt_bundle_close(b);
	for (size_t i = 0; i < 8; i++)
		ckpt_buf_free(&keys[i]);
}

static void
test_spooled_and_refused(void)
{
	char dir[PATH_MAX], spool[PATH_MAX + 16], out[PATH_MAX + 16];
	struct ckpt_convert_opts o = { 0 };
	struct ckpt_err err = { 0 };
	struct ckpt_out_tensor t[2] = { 0 };
	struct ckpt_bundle *b;
	static const int64_t d3[] = { 3 };
	float v[3] = { 7, 8, 9 }, f[3];
	int fd;

	snprintf(dir, sizeof(dir), "%s/spooled", tmp);
	CHECK_EQ_INT(mkdir(dir, 0755), 0);
	snprintf(spool, sizeof(spool), "%s/t0", tmp);
	fd = open(spool, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, v, sizeof(v)), sizeof(v));
	t[0].name = "new/var";
	t[0].name_len = 7;
	t[0].key = "vars/new.Svar/.ATTRIBUTES/VARIABLE_VALUE";
	t[0].key_len = strlen(t[0].key);
	t[0].dtype = CKPT_DT_FLOAT;
	t[0].rank = 1;
	t[0].dims = d3;
	t[0].fd = fd;
	t[0].size = sizeof(v);
	snprintf(out, sizeof(out), "%s/x", dir);
	o.format = CKPT_FORMAT_TF1;
	CHECK_EQ_INT(ckpt_convert_write(t, 1, out, &o, &err), 0);
	CHECK_EQ_INT(ckpt_bundle_open(out, &b, &err), 0);
	read_f32(b, "new/var", f, 3);	/* verified: the CRC was computed */
	CHECK(f[0] == 7.0f && f[2] == 9.0f);
	ckpt_bundle_close(b);

	/* 12 bytes cannot be a [3] float64: refused, naming the tensor, and
	 * nothing is left under the output name. */
	t[0].dtype = CKPT_DT_DOUBLE;
	snprintf(out, sizeof(out), "%s/y", dir);
	CHECK_EQ_INT(check_count_files(dir), 2);
	CHECK_EQ_INT(ckpt_convert_write(t, 1, out, &o, &err), -EINVAL);
	CHECK(strstr(err.msg, "new/var") != NULL);
	CHECK_EQ_INT(check_count_files(dir), 2);

	/* Two tensors with one name. */
	t[0].dtype = CKPT_DT_FLOAT;
	t[1] = t[0];
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_convert_write(t, 2, out, &o, &err), -EEXIST);
	CHECK(strstr(err.msg, "new/var") != NULL);
	CHECK_EQ_INT(check_count_files(dir), 2);
	close(fd);
}

/* A spooled tensor named by directory fd and file name: opened only while
 * copied (no fd is left open), and a missing file is named in the error. */
static void
test_spool_by_name(void)
{
	char dir[PATH_MAX], spool[PATH_MAX + 16], out[PATH_MAX + 16];
	struct ckpt_convert_opts o = { 0 };
	struct ckpt_err err = { 0 };
	struct ckpt_out_tensor t[2] = { 0 };
	struct ckpt_bundle *b;
	static const int64_t d2[] = { 2 };
	float v[2] = { 4.5f, -1.25f }, w[2] = { 3, 6 }, f[2];
	int fd, dfd, probe;

	snprintf(dir, sizeof(dir), "%s/byname", tmp);
	CHECK_EQ_INT(mkdir(dir, 0755), 0);
	dfd = open(tmp, O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	for (int i = 0; i < 2; i++) {
		snprintf(spool, sizeof(spool), "%s/s%d.spool", tmp, i);
		fd = open(spool, O_RDWR | O_CREAT | O_TRUNC, 0600);
		CHECK(fd >= 0);
		CHECK_EQ_INT(write(fd, i ? w : v, sizeof(v)), sizeof(v));
		close(fd);
	}
	for (int i = 0; i < 2; i++) {
		t[i].name = i ? "b" : "a";
		t[i].name_len = 1;
		t[i].key = i ? "vars/b/.ATTRIBUTES/VARIABLE_VALUE"
			     : "vars/a/.ATTRIBUTES/VARIABLE_VALUE";
		t[i].key_len = strlen(t[i].key);
		t[i].dtype = CKPT_DT_FLOAT;
		t[i].rank = 1;
		t[i].dims = d2;
		t[i].fd = -1;
		t[i].dirfd = dfd;
		t[i].file = i ? "s1.spool" : "s0.spool";
		t[i].size = sizeof(v);
	}
	snprintf(out, sizeof(out), "%s/x", dir);
	o.format = CKPT_FORMAT_TF2;
	probe = dup(0);	/* the lowest free fd before */
	CHECK(probe >= 0);
	close(probe);
	CHECK_EQ_INT(ckpt_convert_write(t, 2, out, &o, &err), 0);
	CHECK_EQ_INT(dup(0), probe);	/* and after: nothing left open */
	close(probe);
	CHECK_EQ_INT(ckpt_bundle_open(out, &b, &err), 0);
	read_f32(b, "vars/a/.ATTRIBUTES/VARIABLE_VALUE", f, 2);
	CHECK(f[0] == 4.5f && f[1] == -1.25f);
	read_f32(b, "vars/b/.ATTRIBUTES/VARIABLE_VALUE", f, 2);
	CHECK(f[0] == 3.0f && f[1] == 6.0f);
	ckpt_bundle_close(b);

	t[1].file = "missing.spool";
	snprintf(out, sizeof(out), "%s/y", dir);
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_convert_write(t, 2, out, &o, &err), -ENOENT);
	CHECK(strstr(err.msg, "missing.spool") != NULL);
	CHECK(strstr(err.msg, "vars/b/") != NULL);
	close(dfd);
}

/* Every tensor of a source written twice, under its own name and a copy's
 * (one entry, two names: copies made by sharing a tensor's bytes): one of
 * each pair (the first in T) in the source's order, then the others in
 * the same order, each group back to back, so that each makes one run. */
static void
test_copies_follow(void)
{
	char src[PATH_MAX], out[PATH_MAX];
	struct ckpt_convert_opts o = { .format = CKPT_FORMAT_TF1 };
	struct ckpt_err err = { 0 };
	struct ckpt_out_tensor t[16] = { 0 };
	struct ckpt_buf keys[8] = { { 0 } }, names[8] = { { 0 } };
	struct ckpt_bundle *b, *c;
	uint64_t end = 0, first = 0;
	size_t n, k;

	snprintf(src, sizeof(src), "%s/cp-src", tmp);
	snprintf(out, sizeof(out), "%s/cp-out", tmp);
	b = tf1_source(src, t, keys, &n);
	/* the copies first in T, in reverse: their order must not matter */
	for (k = 0; k < n; k++) {
		t[2 * n - 1 - k] = t[k];
		CHECK_EQ_INT(ckpt_buf_put(&names[k], "copy/", 5), 0);
		CHECK_EQ_INT(ckpt_buf_put(&names[k], t[k].name, t[k].name_len),
			     0);
		CHECK_EQ_INT(ckpt_buf_put(&names[k], "", 1), 0);
		t[k].name = (const char *)names[k].data;
		t[k].name_len = names[k].len - 1;
	}
	CHECK_EQ_INT(ckpt_convert_write(t, 2 * n, out, &o, &err), 0);
	CHECK_EQ_INT(ckpt_bundle_open(out, &c, &err), 0);
	/* the source's bytes, then the copies': each at the same offset
	 * as its tensor's plus the source's data size */
	for (k = 0; k < c->n; k++)
		if (c->entries[k].nparts == 0 &&
		    c->entries[k].offset + c->entries[k].size > end)
			end = c->entries[k].offset + c->entries[k].size;
	for (k = 0; k < n; k++) {
		const struct ckpt_entry *x, *y;
		uint64_t xo, yo;

		x = ckpt_bundle_find(c, t[2 * n - 1 - k].name,
				     t[2 * n - 1 - k].name_len);
		y = ckpt_bundle_find(c, t[k].name, t[k].name_len);
		CHECK(x != NULL && y != NULL);
		if (x == NULL || y == NULL)
			continue;
		xo = x->nparts ? x->parts[0].entry->offset : x->offset;
		yo = y->nparts ? y->parts[0].entry->offset : y->offset;
		/* (the first of the two in T goes first: the copies) */
		CHECK(xo == yo + end / 2);
		first = k == 0 || yo < first ? yo : first;
	}
	CHECK_EQ_U64(first, 0);
	CHECK_EQ_U64(end, 96);
	ckpt_bundle_close(c);
	ckpt_bundle_close(b);
	for (k = 0; k < n; k++) {
		ckpt_buf_free(&keys[k]);
		ckpt_buf_free(&names[k]);
	}
}

/* The object graph built for a TF2 output goes through a file of no name
 * in the output's directory, or through memory where none can be made:
 * both give the same checkpoint, byte for byte, and leave no file. */
static void
test_graph_file(void)
{
	static const char *const sfx[] = { ".index", ".data-00000-of-00001" };
	char src[PATH_MAX], d1[PATH_MAX], d2[PATH_MAX];
	char p1[PATH_MAX + 8], p2[PATH_MAX + 8], f[PATH_MAX + 32];
	struct ckpt_convert_opts o = { 0 };
	struct ckpt_err err = { 0 };
	struct ckpt_out_tensor t[8] = { 0 };
	struct ckpt_buf keys[8] = { 0 };
	struct ckpt_bundle *b;
	size_t n;

	snprintf(src, sizeof(src), "%s/gsrc", tmp);
	snprintf(d1, sizeof(d1), "%s/gfile", tmp);
	snprintf(d2, sizeof(d2), "%s/gmem", tmp);
	CHECK_EQ_INT(mkdir(d1, 0700), 0);
	CHECK_EQ_INT(mkdir(d2, 0700), 0);
	snprintf(p1, sizeof(p1), "%s/out", d1);
	snprintf(p2, sizeof(p2), "%s/out", d2);
	b = tf1_source(src, t, keys, &n);
	o.format = CKPT_FORMAT_TF2;
	o.add_save_counter = true;
	CHECK_EQ_INT(ckpt_convert_write(t, n, p1, &o, &err), 0);
	CHECK_EQ_INT(setenv("CKPT_TEST_NO_TMPFILE", "1", 1), 0);
	CHECK_EQ_INT(ckpt_convert_write(t, n, p2, &o, &err), 0);
	CHECK_EQ_INT(unsetenv("CKPT_TEST_NO_TMPFILE"), 0);
	for (size_t i = 0; i < 2; i++) {
		uint8_t *a, *c;
		size_t alen, clen;

		snprintf(f, sizeof(f), "%s%s", p1, sfx[i]);
		a = check_slurp(f, &alen);
		snprintf(f, sizeof(f), "%s%s", p2, sfx[i]);
		c = check_slurp(f, &clen);
		CHECK_EQ_MEM(a, alen, c, clen);
		free(a);
		free(c);
	}
	/* out.index and its data file: nothing else */
	CHECK_EQ_INT(check_count_files(d1), 2);
	{
		struct ckpt_bundle *b2;
		const struct ckpt_entry *e;

		CHECK_EQ_INT(ckpt_bundle_open(p1, &b2, &err), 0);
		e = ckpt_bundle_find(b2, CKPT_OBJGRAPH_KEY,
				     strlen(CKPT_OBJGRAPH_KEY));
		CHECK(e != NULL && e->dtype == CKPT_DT_STRING);
		CHECK_EQ_INT(ckpt_bundle_verify(b2, e, &err), 0);
		ckpt_bundle_close(b2);
	}
	ckpt_bundle_close(b);
	for (size_t i = 0; i < 8; i++)
		ckpt_buf_free(&keys[i]);
}

int
main(void)
{
	check_mkdtemp(tmp, sizeof(tmp));
	test_tf1_to_tf2_and_back();
	test_spooled_and_refused();
	test_spool_by_name();
	test_copies_follow();
	test_graph_file();
	check_rmtree(tmp);
	return check_done("test_convert");
}
