/* SPDX-License-Identifier: MIT */
/*
 * pagetable.h - a file's sparse page table: page index -> stored page.
 */
#ifndef ZPOOLFS_PAGETABLE_H
#define ZPOOLFS_PAGETABLE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * What a page-table entry holds. The life cycle of entries (and of the
 * multi-page stored pieces that PIECE entries point at) is described once,
 * at the top of fs/data/pagestore.c; struct zfs_piece is in fs/data/cluster.h.
 */
enum zfs_pte_kind {
	ZFS_PTE_HOLE = 0,	/* nothing stored: reads as zeros, costs nothing */
	ZFS_PTE_SAME = 1,	/* every 8-byte word equals val; no allocation */
	ZFS_PTE_COMP = 2,	/* val is a pool handle to len compressed bytes */
	ZFS_PTE_HUGE = 3,	/* the page stored raw (see pagestore.c for zbud) */
	ZFS_PTE_PIECE = 4,	/* val is a struct zfs_piece *; slot = the page's place in it */
	ZFS_PTE_BACKED = 5,	/* val is a byte offset in the backing file (issue 13), len bytes */
};

/*
 * Per-entry flags, zram's slot flags (only on COMP, HUGE and BACKED entries;
 * a PIECE keeps them once for all its pages in the piece).
 */
#define ZFS_PTE_IDLE (1U << 3)		/* not read or written since marked idle */
#define ZFS_PTE_INCOMP (1U << 4)	/* recompression tried and did not gain */
#define ZFS_PTE_PRIO_SHIFT 5		/* 2 bits: 0 = comp=, 1 = recomp= (zram's priority) */
#define ZFS_PTE_PRIO_MASK (3U << ZFS_PTE_PRIO_SHIFT)
#define ZFS_PTE_RAW (1U << 7)		/* BACKED: the bytes are the raw page, not compressed */
#define ZFS_PTE_FLAGS (ZFS_PTE_IDLE | ZFS_PTE_INCOMP | ZFS_PTE_PRIO_MASK | ZFS_PTE_RAW)
#define ZFS_PTE_NOPACK (1U << 21)	/* COMP/HUGE/SAME: packing its cluster did not gain (pack.c) */
#define ZFS_PTE_LEN_SHIFT 8		/* 13 bits: compressed length 0..4096, or a PIECE's slot */
#define ZFS_PTE_LEN_MASK (0x1fffU << ZFS_PTE_LEN_SHIFT)

/*
 * One page: 16 bytes, all zero for a hole.
 *
 *   val   64  SAME: the word | COMP, HUGE: pool handle | PIECE: piece pointer |
 *             BACKED: byte offset in the backing file
 *   info  32  kind:3  flags:5  len-or-slot:13  spare:11
 *   atime 32  seconds since the mount of the last write or read (idle,
 *             recomp_after); readers set it with relaxed atomics
 */
struct zfs_pte {
	unsigned long val;
	uint32_t info;
	uint32_t atime;
};

static inline enum zfs_pte_kind zfs_pte_kind(const struct zfs_pte *e)
{
	return (enum zfs_pte_kind)(e->info & 7);
}

/* COMP, HUGE, BACKED: the stored length in bytes. */
static inline unsigned int zfs_pte_len(const struct zfs_pte *e)
{
	return (e->info & ZFS_PTE_LEN_MASK) >> ZFS_PTE_LEN_SHIFT;
}

/* PIECE: the page's place among the piece's pages. */
static inline unsigned int zfs_pte_slot(const struct zfs_pte *e)
{
	return zfs_pte_len(e);
}

static inline unsigned int zfs_pte_flags(const struct zfs_pte *e)
{
	return e->info & ZFS_PTE_FLAGS;
}

static inline unsigned int zfs_pte_prio(const struct zfs_pte *e)
{
	return (e->info & ZFS_PTE_PRIO_MASK) >> ZFS_PTE_PRIO_SHIFT;
}

/* @len is a length (COMP, HUGE, BACKED) or a slot (PIECE); @flags from ZFS_PTE_*. */
static inline struct zfs_pte zfs_pte_make(enum zfs_pte_kind kind, unsigned long val,
					  unsigned int len)
{
	return (struct zfs_pte){ .val = val, .info = (uint32_t)kind | (uint32_t)len << ZFS_PTE_LEN_SHIFT };
}

static inline struct zfs_pte zfs_pte_make_flags(enum zfs_pte_kind kind, unsigned long val,
						unsigned int len, unsigned int flags)
{
	struct zfs_pte e = zfs_pte_make(kind, val, len);

	e.info |= flags & ZFS_PTE_FLAGS;
	return e;
}

#define ZFS_PTAB_MAX_INDEX ((1ULL << 51) - 1)	/* pages of a 2^63-byte file */

struct zfs_ptab {
	void *root;		/* NULL, a leaf (height 1) or an interior node */
	unsigned int height;	/* 0: only index 0 can be present, kept in @one */
	uint32_t gen;		/* bumped by every store: "has anything changed?" */
	struct zfs_pte one;	/* height 0: the page at index 0 */
};

void zfs_ptab_init(struct zfs_ptab *pt);

/** zfs_ptab_lookup - the entry at @idx, or a hole. Context: caller's inode lock. */
struct zfs_pte zfs_ptab_lookup(const struct zfs_ptab *pt, uint64_t idx);

/**
 * zfs_ptab_slot - where the entry at @idx lives, or NULL when no node holds
 * it (a hole). Context: the inode's lock; writes to the slot need the write
 * lock, except zfs_ptab_touch()'s.
 */
struct zfs_pte *zfs_ptab_slot(struct zfs_ptab *pt, uint64_t idx);

/**
 * zfs_ptab_touch - a read of page @idx at @now (seconds since the mount):
 * clears its idle flag and sets its atime, atomically, so readers under the
 * read lock may do it together. Return: true if the flag was set.
 */
bool zfs_ptab_touch(struct zfs_ptab *pt, uint64_t idx, uint32_t now);

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

/**
 * zfs_ptab_run - the first non-hole entry at an index >= @idx, and the ones
 * after it in the same leaf, in place: *@found is its index, *@run its slot,
 * and the return value n (0: none) says that (*@run)[0..n-1] are the entries
 * at *@found..*@found + n - 1 (holes among them read as holes). The slots stay
 * valid until the table changes. Context: the inode's write lock.
 */
unsigned int zfs_ptab_run(struct zfs_ptab *pt, uint64_t idx, uint64_t *found,
			  const struct zfs_pte **run);

/**
 * zfs_ptab_store_run - zfs_ptab_store() of @n entries @e (none a hole) at
 * @idx.. in one walk a leaf; @old[0..] get what was there.
 * Return: the entries stored, from the first: fewer than @n when a node could
 * not be allocated (ENOMEM) or @e holds a hole. Context: the write lock.
 */
unsigned int zfs_ptab_store_run(struct zfs_ptab *pt, uint64_t idx, const struct zfs_pte *e,
				unsigned int n, struct zfs_pte *old);

/** zfs_ptab_destroy - free the table's nodes (entries must be released first). */
void zfs_ptab_destroy(struct zfs_ptab *pt);

/** zfs_ptab_memory - bytes of nodes the table holds. */
uint64_t zfs_ptab_memory(const struct zfs_ptab *pt);

#endif
