/* test_table.c -- covers src/table.c and src/table_builder.c: the worked
 * example of FORMAT.md §3.9 parsed and rebuilt byte for byte; the writer's
 * block, restart, separator and oversize rules on small blocks; a model
 * round trip (builder -> parser -> compare with the input) over block
 * sizes, restart intervals, snappy and 0..2000 entries; every real .index
 * in REALDATA parsed and rebuilt byte for byte; and hostile inputs
 * (truncations, every bit flipped, crafted blocks) rejected with the right
 * code, each parsed from an exact-size heap copy so ASan sees over-reads. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "crc32c.h"
#include "table.h"

/* FORMAT.md §3.9: saved_model_half_plus_three_variables.index. */
/* clang-format off */
static const uint8_t example[151] = {
	/* data block: "" -> header, "a", "b", "c" -> BundleEntryProto */
	0x00, 0x00, 0x06, 0x08, 0x01, 0x1a, 0x02, 0x08, 0x01,
	0x00, 0x01, 0x0b, 0x61,
	0x08, 0x01, 0x12, 0x00, 0x28, 0x04, 0x35, 0x06, 0x38, 0x27, 0x1f,
	0x00, 0x01, 0x0d, 0x62,
	0x08, 0x01, 0x12, 0x00, 0x20, 0x04, 0x28, 0x04, 0x35, 0xef, 0xd6,
	0x82, 0xc3,
	0x00, 0x01, 0x0d, 0x63,
	0x08, 0x01, 0x12, 0x00, 0x20, 0x08, 0x28, 0x04, 0x35, 0xef, 0xd6,
	0x82, 0xc3,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,	/* restarts */
	0x00, 0xc1, 0xe6, 0x19, 0xdf,			/* trailer */
	/* 71: metaindex block and trailer */
	0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0xc0, 0xf2, 0xa1, 0xb0,
	/* 84: index block: "d" -> (0, 66) */
	0x00, 0x01, 0x02, 0x64, 0x00, 0x42,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x58, 0xb2, 0xe9, 0xf7,
	/* 103: footer */
	0x47, 0x08, 0x54, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
	0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb,
};
/* clang-format on */

static const uint8_t ex_header[] = { 0x08, 0x01, 0x1a, 0x02, 0x08, 0x01 };
static const uint8_t ex_a[] = { 0x08, 0x01, 0x12, 0x00, 0x28, 0x04,
				0x35, 0x06, 0x38, 0x27, 0x1f };
static const uint8_t ex_b[] = { 0x08, 0x01, 0x12, 0x00, 0x20, 0x04, 0x28,
				0x04, 0x35, 0xef, 0xd6, 0x82, 0xc3 };
static const uint8_t ex_c[] = { 0x08, 0x01, 0x12, 0x00, 0x20, 0x08, 0x28,
				0x04, 0x35, 0xef, 0xd6, 0x82, 0xc3 };

/* Parse LEN bytes of P from an exact-size heap copy; return the code.
 * On success the table and its buffer go to *T and *COPY, else both are
 * freed. */
static int
parse_copy(const uint8_t *p, size_t len, struct ckpt_table **t,
	   uint8_t **copy, struct ckpt_err *err)
{
	int rc;

	*copy = check_memdup(p, len);
	ckpt_err_clear(err);
	rc = ckpt_table_parse(*copy, len, "test.index", t, err);
	if (rc < 0) {
		CHECK(*t == NULL);
		CHECK_EQ_INT(err->code, rc);
		CHECK(strstr(err->msg, "test.index") != NULL || rc == -ENOMEM);
		free(*copy);
		*copy = NULL;
	} else {
		CHECK(*t != NULL);
		CHECK_EQ_INT(err->code, 0);
	}
	return rc;
}

static char last_msg[512];	/* message of the last parse_rc() */

/* Parse and throw away; return the code. */
static int
parse_rc(const uint8_t *p, size_t len)
{
	struct ckpt_table *t;
	struct ckpt_err err;
	uint8_t *copy;
	int rc = parse_copy(p, len, &t, &copy, &err);

	memcpy(last_msg, err.msg, sizeof(last_msg));
	if (rc == 0) {
		ckpt_table_free(t);
		free(copy);
	}
	return rc;
}

/* Build a table from N pairs with OPTS into OUT (appended). */
static void
build(const struct ckpt_table_opts *opts, const struct ckpt_kv *kv, size_t n,
      struct ckpt_buf *out)
{
	struct ckpt_table_builder *tb;
	size_t i;

	CHECK_EQ_INT(ckpt_table_builder_new(opts, &tb), 0);
	for (i = 0; i < n; i++)
		CHECK_EQ_INT(ckpt_table_builder_add(tb, kv[i].key.data,
						    kv[i].key.len,
						    kv[i].value.data,
						    kv[i].value.len),
			     0);
	CHECK_EQ_INT(ckpt_table_builder_finish(tb, out), 0);
	ckpt_table_builder_free(tb);
}

#define SLICE(s) { (const uint8_t *)(s), sizeof(s) - 1 }

/* The hand-checked example parses to its four pairs and is rebuilt
 * exactly. */
static void
test_example(void)
{
	static const struct ckpt_kv want[] = {
		{ { (const uint8_t *)"", 0 },
		  { ex_header, sizeof(ex_header) } },
		{ SLICE("a"), { ex_a, sizeof(ex_a) } },
		{ SLICE("b"), { ex_b, sizeof(ex_b) } },
		{ SLICE("c"), { ex_c, sizeof(ex_c) } },
	};
	struct ckpt_table *t;
	struct ckpt_err err;
	struct ckpt_buf out = { 0 };
	uint8_t *copy;
	size_t i;

	CHECK_EQ_INT(parse_copy(example, sizeof(example), &t, &copy, &err), 0);
	CHECK_EQ_U64(t->n, 4);
	CHECK_EQ_U64(t->nblocks, 1);
	CHECK_EQ_U64(t->nsnappy, 0);
	for (i = 0; i < 4; i++) {
		CHECK_EQ_MEM(t->kv[i].key.data, t->kv[i].key.len,
			     want[i].key.data, want[i].key.len);
		CHECK_EQ_MEM(t->kv[i].value.data, t->kv[i].value.len,
			     want[i].value.data, want[i].value.len);
		/* raw block: values point into the input */
		CHECK(t->kv[i].value.data >= copy &&
		      t->kv[i].value.data < copy + sizeof(example));
		CHECK(ckpt_table_find(t, want[i].key.data, want[i].key.len) ==
		      &t->kv[i]);
	}
	CHECK(t->kv[1].value.data == copy + 13);
	CHECK(ckpt_table_find(t, "d", 1) == NULL);
	CHECK(ckpt_table_find(t, "a\0", 2) == NULL);
	CHECK(ckpt_table_find(t, "bb", 2) == NULL);
	CHECK(ckpt_table_find(t, "\xff", 1) == NULL);
	ckpt_table_free(t);
	free(copy);

	build(NULL, want, 4, &out);
	CHECK_EQ_MEM(out.data, out.len, example, sizeof(example));
	/* with snappy on, the 66-byte data block does not shrink enough */
	out.len = 0;
	build(&(struct ckpt_table_opts){ 0, 0, CKPT_COMPRESS_SNAPPY }, want, 4,
	      &out);
	CHECK_EQ_MEM(out.data, out.len, example, sizeof(example));
	/* finish appends after what the buffer holds */
	out.len = 0;
	CHECK_EQ_INT(ckpt_buf_put(&out, "xy", 2), 0);
	build(NULL, want, 4, &out);
	CHECK_EQ_MEM(out.data + 2, out.len - 2, example, sizeof(example));
	CHECK_EQ_MEM(out.data, 2, "xy", 2);
	ckpt_buf_free(&out);

	CHECK_EQ_INT(ckpt_key_cmp("", 0, "", 0), 0);
	CHECK(ckpt_key_cmp("", 0, "\0", 1) < 0);
	CHECK(ckpt_key_cmp("a", 1, "ab", 2) < 0);
	CHECK(ckpt_key_cmp("b", 1, "ab", 2) > 0);
	CHECK(ckpt_key_cmp("\xff", 1, "\x01", 1) > 0);	/* unsigned */
	CHECK_EQ_INT(ckpt_key_cmp("ab", 2, "ab", 2), 0);
}

