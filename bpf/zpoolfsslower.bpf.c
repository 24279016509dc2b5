// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * zpoolfsslower.bpf.c - every system call on one zpoolfs mount slower than a
 * threshold, with who made it, on which file, and the daemon's share of it.
 *
 * The calls are found and timed by reqtrace.bpf.h; this file only decides
 * which are slow and sends those to user space through a ring buffer. A full
 * ring buffer drops the event and counts it (RQ_CNT_DROPPED).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "zpoolfsslower.h"
#include "reqtrace.bpf.h"

const volatile __u64 targ_min_ns = 10000000;	/* 0: every call */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SLOWER_RINGBUF_BYTES);
} events SEC(".maps");

static void rq_op_finished(void *ctx, struct rq_op_state *st, __u64 lat_ns)
{
	struct rq_event *e;

	if (lat_ns < targ_min_ns)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		rq_count(RQ_CNT_DROPPED);
		return;
	}
	e->lat_ns = lat_ns;
	e->daemon_ns = st->daemon_ns;
	e->size = st->size;
	e->offset = st->offset;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->op = st->op;
	e->nreq = st->nreq;
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->name[0] = '\0';
	if (st->dentry) {
		const struct dentry *d = (const struct dentry *)st->dentry;

		bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(d, d_name.name));
	} else if (st->path) {
		/* The whole path as given; user space prints its last component. */
		bpf_probe_read_user_str(e->name, sizeof(e->name), (const void *)st->path);
	}
	bpf_ringbuf_submit(e, 0);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
