// SPDX-License-Identifier: MIT
/*
 * zbud: handle placement, list membership step by step, first fit, the LRU and
 * reclaim through a real evict callback, error paths, injected page failures.
 * Every test starts from a fresh pool; teardown checks that the pool is empty
 * and that every page went back to the page provider.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zbud.h"
#include "zpage.h"
#include "../../alloc/probes.h"
#include "lib_testutil.h"

#define PAGE 4096UL
#define CHUNK 64UL

/* What an evict callback needs: the objects it may drop and what they hold. */
struct evict_ctx {
	unsigned long evicted[64];	/* handles, in the order evict() saw them */
	int nr_evicted;
	unsigned long refuse;		/* evict() keeps this handle */
	unsigned long also_free;	/* evict() frees this one too, before its own */
	bool alloc_in_evict;		/* evict() allocates 500 bytes into allocated */
	unsigned long allocated;
	unsigned long seeds[64][2];	/* handle -> fill seed, for the byte check */
	int nr_seeds;
	size_t sizes[64];
};

struct fixture {
	struct zbud_pool *pool;
	struct evict_ctx ctx;
	unsigned long pages_before;
};

static unsigned long page_of(unsigned long handle)
{
	return handle & ~(PAGE - 1);
}

static void remember(struct evict_ctx *ctx, unsigned long h, unsigned long seed, size_t size)
{
	assert_true(ctx->nr_seeds < 64);
	ctx->seeds[ctx->nr_seeds][0] = h;
	ctx->seeds[ctx->nr_seeds][1] = seed;
	ctx->sizes[ctx->nr_seeds] = size;
	ctx->nr_seeds++;
}

static int lookup(struct evict_ctx *ctx, unsigned long h)
{
	for (int i = 0; i < ctx->nr_seeds; i++)
		if (ctx->seeds[i][0] == h)
			return i;
	return -1;
}

static void forget(struct evict_ctx *ctx, unsigned long h)
{
	int i = lookup(ctx, h);

	assert_true(i >= 0);
	ctx->nr_seeds--;
	ctx->seeds[i][0] = ctx->seeds[ctx->nr_seeds][0];
	ctx->seeds[i][1] = ctx->seeds[ctx->nr_seeds][1];
	ctx->sizes[i] = ctx->sizes[ctx->nr_seeds];
}

/* Allocate, fill with a pattern from @seed, and remember it for evict(). */
static unsigned long put(struct fixture *f, size_t size, unsigned long seed)
{
	unsigned long h = 0;
	void *p;

	assert_int_equal(zbud_alloc(f->pool, size, &h), 0);
	assert_true(h != 0);
	p = zbud_map(f->pool, h);
	assert_ptr_equal(p, (void *)h);
	tu_fill(p, size, seed);
	zbud_unmap(f->pool, h);
	remember(&f->ctx, h, seed, size);
	return h;
}

static void drop(struct fixture *f, unsigned long h)
{
	int i = lookup(&f->ctx, h);

	assert_true(i >= 0);
	assert_true(tu_holds(zbud_map(f->pool, h), f->ctx.sizes[i], f->ctx.seeds[i][1]));
	zbud_unmap(f->pool, h);
	forget(&f->ctx, h);
	zbud_free(f->pool, h);
}

/* The evict callback: check the bytes, free the object, note the order. */
static int test_evict(struct zbud_pool *pool, unsigned long handle)
{
	struct fixture *f = zbud_pool_priv(pool);
	struct evict_ctx *ctx = &f->ctx;
	int i = lookup(ctx, handle);

	assert_true(ctx->nr_evicted < 64);
	ctx->evicted[ctx->nr_evicted++] = handle;
	if (ctx->alloc_in_evict) {
		assert_int_equal(zbud_alloc(pool, 500, &ctx->allocated), 0);
		ctx->alloc_in_evict = false;
	}
	assert_true(i >= 0); /* only live objects may be offered */
	assert_true(tu_holds(zbud_map(pool, handle), ctx->sizes[i], ctx->seeds[i][1]));
	zbud_unmap(pool, handle);
	if (handle == ctx->refuse)
		return -EBUSY;
	if (ctx->also_free && ctx->also_free != handle) {
		forget(ctx, ctx->also_free);
		zbud_free(pool, ctx->also_free);
		ctx->also_free = 0;
	}
	forget(ctx, handle);
	zbud_free(pool, handle);
	return 0;
}

