// SPDX-License-Identifier: MIT
/*
 * alloc_bench.c - libzpool's allocators on real compressed-page sizes, beside
 * glibc malloc in the same run.
 *
 * Every registered zpool driver is measured through the zpool API (what the
 * filesystem calls), and glibc malloc is run on the same objects right next
 * to it, so that ratios hold on a shared, noisy machine. Each measurement is
 * repeated (-r) with the backends interleaved inside every round, and the
 * median is reported; a ratio to glibc is the median of the rounds' own ratios.
 *
 * Workloads (objects: the corpus of corpus.c; thread t of T takes every T-th
 * object, all threads share one pool):
 *   churn   the steady state of a compressed store: half the objects are
 *           stored before the clock starts; each op then frees a random stored
 *           object and stores the next one: malloc + map(WO) + memcpy of the
 *           compressed bytes + unmap (+ the free). glibc: malloc + memcpy + free.
 *   pairs   the same without map/write: malloc+free pairs alone.
 *   fill    from an empty pool, store every object, then free them all in a
 *           random order: fresh memory is faulted in on the way.
 *   map     map(RO) + unmap of an object that lies within one page, and of one
 *           that straddles two pages (RO and WO), in ns per pair; glibc has no
 *           counterpart.
 *   memory  (drivers only) store every object once, then free a random half
 *           (the same half for every driver, written to -f for the zram
 *           comparison) and compact: pool bytes / bytes stored at each step.
 *
 * A driver that refuses an object size (zbud above ZBUD_MAX_ALLOC_SIZE) runs
 * on the objects it accepts; the count it refused is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zpage.h"
#include "zpool.h"
#include "corpus.h"

#define MAX_THREADS 8
#define MAP_SET 64			/* handles cycled through by the map loop */
#define MAP_ITERS (1UL << 21)

static const char *const drivers[] = { "zsmalloc", "zbud" };
#define NDRIVERS (sizeof(drivers) / sizeof(drivers[0]))

/* The corpus, loaded. */
static struct corpus_hdr hdr;
static uint16_t *lens;
static uint64_t *offs;
static const char *data;

/* A backend: a zpool, or glibc when zp is NULL. */
struct backend {
	const char *name;
	struct zpool *zp;
	size_t max_size;
	uint32_t *objs;			/* corpus indices this backend accepts */
	size_t nobjs;
	size_t refused;
};

static FILE *results;
static unsigned int rounds = 5, max_threads = 2;
static uint64_t seed = 42;

/* ---- helpers */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void shuffle(uint32_t *v, size_t n, uint64_t s)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rng_next(&s) % i;
		uint32_t t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		fprintf(stderr, "alloc_bench: out of memory\n");
		exit(1);
	}
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Spread of the repeats: (max - min) / median, in percent. */
static double spread(const double *sorted, unsigned int n)
{
	double m = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;

	return m > 0 ? (sorted[n - 1] - sorted[0]) * 100 / m : 0;
}

static void result(const char *metric, const char *subject, unsigned int threads, double value,
		   const char *unit)
{
	if (results)
		fprintf(results, "alloc\t%s\t%s\t%u\t%.10g\t%s\n", metric, subject, threads, value,
			unit);
}

static void load_corpus(const char *dir)
{
	char path[4096];
	struct stat st;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/corpus.idx", dir);
	f = fopen(path, "r");
	if (!f || fread(&hdr, sizeof(hdr), 1, f) != 1 ||
	    memcmp(hdr.magic, CORPUS_MAGIC, sizeof(hdr.magic)) || !hdr.npages) {
		fprintf(stderr, "alloc_bench: %s is missing or not a corpus; run corpus pages\n",
			path);
		exit(1);
	}
	lens = xcalloc(hdr.npages, sizeof(*lens));
	offs = xcalloc(hdr.npages, sizeof(*offs));
	if (fread(lens, sizeof(*lens), hdr.npages, f) != hdr.npages) {
		fprintf(stderr, "alloc_bench: %s is truncated\n", path);
		exit(1);
	}
	fclose(f);
	for (uint64_t i = 0, off = 0; i < hdr.npages; off += lens[i], i++) {
		if (!lens[i] || lens[i] > CORPUS_PAGE) {
			fprintf(stderr, "alloc_bench: %s: bad size %u\n", path, lens[i]);
			exit(1);
		}
		offs[i] = off;
	}
	snprintf(path, sizeof(path), "%s/corpus.lz4", dir);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || (uint64_t)st.st_size != hdr.compressed_bytes) {
		fprintf(stderr, "alloc_bench: %s is missing or does not match corpus.idx\n", path);
		exit(1);
	}
	/* Read it into private memory so that no page fault of the file lands in a timing. */
	char *buf = malloc(st.st_size);

	if (!buf) {
		fprintf(stderr, "alloc_bench: out of memory\n");
		exit(1);
	}
	for (off_t done = 0; done < st.st_size;) {
		ssize_t n = read(fd, buf + done, st.st_size - done);

		if (n <= 0) {
			fprintf(stderr, "alloc_bench: reading %s failed\n", path);
			exit(1);
		}
		done += n;
	}
	close(fd);
	data = buf;
}

