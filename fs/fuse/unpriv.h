/* SPDX-License-Identifier: MIT */
/*
 * unpriv.h - checks of a mount made by a user who is not root (unpriv.c).
 */
#ifndef ZPOOLFS_UNPRIV_H
#define ZPOOLFS_UNPRIV_H

#include "options.h"

/**
 * zfs_unpriv_check - refuse, before anything is made or mounted, what a mount by a user who
 * is not root cannot have: readahead= (sysfs, root only), allow_other/allow_root without
 * user_allow_other in /etc/fuse.conf, a /dev/fuse this process cannot open. Does nothing for
 * root. For others it also drops the default readahead window (root's only).
 * Return: 0; -EPERM or -ENOENT after one line on stderr saying why and what to do.
 */
int zfs_unpriv_check(struct zfs_options *o, const struct zfs_opt_strings *s);

#endif
