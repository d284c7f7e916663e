/* test_bundle.c -- covers src/bundle.c: opening TensorFlow's own
 * checkpoints and reading their values, partitioned and multi-shard
 * checkpoints written by our writer, the assembled-read and locate paths
 * against a reference, and damaged copies (flipped bytes, truncation,
 * missing shards, entries past their shard, absurd sizes). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "bundle_writer.h"
#include "check.h"
#include "crc32c.h"
#include "objgraph.h"
#include "tensor.h"

static char tmp[PATH_MAX - 128];

/* Float value of scalar KEY in B. */
static float
scalar_f32(const struct ckpt_bundle *b, const char *key)
{
	const struct ckpt_entry *e = ckpt_bundle_find(b, key, strlen(key));
	struct ckpt_err err = { 0 };
	uint8_t *buf;
	size_t len;
	float f;

	CHECK(e != NULL);
	CHECK_EQ_INT(e->dtype, CKPT_DT_FLOAT);
	CHECK_EQ_INT(ckpt_bundle_read(b, e, &buf, &len, &err), 0);
	CHECK_EQ_INT(len, 4);
	memcpy(&f, buf, 4);
	free(buf);
	return f;
}

/* Open REALDATA/NAME. */
static struct ckpt_bundle *
open_real(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rc = ckpt_bundle_open(path, &b, &err);
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", name, err.msg);
	CHECK_EQ_INT(rc, 0);
	for (size_t i = 0; i < b->n; i++)
		CHECK_EQ_INT(ckpt_bundle_verify(b, &b->entries[i], &err), 0);
	return b;
}

static void
test_real(void)
{
	const char *dir = check_realdata();
	struct ckpt_bundle *b;
	struct ckpt_objgraph *g;
	struct ckpt_err err = { 0 };
	const struct ckpt_entry *e;
	uint8_t *buf;
	size_t len;

	if (dir == NULL)
		return;
	b = open_real(dir, "saved_model_half_plus_three_variables");
	CHECK_EQ_INT(b->n, 3);
	CHECK_EQ_INT(b->hdr.num_shards, 1);
	CHECK_EQ_INT(b->hdr.producer, 1);
	CHECK(!b->tf2);
	CHECK_EQ_INT(b->index_compression, CKPT_COMPRESS_NONE);
	CHECK(scalar_f32(b, "a") == 0.5f);
	CHECK(scalar_f32(b, "b") == 3.0f);
	CHECK(scalar_f32(b, "c") == 3.0f);
	e = ckpt_bundle_find(b, "c", 1);
	CHECK_EQ_U64(e->offset, 8);
	CHECK_EQ_U64(e->crc32c, 0xc382d6ef);
	CHECK_EQ_INT(e->rank, 0);
	ckpt_bundle_close(b);

	b = open_real(dir, "saved_model_half_plus_two_2_versions_variables");
	CHECK(scalar_f32(b, "a") == 0.5f);
	CHECK(scalar_f32(b, "b") == 2.0f);
	CHECK(scalar_f32(b, "c") == 3.0f);
	ckpt_bundle_close(b);

	/* Snappy-compressed index; the .index path names it too. */
	b = open_real(dir, "saved_model_half_plus_two_cpu_variables.index");
	CHECK_EQ_INT(b->index_compression, CKPT_COMPRESS_SNAPPY);
	CHECK_EQ_INT(b->n, 5);
	CHECK(scalar_f32(b, "a") == 0.5f);
	CHECK(scalar_f32(b, "a2") == 0.5f);
	CHECK(scalar_f32(b, "b") == 2.0f);
	CHECK(scalar_f32(b, "c") == 3.0f);
	CHECK(scalar_f32(b, "c2") == 3.0f);
	ckpt_bundle_close(b);

	b = open_real(dir, "saved_model_half_plus_two_mkl_variables");
	CHECK_EQ_INT(b->n, 9);
	e = ckpt_bundle_find(b, "conv2d/kernel", 13);
	CHECK(e != NULL);
	CHECK_EQ_INT(e->rank, 4);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(e->dims[i], 1);
	CHECK_EQ_INT(ckpt_bundle_read(b, e, &buf, &len, &err), 0);
	CHECK_EQ_MEM(buf, len, "\xbe\xbb\x05\xbf", 4);
	free(buf);
	e = ckpt_bundle_find(b, "conv2d_2/kernel", 15);
	CHECK_EQ_INT(ckpt_bundle_read(b, e, &buf, &len, &err), 0);
	CHECK_EQ_MEM(buf, len, "\x0b\xfa\xc9\x3f", 4);
	free(buf);
	ckpt_bundle_close(b);

	b = open_real(dir, "saved_model_counter_variables");
	CHECK(scalar_f32(b, "counter") == 0.0f);
	ckpt_bundle_close(b);

	/* TF2: the graph is a string tensor stored after the variables. */
	b = open_real(dir, "saved_model_half_plus_two_tf2_cpu_variables");
	CHECK(b->tf2);
	CHECK_EQ_INT(b->n, 4);
	e = ckpt_bundle_find(b, CKPT_OBJGRAPH_KEY, strlen(CKPT_OBJGRAPH_KEY));
	CHECK_EQ_INT(e->dtype, CKPT_DT_STRING);
	CHECK_EQ_U64(e->offset, 12);
	CHECK_EQ_U64(e->size, 619);
	CHECK(scalar_f32(b, "b/.ATTRIBUTES/VARIABLE_VALUE") == 2.0f);
	CHECK_EQ_INT(ckpt_bundle_objgraph(b, &g, &err), 0);
	CHECK_EQ_INT(g->n, 24);
	CHECK_EQ_INT(g->nodes[1].nattrs, 1);
	CHECK_EQ_STR(g->nodes[1].attrs[0].full_name, "a");
	CHECK_EQ_STR(g->nodes[1].attrs[0].checkpoint_key,
		     "a/.ATTRIBUTES/VARIABLE_VALUE");
	ckpt_objgraph_free(g);
	ckpt_bundle_close(b);

	b = open_real(dir, "tf_text_regression_01_variables_variables");
	CHECK(b->tf2);
	CHECK_EQ_INT(b->n, 1);
	CHECK_EQ_INT(ckpt_bundle_objgraph(b, &g, &err), 0);
	CHECK_EQ_INT(g->n, 30);
	ckpt_objgraph_free(g);
	ckpt_bundle_close(b);

	/* A TF1 checkpoint has no graph. */
	b = open_real(dir, "saved_model_counter_variables");
	CHECK_EQ_INT(ckpt_bundle_objgraph(b, &g, &err), -ENOENT);
	ckpt_bundle_close(b);
}

/* Write a checkpoint with a partitioned tensor W [6,5] sliced into four
 * irregular parts, V [7,3] sliced on dim 0 only, and a plain tensor in a
 * second shard.  REF receives W's full row-major values. */