/* ---- backend primitives; the glibc branch is predicted, so it costs next to nothing */

static inline int b_malloc(struct backend *b, size_t len, unsigned long *h)
{
	if (!b->zp) {
		void *p = malloc(len);

		*h = (unsigned long)p;
		return p ? 0 : -ENOMEM;
	}
	return zpool_malloc(b->zp, len, 0, h);
}

static inline void b_free(struct backend *b, unsigned long h)
{
	if (!b->zp)
		free((void *)h);
	else
		zpool_free(b->zp, h);
}

static inline void *b_map(struct backend *b, unsigned long h, enum zpool_mapmode mm)
{
	return b->zp ? zpool_map_handle(b->zp, h, mm) : (void *)h;
}

static inline void b_unmap(struct backend *b, unsigned long h)
{
	if (b->zp)
		zpool_unmap_handle(b->zp, h);
}

static void backend_open(struct backend *b, const char *name)
{
	b->name = name;
	if (strcmp(name, "glibc")) {
		b->zp = zpool_create_pool(name, "bench", NULL);
		if (!b->zp) {
			fprintf(stderr, "alloc_bench: zpool_create_pool(%s): %s\n", name,
				zpool_last_error());
			exit(1);
		}
		b->max_size = zpool_max_alloc_size(b->zp);
	} else {
		b->zp = NULL;
		b->max_size = SIZE_MAX;
	}
	if (!b->objs) {
		b->objs = xcalloc(hdr.npages, sizeof(*b->objs));
		for (uint32_t i = 0; i < hdr.npages; i++) {
			if (lens[i] <= b->max_size)
				b->objs[b->nobjs++] = i;
			else
				b->refused++;
		}
	}
}

static void backend_close(struct backend *b)
{
	if (b->zp)
		zpool_destroy_pool(b->zp);
	b->zp = NULL;
}

/* ---- timed workloads, on T threads sharing one pool */

enum workload {
	W_CHURN, W_PAIRS, W_FILL,	/* compared with glibc */
	W_MAP_FLAT_RO, W_MAP_STRADDLE_RO, W_MAP_STRADDLE_WO,
	W_NR
};
#define W_TIMED 3
#define CHURN_PASSES 4			/* churn ops = this many times the thread's objects */

static const char *const wl_name[W_NR] = {
	"churn", "pairs", "fill", "map_flat_ro", "map_straddle_ro", "map_straddle_wo",
};

static const char *const wl_label[W_TIMED] = {
	"malloc+map+write+unmap+free", "malloc+free", "fill+drain from empty",
};

struct job {
	struct backend *b;
	enum workload w;
	pthread_barrier_t *bar;
	uint32_t *stream;		/* this thread's objects (corpus indices) */
	size_t n;			/* objects in stream */
	size_t live;			/* churn: objects kept stored */
	size_t nops;			/* timed operations */
	uint32_t *victim;		/* churn: slot freed by each op; fill: the free order */
	unsigned long *h;		/* churn: live handles by slot; fill: stream[k]'s */
	unsigned long *maph;		/* map loop: MAP_SET handles */
	struct zpage_stats *pg;		/* thread 0 snapshots the page provider here */
	uint64_t start, end;
	size_t failed;
	volatile unsigned char sink;
};

