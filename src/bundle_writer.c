/* bundle_writer.c -- write a TensorBundle the way TensorFlow's BundleWriter
 * does: data bytes in the order added, entries sorted at the end, the
 * index last.  Every file is written complete under a temporary name and
 * fsync()ed; then an old PREFIX.index is moved aside, the data renamed
 * into place (old data files moved aside first) and the index renamed
 * last, with the directory fsync()ed between the steps.  A checkpoint
 * exists iff PREFIX.index does (TensorFlow's rule), so after a crash at
 * any point the output name holds either the complete new checkpoint, or
 * the old one untouched, or no checkpoint at all (data files without an
 * index); never an index over other data.  A failure before the new index
 * is in place puts the old files back. */
#include "config.h"

#include "bundle_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "crc32c.h"
#include "tensor_bundle.pb-c.h"

#define COPY_CHUNK ((size_t)1 << 20)

/* A run of copied tensors is moved to where its blocks can be shared
 * (see struct wshard) only if that shares at least this many whole
 * blocks: the move leaves a hole of up to a block before it. */
#define CLONE_MIN_BLOCKS 4

struct wentry {
	const uint8_t *key;	/* owned, or borrowed (opts.borrow) */
	size_t klen;
	int dtype;
	int rank;
	const int64_t *dims;	/* as KEY */
	int32_t shard;
	uint64_t offset;
	uint64_t size;
	uint32_t crc;		/* masked */
	size_t nslices;
	struct ckpt_extent *slices;	/* owned: nslices * rank */
};

/* Bytes to copy from one source file to a shard: LEN bytes at SRC in FD
 * go to DST.  Copies of tensors that lie back to back in their source
 * are one run, placed back to back, so that a checkpoint copied
 * unchanged is one run per source shard. */
struct run {
	int fd;			/* borrowed: the caller's */
	uint64_t src, dst, len;
	size_t first;		/* the entry of its first tensor */
	size_t count;		/* its tensors */
	bool share;		/* FD's blocks can be shared */
};

struct wshard {
	int fd;			/* -1 once closed */
	char *tmp;		/* owned; NULL once renamed */
	char *final;		/* owned */
	uint64_t off;		/* where the next tensor's bytes go */
	bool placed;		/* renamed to FINAL, index not yet */
	/* Owned: the temporary name the old checkpoint's file at FINAL was
	 * moved to, until the new index is in place (NULL: none). */
	char *old;
	/* Copies gathered (LEN 0: none); see struct ckpt_writer's PROBE_OK
	 * for where they go. */
	struct run run;
};

struct ckpt_writer {
	char *prefix;		/* owned */
	/* The directory the files go in, opened once: every file is made,
	 * renamed and removed in it by name, so that a directory above
	 * it swapped for another (a symbolic link) since cannot send them
	 * elsewhere.  Owned unless opts.dirfd gave it. */
	int dirfd;
	struct ckpt_writer_opts opts;
	struct wshard *shards;	/* owned, opts.num_shards */
	int32_t cur;
	struct wentry *e;	/* owned */
	size_t n, cap;
	char *index_tmp;	/* owned while the index is being written */
	char *old_index;	/* owned; as struct wshard's OLD */
	bool finished;
	bool failed;		/* an add failed half-way: refuse to finish */
	/* Whether the files made here can share the blocks of files on
	 * filesystem PROBE_DEV (FICLONERANGE, on XFS, btrfs and the like: a
	 * checkpoint converted unchanged then costs its index, in time and
	 * in space), as a probe found (shares_with()).  A block can only be
	 * shared at the same place in a block, so copies are gathered into
	 * runs and a run is moved to an offset equal to its source's modulo
	 * BLK when that shares enough (flush_run()). */
	bool probed;
	bool probe_ok;
	dev_t probe_dev;
	uint64_t blk;		/* a power of two, once probed */
};

static int flush_run(struct ckpt_writer *w, struct wshard *s,
		     struct ckpt_err *err);

void
ckpt_test_crash(const char *point)
{
	/* TEST-ONLY fault injection for the crash-safety tests: when the
	 * environment variable CKPT_TEST_CRASH names POINT, the process
	 * kills itself with SIGKILL here, as kill -9 would.  Not a user
	 * interface; never set outside tests. */
	const char *want = getenv("CKPT_TEST_CRASH");

	if (want != NULL && strcmp(want, point) == 0)
		raise(SIGKILL);
}

int
ckpt_test_fail(const char *point)
{
	/* TEST-ONLY, as ckpt_test_crash(): never set outside tests. */
	const char *want = getenv("CKPT_TEST_FAIL");

	return want != NULL && strcmp(want, point) == 0 ? -EIO : 0;
}

/* "<final>.tempstate<random>", as TensorFlow names its temporary files. */
static char *
temp_name(const char *final)
{
	uint64_t r = 0;
	size_t len = strlen(final) + 40;
	char *p = malloc(len);

	if (p == NULL)
		return NULL;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)p;
	snprintf(p, len, "%s.tempstate%" PRIu64, final, r);
	return p;
}

/* The last component of PATH, which names a file in W->dirfd. */
static const char *
base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/* Create a new file for writing; never follows a symlink planted there. */
static int
create_file(const struct ckpt_writer *w, const char *path,
	    struct ckpt_err *err)
{
	int fd = openat(w->dirfd, base_of(path),
			O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			0666);

	if (fd < 0)
		return ckpt_fail(err, -errno, "%s: %s", path, strerror(errno));
	return fd;
}

