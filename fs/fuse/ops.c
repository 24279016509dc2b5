// SPDX-License-Identifier: MIT
/*
 * ops.c - the fuse_lowlevel_ops table and the connection's capabilities.
 *
 * Design: the handlers live in ops_namei.c (names), ops_attr.c (attributes),
 * ops_file.c (open files), ops_copy.c (copy_file_range), ops_dir.c (listing),
 * ops_xattr.c and killpriv.c (privileges a write, truncate or chown drops);
 * this file only wires them up and negotiates what the kernel does for us:
 *  - POSIX_ACL: the kernel enforces ACLs, we store them (implies
 *    default_permissions, which the mount asks for anyway);
 *  - DONT_MASK: the umask reaches us, because a default ACL replaces it;
 *  - ATOMIC_O_TRUNC: O_TRUNC comes with open, one request instead of two;
 *  - CACHE_SYMLINKS, PARALLEL_DIROPS: symlinks never change, and lookups in
 *    one directory may run in parallel (we lock per directory); but libfuse
 *    3.14 never passes PARALLEL_DIROPS on to the kernel (see loop.c), so the
 *    kernel still serialises them: not measured, left as it was;
 *  - READDIRPLUS (AUTO: the kernel picks it when names will be looked up):
 *    a listing carries the attributes, no LOOKUP per name afterwards;
 *  - not NO_OPENDIR_SUPPORT: see ops_dir.c (the kernel would cache listings);
 *  - no flush handler: close() has nothing to do here, libfuse answers
 *    the first FLUSH with ENOSYS and the kernel sends no more;
 *  - entry, attribute and negative-entry timeouts (timeout=, default a
 *    day): every change of the tree comes through the kernel, which updates
 *    or invalidates what it cached itself (tmpfs has no timeouts at all);
 *  - HANDLE_KILLPRIV (version 1, all libfuse 3.14 knows): we clear set-id
 *    bits on chown, truncate and write ourselves (killpriv.c), so the kernel
 *    no longer sends a GETATTR before each chown to compute the new mode;
 *    libfuse 3.14 leaves it out of its INIT reply, loop.c adds it;
 *  - WRITEBACK_CACHE only with -o writeback_cache: with it a write lands in the
 *    page cache and fails (ENOSPC) only later at writeback (close, fsync),
 *    and st_blocks lags; by default every write reaching the daemon keeps
 *    tmpfs's answers exact.
 * No locks here.
 */
#include <linux/fuse.h>

#include "loop.h"
#include "ops.h"

static void zfs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	const unsigned int want = FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK |
				  FUSE_CAP_ATOMIC_O_TRUNC | FUSE_CAP_CACHE_SYMLINKS |
				  FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_READDIRPLUS |
				  FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_HANDLE_KILLPRIV;
	struct zfs_fs *fs = userdata;

	conn->want |= conn->capable & want;
	conn->want &= ~(unsigned int)FUSE_CAP_WRITEBACK_CACHE;
	/* libfuse 3.14 would not tell the kernel (loop.c) */
	if (conn->capable & FUSE_CAP_HANDLE_KILLPRIV)
		zfs_loop_init_flags(FUSE_HANDLE_KILLPRIV);
	if (fs->opt.writeback)
		conn->want |= conn->capable & FUSE_CAP_WRITEBACK_CACHE;
	conn->time_gran = 1;
}

const struct fuse_lowlevel_ops zfs_ops = {
	.init = zfs_op_init,
	.lookup = zfs_op_lookup,
	.forget = zfs_op_forget,
	.forget_multi = zfs_op_forget_multi,
	.getattr = zfs_op_getattr,
	.setattr = zfs_op_setattr,
	.readlink = zfs_op_readlink,
	.mknod = zfs_op_mknod,
	.mkdir = zfs_op_mkdir,
	.unlink = zfs_op_unlink,
	.rmdir = zfs_op_rmdir,
	.symlink = zfs_op_symlink,
	.rename = zfs_op_rename,
	.link = zfs_op_link,
	.open = zfs_op_open,
	.read = zfs_op_read,
	.write = zfs_op_write,
	.release = zfs_op_release,
	.fsync = zfs_op_fsync,
	.opendir = zfs_op_opendir,
	.readdir = zfs_op_readdir,
	.readdirplus = zfs_op_readdirplus,
	.releasedir = zfs_op_releasedir,
	.fsyncdir = zfs_op_fsyncdir,
	.statfs = zfs_op_statfs,
	.setxattr = zfs_op_setxattr,
	.getxattr = zfs_op_getxattr,
	.listxattr = zfs_op_listxattr,
	.removexattr = zfs_op_removexattr,
	.create = zfs_op_create,
	.fallocate = zfs_op_fallocate,
	.lseek = zfs_op_lseek,
	.copy_file_range = zfs_op_copy_file_range,
};
