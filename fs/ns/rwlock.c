// SPDX-License-Identifier: MIT
/*
 * rwlock.c - the inode lock: a readers-writer lock in one 32-bit word,
 * sleeping on a futex (the fast paths are inline in rwlock.h).
 *
 * Design
 * ------
 *   31                                  2     1        0
 *   +-------------------------------------+---------+--------+
 *   | readers holding it                  | WAITING | WRITER |
 *   +-------------------------------------+---------+--------+
 *
 * Why: every inode has one, and pthread_rwlock_t is 56 bytes; this is 4
 * (issue 11, the daemon's memory per inode).
 *
 * Invariants: WRITER and a non-zero reader count never hold together; only
 * the writer clears WRITER; WAITING is set by a thread about to sleep and
 * cleared only by an unlock that then wakes every sleeper.
 *
 *   read lock    one CAS adding a reader when WRITER is clear
 *   write lock   one CAS setting WRITER when no reader and no writer hold it
 *                (WAITING is kept: other sleepers may still be there)
 *   unlock       writer: exchange with 0, wake all if WAITING was set;
 *                reader: subtract one; the last reader out with WAITING set
 *                swaps WAITING for 0 and wakes all (if the swap fails a new
 *                holder came in, and its own unlock does the waking)
 *   contended    spin a little, then set WAITING and FUTEX_WAIT on the word
 *                with that value; the kernel compares before sleeping, so a
 *                wake-up between the two cannot be lost
 *
 * Semantics are those of glibc's default rwlock (PTHREAD_RWLOCK_PREFER_READER_NP),
 * which the inodes used before: readers go in whenever no writer holds the
 * lock, even with writers waiting, so a thread may take a read lock it
 * already holds, and a stream of readers can make a writer wait. Waking all
 * sleepers on release is simple and right for a per-inode lock, rarely
 * contended by more than the few request threads.
 *
 * ThreadSanitizer sees the lock through its atomics: acquire on every
 * successful lock, release on every unlock, which order the protected data
 * as a mutex does (it does not check lock order for these, as it does not
 * for libzpool's futex mutex, alloc/zs_lock.c). No errors are possible:
 * futex() failures (EAGAIN: the word moved, EINTR) just mean "look again".
 */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rwlock.h"

#define SPINS 64

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static void futex_wait(atomic_uint *addr, unsigned int val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

void zfs_rw_wake(struct zfs_rwlock *l)
{
	syscall(SYS_futex, &l->state, FUTEX_WAKE_PRIVATE, __INT_MAX__, NULL, NULL, 0);
}

/*
 * Sleep until the word changes from @s, after making sure WAITING is set in
 * it. Return: false if the word had already moved (look again at once).
 */
static bool sleep_on(struct zfs_rwlock *l, unsigned int s)
{
	if (!(s & ZFS_RW_WAITING) &&
	    !atomic_compare_exchange_strong_explicit(&l->state, &s, s | ZFS_RW_WAITING,
						     memory_order_relaxed, memory_order_relaxed))
		return false;
	futex_wait(&l->state, s | ZFS_RW_WAITING);
	return true;
}

void zfs_rw_rdlock_slow(struct zfs_rwlock *l)
{
	unsigned int s;

	for (int i = 0; i < SPINS; i++) {
		cpu_relax();
		if (zfs_rw_tryrdlock(l))
			return;
	}
	for (;;) {
		s = atomic_load_explicit(&l->state, memory_order_relaxed);
		if (!(s & ZFS_RW_WRITER)) {
			if (atomic_compare_exchange_weak_explicit(&l->state, &s, s + ZFS_RW_READER,
								  memory_order_acquire,
								  memory_order_relaxed))
				return;
			continue;
		}
		sleep_on(l, s);
	}
}

void zfs_rw_wrlock_slow(struct zfs_rwlock *l)
{
	unsigned int s;

	for (int i = 0; i < SPINS; i++) {
		cpu_relax();
		if (zfs_rw_trywrlock(l))
			return;
	}
	for (;;) {
		s = atomic_load_explicit(&l->state, memory_order_relaxed);
		if (!(s & ~ZFS_RW_WAITING)) {
			if (atomic_compare_exchange_weak_explicit(&l->state, &s, s | ZFS_RW_WRITER,
								  memory_order_acquire,
								  memory_order_relaxed))
				return;
			continue;
		}
		sleep_on(l, s);
	}
}