static const struct zbud_ops test_ops = { .evict = test_evict };

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->pages_before = tu_pages_in_use();
	f->pool = zbud_create_pool_priv(&test_ops, f);
	if (!f->pool)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct zbud_stats st;

	zpage_fail_reset();
	zbud_get_stats(f->pool, &st);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.pages, 0);
	assert_int_equal(st.lru_len, 0);
	assert_int_equal(st.chunks_used, 0);
	assert_int_equal(st.bytes_requested, 0);
	assert_int_equal(st.mapped_now, 0);
	zbud_destroy_pool(f->pool);
	assert_int_equal(tu_pages_in_use(), f->pages_before);
	free(f);
	return 0;
}

static void expect_lists(struct zbud_pool *pool, unsigned long pages, unsigned long buddied,
			 const int *unbuddied_free /* -1 ends */)
{
	struct zbud_stats st;
	unsigned long want[ZBUD_NCHUNKS + 1] = { 0 }, total = 0;

	for (int i = 0; unbuddied_free[i] >= 0; i++, total++)
		want[unbuddied_free[i]]++;
	zbud_get_stats(pool, &st);
	assert_int_equal(st.pages, pages);
	assert_int_equal(st.buddied, buddied);
	assert_int_equal(st.unbuddied_total, total);
	assert_int_equal(st.lru_len, pages);
	assert_int_equal(zbud_get_pool_size(pool), pages);
	for (int i = 0; i <= ZBUD_NCHUNKS; i++) {
		if (st.unbuddied[i] != want[i])
			fail_msg("unbuddied[%d] = %lu, want %lu", i, st.unbuddied[i], want[i]);
	}
}

#define LISTS(...) ((const int[]){ __VA_ARGS__, -1 })
#define NO_LISTS ((const int[]){ -1 })

static void test_create_destroy(void **state)
{
	struct zbud_pool *a = zbud_create_pool(NULL), *b = zbud_create_pool(&test_ops);
	struct zbud_stats st;
	unsigned long h;

	assert_non_null(a);
	assert_non_null(b);
	assert_true(zbud_pool_id(a) > 0);
	assert_true(zbud_pool_id(a) != zbud_pool_id(b));
	assert_null(zbud_pool_priv(a));
	assert_int_equal(zbud_get_pool_size(a), 0);
	zbud_get_stats(a, &st);
	assert_int_equal(st.pages + st.objects + st.lru_len + st.unbuddied_total, 0);
	/* Destroying a pool that still holds objects gives every page back. */
	assert_int_equal(zbud_alloc(a, 2000, &h), 0);
	assert_int_equal(zbud_alloc(a, 3000, &h), 0);
	assert_int_equal(zbud_get_pool_size(a), 2);
	zbud_destroy_pool(a);
	zbud_destroy_pool(b);
	zbud_destroy_pool(NULL);
}

static void test_bad_sizes(void **state)
{
	struct fixture *f = *state;
	unsigned long h = 12345;
	struct zbud_stats st;

	assert_int_equal(zbud_alloc(f->pool, 0, &h), -EINVAL);
	assert_int_equal(zbud_alloc(f->pool, ZBUD_MAX_ALLOC_SIZE + 1, &h), -ENOSPC);
	assert_int_equal(zbud_alloc(f->pool, 3969, &h), -ENOSPC);
	assert_int_equal(zbud_alloc(f->pool, 4096, &h), -ENOSPC);
	assert_int_equal(zbud_alloc(f->pool, (size_t)-1, &h), -ENOSPC);
	assert_int_equal(h, 12345); /* untouched on failure */
	zbud_get_stats(f->pool, &st);
	assert_int_equal(st.alloc_fails, 5);
	assert_int_equal(st.pages, 0);
	/* The largest size works and fills the first 62 chunks. */
	h = put(f, 3968, 1);
	assert_int_equal(h - page_of(h), 64);
	drop(f, h);
}

