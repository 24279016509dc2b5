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
 * to swap the entries in; old handles are freed after the unlock. A batch
 * with many full pages is encoded in parts by this thread and the helper
 * threads (workers.c) at once, so that one sequential writer keeps every core
 * compressing:
 *
 *   request  |head|  full  full  full ... full  |tail|
 *   phase A       [ this thread ][ a helper ]          no lock
 *   phase B  merge                              merge  write lock:
 *            publish every page in order, size, mtime  (short on error)
 *
 * A failing page (ENOSPC for size= or mem_limit, ENOMEM) ends the request
 * there: the bytes before it are written and reported, the failing page and
 * those after it are not touched, as on tmpfs.
 *
 * Reading runs under the inode's read lock, so readers of one file proceed
 * together and writers of other files are not in the way: hole or SAME ->
 * fill, else decode straight into the reply buffer.
 *
 * Locking: zfs_data_read() is called with the read lock held; the write path
 * takes the write lock itself. Counters are relaxed atomics.
 */
#include <errno.h>
#include <string.h>

#include "pagestore.h"
#include "workers.h"

#define PAGE ZFS_PAGE_SIZE
#define BATCH 256U

static const struct zfs_pte hole;

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
		if (zfs_pte_is_hole(&e)) {
			memset(buf + done, 0, n);
		} else if (n == PAGE) {
			err = zfs_page_decode(fs, &e, buf + done);
		} else {
			if (!page)
				page = zfs_thread_scratch();
			err = page ? zfs_page_decode(fs, &e, page) : -ENOMEM;
			if (!err)
				memcpy(buf + done, page + pofs, n);
		}
		if (err)
			return done ? (ssize_t)done : err;
		if (!zfs_pte_is_hole(&e))
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
		const char *src = p->data + (size_t)(i - p->from) * PAGE;
		int err = zfs_page_encode(p->fs, src, &p->pre[i]);

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
