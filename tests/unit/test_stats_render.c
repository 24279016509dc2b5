// SPDX-License-Identifier: MIT
/*
 * The stats files rendered from real zsmalloc and zbud pools built through
 * zpool: exact kernel layouts, values, reconciliation between rows and
 * totals, JSON that parses, compaction accounting, user.zpool.stat text,
 * and snapshots that stay whole while other threads allocate.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "../../fs/stats/stats.c"
#include "lib_testutil.h"

/* The kernel's headers, as zsmalloc's debugfs "classes" prints them. */
static const char classes_header[] =
	" class  size       10%       20%       30%       40%       50%       60%       70%"
	"       80%       90%       99%      100% obj_allocated   obj_used pages_used"
	" pages_per_zspage freeable";
static const char fullness_header[] =
	" class  size almost_full almost_empty obj_allocated   obj_used pages_used"
	" pages_per_zspage freeable";

#define CLASSES_COLS 18		/* class size 11 buckets 5 more */
#define FULLNESS_COLS 9

struct fixture {
	struct zpool *pool;
	struct zfs_counters counters;
	struct zfs_stats_source src;
	unsigned long handles[4096];
	unsigned int nr;
};

static int setup_backend(void **state, const char *backend)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->pool = zpool_create_pool(backend, "stats-test", NULL);
	if (!f->pool) {
		free(f);
		return -1;
	}
	f->src.pool = f->pool;
	f->src.counters = &f->counters;
	f->src.backend = backend;
	f->src.compressor = "lz4";
	*state = f;
	return 0;
}

static int setup_zs(void **state)
{
	return setup_backend(state, "zsmalloc");
}

static int setup_zbud(void **state)
{
	return setup_backend(state, "zbud");
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (unsigned int i = 0; i < f->nr; i++) {
		if (f->handles[i])
			zpool_free(f->pool, f->handles[i]);
	}
	/* Every object freed: the pool must hold nothing. */
	assert_int_equal(zpool_get_total_size(f->pool), 0);
	zpool_destroy_pool(f->pool);
	free(f);
	return 0;
}

static void store(struct fixture *f, size_t size)
{
	unsigned long h;
	void *p;

	assert_true(f->nr < sizeof(f->handles) / sizeof(f->handles[0]));
	assert_int_equal(zpool_malloc(f->pool, size, 0, &h), 0);
	p = zpool_map_handle(f->pool, h, ZPOOL_MM_WO);
	memset(p, 0x5a, size);
	zpool_unmap_handle(f->pool, h);
	f->handles[f->nr++] = h;
}

/* The whole file as a NUL-terminated string. */
static char *render(struct fixture *f, const char *name)
{
	char *out, *s;
	size_t len;

	assert_int_equal(zfs_stats_render(&f->src, name, &out, &len), 0);
	assert_non_null(out);
	assert_true(len > 0);
	assert_int_equal(out[len - 1], '\n');
	s = strndup(out, len);
	assert_non_null(s);
	assert_int_equal(strlen(s), len);	/* no NUL inside */
	free(out);
	return s;
}

/* Split @line (modified) on blanks; returns the count, at most @max. */
static int split(char *line, char **tok, int max)
{
	char *save = NULL, *t;
	int n = 0;

	for (t = strtok_r(line, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	return n;
}

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	assert_int_equal(errno, 0);
	assert_true(end != s && *end == '\0');
	return v;
}

/* mm_stat as nine numbers; also checks zram's "%8lu" layout. */
static void read_mm_stat(struct fixture *f, unsigned long mm[9])
{
	char *s = render(f, "mm_stat"), *tok[16], expect[256];
	int n;

	assert_non_null(strchr(s, '\n'));
	assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);	/* one line */
	n = split(s, tok, 16);
	assert_int_equal(n, 9);
	for (int i = 0; i < 9; i++)
		mm[i] = num(i == 8 ? strtok(tok[i], "\n") : tok[i]);
	free(s);
	/* Byte for byte what zram's format string gives for these numbers. */
	snprintf(expect, sizeof(expect), "%8lu %8lu %8lu %8lu %8lu %8lu %8lu %8lu %8lu\n", mm[0],
		 mm[1], mm[2], mm[3], mm[4], mm[5], mm[6], mm[7], mm[8]);
	s = render(f, "mm_stat");
	assert_string_equal(s, expect);
	free(s);
}

