/* table_builder.c -- write an .index SSTable exactly as TensorFlow's table
 * writer does (FORMAT.md §3.2-3.8): prefix-compressed blocks with restart
 * arrays, the flush rule and the oversize rule for data blocks, the snappy
 * rule, shortest separators between blocks and the short successor after
 * the last one, the empty metaindex block and the 48-byte footer.
 *
 * The table is assembled in memory (offsets are relative to its start) and
 * appended to the caller's buffer by ckpt_table_builder_finish().  After a
 * failure the builder is stuck: every later call returns the first error. */
#include "config.h"

#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "crc32c.h"

/* One block being built. */
struct block_builder {
	struct ckpt_buf buf;	  /* owned: entries so far */
	struct ckpt_buf restarts; /* owned: fixed32 restart offsets */
	uint32_t nrestarts;
	int counter; /* entries since the last restart */
	int interval;
	struct ckpt_buf last_key; /* owned */
	size_t nentries;
};

struct ckpt_table_builder {
	size_t block_size;
	enum ckpt_compression compression;
	struct ckpt_buf file;	 /* owned: the table so far */
	struct ckpt_buf scratch; /* owned: compressed block */
	struct block_builder data;
	struct block_builder index;
	struct ckpt_buf last_key; /* owned: last key added */
	uint64_t nentries;
	bool pending_index_entry; /* a data block awaits its index key */
	uint64_t pending_off, pending_size;
	bool finished;
	int status; /* first failure, sticky */
};

/* Reset BB to an empty block (one restart at offset 0). */
static int
block_reset(struct block_builder *bb)
{
	bb->buf.len = 0;
	bb->restarts.len = 0;
	bb->nrestarts = 1;
	bb->counter = 0;
	bb->last_key.len = 0;
	bb->nentries = 0;
	return ckpt_buf_put_fixed32(&bb->restarts, 0);
}

/* Release the buffers of BB. */
static void
block_free(struct block_builder *bb)
{
	ckpt_buf_free(&bb->buf);
	ckpt_buf_free(&bb->restarts);
	ckpt_buf_free(&bb->last_key);
}

/* Bytes the block would take if finished now. */
static size_t
block_estimate(const struct block_builder *bb)
{
	return bb->buf.len + (size_t)bb->nrestarts * 4 + 4;
}

/* Append one entry, sharing a prefix with the previous key unless a
 * restart point is due. */
static int
block_add(struct block_builder *bb, const uint8_t *key, size_t klen,
	  const uint8_t *val, size_t vlen)
{
	size_t shared = 0;
	int rc;

	if (bb->counter < bb->interval) {
		size_t n = klen < bb->last_key.len ? klen : bb->last_key.len;

		while (shared < n && bb->last_key.data[shared] == key[shared])
			shared++;
	} else {
		if (bb->buf.len > UINT32_MAX)
			return -EOVERFLOW;
		if ((rc = ckpt_buf_put_fixed32(&bb->restarts,
					       (uint32_t)bb->buf.len)) < 0)
			return rc;
		bb->nrestarts++;
		bb->counter = 0;
	}
	if ((rc = ckpt_buf_put_varint(&bb->buf, shared)) < 0 ||
	    (rc = ckpt_buf_put_varint(&bb->buf, klen - shared)) < 0 ||
	    (rc = ckpt_buf_put_varint(&bb->buf, vlen)) < 0 ||
	    (rc = ckpt_buf_put(&bb->buf, key + shared, klen - shared)) < 0 ||
	    (rc = ckpt_buf_put(&bb->buf, val, vlen)) < 0)
		return rc;
	bb->last_key.len = 0;
	if ((rc = ckpt_buf_put(&bb->last_key, key, klen)) < 0)
		return rc;
	bb->counter++;
	bb->nentries++;
	return 0;
}

/* Append the restart array and its count: the block is then complete. */
static int
block_finish(struct block_builder *bb)
{
	int rc;

	if ((rc = ckpt_buf_put(&bb->buf, bb->restarts.data, bb->restarts.len)) <
	    0)
		return rc;
	return ckpt_buf_put_fixed32(&bb->buf, bb->nrestarts);
}

