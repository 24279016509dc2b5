/* SPDX-License-Identifier: MIT */
/*
 * writeback.h - moving stored pages out of the pool into the backing file and
 * back (writeback.c), zram's writeback with compressed bytes.
 */
#ifndef ZPOOLFS_WRITEBACK_H
#define ZPOOLFS_WRITEBACK_H

struct zfs_fs;

/**
 * zfs_writeback_cmd - a write to .zpool/writeback: "idle", "huge",
 * "huge_idle" or "incompressible", as zram takes them.
 * Return: 0; -EINVAL for another word; -ENODEV without a backing file;
 * -ENOSPC when the backing file is full before anything could be written
 * back; -EIO when writing it failed before anything was.
 */
int zfs_writeback_cmd(struct zfs_fs *fs, const char *text);

#endif
