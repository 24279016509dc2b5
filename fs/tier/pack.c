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
 *   unit u, not written for pack_after seconds (4 pages drawn of 16):
 *     [COMP][COMP][SAME][HUGE]
 *   read lock:  decode the unit's pages, note the table's generation g
 *   no lock:    zfs_cluster_encode()  ->  [PIECE/0][PIECE/1][SAME][PIECE/2]
 *   write lock: generation still g? publish them; else drop the copy
 *   no lock:    release the old entries
 *
 * Which units: aligned 64 KiB of a file (GATHER_PAGES; one cluster with a
 * backing file, since writeback moves a piece only from one cluster), its
 * pages below EOF (the unit of EOF makes a piece of fewer pages, as a
 * copy_file_range'd page does), not written for pack_after seconds, every
 * page either a single COMP, HUGE or SAME entry compressed by comp= (prio
 * 0) and not flagged NOPACK, or a page of a prio-0 piece in the pool that
 * only this unit's entries hold (a whole-cluster write's, not shared, not
 * gathered, not PACKED while more than half live), at least two of them in
 * the pool (one stored page has nothing to share a block with); holes,
 * written-back (BACKED), recompressed (prio 1) and shared data are left
 * alone. So a file written in whole 16 KiB clusters (cp, dd) is re-encoded
 * four clusters to a piece once it is idle. Nothing is packed with -o
 * dedup: its index finds stored data by the hash of what one write stores
 * (a cluster, or a page as a one-page piece), so a repacked or gathered
 * piece would no longer match a later write of the same data.
 *
 * The packer compresses with LZ4HC when comp=lz4 (compress.c): the same
 * block format, read by the same decoder at the same speed, about 20 %
 * smaller than lz4's fast mode at 64 KiB, and 5-8 times slower to make,
 * which a background thread at idle priority can afford and a request
 * cannot (docs/BENCHMARKS.md: text 1.14x zram's saving written, 1.455x
 * packed). The new piece is kept only if it is smaller than what the
 * unit's entries hold now; it is flagged PACKED, and so are the old pieces
 * of a unit that would not shrink (their single pages NOPACK), so no pass
 * tries them again until they fall to half live or a page is rewritten
 * (a rewrite publishes a fresh entry without the flag). A piece spans up to
 * 64 KiB whatever cluster= is, so zfs_cluster_tidy() looks at the aligned
 * 64 KiB around a write (cluster.c).
 *
 * Small files are gathered across files. A tree of sources is mostly
 * files of a few pages (the kernel tree: half of its 78 579 files are one
 * page, the mean is 4.6), and a file's own clusters leave little to pack:
 * one page has nothing to share a block with. So a file of at most
 * GATHER_PAGES (16) pages whose pages may all move joins a group: its
 * pages are decoded into the walk's group buffer beside those of the files
 * before it (inode order: the order tar or cp created them, so neighbours
 * in a directory), and when the next file would not fit, the group is
 * compressed as one piece and each member's entries republished, file by
 * file, under that file's write lock if its generation has not moved:
 *
 *   file 7: [COMP][COMP]      file 8: [HUGE]      file 9: [COMP][SAME][COMP]
 *   group:  [ 7/0 ][ 7/1 ][ 8/0 ][ 9/0 ][ 9/1 ][ 9/2 ]  -> one piece g
 *   file 7: [g/0][g/1]        file 8: [g/2]       file 9: [g/3][SAME][g/4]
 *
 * The piece is then shown by several files, as a copy_file_range'd piece
 * is (share.c): per-file stored bytes are each entry's share of the piece,
 * the piece's bytes count once, its pages are not "shared" (live never
 * exceeds npages). Its pages' indexes are not one cluster of one file, so
 * cluster-bound paths treat it as shared data: writeback leaves it in RAM
 * (piece_movable() wants every live entry in one cluster of one file),
 * recompression replaces it once for all its files (moves.c), a write or
 * punch stores the file's pages anew (copy on write) and
 * zfs_cluster_tidy() splits only the written file's part. What bounds its
 * stale pages (files removed or rewritten) is gathering itself: a piece at
 * most half live is gatherable again, whoever's it is, so the next pass
 * regroups what is left of it and the old piece goes with its last entry.
 * A gathered piece is flagged GATHERED and is not gathered again before
 * that (a group of one file would otherwise be rebuilt every pass); a
 * file's own intact piece (from a whole-cluster write) is gathered once.
 * Not with a backing file (backing=): there, RAM is meant to be given back
 * under pressure, and writeback moves a piece only from one file's cluster.
 * Member files are held by a reference until the group is stored; one
 * inode lock at a time, as everywhere here. A group that does not save an
 * eighth flags its members' single pages NOPACK.
 *
 * recomp_after= waits for the packer (zfs_pack_min_age()): data is
 * recompressed once a whole pass has offered it to the packer, so zstd
 * gets the packer's pieces, not the single pages it was about to take.
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