static void test_handle_placement(void **state)
{
	struct fixture *f = *state;
	unsigned long a, b, c, d;
	struct zbud_stats st;

	/* First buddy right after the 64-byte header. */
	a = put(f, 100, 1);
	assert_int_equal(a % PAGE, 64);
	/* Last buddy ends at the page's end: 200 bytes = 4 chunks. */
	b = put(f, 200, 2);
	assert_int_equal(page_of(b), page_of(a));
	assert_int_equal(b, page_of(a) + PAGE - 4 * CHUNK);
	zbud_get_stats(f->pool, &st);
	assert_int_equal(st.objects, 2);
	assert_int_equal(st.chunks_used, 2 + 4);
	assert_int_equal(st.bytes_requested, 300);

	/* The two extremes touch without overlapping: 62 chunks + 1 chunk. */
	c = put(f, 3968, 3);
	assert_int_equal(c % PAGE, 64);
	d = put(f, 64, 4);
	assert_int_equal(page_of(d), page_of(c));
	assert_int_equal(d, page_of(c) + PAGE - 64);
	assert_int_equal(c + 3968, d);
	/* Rewriting each whole object leaves the other intact (and the header: frees work). */
	tu_fill(zbud_map(f->pool, c), 3968, 3);
	zbud_unmap(f->pool, c);
	tu_fill(zbud_map(f->pool, d), 64, 4);
	zbud_unmap(f->pool, d);
	drop(f, c);
	drop(f, d);
	drop(f, b);
	drop(f, a);
}

/*
 * The walk-through of zbud_alloc(): a new page starts on unbuddied[63 - n],
 * a second object that fits makes it buddied, frees move it back, the last
 * free returns the page. Checked after every step.
 */
static void test_walkthrough_lists(void **state)
{
	struct fixture *f = *state;
	unsigned long a, b, c, d, e;

	expect_lists(f->pool, 0, 0, NO_LISTS);
	a = put(f, 100, 1);		/* 2 chunks: new page, first buddy */
	expect_lists(f->pool, 1, 0, LISTS(61));
	b = put(f, 1000, 2);		/* 16 chunks: fits the 61 free, last buddy */
	assert_int_equal(page_of(b), page_of(a));
	assert_int_equal(b, page_of(a) + PAGE - 16 * CHUNK);
	expect_lists(f->pool, 1, 1, NO_LISTS);
	c = put(f, 3000, 3);		/* 47 chunks: no unbuddied page, new page */
	assert_true(page_of(c) != page_of(a));
	expect_lists(f->pool, 2, 1, LISTS(16));
	zbud_free(f->pool, a), forget(&f->ctx, a); /* page 1 keeps 16 chunks: 47 free */
	expect_lists(f->pool, 2, 0, LISTS(16, 47));
	d = put(f, 47 * 64, 4);		/* needs 47: the smallest list that fits is 47 */
	assert_int_equal(d, page_of(b) + 64);	/* the first slot, freed by a */
	expect_lists(f->pool, 2, 1, LISTS(16));
	e = put(f, 65, 5);		/* 2 chunks: unbuddied[16] (page 2), last buddy */
	assert_int_equal(e, page_of(c) + PAGE - 2 * CHUNK);
	expect_lists(f->pool, 2, 2, NO_LISTS);
	drop(f, b);			/* page 1: d alone, 16 free */
	expect_lists(f->pool, 2, 1, LISTS(16));
	drop(f, c);			/* page 2: e alone, 61 free */
	expect_lists(f->pool, 2, 0, LISTS(16, 61));
	drop(f, e);			/* page 2 empty: back to the provider */
	expect_lists(f->pool, 1, 0, LISTS(16));
	drop(f, d);
	expect_lists(f->pool, 0, 0, NO_LISTS);
}

/* Build a page whose single first buddy leaves @free chunks. */
static unsigned long page_with_free(struct fixture *f, int free, unsigned long seed)
{
	return put(f, (size_t)(ZBUD_NCHUNKS - free) * CHUNK, seed);
}

