/* fuse_ops.h -- the libfuse low-level operations of the ckptfs daemon.
 *
 * This header is the one place that selects the libfuse API version; the
 * daemon's other files include it instead of <fuse_lowlevel.h>. */
#ifndef CKPTFS_FUSE_OPS_H
#define CKPTFS_FUSE_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "bundle.h"
#include "overlay.h"
#include "tree.h"

/* Entry and attribute timeout (seconds) for names and nodes that cannot
 * change behind the kernel's back (all of them on a read-only mount, the
 * unchanged ones otherwise: changes made through the other view are
 * pushed to the kernel with notifications). */
#define CKPTFS_TIMEOUT 86400.0
/* ... and for names and attributes made or changed in this mount. */
#define CKPTFS_TIMEOUT_CHANGED 1.0

struct ckptfs_notifier;

/* The state every request handler sees (fuse_req_userdata()). */
struct ckptfs {
	struct ckpt_bundle *bundle;	/* borrowed: main() owns it */
	struct ckptfs_tree *tree;	/* borrowed: main() owns it */
	atomic_bool use_syslog;		/* set once daemonized */
	atomic_bool no_opendir;		/* kernel handles opendir (init) */
	atomic_bool no_open;		/* kernel handles open: -o ro (init) */
	bool writable;			/* not -o ro: tree->ov is set */
	unsigned max_read;		/* -o max_read=N, else 0 */
	unsigned readahead;		/* KiB asked for, 0: the kernel's */
	bool readahead_set;		/* -o readahead= given */
	/* The namespace lock: shared for lookups, listings, reads and
	 * data writes; exclusive for every change of names or metadata.
	 * Never held across a fuse_reply_*(). */
	pthread_rwlock_t ns;
	struct fuse_session *se;	/* borrowed; for notifications */
	struct ckptfs_notifier *notifier;	/* owned */
};

/* Start the thread that sends cache invalidations to the kernel (after
 * the session is mounted); stop it before the session is destroyed.
 * Return 0 or a negative errno. */
int ckptfs_notifier_start(struct ckptfs *fs);
void ckptfs_notifier_stop(struct ckptfs *fs);

/* True if no invalidation is queued or being sent.  A notification of a
 * name waits in the kernel for its directory's lock, which a process may
 * hold while it waits for the answer to a request of its own: the
 * daemon must go on answering until the notifier is idle. */
bool ckptfs_notifier_idle(struct ckptfs *fs);

/* Block in the calling thread the signals that end the session (SIGINT,
 * SIGTERM, SIGHUP, SIGPIPE), saving the old mask in *OLD.  Threads made
 * meanwhile inherit the mask: libfuse's handler only marks the session
 * ended, which the thread of its loop acts on and one of ours would not.
 * Restore with pthread_sigmask(SIG_SETMASK, OLD, NULL). */
void ckptfs_block_stop_signals(sigset_t *old);

/* The operations table for fuse_session_new(). */
extern const struct fuse_lowlevel_ops ckptfs_ops;

/* Log one line: to stderr (prefixed "ckptfs: ") in the foreground (or
 * with FS NULL), to syslog once FS->use_syslog is set; made safe to print
 * first (ckpt_text_safe()). */
void ckptfs_log(struct ckptfs *fs, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same for a line already made. */
void ckptfs_log_text(struct ckptfs *fs, int prio, const char *text);

#endif
