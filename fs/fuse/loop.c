// SPDX-License-Identifier: MIT
/*
 * loop.c - the request loop: a fixed set of threads, each reading one
 * request at a time from /dev/fuse and handing it to libfuse.
 *
 * Design
 * ------
 *   main thread                     request thread i (i < threads)
 *   -----------                     ------------------------------
 *   start threads                   loop:
 *   wait on `finished` until the      receive_buf (cancellable; the only
 *   session has exited                  point where a thread may be cancelled)
 *   cancel the threads still          zfs_req_start(header)     requests.c
 *   blocked in read, join all         process_buf -> handler -> reply (writev hook)
 *                                     zfs_req_end()
 *                                   until the session exits or /dev/fuse says
 *                                   ENODEV (unmounted): post `finished`
 *
 * Why our own loop and not fuse_session_loop_mt(): the two points where a
 * request starts and is done must be seen for the `requests` file and the
 * probes, and libfuse's loop offers no hook between reading and handling. The
 * threads are started once (libfuse's loop starts them as the load grows and
 * lets idle ones go); an idle thread costs its stack and the touched part of
 * its request buffer.
 *
 * clone_fd: each thread opens its own /dev/fuse and attaches it to the
 * session's connection (FUSE_DEV_IOC_CLONE), so threads do not wait on one
 * descriptor's queue; a reply goes back on the descriptor its request came
 * from (requests.c's io hooks use the thread's descriptor).
 *
 * With -o uring (uring.c) most requests come through io_uring instead,
 * served by uring.c's threads (one per CPU); these threads keep serving what
 * the kernel still sends here: INIT, FORGET, BATCH_FORGET, INTERRUPT, and
 * everything until the rings are registered or if they cannot be.
 *
 * Spinning leader (spin=USEC, 50 by default; not with clone_fd or uring):
 * a round trip
 * here costs more in waking threads than in serving the request (a sleeping
 * CPU of this VM is woken by an interrupt the hypervisor delivers). A caller
 * that sends one request after another (tar, rm -r, grep -r) sends the next
 * a few microseconds after its reply; a reader still polling the (then
 * non-blocking) descriptor takes it with no wake-up on either side of the
 * hand-over. That only works if no other thread sleeps in the kernel's read
 * meanwhile: the kernel would wake that one for the request instead. Two
 * modes:
 *
 *   serial (one caller at a time; the start)
 *     reader    (one) reads the session's non-blocking descriptor; after
 *               each request it polls for spin microseconds more, then
 *               sleeps in poll() ("idle")
 *     worker    serves what it read, then takes the reader role back if it
 *               is free, else becomes the watcher, else a standby
 *     watcher   (one) wakes every WATCH_NS and takes the reader role if it
 *               has been free that long (a slow request: others are served
 *               meanwhile); sleeps without a timeout while the reader idles
 *     standby   sleeps until the watcher role is free
 *   parallel (requests queue up: several callers)
 *     every thread sleeps in a blocking read of its own clone of /dev/fuse
 *     and serves what it gets, as without spinning (no spin, no roles)
 *
 *   serial --most reads find a request already waiting--> parallel
 *   parallel --most requests served with no other in progress--> serial
 *
 * Both tests are moving averages over about eight events (mostly()): one
 * caller alone finds a request waiting now and then (the kernel sends
 * RELEASE and FORGET without waiting for them): 7-11 % of a tar -x's reads.
 * Invariants: in serial mode, the reader role is held, or free since a
 * worker took a request (then the watcher takes it within WATCH_NS, and the
 * worker when done); the watcher role is held whenever a thread is parked;
 * no thread sleeps in the kernel's read while the serial reader reads
 * (drain() waits for the parallel readers to leave: each leaves after the
 * next request it serves). A reply goes to the descriptor its request came
 * from (requests.c's thread descriptor). No lock: atomics and semaphores;
 * the wake-ups left in serial mode are the caller's reply, the watcher's
 * tick while requests flow and the idle reader's poll.
 *
 * Order: two threads may serve two requests in the other order than the
 * kernel queued them (a watcher that took over, parallel readers, as with
 * any multithreaded loop). Where it matters, the handler waits: an OPEN that
 * finds a direct open of its file waits for its RELEASE (ops_file.c).
 *
 * Exit: a signal handler (fuse_set_signal_handlers) marks the session
 * exited; the thread the signal interrupted sees EINTR, notices and posts
 * `finished`; unmounting makes every read fail with ENODEV. Cancellation is
 * only enabled inside receive_buf, so no thread is cancelled halfway
 * through a request. No lock is shared with the handlers.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "loop.h"
#include "requests.h"

/* The spinning leader's roles (see the design above) */
struct roles {
	atomic_bool parallel;		/* every thread reads (requests queue up) */
	bool clones;			/* each thread has its clone: parallel mode possible */
	atomic_bool reader;		/* the reader role is held */
	atomic_bool watcher;		/* the watcher role is held */
	atomic_bool idle;		/* the reader sleeps in poll() or drain() */
	atomic_bool watch_untimed;	/* the watcher sleeps without a timeout */
	atomic_int standbys;		/* threads in (or entering) standby() */
	atomic_int working;		/* threads serving a request */
	atomic_int in_kernel;		/* parallel readers in (or entering) the read */
	atomic_bool draining;		/* the reader waits in drain() */
	sem_t drained;
	atomic_int at_once_avg;		/* mostly(): reads that found a request waiting */
	atomic_int overlap_avg;		/* mostly(): requests served beside another */
	_Atomic int64_t freed_at;	/* ns: when a worker left the reader role */
	sem_t watch, standby;
	int64_t spin_ns, watch_ns;
};

