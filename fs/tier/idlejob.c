// SPDX-License-Identifier: MIT
/*
 * idlejob.c - a background job at idle priority (recomp_after=, pack_after=).
 *
 * One thread per job, at SCHED_IDLE so that requests always come first: it
 * sleeps on a condition variable for the period, calls the job, and again,
 * until zfs_idlejob_stop() sets `stop` and signals it; the job looks at
 * zfs_idlejob_stopping() between files (zfs_idlejob_each_file() does) so
 * that an unmount does not wait for a whole pass. Stop joins the thread
 * before the inodes go.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "idlejob.h"

struct zfs_idlejob {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	atomic_bool stop;
	struct zfs_fs *fs;
	unsigned int period;
	void (*fn)(struct zfs_fs *fs);
};

static void *job_main(void *arg)
{
	struct zfs_idlejob *job = arg;
	struct sched_param sp = { 0 };

	pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	pthread_mutex_lock(&job->lock);
	while (!atomic_load(&job->stop)) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += job->period;
		pthread_cond_timedwait(&job->wake, &job->lock, &until);
		if (atomic_load(&job->stop))
			break;
		pthread_mutex_unlock(&job->lock);
		job->fn(job->fs);
		pthread_mutex_lock(&job->lock);
	}
	pthread_mutex_unlock(&job->lock);
	return NULL;
}

int zfs_idlejob_start(struct zfs_idlejob **slot, struct zfs_fs *fs, unsigned int period,
		      void (*fn)(struct zfs_fs *fs))
{
	struct zfs_idlejob *job = calloc(1, sizeof(*job));

	*slot = NULL;
	if (!job)
		return -ENOMEM;
	pthread_mutex_init(&job->lock, NULL);
	pthread_cond_init(&job->wake, NULL);
	atomic_init(&job->stop, false);
	job->fs = fs;
	job->period = period ? period : 1;
	job->fn = fn;
	*slot = job;
	if (pthread_create(&job->thread, NULL, job_main, job)) {
		*slot = NULL;
		pthread_cond_destroy(&job->wake);
		pthread_mutex_destroy(&job->lock);
		free(job);
		return -EAGAIN;
	}
	return 0;
}

bool zfs_idlejob_stopping(const struct zfs_idlejob *job)
{
	return job && atomic_load_explicit(&job->stop, memory_order_relaxed);
}

void zfs_idlejob_each_file(struct zfs_fs *fs, const struct zfs_idlejob *job,
			   void (*fn)(struct zfs_fs *fs, struct zfs_inode *in, void *arg), void *arg)
{
	uint64_t last = atomic_load_explicit(&fs->next_ino, memory_order_relaxed);

	for (uint64_t ino = 1; ino <= last && !zfs_idlejob_stopping(job); ino++) {
		struct zfs_inode *in = zfs_iget(fs, ino);

		if (!in)
			continue;
		if (zfs_is_reg(in) && in->special == ZFS_NORMAL)
			fn(fs, in, arg);
		zfs_iput(fs, in);
	}
}

void zfs_idlejob_stop(struct zfs_idlejob **slot)
{
	struct zfs_idlejob *job = *slot;

	if (!job)
		return;
	pthread_mutex_lock(&job->lock);
	atomic_store(&job->stop, true);
	pthread_cond_signal(&job->wake);
	pthread_mutex_unlock(&job->lock);
	pthread_join(job->thread, NULL);
	*slot = NULL;
	pthread_cond_destroy(&job->wake);
	pthread_mutex_destroy(&job->lock);
	free(job);
}
