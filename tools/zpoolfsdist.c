// SPDX-License-Identifier: MIT
/*
 * zpoolfsdist - latency of the file operations on a zpoolfs mount, as the
 * caller sees them and as the daemon does, as log2 histograms side by side.
 *
 * In the style of bcc's fsdist/ext4dist, for a FUSE mount: the caller's time
 * is taken on the kernel's FUSE entry points (bpf/reqtrace.bpf.h), the
 * daemon's from its zpoolfs:request_done probe (fs/stats/req_probes.h), and each
 * operation's round trip is its time minus the daemon spans of the requests
 * it sent (bpf/reqtrace.h). Prints every interval, or once on Ctrl-C; ends
 * with the daemon too.
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
#include "histogram.h"
#include "reqtrace_attach.h"
#include "zpoolfsdist.h"
#include "zpoolfsdist.skel.h"

static struct env {
	const char *mount;
	bool milliseconds;
	bool json;
	bool timestamp;
	int interval;		/* seconds; 0: print once, at the end */
	long count;		/* intervals to print; 0: no limit */
} env;

const char *argp_program_version = "zpoolfsdist " ZPOOL_VERSION;
const char *argp_program_bug_address = "the zpoolfs issue tracker";
static const char argp_doc[] =
	"Summarize the latency of file operations on a zpoolfs mount, as the caller\n"
	"and as the daemon see it, as log2 histograms side by side.\n"
	"\n"
	"USAGE: zpoolfsdist [-p PID] [-m] [-T] [-j] [-v] MOUNT [interval [count]]\n"
	"\n"
	"EXAMPLES:\n"
	"    zpoolfsdist /mnt/z            # until Ctrl-C, in microseconds\n"
	"    zpoolfsdist -m /mnt/z 5       # every 5 seconds, in milliseconds\n"
	"    zpoolfsdist -T /mnt/z 1 10    # every second with a timestamp, ten times\n"
	"    zpoolfsdist -j /mnt/z 10      # JSON, one object per line, every 10 s\n"
	"    zpoolfsdist -p 1234 /mnt/z    # the daemon is PID 1234 (checked)\n";

