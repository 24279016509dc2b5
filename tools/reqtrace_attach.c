// SPDX-License-Identifier: MIT
/*
 * reqtrace_attach.c - from a mount point to attached reqtrace programs, for
 * zpoolfsdist and zpoolfsslower (see reqtrace_attach.h for the sequence).
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "reqtrace_attach.h"
#include "usdt.h"

const struct rq_op_info rq_ops[RQ_NR_OPS] = {
	[RQ_READ] = { "read", 'R', { 15 } },
	[RQ_WRITE] = { "write", 'W', { 16 } },
	[RQ_OPEN] = { "open", 'O', { 14 } },
	[RQ_CREATE] = { "create", 'C', { 35, 8 } },
	[RQ_FSYNC] = { "fsync", 'S', { 20 } },
	[RQ_GETATTR] = { "getattr", 'G', { 3 } },
	[RQ_SETATTR] = { "setattr", 'A', { 4 } },
	[RQ_UNLINK] = { "unlink", 'U', { 10 } },
	[RQ_MKDIR] = { "mkdir", 'M', { 9 } },
	[RQ_RMDIR] = { "rmdir", 'D', { 11 } },
	[RQ_RENAME] = { "rename", 'N', { 12, 45 } },
	[RQ_READDIR] = { "readdir", 'I', { 28, 44 } },
	[RQ_CLOSE] = { "close", 'F', { 25 } },
};

#define FD(op, flags) RQ_SYS(op, RQ_SYS_FD, 0) | (flags)
#define PATH(op, arg) RQ_SYS(op, RQ_SYS_PATH, arg)
#define OPEN(arg) RQ_SYS(RQ_OPEN, RQ_SYS_OPEN, arg)
#define RW (RQ_SYS_SIZE_ARG2)
#define PRW (RQ_SYS_SIZE_ARG2 | RQ_SYS_OFFSET_ARG3)

/* Which system calls are which operation, by this architecture's numbers. */
static const struct {
	long nr;
	__u32 sys;
} syscall_table[] = {
	{ SYS_read, FD(RQ_READ, RW) },
	{ SYS_pread64, FD(RQ_READ, PRW) },
	{ SYS_readv, FD(RQ_READ, 0) },
	{ SYS_preadv, FD(RQ_READ, RQ_SYS_OFFSET_ARG3) },
	{ SYS_preadv2, FD(RQ_READ, RQ_SYS_OFFSET_ARG3) },
	{ SYS_write, FD(RQ_WRITE, RW) },
	{ SYS_pwrite64, FD(RQ_WRITE, PRW) },
	{ SYS_writev, FD(RQ_WRITE, 0) },
	{ SYS_pwritev, FD(RQ_WRITE, RQ_SYS_OFFSET_ARG3) },
	{ SYS_pwritev2, FD(RQ_WRITE, RQ_SYS_OFFSET_ARG3) },
	{ SYS_openat, OPEN(1) },
#ifdef SYS_openat2
	{ SYS_openat2, OPEN(1) },
#endif
	{ SYS_fsync, FD(RQ_FSYNC, 0) },
	{ SYS_fdatasync, FD(RQ_FSYNC, 0) },
	{ SYS_fstat, FD(RQ_GETATTR, 0) },
	{ SYS_newfstatat, PATH(RQ_GETATTR, 1) },
	{ SYS_statx, PATH(RQ_GETATTR, 1) },
	{ SYS_truncate, PATH(RQ_SETATTR, 0) },
	{ SYS_ftruncate, FD(RQ_SETATTR, 0) },
	{ SYS_fchmod, FD(RQ_SETATTR, 0) },
	{ SYS_fchmodat, PATH(RQ_SETATTR, 1) },
	{ SYS_fchown, FD(RQ_SETATTR, 0) },
	{ SYS_fchownat, PATH(RQ_SETATTR, 1) },
	{ SYS_utimensat, PATH(RQ_SETATTR, 1) },
	{ SYS_unlinkat, PATH(RQ_UNLINK, 1) | RQ_SYS_RMDIR_FLAG },
	{ SYS_mkdirat, PATH(RQ_MKDIR, 1) },
	{ SYS_renameat, PATH(RQ_RENAME, 1) },
	{ SYS_renameat2, PATH(RQ_RENAME, 1) },
	{ SYS_getdents64, FD(RQ_READDIR, 0) },
	{ SYS_close, FD(RQ_CLOSE, 0) },
	/* The older calls that newer architectures (arm64) do not have. */
#ifdef SYS_open
	{ SYS_open, OPEN(0) },
	{ SYS_creat, OPEN(0) },
	{ SYS_stat, PATH(RQ_GETATTR, 0) },
	{ SYS_lstat, PATH(RQ_GETATTR, 0) },
	{ SYS_chmod, PATH(RQ_SETATTR, 0) },
	{ SYS_chown, PATH(RQ_SETATTR, 0) },
	{ SYS_lchown, PATH(RQ_SETATTR, 0) },
	{ SYS_utime, PATH(RQ_SETATTR, 0) },
	{ SYS_utimes, PATH(RQ_SETATTR, 0) },
	{ SYS_unlink, PATH(RQ_UNLINK, 0) },
	{ SYS_mkdir, PATH(RQ_MKDIR, 0) },
	{ SYS_rmdir, PATH(RQ_RMDIR, 0) },
	{ SYS_rename, PATH(RQ_RENAME, 0) },
	{ SYS_getdents, FD(RQ_READDIR, 0) },
#endif
};

