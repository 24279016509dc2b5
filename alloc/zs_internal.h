/* SPDX-License-Identifier: MIT */
/*
 * zs_internal.h - zsmalloc's private types and inline helpers, shared by
 * zsmalloc.c (pool, classes, malloc/free), zs_map.c (map/unmap),
 * zs_compact.c, zs_stats.c and zs_debug.c. The design, the picture of a
 * zspage, the handle encoding and the lock order are in zsmalloc.c.
 */
#ifndef ZPOOL_ZS_INTERNAL_H
#define ZPOOL_ZS_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "page.h"
#include "zsmalloc.h"

#define ZS_PAGE_SIZE ZPAGE_SIZE
#define ZS_PAGE_MASK (ZS_PAGE_SIZE - 1)

/* Non-huge objects start with one word: their handle | ZS_OBJ_ALLOCATED. */
#define ZS_HANDLE_SIZE sizeof(unsigned long)
#define ZS_OBJ_ALLOCATED 1UL

/* Ratio groups: 0 is empty, 1..9 are (10(g-1), 10g] %, 10 is (90, 100) %, 11 is full. */
#define ZS_FG_EMPTY 0
#define ZS_FG_99 10
#define ZS_FG_FULL 11
#define ZS_NR_FG 12

/* The seed's four groups, kept beside the ratio groups for the fullness file. */
enum zs_seed_group { ZS_SG_EMPTY, ZS_SG_ALMOST_EMPTY, ZS_SG_ALMOST_FULL, ZS_SG_FULL, ZS_NR_SG };

/*
 * Object location, the value of a live handle slot:
 *   bits 63..11  zspage address >> 6 (zspage structs are 64-byte aligned)
 *   bits 10..1   object index inside the zspage (at most 8 * 4096 / 32 = 1024 objects)
 *   bit 0        ZS_SLOT_LIVE
 * A free slot holds the address of the next free slot (bit 0 clear).
 */
#define ZS_OBJ_IDX_BITS 10
#define ZS_SLOT_LIVE 1UL
#define ZS_ZSPAGE_ALIGN 64
#define ZS_LOC_SHIFT (ZS_OBJ_IDX_BITS + 1 - 6)

/* End of a zspage's free list (object indexes are below 1024). */
#define ZS_FREE_END 0xffffU

/* zspage->mapcount bit set by compaction while it empties the zspage. */
#define ZS_MIGRATING 0x80000000U

struct zs_class;

/* Doubly linked list head/node, as the kernel's list_head. */
struct zs_list {
	struct zs_list *next, *prev;
};

/*
 * A zspage's metadata, outside the pool pages. The struct is never returned
 * to malloc while the pool lives (it goes to its class's cache), so that a
 * mapper holding a stale location may still touch ->mapcount safely. It is
 * allocated for its class's pages_per_zspage page pointers only (48 bytes +
 * 8 a page, in 64-byte units: 64 bytes for zspages of 1-2 pages, which are
 * most of them, 128 up to 10), since a struct belongs to one class for life.
 */
struct zspage {
	struct zs_class *class;		/* immutable: structs are cached per class */
	atomic_uint mapcount;		/* mappings now + ZS_MIGRATING; atomics only */
	unsigned int inuse;		/* class->lock: objects allocated */
	unsigned int freeobj;		/* class->lock: first free object index */
	unsigned char fg;		/* class->lock: ratio group (ZS_FG_*) */
	unsigned char sg;		/* class->lock: seed group (ZS_SG_*) */
	unsigned long huge_handle;	/* class->lock: huge zspages keep the handle here */
	struct zs_list list;		/* class->lock: fullness list, or the struct cache */
	char *pages[];			/* class->pages_per_zspage of them; class->lock
					 * to set; stable while live */
};

