/* SPDX-License-Identifier: MIT */
/*
 * pack.h - pages stored one by one packed into clusters later (pack.c):
 * -o pack_after=SECONDS.
 */
#ifndef ZPOOLFS_PACK_H
#define ZPOOLFS_PACK_H

#include "zfs.h"

/**
 * zfs_pack - pack every cluster of every file whose pages were all stored
 * singly and not written for @min_age seconds (pack.c says which).
 * Return: the pages moved into pieces, or -ENOMEM. Context: no lock held.
 */
long zfs_pack(struct zfs_fs *fs, uint32_t min_age);

/**
 * zfs_pack_start - the background thread of pack_after= (none without it or
 * with cluster=4k). Return: 0, or -ENOMEM/-EAGAIN (no thread; nothing else
 * changes). zfs_pack_stop() stops and joins it (at unmount).
 */
int zfs_pack_start(struct zfs_fs *fs);
void zfs_pack_stop(struct zfs_fs *fs);

#endif
