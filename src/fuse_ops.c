/* fuse_ops.c -- the low-level FUSE operations: one ckptfs_op_<op>() per
 * request type, which only replies, and a do_<op>() helper that does the
 * work and returns 0 or a negative errno.
 *
 * Rules: exactly one reply per request; forget replies with
 * fuse_reply_none(); no lock is held across a fuse_reply_*() call (the
 * tree is immutable and its mutable fields are atomic, so there are no
 * locks at all yet).  Reads are answered from the shard fds through a
 * fuse_bufvec so libfuse can splice them; the first read of a tensor
 * checks its CRC once per mount. */
#include "config.h"
#include "fuse_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "coding.h"

/* Most fd segments one read reply may use before falling back to a copy. */
#define MAX_SEGS 64

/* Log one line. */
void
ckptfs_log(struct ckptfs *fs, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (fs != NULL && atomic_load(&fs->use_syslog)) {
		vsyslog(prio, fmt, ap);
	} else {
		char line[1024];

		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "ckptfs: %s\n", line);
	}
	va_end(ap);
}

/* The node of INO, or NULL. */
static struct ckptfs_node *
node_of(struct ckptfs *fs, fuse_ino_t ino)
{
	return ckptfs_tree_node(fs->tree, (uint64_t)ino);
}

/* Fill E for N and count the kernel's new reference. */
static void
fill_entry(struct ckptfs *fs, struct ckptfs_node *n,
	   struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = (fuse_ino_t)n->ino;
	e->generation = 1;
	e->attr_timeout = CKPTFS_TIMEOUT;
	e->entry_timeout = CKPTFS_TIMEOUT;
	ckptfs_node_stat(fs->tree, n, &e->attr);
	atomic_fetch_add(&n->nlookup, 1);
}

/* --- init ---------------------------------------------------------------- */

/* Negotiate: splice where offered, the largest readahead the kernel
 * offers (libfuse starts from the kernel's value; max_pages follows
 * max_write, which libfuse sets to its whole buffer, 1 MiB). */
static void
ckptfs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ckptfs *fs = userdata;

	conn->want |= conn->capable & (FUSE_CAP_SPLICE_WRITE |
				       FUSE_CAP_SPLICE_MOVE |
				       FUSE_CAP_SPLICE_READ);
	conn->want |= conn->capable & FUSE_CAP_ASYNC_READ;
	/* Directories need no open/release round trips (see
	 * ckptfs_op_opendir()), and every listing carries the attributes,
	 * so walking the tree costs two requests per directory. */
	atomic_store(&fs->no_opendir,
		     (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0);
	if (conn->capable & FUSE_CAP_READDIRPLUS) {
		conn->want |= FUSE_CAP_READDIRPLUS;
		conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	}
	conn->time_gran = 1;
}

/* --- lookup, forget, getattr --------------------------------------------- */

/* Find NAME in PARENT. */
static int
do_lookup(struct ckptfs *fs, fuse_ino_t parent, const char *name,
	  struct fuse_entry_param *e)
{
	struct ckptfs_node *d = node_of(fs, parent), *n;

	if (d == NULL)
		return -ESTALE;
	if (d->kind != CKPTFS_DIR)
		return -ENOTDIR;
	n = ckptfs_dir_lookup(d, name, strlen(name));
	if (n == NULL)
		return -ENOENT;
	fill_entry(fs, n, e);
	return 0;
}

static void
ckptfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int rc = do_lookup(fuse_req_userdata(req), parent, name, &e);

	if (rc == -ENOENT) {
		/* The tree cannot change: let the kernel cache the miss. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = CKPTFS_TIMEOUT;
		fuse_reply_entry(req, &e);
	} else if (rc < 0) {
		fuse_reply_err(req, -rc);
	} else {
		fuse_reply_entry(req, &e);
	}
}

/* Drop NLOOKUP kernel references to INO (nodes live as long as the tree). */
static void
do_forget(struct ckptfs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct ckptfs_node *n = node_of(fs, ino);

	if (n != NULL)
		atomic_fetch_sub(&n->nlookup, nlookup);
}

static void
ckptfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	do_forget(fuse_req_userdata(req), ino, nlookup);
	fuse_reply_none(req);
}

static void
ckptfs_op_forget_multi(fuse_req_t req, size_t count,
		       struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		do_forget(fuse_req_userdata(req), forgets[i].ino,
			  forgets[i].nlookup);
	fuse_reply_none(req);
}

/* stat() data of INO. */
static int
do_getattr(struct ckptfs *fs, fuse_ino_t ino, struct stat *st)
{
	struct ckptfs_node *n = node_of(fs, ino);

	if (n == NULL)
		return -ESTALE;
	ckptfs_node_stat(fs->tree, n, st);
	return 0;
}

