// SPDX-License-Identifier: MIT
/*
 * zsmalloc.c - a user-space zsmalloc: pools, size classes, zspages, handles,
 * zs_malloc() and zs_free(). Mapping is in zs_map.c, compaction in
 * zs_compact.c, statistics in zs_stats.c, the debug handle checks in
 * zs_debug.c; private types in zs_internal.h.
 *
 * Size classes
 * ------------
 * 255 classes of 32, 48, ... 4096 bytes. A zspage chains up to 8 single
 * pages from the page provider (never contiguous, never mmap'd here). As in
 * Linux 6.3+ (calculate_zspage_chain_size, chain size 8), a class takes the
 * pages_per_zspage k in 1..8 that leaves the least waste (k * 4096) % size at
 * the zspage's end, the smallest k on ties. Walking from the largest class
 * down, a class with the same pages_per_zspage and objs_per_zspage as the
 * class made just before it is merged into that (larger) one. A class with one
 * object in one page is huge. Non-huge objects carry their handle in a
 * one-word header, so zs_malloc(n) uses the class of n + 8 (clamped to 4096);
 * zs_huge_class_size() is the kernel's value: the largest class with more
 * than one page and more than one object, minus 7.
 *
 * A zspage of the 1424-byte class (8 pages, 23 objects, 16 bytes wasted):
 *
 *   struct zspage (malloc'd)        pool pages (zpage_alloc, 4 KiB each)
 *   +-------------------+
 *   | class, mapcount   |   pages[0] +-------+-------+-----------+
 *   | inuse, freeobj    |  --------> | obj 0 | obj 1 | obj 2 ... |  obj 2 straddles
 *   | fg, sg, list      |            +-------+-------+-----------+
 *   | pages[0..7] ------+-> pages[1] +------+--------+--------+------+
 *   +-------------------+            | ..2  | obj 3  | obj 4  | obj 5 ...  and so on
 *                                    +------+--------+--------+------+
 *   object: +----------------------+--------------------------+
 *           | handle | ALLOCATED   | caller's bytes           |   allocated
 *           +----------------------+--------------------------+
 *           | next free index << 1 | (stale)                  |   free
 *           +----------------------+--------------------------+
 * Huge zspages keep the handle in zspage->huge_handle and no header.
 *
 * Handles
 * -------
 * A handle is the address of an 8-byte slot in a handle chunk (zs_internal.h)
 * that the pool mallocs per class; it never moves, so compaction only
 * rewrites the slot. A live slot holds the object's location:
 *
 *   63                                    11 10            1    0
 *   +---------------------------------------+---------------+----+
 *   | zspage struct address >> 6            | object index  | 1  |
 *   +---------------------------------------+---------------+----+
 *
 * Handle 0 is never returned. A free slot holds the next free slot's address
 * (bit 0 clear), which is what the debug build checks.
 *
 * Locking
 * -------
 *   class->lock (one per distinct class; a futex mutex, zs_lock.c)
 *     protects the class's fullness lists, its zspage struct cache and handle
 *     free list, every zspage's inuse/freeobj/fg/sg/list/huge_handle, the
 *     object headers and free links in its pages, the handle slots of its
 *     objects (written only under it; read by mappers with atomics), and is
 *     held to write the class counters (readers use relaxed atomics).
 *   zspage->mapcount (atomic, no lock)
 *     number of mappings of objects in the zspage, plus ZS_MIGRATING while
 *     compaction empties it. Compaction sets ZS_MIGRATING only by changing
 *     the count from 0 (never waits for a mapping); a mapper increments it,
 *     re-reads the handle slot and backs off if ZS_MIGRATING was set or the
 *     object moved meanwhile (zs_map.c has the interleavings).
 *   page provider lock (in page.c) is taken under class->lock; it is innermost.
 * Order: class locks in increasing index (only zs_pool_snapshot() holds more
 * than one), then the page provider. Pool-wide counters are atomics; map
 * counters are striped per thread. Nothing here takes a pool-wide lock.
 *
 * zs_malloc/zs_free take their class lock. zs_map_object/zs_unmap_object take
 * no lock: a map pins the zspage through mapcount (one atomic add, one
 * subtract at unmap), so the fast path is a few loads. Only when compaction is
 * moving the zspage's objects right then does a mapper wait, on the class
 * lock, which compaction holds while ZS_MIGRATING is set.
 *
 * What map/unmap promise: the pointer stays valid and the object does not move
 * until the same thread unmaps. A non-straddling object is mapped in place
 * (the caller may block while holding it, but compaction skips the zspage
 * meanwhile). A straddling one is copied into the thread's buffer (for RO and
 * RW) and copied back at unmap (for WO and RW); a thread may hold two
 * straddling mappings at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probes.h"
#include "zs_internal.h"

static atomic_uint zs_next_pool_id = 1;

/* ---- lists */
static void list_init(struct zs_list *head)
{
	head->next = head->prev = head;
}

