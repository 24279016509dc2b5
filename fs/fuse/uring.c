// SPDX-License-Identifier: MIT
/*
 * uring.c - FUSE requests over io_uring (-o uring): one round trip is one
 * io_uring_enter() on the CPU the caller runs on.
 *
 * Design
 * ------
 * With FUSE over io_uring (kernel 6.14+, CONFIG_FUSE_IO_URING, module
 * parameter enable_uring=Y) the kernel keeps one queue per possible CPU and
 * puts a request in the queue of the CPU its caller runs on. Each queue here
 * is served by one thread pinned to that CPU, with its own ring and @depth
 * entries; an entry is a pair of buffers the kernel writes a request into
 * and reads the reply from:
 *
 *   queue q (CPU q)           entry e (depth of them per queue)
 *   ---------------           ------------------------------------------------
 *   thread pinned to CPU q    hdr:  fuse_uring_req_header (288 bytes, iov[0])
 *   ring (SQE128, single        in_out  fuse_in_header in, fuse_out_header out
 *     issuer, deferred          op_in   the opcode's first argument
 *     task work)                ring_ent_in_out  commit_id, payload_sz
 *   one SQE in the kernel     buf:  | hdr ... | payload (max_write, iov[1]) |
 *     per entry, always       (1 page)        ^ in_header + op_in copied here,
 *                                               just before the payload, so
 *                                               the request is contiguous: no
 *                                               copy of its data
 *
 *   thread q:  REGISTER every entry (each SQE completes when a request lands)
 *              loop: io_uring_enter(submit the replies queued, wait for 1)
 *                    for each completion: rebuild the request in place,
 *                      zfs_req_start, fuse_session_process_buf, zfs_req_end
 *                      (requests.c); libfuse's reply reaches requests.c's
 *                      writev hook, which hands it to ring_send(): out
 *                      header and arguments are copied into the entry and a
 *                      COMMIT_AND_FETCH SQE is queued (reply + wait for the
 *                      next request in one command)
 *                    a request that got no reply is committed with an error
 *
 * Start: INIT always comes through /dev/fuse (loop.c). The threads and their
 * rings are made before it is read (zfs_uring_setup), so that a system
 * without io_uring is found out before the kernel is told anything. The INIT
 * hook (requests.c) sees the reply libfuse built: if the kernel offered
 * FUSE_OVER_IO_URING in the request's flags2, the flag (and FUSE_INIT_EXT)
 * is set in the reply; once it is written the threads get the payload size
 * (the kernel wants at least max(8 KiB, max_write, max_pages pages)) and
 * register. Otherwise one line on stderr says why and the threads end.
 *
 * What the kernel does meanwhile: once told FUSE_OVER_IO_URING, it holds
 * every new request (fuse_block_alloc) until every queue has an entry; then
 * requests go to the rings. FORGET, BATCH_FORGET and INTERRUPT always come
 * through /dev/fuse, which loop.c keeps serving, as are notifications we
 * send (unique 0 is refused on the ring: requests.c writes them to
 * /dev/fuse). If a REGISTER fails, the kernel drops io_uring for the
 * connection and wakes the held requests, which then come through
 * /dev/fuse: so a thread that cannot make its buffers after INIT sends one
 * REGISTER it knows to be invalid (one iovec) rather than nothing, which
 * would leave every caller waiting.
 *
 * Stop: zfs_uring_stop() wakes every thread (a poll on one eventfd is in
 * every ring) and joins them; closing a ring cancels its entries in the
 * kernel. When the filesystem is unmounted the kernel completes the
 * entries with -ENOTCONN first.
 *
 * Test hook: ZPOOLFS_URING_FAULT=buffers makes the last queue fail to make
 * its buffers after INIT asked for io_uring (the refusal path above).
 *
 * Invariants: a ring, its entries and cur_ent belong to one thread, which
 * alone submits (SINGLE_ISSUER); every entry has exactly one SQE in the
 * kernel except while its request is being served; `u` is written before
 * the threads start or under u.lock. Locks: u.lock only around the start
 * handshake and stop, never while a request is served.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <unistd.h>

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "requests.h"
#include "uring.h"

#define PARAM_PATH "/sys/module/fuse/parameters/enable_uring"

struct queue;

struct ent {
	struct queue *q;
	struct zfs_fuse_uring_req_header *hdr;	/* at the start of buf */
	char *buf;			/* mmap'd: one page (hdr), then the payload */
	char *payload;			/* buf + page size */
	struct iovec iov[2];		/* what REGISTER hands the kernel */
	uint64_t commit_id;		/* of the request being served */
	uint64_t unique;
	bool fetched;			/* a request came: the SQE in the kernel is a commit */
	bool replied;			/* this request's commit is queued */
	bool retried;			/* registered again after a failed commit */
};

