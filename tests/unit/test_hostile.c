/* test_hostile.c -- covers src/bundle.c, src/table.c, src/tensor.c,
 * src/objgraph.c (and the mount's fallback for a bad object graph in
 * src/tree.c) against hostile checkpoints: whole checkpoints (an .index
 * file and its data shards written to a temporary directory) crafted to be
 * wrong in one way each, opened with ckpt_bundle_open().  Every case must
 * fail with its own error code and a message naming the damaged file, or
 * open and read exactly where the input is odd but valid.  Address space
 * is capped (RLIMIT_AS, or ASan's max_allocation_size_mb under the
 * sanitizers) so that an allocation proportional to a claimed size fails
 * the test, and every case runs under alarm() so that a hang fails it too.
 *
 * `test_hostile --write DIR` writes the checkpoints the bats suites mount
 * (hostile names, a TF2 graph naming a missing key) to DIR instead. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bundle.h"
#include "bundle_writer.h"
#include "check.h"
#include "crc32c.h"
#include "objgraph.h"
#include "table.h"
#include "tensor.h"
#include "tree.h"

#if defined(__SANITIZE_ADDRESS__)
#define HOSTILE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOSTILE_ASAN 1
#endif
#endif

#ifdef HOSTILE_ASAN
/* ASan reserves terabytes of shadow, so RLIMIT_AS cannot be used; cap a
 * single allocation instead (a bigger one aborts the test). */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "max_allocation_size_mb=256";
}
#endif

/* Address space allowed to this test without the sanitizers. */
#define HOSTILE_AS_LIMIT ((rlim_t)512 << 20)
/* Seconds a case may take before SIGALRM kills the test. */
#define HOSTILE_ALARM 20

static char tmp[PATH_MAX - 256];
static int ncase;

/* A header: num_shards 1, producer 1. */
#define HDR1 "\x08\x01\x1a\x02\x08\x01"
/* A float32 scalar at offset 0 of shard 0. */
#define F32 "\x08\x01\x12\x00\x28\x04"

/* --- writing files ----------------------------------------------------- */

/* Write LEN bytes of DATA to PATH. */
static void
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, data, len), (long long)len);
	CHECK_EQ_INT(close(fd), 0);
}

/* Write a data shard of LEN bytes (values 0, 1, 2, ...) at PATH. */
static void
write_shard(const char *path, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	CHECK(p != NULL);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)i;
	write_file(path, p, len);
	free(p);
}

/* Append a protobuf tag. */
static void
pb_tag(struct ckpt_buf *b, unsigned field, unsigned wire)
{
	CHECK_EQ_INT(ckpt_buf_put_varint(b, (uint64_t)field << 3 | wire), 0);
}

/* Append a varint field. */
static void
pb_varint(struct ckpt_buf *b, unsigned field, uint64_t v)
{
	pb_tag(b, field, 0);
	CHECK_EQ_INT(ckpt_buf_put_varint(b, v), 0);
}

/* Append a length-delimited field. */
static void
pb_bytes(struct ckpt_buf *b, unsigned field, const void *p, size_t len)
{
	pb_tag(b, field, 2);
	CHECK_EQ_INT(ckpt_buf_put_varint(b, len), 0);
	CHECK_EQ_INT(ckpt_buf_put(b, p, len), 0);
}

/* --- hostile entries in whole checkpoints ----------------------------- */

/* One tensor entry, packed field by field as a BundleEntryProto. */
struct tspec {
	const char *key;
	int dtype;
	int rank;
	int64_t dims[4];
	int64_t shard;
	int64_t offset;
	int64_t size;
};

/* Pack T (fields at their default omitted, as protobuf does). */
static void
pack_entry(const struct tspec *t, struct ckpt_buf *out)
{
	struct ckpt_buf shape = { 0 };

	pb_varint(out, 1, (uint64_t)t->dtype);
	for (int i = 0; i < t->rank; i++) {
		struct ckpt_buf dim = { 0 };
		int64_t d = i < 4 ? t->dims[i] : 1;	/* past 4: ones */

		if (d != 0)
			pb_varint(&dim, 1, (uint64_t)d);
		pb_bytes(&shape, 2, dim.data, dim.len);
		ckpt_buf_free(&dim);
	}
	pb_bytes(out, 2, shape.data, shape.len);
	ckpt_buf_free(&shape);
	if (t->shard != 0)
		pb_varint(out, 3, (uint64_t)t->shard);
	if (t->offset != 0)
		pb_varint(out, 4, (uint64_t)t->offset);
	if (t->size != 0)
		pb_varint(out, 5, (uint64_t)t->size);
}

struct entry_case {
	const char *name;
	int64_t num_shards;	/* header field */
	int64_t shard_len[2];	/* bytes of data shards 0, 1; -1 absent */
	struct tspec t[2];	/* in key order; key NULL ends */
	int rc;
	const char *msg;	/* in the message */
	const char *file;	/* the message names this file */
	/* It opens (rc 0), MSG and FILE in its warning: the tensor lies
	 * past the end of its data file, and reading it fails. */
	bool cut;
	/* It opens (rc 0), and the first tensor's entry is kept as one
	 * that cannot be used, MSG and FILE in its reason; the others
	 * read. */
	bool bad;
};

