// SPDX-License-Identifier: MIT
/*
 * range.c - operations on ranges of a file's pages: truncate, fallocate
 * (allocate, keep size, punch hole, zero range), SEEK_DATA/SEEK_HOLE, and
 * dropping every page of a file that is freed.
 *
 * Design
 * ------
 * Bytes past EOF: only the page that holds EOF may keep stale bytes after it
 * (truncate does not rewrite that page, so shrinking never allocates and
 * never fails); whatever raises the size first zeroes them
 * (zfs_page_zero_eof_tail()). Shrinking frees every page past the new EOF
 * page, including pages fallocate(KEEP_SIZE) put there, as tmpfs does.
 *
 *   size:        |<------------- i_size ------------->|
 *   pages:  [ 0 ][ 1 ][ hole ][ 3 ][ EOF page: data|stale ][ kept past EOF ]
 *
 * fallocate's default mode turns the holes of the range into same-filled zero
 * pages (counted in st_blocks and size=, no pool memory), all or nothing:
 * the pages are charged against size= before any is added. Punching frees
 * whole pages and zeroes partial ones; zeroing a range does the same but
 * leaves whole pages allocated as zero pages.
 *
 * Locking: every function here runs under the inode's write lock (seek
 * under its read lock).
 */
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <linux/falloc.h>

#include "cluster.h"
#include "pagestore.h"

#define PAGE ZFS_PAGE_SIZE

int zfs_data_truncate(struct zfs_fs *fs, struct zfs_inode *in, uint64_t size)
{
	int err;

	if (size > ZFS_MAX_FILE_SIZE)
		return -EFBIG;
	if (size < in->size) {
		zfs_page_free_range(fs, in, (size + PAGE - 1) >> ZFS_PAGE_SHIFT, UINT64_MAX);
	} else if (size > in->size) {
		err = zfs_page_zero_eof_tail(fs, in);
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
		return zfs_page_rewrite(fs, in, off >> ZFS_PAGE_SHIFT, off & (PAGE - 1),
					end & (PAGE - 1), NULL, 0, 0);
	}
	if (off & (PAGE - 1)) {
		err = zfs_page_rewrite(fs, in, off >> ZFS_PAGE_SHIFT, off & (PAGE - 1), PAGE,
				       NULL, 0, 0);
		if (err)
			return err;
	}
	if (end & (PAGE - 1)) {
		err = zfs_page_rewrite(fs, in, end_full, 0, end & (PAGE - 1), NULL, 0, 0);
		if (err)
			return err;
	}
	if (punch) {
		zfs_page_free_range(fs, in, first_full, end_full);
		return 0;
	}
	/* ZERO_RANGE: whole pages become allocated zero pages. */
	for (uint64_t idx = first_full; idx < end_full; idx++) {
		struct zfs_pte z = zfs_pte_make(ZFS_PTE_SAME, 0, 0), old;

		err = zfs_page_publish(fs, in, idx, z, &old);
		if (err)
			return err;
		if (!zfs_pte_is_hole(&old)) {
			zfs_page_release(fs, &old);
			zfs_count_add(&fs->counters, notify_free, 1);
		}
	}
	if (first_full < end_full) {
		zfs_cluster_tidy(fs, in, first_full);
		zfs_cluster_tidy(fs, in, end_full - 1);
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
		if (!zfs_pte_is_hole(&e))
			continue;
		/* Already charged: store directly, not through zfs_page_publish(). */
		if (zfs_ptab_store(&in->file.pt, idx, z, &old)) {
			zfs_uncharge_pages(fs, (unsigned long)need);
			return -ENOMEM;
		}
		zfs_page_account(fs, in, &z, 1);
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
		err = zfs_page_zero_eof_tail(fs, in);
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
	zfs_page_free_range(fs, in, 0, UINT64_MAX);
	zfs_ptab_destroy(&in->file.pt);
}
