// SPDX-License-Identifier: MIT
/*
 * killpriv.c - dropping privileges a file carries (set-id bits and the
 * security.capability attribute) when it is written, truncated or given away,
 * now that the daemon declares FUSE_CAP_HANDLE_KILLPRIV (ops.c).
 *
 * Why: without HANDLE_KILLPRIV the kernel (fs/fuse/dir.c fuse_setattr) turns
 * every ATTR_KILL_SUID/SGID it is handed (each chown of a non-directory,
 * each truncate and page-cache write by a caller without CAP_FSETID) into a
 * GETATTR, to refresh the mode, then a mode change in the SETATTR. With it,
 * the kernel drops the kill bits and the mode and sends the rest: one
 * request less per chown (tar -x does one fchown per file). libfuse 3.14
 * knows only version 1 of the capability, which carries no flag saying
 * whether the caller holds CAP_FSETID, so the rules here decide it:
 *
 *   what reaches the daemon               set-id bits cleared (S_ISUID, and
 *                                          S_ISGID with group-exec)
 *   SETATTR with uid or gid (chown)        always, on non-directories
 *   SETATTR with size (truncate)           if the caller lacks CAP_FSETID
 *   OPEN with O_TRUNC                      if the caller lacks CAP_FSETID
 *                                          (ATOMIC_O_TRUNC: the kernel's
 *                                          own setattr sends nothing)
 *   SETATTR with no attribute (but ctime)  if the caller lacks CAP_FSETID:
 *     the kernel's file_remove_privs() (write through the page cache,
 *     copy_file_range) after it stripped the kill bits, or chown(-1, -1)
 *     (which carries ctime under the writeback cache)
 *   WRITE on a direct_io open              if the caller lacks CAP_FSETID
 *                                          (the kernel does nothing there)
 *
 * This is the kernel's rule without HANDLE_KILLPRIV, and tmpfs's (the VFS's
 * setattr_should_drop_suidgid) except in two corners: a set-gid file without
 * group-exec keeps S_ISGID when someone outside its group writes it (FUSE
 * never cleared it; tmpfs does), and root's chown(f, -1, -1) keeps the bits
 * (tmpfs clears S_ISUID; the empty SETATTR cannot be told from a privileged
 * writer's). security.capability: the VFS still asks for it (GETXATTR) on
 * chown, truncate and page-cache writes and removes it itself (REMOVEXATTR
 * from setattr_prepare()); a direct_io write sees none of that, so the
 * daemon removes it there, whoever writes, as tmpfs does.
 *
 * Whether the caller holds CAP_FSETID is read from /proc/PID/status (CapEff)
 * of the request's pid, only when the file has bits to lose; a pid that is
 * gone counts as unprivileged (clearing is the safe side).
 * Locking: zfs_kill_priv() runs under the inode's write lock; the /proc read
 * happens before any lock is taken.
 */
#include <stdio.h>
#include <string.h>

#include "ops.h"
#include "xattr.h"

#define ZFS_XATTR_CAPS "security.capability"

mode_t zfs_setid_to_kill(mode_t mode)
{
	mode_t kill = mode & S_ISUID;

	if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		kill |= S_ISGID;
	return kill;
}

bool zfs_caller_has_fsetid(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	unsigned long long caps = 0;
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)ctx->pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &caps) == 1;
	fclose(f);
	return found && (caps & (1ULL << 4));	/* CAP_FSETID */
}

bool zfs_has_priv(const struct zfs_inode *in, bool caps)
{
	if (zfs_is_dir(in))
		return false;
	return zfs_setid_to_kill(in->mode) || (caps && zfs_xattr_find(in->xattrs, ZFS_XATTR_CAPS));
}

bool zfs_kill_priv(struct zfs_inode *in, bool setid, bool caps)
{
	mode_t kill = setid && !zfs_is_dir(in) ? zfs_setid_to_kill(in->mode) : 0;
	bool changed = kill != 0;

	in->mode &= ~kill;
	if (caps && !zfs_is_dir(in) && zfs_xattr_remove(&in->xattrs, ZFS_XATTR_CAPS) == 0)
		changed = true;
	return changed;
}