/* --- reading the structure of a built table back, independently ------- */

struct handle {
	uint64_t off, size;
};

/* Decode a varint without the library (test oracle). */
static uint64_t
oracle_varint(const uint8_t **p)
{
	uint64_t v = 0;
	int shift = 0;

	while (**p & 0x80) {
		v |= (uint64_t)(**p & 0x7f) << shift;
		shift += 7;
		(*p)++;
	}
	v |= (uint64_t)**p << shift;
	(*p)++;
	return v;
}

/* Index of table B: separator keys (NUL-terminated, no NULs expected)
 * and handles; returns the count.  Also returns the index block handle. */
static size_t
read_index(const struct ckpt_buf *b, char keys[][64], struct handle *h,
	   size_t max, struct handle *ih)
{
	const uint8_t *p = b->data + b->len - CKPT_TABLE_FOOTER_LEN, *end;
	size_t n = 0;

	oracle_varint(&p);
	oracle_varint(&p);
	ih->off = oracle_varint(&p);
	ih->size = oracle_varint(&p);
	CHECK_EQ_U64(b->data[ih->off + ih->size], 0);	/* raw */
	p = b->data + ih->off;
	end = p + ih->size - 4 - 4 * ckpt_load32le(p + ih->size - 4);
	while (p < end) {
		uint64_t shared = oracle_varint(&p), nd = oracle_varint(&p);
		uint64_t vlen = oracle_varint(&p);
		const uint8_t *v;

		CHECK_EQ_U64(shared, 0);	/* restart interval 1 */
		CHECK(n < max && nd < 64);
		memcpy(keys[n], p, nd);
		keys[n][nd] = '\0';
		p += nd;
		v = p;
		h[n].off = oracle_varint(&v);
		h[n].size = oracle_varint(&v);
		CHECK(v == p + vlen);
		p += vlen;
		n++;
	}
	return n;
}

/* Entries in the data block at H of B (raw), and its restart count. */
static size_t
block_entries(const struct ckpt_buf *b, struct handle h, uint32_t *nrestarts)
{
	const uint8_t *p = b->data + h.off, *end;
	size_t n = 0;

	CHECK_EQ_U64(b->data[h.off + h.size], 0);
	*nrestarts = ckpt_load32le(p + h.size - 4);
	end = p + h.size - 4 - 4 * (size_t)*nrestarts;
	while (p < end) {
		uint64_t nd, vlen;

		oracle_varint(&p);
		nd = oracle_varint(&p);
		vlen = oracle_varint(&p);
		p += nd + vlen;
		n++;
	}
	CHECK(p == end);
	return n;
}

/* Build from NUL-terminated keys with VLEN-byte values; check the index
 * keys against WANT (NULL-terminated) and return the table. */
static void
build_keys(size_t block_size, const char *const *keys, const size_t *vlens,
	   const char *const *want, struct ckpt_buf *out)
{
	static uint8_t val[4096];
	struct ckpt_table_opts o = { block_size, 16, CKPT_COMPRESS_NONE };
	struct ckpt_table_builder *tb;
	char got[32][64];
	struct handle h[32], ih;
	size_t i, n;

	memset(val, 'v', sizeof(val));
	out->len = 0;
	CHECK_EQ_INT(ckpt_table_builder_new(&o, &tb), 0);
	for (i = 0; keys[i] != NULL; i++)
		CHECK_EQ_INT(ckpt_table_builder_add(tb, keys[i],
						    strlen(keys[i]), val,
						    vlens ? vlens[i] : 1),
			     0);
	CHECK_EQ_INT(ckpt_table_builder_finish(tb, out), 0);
	ckpt_table_builder_free(tb);
	n = read_index(out, got, h, 32, &ih);
	for (i = 0; want[i] != NULL; i++) {
		CHECK(i < n);
		CHECK_EQ_STR(got[i], want[i]);
	}
	CHECK_EQ_U64(n, i);
	CHECK_EQ_INT(parse_rc(out->data, out->len), 0);
}

/* Separators between blocks and the successor after the last one. */
static void
test_separators(void)
{
	struct ckpt_buf out = { 0 };

	/* block size 1: every entry is a block of its own */
	build_keys(1,
		   (const char *[]){ "conv2d/kernel", "conv2d_1/bias", NULL },
		   NULL, (const char *[]){ "conv2d0", "d", NULL }, &out);
	/* one key a prefix of the next: unchanged */
	build_keys(1, (const char *[]){ "abc", "abcd", NULL }, NULL,
		   (const char *[]){ "abc", "b", NULL }, &out);
	/* differing byte + 1 is not below the next byte: unchanged */
	build_keys(1, (const char *[]){ "ab", "ac", NULL }, NULL,
		   (const char *[]){ "ab", "b", NULL }, &out);
	build_keys(1, (const char *[]){ "a\xff\x01", "b", NULL }, NULL,
		   (const char *[]){ "a\xff\x01", "c", NULL }, &out);
	/* 0xff cannot be incremented */
	build_keys(1, (const char *[]){ "x\xff" "a", "x\xff" "c", NULL }, NULL,
		   (const char *[]){ "x\xff" "b", "y", NULL }, &out);
	build_keys(1, (const char *[]){ "x\xff", "y\x01", NULL }, NULL,
		   (const char *[]){ "x\xff", "z", NULL }, &out);
	/* truncated right after the incremented byte */
	build_keys(1, (const char *[]){ "a\xffzzz", "c", NULL }, NULL,
		   (const char *[]){ "b", "d", NULL }, &out);
	/* the empty key is a prefix of everything */
	build_keys(1, (const char *[]){ "", "a", NULL }, NULL,
		   (const char *[]){ "", "b", NULL }, &out);
	/* short successor skips leading 0xff bytes; all-0xff stays */
	build_keys(1, (const char *[]){ "\xff\xff\x10" "abc", NULL }, NULL,
		   (const char *[]){ "\xff\xff\x11", NULL }, &out);
	build_keys(1, (const char *[]){ "\xff\xff", NULL }, NULL,
		   (const char *[]){ "\xff\xff", NULL }, &out);
	build_keys(1, (const char *[]){ "_CHECKPOINTABLE_OBJECT_GRAPH", NULL },
		   NULL, (const char *[]){ "`", NULL }, &out);
	/* an empty table has an empty index */
	build_keys(1, (const char *[]){ NULL }, NULL, (const char *[]){ NULL },
		   &out);
	CHECK_EQ_U64(out.len, 8 + 5 + 8 + 5 + CKPT_TABLE_FOOTER_LEN);
	ckpt_buf_free(&out);
}