struct queue {
	unsigned int qid;
	pthread_t tid;
	bool started;
	int err;			/* making the ring (negative), under u.lock */
	bool made;			/* the ring exists */
	struct io_uring ring;
	struct ent *ents;
	unsigned int live;		/* entries with an SQE in the kernel */
};

enum phase { WAIT_INIT, GO, STOP };

static struct {
	struct fuse_session *se;
	int fd;				/* /dev/fuse */
	int stop_fd;			/* eventfd: readable once stopping */
	unsigned int nq, depth;
	size_t payload_size;		/* set before GO */
	size_t page;
	struct queue *qs;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* phase or reports changed */
	unsigned int reported;		/* threads done making their ring */
	enum phase phase;		/* lock */
	bool asked;			/* the INIT reply asked for io_uring */
	bool fault_buffers;		/* test hook: the last queue cannot make its buffers */
	atomic_bool refused_said;	/* the one line about a refusal was printed */
} u = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .stop_fd = -1 };

static __thread struct ent *cur_ent;	/* the entry this thread is serving */

/* The kernel's queues: one per possible CPU (its num_possible_cpus()). */
static unsigned int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	unsigned int a, b, n = 0;
	int c;

	/* "0-3", "0", "0-3,8-11": the last number + 1 */
	while (f) {
		if (fscanf(f, "%u", &a) != 1)
			break;
		b = a;
		c = fgetc(f);
		if (c == '-' && fscanf(f, "%u", &b) == 1)
			c = fgetc(f);
		n = b + 1 > n ? b + 1 : n;
		if (c != ',')
			break;
	}
	if (f)
		fclose(f);
	return n ? n : (unsigned int)get_nprocs_conf();
}

static void say_refused(const char *why, int err)
{
	if (atomic_exchange(&u.refused_said, true))
		return;
	fprintf(stderr, "zpoolfs: -o uring: %s (%s); serving through /dev/fuse\n", why,
		strerror(-err));
}

/* An SQE of command @op for @e (REGISTER: its buffers; COMMIT: its request). */
static void prep_cmd(struct io_uring_sqe *sqe, struct ent *e, uint32_t op)
{
	struct zfs_fuse_uring_cmd_req *cr = (struct zfs_fuse_uring_cmd_req *)sqe->cmd;

	memset(sqe, 0, 2 * sizeof(*sqe));	/* SQE128: the command area is the second half */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = u.fd;
	sqe->cmd_op = op;
	io_uring_sqe_set_data(sqe, e);
	cr->qid = (uint16_t)e->q->qid;
	if (op == ZFS_FUSE_URING_CMD_REGISTER) {
		sqe->addr = (uint64_t)(uintptr_t)e->iov;
		sqe->len = 2;
	} else {
		cr->commit_id = e->commit_id;
	}
}

/* An SQE of this thread's ring; the ring has room for every entry's and the stop poll. */
static struct io_uring_sqe *get_sqe(struct queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	if (!sqe) {
		io_uring_submit(&q->ring);
		sqe = io_uring_get_sqe(&q->ring);
	}
	return sqe;
}

static void commit(struct ent *e)
{
	struct io_uring_sqe *sqe = get_sqe(e->q);

	e->replied = true;
	if (!sqe) {		/* cannot happen: one SQE per entry and the ring has them */
		e->q->live--;
		return;
	}
	prep_cmd(sqe, e, ZFS_FUSE_URING_CMD_COMMIT_AND_FETCH);
}

/* Answer @e's request with @error and nothing else. */
static void commit_error(struct ent *e, int error)
{
	struct fuse_out_header *oh = (struct fuse_out_header *)e->hdr->in_out;

	*oh = (struct fuse_out_header){ .len = sizeof(*oh), .error = error, .unique = e->unique };
	e->hdr->ring_ent_in_out.payload_sz = 0;
	commit(e);
}

/*
 * The sender of a uring thread (requests.c calls it with the current
 * request's reply): out header and arguments into the entry, commit queued.
 */
