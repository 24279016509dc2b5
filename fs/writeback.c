// SPDX-License-Identifier: MIT
/*
 * writeback.c - zram's writeback for zpoolfs (being built: the commands are
 * parsed; moving pages follows).
 */
#include <errno.h>
#include <string.h>

#include "writeback.h"
#include "zfs.h"

int zfs_writeback_cmd(struct zfs_fs *fs, const char *text)
{
	static const char *const types[] = { "idle", "huge", "huge_idle", "incompressible" };

	if (!fs->backing)
		return -ENODEV;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(text, types[i]))
			return -EOPNOTSUPP;
	return -EINVAL;
}