static inline void store_one(struct job *j, uint32_t i, unsigned long *h, int write)
{
	struct backend *b = j->b;

	if (b_malloc(b, lens[i], h)) {
		*h = 0;
		j->failed++;
		return;
	}
	if (write) {
		void *p = b_map(b, *h, ZPOOL_MM_WO);

		memcpy(p, data + offs[i], lens[i]);
		b_unmap(b, *h);
	}
}

/*
 * churn/pairs: the steady state of a compressed store. Half of the thread's
 * objects are stored before the clock starts; then each op frees a random
 * stored object and stores the next object of the stream in its place.
 */
static void churn_setup(struct job *j, int write)
{
	for (size_t s = 0; s < j->live; s++)
		store_one(j, j->stream[s], &j->h[s], write);
}

static void run_churn(struct job *j, int write)
{
	size_t next = j->live;

	for (size_t k = 0; k < j->nops; k++) {
		unsigned long *h = &j->h[j->victim[k]];

		if (*h)
			b_free(j->b, *h);
		store_one(j, j->stream[next], h, write);
		if (++next == j->n)
			next = 0;
	}
}

static void churn_teardown(struct job *j)
{
	for (size_t s = 0; s < j->live; s++)
		if (j->h[s])
			b_free(j->b, j->h[s]);
}

/*
 * fill: from an empty pool, store every object of the thread, then free them
 * all in a random order (zram frees pages in whatever order they are
 * overwritten). Fresh memory is faulted in on the way, by every backend.
 */
static void run_fill(struct job *j)
{
	for (size_t k = 0; k < j->n; k++)
		store_one(j, j->stream[k], &j->h[k], 1);
	for (size_t k = 0; k < j->n; k++) {
		unsigned long h = j->h[j->victim[k]];

		if (h)
			b_free(j->b, h);
	}
}

static void run_map(struct job *j, enum zpool_mapmode mm)
{
	struct backend *b = j->b;
	unsigned char acc = 0;

	for (unsigned long k = 0; k < MAP_ITERS; k++) {
		unsigned long h = j->maph[k % MAP_SET];
		unsigned char *p = b_map(b, h, mm);

		if (mm == ZPOOL_MM_WO)
			p[0] = (unsigned char)k;
		else
			acc += p[0];
		b_unmap(b, h);
	}
	j->sink = acc;
}

static void *job_thread(void *arg)
{
	struct job *j = arg;

	/* Set-up happens on the thread that will use the objects (glibc arenas are per thread). */
	if (j->w == W_CHURN || j->w == W_PAIRS)
		churn_setup(j, j->w == W_CHURN);
	/* Page provider counters around the timed part only, taken while no thread works. */
	pthread_barrier_wait(j->bar);
	if (j->pg)
		zpage_get_stats(&j->pg[0]);
	pthread_barrier_wait(j->bar);
	j->start = now_ns();
	switch (j->w) {
	case W_CHURN:
		run_churn(j, 1);
		break;
	case W_PAIRS:
		run_churn(j, 0);
		break;
	case W_FILL:
		run_fill(j);
		break;
	case W_MAP_FLAT_RO:
	case W_MAP_STRADDLE_RO:
		run_map(j, ZPOOL_MM_RO);
		break;
	case W_MAP_STRADDLE_WO:
		run_map(j, ZPOOL_MM_WO);
		break;
	default:
		break;
	}
	j->end = now_ns();
	pthread_barrier_wait(j->bar);
	if (j->pg)
		zpage_get_stats(&j->pg[1]);
	pthread_barrier_wait(j->bar);
	if (j->w == W_CHURN || j->w == W_PAIRS)
		churn_teardown(j);
	return NULL;
}

/* Run jobs[0..T-1] at once; return the wall time from the first start to the last end. */
static uint64_t run_jobs(struct job *jobs, unsigned int nthreads)
{
	pthread_t tid[MAX_THREADS];
	pthread_barrier_t bar;
	uint64_t first = UINT64_MAX, last = 0;

	pthread_barrier_init(&bar, NULL, nthreads);
	for (unsigned int t = 0; t < nthreads; t++) {
		jobs[t].bar = &bar;
		if (pthread_create(&tid[t], NULL, job_thread, &jobs[t])) {
			fprintf(stderr, "alloc_bench: pthread_create failed\n");
			exit(1);
		}
	}
	for (unsigned int t = 0; t < nthreads; t++) {
		pthread_join(tid[t], NULL);
		if (jobs[t].start < first)
			first = jobs[t].start;
		if (jobs[t].end > last)
			last = jobs[t].end;
	}
	pthread_barrier_destroy(&bar);
	return last - first;
}

