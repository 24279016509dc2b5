// SPDX-License-Identifier: MIT
/*
 * stats.c - the text of the MOUNT/.zpool/ files and of user.zpool.stat.
 *
 * One open of a stats file = one render = one snapshot:
 *
 *   zpool_get_stats()  ---------.    (once: pool bytes and every class row,
 *                                \    taken by the allocator under its locks)
 *   zfs_counters_read() ----------> struct view ---> mm_stat | io_stat |
 *                                /                   classes | fullness | zbud |
 *   struct zfs_stats_source ----'                    pool | stats.json | compact |
 *                                                    requests
 *
 * Every number a file prints is computed from the one view, so the files
 * reconcile with themselves (rows sum to Total, Total pages_used * 4096 ==
 * mem_used_total). Two different files are two snapshots and agree only
 * when the filesystem is idle.
 *
 * Layouts copy the kernel's: mm_stat and io_stat are zram's sysfs lines,
 * classes is zsmalloc's debugfs table as kernels with in-use ratio buckets
 * print it, fullness is the older almost_full/almost_empty table. A program
 * written for the kernel's files parses ours.
 *
 * zbud pools have no size classes. Rather than print a zbud table under the
 * name "classes" (where a zsmalloc parser would misread it), a zbud mount
 * lists a "zbud" file instead of "classes" and "fullness"; see
 * zfs_stats_file_list().
 *
 * Nothing here takes a lock of its own: the snapshot is the allocator's, the
 * counters are relaxed atomics, and the output buffer belongs to the caller.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

#define ZFS_PAGE_SIZE 4096UL

/* The zsmalloc mount's files; the order is the order readdir shows. */
const char *const zfs_stats_files[] = {
	"mm_stat", "io_stat", "classes", "fullness", "pool", "stats.json", "compact", "requests",
	"bd_stat", "writeback", "writeback_limit", "writeback_limit_enable", "idle", "recompress",
	NULL,
};

/* A zbud pool has no classes: its one table replaces classes and fullness. */
static const char *const zbud_stats_files[] = {
	"mm_stat", "io_stat", "zbud", "pool", "stats.json", "compact", "requests",
	"bd_stat", "writeback", "writeback_limit", "writeback_limit_enable", "idle", "recompress",
	NULL,
};

const char *const *zfs_stats_file_list(const char *backend)
{
	if (backend && strcmp(backend, "zbud") == 0)
		return zbud_stats_files;
	return zfs_stats_files;
}

/* ---- a growing text buffer; the first failed allocation sticks */

struct sbuf {
	char *buf;
	size_t len;
	size_t cap;
	bool nomem;
};

