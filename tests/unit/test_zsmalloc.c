// SPDX-License-Identifier: MIT
/*
 * zsmalloc: every API call, the class table against an independent
 * computation of the kernel's, straddling objects in every class, refused
 * sizes, page-allocation failures (the pool unchanged, every object still
 * readable), statistics and fullness groups, compaction (pages really freed,
 * mapped zspages left alone) and, in DEBUG=1 builds, the handle checks.
 *
 * Each test gets a fresh pool; teardown frees what is left, asserts that no
 * object is in use and that the page provider is back where it started.
 * Knobs: ZPOOL_TEST_SEED=n replays the random parts (the seed is printed),
 * ZPOOL_TEST_QUICK=1 cuts iteration counts by ten.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "zpage.h"
#include "zsmalloc.h"
#include "lib_testutil.h"

#define PAGE 4096
#define HDR sizeof(unsigned long)

/* ------------------------------------------------------------------ helpers */
static void write_obj(struct zs_pool *pool, unsigned long h, size_t len, uint64_t tag)
{
	void *p = zs_map_object(pool, h, ZS_MM_WO);

	assert_non_null(p);
	tu_fill(p, len, tag);
	zs_unmap_object(pool, h);
}

static void check_obj(struct zs_pool *pool, unsigned long h, size_t len, uint64_t tag)
{
	void *p = zs_map_object(pool, h, ZS_MM_RO);

	assert_non_null(p);
	assert_true(tu_holds(p, len, tag));
	zs_unmap_object(pool, h);
}

/* ------------------------------------------------------------------ fixture */
struct fix {
	struct zs_pool *pool;
	unsigned long pages_before;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	zpage_fail_reset();
	f->pages_before = tu_pages_in_use();
	f->pool = zs_create_pool("test");
	if (!f->pool)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	struct zs_pool_stats st;

	zpage_fail_reset();
	zs_pool_stats(f->pool, &st);
	assert_int_equal(st.obj_used, 0);
	assert_int_equal(st.mapped_now, 0);
	assert_int_equal(st.bytes_requested, 0);
	assert_int_equal(st.pages_used, 0);
	assert_int_equal(st.zspages, 0);
	zs_destroy_pool(f->pool);
	assert_int_equal(tu_pages_in_use(), f->pages_before);
	free(f);
	return 0;
}

static struct zs_pool *pool_of(void **state)
{
	return ((struct fix *)*state)->pool;
}

/* ------------------------------------------------------------------ the kernel's class table */
struct ref_class {
	unsigned int size, ppz, opz;
};

/*
 * Linux 6.3+ calculate_zspage_chain_size() with CONFIG_ZSMALLOC_CHAIN_SIZE=8:
 * power-of-two sizes take one page; otherwise the k whose (k * PAGE) % size
 * is least, the smallest such k.
 */
static unsigned int ref_chain(unsigned int size)
{
	unsigned int waste[9], best = 1;

	if ((size & (size - 1)) == 0)
		return 1;
	for (unsigned int k = 1; k <= 8; k++)
		waste[k] = k * PAGE % size;
	for (unsigned int k = 2; k <= 8; k++)
		if (waste[k] < waste[best])
			best = k;
	return best;
}

/* raw[i]: class i unmerged; merged[i]: the class a request of class i uses. */
static void ref_table(struct ref_class raw[ZS_SIZE_CLASSES],
		      struct ref_class merged[ZS_SIZE_CLASSES], size_t *huge_class_size)
{
	unsigned int largest_multi = 0;

	for (int i = 0; i < ZS_SIZE_CLASSES; i++) {
		raw[i].size = 32 + 16 * i;
		raw[i].ppz = ref_chain(raw[i].size);
		raw[i].opz = raw[i].ppz * PAGE / raw[i].size;
		if (raw[i].ppz > 1 && raw[i].opz > 1)
			largest_multi = raw[i].size;
	}
	/* A class merges upward through every larger class of the same shape. */
	for (int i = 0; i < ZS_SIZE_CLASSES; i++) {
		int j = i;

		while (j + 1 < ZS_SIZE_CLASSES && raw[j + 1].ppz == raw[i].ppz &&
		       raw[j + 1].opz == raw[i].opz)
			j++;
		merged[i] = raw[j];
	}
	*huge_class_size = largest_multi - (HDR - 1);
}