static void test_file_lists(void **state)
{
	struct fixture *f = *state;
	const char *const *zs = zfs_stats_file_list("zsmalloc");
	const char *const *zb = zfs_stats_file_list("zbud");
	char *out = (char *)1;
	size_t len = 7;

	assert_ptr_equal(zs, zfs_stats_files);
	assert_true(listed(zs, "classes") && listed(zs, "fullness") && !listed(zs, "zbud"));
	assert_true(listed(zb, "zbud") && !listed(zb, "classes") && !listed(zb, "fullness"));
	for (const char *const *l = zs; *l; l++) {
		if (strcmp(*l, "classes") && strcmp(*l, "fullness"))
			assert_true(listed(zb, *l));
	}

	/* A zsmalloc pool has no zbud table, nobody has "nope". */
	assert_int_equal(zfs_stats_render(&f->src, "zbud", &out, &len), -ENOENT);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_int_equal(zfs_stats_render(&f->src, "nope", &out, &len), -ENOENT);
	assert_int_equal(zfs_stats_render(&f->src, "", &out, &len), -ENOENT);
	assert_int_equal(zfs_stats_render(&f->src, NULL, &out, &len), -ENOENT);
	for (const char *const *l = zs; *l; l++) {
		if (!strcmp(*l, "idle") || !strcmp(*l, "recompress")) {
			/* zram's write-only controls: they read empty. */
			assert_int_equal(zfs_stats_render(&f->src, *l, &out, &len), 0);
			assert_int_equal(len, 0);
			free(out);
			continue;
		}
		free(render(f, *l));
	}
	assert_true(listed(zs, "idle") && listed(zs, "recompress"));
	assert_true(listed(zb, "idle") && listed(zb, "recompress"));
}

static void test_mm_stat_values(void **state)
{
	struct fixture *f = *state;
	struct zpool_stats st;
	unsigned long mm[9], compr = 0;

	for (unsigned int i = 0; i < 300; i++) {
		size_t sz = 40 + (i * 97) % 4000;

		store(f, sz);
		compr += sz;
	}
	atomic_store(&f->counters.pages_stored, 310);
	atomic_store(&f->counters.compr_data_size, compr);
	atomic_store(&f->counters.same_pages, 10);
	atomic_store(&f->counters.huge_pages, 3);
	atomic_store(&f->counters.huge_pages_since, 5);
	atomic_store(&f->counters.pages_compacted, 7);
	f->src.mem_limit = 64UL << 20;

	read_mm_stat(f, mm);
	zpool_get_stats(f->pool, &st);
	assert_int_equal(mm[0], 310 * 4096UL);
	assert_int_equal(mm[1], compr);
	assert_int_equal(mm[2], st.total_size);
	assert_int_equal(mm[2], zpool_get_total_size(f->pool));
	assert_true(mm[2] > 0 && mm[2] % 4096 == 0);
	assert_int_equal(mm[3], 64UL << 20);
	assert_int_equal(mm[4], st.zs.pool.pages_max * 4096);	/* peak of the pool */
	assert_true(mm[4] >= mm[2]);
	assert_int_equal(mm[5], 10);
	assert_int_equal(mm[6], 7);
	assert_int_equal(mm[7], 3);
	assert_int_equal(mm[8], 5);

	/* A larger peak kept by the filesystem wins; the peak never shrinks below now. */
	atomic_store(&f->counters.mem_used_max, 1UL << 40);
	read_mm_stat(f, mm);
	assert_int_equal(mm[4], 1UL << 40);

	/* Pages kept outside the pool count as used memory. */
	f->src.raw_bytes = 3 * 4096;
	read_mm_stat(f, mm);
	assert_int_equal(mm[2], st.total_size + 3 * 4096);
}

static void test_io_stat(void **state)
{
	struct fixture *f = *state;
	char *s;

	atomic_store(&f->counters.failed_reads, 1);
	atomic_store(&f->counters.failed_writes, 22);
	atomic_store(&f->counters.invalid_io, 333);
	atomic_store(&f->counters.notify_free, 123456789);
	s = render(f, "io_stat");
	assert_string_equal(s, "       1       22      333 123456789\n");
	free(s);
}

/*
 * Check one table: the header, fixed-width rows, one blank line, then a Total
 * row whose numbers are the column sums ("Total" stands in the class column,
 * size and pages_per_zspage are blank). Returns Total's pages_used and obj_used, and the rows.
 */
