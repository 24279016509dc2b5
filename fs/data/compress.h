/* SPDX-License-Identifier: MIT */
/*
 * compress.h - page compressors (lz4, zstd, none) with per-thread contexts.
 */
#ifndef ZPOOLFS_COMPRESS_H
#define ZPOOLFS_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

enum zfs_comp_type {
	ZFS_COMP_NONE,
	ZFS_COMP_LZ4,
	ZFS_COMP_ZSTD,
};

struct zfs_compressor {
	enum zfs_comp_type type;
	int level;			/* lz4: acceleration; zstd: level */
	int hc;				/* lz4 only: > 0 = LZ4HC at this level (same format) */
	const char *name;
};

bool zfs_compressor_known(const char *name);

/** zfs_compressor_check_level - Return: 0 if @level suits @name, else -EINVAL. */
int zfs_compressor_check_level(const char *name, int level);

/** zfs_compressor_level_range - describe the valid levels of @name into @buf. */
void zfs_compressor_level_range(const char *name, char *buf, size_t size);

int zfs_zstd_min_level(void);
int zfs_zstd_max_level(void);

/**
 * zfs_compressor_init - set up @c for @name (already checked).
 * Return: 0 or -EINVAL.
 */
int zfs_compressor_init(struct zfs_compressor *c, const char *name, int level, bool level_set);

/**
 * zfs_compress_page - compress one 4096-byte page into @dst.
 * @cap: room in @dst; output that would not fit is abandoned early.
 * Return: the compressed length (1..@cap), 0 when it does not fit in @cap
 * (or the compressor is "none"), -ENOMEM when the thread's context could
 * not be made.
 * Context: uses the calling thread's own context; no lock.
 */
int zfs_compress_page(const struct zfs_compressor *c, const void *src, void *dst, size_t cap);

/**
 * zfs_decompress_page - expand @len bytes at @src into a 4096-byte page.
 * Return: 0; -EIO when the data does not decompress to exactly one page;
 * -ENOMEM when the thread's context could not be made.
 */
int zfs_decompress_page(const struct zfs_compressor *c, const void *src, size_t len, void *dst);

/**
 * zfs_compress_buf - compress @srclen bytes (several pages of a cluster) as
 * one block into @dst; zfs_compress_page() is this with one page.
 * Return: as zfs_compress_page().
 */
int zfs_compress_buf(const struct zfs_compressor *c, const void *src, size_t srclen, void *dst,
		     size_t cap);

/**
 * zfs_decompress_buf - expand @len bytes at @src into exactly @dstlen bytes.
 * Return: 0; -EIO when the data does not expand to exactly @dstlen; -ENOMEM.
 */
int zfs_decompress_buf(const struct zfs_compressor *c, const void *src, size_t len, void *dst,
		       size_t dstlen);

/**
 * zfs_decompress_prefix - expand at least the first @want of the @dstlen
 * bytes @src holds (lz4 stops early; others expand everything).
 * Return: the bytes expanded (>= @want), -EIO, -ENOMEM.
 */
int zfs_decompress_prefix(const struct zfs_compressor *c, const void *src, size_t len, void *dst,
			  size_t dstlen, size_t want);

#define ZFS_BIG_SCRATCH (256 * 1024)	/* the largest piece: ZFS_PIECE_MAX_PAGES pages */

/**
 * zfs_thread_big - two ZFS_BIG_SCRATCH buffers owned by the calling thread
 * (for pieces), made on first use and freed when the thread ends. Only
 * what a thread touches is resident: 64 KiB pieces touch a quarter.
 * Return: the first buffer (the second follows it), or NULL (ENOMEM).
 */
void *zfs_thread_big(void);

/**
 * zfs_thread_scratch - two page-sized buffers owned by the calling thread.
 * Return: the first buffer (the second follows it), or NULL (ENOMEM).
 */
void *zfs_thread_scratch(void);

#endif
