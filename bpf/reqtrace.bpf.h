/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * reqtrace.bpf.h - the BPF side zpoolfsdist and zpoolfsslower share: time the
 * callers' system calls on one zpoolfs mount and add to each the daemon's
 * time for the requests it sent (see bpf/reqtrace.h for the picture).
 *
 *   raw tp sys_enter   syscalls[id] says which op and how to tell it is ours;
 *                      an fd call on a file of the mount, or any path call:
 *                      ops[tid] = { start, op, ... }
 *   tp fuse_request_send (caller's thread)   reqs[req] = { tid, call start }
 *   usdt zpoolfs:request_start (daemon)       starts[unique] = now
 *   tp fuse_request_end (daemon, writing the reply, before the caller wakes)
 *                      span = now - starts[unique]; ops[reqs[req].tid] += span
 *   raw tp sys_exit    a call on the mount: rq_op_finished(ctx, state, now - start)
 *
 * Everything is filtered by the mount's device number (targ_dev, from
 * stat(2) of the mount point: the superblock's s_dev); the daemon's probes by
 * the process they are attached to. Nothing is recorded until user space
 * sets `armed`, after every program is attached; a call already running
 * then is not seen at all.
 *
 * A path call (stat, unlink...) counts as one on the mount only if it sent a
 * request there: one answered from the kernel's caches is not seen. A reply
 * that comes after its call ended (an asynchronous request: RELEASE,
 * readahead) or a request whose start the daemon's probe did not report is
 * counted, never guessed (enum rq_counter).
 *
 * The including file defines rq_op_finished() before including this.
 */
#ifndef ZPOOL_BPF_REQTRACE_BPF_H
#define ZPOOL_BPF_REQTRACE_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "reqtrace.h"

#define RQ_MAX_THREADS 8192	/* threads inside a traced system call at once */
#define RQ_MAX_REQS 16384	/* requests in flight at once */

/* FUSE opcodes (<linux/fuse.h>): the three the daemon never replies to, two that create. */
#define RQ_FUSE_FORGET 2
#define RQ_FUSE_MKNOD 8
#define RQ_FUSE_CREATE 35
#define RQ_FUSE_INTERRUPT 36
#define RQ_FUSE_BATCH_FORGET 42

#define RQ_AT_REMOVEDIR 0x200	/* <fcntl.h> */

/* Set by user space before load. */
const volatile __u32 targ_dev = 0;	/* the mount's st_dev, in the kernel's encoding */

/* Written by user space once every program is attached. */
bool armed = false;
/* The process that replied to a request on the mount (how the daemon is found). */
__u32 daemon_tgid = 0;
__u64 counters[RQ_NR_COUNTERS] = {};

/* System call number -> RQ_SYS(op, kind, path argument); 0: not traced. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RQ_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, __u32);
} syscalls SEC(".maps");

/* A request on its way, tied to the operation that sent it. */
struct rq_req {
	__u64 op_start;		/* that call's start: a later one on the thread is not it */
	__u32 tid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RQ_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct rq_op_state);
} ops SEC(".maps");

/* LRU: an entry whose end never comes (an aborted connection) ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RQ_MAX_REQS);
	__type(key, __u64);		/* struct fuse_req * */
	__type(value, struct rq_req);
} reqs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RQ_MAX_REQS);
	__type(key, __u64);		/* unique */
	__type(value, __u64);		/* request_start time */
} starts SEC(".maps");

/* Only what these programs read, in CO-RE flavours of the kernel's own types. */
struct fuse_mount___rq {
	struct super_block *sb;
} __attribute__((preserve_access_index));

struct fuse_req___rq {
	struct {
		struct fuse_in_header h;
	} in;
	struct fuse_mount___rq *fm;
} __attribute__((preserve_access_index));

static __always_inline void rq_count(enum rq_counter c)
{
	__sync_fetch_and_add(&counters[c], 1);
}

static void rq_op_finished(void *ctx, struct rq_op_state *st, __u64 lat_ns);

static __always_inline __u32 file_dev(const struct file *file)
{
	return BPF_CORE_READ(file, f_inode, i_sb, s_dev);
}

