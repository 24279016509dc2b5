// SPDX-License-Identifier: MIT
/*
 * zs_lock.c - the class lock: a small futex mutex (zs_internal.h has the
 * inline fast paths).
 *
 * state: 0 unlocked, 1 locked, 2 locked and someone may be sleeping on it.
 * Locking is one compare-and-swap when free; a contended locker spins
 * briefly (critical sections are short: a malloc or free, one compaction
 * step), then sleeps in FUTEX_WAIT after setting state to 2; unlocking from 2
 * wakes one sleeper. This is the classic three-state futex mutex.
 *
 * Why not pthread_mutex_t: zs_pool_snapshot() holds every class lock at once
 * (119 of them), more than ThreadSanitizer's deadlock detector can track (64),
 * and the snapshot is specified to be taken that way. TSan sees these locks
 * through their atomics, which give the same acquire/release ordering.
 */
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zs_internal.h"

#define ZS_LOCK_SPINS 64
#define ZS_HANDOFF_SPINS 4096	/* pauses: tens of microseconds, a futex wake-up's time */

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

static void futex_wake(atomic_uint *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void zs_lock_slow(struct zs_lock *lock)
{
	unsigned int c;

	for (int i = 0; i < ZS_LOCK_SPINS; i++) {
		c = 0;
		if (atomic_load_explicit(&lock->state, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_weak_explicit(&lock->state, &c, 1, memory_order_acquire,
							  memory_order_relaxed))
			return;
		cpu_relax();
	}
	c = atomic_exchange_explicit(&lock->state, 2, memory_order_acquire);
	while (c != 0) {
		futex_wait(&lock->state, 2);
		c = atomic_exchange_explicit(&lock->state, 2, memory_order_acquire);
	}
}

void zs_unlock_slow(struct zs_lock *lock)
{
	atomic_store_explicit(&lock->state, 0, memory_order_release);
	futex_wake(&lock->state);
}

/*
 * Unlock for a thread that will lock again at once (compaction between two
 * steps). A plain unlock would let it barge back in before the sleeper it
 * woke is running, so a writer of the class could wait for the whole class
 * to be compacted. Here, if anyone was sleeping, the caller waits until some
 * other thread has taken the lock (a few microseconds), or yields its CPU
 * once if nobody came: each waiter pays at most one compaction step.
 */
void zs_unlock_handoff(struct zs_lock *lock)
{
	unsigned int prev = atomic_exchange_explicit(&lock->state, 0, memory_order_release);

	if (prev != 2)
		return;
	futex_wake(&lock->state);
	for (int i = 0; i < ZS_HANDOFF_SPINS; i++) {
		if (atomic_load_explicit(&lock->state, memory_order_relaxed) != 0)
			return;
		cpu_relax();
	}
	sched_yield();
}
