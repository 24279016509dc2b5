// SPDX-License-Identifier: MIT
/*
 * corpus.c - build the benchmark corpora from real files on this machine.
 *
 *   corpus pages [-b MIB] [-o DIR]
 *	The allocator corpus: shared libraries under /usr/lib read page by
 *	page (4 KiB, the last page of a file padded with zeros, as the page
 *	cache holds it), each page compressed with LZ4_compress_default.
 *	Treated as zram treats a written page:
 *	  - every 8-byte word equal ("same-filled"): not stored, only counted;
 *	  - compressed size at or above the huge threshold (zsmalloc's
 *	    huge_class_size), or not compressible at all: stored raw, 4096 bytes.
 *	Writes DIR/corpus.idx (header + one uint16 object size per page),
 *	DIR/corpus.lz4 (the objects' bytes back to back) and DIR/corpus.pages
 *	(the uncompressed pages that were stored, back to back, so that the
 *	kernel's zram can be given exactly the same pages).
 *
 *   corpus files [-b MIB] [-o DIR]
 *	The filesystem corpus: half the budget from shared libraries under
 *	/usr/lib, half from text files under /usr/share. Writes DIR/fscorpus.list
 *	(the chosen files, one path a line) and DIR/fscorpus.cat (the files'
 *	bytes, each padded with zeros to a 4 KiB boundary, so that a block device
 *	is given the same pages the filesystem stores).
 *
 * Files are taken in the order of a hash of their path (a spread over many
 * packages instead of the alphabet's first few), at most MAX_PER_FILE bytes of
 * each, until the budget of input bytes is spent. Hard links count once.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <lz4.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zsmalloc.h"
#include "corpus.h"

#define MAX_PER_FILE (8UL << 20)

struct cand {
	char *path;
	uint64_t hash;
	off_t size;
	dev_t dev;
	ino_t ino;
};

static struct cand *cands;
static size_t ncands, capcands;
static int want_text;		/* collecting text files (1) or libraries (0) */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static int is_library(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	const char *so = strstr(base, ".so");

	return so && (so[3] == '\0' || so[3] == '.');
}

/* Text: no NUL and almost only printable bytes in the first 8 KiB. */
static int is_text(const char *path)
{
	unsigned char buf[8192];
	ssize_t n, odd = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 64)
		return 0;
	for (ssize_t i = 0; i < n; i++) {
		if (!buf[i])
			return 0;
		if (buf[i] < 9 || (buf[i] > 13 && buf[i] < 32))
			odd++;
	}
	return odd * 100 < n;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type != FTW_F || !S_ISREG(st->st_mode) || st->st_size == 0)
		return 0;
	if (!want_text && !is_library(path))
		return 0;
	if (ncands == capcands) {
		capcands = capcands ? 2 * capcands : 4096;
		cands = realloc(cands, capcands * sizeof(*cands));
		if (!cands) {
			perror("corpus: realloc");
			exit(1);
		}
	}
	cands[ncands++] = (struct cand){ strdup(path), fnv1a(path), st->st_size,
					 st->st_dev, st->st_ino };
	return 0;
}

