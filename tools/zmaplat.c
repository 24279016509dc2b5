// SPDX-License-Identifier: MIT
/*
 * zmaplat - map/unmap latency and hold time of libzpool, traced with eBPF.
 *
 * Attaches bpf/maplat.bpf.c to the zpool USDT probes (alloc/probes.h) of one
 * process (-p PID: the binary or libzpool.so it maps), or of every process
 * running a given binary or library (-b PATH), and prints log2 histograms
 * every interval, or once on Ctrl-C. With -p it also ends when the process
 * does, printing what it saw last.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "histogram.h"
#include "usdt.h"
#include "maplat.h"
#include "maplat.skel.h"

#define MAX_TARGETS 8
/*
 * Only zpool:unmap_return: while it is traced libzpool times its map and
 * unmap calls itself and reports each pair there (alloc/probes.h), so one
 * kernel entry per pair is all the tracing costs.
 */
#define NR_PROBES 1

static const char *const probe_names[NR_PROBES] = { "unmap_return" };

static struct env {
	pid_t pid;
	const char *binary;
	const char *btf_path;
	const char *unit;
	unsigned long long unit_ns;
	bool per_class;
	bool per_mode;
	bool hold;
	bool json;
	bool timestamp;
	bool verbose;
	int interval;		/* seconds; 0: print once, at the end */
	long count;		/* intervals to print; 0: no limit */
	int units_given;
} env = {
	.unit = "ns",
	.unit_ns = 1,
};

const char *argp_program_version = "zmaplat " ZPOOL_VERSION;
const char *argp_program_bug_address = "the zpoolfs issue tracker";
static const char argp_doc[] =
	"Summarize libzpool map/unmap latency and hold time as log2 histograms.\n"
	"\n"
	"USAGE: zmaplat [-p PID] [-b BINARY_OR_LIB] [-n|-u|-m] [-C] [-M] [-H] [-j]\n"
	"               [-T] [-v] [interval [count]]\n"
	"\n"
	"EXAMPLES:\n"
	"    zmaplat -p 1234             # map and unmap latency of PID 1234, on Ctrl-C\n"
	"    zmaplat -p 1234 1 10        # print every second, ten times\n"
	"    zmaplat -p 1234 -C -M       # one histogram per size class and map mode\n"
	"    zmaplat -p 1234 -H -u       # hold time too, in microseconds\n"
	"    zmaplat -b build/zpoolfs    # every process running build/zpoolfs\n"
	"    zmaplat -p 1234 -j 5        # JSON, one object per line, every 5 seconds\n";