/* Prepare T jobs over b's objects: thread t gets every T-th one and random choices of its own. */
static void jobs_prepare(struct job *jobs, struct backend *b, enum workload w,
			 unsigned int nthreads)
{
	for (unsigned int t = 0; t < nthreads; t++) {
		struct job *j = &jobs[t];
		uint64_t s = seed + t;
		size_t n = 0;

		memset(j, 0, sizeof(*j));
		j->b = b;
		j->w = w;
		j->stream = xcalloc(b->nobjs / nthreads + 1, sizeof(*j->stream));
		for (size_t k = t; k < b->nobjs; k += nthreads)
			j->stream[n++] = b->objs[k];
		j->n = n;
		if (w == W_FILL) {
			j->nops = n;
			j->victim = xcalloc(n + 1, sizeof(*j->victim));
			for (size_t k = 0; k < n; k++)
				j->victim[k] = (uint32_t)k;
			shuffle(j->victim, n, s);
			j->h = xcalloc(n + 1, sizeof(*j->h));
		} else {
			j->live = n / 2;
			j->nops = CHURN_PASSES * n;
			j->victim = xcalloc(j->nops + 1, sizeof(*j->victim));
			for (size_t k = 0; k < j->nops; k++)
				j->victim[k] = (uint32_t)(rng_next(&s) % j->live);
			j->h = xcalloc(j->live + 1, sizeof(*j->h));
		}
	}
}

static void jobs_release(struct job *jobs, unsigned int nthreads)
{
	for (unsigned int t = 0; t < nthreads; t++) {
		free(jobs[t].stream);
		free(jobs[t].victim);
		free(jobs[t].h);
	}
}

/*
 * One timed run of a workload; returns operations (objects stored) per
 * second, and in *@pages_per_kop the pages the provider handed out or took
 * back per 1000 operations (each one is a page fault or an madvise).
 */
static double time_store(struct backend *b, enum workload w, unsigned int nthreads,
			 double *pages_per_kop)
{
	struct job jobs[MAX_THREADS];
	struct zpage_stats pg[2];
	uint64_t ns;
	size_t ops = 0, failed = 0;

	backend_open(b, b->name);
	jobs_prepare(jobs, b, w, nthreads);
	jobs[0].pg = pg;
	ns = run_jobs(jobs, nthreads);
	for (unsigned int t = 0; t < nthreads; t++) {
		ops += jobs[t].nops;
		failed += jobs[t].failed;
	}
	*pages_per_kop = (pg[1].allocs - pg[0].allocs + pg[1].frees - pg[0].frees) * 1000.0 / ops;
	jobs_release(jobs, nthreads);
	backend_close(b);
	if (failed) {
		fprintf(stderr, "alloc_bench: %s: %zu allocations failed\n", b->name, failed);
		exit(1);
	}
	return ops * 1e9 / ns;
}

/* ---- map/unmap */

/*
 * Find MAP_SET handles per thread whose objects lie within one page (flat)
 * and MAP_SET that straddle two pages. A straddling object is served from the
 * thread's copy buffer, so its mapped address is the same as another
 * straddling object's; a flat object's address is its own.
 */
struct map_sets {
	size_t size;
	unsigned long flat[MAX_THREADS][MAP_SET];
	unsigned long straddle[MAX_THREADS][MAP_SET];
	int have_straddle;
	unsigned long *all;
	size_t nall;
};