int
ckpt_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t r = pwrite(fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

/* Skip at least MIN decimal digits at *P; false if there are fewer. */
static bool
skip_digits(const char **p, size_t min)
{
	size_t n = 0;

	while ((*p)[n] >= '0' && (*p)[n] <= '9')
		n++;
	*p += n;
	return n >= min;
}

enum stale_kind {
	STALE_NONE,	/* not a file of this checkpoint */
	/* <base>.index.tempstateN, <base>.data-...tempstateN, and
	 * <base>.tempstateN (the state file "checkpoint"'s) */
	STALE_TEMP,
	STALE_SHARD,	/* <base>.data-NNNNN-of-MMMMM, *COUNT = MMMMM */
};

/* What directory entry NAME is to the checkpoint named BASE (LEN bytes). */
static enum stale_kind
stale_kind(const char *name, const char *base, size_t len, long *count)
{
	const char *p = name + len + 1, *c;

	if (strncmp(name, base, len) != 0 || name[len] != '.')
		return STALE_NONE;
	if (strncmp(p, "tempstate", 9) == 0) {
		p += 9;
		return skip_digits(&p, 1) && *p == '\0' ? STALE_TEMP
							 : STALE_NONE;
	}
	if (strncmp(p, "index.tempstate", 15) == 0) {
		p += 15;
		return skip_digits(&p, 1) && *p == '\0' ? STALE_TEMP
							 : STALE_NONE;
	}
	if (strncmp(p, "data-", 5) != 0)
		return STALE_NONE;
	p += 5;
	if (!skip_digits(&p, 5) || strncmp(p, "-of-", 4) != 0)
		return STALE_NONE;
	p += 4;
	c = p;
	if (!skip_digits(&p, 5))
		return STALE_NONE;
	if (*p == '\0') {
		*count = strtol(c, NULL, 10);
		return STALE_SHARD;
	}
	if (strncmp(p, ".tempstate", 10) != 0)
		return STALE_NONE;
	p += 10;
	return skip_digits(&p, 1) && *p == '\0' ? STALE_TEMP : STALE_NONE;
}

bool
ckpt_writer_names(const char *name, const char *base)
{
	size_t len = strlen(base);
	long count;

	return (strncmp(name, base, len) == 0 &&
		strcmp(name + len, ".index") == 0) ||
	       strcmp(name, "checkpoint") == 0 ||
	       stale_kind(name, "checkpoint", 10, &count) == STALE_TEMP ||
	       stale_kind(name, base, len, &count) != STALE_NONE;
}

/* Remove what crashed writers of BASE in directory DIRFD left (temporary
 * files) and, with SHARDS, data shards of BASE whose shard count is not
 * NUM_SHARDS (the rest of an older checkpoint there).  Best effort:
 * errors are ignored. */
static void
remove_stale_in(int dirfd, const char *base, bool shards, int32_t num_shards)
{
	size_t len = strlen(base);
	struct dirent *de;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		long count = 0;
		enum stale_kind k = stale_kind(de->d_name, base, len, &count);

		if (k == STALE_TEMP ||
		    (k == STALE_SHARD && shards && count != num_shards))
			(void)unlinkat(dirfd, de->d_name, 0);
	}
	closedir(d);
}

/* remove_stale_in() for W's prefix. */
static void
remove_stale(const struct ckpt_writer *w, bool shards, int32_t num_shards)
{
	remove_stale_in(w->dirfd, base_of(w->prefix), shards, num_shards);
}

int
ckpt_open_dir_of(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd;

	if (dir == NULL)
		return -ENOMEM;
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir] = '\0';	/* "/x": "/" */
	fd = open(slash != NULL ? dir : ".",
		  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	free(dir);
	return fd;
}

int
ckpt_writer_new(const char *prefix, const struct ckpt_writer_opts *opts,
		struct ckpt_writer **out, struct ckpt_err *err)
{
	struct ckpt_writer *w;
	int rc = -ENOMEM;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->dirfd = -1;
	if (opts != NULL)
		w->opts = *opts;
	else
		w->opts.producer = 1;
	if (w->opts.num_shards <= 0)
		w->opts.num_shards = 1;
	if (w->opts.num_shards > 100000) {
		rc = ckpt_fail(err, -EINVAL, "%s: too many shards (%d)", prefix,
			       w->opts.num_shards);
		goto fail;
	}
	w->prefix = strdup(prefix);
	w->shards = calloc((size_t)w->opts.num_shards, sizeof(*w->shards));
	if (w->prefix == NULL || w->shards == NULL)
		goto fail;
	for (int32_t i = 0; i < w->opts.num_shards; i++)
		w->shards[i].fd = -1;
	if (w->opts.dirfd != NULL) {
		w->dirfd = *w->opts.dirfd;
	} else if ((w->dirfd = ckpt_open_dir_of(prefix)) < 0) {
		rc = ckpt_fail(err, w->dirfd, "%s: its directory: %s", prefix,
			       strerror(-w->dirfd));
		goto fail;
	}
	/* Temporary files of a writer of this prefix that crashed: free
	 * their space before taking more. */
	remove_stale(w, false, 0);
	for (int32_t i = 0; i < w->opts.num_shards; i++) {
		struct wshard *s = &w->shards[i];

		s->final = ckpt_shard_path(prefix, i, w->opts.num_shards);
		if (s->final == NULL || (s->tmp = temp_name(s->final)) == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		s->fd = create_file(w, s->tmp, err);
		if (s->fd < 0) {
			rc = s->fd;
			free(s->tmp);
			s->tmp = NULL;
			goto fail;
		}
	}
	*out = w;
	return 0;
fail:
	ckpt_writer_free(w);
	return rc;
}

int
ckpt_writer_select_shard(struct ckpt_writer *w, int32_t shard)
{
	if (shard < 0 || shard >= w->opts.num_shards)
		return -EINVAL;
	w->cur = shard;
	return 0;
}

/* Append a new entry record with a copy of KEY and DIMS. */
static int
new_entry(struct ckpt_writer *w, const void *key, size_t klen, int dtype,
	  const int64_t *dims, int rank, struct wentry **out)
{
	struct wentry *e;

	/* two tensors added (written, unless copies still gathered) */
	if (w->n == 2)
		ckpt_test_crash("mid-data");
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct wentry *p = reallocarray(w->e, cap, sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		w->e = p;
		w->cap = cap;
	}
	e = &w->e[w->n];
	memset(e, 0, sizeof(*e));
	if (w->opts.borrow) {
		e->key = key;
		e->dims = dims;
	} else {
		uint8_t *k = malloc(klen + 1);
		int64_t *d = calloc(rank > 0 ? (size_t)rank : 1,
				    sizeof(int64_t));

		if (k == NULL || d == NULL) {
			free(k);
			free(d);
			return -ENOMEM;
		}
		memcpy(k, key, klen);
		k[klen] = '\0';
		if (rank > 0)
			memcpy(d, dims, (size_t)rank * sizeof(int64_t));
		e->key = k;
		e->dims = d;
	}
	e->klen = klen;
	e->dtype = dtype;
	e->rank = rank;
	e->shard = w->cur;
	e->offset = w->shards[w->cur].off;
	w->n++;
	*out = e;
	return 0;
}

/* Check that SIZE bytes can be a stored tensor of DTYPE and shape. */
static int
check_meta(const void *key, size_t klen, int dtype, const int64_t *dims,
	   int rank, uint64_t size, struct ckpt_err *err)
{
	uint64_t elems, want;
	int rc;

	if (klen == 0)
		return ckpt_fail(err, -EINVAL, "a tensor needs a non-empty key");
	if (!ckpt_dtype_storable(dtype))
		return ckpt_fail(err, -EINVAL,
				 "tensor '%.*s': dtype %d cannot be stored",
				 (int)klen, (const char *)key, dtype);
	rc = ckpt_shape_elems(dims, rank, &elems);
	if (rc < 0)
		return ckpt_fail(err, -EINVAL, "tensor '%.*s': invalid shape",
				 (int)klen, (const char *)key);
	if (ckpt_dtype_size(dtype) != 0) {
		rc = ckpt_tensor_fixed_size(dtype, dims, rank, &want);
		if (rc < 0 || want != size)
			return ckpt_fail(err, -EINVAL,
					 "tensor '%.*s': %" PRIu64
					 " bytes do not fit dtype %s and shape "
					 "of %" PRIu64 " elements",
					 (int)klen, (const char *)key, size,
					 ckpt_dtype_name(dtype), elems);
	}
	return 0;
}

int
ckpt_writer_add(struct ckpt_writer *w, const void *key, size_t klen,
		int dtype, const int64_t *dims, int rank, const void *data,
		size_t size, struct ckpt_err *err)
{
	struct wshard *s = &w->shards[w->cur];
	struct wentry *e;
	uint32_t crc;
	int rc;

	if ((rc = check_meta(key, klen, dtype, dims, rank, size, err)) < 0)
		return rc;
	if (ckpt_dtype_size(dtype) == 0) {
		uint64_t elems;

		ckpt_shape_elems(dims, rank, &elems);
		rc = dtype == CKPT_DT_STRING
			     ? ckpt_string_parse(data, size, elems,
						 w->opts.endianness == 1,
						 NULL, NULL, &crc)
			     : ckpt_variant_check(data, size, elems,
						  w->opts.endianness == 1,
						  &crc);
		if (rc < 0)
			return ckpt_fail(err, -EINVAL,
					 "tensor '%.*s': not a valid stored %s "
					 "tensor of this shape",
					 (int)klen, (const char *)key,
					 ckpt_dtype_name(dtype));
	} else {
		crc = ckpt_crc32c(data, size);
	}
	if ((rc = flush_run(w, s, err)) < 0 ||
	    (rc = new_entry(w, key, klen, dtype, dims, rank, &e)) < 0)
		return rc;
	rc = ckpt_pwrite_all(s->fd, data, size, s->off);
	if (rc < 0) {
		w->failed = true;
		return ckpt_fail(err, rc, "%s: %s", s->tmp, strerror(-rc));
	}
	e->size = size;
	e->crc = ckpt_crc_mask(crc);
	s->off += size;
	return 0;
}

int
ckpt_copy_range(int src, uint64_t soff, int dst, uint64_t doff, uint64_t len)
{
	loff_t so = (loff_t)soff, dof = (loff_t)doff;
	uint8_t *buf = NULL;
	int rc = 0;

	while (len > 0) {
		ssize_t r = copy_file_range(src, &so, dst, &dof,
					    len > SIZE_MAX ? SIZE_MAX : (size_t)len,
					    0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EXDEV || errno == ENOSYS ||
			      errno == EINVAL || errno == EOPNOTSUPP ||
			      errno == EBADF))
			break;	/* fall back to read/write */
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;	/* source shorter than expected */
		len -= (uint64_t)r;
	}
	if (len == 0)
		return 0;
	buf = malloc(COPY_CHUNK);
	if (buf == NULL)
		return -ENOMEM;
	while (len > 0) {
		size_t n = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
		ssize_t r = pread(src, buf, n, so);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			break;
		}
		if ((rc = ckpt_pwrite_all(dst, buf, (size_t)r, (uint64_t)dof)) < 0)
			break;
		so += r;
		dof += r;
		len -= (uint64_t)r;
	}
	free(buf);
	return rc;
}