enum { OPT_BTF = 0x100 };

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "Trace this process only", 0 },
	{ "binary", 'b', "PATH", 0, "Binary or library with the zpool probes (default: found "
				      "in PID's mappings)", 0 },
	{ "nanoseconds", 'n', NULL, 0, "Histograms in nanoseconds (the default)", 0 },
	{ "microseconds", 'u', NULL, 0, "Histograms in microseconds", 0 },
	{ "milliseconds", 'm', NULL, 0, "Histograms in milliseconds", 0 },
	{ "per-class", 'C', NULL, 0, "One histogram per size class", 0 },
	{ "per-mode", 'M', NULL, 0, "One histogram per map mode (RW, RO, WO)", 0 },
	{ "hold", 'H', NULL, 0, "Also the hold time, map return to unmap", 0 },
	{ "json", 'j', NULL, 0, "JSON output, one object per interval and line", 0 },
	{ "timestamp", 'T', NULL, 0, "Print a timestamp with each interval", 0 },
	{ "verbose", 'v', NULL, 0, "Verbose debug output (libbpf's too)", 0 },
	{ "btf", OPT_BTF, "FILE", 0, "Kernel BTF to use instead of /sys/kernel/btf/vmlinux", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	static int pos;
	long v;

	switch (key) {
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case 'p':
		if (cli_parse_long(arg, 1, INT_MAX, &v))
			argp_error(state, "invalid PID: %s", arg);
		env.pid = v;
		break;
	case 'b':
		env.binary = arg;
		break;
	case 'n':
	case 'u':
	case 'm':
		env.units_given++;
		env.unit = key == 'n' ? "ns" : key == 'u' ? "us" : "ms";
		env.unit_ns = key == 'n' ? 1 : key == 'u' ? 1000 : 1000000;
		break;
	case 'C':
		env.per_class = true;
		break;
	case 'M':
		env.per_mode = true;
		break;
	case 'H':
		env.hold = true;
		break;
	case 'j':
		env.json = true;
		break;
	case 'T':
		env.timestamp = true;
		break;
	case 'v':
		env.verbose = true;
		break;
	case OPT_BTF:
		env.btf_path = arg;
		break;
	case ARGP_KEY_ARG:
		if (pos == 0) {
			if (cli_parse_long(arg, 1, INT_MAX / 1000, &v))
				argp_error(state, "invalid interval: %s", arg);
			env.interval = v;
		} else if (pos == 1) {
			if (cli_parse_long(arg, 1, LONG_MAX, &v))
				argp_error(state, "invalid count: %s", arg);
			env.count = v;
		} else {
			argp_error(state, "unexpected argument: %s", arg);
		}
		pos++;
		break;
	case ARGP_KEY_END:
		if (env.units_given > 1)
			argp_error(state, "-n, -u and -m exclude each other");
		if (!env.pid && !env.binary)
			argp_error(state, "give -p PID, -b BINARY_OR_LIB, or both");
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

static int libbpf_print_fn(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_DEBUG && !env.verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

struct target {
	char path[PATH_MAX + 64];	/* room for a /proc/PID/root prefix */
};

/*
 * Find the objects mapped by @pid that carry zpool probes: the executable
 * when libzpool is linked in statically, libzpool.so otherwise.
 * Return: how many were stored in @t, or -errno.
 */
static int find_targets(pid_t pid, struct target *t, int max)
{
	char maps[64], line[PATH_MAX + 128];
	int n = 0;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');
		char alt[sizeof(t->path)];
		int sema, i;

		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		if (strstr(path, " (deleted)"))
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(t[i].path, path))
				break;
		if (i < n)
			continue;
		/* A process in another mount namespace: reach its files through its root. */
		if (access(path, R_OK)) {
			if (snprintf(alt, sizeof(alt), "/proc/%d/root%s", pid, path) >=
			    (int)sizeof(alt))
				continue;
			path = alt;
		}
		if (usdt_count_notes(path, "zpool", &sema) <= 0)
			continue;
		if (env.verbose)
			fprintf(stderr, "zmaplat: %s has zpool probes (%d with semaphores)\n", path,
				sema);
		snprintf(t[n++].path, sizeof(t->path), "%s", path);
	}
	fclose(f);
	return n;
}

static struct bpf_link *links[MAX_TARGETS * NR_PROBES];
static int nr_links;

static int attach_target(struct maplat_bpf *obj, const char *path, pid_t pid)
{
	struct bpf_program *progs[NR_PROBES] = { obj->progs.unmap_return };

	for (int i = 0; i < NR_PROBES; i++) {
		struct bpf_link *l;
		int err;

		l = bpf_program__attach_usdt(progs[i], pid ? pid : -1, path, "zpool",
					     probe_names[i], NULL);
		if (!l) {
			err = -errno;
			fprintf(stderr, "zmaplat: cannot attach to zpool:%s in %s: %s\n",
				probe_names[i], path, strerror(-err));
			return err;
		}
		links[nr_links++] = l;
	}
	return 0;
}

static void detach_all(void)
{
	while (nr_links > 0)
		bpf_link__destroy(links[--nr_links]);
}

/* ---- reading and printing */

struct row {
	struct maplat_key key;
	struct maplat_hist hist;
	unsigned long long count;	/* sum of the slots */
};

static int cmp_key(const void *a, const void *b)
{
	const struct maplat_key *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind - y->kind;
	if (x->backend != y->backend)
		return x->backend - y->backend;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->mode - y->mode;
}

/* struct row begins with its key, so the same order sorts rows. */
static int cmp_row(const void *a, const void *b)
{
	return cmp_key(&((const struct row *)a)->key, &((const struct row *)b)->key);
}

/*
 * Read every histogram, sorted by key. They only grow (maplat.h).
 * Return: rows stored in *@out (malloc'd), or -errno.
 */
static int read_hists(int fd, struct row **out)
{
	struct maplat_key *keys, key, *prev = NULL;
	struct row *rows;
	int n = 0, m = 0, err;

	keys = calloc(MAPLAT_HIST_ENTRIES, sizeof(*keys));
	rows = calloc(MAPLAT_HIST_ENTRIES, sizeof(*rows));
	if (!keys || !rows) {
		err = -ENOMEM;
		goto out_free;
	}
	while (n < MAPLAT_HIST_ENTRIES && !bpf_map_get_next_key(fd, prev, &key)) {
		keys[n] = key;
		prev = &keys[n];
		n++;
	}
	for (int i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &keys[i], &rows[m].hist))
			continue;	/* never deleted, but be safe */
		rows[m].key = keys[i];
		rows[m].count = hist_total(rows[m].hist.slots, MAPLAT_SLOTS);
		m++;
	}
	qsort(rows, m, sizeof(*rows), cmp_row);
	*out = rows;
	rows = NULL;
	err = m;
