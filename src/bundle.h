/* bundle.h -- a TensorBundle (V2) checkpoint: PREFIX.index plus
 * PREFIX.data-NNNNN-of-MMMMM shards.
 *
 * ckpt_bundle_open() reads only the index (into memory), validates every
 * entry against the header and the shard sizes, and keeps one read-only fd
 * per referenced shard.  Tensor bytes are read on demand with pread(), so
 * memory is proportional to the index.  An opened bundle is immutable and
 * may be used from several threads at once. */
#ifndef CKPT_BUNDLE_H
#define CKPT_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "table.h"
#include "tensor.h"

struct ckpt_objgraph;

struct ckpt_header {
	int32_t num_shards;
	int32_t endianness;	/* 0 little, 1 big (tensor data only) */
	int32_t producer;
	int32_t min_consumer;
	size_t nbad_consumers;
	int32_t *bad_consumers;	/* owned */
};

/* One stored part of a partitioned tensor. */
struct ckpt_part {
	const struct ckpt_entry *entry;	/* borrowed: the slice entry */
	const struct ckpt_extent *ext;	/* rank extents, lengths resolved */
	/* How the part maps into the full tensor: NRUNS runs of RUN_BYTES
	 * each, contiguous in both (ckpt_part_run_offset()); private: */
	int run_dim;		/* dims run_dim.. are contiguous in both */
	uint64_t run_bytes;	/* bytes of one contiguous run */
	uint64_t nruns;
};

/* Fields ordered by size (no padding), counts and codes no wider than
 * their checked range: a bundle holds one per key (72 bytes). */
struct ckpt_entry {
	const char *key;	/* NUL-terminated copy; may hold NULs: key_len */
	const int64_t *dims;	/* rank sizes, outermost first */
	uint64_t offset;	/* in the shard file */
	uint64_t size;		/* stored bytes */
	/* Partitioned tensors: the full entry lists its parts (nparts > 0)
	 * and has no bytes of its own; size is then the full tensor's size.
	 * The slice entries are hidden (is_part) and skipped by listings. */
	struct ckpt_part *parts;
	/* Stored slice specs of a partitioned tensor (nparts of them, each
	 * rank extents, length -1 = whole dimension), as needed to write the
	 * entry again. */
	const struct ckpt_extent *slices;
	uint32_t key_len;	/* an SSTable key's length is a varint32 */
	uint32_t nparts;
	int32_t shard_id;
	uint32_t crc32c;	/* masked, as stored */
	uint32_t shard_slot;	/* private: index of the open shard */
	/* One ckpt_dtype_storable() accepts, or CKPT_DT_INVALID for an
	 * entry that is damaged (ckpt_bundle_entry_bad()). */
	int16_t dtype;
	uint8_t rank;		/* <= CKPT_MAX_RANK */
	bool is_part;
};

struct ckpt_bundle {
	char *prefix;		/* owned; absolute */
	char *index_path;	/* owned */
	struct ckpt_header hdr;
	struct ckpt_entry *entries;	/* owned; key order; header excluded */
	size_t n;
	size_t nvisible;	/* entries that are not slice parts */
	bool tf2;		/* has _CHECKPOINTABLE_OBJECT_GRAPH */
	enum ckpt_compression index_compression;	/* snappy if any block was */
	size_t index_blocks;		/* data blocks of the index (read) */
	size_t index_snappy_blocks;	/* of them, snappy-compressed */
	struct timespec index_mtime;
	uint64_t index_size;
	/* Tensors whose bytes lie past the end of their data file when it
	 * was opened (a file cut short): they are kept, and reading them
	 * fails with -EIO (ckpt_bundle_verify() names the file); WARNING
	 * (owned) says how many and names the first and its file, or is
	 * NULL. */
	size_t nshort;
	/* Entries that cannot be used (an entry that does not decode, a
	 * dtype that cannot be stored, a shape its size disagrees with, a
	 * shard out of range, slices that do not fit): they are kept under
	 * their keys with dtype CKPT_DT_INVALID, rank 0 and no bytes, so
	 * that the rest of the checkpoint stays usable; reading or
	 * verifying one fails and ckpt_bundle_entry_bad() says why.
	 * WARNING names the first of them too. */
	size_t nbad;
	char *warning;
	/* Tensors of no bytes (not slice parts): no READ ever comes for
	 * one in a mount, so their check is made elsewhere. */
	size_t nempty;
	/* Opened from what could be salvaged of a damaged index
	 * (CKPT_OPEN_SALVAGE): WARNING says what was lost. */
	bool salvaged;
	struct ckpt_bundle_priv *priv;	/* owned */
};