#define D(...) { __VA_ARGS__ }
static const struct entry_case entry_cases[] = {
	{ "offset past the shard's end", 1, { 16, -1 },
	  { { "x", 1, 1, D(4), 0, 100, 16 } }, 0,
	  "'x' (16 bytes at offset 100) runs past the end of the file "
	  "(16 bytes): cut short?", ".data-00000-of-00001", true },
	{ "size past the shard's end", 1, { 16, -1 },
	  { { "x", 1, 1, D(5), 0, 0, 20 } }, 0,
	  "'x' (20 bytes at offset 0) runs past the end", ".data-00000-of-00001",
	  true },
	{ "offset + size wraps", 1, { 16, -1 },
	  { { "x", 1, 1, D(4), 0, INT64_MAX - 7, 16 } }, 0,
	  "runs past the end", ".data-00000-of-00001", true },
	{ "absurd dims with a matching size", 1, { 16, -1 },
	  { { "x", 1, 2, D(1 << 30, 1 << 30), 0, 0, (int64_t)1 << 62 } },
	  0, "runs past the end", ".data-00000-of-00001", true },
	/* checked as cut, not as too large for memory */
	{ "a string tensor of 2^40 bytes past the end", 1, { 16, -1 },
	  { { "x", 7, 1, D(1 << 30), 0, 0, (int64_t)1 << 40 } },
	  0, "runs past the end", ".data-00000-of-00001", true },
	{ "shape product overflows", 1, { 16, -1 },
	  { { "x", 1, 3, D((int64_t)1 << 32, (int64_t)1 << 32, 4), 0, 0, 16 },
	    { "y", 1, 0, D(0), 0, 12, 4 } },
	  0, "invalid shape [4294967296,4294967296,4]: more than 2^63",
	  ".index", .bad = true },
	{ "bytes of the shape overflow", 1, { 16, -1 },
	  { { "x", 2, 1, D((int64_t)1 << 61), 0, 0, 8 } }, 0,
	  "needs 2^64 or more (2305843009213693952 x float64)", ".index",
	  .bad = true },
	{ "element count disagrees with size", 1, { 16, -1 },
	  { { "x", 1, 1, D(3), 0, 0, 16 }, { "y", 1, 0, D(0), 0, 12, 4 } }, 0,
	  "has 16 bytes, but its shape needs 12 (3 x float32)",
	  ".index", .bad = true },
	{ "size 0 for 4 elements", 1, { 16, -1 },
	  { { "x", 1, 1, D(4), 0, 0, 0 } }, 0,
	  "has 0 bytes, but its shape needs 16 (4 x float32)", ".index",
	  .bad = true },
	{ "negative dim", 1, { 16, -1 },
	  { { "x", 1, 2, D(2, -1), 0, 0, 8 }, { "y", 1, 0, D(0), 0, 12, 4 } }, 0,
	  "invalid shape [2,-1]: a negative dimension",
	  ".index", .bad = true },
	{ "dim INT64_MIN", 1, { 16, -1 },
	  { { "x", 1, 1, D(INT64_MIN), 0, 0, 8 } }, 0,
	  "invalid shape [-9223372036854775808]: a negative dimension",
	  ".index", .bad = true },
	{ "rank 255", 1, { 16, -1 },
	  { { "x", 1, 255, D(1, 1, 1, 1), 0, 0, 4 }, { "y", 1, 0, D(0), 0, 12, 4 } }, 0,
	  "has rank 255 (at most 254)", ".index", .bad = true },
	{ "rank 254 is fine", 1, { 16, -1 },
	  { { "x", 1, 254, D(1, 1, 1, 1), 0, 0, 4 } }, 0, NULL, NULL },
	{ "negative size", 1, { 16, -1 },
	  { { "x", 1, 0, D(0), 0, 0, -4 } }, 0,
	  "has a negative shard, offset or size", ".index", .bad = true },
	{ "string tensor of 2^40 elements in 16 bytes", 1, { 16, -1 },
	  { { "x", 7, 1, D((int64_t)1 << 40), 0, 0, 16 }, { "y", 1, 0, D(0), 0, 12, 4 } }, 0,
	  "too small", ".index", .bad = true },
	{ "shard id out of range", 1, { 16, 16 },
	  { { "x", 1, 0, D(0), 1, 0, 4 }, { "y", 1, 0, D(0), 0, 12, 4 } }, 0,
	  "'x' is in shard 1, but the checkpoint has 1 shard", ".index",
	  .bad = true },
	{ "negative shard id", 2, { 16, 16 },
	  { { "x", 1, 0, D(0), -1, 0, 4 } }, 0,
	  "has a negative shard, offset or size", ".index", .bad = true },
	{ "shard id INT32_MAX", 2, { 16, 16 },
	  { { "x", 1, 0, D(0), INT32_MAX, 0, 4 }, { "y", 1, 0, D(0), 0, 12, 4 } }, 0,
	  "shard 2147483647", ".index", .bad = true },
	{ "num_shards 0", 0, { 16, -1 },
	  { { "x", 1, 0, D(0), 0, 0, 4 } }, -EBADMSG, "0 data shards", ".index" },
	{ "num_shards negative", -3, { 16, -1 },
	  { { "x", 1, 0, D(0), 0, 0, 4 } }, -EBADMSG, "-3 data shards", ".index" },
	{ "num_shards 100000, shard 0 of them present", 100000, { 16, -1 },
	  { { "x", 1, 0, D(0), 0, 0, 4 }, { "y", 1, 0, D(0), 0, 12, 4 } }, 0,
	  NULL, NULL },
	{ "num_shards INT32_MAX, shard 0 of them present", INT32_MAX,
	  { 16, -1 }, { { "x", 1, 0, D(0), 0, 8, 4 } }, 0, NULL, NULL },
	/* A missing data file is one cut to nothing: its tensors fail. */
	{ "num_shards 100000, shard 1 missing", 100000, { 16, -1 },
	  { { "y", 1, 0, D(0), 1, 0, 4 }, { "z", 1, 0, D(0), 0, 0, 4 } },
	  0, "no such data file, which holds tensor 'y'",
	  ".data-00001-of-100000", true },
	{ "a referenced shard is missing", 2, { 16, -1 },
	  { { "x", 1, 0, D(0), 1, 0, 4 } }, 0,
	  "no such data file, which holds tensor 'x'", ".data-00001-of-00002",
	  true },
	{ "an unreferenced shard may be missing", 2, { -1, 16 },
	  { { "x", 1, 0, D(0), 1, 4, 4 } }, 0, NULL, NULL },
};
#undef D

