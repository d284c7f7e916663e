/* convert.h -- write a set of tensors as a new checkpoint in either naming:
 * TF1 (keys are variable names) or TF2 (keys are object paths, plus an
 * object graph that matches them).  This is what a mount writes back on
 * unmount; it knows nothing of FUSE or of how the set was edited.
 *
 * Unchanged tensors are copied from their source bundle with
 * copy_file_range(), in their source's data order, or their blocks shared
 * where the filesystem can (see ckpt_writer_add_copy()); their stored CRC
 * is carried over, so the cost is the index's, not the data's.  Changed
 * ones come from a file descriptor (a spool file) and are checksummed
 * while copied. */
#ifndef CKPT_CONVERT_H
#define CKPT_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "err.h"

enum ckpt_format {
	CKPT_FORMAT_TF1 = 1,
	CKPT_FORMAT_TF2 = 2,
};

struct ckpt_out_tensor {
	/* Each followed by a NUL byte that NAME_LEN and KEY_LEN do not
	 * count (the object graph is built from them as C strings). */
	const char *name;	/* TF1 variable name; may hold NULs */
	size_t name_len;
	const char *key;	/* TF2 bundle key "<path>/.ATTRIBUTES/<attr>" */
	size_t key_len;
	int dtype;
	int rank;
	const int64_t *dims;
	/* Where the bytes are: an entry of a bundle (unchanged, possibly
	 * partitioned), or else SIZE bytes at offset 0 of the file FILE
	 * names relative to directory DIRFD (opened only while this tensor
	 * is copied, so a write-out of many tensors needs one fd), or else
	 * of FD (FILE NULL). */
	const struct ckpt_bundle *bundle;
	const struct ckpt_entry *entry;
	int fd;
	uint64_t size;
	int dirfd;
	const char *file;
	/* From a file: a tensor of the dtype and shape of partitioned entry
	 * SLICING (of BUNDLE), to write in its slices again (TensorFlow
	 * restores a partitioned variable of strings, half, uint16, ... only
	 * from the slices it saved: ckpt_dtype_slices_copied()); NULL:
	 * written whole. */
	const struct ckpt_entry *slicing;
	/* From a file: its bytes are in the byte order other than the
	 * output's (opts.endianness), converted as they are copied: each
	 * element's (each half's, for complex dtypes); a string tensor is
	 * laid out again (its lengths' checksum is of their bytes in the
	 * order). */
	bool swap;
};

struct ckpt_convert_opts {
	enum ckpt_format format;
	/* TF2: the object graph tensor to store as it is (the source's
	 * unchanged entry, copied like any other, when the structure did not
	 * change); NULL builds one from the keys. */
	const struct ckpt_out_tensor *graph;
	/* TF2, GRAPH NULL: a TF2 checkpoint whose object graph is edited to
	 * be the one written (ckpt_objgraph_edit()), so that what it holds
	 * beyond the values is kept; save_counter is then added only if its
	 * root has one.  NULL, or a graph that cannot be read or edited:
	 * one is built anew. */
	const struct ckpt_bundle *graph_source;
	/* TF2: add save_counter (int64 1) when no tensor has its key, as
	 * tf.train.Checkpoint.restore(...).assert_consumed() expects. */
	bool add_save_counter;
	/* Header and index options of the output (byte-exact rewrites). */
	enum ckpt_compression compression;
	/* The header's byte order of the tensor data (1: big-endian).  The
	 * bytes of T are taken as they are, so it must be the source's; the
	 * strings and the counter made here follow it. */
	int32_t endianness;
	/* The directory PREFIX is in, opened by the caller: see
	 * ckpt_writer_opts.dirfd.  NULL: opened by PREFIX's path. */
	const int *dirfd;
};

#define CKPT_SAVE_COUNTER_KEY "save_counter/.ATTRIBUTES/VARIABLE_VALUE"
/* Its full_name, which is its TF1 name. */
#define CKPT_SAVE_COUNTER_NAME "save_counter"

/* Write the N tensors of T as a checkpoint at PREFIX in OPTS->format.
 * TF1 keys are the names, TF2 keys the keys (a tensor keyed
 * _CHECKPOINTABLE_OBJECT_GRAPH is not copied: the graph is OPTS->graph or
 * built, and stored last).  Files appear only when complete (see
 * bundle_writer.h).  Return 0 or a negative errno with a message naming
 * the tensor and the problem (-EINVAL for a size that disagrees with dtype
 * and shape, -EEXIST for two tensors with one key). */
int ckpt_convert_write(const struct ckpt_out_tensor *t, size_t n,
		       const char *prefix, const struct ckpt_convert_opts *opts,
		       struct ckpt_err *err);

/* The TF2 key tf.train.Checkpoint(ROOT={name: var}) gives variable NAME:
 * "<ROOT>/<escaped NAME>/.ATTRIBUTES/VARIABLE_VALUE", appended to OUT;
 * but for "save_counter" (the counter of a TF2 checkpoint made TF1) the
 * root's own, CKPT_SAVE_COUNTER_KEY. */
int ckpt_tf2_key_for_name(const char *root, const void *name, size_t len,
			  struct ckpt_buf *out);

#endif