static int ref_index(size_t size)
{
	if (size <= 32)
		return 0;
	size = (size - 32 + 15) / 16;
	return size > ZS_SIZE_CLASSES - 1 ? ZS_SIZE_CLASSES - 1 : (int)size;
}

static void test_class_table(void **state)
{
	static struct ref_class raw[ZS_SIZE_CLASSES], merged[ZS_SIZE_CLASSES];
	static struct zs_pool_snapshot snap;
	struct zs_pool *pool = pool_of(state);
	struct zs_class_stats cs;
	unsigned int distinct = 0;
	size_t huge;

	ref_table(raw, merged, &huge);
	assert_int_equal(zs_huge_class_size(pool), huge);
	print_message("huge_class_size %zu\n", huge);

	/* Every request size, 1..4096: the class of size + handle header. */
	for (size_t size = 1; size <= ZS_MAX_ALLOC_SIZE; size++) {
		const struct ref_class *want = &merged[ref_index(size + HDR)];

		assert_int_equal(zs_lookup_class(pool, size, &cs), 0);
		assert_int_equal(cs.size, want->size);
		assert_int_equal(cs.pages_per_zspage, want->ppz);
		assert_int_equal(cs.objs_per_zspage, want->opz);
		assert_int_equal(cs.huge, want->ppz == 1 && want->opz == 1);
		assert_int_equal(cs.index, (cs.size - 32) / 16);
		assert_int_equal(cs.obj_allocated, 0);
		/* zs_huge_class_size() is exactly where huge objects begin. */
		assert_int_equal(size >= huge, cs.huge);
	}

	/* The snapshot lists each distinct class once, in order. */
	zs_pool_snapshot(pool, &snap);
	for (int i = 0; i < ZS_SIZE_CLASSES; i++) {
		if (merged[i].size != raw[i].size)
			continue;
		assert_true(distinct < snap.nr_classes);
		assert_int_equal(snap.class[distinct].index, i);
		assert_int_equal(snap.class[distinct].size, raw[i].size);
		assert_int_equal(snap.class[distinct].pages_per_zspage, raw[i].ppz);
		assert_int_equal(snap.class[distinct].objs_per_zspage, raw[i].opz);
		distinct++;
	}
	assert_int_equal(snap.nr_classes, distinct);
	print_message("%u distinct classes of %d\n", distinct, ZS_SIZE_CLASSES);
	/* Facts that do not depend on the reference code above. */
	assert_int_equal(snap.class[0].size, 32);
	assert_int_equal(snap.class[snap.nr_classes - 1].size, 4096);
	assert_true(snap.class[snap.nr_classes - 1].huge);
	assert_int_equal(zs_lookup_class(pool, 0, &cs), -EINVAL);
	assert_int_equal(zs_lookup_class(pool, ZS_MAX_ALLOC_SIZE + 1, &cs), -EINVAL);
}

/* ------------------------------------------------------------------ basic API */
static void test_basic_api(void **state)
{
	struct zs_pool *pool = pool_of(state);
	struct zs_pool *other = zs_create_pool("other");
	struct zs_pool_stats st;
	unsigned long h;
	char *p;

	assert_non_null(other);
	assert_string_equal(zs_pool_name(pool), "test");
	assert_string_equal(zs_pool_name(other), "other");
	assert_int_not_equal(zs_pool_id(pool), zs_pool_id(other));
	assert_true(zs_pool_id(pool) != 0);
	zs_destroy_pool(other);
	zs_destroy_pool(NULL);

	errno = 0;
	assert_null(zs_create_pool(NULL));
	assert_int_equal(errno, EINVAL);

	h = zs_malloc(pool, 700, 0);
	assert_int_not_equal(h, 0);
	assert_true(zs_get_total_pages(pool) > 0);
	p = zs_map_object(pool, h, ZS_MM_WO);
	assert_non_null(p);
	memset(p, 0xab, 700);
	zs_pool_stats(pool, &st);
	assert_int_equal(st.mapped_now, 1);
	zs_unmap_object(pool, h);
	p = zs_map_object(pool, h, ZS_MM_RW);
	for (int i = 0; i < 700; i++)
		assert_int_equal((unsigned char)p[i], 0xab);
	p[699] = 1;
	zs_unmap_object(pool, h);
	p = zs_map_object(pool, h, ZS_MM_RO);
	assert_int_equal(p[699], 1);
	zs_unmap_object(pool, h);

	zs_pool_stats(pool, &st);
	assert_int_equal(st.obj_used, 1);
	assert_int_equal(st.bytes_requested, 700);
	assert_int_equal(st.maps, 3);
	assert_int_equal(st.unmaps, 3);
	assert_int_equal(st.mapped_now, 0);
	assert_int_equal(st.zspages, 1);
	assert_int_equal(st.pages_used, zs_get_total_pages(pool));
	assert_true(st.pages_max >= st.pages_used);
	assert_int_equal(st.alloc_fails, 0);
	assert_int_equal(st.handle_errors, 0);

	zs_free(pool, h);
	zs_free(pool, 0); /* ignored */
	assert_int_equal(zs_get_total_pages(pool), 0);
	zs_pool_stats(pool, &st);
	assert_true(st.pages_max > 0);
	assert_int_equal(zs_compact(pool), 0);
	zs_pool_stats(pool, &st);
	assert_int_equal(st.compactions, 1);
}