/* CKPT_TEST_CLONE=copy: every filesystem seems to share blocks, and
 * sharing them copies (see bundle_writer.h). */
static bool
clone_emulated(void)
{
	const char *v = getenv("CKPT_TEST_CLONE");

	return v != NULL && strcmp(v, "copy") == 0;
}

/* Make DST's LEN bytes at DOFF share SRC's blocks at SOFF (offsets and
 * LEN whole blocks).  Return 0 or a negative errno. */
static int
clone_range(int src, uint64_t soff, int dst, uint64_t doff, uint64_t len)
{
	struct file_clone_range r = {
		.src_fd = src,
		.src_offset = soff,
		.src_length = len,
		.dest_offset = doff,
	};

	if (clone_emulated())	/* as strict as the kernel about blocks */
		return (soff | doff | len) % 4096 != 0
			       ? -EINVAL
			       : ckpt_copy_range(src, soff, dst, doff, len);
	while (ioctl(dst, FICLONERANGE, &r) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Whether blocks of SRC (whose status is ST) can be shared by the files
 * W makes: one is shared with a file that has no name, gone when closed.
 * Sets *BLK to the block size to align to.  A filesystem without the
 * means (ext4, tmpfs), or another one than SRC's, says no. */
static bool
can_clone(const struct ckpt_writer *w, int src, const struct stat *st,
	  uint64_t *blk)
{
	struct statvfs vfs;
	uint64_t b;
	int fd;
	bool ok;

	*blk = 4096;
	if (!S_ISREG(st->st_mode) || st->st_size <= 0)
		return false;
	if (clone_emulated())
		return true;
	fd = openat(w->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	b = fstatvfs(fd, &vfs) == 0 ? vfs.f_bsize : 0;
	if (b < 4096)
		b = 4096;	/* (aligned to a smaller block too) */
	ok = (b & (b - 1)) == 0 && b <= ((uint64_t)1 << 20) &&
	     clone_range(src, 0, fd, 0,
			 (uint64_t)st->st_size < b ? 0 : b) == 0;
	close(fd);
	if (ok)
		*blk = b;
	return ok;
}

/* Whether W's files can share the blocks of file SRC (not empty): probed
 * again only when SRC's filesystem is not the last one probed. */
static bool
shares_with(struct ckpt_writer *w, int src)
{
	struct stat st;

	if (fstat(src, &st) < 0)
		return false;
	if (!w->probed || st.st_dev != w->probe_dev) {
		w->probed = true;
		w->probe_dev = st.st_dev;
		w->probe_ok = can_clone(w, src, &st, &w->blk);
	}
	return w->probe_ok;
}

/* Whether LEN bytes from SOFF placed at DST should share their whole
 * blocks: they are at the same place in a block as in the source, or
 * moving them *PAD bytes further puts them there and shares
 * CLONE_MIN_BLOCKS whole blocks or more. */
static bool
worth_sharing(const struct ckpt_writer *w, uint64_t soff, uint64_t dst,
	      uint64_t len, uint64_t *pad)
{
	uint64_t mask = w->blk - 1, at;

	*pad = (soff - dst) & mask;
	at = dst + *pad;
	return *pad == 0 ||
	       ((at + len) & ~mask) >=
		       ((at + mask) & ~mask) + CLONE_MIN_BLOCKS * w->blk;
}

/* Put LEN bytes of SRC at SOFF into shard S of W at DST (at the same
 * place in a block): the whole blocks shared, the partial ones around
 * them (holding other bytes in the source) copied; copied whole if
 * sharing fails. */
static int
share_range(struct ckpt_writer *w, struct wshard *s, int src, uint64_t soff,
	    uint64_t dst, uint64_t len)
{
	uint64_t mask = w->blk - 1, end = dst + len;
	uint64_t a = (dst + mask) & ~mask, z = end & ~mask;
	int rc;

	if (a >= z)
		return ckpt_copy_range(src, soff, s->fd, dst, len);
	rc = ckpt_copy_range(src, soff, s->fd, dst, a - dst);
	if (rc == 0 &&
	    clone_range(src, soff + (a - dst), s->fd, a, z - a) < 0) {
		w->probe_ok = false;	/* not from this filesystem */
		rc = ckpt_copy_range(src, soff + (a - dst), s->fd, a, z - a);
	}
	if (rc == 0)
		rc = ckpt_copy_range(src, soff + (z - dst), s->fd, z, end - z);
	return rc;
}

/* Copy (or share) the bytes of S's run, if any: first moved to where its
 * whole blocks can be shared if there are enough of them (its entries
 * with it: nothing was placed after it in S). */
static int
flush_run(struct ckpt_writer *w, struct wshard *s, struct ckpt_err *err)
{
	struct run *r = &s->run;
	uint64_t pad = 0;
	int rc;

	if (r->len == 0)
		return 0;
	if (r->share && worth_sharing(w, r->src, r->dst, r->len, &pad)) {
		for (size_t i = r->first; pad != 0 && i < w->n; i++)
			if (w->e[i].shard == (int32_t)(s - w->shards) &&
			    w->e[i].nslices == 0)
				w->e[i].offset += pad;
		r->dst += pad;
		s->off += pad;
		rc = share_range(w, s, r->fd, r->src, r->dst, r->len);
	} else {
		rc = ckpt_copy_range(r->fd, r->src, s->fd, r->dst, r->len);
	}
	r->len = 0;
	if (rc < 0) {
		const struct wentry *e = &w->e[r->first];

		w->failed = true;
		return ckpt_fail(err, rc, "%s: copying tensor '%.*s'%s: %s",
				 s->tmp, (int)e->klen, (const char *)e->key,
				 r->count > 1 ? " and the ones after it" : "",
				 strerror(-rc));
	}
	return 0;
}

int
ckpt_writer_add_copy(struct ckpt_writer *w, const void *key, size_t klen,
		     int dtype, const int64_t *dims, int rank, int src_fd,
		     uint64_t src_off, uint64_t size, uint32_t crc,
		     struct ckpt_err *err)
{
	struct wshard *s = &w->shards[w->cur];
	struct run *r = &s->run;
	struct wentry *e;
	int rc;

	if ((rc = check_meta(key, klen, dtype, dims, rank, size, err)) < 0)
		return rc;
	if (size == 0) {
		if ((rc = new_entry(w, key, klen, dtype, dims, rank, &e)) < 0)
			return rc;
		e->crc = crc;
		return 0;
	}
	/* A run goes on while its tensors lie back to back in one file. */
	if (r->len > 0 && (r->fd != src_fd || r->src + r->len != src_off) &&
	    (rc = flush_run(w, s, err)) < 0)
		return rc;
	if ((rc = new_entry(w, key, klen, dtype, dims, rank, &e)) < 0)
		return rc;
	if (r->len == 0)
		*r = (struct run){ .fd = src_fd, .src = src_off, .dst = s->off,
				   .first = w->n - 1,
				   .share = shares_with(w, src_fd) };
	r->len += size;
	r->count++;
	e->size = size;
	e->crc = crc;
	s->off += size;
	return 0;
}

/* The bytes whose order a value of DTYPE has (each half of a complex
 * number), or 0 for strings and variants. */
static size_t
swap_unit(int dtype)
{
	size_t es = ckpt_dtype_size(dtype);

	return dtype == CKPT_DT_COMPLEX64 || dtype == CKPT_DT_COMPLEX128
		       ? es / 2
		       : es;
}

/* Reverse each UNIT bytes of BUF (LEN, whole units). */
static void
swap_units(uint8_t *buf, size_t len, size_t unit)
{
	for (size_t i = 0; unit > 1 && i + unit <= len; i += unit)
		for (size_t a = i, b = i + unit - 1; a < b; a++, b--) {
			uint8_t x = buf[a];

			buf[a] = buf[b];
			buf[b] = x;
		}
}

/* Whether the N bytes at P are all zeros. */
static bool
all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Make file FD at least END bytes long (holes past its end). */
static int
extend_to(int fd, uint64_t end)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < end && ftruncate(fd, (off_t)end) < 0)
		return -errno;
	return 0;
}

int
ckpt_writer_add_fd(struct ckpt_writer *w, const void *key, size_t klen,
		   int dtype, const int64_t *dims, int rank, int src_fd,
		   uint64_t src_off, uint64_t size, struct ckpt_err *err)
{
	return ckpt_writer_add_fd_order(w, key, klen, dtype, dims, rank,
					src_fd, src_off, size, false, err);
}

/* -EINVAL with a message if the bytes of DTYPE cannot be converted to
 * the other byte order here (SWAP: they are to be), else 0. */
static int
check_swap(const void *key, size_t klen, int dtype, bool swap,
	   struct ckpt_err *err)
{
	if (!swap || swap_unit(dtype) != 0)
		return 0;
	return ckpt_fail(err, -EINVAL,
			 "tensor '%.*s': %s bytes are not converted to the "
			 "other byte order here",
			 (int)klen, (const char *)key, ckpt_dtype_name(dtype));
}

/* The offset of a whole tensor's only run (ckpt_writer_add_fd_gather()):
 * *ARG. */
static uint64_t
whole_run(const void *arg, uint64_t r)
{
	(void)r;
	return *(const uint64_t *)arg;
}

int
ckpt_writer_add_fd_order(struct ckpt_writer *w, const void *key,
			 size_t klen, int dtype, const int64_t *dims, int rank,
			 int src_fd, uint64_t src_off, uint64_t size,
			 bool swap, struct ckpt_err *err)
{
	uint8_t *buf;
	int rc;

	if ((rc = check_meta(key, klen, dtype, dims, rank, size, err)) < 0 ||
	    (rc = check_swap(key, klen, dtype, swap, err)) < 0)
		return rc;
	if (ckpt_dtype_size(dtype) == 0) {
		/* Strings and variants are checked whole: read them. */
		buf = size > SIZE_MAX ? NULL : malloc(size ? (size_t)size : 1);
		if (buf == NULL)
			return ckpt_fail(err, -ENOMEM,
					 "tensor '%.*s': its %" PRIu64 " bytes "
					 "of %s do not fit in memory, where "
					 "they are checked",
					 (int)klen, (const char *)key, size,
					 ckpt_dtype_name(dtype));
		rc = ckpt_pread_full(src_fd, buf, (size_t)size, src_off);
		if (rc < 0) {
			free(buf);
			return ckpt_fail(err, rc, "reading tensor '%.*s': %s",
					 (int)klen, (const char *)key,
					 rc == -EIO ? "short file"
						    : strerror(-rc));
		}
		rc = ckpt_writer_add(w, key, klen, dtype, dims, rank, buf,
				     (size_t)size, err);
		free(buf);
		return rc;
	}
	return ckpt_writer_add_fd_gather(w, key, klen, dtype, dims, rank,
					 src_fd, size, whole_run, &src_off,
					 swap, err);
}

int
ckpt_writer_add_fd_gather(struct ckpt_writer *w, const void *key,
			  size_t klen, int dtype, const int64_t *dims,
			  int rank, int src_fd, uint64_t run,
			  uint64_t (*run_off)(const void *arg, uint64_t r),
			  const void *arg, bool swap, struct ckpt_err *err)
{
	struct wshard *s = &w->shards[w->cur];
	struct wentry *e;
	uint8_t *buf;
	uint32_t crc = 0;
	uint64_t done = 0, size = 0, es = ckpt_dtype_size(dtype);
	size_t unit = swap ? swap_unit(dtype) : 0;
	int rc;

	if (ckpt_shape_elems(dims, rank, &size) < 0 || es == 0 ||
	    size > UINT64_MAX / es)
		size = UINT64_MAX;	/* (refused by check_meta()) */
	else
		size *= es;
	if ((rc = check_meta(key, klen, dtype, dims, rank, size, err)) < 0)
		return rc;
	if (es == 0)
		return ckpt_fail(err, -EINVAL,
				 "tensor '%.*s': %s values have no fixed size "
				 "to gather in runs",
				 (int)klen, (const char *)key,
				 ckpt_dtype_name(dtype));
	if (size != 0 && (run == 0 || run % es != 0 || size % run != 0))
		return ckpt_fail(err, -EINVAL,
				 "tensor '%.*s': runs of %" PRIu64 " bytes do "
				 "not make up %s values of its shape",
				 (int)klen, (const char *)key, run,
				 ckpt_dtype_name(dtype));
	if ((rc = check_swap(key, klen, dtype, swap, err)) < 0 ||
	    (rc = flush_run(w, s, err)) < 0)
		return rc;
	buf = malloc(COPY_CHUNK);
	if (buf == NULL)
		return -ENOMEM;
	if ((rc = new_entry(w, key, klen, dtype, dims, rank, &e)) < 0)
		goto out;
	while (done < size) {
		uint64_t in = done % run, left = run - in;
		uint64_t src_off = run_off(arg, done / run) + in;
		size_t n = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
		ssize_t r;

		/* (whole values when converting: a run is whole values, and
		 * COPY_CHUNK a multiple of every unit) */
		if (unit > 1) {
			rc = ckpt_pread_full(src_fd, buf, n, src_off);
			r = rc < 0 ? -1 : (ssize_t)n;
			if (rc == -EIO)
				r = 0;
			else if (rc < 0)
				errno = -rc;
			else
				swap_units(buf, n, unit);
		} else {
			r = pread(src_fd, buf, n, (off_t)src_off);
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			w->failed = true;
			rc = ckpt_fail(err, r < 0 ? -errno : -EIO,
				       "reading tensor '%.*s': %s", (int)klen,
				       (const char *)key,
				       r < 0 ? strerror(errno) : "short file");
			goto out;
		}
		crc = ckpt_crc32c_extend(crc, buf, (size_t)r);
		/* A chunk of zeros (a sparse file's hole, as often) is left
		 * a hole: the data file is made as long at the end. */
		if ((size_t)r == COPY_CHUNK && all_zero(buf, (size_t)r))
			rc = 0;
		else
			rc = ckpt_pwrite_all(s->fd, buf, (size_t)r,
					     s->off + done);
		if (rc < 0) {
			w->failed = true;
			ckpt_fail(err, rc, "%s: %s", s->tmp, strerror(-rc));
			goto out;
		}
		done += (uint64_t)r;
	}
	if ((rc = extend_to(s->fd, s->off + size)) < 0) {
		w->failed = true;
		ckpt_fail(err, rc, "%s: %s", s->tmp, strerror(-rc));
		goto out;
	}
	e->size = size;
	e->crc = ckpt_crc_mask(crc);
	s->off += size;
out:
	free(buf);
	return rc;
}

int
ckpt_writer_add_partitioned(struct ckpt_writer *w, const void *key,
			    size_t klen, int dtype, const int64_t *dims,
			    int rank, const struct ckpt_extent *slices,
			    size_t nslices, struct ckpt_err *err)
{
	struct wentry *e;
	int rc;

	if (nslices == 0 || rank <= 0 ||
	    (ckpt_dtype_size(dtype) == 0 && dtype != CKPT_DT_STRING))
		return ckpt_fail(err, -EINVAL,
				 "tensor '%.*s': a partitioned tensor needs a "
				 "fixed-size or string dtype, rank >= 1 and "
				 "slices",
				 (int)klen, (const char *)key);
	for (size_t i = 0; i < nslices * (size_t)rank; i++) {
		const struct ckpt_extent *x = &slices[i];
		int64_t d = dims[i % (size_t)rank];

		if (x->length == -1 ? x->start != 0
				    : x->start < 0 || x->length < 0 ||
					      x->start > d ||
					      x->length > d - x->start)
			return ckpt_fail(err, -EINVAL,
					 "tensor '%.*s': slice %zu is outside "
					 "the shape",
					 (int)klen, (const char *)key,
					 i / (size_t)rank);
	}
	{
		uint64_t elems;

		if (klen == 0 || ckpt_shape_elems(dims, rank, &elems) < 0)
			return ckpt_fail(err, -EINVAL,
					 "tensor '%.*s': invalid key or shape",
					 (int)klen, (const char *)key);
	}
	if ((rc = new_entry(w, key, klen, dtype, dims, rank, &e)) < 0)
		return rc;
	e->shard = 0;
	e->offset = 0;
	e->slices = calloc(nslices * (size_t)rank, sizeof(*e->slices));
	if (e->slices == NULL) {
		w->failed = true;	/* a half-made entry: no finish */
		return -ENOMEM;	/* (freed with the writer) */
	}
	memcpy(e->slices, slices, nslices * (size_t)rank * sizeof(*slices));
	e->nslices = nslices;
	return 0;
}

/* qsort() order of entries: bytewise keys. */
static int
cmp_wentry(const void *a, const void *b)
{
	const struct wentry *x = a, *y = b;

	return ckpt_key_cmp(x->key, x->klen, y->key, y->klen);
}

/* Serialize entry E as a BundleEntryProto into OUT. */
static int
pack_entry(const struct wentry *e, struct ckpt_buf *out)
{
	Ckptpb__BundleEntryProto pe = CKPTPB__BUNDLE_ENTRY_PROTO__INIT;
	Ckptpb__TensorShapeProto shape = CKPTPB__TENSOR_SHAPE_PROTO__INIT;
	Ckptpb__TensorShapeProto__Dim *dimv = NULL, **dimp = NULL;
	Ckptpb__TensorSliceProto *slv = NULL, **slp = NULL;
	Ckptpb__TensorSliceProto__Extent *xv = NULL, **xp = NULL;
	size_t nx = e->nslices * (size_t)e->rank, len;
	int rc = -ENOMEM;

	dimv = calloc(e->rank ? (size_t)e->rank : 1, sizeof(*dimv));
	dimp = calloc(e->rank ? (size_t)e->rank : 1, sizeof(*dimp));
	slv = calloc(e->nslices ? e->nslices : 1, sizeof(*slv));
	slp = calloc(e->nslices ? e->nslices : 1, sizeof(*slp));
	xv = calloc(nx ? nx : 1, sizeof(*xv));
	xp = calloc(nx ? nx : 1, sizeof(*xp));
	if (!dimv || !dimp || !slv || !slp || !xv || !xp)
		goto out;
	for (int i = 0; i < e->rank; i++) {
		ckptpb__tensor_shape_proto__dim__init(&dimv[i]);
		dimv[i].size = e->dims[i];
		dimp[i] = &dimv[i];
	}
	shape.n_dim = (size_t)e->rank;
	shape.dim = dimp;
	pe.dtype = e->dtype;
	pe.shape = &shape;	/* always written, even for scalars */
	pe.shard_id = e->shard;
	pe.offset = (int64_t)e->offset;
	pe.size = (int64_t)e->size;
	pe.crc32c = e->crc;
	for (size_t s = 0; s < e->nslices; s++) {
		ckptpb__tensor_slice_proto__init(&slv[s]);
		slv[s].n_extent = (size_t)e->rank;
		slv[s].extent = &xp[s * (size_t)e->rank];
		slp[s] = &slv[s];
	}
	for (size_t i = 0; i < nx; i++) {
		ckptpb__tensor_slice_proto__extent__init(&xv[i]);
		xv[i].start = e->slices[i].start;
		if (e->slices[i].length >= 0) {
			xv[i].has_length_case =
				CKPTPB__TENSOR_SLICE_PROTO__EXTENT__HAS_LENGTH_LENGTH;
			xv[i].length = e->slices[i].length;
		}
		xp[i] = &xv[i];
	}
	if (e->nslices > 0) {
		pe.n_slices = e->nslices;
		pe.slices = slp;
		pe.shard_id = 0;
		pe.offset = 0;
		pe.size = 0;
		pe.crc32c = 0;
	}
	len = ckptpb__bundle_entry_proto__get_packed_size(&pe);
	out->len = 0;
	if ((rc = ckpt_buf_reserve(out, len)) < 0)
		goto out;
	out->len = ckptpb__bundle_entry_proto__pack(&pe, out->data);
	rc = 0;
out:
	free(dimv);
	free(dimp);
	free(slv);
	free(slp);
	free(xv);
	free(xp);
	return rc;
}

/* Serialize the header into OUT. */
static int
pack_header(const struct ckpt_writer *w, struct ckpt_buf *out)
{
	Ckptpb__BundleHeaderProto h = CKPTPB__BUNDLE_HEADER_PROTO__INIT;
	Ckptpb__VersionDef v = CKPTPB__VERSION_DEF__INIT;
	size_t len;
	int rc;

	h.num_shards = w->opts.num_shards;
	h.endianness = w->opts.endianness;
	v.producer = w->opts.producer;
	v.min_consumer = w->opts.min_consumer;
	h.version = &v;
	len = ckptpb__bundle_header_proto__get_packed_size(&h);
	out->len = 0;
	if ((rc = ckpt_buf_reserve(out, len)) < 0)
		return rc;
	out->len = ckptpb__bundle_header_proto__pack(&h, out->data);
	return 0;
}


/* Build the index table in memory. */
static int
build_index(struct ckpt_writer *w, struct ckpt_buf *table,
	    struct ckpt_err *err)
{
	struct ckpt_table_opts to = { 0 };
	struct ckpt_table_builder *tb = NULL;
	struct ckpt_buf val = { 0 };
	int rc;

	to.compression = w->opts.compression;
	if ((rc = ckpt_table_builder_new(&to, &tb)) < 0)
		return rc;
	if ((rc = pack_header(w, &val)) < 0 ||
	    (rc = ckpt_table_builder_add(tb, "", 0, val.data, val.len)) < 0)
		goto out;
	for (size_t i = 0; i < w->n; i++) {
		if ((rc = pack_entry(&w->e[i], &val)) < 0)
			goto out;
		rc = ckpt_table_builder_add(tb, w->e[i].key, w->e[i].klen,
					    val.data, val.len);
		if (rc < 0)
			goto out;
	}
	rc = ckpt_table_builder_finish(tb, table);
out:
	if (rc < 0)
		ckpt_fail(err, rc, "%s.index: cannot build the index: %s",
			  w->prefix, strerror(-rc));
	ckpt_buf_free(&val);
	ckpt_table_builder_free(tb);
	return rc;
}

/* Write TABLE to a new temporary file for INDEX, fsync()ed and closed. */
static int
write_index_tmp(struct ckpt_writer *w, const char *index,
		const struct ckpt_buf *table, struct ckpt_err *err)
{
	int fd, rc;

	if ((w->index_tmp = temp_name(index)) == NULL)
		return -ENOMEM;
	if ((fd = create_file(w, w->index_tmp, err)) < 0)
		return fd;
	rc = ckpt_pwrite_all(fd, table->data, table->len, 0);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		return ckpt_fail(err, rc, "%s: %s", w->index_tmp,
				 strerror(-rc));
	return 0;
}

/* fsync() W's directory, so that a rename in it is durable; a message
 * naming PATH if not. */
static int
sync_dir_of(const struct ckpt_writer *w, const char *path,
	    struct ckpt_err *err)
{
	if (fsync(w->dirfd) < 0 && errno != EINVAL)
		return ckpt_fail(err, -errno, "%s: syncing the directory: %s",
				 path, strerror(errno));
	return 0;
}

/* Rename FROM to TO in W's directory: 0, or -1 with errno set (ENOSPC
 * where the test-only CKPT_TEST_FAIL names POINT). */
static int
renamed(const struct ckpt_writer *w, const char *from, const char *to,
	const char *point)
{
	if (ckpt_test_fail(point) < 0) {
		errno = ENOSPC;
		return -1;
	}
	return renameat(w->dirfd, base_of(from), w->dirfd, base_of(to));
}

/* Move the file at PATH (in W's directory), if any, to a temporary name
 * kept in *ASIDE.  Return 0 or a negative errno with a message. */
static int
move_aside(struct ckpt_writer *w, const char *path, char **aside,
	   struct ckpt_err *err)
{
	char *tmp = temp_name(base_of(path));
	int e;

	if (tmp == NULL)
		return ckpt_fail(err, -ENOMEM, "%s: %s", path,
				 strerror(ENOMEM));
	if (renameat(w->dirfd, base_of(path), w->dirfd, tmp) < 0) {
		e = errno;
		free(tmp);
		return e == ENOENT ? 0
				   : ckpt_fail(err, -e, "%s: %s", path,
					       strerror(e));
	}
	*aside = tmp;
	return 0;
}

/* After a failure before the new index is in place: the old checkpoint's
 * files back where they were, data first (never an index over other
 * data), and the new data placed so far removed.  Best effort: what
 * cannot be put back stays under its temporary name, said in ERR (a
 * later write of the prefix removes it), and data without its index is
 * no checkpoint. */
static void
put_back(struct ckpt_writer *w, const char *index, struct ckpt_err *err)
{
	bool whole = true;
	char *tail = NULL;

	for (int32_t i = 0; i < w->opts.num_shards; i++) {
		struct wshard *s = &w->shards[i];

		if (s->old != NULL) {
			if (renameat(w->dirfd, base_of(s->old), w->dirfd,
				     base_of(s->final)) < 0) {
				whole = false;
				continue;
			}
			free(s->old);
			s->old = NULL;
			s->placed = false;	/* replaced */
		} else if (s->placed &&
			   unlinkat(w->dirfd, base_of(s->final), 0) == 0) {
			s->placed = false;
		}
	}
	/* (the data back on disk before the index) */
	if (whole && w->old_index != NULL && fsync(w->dirfd) == 0 &&
	    renameat(w->dirfd, base_of(w->old_index), w->dirfd,
		     base_of(index)) == 0) {
		free(w->old_index);
		w->old_index = NULL;
	}
	(void)fsync(w->dirfd);
	if (w->old_index != NULL &&
	    (whole ? asprintf(&tail,
			      "; the older checkpoint could not be put back: "
			      "rename %s to %s to have it back (a new "
			      "write-out removes it)",
			      w->old_index, base_of(index))
		   : asprintf(&tail,
			      "; the older checkpoint could not be put back: "
			      "its files are left as %s.*tempstate* (a new "
			      "write-out removes them)",
			      base_of(w->prefix))) >= 0)
		ckpt_err_append(err, tail, true);
	free(tail);
}

/* The new checkpoint in place: the old one's files moved aside go. */
static void
drop_aside(struct ckpt_writer *w)
{
	for (int32_t i = 0; i < w->opts.num_shards; i++) {
		struct wshard *s = &w->shards[i];

		if (s->old != NULL)
			(void)unlinkat(w->dirfd, base_of(s->old), 0);
		free(s->old);
		s->old = NULL;
	}
	if (w->old_index != NULL)
		(void)unlinkat(w->dirfd, base_of(w->old_index), 0);
	free(w->old_index);
	w->old_index = NULL;
}

int
ckpt_writer_finish(struct ckpt_writer *w, struct ckpt_err *err)
{
	struct ckpt_buf table = { 0 };
	char *index = NULL;
	int rc;

	if (w->finished || w->failed)
		return ckpt_fail(err, -EINVAL, "%s: writer cannot finish",
				 w->prefix);
	for (int32_t i = 0; i < w->opts.num_shards; i++)
		if ((rc = flush_run(w, &w->shards[i], err)) < 0)
			return rc;
	if (w->n > 1)	/* (W->E is NULL while empty) */
		qsort(w->e, w->n, sizeof(*w->e), cmp_wentry);
	for (size_t i = 1; i < w->n; i++)
		if (cmp_wentry(&w->e[i - 1], &w->e[i]) == 0)
			return ckpt_fail(err, -EEXIST,
					 "%s: tensor '%.*s' was added twice",
					 w->prefix, (int)w->e[i].klen,
					 (const char *)w->e[i].key);
	if ((rc = build_index(w, &table, err)) < 0)
		goto out;
	if (asprintf(&index, "%s.index", w->prefix) < 0) {
		index = NULL;
		rc = -ENOMEM;
		goto out;
	}
	/* 1. Every file complete and on disk under its temporary name (a
	 * full disk fails here, with the output name untouched). */
	for (int32_t i = 0; i < w->opts.num_shards; i++) {
		struct wshard *s = &w->shards[i];

		int fd = s->fd, e = fsync(fd) < 0 ? errno : 0;

		s->fd = -1;
		if (close(fd) < 0 && e == 0)
			e = errno;
		if (e != 0) {
			rc = ckpt_fail(err, -e, "%s: %s", s->tmp, strerror(e));
			goto out;
		}
	}
	/* (the copies all made: a change of their source from here on
	 * cannot reach them) */
	if (w->opts.watch != NULL && ckpt_bundle_poll(w->opts.watch)) {
		rc = ckpt_fail(err, -ESTALE,
			       "%s: a data file of the source changed while "
			       "its tensors were copied; nothing was written",
			       w->prefix);
		goto out;
	}
	if ((rc = write_index_tmp(w, index, &table, err)) < 0)
		goto out;
	ckpt_test_crash("after-data");
	/* 2. No index: what is at the output name stops being a checkpoint
	 * before any of its data is replaced.  The old checkpoint's files
	 * are moved aside, not removed, until the new index is in place:
	 * a failure until then (a rename refused in a full directory) puts
	 * them back. */
	if ((rc = move_aside(w, index, &w->old_index, err)) < 0)
		goto out;
	if ((rc = sync_dir_of(w, index, err)) < 0)
		goto out;
	ckpt_test_crash("after-index-unlink");
	/* 3. The data into place. */
	for (int32_t i = 0; i < w->opts.num_shards; i++) {
		struct wshard *s = &w->shards[i];
		char point[32];

		snprintf(point, sizeof(point), "data-rename-%d", (int)i);
		if ((rc = move_aside(w, s->final, &s->old, err)) < 0)
			goto out;
		if (renamed(w, s->tmp, s->final, point) < 0) {
			rc = ckpt_fail(err, -errno, "%s: %s", s->final,
				       strerror(errno));
			goto out;
		}
		free(s->tmp);
		s->tmp = NULL;
		s->placed = true;
	}
	if ((rc = sync_dir_of(w, index, err)) < 0)
		goto out;
	ckpt_test_crash("before-index-rename");
	/* 4. The index last: now the checkpoint exists. */
	if (renamed(w, w->index_tmp, index, "index-rename") < 0) {
		rc = ckpt_fail(err, -errno, "%s: %s", index, strerror(errno));
		goto out;
	}
	free(w->index_tmp);
	w->index_tmp = NULL;
	w->finished = true;
	rc = sync_dir_of(w, index, err);
	ckpt_test_crash("after-index-rename");
	drop_aside(w);
	remove_stale(w, true, w->opts.num_shards);
out:
	if (rc < 0 && !w->finished && index != NULL)
		put_back(w, index, err);
	free(index);
	ckpt_buf_free(&table);
	return rc;
}

void
ckpt_writer_free(struct ckpt_writer *w)
{
	if (w == NULL)
		return;
	for (int32_t i = 0; w->shards != NULL && i < w->opts.num_shards; i++) {
		struct wshard *s = &w->shards[i];

		if (s->fd >= 0)
			close(s->fd);
		if (s->tmp != NULL)
			unlinkat(w->dirfd, base_of(s->tmp), 0);
		/* Data an unfinished writer renamed into place has no index
		 * (the old one was removed first): not a checkpoint, only
		 * litter. */
		if (!w->finished && s->placed)
			unlinkat(w->dirfd, base_of(s->final), 0);
		free(s->tmp);
		free(s->final);
		free(s->old);
	}
	if (w->index_tmp != NULL)
		unlinkat(w->dirfd, base_of(w->index_tmp), 0);
	free(w->index_tmp);
	free(w->old_index);
	if (w->opts.dirfd == NULL && w->dirfd >= 0)
		close(w->dirfd);
	for (size_t i = 0; i < w->n; i++) {
		if (!w->opts.borrow) {
			free((void *)(uintptr_t)w->e[i].key);
			free((void *)(uintptr_t)w->e[i].dims);
		}
		free(w->e[i].slices);
	}
	free(w->e);
	free(w->shards);
	free(w->prefix);
	free(w);
}

/* qsort() order for rewriting: data order (shard, offset, size). */
static int
cmp_data_order(const void *a, const void *b)
{
	const struct ckpt_entry *x = *(const struct ckpt_entry *const *)a;
	const struct ckpt_entry *y = *(const struct ckpt_entry *const *)b;

	if (x->shard_id != y->shard_id)
		return x->shard_id < y->shard_id ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return ckpt_key_cmp(x->key, x->key_len, y->key, y->key_len);
}

int
ckpt_bundle_rewrite(const struct ckpt_bundle *b, const char *prefix,
		    const int *dirfd, struct ckpt_err *err)
{
	struct ckpt_writer_opts o = { .dirfd = dirfd };
	const struct ckpt_entry **order = NULL;
	struct ckpt_writer *w = NULL;
	size_t n = 0;
	int rc;

	o.compression = b->index_compression;
	o.endianness = b->hdr.endianness;
	o.producer = b->hdr.producer;
	o.min_consumer = b->hdr.min_consumer;
	/* Each shard gets its own tensors back, in their order. */
	o.num_shards = b->hdr.num_shards > 0 ? b->hdr.num_shards : 1;
	if ((rc = ckpt_writer_new(prefix, &o, &w, err)) < 0)
		return rc;
	order = calloc(b->n ? b->n : 1, sizeof(*order));
	if (order == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < b->n; i++)
		if (b->entries[i].nparts == 0)
			order[n++] = &b->entries[i];
	qsort(order, n, sizeof(*order), cmp_data_order);
	for (size_t i = 0; i < n; i++) {
		const struct ckpt_entry *e = order[i];
		uint64_t foff = 0, run = 0;
		int fd = -1;

		if (ckpt_entry_is_bad(e)) {
			rc = ckpt_fail(err, -EBADMSG, "%s",
				       ckpt_bundle_entry_bad(b, e));
			goto out;
		}
		if (e->size > 0 &&
		    (rc = ckpt_bundle_locate(b, e, 0, &fd, &foff, &run)) < 0) {
			rc = ckpt_fail(err, rc,
				       "%s: tensor '%.*s': %s",
				       b->prefix, (int)e->key_len, e->key,
				       rc == -ESTALE
					       ? "its data file changed "
						 "while it was copied"
					       : "its bytes are not all in its "
						 "data file");
			goto out;
		}
		if ((rc = ckpt_writer_select_shard(w, e->shard_id)) < 0)
			goto out;
		rc = ckpt_writer_add_copy(w, e->key, e->key_len, e->dtype,
					  e->dims, e->rank, fd, foff, e->size,
					  e->crc32c, err);
		if (rc < 0)
			goto out;
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct ckpt_entry *e = &b->entries[i];

		if (e->nparts == 0)
			continue;
		rc = ckpt_writer_add_partitioned(w, e->key, e->key_len, e->dtype,
						 e->dims, e->rank, e->slices,
						 e->nparts, err);
		if (rc < 0)
			goto out;
	}
	rc = ckpt_writer_finish(w, err);
out:
	free(order);
	ckpt_writer_free(w);
	return rc;
}

int
ckpt_state_write_new(int dirfd, const char *dir, const char *const *paths,
		     size_t n, struct ckpt_err *err)
{
	struct ckpt_buf text = { 0 };
	char *tmp = NULL;
	struct stat st;
	int fd, rc;

	/* (temporary files of a writer killed before it removed them) */
	remove_stale_in(dirfd, "checkpoint", false, 0);
	if (fstatat(dirfd, "checkpoint", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	if (errno != ENOENT)
		return ckpt_fail(err, -errno, "%s/checkpoint: %s", dir,
				 strerror(errno));
	if (ckpt_state_format(paths, n, &text) < 0 ||
	    (tmp = temp_name("checkpoint")) == NULL) {
		ckpt_buf_free(&text);
		return ckpt_fail(err, -ENOMEM, "out of memory");
	}
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = ckpt_pwrite_all(fd, text.data, text.len, 0)) == 0 &&
	    fsync(fd) < 0)
		rc = -errno;
	close(fd);
	/* Never over one made meanwhile. */
	if (rc == 0 && linkat(dirfd, tmp, dirfd, "checkpoint", 0) < 0)
		rc = errno == EEXIST ? 1 : -errno;
	unlinkat(dirfd, tmp, 0);
	if (rc == 0)
		(void)fsync(dirfd);
out:
	free(tmp);
	ckpt_buf_free(&text);
	if (rc < 0)
		return ckpt_fail(err, rc, "%s/checkpoint: %s", dir,
				 strerror(-rc));
	return rc;
}
