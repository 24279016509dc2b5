// SPDX-License-Identifier: MIT
/*
 * requests.c - every FUSE request counted by opcode, and the probes around it.
 *
 * Design
 * ------
 * A request thread handles one request at a time, so what it is doing fits
 * in one thread-local record:
 *
 *   loop.c:  receive_buf -> zfs_req_start() -> process_buf -> zfs_req_end()
 *                               |                 |
 *                         cur = {opcode,      handler replies:
 *                          unique, ino, t0}   writev hook (zfs_req_io) sees
 *                         probe start         the out header; unique == cur's
 *                         test delay          -> done(result) after writev
 *
 *   done:  slots[opcode].count += 1, slots[opcode].ns += now - t0  (relaxed
 *          atomics, no lock), probe done; cur is cleared.
 *
 * A replied request is counted just before its reply is written, and the
 * done probe fires just after: once the kernel has the reply it may wake
 * the caller, whose next request (say, opening .zpool/requests) may be
 * served by another thread before this one returns from writev, and that
 * request must find this one counted. Its time therefore runs from the read
 * to the moment the reply is handed to the kernel; the probe gets the same.
 *
 * zfs_req_end() finishes a request that got no reply (FORGET, BATCH_FORGET,
 * INTERRUPT, a NOTIFY_REPLY) with result 0. A reply written by another
 * thread (none of our handlers does that) would not match cur; such a
 * request is finished by zfs_req_end() too, its result then 0. Notifications
 * (unique 0) are not requests and are not counted.
 *
 * The result given to the done probe is what the reply carried: 0 or the
 * negative errno of its header; for READ the bytes of data replied, for
 * WRITE the count fuse_write_out returned.
 *
 * io_uring (fs/fuse/uring.c): a uring thread serves a request the same way
 * (start, process_buf, end), but its replies do not go to writev: the
 * thread has a sender (zfs_req_thread_send()) that copies the reply into
 * the ring entry and queues its COMMIT_AND_FETCH. Replies that are not the
 * current request's (notifications, unique 0) still go to /dev/fuse. A
 * request served by such a thread is also counted in its opcode's `uring`
 * column, so a test can tell which way requests went. The INIT reply (it
 * always comes through /dev/fuse) is shown to an INIT hook before and
 * after it is written: uring.c sets its io_uring flag there.
 *
 * Invariants: a count only grows; a request is counted once, when done, so
 * the requests file never shows the open that is rendering it. Counters are
 * per process (one mount per daemon).
 *
 * Test hook: ZPOOLFS_TEST_DELAY=OPNAME:MS[,...] sleeps MS ms right after
 * the start of each such request (so the sleep is part of its time). It is
 * read once at start-up and costs one load per request when unset.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "req_probes.h"
#include "requests.h"

static const char *const op_names[ZFS_REQ_SLOTS] = {
	[FUSE_LOOKUP] = "LOOKUP",		[FUSE_FORGET] = "FORGET",
	[FUSE_GETATTR] = "GETATTR",		[FUSE_SETATTR] = "SETATTR",
	[FUSE_READLINK] = "READLINK",		[FUSE_SYMLINK] = "SYMLINK",
	[FUSE_MKNOD] = "MKNOD",			[FUSE_MKDIR] = "MKDIR",
	[FUSE_UNLINK] = "UNLINK",		[FUSE_RMDIR] = "RMDIR",
	[FUSE_RENAME] = "RENAME",		[FUSE_LINK] = "LINK",
	[FUSE_OPEN] = "OPEN",			[FUSE_READ] = "READ",
	[FUSE_WRITE] = "WRITE",			[FUSE_STATFS] = "STATFS",
	[FUSE_RELEASE] = "RELEASE",		[FUSE_FSYNC] = "FSYNC",
	[FUSE_SETXATTR] = "SETXATTR",		[FUSE_GETXATTR] = "GETXATTR",
	[FUSE_LISTXATTR] = "LISTXATTR",		[FUSE_REMOVEXATTR] = "REMOVEXATTR",
	[FUSE_FLUSH] = "FLUSH",			[FUSE_INIT] = "INIT",
	[FUSE_OPENDIR] = "OPENDIR",		[FUSE_READDIR] = "READDIR",
	[FUSE_RELEASEDIR] = "RELEASEDIR",	[FUSE_FSYNCDIR] = "FSYNCDIR",
	[FUSE_GETLK] = "GETLK",			[FUSE_SETLK] = "SETLK",
	[FUSE_SETLKW] = "SETLKW",		[FUSE_ACCESS] = "ACCESS",
	[FUSE_CREATE] = "CREATE",		[FUSE_INTERRUPT] = "INTERRUPT",
	[FUSE_BMAP] = "BMAP",			[FUSE_DESTROY] = "DESTROY",
	[FUSE_IOCTL] = "IOCTL",			[FUSE_POLL] = "POLL",
	[FUSE_NOTIFY_REPLY] = "NOTIFY_REPLY",	[FUSE_BATCH_FORGET] = "BATCH_FORGET",
	[FUSE_FALLOCATE] = "FALLOCATE",		[FUSE_READDIRPLUS] = "READDIRPLUS",
	[FUSE_RENAME2] = "RENAME2",		[FUSE_LSEEK] = "LSEEK",
	[FUSE_COPY_FILE_RANGE] = "COPY_FILE_RANGE",
	[FUSE_SETUPMAPPING] = "SETUPMAPPING",	[FUSE_REMOVEMAPPING] = "REMOVEMAPPING",
	[FUSE_SYNCFS] = "SYNCFS",		[FUSE_TMPFILE] = "TMPFILE",
	[52] = "STATX",				[53] = "COPY_FILE_RANGE_64",
	[ZFS_REQ_SLOTS - 1] = "OTHER",
};

struct slot {
	atomic_ulong count;
	atomic_ulong ns;
	atomic_ulong uring;		/* of count: served through io_uring */
};

