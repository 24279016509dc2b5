// SPDX-License-Identifier: MIT
/*
 * data.c - the read and write path of a regular file.
 *
 * Design
 * ------
 * A write request is cut into batches of up to 256 pages; in each batch the
 * pages the request covers completely are encoded (compressed, allocated and
 * copied: pagestore.c) BEFORE the inode lock is taken, so the lock is held
 * only to merge the partial head and tail pages with their old contents and
 * to swap the entries in; old handles are freed after the unlock. The full
 * pages of a batch are a run of workers.c: this thread and every free helper
 * claim four pages at a time until none is left, so that one sequential
 * writer keeps every core compressing:
 *
 *   request  |head|  full  full  full  full ... full  |tail|
 *   phase A        [this][helper][this][this] ...           no lock
 *   phase B  merge                                    merge  write lock:
 *            publish every page in order, size, mtime        (short on error)
 *
 * A failing page (ENOSPC for size= or mem_limit, ENOMEM) ends the request
 * there: the bytes before it are written and reported, the failing page and
 * those after it are not touched, as on tmpfs. The earliest failure wins
 * (one 64-bit atomic: item index, then errno); pages after it that another
 * thread had already encoded are released unpublished.
 *
 * Reading runs under the inode's read lock, so readers of one file proceed
 * together and writers of other files are not in the way: hole or SAME ->
 * fill, else decode straight into the reply buffer. The pages of a large
 * read are a run of workers.c as well (sixteen pages a claim), decoded by
 * this thread and the free helpers while this thread holds the read lock
 * for them; a failing page cuts the reply short before it.
 *
 * Locking: zfs_data_read() is called with the read lock held; the write path
 * takes the write lock itself. Counters are relaxed atomics.
 */
#include <errno.h>
#include <string.h>

#include "cluster.h"
#include "pagestore.h"
#include "workers.h"

#define PAGE ZFS_PAGE_SIZE
#define BATCH 256U

static const struct zfs_pte hole;

/*
 * A failure at item @idx with @err, kept as the earliest one: the index in
 * the high half so that a smaller value means an earlier item.
 */
#define NO_FAIL UINT64_MAX

static void note_fail(atomic_uint_least64_t *fail, unsigned int idx, int err)
{
	uint64_t v = (uint64_t)idx << 32 | (uint32_t)-err;
	uint64_t cur = atomic_load_explicit(fail, memory_order_relaxed);

	while (v < cur && !atomic_compare_exchange_weak(fail, &cur, v))
		;
}

static bool failed_before(atomic_uint_least64_t *fail, unsigned int idx)
{
	return atomic_load_explicit(fail, memory_order_relaxed) < (uint64_t)idx << 32;
}

/* The pages of one read, decoded on this thread and the helpers (workers.c). */
struct decode_run {
	struct zfs_par par;
	struct zfs_fs *fs;
	struct zfs_inode *in;
	char *buf;
	uint64_t off, end;		/* the bytes [off, end) go to buf */
	uint64_t first;			/* page index of item 0: aligned, at or before off */
	atomic_uint_least64_t fail;
	atomic_ulong pages_read;
};

/*
 * Items are claimed fs->piece_span pages at a time (16, or 64 where
 * recompression merges pieces), from an aligned page: a piece lies within
 * one claim, so a read that covers it whole expands it straight into the
 * reply on one thread, instead of two threads each expanding all of it into
 * their own caches for the half of its pages they claimed.
 */

/*
 * Item @k starts a piece whose pages are items k.. of this claim, in slot
 * order, each read whole: then it is expanded straight into the reply.
 */
static bool whole_piece(const struct decode_run *r, const struct zfs_pte *e, unsigned int k,
			unsigned int to)
{
	const struct zfs_piece *p = (const struct zfs_piece *)e->val;
	uint64_t pstart = (r->first + k) << ZFS_PAGE_SHIFT;

	if (zfs_pte_slot(e) != 0 || k + p->npages > to || pstart < r->off ||
	    pstart + (uint64_t)p->npages * PAGE > r->end)
		return false;
	for (unsigned int i = 1; i < p->npages; i++) {
		struct zfs_pte n = zfs_ptab_lookup(&r->in->file.pt, r->first + k + i);

		if (zfs_pte_kind(&n) != ZFS_PTE_PIECE || n.val != e->val || zfs_pte_slot(&n) != i)
			return false;
	}
	return true;
}