static int by_hash(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int by_inode(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Collect the candidate files under @root, one per inode, in hash order. */
static void collect(const char *root, int text)
{
	size_t j = 0;

	for (size_t i = 0; i < ncands; i++)
		free(cands[i].path);
	ncands = 0;
	want_text = text;
	if (nftw(root, visit, 64, FTW_PHYS) < 0) {
		fprintf(stderr, "corpus: cannot walk %s: %s\n", root, strerror(errno));
		exit(1);
	}
	qsort(cands, ncands, sizeof(*cands), by_inode);
	for (size_t i = 0; i < ncands; i++) {
		if (j && cands[j - 1].dev == cands[i].dev && cands[j - 1].ino == cands[i].ino) {
			free(cands[i].path);
			continue;
		}
		cands[j++] = cands[i];
	}
	ncands = j;
	qsort(cands, ncands, sizeof(*cands), by_hash);
}

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "corpus: cannot create %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return f;
}

static void write_all(FILE *f, const void *buf, size_t len)
{
	if (fwrite(buf, 1, len, f) != len) {
		perror("corpus: write");
		exit(1);
	}
}

static void close_out(FILE *f)
{
	if (fclose(f)) {
		perror("corpus: close");
		exit(1);
	}
}

/* Read up to @limit bytes of @path in pages; call @fn for each page (zero padded). */
static uint64_t for_each_page(const char *path, uint64_t limit,
			      void (*fn)(const unsigned char *page, void *arg), void *arg)
{
	unsigned char page[CORPUS_PAGE];
	uint64_t done = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW);

	if (fd < 0)
		return 0;
	while (done < limit) {
		ssize_t n = read(fd, page, CORPUS_PAGE);

		if (n <= 0)
			break;
		/* A short read mid-file is only the file's end for a regular file on disk. */
		memset(page + n, 0, CORPUS_PAGE - n);
		fn(page, arg);
		done += CORPUS_PAGE;
		if (n < CORPUS_PAGE)
			break;
	}
	close(fd);
	return done;
}

static int same_filled(const unsigned char *page)
{
	uint64_t first, w;

	memcpy(&first, page, sizeof(first));
	for (size_t i = sizeof(w); i < CORPUS_PAGE; i += sizeof(w)) {
		memcpy(&w, page + i, sizeof(w));
		if (w != first)
			return 0;
	}
	return 1;
}

struct pages_out {
	FILE *lz4, *raw;
	uint16_t *len;
	size_t cap;
	struct corpus_hdr hdr;
};

static void add_page(const unsigned char *page, void *arg)
{
	struct pages_out *o = arg;
	char dst[CORPUS_PAGE];
	int n;

	o->hdr.input_bytes += CORPUS_PAGE;
	if (same_filled(page)) {
		o->hdr.same_pages++;
		return;
	}
	n = LZ4_compress_default((const char *)page, dst, CORPUS_PAGE, CORPUS_PAGE);
	if (n <= 0) {
		o->hdr.incompressible++;
		n = CORPUS_PAGE;
	}
	if ((uint64_t)n >= o->hdr.huge_threshold) {
		o->hdr.huge_pages++;
		n = CORPUS_PAGE;
	}
	write_all(o->lz4, n == CORPUS_PAGE ? (const char *)page : dst, n);
	write_all(o->raw, page, CORPUS_PAGE);
	if (o->hdr.npages == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 65536;
		o->len = realloc(o->len, o->cap * sizeof(*o->len));
		if (!o->len) {
			perror("corpus: realloc");
			exit(1);
		}
	}
	o->len[o->hdr.npages++] = (uint16_t)n;
	o->hdr.compressed_bytes += n;
}