static struct slot slots[ZFS_REQ_SLOTS];
static __thread int thread_fd = -1;	/* this thread's clone of /dev/fuse, if any */
static unsigned int delay_ms[ZFS_REQ_SLOTS];	/* set once before requests are served */
static bool delay_any;
static __thread zfs_req_send_fn *thread_send;	/* a uring thread's sender, or NULL */
static zfs_req_init_fn *init_hook;		/* set before the session starts */

/* This thread's request between start and done (open false: none). */
static __thread struct {
	bool open;
	uint32_t slot;
	uint32_t opcode;
	uint64_t unique;
	uint64_t ino;
	uint64_t t0;
	const void *buf;		/* the request as read (valid until end) */
	size_t len;
} cur;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint32_t slot_of(uint32_t opcode)
{
	return opcode < ZFS_REQ_SLOTS - 1 ? opcode : ZFS_REQ_SLOTS - 1;
}

const char *zfs_req_name(uint32_t opcode)
{
	const char *name = op_names[slot_of(opcode)];

	return name ? name : "OTHER";
}

/* Count the current request: its time runs until now. Return: that time. */
static uint64_t count_it(void)
{
	uint64_t ns = now_ns() - cur.t0;

	atomic_fetch_add_explicit(&slots[cur.slot].count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&slots[cur.slot].ns, ns, memory_order_relaxed);
	if (thread_send)
		atomic_fetch_add_explicit(&slots[cur.slot].uring, 1, memory_order_relaxed);
	cur.open = false;
	return ns;
}