static ssize_t ring_send(const struct iovec *iov, int count)
{
	struct ent *e = cur_ent;
	const struct fuse_out_header *out = iov[0].iov_base;
	size_t n = 0;

	if (!e || e->replied) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 1; i < count; i++) {
		if (iov[i].iov_len > u.payload_size - n) {
			/* cannot happen: no reply is larger than max_write/max_read */
			commit_error(e, -EIO);
			errno = EINVAL;
			return -1;
		}
		/* memmove: a reply may quote the request, whose bytes are here too */
		memmove(e->payload + n, iov[i].iov_base, iov[i].iov_len);
		n += iov[i].iov_len;
	}
	memcpy(e->hdr->in_out, out, sizeof(*out));
	((struct fuse_out_header *)e->hdr->in_out)->len = (uint32_t)(sizeof(*out) + n);
	e->hdr->ring_ent_in_out.payload_sz = (uint32_t)n;
	commit(e);
	return (ssize_t)(sizeof(*out) + n);
}

/* Requests that get no reply; anything else unanswered is answered EIO. */
static bool no_reply(uint32_t opcode)
{
	return opcode == FUSE_FORGET || opcode == FUSE_BATCH_FORGET ||
	       opcode == FUSE_INTERRUPT || opcode == FUSE_NOTIFY_REPLY;
}

/* @e holds a request: make it contiguous, let libfuse serve it, commit. */
static void serve_ent(struct ent *e)
{
	struct fuse_in_header *in = (struct fuse_in_header *)e->hdr->in_out;
	const struct zfs_fuse_uring_ent_in_out *io = &e->hdr->ring_ent_in_out;
	size_t pay = io->payload_sz, hlen = sizeof(*in), oplen;
	struct fuse_buf fb = { .flags = 0 };
	char *start;

	e->fetched = true;
	e->replied = false;
	e->commit_id = io->commit_id;
	e->unique = in->unique;
	if (pay > u.payload_size || in->len < hlen + pay ||
	    in->len - hlen - pay > ZFS_FUSE_URING_OP_IN_SZ) {
		commit_error(e, -EIO);	/* a request the ABI cannot have produced */
		return;
	}
	oplen = in->len - hlen - pay;
	start = e->payload - oplen - hlen;
	memcpy(start + hlen, e->hdr->op_in, oplen);
	memcpy(start, in, hlen);
	fb.mem = start;
	fb.size = in->len;
	cur_ent = e;
	zfs_req_start(start, in->len);
	fuse_session_process_buf(u.se, &fb);
	zfs_req_end();
	cur_ent = NULL;
	if (!e->replied)
		commit_error(e, no_reply(((struct fuse_in_header *)start)->opcode) ? 0 : -EIO);
}

/* A completion with an error: the entry has no SQE in the kernel any more. */
static void ent_failed(struct queue *q, struct ent *e, int res)
{
	struct io_uring_sqe *sqe;

	if (res == -ENOTCONN || res == -ECONNABORTED || res == -ECANCELED || res == -ENODEV) {
		q->live--;		/* unmounted, or the ring is closing */
		return;
	}
	if (!e->fetched) {
		/* REGISTER refused: the kernel went back to /dev/fuse for all */
		say_refused("the kernel refused the ring", res);
		q->live--;
		return;
	}
	if (!e->retried && (sqe = get_sqe(q))) {
		/* a commit refused (it should not be): hand the entry over afresh */
		e->retried = true;
		e->fetched = false;
		prep_cmd(sqe, e, ZFS_FUSE_URING_CMD_REGISTER);
		fprintf(stderr, "zpoolfs: -o uring: a reply was refused (%s); entry registered "
			"again\n", strerror(-res));
		return;
	}
	q->live--;
}

