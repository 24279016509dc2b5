// SPDX-License-Identifier: MIT
/*
 * test_replybuf.c - the shared stack of reply buffers (fs/fuse/replybuf.c): it
 * keeps no more idle buffers than it was told, reuses the ones it keeps,
 * gives over-sized requests a buffer of their own, never hands one buffer to
 * two readers at once, and frees everything at the end.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../fs/fuse/replybuf.c"
#include "lib_testutil.h"

#define MIB (1UL << 20)

static int teardown(void **state)
{
	(void)state;
	zfs_replybuf_fini();
	assert_int_equal(zfs_replybuf_kept(), 0);
	return 0;
}

static void test_keeps_at_most_n(void **state)
{
	void *b[5], *again[3];

	(void)state;
	zfs_replybuf_init(3);
	for (int i = 0; i < 5; i++) {
		b[i] = zfs_replybuf_get(MIB);
		assert_non_null(b[i]);
		memset(b[i], i + 1, MIB);	/* the whole MiB is ours */
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(b[i], b[j]);
	}
	assert_int_equal(zfs_replybuf_kept(), 0);
	for (int i = 0; i < 5; i++)
		zfs_replybuf_put(b[i], MIB);
	assert_int_equal(zfs_replybuf_kept(), 3);

	/* The kept ones come back, last given back first; then new ones. */
	for (int i = 0; i < 3; i++) {
		again[i] = zfs_replybuf_get(4096);
		assert_ptr_equal(again[i], b[2 - i]);
	}
	assert_int_equal(zfs_replybuf_kept(), 0);
	for (int i = 0; i < 3; i++)
		zfs_replybuf_put(again[i], 4096);
	assert_int_equal(zfs_replybuf_kept(), 3);
	zfs_replybuf_put(NULL, MIB);	/* ignored */
	assert_int_equal(zfs_replybuf_kept(), 3);
}

static void test_oversized_not_kept(void **state)
{
	char *big;

	(void)state;
	zfs_replybuf_init(2);
	big = zfs_replybuf_get(3 * MIB + 5);
	assert_non_null(big);
	memset(big, 0x5a, 3 * MIB + 5);
	assert_int_equal(big[3 * MIB + 4], 0x5a);
	zfs_replybuf_put(big, 3 * MIB + 5);
	assert_int_equal(zfs_replybuf_kept(), 0);
}

static void test_default_one_per_cpu(void **state)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int want = cpus > 0 ? (unsigned int)cpus : 1;
	void *b[REPLYBUF_MAX_KEEP + 1];
	unsigned int n = want + 1;

	(void)state;
	zfs_replybuf_init(0);
	assert_true(n <= REPLYBUF_MAX_KEEP + 1);
	for (unsigned int i = 0; i < n; i++)
		assert_non_null(b[i] = zfs_replybuf_get(MIB));
	for (unsigned int i = 0; i < n; i++)
		zfs_replybuf_put(b[i], MIB);
	assert_int_equal(zfs_replybuf_kept(), want);
}

#define THREADS 4
#define ROUNDS 2000

static void *reader(void *arg)
{
	unsigned char id = (unsigned char)(uintptr_t)arg;
	uintptr_t bad = 0;

	for (int r = 0; r < ROUNDS; r++) {
		unsigned char *b = zfs_replybuf_get(r % 3 ? MIB : 8192);

		if (!b)
			return (void *)1;
		/* Mark the first and last page, let the others run, check the marks. */
		memset(b, id, 4096);
		memset(b + 4096, id, 4096);
		sched_yield();
		for (int i = 0; i < 8192; i += 512)
			bad |= b[i] != id;
		zfs_replybuf_put(b, r % 3 ? MIB : 8192);
	}
	return (void *)bad;
}

static void test_threads_never_share(void **state)
{
	pthread_t t[THREADS];

	(void)state;
	zfs_replybuf_init(2);	/* fewer kept than threads: some get and free new ones */
	for (uintptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader, (void *)(i + 1)), 0);
	for (int i = 0; i < THREADS; i++) {
		void *ret;

		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	assert_true(zfs_replybuf_kept() <= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_keeps_at_most_n, teardown),
		cmocka_unit_test_teardown(test_oversized_not_kept, teardown),
		cmocka_unit_test_teardown(test_default_one_per_cpu, teardown),
		cmocka_unit_test_teardown(test_threads_never_share, teardown),
	};

	return cmocka_run_group_tests_name("replybuf", tests, NULL, NULL);
}