out_free:
	free(rows);
	free(keys);
	return err;
}

/* The previous interval's read, to subtract. */
static struct row *last_rows;
static int nr_last_rows;

/*
 * Turn the cumulative @rows into this interval's increments, drop the rows
 * that did not change, and remember @cur for the next interval.
 * Return: rows left in *@out (malloc'd), or -errno.
 */
static int interval_rows(struct row *cur, int n, struct row **out)
{
	struct row *delta = calloc(n ? n : 1, sizeof(*delta));
	int m = 0;

	if (!delta)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const struct row *old = bsearch(&cur[i].key, last_rows, nr_last_rows,
						sizeof(*last_rows), cmp_key);
		struct row *d = &delta[m];

		*d = cur[i];
		if (old) {
			for (int s = 0; s < MAPLAT_SLOTS; s++)
				d->hist.slots[s] -= old->hist.slots[s];
			d->hist.sum_ns -= old->hist.sum_ns;
			d->count -= old->count;
		}
		if (d->count)
			m++;
	}
	free(last_rows);
	last_rows = cur;
	nr_last_rows = n;
	*out = delta;
	return m;
}

static const char *kind_name(unsigned int kind)
{
	static const char *const names[] = { "map", "unmap", "hold" };

	return kind < MAPLAT_NR_KINDS ? names[kind] : "?";
}

static const char *kind_title(unsigned int kind)
{
	static const char *const titles[] = { "map latency", "unmap latency", "hold time" };

	return kind < MAPLAT_NR_KINDS ? titles[kind] : "?";
}

static const char *backend_name(unsigned int b)
{
	return b == MAPLAT_BACKEND_ZSMALLOC ? "zsmalloc" : b == MAPLAT_BACKEND_ZBUD ? "zbud" : "?";
}

static const char *mode_name(unsigned int mode)
{
	static const char *const names[] = { "RW", "RO", "WO" };

	return mode < 3 ? names[mode] : "?";
}

struct summary {
	double avg, p50, p90, p99;
};

/*
 * The average is exact (the sum of the latencies is kept), except that at an
 * interval's edge one event's slot and sum may fall in different intervals.
 */
static void summarize(const struct row *r, struct summary *s)
{
	const struct maplat_hist *h = &r->hist;

	s->avg = r->count ? (double)h->sum_ns / (double)r->count / (double)env.unit_ns : 0;
	s->p50 = hist_percentile(h->slots, MAPLAT_SLOTS, 0.50);
	s->p90 = hist_percentile(h->slots, MAPLAT_SLOTS, 0.90);
	s->p99 = hist_percentile(h->slots, MAPLAT_SLOTS, 0.99);
}

static void print_text(const struct row *rows, int n, const uint64_t *cnt)
{
	for (int i = 0; i < n; i++) {
		const struct maplat_key *k = &rows[i].key;
		const struct maplat_hist *h = &rows[i].hist;
		struct summary s;

		printf("%s %s (%s)", backend_name(k->backend), kind_title(k->kind), env.unit);
		if (env.per_class)
			printf(", class %u", k->size);
		if (env.per_mode)
			printf(", %s", mode_name(k->mode));
		printf(":\n");
		hist_print_log2(stdout, h->slots, MAPLAT_SLOTS);
		summarize(&rows[i], &s);
		printf("count %llu, avg %.1f, p50 %.0f, p90 %.0f, p99 %.0f (%s)\n\n",
		       rows[i].count, s.avg, s.p50, s.p90, s.p99, env.unit);
	}
	if (!n)
		printf("no map/unmap calls traced\n");
	/* Two lines, so that large counts still fit 80 columns. */
	printf("events: %llu maps, %llu unmaps, %llu straddled\n",
	       (unsigned long long)cnt[MAPLAT_CNT_MAP], (unsigned long long)cnt[MAPLAT_CNT_UNMAP],
	       (unsigned long long)cnt[MAPLAT_CNT_STRADDLE]);
	printf("unmatched: %llu map, %llu unmap", (unsigned long long)cnt[MAPLAT_CNT_MAP_UNMATCHED],
	       (unsigned long long)cnt[MAPLAT_CNT_UNMAP_UNMATCHED]);
	if (env.hold)
		printf(", %llu hold", (unsigned long long)cnt[MAPLAT_CNT_HOLD_UNMATCHED]);
	printf("; lost %llu\n", (unsigned long long)cnt[MAPLAT_CNT_LOST]);
}

