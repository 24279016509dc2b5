/* SPDX-License-Identifier: MIT */
/*
 * pagestore.h - one file page in and out of the pool (pagestore.c), shared
 * by the read/write path (data.c) and the range operations (range.c).
 * Internal to fs/.
 */
#ifndef ZPOOLFS_PAGESTORE_H
#define ZPOOLFS_PAGESTORE_H

#include "zfs.h"

static inline bool zfs_pte_is_hole(const struct zfs_pte *e)
{
	return zfs_pte_kind(e) == ZFS_PTE_HOLE;
}

/**
 * zfs_page_encode - turn one page into an entry, allocating pool memory.
 * @src: 4096 bytes, any alignment; not the thread's second scratch page.
 * Return: 0; -ENOMEM (no memory, or an injected page failure); -ENOSPC
 * (mem_limit). Context: no lock needed; uses the thread's compressor.
 */
int zfs_page_encode(struct zfs_fs *fs, const void *src, struct zfs_pte *out);

/**
 * zfs_page_store - zfs_page_encode() of a page known not to be same-filled,
 * without the dedup index: compressed (COMP) or raw (HUGE).
 * Return: as zfs_page_encode().
 */
int zfs_page_store(struct zfs_fs *fs, const void *src, struct zfs_pte *out);

/**
 * zfs_page_decode - the page's 4096 bytes into @dst (any alignment).
 * Return: 0, -EIO (corrupt data), -ENOMEM. Context: the inode's lock.
 */
int zfs_page_decode(struct zfs_fs *fs, const struct zfs_pte *e, void *dst);

/**
 * zfs_page_get - the entry at @idx for a read: also clears its idle flag
 * and sets its atime (or its piece's). Context: the inode's read lock.
 */
struct zfs_pte zfs_page_get(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx);

/** zfs_page_release - give an unpublished entry's pool memory back. */
void zfs_page_release(struct zfs_fs *fs, const struct zfs_pte *e);

/** zfs_page_account - count an entry in (+1) or out (-1) of the inode and the fs. */
void zfs_page_account(struct zfs_fs *fs, struct zfs_inode *in, const struct zfs_pte *e, int sign);

/**
 * zfs_page_publish - put @e at page @idx of @in (a hole clears it); the
 * replaced entry goes to *@old, accounted out but not released. A hole turned
 * into data is charged against size= first.
 * Return: 0; -ENOSPC (size=); -ENOMEM (page table node); nothing changes on
 * error. Context: the inode's write lock.
 */
int zfs_page_publish(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx, struct zfs_pte e,
		     struct zfs_pte *old);

/**
 * zfs_page_publish_run - zfs_page_publish() of @n entries @e (none a hole;
 * an atime of 0 is set to now) at @idx.. in one go: stored a leaf at a time
 * and accounted once (share.c's copy of many pages); @old[] get the replaced
 * entries, accounted out but not released.
 * Return: the entries published, from the first (fewer than @n: a table node
 * could not be allocated); -ENOSPC (size=; nothing published); -ENOMEM (none
 * published). Context: the inode's write lock.
 */
long zfs_page_publish_run(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx,
			  struct zfs_pte *e, unsigned int n, struct zfs_pte *old);

/** zfs_page_free_range - drop and release every page in [@start, @end). Context: write lock. */
void zfs_page_free_range(struct zfs_fs *fs, struct zfs_inode *in, uint64_t start, uint64_t end);

/**
 * zfs_page_rewrite - page @idx with [@zfrom, @zto) zeroed and @len bytes of
 * @data copied at @dofs, stored back (a hole stays a hole unless @data).
 * Return: 0, -ENOMEM, -ENOSPC, -EIO; the page is unchanged on error.
 * Context: the inode's write lock.
 */
int zfs_page_rewrite(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx, size_t zfrom,
		     size_t zto, const void *data, size_t dofs, size_t len);

/** zfs_page_zero_eof_tail - zero the stale bytes after EOF in EOF's page. Context: write lock. */
int zfs_page_zero_eof_tail(struct zfs_fs *fs, struct zfs_inode *in);

/** zfs_same_filled - true with *@val set when every 8-byte word of the page is the same. */
bool zfs_same_filled(const void *page, unsigned long *val);

/** zfs_pool_alloc - @len pool bytes within mem_limit. Return: 0, -ENOMEM, -ENOSPC, -EIO. */
int zfs_pool_alloc(struct zfs_fs *fs, size_t len, unsigned long *h);

/** zfs_note_pool_size - raise mem_used_max to the pool's size now. */
void zfs_note_pool_size(struct zfs_fs *fs);

#endif
