// SPDX-License-Identifier: MIT
/*
 * zpool: the driver registry (built-ins, duplicates, unknown names, busy
 * drivers, a third driver defined here), every wrapper on every built-in
 * driver, and one randomized model-based test run through zpool against every
 * registered driver, with a shadow copy of every object. Page allocation
 * failures are injected through the page provider; a threaded test hammers
 * one pool per driver while compaction or shrinking runs beside it.
 *
 * Knobs: ZPOOL_TEST_SEED=n replays a model run (the seed is printed),
 * ZPOOL_TEST_QUICK=1 cuts every iteration count by ten.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "zpool.h"
#include "zpage.h"
#include "../../alloc/zpool_internal.h"
#include "lib_testutil.h"

/* ------------------------------------------------------------------ fixture */

static int setup(void **state)
{
	unsigned long *before = malloc(sizeof(*before));

	if (!before)
		return -1;
	*before = tu_pages_in_use();
	*state = before;
	return 0;
}

/* Every test gives back every page it took. */
static int teardown(void **state)
{
	unsigned long *before = *state;

	zpage_fail_reset();
	assert_int_equal(tu_pages_in_use(), *before);
	free(before);
	return 0;
}

static const char *const builtin[] = { "zsmalloc", "zbud" };

/* --------------------------------------------------- a third driver, malloc-backed */

struct tm_pool {
	pthread_mutex_t lock;
	unsigned long objects;	/* lock */
	uint64_t bytes;		/* lock */
};

static void *tm_create(const char *name, const struct zpool_ops *ops, struct zpool *zpool)
{
	struct tm_pool *p = calloc(1, sizeof(*p));

	if (p)
		pthread_mutex_init(&p->lock, NULL);
	return p;
}

