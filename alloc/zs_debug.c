// SPDX-License-Identifier: MIT
/*
 * zs_debug.c - handle checks of debug builds (make DEBUG=1, ZPOOL_DEBUG).
 *
 * zs_free() and zs_map_object() first check that the handle is a slot of one
 * of this pool's handle chunks and that the slot is live; zs_map_object() and
 * zs_unmap_object() keep a per-thread list of the handles this thread has
 * mapped, which catches double maps and unmaps of handles not mapped here.
 * A bad call prints one line on stderr naming the function and the handle,
 * counts it in zs_pool_stats.handle_errors and is ignored. Without
 * ZPOOL_DEBUG none of this is compiled: the checks cost nothing.
 */
#include "zs_internal.h"

#ifdef ZPOOL_DEBUG
#include <errno.h>

#define ZS_DEBUG_MAPPED 64

static __thread struct {
	struct zs_pool *pool;
	unsigned long handle;
} mapped[ZS_DEBUG_MAPPED];
static __thread unsigned int untracked;	/* maps made while mapped[] was full */

void zs_debug_report(struct zs_pool *pool, const char *func, unsigned long handle,
		     const char *what)
{
	fprintf(stderr, "zsmalloc: %s: %s handle %#lx (pool \"%s\"), call ignored\n", func, what,
		handle, pool->name);
	atomic_fetch_add(&pool->handle_errors, 1);
	errno = EINVAL;
}

static int find_mapped(struct zs_pool *pool, unsigned long handle)
{
	for (int i = 0; i < ZS_DEBUG_MAPPED; i++)
		if (mapped[i].handle == handle && mapped[i].pool == pool)
			return i;
	return -1;
}

static bool is_pool_slot(struct zs_pool *pool, unsigned long handle)
{
	struct zs_hchunk *chunk = zs_slot_chunk(handle);

	if (handle & (sizeof(unsigned long) - 1))
		return false;
	for (struct zs_hchunk *c = atomic_load(&pool->hchunks); c; c = atomic_load(&c->next))
		if (c == chunk)
			return handle >= (unsigned long)&c->slot[0] &&
			       handle < (unsigned long)&c->slot[ZS_HCHUNK_SLOTS];
	return false;
}

bool zs_debug_handle_ok(struct zs_pool *pool, unsigned long handle, const char *func,
			bool freeing)
{
	if (!is_pool_slot(pool, handle)) {
		zs_debug_report(pool, func, handle, "never-allocated");
		return false;
	}
	if (!(atomic_load(zs_slot(handle)) & ZS_SLOT_LIVE)) {
		zs_debug_report(pool, func, handle, "freed");
		return false;
	}
	if (freeing && find_mapped(pool, handle) >= 0) {
		zs_debug_report(pool, func, handle, "still-mapped");
		return false;
	}
	return true;
}

bool zs_debug_note_map(struct zs_pool *pool, unsigned long handle)
{
	int free_at;

	if (find_mapped(pool, handle) >= 0) {
		zs_debug_report(pool, "zs_map_object", handle, "double map of");
		return false;
	}
	free_at = find_mapped(NULL, 0);
	if (free_at < 0) {
		untracked++;
		return true;
	}
	mapped[free_at].pool = pool;
	mapped[free_at].handle = handle;
	return true;
}

bool zs_debug_note_unmap(struct zs_pool *pool, unsigned long handle)
{
	int at = find_mapped(pool, handle);

	if (at >= 0) {
		mapped[at].pool = NULL;
		mapped[at].handle = 0;
		return true;
	}
	if (untracked) {
		untracked--;
		return true;
	}
	zs_debug_report(pool, "zs_unmap_object", handle, "not mapped by this thread:");
	return false;
}

#else
/* ISO C wants at least one declaration in a translation unit. */
extern int zs_debug_compiled_out;
#endif