static void test_bad_sizes(void **state)
{
	struct zs_pool *pool = pool_of(state);
	struct zs_pool_stats st;
	unsigned long h;

	errno = 0;
	assert_int_equal(zs_malloc(pool, 0, 0), 0);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(zs_malloc(pool, ZS_MAX_ALLOC_SIZE + 1, 0), 0);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(zs_malloc(pool, (size_t)-1, 0), 0);
	assert_int_equal(errno, EINVAL);
	zs_pool_stats(pool, &st);
	assert_int_equal(st.obj_used, 0);
	assert_int_equal(st.pages_used, 0);

	/* The limits themselves are fine. */
	h = zs_malloc(pool, 1, 0);
	assert_int_not_equal(h, 0);
	write_obj(pool, h, 1, 1);
	check_obj(pool, h, 1, 1);
	zs_free(pool, h);
	h = zs_malloc(pool, ZS_MAX_ALLOC_SIZE, 0);
	assert_int_not_equal(h, 0);
	write_obj(pool, h, ZS_MAX_ALLOC_SIZE, 2);
	check_obj(pool, h, ZS_MAX_ALLOC_SIZE, 2);
	zs_free(pool, h);
}

/* ------------------------------------------------------------------ straddling objects */

/* Is object @idx of a fresh zspage of this class split over two pages? */
static bool ref_straddles(const struct zs_class_stats *c, unsigned int idx)
{
	return idx * c->size % PAGE + c->size > PAGE;
}

static void straddle_class(struct zs_pool *pool, const struct zs_class_stats *c,
			   unsigned long *h, unsigned int *nr_straddling)
{
	size_t len = c->huge ? c->size : c->size - HDR;	/* the whole slot */
	unsigned int n = c->objs_per_zspage;
	void *straddle_buf = NULL;

	/* A fresh class hands out a new zspage's objects in index order. */
	for (unsigned int i = 0; i < n; i++) {
		void *p;

		h[i] = zs_malloc(pool, len, 0);
		assert_int_not_equal(h[i], 0);
		p = zs_map_object(pool, h[i], ZS_MM_WO);
		assert_non_null(p);
		if (ref_straddles(c, i)) {
			/* Served from this thread's buffer, the same one every time. */
			if (straddle_buf)
				assert_ptr_equal(p, straddle_buf);
			straddle_buf = p;
			(*nr_straddling)++;
		} else {
			/* In place: the offset in the page is the object's own. */
			assert_int_equal(((uintptr_t)p - (c->huge ? 0 : HDR)) % PAGE,
					 i * c->size % PAGE);
		}
		tu_fill(p, len, c->index * 4096 + i);
		zs_unmap_object(pool, h[i]);
	}
	assert_int_equal(zs_get_total_pages(pool), c->pages_per_zspage);

	/* Every object, its neighbours written after it, still reads back: RO, RW, RO. */
	for (unsigned int i = 0; i < n; i++) {
		unsigned char *p = zs_map_object(pool, h[i], ZS_MM_RO);

		assert_true(tu_holds(p, len, c->index * 4096 + i));
		zs_unmap_object(pool, h[i]);
		p = zs_map_object(pool, h[i], ZS_MM_RW);
		assert_true(tu_holds(p, len, c->index * 4096 + i));
		p[0] ^= 0xff;
		p[len - 1] ^= 0xff;
		zs_unmap_object(pool, h[i]);
	}
	for (unsigned int i = 0; i < n; i++) {
		unsigned char *p = zs_map_object(pool, h[i], ZS_MM_RO);

		assert_int_equal(p[0], tu_pattern(c->index * 4096 + i, 0) ^ 0xff);
		assert_int_equal(p[len - 1], tu_pattern(c->index * 4096 + i, len - 1) ^ 0xff);
		for (size_t b = 1; b + 1 < len; b++)
			assert_int_equal(p[b], tu_pattern(c->index * 4096 + i, b));
		zs_unmap_object(pool, h[i]);
	}
	for (unsigned int i = 0; i < n; i++)
		zs_free(pool, h[i]);
	assert_int_equal(zs_get_total_pages(pool), 0);
}

