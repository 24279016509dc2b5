// SPDX-License-Identifier: MIT
/*
 * ops_attr.c - attributes: getattr, setattr (chmod, chown, truncate,
 * utimens), readlink, statfs, and the access-time rule.
 *
 * Design: an inode's attributes live under its lock; setattr applies every
 * requested change under one write lock, so a stat never sees half of it.
 * The kernel checks who may change what (default_permissions); set-id bits
 * are ours to clear on chown and truncate, and when the kernel sends a
 * SETATTR with no attribute in it (HANDLE_KILLPRIV: killpriv.c); here every
 * change sets ctime and a size change sets mtime too, as on tmpfs. Truncating
 * to the size a file already has: ftruncate(2) (the request carries a file
 * handle) sets both times; truncate(2) sets them only if the file holds
 * pages (tmpfs then runs its truncation, which stamps the times). chmod keeps
 * an access ACL in step with the new mode (FUSE_CAP_POSIX_ACL makes that the
 * filesystem's job). Access times follow relatime, tmpfs's default, unless
 * the mount says noatime, strictatime or nodiratime.
 */
#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>

#include "ops.h"
#include "xattr.h"

bool zfs_atime_due(const struct zfs_fs *fs, const struct zfs_inode *in, const struct timespec *now)
{
	const struct timespec *a = &in->atime;

	if (fs->opt.atime == ZFS_NOATIME || (fs->opt.nodiratime && zfs_is_dir(in)))
		return false;
	if (fs->opt.atime == ZFS_STRICTATIME)
		return true;
	if (in->mtime.tv_sec > a->tv_sec ||
	    (in->mtime.tv_sec == a->tv_sec && in->mtime.tv_nsec >= a->tv_nsec))
		return true;
	if (in->ctime.tv_sec > a->tv_sec ||
	    (in->ctime.tv_sec == a->tv_sec && in->ctime.tv_nsec >= a->tv_nsec))
		return true;
	return now->tv_sec - a->tv_sec >= 24 * 60 * 60;
}

void zfs_touch_atime(const struct zfs_fs *fs, struct zfs_inode *in)
{
	struct timespec now;

	zfs_now(&now);
	zfs_wrlock(in);
	if (zfs_atime_due(fs, in, &now))
		in->atime = now;
	zfs_unlock(in);
}

void zfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in = zfs_iget(fs, ino);
	struct stat st;

	zfs_readahead_apply(fs);
	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	zfs_rdlock(in);
	zfs_inode_stat(fs, in, &st);
	zfs_unlock(in);
	fuse_reply_attr(req, &st, fs->timeout);
	zfs_iput(fs, in);
}

static void set_mode(struct zfs_inode *in, mode_t mode)
{
	struct zfs_xattr *acl = zfs_xattr_find(in->xattrs, ZFS_ACL_ACCESS);

	in->mode = in->ftype | (mode & 07777);
	if (acl)
		zfs_acl_chmod(acl->value, acl->vlen, in->mode);
}

void zfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		    struct fuse_file_info *fi)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in = zfs_iget(fs, ino);
	/* all but ctime, which alone is chown(-1, -1) under the writeback cache */
	const int attrs = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
			  FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
			  FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW;
	bool kill = false, killed = false;
	struct timespec now;
	struct stat st;
	int err = 0;

	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	if (is_special(in)) {
		err = -EPERM;
		goto out;
	}
	/* Set-id bits to clear (killpriv.c); the /proc read stays outside the lock. */
	if ((to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) && !(to_set & FUSE_SET_ATTR_MODE)) {
		kill = true;
	} else if ((to_set & FUSE_SET_ATTR_SIZE) || !(to_set & attrs)) {
		zfs_rdlock(in);
		kill = zfs_has_priv(in, false);
		zfs_unlock(in);
		kill = kill && !zfs_caller_has_fsetid(req);
	}
	zfs_now(&now);
	zfs_wrlock(in);
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (zfs_is_dir(in))
			err = -EISDIR;
		else if (!zfs_is_reg(in))
			err = -EINVAL;
		else if (attr->st_size < 0)
			err = -EINVAL;
		else if ((uint64_t)attr->st_size != in->size)
			err = zfs_data_truncate(fs, in, (uint64_t)attr->st_size);
		else if (!fi && in->file.pages == 0)
			goto same_size;	/* see below */
		if (err)
			goto out_unlock;
		in->mtime = now;
		in->ctime = now;
	}
same_size:
	if (to_set & FUSE_SET_ATTR_MODE)
		set_mode(in, attr->st_mode);
	if (to_set & FUSE_SET_ATTR_UID)
		in->uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		in->gid = attr->st_gid;
	if (kill)
		killed = zfs_kill_priv(in, true, false);
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		in->atime = now;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		in->atime = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		in->mtime = now;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		in->mtime = attr->st_mtim;
	if (to_set & FUSE_SET_ATTR_CTIME)
		in->ctime = attr->st_ctim;
	else if ((to_set & ~FUSE_SET_ATTR_SIZE) || killed)
		in->ctime = now;	/* chmod, chown, utimes: the kernel asked for ctime */
out_unlock:
	zfs_inode_stat(fs, in, &st);
	zfs_unlock(in);
out:
	if (err)
		reply_err(req, err);
	else
		fuse_reply_attr(req, &st, fs->timeout);
	zfs_iput(fs, in);
}

void zfs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in = zfs_iget(fs, ino);

	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	if (!S_ISLNK(in->ftype)) {
		reply_err(req, -EINVAL);
	} else {
		/* The target never changes, but the lock keeps the rule simple. */
		zfs_rdlock(in);
		fuse_reply_readlink(req, in->target ? in->target : "");
		zfs_unlock(in);
	}
	zfs_iput(fs, in);
}

void zfs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct zfs_fs *fs = req_fs(req);
	unsigned long used = atomic_load_explicit(&fs->pages_charged, memory_order_relaxed);
	unsigned long inodes = atomic_load_explicit(&fs->inodes_used, memory_order_relaxed);
	struct statvfs sv;

	zfs_readahead_apply(fs);
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = ZFS_PAGE_SIZE;
	sv.f_frsize = ZFS_PAGE_SIZE;
	sv.f_namemax = ZFS_NAME_MAX;
	if (fs->opt.size_pages) {
		sv.f_blocks = fs->opt.size_pages;
		sv.f_bfree = used < fs->opt.size_pages ? fs->opt.size_pages - used : 0;
		sv.f_bavail = sv.f_bfree;
	}
	if (fs->opt.nr_inodes) {
		sv.f_files = fs->opt.nr_inodes;
		sv.f_ffree = inodes < fs->opt.nr_inodes ? fs->opt.nr_inodes - inodes : 0;
		sv.f_favail = sv.f_ffree;
	}
	fuse_reply_statfs(req, &sv);
}
