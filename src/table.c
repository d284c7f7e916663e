/* table.c -- read a whole .index SSTable into memory (FORMAT.md §3).
 *
 * ckpt_table_parse() checks the entire file before returning anything, in
 * this order: footer (length, magic, canonical handles, zero padding),
 * layout, metaindex block, index block, then every data block (trailer CRC
 * before anything else looks at the bytes, compression type, snappy
 * length), and finally every entry (framing, shared prefix, restart array,
 * strictly increasing keys across the whole table, index keys separating
 * the data blocks).
 *
 * Layout: TensorFlow's writer (and LevelDB's) always writes the data blocks
 * back to back from offset 0, then the metaindex block, the index block and
 * the footer.  We insist on exactly that, so no byte of the file escapes a
 * CRC or a check: a gap, an overlap or a block out of order is -EBADMSG.
 *
 * Memory bounds against hostile input (both proportional to the input):
 *  - a snappy block may claim at most SNAPPY_MAX_RATIO times its stored
 *    size.  Snappy's densest element is a 3-byte copy yielding 64 bytes, so
 *    no valid stream expands more than 64/3 < 22 times; a larger claim is
 *    refused before anything is allocated.
 *  - keys are prefix-compressed, so materialising them can expand the input
 *    quadratically (each entry repeating a long shared prefix).  With
 *    restart interval R the expansion of a real table is at most about R
 *    (16 for TensorFlow); we refuse a table whose keys total more than
 *    KEY_EXPANSION times the decoded block bytes plus KEY_SLACK.
 *
 * Memory: one arena holds the decompressed snappy data blocks, then every
 * key.  Values of raw blocks point into the caller's buffer. */
#include "config.h"

#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "crc32c.h"

#define SNAPPY_MAX_RATIO 22
#define KEY_EXPANSION 64
#define KEY_SLACK ((uint64_t)1 << 20)

struct handle {
	uint64_t off;
	uint64_t size; /* excludes the trailer */
};

/* A data block: where it is stored and where its contents are. */
struct dblock {
	struct handle h;
	uint8_t type; /* CKPT_COMPRESS_* */
	size_t aoff;  /* snappy: offset of the contents in the arena */
	size_t len;   /* length of the (decompressed) contents */
};

struct parser {
	const uint8_t *buf; /* borrowed: the whole file */
	size_t len;
	size_t body; /* len minus the footer */
	const char *name;
	struct ckpt_err *err;
};

/* Called for each entry of a block; ENTRY_OFF is its offset in the block. */
typedef int (*entry_fn)(struct parser *ps, void *ctx, uint32_t shared,
			const uint8_t *delta, uint32_t nd, const uint8_t *val,
			uint32_t vlen, size_t entry_off);

/* Index block contents: one separator key and one handle per data block. */
struct index_state {
	struct ckpt_buf keys; /* owned: separator keys, back to back */
	size_t *koff;	      /* owned: nblk + 1 offsets into keys */
	struct dblock *blk;   /* owned */
	size_t nblk;
	size_t cap;
	uint64_t budget; /* most key bytes allowed */
	uint64_t boff;	 /* offset of the index block, for messages */
};

/* State of the two passes over the data entries. */
struct data_state {
	const struct index_state *ix; /* borrowed */
	size_t blk;		      /* current data block */
	uint64_t boff;		      /* its file offset */
	size_t nblock_entries;	      /* entries seen in the current block */
	/* pass 1 */
	struct ckpt_buf cur;  /* owned scratch: the key being built */
	struct ckpt_buf prev; /* owned scratch: the previous key */
	size_t n;	      /* entries so far */
	uint64_t key_bytes;   /* key bytes so far */
	uint64_t budget;
	/* pass 2 */
	struct ckpt_kv *kv; /* borrowed: the table's array */
	uint8_t *keys;	    /* borrowed: key area of the arena */
	size_t kpos;
	const uint8_t *prevkey;
};

/* Printable table name. */
static const char *
pname(const struct parser *ps)
{
	return ps->name != NULL ? ps->name : "(table)";
}

int
ckpt_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n > 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Decode a block handle from [*P, LIMIT); with CANON, refuse varints that
 * are longer than needed (the footer is not covered by any CRC). */
static int
get_handle(const uint8_t **p, const uint8_t *limit, bool canon,
	   struct handle *h)
{
	const uint8_t *q = *p, *s;

	s = q;
	if (ckpt_get_varint64(&q, limit, &h->off) < 0 ||
	    (canon && (size_t)(q - s) != ckpt_varint_len(h->off)))
		return -EBADMSG;
	s = q;
	if (ckpt_get_varint64(&q, limit, &h->size) < 0 ||
	    (canon && (size_t)(q - s) != ckpt_varint_len(h->size)))
		return -EBADMSG;
	*p = q;
	return 0;
}

/* Check that block H and its trailer lie within the table data; BY
 * names what holds the handle. */
static int
check_range(const struct parser *ps, const char *kind, struct handle h,
	    const char *by)
{
	uint64_t body = ps->body;

	if (h.off > body || h.size > body - h.off ||
	    body - h.off - h.size < CKPT_BLOCK_TRAILER_LEN)
		return ckpt_fail(
			ps->err, -ERANGE,
			"%s: %s block (offset %" PRIu64 ", size %" PRIu64
			") runs past the end of the table data (%zu bytes): "
			"its handle in %s is damaged",
			pname(ps), kind, h.off, h.size, ps->body, by);
	return 0;
}

/* Verify the trailer of block H (range-checked): the masked CRC over the
 * stored bytes and the type byte, then the type. */
static int
check_trailer(const struct parser *ps, const char *kind, struct handle h,
	      uint8_t *type)
{
	const uint8_t *p = ps->buf + h.off;
	const uint8_t *t = p + h.size;
	uint32_t crc = ckpt_crc32c_extend(ckpt_crc32c(p, (size_t)h.size), t, 1);
	uint32_t stored = ckpt_load32le(t + 1);

#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	if (ckpt_crc_mask(crc) != stored)
#else
	/* Fuzz builds accept any CRC but 0, so that mutated input reaches
	 * the decoders and this path stays reachable. */
	if (ckpt_crc_mask(crc) != stored && stored == 0)
#endif
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: %s block at offset %" PRIu64
				 ": CRC mismatch (stored %08" PRIx32
				 ", computed %08" PRIx32 ")",
				 pname(ps), kind, h.off, stored,
				 ckpt_crc_mask(crc));
	if (t[0] != CKPT_COMPRESS_NONE && t[0] != CKPT_COMPRESS_SNAPPY)
		return ckpt_fail(ps->err, -ENOTSUP,
				 "%s: %s block at offset %" PRIu64
				 ": unknown compression type %u",
				 pname(ps), kind, h.off, t[0]);
	*type = t[0];
	return 0;
}

