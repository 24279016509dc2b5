/* SPDX-License-Identifier: MIT */
/*
 * rwlock.h - the inode lock: a 4-byte readers-writer lock on a futex (the
 * design is at the top of rwlock.c). The fast paths are inline: one
 * compare-and-swap to lock, one atomic operation to unlock.
 */
#ifndef ZPOOLFS_RWLOCK_H
#define ZPOOLFS_RWLOCK_H

#include <stdatomic.h>
#include <stdbool.h>

struct zfs_rwlock {
	atomic_uint state;	/* ZFS_RW_*: readers << 2 | WAITING | WRITER; 0 = free */
};

#define ZFS_RW_WRITER 1U	/* a writer holds it */
#define ZFS_RW_WAITING 2U	/* someone may be asleep on it: unlocking wakes everyone */
#define ZFS_RW_READER 4U	/* one reader */

#define ZFS_RWLOCK_INIT { 0 }

static inline void zfs_rwlock_init(struct zfs_rwlock *l)
{
	atomic_init(&l->state, 0);
}

/** zfs_rw_tryrdlock - take it for reading unless a writer holds it. */
static inline bool zfs_rw_tryrdlock(struct zfs_rwlock *l)
{
	unsigned int s = atomic_load_explicit(&l->state, memory_order_relaxed);

	while (!(s & ZFS_RW_WRITER))
		if (atomic_compare_exchange_weak_explicit(&l->state, &s, s + ZFS_RW_READER,
							  memory_order_acquire, memory_order_relaxed))
			return true;
	return false;
}

/** zfs_rw_trywrlock - take it for writing if nobody holds it. */
static inline bool zfs_rw_trywrlock(struct zfs_rwlock *l)
{
	unsigned int s = atomic_load_explicit(&l->state, memory_order_relaxed);

	while (!(s & ~ZFS_RW_WAITING))
		if (atomic_compare_exchange_weak_explicit(&l->state, &s, s | ZFS_RW_WRITER,
							  memory_order_acquire, memory_order_relaxed))
			return true;
	return false;
}

void zfs_rw_rdlock_slow(struct zfs_rwlock *l);
void zfs_rw_wrlock_slow(struct zfs_rwlock *l);
void zfs_rw_wake(struct zfs_rwlock *l);

static inline void zfs_rw_rdlock(struct zfs_rwlock *l)
{
	if (!zfs_rw_tryrdlock(l))
		zfs_rw_rdlock_slow(l);
}

static inline void zfs_rw_wrlock(struct zfs_rwlock *l)
{
	if (!zfs_rw_trywrlock(l))
		zfs_rw_wrlock_slow(l);
}

/** zfs_rw_unlock - release it, held for reading or for writing. */
static inline void zfs_rw_unlock(struct zfs_rwlock *l)
{
	unsigned int s = atomic_load_explicit(&l->state, memory_order_relaxed);

	if (s & ZFS_RW_WRITER) {
		/* only our own unlock clears WRITER; sleepers may add WAITING meanwhile */
		if (atomic_exchange_explicit(&l->state, 0, memory_order_release) & ZFS_RW_WAITING)
			zfs_rw_wake(l);
	} else if (atomic_fetch_sub_explicit(&l->state, ZFS_RW_READER, memory_order_release) ==
		   (ZFS_RW_READER | ZFS_RW_WAITING)) {
		/* the last reader, and someone waits (a writer) */
		unsigned int w = ZFS_RW_WAITING;

		if (atomic_compare_exchange_strong_explicit(&l->state, &w, 0, memory_order_release,
							    memory_order_relaxed))
			zfs_rw_wake(l);
	}
}

#endif
