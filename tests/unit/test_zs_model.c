// SPDX-License-Identifier: MIT
/*
 * zsmalloc against a model: tens of thousands of random steps (malloc, write
 * through WO, read through RO, read-modify-write through RW, a mapping held
 * across compaction, compaction, injected page failures, free), with a shadow
 * copy of every object checked byte for byte, and the pool's counters checked
 * against the model's as it goes.
 *
 * Knobs: ZPOOL_TEST_SEED=n replays a run (the seed is printed),
 * ZPOOL_TEST_STEPS=n sets the step count, ZPOOL_TEST_QUICK=1 cuts it by ten.
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

#include <cmocka.h>

#include "zpage.h"
#include "zsmalloc.h"
#include "lib_testutil.h"

#define MAX_OBJS 4000

struct obj {
	unsigned long h;		/* 0: slot unused */
	size_t len;
	unsigned char *shadow;		/* what the object must hold */
};

struct model {
	struct zs_pool *pool;
	uint64_t rng;
	struct obj obj[MAX_OBJS];
	unsigned int live;
	unsigned long bytes;
	unsigned long fails;		/* injected failures that hit */
	unsigned long compacted;	/* pages compaction reported */
	unsigned long steps[9];
};

/* Every random choice comes from the model's one generator, so a seed replays a run. */
static unsigned long rnd(struct model *m, unsigned long n)
{
	return tu_rnd(&m->rng, n);
}

/* Sizes as compressed pages come: mostly small to mid, some near and at the top. */
static size_t pick_size(struct model *m)
{
	switch (rnd(m, 10)) {
	case 0:
		return 1 + rnd(m, 64);
	case 1:
		return 3600 + rnd(m, 497);		/* around the huge threshold */
	case 2:
		return 4096;
	default:
		return 1 + rnd(m, 3000);
	}
}

/* New contents: a pattern keyed by the next random number. */
static void random_bytes(struct model *m, unsigned char *p, size_t len)
{
	tu_fill(p, len, tu_rnd_next(&m->rng));
}

static struct obj *pick_live(struct model *m)
{
	if (!m->live)
		return NULL;
	for (;;) {
		struct obj *o = &m->obj[rnd(m, MAX_OBJS)];

		if (o->h)
			return o;
	}
}

static void verify(struct model *m, struct obj *o)
{
	unsigned char *p = zs_map_object(m->pool, o->h, ZS_MM_RO);

	assert_non_null(p);
	assert_memory_equal(p, o->shadow, o->len);
	zs_unmap_object(m->pool, o->h);
}

static void step_malloc(struct model *m)
{
	struct obj *o = &m->obj[rnd(m, MAX_OBJS)];
	bool inject = rnd(m, 50) == 0;
	unsigned char *p;

	if (o->h)
		return;
	o->len = pick_size(m);
	if (inject)
		zpage_fail_nth(1);
	errno = 0;
	o->h = zs_malloc(m->pool, o->len, 0);
	if (inject)
		zpage_fail_reset();
	if (!o->h) {
		/* Only an injected failure may refuse a valid size. */
		assert_true(inject);
		assert_int_equal(errno, ENOMEM);
		m->fails++;
		return;
	}
	o->shadow = malloc(o->len);
	assert_non_null(o->shadow);
	random_bytes(m, o->shadow, o->len);
	p = zs_map_object(m->pool, o->h, ZS_MM_WO);
	assert_non_null(p);
	memcpy(p, o->shadow, o->len);
	zs_unmap_object(m->pool, o->h);
	m->live++;
	m->bytes += o->len;
}

static void step_free(struct model *m)
{
	struct obj *o = pick_live(m);

	if (!o)
		return;
	verify(m, o);
	zs_free(m->pool, o->h);
	free(o->shadow);
	m->live--;
	m->bytes -= o->len;
	memset(o, 0, sizeof(*o));
}

static void step_rewrite(struct model *m)
{
	struct obj *o = pick_live(m);
	unsigned char *p;

	if (!o)
		return;
	random_bytes(m, o->shadow, o->len);
	p = zs_map_object(m->pool, o->h, ZS_MM_WO);
	assert_non_null(p);
	memcpy(p, o->shadow, o->len);
	zs_unmap_object(m->pool, o->h);
}

