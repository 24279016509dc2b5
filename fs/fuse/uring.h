/* SPDX-License-Identifier: MIT */
/*
 * uring.h - FUSE requests over io_uring (uring.c), with the kernel ABI it
 * speaks.
 *
 * Debian 12's linux-libc-dev (6.1) predates FUSE over io_uring (kernel 6.14,
 * FUSE 7.42), so the few definitions it needs are declared here, under our
 * own names, from include/uapi/linux/fuse.h's ABI; their sizes are checked
 * below. They are an ABI: they never change meaning.
 */
#ifndef ZPOOLFS_URING_H
#define ZPOOLFS_URING_H

#include <stdint.h>

/* INIT: flags2 bit (flags bit 41 as a 64-bit word) of FUSE over io_uring */
#define ZFS_FUSE_OVER_IO_URING (1ULL << 41)
#define ZFS_FUSE_INIT_EXT (1u << 30)	/* INIT's flags2 is valid */

/* Commands of IORING_OP_URING_CMD on /dev/fuse (sqe->cmd_op) */
enum {
	ZFS_FUSE_URING_CMD_REGISTER = 1,	/* hand the kernel an entry; it completes with a request */
	ZFS_FUSE_URING_CMD_COMMIT_AND_FETCH = 2,	/* reply to the entry's request, wait for the next */
};

#define ZFS_FUSE_URING_IN_OUT_SZ 128	/* room for fuse_in_header / fuse_out_header */
#define ZFS_FUSE_URING_OP_IN_SZ 128	/* room for the opcode's own header (fuse_write_in, ...) */

/* The tail of an entry's header buffer: written by the kernel with a request, by us with a reply */
struct zfs_fuse_uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;		/* from the kernel: quote it in the COMMIT_AND_FETCH */
	uint32_t payload_sz;		/* bytes used in the payload buffer, either way */
	uint32_t padding;
	uint64_t reserved;
};

/* An entry's header buffer (iov[0] of REGISTER); the payload buffer is iov[1] */
struct zfs_fuse_uring_req_header {
	char in_out[ZFS_FUSE_URING_IN_OUT_SZ];	/* fuse_in_header in, fuse_out_header out */
	char op_in[ZFS_FUSE_URING_OP_IN_SZ];	/* the request's first argument, if not empty */
	struct zfs_fuse_uring_ent_in_out ring_ent_in_out;
};

/* In the SQE's command area (IORING_SETUP_SQE128: 80 bytes) */
struct zfs_fuse_uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;		/* COMMIT_AND_FETCH: the entry's commit_id */
	uint16_t qid;			/* the queue: the CPU whose requests it serves */
	uint8_t padding[6];
};

_Static_assert(sizeof(struct zfs_fuse_uring_ent_in_out) == 32, "fuse_uring_ent_in_out ABI");
_Static_assert(sizeof(struct zfs_fuse_uring_req_header) == 288, "fuse_uring_req_header ABI");
_Static_assert(sizeof(struct zfs_fuse_uring_cmd_req) == 24, "fuse_uring_cmd_req ABI");

struct fuse_session;

/**
 * zfs_uring_setup - get ready to serve @se's requests through io_uring: one
 * thread per possible CPU, pinned to it, each with its own ring and room for
 * @depth requests at once, waiting for INIT. When INIT is answered, the reply
 * asks the kernel for io_uring if the kernel offered it, and the threads
 * register their entries; otherwise they end and /dev/fuse serves all.
 * Call after fuse_daemonize() (threads do not survive its fork) and before
 * the request loop reads INIT.
 * Return: 0, or a negative errno after one line on stderr (no ring could be
 * made: -ENOMEM, -EPERM, -ENOSYS, ...; nothing is left running and the
 * kernel is not asked for io_uring).
 */
int zfs_uring_setup(struct fuse_session *se, unsigned int depth);

/** zfs_uring_threads - how many threads zfs_uring_setup() started (0: none). */
unsigned int zfs_uring_threads(void);

/**
 * zfs_uring_stop - end the threads (their rings' entries are cancelled:
 * the kernel answers what it had queued for them with an error once
 * /dev/fuse is closed) and free everything. Context: after the request loop
 * returned, before the session is destroyed; no-op without a setup.
 */
void zfs_uring_stop(void);

#endif