static void
write_partitioned(const char *prefix, float *ref)
{
	static const int64_t dw[] = { 6, 5 }, dv[] = { 7, 3 };
	/* W: rows 0-3 x cols 0-1, rows 0-3 x cols 2-4, rows 4-5 whole. */
	static const struct ckpt_extent sw[] = {
		{ 0, 4 }, { 0, 2 }, { 0, 4 }, { 2, 3 }, { 4, 2 }, { 0, -1 },
	};
	static const struct ckpt_extent sv[] = { { 0, 3 }, { 0, -1 },
						 { 3, 4 }, { 0, -1 } };
	struct ckpt_writer_opts o = { 0 };
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	float part[32];

	o.producer = 1;
	o.num_shards = 2;
	CHECK_EQ_INT(ckpt_writer_new(prefix, &o, &w, &err), 0);
	for (int i = 0; i < 30; i++)
		ref[i] = (float)i * 1.5f;
	for (int s = 0; s < 3; s++) {
		const struct ckpt_extent *x = &sw[2 * s];
		int64_t lens[2] = { x[0].length,
				    x[1].length < 0 ? 5 : x[1].length };
		struct ckpt_buf key = { 0 };
		int n = 0;

		for (int r = 0; r < lens[0]; r++)
			for (int c = 0; c < lens[1]; c++)
				part[n++] = ref[(x[0].start + r) * 5 +
						x[1].start + c];
		CHECK_EQ_INT(ckpt_slice_key_encode("w", 1, x, 2, &key), 0);
		ckpt_writer_select_shard(w, s % 2);
		CHECK_EQ_INT(ckpt_writer_add(w, key.data, key.len, CKPT_DT_FLOAT,
					     lens, 2, part, (size_t)n * 4, &err),
			     0);
		ckpt_buf_free(&key);
	}
	for (int s = 0; s < 2; s++) {
		const struct ckpt_extent *x = &sv[2 * s];
		int64_t lens[2] = { x[0].length, 3 };
		struct ckpt_buf key = { 0 };
		int n = 0;

		for (int r = 0; r < lens[0]; r++)
			for (int c = 0; c < 3; c++)
				part[n++] = (float)(100 + (x[0].start + r) * 3 + c);
		CHECK_EQ_INT(ckpt_slice_key_encode("v", 1, x, 2, &key), 0);
		CHECK_EQ_INT(ckpt_writer_add(w, key.data, key.len, CKPT_DT_FLOAT,
					     lens, 2, part, (size_t)n * 4, &err),
			     0);
		ckpt_buf_free(&key);
	}
	CHECK_EQ_INT(ckpt_writer_add_partitioned(w, "w", 1, CKPT_DT_FLOAT, dw, 2,
						 sw, 3, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add_partitioned(w, "v", 1, CKPT_DT_FLOAT, dv, 2,
						 sv, 2, &err),
		     0);
	ckpt_writer_select_shard(w, 1);
	part[0] = 42;
	CHECK_EQ_INT(ckpt_writer_add(w, "plain", 5, CKPT_DT_FLOAT, NULL, 0, part,
				     4, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
}

static void
test_partitioned(void)
{
	char prefix[PATH_MAX];
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b;
	const struct ckpt_entry *w, *v;
	float ref[30], got[30];
	uint8_t *buf;
	size_t len, n;

	snprintf(prefix, sizeof(prefix), "%s/part", tmp);
	write_partitioned(prefix, ref);
	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	CHECK_EQ_INT(b->hdr.num_shards, 2);
	CHECK_EQ_INT(b->n, 8);
	CHECK_EQ_INT(b->nvisible, 3);
	w = ckpt_bundle_find(b, "w", 1);
	CHECK(w != NULL && w->nparts == 3 && !w->is_part);
	CHECK_EQ_U64(w->size, 120);
	CHECK_EQ_INT(ckpt_bundle_read(b, w, &buf, &len, &err), 0);
	CHECK_EQ_MEM(buf, len, ref, sizeof(ref));
	free(buf);
	/* Every (offset, length) read agrees with the reference. */
	for (size_t off = 0; off <= 120; off++)
		for (size_t l = 0; l <= 120 - off + 3; l++) {
			memset(got, 0xee, sizeof(got));
			CHECK_EQ_INT(ckpt_bundle_pread(b, w, got, l, off, &n), 0);
			CHECK_EQ_U64(n, off + l > 120 ? 120 - off : l);
			CHECK(memcmp(got, (uint8_t *)ref + off, n) == 0);
		}
	/* locate() points at the right bytes for every offset. */
	for (uint64_t off = 0; off < 120; off++) {
		uint64_t foff, run;
		int fd;
		uint8_t byte;

		CHECK_EQ_INT(ckpt_bundle_locate(b, w, off, &fd, &foff, &run), 0);
		CHECK(run >= 1 && run <= 120 - off);
		CHECK_EQ_INT(pread(fd, &byte, 1, (off_t)foff), 1);
		CHECK_EQ_INT(byte, ((uint8_t *)ref)[off]);
	}
	v = ckpt_bundle_find(b, "v", 1);
	CHECK(v != NULL && v->nparts == 2);
	CHECK_EQ_INT(ckpt_bundle_read(b, v, &buf, &len, &err), 0);
	CHECK_EQ_U64(len, 84);
	for (int i = 0; i < 21; i++) {
		float f;

		memcpy(&f, buf + 4 * i, 4);
		CHECK(f == (float)(100 + i));
	}
	free(buf);
	{
		/* Dim-0 slices are one run each: locate covers a whole part. */
		uint64_t foff, run;
		int fd;

		CHECK_EQ_INT(ckpt_bundle_locate(b, v, 0, &fd, &foff, &run), 0);
		CHECK_EQ_U64(run, 36);
		CHECK_EQ_INT(ckpt_bundle_locate(b, v, 40, &fd, &foff, &run), 0);
		CHECK_EQ_U64(run, 44);
	}
	CHECK(scalar_f32(b, "plain") == 42.0f);
	ckpt_bundle_close(b);
}

/* Add the string tensor part of KEY at slice X (RANK extents, lengths
 * LENS) holding the elements IDX[0..N) of STRS/SLENS, to W. */
static void
add_string_part(struct ckpt_writer *w, const char *key,
		const struct ckpt_extent *x, const int64_t *lens, int rank,
		const uint8_t *const *strs, const uint64_t *slens,
		const size_t *idx, size_t n)
{
	const uint8_t *d[64];
	uint64_t l[64];
	struct ckpt_buf k = { 0 }, v = { 0 };
	struct ckpt_err err = { 0 };
	uint32_t crc;

	CHECK(n <= 64);
	for (size_t i = 0; i < n; i++) {
		d[i] = strs[idx[i]];
		l[i] = slens[idx[i]];
	}
	CHECK_EQ_INT(ckpt_string_encode(d, l, n, &v, &crc), 0);
	CHECK_EQ_INT(ckpt_slice_key_encode(key, strlen(key), x, rank, &k), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, k.data, k.len, CKPT_DT_STRING, lens,
				     rank, v.data, v.len, &err),
		     0);
	ckpt_buf_free(&k);
	ckpt_buf_free(&v);
}

/* A partitioned string tensor reads as the one string tensor its parts
 * make (FORMAT.md 5.3), whatever the slicing: S [4,3] in three slices over
 * two shards, lengths from 0 to 200 (two-byte varints); E [0,2] in two. */
/* Write tensor "t" [4,4] float32 in the N slices of S (2 extents each,
 * zeros) at PREFIX, open it and return why "t" cannot be used (a static
 * copy), or "" if it can. */
static const char *
parts_verdict(const char *prefix, const struct ckpt_extent *s, size_t n)
{
	static const int64_t dims[] = { 4, 4 };
	static char why[512];
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	struct ckpt_bundle *b;
	const struct ckpt_entry *e;
	const char *m;
	float zeros[16] = { 0 };

	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	for (size_t i = 0; i < n; i++) {
		int64_t lens[2] = { s[2 * i].length, s[2 * i + 1].length };
		struct ckpt_buf key = { 0 };

		CHECK_EQ_INT(ckpt_slice_key_encode("t", 1, &s[2 * i], 2, &key),
			     0);
		CHECK_EQ_INT(ckpt_writer_add(w, key.data, key.len, CKPT_DT_FLOAT,
					     lens, 2, zeros,
					     (size_t)(lens[0] * lens[1]) * 4,
					     &err),
			     0);
		ckpt_buf_free(&key);
	}
	CHECK_EQ_INT(ckpt_writer_add_partitioned(w, "t", 1, CKPT_DT_FLOAT, dims,
						 2, s, n, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	e = ckpt_bundle_find(b, "t", 1);
	CHECK(e != NULL);
	m = ckpt_bundle_entry_bad(b, e);
	snprintf(why, sizeof(why), "%s", m != NULL ? m : "");
	ckpt_bundle_close(b);
	return why;
}

/* Slices that do not add up are refused, and slices that overlap, also
 * two far apart in the order the check sweeps them in; a grid, slices cut
 * along either dimension and empty slices anywhere are taken. */
static void
test_parts_overlap(void)
{
	/* rows 0-1 x cols 0-1, ..., a 2 x 2 grid */
	static const struct ckpt_extent grid[] = {
		{ 0, 2 }, { 0, 2 }, { 0, 2 }, { 2, 2 },
		{ 2, 2 }, { 0, 2 }, { 2, 2 }, { 2, 2 },
	};
	/* one column each */
	static const struct ckpt_extent cols[] = {
		{ 0, 4 }, { 0, 1 }, { 0, 4 }, { 1, 1 },
		{ 0, 4 }, { 2, 1 }, { 0, 4 }, { 3, 1 },
	};
	/* rows 0-3 x cols 0-1; rows 0, 1, 2 x cols 2-3; row 3 x cols 1-3,
	 * which meets the first at (3, 1): 17 elements for 16 */
	static const struct ckpt_extent far[] = {
		{ 0, 4 }, { 0, 2 }, { 0, 1 }, { 2, 2 }, { 1, 1 }, { 2, 2 },
		{ 2, 1 }, { 2, 2 }, { 3, 1 }, { 1, 3 },
	};
	/* rows 0-1 and rows 1-2 whole, row 3 missing: 16 elements */
	static const struct ckpt_extent even[] = {
		{ 0, 2 }, { 0, 4 }, { 1, 2 }, { 0, 4 },
	};
	/* rows 0-1 and row 3: 12 elements */
	static const struct ckpt_extent gap[] = {
		{ 0, 2 }, { 0, 4 }, { 3, 1 }, { 0, 4 },
	};
	/* all of it, and two empty slices, one where it begins: an empty
	 * slice meets nothing (TensorSlice::Intersect()) */
	static const struct ckpt_extent empty[] = {
		{ 0, 4 }, { 0, 4 }, { 0, 0 }, { 0, 4 }, { 2, 0 }, { 1, 2 },
	};
	/* column J cut at row J: its rows below J, and J and after (the
	 * first empty); dimension 0 has as many starts as dimension 1, but
	 * swept along it every lower part stays begun to the end */
	static const struct ckpt_extent cut[] = {
		{ 0, 0 }, { 0, 1 }, { 0, 4 }, { 0, 1 },
		{ 0, 1 }, { 1, 1 }, { 1, 3 }, { 1, 1 },
		{ 0, 2 }, { 2, 1 }, { 2, 2 }, { 2, 1 },
		{ 0, 3 }, { 3, 1 }, { 3, 1 }, { 3, 1 },
	};
	char prefix[PATH_MAX];

	snprintf(prefix, sizeof(prefix), "%s/ov1", tmp);
	CHECK_EQ_STR(parts_verdict(prefix, grid, 4), "");
	snprintf(prefix, sizeof(prefix), "%s/ov2", tmp);
	CHECK_EQ_STR(parts_verdict(prefix, cols, 4), "");
	/* (the count first: 17 elements for 16) */
	snprintf(prefix, sizeof(prefix), "%s/ov3", tmp);
	CHECK(strstr(parts_verdict(prefix, far, 5),
		     "the slices of partitioned tensor 't' do not cover it") !=
	      NULL);
	snprintf(prefix, sizeof(prefix), "%s/ov4", tmp);
	CHECK(strstr(parts_verdict(prefix, even, 2),
		     "partitioned tensor 't' has overlapping slices") != NULL);
	snprintf(prefix, sizeof(prefix), "%s/ov5", tmp);
	CHECK(strstr(parts_verdict(prefix, gap, 2),
		     "the slices of partitioned tensor 't' do not cover it") !=
	      NULL);
	snprintf(prefix, sizeof(prefix), "%s/ov6", tmp);
	CHECK_EQ_STR(parts_verdict(prefix, empty, 3), "");
	snprintf(prefix, sizeof(prefix), "%s/ov7", tmp);
	CHECK_EQ_STR(parts_verdict(prefix, cut, 8), "");
}

static void
test_partitioned_strings(void)
{
	static const uint64_t slens[12] = { 0, 1, 130, 2, 0, 5,
					    3, 7, 1, 0, 200, 4 };
	static const int64_t ds[] = { 4, 3 }, de[] = { 0, 2 };
	/* rows 0-1 x cols 0-1; rows 0-1 x col 2; rows 2-3 whole */
	static const struct ckpt_extent ss[] = {
		{ 0, 2 }, { 0, 2 }, { 0, 2 }, { 2, 1 }, { 2, 2 }, { 0, -1 },
	};
	static const struct ckpt_extent se[] = { { 0, -1 }, { 0, 1 },
						 { 0, -1 }, { 1, 1 } };
	static const size_t p0[] = { 0, 1, 3, 4 }, p1[] = { 2, 5 },
			    p2[] = { 6, 7, 8, 9, 10, 11 };
	static const int64_t l0[] = { 2, 2 }, l1[] = { 2, 1 }, l2[] = { 2, 3 },
			     le[] = { 0, 1 };
	static const uint8_t mask0[] = { 0xd8, 0xea, 0x82, 0xa2 };
	uint8_t store[12][200];
	const uint8_t *strs[12];
	char prefix[PATH_MAX], copy[PATH_MAX + 8];
	struct ckpt_writer_opts o = { .producer = 1, .num_shards = 2 };
	struct ckpt_buf want = { 0 };
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	struct ckpt_bundle *b;
	const struct ckpt_entry *s, *e;
	uint8_t got[700], *buf;
	uint64_t foff, run;
	uint32_t crc;
	size_t len, n;
	int fd;

	for (int i = 0; i < 12; i++) {
		memset(store[i], 'a' + i, sizeof(store[i]));
		strs[i] = store[i];
	}
	/* What TensorFlow would store for S saved whole. */
	CHECK_EQ_INT(ckpt_string_encode(strs, slens, 12, &want, &crc), 0);
	CHECK_EQ_U64(want.len, 14 + 4 + 353);
	snprintf(prefix, sizeof(prefix), "%s/pstr", tmp);
	CHECK_EQ_INT(ckpt_writer_new(prefix, &o, &w, &err), 0);
	add_string_part(w, "s", &ss[0], l0, 2, strs, slens, p0, 4);
	ckpt_writer_select_shard(w, 1);
	add_string_part(w, "s", &ss[2], l1, 2, strs, slens, p1, 2);
	ckpt_writer_select_shard(w, 0);
	add_string_part(w, "s", &ss[4], l2, 2, strs, slens, p2, 6);
	add_string_part(w, "e", &se[0], le, 2, strs, slens, p0, 0);
	add_string_part(w, "e", &se[2], le, 2, strs, slens, p0, 0);
	CHECK_EQ_INT(ckpt_writer_add_partitioned(w, "s", 1, CKPT_DT_STRING, ds,
						 2, ss, 3, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add_partitioned(w, "e", 1, CKPT_DT_STRING, de,
						 2, se, 2, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);

	/* Read it, then read it again from a copy ckpt_bundle_rewrite()
	 * made (the parts copied as they are). */
	snprintf(copy, sizeof(copy), "%s/pstr2", tmp);
	for (int pass = 0; pass < 2; pass++) {
		CHECK_EQ_INT(ckpt_bundle_open(pass ? copy : prefix, &b, &err), 0);
		CHECK_EQ_INT(b->nvisible, 2);
		s = ckpt_bundle_find(b, "s", 1);
		CHECK(s != NULL && s->nparts == 3 && s->dtype == CKPT_DT_STRING);
		CHECK_EQ_U64(s->size, want.len);
		CHECK_EQ_INT(ckpt_bundle_read(b, s, &buf, &len, &err), 0);
		CHECK_EQ_MEM(buf, len, want.data, want.len);
		free(buf);
		for (size_t off = 0; off <= want.len; off += 1)
			for (size_t l = 0; l <= want.len - off + 2; l += 1 + l / 8) {
				memset(got, 0xee, sizeof(got));
				CHECK_EQ_INT(ckpt_bundle_pread(b, s, got, l, off, &n),
					     0);
				CHECK_EQ_U64(n, off + l > want.len ? want.len - off
								   : l);
				CHECK(memcmp(got, want.data + off, n) == 0);
			}
		/* Assembled, so not one run of a shard. */
		CHECK_EQ_INT(ckpt_bundle_locate(b, s, 0, &fd, &foff, &run),
			     -ENOTSUP);
		e = ckpt_bundle_find(b, "e", 1);
		CHECK(e != NULL && e->nparts == 2);
		CHECK_EQ_INT(ckpt_bundle_read(b, e, &buf, &len, &err), 0);
		CHECK_EQ_MEM(buf, len, mask0, sizeof(mask0));
		free(buf);
		if (pass == 0)
			CHECK_EQ_INT(ckpt_bundle_rewrite(b, copy, NULL, &err), 0);
		ckpt_bundle_close(b);
	}
	ckpt_buf_free(&want);
}

/* A producer may pad length varints with continuation bytes (TensorFlow
 * reads 80 00 as 0): a partitioned string tensor shows them as stored. */
static void
test_partitioned_strings_padded(void)
{
	static const int64_t d3[] = { 3 }, l2[] = { 2 }, l1[] = { 1 };
	static const struct ckpt_extent sx[] = { { 0, 2 }, { 2, 1 } };
	static const uint64_t lens[] = { 2, 0, 3 };
	uint8_t p0[] = { 0x82, 0x00, 0x80, 0x00, 0, 0, 0, 0, 'a', 'b' };
	uint8_t p1[] = { 0x03, 0, 0, 0, 0, 'c', 'd', 'e' };
	uint8_t want[] = { 0x82, 0x00, 0x80, 0x00, 0x03, 0, 0, 0, 0,
			   'a', 'b', 'c', 'd', 'e' };
	char prefix[PATH_MAX];
	struct ckpt_err err = { 0 };
	struct ckpt_buf k = { 0 };
	struct ckpt_writer *w;
	struct ckpt_bundle *b;
	const struct ckpt_entry *e;
	uint8_t *buf, got[16];
	size_t len, n;

	ckpt_store32le(p0 + 4, ckpt_crc_mask(ckpt_string_lengths_crc(lens, 2,
								     false)));
	ckpt_store32le(p1 + 1, ckpt_crc_mask(ckpt_string_lengths_crc(lens + 2,
								     1, false)));
	ckpt_store32le(want + 5,
		       ckpt_crc_mask(ckpt_string_lengths_crc(lens, 3, false)));
	snprintf(prefix, sizeof(prefix), "%s/pad", tmp);
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	CHECK_EQ_INT(ckpt_slice_key_encode("x", 1, &sx[0], 1, &k), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, k.data, k.len, CKPT_DT_STRING, l2, 1, p0,
				     sizeof(p0), &err),
		     0);
	k.len = 0;
	CHECK_EQ_INT(ckpt_slice_key_encode("x", 1, &sx[1], 1, &k), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, k.data, k.len, CKPT_DT_STRING, l1, 1, p1,
				     sizeof(p1), &err),
		     0);
	ckpt_buf_free(&k);
	CHECK_EQ_INT(ckpt_writer_add_partitioned(w, "x", 1, CKPT_DT_STRING, d3,
						 1, sx, 2, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	e = ckpt_bundle_find(b, "x", 1);
	CHECK(e != NULL);
	CHECK_EQ_U64(e->size, sizeof(want));
	CHECK_EQ_INT(ckpt_bundle_read(b, e, &buf, &len, &err), 0);
	CHECK_EQ_MEM(buf, len, want, sizeof(want));
	free(buf);
	for (size_t off = 0; off < sizeof(want); off++) {
		memset(got, 0xee, sizeof(got));
		CHECK_EQ_INT(ckpt_bundle_pread(b, e, got, sizeof(want) - off, off,
					       &n),
			     0);
		CHECK(memcmp(got, want + off, n) == 0 && n == sizeof(want) - off);
	}
	ckpt_bundle_close(b);
}

/* xorshift64: the random tests' numbers, the same on every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random partitioned string tensors (rank 1 to 3, dims 1 to 4, each dim
 * cut in up to three (a dim of 0 now and then), full extents stored as
 * -1 or spelled out, lengths 0 to 299) read as ckpt_string_encode() makes
 * the tensor whole, at random offsets and lengths.  Those whose parts are
 * each one run of the whole are mapped with a few numbers per part, the
 * others per element; both kinds come up. */
static void
test_partitioned_strings_random(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15u;
	int nrows = 0, nelems = 0;

	for (int round = 0; round < 60; round++) {
		int64_t dims[3];
		int rank = 1 + (int)(rnd(&seed) % 3), ncut[3];
		int64_t cut[3][4];
		uint64_t n = 1, lens[64];
		const uint8_t *data[64];
		uint8_t bytes[64][300];
		struct ckpt_extent slices[27 * 3];
		size_t nslices = 1;
		char prefix[PATH_MAX];
		struct ckpt_writer_opts o = { .producer = 1, .num_shards = 2 };
		struct ckpt_buf want = { 0 };
		struct ckpt_err err = { 0 };
		struct ckpt_writer *w;
		struct ckpt_bundle *b;
		const struct ckpt_entry *e;
		uint8_t *buf, got[64 * 310];
		uint32_t crc;
		size_t len, m;
		bool rows = true;

		for (int k = 0; k < rank; k++) {
			dims[k] = rnd(&seed) % 12 == 0
					  ? 0
					  : 1 + (int64_t)(rnd(&seed) % 4);
			n *= (uint64_t)dims[k];
			/* cut points 0 = c0 < c1 < ... = dims[k] */
			ncut[k] = 1;
			cut[k][0] = 0;
			for (int64_t x = 1; x < dims[k] && ncut[k] < 3; x++)
				if (rnd(&seed) % 2)
					cut[k][ncut[k]++] = x;
			cut[k][ncut[k]] = dims[k];
			nslices *= (size_t)ncut[k];
		}
		for (uint64_t i = 0; i < n; i++) {
			lens[i] = rnd(&seed) % 4 == 0 ? 0 : rnd(&seed) % 300;
			for (uint64_t j = 0; j < lens[i]; j++)
				bytes[i][j] = (uint8_t)rnd(&seed);
			data[i] = bytes[i];
		}
		CHECK_EQ_INT(ckpt_string_encode(data, lens, n, &want, &crc), 0);
		snprintf(prefix, sizeof(prefix), "%s/rs%d", tmp, round);
		CHECK_EQ_INT(ckpt_writer_new(prefix, &o, &w, &err), 0);
		for (size_t s = 0; s < nslices; s++) {
			struct ckpt_extent *x = &slices[s * (size_t)rank];
			int64_t plen[3];
			size_t r = s, pi[64], np = 1, q = 0;
			uint64_t idx[3] = { 0 };

			for (int k = rank - 1; k >= 0; k--) {
				int c = (int)(r % (size_t)ncut[k]);

				r /= (size_t)ncut[k];
				x[k].start = cut[k][c];
				plen[k] = cut[k][c + 1] - cut[k][c];
				x[k].length = plen[k];
				if (plen[k] == dims[k] && rnd(&seed) % 2)
					x[k].length = -1;
				np *= (size_t)plen[k];
			}
			/* the part's elements, row-major in the part */
			for (size_t j = 0; j < np; j++) {
				uint64_t fi = 0;

				for (int k = 0; k < rank; k++)
					fi = fi * (uint64_t)dims[k] +
					     (uint64_t)x[k].start + idx[k];
				pi[q++] = (size_t)fi;
				for (int k = rank - 1; k >= 0; k--) {
					if (++idx[k] < (uint64_t)plen[k])
						break;
					idx[k] = 0;
				}
			}
			/* (the indexes ascend) */
			if (np > 0 && pi[np - 1] - pi[0] != np - 1)
				rows = false;
			ckpt_writer_select_shard(w, (int32_t)(rnd(&seed) % 2));
			add_string_part(w, "t", x, plen, rank, data, lens, pi,
					np);
		}
		CHECK_EQ_INT(ckpt_writer_add_partitioned(w, "t", 1,
							 CKPT_DT_STRING, dims,
							 rank, slices, nslices,
							 &err),
			     0);
		CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
		ckpt_writer_free(w);
		CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
		e = ckpt_bundle_find(b, "t", 1);
		CHECK(e != NULL && e->nparts == nslices);
		CHECK_EQ_U64(e->size, want.len);
		CHECK_EQ_INT(ckpt_bundle_read(b, e, &buf, &len, &err), 0);
		CHECK_EQ_MEM(buf, len, want.data, want.len);
		free(buf);
		for (int t = 0; t < 200; t++) {
			uint64_t off = rnd(&seed) % (want.len + 1);
			size_t l = (size_t)(rnd(&seed) % (want.len - off + 2));

			CHECK_EQ_INT(ckpt_bundle_pread(b, e, got, l, off, &m), 0);
			CHECK_EQ_U64(m, off + l > want.len ? want.len - off : l);
			CHECK(memcmp(got, want.data + off, m) == 0);
		}
		if (rows) {
			CHECK(ckpt_bundle_map_bytes(b) <= 16 + 28 * nslices);
			nrows++;
		} else {
			CHECK(ckpt_bundle_map_bytes(b) >= 28 * n);
			nelems++;
		}
		ckpt_bundle_close(b);
		ckpt_buf_free(&want);
	}
	CHECK(nrows >= 10 && nelems >= 10);
	printf("partitioned strings: %d one run per part, %d mapped per "
	       "element\n", nrows, nelems);
}

/* A vocabulary of 300,000 strings in three row slices, two of them in one
 * shard, read whole and in pieces: the map holds a few numbers per part
 * (the lengths of the second, 152 KB of one- and two-byte varints, are
 * read in windows of 64 KiB). */
static void
test_partitioned_strings_vocab(void)
{
	enum { N = 300000 };
	static const int64_t dims[] = { N };
	static const struct ckpt_extent x[] = { { 0, 100000 },
						{ 100000, 150001 },
						{ 250001, 49999 } };
	char prefix[PATH_MAX];
	struct ckpt_writer_opts o = { .producer = 1, .num_shards = 2 };
	struct ckpt_buf want = { 0 }, k = { 0 }, v = { 0 };
	struct ckpt_err err = { 0 };
	const uint8_t **d = calloc(N, sizeof(*d));
	uint64_t *l = calloc(N, sizeof(*l)), seed = 7;
	uint8_t text[200], *buf;
	struct ckpt_writer *w;
	struct ckpt_bundle *b;
	const struct ckpt_entry *e;
	uint32_t crc;
	size_t len, n;

	CHECK(d != NULL && l != NULL);
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)('a' + i % 26);
	for (size_t i = 0; i < N; i++) {
		d[i] = text + i % 17;
		l[i] = i % 89 == 0 ? 128 + i % 50 : i % 3;
	}
	CHECK_EQ_INT(ckpt_string_encode(d, l, N, &want, &crc), 0);
	snprintf(prefix, sizeof(prefix), "%s/vocab", tmp);
	CHECK_EQ_INT(ckpt_writer_new(prefix, &o, &w, &err), 0);
	for (int p = 0; p < 3; p++) {
		int64_t plen[1] = { x[p].length };

		ckpt_writer_select_shard(w, p == 1);
		v.len = k.len = 0;
		CHECK_EQ_INT(ckpt_string_encode(d + x[p].start,
						l + x[p].start,
						(uint64_t)x[p].length, &v,
						&crc),
			     0);
		CHECK_EQ_INT(ckpt_slice_key_encode("vocab", 5, &x[p], 1, &k),
			     0);
		CHECK_EQ_INT(ckpt_writer_add(w, k.data, k.len, CKPT_DT_STRING,
					     plen, 1, v.data, v.len, &err),
			     0);
	}
	CHECK_EQ_INT(ckpt_writer_add_partitioned(w, "vocab", 5, CKPT_DT_STRING,
						 dims, 1, x, 3, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	e = ckpt_bundle_find(b, "vocab", 5);
	CHECK(e != NULL && e->nparts == 3);
	CHECK_EQ_U64(e->size, want.len);
	CHECK_EQ_INT(ckpt_bundle_read(b, e, &buf, &len, &err), 0);
	CHECK_EQ_MEM(buf, len, want.data, want.len);
	free(buf);
	CHECK(ckpt_bundle_map_bytes(b) <= 128);
	buf = malloc(70000);
	CHECK(buf != NULL);
	for (int t = 0; t < 300; t++) {
		uint64_t off = rnd(&seed) % (want.len + 1);
		size_t want_n = (size_t)(rnd(&seed) % 70000);

		CHECK_EQ_INT(ckpt_bundle_pread(b, e, buf, want_n, off, &n), 0);
		CHECK_EQ_U64(n, off + want_n > want.len ? want.len - off
							: want_n);
		CHECK(memcmp(buf, want.data + off, n) == 0);
	}
	free(buf);
	ckpt_bundle_close(b);
	ckpt_buf_free(&want);
	ckpt_buf_free(&k);
	ckpt_buf_free(&v);
	free(d);
	free(l);
}

/* Copy file SRC to DST, optionally flipping byte FLIP (-1: none) and
 * truncating to LEN (SIZE_MAX: whole). */
static void
copy_file(const char *src, const char *dst, long flip, size_t len)
{
	FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
	size_t i = 0;
	int c;

	CHECK(in != NULL && out != NULL);
	while (i < len && (c = fgetc(in)) != EOF) {
		if ((long)i == flip)
			c ^= 0x40;
		fputc(c, out);
		i++;
	}
	fclose(in);
	fclose(out);
}

/* Size of file PATH. */
static size_t
file_size(const char *path)
{
	struct stat st;

	CHECK_EQ_INT(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* A data file cut short: a tensor past the cut is cut, an empty one past
 * it is not (it has no bytes to miss), and one whose file is put back
 * while open is whole again. */
static void
test_cut_short(void)
{
	static const int64_t d2[] = { 2 }, d03[] = { 0, 3 };
	static const float v[2] = { 1, 2 };
	char prefix[PATH_MAX], data[PATH_MAX + 32], keep[PATH_MAX + 32];
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	struct ckpt_bundle *b;
	const struct ckpt_entry *a, *e;

	snprintf(prefix, sizeof(prefix), "%s/cut", tmp);
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, "a", 1, CKPT_DT_FLOAT, d2, 1, v, 8,
				     &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add(w, "e", 1, CKPT_DT_FLOAT, d03, 2, NULL, 0,
				     &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	snprintf(data, sizeof(data), "%s.data-00000-of-00001", prefix);
	snprintf(keep, sizeof(keep), "%s.keep", prefix);
	copy_file(data, keep, -1, SIZE_MAX);
	copy_file(keep, data, -1, 4);	/* a: 4 of its 8 bytes; e at 8 */
	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	a = ckpt_bundle_find(b, "a", 1);
	e = ckpt_bundle_find(b, "e", 1);
	CHECK(a != NULL && e != NULL && e->size == 0 && e->offset == 8);
	CHECK_EQ_U64(b->nshort, 1);
	CHECK(strstr(b->warning, "tensor 'a' (8 bytes at offset 0)") != NULL);
	CHECK(ckpt_bundle_entry_short(b, a));
	CHECK(!ckpt_bundle_entry_short(b, e));
	CHECK_EQ_INT(ckpt_bundle_verify(b, e, &err), 0);
	CHECK_EQ_INT(ckpt_bundle_verify(b, a, &err), -EIO);
	/* put back in place (the same file, written again) */
	{
		FILE *in = fopen(keep, "rb"), *out = fopen(data, "r+b");
		int c;

		CHECK(in != NULL && out != NULL);
		while ((c = fgetc(in)) != EOF)
			fputc(c, out);
		fclose(in);
		fclose(out);
	}
	CHECK(!ckpt_bundle_entry_short(b, a));
	/* changed since it was opened: refused until taken as it is */
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_bundle_verify(b, a, &err), -ESTALE);
	CHECK(ckpt_bundle_entry_stale(b, a));
	CHECK(ckpt_bundle_entry_changed(b, a));
	ckpt_err_clear(&err);
	CHECK_EQ_U64(ckpt_bundle_rebase(b, &err), 1);
	CHECK(strstr(err.msg, ".data-00000-of-00001: changed while open") !=
	      NULL);
	CHECK(!ckpt_bundle_entry_stale(b, a));
	CHECK(ckpt_bundle_entry_changed(b, a));	/* (ever) */
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_bundle_verify(b, a, &err), 0);
	CHECK_EQ_U64(ckpt_bundle_rebase(b, &err), 0);
	ckpt_bundle_close(b);
}

static void
test_damaged(void)
{
	char prefix[PATH_MAX], src[PATH_MAX + 32], dst[PATH_MAX + 32];
	char bad[PATH_MAX];
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b;
	float ref[30];
	size_t isz, dsz;
	int rc;

	snprintf(prefix, sizeof(prefix), "%s/good", tmp);
	snprintf(bad, sizeof(bad), "%s/bad", tmp);
	write_partitioned(prefix, ref);

	/* A flipped data byte: the open works, the verify names the key. */
	snprintf(src, sizeof(src), "%s.index", prefix);
	snprintf(dst, sizeof(dst), "%s.index", bad);
	copy_file(src, dst, -1, SIZE_MAX);
	snprintf(src, sizeof(src), "%s.data-00001-of-00002", prefix);
	snprintf(dst, sizeof(dst), "%s.data-00001-of-00002", bad);
	dsz = file_size(src);
	copy_file(src, dst, (long)dsz - 1, SIZE_MAX);	/* "plain" */
	snprintf(src, sizeof(src), "%s.data-00000-of-00002", prefix);
	snprintf(dst, sizeof(dst), "%s.data-00000-of-00002", bad);
	copy_file(src, dst, 0, SIZE_MAX);	/* first slice of "w" */
	CHECK_EQ_INT(ckpt_bundle_open(bad, &b, &err), 0);
	rc = ckpt_bundle_verify(b, ckpt_bundle_find(b, "plain", 5), &err);
	CHECK_EQ_INT(rc, -EBADMSG);
	CHECK(strstr(err.msg, "'plain'") != NULL);
	CHECK(strstr(err.msg, "crc32c mismatch") != NULL);
	ckpt_err_clear(&err);
	rc = ckpt_bundle_verify(b, ckpt_bundle_find(b, "w", 1), &err);
	CHECK_EQ_INT(rc, -EBADMSG);
	/* the damaged slice, named with its extents */
	CHECK(strstr(err.msg, "tensor 'w[0:4,0:2]': crc32c mismatch") != NULL);
	CHECK_EQ_INT(ckpt_bundle_verify(b, ckpt_bundle_find(b, "v", 1), &err),
		     0);
	/* Reading checks each part as it reads it. */
	{
		uint8_t *buf = (uint8_t *)&err;
		size_t len = 1;

		ckpt_err_clear(&err);
		CHECK_EQ_INT(ckpt_bundle_read(b, ckpt_bundle_find(b, "w", 1),
					      &buf, &len, &err),
			     -EBADMSG);
		CHECK(buf == NULL && len == 0);
		CHECK(strstr(err.msg, "'w[0:4,0:2]'") != NULL);
		CHECK_EQ_INT(ckpt_bundle_read(b, ckpt_bundle_find(b, "v", 1),
					      &buf, &len, &err),
			     0);
		CHECK_EQ_INT(len, 7 * 3 * 4);	/* float32 [7,3] */
		free(buf);
	}
	ckpt_bundle_close(b);

	/* A shard cut short: it opens with a warning naming the shard and
	 * the first tensor cut; that one fails to read, the rest read. */
	snprintf(src, sizeof(src), "%s.data-00001-of-00002", prefix);
	snprintf(dst, sizeof(dst), "%s.data-00001-of-00002", bad);
	copy_file(src, dst, -1, dsz - 2);
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_bundle_open(bad, &b, &err), 0);
	CHECK_EQ_U64(b->nshort, 1);
	CHECK(b->warning != NULL &&
	      strstr(b->warning, "data-00001-of-00002: tensor 'plain' (4 "
				 "bytes at offset ") != NULL &&
	      strstr(b->warning, "runs past the end of the file") != NULL);
	CHECK(ckpt_bundle_entry_short(b, ckpt_bundle_find(b, "plain", 5)));
	CHECK(!ckpt_bundle_entry_short(b, ckpt_bundle_find(b, "v", 1)));
	CHECK_EQ_INT(ckpt_bundle_verify(b, ckpt_bundle_find(b, "plain", 5), &err),
		     -EIO);
	CHECK(strstr(err.msg, "data-00001-of-00002: tensor 'plain': the file "
			      "is shorter than the index says") != NULL);
	CHECK_EQ_INT(ckpt_bundle_verify(b, ckpt_bundle_find(b, "v", 1), &err),
		     0);
	ckpt_bundle_close(b);

	/* A missing shard: as one cut to nothing, with a warning. */
	unlink(dst);
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_bundle_open(bad, &b, &err), 0);
	CHECK(b->nshort > 0);
	CHECK(b->warning != NULL &&
	      strstr(b->warning, "bad.data-00001-of-00002: no such data "
				 "file, which holds tensor '") != NULL);
	CHECK(ckpt_bundle_entry_short(b, ckpt_bundle_find(b, "plain", 5)));
	CHECK_EQ_INT(ckpt_bundle_verify(b, ckpt_bundle_find(b, "plain", 5),
					&err),
		     -EIO);
	CHECK(strstr(err.msg, "data-00001-of-00002: tensor 'plain': no such "
			      "data file") != NULL);
	ckpt_bundle_close(b);
	copy_file(src, dst, -1, SIZE_MAX);

	/* Every truncation and every flipped byte of the index: an error or
	 * a bundle whose reads are all safe, never a crash. */
	snprintf(src, sizeof(src), "%s.index", prefix);
	snprintf(dst, sizeof(dst), "%s.index", bad);
	isz = file_size(src);
	for (size_t l = 0; l < isz; l++) {
		copy_file(src, dst, -1, l);
		ckpt_err_clear(&err);
		CHECK(ckpt_bundle_open(bad, &b, &err) < 0);
		CHECK(strstr(err.msg, "bad") != NULL);
	}
	for (size_t i = 0; i < isz; i++) {
		copy_file(src, dst, (long)i, SIZE_MAX);
		ckpt_err_clear(&err);
		rc = ckpt_bundle_open(bad, &b, &err);
		if (rc == 0) {
			for (size_t k = 0; k < b->n; k++) {
				uint8_t *buf;
				size_t len;

				if (ckpt_bundle_read(b, &b->entries[k], &buf,
						     &len, &err) == 0)
					free(buf);
			}
			ckpt_bundle_close(b);
		} else {
			CHECK(err.msg[0] != '\0');
		}
	}
}

/* Build an index by hand: the header, then KEYS (of KLENS bytes; NULL:
 * C strings) with raw entry VALS. */
static int
open_hand_index_k(const char *const *keys, const size_t *klens,
		  const char *const *vals, const size_t *vlens, size_t n,
		  struct ckpt_err *err)
{
	static const uint8_t header[] = { 0x08, 0x01, 0x1a, 0x02, 0x08, 0x01 };
	struct ckpt_table_builder *tb;
	struct ckpt_buf out = { 0 };
	struct ckpt_bundle *b;
	uint8_t *copy;
	int rc;

	CHECK_EQ_INT(ckpt_table_builder_new(NULL, &tb), 0);
	CHECK_EQ_INT(ckpt_table_builder_add(tb, "", 0, header, sizeof(header)),
		     0);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ_INT(ckpt_table_builder_add(tb, keys[i],
						    klens ? klens[i]
							  : strlen(keys[i]),
						    vals[i], vlens[i]),
			     0);
	CHECK_EQ_INT(ckpt_table_builder_finish(tb, &out), 0);
	ckpt_table_builder_free(tb);
	copy = check_memdup(out.data, out.len);
	rc = ckpt_bundle_open_mem(copy, out.len, "hand.index", &b, err);
	if (rc == 0 && b->nbad > 0) {
		/* An entry it cannot use is kept, under its key, with no
		 * bytes: reading it fails, verifying it says why (and so
		 * does the warning, for the first), and the others stay. */
		const struct ckpt_entry *e = NULL;
		size_t nbad = 0, got = 1;
		uint8_t byte;

		for (size_t i = 0; i < b->n; i++)
			if (ckpt_entry_is_bad(&b->entries[i])) {
				e = e != NULL ? e : &b->entries[i];
				nbad++;
			} else {
				CHECK(ckpt_bundle_entry_bad(b, &b->entries[i]) ==
				      NULL);
			}
		CHECK_EQ_U64(nbad, b->nbad);
		CHECK(e != NULL && e->size == 0 && e->rank == 0 &&
		      e->nparts == 0 && !e->is_part);
		CHECK_EQ_INT(ckpt_bundle_pread(b, e, &byte, 1, 0, &got), -EIO);
		CHECK_EQ_U64(got, 0);
		rc = ckpt_bundle_verify(b, e, err);
		CHECK_EQ_INT(rc, -EBADMSG);
		CHECK_EQ_STR(err->msg, ckpt_bundle_entry_bad(b, e));
		CHECK(b->warning != NULL &&
		      strncmp(b->warning, err->msg, strlen(err->msg)) == 0);
	}
	ckpt_bundle_close(b);
	free(copy);
	ckpt_buf_free(&out);
	return rc;
}

static int
open_hand_index(const char *const *keys, const char *const *vals,
		const size_t *vlens, size_t n, struct ckpt_err *err)
{
	return open_hand_index_k(keys, NULL, vals, vlens, n, err);
}

/* Hostile entries, each kept as unusable, with its own message. */
static void
test_hostile_entries(void)
{
	static const struct {
		const char *val;
		size_t len;
		int rc;
		const char *msg;
	} cases[] = {
		/* dtype 99 */
		{ "\x08\x63\x12\x00\x28\x04", 6, -EBADMSG, "unknown dtype 99" },
		/* DT_RESOURCE */
		{ "\x08\x14\x12\x00", 4, -EBADMSG, "unstorable" },
		/* float scalar with size 8 */
		{ "\x08\x01\x12\x00\x28\x08", 6, -EBADMSG,
		  "has 8 bytes, but its shape needs 4 (1 x float32)" },
		/* absurd size 2^63-1 */
		{ "\x08\x01\x12\x00\x28\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 14,
		  -EBADMSG, "has 9223372036854775807 bytes" },
		/* negative offset */
		{ "\x08\x01\x12\x00\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"
		  "\x28\x04",
		  17, -EBADMSG, "negative" },
		/* dims 2^40 x 2^40: the element count overflows */
		{ "\x08\x01\x12\x12\x12\x07\x08\x80\x80\x80\x80\x80\x20"
		  "\x12\x07\x08\x80\x80\x80\x80\x80\x20",
		  22, -EBADMSG,
		  "invalid shape [1099511627776,1099511627776]: more than "
		  "2^63 elements" },
		/* a negative dim */
		{ "\x08\x01\x12\x0d\x12\x0b\x08\xff\xff\xff\xff\xff\xff\xff\xff"
		  "\xff\x01",
		  17, -EBADMSG, "invalid shape [-1]: a negative dimension" },
		/* unknown rank */
		{ "\x08\x01\x12\x02\x18\x01", 6, -EBADMSG, "unknown rank" },
		/* not a protobuf */
		{ "\xff\xff\xff", 3, -EBADMSG, "not a valid BundleEntryProto" },
		/* a partitioned tensor without its slice entry */
		{ "\x08\x01\x12\x04\x12\x02\x08\x04\x3a\x04\x0a\x02\x10\x02", 14,
		  -EBADMSG, "lacks the entry" },
		/* a partitioned variant tensor */
		{ "\x08\x15\x12\x04\x12\x02\x08\x04\x3a\x04\x0a\x02\x10\x02", 14,
		  -EBADMSG, "'x' has dtype variant, which cannot be assembled" },
		/* a partitioned string tensor without its slice entry */
		{ "\x08\x07\x12\x04\x12\x02\x08\x04\x3a\x04\x0a\x02\x10\x02", 14,
		  -EBADMSG, "lacks the entry" },
		/* a slice outside the shape */
		{ "\x08\x01\x12\x04\x12\x02\x08\x04\x3a\x06\x0a\x04\x08\x03\x10\x02",
		  16, -EBADMSG, "outside its shape" },
		/* a string tensor of 10 elements in 4 bytes */
		{ "\x08\x07\x12\x04\x12\x02\x08\x0a\x28\x04", 10, -EBADMSG,
		  "too small" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *keys[] = { "x" };
		const char *vals[] = { cases[i].val };
		size_t lens[] = { cases[i].len };
		struct ckpt_err err = { 0 };
		int rc = open_hand_index(keys, vals, lens, 1, &err);

		if (rc != cases[i].rc || strstr(err.msg, cases[i].msg) == NULL)
			fprintf(stderr, "case %zu: rc %d msg '%s'\n", i, rc,
				err.msg);
		CHECK_EQ_INT(rc, cases[i].rc);
		CHECK(strstr(err.msg, cases[i].msg) != NULL);
		CHECK(strstr(err.msg, "hand.index") != NULL);
	}
	{
		/* Shard id beyond num_shards (open_mem does not open files,
		 * but still checks ids). */
		const char *keys[] = { "x" };
		const char *vals[] = { "\x08\x01\x12\x00\x18\x05\x28\x04" };
		size_t lens[] = { 8 };
		struct ckpt_err err = { 0 };

		CHECK_EQ_INT(open_hand_index(keys, vals, lens, 1, &err), -EBADMSG);
		CHECK(strstr(err.msg, "shard 5") != NULL);
	}
	{
		/* Messages name a slice by its tensor and extents (its key
		 * starts with a NUL), and escape a quote in a key. */
		static const struct ckpt_extent x[] = { { 0, 2 }, { 0, -1 } };
		struct ckpt_buf k = { 0 };
		const char *keys[1], *vals[] = { "\x08\x63\x12\x00\x28\x04" };
		size_t klens[1], lens[] = { 6 };
		struct ckpt_err err = { 0 };

		CHECK_EQ_INT(ckpt_slice_key_encode("w", 1, x, 2, &k), 0);
		keys[0] = (const char *)k.data;
		klens[0] = k.len;
		CHECK_EQ_INT(open_hand_index_k(keys, klens, vals, lens, 1, &err),
			     -EBADMSG);
		CHECK_EQ_STR(err.msg, "hand.index: tensor 'w[0:2,:]' has unknown "
				      "dtype 99");
		ckpt_buf_free(&k);
		keys[0] = "a'b\\";
		memset(&err, 0, sizeof(err));
		CHECK_EQ_INT(open_hand_index(keys, vals, lens, 1, &err), -EBADMSG);
		CHECK_EQ_STR(err.msg, "hand.index: tensor 'a\\x27b\\x5c' has "
				      "unknown dtype 99");
	}
	{
		/* x [4] in slices [0:2] and [2:4], the second's entry of
		 * shape [3]: x cannot be used, and the slice it had claimed
		 * is an entry of its own again, as is the other. */
		static const struct ckpt_extent e0[] = { { 0, 2 } },
						e1[] = { { 2, 2 } };
		static const char full[] =
			"\x08\x01\x12\x04\x12\x02\x08\x04"
			"\x3a\x04\x0a\x02\x10\x02"
			"\x3a\x06\x0a\x04\x08\x02\x10\x02";
		struct ckpt_buf k0 = { 0 }, k1 = { 0 }, out = { 0 };
		static const uint8_t header[] = { 0x08, 0x01, 0x1a, 0x02,
						  0x08, 0x01 };
		struct ckpt_table_builder *tb;
		struct ckpt_err err = { 0 };
		struct ckpt_bundle *b = NULL;
		const struct ckpt_entry *x;

		CHECK_EQ_INT(ckpt_slice_key_encode("x", 1, e0, 1, &k0), 0);
		CHECK_EQ_INT(ckpt_slice_key_encode("x", 1, e1, 1, &k1), 0);
		CHECK(ckpt_key_cmp(k0.data, k0.len, k1.data, k1.len) < 0);
		CHECK_EQ_INT(ckpt_table_builder_new(NULL, &tb), 0);
		CHECK_EQ_INT(ckpt_table_builder_add(tb, "", 0, header,
						    sizeof(header)),
			     0);
		CHECK_EQ_INT(ckpt_table_builder_add(
				     tb, k0.data, k0.len,
				     "\x08\x01\x12\x04\x12\x02\x08\x02\x28\x08",
				     10),
			     0);
		CHECK_EQ_INT(ckpt_table_builder_add(
				     tb, k1.data, k1.len,
				     "\x08\x01\x12\x04\x12\x02\x08\x03\x28\x0c",
				     10),
			     0);
		CHECK_EQ_INT(ckpt_table_builder_add(tb, "x", 1, full,
						    sizeof(full) - 1),
			     0);
		CHECK_EQ_INT(ckpt_table_builder_finish(tb, &out), 0);
		ckpt_table_builder_free(tb);
		CHECK_EQ_INT(ckpt_bundle_open_mem(out.data, out.len, "hand.index",
						  &b, &err),
			     0);
		CHECK_EQ_U64(b->n, 3);
		CHECK_EQ_U64(b->nbad, 1);
		CHECK_EQ_U64(b->nvisible, 3);
		x = ckpt_bundle_find(b, "x", 1);
		CHECK(x != NULL && ckpt_entry_is_bad(x) && x->nparts == 0);
		CHECK_EQ_STR(ckpt_bundle_entry_bad(b, x),
			     "hand.index: slice 1 of 'x' has the wrong shape");
		for (size_t i = 0; i < 2; i++) {
			CHECK(!b->entries[i].is_part);
			CHECK(!ckpt_entry_is_bad(&b->entries[i]));
		}
		CHECK_EQ_INT(b->entries[1].dims[0], 3);
		ckpt_bundle_close(b);
		ckpt_buf_free(&k0);
		ckpt_buf_free(&k1);
		ckpt_buf_free(&out);
	}
	{
		/* A header with a bad version or no shards. */
		static const struct {
			const char *hdr;
			size_t len;
			const char *msg;
		} hdrs[] = {
			{ "\x08\x01\x1a\x02\x10\x05", 6, "version 5" },
			{ "\x08\x01\x1a\x02\x18\x01", 6, "disallows" },
			{ "\x1a\x02\x08\x01", 4, "0 data shards" },
			{ "\x08\x01\x10\x07\x1a\x02\x08\x01", 8, "endianness" },
			{ "\x08", 1, "not a valid BundleHeaderProto" },
		};
		for (size_t i = 0; i < ARRAY_SIZE(hdrs); i++) {
			struct ckpt_table_builder *tb;
			struct ckpt_buf out = { 0 };
			struct ckpt_err err = { 0 };
			struct ckpt_bundle *b;

			CHECK_EQ_INT(ckpt_table_builder_new(NULL, &tb), 0);
			CHECK_EQ_INT(ckpt_table_builder_add(tb, "", 0, hdrs[i].hdr,
							    hdrs[i].len),
				     0);
			CHECK_EQ_INT(ckpt_table_builder_finish(tb, &out), 0);
			ckpt_table_builder_free(tb);
			CHECK(ckpt_bundle_open_mem(out.data, out.len, "h.index",
						   &b, &err) < 0);
			CHECK(strstr(err.msg, hdrs[i].msg) != NULL);
			ckpt_buf_free(&out);
		}
	}
}

/* A big-endian bundle (endianness 1): opened, its bytes served as
 * stored, CRCs over the file bytes, values decoded by swapping. */
static void
test_big_endian(void)
{
	static const uint8_t be[8] = { 0x3f, 0x00, 0x00, 0x00,	/* 0.5 */
				       0xc0, 0x40, 0x00, 0x00 };	/* -3 */
	static const int64_t d2[] = { 2 };
	struct ckpt_writer_opts o = { 0 };
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	struct ckpt_bundle *b;
	struct ckpt_buf txt = { 0 };
	char prefix[PATH_MAX];
	uint8_t *buf;
	size_t len;

	snprintf(prefix, sizeof(prefix), "%s/bigendian", tmp);
	o.producer = 1;
	o.endianness = 1;
	CHECK_EQ_INT(ckpt_writer_new(prefix, &o, &w, &err), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, "x", 1, CKPT_DT_FLOAT, d2, 1, be, 8,
				     &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	CHECK_EQ_INT(b->hdr.endianness, 1);
	CHECK_EQ_INT(ckpt_bundle_read(b, &b->entries[0], &buf, &len, &err), 0);
	CHECK_EQ_MEM(buf, len, be, 8);
	CHECK_EQ_INT(ckpt_value_format(CKPT_DT_FLOAT, buf, true, &txt), 0);
	CHECK_EQ_INT(ckpt_buf_put(&txt, " ", 1), 0);
	CHECK_EQ_INT(ckpt_value_format(CKPT_DT_FLOAT, buf + 4, true, &txt), 0);
	CHECK_EQ_INT(ckpt_buf_put(&txt, "", 1), 0);
	CHECK_EQ_STR((const char *)txt.data, "0.5 -3");
	ckpt_buf_free(&txt);
	free(buf);
	ckpt_bundle_close(b);
}

/* A tensor large enough to be checked in two halves by two threads: good,
 * then one byte damaged in each half in turn, then truncated. */
static void
test_verify_split(void)
{
	enum { ELEMS = (64 << 20) / 4 + 3 };	/* just over the split size */
	char prefix[PATH_MAX], data[PATH_MAX + 32];
	struct ckpt_writer_opts o = { .producer = 1, .num_shards = 1 };
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	struct ckpt_bundle *b;
	int64_t dims[1] = { ELEMS };
	uint32_t *v = malloc((size_t)ELEMS * 4);
	const off_t where[2] = { 1000, (off_t)ELEMS * 4 - 1 };
	uint8_t byte, *rbuf;
	size_t rlen;
	int fd;

	CHECK(v != NULL);
	for (uint32_t i = 0; i < ELEMS; i++)
		v[i] = i * 2654435761u;
	snprintf(prefix, sizeof(prefix), "%s/split", tmp);
	CHECK_EQ_INT(ckpt_writer_new(prefix, &o, &w, &err), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, "big", 3, CKPT_DT_UINT32, dims, 1, v,
				     (size_t)ELEMS * 4, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	free(v);
	snprintf(data, sizeof(data), "%s.data-00000-of-00001", prefix);
	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	CHECK_EQ_INT(ckpt_bundle_verify(b, &b->entries[0], &err), 0);
	fd = open(data, O_RDWR);
	CHECK(fd >= 0);
	for (int k = 0; k < 2; k++) {
		CHECK_EQ_INT(pread(fd, &byte, 1, where[k]), 1);
		byte ^= 0x10;
		CHECK_EQ_INT(pwrite(fd, &byte, 1, where[k]), 1);
		/* Written while open: refused as such, the damage unseen;
		 * opened again, the damage is found. */
		ckpt_err_clear(&err);
		CHECK_EQ_INT(ckpt_bundle_verify(b, &b->entries[0], &err),
			     -ESTALE);
		CHECK(strstr(ckpt_err_str(&err, -ESTALE),
			     "changed while it was read") != NULL);
		CHECK(ckpt_bundle_entry_stale(b, &b->entries[0]));
		CHECK_EQ_U64(ckpt_bundle_rebase(b, NULL), 1);
		CHECK(!ckpt_bundle_entry_stale(b, &b->entries[0]));
		ckpt_err_clear(&err);
		CHECK_EQ_INT(ckpt_bundle_verify(b, &b->entries[0], &err),
			     -EBADMSG);
		CHECK(strstr(ckpt_err_str(&err, -EBADMSG),
			     "tensor 'big': crc32c mismatch") != NULL);
		/* Reading it whole checks the bytes it read. */
		CHECK_EQ_INT(ckpt_bundle_read(b, &b->entries[0], &rbuf, &rlen,
					      &err),
			     -EBADMSG);
		CHECK(rbuf == NULL);
		byte ^= 0x10;
		CHECK_EQ_INT(pwrite(fd, &byte, 1, where[k]), 1);
		ckpt_bundle_poll(b);
		CHECK_EQ_U64(ckpt_bundle_rebase(b, NULL), 1);
		CHECK_EQ_INT(ckpt_bundle_verify(b, &b->entries[0], &err), 0);
	}
	CHECK_EQ_INT(ckpt_bundle_read(b, &b->entries[0], &rbuf, &rlen, &err),
		     0);
	CHECK_EQ_U64(rlen, (uint64_t)ELEMS * 4);
	CHECK_EQ_U64(((uint32_t *)(void *)rbuf)[ELEMS - 1],
		     (uint32_t)(ELEMS - 1) * 2654435761u);
	free(rbuf);
	/* Shorter than the index says: the second half cannot be read. */
	CHECK_EQ_INT(ftruncate(fd, (off_t)ELEMS * 4 - 8), 0);
	CHECK_EQ_INT(ckpt_bundle_verify(b, &b->entries[0], &err), -EIO);
	close(fd);
	ckpt_bundle_close(b);
}

int
main(void)
{
	check_mkdtemp(tmp, sizeof(tmp));
	test_real();
	test_partitioned();
	test_parts_overlap();
	test_partitioned_strings();
	test_partitioned_strings_random();
	test_partitioned_strings_vocab();
	test_partitioned_strings_padded();
	test_cut_short();
	test_damaged();
	test_hostile_entries();
	test_big_endian();
	test_verify_split();
	check_rmtree(tmp);
	return check_done("test_bundle");
}
