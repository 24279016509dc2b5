// SPDX-License-Identifier: MIT
/*
 * ops_namei.c - names: lookup, forget, mknod, mkdir, symlink, create, link,
 * unlink, rmdir (rename is in ops_rename.c).
 *
 * Design: every change of a directory happens under its inode's write lock,
 * together with the locks of the inodes it links or unlinks, which are held
 * by a reference so that a concurrent forget cannot free them mid-change.
 * Several inode locks are always taken in inode number order, an order that
 * does not change when the tree does: an operation that finds (under its
 * directory's lock) that it needs a lower-numbered inode lets go, takes them
 * all in order and looks again.
 * The kernel has already checked permissions (default_permissions) and the
 * sticky bit; this file keeps tmpfs's answers for everything that reaches it,
 * including what a confused or malicious request could send (names longer
 * than 255 bytes, touching .zpool).
 * Directory sizes and link counts follow tmpfs: 20 bytes per entry, 40 for an
 * empty directory; 2 + subdirectories links.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "xattr.h"

int zfs_check_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return -ENOENT;
	if (len > ZFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (strchr(name, '/'))
		return -EINVAL;
	return 0;
}

void zfs_fill_entry(struct zfs_fs *fs, struct zfs_inode *in, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	zfs_rdlock(in);
	zfs_inode_stat(fs, in, &e->attr);
	zfs_unlock(in);
	e->ino = in->ino;
	e->generation = 0;
	e->attr_timeout = fs->timeout;
	e->entry_timeout = fs->timeout;
	zfs_inode_lookup_ref(fs, in);
}

void zfs_touch_dir(struct zfs_inode *dir, const struct timespec *now)
{
	dir->mtime = *now;
	dir->ctime = *now;
}

/* Reply with the new entry, or with the error. Drops the caller's reference. */
static void reply_new(fuse_req_t req, struct zfs_inode *in, int err)
{
	struct zfs_fs *fs = req_fs(req);
	struct fuse_entry_param e;

	if (err) {
		reply_err(req, err);
		return;
	}
	zfs_fill_entry(fs, in, &e);
	fuse_reply_entry(req, &e);
	zfs_iput(fs, in);
}

/*
 * The directory @name is looked up or removed in, referenced; NULL once the
 * error (name too long, no such inode, not a directory) is replied.
 */
static struct zfs_inode *parent_dir(fuse_req_t req, struct zfs_fs *fs, fuse_ino_t parent,
				    const char *name)
{
	struct zfs_inode *dir;

	if (strlen(name) > ZFS_NAME_MAX) {
		reply_err(req, -ENAMETOOLONG);
		return NULL;
	}
	dir = zfs_iget(fs, parent);
	if (!dir) {
		reply_err(req, -ENOENT);
		return NULL;
	}
	if (!zfs_is_dir(dir)) {
		reply_err(req, -ENOTDIR);
		zfs_iput(fs, dir);
		return NULL;
	}
	return dir;
}

void zfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *dir, *in = NULL;
	struct fuse_entry_param e;

	zfs_readahead_apply(fs);
	dir = parent_dir(req, fs, parent, name);
	if (!dir)
		return;
	zfs_rdlock(dir);
	if (!strcmp(name, ".")) {
		in = dir;
	} else if (!strcmp(name, "..")) {
		in = dir->dir->parent ? dir->dir->parent : dir;
	} else {
		struct zfs_dirent *de = zfs_dir_find(dir->dir, name, strlen(name));

		in = de ? de->inode : NULL;
	}
	if (in)
		in = zfs_iget(fs, in->ino);
	zfs_unlock(dir);
	if (!in) {
		/* A negative entry the kernel may cache: only it changes this tree. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->timeout;
		fuse_reply_entry(req, &e);
		zfs_iput(fs, dir);
		return;
	}
	zfs_fill_entry(fs, in, &e);
	fuse_reply_entry(req, &e);
	zfs_iput(fs, in);
	zfs_iput(fs, dir);
}

void zfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	zfs_inode_forget(req_fs(req), ino, nlookup);
	fuse_reply_none(req);
}

void zfs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		zfs_inode_forget(req_fs(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

/* A new inode's access ACL from the directory's default ACL (POSIX.1e), or the umask. */
static int inherit_acl(const struct fuse_ctx *ctx, struct zfs_inode *dir, mode_t *mode,
		       void **acl, size_t *acl_len, int *keep)
{
	struct zfs_xattr *dacl = zfs_xattr_find(dir->xattrs, ZFS_ACL_DEFAULT);

	*acl = NULL;
	*keep = 0;
	if (S_ISLNK(*mode))
		return 0;
	if (!dacl) {
		*mode &= ~(ctx->umask & 0777);
		return 0;
	}
	*acl = malloc(dacl->vlen);
	if (!*acl)
		return -ENOMEM;
	memcpy(*acl, dacl->value, dacl->vlen);
	*acl_len = dacl->vlen;
	*keep = zfs_acl_create_masq(*acl, *acl_len, mode);
	if (*keep < 0)
		*keep = 0;	/* a default ACL we could not read: the mode stands */
	return 0;
}

int zfs_make_node(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev,
		  const char *target, struct zfs_inode **out)
{
	struct zfs_fs *fs = req_fs(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct zfs_inode *dir, *in = NULL;
	bool charged = false;
	size_t tlen = 0, acl_len = 0;
	void *acl = NULL;
	int keep = 0, err;
	gid_t gid;

	err = zfs_check_name(name);
	if (err)
		return err;
	dir = zfs_iget(fs, parent);
	if (!dir)
		return -ENOENT;
	if (!zfs_is_dir(dir)) {
		err = -ENOTDIR;
		goto out_put;
	}
	if (is_special(dir)) {
		err = -EPERM;
		goto out_put;
	}
	if (target) {
		tlen = strlen(target);
		if (tlen == 0) {
			err = -ENOENT;
			goto out_put;
		}
		if (tlen + 1 > ZFS_PAGE_SIZE) {
			err = -ENAMETOOLONG;
			goto out_put;
		}
	}
	err = zfs_reserve_inode(fs);
	if (err)
		goto out_put;
	if (target && tlen >= ZFS_SHORT_SYMLINK) {
		err = zfs_charge_pages(fs, 1);
		if (err)
			goto out_unreserve;
		charged = true;
	}

	zfs_wrlock(dir);
	if (dir->nlink == 0) {
		err = -ENOENT;
		goto out_unlock;
	}
	if (zfs_dir_find(dir->dir, name, strlen(name))) {
		err = -EEXIST;
		goto out_unlock;
	}
	gid = ctx->gid;
	if (dir->mode & S_ISGID) {
		gid = dir->gid;
		if (S_ISDIR(mode))
			mode |= S_ISGID;
	}
	err = inherit_acl(ctx, dir, &mode, &acl, &acl_len, &keep);
	if (err)
		goto out_unlock;
	in = zfs_inode_new(fs, mode, ctx->uid, gid, rdev, ZFS_NORMAL);
	if (!in) {
		err = -ENOMEM;
		goto out_unlock;
	}
	/* From here on the inode owns the slot and the symlink's page. */
	charged = false;
	if (target) {
		in->size = tlen;
		in->target = strdup(target);
		if (!in->target)
			err = -ENOMEM;
	}
	if (S_ISDIR(mode)) {
		struct zfs_xattr *dacl = zfs_xattr_find(dir->xattrs, ZFS_ACL_DEFAULT);

		in->dir->parent = dir;
		if (!err && dacl)
			err = zfs_xattr_set(&in->xattrs, ZFS_ACL_DEFAULT, dacl->value, dacl->vlen,
					    0);
	}
	if (!err && keep)
		err = zfs_xattr_set(&in->xattrs, ZFS_ACL_ACCESS, acl, acl_len, 0);
	if (!err)
		err = zfs_dir_add(dir->dir, name, strlen(name), in, mode);
	if (err) {
		zfs_unlock(dir);
		zfs_inode_abort_new(fs, in);
		goto out_put;
	}
	if (S_ISDIR(mode))
		dir->nlink++;
	dir->size += ZFS_BOGO_DIRENT;
	zfs_touch_dir(dir, &in->ctime);
	zfs_unlock(dir);
	free(acl);
	zfs_iput(fs, dir);
	*out = in;
	return 0;

out_unlock:
	zfs_unlock(dir);
	if (charged)
		zfs_uncharge_pages(fs, 1);
out_unreserve:
	zfs_release_inode(fs);
out_put:
	free(acl);
	zfs_iput(fs, dir);
	return err;
}

void zfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct zfs_inode *in = NULL;
	int err;

	switch (mode & S_IFMT) {
	case 0:
		mode |= S_IFREG;
		/* fall through */
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
		rdev = 0;
		break;
	case S_IFCHR:
	case S_IFBLK:
		break;
	default:
		reply_err(req, -EINVAL);
		return;
	}
	err = zfs_make_node(req, parent, name, mode & (S_IFMT | 07777), rdev, NULL, &in);
	reply_new(req, in, err);
}

void zfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct zfs_inode *in = NULL;
	int err = zfs_make_node(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL, &in);

	reply_new(req, in, err);
}

void zfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct zfs_inode *in = NULL;
	int err = zfs_make_node(req, parent, name, S_IFLNK | 0777, 0, link, &in);

	reply_new(req, in, err);
}

void zfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		   struct fuse_file_info *fi)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in = NULL;
	struct fuse_entry_param e;
	int err = zfs_make_node(req, parent, name, S_IFREG | (mode & 07777), 0, NULL, &in);

	if (err) {
		reply_err(req, err);
		return;
	}
	zfs_file_open_mode(req_fs(req), in, fi);
	zfs_fill_entry(fs, in, &e);
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		/* The open was interrupted: no release will come for it. */
		zfs_file_open_undo(in, fi);
		zfs_inode_forget(fs, in->ino, 1);
	}
	zfs_iput(fs, in);
}

/*
 * Write-lock the distinct inodes among @v[0..n) (NULLs skipped) in inode
 * number order: the one order every thread that holds several inode locks
 * uses, whatever the shape of the tree is at the moment.
 */
void zfs_lock_inodes(struct zfs_inode **v, int n)
{
	struct zfs_inode *s[4];
	int k = 0;

	for (int i = 0; i < n; i++) {
		bool dup = !v[i];

		for (int j = 0; j < k && !dup; j++)
			dup = s[j] == v[i];
		if (!dup)
			s[k++] = v[i];
	}
	for (int i = 1; i < k; i++) {
		struct zfs_inode *t = s[i];
		int j = i;

		for (; j > 0 && s[j - 1]->ino > t->ino; j--)
			s[j] = s[j - 1];
		s[j] = t;
	}
	for (int i = 0; i < k; i++)
		zfs_wrlock(s[i]);
}

void zfs_unlock_inodes(struct zfs_inode **v, int n)
{
	for (int i = 0; i < n; i++) {
		bool dup = !v[i];

		for (int j = 0; j < i && !dup; j++)
			dup = v[j] == v[i];
		if (!dup)
			zfs_unlock(v[i]);
	}
}

void zfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in, *dir = NULL;
	struct timespec now;
	int err = zfs_check_name(newname);

	if (err) {
		reply_err(req, err);
		return;
	}
	in = zfs_iget(fs, ino);
	dir = zfs_iget(fs, newparent);
	if (!in || !dir) {
		err = -ENOENT;
		goto out;
	}
	if (!zfs_is_dir(dir)) {
		err = -ENOTDIR;
		goto out;
	}
	if (is_special(in) || is_special(dir) || zfs_is_dir(in)) {
		err = -EPERM;
		goto out;
	}
	err = zfs_reserve_inode(fs);
	if (err)
		goto out;
	zfs_lock_inodes((struct zfs_inode *[]){ dir, in }, 2);
	if (dir->nlink == 0 || in->nlink == 0)
		err = -ENOENT;
	else if (zfs_dir_find(dir->dir, newname, strlen(newname)))
		err = -EEXIST;
	else if (in->nlink >= 0xfffffff0u)
		err = -EMLINK;
	else
		err = zfs_dir_add(dir->dir, newname, strlen(newname), in, in->ftype);
	if (!err) {
		zfs_now(&now);
		in->nlink++;
		in->ctime = now;
		dir->size += ZFS_BOGO_DIRENT;
		zfs_touch_dir(dir, &now);
	}
	zfs_unlock_inodes((struct zfs_inode *[]){ dir, in }, 2);
	if (err) {
		zfs_release_inode(fs);
	} else {
		reply_new(req, in, 0);
		in = NULL;	/* reply_new dropped the reference */
	}
out:
	if (err)
		reply_err(req, err);
	zfs_iput(fs, in);
	zfs_iput(fs, dir);
}

/* One name less for @in (locked, referenced); the last one marks it unlinked. */
void zfs_drop_name(struct zfs_fs *fs, struct zfs_inode *in, const struct timespec *now)
{
	in->ctime = *now;
	if (zfs_is_dir(in)) {
		in->nlink = 0;
	} else if (in->nlink > 1) {
		in->nlink--;
		zfs_release_inode(fs);	/* tmpfs counts extra links as inodes */
		return;
	} else {
		in->nlink = 0;
	}
	zfs_inode_drop_link(fs, in);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, bool want_dir)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *dir, *in = NULL;
	struct zfs_dirent *de;
	struct timespec now;
	int err = 0;

	dir = parent_dir(req, fs, parent, name);
	if (!dir)
		return;
again:
	zfs_wrlock(dir);
	de = zfs_dir_find(dir->dir, name, strlen(name));
	if (!de) {
		err = -ENOENT;
		goto out_unlock;
	}
	if (is_special(dir) || is_special(de->inode)) {
		err = -EPERM;
		goto out_unlock;
	}
	if (want_dir && !zfs_is_dir(de->inode)) {
		err = -ENOTDIR;
		goto out_unlock;
	}
	if (!want_dir && zfs_is_dir(de->inode)) {
		err = -EISDIR;
		goto out_unlock;
	}
	in = zfs_iget(fs, de->inode->ino);
	if (in->ino < dir->ino) {
		/* Lock order is by inode number: let go, take both, look again. */
		zfs_unlock(dir);
		zfs_lock_inodes((struct zfs_inode *[]){ dir, in }, 2);
		de = zfs_dir_find(dir->dir, name, strlen(name));
		if (!de || de->inode != in) {
			zfs_unlock_inodes((struct zfs_inode *[]){ dir, in }, 2);
			zfs_iput(fs, in);
			in = NULL;
			goto again;
		}
	} else {
		zfs_wrlock(in);
	}
	if (want_dir && !zfs_dir_empty(in->dir)) {
		err = -ENOTEMPTY;
		zfs_unlock(in);
		goto out_unlock;
	}
	zfs_now(&now);
	zfs_dir_remove(dir->dir, de);
	dir->size -= ZFS_BOGO_DIRENT;
	if (want_dir)
		dir->nlink--;
	zfs_touch_dir(dir, &now);
	zfs_drop_name(fs, in, &now);
	zfs_unlock(in);
out_unlock:
	zfs_unlock(dir);
	reply_err(req, err);
	zfs_iput(fs, in);
	zfs_iput(fs, dir);
}

void zfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, false);
}

void zfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, true);
}