static void check_table(const char *text, const char *header, int cols,
			unsigned long *total_pages, unsigned long *total_used, unsigned int *rows)
{
	unsigned long sum[32] = { 0 };
	size_t width = strlen(header);
	enum { HEADER, ROWS, TOTAL, END } state = HEADER;
	const char *l, *nl;
	char line[512], *tok[32];
	int n;

	*rows = 0;
	for (l = text; *l; l = nl + 1) {
		nl = strchr(l, '\n');
		assert_non_null(nl);
		assert_true((size_t)(nl - l) < sizeof(line));
		memcpy(line, l, (size_t)(nl - l));
		line[nl - l] = '\0';

		switch (state) {
		case HEADER:
			assert_string_equal(line, header);
			state = ROWS;
			break;
		case ROWS:
			if (line[0] == '\0') {
				state = TOTAL;
				break;
			}
			assert_int_equal(strlen(line), width);
			n = split(line, tok, 32);
			assert_int_equal(n, cols);
			for (int i = 0; i < n; i++)
				sum[i] += num(tok[i]);
			(*rows)++;
			break;
		case TOTAL:
			assert_int_equal(strlen(line), width);
			n = split(line, tok, 32);
			assert_int_equal(n, cols - 2);
			assert_string_equal(tok[0], "Total");
			for (int i = 1, c = 2; i < n; i++, c++) {
				if (c == cols - 2)
					c++;	/* pages_per_zspage is blank */
				assert_int_equal(num(tok[i]), sum[c]);
			}
			*total_pages = num(tok[n - 2]);
			*total_used = num(tok[n - 3]);
			state = END;
			break;
		case END:
			fail_msg("text after the Total row: '%s'", line);
		}
	}
	assert_int_equal(state, END);
}

static void test_classes_reconcile(void **state)
{
	struct fixture *f = *state;
	struct zpool_stats st;
	unsigned long mm[9], pages, used, live = 0;
	unsigned int rows;
	char *s;

	for (unsigned int i = 0; i < 1500; i++)
		store(f, 32 + (i * 131) % 4064);
	/* Free every third object so some zspages are partly used. */
	for (unsigned int i = 0; i < f->nr; i += 3) {
		zpool_free(f->pool, f->handles[i]);
		f->handles[i] = 0;
	}
	for (unsigned int i = 0; i < f->nr; i++)
		live += f->handles[i] != 0;

	zpool_get_stats(f->pool, &st);
	s = render(f, "classes");
	check_table(s, classes_header, CLASSES_COLS, &pages, &used, &rows);
	free(s);
	assert_int_equal(rows, st.zs.nr_classes);
	assert_int_equal(used, live);
	read_mm_stat(f, mm);
	assert_int_equal(pages * 4096, mm[2]);

	s = render(f, "fullness");
	check_table(s, fullness_header, FULLNESS_COLS, &pages, &used, &rows);
	free(s);
	assert_int_equal(rows, st.zs.nr_classes);
	assert_int_equal(used, live);
	assert_int_equal(pages * 4096, mm[2]);
}

/* A class row's columns are the snapshot's row of the same class. */
static void test_classes_rows(void **state)
{
	struct fixture *f = *state;
	struct zpool_stats *st = malloc(sizeof(*st));
	char *s, *save = NULL, *line, *tok[32];
	unsigned int i = 0, hit = 0;

	assert_non_null(st);
	for (unsigned int k = 0; k < 40; k++)
		store(f, 700);
	zpool_get_stats(f->pool, st);
	s = render(f, "classes");
	strtok_r(s, "\n", &save);	/* header */
	while ((line = strtok_r(NULL, "\n", &save)) && i < st->zs.nr_classes) {
		const struct zs_class_stats *c = &st->zs.class[i++];

		assert_int_equal(split(line, tok, 32), CLASSES_COLS);
		assert_int_equal(num(tok[0]), c->index);
		assert_int_equal(num(tok[1]), c->size);
		for (int b = 0; b < ZS_NR_INUSE_BUCKETS; b++)
			assert_int_equal(num(tok[2 + b]), c->inuse[b]);
		assert_int_equal(num(tok[13]), c->obj_allocated);
		assert_int_equal(num(tok[14]), c->obj_used);
		assert_int_equal(num(tok[15]), c->pages_used);
		assert_int_equal(num(tok[16]), c->pages_per_zspage);
		assert_int_equal(num(tok[17]), c->freeable);
		if (c->obj_used) {
			/*
			 * All 40 objects sit in one class just above 700 bytes
			 * (the allocator may add a small header of its own).
			 */
			assert_int_equal(c->obj_used, 40);
			assert_true(c->size >= 700 && c->size < 700 + 64);
			hit++;
		}
	}
	assert_int_equal(i, st->zs.nr_classes);
	assert_int_equal(hit, 1);
	/* Each distinct class once, in increasing size. */
	for (i = 1; i < st->zs.nr_classes; i++)
		assert_true(st->zs.class[i].size > st->zs.class[i - 1].size);
	free(s);
	free(st);
}

