/* SPDX-License-Identifier: MIT */
/*
 * writeback.h - moving stored pages out of the pool into the backing file and
 * back (writeback.c), zram's writeback with compressed bytes.
 */
#ifndef ZPOOLFS_WRITEBACK_H
#define ZPOOLFS_WRITEBACK_H

struct zfs_fs;
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
 * zfs_backed_read - the page of a BACKED entry into @dst (4096 bytes): its
 * stored bytes read from the backing file, decompressed unless RAW.
 * Return: 0 or -EIO. Context: the inode's lock (the entry stays published).
 */
int zfs_backed_read(struct zfs_fs *fs, const struct zfs_pte *e, void *dst);

/** zfs_backed_release - give an unpublished BACKED entry's range back. No lock. */
void zfs_backed_release(struct zfs_fs *fs, const struct zfs_pte *e);

#endif