struct loop {
	struct fuse_session *se;
	bool clone_fd;
	struct roles *roles;		/* NULL: every thread reads (serve()) */
	sem_t finished;			/* posted by each thread that ends */
	int error;			/* first error a thread met (negative), under lock */
	pthread_mutex_t lock;
};

struct worker {
	struct loop *lp;
	pthread_t tid;
	bool started;
	int fd;				/* clone of /dev/fuse, or -1 */
};

/*
 * Capabilities libfuse 3.14 accepts in conn->want but never writes into its
 * INIT reply (HANDLE_KILLPRIV, PARALLEL_DIROPS: its do_init() has no line
 * for them; later versions do): ops.c's init handler names the ones it needs
 * with zfs_loop_init_flags() and the reply is amended on its way out. The
 * INIT reply is the session's first reply (the kernel sends nothing else
 * before it has it), so it is recognised by being first, and checked.
 */
static _Atomic uint32_t init_flags;	/* FUSE_* bits of the kernel protocol */
static atomic_bool init_replied;

void zfs_loop_init_flags(uint32_t flags)
{
	atomic_fetch_or_explicit(&init_flags, flags, memory_order_relaxed);
}

static void amend_init(struct iovec *iov, int count)
{
	const struct fuse_out_header *out = iov[0].iov_base;
	struct fuse_init_out *arg;
	uint32_t flags = atomic_load_explicit(&init_flags, memory_order_relaxed);

	if (!flags || count < 2 || iov[0].iov_len != sizeof(*out) || out->error ||
	    iov[1].iov_len < offsetof(struct fuse_init_out, flags) + sizeof(arg->flags))
		return;
	arg = iov[1].iov_base;
	if (arg->major == FUSE_KERNEL_VERSION)
		arg->flags |= flags;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	if (!atomic_load_explicit(&init_replied, memory_order_relaxed) &&
	    !atomic_exchange_explicit(&init_replied, true, memory_order_relaxed))
		amend_init(iov, count);
	return zfs_req_io.writev(fd, iov, count, userdata);
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	return zfs_req_io.read(fd, buf, len, userdata);
}

/* requests.c's io (every request counted) with the INIT reply amended */
static const struct fuse_custom_io loop_io = {
	.writev = io_writev,
	.read = io_read,
};

int zfs_loop_setup(struct fuse_session *se)
{
	int err = fuse_session_custom_io(se, &loop_io, fuse_session_fd(se));

	return err > 0 ? -err : err;
}

static void set_error(struct loop *lp, int err)
{
	pthread_mutex_lock(&lp->lock);
	if (!lp->error)
		lp->error = err;
	pthread_mutex_unlock(&lp->lock);
}

/* A descriptor of its own on the session's connection. Return: fd or -errno. */
static int clone_dev(struct fuse_session *se)
{
	uint32_t master = (uint32_t)fuse_session_fd(se);
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, FUSE_DEV_IOC_CLONE, &master) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void free_buf(void *p)
{
	free(((struct fuse_buf *)p)->mem);
}

