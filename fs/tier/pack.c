// SPDX-License-Identifier: MIT
/*
 * pack.c - pages stored one by one, packed into clusters later
 * (-o pack_after=SECONDS).
 *
 * Design
 * ------
 * A write request that covers a whole aligned cluster has it compressed as
 * one piece at once (data.c, cluster.c). Smaller writes store their pages
 * singly, and nothing ever joined them: tar writes 10 KiB records, so with
 * cluster=16k not one cluster of an untarred tree formed (the kernel tree:
 * 512.6 MB of pool after tar -x, 467.7 MB after cp -r of the same files,
 * which writes whole files). Packing does later what those writes could not,
 * in the pagestore.c life cycle's "change" step:
 *
 *   cluster c, every page written singly and not for pack_after seconds:
 *     [COMP][COMP][SAME][HUGE]
 *   read lock:  decode the four pages, note the table's generation g
 *   no lock:    zfs_cluster_encode()  ->  [PIECE/0][PIECE/1][SAME][PIECE/2]
 *   write lock: generation still g? publish the four; else drop the copy
 *   no lock:    release the old entries
 *
 * Which clusters: aligned, their pages below EOF (the cluster of EOF makes
 * a piece of fewer pages, as a copy_file_range'd page does), every page a single COMP, HUGE
 * or SAME entry compressed by comp= (prio 0) and not flagged NOPACK, at
 * least two of them in the pool (one stored page has nothing to share a
 * block with); holes, pieces, written-back (BACKED), recompressed (prio 1)
 * and shared data (always pieces) are left alone, and so is everything
 * with -o dedup, which stores single pages as one-page pieces. A cluster that would not
 * save an eighth as a piece (zfs_cluster_encode() gives single pages back)
 * has its pages flagged NOPACK, so no pass tries it again until a page is
 * rewritten (a rewrite publishes a fresh entry without the flag).
 *
 * Default pack_after=30: a tree is packed within a minute of its untar, a
 * file rewritten at random is not repacked while it is being rewritten, and
 * data that goes soon (build outputs, temporary files) is never packed.
 * The thread (idlejob.c) runs at SCHED_IDLE (only spare CPU time), wakes every
 * pack_after / 2 seconds (1..60), walks the files by inode number, each held
 * by a reference, and packs what has not been written for pack_after
 * seconds. Accounting is the publish path's: pages_stored does not move,
 * compr_data_size and the classes change as the pool does, clusters and
 * cluster_pages grow; pages_packed counts the pages moved into pieces.
 *
 * Failure: an allocation that fails (ENOMEM, or mem_limit: ENOSPC, after
 * asking writeback for room as any allocator that holds no file does,
 * pagestore.c's zfs_pool_alloc()) or a page that fails to decode leaves the
 * old entries as they are: nothing is lost, the cluster is tried again in a
 * later pass. A publish that fails part-way leaves each page valid, either
 * the old entry or its slot of the new piece.
 *
 * Lock order: one inode lock at a time, never while compressing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "idlejob.h"
#include "pack.h"
#include "pagestore.h"
#include "zpool.h"

#define PAGE ZFS_PAGE_SIZE


struct pack_walk {
	uint32_t now, min_age;
	char *pages;		/* cluster_pages decoded pages */
	long packed;
};

static bool stopping(const struct zfs_fs *fs)
{
	return zfs_idlejob_stopping(fs->pack_bg);
}

/* May this entry join a piece? Counts the pool-stored ones in *@stored. */
static bool packable(const struct zfs_pte *e, uint32_t now, uint32_t min_age, unsigned int *stored)
{
	enum zfs_pte_kind k = zfs_pte_kind(e);

	if (k != ZFS_PTE_COMP && k != ZFS_PTE_HUGE && k != ZFS_PTE_SAME)
		return false;
	if (e->info & (ZFS_PTE_PRIO_MASK | ZFS_PTE_NOPACK))
		return false;
	/* (written since the pass began: younger than any age) */
	if (e->atime > now || now - e->atime < min_age)
		return false;
	if (k != ZFS_PTE_SAME)
		(*stored)++;
	return true;
}

/*
 * The first cluster at or after page @from that can be packed: its first
 * page in *@c0, its pages in *@n (fewer than cluster_pages for the cluster
 * of EOF). Context: the inode's lock.
 */
static bool next_cluster(struct zfs_fs *fs, struct zfs_inode *in, struct pack_walk *w,
			 uint64_t from, uint64_t *c0, unsigned int *n)
{
	const unsigned int cp = fs->cluster_pages;
	uint64_t end = (in->size + PAGE - 1) >> ZFS_PAGE_SHIFT;	/* pages below EOF */
	uint64_t found;
	struct zfs_pte e;

	while (zfs_ptab_next(&in->file.pt, from, &found, &e)) {
		uint64_t first = found & ~(uint64_t)(cp - 1);
		unsigned int i, len, stored = 0;

		if (first >= end)
			return false;
		len = end - first < cp ? (unsigned int)(end - first) : cp;
		for (i = 0; i < len; i++) {
			struct zfs_pte p = zfs_ptab_lookup(&in->file.pt, first + i);

			if (!packable(&p, w->now, w->min_age, &stored))
				break;
		}
		if (i == len && stored >= 2) {
			*c0 = first;
			*n = len;
			return true;
		}
		from = first + cp;
	}
	return false;
}

