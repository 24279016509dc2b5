// SPDX-License-Identifier: MIT
/*
 * zpoolfsslower - every file operation on a zpoolfs mount slower than a
 * threshold, one line each, in the columns of bcc's ext4slower: time, the
 * caller's comm and PID, operation, bytes, offset, latency, file name; with
 * -d the daemon's share of that latency too.
 *
 * The calls are system calls on files of the mount, timed and matched with
 * the daemon's requests by bpf/reqtrace.bpf.h; slow ones come through a ring
 * buffer (bpf/zpoolfsslower.bpf.c). Runs until Ctrl-C or the daemon's end.
 */
#include <argp.h>
#include <errno.h>
#include <gelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "reqtrace_attach.h"
#include "zpoolfsslower.h"
#include "zpoolfsslower.skel.h"

static struct env {
	const char *mount;
	long min_ms;
	bool daemon;
	bool json;
} env = {
	.min_ms = 10,
};

const char *argp_program_version = "zpoolfsslower " ZPOOL_VERSION;
const char *argp_program_bug_address = "the zpoolfs issue tracker";
static const char argp_doc[] =
	"Trace file operations on a zpoolfs mount slower than a threshold.\n"
	"\n"
	"USAGE: zpoolfsslower [-p PID] [-d] [-j] [-v] MOUNT [min_ms]\n"
	"\n"
	"T is the operation: R read, W write, O open, C create, S fsync, G getattr,\n"
	"A setattr, U unlink, M mkdir, D rmdir, N rename, I readdir, F close.\n"
	"\n"
	"EXAMPLES:\n"
	"    zpoolfsslower /mnt/z          # operations slower than 10 ms\n"
	"    zpoolfsslower /mnt/z 1        # slower than 1 ms\n"
	"    zpoolfsslower /mnt/z 0        # every operation\n"
	"    zpoolfsslower -d /mnt/z       # with the daemon's share of each\n"
	"    zpoolfsslower -j /mnt/z       # JSON, one object per line\n"
	"    zpoolfsslower -p 1234 /mnt/z  # the daemon is PID 1234 (checked)\n";

static const struct argp_option opts[] = {
	{ "daemon", 'd', NULL, 0, "Also print the daemon's share of each latency", 0 },
	{ "json", 'j', NULL, 0, "JSON output, one object per operation and line", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	static int pos;
	long v;

	switch (key) {
	case 'd':
		env.daemon = true;
		break;
	case 'j':
		env.json = true;
		break;
	case ARGP_KEY_ARG:
		if (pos == 0) {
			env.mount = arg;
		} else if (pos == 1) {
			if (cli_parse_long(arg, 0, 3600 * 1000L, &v))
				argp_error(state, "invalid min_ms: %s", arg);
			env.min_ms = v;
		} else {
			argp_error(state, "unexpected argument: %s", arg);
		}
		pos++;
		break;
	case ARGP_KEY_END:
		if (!env.mount)
			argp_error(state, "give the mount point of a zpoolfs");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static volatile sig_atomic_t exiting;

static void sig_handler(int sig)
{
	exiting = 1;
}

/* The last component of @path, as ext4slower prints a dentry's name. */
static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);	/* bytes, not UTF-8: keep it parseable */
		else
			putchar(c);
	}
	putchar('"');
}

