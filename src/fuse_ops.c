/* fuse_ops.c -- the low-level FUSE operations: one ckptfs_op_<op>() per
 * request type, which only replies, and a do_<op>() helper that does the
 * work and returns 0 or a negative errno.
 *
 * Rules: exactly one reply per request (FORGET has no handler: nodes
 * live as long as the tree, and libfuse answers it with nothing); no lock
 * is held across a fuse_reply_*() call.  One
 * rwlock (fs->ns) guards the namespace: lookups, listings, reads and data
 * writes share it, changes of names or metadata take it exclusively
 * (overlay.c does the work).  Kernel caches of names changed in the other
 * view are dropped by a notifier thread, never from a request's own path.
 * Reads are answered from the shard fds (or the spool file of a changed
 * tensor) through a fuse_bufvec so libfuse can splice them; the first
 * read of an unchanged tensor checks its CRC once per mount. */
#include "config.h"
#include "fuse_ops.h"

#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "coding.h"
#include "uring.h"

#define RDLOCK(fs) pthread_rwlock_rdlock(&(fs)->ns)
#define WRLOCK(fs) pthread_rwlock_wrlock(&(fs)->ns)
#define UNLOCK(fs) pthread_rwlock_unlock(&(fs)->ns)

/* setxattr(2) flags (<sys/xattr.h> values). */
#define XATTR_CREATE_FLAG 1
#define XATTR_REPLACE_FLAG 2

/* Most fd segments one read reply may use before falling back to a copy. */
#define MAX_SEGS 64

/* Log one line. */
void
ckptfs_log_text(struct ckptfs *fs, int prio, const char *text)
{
	struct ckpt_buf safe = { 0 };
	const char *msg;

	/* Messages quote names from the checkpoint: nothing in them may
	 * reach a terminal or a log as a control. */
	if (ckpt_text_safe(text, &safe) == 0 && ckpt_buf_put(&safe, "", 1) == 0)
		msg = (const char *)safe.data;
	else
		msg = "(a message not shown: out of memory)";
	if (fs != NULL && atomic_load(&fs->use_syslog))
		syslog(prio, "%s", msg);
	else
		fprintf(stderr, "ckptfs: %s\n", msg);
	ckpt_buf_free(&safe);
}

void
ckptfs_log(struct ckptfs *fs, int prio, const char *fmt, ...)
{
	char *line = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	ckptfs_log_text(fs, prio, line);
	free(line);
}

/* The node of INO, or NULL. */
static struct ckptfs_node *
node_of(struct ckptfs *fs, fuse_ino_t ino)
{
	return ckptfs_tree_node(fs->tree, (uint64_t)ino);
}

/* Cache timeout for N: long unless it was made or changed in this
 * mount; then short, not zero.  Every change that renames, removes or
 * re-links a name tells the kernel (notify()) whatever the timeout, so
 * the short one only bounds what a missed case could show; zero made
 * cp -a into the mount resolve every new path component again for each
 * of its dozen system calls per file (73 requests per tensor). */
static double
timeout_of(const struct ckptfs *fs, const struct ckptfs_node *n)
{
	if (fs->writable && (n->ino > fs->tree->base_inodes ||
			     (n->kind != CKPTFS_DIR && n->written)))
		return CKPTFS_TIMEOUT_CHANGED;
	return CKPTFS_TIMEOUT;
}

/* Fill E, the reply to a lookup, create or readdirplus, for N.  Every
 * reply naming a node must give the same generation: the kernel takes a
 * node it knows under another one for a reused number and fails every
 * open file of it with EIO. */
static void
fill_entry(struct ckptfs *fs, struct ckptfs_node *n,
	   struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = (fuse_ino_t)n->ino;
	e->generation = 1;
	e->attr_timeout = timeout_of(fs, n);
	e->entry_timeout = e->attr_timeout;
	ckptfs_node_stat(fs->tree, n, &e->attr);
}

/* Answer REQ with errno ERR (0: success).  ENOSYS from the file system
 * the spool is on (a FUSE one without mkdir, say) would tell the kernel
 * that this mount lacks the operation for as long as it is mounted (it
 * then stops sending setxattr, for one): EIO instead.  do_opendir() and
 * do_open() mean it when they say it, and answer it themselves. */
static void
reply_err(fuse_req_t req, int err)
{
	fuse_reply_err(req, err == ENOSYS ? EIO : err);
}

/* --- notifications ---------------------------------------------------------- */

struct ckptfs_notifier {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ckptfs_invals q;	/* protected by mu */
	bool stop;		/* protected by mu */
	bool sending;		/* a batch taken off Q is being sent (mu) */
};

/* Send queued invalidations until stopped. */
static void *
notifier_main(void *arg)
{
	struct ckptfs *fs = arg;
	struct ckptfs_notifier *nt = fs->notifier;
	/* Test hook: each batch that late, as a busy machine may send it. */
	const char *late = getenv("CKPTFS_TEST_NOTIFY_LATE_MS");
	long late_ms = late != NULL ? atol(late) : 0;

	pthread_mutex_lock(&nt->mu);
	for (;;) {
		struct ckptfs_invals batch;
		bool big;

		while (nt->q.n == 0 && !nt->stop)
			pthread_cond_wait(&nt->cv, &nt->mu);
		if (nt->q.n == 0 && nt->stop)
			break;
		batch = nt->q;
		big = batch.n >= 4096;
		memset(&nt->q, 0, sizeof(nt->q));
		nt->sending = true;
		pthread_mutex_unlock(&nt->mu);
		if (late_ms > 0)
			nanosleep(&(struct timespec){ late_ms / 1000,
						      late_ms % 1000 * 1000000 },
				  NULL);
		for (size_t i = 0; i < batch.n; i++) {
			struct ckptfs_inval *v = &batch.v[i];

			if (v->parent != 0)
				fuse_lowlevel_notify_inval_entry(
					fs->se, (fuse_ino_t)v->parent,
					v->name, v->len);
			else if (v->ino != 0)
				fuse_lowlevel_notify_inval_inode(
					fs->se, (fuse_ino_t)v->ino,
					v->data ? 0 : -1, 0);
		}
		ckptfs_invals_free(&batch);
#ifdef __GLIBC__
		/* After a change of thousands of names (a scope renamed), hand
		 * the scratch of the request back: glibc keeps it otherwise,
		 * one heap per worker thread, and the RSS only ever grows. */
		if (big)
			malloc_trim(0);
#endif
		pthread_mutex_lock(&nt->mu);
		nt->sending = false;
	}
	pthread_mutex_unlock(&nt->mu);
	return NULL;
}

bool
ckptfs_notifier_idle(struct ckptfs *fs)
{
	struct ckptfs_notifier *nt = fs->notifier;
	bool idle;

	if (nt == NULL)
		return true;
	pthread_mutex_lock(&nt->mu);
	idle = nt->q.n == 0 && !nt->sending;
	pthread_mutex_unlock(&nt->mu);
	return idle;
}

void
ckptfs_block_stop_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

int
ckptfs_notifier_start(struct ckptfs *fs)
{
	struct ckptfs_notifier *nt = calloc(1, sizeof(*nt));
	sigset_t old;
	int rc;

	if (nt == NULL)
		return -ENOMEM;
	pthread_mutex_init(&nt->mu, NULL);
	pthread_cond_init(&nt->cv, NULL);
	fs->notifier = nt;
	ckptfs_block_stop_signals(&old);
	rc = pthread_create(&nt->thread, NULL, notifier_main, fs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		fs->notifier = NULL;
		pthread_mutex_destroy(&nt->mu);
		pthread_cond_destroy(&nt->cv);
		free(nt);
		return -EAGAIN;
	}
	return 0;
}

