/* test_writer.c -- covers src/bundle_writer.c: every checkpoint that
 * TensorFlow wrote, read and written back unchanged, is byte-identical
 * (index and data); round trips of every dtype, strings, empty tensors
 * and many entries; refusals (bad sizes, duplicate keys) leave no files;
 * the entry proto matches TensorFlow's bytes; writing over a checkpoint
 * removes what crashed writers left and the old shards of another count,
 * keeps every unrelated file, replaces planted symlinks without following
 * them, and an unfinished writer leaves the old checkpoint as it was.
 * Copies placed to share blocks (emulated: CKPT_TEST_CLONE=copy) keep
 * their offset within a block, lie back to back where their source's did,
 * and hold their bytes, among removed and new tensors and tensors added
 * from a file. */
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
#include "crc32c.h"

static char tmp[PATH_MAX - 128];

/* Read file PATH whole; *LEN its size. */
static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	CHECK(f != NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	CHECK(buf != NULL);
	CHECK_EQ_INT(fread(buf, 1, (size_t)n, f), n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Files A and B have the same bytes. */
static void
check_same_file(const char *a, const char *b)
{
	size_t la, lb;
	uint8_t *x = read_file(a, &la), *y = read_file(b, &lb);

	if (la != lb || memcmp(x, y, la) != 0)
		fprintf(stderr, "differ: %s (%zu) vs %s (%zu)\n", a, la, b, lb);
	CHECK_EQ_MEM(x, la, y, lb);
	free(x);
	free(y);
}

/* Single-shard checkpoints at prefixes PA and PB have the same bytes. */
static void
check_same_ckpt(const char *pa, const char *pb)
{
	char a[PATH_MAX + 32], b[PATH_MAX + 32];

	snprintf(a, sizeof(a), "%s.index", pa);
	snprintf(b, sizeof(b), "%s.index", pb);
	check_same_file(a, b);
	snprintf(a, sizeof(a), "%s.data-00000-of-00001", pa);
	snprintf(b, sizeof(b), "%s.data-00000-of-00001", pb);
	check_same_file(a, b);
}

static void
test_real_byte_exact(void)
{
	const char *dir = check_realdata();
	struct dirent *de;
	DIR *d;
	int done = 0;

	if (dir == NULL)
		return;
	d = opendir(dir);
	CHECK(d != NULL);
	while ((de = readdir(d)) != NULL) {
		char src[PATH_MAX], out[PATH_MAX];
		size_t l = strlen(de->d_name);
		struct ckpt_err err = { 0 };
		struct ckpt_bundle *b;

		if (l < 7 || strcmp(de->d_name + l - 6, ".index") != 0)
			continue;
		snprintf(src, sizeof(src), "%s/%.*s", dir, (int)(l - 6),
			 de->d_name);
		snprintf(out, sizeof(out), "%s/%.*s", tmp, (int)(l - 6),
			 de->d_name);
		CHECK_EQ_INT(ckpt_bundle_open(src, &b, &err), 0);
		if (ckpt_bundle_rewrite(b, out, NULL, &err) != 0)
			fprintf(stderr, "%s: %s\n", src, err.msg);
		CHECK_EQ_INT(err.code, 0);
		check_same_ckpt(src, out);
		ckpt_bundle_close(b);
		done++;
	}
	closedir(d);
	CHECK_EQ_INT(done, 13);	/* every checkpoint in testdata/real */
}

/* FORMAT.md's worked example: the entry of "b" is TensorFlow's bytes. */
static void
test_entry_bytes(void)
{
	static const uint8_t want_index[] = {
		0x00, 0x00, 0x06, 0x08, 0x01, 0x1a, 0x02, 0x08, 0x01,
		0x00, 0x01, 0x0b, 0x61, 0x08, 0x01, 0x12, 0x00, 0x28, 0x04,
		0x35, 0x06, 0x38, 0x27, 0x1f,
		0x00, 0x01, 0x0d, 0x62, 0x08, 0x01, 0x12, 0x00, 0x20, 0x04,
		0x28, 0x04, 0x35, 0xef, 0xd6, 0x82, 0xc3,
		0x00, 0x01, 0x0d, 0x63, 0x08, 0x01, 0x12, 0x00, 0x20, 0x08,
		0x28, 0x04, 0x35, 0xef, 0xd6, 0x82, 0xc3,
	};
	static const float v[3] = { 0.5f, 3.0f, 3.0f };
	char prefix[PATH_MAX], path[PATH_MAX + 32];
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	uint8_t *buf;
	size_t len;

	snprintf(prefix, sizeof(prefix), "%s/h3", tmp);
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	/* Added out of key order: data order follows the adds. */
	CHECK_EQ_INT(ckpt_writer_add(w, "a", 1, CKPT_DT_FLOAT, NULL, 0, &v[0], 4,
				     &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add(w, "b", 1, CKPT_DT_FLOAT, NULL, 0, &v[1], 4,
				     &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add(w, "c", 1, CKPT_DT_FLOAT, NULL, 0, &v[2], 4,
				     &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	snprintf(path, sizeof(path), "%s.index", prefix);
	buf = read_file(path, &len);
	CHECK_EQ_INT(len, 151);
	CHECK_EQ_MEM(buf, sizeof(want_index), want_index, sizeof(want_index));
	free(buf);
	snprintf(path, sizeof(path), "%s.data-00000-of-00001", prefix);
	buf = read_file(path, &len);
	CHECK_EQ_MEM(buf, len, "\x00\x00\x00\x3f\x00\x00\x40\x40\x00\x00\x40\x40",
		     12);
	free(buf);
}

/* Add test_roundtrip()'s tensors to W: every fixed-size dtype as [3]
 * (added in reverse order), an empty tensor, strings and a key with NUL
 * and 0xff bytes.  Keys and shapes are in static storage, so a writer
 * that borrows them may keep them.  Return how many were added. */
static int
add_roundtrip_set(struct ckpt_writer *w, const uint8_t *data)
{
	static char keys[41][8];
	static const int64_t d[1] = { 3 }, d0[2] = { 0, 5 }, d2[1] = { 2 };
	const uint8_t *sv[2] = { (const uint8_t *)"ab", (const uint8_t *)"" };
	uint64_t sl[2] = { 2, 0 };
	struct ckpt_err err = { 0 };
	struct ckpt_buf s = { 0 };
	uint32_t crc;
	int n = 0;

	for (int dt = 40; dt > 0; dt--) {
		size_t esz = ckpt_dtype_size(dt);

		if (esz == 0 || !ckpt_dtype_storable(dt))
			continue;
		snprintf(keys[dt], sizeof(keys[dt]), "dt/%02d", dt);
		CHECK_EQ_INT(ckpt_writer_add(w, keys[dt], strlen(keys[dt]), dt,
					     d, 1, data, 3 * esz, &err),
			     0);
		n++;
	}
	CHECK_EQ_INT(ckpt_writer_add(w, "empty", 5, CKPT_DT_FLOAT, d0, 2, NULL,
				     0, &err),
		     0);
	CHECK_EQ_INT(ckpt_string_encode(sv, sl, 2, &s, &crc), 0);
	CHECK_EQ_U64(ckpt_crc_mask(crc), 0x4db08891);
	CHECK_EQ_INT(ckpt_writer_add(w, "str", 3, CKPT_DT_STRING, d2, 1, s.data,
				     s.len, &err),
		     0);
	ckpt_buf_free(&s);
	CHECK_EQ_INT(ckpt_writer_add(w, "odd\0\xff", 5, CKPT_DT_UINT8, d2, 1,
				     data, 2, &err),
		     0);
	return n + 3;
}

static void
test_roundtrip(void)
{
	char prefix[PATH_MAX];
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	struct ckpt_bundle *b;
	uint8_t data[64];
	int n;

	snprintf(prefix, sizeof(prefix), "%s/rt", tmp);
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	for (int i = 0; i < 64; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	n = add_roundtrip_set(w, data);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);

	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	CHECK_EQ_INT(b->n, n);
	for (size_t i = 0; i < b->n; i++) {
		const struct ckpt_entry *e = &b->entries[i];
		uint8_t *buf;
		size_t len;

		CHECK_EQ_INT(ckpt_bundle_read(b, e, &buf, &len, &err), 0);
		if (strncmp(e->key, "dt/", 3) == 0) {
			CHECK_EQ_INT(e->dtype, atoi(e->key + 3));
			CHECK_EQ_INT(len, 3 * ckpt_dtype_size(e->dtype));
			CHECK_EQ_MEM(buf, len, data, len);
		}
		free(buf);
	}
	{
		const struct ckpt_entry *e = ckpt_bundle_find(b, "odd\0\xff", 5);

		CHECK(e != NULL);
		CHECK_EQ_INT(e->key_len, 5);
		e = ckpt_bundle_find(b, "empty", 5);
		CHECK(e != NULL && e->size == 0 && e->rank == 2);
		CHECK_EQ_U64(e->crc32c, 0xa282ead8);
	}
	ckpt_bundle_close(b);
}

/* A writer that borrows keys and shapes writes test_roundtrip()'s
 * checkpoint byte for byte (the same adds, from storage that lives until
 * the writer is freed); a key repeated is named by its length, not up to
 * a NUL it need not have. */
static void
test_borrow(void)
{
	struct ckpt_writer_opts wo = { .producer = 1, .borrow = true };
	char prefix[PATH_MAX], rt[PATH_MAX];
	static const char dup[] = "dupXdupY";
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	uint8_t data[64];
	int32_t v = 7;

	snprintf(prefix, sizeof(prefix), "%s/rtb", tmp);
	CHECK_EQ_INT(ckpt_writer_new(prefix, &wo, &w, &err), 0);
	for (int i = 0; i < 64; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	add_roundtrip_set(w, data);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	snprintf(rt, sizeof(rt), "%s/rt", tmp);
	check_same_ckpt(rt, prefix);

	snprintf(prefix, sizeof(prefix), "%s/dupb", tmp);
	CHECK_EQ_INT(ckpt_writer_new(prefix, &wo, &w, &err), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, dup, 3, CKPT_DT_INT32, NULL, 0, &v, 4,
				     &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add(w, dup + 4, 3, CKPT_DT_INT32, NULL, 0, &v,
				     4, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), -EEXIST);
	CHECK(strstr(err.msg, "tensor 'dup' was added twice") != NULL);
	ckpt_writer_free(w);
}

/* Many entries: several data blocks in the index, all found again. */
static void
test_many(void)
{
	char prefix[PATH_MAX];
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	struct ckpt_bundle *b;
	char key[64];
	const int n = 20000;

	snprintf(prefix, sizeof(prefix), "%s/many", tmp);
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	for (int i = 0; i < n; i++) {
		int32_t v = i;

		snprintf(key, sizeof(key), "layer_%05d/dense/kernel", i);
		CHECK_EQ_INT(ckpt_writer_add(w, key, strlen(key), CKPT_DT_INT32,
					     NULL, 0, &v, 4, &err),
			     0);
	}
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	CHECK_EQ_INT(b->n, n);
	for (int i = 0; i < n; i += 997) {
		const struct ckpt_entry *e;
		int32_t v;
		size_t got;

		snprintf(key, sizeof(key), "layer_%05d/dense/kernel", i);
		e = ckpt_bundle_find(b, key, strlen(key));
		CHECK(e != NULL);
		CHECK_EQ_INT(ckpt_bundle_pread(b, e, &v, 4, 0, &got), 0);
		CHECK_EQ_INT(v, i);
	}
	ckpt_bundle_close(b);
}

static void
test_refusals(void)
{
	char dir[PATH_MAX], prefix[PATH_MAX + 16];
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	float f = 1;
	int64_t d[1] = { 2 };

	snprintf(dir, sizeof(dir), "%s/refuse", tmp);
	CHECK_EQ_INT(mkdir(dir, 0755), 0);
	snprintf(prefix, sizeof(prefix), "%s/x", dir);
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	/* Size and shape disagree. */
	CHECK_EQ_INT(ckpt_writer_add(w, "f", 1, CKPT_DT_FLOAT, d, 1, &f, 4, &err),
		     -EINVAL);
	CHECK(strstr(err.msg, "'f'") != NULL);
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_writer_add(w, "r", 1, CKPT_DT_RESOURCE, NULL, 0, &f, 4,
				     &err),
		     -EINVAL);
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_writer_add(w, "s", 1, CKPT_DT_STRING, NULL, 0, "junk",
				     4, &err),
		     -EINVAL);
	ckpt_err_clear(&err);
	/* A duplicate key fails the finish; nothing is left behind. */
	CHECK_EQ_INT(ckpt_writer_add(w, "k", 1, CKPT_DT_FLOAT, NULL, 0, &f, 4,
				     &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add(w, "k", 1, CKPT_DT_FLOAT, NULL, 0, &f, 4,
				     &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), -EEXIST);
	CHECK(strstr(err.msg, "'k'") != NULL);
	ckpt_writer_free(w);
	CHECK_EQ_INT(check_count_files(dir), 0);
	/* An abandoned writer removes its temporary files. */
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	CHECK_EQ_INT(check_count_files(dir), 1);
	ckpt_writer_free(w);
	CHECK_EQ_INT(check_count_files(dir), 0);
	/* A symlink planted at a temporary name is never followed: the
	 * writer uses O_EXCL|O_NOFOLLOW on fresh random names. */
	ckpt_err_clear(&err);
	snprintf(prefix, sizeof(prefix), "%s/nodir/x", dir);
	CHECK(ckpt_writer_new(prefix, NULL, &w, &err) == -ENOENT);
	CHECK(strstr(err.msg, "nodir") != NULL);
}

/* Write one float32 scalar KEY = V at PREFIX in NSHARDS shards (the
 * others get no tensor). */
static void
write_one(const char *prefix, int32_t nshards, const char *key, float v)
{
	struct ckpt_writer_opts o = { .producer = 1, .num_shards = nshards };
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;

	CHECK_EQ_INT(ckpt_writer_new(prefix, &o, &w, &err), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, key, strlen(key), CKPT_DT_FLOAT, NULL,
				     0, &v, 4, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
}

/* The float32 scalar KEY of the checkpoint at PREFIX, or -1 if there is
 * no checkpoint, -2 if the key is missing. */
static float
read_one(const char *prefix, const char *key)
{
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b;
	const struct ckpt_entry *e;
	uint8_t *buf;
	size_t len;
	float v = -2;

	if (ckpt_bundle_open(prefix, &b, &err) < 0)
		return -1;
	e = ckpt_bundle_find(b, key, strlen(key));
	if (e != NULL) {
		CHECK_EQ_INT(ckpt_bundle_read(b, e, &buf, &len, &err), 0);
		CHECK_EQ_INT(len, 4);
		memcpy(&v, buf, 4);
		free(buf);
	}
	ckpt_bundle_close(b);
	return v;
}

/* Create an empty file DIR/NAME. */
static void
touch(const char *dir, const char *name)
{
	char p[2 * PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	close(fd);
}

/* Whether DIR/NAME exists (as anything, symlinks not followed). */
static bool
exists(const char *dir, const char *name)
{
	char p[2 * PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

/* Writing over an existing checkpoint. */
static void
test_replace(void)
{
	static const char *const stale[] = {
		"ck.index.tempstate123",
		"ck.data-00000-of-00001.tempstate9876543210",
		"ck.data-00002-of-00003.tempstate1",
	};
	static const char *const unrelated[] = {
		"ck.index.tempstate",	  "ck.index.tempstate12x",
		"ckx.index.tempstate1",	  "ck.data-00000-of-00003.bak",
		"ck.data-0000-of-00003",  "ck.notes",
		"other.data-00000-of-00002",
	};
	char dir[PATH_MAX - 96], prefix[PATH_MAX - 64], p[PATH_MAX];
	char victim[PATH_MAX];
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	struct stat st;
	float v = 5;
	mode_t old;
	int fd;

	snprintf(dir, sizeof(dir), "%s/replace", tmp);
	CHECK_EQ_INT(mkdir(dir, 0700), 0);
	snprintf(prefix, sizeof(prefix), "%s/ck", dir);
	write_one(prefix, 3, "old", 1);
	CHECK(exists(dir, "ck.data-00002-of-00003"));
	CHECK(read_one(prefix, "old") == 1);
	for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++)
		touch(dir, stale[i]);
	for (size_t i = 0; i < sizeof(unrelated) / sizeof(unrelated[0]); i++)
		touch(dir, unrelated[i]);
	CHECK_EQ_INT(check_count_files(dir), 14);

	/* A new writer removes what crashed writers left; an unfinished
	 * one leaves the old checkpoint as it was. */
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++)
		CHECK(!exists(dir, stale[i]));
	CHECK_EQ_INT(ckpt_writer_add(w, "new", 3, CKPT_DT_FLOAT, NULL, 0, &v,
				     4, &err),
		     0);
	ckpt_writer_free(w);
	CHECK(read_one(prefix, "old") == 1);
	CHECK_EQ_INT(check_count_files(dir), 11);

	/* Finished: the new checkpoint, one shard; the old shards of count
	 * 3 are gone, nothing unrelated is touched. */
	write_one(prefix, 1, "new", 2);
	CHECK(read_one(prefix, "new") == 2);
	CHECK(read_one(prefix, "old") == -2);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "ck.data-%05d-of-00003", i);
		CHECK(!exists(dir, p));
	}
	for (size_t i = 0; i < sizeof(unrelated) / sizeof(unrelated[0]); i++)
		CHECK(exists(dir, unrelated[i]));
	CHECK_EQ_INT(check_count_files(dir), 9);

	/* Symlinks planted at the output names are replaced, not followed;
	 * files get the umask. */
	snprintf(victim, sizeof(victim), "%s/victim", tmp);
	fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, "victim", 6), 6);
	close(fd);
	snprintf(p, sizeof(p), "%s.index", prefix);
	CHECK_EQ_INT(unlink(p), 0);
	CHECK_EQ_INT(symlink(victim, p), 0);
	snprintf(p, sizeof(p), "%s.data-00000-of-00001", prefix);
	CHECK_EQ_INT(unlink(p), 0);
	CHECK_EQ_INT(symlink(victim, p), 0);
	old = umask(027);
	write_one(prefix, 1, "sym", 3);
	umask(old);
	CHECK(read_one(prefix, "sym") == 3);
	CHECK_EQ_INT(lstat(p, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ_INT(st.st_mode & 07777, 0640);
	snprintf(p, sizeof(p), "%s.index", prefix);
	CHECK_EQ_INT(lstat(p, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ_INT(st.st_mode & 07777, 0640);
	CHECK_EQ_INT(stat(victim, &st), 0);
	CHECK_EQ_INT(st.st_size, 6);
	CHECK_EQ_INT(st.st_mode & 07777, 0600);
}

/* A rename failing as the new files go into place (the test-only
 * CKPT_TEST_FAIL: that shard's data, or the index) puts the older
 * checkpoint back as it was, with as many shards or another count, and
 * leaves no temporary file. */
static void
test_put_back(void)
{
	static const char *const points[] = {
		"data-rename-0", "data-rename-1", "data-rename-2",
		"index-rename",
	};
	static const int32_t counts[] = { 3, 1 };
	char dir[PATH_MAX - 96], prefix[PATH_MAX - 64];
	struct ckpt_writer_opts o = { .producer = 1 };
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	float v = 7;

	snprintf(dir, sizeof(dir), "%s/putback", tmp);
	CHECK_EQ_INT(mkdir(dir, 0700), 0);
	snprintf(prefix, sizeof(prefix), "%s/ck", dir);
	write_one(prefix, 3, "old", 1);
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		o.num_shards = counts[c];
		for (size_t i = 0; i < sizeof(points) / sizeof(points[0]);
		     i++) {
			if (points[i][0] == 'd' &&
			    points[i][12] - '0' >= counts[c])
				continue;
			CHECK_EQ_INT(setenv("CKPT_TEST_FAIL", points[i], 1),
				     0);
			CHECK_EQ_INT(ckpt_writer_new(prefix, &o, &w, &err), 0);
			CHECK_EQ_INT(ckpt_writer_add(w, "new", 3,
						     CKPT_DT_FLOAT, NULL, 0,
						     &v, 4, &err),
				     0);
			CHECK_EQ_INT(ckpt_writer_finish(w, &err), -ENOSPC);
			CHECK(strstr(err.msg, "could not be put back") ==
			      NULL);
			ckpt_writer_free(w);
			ckpt_err_clear(&err);
			CHECK_EQ_INT(unsetenv("CKPT_TEST_FAIL"), 0);
			CHECK(read_one(prefix, "old") == 1);
			CHECK(read_one(prefix, "new") == -2);
			CHECK(exists(dir, "ck.data-00002-of-00003"));
			CHECK_EQ_INT(check_count_files(dir), 4);
		}
	}
}

/* Fill BUF with SIZE bytes of tensor I's own. */
static void
own_bytes(uint8_t *buf, size_t size, uint32_t i)
{
	uint32_t x = i * 2246822519u + 1;

	for (size_t j = 0; j < size; j++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[j] = (uint8_t)x;
	}
}

/* The size of source tensor I: ragged, some below a block, some many,
 * some none (inside runs). */
static size_t
layout_size(uint32_t i)
{
	size_t size = (size_t)(((uint64_t)i * 2654435761u) % 100000);

	if (i % 17 == 9)
		return 0;
	return i % 5 == 1 ? size % 3000 : size;
}

/* The size of a tensor added from a file before source tensor I. */
static size_t
fd_size(uint32_t i)
{
	return i % 26 == 6 ? 3000 : 22000 + 300 * (size_t)i;
}

static void
test_clone_layout(void)
{
	enum { N = 90 };
	char src[PATH_MAX], out[PATH_MAX], key[32];
	struct ckpt_writer_opts o = { .producer = 1, .num_shards = 2 };
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	struct ckpt_bundle *b, *ob;
	const struct ckpt_entry *prev = NULL, *prev_src = NULL;
	uint8_t *want = malloc(100000), *got = malloc(100000);
	uint64_t total = 0, breaks = 0;
	size_t outn = 0;
	struct stat st;
	char *data;

	CHECK(want != NULL && got != NULL);
	snprintf(src, sizeof(src), "%s/lsrc", tmp);
	snprintf(out, sizeof(out), "%s/lout", tmp);
	CHECK_EQ_INT(ckpt_writer_new(src, &o, &w, &err), 0);
	for (uint32_t i = 0; i < N; i++) {
		int64_t d[1] = { (int64_t)layout_size(i) };

		own_bytes(want, layout_size(i), i);
		snprintf(key, sizeof(key), "t/%04u", i);
		CHECK_EQ_INT(ckpt_writer_select_shard(w, (int32_t)(i % 2)), 0);
		CHECK_EQ_INT(ckpt_writer_add(w, key, strlen(key), CKPT_DT_UINT8,
					     d, 1, want, layout_size(i), &err),
			     0);
	}
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	CHECK_EQ_INT(ckpt_bundle_open(src, &b, &err), 0);

	/* Shard 0's tensors (even I) then shard 1's, as they lie; every
	 * seventh removed, a new one before every eleventh. */
	CHECK_EQ_INT(setenv("CKPT_TEST_CLONE", "copy", 1), 0);
	CHECK_EQ_INT(ckpt_writer_new(out, NULL, &w, &err), 0);
	for (uint32_t k = 0; k < N; k++) {
		uint32_t i = k < N / 2 ? 2 * k : 2 * (k - N / 2) + 1;
		const struct ckpt_entry *e;
		uint64_t foff = 0, run = 0;
		int fd = -1;

		snprintf(key, sizeof(key), "t/%04u", i);
		if (i % 11 == 5) {
			int64_t d[1] = { 1000 + (int64_t)i };

			own_bytes(want, 1000 + i, 1000 + i);
			snprintf(key, sizeof(key), "new/%04u", i);
			CHECK_EQ_INT(ckpt_writer_add(w, key, strlen(key),
						     CKPT_DT_UINT8, d, 1, want,
						     1000 + i, &err),
				     0);
			total += 1000 + i;
			outn++;
			snprintf(key, sizeof(key), "t/%04u", i);
		}
		if (i % 13 == 6) {
			/* from a file (as from a spool), at an odd offset */
			uint64_t at = (i * 7) % 4096, size = fd_size(i);
			int64_t d[1] = { (int64_t)size };
			char path[PATH_MAX];
			int sfd;

			snprintf(path, sizeof(path), "%s/spooled", tmp);
			sfd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
			CHECK(sfd >= 0);
			own_bytes(want, size, 5000 + i);
			CHECK_EQ_INT(pwrite(sfd, want, size, (off_t)at),
				     (long long)size);
			snprintf(key, sizeof(key), "fd/%04u", i);
			CHECK_EQ_INT(ckpt_writer_add_fd(w, key, strlen(key),
							CKPT_DT_UINT8, d, 1,
							sfd, at, size, &err),
				     0);
			close(sfd);
			unlink(path);
			total += size;
			outn++;
			snprintf(key, sizeof(key), "t/%04u", i);
		}
		if (i % 7 == 3)
			continue;
		e = ckpt_bundle_find(b, key, strlen(key));
		CHECK(e != NULL);
		if (e->size > 0)
			CHECK_EQ_INT(ckpt_bundle_locate(b, e, 0, &fd, &foff,
							&run),
				     0);
		CHECK_EQ_INT(ckpt_writer_add_copy(w, key, strlen(key), e->dtype,
						  e->dims, e->rank, fd, foff,
						  e->size, e->crc32c, &err),
			     0);
		total += e->size;
		outn++;
	}
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	CHECK_EQ_INT(unsetenv("CKPT_TEST_CLONE"), 0);

	CHECK_EQ_INT(ckpt_bundle_open(out, &ob, &err), 0);
	CHECK_EQ_INT(ob->n, outn);
	for (uint32_t k = 0; k < N; k++) {
		uint32_t i = k < N / 2 ? 2 * k : 2 * (k - N / 2) + 1;
		const struct ckpt_entry *e, *se;
		size_t n = 0;

		if (i % 11 == 5) {
			snprintf(key, sizeof(key), "new/%04u", i);
			e = ckpt_bundle_find(ob, key, strlen(key));
			CHECK(e != NULL);
			own_bytes(want, 1000 + i, 1000 + i);
			CHECK_EQ_INT(ckpt_bundle_pread(ob, e, got, e->size, 0,
						       &n),
				     0);
			CHECK_EQ_MEM(got, n, want, (size_t)1000 + i);
			prev = NULL;
		}
		if (i % 13 == 6) {
			snprintf(key, sizeof(key), "fd/%04u", i);
			e = ckpt_bundle_find(ob, key, strlen(key));
			CHECK(e != NULL);
			own_bytes(want, fd_size(i), 5000 + i);
			CHECK_EQ_INT(ckpt_bundle_pread(ob, e, got, e->size, 0,
						       &n),
				     0);
			CHECK_EQ_MEM(got, n, want, fd_size(i));
			CHECK_EQ_INT(ckpt_bundle_verify(ob, e, &err), 0);
			prev = NULL;
		}
		snprintf(key, sizeof(key), "t/%04u", i);
		e = ckpt_bundle_find(ob, key, strlen(key));
		se = ckpt_bundle_find(b, key, strlen(key));
		if (k == N / 2)
			prev = NULL;	/* the other source shard */
		if (i % 7 == 3) {
			CHECK(e == NULL);
			prev = NULL;
			continue;
		}
		CHECK(e != NULL && se != NULL);
		own_bytes(want, layout_size(i), i);
		CHECK_EQ_INT(ckpt_bundle_pread(ob, e, got, e->size, 0, &n), 0);
		CHECK_EQ_MEM(got, n, want, layout_size(i));
		CHECK_EQ_INT(ckpt_bundle_verify(ob, e, &err), 0);
		if (e->size == 0)
			continue;	/* (holds no bytes: where is moot) */
		/* back to back where the source's were */
		if (prev != NULL &&
		    prev_src->offset + prev_src->size == se->offset)
			CHECK_EQ_U64(e->offset, prev->offset + prev->size);
		else if (prev == NULL)
			breaks++;
		/* where their blocks can be shared, if they have 4 */
		if (e->size >= 5 * 4096)
			CHECK_EQ_U64(e->offset % 4096, se->offset % 4096);
		prev = e;
		prev_src = se;
	}
	/* every gap less than a block */
	data = ckpt_shard_path(out, 0, 1);
	CHECK(data != NULL);
	CHECK_EQ_INT(stat(data, &st), 0);
	free(data);
	CHECK((uint64_t)st.st_size < total + breaks * 4096);
	CHECK(breaks > 10);
	ckpt_bundle_close(ob);
	ckpt_bundle_close(b);
	free(want);
	free(got);
}

/* A writer watching the checkpoint its copies come from: one of its data
 * files changed (here touched) before the copies are complete fails the
 * finish with -ESTALE and leaves no output; unchanged, it writes. */
static void
test_watch(void)
{
	char src[PATH_MAX], out[PATH_MAX + 8], data[PATH_MAX + 32];
	static const float v[4] = { 1, 2, 3, 4 };
	int64_t d[1] = { 4 };
	struct ckpt_err err = { 0 };
	struct ckpt_writer_opts o = { .producer = 1 };
	struct ckpt_writer *w;
	struct ckpt_bundle *b;
	const struct ckpt_entry *e;
	uint64_t foff, run;
	struct stat st;
	int fd;

	snprintf(src, sizeof(src), "%s/wsrc", tmp);
	CHECK_EQ_INT(ckpt_writer_new(src, NULL, &w, &err), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, "x", 1, CKPT_DT_FLOAT, d, 1, v,
				     sizeof(v), &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	CHECK_EQ_INT(ckpt_bundle_open(src, &b, &err), 0);
	e = ckpt_bundle_find(b, "x", 1);
	CHECK(e != NULL);
	o.watch = b;
	for (int touched = 0; touched < 2; touched++) {
		snprintf(out, sizeof(out), "%s/wout%d", tmp, touched);
		CHECK_EQ_INT(ckpt_writer_new(out, &o, &w, &err), 0);
		CHECK_EQ_INT(ckpt_bundle_locate(b, e, 0, &fd, &foff, &run), 0);
		CHECK_EQ_INT(ckpt_writer_add_copy(w, "x", 1, e->dtype, e->dims,
						  e->rank, fd, foff, e->size,
						  e->crc32c, &err),
			     0);
		if (touched) {
			struct timespec ts[2] = { { 0, UTIME_OMIT },
						  { 12345, 0 } };

			snprintf(data, sizeof(data),
				 "%s.data-00000-of-00001", src);
			CHECK_EQ_INT(utimensat(AT_FDCWD, data, ts, 0), 0);
			ckpt_err_clear(&err);
			CHECK_EQ_INT(ckpt_writer_finish(w, &err), -ESTALE);
			CHECK(strstr(err.msg, "changed while its tensors were "
					      "copied") != NULL);
		} else {
			CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
		}
		ckpt_writer_free(w);
		snprintf(data, sizeof(data), "%s.index", out);
		CHECK_EQ_INT(stat(data, &st) == 0, !touched);
	}
	ckpt_bundle_close(b);
}

/* ckpt_writer_add_fd_order(): values whose bytes are in the other byte
 * order come out in the output's, each value (each half of a complex
 * one) reversed, across the copy's chunks too; strings and variants are
 * refused (their callers lay them out again). */
static void
test_add_fd_order(void)
{
	enum { N16 = 700000 };	/* 1.4 MB: more than one chunk */
	struct ckpt_writer *w = NULL;
	struct ckpt_bundle *b = NULL;
	struct ckpt_err err = { 0 };
	const struct ckpt_entry *e;
	char prefix[PATH_MAX], path[PATH_MAX];
	static const uint8_t f32be[] = { 0x3f, 0xc0, 0, 0, 0xc0, 0, 0, 0 };
	static const uint8_t c64be[] = { 0x3f, 0x80, 0, 0, 0x40, 0, 0, 0 };
	static const float f32[] = { 1.5f, -2.0f };
	static const float c64[] = { 1.0f, 2.0f };
	uint8_t *i16 = malloc(2 * (size_t)N16), *got = malloc(2 * (size_t)N16);
	int64_t d2[1] = { 2 }, d1[1] = { 1 }, dn[1] = { N16 };
	size_t n = 0;
	int fd;

	CHECK(i16 != NULL && got != NULL);
	if (i16 == NULL || got == NULL)
		goto out;
	snprintf(path, sizeof(path), "%s/order.bytes", tmp);
	snprintf(prefix, sizeof(prefix), "%s/order", tmp);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	for (size_t i = 0; i < N16; i++) {	/* big-endian i */
		i16[2 * i] = (uint8_t)(i >> 8);
		i16[2 * i + 1] = (uint8_t)i;
	}
	CHECK_EQ_INT(pwrite(fd, f32be, 8, 0), 8);
	CHECK_EQ_INT(pwrite(fd, c64be, 8, 8), 8);
	CHECK_EQ_INT(pwrite(fd, i16, 2 * (size_t)N16, 16), 2 * N16);
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	CHECK_EQ_INT(ckpt_writer_add_fd_order(w, "f", 1, CKPT_DT_FLOAT, d2, 1,
					      fd, 0, 8, true, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add_fd_order(w, "c", 1, CKPT_DT_COMPLEX64,
					      d1, 1, fd, 8, 8, true, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add_fd_order(w, "i", 1, CKPT_DT_UINT16, dn,
					      1, fd, 16, 2 * N16, true, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add_fd_order(w, "s", 1, CKPT_DT_STRING, d1,
					      1, fd, 0, 5, true, &err),
		     -EINVAL);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	close(fd);
	unlink(path);
	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	if (b == NULL)
		goto out;
	CHECK(b->hdr.endianness == 0);
	CHECK((e = ckpt_bundle_find(b, "f", 1)) != NULL);
	CHECK_EQ_INT(ckpt_bundle_pread(b, e, got, 8, 0, &n), 0);
	CHECK_EQ_MEM(got, n, f32, sizeof(f32));
	CHECK((e = ckpt_bundle_find(b, "c", 1)) != NULL);
	CHECK_EQ_INT(ckpt_bundle_pread(b, e, got, 8, 0, &n), 0);
	CHECK_EQ_MEM(got, n, c64, sizeof(c64));
	CHECK((e = ckpt_bundle_find(b, "i", 1)) != NULL);
	CHECK_EQ_INT(ckpt_bundle_pread(b, e, got, 2 * N16, 0, &n), 0);
	CHECK_EQ_U64(n, 2 * (uint64_t)N16);
	for (size_t i = 0; i < N16 && n == 2 * (size_t)N16; i++)
		if (got[2 * i] != (uint8_t)i ||
		    got[2 * i + 1] != (uint8_t)(i >> 8)) {
			CHECK(!"uint16 value reversed");
			break;
		}
	CHECK_EQ_INT(ckpt_bundle_verify(b, e, &err), 0);
	CHECK(ckpt_bundle_find(b, "s", 1) == NULL);
	ckpt_bundle_close(b);
out:
	free(i16);
	free(got);
}

/* Offsets of the runs of test_add_fd_gather(): column block 1..2 of
 * each row of a [3,4] uint16 matrix. */
static uint64_t
cols_1_2(const void *arg, uint64_t r)
{
	(void)arg;
	return r * 8 + 2;
}

/* A part gathered from the whole tensor's file, run by run, its values
 * reversed in order; runs that do not make up its values refused. */
static void
test_add_fd_gather(void)
{
	struct ckpt_writer *w = NULL;
	struct ckpt_bundle *b = NULL;
	struct ckpt_err err = { 0 };
	const struct ckpt_entry *e;
	char prefix[PATH_MAX], path[PATH_MAX];
	uint8_t whole[24], got[12];
	static const uint8_t want[] = { 0, 1, 0, 2, 0, 5, 0, 6, 0, 9, 0, 10 };
	int64_t d32[2] = { 3, 2 }, d0[1] = { 0 };
	size_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/gather.bytes", tmp);
	snprintf(prefix, sizeof(prefix), "%s/gather", tmp);
	for (size_t i = 0; i < 12; i++) {	/* little-endian i */
		whole[2 * i] = (uint8_t)i;
		whole[2 * i + 1] = 0;
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ_INT(pwrite(fd, whole, sizeof(whole), 0), (int)sizeof(whole));
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	CHECK_EQ_INT(ckpt_writer_add_fd_gather(w, "p", 1, CKPT_DT_UINT16, d32,
					       2, fd, 4, cols_1_2, NULL, true,
					       &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add_fd_gather(w, "z", 1, CKPT_DT_UINT16, d0, 1,
					       fd, 0, cols_1_2, NULL, false,
					       &err),
		     0);
	/* 3 bytes are not whole values; 8 does not divide 12 */
	CHECK_EQ_INT(ckpt_writer_add_fd_gather(w, "x", 1, CKPT_DT_UINT16, d32,
					       2, fd, 3, cols_1_2, NULL, false,
					       &err),
		     -EINVAL);
	CHECK(strstr(err.msg, "tensor 'x': runs of 3 bytes do not make up "
			      "uint16 values of its shape") != NULL);
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_writer_add_fd_gather(w, "y", 1, CKPT_DT_UINT16, d32,
					       2, fd, 8, cols_1_2, NULL, false,
					       &err),
		     -EINVAL);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	close(fd);
	unlink(path);
	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	if (b == NULL)
		return;
	CHECK((e = ckpt_bundle_find(b, "p", 1)) != NULL);
	CHECK_EQ_INT(ckpt_bundle_pread(b, e, got, sizeof(got), 0, &n), 0);
	CHECK_EQ_MEM(got, n, want, sizeof(want));
	CHECK_EQ_INT(ckpt_bundle_verify(b, e, &err), 0);
	CHECK((e = ckpt_bundle_find(b, "z", 1)) != NULL);
	CHECK(e != NULL && e->size == 0);
	CHECK(ckpt_bundle_find(b, "x", 1) == NULL);
	ckpt_bundle_close(b);
}

int
main(void)
{
	check_mkdtemp(tmp, sizeof(tmp));
	test_real_byte_exact();
	test_entry_bytes();
	test_roundtrip();
	test_borrow();
	test_many();
	test_refusals();
	test_replace();
	test_put_back();
	test_clone_layout();
	test_watch();
	test_add_fd_order();
	test_add_fd_gather();
	check_rmtree(tmp);
	return check_done("test_writer");
}
