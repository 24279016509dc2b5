// SPDX-License-Identifier: MIT
/*
 * ops_dir.c - directory listing: opendir, readdir, readdirplus, releasedir,
 * fsyncdir.
 *
 * Design: no per-open state. OPENDIR is still answered (not ENOSYS, which
 * would save OPENDIR and RELEASEDIR): a kernel that opens directories itself
 * caches their listings (FOPEN_CACHE_DIR) and serves a seekdir() from that
 * cache, entries removed since included, which tmpfs never shows. The offset handed to the kernel with each
 * entry is that entry's sequence number in its directory (dir.c): offsets 1
 * and 2 are "." and "..", and a readdir at offset N lists the entries whose
 * number is above N. An offset so stays meaningful while other threads add
 * and remove entries, and telldir()/seekdir() work at any time. A listing
 * runs under the directory's read lock and costs O(log n) to find its start
 * plus O(1) per entry. Reading a directory updates its access time
 * (relatime), as on tmpfs.
 *
 * readdirplus returns each entry with its attributes and counts one kernel
 * reference (nlookup) for it, as a lookup would, so `ls -l`, `find`, `du`
 * and `rm -rf` need no LOOKUP per name. The entries are picked under the
 * directory's read lock, with a reference each; their attributes are read
 * after that lock is let go, because a child may have a lower inode number
 * than its directory and inode locks nest only in number order. The names
 * cannot change meanwhile: the kernel holds the directory's i_rwsem shared
 * across a readdir and exclusive across every change of its names. "." and
 * ".." carry no node id (the kernel keeps no reference for them). A reply
 * the kernel did not take gives the references back.
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
	     de = zfs_dir_next(in->dir, zfs_dirent_seq(in->dir, de))) {
		if (!add_entry(req, buf, size, &pos, de->name, de->inode->ino,
			       (mode_t)de->dtype << 12, zfs_dirent_seq(in->dir, de)))
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

/* The directory @ino for a listing, referenced; NULL once the error is replied. */
static struct zfs_inode *list_dir(fuse_req_t req, struct zfs_fs *fs, fuse_ino_t ino)
{
	struct zfs_inode *in = zfs_iget(fs, ino);

	if (!in) {
		reply_err(req, -ENOENT);
		return NULL;
	}
	if (!zfs_is_dir(in)) {
		reply_err(req, -ENOTDIR);
		zfs_iput(fs, in);
		return NULL;
	}
	return in;
}

/* One entry picked for a readdirplus reply. */
struct plus_item {
	struct zfs_inode *in;		/* referenced; NULL for "." and ".." */
	uint64_t ino;
	uint64_t off;			/* the offset of the entry after it */
	mode_t type;
	const char *name;		/* ".", "..", or a copy in the names arena */
};

/*
 * Pick the entries after @off that fit in @size bytes; their names are
 * copied to @names (@size bytes: each entry takes more room in the reply
 * than its name). Context: @dir read-locked.
 */
static unsigned int pick_entries(fuse_req_t req, struct zfs_fs *fs, struct zfs_inode *dir,
				 off_t off, size_t size, struct plus_item *items, unsigned int max,
				 char *names)
{
	struct zfs_inode *up = dir->dir->parent ? dir->dir->parent : dir;
	size_t used = 0, need, npos = 0;
	unsigned int n = 0;
	struct zfs_dirent *de;

	if (off < 1 && n < max) {
		items[n++] = (struct plus_item){ .ino = dir->ino, .off = 1, .type = S_IFDIR, .name = "." };
		used += fuse_add_direntry_plus(req, NULL, 0, ".", NULL, 0);
	}
	if (off < 2 && n < max) {
		items[n++] = (struct plus_item){ .ino = up->ino, .off = 2, .type = S_IFDIR, .name = ".." };
		used += fuse_add_direntry_plus(req, NULL, 0, "..", NULL, 0);
	}
	/* A directory removed while open lists nothing more. */
	for (de = dir->nlink ? zfs_dir_next(dir->dir, off < 2 ? 2 : (uint64_t)off) : NULL;
	     de && n < max; de = zfs_dir_next(dir->dir, zfs_dirent_seq(dir->dir, de))) {
		struct plus_item *it = &items[n];

		need = fuse_add_direntry_plus(req, NULL, 0, de->name, NULL, 0);
		if (used + need > size)
			break;
		it->in = zfs_iget(fs, de->inode->ino);
		if (!it->in)
			break;
		used += need;
		it->ino = de->inode->ino;
		it->off = zfs_dirent_seq(dir->dir, de);
		it->type = (mode_t)de->dtype << 12;
		memcpy(names + npos, de->name, de->namelen + 1u);
		it->name = names + npos;
		npos += de->namelen + 1u;
		n++;
	}
	return n;
}

void zfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct zfs_fs *fs = req_fs(req);
	struct zfs_inode *in = list_dir(req, fs, ino);
	unsigned int n, i, max;
	struct plus_item *items;
	struct fuse_entry_param e;
	struct timespec now;
	size_t pos = 0;
	char *buf, *names;
	bool touch;

	if (!in)
		return;
	/* the smallest entry (a one-byte name) takes more than 128 bytes */
	max = (unsigned int)(size / 128) + 2;
	buf = malloc(size ? size : 1);
	names = malloc(size ? size : 1);
	items = calloc(max, sizeof(*items));
	if (!buf || !names || !items) {
		reply_err(req, -ENOMEM);
		goto out;
	}
	zfs_now(&now);
	zfs_rdlock(in);
	n = pick_entries(req, fs, in, off, size, items, max, names);
	touch = zfs_atime_due(fs, in, &now);
	zfs_unlock(in);
	if (touch)
		zfs_touch_atime(fs, in);
	for (i = 0; i < n; i++) {
		struct plus_item *it = &items[i];

		if (it->in) {
			zfs_fill_entry(fs, it->in, &e);		/* counts the kernel's reference */
		} else {
			memset(&e, 0, sizeof(e));
			e.attr.st_ino = it->ino;
			e.attr.st_mode = it->type;
		}
		pos += fuse_add_direntry_plus(req, buf + pos, size - pos, it->name, &e,
					      (off_t)it->off);
	}
	if (fuse_reply_buf(req, buf, pos)) {
		/* not delivered: the kernel holds none of these references */
		for (i = 0; i < n; i++) {
			if (items[i].in)
				zfs_inode_forget(fs, items[i].ino, 1);
		}
	}
	for (i = 0; i < n; i++)
		zfs_iput(fs, items[i].in);
out:
	free(items);
	free(names);
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