/* Write and open the checkpoint of case C; check code and message. */
static void
run_entry_case(const struct entry_case *c)
{
	struct ckpt_table_builder *tb;
	struct ckpt_buf idx = { 0 }, hdr = { 0 }, ver = { 0 };
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b = NULL;
	char prefix[PATH_MAX], path[PATH_MAX + 32];
	int32_t ns = (int32_t)c->num_shards;
	int rc;

	snprintf(prefix, sizeof(prefix), "%s/entry%d", tmp, ncase++);
	if (ns != 0)
		pb_varint(&hdr, 1, (uint64_t)(int64_t)ns);
	pb_varint(&ver, 1, 1);
	pb_bytes(&hdr, 3, ver.data, ver.len);
	CHECK_EQ_INT(ckpt_table_builder_new(NULL, &tb), 0);
	CHECK_EQ_INT(ckpt_table_builder_add(tb, "", 0, hdr.data, hdr.len), 0);
	for (int i = 0; i < 2 && c->t[i].key != NULL; i++) {
		struct ckpt_buf v = { 0 };

		pack_entry(&c->t[i], &v);
		CHECK_EQ_INT(ckpt_table_builder_add(tb, c->t[i].key,
						    strlen(c->t[i].key), v.data,
						    v.len),
			     0);
		ckpt_buf_free(&v);
	}
	CHECK_EQ_INT(ckpt_table_builder_finish(tb, &idx), 0);
	ckpt_table_builder_free(tb);
	snprintf(path, sizeof(path), "%s.index", prefix);
	write_file(path, idx.data, idx.len);
	for (int s = 0; s < 2; s++) {
		char *sp;

		if (c->shard_len[s] < 0)
			continue;
		sp = ckpt_shard_path(prefix, s, ns > 0 ? ns : 1);
		CHECK(sp != NULL);
		write_shard(sp, (size_t)c->shard_len[s]);
		free(sp);
	}
	alarm(HOSTILE_ALARM);
	rc = ckpt_bundle_open(prefix, &b, &err);
	alarm(0);
	fprintf(stderr, "entry case '%s': rc %d, message '%s'\n", c->name, rc,
		err.msg);
	CHECK_EQ_INT(rc, c->rc);
	if (c->rc < 0) {
		CHECK(b == NULL);
		CHECK(strstr(err.msg, c->msg) != NULL);
		/* The message names the file by its full path. */
		CHECK(strstr(err.msg, prefix) != NULL);
		CHECK(strstr(err.msg, c->file) != NULL);
	} else if (c->bad) {
		const struct ckpt_entry *e = &b->entries[0];
		const char *why = ckpt_bundle_entry_bad(b, e);
		uint8_t got[4];
		size_t n;

		CHECK_EQ_U64(b->nbad, 1);
		CHECK(ckpt_entry_is_bad(e) && why != NULL);
		CHECK(strstr(why, c->msg) != NULL &&
		      strstr(why, prefix) != NULL && strstr(why, c->file) != NULL);
		CHECK(b->warning != NULL &&
		      strncmp(b->warning, why, strlen(why)) == 0);
		CHECK_EQ_INT(ckpt_bundle_pread(b, e, got, 4, 0, &n), -EIO);
		ckpt_err_clear(&err);
		CHECK_EQ_INT(ckpt_bundle_verify(b, e, &err), -EBADMSG);
		CHECK_EQ_STR(err.msg, why);
		/* The others read, as the shard holds them. */
		for (size_t i = 1; i < b->n; i++) {
			e = &b->entries[i];
			CHECK(ckpt_bundle_entry_bad(b, e) == NULL);
			CHECK_EQ_INT(ckpt_bundle_pread(b, e, got, 4, 0, &n), 0);
			CHECK_EQ_U64(n, 4);
			for (int k = 0; k < 4; k++)
				CHECK_EQ_INT(got[k], (uint8_t)(e->offset + k));
		}
		ckpt_bundle_close(b);
	} else if (c->cut) {
		const struct ckpt_entry *e = &b->entries[0];
		uint8_t got[4];
		size_t n;

		CHECK_EQ_U64(b->nshort, 1);
		CHECK(b->warning != NULL && strstr(b->warning, c->msg) != NULL &&
		      strstr(b->warning, prefix) != NULL &&
		      strstr(b->warning, c->file) != NULL);
		CHECK(ckpt_bundle_entry_short(b, e));
		/* (its last bytes are not there) */
		CHECK_EQ_INT(ckpt_bundle_pread(b, e, got, 4, e->size - 4, &n),
			     -EIO);
		ckpt_err_clear(&err);
		CHECK_EQ_INT(ckpt_bundle_verify(b, e, &err), -EIO);
		CHECK(strstr(err.msg, strstr(c->msg, "no such data file")
					      ? "no such data file"
					      : "shorter than the index says") !=
		      NULL);
		ckpt_bundle_close(b);
	} else {
		/* It opened: every tensor reads as the shard's bytes. */
		CHECK_EQ_INT(b->hdr.num_shards, ns);
		for (size_t i = 0; i < b->n; i++) {
			const struct ckpt_entry *e = &b->entries[i];
			uint8_t got[4];
			size_t n;

			CHECK_EQ_INT(ckpt_bundle_pread(b, e, got, 4, 0, &n), 0);
			CHECK_EQ_U64(n, 4);
			for (int k = 0; k < 4; k++)
				CHECK_EQ_INT(got[k], (uint8_t)(e->offset + k));
		}
		ckpt_bundle_close(b);
	}
	ckpt_buf_free(&idx);
	ckpt_buf_free(&hdr);
	ckpt_buf_free(&ver);
}

static void
test_entries(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(entry_cases); i++)
		run_entry_case(&entry_cases[i]);
}

/* --- hostile tables ---------------------------------------------------- */

/* How the crafted table's block handles are laid out. */
enum layout {
	L_PLAIN,		/* as a writer would */
	L_DATA_PAST_EOF,	/* the index points past the end of the file */
	L_DATA_AT_INDEX,	/* the index points at the index block itself */
	L_INDEX_AT_FOOTER,	/* the footer's index handle points at itself */
	L_META_IS_INDEX,	/* metaindex handle = index handle */
	L_HANDLE_HUGE,		/* index entry handle size 2^63 */
	L_FOOTER_VARINT11,	/* an 11-byte varint in the footer */
};

struct table_case {
	const char *name;
	/* The data block: either (key, value) pairs, restart interval 1, in
	 * the order given (NULL key ends) ... */
	struct {
		const char *k;
		const char *v;
		size_t vlen;
	} kv[4];
	/* ... or these raw bytes (restarts included). */
	const char *raw;
	size_t rawlen;
	uint8_t type;		/* block trailer: 0 plain, 1 snappy */
	enum layout layout;
	int rc;
	const char *msg;
};