/* The flush rule (estimate >= block size after adding), the restart
 * interval and the oversize rule, on hand-computed sizes. */
static void
test_block_rules(void)
{
	static const char *const k6[] = { "k00", "k01", "k02", "k03",
					  "k04", "k05", NULL };
	struct ckpt_buf out = { 0 };
	char keys[32][64];
	struct handle h[32], ih;
	uint32_t nr;
	size_t n;

	/* entries: k00 = 3+3+5 = 11 bytes, then 3+1+5 = 9 each; estimate
	 * = raw + 4 * restarts + 4 = 19, 28, 37, 46 */
	static const size_t v5[] = { 5, 5, 5, 5, 5, 5 };

	build_keys(37, k6, v5, (const char *[]){ "k02", "l", NULL }, &out);
	n = read_index(&out, keys, h, 32, &ih);
	CHECK_EQ_U64(n, 2);
	CHECK_EQ_U64(h[0].off, 0);
	CHECK_EQ_U64(h[0].size, 37);
	CHECK_EQ_U64(h[1].off, 42);
	CHECK_EQ_U64(h[1].size, 37);
	CHECK_EQ_U64(block_entries(&out, h[0], &nr), 3);
	CHECK_EQ_U64(nr, 1);
	build_keys(38, k6, v5, (const char *[]){ "k03", "l", NULL }, &out);
	n = read_index(&out, keys, h, 32, &ih);
	CHECK_EQ_U64(h[0].size, 46);
	CHECK_EQ_U64(block_entries(&out, h[0], &nr), 4);
	CHECK_EQ_U64(block_entries(&out, h[1], &nr), 2);

	/* oversize: with block size 64, key+value >= 128 flushes first */
	build_keys(64, (const char *[]){ "a", "b", NULL },
		   (const size_t[]){ 10, 127 },
		   (const char *[]){ "a", "c", NULL }, &out);
	build_keys(64, (const char *[]){ "a", "b", NULL },
		   (const size_t[]){ 10, 126 }, (const char *[]){ "c", NULL },
		   &out);
	/* a large entry arriving on an empty block flushes nothing first */
	build_keys(64, (const char *[]){ "a", "b", NULL },
		   (const size_t[]){ 500, 1 },
		   (const char *[]){ "a", "c", NULL }, &out);
	ckpt_buf_free(&out);
}

/* Restart interval: one restart per R entries, sharing in between. */
static void
test_restarts(void)
{
	struct ckpt_table_builder *tb;
	struct ckpt_table_opts o = { 0, 0, CKPT_COMPRESS_NONE };
	struct ckpt_buf out = { 0 };
	char keys[4][64];
	struct handle h[4], ih;
	char k[16];
	uint32_t nr;
	int r, i;

	for (r = 1; r <= 16; r *= 4) {
		o.restart_interval = r == 16 ? 0 : r;	/* 0: default 16 */
		out.len = 0;
		CHECK_EQ_INT(ckpt_table_builder_new(&o, &tb), 0);
		for (i = 0; i < 40; i++) {
			snprintf(k, sizeof(k), "key%03d", i);
			CHECK_EQ_INT(ckpt_table_builder_add(tb, k, strlen(k),
							    "v", 1),
				     0);
		}
		CHECK_EQ_INT(ckpt_table_builder_finish(tb, &out), 0);
		ckpt_table_builder_free(tb);
		CHECK_EQ_U64(read_index(&out, keys, h, 4, &ih), 1);
		CHECK_EQ_U64(block_entries(&out, h[0], &nr), 40);
		CHECK_EQ_U64(nr, (40 + r - 1) / r);
		/* entry 1 shares "key00" with entry 0 unless it restarts */
		CHECK_EQ_U64(out.data[10], r == 1 ? 0 : 5);
		CHECK_EQ_INT(parse_rc(out.data, out.len), 0);
	}
	ckpt_buf_free(&out);
}

/* Builder contract: increasing keys only; finish once. */
static void
test_builder_misuse(void)
{
	struct ckpt_table_builder *tb;
	struct ckpt_buf out = { 0 };
	struct ckpt_table *t;
	struct ckpt_err err;
	uint8_t *copy;

	CHECK_EQ_INT(ckpt_table_builder_new(NULL, &tb), 0);
	CHECK_EQ_INT(ckpt_table_builder_add(tb, "b", 1, "1", 1), 0);
	CHECK_EQ_INT(ckpt_table_builder_add(tb, "a", 1, "2", 1), -EINVAL);
	CHECK_EQ_INT(ckpt_table_builder_add(tb, "b", 1, "2", 1), -EINVAL);
	CHECK_EQ_INT(ckpt_table_builder_add(tb, "", 0, "2", 1), -EINVAL);
	CHECK_EQ_INT(ckpt_table_builder_add(tb, "b\0", 2, "3", 1), 0);
	CHECK_EQ_INT(ckpt_table_builder_add(tb, NULL, 0, NULL, 0), -EINVAL);
	CHECK_EQ_INT(ckpt_table_builder_finish(tb, &out), 0);
	CHECK_EQ_INT(ckpt_table_builder_finish(tb, &out), -EINVAL);
	CHECK_EQ_INT(ckpt_table_builder_add(tb, "c", 1, "4", 1), -EINVAL);
	ckpt_table_builder_free(tb);
	ckpt_table_builder_free(NULL);
	CHECK_EQ_INT(parse_copy(out.data, out.len, &t, &copy, &err), 0);
	CHECK_EQ_U64(t->n, 2);
	CHECK_EQ_MEM(t->kv[1].key.data, t->kv[1].key.len, "b\0", 2);
	CHECK_EQ_MEM(t->kv[1].value.data, t->kv[1].value.len, "3", 1);
	ckpt_table_free(t);
	ckpt_table_free(NULL);
	free(copy);
	ckpt_buf_free(&out);
}

/* --- model round trip ------------------------------------------------- */

static uint32_t rng_state;

/* xorshift32 */
static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

struct model {
	struct ckpt_kv *kv;	/* keys and values malloc()ed */
	size_t n;
};

/* qsort comparator on keys */
static int
kv_cmp(const void *a, const void *b)
{
	const struct ckpt_kv *x = a, *y = b;

	return ckpt_key_cmp(x->key.data, x->key.len, y->key.data, y->key.len);
}

/* N distinct sorted keys over a small alphabet (0x00, 0xff and friends,
 * so prefixes are shared a lot), values of mixed sizes and
 * compressibility, some larger than twice the block size. */
static void
model_make(struct model *m, size_t n, size_t block_size, uint32_t seed)
{
	static const uint8_t alpha[] = { 0x00, 0x01, 'a', 'b',
					 '/',  0xfe, 0xff };
	size_t i, j, out;

	rng_state = seed | 1;
	m->kv = calloc(n + 1, sizeof(*m->kv));
	CHECK(m->kv != NULL);
	for (i = 0; i < n; i++) {
		size_t klen = i == 0 ? 0 : rng() % 24, vlen;
		uint8_t *k = malloc(klen + 1), *v;
		uint32_t r = rng() % 100;

		CHECK(k != NULL);
		for (j = 0; j < klen; j++)
			k[j] = alpha[rng() % sizeof(alpha)];
		vlen = r < 3 ? 2 * block_size + rng() % 64
		       : r < 20 ? rng() % 200 : rng() % 24;
		v = malloc(vlen + 1);
		CHECK(v != NULL);
		for (j = 0; j < vlen; j++)
			v[j] = r % 2 ? (uint8_t)rng() : (uint8_t)('A' + j % 3);
		m->kv[i].key.data = k;
		m->kv[i].key.len = klen;
		m->kv[i].value.data = v;
		m->kv[i].value.len = vlen;
	}
	qsort(m->kv, n, sizeof(*m->kv), kv_cmp);
	for (i = 0, out = 0; i < n; i++) {
		if (out > 0 && kv_cmp(&m->kv[out - 1], &m->kv[i]) == 0) {
			free((void *)m->kv[i].key.data);
			free((void *)m->kv[i].value.data);
			continue;
		}
		m->kv[out++] = m->kv[i];
	}
	m->n = out;
}

