// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * zpoolfsdist.bpf.c - latency histograms of the file operations on one
 * zpoolfs mount, as the caller sees them and as the daemon does.
 *
 * The caller's side and the matching of requests to operations are in
 * reqtrace.bpf.h; this file adds the histograms: per operation its time and
 * its round trip (time minus the daemon spans of its requests), per FUSE
 * opcode the daemon's own time from zpoolfs:request_done.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "log2.bpf.h"
#include "zpoolfsdist.h"
#include "reqtrace.bpf.h"

const volatile __u64 targ_unit_ns = 1000;	/* histogram unit: 1000 (us) or 1000000 (ms) */

struct dist_op dist_ops[RQ_NR_OPS] = {};
struct dist_opcode dist_opcodes[RQ_NR_OPCODES] = {};

static __always_inline void hist_add(struct rq_hist *h, __u64 ns)
{
	__sync_fetch_and_add(&h->slots[log2_slot(ns / targ_unit_ns, RQ_SLOTS)], 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
}

static void rq_op_finished(void *ctx, struct rq_op_state *st, __u64 lat_ns)
{
	struct dist_op *d;
	__u32 op = st->op;

	if (op >= RQ_NR_OPS)
		return;
	d = &dist_ops[op];
	hist_add(&d->caller, lat_ns);
	if (!st->nreq)
		return;
	if (st->max_span > lat_ns) {
		__sync_fetch_and_add(&d->over, 1);
		return;
	}
	/* Requests sent in parallel (split direct I/O) may overlap: clamp at 0. */
	hist_add(&d->round_trip, st->daemon_ns < lat_ns ? lat_ns - st->daemon_ns : 0);
	__sync_fetch_and_add(&d->matched, 1);
	__sync_fetch_and_add(&d->requests, st->nreq);
	__sync_fetch_and_add(&d->daemon_ns, st->daemon_ns);
}

/* zpoolfs:request_done(opcode, unique, ino, result, ns) in the daemon. */
SEC("usdt")
int BPF_USDT(request_done, __u32 opcode, __u64 unique, __u64 ino, __s64 result, __u64 ns)
{
	__u32 i = opcode < RQ_NR_OPCODES ? opcode : 0;
	struct dist_opcode *d;

	if (!armed)
		return 0;
	/* RQ_NR_OPCODES is a power of two: the mask shows the verifier the bound. */
	d = &dist_opcodes[i & (RQ_NR_OPCODES - 1)];
	hist_add(&d->daemon, ns);
	if (result < 0)
		__sync_fetch_and_add(&d->errors, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
