// SPDX-License-Identifier: MIT
/*
 * zbud.c - a buddy allocator for compressed pages: at most two objects per page.
 *
 * Design
 * ------
 * Every page comes from the page provider (page.c) and holds a header in its
 * first 64-byte chunk and at most two objects, the "buddies". The first buddy
 * starts right after the header and grows towards the end; the last buddy
 * ends at the page's end and grows towards the start. Space is counted in
 * chunks of 64 bytes, so a page has NCHUNKS = (4096 - 64) / 64 = 63 chunks to
 * give away:
 *
 *   page (4096 bytes = 64 chunks)
 *   +--------+--------------------+ - - - - free - - - - +---------------+
 *   | header | first buddy        |                      |   last buddy  |
 *   +--------+--------------------+ - - - - - - - - - - -+---------------+
 *   0        64                   64 + first_chunks*64   4096 - last_chunks*64
 *   ^ page   ^ handle of first                           ^ handle of last
 *
 * Because both objects are pinned to the page's two ends, whatever is left
 * between them is one run of free chunks, and one object of up to that many
 * chunks always fits. Two objects per page caps the density (the price of
 * zbud's simplicity and of its cheap reclaim) but makes the layout trivial.
 *
 * Handles are the objects' addresses, as in the kernel: page + 64 for the
 * first buddy, page + 4096 - last_chunks * 64 for the last one. The header is
 * found by rounding a handle down to its page; an offset of exactly 64 names
 * the first buddy (a last buddy is at most 62 chunks long, so it never starts
 * at 64). The largest object is 4096 - 64 - 64 = 3968 bytes (62 chunks),
 * which keeps at least one chunk free for a buddy.
 *
 * Lists (all in struct zbud_pool):
 *   unbuddied[n]  pages holding one object and n free chunks (1 <= n <= 62)
 *   buddied       pages holding two objects
 *   lru           every page not under reclaim, most recently allocated from first
 * zbud_alloc() takes the head of the smallest unbuddied[n] with n >= the
 * object's chunks (first fit), otherwise a new page.
 *
 * Reclaim: zbud_reclaim_page() takes the LRU's tail, marks it under_reclaim
 * (off every list, so no allocation can land on it), drops the lock and asks
 * the owner's evict() to free each buddy. A zbud_free() of a buddy of a page
 * under reclaim only clears its chunk count and leaves the page alone; the
 * reclaimer frees the page once both counts are zero, or puts it back on the
 * lists and at the head of the LRU when the owner kept something.
 *
 * Locking: one mutex per pool (pool->lock) protects the lists, the counters
 * and every header field. The page provider's lock is only ever taken with
 * the pool lock dropped (pages are unlinked first and freed afterwards), and
 * evict() is called with no zbud lock held, so it may call zbud_free(),
 * zbud_map() or zbud_alloc() on the same pool. Lock order: pool->lock, then
 * the provider's lock (never both at once in practice).
 *
 * Map/unmap: an object never moves, so zbud_map() returns the handle as a
 * pointer, takes no lock and copies nothing; the caller may block while it
 * holds a mapping, and may hold any number of them. zbud_unmap() only ends
 * the bookkeeping (statistics, tracing probes).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "zbud.h"
#include "zsmalloc.h"	/* ZS_MM_RW, the mode the probes report */
#include "page.h"
#include "probes.h"

#define CHUNK_SHIFT ZBUD_CHUNK_SHIFT
#define CHUNK_SIZE ZBUD_CHUNK_SIZE
#define NCHUNKS ZBUD_NCHUNKS
#define ZHDR_SIZE ZBUD_HEADER_SIZE
#define PAGE_SZ ((unsigned long)ZPAGE_SIZE)
#define PAGE_MASK_LOW (PAGE_SZ - 1)
#define ZBUD_MAGIC 0x7a627564u /* "zbud" */

