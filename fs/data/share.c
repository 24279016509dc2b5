// SPDX-License-Identifier: MIT
/*
 * share.c - copy_file_range that shares stored data between files.
 *
 * Design
 * ------
 * Entries are immutable values (pagestore.c) and a PIECE entry points at a
 * refcounted descriptor (cluster.h), so a copy of whole pages needs no data
 * at all: the destination's entries become copies of the source's, each
 * PIECE taking one more reference. Copy on write falls out of the entry
 * life cycle: a write, truncate, punch or fallocate of either file
 * republishes that file's entry and drops one reference; the other file
 * keeps the stored bytes until its own entry goes.
 *
 *   src  [ PIECE p/0 ][ PIECE p/1 ][ SAME 0 ][ COMP h ][ hole ]
 *                |           |                   |
 *                |           |          made a one-page piece q
 *                v           v                   v          (h adopted,
 *   dst  [ PIECE p/0 ][ PIECE p/1 ][ SAME 0 ][ PIECE q/0 ][ hole ]  no copy)
 *        p->refs += 2, q->refs = 2; pool memory unchanged
 *
 * What each source entry gives the destination:
 *   HOLE    a hole (the destination's page there is freed)
 *   SAME    the same value (costs nothing anyway)
 *   PIECE   the same piece and slot, one reference more
 *   COMP    the source's handle is adopted into a one-page piece (npages 1,
 *   HUGE    one object, clen = the compressed length, or 4096 for a raw
 *           page), the source's entry is republished as that piece, and the
 *           destination takes a second reference: no pool allocation, no
 *           copy of the bytes. zbud keeps a raw page as two halves, which
 *           are not a chain, and a BACKED page is not in the pool: those are
 *           decoded and stored again for the destination (a plain copy).
 * The page must be at the same offset within its page on both sides: a
 * copy between offsets that differ within a page is read and written like
 * any other, and so are the unaligned head and tail of an aligned copy,
 * except a tail that is the source's EOF page and becomes the destination's
 * (a copy of a whole file): that page is shared too (share_pages()).
 *
 * Accounting (pagestore.c): every file counts the pages it shows (st_blocks,
 * pages_stored and orig_data_size, size= and statfs: shared data is charged
 * to every file, as tmpfs would charge a copy, so a copy needs room under
 * size= and du adds up what the files show); a piece's bytes count once in
 * compr_data_size, and its entries beyond its own npages are shared_pages,
 * what they would have cost shared_bytes_saved.
 *
 * Cost: a copy of whole pages touches no data, only entries and piece
 * descriptors, so it is bound by memory latency. The source's page table is
 * read a leaf at a time (zfs_ptab_run: one walk from the root per leaf, not
 * per page), the copy's entries are stored and accounted a run of up to
 * SHARE_RUN at a time (zfs_page_publish_run: one walk per leaf, counters
 * summed per run), consecutive entries of one piece take their references in
 * one atomic add, and the descriptors of a run and the next run's entries are
 * prefetched together rather than missed one after another. About 210
 * instructions a page (668 with a root walk, accounting and a reference per
 * page); 1 GiB of 16 KiB pieces in about 20 ms of daemon CPU on the test
 * machine (docs/BENCHMARKS.md).
 *
 * Locking: the two inodes' write locks, in inode number order (one when the
 * file is its own source); the source is changed too (COMP -> PIECE), under
 * its write lock, as any republish. A copy of many pages holds both locks
 * throughout.
 *
 * Failure: each destination page is published, or not, on its own: a
 * failure (ENOMEM for a table node or a piece descriptor, ENOSPC for size=)
 * stops the copy there; the pages before are copied and reported (a short
 * copy), the destination's pages from there on are untouched, and a source
 * page already turned into a one-page piece stays one (the same bytes).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "pagestore.h"
#include "writeback.h"
#include "share.h"

#define PAGE ZFS_PAGE_SIZE
#define COPY_CHUNK (1024 * 1024UL)
#define SHARE_RUN 64	/* entries built, stored and accounted together */

/* Read and write @len bytes: a copy of the bytes, as the kernel would do. */
static ssize_t copy_bytes(struct zfs_fs *fs, struct zfs_inode *src, uint64_t off_in,
			  struct zfs_inode *dst, uint64_t off_out, size_t len)
{
	size_t done = 0, cap = len < COPY_CHUNK ? len : COPY_CHUNK;
	char *buf = malloc(cap);
	ssize_t err = 0;