/* Release a model. */
static void
model_free(struct model *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free((void *)m->kv[i].key.data);
		free((void *)m->kv[i].value.data);
	}
	free(m->kv);
}

static size_t total_blocks, total_snappy, total_multi;

/* Build, parse and compare one model table. */
static void
check_roundtrip(const struct ckpt_table_opts *o, size_t n, uint32_t seed)
{
	struct model m;
	struct ckpt_buf out = { 0 };
	struct ckpt_table *t;
	struct ckpt_err err;
	uint8_t *copy;
	size_t i;

	model_make(&m, n, o->block_size, seed);
	build(o, m.kv, m.n, &out);
	CHECK_EQ_INT(parse_copy(out.data, out.len, &t, &copy, &err), 0);
	CHECK_EQ_U64(t->n, m.n);
	for (i = 0; i < m.n; i++) {
		uint8_t probe[32];

		CHECK_EQ_MEM(t->kv[i].key.data, t->kv[i].key.len,
			     m.kv[i].key.data, m.kv[i].key.len);
		CHECK_EQ_MEM(t->kv[i].value.data, t->kv[i].value.len,
			     m.kv[i].value.data, m.kv[i].value.len);
		CHECK(ckpt_table_find(t, m.kv[i].key.data, m.kv[i].key.len) ==
		      &t->kv[i]);
		/* key + 0x00 lies strictly between key and its successor */
		memcpy(probe, m.kv[i].key.data, m.kv[i].key.len);
		probe[m.kv[i].key.len] = 0;
		if (i + 1 == m.n || ckpt_key_cmp(probe, m.kv[i].key.len + 1,
						 m.kv[i + 1].key.data,
						 m.kv[i + 1].key.len) != 0)
			CHECK(ckpt_table_find(t, probe, m.kv[i].key.len + 1) ==
			      NULL);
	}
	if (o->compression == CKPT_COMPRESS_NONE)
		CHECK_EQ_U64(t->nsnappy, 0);
	CHECK(t->nsnappy <= t->nblocks);
	CHECK(m.n == 0 ? t->nblocks == 0 : t->nblocks >= 1);
	total_blocks += t->nblocks;
	total_snappy += t->nsnappy;
	if (t->nblocks > 1)
		total_multi++;
	ckpt_table_free(t);
	free(copy);
	ckpt_buf_free(&out);
	model_free(&m);
}

/* The model round trip over block sizes, restart intervals, compression
 * and table sizes from 0 to 2000 entries. */
static void
test_roundtrip(void)
{
	static const struct { size_t block_size; int restart; } cfg[] = {
		{ 64, 1 }, { 64, 16 }, { 256, 1 }, { 256, 16 }, { 4096, 16 },
	};
	size_t i, n;
	int c;

	for (i = 0; i < ARRAY_SIZE(cfg); i++)
		for (c = 0; c < 2; c++)
			for (n = 0; n <= 2000; n += n < 40 ? 1 : 196) {
				struct ckpt_table_opts o = {
					cfg[i].block_size, cfg[i].restart,
					c ? CKPT_COMPRESS_SNAPPY
					  : CKPT_COMPRESS_NONE
				};

				check_roundtrip(&o, n,
						(uint32_t)(n * 7919 + i));
			}
	fprintf(stderr, "roundtrip: %zu blocks, %zu snappy, %zu multi-block "
			"tables\n",
		total_blocks, total_snappy, total_multi);
	CHECK(total_multi > 100);
	CHECK(total_snappy > 100);
	CHECK(total_snappy < total_blocks);
}

/* A snappy data block: values come from the decompressed copy. */
static void
test_snappy_block(void)
{
	static uint8_t val[1000];
	struct ckpt_table_opts o = { 0, 0, CKPT_COMPRESS_SNAPPY };
	struct ckpt_kv kv[2] = { { SLICE("k1"), { val, sizeof(val) } },
				 { SLICE("k2"), { val, 10 } } };
	struct ckpt_buf out = { 0 };
	struct ckpt_table *t;
	struct ckpt_err err;
	char keys[4][64];
	struct handle h[4], ih;
	uint8_t *copy;

	memset(val, 'z', sizeof(val));
	build(&o, kv, 2, &out);
	CHECK(out.len < 200);
	CHECK_EQ_U64(read_index(&out, keys, h, 4, &ih), 1);
	CHECK_EQ_U64(out.data[h[0].off + h[0].size], CKPT_COMPRESS_SNAPPY);
	/* the snappy header: the uncompressed length, 1006 + 14 + 8 */
	CHECK_EQ_MEM(out.data, 2, "\x84\x08", 2);
	CHECK_EQ_INT(parse_copy(out.data, out.len, &t, &copy, &err), 0);
	CHECK_EQ_U64(t->n, 2);
	CHECK_EQ_U64(t->nblocks, 1);
	CHECK_EQ_U64(t->nsnappy, 1);
	CHECK_EQ_MEM(t->kv[0].value.data, t->kv[0].value.len, val, sizeof(val));
	CHECK_EQ_MEM(t->kv[1].value.data, t->kv[1].value.len, val, 10);
	CHECK(t->kv[0].value.data < copy ||
	      t->kv[0].value.data >= copy + out.len);
	ckpt_table_free(t);
	free(copy);
	ckpt_buf_free(&out);
}

/* --- hostile input ---------------------------------------------------- */

/* Every truncation and every single-bit and whole-byte flip of P fails;
 * flips inside the blocks fail on a CRC with -EBADMSG. */
static void
check_corruptions(const uint8_t *p, size_t len)
{
	uint8_t *q = check_memdup(p, len);
	size_t i, cut;
	int bit, rc;

	for (cut = 0; cut < len; cut++) {
		rc = parse_rc(p, cut);
		CHECK(rc == -EBADMSG || rc == -ERANGE);
	}
	for (i = 0; i < len; i++) {
		for (bit = 0; bit <= 8; bit++) {
			uint8_t x = bit == 8 ? 0xff : (uint8_t)(1u << bit);

			q[i] ^= x;
			rc = parse_rc(q, len);
			if (i < len - CKPT_TABLE_FOOTER_LEN)
				CHECK_EQ_INT(rc, -EBADMSG);
			else
				CHECK(rc == -EBADMSG || rc == -ERANGE);
			q[i] ^= x;
		}
	}
	CHECK_EQ_INT(parse_rc(q, len), 0);
	free(q);
}

/* Assembles a table from raw block contents. */
struct crafter {
	struct ckpt_buf file;
	struct ckpt_buf index;		/* index block entries */
	uint32_t nindex;
};

