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
 *           objects (or the pages of several small files, gathered by
 *           pack.c); the entry holds the piece pointer and its slot in it.
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
#include <time.h>

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

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Allocate @len pool bytes, within mem_limit. Return: 0, -ENOMEM, -ENOSPC. */
int zfs_pool_alloc(struct zfs_fs *fs, size_t len, unsigned long *h)
{
	uint64_t until = 0;

	for (;;) {
		int err = zpool_malloc(fs->pool, len, 0, h);

		if (err)
			return err == -ENOSPC ? -EIO : err;	/* too big: a bug, not a full pool */
		if (!fs->opt.mem_limit || zpool_get_total_size(fs->pool) <= fs->opt.mem_limit)
			return 0;
		zpool_free(fs->pool, *h);
		/*
		 * writeback_at=: room is made in the backing file while it has
		 * some; other writers may take it first, so keep asking for a
		 * bounded time (a count of tries ran out in a millisecond while
		 * the file's other requests held its lock).
		 */
		if (!until)
			until = mono_ms() + ZFS_ROOM_WAIT_MS;
		else if (mono_ms() >= until)
			return -ENOSPC;
		if (!zfs_wbd_make_room(fs))
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

/*
 * What publishing (+) or unpublishing (-) entries changes, summed over the
 * entries of one call and applied at once (acct_apply): a copy of many pages
 * (share.c) touches each counter once, not once a page. Signed deltas; a
 * counter moves by their two's complement sum.
 */
struct acct {
	long pages, pages_same, pages_huge, stored_bytes;	/* the file's */
	long pages_stored, compr_data_size, same_pages, huge_pages, huge_pages_since;
	long clusters, cluster_pages, cluster_objects, cluster_stale_pages;
	long shared_pages, shared_bytes_saved, idle_pages, recomp_pages, pages_backed;
};

/*
 * @k pages of piece @p published (sign +1) or unpublished (-1), in any
 * file: the piece's bytes count in compr_data_size once, from its first
 * live page to its last; its pages beyond npages are shared (share.c,
 * dedup.c). A one-page piece (a single page made shareable) is not a
 * cluster; a raw one counts as a huge page, once. Return: the bytes to
 * count in compr_data_size.
 */
static unsigned long account_piece(struct acct *a, struct zfs_piece *p, int sign, unsigned int k)
{
	unsigned int was, now;

	if (sign > 0) {
		was = atomic_fetch_add_explicit(&p->live, k, memory_order_relaxed);
		now = was + k;
	} else {
		was = atomic_fetch_sub_explicit(&p->live, k, memory_order_relaxed);
		now = was - k;
	}
	if (p->npages > 1) {
		a->cluster_pages += sign * (long)k;
		a->cluster_stale_pages += (long)piece_stale(p, now) - (long)piece_stale(p, was);
	}
	if (was > p->npages || now > p->npages) {
		a->shared_pages += (long)piece_shared(p, now) - (long)piece_shared(p, was);
		a->shared_bytes_saved += (long)piece_saved(p, now) - (long)piece_saved(p, was);
	}
	if (was && now)
		return 0;
	/* A written-back piece holds no pool memory (writeback.c). */
	if (zfs_piece_backed(p))
		return 0;
	/* The piece's first page appears or its last one goes. */
	if (p->npages > 1) {
		a->clusters += sign;
		a->cluster_objects += sign * (long)p->nobj;
	} else if (p->clen == ZFS_PAGE_SIZE) {
		/* Only an existing HUGE page becomes such a piece: not new to huge_pages_since. */
		a->huge_pages += sign;
	}
	return p->clen;
}

/*
 * Count @n entries @e in (+1) or out (-1) into @a. Consecutive entries of
 * one piece in consecutive slots (a copied cluster) are counted together:
 * one change of the piece's live count, their bytes summed by difference.
 */
static void acct_entries(struct acct *a, const struct zfs_pte *e, unsigned int n, int sign)
{
	for (unsigned int i = 0, k; i < n; i += k) {
		unsigned long bytes = 0, pool_bytes = ~0UL;
		unsigned int flags;

		k = 1;
		switch (zfs_pte_kind(&e[i])) {
		case ZFS_PTE_HOLE:
			continue;
		case ZFS_PTE_SAME:
			a->pages_same += sign;
			a->same_pages += sign;
			break;
		case ZFS_PTE_COMP:
			bytes = zfs_pte_len(&e[i]);
			break;
		case ZFS_PTE_PIECE: {
			struct zfs_piece *p = (struct zfs_piece *)e[i].val;
			unsigned int slot = zfs_pte_slot(&e[i]);

			while (i + k < n && zfs_pte_kind(&e[i + k]) == ZFS_PTE_PIECE &&
			       e[i + k].val == e[i].val && zfs_pte_slot(&e[i + k]) == slot + k)
				k++;
			pool_bytes = account_piece(a, p, sign, k);
			if (zfs_piece_backed(p))
				a->pages_backed += sign * (long)k;
			/*
			 * The file is charged its pages' shares, whoever else shows them:
			 * slots [slot, slot + k) sum to this.
			 */
			bytes = (unsigned long)p->clen * (slot + k) / p->npages -
				(unsigned long)p->clen * slot / p->npages;
			if (p->npages == 1 && p->clen == PAGE)
				a->pages_huge += sign * (long)k;
			break;
		}
		case ZFS_PTE_BACKED:
			/* In the backing file: a stored page, no pool bytes (zram's pages_stored). */
			a->pages_backed += sign;
			break;
		case ZFS_PTE_HUGE:
			bytes = PAGE;
			a->pages_huge += sign;
			a->huge_pages += sign;
			if (sign > 0)
				a->huge_pages_since++;
			break;
		}
		if (pool_bytes == ~0UL)
			pool_bytes = bytes;
		flags = zfs_pte_kind(&e[i]) == ZFS_PTE_PIECE ?
			atomic_load_explicit(&((struct zfs_piece *)e[i].val)->flags,
					     memory_order_relaxed) :
			zfs_pte_flags(&e[i]);
		if (flags & ZFS_PTE_IDLE)
			a->idle_pages += sign * (long)k;
		if (flags & ZFS_PTE_PRIO_MASK)
			a->recomp_pages += sign * (long)k;
		a->pages += sign * (long)k;
		a->pages_stored += sign * (long)k;
		a->stored_bytes += sign * (long)bytes;
		a->compr_data_size += sign * (long)pool_bytes;
	}
}

static void acct_apply(struct zfs_fs *fs, struct zfs_inode *in, const struct acct *a)
{
	struct zfs_counters *c = &fs->counters;
	struct zfs_file *f = &in->file;

	f->pages += (unsigned long)a->pages;
	f->pages_same += (unsigned long)a->pages_same;
	f->pages_huge += (unsigned long)a->pages_huge;
	f->stored_bytes += (unsigned long)a->stored_bytes;
#define ACCT_APPLY(name) \
	do { \
		if (a->name) \
			zfs_count_add(c, name, (unsigned long)a->name); \
	} while (0)
	ACCT_APPLY(pages_stored);
	ACCT_APPLY(compr_data_size);
	ACCT_APPLY(same_pages);
	ACCT_APPLY(huge_pages);
	ACCT_APPLY(huge_pages_since);
	ACCT_APPLY(clusters);
	ACCT_APPLY(cluster_pages);
	ACCT_APPLY(cluster_objects);
	ACCT_APPLY(cluster_stale_pages);
	ACCT_APPLY(shared_pages);
	ACCT_APPLY(shared_bytes_saved);
	ACCT_APPLY(idle_pages);
	ACCT_APPLY(recomp_pages);
	ACCT_APPLY(pages_backed);
#undef ACCT_APPLY
}

/* Count a published (+1) or unpublished (-1) entry in the inode and the fs. */
void zfs_page_account(struct zfs_fs *fs, struct zfs_inode *in, const struct zfs_pte *e, int sign)
{
	struct acct a = { 0 };

	if (zfs_pte_is_hole(e))
		return;
	acct_entries(&a, e, 1, sign);
	acct_apply(fs, in, &a);
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

/*
 * publish_run - zfs_page_publish() of the @n entries @e (none a hole) at
 * @idx.., stored a leaf at a time and accounted once; the replaced entries go
 * to @old[], accounted out, not released. Context: inode write lock.
 * Return: the entries published, from the first (fewer than @n: ENOMEM for a
 * table node); -ENOSPC (size=: nothing published, the caller may go page by
 * page); -ENOMEM when none was.
 */
long zfs_page_publish_run(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx,
			  struct zfs_pte *e, unsigned int n, struct zfs_pte *old)
{
	struct acct a = { 0 };
	unsigned int done, filled = 0;
	uint32_t now = zfs_fs_seconds(fs);

	/* Charged as if every page were new; what replaced data is given back below. */
	if (zfs_charge_pages(fs, n))
		return -ENOSPC;
	for (unsigned int i = 0; i < n; i++)
		if (!e[i].atime)
			e[i].atime = now;
	done = zfs_ptab_store_run(&in->file.pt, idx, e, n, old);
	for (unsigned int i = 0; i < done; i++)
		filled += !zfs_pte_is_hole(&old[i]);
	zfs_uncharge_pages(fs, n - done + filled);
	if (!done)
		return -ENOMEM;
	acct_entries(&a, old, done, -1);
	acct_entries(&a, e, done, 1);
	acct_apply(fs, in, &a);
	return done;
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
	struct zfs_inode *held;
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
	/* Room under mem_limit may have to come from this file (writeback.c). */
	held = zfs_wb_hold(in);
	err = zfs_page_encode(fs, page, &e);
	zfs_wb_hold(held);
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