static bool list_empty(const struct zs_list *head)
{
	return head->next == head;
}

static void list_add(struct zs_list *node, struct zs_list *head)
{
	node->next = head->next;
	node->prev = head;
	head->next->prev = node;
	head->next = node;
}

void zs_list_del(struct zs_list *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	node->next = node->prev = node;
}

#define zspage_of(node) ((struct zspage *)((char *)(node) - offsetof(struct zspage, list)))

/* ---- class geometry */

/* The kernel's chain size: the k in 1..8 wasting least at the zspage end. */
static unsigned int chain_size(unsigned int size)
{
	unsigned int best = 1, min_waste = ~0U;

	for (unsigned int k = 1; k <= ZS_MAX_PAGES_PER_ZSPAGE; k++) {
		unsigned int waste = (k * ZS_PAGE_SIZE) % size;

		if (waste < min_waste) {
			min_waste = waste;
			best = k;
		}
	}
	return best;
}

static unsigned int size_index(size_t size)
{
	size_t idx = 0;

	if (size > ZS_MIN_ALLOC_SIZE)
		idx = (size - ZS_MIN_ALLOC_SIZE + ZS_SIZE_CLASS_DELTA - 1) / ZS_SIZE_CLASS_DELTA;
	return idx < ZS_SIZE_CLASSES - 1 ? idx : ZS_SIZE_CLASSES - 1;
}

/* The class zs_malloc(@size) uses; @size is the caller's, without the header. */
struct zs_class *zs_size_class(struct zs_pool *pool, size_t size)
{
	return pool->class_of[size_index(size + ZS_HANDLE_SIZE)];
}

/* Ratio group, as the kernel's get_fullness_group(). */
static unsigned int ratio_group(unsigned int inuse, unsigned int objs)
{
	if (inuse == 0)
		return ZS_FG_EMPTY;
	if (inuse == objs)
		return ZS_FG_FULL;
	/* 1 of 127 is 0 % by integer division, but belongs with 10 %. */
	return 100 * inuse / objs / 10 + 1;
}

/* The seed's groups: almost_empty when n <= N/4. */
static unsigned int seed_group(unsigned int inuse, unsigned int objs)
{
	if (inuse == 0)
		return ZS_SG_EMPTY;
	if (inuse == objs)
		return ZS_SG_FULL;
	if (inuse <= objs / 4)
		return ZS_SG_ALMOST_EMPTY;
	return ZS_SG_ALMOST_FULL;
}

/* Both groups for every inuse count, so that malloc and free never divide. */
static unsigned char *group_table(unsigned int objs)
{
	unsigned char *t = malloc(objs + 1);

	for (unsigned int n = 0; t && n <= objs; n++)
		t[n] = ratio_group(n, objs) | seed_group(n, objs) << 4;
	return t;
}

void zs_insert_zspage(struct zs_class *class, struct zspage *zspage)
{
	zspage->fg = zs_fullness_group(class, zspage->inuse);
	zspage->sg = zs_seed_group(class, zspage->inuse);
	zs_stat_add(&class->st.fg[zspage->fg], 1);
	zs_stat_add(&class->st.sg[zspage->sg], 1);
	list_add(&zspage->list, &class->fullness[zspage->fg]);
}

void zs_remove_zspage(struct zs_class *class, struct zspage *zspage)
{
	zs_stat_add(&class->st.fg[zspage->fg], -1);
	zs_stat_add(&class->st.sg[zspage->sg], -1);
	zs_list_del(&zspage->list);
}