static const struct argp_option opts[] = {
	{ "milliseconds", 'm', NULL, 0, "Histograms in milliseconds (default: microseconds)", 0 },
	{ "timestamp", 'T', NULL, 0, "Print a timestamp with each interval", 0 },
	{ "json", 'j', NULL, 0, "JSON output, one object per interval and line", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	static int pos;
	long v;

	switch (key) {
	case 'm':
		env.milliseconds = true;
		break;
	case 'T':
		env.timestamp = true;
		break;
	case 'j':
		env.json = true;
		break;
	case ARGP_KEY_ARG:
		if (pos == 0) {
			env.mount = arg;
		} else if (pos == 1) {
			if (cli_parse_long(arg, 1, INT_MAX / 1000, &v))
				argp_error(state, "invalid interval: %s", arg);
			env.interval = v;
		} else if (pos == 2) {
			if (cli_parse_long(arg, 1, LONG_MAX, &v))
				argp_error(state, "invalid count: %s", arg);
			env.count = v;
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

/* ---- one interval: what the arrays gained since the last read */

struct snapshot {
	struct dist_op ops[RQ_NR_OPS];
	struct dist_opcode opcodes[RQ_NR_OPCODES];
	__u64 counters[RQ_NR_COUNTERS];
};

static void add_hist(struct rq_hist *d, const struct rq_hist *h)
{
	for (int i = 0; i < RQ_SLOTS; i++)
		d->slots[i] += h->slots[i];
	d->sum_ns += h->sum_ns;
}

static void take_snapshot(const struct zpoolfsdist_bpf *obj, struct snapshot *s)
{
	/* Word by word: each __u64 is read whole while the programs add to it. */
	const volatile __u64 *src = (const volatile __u64 *)obj->bss->dist_ops;
	__u64 *dst = (__u64 *)s->ops;

	for (size_t i = 0; i < sizeof(s->ops) / 8; i++)
		dst[i] = src[i];
	src = (const volatile __u64 *)obj->bss->dist_opcodes;
	dst = (__u64 *)s->opcodes;
	for (size_t i = 0; i < sizeof(s->opcodes) / 8; i++)
		dst[i] = src[i];
	for (int i = 0; i < RQ_NR_COUNTERS; i++)
		s->counters[i] = __atomic_load_n(&obj->bss->counters[i], __ATOMIC_RELAXED);
}

/*
 * @cur becomes the difference from @old, and @old the total @cur was. Every
 * field of a snapshot is a __u64 that only grows, so this goes word by word.
 */
static void snapshot_delta(struct snapshot *cur, struct snapshot *old)
{
	__u64 *c = (__u64 *)cur, *o = (__u64 *)old;

	_Static_assert(sizeof(*cur) % sizeof(__u64) == 0, "a snapshot is __u64 words");
	for (size_t i = 0; i < sizeof(*cur) / sizeof(__u64); i++) {
		__u64 t = c[i];

		c[i] = t - o[i];
		o[i] = t;
	}
}

/* The daemon's histogram for @op: its opcodes' together. */
static void op_daemon_hist(const struct snapshot *s, int op, struct rq_hist *h, __u64 *errors)
{
	memset(h, 0, sizeof(*h));
	*errors = 0;
	for (int k = 0; k < 2 && rq_ops[op].opcodes[k]; k++) {
		add_hist(h, &s->opcodes[rq_ops[op].opcodes[k]].daemon);
		*errors += s->opcodes[rq_ops[op].opcodes[k]].errors;
	}
}

/* Is @opcode one of an operation's? Those are printed with the operation. */
static bool opcode_of_op(int opcode)
{
	for (int op = 0; op < RQ_NR_OPS; op++)
		for (int k = 0; k < 2; k++)
			if (rq_ops[op].opcodes[k] == opcode)
				return true;
	return false;
}

struct summary {
	unsigned long long count;
	double avg, p50, p90, p99;	/* in the output unit */
};

static double unit_ns(void)
{
	return env.milliseconds ? 1e6 : 1e3;
}

static void summarize(const struct rq_hist *h, struct summary *s)
{
	s->count = hist_total(h->slots, RQ_SLOTS);
	s->avg = s->count ? (double)h->sum_ns / (double)s->count / unit_ns() : 0;
	s->p50 = hist_percentile(h->slots, RQ_SLOTS, 0.50);
	s->p90 = hist_percentile(h->slots, RQ_SLOTS, 0.90);
	s->p99 = hist_percentile(h->slots, RQ_SLOTS, 0.99);
}

static const char *unit_name(void)
{
	return env.milliseconds ? "ms" : "us";
}

static void print_text(const struct snapshot *s)
{
	bool any = false, header = false;

	for (int op = 0; op < RQ_NR_OPS; op++) {
		const struct dist_op *d = &s->ops[op];
		struct summary c, dm, rt;
		struct rq_hist daemon;
		__u64 errors;

		op_daemon_hist(s, op, &daemon, &errors);
		summarize(&d->caller, &c);
		summarize(&daemon, &dm);
		if (!c.count && !dm.count)
			continue;
		summarize(&d->round_trip, &rt);
		any = true;
		printf("%s (%s): caller %llu, avg %.1f; daemon %llu, avg %.1f", rq_ops[op].name,
		       unit_name(), c.count, c.avg, dm.count, dm.avg);
		if (rt.count)
			printf("; round trip avg %.1f", rt.avg);
		printf("\n");
		hist_print_log2_pair(stdout, env.milliseconds ? "msecs" : "usecs", "caller",
				     d->caller.slots, "daemon", daemon.slots, RQ_SLOTS);
		if (errors || d->over)
			printf("  %llu daemon errors, %llu calls shorter than their daemon span\n",
			       (unsigned long long)errors, (unsigned long long)d->over);
		printf("\n");
	}
	for (int code = 0; code < RQ_NR_OPCODES; code++) {
		struct summary dm;

		if (opcode_of_op(code))
			continue;
		summarize(&s->opcodes[code].daemon, &dm);
		if (!dm.count)
			continue;
		if (!header)
			printf("%-16s %10s %12s %10s\n", "other requests", "count",
			       env.milliseconds ? "avg (ms)" : "avg (us)", "errors");
		header = true;
		printf("  %-14s %10llu %12.1f %10llu\n", rq_opcode_name(code), dm.count, dm.avg,
		       (unsigned long long)s->opcodes[code].errors);
	}
	if (!any && !header)
		printf("no file operations traced\n");
	printf("requests: %llu sent by traced calls, %llu matched, %llu replied late, %llu "
	       "unseen\n", (unsigned long long)s->counters[RQ_CNT_REQ_SENT],
	       (unsigned long long)s->counters[RQ_CNT_REQ_MATCHED],
	       (unsigned long long)s->counters[RQ_CNT_REQ_LATE],
	       (unsigned long long)s->counters[RQ_CNT_REQ_NO_START]);
	if (s->counters[RQ_CNT_LOST])
		printf("lost: %llu (a map was full)\n", (unsigned long long)s->counters[RQ_CNT_LOST]);
}

static void json_hist(const struct rq_hist *h)
{
	struct summary s;

	summarize(h, &s);
	printf("\"count\":%llu,\"sum_ns\":%llu,\"avg\":%.3f,\"p50\":%.1f,\"p90\":%.1f,"
	       "\"p99\":%.1f,\"buckets\":",
	       s.count, (unsigned long long)h->sum_ns, s.avg, s.p50, s.p90, s.p99);
	hist_print_json_buckets(stdout, h->slots, RQ_SLOTS);
}

static void print_json(const struct snapshot *s, const struct rq_session *rs, const char *ts,
		       long seq)
{
	static const char *const cnt_names[RQ_NR_COUNTERS] = {
		"sent", "matched", "no_start", "late", "lost", "dropped",
	};
	struct timespec now;
	const char *sep = "";

	clock_gettime(CLOCK_REALTIME, &now);
	printf("{\"version\":1,\"interval\":%ld,\"time\":\"%s\",\"epoch\":%lld.%03ld,"
	       "\"mount\":\"",
	       seq, ts, (long long)now.tv_sec, now.tv_nsec / 1000000);
	for (const char *p = rs->mount; *p; p++) {
		if (*p == '"' || *p == '\\')
			putchar('\\');
		if ((unsigned char)*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	printf("\",\"dev\":\"%u:%u\",\"pid\":%d,\"unit\":\"%s\",\"operations\":[",
	       rs->dev_major, rs->dev_minor, rs->pid, unit_name());
	for (int op = 0; op < RQ_NR_OPS; op++) {
		const struct dist_op *d = &s->ops[op];
		struct rq_hist daemon;
		__u64 errors;

		op_daemon_hist(s, op, &daemon, &errors);
		printf("%s{\"op\":\"%s\",\"caller\":{", sep, rq_ops[op].name);
		json_hist(&d->caller);
		printf("},\"daemon\":{\"opcodes\":[");
		for (int k = 0; k < 2 && rq_ops[op].opcodes[k]; k++)
			printf("%s\"%s\"", k ? "," : "", rq_opcode_name(rq_ops[op].opcodes[k]));
		printf("],\"errors\":%llu,", (unsigned long long)errors);
		json_hist(&daemon);
		printf("},\"round_trip\":{\"requests\":%llu,\"daemon_ns\":%llu,\"over\":%llu,",
		       (unsigned long long)d->requests, (unsigned long long)d->daemon_ns,
		       (unsigned long long)d->over);
		json_hist(&d->round_trip);
		printf("}}");
		sep = ",";
	}
	printf("],\"requests\":[");
	sep = "";
	for (int code = 0; code < RQ_NR_OPCODES; code++) {
		const struct dist_opcode *o = &s->opcodes[code];

		if (!hist_total(o->daemon.slots, RQ_SLOTS))
			continue;
		printf("%s{\"opcode\":\"%s\",\"code\":%d,\"errors\":%llu,", sep,
		       rq_opcode_name(code), code, (unsigned long long)o->errors);
		json_hist(&o->daemon);
		printf("}");
		sep = ",";
	}
	printf("],\"events\":{");
	for (int i = 0; i < RQ_NR_COUNTERS; i++)
		printf("%s\"%s\":%llu", i ? "," : "", cnt_names[i],
		       (unsigned long long)s->counters[i]);
	printf("}}\n");
}

static void print_interval(const struct zpoolfsdist_bpf *obj, const struct rq_session *rs,
			   long seq, bool final)
{
	/* Static: too big for a stack, and one tool prints one interval at a time. */
	static struct snapshot last, cur;
	char ts[32] = "";

	take_snapshot(obj, &cur);
	snapshot_delta(&cur, &last);	/* cur is now this interval's; last, the new total */
	if (env.timestamp || env.json) {
		time_t t = time(NULL);
		struct tm tm;

		strftime(ts, sizeof(ts), "%H:%M:%S", localtime_r(&t, &tm));
	}
	if (env.json) {
		print_json(&cur, rs, ts, seq);
	} else {
		if (env.timestamp)
			printf("%s\n", ts);
		print_text(&cur);
		if (!final)
			printf("\n");
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct argp_child children[] = { { &rq_common_argp, 0, NULL, 0 }, {} };
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.args_doc = "MOUNT [interval [count]]",
		.doc = argp_doc,
		.children = children,
	};
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	struct rq_session rs = { .tool = "zpoolfsdist" };
	struct sigaction sa = { .sa_handler = sig_handler };
	struct zpoolfsdist_bpf *obj;
	int err, pidfd = -1;
	bool gone = false;
	uint64_t next;
	long seq = 0;

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
	obj = zpoolfsdist_bpf__open_opts(&open_opts);
	if (!obj) {
		err = -errno;
		fprintf(stderr, "zpoolfsdist: cannot open the BPF object: %s\n", strerror(-err));
		return 1;
	}
	obj->rodata->targ_dev = rs.kdev;
	obj->rodata->targ_unit_ns = env.milliseconds ? 1000000 : 1000;

	err = zpoolfsdist_bpf__load(obj);
	if (err) {
		fprintf(stderr, "zpoolfsdist: cannot load the BPF programs: %s\n", strerror(-err));
		goto out_destroy;
	}
	/* Signals first: a Ctrl-C during attach must still detach cleanly. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = rq_attach_all(&rs, obj->obj, rq_args.pid, &obj->bss->daemon_tgid,
			    obj->progs.request_start, obj->progs.request_done);
	if (err)
		goto out_detach;
	pidfd = rq_open_pidfd(rs.pid);
	__atomic_store_n(&obj->bss->armed, true, __ATOMIC_RELEASE);

	fprintf(env.json ? stderr : stdout,
		"Tracing file operations on %s (zpoolfs PID %d)... Hit Ctrl-C to end.\n",
		rs.mount, rs.pid);
	fflush(NULL);

	next = cli_now_ns();
	while (!exiting && !gone) {
		next += (uint64_t)env.interval * 1000000000ULL;
		gone = cli_wait_until(pidfd, env.interval ? next : 0, &exiting);
		seq++;
		if (exiting || gone || (env.count && seq >= env.count))
			break;
		print_interval(obj, &rs, seq, false);
	}
	/* Detach before the last read, so that it is complete. */
	rq_detach(&rs);
	if (gone && !env.json)
		printf("zpoolfs PID %d exited.\n", rs.pid);
	print_interval(obj, &rs, seq, true);
	err = 0;

out_detach:
	rq_detach(&rs);
	if (pidfd >= 0)
		close(pidfd);
out_destroy:
	zpoolfsdist_bpf__destroy(obj);
	return err ? 1 : 0;
}
