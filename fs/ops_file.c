// SPDX-License-Identifier: MIT
/*
 * ops_file.c - open files: open, read, write, flush, release, fsync,
 * fallocate, lseek (SEEK_DATA/SEEK_HOLE).
 *
 * Design: regular files carry no per-open state (fh = 0) and keep the
 * kernel's page cache across opens (only the kernel changes them, so its
 * cache cannot go stale). Files of the statistics directory get a snapshot
 * per open (fh points to it, statsdir.c) and direct_io, since their size is
 * not known in advance. Reads run under the inode's read lock, so readers of
 * one file proceed together; writes lock inside data.c. The data lives in
 * the pool, so fsync has nothing to flush.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdint.h>
#include <unistd.h>

#include "ops.h"

void zfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in = zfs_iget(fs, ino);
	struct zfs_stats_fh *fh;
	int err = 0;

	zfs_readahead_apply(fs);
	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	if (in->special == ZFS_STATSFILE) {
		err = zfs_stats_open(req, in, fi->flags, &fh);
		if (!err) {
			fi->fh = (uintptr_t)fh;
			fi->direct_io = 1;
			fi->keep_cache = 0;
		}
		goto out;
	}
	if (zfs_is_dir(in)) {
		err = -EISDIR;
		goto out;
	}
	if (!zfs_is_reg(in)) {
		err = -ENXIO;
		goto out;
	}
	if (fi->flags & O_TRUNC) {
		struct timespec now;

		zfs_now(&now);
		zfs_wrlock(in);
		err = zfs_data_truncate(fs, in, 0);
		if (!err)
			in->mtime = in->ctime = now;
		zfs_unlock(in);
	}
	fi->fh = 0;
	fi->keep_cache = 1;
out:
	if (err)
		reply_err(req, err);
	else if (fuse_reply_open(req, fi) == -ENOENT && fi->fh)
		zfs_stats_release((struct zfs_stats_fh *)(uintptr_t)fi->fh);
	zfs_iput(fs, in);
}

void zfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in;
	struct timespec now;
	bool touch;
	ssize_t n;
	char *buf;

	zfs_readahead_apply(fs);
	if (fi->fh) {
		zfs_stats_read(req, (struct zfs_stats_fh *)(uintptr_t)fi->fh, size, off);
		return;
	}
	if (off < 0) {
		zfs_count_add(&fs->counters, invalid_io, 1);
		reply_err(req, -EINVAL);
		return;
	}
	in = zfs_iget(fs, ino);
	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	if (!zfs_is_reg(in)) {
		reply_err(req, zfs_is_dir(in) ? -EISDIR : -EINVAL);
		zfs_iput(fs, in);
		return;
	}
	buf = zfs_thread_buffer(size ? size : 1);
	if (!buf) {
		reply_err(req, -ENOMEM);
		zfs_iput(fs, in);
		return;
	}
	zfs_now(&now);
	zfs_rdlock(in);
	n = zfs_data_read(fs, in, buf, size, (uint64_t)off);
	touch = zfs_atime_due(fs, in, &now);
	zfs_unlock(in);
	if (n >= 0 && touch)
		zfs_touch_atime(fs, in);
	if (n < 0)
		reply_err(req, (int)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	zfs_iput(fs, in);
}

void zfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in;
	ssize_t n;

	if (fi->fh) {
		zfs_stats_write(req, (struct zfs_stats_fh *)(uintptr_t)fi->fh, buf, size);
		return;
	}
	if (off < 0) {
		zfs_count_add(&fs->counters, invalid_io, 1);
		reply_err(req, -EINVAL);
		return;
	}
	in = zfs_iget(fs, ino);
	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	if (!zfs_is_reg(in) || is_special(in)) {
		zfs_count_add(&fs->counters, invalid_io, 1);
		reply_err(req, zfs_is_dir(in) ? -EISDIR : -EINVAL);
	} else if (size == 0) {
		fuse_reply_write(req, 0);
	} else {
		n = zfs_data_write(fs, in, buf, size, (uint64_t)off);
		if (n < 0)
			reply_err(req, (int)n);
		else
			fuse_reply_write(req, (size_t)n);
	}
	zfs_iput(fs, in);
}

void zfs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	reply_err(req, 0);
}

void zfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (fi->fh)
		zfs_stats_release((struct zfs_stats_fh *)(uintptr_t)fi->fh);
	reply_err(req, 0);
}

void zfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	reply_err(req, 0);
}

void zfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
		      struct fuse_file_info *fi)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in;
	struct timespec now;
	int err;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		reply_err(req, -EOPNOTSUPP);
		return;
	}
	if ((mode & FALLOC_FL_PUNCH_HOLE) && (mode & FALLOC_FL_ZERO_RANGE)) {
		reply_err(req, -EOPNOTSUPP);
		return;
	}
	if (off < 0 || len <= 0) {
		reply_err(req, -EINVAL);
		return;
	}
	in = zfs_iget(fs, ino);
	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	if (is_special(in)) {
		err = -EPERM;
	} else if (!zfs_is_reg(in)) {
		err = zfs_is_dir(in) ? -EISDIR : -ENODEV;
	} else {
		zfs_now(&now);
		zfs_wrlock(in);
		err = zfs_data_fallocate(fs, in, mode, (uint64_t)off, (uint64_t)len);
		if (!err)
			in->mtime = in->ctime = now;
		zfs_unlock(in);
	}
	reply_err(req, err);
	zfs_iput(fs, in);
}

void zfs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in;
	uint64_t pos = 0;
	int err;

	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		reply_err(req, -EINVAL);
		return;
	}
	if (off < 0) {
		reply_err(req, -ENXIO);
		return;
	}
	in = zfs_iget(fs, ino);
	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	if (!zfs_is_reg(in) || is_special(in)) {
		err = -EINVAL;
	} else {
		zfs_rdlock(in);
		err = zfs_data_seek(fs, in, (uint64_t)off, whence, &pos);
		zfs_unlock(in);
	}
	if (err)
		reply_err(req, err);
	else
		fuse_reply_lseek(req, (off_t)pos);
	zfs_iput(fs, in);
}
