// SPDX-License-Identifier: MIT
/*
 * recompress.c - idle marking and recompression with a second algorithm.
 *
 * Design
 * ------
 * zram's model, on page-table entries (pagestore.c): a stored page or piece
 * carries an IDLE flag and an atime (seconds since the mount). Writing a page
 * publishes a fresh entry (not idle, atime now); reading one clears the flag
 * and sets the atime (zfs_page_get(), relaxed atomics under the read lock).
 *
 *   echo all > idle          every stored page (or piece) flagged IDLE
 *   echo 3600 > idle         those not read or written for an hour
 *   echo type=idle > recompress     IDLE ones recompressed with recomp=
 *   (type=huge: pages stored raw; type=huge_idle: both; threshold=BYTES:
 *    only pages stored in at least that many bytes)
 *   -o recomp_after=SECONDS  a background thread does the last one by age
 *
 * Recompressing an entry: under the file's read lock, decode it (a single
 * page, or all pages of a piece) and note the table's generation; drop the
 * lock; compress with the second algorithm (the slow part: zstd); if the
 * result is smaller, allocate it (a COMP entry or a new piece, prio 1), take
 * the write lock and republish only if the generation has not moved (nothing
 * in the file changed, so the old entry is still there and still holds the
 * same data: no ABA on recycled handles), then release the old one. If it
 * moved, the new copy is freed and the page waits for the next pass. A
 * result that is not smaller flags the entry INCOMP (zram's
 * ZRAM_INCOMPRESSIBLE) so that no pass tries it again until it is
 * rewritten. A piece shown by several files (copy_file_range, dedup) is
 * recompressed once per pass: the pass records old -> new (moves.c) and the
 * other files' entries take the same new piece, so copies go on sharing.
 * Reads of prio-1 entries use the second algorithm (pagestore.c,
 * cluster.c), so the change is transparent; the IDLE flag and atime move
 * with the data.
 *
 * Merging: zstd gains on longer input (text: 5.16x at 64 KiB, 5.45x at
 * 256 KiB at level 3), so recompression does not keep the packer's 64 KiB
 * pieces as they are. When the aligned fs->piece_span pages (256 KiB)
 * around a selected entry hold nothing but SAME pages and selected pages or
 * pieces that only these entries hold, they are decoded together and
 * compressed as one piece (zfs_cluster_encode() with the second algorithm:
 * prio 1), published under the generation check as above
 * (zfs_cluster_publish()), and kept only if smaller than what the unit held;
 * if not, its entries are flagged INCOMP. Otherwise entry by entry, as
 * above. fs->piece_span is 64 KiB, so nothing merges, with dedup (its index
 * matches what one write stores), backing= (writeback moves a piece only
 * from one cluster) and cluster=4k (zram's accounting); a piece shared
 * with other files is never merged. A 4 KiB read of a merged piece expands
 * 256 KiB (about 240 us with zstd here): the price of the ratio on idle
 * data; a sequential read expands each piece once per thread.
 *
 *   unit (64 pages): [p1: 16 pages][p2: 16][SAME][p3: 15][single][p4 ...]
 *   after:           [     one prio-1 piece of 63 pages, SAME kept      ]
 *
 * Files are found by inode number (zfs_iget from 1 to next_ino), each held
 * by a reference while it is worked on; nothing else is locked meanwhile.
 * The background thread (idlejob.c) runs at SCHED_IDLE, wakes every recomp_after / 4
 * seconds (1..60) and is stopped (and joined) at unmount before the inodes
 * go.
 *
 * Failure: ENOMEM or mem_limit while allocating the new copy leaves the old
 * entry in place (nothing is lost; the pass goes on with the next page). A
 * page that fails to decode is skipped and counted in failed_reads.
 *
 * Lock order: one inode lock at a time, never while compressing.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "idlejob.h"
#include "moves.h"
#include "pack.h"
#include "pagestore.h"
#include "recompress.h"
#include "zpool.h"

#define PAGE ZFS_PAGE_SIZE

/*
 * zstd's level as the second algorithm, unless recomp_level= says: 9, not
 * zstd's default 3. It works in the background on idle data, so it can pay
 * for the ratio: 256 MiB of text in 256 KiB pieces, 9 against 3, 6.02 against
 * 5.43 (2.15x zram's saving against 1.94x), made at 45 MiB/s against 230,
 * read back at the same speed (docs/BENCHMARKS.md).
 */
