/* overlay.h -- changes to a mounted checkpoint: the namespace operations
 * of both views with their naming rules, a spool directory on disk for
 * changed tensor bytes, a journal of every change (replayed by the next
 * mount with the same spool), and the write-out of a new checkpoint.
 *
 * No libfuse types and no locks here: the caller serialises namespace
 * changes (ckptfs_ov_create/remove/rename/setxattr/truncate) against
 * every other use of the tree, and may run ckptfs_ov_write() and reads
 * concurrently with each other (copy-up is serialised inside). */
#ifndef CKPT_OVERLAY_H
#define CKPT_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>

#include "convert.h"
#include "err.h"
#include "tree.h"

#define CKPTFS_VARIABLE_SUFFIX "/.ATTRIBUTES/VARIABLE_VALUE"

/* A kernel cache entry to drop after a change: the name NAME in directory
 * PARENT, or (PARENT 0) the attributes of inode INO, and with DIR also
 * the cached listing of directory INO (its entries changed). */
struct ckptfs_inval {
	uint64_t parent;
	uint64_t ino;
	char *name;	/* owned */
	size_t len;
	bool dir;
	bool data;	/* INO's cached bytes too, not only its attributes */
};

struct ckptfs_invals {
	struct ckptfs_inval *v;	/* owned */
	size_t n, cap;
	/* The directories queued (whole-listing entries of V), as a set
	 * of inode numbers (open addressing, 0 empty; DCAP a power of two
	 * or 0), so that a rename of a scope of N tensors, which touches
	 * N directories, queues each once in O(1).  Owned. */
	uint64_t *dirs;
	size_t ndirs, dcap;
};

void ckptfs_invals_free(struct ckptfs_invals *iv);

/* Make T writable with its spool in SPOOL_DIR (absolute; created 0700 at
 * the first change, not here).  If SPOOL_DIR holds a journal, it is
 * replayed: every change it records is applied again (-ESTALE if it was
 * written for another checkpoint, with a message).  Return 0 or a
 * negative errno with a message. */
int ckptfs_overlay_open(struct ckptfs_tree *t, const char *spool_dir,
			struct ckpt_err *err);

/* Free T's overlay state (the spool stays on disk). */
void ckptfs_overlay_close(struct ckptfs_tree *t);

/* True once anything that changes the output was done (or replayed). */
bool ckptfs_overlay_changed(const struct ckptfs_tree *t);

/* True if T's spool was made and is no longer at its path (removed with
 * the directory it was in, or moved away): a mount with -o spool= of
 * that path cannot bring its changes back. */
bool ckptfs_overlay_spool_gone(const struct ckptfs_tree *t);

/* True if, when T's overlay was opened, another overlay (another mount)
 * held the same spool: every change fails with -EBUSY. */
bool ckptfs_overlay_busy(const struct ckptfs_tree *t);

/* Flush the journal and the spool directory to disk (fsync(2) in the
 * mount: what a replay needs to bring the changes back after a power
 * failure; the spool files are flushed by their own fsync).  Return 0 or
 * a negative errno. */
int ckptfs_overlay_sync(struct ckptfs_tree *t);

/* Bytes of an incomplete last journal record (an append cut by a crash)
 * that ckptfs_overlay_open() dropped. */
size_t ckptfs_overlay_dropped(const struct ckptfs_tree *t);

/* Number of changes replayed from the journal by ckptfs_overlay_open(). */
size_t ckptfs_overlay_replayed(const struct ckptfs_tree *t);

/* Free room where changes go (the spool's file system, or its parent's
 * while it does not exist yet) into SV; -EROFS without an overlay. */
int ckptfs_overlay_statvfs(const struct ckptfs_tree *t, struct statvfs *sv);

/* Create NAME (displayed) in DIR: a file (a new tensor, in both views as
 * the naming rules say) or, with IS_DIR, an empty directory of that view
 * only.  *OUT is the new node.  Return 0, -EEXIST (the name, or the
 * tensor's name in the other view, is taken), -EINVAL (not a displayed
 * name), -EPERM (outside the views), -ENOMEM, or a spool I/O error. */
int ckptfs_ov_create(struct ckptfs_tree *t, struct ckptfs_node *dir,
		     const char *name, size_t len, bool is_dir,
		     struct ckptfs_node **out, struct ckptfs_invals *iv);

/* Remove NAME from DIR: a tensor (IS_DIR false) leaves both views; a
 * directory must be empty.  Return 0, -ENOENT, -EISDIR, -ENOTDIR,
 * -ENOTEMPTY, -EPERM. */
int ckptfs_ov_remove(struct ckptfs_tree *t, struct ckptfs_node *dir,
		     const char *name, size_t len, bool is_dir,
		     struct ckptfs_invals *iv);