static void tm_destroy(void *pool)
{
	struct tm_pool *p = pool;

	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Objects carry their size in front so that free can account for it. */
static int tm_malloc(void *pool, size_t size, unsigned int flags, unsigned long *handle)
{
	struct tm_pool *p = pool;
	size_t *obj;

	if (!size)
		return -EINVAL;
	if (size > 4096)
		return -ENOSPC;
	obj = malloc(sizeof(size_t) + size);
	if (!obj)
		return -ENOMEM;
	obj[0] = size;
	pthread_mutex_lock(&p->lock);
	p->objects++;
	p->bytes += size;
	pthread_mutex_unlock(&p->lock);
	*handle = (unsigned long)(obj + 1);
	return 0;
}

static void tm_free(void *pool, unsigned long handle)
{
	struct tm_pool *p = pool;
	size_t *obj = (size_t *)handle - 1;

	pthread_mutex_lock(&p->lock);
	p->objects--;
	p->bytes -= obj[0];
	pthread_mutex_unlock(&p->lock);
	free(obj);
}

static void *tm_map(void *pool, unsigned long handle, enum zpool_mapmode mm)
{
	return (void *)handle;
}

static void tm_unmap(void *pool, unsigned long handle)
{
}

static uint64_t tm_total_size(void *pool)
{
	struct tm_pool *p = pool;
	uint64_t bytes;

	pthread_mutex_lock(&p->lock);
	bytes = p->bytes;
	pthread_mutex_unlock(&p->lock);
	return bytes;
}

static struct zpool_driver tm_driver = {
	.type = "testmalloc",
	.create = tm_create,
	.destroy = tm_destroy,
	.malloc_support_movable = false,
	.malloc = tm_malloc,
	.free = tm_free,
	.sleep_mapped = true,
	.map = tm_map,
	.unmap = tm_unmap,
	.total_size = tm_total_size,
};

/* --------------------------------------------------------- the model-based test */

/*
 * One object of the model: where it is in the pool and what it must hold.
 * The shadow is the truth; the pool must agree with it after every step.
 */
struct shadow {
	unsigned long handle;	/* 0: slot unused */
	size_t size;
	unsigned char *bytes;
};

struct model {
	struct zpool *pool;
	struct shadow *obj;
	int nr_slots;
	int live;
	size_t max;
	uint64_t rng;
	unsigned long evicted, refused;
	bool evicting_allowed;
};

static struct model *evict_model; /* the model run in progress (single-threaded) */

static int find_slot(struct model *m, unsigned long handle)
{
	for (int i = 0; i < m->nr_slots; i++)
		if (m->obj[i].handle == handle)
			return i;
	return -1;
}

static void check_obj(struct model *m, struct shadow *o)
{
	const unsigned char *p = zpool_map_handle(m->pool, o->handle, ZPOOL_MM_RO);

	assert_non_null(p);
	if (memcmp(p, o->bytes, o->size) != 0) {
		size_t i = 0;

		while (p[i] == o->bytes[i])
			i++;
		zpool_unmap_handle(m->pool, o->handle);
		fail_msg("%s: object %#lx (%zu bytes) differs at byte %zu", zpool_get_type(m->pool),
			 o->handle, o->size, i);
	}
	zpool_unmap_handle(m->pool, o->handle);
}

static void drop_obj(struct model *m, struct shadow *o)
{
	zpool_free(m->pool, o->handle);
	free(o->bytes);
	o->bytes = NULL;
	o->handle = 0;
	m->live--;
}

/* The model's evict(): the object must be intact; drop it, or now and then refuse. */
static int model_evict(struct zpool *pool, unsigned long handle)
{
	struct model *m = evict_model;
	int i;

	assert_non_null(m);
	assert_ptr_equal(pool, m->pool);
	assert_true(m->evicting_allowed);
	i = find_slot(m, handle);
	if (i < 0)
		fail_msg("evict() of %#lx, which the model does not hold", handle);
	check_obj(m, &m->obj[i]);
	if (tu_rnd(&m->rng, 10) == 0) {
		m->refused++;
		return -EBUSY;
	}
	drop_obj(m, &m->obj[i]);
	m->evicted++;
	return 0;
}

static const struct zpool_ops model_ops = { .evict = model_evict };

/* Sizes as compressed 4 KiB pages come: mostly 1-3 KiB, some tiny, some incompressible. */
static size_t model_size(struct model *m)
{
	unsigned long r = tu_rnd(&m->rng, 100);

	if (r < 10)
		return 1 + tu_rnd(&m->rng, 64);
	if (r < 60)
		return 700 + tu_rnd(&m->rng, 2400);
	if (r < 70)
		return m->max - tu_rnd(&m->rng, 64);
	return 1 + tu_rnd(&m->rng, m->max);
}

static void model_malloc(struct model *m, struct shadow *o)
{
	size_t size = model_size(m);
	unsigned long h = 0;
	void *p;
	int ret;

	ret = zpool_malloc(m->pool, size, 0, &h);
	if (ret)
		fail_msg("%s: zpool_malloc(%zu) = %d (%s)", zpool_get_type(m->pool), size, ret,
			 zpool_last_error());
	assert_true(h != 0);
	assert_int_equal(find_slot(m, h), -1); /* a live handle is never handed out twice */
	o->bytes = malloc(size);
	assert_non_null(o->bytes);
	tu_fill(o->bytes, size, tu_rnd_next(&m->rng));
	o->size = size;
	o->handle = h;
	m->live++;
	p = zpool_map_handle(m->pool, h, ZPOOL_MM_WO);
	assert_non_null(p);
	memcpy(p, o->bytes, size);
	zpool_unmap_handle(m->pool, h);
}

/* RW: change a few bytes in place; the rest must survive the round trip. */
static void model_modify(struct model *m, struct shadow *o)
{
	unsigned char *p = zpool_map_handle(m->pool, o->handle, ZPOOL_MM_RW);
	int n = 1 + (int)tu_rnd(&m->rng, 8);

	assert_non_null(p);
	assert_memory_equal(p, o->bytes, o->size);
	while (n--) {
		size_t at = tu_rnd(&m->rng, o->size);
		unsigned char v = (unsigned char)tu_rnd_next(&m->rng);

		p[at] = v;
		o->bytes[at] = v;
	}
	zpool_unmap_handle(m->pool, o->handle);
}

/* WO: the whole object is rewritten without being read. */
static void model_rewrite(struct model *m, struct shadow *o)
{
	unsigned char *p = zpool_map_handle(m->pool, o->handle, ZPOOL_MM_WO);

	assert_non_null(p);
	tu_fill(o->bytes, o->size, tu_rnd_next(&m->rng));
	memcpy(p, o->bytes, o->size);
	zpool_unmap_handle(m->pool, o->handle);
}

static void model_check_all(struct model *m)
{
	struct zpool_stats *st = malloc(sizeof(*st));
	uint64_t total = zpool_get_total_size(m->pool);
	size_t bytes = 0;

	assert_non_null(st);
	for (int i = 0; i < m->nr_slots; i++) {
		if (m->obj[i].handle) {
			check_obj(m, &m->obj[i]);
			bytes += m->obj[i].size;
		}
	}
	zpool_get_stats(m->pool, st);
	assert_string_equal(st->type, zpool_get_type(m->pool));
	assert_int_equal(st->total_size, total);
	if (strcmp(st->type, "zbud") == 0) {
		assert_int_equal(st->zbud.objects, m->live);
		assert_int_equal(st->zbud.bytes_requested, bytes);
		assert_int_equal(st->zbud.pages * 4096, total);
		assert_int_equal(st->zbud.mapped_now, 0);
	} else if (strcmp(st->type, "zsmalloc") == 0) {
		assert_int_equal(st->zs.pool.obj_used, m->live);
		assert_int_equal(st->zs.pool.bytes_requested, bytes);
		assert_int_equal(st->zs.pool.pages_used * 4096, total);
		assert_int_equal(st->zs.pool.mapped_now, 0);
	}
	/* No allocator stores n bytes in fewer than n bytes. */
	assert_true(total >= bytes);
	free(st);
}

/*
 * The randomized model test: thousands of random steps through the zpool API
 * on driver @type; every object's bytes are compared with the shadow copy.
 */
static void run_model(const char *type, int steps)
{
	uint64_t seed = tu_seed_value();
	struct model m = { 0 };
	unsigned long h, pages_before = tu_pages_in_use();
	unsigned long compacted = 0, shrunk = 0;
	int ret;

	print_message("model %s: ZPOOL_TEST_SEED=%llu, %d steps\n", type,
		      (unsigned long long)seed, steps);
	m.rng = tu_rnd_state(seed);
	m.nr_slots = 600;
	m.obj = calloc((size_t)m.nr_slots, sizeof(*m.obj));
	assert_non_null(m.obj);
	m.pool = zpool_create_pool(type, "model", &model_ops);
	assert_non_null(m.pool);
	m.max = zpool_max_alloc_size(m.pool);
	evict_model = &m;

	for (int step = 0; step < steps; step++) {
		struct shadow *o = &m.obj[tu_rnd(&m.rng, (unsigned long)m.nr_slots)];
		unsigned long r = tu_rnd(&m.rng, 1000);

		if (r < 10) {
			/* Bad sizes are refused and change nothing. */
			h = 99;
			assert_int_equal(zpool_malloc(m.pool, 0, 0, &h), -EINVAL);
			assert_int_equal(zpool_malloc(m.pool, m.max + 1, 0, &h), -ENOSPC);
			assert_int_equal(h, 99);
		} else if (r < 18) {
			compacted += zpool_compact(m.pool);
		} else if (r < 26) {
			unsigned int want = 1 + (unsigned int)tu_rnd(&m.rng, 4), got = 999;
			uint64_t before = zpool_get_total_size(m.pool);

			m.evicting_allowed = true;
			ret = zpool_shrink(m.pool, want, &got);
			m.evicting_allowed = false;
			if (ret == 0)
				assert_int_equal(got, want);
			else
				assert_true(ret == -EINVAL || ret == -EAGAIN);
			assert_true(got <= want);
			assert_int_equal(zpool_get_total_size(m.pool), before - got * 4096ULL);
			shrunk += got;
		} else if (r < 36) {
			model_check_all(&m);
		} else if (!o->handle) {
			model_malloc(&m, o);
		} else if (r < 350) {
			check_obj(&m, o);
			drop_obj(&m, o);
		} else if (r < 650) {
			check_obj(&m, o);
		} else if (r < 850) {
			model_modify(&m, o);
		} else {
			model_rewrite(&m, o);
		}
	}
	model_check_all(&m);
	print_message("model %s: %d live, %lu evicted, %lu refused, %lu pages compacted, "
		      "%lu pages shrunk\n", type, m.live, m.evicted, m.refused, compacted, shrunk);
	for (int i = 0; i < m.nr_slots; i++)
		if (m.obj[i].handle)
			drop_obj(&m, &m.obj[i]);
	assert_int_equal(m.live, 0);
	zpool_destroy_pool(m.pool);
	evict_model = NULL;
	free(m.obj);
	assert_int_equal(tu_pages_in_use(), pages_before);
}

/* -------------------------------------------------------------- registry tests */

static void test_builtin_drivers(void **state)
{
	const char *types[8];
	size_t n = zpool_list_drivers(types, 8);
	bool zs = false, zb = false;

	for (size_t i = 0; i < n && i < 8; i++) {
		zs |= strcmp(types[i], "zsmalloc") == 0;
		zb |= strcmp(types[i], "zbud") == 0;
	}
	assert_true(zs && zb);
	assert_true(n >= 2);
	assert_int_equal(zpool_list_drivers(NULL, 0), n);
	assert_true(zpool_has_pool("zsmalloc"));
	assert_true(zpool_has_pool("zbud"));
	assert_false(zpool_has_pool("z3fold"));
	assert_false(zpool_has_pool(""));
	assert_false(zpool_has_pool(NULL));
	assert_false(zpool_has_pool("ZBUD")); /* names are exact */
}

static void test_unknown_driver(void **state)
{
	errno = 0;
	assert_null(zpool_create_pool("foo", "x", NULL));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(zpool_last_error(), "no driver named 'foo'"));
	assert_non_null(strstr(zpool_last_error(), "zsmalloc"));
	assert_non_null(strstr(zpool_last_error(), "zbud"));
	errno = 0;
	assert_null(zpool_create_pool(NULL, "x", NULL));
	assert_int_equal(errno, ENOENT);
	assert_true(strlen(zpool_last_error()) > 0);
}

