// SPDX-License-Identifier: MIT
/*
 * pagestore.c - one file page in and out of the pool.
 *
 * Design: the page-table entry and its life cycle
 * -----------------------------------------------
 * A regular file's data is its page table (pagetable.c), one 16-byte entry
 * per page (struct zfs_pte in pagetable.h: val, kind + flags + length or
 * slot, atime). An entry is one of
 *
 *   HOLE    all zero: reads as zeros, costs nothing
 *   SAME    every 8-byte word equal: the word is kept in the entry, no pool
 *           memory (zram's same_pages)
 *   COMP    one page compressed: a pool handle and the compressed length
 *   HUGE    one page that compressed to >= huge_threshold, stored raw: a
 *           compressed object that large takes a page of its own anyway
 *           (zsmalloc gives it a huge class), and raw pages are read without
 *           decompressing
 *   PIECE   one page of a stored piece (cluster.h): several pages of one
 *           aligned cluster compressed together into a chain of pool
 *           objects; the entry holds the piece pointer and its slot in it.
 *           The piece's descriptor keeps a reference count (refs) and the
 *           number of published entries (live) beside the data, not in
 *           the entries, so the pages of a cluster, and the files that
 *           share it (issue 14: copy_file_range, dedup), point at one thing
 *   BACKED  one page written back to the backing file (issue 13): the byte
 *           offset and the stored length; RAW says the bytes are the page
 *           itself, otherwise they are compressed (by comp= or, with prio 1,
 *           by recomp=). A written-back piece is a PIECE whose descriptor
 *           says so.
 *
 * Flags, zram's slot flags: IDLE (not read or written since `echo all >
 * idle`; any access clears it), INCOMP (recompression tried, no gain),
 * prio (0: comp=, 1: recomp=, zram's priority), RAW (BACKED only). COMP,
 * HUGE and BACKED entries carry their flags; a PIECE's are in the piece,
 * once for all its pages. atime (seconds since the mount) drives
 * recomp_after= and writeback of data idle for a time.
 *
 * huge_threshold is zram's: zs_huge_class_size(), the largest class whose
 * zspages hold several objects on several pages, less 7 (a zsmalloc object
 * carries an 8-byte handle, so anything from there up lands in a class that
 * gives it a page of its own), read from the pool's class geometry; for zbud
 * one more than the largest object zbud takes (3968). zbud cannot hold a
 * 4096-byte object at all, so with zbud a raw page is stored as two
 * 2048-byte halves, each a zbud object (its own buddy pairs it with any
 * object of up to 1984 bytes), and the entry points to a small {handle,
 * handle} pair. Every byte of file data is therefore in the pool and counted
 * in its size and mem_limit; nothing is kept aside.
 *
 * Life cycle. An entry (or piece) is a value that never changes once
 * published, apart from its flags and atime:
 *
 *   encode (no lock)  ->  publish (write lock)  ->  unpublish = publish of
 *   another entry at the index (write lock)     ->  release (no lock)
 *
 * - encode: zfs_page_encode() for a page, zfs_cluster_encode() for the
 *   pages of a whole cluster; allocates pool memory (and a reference per
 *   PIECE entry) for an entry nobody sees yet.
 * - publish: zfs_page_publish() puts it in the table and accounts it in
 *   (pages, bytes, size=); the entry it replaces is accounted out and handed
 *   back to the caller, who releases it after dropping the lock.
 * - release: zfs_page_release() frees a single page's pool memory, or drops
 *   one reference of a piece; the last reference frees the chain.
 * - change (recompress, write back, pack, read back): build the new entry or
 *   piece without a lock, then under the write lock republish it only if the
 *   slot still holds the old one (zfs_piece_replace() for the entries of a
 *   piece), then release the old. Readers therefore decode under the inode's
 *   read lock and never see a half-moved page; a failure before the
 *   republish leaves the old entry in place, so nothing is ever lost.
 *
 * Accounting: a page is counted in pages_stored (and st_blocks, size=) while
 * it is published, in every file that shows it (a shared page too: tmpfs's
 * and du's view). Bytes: a COMP/HUGE entry counts its length while
 * published; a piece counts its clen in compr_data_size once, from its first
 * live entry to its last in any file, i.e. while any page of it is visible:
 * its stale pages (overwritten or punched) keep costing until the piece
 * goes, and zfs_cluster_tidy() bounds that to half. A file's stored bytes
 * count, for each of its PIECE entries, that slot's share of clen, so a
 * piece shown by several files (share.c) is charged to each of them and
 * the accounting of one file never depends on another's.
 *
 * Encoding a page: same-filled? -> SAME. Else compress with the thread's
 * context (compress.c) into a scratch buffer, zpool_malloc, map WO, copy,
 * unmap. Decoding: hole or SAME -> fill; else map RO, decompress (or copy a
 * raw page) straight into the destination, unmap: a map lasts one copy or
 * one decompression.
 *
 * Limits: a page that turns a hole into data is charged against size= before
 * it is published (pages_charged, as tmpfs counts blocks); a pool allocation
 * that takes the pool past mem_limit is undone and fails with ENOSPC.
 *
 * Locking: publishing and rewriting need the inode's write lock, decoding at
 * least its read lock; encoding and releasing an unpublished entry need no
 * lock at all. Counters are relaxed atomics; a piece's refs and live too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "dedup.h"
#include "pagestore.h"
#include "recompress.h"
#include "writeback.h"
#include "zpool.h"

#define PAGE ZFS_PAGE_SIZE
#define HALF (PAGE / 2)

/* zbud's raw page: two halves, each a zbud object. */
struct zfs_split {
	unsigned long h[2];
};

