// SPDX-License-Identifier: MIT
/*
 * test_rwlock.c - the inode lock (fs/ns/rwlock.c): readers share it and may
 * take it again, a writer excludes everyone, try-locks say no instead of
 * waiting, a blocked writer is woken by the last reader and a blocked reader
 * by the writer, a reader goes in past a waiting writer (glibc's default
 * rwlock did the same), and threads hammering it keep plain (non-atomic)
 * data consistent, which ThreadSanitizer checks in the TSan build.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "../../fs/ns/rwlock.c"

static void pause_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

static void test_single(void **state)
{
	struct zfs_rwlock l;

	(void)state;
	assert_int_equal(sizeof(l), 4);
	zfs_rwlock_init(&l);
	zfs_rw_rdlock(&l);
	assert_true(zfs_rw_tryrdlock(&l));	/* readers share, and may take it again */
	assert_false(zfs_rw_trywrlock(&l));
	zfs_rw_unlock(&l);
	assert_false(zfs_rw_trywrlock(&l));
	zfs_rw_unlock(&l);
	assert_int_equal(atomic_load(&l.state), 0);
	zfs_rw_wrlock(&l);
	assert_false(zfs_rw_tryrdlock(&l));
	assert_false(zfs_rw_trywrlock(&l));
	zfs_rw_unlock(&l);
	assert_int_equal(atomic_load(&l.state), 0);
	assert_true(zfs_rw_trywrlock(&l));
	zfs_rw_unlock(&l);
	assert_int_equal(atomic_load(&l.state), 0);
}

/* Wait (at most 10 s, valgrind is slow) until someone sleeps on @l. */
static void wait_sleeper(struct zfs_rwlock *l)
{
	for (int i = 0; i < 10000 && !(atomic_load(&l->state) & ZFS_RW_WAITING); i++)
		pause_ms(1);
	assert_true(atomic_load(&l->state) & ZFS_RW_WAITING);
}

struct waiter {
	struct zfs_rwlock *l;
	bool write;
	atomic_int in;		/* 1 once it holds the lock */
	atomic_int release;	/* set by the test: let go */
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	if (w->write)
		zfs_rw_wrlock(w->l);
	else
		zfs_rw_rdlock(w->l);
	atomic_store(&w->in, 1);
	while (!atomic_load(&w->release))
		pause_ms(1);
	zfs_rw_unlock(w->l);
	return NULL;
}

static void start(struct waiter *w, struct zfs_rwlock *l, bool write, pthread_t *t)
{
	w->l = l;
	w->write = write;
	atomic_init(&w->in, 0);
	atomic_init(&w->release, 0);
	assert_int_equal(pthread_create(t, NULL, waiter_main, w), 0);
}

static void test_blocking(void **state)
{
	struct zfs_rwlock l = ZFS_RWLOCK_INIT;
	struct waiter wr, rd;
	pthread_t t1, t2;

	(void)state;
	/* two readers (us twice), a writer waits for both and sleeps meanwhile */
	zfs_rw_rdlock(&l);
	zfs_rw_rdlock(&l);
	start(&wr, &l, true, &t1);
	wait_sleeper(&l);
	assert_int_equal(atomic_load(&wr.in), 0);
	/* a reader still goes in past the waiting writer (reader preference) */
	assert_true(zfs_rw_tryrdlock(&l));
	zfs_rw_unlock(&l);
	zfs_rw_unlock(&l);
	pause_ms(20);
	assert_int_equal(atomic_load(&wr.in), 0);
	zfs_rw_unlock(&l);	/* the last reader wakes the writer */
	while (!atomic_load(&wr.in))
		pause_ms(1);
	assert_false(zfs_rw_tryrdlock(&l));

	/* a reader waits for the writer, and the writer's unlock wakes it */
	start(&rd, &l, false, &t2);
	wait_sleeper(&l);
	assert_int_equal(atomic_load(&rd.in), 0);
	atomic_store(&wr.release, 1);
	pthread_join(t1, NULL);
	while (!atomic_load(&rd.in))
		pause_ms(1);
	assert_false(zfs_rw_trywrlock(&l));
	atomic_store(&rd.release, 1);
	pthread_join(t2, NULL);
	assert_int_equal(atomic_load(&l.state), 0);
}

#define THREADS 4
#define ROUNDS 20000

static struct zfs_rwlock hl = ZFS_RWLOCK_INIT;
static unsigned long a, b;		/* plain data under hl: always equal outside a write */
static unsigned long writes[THREADS];
static atomic_int readers_inside, max_readers;
static atomic_int bad;			/* broken exclusion seen by a thread (asserted in main) */

static void *hammer(void *arg)
{
	long id = (long)arg;
	unsigned int seed = (unsigned int)id * 7919U + 1;

	for (int i = 0; i < ROUNDS; i++) {
		if (rand_r(&seed) % 4 == 0) {
			zfs_rw_wrlock(&hl);
			if (atomic_load(&readers_inside))
				atomic_fetch_add(&bad, 1);
			a++;
			if (i % 64 == 0)
				sched_yield();	/* let others pile up behind us */
			b++;
			writes[id]++;
			zfs_rw_unlock(&hl);
		} else {
			int n;

			zfs_rw_rdlock(&hl);
			n = atomic_fetch_add(&readers_inside, 1) + 1;
			if (n > atomic_load(&max_readers))
				atomic_store(&max_readers, n);
			if (a != b)
				atomic_fetch_add(&bad, 1);
			if (i % 64 == 0)
				sched_yield();
			atomic_fetch_sub(&readers_inside, 1);
			zfs_rw_unlock(&hl);
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[THREADS];
	unsigned long total = 0;

	(void)state;
	for (long i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++)
		total += writes[i];
	assert_int_equal(atomic_load(&bad), 0);
	assert_int_equal(a, total);
	assert_int_equal(b, total);
	assert_int_equal(atomic_load(&hl.state), 0);
	print_message("max readers inside at once: %d\n", atomic_load(&max_readers));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_blocking),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