int rq_fill_syscalls(struct rq_session *s, int map_fd)
{
	for (size_t i = 0; i < sizeof(syscall_table) / sizeof(syscall_table[0]); i++) {
		__u32 key = (__u32)syscall_table[i].nr;
		int err;

		if (syscall_table[i].nr < 0 || syscall_table[i].nr >= RQ_MAX_SYSCALLS)
			continue;
		if (bpf_map_update_elem(map_fd, &key, &syscall_table[i].sys, BPF_ANY)) {
			err = -errno;
			fprintf(stderr, "%s: cannot fill the system call table: %s\n", s->tool,
				strerror(-err));
			return err;
		}
	}
	return 0;
}

/* The protocol's opcodes (<linux/fuse.h>; numbers are ABI and never change). */
static const char *const opcode_names[RQ_NR_OPCODES] = {
	[1] = "LOOKUP", [2] = "FORGET", [3] = "GETATTR", [4] = "SETATTR",
	[5] = "READLINK", [6] = "SYMLINK", [8] = "MKNOD", [9] = "MKDIR",
	[10] = "UNLINK", [11] = "RMDIR", [12] = "RENAME", [13] = "LINK",
	[14] = "OPEN", [15] = "READ", [16] = "WRITE", [17] = "STATFS",
	[18] = "RELEASE", [20] = "FSYNC", [21] = "SETXATTR", [22] = "GETXATTR",
	[23] = "LISTXATTR", [24] = "REMOVEXATTR", [25] = "FLUSH", [26] = "INIT",
	[27] = "OPENDIR", [28] = "READDIR", [29] = "RELEASEDIR", [30] = "FSYNCDIR",
	[31] = "GETLK", [32] = "SETLK", [33] = "SETLKW", [34] = "ACCESS",
	[35] = "CREATE", [36] = "INTERRUPT", [37] = "BMAP", [38] = "DESTROY",
	[39] = "IOCTL", [40] = "POLL", [41] = "NOTIFY_REPLY", [42] = "BATCH_FORGET",
	[43] = "FALLOCATE", [44] = "READDIRPLUS", [45] = "RENAME2", [46] = "LSEEK",
	[47] = "COPY_FILE_RANGE", [48] = "SETUPMAPPING", [49] = "REMOVEMAPPING",
	[50] = "SYNCFS", [51] = "TMPFILE", [52] = "STATX",
};

const char *rq_opcode_name(unsigned int opcode)
{
	if (opcode < RQ_NR_OPCODES && opcode_names[opcode])
		return opcode_names[opcode];
	return "?";
}

struct rq_args rq_args;

enum { OPT_BTF = 0x100 };

