/* SPDX-License-Identifier: MIT */
/*
 * stats.h - rendering of the MOUNT/.zpool/ files and of the per-file
 * user.zpool.stat attribute. The filesystem core (fs/) owns the directory
 * and the inodes; this module only turns one snapshot into text.
 *
 * Contract with the core:
 *  - At open(2) of a stats file the core calls zfs_stats_render() once and
 *    serves every read(2) of that open file from the returned buffer, so one
 *    open sees one consistent snapshot.
 *  - Writing "1" (or any positive number) to "compact" makes the core call
 *    zfs_stats_compact(); only the mount's owner or root may.
 *  - getxattr("user.zpool.stat") on a regular file returns
 *    zfs_stats_file_xattr() of that file's usage; setxattr/removexattr of it
 *    fail with EPERM.
 */
#ifndef ZPOOLFS_STATS_H
#define ZPOOLFS_STATS_H

#include <stddef.h>

#include "fs_counters.h"
#include "requests.h"
#include "zpool.h"

#define ZFS_STATS_XATTR "user.zpool.stat"

/* Everything a stats file may show, gathered by the core at open time. */
struct zfs_stats_source {
	struct zpool *pool;
	struct zfs_counters *counters;
	const char *backend;		/* "zsmalloc" | "zbud" */
	const char *compressor;		/* "lz4" | "zstd" | "none" */
	int comp_level;
	unsigned long mem_limit;	/* bytes, 0 = none */
	unsigned long size_limit;	/* bytes (size=) */
	unsigned long files;		/* inodes in use (all types) */
	unsigned long regular_files;	/* regular files */
	unsigned long objects_mapped;	/* maps in progress now */
	unsigned long raw_bytes;	/* bytes of pages the core keeps outside the pool
					 * (zbud cannot hold a raw 4 KiB page); added to
					 * mem_used_total */
	const struct zfs_req_snap *requests;	/* FUSE requests by opcode; NULL: none */
	bool backing;			/* a backing file is set (backing=) */
	unsigned long long bd_capacity;	/* its capacity in bytes, 0: what its filesystem holds */
	bool bd_limit_enable;		/* zram's writeback_limit_enable */
	unsigned long long bd_limit_pages;	/* zram's writeback_limit (4 KiB units) */
};

/* One file's storage, for user.zpool.stat. */
struct zfs_file_usage {
	unsigned long logical_bytes;	/* st_size */
	unsigned long stored_bytes;	/* compressed bytes held in the pool for it */
	unsigned long pages_compressed;
	unsigned long pages_same;
	unsigned long pages_huge;
	unsigned long pages_hole;	/* pages inside st_size not stored */
	unsigned long shared_bytes;	/* its pages whose stored data others show too */
};

/* Names of the files in the stats directory of a zsmalloc pool, NULL-terminated. */
extern const char *const zfs_stats_files[];

/**
 * zfs_stats_file_list - the stats directory's files for pools of @backend.
 * A zbud pool has no size classes: its list has "zbud" in place of "classes"
 * and "fullness". Every other backend gets zfs_stats_files.
 * Return: a static NULL-terminated list.
 */
const char *const *zfs_stats_file_list(const char *backend);

/**
 * zfs_stats_render - the whole content of stats file @name.
 * @out: set to a malloc'd buffer the caller frees; @len: its length.
 * Return: 0, -ENOENT for an unknown name, -ENOMEM.
 */
int zfs_stats_render(const struct zfs_stats_source *src, const char *name, char **out,
		     size_t *len);

/**
 * zfs_stats_compact - compact the pool now and account for it.
 * Return: pages freed.
 */
unsigned long zfs_stats_compact(const struct zfs_stats_source *src);

/**
 * zfs_stats_file_xattr - format user.zpool.stat for one file into @buf.
 * Return: the length needed (excluding no NUL; the value is text without a
 * trailing NUL), whether or not it fit in @size.
 */
size_t zfs_stats_file_xattr(const struct zfs_file_usage *u, char *buf, size_t size);

#endif
