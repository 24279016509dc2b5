// SPDX-License-Identifier: MIT
/*
 * writeback.c - zram's writeback with compressed bytes: stored pages move
 * out of the pool into the backing file (backing.c) and are read from there.
 *
 * Design
 * ------
 * `echo idle|huge|huge_idle|incompressible > MOUNT/.zpool/writeback` picks
 * entries as zram picks slots (IDLE flag, HUGE kind, both, INCOMP flag) and
 * turns each into a BACKED entry (pagetable.h, the life cycle in
 * pagestore.c):
 *
 *   COMP  handle, len 1234            BACKED  offset 81920, len 1234
 *   HUGE  handle (raw page)   ---->   BACKED  offset 83456, len 4096, RAW
 *   pool: 1234 + 4096 bytes           backing file: 3 + 8 units of 512 bytes
 *
 * The bytes written are the entry's stored bytes, compressed as they are in
 * the pool (zram writes every page as 4 KiB); flags (prio, incompressible)
 * and atime stay with the entry, idle is cleared as zram clears it.
 *
 * For each regular file, by inode number (zfs_iget, so no table lock is
 * held for long), a batch of up to BATCH candidates is gathered under the
 * inode's read lock (entry + a copy of its bytes); the backing space is
 * allocated and written with no lock; then under the write lock each entry
 * that is still the one copied is republished as BACKED and the old one
 * released after unlocking. An entry changed meanwhile (rewritten, punched)
 * gives its backing range back. So a request on the file waits for at most
 * one batch of lookups or publishes, never for the disk.
 *
 * Reads: a BACKED page is read from the backing file (the stored bytes only)
 * and decompressed, on every read; it stays in the backing file until it is
 * rewritten, punched, truncated or its file deleted (the kernel's page cache
 * keeps what is read often). A read error fails that read with EIO and is
 * counted in failed_reads (io_stat) and bd_failed_reads.
 *
 * Failures: no room in the backing file (ENOSPC: capacity, or the
 * filesystem under it full) or a write error (EIO) stops the pass; the page
 * stays in RAM, its backing range is freed. The command fails with that
 * error only if nothing was written back. writeback_limit (zram's) stops the
 * pass quietly when spent. Pieces (several pages compressed together) are
 * not written back yet: only single-page entries are.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backing.h"
#include "pagestore.h"
#include "writeback.h"
#include "zfs.h"
#include "zpool.h"

#define PAGE ZFS_PAGE_SIZE
#define BATCH 32

enum wb_type { WB_IDLE, WB_HUGE, WB_HUGE_IDLE, WB_INCOMP };

struct wb_item {
	uint64_t idx;
	struct zfs_pte old;
	uint64_t off;		/* in the backing file */
	unsigned int len;
	bool raw;
};

/* The read side's buffer for a page's stored bytes. */
static __thread char bd_buf[PAGE];

static bool wanted(const struct zfs_pte *e, enum wb_type t)
{
	enum zfs_pte_kind k = zfs_pte_kind(e);
	bool idle = zfs_pte_flags(e) & ZFS_PTE_IDLE;

	if (k != ZFS_PTE_COMP && k != ZFS_PTE_HUGE)
		return false;
	switch (t) {
	case WB_IDLE:
		return idle;
	case WB_HUGE:
		return k == ZFS_PTE_HUGE;
	case WB_HUGE_IDLE:
		return k == ZFS_PTE_HUGE && idle;
	case WB_INCOMP:
		return zfs_pte_flags(e) & ZFS_PTE_INCOMP;
	}
	return false;
}

/* The stored bytes of a COMP or HUGE entry into @dst. Context: the inode's lock. */
static unsigned int stored_bytes(struct zfs_fs *fs, const struct zfs_pte *e, char *dst)
{
	const void *src;

	if (zfs_pte_kind(e) == ZFS_PTE_HUGE) {
		zfs_page_decode(fs, e, dst);	/* raw: a copy, cannot fail */
		return PAGE;
	}
	src = zpool_map_handle(fs->pool, e->val, ZPOOL_MM_RO);
	memcpy(dst, src, zfs_pte_len(e));
	zpool_unmap_handle(fs->pool, e->val);
	return zfs_pte_len(e);
}

static bool same_entry(const struct zfs_pte *a, const struct zfs_pte *b)
{
	return a->val == b->val && (a->info & ~ZFS_PTE_IDLE) == (b->info & ~ZFS_PTE_IDLE);
}

/*
 * One batch of @in from page @from: returns the next page to look at
 * (UINT64_MAX at the end), with *@err set when the pass must stop.
 */
static uint64_t file_batch(struct zfs_fs *fs, struct zfs_inode *in, uint64_t from,
			   enum wb_type t, char *bufs, unsigned long *moved, int *err)
{
	struct wb_item it[BATCH];
	struct zfs_pte e, old[BATCH];
	unsigned int n = 0, done = 0, nold = 0;
	uint64_t idx, next = UINT64_MAX;