void
ckptfs_notifier_stop(struct ckptfs *fs)
{
	struct ckptfs_notifier *nt = fs->notifier;

	if (nt == NULL)
		return;
	pthread_mutex_lock(&nt->mu);
	nt->stop = true;
	pthread_cond_signal(&nt->cv);
	pthread_mutex_unlock(&nt->mu);
	pthread_join(nt->thread, NULL);
	ckptfs_invals_free(&nt->q);
	pthread_mutex_destroy(&nt->mu);
	pthread_cond_destroy(&nt->cv);
	free(nt);
	fs->notifier = NULL;
}

/* Hand IV's invalidations to the notifier (IV is emptied). */
static void
notify(struct ckptfs *fs, struct ckptfs_invals *iv)
{
	struct ckptfs_notifier *nt = fs->notifier;

	/* Listings first and synchronously: the kernel caches them
	 * (opendir), so a changed directory must be dropped before the
	 * change is acknowledged.  Dropping an inode's pages takes no
	 * directory lock, so this cannot deadlock with the request. */
	for (size_t i = 0; i < iv->n; i++)
		if (iv->v[i].dir && iv->v[i].parent == 0 && fs->se != NULL)
			fuse_lowlevel_notify_inval_inode(
				fs->se, (fuse_ino_t)iv->v[i].ino, 0, 0);
	if (nt == NULL || iv->n == 0) {
		ckptfs_invals_free(iv);
		return;
	}
	pthread_mutex_lock(&nt->mu);
	for (size_t i = 0; i < iv->n; i++) {
		if (iv->v[i].dir)
			continue;	/* done above */
		if (nt->q.n == nt->q.cap) {
			size_t cap = nt->q.cap ? 2 * nt->q.cap : 16;
			struct ckptfs_inval *v =
				reallocarray(nt->q.v, cap, sizeof(*v));

			if (v == NULL)
				break;
			nt->q.v = v;
			nt->q.cap = cap;
		}
		nt->q.v[nt->q.n++] = iv->v[i];
		iv->v[i].name = NULL;
	}
	pthread_cond_signal(&nt->cv);
	pthread_mutex_unlock(&nt->mu);
	ckptfs_invals_free(iv);
}

/* --- init ---------------------------------------------------------------- */

/* Largest READ or WRITE (and so max_pages): 1 MiB less 64 KiB, see
 * ckptfs_op_init(). */
#define SPLICE_REQUEST_MAX ((1u << 20) - (64u << 10))

/* Negotiate: splice where offered, the largest readahead the kernel
 * offers (libfuse starts from the kernel's value; max_pages follows
 * max_write, which libfuse sets to its whole buffer, 1 MiB). */
static void
ckptfs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ckptfs *fs = userdata;

	/* No FUSE_CAP_SPLICE_MOVE: moving pages means trying to steal them
	 * from the shard's page cache (evicting them there) and mostly
	 * copying anyway; plain splice reads ran 25-30% faster.  No
	 * FUSE_CAP_SPLICE_READ either: without a write_buf() handler
	 * libfuse copies a spliced WRITE out of its pipe into memory it
	 * allocates per request, where a plain read() fills the thread's
	 * buffer (requests fit a 1 MiB pipe since max_write is capped,
	 * below, so that path would be taken). */
	conn->want |= conn->capable & FUSE_CAP_SPLICE_WRITE;
	conn->want &= ~(unsigned)FUSE_CAP_SPLICE_READ;
	conn->want |= conn->capable & FUSE_CAP_ASYNC_READ;
	/* Directories need no open/release round trips (see
	 * ckptfs_op_opendir()), and every listing carries the attributes,
	 * so walking the tree costs two requests per directory.  Listings
	 * are cached by the kernel; a writable mount drops the listing of
	 * every directory whose entries change (notify()). */
	atomic_store(&fs->no_opendir,
		     (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0);
	/* Read-only, a file handle carries no state either: the kernel
	 * can skip OPEN and RELEASE too (do_open()), a third of the
	 * requests of reading many small tensors.  Not when the source has
	 * entries that cannot be used or tensors of no bytes: opening one
	 * must fail (bad or damaged), and no READ would ever be sent. */
	atomic_store(&fs->no_open,
		     !fs->writable &&
			     (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0 &&
			     (fs->tree->bundle == NULL ||
			      (fs->tree->bundle->nbad == 0 &&
			       fs->tree->bundle->nempty == 0)));
	if (fs->writable && (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC))
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_READDIRPLUS) {
		conn->want |= FUSE_CAP_READDIRPLUS;
		conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	}
	/* No FUSE_CAP_POSIX_ACL: there are no ACLs, permission checks are
	 * the modes (default_permissions), and system.posix_acl_* reach
	 * getxattr, which answers EOPNOTSUPP for every namespace but
	 * "user." (ckptfs_xattr_supported()). */
	conn->want &= ~(unsigned)FUSE_CAP_POSIX_ACL;
	/* The kernel's page cache of a file is never dropped for a new
	 * time or size seen in its attributes (a changed tensor's times
	 * are its spool file's): every change of bytes goes through the
	 * kernel, which keeps its cache in step, and a drop while a write
	 * it has cached is on its way here lets a read cache the old
	 * bytes (see do_open()). */
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_EXPLICIT_INVAL_DATA)
		conn->want |= FUSE_CAP_EXPLICIT_INVAL_DATA;
	conn->time_gran = 1;
	/* libfuse 3.14 ends the session unless init() asks for the
	 * -o max_read the mount was given. */
	conn->max_read = fs->max_read;
	/* The kernel keeps the smaller of its readahead and this: at least
	 * what set_readahead() (ckptfs.c) sets, before or after this reply
	 * is seen; and a smaller one asked for, which only this can set
	 * for a mount not made by root. */
	if (fs->readahead > conn->max_readahead / 1024 ||
	    (fs->readahead_set && fs->readahead > 0))
		conn->max_readahead = fs->readahead * 1024;
	/* Requests no larger than a pipe of 1 MiB (the most an
	 * unprivileged process gets, fs.pipe-max-size) takes with the
	 * reply's header and some pages of slack: libfuse splices a read
	 * only through such a pipe, and answers a larger one (a readahead
	 * of 1 MiB is one request of max_pages) by copying it through
	 * fresh memory, about twice as slow. */
	if (conn->max_write > SPLICE_REQUEST_MAX)
		conn->max_write = SPLICE_REQUEST_MAX;
}

/* Build /by-object if the mount left it for later (a TF1 checkpoint's,
 * see ckptfs_tree_opts.lazy_object): called before the first look into it
 * and before the first change of names anywhere (the overlay keeps both
 * views in step).  Return 0 or -EIO (logged once: the view stays empty). */
static int
object_view(struct ckptfs *fs)
{
	struct ckpt_err err = { 0 };
	bool failed = false;
	int rc = 0;

	if (!atomic_load(&fs->tree->object_pending))
		return fs->tree->object_error != 0 ? -EIO : 0;
	WRLOCK(fs);
	if (atomic_load(&fs->tree->object_pending)) {
		rc = ckptfs_tree_build_object(fs->tree, &err);
		failed = rc < 0;
	} else if (fs->tree->object_error != 0) {
		rc = -EIO;
	}
	UNLOCK(fs);
	if (failed)
		ckptfs_log(fs, LOG_ERR, "%s", ckpt_err_str(&err, rc));
	return rc < 0 ? -EIO : 0;
}

/* --- lookup, getattr ------------------------------------------------------ */