/* Find the checkpoint prefix PATH names: a prefix ("dir/model.ckpt-10"),
 * the path of its .index, or a directory holding a "checkpoint" state file
 * (its model_checkpoint_path; relative paths are taken relative to that
 * directory).  *PREFIX is malloc()ed and absolute.  Return 0, -ENOENT,
 * -EBADMSG (unreadable state file), with a message in ERR. */
int ckpt_resolve_prefix(const char *path, char **prefix,
			struct ckpt_err *err);

/* Parse the text-format CheckpointState in BUF; *PATH (malloc()ed) is
 * model_checkpoint_path with C escapes undone.  Return 0, -EBADMSG,
 * -ENOENT (no model_checkpoint_path), -ENOMEM. */
int ckpt_state_parse(const char *buf, size_t len, char **path,
		     struct ckpt_err *err);

/* Append to OUT the text-format CheckpointState naming PATHS[N - 1] the
 * newest and PATHS (N > 0, oldest first) all, each as given (relative
 * paths are relative to the state file's directory).  0, -ENOMEM,
 * -EINVAL. */
int ckpt_state_format(const char *const *paths, size_t n,
		      struct ckpt_buf *out);

/* Open the checkpoint at PATH (see ckpt_resolve_prefix()).  Return 0 or a
 * negative errno with a message naming the file and the problem. */
int ckpt_bundle_open(const char *path, struct ckpt_bundle **out,
		     struct ckpt_err *err);

/* ckpt_bundle_open() with FLAGS: CKPT_OPEN_SALVAGE opens an index that
 * does not parse (a checksum that fails, damaged framing, a damaged
 * footer) with what ckpt_table_salvage() reads of it, saying so and what
 * was lost in the bundle's WARNING (and setting SALVAGED); its header
 * entry must be among what is read.  An entry from a damaged block may be
 * wrong: reading its tensor checks it against its checksum. */
#define CKPT_OPEN_SALVAGE 1u
int ckpt_bundle_open_flags(const char *path, unsigned flags,
			   struct ckpt_bundle **out, struct ckpt_err *err);

/* Open a checkpoint whose index bytes are already in memory (tests and
 * fuzzers); shards are not opened, reads return -EIO.  BUF is copied. */
int ckpt_bundle_open_mem(const uint8_t *buf, size_t len, const char *name,
			 struct ckpt_bundle **out, struct ckpt_err *err);

void ckpt_bundle_close(struct ckpt_bundle *b);

/* Raise the soft limit on open files to the hard one: a bundle holds
 * every data file open, and a checkpoint of more than the soft limit
 * (often 1,024) needs it.  Call before opening one. */
void ckpt_raise_nofile(void);

/* Binary search of the N entries V, in strictly increasing key order (as
 * a bundle's are), for KEY; NULL if absent. */
const struct ckpt_entry *ckpt_entries_find(const struct ckpt_entry *v, size_t n,
					   const void *key, size_t klen);

/* The positions [*FIRST, *END) in the key order ORD of the N entries V
 * (ORD[i] the index in V of the I-th; NULL: V is in key order) of the
 * entries whose keys begin with PREFIX (PLEN bytes) and are longer, both
 * ends binary-searched (an empty range if PREFIX is empty).  A legacy
 * saveable of several tensors (a hash table's) keeps them so: its object
 * graph attribute's checkpoint_key is PREFIX, which names no tensor, and
 * the tensors are PREFIX-keys and PREFIX-values. */
void ckpt_entries_prefix_range(const struct ckpt_entry *v, const size_t *ord,
			       size_t n, const void *prefix, size_t plen,
			       size_t *first, size_t *end);