static void test_straddle_every_class(void **state)
{
	static struct zs_pool_snapshot snap;
	struct zs_pool *pool = pool_of(state);
	unsigned long *h = calloc(ZS_MAX_PAGES_PER_ZSPAGE * PAGE / 32, sizeof(*h));
	unsigned int straddling = 0, classes_with = 0;

	assert_non_null(h);
	zs_pool_snapshot(pool, &snap);
	for (unsigned int r = 0; r < snap.nr_classes; r++) {
		unsigned int before = straddling;

		straddle_class(pool, &snap.class[r], h, &straddling);
		if (straddling > before)
			classes_with++;
	}
	print_message("%u straddling objects in %u of %u classes\n", straddling, classes_with,
		      snap.nr_classes);
	assert_true(straddling > 0);
	free(h);
}

static void test_two_straddling_mappings(void **state)
{
	struct zs_pool *pool = pool_of(state);
	struct zs_class_stats c;
	unsigned long h[32];
	void *p[2];
	unsigned int got = 0, s[3], len;

	/* A multi-page class whose fresh zspage has at least three straddlers. */
	assert_int_equal(zs_lookup_class(pool, 1392 - HDR, &c), 0);
	assert_true(c.objs_per_zspage <= 32);
	len = c.size - HDR;
	for (unsigned int i = 0; i < c.objs_per_zspage; i++) {
		h[i] = zs_malloc(pool, len, 0);
		write_obj(pool, h[i], len, 100 + i);
		if (ref_straddles(&c, i) && got < 3)
			s[got++] = i;
	}
	assert_int_equal(got, 3);
	p[0] = zs_map_object(pool, h[s[0]], ZS_MM_RW);
	p[1] = zs_map_object(pool, h[s[1]], ZS_MM_RO);
	assert_non_null(p[0]);
	assert_non_null(p[1]);
	assert_ptr_not_equal(p[0], p[1]);
	assert_true(tu_holds(p[0], len, 100 + s[0]));
	assert_true(tu_holds(p[1], len, 100 + s[1]));
	/* A third one at once is refused, not corrupted. */
	errno = 0;
	assert_null(zs_map_object(pool, h[s[2]], ZS_MM_RO));
	assert_int_equal(errno, EBUSY);
	/* Non-straddling mappings still work meanwhile. */
	check_obj(pool, h[0], len, 100);
	tu_fill(p[0], len, 999);
	zs_unmap_object(pool, h[s[1]]);
	zs_unmap_object(pool, h[s[0]]);
	check_obj(pool, h[s[0]], len, 999);
	check_obj(pool, h[s[1]], len, 100 + s[1]);
	check_obj(pool, h[s[2]], len, 100 + s[2]);
	for (unsigned int i = 0; i < c.objs_per_zspage; i++)
		zs_free(pool, h[i]);
}

