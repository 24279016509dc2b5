// SPDX-License-Identifier: MIT
/*
 * ops_dir.c - directory listing: opendir, readdir, releasedir, fsyncdir.
 *
 * Design: no per-open state. The offset handed to the kernel with each
 * entry is that entry's sequence number in its directory (dir.c): offsets 1
 * and 2 are "." and "..", and a readdir at offset N lists the entries whose
 * number is above N. An offset so stays meaningful while other threads add
 * and remove entries, and telldir()/seekdir() work at any time. A listing
 * runs under the directory's read lock and costs O(log n) to find its start
 * plus O(1) per entry. Reading a directory updates its access time
 * (relatime), as on tmpfs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

void zfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in = zfs_iget(fs, ino);

	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	if (!zfs_is_dir(in)) {
		reply_err(req, -ENOTDIR);
	} else {
		fi->fh = 0;
		fi->cache_readdir = 0;
		fuse_reply_open(req, fi);
	}
	zfs_iput(fs, in);
}

/* Add one entry; Return: false when the buffer is full. */
static bool add_entry(fuse_req_t req, char *buf, size_t size, size_t *pos, const char *name,
		      uint64_t ino, mode_t type, uint64_t next_off)
{
	struct stat st;
	size_t n;

	memset(&st, 0, sizeof(st));
	st.st_ino = ino;
	st.st_mode = type;
	n = fuse_add_direntry(req, buf + *pos, size - *pos, name, &st, (off_t)next_off);
	if (n > size - *pos)
		return false;
	*pos += n;
	return true;
}

void zfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in = zfs_iget(fs, ino);
	struct zfs_dirent *de;
	struct timespec now;
	size_t pos = 0;
	bool touch;
	char *buf;

	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	if (!zfs_is_dir(in)) {
		reply_err(req, -ENOTDIR);
		zfs_iput(fs, in);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		reply_err(req, -ENOMEM);
		zfs_iput(fs, in);
		return;
	}
	zfs_now(&now);
	zfs_rdlock(in);
	if (off < 1 && !add_entry(req, buf, size, &pos, ".", in->ino, S_IFDIR, 1))
		goto full;
	if (off < 2) {
		struct zfs_inode *up = in->dir->parent ? in->dir->parent : in;

		if (!add_entry(req, buf, size, &pos, "..", up->ino, S_IFDIR, 2))
			goto full;
	}
	/* A directory removed while open lists nothing more. */
	for (de = in->nlink ? zfs_dir_next(in->dir, off < 2 ? 2 : (uint64_t)off) : NULL; de;
	     de = zfs_dir_next(in->dir, de->seq)) {
		if (!add_entry(req, buf, size, &pos, de->name, de->inode->ino,
			       (mode_t)de->dtype << 12, de->seq))
			break;
	}
full:
	touch = zfs_atime_due(fs, in, &now);
	zfs_unlock(in);
	if (touch)
		zfs_touch_atime(fs, in);
	fuse_reply_buf(req, buf, pos);
	free(buf);
	zfs_iput(fs, in);
}

void zfs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	reply_err(req, 0);
}

void zfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	reply_err(req, 0);
}