/* Flag the @n pages at @c0 NOPACK if nothing moved since @gen. */
static void no_gain(struct zfs_inode *in, uint64_t c0, unsigned int n, uint32_t gen)
{
	zfs_wrlock(in);
	if (in->file.pt.gen == gen) {
		for (unsigned int i = 0; i < n; i++) {
			struct zfs_pte *slot = zfs_ptab_slot(&in->file.pt, c0 + i);

			if (slot)
				__atomic_fetch_or(&slot->info, ZFS_PTE_NOPACK, __ATOMIC_RELAXED);
		}
	}
	zfs_unlock(in);
}

/* Pack the @cp pages at @c0, decoded in w->pages at generation @gen, newest write @atime. */
static void pack_cluster(struct zfs_fs *fs, struct zfs_inode *in, struct pack_walk *w,
			 uint64_t c0, unsigned int cp, uint32_t gen, uint32_t atime)
{
	struct zfs_pte out[ZFS_CLUSTER_MAX_PAGES], old[ZFS_CLUSTER_MAX_PAGES];
	struct zfs_piece *piece = NULL;
	unsigned int i, done = 0, moved = 0;

	if (zfs_cluster_encode(fs, w->pages, cp, out))
		return;		/* no memory (or mem_limit): the old entries stay */
	for (i = 0; i < cp; i++) {
		if (zfs_pte_kind(&out[i]) == ZFS_PTE_PIECE)
			piece = (struct zfs_piece *)out[i].val;
		else if (zfs_pte_kind(&out[i]) != ZFS_PTE_SAME)
			out[i].atime = atime;
	}
	if (!piece) {
		for (i = 0; i < cp; i++)
			zfs_page_release(fs, &out[i]);
		no_gain(in, c0, cp, gen);
		return;
	}
	atomic_store(&piece->atime, atime);
	zfs_wrlock(in);
	if (in->file.pt.gen == gen) {
		for (; done < cp; done++) {
			if (zfs_page_publish(fs, in, c0 + done, out[done], &old[done]))
				break;
			if (zfs_pte_kind(&out[done]) == ZFS_PTE_PIECE)
				moved++;
		}
	}
	zfs_unlock(in);
	for (i = 0; i < done; i++)
		zfs_page_release(fs, &old[i]);
	for (i = done; i < cp; i++)
		zfs_page_release(fs, &out[i]);
	if (moved) {
		zfs_count_add(&fs->counters, pages_packed, moved);
		zfs_note_pool_size(fs);
		w->packed += moved;
	}
}

static void pack_file(struct zfs_fs *fs, struct zfs_inode *in, void *arg)
{
	struct pack_walk *w = arg;
	uint64_t from = 0, c0;
	unsigned int cp;

	while (!stopping(fs)) {
		uint32_t gen, atime = 0;
		int err = 0;

		zfs_rdlock(in);
		if (!next_cluster(fs, in, w, from, &c0, &cp)) {
			zfs_unlock(in);
			return;
		}
		gen = in->file.pt.gen;
		for (unsigned int i = 0; i < cp && !err; i++) {
			struct zfs_pte e = zfs_ptab_lookup(&in->file.pt, c0 + i);

			if (e.atime > atime)
				atime = e.atime;
			err = zfs_page_decode(fs, &e, w->pages + (size_t)i * PAGE);
		}
		zfs_unlock(in);
		if (!err)
			pack_cluster(fs, in, w, c0, cp, gen, atime);
		from = c0 + fs->cluster_pages;
	}
}

long zfs_pack(struct zfs_fs *fs, uint32_t min_age)
{
	struct pack_walk w = { .now = zfs_fs_seconds(fs), .min_age = min_age };

	if (fs->cluster_pages < 2)
		return 0;
	w.pages = malloc((size_t)fs->cluster_pages * PAGE);
	if (!w.pages)
		return -ENOMEM;
	zfs_idlejob_each_file(fs, fs->pack_bg, pack_file, &w);
	free(w.pages);
	return w.packed;
}

static void pack_tick(struct zfs_fs *fs)
{
	zfs_pack(fs, fs->opt.pack_after);
}

int zfs_pack_start(struct zfs_fs *fs)
{
	unsigned int period = fs->opt.pack_after / 2;

	if (!fs->opt.pack_after || fs->cluster_pages < 2)
		return 0;
	return zfs_idlejob_start(&fs->pack_bg, fs, period < 1 ? 1 : period > 60 ? 60 : period,
				 pack_tick);
}

void zfs_pack_stop(struct zfs_fs *fs)
{
	zfs_idlejob_stop(&fs->pack_bg);
}
