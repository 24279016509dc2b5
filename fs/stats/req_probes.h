/* SPDX-License-Identifier: MIT */
/*
 * req_probes.h - the daemon's probes around every FUSE request (provider
 * "zpoolfs"), for zpoolfsdist, zpoolfsslower and tools/bpftrace/requests.bt.
 *
 * The request loop calls zfs_probe_req_start() when a request has been read
 * from /dev/fuse and before it is handled, and zfs_probe_req_done() after
 * its reply was written (or, for requests that get no reply such as FORGET,
 * after it was handled). The request counters of the stats directory are
 * bumped at the same two points, so the probes and the `requests` file
 * count the same requests.
 *
 *	zpoolfs:request_start(opcode, unique, ino, offset, size)
 *	zpoolfs:request_done(opcode, unique, ino, result, ns)
 *
 *	opcode   the FUSE opcode (enum fuse_opcode of <linux/fuse.h>)
 *	unique   the kernel's request id
 *	ino      the node id the request is about
 *	offset   READ/WRITE/FALLOCATE/...: the file offset, else 0
 *	size     READ/WRITE: bytes asked for, else 0
 *	result   0 or a negative errno as replied; bytes for READ/WRITE replies
 *	ns       time from start to done in the daemon, CLOCK_MONOTONIC ns
 *
 * What an untraced daemon pays: each probe has a semaphore that the kernel
 * raises while a tracer is attached to it. Both live in one aligned 4-byte
 * word (req_probes.c), so each helper below is one load and compare of that
 * word and a branch predicted not taken; the arguments are never touched.
 * The probe sites sit in a cold out-of-line copy (req_probes.c) so that the
 * request loop's code stays as it is. Built with PROBES=0 (ZPOOL_NO_PROBES)
 * both helpers are empty and no note is emitted.
 *
 * A probe's arguments are plain integers in registers or on the stack, which
 * every USDT reader handles (libbpf's, bpftrace 0.17's: at most six).
 */
#ifndef ZPOOLFS_REQ_PROBES_H
#define ZPOOLFS_REQ_PROBES_H

#include <stdint.h>

#ifndef ZPOOL_NO_PROBES

/*
 * zpoolfs_request_start_semaphore and zpoolfs_request_done_semaphore, two
 * bytes each, seen as one word. Hidden: reached without the GOT.
 */
extern uint32_t zfs_req_probe_semaphores __attribute__((visibility("hidden")));

void zfs_req_probe_fire_start(uint32_t opcode, uint64_t unique, uint64_t ino, uint64_t offset,
			      uint32_t size);
void zfs_req_probe_fire_done(uint32_t opcode, uint64_t unique, uint64_t ino, int64_t result,
			     uint64_t ns);

/* Is any tracer attached to either probe? */
static inline int zfs_req_traced(void)
{
	return __builtin_expect(__atomic_load_n(&zfs_req_probe_semaphores, __ATOMIC_RELAXED) != 0,
				0);
}

static inline void zfs_probe_req_start(uint32_t opcode, uint64_t unique, uint64_t ino,
				       uint64_t offset, uint32_t size)
{
	if (zfs_req_traced())
		zfs_req_probe_fire_start(opcode, unique, ino, offset, size);
}

static inline void zfs_probe_req_done(uint32_t opcode, uint64_t unique, uint64_t ino,
				      int64_t result, uint64_t ns)
{
	if (zfs_req_traced())
		zfs_req_probe_fire_done(opcode, unique, ino, result, ns);
}

#else /* ZPOOL_NO_PROBES */

static inline int zfs_req_traced(void)
{
	return 0;
}

static inline void zfs_probe_req_start(uint32_t opcode, uint64_t unique, uint64_t ino,
				       uint64_t offset, uint32_t size)
{
	(void)opcode, (void)unique, (void)ino, (void)offset, (void)size;
}

static inline void zfs_probe_req_done(uint32_t opcode, uint64_t unique, uint64_t ino,
				      int64_t result, uint64_t ns)
{
	(void)opcode, (void)unique, (void)ino, (void)result, (void)ns;
}

#endif /* ZPOOL_NO_PROBES */

#endif