static void *fail_in_thread(void *arg)
{
	assert_null(zpool_create_pool("other-thread", NULL, NULL));
	return NULL;
}

/* zpool_last_error() is per thread: another thread's failure leaves ours alone. */
static void test_last_error_per_thread(void **state)
{
	pthread_t t;

	assert_null(zpool_create_pool("mine", NULL, NULL));
	assert_int_equal(pthread_create(&t, NULL, fail_in_thread, NULL), 0);
	pthread_join(t, NULL);
	assert_non_null(strstr(zpool_last_error(), "'mine'"));
}

static void test_register_errors(void **state)
{
	struct zpool_driver dup = tm_driver, nameless = tm_driver, partial = tm_driver;

	/* A second driver called "zbud" is refused, and so is the built-in itself. */
	dup.type = "zbud";
	assert_int_equal(zpool_register_driver(&dup), -EEXIST);
	assert_non_null(strstr(zpool_last_error(), "'zbud' is already registered"));
	assert_int_equal(zpool_register_driver(&zpool_zsmalloc_driver), -EEXIST);
	/* Missing name or callbacks. */
	assert_int_equal(zpool_register_driver(NULL), -EINVAL);
	nameless.type = NULL;
	assert_int_equal(zpool_register_driver(&nameless), -EINVAL);
	nameless.type = "";
	assert_int_equal(zpool_register_driver(&nameless), -EINVAL);
	partial.type = "partial";
	partial.map = NULL;
	assert_int_equal(zpool_register_driver(&partial), -EINVAL);
	assert_non_null(strstr(zpool_last_error(), "'partial' lacks a required callback"));
	assert_false(zpool_has_pool("partial"));
	/* Unregistering what is not registered. */
	assert_int_equal(zpool_unregister_driver(&partial), -ENOENT);
	assert_non_null(strstr(zpool_last_error(), "'partial' is not registered"));
	assert_int_equal(zpool_unregister_driver(&dup), -ENOENT); /* same name, other struct */
	assert_int_equal(zpool_unregister_driver(NULL), -ENOENT);
	/* The refused registrations left the registry as it was. */
	assert_true(zpool_has_pool("zbud"));
	assert_true(zpool_has_pool("zsmalloc"));
}

