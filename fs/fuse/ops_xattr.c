// SPDX-License-Identifier: MIT
/*
 * ops_xattr.c - extended attributes: setxattr, getxattr, listxattr,
 * removexattr, with tmpfs's namespaces and ACLs.
 *
 * Design: the kernel already applies the VFS rules before a request gets
 * here (user.* needs read or write permission and exists only on files and
 * directories, trusted.* and security.* need privileges, ACL values are
 * checked and converted); this file applies them again where a rule decides
 * the answer tmpfs gives, stores the values (xattr.c), and keeps the mode in
 * step with system.posix_acl_access: an access ACL that says nothing beyond
 * the mode is not kept, as tmpfs drops it. Every change sets ctime.
 * user.zpool.stat is synthetic: on a regular file it reports the file's
 * storage (statsdir.c) when asked for by name, and cannot be set or removed
 * (EPERM). It is not listed: cp -a and rsync -X copy every listed name, so
 * listing it cost each copied file two GETXATTRs and a failing SETXATTR here
 * and left a stale copy of it on every file copied out to another
 * filesystem (virtual attributes of CephFS are unlisted for the same reason).
 * trusted.zpool.inode is synthetic too, on every inode, for root: the
 * attributes the daemon holds, read past the kernel's caches (the test of
 * cached attributes compares them with stat); it is not listed and cannot
 * be set or removed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "ops.h"
#include "stats.h"
#include "xattr.h"

#define XATTR_VALUE_MAX 65536
#define ZFS_INODE_XATTR "trusted.zpool.inode"

static bool has_prefix(const char *name, const char *prefix)
{
	return !strncmp(name, prefix, strlen(prefix));
}

/* May this caller use attribute @name of @in at all? Return: 0 or -errno. */
static int check_namespace(fuse_req_t req, const struct zfs_inode *in, const char *name,
			   bool write)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	if (strlen(name) > 255 || !*name)
		return -ERANGE;
	if (has_prefix(name, "user.")) {
		if (!zfs_is_reg(in) && !zfs_is_dir(in))
			return write ? -EPERM : -ENODATA;
		return 0;
	}
	if (has_prefix(name, "trusted."))
		return ctx->uid == 0 ? 0 : (write ? -EPERM : -ENODATA);
	if (has_prefix(name, "security."))
		return 0;
	if (!strcmp(name, ZFS_ACL_ACCESS))
		return S_ISLNK(in->ftype) ? -EOPNOTSUPP : 0;
	if (!strcmp(name, ZFS_ACL_DEFAULT)) {
		if (!zfs_is_dir(in))
			return write ? -EACCES : -ENODATA;
		return 0;
	}
	return -EOPNOTSUPP;
}

static bool is_stat_xattr(const struct zfs_inode *in, const char *name)
{
	return (zfs_is_reg(in) && !strcmp(name, ZFS_STATS_XATTR)) ||
	       !strcmp(name, ZFS_INODE_XATTR);
}

