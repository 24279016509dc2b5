/* SPDX-License-Identifier: MIT */
/*
 * share.h - copy_file_range that shares stored data between files
 * (share.c). Internal to fs/.
 */
#ifndef ZPOOLFS_SHARE_H
#define ZPOOLFS_SHARE_H

#include <sys/types.h>

#include "zfs.h"

/*
 * The most one call copies: FUSE replies with a 32-bit count, so stay a
 * page below 4 GiB (the caller asks again for the rest, as for a short write).
 */
#define ZFS_COPY_MAX (0xffffffffUL & ~(ZFS_PAGE_SIZE - 1))

/**
 * zfs_copy_range - copy @len bytes of @src at @off_in to @dst at @off_out
 * (which may be the same file, the ranges not overlapping): whole pages at
 * the same place in their pages are shared (the data is stored once, copy on
 * write), the rest is read and written. Grows @dst and sets its mtime when
 * anything was copied; stops at @src's end.
 * Return: bytes copied (short when a page could not be: the rest is as it
 * was), or -EINVAL (overlap), -EFBIG, -ENOSPC (size=, mem_limit), -ENOMEM,
 * -EIO when nothing was.
 * Context: takes the inodes' locks itself (in inode number order).
 */
ssize_t zfs_copy_range(struct zfs_fs *fs, struct zfs_inode *src, uint64_t off_in,
		       struct zfs_inode *dst, uint64_t off_out, size_t len);

/**
 * zfs_share_file_bytes - bytes of @in's pages whose stored piece is shown by
 * more pages than it holds (by another file, or twice by this one): exact
 * for whole copies and single pages; for a cluster piece partly shared, all
 * its pages in @in count. Context: the inode's lock (read).
 */
uint64_t zfs_share_file_bytes(struct zfs_inode *in);

#endif