static void step_modify(struct model *m)
{
	struct obj *o = pick_live(m);
	size_t at, n;
	unsigned char *p;

	if (!o)
		return;
	p = zs_map_object(m->pool, o->h, ZS_MM_RW);
	assert_non_null(p);
	assert_memory_equal(p, o->shadow, o->len);
	at = rnd(m, o->len);
	n = 1 + rnd(m, o->len - at);
	random_bytes(m, o->shadow + at, n);
	memcpy(p + at, o->shadow + at, n);
	zs_unmap_object(m->pool, o->h);
}

/* Hold one mapping (RW) across a compaction, writing through it afterwards. */
static void step_compact_mapped(struct model *m)
{
	struct obj *o = pick_live(m);
	unsigned char *p;

	if (!o) {
		m->compacted += zs_compact(m->pool);
		return;
	}
	p = zs_map_object(m->pool, o->h, ZS_MM_RW);
	assert_non_null(p);
	m->compacted += zs_compact(m->pool);
	assert_memory_equal(p, o->shadow, o->len);
	random_bytes(m, o->shadow, o->len);
	memcpy(p, o->shadow, o->len);
	zs_unmap_object(m->pool, o->h);
}

static void check_counters(struct model *m)
{
	static struct zs_pool_snapshot snap;
	unsigned long pages = 0;

	zs_pool_snapshot(m->pool, &snap);
	for (unsigned int r = 0; r < snap.nr_classes; r++)
		pages += snap.class[r].pages_used;
	assert_int_equal(snap.pool.obj_used, m->live);
	assert_int_equal(snap.pool.bytes_requested, m->bytes);
	assert_int_equal(snap.pool.pages_used, pages);
	assert_int_equal(snap.pool.pages_used, zs_get_total_pages(m->pool));
	assert_int_equal(snap.pool.mapped_now, 0);
	assert_int_equal(snap.pool.maps, snap.pool.unmaps);
	assert_int_equal(snap.pool.alloc_fails, m->fails);
	assert_int_equal(snap.pool.pages_compacted, m->compacted);
}

static void test_model(void **state)
{
	static struct model m;
	const char *n = getenv("ZPOOL_TEST_STEPS");
	uint64_t seed = tu_seed_value();
	long steps = n && *n ? atol(n) : tu_scaled(100000);
	unsigned long before = tu_pages_in_use();

	print_message("model: ZPOOL_TEST_SEED=%llu, %ld steps\n", (unsigned long long)seed, steps);
	memset(&m, 0, sizeof(m));
	m.rng = tu_rnd_state(seed);
	m.pool = zs_create_pool("model");
	assert_non_null(m.pool);
	for (long i = 0; i < steps; i++) {
		unsigned long op = rnd(&m, 1000);

		/* Grow towards ~half of MAX_OBJS live, then churn. */
		if (op < 400) {
			step_malloc(&m), m.steps[0]++;
		} else if (op < 700) {
			step_free(&m), m.steps[1]++;
		} else if (op < 780) {
			step_rewrite(&m), m.steps[2]++;
		} else if (op < 880) {
			step_modify(&m), m.steps[3]++;
		} else if (op < 995) {
			struct obj *o = pick_live(&m);

			if (o)
				verify(&m, o);
			m.steps[4]++;
		} else if (op < 998) {
			m.compacted += zs_compact(m.pool), m.steps[5]++;
		} else {
			step_compact_mapped(&m), m.steps[6]++;
		}
		if (i % 997 == 0)
			check_counters(&m);
	}
	check_counters(&m);
	print_message("model: %lu live, %lu mallocs, %lu frees, %lu rewrites, %lu RW, %lu reads, "
		      "%lu+%lu compactions (%lu pages), %lu injected failures\n",
		      (unsigned long)m.live, m.steps[0], m.steps[1], m.steps[2], m.steps[3],
		      m.steps[4], m.steps[5], m.steps[6], m.compacted, m.fails);
	/* Everything still there, after one last compaction. */
	m.compacted += zs_compact(m.pool);
	for (int i = 0; i < MAX_OBJS; i++)
		if (m.obj[i].h)
			verify(&m, &m.obj[i]);
	check_counters(&m);
	while (m.live)
		step_free(&m);
	check_counters(&m);
	assert_int_equal(zs_get_total_pages(m.pool), 0);
	zs_destroy_pool(m.pool);
	assert_int_equal(tu_pages_in_use(), before);
	/* A run that never compacted or never failed would test too little. */
	assert_true(m.steps[5] + m.steps[6] > 0 || steps < 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests_name("zsmalloc model", tests, NULL, NULL);
}
