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
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "loop.h"
#include "requests.h"

struct loop {
	struct fuse_session *se;
	bool clone_fd;
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
		zfs_req_start(fbuf.mem, (size_t)res);
		fuse_session_process_buf(se, &fbuf);
		zfs_req_end();
	}
	pthread_cleanup_pop(1);
	sem_post(&w->lp->finished);
	return NULL;
}

int zfs_loop_run(struct fuse_session *se, unsigned int threads, bool clone_fd)
{
	struct loop lp = { .se = se, .clone_fd = clone_fd };
	struct worker *w = calloc(threads, sizeof(*w));
	int err = 0;

	if (!w)
		return -ENOMEM;
	sem_init(&lp.finished, 0, 0);
	pthread_mutex_init(&lp.lock, NULL);
	for (unsigned int i = 0; i < threads; i++) {
		w[i].lp = &lp;
		w[i].fd = -1;
		if (clone_fd && i > 0) {
			w[i].fd = clone_dev(se);
			if (w[i].fd < 0) {
				err = w[i].fd;
				fprintf(stderr, "zpoolfs: cannot clone /dev/fuse: %s\n", strerror(-err));
				break;
			}
		}
		err = -pthread_create(&w[i].tid, NULL, serve, &w[i]);
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
	free(w);
	return err;
}
