// SPDX-License-Identifier: MIT
/*
 * workers.c - helper threads that share the pages of one large request.
 *
 * Design
 * ------
 * Without the writeback cache the kernel hands a sequential writer's data
 * over in 1 MiB requests, one after the other, and the writer waits for each
 * reply: one request is all the work there is for that stream, and
 * compressing its 256 pages on one thread leaves the other cores idle. So
 * the thread serving a large request (data.c: the full pages of a write, the
 * pages of a read) publishes it as a run of items here and starts on it at
 * once; free helpers join in. Nobody owns a fixed share: every thread claims
 * the next few items with one atomic add until none is left, so the run ends
 * at the same time on every thread whether a helper woke at once, late, or
 * not at all (all cores busy serving other requests), and the caller never
 * waits for work that no one has started:
 *
 *   caller:  publish run  claim 0-3  claim 8-11  claim 16-19 ... none left:
 *                                                 unpublish, wait for helpers
 *   helper:     (wakes)      claim 4-7  claim 12-15 ... none left: leave
 *                     next: one atomic counter per run
 *
 * Helpers sleep on a condition variable between runs; they do not spin
 * waiting for the next request: measured, a spinning helper slows one
 * writer down (it takes the CPU that the writer and the serving thread need
 * between requests) more than the wakeup it saves.
 *
 * Locking: queue_lock guards the queue, the sleeping helpers' count and the
 * runs' qnext/queued/waiting fields; it is taken to publish a run, to join
 * one, to leave one and to unpublish one, never while items are processed.
 * A helper joins a run (raises p->inside) only under queue_lock while the
 * run is queued, so once its caller has unqueued it, p->inside only falls,
 * and the caller returns (and the run's memory goes) once it reads 0; a
 * helper reads nothing of the run after lowering it. Items are processed
 * with the caller's locks held on its behalf (the caller is waiting inside
 * zfs_par_run()). Each helper compresses with its own context (compress.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "workers.h"

#define MAX_WORKERS 16

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cond = PTHREAD_COND_INITIALIZER;	/* queue_lock */
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;	/* queue_lock */
static struct zfs_par *head, *tail;	/* queue_lock */
static unsigned int sleepers;		/* queue_lock: helpers in work_cond */
static bool stopping;			/* queue_lock */
static pthread_t threads[MAX_WORKERS];
static unsigned int nthreads;		/* set before and after the helpers run */

/* Take @p out of the queue. Context: queue_lock; @p is queued. */
static void unqueue(struct zfs_par *p)
{
	struct zfs_par **pp = &head, *prev = NULL;

	while (*pp != p) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	*pp = p->qnext;
	if (tail == p)
		tail = prev;
	p->queued = false;
}

/* Claim and process chunks of @p until none is left. */
static void work(struct zfs_par *p)
{
	const unsigned int n = p->n, chunk = p->chunk;
	unsigned int i;

	while ((i = atomic_fetch_add_explicit(&p->next, chunk, memory_order_relaxed)) < n)
		p->fn(p, i, n - i < chunk ? n : i + chunk);
}

/* A helper's next run, joined (p->inside raised); NULL when stopping. */
static struct zfs_par *take(void)
{
	struct zfs_par *p;

	pthread_mutex_lock(&queue_lock);
	while (!head && !stopping) {
		sleepers++;
		pthread_cond_wait(&work_cond, &queue_lock);
		sleepers--;
	}
	p = head;
	if (p)
		atomic_fetch_add(&p->inside, 1);
	pthread_mutex_unlock(&queue_lock);
	return p;
}

/* Leave @p, whose items are all claimed; nothing of @p is read after. */
static void leave(struct zfs_par *p)
{
	bool waiting;

	pthread_mutex_lock(&queue_lock);
	if (p->queued)
		unqueue(p);
	waiting = p->waiting;
	if (atomic_fetch_sub(&p->inside, 1) == 1 && waiting)
		pthread_cond_broadcast(&done_cond);
	pthread_mutex_unlock(&queue_lock);
}

static void *worker_main(void *unused)
{
	struct zfs_par *p;

	while ((p = take())) {
		work(p);
		leave(p);
	}
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

void zfs_par_run(struct zfs_par *p)
{
	bool shared;

	if (!p->chunk)
		p->chunk = 1;
	shared = nthreads && p->n > p->chunk;
	atomic_init(&p->next, 0);
	atomic_init(&p->inside, 0);
	p->qnext = NULL;
	p->queued = false;
	p->waiting = false;
	if (shared) {
		pthread_mutex_lock(&queue_lock);
		if (tail)
			tail->qnext = p;
		else
			head = p;
		tail = p;
		p->queued = true;
		if (sleepers)
			pthread_cond_signal(&work_cond);
		pthread_mutex_unlock(&queue_lock);
	}
	work(p);
	if (!shared)
		return;
	pthread_mutex_lock(&queue_lock);
	if (p->queued)
		unqueue(p);
	pthread_mutex_unlock(&queue_lock);
	if (!atomic_load(&p->inside))
		return;
	pthread_mutex_lock(&queue_lock);
	p->waiting = true;
	while (atomic_load(&p->inside))
		pthread_cond_wait(&done_cond, &queue_lock);
	pthread_mutex_unlock(&queue_lock);
}
