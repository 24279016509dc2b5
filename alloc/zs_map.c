// SPDX-License-Identifier: MIT
/*
 * zs_map.c - zs_map_object() and zs_unmap_object().
 *
 * The map fast path takes no lock: it pins the object's zspage by adding one
 * to zspage->mapcount, then re-reads the handle slot to be sure the object did
 * not move between the first read and the pin:
 *
 *   mapper                                 compactor (class->lock held)
 *   loc = slot                             CAS mapcount 0 -> ZS_MIGRATING
 *   old = mapcount++  (acquire)              (fails while anything is mapped:
 *   if old & ZS_MIGRATING: undo, wait         the zspage is skipped)
 *   if slot != loc:       undo, retry      move objects, rewrite slots
 *   ... use the object ...                 mapcount -= ZS_MIGRATING (release)
 *   mapcount-- (release)
 *
 * All changes of mapcount are read-modify-writes, so they are totally
 * ordered: either the pin comes first (the CAS fails) or the compactor's CAS
 * does (the mapper sees ZS_MIGRATING, or, once it is cleared, a new slot
 * value). zspage structs are never freed while the pool lives, so a stale
 * location can be pinned and unpinned harmlessly.
 *
 * Straddling objects go through a per-thread area: two page-sized buffers
 * (malloc'd on first use, freed by a pthread key destructor at thread exit),
 * so a thread may hold two straddling mappings at once.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "probes.h"
#include "zs_internal.h"

#define ZS_AREA_SLOTS 2

struct zs_map_area {
	char *buf;				/* ZS_AREA_SLOTS pages */
	struct {
		struct zs_pool *pool;
		unsigned long handle;		/* 0: slot unused */
		enum zs_mapmode mm;
	} slot[ZS_AREA_SLOTS];
};

static __thread struct zs_map_area *zs_area;

/*
 * Modes of this thread's recent maps, for the unmap probes' mode argument;
 * written only while an unmap probe is attached, so untraced runs never pay.
 */
#define ZS_TRACE_MODES 8
static __thread struct {
	unsigned long handle;
	enum zs_mapmode mm;
} zs_trace_modes[ZS_TRACE_MODES];
static __thread unsigned int zs_trace_next;
/* On every map and unmap: initial-exec keeps libzpool.so off __tls_get_addr. */
static __thread unsigned int zs_stripe_nr __attribute__((tls_model("initial-exec")));
						/* 1 + stripe, 0 until chosen */
static pthread_key_t zs_area_key;
static pthread_once_t zs_area_once = PTHREAD_ONCE_INIT;
static atomic_uint zs_next_stripe;

static void area_destroy(void *p)
{
	struct zs_map_area *area = p;

	free(area->buf);
	free(area);
	zs_area = NULL;
}

static void area_key_init(void)
{
	if (pthread_key_create(&zs_area_key, area_destroy))
		abort(); /* only EAGAIN/ENOMEM at start-up: nothing sane to do */
}

static struct zs_map_area *get_area(void)
{
	struct zs_map_area *area = zs_area;

	if (area)
		return area;
	pthread_once(&zs_area_once, area_key_init);
	area = calloc(1, sizeof(*area));
	if (!area)
		return NULL;
	area->buf = malloc(ZS_AREA_SLOTS * ZS_PAGE_SIZE);
	if (!area->buf || pthread_setspecific(zs_area_key, area)) {
		free(area->buf);
		free(area);
		return NULL;
	}
	zs_area = area;
	return area;
}

static struct zs_stripe *my_stripe(struct zs_pool *pool)
{
	if (__builtin_expect(!zs_stripe_nr, 0))
		zs_stripe_nr = 1 + atomic_fetch_add(&zs_next_stripe, 1) % ZS_STRIPES;
	return &pool->stripe[zs_stripe_nr - 1];
}

/* Class size for the probes: only evaluated while a tracer is attached. */
static unsigned long handle_class_size(unsigned long handle)
{
	return zs_loc_zspage(atomic_load_explicit(zs_slot(handle), memory_order_relaxed))
		->class->size;
}

static void remember_mode(unsigned long handle, enum zs_mapmode mm)
{
	unsigned int i = zs_trace_next++ % ZS_TRACE_MODES;

	zs_trace_modes[i].handle = handle;
	zs_trace_modes[i].mm = mm;
}

/* The mode @handle was mapped with, if remembered; RW otherwise. */
static int recall_mode(unsigned long handle)
{
	for (unsigned int i = 0; i < ZS_TRACE_MODES; i++)
		if (zs_trace_modes[i].handle == handle)
			return zs_trace_modes[i].mm;
	return ZS_MM_RW;
}

