/* SPDX-License-Identifier: MIT */
/*
 * zpool.h - one API over every libzpool allocator, chosen by name.
 *
 * Drivers ("zsmalloc", "zbud") register themselves when the library loads;
 * a user picks one by name and then calls the zpool_* wrappers only:
 *
 *	struct zpool *zp = zpool_create_pool("zsmalloc", "files", NULL);
 *	unsigned long h;
 *	if (zpool_malloc(zp, len, 0, &h) == 0) {
 *		memcpy(zpool_map_handle(zp, h, ZPOOL_MM_WO), buf, len);
 *		zpool_unmap_handle(zp, h);
 *	}
 *
 * All calls are thread-safe; the registry has its own lock.
 */
#ifndef ZPOOL_ZPOOL_H
#define ZPOOL_ZPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zbud.h"
#include "zsmalloc.h"

enum zpool_mapmode {
	ZPOOL_MM_RW,
	ZPOOL_MM_RO,
	ZPOOL_MM_WO,
	ZPOOL_MM_DEFAULT = ZPOOL_MM_RW,
};

struct zpool;

struct zpool_ops {
	/* Asked by zpool_shrink() to drop @handle: free it and return 0, or refuse. */
	int (*evict)(struct zpool *pool, unsigned long handle);
};

/* The backend's own statistics, as zpool_get_stats() returns them. */
struct zpool_stats {
	const char *type;		/* driver name */
	uint64_t total_size;		/* bytes of pages held (zpool_get_total_size) */
	union {
		struct zs_pool_snapshot zs;	/* type "zsmalloc" */
		struct zbud_stats zbud;		/* type "zbud" */
	};
};

struct zpool_driver {
	const char *type;
	int refcount;			/* pools open on this driver; zpool's registry lock */

	void *(*create)(const char *name, const struct zpool_ops *ops, struct zpool *zpool);
	void (*destroy)(void *pool);

	bool malloc_support_movable;
	int (*malloc)(void *pool, size_t size, unsigned int flags, unsigned long *handle);
	void (*free)(void *pool, unsigned long handle);
	int (*shrink)(void *pool, unsigned int pages, unsigned int *reclaimed); /* may be NULL */
	unsigned long (*compact)(void *pool);	/* may be NULL: returns pages freed */
	unsigned long (*compactable)(void *pool);	/* may be NULL: pages compact could free */

	bool sleep_mapped;
	void *(*map)(void *pool, unsigned long handle, enum zpool_mapmode mm);
	void (*unmap)(void *pool, unsigned long handle);

	uint64_t (*total_size)(void *pool);
	void (*stats)(void *pool, struct zpool_stats *st);	/* may be NULL */

	size_t max_size;		/* largest malloc size accepted; 0 means 4096 */
};

/**
 * zpool_register_driver - make a driver available by its type name.
 * Return: 0, -EEXIST if a driver of that type is registered, -EINVAL for a
 * driver without a type or a required callback.
 */
int zpool_register_driver(struct zpool_driver *driver);

/**
 * zpool_unregister_driver - remove a driver.
 * Return: 0, -EBUSY while pools of it exist, -ENOENT if it is not registered.
 */
int zpool_unregister_driver(struct zpool_driver *driver);

/**
 * zpool_list_drivers - the type names of the registered drivers.
 * @types: filled with up to @max names, in registration order.
 * Return: the number of registered drivers (may exceed @max).
 */
size_t zpool_list_drivers(const char **types, size_t max);

/** zpool_has_pool - is a driver called @type registered? */
bool zpool_has_pool(const char *type);

/**
 * zpool_create_pool - create a pool of driver @type.
 * Return: the pool, or NULL with errno = ENOENT (no such driver; the message
 * from zpool_last_error() names it) or ENOMEM.
 */
struct zpool *zpool_create_pool(const char *type, const char *name, const struct zpool_ops *ops);

void zpool_destroy_pool(struct zpool *pool);
const char *zpool_get_type(struct zpool *pool);
bool zpool_malloc_support_movable(struct zpool *pool);
bool zpool_can_sleep_mapped(struct zpool *pool);

/**
 * zpool_malloc - allocate @size bytes.
 * Return: 0 and *@handle; -EINVAL (size 0), -ENOSPC (too large for the
 * backend), -ENOMEM (no page; nothing stored changes).
 */
int zpool_malloc(struct zpool *pool, size_t size, unsigned int flags, unsigned long *handle);
void zpool_free(struct zpool *pool, unsigned long handle);

/**
 * zpool_shrink - ask the backend to evict until @pages pages are freed.
 * Return: 0 with *@reclaimed set (may be NULL), -EINVAL if the backend cannot
 * evict, or the backend's error.
 */
int zpool_shrink(struct zpool *pool, unsigned int pages, unsigned int *reclaimed);

void *zpool_map_handle(struct zpool *pool, unsigned long handle, enum zpool_mapmode mm);
void zpool_unmap_handle(struct zpool *pool, unsigned long handle);
uint64_t zpool_get_total_size(struct zpool *pool);

/** zpool_compact - compact if the backend can. Return: pages freed (0 if it cannot). */
unsigned long zpool_compact(struct zpool *pool);

/**
 * zpool_compactable - pages zpool_compact() could free now, cheaply and
 * without a lock (an estimate while other threads allocate and free).
 * Return: pages; 0 if the backend does not compact.
 */
unsigned long zpool_compactable(struct zpool *pool);

/** zpool_get_stats - the backend's statistics, one consistent snapshot. */
void zpool_get_stats(struct zpool *pool, struct zpool_stats *st);

/** zpool_max_alloc_size - the largest size zpool_malloc accepts for this pool. */
size_t zpool_max_alloc_size(struct zpool *pool);

/** zpool_last_error - a message for the calling thread's last failed zpool call. */
const char *zpool_last_error(void);

#endif
