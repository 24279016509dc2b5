// SPDX-License-Identifier: MIT
/*
 * zsmalloc under threads: workers malloc, write (WO), verify (RO), rewrite
 * (RW), hold mappings (one or two at a time, yielding meanwhile) and free,
 * each on its own objects, and all of them read a shared set of objects that
 * compaction keeps moving; one thread compacts in a loop and another takes
 * snapshots and checks that they add up. Every byte read is checked.
 *
 * Knobs: ZPOOL_TEST_THREADS (workers, default 4), ZPOOL_TEST_ITERATIONS (steps
 * per worker, default 100000), ZPOOL_TEST_SEED (printed; replays each
 * worker's choices, not the interleaving), ZPOOL_TEST_QUICK=1 cuts steps by ten.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
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

#define OWN 256		/* objects each worker juggles */
#define SHARED 512	/* read-only objects every worker reads */

struct item {
	unsigned long h;
	size_t len;
	uint64_t tag;
};

static struct zs_pool *pool;
static struct item shared[SHARED];
static atomic_bool stop;
static atomic_ulong failures;	/* byte mismatches or NULL maps seen by any thread */
static atomic_ulong compactions, compacted, snapshots;

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v && *v ? atol(v) : dflt;
}

static size_t pick_size(uint64_t *s)
{
	return tu_rnd(s, 8) == 0 ? 3500 + tu_rnd(s, 597) : 1 + tu_rnd(s, 2500);
}

static void report(const char *what, unsigned long h)
{
	fprintf(stderr, "stress: %s (handle %#lx)\n", what, h);
	atomic_fetch_add(&failures, 1);
}

static void check(const struct item *it, enum zs_mapmode mm)
{
	unsigned char *p = zs_map_object(pool, it->h, mm);

	if (!p) {
		report("map returned NULL", it->h);
		return;
	}
	if (!tu_holds(p, it->len, it->tag))
		report("bytes differ", it->h);
	zs_unmap_object(pool, it->h);
}

static bool put(struct item *it, uint64_t *rng, uint64_t tag)
{
	unsigned char *p;

	it->len = pick_size(rng);
	it->tag = tag;
	it->h = zs_malloc(pool, it->len, 0);
	if (!it->h) {
		report("zs_malloc failed", 0);
		return false;
	}
	p = zs_map_object(pool, it->h, ZS_MM_WO);
	if (!p) {
		report("WO map returned NULL", it->h);
		return false;
	}
	tu_fill(p, it->len, tag);
	zs_unmap_object(pool, it->h);
	return true;
}

struct worker {
	pthread_t tid;
	unsigned int id;
	uint64_t rng;
	long iterations;
	struct item own[OWN];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t serial = (uint64_t)(w->id + 1) << 40;

	for (long i = 0; i < w->iterations; i++) {
		struct item *it = &w->own[tu_rnd(&w->rng, OWN)];
		unsigned long op = tu_rnd(&w->rng, 100);

		if (!it->h) {
			put(it, &w->rng, ++serial);
		} else if (op < 25) {
			check(it, ZS_MM_RO);
			zs_free(pool, it->h);
			it->h = 0;
		} else if (op < 45) {
			check(it, ZS_MM_RO);
		} else if (op < 60) {
			unsigned char *p = zs_map_object(pool, it->h, ZS_MM_RW);

			if (!p || !tu_holds(p, it->len, it->tag)) {
				report("RW map wrong", it->h);
			} else {
				it->tag = ++serial;
				tu_fill(p, it->len, it->tag);
			}
			if (p)
				zs_unmap_object(pool, it->h);
		} else if (op < 85) {
			check(&shared[tu_rnd(&w->rng, SHARED)],
			      tu_rnd(&w->rng, 2) ? ZS_MM_RO : ZS_MM_RW);
		} else if (op < 95) {
			/* Hold a mapping while others (and compaction) run. */
			unsigned char *p = zs_map_object(pool, it->h, ZS_MM_RO);

			sched_yield();
			if (!p || !tu_holds(p, it->len, it->tag))
				report("held map wrong", it->h);
			if (p)
				zs_unmap_object(pool, it->h);
		} else {
			/* Two at once: an own object (RW) and a shared one (RO). */
			const struct item *sh = &shared[tu_rnd(&w->rng, SHARED)];
			unsigned char *a = zs_map_object(pool, it->h, ZS_MM_RW);
			unsigned char *b = zs_map_object(pool, sh->h, ZS_MM_RO);

			if (!a || !b || !tu_holds(a, it->len, it->tag) ||
			    !tu_holds(b, sh->len, sh->tag))
				report("double mapping wrong", it->h);
			if (b)
				zs_unmap_object(pool, sh->h);
			if (a)
				zs_unmap_object(pool, it->h);
		}
	}
	for (int i = 0; i < OWN; i++) {
		if (w->own[i].h) {
			check(&w->own[i], ZS_MM_RO);
			zs_free(pool, w->own[i].h);
		}
	}
	return NULL;
}