#define RECOMP_ZSTD_LEVEL 9

int zfs_recomp_init(struct zfs_fs *fs)
{
	const struct zfs_options *o = &fs->opt;

	memset(&fs->recomp, 0, sizeof(fs->recomp));
	fs->recomp.type = ZFS_COMP_NONE;
	if (!o->recomp)
		return 0;
	if (!o->recomp_level_set && !strcmp(o->recomp, "zstd"))
		return zfs_compressor_init(&fs->recomp, o->recomp, RECOMP_ZSTD_LEVEL, true);
	return zfs_compressor_init(&fs->recomp, o->recomp, o->recomp_level, o->recomp_level_set);
}

static bool stopping(struct zfs_fs *fs)
{
	return zfs_idlejob_stopping(fs->recomp_bg);
}

/* ---- idle */

struct idle_walk {
	uint32_t now, min_age;
	unsigned long marked;
};

static void idle_file(struct zfs_fs *fs, struct zfs_inode *in, void *arg)
{
	struct idle_walk *w = arg;
	uint64_t idx = 0, found;
	struct zfs_pte e;

	zfs_wrlock(in);
	while (zfs_ptab_next(&in->file.pt, idx, &found, &e)) {
		idx = found + 1;
		if (zfs_pte_kind(&e) == ZFS_PTE_PIECE) {
			struct zfs_piece *p = (struct zfs_piece *)e.val;
			unsigned int live;

			if (w->min_age && w->now - atomic_load(&p->atime) < w->min_age)
				continue;
			if (atomic_fetch_or(&p->flags, ZFS_PTE_IDLE) & ZFS_PTE_IDLE)
				continue;
			live = atomic_load(&p->live);
			zfs_count_add(&fs->counters, idle_pages, live);
			w->marked += live;
		} else if (zfs_pte_kind(&e) == ZFS_PTE_COMP || zfs_pte_kind(&e) == ZFS_PTE_HUGE) {
			struct zfs_pte *slot = zfs_ptab_slot(&in->file.pt, found);

			if (w->min_age && w->now - e.atime < w->min_age)
				continue;
			if (__atomic_fetch_or(&slot->info, ZFS_PTE_IDLE, __ATOMIC_RELAXED) &
			    ZFS_PTE_IDLE)
				continue;
			zfs_count_add(&fs->counters, idle_pages, 1);
			w->marked++;
		}
	}
	zfs_unlock(in);
}

unsigned long zfs_idle_mark(struct zfs_fs *fs, uint32_t min_age)
{
	struct idle_walk w = { .now = zfs_fs_seconds(fs), .min_age = min_age };

	zfs_idlejob_each_file(fs, fs->recomp_bg, idle_file, &w);
	return w.marked;
}

int zfs_idle_parse(const char *text, uint32_t *min_age)
{
	unsigned long v;
	char *end;

	if (!strcmp(text, "all")) {
		*min_age = 0;
		return 0;
	}
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v == 0 || v > UINT32_MAX)
		return -EINVAL;
	*min_age = (uint32_t)v;
	return 0;
}

/* ---- recompress */

int zfs_recomp_parse(const struct zfs_fs *fs, const char *text, struct zfs_recomp_req *rq)
{
	char buf[256], *save = NULL, *tok;

	memset(rq, 0, sizeof(*rq));
	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *end;

		if (!strcmp(tok, "type=idle")) {
			rq->idle = true;
		} else if (!strcmp(tok, "type=huge")) {
			rq->huge = true;
		} else if (!strcmp(tok, "type=huge_idle")) {
			rq->idle = rq->huge = true;
		} else if (!strncmp(tok, "threshold=", 10)) {
			unsigned long v;

			errno = 0;
			v = strtoul(tok + 10, &end, 10);
			if (errno || end == tok + 10 || *end || v == 0 || v > PAGE)
				return -EINVAL;
			rq->threshold = v;
		} else if (!strncmp(tok, "algo=", 5)) {
			if (!fs->recomp.name || strcmp(tok + 5, fs->recomp.name))
				return -EINVAL;
		} else if (strcmp(tok, "priority=1")) {
			return -EINVAL;
		}
	}
	return 0;
}

