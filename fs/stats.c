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
 *   struct zfs_stats_source ----'                    pool | stats.json | compact
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
	"mm_stat", "io_stat", "classes", "fullness", "pool", "stats.json", "compact", NULL,
};

/* A zbud pool has no classes: its one table replaces classes and fullness. */
static const char *const zbud_stats_files[] = {
	"mm_stat", "io_stat", "zbud", "pool", "stats.json", "compact", NULL,
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

struct view {
	const struct zfs_stats_source *src;
	struct zfs_counters_snap c;
	struct zpool_stats st;		/* the one zpool_get_stats() of this render */
	bool zbud;

	/* zram's mm_stat, in bytes except the page counts */
	unsigned long orig_data_size;
	unsigned long compr_data_size;
	unsigned long mem_used_total;
	unsigned long mem_limit;
	unsigned long mem_used_max;
	unsigned long same_pages;
	unsigned long pages_compacted;
	unsigned long huge_pages;
	unsigned long huge_pages_since;

	unsigned long pool_bytes;	/* the allocator's pages only */
	unsigned long pool_objects;	/* objects the allocator holds */
	unsigned long mapped_now;
};

static void view_fill(struct view *v, const struct zfs_stats_source *src)
{
	unsigned long pool_max;

	memset(v, 0, offsetof(struct view, st));
	v->src = src;
	if (src->counters)
		zfs_counters_read(src->counters, &v->c);
	else
		memset(&v->c, 0, sizeof(v->c));
	memset(&v->st, 0, sizeof(v->st));
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
	/* zram's mm_stat_show(): nine right-aligned columns of width 8. */
	sb_printf(sb, "%8lu %8lu %8lu %8lu %8lu %8lu %8lu %8lu %8lu\n", v->orig_data_size,
		  v->compr_data_size, v->mem_used_total, v->mem_limit, v->mem_used_max,
		  v->same_pages, v->pages_compacted, v->huge_pages, v->huge_pages_since);
}

static void render_io_stat(struct sbuf *sb, const struct view *v)
{
	sb_printf(sb, "%8lu %8lu %8lu %8lu\n", v->c.failed_reads, v->c.failed_writes,
		  v->c.invalid_io, v->c.notify_free);
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

static void render_pool(struct sbuf *sb, const struct view *v)
{
	const struct zfs_stats_source *src = v->src;
	char ratio[48], cratio[48];
	long overhead = (long)v->mem_used_total - (long)v->compr_data_size;

	fmt_ratio(ratio, sizeof(ratio), v->orig_data_size, v->mem_used_total);
	fmt_ratio(cratio, sizeof(cratio), v->orig_data_size, v->compr_data_size);

	sb_printf(sb, "backend: %s\n", v->st.type ? v->st.type : src->backend);
	if (src->comp_level)
		sb_printf(sb, "compressor: %s (level %d)\n", src->compressor, src->comp_level);
	else
		sb_printf(sb, "compressor: %s\n", src->compressor);
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
	sb_printf(sb, "compression ratio: %s\n", cratio);
	sb_printf(sb, "ratio: %s\n", ratio);
	sb_printf(sb, "overhead: %ld\n", overhead);
	sb_printf(sb, "compactions: %lu\n", v->c.compactions);
	sb_printf(sb, "pages compacted: %lu\n", v->pages_compacted);
	sb_printf(sb, "objects stored: %lu\n", v->pool_objects);
	sb_printf(sb, "objects mapped now: %lu\n", v->mapped_now);
}

/* ---- stats.json */

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

static void render_json(struct sbuf *sb, const struct view *v)
{
	const struct zfs_stats_source *src = v->src;
	char ratio[48];
	unsigned int i, b;

	fmt_ratio(ratio, sizeof(ratio), v->orig_data_size, v->mem_used_total);
	sb_puts(sb, "{\"version\": 1, \"backend\": ");
	json_str(sb, v->st.type ? v->st.type : src->backend);
	sb_puts(sb, ", \"compressor\": ");
	json_str(sb, src->compressor);
	sb_printf(sb, ", \"comp_level\": %d, \"mem_limit\": %lu, \"size_limit\": %lu", src->comp_level,
		  src->mem_limit, src->size_limit);
	sb_printf(sb, ", \"files\": %lu, \"regular_files\": %lu", src->files, src->regular_files);

	sb_puts(sb, ",\n \"counters\": {");
#define ZFS_COUNTER_JSON(name, kind, desc) sb_printf(sb, "\"" #name "\": %lu, ", v->c.name);
	ZFS_COUNTERS(ZFS_COUNTER_JSON)
#undef ZFS_COUNTER_JSON
	sb->len -= 2;
	sb_puts(sb, "}");

	sb_printf(sb, ",\n \"mm_stat\": {\"orig_data_size\": %lu, \"compr_data_size\": %lu, "
		  "\"mem_used_total\": %lu, \"mem_limit\": %lu, \"mem_used_max\": %lu, "
		  "\"same_pages\": %lu, \"pages_compacted\": %lu, \"huge_pages\": %lu, "
		  "\"huge_pages_since\": %lu}",
		  v->orig_data_size, v->compr_data_size, v->mem_used_total, v->mem_limit,
		  v->mem_used_max, v->same_pages, v->pages_compacted, v->huge_pages,
		  v->huge_pages_since);
	sb_printf(sb, ",\n \"io_stat\": {\"failed_reads\": %lu, \"failed_writes\": %lu, "
		  "\"invalid_io\": %lu, \"notify_free\": %lu}",
		  v->c.failed_reads, v->c.failed_writes, v->c.invalid_io, v->c.notify_free);
	sb_printf(sb, ",\n \"pool\": {\"pool_bytes\": %lu, \"raw_bytes\": %lu, \"ratio\": %s, "
		  "\"overhead\": %ld, \"objects\": %lu, \"objects_mapped\": %lu}",
		  v->pool_bytes, src->raw_bytes, strcmp(ratio, "inf") ? ratio : "null",
		  (long)v->mem_used_total - (long)v->compr_data_size, v->pool_objects,
		  v->mapped_now);

	if (v->zbud) {
		const struct zbud_stats *z = &v->st.zbud;

		sb_printf(sb, ",\n \"zbud\": {\"pages\": %lu, \"buddied\": %lu, "
			  "\"unbuddied_total\": %lu, \"lru_len\": %lu, \"objects\": %lu, "
			  "\"bytes_requested\": %lu, \"chunks_used\": %lu, \"mapped_now\": %lu, "
			  "\"maps\": %lu, \"reclaimed_pages\": %lu, \"alloc_fails\": %lu, "
			  "\"unbuddied\": [",
			  z->pages, z->buddied, z->unbuddied_total, z->lru_len, z->objects,
			  z->bytes_requested, z->chunks_used, z->mapped_now, z->maps,
			  z->reclaimed_pages, z->alloc_fails);
		for (i = 0; i <= ZBUD_NCHUNKS; i++)
			sb_printf(sb, "%s%lu", i ? ", " : "", z->unbuddied[i]);
		sb_puts(sb, "]}");
	} else {
		const struct zs_pool_snapshot *s = &v->st.zs;
		const struct zs_pool_stats *p = &s->pool;
		struct zs_totals t;

		sb_printf(sb, ",\n \"zsmalloc\": {\"pages_used\": %lu, \"pages_max\": %lu, "
			  "\"pages_compacted\": %lu, \"compactions\": %lu, \"obj_allocated\": %lu, "
			  "\"obj_used\": %lu, \"bytes_requested\": %lu, \"zspages\": %lu, "
			  "\"mapped_now\": %lu, \"maps\": %lu, \"unmaps\": %lu, \"alloc_fails\": %lu",
			  p->pages_used, p->pages_max, p->pages_compacted, p->compactions,
			  p->obj_allocated, p->obj_used, p->bytes_requested, p->zspages,
			  p->mapped_now, p->maps, p->unmaps, p->alloc_fails);
		sb_puts(sb, ",\n  \"classes\": [");
		for (i = 0; i < s->nr_classes; i++) {
			const struct zs_class_stats *c = &s->class[i];

			sb_printf(sb, "%s\n   {\"class\": %u, \"size\": %u, \"pages_per_zspage\": %u, "
				  "\"objs_per_zspage\": %u, \"huge\": %s, \"inuse\": [",
				  i ? "," : "", c->index, c->size, c->pages_per_zspage,
				  c->objs_per_zspage, c->huge ? "true" : "false");
			for (b = 0; b < ZS_NR_INUSE_BUCKETS; b++)
				sb_printf(sb, "%s%lu", b ? ", " : "", c->inuse[b]);
			sb_printf(sb, "], \"almost_full\": %lu, \"almost_empty\": %lu, "
				  "\"full\": %lu, \"obj_allocated\": %lu, \"obj_used\": %lu, "
				  "\"pages_used\": %lu, \"freeable\": %lu}",
				  c->almost_full, c->almost_empty, c->full, c->obj_allocated,
				  c->obj_used, c->pages_used, c->freeable);
		}
		zs_sum(s, &t);
		sb_puts(sb, "],\n  \"total\": {\"inuse\": [");
		for (b = 0; b < ZS_NR_INUSE_BUCKETS; b++)
			sb_printf(sb, "%s%lu", b ? ", " : "", t.inuse[b]);
		sb_printf(sb, "], \"almost_full\": %lu, \"almost_empty\": %lu, "
			  "\"obj_allocated\": %lu, \"obj_used\": %lu, \"pages_used\": %lu, "
			  "\"freeable\": %lu}}",
			  t.almost_full, t.almost_empty, t.obj_allocated, t.obj_used, t.pages_used,
			  t.freeable);
	}
	sb_puts(sb, "\n}\n");
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
	v = malloc(sizeof(*v));
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
		     "logical=%lu stored=%lu compressed=%lu same=%lu huge=%lu holes=%lu ratio=%s",
		     u->logical_bytes, u->stored_bytes, u->pages_compressed, u->pages_same,
		     u->pages_huge, u->pages_hole, ratio);
	if (n < 0)
		return 0;
	if (buf && size)
		memcpy(buf, tmp, (size_t)n < size ? (size_t)n : size);
	return (size_t)n;
}