static void test_unbuddied_choice(void **state)
{
	struct fixture *f = *state;
	unsigned long p10, p20a, p20b, p30, h1, h2, h3, h4;

	p10 = page_with_free(f, 10, 1);
	p20a = page_with_free(f, 20, 2);
	p30 = page_with_free(f, 30, 3);
	p20b = page_with_free(f, 20, 4);
	expect_lists(f->pool, 4, 0, LISTS(10, 20, 20, 30));

	/* 15 chunks: unbuddied[10] is too small; [20] is the smallest that fits, and of
	 * its two pages the head (the one put there last) is taken. */
	h1 = put(f, 15 * CHUNK, 5);
	assert_int_equal(page_of(h1), page_of(p20b));
	assert_int_equal(h1, page_of(p20b) + PAGE - 15 * CHUNK);
	h2 = put(f, 15 * CHUNK - 63, 6); /* rounds up to 15 chunks too */
	assert_int_equal(page_of(h2), page_of(p20a));
	/* 21 chunks: only unbuddied[30] fits. */
	h3 = put(f, 21 * CHUNK, 7);
	assert_int_equal(page_of(h3), page_of(p30));
	/* 11 chunks: nothing left fits (only unbuddied[10]); a new page. */
	h4 = put(f, 11 * CHUNK, 8);
	assert_true(page_of(h4) != page_of(p10));
	assert_int_equal(h4 % PAGE, 64);
	expect_lists(f->pool, 5, 3, LISTS(10, 52));
	/* An exact fit: 10 chunks into unbuddied[10]. */
	h1 = put(f, 10 * CHUNK, 9);
	assert_int_equal(h1, page_of(p10) + PAGE - 10 * CHUNK);
	expect_lists(f->pool, 5, 4, LISTS(52));
	while (f->ctx.nr_seeds)
		drop(f, f->ctx.seeds[0][0]);
}

static void test_map_unmap(void **state)
{
	struct fixture *f = *state;
	struct zbud_stats st;
	unsigned long h = put(f, 500, 1);
	void *p1, *p2;

	zbud_get_stats(f->pool, &st);
	assert_int_equal(st.maps, 1);
	/* Several mappings may be held at once; the address is the handle. */
	p1 = zbud_map(f->pool, h);
	p2 = zbud_map(f->pool, h);
	assert_ptr_equal(p1, p2);
	assert_ptr_equal(p1, (void *)h);
	zbud_get_stats(f->pool, &st);
	assert_int_equal(st.mapped_now, 2);
	assert_int_equal(st.maps, 3);
	zbud_unmap(f->pool, h);
	zbud_unmap(f->pool, h);
	zbud_get_stats(f->pool, &st);
	assert_int_equal(st.mapped_now, 0);
	drop(f, h);
}

/* LRU: the page allocated from most recently is first; reclaim starts at the tail. */
static void test_lru_reclaim_order(void **state)
{
	struct fixture *f = *state;
	struct zbud_stats st;
	unsigned long a1, b1, c1, c2, b2;

	a1 = put(f, 2000, 1);	/* page A */
	b1 = put(f, 2000, 2);	/* page B (A has 31 free, 2000 needs 32) */
	c1 = put(f, 2000, 3);	/* page C */
	assert_true(page_of(a1) != page_of(b1) && page_of(b1) != page_of(c1));
	c2 = put(f, 1000, 4);	/* fits A, B or C: the head of unbuddied[31] is C */
	assert_int_equal(page_of(c2), page_of(c1));
	b2 = put(f, 1000, 5);	/* then B */
	assert_int_equal(page_of(b2), page_of(b1));
	/* LRU now, head to tail: B, C, A. */
	assert_int_equal(zbud_reclaim_page(f->pool, 1), 0);
	assert_int_equal(f->ctx.nr_evicted, 1);
	assert_int_equal(f->ctx.evicted[0], a1);
	assert_int_equal(zbud_reclaim_page(f->pool, 1), 0);
	assert_int_equal(f->ctx.nr_evicted, 3);
	assert_int_equal(f->ctx.evicted[1], c1);	/* first buddy first */
	assert_int_equal(f->ctx.evicted[2], c2);	/* then the last */
	zbud_get_stats(f->pool, &st);
	assert_int_equal(st.pages, 1);
	assert_int_equal(st.reclaimed_pages, 2);
	assert_int_equal(st.objects, 2);
	assert_int_equal(zbud_reclaim_page(f->pool, 1), 0);
	assert_int_equal(f->ctx.evicted[3], b1);
	assert_int_equal(f->ctx.evicted[4], b2);
	assert_int_equal(zbud_get_pool_size(f->pool), 0);
	/* Nothing left: -EINVAL, as for a pool without pages. */
	assert_int_equal(zbud_reclaim_page(f->pool, 8), -EINVAL);
}