/* trusted.zpool.inode: "ino= mode= nlink= uid= gid= rdev= size= blocks= atime= mtime= ctime=" */
static size_t inode_xattr(const struct zfs_fs *fs, struct zfs_inode *in, char *buf, size_t size)
{
	struct stat st;
	int n;

	zfs_rdlock(in);
	zfs_inode_stat(fs, in, &st);
	zfs_unlock(in);
	n = snprintf(buf, size,
		     "ino=%llu mode=%o nlink=%llu uid=%u gid=%u rdev=%llu size=%lld blocks=%lld "
		     "atime=%lld.%09ld mtime=%lld.%09ld ctime=%lld.%09ld",
		     (unsigned long long)st.st_ino, (unsigned int)st.st_mode,
		     (unsigned long long)st.st_nlink, (unsigned int)st.st_uid,
		     (unsigned int)st.st_gid, (unsigned long long)st.st_rdev,
		     (long long)st.st_size, (long long)st.st_blocks, (long long)st.st_atim.tv_sec,
		     st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		     (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	return n < 0 ? 0 : (size_t)n;
}

/* Store or drop an access ACL and take the mode from it. Context: inode write lock. */
static int set_access_acl(struct zfs_inode *in, const char *value, size_t size, int flags)
{
	mode_t perm;
	int keep = zfs_acl_mode(value, size, &perm);
	bool present = zfs_xattr_find(in->xattrs, ZFS_ACL_ACCESS) != NULL;

	if (keep < 0)
		return keep;
	if ((flags & XATTR_CREATE) && present)
		return -EEXIST;
	if ((flags & XATTR_REPLACE) && !present)
		return -ENODATA;
	if (keep) {
		int err = zfs_xattr_set(&in->xattrs, ZFS_ACL_ACCESS, value, size, 0);

		if (err)
			return err;
	} else if (present) {
		zfs_xattr_remove(&in->xattrs, ZFS_ACL_ACCESS);
	}
	in->mode = (in->mode & ~(mode_t)0777) | perm;
	return 0;
}

/* Whether the caller may set or remove attribute @name of @in: 0 or -errno. */
static int may_change_xattr(fuse_req_t req, struct zfs_inode *in, const char *name)
{
	if (is_special(in) || is_stat_xattr(in, name))
		return -EPERM;
	return check_namespace(req, in, name, true);
}

void zfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		     size_t size, int flags)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in = zfs_iget(fs, ino);
	int err;

	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	err = may_change_xattr(req, in, name);
	if (err)
		goto out;
	if (size > XATTR_VALUE_MAX || (flags & ~(XATTR_CREATE | XATTR_REPLACE))) {
		err = size > XATTR_VALUE_MAX ? -E2BIG : -EINVAL;
		goto out;
	}
	if ((!strcmp(name, ZFS_ACL_ACCESS) || !strcmp(name, ZFS_ACL_DEFAULT)) &&
	    zfs_acl_check(value, size) < 0) {
		err = -EINVAL;
		goto out;
	}
	zfs_wrlock(in);
	if (!strcmp(name, ZFS_ACL_ACCESS))
		err = set_access_acl(in, value, size, flags);
	else
		err = zfs_xattr_set(&in->xattrs, name, value, size, flags);
	if (!err)
		zfs_now(&in->ctime);
	zfs_unlock(in);
out:
	reply_err(req, err);
	zfs_iput(fs, in);
}

static void reply_value(fuse_req_t req, const void *value, size_t len, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		reply_err(req, -ERANGE);
	else
		fuse_reply_buf(req, value, len);
}

void zfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in = zfs_iget(fs, ino);
	struct zfs_xattr *x;
	int err;

	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	if (!strcmp(name, ZFS_INODE_XATTR)) {
		char buf[512];
		size_t len = inode_xattr(fs, in, buf, sizeof(buf));

		if (fuse_req_ctx(req)->uid != 0)
			reply_err(req, -ENODATA);
		else
			reply_value(req, buf, len, size);
		goto out;
	}
	if (is_stat_xattr(in, name) && !is_special(in)) {
		char buf[512];
		size_t len = zfs_stats_usage_xattr(in, buf, sizeof(buf));

		if (len > sizeof(buf))
			reply_err(req, -ERANGE);
		else
			reply_value(req, buf, len, size);
		goto out;
	}
	err = check_namespace(req, in, name, false);
	if (err) {
		reply_err(req, err);
		goto out;
	}
	zfs_rdlock(in);
	x = zfs_xattr_find(in->xattrs, name);
	if (!x)
		reply_err(req, -ENODATA);
	else
		reply_value(req, x->value, x->vlen, size);
	zfs_unlock(in);
out:
	zfs_iput(fs, in);
}

void zfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in = zfs_iget(fs, ino);
	bool privileged = fuse_req_ctx(req)->uid == 0;
	size_t need = 0, pos = 0;
	struct zfs_xattr *x;
	char *buf;

	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	zfs_rdlock(in);
	for (x = in->xattrs; x; x = x->next)
		if (privileged || !has_prefix(x->name, "trusted."))
			need += strlen(x->name) + 1;
	if (size == 0) {
		fuse_reply_xattr(req, need);
	} else if (size < need) {
		reply_err(req, -ERANGE);
	} else if (!(buf = malloc(need ? need : 1))) {
		reply_err(req, -ENOMEM);
	} else {
		for (x = in->xattrs; x; x = x->next) {
			if (privileged || !has_prefix(x->name, "trusted.")) {
				memcpy(buf + pos, x->name, strlen(x->name) + 1);
				pos += strlen(x->name) + 1;
			}
		}
		fuse_reply_buf(req, buf, pos);
		free(buf);
	}
	zfs_unlock(in);
	zfs_iput(fs, in);
}

void zfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in = zfs_iget(fs, ino);
	int err;

	if (!in) {
		reply_err(req, -ENOENT);
		return;
	}
	err = may_change_xattr(req, in, name);
	if (err)
		goto out;
	zfs_wrlock(in);
	err = zfs_xattr_remove(&in->xattrs, name);
	if (!err)
		zfs_now(&in->ctime);
	zfs_unlock(in);
out:
	reply_err(req, err);
	zfs_iput(fs, in);
}