/* One request: counted (requests.c) and handed to libfuse. */
static void process(struct fuse_session *se, struct fuse_buf *fbuf, int len)
{
	zfs_req_start(fbuf->mem, (size_t)len);
	fuse_session_process_buf(se, fbuf);
	zfs_req_end();
}

static void *serve(void *arg)
{
	struct worker *w = arg;
	struct fuse_session *se = w->lp->se;
	struct fuse_buf fbuf = { .mem = NULL };
	int res;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	zfs_req_thread_fd(w->fd);
	pthread_cleanup_push(free_buf, &fbuf);
	while (!fuse_session_exited(se)) {
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		res = fuse_session_receive_buf(se, &fbuf);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res <= 0) {
			/* 0: unmounted (libfuse has marked the session exited) */
			if (res < 0) {
				set_error(w->lp, res);
				fuse_session_exit(se);
			}
			break;
		}
		process(se, &fbuf, res);
	}
	pthread_cleanup_pop(1);
	sem_post(&w->lp->finished);
	return NULL;
}

/* ---- the spinning leader (design above) ---- */

/* Return: 0, or -errno after closing those opened (then no spinning). */
static int open_clones(struct fuse_session *se, struct worker *w, unsigned int threads)
{
	for (unsigned int i = 0; i < threads; i++) {
		w[i].fd = clone_dev(se);
		if (w[i].fd < 0) {
			int err = w[i].fd;

			fprintf(stderr, "zpoolfs: warning: cannot clone /dev/fuse (%s): spin=0\n",
				strerror(-err));
			while (i-- > 0) {
				close(w[i].fd);
				w[i].fd = -1;
			}
			return err;
		}
	}
	return 0;
}

/*
 * A thread is cancelled (at exit) in a wait of these functions, and glibc
 * unwinds C frames by a long jump to serve_led()'s cleanup: the frames it
 * skips must leave no AddressSanitizer redzones on the stack (stale poison
 * there made ASan's own no-return handler fail its stack-frame check, in
 * sigaltstack()). libfuse's frames, which the plain loop skips, have none.
 */
#define SKIPPED_BY_CANCEL __attribute__((no_sanitize_address))

/* How long the reader role may stay free before the watcher takes it. */
#define WATCH_NS (1000 * 1000)

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec realtime_in(int64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns += ts.tv_nsec;
	ts.tv_sec += ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	return ts;
}

/*
 * A cancellable wait (sem_wait()/sem_timedwait() are cancellation points),
 * for ever if @timeout_ns < 0. Return: true if the semaphore was posted.
 */
SKIPPED_BY_CANCEL
static bool wait_on(sem_t *sem, int64_t timeout_ns)
{
	struct timespec until;
	int res;

	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	if (timeout_ns < 0) {
		res = sem_wait(sem);
	} else {
		until = realtime_in(timeout_ns);
		res = sem_timedwait(sem, &until);
	}
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	return res == 0;
}

/*
 * A moving average (over about eight events, 0..256) of how often @hit;
 * one thread at a time updates it, mostly: a lost update only blurs it.
 */
static bool mostly(atomic_int *avg, bool hit, int above)
{
	int v = atomic_load_explicit(avg, memory_order_relaxed);

	v += ((hit ? 256 : 0) - v) / 8;
	atomic_store_explicit(avg, v, memory_order_relaxed);
	return v > above;
}

/* Every parked thread (watcher, standbys) looks at the mode again. */
static void wake_parked(struct roles *ro)
{
	int n = atomic_load(&ro->standbys);

	sem_post(&ro->watch);
	while (n-- > 0)
		sem_post(&ro->standby);
}

/*
 * The reader's read: poll the non-blocking descriptor for spin_ns, then
 * sleep in poll(). *at_once says a request was waiting on the first try.
 * Return: as fuse_session_receive_buf().
 */
SKIPPED_BY_CANCEL
static int lead_read(struct loop *lp, struct fuse_buf *fbuf, bool *at_once)
{
	struct roles *ro = lp->roles;
	struct pollfd pfd = { .fd = fuse_session_fd(lp->se), .events = POLLIN };
	int64_t until = now_ns() + ro->spin_ns;
	int res;

	*at_once = true;
	for (;;) {
		res = fuse_session_receive_buf(lp->se, fbuf);
		if (res != -EAGAIN)
			return res;
		*at_once = false;
		if (now_ns() < until)
			continue;
		atomic_store(&ro->idle, true);
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		res = poll(&pfd, 1, -1);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		atomic_store(&ro->idle, false);
		/* a watcher asleep for good must tick again now that requests flow */
		if (atomic_load(&ro->watch_untimed))
			sem_post(&ro->watch);
		if (res < 0 && errno == EINTR)
			return -EINTR;
		until = now_ns() + ro->spin_ns;
	}
}

