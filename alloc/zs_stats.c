// SPDX-License-Identifier: MIT
/*
 * zs_stats.c - zsmalloc's statistics: cheap pool counters, a consistent
 * snapshot of every class, and class lookup.
 *
 * Class counters are written under their class lock with relaxed atomic
 * stores (zs_stat_add), so zs_pool_stats() sums them without any lock (each
 * number is right, their sum only roughly simultaneous), while
 * zs_pool_snapshot() holds every class lock at once, in index order, so that
 * its rows and totals describe one instant. Map counters are striped per
 * thread (zs_map.c); mapped_now is maps - unmaps.
 */
#include <errno.h>
#include <string.h>

#include "zs_internal.h"

static bool distinct(struct zs_pool *pool, int i)
{
	return pool->class_of[i]->index == (unsigned int)i;
}

/* Pool-wide counters that are atomics in their own right. */
static void pool_counters(struct zs_pool *pool, struct zs_pool_stats *st)
{
	unsigned long maps = 0, unmaps = 0;

	/* Unmaps first: an unmap counted here has its map counted below. */
	for (int i = 0; i < ZS_STRIPES; i++)
		unmaps += atomic_load(&pool->stripe[i].unmaps);
	for (int i = 0; i < ZS_STRIPES; i++)
		maps += atomic_load(&pool->stripe[i].maps);
	st->maps = maps;
	st->unmaps = unmaps;
	st->mapped_now = maps > unmaps ? maps - unmaps : 0;
	st->pages_max = atomic_load(&pool->pages_max);
	st->pages_compacted = atomic_load(&pool->pages_compacted);
	st->compactions = atomic_load(&pool->compactions);
	st->alloc_fails = atomic_load(&pool->alloc_fails);
	st->handle_errors = atomic_load(&pool->handle_errors);
}

/**
 * zs_pool_stats - pool-wide counters, cheaply.
 * @pool: the pool.
 * @stats: filled in.
 *
 * Each counter is exact, but they are read one after another without a lock,
 * so they need not agree with each other; see zs_pool_snapshot().
 * Context: lock-free.
 */
void zs_pool_stats(struct zs_pool *pool, struct zs_pool_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	for (int i = 0; i < ZS_SIZE_CLASSES; i++) {
		struct zs_class *class = pool->class_of[i];

		if (!distinct(pool, i))
			continue;
		stats->obj_allocated += zs_stat_get(&class->st.obj_allocated);
		stats->obj_used += zs_stat_get(&class->st.obj_used);
		stats->bytes_requested += zs_stat_get(&class->st.bytes_requested);
		stats->zspages += zs_stat_get(&class->st.zspages);
	}
	stats->pages_used = zs_get_total_pages(pool);
	pool_counters(pool, stats);
}

static void class_geometry(const struct zs_class *class, struct zs_class_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->index = class->index;
	out->size = class->size;
	out->pages_per_zspage = class->pages_per_zspage;
	out->objs_per_zspage = class->objs_per_zspage;
	out->huge = class->huge;
}

/* One row; the class lock is held. */
static void class_row(struct zs_class *class, struct zs_class_stats *row)
{
	class_geometry(class, row);
	for (int b = 0; b < ZS_NR_INUSE_BUCKETS; b++)
		row->inuse[b] = zs_stat_get(&class->st.fg[b + 1]);
	row->almost_empty = zs_stat_get(&class->st.sg[ZS_SG_ALMOST_EMPTY]);
	row->almost_full = zs_stat_get(&class->st.sg[ZS_SG_ALMOST_FULL]);
	row->full = zs_stat_get(&class->st.sg[ZS_SG_FULL]);
	row->obj_allocated = zs_stat_get(&class->st.obj_allocated);
	row->obj_used = zs_stat_get(&class->st.obj_used);
	row->pages_used = row->obj_allocated / class->objs_per_zspage * class->pages_per_zspage;
	row->freeable = zs_class_freeable(class);
}

/**
 * zs_pool_snapshot - pool and per-class statistics taken at one instant.
 * @pool: the pool.
 * @snap: filled in: one row per distinct (not merged) class, in class order;
 *        snap->pool.pages_used is the sum of the rows' pages_used.
 *
 * Context: holds every class lock at once (taken in index order), so
 * allocation and freeing stop for the copy; maps go on.
 */
void zs_pool_snapshot(struct zs_pool *pool, struct zs_pool_snapshot *snap)
{
	struct zs_pool_stats *st = &snap->pool;

	memset(snap, 0, sizeof(*snap));
	for (int i = 0; i < ZS_SIZE_CLASSES; i++)
		if (distinct(pool, i))
			zs_lock(&pool->class_of[i]->lock);
	for (int i = 0; i < ZS_SIZE_CLASSES; i++) {
		struct zs_class *class = pool->class_of[i];
		struct zs_class_stats *row;

		if (!distinct(pool, i))
			continue;
		row = &snap->class[snap->nr_classes++];
		class_row(class, row);
		st->pages_used += row->pages_used;
		st->obj_allocated += row->obj_allocated;
		st->obj_used += row->obj_used;
		st->zspages += zs_stat_get(&class->st.zspages);
		st->bytes_requested += zs_stat_get(&class->st.bytes_requested);
	}
	pool_counters(pool, st);
	for (int i = ZS_SIZE_CLASSES - 1; i >= 0; i--)
		if (distinct(pool, i))
			zs_unlock(&pool->class_of[i]->lock);
}

/**
 * zs_lookup_class - the class an object of @size would use.
 * @pool: the pool.
 * @size: a size zs_malloc() would accept.
 * @out: filled with the class's geometry; its counters are zero.
 *
 * Return: 0, or -EINVAL for a size zs_malloc() would refuse.
 * Context: lock-free.
 */
int zs_lookup_class(struct zs_pool *pool, size_t size, struct zs_class_stats *out)
{
	if (!size || size > ZS_MAX_ALLOC_SIZE)
		return -EINVAL;
	class_geometry(zs_size_class(pool, size), out);
	return 0;
}
