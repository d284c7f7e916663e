/* bundle_writer.h -- write a new TensorBundle (V2) checkpoint the way
 * TensorFlow's BundleWriter does.
 *
 * Tensor bytes go to PREFIX.data-NNNNN-of-MMMMM (one shard unless
 * opts.num_shards says more) in the order they are added (copies may
 * leave holes: ckpt_writer_add_copy()); entries are kept in memory and
 * written to PREFIX.index, sorted, by ckpt_writer_finish().  Both files
 * are first written complete under temporary names
 * (<name>.tempstate<random>) and fsync()ed; then an existing
 * PREFIX.index is moved aside, the data renamed into place (old data
 * moved aside) and the index renamed last; the old files go once it is
 * in place, and are put back if a rename before fails.  A checkpoint
 * exists iff PREFIX.index does, so a reader never sees a half-written
 * checkpoint, nor an old index over new data, even after a crash.  A
 * writer freed before finishing removes its temporary files; a new
 * writer removes those a crashed one left, and a finished one the data
 * shards of PREFIX with another shard count. */
#ifndef CKPT_BUNDLE_WRITER_H
#define CKPT_BUNDLE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "err.h"
#include "table.h"
#include "tensor.h"

struct ckpt_writer_opts {
	enum ckpt_compression compression;	/* of index data blocks */
	int32_t endianness;	/* header field; the bytes are taken as given */
	int32_t producer;	/* header version; default 1 */
	int32_t min_consumer;
	int32_t num_shards;	/* data files to write; 0 means 1 */
	/* The KEY and DIMS given to every add stay valid and unchanged
	 * until ckpt_writer_free(): the writer keeps the pointers instead
	 * of copies (writing 100,000 tensors: about 11 MB less). */
	bool borrow;
	/* The directory PREFIX is in, opened by the caller (kept open until
	 * ckpt_writer_free()): the files are made there by their names
	 * alone.  NULL: opened here, by PREFIX's path. */
	const int *dirfd;
	/* The checkpoint copies are made from (NULL: none): if one of its
	 * data files changes before the data is complete
	 * (ckpt_bundle_poll()), finishing fails with -ESTALE and writes
	 * nothing, as a copy may hold bytes that are not those checked. */
	const struct ckpt_bundle *watch;
};

struct ckpt_writer;

/* Start a checkpoint at PREFIX.  OPTS may be NULL (TensorFlow's defaults).
 * Return 0 or a negative errno with a message. */
int ckpt_writer_new(const char *prefix, const struct ckpt_writer_opts *opts,
		    struct ckpt_writer **out, struct ckpt_err *err);

/* Open the directory PATH is in (the current one for a bare name), as
 * ckpt_writer_opts.dirfd wants it.  Return the fd or a negative errno. */
int ckpt_open_dir_of(const char *path);

/* Add a tensor whose stored bytes are DATA[0..SIZE).  For fixed-size
 * dtypes SIZE must match the shape (-EINVAL); STRING data must be in
 * TensorFlow's layout and is validated.  The CRC is computed here. */
int ckpt_writer_add(struct ckpt_writer *w, const void *key, size_t klen,
		    int dtype, const int64_t *dims, int rank, const void *data,
		    size_t size, struct ckpt_err *err);

/* Add a tensor whose SIZE stored bytes are at SRC_OFF in file SRC_FD,
 * copied with copy_file_range() (no user-space buffer where the kernel
 * allows).  Copies of tensors that lie back to back in SRC_FD are
 * gathered into one run, moved by the next add to the same shard that
 * does not continue it or by ckpt_writer_finish(): keep SRC_FD open
 * until ckpt_writer_finish().  Where the output's filesystem can share
 * SRC_FD's blocks (FICLONERANGE, probed again whenever the source's
 * filesystem is not the last one probed), a run of 4 whole blocks or
 * more is placed at an offset equal to its source's modulo the block
 * size (after a hole of less than a block if need be) and its whole
 * blocks are shared instead of copied.  Adding tensors in their source's
 * data order shares the most.  CRC is the masked CRC to record: pass the
 * source's, already verified.  Sizes are checked as for
 * ckpt_writer_add(). */
int ckpt_writer_add_copy(struct ckpt_writer *w, const void *key, size_t klen,
			 int dtype, const int64_t *dims, int rank, int src_fd,
			 uint64_t src_off, uint64_t size, uint32_t crc,
			 struct ckpt_err *err);

/* Add a tensor whose SIZE stored bytes are at SRC_OFF in file SRC_FD (a
 * spool file), checksummed as they are copied.  Sizes and string layouts
 * are checked as for ckpt_writer_add(). */
int ckpt_writer_add_fd(struct ckpt_writer *w, const void *key, size_t klen,
		       int dtype, const int64_t *dims, int rank, int src_fd,
		       uint64_t src_off, uint64_t size, struct ckpt_err *err);

/* The same, the bytes in the byte order other than the output's when
 * SWAP: each value's bytes reversed as they are copied (each half's, for
 * complex dtypes); -EINVAL for strings and variants (whose layouts are
 * made again in the other order by their caller). */
