/* SPDX-License-Identifier: MIT */
/*
 * zbud.h - a user-space zbud: every 4 KiB page holds at most two objects
 * ("buddies"), the first right after a one-chunk header, the last ending at
 * the page's end. Space is counted in 64-byte chunks. Pages are kept on an
 * LRU so that the owner can be asked to evict objects (zbud_reclaim_page).
 * All calls are thread-safe.
 */
#ifndef ZPOOL_ZBUD_H
#define ZPOOL_ZBUD_H

#include <stddef.h>
#include <stdint.h>

#define ZBUD_CHUNK_SHIFT 6
#define ZBUD_CHUNK_SIZE (1 << ZBUD_CHUNK_SHIFT)		/* 64 */
#define ZBUD_HEADER_SIZE ZBUD_CHUNK_SIZE		/* the header takes the first chunk */
#define ZBUD_NCHUNKS ((4096 - ZBUD_HEADER_SIZE) >> ZBUD_CHUNK_SHIFT)	/* 63 usable chunks */
#define ZBUD_MAX_ALLOC_SIZE (4096 - ZBUD_HEADER_SIZE - ZBUD_CHUNK_SIZE)	/* 3968 */

struct zbud_pool;

struct zbud_ops {
	/*
	 * evict - the owner must drop @handle (write it elsewhere, forget it)
	 * and zbud_free() it before returning 0; non-zero keeps it stored.
	 */
	int (*evict)(struct zbud_pool *pool, unsigned long handle);
};

struct zbud_stats {
	unsigned long pages;		/* pages in the pool */
	unsigned long buddied;		/* pages holding two objects */
	unsigned long unbuddied[ZBUD_NCHUNKS + 1]; /* pages with one object, by free chunks */
	unsigned long unbuddied_total;
	unsigned long lru_len;		/* pages on the LRU (equals pages outside reclaim) */
	unsigned long objects;		/* objects stored */
	unsigned long bytes_requested;	/* sum of sizes asked for, live objects */
	unsigned long chunks_used;	/* chunks given to objects */
	unsigned long mapped_now;	/* objects mapped at this moment */
	unsigned long maps;		/* zbud_map calls, ever */
	unsigned long reclaimed_pages;	/* pages freed by zbud_reclaim_page, ever */
	unsigned long alloc_fails;	/* zbud_alloc calls that failed, ever */
	unsigned long bad_frees;	/* zbud_free of a handle not allocated (DEBUG builds) */
};

/**
 * zbud_create_pool - create a pool.
 * @ops: callbacks (may be NULL: the pool then cannot reclaim).
 * Return: the pool, or NULL with errno = ENOMEM.
 */
struct zbud_pool *zbud_create_pool(const struct zbud_ops *ops);

/**
 * zbud_create_pool_priv - zbud_create_pool() that also keeps an owner's pointer.
 * @ops: as for zbud_create_pool().
 * @priv: returned by zbud_pool_priv(); lets an evict callback find its owner.
 * Return: the pool, or NULL with errno = ENOMEM.
 */
struct zbud_pool *zbud_create_pool_priv(const struct zbud_ops *ops, void *priv);

/** zbud_pool_priv - the @priv given to zbud_create_pool_priv() (NULL otherwise). */
void *zbud_pool_priv(struct zbud_pool *pool);

/** zbud_destroy_pool - free the pool and every page it holds. */
void zbud_destroy_pool(struct zbud_pool *pool);

/**
 * zbud_alloc - store room for @size bytes.
 * @handle: set to the new object's handle on success.
 * Return: 0; -EINVAL for size 0; -ENOSPC above ZBUD_MAX_ALLOC_SIZE;
 * -ENOMEM when a new page could not be had (the pool is unchanged).
 */
int zbud_alloc(struct zbud_pool *pool, size_t size, unsigned long *handle);

/** zbud_free - free an object; the page goes back when both buddies are free. */
void zbud_free(struct zbud_pool *pool, unsigned long handle);

/**
 * zbud_reclaim_page - evict the buddies of the least recently used page.
 * @retries: how many pages to try before giving up.
 * Return: 0 when a page was freed; -EINVAL when the pool has no evict callback
 * or no pages; -EAGAIN when every page tried kept an object.
 */
int zbud_reclaim_page(struct zbud_pool *pool, unsigned int retries);

/** zbud_map - the object's address; objects never move, so this is cheap. */
void *zbud_map(struct zbud_pool *pool, unsigned long handle);

/** zbud_unmap - end a zbud_map(). */
void zbud_unmap(struct zbud_pool *pool, unsigned long handle);

/** zbud_get_pool_size - pages in the pool. */
uint64_t zbud_get_pool_size(struct zbud_pool *pool);

/** zbud_pool_id - a process-unique number for this pool (used by the tracing probes). */
unsigned int zbud_pool_id(struct zbud_pool *pool);

/** zbud_get_stats - a consistent snapshot of the pool's lists (taken under the pool lock). */
void zbud_get_stats(struct zbud_pool *pool, struct zbud_stats *st);

#endif