/* A driver with pools open cannot go; without, it can, and can come back. */
static void test_unregister_busy(void **state)
{
	struct zpool *a, *b;

	a = zpool_create_pool("zbud", "a", NULL);
	b = zpool_create_pool("zbud", "b", NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(zpool_zbud_driver.refcount, 2);
	assert_int_equal(zpool_unregister_driver(&zpool_zbud_driver), -EBUSY);
	assert_non_null(strstr(zpool_last_error(), "still has 2 pool(s)"));
	zpool_destroy_pool(a);
	assert_int_equal(zpool_zbud_driver.refcount, 1);
	assert_int_equal(zpool_unregister_driver(&zpool_zbud_driver), -EBUSY);
	zpool_destroy_pool(b);
	assert_int_equal(zpool_zbud_driver.refcount, 0);
	assert_int_equal(zpool_unregister_driver(&zpool_zbud_driver), 0);
	assert_false(zpool_has_pool("zbud"));
	assert_null(zpool_create_pool("zbud", "c", NULL));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(zpool_last_error(), "(registered: zsmalloc)"));
	assert_int_equal(zpool_unregister_driver(&zpool_zbud_driver), -ENOENT);
	assert_int_equal(zpool_register_driver(&zpool_zbud_driver), 0);
	a = zpool_create_pool("zbud", "d", NULL);
	assert_non_null(a);
	zpool_destroy_pool(a);
	zpool_destroy_pool(NULL);
}

