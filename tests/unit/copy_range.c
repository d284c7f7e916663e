/* copy_range -- one copy_file_range(2) call: LEN bytes of SRC at SOFF to
 * DST (which must exist) at DOFF.  Prints the count the call returned, or
 * "error: <reason>", and exits 0 or 1.  (cp(1) loops and may fall back to
 * read and write; this shows what the file system answered.)  With -u,
 * SRC is removed once open, before the copy. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	loff_t soff, doff;
	ssize_t n;
	int in, out;
	bool unlink_src = argc > 1 && strcmp(argv[1], "-u") == 0;

	if (unlink_src) {
		argv++;
		argc--;
	}
	if (argc != 6) {
		fprintf(stderr,
			"usage: copy_range [-u] SRC SOFF DST DOFF LEN\n");
		return 2;
	}
	soff = (loff_t)strtoll(argv[2], NULL, 10);
	doff = (loff_t)strtoll(argv[4], NULL, 10);
	if ((in = open(argv[1], O_RDONLY)) < 0) {
		perror(argv[1]);
		return 2;
	}
	if ((out = open(argv[3], O_WRONLY)) < 0) {
		perror(argv[3]);
		return 2;
	}
	if (unlink_src && unlink(argv[1]) < 0) {
		perror(argv[1]);
		return 2;
	}
	n = copy_file_range(in, &soff, out, &doff,
			    (size_t)strtoull(argv[5], NULL, 10), 0);
	if (n < 0)
		printf("error: %s\n", strerror(errno));
	else
		printf("%zd\n", n);
	close(in);
	return close(out) == 0 && n >= 0 ? 0 : 1;
}
