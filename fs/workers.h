/* SPDX-License-Identifier: MIT */
/*
 * workers.h - helper threads that share the compression of one large write.
 */
#ifndef ZPOOLFS_WORKERS_H
#define ZPOOLFS_WORKERS_H

#include <stdbool.h>

enum zfs_job_state { ZFS_JOB_QUEUED, ZFS_JOB_RUNNING, ZFS_JOB_DONE };

struct zfs_job {
	void (*fn)(void *arg);
	void *arg;
	struct zfs_job *next;		/* queue lock */
	enum zfs_job_state state;	/* queue lock */
};

/**
 * zfs_workers_start - start @n helper threads (0: none; jobs then run in
 * the caller). Call after fork (fuse_daemonize), before serving requests.
 * Return: 0 or -errno (the helpers started so far keep working).
 */
int zfs_workers_start(unsigned int n);

/** zfs_workers_stop - stop and join every helper; queued jobs run first. */
void zfs_workers_stop(void);

/** zfs_workers_count - the number of helper threads. */
unsigned int zfs_workers_count(void);

/**
 * zfs_job_submit - queue @job for a helper. Return: false when there is no
 * helper (the caller runs @job itself).
 */
bool zfs_job_submit(struct zfs_job *job);

/**
 * zfs_job_finish - make sure @job has run: if no helper has taken it yet,
 * run it on the calling thread; else wait until the helper is done.
 */
void zfs_job_finish(struct zfs_job *job);

#endif