static int cmp_addr(const void *a, const void *b)
{
	const uintptr_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

static int find_map_sets(struct backend *b, struct map_sets *ms, unsigned int nthreads)
{
	size_t want = (size_t)MAP_SET * nthreads, nflat = 0, nstr = 0;
	size_t n = 4 * want + 4096;
	uintptr_t (*addr)[2] = xcalloc(n, sizeof(*addr));

	ms->all = xcalloc(n, sizeof(*ms->all));
	ms->nall = 0;
	for (size_t k = 0; k < n; k++) {
		unsigned long h;
		void *p;

		if (b_malloc(b, ms->size, &h))
			return -ENOMEM;
		ms->all[ms->nall++] = h;
		p = b_map(b, h, ZPOOL_MM_WO);
		memset(p, (int)k, ms->size);
		addr[k][0] = (uintptr_t)p;
		addr[k][1] = h;
		b_unmap(b, h);
	}
	qsort(addr, n, sizeof(*addr), cmp_addr);
	for (size_t k = 0; k < n; k++) {
		int dup = (k > 0 && addr[k][0] == addr[k - 1][0]) ||
			  (k + 1 < n && addr[k][0] == addr[k + 1][0]);
		int fits = (addr[k][0] & (CORPUS_PAGE - 1)) + ms->size <= CORPUS_PAGE;

		if (dup && nstr < want) {
			ms->straddle[nstr % nthreads][nstr / nthreads] = addr[k][1];
			nstr++;
		} else if (!dup && fits && nflat < want) {
			ms->flat[nflat % nthreads][nflat / nthreads] = addr[k][1];
			nflat++;
		}
	}
	free(addr);
	ms->have_straddle = nstr == want;
	return nflat == want ? 0 : -ENOENT;
}

static double time_map(struct backend *b, struct map_sets *ms, enum workload w,
		       unsigned int nthreads)
{
	struct job jobs[MAX_THREADS];
	uint64_t ns;

	for (unsigned int t = 0; t < nthreads; t++) {
		memset(&jobs[t], 0, sizeof(jobs[t]));
		jobs[t].b = b;
		jobs[t].w = w;
		jobs[t].maph = w == W_MAP_FLAT_RO ? ms->flat[t] : ms->straddle[t];
	}
	ns = run_jobs(jobs, nthreads);
	return (double)ns / MAP_ITERS;
}

/* ---- memory */

struct mem_result {
	double full, after_free, after_compact;
	uint64_t pool_full, pool_free, pool_compact;
	uint64_t bytes_full, bytes_half;
	unsigned long compacted;
};

static void measure_memory(struct backend *b, const uint32_t *half, size_t nhalf,
			   struct mem_result *r)
{
	unsigned long *h = xcalloc(hdr.npages, sizeof(*h));

	memset(r, 0, sizeof(*r));
	backend_open(b, b->name);
	for (size_t k = 0; k < b->nobjs; k++) {
		uint32_t i = b->objs[k];
		void *p;

		if (b_malloc(b, lens[i], &h[i])) {
			fprintf(stderr, "alloc_bench: %s: allocation failed\n", b->name);
			exit(1);
		}
		p = b_map(b, h[i], ZPOOL_MM_WO);
		memcpy(p, data + offs[i], lens[i]);
		b_unmap(b, h[i]);
		r->bytes_full += lens[i];
	}
	r->pool_full = zpool_get_total_size(b->zp);
	r->bytes_half = r->bytes_full;
	for (size_t k = 0; k < nhalf; k++) {
		uint32_t i = half[k];

		if (!h[i])
			continue;
		b_free(b, h[i]);
		h[i] = 0;
		r->bytes_half -= lens[i];
	}
	r->pool_free = zpool_get_total_size(b->zp);
	r->compacted = zpool_compact(b->zp);
	r->pool_compact = zpool_get_total_size(b->zp);
	/* Every stored object must still hold its bytes after compaction moved it. */
	for (uint32_t i = 0; i < hdr.npages; i++) {
		void *p;

		if (!h[i])
			continue;
		p = b_map(b, h[i], ZPOOL_MM_RO);
		if (memcmp(p, data + offs[i], lens[i])) {
			fprintf(stderr, "alloc_bench: %s: object %u corrupted after compaction\n",
				b->name, i);
			exit(1);
		}
		b_unmap(b, h[i]);
		b_free(b, h[i]);
	}
	backend_close(b);
	free(h);
	r->full = (double)r->pool_full / r->bytes_full;
	r->after_free = (double)r->pool_free / r->bytes_half;
	r->after_compact = (double)r->pool_compact / r->bytes_half;
}

/* The median size of the objects lz4 shrank (the raw pages left out). */
static size_t median_size(void)
{
	uint64_t count[CORPUS_PAGE + 1] = { 0 }, seen = 0;

	for (uint64_t i = 0; i < hdr.npages; i++)
		if (lens[i] < CORPUS_PAGE)
			count[lens[i]]++;
	for (size_t s = 1; s < CORPUS_PAGE; s++) {
		seen += count[s];
		if (seen * 2 >= hdr.npages - hdr.huge_pages)
			return s;
	}
	return CORPUS_PAGE / 2;
}

/* ---- the three parts */

static void measure_ops(struct backend *be, unsigned int nbe, const unsigned int *thr,
			unsigned int nthr)
{
	/* Every round runs every workload on every backend once per thread count. */
	double *v = xcalloc((size_t)rounds * nbe * 2 * W_TIMED, sizeof(*v));
#define V(r, k, ti, w) v[(((size_t)(r) * nbe + (k)) * 2 + (ti)) * W_TIMED + (w)]
	double pgk[W_TIMED][2][NDRIVERS + 1];

	for (unsigned int r = 0; r < rounds; r++)
		for (unsigned int ti = 0; ti < nthr; ti++)
			for (unsigned int k = 0; k < nbe; k++)
				for (int w = 0; w < W_TIMED; w++)
					V(r, k, ti, w) = time_store(&be[k], w, thr[ti],
								    &pgk[w][ti][k]);

	printf("\n%-28s %-9s %7s %12s %9s %8s %8s\n", "workload", "backend", "threads", "Mops/s",
	       "vs glibc", "spread", "pg/kop");
	double med[2][NDRIVERS + 1], col[101];

	for (int w = 0; w < W_TIMED; w++) {
		for (unsigned int ti = 0; ti < nthr; ti++) {
			for (unsigned int k = 0; k < nbe; k++) {
				double sp, ratio;

				/* The median of each round's own ratio: drift cancels. */
				for (unsigned int r = 0; r < rounds; r++)
					col[r] = V(r, k, ti, w) / V(r, 0, ti, w);
				ratio = median(col, rounds);
				for (unsigned int r = 0; r < rounds; r++)
					col[r] = V(r, k, ti, w);
				med[ti][k] = median(col, rounds);
				sp = spread(col, rounds);
				printf("%-28s %-9s %7u %12.2f %8.2fx %7.1f%% %8.1f\n", wl_label[w],
				       be[k].name, thr[ti], med[ti][k] / 1e6, ratio, sp,
				       pgk[w][ti][k]);
				result(wl_name[w], be[k].name, thr[ti], med[ti][k], "ops/s");
				char name[64];

				snprintf(name, sizeof(name), "%s_spread", wl_name[w]);
				result(name, be[k].name, thr[ti], sp, "percent");
				snprintf(name, sizeof(name), "%s_pages_per_kop", wl_name[w]);
				result(name, be[k].name, thr[ti], pgk[w][ti][k], "pages");
				if (k) {
					snprintf(name, sizeof(name), "%s_vs_glibc", wl_name[w]);
					result(name, be[k].name, thr[ti], ratio, "ratio");
				}
			}
		}
	}
	printf("(churn: half the objects stay stored, each op frees a random one and stores the "
	       "next;\n fill: from an empty pool, store all, free all in random order;\n"
	       " pg/kop: pages taken from or given back to the page provider per 1000 ops)\n");
	free(v);
#undef V
}

static void measure_map(struct backend *be, unsigned int nbe, const unsigned int *thr,
			unsigned int nthr)
{
	struct map_sets *ms = xcalloc(1, sizeof(*ms));
	double col[101];

	ms->size = median_size();
	printf("\n%-28s %-9s %7s %12s %8s   (object of %zu bytes, the corpus median)\n",
	       "map+unmap", "backend", "threads", "ns/pair", "spread", ms->size);
	for (unsigned int k = 1; k < nbe; k++) {
		backend_open(&be[k], be[k].name);
		if (find_map_sets(&be[k], ms, max_threads)) {
			fprintf(stderr, "alloc_bench: %s: no object within one page found\n",
				be[k].name);
			exit(1);
		}
		for (enum workload w = W_MAP_FLAT_RO; w <= W_MAP_STRADDLE_WO; w++) {
			if (w != W_MAP_FLAT_RO && !ms->have_straddle) {
				printf("%-28s %-9s %7s %12s\n", wl_name[w], be[k].name, "-",
				       "(none straddle)");
				continue;
			}
			for (unsigned int ti = 0; ti < nthr; ti++) {
				double m, sp;

				for (unsigned int r = 0; r < rounds; r++)
					col[r] = time_map(&be[k], ms, w, thr[ti]);
				m = median(col, rounds);
				sp = spread(col, rounds);
				printf("%-28s %-9s %7u %12.1f %7.1f%%\n", wl_name[w], be[k].name,
				       thr[ti], m, sp);
				result(wl_name[w], be[k].name, thr[ti], m, "ns");
			}
		}
		for (size_t x = 0; x < ms->nall; x++)
			b_free(&be[k], ms->all[x]);
		free(ms->all);
		backend_close(&be[k]);
	}
	result("map_object_size", "corpus", 0, ms->size, "bytes");
	free(ms);
}

static int measure_mem(struct backend *be, unsigned int nbe, const char *freed_path)
{
	/* The same random half of the corpus is freed in every driver. */
	uint32_t *half = xcalloc(hdr.npages, sizeof(*half));
	size_t nhalf = hdr.npages / 2;

	for (uint32_t i = 0; i < hdr.npages; i++)
		half[i] = i;
	shuffle(half, hdr.npages, seed ^ 0x5eedULL);
	if (freed_path) {
		FILE *f = fopen(freed_path, "w");

		if (!f) {
			fprintf(stderr, "alloc_bench: %s: %s\n", freed_path, strerror(errno));
			return 1;
		}
		for (size_t k = 0; k < nhalf; k++)
			fprintf(f, "%u\n", half[k]);
		if (fclose(f)) {
			fprintf(stderr, "alloc_bench: %s: %s\n", freed_path, strerror(errno));
			return 1;
		}
	}
	printf("\n%-9s %10s %10s %9s | %10s %10s %9s %9s %9s\n", "memory", "stored MiB",
	       "pool MiB", "overhead", "kept MiB", "pool MiB", "overhead", "compacted",
	       "overhead");
	printf("%-9s %32s | %20s %9s %9s %9s\n", "", "(everything stored)",
	       "(random half freed)", "", "pages", "after");
	for (unsigned int k = 1; k < nbe; k++) {
		struct mem_result mr;

		measure_memory(&be[k], half, nhalf, &mr);
		printf("%-9s %10.1f %10.1f %9.4f | %10.1f %10.1f %9.4f %9lu %9.4f\n", be[k].name,
		       mr.bytes_full / 1048576.0, mr.pool_full / 1048576.0, mr.full,
		       mr.bytes_half / 1048576.0, mr.pool_free / 1048576.0, mr.after_free,
		       mr.compacted, mr.after_compact);
		result("mem_stored_bytes", be[k].name, 1, mr.bytes_full, "bytes");
		result("mem_pool_bytes", be[k].name, 1, mr.pool_full, "bytes");
		result("mem_overhead", be[k].name, 1, mr.full, "ratio");
		result("mem_half_stored_bytes", be[k].name, 1, mr.bytes_half, "bytes");
		result("mem_half_pool_bytes", be[k].name, 1, mr.pool_free, "bytes");
		result("mem_half_overhead", be[k].name, 1, mr.after_free, "ratio");
		result("mem_compact_pages", be[k].name, 1, mr.compacted, "pages");
		result("mem_compact_pool_bytes", be[k].name, 1, mr.pool_compact, "bytes");
		result("mem_compact_overhead", be[k].name, 1, mr.after_compact, "ratio");
	}
	free(half);
	return 0;
}

/* ---- main */

static void usage(void)
{
	fprintf(stderr,
		"usage: alloc_bench [-d DIR] [-r ROUNDS] [-t THREADS] [-s SEED] [-o RESULTS] "
		"[-f FREED] [-b DRIVER] [-p PART]\n"
		"  -d  directory holding corpus.idx and corpus.lz4 (default .)\n"
		"  -r  repeats of every timing, median reported (default 5)\n"
		"  -t  largest thread count; 1 and this are measured (default 2)\n"
		"  -s  seed of the random free orders and of the freed half (default 42)\n"
		"  -o  append machine-readable results (TSV) to this file\n"
		"  -f  write the corpus indices of the freed half here, one a line\n"
		"  -b  measure only this driver (beside glibc)\n"
		"  -p  only one part: ops, map or memory (default: all three)\n");
	exit(2);
}

static unsigned long parse_num(const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v < lo || v > hi) {
		fprintf(stderr, "alloc_bench: '%s' is not a number in %lu..%lu\n", s, lo, hi);
		exit(2);
	}
	return v;
}