static void test_zbud_table(void **state)
{
	struct fixture *f = *state;
	struct zpool_stats st;
	char *s, *save = NULL, *line, *tok[8];
	unsigned long got_pages = ~0UL, got_buddied = ~0UL, got_unbuddied = ~0UL, got_lru = ~0UL;
	unsigned long sum = 0, total = ~0UL, mm[9];
	char *out;
	size_t len;
	int section = 0;

	for (unsigned int i = 0; i < 200; i++)
		store(f, 64 + (i * 211) % 3800);
	for (unsigned int i = 0; i < f->nr; i += 4) {
		zpool_free(f->pool, f->handles[i]);
		f->handles[i] = 0;
	}
	zpool_get_stats(f->pool, &st);
	assert_string_equal(st.type, "zbud");

	assert_int_equal(zfs_stats_render(&f->src, "classes", &out, &len), -ENOENT);
	assert_int_equal(zfs_stats_render(&f->src, "fullness", &out, &len), -ENOENT);

	s = render(f, "zbud");
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int n = split(line, tok, 8);

		assert_int_equal(n, 2);
		if (strcmp(tok[0], "free_chunks") == 0) {
			section = 1;
			continue;
		}
		if (section == 0) {
			if (!strcmp(tok[0], "pages"))
				got_pages = num(tok[1]);
			else if (!strcmp(tok[0], "buddied"))
				got_buddied = num(tok[1]);
			else if (!strcmp(tok[0], "unbuddied"))
				got_unbuddied = num(tok[1]);
			else if (!strcmp(tok[0], "lru_len"))
				got_lru = num(tok[1]);
		} else if (!strcmp(tok[0], "Total")) {
			total = num(tok[1]);
		} else {
			unsigned long chunks = num(tok[0]);

			assert_true(chunks >= 1 && chunks <= ZBUD_NCHUNKS);
			assert_int_equal(num(tok[1]), st.zbud.unbuddied[chunks]);
			sum += num(tok[1]);
		}
	}
	free(s);
	assert_int_equal(got_pages, st.zbud.pages);
	assert_int_equal(got_buddied, st.zbud.buddied);
	assert_int_equal(got_unbuddied, st.zbud.unbuddied_total);
	assert_int_equal(got_lru, st.zbud.lru_len);
	assert_int_equal(total, sum);
	assert_int_equal(total, st.zbud.unbuddied_total);
	assert_int_equal(st.zbud.pages, st.zbud.buddied + st.zbud.unbuddied_total);

	read_mm_stat(f, mm);
	assert_int_equal(mm[2], st.zbud.pages * 4096);
	f->src.raw_bytes = 5 * 4096;	/* raw pages the core keeps beside zbud */
	read_mm_stat(f, mm);
	assert_int_equal(mm[2], (st.zbud.pages + 5) * 4096);
}

/*
 * Feed @text to python3's json module, then evaluate @check (a Python
 * expression over the parsed object d). The expression travels in the
 * environment so that no shell quoting gets in its way.
 */
static void json_check(const char *text, const char *check)
{
	FILE *p;
	int rc;

	assert_int_equal(setenv("STATS_CHECK", check, 1), 0);
	p = popen("python3 -c 'import json, os, sys; d = json.load(sys.stdin); "
		  "sys.exit(0 if eval(os.environ[\"STATS_CHECK\"]) else 3)'",
		  "w");
	assert_non_null(p);
	fputs(text, p);
	rc = pclose(p);
	if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0)
		fail_msg("stats.json check failed (%d): %s\n%s", rc, check, text);
}

