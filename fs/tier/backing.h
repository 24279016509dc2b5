/* SPDX-License-Identifier: MIT */
/*
 * backing.h - the backing file (-o backing=PATH): space for compressed data
 * written back out of the pool, managed by the daemon (backing.c).
 *
 * This module knows a file or block device, byte ranges in it and its
 * counters; it knows nothing of pages, entries or FUSE. The writeback code
 * (pagestore.c and writeback.c) decides what goes there.
 */
#ifndef ZPOOLFS_BACKING_H
#define ZPOOLFS_BACKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs_counters.h"

#define ZFS_BD_UNIT 512UL		/* allocation unit: one sector */

struct zfs_backing;

/* A snapshot for the stats files. */
struct zfs_backing_info {
	uint64_t capacity;		/* bytes it may hold (0: as much as its filesystem takes) */
	uint64_t used;			/* bytes allocated, in whole units */
	bool limit_enable;		/* writeback_limit_enable */
	uint64_t limit_pages;		/* writeback_limit: 4 KiB units still allowed */
};

/**
 * zfs_backing_open - open or create the backing file @path and discard what
 * it holds. A regular file is created (mode 0600) if missing and then removed
 * by zfs_backing_close(); an existing one is truncated at open and at close.
 * A block device is opened exclusively and discarded (BLKDISCARD, best
 * effort). Refused, with a message in @msg: a directory or any other file
 * type, a path on the mount @mountpoint itself, a path that cannot be opened
 * for reading and writing.
 * @capacity: bytes it may hold, 0 for no limit but the filesystem's (a block
 *            device: its size; a smaller @capacity caps it).
 * @counters: where bd_* counters are kept (the filesystem's).
 * Return: the backing file, or NULL with @msg set (and errno).
 */
struct zfs_backing *zfs_backing_open(const char *path, const char *mountpoint, uint64_t capacity,
				     struct zfs_counters *counters, char *msg, size_t msglen);

/** zfs_backing_close - close it; remove the file if it was created; discard its contents. */
void zfs_backing_close(struct zfs_backing *bd);

/**
 * zfs_backing_fault - test hook: make writes or reads fail with @err (EIO or
 * ENOSPC), the @nth one from now on (1 = the next), or every @every-th one,
 * or all (both 0). @err 0 clears. Parsed from ZPOOLFS_BD_FAULT_WRITE /
 * ZPOOLFS_BD_FAULT_READ by zfs_backing_fault_parse().
 */
void zfs_backing_fault(struct zfs_backing *bd, bool write, int err, unsigned long nth,
		       unsigned long every);

/**
 * zfs_backing_fault_parse - "EIO", "ENOSPC,nth=3", "EIO,every=2" into a call
 * of zfs_backing_fault(). Return: 0 or -EINVAL (message on stderr).
 */
int zfs_backing_fault_parse(struct zfs_backing *bd, bool write, const char *spec);

/**
 * zfs_backing_alloc - reserve room for @len bytes (1..64 KiB).
 * Return: 0 with *@off set; -ENOSPC when the capacity is used up; -ENOMEM.
 * Context: takes the backing lock.
 */
int zfs_backing_alloc(struct zfs_backing *bd, size_t len, uint64_t *off);

/**
 * zfs_backing_free - give back [@off, @off + @len) from zfs_backing_alloc();
 * disk blocks that hold nothing any more are punched out of the file.
 * Context: takes the backing lock.
 */
void zfs_backing_free(struct zfs_backing *bd, uint64_t off, size_t len);

/**
 * zfs_backing_write - write @len bytes at @off (a range from zfs_backing_alloc()).
 * Return: 0; -EIO, -ENOSPC (the filesystem under it is full), or another
 * negative errno of pwrite; the range stays allocated either way.
 * Context: no lock (threads write to different ranges).
 */
int zfs_backing_write(struct zfs_backing *bd, uint64_t off, const void *buf, size_t len);

/**
 * zfs_backing_read - read @len bytes at @off. Return: 0, -EIO or another
 * negative errno. Context: no lock.
 */
int zfs_backing_read(struct zfs_backing *bd, uint64_t off, void *buf, size_t len);

/**
 * zfs_backing_limit_take - zram's writeback_limit: may @bytes more be
 * written back? If the limit is enabled, takes them from it. The limit is
 * set and shown in 4 KiB units, as zram's, and spent by the bytes written
 * (zram writes 4 KiB per page, zpoolfs the compressed bytes).
 * Return: true if allowed.
 */
bool zfs_backing_limit_take(struct zfs_backing *bd, uint64_t bytes);

/** zfs_backing_limit_set - writeback_limit (4 KiB units) and writeback_limit_enable. */
void zfs_backing_limit_set(struct zfs_backing *bd, int enable, const uint64_t *pages);

void zfs_backing_info(struct zfs_backing *bd, struct zfs_backing_info *info);

/** zfs_backing_blocks - 512-byte blocks the file takes on disk now (st_blocks). */
uint64_t zfs_backing_blocks(struct zfs_backing *bd);

#endif