/* Rename DIR/NAME to NDIR/NNAME within one view (a directory moves every
 * tensor below it); the other view follows the naming rules.  FLAGS:
 * RENAME_NOREPLACE (1); RENAME_EXCHANGE is -EINVAL.  Return 0, -EXDEV
 * (across views), -EEXIST, -ENOENT, -ENOTEMPTY, -EISDIR, -ENOTDIR,
 * -EINVAL. */
int ckptfs_ov_rename(struct ckptfs_tree *t, struct ckptfs_node *dir,
		     const char *name, size_t len, struct ckptfs_node *ndir,
		     const char *nname, size_t nlen, unsigned int flags,
		     struct ckptfs_invals *iv);

/* Set extended attribute NAME of tensor N: user.ckpt.dtype and
 * user.ckpt.shape change the tensor's metadata (copying it up);
 * user.ckpt.key and user.ckpt.crc32c accept their current value, and any
 * value on a tensor written in this mount (so cp -a and rsync -X work),
 * else -EPERM.  Other names: -ENOTSUP.  Bad values: -EINVAL. */
int ckptfs_ov_setxattr(struct ckptfs_tree *t, struct ckptfs_node *n,
		       const char *name, const void *value, size_t size);

/* Remove extended attribute NAME of N: user.ckpt.dtype and
 * user.ckpt.shape become unknown (copying the tensor up), to be settled
 * at write-out as for a new file; user.ckpt.key and user.ckpt.crc32c are
 * removed as they are set: nothing changes, on a tensor written in this
 * mount (rsync -X removes what its source file lacks), else -EPERM.
 * -ENODATA for an attribute N does not have; -EPERM on the object graph.
 * Return 0 or a negative errno. */
int ckptfs_ov_removexattr(struct ckptfs_tree *t, struct ckptfs_node *n,
			  const char *name);

/* Set tensor N's size (copying up only the bytes kept).  Return 0 or a
 * negative errno. */
int ckptfs_ov_truncate(struct ckptfs_tree *t, struct ckptfs_node *n,
		       uint64_t size);

/* Write SIZE bytes at OFF of tensor N (copying it up first).  May run
 * concurrently with reads and other writes.  Return 0 or a negative
 * errno (-ENOSPC, -EIO, ...). */
int ckptfs_ov_write(struct ckptfs_tree *t, struct ckptfs_node *n,
		    const void *buf, size_t size, uint64_t off);

/* Write SIZE bytes of file SFD at SOFF at OFF of tensor N, as
 * ckptfs_ov_write() does from memory: in the kernel where it can
 * (copy_file_range(2); SFD may be N's own spool fd, for ranges that do not
 * overlap).  Return 0 or a negative errno (-EIO if SFD ends before). */
int ckptfs_ov_write_fd(struct ckptfs_tree *t, struct ckptfs_node *n, int sfd,
		       uint64_t soff, uint64_t size, uint64_t off);

/* Copy LEN bytes at OFF of tensor FROM to OFF of tensor N (a
 * copy_file_range) by sharing: N takes FROM's bytes in the source instead
 * of a copy of them, reads them from there, and is written out as an
 * unchanged tensor is (copied in the kernel, or sharing blocks), under its
 * own names, with its dtype and shape; a change of N copies it up.  Done
 * when N already shares FROM's bytes (a copy continued), or when OFF is
 * 0, LEN at least FROM's size, N a file made in this mount, in both
 * views, empty, and FROM an unchanged tensor of the source, still named,
 * not known damaged and with all its bytes in its data file.  *COUNT:
 * the bytes copied (0 past FROM's end).  Return 1 (done), 0 (it cannot
 * be: copy the bytes), or a negative errno (the journal could not take
 * it). */
int ckptfs_ov_share(struct ckptfs_tree *t, struct ckptfs_node *n,
		    struct ckptfs_node *from, uint64_t off, uint64_t len,
		    uint64_t *count);

/* Give tensor N, of FROM's size (a copy of all of FROM), FROM's dtype
 * (with its byte order) and shape, as setting them would, unless N has
 * a dtype, its own or taken from a tensor it replaced, that the bytes
 * fit (a whole number of elements; strings, a copy of strings): then N
 * keeps it, and its shape if the bytes fit that too, else takes FROM's
 * if that fits.  Return 0 (also when N does not qualify) or a negative
 * errno. */
int ckptfs_ov_take_meta(struct ckptfs_tree *t, struct ckptfs_node *n,
			struct ckptfs_node *from);

/* True if N's content is in a spool file (changed in this mount). */
bool ckptfs_ov_spooled(const struct ckptfs_node *n);

/* Times of spooled tensor N, and its blocks: its spool file's, into ST
 * (left as they are if it cannot be read). */
void ckptfs_ov_times(const struct ckptfs_tree *t, const struct ckptfs_node *n,
		     struct stat *st);