int ckpt_writer_add_fd_order(struct ckpt_writer *w, const void *key,
			     size_t klen, int dtype, const int64_t *dims,
			     int rank, int src_fd, uint64_t src_off,
			     uint64_t size, bool swap, struct ckpt_err *err);

/* The same for a tensor of a fixed-size DTYPE whose bytes are runs of RUN
 * bytes each in SRC_FD, run R at RUN_OFF(ARG, R): a part of a partitioned
 * tensor, gathered from a file of the whole (RUN divides the size its
 * shape gives and is whole values, else -EINVAL). */
int ckpt_writer_add_fd_gather(struct ckpt_writer *w, const void *key,
			      size_t klen, int dtype, const int64_t *dims,
			      int rank, int src_fd, uint64_t run,
			      uint64_t (*run_off)(const void *arg, uint64_t r),
			      const void *arg, bool swap,
			      struct ckpt_err *err);

/* Send the tensors added from now on to data shard SHARD (0-based, below
 * opts.num_shards; the default is 0).  Return 0 or -EINVAL. */
int ckpt_writer_select_shard(struct ckpt_writer *w, int32_t shard);

/* Add the full entry of a partitioned tensor: no bytes, NSLICES slices of
 * RANK extents each (length -1 = whole dimension).  The parts themselves
 * are added with ckpt_writer_add*() under their slice keys. */
int ckpt_writer_add_partitioned(struct ckpt_writer *w, const void *key,
				size_t klen, int dtype, const int64_t *dims,
				int rank, const struct ckpt_extent *slices,
				size_t nslices, struct ckpt_err *err);

/* Write the index and move both files into place.  Return 0, -EEXIST (a
 * duplicate key, named in ERR), -EIO/-ENOSPC/... from the system. */
int ckpt_writer_finish(struct ckpt_writer *w, struct ckpt_err *err);

/* Free W; if it was not finished, its temporary files are removed. */
void ckpt_writer_free(struct ckpt_writer *w);

/* Write the state file "checkpoint" (ckpt_state_format() of PATHS) in
 * directory DIRFD (DIR names it in messages) if it has none: complete
 * under a temporary name, synced, then linked, so that it is never
 * half-written nor put over one made meanwhile (temporary files a killed
 * writer left are removed first).  Return 0 when written,
 * 1 when one is there already, or a negative errno with a message. */
int ckpt_state_write_new(int dirfd, const char *dir, const char *const *paths,
			 size_t n, struct ckpt_err *err);

/* Test-only fault injection: raise SIGKILL when the environment variable
 * CKPT_TEST_CRASH equals POINT (the crash-safety tests stop a write-out
 * at an exact step with it).  Points: "mid-data", "after-data",
 * "after-index-unlink", "before-index-rename", "after-index-rename" here;
 * "before-spool-remove", "after-journal-unlink" in the overlay. */
void ckpt_test_crash(const char *point);

/* Test-only fault injection: -EIO when the environment variable
 * CKPT_TEST_FAIL equals POINT, else 0.  Points: "spool-remove" in the
 * overlay (removing a spool after a complete write-out). */
int ckpt_test_fail(const char *point);

/* Test-only: when the environment variable CKPT_TEST_CLONE is "copy",
 * every filesystem seems to share blocks (ckpt_writer_add_copy()), and
 * sharing them copies them, refusing ranges that are not whole 4 KiB
 * blocks as the kernel does: the placement is checked where no
 * filesystem can share. */

/* Write B again, unchanged, at PREFIX: same header and shard count, same
 * compression of the index, each shard's tensors in their original data
 * order, bytes copied with copy_file_range().  For a checkpoint written
 * by TensorFlow the result is byte-identical.  The bytes are not read
 * (checked) here: a damaged tensor is copied with its stored CRC, so the
 * copy is found damaged as the source is (ckpt_bundle_verify()).  The
 * tensors must lie within their data files (!ckpt_bundle_entry_short()).
 * DIRFD: as ckpt_writer_opts.dirfd. */
int ckpt_bundle_rewrite(const struct ckpt_bundle *b, const char *prefix,
			const int *dirfd, struct ckpt_err *err);

/* pwrite(2) all LEN bytes of BUF at OFF of FD (again after a short write
 * or EINTR).  Return 0 or a negative errno. */
int ckpt_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/* Copy LEN bytes of file SRC at SOFF to file DST at DOFF (positional; the
 * files' offsets do not move): in the kernel (copy_file_range(2)) where it
 * can, else through a buffer.  Return 0, or a negative errno: -EIO if SRC
 * ends before. */
int ckpt_copy_range(int src, uint64_t soff, int dst, uint64_t doff,
		    uint64_t len);

/* True if a writer of the checkpoint whose prefix ends in BASE may make
 * or remove NAME in the prefix's directory: BASE.index, a data file
 * BASE.data-NNNNN-of-MMMMM, their temporary files (and BASE's
 * .tempstateN), the state file 'checkpoint' and its temporary file. */
bool ckpt_writer_names(const char *name, const char *base);

#endif
