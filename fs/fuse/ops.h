/* SPDX-License-Identifier: MIT */
/*
 * ops.h - what the fuse_lowlevel_ops handlers (ops_*.c) share.
 *
 * Every handler turns the kernel's node id into a referenced inode with
 * zfs_iget() and drops the reference with zfs_iput() before it returns;
 * errors are negative errnos inside and become positive ones only at the
 * reply (reply_err()).
 */
#ifndef ZPOOLFS_OPS_H
#define ZPOOLFS_OPS_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fuse_lowlevel.h>

#include "zfs.h"

extern const struct fuse_lowlevel_ops zfs_ops;

static inline struct zfs_fs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline void reply_err(fuse_req_t req, int err)
{
	fuse_reply_err(req, err < 0 ? -err : err);
}

static inline bool is_special(const struct zfs_inode *in)
{
	return in->special != ZFS_NORMAL;
}

/*
 * fi->fh of an open file: a struct zfs_stats_fh pointer for a statistics
 * file (statsdir.c); for a regular file an odd tag, which no pointer is,
 * saying how the open was granted (ops_file.c); 0 otherwise.
 */
#define ZFS_FH_CACHED 1UL	/* through the kernel's page cache */
#define ZFS_FH_DIRECT 3UL	/* direct_io */

static inline struct zfs_stats_fh *stats_fh(const struct fuse_file_info *fi)
{
	return fi->fh & 1 ? NULL : (struct zfs_stats_fh *)(uintptr_t)fi->fh;
}

/* ops_namei.c */
void zfs_fill_entry(struct zfs_fs *fs, struct zfs_inode *in, struct fuse_entry_param *e);
int zfs_check_name(const char *name);
void zfs_touch_dir(struct zfs_inode *dir, const struct timespec *now);
int zfs_make_node(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev,
		  const char *target, struct zfs_inode **out);
/* Write-lock (unlock) the distinct non-NULL inodes of @v in inode number order. */
void zfs_lock_inodes(struct zfs_inode **v, int n);
void zfs_unlock_inodes(struct zfs_inode **v, int n);
/* One name less for @in (locked, referenced); the last one marks it unlinked. */
void zfs_drop_name(struct zfs_fs *fs, struct zfs_inode *in, const struct timespec *now);

/* ops_file.c */
/*
 * Decide how the kernel serves an open of regular file @in (page cache or
 * direct_io), set @fi for it and count it; zfs_file_open_undo() uncounts it
 * when the reply could not be sent. Context: takes the inode's lock.
 */
void zfs_file_open_mode(struct zfs_fs *fs, struct zfs_inode *in, struct fuse_file_info *fi);
void zfs_file_open_undo(struct zfs_inode *in, const struct fuse_file_info *fi);

/* killpriv.c: privileges a write, truncate or chown takes away (HANDLE_KILLPRIV). */
/* The set-id bits of @mode a write or chown clears: S_ISUID, S_ISGID with group-exec. */
mode_t zfs_setid_to_kill(mode_t mode);
/* Does the caller of @req hold CAP_FSETID? Unknown (the process is gone) counts as no. */
bool zfs_caller_has_fsetid(fuse_req_t req);
/*
 * Has non-directory @in set-id bits to lose, or (@caps) a security.capability?
 * Context: the inode's lock, read or write.
 */
bool zfs_has_priv(const struct zfs_inode *in, bool caps);
/*
 * Clear @in's set-id bits (@setid) and remove its security.capability (@caps);
 * directories keep both. The caller sets ctime. Return: whether anything changed.
 * Context: the inode's write lock.
 */
bool zfs_kill_priv(struct zfs_inode *in, bool setid, bool caps);

/* ops_attr.c */
bool zfs_atime_due(const struct zfs_fs *fs, const struct zfs_inode *in, const struct timespec *now);
void zfs_touch_atime(const struct zfs_fs *fs, struct zfs_inode *in);

/* statsdir.c: the .zpool directory. */
struct zfs_stats_fh;
int zfs_statsdir_create(struct zfs_fs *fs);
int zfs_stats_open(fuse_req_t req, struct zfs_inode *in, int flags, struct zfs_stats_fh **out);
void zfs_stats_read(fuse_req_t req, struct zfs_stats_fh *fh, size_t size, off_t off);
void zfs_stats_write(fuse_req_t req, struct zfs_stats_fh *fh, const char *buf, size_t size);
void zfs_stats_release(struct zfs_stats_fh *fh);
/* At unmount: free the open stats files whose RELEASE never came. */
void zfs_stats_release_all(void);
size_t zfs_stats_usage_xattr(struct zfs_inode *in, char *buf, size_t size);

/* ops_*.c handlers, collected into zfs_ops by ops.c */
void zfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void zfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void zfs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void zfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void zfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void zfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void zfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void zfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void zfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void zfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		   const char *newname, unsigned int flags);
void zfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		   struct fuse_file_info *fi);

void zfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void zfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		    struct fuse_file_info *fi);
void zfs_op_readlink(fuse_req_t req, fuse_ino_t ino);
void zfs_op_statfs(fuse_req_t req, fuse_ino_t ino);

void zfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void zfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void zfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		  struct fuse_file_info *fi);
void zfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void zfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void zfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
		      struct fuse_file_info *fi);
void zfs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi);

/* ops_copy.c */
void zfs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			    struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			    struct fuse_file_info *fi_out, size_t len, int flags);

void zfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void zfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void zfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi);
void zfs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void zfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

void zfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		     size_t size, int flags);
void zfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void zfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void zfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif
