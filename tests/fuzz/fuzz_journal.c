/* fuzz_journal.c -- libFuzzer target for the replay of a spool journal
 * (src/overlay.c: ckptfs_overlay_open()).
 *
 * The tree is built from an in-memory entry list (no bundle, as in
 * tests/unit/test_overlay.c), with every source tensor empty: a copy-up
 * then copies nothing and a write-out reads nothing from the missing
 * bundle.  The spool is a real directory in a temporary directory made
 * once per process, emptied before every input.
 *
 * The input is a flags byte, a spool byte, then the journal body.  Flags:
 * bit 0, a TF2 checkpoint (object paths, no graph) instead of TF1; bit 1,
 * the body is appended as it is (damage, a torn tail) instead of being
 * framed; bit 2, no header record from the harness (the body brings its
 * own); bit 3, a TF1 /by-object left for the replay to build; bit 4, a
 * journal that replayed is replayed again by a fresh tree (the torn tail
 * was cut off: nothing is dropped then); bit 5, a successful replay is
 * written out (bit 6: as TF2, else TF1; bit 7: even if nothing changed),
 * after which the spool must be gone.  The spool byte makes spool files
 * 1 to 4: two bits each (file 1 in the lowest), absent or of 0, 4 or 12
 * bytes.  Framed, the body is a list of records, each a varint length
 * and that many bytes of record (op byte, varint-length fields, a
 * varint; fewer bytes at the end of the input), written with its length
 * and masked CRC-32C so that the replay gets past the checksum.  A
 * replay either fails, with the overlay closed and the tree read-only,
 * or leaves a tree in which every name of every directory looks up to
 * its node under its own location. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coding.h"
#include "crc32c.h"
#include "overlay.h"
#include "tensor.h"
#include "tree.h"

#include "check_dir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_TF2 1
#define F_RAW 2
#define F_NO_HEADER 4
#define F_LAZY 8
#define F_AGAIN 16
#define F_COMMIT 32
#define F_COMMIT_TF2 64
#define F_FORCE 128

/* Every source tensor is empty: a shape with a zero dimension. */
static const int64_t dims0[] = { 0 };
static const int64_t dims20[] = { 2, 0 };

/* An empty tensor of key K (a string literal). */
#define ENTRY(k, dt, r, d)                                                     \
	{                                                                      \
		.key = k, .key_len = sizeof(k) - 1, .dtype = dt, .rank = r,    \
		.dims = d                                                      \
	}

/* A TF1 checkpoint, in key order. */
static const struct ckpt_entry tf1[] = {
	ENTRY("a", CKPT_DT_FLOAT, 1, dims0),
	ENTRY("dense/bias", CKPT_DT_FLOAT, 1, dims0),
	ENTRY("dense/kernel", CKPT_DT_FLOAT, 2, dims20),
	ENTRY("global_step", CKPT_DT_INT64, 1, dims0),
	ENTRY("scoped/deep/c", CKPT_DT_INT32, 1, dims0),
};

/* A TF2 checkpoint without an object graph (keys are object paths), in
 * key order. */
static const struct ckpt_entry tf2[] = {
	ENTRY("net/bias" CKPTFS_VARIABLE_SUFFIX, CKPT_DT_FLOAT, 1, dims0),
	ENTRY("net/layer/kernel" CKPTFS_VARIABLE_SUFFIX, CKPT_DT_FLOAT, 2,
	      dims20),
	ENTRY("opt/iter" CKPTFS_VARIABLE_SUFFIX, CKPT_DT_INT64, 1, dims0),
};

/* The temporary directory of this process, its spool and output. */
static char base[4096], spool[4200], out[4200];

/* Remove every file in directory PATH (none of them is a directory but
 * the spool, which is emptied first). */
static void
empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/* Empty the spool and remove it, and every output file. */
static void
clean(void)
{
	empty_dir(spool);
	rmdir(spool);
	empty_dir(base);
}

/* Remove the temporary directory (at exit). */
static void
remove_base(void)
{
	clean();
	rmdir(base);
}

/* Make the temporary directory once.  Return 0 or -1. */
static int
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (base[0] != '\0')
		return 0;
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp"; /* the spool's path must be absolute */
	snprintf(base, sizeof(base), "%s/fuzz_journal.XXXXXX", tmp);
	if (mkdtemp(base) == NULL) {
		perror(base);
		base[0] = '\0';
		return -1;
	}
	snprintf(spool, sizeof(spool), "%s/spool", base);
	snprintf(out, sizeof(out), "%s/out", base);
	atexit(remove_base);
	return 0;
}