static void decode_items(struct zfs_par *par, unsigned int from, unsigned int to)
{
	struct decode_run *r = (struct decode_run *)par;
	unsigned long nread = 0;
	char *page = NULL;

	for (unsigned int k = from; k < to; k++) {
		uint64_t pstart = (r->first + k) << ZFS_PAGE_SHIFT;
		uint64_t a = pstart > r->off ? pstart : r->off;
		uint64_t b = pstart + PAGE < r->end ? pstart + PAGE : r->end;
		char *dst = r->buf + (a - r->off);
		struct zfs_pte e;
		int err = 0;

		if (b <= a)
			continue;	/* before the read: the claims start aligned */
		if (failed_before(&r->fail, k))
			break;
		e = zfs_page_get(r->fs, r->in, r->first + k);
		if (zfs_pte_is_hole(&e)) {
			memset(dst, 0, b - a);
			continue;
		}
		if (zfs_pte_kind(&e) == ZFS_PTE_PIECE && whole_piece(r, &e, k, to)) {
			const struct zfs_piece *p = (const struct zfs_piece *)e.val;

			err = zfs_piece_decode_all(r->fs, p, dst);
			if (err) {
				note_fail(&r->fail, k, err);
				break;
			}
			nread += p->npages;
			k += p->npages - 1U;
			continue;
		}
		if (b - a == PAGE) {
			err = zfs_page_decode(r->fs, &e, dst);
		} else {
			if (!page)
				page = zfs_thread_scratch();
			err = page ? zfs_page_decode(r->fs, &e, page) : -ENOMEM;
			if (!err)
				memcpy(dst, page + (a - pstart), b - a);
		}
		if (err) {
			note_fail(&r->fail, k, err);
			break;
		}
		nread++;
	}
	if (nread)
		atomic_fetch_add_explicit(&r->pages_read, nread, memory_order_relaxed);
}

ssize_t zfs_data_read(struct zfs_fs *fs, struct zfs_inode *in, char *buf, size_t len,
		      uint64_t off)
{
	struct decode_run r;
	uint64_t fail, failed;

	if (off >= in->size)
		return 0;
	if (len > in->size - off)
		len = (size_t)(in->size - off);
	if (!len)
		return 0;
	r = (struct decode_run){
		.par.fn = decode_items,
		.par.chunk = fs->piece_span,
		.fs = fs,
		.in = in,
		.buf = buf,
		.off = off,
		.end = off + len,
		.first = (off >> ZFS_PAGE_SHIFT) & ~(uint64_t)(fs->piece_span - 1),
	};
	r.par.n = (unsigned int)(((off + len - 1) >> ZFS_PAGE_SHIFT) - r.first + 1);
	/* A read of at most a claim's pages stays on this thread, aligned or not. */
	if (((off + len - 1) >> ZFS_PAGE_SHIFT) - (off >> ZFS_PAGE_SHIFT) < fs->piece_span)
		r.par.chunk = r.par.n;
	atomic_init(&r.fail, NO_FAIL);
	atomic_init(&r.pages_read, 0);
	zfs_par_run(&r.par);
	zfs_count_add(&fs->counters, pages_read, atomic_load(&r.pages_read));
	fail = atomic_load(&r.fail);
	if (fail == NO_FAIL)
		return (ssize_t)len;
	/* The bytes before the first page that failed were read. */
	failed = r.first + (fail >> 32);
	if (failed <= off >> ZFS_PAGE_SHIFT)
		return -(int)(uint32_t)fail;
	return (ssize_t)((failed << ZFS_PAGE_SHIFT) - off);
}

/*
 * A unit of phase A: one page, or the pages of one whole cluster, which
 * zfs_cluster_encode() stores together.
 */
struct unit {
	uint16_t start;			/* batch index of its first page */
	uint16_t n;			/* pages: 1 or cluster_pages */
};

/* The full pages of a write batch, encoded on this thread and the helpers. */
struct encode_run {
	struct zfs_par par;
	struct zfs_fs *fs;
	const char *data;		/* the bytes of batch index @fa */
	struct zfs_pte *pre;		/* indexed by batch index */
	const struct unit *units;
	unsigned int fa;		/* batch index of the first full page */
	atomic_uint_least64_t fail;	/* units, not batch indexes */
};