static const struct zfs_pte hole;

int zfs_charge_pages(struct zfs_fs *fs, unsigned long n)
{
	unsigned long used = atomic_load_explicit(&fs->pages_charged, memory_order_relaxed);

	do {
		if (fs->opt.size_pages && (used + n > fs->opt.size_pages || used + n < used))
			return -ENOSPC;
	} while (!atomic_compare_exchange_weak(&fs->pages_charged, &used, used + n));
	return 0;
}

void zfs_uncharge_pages(struct zfs_fs *fs, unsigned long n)
{
	atomic_fetch_sub_explicit(&fs->pages_charged, n, memory_order_relaxed);
}

void zfs_note_pool_size(struct zfs_fs *fs)
{
	unsigned long total = (unsigned long)zpool_get_total_size(fs->pool);
	unsigned long max = atomic_load_explicit(&fs->counters.mem_used_max, memory_order_relaxed);

	while (total > max &&
	       !atomic_compare_exchange_weak(&fs->counters.mem_used_max, &max, total))
		;
}

int zfs_data_init(struct zfs_fs *fs)
{
	size_t max = zpool_max_alloc_size(fs->pool);
	struct zpool_stats *st;
	struct timespec now;
	int err;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	fs->mono_base = now.tv_sec;
	err = zfs_cluster_init(fs);
	if (!err)
		err = zfs_recomp_init(fs);
	if (err)
		return err;

	if (max < PAGE) {
		/* zbud: compressed objects up to max, raw pages split in halves. */
		if (max < HALF)
			return -EINVAL;
		fs->split_huge = true;
		fs->huge_threshold = max + 1;
		return 0;
	}
	fs->split_huge = false;
	fs->huge_threshold = PAGE;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	zpool_get_stats(fs->pool, st);
	if (st->type && !strcmp(st->type, "zsmalloc")) {
		/* zs_huge_class_size(): the largest class of several pages and objects, less 7 */
		size_t largest = 0;

		for (unsigned int i = 0; i < st->zs.nr_classes && i < ZS_SIZE_CLASSES; i++) {
			const struct zs_class_stats *c = &st->zs.class[i];

			if (c->pages_per_zspage != 1 && c->objs_per_zspage != 1 &&
			    c->size > largest)
				largest = c->size;
		}
		if (largest > sizeof(unsigned long))
			fs->huge_threshold = largest - (sizeof(unsigned long) - 1);
	}
	free(st);
	return 0;
}

/*
 * zram's test, every 8-byte word equal, done as "the page equals itself
 * shifted by one word" so that it works on unaligned data (a write at an
 * unaligned offset hands us its full pages unaligned) and runs as memcmp.
 */
bool zfs_same_filled(const void *page, unsigned long *val)
{
	const unsigned char *p = page;
	unsigned long first, last;

	memcpy(&first, p, sizeof(first));
	memcpy(&last, p + PAGE - sizeof(last), sizeof(last));
	if (first != last || memcmp(p, p + sizeof(first), PAGE - sizeof(first)))
		return false;
	*val = first;
	return true;
}