/* Move a listed zspage to the groups its inuse count now calls for. */
void zs_fix_fullness(struct zs_class *class, struct zspage *zspage)
{
	unsigned int g = class->groups[zspage->inuse];

	if (zspage->sg != g >> 4) {
		/* The seed group is only counted, it has no list. */
		zs_stat_add(&class->st.sg[zspage->sg], -1);
		zspage->sg = g >> 4;
		zs_stat_add(&class->st.sg[zspage->sg], 1);
	}
	if (zspage->fg != (g & 15)) {
		zs_stat_add(&class->st.fg[zspage->fg], -1);
		zs_list_del(&zspage->list);
		zspage->fg = g & 15;
		zs_stat_add(&class->st.fg[zspage->fg], 1);
		list_add(&zspage->list, &class->fullness[zspage->fg]);
	}
}

/* ---- objects inside a zspage (class->lock held) */
static unsigned long *obj_header(const struct zs_class *class, const struct zspage *zspage,
				 unsigned int idx)
{
	unsigned int off;

	/* Sizes and offsets are multiples of 16: a header never straddles. */
	return (unsigned long *)zs_obj_addr(class, zspage, idx, &off);
}

unsigned int zs_obj_take(struct zs_class *class, struct zspage *zspage, unsigned long handle)
{
	unsigned int idx = zspage->freeobj;

	if (class->huge) {
		zspage->freeobj = ZS_FREE_END;
		zspage->huge_handle = handle;
	} else {
		unsigned long *hdr = obj_header(class, zspage, idx);

		zspage->freeobj = *hdr >> 1;
		*hdr = handle | ZS_OBJ_ALLOCATED;
	}
	zspage->inuse++;
	return idx;
}

void zs_obj_release(struct zs_class *class, struct zspage *zspage, unsigned int idx)
{
	if (class->huge)
		zspage->huge_handle = 0;
	else
		*obj_header(class, zspage, idx) = (unsigned long)zspage->freeobj << 1;
	zspage->freeobj = idx;
	zspage->inuse--;
}

/* Copy @len bytes at offset @from of object @idx out to @buf, across pages. */
void zs_obj_read(const struct zs_class *class, const struct zspage *zspage, unsigned int idx,
		 unsigned int from, void *buf, unsigned int len)
{
	unsigned int off = idx * class->size + from;

	while (len) {
		unsigned int in_page = off & ZS_PAGE_MASK;
		unsigned int n = ZS_PAGE_SIZE - in_page < len ? ZS_PAGE_SIZE - in_page : len;

		memcpy(buf, zspage->pages[off / ZS_PAGE_SIZE] + in_page, n);
		buf = (char *)buf + n;
		off += n;
		len -= n;
	}
}

void zs_obj_write(const struct zs_class *class, const struct zspage *zspage, unsigned int idx,
		  unsigned int to, const void *buf, unsigned int len)
{
	unsigned int off = idx * class->size + to;

	while (len) {
		unsigned int in_page = off & ZS_PAGE_MASK;
		unsigned int n = ZS_PAGE_SIZE - in_page < len ? ZS_PAGE_SIZE - in_page : len;

		memcpy(zspage->pages[off / ZS_PAGE_SIZE] + in_page, buf, n);
		buf = (const char *)buf + n;
		off += n;
		len -= n;
	}
}

/* ---- zspages (class->lock held) */

/* The bytes of a struct zspage of @class: its page pointers only, in 64-byte units. */
static size_t zspage_struct_size(const struct zs_class *class)
{
	size_t n = offsetof(struct zspage, pages) + sizeof(char *) * class->pages_per_zspage;

	return (n + ZS_ZSPAGE_ALIGN - 1) & ~(size_t)(ZS_ZSPAGE_ALIGN - 1);
}

static struct zspage *zspage_struct_get(struct zs_class *class)
{
	struct zspage *zspage;

	if (!list_empty(&class->zspage_cache)) {
		zspage = zspage_of(class->zspage_cache.next);
		zs_list_del(&zspage->list);
		/* mapcount is left alone: a stale mapper may still be backing off. */
		return zspage;
	}
	zspage = aligned_alloc(ZS_ZSPAGE_ALIGN, zspage_struct_size(class));
	if (!zspage)
		return NULL;
	memset(zspage, 0, zspage_struct_size(class));
	/* The location encoding drops the top bits; refuse an address it cannot hold. */
	if (zs_loc_zspage(zs_loc(zspage, 0)) != zspage) {
		free(zspage);
		return NULL;
	}
	zspage->class = class;
	atomic_init(&zspage->mapcount, 0);
	list_init(&zspage->list);
	return zspage;
}