/* ------------------------------------------------------------------ statistics */
static void check_snapshot(struct zs_pool *pool, unsigned long live, unsigned long bytes)
{
	static struct zs_pool_snapshot snap;
	unsigned long pages = 0, used = 0, allocated = 0, zspages = 0;

	zs_pool_snapshot(pool, &snap);
	for (unsigned int r = 0; r < snap.nr_classes; r++) {
		const struct zs_class_stats *c = &snap.class[r];
		unsigned long in_buckets = 0, n_zspages;

		for (int b = 0; b < ZS_NR_INUSE_BUCKETS; b++)
			in_buckets += c->inuse[b];
		n_zspages = c->obj_allocated / c->objs_per_zspage;
		assert_int_equal(c->obj_allocated % c->objs_per_zspage, 0);
		assert_int_equal(in_buckets, n_zspages);
		assert_int_equal(c->almost_empty + c->almost_full + c->full, n_zspages);
		assert_int_equal(c->full, c->inuse[ZS_NR_INUSE_BUCKETS - 1]);
		assert_int_equal(c->pages_used, n_zspages * c->pages_per_zspage);
		assert_true(c->obj_used <= c->obj_allocated);
		assert_int_equal(c->freeable, (c->obj_allocated - c->obj_used) /
						      c->objs_per_zspage * c->pages_per_zspage);
		pages += c->pages_used;
		used += c->obj_used;
		allocated += c->obj_allocated;
		zspages += n_zspages;
	}
	assert_int_equal(snap.pool.pages_used, pages);
	assert_int_equal(snap.pool.pages_used, zs_get_total_pages(pool));
	assert_int_equal(snap.pool.obj_used, used);
	assert_int_equal(snap.pool.obj_used, live);
	assert_int_equal(snap.pool.obj_allocated, allocated);
	assert_int_equal(snap.pool.zspages, zspages);
	assert_int_equal(snap.pool.bytes_requested, bytes);
	assert_true(snap.pool.pages_max >= snap.pool.pages_used);
}

static const struct zs_class_stats *row_of(const struct zs_pool_snapshot *snap, unsigned int size)
{
	for (unsigned int r = 0; r < snap->nr_classes; r++)
		if (snap->class[r].size == size)
			return &snap->class[r];
	return NULL;
}

static void test_fullness_groups(void **state)
{
	static struct zs_pool_snapshot snap;
	struct zs_pool *pool = pool_of(state);
	struct zs_class_stats c;
	unsigned long h[256];
	unsigned int n;

	/* A 1-page class with many objects: 64 bytes, 64 per zspage. */
	assert_int_equal(zs_lookup_class(pool, 64 - HDR, &c), 0);
	n = c.objs_per_zspage;
	assert_true(n <= 256);
	for (unsigned int k = 1; k <= n; k++) {
		const struct zs_class_stats *row;
		unsigned int pct = 100 * k / n, bucket;

		h[k - 1] = zs_malloc(pool, 64 - HDR, 0);
		assert_int_not_equal(h[k - 1], 0);
		zs_pool_snapshot(pool, &snap);
		row = row_of(&snap, c.size);
		assert_non_null(row);
		/* Kernel columns: (0,10] -> "10%", ..., (90,100) -> "99%", full -> "100%". */
		bucket = k == n ? 10 : pct / 10;
		for (int b = 0; b < ZS_NR_INUSE_BUCKETS; b++)
			assert_int_equal(row->inuse[b], b == (int)bucket);
		/* The seed's groups: almost_empty while k <= N/4. */
		assert_int_equal(row->full, k == n);
		assert_int_equal(row->almost_empty, k < n && k <= n / 4);
		assert_int_equal(row->almost_full, k < n && k > n / 4);
		assert_int_equal(row->obj_used, k);
		assert_int_equal(row->obj_allocated, n);
	}
	check_snapshot(pool, n, (64 - HDR) * n);
	for (unsigned int k = 0; k < n; k++)
		zs_free(pool, h[k]);
	check_snapshot(pool, 0, 0);
}

static void test_stats_consistent(void **state)
{
	struct zs_pool *pool = pool_of(state);
	uint64_t seed = tu_seed("stats");
	enum { N = 3000 };
	unsigned long *h = calloc(N, sizeof(*h));
	size_t *len = calloc(N, sizeof(*len));
	unsigned long live = 0, bytes = 0;
	struct zs_pool_stats st;

	assert_non_null(h);
	assert_non_null(len);
	for (int i = 0; i < N; i++) {
		len[i] = 1 + tu_rnd(&seed, ZS_MAX_ALLOC_SIZE);
		h[i] = zs_malloc(pool, len[i], 0);
		assert_int_not_equal(h[i], 0);
		live++;
		bytes += len[i];
		if (i % 500 == 0)
			check_snapshot(pool, live, bytes);
	}
	check_snapshot(pool, live, bytes);
	zs_pool_stats(pool, &st);
	assert_int_equal(st.obj_used, live);
	assert_int_equal(st.bytes_requested, bytes);
	for (int i = 0; i < N; i += 3) {
		zs_free(pool, h[i]);
		live--;
		bytes -= len[i];
		h[i] = 0;
	}
	check_snapshot(pool, live, bytes);
	for (int i = 0; i < N; i++)
		zs_free(pool, h[i]);
	check_snapshot(pool, 0, 0);
	free(h);
	free(len);
}