	if (!buf)
		return -ENOMEM;
	while (done < len) {
		size_t n = len - done < cap ? len - done : cap;
		ssize_t r, w;

		zfs_rdlock(src);
		r = zfs_data_read(fs, src, buf, n, off_in + done);
		zfs_unlock(src);
		if (r <= 0) {
			err = r;
			break;
		}
		w = zfs_data_write(fs, dst, buf, (size_t)r, off_out + done);
		if (w < 0) {
			err = w;
			break;
		}
		done += (size_t)w;
		if (w < r)
			break;
	}
	free(buf);
	return done ? (ssize_t)done : err;
}

/*
 * Make the COMP or HUGE entry @e at page @idx of @src a one-page piece and
 * republish it (one reference, the source's). Return: 0, -ENOMEM.
 */
static int adopt_page(struct zfs_fs *fs, struct zfs_inode *src, uint64_t idx, struct zfs_pte *e)
{
	bool raw = zfs_pte_kind(e) == ZFS_PTE_HUGE;
	struct zfs_pte pe, old;
	struct zfs_piece *p;
	int err;

	p = zfs_piece_alloc(1, 1, raw ? PAGE : zfs_pte_len(e));
	if (!p)
		return -ENOMEM;
	p->h[0] = e->val;
	atomic_init(&p->refs, 1);
	atomic_init(&p->flags, zfs_pte_flags(e) & (ZFS_PTE_IDLE | ZFS_PTE_INCOMP |
						   ZFS_PTE_PRIO_MASK));
	atomic_init(&p->atime, e->atime);
	pe = zfs_pte_make(ZFS_PTE_PIECE, (unsigned long)p, 0);
	pe.atime = e->atime;
	/* Data for data at a present index: no node to allocate, nothing to charge. */
	err = zfs_page_publish(fs, src, idx, pe, &old);
	if (err) {
		free(p);
		return err;
	}
	/* old's handle now belongs to the piece: it is not released. */
	*e = pe;
	return 0;
}

/*
 * The entry a copy of @e (page @idx of @src) gets, in *@out: see the design
 * comment. Return: 0; -ENOMEM; -ENOSPC, -EIO (a page that had to be copied).
 */
static int share_entry(struct zfs_fs *fs, struct zfs_inode *src, uint64_t idx,
		       struct zfs_pte e, struct zfs_pte *out, bool *shared)
{
	struct zfs_inode *held;
	char *page;
	int err;

	*shared = false;
	switch (zfs_pte_kind(&e)) {
	case ZFS_PTE_COMP:
	case ZFS_PTE_HUGE:
		if (zfs_pte_kind(&e) == ZFS_PTE_HUGE && fs->split_huge)
			break;
		err = adopt_page(fs, src, idx, &e);
		if (err)
			return err;
		/* fall through */
	case ZFS_PTE_PIECE:
		zfs_piece_get((struct zfs_piece *)e.val);
		*out = zfs_pte_make(ZFS_PTE_PIECE, e.val, zfs_pte_slot(&e));
		out->atime = e.atime;
		*shared = true;
		return 0;
	case ZFS_PTE_SAME:
	case ZFS_PTE_HOLE:
		*out = e;
		return 0;
	default:
		break;
	}
	/* Not in the pool as one chain: decode and store a copy. */
	page = zfs_thread_scratch();
	if (!page)
		return -ENOMEM;
	err = zfs_page_decode(fs, &e, page);
	if (err)
		return err;
	/* Under both files' write locks: room under mem_limit may come from @src. */
	held = zfs_wb_hold(src);
	err = zfs_page_encode(fs, page, out);
	zfs_wb_hold(held);
	return err;
}

static void lock_pair(struct zfs_inode *a, struct zfs_inode *b)
{
	if (a == b) {
		zfs_wrlock(a);
	} else if (a->ino < b->ino) {
		zfs_wrlock(a);
		zfs_wrlock(b);
	} else {
		zfs_wrlock(b);
		zfs_wrlock(a);
	}
}

static void unlock_pair(struct zfs_inode *a, struct zfs_inode *b)
{
	zfs_unlock(a);
	if (a != b)
		zfs_unlock(b);
}

/*
 * Publish the @k entries @ne at page @idx of @dst (their references taken),
 * page by page when size= cannot take them all at once, so that a copy stops
 * exactly where room runs out; what was not published is released, what was
 * replaced too (counted in *@nfreed). Return: the entries published; *@err
 * is set when fewer than @k were.
 */
