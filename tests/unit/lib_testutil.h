/* SPDX-License-Identifier: MIT */
/*
 * lib_testutil.h - what every unit test needs and no test should redefine:
 * the knobs (ZPOOL_TEST_QUICK, ZPOOL_TEST_SEED), one random generator, the
 * page provider's count, and one byte pattern for "store it, check it later".
 *
 * One copy keeps the knobs meaning the same thing in every program, and a
 * printed seed replaying the same sequence whichever test printed it.
 */
#ifndef ZPOOL_TEST_LIB_TESTUTIL_H
#define ZPOOL_TEST_LIB_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * tu_quick - whether ZPOOL_TEST_QUICK asks for short runs.
 *
 * Set, not empty and not "0" means quick: valgrind and TSan runs use it.
 */
bool tu_quick(void);

/**
 * tu_scaled - an iteration count, cut by ten in quick runs.
 * @n: the count for a full run.
 */
int tu_scaled(int n);

/**
 * tu_seed_value - the seed ZPOOL_TEST_SEED names, or a new one each run.
 *
 * Nothing is printed: for callers whose seed line carries more than the seed.
 * Return: the seed, which may be 0 (see tu_rnd_state()).
 */
uint64_t tu_seed_value(void);

/**
 * tu_seed - tu_seed_value(), printed as "@what: ZPOOL_TEST_SEED=n".
 * @what: names the test part the seed drives.
 *
 * Return: a generator state for the seed (never 0).
 */
uint64_t tu_seed(const char *what);

/**
 * tu_rnd_state - the generator state for @seed.
 * @seed: any value.
 *
 * Return: @seed, or 1 for 0: xorshift never leaves the all-zero state.
 */
uint64_t tu_rnd_state(uint64_t seed);

/**
 * tu_rnd_next - the next 64 random bits (xorshift64*).
 * @state: the generator, advanced; must not be 0.
 */
uint64_t tu_rnd_next(uint64_t *state);

/**
 * tu_rnd - a random number below @n.
 * @state: the generator, advanced by one step.
 * @n: the bound, at least 1.
 */
unsigned long tu_rnd(uint64_t *state, unsigned long n);

/**
 * tu_pages_in_use - pages the page provider has handed out and not got back.
 *
 * Tests compare it before and after to prove every page came back.
 */
unsigned long tu_pages_in_use(void);

/**
 * tu_pattern - byte @i of the pattern keyed by @tag.
 * @tag: any value; different tags give different patterns.
 * @i: the byte's offset in the object.
 */
unsigned char tu_pattern(uint64_t tag, size_t i);

/**
 * tu_fill - write the pattern keyed by @tag into @len bytes at @p.
 * @p: where the bytes go.
 * @len: how many.
 * @tag: the key, to give to tu_holds() later.
 */
void tu_fill(void *p, size_t len, uint64_t tag);

/**
 * tu_holds - whether @len bytes at @p are still the pattern of @tag.
 * @p: the bytes to check.
 * @len: how many.
 * @tag: the key given to tu_fill().
 */
bool tu_holds(const void *p, size_t len, uint64_t tag);

#endif
