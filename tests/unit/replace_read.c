/* replace_read -- COUNT times: write a 4-byte counter to TMP, rename it
 * over NAME (with BACKUP, as vim saves: NAME renamed to BACKUP, TMP to
 * NAME, BACKUP removed), then open OTHER (NAME's name in the other view
 * of a ckptfs mount) and read it at once.  Prints "F failed, S stale": opens that
 * failed, and reads that did not return the counter just written.  A
 * shell loop cannot show a failure here: starting a process for the
 * read gives the daemon the time it needs. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	unsigned long count, failed = 0, stale = 0;
	int first_errno = 0;

	if (argc != 5 && argc != 6) {
		fprintf(stderr,
			"usage: replace_read COUNT TMP NAME OTHER [BACKUP]\n");
		return 2;
	}
	count = strtoul(argv[1], NULL, 10);
	for (unsigned long i = 0; i < count; i++) {
		uint32_t v = (uint32_t)i, got = ~v;
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || write(fd, &v, sizeof(v)) != sizeof(v) ||
		    close(fd) != 0 ||
		    (argc == 6 && rename(argv[3], argv[5]) != 0) ||
		    rename(argv[2], argv[3]) != 0 ||
		    (argc == 6 && unlink(argv[5]) != 0)) {
			perror(argv[2]);
			return 1;
		}
		if ((fd = open(argv[4], O_RDONLY)) < 0) {
			if (failed++ == 0)
				first_errno = errno;
			continue;
		}
		if (read(fd, &got, sizeof(got)) != sizeof(got) || got != v)
			stale++;
		close(fd);
	}
	printf("%lu failed, %lu stale", failed, stale);
	if (failed > 0)
		printf(" (first: %s)", strerror(first_errno));
	printf("\n");
	return 0;
}