/* A driver defined here goes through the same API, model test included. */
static void test_third_driver(void **state)
{
	struct zpool_stats *st = malloc(sizeof(*st));
	struct zpool *zp;
	unsigned long h;
	unsigned int got = 7;
	char *p;

	assert_non_null(st);
	assert_int_equal(zpool_register_driver(&tm_driver), 0);
	assert_true(zpool_has_pool("testmalloc"));
	assert_int_equal(zpool_register_driver(&tm_driver), -EEXIST);
	zp = zpool_create_pool("testmalloc", "t", NULL);
	assert_non_null(zp);
	assert_string_equal(zpool_get_type(zp), "testmalloc");
	assert_false(zpool_malloc_support_movable(zp));
	assert_true(zpool_can_sleep_mapped(zp));
	assert_int_equal(zpool_max_alloc_size(zp), 4096); /* max_size 0 means one page */
	assert_int_equal(zpool_malloc(zp, 0, 0, &h), -EINVAL);
	assert_int_equal(zpool_malloc(zp, 4097, 0, &h), -ENOSPC);
	assert_non_null(strstr(zpool_last_error(), "testmalloc: cannot allocate 4097 bytes"));
	assert_int_equal(zpool_malloc(zp, 10, 0, &h), 0);
	p = zpool_map_handle(zp, h, ZPOOL_MM_WO);
	memcpy(p, "0123456789", 10);
	zpool_unmap_handle(zp, h);
	assert_memory_equal(zpool_map_handle(zp, h, ZPOOL_MM_RO), "0123456789", 10);
	zpool_unmap_handle(zp, h);
	assert_int_equal(zpool_get_total_size(zp), 10);
	zpool_get_stats(zp, st);
	assert_string_equal(st->type, "testmalloc");
	assert_int_equal(st->total_size, 10);
	assert_int_equal(zpool_shrink(zp, 1, &got), -EINVAL); /* no shrink callback */
	assert_int_equal(got, 0);
	assert_int_equal(zpool_compact(zp), 0);		/* no compact callback */
	assert_int_equal(zpool_compactable(zp), 0);	/* no compactable callback */
	assert_int_equal(zpool_unregister_driver(&tm_driver), -EBUSY);
	zpool_free(zp, h);
	zpool_destroy_pool(zp);

	run_model("testmalloc", tu_scaled(20000));

	assert_int_equal(zpool_unregister_driver(&tm_driver), 0);
	assert_false(zpool_has_pool("testmalloc"));
	assert_null(zpool_create_pool("testmalloc", "t", NULL));
	free(st);
}

/* ------------------------------------------------------ every call, built-ins */

static int evict_calls;
static struct zpool *evict_expect_pool;

/* Checks the object (filled with its handle's low byte), then frees it. */
static int check_and_free_evict(struct zpool *pool, unsigned long handle)
{
	const unsigned char *p;

	assert_ptr_equal(pool, evict_expect_pool);
	p = zpool_map_handle(pool, handle, ZPOOL_MM_RO);
	for (int i = 0; i < 900; i++)
		assert_int_equal(p[i], (unsigned char)(handle >> 6));
	zpool_unmap_handle(pool, handle);
	zpool_free(pool, handle);
	evict_calls++;
	return 0;
}

static const struct zpool_ops check_ops = { .evict = check_and_free_evict };