/*
 * Handle slots come from 4 KiB chunks malloc'd per class (never pool pages):
 *
 *   +--------+------------------------------+---------------------------+
 *   | header | slot[0] ... slot[N-1] (8 B)   | size[0] ... size[N-1] (2 B) |
 *   +--------+------------------------------+---------------------------+
 *
 * A handle is the address of a slot; size[] holds the size asked of
 * zs_malloc (for bytes_requested). Chunks are freed only with the pool.
 */
#define ZS_HCHUNK_SIZE 4096
#define ZS_HCHUNK_HDR 16
#define ZS_HCHUNK_SLOTS ((ZS_HCHUNK_SIZE - ZS_HCHUNK_HDR) / (8 + 2))

struct zs_hchunk {
	struct zs_hchunk *_Atomic next;	/* pool-wide chunk list (debug checks read it) */
	unsigned long pad;
	atomic_ulong slot[ZS_HCHUNK_SLOTS];
	uint16_t size[ZS_HCHUNK_SLOTS];	/* class->lock */
};

/*
 * Per-class counters. Written only under class->lock, but with relaxed atomic
 * stores so that zs_pool_stats() may read them without the lock.
 */
struct zs_class_counters {
	atomic_ulong fg[ZS_NR_FG];	/* zspages per ratio group */
	atomic_ulong sg[ZS_NR_SG];	/* zspages per seed group */
	atomic_ulong obj_allocated;
	atomic_ulong obj_used;
	atomic_ulong zspages;
	atomic_ulong bytes_requested;
};

/* A three-state futex mutex (zs_lock.c); 0 is unlocked. */
struct zs_lock {
	atomic_uint state;
};

void zs_lock_slow(struct zs_lock *lock);
void zs_unlock_slow(struct zs_lock *lock);
/* zs_unlock_handoff - unlock, and let a sleeping waiter in before the caller relocks. */
void zs_unlock_handoff(struct zs_lock *lock);

static inline void zs_lock(struct zs_lock *lock)
{
	unsigned int c = 0;

	if (!__builtin_expect(atomic_compare_exchange_strong_explicit(&lock->state, &c, 1,
								     memory_order_acquire,
								     memory_order_relaxed), 1))
		zs_lock_slow(lock);
}

static inline void zs_unlock(struct zs_lock *lock)
{
	if (__builtin_expect(atomic_fetch_sub_explicit(&lock->state, 1, memory_order_release) != 1,
			     0))
		zs_unlock_slow(lock);
}

struct zs_class {
	struct zs_lock lock;		/* see the lock order in zsmalloc.c */
	unsigned int size;		/* immutable: slot size */
	unsigned int index;		/* immutable */
	unsigned int pages_per_zspage;	/* immutable */
	unsigned int objs_per_zspage;	/* immutable */
	bool huge;			/* immutable: 1 object in 1 page, no header */
	struct zs_pool *pool;		/* immutable */
	unsigned char *groups;		/* immutable: inuse -> fg | sg << 4, no divisions */
	struct zs_list fullness[ZS_NR_FG]; /* lock: zspages by ratio group */
	struct zs_list zspage_cache;	/* lock: unused zspage structs */
	atomic_ulong *free_slot;	/* lock: first free handle slot, NULL if none */
	struct zs_class_counters st;	/* lock to write, anyone to read */
};

/* Map/unmap counters, striped so that threads do not share a cache line. */
#define ZS_STRIPES 16
struct zs_stripe {
	atomic_ulong maps;
	atomic_ulong unmaps;
} __attribute__((aligned(64)));

struct zs_pool {
	char *name;			/* immutable */
	unsigned int id;		/* immutable */
	size_t huge_class_size;		/* immutable */
	struct zs_class *class_of[ZS_SIZE_CLASSES]; /* immutable: index -> (merged) class */
	struct zs_class *classes;	/* immutable: storage, one per index (unused if merged) */
	struct zs_hchunk *_Atomic hchunks; /* prepend-only list of handle chunks */
	atomic_ulong pages;		/* pages held now */
	atomic_ulong pages_max;
	atomic_ulong pages_compacted;
	atomic_ulong compactions;
	atomic_ulong alloc_fails;
	atomic_ulong handle_errors;	/* debug builds: bad handles caught */
	atomic_flag compacting;		/* one zs_compact() at a time */
	struct zs_stripe stripe[ZS_STRIPES];
};