#define GATHER_PAGES ZFS_CLUSTER_MAX_PAGES	/* the pages of a gathered piece, at most */
#define PACK_LZ4HC_LEVEL 6	/* docs/BENCHMARKS.md: 64 KiB of text 4.25x at 86 MiB/s */

/* A small file in the group being gathered: its pages 0..n-1 are group pages first.. */
struct pack_member {
	struct zfs_inode *in;	/* referenced until the group is stored */
	uint32_t gen;		/* its table's generation when decoded */
	unsigned int first, n;
};

struct pack_walk {
	uint32_t now, min_age;
	struct zfs_compressor comp;	/* comp=, with LZ4HC for lz4 */
	unsigned int unit;	/* the per-file path's pages: 64 KiB, one cluster with backing= */
	char *pages;		/* unit decoded pages */
	char *group;		/* GATHER_PAGES pages gathered from small files */
	struct pack_member m[GATHER_PAGES];
	unsigned int nm, gn;	/* members, pages gathered */
	unsigned int gstored;	/* of them stored in the pool (not SAME) */
	uint32_t gatime;	/* the newest write among them */
	long packed;
};

static bool stopping(const struct zfs_fs *fs)
{
	return zfs_idlejob_stopping(fs->pack_bg);
}

/* Was data last read or written at @atime old enough for this pass? */
static bool aged(const struct pack_walk *w, uint32_t atime)
{
	/* (written since the pass began: younger than any age) */
	return atime <= w->now && w->now - atime >= w->min_age;
}

/* May this entry join a piece? Counts the pool-stored ones in *@stored. */
static bool packable(const struct zfs_pte *e, const struct pack_walk *w, unsigned int *stored)
{
	enum zfs_pte_kind k = zfs_pte_kind(e);

	if (k != ZFS_PTE_COMP && k != ZFS_PTE_HUGE && k != ZFS_PTE_SAME)
		return false;
	if (e->info & (ZFS_PTE_PRIO_MASK | ZFS_PTE_NOPACK))
		return false;
	if (!aged(w, e->atime))
		return false;
	if (k != ZFS_PTE_SAME)
		(*stored)++;
	return true;
}

/*
 * May entry @i of the unit @e[0..n-1] join a piece made of the unit? Single
 * pages as packable() says; a piece only if it is prio 0, in the pool, old
 * enough, held by nothing but its entries in this unit (not shared, not
 * gathered) and not already the packer's while
 * more than half live. Adds its compressed bytes to *@bytes (a piece's
 * once). Context: the inode's lock.
 */
static bool unit_entry_ok(const struct zfs_pte *e, unsigned int n, unsigned int i,
			  const struct pack_walk *w, unsigned int *stored, uint64_t *bytes)
{
	struct zfs_piece *p = (struct zfs_piece *)e[i].val;
	unsigned int flags, live;

	if (zfs_pte_kind(&e[i]) != ZFS_PTE_PIECE) {
		if (!packable(&e[i], w, stored))
			return false;
		if (zfs_pte_kind(&e[i]) != ZFS_PTE_SAME)
			*bytes += zfs_pte_kind(&e[i]) == ZFS_PTE_HUGE ? PAGE : zfs_pte_len(&e[i]);
		return true;
	}
	flags = atomic_load_explicit(&p->flags, memory_order_relaxed);
	live = atomic_load_explicit(&p->live, memory_order_relaxed);
	if (flags & (ZFS_PTE_PRIO_MASK | ZFS_PIECE_BACKED | ZFS_PIECE_GATHERED))
		return false;
	if ((flags & ZFS_PIECE_PACKED) && live * 2 > p->npages)
		return false;
	if (!aged(w, zfs_entry_atime(&e[i])))
		return false;
	if (zfs_piece_entries(e, n, &e[i]) != live ||
	    atomic_load_explicit(&p->refs, memory_order_relaxed) != live)
		return false;
	if (!zfs_piece_entries(e, i, &e[i]))	/* its first entry here */
		*bytes += p->clen;
	(*stored)++;
	return true;
}

