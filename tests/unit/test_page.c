// SPDX-License-Identifier: MIT
/* Page provider: counting, alignment, RSS really dropping, fault injection. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../alloc/page.h"

static long rss_pages(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident;
}

static void test_alloc_free_counts(void **state)
{
	struct zpage_stats before, mid, after;
	void *pages[1000];

	zpage_get_stats(&before);
	for (int i = 0; i < 1000; i++) {
		pages[i] = zpage_alloc();
		assert_non_null(pages[i]);
		assert_int_equal((uintptr_t)pages[i] % ZPAGE_SIZE, 0);
		memset(pages[i], i & 0xff, ZPAGE_SIZE);
	}
	zpage_get_stats(&mid);
	assert_int_equal(mid.pages_in_use - before.pages_in_use, 1000);
	assert_true(mid.pages_peak >= mid.pages_in_use);
	/* Every page is distinct and holds what was written. */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(((unsigned char *)pages[i])[ZPAGE_SIZE - 1], i & 0xff);
	for (int i = 0; i < 1000; i++)
		zpage_free(pages[i]);
	zpage_get_stats(&after);
	assert_int_equal(after.pages_in_use, before.pages_in_use);
	assert_int_equal(after.frees - before.frees, 1000);
}

static void test_rss_drops(void **state)
{
	enum { N = 8192 }; /* 32 MiB */
	static void *pages[N];
	long rss0, rss1, rss2;

	rss0 = rss_pages();
	for (int i = 0; i < N; i++) {
		pages[i] = zpage_alloc();
		assert_non_null(pages[i]);
		memset(pages[i], 0x5a, ZPAGE_SIZE);
	}
	rss1 = rss_pages();
	assert_true(rss1 - rss0 >= N * 9 / 10);
	for (int i = 0; i < N; i++)
		zpage_free(pages[i]);
	rss2 = rss_pages();
	/* All but the hot cache (256 pages) must have left RSS at once... */
	assert_true(rss1 - rss2 >= N - 256 - N / 20);
	/* ...and the cache too once trimmed. */
	zpage_trim();
	assert_true(rss1 - rss_pages() >= N - N / 20);
}

static void test_hot_cache_bounded(void **state)
{
	enum { N = 1024 };
	static void *pages[N];
	struct zpage_stats st;

	for (int i = 0; i < N; i++)
		assert_non_null(pages[i] = zpage_alloc());
	for (int i = 0; i < N; i++)
		zpage_free(pages[i]);
	zpage_get_stats(&st);
	assert_int_equal(st.pages_cached, 256);
	/* The cache took the first 256 pages freed; the last of them comes back first. */
	void *p = zpage_alloc();
	assert_ptr_equal(p, pages[255]);
	zpage_get_stats(&st);
	assert_int_equal(st.pages_cached, 255);
	zpage_free(p);
	zpage_trim();
	zpage_get_stats(&st);
	assert_int_equal(st.pages_cached, 0);
}

static void test_fail_nth(void **state)
{
	struct zpage_stats a, b;
	void *p1, *p2, *p3;

	zpage_get_stats(&a);
	zpage_fail_nth(2);
	p1 = zpage_alloc();
	assert_non_null(p1);
	errno = 0;
	p2 = zpage_alloc();
	assert_null(p2);
	assert_int_equal(errno, ENOMEM);
	p3 = zpage_alloc();
	assert_non_null(p3);
	zpage_get_stats(&b);
	assert_int_equal(b.failures - a.failures, 1);
	zpage_free(p1);
	zpage_free(p3);
}

static void test_fail_every(void **state)
{
	int failed = 0;
	void *p[30];

	zpage_fail_every(3);
	for (int i = 0; i < 30; i++) {
		p[i] = zpage_alloc();
		failed += !p[i];
	}
	zpage_fail_reset();
	assert_int_equal(failed, 10);
	for (int i = 0; i < 30; i++)
		zpage_free(p[i]); /* NULL is ignored */
	void *q = zpage_alloc();
	assert_non_null(q);
	zpage_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_free_counts),
		cmocka_unit_test(test_rss_drops),
		cmocka_unit_test(test_hot_cache_bounded),
		cmocka_unit_test(test_fail_nth),
		cmocka_unit_test(test_fail_every),
	};

	return cmocka_run_group_tests_name("page", tests, NULL, NULL);
}
