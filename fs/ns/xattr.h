/* SPDX-License-Identifier: MIT */
/*
 * xattr.h - an inode's extended attributes, and the POSIX ACL helpers that
 * keep the file mode in step with system.posix_acl_access.
 */
#ifndef ZPOOLFS_XATTR_H
#define ZPOOLFS_XATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define ZFS_ACL_ACCESS "system.posix_acl_access"
#define ZFS_ACL_DEFAULT "system.posix_acl_default"

struct zfs_xattr {
	struct zfs_xattr *next;
	size_t vlen;
	char *value;		/* points into the same allocation, after the name */
	char name[];
};

/** zfs_xattr_find - the attribute called @name, or NULL. */
struct zfs_xattr *zfs_xattr_find(struct zfs_xattr *head, const char *name);

/**
 * zfs_xattr_set - create or replace an attribute.
 * @flags: XATTR_CREATE, XATTR_REPLACE or 0.
 * Return: 0; -EEXIST (XATTR_CREATE and present); -ENODATA (XATTR_REPLACE and
 * absent); -ENOMEM (nothing changed).
 */
int zfs_xattr_set(struct zfs_xattr **head, const char *name, const void *value, size_t len,
		  int flags);

/** zfs_xattr_remove - Return: 0 or -ENODATA. */
int zfs_xattr_remove(struct zfs_xattr **head, const char *name);

/**
 * zfs_xattr_list - the NUL-separated names into @buf (may be NULL).
 * Return: the bytes the whole list needs.
 */
size_t zfs_xattr_list(const struct zfs_xattr *head, char *buf, size_t size);

void zfs_xattr_free_all(struct zfs_xattr **head);

/* acl.c: the kernel's xattr form of a POSIX ACL (version 2, little endian). */

/** zfs_acl_check - Return: the number of entries, or -EINVAL for a malformed ACL. */
int zfs_acl_check(const void *value, size_t len);

/**
 * zfs_acl_mode - the permission bits an access ACL implies (owner from
 * USER_OBJ, group from MASK or else GROUP_OBJ, other from OTHER).
 * Return: 1 if the ACL says more than the mode can (named entries), 0 if the
 * mode says it all (the ACL need not be kept), -EINVAL if malformed.
 */
int zfs_acl_mode(const void *value, size_t len, mode_t *perm);

/** zfs_acl_chmod - make an access ACL agree with new permission bits @mode. */
void zfs_acl_chmod(void *value, size_t len, mode_t mode);

/**
 * zfs_acl_create_masq - apply a new inode's requested @mode to an ACL copied
 * from its directory's default ACL, and the ACL back to *@mode.
 * Return: 1 if the ACL must be kept, 0 if the mode says it all, -EINVAL.
 */
int zfs_acl_create_masq(void *value, size_t len, mode_t *mode);

#endif
