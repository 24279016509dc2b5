// SPDX-License-Identifier: MIT
/*
 * zs_compact.c - zs_compact(): per class, move objects out of the sparsest
 * zspages into the densest ones that still have room, and free the zspages
 * emptied, as the kernel's __zs_compact() does.
 *
 *   densest non-full (destination)         sparsest (source)
 *   +----+----+----+----+----+             +----+----+----+----+----+
 *   | A  | B  | C  |    |    |   <------   |    | D  |    |    | E  |
 *   +----+----+----+----+----+             +----+----+----+----+----+
 *                                          emptied -> pages freed
 *
 * Each step (one source) holds the class lock: zs_malloc/zs_free of the class wait, and a
 * mapper that finds ZS_MIGRATING on the source waits on the lock too. A source
 * is taken only by turning its mapcount from 0 to ZS_MIGRATING, so a zspage
 * with any object mapped is skipped, never waited for. Objects in the
 * destination may be mapped meanwhile: only free slots of it are written. The
 * lock is dropped between steps, and handed to a waiter if there is one
 * (zs_unlock_handoff), so that allocation and mapping go on: a request waits
 * at most one step, a copy of at most one zspage (8 pages).
 *
 * Handles stay valid: a moved object's slot is rewritten with its new
 * location (a release store), and the header (handle | allocated) moves with
 * the object, which is how the source's live objects are found.
 */
#include <stdlib.h>

#include "zs_internal.h"

/* Pages compaction could free now: the kernel's zs_can_compact(). */
unsigned long zs_class_freeable(struct zs_class *class)
{
	unsigned long allocated = zs_stat_get(&class->st.obj_allocated);
	unsigned long used = zs_stat_get(&class->st.obj_used);

	if (allocated <= used)
		return 0;
	return (allocated - used) / class->objs_per_zspage * class->pages_per_zspage;
}

unsigned long zs_pages_freeable(struct zs_pool *pool)
{
	unsigned long pages = 0;

	for (int i = 0; i < ZS_SIZE_CLASSES; i++) {
		struct zs_class *class = pool->class_of[i];

		if (class->index == (unsigned int)i && !class->huge)
			pages += zs_class_freeable(class);
	}
	return pages;
}

#define zspage_of(node) ((struct zspage *)((char *)(node) - offsetof(struct zspage, list)))

/* The densest zspage with room, other than @src. */
static struct zspage *pick_dst(struct zs_class *class, struct zspage *src)
{
	for (int fg = ZS_FG_99; fg > ZS_FG_EMPTY; fg--)
		for (struct zs_list *n = class->fullness[fg].next; n != &class->fullness[fg];
		     n = n->next)
			if (zspage_of(n) != src)
				return zspage_of(n);
	return NULL;
}

/* The sparsest zspage that nobody has mapped, now marked ZS_MIGRATING. */
static struct zspage *pick_src(struct zs_class *class)
{
	for (int fg = ZS_FG_EMPTY + 1; fg <= ZS_FG_99; fg++) {
		for (struct zs_list *n = class->fullness[fg].next; n != &class->fullness[fg];
		     n = n->next) {
			unsigned int idle = 0;

			if (atomic_compare_exchange_strong_explicit(&zspage_of(n)->mapcount, &idle,
								    ZS_MIGRATING,
								    memory_order_acquire,
								    memory_order_relaxed))
				return zspage_of(n);
		}
	}
	return NULL;
}

static unsigned long obj_handle(struct zs_class *class, struct zspage *zspage, unsigned int idx)
{
	unsigned int off;

	return *(unsigned long *)zs_obj_addr(class, zspage, idx, &off);
}

/*
 * Move objects from @src to @dst until one is empty or the other full. Huge
 * classes never get here: their zspages are freed as soon as they empty.
 */
static void migrate(struct zs_class *class, struct zspage *src, struct zspage *dst)
{
	char buf[ZS_MAX_ALLOC_SIZE];
	unsigned int body = class->size - ZS_HANDLE_SIZE;

	for (unsigned int idx = 0; idx < class->objs_per_zspage; idx++) {
		unsigned long word = obj_handle(class, src, idx);
		unsigned long handle = word & ~ZS_OBJ_ALLOCATED;
		unsigned int to;

		if (!(word & ZS_OBJ_ALLOCATED))
			continue;
		zs_obj_read(class, src, idx, ZS_HANDLE_SIZE, buf, body);
		to = zs_obj_take(class, dst, handle);
		zs_obj_write(class, dst, to, ZS_HANDLE_SIZE, buf, body);
		atomic_store_explicit(zs_slot(handle), zs_loc(dst, to), memory_order_release);
		zs_obj_release(class, src, idx);
		if (dst->inuse == class->objs_per_zspage || src->inuse == 0)
			break;
	}
}

static unsigned long compact_class(struct zs_class *class)
{
	unsigned long freed = 0;

	zs_lock(&class->lock);
	while (zs_class_freeable(class)) {
		/*
		 * The source first, as it must be unmapped; the destination may
		 * be mapped, since only its free slots are written.
		 */
		struct zspage *src = pick_src(class), *dst;

		if (!src)
			break;
		dst = pick_dst(class, src);
		if (!dst) {
			atomic_fetch_sub_explicit(&src->mapcount, ZS_MIGRATING,
						  memory_order_release);
			break;
		}
		zs_remove_zspage(class, dst);
		zs_remove_zspage(class, src);
		migrate(class, src, dst);
		/* Release: the moved bytes and slots are visible to the next pin. */
		atomic_fetch_sub_explicit(&src->mapcount, ZS_MIGRATING, memory_order_release);
		zs_insert_zspage(class, dst);
		if (src->inuse == 0) {
			zs_free_zspage(class, src);
			freed += class->pages_per_zspage;
		} else {
			zs_insert_zspage(class, src);
		}
		/*
		 * Let allocators, freers and waiting mappers of this class in:
		 * one of them gets the lock before this loop takes it again, so
		 * none waits longer than one step (one zspage's objects moved).
		 */
		zs_unlock_handoff(&class->lock);
		zs_lock(&class->lock);
	}
	zs_unlock(&class->lock);
	return freed;
}

/**
 * zs_compact - move objects from sparse zspages into dense ones and free the
 * zspages emptied.
 * @pool: the pool.
 *
 * Every handle stays valid; zspages with a mapped object are skipped. Only one
 * compaction runs at a time: a call made while another runs returns 0 at once.
 *
 * Return: the number of pages freed.
 * Context: takes each class lock in turn (never two at once), and the page
 * provider's lock under it.
 */
unsigned long zs_compact(struct zs_pool *pool)
{
	unsigned long freed = 0;

	if (atomic_flag_test_and_set(&pool->compacting))
		return 0;
	for (int i = ZS_SIZE_CLASSES - 1; i >= 0; i--) {
		struct zs_class *class = pool->class_of[i];

		if (class->index == (unsigned int)i && !class->huge)
			freed += compact_class(class);
	}
	atomic_fetch_add(&pool->pages_compacted, freed);
	atomic_fetch_add(&pool->compactions, 1);
	atomic_flag_clear(&pool->compacting);
	/* What compaction frees must leave RSS, not wait in the provider's hot cache. */
	if (freed)
		zpage_trim();
	return freed;
}