static void note_pages(struct zs_pool *pool, unsigned long n)
{
	unsigned long now = atomic_fetch_add(&pool->pages, n) + n;
	unsigned long max = atomic_load_explicit(&pool->pages_max, memory_order_relaxed);

	while (now > max && !atomic_compare_exchange_weak(&pool->pages_max, &max, now))
		;
}

/* A new zspage with every object free, or NULL (ENOMEM) leaving nothing behind. */
static struct zspage *alloc_zspage(struct zs_class *class)
{
	struct zspage *zspage = zspage_struct_get(class);
	unsigned int i;

	if (!zspage)
		return NULL;
	for (i = 0; i < class->pages_per_zspage; i++) {
		zspage->pages[i] = zpage_alloc();
		if (!zspage->pages[i])
			goto out_free_pages;
	}
	zspage->inuse = 0;
	zspage->freeobj = 0;
	zspage->huge_handle = 0;
	if (!class->huge) {
		for (i = 0; i < class->objs_per_zspage; i++) {
			unsigned int next = i + 1 < class->objs_per_zspage ? i + 1 : ZS_FREE_END;

			*obj_header(class, zspage, i) = (unsigned long)next << 1;
		}
	}
	zs_stat_add(&class->st.zspages, 1);
	zs_stat_add(&class->st.obj_allocated, class->objs_per_zspage);
	note_pages(class->pool, class->pages_per_zspage);
	return zspage;

out_free_pages:
	while (i-- > 0)
		zpage_free(zspage->pages[i]);
	list_add(&zspage->list, &class->zspage_cache);
	return NULL;
}

/* Give an empty zspage, already off its fullness list, back: pages and all. */
void zs_free_zspage(struct zs_class *class, struct zspage *zspage)
{
	for (unsigned int i = 0; i < class->pages_per_zspage; i++) {
		zpage_free(zspage->pages[i]);
		zspage->pages[i] = NULL;
	}
	zs_stat_add(&class->st.zspages, -1);
	zs_stat_add(&class->st.obj_allocated, -(long)class->objs_per_zspage);
	atomic_fetch_sub(&class->pool->pages, class->pages_per_zspage);
	list_add(&zspage->list, &class->zspage_cache);
}

/* The fullest zspage that still has room, as the kernel's find_get_zspage(). */
static struct zspage *find_get_zspage(struct zs_class *class)
{
	for (int fg = ZS_FG_99; fg > ZS_FG_EMPTY; fg--)
		if (!list_empty(&class->fullness[fg]))
			return zspage_of(class->fullness[fg].next);
	return NULL;
}

/* ---- handle slots (class->lock held) */

static void chunk_publish(struct zs_pool *pool, struct zs_hchunk *chunk)
{
	struct zs_hchunk *head = atomic_load(&pool->hchunks);

	do
		atomic_store_explicit(&chunk->next, head, memory_order_relaxed);
	while (!atomic_compare_exchange_weak(&pool->hchunks, &head, chunk));
}

static atomic_ulong *handle_alloc(struct zs_class *class)
{
	atomic_ulong *slot = class->free_slot;

	if (!slot) {
		struct zs_hchunk *chunk = aligned_alloc(ZS_HCHUNK_SIZE, ZS_HCHUNK_SIZE);

		if (!chunk)
			return NULL;
		memset(chunk, 0, ZS_HCHUNK_SIZE);
		for (unsigned int i = 0; i + 1 < ZS_HCHUNK_SLOTS; i++)
			atomic_init(&chunk->slot[i], (unsigned long)&chunk->slot[i + 1]);
		atomic_init(&chunk->slot[ZS_HCHUNK_SLOTS - 1], 0);
		chunk_publish(class->pool, chunk);
		slot = &chunk->slot[0];
	}
	class->free_slot = (atomic_ulong *)atomic_load_explicit(slot, memory_order_relaxed);
	return slot;
}

static void handle_free(struct zs_class *class, atomic_ulong *slot)
{
	atomic_store_explicit(slot, (unsigned long)class->free_slot, memory_order_relaxed);
	class->free_slot = slot;
}

/* ---- the API */

static void free_classes(struct zs_pool *pool)
{
	if (!pool->classes)
		return;
	for (int i = 0; i < ZS_SIZE_CLASSES; i++)
		free(pool->classes[i].groups);
	free(pool->classes);
}

