/* table.h -- the SSTable container of a .index file (LevelDB-derived).
 *
 * Reading: ckpt_table_parse() validates the whole file at once (footer and
 * magic, every block handle, every block trailer CRC, snappy blocks, entry
 * framing, restart arrays, key order) and returns every key/value pair in
 * key order.  The index of a checkpoint is small next to its data and is
 * needed whole for a directory tree, so no lazy iterator is offered.
 *
 * Writing: a builder that reproduces TensorFlow's table writer byte for
 * byte (block size, restart intervals, snappy rule, separator keys). */
#ifndef CKPT_TABLE_H
#define CKPT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coding.h"
#include "err.h"

#define CKPT_TABLE_MAGIC 0xdb4775248b80fb57ull
#define CKPT_TABLE_FOOTER_LEN 48
#define CKPT_BLOCK_TRAILER_LEN 5
#define CKPT_TABLE_BLOCK_SIZE 262144	/* TensorFlow's target block size */
#define CKPT_TABLE_RESTART_INTERVAL 16	/* data and metaindex blocks */

enum ckpt_compression {
	CKPT_COMPRESS_NONE = 0,
	CKPT_COMPRESS_SNAPPY = 1,
};

/* A byte string that is not NUL-terminated (keys may hold any byte). */
struct ckpt_slice {
	const uint8_t *data;
	size_t len;
};

struct ckpt_kv {
	struct ckpt_slice key;	/* borrowed from the table */
	struct ckpt_slice value;	/* borrowed from the table or its input */
};

struct ckpt_table {
	struct ckpt_kv *kv;	/* owned; n entries, strictly increasing keys */
	size_t n;
	size_t nblocks;		/* data blocks */
	size_t nsnappy;		/* data blocks stored snappy-compressed */
	/* private */
	uint8_t *arena;		/* owned: keys and decompressed blocks */
	size_t arena_len;
};

/* Parse the table in BUF[0..LEN).  NAME (a file name) appears in error
 * messages.  Values of uncompressed blocks point into BUF, so BUF must
 * outlive the table.  On success *OUT is set; free with ckpt_table_free().
 * The blocks must lie back to back as every LevelDB-style writer puts them
 * (data blocks from offset 0, metaindex, index, footer with zero padding).
 * Memory stays proportional to LEN: a snappy block may not claim more than
 * 22 times its stored size (more than snappy can ever expand), and the
 * materialised keys may not exceed 64 times the decoded block bytes plus
 * 1 MiB (see table.c).
 * Return 0, -EBADMSG (malformed, CRC mismatch, keys out of order, over a
 * bound), -ERANGE (handle outside the file), -ENOTSUP (unknown compression
 * type), -ENOMEM. */
int ckpt_table_parse(const uint8_t *buf, size_t len, const char *name,
		     struct ckpt_table **out, struct ckpt_err *err);

/* What can be read of a table ckpt_table_parse() refuses, as a table of
 * the same form (keys in order, each once): the data blocks the footer
 * and the index block name (in order, none overlapping another), and
 * those found by their trailers' checksums in the bytes none of them
 * covers, or in the whole file when there is no index block to read (up
 * to the first block whose checksum fails); the entries of each block
 * whose checksum holds, and of one whose checksum fails, those that
 * decode (from each restart point after one that does not).  A pair
 * from a damaged block may be wrong in ways its framing does not show:
 * its value must be checked by other means (a tensor's entry by its
 * data's checksum).  REPORT gets what was lost or is suspect, "; "
 * between notes (the first 16, then how many more).  Memory and time in
 * proportion to LEN.  Return 0 or -ENOMEM. */
int ckpt_table_salvage(const uint8_t *buf, size_t len, const char *name,
		       struct ckpt_table **out, struct ckpt_buf *report,
		       struct ckpt_err *err);

/* Binary search for KEY; NULL if absent. */
const struct ckpt_kv *ckpt_table_find(const struct ckpt_table *t,
				      const void *key, size_t klen);

void ckpt_table_free(struct ckpt_table *t);

/* Bytewise comparison, shorter prefix first (memcmp order). */
int ckpt_key_cmp(const void *a, size_t alen, const void *b, size_t blen);

struct ckpt_table_opts {
	size_t block_size;		/* 0 = CKPT_TABLE_BLOCK_SIZE */
	int restart_interval;		/* 0 = CKPT_TABLE_RESTART_INTERVAL */
	enum ckpt_compression compression;	/* for data blocks */
};

struct ckpt_table_builder;

/* Start a table.  OPTS may be NULL (TensorFlow's defaults, no compression).
 * Return 0 or -ENOMEM. */
int ckpt_table_builder_new(const struct ckpt_table_opts *opts,
			   struct ckpt_table_builder **out);

/* Append one pair.  REQUIRES: KEY greater than every key added so far
 * (else -EINVAL, and the builder is unchanged).  Return 0, -EINVAL,
 * -EOVERFLOW (KLEN or VLEN above UINT32_MAX), -ENOMEM; after -ENOMEM every
 * later call fails the same way. */
int ckpt_table_builder_add(struct ckpt_table_builder *tb, const void *key,
			   size_t klen, const void *val, size_t vlen);

/* Write the remaining blocks, the index and the footer; append the whole
 * table to OUT.  The builder is spent afterwards (free it).  Return 0 or
 * -ENOMEM (-EIO if snappy fails). */
int ckpt_table_builder_finish(struct ckpt_table_builder *tb,
			      struct ckpt_buf *out);

void ckpt_table_builder_free(struct ckpt_table_builder *tb);

#endif
