/* SPDX-License-Identifier: MIT */
/*
 * requests.h - every FUSE request counted by opcode (requests.c).
 *
 * The request loop (loop.c) calls zfs_req_start() with the raw request it
 * read from /dev/fuse, before libfuse handles it, and zfs_req_end() after
 * libfuse's handler returned. Replies pass through zfs_req_io's writev (a
 * libfuse custom io), which marks the request done when its reply is
 * written. Each done request adds one to its opcode's count and its time in
 * the daemon (start to done) to the opcode's total; MOUNT/.zpool/requests
 * and stats.json print a snapshot (zfs_req_snapshot()).
 *
 * This header is plain C: stats.c, which knows nothing of FUSE, renders the
 * snapshot.
 */
#ifndef ZPOOLFS_REQUESTS_H
#define ZPOOLFS_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Opcodes 0..62 each have a slot; anything beyond (CUSE_INIT, ...) shares the last. */
#define ZFS_REQ_SLOTS 64

struct zfs_req_row {
	const char *name;		/* "LOOKUP", ...; static */
	unsigned long count;		/* requests done */
	unsigned long ns;		/* their time in the daemon, summed */
	unsigned long uring;		/* of count: served through io_uring (uring.c) */
};

/* The opcodes seen so far, in opcode order. */
struct zfs_req_snap {
	unsigned int n;
	struct zfs_req_row row[ZFS_REQ_SLOTS];
};

/** zfs_req_snapshot - copy every opcode's counters (each exact, the set not atomic). */
void zfs_req_snapshot(struct zfs_req_snap *snap);

/**
 * zfs_req_name - the name of FUSE opcode @opcode as the requests file shows
 * it ("GETATTR"); "OTHER" for opcodes beyond the table.
 */
const char *zfs_req_name(uint32_t opcode);

/**
 * zfs_req_delay_parse - read ZPOOLFS_TEST_DELAY=OPNAME:MS[,OPNAME:MS...]
 * (a test hook: sleep MS ms at the start of every request with that
 * opcode). Call once before serving requests.
 * Return: 0 (also when unset) or -EINVAL after printing why.
 */
int zfs_req_delay_parse(void);

/**
 * zfs_req_start - a request of @len bytes at @buf was read from /dev/fuse
 * by this thread: note its opcode, id and node, fire the start probe and
 * apply a test delay. Context: the request thread, before libfuse sees it.
 */
void zfs_req_start(const void *buf, size_t len);

/**
 * zfs_req_end - libfuse's handler of this thread's request returned: a
 * request that got no reply (FORGET, BATCH_FORGET, INTERRUPT, ...) is done
 * now. Context: the request thread.
 */
void zfs_req_end(void);

struct fuse_custom_io;
/*
 * read and writev on /dev/fuse; writev marks the request of its reply done.
 * Both use this thread's own clone of /dev/fuse once zfs_req_thread_fd()
 * gave one (replies must go back on the descriptor the request came from).
 */
extern const struct fuse_custom_io zfs_req_io;
void zfs_req_thread_fd(int fd);

struct iovec;
/*
 * A sender takes the reply of this thread's current request in place of
 * writev on /dev/fuse (fs/fuse/uring.c: into the ring entry). Return: the
 * bytes taken, or -1 with errno set (libfuse reports it).
 */
typedef ssize_t zfs_req_send_fn(const struct iovec *iov, int count);

/** zfs_req_thread_send - replies of this thread's requests go to @fn (NULL: writev). */
void zfs_req_thread_send(zfs_req_send_fn *fn);

/*
 * An INIT hook sees the INIT request (@req, @len bytes, as read) and its
 * reply (@iov, @count): first before the reply is written (@written false;
 * it may edit the reply's flags), then after it was written (@written true).
 */
typedef void zfs_req_init_fn(const void *req, size_t len, struct iovec *iov, int count,
			     bool written);

/** zfs_req_init_hook - show the INIT reply to @fn. Context: before the session starts. */
void zfs_req_init_hook(zfs_req_init_fn *fn);

#endif
