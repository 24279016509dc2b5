// SPDX-License-Identifier: MIT
/*
 * acl.c - POSIX ACLs in the kernel's xattr form, and the mode they imply.
 *
 * Design: with FUSE_CAP_POSIX_ACL the kernel enforces ACLs itself and hands
 * the filesystem the xattr form to keep; keeping the mode's permission bits
 * in step with the ACL, applying chmod to the ACL, and inheriting default
 * ACLs at creation are the filesystem's job. These helpers work on the
 * stored bytes in place:
 *
 *   +-----------+------------------------+------------------------+---
 *   | version 2 | tag u16 perm u16 id u32| tag u16 perm u16 id u32| ...
 *   +-----------+------------------------+------------------------+---
 *
 * The mode's group bits stand for the MASK entry when there is one, else for
 * GROUP_OBJ, as POSIX.1e says. Stateless; no locks.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "xattr.h"

#define ACL_VERSION 2
#define TAG_USER_OBJ 0x01
#define TAG_USER 0x02
#define TAG_GROUP_OBJ 0x04
#define TAG_GROUP 0x08
#define TAG_MASK 0x10
#define TAG_OTHER 0x20

struct acl_entry {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
};

static unsigned int entry_tag(const unsigned char *e)
{
	uint16_t v;

	memcpy(&v, e, 2);
	return le16toh(v);
}

static unsigned int entry_perm(const unsigned char *e)
{
	uint16_t v;

	memcpy(&v, e + 2, 2);
	return le16toh(v);
}

static void set_perm(unsigned char *e, unsigned int perm)
{
	uint16_t v = htole16((uint16_t)perm);

	memcpy(e + 2, &v, 2);
}

int zfs_acl_check(const void *value, size_t len)
{
	const unsigned char *p = value;
	unsigned int n_user_obj = 0, n_group_obj = 0, n_other = 0, n_mask = 0, n_named = 0;
	uint32_t version;
	size_t count;

	if (!value || len < 4 || (len - 4) % sizeof(struct acl_entry))
		return -EINVAL;
	memcpy(&version, p, 4);
	if (le32toh(version) != ACL_VERSION)
		return -EINVAL;
	count = (len - 4) / sizeof(struct acl_entry);
	for (size_t i = 0; i < count; i++) {
		const unsigned char *e = p + 4 + i * sizeof(struct acl_entry);

		if (entry_perm(e) & ~7U)
			return -EINVAL;
		switch (entry_tag(e)) {
		case TAG_USER_OBJ: n_user_obj++; break;
		case TAG_GROUP_OBJ: n_group_obj++; break;
		case TAG_OTHER: n_other++; break;
		case TAG_MASK: n_mask++; break;
		case TAG_USER:
		case TAG_GROUP: n_named++; break;
		default: return -EINVAL;
		}
	}
	if (n_user_obj != 1 || n_group_obj != 1 || n_other != 1 || n_mask > 1 ||
	    (n_named && !n_mask))
		return -EINVAL;
	return (int)count;
}

int zfs_acl_mode(const void *value, size_t len, mode_t *perm)
{
	const unsigned char *p = value;
	unsigned int user = 0, group = 0, other = 0, mask = 0;
	bool has_mask = false, named = false;
	int count = zfs_acl_check(value, len);

	if (count < 0)
		return count;
	for (int i = 0; i < count; i++) {
		const unsigned char *e = p + 4 + i * sizeof(struct acl_entry);

		switch (entry_tag(e)) {
		case TAG_USER_OBJ: user = entry_perm(e); break;
		case TAG_GROUP_OBJ: group = entry_perm(e); break;
		case TAG_OTHER: other = entry_perm(e); break;
		case TAG_MASK: mask = entry_perm(e); has_mask = true; break;
		default: named = true; break;
		}
	}
	*perm = (mode_t)(user << 6 | (has_mask ? mask : group) << 3 | other);
	return named || has_mask;
}

void zfs_acl_chmod(void *value, size_t len, mode_t mode)
{
	unsigned char *p = value;
	unsigned char *group_obj = NULL, *mask = NULL;
	int count = zfs_acl_check(value, len);

	for (int i = 0; i < count; i++) {
		unsigned char *e = p + 4 + i * sizeof(struct acl_entry);

		switch (entry_tag(e)) {
		case TAG_USER_OBJ: set_perm(e, (mode >> 6) & 7); break;
		case TAG_GROUP_OBJ: group_obj = e; break;
		case TAG_MASK: mask = e; break;
		case TAG_OTHER: set_perm(e, mode & 7); break;
		default: break;
		}
	}
	if (mask)
		set_perm(mask, (mode >> 3) & 7);
	else if (group_obj)
		set_perm(group_obj, (mode >> 3) & 7);
}

int zfs_acl_create_masq(void *value, size_t len, mode_t *modep)
{
	unsigned char *p = value;
	unsigned char *group_obj = NULL, *mask = NULL;
	mode_t mode = *modep;
	int keep = 0;
	int count = zfs_acl_check(value, len);

	if (count < 0)
		return count;
	for (int i = 0; i < count; i++) {
		unsigned char *e = p + 4 + i * sizeof(struct acl_entry);
		unsigned int perm = entry_perm(e);

		switch (entry_tag(e)) {
		case TAG_USER_OBJ:
			perm &= (mode >> 6) & 7;
			set_perm(e, perm);
			mode = (mode & ~(mode_t)0700) | (mode_t)perm << 6;
			break;
		case TAG_OTHER:
			perm &= mode & 7;
			set_perm(e, perm);
			mode = (mode & ~(mode_t)07) | perm;
			break;
		case TAG_GROUP_OBJ:
			group_obj = e;
			break;
		case TAG_MASK:
			mask = e;
			keep = 1;
			break;
		default:
			keep = 1;
			break;
		}
	}
	if (!mask)
		mask = group_obj;
	if (mask) {
		unsigned int perm = entry_perm(mask) & ((mode >> 3) & 7);

		set_perm(mask, perm);
		mode = (mode & ~(mode_t)070) | (mode_t)perm << 3;
	}
	*modep = mode;
	return keep;
}