/* Append CONTENTS as a block with trailer type TYPE and a valid CRC. */
static struct handle
craft_block(struct crafter *c, const void *contents, size_t len, uint8_t type)
{
	struct handle h = { c->file.len, len };
	uint8_t t[5];

	t[0] = type;
	ckpt_store32le(t + 1, ckpt_crc_mask(ckpt_crc32c_extend(
				      ckpt_crc32c(contents, len), t, 1)));
	CHECK_EQ_INT(ckpt_buf_put(&c->file, contents, len), 0);
	CHECK_EQ_INT(ckpt_buf_put(&c->file, t, 5), 0);
	return h;
}

/* Add an index entry KEY -> H (restart interval 1). */
static void
craft_index(struct crafter *c, const char *key, struct handle h)
{
	CHECK_EQ_INT(ckpt_buf_put_varint(&c->index, 0), 0);
	CHECK_EQ_INT(ckpt_buf_put_varint(&c->index, strlen(key)), 0);
	CHECK_EQ_INT(ckpt_buf_put_varint(&c->index,
					 ckpt_varint_len(h.off) +
						 ckpt_varint_len(h.size)),
		     0);
	CHECK_EQ_INT(ckpt_buf_put(&c->index, key, strlen(key)), 0);
	CHECK_EQ_INT(ckpt_buf_put_varint(&c->index, h.off), 0);
	CHECK_EQ_INT(ckpt_buf_put_varint(&c->index, h.size), 0);
	c->nindex++;
}

/* Finish: empty metaindex, the index block, the footer; parse and return
 * the code. */
static int
craft_finish(struct crafter *c)
{
	static const uint8_t empty[8] = { 0, 0, 0, 0, 1, 0, 0, 0 };
	uint8_t footer[CKPT_TABLE_FOOTER_LEN], *p;
	struct handle mh, ih;
	uint32_t i;
	int rc;

	/* restart interval 1: every entry is a restart point */
	if (c->nindex > 0) {
		const uint8_t *q = c->index.data;
		uint32_t *offs = calloc(c->nindex, sizeof(*offs));

		CHECK(offs != NULL);
		for (i = 0; i < c->nindex; i++) {
			uint64_t nd, vl;

			offs[i] = (uint32_t)(q - c->index.data);
			oracle_varint(&q);
			nd = oracle_varint(&q);
			vl = oracle_varint(&q);
			q += nd + vl;
		}
		for (i = 0; i < c->nindex; i++)
			CHECK_EQ_INT(ckpt_buf_put_fixed32(&c->index, offs[i]),
				     0);
		free(offs);
	} else {
		CHECK_EQ_INT(ckpt_buf_put_fixed32(&c->index, 0), 0);
		c->nindex = 1;
	}
	CHECK_EQ_INT(ckpt_buf_put_fixed32(&c->index, c->nindex), 0);
	mh = craft_block(c, empty, sizeof(empty), 0);
	ih = craft_block(c, c->index.data, c->index.len, 0);
	memset(footer, 0, sizeof(footer));
	p = ckpt_put_varint64(footer, mh.off);
	p = ckpt_put_varint64(p, mh.size);
	p = ckpt_put_varint64(p, ih.off);
	ckpt_put_varint64(p, ih.size);
	ckpt_store64le(footer + 40, CKPT_TABLE_MAGIC);
	CHECK_EQ_INT(ckpt_buf_put(&c->file, footer, sizeof(footer)), 0);
	rc = parse_rc(c->file.data, c->file.len);
	ckpt_buf_free(&c->file);
	ckpt_buf_free(&c->index);
	c->nindex = 0;
	return rc;
}

/* A table of one data block with CONTENTS and type TYPE, indexed by "z". */
static int
craft_one(const void *contents, size_t len, uint8_t type)
{
	struct crafter c = { 0 };

	craft_index(&c, "z", craft_block(&c, contents, len, type));
	return craft_finish(&c);
}

#define CRAFT_ONE(type, ...)                                                 \
	craft_one((const uint8_t[]){ __VA_ARGS__ },                          \
		  sizeof((const uint8_t[]){ __VA_ARGS__ }), (type))

/* Hand-made blocks, each with a valid CRC, each wrong in one way. */
static void
test_crafted(void)
{
	struct crafter c = { 0 };
	struct handle h;
	uint8_t bomb[16], *p;

	/* controls: the crafter makes valid tables */
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 1, 1, 'a', 'x', 1, 1, 1, 'b', 'y',
			       0, 0, 0, 0, 1, 0, 0, 0),
		     0);
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 0, 0, 0), 0);	/* empty block */
	CHECK_EQ_INT(craft_finish(&c), 0);		/* no data blocks */

	/* restart count larger than the block */
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 1, 1, 'a', 'x', 0, 0, 0, 0, 0xff, 0, 0, 0),
		     -EBADMSG);
	CHECK(strstr(last_msg, "restart count 255 does not fit") != NULL);
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 0, 0, 0xff, 0xff, 0xff, 0x3f), -EBADMSG);
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 0, 0), -EBADMSG);	/* < 4 bytes */
	/* entries but no restart point */
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 1, 1, 'a', 'x', 0, 0, 0, 0), -EBADMSG);
	/* restart not at an entry boundary / out of order / at the end */
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 1, 1, 'a', 'x', 0, 1, 1, 'b', 'y', 0, 0,
			       0, 0, 3, 0, 0, 0, 2, 0, 0, 0),
		     -EBADMSG);
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 1, 1, 'a', 'x', 0, 1, 1, 'b', 'y', 0, 0,
			       0, 0, 5, 0, 0, 0, 5, 0, 0, 0, 3, 0, 0, 0),
		     -EBADMSG);
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 1, 1, 'a', 'x', 0, 0, 0, 0, 5, 0, 0, 0,
			       2, 0, 0, 0),
		     -EBADMSG);
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 1, 1, 'a', 'x', 0, 1, 1, 'b', 'y', 0, 0,
			       0, 0, 5, 0, 0, 0, 2, 0, 0, 0),
		     0);	/* the same with valid restarts */
	/* restart entry with a shared prefix */
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 1, 1, 'a', 'x', 1, 1, 1, 'b', 'y', 0, 0,
			       0, 0, 5, 0, 0, 0, 2, 0, 0, 0),
		     -EBADMSG);
	/* shared longer than the previous key */
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 1, 1, 'a', 'x', 2, 1, 1, 'b', 'y', 0, 0,
			       0, 0, 1, 0, 0, 0),
		     -EBADMSG);
	CHECK(strstr(last_msg, "shares 2 bytes with a 1-byte key") != NULL);
	CHECK_EQ_INT(CRAFT_ONE(0, 1, 0, 1, 'x', 0, 0, 0, 0, 1, 0, 0, 0),
		     -EBADMSG);	/* first entry shares 1 byte with nothing */
	/* unsorted and duplicate keys */
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 1, 1, 'b', 'x', 0, 1, 1, 'a', 'y', 0, 0,
			       0, 0, 1, 0, 0, 0),
		     -EBADMSG);
	CHECK(strstr(last_msg, "not greater than the previous key") != NULL);
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 1, 1, 'a', 'x', 0, 1, 1, 'a', 'y', 0, 0,
			       0, 0, 1, 0, 0, 0),
		     -EBADMSG);
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 1, 1, 'a', 'x', 1, 0, 1, 'y', 0, 0, 0, 0,
			       1, 0, 0, 0),
		     -EBADMSG);	/* "a" again via sharing */
	/* entry overruns into the restart array; truncated varint */
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 1, 9, 'a', 'x', 0, 0, 0, 0, 1, 0, 0, 0),
		     -EBADMSG);
	CHECK_EQ_INT(CRAFT_ONE(0, 0, 0x80, 0, 0, 0, 0, 1, 0, 0, 0), -EBADMSG);
	/* unknown compression type (valid CRC) */
	CHECK_EQ_INT(CRAFT_ONE(2, 0, 1, 1, 'a', 'x', 0, 0, 0, 0, 1, 0, 0, 0),
		     -ENOTSUP);
	CHECK(strstr(last_msg, "unknown compression type 2") != NULL);
	CHECK_EQ_INT(CRAFT_ONE(0xff, 0, 0, 0, 0), -ENOTSUP);
	/* snappy: garbage, and a claim of 1 GiB from 16 bytes */
	CHECK_EQ_INT(CRAFT_ONE(1, 0x05, 0xff, 0xff, 0xff, 0xff), -EBADMSG);
	memset(bomb, 0, sizeof(bomb));
	p = ckpt_put_varint64(bomb, (uint64_t)1 << 30);
	(void)p;
	CHECK_EQ_INT(craft_one(bomb, sizeof(bomb), 1), -EBADMSG);
	CHECK(strstr(last_msg, "snappy claims 1073741824 bytes") != NULL);
	/* a claim just within the ratio but not backed by data */
	p = ckpt_put_varint64(bomb, 16 * 20);
	CHECK_EQ_INT(craft_one(bomb, sizeof(bomb), 1), -EBADMSG);
	CHECK(strstr(last_msg, "corrupt snappy data") != NULL);

	/* handles past EOF */
	craft_block(&c, (const uint8_t[]){ 0, 0, 0, 0, 1, 0, 0, 0 }, 8, 0);
	craft_index(&c, "z", (struct handle){ 1000, 8 });
	CHECK_EQ_INT(craft_finish(&c), -ERANGE);
	CHECK(strstr(last_msg, "test.index: data block (offset 1000, size 8) "
			       "runs past") != NULL);
	CHECK(strstr(last_msg, "its handle in the index block is damaged") !=
	      NULL);
	craft_block(&c, (const uint8_t[]){ 0, 0, 0, 0, 1, 0, 0, 0 }, 8, 0);
	craft_index(&c, "z", (struct handle){ 0, UINT64_MAX });
	CHECK_EQ_INT(craft_finish(&c), -ERANGE);
	craft_block(&c, (const uint8_t[]){ 0, 0, 0, 0, 1, 0, 0, 0 }, 8, 0);
	craft_index(&c, "z", (struct handle){ UINT64_MAX, 1 });
	CHECK_EQ_INT(craft_finish(&c), -ERANGE);
	/* in the file but not where the data blocks are */
	craft_block(&c, (const uint8_t[]){ 0, 0, 0, 0, 1, 0, 0, 0 }, 8, 0);
	craft_index(&c, "z", (struct handle){ 0, 7 });
	CHECK_EQ_INT(craft_finish(&c), -EBADMSG);
	CHECK_EQ_INT(ckpt_buf_put(&c.file, "?", 1), 0);	/* gap at 0 */
	h = craft_block(&c, (const uint8_t[]){ 0, 0, 0, 0, 1, 0, 0, 0 }, 8, 0);
	craft_index(&c, "z", h);
	CHECK_EQ_INT(craft_finish(&c), -EBADMSG);
	h = craft_block(&c, (const uint8_t[]){ 0, 0, 0, 0, 1, 0, 0, 0 }, 8, 0);
	craft_index(&c, "y", h);
	craft_index(&c, "z", h);	/* the same block twice */
	CHECK_EQ_INT(craft_finish(&c), -EBADMSG);

	/* two blocks: keys must increase across them, and index keys must
	 * separate them */