/* ------------------------------------------------------------------ compaction */
static void test_compaction_frees_pages(void **state)
{
	static struct zs_pool_snapshot snap;
	struct zs_pool *pool = pool_of(state);
	uint64_t seed = tu_seed("compaction");
	int n = tu_scaled(20000);
	unsigned long *h = calloc(n, sizeof(*h));
	size_t *len = calloc(n, sizeof(*len));
	unsigned long before, after, freed, freeable = 0, provider_before, bytes = 0, live = 0;
	struct zs_pool_stats st;

	assert_non_null(h);
	assert_non_null(len);
	for (int i = 0; i < n; i++) {
		len[i] = 1 + tu_rnd(&seed, 3000);
		h[i] = zs_malloc(pool, len[i], 0);
		assert_int_not_equal(h[i], 0);
		write_obj(pool, h[i], len[i], i);
	}
	/* Free a random half. */
	for (int i = 0; i < n; i++) {
		if (tu_rnd(&seed, 2)) {
			zs_free(pool, h[i]);
			h[i] = 0;
		} else {
			bytes += len[i];
			live++;
		}
	}
	zs_pool_snapshot(pool, &snap);
	for (unsigned int r = 0; r < snap.nr_classes; r++)
		freeable += snap.class[r].freeable;
	/* The lock-free estimate is exact when nothing else runs. */
	assert_int_equal(zs_pages_freeable(pool), freeable);
	before = zs_get_total_pages(pool);
	provider_before = tu_pages_in_use();
	freed = zs_compact(pool);
	after = zs_get_total_pages(pool);
	print_message("compaction: %lu pages -> %lu, freed %lu (freeable was %lu)\n", before,
		      after, freed, freeable);
	assert_true(freed > 0);
	assert_int_equal(before - after, freed);
	assert_int_equal(provider_before - tu_pages_in_use(), freed);
	/* With nothing mapped, compaction goes as far as the kernel's formula allows. */
	assert_int_equal(freed, freeable);
	zs_pool_snapshot(pool, &snap);
	for (unsigned int r = 0; r < snap.nr_classes; r++)
		assert_int_equal(snap.class[r].freeable, 0);
	assert_int_equal(zs_pages_freeable(pool), 0);
	zs_pool_stats(pool, &st);
	assert_int_equal(st.pages_compacted, freed);
	assert_int_equal(st.compactions, 1);
	check_snapshot(pool, live, bytes);
	/* Every handle still leads to its bytes. */
	for (int i = 0; i < n; i++)
		if (h[i])
			check_obj(pool, h[i], len[i], i);
	assert_int_equal(zs_compact(pool), 0);
	for (int i = 0; i < n; i++)
		zs_free(pool, h[i]);
	free(h);
	free(len);
}

static void test_compaction_skips_mapped(void **state)
{
	struct zs_pool *pool = pool_of(state);
	struct zs_class_stats c;
	unsigned long h[4 * 64];
	unsigned char *p;
	unsigned int n;

	/* Four 1-page zspages of 64-byte objects, then one object left in each. */
	assert_int_equal(zs_lookup_class(pool, 64 - HDR, &c), 0);
	n = c.objs_per_zspage;
	for (unsigned int i = 0; i < 4 * n; i++) {
		h[i] = zs_malloc(pool, 64 - HDR, 0);
		write_obj(pool, h[i], 64 - HDR, i);
	}
	for (unsigned int i = 0; i < 4 * n; i++)
		if (i % n != 0)
			zs_free(pool, h[i]);
	assert_int_equal(zs_get_total_pages(pool), 4);
	/* Map three of the four survivors: only one zspage can be moved. */
	p = zs_map_object(pool, h[0], ZS_MM_RW);
	assert_non_null(zs_map_object(pool, h[n], ZS_MM_RO));
	assert_non_null(zs_map_object(pool, h[2 * n], ZS_MM_RO));
	assert_int_equal(zs_compact(pool), 1);
	/* The mapped object did not move: writing through the old pointer sticks. */
	assert_true(tu_holds(p, 64 - HDR, 0));
	tu_fill(p, 64 - HDR, 5555);
	zs_unmap_object(pool, h[2 * n]);
	zs_unmap_object(pool, h[n]);
	zs_unmap_object(pool, h[0]);
	check_obj(pool, h[0], 64 - HDR, 5555);
	/* Now nothing is mapped: the rest compacts into one page. */
	assert_int_equal(zs_compact(pool), 2);
	assert_int_equal(zs_get_total_pages(pool), 1);
	check_obj(pool, h[0], 64 - HDR, 5555);
	for (unsigned int z = 1; z < 4; z++)
		check_obj(pool, h[z * n], 64 - HDR, z * n);
	for (unsigned int z = 0; z < 4; z++)
		zs_free(pool, h[z * n]);
}

