/* SPDX-License-Identifier: MIT */
/*
 * pagetable.h - a file's sparse page table: page index -> stored page.
 */
#ifndef ZPOOLFS_PAGETABLE_H
#define ZPOOLFS_PAGETABLE_H

#include <stdbool.h>
#include <stdint.h>

enum zfs_pte_kind {
	ZFS_PTE_HOLE = 0,	/* nothing stored: reads as zeros, costs nothing */
	ZFS_PTE_SAME = 1,	/* every 8-byte word equals val; no allocation */
	ZFS_PTE_COMP = 2,	/* val is a pool handle to len compressed bytes */
	ZFS_PTE_HUGE = 3,	/* the page stored raw (see data.c for zbud) */
};

/* One page: 16 bytes, all zero for a hole. */
struct zfs_pte {
	unsigned long val;
	uint32_t info;		/* kind in bits 0-1, compressed length above */
	uint32_t spare;
};

static inline enum zfs_pte_kind zfs_pte_kind(const struct zfs_pte *e)
{
	return (enum zfs_pte_kind)(e->info & 3);
}

static inline unsigned int zfs_pte_len(const struct zfs_pte *e)
{
	return e->info >> 2;
}

static inline struct zfs_pte zfs_pte_make(enum zfs_pte_kind kind, unsigned long val,
					  unsigned int len)
{
	return (struct zfs_pte){ .val = val, .info = (uint32_t)kind | (uint32_t)len << 2 };
}

#define ZFS_PTAB_MAX_INDEX ((1ULL << 51) - 1)	/* pages of a 2^63-byte file */

struct zfs_ptab {
	void *root;		/* NULL, a leaf (height 1) or an interior node */
	unsigned int height;	/* 0: only index 0 can be present, kept in @one */
	struct zfs_pte one;	/* height 0: the page at index 0 */
};

void zfs_ptab_init(struct zfs_ptab *pt);

/** zfs_ptab_lookup - the entry at @idx, or a hole. Context: caller's inode lock. */
struct zfs_pte zfs_ptab_lookup(const struct zfs_ptab *pt, uint64_t idx);

/**
 * zfs_ptab_store - replace the entry at @idx with @e (a hole clears it).
 * @old: set to what was there.
 * Return: 0, or -ENOMEM when a node could not be allocated (nothing changed;
 * storing a hole never fails).
 */
int zfs_ptab_store(struct zfs_ptab *pt, uint64_t idx, struct zfs_pte e, struct zfs_pte *old);

/**
 * zfs_ptab_next - the first non-hole entry at an index >= @idx.
 * Return: true with *@found and *@e set, or false if there is none.
 */
bool zfs_ptab_next(const struct zfs_ptab *pt, uint64_t idx, uint64_t *found, struct zfs_pte *e);

/** zfs_ptab_destroy - free the table's nodes (entries must be released first). */
void zfs_ptab_destroy(struct zfs_ptab *pt);

/** zfs_ptab_memory - bytes of nodes the table holds. */
uint64_t zfs_ptab_memory(const struct zfs_ptab *pt);

#endif
