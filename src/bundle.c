/* bundle.c -- open a TensorBundle checkpoint and read its tensors.
 *
 * Opening reads PREFIX.index whole, decodes the header and every entry,
 * resolves partitioned tensors to their parts and checks every entry
 * against the header and the size of its shard, so a damaged index fails
 * here and not on a read an hour later.  After that the bundle is
 * immutable: reads are pread() on shard fds opened once, safe from any
 * number of threads.  Only this file and bundle_writer.c see the
 * generated protobuf-c code for the index. */
#include "config.h"

#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "objgraph.h"
#include "tensor.h"
#include "tensor_bundle.pb-c.h"

/* Largest index file we read into memory. */
#define MAX_INDEX_SIZE ((uint64_t)4 << 30)
/* And of a 'checkpoint' state file: a Saver keeping every checkpoint
 * lists thousands of paths in it. */
#define MAX_STATE_SIZE ((uint64_t)64 << 20)
/* Chunk size for streaming CRC checks: small enough that a chunk is still
 * in the L2 cache when its CRC is taken (1 MiB was 20-30% slower). */
#define VERIFY_CHUNK ((size_t)256 << 10)

/* One per key of a mounted checkpoint. */
_Static_assert(sizeof(struct ckpt_entry) <= 72,
	       "an index entry grew past 72 bytes");

struct shard {
	int32_t id;
	int fd;
	/* Why FD is -1 (open_file()'s error: -ENOENT, NOT_REGULAR, ...),
	 * or 0. */
	int open_err;
	uint64_t size;		/* when opened */
	/* Its size, modification and change times (ns) when last seen as
	 * the reads take it (at open, then at each ckpt_bundle_rebase()). */
	_Atomic int64_t seen_size, seen_mtime, seen_ctime;
	/* Found changed since (shard_stale()), until the next rebase. */
	atomic_bool stale;
	atomic_bool changed;	/* ever found so while open */
};

static void shard_seen(struct shard *sh, const struct stat *st);

/* Dims of many entries, allocated in chunks that never move. */
#define DIMS_CHUNK 16384
struct dims_chunk {
	struct dims_chunk *next;
	size_t used;
	int64_t v[DIMS_CHUNK];
};

/* A partitioned string tensor laid out as one stored string tensor
 * (FORMAT.md 5.3): its parts' lengths in the full tensor's order, then the
 * checksum of those lengths, then their bytes.  Built from the parts'
 * length varints at the first read; the bytes stay in the parts.
 *
 * When every part is one run of the whole (slices of whole rows, as
 * partitioners cut), the whole is the parts' varints one part after the
 * other, the checksum, then their strings one part after the other, and
 * the map holds three numbers per part.  Otherwise (slices across an
 * inner dimension) it holds about 28 bytes per element. */
struct strmap {
	uint64_t n;		/* elements */
	size_t bytes;		/* memory held (ckpt_bundle_map_bytes()) */
	/* One run per part: the parts by their first element (ORDER,
	 * nparts), where each one's varints start in the whole (VBEG,
	 * nparts + 1), where its strings start, counted from the first
	 * byte after the checksum (SBEG, nparts + 1), and where they are
	 * in its stored bytes (SAT).  NULL otherwise. */
	uint32_t *order;
	uint64_t *vbeg, *sbeg, *sat;
	/* Otherwise, per element: */
	uint64_t *voff;		/* n + 1: where element I's varint starts */
	uint64_t *soff;		/* n + 1: where its bytes start, counted
				 * from the first byte after the checksum */
	uint64_t *src;		/* n: where they are in its part's bytes */
	uint32_t *part;		/* n: its part */
	uint8_t lsum[4];	/* the length checksum, as stored */
};

struct ckpt_bundle_priv {
	struct shard *shards;	/* owned; sorted by id */
	size_t nshards;
	char *keys;		/* owned: every key, NUL-terminated */
	struct dims_chunk *dims;	/* owned: every entry's dims */
	struct ckpt_extent *ext;	/* owned: slice extents, stored and resolved */
	struct ckpt_part *parts;	/* owned */
	/* Partitioned string tensors: the full entry's OFFSET is its slot
	 * here; a map is built once, under STRMAP_LOCK, and kept. */
	struct strmap **strmaps;	/* owned */
	size_t nstrmaps;
	pthread_mutex_t strmap_lock;
	/* The entries that could not be used (b->nbad of them), in entry
	 * order, each with why. */
	struct bad_entry *bad;	/* owned */
	size_t capbad;
};

struct bad_entry {
	size_t i;		/* in b->entries */
	char *msg;		/* owned */
	/* Where its bytes are, as its entry said, when it said so (no
	 * slices, some bytes; the shard maybe out of range): for a
	 * salvage. */
	bool located;
	int32_t shard_id;
	uint32_t crc32c;
	uint64_t offset, size;
};

static void
strmap_free(struct strmap *m)
{
	if (m == NULL)
		return;
	free(m->order);
	free(m->vbeg);
	free(m->sbeg);
	free(m->sat);
	free(m->voff);
	free(m->soff);
	free(m->src);
	free(m->part);
	free(m);
}

/* Room for N dims (N <= CKPT_MAX_RANK) that stays put; NULL on ENOMEM. */
static int64_t *
dims_alloc(struct ckpt_bundle_priv *pv, size_t n)
{
	struct dims_chunk *c = pv->dims;

	if (c == NULL || DIMS_CHUNK - c->used < n) {
		c = malloc(sizeof(*c));
		if (c == NULL)
			return NULL;
		c->next = pv->dims;
		c->used = 0;
		pv->dims = c;
	}
	c->used += n;
	return &c->v[c->used - n];
}

/* Join DIR and NAME with a '/'; malloc()ed or NULL. */
static char *
path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = malloc(dl + nl + 2);

	if (p == NULL)
		return NULL;
	memcpy(p, dir, dl);
	if (dl > 0 && dir[dl - 1] == '/')
		dl--;		/* "dir/" and "dir" alike */
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

/* PATH made absolute (not resolving symlinks, so the name the user gave
 * for the prefix is kept); malloc()ed or NULL. */
static char *
absolute_path(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	return path_join(cwd, path);
}

/* What open_file() returns for a path that is not a regular file. */
#define NOT_REGULAR (-EINVAL)

/* The text of open_file()'s error RC. */
static const char *
open_error(int rc)
{
	return rc == NOT_REGULAR ? "not a regular file" : strerror(-rc);
}

/* Open PATH for reading, if it is a regular file (following symbolic
 * links): a FIFO would block open(2) and read(2) forever, a directory or
 * a device is no checkpoint file, and none of them is opened.  Return the
 * descriptor (its fstat() in ST), or -errno, or NOT_REGULAR. */