static void print_json(const struct row *rows, int n, const uint64_t *cnt, const char *ts,
		       long seq)
{
	static const char *const cnt_names[MAPLAT_NR_COUNTERS] = {
		"maps", "unmaps", "map_unmatched", "unmap_unmatched", "hold_unmatched", "lost",
		"straddled",
	};
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	printf("{\"version\":1,\"interval\":%ld,\"time\":\"%s\",\"epoch\":%lld.%03ld,"
	       "\"pid\":%d,\"unit\":\"%s\",\"histograms\":[",
	       seq, ts, (long long)now.tv_sec, now.tv_nsec / 1000000, env.pid, env.unit);
	for (int i = 0; i < n; i++) {
		const struct maplat_key *k = &rows[i].key;
		const struct maplat_hist *h = &rows[i].hist;
		struct summary s;

		summarize(&rows[i], &s);
		printf("%s{\"kind\":\"%s\",\"backend\":\"%s\"", i ? "," : "", kind_name(k->kind),
		       backend_name(k->backend));
		if (env.per_class)
			printf(",\"class\":%u", k->size);
		if (env.per_mode)
			printf(",\"mode\":\"%s\"", mode_name(k->mode));
		printf(",\"count\":%llu,\"sum_ns\":%llu,\"avg\":%.1f,\"p50\":%.1f,\"p90\":%.1f,"
		       "\"p99\":%.1f,\"buckets\":",
		       rows[i].count, (unsigned long long)h->sum_ns, s.avg, s.p50,
		       s.p90, s.p99);
		hist_print_json_buckets(stdout, h->slots, MAPLAT_SLOTS);
		printf("}");
	}
	printf("],\"events\":{");
	for (int i = 0; i < MAPLAT_NR_COUNTERS; i++)
		printf("%s\"%s\":%llu", i ? "," : "", cnt_names[i], (unsigned long long)cnt[i]);
	printf("}}\n");
}

/* Print one interval: what the histograms and counters gained since the last. */
static int print_interval(struct maplat_bpf *obj, long seq, bool final)
{
	static uint64_t last_cnt[MAPLAT_NR_COUNTERS];
	uint64_t cnt[MAPLAT_NR_COUNTERS];
	struct row *cur, *rows;
	char ts[32] = "";
	int n;

	n = read_hists(bpf_map__fd(obj->maps.hists), &cur);
	if (n < 0)
		return n;
	n = interval_rows(cur, n, &rows);
	if (n < 0) {
		free(cur);
		return n;
	}
	for (int i = 0; i < MAPLAT_NR_COUNTERS; i++) {
		uint64_t v = __atomic_load_n(&obj->bss->counters[i], __ATOMIC_RELAXED);

		cnt[i] = v - last_cnt[i];
		last_cnt[i] = v;
	}
	if (env.timestamp || env.json) {
		time_t t = time(NULL);
		struct tm tm;

		strftime(ts, sizeof(ts), "%H:%M:%S", localtime_r(&t, &tm));
	}
	if (env.json) {
		print_json(rows, n, cnt, ts, seq);
	} else {
		if (env.timestamp)
			printf("%s\n", ts);
		print_text(rows, n, cnt);
		if (!final)
			printf("\n");
	}
	fflush(stdout);
	free(rows);
	return 0;
}

/* ---- setup */

static int check_environment(void)
{
	const char *btf = env.btf_path ? env.btf_path : "/sys/kernel/btf/vmlinux";

	if (geteuid() != 0) {
		fprintf(stderr, "zmaplat: must run as root: loading BPF programs and attaching "
				"uprobes needs CAP_BPF and CAP_PERFMON\n");
		return -EPERM;
	}
	if (access(btf, R_OK)) {
		int err = -errno;

		fprintf(stderr, "zmaplat: no kernel BTF at %s (%s): a kernel built with "
				"CONFIG_DEBUG_INFO_BTF=y is needed, or --btf FILE\n",
			btf, strerror(-err));
		return err;
	}
	if (env.pid && kill(env.pid, 0) && errno == ESRCH) {
		fprintf(stderr, "zmaplat: no such process: %d\n", env.pid);
		return -ESRCH;
	}
	return 0;
}