static int handle_event(void *ctx, void *data, size_t len)
{
	const struct rq_event *e = data;
	char comm[RQ_COMM_LEN + 1], name[RQ_NAME_LEN + 1], ts[32];
	const char *op = e->op < RQ_NR_OPS ? rq_ops[e->op].name : "?";
	struct timespec now;
	struct tm tm;

	if (len < sizeof(*e))
		return 0;
	memcpy(comm, e->comm, RQ_COMM_LEN);
	comm[RQ_COMM_LEN] = '\0';
	memcpy(name, e->name, RQ_NAME_LEN);
	name[RQ_NAME_LEN] = '\0';
	clock_gettime(CLOCK_REALTIME, &now);
	strftime(ts, sizeof(ts), "%H:%M:%S", localtime_r(&now.tv_sec, &tm));
	if (env.json) {
		printf("{\"time\":\"%s\",\"epoch\":%lld.%03ld,\"comm\":", ts, (long long)now.tv_sec,
		       now.tv_nsec / 1000000);
		json_string(comm);
		printf(",\"pid\":%u,\"op\":\"%s\",\"bytes\":%llu,\"offset\":%llu,"
		       "\"lat_ms\":%.3f,\"daemon_ms\":%.3f,\"requests\":%u,\"file\":",
		       e->pid, op, (unsigned long long)e->size, (unsigned long long)e->offset,
		       (double)e->lat_ns / 1e6, (double)e->daemon_ns / 1e6, e->nreq);
		json_string(base_name(name));
		printf("}\n");
	} else {
		printf("%-8s %-14.14s %-7u %c %-7llu %-8llu %7.2f ", ts, comm, e->pid,
		       e->op < RQ_NR_OPS ? rq_ops[e->op].letter : '?',
		       (unsigned long long)e->size, (unsigned long long)e->offset / 1024,
		       (double)e->lat_ns / 1e6);
		if (env.daemon)
			printf("%7.2f ", (double)e->daemon_ns / 1e6);
		printf("%s\n", base_name(name));
	}
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct argp_child children[] = { { &rq_common_argp, 0, NULL, 0 }, {} };
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.args_doc = "MOUNT [min_ms]",
		.doc = argp_doc,
		.children = children,
	};
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	struct rq_session rs = { .tool = "zpoolfsslower" };
	struct sigaction sa = { .sa_handler = sig_handler };
	struct ring_buffer *rb = NULL;
	struct zpoolfsslower_bpf *obj;
	int err, pidfd = -1;
	bool gone = false;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 1;
	rs.verbose = rq_args.verbose;
	libbpf_set_print(rq_libbpf_print);
	elf_version(EV_CURRENT);

	if (rq_setup(&rs, env.mount, rq_args.pid, rq_args.btf_path))
		return 1;

	if (rq_args.btf_path)
		open_opts.btf_custom_path = rq_args.btf_path;
	obj = zpoolfsslower_bpf__open_opts(&open_opts);
	if (!obj) {
		err = -errno;
		fprintf(stderr, "zpoolfsslower: cannot open the BPF object: %s\n",
			strerror(-err));
		return 1;
	}
	obj->rodata->targ_dev = rs.kdev;
	obj->rodata->targ_min_ns = (__u64)env.min_ms * 1000000ULL;

	err = zpoolfsslower_bpf__load(obj);
	if (err) {
		fprintf(stderr, "zpoolfsslower: cannot load the BPF programs: %s\n",
			strerror(-err));
		goto out_destroy;
	}
	rb = ring_buffer__new(bpf_map__fd(obj->maps.events), handle_event, NULL, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "zpoolfsslower: cannot open the ring buffer: %s\n",
			strerror(-err));
		goto out_destroy;
	}
	/* Signals first: a Ctrl-C during attach must still detach cleanly. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = rq_attach_all(&rs, obj->obj, rq_args.pid, &obj->bss->daemon_tgid,
			    obj->progs.request_start, NULL);
	if (err)
		goto out_detach;
	pidfd = rq_open_pidfd(rs.pid);
	__atomic_store_n(&obj->bss->armed, true, __ATOMIC_RELEASE);

	if (env.min_ms)
		fprintf(env.json ? stderr : stdout, "Tracing file operations on %s (zpoolfs PID "
			"%d) slower than %ld ms... Hit Ctrl-C to end.\n", rs.mount, rs.pid,
			env.min_ms);
	else
		fprintf(env.json ? stderr : stdout, "Tracing every file operation on %s (zpoolfs "
			"PID %d)... Hit Ctrl-C to end.\n", rs.mount, rs.pid);
	if (!env.json)
		printf("%-8s %-14s %-7s %1s %-7s %-8s %7s %s%s\n", "TIME", "COMM", "PID", "T",
		       "BYTES", "OFF_KB", "LAT(ms)", env.daemon ? "DMN(ms) " : "", "FILENAME");
	fflush(NULL);

	while (!exiting && !gone) {
		err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "zpoolfsslower: cannot read the ring buffer: %s\n",
				strerror(-err));
			goto out_detach;
		}
		gone = pidfd >= 0 && rq_wait(pidfd, 0, &exiting);
	}
	/* Detach, then print what is still in the ring buffer. */
	rq_detach(&rs);
	ring_buffer__consume(rb);
	if (obj->bss->counters[RQ_CNT_DROPPED])
		fprintf(stderr, "zpoolfsslower: %llu events dropped (ring buffer full)\n",
			(unsigned long long)obj->bss->counters[RQ_CNT_DROPPED]);
	if (gone && !env.json)
		printf("zpoolfs PID %d exited.\n", rs.pid);
	err = 0;

out_detach:
	rq_detach(&rs);
	if (pidfd >= 0)
		close(pidfd);
out_destroy:
	ring_buffer__free(rb);
	zpoolfsslower_bpf__destroy(obj);
	return err ? 1 : 0;
}
