/* SPDX-License-Identifier: MIT */
/*
 * zpoolfsdist.h - what bpf/zpoolfsdist.bpf.c keeps for tools/zpoolfsdist.c:
 * two global arrays in the program's .bss, read by user space through the
 * skeleton's mapping. They only ever grow: user space prints the difference
 * from its previous read at each interval, so nothing is lost between reads.
 *
 *	dist_ops[enum rq_op]        the caller's view, and the round trip
 *	dist_opcodes[FUSE opcode]   the daemon's view (zpoolfs:request_done)
 */
#ifndef ZPOOL_BPF_ZPOOLFSDIST_H
#define ZPOOL_BPF_ZPOOLFSDIST_H

#include "reqtrace.h"

struct dist_op {
	struct rq_hist caller;		/* every operation, its whole time */
	struct rq_hist round_trip;	/* matched operations: time - daemon spans */
	__u64 matched;			/* operations with a matched request (round_trip's count) */
	__u64 requests;			/* their matched requests */
	__u64 daemon_ns;		/* the sum of those requests' daemon spans */
	__u64 over;			/* matched operations with a span longer than the
					 * operation: impossible unless matching is wrong */
};

struct dist_opcode {
	struct rq_hist daemon;		/* request_done's ns: the daemon's own time */
	__u64 errors;			/* replies with a negative result */
};

#endif
