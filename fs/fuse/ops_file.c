// SPDX-License-Identifier: MIT
/*
 * ops_file.c - open files: open, read, write, release, fsync (no flush:
 * see ops.c), fallocate, lseek (SEEK_DATA/SEEK_HOLE).
 *
 * Design: regular files carry no per-open state, only a tag in fh saying how
 * the open was granted (ops.h). Most opens go through the kernel's page
 * cache and keep it across opens (only the kernel changes the files, so its
 * cache cannot go stale). An open for writing only is granted direct_io
 * instead when no open of the file uses the page cache: its writes then
 * reach us straight from the writer's buffer (the kernel pins those pages
 * and copies them once, into our request buffer) rather than being copied
 * into page cache pages first, a quarter of the time a 1 MiB write takes,
 * and nothing of a file being written is kept uncompressed in the page
 * cache. As long as such an open exists, every other open of the file gets
 * direct_io too (read through it, the file comes from us, never from pages
 * cached before our last write), and a direct open drops what the kernel had
 * cached of the file when it is made (no keep_cache): the page cache and the
 * direct opens never serve the same file at once. The price: a shared mmap
 * of a file that is open write-only elsewhere fails with ENODEV (FUSE cannot
 * map direct_io files shared, unless DIRECT_IO_ALLOW_MMAP, which libfuse
 * 3.14 cannot ask for). An open that would use the page cache waits a
 * moment for the direct opens' RELEASEs (wait_direct_released()), so a file
 * closed by its writer maps shared even when a RELEASE and the next OPEN are
 * served out of order. Files with set-id bits are opened through the page
 * cache, where the kernel asks us to clear the bits before a write (an empty
 * SETATTR, see killpriv.c); a direct write finds bits set after the open
 * (chmod meanwhile) and clears them itself, unless the writer holds
 * CAP_FSETID, and removes security.capability, whoever writes.
 *
 * Files of the statistics directory get a snapshot per open (fh points to
 * it, statsdir.c) and direct_io, since their size is not known in advance.
 * Reads run under the inode's read lock, so readers of one file proceed
 * together; writes lock inside data.c. The data lives in the pool, so fsync
 * has nothing to flush. The open counts live in the inode, under its lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "ops.h"
#include "replybuf.h"

/*
 * An open that would go through the page cache but finds a direct open of
 * the file waits up to RELEASE_WAIT_MS for the direct opens to be released.
 * The kernel queues close()'s RELEASE before a following open()'s OPEN, but
 * two request threads may serve them in either order; served late, the
 * RELEASE of a write-only open made the next open direct_io, and a shared
 * mmap of it then failed with ENODEV. The wait costs nothing in the usual
 * case (no direct open) and at most RELEASE_WAIT_MS when a writer really
 * holds the file open; with one request thread it always times out (the
 * RELEASE waits behind us), and the open is direct as before.
 */
#define RELEASE_WAIT_MS 20

static pthread_mutex_t release_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t release_cond = PTHREAD_COND_INITIALIZER;
static atomic_int release_waiters;

static void wait_direct_released(struct zfs_inode *in)
{
	struct timespec until = zfs_deadline_ms(RELEASE_WAIT_MS);
	unsigned int n;

	atomic_fetch_add(&release_waiters, 1);
	pthread_mutex_lock(&release_lock);
	for (;;) {
		zfs_rdlock(in);
		n = in->file.direct_opens;
		zfs_unlock(in);
		/* (a release after this check posts under release_lock: not lost) */
		if (!n || pthread_cond_timedwait(&release_cond, &release_lock, &until))
			break;
	}
	pthread_mutex_unlock(&release_lock);
	atomic_fetch_sub(&release_waiters, 1);
}

/* Would this open go through the page cache, were no direct open there? Context: the inode's lock. */
static bool wants_page_cache(const struct zfs_inode *in, const struct fuse_file_info *fi)
{
	return (fi->flags & O_ACCMODE) != O_WRONLY || in->file.cached_opens ||
	       zfs_setid_to_kill(in->mode);
}

void zfs_file_open_mode(struct zfs_fs *fs, struct zfs_inode *in, struct fuse_file_info *fi)
{
	bool direct;

	zfs_wrlock(in);
	if (!fs->opt.writeback && in->file.direct_opens && wants_page_cache(in, fi)) {
		zfs_unlock(in);
		wait_direct_released(in);
		zfs_wrlock(in);
	}
	/* with the writeback cache, writes are gathered in the page cache: never direct */
	direct = !fs->opt.writeback && (in->file.direct_opens || !wants_page_cache(in, fi));
	if (direct)
		in->file.direct_opens++;
	else
		in->file.cached_opens++;
	zfs_unlock(in);
	fi->direct_io = direct;
	fi->keep_cache = !direct;
	fi->fh = direct ? ZFS_FH_DIRECT : ZFS_FH_CACHED;
}