/* Set the access and modification times (utimensat(2) TS: UTIME_NOW,
 * UTIME_OMIT allowed) of tensor N if it is spooled; an unchanged tensor
 * keeps the checkpoint's.  Return 0 or a negative errno. */
int ckptfs_ov_set_times(struct ckptfs_tree *t, struct ckptfs_node *n,
			const struct timespec ts[2]);

/* Note a new open file handle of N, WRITE: open for writing (opens its
 * spool file, if any, so an open file stays readable after it is
 * removed). */
void ckptfs_ov_open(struct ckptfs_tree *t, struct ckptfs_node *n, bool write);

/* Note that an open file handle of N went away (WRITE as it was opened);
 * the spool fd is closed with the last one. */
void ckptfs_ov_release(struct ckptfs_tree *t, struct ckptfs_node *n,
		       bool write);

/* The mount ended by a signal, under the processes that had files open:
 * the write-out refuses a changed tensor still open for writing (its
 * writer was cut off; it may be incomplete), keeping the spool. */
void ckptfs_ov_cut_off(struct ckptfs_tree *t);

/* Have the write-out check every unchanged tensor it copies (-o verify):
 * one damaged makes it fail, naming it, as one found damaged by a read
 * does.  It reads all their bytes then. */
void ckptfs_ov_verify_all(struct ckptfs_tree *t);

/* The spool fd of spooled tensor N, for a caller holding an open handle
 * of N (valid until that handle is released; do not close it).  Return
 * the fd or a negative errno. */
int ckptfs_ov_fd(struct ckptfs_tree *t, struct ckptfs_node *n);

/* A new fd of spooled tensor N's spool file, owned by the caller (for
 * callers without an open handle).  Return the fd or a negative errno. */
int ckptfs_ov_fd_dup(struct ckptfs_tree *t, struct ckptfs_node *n);

/* One checkpoint to write. */
struct ckptfs_output {
	enum ckpt_format format;
	const char *prefix;
	/* The directory PREFIX is in, opened when mounting, so that the
	 * write-out goes there even if a directory above it was swapped
	 * for another since (see ckpt_writer_opts.dirfd).  NULL: opened
	 * by PREFIX's path at the write-out. */
	const int *dirfd;
};

/* FLAGS of ckptfs_ov_commit(). */
enum {
	CKPTFS_COMMIT_FORCE = 1,	/* write even if nothing changed */
	/* T is used for nothing but to be freed afterwards (the unmount's
	 * write-out): its namespace is freed (ckptfs_tree_shed()) once the
	 * list of tensors to write is made, before the object graph is
	 * built. */
	CKPTFS_COMMIT_LAST = 2,
};

/* Write T as the OUTPUTS (N of them) when it changed or FLAGS has
 * CKPTFS_COMMIT_FORCE; then remove the spool.  On failure the spool stays
 * and ERR says which tensor or file failed.  *WROTE says whether every
 * output was written: a failure with *WROTE set is the spool's removal
 * alone.  Return 0 or a negative errno. */
int ckptfs_ov_commit(struct ckptfs_tree *t, const struct ckptfs_output *outs,
		     size_t n, unsigned flags, bool *wrote,
		     struct ckpt_err *err);

/* Have ckptfs_ov_commit() call FN(ARG) once every output is complete,
 * before the spool is removed (a crash then leaves what FN made, and the
 * spool's mark of a finished write-out). */
void ckptfs_ov_on_written(struct ckptfs_tree *t, void (*fn)(void *arg),
			  void *arg);

/* Why the last ckptfs_ov_commit() refused tensors, all of them (its ERR
 * gives the first one's reason and some names): one "PATH: reason" line
 * each, ending with "N more, not listed" if they did not all fit in
 * 64 KiB.  Empty if it refused none; NULL without an overlay.  Valid
 * until the next commit. */
const struct ckpt_buf *ckptfs_ov_refusals(const struct ckptfs_tree *t);

/* The tensors the last ckptfs_ov_commit() wrote so that a model may not
 * restore them: with a dtype or shape other than the source's under
 * their name (TF1 source) or key (TF2), or (TF2) under a key whose
 * /by-object path ends in VARIABLE_VALUE without .ATTRIBUTES before it.
 * One "PATH is written as ..." line for each of the first 8, *COUNT how
 * many in all.  NULL without an overlay.  Valid until the next commit. */
const struct ckpt_buf *ckptfs_ov_notes(const struct ckptfs_tree *t,
				       size_t *count);

/* The by-name path (raw) a tensor at by-object raw KEY gets (naming
 * rules; TF1 mounts strip "<tf2_root>/" from a one-component key).
 * Appends to OUT. */
int ckptfs_name_from_key(const struct ckptfs_tree *t, const char *key,
			 size_t len, struct ckpt_buf *out);

#endif