/* Fill @t with what to attach to. Return: how many, or -errno (message printed). */
static int resolve_targets(struct target *t)
{
	int sema, n;

	if (env.binary) {
		n = usdt_count_notes(env.binary, "zpool", &sema);
		if (n < 0) {
			fprintf(stderr, "zmaplat: cannot read %s: %s\n", env.binary,
				n == -ENOEXEC ? "not an ELF file" : strerror(-n));
			return n;
		}
		if (n == 0) {
			fprintf(stderr,
				"zmaplat: %s has no zpool USDT probes (libzpool built with "
				"PROBES=0, or not linked with libzpool?)\n",
				env.binary);
			return -ENOENT;
		}
		if (env.verbose)
			fprintf(stderr, "zmaplat: %s: %d zpool probes, %d with semaphores\n",
				env.binary, n, sema);
		snprintf(t[0].path, sizeof(t->path), "%s", env.binary);
		return 1;
	}
	n = find_targets(env.pid, t, MAX_TARGETS);
	if (n < 0) {
		fprintf(stderr, "zmaplat: cannot read the mappings of PID %d: %s\n", env.pid,
			strerror(-n));
		return n;
	}
	if (n == 0) {
		fprintf(stderr, "zmaplat: PID %d has no zpool USDT probes: it maps neither a "
				"binary nor a library built with them (is it zpoolfs?)\n", env.pid);
		return -ENOENT;
	}
	return n;
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return pid ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
#else
	return -1;
#endif
}

int main(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.args_doc = "[interval [count]]",
		.doc = argp_doc,
	};
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	struct target targets[MAX_TARGETS];
	struct sigaction sa = { .sa_handler = sig_handler };
	struct maplat_bpf *obj;
	int err, n, pidfd = -1;
	bool gone = false;
	uint64_t next;
	long seq = 0;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 1;
	libbpf_set_print(libbpf_print_fn);
	elf_version(EV_CURRENT);

	if (check_environment())
		return 1;
	n = resolve_targets(targets);
	if (n < 0)
		return 1;

	if (env.btf_path)
		open_opts.btf_custom_path = env.btf_path;
	obj = maplat_bpf__open_opts(&open_opts);
	if (!obj) {
		err = -errno;
		fprintf(stderr, "zmaplat: cannot open the BPF object: %s\n", strerror(-err));
		return 1;
	}
	obj->rodata->targ_tgid = env.pid;
	obj->rodata->targ_per_class = env.per_class;
	obj->rodata->targ_per_mode = env.per_mode;
	obj->rodata->targ_hold = env.hold;
	obj->rodata->targ_unit_ns = env.unit_ns;

	err = maplat_bpf__load(obj);
	if (err) {
		fprintf(stderr, "zmaplat: cannot load the BPF programs: %s\n", strerror(-err));
		goto out_destroy;
	}

	/* Calls that started before this are not ours to time (alloc/probes.h). */
	{
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		obj->bss->attach_ns = (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	}
	/* Signals first: a Ctrl-C during attach must still detach cleanly. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (int i = 0; i < n; i++) {
		err = attach_target(obj, targets[i].path, env.pid);
		if (err)
			goto out_detach;
		if (env.verbose)
			fprintf(stderr, "zmaplat: attached to zpool:unmap_return in %s\n",
				targets[i].path);
	}
	pidfd = open_pidfd(env.pid);

	{
		const char *base = strrchr(targets[0].path, '/');

		fprintf(env.json ? stderr : stdout,
			"Tracing zpool map/unmap in %s%.0d (%s%s)... Hit Ctrl-C to end.\n",
			env.pid ? "PID " : "every process", env.pid,
			base ? base + 1 : targets[0].path, n > 1 ? " and more" : "");
	}
	fflush(NULL);

	next = cli_now_ns();
	while (!exiting && !gone) {
		next += (uint64_t)env.interval * 1000000000ULL;
		gone = cli_wait_until(pidfd, env.interval ? next : 0, &exiting);
		seq++;
		if (exiting || gone || (env.count && seq >= env.count))
			break;
		err = print_interval(obj, seq, false);
		if (err) {
			fprintf(stderr, "zmaplat: cannot read the histograms: %s\n",
				strerror(-err));
			goto out_detach;
		}
	}
	/* Detach before the last read, so that it is complete. */
	detach_all();
	if (gone && !env.json)
		printf("PID %d exited.\n", env.pid);
	err = print_interval(obj, seq, true);
	if (err)
		fprintf(stderr, "zmaplat: cannot read the histograms: %s\n", strerror(-err));

out_detach:
	detach_all();
	if (pidfd >= 0)
		close(pidfd);
out_destroy:
	maplat_bpf__destroy(obj);
	return err ? 1 : 0;
}