/* Compaction is emptying this zspage: wait for it on the class lock. */
static void wait_migration(struct zs_class *class, unsigned int tries)
{
	zs_lock(&class->lock);
	zs_unlock(&class->lock);
	if (tries > 8)
		sched_yield();
}

/*
 * Pin the zspage that holds the object; return its location. Always inlined
 * (both copies of map_object() call it) and the straddling paths below never
 * are, so the untraced fast path compiles the same with and without probes.
 */
static inline __attribute__((always_inline)) unsigned long
pin_object(unsigned long handle, struct zspage **zspagep)
{
	atomic_ulong *slot = zs_slot(handle);

	for (unsigned int tries = 0;; tries++) {
		unsigned long loc = atomic_load_explicit(slot, memory_order_acquire);
		struct zspage *zspage = zs_loc_zspage(loc);
		unsigned int old = atomic_fetch_add_explicit(&zspage->mapcount, 1,
							     memory_order_acquire);

		if (__builtin_expect(!(old & ZS_MIGRATING), 1) &&
		    __builtin_expect(atomic_load_explicit(slot, memory_order_relaxed) == loc, 1)) {
			*zspagep = zspage;
			return loc;
		}
		atomic_fetch_sub_explicit(&zspage->mapcount, 1, memory_order_release);
		if (old & ZS_MIGRATING)
			wait_migration(zspage->class, tries);
	}
}

static void unpin(struct zspage *zspage)
{
	/* Release: our writes to the object happen before a compactor moves it. */
	atomic_fetch_sub_explicit(&zspage->mapcount, 1, memory_order_release);
}

static __attribute__((noinline)) void *
map_straddling(struct zs_pool *pool, unsigned long handle, enum zs_mapmode mm,
	       struct zs_class *class, struct zspage *zspage, unsigned int idx)
{
	unsigned int hdr = class->huge ? 0 : ZS_HANDLE_SIZE;
	struct zs_map_area *area = get_area();
	char *buf;
	int i;

	if (!area) {
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < ZS_AREA_SLOTS && area->slot[i].handle; i++)
		;
	if (i == ZS_AREA_SLOTS) {
		errno = EBUSY;
		return NULL;
	}
	area->slot[i].pool = pool;
	area->slot[i].handle = handle;
	area->slot[i].mm = mm;
	buf = area->buf + i * ZS_PAGE_SIZE;
	if (mm != ZS_MM_WO)
		zs_obj_read(class, zspage, idx, hdr, buf, class->size - hdr);
	return buf;
}

static __attribute__((noinline)) void
unmap_straddling(struct zs_pool *pool, unsigned long handle, struct zs_class *class,
		 struct zspage *zspage, unsigned int idx)
{
	unsigned int hdr = class->huge ? 0 : ZS_HANDLE_SIZE;
	struct zs_map_area *area = zs_area;

	for (int i = 0; area && i < ZS_AREA_SLOTS; i++) {
		if (area->slot[i].handle != handle || area->slot[i].pool != pool)
			continue;
		if (area->slot[i].mm != ZS_MM_RO)
			zs_obj_write(class, zspage, idx, hdr, area->buf + i * ZS_PAGE_SIZE,
				     class->size - hdr);
		area->slot[i].handle = 0;
		return;
	}
}

/*
 * The body of zs_map_object(), inlined twice: with traced false it is the
 * untraced fast path and holds no probe sites (one test of the semaphore word,
 * no calls that would make it save more registers); with traced true it is the
 * cold copy that the fast path hands the call to while any zpool probe is
 * attached.
 */
static __attribute__((noinline, cold)) void *
map_object_traced(struct zs_pool *pool, unsigned long handle, enum zs_mapmode mm);