/*
 * The first unit at or after page @from that can be packed: its first page
 * in *@c0, its pages in *@n (fewer than w->unit for the unit of EOF),
 * the compressed bytes its entries hold now in *@bytes. Context: the
 * inode's lock.
 */
static bool next_unit(struct zfs_fs *fs, struct zfs_inode *in, struct pack_walk *w,
		      uint64_t from, uint64_t *c0, unsigned int *n, uint64_t *bytes)
{
	const unsigned int up = w->unit;
	uint64_t end = (in->size + PAGE - 1) >> ZFS_PAGE_SHIFT;	/* pages below EOF */
	struct zfs_pte e[GATHER_PAGES];
	uint64_t found;
	struct zfs_pte f;

	while (zfs_ptab_next(&in->file.pt, from, &found, &f)) {
		uint64_t first = found & ~(uint64_t)(up - 1);
		unsigned int i, len, stored = 0;

		if (first >= end)
			return false;
		len = end - first < up ? (unsigned int)(end - first) : up;
		for (i = 0; i < len; i++)
			e[i] = zfs_ptab_lookup(&in->file.pt, first + i);
		*bytes = 0;
		for (i = 0; i < len; i++)
			if (!unit_entry_ok(e, len, i, w, &stored, bytes))
				break;
		if (i == len && stored >= 2) {
			*c0 = first;
			*n = len;
			return true;
		}
		from = first + up;
	}
	return false;
}

/*
 * Nothing to gain from the @n at @c0 if nothing moved since @gen: their
 * single pages are flagged NOPACK, their pieces PACKED.
 */
static void no_gain(struct zfs_inode *in, uint64_t c0, unsigned int n, uint32_t gen)
{
	zfs_wrlock(in);
	if (in->file.pt.gen == gen) {
		for (unsigned int i = 0; i < n; i++) {
			struct zfs_pte *slot = zfs_ptab_slot(&in->file.pt, c0 + i);

			if (!slot)
				continue;
			if (zfs_pte_kind(slot) == ZFS_PTE_PIECE)
				atomic_fetch_or(&((struct zfs_piece *)slot->val)->flags,
						ZFS_PIECE_PACKED);
			else
				__atomic_fetch_or(&slot->info, ZFS_PTE_NOPACK, __ATOMIC_RELAXED);
		}
	}
	zfs_unlock(in);
}

/*
 * The @n decoded pages at @src as one piece (zfs_cluster_encode()) in
 * @out, the newest write @atime. Return: the piece; NULL when nothing is
 * kept: no memory or mem_limit (*@gain stays true), or no gain (*@gain set
 * false: the pages came back single and were released).
 */
static struct zfs_piece *encode_piece(struct zfs_fs *fs, struct pack_walk *w, const char *src,
				      unsigned int n, uint32_t atime, struct zfs_pte *out,
				      bool *gain)
{
	struct zfs_piece *piece = NULL;

	*gain = true;
	if (zfs_cluster_encode(fs, &w->comp, src, n, out))
		return NULL;
	for (unsigned int i = 0; i < n; i++) {
		if (zfs_pte_kind(&out[i]) == ZFS_PTE_PIECE)
			piece = (struct zfs_piece *)out[i].val;
		else if (zfs_pte_kind(&out[i]) != ZFS_PTE_SAME)
			out[i].atime = atime;
	}
	if (!piece) {
		for (unsigned int i = 0; i < n; i++)
			zfs_page_release(fs, &out[i]);
		*gain = false;
		return NULL;
	}
	atomic_store(&piece->atime, atime);
	atomic_fetch_or(&piece->flags, ZFS_PIECE_PACKED);
	return piece;
}

/* Count @moved pages packed (and gathered, if @gathered). */
static void count_packed(struct zfs_fs *fs, struct pack_walk *w, unsigned int moved, bool gathered)
{
	if (!moved)
		return;
	zfs_count_add(&fs->counters, pages_packed, moved);
	if (gathered)
		zfs_count_add(&fs->counters, pages_gathered, moved);
	zfs_note_pool_size(fs);
	w->packed += moved;
}

/*
 * Pack the @n pages at @c0, decoded in w->pages at generation @gen, newest
 * write @atime, which hold @bytes compressed bytes now: published only if
 * the new piece is smaller.
 */
