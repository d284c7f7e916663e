/* check.h -- minimal assertions for the unit tests: each failed check
 * prints file:line and the expression, then aborts (so a sanitizer or a
 * debugger shows the stack). */
#ifndef CKPT_CHECK_H
#define CKPT_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned long check_count;

#define CHECK(cond)                                                          \
	do {                                                                 \
		check_count++;                                               \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                            \
			abort();                                             \
		}                                                            \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                   \
	do {                                                                 \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		check_count++;                                               \
		if (check_a_ != check_b_) {                                  \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
				__FILE__, __LINE__, #a, #b, check_a_, check_b_); \
			abort();                                             \
		}                                                            \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                   \
	do {                                                                 \
		uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b); \
		check_count++;                                               \
		if (check_a_ != check_b_) {                                  \
			fprintf(stderr,                                      \
				"%s:%d: %s == %s failed: 0x%" PRIx64 " != 0x%" PRIx64 "\n", \
				__FILE__, __LINE__, #a, #b, check_a_, check_b_); \
			abort();                                             \
		}                                                            \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                   \
	do {                                                                 \
		const char *check_a_ = (a), *check_b_ = (b);                 \
		check_count++;                                               \
		if (check_a_ == NULL || check_b_ == NULL ||                  \
		    strcmp(check_a_, check_b_) != 0) {                      \
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", \
				__FILE__, __LINE__, #a, #b,                  \
				check_a_ ? check_a_ : "(null)",              \
				check_b_ ? check_b_ : "(null)");             \
			abort();                                             \
		}                                                            \
	} while (0)

#define CHECK_EQ_MEM(a, alen, b, blen)                                       \
	do {                                                                 \
		size_t check_al_ = (alen), check_bl_ = (blen);               \
		check_count++;                                               \
		if (check_al_ != check_bl_ ||                                \
		    memcmp((a), (b), check_al_) != 0) {                      \
			fprintf(stderr, "%s:%d: %s == %s failed (%zu vs %zu bytes)\n", \
				__FILE__, __LINE__, #a, #b, check_al_, check_bl_); \
			abort();                                             \
		}                                                            \
	} while (0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Directory of TensorFlow-written checkpoints, or NULL (with a note on
 * stderr) when ../shared/testdata/real is absent: tests then skip those
 * cases and say so. */
static inline const char *
check_realdata(void)
{
	const char *d = getenv("REALDATA");
	struct stat st;

	if (d == NULL || stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "note: real TensorFlow checkpoints not found "
				"(REALDATA); skipping those cases\n");
		return NULL;
	}
	return d;
}

/* Print the summary line; call last in main(). */
static inline int
check_done(const char *name)
{
	printf("%s: %lu checks passed\n", name, check_count);
	return 0;
}

/* A heap copy of exactly LEN bytes, so ASan sees a one-byte over-read. */
static inline uint8_t *
check_memdup(const void *p, size_t len)
{
	uint8_t *q = malloc(len ? len : 1);

	if (q == NULL)
		abort();
	memcpy(q, p, len);
	return q;
}

/* Make a fresh directory under $TMPDIR (or /tmp) into BUF. */
static inline char *
check_mkdtemp(char *buf, size_t len)
{
	const char *t = getenv("TMPDIR");

	snprintf(buf, len, "%s/ckpt-test-XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return buf;
}

static inline int
check_rm_one(const char *path, const struct stat *st, int flag,
	     struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Number of entries in directory DIR, "." and ".." not counted. */
static inline int
check_count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	CHECK(d != NULL);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* The whole of file PATH in a buffer of its exact size (*LEN bytes),
 * malloc()ed. */
static inline uint8_t *
check_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	CHECK(f != NULL);
	CHECK_EQ_INT(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	CHECK(n >= 0);
	rewind(f);
	buf = malloc(n > 0 ? (size_t)n : 1);
	CHECK(buf != NULL);
	CHECK_EQ_U64(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Remove DIR and everything below it. */
static inline void
check_rmtree(const char *dir)
{
	nftw(dir, check_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