/* Allocate @len pool bytes, within mem_limit. Return: 0, -ENOMEM, -ENOSPC. */
int zfs_pool_alloc(struct zfs_fs *fs, size_t len, unsigned long *h)
{
	for (int tries = 0;; tries++) {
		int err = zpool_malloc(fs->pool, len, 0, h);

		if (err)
			return err == -ENOSPC ? -EIO : err;	/* too big: a bug, not a full pool */
		if (!fs->opt.mem_limit || zpool_get_total_size(fs->pool) <= fs->opt.mem_limit)
			return 0;
		zpool_free(fs->pool, *h);
		/* writeback_at=: room is made in the backing file while it has some. */
		if (tries >= 16 || !zfs_wbd_make_room(fs))
			return -ENOSPC;
	}
}

static void pool_put(struct zfs_fs *fs, unsigned long h, const void *src, size_t len)
{
	void *dst = zpool_map_handle(fs->pool, h, ZPOOL_MM_WO);

	memcpy(dst, src, len);
	zpool_unmap_handle(fs->pool, h);
}

static int store_raw(struct zfs_fs *fs, const void *src, struct zfs_pte *out)
{
	struct zfs_split *sp;
	unsigned long h;
	int err;

	if (!fs->split_huge) {
		err = zfs_pool_alloc(fs, PAGE, &h);
		if (err)
			return err;
		pool_put(fs, h, src, PAGE);
		*out = zfs_pte_make(ZFS_PTE_HUGE, h, PAGE);
		return 0;
	}
	sp = malloc(sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	err = zfs_pool_alloc(fs, HALF, &sp->h[0]);
	if (err)
		goto out_free;
	err = zfs_pool_alloc(fs, HALF, &sp->h[1]);
	if (err)
		goto out_free_first;
	pool_put(fs, sp->h[0], src, HALF);
	pool_put(fs, sp->h[1], (const char *)src + HALF, HALF);
	*out = zfs_pte_make(ZFS_PTE_HUGE, (unsigned long)sp, PAGE);
	return 0;

out_free_first:
	zpool_free(fs->pool, sp->h[0]);
out_free:
	free(sp);
	return err;
}

/*
 * encode_page - turn one page into an entry, allocating pool memory.
 * @src must not be the thread's second scratch page (compression output).
 * Return: 0, -ENOMEM, -ENOSPC (mem_limit).
 */
int zfs_page_encode(struct zfs_fs *fs, const void *src, struct zfs_pte *out)
{
	unsigned long w;

	if (zfs_same_filled(src, &w)) {
		*out = zfs_pte_make(ZFS_PTE_SAME, w, 0);
		return 0;
	}
	if (fs->dedup)
		return zfs_dedup_page(fs, src, out);
	return zfs_page_store(fs, src, out);
}

/* Compress and store a page that is not same-filled (COMP or HUGE). */
int zfs_page_store(struct zfs_fs *fs, const void *src, struct zfs_pte *out)
{
	char *cbuf = zfs_thread_scratch();
	unsigned long h;
	int len, err;

	if (!cbuf)
		return -ENOMEM;
	cbuf += PAGE;
	len = zfs_compress_page(&fs->comp, src, cbuf, fs->huge_threshold - 1);
	if (len < 0)
		return len;
	if (len == 0)
		return store_raw(fs, src, out);
	err = zfs_pool_alloc(fs, (size_t)len, &h);
	if (err)
		return err;
	pool_put(fs, h, cbuf, (size_t)len);
	*out = zfs_pte_make(ZFS_PTE_COMP, h, (unsigned int)len);
	return 0;
}

/* decode_page - the page's 4096 bytes into @dst. Return: 0, -EIO, -ENOMEM. */
int zfs_page_decode(struct zfs_fs *fs, const struct zfs_pte *e, void *dst)
{
	const void *src;
	int err = 0;

	switch (zfs_pte_kind(e)) {
	case ZFS_PTE_HOLE:
		memset(dst, 0, PAGE);
		break;
	case ZFS_PTE_SAME:
		if (e->val == 0) {
			memset(dst, 0, PAGE);
		} else {
			/* @dst may be unaligned (a read that began mid-page). */
			for (size_t i = 0; i < PAGE; i += sizeof(e->val))
				memcpy((char *)dst + i, &e->val, sizeof(e->val));
		}
		break;
	case ZFS_PTE_COMP:
		src = zpool_map_handle(fs->pool, e->val, ZPOOL_MM_RO);
		err = zfs_decompress_page(zfs_pte_prio(e) ? &fs->recomp : &fs->comp, src,
					  zfs_pte_len(e), dst);
		zpool_unmap_handle(fs->pool, e->val);
		break;
	case ZFS_PTE_HUGE:
		if (!fs->split_huge) {
			src = zpool_map_handle(fs->pool, e->val, ZPOOL_MM_RO);
			memcpy(dst, src, PAGE);
			zpool_unmap_handle(fs->pool, e->val);
		} else {
			const struct zfs_split *sp = (const struct zfs_split *)e->val;

			for (int i = 0; i < 2; i++) {
				src = zpool_map_handle(fs->pool, sp->h[i], ZPOOL_MM_RO);
				memcpy((char *)dst + i * HALF, src, HALF);
				zpool_unmap_handle(fs->pool, sp->h[i]);
			}
		}
		break;
	case ZFS_PTE_PIECE:
		return zfs_piece_decode(fs, (const struct zfs_piece *)e->val, zfs_pte_slot(e), dst);
	case ZFS_PTE_BACKED:
		err = zfs_backed_read(fs, e, dst);
		break;
	}
	if (err)
		zfs_count_add(&fs->counters, failed_reads, 1);
	return err;
}

struct zfs_pte zfs_page_get(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx)
{
	struct zfs_pte *slot = zfs_ptab_slot(&in->file.pt, idx), e;
	uint32_t now;

	if (!slot)
		return hole;
	e = zfs_ptab_lookup(&in->file.pt, idx);
	if (zfs_pte_is_hole(&e))
		return e;
	now = zfs_fs_seconds(fs);
	if (zfs_pte_kind(&e) == ZFS_PTE_PIECE) {
		struct zfs_piece *p = (struct zfs_piece *)e.val;

		if (zfs_piece_touch(fs, p, now))
			zfs_count_sub(&fs->counters, idle_pages,
				      atomic_load_explicit(&p->live, memory_order_relaxed));
	} else if (e.atime != now || (e.info & ZFS_PTE_IDLE)) {
		if (zfs_ptab_touch(&in->file.pt, idx, now))
			zfs_count_sub(&fs->counters, idle_pages, 1);
	}
	return e;
}

/* Give an entry's pool memory back. No lock needed: the entry is unpublished. */
void zfs_page_release(struct zfs_fs *fs, const struct zfs_pte *e)
{
	switch (zfs_pte_kind(e)) {
	case ZFS_PTE_COMP:
		zpool_free(fs->pool, e->val);
		break;
	case ZFS_PTE_HUGE:
		if (fs->split_huge) {
			struct zfs_split *sp = (struct zfs_split *)e->val;

			zpool_free(fs->pool, sp->h[0]);
			zpool_free(fs->pool, sp->h[1]);
			free(sp);
		} else {
			zpool_free(fs->pool, e->val);
		}
		break;
	case ZFS_PTE_PIECE:
		zfs_piece_put(fs, (struct zfs_piece *)e->val);
		break;
	case ZFS_PTE_BACKED:
		zfs_backed_release(fs, e);
		break;
	default:
		break;
	}
}

/* Stale pages of a piece with @live published entries (none once it has gone). */
static unsigned long piece_stale(const struct zfs_piece *p, unsigned int live)
{
	return live && live < p->npages ? p->npages - live : 0;
}

/* Entries beyond the piece's own pages: pages that cost no pool memory of their own. */
static unsigned long piece_shared(const struct zfs_piece *p, unsigned int live)
{
	return live > p->npages ? live - p->npages : 0;
}

/* The compressed bytes those entries would have cost stored on their own. */
static unsigned long piece_saved(const struct zfs_piece *p, unsigned int live)
{
	return piece_shared(p, live) * p->clen / p->npages;
}

/* Slot @slot's share of the piece's bytes (the shares of all slots sum to clen). */
static unsigned long slot_bytes(const struct zfs_piece *p, unsigned int slot)
{
	return (unsigned long)p->clen * (slot + 1) / p->npages -
	       (unsigned long)p->clen * slot / p->npages;
}

static void gauge_move(atomic_ulong *g, unsigned long from, unsigned long to)
{
	if (to > from)
		atomic_fetch_add_explicit(g, to - from, memory_order_relaxed);
	else if (from > to)
		atomic_fetch_sub_explicit(g, from - to, memory_order_relaxed);
}

/*
 * A page of a piece published (+1) or unpublished (-1), in any file: the
 * piece's bytes count in compr_data_size once, from its first live page to
 * its last; its pages beyond npages are shared (share.c, dedup.c). A one-page
 * piece (a single page made shareable) is not a cluster; a raw one counts as
 * a huge page, once. Return: the bytes to count in compr_data_size.
 */
static unsigned long account_piece(struct zfs_counters *c, struct zfs_piece *p, int sign)
{
	unsigned int was, now;

	if (sign > 0) {
		was = atomic_fetch_add_explicit(&p->live, 1, memory_order_relaxed);
		now = was + 1;
	} else {
		was = atomic_fetch_sub_explicit(&p->live, 1, memory_order_relaxed);
		now = was - 1;
	}
	if (p->npages > 1) {
		if (sign > 0)
			zfs_count_add(c, cluster_pages, 1);
		else
			zfs_count_sub(c, cluster_pages, 1);
		gauge_move(&c->cluster_stale_pages, piece_stale(p, was), piece_stale(p, now));
	}
	if (was > p->npages || now > p->npages) {
		gauge_move(&c->shared_pages, piece_shared(p, was), piece_shared(p, now));
		gauge_move(&c->shared_bytes_saved, piece_saved(p, was), piece_saved(p, now));
	}
	if (was && now)
		return 0;
	/* A written-back piece holds no pool memory (writeback.c). */
	if (zfs_piece_backed(p))
		return 0;
	/* The piece's first page appears or its last one goes. */
	if (p->npages > 1) {
		if (sign > 0) {
			zfs_count_add(c, clusters, 1);
			zfs_count_add(c, cluster_objects, p->nobj);
		} else {
			zfs_count_sub(c, clusters, 1);
			zfs_count_sub(c, cluster_objects, p->nobj);
		}
	} else if (p->clen == ZFS_PAGE_SIZE) {
		/* Only an existing HUGE page becomes such a piece: not new to huge_pages_since. */
		if (sign > 0)
			zfs_count_add(c, huge_pages, 1);
		else
			zfs_count_sub(c, huge_pages, 1);
	}
	return p->clen;
}

/* Count a published (+1) or unpublished (-1) entry in the inode and the fs. */
void zfs_page_account(struct zfs_fs *fs, struct zfs_inode *in, const struct zfs_pte *e, int sign)
{
	struct zfs_counters *c = &fs->counters;
	struct zfs_file *f = &in->file;
	unsigned long bytes = 0, pool_bytes = ~0UL;
	unsigned int flags;

	switch (zfs_pte_kind(e)) {
	case ZFS_PTE_HOLE:
		return;
	case ZFS_PTE_SAME:
		f->pages_same += sign;
		if (sign > 0)
			zfs_count_add(c, same_pages, 1);
		else
			zfs_count_sub(c, same_pages, 1);
		break;
	case ZFS_PTE_COMP:
		bytes = zfs_pte_len(e);
		break;
	case ZFS_PTE_PIECE: {
		struct zfs_piece *p = (struct zfs_piece *)e->val;

		pool_bytes = account_piece(c, p, sign);
		if (zfs_piece_backed(p)) {
			if (sign > 0)
				zfs_count_add(c, pages_backed, 1);
			else
				zfs_count_sub(c, pages_backed, 1);
		}
		/* The file is charged its pages' shares, whoever else shows them. */
		bytes = slot_bytes(p, zfs_pte_slot(e));
		if (p->npages == 1 && p->clen == PAGE)
			f->pages_huge += sign;
		break;
	}
	case ZFS_PTE_BACKED:
		/* In the backing file: a stored page, no pool bytes (zram's pages_stored). */
		if (sign > 0)
			zfs_count_add(c, pages_backed, 1);
		else
			zfs_count_sub(c, pages_backed, 1);
		break;
	case ZFS_PTE_HUGE:
		bytes = PAGE;
		f->pages_huge += sign;
		if (sign > 0) {
			zfs_count_add(c, huge_pages, 1);
			zfs_count_add(c, huge_pages_since, 1);
		} else {
			zfs_count_sub(c, huge_pages, 1);
		}
		break;
	}
	if (pool_bytes == ~0UL)
		pool_bytes = bytes;
	flags = zfs_pte_kind(e) == ZFS_PTE_PIECE ?
		atomic_load_explicit(&((struct zfs_piece *)e->val)->flags, memory_order_relaxed) :
		zfs_pte_flags(e);
	if (flags & ZFS_PTE_IDLE) {
		if (sign > 0)
			zfs_count_add(c, idle_pages, 1);
		else
			zfs_count_sub(c, idle_pages, 1);
	}
	if (flags & ZFS_PTE_PRIO_MASK) {
		if (sign > 0)
			zfs_count_add(c, recomp_pages, 1);
		else
			zfs_count_sub(c, recomp_pages, 1);
	}
	f->pages += sign;
	if (sign > 0) {
		f->stored_bytes += bytes;
		zfs_count_add(c, pages_stored, 1);
		zfs_count_add(c, compr_data_size, pool_bytes);
	} else {
		f->stored_bytes -= bytes;
		zfs_count_sub(c, pages_stored, 1);
		zfs_count_sub(c, compr_data_size, pool_bytes);
	}
}

/*
 * publish - put @e at @idx; the replaced entry goes to *@old, accounted out
 * but not yet released. Context: inode write lock.
 * Return: 0; -ENOSPC (size=); -ENOMEM (page table node); nothing changed on error.
 */
int zfs_page_publish(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx, struct zfs_pte e,
		     struct zfs_pte *old)
{
	struct zfs_pte cur = zfs_ptab_lookup(&in->file.pt, idx);
	bool charge = zfs_pte_is_hole(&cur) && !zfs_pte_is_hole(&e);
	int err;

	if (charge && zfs_charge_pages(fs, 1))
		return -ENOSPC;
	if (!e.atime && !zfs_pte_is_hole(&e))
		e.atime = zfs_fs_seconds(fs);
	err = zfs_ptab_store(&in->file.pt, idx, e, old);
	if (err) {
		if (charge)
			zfs_uncharge_pages(fs, 1);
		return err;
	}
	if (!zfs_pte_is_hole(old) && zfs_pte_is_hole(&e))
		zfs_uncharge_pages(fs, 1);
	zfs_page_account(fs, in, old, -1);
	zfs_page_account(fs, in, &e, 1);
	return 0;
}

/* Drop every page in [@start, @end) and release it. Context: inode write lock. */
void zfs_page_free_range(struct zfs_fs *fs, struct zfs_inode *in, uint64_t start, uint64_t end)
{
	const uint64_t first = start;
	struct zfs_pte e, old;
	uint64_t idx;

	while (start < end && zfs_ptab_next(&in->file.pt, start, &idx, &e) && idx < end) {
		zfs_page_publish(fs, in, idx, hole, &old);	/* storing a hole cannot fail */
		zfs_page_release(fs, &old);
		zfs_count_add(&fs->counters, notify_free, 1);
		start = idx + 1;
	}
	/* Only the clusters at the edges can keep pieces with pages outside. */
	if (first < end) {
		zfs_cluster_tidy(fs, in, first);
		if (end != UINT64_MAX)
			zfs_cluster_tidy(fs, in, end - 1);
	}
}

/*
 * rewrite_page - page @idx with [@zfrom, @zto) zeroed, then @len bytes of
 * @data copied at @dofs, stored back. A hole that would stay all zero is left
 * alone unless @data is given. Context: inode write lock.
 * Return: 0, -ENOMEM, -ENOSPC, -EIO; the page is unchanged on error.
 */
int zfs_page_rewrite(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx, size_t zfrom,
		     size_t zto, const void *data, size_t dofs, size_t len)
{
	struct zfs_pte cur = zfs_ptab_lookup(&in->file.pt, idx), e, old;
	char *page = zfs_thread_scratch();
	int err;

	if (zfs_pte_is_hole(&cur) && !data)
		return 0;
	if (!page)
		return -ENOMEM;
	err = zfs_page_decode(fs, &cur, page);
	if (err)
		return err;
	if (zfrom < zto)
		memset(page + zfrom, 0, zto - zfrom);
	if (len)
		memcpy(page + dofs, data, len);
	err = zfs_page_encode(fs, page, &e);
	if (err)
		return err;
	err = zfs_page_publish(fs, in, idx, e, &old);
	if (err) {
		zfs_page_release(fs, &e);
		return err;
	}
	zfs_page_release(fs, &old);
	if (!zfs_pte_is_hole(&old))
		zfs_count_add(&fs->counters, notify_free, 1);
	zfs_count_add(&fs->counters, pages_written, 1);
	if (zfs_pte_kind(&old) == ZFS_PTE_PIECE)
		zfs_cluster_tidy(fs, in, idx);
	return 0;
}

/* The stale bytes after EOF in EOF's page, zeroed before the size grows. */
int zfs_page_zero_eof_tail(struct zfs_fs *fs, struct zfs_inode *in)
{
	if (!(in->size & (PAGE - 1)))
		return 0;
	return zfs_page_rewrite(fs, in, in->size >> ZFS_PAGE_SHIFT, in->size & (PAGE - 1), PAGE,
				NULL, 0, 0);
}
