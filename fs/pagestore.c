// SPDX-License-Identifier: MIT
/*
 * pagestore.c - one file page in and out of the pool.
 *
 * Design
 * ------
 * A regular file's data is its page table (pagetable.c); each present page
 * is one of
 *
 *   SAME  every 8-byte word equal: the word is kept in the entry, no pool
 *         memory (zram's same_pages)
 *   COMP  compressed: a pool handle and the compressed length
 *   HUGE  compressed to >= huge_threshold, so stored raw: a compressed
 *         object that large takes a page of its own anyway (zsmalloc gives
 *         it a huge class), and raw pages are read without decompressing.
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
 * lock at all. Counters are relaxed atomics.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagestore.h"
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
static bool same_filled(const void *page, unsigned long *val)
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
static int pool_alloc(struct zfs_fs *fs, size_t len, unsigned long *h)
{
	int err = zpool_malloc(fs->pool, len, 0, h);

	if (err)
		return err == -ENOSPC ? -EIO : err;	/* too big: a bug, not a full pool */
	if (fs->opt.mem_limit && zpool_get_total_size(fs->pool) > fs->opt.mem_limit) {
		zpool_free(fs->pool, *h);
		return -ENOSPC;
	}
	return 0;
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
		err = pool_alloc(fs, PAGE, &h);
		if (err)
			return err;
		pool_put(fs, h, src, PAGE);
		*out = zfs_pte_make(ZFS_PTE_HUGE, h, PAGE);
		return 0;
	}
	sp = malloc(sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	err = pool_alloc(fs, HALF, &sp->h[0]);
	if (err)
		goto out_free;
	err = pool_alloc(fs, HALF, &sp->h[1]);
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
	char *cbuf = zfs_thread_scratch();
	unsigned long h, w;
	int len, err;

	if (same_filled(src, &w)) {
		*out = zfs_pte_make(ZFS_PTE_SAME, w, 0);
		return 0;
	}
	if (!cbuf)
		return -ENOMEM;
	cbuf += PAGE;
	len = zfs_compress_page(&fs->comp, src, cbuf, fs->huge_threshold - 1);
	if (len < 0)
		return len;
	if (len == 0)
		return store_raw(fs, src, out);
	err = pool_alloc(fs, (size_t)len, &h);
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
		err = zfs_decompress_page(&fs->comp, src, zfs_pte_len(e), dst);
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
	}
	if (err)
		zfs_count_add(&fs->counters, failed_reads, 1);
	return err;
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
	default:
		break;
	}
}

/* Count a published (+1) or unpublished (-1) entry in the inode and the fs. */
void zfs_page_account(struct zfs_fs *fs, struct zfs_inode *in, const struct zfs_pte *e, int sign)
{
	struct zfs_counters *c = &fs->counters;
	struct zfs_file *f = &in->file;
	unsigned long bytes = 0;

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
	f->pages += sign;
	if (sign > 0) {
		f->stored_bytes += bytes;
		zfs_count_add(c, pages_stored, 1);
		zfs_count_add(c, compr_data_size, bytes);
	} else {
		f->stored_bytes -= bytes;
		zfs_count_sub(c, pages_stored, 1);
		zfs_count_sub(c, compr_data_size, bytes);
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
	struct zfs_pte e, old;
	uint64_t idx;

	while (start < end && zfs_ptab_next(&in->file.pt, start, &idx, &e) && idx < end) {
		zfs_page_publish(fs, in, idx, hole, &old);	/* storing a hole cannot fail */
		zfs_page_release(fs, &old);
		zfs_count_add(&fs->counters, notify_free, 1);
		start = idx + 1;
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