_Static_assert(ZPAGE_SIZE == 4096, "zbud's geometry assumes 4 KiB pages");
_Static_assert(ZBUD_MAX_ALLOC_SIZE == ZPAGE_SIZE - ZHDR_SIZE - CHUNK_SIZE, "max size");

/* A circular doubly linked list, linked through the headers inside the pages. */
struct zlist {
	struct zlist *next, *prev;
};

static void zlist_init(struct zlist *l)
{
	l->next = l->prev = l;
}

static bool zlist_empty(const struct zlist *l)
{
	return l->next == l;
}

static void zlist_add(struct zlist *n, struct zlist *head)
{
	n->next = head->next;
	n->prev = head;
	head->next->prev = n;
	head->next = n;
}

static void zlist_del(struct zlist *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	zlist_init(n);
}

#define zlist_entry(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

enum buddy { FIRST, LAST };

/* Lives in the first chunk of every zbud page; every field is under pool->lock. */
struct zbud_header {
	struct zlist buddy;		/* on unbuddied[n] or buddied */
	struct zlist lru;		/* on pool->lru */
	struct zbud_pool *pool;		/* owner, checked by DEBUG builds */
	uint32_t magic;			/* ZBUD_MAGIC while the page belongs to a pool */
	uint16_t first_chunks;		/* 0: no first buddy */
	uint16_t last_chunks;		/* 0: no last buddy */
	uint16_t first_size;		/* bytes asked for, for the statistics */
	uint16_t last_size;
	bool under_reclaim;		/* off all lists; zbud_free must not free the page */
};

_Static_assert(sizeof(struct zbud_header) <= ZHDR_SIZE, "header must fit in one chunk");

struct zbud_pool {
	pthread_mutex_t lock;
	struct zlist unbuddied[NCHUNKS];	/* lock: index = free chunks */
	struct zlist buddied;			/* lock */
	struct zlist lru;			/* lock: head = most recently allocated */
	unsigned long nr_unbuddied[NCHUNKS];	/* lock: lengths of unbuddied[] */
	unsigned long nr_buddied;		/* lock */
	unsigned long nr_lru;			/* lock */
	unsigned long pages_nr;			/* lock: pages owned, including under reclaim */
	unsigned long objects;			/* lock */
	unsigned long bytes_requested;		/* lock */
	unsigned long chunks_used;		/* lock */
	unsigned long reclaimed_pages;		/* lock */
	unsigned long bad_frees;		/* lock */
	atomic_ulong alloc_fails;		/* atomic: also counted outside the lock */
	atomic_ulong mapped_now;		/* lock-free: map/unmap take no lock */
	atomic_ulong maps;
	const struct zbud_ops *ops;		/* fixed at creation */
	void *priv;				/* fixed at creation */
	unsigned int id;			/* fixed at creation */
};

static atomic_uint next_pool_id;

static int size_to_chunks(size_t size)
{
	return (int)((size + CHUNK_SIZE - 1) >> CHUNK_SHIFT);
}

static int num_free_chunks(const struct zbud_header *zhdr)
{
	return NCHUNKS - zhdr->first_chunks - zhdr->last_chunks;
}

static struct zbud_header *handle_to_zhdr(unsigned long handle)
{
	return (struct zbud_header *)(handle & ~PAGE_MASK_LOW);
}

static enum buddy handle_to_buddy(unsigned long handle)
{
	return (handle & PAGE_MASK_LOW) == ZHDR_SIZE ? FIRST : LAST;
}

static unsigned long encode_handle(struct zbud_header *zhdr, enum buddy bud)
{
	unsigned long handle = (unsigned long)zhdr;

	if (bud == FIRST)
		return handle + ZHDR_SIZE;
	return handle + PAGE_SZ - ((unsigned long)zhdr->last_chunks << CHUNK_SHIFT);
}

static struct zbud_header *init_zbud_page(struct zbud_pool *pool, void *page)
{
	struct zbud_header *zhdr = page;

