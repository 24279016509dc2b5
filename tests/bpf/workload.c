// SPDX-License-Identifier: MIT
/*
 * workload - make a known number of map/unmap calls through libzpool's
 * public API, for the BPF tests and the tracing benchmark.
 *
 *	setup:  THREADS x OBJECTS objects of the sizes given, each written once
 *	        (these maps happen before the measured window)
 *	-g:     print "ready" and wait for a line on stdin (the tracer attaches)
 *	-H:     after the report, stay alive until SIGUSR1 (exit status as
 *	        without -H): a tracer can be stopped while the process it
 *	        traces still exists (bpftrace undoes USDT semaphores in it)
 *	window: every thread makes PAIRS map/unmap pairs over its own objects,
 *	        cycling the modes RW, RO, WO (zbud has no modes: RW); with -c
 *	        each mapping copies the whole object in or out, as zpoolfs does,
 *	        otherwise it touches one byte; with -k NEST a thread maps NEST
 *	        objects before unmapping them (zsmalloc lets a thread hold one
 *	        straddling mapping only: use sizes that divide 4096 then)
 *	report: one JSON line: the allocator's own map/unmap counts over the
 *	        window, this program's count per class size and per mode, the
 *	        wall and CPU time taken.
 *
 * The data is checked on the way: every RO map must see what the last WO/RW
 * map wrote, so a tracer that disturbed the copy buffer would be caught.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zbud.h>
#include <zsmalloc.h>

#define MAX_SIZES 16
#define MAX_THREADS 64
#define NR_MODES 3

static const char *const mode_names[NR_MODES] = { "RW", "RO", "WO" };

static struct {
	int zbud;
	long pairs;
	int threads;
	int objects;
	int wait_go;
	int hold;		/* -H: wait for SIGUSR1 before exiting */
	int copy;		/* -c: copy the whole object in or out, as a real user does */
	int nest;		/* -k: mappings a thread holds at once */
	int nsizes;
	size_t sizes[MAX_SIZES];
} opt = {
	.pairs = 100000,
	.threads = 1,
	.objects = 64,
	.nest = 1,
	.nsizes = 5,
	.sizes = { 100, 700, 1500, 3000, 4000 },
};

static struct zs_pool *zs;
static struct zbud_pool *zb;

struct worker {
	pthread_t tid;
	unsigned long *handles;
	unsigned char *last;		/* byte last written to each object */
	unsigned char buf[4096];	/* what -c copies from and to */
	unsigned long by_mode[NR_MODES];
	unsigned long by_size_idx[MAX_SIZES];
	long errors;
};

static struct worker workers[MAX_THREADS];
static unsigned int class_of[MAX_SIZES];	/* the size the probes report, per size given */
static pthread_barrier_t start_line;

static void *map_obj(unsigned long h, int mode)
{
	return opt.zbud ? zbud_map(zb, h) : zs_map_object(zs, h, (enum zs_mapmode)mode);
}

static void unmap_obj(unsigned long h)
{
	if (opt.zbud)
		zbud_unmap(zb, h);
	else
		zs_unmap_object(zs, h);
}

static unsigned long maps_now(unsigned long *unmaps)
{
	if (opt.zbud) {
		struct zbud_stats st;

		zbud_get_stats(zb, &st);
		*unmaps = st.maps - st.mapped_now;
		return st.maps;
	} else {
		struct zs_pool_stats st;

		zs_pool_stats(zs, &st);
		*unmaps = st.unmaps;
		return st.maps;
	}
}

/* The size the probes report: the class size, or the chunk-rounded size for zbud. */
static int probe_size(size_t size, unsigned int *out)
{
	struct zs_class_stats c;
	int err;

	if (opt.zbud) {
		if (size > ZBUD_MAX_ALLOC_SIZE)
			return -ENOSPC;
		*out = (size + ZBUD_CHUNK_SIZE - 1) & ~(size_t)(ZBUD_CHUNK_SIZE - 1);
		return 0;
	}
	err = zs_lookup_class(zs, size, &c);
	if (err)
		return err;
	*out = c.size;
	return 0;
}

static int setup_worker(struct worker *w)
{
	w->handles = calloc(opt.objects, sizeof(*w->handles));
	w->last = calloc(opt.objects, 1);
	if (!w->handles || !w->last)
		return -ENOMEM;
	for (int i = 0; i < opt.objects; i++) {
		size_t size = opt.sizes[i % opt.nsizes];
		unsigned char *p;
		int err;

		if (opt.zbud) {
			err = zbud_alloc(zb, size, &w->handles[i]);
		} else {
			w->handles[i] = zs_malloc(zs, size, 0);
			err = w->handles[i] ? 0 : -errno;
		}
		if (err)
			return err;
		p = map_obj(w->handles[i], ZS_MM_WO);
		memset(p, 0, size);
		unmap_obj(w->handles[i]);
	}
	return 0;
}