static const struct argp_option common_opts[] = {
	{ "pid", 'p', "PID", 0, "The daemon serving MOUNT (default: found from it)", 0 },
	{ "verbose", 'v', NULL, 0, "Verbose debug output (libbpf's too)", 0 },
	{ "btf", OPT_BTF, "FILE", 0, "Kernel BTF to use instead of /sys/kernel/btf/vmlinux", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{},
};

static error_t parse_common(int key, char *arg, struct argp_state *state)
{
	long v;

	switch (key) {
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case 'p':
		if (cli_parse_long(arg, 1, INT_MAX, &v))
			argp_error(state, "invalid PID: %s", arg);
		rq_args.pid = v;
		break;
	case 'v':
		rq_args.verbose = true;
		break;
	case OPT_BTF:
		rq_args.btf_path = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp rq_common_argp = {
	.options = common_opts,
	.parser = parse_common,
};

__u64 rq_now_ns(void)
{
	return cli_now_ns();
}

int rq_setup(struct rq_session *s, const char *mount, pid_t pid, const char *btf_path)
{
	const char *btf = btf_path ? btf_path : "/sys/kernel/btf/vmlinux";
	int err;

	if (geteuid() != 0) {
		fprintf(stderr, "%s: must run as root: loading BPF programs and attaching "
				"probes needs CAP_BPF and CAP_PERFMON\n", s->tool);
		return -EPERM;
	}
	if (access(btf, R_OK)) {
		err = -errno;
		fprintf(stderr, "%s: no kernel BTF at %s (%s): a kernel built with "
				"CONFIG_DEBUG_INFO_BTF=y is needed\n", s->tool, btf, strerror(-err));
		return err;
	}
	if (pid && kill(pid, 0) && errno == ESRCH) {
		fprintf(stderr, "%s: no such process: %d\n", s->tool, pid);
		return -ESRCH;
	}
	return rq_mount_open(s, mount);
}

int rq_libbpf_print(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_DEBUG && !rq_args.verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

/* Undo mountinfo's octal escapes (\040 for a space...) in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/*
 * The last mountinfo line for mount point @dir (the mount on top), as its
 * device numbers and filesystem type. Return: 0, or -ENOENT when @dir is not
 * a mount point.
 */
static int find_mount(const char *dir, unsigned int *maj, unsigned int *min, char *fstype,
		      size_t len)
{
	char line[3 * PATH_MAX], point[PATH_MAX], type[256];
	int found = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned int a, b;
		char *sep;

		/* id parent maj:min root point options [optional...] - type source ... */
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &a, &b, point) != 3)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%255s", type) != 1)
			continue;
		unescape(point);
		if (strcmp(point, dir))
			continue;
		*maj = a;
		*min = b;
		snprintf(fstype, len, "%s", type);
		found = 0;
	}
	fclose(f);
	return found;
}

int rq_mount_open(struct rq_session *s, const char *path)
{
	char fstype[256];
	struct stat st;
	int err;

	if (!realpath(path, s->mount) || stat(s->mount, &st)) {
		err = -errno;
		fprintf(stderr, "%s: %s: %s\n", s->tool, path, strerror(-err));
		return err;
	}
	err = find_mount(s->mount, &s->dev_major, &s->dev_minor, fstype, sizeof(fstype));
	if (err) {
		fprintf(stderr, "%s: %s is not a mount point%s\n", s->tool, s->mount,
			err == -ENOENT ? "" : " (cannot read /proc/self/mountinfo)");
		return -EINVAL;
	}
	if (strcmp(fstype, "fuse") && strncmp(fstype, "fuse.", 5)) {
		fprintf(stderr, "%s: %s is a %s mount, not a FUSE one (zpoolfs)\n", s->tool,
			s->mount, fstype);
		return -EINVAL;
	}
	if (major(st.st_dev) != s->dev_major || minor(st.st_dev) != s->dev_minor) {
		fprintf(stderr, "%s: %s: mountinfo and stat disagree on the device\n", s->tool,
			s->mount);
		return -EINVAL;
	}
	/* The kernel's dev_t: MINORBITS = 20. */
	s->kdev = (s->dev_major << 20) | s->dev_minor;
	return 0;
}

static int keep_link(struct rq_session *s, struct bpf_link *link, const char *what)
{
	int err;

	if (!link) {
		err = -errno;
		fprintf(stderr, "%s: cannot attach %s: %s\n", s->tool, what, strerror(-err));
		return err;
	}
	if (s->nr_links == RQ_MAX_LINKS) {
		bpf_link__destroy(link);
		fprintf(stderr, "%s: too many programs\n", s->tool);
		return -E2BIG;
	}
	s->links[s->nr_links++] = link;
	return 0;
}

int rq_attach_kernel(struct rq_session *s, struct bpf_object *obj)
{
	struct bpf_program *prog;
	int err;

	bpf_object__for_each_program(prog, obj) {
		if (!strcmp(bpf_program__section_name(prog), "usdt"))
			continue;
		err = keep_link(s, bpf_program__attach(prog), bpf_program__name(prog));
		if (err)
			return err;
	}
	return 0;
}

pid_t rq_find_daemon(struct rq_session *s, volatile __u32 *tgid, bool quiet)
{
	struct statfs sfs;

	*tgid = 0;
	if (statfs(s->mount, &sfs)) {
		int err = -errno;

		if (!quiet)
			fprintf(stderr, "%s: statfs %s: %s\n", s->tool, s->mount, strerror(-err));
		return err;
	}
	if (!*tgid) {
		if (!quiet)
			fprintf(stderr, "%s: no FUSE request reached the daemon of %s (not allowed "
					"to access it?): give its PID with -p\n", s->tool, s->mount);
		return -ESRCH;
	}
	return (pid_t)*tgid;
}

/* s->exe: the daemon's binary, reachable from here. Return: 0 or -errno. */
static int find_exe(struct rq_session *s)
{
	char link[64], path[PATH_MAX];
	int with_sema, n;
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/%d/exe", s->pid);
	len = readlink(link, path, sizeof(path) - 1);
	if (len < 0) {
		n = -errno;
		fprintf(stderr, "%s: cannot find the binary of PID %d: %s\n", s->tool, s->pid,
			strerror(-n));
		return n;
	}
	path[len] = '\0';
	/* A daemon in another mount namespace, or a binary replaced since: go through /proc. */
	if (access(path, R_OK) || strstr(path, " (deleted)"))
		snprintf(s->exe, sizeof(s->exe), "%s", link);
	else
		snprintf(s->exe, sizeof(s->exe), "%s", path);
	n = usdt_count_notes(s->exe, "zpoolfs", &with_sema);
	if (n < 0) {
		fprintf(stderr, "%s: cannot read %s: %s\n", s->tool, s->exe,
			n == -ENOEXEC ? "not an ELF file" : strerror(-n));
		return n;
	}
	if (n == 0) {
		fprintf(stderr, "%s: %s (PID %d) has no zpoolfs USDT probes: built with "
				"PROBES=0, or not zpoolfs\n", s->tool, s->exe, s->pid);
		return -ENOENT;
	}
	if (s->verbose)
		fprintf(stderr, "%s: %s: %d zpoolfs probes, %d with semaphores\n", s->tool,
			s->exe, n, with_sema);
	return 0;
}

int rq_attach_usdt(struct rq_session *s, struct bpf_program *prog, const char *probe)
{
	char what[64];
	int err;

	if (!s->exe[0]) {
		err = find_exe(s);
		if (err)
			return err;
	}
	snprintf(what, sizeof(what), "zpoolfs:%s", probe);
	return keep_link(s, bpf_program__attach_usdt(prog, s->pid, s->exe, "zpoolfs", probe,
						     NULL), what);
}

void rq_detach(struct rq_session *s)
{
	while (s->nr_links > 0)
		bpf_link__destroy(s->links[--s->nr_links]);
}

int rq_attach_all(struct rq_session *s, struct bpf_object *obj, pid_t pid,
		  volatile __u32 *daemon_tgid, struct bpf_program *start, struct bpf_program *done)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "syscalls");
	pid_t found;
	int err;

	if (!map) {
		fprintf(stderr, "%s: the BPF object has no syscalls map\n", s->tool);
		return -ENOENT;
	}
	err = rq_fill_syscalls(s, bpf_map__fd(map));
	if (!err)
		err = rq_attach_kernel(s, obj);
	if (err)
		return err;
	/* With -p, the mount's daemon must be that process, when it can be told. */
	found = rq_find_daemon(s, daemon_tgid, pid != 0);
	if (pid && found > 0 && found != pid) {
		fprintf(stderr, "%s: PID %d does not serve %s (PID %d does)\n", s->tool, pid,
			s->mount, found);
		return -ESRCH;
	}
	if (!pid)
		pid = found;
	if (pid < 0)
		return pid;
	s->pid = pid;
	err = rq_attach_usdt(s, start, "request_start");
	if (!err && done)
		err = rq_attach_usdt(s, done, "request_done");
	return err;
}

int rq_open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	return -1;
#endif
}

bool rq_wait(int pidfd, int ms, volatile sig_atomic_t *stop)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	if (ms == 0)
		return pidfd >= 0 && poll(&pfd, 1, 0) > 0;
	return cli_wait_until(pidfd, ms < 0 ? 0 : cli_now_ns() + (uint64_t)ms * 1000000ULL, stop);
}