struct recomp_walk {
	const struct zfs_recomp_req *rq;
	uint32_t now;
	char *page;		/* PAGE: one decoded page */
	char *pages;		/* ZFS_BIG_SCRATCH: a decoded piece */
	char *cbuf;		/* ZFS_BIG_SCRATCH: the second algorithm's output */
	struct zfs_piece_moves moves;	/* shared pieces replaced so far (moves.c) */
	long done;
};

/* Does @rq select @e? (flags, size per page, atime) */
static bool selected(const struct zfs_recomp_req *rq, const struct zfs_pte *e, uint32_t now)
{
	unsigned int flags;
	size_t size;
	uint32_t atime;
	bool huge;

	switch (zfs_pte_kind(e)) {
	case ZFS_PTE_COMP:
	case ZFS_PTE_HUGE:
		flags = zfs_pte_flags(e);
		size = zfs_pte_len(e);
		atime = e->atime;
		huge = zfs_pte_kind(e) == ZFS_PTE_HUGE;
		break;
	case ZFS_PTE_PIECE: {
		const struct zfs_piece *p = (const struct zfs_piece *)e->val;

		flags = atomic_load_explicit(&p->flags, memory_order_relaxed);
		size = p->clen / p->npages;
		atime = atomic_load_explicit(&p->atime, memory_order_relaxed);
		huge = size == PAGE;	/* raw pages kept as a piece (dedup, share.c) */
		break;
	}
	default:
		return false;
	}
	/* Written back (writeback.c): it is not in memory; leave it there. */
	if (flags & (ZFS_PTE_PRIO_MASK | ZFS_PTE_INCOMP | ZFS_PIECE_BACKED))
		return false;
	if (rq->idle && !(flags & ZFS_PTE_IDLE))
		return false;
	if (rq->huge && !huge)
		return false;
	if (rq->threshold && size < rq->threshold)
		return false;
	/* (written since the pass began: younger than any age) */
	return !rq->min_age || (atime <= now && now - atime >= rq->min_age);
}

/* A single page at @idx, decoded in w->page at generation @gen. */
static void recomp_page(struct zfs_fs *fs, struct zfs_inode *in, struct recomp_walk *w,
			uint64_t idx, struct zfs_pte e, uint32_t gen)
{
	size_t old = zfs_pte_kind(&e) == ZFS_PTE_HUGE ? fs->huge_threshold : zfs_pte_len(&e);
	struct zfs_pte ne, prev;
	unsigned long h;
	int len;

	len = zfs_compress_buf(&fs->recomp, w->page, PAGE, w->cbuf, old - 1);
	if (len <= 0) {
		zfs_wrlock(in);
		if (in->file.pt.gen == gen) {
			struct zfs_pte *slot = zfs_ptab_slot(&in->file.pt, idx);

			__atomic_fetch_or(&slot->info, ZFS_PTE_INCOMP, __ATOMIC_RELAXED);
			zfs_count_add(&fs->counters, recomp_no_gain, 1);
		}
		zfs_unlock(in);
		return;
	}
	if (zfs_pool_alloc(fs, (size_t)len, &h))
		return;		/* no room: the old copy stays */
	memcpy(zpool_map_handle(fs->pool, h, ZPOOL_MM_WO), w->cbuf, (size_t)len);
	zpool_unmap_handle(fs->pool, h);
	ne = zfs_pte_make_flags(ZFS_PTE_COMP, h, (unsigned int)len,
				(zfs_pte_flags(&e) & ZFS_PTE_IDLE) | 1U << ZFS_PTE_PRIO_SHIFT);
	ne.atime = e.atime;
	zfs_wrlock(in);
	if (in->file.pt.gen != gen || zfs_page_publish(fs, in, idx, ne, &prev)) {
		zfs_unlock(in);
		zfs_page_release(fs, &ne);
		return;
	}
	zfs_unlock(in);
	zfs_page_release(fs, &prev);
	zfs_count_add(&fs->counters, recompressions, 1);
	zfs_note_pool_size(fs);
	w->done++;
}