static void test_every_call(void **state)
{
	struct zpool_stats *st = malloc(sizeof(*st));

	assert_non_null(st);
	for (size_t d = 0; d < 2; d++) {
		const char *type = builtin[d];
		bool zbud = strcmp(type, "zbud") == 0;
		struct zpool *zp = zpool_create_pool(type, "calls", &check_ops);
		unsigned long h[10], bad = 5;
		unsigned int got = 99;
		unsigned char *p;

		assert_non_null(zp);
		evict_expect_pool = zp;
		assert_string_equal(zpool_get_type(zp), type);
		assert_int_equal(zpool_malloc_support_movable(zp), !zbud);
		assert_int_equal(zpool_can_sleep_mapped(zp), zbud);
		assert_int_equal(zpool_max_alloc_size(zp), zbud ? 3968 : 4096);
		assert_int_equal(zpool_get_total_size(zp), 0);

		/* Errors map onto the same codes whatever the backend says. */
		assert_int_equal(zpool_malloc(zp, 0, 0, &bad), -EINVAL);
		assert_int_equal(zpool_malloc(zp, zpool_max_alloc_size(zp) + 1, 0, &bad), -ENOSPC);
		assert_int_equal(zpool_malloc(zp, 100000, 0, &bad), -ENOSPC);
		assert_int_equal(bad, 5);
		assert_non_null(strstr(zpool_last_error(), type));

		for (int i = 0; i < 10; i++) {
			assert_int_equal(zpool_malloc(zp, 900, 0, &h[i]), 0);
			p = zpool_map_handle(zp, h[i], ZPOOL_MM_WO);
			memset(p, (unsigned char)(h[i] >> 6), 900);
			zpool_unmap_handle(zp, h[i]);
		}
		/* The largest size is accepted too. */
		assert_int_equal(zpool_malloc(zp, zpool_max_alloc_size(zp), 0, &bad), 0);
		zpool_free(zp, bad);
		assert_true(zpool_get_total_size(zp) >= 9000);
		zpool_get_stats(zp, st);
		assert_string_equal(st->type, type);
		assert_int_equal(st->total_size, zpool_get_total_size(zp));
		if (zbud) {
			assert_int_equal(st->zbud.objects, 10);
			assert_int_equal(st->zbud.pages, 5); /* 15 chunks each: two per page */
			assert_int_equal(st->zbud.buddied, 5);
		} else {
			assert_int_equal(st->zs.pool.obj_used, 10);
			assert_int_equal(st->zs.pool.bytes_requested, 9000);
		}

		/* RW round trip. */
		p = zpool_map_handle(zp, h[0], ZPOOL_MM_RW);
		assert_int_equal(p[899], (unsigned char)(h[0] >> 6));
		zpool_unmap_handle(zp, h[0]);

		/* zsmalloc's estimate is what a compaction then frees (nothing else runs). */
		{
			unsigned long can = zpool_compactable(zp);

			if (zbud)
				assert_int_equal(can, 0);
			assert_int_equal(zpool_compact(zp), can);
			assert_int_equal(zpool_compactable(zp), 0);
		}
		evict_calls = 0;
		if (zbud) {
			/* Two pages, oldest first: the four objects of h[0..3]. */
			assert_int_equal(zpool_shrink(zp, 2, &got), 0);
			assert_int_equal(got, 2);
			assert_int_equal(evict_calls, 4);
			assert_int_equal(zpool_get_total_size(zp), 3 * 4096);
			for (int i = 0; i < 4; i++)
				h[i] = 0;
			assert_int_equal(zpool_shrink(zp, 0, &got), 0);
			assert_int_equal(got, 0);
		} else {
			assert_int_equal(zpool_shrink(zp, 2, &got), -EINVAL);
			assert_int_equal(got, 0);
			assert_non_null(strstr(zpool_last_error(), "cannot evict"));
			assert_int_equal(evict_calls, 0);
		}
		for (int i = 0; i < 10; i++)
			if (h[i])
				zpool_free(zp, h[i]);
		if (zbud) {
			/* Nothing left to reclaim. */
			assert_int_equal(zpool_shrink(zp, 1, &got), -EINVAL);
			assert_int_equal(got, 0);
		}
		zpool_compact(zp);
		assert_int_equal(zpool_get_total_size(zp), 0);
		zpool_destroy_pool(zp);
	}
	free(st);
}

/* zbud behind zpool without an evict callback: shrinking is refused, nothing lost. */
static void test_zbud_shrink_without_evict(void **state)
{
	static const struct zpool_ops no_evict = { .evict = NULL };
	const struct zpool_ops *ops[] = { NULL, &no_evict };

	for (int i = 0; i < 2; i++) {
		struct zpool *zp = zpool_create_pool("zbud", NULL, ops[i]);
		unsigned long h;
		unsigned int got = 9;

		assert_non_null(zp);
		assert_int_equal(zpool_malloc(zp, 100, 0, &h), 0);
		assert_int_equal(zpool_shrink(zp, 1, &got), -EINVAL);
		assert_int_equal(got, 0);
		assert_int_equal(zpool_shrink(zp, 1, NULL), -EINVAL);
		assert_int_equal(zpool_get_total_size(zp), 4096);
		zpool_free(zp, h);
		zpool_destroy_pool(zp);
	}
}

static void test_model_every_driver(void **state)
{
	const char *types[16];
	size_t n = zpool_list_drivers(types, 16);

	assert_true(n >= 2 && n <= 16);
	for (size_t i = 0; i < n; i++)
		run_model(types[i], tu_scaled(40000));
}

/* ------------------------------------------------------------ fault injection */