#define KV(k, v) { (k), (v), sizeof(v) - 1 }
static const struct table_case table_cases[] = {
	{ "control: a valid crafted table", { KV("", HDR1), KV("x", F32) },
	  NULL, 0, 0, L_PLAIN, 0, NULL },
	{ "duplicate keys",
	  { KV("", HDR1), KV("x", F32), KV("x", F32) }, NULL, 0, 0, L_PLAIN,
	  -EBADMSG, "not greater than the previous key" },
	{ "unsorted keys",
	  { KV("", HDR1), KV("y", F32), KV("x", F32) }, NULL, 0, 0, L_PLAIN,
	  -EBADMSG, "not greater than the previous key" },
	{ "no header entry", { KV("x", F32) }, NULL, 0, 0, L_PLAIN, -EBADMSG,
	  "no header entry" },
	/* (the table is fine: the entry is kept as one that cannot be
	 * used) */
	{ "entry proto with an 11-byte varint",
	  { KV("", HDR1),
	    KV("x", "\x08\x81\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01") },
	  NULL, 0, 0, L_PLAIN, 0, "not a valid BundleEntryProto" },
	{ "block entry with an 11-byte varint", { { NULL, NULL, 0 } },
	  "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00\x00\x01x"
	  "\x00\x00\x00\x00\x01\x00\x00\x00",
	  22, 0, L_PLAIN, -EBADMSG,
	  "entry at block offset 0 is truncated or overruns" },
	{ "restart count past the block", { { NULL, NULL, 0 } },
	  "\x00\x00\x06" HDR1 "\x00\x00\x00\x00\xff\xff\xff\x0f", 17, 0, L_PLAIN,
	  -EBADMSG, "restart count 268435455 does not fit" },
	{ "restart offset past the block", { { NULL, NULL, 0 } },
	  "\x00\x00\x06" HDR1 "\x00\x10\x00\x00\x01\x00\x00\x00", 17, 0,
	  L_PLAIN, -EBADMSG, "no restart point at its first entry" },
	{ "snappy block claiming 4 GiB - 1", { { NULL, NULL, 0 } },
	  "\xff\xff\xff\xff\x0f\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16,
	  1, L_PLAIN, -EBADMSG, "snappy claims 4294967295 bytes" },
	{ "snappy block claiming 2^63 bytes", { { NULL, NULL, 0 } },
	  "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01\x00\x00\x00\x00\x00\x00", 16,
	  1, L_PLAIN, -EBADMSG, "bad snappy length header" },
	{ "data handle past the end of the file",
	  { KV("", HDR1), KV("x", F32) }, NULL, 0, 0, L_DATA_PAST_EOF, -ERANGE,
	  "data block (offset 1048576, size 31) runs past the end of the "
	  "table data (70 bytes)" },
	{ "data handle at the index block itself",
	  { KV("", HDR1), KV("x", F32) }, NULL, 0, 0, L_DATA_AT_INDEX, -EBADMSG,
	  "data block 0 at offset 49 should start at 0" },
	{ "footer index handle at the footer itself",
	  { KV("", HDR1), KV("x", F32) }, NULL, 0, 0, L_INDEX_AT_FOOTER,
	  -ERANGE, "index block (offset 68, size 43) runs past the end of the "
	  "table data (68 bytes)" },
	{ "metaindex handle = index handle", { KV("", HDR1), KV("x", F32) },
	  NULL, 0, 0, L_META_IS_INDEX, -EBADMSG,
	  "metaindex block (offset 49) and index block (offset 49) are not "
	  "back to back" },
	{ "data handle of 2^63 bytes", { KV("", HDR1), KV("x", F32) }, NULL, 0,
	  0, L_HANDLE_HUGE, -ERANGE, "runs past" },
	{ "footer with an 11-byte varint", { KV("", HDR1), KV("x", F32) }, NULL,
	  0, 0, L_FOOTER_VARINT11, -EBADMSG, "footer" },
};
#undef KV

/* Append CONTENTS as a block with trailer TYPE and a valid CRC; return its
 * offset. */
static uint64_t
put_block(struct ckpt_buf *f, const void *contents, size_t len, uint8_t type)
{
	uint64_t off = f->len;
	uint8_t t[5];

	t[0] = type;
	ckpt_store32le(t + 1, ckpt_crc_mask(ckpt_crc32c_extend(
				      ckpt_crc32c(contents, len), t, 1)));
	CHECK_EQ_INT(ckpt_buf_put(f, contents, len), 0);
	CHECK_EQ_INT(ckpt_buf_put(f, t, 5), 0);
	return off;
}

/* A block of one entry KEY -> (OFF, SIZE) handle, restart interval 1. */
static void
index_block(struct ckpt_buf *b, const char *key, uint64_t off, uint64_t size)
{
	uint8_t h[20], *p = ckpt_put_varint64(h, off);

	p = ckpt_put_varint64(p, size);
	CHECK_EQ_INT(ckpt_buf_put_varint(b, 0), 0);
	CHECK_EQ_INT(ckpt_buf_put_varint(b, strlen(key)), 0);
	CHECK_EQ_INT(ckpt_buf_put_varint(b, (uint64_t)(p - h)), 0);
	CHECK_EQ_INT(ckpt_buf_put(b, key, strlen(key)), 0);
	CHECK_EQ_INT(ckpt_buf_put(b, h, (size_t)(p - h)), 0);
	CHECK_EQ_INT(ckpt_buf_put_fixed32(b, 0), 0);
	CHECK_EQ_INT(ckpt_buf_put_fixed32(b, 1), 0);
}