/* The watcher's watch. Return: true when it took the reader role. */
SKIPPED_BY_CANCEL
static bool watch(struct loop *lp)
{
	struct roles *ro = lp->roles;

	while (!fuse_session_exited(lp->se) && !atomic_load(&ro->parallel)) {
		if (!atomic_load(&ro->reader) &&
		    now_ns() - atomic_load(&ro->freed_at) >= ro->watch_ns &&
		    !atomic_exchange(&ro->reader, true)) {
			atomic_store(&ro->watcher, false);
			if (atomic_load(&ro->standbys))	/* one becomes the watcher */
				sem_post(&ro->standby);
			return true;
		}
		/* (Dekker with lead_read: one of the two sees the other's flag) */
		atomic_store(&ro->watch_untimed, true);
		if (atomic_load(&ro->idle) && atomic_load(&ro->reader)) {
			wait_on(&ro->watch, -1);
		} else {
			atomic_store(&ro->watch_untimed, false);
			wait_on(&ro->watch, ro->watch_ns);
		}
		atomic_store(&ro->watch_untimed, false);
	}
	atomic_store(&ro->watcher, false);
	return false;
}

/* A standby's sleep, until the watcher role may be free or the mode changes. */
SKIPPED_BY_CANCEL
static void standby(struct roles *ro)
{
	atomic_fetch_add(&ro->standbys, 1);
	/* (Dekker with watch() and wake_parked(): they post if they see us) */
	if (atomic_load(&ro->watcher) && !atomic_load(&ro->parallel))
		wait_on(&ro->standby, -1);
	atomic_fetch_sub(&ro->standbys, 1);
}

/*
 * A parallel reader counts itself in the kernel's read before it checks the
 * mode once more, and the serial reader waits for that count to drop to 0
 * before it reads (drain()): a thread asleep in the kernel's read would be
 * woken for every request (the kernel wakes one sleeper per request), and
 * the spinning reader's gain lost. Each one leaves after serving a request.
 */
static void leave_kernel_read(struct roles *ro)
{
	if (atomic_fetch_sub(&ro->in_kernel, 1) == 1 && atomic_load(&ro->draining))
		sem_post(&ro->drained);
}

static bool enter_kernel_read(struct roles *ro)
{
	atomic_fetch_add(&ro->in_kernel, 1);
	if (atomic_load(&ro->parallel))
		return true;
	leave_kernel_read(ro);
	return false;
}

/* Idle as in poll(): the parallel readers serve what comes meanwhile. */
SKIPPED_BY_CANCEL
static void drain(struct roles *ro)
{
	if (!atomic_load(&ro->in_kernel))
		return;
	atomic_store(&ro->draining, true);
	atomic_store(&ro->idle, true);
	while (atomic_load(&ro->in_kernel) > 0)
		wait_on(&ro->drained, -1);
	atomic_store(&ro->idle, false);
	atomic_store(&ro->draining, false);
	if (atomic_load(&ro->watch_untimed))
		sem_post(&ro->watch);
	while (sem_trywait(&ro->drained) == 0)
		;
}