/* Read the uncompressed length from the snappy block at H and check it
 * against the expansion bound. */
static int
snappy_len(const struct parser *ps, const char *kind, struct handle h,
	   size_t *ulen)
{
	const char *src = (const char *)(ps->buf + h.off);

	if (snappy_uncompressed_length(src, (size_t)h.size, ulen) != SNAPPY_OK)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: %s block at offset %" PRIu64
				 ": bad snappy length header",
				 pname(ps), kind, h.off);
	if ((uint64_t)*ulen / SNAPPY_MAX_RATIO > h.size)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: %s block at offset %" PRIu64
				 ": snappy claims %zu bytes from %" PRIu64
				 ", more than it can expand",
				 pname(ps), kind, h.off, *ulen, h.size);
	return 0;
}

/* Decompress the snappy block at H into DST (ULEN bytes, from snappy_len). */
static int
snappy_unpack(const struct parser *ps, const char *kind, struct handle h,
	      uint8_t *dst, size_t ulen)
{
	size_t n = ulen;

	if (snappy_uncompress((const char *)(ps->buf + h.off), (size_t)h.size,
			      (char *)dst, &n) != SNAPPY_OK ||
	    n != ulen)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: %s block at offset %" PRIu64
				 ": corrupt snappy data",
				 pname(ps), kind, h.off);
	return 0;
}

/* The contents of the block at H, of compression TYPE (none or snappy):
 * *DATA points into the file, or for a snappy block into *OWNED (freed
 * by the caller). */
static int
unpack_block(const struct parser *ps, const char *kind, struct handle h,
	     uint8_t type, const uint8_t **data, size_t *len, uint8_t **owned)
{
	size_t ulen;
	int rc;

	*owned = NULL;
	if (type == CKPT_COMPRESS_NONE) {
		*data = ps->buf + h.off;
		*len = (size_t)h.size;
		return 0;
	}
	if ((rc = snappy_len(ps, kind, h, &ulen)) < 0)
		return rc;
	if ((*owned = malloc(ulen ? ulen : 1)) == NULL)
		return -ENOMEM;
	if ((rc = snappy_unpack(ps, kind, h, *owned, ulen)) < 0) {
		free(*owned);
		*owned = NULL;
		return rc;
	}
	*data = *owned;
	*len = ulen;
	return 0;
}

/* Load the index or metaindex block at H, its trailer checked (see
 * unpack_block()). */
static int
load_block(const struct parser *ps, const char *kind, struct handle h,
	   const uint8_t **data, size_t *len, uint8_t **owned)
{
	uint8_t type;
	int rc;

	*owned = NULL;
	if ((rc = check_trailer(ps, kind, h, &type)) < 0)
		return rc;
	return unpack_block(ps, kind, h, type, data, len, owned);
}

/* Decode one entry header at *P; check that its key delta and value fit
 * before LIMIT.  On success *P points at the key delta. */
static int
decode_entry(const uint8_t **p, const uint8_t *limit, uint32_t *shared,
	     uint32_t *nd, uint32_t *vlen)
{
	const uint8_t *q = *p;

	if (ckpt_get_varint32(&q, limit, shared) < 0 ||
	    ckpt_get_varint32(&q, limit, nd) < 0 ||
	    ckpt_get_varint32(&q, limit, vlen) < 0)
		return -EBADMSG;
	if ((uint64_t)(limit - q) < (uint64_t)*nd + *vlen)
		return -EBADMSG; /* by subtraction: q + n can overflow */
	*p = q;
	return 0;
}

/* Walk the entries of block B[0..LEN) (contents, trailer excluded) and
 * check its framing: the restart count fits, every restart offset is an
 * entry boundary, in increasing order, the first at 0, restart entries
 * share nothing, and no entry shares more than the previous key's length.
 * FN (may be NULL) sees each entry. */
static int
block_walk(struct parser *ps, const char *kind, uint64_t boff, const uint8_t *b,
	   size_t len, entry_fn fn, void *ctx)
{
	const uint8_t *p, *limit, *restarts;
	uint32_t nrestarts, r = 0;
	uint64_t prev_len = 0;
	int rc;

	if (len < 4)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: %s block at offset %" PRIu64
				 ": %zu byte(s) too short for a restart count",
				 pname(ps), kind, boff, len);
	nrestarts = ckpt_load32le(b + len - 4);
	if (nrestarts > (len - 4) / 4)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: %s block at offset %" PRIu64
				 ": restart count %" PRIu32
				 " does not fit in %zu bytes",
				 pname(ps), kind, boff, nrestarts, len);
	restarts = b + len - 4 - (size_t)nrestarts * 4;
	limit = restarts;
	for (p = b; p < limit;) {
		size_t eoff = (size_t)(p - b);
		uint32_t shared, nd, vlen;
		bool is_restart = false;

		if (r < nrestarts && ckpt_load32le(restarts + 4 * r) == eoff) {
			is_restart = true;
			r++;
		} else if (p == b) {
			return ckpt_fail(
				ps->err, -EBADMSG,
				"%s: %s block at offset %" PRIu64
				": no restart point at its first entry",
				pname(ps), kind, boff);
		}
		if (decode_entry(&p, limit, &shared, &nd, &vlen) < 0)
			return ckpt_fail(
				ps->err, -EBADMSG,
				"%s: %s block at offset %" PRIu64
				": entry at block offset %zu is truncated"
				" or overruns the entries",
				pname(ps), kind, boff, eoff);
		if (shared > prev_len || (is_restart && shared != 0))
			return ckpt_fail(
				ps->err, -EBADMSG,
				"%s: %s block at offset %" PRIu64
				": entry at block offset %zu shares %" PRIu32
				" bytes with a %" PRIu64 "-byte key%s",
				pname(ps), kind, boff, eoff, shared, prev_len,
				is_restart ? " at a restart point" : "");
		if (fn != NULL &&
		    (rc = fn(ps, ctx, shared, p, nd, p + nd, vlen, eoff)) < 0)
			return rc;
		prev_len = (uint64_t)shared + nd;
		p += (size_t)nd + vlen;
	}
	if (limit == b) {
		/* An empty block: TensorFlow writes one restart at 0. */
		for (r = 0; r < nrestarts; r++)
			if (ckpt_load32le(restarts + 4 * r) != 0)
				break;
	}
	if (r != nrestarts)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: %s block at offset %" PRIu64
				 ": restart %" PRIu32 " (offset %" PRIu32
				 ") is not an entry boundary in order",
				 pname(ps), kind, boff, r,
				 ckpt_load32le(restarts + 4 * r));
	return 0;
}

