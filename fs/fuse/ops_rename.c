// SPDX-License-Identifier: MIT
/*
 * ops_rename.c - rename(2) and renameat2(2) with RENAME_NOREPLACE and
 * RENAME_EXCHANGE.
 *
 * Design: a rename changes up to four inodes - the two directories, the
 * inode moved and the one replaced or exchanged - and takes all four locks
 * in inode number order (zfs_lock_inodes(), see ops_namei.c): first the
 * directories, to find the two entries; if the inodes found have lower
 * numbers than a directory, everything is let go and taken again in order,
 * and the entries are looked up again. A rename between two directories
 * holds fs->rename_lock throughout, so that no other rename moves a
 * directory while this one checks that nothing is moved into itself (an
 * ancestor walk over the parent pointers, which only such renames change).
 * A replaced entry is reused for the moved inode (no allocation, so a
 * replacing rename cannot fail half way); a new name is added before the old
 * one is removed. Link counts, directory sizes and times follow tmpfs.
 */
#include <errno.h>
#include <string.h>
#include <linux/fs.h>

#include "ops.h"

/* Is @a the directory @d or one of its ancestors? Context: rename_lock. */
static bool is_ancestor(struct zfs_fs *fs, struct zfs_inode *a, struct zfs_inode *d)
{
	for (unsigned int depth = 0; d && depth < (1U << 30); depth++) {
		if (d == a)
			return true;
		if (d == fs->root)
			return false;
		d = d->dir->parent;
	}
	return false;
}

struct rename_args {
	struct zfs_inode *od, *nd, *src, *dst;
	struct zfs_dirent *ode, *nde;
	const char *newname;
	unsigned int flags;
	bool cross;
};

/* The checks that need the directories locked. Return: 0 or -errno. */
static int rename_check(struct zfs_fs *fs, struct rename_args *r)
{
	if (r->od->nlink == 0 || r->nd->nlink == 0)
		return -ENOENT;
	if (!r->ode)
		return -ENOENT;
	if ((r->flags & RENAME_NOREPLACE) && r->dst)
		return -EEXIST;
	if ((r->flags & RENAME_EXCHANGE) && !r->dst)
		return -ENOENT;
	if (r->src == r->dst)
		return 1;	/* two names of one inode: nothing to do */
	if (is_special(r->src) || (r->dst && is_special(r->dst)))
		return -EPERM;
	if (!(r->flags & RENAME_EXCHANGE) && r->dst) {
		if (zfs_is_dir(r->src) && !zfs_is_dir(r->dst))
			return -ENOTDIR;
		if (!zfs_is_dir(r->src) && zfs_is_dir(r->dst))
			return -EISDIR;
	}
	if (r->cross) {
		if (zfs_is_dir(r->src) && is_ancestor(fs, r->src, r->nd))
			return -EINVAL;
		if (r->dst && zfs_is_dir(r->dst) && is_ancestor(fs, r->dst, r->od))
			return (r->flags & RENAME_EXCHANGE) ? -EINVAL : -ENOTEMPTY;
	}
	return 0;
}

/* Move a subdirectory's ".." (its link in the parent's count goes along). */
static void move_subdir(struct zfs_inode *sub, struct zfs_inode *from, struct zfs_inode *to)
{
	sub->dir->parent = to;
	from->nlink--;
	to->nlink++;
}

static int rename_locked(struct zfs_fs *fs, struct rename_args *r, const struct timespec *now)
{
	struct zfs_inode *src = r->src, *dst = r->dst;
	int err;

	if (r->flags & RENAME_EXCHANGE) {
		r->ode->inode = dst;
		r->ode->dtype = (uint8_t)(dst->ftype >> 12);
		r->nde->inode = src;
		r->nde->dtype = (uint8_t)(src->ftype >> 12);
		if (r->cross && zfs_is_dir(src))
			move_subdir(src, r->od, r->nd);
		if (r->cross && zfs_is_dir(dst))
			move_subdir(dst, r->nd, r->od);
		src->ctime = *now;
		dst->ctime = *now;
		return 0;
	}
	if (dst) {
		/* Replace: the new entry is the old one with another inode. */
		if (zfs_is_dir(dst) && !zfs_dir_empty(dst->dir))
			return -ENOTEMPTY;
		r->nde->inode = src;
		r->nde->dtype = (uint8_t)(src->ftype >> 12);
		if (zfs_is_dir(dst))
			r->nd->nlink--;
		r->nd->size -= ZFS_BOGO_DIRENT;
		zfs_drop_name(fs, dst, now);
	} else {
		err = zfs_dir_add(r->nd->dir, r->newname, strlen(r->newname), src, src->ftype);
		if (err)
			return err;
	}
	zfs_dir_remove(r->od->dir, r->ode);
	r->od->size -= ZFS_BOGO_DIRENT;
	r->nd->size += ZFS_BOGO_DIRENT;
	if (r->cross && zfs_is_dir(src))
		move_subdir(src, r->od, r->nd);
	src->ctime = *now;
	return 0;
}

void zfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		   const char *newname, unsigned int flags)
{
	struct zfs_fs *fs = req_fs(req);
	struct rename_args r = { .newname = newname, .flags = flags };
	struct timespec now;
	int err;

	if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
	    ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))) {
		reply_err(req, -EINVAL);
		return;
	}
	err = zfs_check_name(name);
	if (!err)
		err = zfs_check_name(newname);
	if (err) {
		reply_err(req, err);
		return;
	}
	r.od = zfs_iget(fs, parent);
	r.nd = zfs_iget(fs, newparent);
	if (!r.od || !r.nd) {
		err = -ENOENT;
		goto out_put;
	}
	if (!zfs_is_dir(r.od) || !zfs_is_dir(r.nd)) {
		err = -ENOTDIR;
		goto out_put;
	}
	if (is_special(r.od) || is_special(r.nd)) {
		err = -EPERM;
		goto out_put;
	}
	r.cross = r.od != r.nd;
	for (;;) {
		struct zfs_inode *all[4];

		if (r.cross)
			pthread_mutex_lock(&fs->rename_lock);
		zfs_lock_inodes((struct zfs_inode *[]){ r.od, r.nd }, 2);
		r.ode = zfs_dir_find(r.od->dir, name, strlen(name));
		r.nde = zfs_dir_find(r.nd->dir, newname, strlen(newname));
		r.src = r.ode ? zfs_iget(fs, r.ode->inode->ino) : NULL;
		r.dst = r.nde ? zfs_iget(fs, r.nde->inode->ino) : NULL;
		err = rename_check(fs, &r);
		all[0] = r.od;
		all[1] = r.nd;
		all[2] = r.src;
		all[3] = r.dst;
		if (err == 0) {
			uint64_t top = r.od->ino > r.nd->ino ? r.od->ino : r.nd->ino;

			if (r.src->ino > top && (!r.dst || r.dst->ino > top)) {
				zfs_lock_inodes(all + 2, 2);
			} else {
				/* Lock order is by inode number: let go, take all, look again. */
				zfs_unlock_inodes(all, 2);
				zfs_lock_inodes(all, 4);
				if (zfs_dir_find(r.od->dir, name, strlen(name)) != r.ode ||
				    zfs_dir_find(r.nd->dir, newname, strlen(newname)) != r.nde ||
				    (r.ode && r.ode->inode != r.src) ||
				    (r.nde && r.nde->inode != r.dst) || rename_check(fs, &r) != 0) {
					zfs_unlock_inodes(all, 4);
					if (r.cross)
						pthread_mutex_unlock(&fs->rename_lock);
					zfs_iput(fs, r.src);
					zfs_iput(fs, r.dst);
					continue;
				}
			}
			zfs_now(&now);
			err = rename_locked(fs, &r, &now);
			if (!err) {
				zfs_touch_dir(r.od, &now);
				zfs_touch_dir(r.nd, &now);
			}
			zfs_unlock_inodes(all, 4);
		} else {
			if (err == 1)
				err = 0;
			zfs_unlock_inodes(all, 2);
		}
		if (r.cross)
			pthread_mutex_unlock(&fs->rename_lock);
		zfs_iput(fs, r.src);
		zfs_iput(fs, r.dst);
		break;
	}
out_put:
	reply_err(req, err);
	zfs_iput(fs, r.od);
	zfs_iput(fs, r.nd);
}
