/* mmap_write -- store TEXT at offset OFF of file PATH through a shared
 * mapping and msync() it; print "msync: ok" or "msync: <error>" and exit
 * 0 or 1.  (A write-back the file system refuses leaves the stored bytes
 * in the page cache.) */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct stat st;
	size_t off, len;
	char *m;
	int fd, rc;

	if (argc != 4) {
		fprintf(stderr, "usage: mmap_write PATH OFF TEXT\n");
		return 2;
	}
	off = strtoul(argv[2], NULL, 10);
	len = strlen(argv[3]);
	if ((fd = open(argv[1], O_RDWR)) < 0 || fstat(fd, &st) < 0 ||
	    (size_t)st.st_size < off + len) {
		perror(argv[1]);
		return 2;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	memcpy(m + off, argv[3], len);
	rc = msync(m, (size_t)st.st_size, MS_SYNC);
	printf("msync: %s\n", rc == 0 ? "ok" : strerror(errno));
	munmap(m, (size_t)st.st_size);
	close(fd);
	return rc != 0;
}
