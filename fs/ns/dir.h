/* SPDX-License-Identifier: MIT */
/*
 * dir.h - a directory's entries: a name hash for lookups and an order of
 * sequence numbers for readdir offsets.
 */
#ifndef ZPOOLFS_DIR_H
#define ZPOOLFS_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zfs_inode;

#define ZFS_DIR_NAME_MAX 255

/*
 * An entry: 26 bytes and the name, allocated to the byte (a name of up to 13
 * bytes fits a 48-byte malloc chunk). Its readdir offset is order[slot].seq.
 */
struct zfs_dirent {
	struct zfs_dirent *hnext;	/* hash chain */
	struct zfs_inode *inode;	/* the entry holds one of the inode's links */
	uint32_t hash;
	uint32_t slot;			/* index in zfs_dir.order */
	uint8_t namelen;		/* at most ZFS_DIR_NAME_MAX */
	uint8_t dtype;			/* S_IFMT >> 12 of the inode: d_type, no lock */
	char name[];			/* NUL-terminated */
};

struct zfs_dir_slot {
	uint64_t seq;			/* readdir offset: never reused in this directory */
	struct zfs_dirent *de;		/* NULL: removed, compacted away later */
};

struct zfs_dir {
	struct zfs_dirent **buckets;
	uint32_t nbuckets;		/* power of two, or 0 before the first entry */
	uint32_t count;			/* live entries */
	struct zfs_dir_slot *order;	/* sorted by seq */
	uint32_t olen, ocap, tombs;
	uint64_t next_seq;
	struct zfs_inode *parent;	/* ".." */
};

/* Offsets 1 and 2 are "." and ".."; entries start after them. */
#define ZFS_DIR_FIRST_SEQ 3

struct zfs_dir *zfs_dir_new(struct zfs_inode *parent);
void zfs_dir_free(struct zfs_dir *d);

/** zfs_dir_find - the entry called @name, or NULL. */
struct zfs_dirent *zfs_dir_find(const struct zfs_dir *d, const char *name, size_t len);

/**
 * zfs_dir_add - add @name -> @inode (of file type @mode) at the end of the readdir order.
 * Return: 0, or -ENOMEM (-ENAMETOOLONG past ZFS_DIR_NAME_MAX) with the
 * directory unchanged. The caller has made sure the name is not present.
 */
int zfs_dir_add(struct zfs_dir *d, const char *name, size_t len, struct zfs_inode *inode,
		unsigned int mode);

/** zfs_dir_remove - unlink and free @de (cannot fail). */
void zfs_dir_remove(struct zfs_dir *d, struct zfs_dirent *de);

/** zfs_dir_next - the first entry whose seq is greater than @after, or NULL. */
struct zfs_dirent *zfs_dir_next(const struct zfs_dir *d, uint64_t after);

/* zfs_dirent_seq - @de's readdir offset: the next listing resumes after it. */
static inline uint64_t zfs_dirent_seq(const struct zfs_dir *d, const struct zfs_dirent *de)
{
	return d->order[de->slot].seq;
}

static inline bool zfs_dir_empty(const struct zfs_dir *d)
{
	return d->count == 0;
}

#endif