void zfs_file_open_undo(struct zfs_inode *in, const struct fuse_file_info *fi)
{
	bool last_direct = false;

	zfs_wrlock(in);
	if (fi->fh == ZFS_FH_DIRECT)
		last_direct = --in->file.direct_opens == 0;
	else
		in->file.cached_opens--;
	zfs_unlock(in);
	if (last_direct && atomic_load(&release_waiters)) {
		pthread_mutex_lock(&release_lock);
		pthread_cond_broadcast(&release_cond);
		pthread_mutex_unlock(&release_lock);
	}
}

/*
 * A direct write gets nothing from the kernel (it clears set-id bits and
 * security.capability on its page-cache path only), so do it here
 * (killpriv.c); the kernel's cached attributes are dropped (attributes only:
 * no page to wait for) so stat sees it.
 */
static void kill_priv_on_write(fuse_req_t req, struct zfs_fs *fs, struct zfs_inode *in)
{
	bool setid, killed;

	zfs_rdlock(in);
	setid = zfs_has_priv(in, false);
	killed = zfs_has_priv(in, true);
	zfs_unlock(in);
	if (!killed)
		return;
	setid = setid && !zfs_caller_has_fsetid(req);
	zfs_wrlock(in);
	killed = zfs_kill_priv(in, setid, true);
	if (killed)
		zfs_now(&in->ctime);
	zfs_unlock(in);
	if (killed && fs->se)
		fuse_lowlevel_notify_inval_inode(fs->se, in->ino, -1, 0);
}

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
		bool setid, killed = false;

		/* the kernel sends nothing for the set-id bits here (killpriv.c) */
		zfs_rdlock(in);
		setid = zfs_has_priv(in, false);
		zfs_unlock(in);
		setid = setid && !zfs_caller_has_fsetid(req);
		zfs_now(&now);
		zfs_wrlock(in);
		err = zfs_data_truncate(fs, in, 0);
		if (!err) {
			in->mtime = in->ctime = now;
			killed = zfs_kill_priv(in, setid, false);
		}
		zfs_unlock(in);
		if (err)
			goto out;
		if (killed && fs->se)
			fuse_lowlevel_notify_inval_inode(fs->se, in->ino, -1, 0);
	}
	zfs_file_open_mode(fs, in, fi);
out:
	if (err) {
		reply_err(req, err);
	} else if (fuse_reply_open(req, fi) == -ENOENT) {
		/* The open was interrupted: no release will come for it. */
		if (stats_fh(fi))
			zfs_stats_release(stats_fh(fi));
		else
			zfs_file_open_undo(in, fi);
	}
	zfs_iput(fs, in);
}

/*
 * The inode a read or write at @off goes to, referenced; NULL once the error
 * (a negative offset, counted as invalid I/O, or a vanished inode) is replied.
 */
static struct zfs_inode *io_inode(fuse_req_t req, struct zfs_fs *fs, fuse_ino_t ino, off_t off)
{
	struct zfs_inode *in;

	if (off < 0) {
		zfs_count_add(&fs->counters, invalid_io, 1);
		reply_err(req, -EINVAL);
		return NULL;
	}
	in = zfs_iget(fs, ino);
	if (!in)
		reply_err(req, -ENOENT);
	return in;
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
	if (stats_fh(fi)) {
		zfs_stats_read(req, stats_fh(fi), size, off);
		return;
	}
	in = io_inode(req, fs, ino, off);
	if (!in)
		return;
	if (!zfs_is_reg(in)) {
		reply_err(req, zfs_is_dir(in) ? -EISDIR : -EINVAL);
		zfs_iput(fs, in);
		return;
	}
	buf = zfs_replybuf_get(size);
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
	zfs_replybuf_put(buf, size);
	zfs_iput(fs, in);
}

void zfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in;
	ssize_t n;

	if (stats_fh(fi)) {
		zfs_stats_write(req, stats_fh(fi), buf, size);
		return;
	}
	in = io_inode(req, fs, ino, off);
	if (!in)
		return;
	if (!zfs_is_reg(in) || is_special(in)) {
		zfs_count_add(&fs->counters, invalid_io, 1);
		reply_err(req, zfs_is_dir(in) ? -EISDIR : -EINVAL);
	} else if (size == 0) {
		fuse_reply_write(req, 0);
	} else {
		if (fi->fh == ZFS_FH_DIRECT)
			kill_priv_on_write(req, fs, in);
		n = zfs_data_write(fs, in, buf, size, (uint64_t)off);
		if (n < 0)
			reply_err(req, (int)n);
		else
			fuse_reply_write(req, (size_t)n);
	}
	zfs_iput(fs, in);
}

void zfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in;

	if (stats_fh(fi)) {
		zfs_stats_release(stats_fh(fi));
	} else if (fi->fh) {
		/* The kernel holds a reference until this reply, so the inode is there. */
		in = zfs_iget(fs, ino);
		if (in) {
			zfs_file_open_undo(in, fi);
			zfs_iput(fs, in);
		}
	}
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