static void test_json(void **state)
{
	struct fixture *f = *state;
	char *s, check[1500];
	int n;

	for (unsigned int i = 0; i < 100; i++)
		store(f, 100 + i * 30);
	atomic_store(&f->counters.pages_stored, 100);
	atomic_store(&f->counters.notify_free, 9);
	f->src.compressor = "zstd \"quoted\"\\";
	s = render(f, "stats.json");

	/* Every counter of the one list is there, under its name, with its value. */
	n = snprintf(check, sizeof(check),
		     "d['version'] == 1 and sorted(d['counters']) == sorted([");
#define NAME(name, kind, desc) n += snprintf(check + n, sizeof(check) - n, "'%s',", #name);
	ZFS_COUNTERS(NAME)
#undef NAME
	snprintf(check + n, sizeof(check) - n,
		 "]) and d['counters']['pages_stored'] == 100 and d['io_stat']['notify_free'] == 9"
		 " and d['compressor'] == 'zstd \"quoted\"\\\\'"
		 " and d['backend'] == 'zsmalloc'"
		 " and len(d['mm_stat']) == 9"
		 " and d['zsmalloc']['total']['pages_used'] * 4096"
		 "     == d['mm_stat']['mem_used_total']"
		 " and sum(c['obj_used'] for c in d['zsmalloc']['classes']) == 100"
		 " and sum(c['pages_used'] for c in d['zsmalloc']['classes'])"
		 "     == d['zsmalloc']['total']['pages_used']"
		 " and all(len(c['inuse']) == 11 for c in d['zsmalloc']['classes'])");
	json_check(s, check);
	free(s);
}

/* The requests file and stats.json's "requests": the snapshot's rows, in order, exact. */
static void test_requests(void **state)
{
	struct fixture *f = *state;
	struct zfs_req_snap rq = {
		.n = 3,
		.row = { { "LOOKUP", 3, 4500, 2 }, { "GETATTR", 1, 999, 0 },
			 { "OTHER", 2, 5000001, 1 } },
	};
	char *s;

	s = render(f, "requests");	/* no snapshot: the header alone */
	assert_string_equal(s, "opcode                  count       total_us    mean_us        uring\n");
	free(s);
	f->src.requests = &rq;
	s = render(f, "requests");
	assert_string_equal(s, "opcode                  count       total_us    mean_us        uring\n"
			       "LOOKUP                      3              4        1.5            2\n"
			       "GETATTR                     1              0        1.0            0\n"
			       "OTHER                       2           5000     2500.0            1\n");
	free(s);
	s = render(f, "stats.json");
	json_check(s, "list(d['requests']) == ['LOOKUP', 'GETATTR', 'OTHER']"
		      " and d['requests']['LOOKUP'] == {'count': 3, 'ns': 4500, 'uring': 2}"
		      " and d['requests']['OTHER'] == {'count': 2, 'ns': 5000001, 'uring': 1}");
	free(s);
	f->src.requests = NULL;
}

static void test_json_zbud(void **state)
{
	struct fixture *f = *state;
	char *s;

	for (unsigned int i = 0; i < 50; i++)
		store(f, 100 + i * 50);
	s = render(f, "stats.json");
	json_check(s, "d['version'] == 1 and d['backend'] == 'zbud' and 'zsmalloc' not in d"
		      " and len(d['zbud']['unbuddied']) == 64"
		      " and d['zbud']['pages'] * 4096 == d['mm_stat']['mem_used_total']"
		      " and d['zbud']['objects'] == 50"
		      " and sum(d['zbud']['unbuddied']) == d['zbud']['unbuddied_total']");
	free(s);
}