	zhdr->first_chunks = zhdr->last_chunks = 0;
	zhdr->first_size = zhdr->last_size = 0;
	zlist_init(&zhdr->buddy);
	zlist_init(&zhdr->lru);
	zhdr->pool = pool;
	zhdr->magic = ZBUD_MAGIC;
	zhdr->under_reclaim = false;
	return zhdr;
}

/* The page is off every list; forget it (the caller frees it unlocked). */
static void forget_zbud_page(struct zbud_pool *pool, struct zbud_header *zhdr)
{
	zhdr->magic = 0;
	zhdr->pool = NULL;
	pool->pages_nr--;
}

/* Put a page holding at least one object on the list that matches its fill. */
static void link_buddy_list(struct zbud_pool *pool, struct zbud_header *zhdr)
{
	if (zhdr->first_chunks == 0 || zhdr->last_chunks == 0) {
		int free = num_free_chunks(zhdr);

		zlist_add(&zhdr->buddy, &pool->unbuddied[free]);
		pool->nr_unbuddied[free]++;
	} else {
		zlist_add(&zhdr->buddy, &pool->buddied);
		pool->nr_buddied++;
	}
}

/* Take a page off unbuddied[] or buddied; it must be on one of them. */
static void unlink_buddy_list(struct zbud_pool *pool, struct zbud_header *zhdr)
{
	if (zhdr->first_chunks && zhdr->last_chunks)
		pool->nr_buddied--;
	else
		pool->nr_unbuddied[num_free_chunks(zhdr)]--;
	zlist_del(&zhdr->buddy);
}

static void lru_add_head(struct zbud_pool *pool, struct zbud_header *zhdr)
{
	zlist_add(&zhdr->lru, &pool->lru);
	pool->nr_lru++;
}

static void lru_del(struct zbud_pool *pool, struct zbud_header *zhdr)
{
	zlist_del(&zhdr->lru);
	pool->nr_lru--;
}

/**
 * zbud_create_pool_priv - create an empty pool that remembers its owner.
 * @ops: callbacks; may be NULL, and then zbud_reclaim_page() returns -EINVAL.
 * @priv: anything; zbud_pool_priv() returns it (an evict callback gets only
 *        the pool, and this is how it finds its way back to the owner).
 *
 * Return: the pool, or NULL with errno = ENOMEM.
 * Context: any; takes no lock.
 */
struct zbud_pool *zbud_create_pool_priv(const struct zbud_ops *ops, void *priv)
{
	struct zbud_pool *pool = calloc(1, sizeof(*pool));

	if (!pool) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	for (int i = 0; i < NCHUNKS; i++)
		zlist_init(&pool->unbuddied[i]);
	zlist_init(&pool->buddied);
	zlist_init(&pool->lru);
	pool->ops = ops;
	pool->priv = priv;
	pool->id = atomic_fetch_add(&next_pool_id, 1) + 1;
	return pool;
}

/**
 * zbud_create_pool - create an empty pool (no page is taken yet).
 * @ops: callbacks; may be NULL, and then zbud_reclaim_page() returns -EINVAL.
 *
 * Return: the pool, or NULL with errno = ENOMEM.
 * Context: any; takes no lock.
 */
struct zbud_pool *zbud_create_pool(const struct zbud_ops *ops)
{
	return zbud_create_pool_priv(ops, NULL);
}

/**
 * zbud_pool_priv - the pointer given to zbud_create_pool_priv().
 * @pool: the pool.
 *
 * Return: that pointer, or NULL for a pool made by zbud_create_pool().
 */
void *zbud_pool_priv(struct zbud_pool *pool)
{
	return pool->priv;
}

/**
 * zbud_destroy_pool - free a pool and every page it still holds.
 * @pool: the pool; no other thread may use it any more, and no reclaim may be
 *        running on it (pages under reclaim are off the LRU and would leak).
 *
 * Objects still allocated are dropped with their pages; DEBUG builds say so.
 */