	zfs_rdlock(in);
	while (n < BATCH && zfs_ptab_next(&in->file.pt, from, &idx, &e)) {
		from = idx + 1;
		if (!wanted(&e, t))
			continue;
		it[n].idx = idx;
		it[n].old = e;
		it[n].raw = zfs_pte_kind(&e) == ZFS_PTE_HUGE;
		it[n].len = stored_bytes(fs, &e, bufs + (size_t)n * PAGE);
		n++;
	}
	if (n == BATCH)
		next = from;
	zfs_unlock(in);

	/* No lock: room in the backing file, and the bytes written there. */
	for (done = 0; done < n; done++) {
		if (!zfs_backing_limit_take(fs->backing, it[done].len)) {
			*err = 1;	/* spent: stop quietly */
			break;
		}
		*err = zfs_backing_alloc(fs->backing, it[done].len, &it[done].off);
		if (*err)
			break;
		*err = zfs_backing_write(fs->backing, it[done].off, bufs + (size_t)done * PAGE,
					 it[done].len);
		if (*err) {
			zfs_backing_free(fs->backing, it[done].off, it[done].len);
			break;
		}
	}

	/* Write lock: republish what did not change meanwhile. */
	zfs_wrlock(in);
	for (unsigned int i = 0; i < done; i++) {
		struct zfs_pte cur = zfs_ptab_lookup(&in->file.pt, it[i].idx), ne;
		unsigned int flags = zfs_pte_flags(&it[i].old) & ~(ZFS_PTE_IDLE | ZFS_PTE_RAW);

		if (!same_entry(&cur, &it[i].old)) {
			zfs_backing_free(fs->backing, it[i].off, it[i].len);
			continue;
		}
		ne = zfs_pte_make_flags(ZFS_PTE_BACKED, it[i].off, it[i].len,
					flags | (it[i].raw ? ZFS_PTE_RAW : 0));
		ne.atime = cur.atime;
		if (zfs_page_publish(fs, in, it[i].idx, ne, &old[nold])) {
			zfs_backing_free(fs->backing, it[i].off, it[i].len);
			continue;
		}
		nold++;
	}
	zfs_unlock(in);
	for (unsigned int i = 0; i < nold; i++)
		zfs_page_release(fs, &old[i]);
	*moved += nold;
	zfs_count_add(&fs->counters, pages_written_back, nold);
	return *err ? UINT64_MAX : next;
}

/* Write back the entries of type @t. Return: pages moved, or a negative errno if none. */
static long writeback_pass(struct zfs_fs *fs, enum wb_type t)
{
	uint64_t last = atomic_load(&fs->next_ino);
	unsigned long moved = 0;
	char *bufs = malloc((size_t)BATCH * PAGE);
	int err = 0;

	if (!bufs)
		return -ENOMEM;
	for (uint64_t ino = 1; ino <= last && !err; ino++) {
		struct zfs_inode *in = zfs_iget(fs, ino);
		uint64_t from = 0;

		if (!in)
			continue;
		if (zfs_is_reg(in) && in->special == ZFS_NORMAL)
			while (from != UINT64_MAX && !err)
				from = file_batch(fs, in, from, t, bufs, &moved, &err);
		zfs_iput(fs, in);
	}
	free(bufs);
	if (moved)
		zfs_note_pool_size(fs);
	if (err < 0 && !moved)
		return err;
	return (long)moved;
}

int zfs_writeback_cmd(struct zfs_fs *fs, const char *text)
{
	static const char *const types[] = {
		[WB_IDLE] = "idle",
		[WB_HUGE] = "huge",
		[WB_HUGE_IDLE] = "huge_idle",
		[WB_INCOMP] = "incompressible",
	};
	long r;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(text, types[i]))
			continue;
		if (!fs->backing)
			return -ENODEV;
		zfs_count_add(&fs->counters, writebacks, 1);
		r = writeback_pass(fs, (enum wb_type)i);
		return r < 0 ? (int)r : 0;
	}
	return -EINVAL;
}

int zfs_backed_read(struct zfs_fs *fs, const struct zfs_pte *e, void *dst)
{
	unsigned int len = zfs_pte_len(e);
	int err;

	if (!fs->backing || len == 0 || len > PAGE)
		return -EIO;
	if (zfs_pte_flags(e) & ZFS_PTE_RAW) {
		if (len != PAGE)
			return -EIO;
		err = zfs_backing_read(fs->backing, e->val, dst, PAGE);
	} else {
		err = zfs_backing_read(fs->backing, e->val, bd_buf, len);
		if (!err)
			err = zfs_decompress_page(zfs_pte_prio(e) ? &fs->recomp : &fs->comp, bd_buf,
						  len, dst);
	}
	if (err)
		return -EIO;
	zfs_count_add(&fs->counters, pages_read_back, 1);
	return 0;
}

void zfs_backed_release(struct zfs_fs *fs, const struct zfs_pte *e)
{
	if (fs->backing)
		zfs_backing_free(fs->backing, e->val, zfs_pte_len(e));
}
