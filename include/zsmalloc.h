/* SPDX-License-Identifier: MIT */
/*
 * zsmalloc.h - a user-space zsmalloc: a slab-like allocator for objects of
 * up to one 4 KiB page, built from zspages of chained, non-contiguous pages.
 *
 * Objects are reached only through opaque handles that must be mapped:
 *
 *	struct zs_pool *pool = zs_create_pool("mypool");
 *	unsigned long h = zs_malloc(pool, 700, 0);
 *	void *p = zs_map_object(pool, h, ZS_MM_WO);
 *	memcpy(p, buf, 700);
 *	zs_unmap_object(pool, h);
 *	zs_free(pool, h);
 *	zs_destroy_pool(pool);
 *
 * All calls are thread-safe. A mapping is per thread: unmap on the thread that
 * mapped, and keep the window short (the zspage cannot be compacted meanwhile).
 */
#ifndef ZPOOL_ZSMALLOC_H
#define ZPOOL_ZSMALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum zs_mapmode {
	ZS_MM_RW,	/* read and write; a straddling object is copied in and back */
	ZS_MM_RO,	/* read only; nothing is copied back */
	ZS_MM_WO,	/* write only; the old contents need not be copied in */
};

#define ZS_MAX_ALLOC_SIZE 4096		/* largest object zs_malloc accepts */
#define ZS_MIN_ALLOC_SIZE 32		/* smallest class size */
#define ZS_SIZE_CLASS_DELTA 16		/* class sizes step by this */
#define ZS_SIZE_CLASSES 255		/* (4096 - 32) / 16 + 1 */
#define ZS_MAX_PAGES_PER_ZSPAGE 8
#define ZS_NR_INUSE_BUCKETS 11		/* 10% 20% ... 90% 99% 100% as the kernel prints them */

struct zs_pool;

/* Pool-wide numbers (one consistent snapshot, see zs_pool_snapshot()). */
struct zs_pool_stats {
	unsigned long pages_used;	/* pool pages in use (zs_get_total_pages) */
	unsigned long pages_max;	/* high-water mark of pages_used */
	unsigned long pages_compacted;	/* pages freed by compaction, ever */
	unsigned long compactions;	/* zs_compact calls, ever */
	unsigned long obj_allocated;	/* object slots in all zspages */
	unsigned long obj_used;		/* objects handed out and not freed */
	unsigned long bytes_requested;	/* sum of sizes passed to zs_malloc for live objects */
	unsigned long zspages;		/* zspages in use */
	unsigned long mapped_now;	/* objects mapped at this moment */
	unsigned long maps;		/* zs_map_object calls, ever */
	unsigned long unmaps;		/* zs_unmap_object calls, ever */
	unsigned long alloc_fails;	/* zs_malloc calls that failed, ever */
	unsigned long handle_errors;	/* bad handles caught and ignored (DEBUG=1 builds) */
};

/* One row of the classes table: a distinct (not merged) size class. */
struct zs_class_stats {
	unsigned int index;		/* class index, 0..ZS_SIZE_CLASSES-1 */
	unsigned int size;		/* object slot size in bytes */
	unsigned int pages_per_zspage;
	unsigned int objs_per_zspage;
	bool huge;			/* one object per zspage, no in-object handle */
	unsigned long inuse[ZS_NR_INUSE_BUCKETS]; /* zspages per in-use ratio bucket */
	unsigned long almost_full;	/* zspages with N/4 < n < N */
	unsigned long almost_empty;	/* zspages with 0 < n <= N/4 */
	unsigned long full;		/* zspages with n == N */
	unsigned long obj_allocated;	/* slots in this class's zspages */
	unsigned long obj_used;		/* objects in use */
	unsigned long pages_used;	/* obj_allocated / objs_per_zspage * pages_per_zspage */
	unsigned long freeable;		/* pages compaction could free now (kernel's formula) */
};