/* ------------------------------------------------------------------ page-allocation failures */
struct stored {
	unsigned long h;
	size_t len;
};

static void assert_same_stats(const struct zs_pool_stats *a, const struct zs_pool_stats *b,
			      unsigned long more_fails)
{
	assert_int_equal(a->pages_used, b->pages_used);
	assert_int_equal(a->obj_allocated, b->obj_allocated);
	assert_int_equal(a->obj_used, b->obj_used);
	assert_int_equal(a->bytes_requested, b->bytes_requested);
	assert_int_equal(a->zspages, b->zspages);
	assert_int_equal(a->pages_max, b->pages_max);
	assert_int_equal(a->mapped_now, b->mapped_now);
	assert_int_equal(b->alloc_fails, a->alloc_fails + more_fails);
}

static void test_page_failure(void **state)
{
	static struct zs_pool_snapshot s1, s2;
	struct zs_pool *pool = pool_of(state);
	/* Classes of several zspage lengths, each with its one zspage full. */
	static const size_t sizes[] = { 4096, 3000, 1392 - HDR, 720 - HDR, 2000, 100, 32 - HDR };
	static struct stored obj[2048];
	unsigned int nobj = 0;
	struct zs_pool_stats a, b;

	for (unsigned int s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct zs_class_stats c;

		assert_int_equal(zs_lookup_class(pool, sizes[s], &c), 0);
		/* Fill exactly one zspage of the class. */
		assert_true(nobj + c.objs_per_zspage <= 2048);
		for (unsigned int i = 0; i < c.objs_per_zspage; i++) {
			obj[nobj].len = sizes[s];
			obj[nobj].h = zs_malloc(pool, sizes[s], 0);
			assert_int_not_equal(obj[nobj].h, 0);
			write_obj(pool, obj[nobj].h, sizes[s], nobj);
			nobj++;
		}
	}
	for (unsigned int s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct zs_class_stats c;
		unsigned long before = tu_pages_in_use(), h;

		zs_lookup_class(pool, sizes[s], &c);
		/* Fail the first page of the new zspage, then (if any) its last. */
		for (unsigned int nth = 1; nth <= c.pages_per_zspage;
		     nth += c.pages_per_zspage > 1 ? c.pages_per_zspage - 1 : 1) {
			zs_pool_stats(pool, &a);
			zs_pool_snapshot(pool, &s1);
			zpage_fail_nth(nth);
			errno = 0;
			h = zs_malloc(pool, sizes[s], 0);
			assert_int_equal(h, 0);
			assert_int_equal(errno, ENOMEM);
			zpage_fail_reset();
			zs_pool_stats(pool, &b);
			zs_pool_snapshot(pool, &s2);
			assert_same_stats(&a, &b, 1);
			s1.pool.alloc_fails = s2.pool.alloc_fails;
			s1.pool.maps = s2.pool.maps;
			s1.pool.unmaps = s2.pool.unmaps;
			assert_memory_equal(&s1, &s2, sizeof(s1));
			assert_int_equal(tu_pages_in_use(), before);
			for (unsigned int i = 0; i < nobj; i++)
				check_obj(pool, obj[i].h, obj[i].len, i);
		}
		/* And once the provider recovers, the same call works. */
		h = zs_malloc(pool, sizes[s], 0);
		assert_int_not_equal(h, 0);
		write_obj(pool, h, sizes[s], 7777);
		check_obj(pool, h, sizes[s], 7777);
		zs_free(pool, h);
	}
	/* With room in a zspage, no page is needed: failures do not matter. */
	{
		unsigned long h1 = zs_malloc(pool, 100, 0), h2;

		assert_int_not_equal(h1, 0);
		zpage_fail_every(1);
		h2 = zs_malloc(pool, 100, 0);
		assert_int_not_equal(h2, 0);
		zpage_fail_reset();
		zs_free(pool, h2);
		zs_free(pool, h1);
	}
	zs_pool_stats(pool, &b);
	print_message("%lu injected failures refused cleanly\n", b.alloc_fails);
	assert_true(b.alloc_fails >= 7);
	for (unsigned int i = 0; i < nobj; i++)
		zs_free(pool, obj[i].h);
}

