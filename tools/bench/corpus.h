/* SPDX-License-Identifier: MIT */
/* corpus.h - the on-disk form of the allocator benchmark's corpus (see corpus.c). */
#ifndef ZPOOL_BENCH_CORPUS_H
#define ZPOOL_BENCH_CORPUS_H

#include <stdint.h>

#define CORPUS_PAGE 4096
#define CORPUS_MAGIC "ZPBCORP1"

/* corpus.idx: this header, then npages uint16_t object sizes (1..4096). */
struct corpus_hdr {
	char magic[8];
	uint64_t npages;		/* pages stored (not same-filled) */
	uint64_t same_pages;		/* same-filled pages, skipped as zram skips them */
	uint64_t input_bytes;		/* every page read, same-filled ones included */
	uint64_t files;			/* files read from */
	uint64_t huge_pages;		/* pages stored raw (4096 bytes) */
	uint64_t incompressible;	/* of those, pages lz4 could not fit in 4096 bytes */
	uint64_t huge_threshold;	/* compressed sizes at or above this were kept raw */
	uint64_t compressed_bytes;	/* sum of the object sizes */
};

#endif