/* Write the LEN bytes at P to the new file NAME in the spool. */
static int
put_file(const char *name, const void *p, size_t len)
{
	char path[4300];
	int fd;
	ssize_t w;

	snprintf(path, sizeof(path), "%s/%s", spool, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	w = len > 0 ? write(fd, p, len) : 0;
	close(fd);
	return w == (ssize_t)len ? 0 : -1;
}

/* A fresh tree of the source FLAGS choose. */
static struct ckptfs_tree *
make_tree(uint8_t flags)
{
	bool is2 = flags & F_TF2;
	struct ckptfs_source src = { .entries = is2 ? tf2 : tf1,
				     .n = is2 ? sizeof(tf2) / sizeof(tf2[0])
					      : sizeof(tf1) / sizeof(tf1[0]),
				     .tf2 = is2,
				     .prefix = "/x/ckpt",
				     .num_shards = 1 };
	struct ckptfs_tree_opts o = { .lazy_object = flags & F_LAZY };
	struct ckpt_err err = { 0 };
	struct ckptfs_tree *t = NULL;

	src.mtime.tv_sec = 1700000000;
	src.mtime.tv_nsec = 123456789;
	if (ckptfs_tree_build_from(&src, &o, &t, &err) < 0)
		abort(); /* a fixed, valid source */
	return t;
}

/* Frame record BODY (LEN bytes) onto J, as the overlay appends it. */
static int
frame(struct ckpt_buf *j, const void *body, size_t len)
{
	int rc = ckpt_buf_put_fixed32(j, (uint32_t)len);

	if (rc == 0)
		rc = ckpt_buf_put_fixed32(
			j, ckpt_crc_mask(ckpt_crc32c(body, len)));
	return rc < 0 ? rc : ckpt_buf_put(j, body, len);
}

/* Append one length-prefixed field to B. */
static int
field(struct ckpt_buf *b, const char *s)
{
	int rc = ckpt_buf_put_varint(b, strlen(s));

	return rc < 0 ? rc : ckpt_buf_put(b, s, strlen(s));
}

/* The header that T's overlay writes first. */
static int
header(const struct ckptfs_tree *t, struct ckpt_buf *j)
{
	struct ckpt_buf b = { 0 };
	int rc = ckpt_buf_put(&b, "H", 1);

	if (rc == 0)
		rc = field(&b, "ckptfs-journal-1"); /* overlay.c's magic */
	if (rc == 0)
		rc = field(&b, t->src.prefix);
	if (rc == 0)
		rc = field(&b, t->tf2_root);
	if (rc == 0)
		rc = ckpt_buf_put_varint(&b, (uint64_t)t->src.mtime.tv_sec);
	if (rc == 0)
		rc = ckpt_buf_put_varint(&b, (uint64_t)t->src.mtime.tv_nsec);
	if (rc == 0)
		rc = frame(j, b.data, b.len);
	ckpt_buf_free(&b);
	return rc;
}

/* Check every directory of T. */
static void
check_tree(const struct ckptfs_tree *t)
{
	for (uint64_t ino = 1; ino <= t->ninodes; ino++) {
		struct ckptfs_node *d = ckptfs_tree_node(t, ino);

		if (d == NULL || d->ino != ino)
			abort();
		if (d->kind == CKPTFS_DIR)
			check_dir(d);
	}
}

/* Write T out as FLAGS say; a write-out that succeeds removes the
 * spool. */
static void
commit(struct ckptfs_tree *t, uint8_t flags)
{
	struct ckptfs_output o = { .format = flags & F_COMMIT_TF2
						     ? CKPT_FORMAT_TF2
						     : CKPT_FORMAT_TF1,
				   .prefix = out };
	struct ckpt_err err = { 0 };
	bool wrote = false;

	if (ckptfs_ov_commit(t, &o, 1, flags & F_FORCE, &wrote, &err) == 0 &&
	    access(spool, F_OK) == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ckpt_buf j = { 0 };
	struct ckpt_err err = { 0 };
	struct ckptfs_tree *t;
	uint8_t flags, files;
	int rc;

	if (size < 2 || setup() < 0)
		return 0;
	flags = data[0];
	files = data[1];
	data += 2;
	size -= 2;
	clean();
	if (mkdir(spool, 0700) < 0)
		abort();
	/* Spool files for the records to find (content: any bytes). */
	for (int i = 0; i < 4; i++) {
		static const size_t sizes[] = { 0, 4, 12 };
		unsigned int c = (files >> (2 * i)) & 3;
		char name[32];

		if (c == 0)
			continue;
		snprintf(name, sizeof(name), "%016" PRIx64 ".spool",
			 (uint64_t)i + 1);
		if (put_file(name, "0123456789ab", sizes[c - 1]) < 0)
			abort();
	}
	t = make_tree(flags);
	if (!(flags & F_NO_HEADER) && header(t, &j) < 0)
		goto out;
	if (flags & F_RAW) {
		if (ckpt_buf_put(&j, data, size) < 0)
			goto out;
	} else {
		const uint8_t *p = data, *end = data + size;
		uint64_t len;

		while (p < end && ckpt_get_varint64(&p, end, &len) == 0) {
			if (len > (uint64_t)(end - p))
				len = (uint64_t)(end - p);
			if (frame(&j, p, (size_t)len) < 0)
				goto out;
			p += len;
		}
	}
	if (put_file("journal", j.data, j.len) < 0)
		abort();
	rc = ckptfs_overlay_open(t, spool, &err);
	if (rc < 0) {
		/* Nothing half-open is left. */
		if (t->ov != NULL || t->writable)
			abort();
		goto out;
	}
	check_tree(t);
	if (flags & F_AGAIN) {
		/* The first replay cut the torn tail off. */
		ckptfs_overlay_close(t);
		ckptfs_tree_free(t);
		t = make_tree(flags);
		ckpt_err_clear(&err);
		if (ckptfs_overlay_open(t, spool, &err) < 0)
			goto out;
		if (ckptfs_overlay_dropped(t) != 0)
			abort();
		check_tree(t);
	}
	if (flags & F_COMMIT)
		commit(t, flags);
	ckptfs_overlay_close(t);
out:
	ckptfs_tree_free(t);
	ckpt_buf_free(&j);
	return 0;
}
