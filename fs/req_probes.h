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
 *	opcode   the FUSE opcode (enum fuse_opcode of <linux/fuse.h>)
 *	unique   the kernel's request id
 *	ino      the node id the request is about
 *	offset   READ/WRITE/FALLOCATE/...: the file offset, else 0
 *	size     READ/WRITE: bytes asked for, else 0
 *	result   0 or a negative errno as replied; bytes for READ/WRITE replies
 *	ns       time from start to done in the daemon, CLOCK_MONOTONIC ns
 *
 * This file is the interface both sides agreed on; the probe bodies are
 * filled in with the tracing tools. Until then both helpers are empty.
 */
#ifndef ZPOOLFS_REQ_PROBES_H
#define ZPOOLFS_REQ_PROBES_H

#include <stdint.h>

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

#endif