/* Exact-match lookup (any entry, slice parts included); NULL if absent. */
const struct ckpt_entry *ckpt_bundle_find(const struct ckpt_bundle *b,
					  const void *key, size_t klen);

/* Copy LEN bytes at offset OFF of E's bytes as a user sees them (the
 * stored bytes; a partitioned tensor assembled row-major) into BUF.  No
 * CRC check.  *GOT is set to the bytes copied (short only at the end of
 * the tensor).  Return 0, -EIO (short read, shard gone), -ESTALE (a data
 * file changed: ckpt_bundle_entry_stale()), -ENOTSUP. */
int ckpt_bundle_pread(const struct ckpt_bundle *b, const struct ckpt_entry *e,
		      void *buf, size_t len, uint64_t off, size_t *got);

/* Room for a key in a message (a longer one is cut, ending "..."). */
#define CKPT_SHOWN_MAX 192

/* KEY (LEN bytes, NULs too) as messages quote names from a checkpoint, in
 * BUF (CKPT_SHOWN_MAX bytes): a byte below 0x20, 0x7f, a backslash or a
 * quote as \xNN, so that the message's backslashes are all escapes.
 * Return BUF. */
const char *ckpt_key_shown(const void *key, size_t len, char *buf);

/* Where the bytes of bad entry E are, as its entry says (for a salvage:
 * they are unchecked, and the entry's damage may be in these fields, a
 * shard out of range for one): false if it does not say (it did not
 * decode, it is partitioned, no bytes).  SHARD NULL: whether it says. */
bool ckpt_bundle_bad_location(const struct ckpt_bundle *b,
			      const struct ckpt_entry *e, int32_t *shard,
			      uint64_t *offset, uint64_t *size, uint32_t *crc);

/* True if E is an entry the bundle could not use (B->nbad). */
static inline bool
ckpt_entry_is_bad(const struct ckpt_entry *e)
{
	return e->dtype == CKPT_DT_INVALID;
}

/* Why E could not be used: "INDEX: tensor 'KEY' has ..."; NULL if it is
 * good. */
const char *ckpt_bundle_entry_bad(const struct ckpt_bundle *b,
				  const struct ckpt_entry *e);

/* True if some bytes of E are past the end of its data file as it is now
 * (one fstat() per plain entry or part): B may have been opened with such
 * tensors (B->nshort), or the file cut or put back since.  Reading them
 * fails. */
bool ckpt_bundle_entry_short(const struct ckpt_bundle *b,
			     const struct ckpt_entry *e);

/* Why a data file of E could not be opened with B ("no such data file",
 * "not a regular file", strerror()), or NULL if they all were. */
const char *ckpt_bundle_entry_unopened(const struct ckpt_bundle *b,
				       const struct ckpt_entry *e);

/* A data file changed while B has it open: its size, modification or
 * change time moved (written in place, cut, put back, touched; TensorFlow
 * never does any of it: it writes a new file and renames it, which an open
 * file does not see).  What was checked of it may no longer hold, so
 * reads of its tensors fail with -ESTALE (ckpt_bundle_locate(),
 * ckpt_bundle_pread(), ckpt_bundle_verify()) until the caller forgets
 * what it checked and calls ckpt_bundle_rebase(). */

/* True if a data file of E (its shard; for a partitioned tensor, any of
 * B's) changed and was not rebased since (one fstat() per file). */
bool ckpt_bundle_entry_stale(const struct ckpt_bundle *b,
			     const struct ckpt_entry *e);

/* True if a data file of E was found changed (by a read, or by one of
 * the two calls above or below) at any time while B had it open; looks
 * at no file itself. */
bool ckpt_bundle_entry_changed(const struct ckpt_bundle *b,
			       const struct ckpt_entry *e);

/* Look at every data file (an fstat() each): true if one changed and was
 * not rebased since. */
bool ckpt_bundle_poll(const struct ckpt_bundle *b);

/* Take every data file found changed as it is now; return how many, the
 * first named in ERR (code -ESTALE) when there is one. */
size_t ckpt_bundle_rebase(const struct ckpt_bundle *b, struct ckpt_err *err);

/* A walk over the elements of part P of partitioned tensor E in the
 * part's own row-major order (the order of its stored elements). */