/* Index entry: materialise the separator key, check order, decode the
 * handle. */
static int
index_entry(struct parser *ps, void *ctx, uint32_t shared, const uint8_t *delta,
	    uint32_t nd, const uint8_t *val, uint32_t vlen, size_t eoff)
{
	struct index_state *ix = ctx;
	const uint8_t *vp = val;
	size_t start = ix->keys.len, prev;
	struct handle h;
	int rc;

	if ((uint64_t)shared + nd > ix->budget - ix->keys.len)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: index block at offset %" PRIu64
				 ": keys expand beyond %" PRIu64 " bytes",
				 pname(ps), ix->boff, ix->budget);
	if (ix->nblk == ix->cap) {
		size_t cap = ix->cap ? 2 * ix->cap : 16;
		struct dblock *blk;
		size_t *koff;

		blk = reallocarray(ix->blk, cap, sizeof(*blk));
		if (blk == NULL)
			return -ENOMEM;
		ix->blk = blk;
		koff = reallocarray(ix->koff, cap + 1, sizeof(*koff));
		if (koff == NULL)
			return -ENOMEM;
		ix->koff = koff;
		ix->cap = cap;
	}
	if ((rc = ckpt_buf_reserve(&ix->keys, (size_t)shared + nd)) < 0)
		return rc;
	if (ix->nblk > 0) {
		prev = ix->koff[ix->nblk - 1];
		memcpy(ix->keys.data + start, ix->keys.data + prev, shared);
	}
	if (nd > 0)
		memcpy(ix->keys.data + start + shared, delta, nd);
	ix->keys.len += (size_t)shared + nd;
	if (ix->nblk > 0) {
		prev = ix->koff[ix->nblk - 1];
		if (ckpt_key_cmp(ix->keys.data + prev, start - prev,
				 ix->keys.data + start,
				 ix->keys.len - start) >= 0)
			return ckpt_fail(ps->err, -EBADMSG,
					 "%s: index block at offset %" PRIu64
					 ": entry at block offset %zu is not "
					 "greater than the previous key",
					 pname(ps), ix->boff, eoff);
	}
	if (get_handle(&vp, val + vlen, false, &h) < 0 || vp != val + vlen)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: index block at offset %" PRIu64
				 ": entry at block offset %zu has a bad handle",
				 pname(ps), ix->boff, eoff);
	memset(&ix->blk[ix->nblk], 0, sizeof(ix->blk[0]));
	ix->blk[ix->nblk].h = h;
	ix->koff[ix->nblk] = start;
	ix->nblk++;
	ix->koff[ix->nblk] = ix->keys.len;
	return 0;
}

/* Data entry, first pass: materialise the key in scratch space, check the
 * order against the previous key and the index separators, count. */
static int
data_entry_check(struct parser *ps, void *ctx, uint32_t shared,
		 const uint8_t *delta, uint32_t nd, const uint8_t *val,
		 uint32_t vlen, size_t eoff)
{
	struct data_state *ds = ctx;
	const struct index_state *ix = ds->ix;
	struct ckpt_buf tmp;
	int rc;

	(void)val;
	(void)vlen;
	ds->cur.len = 0;
	if ((rc = ckpt_buf_put(&ds->cur, ds->prev.data, shared)) < 0 ||
	    (rc = ckpt_buf_put(&ds->cur, delta, nd)) < 0)
		return rc;
	if (ds->n > 0 && ckpt_key_cmp(ds->prev.data, ds->prev.len, ds->cur.data,
				      ds->cur.len) >= 0)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: data block at offset %" PRIu64
				 ": key of entry at block offset %zu is not "
				 "greater than the previous key",
				 pname(ps), ds->boff, eoff);
	if (ds->nblock_entries == 0 && ds->blk > 0) {
		size_t s = ix->koff[ds->blk - 1], e = ix->koff[ds->blk];

		if (ckpt_key_cmp(ix->keys.data + s, e - s, ds->cur.data,
				 ds->cur.len) >= 0)
			return ckpt_fail(ps->err, -EBADMSG,
					 "%s: data block at offset %" PRIu64
					 ": first key is not greater than the "
					 "index key of the previous block",
					 pname(ps), ds->boff);
	}
	ds->key_bytes += ds->cur.len;
	if (ds->key_bytes > ds->budget)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: data block at offset %" PRIu64
				 ": keys expand beyond %" PRIu64 " bytes",
				 pname(ps), ds->boff, ds->budget);
	ds->n++;
	ds->nblock_entries++;
	tmp = ds->prev;
	ds->prev = ds->cur;
	ds->cur = tmp;
	return 0;
}

/* Data entry, second pass: copy the key into the arena, fill the kv. */
static int
data_entry_fill(struct parser *ps, void *ctx, uint32_t shared,
		const uint8_t *delta, uint32_t nd, const uint8_t *val,
		uint32_t vlen, size_t eoff)
{
	struct data_state *ds = ctx;
	uint8_t *k = ds->keys + ds->kpos;
	struct ckpt_kv *kv = &ds->kv[ds->n];

	(void)ps;
	(void)eoff;
	if (shared > 0)
		memcpy(k, ds->prevkey, shared);
	if (nd > 0)
		memcpy(k + shared, delta, nd);
	kv->key.data = k;
	kv->key.len = (size_t)shared + nd;
	kv->value.data = val;
	kv->value.len = vlen;
	ds->prevkey = k;
	ds->kpos += kv->key.len;
	ds->n++;
	return 0;
}

