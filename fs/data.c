// SPDX-License-Identifier: MIT
/*
 * data.c - the page store: file pages in and out of the pool.
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
 * one more than the largest object zbud takes (3968). zbud cannot hold a 4096-byte
 * object at all, so with zbud a raw page is stored as two 2048-byte halves,
 * each a zbud object (its own buddy pairs it with any object of up to 1984
 * bytes), and the entry points to a small {handle, handle} pair. Every byte
 * of file data is therefore in the pool and counted in its size and
 * mem_limit; nothing is kept aside.
 *
 * Writing a page: same-filled? -> SAME. Else compress with the thread's
 * context (compress.c) into a scratch buffer, zpool_malloc, map WO, copy,
 * unmap, publish the entry, free the old handle. A write request is cut into
 * batches of up to 256 pages; in each batch the pages the request covers
 * completely are encoded (compressed, allocated and copied) BEFORE the inode
 * lock is taken, so the lock is held only to merge the partial head and tail
 * pages with their old contents and to swap the entries in; old handles are
 * freed after the unlock. A batch with many full pages is encoded in parts by
 * this thread and the helper threads (workers.c) at once, so that one
 * sequential writer keeps every core compressing.
 * Reading: under the read lock, hole or SAME -> fill,
 * else map RO, decompress straight into the reply buffer (or copy a raw
 * page), unmap. Maps last one copy or one decompression.
 *
 * Bytes past EOF: only the page that holds EOF may keep stale bytes after
 * it (truncate does not rewrite that page, so shrinking never allocates and
 * never fails); whatever raises the size first zeroes them.
 *
 * Limits: a page that turns a hole into data is charged against size= before
 * it is published (pages_charged, as tmpfs counts blocks); a pool allocation
 * that takes the pool past mem_limit is undone and fails with ENOSPC. A
 * failing page ends the request there: the bytes before it are written and
 * reported, the failing page and those after it are not touched.
 *
 * Locking: the caller holds the inode's lock as each function says; the
 * write path takes it itself. Counters are relaxed atomics.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>

#include "workers.h"
#include "zfs.h"
#include "zpool.h"

#define PAGE ZFS_PAGE_SIZE
#define BATCH 256U
#define HALF (PAGE / 2)

/* zbud's raw page: two halves, each a zbud object. */
struct zfs_split {
	unsigned long h[2];
};

static const struct zfs_pte hole;

static bool is_hole(const struct zfs_pte *e)
{
	return zfs_pte_kind(e) == ZFS_PTE_HOLE;
}

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

static void note_pool_size(struct zfs_fs *fs)
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
static int encode_page(struct zfs_fs *fs, const void *src, struct zfs_pte *out)
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
static int decode_page(struct zfs_fs *fs, const struct zfs_pte *e, void *dst)
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
static void release_entry(struct zfs_fs *fs, const struct zfs_pte *e)
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
static void account(struct zfs_fs *fs, struct zfs_inode *in, const struct zfs_pte *e, int sign)
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
static int publish(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx, struct zfs_pte e,
		   struct zfs_pte *old)
{
	struct zfs_pte cur = zfs_ptab_lookup(&in->file.pt, idx);
	bool charge = is_hole(&cur) && !is_hole(&e);
	int err;

	if (charge && zfs_charge_pages(fs, 1))
		return -ENOSPC;
	err = zfs_ptab_store(&in->file.pt, idx, e, old);
	if (err) {
		if (charge)
			zfs_uncharge_pages(fs, 1);
		return err;
	}
	if (!is_hole(old) && is_hole(&e))
		zfs_uncharge_pages(fs, 1);
	account(fs, in, old, -1);
	account(fs, in, &e, 1);
	return 0;
}