struct ckpt_part_walk {
	const struct ckpt_entry *e;
	const struct ckpt_part *p;
	uint64_t stride[CKPT_MAX_RANK];	/* elements per step of E's dims */
	uint64_t idx[CKPT_MAX_RANK];	/* the element's place in P */
};

/* Bytes of memory held by the maps of B's partitioned string tensors
 * (built at their first read, kept until ckpt_bundle_close()). */
size_t ckpt_bundle_map_bytes(const struct ckpt_bundle *b);

/* The byte offset in the whole of fixed-size tensor E (row-major) of
 * run R of part P (R below P->nruns, the runs in the part's order). */
uint64_t ckpt_part_run_offset(const struct ckpt_entry *e,
			      const struct ckpt_part *p, uint64_t r);

/* Start walk W over part P of E at its first element. */
void ckpt_part_walk_init(struct ckpt_part_walk *w, const struct ckpt_entry *e,
			 const struct ckpt_part *p);

/* The index in the whole of E (row-major) of W's element, stepping W to
 * the next one.  Call it once per element of P. */
uint64_t ckpt_part_walk_next(struct ckpt_part_walk *w);

/* Where byte OFF of E lives, for zero-copy reads: *FD (borrowed), *FOFF
 * its offset in that file and *RUN the number of bytes from there that
 * are contiguous in both.  Return 0, -EIO when the shard no longer holds
 * those bytes (truncated since it was opened; checked with fstat(), so a
 * zero-copy reply is not silently short), -ESTALE when it changed
 * (ckpt_bundle_entry_stale()), or -ENOTSUP when E is assembled
 * from parts that are not whole rows (use ckpt_bundle_pread()). */
int ckpt_bundle_locate(const struct ckpt_bundle *b, const struct ckpt_entry *e,
		       uint64_t off, int *fd, uint64_t *foff, uint64_t *run);

/* Check E's stored CRC32C (of every part, for a partitioned tensor) and,
 * for strings, the length checksum, reading in bounded chunks.  Return 0,
 * -EBADMSG ("crc32c mismatch" naming the key), -EIO. */
int ckpt_bundle_verify(const struct ckpt_bundle *b, const struct ckpt_entry *e,
		       struct ckpt_err *err);

/* Read E whole and verify it.  *OUT is malloc()ed, *LEN bytes (e->size).
 * Return 0, -EBADMSG, -EIO, -ENOMEM. */
int ckpt_bundle_read(const struct ckpt_bundle *b, const struct ckpt_entry *e,
		     uint8_t **out, size_t *len, struct ckpt_err *err);

/* Read the serialized object graph of a TF2 checkpoint (verified read):
 * *BUF (owned, free() it) holds it, *LEN bytes from *GRAPH.  Return 0,
 * -ENOENT for a TF1 checkpoint, -EBADMSG (not a well-formed string
 * scalar), or ckpt_bundle_read()'s error. */
int ckpt_bundle_objgraph_bytes(const struct ckpt_bundle *b, uint8_t **buf,
			       const uint8_t **graph, size_t *len,
			       struct ckpt_err *err);

/* Parse the object graph of a TF2 checkpoint (verified read).  Return 0,
 * -ENOENT for a TF1 checkpoint, -EBADMSG. */
int ckpt_bundle_objgraph(const struct ckpt_bundle *b,
			 struct ckpt_objgraph **out, struct ckpt_err *err);

/* Validate a stored DT_VARIANT tensor of NELEMS elements (per element a
 * varint64 length, the bytes, and the 4-byte masked running checksum) and
 * compute its entry CRC (unmasked).  BIG_ENDIAN as in the bundle header:
 * the 8-byte lengths fed to the checksum and the checksums themselves are
 * then big-endian, as TensorFlow writes them from the host's integers.
 * Return 0 or -EBADMSG. */
int ckpt_variant_check(const uint8_t *buf, size_t len, uint64_t nelems,
		       bool big_endian, uint32_t *crc);

/* Shard file name "<prefix>.data-%05d-of-%05d" (malloc()ed), NULL on
 * -ENOMEM. */
char *ckpt_shard_path(const char *prefix, int32_t shard, int32_t nshards);

#endif