static int init_classes(struct zs_pool *pool)
{
	struct zs_class *prev = NULL;

	pool->classes = calloc(ZS_SIZE_CLASSES, sizeof(*pool->classes));
	if (!pool->classes)
		return -ENOMEM;
	for (int i = ZS_SIZE_CLASSES - 1; i >= 0; i--) {
		unsigned int size = ZS_MIN_ALLOC_SIZE + i * ZS_SIZE_CLASS_DELTA;
		unsigned int ppz = chain_size(size);
		unsigned int opz = ppz * ZS_PAGE_SIZE / size;
		struct zs_class *class = &pool->classes[i];

		/* From the top, the first class that is not huge in either sense. */
		if (ppz != 1 && opz != 1 && !pool->huge_class_size)
			pool->huge_class_size = size - (ZS_HANDLE_SIZE - 1);
		if (prev && prev->pages_per_zspage == ppz && prev->objs_per_zspage == opz) {
			pool->class_of[i] = prev;
			continue;
		}
		class->size = size;
		class->index = i;
		class->pages_per_zspage = ppz;
		class->objs_per_zspage = opz;
		class->huge = opz == 1 && ppz == 1;
		class->pool = pool;
		class->groups = group_table(opz);
		if (!class->groups)
			return -ENOMEM;
		for (int fg = 0; fg < ZS_NR_FG; fg++)
			list_init(&class->fullness[fg]);
		list_init(&class->zspage_cache);
		pool->class_of[i] = prev = class;
	}
	return 0;
}

/**
 * zs_create_pool - create an allocation pool.
 * @name: a label kept for statistics (copied).
 *
 * Return: the pool, or NULL with errno = EINVAL (@name is NULL) or ENOMEM.
 * Context: any thread; takes no pool lock.
 */
struct zs_pool *zs_create_pool(const char *name)
{
	struct zs_pool *pool;

	if (!name) {
		errno = EINVAL;
		return NULL;
	}
	pool = aligned_alloc(64, (sizeof(*pool) + 63) & ~(size_t)63);
	if (!pool)
		goto out_nomem;
	memset(pool, 0, sizeof(*pool));
	pool->name = strdup(name);
	if (!pool->name)
		goto out_free_pool;
	if (init_classes(pool))
		goto out_free_classes;
	atomic_flag_clear(&pool->compacting);
	pool->id = atomic_fetch_add(&zs_next_pool_id, 1);
	return pool;

out_free_classes:
	free_classes(pool);
	free(pool->name);
out_free_pool:
	free(pool);
out_nomem:
	errno = ENOMEM;
	return NULL;
}

static void destroy_class(struct zs_class *class)
{
	for (int fg = 0; fg < ZS_NR_FG; fg++) {
		while (!list_empty(&class->fullness[fg])) {
			struct zspage *zspage = zspage_of(class->fullness[fg].next);

			zs_remove_zspage(class, zspage);
			zs_free_zspage(class, zspage);
		}
	}
	while (!list_empty(&class->zspage_cache)) {
		struct zspage *zspage = zspage_of(class->zspage_cache.next);

		zs_list_del(&zspage->list);
		free(zspage);
	}
}

/**
 * zs_destroy_pool - free a pool, every page and every handle it holds.
 * @pool: the pool; NULL is ignored. No other thread may use it any more.
 *
 * Objects still allocated are released; a debug build reports how many.
 */
void zs_destroy_pool(struct zs_pool *pool)
{
	struct zs_hchunk *chunk, *next;

	if (!pool)
		return;
#ifdef ZPOOL_DEBUG
	{
		struct zs_pool_stats st;

		zs_pool_stats(pool, &st);
		if (st.obj_used)
			fprintf(stderr,
				"zsmalloc: zs_destroy_pool: pool \"%s\" still holds %lu objects\n",
				pool->name, st.obj_used);
	}
#endif
	for (int i = 0; i < ZS_SIZE_CLASSES; i++)
		if (pool->class_of[i] == &pool->classes[i])
			destroy_class(&pool->classes[i]);
	for (chunk = atomic_load(&pool->hchunks); chunk; chunk = next) {
		next = atomic_load(&chunk->next);
		free(chunk);
	}
	free_classes(pool);
	free(pool->name);
	free(pool);
}

