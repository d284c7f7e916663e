/*
 * bench-io: the timed I/O loops of scripts/bench, which builds it with cc.
 *
 *   bench-io seq  FILE OFFSET LENGTH [BLOCK]   read a byte range in order
 *   bench-io rand FILE OFFSET LENGTH COUNT     COUNT random 4 KiB preads
 *   bench-io drop FILE...                      evict files from the page cache
 *   bench-io peak FILE CMD [ARG...]            run CMD; its peak RSS to FILE
 *
 * seq and rand print the seconds the reads took (opening the file
 * included) on stdout; seq fails unless it read exactly LENGTH bytes.
 * drop uses posix_fadvise(POSIX_FADV_DONTNEED), which needs no privilege.
 * peak runs CMD to its end and writes its peak resident set in KiB (what
 * VmHWM shows while it runs, kept after it exits) to FILE; it exits as CMD
 * did.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse a non-negative decimal number into *out; 0 or -EINVAL. */
static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		return -EINVAL;
	return 0;
}

/* Read LEN bytes of PATH from OFF in BLOCK-sized preads into *secs. */
static int
run_seq(const char *path, uint64_t off, uint64_t len, uint64_t block,
	double *secs)
{
	double t0 = now();
	uint64_t done = 0;
	char *buf;
	int fd, rc = 0;

	buf = malloc(block);
	if (buf == NULL)
		return -ENOMEM;
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		rc = -errno;
		goto out_free;
	}
	while (done < len) {
		size_t want = len - done < block ? (size_t)(len - done)
						 : (size_t)block;
		ssize_t n = pread(fd, buf, want, (off_t)(off + done));

		if (n < 0) {
			rc = -errno;
			goto out_close;
		}
		if (n == 0) {
			rc = -EIO;
			goto out_close;
		}
		done += (uint64_t)n;
	}
	*secs = now() - t0;
out_close:
	close(fd);
out_free:
	free(buf);
	return rc;
}

/* COUNT 4 KiB preads at random aligned offsets in [OFF, OFF+LEN). */
static int
run_rand(const char *path, uint64_t off, uint64_t len, uint64_t count,
	 double *secs)
{
	uint64_t blocks = len / 4096, x = 0x9e3779b97f4a7c15ull;
	char buf[4096];
	double t0;
	int fd, rc = 0;

	if (blocks == 0)
		return -EINVAL;
	t0 = now();
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	for (uint64_t i = 0; i < count; i++) {
		ssize_t n;

		/* xorshift64: the same offsets on every run and file. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = pread(fd, buf, sizeof(buf),
			  (off_t)(off + (x % blocks) * 4096));
		if (n != (ssize_t)sizeof(buf)) {
			rc = n < 0 ? -errno : -EIO;
			goto out;
		}
	}
	*secs = now() - t0;
out:
	close(fd);
	return rc;
}

/* Drop PATH's clean pages from the page cache. */
static int
drop(const char *path)
{
	int fd, rc;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	rc = -posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return rc;
}

/* Print the usage line and return 2. */
static int
usage(void)
{
	fprintf(stderr, "usage: bench-io seq FILE OFFSET LENGTH [BLOCK]\n"
			"       bench-io rand FILE OFFSET LENGTH COUNT\n"
			"       bench-io drop FILE...\n"
			"       bench-io peak FILE CMD [ARG...]\n");
	return 2;
}

/* Run ARGV to its end; write its peak RSS in KiB to OUT.  Return its exit
 * status (128 + signal when killed), or 1 if it could not be run. */
static int
run_peak(const char *out, char **argv)
{
	struct rusage ru;
	FILE *f;
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0) {
		perror("bench-io: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "bench-io: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			perror("bench-io: waitpid");
			return 1;
		}
	if (getrusage(RUSAGE_CHILDREN, &ru) < 0 || (f = fopen(out, "w")) == NULL) {
		perror("bench-io: peak");
		return 1;
	}
	fprintf(f, "%ld\n", (long)ru.ru_maxrss);
	if (fclose(f) != 0) {
		perror("bench-io: peak");
		return 1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
main(int argc, char **argv)
{
	uint64_t off, len, n = (uint64_t)1 << 20;
	double secs = 0;
	int rc;

	if (argc >= 3 && strcmp(argv[1], "drop") == 0) {
		for (int i = 2; i < argc; i++) {
			rc = drop(argv[i]);
			if (rc < 0) {
				fprintf(stderr, "bench-io: %s: %s\n", argv[i],
					strerror(-rc));
				return 1;
			}
		}
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "peak") == 0)
		return run_peak(argv[2], argv + 3);
	if (argc < 5 || argc > 6 || parse_u64(argv[3], &off) < 0 ||
	    parse_u64(argv[4], &len) < 0 ||
	    (argc == 6 && parse_u64(argv[5], &n) < 0))
		return usage();
	if (strcmp(argv[1], "seq") == 0 && n > 0)
		rc = run_seq(argv[2], off, len, n, &secs);
	else if (strcmp(argv[1], "rand") == 0 && argc == 6)
		rc = run_rand(argv[2], off, len, n, &secs);
	else
		return usage();
	if (rc < 0) {
		fprintf(stderr, "bench-io: %s: %s\n", argv[2], strerror(-rc));
		return 1;
	}
	printf("%.6f\n", secs);
	return 0;
}