/* ------------------------------------------------------------------ debug-build handle checks */
#ifdef ZPOOL_DEBUG
/* Run @fn with stderr captured; return what it printed. */
static char *capture_stderr(void (*fn)(struct zs_pool *, unsigned long), struct zs_pool *pool,
			    unsigned long h)
{
	static char out[1024];
	char path[] = "/tmp/zs-stderr-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	unlink(path);
	fflush(stderr);
	dup2(fd, 2);
	fn(pool, h);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return out;
}

static void do_free(struct zs_pool *pool, unsigned long h)
{
	zs_free(pool, h);
}

static void do_map(struct zs_pool *pool, unsigned long h)
{
	assert_null(zs_map_object(pool, h, ZS_MM_RO));
	assert_int_equal(errno, EINVAL);
}

static void do_unmap(struct zs_pool *pool, unsigned long h)
{
	zs_unmap_object(pool, h);
}

static void expect_report(const char *out, const char *func, unsigned long h)
{
	char hex[32];

	snprintf(hex, sizeof(hex), "%#lx", h);
	print_message("  %s", out);
	assert_non_null(strstr(out, func));
	assert_non_null(strstr(out, hex));
	assert_non_null(strchr(out, '\n'));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1); /* one line */
}

static unsigned long handle_errors(struct zs_pool *pool)
{
	struct zs_pool_stats st;

	zs_pool_stats(pool, &st);
	return st.handle_errors;
}

static void test_debug_handle_checks(void **state)
{
	struct zs_pool *pool = pool_of(state);
	struct zs_pool *other = zs_create_pool("other");
	unsigned long h = zs_malloc(pool, 500, 0), keep = zs_malloc(pool, 500, 0);
	unsigned long foreign = zs_malloc(other, 500, 0);
	unsigned long stack_word = 0;

	write_obj(pool, keep, 500, 1);
	zs_free(pool, h);
	/* Free and map of a freed handle. */
	expect_report(capture_stderr(do_free, pool, h), "zs_free", h);
	assert_int_equal(handle_errors(pool), 1);
	expect_report(capture_stderr(do_map, pool, h), "zs_map_object", h);
	assert_int_equal(handle_errors(pool), 2);
	/* Never-allocated handles: garbage, misaligned, another pool's. */
	expect_report(capture_stderr(do_free, pool, (unsigned long)&stack_word), "zs_free",
		      (unsigned long)&stack_word);
	expect_report(capture_stderr(do_map, pool, keep + 1), "zs_map_object", keep + 1);
	expect_report(capture_stderr(do_map, pool, 0x1000), "zs_map_object", 0x1000);
	expect_report(capture_stderr(do_free, pool, foreign), "zs_free", foreign);
	assert_int_equal(handle_errors(pool), 6);
	/* Double map on one thread; the first mapping stays good. */
	assert_non_null(zs_map_object(pool, keep, ZS_MM_RO));
	expect_report(capture_stderr(do_map, pool, keep), "zs_map_object", keep);
	/* Freeing a mapped object is refused too. */
	expect_report(capture_stderr(do_free, pool, keep), "zs_free", keep);
	zs_unmap_object(pool, keep);
	/* Unmapping what this thread has not mapped. */
	expect_report(capture_stderr(do_unmap, pool, keep), "zs_unmap_object", keep);
	assert_int_equal(handle_errors(pool), 9);
	/* Nothing was harmed. */
	check_obj(pool, keep, 500, 1);
	zs_free(pool, keep);
	zs_free(other, foreign);
	assert_int_equal(handle_errors(other), 0);
	zs_destroy_pool(other);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_class_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_basic_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_straddle_every_class, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_straddling_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fullness_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_consistent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_frees_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_skips_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_failure, setup, teardown),
#ifdef ZPOOL_DEBUG
		cmocka_unit_test_setup_teardown(test_debug_handle_checks, setup, teardown),
#endif
	};

	return cmocka_run_group_tests_name("zsmalloc", tests, NULL, NULL);
}