static void pack_unit(struct zfs_fs *fs, struct zfs_inode *in, struct pack_walk *w, uint64_t c0,
		      unsigned int n, uint32_t gen, uint32_t atime, uint64_t bytes)
{
	struct zfs_pte out[ZFS_CLUSTER_MAX_PAGES];
	struct zfs_piece *piece;
	bool gain;

	piece = encode_piece(fs, w, w->pages, n, atime, out, &gain);
	if (piece && piece->clen >= bytes) {
		for (unsigned int i = 0; i < n; i++)
			zfs_page_release(fs, &out[i]);
		piece = NULL;
		gain = false;
	}
	if (!piece) {
		if (!gain)
			no_gain(in, c0, n, gen);
		return;		/* (no memory or mem_limit: the old entries stay) */
	}
	count_packed(fs, w, zfs_cluster_publish(fs, in, c0, out, n, gen), false);
}

/* ---- small files gathered into one piece */

/*
 * May page @e of a small file join a gathered piece? Single pages as
 * packable() says; pieces only if they are prio 0, in the pool, old enough,
 * and either this file's own and not gathered before (@here: this file's
 * entries of it), or at most half live (stale pages of files gone or
 * rewritten: regathering drops them). Context: the inode's lock.
 */
static bool gatherable(const struct zfs_pte *e, const struct pack_walk *w, unsigned int here,
		       unsigned int *stored)
{
	struct zfs_piece *p = (struct zfs_piece *)e->val;
	unsigned int flags, live;

	if (zfs_pte_kind(e) != ZFS_PTE_PIECE)
		return packable(e, w, stored);
	flags = atomic_load_explicit(&p->flags, memory_order_relaxed);
	live = atomic_load_explicit(&p->live, memory_order_relaxed);
	if (flags & (ZFS_PTE_PRIO_MASK | ZFS_PIECE_BACKED))
		return false;
	if (!aged(w, zfs_entry_atime(e)))
		return false;
	if (live * 2 > p->npages &&
	    ((flags & ZFS_PIECE_GATHERED) || here != live ||
	     atomic_load_explicit(&p->refs, memory_order_relaxed) != live))
		return false;
	(*stored)++;
	return true;
}

/*
 * Is @in a small file whose pages may all be gathered? Its page count in
 * *@n (1..GATHER_PAGES), its pool-stored pages in *@stored. Context: the
 * inode's lock.
 */
static bool small_file(struct zfs_inode *in, const struct pack_walk *w, unsigned int *n,
		       unsigned int *stored)
{
	uint64_t end = (in->size + PAGE - 1) >> ZFS_PAGE_SHIFT;
	struct zfs_pte e[GATHER_PAGES];

	if (!end || end > GATHER_PAGES)
		return false;
	for (unsigned int i = 0; i < end; i++)
		e[i] = zfs_ptab_lookup(&in->file.pt, i);
	*stored = 0;
	for (unsigned int i = 0; i < end; i++)
		if (!gatherable(&e[i], w, zfs_piece_entries(e, (unsigned int)end, &e[i]), stored))
			return false;
	*n = (unsigned int)end;
	return *stored > 0;
}

/*
 * Store the group: its pages compressed together (zfs_cluster_encode()),
 * each member's pages republished if its table did not move meanwhile, the
 * members' references dropped. A group that would not save an eighth has
 * its single pages flagged NOPACK.
 */
static void gather_flush(struct zfs_fs *fs, struct pack_walk *w)
{
	struct zfs_pte out[GATHER_PAGES];
	struct zfs_piece *piece = NULL;
	unsigned int moved = 0;
	bool gain = true;

	if (w->gstored >= 2)
		piece = encode_piece(fs, w, w->group, w->gn, w->gatime, out, &gain);
	if (piece)
		atomic_fetch_or(&piece->flags, ZFS_PIECE_GATHERED);
	for (unsigned int k = 0; k < w->nm; k++) {
		struct pack_member *mb = &w->m[k];

		if (piece)
			moved += zfs_cluster_publish(fs, mb->in, 0, out + mb->first, mb->n, mb->gen);
		else if (!gain)
			no_gain(mb->in, 0, mb->n, mb->gen);
		zfs_iput(fs, mb->in);
	}
	count_packed(fs, w, moved, true);
	w->nm = w->gn = w->gstored = 0;
	w->gatime = 0;
}

/*
 * @in joins the group if it is a small file whose pages may all be
 * gathered (the group is stored first when they would not fit).
 * Return: true if it joined (or cannot be read now), false for the
 * cluster-by-cluster path.
 */