static void test_pool_file(void **state)
{
	struct fixture *f = *state;
	char *s, want[128];

	for (unsigned int i = 0; i < 10; i++)
		store(f, 1000);
	atomic_store(&f->counters.pages_stored, 20);
	atomic_store(&f->counters.compr_data_size, 10000);
	atomic_store(&f->counters.same_pages, 10);
	atomic_store(&f->counters.pages_read, 77);
	f->src.files = 4;
	f->src.regular_files = 3;
	s = render(f, "pool");
	assert_non_null(strstr(s, "backend: zsmalloc\n"));
	assert_non_null(strstr(s, "compressor: lz4\n"));
	assert_non_null(strstr(s, "compression level: 0\n"));
	assert_non_null(strstr(s, "files: 4\n"));
	assert_non_null(strstr(s, "regular files: 3\n"));
	assert_non_null(strstr(s, "pages stored: 20\n"));
	assert_non_null(strstr(s, "same-filled pages: 10\n"));
	assert_non_null(strstr(s, "bytes before compression: 81920\n"));
	assert_non_null(strstr(s, "bytes after compression: 10000\n"));
	assert_non_null(strstr(s, "compression ratio: 8.19\n"));
	snprintf(want, sizeof(want), "pool bytes: %lu\n", zpool_get_total_size(f->pool));
	assert_non_null(strstr(s, want));
	snprintf(want, sizeof(want), "overhead: %ld\n",
		 (long)zpool_get_total_size(f->pool) - 10000);
	assert_non_null(strstr(s, want));
	assert_non_null(strstr(s, "objects stored: 10\n"));
	/* Every counter of the list appears by name. */
#define LINE(name, kind, desc)                                                    \
	snprintf(want, sizeof(want), "\n%s %s: %lu\n",                              \
		 ZFS_##kind == ZFS_GAUGE ? "gauge" : "total", #name,                 \
		 atomic_load(&f->counters.name));                                    \
	assert_non_null(strstr(s, want));
	ZFS_COUNTERS(LINE)
#undef LINE
	/* Every line is "key: value", and no key appears twice. */
	char keys[128][64];
	unsigned int nk = 0;

	for (char *l = s; *l; l = strchr(l, '\n') + 1) {
		char *colon = strstr(l, ": ");

		if (*l == '\n')
			continue;
		assert_true(colon && colon < strchr(l, '\n'));
		assert_true(colon - l < 64 && nk < 128);
		snprintf(keys[nk], sizeof(keys[nk]), "%.*s", (int)(colon - l), l);
		for (unsigned int k = 0; k < nk; k++)
			assert_string_not_equal(keys[k], keys[nk]);
		nk++;
	}
	free(s);
}

static void test_compact_accounting(void **state)
{
	struct fixture *f = *state;
	unsigned long before, after, freed, mm[9];
	unsigned int n = tu_quick() ? 400 : 3000;
	char *s, want[64];

	for (unsigned int i = 0; i < n; i++)
		store(f, 200 + (i % 7) * 16);
	for (unsigned int i = 0; i < f->nr; i += 2) {
		zpool_free(f->pool, f->handles[i]);
		f->handles[i] = 0;
	}
	atomic_store(&f->counters.pages_compacted, 11);
	before = zpool_get_total_size(f->pool);
	freed = zfs_stats_compact(&f->src);
	after = zpool_get_total_size(f->pool);
	print_message("compaction freed %lu of %lu pages\n", freed, before / 4096);
	/* Half of every zspage is free: compaction must give pages back. */
	assert_true(freed > 0);
	assert_int_equal(before - after, freed * 4096);
	assert_int_equal(atomic_load(&f->counters.pages_compacted), 11 + freed);
	assert_int_equal(atomic_load(&f->counters.compactions), 1);
	read_mm_stat(f, mm);
	assert_int_equal(mm[6], 11 + freed);
	assert_int_equal(mm[2], after);
	s = render(f, "compact");
	snprintf(want, sizeof(want), "%lu\n", 11 + freed);
	assert_string_equal(s, want);
	free(s);

	/* A second run on a compacted pool frees nothing more, and says so. */
	assert_int_equal(zfs_stats_compact(&f->src), 0);
	assert_int_equal(atomic_load(&f->counters.compactions), 2);
	assert_int_equal(atomic_load(&f->counters.pages_compacted), 11 + freed);
}

