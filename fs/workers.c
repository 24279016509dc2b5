// SPDX-License-Identifier: MIT
/*
 * workers.c - helper threads that share the compression of one large write.
 *
 * Design
 * ------
 * The kernel hands a sequential writer's data over in 1 MiB requests, one
 * after the other, so a single request is all the work there is for one
 * stream; compressing it on one thread leaves the other cores idle. data.c
 * cuts the full pages of a large batch into parts and queues all but its own
 * part here. A job is taken back by its submitter if no helper has started
 * it by the time the submitter finished its own part, so a busy machine (all
 * cores already serving requests) loses nothing by the queue:
 *
 *   submitter:  queue job B ... encode part A ... finish(B): still QUEUED?
 *                                                   yes: run B here
 *                                                   no:  wait until DONE
 *   helper:     take B (QUEUED -> RUNNING) ... encode part B ... DONE, signal
 *
 * Locking: one mutex (queue_lock) with two condition variables, one to wake
 * helpers and one to wake waiting submitters; it is held only to move a job
 * between states, never while a job runs. Each helper compresses with its
 * own thread-local context (compress.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "workers.h"

#define MAX_WORKERS 16

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cond = PTHREAD_COND_INITIALIZER;	/* queue_lock */
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;	/* queue_lock */
static struct zfs_job *head, *tail;	/* queue_lock */
static bool stopping;			/* queue_lock */
static pthread_t threads[MAX_WORKERS];
static unsigned int nthreads;		/* set before and after the helpers run */

static void *worker_main(void *unused)
{
	struct zfs_job *job;

	pthread_mutex_lock(&queue_lock);
	for (;;) {
		while (!head && !stopping)
			pthread_cond_wait(&work_cond, &queue_lock);
		if (!head)
			break;
		job = head;
		head = job->next;
		if (!head)
			tail = NULL;
		job->state = ZFS_JOB_RUNNING;
		pthread_mutex_unlock(&queue_lock);

		job->fn(job->arg);

		pthread_mutex_lock(&queue_lock);
		job->state = ZFS_JOB_DONE;
		pthread_cond_broadcast(&done_cond);
	}
	pthread_mutex_unlock(&queue_lock);
	return NULL;
}

int zfs_workers_start(unsigned int n)
{
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	while (nthreads < n) {
		int err = pthread_create(&threads[nthreads], NULL, worker_main, NULL);

		if (err)
			return -err;
		nthreads++;
	}
	return 0;
}

void zfs_workers_stop(void)
{
	pthread_mutex_lock(&queue_lock);
	stopping = true;
	pthread_cond_broadcast(&work_cond);
	pthread_mutex_unlock(&queue_lock);
	for (unsigned int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	nthreads = 0;
	stopping = false;
}

unsigned int zfs_workers_count(void)
{
	return nthreads;
}

bool zfs_job_submit(struct zfs_job *job)
{
	if (!nthreads)
		return false;
	job->next = NULL;
	job->state = ZFS_JOB_QUEUED;
	pthread_mutex_lock(&queue_lock);
	if (tail)
		tail->next = job;
	else
		head = job;
	tail = job;
	pthread_cond_signal(&work_cond);
	pthread_mutex_unlock(&queue_lock);
	return true;
}

/* Take @job out of the queue. Called with queue_lock; the job is QUEUED. */
static void unqueue(struct zfs_job *job)
{
	struct zfs_job **pp = &head, *prev = NULL;

	while (*pp != job) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	*pp = job->next;
	if (tail == job)
		tail = prev;
}

void zfs_job_finish(struct zfs_job *job)
{
	pthread_mutex_lock(&queue_lock);
	if (job->state == ZFS_JOB_QUEUED) {
		unqueue(job);
		job->state = ZFS_JOB_RUNNING;
		pthread_mutex_unlock(&queue_lock);
		job->fn(job->arg);
		return;
	}
	while (job->state != ZFS_JOB_DONE)
		pthread_cond_wait(&done_cond, &queue_lock);
	pthread_mutex_unlock(&queue_lock);
}
