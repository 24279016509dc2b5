/* SPDX-License-Identifier: MIT */
/*
 * cluster.h - stored pieces: several pages of one cluster compressed
 * together, kept in a chain of pool objects (cluster.c), and the calls that
 * idle tracking, recompression, writeback (issue 13) and sharing (issue 14)
 * make on them. Internal to fs/. The entry life cycle that uses them is
 * described at the top of pagestore.c.
 *
 *   page table                         struct zfs_piece (malloc'd)
 *   [idx 16] PIECE slot 0 ---+        +-------------------------------------------+
 *   [idx 17] SAME 0          |        | refs live flags npages nobj clen atime id |
 *   [idx 18] PIECE slot 1 ---+------->| h[0] h[1] ... h[nobj-1]                   |
 *   [idx 19] PIECE slot 2 ---+        +---|----|-------------|--------------------+
 *                                         v    v             v
 *                               pool: [objmax bytes][objmax bytes] ... [the rest]
 *                                     \___ clen bytes: the compressed stream of the
 *                                          npages pages, in slot order ___/
 */
#ifndef ZPOOLFS_CLUSTER_H
#define ZPOOLFS_CLUSTER_H

#include <stdatomic.h>
#include <stdint.h>

#include "zfs.h"

#define ZFS_CLUSTER_MAX_PAGES 16	/* cluster=64k; also what the packer makes */

/*
 * The most pages of one piece: recompression merges a file's idle pieces
 * into aligned 256 KiB (recompress.c) when fs->piece_span says it may.
 */
#define ZFS_PIECE_MAX_PAGES 64

/*
 * A written-back piece (writeback.c): its clen bytes are in the backing file
 * at offset h[0], nobj is 0 (no pool object). Set before the piece is
 * published and never changed.
 */
#define ZFS_PIECE_BACKED (1U << 8)

/*
 * A piece pack.c gathered from small files (several files' pages, or one
 * small file's): not gathered again until it is at most half live.
 */
#define ZFS_PIECE_GATHERED (1U << 9)

/*
 * A piece pack.c made (LZ4HC for lz4), or found it could not make smaller:
 * not packed again until it is at most half live.
 */
#define ZFS_PIECE_PACKED (1U << 10)

/*
 * A stored piece (32 + 8 x nobj bytes). Its contents (npages, nobj, clen, h[], id, the
 * compressor) never change once an entry points at it: recompression,
 * writeback and packing build a replacement and republish the entries
 * (zfs_piece_replace()), so a reader holding its inode's read lock needs no
 * other lock to decode. Only refs, live, flags and atime change, atomically.
 */
struct zfs_piece {
	atomic_uint refs;	/* holders: entries (published or not), the dedup index */
	atomic_uint live;	/* published entries; the piece's bytes are counted while > 0 */
	atomic_uint flags;	/* ZFS_PTE_IDLE, ZFS_PTE_INCOMP, ZFS_PTE_PRIO_*, ZFS_PIECE_BACKED, _GATHERED, _PACKED */
	uint8_t npages;		/* pages compressed together: 1..ZFS_PIECE_MAX_PAGES */
	uint8_t nobj;		/* pool objects in the chain */
	uint16_t spare;		/* dedup.c: indexed? and the index shard; set before visible */
	uint32_t id;		/* unique while alive: keys the threads' decode caches */
	uint32_t clen;		/* compressed bytes; h[i] holds [i * objmax, min(clen, (i+1) * objmax)) */
	atomic_uint atime;	/* seconds since mount of the last read or write of any page */
	unsigned long h[];	/* the chain */
};

static inline bool zfs_piece_backed(const struct zfs_piece *p)
{
	return atomic_load_explicit(&((struct zfs_piece *)p)->flags, memory_order_relaxed) &
	       ZFS_PIECE_BACKED;
}

/* The last read or write of entry @e: its own, or its piece's. */
static inline uint32_t zfs_entry_atime(const struct zfs_pte *e)
{
	if (zfs_pte_kind(e) == ZFS_PTE_PIECE)
		return atomic_load_explicit(&((struct zfs_piece *)e->val)->atime,
					    memory_order_relaxed);
	return e->atime;
}

/* How many of the entries @e[0..n-1] show the piece entry @x shows (0: @x is no piece). */
static inline unsigned int zfs_piece_entries(const struct zfs_pte *e, unsigned int n,
					     const struct zfs_pte *x)
{
	unsigned int here = 0;

	for (unsigned int j = 0; j < n && zfs_pte_kind(x) == ZFS_PTE_PIECE; j++)
		here += zfs_pte_kind(&e[j]) == ZFS_PTE_PIECE && e[j].val == x->val;
	return here;
}

/**
 * zfs_piece_new_backed - a descriptor for @old's bytes written back at @off
 * of the backing file: same pages, length and flags (idle cleared), a new
 * id, no reference yet. Return: it, or NULL (ENOMEM). No lock.
 */
struct zfs_piece *zfs_piece_new_backed(const struct zfs_piece *old, uint64_t off);

/**
 * zfs_cluster_init - the chain's object size from the pool (zsmalloc: 4096,
 * zbud: its largest object). Return: 0 or -EINVAL. Context: mount.
 */