/* Buffers of the entries of @q. Return: 0 or -ENOMEM. */
static int make_ents(struct queue *q)
{
	q->ents = calloc(u.depth, sizeof(*q->ents));
	if (!q->ents || (u.fault_buffers && q->qid == u.nq - 1))
		return -ENOMEM;
	for (unsigned int i = 0; i < u.depth; i++) {
		struct ent *e = &q->ents[i];
		void *buf;

		e->q = q;
		buf = mmap(NULL, u.page + u.payload_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (buf == MAP_FAILED)
			return -ENOMEM;
		e->buf = buf;
		e->hdr = buf;
		e->payload = e->buf + u.page;
		e->iov[0] = (struct iovec){ e->hdr, sizeof(*e->hdr) };
		e->iov[1] = (struct iovec){ e->payload, u.payload_size };
	}
	return 0;
}

static void free_ents(struct queue *q)
{
	for (unsigned int i = 0; q->ents && i < u.depth; i++) {
		if (q->ents[i].buf)
			munmap(q->ents[i].buf, u.page + u.payload_size);
	}
	free(q->ents);
	q->ents = NULL;
}

/*
 * The kernel was told FUSE_OVER_IO_URING but this queue cannot serve: a
 * REGISTER with one iovec is refused, and a refused REGISTER makes the
 * kernel drop io_uring for the connection (requests come through /dev/fuse).
 */
static void refuse(struct queue *q)
{
	static struct ent dummy;
	struct io_uring_sqe *sqe = get_sqe(q);
	struct io_uring_cqe *cqe;
	struct iovec iov = { 0 };

	if (!sqe)
		return;
	dummy.q = q;
	prep_cmd(sqe, &dummy, ZFS_FUSE_URING_CMD_REGISTER);
	sqe->addr = (uint64_t)(uintptr_t)&iov;
	sqe->len = 1;
	if (io_uring_submit_and_wait(&q->ring, 1) >= 0 && !io_uring_peek_cqe(&q->ring, &cqe))
		io_uring_cqe_seen(&q->ring, cqe);
}

/* Serve @q's entries until stopped or none is left in the kernel. */
static void serve_queue(struct queue *q)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	bool stop = false;

	for (unsigned int i = 0; i < u.depth; i++)
		prep_cmd(get_sqe(q), &q->ents[i], ZFS_FUSE_URING_CMD_REGISTER);
	q->live = u.depth;
	sqe = get_sqe(q);
	io_uring_prep_poll_add(sqe, u.stop_fd, POLLIN);
	io_uring_sqe_set_data(sqe, NULL);
	zfs_req_thread_send(ring_send);
	while (!stop && q->live) {
		int ret = io_uring_submit_and_wait(&q->ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			fprintf(stderr, "zpoolfs: -o uring: queue %u: %s\n", q->qid, strerror(-ret));
			break;
		}
		while (!io_uring_peek_cqe(&q->ring, &cqe)) {
			struct ent *e = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&q->ring, cqe);
			if (!e) {
				stop = true;
				break;
			}
			if (res < 0) {
				ent_failed(q, e, res);
				continue;
			}
			serve_ent(e);
			/* more to serve: hand this reply over now, not after them */
			if (io_uring_cq_ready(&q->ring))
				io_uring_submit(&q->ring);
		}
	}
	zfs_req_thread_send(NULL);
}

/* Our ring, made by the thread that uses it (single issuer). Return: 0 or -errno. */
static int make_ring(struct queue *q)
{
	static const unsigned int flags[] = {
		IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SQE128 | IORING_SETUP_COOP_TASKRUN,
		IORING_SETUP_SQE128,
	};
	int err = -EINVAL;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]) && err == -EINVAL; i++) {
		struct io_uring_params p = { .flags = flags[i] };

		err = io_uring_queue_init_params(u.depth + 1, &q->ring, &p);
	}
	return err;
}