/* Map object @o in @mode, check or write it; return the mapping. */
static unsigned char *map_and_touch(struct worker *w, long i, int o, int mode)
{
	unsigned char *p = map_obj(w->handles[o], mode);

	if (mode == ZS_MM_RO) {
		if (p[0] != w->last[o])
			w->errors++;
		if (opt.copy)
			memcpy(w->buf, p, opt.sizes[o % opt.nsizes]);
	} else {
		if (opt.copy)
			memcpy(p, w->buf, opt.sizes[o % opt.nsizes]);
		w->last[o] = (unsigned char)(i * 7 + 1);
		p[0] = w->last[o];
	}
	w->by_mode[mode]++;
	w->by_size_idx[o % opt.nsizes]++;
	return p;
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&start_line);
	/* -k NEST: map NEST objects, then unmap them, the last mapped first. */
	for (long i = 0; i < opt.pairs; i += opt.nest) {
		int k = opt.pairs - i < opt.nest ? (int)(opt.pairs - i) : opt.nest;

		for (int j = 0; j < k; j++) {
			int o = (int)((i + j) % opt.objects);
			int mode = opt.zbud ? ZS_MM_RW : (int)(((i + j) / opt.objects) % NR_MODES);

			map_and_touch(w, i + j, o, mode);
		}
		for (int j = k - 1; j >= 0; j--)
			unmap_obj(w->handles[(i + j) % opt.objects]);
	}
	return NULL;
}

static int parse_sizes(char *s)
{
	char *tok, *save;

	opt.nsizes = 0;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(tok, &end, 10);

		if (*end || v <= 0 || v > 4096 || opt.nsizes == MAX_SIZES)
			return -EINVAL;
		opt.sizes[opt.nsizes++] = v;
	}
	return opt.nsizes ? 0 : -EINVAL;
}

static long parse_num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "workload: invalid %s: %s\n", what, s);
		exit(64);
	}
	return v;
}

static sigset_t hold_set;

/* -H: the report is out; wait for SIGUSR1 (blocked since start-up), then exit with @rc. */
static int hold(int rc)
{
	int sig;

	if (!opt.hold)
		return rc;
	fflush(stdout);
	fflush(stderr);
	sigwait(&hold_set, &sig);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: workload [-B zsmalloc|zbud] [-n PAIRS] [-t THREADS] "
			"[-o OBJECTS] [-s SIZE,SIZE...] [-k NEST] [-g] [-H] [-c]\n");
	exit(64);
}