/* The current task's file for @fd, or NULL. */
static __always_inline struct file *fd_file(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;

	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

/* The file for @fd if it is on the mount, else NULL. */
static __always_inline struct file *fd_ours(long fd)
{
	struct file *file = fd_file(fd);

	return file && file_dev(file) == targ_dev ? file : NULL;
}

static __always_inline unsigned long sys_arg(struct pt_regs *regs, __u32 n)
{
	switch (n) {
	case 0:
		return PT_REGS_PARM1_CORE_SYSCALL(regs);
	case 1:
		return PT_REGS_PARM2_CORE_SYSCALL(regs);
	case 2:
		return PT_REGS_PARM3_CORE_SYSCALL(regs);
	default:
		return PT_REGS_PARM4_CORE_SYSCALL(regs);
	}
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), key = (__u32)id, *v, sys;
	struct rq_op_state st = {};
	struct file *file = NULL;

	if (!armed)
		return 0;
	v = bpf_map_lookup_elem(&syscalls, &key);
	if (!v || !*v)
		return 0;
	sys = *v;
	st.op = RQ_SYS_OP(sys);
	st.kind = RQ_SYS_KIND(sys);
	if (st.kind == RQ_SYS_FD) {
		file = fd_ours(sys_arg(regs, 0));
		if (!file)
			return 0;
		st.dentry = (__u64)BPF_CORE_READ(file, f_path.dentry);
		if (st.op == RQ_READ || st.op == RQ_WRITE)
			st.offset = sys & RQ_SYS_OFFSET_ARG3 ? sys_arg(regs, 3) :
							       BPF_CORE_READ(file, f_pos);
		if (sys & RQ_SYS_SIZE_ARG2)
			st.size = sys_arg(regs, 2);
	} else {
		st.path = sys_arg(regs, RQ_SYS_PATH_ARG(sys));
		if ((sys & RQ_SYS_RMDIR_FLAG) && (sys_arg(regs, 2) & RQ_AT_REMOVEDIR))
			st.op = RQ_RMDIR;
	}
	st.start = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&ops, &tid, &st, BPF_ANY))
		rq_count(RQ_CNT_LOST);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct rq_op_state *st;
	struct file *file;
	bool ours;

	st = bpf_map_lookup_elem(&ops, &tid);
	if (!st)
		return 0;
	ours = st->kind == RQ_SYS_FD || st->sent;
	if (st->kind == RQ_SYS_OPEN && ret >= 0) {
		file = fd_ours(ret);
		if (file) {
			ours = true;
			st->dentry = (__u64)BPF_CORE_READ(file, f_path.dentry);
		}
	}
	if (st->op == RQ_OPEN && (st->opcodes & (1ULL << RQ_FUSE_CREATE | 1ULL << RQ_FUSE_MKNOD)))
		st->op = RQ_CREATE;
	if (ours)
		rq_op_finished(ctx, st, bpf_ktime_get_ns() - st->start);
	bpf_map_delete_elem(&ops, &tid);
	return 0;
}

static __always_inline __u32 req_dev(const struct fuse_req___rq *req)
{
	return BPF_CORE_READ(req, fm, sb, s_dev);
}

/* In the caller's thread: tie the request to the system call running there. */
SEC("tp_btf/fuse_request_send")
int BPF_PROG(request_send, struct fuse_req___rq *req)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct rq_op_state *st;
	struct rq_req r = {};
	__u64 key = (__u64)req;
	__u32 opcode;

	if (req_dev(req) != targ_dev)
		return 0;
	st = bpf_map_lookup_elem(&ops, &tid);
	if (!st)
		return 0;
	opcode = BPF_CORE_READ(req, in.h.opcode);
	if (opcode < 64)
		st->opcodes |= 1ULL << opcode;
	st->sent++;
	r.tid = tid;
	r.op_start = st->start;
	if (bpf_map_update_elem(&reqs, &key, &r, BPF_ANY))
		rq_count(RQ_CNT_LOST);
	else
		rq_count(RQ_CNT_REQ_SENT);
	return 0;
}

/* In the daemon's thread, as it writes the reply; the caller is not awake yet. */
SEC("tp_btf/fuse_request_end")
int BPF_PROG(request_end, struct fuse_req___rq *req)
{
	__u64 key = (__u64)req, unique, now, *start, span;
	struct rq_op_state *st;
	struct rq_req *r;

	if (req_dev(req) != targ_dev)
		return 0;
	daemon_tgid = bpf_get_current_pid_tgid() >> 32;
	r = bpf_map_lookup_elem(&reqs, &key);
	if (!r)
		return 0;
	now = bpf_ktime_get_ns();
	unique = BPF_CORE_READ(req, in.h.unique);
	start = bpf_map_lookup_elem(&starts, &unique);
	st = bpf_map_lookup_elem(&ops, &r->tid);
	if (!start)
		rq_count(RQ_CNT_REQ_NO_START);
	else if (!st || st->start != r->op_start)
		rq_count(RQ_CNT_REQ_LATE);
	else {
		span = now - *start;
		st->daemon_ns += span;
		if (span > st->max_span)
			st->max_span = span;
		st->nreq++;
		rq_count(RQ_CNT_REQ_MATCHED);
	}
	if (start)
		bpf_map_delete_elem(&starts, &unique);
	bpf_map_delete_elem(&reqs, &key);
	return 0;
}

/* zpoolfs:request_start(opcode, unique, ino, offset, size) in the daemon. */
SEC("usdt")
int BPF_USDT(request_start, __u32 opcode, __u64 unique)
{
	__u64 now;

	if (!armed || opcode == RQ_FUSE_FORGET || opcode == RQ_FUSE_BATCH_FORGET ||
	    opcode == RQ_FUSE_INTERRUPT)
		return 0;
	now = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&starts, &unique, &now, BPF_ANY))
		rq_count(RQ_CNT_LOST);
	return 0;
}

#endif
