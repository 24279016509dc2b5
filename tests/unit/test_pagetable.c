// SPDX-License-Identifier: MIT
/*
 * test_pagetable.c - a file's page table (fs/data/pagetable.c): right-sized
 * nodes (a 5-page file has a 5-entry leaf, a 20-page one a 2-slot interior
 * node), random stores, clears and lookups checked against a flat array,
 * zfs_ptab_next over holes, nodes freed when emptied, and allocation
 * failures (every one in turn) leaving the table as it was.
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

static void *pt_test_realloc(void *p, size_t n)
{
	if (fail_countdown >= 0 && fail_countdown-- == 0)
		return NULL;
	return realloc(p, n);
}

#define realloc pt_test_realloc
#include "../../fs/data/pagetable.c"
#undef realloc

static struct zfs_pte ent(unsigned long v)
{
	return zfs_pte_make(ZFS_PTE_COMP, v, 100);
}

static void store(struct zfs_ptab *pt, uint64_t idx, struct zfs_pte e)
{
	struct zfs_pte old;

	assert_int_equal(zfs_ptab_store(pt, idx, e, &old), 0);
}

static void test_sizes(void **state)
{
	struct zfs_ptab pt;
	struct zfs_pte h;

	(void)state;
	zfs_ptab_init(&pt);
	store(&pt, 0, ent(1));
	assert_int_equal(zfs_ptab_memory(&pt), 0);	/* one page: inline */
	store(&pt, 1, ent(2));
	assert_int_equal(zfs_ptab_memory(&pt), 8 + 2 * 16);
	for (unsigned long i = 2; i < 5; i++)
		store(&pt, i, ent(i + 1));
	assert_int_equal(zfs_ptab_memory(&pt), 8 + 5 * 16);	/* 5 pages: 5 entries */
	for (unsigned long i = 5; i < 16; i++)
		store(&pt, i, ent(i + 1));
	assert_int_equal(zfs_ptab_memory(&pt), 8 + 16 * 16);
	for (unsigned long i = 16; i < 20; i++)
		store(&pt, i, ent(i + 1));
	/* 20 pages: a 2-slot node, a full leaf and a 4-entry one */
	assert_int_equal(zfs_ptab_memory(&pt), (8 + 2 * 8) + (8 + 16 * 16) + (8 + 4 * 16));
	for (unsigned long i = 0; i < 20; i++)
		assert_int_equal(zfs_ptab_lookup(&pt, i).val, i + 1);
	h = zfs_ptab_lookup(&pt, 20);
	assert_int_equal(zfs_pte_kind(&h), ZFS_PTE_HOLE);
	assert_null(zfs_ptab_slot(&pt, 24));
	assert_null(zfs_ptab_slot(&pt, 40));

	/*
	 * a lone page far out (5000 = 4 << 10 | 56 << 4 | 8): only its path, each
	 * node with room up to the index it holds (interior nodes: an even count)
	 */
	zfs_ptab_destroy(&pt);
	store(&pt, 5000, ent(7));
	assert_int_equal(zfs_ptab_lookup(&pt, 5000).val, 7);
	assert_int_equal(zfs_ptab_memory(&pt), (8 + 6 * 8) + (8 + 58 * 8) + (8 + 9 * 16));
	zfs_ptab_destroy(&pt);
	assert_int_equal(zfs_ptab_memory(&pt), 0);
}

#define MODEL 3000

static void check_model(struct zfs_ptab *pt, const unsigned long *model)
{
	uint64_t idx = 0, found;
	struct zfs_pte e;

	for (uint64_t i = 0; i < MODEL; i++)
		assert_int_equal(zfs_ptab_lookup(pt, i).val, model[i]);
	/* zfs_ptab_next visits exactly the model's non-holes, in order */
	for (uint64_t i = 0; i < MODEL; i++) {
		if (!model[i])
			continue;
		assert_true(zfs_ptab_next(pt, idx, &found, &e));
		assert_int_equal(found, i);
		assert_int_equal(e.val, model[i]);
		idx = i + 1;
	}
	assert_false(zfs_ptab_next(pt, idx, &found, &e));
}

static void test_random(void **state)
{
	static unsigned long model[MODEL];
	struct zfs_ptab pt;
	struct zfs_pte old;

	(void)state;
	srandom(1234);
	for (int round = 0; round < 20; round++) {
		/* each round has its own range: small files, one leaf, several levels */
		uint64_t span = round % 4 == 0 ? 3 : round % 4 == 1 ? 17 : round % 4 == 2 ? 300 : MODEL;

		memset(model, 0, sizeof(model));
		zfs_ptab_init(&pt);
		for (int op = 0; op < 4000; op++) {
			uint64_t i = (uint64_t)random() % span;

			if (random() % 3 == 0) {
				assert_int_equal(zfs_ptab_store(&pt, i, (struct zfs_pte){ 0 }, &old),
						 0);
				assert_int_equal(old.val, model[i]);
				model[i] = 0;
			} else {
				unsigned long v = (unsigned long)op + 1;

				assert_int_equal(zfs_ptab_store(&pt, i, ent(v), &old), 0);
				assert_int_equal(old.val, model[i]);
				model[i] = v;
			}
			if (op % 500 == 0)
				check_model(&pt, model);
		}
		check_model(&pt, model);
		/* clearing every entry frees every node */
		for (uint64_t i = 0; i < MODEL; i++)
			if (model[i])
				assert_int_equal(zfs_ptab_store(&pt, i, (struct zfs_pte){ 0 }, &old),
						 0);
		assert_int_equal(zfs_ptab_memory(&pt), 0);
		assert_null(pt.root);
		zfs_ptab_destroy(&pt);
	}
}

/* Every allocation of a store fails in turn: -ENOMEM and the table as it was. */
static void test_enomem(void **state)
{
	static const uint64_t targets[] = { 1, 3, 9, 15, 16, 40, 1023, 1024, 70000, 2 };
	struct zfs_ptab pt;
	struct zfs_pte old;
	unsigned long model[8] = { 0 };
	uint64_t where[8];
	int n = 0;

	(void)state;
	zfs_ptab_init(&pt);
	store(&pt, 0, ent(100));
	where[n] = 0;
	model[n++] = 100;
	for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]) && n < 8; t++) {
		long k;

		for (k = 0;; k++) {
			int r;

			fail_countdown = k;
			r = zfs_ptab_store(&pt, targets[t], ent(200 + t), &old);
			if (fail_countdown >= 0) {	/* fewer than k + 1 allocations: stored */
				fail_countdown = -1;
				assert_int_equal(r, 0);
				break;
			}
			fail_countdown = -1;
			assert_int_equal(r, -ENOMEM);
			for (int j = 0; j < n; j++)
				assert_int_equal(zfs_ptab_lookup(&pt, where[j]).val, model[j]);
			assert_int_equal(zfs_ptab_lookup(&pt, targets[t]).val, 0);
		}
		where[n] = targets[t];
		model[n++] = 200 + t;
		for (int j = 0; j < n; j++)
			assert_int_equal(zfs_ptab_lookup(&pt, where[j]).val, model[j]);
	}
	zfs_ptab_destroy(&pt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_enomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
