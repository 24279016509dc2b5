// SPDX-License-Identifier: MIT
/*
 * zpool_zbud.c - zbud as a zpool driver ("zbud").
 *
 * The zpool pool pointer is the zbud_pool itself; a small bridge structure
 * hangs off it (zbud_pool_priv) so that zbud's evict(pool, handle) can be
 * turned into the zpool user's evict(zpool, handle):
 *
 *   zpool_shrink -> zbud_zpool_shrink -> zbud_reclaim_page
 *        -> zbud_ops.evict(zbud_pool, h) -> bridge -> zpool_ops.evict(zpool, h)
 *             -> user stores the object elsewhere, zpool_free(zpool, h) -> zbud_free
 *
 * A zpool created without an evict callback gets a zbud pool without one, so
 * zpool_shrink() answers -EINVAL instead of asking nobody. zbud objects never
 * move (malloc_support_movable false) and a mapping is a plain address, so the
 * caller may sleep while it holds one (sleep_mapped true), as in the kernel.
 */
#include <errno.h>
#include <stdlib.h>

#include "zpool_internal.h"
#include "zbud.h"
#include "zpage.h"

/* zbud_reclaim_page() retries per page wanted, as the kernel's zbud driver uses. */
#define ZBUD_SHRINK_RETRIES 8

struct zbud_bridge {
	struct zpool *zpool;		/* fixed at creation */
	const struct zpool_ops *ops;	/* fixed at creation */
};

static int zbud_zpool_evict(struct zbud_pool *pool, unsigned long handle)
{
	struct zbud_bridge *br = zbud_pool_priv(pool);

	return br->ops->evict(br->zpool, handle);
}

static const struct zbud_ops zbud_zpool_ops = {
	.evict = zbud_zpool_evict,
};

static void *zbud_zpool_create(const char *name, const struct zpool_ops *ops, struct zpool *zpool)
{
	struct zbud_bridge *br = malloc(sizeof(*br));
	struct zbud_pool *pool;

	if (!br) {
		errno = ENOMEM;
		return NULL;
	}
	br->zpool = zpool;
	br->ops = ops;
	pool = zbud_create_pool_priv(ops && ops->evict ? &zbud_zpool_ops : NULL, br);
	if (!pool)
		free(br);
	return pool;
}

static void zbud_zpool_destroy(void *pool)
{
	struct zbud_bridge *br = zbud_pool_priv(pool);

	zbud_destroy_pool(pool);
	free(br);
}

static int zbud_zpool_malloc(void *pool, size_t size, unsigned int flags, unsigned long *handle)
{
	return zbud_alloc(pool, size, handle);
}

static void zbud_zpool_free(void *pool, unsigned long handle)
{
	zbud_free(pool, handle);
}

/*
 * Reclaim until @pages pages are freed or zbud gives up; *@reclaimed says how
 * far it got either way, and the error of the attempt that failed is returned.
 */
static int zbud_zpool_shrink(void *pool, unsigned int pages, unsigned int *reclaimed)
{
	unsigned int total = 0;
	int ret = 0;

	while (total < pages) {
		ret = zbud_reclaim_page(pool, ZBUD_SHRINK_RETRIES);
		if (ret < 0)
			break;
		total++;
	}
	if (reclaimed)
		*reclaimed = total;
	return ret;
}

static void *zbud_zpool_map(void *pool, unsigned long handle, enum zpool_mapmode mm)
{
	return zbud_map(pool, handle);
}

static void zbud_zpool_unmap(void *pool, unsigned long handle)
{
	zbud_unmap(pool, handle);
}

static uint64_t zbud_zpool_total_size(void *pool)
{
	return zbud_get_pool_size(pool) << ZPAGE_SHIFT;
}

static void zbud_zpool_stats(void *pool, struct zpool_stats *st)
{
	zbud_get_stats(pool, &st->zbud);
	st->total_size = (uint64_t)st->zbud.pages << ZPAGE_SHIFT;
}

struct zpool_driver zpool_zbud_driver = {
	.type = "zbud",
	.create = zbud_zpool_create,
	.destroy = zbud_zpool_destroy,
	.malloc_support_movable = false,
	.malloc = zbud_zpool_malloc,
	.free = zbud_zpool_free,
	.shrink = zbud_zpool_shrink,
	.compact = NULL,
	.sleep_mapped = true,
	.map = zbud_zpool_map,
	.unmap = zbud_zpool_unmap,
	.total_size = zbud_zpool_total_size,
	.stats = zbud_zpool_stats,
	.max_size = ZBUD_MAX_ALLOC_SIZE,
};