/* The piece of page @idx, decoded in w->pages at generation @gen. */
static void recomp_piece(struct zfs_fs *fs, struct zfs_inode *in, struct recomp_walk *w,
			 uint64_t idx, struct zfs_piece *p, uint32_t gen)
{
	uint64_t first = idx & ~(uint64_t)(fs->piece_span - 1);
	struct zfs_piece *np;
	unsigned int moved, flags;
	int len;

	len = zfs_compress_buf(&fs->recomp, w->pages, (size_t)p->npages * PAGE, w->cbuf,
			       p->clen - 1);
	if (len <= 0) {
		zfs_wrlock(in);
		if (in->file.pt.gen == gen) {
			atomic_fetch_or(&p->flags, ZFS_PTE_INCOMP);
			zfs_count_add(&fs->counters, recomp_no_gain, p->npages);
		}
		zfs_unlock(in);
		return;
	}
	/* @p is alive while the generation holds; its fields never change. */
	flags = (atomic_load(&p->flags) & ZFS_PTE_IDLE) | 1U << ZFS_PTE_PRIO_SHIFT;
	if (zfs_piece_store(fs, w->cbuf, (size_t)len, p->npages, flags, &np))
		return;
	zfs_piece_get(np);	/* ours, until the entries hold it */
	zfs_wrlock(in);
	if (in->file.pt.gen != gen) {
		zfs_unlock(in);
		zfs_piece_put(fs, np);
		return;
	}
	atomic_store(&np->atime, atomic_load(&p->atime));
	zfs_piece_get(p);	/* alive until recorded, whoever else drops it */
	moved = zfs_piece_replace(fs, in, first, fs->piece_span, p, np);
	/* Other files still show it: they take the same copy (moves.c). */
	if (moved && atomic_load(&p->live))
		zfs_piece_moves_add(&w->moves, p, np);
	zfs_unlock(in);
	zfs_piece_put(fs, p);
	zfs_piece_put(fs, np);
	zfs_count_add(&fs->counters, recompressions, moved);
	zfs_note_pool_size(fs);
	w->done += moved;
}

/* A piece of page @idx that another file's entries already moved to @np. */
static void recomp_moved(struct zfs_fs *fs, struct zfs_inode *in, struct recomp_walk *w,
			 uint64_t idx, struct zfs_piece *p, struct zfs_piece *np, uint32_t gen)
{
	uint64_t first = idx & ~(uint64_t)(fs->piece_span - 1);
	unsigned int moved;

	zfs_wrlock(in);
	if (in->file.pt.gen != gen) {	/* @p may be gone: the next pass sees */
		zfs_unlock(in);
		return;
	}
	moved = zfs_piece_replace(fs, in, first, fs->piece_span, p, np);
	zfs_unlock(in);
	zfs_count_add(&fs->counters, recompressions, moved);
	w->done += moved;
}

/* ---- a file's pieces merged: up to ZFS_PIECE_MAX_PAGES in one */

/*
 * What merge_unit() found: the aligned pages at @c0, @n of them (fewer at
 * EOF), their stored bytes now, their newest access, all idle or not.
 */
struct merge_unit {
	uint64_t c0;
	unsigned int n;
	uint64_t bytes;
	uint32_t atime;
	bool idle;
};

/*
 * May the aligned fs->piece_span pages around the selected page @idx of
 * @in be recompressed as one piece? Every page below EOF must be SAME, or
 * selected by the request: a single page, or a page of a piece that nothing
 * holds but its entries in these pages (not shared, not gathered across
 * files, not one whose other files took a replacement this pass: moves.c);
 * at least two things stored. Only for requests that select by
 * age or idleness (type=huge and threshold= keep zram's per-entry sense).
 * Context: the inode's lock.
 */