/* A whole-pool snapshot taken under every class lock at once. */
struct zs_pool_snapshot {
	struct zs_pool_stats pool;
	unsigned int nr_classes;	/* rows used in class[] */
	struct zs_class_stats class[ZS_SIZE_CLASSES];
};

/**
 * zs_create_pool - create an allocation pool.
 * @name: a label kept for statistics (copied).
 * Return: the pool, or NULL with errno set (ENOMEM, or EINVAL for a NULL name).
 */
struct zs_pool *zs_create_pool(const char *name);

/**
 * zs_destroy_pool - free a pool and every page it holds.
 * Objects still allocated are released (a debug build reports them as leaks).
 */
void zs_destroy_pool(struct zs_pool *pool);

/**
 * zs_malloc - allocate an object of @size bytes.
 * @flags: reserved, pass 0.
 * Return: an opaque handle, or 0 with errno = EINVAL (size 0 or above
 * ZS_MAX_ALLOC_SIZE) or ENOMEM (no page could be had; the pool is unchanged).
 */
unsigned long zs_malloc(struct zs_pool *pool, size_t size, unsigned int flags);

/** zs_free - free an object; handle 0 is ignored. */
void zs_free(struct zs_pool *pool, unsigned long handle);

/**
 * zs_map_object - get a pointer to an object's bytes.
 * Return: the object's first byte, valid until zs_unmap_object() on the same thread.
 * An object that straddles two pages is served through a per-thread buffer
 * (filled for RO/RW, written back on unmap for WO/RW). One thread may hold
 * two straddling mappings at a time (non-straddling ones without limit); a
 * third returns NULL with errno EBUSY. NULL with ENOMEM if the thread's
 * buffer cannot be allocated; debug builds return NULL with EINVAL for a
 * handle that is not live or is already mapped by this thread.
 */
void *zs_map_object(struct zs_pool *pool, unsigned long handle, enum zs_mapmode mm);

/** zs_unmap_object - end the mapping made by zs_map_object(). */
void zs_unmap_object(struct zs_pool *pool, unsigned long handle);

/**
 * zs_compact - move objects from sparse zspages into dense ones and free the
 * zspages emptied. Every handle stays valid; mapped zspages are skipped.
 * Return: the number of pages freed.
 */
unsigned long zs_compact(struct zs_pool *pool);

/**
 * zs_pages_freeable - pages zs_compact() could free now, summed over the
 * classes with the kernel's formula (zs_can_compact()), without any lock.
 * Cheap enough to poll; each class's share is exact, the sum only roughly
 * simultaneous (zs_pool_snapshot() gives the exact table).
 */
unsigned long zs_pages_freeable(struct zs_pool *pool);

/** zs_get_total_pages - pages the pool holds now. */
unsigned long zs_get_total_pages(struct zs_pool *pool);

/** zs_huge_class_size - objects of this size or more get a zspage of their own. */
size_t zs_huge_class_size(struct zs_pool *pool);

/** zs_pool_id - a process-unique number for this pool (used by the tracing probes). */
unsigned int zs_pool_id(struct zs_pool *pool);

/** zs_pool_name - the name given to zs_create_pool(). */
const char *zs_pool_name(struct zs_pool *pool);

/** zs_pool_stats - pool-wide counters (cheap; not consistent across classes). */
void zs_pool_stats(struct zs_pool *pool, struct zs_pool_stats *stats);

/**
 * zs_pool_snapshot - pool and per-class statistics, all taken at one instant
 * (every class lock is held while copying), rows in class order.
 */
void zs_pool_snapshot(struct zs_pool *pool, struct zs_pool_snapshot *snap);

/**
 * zs_lookup_class - the class an object of @size would use.
 * Return: 0, filling @out with the class's geometry (counters are zero), or
 * -EINVAL for a size zs_malloc would refuse.
 */
int zs_lookup_class(struct zs_pool *pool, size_t size, struct zs_class_stats *out);

#endif
