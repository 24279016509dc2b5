/* SPDX-License-Identifier: MIT */
/*
 * workers.h - helper threads that share the pages of one large request.
 */
#ifndef ZPOOLFS_WORKERS_H
#define ZPOOLFS_WORKERS_H

#include <stdatomic.h>
#include <stdbool.h>

/*
 * A run of @n items (pages) that the calling thread and the helpers share:
 * every thread claims @chunk items at a time until none is left. The caller
 * embeds it in its own context and sets @fn, @n and @chunk; the rest belongs
 * to workers.c.
 */
struct zfs_par {
	void (*fn)(struct zfs_par *p, unsigned int from, unsigned int to);
	unsigned int n;
	unsigned int chunk;
	atomic_uint next;		/* first item not claimed yet */
	atomic_uint inside;		/* helpers working on it (queue lock to raise) */
	struct zfs_par *qnext;		/* queue lock */
	bool queued;			/* queue lock */
	bool waiting;			/* queue lock: the caller sleeps until inside is 0 */
};

/**
 * zfs_workers_start - start @n helper threads (0: none; runs then stay on
 * the caller). Call after fork (fuse_daemonize), before serving requests.
 * Return: 0 or -errno (the helpers started so far keep working).
 */
int zfs_workers_start(unsigned int n);

/** zfs_workers_stop - stop and join every helper (no run may be in progress). */
void zfs_workers_stop(void);

/** zfs_workers_count - the number of helper threads. */
unsigned int zfs_workers_count(void);

/**
 * zfs_par_run - call @p->fn over every item of [0, @p->n), in chunks, on
 * this thread and on whichever helpers are free; return when all are done.
 * Items may run in any order and on any of those threads, so @fn must only
 * touch what its own items own. Locks the caller holds stay held meanwhile
 * (helpers rely on them: they run only while the caller waits here).
 */
void zfs_par_run(struct zfs_par *p);

#endif
