/* SPDX-License-Identifier: MIT */
/*
 * zpage.h - the page provider under every libzpool allocator.
 *
 * Pages are 4 KiB, handed out one at a time from large mmap'd chunks; a
 * freed page is returned to the OS with madvise(MADV_DONTNEED) so that the
 * process RSS really drops, except for the last 256 pages freed, which stay
 * resident for quick reuse until zpage_trim(). The provider is process-wide
 * and thread-safe.
 *
 * The only public parts are the counters and the fault-injection hook, so
 * that tests and the filesystem can make page allocations fail on purpose.
 */
#ifndef ZPOOL_ZPAGE_H
#define ZPOOL_ZPAGE_H

#include <stddef.h>

#define ZPAGE_SHIFT 12
#define ZPAGE_SIZE (1UL << ZPAGE_SHIFT)

struct zpage_stats {
	unsigned long pages_in_use;	/* pages handed out and not yet returned */
	unsigned long pages_peak;	/* high-water mark of pages_in_use */
	unsigned long chunks_mapped;	/* mmap'd chunks (each ZPAGE_CHUNK_PAGES pages) */
	unsigned long allocs;		/* successful page allocations, ever */
	unsigned long frees;		/* page frees, ever */
	unsigned long failures;		/* allocations that failed (injected or real) */
	unsigned long pages_cached;	/* free pages kept resident for reuse (at most 256) */
};

/**
 * zpage_get_stats - copy the provider's counters.
 * @st: filled in.
 */
void zpage_get_stats(struct zpage_stats *st);

/**
 * zpage_trim - return the free pages kept resident for quick reuse to the OS.
 * After it, RSS holds no free pool page. Context: takes the provider's mutex.
 */
void zpage_trim(void);

/**
 * zpage_fail_nth - make the @n-th page allocation from now on fail.
 * @n: 1 fails the very next allocation; 0 cancels a pending one.
 */
void zpage_fail_nth(unsigned long n);

/**
 * zpage_fail_every - make every @n-th page allocation fail, until reset.
 * @n: 0 turns periodic failures off; 1 makes every allocation fail.
 */
void zpage_fail_every(unsigned long n);

/**
 * zpage_fail_reset - cancel every pending or periodic injected failure.
 */
void zpage_fail_reset(void);

#endif