static void pin(unsigned int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* an offline CPU cannot be pinned to: that queue then serves from anywhere */
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *queue_thread(void *arg)
{
	struct queue *q = arg;
	enum phase phase;
	int err;

	pin(q->qid);
	err = make_ring(q);
	pthread_mutex_lock(&u.lock);
	q->err = err;
	q->made = !err;
	u.reported++;
	pthread_cond_broadcast(&u.cond);
	while (u.phase == WAIT_INIT)
		pthread_cond_wait(&u.cond, &u.lock);
	phase = u.phase;
	pthread_mutex_unlock(&u.lock);
	if (err || phase != GO)
		goto out;
	err = make_ents(q);
	if (err) {
		say_refused("cannot make the ring's buffers", err);
		refuse(q);
		goto out;
	}
	serve_queue(q);
out:
	if (q->made)
		io_uring_queue_exit(&q->ring);
	q->made = false;
	free_ents(q);
	return NULL;
}

/* What enable_uring says: 'Y', 'N', or 0 (no such parameter: kernel without it). */
static char param(void)
{
	FILE *f = fopen(PARAM_PATH, "r");
	int c = f ? fgetc(f) : 0;

	if (f)
		fclose(f);
	return c == 'Y' || c == 'N' ? (char)c : 0;
}

static void set_phase(enum phase phase)
{
	pthread_mutex_lock(&u.lock);
	if (u.phase == WAIT_INIT)
		u.phase = phase;
	pthread_cond_broadcast(&u.cond);
	pthread_mutex_unlock(&u.lock);
}

static size_t round_up(size_t v, size_t to)
{
	return (v + to - 1) / to * to;
}

/*
 * The INIT hook (requests.c): before the reply is written, ask for io_uring
 * if offered; after, let the threads register.
 */
static void init_hook(const void *req, size_t len, struct iovec *iov, int count, bool written)
{
	const struct fuse_init_in *in = (const struct fuse_init_in *)
		((const char *)req + sizeof(struct fuse_in_header));
	struct fuse_init_out *out;
	const struct fuse_out_header *oh = iov[0].iov_base;
	uint64_t offered = 0;
	size_t pages, size;

	if (written) {
		set_phase(u.asked ? GO : STOP);
		return;
	}
	u.asked = false;
	if (oh->error || count < 2 || iov[1].iov_len < offsetof(struct fuse_init_out, flags2) + 4)
		return;
	if (len >= sizeof(struct fuse_in_header) + offsetof(struct fuse_init_in, flags2) + 4 &&
	    (in->flags & ZFS_FUSE_INIT_EXT))
		offered = (uint64_t)in->flags2 << 32;
	if (!(offered & ZFS_FUSE_OVER_IO_URING)) {
		char p = param();

		if (p == 'N')
			fprintf(stderr, "zpoolfs: -o uring: io_uring is off in the kernel's fuse "
				"module; serving through /dev/fuse (to enable it, as root: "
				"echo Y > %s)\n", PARAM_PATH);
		else
			fprintf(stderr, "zpoolfs: -o uring: this kernel does not offer FUSE over "
				"io_uring (6.14+, CONFIG_FUSE_IO_URING); serving through /dev/fuse\n");
		return;
	}
	out = iov[1].iov_base;
	/* the payload buffer must hold max(8 KiB, max_write, max_pages pages) */
	pages = (out->flags & FUSE_MAX_PAGES) && out->max_pages ? out->max_pages : 32;
	size = pages * u.page;
	size = out->max_write > size ? out->max_write : size;
	size = size < 8192 ? 8192 : size;
	u.payload_size = round_up(size, u.page);
	out->flags |= ZFS_FUSE_INIT_EXT;
	out->flags2 |= (uint32_t)(ZFS_FUSE_OVER_IO_URING >> 32);
	u.asked = true;
}

unsigned int zfs_uring_threads(void)
{
	return u.qs ? u.nq : 0;
}

int zfs_uring_setup(struct fuse_session *se, unsigned int depth)
{
	int err = 0;

	u.se = se;
	u.fd = fuse_session_fd(se);
	u.depth = depth;
	u.page = (size_t)sysconf(_SC_PAGESIZE);
	u.nq = possible_cpus();
	u.phase = WAIT_INIT;
	u.fault_buffers = getenv("ZPOOLFS_URING_FAULT") &&
			  !strcmp(getenv("ZPOOLFS_URING_FAULT"), "buffers");
	u.stop_fd = eventfd(0, EFD_CLOEXEC);
	u.qs = calloc(u.nq, sizeof(*u.qs));
	if (u.stop_fd < 0 || !u.qs) {
		err = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < u.nq; i++) {
		u.qs[i].qid = i;
		err = -pthread_create(&u.qs[i].tid, NULL, queue_thread, &u.qs[i]);
		if (err)
			goto fail;
		u.qs[i].started = true;
	}
	pthread_mutex_lock(&u.lock);
	while (u.reported < u.nq)
		pthread_cond_wait(&u.cond, &u.lock);
	for (unsigned int i = 0; i < u.nq && !err; i++)
		err = u.qs[i].err;
	pthread_mutex_unlock(&u.lock);
	if (err)
		goto fail;
	zfs_req_init_hook(init_hook);
	return 0;
fail:
	fprintf(stderr, "zpoolfs: -o uring: cannot set up io_uring: %s; serving through "
		"/dev/fuse\n", strerror(-err));
	zfs_uring_stop();
	return err;
}

void zfs_uring_stop(void)
{
	uint64_t one = 1;

	if (!u.qs)
		return;
	zfs_req_init_hook(NULL);
	pthread_mutex_lock(&u.lock);
	u.phase = STOP;
	pthread_cond_broadcast(&u.cond);
	pthread_mutex_unlock(&u.lock);
	if (u.stop_fd >= 0 && write(u.stop_fd, &one, sizeof(one)) < 0)
		perror("zpoolfs: -o uring: eventfd");
	for (unsigned int i = 0; i < u.nq; i++) {
		if (u.qs[i].started)
			pthread_join(u.qs[i].tid, NULL);
	}
	free(u.qs);
	u.qs = NULL;
	if (u.stop_fd >= 0)
		close(u.stop_fd);
	u.stop_fd = -1;
}