/* Write the index of case C at PREFIX.index and a 16-byte shard. */
static void
write_table_case(const struct table_case *c, const char *prefix)
{
	static const uint8_t empty[8] = { 0, 0, 0, 0, 1, 0, 0, 0 };
	struct ckpt_buf f = { 0 }, data = { 0 }, ib = { 0 };
	uint8_t footer[CKPT_TABLE_FOOTER_LEN], *p;
	uint64_t doff, dsize, moff, ioff, isize;
	char path[PATH_MAX + 32], *sp;
	uint32_t restarts[4];
	int n = 0;

	if (c->raw != NULL) {
		CHECK_EQ_INT(ckpt_buf_put(&data, c->raw, c->rawlen), 0);
	} else {
		for (n = 0; n < 4 && c->kv[n].k != NULL; n++) {
			restarts[n] = (uint32_t)data.len;
			CHECK_EQ_INT(ckpt_buf_put_varint(&data, 0), 0);
			CHECK_EQ_INT(ckpt_buf_put_varint(&data,
							 strlen(c->kv[n].k)),
				     0);
			CHECK_EQ_INT(ckpt_buf_put_varint(&data, c->kv[n].vlen),
				     0);
			CHECK_EQ_INT(ckpt_buf_put(&data, c->kv[n].k,
						  strlen(c->kv[n].k)),
				     0);
			CHECK_EQ_INT(ckpt_buf_put(&data, c->kv[n].v,
						  c->kv[n].vlen),
				     0);
		}
		for (int i = 0; i < n; i++)
			CHECK_EQ_INT(ckpt_buf_put_fixed32(&data, restarts[i]), 0);
		CHECK_EQ_INT(ckpt_buf_put_fixed32(&data, (uint32_t)n), 0);
	}
	doff = put_block(&f, data.data, data.len, c->type);
	dsize = data.len;
	moff = put_block(&f, empty, sizeof(empty), 0);
	/* The index block: one entry "y" (> every key used) -> data. */
	ioff = f.len;
	switch (c->layout) {
	case L_DATA_PAST_EOF:
		index_block(&ib, "y", 1 << 20, dsize);
		break;
	case L_DATA_AT_INDEX:
		/* The index block's size is known once encoded: the handle
		 * (ioff, len) has the same length as (ioff, 0). */
		index_block(&ib, "y", ioff, 0);
		ckpt_buf_free(&ib);
		index_block(&ib, "y", ioff, 0);
		{
			size_t len = ib.len;

			ckpt_buf_free(&ib);
			index_block(&ib, "y", ioff, len);
			CHECK_EQ_U64(ib.len, len);
		}
		break;
	case L_HANDLE_HUGE:
		index_block(&ib, "y", doff, (uint64_t)1 << 63);
		break;
	default:
		index_block(&ib, "y", doff, dsize);
		break;
	}
	put_block(&f, ib.data, ib.len, 0);
	isize = ib.len;
	memset(footer, 0, sizeof(footer));
	if (c->layout == L_FOOTER_VARINT11) {
		memset(footer, 0x80, 10);
		footer[10] = 0x01;
	} else {
		p = ckpt_put_varint64(footer,
				      c->layout == L_META_IS_INDEX ? ioff : moff);
		p = ckpt_put_varint64(p, c->layout == L_META_IS_INDEX ? isize : 8);
		if (c->layout == L_INDEX_AT_FOOTER) {
			p = ckpt_put_varint64(p, f.len);
			ckpt_put_varint64(p, CKPT_TABLE_FOOTER_LEN -
						     CKPT_BLOCK_TRAILER_LEN);
		} else {
			p = ckpt_put_varint64(p, ioff);
			ckpt_put_varint64(p, isize);
		}
	}
	ckpt_store64le(footer + 40, CKPT_TABLE_MAGIC);
	CHECK_EQ_INT(ckpt_buf_put(&f, footer, sizeof(footer)), 0);
	snprintf(path, sizeof(path), "%s.index", prefix);
	write_file(path, f.data, f.len);
	sp = ckpt_shard_path(prefix, 0, 1);
	CHECK(sp != NULL);
	write_shard(sp, 16);
	free(sp);
	ckpt_buf_free(&f);
	ckpt_buf_free(&data);
	ckpt_buf_free(&ib);
}

static void
test_tables(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(table_cases); i++) {
		const struct table_case *c = &table_cases[i];
		struct ckpt_err err = { 0 };
		struct ckpt_bundle *b = NULL;
		char prefix[PATH_MAX];
		int rc;

		snprintf(prefix, sizeof(prefix), "%s/table%zu", tmp, i);
		write_table_case(c, prefix);
		alarm(HOSTILE_ALARM);
		rc = ckpt_bundle_open(prefix, &b, &err);
		alarm(0);
		fprintf(stderr, "table case '%s': rc %d, message '%s'\n",
			c->name, rc, err.msg);
		CHECK_EQ_INT(rc, c->rc);
		if (rc == 0) {
			const char *why = ckpt_bundle_entry_bad(b,
								&b->entries[0]);

			CHECK_EQ_U64(b->n, 1);
			CHECK_EQ_STR(b->entries[0].key, "x");
			CHECK_EQ_U64(b->nbad, c->msg != NULL ? 1 : 0);
			CHECK(c->msg == NULL ||
			      (why != NULL && strstr(why, c->msg) != NULL &&
			       strstr(why, prefix) != NULL &&
			       strstr(why, ".index") != NULL));
			ckpt_bundle_close(b);
			continue;
		}
		CHECK(b == NULL);
		CHECK(strstr(err.msg, c->msg) != NULL);
		CHECK(strstr(err.msg, prefix) != NULL);
		CHECK(strstr(err.msg, ".index") != NULL);
	}
}

/* --- hostile object graphs --------------------------------------------- */

#define VKEY "x/.ATTRIBUTES/VARIABLE_VALUE"

/* Pack ObjectReference (NODE, NAME) as child field 1 of a node. */
static void
pack_child(struct ckpt_buf *node, int64_t id, const char *name, size_t nlen)
{
	struct ckpt_buf r = { 0 };

	pb_varint(&r, 1, (uint64_t)id);
	pb_bytes(&r, 2, name, nlen);
	pb_bytes(node, 1, r.data, r.len);
	ckpt_buf_free(&r);
}

/* Pack attribute VARIABLE_VALUE with KEY as field 2 of a node. */
static void
pack_attr(struct ckpt_buf *node, const char *key, const char *full_name)
{
	struct ckpt_buf a = { 0 };

	pb_bytes(&a, 1, "VARIABLE_VALUE", 14);
	pb_bytes(&a, 2, full_name, strlen(full_name));
	pb_bytes(&a, 3, key, strlen(key));
	pb_bytes(node, 2, a.data, a.len);
	ckpt_buf_free(&a);
}

/* Write a TF2 checkpoint at PREFIX: the float32 scalar 5.0 at VKEY and
 * GRAPH (LEN bytes) as its object graph. */