/* Find NAME in PARENT. */
static int
do_lookup(struct ckptfs *fs, fuse_ino_t parent, const char *name,
	  struct fuse_entry_param *e)
{
	struct ckptfs_node *d = node_of(fs, parent), *n;

	int rc = 0;

	if (d == NULL)
		return -ESTALE;
	if (d->kind != CKPTFS_DIR)
		return -ENOTDIR;
	if (strlen(name) > CKPTFS_NAME_MAX)
		return -ENAMETOOLONG;	/* (the kernel leaves it to us) */
	if (d == fs->tree->by_object && (rc = object_view(fs)) < 0)
		return rc;
	RDLOCK(fs);
	n = ckptfs_dir_lookup(d, name, strlen(name));
	if (n == NULL)
		rc = ckptfs_dir_detached(d) ? -ESTALE : -ENOENT;
	else
		fill_entry(fs, n, e);
	UNLOCK(fs);
	return rc;
}

static void
ckptfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct ckptfs *fs = fuse_req_userdata(req);
	int rc = do_lookup(fs, parent, name, &e);

	if (rc == -ENOENT) {
		/* A read-only tree cannot change: let the kernel cache the
		 * miss.  A writable one may get the name any moment. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->writable ? 0.0 : CKPTFS_TIMEOUT;
		fuse_reply_entry(req, &e);
	} else if (rc < 0) {
		reply_err(req, -rc);
	} else {
		fuse_reply_entry(req, &e);
	}
}

/* stat() data of INO and its cache timeout. */
static int
do_getattr(struct ckptfs *fs, fuse_ino_t ino, struct stat *st, double *tmo)
{
	struct ckptfs_node *n = node_of(fs, ino);

	if (n == NULL)
		return -ESTALE;
	RDLOCK(fs);
	ckptfs_node_stat(fs->tree, n, st);
	*tmo = timeout_of(fs, n);
	UNLOCK(fs);
	return 0;
}

static void
ckptfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	double tmo;
	int rc = do_getattr(fuse_req_userdata(req), ino, &st, &tmo);

	(void)fi;
	if (rc < 0)
		reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, tmo);
}

/* Served through io_uring, a request must not hold its queue's thread
 * for long (uring.h): the check of a tensor of this many bytes or more,
 * and a wait for another request's check, are left to a worker, which
 * runs the request again. */
#define CHECK_INLINE_MAX ((uint64_t)1 << 20)
/* The stand-in answer of a request left to a worker (never sent): the
 * handler replies it at once, having changed nothing. */
#define DEFERRED (-EINPROGRESS)

/* A data file of the source changed while mounted (found by a read, a
 * check or an fstat()): forget what was checked of the source's tensors,
 * which are checked again as they are read, and take the files as they
 * are now (ckptfs_tree_recheck()); said once per change.  Called with the
 * namespace lock held (shared). */
static void
recheck_locked(struct ckptfs *fs)
{
	struct ckpt_err err = { 0 };

	if (ckptfs_tree_recheck(fs->tree, &err) > 0)
		ckptfs_log(fs, LOG_WARNING, "warning: %s",
			   ckpt_err_str(&err, -ESTALE));
}

/* The same, without the lock held. */
static void
recheck(struct ckptfs *fs)
{
	RDLOCK(fs);
	recheck_locked(fs);
	UNLOCK(fs);
}

/* True if N is a tensor of the source with no bytes: no READ reaches
 * the daemon for it, so opens and the CRC's attribute check it (without
 * I/O: its stored CRC must be that of nothing). */
static bool
empty_source(const struct ckptfs_node *n)
{
	const struct ckpt_entry *e;

	return n->kind == CKPTFS_TENSOR && (e = n->entry) != NULL &&
	       e->size == 0 && !ckpt_entry_is_bad(e) && !ckptfs_ov_spooled(n);
}

/* ckptfs_node_verify() of tensor N, its failure logged by the thread
 * that found it: 0 or -EIO.  A check that a data file's change cut
 * short is made again, after the change is taken (recheck()). */
static int
verify_logged(struct ckptfs *fs, struct ckptfs_node *n)
{
	struct ckpt_err err = { 0 };
	bool first;

	for (int tries = 0;; tries++) {
		if (ckptfs_node_verify(fs->tree, n, &first, &err) == 0)
			return 0;
		if (err.code != -ESTALE || tries == 2)
			break;
		recheck(fs);
		ckpt_err_clear(&err);
	}
	if (first)
		ckptfs_log(fs, LOG_ERR, "%s", ckpt_err_str(&err, -EIO));
	return -EIO;
}

/* Check INO's stored bytes if it is a tensor of the source not checked
 * yet (the result is kept in the node: ckptfs_node_verify()).  0, or
 * -EIO, logged by the thread that found it, or DEFERRED.  Called before
 * the namespace lock is taken, so that a rename or create does not wait
 * for the check, and before anything is changed: by the first read, and
 * by the first change that copies the tensor's bytes to the spool (which
 * checks them again, at once). */
static int
first_check(struct ckptfs *fs, fuse_ino_t ino)
{
	struct ckptfs_node *n = node_of(fs, ino);
	const struct ckpt_entry *e;
	bool waits;

	/* (ENTRY once: a share may set it meanwhile) */
	if (n == NULL || n->kind != CKPTFS_TENSOR ||
	    (e = n->entry) == NULL || ckptfs_ov_spooled(n) ||
	    atomic_load(&n->verified) == 1)
		return 0;
	/* Found damaged: the answer is kept, unless its data file changed
	 * since (put back, say), which only a look here finds. */
	if (atomic_load(&n->verified) < 0 && fs->bundle != NULL &&
	    ckpt_bundle_entry_stale(fs->bundle, e))
		recheck(fs);
	if (ckptfs_node_verify_pending(n, &waits) &&
	    (waits || e->size >= CHECK_INLINE_MAX) &&
	    ckptfs_uring_defer())
		return DEFERRED;
	return verify_logged(fs, n);
}

/* first_check() before a change that copies INO's bytes to the spool: a
 * change of its data file since undoes every check first (one fstat()).
 * Reads need no such look: their own fstat() of the data file, or the
 * check's, finds a change (do_read()). */
static int
change_check(struct ckptfs *fs, fuse_ino_t ino)
{
	struct ckptfs_node *n = node_of(fs, ino);
	const struct ckpt_entry *e;

	if (n != NULL && n->kind == CKPTFS_TENSOR && fs->bundle != NULL &&
	    (e = n->entry) != NULL && !ckptfs_ov_spooled(n) &&
	    ckpt_bundle_entry_stale(fs->bundle, e))
		recheck(fs);
	return first_check(fs, ino);
}

/* Change attributes: a new size truncates (copy-up keeps only what
 * stays); times are kept for a changed tensor (on its spool file);
 * modes, owners and an unchanged tensor's times are accepted and not
 * kept. */
static int
do_setattr(struct ckptfs *fs, fuse_ino_t ino, const struct stat *attr,
	   int to_set, struct stat *st, double *tmo)
{
	struct ckptfs_node *n = node_of(fs, ino);
	int rc = 0;

	if (n == NULL)
		return -ESTALE;
	if (!fs->writable)
		return -EROFS;
	if ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size > 0 &&
	    (rc = change_check(fs, ino)) < 0)
		return rc;
	WRLOCK(fs);
	if ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size < 0)
		rc = -EINVAL;
	else if (to_set & FUSE_SET_ATTR_SIZE)
		rc = ckptfs_ov_truncate(fs->tree, n, (uint64_t)attr->st_size);
	if (rc == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    (((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != fs->tree->uid) ||
	     ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != fs->tree->gid)))
		rc = -EPERM;
	if (rc == 0 && n->kind == CKPTFS_TENSOR &&
	    (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT },
					  { .tv_nsec = UTIME_OMIT } };

		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			ts[0].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_ATIME)
			ts[0] = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			ts[1].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_MTIME)
			ts[1] = attr->st_mtim;
		rc = ckptfs_ov_set_times(fs->tree, n, ts);
	}
	if (rc == 0) {
		ckptfs_node_stat(fs->tree, n, st);
		*tmo = timeout_of(fs, n);
	}
	UNLOCK(fs);
	return rc;
}