static bool gather_file(struct zfs_fs *fs, struct zfs_inode *in, struct pack_walk *w)
{
	struct pack_member *mb;
	unsigned int n, stored;
	int err = 0;

	for (;;) {
		zfs_rdlock(in);
		if (!small_file(in, w, &n, &stored)) {
			zfs_unlock(in);
			return false;
		}
		if (w->gn + n <= GATHER_PAGES)
			break;
		zfs_unlock(in);
		gather_flush(fs, w);
	}
	mb = &w->m[w->nm];
	mb->gen = in->file.pt.gen;
	mb->first = w->gn;
	mb->n = n;
	for (unsigned int i = 0; i < n && !err; i++) {
		struct zfs_pte e = zfs_ptab_lookup(&in->file.pt, i);
		uint32_t atime = zfs_entry_atime(&e);

		if (atime > w->gatime && atime <= w->now)
			w->gatime = atime;
		err = zfs_page_decode(fs, &e, w->group + (size_t)(w->gn + i) * PAGE);
	}
	zfs_unlock(in);
	if (err)
		return true;	/* a page that does not decode: left as it is */
	mb->in = zfs_iget(fs, in->ino);
	if (!mb->in)
		return true;
	w->nm++;
	w->gn += n;
	w->gstored += stored;
	return true;
}

static void pack_file(struct zfs_fs *fs, struct zfs_inode *in, void *arg)
{
	struct pack_walk *w = arg;
	uint64_t from = 0, c0, bytes;
	unsigned int n;

	if (w->group && gather_file(fs, in, w))
		return;
	while (!stopping(fs)) {
		uint32_t gen, atime = 0;
		int err = 0;

		zfs_rdlock(in);
		if (!next_unit(fs, in, w, from, &c0, &n, &bytes)) {
			zfs_unlock(in);
			return;
		}
		gen = in->file.pt.gen;
		for (unsigned int i = 0; i < n && !err; i++) {
			struct zfs_pte e = zfs_ptab_lookup(&in->file.pt, c0 + i);
			uint32_t t = zfs_entry_atime(&e);

			if (t > atime && t <= w->now)
				atime = t;
			err = zfs_page_decode(fs, &e, w->pages + (size_t)i * PAGE);
		}
		zfs_unlock(in);
		if (!err)
			pack_unit(fs, in, w, c0, n, gen, atime, bytes);
		from = c0 + w->unit;
	}
}

long zfs_pack(struct zfs_fs *fs, uint32_t min_age)
{
	struct pack_walk w = { .now = zfs_fs_seconds(fs), .min_age = min_age };

	if (fs->cluster_pages < 2 || fs->dedup)
		return 0;
	w.comp = fs->comp;
	if (w.comp.type == ZFS_COMP_LZ4)
		w.comp.hc = PACK_LZ4HC_LEVEL;
	/* with a backing file, one cluster: writeback moves a piece from one cluster */
	w.unit = fs->backing ? fs->cluster_pages : GATHER_PAGES;
	w.pages = malloc((size_t)w.unit * PAGE);
	if (!w.pages)
		return -ENOMEM;
	/* none: no gathering (also with a backing file: see above) */
	w.group = fs->backing ? NULL : malloc((size_t)GATHER_PAGES * PAGE);
	zfs_idlejob_each_file(fs, fs->pack_bg, pack_file, &w);
	gather_flush(fs, &w);
	free(w.group);
	free(w.pages);
	return w.packed;
}

static void pack_tick(struct zfs_fs *fs)
{
	uint32_t start = zfs_fs_seconds(fs);

	if (zfs_pack(fs, fs->opt.pack_after) >= 0 && !stopping(fs) && start > fs->opt.pack_after)
		atomic_store(&fs->pack_offered, start - fs->opt.pack_after);
}

uint32_t zfs_pack_min_age(const struct zfs_fs *fs, uint32_t min_age)
{
	uint32_t offered = atomic_load(&((struct zfs_fs *)fs)->pack_offered), now;

	if (!fs->pack_bg)
		return min_age;
	if (!offered)
		return UINT32_MAX;
	now = zfs_fs_seconds(fs);
	return now - offered > min_age ? now - offered : min_age;
}

int zfs_pack_start(struct zfs_fs *fs)
{
	unsigned int period = fs->opt.pack_after / 2;

	if (!fs->opt.pack_after || fs->cluster_pages < 2 || fs->dedup)
		return 0;
	return zfs_idlejob_start(&fs->pack_bg, fs, period < 1 ? 1 : period > 60 ? 60 : period,
				 pack_tick);
}

void zfs_pack_stop(struct zfs_fs *fs)
{
	zfs_idlejob_stop(&fs->pack_bg);
}
