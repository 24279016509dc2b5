// SPDX-License-Identifier: MIT
/*
 * zsmalloc.c - user-space zsmalloc (first cut).
 *
 * This first version keeps one object per pool page behind a global mutex so
 * that everything linking against <zsmalloc.h> works while the zspage-based
 * allocator is written. The class table is already the kernel's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "probes.h"
#include "zsmalloc.h"

#define ZS_HANDLE_SIZE sizeof(unsigned long)

struct zs_class_geom {
	unsigned int size;
	unsigned int index;
	unsigned int pages_per_zspage;
	unsigned int objs_per_zspage;
	bool huge;
};

struct zs_obj {
	void *page;
	size_t size;
	unsigned int class_idx;
	int mapped;
};

struct zs_pool {
	char *name;
	unsigned int id;
	pthread_mutex_t lock;
	struct zs_class_geom geom[ZS_SIZE_CLASSES];
	struct zs_class_geom *class[ZS_SIZE_CLASSES];
	size_t huge_class_size;
	struct zs_pool_stats st;
	unsigned long class_used[ZS_SIZE_CLASSES];
};

static atomic_uint next_pool_id = 1;

static unsigned int pages_per_zspage(unsigned int size)
{
	unsigned int best = 1, best_usage = 0;

	for (unsigned int k = 1; k <= ZS_MAX_PAGES_PER_ZSPAGE; k++) {
		unsigned int bytes = k * ZPAGE_SIZE;
		unsigned int usage = (bytes - bytes % size) * 100 / bytes;

		if (usage > best_usage) {
			best_usage = usage;
			best = k;
		}
	}
	return best;
}

static unsigned int size_to_index(size_t size)
{
	if (size <= ZS_MIN_ALLOC_SIZE)
		return 0;
	return (unsigned int)((size - ZS_MIN_ALLOC_SIZE + ZS_SIZE_CLASS_DELTA - 1) /
			      ZS_SIZE_CLASS_DELTA);
}

struct zs_pool *zs_create_pool(const char *name)
{
	struct zs_pool *pool;
	struct zs_class_geom *prev = NULL;

	if (!name) {
		errno = EINVAL;
		return NULL;
	}
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	pool->name = strdup(name);
	if (!pool->name) {
		free(pool);
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pool->id = atomic_fetch_add(&next_pool_id, 1);
	pool->huge_class_size = ZS_MAX_ALLOC_SIZE;
	for (int i = ZS_SIZE_CLASSES - 1; i >= 0; i--) {
		unsigned int size = ZS_MIN_ALLOC_SIZE + i * ZS_SIZE_CLASS_DELTA;
		unsigned int ppz = pages_per_zspage(size);
		unsigned int opz = ppz * ZPAGE_SIZE / size;

		if (opz == 1 && ppz == 1)
			pool->huge_class_size = size - ZS_HANDLE_SIZE;
		if (prev && prev->pages_per_zspage == ppz && prev->objs_per_zspage == opz) {
			pool->class[i] = prev;
			continue;
		}
		pool->geom[i] = (struct zs_class_geom){ size, i, ppz, opz, opz == 1 && ppz == 1 };
		pool->class[i] = prev = &pool->geom[i];
	}
	return pool;
}

void zs_destroy_pool(struct zs_pool *pool)
{
	if (!pool)
		return;
	pthread_mutex_destroy(&pool->lock);
	free(pool->name);
	free(pool);
}

unsigned long zs_malloc(struct zs_pool *pool, size_t size, unsigned int flags)
{
	struct zs_obj *obj;
	void *page;

	if (!size || size > ZS_MAX_ALLOC_SIZE) {
		errno = EINVAL;
		return 0;
	}
	obj = malloc(sizeof(*obj));
	page = obj ? zpage_alloc() : NULL;
	if (!page) {
		free(obj);
		pthread_mutex_lock(&pool->lock);
		pool->st.alloc_fails++;
		pthread_mutex_unlock(&pool->lock);
		errno = ENOMEM;
		return 0;
	}
	obj->page = page;
	obj->size = size;
	obj->mapped = 0;
	obj->class_idx = pool->class[size_to_index(size)]->index;
	pthread_mutex_lock(&pool->lock);
	pool->st.pages_used++;
	if (pool->st.pages_used > pool->st.pages_max)
		pool->st.pages_max = pool->st.pages_used;
	pool->st.obj_allocated++;
	pool->st.obj_used++;
	pool->st.zspages++;
	pool->st.bytes_requested += size;
	pool->class_used[obj->class_idx]++;
	pthread_mutex_unlock(&pool->lock);
	return (unsigned long)obj;
}

void zs_free(struct zs_pool *pool, unsigned long handle)
{
	struct zs_obj *obj = (struct zs_obj *)handle;

	if (!handle)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->st.pages_used--;
	pool->st.obj_allocated--;
	pool->st.obj_used--;
	pool->st.zspages--;
	pool->st.bytes_requested -= obj->size;
	pool->class_used[obj->class_idx]--;
	pthread_mutex_unlock(&pool->lock);
	zpage_free(obj->page);
	free(obj);
}

void *zs_map_object(struct zs_pool *pool, unsigned long handle, enum zs_mapmode mm)
{
	struct zs_obj *obj = (struct zs_obj *)handle;

	trace_map_entry(ZPOOL_BACKEND_ZSMALLOC, pool->id, handle, pool->geom[obj->class_idx].size,
			mm, 0);
	pthread_mutex_lock(&pool->lock);
	pool->st.maps++;
	pool->st.mapped_now++;
	pthread_mutex_unlock(&pool->lock);
	trace_map_return(ZPOOL_BACKEND_ZSMALLOC, pool->id, handle,
			 pool->geom[obj->class_idx].size, mm, 0);
	return obj->page;
}

void zs_unmap_object(struct zs_pool *pool, unsigned long handle)
{
	struct zs_obj *obj = (struct zs_obj *)handle;

	trace_unmap_entry(ZPOOL_BACKEND_ZSMALLOC, pool->id, handle,
			  pool->geom[obj->class_idx].size, 0, 0);
	pthread_mutex_lock(&pool->lock);
	pool->st.unmaps++;
	pool->st.mapped_now--;
	pthread_mutex_unlock(&pool->lock);
	trace_unmap_return(ZPOOL_BACKEND_ZSMALLOC, pool->id, handle,
			   pool->geom[obj->class_idx].size, 0, 0);
}

unsigned long zs_compact(struct zs_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	pool->st.compactions++;
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

unsigned long zs_get_total_pages(struct zs_pool *pool)
{
	unsigned long n;

	pthread_mutex_lock(&pool->lock);
	n = pool->st.pages_used;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

size_t zs_huge_class_size(struct zs_pool *pool)
{
	return pool->huge_class_size;
}

unsigned int zs_pool_id(struct zs_pool *pool)
{
	return pool->id;
}

const char *zs_pool_name(struct zs_pool *pool)
{
	return pool->name;
}

void zs_pool_stats(struct zs_pool *pool, struct zs_pool_stats *stats)
{
	pthread_mutex_lock(&pool->lock);
	*stats = pool->st;
	pthread_mutex_unlock(&pool->lock);
}

static void fill_geom(const struct zs_class_geom *g, struct zs_class_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->index = g->index;
	out->size = g->size;
	out->pages_per_zspage = g->pages_per_zspage;
	out->objs_per_zspage = g->objs_per_zspage;
	out->huge = g->huge;
}

void zs_pool_snapshot(struct zs_pool *pool, struct zs_pool_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	pthread_mutex_lock(&pool->lock);
	snap->pool = pool->st;
	for (unsigned int i = 0; i < ZS_SIZE_CLASSES; i++) {
		struct zs_class_stats *row;
		unsigned long n = pool->class_used[i];

		if (pool->class[i] != &pool->geom[i])
			continue;
		row = &snap->class[snap->nr_classes++];
		fill_geom(&pool->geom[i], row);
		row->obj_used = n;
		row->obj_allocated = n;
		row->pages_used = n;
		row->inuse[ZS_NR_INUSE_BUCKETS - 1] = n;
		row->full = n;
	}
	pthread_mutex_unlock(&pool->lock);
}

int zs_lookup_class(struct zs_pool *pool, size_t size, struct zs_class_stats *out)
{
	if (!size || size > ZS_MAX_ALLOC_SIZE)
		return -EINVAL;
	fill_geom(pool->class[size_to_index(size)], out);
	return 0;
}