static void test_page_failures(void **state)
{
	for (size_t d = 0; d < 2; d++) {
		uint64_t rng = 42 + d;
		struct model m = { .nr_slots = 300, .rng = 7 };
		int nomem = 0, ok = 0;

		m.obj = calloc((size_t)m.nr_slots, sizeof(*m.obj));
		assert_non_null(m.obj);
		m.pool = zpool_create_pool(builtin[d], "faults", NULL);
		assert_non_null(m.pool);
		m.max = zpool_max_alloc_size(m.pool);
		for (int i = 0; i < 100; i++)
			model_malloc(&m, &m.obj[i]);

		/* Every page allocation fails: whatever needs a page gets -ENOMEM and
		 * the pool does not grow; nothing stored changes. */
		uint64_t size_before = zpool_get_total_size(m.pool);

		zpage_fail_every(1);
		for (int i = 0; i < 200; i++) {
			unsigned long h = 0;
			size_t size = 1 + tu_rnd(&rng, m.max);
			int ret = zpool_malloc(m.pool, size, 0, &h);

			if (ret == 0) {
				zpool_free(m.pool, h);
				continue;
			}
			assert_int_equal(ret, -ENOMEM);
			assert_non_null(strstr(zpool_last_error(), "Cannot allocate memory"));
			nomem++;
		}
		zpage_fail_reset();
		assert_true(nomem > 0);
		assert_true(zpool_get_total_size(m.pool) <= size_before);
		model_check_all(&m);

		/* Every third page allocation fails while the pool grows. */
		zpage_fail_every(3);
		for (int i = 100; i < m.nr_slots; i++) {
			struct shadow *o = &m.obj[i];
			size_t size = 1 + tu_rnd(&rng, m.max);
			unsigned long h;
			int ret = zpool_malloc(m.pool, size, 0, &h);

			if (ret) {
				assert_int_equal(ret, -ENOMEM);
				nomem++;
				continue;
			}
			ok++;
			o->handle = h;
			o->size = size;
			o->bytes = malloc(size);
			assert_non_null(o->bytes);
			tu_fill(o->bytes, size, (uint64_t)i);
			memcpy(zpool_map_handle(m.pool, h, ZPOOL_MM_WO), o->bytes, size);
			zpool_unmap_handle(m.pool, h);
			m.live++;
		}
		zpage_fail_reset();
		assert_true(ok > 0);
		model_check_all(&m);
		for (int i = 0; i < m.nr_slots; i++)
			if (m.obj[i].handle)
				drop_obj(&m, &m.obj[i]);
		zpool_destroy_pool(m.pool);
		free(m.obj);
	}
}

/* ------------------------------------------------------------ threads */

enum { MT_SLOTS = 512 };

struct mt_slot {
	pthread_mutex_t lock;
	unsigned long handle;	/* lock */
	size_t size;		/* lock */
	uint64_t seed;		/* lock */
};

struct mt {
	struct zpool *pool;
	struct mt_slot slot[MT_SLOTS];
	size_t max;
	int iterations;
	atomic_int workers_left;
	atomic_ulong evicted, compacted, shrink_calls;
	/*
	 * cmocka's assertions may only fail on the main thread, so the other
	 * threads record the first problem here and stop; main asserts on it.
	 */
	atomic_int failed;
	char why[200];		/* written once, by whoever set failed first */
};

static struct mt *mt_run;