static void test_reclaim_refused(void **state)
{
	struct fixture *f = *state;
	unsigned long a1, a2, b1;

	a1 = put(f, 2000, 1);
	a2 = put(f, 1500, 2);	/* page A full */
	b1 = put(f, 2000, 3);	/* page B: LRU head B, tail A */
	assert_int_equal(page_of(a1), page_of(a2));

	/* Refusing A's first buddy: its last is not even asked; A goes to the head. */
	f->ctx.refuse = a1;
	assert_int_equal(zbud_reclaim_page(f->pool, 1), -EAGAIN);
	assert_int_equal(f->ctx.nr_evicted, 1);
	assert_int_equal(f->ctx.evicted[0], a1);
	expect_lists(f->pool, 2, 1, LISTS(31));
	/* The next try starts at B, the new tail, and succeeds. */
	assert_int_equal(zbud_reclaim_page(f->pool, 1), 0);
	assert_int_equal(f->ctx.evicted[1], b1);
	/* Refusing the last buddy after the first was evicted keeps the page with one object. */
	f->ctx.refuse = a2;
	assert_int_equal(zbud_reclaim_page(f->pool, 3), -EAGAIN);
	expect_lists(f->pool, 1, 0, LISTS(63 - 24));
	assert_int_equal(lookup(&f->ctx, a1), -1);
	assert_true(lookup(&f->ctx, a2) >= 0);
	/* Zero retries tries nothing. */
	assert_int_equal(zbud_reclaim_page(f->pool, 0), -EAGAIN);
	f->ctx.refuse = 0;
	drop(f, a2);
}

/* An owner freeing the other buddy while its page is under reclaim. */
static void test_free_during_reclaim(void **state)
{
	struct fixture *f = *state;
	unsigned long a1, a2, h;
	struct zpage_stats before, after;

	a1 = put(f, 1000, 1);
	a2 = put(f, 1000, 2);
	f->ctx.also_free = a2;
	zpage_get_stats(&before);
	assert_int_equal(zbud_reclaim_page(f->pool, 1), 0);
	zpage_get_stats(&after);
	/* a2 was freed inside evict(a1): it is not offered again, the page is freed once. */
	assert_int_equal(f->ctx.nr_evicted, 1);
	assert_int_equal(f->ctx.evicted[0], a1);
	assert_int_equal(after.frees - before.frees, 1);
	expect_lists(f->pool, 0, 0, NO_LISTS);

	/* evict() allocating from the same pool never lands on the page being reclaimed. */
	a1 = put(f, 3000, 3);
	f->ctx.also_free = 0;
	f->ctx.alloc_in_evict = true;
	f->ctx.refuse = a1;
	assert_int_equal(zbud_reclaim_page(f->pool, 1), -EAGAIN);
	assert_true(page_of(f->ctx.allocated) != page_of(a1));
	assert_int_equal(zbud_get_pool_size(f->pool), 2);
	zbud_free(f->pool, f->ctx.allocated);
	/* The refused page is back on unbuddied[16] and at the LRU head. */
	assert_int_equal(zbud_reclaim_page(f->pool, 1), -EAGAIN);
	assert_int_equal(zbud_alloc(f->pool, 500, &h), 0);
	assert_int_equal(page_of(h), page_of(a1)); /* back on unbuddied after the refusal */
	zbud_free(f->pool, h);
	f->ctx.refuse = 0;
	drop(f, a1);
}

