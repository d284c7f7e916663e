/* fuse_ops.h -- the libfuse low-level operations of the ckptfs daemon.
 *
 * This header is the one place that selects the libfuse API version; the
 * daemon's other files include it instead of <fuse_lowlevel.h>. */
#ifndef CKPTFS_FUSE_OPS_H
#define CKPTFS_FUSE_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <stdatomic.h>
#include <stdbool.h>

#include "bundle.h"
#include "tree.h"

/* Entry and attribute timeout (seconds) for the immutable tree. */
#define CKPTFS_TIMEOUT 86400.0

/* The state every request handler sees (fuse_req_userdata()). */
struct ckptfs {
	struct ckpt_bundle *bundle;	/* borrowed: main() owns it */
	struct ckptfs_tree *tree;	/* borrowed: main() owns it */
	atomic_bool use_syslog;		/* set once daemonized */
	atomic_bool no_opendir;		/* kernel handles opendir (init) */
};

/* The operations table for fuse_session_new(). */
extern const struct fuse_lowlevel_ops ckptfs_ops;

/* Log one line: to stderr (prefixed "ckptfs: ") in the foreground, to
 * syslog once FS->use_syslog is set. */
void ckptfs_log(struct ckptfs *fs, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