static void mt_fail(struct mt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mt_fail(struct mt *t, const char *fmt, ...)
{
	int expected = 0;
	va_list ap;

	if (!atomic_compare_exchange_strong(&t->failed, &expected, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
}

/* Called with the slot's lock held. */
static bool mt_check(struct mt *t, struct mt_slot *s)
{
	const void *p = zpool_map_handle(t->pool, s->handle, ZPOOL_MM_RO);
	bool same = p && tu_holds(p, s->size, s->seed);

	zpool_unmap_handle(t->pool, s->handle);
	if (!same)
		mt_fail(t, "%s: object %#lx of %zu bytes corrupted", zpool_get_type(t->pool),
			s->handle, s->size);
	return same;
}

static void mt_write(struct mt *t, struct mt_slot *s, enum zpool_mapmode mm)
{
	void *p = zpool_map_handle(t->pool, s->handle, mm);

	tu_fill(p, s->size, s->seed);
	zpool_unmap_handle(t->pool, s->handle);
}

/*
 * Evict from the shrinking thread: find the slot by trying each slot's lock
 * (never waiting, so no lock order with the workers exists), check, free.
 * A slot that is busy right now keeps its object (-EBUSY), as a real owner may.
 */
static int mt_evict(struct zpool *pool, unsigned long handle)
{
	struct mt *t = mt_run;

	for (int i = 0; i < MT_SLOTS; i++) {
		struct mt_slot *s = &t->slot[i];

		if (pthread_mutex_trylock(&s->lock))
			continue;
		if (s->handle == handle) {
			mt_check(t, s);
			zpool_free(pool, handle);
			s->handle = 0;
			pthread_mutex_unlock(&s->lock);
			atomic_fetch_add(&t->evicted, 1);
			return 0;
		}
		pthread_mutex_unlock(&s->lock);
	}
	return -EBUSY;
}

static const struct zpool_ops mt_ops = { .evict = mt_evict };

static void *mt_worker(void *arg)
{
	struct mt *t = mt_run;
	uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;

	for (int i = 0; i < t->iterations && !atomic_load(&t->failed); i++) {
		struct mt_slot *s = &t->slot[tu_rnd(&rng, MT_SLOTS)];
		unsigned long r = tu_rnd(&rng, 4);

		pthread_mutex_lock(&s->lock);
		if (!s->handle) {
			size_t size = 1 + tu_rnd(&rng, t->max);
			int ret = zpool_malloc(t->pool, size, 0, &s->handle);

			if (ret) {
				s->handle = 0;
				mt_fail(t, "zpool_malloc(%zu) = %d", size, ret);
			} else {
				s->size = size;
				s->seed = tu_rnd_next(&rng);
				mt_write(t, s, ZPOOL_MM_WO);
			}
		} else if (r == 0) {
			mt_check(t, s);
			zpool_free(t->pool, s->handle);
			s->handle = 0;
		} else if (r == 1) {
			mt_check(t, s);
			s->seed = tu_rnd_next(&rng);
			mt_write(t, s, ZPOOL_MM_RW);
		} else {
			mt_check(t, s);
		}
		pthread_mutex_unlock(&s->lock);
	}
	atomic_fetch_sub(&t->workers_left, 1);
	return NULL;
}

/* Compacts (zsmalloc) or shrinks (zbud) until the workers are done. */
static void *mt_maintainer(void *arg)
{
	struct mt *t = mt_run;
	struct zpool_stats *st = malloc(sizeof(*st));

	if (!st) {
		mt_fail(t, "out of memory in the test");
		return NULL;
	}
	while (atomic_load(&t->workers_left) > 0) {
		unsigned int got = 0;

		if (zpool_malloc_support_movable(t->pool)) {
			atomic_fetch_add(&t->compacted, zpool_compact(t->pool));
		} else {
			int ret = zpool_shrink(t->pool, 1, &got);

			if (ret != 0 && ret != -EAGAIN && ret != -EINVAL)
				mt_fail(t, "zpool_shrink = %d", ret);
			if (ret == 0 && got != 1)
				mt_fail(t, "zpool_shrink reclaimed %u of 1", got);
			atomic_fetch_add(&t->shrink_calls, 1);
		}
		/* Stats are taken under the backends' locks while everything runs. */
		zpool_get_stats(t->pool, st);
		if (strcmp(st->type, zpool_get_type(t->pool)) != 0)
			mt_fail(t, "stats of the wrong type: %s", st->type);
		usleep(200);
	}
	free(st);
	return NULL;
}

static void run_threads(const char *type)
{
	enum { WORKERS = 4 };
	struct mt *t = calloc(1, sizeof(*t));
	pthread_t w[WORKERS], m;

	assert_non_null(t);
	for (int i = 0; i < MT_SLOTS; i++)
		pthread_mutex_init(&t->slot[i].lock, NULL);
	t->pool = zpool_create_pool(type, "threads", &mt_ops);
	assert_non_null(t->pool);
	t->max = zpool_max_alloc_size(t->pool);
	t->iterations = tu_scaled(20000);
	atomic_store(&t->workers_left, WORKERS);
	mt_run = t;
	for (long i = 0; i < WORKERS; i++)
		assert_int_equal(pthread_create(&w[i], NULL, mt_worker, (void *)(i + 1)), 0);
	assert_int_equal(pthread_create(&m, NULL, mt_maintainer, NULL), 0);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(w[i], NULL);
	pthread_join(m, NULL);
	if (atomic_load(&t->failed))
		fail_msg("threads %s: %s", type, t->why);
	print_message("threads %s: %d workers x %d steps, %lu evicted, %lu pages compacted, "
		      "%lu shrink calls\n", type, WORKERS, t->iterations,
		      (unsigned long)atomic_load(&t->evicted),
		      (unsigned long)atomic_load(&t->compacted),
		      (unsigned long)atomic_load(&t->shrink_calls));
	for (int i = 0; i < MT_SLOTS; i++) {
		struct mt_slot *s = &t->slot[i];

		if (s->handle) {
			assert_true(mt_check(t, s));
			zpool_free(t->pool, s->handle);
		}
		pthread_mutex_destroy(&s->lock);
	}
	zpool_compact(t->pool);
	assert_int_equal(zpool_get_total_size(t->pool), 0);
	zpool_destroy_pool(t->pool);
	mt_run = NULL;
	free(t);
}

static void test_threads_zsmalloc(void **state)
{
	run_threads("zsmalloc");
}

static void test_threads_zbud(void **state)
{
	run_threads("zbud");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_builtin_drivers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_error_per_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregister_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_third_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zbud_shrink_without_evict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_every_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_zsmalloc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_zbud, setup, teardown),
	};

	return cmocka_run_group_tests_name("zpool", tests, NULL, NULL);
}