/* Finish BB and append it to the file with its trailer, snappy-compressed
 * if that is on and saves more than 1/8; *OFF, *SIZE get its handle. */
static int
write_block(struct ckpt_table_builder *tb, struct block_builder *bb,
	    uint64_t *off, uint64_t *size)
{
	const uint8_t *contents;
	size_t len;
	uint8_t trailer[CKPT_BLOCK_TRAILER_LEN];
	uint32_t crc;
	int rc;

	if ((rc = block_finish(bb)) < 0)
		return rc;
	contents = bb->buf.data;
	len = bb->buf.len;
	trailer[0] = CKPT_COMPRESS_NONE;
	if (tb->compression == CKPT_COMPRESS_SNAPPY) {
		size_t clen = snappy_max_compressed_length(len);

		tb->scratch.len = 0;
		if ((rc = ckpt_buf_reserve(&tb->scratch, clen)) < 0)
			return rc;
		if (snappy_compress((const char *)contents, len,
				    (char *)tb->scratch.data,
				    &clen) != SNAPPY_OK)
			return -EIO;
		if (clen < len - len / 8) {
			contents = tb->scratch.data;
			len = clen;
			trailer[0] = CKPT_COMPRESS_SNAPPY;
		}
	}
	crc = ckpt_crc32c_extend(ckpt_crc32c(contents, len), trailer, 1);
	ckpt_store32le(trailer + 1, ckpt_crc_mask(crc));
	*off = tb->file.len;
	*size = len;
	if ((rc = ckpt_buf_put(&tb->file, contents, len)) < 0 ||
	    (rc = ckpt_buf_put(&tb->file, trailer, sizeof(trailer))) < 0)
		return rc;
	return block_reset(bb);
}

/* Write the current data block, if any; its index entry waits for the
 * next key (or finish) to choose the separator. */
static int
flush(struct ckpt_table_builder *tb)
{
	int rc;

	if (tb->data.nentries == 0)
		return 0;
	if ((rc = write_block(tb, &tb->data, &tb->pending_off,
			      &tb->pending_size)) < 0)
		return rc;
	tb->pending_index_entry = true;
	return 0;
}

/* Add the index entry of the pending data block under key SEP. */
static int
add_index_entry(struct ckpt_table_builder *tb, const uint8_t *sep, size_t len)
{
	uint8_t h[2 * CKPT_MAX_VARINT64], *p;

	p = ckpt_put_varint64(h, tb->pending_off);
	p = ckpt_put_varint64(p, tb->pending_size);
	tb->pending_index_entry = false;
	return block_add(&tb->index, sep, len, h, (size_t)(p - h));
}

/* Shorten LAST (in place) to a key S with LAST <= S < NEXT. */
static void
shortest_separator(struct ckpt_buf *last, const uint8_t *next, size_t nlen)
{
	size_t n = last->len < nlen ? last->len : nlen;
	size_t i = 0;

	while (i < n && last->data[i] == next[i])
		i++;
	if (i >= n)
		return; /* one is a prefix of the other */
	if (last->data[i] < 0xff && last->data[i] + 1 < next[i]) {
		last->data[i]++;
		last->len = i + 1;
	}
}

/* Shorten KEY (in place) to a short key >= KEY. */
static void
short_successor(struct ckpt_buf *key)
{
	size_t i;

	for (i = 0; i < key->len; i++) {
		if (key->data[i] != 0xff) {
			key->data[i]++;
			key->len = i + 1;
			return;
		}
	}
}

int
ckpt_table_builder_new(const struct ckpt_table_opts *opts,
		       struct ckpt_table_builder **out)
{
	struct ckpt_table_builder *tb;
	int rc;

	*out = NULL;
	if ((tb = calloc(1, sizeof(*tb))) == NULL)
		return -ENOMEM;
	tb->block_size = CKPT_TABLE_BLOCK_SIZE;
	tb->data.interval = CKPT_TABLE_RESTART_INTERVAL;
	tb->index.interval = 1;
	tb->compression = CKPT_COMPRESS_NONE;
	if (opts != NULL) {
		if (opts->block_size > 0)
			tb->block_size = opts->block_size;
		if (opts->restart_interval > 0)
			tb->data.interval = opts->restart_interval;
		tb->compression = opts->compression;
	}
	if ((rc = block_reset(&tb->data)) < 0 ||
	    (rc = block_reset(&tb->index)) < 0) {
		ckpt_table_builder_free(tb);
		return rc;
	}
	*out = tb;
	return 0;
}