/* serve_led()'s loop, apart so that its locals live outside the cleanup's jump */
SKIPPED_BY_CANCEL
static void lead_loop(struct worker *w, struct fuse_buf *fbuf)
{
	struct loop *lp = w->lp;
	struct roles *ro = lp->roles;
	struct fuse_session *se = lp->se;
	bool reader = false, at_once, others;
	int res;

	while (!fuse_session_exited(se)) {
		if (atomic_load(&ro->parallel)) {
			/* every thread sleeps in its own blocking read */
			if (!enter_kernel_read(ro))
				continue;
			zfs_req_thread_fd(w->fd);
			pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
			res = fuse_session_receive_buf(se, fbuf);
			pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
			leave_kernel_read(ro);
			if (res == -EINTR || res == -EAGAIN)
				continue;
			if (res <= 0)
				goto out;
			others = atomic_fetch_add(&ro->working, 1) > 0;
			if (!mostly(&ro->overlap_avg, others, 64)) {
				atomic_store(&ro->parallel, false);	/* one caller again */
			}
			process(se, fbuf, res);
			atomic_fetch_sub(&ro->working, 1);
			continue;
		}
		if (!reader) {
			if (!atomic_exchange(&ro->reader, true))
				reader = true;
			else if (!atomic_exchange(&ro->watcher, true))
				reader = watch(lp);
			else
				standby(ro);
			continue;
		}
		zfs_req_thread_fd(-1);
		drain(ro);
		res = lead_read(lp, fbuf, &at_once);
		if (res == -EINTR)
			continue;
		if (res <= 0)
			goto out;
		atomic_store(&ro->freed_at, now_ns());
		atomic_store(&ro->reader, false);
		reader = false;
		if (mostly(&ro->at_once_avg, at_once, 128) && ro->clones) {
			/* requests queue up: parallel callers */
			atomic_store(&ro->overlap_avg, 256);
			atomic_store(&ro->at_once_avg, 0);
			atomic_store(&ro->parallel, true);
			wake_parked(ro);
		}
		atomic_fetch_add(&ro->working, 1);
		process(se, fbuf, res);
		atomic_fetch_sub(&ro->working, 1);
		if (!atomic_load(&ro->parallel))
			reader = !atomic_exchange(&ro->reader, true);
	}
	return;
out:
	/* 0: unmounted (libfuse has marked the session exited) */
	if (res < 0) {
		set_error(lp, res);
		fuse_session_exit(se);
	}
}

static void *serve_led(void *arg)
{
	struct worker *w = arg;
	struct fuse_buf fbuf = { .mem = NULL };

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cleanup_push(free_buf, &fbuf);
	lead_loop(w, &fbuf);
	pthread_cleanup_pop(1);
	sem_post(&w->lp->finished);
	return NULL;
}

int zfs_loop_run(struct fuse_session *se, unsigned int threads, bool clone_fd,
		 unsigned int spin_us)
{
	struct loop lp = { .se = se, .clone_fd = clone_fd };
	struct worker *w = calloc(threads, sizeof(*w));
	struct roles roles = { .spin_ns = (int64_t)spin_us * 1000, .watch_ns = WATCH_NS };
	int fd = fuse_session_fd(se);
	int err = 0, fl;

	if (!w)
		return -ENOMEM;
	for (unsigned int i = 0; i < threads; i++)
		w[i].fd = -1;
	sem_init(&lp.finished, 0, 0);
	pthread_mutex_init(&lp.lock, NULL);
	/* the spinning leader: each thread's own blocking clone for parallel reads */
	if (clone_fd)
		spin_us = 0;	/* the leader reads the session's descriptor */
	if (spin_us && threads > 1) {
		spin_us = open_clones(se, w, threads) ? 0 : spin_us;
		roles.clones = spin_us != 0;
	}
	if (spin_us && (fl = fcntl(fd, F_GETFL)) >= 0 &&
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0) {
		sem_init(&roles.watch, 0, 0);
		sem_init(&roles.standby, 0, 0);
		sem_init(&roles.drained, 0, 0);
		lp.roles = &roles;
	}
	for (unsigned int i = 0; i < threads; i++) {
		w[i].lp = &lp;
		if (clone_fd && i > 0) {
			w[i].fd = clone_dev(se);
			if (w[i].fd < 0) {
				err = w[i].fd;
				fprintf(stderr, "zpoolfs: cannot clone /dev/fuse: %s\n", strerror(-err));
				break;
			}
		}
		err = -pthread_create(&w[i].tid, NULL, lp.roles ? serve_led : serve, &w[i]);
		if (err) {
			fprintf(stderr, "zpoolfs: cannot start a request thread: %s\n",
				strerror(-err));
			break;
		}
		w[i].started = true;
	}
	if (err)
		fuse_session_exit(se);
	while (!fuse_session_exited(se))
		sem_wait(&lp.finished);
	for (unsigned int i = 0; i < threads; i++) {
		if (w[i].started)
			pthread_cancel(w[i].tid);
	}
	for (unsigned int i = 0; i < threads; i++) {
		if (w[i].started)
			pthread_join(w[i].tid, NULL);
		if (w[i].fd >= 0)
			close(w[i].fd);
	}
	if (!err)
		err = lp.error;
	pthread_mutex_destroy(&lp.lock);
	sem_destroy(&lp.finished);
	if (lp.roles) {
		sem_destroy(&roles.watch);
		sem_destroy(&roles.standby);
		sem_destroy(&roles.drained);
	}
	free(w);
	return err;
}