static void build_pages(const char *dir, uint64_t budget)
{
	struct pages_out o = { 0 };
	struct zs_pool *zs = zs_create_pool("corpus");
	FILE *idx;

	if (!zs) {
		perror("corpus: zs_create_pool");
		exit(1);
	}
	memcpy(o.hdr.magic, CORPUS_MAGIC, sizeof(o.hdr.magic));
	o.hdr.huge_threshold = zs_huge_class_size(zs);
	zs_destroy_pool(zs);
	o.lz4 = open_out(dir, "corpus.lz4");
	o.raw = open_out(dir, "corpus.pages");
	collect("/usr/lib", 0);
	for (size_t i = 0; i < ncands && o.hdr.input_bytes < budget; i++) {
		uint64_t left = budget - o.hdr.input_bytes;

		if (for_each_page(cands[i].path, left < MAX_PER_FILE ? left : MAX_PER_FILE,
				  add_page, &o))
			o.hdr.files++;
	}
	idx = open_out(dir, "corpus.idx");
	write_all(idx, &o.hdr, sizeof(o.hdr));
	write_all(idx, o.len, o.hdr.npages * sizeof(*o.len));
	close_out(idx);
	close_out(o.lz4);
	close_out(o.raw);
	printf("corpus: %llu files, %llu pages read (%.1f MiB), %llu same-filled (skipped), "
	       "%llu stored: %.1f MiB compressed (ratio %.2f), "
	       "%llu huge (>= %llu bytes) kept raw\n",
	       (unsigned long long)o.hdr.files,
	       (unsigned long long)(o.hdr.input_bytes / CORPUS_PAGE),
	       o.hdr.input_bytes / 1048576.0, (unsigned long long)o.hdr.same_pages,
	       (unsigned long long)o.hdr.npages, o.hdr.compressed_bytes / 1048576.0,
	       o.hdr.npages * (double)CORPUS_PAGE / o.hdr.compressed_bytes,
	       (unsigned long long)o.hdr.huge_pages, (unsigned long long)o.hdr.huge_threshold);
	free(o.len);
}

static void copy_page(const unsigned char *page, void *arg)
{
	write_all(arg, page, CORPUS_PAGE);
}

static uint64_t take_files(FILE *list, FILE *cat, uint64_t budget, uint64_t *nfiles)
{
	uint64_t used = 0;

	for (size_t i = 0; i < ncands && used < budget; i++) {
		uint64_t left = budget - used, got;

		/* Whole files only: the filesystem copy takes them whole. */
		if ((uint64_t)cands[i].size > MAX_PER_FILE || (uint64_t)cands[i].size > left)
			continue;
		if (want_text && !is_text(cands[i].path))
			continue;
		got = for_each_page(cands[i].path, MAX_PER_FILE, copy_page, cat);
		if (!got)
			continue;
		fprintf(list, "%s\n", cands[i].path);
		used += got;
		(*nfiles)++;
	}
	return used;
}

static void build_files(const char *dir, uint64_t budget)
{
	FILE *list = open_out(dir, "fscorpus.list");
	FILE *cat = open_out(dir, "fscorpus.cat");
	uint64_t libs, text, nlib = 0, ntext = 0;

	collect("/usr/lib", 0);
	libs = take_files(list, cat, budget / 2, &nlib);
	collect("/usr/share", 1);
	text = take_files(list, cat, budget - libs, &ntext);
	close_out(list);
	close_out(cat);
	printf("fscorpus: %llu library files (%.1f MiB) + %llu text files (%.1f MiB), "
	       "page-padded\n", (unsigned long long)nlib, libs / 1048576.0,
	       (unsigned long long)ntext, text / 1048576.0);
}

static void usage(void)
{
	fprintf(stderr, "usage: corpus pages|files [-b MIB] [-o DIR]\n"
			"  pages  lz4-compressed pages of /usr/lib libraries (allocator corpus)\n"
			"  files  libraries + /usr/share text, for the filesystem benchmark\n"
			"  -b     input budget in MiB (default 200)\n"
			"  -o     output directory (default .)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dir = ".";
	unsigned long mib = 200;
	char *end;
	int opt;

	if (argc < 2)
		usage();
	optind = 2;
	while ((opt = getopt(argc, argv, "b:o:")) != -1) {
		switch (opt) {
		case 'b':
			errno = 0;
			mib = strtoul(optarg, &end, 10);
			if (errno || *end || !mib || mib > 65536) {
				fprintf(stderr, "corpus: bad budget '%s' (MiB, 1..65536)\n",
					optarg);
				return 2;
			}
			break;
		case 'o':
			dir = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (!strcmp(argv[1], "pages"))
		build_pages(dir, (uint64_t)mib << 20);
	else if (!strcmp(argv[1], "files"))
		build_files(dir, (uint64_t)mib << 20);
	else
		usage();
	return 0;
}
