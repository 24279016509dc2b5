// SPDX-License-Identifier: MIT
/*
 * zpool_zsmalloc.c - zsmalloc as a zpool driver ("zsmalloc").
 *
 * A thin translation layer: the zpool pool pointer is the zs_pool itself, so
 * every zpool call costs one indirect call and nothing else. zsmalloc keeps no
 * LRU and cannot evict, so the driver has no shrink (zpool_shrink() answers
 * -EINVAL); it compacts instead. Its objects may move during compaction
 * (malloc_support_movable) and a mapping must not sleep, because an object
 * straddling two pages is served from a per-thread buffer (sleep_mapped false),
 * as in the kernel.
 */
#include <errno.h>

#include "zpool_internal.h"
#include "zsmalloc.h"
#include "zpage.h"

_Static_assert(ZPOOL_MM_RW == (int)ZS_MM_RW && ZPOOL_MM_RO == (int)ZS_MM_RO &&
		       ZPOOL_MM_WO == (int)ZS_MM_WO,
	       "zpool map modes are zsmalloc's");

static void *zs_zpool_create(const char *name, const struct zpool_ops *ops, struct zpool *zpool)
{
	return zs_create_pool(name ? name : "zpool");
}

static void zs_zpool_destroy(void *pool)
{
	zs_destroy_pool(pool);
}

/* zs_malloc says EINVAL for both size 0 and too big; zpool tells them apart. */
static int zs_zpool_malloc(void *pool, size_t size, unsigned int flags, unsigned long *handle)
{
	unsigned long h = zs_malloc(pool, size, flags);

	if (h) {
		*handle = h;
		return 0;
	}
	if (errno == ENOMEM)
		return -ENOMEM;
	return size > ZS_MAX_ALLOC_SIZE ? -ENOSPC : -EINVAL;
}

static void zs_zpool_free(void *pool, unsigned long handle)
{
	zs_free(pool, handle);
}

static unsigned long zs_zpool_compact(void *pool)
{
	return zs_compact(pool);
}

static unsigned long zs_zpool_compactable(void *pool)
{
	return zs_pages_freeable(pool);
}

static void *zs_zpool_map(void *pool, unsigned long handle, enum zpool_mapmode mm)
{
	return zs_map_object(pool, handle, (enum zs_mapmode)mm);
}

static void zs_zpool_unmap(void *pool, unsigned long handle)
{
	zs_unmap_object(pool, handle);
}

static uint64_t zs_zpool_total_size(void *pool)
{
	return (uint64_t)zs_get_total_pages(pool) << ZPAGE_SHIFT;
}

/* The byte total comes from the same snapshot, so the two always agree. */
static void zs_zpool_stats(void *pool, struct zpool_stats *st)
{
	zs_pool_snapshot(pool, &st->zs);
	st->total_size = (uint64_t)st->zs.pool.pages_used << ZPAGE_SHIFT;
}

struct zpool_driver zpool_zsmalloc_driver = {
	.type = "zsmalloc",
	.create = zs_zpool_create,
	.destroy = zs_zpool_destroy,
	.malloc_support_movable = true,
	.malloc = zs_zpool_malloc,
	.free = zs_zpool_free,
	.shrink = NULL,
	.compact = zs_zpool_compact,
	.compactable = zs_zpool_compactable,
	.sleep_mapped = false,
	.map = zs_zpool_map,
	.unmap = zs_zpool_unmap,
	.total_size = zs_zpool_total_size,
	.stats = zs_zpool_stats,
	.max_size = ZS_MAX_ALLOC_SIZE,
};
