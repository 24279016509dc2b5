// SPDX-License-Identifier: MIT
/*
 * The helpers every unit test shares; see lib_testutil.h. Linked into every
 * unit test program by the Makefile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "zpage.h"
#include "lib_testutil.h"

bool tu_quick(void)
{
	const char *q = getenv("ZPOOL_TEST_QUICK");

	return q && *q && strcmp(q, "0") != 0;
}

int tu_scaled(int n)
{
	return tu_quick() ? n / 10 : n;
}

uint64_t tu_seed_value(void)
{
	const char *s = getenv("ZPOOL_TEST_SEED");

	if (s && *s)
		return strtoull(s, NULL, 0);
	/* Differs from run to run; the caller prints it so a failure can be replayed. */
	return (uint64_t)time(NULL) ^ (uint64_t)getpid();
}

uint64_t tu_seed(const char *what)
{
	uint64_t seed = tu_seed_value();

	print_message("%s: ZPOOL_TEST_SEED=%llu\n", what, (unsigned long long)seed);
	return tu_rnd_state(seed);
}

uint64_t tu_rnd_state(uint64_t seed)
{
	return seed ? seed : 1;
}

/* xorshift64*: small, fast, and the same sequence everywhere for a given seed. */
uint64_t tu_rnd_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

unsigned long tu_rnd(uint64_t *state, unsigned long n)
{
	return (unsigned long)(tu_rnd_next(state) % n);
}

unsigned long tu_pages_in_use(void)
{
	struct zpage_stats st;

	zpage_get_stats(&st);
	return st.pages_in_use;
}

/*
 * The pattern is made 8 bytes at a time from the tag and the word's index,
 * so any byte can be computed alone (tests flip single bytes and check
 * them) and filling a large object costs one multiply per word.
 */
static uint64_t pattern_word(uint64_t tag, size_t word)
{
	uint64_t x = (tag + 1) * 0x9e3779b97f4a7c15ULL + word * 0xbf58476d1ce4e5b9ULL;

	return x ^ x >> 31;
}

unsigned char tu_pattern(uint64_t tag, size_t i)
{
	return (unsigned char)(pattern_word(tag, i / 8) >> (8 * (i & 7)));
}

void tu_fill(void *p, size_t len, uint64_t tag)
{
	unsigned char *b = p;
	uint64_t x = 0;

	for (size_t i = 0; i < len; i++) {
		if ((i & 7) == 0)
			x = pattern_word(tag, i / 8);
		b[i] = (unsigned char)(x >> (8 * (i & 7)));
	}
}

bool tu_holds(const void *p, size_t len, uint64_t tag)
{
	const unsigned char *b = p;
	uint64_t x = 0;

	for (size_t i = 0; i < len; i++) {
		if ((i & 7) == 0)
			x = pattern_word(tag, i / 8);
		if (b[i] != (unsigned char)(x >> (8 * (i & 7))))
			return false;
	}
	return true;
}