static bool merge_unit(struct zfs_fs *fs, struct zfs_inode *in, const struct recomp_walk *w,
		       uint64_t idx, struct merge_unit *u)
{
	uint64_t end = (in->size + PAGE - 1) >> ZFS_PAGE_SHIFT;
	struct zfs_pte e[ZFS_PIECE_MAX_PAGES];
	unsigned int stored = 0, i;

	if (fs->piece_span <= ZFS_CLUSTER_MAX_PAGES || w->rq->huge || w->rq->threshold)
		return false;
	u->c0 = idx & ~(uint64_t)(fs->piece_span - 1);
	if (u->c0 >= end)
		return false;
	u->n = end - u->c0 < fs->piece_span ? (unsigned int)(end - u->c0) : fs->piece_span;
	u->bytes = 0;
	u->atime = 0;
	u->idle = true;
	for (i = 0; i < u->n; i++)
		e[i] = zfs_ptab_lookup(&in->file.pt, u->c0 + i);
	for (i = 0; i < u->n; i++) {
		const struct zfs_piece *p = (const struct zfs_piece *)e[i].val;
		unsigned int here, flags;
		uint32_t atime;

		if (zfs_pte_kind(&e[i]) == ZFS_PTE_SAME)
			continue;
		if (!selected(w->rq, &e[i], w->now))
			return false;
		if (zfs_pte_kind(&e[i]) != ZFS_PTE_PIECE) {
			u->bytes += zfs_pte_kind(&e[i]) == ZFS_PTE_HUGE ? PAGE : zfs_pte_len(&e[i]);
			flags = zfs_pte_flags(&e[i]);
		} else {
			if (zfs_piece_entries(e, i, &e[i]))
				continue;	/* counted at its first entry */
			here = zfs_piece_entries(e, u->n, &e[i]);
			if (here != atomic_load_explicit(&p->live, memory_order_relaxed) ||
			    here != atomic_load_explicit(&p->refs, memory_order_relaxed))
				return false;
			/* The other files of a copy took a replacement this pass: take it too. */
			if (zfs_piece_moves_find(&w->moves, p))
				return false;
			u->bytes += p->clen;
			flags = atomic_load_explicit(&p->flags, memory_order_relaxed);
		}
		atime = zfs_entry_atime(&e[i]);
		u->idle &= !!(flags & ZFS_PTE_IDLE);
		if (atime > u->atime)
			u->atime = atime;
		stored++;
	}
	return stored >= 2;
}

/*
 * The unit @u of @in, decoded in w->pages at generation @gen, as one piece
 * of the second algorithm, published if it is smaller than what the unit
 * holds now; else its entries are flagged INCOMP.
 */
static void recomp_merge(struct zfs_fs *fs, struct zfs_inode *in, struct recomp_walk *w,
			 const struct merge_unit *u, uint32_t gen)
{
	struct zfs_pte out[ZFS_PIECE_MAX_PAGES];
	struct zfs_piece *np = NULL;
	unsigned int i, moved;

	if (zfs_cluster_encode(fs, &fs->recomp, w->pages, u->n, out))
		return;		/* no memory or mem_limit: the old entries stay */
	for (i = 0; i < u->n; i++)
		if (zfs_pte_kind(&out[i]) == ZFS_PTE_PIECE)
			np = (struct zfs_piece *)out[i].val;
	if (!np || np->clen >= u->bytes) {
		for (i = 0; i < u->n; i++)
			zfs_page_release(fs, &out[i]);
		zfs_wrlock(in);
		if (in->file.pt.gen == gen) {
			for (i = 0; i < u->n; i++) {
				struct zfs_pte *slot = zfs_ptab_slot(&in->file.pt, u->c0 + i);

				if (!slot || zfs_pte_kind(slot) == ZFS_PTE_SAME)
					continue;
				if (zfs_pte_kind(slot) == ZFS_PTE_PIECE)
					atomic_fetch_or(&((struct zfs_piece *)slot->val)->flags,
							ZFS_PTE_INCOMP);
				else
					__atomic_fetch_or(&slot->info, ZFS_PTE_INCOMP,
							  __ATOMIC_RELAXED);
				zfs_count_add(&fs->counters, recomp_no_gain, 1);
			}
		}
		zfs_unlock(in);
		return;
	}
	atomic_store(&np->atime, u->atime);
	if (u->idle)
		atomic_fetch_or(&np->flags, ZFS_PTE_IDLE);
	moved = zfs_cluster_publish(fs, in, u->c0, out, u->n, gen);
	zfs_count_add(&fs->counters, recompressions, moved);
	zfs_note_pool_size(fs);
	w->done += moved;
}

