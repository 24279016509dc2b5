// SPDX-License-Identifier: MIT
/*
 * test_ptab_run.c - the page table's runs (fs/data/pagetable.c): zfs_ptab_run
 * reads a leaf's entries in place and zfs_ptab_store_run stores many entries
 * in one walk a leaf. Checked against a shadow array after random stores,
 * clears and runs (sparse, across leaves and tree heights, from height 0);
 * every entry a run shows equals the lookup at its index, and a run stops at
 * a hole in what it is given; clearing everything frees every node. Every
 * allocation of a run failing in turn: the run stores a prefix, the rest of
 * the table as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Allocation failures on demand: the table's realloc() goes through here. */
static long fail_countdown = -1;	/* fail the allocation when it reaches 0; -1: never */

static void *run_test_realloc(void *p, size_t n)
{
	if (fail_countdown >= 0 && fail_countdown-- == 0)
		return NULL;
	return realloc(p, n);
}

#define realloc run_test_realloc
#include "../../fs/data/pagetable.c"
#undef realloc
#include "lib_testutil.h"

#define SPAN (1U << 17)	/* indexes tested: up to height 3 */

static struct zfs_pte val(uint64_t idx, unsigned int gen)
{
	return zfs_pte_make(ZFS_PTE_COMP, (unsigned long)idx * 7919 + gen + 1, (gen + idx) % 4096);
}

static bool same(const struct zfs_pte *a, const struct zfs_pte *b)
{
	return a->val == b->val && a->info == b->info && a->atime == b->atime;
}

/* Every run, from every start, agrees with the shadow. */
static void check_runs(struct zfs_ptab *pt, const struct zfs_pte *shadow, uint64_t *rnd)
{
	for (int t = 0; t < 200; t++) {
		uint64_t idx = tu_rnd(rnd, SPAN), want = idx, found;
		const struct zfs_pte *run;
		unsigned int n;

		while (want < SPAN && zfs_pte_kind(&shadow[want]) == ZFS_PTE_HOLE)
			want++;
		n = zfs_ptab_run(pt, idx, &found, &run);
		if (want == SPAN) {
			assert_int_equal(n, 0);
			continue;
		}
		assert_true(n >= 1);
		assert_int_equal(found, want);
		for (unsigned int i = 0; i < n; i++) {
			struct zfs_pte e = zfs_ptab_lookup(pt, found + i);

			assert_true(same(&run[i], &e));
			if (found + i < SPAN)
				assert_true(same(&run[i], &shadow[found + i]));
		}
	}
}

static void test_model(void **state)
{
	uint64_t rnd = tu_seed("ptab_run");
	struct zfs_pte *shadow = calloc(SPAN, sizeof(*shadow));
	struct zfs_pte e[200], old[200];
	struct zfs_ptab pt;

	(void)state;
	assert_non_null(shadow);
	zfs_ptab_init(&pt);
	/* From height 0: a one-page file, then a run from index 0 that grows it. */
	e[0] = val(0, 1);
	assert_int_equal(zfs_ptab_store_run(&pt, 0, e, 1, old), 1);
	shadow[0] = e[0];
	check_runs(&pt, shadow, &rnd);
	for (unsigned int i = 0; i < 40; i++)
		e[i] = val(i, 2);
	assert_int_equal(zfs_ptab_store_run(&pt, 0, e, 40, old), 40);
	assert_true(same(&old[0], &shadow[0]));
	for (unsigned int i = 1; i < 40; i++)
		assert_int_equal(zfs_pte_kind(&old[i]), ZFS_PTE_HOLE);
	memcpy(shadow, e, 40 * sizeof(*e));
	check_runs(&pt, shadow, &rnd);

	for (int step = 0; step < tu_scaled(3000); step++) {
		uint64_t idx = tu_rnd(&rnd, SPAN - 200);
		unsigned int n = 1 + (unsigned int)tu_rnd(&rnd, 199), got, want = n;

		switch (tu_rnd(&rnd, 4)) {
		case 0: /* clear a range page by page */
			for (unsigned int i = 0; i < n; i++) {
				zfs_ptab_store(&pt, idx + i, (struct zfs_pte){ 0 }, &old[0]);
				assert_true(same(&old[0], &shadow[idx + i]));
				shadow[idx + i] = (struct zfs_pte){ 0 };
			}
			break;
		default: /* a run, sometimes with a hole in it */
			for (unsigned int i = 0; i < n; i++)
				e[i] = val(idx + i, (unsigned int)step);
			if (tu_rnd(&rnd, 5) == 0) {
				want = (unsigned int)tu_rnd(&rnd, n);
				e[want] = (struct zfs_pte){ 0 };
			}
			got = zfs_ptab_store_run(&pt, idx, e, n, old);
			assert_int_equal(got, want);
			for (unsigned int i = 0; i < got; i++) {
				assert_true(same(&old[i], &shadow[idx + i]));
				shadow[idx + i] = e[i];
			}
			break;
		}
		if (step % 100 == 0)
			check_runs(&pt, shadow, &rnd);
	}
	check_runs(&pt, shadow, &rnd);
	/* Leaf counts kept by the runs: clearing every entry frees every node. */
	for (uint64_t i = 0; i < SPAN; i++) {
		struct zfs_pte o;

		zfs_ptab_store(&pt, i, (struct zfs_pte){ 0 }, &o);
		assert_true(same(&o, &shadow[i]));
	}
	assert_int_equal(zfs_ptab_memory(&pt), 0);
	assert_null(pt.root);
	zfs_ptab_destroy(&pt);
	free(shadow);
}

static void test_enomem(void **state)
{
	struct zfs_pte e[100], old[100];
	bool stored_all = false;

	(void)state;
	for (unsigned int i = 0; i < 100; i++)
		e[i] = val(5000 + i, 3);
	for (long k = 0; !stored_all; k++) {
		struct zfs_ptab pt;
		struct zfs_pte keep = val(7, 1), o;
		unsigned int got;

		zfs_ptab_init(&pt);
		assert_int_equal(zfs_ptab_store(&pt, 7, keep, &o), 0);
		fail_countdown = k;
		got = zfs_ptab_store_run(&pt, 5003, e, 100, old);
		stored_all = fail_countdown >= 0;
		fail_countdown = -1;
		assert_true(stored_all ? got == 100 : got < 100);
		for (unsigned int i = 0; i < 100; i++) {
			struct zfs_pte l = zfs_ptab_lookup(&pt, 5003 + i);

			if (i < got)
				assert_true(same(&l, &e[i]));
			else
				assert_int_equal(zfs_pte_kind(&l), ZFS_PTE_HOLE);
		}
		o = zfs_ptab_lookup(&pt, 7);
		assert_true(same(&o, &keep));
		zfs_ptab_destroy(&pt);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_enomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