static void
write_tf2(const char *prefix, const void *graph, size_t len)
{
	const uint8_t *data[1] = { graph };
	uint64_t lens[1] = { len };
	struct ckpt_buf s = { 0 };
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	float v = 5.0f;
	uint32_t crc;

	CHECK_EQ_INT(ckpt_string_encode(data, lens, 1, &s, &crc), 0);
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, VKEY, strlen(VKEY), CKPT_DT_FLOAT, NULL,
				     0, &v, 4, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add(w, CKPT_OBJGRAPH_KEY,
				     strlen(CKPT_OBJGRAPH_KEY), CKPT_DT_STRING,
				     NULL, 0, s.data, s.len, &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	ckpt_buf_free(&s);
}

enum graph_kind {
	G_CYCLE,	/* 0 -> 1 "x" -> 0 "back" */
	G_SELF,		/* 0 -> 0 "me", 0 -> 1 "x", 1 -> 1 "again" */
	G_CHILD_RANGE,	/* a child id past the last node */
	G_CHILD_NEG,	/* a child id of -1 */
	G_SLOT_RANGE,	/* a slot variable id past the last node */
	G_DANGLING,	/* an attribute naming a key that is not there */
	G_ODD_NAMES,	/* edge names with '/', '..', NUL */
	G_CHAIN,	/* 3000 nodes in a line, the last one the variable */
	G_SECOND_BAD,	/* node 0 fine, node 1 overruns itself */
	G_GARBAGE,	/* not a protobuf */
	G_EMPTY,	/* no nodes at all */
};

struct graph_case {
	const char *name;
	enum graph_kind kind;
	int rc;
	const char *msg;
};

static const struct graph_case graph_cases[] = {
	{ "cycle", G_CYCLE, 0, NULL },
	{ "self loops", G_SELF, 0, NULL },
	{ "child id out of range", G_CHILD_RANGE, -EBADMSG,
	  ": object graph: node 0 child 0: node id 7 out of range [0, 2)" },
	{ "negative child id", G_CHILD_NEG, -EBADMSG,
	  ": object graph: node 0 child 0: node id -1 out of range [0, 2)" },
	{ "slot variable id out of range", G_SLOT_RANGE, -EBADMSG,
	  ": object graph: node 0 slot variable 0: node id 99 out of range "
	  "[0, 2)" },
	{ "dangling checkpoint key", G_DANGLING, 0, NULL },
	{ "edge names with '/', '..' and NUL", G_ODD_NAMES, 0, NULL },
	{ "a chain of 3000 nodes", G_CHAIN, 0, NULL },
	{ "a node that does not unpack after one that does", G_SECOND_BAD,
	  -EBADMSG, ": object graph: malformed TrackableObjectGraph (13 bytes)" },
	{ "not a protobuf", G_GARBAGE, -EBADMSG,
	  ": object graph: malformed TrackableObjectGraph (6 bytes)" },
	{ "no nodes", G_EMPTY, 0, NULL },
};

#define CHAIN_N 3000

/* The serialized graph of KIND. */
/* A graph of N nodes in a chain, each the child "c" of the one before,
 * the last holding VKEY. */
static void
pack_chain(struct ckpt_buf *g, int n)
{
	for (int i = 0; i < n; i++) {
		struct ckpt_buf nd = { 0 };

		if (i + 1 < n)
			pack_child(&nd, i + 1, "c", 1);
		else
			pack_attr(&nd, VKEY, "x");
		pb_bytes(g, 1, nd.data, nd.len);
		ckpt_buf_free(&nd);
	}
}

static void
pack_graph(enum graph_kind kind, struct ckpt_buf *g)
{
	struct ckpt_buf n0 = { 0 }, n1 = { 0 };

	switch (kind) {
	case G_CYCLE:
		pack_child(&n0, 1, "x", 1);
		pack_child(&n1, 0, "back", 4);
		pack_attr(&n1, VKEY, "x");
		break;
	case G_SELF:
		pack_child(&n0, 0, "me", 2);
		pack_child(&n0, 1, "x", 1);
		pack_child(&n1, 1, "again", 5);
		pack_attr(&n1, VKEY, "x");
		break;
	case G_CHILD_RANGE:
		pack_child(&n0, 7, "x", 1);
		break;
	case G_CHILD_NEG:
		pack_child(&n0, -1, "x", 1);
		break;
	case G_SLOT_RANGE: {
		struct ckpt_buf s = { 0 };

		pack_child(&n0, 1, "x", 1);
		pb_varint(&s, 1, 1);
		pb_bytes(&s, 2, "m", 1);
		pb_varint(&s, 3, 99);
		pb_bytes(&n0, 3, s.data, s.len);
		ckpt_buf_free(&s);
		pack_attr(&n1, VKEY, "x");
		break;
	}
	case G_DANGLING:
		pack_child(&n0, 1, "x", 1);
		pack_attr(&n1, "gone/.ATTRIBUTES/VARIABLE_VALUE", "gone");
		break;
	case G_ODD_NAMES:
		pack_child(&n0, 1, "a/b", 3);
		pack_child(&n0, 1, "..", 2);
		pack_child(&n1, 1, "n\0ul", 4);
		pack_attr(&n1, VKEY, "../../etc/passwd");
		break;
	case G_CHAIN:
		pack_chain(g, CHAIN_N);
		return;
	case G_SECOND_BAD:
		pack_child(&n0, 1, "x", 1);
		/* a children field of 5 bytes in a node of 2 */
		CHECK_EQ_INT(ckpt_buf_put(&n1, "\x0a\x05", 2), 0);
		break;
	case G_GARBAGE:
		CHECK_EQ_INT(ckpt_buf_put(g, "\x0a\xff\xff\xff\xff\x0f", 6), 0);
		return;
	case G_EMPTY:
		CHECK_EQ_INT(ckpt_buf_put(g, "", 0), 0);
		return;
	}
	pb_bytes(g, 1, n0.data, n0.len);
	pb_bytes(g, 1, n1.data, n1.len);
	ckpt_buf_free(&n0);
	ckpt_buf_free(&n1);
}

static void
test_graphs(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(graph_cases); i++) {
		const struct graph_case *c = &graph_cases[i];
		struct ckpt_buf g = { 0 };
		struct ckpt_err err = { 0 };
		struct ckpt_err terr = { 0 };
		struct ckpt_bundle *b;
		struct ckpt_objgraph *og = NULL;
		struct ckptfs_tree *t;
		char prefix[PATH_MAX], **paths = NULL, want[1024];
		int rc;

		snprintf(prefix, sizeof(prefix), "%s/graph%zu", tmp, i);
		pack_graph(c->kind, &g);
		write_tf2(prefix, g.data, g.len);
		ckpt_buf_free(&g);
		/* The checkpoint itself opens whatever its graph says. */
		CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
		CHECK(b->tf2);
		alarm(HOSTILE_ALARM);
		rc = ckpt_bundle_objgraph(b, &og, &err);
		fprintf(stderr, "graph case '%s': rc %d, message '%s'\n",
			c->name, rc, err.msg);
		CHECK_EQ_INT(rc, c->rc);
		/* Mounted: the graph's names, or the keys and a warning
		 * saying why (the tree reads the graph node by node). */
		CHECK_EQ_INT(ckptfs_tree_build(b, NULL, &t, &terr), 0);
		if (rc < 0) {
			snprintf(want, sizeof(want),
				 "object graph unreadable (%.400s); by-name/ "
				 "shows the keys' object paths",
				 err.msg);
			CHECK_EQ_STR(t->warning, want);
			CHECK(ckptfs_tree_path(t, "by-name/x") != NULL);
			CHECK(ckptfs_tree_path(t, "by-name/x") ==
			      ckptfs_tree_path(t, "by-object/" VKEY));
		} else if (c->kind == G_DANGLING) {
			CHECK_EQ_U64(t->graph_missing, 1);
			CHECK(strstr(t->warning, ": the object graph names key "
						 "'gone/.ATTRIBUTES/"
						 "VARIABLE_VALUE', which the "
						 "checkpoint does not hold: "
						 "TensorFlow cannot restore "
						 "that object") != NULL);
		} else {
			CHECK_EQ_STR(t->warning, "");
		}
		ckptfs_tree_free(t);
		if (rc < 0) {
			alarm(0);
			CHECK(og == NULL);
			CHECK(strstr(err.msg, c->msg) != NULL);
			CHECK(strstr(err.msg, prefix) != NULL);
			CHECK(strstr(err.msg, "object graph") != NULL);
			ckpt_bundle_close(b);
			continue;
		}
		CHECK_EQ_INT(ckpt_objgraph_paths(og, &paths), 0);
		alarm(0);
		switch (c->kind) {
		case G_CYCLE:
		case G_SELF:
		case G_SLOT_RANGE:
			CHECK_EQ_U64(og->n, 2);
			CHECK_EQ_STR(paths[0], "");
			CHECK_EQ_STR(paths[1], "x");
			break;
		case G_DANGLING:
			CHECK_EQ_STR(paths[1], "x");
			CHECK(ckpt_bundle_find(b, og->nodes[1].attrs[0]
							  .checkpoint_key,
					       og->nodes[1].attrs[0]
						       .checkpoint_key_len) ==
			      NULL);
			break;
		case G_ODD_NAMES:
			/* Escaped as in keys: '/' -> ".S", '.' -> "..". */
			CHECK_EQ_STR(paths[1], "a.Sb");
			CHECK_EQ_U64(og->nodes[0].children[1].local_name_len, 2);
			CHECK_EQ_U64(og->nodes[1].children[0].local_name_len, 4);
			CHECK_EQ_MEM(og->nodes[1].children[0].local_name, 4,
				     "n\0ul", 4);
			break;
		case G_CHAIN: {
			struct ckpt_buf p = { 0 };
			size_t *up = NULL;

			CHECK_EQ_U64(og->n, CHAIN_N);
			CHECK_EQ_U64(strlen(paths[CHAIN_N - 1]),
				     2 * (CHAIN_N - 1) - 1);
			/* The path of one node from the tree, whole or its
			 * end: memory in proportion to the graph. */
			CHECK_EQ_INT(ckpt_objgraph_bfs(og, &up), 0);
			CHECK_EQ_U64(up[2 * (CHAIN_N - 1)], CHAIN_N - 2);
			CHECK_EQ_U64(up[2 * (CHAIN_N - 1) + 1], 0);
			CHECK_EQ_INT(ckpt_objgraph_path(og, up, CHAIN_N - 1,
							SIZE_MAX, &p),
				     0);
			CHECK_EQ_MEM(p.data, p.len, paths[CHAIN_N - 1],
				     strlen(paths[CHAIN_N - 1]));
			p.len = 0;
			CHECK_EQ_INT(ckpt_objgraph_path(og, up, CHAIN_N - 1,
							100, &p),
				     0);
			CHECK(p.len >= 100 && p.len <= 110);
			CHECK_EQ_MEM(p.data, 6, ".../c/", 6);
			CHECK_EQ_MEM(p.data + p.len - 4, 4, "/c/c", 4);
			p.len = 0;
			CHECK_EQ_INT(ckpt_objgraph_path(og, up, 0, 100, &p), 0);
			CHECK_EQ_U64(p.len, 0);
			ckpt_buf_free(&p);
			free(up);
			break;
		}
		case G_EMPTY:
			CHECK_EQ_U64(og->n, 0);
			break;
		default:
			CHECK(0);
		}
		ckpt_objgraph_paths_free(paths, og->n);
		ckpt_objgraph_free(og);
		ckpt_bundle_close(b);
	}
}