static bool sb_reserve(struct sbuf *sb, size_t more)
{
	size_t want = sb->len + more + 1;
	char *p;

	if (sb->nomem)
		return false;
	if (want <= sb->cap)
		return true;
	if (want < 2 * sb->cap)
		want = 2 * sb->cap;
	if (want < 256)
		want = 256;
	p = realloc(sb->buf, want);
	if (!p) {
		sb->nomem = true;
		return false;
	}
	sb->buf = p;
	sb->cap = want;
	return true;
}

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!sb_reserve(sb, 128))
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->nomem = true;
		return;
	}
	if ((size_t)n >= sb->cap - sb->len) {
		if (!sb_reserve(sb, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

static void sb_puts(struct sbuf *sb, const char *s)
{
	size_t n = strlen(s);

	if (!sb_reserve(sb, n))
		return;
	memcpy(sb->buf + sb->len, s, n + 1);
	sb->len += n;
}

/* ---- the view: one snapshot and what follows from it */

/*
 * zram's mm_stat columns, in zram's order. The list feeds the view, the
 * mm_stat line and stats.json's "mm_stat" object.
 */
#define MM_STAT_FIELDS(X) \
	X(orig_data_size)  \
	X(compr_data_size) \
	X(mem_used_total)  \
	X(mem_limit)       \
	X(mem_used_max)    \
	X(same_pages)      \
	X(pages_compacted) \
	X(huge_pages)      \
	X(huge_pages_since)

/*
 * zram's bd_stat columns, in 4 KiB units: the backing file's bytes in use,
 * read and written, each rounded up to whole 4 KiB (zpoolfs moves compressed
 * bytes, zram whole pages).
 */
#define BD_STAT_FIELDS(X) X(bd_count, bd_bytes) X(bd_reads, bd_read_bytes) X(bd_writes, bd_write_bytes)

/* zram's io_stat columns, all straight from the counters. */
#define IO_STAT_FIELDS(X) X(failed_reads) X(failed_writes) X(invalid_io) X(notify_free)

struct view {
	const struct zfs_stats_source *src;
	struct zfs_counters_snap c;
	struct zpool_stats st;		/* the one zpool_get_stats() of this render */
	bool zbud;

#define VIEW_FIELD(name) unsigned long name;
	MM_STAT_FIELDS(VIEW_FIELD)
#undef VIEW_FIELD

	unsigned long pool_bytes;	/* the allocator's pages only */
	unsigned long pool_objects;	/* objects the allocator holds */
	unsigned long mapped_now;
};

/* Fill @v (zeroed by the caller) from one read of the counters and of the pool. */
static void view_fill(struct view *v, const struct zfs_stats_source *src)
{
	unsigned long pool_max;

	v->src = src;
	if (src->counters)
		zfs_counters_read(src->counters, &v->c);
	if (src->pool)
		zpool_get_stats(src->pool, &v->st);
	v->zbud = v->st.type ? strcmp(v->st.type, "zbud") == 0
			     : (src->backend && strcmp(src->backend, "zbud") == 0);

	v->pool_bytes = v->st.total_size;
	if (v->zbud) {
		v->pool_objects = v->st.zbud.objects;
		v->mapped_now = v->st.zbud.mapped_now;
		pool_max = 0;
	} else {
		v->pool_objects = v->st.zs.pool.obj_used;
		v->mapped_now = v->st.zs.pool.mapped_now;
		pool_max = v->st.zs.pool.pages_max * ZFS_PAGE_SIZE;
	}
	if (src->objects_mapped > v->mapped_now)
		v->mapped_now = src->objects_mapped;

	v->orig_data_size = v->c.pages_stored * ZFS_PAGE_SIZE;
	v->compr_data_size = v->c.compr_data_size;
	v->mem_used_total = v->pool_bytes + src->raw_bytes;
	v->mem_limit = src->mem_limit;
	/* The peak is never below what is in use in this very snapshot. */
	v->mem_used_max = v->c.mem_used_max;
	if (pool_max + src->raw_bytes > v->mem_used_max)
		v->mem_used_max = pool_max + src->raw_bytes;
	if (v->mem_used_total > v->mem_used_max)
		v->mem_used_max = v->mem_used_total;
	v->same_pages = v->c.same_pages;
	v->pages_compacted = v->c.pages_compacted;
	v->huge_pages = v->c.huge_pages;
	v->huge_pages_since = v->c.huge_pages_since;
}

/* ---- zram's sysfs lines */

static void render_mm_stat(struct sbuf *sb, const struct view *v)
{
	/* zram's mm_stat_show(): right-aligned columns of width 8, one space apart. */
	const char *sep = "";

#define MM_STAT_PRINT(name)                              \
	do {                                             \
		sb_printf(sb, "%s%8lu", sep, v->name);   \
		sep = " ";                               \
	} while (0);
	MM_STAT_FIELDS(MM_STAT_PRINT)
#undef MM_STAT_PRINT
	sb_puts(sb, "\n");
}

/*
 * zram's io_stat_show() as it was before kernel 6.4 stopped counting
 * invalid_io and started printing a bare 0 there: we still count refused
 * requests, so the column carries the number, padded like the others.
 */
static unsigned long four_k(unsigned long bytes)
{
	return (bytes + ZFS_PAGE_SIZE - 1) / ZFS_PAGE_SIZE;
}

/* zram's bd_stat_show(): three columns of width 8. */
static void render_bd_stat(struct sbuf *sb, const struct view *v)
{
	const char *sep = "";

#define BD_STAT_PRINT(name, counter)                               \
	do {                                                       \
		sb_printf(sb, "%s%8lu", sep, four_k(v->c.counter)); \
		sep = " ";                                         \
	} while (0);
	BD_STAT_FIELDS(BD_STAT_PRINT)
#undef BD_STAT_PRINT
	sb_puts(sb, "\n");
}

/* zram's writeback_limit and writeback_limit_enable. */
static void render_wb_limit(struct sbuf *sb, const struct view *v)
{
	sb_printf(sb, "%llu\n", (unsigned long long)v->src->bd_limit_pages);
}

static void render_wb_limit_enable(struct sbuf *sb, const struct view *v)
{
	sb_printf(sb, "%d\n", v->src->bd_limit_enable ? 1 : 0);
}

/* Write-only for users (mode 0200, as zram's); rendered: the words it takes. */
static void render_writeback(struct sbuf *sb, const struct view *v)
{
	(void)v;
	sb_puts(sb, "idle huge huge_idle incompressible\n");
}

static void render_io_stat(struct sbuf *sb, const struct view *v)
{
	const char *sep = "";

#define IO_STAT_PRINT(name)                              \
	do {                                             \
		sb_printf(sb, "%s%8lu", sep, v->c.name); \
		sep = " ";                               \
	} while (0);
	IO_STAT_FIELDS(IO_STAT_PRINT)
#undef IO_STAT_PRINT
	sb_puts(sb, "\n");
}

/* ---- zsmalloc's debugfs tables */

static const char *const inuse_names[ZS_NR_INUSE_BUCKETS] = {
	"10%", "20%", "30%", "40%", "50%", "60%", "70%", "80%", "90%", "99%", "100%",
};

struct zs_totals {
	unsigned long inuse[ZS_NR_INUSE_BUCKETS];
	unsigned long almost_full;
	unsigned long almost_empty;
	unsigned long obj_allocated;
	unsigned long obj_used;
	unsigned long pages_used;
	unsigned long freeable;
};

static void zs_sum(const struct zs_pool_snapshot *s, struct zs_totals *t)
{
	unsigned int i, b;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < s->nr_classes; i++) {
		const struct zs_class_stats *c = &s->class[i];

		for (b = 0; b < ZS_NR_INUSE_BUCKETS; b++)
			t->inuse[b] += c->inuse[b];
		t->almost_full += c->almost_full;
		t->almost_empty += c->almost_empty;
		t->obj_allocated += c->obj_allocated;
		t->obj_used += c->obj_used;
		t->pages_used += c->pages_used;
		t->freeable += c->freeable;
	}
}

static void render_classes(struct sbuf *sb, const struct view *v)
{
	const struct zs_pool_snapshot *s = &v->st.zs;
	struct zs_totals t;
	unsigned int i, b;

	sb_printf(sb, " %5s %5s", "class", "size");
	for (b = 0; b < ZS_NR_INUSE_BUCKETS; b++)
		sb_printf(sb, " %9s", inuse_names[b]);
	sb_printf(sb, " %13s %10s %10s %16s %8s\n", "obj_allocated", "obj_used", "pages_used",
		  "pages_per_zspage", "freeable");

	for (i = 0; i < s->nr_classes; i++) {
		const struct zs_class_stats *c = &s->class[i];

		sb_printf(sb, " %5u %5u ", c->index, c->size);
		for (b = 0; b < ZS_NR_INUSE_BUCKETS; b++)
			sb_printf(sb, "%9lu ", c->inuse[b]);
		sb_printf(sb, "%13lu %10lu %10lu %16u %8lu\n", c->obj_allocated, c->obj_used,
			  c->pages_used, c->pages_per_zspage, c->freeable);
	}

	zs_sum(s, &t);
	sb_puts(sb, "\n");
	sb_printf(sb, " %5s %5s ", "Total", "");
	for (b = 0; b < ZS_NR_INUSE_BUCKETS; b++)
		sb_printf(sb, "%9lu ", t.inuse[b]);
	sb_printf(sb, "%13lu %10lu %10lu %16s %8lu\n", t.obj_allocated, t.obj_used, t.pages_used,
		  "", t.freeable);
}

static void render_fullness(struct sbuf *sb, const struct view *v)
{
	const struct zs_pool_snapshot *s = &v->st.zs;
	struct zs_totals t;
	unsigned int i;

	sb_printf(sb, " %5s %5s %11s %12s %13s %10s %10s %16s %8s\n", "class", "size",
		  "almost_full", "almost_empty", "obj_allocated", "obj_used", "pages_used",
		  "pages_per_zspage", "freeable");
	for (i = 0; i < s->nr_classes; i++) {
		const struct zs_class_stats *c = &s->class[i];

		sb_printf(sb, " %5u %5u %11lu %12lu %13lu %10lu %10lu %16u %8lu\n", c->index,
			  c->size, c->almost_full, c->almost_empty, c->obj_allocated, c->obj_used,
			  c->pages_used, c->pages_per_zspage, c->freeable);
	}
	zs_sum(s, &t);
	sb_puts(sb, "\n");
	sb_printf(sb, " %5s %5s %11lu %12lu %13lu %10lu %10lu %16s %8lu\n", "Total", "",
		  t.almost_full, t.almost_empty, t.obj_allocated, t.obj_used, t.pages_used, "",
		  t.freeable);
}

/* ---- zbud's table */

static void render_zbud(struct sbuf *sb, const struct view *v)
{
	const struct zbud_stats *z = &v->st.zbud;
	unsigned int i;

	sb_printf(sb, "%-16s %10lu\n", "pages", z->pages);
	sb_printf(sb, "%-16s %10lu\n", "buddied", z->buddied);
	sb_printf(sb, "%-16s %10lu\n", "unbuddied", z->unbuddied_total);
	sb_printf(sb, "%-16s %10lu\n", "lru_len", z->lru_len);
	sb_printf(sb, "%-16s %10lu\n", "objects", z->objects);
	sb_printf(sb, "%-16s %10lu\n", "chunks_used", z->chunks_used);
	sb_puts(sb, "\n");
	sb_printf(sb, " %11s %10s\n", "free_chunks", "unbuddied");
	for (i = 1; i <= ZBUD_NCHUNKS; i++) {
		if (z->unbuddied[i])
			sb_printf(sb, " %11u %10lu\n", i, z->unbuddied[i]);
	}
	sb_puts(sb, "\n");
	sb_printf(sb, " %11s %10lu\n", "Total", z->unbuddied_total);
}

/* ---- the human summary */

enum { ZFS_GAUGE, ZFS_TOTAL };

static const char *kind_name(int kind)
{
	return kind == ZFS_GAUGE ? "gauge" : "total";
}

/* @num / @den as "N.NN" with integer arithmetic (no locale, no float). */
static void fmt_ratio(char *buf, size_t size, unsigned long num, unsigned long den)
{
	unsigned __int128 q;

	if (!den) {
		snprintf(buf, size, num ? "inf" : "0.00");
		return;
	}
	q = ((unsigned __int128)num * 200 + den) / (2 * (unsigned __int128)den);
	snprintf(buf, size, "%lu.%02lu", (unsigned long)(q / 100), (unsigned long)(q % 100));
}

/*
 * Bytes the allocator holds beyond the compressed data: fragmentation,
 * zspage tails, zbud's half-empty pages. Negative only when a writer ran
 * between the counters and the pool snapshot.
 */
static long overhead(const struct view *v)
{
	return (long)v->mem_used_total - (long)v->compr_data_size;
}

static void render_pool(struct sbuf *sb, const struct view *v)
{
	const struct zfs_stats_source *src = v->src;
	char ratio[48], cratio[48];

	fmt_ratio(ratio, sizeof(ratio), v->orig_data_size, v->mem_used_total);
	fmt_ratio(cratio, sizeof(cratio), v->orig_data_size, v->compr_data_size);

	sb_printf(sb, "backend: %s\n", v->st.type ? v->st.type : src->backend);
	sb_printf(sb, "compressor: %s\n", src->compressor);
	sb_printf(sb, "compression level: %d\n", src->comp_level);
	sb_printf(sb, "files: %lu\n", src->files);
	sb_printf(sb, "regular files: %lu\n", src->regular_files);
	sb_printf(sb, "pages stored: %lu\n", v->c.pages_stored);
	sb_printf(sb, "same-filled pages: %lu\n", v->same_pages);
	sb_printf(sb, "huge pages: %lu\n", v->huge_pages);
	sb_printf(sb, "bytes before compression: %lu\n", v->orig_data_size);
	sb_printf(sb, "bytes after compression: %lu\n", v->compr_data_size);
	sb_printf(sb, "pool bytes: %lu\n", v->mem_used_total);
	sb_printf(sb, "pool bytes max: %lu\n", v->mem_used_max);
	sb_printf(sb, "memory limit: %lu\n", v->mem_limit);
	sb_printf(sb, "size limit: %lu\n", src->size_limit);
	sb_printf(sb, "ratio: %s\n", ratio);
	sb_printf(sb, "compression ratio: %s\n", cratio);
	sb_printf(sb, "overhead: %ld\n", overhead(v));
	sb_printf(sb, "compactions: %lu\n", v->c.compactions);
	sb_printf(sb, "pages compacted: %lu\n", v->pages_compacted);
	sb_printf(sb, "objects stored: %lu\n", v->pool_objects);
	sb_printf(sb, "objects mapped now: %lu\n", v->mapped_now);

	/*
	 * Then every counter straight from the one list, by its own name after
	 * its kind ("gauge" now, "total" ever), which also keeps these keys
	 * apart from the summary's above.
	 */
	sb_puts(sb, "\n");
#define COUNTER_LINE(name, kind, desc) \
	sb_printf(sb, "%s %s: %lu\n", kind_name(ZFS_##kind), #name, v->c.name);
	ZFS_COUNTERS(COUNTER_LINE)
#undef COUNTER_LINE
}

/* ---- stats.json */

/*
 * The allocators' own numbers, one list per struct: stats.json prints every
 * field listed, so a field added to a struct is one line here.
 */
#define ZS_POOL_FIELDS(X)                                                              \
	X(pages_used) X(pages_max) X(pages_compacted) X(compactions) X(obj_allocated) \
	X(obj_used) X(bytes_requested) X(zspages) X(mapped_now) X(maps) X(unmaps)     \
	X(alloc_fails)
#define ZS_CLASS_FIELDS(X)                                                             \
	X(almost_full) X(almost_empty) X(full) X(obj_allocated) X(obj_used)           \
	X(pages_used) X(freeable)
#define ZS_TOTAL_FIELDS(X)                                                             \
	X(almost_full) X(almost_empty) X(obj_allocated) X(obj_used) X(pages_used)     \
	X(freeable)
#define ZBUD_FIELDS(X)                                                                 \
	X(pages) X(buddied) X(unbuddied_total) X(lru_len) X(objects)                  \
	X(bytes_requested) X(chunks_used) X(mapped_now) X(maps) X(reclaimed_pages)    \
	X(alloc_fails)

/* Objects are written flat; @first tracks whether a comma is due. */
static void json_key(struct sbuf *sb, bool *first, const char *key)
{
	sb_printf(sb, "%s\"%s\": ", *first ? "" : ", ", key);
	*first = false;
}

static void json_str(struct sbuf *sb, const char *s)
{
	sb_puts(sb, "\"");
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			sb_printf(sb, "\\%c", ch);
		else if (ch < 0x20)
			sb_printf(sb, "\\u%04x", ch);
		else
			sb_printf(sb, "%c", ch);
	}
	sb_puts(sb, "\"");
}

static void json_ulongs(struct sbuf *sb, const unsigned long *a, unsigned int n)
{
	unsigned int i;

	sb_puts(sb, "[");
	for (i = 0; i < n; i++)
		sb_printf(sb, "%s%lu", i ? ", " : "", a[i]);
	sb_puts(sb, "]");
}

#define JSON_UL(sb, first, obj, name)              \
	do {                                       \
		json_key(sb, first, #name);        \
		sb_printf(sb, "%lu", (obj)->name); \
	} while (0);

static void json_zsmalloc(struct sbuf *sb, const struct view *v)
{
	const struct zs_pool_snapshot *s = &v->st.zs;
	struct zs_totals t;
	unsigned int i;
	bool first = true;

	sb_puts(sb, ",\n \"zsmalloc\": {");
#define ZS_POOL_JSON(name) JSON_UL(sb, &first, &s->pool, name)
	ZS_POOL_FIELDS(ZS_POOL_JSON)
#undef ZS_POOL_JSON
	sb_puts(sb, ",\n  \"classes\": [");
	for (i = 0; i < s->nr_classes; i++) {
		const struct zs_class_stats *c = &s->class[i];

		first = true;
		sb_printf(sb, "%s\n   {", i ? "," : "");
		json_key(sb, &first, "class");
		sb_printf(sb, "%u", c->index);
		json_key(sb, &first, "size");
		sb_printf(sb, "%u", c->size);
		json_key(sb, &first, "pages_per_zspage");
		sb_printf(sb, "%u", c->pages_per_zspage);
		json_key(sb, &first, "objs_per_zspage");
		sb_printf(sb, "%u", c->objs_per_zspage);
		json_key(sb, &first, "huge");
		sb_puts(sb, c->huge ? "true" : "false");
		json_key(sb, &first, "inuse");
		json_ulongs(sb, c->inuse, ZS_NR_INUSE_BUCKETS);
#define ZS_CLASS_JSON(name) JSON_UL(sb, &first, c, name)
		ZS_CLASS_FIELDS(ZS_CLASS_JSON)
#undef ZS_CLASS_JSON
		sb_puts(sb, "}");
	}
	zs_sum(s, &t);
	sb_puts(sb, "],\n  \"total\": {");
	first = true;
	json_key(sb, &first, "inuse");
	json_ulongs(sb, t.inuse, ZS_NR_INUSE_BUCKETS);
#define ZS_TOTAL_JSON(name) JSON_UL(sb, &first, &t, name)
	ZS_TOTAL_FIELDS(ZS_TOTAL_JSON)
#undef ZS_TOTAL_JSON
	sb_puts(sb, "}}");
}

static void json_zbud(struct sbuf *sb, const struct view *v)
{
	const struct zbud_stats *z = &v->st.zbud;
	bool first = true;

	sb_puts(sb, ",\n \"zbud\": {");
#define ZBUD_JSON(name) JSON_UL(sb, &first, z, name)
	ZBUD_FIELDS(ZBUD_JSON)
#undef ZBUD_JSON
	/* index = free chunks; index 0 is always 0 (such a page is buddied) */
	json_key(sb, &first, "unbuddied");
	json_ulongs(sb, z->unbuddied, ZBUD_NCHUNKS + 1);
	sb_puts(sb, "}");
}

/* "requests": {"LOOKUP": {"count": N, "ns": T, "uring": U}, ...}, opcodes in opcode order */
static void json_requests(struct sbuf *sb, const struct zfs_req_snap *rq)
{
	bool first = true;

	sb_puts(sb, ",\n \"requests\": {");
	for (unsigned int i = 0; rq && i < rq->n; i++) {
		json_key(sb, &first, rq->row[i].name);
		sb_printf(sb, "{\"count\": %lu, \"ns\": %lu, \"uring\": %lu}", rq->row[i].count,
			  rq->row[i].ns, rq->row[i].uring);
	}
	sb_puts(sb, "}");
}

static void render_json(struct sbuf *sb, const struct view *v)
{
	const struct zfs_stats_source *src = v->src;
	char ratio[48], cratio[48];
	bool first = true;

	sb_puts(sb, "{");
	json_key(sb, &first, "version");
	sb_puts(sb, "1");
	json_key(sb, &first, "backend");
	json_str(sb, v->st.type ? v->st.type : src->backend);
	json_key(sb, &first, "compressor");
	json_str(sb, src->compressor);
	json_key(sb, &first, "comp_level");
	sb_printf(sb, "%d", src->comp_level);
	JSON_UL(sb, &first, src, size_limit)
	JSON_UL(sb, &first, src, files)
	JSON_UL(sb, &first, src, regular_files)

	sb_puts(sb, ",\n \"counters\": {");
	first = true;
#define COUNTER_JSON(name, kind, desc) JSON_UL(sb, &first, &v->c, name)
	ZFS_COUNTERS(COUNTER_JSON)
#undef COUNTER_JSON
	sb_puts(sb, "}");

	sb_puts(sb, ",\n \"mm_stat\": {");
	first = true;
#define MM_STAT_JSON(name) JSON_UL(sb, &first, v, name)
	MM_STAT_FIELDS(MM_STAT_JSON)
#undef MM_STAT_JSON
	sb_puts(sb, "}");

	sb_puts(sb, ",\n \"io_stat\": {");
	first = true;
#define IO_STAT_JSON(name) JSON_UL(sb, &first, &v->c, name)
	IO_STAT_FIELDS(IO_STAT_JSON)
#undef IO_STAT_JSON
	sb_puts(sb, "}");

	sb_puts(sb, ",\n \"bd_stat\": {");
	first = true;
#define BD_STAT_JSON(name, counter)                     \
	json_key(sb, &first, #name);                    \
	sb_printf(sb, "%lu", four_k(v->c.counter));
	BD_STAT_FIELDS(BD_STAT_JSON)
#undef BD_STAT_JSON
	json_key(sb, &first, "backing");
	sb_puts(sb, src->backing ? "true" : "false");
	json_key(sb, &first, "capacity");
	sb_printf(sb, "%llu", (unsigned long long)src->bd_capacity);
	json_key(sb, &first, "writeback_limit_enable");
	sb_printf(sb, "%d", src->bd_limit_enable ? 1 : 0);
	json_key(sb, &first, "writeback_limit");
	sb_printf(sb, "%llu", (unsigned long long)src->bd_limit_pages);
	sb_puts(sb, "}");

	/* Ratios are numbers, or null when the denominator is 0. */
	fmt_ratio(ratio, sizeof(ratio), v->orig_data_size, v->mem_used_total);
	fmt_ratio(cratio, sizeof(cratio), v->orig_data_size, v->compr_data_size);
	sb_puts(sb, ",\n \"pool\": {");
	first = true;
	JSON_UL(sb, &first, v, pool_bytes)
	JSON_UL(sb, &first, src, raw_bytes)
	JSON_UL(sb, &first, v, pool_objects)
	JSON_UL(sb, &first, v, mapped_now)
	json_key(sb, &first, "overhead");
	sb_printf(sb, "%ld", overhead(v));
	json_key(sb, &first, "ratio");
	sb_puts(sb, v->mem_used_total ? ratio : "null");
	json_key(sb, &first, "compression_ratio");
	sb_puts(sb, v->compr_data_size ? cratio : "null");
	sb_puts(sb, "}");

	json_requests(sb, src->requests);
	if (v->zbud)
		json_zbud(sb, v);
	else
		json_zsmalloc(sb, v);
	sb_puts(sb, "\n}\n");
}

/*
 * One line per FUSE opcode the daemon has answered: how many requests and
 * their time in the daemon, from read off /dev/fuse to reply written; the
 * last column: how many of them came and went through io_uring (-o uring).
 */
static void render_requests(struct sbuf *sb, const struct view *v)
{
	const struct zfs_req_snap *rq = v->src->requests;

	sb_printf(sb, "%-16s %12s %14s %10s %12s\n", "opcode", "count", "total_us", "mean_us",
		  "uring");
	for (unsigned int i = 0; rq && i < rq->n; i++) {
		const struct zfs_req_row *r = &rq->row[i];

		sb_printf(sb, "%-16s %12lu %14lu %10.1f %12lu\n", r->name, r->count, r->ns / 1000,
			  (double)r->ns / 1000.0 / (double)r->count, r->uring);
	}
}

static void render_compact(struct sbuf *sb, const struct view *v)
{
	sb_printf(sb, "%lu\n", v->pages_compacted);
}

/* ---- entry points */

static bool listed(const char *const *list, const char *name)
{
	for (; *list; list++) {
		if (strcmp(*list, name) == 0)
			return true;
	}
	return false;
}

/* idle and recompress are written to (recompress.c), as zram's; they read empty. */
static void render_nothing(struct sbuf *sb, const struct view *v)
{
	(void)sb;
	(void)v;
}

int zfs_stats_render(const struct zfs_stats_source *src, const char *name, char **out,
		     size_t *len)
{
	static const struct {
		const char *name;
		void (*render)(struct sbuf *sb, const struct view *v);
	} files[] = {
		{ "mm_stat", render_mm_stat },	{ "io_stat", render_io_stat },
		{ "classes", render_classes },	{ "fullness", render_fullness },
		{ "zbud", render_zbud },	{ "pool", render_pool },
		{ "stats.json", render_json },	{ "compact", render_compact },
		{ "requests", render_requests },	{ "bd_stat", render_bd_stat },
		{ "writeback", render_writeback },	{ "writeback_limit", render_wb_limit },
		{ "writeback_limit_enable", render_wb_limit_enable },
		{ "idle", render_nothing },	{ "recompress", render_nothing },
	};
	struct sbuf sb = { 0 };
	struct view *v;
	size_t i;

	*out = NULL;
	*len = 0;
	if (!name || !listed(zfs_stats_file_list(src->backend), name))
		return -ENOENT;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (strcmp(files[i].name, name) == 0)
			break;
	}
	if (i == sizeof(files) / sizeof(files[0]))
		return -ENOENT;

	/* The snapshot is ~40 KiB: keep it off FUSE worker stacks. */
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	view_fill(v, src);
	files[i].render(&sb, v);
	free(v);
	if (sb.nomem) {
		free(sb.buf);
		return -ENOMEM;
	}
	*out = sb.buf;
	*len = sb.len;
	return 0;
}

unsigned long zfs_stats_compact(const struct zfs_stats_source *src)
{
	unsigned long freed;

	if (!src->pool)
		return 0;
	freed = zpool_compact(src->pool);
	if (src->counters) {
		zfs_count_add(src->counters, pages_compacted, freed);
		zfs_count_add(src->counters, compactions, 1);
	}
	return freed;
}

size_t zfs_stats_file_xattr(const struct zfs_file_usage *u, char *buf, size_t size)
{
	char ratio[48], tmp[256];
	int n;

	fmt_ratio(ratio, sizeof(ratio), u->logical_bytes, u->stored_bytes);
	n = snprintf(tmp, sizeof(tmp),
		     "logical=%lu stored=%lu compressed=%lu same=%lu huge=%lu holes=%lu ratio=%s"
		     " shared=%lu",
		     u->logical_bytes, u->stored_bytes, u->pages_compressed, u->pages_same,
		     u->pages_huge, u->pages_hole, ratio, u->shared_bytes);
	if (n < 0)
		return 0;
	if (buf && size)
		memcpy(buf, tmp, (size_t)n < size ? (size_t)n : size);
	return (size_t)n;
}