static void test_xattr(void **state)
{
	struct zfs_file_usage u = { 8192, 123, 1, 1, 0, 0, 4096 };
	const char *want = "logical=8192 stored=123 compressed=1 same=1 huge=0 holes=0 ratio=66.60"
			   " shared=4096";
	char buf[256];
	size_t n;

	memset(buf, '#', sizeof(buf));
	n = zfs_stats_file_xattr(&u, buf, sizeof(buf));
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
	assert_int_equal(buf[n], '#');		/* no NUL written */

	/* Too small: the length needed, and not a byte past @size. */
	memset(buf, '#', sizeof(buf));
	assert_int_equal(zfs_stats_file_xattr(&u, buf, 10), strlen(want));
	assert_memory_equal(buf, want, 10);
	assert_int_equal(buf[10], '#');
	assert_int_equal(zfs_stats_file_xattr(&u, NULL, 0), strlen(want));

	/* Nothing stored but data there (same-filled, holes): infinite ratio. */
	u = (struct zfs_file_usage){ 3 * 4096, 0, 0, 2, 0, 1, 0 };
	n = zfs_stats_file_xattr(&u, buf, sizeof(buf));
	buf[n] = 0;
	assert_string_equal(buf,
			    "logical=12288 stored=0 compressed=0 same=2 huge=0 holes=1 ratio=inf shared=0");

	u = (struct zfs_file_usage){ 0 };
	n = zfs_stats_file_xattr(&u, buf, sizeof(buf));
	buf[n] = 0;
	assert_string_equal(buf,
			    "logical=0 stored=0 compressed=0 same=0 huge=0 holes=0 ratio=0.00 shared=0");

	/* Rounding to two places, and no overflow at the extremes. */
	u = (struct zfs_file_usage){ 4096, 4096 * 3, 0, 0, 3, 0, 0 };
	n = zfs_stats_file_xattr(&u, buf, sizeof(buf));
	buf[n] = 0;
	assert_non_null(strstr(buf, " huge=3 holes=0 ratio=0.33 shared=0"));
	u = (struct zfs_file_usage){ ULONG_MAX, 1, 0, 0, 0, 0, 0 };
	n = zfs_stats_file_xattr(&u, buf, sizeof(buf));
	buf[n] = 0;
	assert_non_null(strstr(buf, "ratio=18446744073709551615.00"));
}

/* ---- snapshots while other threads allocate and free */

struct churn {
	struct zpool *pool;
	atomic_bool stop;
	unsigned int seed;
};

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	unsigned long h[256] = { 0 };
	unsigned int seed = c->seed;

	while (!atomic_load(&c->stop)) {
		unsigned int i = rand_r(&seed) % 256;

		if (h[i]) {
			zpool_free(c->pool, h[i]);
			h[i] = 0;
		} else if (zpool_malloc(c->pool, 32 + rand_r(&seed) % 4064, 0, &h[i]) != 0) {
			h[i] = 0;
		}
	}
	for (unsigned int i = 0; i < 256; i++) {
		if (h[i])
			zpool_free(c->pool, h[i]);
	}
	return NULL;
}

static void test_snapshot_under_writers(void **state)
{
	struct fixture *f = *state;
	struct churn c[2] = { { .pool = f->pool, .seed = 12345 },
			      { .pool = f->pool, .seed = 67890 } };
	pthread_t t[2];
	unsigned int rounds = tu_scaled(200);

	print_message("churn seeds %u %u, %u rounds\n", c[0].seed, c[1].seed, rounds);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn_thread, &c[i]), 0);
	for (unsigned int r = 0; r < rounds; r++) {
		unsigned long pages, used;
		unsigned int rows;
		char *s = render(f, r % 2 ? "classes" : "fullness");

		check_table(s, r % 2 ? classes_header : fullness_header,
			    r % 2 ? CLASSES_COLS : FULLNESS_COLS, &pages, &used, &rows);
		free(s);
		s = render(f, "stats.json");
		if (r % 10 == 0)
			json_check(s, "d['zsmalloc']['total']['pages_used'] * 4096"
				      " == d['mm_stat']['mem_used_total']"
				      " == d['pool']['pool_bytes']"
				      " and d['zsmalloc']['total']['obj_used']"
				      "     == d['zsmalloc']['obj_used']");
		free(s);
	}
	for (int i = 0; i < 2; i++) {
		atomic_store(&c[i].stop, true);
		pthread_join(t[i], NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_lists, setup_zs, teardown),
		cmocka_unit_test_setup_teardown(test_mm_stat_values, setup_zs, teardown),
		cmocka_unit_test_setup_teardown(test_io_stat, setup_zs, teardown),
		cmocka_unit_test_setup_teardown(test_classes_reconcile, setup_zs, teardown),
		cmocka_unit_test_setup_teardown(test_classes_rows, setup_zs, teardown),
		cmocka_unit_test_setup_teardown(test_zbud_table, setup_zbud, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup_zs, teardown),
		cmocka_unit_test_setup_teardown(test_json_zbud, setup_zbud, teardown),
		cmocka_unit_test_setup_teardown(test_requests, setup_zs, teardown),
		cmocka_unit_test_setup_teardown(test_pool_file, setup_zs, teardown),
		cmocka_unit_test_setup_teardown(test_compact_accounting, setup_zs, teardown),
		cmocka_unit_test(test_xattr),
		cmocka_unit_test_setup_teardown(test_snapshot_under_writers, setup_zs, teardown),
	};

	return cmocka_run_group_tests_name("stats_render", tests, NULL, NULL);
}