static void
ckptfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		  int to_set, struct fuse_file_info *fi)
{
	struct stat st;
	double tmo = 0;
	int rc = do_setattr(fuse_req_userdata(req), ino, attr, to_set, &st,
			    &tmo);

	(void)fi;
	if (rc < 0)
		reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, tmo);
}

/* --- namespace changes ------------------------------------------------------ */

/* Whether the file handle FI was opened for writing. */
static bool
for_writing(const struct fuse_file_info *fi)
{
	return (fi->flags & O_ACCMODE) != O_RDONLY;
}

/* Make NAME in PARENT (a file or directory); fill E. */
static int
do_make(struct ckptfs *fs, fuse_ino_t parent, const char *name, bool is_dir,
	bool write, struct fuse_entry_param *e, struct ckptfs_node **np)
{
	struct ckptfs_node *d = node_of(fs, parent), *n = NULL;
	struct ckptfs_invals iv = { 0 };
	int rc;

	if (d == NULL)
		return -ESTALE;
	if (!fs->writable)
		return -EROFS;
	if ((rc = object_view(fs)) < 0)
		return rc;
	WRLOCK(fs);
	rc = ckptfs_ov_create(fs->tree, d, name, strlen(name), is_dir, &n,
			      &iv);
	if (rc == 0) {
		fill_entry(fs, n, e);
		if (!is_dir)
			ckptfs_ov_open(fs->tree, n, write);
	}
	UNLOCK(fs);
	notify(fs, &iv);
	if (np != NULL)
		*np = n;
	return rc;
}

static void
ckptfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode)
{
	struct fuse_entry_param e;
	int rc = do_make(fuse_req_userdata(req), parent, name, true, false, &e,
			 NULL);

	(void)mode;
	if (rc < 0)
		reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

static void
ckptfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, struct fuse_file_info *fi)
{
	struct ckptfs *fs = fuse_req_userdata(req);
	struct ckptfs_node *n;
	struct fuse_entry_param e;
	bool write = for_writing(fi);
	int rc = S_ISREG(mode) ? do_make(fs, parent, name, false, write, &e,
					 &n)
			       : fs->writable ? -EPERM : -EROFS;

	if (rc < 0) {
		reply_err(req, -rc);
		return;
	}
	fi->keep_cache = 0;
	if (fuse_reply_create(req, &e, fi) != 0)
		ckptfs_ov_release(fs->tree, n, write);	/* never opened */
}

static void
ckptfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, dev_t rdev)
{
	struct ckptfs *fs = fuse_req_userdata(req);
	struct ckptfs_node *n;
	struct fuse_entry_param e;
	int rc = S_ISREG(mode) ? do_make(fs, parent, name, false, false, &e,
					 &n)
			       : fs->writable ? -EPERM : -EROFS;

	(void)rdev;
	if (rc == 0)
		ckptfs_ov_release(fs->tree, n, false);	/* not an open */
	if (rc < 0)
		reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

/* A checkpoint holds tensors and directories only: no symbolic links,
 * and a tensor's two names are its views' (no other hard links). */
static void
refuse_link(fuse_req_t req)
{
	struct ckptfs *fs = fuse_req_userdata(req);

	reply_err(req, fs->writable ? EPERM : EROFS);
}

static void
ckptfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		  const char *name)
{
	(void)link, (void)parent, (void)name;
	refuse_link(req);
}

static void
ckptfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	       const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	refuse_link(req);
}

/* Remove NAME from PARENT. */
static int
do_remove(struct ckptfs *fs, fuse_ino_t parent, const char *name, bool is_dir)
{
	struct ckptfs_node *d = node_of(fs, parent);
	struct ckptfs_invals iv = { 0 };
	int rc;

	if (d == NULL)
		return -ESTALE;
	if (!fs->writable)
		return -EROFS;
	if ((rc = object_view(fs)) < 0)
		return rc;
	WRLOCK(fs);
	rc = ckptfs_ov_remove(fs->tree, d, name, strlen(name), is_dir, &iv);
	UNLOCK(fs);
	notify(fs, &iv);
	return rc;
}

static void
ckptfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_err(req, -do_remove(fuse_req_userdata(req), parent, name,
				       false));
}

static void
ckptfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_err(req, -do_remove(fuse_req_userdata(req), parent, name,
				       true));
}

/* Rename within a view. */
static int
do_rename(struct ckptfs *fs, fuse_ino_t parent, const char *name,
	  fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct ckptfs_node *d = node_of(fs, parent), *nd = node_of(fs, newparent);
	struct ckptfs_invals iv = { 0 };
	int rc;

	if (d == NULL || nd == NULL)
		return -ESTALE;
	if (!fs->writable)
		return -EROFS;
	if ((rc = object_view(fs)) < 0)
		return rc;
	WRLOCK(fs);
	rc = ckptfs_ov_rename(fs->tree, d, name, strlen(name), nd, newname,
			      strlen(newname), flags, &iv);
	UNLOCK(fs);
	notify(fs, &iv);
	return rc;
}

static void
ckptfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		 fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	reply_err(req, -do_rename(fuse_req_userdata(req), parent, name,
				       newparent, newname, flags));
}

/* --- directories ----------------------------------------------------------- */

/* Check that INO is a directory.  Where the kernel supports it, answer
 * ENOSYS instead, which tells it to stop sending OPENDIR and RELEASEDIR
 * for this mount (directory handles carry no state here). */
static int
do_opendir(struct ckptfs *fs, fuse_ino_t ino)
{
	struct ckptfs_node *n = node_of(fs, ino);

	if (atomic_load(&fs->no_opendir))
		return -ENOSYS;
	if (n == NULL)
		return -ESTALE;
	if (n->kind != CKPTFS_DIR)
		return -ENOTDIR;
	return 0;
}

static void
ckptfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int rc = do_opendir(fuse_req_userdata(req), ino);

	if (rc < 0) {
		fuse_reply_err(req, -rc);	/* ENOSYS meant */
	} else {
		/* Listings stay cached; changes drop them (see notify()). */
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
		fuse_reply_open(req, fi);
	}
}

/* Fill BUF (CAP bytes) with entries of INO from offset OFF: offset 0 is
 * ".", 1 "..", 2 + i the i-th name.  PLUS: readdirplus (counts a lookup
 * for every name but "." and ".."). */
