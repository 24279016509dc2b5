/* SPDX-License-Identifier: MIT */
/*
 * pack.h - pages stored one by one packed into clusters later (pack.c):
 * -o pack_after=SECONDS.
 */
#ifndef ZPOOLFS_PACK_H
#define ZPOOLFS_PACK_H

#include "zfs.h"

/**
 * zfs_pack - pack every unit of every file whose pages were not written for
 * @min_age seconds, and gather small files (pack.c says which).
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

/**
 * zfs_pack_min_age - the least age (seconds) at which data has surely been
 * offered to a whole pass of the packing thread, at least @min_age: what
 * recomp_after= waits for, so that it recompresses pieces the packer made
 * rather than pages it was about to pack. UINT32_MAX before the first whole
 * pass; @min_age when no packing thread runs.
 */
uint32_t zfs_pack_min_age(const struct zfs_fs *fs, uint32_t min_age);

#endif