#define BLK(k)                                                               \
	(const uint8_t[]){ 0, 1, 1, (k), 'v', 0, 0, 0, 0, 1, 0, 0, 0 }, 13
	h = craft_block(&c, BLK('a'), 0);
	craft_index(&c, "a", h);
	h = craft_block(&c, BLK('b'), 0);
	craft_index(&c, "b", h);
	CHECK_EQ_INT(craft_finish(&c), 0);
	h = craft_block(&c, BLK('a'), 0);
	craft_index(&c, "a", h);
	h = craft_block(&c, BLK('a'), 0);
	craft_index(&c, "b", h);
	CHECK_EQ_INT(craft_finish(&c), -EBADMSG);	/* duplicate */
	h = craft_block(&c, BLK('b'), 0);
	craft_index(&c, "b", h);
	h = craft_block(&c, BLK('a'), 0);
	craft_index(&c, "c", h);
	CHECK_EQ_INT(craft_finish(&c), -EBADMSG);	/* unsorted */
	h = craft_block(&c, BLK('b'), 0);
	craft_index(&c, "a", h);	/* index key < last key */
	h = craft_block(&c, BLK('c'), 0);
	craft_index(&c, "c", h);
	CHECK_EQ_INT(craft_finish(&c), -EBADMSG);
	CHECK(strstr(last_msg, "last key is greater than its index key") !=
	      NULL);
	h = craft_block(&c, BLK('a'), 0);
	craft_index(&c, "b", h);	/* index key >= next key */
	h = craft_block(&c, BLK('b'), 0);
	craft_index(&c, "c", h);
	CHECK_EQ_INT(craft_finish(&c), -EBADMSG);
	CHECK(strstr(last_msg, "index key of the previous block") != NULL);
	h = craft_block(&c, BLK('a'), 0);
	craft_index(&c, "b", h);
	h = craft_block(&c, BLK('c'), 0);
	craft_index(&c, "b", h);	/* index not increasing */
	CHECK_EQ_INT(craft_finish(&c), -EBADMSG);
#undef BLK
}

/* One block: a key of L bytes, then N - 1 keys sharing all but its last
 * two bytes (7 bytes each, but L bytes once materialised). */
static int
craft_key_bomb(size_t l, size_t n)
{
	struct ckpt_buf b = { 0 };
	uint8_t *key = calloc(l, 1);
	size_t i;
	int rc;

	CHECK(key != NULL);
	memset(key, 'x', l - 2);
	CHECK_EQ_INT(ckpt_buf_put_varint(&b, 0), 0);
	CHECK_EQ_INT(ckpt_buf_put_varint(&b, l), 0);
	CHECK_EQ_INT(ckpt_buf_put_varint(&b, 0), 0);
	CHECK_EQ_INT(ckpt_buf_put(&b, key, l), 0);
	for (i = 1; i < n; i++) {
		uint8_t tail[2] = { (uint8_t)(i >> 8), (uint8_t)i };

		CHECK_EQ_INT(ckpt_buf_put_varint(&b, l - 2), 0);
		CHECK_EQ_INT(ckpt_buf_put_varint(&b, 2), 0);
		CHECK_EQ_INT(ckpt_buf_put_varint(&b, 0), 0);
		CHECK_EQ_INT(ckpt_buf_put(&b, tail, 2), 0);
	}
	CHECK_EQ_INT(ckpt_buf_put_fixed32(&b, 0), 0);
	CHECK_EQ_INT(ckpt_buf_put_fixed32(&b, 1), 0);
	rc = craft_one(b.data, b.len, 0);
	ckpt_buf_free(&b);
	free(key);
	return rc;
}

/* Prefix compression cannot make us materialise unbounded key bytes. */
static void
test_key_bomb(void)
{
	/* 8 KiB x 100 keys from 9 KiB: within 64 x block + 1 MiB */
	CHECK_EQ_INT(craft_key_bomb(8192, 100), 0);
	/* 8 KiB x 1200 keys (9.8 MB) from 16 KiB: refused */
	CHECK_EQ_INT(craft_key_bomb(8192, 1200), -EBADMSG);
	CHECK(strstr(last_msg, "keys expand beyond") != NULL);
}

