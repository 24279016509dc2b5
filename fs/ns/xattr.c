// SPDX-License-Identifier: MIT
/*
 * xattr.c - extended attributes of one inode.
 *
 * Design: a singly linked list of (name, value) records, one allocation
 * each, in the inode. Inodes carry a handful of attributes at most (ACLs,
 * a security label, some user.* names), so a list is both the smallest and
 * the fastest structure; a replaced value gets a new record, linked in the
 * old one's place, so a failed allocation changes nothing.
 *
 *   inode.xattrs -> [next | vlen | value* | "user.x\0" value bytes] -> ...
 *
 * Namespace rules (user.* only on files and directories, trusted.* for
 * root, ...) are checked by the callers in ops_xattr.c.
 * Locking: none inside; the inode's lock covers the list.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "xattr.h"

struct zfs_xattr *zfs_xattr_find(struct zfs_xattr *head, const char *name)
{
	for (; head; head = head->next)
		if (!strcmp(head->name, name))
			return head;
	return NULL;
}

int zfs_xattr_set(struct zfs_xattr **head, const char *name, const void *value, size_t len,
		  int flags)
{
	struct zfs_xattr **pp, *x;
	size_t nlen = strlen(name) + 1;

	for (pp = head; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name))
			break;
	if (*pp && (flags & XATTR_CREATE))
		return -EEXIST;
	if (!*pp && (flags & XATTR_REPLACE))
		return -ENODATA;
	x = malloc(sizeof(*x) + nlen + len);
	if (!x)
		return -ENOMEM;
	memcpy(x->name, name, nlen);
	x->value = x->name + nlen;
	if (len)
		memcpy(x->value, value, len);
	x->vlen = len;
	if (*pp) {
		struct zfs_xattr *old = *pp;

		x->next = old->next;
		*pp = x;
		free(old);
	} else {
		x->next = NULL;
		*pp = x;
	}
	return 0;
}

int zfs_xattr_remove(struct zfs_xattr **head, const char *name)
{
	for (struct zfs_xattr **pp = head; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->name, name)) {
			struct zfs_xattr *x = *pp;

			*pp = x->next;
			free(x);
			return 0;
		}
	}
	return -ENODATA;
}

size_t zfs_xattr_list(const struct zfs_xattr *head, char *buf, size_t size)
{
	size_t need = 0;

	for (; head; head = head->next) {
		size_t n = strlen(head->name) + 1;

		if (buf && need + n <= size)
			memcpy(buf + need, head->name, n);
		need += n;
	}
	return need;
}

void zfs_xattr_free_all(struct zfs_xattr **head)
{
	struct zfs_xattr *x = *head, *next;

	for (; x; x = next) {
		next = x->next;
		free(x);
	}
	*head = NULL;
}