static int
open_file(const char *path, struct stat *st)
{
	char self[64];
	struct stat again;
	int pfd, fd;

	/* Looked at before it is opened: opening a device may do something
	 * (a tape rewinds, a watchdog arms), even if it is never read. */
	if ((pfd = open(path, O_PATH | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(pfd, st) < 0) {
		fd = -errno;
		close(pfd);
		return fd;
	}
	if (!S_ISREG(st->st_mode)) {
		close(pfd);
		return NOT_REGULAR;
	}
	/* The file looked at, not what the name is now; by the name again
	 * where /proc is missing, if it is still the same file. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		fd = -errno;
	close(pfd);
	if (fd >= 0 && (fstat(fd, &again) < 0 || again.st_dev != st->st_dev ||
			again.st_ino != st->st_ino)) {
		close(fd);
		fd = -ESTALE;
	}
	return fd;
}

/* Read a whole small file into a malloc()ed, NUL-terminated buffer.
 * Return 0, -EFBIG (larger than MAX), or an error of open_file(). */
static int
slurp(const char *path, uint64_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, rc = 0;

	fd = open_file(path, &st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			free(buf);
			goto out;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
out:
	close(fd);
	return rc;
}

/* True if PATH.index is there: PATH is a prefix, whatever it looks like. */
static bool
index_at(const char *path)
{
	struct stat st;
	char *idx = malloc(strlen(path) + 7);
	bool there;

	if (idx == NULL)
		return false;
	sprintf(idx, "%s.index", path);
	there = stat(idx, &st) == 0;
	free(idx);
	return there;
}

/* If PATH names a data file, PREFIX.data-A-of-B, and is not a prefix
 * itself (PATH.index is not there): where ".data-" starts, with A and B
 * set.  Else NULL. */
static const char *
shard_suffix(const char *path, unsigned *a, unsigned *b)
{
	const char *d = strstr(path, ".data-"), *next;
	char again[64];
	int n = 0;

	if (d == NULL)
		return NULL;
	while ((next = strstr(d + 1, ".data-")) != NULL)
		d = next;	/* the last: a prefix may hold ".data-" */
	/* As TensorFlow names them ("%05d-of-%05d"), nothing else: no
	 * sign, blank or extra zero, no number beyond 32 bits. */
	if (strspn(d + 6, "0123456789-of") != strlen(d + 6) ||
	    sscanf(d, ".data-%u-of-%u%n", a, b, &n) != 2 || d[n] != '\0' ||
	    *a > INT32_MAX || *b > INT32_MAX ||
	    snprintf(again, sizeof(again), ".data-%05u-of-%05u", *a, *b) !=
		    n ||
	    memcmp(again, d, (size_t)n) != 0 || index_at(path))
		return NULL;
	return d;
}

/* When PREFIX's first data file for NSHARDS is not there: the shard count
 * of a first data file of PREFIX there for another count (a regular file
 * PREFIX.data-00000-of-M, M != NSHARDS), or 0: a header whose count is
 * damaged, or the index of another save beside them. */
static unsigned
other_count(const char *prefix, int32_t nshards)
{
	const char *slash = strrchr(prefix, '/');
	char *first = ckpt_shard_path(prefix, 0, nshards);
	char *dir = slash ? strndup(prefix, (size_t)(slash - prefix + 1))
			  : strdup(".");
	const char *base = slash ? slash + 1 : prefix;
	size_t bl = strlen(base);
	unsigned found = 0, a, m;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;

	if (first != NULL && dir != NULL && lstat(first, &st) < 0 &&
	    errno == ENOENT)
		d = opendir(dir);
	free(first);

	while (d != NULL && found == 0 && (de = readdir(d)) != NULL) {
		char *path;

		if (strncmp(de->d_name, base, bl) != 0 ||
		    strncmp(de->d_name + bl, ".data-", 6) != 0 ||
		    (path = path_join(dir, de->d_name)) == NULL)
			continue;
		if (shard_suffix(path, &a, &m) ==
			    path + strlen(path) - strlen(de->d_name) + bl &&
		    a == 0 && m != (unsigned)nshards && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode))
			found = m;
		free(path);
	}
	if (d != NULL)
		closedir(d);
	free(dir);
	return found;
}

/* True if directory PATH holds no 'checkpoint' state file while
 * PATH.index is there (PATH without its trailing slashes): then PATH is
 * taken for that checkpoint's prefix (a directory of that name, e.g.
 * ckptfs's spool, would hide it).  Sets *PREFIX to PATH so trimmed. */
static bool
dir_is_prefix(const char *path, char **prefix)
{
	char *state = path_join(path, "checkpoint"), *p;
	size_t len = strlen(path);
	struct stat st;
	bool none;

	if (state == NULL)
		return false;
	none = stat(state, &st) < 0 && errno == ENOENT;	/* (or dangling) */
	free(state);
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (!none || (p = strndup(path, len)) == NULL)
		return false;
	if (!index_at(p)) {
		free(p);
		return false;
	}
	*prefix = p;
	return true;
}

/* ckpt_resolve_prefix(), and for PATH naming a data file the numbers of
 * its name in *SHARD and *NSHARDS (else *NSHARDS is 0). */
static int
resolve_prefix(const char *path, char **prefix, unsigned *shard,
	       unsigned *nshards, struct ckpt_err *err)
{
	struct stat st;
	size_t len = strlen(path);
	char *p = NULL, *abs, *named_by = NULL;
	bool is_dir;
	int rc;

	*prefix = NULL;
	*nshards = 0;
	if (len == 0)
		return ckpt_fail(err, -ENOENT, "empty checkpoint path");
	is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	if (is_dir && dir_is_prefix(path, &p)) {
		/* P is the prefix */
	} else if (is_dir) {
		char *state = path_join(path, "checkpoint"), *text, *model;
		size_t tlen;

		if (state == NULL)
			return -ENOMEM;
		rc = slurp(state, MAX_STATE_SIZE, &text, &tlen);
		if (rc < 0) {
			ckpt_fail(err, rc, "%s: %s%s", state, open_error(rc),
				  rc == -ENOENT ? " (a checkpoint directory "
						  "needs a 'checkpoint' state "
						  "file)"
						: "");
			free(state);
			return rc;
		}
		rc = ckpt_state_parse(text, tlen, &model, err);
		free(text);
		if (rc < 0) {
			if (err != NULL && err->code == rc)
				ckpt_err_prepend(err, state);
			free(state);
			return rc;
		}
		named_by = state;
		p = model[0] == '/' ? strdup(model) : path_join(path, model);
		free(model);
		if (p == NULL) {
			free(named_by);
			return -ENOMEM;
		}
	} else if (len > 6 && strcmp(path + len - 6, ".index") == 0 &&
		   !index_at(path)) {
		p = strndup(path, len - 6);
	} else {
		const char *d = shard_suffix(path, shard, nshards);

		if (d == NULL)
			*nshards = 0;	/* (a prefix, whatever it holds) */

		/* PREFIX.data-00000-of-00001 names its checkpoint too (when
		 * it is there: a shard name made up is not taken for its
		 * prefix). */
		if (d != NULL) {
			if (stat(path, &st) < 0) {
				rc = -errno;
				return ckpt_fail(err, rc, "%s: %s", path,
						 open_error(rc));
			}
			p = strndup(path, (size_t)(d - path));
		} else {
			p = strdup(path);
		}
	}
	if (p == NULL)
		return -ENOMEM;
	abs = absolute_path(p);
	free(p);
	if (abs == NULL) {
		free(named_by);
		return -ENOMEM;
	}
	{
		char *idx = malloc(strlen(abs) + 7);

		if (idx == NULL) {
			free(abs);
			free(named_by);
			return -ENOMEM;
		}
		sprintf(idx, "%s.index", abs);
		rc = stat(idx, &st) < 0 ? -errno
		     : S_ISREG(st.st_mode) ? 0 : NOT_REGULAR;
		if (rc < 0) {
			if (rc == NOT_REGULAR || (rc != -ENOENT &&
						  rc != -ENOTDIR))
				ckpt_fail(err, rc, "%s: %s", idx,
					  open_error(rc));
			else
				ckpt_fail(err, rc,
					  "%s: no such checkpoint (%s)%s%s%s",
					  idx, strerror(-rc),
					  named_by ? "; it is the latest one "
						     "named by "
						   : "",
					  named_by ? named_by : "",
					  named_by ? " (give a prefix to open "
						     "another)"
						   : "");
			free(idx);
			free(abs);
			free(named_by);
			return rc;
		}
		free(idx);
	}
	free(named_by);
	*prefix = abs;
	return 0;
}

int
ckpt_resolve_prefix(const char *path, char **prefix, struct ckpt_err *err)
{
	unsigned shard, nshards;

	return resolve_prefix(path, prefix, &shard, &nshards, err);
}

char *
ckpt_shard_path(const char *prefix, int32_t shard, int32_t nshards)
{
	size_t len = strlen(prefix) + 64;
	char *p = malloc(len);

	if (p != NULL)
		snprintf(p, len, "%s.data-%05" PRId32 "-of-%05" PRId32, prefix,
			 shard, nshards);
	return p;
}

#define SHOWN_MAX CKPT_SHOWN_MAX

/* Append byte C of a key to the SHOWN_MAX bytes at BUF (used J), as
 * messages show it: a byte below 0x20, 0x7f, a backslash or a quote as
 * \xNN (a NUL would cut the message, a slice key starts with one). */
static void
shown_put(char *buf, size_t *j, unsigned char c)
{
	if (*j + 8 >= SHOWN_MAX) {
		if (*j + 4 <= SHOWN_MAX && strcmp(buf + *j - 3, "...") != 0) {
			memcpy(buf + *j, "...", 4);
			*j += 3;
		}
		return;
	}
	if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'')
		*j += (size_t)snprintf(buf + *j, SHOWN_MAX - *j, "\\x%02x", c);
	else
		buf[(*j)++] = (char)c;
	buf[*j] = '\0';
}

const char *
ckpt_key_shown(const void *key, size_t len, char *buf)
{
	size_t j = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < len; i++)
		shown_put(buf, &j, ((const unsigned char *)key)[i]);
	return buf;
}

/* E's key as messages about the index show it, in BUF (SHOWN_MAX bytes):
 * a slice key as its tensor's name and extents as stored ("w[0:5,:]",
 * ':' for a dim it spans whole, as ckpt-inspect --verify names a damaged
 * slice), other keys escaped by shown_put(). */
static const char *
shown_key(const struct ckpt_entry *e, char *buf)
{
	struct ckpt_extent ext[CKPT_MAX_RANK];
	/* (only a slice key starts with a NUL: no decoding for the others,
	 * which the first read of every tensor shows) */
	uint8_t *name = e->key_len > 0 && e->key[0] == '\0'
				? malloc(e->key_len)
				: NULL;
	size_t j = 0, nlen;
	int rank;

	buf[0] = '\0';
	if (name != NULL &&
	    ckpt_slice_key_decode((const uint8_t *)e->key, e->key_len, name,
				  &nlen, ext, &rank) == 0) {
		for (size_t i = 0; i < nlen; i++)
			shown_put(buf, &j, name[i]);
		for (int k = 0; k < rank && j + 48 < SHOWN_MAX; k++)
			j += ext[k].length < 0
				     ? (size_t)snprintf(buf + j, SHOWN_MAX - j,
							"%s:", k ? "," : "[")
				     : (size_t)snprintf(
					       buf + j, SHOWN_MAX - j,
					       "%s%" PRId64 ":%" PRId64,
					       k ? "," : "[", ext[k].start,
					       ext[k].start + ext[k].length);
		if (rank > 0 && j + 2 < SHOWN_MAX)
			memcpy(buf + j, "]", 2);
	} else {
		for (size_t i = 0; i < e->key_len; i++)
			shown_put(buf, &j, (unsigned char)e->key[i]);
	}
	free(name);
	return buf;
}

/* Keep entry I, which cannot be used for the reason in WHY, as a bad
 * entry (struct ckpt_bundle, NBAD): no dtype, shape or bytes, only its
 * key.  0 or -ENOMEM. */
static int
mark_bad(struct ckpt_bundle *b, size_t i, const struct ckpt_err *why)
{
	static const int64_t no_dims[1];
	struct ckpt_bundle_priv *pv = b->priv;
	struct ckpt_entry *e = &b->entries[i];
	size_t at = b->nbad;
	char *msg;

	if (b->nbad == pv->capbad) {
		size_t cap = pv->capbad ? 2 * pv->capbad : 8;
		struct bad_entry *v = reallocarray(pv->bad, cap, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		pv->bad = v;
		pv->capbad = cap;
	}
	if ((msg = strdup(ckpt_err_str(why, -EBADMSG))) == NULL)
		return -ENOMEM;
	/* Entries are marked in order, but a partitioned one only once
	 * all are read: keep the list sorted for the binary search. */
	while (at > 0 && pv->bad[at - 1].i > i)
		at--;
	memmove(&pv->bad[at + 1], &pv->bad[at],
		(b->nbad - at) * sizeof(*pv->bad));
	pv->bad[at].i = i;
	pv->bad[at].msg = msg;
	pv->bad[at].located = e->nparts == 0 && e->size > 0;
	pv->bad[at].shard_id = e->shard_id;
	pv->bad[at].crc32c = e->crc32c;
	pv->bad[at].offset = e->offset;
	pv->bad[at].size = e->size;
	b->nbad++;
	e->dtype = CKPT_DT_INVALID;
	e->rank = 0;
	e->dims = no_dims;
	e->offset = 0;
	e->size = 0;
	e->shard_id = 0;
	e->crc32c = 0;
	e->parts = NULL;
	e->slices = NULL;
	e->nparts = 0;
	return 0;
}

/* The record of bad entry E, or NULL. */
static const struct bad_entry *
bad_record(const struct ckpt_bundle *b, const struct ckpt_entry *e)
{
	const struct ckpt_bundle_priv *pv = b->priv;
	size_t i = (size_t)(e - b->entries), lo = 0, hi = b->nbad;

	if (!ckpt_entry_is_bad(e))
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pv->bad[mid].i == i)
			return &pv->bad[mid];
		if (pv->bad[mid].i < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *
ckpt_bundle_entry_bad(const struct ckpt_bundle *b, const struct ckpt_entry *e)
{
	const struct bad_entry *r = bad_record(b, e);

	if (!ckpt_entry_is_bad(e))
		return NULL;
	return r != NULL ? r->msg : "its index entry cannot be used";
}

bool
ckpt_bundle_bad_location(const struct ckpt_bundle *b,
			 const struct ckpt_entry *e, int32_t *shard,
			 uint64_t *offset, uint64_t *size, uint32_t *crc)
{
	const struct bad_entry *r = bad_record(b, e);

	if (r == NULL || !r->located)
		return false;
	if (shard != NULL) {
		*shard = r->shard_id;
		*offset = r->offset;
		*size = r->size;
		*crc = r->crc32c;
	}
	return true;
}

/* -EBADMSG for reading bad entry E, with why in ERR. */
static int
bad_fail(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	 struct ckpt_err *err)
{
	return ckpt_fail(err, -EBADMSG, "%s", ckpt_bundle_entry_bad(b, e));
}

/* Copy one entry's fields out of the decoded proto, checking what can be
 * checked without other entries. */
static int
entry_from_proto(struct ckpt_entry *e, const Ckptpb__BundleEntryProto *pe,
		 int64_t *dims, const char *name, struct ckpt_err *err)
{
	const Ckptpb__TensorShapeProto *sh = pe->shape;
	char kb[SHOWN_MAX];
	uint64_t elems;
	int rc;

	/* (first: kept for a salvage if the rest does not check out) */
	if (pe->shard_id >= 0 && pe->offset >= 0 && pe->size >= 0 &&
	    pe->n_slices == 0) {
		e->shard_id = pe->shard_id;
		e->offset = (uint64_t)pe->offset;
		e->size = (uint64_t)pe->size;
		e->crc32c = pe->crc32c;
	}
	e->dtype = pe->dtype;
	if (!ckpt_dtype_storable(pe->dtype))
		return ckpt_fail(err, -ENOTSUP,
				 "%s: tensor '%s' has %s dtype %d", name,
				 shown_key(e, kb),
				 ckpt_dtype_name(pe->dtype) ? "unstorable"
							    : "unknown",
				 pe->dtype);
	if (sh != NULL && sh->unknown_rank)
		return ckpt_fail(err, -EBADMSG,
				 "%s: tensor '%s' has an unknown rank", name,
				 shown_key(e, kb));
	e->rank = sh != NULL ? (int)sh->n_dim : 0;
	for (int i = 0; i < e->rank; i++)
		dims[i] = sh->dim[i]->size;
	e->dims = dims;
	rc = ckpt_shape_elems(dims, e->rank, &elems);
	if (rc < 0) {
		char text[CKPT_MAX_RANK * 21 + 8];

		if (ckpt_shape_format(dims, e->rank, text, sizeof(text)) < 0)
			snprintf(text, sizeof(text), "...");
		return ckpt_fail(err, rc == -EOVERFLOW ? -EOVERFLOW : -EBADMSG,
				 "%s: tensor '%s' has an invalid shape [%s]: %s",
				 name, shown_key(e, kb), text,
				 rc == -EOVERFLOW
					 ? "more than 2^63 elements"
					 : "a negative dimension");
	}
	if (pe->shard_id < 0 || pe->offset < 0 || pe->size < 0)
		return ckpt_fail(err, -EBADMSG,
				 "%s: tensor '%s' has a negative shard, offset "
				 "or size",
				 name, shown_key(e, kb));
	e->shard_id = pe->shard_id;
	e->offset = (uint64_t)pe->offset;
	e->size = (uint64_t)pe->size;
	e->crc32c = pe->crc32c;
	if (pe->n_slices > 0)
		return 0;	/* sizes checked once the parts are known */
	if (ckpt_dtype_size(e->dtype) != 0) {
		size_t es = ckpt_dtype_size(e->dtype);

		if (elems > UINT64_MAX / es)
			return ckpt_fail(err, -EBADMSG,
					 "%s: tensor '%s' has %" PRIu64
					 " bytes, but its shape needs 2^64 or "
					 "more (%" PRIu64 " x %s)",
					 name, shown_key(e, kb), e->size, elems,
					 ckpt_dtype_name(e->dtype));
		if (elems * es != e->size)
			return ckpt_fail(err, -EBADMSG,
					 "%s: tensor '%s' has %" PRIu64
					 " bytes, but its shape needs %" PRIu64
					 " (%" PRIu64 " x %s)",
					 name, shown_key(e, kb), e->size,
					 elems * es, elems,
					 ckpt_dtype_name(e->dtype));
	} else {
		/* STRING: a varint per element and a 4-byte checksum;
		 * VARIANT: a varint and a 4-byte checksum per element. */
		uint64_t per = e->dtype == CKPT_DT_STRING ? 1 : 5;
		uint64_t fixed = e->dtype == CKPT_DT_STRING ? 4 : 0;

		if (elems > (UINT64_MAX - fixed) / per ||
		    e->size < elems * per + fixed)
			return ckpt_fail(err, -EBADMSG,
					 "%s: tensor '%s' is too small (%" PRIu64
					 " bytes) for %" PRIu64 " %s elements",
					 name, shown_key(e, kb), e->size, elems,
					 ckpt_dtype_name(e->dtype));
	}
	return 0;
}

/* Decode the header value. */
static int
header_from_value(struct ckpt_header *h, const struct ckpt_slice *v,
		  const char *name, struct ckpt_err *err)
{
	Ckptpb__BundleHeaderProto *ph;

	ph = ckptpb__bundle_header_proto__unpack(NULL, v->len, v->data);
	if (ph == NULL)
		return ckpt_fail(err, -EBADMSG,
				 "%s: the header entry is not a valid "
				 "BundleHeaderProto",
				 name);
	h->num_shards = ph->num_shards;
	h->endianness = ph->endianness;
	if (ph->version != NULL) {
		h->producer = ph->version->producer;
		h->min_consumer = ph->version->min_consumer;
		if (ph->version->n_bad_consumers > 0) {
			h->bad_consumers =
				calloc(ph->version->n_bad_consumers,
				       sizeof(int32_t));
			if (h->bad_consumers == NULL) {
				ckptpb__bundle_header_proto__free_unpacked(ph,
									   NULL);
				return -ENOMEM;
			}
			memcpy(h->bad_consumers, ph->version->bad_consumers,
			       ph->version->n_bad_consumers * sizeof(int32_t));
			h->nbad_consumers = ph->version->n_bad_consumers;
		}
	}
	ckptpb__bundle_header_proto__free_unpacked(ph, NULL);
	/* TensorFlow's reader: consumer version 1, minimum producer 0. */
	if (h->producer < 0)
		return ckpt_fail(err, -ENOTSUP,
				 "%s: bundle producer version %d is below 0",
				 name, h->producer);
	if (h->min_consumer > 1)
		return ckpt_fail(err, -ENOTSUP,
				 "%s: bundle needs a reader of version %d; "
				 "this one is version 1",
				 name, h->min_consumer);
	for (size_t i = 0; i < h->nbad_consumers; i++)
		if (h->bad_consumers[i] == 1)
			return ckpt_fail(err, -ENOTSUP,
					 "%s: bundle disallows reader version 1",
					 name);
	if (h->endianness != 0 && h->endianness != 1)
		return ckpt_fail(err, -EBADMSG,
				 "%s: invalid endianness %d in the header",
				 name, h->endianness);
	if (h->num_shards < 1)
		return ckpt_fail(err, -EBADMSG,
				 "%s: the header says %d data shards", name,
				 h->num_shards);
	return 0;
}

const struct ckpt_entry *
ckpt_entries_find(const struct ckpt_entry *v, size_t n, const void *key,
		  size_t klen)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = ckpt_key_cmp(v[mid].key, v[mid].key_len, key, klen);

		if (c == 0)
			return &v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void
ckpt_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

void
ckpt_entries_prefix_range(const struct ckpt_entry *v, const size_t *ord,
			  size_t n, const void *prefix, size_t plen,
			  size_t *first, size_t *end)
{
	size_t lo = 0, hi = n, i;

	*first = *end = 0;
	if (plen == 0)
		return;	/* (no saveable's) */
	/* the first key above PREFIX: the longer keys beginning with it
	 * follow, in a row */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ckpt_entry *e = &v[ord ? ord[mid] : mid];

		if (ckpt_key_cmp(e->key, e->key_len, prefix, plen) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* and the first after them: searched, not walked (many attributes
	 * may share a prefix of many keys) */
	for (i = lo, hi = n; i < hi;) {
		size_t mid = i + (hi - i) / 2;
		const struct ckpt_entry *e = &v[ord ? ord[mid] : mid];

		if (e->key_len > plen && memcmp(e->key, prefix, plen) == 0)
			i = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	*end = i;
}

static struct ckpt_entry *
find_entry(const struct ckpt_bundle *b, const void *key, size_t klen)
{
	const struct ckpt_entry *e =
		ckpt_entries_find(b->entries, b->n, key, klen);

	return e != NULL ? &b->entries[e - b->entries] : NULL;
}

const struct ckpt_entry *
ckpt_bundle_find(const struct ckpt_bundle *b, const void *key, size_t klen)
{
	return find_entry(b, key, klen);
}

/* Work out how part P of full entry E maps into the full tensor. */
static void
part_geometry(const struct ckpt_entry *e, struct ckpt_part *p)
{
	uint64_t esz = ckpt_dtype_size(e->dtype), run = esz, nruns = 1;
	int j = e->rank;

	/* Walk inward-out: dims that the part covers whole extend the run;
	 * the first partial dim (from the inside) ends it. */
	while (j > 0) {
		const struct ckpt_extent *x = &p->ext[j - 1];

		run *= (uint64_t)x->length;
		j--;
		if (x->start != 0 || x->length != e->dims[j])
			break;
	}
	for (int k = 0; k < j; k++)
		nruns *= (uint64_t)p->ext[k].length;
	p->run_dim = j;
	p->run_bytes = run;
	p->nruns = run == 0 ? 0 : nruns;
}

/* Byte offset in the full tensor E of run R of part P. */
static uint64_t
run_full_offset(const struct ckpt_entry *e, const struct ckpt_part *p,
		uint64_t r)
{
	uint64_t esz = ckpt_dtype_size(e->dtype), stride = esz, off = 0;
	int k;

	/* Strides of the full tensor, innermost first. */
	for (k = e->rank - 1; k > p->run_dim; k--)
		stride *= (uint64_t)e->dims[k];
	if (p->run_dim < e->rank)
		off += (uint64_t)p->ext[p->run_dim].start * stride;
	for (k = p->run_dim - 1; k >= 0; k--) {
		uint64_t len = (uint64_t)p->ext[k].length;
		uint64_t idx = r % len;

		stride *= (uint64_t)e->dims[k + 1];
		r /= len;
		off += ((uint64_t)p->ext[k].start + idx) * stride;
	}
	return off;
}

uint64_t
ckpt_part_run_offset(const struct ckpt_entry *e, const struct ckpt_part *p,
		     uint64_t r)
{
	return run_full_offset(e, p, r);
}

/* A part (PART) and where it begins (FIRST): along a dimension, or in
 * the whole tensor.  Sorted by that, then by part. */
struct first_part {
	uint64_t first;
	uint32_t part;
};

static int
first_part_cmp(const void *x, const void *y)
{
	const struct first_part *a = x, *b = y;

	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	return a->part < b->part ? -1 : a->part > b->part;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* FP[i] = the start along dimension K of E's part LIVE[i] (N of them),
 * sorted; the ends, sorted, in END.  Return how many parts the sweep
 * along K compares (each with those begun before it and not ended). */
static uint64_t
sweep_cost(const struct ckpt_entry *e, const uint32_t *live, size_t n,
	   int k, struct first_part *fp, uint64_t *end)
{
	uint64_t cost = 0;
	size_t ended = 0;

	for (size_t i = 0; i < n; i++) {
		const struct ckpt_extent *x = &e->parts[live[i]].ext[k];

		fp[i] = (struct first_part){ (uint64_t)x->start, live[i] };
		end[i] = (uint64_t)(x->start + x->length);
	}
	qsort(fp, n, sizeof(*fp), first_part_cmp);
	qsort(end, n, sizeof(*end), u64_cmp);
	for (size_t i = 0; i < n; i++) {
		while (ended < n && end[ended] <= fp[i].first)
			ended++;
		cost += i > ended ? i - ended : 0;
	}
	return cost;
}

/* Whether parts I and J of E overlap in every dimension but SKIP. */
static bool
parts_meet(const struct ckpt_entry *e, size_t i, size_t j, int skip)
{
	for (int k = 0; k < e->rank; k++) {
		const struct ckpt_extent *a = &e->parts[i].ext[k];
		const struct ckpt_extent *c = &e->parts[j].ext[k];

		if (k != skip && (a->start + a->length <= c->start ||
				  c->start + c->length <= a->start))
			return false;
	}
	return true;
}

/* Most comparisons check_parts() makes for N parts of elements: a grid
 * of K parts along one dimension needs about K; no layout TensorFlow
 * writes comes near. */
#define PARTS_CHECK_MAX(n) (64 * (uint64_t)(n) + ((uint64_t)1 << 22))

/* Check that the parts of E hold exactly its elements, none twice.  The
 * count comes first; then the parts that hold elements (an empty one
 * meets nothing, as in TensorFlow's TensorSlice::Intersect()) are swept
 * in the order of their start along the dimension where that compares
 * the fewest (the one they are cut along), each with those begun before
 * it that have not ended: about K log K for K parts of a grid, where
 * comparing every pair took 16 s for 100,000 slices.  A layout that
 * would need more than PARTS_CHECK_MAX comparisons is refused. */
static int
check_parts(const struct ckpt_entry *e, const char *name,
	    struct ckpt_err *err)
{
	char kb[SHOWN_MAX];
	uint64_t total = 0, elems, best = UINT64_MAX, *end = NULL;
	size_t n = 0, nact = 0;
	uint32_t *live = NULL, *act = NULL;
	struct first_part *fp = NULL;
	int dim = 0, rc = 0;

	ckpt_shape_elems(e->dims, e->rank, &elems);
	live = calloc(e->nparts ? e->nparts : 1, sizeof(*live));
	if (live == NULL)
		return ckpt_fail(err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < e->nparts; i++) {
		uint64_t m;

		ckpt_shape_elems(e->parts[i].entry->dims, e->rank, &m);
		total += m;
		if (m > 0)
			live[n++] = i;
	}
	if (total != elems) {
		rc = ckpt_fail(err, -EBADMSG,
			       "%s: the slices of partitioned tensor '%s' do "
			       "not cover it",
			       name, shown_key(e, kb));
		goto out;
	}
	/* (a scalar's one element is in one part: N is 1) */
	if (n < 2 || e->rank == 0)
		goto out;
	fp = calloc(n, sizeof(*fp));
	end = calloc(n, sizeof(*end));
	act = calloc(n, sizeof(*act));
	if (fp == NULL || end == NULL || act == NULL) {
		rc = ckpt_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (int k = 0; k < e->rank; k++) {
		uint64_t cost = sweep_cost(e, live, n, k, fp, end);

		if (cost < best) {
			best = cost;
			dim = k;
		}
	}
	if (best > PARTS_CHECK_MAX(n)) {
		rc = ckpt_fail(err, -EBADMSG,
			       "%s: the %zu slices of partitioned tensor '%s' "
			       "are laid out so that checking them for "
			       "overlaps takes %" PRIu64 " comparisons (no "
			       "layout TensorFlow writes needs so many)",
			       name, n, shown_key(e, kb), best);
		goto out;
	}
	(void)sweep_cost(e, live, n, dim, fp, end);
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t keep = 0;

		for (size_t a = 0; a < nact; a++) {
			const struct ckpt_extent *x = &e->parts[act[a]].ext[dim];

			if ((uint64_t)(x->start + x->length) <= fp[i].first)
				continue;
			if (parts_meet(e, act[a], fp[i].part, dim)) {
				rc = ckpt_fail(err, -EBADMSG,
					       "%s: partitioned tensor '%s' "
					       "has overlapping slices",
					       name, shown_key(e, kb));
				break;
			}
			act[keep++] = act[a];
		}
		nact = keep;
		act[nact++] = fp[i].part;
	}
out:
	free(live);
	free(fp);
	free(end);
	free(act);
	return rc;
}

/* Resolve partitioned tensor I (decoded as PE) to its part entries,
 * taking them from pv->parts at *PI and extents from pv->ext at *XI.
 * 0, -ENOMEM, or another negative errno with why in ERR (the tensor
 * cannot be used; its parts are left unclaimed). */
static int
resolve_one(struct ckpt_bundle *b, size_t i,
	    const Ckptpb__BundleEntryProto *pe, const Ckptpb__BundleEntryProto
	    *const *pes, size_t *pi, size_t *xi, struct ckpt_buf *key,
	    struct ckpt_err *err)
{
	struct ckpt_bundle_priv *pv = b->priv;
	struct ckpt_entry *e = &b->entries[i];
	struct ckpt_extent *stored = &pv->ext[*xi];
	const char *name = b->index_path;
	size_t esz = ckpt_dtype_size(e->dtype), p0 = *pi;
	char kb[SHOWN_MAX];
	uint64_t elems;
	int rc = 0;

	if (esz == 0 && e->dtype != CKPT_DT_STRING)
		return ckpt_fail(err, -ENOTSUP,
				 "%s: partitioned tensor '%s' has dtype %s, "
				 "which cannot be assembled",
				 name, shown_key(e, kb),
				 ckpt_dtype_name(e->dtype));
	ckpt_shape_elems(e->dims, e->rank, &elems);
	if (esz != 0 && elems > UINT64_MAX / esz)
		return ckpt_fail(err, -EOVERFLOW, "%s: tensor '%s' is too large",
				 name, shown_key(e, kb));
	/* Strings: the parts' sizes less all checksums but one (added
	 * below, part by part). */
	e->size = esz != 0 ? elems * esz : 4;
	e->slices = stored;
	e->parts = &pv->parts[*pi];
	e->nparts = pe->n_slices;
	*xi += pe->n_slices * (size_t)e->rank;
	for (size_t s = 0; s < pe->n_slices && rc == 0; s++) {
		const Ckptpb__TensorSliceProto *sp = pe->slices[s];
		struct ckpt_extent *st = &stored[s * (size_t)e->rank];
		struct ckpt_extent *res = &pv->ext[*xi];
		struct ckpt_entry *part;

		if ((int)sp->n_extent != e->rank) {
			rc = ckpt_fail(err, -EBADMSG,
				       "%s: a slice of '%s' has %zu dimensions, "
				       "the tensor %d",
				       name, shown_key(e, kb), sp->n_extent,
				       e->rank);
			break;
		}
		for (int k = 0; k < e->rank && rc == 0; k++) {
			const Ckptpb__TensorSliceProto__Extent *x =
				sp->extent[k];
			bool has = x->has_length_case ==
				   CKPTPB__TENSOR_SLICE_PROTO__EXTENT__HAS_LENGTH_LENGTH;

			st[k].start = x->start;
			st[k].length = has ? x->length : -1;
			res[k].start = has ? x->start : 0;
			res[k].length = has ? x->length : e->dims[k];
			if ((!has && x->start != 0) || res[k].start < 0 ||
			    res[k].length < 0 || res[k].start > e->dims[k] ||
			    res[k].length > e->dims[k] - res[k].start)
				rc = ckpt_fail(err, -EBADMSG,
					       "%s: a slice of '%s' lies outside "
					       "its shape",
					       name, shown_key(e, kb));
		}
		if (rc < 0)
			break;
		*xi += (size_t)e->rank;
		key->len = 0;
		rc = ckpt_slice_key_encode(e->key, e->key_len, st, e->rank, key);
		if (rc < 0) {
			if (rc != -ENOMEM)
				rc = ckpt_fail(err, rc,
					       "%s: slice %zu of '%s' cannot be "
					       "named",
					       name, s, shown_key(e, kb));
			break;
		}
		part = find_entry(b, key->data, key->len);
		if (part == NULL || pes[part - b->entries] != NULL ||
		    ckpt_entry_is_bad(part)) {
			rc = ckpt_fail(err, -EBADMSG,
				       "%s: partitioned tensor '%s' %s the entry "
				       "of its slice %zu",
				       name, shown_key(e, kb),
				       part != NULL && ckpt_entry_is_bad(part)
					       ? "cannot use"
					       : "lacks",
				       s);
			break;
		}
		if (part->dtype != e->dtype || part->rank != e->rank) {
			rc = ckpt_fail(err, -EBADMSG,
				       "%s: slice %zu of '%s' has another dtype "
				       "or rank",
				       name, s, shown_key(e, kb));
			break;
		}
		for (int k = 0; k < e->rank && rc == 0; k++)
			if (part->dims[k] != res[k].length)
				rc = ckpt_fail(err, -EBADMSG,
					       "%s: slice %zu of '%s' has the "
					       "wrong shape",
					       name, s, shown_key(e, kb));
		if (rc < 0)
			break;
		if (esz == 0) {
			/* entry_from_proto() saw to size >= 4 */
			if (part->size - 4 > UINT64_MAX - e->size) {
				rc = ckpt_fail(err, -EOVERFLOW,
					       "%s: tensor '%s' is too large",
					       name, shown_key(e, kb));
				break;
			}
			e->size += part->size - 4;
		}
		part->is_part = true;
		pv->parts[*pi].entry = part;
		pv->parts[*pi].ext = res;
		part_geometry(e, &pv->parts[*pi]);
		(*pi)++;
	}
	if (rc == 0)
		rc = check_parts(e, name, err);
	if (rc < 0) {
		/* Its parts stay entries of their own. */
		for (size_t k = p0; k < *pi; k++)
			b->entries[pv->parts[k].entry - b->entries].is_part =
				false;
		*pi = p0;
	} else if (esz == 0) {
		e->offset = pv->nstrmaps++;
	}
	return rc;
}

/* Resolve every partitioned tensor to its part entries; one that cannot
 * be resolved is kept as a bad entry. */
static int
resolve_parts(struct ckpt_bundle *b, Ckptpb__BundleEntryProto **pes)
{
	struct ckpt_bundle_priv *pv = b->priv;
	size_t nparts = 0, next = 0, pi = 0, xi = 0, nstr = 0;
	struct ckpt_buf key = { 0 };
	struct ckpt_err why;
	int rc = 0;

	for (size_t i = 0; i < b->n; i++)
		if (pes[i] != NULL) {
			if (pes[i]->n_slices > SIZE_MAX / 2 / (CKPT_MAX_RANK + 1) - nparts)
				return -EOVERFLOW;
			nparts += pes[i]->n_slices;
			next += pes[i]->n_slices * 2 * (size_t)b->entries[i].rank;
			if (b->entries[i].dtype == CKPT_DT_STRING)
				nstr++;
		}
	if (nparts == 0)
		return 0;
	pv->parts = calloc(nparts, sizeof(*pv->parts));
	pv->ext = calloc(next ? next : 1, sizeof(*pv->ext));
	pv->strmaps = calloc(nstr ? nstr : 1, sizeof(*pv->strmaps));
	if (pv->parts == NULL || pv->ext == NULL || pv->strmaps == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < b->n && rc == 0; i++) {
		if (pes[i] == NULL)
			continue;
		ckpt_err_clear(&why);
		rc = resolve_one(b, i, pes[i],
				 (const Ckptpb__BundleEntryProto *const *)pes,
				 &pi, &xi, &key, &why);
		if (rc < 0 && rc != -ENOMEM)
			rc = mark_bad(b, i, &why);
	}
	ckpt_buf_free(&key);
	return rc;
}

/* qsort() order of int32_t. */
static int
cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* Slot in pv->shards of shard ID, or -1. */
static ssize_t
shard_slot(const struct ckpt_bundle_priv *pv, int32_t id)
{
	size_t lo = 0, hi = pv->nshards;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pv->shards[mid].id == id)
			return (ssize_t)mid;
		if (pv->shards[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Open every shard an entry refers to (only those: a merged bundle may
 * count shards that hold nothing) and check that each entry lies inside
 * its shard.  Without OPEN_FILES, shards are left closed (fd -1). */
static int
open_shards(struct ckpt_bundle *b, bool open_files, struct ckpt_err *err)
{
	struct ckpt_bundle_priv *pv = b->priv;
	int32_t *ids;
	size_t n = 0, u = 0, nmissing = 0;
	/* The names of missing data files, for the warning (all of them
	 * unless CUT: too long a list, or no memory for it). */
	struct ckpt_buf missing = { 0 };
	bool cut = false, first_missing = false;
	int rc = 0;

	ids = calloc(b->n ? b->n : 1, sizeof(*ids));
	if (ids == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < b->n; i++) {
		const struct ckpt_entry *e = &b->entries[i];

		/* (bundle_load() saw to the shard IDs) */
		if (e->nparts == 0 && !ckpt_entry_is_bad(e))
			ids[n++] = e->shard_id;
		if (e->size == 0 && !e->is_part && !ckpt_entry_is_bad(e))
			b->nempty++;
	}
	qsort(ids, n, sizeof(*ids), cmp_i32);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || ids[u - 1] != ids[i])
			ids[u++] = ids[i];
	pv->shards = calloc(u ? u : 1, sizeof(*pv->shards));
	if (pv->shards == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < u; i++) {
		pv->shards[i].id = ids[i];
		pv->shards[i].fd = -1;
	}
	pv->nshards = u;
	for (size_t i = 0; open_files && i < u; i++) {
		char *path = ckpt_shard_path(b->prefix, ids[i],
					     b->hdr.num_shards);
		struct stat st;
		int fd;

		if (path == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		fd = open_file(path, &st);
		if (fd == -EMFILE || fd == -ENFILE) {
			/* Not the file's fault: every data file is held
			 * open, and there are more than may be. */
			struct rlimit rl = { 0 };

			(void)getrlimit(RLIMIT_NOFILE, &rl);
			rc = ckpt_fail(err, fd,
				       "%s: %s: its %zu data files are held "
				       "open together, and at most %llu files "
				       "can be open at once (ulimit -Hn)",
				       b->index_path, open_error(fd), u,
				       (unsigned long long)rl.rlim_cur);
			free(path);
			goto out;
		}
		if (fd < 0 && fd != -ENOMEM) {
			/* Missing, or not a file to read (a directory, a
			 * FIFO, unreadable): as a file cut to nothing, the
			 * others stay readable (and its tensors can be
			 * removed, or written anew). */
			const char *base = strrchr(path, '/');
			char why[64] = "";

			if (fd != -ENOENT)
				snprintf(why, sizeof(why), " (%s)",
					 open_error(fd));
			base = base != NULL ? base + 1 : path;
			if (cut ||
			    missing.len + strlen(base) + strlen(why) > 512 ||
			    (nmissing > 0 &&
			     ckpt_buf_put(&missing, ", ", 2) < 0) ||
			    ckpt_buf_put(&missing, base, strlen(base)) < 0 ||
			    ckpt_buf_put(&missing, why, strlen(why)) < 0)
				cut = true;
			nmissing++;
			pv->shards[i].open_err = fd;
			free(path);
			continue;
		}
		if (fd < 0) {
			rc = ckpt_fail(err, fd, "%s: %s", path, open_error(fd));
			free(path);
			goto out;
		}
		free(path);
		pv->shards[i].fd = fd;
		pv->shards[i].size = (uint64_t)st.st_size;
		shard_seen(&pv->shards[i], &st);
	}
	for (size_t i = 0; i < b->n; i++) {
		struct ckpt_entry *e = &b->entries[i];
		const struct shard *sh;

		if (e->nparts > 0 || ckpt_entry_is_bad(e))
			continue;
		e->shard_slot = (uint32_t)shard_slot(pv, e->shard_id);
		sh = &pv->shards[e->shard_slot];
		/* A file cut short keeps the tensors it still holds
		 * readable: the others are counted, and fail when read. */
		if (open_files && e->size > 0 &&
		    (e->offset > sh->size || sh->size - e->offset < e->size) &&
		    b->nshort++ == 0) {
			char *path = ckpt_shard_path(b->prefix, e->shard_id,
						     b->hdr.num_shards);
			char kb[SHOWN_MAX];
			int k;

			unsigned other;

			first_missing = sh->fd < 0;
			if (sh->fd < 0 && sh->open_err != -ENOENT)
				k = asprintf(&b->warning,
					     "%s: %s, which holds tensor '%s'",
					     path ? path : b->prefix,
					     open_error(sh->open_err),
					     shown_key(e, kb));
			else if (sh->fd < 0 && (other = other_count(
							b->prefix,
							b->hdr.num_shards)) !=
							0)
				k = asprintf(&b->warning,
					     "%s: no such data file, which "
					     "holds tensor '%s' (%s.data-"
					     "00000-of-%05u is there: the "
					     "index's header says %d data "
					     "file%s; damaged, or the index "
					     "of another save?)",
					     path ? path : b->prefix,
					     shown_key(e, kb), b->prefix,
					     other, (int)b->hdr.num_shards,
					     b->hdr.num_shards == 1 ? ""
								    : "s");
			else if (sh->fd < 0)
				k = asprintf(&b->warning,
					     "%s: no such data file, which "
					     "holds tensor '%s'",
					     path ? path : b->prefix,
					     shown_key(e, kb));
			else
				k = asprintf(&b->warning,
					     "%s: tensor '%s' (%" PRIu64
					     " bytes at offset %" PRIu64
					     ") runs past the end of the file "
					     "(%" PRIu64 " bytes): cut short?",
					     path ? path : b->prefix,
					     shown_key(e, kb), e->size,
					     e->offset, sh->size);
			if (k < 0)
				b->warning = NULL;
			free(path);
		}
	}
	if (b->nshort > 1 && b->warning != NULL) {
		char *more;

		if (asprintf(&more,
			     nmissing ? "%s; %zu more tensor%s not in %s data "
					"file%s"
				      : "%s; %zu more tensor%s past the end of "
					"a data file",
			     b->warning, b->nshort - 1,
			     b->nshort == 2 ? "" : "s",
			     b->nshort == 2 ? "its" : "their",
			     b->nshort == 2 ? "" : "s") >= 0) {
			free(b->warning);
			b->warning = more;
		}
	}
	if ((nmissing > 1 || (nmissing == 1 && !first_missing)) &&
	    b->warning != NULL && missing.len > 0) {
		char *more;

		/* Every missing file, not only the first tensor's. */
		if (asprintf(&more, "%s; %zu data file%s missing: %.*s%s",
			     b->warning, nmissing, nmissing == 1 ? "" : "s",
			     (int)missing.len, (const char *)missing.data,
			     cut ? ", ..." : "") >= 0) {
			free(b->warning);
			b->warning = more;
		}
	}
out:
	ckpt_buf_free(&missing);
	free(ids);
	return rc;
}

/* Put the formatted text in front of B's warning ("; " between).  0 or
 * -ENOMEM. */
static int __attribute__((format(printf, 2, 3)))
warn_first(struct ckpt_bundle *b, const char *fmt, ...)
{
	char *text, *w;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (k < 0)
		return -ENOMEM;
	k = asprintf(&w, "%s%s%s", text, b->warning != NULL ? "; " : "",
		     b->warning != NULL ? b->warning : "");
	free(text);
	if (k < 0)
		return -ENOMEM;
	free(b->warning);
	b->warning = w;
	return 0;
}

/* Put the bad entries in front of B's warning: the first by name, and
 * how many more.  0 or -ENOMEM. */
static int
warn_bad(struct ckpt_bundle *b)
{
	char more[64] = "";

	if (b->nbad > 1)
		snprintf(more, sizeof(more), "; %zu more unusable entr%s",
			 b->nbad - 1, b->nbad == 2 ? "y" : "ies");
	return warn_first(b, "%s: this tensor cannot be read%s",
			  b->priv->bad[0].msg, more);
}

/* Put "INDEX: damaged (WHY); salvaged: REPORT" in front of B's
 * warning.  0 or -ENOMEM. */
static int
warn_salvaged(struct ckpt_bundle *b, const char *why,
	      const struct ckpt_buf *report)
{
	return warn_first(b,
			  "%s: damaged (%s); salvaged what can be read: %.*s; "
			  "a tensor whose entry is wrong fails its checksum",
			  b->index_path, why,
			  report->len < INT_MAX ? (int)report->len : 0,
			  report->data ? (const char *)report->data : "");
}

/* Build the bundle from index bytes BUF (borrowed); with SALVAGE, from
 * what ckpt_table_salvage() reads of an index that does not parse. */
static int
bundle_load(struct ckpt_bundle *b, const uint8_t *buf, size_t len,
	    bool open_files, bool salvage, struct ckpt_err *err)
{
	struct ckpt_bundle_priv *pv = b->priv;
	Ckptpb__BundleEntryProto **pes = NULL;
	struct ckpt_table *t = NULL;
	struct ckpt_err why, damage = { 0 };
	struct ckpt_buf report = { 0 };
	size_t keybytes = 0;
	char *kp;
	int64_t *dp;
	int rc;

	rc = ckpt_table_parse(buf, len, b->index_path, &t,
			      salvage ? &damage : err);
	if (rc < 0 && rc != -ENOMEM && salvage) {
		rc = ckpt_table_salvage(buf, len, b->index_path, &t, &report,
					err);
		if (rc == 0 && (t->n == 0 || t->kv[0].key.len != 0))
			rc = ckpt_fail(err, -EBADMSG,
				       "%s: %s; salvage found no header entry "
				       "(the index's first), and without it "
				       "the data files are not known",
				       b->index_path,
				       ckpt_err_str(&damage, -EBADMSG));
		b->salvaged = rc == 0;
	} else if (rc < 0 && salvage) {
		rc = ckpt_fail(err, rc, "%s", ckpt_err_str(&damage, rc));
	}
	if (rc < 0)
		goto out;
	if (t->n == 0 || t->kv[0].key.len != 0) {
		rc = ckpt_fail(err, -EBADMSG,
			       "%s: the index has no header entry (empty key)",
			       b->index_path);
		goto out;
	}
	b->index_compression =
		t->nsnappy > 0 ? CKPT_COMPRESS_SNAPPY : CKPT_COMPRESS_NONE;
	b->index_blocks = t->nblocks;
	b->index_snappy_blocks = t->nsnappy;
	rc = header_from_value(&b->hdr, &t->kv[0].value, b->index_path, err);
	if (rc < 0)
		goto out;
	b->n = t->n - 1;
	b->entries = calloc(b->n ? b->n : 1, sizeof(*b->entries));
	pes = calloc(b->n ? b->n : 1, sizeof(*pes));
	for (size_t i = 1; i < t->n; i++)
		keybytes += t->kv[i].key.len + 1;
	pv->keys = malloc(keybytes ? keybytes : 1);
	if (b->entries == NULL || pes == NULL || pv->keys == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	kp = pv->keys;
	/* One pass; a decoded proto is kept only for partitioned tensors,
	 * so the peak stays near the size of the result.  An entry that
	 * cannot be used is kept as a bad one (mark_bad()): one damaged
	 * entry does not take the others with it. */
	for (size_t i = 0; i < b->n; i++) {
		const struct ckpt_kv *kv = &t->kv[i + 1];
		struct ckpt_entry *e = &b->entries[i];
		Ckptpb__BundleEntryProto *pe;
		char kb[SHOWN_MAX];
		size_t rank;

		ckpt_err_clear(&why);
		memcpy(kp, kv->key.data, kv->key.len);
		kp[kv->key.len] = '\0';
		e->key = kp;
		e->key_len = kv->key.len;
		kp += kv->key.len + 1;
		pe = ckptpb__bundle_entry_proto__unpack(NULL, kv->value.len,
							kv->value.data);
		rank = pe != NULL && pe->shape ? pe->shape->n_dim : 0;
		if (pe == NULL) {
			ckpt_fail(&why, -EBADMSG,
				  "%s: the entry of tensor '%s' is not a valid "
				  "BundleEntryProto",
				  b->index_path, shown_key(e, kb));
		} else if (rank > CKPT_MAX_RANK) {
			ckpt_fail(&why, -EBADMSG,
				  "%s: tensor '%s' has rank %zu (at most %d)",
				  b->index_path, shown_key(e, kb), rank,
				  CKPT_MAX_RANK);
		} else if ((dp = dims_alloc(pv, rank)) == NULL) {
			ckptpb__bundle_entry_proto__free_unpacked(pe, NULL);
			rc = -ENOMEM;
			goto out;
		} else if (entry_from_proto(e, pe, dp, b->index_path,
					    &why) == 0 &&
			   pe->n_slices == 0 &&
			   e->shard_id >= b->hdr.num_shards) {
			ckpt_fail(&why, -ERANGE,
				  "%s: tensor '%s' is in shard %d, but the "
				  "checkpoint has %d shard%s",
				  b->index_path, shown_key(e, kb), e->shard_id,
				  b->hdr.num_shards,
				  b->hdr.num_shards == 1 ? "" : "s");
		}
		if (why.code < 0 || pe == NULL || pe->n_slices == 0) {
			if (pe != NULL)
				ckptpb__bundle_entry_proto__free_unpacked(pe,
									  NULL);
		} else {
			pes[i] = pe;
		}
		if (why.code < 0 && (rc = mark_bad(b, i, &why)) < 0)
			goto out;
	}
	rc = resolve_parts(b, pes);
	if (rc < 0)
		goto out;
	b->nvisible = 0;
	for (size_t i = 0; i < b->n; i++)
		if (!b->entries[i].is_part)
			b->nvisible++;
	b->tf2 = find_entry(b, CKPT_OBJGRAPH_KEY, strlen(CKPT_OBJGRAPH_KEY)) !=
		 NULL;
	rc = open_shards(b, open_files, err);
	if (rc == 0 && b->nbad > 0)
		rc = warn_bad(b);
	if (rc == 0 && b->salvaged) {
		const char *m = ckpt_err_str(&damage, -EBADMSG);
		size_t pl = strlen(b->index_path);

		/* (the damage without the index's name, said first) */
		if (strncmp(m, b->index_path, pl) == 0 &&
		    strncmp(m + pl, ": ", 2) == 0)
			m += pl + 2;
		rc = warn_salvaged(b, m, &report);
	}
out:
	if (pes != NULL) {
		for (size_t i = 0; i < b->n; i++)
			if (pes[i] != NULL)
				ckptpb__bundle_entry_proto__free_unpacked(pes[i],
									  NULL);
		free(pes);
	}
	ckpt_buf_free(&report);
	ckpt_table_free(t);
	return rc;
}

/* A new, empty bundle for PREFIX; *OUT or -ENOMEM. */
static int
bundle_new(const char *prefix, const char *index_path, struct ckpt_bundle **out)
{
	struct ckpt_bundle *b = calloc(1, sizeof(*b));

	*out = NULL;
	if (b == NULL)
		return -ENOMEM;
	b->priv = calloc(1, sizeof(*b->priv));
	b->prefix = strdup(prefix);
	b->index_path = strdup(index_path);
	if (b->priv == NULL || b->prefix == NULL || b->index_path == NULL) {
		ckpt_bundle_close(b);
		return -ENOMEM;
	}
	pthread_mutex_init(&b->priv->strmap_lock, NULL);
	*out = b;
	return 0;
}

int
ckpt_bundle_open(const char *path, struct ckpt_bundle **out,
		 struct ckpt_err *err)
{
	return ckpt_bundle_open_flags(path, 0, out, err);
}

int
ckpt_bundle_open_flags(const char *path, unsigned flags,
		       struct ckpt_bundle **out, struct ckpt_err *err)
{
	struct ckpt_bundle *b = NULL;
	char *prefix = NULL, *index_path = NULL, *buf = NULL;
	size_t len = 0;
	struct stat st;
	unsigned shard, nshards;
	int rc;

	*out = NULL;
	rc = resolve_prefix(path, &prefix, &shard, &nshards, err);
	if (rc < 0)
		return rc;
	index_path = malloc(strlen(prefix) + 7);
	if (index_path == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	sprintf(index_path, "%s.index", prefix);
	if ((rc = bundle_new(prefix, index_path, &b)) < 0)
		goto out;
	rc = slurp(index_path, MAX_INDEX_SIZE, &buf, &len);
	if (rc < 0) {
		ckpt_fail(err, rc, "%s: %s", index_path,
			  rc == -EFBIG ? "index file too large" : open_error(rc));
		goto out;
	}
	if (stat(index_path, &st) == 0) {
		b->index_mtime = st.st_mtim;
		b->index_size = (uint64_t)st.st_size;
	}
	rc = bundle_load(b, (const uint8_t *)buf, len, true,
			 (flags & CKPT_OPEN_SALVAGE) != 0, err);
	if (rc == 0 && nshards > 0 &&
	    (nshards != (unsigned)b->hdr.num_shards || shard >= nshards))
		/* a stray file of an older save with another shard count */
		rc = ckpt_fail(err, -ENOENT,
			       "%s: not a data file of checkpoint %s, whose "
			       "index has %" PRId32 " data file%s",
			       path, prefix, b->hdr.num_shards,
			       b->hdr.num_shards == 1 ? "" : "s");
out:
	free(buf);
	free(prefix);
	free(index_path);
	if (rc < 0) {
		ckpt_bundle_close(b);
		return rc;
	}
	*out = b;
	return 0;
}

int
ckpt_bundle_open_mem(const uint8_t *buf, size_t len, const char *name,
		     struct ckpt_bundle **out, struct ckpt_err *err)
{
	struct ckpt_bundle *b;
	int rc;

	*out = NULL;
	if ((rc = bundle_new(name, name, &b)) < 0)
		return rc;
	b->index_size = len;
	rc = bundle_load(b, buf, len, false, false, err);
	if (rc < 0) {
		ckpt_bundle_close(b);
		return rc;
	}
	*out = b;
	return 0;
}

void
ckpt_bundle_close(struct ckpt_bundle *b)
{
	if (b == NULL)
		return;
	if (b->priv != NULL) {
		for (size_t i = 0; i < b->priv->nshards; i++)
			if (b->priv->shards[i].fd >= 0)
				close(b->priv->shards[i].fd);
		free(b->priv->shards);
		free(b->priv->keys);
		while (b->priv->dims != NULL) {
			struct dims_chunk *next = b->priv->dims->next;

			free(b->priv->dims);
			b->priv->dims = next;
		}
		free(b->priv->ext);
		free(b->priv->parts);
		for (size_t i = 0; i < b->priv->nstrmaps; i++)
			strmap_free(b->priv->strmaps[i]);
		free(b->priv->strmaps);
		for (size_t i = 0; i < b->nbad; i++)
			free(b->priv->bad[i].msg);
		free(b->priv->bad);
		pthread_mutex_destroy(&b->priv->strmap_lock);
		free(b->priv);
	}
	free(b->hdr.bad_consumers);
	free(b->warning);
	free(b->entries);
	free(b->prefix);
	free(b->index_path);
	free(b);
}

/* A file time in nanoseconds. */
static int64_t
ts_ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Take ST (SH's fstat()) as SH as the reads know it. */
static void
shard_seen(struct shard *sh, const struct stat *st)
{
	atomic_store(&sh->seen_size, (int64_t)st->st_size);
	atomic_store(&sh->seen_mtime, ts_ns(st->st_mtim));
	atomic_store(&sh->seen_ctime, ts_ns(st->st_ctim));
}

/* -ESTALE if shard SH, whose fstat() is ST, changed since it was last
 * seen (its size, modification or change time moved: written in place,
 * cut, put back, touched; TensorFlow never does any of it, it writes a
 * new file and renames it, which an open file does not see), else 0.
 * What was checked of it may no longer hold: it stays so until
 * ckpt_bundle_rebase(). */
static int
shard_stale(struct shard *sh, const struct stat *st)
{
	if (atomic_load(&sh->stale))
		return -ESTALE;
	if ((int64_t)st->st_size == atomic_load(&sh->seen_size) &&
	    ts_ns(st->st_mtim) == atomic_load(&sh->seen_mtime) &&
	    ts_ns(st->st_ctim) == atomic_load(&sh->seen_ctime))
		return 0;
	atomic_store(&sh->changed, true);
	atomic_store(&sh->stale, true);
	return -ESTALE;
}

/* -ESTALE if one of shards [I, END) of PV changed (shard_stale()), else
 * 0: one fstat() per open file, each looked at. */
static int
shards_stale(struct ckpt_bundle_priv *pv, size_t i, size_t end)
{
	struct stat st;
	int rc = 0;

	for (; i < end; i++)
		if (pv->shards[i].fd >= 0 &&
		    fstat(pv->shards[i].fd, &st) == 0 &&
		    shard_stale(&pv->shards[i], &st) < 0)
			rc = -ESTALE;	/* (and the others looked at) */
	return rc;
}

/* -ESTALE if a data file of E (its shard; for a partitioned tensor any
 * of the bundle's) changed (shard_stale()), else 0.  Files that are
 * missing are not looked at. */
static int
entry_stale(const struct ckpt_bundle *b, const struct ckpt_entry *e)
{
	struct ckpt_bundle_priv *pv = b->priv;

	if (e->nparts > 0)
		return shards_stale(pv, 0, pv->nshards);
	if (ckpt_entry_is_bad(e) || e->shard_slot >= pv->nshards)
		return 0;
	return shards_stale(pv, e->shard_slot, e->shard_slot + 1);
}

bool
ckpt_bundle_entry_stale(const struct ckpt_bundle *b,
			const struct ckpt_entry *e)
{
	return entry_stale(b, e) < 0;
}

bool
ckpt_bundle_entry_changed(const struct ckpt_bundle *b,
			  const struct ckpt_entry *e)
{
	struct ckpt_bundle_priv *pv = b->priv;

	if (e->nparts == 0)
		return !ckpt_entry_is_bad(e) && e->shard_slot < pv->nshards &&
		       atomic_load(&pv->shards[e->shard_slot].changed);
	for (size_t i = 0; i < pv->nshards; i++)
		if (atomic_load(&pv->shards[i].changed))
			return true;
	return false;
}

bool
ckpt_bundle_poll(const struct ckpt_bundle *b)
{
	return shards_stale(b->priv, 0, b->priv->nshards) < 0;
}

size_t
ckpt_bundle_rebase(const struct ckpt_bundle *b, struct ckpt_err *err)
{
	struct ckpt_bundle_priv *pv = b->priv;
	size_t n = 0;
	struct stat st;

	for (size_t i = 0; i < pv->nshards; i++) {
		struct shard *sh = &pv->shards[i];

		if (!atomic_load(&sh->stale) || fstat(sh->fd, &st) < 0)
			continue;
		shard_seen(sh, &st);
		atomic_store(&sh->stale, false);
		if (n++ == 0 && err != NULL) {
			char *path = ckpt_shard_path(b->prefix, sh->id,
						     b->hdr.num_shards);

			ckpt_fail(err, -ESTALE,
				  "%s: changed while open (written, cut or "
				  "touched: TensorFlow writes a new file and "
				  "renames it instead); what was checked of "
				  "it is checked again",
				  path != NULL ? path : b->prefix);
			free(path);
		}
	}
	return n;
}

/* pread() exactly LEN bytes of a plain entry's stored bytes at OFF. */
static int
read_stored(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	    void *buf, size_t len, uint64_t off)
{
	const struct shard *sh;
	uint8_t *p = buf;

	if (e->nparts > 0 || off > e->size || e->size - off < len)
		return -EINVAL;
	sh = &b->priv->shards[e->shard_slot];
	/* (an offset past any file, as a file cut short leaves: EOF) */
	if (sh->fd < 0 || e->offset > (uint64_t)INT64_MAX - (off + len))
		return -EIO;
	off += e->offset;
	while (len > 0) {
		ssize_t r = pread(sh->fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;	/* the shard shrank under us */
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

/* First run of part P whose bytes end after full-tensor offset OFF. */
static uint64_t
first_run_after(const struct ckpt_entry *e, const struct ckpt_part *p,
		uint64_t off)
{
	uint64_t lo = 0, hi = p->nruns;

	/* Runs are in increasing full-tensor order. */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (run_full_offset(e, p, mid) + p->run_bytes <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
ckpt_part_walk_init(struct ckpt_part_walk *w, const struct ckpt_entry *e,
		    const struct ckpt_part *p)
{
	w->e = e;
	w->p = p;
	for (int k = e->rank - 1; k >= 0; k--) {
		w->stride[k] = k == e->rank - 1
				       ? 1
				       : w->stride[k + 1] *
						 (uint64_t)e->dims[k + 1];
		w->idx[k] = 0;
	}
}

uint64_t
ckpt_part_walk_next(struct ckpt_part_walk *w)
{
	uint64_t fi = 0;

	for (int k = 0; k < w->e->rank; k++)
		fi += ((uint64_t)w->p->ext[k].start + w->idx[k]) * w->stride[k];
	for (int k = w->e->rank - 1; k >= 0; k--) {
		if (++w->idx[k] < (uint64_t)w->p->ext[k].length)
			break;
		w->idx[k] = 0;
	}
	return fi;
}

/* Read the length varints of part PI of partitioned string tensor E into
 * M, by full-tensor index: each element's length (in M->soff for now),
 * its varint's length (M->voff for now), its part and where its bytes
 * are in the part's stored bytes.  0, -EBADMSG, -EIO, -ENOMEM. */
static int
strmap_part(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	    uint32_t pi, struct strmap *m)
{
	const struct ckpt_part *p = &e->parts[pi];
	const struct ckpt_entry *pe = p->entry;
	uint64_t elems, head, total = 0, at;
	struct ckpt_part_walk walk;
	const uint8_t *q, *limit;
	uint8_t *buf;
	int rc = 0;

	ckpt_shape_elems(pe->dims, pe->rank, &elems);
	/* Varints take at most 10 bytes each and come before the checksum;
	 * entry_from_proto() saw to size >= elems + 4. */
	head = pe->size - 4;
	if (elems <= head / 10)
		head = elems * 10;
	if (head > SIZE_MAX || (buf = malloc(head ? (size_t)head : 1)) == NULL)
		return -ENOMEM;
	if ((rc = read_stored(b, pe, buf, (size_t)head, 0)) < 0)
		goto out;
	/* First pass: the framing, and where the string bytes start. */
	q = buf;
	limit = buf + head;
	for (uint64_t j = 0; j < elems; j++) {
		uint64_t l;

		if (ckpt_get_varint64(&q, limit, &l) < 0 ||
		    l > pe->size - total) {
			rc = -EBADMSG;
			goto out;
		}
		total += l;
	}
	at = (uint64_t)(q - buf) + 4;
	if (pe->size - at != total) {	/* at <= head + 4 <= size */
		rc = -EBADMSG;
		goto out;
	}
	/* Second pass: each element to its place in the full tensor. */
	ckpt_part_walk_init(&walk, e, p);
	q = buf;
	for (uint64_t j = 0; j < elems; j++) {
		const uint8_t *v = q;
		uint64_t l, fi = ckpt_part_walk_next(&walk);

		(void)ckpt_get_varint64(&q, limit, &l);	/* read above */
		m->soff[fi] = l;
		m->voff[fi] = (uint64_t)(q - v);
		m->src[fi] = at;
		m->part[fi] = pi;
		at += l;
	}
out:
	free(buf);
	return rc;
}

/* The length checksum LCRC (masked) into M, in the producer's order. */
static void
store_lsum(const struct ckpt_bundle *b, struct strmap *m, uint32_t lcrc)
{
	ckpt_store32(m->lsum, lcrc, b->hdr.endianness == 1);
}

/* Whether part P of E is one run of the whole (no dim outside the run
 * part_geometry() found has a length above 1 in it), and *FIRST, the
 * row-major index in the whole of its first element. */
static bool
part_one_run(const struct ckpt_entry *e, const struct ckpt_part *p,
	     uint64_t *first)
{
	struct ckpt_part_walk w;

	for (int k = 0; k < p->run_dim; k++)
		if (p->ext[k].length > 1)
			return false;
	ckpt_part_walk_init(&w, e, p);
	*first = ckpt_part_walk_next(&w);
	return true;
}

/* Room for the length varints of one part at a time (a window). */
#define LENGTHS_WINDOW (64 * 1024)

/* Read the ELEMS length varints of string part PE a window WIN at a time,
 * add each length to LC and check the framing; *AT is where its strings
 * start in its stored bytes (after the varints and the checksum).  0,
 * -EBADMSG, -EIO. */
static int
part_lengths(const struct ckpt_bundle *b, const struct ckpt_entry *pe,
	     uint64_t elems, uint8_t *win, struct ckpt_lencrc *lc,
	     uint64_t *at)
{
	/* entry_from_proto() saw to size >= elems + 4 */
	uint64_t lim = pe->size - 4, pos = 0, wbeg = 0, wlen = 0, total = 0;
	bool be = b->hdr.endianness == 1;
	int rc;

	for (uint64_t j = 0; j < elems; j++) {
		const uint8_t *q, *v;
		uint64_t l;

		/* a varint takes at most 10 bytes */
		if (wbeg + wlen - pos < 10 && wbeg + wlen < lim) {
			wbeg = pos;
			wlen = lim - pos < LENGTHS_WINDOW ? lim - pos
							  : LENGTHS_WINDOW;
			if ((rc = read_stored(b, pe, win, (size_t)wlen, wbeg)) < 0)
				return rc;
		}
		q = v = win + (pos - wbeg);
		if (ckpt_get_varint64(&q, win + wlen, &l) < 0 ||
		    l > pe->size - total)
			return -EBADMSG;
		pos += (uint64_t)(q - v);
		total += l;
		ckpt_lencrc_add(lc, l, be);
	}
	*at = pos + 4;
	return pe->size - *at == total ? 0 : -EBADMSG;
}

/* Build M for E if each of its parts is one run of the whole: 1 if so,
 * 0 if not (M untouched), or -errno. */
static int
strmap_rows(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	    struct strmap *m)
{
	size_t np = e->nparts;
	size_t np1 = np ? np : 1;	/* (a tensor of no elements may
					 * have no slices) */
	struct first_part *fp = calloc(np1, sizeof(*fp));
	struct ckpt_lencrc lc = { 0 };
	uint64_t next = 0, v = 0, t = 0;
	uint32_t lcrc;
	uint8_t *win = NULL;
	int rc = 0;

	if (fp == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < np; i++) {
		fp[i].part = (uint32_t)i;
		if (!part_one_run(e, &e->parts[i], &fp[i].first))
			goto out;	/* rc 0 */
	}
	qsort(fp, np, sizeof(*fp), first_part_cmp);
	/* (resolve_parts() saw to it that they tile the whole) */
	for (size_t i = 0; i < np; i++) {
		uint64_t elems;

		ckpt_shape_elems(e->parts[fp[i].part].entry->dims,
				 e->rank, &elems);
		if (elems > 0 && fp[i].first != next)
			goto out;
		next += elems;
	}
	m->order = malloc(np1 * sizeof(*m->order));
	m->vbeg = malloc((np + 1) * sizeof(*m->vbeg));
	m->sbeg = malloc((np + 1) * sizeof(*m->sbeg));
	m->sat = malloc(np1 * sizeof(*m->sat));
	win = malloc(LENGTHS_WINDOW);
	if (m->order == NULL || m->vbeg == NULL || m->sbeg == NULL ||
	    m->sat == NULL || win == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < np; i++) {
		const struct ckpt_entry *pe = e->parts[fp[i].part].entry;
		uint64_t elems;

		ckpt_shape_elems(pe->dims, pe->rank, &elems);
		m->order[i] = fp[i].part;
		if ((rc = part_lengths(b, pe, elems, win, &lc,
				       &m->sat[i])) < 0)
			goto out;
		m->vbeg[i] = v;
		m->sbeg[i] = t;
		v += m->sat[i] - 4;
		t += pe->size - m->sat[i];
	}
	m->vbeg[np] = v;
	m->sbeg[np] = t;
	lcrc = ckpt_crc_mask(ckpt_lencrc_end(&lc));
	store_lsum(b, m, lcrc);
	m->bytes = np * (sizeof(*m->order) + 3 * sizeof(uint64_t)) +
		   2 * sizeof(uint64_t);
	/* The parts' sizes added up to e->size (resolve_parts()). */
	rc = v + 4 + t == e->size ? 1 : -EBADMSG;
out:
	free(fp);
	free(win);
	return rc;
}

/* Build the map of partitioned string tensor E.  0 or -errno. */
static int
strmap_build(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	     struct strmap **out)
{
	struct strmap *m = calloc(1, sizeof(*m));
	uint64_t n, v = 0, t = 0;
	uint32_t lcrc;
	int rc = -ENOMEM;

	if (m == NULL)
		return -ENOMEM;
	ckpt_shape_elems(e->dims, e->rank, &n);
	m->n = n;
	if ((rc = strmap_rows(b, e, m)) != 0) {
		if (rc < 0)
			goto fail;
		*out = m;
		return 0;
	}
	rc = -ENOMEM;
	/* N is at most the parts' bytes, which are in their shards. */
	if (n < SIZE_MAX / sizeof(uint64_t) - 1) {
		m->voff = malloc(((size_t)n + 1) * sizeof(*m->voff));
		m->soff = malloc(((size_t)n + 1) * sizeof(*m->soff));
		m->src = malloc((n ? (size_t)n : 1) * sizeof(*m->src));
		m->part = malloc((n ? (size_t)n : 1) * sizeof(*m->part));
	}
	if (m->voff == NULL || m->soff == NULL || m->src == NULL ||
	    m->part == NULL)
		goto fail;
	for (uint32_t i = 0; i < e->nparts; i++)
		if ((rc = strmap_part(b, e, i, m)) < 0)
			goto fail;
	/* The lengths, in the full tensor's order, are in SOFF now. */
	lcrc = ckpt_crc_mask(ckpt_string_lengths_crc(m->soff, n,
						     b->hdr.endianness == 1));
	store_lsum(b, m, lcrc);
	m->bytes = (size_t)n * 28 + 16;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t l = m->soff[i], vl = m->voff[i];

		m->voff[i] = v;
		m->soff[i] = t;
		v += vl;
		t += l;
	}
	m->voff[n] = v;
	m->soff[n] = t;
	/* The parts' sizes added up to e->size (resolve_parts()). */
	if (v + 4 + t != e->size) {
		rc = -EBADMSG;
		goto fail;
	}
	*out = m;
	return 0;
fail:
	strmap_free(m);
	return rc;
}

size_t
ckpt_bundle_map_bytes(const struct ckpt_bundle *b)
{
	struct ckpt_bundle_priv *pv = b->priv;
	size_t n = 0;

	pthread_mutex_lock(&pv->strmap_lock);
	for (size_t i = 0; i < pv->nstrmaps; i++)
		if (pv->strmaps[i] != NULL)
			n += pv->strmaps[i]->bytes;
	pthread_mutex_unlock(&pv->strmap_lock);
	return n;
}

/* The map of partitioned string tensor E, built at the first call. */
static int
strmap_get(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	   const struct strmap **out)
{
	struct ckpt_bundle_priv *pv = b->priv;
	int rc = 0;

	if (e->offset >= pv->nstrmaps)
		return -EINVAL;
	pthread_mutex_lock(&pv->strmap_lock);
	if (pv->strmaps[e->offset] == NULL)
		rc = strmap_build(b, e, &pv->strmaps[e->offset]);
	*out = pv->strmaps[e->offset];
	pthread_mutex_unlock(&pv->strmap_lock);
	return rc;
}

/* Last I in [0, N) with A[I] <= X (A ascending from A[0] = 0). */
static uint64_t
last_at_or_below(const uint64_t *a, uint64_t n, uint64_t x)
{
	uint64_t lo = 0, hi = n;

	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (a[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Read the strings' bytes [A0, Z0) (counted from the first one) of
 * partitioned string tensor E, from element I (the one holding A0), into
 * OUT, when its elements alternate between parts (slices across an inner
 * dimension): the bytes a part holds among them are one range of its
 * stored bytes (a part's elements keep their order in the whole), read
 * at once into a scratch buffer, then scattered. */
static int
strmap_gather(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	      const struct strmap *m, uint64_t i, uint64_t a0, uint64_t z0,
	      uint8_t *out)
{
	size_t np = e->nparts;
	uint64_t *lo = malloc(np * sizeof(*lo)), *hi = malloc(np * sizeof(*hi));
	uint64_t *at = malloc(np * sizeof(*at)), total = 0;
	uint8_t *tmp = z0 - a0 <= SIZE_MAX ? malloc((size_t)(z0 - a0)) : NULL;
	int rc = 0;

	if (lo == NULL || hi == NULL || at == NULL || tmp == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t p = 0; p < np; p++) {
		lo[p] = UINT64_MAX;
		hi[p] = 0;
	}
	for (uint64_t j = i; j < m->n && m->soff[j] < z0; j++) {
		uint64_t a = a0 > m->soff[j] ? a0 : m->soff[j];
		uint64_t z = z0 < m->soff[j + 1] ? z0 : m->soff[j + 1];
		uint64_t from = m->src[j] + (a - m->soff[j]);
		uint32_t p = m->part[j];

		if (z <= a)
			continue;
		if (from < lo[p])
			lo[p] = from;
		if (from + (z - a) > hi[p])
			hi[p] = from + (z - a);
	}
	for (size_t p = 0; p < np && rc == 0; p++) {
		if (hi[p] <= lo[p])
			continue;
		/* The ranges add up to Z0 - A0 (see above); checked, as
		 * they are written into TMP. */
		if (hi[p] - lo[p] > z0 - a0 - total) {
			rc = -EBADMSG;
			break;
		}
		at[p] = total;
		rc = read_stored(b, e->parts[p].entry, tmp + total,
				 (size_t)(hi[p] - lo[p]), lo[p]);
		total += hi[p] - lo[p];
	}
	for (uint64_t j = i; rc == 0 && j < m->n && m->soff[j] < z0; j++) {
		uint64_t a = a0 > m->soff[j] ? a0 : m->soff[j];
		uint64_t z = z0 < m->soff[j + 1] ? z0 : m->soff[j + 1];
		uint64_t from = m->src[j] + (a - m->soff[j]);
		uint32_t p = m->part[j];

		if (z > a)
			memcpy(out + (a - a0), tmp + at[p] + (from - lo[p]),
			       (size_t)(z - a));
	}
out:
	free(lo);
	free(hi);
	free(at);
	free(tmp);
	return rc;
}

/* strmap_pread() through M of parts that are each one run of the whole:
 * the varints of part I (in M's order) are its stored bytes [0, SAT - 4),
 * its strings [SAT, size). */
static int
strmap_rows_pread(const struct ckpt_bundle *b, const struct ckpt_entry *e,
		  const struct strmap *m, uint8_t *buf, size_t len,
		  uint64_t off)
{
	size_t np = e->nparts, i;
	uint64_t end = off + len, v = m->vbeg[np], h = v + 4, a0, z0;
	int rc;

	for (i = off < v ? last_at_or_below(m->vbeg, np, off) : np;
	     i < np && m->vbeg[i] < end; i++) {
		uint64_t a = off > m->vbeg[i] ? off : m->vbeg[i];
		uint64_t z = end < m->vbeg[i + 1] ? end : m->vbeg[i + 1];

		if (z > a &&
		    (rc = read_stored(b, e->parts[m->order[i]].entry,
				      buf + (a - off), (size_t)(z - a),
				      a - m->vbeg[i])) < 0)
			return rc;
	}
	for (uint64_t k = off > v ? off : v; k < h && k < end; k++)
		buf[k - off] = m->lsum[k - v];
	if (end <= h)
		return 0;
	a0 = off > h ? off - h : 0;
	z0 = end - h;
	for (i = last_at_or_below(m->sbeg, np, a0);
	     i < np && m->sbeg[i] < z0; i++) {
		uint64_t a = a0 > m->sbeg[i] ? a0 : m->sbeg[i];
		uint64_t z = z0 < m->sbeg[i + 1] ? z0 : m->sbeg[i + 1];

		if (z > a &&
		    (rc = read_stored(b, e->parts[m->order[i]].entry,
				      buf + (h + a - off), (size_t)(z - a),
				      m->sat[i] + (a - m->sbeg[i]))) < 0)
			return rc;
	}
	return 0;
}

/* ckpt_bundle_pread() of the LEN bytes at OFF (inside the tensor) of
 * partitioned string tensor E. */
static int
strmap_pread(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	     uint8_t *buf, size_t len, uint64_t off)
{
	const struct strmap *m;
	uint64_t end = off + len, v, h, i;
	int rc;

	if ((rc = strmap_get(b, e, &m)) < 0)
		return rc;
	if (m->order != NULL)
		return strmap_rows_pread(b, e, m, buf, len, off);
	v = m->voff[m->n];
	h = v + 4;	/* where the strings' bytes start */
	/* The lengths, as varints. */
	for (i = off < v ? last_at_or_below(m->voff, m->n, off) : m->n;
	     i < m->n && m->voff[i] < end; i++) {
		uint8_t tmp[10];
		uint64_t a = off > m->voff[i] ? off : m->voff[i];
		uint64_t z = m->voff[i + 1] < end ? m->voff[i + 1] : end;
		uint64_t l = m->soff[i + 1] - m->soff[i];
		unsigned w = (unsigned)(m->voff[i + 1] - m->voff[i]);

		/* As stored, in W bytes: a producer may pad a varint with
		 * continuation bytes (it reads back the same). */
		for (unsigned k = 0; k < w; k++)
			tmp[k] = (uint8_t)(((l >> (7 * k)) & 0x7f) |
					   (k + 1 < w ? 0x80 : 0));
		memcpy(buf + (a - off), tmp + (a - m->voff[i]), (size_t)(z - a));
	}
	/* Their checksum. */
	for (uint64_t k = off > v ? off : v; k < h && k < end; k++)
		buf[k - off] = m->lsum[k - v];
	if (end <= h || m->n == 0)
		return 0;
	/* The strings' bytes, from string offset A to Z: one read per run
	 * of elements that lie next to each other in one part, unless that
	 * is more reads than parts. */
	i = off > h ? last_at_or_below(m->soff, m->n, off - h) : 0;
	{
		uint64_t runs = 1, a0 = off > h ? off - h : 0;

		for (uint64_t j = i; j + 1 < m->n && m->soff[j + 1] < end - h &&
				     runs <= e->nparts;
		     j++)
			runs += m->part[j + 1] != m->part[j] ||
				m->src[j + 1] != m->src[j] + (m->soff[j + 1] -
							      m->soff[j]);
		if (runs > e->nparts)
			return strmap_gather(b, e, m, i, a0, end - h,
					     buf + (h + a0 - off));
	}
	while (i < m->n && m->soff[i] < end - h) {
		uint64_t a = off > h + m->soff[i] ? off - h : m->soff[i];
		uint64_t from = m->src[i] + (a - m->soff[i]), z;
		uint32_t pi = m->part[i];

		while (i + 1 < m->n && m->part[i + 1] == pi &&
		       m->src[i + 1] ==
			       m->src[i] + (m->soff[i + 1] - m->soff[i]) &&
		       m->soff[i + 1] < end - h)
			i++;
		z = m->soff[i + 1] < end - h ? m->soff[i + 1] : end - h;
		i++;
		if (z > a &&
		    (rc = read_stored(b, e->parts[pi].entry, buf + (h + a - off),
				      (size_t)(z - a), from)) < 0)
			return rc;
	}
	return 0;
}

int
ckpt_bundle_pread(const struct ckpt_bundle *b, const struct ckpt_entry *e,
		  void *buf, size_t len, uint64_t off, size_t *got)
{
	uint64_t end;
	int rc;

	*got = 0;
	if (ckpt_entry_is_bad(e))
		return -EIO;
	if (off >= e->size || len == 0)
		return 0;
	if (len > e->size - off)
		len = (size_t)(e->size - off);
	end = off + len;
	/* (read first: a file cut short is said so before its change) */
	if (e->nparts == 0 || e->dtype == CKPT_DT_STRING) {
		rc = e->nparts == 0 ? read_stored(b, e, buf, len, off)
				    : strmap_pread(b, e, buf, len, off);
		if (rc == 0 && (rc = entry_stale(b, e)) == 0)
			*got = len;
		return rc;
	}
	for (size_t i = 0; i < e->nparts; i++) {
		const struct ckpt_part *p = &e->parts[i];

		for (uint64_t r = first_run_after(e, p, off); r < p->nruns; r++) {
			uint64_t fo = run_full_offset(e, p, r);
			uint64_t a, z;

			if (fo >= end)
				break;
			a = fo > off ? fo : off;
			z = fo + p->run_bytes < end ? fo + p->run_bytes : end;
			rc = read_stored(b, p->entry, (uint8_t *)buf + (a - off),
					 (size_t)(z - a),
					 r * p->run_bytes + (a - fo));
			if (rc < 0)
				return rc;
		}
	}
	if ((rc = entry_stale(b, e)) < 0)
		return rc;
	*got = len;
	return 0;
}

/* 0 if shard SH (open) still holds the bytes [FOFF, FOFF + RUN) as they
 * were: -EIO if it was truncated since it was opened (a zero-copy reader
 * would otherwise send a short reply, which looks like the end of the
 * file), -ESTALE if it was written (shard_stale()). */
static int
shard_holds(struct shard *sh, uint64_t foff, uint64_t run)
{
	struct stat st;

	if (sh->fd < 0 || fstat(sh->fd, &st) < 0)
		return -EIO;
	if ((uint64_t)st.st_size < foff || (uint64_t)st.st_size - foff < run)
		return -EIO;
	return shard_stale(sh, &st);
}

/* True if plain entry E's bytes are all in its data file as it is now
 * (it may have been cut, or put back, since the bundle was opened). */
static bool
stored_in_file(const struct ckpt_bundle *b, const struct ckpt_entry *e)
{
	/* (a bundle opened without its data files holds nothing) */
	return e->size == 0 || b->priv->shards == NULL ||
	       shard_holds(&b->priv->shards[e->shard_slot], e->offset,
			   e->size) != -EIO;
}

bool
ckpt_bundle_entry_short(const struct ckpt_bundle *b, const struct ckpt_entry *e)
{
	for (size_t i = 0; i < e->nparts; i++)
		if (ckpt_bundle_entry_short(b, e->parts[i].entry))
			return true;
	return e->nparts == 0 && !stored_in_file(b, e);
}

const char *
ckpt_bundle_entry_unopened(const struct ckpt_bundle *b,
			   const struct ckpt_entry *e)
{
	const char *why = NULL;

	for (size_t i = 0; i < e->nparts && why == NULL; i++)
		why = ckpt_bundle_entry_unopened(b, e->parts[i].entry);
	if (e->nparts == 0 && !ckpt_entry_is_bad(e) && e->size > 0 &&
	    b->priv->shards != NULL) {
		const struct shard *sh = &b->priv->shards[e->shard_slot];

		if (sh->fd < 0 && sh->open_err != 0)
			why = sh->open_err == -ENOENT
				      ? "no such data file"
				      : open_error(sh->open_err);
	}
	return why;
}

int
ckpt_bundle_locate(const struct ckpt_bundle *b, const struct ckpt_entry *e,
		   uint64_t off, int *fd, uint64_t *foff, uint64_t *run)
{
	if (ckpt_entry_is_bad(e))
		return -EIO;
	if (off >= e->size)
		return -EINVAL;
	if (e->nparts == 0) {
		struct shard *sh = &b->priv->shards[e->shard_slot];
		int rc = shard_holds(sh, e->offset + off, e->size - off);

		if (rc < 0)
			return rc;
		*fd = sh->fd;
		*foff = e->offset + off;
		*run = e->size - off;
		return 0;
	}
	if (e->dtype == CKPT_DT_STRING)
		return -ENOTSUP;	/* assembled: ckpt_bundle_pread() */
	for (size_t i = 0; i < e->nparts; i++) {
		const struct ckpt_part *p = &e->parts[i];
		uint64_t r = first_run_after(e, p, off), fo;
		struct shard *sh;
		int rc;

		if (r >= p->nruns)
			continue;
		fo = run_full_offset(e, p, r);
		if (fo > off)
			continue;
		sh = &b->priv->shards[p->entry->shard_slot];
		fo = off - fo;	/* into the run */
		rc = shard_holds(sh, p->entry->offset + r * p->run_bytes + fo,
				 p->run_bytes - fo);
		if (rc < 0)
			return rc;
		*fd = sh->fd;
		*foff = p->entry->offset + r * p->run_bytes + fo;
		*run = p->run_bytes - fo;
		return 0;
	}
	return -ENOTSUP;
}

int
ckpt_variant_check(const uint8_t *p, size_t len, uint64_t nelems,
		   bool big_endian, uint32_t *crc)
{
	const uint8_t *q = p, *limit = p + len;
	uint32_t c = 0;

	for (uint64_t i = 0; i < nelems; i++) {
		uint64_t n;
		uint8_t l8[8];

		if (ckpt_get_varint64(&q, limit, &n) < 0 ||
		    (uint64_t)(limit - q) < n || (uint64_t)(limit - q) - n < 4)
			return -EBADMSG;
		ckpt_store64(l8, n, big_endian);
		c = ckpt_crc32c_extend(c, l8, 8);
		c = ckpt_crc32c_extend(c, q, (size_t)n);
		q += n;
		if (ckpt_load32(q, big_endian) != ckpt_crc_mask(c))
			return -EBADMSG;
		c = ckpt_crc32c_extend(c, q, 4);
		q += 4;
	}
	if (q != limit)
		return -EBADMSG;
	*crc = c;
	return 0;
}

/* Tensors of at least this many bytes are checked by two threads, one
 * half each (the CRCs are combined), so the check that holds back the
 * first read of a large tensor takes half as long on a second core. */
#define VERIFY_SPLIT ((uint64_t)64 << 20)

/* One range of a stored entry to checksum. */
struct crc_job {
	const struct ckpt_bundle *b;
	const struct ckpt_entry *e;
	uint64_t off, len;
	uint32_t crc;		/* out: CRC-32C of the range */
	int rc;			/* out: 0 or a negative errno */
};

/* Checksum J's range in VERIFY_CHUNK pieces (a thread's start routine). */
static void *
crc_range(void *arg)
{
	struct crc_job *j = arg;
	size_t chunk = j->len < VERIFY_CHUNK ? (size_t)j->len : VERIFY_CHUNK;
	uint8_t *buf = malloc(chunk ? chunk : 1);
	uint32_t crc = 0;
	uint64_t done;

	j->rc = 0;
	if (buf == NULL) {
		j->rc = -ENOMEM;
		return NULL;
	}
	for (done = 0; done < j->len; done += chunk) {
		size_t n = j->len - done < chunk ? (size_t)(j->len - done)
						 : chunk;

		j->rc = read_stored(j->b, j->e, buf, n, j->off + done);
		if (j->rc < 0)
			break;
		crc = ckpt_crc32c_extend(crc, buf, n);
	}
	/* A change of the file meanwhile makes what was read worth
	 * nothing; one that cut it is said so (above) first. */
	if (j->rc == 0)
		j->rc = entry_stale(j->b, j->e);
	free(buf);
	j->crc = crc;
	return NULL;
}

/* CRC-32C of the SIZE stored bytes of E into *CRC, in two threads when
 * it is large (one when a thread cannot be started).  0 or -errno. */
static int
crc_stored(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	   uint32_t *crc)
{
	struct crc_job j[2] = { { .b = b, .e = e, .len = e->size },
				{ .b = b, .e = e } };
	pthread_t th;
	bool split = false;

	if (e->size >= VERIFY_SPLIT) {
		j[0].len = e->size / 2;
		j[1].off = j[0].len;
		j[1].len = e->size - j[0].len;
		split = pthread_create(&th, NULL, crc_range, &j[1]) == 0;
		if (!split)
			j[0].len = e->size;
	}
	crc_range(&j[0]);
	if (split) {
		pthread_join(th, NULL);
		if (j[0].rc == 0 || j[1].rc == -EIO)
			j[0].rc = j[1].rc;
		j[0].crc = ckpt_crc32c_combine(j[0].crc, j[1].crc, j[1].len);
	}
	*crc = j[0].crc;
	return j[0].rc;
}

/* Fail with RC and a message "FILE: " FMT..., FILE being E's data file
 * (that of a stored entry), or B's prefix for a tensor assembled from
 * slices (which may lie in several). */
static int
entry_fail(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	   struct ckpt_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int
entry_fail(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	   struct ckpt_err *err, int rc, const char *fmt, ...)
{
	char *path = e->nparts == 0 ? ckpt_shard_path(b->prefix, e->shard_id,
						      b->hdr.num_shards)
				    : NULL;
	char what[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	rc = ckpt_fail(err, rc, "%s: %s", path != NULL ? path : b->prefix,
		       what);
	free(path);
	return rc;
}

/* The CRC-32C TensorFlow stores for E, from all of E's stored bytes in
 * BUF: over the bytes, or for strings and variants over their lengths
 * and bytes once the layout checks out (else -EBADMSG, with a message
 * naming SHOWN). */
static int
content_crc(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	    const char *shown, const uint8_t *buf, uint32_t *crc,
	    struct ckpt_err *err)
{
	uint64_t elems;
	int rc;

	if (ckpt_dtype_size(e->dtype) != 0) {
		*crc = ckpt_crc32c(buf, (size_t)e->size);
		return 0;
	}
	ckpt_shape_elems(e->dims, e->rank, &elems);
	rc = e->dtype == CKPT_DT_STRING
		     ? ckpt_string_parse(buf, (size_t)e->size, elems,
					 b->hdr.endianness == 1, NULL, NULL,
					 crc)
		     : ckpt_variant_check(buf, (size_t)e->size, elems,
					  b->hdr.endianness == 1, crc);
	if (rc < 0 && e->dtype == CKPT_DT_STRING) {
		char why[160];

		ckpt_string_explain(buf, (size_t)e->size, elems,
				    b->hdr.endianness == 1, why, sizeof(why));
		return entry_fail(b, e, err, -EBADMSG,
				  "tensor '%s': not a stored string tensor of "
				  "its shape: %s", shown, why);
	}
	if (rc < 0)
		return entry_fail(b, e, err, -EBADMSG,
				  "tensor '%s': malformed %s data or length "
				  "checksum mismatch",
				  shown, ckpt_dtype_name(e->dtype));
	return 0;
}

/* The outcome of checking E (shown as SHOWN): RC from reading it (or
 * content_crc(), whose -EBADMSG has its message already), else CRC
 * against the stored one. */
static int
check_verdict(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	      const char *shown, int rc, uint32_t crc, struct ckpt_err *err)
{
	if (rc == -EBADMSG)
		return rc;
	if (rc == -ESTALE)
		return entry_fail(b, e, err, -ESTALE,
				  "tensor '%s': %s changed while it was read",
				  shown, e->nparts == 0 ? "the file"
							: "a data file of it");
	if (rc == -EIO) {
		/* The file that is short: the shard, unless the tensor is
		 * assembled from slices (which may be in several). */
		char *path = e->nparts == 0
				     ? ckpt_shard_path(b->prefix, e->shard_id,
						       b->hdr.num_shards)
				     : NULL;

		const struct shard *sh = e->nparts == 0
						 ? &b->priv->shards[e->shard_slot]
						 : NULL;

		const char *what =
			sh == NULL || sh->fd >= 0
				? "the file is shorter than the index says"
			: sh->open_err == -ENOENT || sh->open_err == 0
				? "no such data file"
				: open_error(sh->open_err);

		rc = ckpt_fail(err, -EIO, "%s: tensor '%s': %s",
			       path != NULL ? path : b->prefix, shown, what);
		free(path);
		return rc;
	}
	if (rc < 0)
		return entry_fail(b, e, err, rc, "tensor '%s': %s", shown,
				  strerror(-rc));
	if (ckpt_crc_mask(crc) != e->crc32c)
		return entry_fail(b, e, err, -EBADMSG,
				  "tensor '%s': crc32c mismatch (stored %08x, "
				  "data %08x)",
				  shown, ckpt_crc_unmask(e->crc32c), crc);
	return 0;
}

/* Read all of stored entry E into *OUT (malloc'd) and check it: one
 * pass over the bytes.  0 or -errno, with a message naming SHOWN. */
static int
read_checked(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	     const char *shown, uint8_t **out, struct ckpt_err *err)
{
	uint8_t *buf;
	uint32_t crc = 0;
	int rc;

	*out = NULL;
	/* Not all there (a file cut short): said so, before memory for
	 * what an index may claim is asked for. */
	if (e->nparts == 0 && b->priv->nshards > 0 && !stored_in_file(b, e))
		return check_verdict(b, e, shown, -EIO, 0, err);
	if (e->size > SIZE_MAX ||
	    (buf = malloc(e->size ? (size_t)e->size : 1)) == NULL)
		return ckpt_fail(err, -ENOMEM, "%s: tensor '%s': out of memory",
				 b->prefix, shown);
	rc = read_stored(b, e, buf, (size_t)e->size, 0);
	/* (what a change of the file meanwhile left is worth nothing) */
	if (rc == 0)
		rc = entry_stale(b, e);
	if (rc == 0)
		rc = content_crc(b, e, shown, buf, &crc, err);
	rc = check_verdict(b, e, shown, rc, crc, err);
	if (rc < 0)
		free(buf);
	else
		*out = buf;
	return rc;
}

/* Verify one stored (non-partitioned) entry: numeric ones in pieces
 * (two threads when large), strings and variants whole. */
static int
verify_stored(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	      const char *shown, struct ckpt_err *err)
{
	uint32_t crc = 0;
	uint8_t *buf;
	int rc;

	if (ckpt_dtype_size(e->dtype) == 0) {
		rc = read_checked(b, e, shown, &buf, err);
		free(buf);
		return rc;
	}
	rc = crc_stored(b, e, &crc);
	return check_verdict(b, e, shown, rc, crc, err);
}

int
ckpt_bundle_verify(const struct ckpt_bundle *b, const struct ckpt_entry *e,
		   struct ckpt_err *err)
{
	char kb[SHOWN_MAX];
	int rc = 0;

	if (ckpt_entry_is_bad(e))
		return bad_fail(b, e, err);
	if (e->nparts == 0)
		rc = verify_stored(b, e, shown_key(e, kb), err);
	/* (a damaged part is named with its extents, "w[0:5,:]") */
	for (size_t i = 0; i < e->nparts && rc == 0; i++)
		rc = verify_stored(b, e->parts[i].entry,
				   shown_key(e->parts[i].entry, kb), err);
	return rc;
}

/* ckpt_bundle_read(), the key shown as SHOWN in messages. */
static int
read_whole(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	   const char *shown, uint8_t **out, size_t *len, struct ckpt_err *err)
{
	char kb[SHOWN_MAX];
	uint8_t *buf;
	int rc;

	*out = NULL;
	*len = 0;
	if (ckpt_entry_is_bad(e))
		return bad_fail(b, e, err);
	if (e->size > SIZE_MAX)
		return ckpt_fail(err, -ENOMEM, "%s: tensor '%s' is too large",
				 b->prefix, shown);
	if (e->nparts == 0) {
		/* Read once, check the bytes read (not read twice). */
		if ((rc = read_checked(b, e, shown, out, err)) == 0)
			*len = (size_t)e->size;
		return rc;
	}
	buf = malloc(e->size ? (size_t)e->size : 1);
	if (buf == NULL)
		return ckpt_fail(err, -ENOMEM,
				 "%s: tensor '%s': out of memory", b->prefix,
				 shown);
	if (e->dtype == CKPT_DT_STRING) {
		/* Each part checked, then the whole laid out as one. */
		for (size_t i = 0; i < e->nparts; i++)
			if ((rc = verify_stored(b, e->parts[i].entry,
						shown_key(e->parts[i].entry,
							  kb),
						err)) < 0) {
				free(buf);
				return rc;
			}
		if ((rc = strmap_pread(b, e, buf, (size_t)e->size, 0)) < 0) {
			free(buf);
			return ckpt_fail(err, rc, "%s: tensor '%s': %s",
					 b->prefix, shown, strerror(-rc));
		}
		*out = buf;
		*len = (size_t)e->size;
		return 0;
	}
	/* Each part read once, checked, and scattered into the full
	 * tensor run by run. */
	for (size_t i = 0; i < e->nparts; i++) {
		const struct ckpt_part *p = &e->parts[i];
		uint8_t *part;

		if ((rc = read_checked(b, p->entry, shown_key(p->entry, kb),
				       &part, err)) < 0) {
			free(buf);
			return rc;
		}
		for (uint64_t r = 0; r < p->nruns; r++) {
			uint64_t fo = run_full_offset(e, p, r);

			/* bundle_load() made the runs tile both; checked
			 * again as the copy's bounds. */
			if (fo > e->size || p->run_bytes > e->size - fo ||
			    (r + 1) * p->run_bytes > p->entry->size) {
				free(part);
				free(buf);
				return ckpt_fail(err, -EBADMSG,
						 "%s: tensor '%s': a slice does "
						 "not fit its shape",
						 b->prefix, shown);
			}
			memcpy(buf + fo, part + r * p->run_bytes,
			       (size_t)p->run_bytes);
		}
		free(part);
	}
	*out = buf;
	*len = (size_t)e->size;
	return 0;
}

int
ckpt_bundle_read(const struct ckpt_bundle *b, const struct ckpt_entry *e,
		 uint8_t **out, size_t *len, struct ckpt_err *err)
{
	char kb[SHOWN_MAX];

	return read_whole(b, e, shown_key(e, kb), out, len, err);
}

int
ckpt_bundle_objgraph_bytes(const struct ckpt_bundle *b, uint8_t **buf,
			   const uint8_t **graph, size_t *len,
			   struct ckpt_err *err)
{
	const struct ckpt_entry *e;
	uint64_t lens[1];
	const uint8_t *data[1];
	size_t n;
	int rc;

	*buf = NULL;
	*graph = NULL;
	*len = 0;
	e = find_entry(b, CKPT_OBJGRAPH_KEY, strlen(CKPT_OBJGRAPH_KEY));
	if (e == NULL)
		return -ENOENT;
	if (ckpt_entry_is_bad(e))
		return bad_fail(b, e, err);
	if (e->dtype != CKPT_DT_STRING || e->rank != 0)
		return ckpt_fail(err, -EBADMSG,
				 "%s: %s is not a string scalar", b->prefix,
				 CKPT_OBJGRAPH_KEY);
	if ((rc = ckpt_bundle_read(b, e, buf, &n, err)) < 0)
		return rc;
	if (ckpt_string_parse(*buf, n, 1, b->hdr.endianness == 1, lens, data,
			      NULL) < 0) {
		free(*buf);
		*buf = NULL;
		return ckpt_fail(err, -EBADMSG,
				 "%s: the object graph is malformed",
				 b->prefix);
	}
	*graph = data[0];
	*len = (size_t)lens[0];
	return 0;
}

int
ckpt_bundle_objgraph(const struct ckpt_bundle *b, struct ckpt_objgraph **out,
		     struct ckpt_err *err)
{
	const uint8_t *graph;
	uint8_t *buf;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = ckpt_bundle_objgraph_bytes(b, &buf, &graph, &len, err)) < 0)
		return rc;
	/* ckpt_objgraph_parse() says "object graph: ..." itself. */
	rc = ckpt_objgraph_parse(graph, len, out, err);
	if (rc < 0 && err != NULL && err->code == rc)
		ckpt_err_prepend(err, b->prefix);
	free(buf);
	return rc;
}
