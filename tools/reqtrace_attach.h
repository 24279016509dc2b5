/* SPDX-License-Identifier: MIT */
/*
 * reqtrace_attach.h - the user side zpoolfsdist and zpoolfsslower share: from a
 * mount point to a loaded, attached and armed bpf/reqtrace.bpf.h.
 *
 *	rq_mount_open()      mount point -> its device number (for the filter)
 *	rq_fill_syscalls()   after load: which system calls are which operation
 *	rq_attach_kernel()   the system call and fuse tracepoints
 *	rq_find_daemon()     statfs(2) on the mount; the fuse_request_end program
 *	                     notes the process that replied: the daemon
 *	rq_attach_usdt()     the daemon's zpoolfs:* probes (fs/stats/req_probes.h)
 *	then the tool sets `armed` in its .bss, and calls rq_detach() at the end.
 */
#ifndef ZPOOL_TOOLS_REQTRACE_ATTACH_H
#define ZPOOL_TOOLS_REQTRACE_ATTACH_H

#include <argp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <bpf/libbpf.h>
#include <linux/types.h>

#include "reqtrace.h"

struct rq_op_info {
	const char *name;	/* "read" */
	char letter;		/* zpoolfsslower's T column */
	int opcodes[2];		/* the FUSE requests it mostly sends (0: none) */
};

extern const struct rq_op_info rq_ops[RQ_NR_OPS];

/* "READ" for 15; "?" for an opcode without a name. */
const char *rq_opcode_name(unsigned int opcode);

#define RQ_MAX_LINKS (2 * RQ_NR_OPS + 8)

struct rq_session {
	const char *tool;		/* for messages */
	bool verbose;
	char mount[PATH_MAX];		/* canonical mount point */
	__u32 kdev;			/* its device number as the kernel encodes it */
	unsigned int dev_major, dev_minor;
	pid_t pid;			/* the daemon */
	char exe[PATH_MAX + 64];	/* its binary, for the USDT probes */
	struct bpf_link *links[RQ_MAX_LINKS];
	int nr_links;
};

/*
 * rq_setup - check that we run as root on a kernel with BTF (@btf_path, NULL:
 * the running kernel's), that @pid (0: none given) exists, and resolve
 * @mount (rq_mount_open()). Return: 0 or -errno (message printed).
 */
int rq_setup(struct rq_session *s, const char *mount, pid_t pid, const char *btf_path);

/* The options both tools take, parsed by rq_common_argp (an argp child). */
struct rq_args {
	pid_t pid;		/* -p: the daemon; 0: find it */
	bool verbose;		/* -v */
	const char *btf_path;	/* --btf */
};

extern struct rq_args rq_args;
extern const struct argp rq_common_argp;

/* libbpf's messages: its debug output only with -v. */
int rq_libbpf_print(enum libbpf_print_level level, const char *format, va_list args);

/*
 * rq_mount_open - resolve @path to a FUSE mount point and fill s->mount and
 * the device numbers. Return: 0, or -errno (message printed): -ENOENT, -EINVAL
 * (not a mount point, or not a FUSE one).
 */
int rq_mount_open(struct rq_session *s, const char *path);

/* Fill the program's `syscalls` map. Return: 0 or -errno (message printed). */
int rq_fill_syscalls(struct rq_session *s, int map_fd);

/* Attach every loaded program but the USDT ones. Return: 0 or -errno (printed). */
int rq_attach_kernel(struct rq_session *s, struct bpf_object *obj);

/*
 * rq_find_daemon - make one request on the mount (statfs) and read which
 * process replied from @tgid (the program's daemon_tgid, set by the attached
 * fuse_request_end program). Return: the PID, or -errno (message printed
 * unless @quiet).
 */
pid_t rq_find_daemon(struct rq_session *s, volatile __u32 *tgid, bool quiet);

/*
 * rq_attach_usdt - attach @prog to zpoolfs:@probe in the binary of s->pid
 * (found through /proc/PID/exe on the first call).
 * Return: 0 or -errno (message printed; -ENOENT: the binary has no zpoolfs
 * probes, built with PROBES=0 or not zpoolfs at all).
 */
int rq_attach_usdt(struct rq_session *s, struct bpf_program *prog, const char *probe);

/*
 * rq_attach_all - the whole sequence above but arming: fill the syscalls map,
 * attach the kernel programs, find the daemon (which must be @pid if that is
 * not 0, when it can be found), attach
 * @start (and @done, if not NULL) to its probes.
 * Return: 0 or -errno (message printed).
 */
int rq_attach_all(struct rq_session *s, struct bpf_object *obj, pid_t pid,
		  volatile __u32 *daemon_tgid, struct bpf_program *start, struct bpf_program *done);

void rq_detach(struct rq_session *s);

/* A pidfd for @pid (readable when it exits), or -1. */
int rq_open_pidfd(pid_t pid);

/*
 * rq_wait - wait @ms milliseconds (-1: for ever, 0: only look), or until *@stop is set (by
 * a signal handler) or the process of @pidfd (-1: none) exits.
 * Return: true when that process exited.
 */
bool rq_wait(int pidfd, int ms, volatile sig_atomic_t *stop);

/* CLOCK_MONOTONIC now, in ns: the clock of bpf_ktime_get_ns(). */
__u64 rq_now_ns(void);

#endif