/* Parse the footer into the two handles. */
static int
parse_footer(struct parser *ps, struct handle *meta, struct handle *index)
{
	const uint8_t *f, *p, *limit;

	if (ps->len == 0)	/* (a save killed before it wrote) */
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: empty file, not a checkpoint index",
				 pname(ps));
	if (ps->len < CKPT_TABLE_FOOTER_LEN)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: %zu byte(s) too short for a table "
				 "(the footer alone is %d)",
				 pname(ps), ps->len, CKPT_TABLE_FOOTER_LEN);
	f = ps->buf + ps->len - CKPT_TABLE_FOOTER_LEN;
	if (ckpt_load64le(f + 40) != CKPT_TABLE_MAGIC)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: bad table magic %016" PRIx64
				 " at offset %zu (cut short, or not a "
				 "checkpoint index?)",
				 pname(ps), ckpt_load64le(f + 40),
				 ps->len - CKPT_TABLE_FOOTER_LEN + 40);
	p = f;
	limit = f + 40;
	if (get_handle(&p, limit, true, meta) < 0 ||
	    get_handle(&p, limit, true, index) < 0)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: malformed block handles in the footer "
				 "at offset %zu",
				 pname(ps), ps->len - CKPT_TABLE_FOOTER_LEN);
	for (; p < limit; p++)
		if (*p != 0)
			return ckpt_fail(ps->err, -EBADMSG,
					 "%s: malformed footer: nonzero "
					 "padding after its block handles at "
					 "offset %zu",
					 pname(ps), (size_t)(p - ps->buf));
	return 0;
}

/* Check the data block handles: in range, back to back from offset 0 up
 * to END; verify each trailer and sum the decompressed sizes. */
static int
check_data_blocks(struct parser *ps, struct index_state *ix, uint64_t end,
		  size_t *arena_len, size_t *nsnappy)
{
	uint64_t expect = 0;
	size_t i, total = 0;
	int rc;

	*nsnappy = 0;
	for (i = 0; i < ix->nblk; i++) {
		struct dblock *d = &ix->blk[i];

		if ((rc = check_range(ps, "data", d->h, "the index block")) <
		    0)
			return rc;
		if (d->h.off != expect)
			return ckpt_fail(ps->err, -EBADMSG,
					 "%s: data block %zu at offset %" PRIu64
					 " should start at %" PRIu64,
					 pname(ps), i, d->h.off, expect);
		expect = d->h.off + d->h.size + CKPT_BLOCK_TRAILER_LEN;
		if ((rc = check_trailer(ps, "data", d->h, &d->type)) < 0)
			return rc;
		if (d->type == CKPT_COMPRESS_NONE) {
			d->len = (size_t)d->h.size;
			continue;
		}
		if ((rc = snappy_len(ps, "data", d->h, &d->len)) < 0)
			return rc;
		if (d->len > SIZE_MAX - total)
			return ckpt_fail(ps->err, -EOVERFLOW,
					 "%s: decompressed blocks overflow",
					 pname(ps));
		d->aoff = total;
		total += d->len;
		(*nsnappy)++;
	}
	if (expect != end)
		return ckpt_fail(ps->err, -EBADMSG,
				 "%s: data blocks end at %" PRIu64
				 " but the metaindex block starts at %" PRIu64,
				 pname(ps), expect, end);
	*arena_len = total;
	return 0;
}

/* Contents of data block D: in the file, or in ARENA if decompressed. */
static const uint8_t *
dblock_data(const struct parser *ps, const struct dblock *d,
	    const uint8_t *arena)
{
	return d->type == CKPT_COMPRESS_NONE ? ps->buf + d->h.off
					     : arena + d->aoff;
}

/* Both passes over the data blocks, then the table itself. */
static int
parse_data(struct parser *ps, struct index_state *ix, uint64_t end,
	   struct ckpt_table *t)
{
	struct data_state ds;
	size_t i, dlen = 0, nsnappy = 0;
	uint64_t raw_total = 0;
	uint8_t *arena;
	int rc;

	if ((rc = check_data_blocks(ps, ix, end, &dlen, &nsnappy)) < 0)
		return rc;
	if ((t->arena = malloc(dlen ? dlen : 1)) == NULL)
		return -ENOMEM;
	for (i = 0; i < ix->nblk; i++) {
		struct dblock *d = &ix->blk[i];

		raw_total += d->len;
		if (d->type == CKPT_COMPRESS_SNAPPY &&
		    (rc = snappy_unpack(ps, "data", d->h, t->arena + d->aoff,
					d->len)) < 0)
			return rc;
	}

	memset(&ds, 0, sizeof(ds));
	ds.ix = ix;
	ds.budget = KEY_EXPANSION * raw_total + KEY_SLACK;
	for (i = 0; i < ix->nblk; i++) {
		const struct dblock *d = &ix->blk[i];
		size_t s = ix->koff[i], e = ix->koff[i + 1];

		ds.blk = i;
		ds.boff = d->h.off;
		ds.nblock_entries = 0;
		rc = block_walk(ps, "data", d->h.off,
				dblock_data(ps, d, t->arena), d->len,
				data_entry_check, &ds);
		if (rc < 0)
			goto out;
		if (ds.nblock_entries > 0 &&
		    ckpt_key_cmp(ds.prev.data, ds.prev.len, ix->keys.data + s,
				 e - s) > 0) {
			rc = ckpt_fail(
				ps->err, -EBADMSG,
				"%s: data block at offset %" PRIu64
				": last key is greater than its index key",
				pname(ps), d->h.off);
			goto out;
		}
	}
	if (ds.key_bytes > SIZE_MAX - dlen) {
		rc = -EOVERFLOW;
		goto out;
	}

