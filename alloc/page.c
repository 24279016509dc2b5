// SPDX-License-Identifier: MIT
/*
 * page.c - the page provider: the only code in libzpool that talks to the OS.
 *
 * Design
 * ------
 * Memory is reserved from the OS in chunks of ZPAGE_CHUNK_PAGES pages with one
 * anonymous mmap each, and handed out one 4 KiB page at a time. Callers never
 * need two pages to be adjacent (a zspage chains single pages), so a chunk is
 * only a way to make fewer system calls.
 *
 *   chunk (mmap, 1 MiB)
 *   +------+------+------+-- ... --+------+
 *   | page | page | page |         | page |     256 pages of 4 KiB
 *   +------+------+------+-- ... --+------+
 *
 * Free pages are kept on a stack of addresses *outside* the pages: a page
 * returned with madvise(MADV_DONTNEED) must not be written again, or it would
 * be faulted back in and count against RSS. A freshly mapped chunk pushes all
 * its pages, untouched, so reserving a chunk costs no RSS either. Chunks are
 * kept for the life of the process (address space only) and are marked
 * MADV_NOHUGEPAGE so that a single page freed really leaves RSS.
 *
 * Hot cache: the last ZPAGE_CACHE_PAGES pages freed are kept resident on a
 * second, small stack and handed out first. An allocator in a steady state
 * (a zspage emptied here, another one started there) would otherwise pay an
 * madvise, a TLB flush and a page fault for every page it cycles. Past the
 * cache every freed page is madvised at once, so RSS above the pages in use
 * is bounded by ZPAGE_CACHE_PAGES * 4 KiB (1 MiB); zpage_trim() empties the
 * cache (compaction calls it, so that what compaction frees leaves RSS).
 *
 * Locking: one mutex (provider_lock) protects the free stack and the chunk
 * count; the statistics are atomics so that readers never take the lock.
 * Nothing here calls back into an allocator, so the provider lock is always
 * the innermost lock of libzpool.
 *
 * Fault injection: zpage_fail_nth() and zpage_fail_every() make chosen page
 * allocations return NULL/ENOMEM, so that every caller's failure path can be
 * tested with real allocators.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "page.h"

#define ZPAGE_CHUNK_PAGES 256UL
#define ZPAGE_CACHE_PAGES 256UL

static pthread_mutex_t provider_lock = PTHREAD_MUTEX_INITIALIZER;
static void **free_stack;		/* provider_lock */
static size_t free_top;			/* provider_lock: entries in free_stack */
static size_t free_cap;			/* provider_lock: capacity of free_stack */
static size_t pages_mapped;		/* provider_lock: pages in all chunks */
static void *hot_cache[ZPAGE_CACHE_PAGES];	/* provider_lock: freed, still resident */
static size_t hot_top;			/* provider_lock: entries in hot_cache */

static atomic_ulong st_in_use, st_peak, st_chunks, st_allocs, st_frees, st_failures, st_cached;

static atomic_ulong fail_countdown;	/* >0: the allocation that brings it to 0 fails */
static atomic_ulong fail_period;	/* >0: every n-th allocation fails */
static atomic_ulong fail_tick;		/* allocations counted for fail_period */

static bool injected_failure(void)
{
	unsigned long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);

	while (n) {
		if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1)) {
			if (n == 1)
				return true;
			break;
		}
	}
	n = atomic_load_explicit(&fail_period, memory_order_relaxed);
	if (n && (atomic_fetch_add(&fail_tick, 1) + 1) % n == 0)
		return true;
	return false;
}

