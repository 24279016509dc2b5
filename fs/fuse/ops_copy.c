// SPDX-License-Identifier: MIT
/*
 * ops_copy.c - copy_file_range: the FUSE side of share.c.
 *
 * Design: the kernel has checked the open modes, the ranges (a copy inside
 * one file must not overlap), flushed the source's dirty pages and will drop
 * what it cached of the destination's range when we reply, so this handler
 * only turns node ids into inodes and replies with the bytes copied, which
 * may be fewer than asked (FUSE's reply counts in 32 bits: at most
 * ZFS_COPY_MAX a call; coreutils' cp asks again for the rest). Statistics
 * files and other non-regular files are refused with EINVAL, as the kernel
 * does for them; flags must be 0 (there are none yet). No lock here.
 */
#include <errno.h>

#include "ops.h"
#include "share.h"

void zfs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			    struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			    struct fuse_file_info *fi_out, size_t len, int flags)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *src, *dst = NULL;
	ssize_t n;

	if (flags) {
		reply_err(req, -EINVAL);
		return;
	}
	if (off_in < 0 || off_out < 0) {
		zfs_count_add(&fs->counters, invalid_io, 1);
		reply_err(req, -EINVAL);
		return;
	}
	src = zfs_iget(fs, ino_in);
	if (src)
		dst = zfs_iget(fs, ino_out);
	if (!src || !dst) {
		n = -ENOENT;
	} else if (!zfs_is_reg(src) || !zfs_is_reg(dst)) {
		n = zfs_is_dir(src) || zfs_is_dir(dst) ? -EISDIR : -EINVAL;
	} else if (is_special(src) || is_special(dst) || stats_fh(fi_in) || stats_fh(fi_out)) {
		zfs_count_add(&fs->counters, invalid_io, 1);
		n = -EINVAL;
	} else {
		n = zfs_copy_range(fs, src, (uint64_t)off_in, dst, (uint64_t)off_out, len);
	}
	if (n < 0)
		reply_err(req, (int)n);
	else
		fuse_reply_write(req, (size_t)n);
	zfs_iput(fs, dst);
	zfs_iput(fs, src);
}