/* --- hostile names ----------------------------------------------------- */

#define LONG_KEY 4096

/* Write the TF1 checkpoint of hostile names at PREFIX; return how many
 * tensors it has.  Tensor i is the float32 scalar i + 1. */
static size_t
write_names(const char *prefix, char **keys, size_t *klens)
{
	static const char *const plain[] = {
		"..", "../../../../etc/passwd", "/abs/path", "a/../../b", ".",
		"./x", "x/./y", "a//b", "trail/", "/", "//", "sl\\ash",
		"%2E%2E", "pct%", "at@", "new\nline",
	};
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
		keys[n] = strdup(plain[i]);
		klens[n++] = strlen(plain[i]);
	}
	keys[n] = (char *)check_memdup("nul\0../../x", 11);
	klens[n++] = 11;
	keys[n] = (char *)check_memdup("\0", 1);
	klens[n++] = 1;
	keys[n] = malloc(LONG_KEY);
	CHECK(keys[n] != NULL);
	memset(keys[n], 'L', LONG_KEY);
	klens[n++] = LONG_KEY;
	/* 4 KiB of "../" */
	keys[n] = malloc(LONG_KEY);
	CHECK(keys[n] != NULL);
	for (size_t i = 0; i < LONG_KEY; i++)
		keys[n][i] = "../"[i % 3];
	klens[n++] = LONG_KEY;
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	for (size_t i = 0; i < n; i++) {
		float v = (float)(i + 1);

		CHECK(keys[i] != NULL);
		CHECK_EQ_INT(ckpt_writer_add(w, keys[i], klens[i], CKPT_DT_FLOAT,
					     NULL, 0, &v, 4, &err),
			     0);
	}
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	return n;
}

#define NAMES_MAX 24