static void done(int64_t result)
{
	uint64_t ns = count_it();

	zfs_probe_req_done(cur.opcode, cur.unique, cur.ino, result, ns);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * The start probe with the offset and size of the requests that have them:
 * called only while a tracer is attached (fs/stats/req_probes.h), so that an
 * untraced daemon does not parse them.
 */
static void probe_start(const struct fuse_in_header *in, size_t len)
{
	const void *arg = in + 1;
	uint64_t offset = 0;
	uint32_t size = 0;

	if (in->opcode == FUSE_READ && len >= sizeof(*in) + sizeof(struct fuse_read_in)) {
		const struct fuse_read_in *r = arg;

		offset = r->offset;
		size = r->size;
	} else if (in->opcode == FUSE_WRITE &&
		   len >= sizeof(*in) + offsetof(struct fuse_write_in, flags)) {
		const struct fuse_write_in *w = arg;

		offset = w->offset;
		size = w->size;
	} else if (in->opcode == FUSE_FALLOCATE &&
		   len >= sizeof(*in) + sizeof(struct fuse_fallocate_in)) {
		offset = ((const struct fuse_fallocate_in *)arg)->offset;
	} else if (in->opcode == FUSE_LSEEK && len >= sizeof(*in) + sizeof(struct fuse_lseek_in)) {
		offset = ((const struct fuse_lseek_in *)arg)->offset;
	}
	zfs_probe_req_start(cur.opcode, cur.unique, cur.ino, offset, size);
}

void zfs_req_start(const void *buf, size_t len)
{
	const struct fuse_in_header *in = buf;

	if (cur.open)
		done(0);
	if (len < sizeof(*in))
		return;
	cur.opcode = in->opcode;
	cur.slot = slot_of(in->opcode);
	cur.unique = in->unique;
	cur.ino = in->nodeid;
	cur.buf = buf;
	cur.len = len;
	cur.t0 = now_ns();
	cur.open = true;
	if (zfs_req_traced())
		probe_start(in, len);
	if (delay_any && delay_ms[cur.slot])
		sleep_ms(delay_ms[cur.slot]);
}

void zfs_req_end(void)
{
	if (cur.open)
		done(0);
}

/* What the reply in @iov says: 0/-errno, READ's data bytes or WRITE's count. */
static int64_t reply_result(const struct iovec *iov, int count)
{
	const struct fuse_out_header *out = iov[0].iov_base;

	if (out->error)
		return out->error;
	if (cur.opcode == FUSE_READ)
		return (int64_t)out->len - (int64_t)sizeof(*out);
	if (cur.opcode == FUSE_WRITE && count > 1 && iov[1].iov_len >= sizeof(struct fuse_write_out))
		return ((const struct fuse_write_out *)iov[1].iov_base)->size;
	return 0;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	const struct fuse_out_header *out = iov[0].iov_base;
	bool mine, init, traced = false;
	int64_t result = 0;
	uint64_t ns = 0;
	ssize_t res;

	(void)userdata;
	mine = cur.open && count > 0 && iov[0].iov_len >= sizeof(*out) &&
	       out->unique == cur.unique && out->unique;
	init = mine && init_hook && cur.opcode == FUSE_INIT;
	if (init)
		init_hook(cur.buf, cur.len, iov, count, false);
	if (mine) {
		/* The probe and its argument only while traced (fs/stats/req_probes.h). */
		traced = zfs_req_traced();
		if (traced)
			result = reply_result(iov, count);
		/* counted before the kernel can wake the caller: see the design */
		ns = count_it();
	}
	if (mine && thread_send)
		res = thread_send(iov, count);
	else
		res = writev(thread_fd >= 0 ? thread_fd : fd, iov, count);
	if (traced)
		zfs_probe_req_done(cur.opcode, cur.unique, cur.ino, result, ns);
	if (init && res >= 0)
		init_hook(cur.buf, cur.len, iov, count, true);
	return res;
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	return read(thread_fd >= 0 ? thread_fd : fd, buf, len);
}

void zfs_req_thread_fd(int fd)
{
	thread_fd = fd;
}

void zfs_req_thread_send(zfs_req_send_fn *fn)
{
	thread_send = fn;
}

void zfs_req_init_hook(zfs_req_init_fn *fn)
{
	init_hook = fn;
}

const struct fuse_custom_io zfs_req_io = {
	.writev = io_writev,
	.read = io_read,
};

void zfs_req_snapshot(struct zfs_req_snap *snap)
{
	snap->n = 0;
	for (uint32_t i = 0; i < ZFS_REQ_SLOTS; i++) {
		unsigned long c = atomic_load_explicit(&slots[i].count, memory_order_relaxed);
		struct zfs_req_row *r;

		if (!c)
			continue;
		r = &snap->row[snap->n++];
		r->name = zfs_req_name(i);
		r->count = c;
		r->ns = atomic_load_explicit(&slots[i].ns, memory_order_relaxed);
		r->uring = atomic_load_explicit(&slots[i].uring, memory_order_relaxed);
	}
}

/* The slot of opcode name @name (as zfs_req_name() prints it), or -1. */
static int slot_by_name(const char *name, size_t len)
{
	for (int i = 0; i < ZFS_REQ_SLOTS; i++) {
		if (op_names[i] && strlen(op_names[i]) == len && !strncmp(op_names[i], name, len))
			return i;
	}
	return -1;
}

int zfs_req_delay_parse(void)
{
	const char *s = getenv("ZPOOLFS_TEST_DELAY");

	while (s && *s) {
		const char *colon = strchr(s, ':');
		char *end;
		unsigned long ms;
		int slot;

		slot = colon ? slot_by_name(s, (size_t)(colon - s)) : -1;
		if (slot < 0)
			goto bad;
		errno = 0;
		ms = strtoul(colon + 1, &end, 10);
		if (errno || end == colon + 1 || colon[1] == '-' || ms > 600000 ||
		    (*end && *end != ','))
			goto bad;
		delay_ms[slot] = (unsigned int)ms;
		delay_any = delay_any || ms;
		s = *end ? end + 1 : end;
	}
	return 0;
bad:
	fprintf(stderr, "zpoolfs: ZPOOLFS_TEST_DELAY=%s: want OPNAME:MS[,OPNAME:MS...] "
		"(e.g. GETATTR:50)\n", getenv("ZPOOLFS_TEST_DELAY"));
	return -EINVAL;
}
