/* SPDX-License-Identifier: MIT */
/*
 * reqtrace.h - types shared by the BPF side of zpoolfsdist and zpoolfsslower
 * (bpf/reqtrace.bpf.h and the two *.bpf.c) and their user side (tools/).
 * Fixed-width types only, no libc.
 *
 * Two views of one file operation on a zpoolfs mount:
 *
 *   caller  |<---------------- system call (sys_enter .. sys_exit) ---------------->|
 *   kernel       send req ->                                       <- reply ends req
 *   daemon             zpoolfs:request_start |<-- daemon span -->| (reply written)
 *
 * The caller's operation is a system call on a file of the mount, timed on
 * the kernel's raw sys_enter/sys_exit tracepoints: a call on a file
 * descriptor (read, fsync, close...) when the descriptor is a file of the
 * mount, a call on a path (stat, unlink...) when it sent a request to the
 * mount, an open when it returned a descriptor of the mount or sent a
 * request. Each request a call sends is tied to it by the kernel's
 * fuse_request_send tracepoint, which fires in the calling thread. The
 * daemon's span of a request runs from its zpoolfs:request_start probe to
 * the kernel's fuse_request_end tracepoint, which fires while the daemon
 * writes the reply and before the caller is woken; so a request's span lies
 * inside the call that sent it, and
 *
 *	round trip = call time - sum of the daemon spans of its requests
 *
 * is what the kernel, its caches and the two context switches cost. The
 * daemon's own view, per opcode, is the ns argument of zpoolfs:request_done:
 * what the daemon measured itself, and what MOUNT/.zpool/requests sums.
 *
 * Why system calls and not the kernel's FUSE functions (fuse_file_read_iter,
 * fuse_open...) as bcc's fsdist does: fentry, fexit and kprobes are not
 * available on every kernel we run on (the CI machines refuse fentry programs
 * with EPERM and have no kprobes), while the raw system call tracepoints are.
 * A system call is also exactly what the caller waits for.
 */
#ifndef ZPOOL_BPF_REQTRACE_H
#define ZPOOL_BPF_REQTRACE_H

#define RQ_SLOTS 40		/* slot 0: 0; slot i: [2^(i-1), 2^i) units */
#define RQ_NR_OPCODES 64	/* FUSE opcodes < 64 have their own slot; others go to 0 */
#define RQ_NAME_LEN 256		/* file name or path bytes kept by zpoolfsslower, with the NUL */
#define RQ_COMM_LEN 16

/* The caller's operations: classes of system calls (tools/reqtrace_attach.c). */
enum rq_op {
	RQ_READ,		/* read, pread64, readv, preadv, preadv2 */
	RQ_WRITE,		/* write, pwrite64, writev, pwritev, pwritev2 */
	RQ_OPEN,		/* open, openat, openat2 of an existing file */
	RQ_CREATE,		/* the same, or creat, when it created the file */
	RQ_FSYNC,		/* fsync, fdatasync */
	RQ_GETATTR,		/* stat, lstat, fstat, newfstatat, statx */
	RQ_SETATTR,		/* truncate, ftruncate, chmod, chown, utimensat... */
	RQ_UNLINK,		/* unlink, unlinkat */
	RQ_MKDIR,		/* mkdir, mkdirat */
	RQ_RMDIR,		/* rmdir, unlinkat(AT_REMOVEDIR) */
	RQ_RENAME,		/* rename, renameat, renameat2 */
	RQ_READDIR,		/* getdents, getdents64 */
	RQ_CLOSE,		/* close */
	RQ_NR_OPS,
};

/*
 * How a system call is recognised as one on the mount (the value of the
 * `syscalls` map, filled by user space): RQ_SYS(op, kind, path argument).
 */
enum rq_sys_kind {
	RQ_SYS_FD = 1,		/* argument 0 is a file descriptor: is its file on the mount? */
	RQ_SYS_PATH,		/* a path: did the call send a request to the mount? */
	RQ_SYS_OPEN,		/* a path, and returns a descriptor: is it on the mount? */
};
#define RQ_SYS(op, kind, path_arg) ((op) | (kind) << 8 | (path_arg) << 16)
#define RQ_SYS_OP(v) ((v) & 0xff)
#define RQ_SYS_KIND(v) (((v) >> 8) & 0xff)
#define RQ_SYS_PATH_ARG(v) (((v) >> 16) & 0xf)
#define RQ_SYS_RMDIR_FLAG (1u << 24)	/* unlinkat: AT_REMOVEDIR in argument 2 makes it rmdir */
#define RQ_SYS_OFFSET_ARG3 (1u << 25)	/* pread64...: argument 3 is the offset (else f_pos) */
#define RQ_SYS_SIZE_ARG2 (1u << 26)	/* read, pread64...: argument 2 is the byte count */
#define RQ_MAX_SYSCALLS 1024

/* Event counters (a global array of each program). */
enum rq_counter {
	RQ_CNT_REQ_SENT,	/* requests sent by a traced call */
	RQ_CNT_REQ_MATCHED,	/* ... whose daemon span was added to it */
	RQ_CNT_REQ_NO_START,	/* ... whose reply came with no request_start seen */
	RQ_CNT_REQ_LATE,	/* ... whose reply came after the call ended */
	RQ_CNT_LOST,		/* state not stored: a map was full */
	RQ_CNT_DROPPED,		/* zpoolfsslower events lost: ring buffer full */
	RQ_NR_COUNTERS,
};

/* A log2 histogram; the count is the sum of the slots. */
struct rq_hist {
	__u64 slots[RQ_SLOTS];
	__u64 sum_ns;		/* exact, for the average */
};

/* One system call in progress on a thread (map `ops`, keyed by thread id). */
struct rq_op_state {
	__u64 start;		/* bpf_ktime_get_ns() at sys_enter */
	__u64 daemon_ns;	/* sum of the daemon spans of its requests */
	__u64 max_span;		/* the longest of those spans */
	__u64 dentry;		/* RQ_SYS_FD: the file's dentry (a kernel pointer) */
	__u64 path;		/* RQ_SYS_PATH, RQ_SYS_OPEN: the path (user memory) */
	__u64 offset;		/* read/write: file offset */
	__u64 size;		/* read/write: bytes asked for */
	__u64 opcodes;		/* bit n: it sent a request of opcode n */
	__u32 op;		/* enum rq_op */
	__u32 kind;		/* enum rq_sys_kind */
	__u32 nreq;		/* requests whose daemon span was added */
	__u32 sent;		/* requests it sent to the mount */
};

/* zpoolfsslower's event: one operation slower than the threshold. */
struct rq_event {
	__u64 lat_ns;		/* the caller's time */
	__u64 daemon_ns;	/* the daemon spans of its requests */
	__u64 size;
	__u64 offset;
	__u32 pid;		/* the caller's process */
	__u32 op;		/* enum rq_op */
	__u32 nreq;		/* requests matched */
	__u32 pad;
	char comm[RQ_COMM_LEN];
	char name[RQ_NAME_LEN];
};

#endif