#define ENCODE_CHUNK 4U			/* pages a claim takes (at least one unit) */

static void encode_items(struct zfs_par *par, unsigned int from, unsigned int to)
{
	struct encode_run *r = (struct encode_run *)par;

	for (unsigned int k = from; k < to; k++) {
		const struct unit *u = &r->units[k];
		const char *src = r->data + (size_t)(u->start - r->fa) * PAGE;
		int err;

		if (failed_before(&r->fail, k))
			return;	/* nothing after a failed page is stored */
		if (u->n > 1)
			err = zfs_cluster_encode(r->fs, &r->fs->comp, src, u->n, &r->pre[u->start]);
		else
			err = zfs_page_encode(r->fs, src, &r->pre[u->start]);
		if (err) {
			note_fail(&r->fail, k, err);
			return;
		}
	}
}

/*
 * Phase A: encode the full pages [fa, fb) of a batch whose page 0 is file
 * page @first, shared with the helper threads: whole aligned clusters as
 * units, the other pages one by one. Return: the first index not encoded
 * (fb when all were) and its error in *@err; pages after it may be encoded
 * too (the caller releases every unpublished entry).
 */
static unsigned int encode_full_pages(struct zfs_fs *fs, const char *data, struct zfs_pte *pre,
				      uint64_t first, unsigned int fa, unsigned int fb, int *err)
{
	const unsigned int cp = fs->cluster_pages;
	struct unit units[BATCH];
	struct encode_run r = {
		.par.fn = encode_items,
		.par.chunk = cp >= ENCODE_CHUNK ? 1 : ENCODE_CHUNK / cp,
		.fs = fs,
		.data = data,
		.pre = pre,
		.units = units,
		.fa = fa,
	};
	unsigned int nu = 0, i = fa;
	uint64_t fail;

	while (i < fb) {
		units[nu].start = (uint16_t)i;
		units[nu].n = 1;
		if (cp > 1 && !((first + i) & (cp - 1)) && i + cp <= fb)
			units[nu].n = (uint16_t)cp;
		i += units[nu++].n;
	}
	r.par.n = nu;
	atomic_init(&r.fail, NO_FAIL);
	zfs_par_run(&r.par);
	fail = atomic_load(&r.fail);
	*err = 0;
	if (fail == NO_FAIL)
		return fb;
	*err = -(int)(uint32_t)fail;
	return units[fail >> 32].start;
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
		fb = encode_full_pages(fs, buf + (fa ? PAGE - head : 0), pre, first, fa, fb, &err);
		if (err)
			stop = fb;
	}

	/* Phase B, write lock: partial pages, EOF tail, publish. */
	zfs_wrlock(in);
	if (off > in->size && (in->size >> ZFS_PAGE_SHIFT) < first) {
		int e2 = zfs_page_zero_eof_tail(fs, in);

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
			err = zfs_page_rewrite(fs, in, idx, zfrom, PAGE,
					   buf + (i ? i * PAGE - head : 0), pofs, plen);
			if (err)
				break;
			written += plen;
			continue;
		}
		err = zfs_page_publish(fs, in, idx, pre[i], &olds[nold]);
		if (err)
			break;
		pre[i] = hole;
		zfs_count_add(&fs->counters, pages_written, 1);
		if (!zfs_pte_is_hole(&olds[nold]))
			nold++;
		written += plen;
	}
	if (written) {
		/* Pieces at the edges may now be half stale (cluster.c). */
		zfs_cluster_tidy(fs, in, first);
		zfs_cluster_tidy(fs, in, (off + written - 1) >> ZFS_PAGE_SHIFT);
		if (off + written > in->size)
			in->size = off + written;
		zfs_now(&in->mtime);
		in->ctime = in->mtime;
	}
	zfs_unlock(in);

	for (i = 0; i < nold; i++)
		zfs_page_release(fs, &olds[i]);
	zfs_count_add(&fs->counters, notify_free, nold);
	for (i = 0; i < n; i++)
		zfs_page_release(fs, &pre[i]);
	if (written)
		zfs_note_pool_size(fs);
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
		/* Batches end on a cluster boundary and span at most BATCH pages. */
		uint64_t cbytes = (uint64_t)fs->cluster_pages * PAGE;
		size_t chunk = (size_t)((pos & ~(cbytes - 1)) + BATCH * PAGE - pos);
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