/* Drop every page in [@start, @end) and release it. Context: inode write lock. */
static void free_range(struct zfs_fs *fs, struct zfs_inode *in, uint64_t start, uint64_t end)
{
	struct zfs_pte e, old;
	uint64_t idx;

	while (start < end && zfs_ptab_next(&in->file.pt, start, &idx, &e) && idx < end) {
		publish(fs, in, idx, hole, &old);	/* storing a hole cannot fail */
		release_entry(fs, &old);
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
static int rewrite_page(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx, size_t zfrom,
			size_t zto, const void *data, size_t dofs, size_t len)
{
	struct zfs_pte cur = zfs_ptab_lookup(&in->file.pt, idx), e, old;
	char *page = zfs_thread_scratch();
	int err;

	if (is_hole(&cur) && !data)
		return 0;
	if (!page)
		return -ENOMEM;
	err = decode_page(fs, &cur, page);
	if (err)
		return err;
	if (zfrom < zto)
		memset(page + zfrom, 0, zto - zfrom);
	if (len)
		memcpy(page + dofs, data, len);
	err = encode_page(fs, page, &e);
	if (err)
		return err;
	err = publish(fs, in, idx, e, &old);
	if (err) {
		release_entry(fs, &e);
		return err;
	}
	release_entry(fs, &old);
	if (!is_hole(&old))
		zfs_count_add(&fs->counters, notify_free, 1);
	zfs_count_add(&fs->counters, pages_written, 1);
	return 0;
}

/* The stale bytes after EOF in EOF's page, zeroed before the size grows. */
static int zero_eof_tail(struct zfs_fs *fs, struct zfs_inode *in)
{
	if (!(in->size & (PAGE - 1)))
		return 0;
	return rewrite_page(fs, in, in->size >> ZFS_PAGE_SHIFT, in->size & (PAGE - 1), PAGE, NULL,
			    0, 0);
}

ssize_t zfs_data_read(struct zfs_fs *fs, struct zfs_inode *in, char *buf, size_t len,
		      uint64_t off)
{
	char *page = NULL;
	size_t done = 0;

	if (off >= in->size)
		return 0;
	if (len > in->size - off)
		len = (size_t)(in->size - off);
	while (done < len) {
		uint64_t pos = off + done;
		size_t pofs = pos & (PAGE - 1), n = PAGE - pofs;
		struct zfs_pte e = zfs_ptab_lookup(&in->file.pt, pos >> ZFS_PAGE_SHIFT);
		int err = 0;

		if (n > len - done)
			n = len - done;
		if (is_hole(&e)) {
			memset(buf + done, 0, n);
		} else if (n == PAGE) {
			err = decode_page(fs, &e, buf + done);
		} else {
			if (!page)
				page = zfs_thread_scratch();
			err = page ? decode_page(fs, &e, page) : -ENOMEM;
			if (!err)
				memcpy(buf + done, page + pofs, n);
		}
		if (err)
			return done ? (ssize_t)done : err;
		if (!is_hole(&e))
			zfs_count_add(&fs->counters, pages_read, 1);
		done += n;
	}
	return (ssize_t)done;
}

/* A run of full pages to encode, on this thread or on a helper (workers.c). */
struct encode_part {
	struct zfs_fs *fs;
	const char *data;	/* the bytes of page @from */
	struct zfs_pte *pre;
	unsigned int from, to;	/* batch indexes [from, to) */
	unsigned int stop;	/* first index not encoded: @to if all were */
	int err;
	struct zfs_job job;
};

static void encode_run(void *arg)
{
	struct encode_part *p = arg;

	p->stop = p->to;
	p->err = 0;
	for (unsigned int i = p->from; i < p->to; i++) {
		int err = encode_page(p->fs, p->data + (size_t)(i - p->from) * PAGE, &p->pre[i]);

		if (err) {
			p->stop = i;
			p->err = err;
			break;
		}
	}
}

#define PART_MIN_PAGES 32U
#define MAX_PARTS 4U

/*
 * Phase A: encode the full pages [fa, fb) of a batch, in parts shared with
 * the helper threads when there are enough of them. Return: the first index
 * not encoded (fb when all were) and its error in *@err.
 */
static unsigned int encode_full_pages(struct zfs_fs *fs, const char *data, struct zfs_pte *pre,
				      unsigned int fa, unsigned int fb, int *err)
{
	struct encode_part parts[MAX_PARTS];
	unsigned int nparts = zfs_workers_count() + 1, count = fb - fa, stop = fb, k;

	if (nparts > MAX_PARTS)
		nparts = MAX_PARTS;
	if (nparts > count / PART_MIN_PAGES)
		nparts = count / PART_MIN_PAGES ? count / PART_MIN_PAGES : 1;
	for (k = 0; k < nparts; k++) {
		parts[k] = (struct encode_part){
			.fs = fs,
			.pre = pre,
			.from = fa + count * k / nparts,
			.to = fa + count * (k + 1) / nparts,
		};
		parts[k].data = data + (size_t)(parts[k].from - fa) * PAGE;
		parts[k].job.fn = encode_run;
		parts[k].job.arg = &parts[k];
	}
	for (k = 1; k < nparts; k++)
		if (!zfs_job_submit(&parts[k].job))
			break;
	encode_run(&parts[0]);
	*err = 0;
	for (k = 0; k < nparts; k++) {
		if (k)
			zfs_job_finish(&parts[k].job);
		if (parts[k].stop < parts[k].to && stop == fb) {
			stop = parts[k].stop;
			*err = parts[k].err;
		}
	}
	return stop;
}

/* One batch of at most BATCH pages; see the design comment. */
static ssize_t write_batch(struct zfs_fs *fs, struct zfs_inode *in, const char *buf, size_t len,
			   uint64_t off)
{
	struct zfs_pte pre[BATCH], olds[BATCH];
	const uint64_t first = off >> ZFS_PAGE_SHIFT;
	const size_t head = off & (PAGE - 1);
	const unsigned int n = (unsigned int)(((off + len - 1) >> ZFS_PAGE_SHIFT) - first + 1);
	unsigned int stop = n, nold = 0, i, fa, fb;
	size_t written = 0;
	int err = 0;

	/* Phase A, no lock: the pages the request covers completely. */
	for (i = 0; i < n; i++)
		pre[i] = hole;
	fa = head ? 1 : 0;
	fb = ((off + len) & (PAGE - 1)) ? n - 1 : n;
	if (fb > fa) {
		fb = encode_full_pages(fs, buf + (fa ? PAGE - head : 0), pre, fa, fb, &err);
		if (err)
			stop = fb;
	}

	/* Phase B, write lock: partial pages, EOF tail, publish. */
	zfs_wrlock(in);
	if (off > in->size && (in->size >> ZFS_PAGE_SHIFT) < first) {
		int e2 = zero_eof_tail(fs, in);

		if (e2) {
			err = e2;
			stop = 0;
		}
	}
	for (i = 0; i < stop; i++) {
		uint64_t idx = first + i;
		size_t pofs = i ? 0 : head;
		size_t plen = PAGE - pofs;

		if (plen > len - (i ? i * PAGE - head : 0))
			plen = len - (i ? i * PAGE - head : 0);
		if (plen != PAGE) {
			/* Partial: merge with the old contents (stale bytes after EOF zeroed). */
			size_t zfrom = PAGE;

			if (idx == in->size >> ZFS_PAGE_SHIFT)
				zfrom = in->size & (PAGE - 1);
			err = rewrite_page(fs, in, idx, zfrom, PAGE,
					   buf + (i ? i * PAGE - head : 0), pofs, plen);
			if (err)
				break;
			written += plen;
			continue;
		}
		err = publish(fs, in, idx, pre[i], &olds[nold]);
		if (err)
			break;
		pre[i] = hole;
		zfs_count_add(&fs->counters, pages_written, 1);
		if (!is_hole(&olds[nold]))
			nold++;
		written += plen;
	}
	if (written) {
		if (off + written > in->size)
			in->size = off + written;
		zfs_now(&in->mtime);
		in->ctime = in->mtime;
	}
	zfs_unlock(in);

	for (i = 0; i < nold; i++)
		release_entry(fs, &olds[i]);
	zfs_count_add(&fs->counters, notify_free, nold);
	for (i = 0; i < n; i++)
		release_entry(fs, &pre[i]);
	if (written)
		note_pool_size(fs);
	if (err) {
		zfs_count_add(&fs->counters, failed_writes, 1);
		if (!written)
			return err;
	}
	return (ssize_t)written;
}

ssize_t zfs_data_write(struct zfs_fs *fs, struct zfs_inode *in, const char *buf, size_t len,
		       uint64_t off)
{
	size_t done = 0;

	if (off > ZFS_MAX_FILE_SIZE || len > ZFS_MAX_FILE_SIZE - off)
		return -EFBIG;
	while (done < len) {
		uint64_t pos = off + done;
		size_t chunk = BATCH * PAGE - (pos & (PAGE - 1));
		ssize_t r;

		if (chunk > len - done)
			chunk = len - done;
		r = write_batch(fs, in, buf + done, chunk, pos);
		if (r < 0)
			return done ? (ssize_t)done : r;
		done += (size_t)r;
		if ((size_t)r < chunk)
			break;
	}
	return (ssize_t)done;
}

int zfs_data_truncate(struct zfs_fs *fs, struct zfs_inode *in, uint64_t size)
{
	int err;

	if (size > ZFS_MAX_FILE_SIZE)
		return -EFBIG;
	if (size < in->size) {
		free_range(fs, in, (size + PAGE - 1) >> ZFS_PAGE_SHIFT, UINT64_MAX);
	} else if (size > in->size) {
		err = zero_eof_tail(fs, in);
		if (err)
			return err;
	}
	in->size = size;
	return 0;
}

/* Zero [off, end) where it lies inside stored pages; free whole pages if @punch. */
static int zero_range(struct zfs_fs *fs, struct zfs_inode *in, uint64_t off, uint64_t end,
		      bool punch)
{
	uint64_t first_full = (off + PAGE - 1) >> ZFS_PAGE_SHIFT;
	uint64_t end_full = end >> ZFS_PAGE_SHIFT;
	int err;

	if (first_full > end_full) {
		/* Inside one page. */
		return rewrite_page(fs, in, off >> ZFS_PAGE_SHIFT, off & (PAGE - 1),
				    end & (PAGE - 1), NULL, 0, 0);
	}
	if (off & (PAGE - 1)) {
		err = rewrite_page(fs, in, off >> ZFS_PAGE_SHIFT, off & (PAGE - 1), PAGE, NULL, 0,
				   0);
		if (err)
			return err;
	}
	if (end & (PAGE - 1)) {
		err = rewrite_page(fs, in, end_full, 0, end & (PAGE - 1), NULL, 0, 0);
		if (err)
			return err;
	}
	if (punch) {
		free_range(fs, in, first_full, end_full);
		return 0;
	}
	/* ZERO_RANGE: whole pages become allocated zero pages. */
	for (uint64_t idx = first_full; idx < end_full; idx++) {
		struct zfs_pte z = zfs_pte_make(ZFS_PTE_SAME, 0, 0), old;

		err = publish(fs, in, idx, z, &old);
		if (err)
			return err;
		if (!is_hole(&old)) {
			release_entry(fs, &old);
			zfs_count_add(&fs->counters, notify_free, 1);
		}
	}
	return 0;
}

/* Count non-hole pages in [start, end). */
static uint64_t present_in(struct zfs_inode *in, uint64_t start, uint64_t end)
{
	struct zfs_pte e;
	uint64_t idx, n = 0;

	while (start < end && zfs_ptab_next(&in->file.pt, start, &idx, &e) && idx < end) {
		n++;
		start = idx + 1;
	}
	return n;
}

/* Default fallocate: holes in the range become allocated zero pages, all or none. */
static int allocate_range(struct zfs_fs *fs, struct zfs_inode *in, uint64_t off, uint64_t end)
{
	uint64_t first = off >> ZFS_PAGE_SHIFT, last = (end - 1) >> ZFS_PAGE_SHIFT;
	uint64_t need = (last - first + 1) - present_in(in, first, last + 1);
	const struct zfs_pte z = zfs_pte_make(ZFS_PTE_SAME, 0, 0);
	struct zfs_pte e, old;
	uint64_t idx;

	if (!need)
		return 0;
	if (need > ULONG_MAX || zfs_charge_pages(fs, (unsigned long)need))
		return -ENOSPC;
	for (idx = first; idx <= last && need; idx++) {
		e = zfs_ptab_lookup(&in->file.pt, idx);
		if (!is_hole(&e))
			continue;
		/* Already charged: store directly, not through publish(). */
		if (zfs_ptab_store(&in->file.pt, idx, z, &old)) {
			zfs_uncharge_pages(fs, (unsigned long)need);
			return -ENOMEM;
		}
		account(fs, in, &z, 1);
		need--;
	}
	return 0;
}

int zfs_data_fallocate(struct zfs_fs *fs, struct zfs_inode *in, int mode, uint64_t off,
		       uint64_t len)
{
	uint64_t end;
	int err;

	if (len == 0)
		return -EINVAL;
	if (off > ZFS_MAX_FILE_SIZE || len > ZFS_MAX_FILE_SIZE - off)
		return -EFBIG;
	end = off + len;
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		if (!(mode & FALLOC_FL_KEEP_SIZE))
			return -EOPNOTSUPP;
		return zero_range(fs, in, off, end, true);
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > in->size) {
		err = zero_eof_tail(fs, in);
		if (err)
			return err;
	}
	if (mode & FALLOC_FL_ZERO_RANGE)
		err = zero_range(fs, in, off, end, false);
	else
		err = allocate_range(fs, in, off, end);
	if (err)
		return err;
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > in->size)
		in->size = end;
	return 0;
}

int zfs_data_seek(struct zfs_fs *fs, struct zfs_inode *in, uint64_t off, int whence,
		  uint64_t *out)
{
	uint64_t idx = off >> ZFS_PAGE_SHIFT, found;
	struct zfs_pte e;

	if (off >= in->size)
		return -ENXIO;
	if (whence == SEEK_DATA) {
		if (!zfs_ptab_next(&in->file.pt, idx, &found, &e))
			return -ENXIO;
		if (found > idx)
			off = found << ZFS_PAGE_SHIFT;
		if (off >= in->size)
			return -ENXIO;
		*out = off;
		return 0;
	}
	if (whence != SEEK_HOLE)
		return -EINVAL;
	while (zfs_ptab_next(&in->file.pt, idx, &found, &e) && found == idx)
		idx++;
	if ((idx << ZFS_PAGE_SHIFT) > off)
		off = idx << ZFS_PAGE_SHIFT;
	*out = off < in->size ? off : in->size;
	return 0;
}

void zfs_data_release_all(struct zfs_fs *fs, struct zfs_inode *in)
{
	free_range(fs, in, 0, UINT64_MAX);
	zfs_ptab_destroy(&in->file.pt);
}