/* Decode the unit @u of @in into w->pages. Context: the inode's lock. */
static int merge_decode(struct zfs_fs *fs, struct zfs_inode *in, struct recomp_walk *w,
			const struct merge_unit *u)
{
	for (unsigned int i = 0; i < u->n; i++) {
		struct zfs_pte e = zfs_ptab_lookup(&in->file.pt, u->c0 + i);
		int err = zfs_page_decode(fs, &e, w->pages + (size_t)i * PAGE);

		if (err)
			return err;
	}
	return 0;
}

static void recomp_file(struct zfs_fs *fs, struct zfs_inode *in, void *arg)
{
	struct recomp_walk *w = arg;
	uint64_t idx = 0, found, no_merge = UINT64_MAX;	/* a unit merge_unit() refused */
	struct zfs_pte e;

	while (!stopping(fs)) {
		struct merge_unit u;
		bool any = false;
		uint32_t gen;
		int err;

		zfs_rdlock(in);
		while (zfs_ptab_next(&in->file.pt, idx, &found, &e)) {
			idx = found + 1;
			if (selected(w->rq, &e, w->now)) {
				any = true;
				break;
			}
		}
		if (!any) {
			zfs_unlock(in);
			return;
		}
		gen = in->file.pt.gen;
		if ((found & ~(uint64_t)(fs->piece_span - 1)) != no_merge &&
		    merge_unit(fs, in, w, found, &u)) {
			err = merge_decode(fs, in, w, &u);
			zfs_unlock(in);
			if (!err)
				recomp_merge(fs, in, w, &u, gen);
			idx = u.c0 + u.n;
			continue;
		}
		no_merge = found & ~(uint64_t)(fs->piece_span - 1);
		if (zfs_pte_kind(&e) == ZFS_PTE_PIECE) {
			struct zfs_piece *p = (struct zfs_piece *)e.val;
			struct zfs_piece *np = zfs_piece_moves_find(&w->moves, p);

			if (np) {
				zfs_unlock(in);
				recomp_moved(fs, in, w, found, p, np, gen);
				continue;
			}
			err = zfs_piece_decode_all(fs, p, w->pages);
			zfs_unlock(in);
			/* The rest of this cluster is this piece or single pages. */
			if (!err)
				recomp_piece(fs, in, w, found, p, gen);
		} else {
			err = zfs_page_decode(fs, &e, w->page);
			zfs_unlock(in);
			if (!err)
				recomp_page(fs, in, w, found, e, gen);
		}
	}
}

long zfs_recompress(struct zfs_fs *fs, const struct zfs_recomp_req *rq)
{
	struct recomp_walk w = { .rq = rq, .now = zfs_fs_seconds(fs) };
	char *mem;

	if (fs->recomp.type == ZFS_COMP_NONE)
		return -EINVAL;
	mem = malloc(PAGE + 2 * ZFS_BIG_SCRATCH);
	if (!mem)
		return -ENOMEM;
	w.page = mem;
	w.pages = mem + PAGE;
	w.cbuf = mem + PAGE + ZFS_BIG_SCRATCH;
	zfs_idlejob_each_file(fs, fs->recomp_bg, recomp_file, &w);
	zfs_piece_moves_end(fs, &w.moves);
	free(mem);
	return w.done;
}

/* ---- recomp_after= */

static void recomp_tick(struct zfs_fs *fs)
{
	/* After the packer: pieces it makes recompress better than the pages it takes. */
	struct zfs_recomp_req rq = { .min_age = zfs_pack_min_age(fs, fs->opt.recomp_after) };

	if (rq.min_age != UINT32_MAX)
		zfs_recompress(fs, &rq);
}

int zfs_recomp_start(struct zfs_fs *fs)
{
	unsigned int period = fs->opt.recomp_after / 4;

	if (!fs->opt.recomp || !fs->opt.recomp_after)
		return 0;
	if (zfs_idlejob_start(&fs->recomp_bg, fs, period < 1 ? 1 : period > 60 ? 60 : period,
			      recomp_tick))
		fprintf(stderr, "zpoolfs: no background recompression (out of memory or threads)\n");
	return 0;
}

void zfs_recomp_stop(struct zfs_fs *fs)
{
	zfs_idlejob_stop(&fs->recomp_bg);
}