int
ckpt_table_builder_add(struct ckpt_table_builder *tb, const void *key,
		       size_t klen, const void *val, size_t vlen)
{
	int rc;

	if (tb->status < 0)
		return tb->status;
	if (tb->finished)
		return -EINVAL;
	if (key == NULL)
		key = ""; /* klen is 0: keep pointer arithmetic defined */
	if (val == NULL)
		val = "";
	if (tb->nentries > 0 &&
	    ckpt_key_cmp(key, klen, tb->last_key.data, tb->last_key.len) <= 0)
		return -EINVAL; /* not sticky: nothing was changed */
	if (klen > UINT32_MAX || vlen > UINT32_MAX)
		return -EOVERFLOW;
	/* TensorFlow's addition: an entry this large starts its own block. */
	if (tb->nentries > 0 && klen + vlen >= 2 * tb->block_size &&
	    (rc = flush(tb)) < 0)
		goto fail;
	if (tb->pending_index_entry) {
		shortest_separator(&tb->last_key, key, klen);
		if ((rc = add_index_entry(tb, tb->last_key.data,
					  tb->last_key.len)) < 0)
			goto fail;
	}
	tb->last_key.len = 0;
	if ((rc = ckpt_buf_put(&tb->last_key, key, klen)) < 0)
		goto fail;
	tb->nentries++;
	if ((rc = block_add(&tb->data, key, klen, val, vlen)) < 0)
		goto fail;
	if (block_estimate(&tb->data) >= tb->block_size && (rc = flush(tb)) < 0)
		goto fail;
	return 0;
fail:
	tb->status = rc;
	return rc;
}

int
ckpt_table_builder_finish(struct ckpt_table_builder *tb, struct ckpt_buf *out)
{
	struct block_builder meta;
	uint64_t moff, msize, ioff, isize;
	uint8_t footer[CKPT_TABLE_FOOTER_LEN], *p;
	int rc;

	if (tb->status < 0)
		return tb->status;
	if (tb->finished)
		return -EINVAL;
	tb->finished = true;
	memset(&meta, 0, sizeof(meta));
	meta.interval = CKPT_TABLE_RESTART_INTERVAL;
	if ((rc = flush(tb)) < 0 || (rc = block_reset(&meta)) < 0 ||
	    (rc = write_block(tb, &meta, &moff, &msize)) < 0)
		goto fail;
	if (tb->pending_index_entry) {
		short_successor(&tb->last_key);
		if ((rc = add_index_entry(tb, tb->last_key.data,
					  tb->last_key.len)) < 0)
			goto fail;
	}
	if ((rc = write_block(tb, &tb->index, &ioff, &isize)) < 0)
		goto fail;

	memset(footer, 0, sizeof(footer));
	p = ckpt_put_varint64(footer, moff);
	p = ckpt_put_varint64(p, msize);
	p = ckpt_put_varint64(p, ioff);
	ckpt_put_varint64(p, isize);
	ckpt_store64le(footer + 40, CKPT_TABLE_MAGIC);
	if ((rc = ckpt_buf_put(&tb->file, footer, sizeof(footer))) < 0 ||
	    (rc = ckpt_buf_put(out, tb->file.data, tb->file.len)) < 0)
		goto fail;
	block_free(&meta);
	return 0;
fail:
	block_free(&meta);
	tb->status = rc;
	return rc;
}

void
ckpt_table_builder_free(struct ckpt_table_builder *tb)
{
	if (tb == NULL)
		return;
	ckpt_buf_free(&tb->file);
	ckpt_buf_free(&tb->scratch);
	block_free(&tb->data);
	block_free(&tb->index);
	ckpt_buf_free(&tb->last_key);
	free(tb);
}