/* Names are kept byte for byte: every key found, every value right. */
static void
test_names(void)
{
	char prefix[PATH_MAX], *keys[NAMES_MAX];
	size_t klens[NAMES_MAX], n;
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b;

	snprintf(prefix, sizeof(prefix), "%s/names", tmp);
	n = write_names(prefix, keys, klens);
	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	CHECK_EQ_U64(b->n, n);
	for (size_t i = 0; i < n; i++) {
		const struct ckpt_entry *e = ckpt_bundle_find(b, keys[i],
							      klens[i]);
		uint8_t *buf;
		size_t len;
		float f;

		CHECK(e != NULL);
		CHECK_EQ_U64(e->key_len, klens[i]);
		CHECK_EQ_MEM(e->key, e->key_len, keys[i], klens[i]);
		CHECK_EQ_INT(ckpt_bundle_read(b, e, &buf, &len, &err), 0);
		CHECK_EQ_U64(len, 4);
		memcpy(&f, buf, 4);
		CHECK(f == (float)(i + 1));
		free(buf);
		free(keys[i]);
	}
	/* Cut at the NUL, the key is another (absent) one. */
	CHECK(ckpt_bundle_find(b, "nul", 3) == NULL);
	ckpt_bundle_close(b);
}

/* --- shards that change under an open bundle ----------------------------- */

/* A shard truncated after opening: the tensors past the new end fail with
 * -EIO in every read path (locate used to hand out a run past the end,
 * which a zero-copy reader replied short: a silent early EOF); the
 * tensors before it still read. */
static void
test_truncated_shard(void)
{
	static const float xv[4] = { 1, 2, 3, 4 }, yv[4] = { 5, 6, 7, 8 };
	static const int64_t d4[] = { 4 };
	struct ckpt_err err = { 0 };
	struct ckpt_writer *w;
	struct ckpt_bundle *b;
	const struct ckpt_entry *x, *y;
	char prefix[PATH_MAX], *sp;
	uint64_t foff, run;
	uint8_t buf[16];
	size_t got;
	int fd;

	snprintf(prefix, sizeof(prefix), "%s/trunc", tmp);
	CHECK_EQ_INT(ckpt_writer_new(prefix, NULL, &w, &err), 0);
	CHECK_EQ_INT(ckpt_writer_add(w, "x", 1, CKPT_DT_FLOAT, d4, 1, xv, 16,
				     &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_add(w, "y", 1, CKPT_DT_FLOAT, d4, 1, yv, 16,
				     &err),
		     0);
	CHECK_EQ_INT(ckpt_writer_finish(w, &err), 0);
	ckpt_writer_free(w);
	CHECK_EQ_INT(ckpt_bundle_open(prefix, &b, &err), 0);
	x = ckpt_bundle_find(b, "x", 1);
	y = ckpt_bundle_find(b, "y", 1);
	CHECK(x != NULL && y != NULL);
	CHECK_EQ_U64(y->offset, 16);
	CHECK_EQ_INT(ckpt_bundle_locate(b, y, 0, &fd, &foff, &run), 0);
	CHECK_EQ_U64(run, 16);
	sp = ckpt_shard_path(prefix, 0, 1);
	CHECK(sp != NULL);
	CHECK_EQ_INT(truncate(sp, 20), 0);
	free(sp);
	CHECK_EQ_INT(ckpt_bundle_locate(b, y, 0, &fd, &foff, &run), -EIO);
	CHECK_EQ_INT(ckpt_bundle_locate(b, y, 8, &fd, &foff, &run), -EIO);
	CHECK_EQ_INT(ckpt_bundle_pread(b, y, buf, 16, 0, &got), -EIO);
	CHECK_EQ_INT(ckpt_bundle_verify(b, y, &err), -EIO);
	/* x lies wholly before the cut: read again once the cut file is
	 * taken as it is */
	CHECK_EQ_INT(ckpt_bundle_locate(b, x, 4, &fd, &foff, &run), -ESTALE);
	CHECK_EQ_U64(ckpt_bundle_rebase(b, NULL), 1);
	CHECK_EQ_INT(ckpt_bundle_locate(b, x, 4, &fd, &foff, &run), 0);
	CHECK_EQ_U64(foff, 4);
	CHECK_EQ_U64(run, 12);
	CHECK_EQ_INT(ckpt_bundle_pread(b, x, buf, 16, 0, &got), 0);
	CHECK_EQ_MEM(buf, got, xv, 16);
	ckpt_bundle_close(b);
}

/* --- main ---------------------------------------------------------------- */

/* Write the checkpoints the bats suites mount into DIR. */
static int
write_for_bats(const char *dir)
{
	char prefix[PATH_MAX], *keys[NAMES_MAX];
	size_t klens[NAMES_MAX], n;
	struct ckpt_buf g = { 0 };

	snprintf(prefix, sizeof(prefix), "%s/names", dir);
	n = write_names(prefix, keys, klens);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	snprintf(prefix, sizeof(prefix), "%s/dangling", dir);
	pack_graph(G_DANGLING, &g);
	write_tf2(prefix, g.data, g.len);
	ckpt_buf_free(&g);
	snprintf(prefix, sizeof(prefix), "%s/cycle", dir);
	pack_graph(G_CYCLE, &g);
	write_tf2(prefix, g.data, g.len);
	ckpt_buf_free(&g);
	snprintf(prefix, sizeof(prefix), "%s/oddgraph", dir);
	pack_graph(G_ODD_NAMES, &g);
	write_tf2(prefix, g.data, g.len);
	ckpt_buf_free(&g);
	/* deep enough that every path whole takes 900 MB */
	snprintf(prefix, sizeof(prefix), "%s/deepgraph", dir);
	pack_chain(&g, 30000);
	write_tf2(prefix, g.data, g.len);
	ckpt_buf_free(&g);
	/* a node of 5 bytes with 3 there */
	snprintf(prefix, sizeof(prefix), "%s/badgraph", dir);
	write_tf2(prefix, "\x0a\x05" "abc", 5);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write") == 0)
		return write_for_bats(argv[2]);
#ifndef HOSTILE_ASAN
	{
		struct rlimit rl = { HOSTILE_AS_LIMIT, HOSTILE_AS_LIMIT };

		CHECK_EQ_INT(setrlimit(RLIMIT_AS, &rl), 0);
	}
#endif
	check_mkdtemp(tmp, sizeof(tmp));
	test_entries();
	test_tables();
	test_graphs();
	test_names();
	test_truncated_shard();
	check_rmtree(tmp);
	return check_done("test_hostile");
}
