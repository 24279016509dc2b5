/* SPDX-License-Identifier: MIT */
/*
 * dedup.h - identical data stored once (-o dedup): an index from a hash of
 * the pages of each stored piece to the piece (dedup.c). Internal to fs/.
 */
#ifndef ZPOOLFS_DEDUP_H
#define ZPOOLFS_DEDUP_H

#include <stdbool.h>
#include <stdint.h>

#include "zfs.h"

struct zfs_piece;

/** zfs_dedup_init - an empty index for @fs (opt.dedup). Return: 0 or -ENOMEM. Context: mount. */
int zfs_dedup_init(struct zfs_fs *fs);

/** zfs_dedup_destroy - free the index (every piece is gone by then). Context: unmount. */
void zfs_dedup_destroy(struct zfs_fs *fs);

/**
 * zfs_dedup_hash - the index key of @n pages, page i at @pages[i]: XXH3-64
 * (fewer bits under the test hook ZPOOLFS_DEDUP_HASH_BITS=N, read at mount).
 */
uint64_t zfs_dedup_hash(struct zfs_fs *fs, const void *const *pages, unsigned int n);

/**
 * zfs_dedup_find - a stored piece of exactly @n pages equal, byte for byte,
 * to @pages[0..n-1] (key @hash), with one reference taken for the caller.
 * Return: the piece, or NULL (none, or the comparison could not decode).
 * Context: no lock held; takes a shard lock, decodes through the thread's
 * piece buffers (zfs_piece_decode()).
 */
struct zfs_piece *zfs_dedup_find(struct zfs_fs *fs, uint64_t hash, const void *const *pages,
				 unsigned int n);

/**
 * zfs_dedup_insert - put the new piece @p (key @hash) in the index, before
 * any entry pointing at it is published. Best effort: when the index cannot
 * grow, @p is simply not indexed. Context: no lock held.
 */
void zfs_dedup_insert(struct zfs_fs *fs, struct zfs_piece *p, uint64_t hash);

/**
 * zfs_dedup_forget - take @p, whose last reference just went, out of the
 * index (before it is freed). Context: no lock held (zfs_piece_put()).
 */
void zfs_dedup_forget(struct zfs_fs *fs, struct zfs_piece *p);

/**
 * zfs_dedup_cluster - the @m pages at @s + @data[i] * 4096 of a cluster: if a
 * stored piece holds exactly them, fill @out[data[i]] with its slots (a
 * reference each) and return true; else false, with their index key in
 * *@hash for zfs_dedup_insert(). Context: as zfs_dedup_find().
 */
bool zfs_dedup_cluster(struct zfs_fs *fs, const char *s, const unsigned int *data, unsigned int m,
		       struct zfs_pte *out, uint64_t *hash);

/**
 * zfs_dedup_page - store one page that is not same-filled with -o dedup:
 * a reference to an equal stored page, or the page stored as a one-page
 * piece and indexed (zbud's split raw page: stored plainly, not indexed).
 * Return: as zfs_page_encode(). Context: no lock; the thread's buffers.
 */
int zfs_dedup_page(struct zfs_fs *fs, const void *src, struct zfs_pte *out);

#endif