static void test_reclaim_without_callback(void **state)
{
	static const struct zbud_ops no_evict = { .evict = NULL };
	struct zbud_pool *p1 = zbud_create_pool(NULL), *p2 = zbud_create_pool(&no_evict);
	unsigned long h1, h2;
	struct fixture *f = *state;

	assert_int_equal(zbud_alloc(p1, 100, &h1), 0);
	assert_int_equal(zbud_alloc(p2, 100, &h2), 0);
	assert_int_equal(zbud_reclaim_page(p1, 8), -EINVAL);
	assert_int_equal(zbud_reclaim_page(p2, 8), -EINVAL);
	/* Nothing was touched: both objects are still there. */
	assert_int_equal(zbud_get_pool_size(p1), 1);
	assert_int_equal(zbud_get_pool_size(p2), 1);
	zbud_free(p1, h1);
	zbud_free(p2, h2);
	zbud_destroy_pool(p1);
	zbud_destroy_pool(p2);
	/* With a callback but no pages. */
	assert_int_equal(zbud_reclaim_page(f->pool, 8), -EINVAL);
}

static void test_page_failure(void **state)
{
	struct fixture *f = *state;
	struct zbud_stats before, after;
	unsigned long a, b, h = 777;
	int ok = 0, nomem = 0;

	a = put(f, 3000, 1);
	b = put(f, 2000, 2);
	zbud_get_stats(f->pool, &before);
	/* The next page allocation fails: a size that needs a page gets -ENOMEM. */
	zpage_fail_nth(1);
	assert_int_equal(zbud_alloc(f->pool, 3000, &h), -ENOMEM);
	assert_int_equal(h, 777);
	zbud_get_stats(f->pool, &after);
	assert_int_equal(after.pages, before.pages);
	assert_int_equal(after.objects, before.objects);
	assert_int_equal(after.buddied, before.buddied);
	assert_int_equal(after.unbuddied_total, before.unbuddied_total);
	assert_int_equal(after.chunks_used, before.chunks_used);
	assert_int_equal(after.alloc_fails, before.alloc_fails + 1);
	assert_memory_equal(after.unbuddied, before.unbuddied, sizeof(before.unbuddied));
	/* A size that fits an existing page needs no page, even with a failure pending. */
	zpage_fail_nth(1);
	assert_int_equal(zbud_alloc(f->pool, 900, &h), 0);
	assert_int_equal(page_of(h), page_of(a));
	zbud_free(f->pool, h);
	zpage_fail_reset();
	/* Stored data is intact. */
	drop(f, a);
	drop(f, b);

	/* Every second page allocation fails: whatever succeeded holds its bytes. */
	zpage_fail_every(2);

	for (int i = 0; i < 40; i++) {
		int ret = zbud_alloc(f->pool, 2100, &h);

		if (ret == 0) {
			tu_fill(zbud_map(f->pool, h), 2100, 100 + i);
			zbud_unmap(f->pool, h);
			remember(&f->ctx, h, 100 + i, 2100);
			ok++;
		} else {
			assert_int_equal(ret, -ENOMEM);
			nomem++;
		}
	}
	zpage_fail_reset();
	assert_int_equal(ok, 20);
	assert_int_equal(nomem, 20);
	assert_int_equal(zbud_get_pool_size(f->pool), 20);
	while (f->ctx.nr_seeds)
		drop(f, f->ctx.seeds[0][0]);
}

static void test_bad_free(void **state)
{
#ifdef ZPOOL_DEBUG
	struct fixture *f = *state;
	struct zbud_stats st;
	unsigned long a, b;

	a = put(f, 100, 1);
	b = put(f, 100, 2);
	drop(f, a);
	zbud_free(f->pool, a);			/* double free of a first buddy */
	zbud_free(f->pool, b + 64);		/* not the start of any object */
	zbud_get_stats(f->pool, &st);
	assert_int_equal(st.bad_frees, 2);
	assert_int_equal(st.objects, 1);
	drop(f, b);				/* the page goes back to the provider */
	zbud_free(f->pool, b);			/* into a page the pool no longer owns */
	zbud_get_stats(f->pool, &st);
	assert_int_equal(st.bad_frees, 3);
	assert_int_equal(st.pages, 0);
#else
	skip();
#endif
}

