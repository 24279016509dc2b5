// SPDX-License-Identifier: MIT
/*
 * zram_discard.c - discard chosen 4 KiB pages of a block device.
 *
 *   zram_discard DEVICE INDEX_FILE
 *
 * INDEX_FILE holds page numbers, one a line (alloc_bench -f writes the random
 * half it freed). Each page gets its own BLKDISCARD of 4096 bytes, as
 * `blkdiscard -o N*4096 -l 4096` would issue, without a process per page:
 * zram then frees exactly the objects the user-space pools freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long long page, done = 0;
	FILE *f;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: zram_discard DEVICE INDEX_FILE\n");
		return 2;
	}
	fd = open(argv[1], O_WRONLY);
	if (fd < 0) {
		fprintf(stderr, "zram_discard: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	f = fopen(argv[2], "r");
	if (!f) {
		fprintf(stderr, "zram_discard: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	while (fscanf(f, "%llu", &page) == 1) {
		uint64_t range[2] = { page * 4096, 4096 };

		if (ioctl(fd, BLKDISCARD, range)) {
			fprintf(stderr, "zram_discard: page %llu: %s\n", page, strerror(errno));
			return 1;
		}
		done++;
	}
	if (!feof(f)) {
		fprintf(stderr, "zram_discard: %s: not a list of page numbers\n", argv[2]);
		return 1;
	}
	fclose(f);
	close(fd);
	printf("zram_discard: %llu pages discarded\n", done);
	return 0;
}