static int
do_readdir(fuse_req_t req, struct ckptfs *fs, fuse_ino_t ino, char *buf,
	   size_t cap, off_t off, bool plus, size_t *used)
{
	struct ckptfs_node *d = node_of(fs, ino);
	size_t pos = 0, i;
	int rc;

	*used = 0;
	if (d == NULL)
		return -ESTALE;
	if (d->kind != CKPTFS_DIR)
		return -ENOTDIR;
	if (off < 0)
		return -EINVAL;
	if (d == fs->tree->by_object && (rc = object_view(fs)) < 0)
		return rc;
	RDLOCK(fs);
	for (i = (size_t)off; i < d->dir.n + 2; i++) {
		struct ckptfs_node *n;
		const char *name;
		size_t need;

		if (i < 2) {
			n = i == 0 ? d : CKPTFS_PARENT(d);
			name = i == 0 ? "." : "..";
		} else {
			n = CKPTFS_DIR_ENTS(d)[i - 2].node;
			if (n == NULL)
				continue;	/* a removed name */
			name = CKPTFS_ENT_LOC(d, n)->name;
		}
		if (plus) {
			struct fuse_entry_param e;

			fill_entry(fs, n, &e);
			need = fuse_add_direntry_plus(req, buf + pos, cap - pos,
						      name, &e,
						      (off_t)(i + 1));
			if (need > cap - pos)
				break;
		} else {
			struct stat st = { 0 };

			st.st_ino = (ino_t)n->ino;
			st.st_mode = n->kind == CKPTFS_DIR ? S_IFDIR : S_IFREG;
			need = fuse_add_direntry(req, buf + pos, cap - pos,
						 name, &st, (off_t)(i + 1));
			if (need > cap - pos)
				break;
		}
		pos += need;
	}
	UNLOCK(fs);
	*used = pos;
	return 0;
}

/* Shared reply path of readdir and readdirplus. */
static void
reply_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	      bool plus)
{
	char *buf = malloc(size ? size : 1);
	size_t used;
	int rc;

	if (buf == NULL) {
		reply_err(req, ENOMEM);
		return;
	}
	rc = do_readdir(req, fuse_req_userdata(req), ino, buf, size, off, plus,
			&used);
	if (rc < 0)
		reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void
ckptfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	(void)fi;
	reply_readdir(req, ino, size, off, false);
}

static void
ckptfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	(void)fi;
	reply_readdir(req, ino, size, off, true);
}

/* --- files ------------------------------------------------------------------ */

/* Open INO (O_TRUNC truncates: nothing is copied up); the page cache
 * stays valid across opens of an unchanged tensor. */
static int
do_open(struct ckptfs *fs, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ckptfs_node *n = node_of(fs, ino);
	bool wr = for_writing(fi) ||
		  (fi->flags & O_TRUNC);
	int rc = 0;

	if (n == NULL)
		return -ESTALE;
	if (n->kind == CKPTFS_DIR)
		return -EISDIR;
	if (wr && (!fs->writable || n->kind != CKPTFS_TENSOR ||
		   ckptfs_node_is_graph(fs->tree, n)))
		return fs->writable ? -EACCES : -EROFS;
	/* A tensor whose index entry cannot be used has nothing to read
	 * or keep: it can only be overwritten whole (or removed).  Opening
	 * it to read fails at once, and logs why the first time; opened to
	 * write, a write fails the same way until it is truncated (as
	 * truncate(1) does, which opens without O_TRUNC). */
	/* Nor is a READ sent for a tensor of no bytes: its check (its
	 * stored CRC against that of nothing, no I/O) is made here. */
	if ((fi->flags & O_ACCMODE) != O_WRONLY && !(fi->flags & O_TRUNC) &&
	    (ckptfs_node_bad(n) || empty_source(n)) &&
	    (rc = verify_logged(fs, n)) < 0)
		return rc;	/* -EIO, and why, once */
	/* Read-only mount: ENOSYS tells the kernel to stop sending OPEN
	 * and RELEASE for this mount; it then keeps the page cache across
	 * opens (FOPEN_KEEP_CACHE), as we would have asked. */
	if (atomic_load(&fs->no_open))
		return -ENOSYS;
	if (fi->flags & O_TRUNC)
		WRLOCK(fs);
	else
		RDLOCK(fs);
	if (n->kind == CKPTFS_TENSOR && n->deleted) {
		/* Reached through a name the kernel has not dropped yet
		 * (the other view's, after a file was renamed over it or it
		 * was renamed away and removed, as editors save; see
		 * ckptfs_dir_detached()): ESTALE makes it look the path up
		 * again and open what the name is now, not the old bytes (or
		 * ENOENT).
		 * Its open descriptors stay usable; /proc/PID/fd cannot
		 * reopen it. */
		rc = -ESTALE;
	} else if (fi->flags & O_TRUNC) {
		rc = ckptfs_ov_truncate(fs->tree, n, 0);
		if (rc == -ENOSYS)
			rc = -EIO;	/* the spool's file system, not us */
	}
	if (rc == 0) {
		ckptfs_ov_open(fs->tree, n, for_writing(fi));
		/* Bytes change only through this inode (the kernel keeps
		 * its cache in step) or under a new one (a file renamed over
		 * it).  Dropping the cache here raced with a write the
		 * kernel had cached but not sent: a reader cached the old
		 * bytes again. */
		fi->keep_cache = 1;
	}
	UNLOCK(fs);
	return rc;
}

static void
ckptfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ckptfs *fs = fuse_req_userdata(req);
	int rc = do_open(fs, ino, fi);

	if (rc < 0)
		fuse_reply_err(req, -rc);	/* ENOSYS meant */
	else if (fuse_reply_open(req, fi) != 0)
		ckptfs_ov_release(fs->tree, node_of(fs, ino),
				  for_writing(fi));
}

static void
ckptfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ckptfs *fs = fuse_req_userdata(req);
	struct ckptfs_node *n = node_of(fs, ino);

	if (n != NULL) {
		RDLOCK(fs);
		ckptfs_ov_release(fs->tree, n,
				  for_writing(fi));
		UNLOCK(fs);
	}
	reply_err(req, 0);
}

/* Write SIZE bytes at OFF (the tensor is copied up first). */
static int
do_write(struct ckptfs *fs, fuse_ino_t ino, const char *buf, size_t size,
	 off_t off)
{
	struct ckptfs_node *n = node_of(fs, ino);
	int rc;

	if (n == NULL)
		return -ESTALE;
	if (!fs->writable)
		return -EROFS;
	if (off < 0)
		return -EINVAL;
	if ((rc = change_check(fs, ino)) < 0)
		return rc;
	RDLOCK(fs);
	rc = ckptfs_ov_write(fs->tree, n, buf, size, (uint64_t)off);
	UNLOCK(fs);
	return rc;
}

/* After a write the daemon refused: have the kernel drop INO's cached
 * bytes.  A refused write-back of a shared mapping leaves the refused
 * bytes in the page cache, and opens keep the cache (do_open()), so reads
 * would return bytes the tensor does not hold for the mount's life.  Sent
 * by the notifier, after the reply: the pages wait for it. */
static void
drop_data(struct ckptfs *fs, fuse_ino_t ino)
{
	struct ckptfs_invals iv = { 0 };

	iv.v = calloc(1, sizeof(*iv.v));
	if (iv.v == NULL)
		return;	/* a cache hint */
	iv.n = iv.cap = 1;
	iv.v[0].ino = ino;
	iv.v[0].data = true;
	notify(fs, &iv);
}

static void
ckptfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		off_t off, struct fuse_file_info *fi)
{
	struct ckptfs *fs = fuse_req_userdata(req);
	int rc = do_write(fs, ino, buf, size, off);

	(void)fi;
	if (rc < 0) {
		reply_err(req, -rc);
		if (rc != DEFERRED)	/* nothing was written */
			drop_data(fs, ino);
	} else {
		fuse_reply_write(req, size);
	}
}

/* fsync: flush a spool file, and the journal that names it (so that the
 * change survives a power failure; the write-out fsyncs the output
 * anyway). */
