/* SPDX-License-Identifier: MIT */
/*
 * autocompact.h - the background compaction thread (see autocompact.c).
 */
#ifndef ZPOOLFS_AUTOCOMPACT_H
#define ZPOOLFS_AUTOCOMPACT_H

struct zfs_fs;

/**
 * zfs_autocompact_start - start compacting @fs's pool in the background
 * (nothing with -o nocompact). Call after the daemon has forked.
 * Return: 0, -ENOMEM, or a pthread_create/eventfd error (the mount can go
 * on without it).
 */
int zfs_autocompact_start(struct zfs_fs *fs);

/**
 * zfs_compact_now - compact @fs's pool now, counted as an automatic
 * compaction (autocompact.c, writeback.c). Return: pages freed.
 */
unsigned long zfs_compact_now(struct zfs_fs *fs);

/** zfs_autocompact_stop - stop and join the thread; before the pool is destroyed. */
void zfs_autocompact_stop(struct zfs_fs *fs);

#endif