/* Map one more chunk and push its pages. Called with provider_lock held. */
static int grow_locked(void)
{
	/* The stack must be able to hold every page ever mapped at once. */
	size_t need = pages_mapped + ZPAGE_CHUNK_PAGES;
	char *chunk;

	if (need > free_cap) {
		size_t cap = free_cap ? free_cap * 2 : 4 * ZPAGE_CHUNK_PAGES;
		void **stack;

		while (cap < need)
			cap *= 2;
		stack = realloc(free_stack, cap * sizeof(*stack));
		if (!stack)
			return -ENOMEM;
		free_stack = stack;
		free_cap = cap;
	}
	chunk = mmap(NULL, ZPAGE_CHUNK_PAGES * ZPAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (chunk == MAP_FAILED)
		return -ENOMEM;
	madvise(chunk, ZPAGE_CHUNK_PAGES * ZPAGE_SIZE, MADV_NOHUGEPAGE);
	pages_mapped += ZPAGE_CHUNK_PAGES;
	/* Push in reverse so that pages are handed out in address order. */
	for (size_t i = ZPAGE_CHUNK_PAGES; i-- > 0;)
		free_stack[free_top++] = chunk + i * ZPAGE_SIZE;
	atomic_fetch_add(&st_chunks, 1);
	return 0;
}

static void note_in_use(void)
{
	unsigned long now = atomic_fetch_add(&st_in_use, 1) + 1;
	unsigned long peak = atomic_load_explicit(&st_peak, memory_order_relaxed);

	while (now > peak && !atomic_compare_exchange_weak(&st_peak, &peak, now))
		;
}

void *zpage_alloc(void)
{
	void *page = NULL;

	if (injected_failure())
		goto out_fail;

	pthread_mutex_lock(&provider_lock);
	if (hot_top) {
		page = hot_cache[--hot_top];
		atomic_store_explicit(&st_cached, hot_top, memory_order_relaxed);
	} else if (free_top || !grow_locked()) {
		page = free_stack[--free_top];
	}
	pthread_mutex_unlock(&provider_lock);
	if (!page)
		goto out_fail;

	atomic_fetch_add(&st_allocs, 1);
	note_in_use();
	return page;

out_fail:
	atomic_fetch_add(&st_failures, 1);
	errno = ENOMEM;
	return NULL;
}

void zpage_free(void *page)
{
	if (!page)
		return;

	pthread_mutex_lock(&provider_lock);
	if (hot_top < ZPAGE_CACHE_PAGES) {
		hot_cache[hot_top++] = page;
		atomic_store_explicit(&st_cached, hot_top, memory_order_relaxed);
		page = NULL;
	}
	pthread_mutex_unlock(&provider_lock);

	if (page) {
		/* Drop the contents before the page becomes reusable: RSS falls now. */
		madvise(page, ZPAGE_SIZE, MADV_DONTNEED);
		pthread_mutex_lock(&provider_lock);
		/* free_cap always covers every page ever mapped, so this cannot overflow. */
		free_stack[free_top++] = page;
		pthread_mutex_unlock(&provider_lock);
	}

	atomic_fetch_add(&st_frees, 1);
	atomic_fetch_sub(&st_in_use, 1);
}

void zpage_trim(void)
{
	void *pages[ZPAGE_CACHE_PAGES];
	size_t n;

	pthread_mutex_lock(&provider_lock);
	n = hot_top;
	memcpy(pages, hot_cache, n * sizeof(*pages));
	hot_top = 0;
	atomic_store_explicit(&st_cached, 0, memory_order_relaxed);
	pthread_mutex_unlock(&provider_lock);

	/* Off the lock: other threads may take pages from the free stack meanwhile. */
	for (size_t i = 0; i < n; i++)
		madvise(pages[i], ZPAGE_SIZE, MADV_DONTNEED);

	pthread_mutex_lock(&provider_lock);
	for (size_t i = 0; i < n; i++)
		free_stack[free_top++] = pages[i];
	pthread_mutex_unlock(&provider_lock);
}

void zpage_get_stats(struct zpage_stats *st)
{
	st->pages_in_use = atomic_load(&st_in_use);
	st->pages_peak = atomic_load(&st_peak);
	st->chunks_mapped = atomic_load(&st_chunks);
	st->allocs = atomic_load(&st_allocs);
	st->frees = atomic_load(&st_frees);
	st->failures = atomic_load(&st_failures);
	st->pages_cached = atomic_load(&st_cached);
}

void zpage_fail_nth(unsigned long n)
{
	atomic_store(&fail_countdown, n);
}

void zpage_fail_every(unsigned long n)
{
	atomic_store(&fail_tick, 0);
	atomic_store(&fail_period, n);
}

void zpage_fail_reset(void)
{
	atomic_store(&fail_countdown, 0);
	atomic_store(&fail_period, 0);
	atomic_store(&fail_tick, 0);
}