/*
 * With tracers "attached" (semaphores raised by hand), map and unmap read the
 * chunk-rounded size for the probes and time the call; nothing else changes.
 */
static void test_traced_map(void **state)
{
#ifndef ZPOOL_NO_PROBES
	struct fixture *f = *state;
	unsigned long a = put(f, 100, 1), b = put(f, 1000, 2);

	zpool_map_entry_semaphore = zpool_map_return_semaphore = 1;
	zpool_unmap_entry_semaphore = zpool_unmap_return_semaphore = 1;
	for (int i = 0; i < 3; i++) {
		assert_true(tu_holds(zbud_map(f->pool, a), 100, 1));
		/* The return probe consumed the start its entry probe took. */
		assert_int_equal(zpool_trace_start, 0);
		zbud_unmap(f->pool, a);
		assert_true(tu_holds(zbud_map(f->pool, b), 1000, 2));
		zbud_unmap(f->pool, b);
		assert_int_equal(zpool_trace_start, 0);
	}
	zpool_map_entry_semaphore = zpool_map_return_semaphore = 0;
	zpool_unmap_entry_semaphore = zpool_unmap_return_semaphore = 0;
	drop(f, a);
	drop(f, b);
#else
	skip();
#endif
}

/*
 * Random allocations and frees against a model of the invariants: every
 * object keeps its bytes, lists and counters add up after every step.
 */
static void test_random_invariants(void **state)
{
	struct fixture *f = *state;
	enum { SLOTS = 512 };
	static unsigned long handle[SLOTS], seeds[SLOTS];
	static size_t size[SLOTS];
	unsigned long chunks = 0, objects = 0, bytes = 0;
	int steps = tu_scaled(30000);
	unsigned int seed = 12345;

	memset(handle, 0, sizeof(handle));
	for (int i = 0; i < steps; i++) {
		int s = rand_r(&seed) % SLOTS;
		struct zbud_stats st;

		if (handle[s]) {
			assert_true(tu_holds(zbud_map(f->pool, handle[s]), size[s], seeds[s]));
			zbud_unmap(f->pool, handle[s]);
			zbud_free(f->pool, handle[s]);
			chunks -= (size[s] + 63) / 64, bytes -= size[s], objects--;
			handle[s] = 0;
		} else {
			/* Mostly compressed-page sizes, some tiny, some the largest. */
			size[s] = 1 + (size_t)rand_r(&seed) % ZBUD_MAX_ALLOC_SIZE;
			if (i % 17 == 0)
				size[s] = i % 34 ? 1 : ZBUD_MAX_ALLOC_SIZE;
			seeds[s] = (unsigned long)i;
			assert_int_equal(zbud_alloc(f->pool, size[s], &handle[s]), 0);
			tu_fill(zbud_map(f->pool, handle[s]), size[s], seeds[s]);
			zbud_unmap(f->pool, handle[s]);
			chunks += (size[s] + 63) / 64, bytes += size[s], objects++;
		}
		zbud_get_stats(f->pool, &st);
		assert_int_equal(st.objects, objects);
		assert_int_equal(st.chunks_used, chunks);
		assert_int_equal(st.bytes_requested, bytes);
		assert_int_equal(st.pages, st.buddied + st.unbuddied_total);
		assert_int_equal(st.lru_len, st.pages);
		assert_int_equal(st.objects, 2 * st.buddied + st.unbuddied_total);
		assert_int_equal(st.unbuddied[0], 0);
		assert_true(st.chunks_used <= st.pages * ZBUD_NCHUNKS);
	}
	for (int s = 0; s < SLOTS; s++) {
		if (!handle[s])
			continue;
		assert_true(tu_holds(zbud_map(f->pool, handle[s]), size[s], seeds[s]));
		zbud_unmap(f->pool, handle[s]);
		zbud_free(f->pool, handle[s]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handle_placement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walkthrough_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unbuddied_choice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_unmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lru_reclaim_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_during_reclaim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_without_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_traced_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_invariants, setup, teardown),
	};

	return cmocka_run_group_tests_name("zbud", tests, NULL, NULL);
}