	arena = realloc(t->arena, dlen + (size_t)ds.key_bytes + 1);
	if (arena == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	t->arena = arena;
	t->arena_len = dlen + (size_t)ds.key_bytes;
	if ((t->kv = calloc(ds.n ? ds.n : 1, sizeof(*t->kv))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	t->n = ds.n;
	t->nblocks = ix->nblk;
	t->nsnappy = nsnappy;

	ds.kv = t->kv;
	ds.keys = t->arena + dlen;
	ds.kpos = 0;
	ds.n = 0;
	for (i = 0; i < ix->nblk; i++) {
		const struct dblock *d = &ix->blk[i];

		rc = block_walk(ps, "data", d->h.off,
				dblock_data(ps, d, t->arena), d->len,
				data_entry_fill, &ds);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	ckpt_buf_free(&ds.cur);
	ckpt_buf_free(&ds.prev);
	return rc;
}

int
ckpt_table_parse(const uint8_t *buf, size_t len, const char *name,
		 struct ckpt_table **out, struct ckpt_err *err)
{
	struct parser ps = { buf, len, 0, name, err };
	struct index_state ix;
	struct handle mh, ih;
	struct ckpt_table *t = NULL;
	const uint8_t *data;
	uint8_t *owned = NULL;
	size_t dlen = 0;
	int rc;

	*out = NULL;
	memset(&ix, 0, sizeof(ix));
	if ((rc = parse_footer(&ps, &mh, &ih)) < 0)
		return rc;
	ps.body = len - CKPT_TABLE_FOOTER_LEN;
	if ((rc = check_range(&ps, "metaindex", mh, "the footer")) < 0 ||
	    (rc = check_range(&ps, "index", ih, "the footer")) < 0)
		return rc;
	if (ih.off + ih.size + CKPT_BLOCK_TRAILER_LEN != ps.body ||
	    mh.off + mh.size + CKPT_BLOCK_TRAILER_LEN != ih.off)
		return ckpt_fail(err, -EBADMSG,
				 "%s: metaindex block (offset %" PRIu64
				 ") and index block (offset %" PRIu64
				 ") are not back to back before the footer",
				 pname(&ps), mh.off, ih.off);

	/* The metaindex is empty for bundles; check it, use nothing. */
	if ((rc = load_block(&ps, "metaindex", mh, &data, &dlen, &owned)) < 0)
		return rc;
	rc = block_walk(&ps, "metaindex", mh.off, data, dlen, NULL, NULL);
	free(owned);
	owned = NULL;
	if (rc < 0)
		return rc;

	if ((rc = load_block(&ps, "index", ih, &data, &dlen, &owned)) < 0)
		return rc;
	ix.boff = ih.off;
	ix.budget = KEY_EXPANSION * (uint64_t)dlen + KEY_SLACK;
	if ((ix.koff = calloc(1, sizeof(*ix.koff))) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = block_walk(&ps, "index", ih.off, data, dlen, index_entry, &ix);
	if (rc < 0)
		goto fail;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = parse_data(&ps, &ix, mh.off, t)) < 0)
		goto fail;
	free(owned);
	ckpt_buf_free(&ix.keys);
	free(ix.koff);
	free(ix.blk);
	*out = t;
	return 0;
fail:
	ckpt_table_free(t);
	free(owned);
	ckpt_buf_free(&ix.keys);
	free(ix.koff);
	free(ix.blk);
	if (rc == -ENOMEM)
		ckpt_fail(err, rc, "%s: out of memory", pname(&ps));
	return rc;
}

const struct ckpt_kv *
ckpt_table_find(const struct ckpt_table *t, const void *key, size_t klen)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ckpt_kv *kv = &t->kv[mid];
		int c = ckpt_key_cmp(kv->key.data, kv->key.len, key, klen);

		if (c == 0)
			return kv;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void
ckpt_table_free(struct ckpt_table *t)
{
	if (t == NULL)
		return;
	free(t->kv);
	free(t->arena);
	free(t);
}

/* --- salvage -------------------------------------------------------------
 * What can still be read of a table ckpt_table_parse() refuses.  The data
 * blocks are those the index block names, when the footer leads to it
 * (its checksum is checked and a mismatch noted: each data block is
 * checked by its own again), kept in order and without overlaps; the
 * bytes before the metaindex block that none of them covers (a handle
 * damaged), and the whole file when there is no index block to read, are
 * searched for blocks by their trailers: from where a block may begin,
 * its end is where the masked CRC-32C of the bytes before it and a type
 * byte are stored, and the next one begins after it (a search stops at
 * a block whose checksum fails; the bytes from there on are lost).  The
 * metaindex and index blocks such a search finds at the end of the file
 * are left out: the index block's values are handles of the blocks
 * before it.  Each block whose checksum holds is read as
 * ckpt_table_parse() reads it; one whose checksum fails is read entry by
 * entry as far as its entries decode, and again from each restart point
 * after one that does not.  The pairs found are sorted by key (the first
 * of a key kept) and returned as a table; what was lost or is suspect is
 * said in REPORT (the first SALVAGE_NOTES things, then how many more).
 * Memory stays proportional to the file: blocks do not overlap, so each
 * byte is decompressed once, and keys are bounded as for
 * ckpt_table_parse(). */

#define SALVAGE_NOTES 16

/* One pair found: the key in the arena, the value in the file or the
 * arena (VAL_IN_ARENA). */
struct found {
	size_t koff, klen;
	size_t voff, vlen;
	bool val_in_arena;
	size_t seq;		/* order found, for a stable sort */
};

struct salvage {
	struct parser ps;	/* ERR: scratch for the strict helpers */
	struct ckpt_err scratch;
	struct ckpt_buf arena;	/* decompressed blocks, then keys */
	struct ckpt_buf found;	/* struct found */
	struct ckpt_buf prev;	/* the previous key of the block */
	struct ckpt_buf *report;
	uint64_t budget;	/* key bytes still allowed */
	bool spent;		/* the budget ran out: nothing more read */
	size_t nfound;
	size_t nnotes, nmore;	/* notes in REPORT, and left out */
	size_t nsnappy;
};

/* Append the formatted note to S's report, "; " between notes. */
static void __attribute__((format(printf, 2, 3)))
note(struct salvage *s, const char *fmt, ...)
{
	char line[640];
	va_list ap;
	int n;

	if (s->nnotes == SALVAGE_NOTES) {
		s->nmore++;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (s->report->len > 0)
		(void)ckpt_buf_put(s->report, "; ", 2);
	(void)ckpt_buf_put(s->report, line,
			   (size_t)n < sizeof(line) ? (size_t)n
						    : sizeof(line) - 1);
	s->nnotes++;
}

/* Record the pair whose key is S->prev and whose value is VLEN bytes at
 * VAL (in the file, or at offset VBASE + (VAL - BASE) of the arena).
 * -E2BIG when the key budget is spent. */
static int
keep_pair(struct salvage *s, const uint8_t *val, uint32_t vlen,
	  const uint8_t *base, bool in_arena, size_t vbase)
{
	struct found f = { 0 };
	int rc;

	/* (a record costs what a key byte does, so that empty keys count) */
	if (s->prev.len + sizeof(f) > s->budget) {
		s->spent = true;
		return -E2BIG;
	}
	s->budget -= s->prev.len + sizeof(f);
	f.koff = s->arena.len;
	f.klen = s->prev.len;
	f.vlen = vlen;
	f.val_in_arena = in_arena;
	f.voff = in_arena ? vbase + (size_t)(val - base)
			  : (size_t)(val - s->ps.buf);
	f.seq = s->nfound;
	if ((rc = ckpt_buf_put(&s->arena, s->prev.data, s->prev.len)) < 0 ||
	    (rc = ckpt_buf_put(&s->found, &f, sizeof(f))) < 0)
		return rc;
	s->nfound++;
	return 0;
}

static int
size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Where the entries of block contents B (LEN bytes) end, and its restart
 * points before that, sorted, in *RS (*NRS of them; malloc()ed, may be
 * NULL when none).  -ENOMEM or 0. */
static int
block_layout(const uint8_t *b, size_t len, size_t *limit, size_t **rs,
	     size_t *nrs)
{
	uint32_t nr = 0;

	*rs = NULL;
	*nrs = 0;
	*limit = len >= 4 ? len - 4 : 0;
	if (len >= 4 && (nr = ckpt_load32le(b + len - 4)) <= (len - 4) / 4)
		*limit = len - 4 - (size_t)nr * 4;
	else
		nr = 0;
	if (nr == 0)
		return 0;
	if ((*rs = malloc((size_t)nr * sizeof(**rs))) == NULL)
		return -ENOMEM;
	for (uint32_t r = 0; r < nr; r++) {
		size_t o = ckpt_load32le(b + *limit + 4 * (size_t)r);

		if (o < *limit)
			(*rs)[(*nrs)++] = o;
	}
	qsort(*rs, *nrs, sizeof(**rs), size_cmp);
	return 0;
}

/* Read the LEN bytes of block contents B (at arena offset VBASE when
 * IN_ARENA) entry by entry, as far as they decode, resynchronising at
 * each restart point after one that does not; every entry that decodes
 * is kept (*KEPT).  Return how many resyncs were needed, or a negative
 * errno (-E2BIG: the key budget ran out). */
static long
walk_lenient(struct salvage *s, const uint8_t *b, size_t len, bool in_arena,
	     size_t vbase, size_t *kept)
{
	size_t limit, *rs, nrs, ri = 0;
	long skipped = 0;
	int rc;

	*kept = 0;
	if ((rc = block_layout(b, len, &limit, &rs, &nrs)) < 0)
		return rc;
	s->prev.len = 0;
	for (size_t at = 0; at < limit;) {
		uint32_t shared, nd, vlen;
		const uint8_t *q = b + at;

		if (decode_entry(&q, b + limit, &shared, &nd, &vlen) == 0 &&
		    shared <= s->prev.len) {
			s->prev.len = shared;
			if ((rc = ckpt_buf_put(&s->prev, q, nd)) < 0 ||
			    (rc = keep_pair(s, q + nd, vlen, in_arena ? b : NULL,
					    in_arena, vbase)) < 0) {
				free(rs);
				return rc;
			}
			(*kept)++;
			at = (size_t)(q - b) + (size_t)nd + vlen;
			continue;
		}
		/* the next restart point after AT, where keys start whole */
		skipped++;
		while (ri < nrs && rs[ri] <= at)
			ri++;
		if (ri == nrs)
			break;
		at = rs[ri++];
		s->prev.len = 0;
	}
	free(rs);
	return skipped;
}

/* Whether the block at H has a valid trailer (checksum and type). */
static bool
trailer_holds(const struct salvage *s, struct handle h)
{
	const uint8_t *t = s->ps.buf + h.off + h.size;
	uint32_t crc = ckpt_crc32c_extend(
		ckpt_crc32c(s->ps.buf + h.off, (size_t)h.size), t, 1);

	return ckpt_crc_mask(crc) == ckpt_load32le(t + 1);
}

/* The contents of the block at H (range-checked): in the file, or
 * decompressed into *OWNED (malloc()ed).  NULL if they cannot be had
 * (WHY says why). */
static const uint8_t *
block_contents(struct salvage *s, struct handle h, size_t *len,
	       uint8_t **owned, const char **why)
{
	uint8_t type = s->ps.buf[h.off + h.size];
	const uint8_t *data;

	*owned = NULL;
	*why = NULL;
	if (type != CKPT_COMPRESS_NONE && type != CKPT_COMPRESS_SNAPPY) {
		*why = "unknown compression type";
		return NULL;
	}
	ckpt_err_clear(&s->scratch);
	if (unpack_block(&s->ps, "data", h, type, &data, len, owned) < 0) {
		*why = "its snappy data does not decode";
		return NULL;
	}
	return data;
}

/* Salvage the data block at H (range-checked). */
static int
salvage_block(struct salvage *s, struct handle h)
{
	bool good = trailer_holds(s, h), in_arena;
	const uint8_t *data;
	uint8_t *owned;
	const char *why;
	size_t len, vbase = s->arena.len, kept = 0;
	long skipped;
	int rc;

	if ((data = block_contents(s, h, &len, &owned, &why)) == NULL) {
		note(s, "data block at offset %" PRIu64 " lost (%s%s)", h.off,
		     good ? "" : "checksum mismatch, and ", why);
		return 0;
	}
	/* a decompressed block goes in the arena, its values kept by
	 * offset (the arena moves as keys are added) */
	in_arena = owned != NULL;
	if (in_arena) {
		rc = ckpt_buf_put(&s->arena, owned, len);
		if (rc < 0) {
			free(owned);
			return rc;
		}
		s->nsnappy++;
	}
	skipped = walk_lenient(s, data, len, in_arena, vbase, &kept);
	free(owned);
	if (skipped == -E2BIG)
		return 0;	/* (said once, by the caller) */
	if (skipped < 0)
		return (int)skipped;
	if (!good || skipped > 0)
		note(s, "data block at offset %" PRIu64 "%s: %zu entries "
		     "taken%s%s", h.off, good ? "" : " (checksum mismatch)",
		     kept, good ? "" : " as they decode",
		     skipped > 0 ? ", some lost where they do not" : "");
	return 0;
}

/* Append H to *HS (*N of them, room for *CAP); false if out of memory
 * (what is there stays). */
static bool
push_handle(struct handle **hs, size_t *n, size_t *cap, struct handle h)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		struct handle *x = reallocarray(*hs, c, sizeof(*x));

		if (x == NULL)
			return false;
		*hs = x;
		*cap = c;
	}
	(*hs)[(*n)++] = h;
	return true;
}

/* Append to *HS the blocks found by their trailers from START up to END,
 * as far as one follows another; return where the search stopped (END
 * if every byte is in a block). */
static uint64_t
scan_blocks(struct salvage *s, uint64_t start, uint64_t end,
	    struct handle **hs, size_t *n, size_t *cap)
{
	while (start + CKPT_BLOCK_TRAILER_LEN <= end) {
		uint32_t crc = 0;
		uint64_t at;
		bool found = false;

		for (at = start; at + CKPT_BLOCK_TRAILER_LEN <= end; at++) {
			const uint8_t *t = s->ps.buf + at;

			if ((t[0] == CKPT_COMPRESS_NONE ||
			     t[0] == CKPT_COMPRESS_SNAPPY) &&
			    ckpt_crc_mask(ckpt_crc32c_extend(crc, t, 1)) ==
				    ckpt_load32le(t + 1)) {
				found = true;
				break;
			}
			crc = ckpt_crc32c_extend(crc, t, 1);
		}
		if (!found ||
		    !push_handle(hs, n, cap,
				 (struct handle){ start, at - start }))
			return start;
		start = at + CKPT_BLOCK_TRAILER_LEN;
	}
	return start;
}

/* The handles the index block that the footer leads to names, in *IX
 * (*NIX); where the data blocks end (the metaindex block) in *END.
 * False if there is no index block to read. */
static bool
index_handles(struct salvage *s, struct handle **ix, size_t *nix,
	      uint64_t *end)
{
	struct handle mh, ih, h;
	const uint8_t *b, *v;
	uint8_t *owned = NULL;
	const char *why;
	size_t cap = 0, blen, limit, *rs = NULL, nrs, dropped = 0, at = 0;
	uint32_t shared, nd, vlen;

	*ix = NULL;
	*nix = 0;
	ckpt_err_clear(&s->scratch);
	if (parse_footer(&s->ps, &mh, &ih) < 0)
		return false;
	s->ps.body = s->ps.len - CKPT_TABLE_FOOTER_LEN;
	if (check_range(&s->ps, "index", ih, "the footer") < 0 ||
	    mh.off > ih.off ||
	    (b = block_contents(s, ih, &blen, &owned, &why)) == NULL ||
	    block_layout(b, blen, &limit, &rs, &nrs) < 0) {
		free(owned);
		return false;
	}
	*end = mh.off;
	if (!trailer_holds(s, ih))
		note(s, "index block (checksum mismatch): its handles taken "
		     "as they decode");
	while (at < limit) {
		const uint8_t *q = b + at;

		if (decode_entry(&q, b + limit, &shared, &nd, &vlen) < 0) {
			note(s, "index block: its entries from block offset "
			     "%zu on do not decode", at);
			break;
		}
		v = q + nd;
		at = (size_t)(v + vlen - b);
		if (get_handle(&v, v + vlen, false, &h) < 0 ||
		    check_range(&s->ps, "data", h, "the index block") < 0 ||
		    h.off + h.size + CKPT_BLOCK_TRAILER_LEN > mh.off) {
			dropped++;
			continue;
		}
		if (!push_handle(ix, nix, &cap, h))
			break;
	}
	if (dropped > 0)
		note(s, "index block: %zu handles that lead nowhere dropped",
		     dropped);
	free(rs);
	free(owned);
	return true;
}

/* Whether the block at H is an index block of the blocks HS[0..N): every
 * value of its, and one at least, a handle of one of them. */
static bool
is_index_of(struct salvage *s, struct handle h, const struct handle *hs,
	    size_t n)
{
	const uint8_t *b;
	uint8_t *owned;
	const char *why;
	size_t blen, limit, *rs, nrs, at = 0, nent = 0;
	bool ok = true;

	if ((b = block_contents(s, h, &blen, &owned, &why)) == NULL ||
	    block_layout(b, blen, &limit, &rs, &nrs) < 0) {
		free(owned);
		return false;
	}
	free(rs);
	while (ok && at < limit) {
		uint32_t shared, nd, vlen;
		const uint8_t *q = b + at, *v;
		struct handle x;
		size_t i;

		if (decode_entry(&q, b + limit, &shared, &nd, &vlen) < 0)
			break;
		v = q + nd;
		at = (size_t)(v + vlen - b);
		ok = get_handle(&v, q + nd + vlen, false, &x) == 0 &&
		     v == q + nd + vlen;
		for (i = 0; ok && i < n; i++)
			if (hs[i].off == x.off && hs[i].size == x.size)
				break;
		ok = ok && i < n;
		nent++;
	}
	free(owned);
	return ok && at >= limit && nent > 0;
}

/* Whether block H holds no entries (a bundle's metaindex block). */
static bool
is_empty_block(struct salvage *s, struct handle h)
{
	const uint8_t *b;
	uint8_t *owned;
	const char *why;
	size_t blen, limit, *rs, nrs;
	bool empty;

	if ((b = block_contents(s, h, &blen, &owned, &why)) == NULL ||
	    block_layout(b, blen, &limit, &rs, &nrs) < 0) {
		free(owned);
		return false;
	}
	empty = limit == 0;
	free(rs);
	free(owned);
	return empty;
}

/* qsort() order of handles: by offset. */
static int
handle_cmp(const void *a, const void *b)
{
	const struct handle *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* The data blocks of the table, in order and apart, into *HS (*N). */
static int
data_handles(struct salvage *s, struct handle **hs, size_t *n)
{
	struct handle *ix = NULL;
	size_t nix = 0, cap = 0, nscan = 0;
	uint64_t end = s->ps.len, pos = 0, stop;

	*hs = NULL;
	*n = 0;
	s->ps.body = s->ps.len;
	if (!index_handles(s, &ix, &nix, &end)) {
		stop = scan_blocks(s, 0, s->ps.len, hs, n, &cap);
		/* the index block (its values handles of the blocks
		 * before it) and the empty metaindex block before it */
		if (*n > 0 && is_index_of(s, (*hs)[*n - 1], *hs, *n - 1))
			(*n)--;
		if (*n > 0 && is_empty_block(s, (*hs)[*n - 1]))
			(*n)--;
		note(s, "the index block could not be read: %zu data blocks "
		     "found by their checksums%s", *n,
		     stop + CKPT_TABLE_FOOTER_LEN < s->ps.len
			     ? ", up to one whose checksum fails"
			     : "");
		return 0;
	}
	/* in order, none overlapping the one before; the bytes no handle
	 * covers searched */
	qsort(ix, nix, sizeof(*ix), handle_cmp);
	for (size_t i = 0; i <= nix; i++) {
		uint64_t next = i < nix ? ix[i].off : end;
		size_t before = *n;

		if (i < nix && ix[i].off < pos)
			continue;	/* (overlaps the one before) */
		if (next > pos) {
			stop = scan_blocks(s, pos, next, hs, n, &cap);
			nscan += *n - before;
			if (stop < next)
				note(s, "bytes %" PRIu64 " to %" PRIu64
				     " of the index file lost (no block whose "
				     "checksum holds begins there)",
				     stop, next);
		}
		if (i == nix || !push_handle(hs, n, &cap, ix[i]))
			break;
		pos = ix[i].off + ix[i].size + CKPT_BLOCK_TRAILER_LEN;
	}
	if (nscan > 0)
		note(s, "%zu data blocks the index block does not name found "
		     "by their checksums", nscan);
	free(ix);
	return 0;
}

/* A pair found, as sorted: its key and value in place, and the order it
 * was found in. */
struct sorted {
	struct ckpt_kv kv;
	size_t seq;
};

/* qsort() order of struct sorted: by key, then as found. */
static int
sorted_cmp(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;
	int c = ckpt_key_cmp(x->kv.key.data, x->kv.key.len, y->kv.key.data,
			     y->kv.key.len);

	return c != 0 ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

int
ckpt_table_salvage(const uint8_t *buf, size_t len, const char *name,
		   struct ckpt_table **out, struct ckpt_buf *report,
		   struct ckpt_err *err)
{
	struct salvage s = { 0 };
	struct handle *hs = NULL;
	struct ckpt_table *t = NULL;
	struct sorted *sorted = NULL;
	struct found *f;
	size_t nh = 0, n = 0, i;
	int rc = 0;

	*out = NULL;
	s.ps = (struct parser){ buf, len, len, name, &s.scratch };
	s.report = report;
	s.budget = KEY_EXPANSION * (uint64_t)len + KEY_SLACK;
	if ((rc = data_handles(&s, &hs, &nh)) < 0)
		goto fail;
	for (i = 0; i < nh && rc == 0 && !s.spent; i++)
		rc = salvage_block(&s, hs[i]);
	if (s.spent)
		note(&s, "keys past %" PRIu64 " bytes: the blocks from offset "
		     "%" PRIu64 " on not read",
		     KEY_EXPANSION * (uint64_t)len + KEY_SLACK, hs[i - 1].off);
	free(hs);
	if (rc < 0)
		goto fail;
	/* sorted by key, each key once (the arena is complete: pointers
	 * into it hold from now on) */
	f = (struct found *)s.found.data;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (sorted = calloc(s.nfound ? s.nfound : 1, sizeof(*sorted))) ==
		    NULL ||
	    (t->kv = calloc(s.nfound ? s.nfound : 1, sizeof(*t->kv))) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < s.nfound; i++) {
		sorted[i].kv.key.data = s.arena.data + f[i].koff;
		sorted[i].kv.key.len = f[i].klen;
		sorted[i].kv.value.data = f[i].val_in_arena
						  ? s.arena.data + f[i].voff
						  : buf + f[i].voff;
		sorted[i].kv.value.len = f[i].vlen;
		sorted[i].seq = f[i].seq;
	}
	if (s.nfound > 1)
		qsort(sorted, s.nfound, sizeof(*sorted), sorted_cmp);
	for (i = 0; i < s.nfound; i++) {
		if (n > 0 &&
		    ckpt_key_cmp(t->kv[n - 1].key.data, t->kv[n - 1].key.len,
				 sorted[i].kv.key.data,
				 sorted[i].kv.key.len) == 0)
			continue;
		t->kv[n++] = sorted[i].kv;
	}
	free(sorted);
	sorted = NULL;
	if (n < s.nfound)
		note(&s, "%zu keys found twice: the first kept",
		     s.nfound - n);
	if (s.nmore > 0) {
		char more[64];

		snprintf(more, sizeof(more), "; %zu more such notes",
			 s.nmore);
		(void)ckpt_buf_put(report, more, strlen(more));
	}
	t->n = n;
	t->nblocks = nh;
	t->nsnappy = s.nsnappy;
	t->arena = s.arena.data;
	t->arena_len = s.arena.len;
	s.arena.data = NULL;
	ckpt_buf_free(&s.found);
	ckpt_buf_free(&s.prev);
	*out = t;
	return 0;
fail:
	if (t != NULL)
		free(t->kv);
	free(t);
	free(sorted);
	ckpt_buf_free(&s.arena);
	ckpt_buf_free(&s.found);
	ckpt_buf_free(&s.prev);
	return ckpt_fail(err, rc, "%s: out of memory", name);
}