static void
ckptfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int rc = do_getattr(fuse_req_userdata(req), ino, &st);

	(void)fi;
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, CKPTFS_TIMEOUT);
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
		fuse_reply_err(req, -rc);
	} else {
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

	*used = 0;
	if (d == NULL)
		return -ESTALE;
	if (d->kind != CKPTFS_DIR)
		return -ENOTDIR;
	if (off < 0)
		return -EINVAL;
	for (i = (size_t)off; i < d->dir.n + 2; i++) {
		struct ckptfs_node *n;
		const char *name;
		size_t need;

		if (i < 2) {
			n = i == 0 ? d : d->parent;
			name = i == 0 ? "." : "..";
		} else {
			n = d->dir.ents[i - 2].node;
			name = d->dir.ents[i - 2].name;
		}
		if (plus) {
			struct fuse_entry_param e;

			memset(&e, 0, sizeof(e));
			e.ino = (fuse_ino_t)n->ino;
			e.attr_timeout = e.entry_timeout = CKPTFS_TIMEOUT;
			ckptfs_node_stat(fs->tree, n, &e.attr);
			need = fuse_add_direntry_plus(req, buf + pos, cap - pos,
						      name, &e,
						      (off_t)(i + 1));
			if (need > cap - pos)
				break;
			if (i >= 2)
				atomic_fetch_add(&n->nlookup, 1);
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
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = do_readdir(req, fuse_req_userdata(req), ino, buf, size, off, plus,
			&used);
	if (rc < 0)
		fuse_reply_err(req, -rc);
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

/* Open INO read-only; the page cache stays valid across opens. */
static int
do_open(struct ckptfs *fs, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ckptfs_node *n = node_of(fs, ino);

	if (n == NULL)
		return -ESTALE;
	if (n->kind == CKPTFS_DIR)
		return -EISDIR;
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EROFS;
	fi->keep_cache = 1;
	return 0;
}

static void
ckptfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int rc = do_open(fuse_req_userdata(req), ino, fi);

	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_open(req, fi);
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
		return -EIO;
	}
	bv->buf[0].mem = *mem;
	bv->buf[0].size = len;
	*bvp = bv;
	return 0;
}

/* Describe the reply to a read of SIZE bytes at OFF of INO: *BVP (and
 * *MEM, the buffer it points into on the copy path) are for the caller to
 * free after replying.  The first read of a tensor verifies it. */
static int
do_read(struct ckptfs *fs, fuse_ino_t ino, size_t size, off_t off,
	struct fuse_bufvec **bvp, void **mem)
{
	struct ckptfs_node *n = node_of(fs, ino);
	struct ckpt_err err = { 0 };
	struct fuse_bufvec *bv;
	bool first;
	uint64_t pos, left;
	size_t k;

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
	if (ckptfs_node_verify(fs->tree, n, &first, &err) < 0) {
		if (first)
			ckptfs_log(fs, LOG_ERR, "%s",
				   ckpt_err_str(&err, -EIO));
		return -EIO;
	}
	bv = bufvec_new(MAX_SEGS);
	if (bv == NULL)
		return -ENOMEM;
	for (k = 0; left > 0; k++) {
		uint64_t foff, run;
		int fd, rc;

		if (k == MAX_SEGS)
			rc = -ENOTSUP;
		else
			rc = ckpt_bundle_locate(fs->bundle, n->entry, pos, &fd,
						&foff, &run);
		if (rc == -ENOTSUP) {
			size_t done = (size_t)(pos - (uint64_t)off);

			free(bv);
			return read_copy(fs, n, (size_t)left + done,
					 (uint64_t)off, bvp, mem);
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

static void
ckptfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi)
{
	struct fuse_bufvec *bv;
	void *mem;
	int rc = do_read(fuse_req_userdata(req), ino, size, off, &bv, &mem);

	(void)fi;
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_data(req, bv, FUSE_BUF_SPLICE_MOVE);
	free(bv);
	free(mem);
}

/* --- extended attributes ----------------------------------------------------- */

/* Value of NAME on INO into OUT. */
static int
do_getxattr(struct ckptfs *fs, fuse_ino_t ino, const char *name,
	    struct ckpt_buf *out)
{
	struct ckptfs_node *n = node_of(fs, ino);

	if (n == NULL)
		return -ESTALE;
	return ckptfs_xattr_get(fs->tree, n, name, out);
}

/* Reply to a getxattr/listxattr of SIZE with the bytes in B. */
static void
reply_xattr(fuse_req_t req, int rc, size_t size, const struct ckpt_buf *b)
{
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (size == 0)
		fuse_reply_xattr(req, b->len);
	else if (size < b->len)
		fuse_reply_err(req, ERANGE);
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

	if (n == NULL)
		return -ESTALE;
	return ckptfs_xattr_list(n, out);
}

static void
ckptfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct ckpt_buf b = { 0 };
	int rc = do_listxattr(fuse_req_userdata(req), ino, &b);

	reply_xattr(req, rc, size, &b);
	ckpt_buf_free(&b);
}

/* --- statfs --------------------------------------------------------------- */

/* Filesystem totals: data size in 4 KiB blocks, one file per inode. */
static int
do_statfs(struct ckptfs *fs, struct statvfs *sv)
{
	uint64_t bytes = 0;
	size_t i;

	for (i = 0; i < fs->tree->ninodes; i++)
		if (fs->tree->inodes[i]->kind == CKPTFS_TENSOR)
			bytes += fs->tree->inodes[i]->size;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_blocks = (fsblkcnt_t)((bytes + 4095) / 4096);
	sv->f_files = (fsfilcnt_t)fs->tree->ninodes;
	sv->f_namemax = CKPTFS_NAME_MAX;
	return 0;
}

static void
ckptfs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	int rc = do_statfs(fuse_req_userdata(req), &sv);

	(void)ino;
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops ckptfs_ops = {
	.init = ckptfs_op_init,
	.lookup = ckptfs_op_lookup,
	.forget = ckptfs_op_forget,	/* replies with fuse_reply_none() */
	.forget_multi = ckptfs_op_forget_multi,
	.getattr = ckptfs_op_getattr,
	.opendir = ckptfs_op_opendir,
	.readdir = ckptfs_op_readdir,
	.readdirplus = ckptfs_op_readdirplus,
	.open = ckptfs_op_open,
	.read = ckptfs_op_read,
	.getxattr = ckptfs_op_getxattr,
	.listxattr = ckptfs_op_listxattr,
	.statfs = ckptfs_op_statfs,
};