static double clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned long maps0, unmaps0, maps1, unmaps1, calls = 0;
	unsigned long by_mode[NR_MODES] = { 0 };
	long errors = 0;
	double t0, t1, cpu0, cpu1;
	int c, err;

	while ((c = getopt(argc, argv, "B:n:t:o:s:gHck:")) != -1) {
		switch (c) {
		case 'B':
			if (!strcmp(optarg, "zbud"))
				opt.zbud = 1;
			else if (strcmp(optarg, "zsmalloc"))
				usage();
			break;
		case 'n':
			opt.pairs = parse_num(optarg, 1, 1L << 40, "pair count");
			break;
		case 't':
			opt.threads = parse_num(optarg, 1, MAX_THREADS, "thread count");
			break;
		case 'o':
			opt.objects = parse_num(optarg, 1, 1 << 20, "object count");
			break;
		case 's':
			if (parse_sizes(optarg)) {
				fprintf(stderr, "workload: sizes must be 1..4096, at most %d\n",
					MAX_SIZES);
				return 64;
			}
			break;
		case 'g':
			opt.wait_go = 1;
			break;
		case 'H':
			opt.hold = 1;
			break;
		case 'c':
			opt.copy = 1;
			break;
		case 'k':
			opt.nest = parse_num(optarg, 1, 64, "nesting");
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* Blocked before any thread starts, so that only sigwait() takes it. */
	sigemptyset(&hold_set);
	sigaddset(&hold_set, SIGUSR1);
	if (opt.hold)
		pthread_sigmask(SIG_BLOCK, &hold_set, NULL);
	if (opt.nest > opt.objects) {
		fprintf(stderr, "workload: -k %d needs at least as many objects (-o)\n", opt.nest);
		return 64;
	}

	if (opt.zbud)
		zb = zbud_create_pool(NULL);
	else
		zs = zs_create_pool("workload");
	if (!zs && !zb) {
		perror("workload: cannot create the pool");
		return 1;
	}
	for (int s = 0; s < opt.nsizes; s++) {
		if (probe_size(opt.sizes[s], &class_of[s])) {
			fprintf(stderr, "workload: size %zu is too large for the pool\n",
				opt.sizes[s]);
			return 64;
		}
	}
	for (int i = 0; i < opt.threads; i++) {
		err = setup_worker(&workers[i]);
		if (err) {
			fprintf(stderr, "workload: setup: %s\n", strerror(-err));
			return 1;
		}
	}
	pthread_barrier_init(&start_line, NULL, opt.threads + 1);
	for (int i = 0; i < opt.threads; i++)
		pthread_create(&workers[i].tid, NULL, run_worker, &workers[i]);

	if (opt.wait_go) {
		char line[64];

		printf("ready pid=%d\n", (int)getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin)) {
			fprintf(stderr, "workload: stdin closed before go\n");
			return 1;
		}
	}

	maps0 = maps_now(&unmaps0);
	/*
	 * Process CPU time as well as wall time: on a shared machine the CPU
	 * time of the window (the workers' user time plus the kernel time of
	 * any probe they hit) is the steadier measure of what a pair costs.
	 */
	t0 = clock_ns(CLOCK_MONOTONIC);
	cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	pthread_barrier_wait(&start_line);
	for (int i = 0; i < opt.threads; i++)
		pthread_join(workers[i].tid, NULL);
	t1 = clock_ns(CLOCK_MONOTONIC);
	cpu1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	maps1 = maps_now(&unmaps1);

	printf("{\"backend\":\"%s\",\"pid\":%d,\"threads\":%d,\"pairs\":%ld,"
	       "\"maps\":%lu,\"unmaps\":%lu,", opt.zbud ? "zbud" : "zsmalloc", (int)getpid(),
	       opt.threads, opt.pairs * opt.threads, maps1 - maps0, unmaps1 - unmaps0);
	for (int i = 0; i < opt.threads; i++) {
		for (int m = 0; m < NR_MODES; m++) {
			by_mode[m] += workers[i].by_mode[m];
			calls += workers[i].by_mode[m];
		}
		errors += workers[i].errors;
	}
	printf("\"calls\":%lu,\"data_errors\":%ld,\"by_mode\":{", calls, errors);
	for (int m = 0, first = 1; m < NR_MODES; m++) {
		if (!by_mode[m])
			continue;
		printf("%s\"%s\":%lu", first ? "" : ",", mode_names[m], by_mode[m]);
		first = 0;
	}
	/* Sizes that share a class add up under that class. */
	printf("},\"by_class\":{");
	for (int s = 0, first = 1; s < opt.nsizes; s++) {
		unsigned long n = 0;
		int dup = 0;

		for (int e = 0; e < s; e++)
			dup |= class_of[e] == class_of[s];
		if (dup)
			continue;
		for (int e = s; e < opt.nsizes; e++) {
			if (class_of[e] != class_of[s])
				continue;
			for (int i = 0; i < opt.threads; i++)
				n += workers[i].by_size_idx[e];
		}
		printf("%s\"%u\":%lu", first ? "" : ",", class_of[s], n);
		first = 0;
	}
	printf("},\"ns\":%.0f,\"ns_per_pair\":%.2f,\"pairs_per_s\":%.0f,"
	       "\"cpu_ns_per_pair\":%.2f}\n", t1 - t0, (t1 - t0) / (double)calls,
	       (double)calls * 1e9 / (t1 - t0), (cpu1 - cpu0) / (double)calls);

	for (int i = 0; i < opt.threads; i++) {
		for (int o = 0; o < opt.objects; o++) {
			if (opt.zbud)
				zbud_free(zb, workers[i].handles[o]);
			else
				zs_free(zs, workers[i].handles[o]);
		}
		free(workers[i].handles);
		free(workers[i].last);
	}
	if (opt.zbud)
		zbud_destroy_pool(zb);
	else
		zs_destroy_pool(zs);
	if (errors) {
		fprintf(stderr, "workload: %ld maps saw data other than last written\n", errors);
		return hold(2);
	}
	if (calls != maps1 - maps0) {
		fprintf(stderr, "workload: made %lu map calls but the allocator counted %lu\n",
			calls, maps1 - maps0);
		return hold(3);
	}
	return hold(0);
}