void zbud_destroy_pool(struct zbud_pool *pool)
{
	if (!pool)
		return;
#ifdef ZPOOL_DEBUG
	if (pool->objects)
		fprintf(stderr, "zbud: pool %u destroyed with %lu objects still allocated\n",
			pool->id, pool->objects);
#endif
	while (!zlist_empty(&pool->lru)) {
		struct zbud_header *zhdr = zlist_entry(pool->lru.next, struct zbud_header, lru);

		lru_del(pool, zhdr);
		forget_zbud_page(pool, zhdr);
		zpage_free(zhdr);
	}
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

/**
 * zbud_alloc - find room for an object of @size bytes.
 * @pool: the pool.
 * @size: 1 .. ZBUD_MAX_ALLOC_SIZE bytes.
 * @handle: set to the new object's handle on success, untouched otherwise.
 *
 * First fit from the smallest unbuddied list with enough free chunks; a new
 * page when none has room. The page moves to the head of the LRU.
 *
 * Return: 0; -EINVAL if @size is 0; -ENOSPC if @size is above
 * ZBUD_MAX_ALLOC_SIZE; -ENOMEM if a new page was needed and the page provider
 * refused one (the pool is unchanged).
 * Context: takes pool->lock; the page is taken with the lock dropped.
 */
int zbud_alloc(struct zbud_pool *pool, size_t size, unsigned long *handle)
{
	struct zbud_header *zhdr = NULL;
	enum buddy bud = FIRST;
	int chunks;
	void *page;

	if (!size)
		goto out_einval;
	if (size > ZBUD_MAX_ALLOC_SIZE)
		goto out_enospc;
	chunks = size_to_chunks(size);

	pthread_mutex_lock(&pool->lock);
	for (int i = chunks; i < NCHUNKS; i++) {
		if (!zlist_empty(&pool->unbuddied[i])) {
			zhdr = zlist_entry(pool->unbuddied[i].next, struct zbud_header, buddy);
			unlink_buddy_list(pool, zhdr);
			bud = zhdr->first_chunks == 0 ? FIRST : LAST;
			goto found;
		}
	}
	pthread_mutex_unlock(&pool->lock);

	/* Nothing fits: a fresh page, taken without holding the pool lock. */
	page = zpage_alloc();
	if (!page) {
		atomic_fetch_add(&pool->alloc_fails, 1);
		return -ENOMEM;
	}
	pthread_mutex_lock(&pool->lock);
	pool->pages_nr++;
	zhdr = init_zbud_page(pool, page);
	bud = FIRST;

found:
	if (bud == FIRST) {
		zhdr->first_chunks = (uint16_t)chunks;
		zhdr->first_size = (uint16_t)size;
	} else {
		zhdr->last_chunks = (uint16_t)chunks;
		zhdr->last_size = (uint16_t)size;
	}
	link_buddy_list(pool, zhdr);

	/* Most recently allocated from goes first; reclaim starts at the tail. */
	if (!zlist_empty(&zhdr->lru))
		lru_del(pool, zhdr);
	lru_add_head(pool, zhdr);

	pool->objects++;
	pool->bytes_requested += size;
	pool->chunks_used += (unsigned long)chunks;
	*handle = encode_handle(zhdr, bud);
	pthread_mutex_unlock(&pool->lock);
	return 0;

out_einval:
	atomic_fetch_add(&pool->alloc_fails, 1);
	return -EINVAL;
out_enospc:
	atomic_fetch_add(&pool->alloc_fails, 1);
	return -ENOSPC;
}

#ifdef ZPOOL_DEBUG
/*
 * Does @handle name an object allocated in @pool right now? Only a page that
 * still belongs to the pool can be examined safely, so a handle into a page
 * that went back to the provider is caught by the magic and owner fields.
 * Called with pool->lock held.
 */
static bool handle_is_live(struct zbud_pool *pool, unsigned long handle)
{
	struct zbud_header *zhdr = handle_to_zhdr(handle);
	unsigned long off = handle & PAGE_MASK_LOW;

	if (!handle || zhdr->magic != ZBUD_MAGIC || zhdr->pool != pool)
		return false;
	if (off == ZHDR_SIZE)
		return zhdr->first_chunks != 0;
	return zhdr->last_chunks != 0 &&
	       off == PAGE_SZ - ((unsigned long)zhdr->last_chunks << CHUNK_SHIFT);
}
#endif

/**
 * zbud_free - free an object.
 * @pool: the pool the object was allocated from.
 * @handle: its handle. DEBUG builds detect a handle that is not allocated
 *          (a double free, most often), report it on stderr, count it in
 *          zbud_stats.bad_frees and ignore it.
 *
 * The page returns to the provider when both buddies are free, unless it is
 * under reclaim: the reclaimer then frees it itself.
 * Context: takes pool->lock; frees the page after dropping it.
 */
void zbud_free(struct zbud_pool *pool, unsigned long handle)
{
	struct zbud_header *zhdr = handle_to_zhdr(handle);
	bool free_page = false;

	pthread_mutex_lock(&pool->lock);
#ifdef ZPOOL_DEBUG
	if (!handle_is_live(pool, handle)) {
		pool->bad_frees++;
		pthread_mutex_unlock(&pool->lock);
		fprintf(stderr, "zbud: pool %u: free of handle %#lx, which is not allocated "
			"(double free?); ignored\n", pool->id, handle);
		return;
	}
#endif
	if (!zhdr->under_reclaim)
		unlink_buddy_list(pool, zhdr);

	pool->objects--;
	if (handle_to_buddy(handle) == FIRST) {
		pool->bytes_requested -= zhdr->first_size;
		pool->chunks_used -= zhdr->first_chunks;
		zhdr->first_chunks = 0;
		zhdr->first_size = 0;
	} else {
		pool->bytes_requested -= zhdr->last_size;
		pool->chunks_used -= zhdr->last_chunks;
		zhdr->last_chunks = 0;
		zhdr->last_size = 0;
	}

	if (zhdr->under_reclaim) {
		/* zbud_reclaim_page() owns the page and decides its fate. */
		pthread_mutex_unlock(&pool->lock);
		return;
	}

	if (zhdr->first_chunks == 0 && zhdr->last_chunks == 0) {
		lru_del(pool, zhdr);
		forget_zbud_page(pool, zhdr);
		free_page = true;
	} else {
		link_buddy_list(pool, zhdr);
	}
	pthread_mutex_unlock(&pool->lock);

	if (free_page)
		zpage_free(zhdr);
}

/*
 * The handle of buddy @bud of a page under reclaim if it is still allocated,
 * else 0. Looked up afresh before each eviction so that an object its owner
 * freed meanwhile is not offered to evict() again.
 */
static unsigned long reclaim_handle(struct zbud_pool *pool, struct zbud_header *zhdr,
				    enum buddy bud)
{
	unsigned long handle = 0;

	pthread_mutex_lock(&pool->lock);
	if (bud == FIRST ? zhdr->first_chunks : zhdr->last_chunks)
		handle = encode_handle(zhdr, bud);
	pthread_mutex_unlock(&pool->lock);
	return handle;
}

/**
 * zbud_reclaim_page - evict both buddies of the least recently used page.
 * @pool: the pool; must have been created with an evict callback.
 * @retries: pages to try, one after another from the LRU's tail.
 *
 * For the page at the LRU's tail, evict() is called for each object on it
 * (first, then last), without any zbud lock held; evict() must zbud_free()
 * the handle and return 0, or return non-zero to keep the object. A page
 * whose objects were all freed goes back to the provider; a page that kept
 * an object returns to the head of the LRU and the next tail page is tried.
 *
 * Return: 0 when a page was freed; -EINVAL if the pool has no evict callback
 * or no page on its LRU; -EAGAIN if @retries pages were tried and each kept
 * an object (or the LRU ran empty meanwhile).
 * Context: takes and drops pool->lock around each step; calls evict() unlocked.
 */
int zbud_reclaim_page(struct zbud_pool *pool, unsigned int retries)
{
	struct zbud_header *zhdr;

	pthread_mutex_lock(&pool->lock);
	if (!pool->ops || !pool->ops->evict || zlist_empty(&pool->lru)) {
		pthread_mutex_unlock(&pool->lock);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < retries; i++) {
		unsigned long handle;
		bool free_page = false;

		if (zlist_empty(&pool->lru))
			break;	/* other reclaimers hold every page */
		zhdr = zlist_entry(pool->lru.prev, struct zbud_header, lru);
		lru_del(pool, zhdr);
		unlink_buddy_list(pool, zhdr);
		zhdr->under_reclaim = true;
		pthread_mutex_unlock(&pool->lock);

		/* Stop at the first refusal: the page cannot be freed this time. */
		handle = reclaim_handle(pool, zhdr, FIRST);
		if (handle && pool->ops->evict(pool, handle))
			goto next;
		handle = reclaim_handle(pool, zhdr, LAST);
		if (handle && pool->ops->evict(pool, handle))
			goto next;
next:
		pthread_mutex_lock(&pool->lock);
		zhdr->under_reclaim = false;
		if (zhdr->first_chunks == 0 && zhdr->last_chunks == 0) {
			forget_zbud_page(pool, zhdr);
			pool->reclaimed_pages++;
			free_page = true;
		} else {
			link_buddy_list(pool, zhdr);
			lru_add_head(pool, zhdr);
		}
		if (free_page) {
			pthread_mutex_unlock(&pool->lock);
			zpage_free(zhdr);
			return 0;
		}
	}
	pthread_mutex_unlock(&pool->lock);
	return -EAGAIN;
}

/* Chunk-rounded size of the object at @handle, for the probes only. */
static unsigned long traced_size(unsigned long handle)
{
	unsigned long off = handle & PAGE_MASK_LOW;

	/*
	 * A last buddy's size follows from its handle. A first buddy's chunk
	 * count is read from the header: the caller owns the object, so the
	 * field cannot change under us, and it is never written in place while
	 * the object lives.
	 */
	if (off != ZHDR_SIZE)
		return PAGE_SZ - off;
	return (unsigned long)handle_to_zhdr(handle)->first_chunks << CHUNK_SHIFT;
}

/*
 * The bodies of zbud_map() and zbud_unmap(), each inlined twice (as in
 * zs_map.c): the untraced copy holds no probe code, the cold traced copy is
 * where the public call goes while any zpool probe is attached. Both probes
 * of a pair need the size (the entry helper also starts the clock for its
 * return probe), so it is read only while one of them is traced.
 */
#define TRACED_SIZE(entry, ret, handle) \
	(ZPOOL_PROBE_ON(entry) || ZPOOL_PROBE_ON(ret) ? traced_size(handle) : 0)

static inline __attribute__((always_inline)) void *map_object(struct zbud_pool *pool,
							      unsigned long handle,
							      const bool traced)
{
	unsigned long size = traced ? TRACED_SIZE(map_entry, map_return, handle) : 0;

	if (traced)
		trace_map_entry(ZPOOL_BACKEND_ZBUD, pool->id, handle, size, ZS_MM_RW, 0);
	atomic_fetch_add_explicit(&pool->maps, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&pool->mapped_now, 1, memory_order_relaxed);
	if (traced)
		trace_map_return(ZPOOL_BACKEND_ZBUD, pool->id, handle, size, ZS_MM_RW, 0);
	return (void *)handle;
}

static __attribute__((noinline, cold)) void *map_traced(struct zbud_pool *pool,
							 unsigned long handle)
{
	return map_object(pool, handle, true);
}

static inline __attribute__((always_inline)) void unmap_object(struct zbud_pool *pool,
							       unsigned long handle,
							       const bool traced)
{
	unsigned long size = traced ? TRACED_SIZE(unmap_entry, unmap_return, handle) : 0;

	if (traced)
		trace_unmap_entry(ZPOOL_BACKEND_ZBUD, pool->id, handle, size, ZS_MM_RW, 0);
	atomic_fetch_sub_explicit(&pool->mapped_now, 1, memory_order_relaxed);
	if (traced)
		trace_unmap_return(ZPOOL_BACKEND_ZBUD, pool->id, handle, size, ZS_MM_RW, 0);
}

static __attribute__((noinline, cold)) void unmap_traced(struct zbud_pool *pool,
							  unsigned long handle)
{
	unmap_object(pool, handle, true);
}

/**
 * zbud_map - the address of an object's bytes.
 * @pool: the pool.
 * @handle: an allocated object's handle.
 *
 * Objects never move, so nothing is copied and no lock is taken; the address
 * stays valid until the object is freed, across any number of other calls.
 * The tracing probes report mode ZS_MM_RW and no straddle.
 * Return: the object's first byte.
 * Context: any; the caller may sleep while the object is mapped.
 */
void *zbud_map(struct zbud_pool *pool, unsigned long handle)
{
	if (ZPOOL_TRACED())
		return map_traced(pool, handle);
	return map_object(pool, handle, false);
}

/**
 * zbud_unmap - end a mapping made by zbud_map().
 * @pool: the pool.
 * @handle: the handle that was mapped.
 * Context: any; takes no lock.
 */
void zbud_unmap(struct zbud_pool *pool, unsigned long handle)
{
	if (ZPOOL_TRACED())
		unmap_traced(pool, handle);
	else
		unmap_object(pool, handle, false);
}

/**
 * zbud_get_pool_size - pages the pool holds, including any under reclaim.
 * @pool: the pool.
 * Return: the page count.
 * Context: takes pool->lock.
 */
uint64_t zbud_get_pool_size(struct zbud_pool *pool)
{
	uint64_t pages;

	pthread_mutex_lock(&pool->lock);
	pages = pool->pages_nr;
	pthread_mutex_unlock(&pool->lock);
	return pages;
}

/**
 * zbud_pool_id - the pool's process-unique number (the probes' pool argument).
 * @pool: the pool.
 * Return: a number >= 1, never reused within the process.
 */
unsigned int zbud_pool_id(struct zbud_pool *pool)
{
	return pool->id;
}

/**
 * zbud_get_stats - one consistent snapshot of the pool's lists and counters.
 * @pool: the pool.
 * @st: filled in; unbuddied[n] counts pages with n free chunks.
 * Context: takes pool->lock for the copy.
 */
void zbud_get_stats(struct zbud_pool *pool, struct zbud_stats *st)
{
	*st = (struct zbud_stats){ 0 };
	pthread_mutex_lock(&pool->lock);
	st->pages = pool->pages_nr;
	st->buddied = pool->nr_buddied;
	for (int i = 0; i < NCHUNKS; i++) {
		st->unbuddied[i] = pool->nr_unbuddied[i];
		st->unbuddied_total += pool->nr_unbuddied[i];
	}
	st->lru_len = pool->nr_lru;
	st->objects = pool->objects;
	st->bytes_requested = pool->bytes_requested;
	st->chunks_used = pool->chunks_used;
	st->reclaimed_pages = pool->reclaimed_pages;
	st->bad_frees = pool->bad_frees;
	pthread_mutex_unlock(&pool->lock);
	st->mapped_now = atomic_load(&pool->mapped_now);
	st->maps = atomic_load(&pool->maps);
	st->alloc_fails = atomic_load(&pool->alloc_fails);
}