int main(int argc, char **argv)
{
	const char *dir = ".", *freed_path = NULL, *only_driver = NULL, *part = NULL;
	struct backend be[NDRIVERS + 1];
	unsigned int nbe = 0, thr[2] = { 1, 0 }, nthr;
	int opt;

	while ((opt = getopt(argc, argv, "d:r:t:s:o:f:b:p:h")) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 'r':
			rounds = parse_num(optarg, 1, 101);
			break;
		case 't':
			max_threads = parse_num(optarg, 1, MAX_THREADS);
			break;
		case 's':
			seed = parse_num(optarg, 0, ULONG_MAX);
			break;
		case 'o':
			results = fopen(optarg, "a");
			if (!results) {
				fprintf(stderr, "alloc_bench: %s: %s\n", optarg, strerror(errno));
				return 1;
			}
			break;
		case 'f':
			freed_path = optarg;
			break;
		case 'b':
			only_driver = optarg;
			break;
		case 'p':
			if (strcmp(optarg, "ops") && strcmp(optarg, "map") &&
			    strcmp(optarg, "memory")) {
				fprintf(stderr, "alloc_bench: -p takes ops, map or memory\n");
				return 2;
			}
			part = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	load_corpus(dir);
	thr[1] = max_threads;
	nthr = max_threads > 1 ? 2 : 1;

	memset(be, 0, sizeof(be));
	be[nbe++].name = "glibc";
	for (size_t d = 0; d < NDRIVERS; d++) {
		if (only_driver && strcmp(only_driver, drivers[d]))
			continue;
		if (zpool_has_pool(drivers[d]))
			be[nbe++].name = drivers[d];
		else
			printf("alloc: driver %s is not registered; skipped\n", drivers[d]);
	}
	for (unsigned int k = 0; k < nbe; k++) {
		backend_open(&be[k], be[k].name);
		backend_close(&be[k]);
	}

	printf("\nalloc: corpus of %llu objects, %.1f MiB compressed from %.1f MiB of pages "
	       "(%llu same-filled pages skipped, %llu stored raw); %u rounds, median\n",
	       (unsigned long long)hdr.npages, hdr.compressed_bytes / 1048576.0,
	       hdr.input_bytes / 1048576.0, (unsigned long long)hdr.same_pages,
	       (unsigned long long)hdr.huge_pages, rounds);
	for (unsigned int k = 1; k < nbe; k++)
		if (be[k].refused)
			printf("alloc: %s refuses %zu objects above %zu bytes; "
			       "it runs on the other %zu\n",
			       be[k].name, be[k].refused, be[k].max_size, be[k].nobjs);
	result("corpus_objects", "corpus", 0, hdr.npages, "objects");
	result("corpus_compressed", "corpus", 0, hdr.compressed_bytes, "bytes");
	result("corpus_input", "corpus", 0, hdr.input_bytes, "bytes");
	result("corpus_same_pages", "corpus", 0, hdr.same_pages, "pages");
	result("corpus_huge_pages", "corpus", 0, hdr.huge_pages, "pages");

	if (!part || !strcmp(part, "ops"))
		measure_ops(be, nbe, thr, nthr);
	if (!part || !strcmp(part, "map"))
		measure_map(be, nbe, thr, nthr);
	if ((!part || !strcmp(part, "memory")) && measure_mem(be, nbe, freed_path))
		return 1;
	for (unsigned int k = 0; k < nbe; k++)
		free(be[k].objs);
	if (results)
		fclose(results);
	return 0;
}