int zfs_cluster_init(struct zfs_fs *fs);

/**
 * zfs_cluster_encode - store @n (1..ZFS_PIECE_MAX_PAGES) contiguous pages
 * at @src as entries @out[0..n-1]: same-filled pages as SAME, the others
 * compressed together into one piece (one reference per PIECE entry), or,
 * when that does not save at least an eighth (or only one page is left),
 * page by page as zfs_page_encode() does. The piece is made by @c: fs->comp
 * itself, its LZ4HC copy (pack.c; both read back with fs->comp, prio 0), or
 * fs->recomp (recompress.c: the piece is prio 1, read back with it).
 * Return: 0; -ENOMEM; -ENOSPC (mem_limit): then nothing is allocated and
 * @out is all holes. Context: no lock; the thread's compressor and buffers.
 */
int zfs_cluster_encode(struct zfs_fs *fs, const struct zfs_compressor *c, const void *src,
		       unsigned int n, struct zfs_pte *out);

/**
 * zfs_piece_alloc - a descriptor for @npages pages in @nobj chained objects
 * holding @clen bytes, with a fresh id and no reference yet; the caller
 * fills h[]. clen == npages * 4096 means the pages are kept raw (only a
 * single HUGE page made shareable, share.c; a cluster always compresses).
 * Return: the piece, or NULL (ENOMEM).
 */
struct zfs_piece *zfs_piece_alloc(unsigned int npages, unsigned int nobj, size_t clen);

/**
 * zfs_piece_store - a new piece of @npages pages whose compressed stream is
 * the @clen bytes at @cbuf, in a new chain, with @flags (ZFS_PTE_*) and no
 * reference yet. Return: 0; -ENOMEM; -ENOSPC (mem_limit): nothing allocated.
 */
int zfs_piece_store(struct zfs_fs *fs, const void *cbuf, size_t clen, unsigned int npages,
		    unsigned int flags, struct zfs_piece **out);

/**
 * zfs_piece_decode - the page in @slot of @p into @dst (4096 bytes, any
 * alignment). The thread keeps the last piece it expanded, so the pages of
 * one piece read in order cost one decompression.
 * Return: 0, -EIO (corrupt), -ENOMEM. Context: a lock that keeps @p published.
 */
int zfs_piece_decode(struct zfs_fs *fs, const struct zfs_piece *p, unsigned int slot, void *dst);

/**
 * zfs_piece_decode_all - all @p->npages pages of @p, in slot order, into
 * @dst (a read that covers them back to back); no copy through the cache.
 * Return: as zfs_piece_decode().
 */
int zfs_piece_decode_all(struct zfs_fs *fs, const struct zfs_piece *p, void *dst);

/**
 * zfs_piece_copy_out - the piece's @p->clen compressed bytes into @dst (for
 * writeback or a comparison of pieces), from the pool or, for a written-back
 * piece, the backing file. Return: 0 or -EIO. Context: as decode.
 */
int zfs_piece_copy_out(struct zfs_fs *fs, const struct zfs_piece *p, void *dst);

static inline void zfs_piece_get(struct zfs_piece *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

/** zfs_piece_put - drop a reference; the last one frees the chain and @p. No lock. */
void zfs_piece_put(struct zfs_fs *fs, struct zfs_piece *p);

/**
 * zfs_piece_touch - note a read of @p at @now: clears idle (zram clears
 * ZRAM_IDLE on access) and sets atime. Relaxed atomics; any lock.
 * Return: true if the piece was idle.
 */
bool zfs_piece_touch(struct zfs_fs *fs, struct zfs_piece *p, uint32_t now);

/**
 * zfs_cluster_tidy - after pages of the cluster holding page @idx were
 * unpublished (overwritten, punched, truncated): every piece there that is
 * now at most half live has its live pages stored one by one and goes, so a
 * piece never holds more than twice its live data. Best effort: a page that
 * cannot be stored singly (ENOMEM, ENOSPC) stays in its piece; nothing is
 * lost. Context: the inode's write lock.
 */
void zfs_cluster_tidy(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx);

/**
 * zfs_piece_replace - republish every entry of @in in [@first, @first + @n)
 * that points at @old so that it points at the same slot of @new (a
 * recompressed or written-back copy of @old with the same npages); each
 * moved entry takes a reference on @new and gives one of @old back.
 * Return: the entries moved. Context: the inode's write lock.
 */
unsigned int zfs_piece_replace(struct zfs_fs *fs, struct zfs_inode *in, uint64_t first,
			       unsigned int n, struct zfs_piece *old, struct zfs_piece *new);

/**
 * zfs_cluster_publish - the @n new entries @out (zfs_cluster_encode()'s)
 * at pages @idx.. of @in, if its table is still at generation @gen (so the
 * entries they replace still hold the data @out was made from); then what
 * they replaced, and whatever was not published, released. A publish that
 * fails part-way leaves each page valid: its old entry or its new one.
 * Return: the PIECE entries published. Context: no lock (takes @in's write
 * lock).
 */
unsigned int zfs_cluster_publish(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx,
				 struct zfs_pte *out, unsigned int n, uint32_t gen);

#endif