static void *compactor_main(void *arg)
{
	while (!atomic_load(&stop)) {
		atomic_fetch_add(&compacted, zs_compact(pool));
		atomic_fetch_add(&compactions, 1);
		sched_yield();
	}
	return NULL;
}

static void *snapshot_main(void *arg)
{
	static struct zs_pool_snapshot snap;

	while (!atomic_load(&stop)) {
		unsigned long pages = 0, used = 0;

		zs_pool_snapshot(pool, &snap);
		for (unsigned int r = 0; r < snap.nr_classes; r++) {
			const struct zs_class_stats *c = &snap.class[r];
			unsigned long zspages = c->obj_allocated / c->objs_per_zspage;
			unsigned long in_buckets = 0;

			for (int b = 0; b < ZS_NR_INUSE_BUCKETS; b++)
				in_buckets += c->inuse[b];
			if (in_buckets != zspages || c->obj_used > c->obj_allocated ||
			    c->almost_empty + c->almost_full + c->full != zspages)
				report("snapshot row does not add up", c->size);
			pages += c->pages_used;
			used += c->obj_used;
		}
		if (pages != snap.pool.pages_used || used != snap.pool.obj_used)
			report("snapshot totals do not add up", 0);
		atomic_fetch_add(&snapshots, 1);
		usleep(1000);
	}
	return NULL;
}

static void test_stress(void **state)
{
	uint64_t seed = tu_seed_value();
	long threads = env_long("ZPOOL_TEST_THREADS", 4);
	long iterations = env_long("ZPOOL_TEST_ITERATIONS", tu_scaled(100000));
	unsigned long pages_before;
	struct zs_pool_stats st;
	struct worker *w;
	pthread_t compactor, snapper;
	uint64_t rng = seed | 1;

	print_message("stress: ZPOOL_TEST_SEED=%llu ZPOOL_TEST_THREADS=%ld "
		      "ZPOOL_TEST_ITERATIONS=%ld\n", (unsigned long long)seed, threads, iterations);
	assert_true(threads > 0);
	pages_before = tu_pages_in_use();
	pool = zs_create_pool("stress");
	assert_non_null(pool);
	for (int i = 0; i < SHARED; i++)
		assert_true(put(&shared[i], &rng, i + 1));
	w = calloc(threads, sizeof(*w));
	assert_non_null(w);
	assert_int_equal(pthread_create(&compactor, NULL, compactor_main, NULL), 0);
	assert_int_equal(pthread_create(&snapper, NULL, snapshot_main, NULL), 0);
	for (long t = 0; t < threads; t++) {
		w[t].id = t;
		w[t].rng = (seed + 0x9e3779b97f4a7c15ULL * (t + 1)) | 1;
		w[t].iterations = iterations;
		assert_int_equal(pthread_create(&w[t].tid, NULL, worker_main, &w[t]), 0);
	}
	for (long t = 0; t < threads; t++)
		pthread_join(w[t].tid, NULL);
	atomic_store(&stop, true);
	pthread_join(compactor, NULL);
	pthread_join(snapper, NULL);

	/* The shared objects survived every move. */
	for (int i = 0; i < SHARED; i++) {
		check(&shared[i], ZS_MM_RO);
		zs_free(pool, shared[i].h);
	}
	zs_pool_stats(pool, &st);
	print_message("stress: %lu maps, %lu compactions freed %lu pages, %lu snapshots, "
		      "peak %lu pages\n", st.maps, atomic_load(&compactions),
		      atomic_load(&compacted), atomic_load(&snapshots), st.pages_max);
	assert_int_equal(atomic_load(&failures), 0);
	assert_int_equal(st.obj_used, 0);
	assert_int_equal(st.bytes_requested, 0);
	assert_int_equal(st.mapped_now, 0);
	assert_int_equal(st.maps, st.unmaps);
	assert_int_equal(st.pages_used, 0);
	assert_int_equal(st.pages_compacted, atomic_load(&compacted));
	assert_true(atomic_load(&compactions) > 0);
	zs_destroy_pool(pool);
	assert_int_equal(tu_pages_in_use(), pages_before);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
	};

	return cmocka_run_group_tests_name("zsmalloc threads", tests, NULL, NULL);
}
