/* reopen_read -- ROUNDS times: write random bytes at a random place of
 * tensor file PATH (through one descriptor kept open) and read the whole
 * file back through it, while READERS threads open, read and close PATH
 * (and stat it) over and over.  Prints "R rounds, S stale": read-backs
 * that did not match what was written, and exits 1 if any.  The kernel
 * puts written bytes in the page cache before the daemon has them; an
 * open that dropped the file's cache then (or a stat whose new time made
 * the kernel drop it) let a reader cache the old bytes, which every read
 * then returned. */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *path;
static atomic_bool stop;

static void *
reader(void *arg)
{
	char buf[65536];

	(void)arg;
	while (!atomic_load(&stop)) {
		struct stat st;
		int fd = open(path, O_RDONLY);

		if (fd < 0)
			continue;
		while (read(fd, buf, sizeof(buf)) > 0)
			(void)fstat(fd, &st);
		close(fd);
	}
	return NULL;
}

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int
main(int argc, char **argv)
{
	unsigned long rounds, nreaders, stale = 0;
	uint64_t seed = 0x9e3779b97f4a7c15u;
	unsigned char *model, *got;
	pthread_t th[16];
	struct stat st;
	size_t len;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: reopen_read PATH ROUNDS READERS\n");
		return 2;
	}
	path = argv[1];
	rounds = strtoul(argv[2], NULL, 10);
	nreaders = strtoul(argv[3], NULL, 10);
	if (nreaders > 16)
		nreaders = 16;
	if ((fd = open(path, O_RDWR)) < 0 || fstat(fd, &st) < 0 ||
	    st.st_size <= 0) {
		perror(path);
		return 2;
	}
	len = (size_t)st.st_size;
	model = malloc(len);
	got = malloc(len + 1);
	if (model == NULL || got == NULL ||
	    pread(fd, model, len, 0) != (ssize_t)len) {
		perror(path);
		return 2;
	}
	for (unsigned long i = 0; i < nreaders; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	for (unsigned long r = 0; r < rounds; r++) {
		size_t off = (size_t)(rnd(&seed) % len);
		size_t n = 1 + (size_t)(rnd(&seed) % 9000);

		if (n > len - off)
			n = len - off;
		for (size_t j = 0; j < n; j++)
			model[off + j] = (unsigned char)rnd(&seed);
		if (pwrite(fd, model + off, n, (off_t)off) != (ssize_t)n ||
		    pread(fd, got, len + 1, 0) != (ssize_t)len) {
			perror(path);
			return 2;
		}
		if (memcmp(got, model, len) != 0) {
			stale++;
			/* the page cache may stay wrong: start again from
			 * what the daemon has */
			memcpy(model, got, len);
		}
	}
	atomic_store(&stop, true);
	for (unsigned long i = 0; i < nreaders; i++)
		pthread_join(th[i], NULL);
	printf("%lu rounds, %lu stale\n", rounds, stale);
	free(model);
	free(got);
	close(fd);
	return stale != 0;
}