static unsigned int publish_batch(struct zfs_fs *fs, struct zfs_inode *dst, uint64_t idx,
				  struct zfs_pte *ne, unsigned int k, unsigned long *nfreed,
				  int *err)
{
	struct zfs_pte old[SHARE_RUN];
	unsigned int done = 0;
	long r;

	r = zfs_page_publish_run(fs, dst, idx, ne, k, old);
	if (r == -ENOSPC) {
		while (done < k && !(*err = zfs_page_publish(fs, dst, idx + done, ne[done],
							     &old[done])))
			done++;
	} else if (r < 0) {
		*err = (int)r;
	} else {
		done = (unsigned int)r;
		if (done < k)
			*err = -ENOMEM;
	}
	for (unsigned int j = done; j < k; j++)
		zfs_page_release(fs, &ne[j]);
	for (unsigned int j = 0; j < done; j++) {
		if (!zfs_pte_is_hole(&old[j])) {
			zfs_page_release(fs, &old[j]);
			(*nfreed)++;
		}
	}
	return done;
}

/*
 * Share the whole pages [@sidx, @sidx + @n) of @src as pages @didx... of
 * @dst, under both write locks; stops at @src's last whole page. @tail
 * bytes more (less than a page) are asked for after them: that page is
 * shared too when it is @src's EOF page and becomes @dst's, since the bytes
 * after EOF in an EOF page are never read and are zeroed before the size
 * grows (range.c), so a copy of a file costs nothing for its last page.
 *
 * The source is read a leaf at a time (zfs_ptab_run) and the destination
 * stored and accounted a run at a time (zfs_page_publish_run); consecutive
 * entries of one piece take their references in one step.
 * Return: bytes copied, or a negative errno when none was.
 */
static int64_t share_pages(struct zfs_fs *fs, struct zfs_inode *src, uint64_t sidx,
			   struct zfs_inode *dst, uint64_t didx, uint64_t n, uint64_t tail)
{
	unsigned long nshared = 0, nfreed = 0;
	uint64_t i = 0, avail, s, end;
	struct zfs_pte ne[SHARE_RUN];
	bool sh[SHARE_RUN];
	int err = 0;

	lock_pair(src, dst);
	avail = src->size >> ZFS_PAGE_SHIFT;
	n = sidx >= avail ? 0 : (n < avail - sidx ? n : avail - sidx);
	if (tail && sidx + n == avail && src->size == (avail << ZFS_PAGE_SHIFT) + tail &&
	    dst->size <= ((didx + n) << ZFS_PAGE_SHIFT) + tail)
		n++;	/* the EOF page, see above */
	else
		tail = 0;
	if (n && (didx << ZFS_PAGE_SHIFT) > dst->size && (dst->size >> ZFS_PAGE_SHIFT) < didx)
		err = zfs_page_zero_eof_tail(fs, dst);
	while (!err && i < n) {
		const struct zfs_pte *run;
		struct zfs_piece *gp = NULL;
		unsigned int m, k, gn = 0, done;
		int perr = 0;

		m = zfs_ptab_run(&src->file.pt, sidx + i, &s, &run);
		if (!m || s >= sidx + n)
			s = sidx + n;
		if (s > sidx + i) {
			/* A hole in the source: a hole in the copy. */
			zfs_page_free_range(fs, dst, didx + i, didx + (s - sidx));
			i = s - sidx;
			continue;
		}
		if (m > n - i)
			m = (unsigned int)(n - i);
		if (m > SHARE_RUN)
			m = SHARE_RUN;
		/*
		 * The run's pieces are written below (references, live counts): ask
		 * for their descriptors' lines now, all at once, not one miss after
		 * another.
		 */
		for (k = 0; k < m; k++)
			if (zfs_pte_kind(&run[k]) == ZFS_PTE_PIECE && (!k || run[k].val != run[k - 1].val))
				__builtin_prefetch((void *)run[k].val, 1);
		/* And the next run's entries (the walk to them reads no entry). */
		if (s + m < sidx + n) {
			const char *next = (const char *)zfs_ptab_slot(&src->file.pt, s + m);

			for (k = 0; next && k < m * sizeof(*run); k += 64)
				__builtin_prefetch(next + k, 0);
		}
		/* The run's entries up to its first hole, as the copy's. */
		for (k = 0; k < m && !zfs_pte_is_hole(&run[k]); k++) {
			struct zfs_pte e = run[k];

			if (zfs_pte_kind(&e) == ZFS_PTE_PIECE) {
				/* The common case: references taken a piece at a time below. */
				if ((struct zfs_piece *)e.val != gp) {
					if (gn)
						atomic_fetch_add_explicit(&gp->refs, gn,
									  memory_order_relaxed);
					gp = (struct zfs_piece *)e.val;
					gn = 0;
				}
				gn++;
				ne[k] = zfs_pte_make(ZFS_PTE_PIECE, e.val, zfs_pte_slot(&e));
				ne[k].atime = e.atime;
				sh[k] = true;
				continue;
			}
			err = share_entry(fs, src, s + k, e, &ne[k], &sh[k]);
			if (err)
				break;
		}
		if (gn)
			atomic_fetch_add_explicit(&gp->refs, gn, memory_order_relaxed);
		if (!k)
			break;
		done = publish_batch(fs, dst, didx + i, ne, k, &nfreed, &perr);
		if (!err)
			err = perr;
		for (unsigned int j = 0; j < done; j++)
			nshared += sh[j];
		i += done;
	}
	end = i << ZFS_PAGE_SHIFT;
	if (tail && i == n)
		end -= PAGE - tail;
	if (i) {
		if ((didx << ZFS_PAGE_SHIFT) + end > dst->size)
			dst->size = (didx << ZFS_PAGE_SHIFT) + end;
		zfs_now(&dst->mtime);
		dst->ctime = dst->mtime;
	}
	unlock_pair(src, dst);
	zfs_count_add(&fs->counters, pages_copy_shared, nshared);
	zfs_count_add(&fs->counters, notify_free, nfreed);
	if (i)
		return (int64_t)end;
	if (err)
		zfs_count_add(&fs->counters, failed_writes, 1);
	return err;
}

