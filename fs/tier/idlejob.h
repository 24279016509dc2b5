/* SPDX-License-Identifier: MIT */
/*
 * idlejob.h - a job the daemon runs in the background at idle priority,
 * every few seconds, until unmount (idlejob.c): recomp_after=, pack_after=.
 */
#ifndef ZPOOLFS_IDLEJOB_H
#define ZPOOLFS_IDLEJOB_H

#include <stdbool.h>

#include "zfs.h"

struct zfs_idlejob;

/**
 * zfs_idlejob_start - a thread at SCHED_IDLE that calls @fn(@fs) every
 * @period seconds (the first call one period from now) until stopped. *@slot
 * is set before the thread starts, so @fn may read it (zfs_idlejob_stopping()).
 * Return: 0, or -ENOMEM/-EAGAIN with *@slot NULL (no thread).
 */
int zfs_idlejob_start(struct zfs_idlejob **slot, struct zfs_fs *fs, unsigned int period,
		      void (*fn)(struct zfs_fs *fs));

/** zfs_idlejob_stopping - has zfs_idlejob_stop() been called? (false for NULL) */
bool zfs_idlejob_stopping(const struct zfs_idlejob *job);

/**
 * zfs_idlejob_each_file - call @fn(@fs, inode, @arg) on every regular file
 * by inode number, each held by a reference, until @job is stopping (a NULL
 * @job: a walk of its own, to the end). Context: no lock held.
 */
void zfs_idlejob_each_file(struct zfs_fs *fs, const struct zfs_idlejob *job,
			   void (*fn)(struct zfs_fs *fs, struct zfs_inode *in, void *arg), void *arg);

/** zfs_idlejob_stop - stop the job, wait for its thread, set *@slot NULL (NULL: nothing). */
void zfs_idlejob_stop(struct zfs_idlejob **slot);

#endif