/**
 * zs_malloc - allocate an object of @size bytes.
 * @pool: the pool.
 * @size: 1 to ZS_MAX_ALLOC_SIZE.
 * @flags: reserved, pass 0.
 *
 * Return: an opaque handle, never 0 on success; or 0 with errno = EINVAL
 * (@size is 0 or above ZS_MAX_ALLOC_SIZE) or ENOMEM (no page or no memory for
 * metadata; the pool is left exactly as it was, apart from alloc_fails).
 * Context: takes the class lock, and the page provider's lock under it.
 */
unsigned long zs_malloc(struct zs_pool *pool, size_t size, unsigned int flags)
{
	struct zs_class *class;
	struct zspage *zspage;
	atomic_ulong *slot;
	unsigned long handle;
	unsigned int idx;

	if (!size || size > ZS_MAX_ALLOC_SIZE) {
		errno = EINVAL;
		return 0;
	}
	class = zs_size_class(pool, size);
	zs_lock(&class->lock);
	slot = handle_alloc(class);
	if (!slot)
		goto out_fail;
	handle = (unsigned long)slot;
	zspage = find_get_zspage(class);
	if (!zspage) {
		zspage = alloc_zspage(class);
		if (!zspage) {
			handle_free(class, slot);
			goto out_fail;
		}
		idx = zs_obj_take(class, zspage, handle);
		zs_insert_zspage(class, zspage);
	} else {
		idx = zs_obj_take(class, zspage, handle);
		zs_fix_fullness(class, zspage);
	}
	zs_slot_chunk(handle)->size[zs_slot_index(handle)] = size;
	/* Release: a mapper that reads this slot sees the zspage set up. */
	atomic_store_explicit(slot, zs_loc(zspage, idx), memory_order_release);
	zs_stat_add(&class->st.obj_used, 1);
	zs_stat_add(&class->st.bytes_requested, size);
	zs_unlock(&class->lock);
	return handle;

out_fail:
	zs_unlock(&class->lock);
	atomic_fetch_add_explicit(&pool->alloc_fails, 1, memory_order_relaxed);
	errno = ENOMEM;
	return 0;
}

/**
 * zs_free - free an object.
 * @pool: the pool it came from.
 * @handle: from zs_malloc(); 0 is ignored. It must not be mapped.
 *
 * A debug build reports (and ignores) a handle that is not live.
 * Context: takes the class lock, and the page provider's lock under it.
 */
void zs_free(struct zs_pool *pool, unsigned long handle)
{
	atomic_ulong *slot = zs_slot(handle);
	struct zs_class *class;
	struct zspage *zspage;
	unsigned long loc;

	if (!handle)
		return;
#ifdef ZPOOL_DEBUG
	if (!zs_debug_handle_ok(pool, handle, __func__, true))
		return;
#endif
	/* The zspage may change under compaction, its class never does. */
	class = zs_loc_zspage(atomic_load_explicit(slot, memory_order_acquire))->class;
	zs_lock(&class->lock);
	loc = atomic_load_explicit(slot, memory_order_relaxed);
	zspage = zs_loc_zspage(loc);
	zs_obj_release(class, zspage, zs_loc_idx(loc));
	zs_stat_add(&class->st.obj_used, -1);
	zs_stat_add(&class->st.bytes_requested,
		    -(long)zs_slot_chunk(handle)->size[zs_slot_index(handle)]);
	handle_free(class, slot);
	if (zspage->inuse == 0) {
		zs_remove_zspage(class, zspage);
		zs_free_zspage(class, zspage);
	} else {
		zs_fix_fullness(class, zspage);
	}
	zs_unlock(&class->lock);
}

/** zs_get_total_pages - pages the pool holds now. Context: lock-free. */
unsigned long zs_get_total_pages(struct zs_pool *pool)
{
	return atomic_load_explicit(&pool->pages, memory_order_relaxed);
}

/**
 * zs_huge_class_size - objects of this size or more get a page of their own.
 * Context: lock-free; the value is fixed when the pool is made.
 */
size_t zs_huge_class_size(struct zs_pool *pool)
{
	return pool->huge_class_size;
}

/** zs_pool_id - the pool's process-unique number (tracing probes carry it). */
unsigned int zs_pool_id(struct zs_pool *pool)
{
	return pool->id;
}

/** zs_pool_name - the name given to zs_create_pool(). */
const char *zs_pool_name(struct zs_pool *pool)
{
	return pool->name;
}