uint64_t zfs_share_file_bytes(struct zfs_inode *in)
{
	uint64_t idx = 0, n = 0;
	struct zfs_pte e;

	while (zfs_ptab_next(&in->file.pt, idx, &idx, &e)) {
		if (zfs_pte_kind(&e) == ZFS_PTE_PIECE) {
			const struct zfs_piece *p = (const struct zfs_piece *)e.val;

			if (atomic_load_explicit(&p->live, memory_order_relaxed) > p->npages)
				n++;
		}
		idx++;
	}
	return n << ZFS_PAGE_SHIFT;
}

ssize_t zfs_copy_range(struct zfs_fs *fs, struct zfs_inode *src, uint64_t off_in,
		       struct zfs_inode *dst, uint64_t off_out, size_t len)
{
	uint64_t size, head, mid, tail;
	size_t done = 0;
	int64_t nb;
	ssize_t r;

	if (len > ZFS_COPY_MAX)
		len = ZFS_COPY_MAX;
	if (off_in > ZFS_MAX_FILE_SIZE || off_out > ZFS_MAX_FILE_SIZE ||
	    len > ZFS_MAX_FILE_SIZE - off_out)
		return -EFBIG;
	if (src == dst && off_in < off_out + len && off_out < off_in + len)
		return -EINVAL;
	zfs_rdlock(src);
	size = src->size;
	zfs_unlock(src);
	if (off_in >= size || !len)
		return 0;
	if (len > size - off_in)
		len = (size_t)(size - off_in);
	if ((off_in ^ off_out) & (PAGE - 1))
		return copy_bytes(fs, src, off_in, dst, off_out, len);

	head = (PAGE - (off_in & (PAGE - 1))) & (PAGE - 1);
	if (head > len)
		head = len;
	if (head) {
		r = copy_bytes(fs, src, off_in, dst, off_out, (size_t)head);
		if (r < 0 || (size_t)r < head)
			return r;
		done = (size_t)head;
	}
	mid = (len - done) >> ZFS_PAGE_SHIFT;
	tail = (len - done) & (PAGE - 1);
	if (mid || tail) {
		nb = share_pages(fs, src, (off_in + done) >> ZFS_PAGE_SHIFT, dst,
				 (off_out + done) >> ZFS_PAGE_SHIFT, mid, tail);
		if (nb < 0)
			return done ? (ssize_t)done : (ssize_t)nb;
		done += (size_t)nb;
		if ((uint64_t)nb < mid << ZFS_PAGE_SHIFT)
			return (ssize_t)done;
	}
	if (done < len) {
		r = copy_bytes(fs, src, off_in + done, dst, off_out + done, len - done);
		if (r < 0)
			return done ? (ssize_t)done : r;
		done += (size_t)r;
	}
	return (ssize_t)done;
}