/* Targeted damage to the worked example, with the expected codes and
 * messages. */
static void
test_example_corrupt(void)
{
	uint8_t q[sizeof(example)];
	struct ckpt_table *t;
	struct ckpt_err err;
	uint8_t *copy;

	memcpy(q, example, sizeof(q));
	q[150] ^= 0x01;	/* magic */
	CHECK_EQ_INT(parse_copy(q, sizeof(q), &t, &copy, &err), -EBADMSG);
	CHECK(strstr(err.msg, "magic") != NULL);
	memcpy(q, example, sizeof(q));
	q[30] ^= 0x40;	/* inside the data block */
	CHECK_EQ_INT(parse_copy(q, sizeof(q), &t, &copy, &err), -EBADMSG);
	CHECK(strstr(err.msg, "CRC") != NULL);
	CHECK(strstr(err.msg, "data block at offset 0") != NULL);
	memcpy(q, example, sizeof(q));
	q[120] = 1;	/* footer padding */
	CHECK_EQ_INT(parse_copy(q, sizeof(q), &t, &copy, &err), -EBADMSG);
	memcpy(q, example, sizeof(q));
	q[106] = 0x8e;	/* index size 14 as a 2-byte varint 8e 00 */
	CHECK_EQ_INT(parse_copy(q, sizeof(q), &t, &copy, &err), -EBADMSG);
	memcpy(q, example, sizeof(q));
	q[103] = 0x48;	/* metaindex at 72: not back to back */
	CHECK_EQ_INT(parse_copy(q, sizeof(q), &t, &copy, &err), -EBADMSG);
	memcpy(q, example, sizeof(q));
	q[105] = 0x60;	/* index block past the end */
	CHECK_EQ_INT(parse_copy(q, sizeof(q), &t, &copy, &err), -ERANGE);
	CHECK(strstr(err.msg, "index block") != NULL);
	CHECK(strstr(err.msg, "its handle in the footer is damaged") != NULL);
	check_corruptions(example, sizeof(example));
}

/* --- real TensorFlow files --------------------------------------------- */

/* Expected contents of the real indexes, by file name prefix. */
static const struct {
	const char *prefix;
	size_t n;
	size_t nsnappy;
	const char *keys[4];	/* some keys besides "" */
} known[] = {
	{ "saved_model_counter_variables", 2, 0, { "counter" } },
	{ "saved_model_half_plus_three_variables", 4, 0, { "a", "b", "c" } },
	{ "saved_model_half_plus_two_2_versions", 4, 0, { "a", "b", "c" } },
	{ "saved_model_half_plus_two_gpu_variables", 4, 0, { "a", "b", "c" } },
	{ "saved_model_half_plus_two_cpu", 6, 1, { "a", "a2", "c2" } },
	{ "saved_model_half_plus_two_gpu_trt", 6, 1, { "a", "a2", "c2" } },
	{ "saved_model_half_plus_two_mlmd", 6, 1, { "a", "a2", "c2" } },
	{ "saved_model_half_plus_two_mkl", 10, 0,
	  { "conv2d/kernel", "conv2d_1/bias", "conv2d_2/kernel" } },
	{ "saved_model_half_plus_two_tf2_cpu", 5, 1,
	  { "_CHECKPOINTABLE_OBJECT_GRAPH", "a/.ATTRIBUTES/VARIABLE_VALUE",
	    "c/.ATTRIBUTES/VARIABLE_VALUE" } },
	{ "tf_text_regression_01", 2, 0, { "_CHECKPOINTABLE_OBJECT_GRAPH" } },
};

/* Parse one real index, check what we know of it, rebuild it. */
static void
check_real(const char *dir, const char *name)
{
	char path[4096];
	struct ckpt_table *t;
	struct ckpt_err err;
	struct ckpt_buf out = { 0 };
	struct ckpt_table_opts o = { 0, 0, CKPT_COMPRESS_NONE };
	uint8_t *buf, *copy;
	size_t len, i, j, best = SIZE_MAX, bestlen = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf = check_slurp(path, &len);
	CHECK_EQ_INT(parse_copy(buf, len, &t, &copy, &err), 0);
	for (i = 0; i < ARRAY_SIZE(known); i++) {
		size_t pl = strlen(known[i].prefix);

		if (strncmp(name, known[i].prefix, pl) == 0 && pl > bestlen) {
			best = i;
			bestlen = pl;
		}
	}
	CHECK(best != SIZE_MAX);	/* a new file: add it to known[] */
	CHECK_EQ_U64(t->n, known[best].n);
	CHECK_EQ_U64(t->nblocks, 1);
	CHECK_EQ_U64(t->nsnappy, known[best].nsnappy);
	CHECK_EQ_U64(t->kv[0].key.len, 0);
	CHECK_EQ_MEM(t->kv[0].value.data, t->kv[0].value.len, ex_header,
		     sizeof(ex_header));
	for (j = 0; j < 4 && known[best].keys[j] != NULL; j++)
		CHECK(ckpt_table_find(t, known[best].keys[j],
				      strlen(known[best].keys[j])) != NULL);
	if (strcmp(name, "saved_model_half_plus_three_variables.index") == 0)
		CHECK_EQ_MEM(buf, len, example, sizeof(example));

	if (t->nsnappy > 0)
		o.compression = CKPT_COMPRESS_SNAPPY;
	build(&o, t->kv, t->n, &out);
	CHECK_EQ_MEM(out.data, out.len, buf, len);
	ckpt_table_free(t);
	free(copy);
	ckpt_buf_free(&out);
	check_corruptions(buf, len);
	free(buf);
}

/* Every *.index under REALDATA. */
static void
test_real(void)
{
	const char *dir = check_realdata();
	struct dirent *de;
	DIR *d;
	size_t count = 0;

	if (dir == NULL)
		return;
	d = opendir(dir);
	CHECK(d != NULL);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l > 6 && strcmp(de->d_name + l - 6, ".index") == 0) {
			check_real(dir, de->d_name);
			count++;
		}
	}
	closedir(d);
	fprintf(stderr, "real: %zu index files\n", count);
	CHECK(count >= 13);	/* 13 files in testdata/real today */
}

/* A table of 300 pairs "key/NNNN" -> 40 bytes (value I: byte I % 251
 * then 'v's), in blocks of about 1 KiB, compressed as COMPRESSION. */
static void
salvage_table(enum ckpt_compression compression, struct ckpt_buf *out,
	      char (*keys)[16], uint8_t (*vals)[40])
{
	struct ckpt_table_opts o = { 1024, 16, compression };
	struct ckpt_kv kv[300];

	for (int i = 0; i < 300; i++) {
		snprintf(keys[i], 16, "key/%04d", i);
		memset(vals[i], 'v', 40);
		vals[i][0] = (uint8_t)(i % 251);
		kv[i].key = (struct ckpt_slice){ (const uint8_t *)keys[i], 8 };
		kv[i].value = (struct ckpt_slice){ vals[i], 40 };
	}
	out->len = 0;
	build(&o, kv, 300, out);
}

/* Salvage BUF: how many of the 300 pairs come back whole (key and value),
 * how many pairs in all; the report in REPORT. */