static void
ckptfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		struct fuse_file_info *fi)
{
	struct ckptfs *fs = fuse_req_userdata(req);
	struct ckptfs_node *n = node_of(fs, ino);
	int fd = n != NULL && ckptfs_ov_spooled(n) ? ckptfs_ov_fd(fs->tree, n)
						   : -1,
	    rc = 0;

	(void)fi;
	if (fd >= 0 && (datasync ? fdatasync(fd) : fsync(fd)) < 0)
		rc = errno;
	else if (fd < 0 && n != NULL && ckptfs_ov_spooled(n))
		rc = -fd;	/* (its spool file could not be had) */
	if (rc == 0 && fs->writable)
		rc = -ckptfs_overlay_sync(fs->tree);
	reply_err(req, rc);
}

/* fsyncdir: the names changed are in the journal: flush it. */
static void
ckptfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		   struct fuse_file_info *fi)
{
	struct ckptfs *fs = fuse_req_userdata(req);

	(void)ino;
	(void)datasync;
	(void)fi;
	reply_err(req, fs->writable ? -ckptfs_overlay_sync(fs->tree)
					 : 0);
}

/* Allocate a bufvec with room for N buffers. */
static struct fuse_bufvec *
bufvec_new(size_t n)
{
	struct fuse_bufvec *bv;

	bv = calloc(1, sizeof(*bv) + (n - 1) * sizeof(struct fuse_buf));
	if (bv != NULL)
		bv->count = n;
	return bv;
}

/* Copy path: read LEN bytes at OFF of N into a buffer *MEM. */
static int
read_copy(struct ckptfs *fs, struct ckptfs_node *n, size_t len, uint64_t off,
	  struct fuse_bufvec **bvp, void **mem)
{
	struct fuse_bufvec *bv = bufvec_new(1);
	size_t got = 0;

	*mem = malloc(len ? len : 1);
	if (bv == NULL || *mem == NULL) {
		free(bv);
		free(*mem);
		*mem = NULL;
		return -ENOMEM;
	}
	if (len > 0 && (ckptfs_node_pread(fs->tree, n, *mem, len, off, &got) <
				0 ||
			got != len)) {
		free(bv);
		free(*mem);
		*mem = NULL;
		if (n->entry != NULL && fs->bundle != NULL &&
		    ckpt_bundle_entry_stale(fs->bundle, n->entry)) {
			recheck_locked(fs);
			return -EAGAIN;	/* check it again, then read */
		}
		return -EIO;
	}
	bv->buf[0].mem = *mem;
	bv->buf[0].size = len;
	*bvp = bv;
	return 0;
}

/* Describe the reply to a read of SIZE bytes at OFF of INO: *BVP (and
 * *MEM, the buffer it points into on the copy path) are for the caller to
 * free after replying.  Bytes of the source are served only once the
 * tensor was found good (first_check(); -EAGAIN: check it, then ask
 * again). */
static int
do_read(struct ckptfs *fs, fuse_ino_t ino, size_t size, off_t off,
	struct fuse_bufvec **bvp, void **mem)
{
	struct ckptfs_node *n = node_of(fs, ino);
	const struct ckpt_entry *e;
	struct fuse_bufvec *bv;
	uint64_t pos, left;
	size_t k;
	int v;

	*bvp = NULL;
	*mem = NULL;
	if (n == NULL)
		return -ESTALE;
	if (n->kind == CKPTFS_DIR)
		return -EISDIR;
	if (off < 0)
		return -EINVAL;
	pos = (uint64_t)off;
	left = pos < n->size ? n->size - pos : 0;
	if (left > size)
		left = size;
	if (n->kind == CKPTFS_BLOB || left == 0)
		return read_copy(fs, n, (size_t)left, pos, bvp, mem);
	if (ckptfs_ov_spooled(n)) {
		/* Changed: the spool file (open while the file is). */
		int fd = ckptfs_ov_fd(fs->tree, n);

		if (fd < 0)
			return fd;
		bv = bufvec_new(1);
		if (bv == NULL)
			return -ENOMEM;
		bv->buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv->buf[0].fd = fd;
		bv->buf[0].pos = off;
		bv->buf[0].size = (size_t)left;
		*bvp = bv;
		return 0;
	}
	if ((e = n->entry) == NULL)
		return -EIO;
	if ((v = atomic_load(&n->verified)) != 1)
		/* Not checked: a new file that came to share a tensor's
		 * bytes after the caller's check (first_check()), to check
		 * now; or damaged. */
		return v < 0 ? -EIO : -EAGAIN;
	bv = bufvec_new(MAX_SEGS);
	if (bv == NULL)
		return -ENOMEM;
	for (k = 0; left > 0; k++) {
		uint64_t foff, run;
		int fd, rc;

		if (k == MAX_SEGS)
			rc = -ENOTSUP;
		else
			rc = ckpt_bundle_locate(fs->bundle, e, pos, &fd,
						&foff, &run);
		if (rc == -ENOTSUP) {
			size_t done = (size_t)(pos - (uint64_t)off);

			free(bv);
			return read_copy(fs, n, (size_t)left + done,
					 (uint64_t)off, bvp, mem);
		}
		if (rc == -ESTALE) {
			free(bv);
			recheck_locked(fs);
			return -EAGAIN;	/* check it again, then read */
		}
		if (rc < 0 || run == 0) {
			free(bv);
			return -EIO;
		}
		if (run > left)
			run = left;
		bv->buf[k].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv->buf[k].fd = fd;
		bv->buf[k].pos = (off_t)foff;
		bv->buf[k].size = (size_t)run;
		pos += run;
		left -= run;
	}
	bv->count = k;
	*bvp = bv;
	return 0;
}

/* Reply BV's bytes.  Served through io_uring, they are read straight
 * into the ring entry, which the kernel copies from (a short read there,
 * a file cut under us, is EIO, not a short answer the reader would take
 * for the end of the tensor); through /dev/fuse, libfuse splices them. */
static void
reply_read(fuse_req_t req, struct fuse_bufvec *bv)
{
	size_t len = fuse_buf_size(bv);
	void *dst = ckptfs_uring_reply_buf(len);
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(len);
	ssize_t n;

	if (dst == NULL) {
		fuse_reply_data(req, bv, 0);
		return;
	}
	out.buf[0].mem = dst;
	n = fuse_buf_copy(&out, bv, 0);
	if (n < 0)
		reply_err(req, (int)-n);
	else if ((size_t)n != len)
		reply_err(req, EIO);
	else
		fuse_reply_buf(req, dst, len);
}

static void
ckptfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi)
{
	struct ckptfs *fs = fuse_req_userdata(req);
	struct fuse_bufvec *bv;
	void *mem;
	int rc;

	/* A first read checks the whole tensor, once: before taking the
	 * namespace lock, so that a rename or create does not wait for it
	 * (the node and its entry outlive the tree's changes). */
	bv = NULL;
	mem = NULL;
	rc = first_check(fs, ino);
	for (int tries = 0; rc == 0; tries++) {
		RDLOCK(fs);
		rc = do_read(fs, ino, size, off, &bv, &mem);
		UNLOCK(fs);
		if (rc != -EAGAIN)
			break;
		rc = tries < 2 ? first_check(fs, ino) : -EIO;
	}
	(void)fi;
	if (rc < 0)
		reply_err(req, -rc);
	else
		reply_read(req, bv);
	free(bv);
	free(mem);
}

/* Longest copy answered by one reply: the kernel's count is 32 bits
 * (whole pages, as it asks). */
#define COPY_MAX ((size_t)UINT32_MAX & ~(size_t)4095)
/* Bytes copied per hold of the namespace lock. */
#define COPY_STEP ((size_t)16 << 20)