static inline __attribute__((always_inline)) void *
map_object(struct zs_pool *pool, unsigned long handle, enum zs_mapmode mm, const bool traced)
{
	struct zs_class *class;
	struct zspage *zspage;
	unsigned long loc;
	unsigned int idx, page_off;
	char *addr;
	void *ret;
	int straddle = 0;

	if (traced && ZPOOL_PROBE_ON(map_entry))
		trace_map_entry(ZPOOL_BACKEND_ZSMALLOC, pool->id, handle, handle_class_size(handle),
				mm, 0);
#ifdef ZPOOL_DEBUG
	if (!zs_debug_handle_ok(pool, handle, "zs_map_object", false))
		return NULL;
	if (!zs_debug_note_map(pool, handle))
		return NULL;
#endif
	loc = pin_object(handle, &zspage);
	/*
	 * The untraced copy looks for a tracer here, not on entry: just after
	 * the pin's locked add the test overlaps work the CPU waits on anyway
	 * (perf stat: about 1.8 cycles a pair when tested on entry, 0.3 here).
	 * If one is attached, drop the pin and make the whole call again in the
	 * traced copy, so that its entry probe still comes before all it does.
	 */
	if (!traced && ZPOOL_TRACED()) {
		unpin(zspage);
#ifdef ZPOOL_DEBUG
		zs_debug_note_unmap(pool, handle);
#endif
		return map_object_traced(pool, handle, mm);
	}
	class = zspage->class;
	idx = zs_loc_idx(loc);
	addr = zs_obj_addr(class, zspage, idx, &page_off);
	if (__builtin_expect(!zs_straddles(class, page_off), 1)) {
		ret = class->huge ? addr : addr + ZS_HANDLE_SIZE;
	} else {
		straddle = 1;
		ret = map_straddling(pool, handle, mm, class, zspage, idx);
		if (!ret) {
			unpin(zspage);
#ifdef ZPOOL_DEBUG
			zs_debug_note_unmap(pool, handle);
#endif
			return NULL;
		}
	}
	atomic_fetch_add_explicit(&my_stripe(pool)->maps, 1, memory_order_relaxed);
	if (traced) {
		if (ZPOOL_PROBE_ON(unmap_entry) || ZPOOL_PROBE_ON(unmap_return))
			remember_mode(handle, mm);
		trace_map_return(ZPOOL_BACKEND_ZSMALLOC, pool->id, handle, class->size, mm,
				 straddle);
	}
	return ret;
}

static __attribute__((noinline, cold)) void *
map_object_traced(struct zs_pool *pool, unsigned long handle, enum zs_mapmode mm)
{
	return map_object(pool, handle, mm, true);
}

/**
 * zs_map_object - get a pointer to an object's bytes.
 * @pool: the pool.
 * @handle: a live handle from zs_malloc().
 * @mm: ZS_MM_RO, ZS_MM_WO or ZS_MM_RW.
 *
 * The object will not move until zs_unmap_object() on the same thread. A
 * straddling object is copied into this thread's buffer (for RO and RW) and
 * back at unmap (for WO and RW).
 *
 * Return: the object's first byte; NULL with errno = EBUSY when this thread
 * already holds two straddling mappings, ENOMEM when its buffer cannot be
 * allocated, or (debug builds) EINVAL for a handle that is not live or is
 * already mapped by this thread.
 * Context: lock-free, unless compaction is moving this object's zspage right
 * now: then it waits on the class lock.
 */
void *zs_map_object(struct zs_pool *pool, unsigned long handle, enum zs_mapmode mm)
{
	return map_object(pool, handle, mm, false);
}

/*
 * The body of zs_unmap_object(), inlined twice like map_object(); its test
 * is in zs_unmap_object(), on entry, where it measured as free.
 */
static inline __attribute__((always_inline)) void
unmap_object(struct zs_pool *pool, unsigned long handle, const bool traced)
{
	struct zs_class *class;
	struct zspage *zspage;
	unsigned long loc;
	unsigned int idx, page_off;
	int straddle;

	if (traced && ZPOOL_PROBE_ON(unmap_entry))
		trace_unmap_entry(ZPOOL_BACKEND_ZSMALLOC, pool->id, handle,
				  handle_class_size(handle), recall_mode(handle), 0);
#ifdef ZPOOL_DEBUG
	if (!zs_debug_note_unmap(pool, handle))
		return;
#endif
	/* Our pin keeps the object where it is: the slot is stable. */
	loc = atomic_load_explicit(zs_slot(handle), memory_order_relaxed);
	zspage = zs_loc_zspage(loc);
	class = zspage->class;
	idx = zs_loc_idx(loc);
	zs_obj_addr(class, zspage, idx, &page_off);
	straddle = zs_straddles(class, page_off);
	if (__builtin_expect(straddle, 0))
		unmap_straddling(pool, handle, class, zspage, idx);
	unpin(zspage);
	atomic_fetch_add_explicit(&my_stripe(pool)->unmaps, 1, memory_order_relaxed);
	if (traced && ZPOOL_PROBE_ON(unmap_return))
		trace_unmap_return(ZPOOL_BACKEND_ZSMALLOC, pool->id, handle, class->size,
				   recall_mode(handle), straddle);
}

static __attribute__((noinline, cold)) void unmap_object_traced(struct zs_pool *pool,
								unsigned long handle)
{
	unmap_object(pool, handle, true);
}

/**
 * zs_unmap_object - end the mapping made by zs_map_object() on this thread.
 * @pool: the pool.
 * @handle: the handle mapped.
 *
 * A straddling object mapped WO or RW is copied back from the buffer.
 * Context: lock-free.
 */
void zs_unmap_object(struct zs_pool *pool, unsigned long handle)
{
	if (ZPOOL_TRACED())
		unmap_object_traced(pool, handle);
	else
		unmap_object(pool, handle, false);
}