static size_t
salvage_count(const struct ckpt_buf *buf, char (*keys)[16],
	      uint8_t (*vals)[40], size_t *all, struct ckpt_buf *report)
{
	struct ckpt_table *t;
	struct ckpt_err err = { 0 };
	size_t good = 0;

	report->len = 0;
	CHECK_EQ_INT(ckpt_table_salvage(buf->data, buf->len, "s.index", &t,
					report, &err),
		     0);
	for (int i = 0; i < 300; i++) {
		const struct ckpt_kv *kv = ckpt_table_find(t, keys[i], 8);

		if (kv != NULL && kv->value.len == 40 &&
		    memcmp(kv->value.data, vals[i], 40) == 0)
			good++;
	}
	for (size_t i = 1; i < t->n; i++)
		CHECK(ckpt_key_cmp(t->kv[i - 1].key.data, t->kv[i - 1].key.len,
				   t->kv[i].key.data, t->kv[i].key.len) < 0);
	*all = t->n;
	ckpt_table_free(t);
	(void)ckpt_buf_put(report, "", 1);
	return good;
}

/* What ckpt_table_salvage() reads of damaged tables: every pair of a
 * table that parses; a value byte flipped in a raw block costs nothing
 * but that pair's value; a broken entry costs the entries up to the
 * next restart point; a damaged footer, none (the blocks are found by
 * their checksums); a damaged snappy block, that block's pairs. */
static void
test_salvage(void)
{
	static char keys[300][16];
	static uint8_t vals[300][40];
	struct ckpt_buf buf = { 0 }, copy = { 0 }, rep = { 0 };
	struct ckpt_table *t;
	struct ckpt_err err = { 0 };
	size_t all, good, at;

	salvage_table(CKPT_COMPRESS_NONE, &buf, keys, vals);
	CHECK_EQ_INT(ckpt_table_parse(buf.data, buf.len, "s.index", &t, &err),
		     0);
	CHECK(t->nblocks > 8);
	ckpt_table_free(t);
	CHECK_EQ_U64(salvage_count(&buf, keys, vals, &all, &rep), 300);
	CHECK_EQ_U64(all, 300);
	CHECK_EQ_STR((const char *)rep.data, "");

	/* a value's first byte (the pair of key/0046, a restart point
	 * (blocks of 23 pairs, restarts every 16), whose key is stored
	 * whole, its value after it) */
	CHECK(memmem(buf.data, buf.len, "key/0046", 8) != NULL);
	at = (size_t)((const uint8_t *)memmem(buf.data, buf.len, "key/0046", 8) -
		      buf.data);
	copy.len = 0;
	CHECK_EQ_INT(ckpt_buf_put(&copy, buf.data, buf.len), 0);
	copy.data[at + 8] ^= 0x01;	/* the value follows the key */
	CHECK(ckpt_table_parse(copy.data, copy.len, "s.index", &t, &err) < 0);
	good = salvage_count(&copy, keys, vals, &all, &rep);
	CHECK_EQ_U64(good, 299);
	CHECK_EQ_U64(all, 300);
	CHECK(strstr((const char *)rep.data, "(checksum mismatch): ") != NULL);
	CHECK(strstr((const char *)rep.data, " entries taken as they decode") !=
	      NULL);

	/* the header of the entry after key/0023 (a restart point: its
	 * value ends 48 bytes after its key begins), its shared length
	 * made 60: key/0024 to key/0038 are lost, up to the next restart
	 * point (key/0039), the rest kept */
	copy.len = 0;
	CHECK_EQ_INT(ckpt_buf_put(&copy, buf.data, buf.len), 0);
	CHECK(memmem(buf.data, buf.len, "key/0023", 8) != NULL);
	at = (size_t)((const uint8_t *)memmem(buf.data, buf.len, "key/0023", 8) -
		      buf.data);
	CHECK_EQ_INT(copy.data[at + 48], 7);	/* shares "key/0" */
	copy.data[at + 48] = 60;
	good = salvage_count(&copy, keys, vals, &all, &rep);
	CHECK_EQ_U64(good, 300 - 15);
	CHECK_EQ_U64(all, good);
	CHECK(strstr((const char *)rep.data, "some lost where they do not") !=
	      NULL);

	/* the index block's first entry cut (its value length past the
	 * block): the blocks it no longer names are found by their
	 * checksums, all of them */
	copy.len = 0;
	CHECK_EQ_INT(ckpt_buf_put(&copy, buf.data, buf.len), 0);
	{
		struct handle h[64], ih;
		char got[64][64];

		CHECK(read_index(&buf, got, h, 64, &ih) > 8);
		/* shared 0, then the key's length, then the value's */
		copy.data[ih.off + 2] = 0x7f;
	}
	CHECK_EQ_U64(salvage_count(&copy, keys, vals, &all, &rep), 300);
	CHECK_EQ_U64(all, 300);
	CHECK(strstr((const char *)rep.data,
		     "index block (checksum mismatch)") != NULL);
	CHECK(strstr((const char *)rep.data,
		     "data blocks the index block does not name found by "
		     "their checksums") != NULL);
	/* the file cut in its footer: no index block to read, and the
	 * index and metaindex blocks the search finds are not taken for
	 * data (their values are handles) */
	copy.len = 0;
	CHECK_EQ_INT(ckpt_buf_put(&copy, buf.data, buf.len - 10), 0);
	CHECK_EQ_U64(salvage_count(&copy, keys, vals, &all, &rep), 300);
	CHECK_EQ_U64(all, 300);

	/* the footer's magic: the blocks are found by their checksums */
	copy.len = 0;
	CHECK_EQ_INT(ckpt_buf_put(&copy, buf.data, buf.len), 0);
	copy.data[copy.len - 1] ^= 0xff;
	CHECK(ckpt_table_parse(copy.data, copy.len, "s.index", &t, &err) < 0);
	CHECK_EQ_U64(salvage_count(&copy, keys, vals, &all, &rep), 300);
	CHECK_EQ_U64(all, 300);
	CHECK(strstr((const char *)rep.data,
		     "the index block could not be read: ") != NULL);
	/* and the index block's handles too: the same */
	copy.data[copy.len - CKPT_TABLE_FOOTER_LEN + 3] ^= 0x40;
	CHECK_EQ_U64(salvage_count(&copy, keys, vals, &all, &rep), 300);

	/* snappy: a byte of the second block's compressed data */
	salvage_table(CKPT_COMPRESS_SNAPPY, &buf, keys, vals);
	CHECK_EQ_INT(ckpt_table_parse(buf.data, buf.len, "s.index", &t, &err),
		     0);
	CHECK(t->nsnappy > 4);
	ckpt_table_free(t);
	copy.len = 0;
	CHECK_EQ_INT(ckpt_buf_put(&copy, buf.data, buf.len), 0);
	/* (the first block's compressed data begins at offset 0, after
	 * the varint of its length) */
	copy.data[3] ^= 0xff;
	good = salvage_count(&copy, keys, vals, &all, &rep);
	CHECK(good < 300 && good >= 300 - 60);
	CHECK(strstr((const char *)rep.data, "data block at offset 0") !=
	      NULL);
	ckpt_buf_free(&buf);
	ckpt_buf_free(&copy);
	ckpt_buf_free(&rep);
}

int
main(void)
{
	test_example();
	test_salvage();
	test_separators();
	test_block_rules();
	test_restarts();
	test_builder_misuse();
	test_snappy_block();
	test_roundtrip();
	test_example_corrupt();
	test_crafted();
	test_key_bomb();
	test_real();
	return check_done("test_table");
}