/* ---- counters written under a lock, read without it */
static inline void zs_stat_add(atomic_ulong *v, long n)
{
	atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline unsigned long zs_stat_get(atomic_ulong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* ---- locations and handles */
static inline unsigned long zs_loc(struct zspage *zspage, unsigned int idx)
{
	return ((uintptr_t)zspage << ZS_LOC_SHIFT) | ((unsigned long)idx << 1) | ZS_SLOT_LIVE;
}

static inline struct zspage *zs_loc_zspage(unsigned long loc)
{
	return (struct zspage *)((loc >> ZS_LOC_SHIFT) & ~(uintptr_t)(ZS_ZSPAGE_ALIGN - 1));
}

static inline unsigned int zs_loc_idx(unsigned long loc)
{
	return (loc >> 1) & ((1U << ZS_OBJ_IDX_BITS) - 1);
}

static inline atomic_ulong *zs_slot(unsigned long handle)
{
	return (atomic_ulong *)handle;
}

static inline struct zs_hchunk *zs_slot_chunk(unsigned long handle)
{
	return (struct zs_hchunk *)(handle & ~(uintptr_t)(ZS_HCHUNK_SIZE - 1));
}

static inline unsigned int zs_slot_index(unsigned long handle)
{
	return (atomic_ulong *)handle - zs_slot_chunk(handle)->slot;
}

/* Where object @idx of a zspage starts: its page and the offset in that page. */
static inline char *zs_obj_addr(const struct zs_class *class, const struct zspage *zspage,
				unsigned int idx, unsigned int *page_off)
{
	unsigned int off = idx * class->size;

	*page_off = off & ZS_PAGE_MASK;
	return zspage->pages[off / ZS_PAGE_SIZE] + (off & ZS_PAGE_MASK);
}

static inline bool zs_straddles(const struct zs_class *class, unsigned int page_off)
{
	return page_off + class->size > ZS_PAGE_SIZE;
}

static inline unsigned int zs_fullness_group(const struct zs_class *class, unsigned int inuse)
{
	return class->groups[inuse] & 15;
}

static inline unsigned int zs_seed_group(const struct zs_class *class, unsigned int inuse)
{
	return class->groups[inuse] >> 4;
}

/* ---- shared between the files of zsmalloc */
struct zs_class *zs_size_class(struct zs_pool *pool, size_t size);
void zs_fix_fullness(struct zs_class *class, struct zspage *zspage);
void zs_list_del(struct zs_list *node);
void zs_insert_zspage(struct zs_class *class, struct zspage *zspage);
void zs_remove_zspage(struct zs_class *class, struct zspage *zspage);
void zs_free_zspage(struct zs_class *class, struct zspage *zspage);
unsigned int zs_obj_take(struct zs_class *class, struct zspage *zspage, unsigned long handle);
void zs_obj_release(struct zs_class *class, struct zspage *zspage, unsigned int idx);
void zs_obj_read(const struct zs_class *class, const struct zspage *zspage, unsigned int idx,
		 unsigned int from, void *buf, unsigned int len);
void zs_obj_write(const struct zs_class *class, const struct zspage *zspage, unsigned int idx,
		  unsigned int to, const void *buf, unsigned int len);
unsigned long zs_class_freeable(struct zs_class *class);

#ifdef ZPOOL_DEBUG
bool zs_debug_handle_ok(struct zs_pool *pool, unsigned long handle, const char *func,
			bool freeing);
bool zs_debug_note_map(struct zs_pool *pool, unsigned long handle);
bool zs_debug_note_unmap(struct zs_pool *pool, unsigned long handle);
void zs_debug_report(struct zs_pool *pool, const char *func, unsigned long handle,
		     const char *what);
#endif

#endif
