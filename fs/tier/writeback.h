/* SPDX-License-Identifier: MIT */
/*
 * writeback.h - moving stored pages out of the pool into the backing file and
 * back (writeback.c), zram's writeback with compressed bytes.
 */
#ifndef ZPOOLFS_WRITEBACK_H
#define ZPOOLFS_WRITEBACK_H

#include <stdbool.h>

struct zfs_fs;
struct zfs_inode;
struct zfs_pte;

/**
 * zfs_writeback_cmd - a write to .zpool/writeback: "idle", "huge",
 * "huge_idle" or "incompressible", as zram takes them.
 * Return: 0; -EINVAL for another word; -ENODEV without a backing file;
 * -ENOSPC when the backing file is full before anything could be written
 * back; -EIO when writing it failed before anything was.
 */
int zfs_writeback_cmd(struct zfs_fs *fs, const char *text);

/**
 * zfs_wbd_start - start automatic writeback (writeback_at=, with backing=
 * and mem_limit=; nothing otherwise). Call after the daemon has forked.
 * Return: 0, -ENOMEM or a pthread_create error.
 */
int zfs_wbd_start(struct zfs_fs *fs);

/** zfs_wbd_stop - stop and join it (before the pool and the backing file go). */
void zfs_wbd_stop(struct zfs_fs *fs);

/**
 * zfs_wb_hold - this thread holds @in's wrlock and may allocate (NULL: no
 * longer): zfs_wbd_make_room() then writes @in's own pages back when the
 * thread had to skip it. Context: the caller of zfs_wrlock(@in).
 * Return: the file held before, to be given back to zfs_wb_hold() after.
 */
struct zfs_inode *zfs_wb_hold(struct zfs_inode *in);

/* How long an allocation keeps asking zfs_wbd_make_room() for room. */
#define ZFS_ROOM_WAIT_MS 5000

/**
 * zfs_wbd_make_room - the pool is at mem_limit: have the thread write pages
 * back now and wait (bounded) for that pass.
 * Return: true if it moved pages, the pool is below mem_limit now, or all
 * it could move was locked (after a short pause): try the allocation again;
 * false if it could not (no thread, backing file full, nothing to move,
 * timeout).
 * Context: any; takes no inode lock itself (the thread uses trylock).
 */
bool zfs_wbd_make_room(struct zfs_fs *fs);

/**
 * zfs_backed_read - the page of a BACKED entry into @dst (4096 bytes): its
 * stored bytes read from the backing file, decompressed unless RAW.
 * Return: 0 or -EIO. Context: the inode's lock (the entry stays published).
 */
int zfs_backed_read(struct zfs_fs *fs, const struct zfs_pte *e, void *dst);

/** zfs_backed_release - give an unpublished BACKED entry's range back. No lock. */
void zfs_backed_release(struct zfs_fs *fs, const struct zfs_pte *e);

#endif