/* Copy: the bytes of INO_IN at OFF_IN (up to LEN, to its end) are
 * written at OFF_OUT of INO_OUT: all of an unchanged tensor into a new
 * file by sharing them (ckptfs_ov_share()); else step by step, each step
 * as a read of the source (do_read(): its check, its spool file or shard
 * ranges) and a write of the destination from those files, in the kernel
 * where it can (copy_file_range(2)).  No byte passes through /dev/fuse.
 * *DONE: bytes copied, also when a later step failed.  DEFERRED: left to
 * a worker (a long copy over io_uring). */
static int
do_copy_range(struct ckptfs *fs, fuse_ino_t ino_in, off_t off_in,
	      fuse_ino_t ino_out, off_t off_out, size_t len, int flags,
	      size_t *done)
{
	struct ckptfs_node *src = node_of(fs, ino_in);
	struct ckptfs_node *dst = node_of(fs, ino_out);
	int rc;

	*done = 0;
	if (src == NULL || dst == NULL)
		return -ESTALE;
	if (!fs->writable)
		return -EROFS;
	if (flags != 0 || off_in < 0 || off_out < 0)
		return -EINVAL;
	if (src->kind == CKPTFS_DIR || dst->kind == CKPTFS_DIR)
		return -EISDIR;
	if (off_in == off_out && (off_in == 0 || atomic_load(&dst->shares))) {
		/* All of an unchanged tensor into a new file: shared, not
		 * copied (ckptfs_ov_share()), nor read: the copy is checked
		 * when read, as the tensor is, and written out unchecked,
		 * with the tensor's stored checksum, as the tensor is.  (A
		 * share starts at offset 0; past it, only a copy that shares
		 * already goes on: cp's last call at the end of a file copied
		 * does not take the exclusive lock.) */
		uint64_t count, want = len;

		/* The kernel cuts a longer copy to COPY_MAX (what one reply
		 * can count): one of that length asks for all there is. */
		if (len == COPY_MAX)
			want = UINT64_MAX;
		WRLOCK(fs);
		rc = ckptfs_ov_share(fs->tree, dst, src, (uint64_t)off_in,
				     want, &count);
		UNLOCK(fs);
		if (rc != 0) {
			*done = count < COPY_MAX ? (size_t)count : COPY_MAX;
			return rc < 0 ? rc : 0;
		}
	}
	/* A long copy is left to a worker (io_uring): it would hold the
	 * queue's thread meanwhile. */
	if (len >= CHECK_INLINE_MAX && ckptfs_uring_defer())
		return DEFERRED;
	if ((rc = first_check(fs, ino_in)) < 0 ||
	    (rc = change_check(fs, ino_out)) < 0)
		return rc;
	if (len > COPY_MAX)
		len = COPY_MAX;
	for (int tries = 0; *done < len;) {
		size_t step = len - *done < COPY_STEP ? len - *done : COPY_STEP;
		uint64_t at = (uint64_t)off_out + *done, got = 0;
		struct fuse_bufvec *bv = NULL;
		void *mem = NULL;

		RDLOCK(fs);
		rc = do_read(fs, ino_in, step, off_in + (off_t)*done, &bv, &mem);
		if (rc == -EAGAIN) {
			/* (a source that came to share a tensor's bytes
			 * since its check) */
			UNLOCK(fs);
			if (++tries > 2)
				return -EIO;
			if ((rc = first_check(fs, ino_in)) < 0)
				return rc;
			continue;
		}
		for (size_t k = 0; rc == 0 && k < bv->count; k++) {
			const struct fuse_buf *b = &bv->buf[k];

			if (b->flags & FUSE_BUF_IS_FD)
				rc = ckptfs_ov_write_fd(fs->tree, dst, b->fd,
							(uint64_t)b->pos,
							b->size, at + got);
			else if (b->size > 0)
				rc = ckptfs_ov_write(fs->tree, dst, b->mem,
						     b->size, at + got);
			if (rc == 0)
				got += b->size;
		}
		UNLOCK(fs);
		free(bv);
		free(mem);
		*done += (size_t)got;	/* also before a failed buffer */
		if (rc < 0)
			return rc;
		if (got < step)
			break;	/* the end of the source */
	}
	if (off_in == 0 && off_out == 0 && *done > 0 && *done == src->size &&
	    dst->size == src->size) {
		/* A copy of all of a tensor gives the file the tensor's
		 * dtype and shape, as for one shared (cp A B into a new B:
		 * B is A; best effort: the bytes are copied, and the
		 * metadata can be set by hand; one of more than COPY_MAX,
		 * in parts, does not take them), unless the file has a
		 * dtype, its own or taken from a tensor it replaced, that
		 * the bytes fit: a tensor overwritten keeps it, as after
		 * write(2) (ckptfs_ov_take_meta()). */
		WRLOCK(fs);
		(void)ckptfs_ov_take_meta(fs->tree, dst, src);
		UNLOCK(fs);
	}
	return 0;
}

static void
ckptfs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			  struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			  off_t off_out, struct fuse_file_info *fi_out,
			  size_t len, int flags)
{
	struct ckptfs *fs = fuse_req_userdata(req);
	size_t done;
	int rc;

	(void)fi_in;
	(void)fi_out;
	rc = do_copy_range(fs, ino_in, off_in, ino_out, off_out, len, flags,
			   &done);
	if (rc < 0 && rc != DEFERRED)
		drop_data(fs, ino_out);	/* a step may be half done */
	if (rc < 0 && (done == 0 || rc == DEFERRED))
		reply_err(req, -rc);
	else
		fuse_reply_write(req, done);
}

/* --- extended attributes ----------------------------------------------------- */

/* Value of NAME on INO into OUT. */
static int
do_getxattr(struct ckptfs *fs, fuse_ino_t ino, const char *name,
	    struct ckpt_buf *out)
{
	struct ckptfs_node *n = node_of(fs, ino);
	/* A changed tensor's CRC is computed over all of it (minutes for a
	 * sparse terabyte), which must not hold up every change of names:
	 * it reads only atomics and bytes through a dup()ed spool fd
	 * (ckptfs_node_pread()), so it takes no lock. */
	bool crc = strcmp(name, CKPTFS_XATTR_CRC) == 0;
	int rc;

	if (n == NULL)
		return -ESTALE;
	/* A damaged tensor has no CRC of its content to show (it cannot be
	 * read): EIO, as for reads, and so has one whose bytes are not all
	 * in its data file (cut short, or missing).  One computed from the
	 * content is checked first, as a first read would be (it is read
	 * anyway). */
	if (crc && n->kind == CKPTFS_TENSOR && n->entry != NULL &&
	    !ckptfs_ov_spooled(n)) {
		const struct ckpt_bundle *b = fs->tree->bundle;

		if (ckptfs_node_damaged(n) ||
		    (b != NULL && (ckpt_bundle_entry_unopened(b, n->entry) ||
				   ckpt_bundle_entry_short(b, n->entry))))
			return -EIO;
		if ((!ckptfs_crc_is_stored(n->entry) || empty_source(n)) &&
		    (rc = first_check(fs, ino)) < 0)
			return rc;
	}
	/* One computed from a changed tensor reads all of it, each time. */
	if (crc && n->kind == CKPTFS_TENSOR && ckptfs_ov_spooled(n) &&
	    atomic_load(&n->size) >= CHECK_INLINE_MAX && ckptfs_uring_defer())
		return DEFERRED;
	if (!crc)
		RDLOCK(fs);
	rc = ckptfs_xattr_get(fs->tree, n, name, out);
	/* A tensor gone from both views, reached through a name the kernel
	 * has not dropped yet (its key is no path now): ESTALE makes it look
	 * the name up again, as an open does. */
	if (rc == -ENOENT && n->kind == CKPTFS_TENSOR && n->deleted)
		rc = -ESTALE;
	if (!crc)
		UNLOCK(fs);
	return rc;
}

/* Reply to a getxattr/listxattr of SIZE with the bytes in B. */
static void
reply_xattr(fuse_req_t req, int rc, size_t size, const struct ckpt_buf *b)
{
	if (rc < 0)
		reply_err(req, -rc);
	else if (size == 0)
		fuse_reply_xattr(req, b->len);
	else if (size < b->len)
		reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (const char *)b->data, b->len);
}

static void
ckptfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		   size_t size)
{
	struct ckpt_buf b = { 0 };
	int rc = do_getxattr(fuse_req_userdata(req), ino, name, &b);

	reply_xattr(req, rc, size, &b);
	ckpt_buf_free(&b);
}

/* Names of INO's attributes into OUT. */
static int
do_listxattr(struct ckptfs *fs, fuse_ino_t ino, struct ckpt_buf *out)
{
	struct ckptfs_node *n = node_of(fs, ino);

	int rc;

	if (n == NULL)
		return -ESTALE;
	RDLOCK(fs);
	rc = ckptfs_xattr_list(n, out);
	UNLOCK(fs);
	return rc;
}

static void
ckptfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct ckpt_buf b = { 0 };
	int rc = do_listxattr(fuse_req_userdata(req), ino, &b);

	reply_xattr(req, rc, size, &b);
	ckpt_buf_free(&b);
}

/* Before a change of attribute NAME of INO: the mount must be writable
 * and /by-object built, and a change of dtype or shape, which copies the
 * tensor up, checks the tensor first (outside the lock, see
 * first_check()).  Return 0 or a negative errno. */
static int
xattr_change_check(struct ckptfs *fs, fuse_ino_t ino, const char *name)
{
	int rc;

	if (!fs->writable)
		return -EROFS;
	if ((rc = object_view(fs)) < 0)
		return rc;
	if ((strcmp(name, CKPTFS_XATTR_DTYPE) == 0 ||
	     strcmp(name, CKPTFS_XATTR_SHAPE) == 0 ||
	     strcmp(name, CKPTFS_XATTR_ORDER) == 0) &&
	    (rc = change_check(fs, ino)) < 0)
		return rc;
	return 0;
}

/* Set NAME on INO (see ckptfs_ov_setxattr()). */
static int
do_setxattr(struct ckptfs *fs, fuse_ino_t ino, const char *name,
	    const char *value, size_t size, int flags)
{
	struct ckptfs_node *n = node_of(fs, ino);
	struct ckpt_buf cur = { 0 };
	int rc;

	if (n == NULL)
		return -ESTALE;
	if ((rc = xattr_change_check(fs, ino, name)) < 0)
		return rc;
	WRLOCK(fs);
	/* A tensor always has a key and a CRC, and the CRC of a changed one
	 * is read from every byte: not under the lock (see
	 * do_getxattr()), and not just to learn that it exists. */
	if (n->kind == CKPTFS_TENSOR &&
	    (strcmp(name, CKPTFS_XATTR_CRC) == 0 ||
	     strcmp(name, CKPTFS_XATTR_KEY) == 0))
		rc = 0;
	else
		rc = ckptfs_xattr_get(fs->tree, n, name, &cur);
	if (rc == 0 && (flags & XATTR_CREATE_FLAG))
		rc = -EEXIST;
	else if (rc == -ENODATA && (flags & XATTR_REPLACE_FLAG))
		rc = -ENODATA;
	else
		rc = ckptfs_ov_setxattr(fs->tree, n, name, value, size);
	UNLOCK(fs);
	ckpt_buf_free(&cur);
	return rc;
}

static void
ckptfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		   const char *value, size_t size, int flags)
{
	reply_err(req, -do_setxattr(fuse_req_userdata(req), ino, name,
					 value, size, flags));
}

/* Remove NAME from INO (see ckptfs_ov_removexattr()). */
static int
do_removexattr(struct ckptfs *fs, fuse_ino_t ino, const char *name)
{
	struct ckptfs_node *n = node_of(fs, ino);
	int rc;

	if (n == NULL)
		return -ESTALE;
	if (!ckptfs_xattr_supported(name))
		return -EOPNOTSUPP;	/* as getxattr says (see init) */
	if ((rc = xattr_change_check(fs, ino, name)) < 0)
		return rc;
	WRLOCK(fs);
	rc = ckptfs_ov_removexattr(fs->tree, n, name);
	UNLOCK(fs);
	return rc;
}

static void
ckptfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	reply_err(req,
		       -do_removexattr(fuse_req_userdata(req), ino, name));
}

/* --- statfs --------------------------------------------------------------- */

/* Filesystem totals: data size in 4 KiB blocks, one file per inode; on
 * a writable mount, the room left where changes are spooled (tools that
 * check before writing would see a full disk otherwise). */
static int
do_statfs(struct ckptfs *fs, struct statvfs *sv)
{
	struct statvfs room;
	uint64_t bytes = 0;
	size_t i;

	RDLOCK(fs);
	for (i = 0; i < fs->tree->ninodes; i++)
		if (fs->tree->inodes[i]->kind == CKPTFS_TENSOR &&
		    !fs->tree->inodes[i]->deleted)
			bytes += fs->tree->inodes[i]->size;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_blocks = (fsblkcnt_t)((bytes + 4095) / 4096);
	sv->f_files = (fsfilcnt_t)ckptfs_tree_inodes(fs->tree);
	sv->f_namemax = CKPTFS_NAME_MAX;
	UNLOCK(fs);
	if (fs->writable && ckptfs_overlay_statvfs(fs->tree, &room) == 0) {
		uint64_t fr = room.f_frsize ? room.f_frsize : room.f_bsize;

		sv->f_bfree = (fsblkcnt_t)(room.f_bfree * fr / 4096);
		sv->f_bavail = (fsblkcnt_t)(room.f_bavail * fr / 4096);
		sv->f_blocks += sv->f_bfree;
		sv->f_ffree = room.f_ffree;
		sv->f_favail = room.f_favail;
		sv->f_files += sv->f_ffree;
	}
	return 0;
}

static void
ckptfs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	int rc = do_statfs(fuse_req_userdata(req), &sv);

	(void)ino;
	if (rc < 0)
		reply_err(req, -rc);
	else
		fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops ckptfs_ops = {
	.init = ckptfs_op_init,
	.lookup = ckptfs_op_lookup,
	.getattr = ckptfs_op_getattr,
	.setattr = ckptfs_op_setattr,	/* overlay only; EROFS otherwise */
	.mknod = ckptfs_op_mknod,
	.mkdir = ckptfs_op_mkdir,
	.symlink = ckptfs_op_symlink,
	.link = ckptfs_op_link,
	.unlink = ckptfs_op_unlink,
	.rmdir = ckptfs_op_rmdir,
	.rename = ckptfs_op_rename,
	.create = ckptfs_op_create,
	.opendir = ckptfs_op_opendir,
	.readdir = ckptfs_op_readdir,
	.readdirplus = ckptfs_op_readdirplus,
	.open = ckptfs_op_open,
	.release = ckptfs_op_release,
	.read = ckptfs_op_read,
	.write = ckptfs_op_write,
	.copy_file_range = ckptfs_op_copy_file_range,
	.fsync = ckptfs_op_fsync,
	.fsyncdir = ckptfs_op_fsyncdir,
	.getxattr = ckptfs_op_getxattr,
	.listxattr = ckptfs_op_listxattr,
	.setxattr = ckptfs_op_setxattr,
	.removexattr = ckptfs_op_removexattr,
	.statfs = ckptfs_op_statfs,
};
