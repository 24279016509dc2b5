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
 * pass quietly when spent.
 *
 * Pieces (cluster.h: the pages of a cluster compressed together) go whole:
 * their clen bytes are written once, a new descriptor flagged
 * ZFS_PIECE_BACKED (nobj 0, h[0] = the offset) replaces the old one in every
 * entry of the cluster (zfs_piece_replace()), and the old one's chain is
 * freed with its last reference. Only a piece whose every holder is a
 * published entry of that cluster is taken (not one copy_file_range shares
 * with other files: its pool memory would stay). idle and incompressible
 * take pieces by the piece's flags; huge and huge_idle take raw pages only (a
 * raw page kept as a one-page piece, as -o dedup and copy_file_range keep them,
 * included).
 *
 * Automatic writeback (-o writeback_at=PERCENT, with mem_limit=): one thread
 * (struct zfs_wbd) keeps the pool under PERCENT of mem_limit. It wakes every
 * WBD_TICK_MS, or at once when an allocation finds the pool at mem_limit
 * (zfs_wbd_make_room(), called by zfs_pool_alloc() before it would fail with
 * ENOSPC), and writes back idle pages first, then any page or piece (files
 * in inode order), compacting the pool as it goes (written-back
 * objects leave holes in zspages), until the pool is WBD_HYSTERESIS points
 * below the mark. The allocation that asked waits (at most WBD_WAIT_MS) for
 * the pass to end and tries again; when a pass moves nothing (the backing
 * file is full or nothing is left to move) it fails with ENOSPC, so a write
 * past mem_limit succeeds while the backing file has room and fails only
 * when both are full. The answer to the allocation is whether its pass
 * could make room, not whether room is left when it looks: with several
 * writers the room one pass makes is often taken by another before the
 * asker allocates again (a check of the pool's size there failed writes
 * with ENOSPC while the backing file had room). A pass that found the pool
 * below the low mark already, or moved nothing because every file it
 * wanted was locked by its writers (then after a pause of WBD_BUSY_NAP_US),
 * sends the caller back to try again; the caller gives up after
 * ZFS_ROOM_WAIT_MS. The thread takes inode locks with trylock only, so an
 * allocating writer holding its own file's write lock (a partial-page
 * rewrite, which zfs_page_rewrite() marks with zfs_wb_hold()) never
 * deadlocks with it: that file is skipped, and the writer, told so, writes
 * its own file's pages back under the lock it holds (writeback_pass() on
 * that file alone); if they cannot make room either, it fails with ENOSPC
 * at once (waiting could not help while it holds the file).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autocompact.h"
#include "backing.h"
#include "cluster.h"
#include "pagestore.h"
#include "writeback.h"
#include "zfs.h"
#include "zpool.h"

#define PAGE ZFS_PAGE_SIZE
#define BATCH 32
#define PIECE_MAX (ZFS_CLUSTER_MAX_PAGES * PAGE)	/* a piece's bytes at most */
#define BUF_BYTES (8 * PIECE_MAX)			/* one batch's bytes */

#define WBD_TICK_MS 200
#define WBD_WAIT_MS 3000
#define WBD_BUSY_NAP_US 1000		/* a make_room caller's pause when all was locked */
#define WBD_HYSTERESIS 5		/* points of mem_limit below writeback_at */
#define WBD_COMPACT_EVERY 2048		/* pages written back between compactions */

enum wb_type { WB_IDLE, WB_HUGE, WB_HUGE_IDLE, WB_INCOMP, WB_ANY };

/* How file_batch() takes the inode's lock. */
enum wb_lock {
	WB_LOCK_WAIT,		/* rdlock to read, wrlock to republish (echo > writeback) */
	WB_LOCK_TRY,		/* the same with trylock, skipping a busy file (the thread) */
	WB_LOCK_HELD,		/* the caller holds the wrlock (a writer making room) */
};

/* The file whose wrlock this thread holds while it may allocate (zfs_wb_hold()). */
static __thread struct zfs_inode *held_file;

struct zfs_wbd {
	struct zfs_fs *fs;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t kick;		/* lock: to the thread */
	pthread_cond_t done;		/* lock: to waiting allocators */
	bool stop;			/* lock */
	bool asked;			/* lock: an allocator waits for room */
	bool running;			/* lock: a pass is under way */
	unsigned long passes;		/* lock: passes finished */
	unsigned long last_moved;	/* lock: pages the last pass moved */
	bool last_busy;			/* lock: it skipped a file in use */
	bool last_stuck;		/* lock: it had to move pages and could not */
};

struct wb_item {
	uint64_t idx;		/* a page; for a piece, the first page of its cluster */
	struct zfs_pte old;
	struct zfs_piece *piece;	/* a piece (a reference held), or NULL: a page */
	uint64_t off;		/* in the backing file */
	size_t buf;		/* where its bytes are in the batch buffer */
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
	case WB_ANY:
		return true;
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
 * May piece @p (seen at page @idx) be written back from @in? Only one whose
 * every holder is a published entry of this file in @idx's cluster, so that
 * republishing them there frees its pool memory. Context: the inode's lock.
 */
static bool piece_movable(struct zfs_fs *fs, struct zfs_inode *in, struct zfs_piece *p,
			  uint64_t first, enum wb_type t)
{
	unsigned int flags = atomic_load_explicit(&p->flags, memory_order_relaxed), here = 0;
	unsigned int live = atomic_load_explicit(&p->live, memory_order_relaxed);

	bool raw = p->clen == (size_t)p->npages * ZFS_PAGE_SIZE;	/* a raw page as a piece */

	if (zfs_piece_backed(p) || p->clen > PIECE_MAX)
		return false;
	if ((t == WB_HUGE || t == WB_HUGE_IDLE) && !raw)
		return false;
	if (((t == WB_IDLE || t == WB_HUGE_IDLE) && !(flags & ZFS_PTE_IDLE)) ||
	    (t == WB_INCOMP && !(flags & ZFS_PTE_INCOMP)))
		return false;
	if (atomic_load_explicit(&p->refs, memory_order_relaxed) != live)
		return false;
	for (uint64_t i = first; i < first + fs->cluster_pages; i++) {
		struct zfs_pte e = zfs_ptab_lookup(&in->file.pt, i);

		here += zfs_pte_kind(&e) == ZFS_PTE_PIECE && (struct zfs_piece *)e.val == p;
	}
	return here == live;
}

/*
 * One batch of @in from page @from: returns the next page to look at
 * (UINT64_MAX at the end), with *@err set when the pass must stop.
 */
static uint64_t file_batch(struct zfs_fs *fs, struct zfs_inode *in, uint64_t from,
			   enum wb_type t, enum wb_lock lk, char *bufs, unsigned long *moved,
			   int *err)
{
	struct wb_item it[BATCH];
	struct zfs_pte e, old[BATCH];
	unsigned int n = 0, done = 0, nold = 0, pages = 0;
	uint64_t idx, next = UINT64_MAX;
	size_t used = 0;

	if (lk == WB_LOCK_WAIT)
		zfs_rdlock(in);
	else if (lk == WB_LOCK_TRY && !zfs_tryrdlock(in))
		goto busy;	/* maybe the writer room is made for */
	while (n < BATCH && used + PIECE_MAX <= BUF_BYTES &&
	       zfs_ptab_next(&in->file.pt, from, &idx, &e)) {
		from = idx + 1;
		if (zfs_pte_kind(&e) == ZFS_PTE_PIECE) {
			struct zfs_piece *p = (struct zfs_piece *)e.val;
			uint64_t first = idx & ~(uint64_t)(fs->cluster_pages - 1);
			bool seen = false;

			for (unsigned int i = 0; i < n; i++)
				seen |= it[i].piece == p;
			if (seen || !piece_movable(fs, in, p, first, t))
				continue;
			zfs_piece_get(p);	/* the address stays this piece's */
			it[n].piece = p;
			it[n].idx = first;
			it[n].raw = false;
			it[n].len = p->clen;
			it[n].buf = used;
			if (zfs_piece_copy_out(fs, p, bufs + used)) {
				zfs_piece_put(fs, p);
				continue;
			}
		} else {
			if (!wanted(&e, t))
				continue;
			it[n].piece = NULL;
			it[n].idx = idx;
			it[n].raw = zfs_pte_kind(&e) == ZFS_PTE_HUGE;
			it[n].buf = used;
			it[n].len = stored_bytes(fs, &e, bufs + used);
		}
		it[n].old = e;
		used += it[n].len;
		n++;
	}
	if (n == BATCH || used + PIECE_MAX > BUF_BYTES)
		next = from;
	if (lk != WB_LOCK_HELD)
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
		*err = zfs_backing_write(fs->backing, it[done].off, bufs + it[done].buf,
					 it[done].len);
		if (*err) {
			zfs_backing_free(fs->backing, it[done].off, it[done].len);
			break;
		}
	}

	/* Write lock: republish what did not change meanwhile. */
	if (lk == WB_LOCK_WAIT) {
		zfs_wrlock(in);
	} else if (lk == WB_LOCK_TRY && !zfs_trywrlock(in)) {
		for (unsigned int i = 0; i < done; i++)
			zfs_backing_free(fs->backing, it[i].off, it[i].len);
		done = 0;
		*err = -EBUSY;
		goto out_put;
	}
	for (unsigned int i = 0; i < done; i++) {
		struct zfs_pte cur, ne;
		unsigned int flags = zfs_pte_flags(&it[i].old) & ~(ZFS_PTE_IDLE | ZFS_PTE_RAW);

		if (it[i].piece) {
			struct zfs_piece *np = zfs_piece_new_backed(it[i].piece, it[i].off);
			unsigned int m = np ? zfs_piece_replace(fs, in, it[i].idx, fs->cluster_pages,
								 it[i].piece, np) : 0;

			if (!m) {
				free(np);
				zfs_backing_free(fs->backing, it[i].off, it[i].len);
			}
			pages += m;
			continue;
		}
		cur = zfs_ptab_lookup(&in->file.pt, it[i].idx);
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
	if (lk != WB_LOCK_HELD)
		zfs_unlock(in);
	for (unsigned int i = 0; i < nold; i++)
		zfs_page_release(fs, &old[i]);
	pages += nold;
	*moved += pages;
	zfs_count_add(&fs->counters, pages_written_back, pages);
out_put:
	for (unsigned int i = 0; i < n; i++)
		if (it[i].piece)
			zfs_piece_put(fs, it[i].piece);
	if (*err == -EBUSY)
		return UINT64_MAX;
	return *err ? UINT64_MAX : next;
busy:
	*err = -EBUSY;
	return UINT64_MAX;
}

/*
 * Write back the entries of type @t, until the pool is at most @target bytes
 * (0: all of them), from every file, or only from @held when the caller holds
 * that file's wrlock (a writer making room: the thread skips a locked file).
 * Return: pages moved, or a negative errno if none.
 */
static long writeback_pass(struct zfs_fs *fs, enum wb_type t, uint64_t target, bool *busy,
			   struct zfs_inode *held)
{
	bool automatic = target != 0;
	enum wb_lock lk = held ? WB_LOCK_HELD : automatic ? WB_LOCK_TRY : WB_LOCK_WAIT;
	unsigned long since_compact = 0;
	uint64_t first = 1, last = atomic_load(&fs->next_ino);
	unsigned long moved = 0;
	char *bufs = malloc(BUF_BYTES);
	int err = 0;

	if (!bufs)
		return -ENOMEM;
	if (held)
		first = last = held->ino;
	for (uint64_t ino = first; ino <= last && !err; ino++) {
		struct zfs_inode *in = zfs_iget(fs, ino);
		uint64_t from = 0;

		if (!in)
			continue;
		while (zfs_is_reg(in) && in->special == ZFS_NORMAL && from != UINT64_MAX && !err) {
			unsigned long before = moved;

			from = file_batch(fs, in, from, t, lk, bufs, &moved, &err);
			if (!automatic)
				continue;
			if (err == -EBUSY) {
				*busy = true;	/* skip this file, go on with the next */
				err = 0;
				break;
			}
			since_compact += moved - before;
			if (since_compact >= WBD_COMPACT_EVERY) {
				zfs_compact_now(fs);
				since_compact = 0;
			}
			if (zpool_get_total_size(fs->pool) <= target)
				err = 1;	/* room made: stop */
		}
		zfs_iput(fs, in);
	}
	if (automatic && since_compact)
		zfs_compact_now(fs);
	free(bufs);
	if (moved)
		zfs_note_pool_size(fs);
	if (err < 0 && !moved)
		return err;
	return (long)moved;
}

struct zfs_inode *zfs_wb_hold(struct zfs_inode *in)
{
	struct zfs_inode *prev = held_file;

	held_file = in;
	return prev;
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
		r = writeback_pass(fs, (enum wb_type)i, 0, NULL, NULL);
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

/* ---- automatic writeback (writeback_at=) */

static uint64_t mark_bytes(const struct zfs_fs *fs, unsigned int pct)
{
	return fs->opt.mem_limit / 100 * pct;
}

/* Where a pass stops: WBD_HYSTERESIS points below writeback_at. */
static uint64_t low_mark(const struct zfs_fs *fs)
{
	unsigned int at = fs->opt.writeback_at;

	return mark_bytes(fs, at > WBD_HYSTERESIS ? at - WBD_HYSTERESIS : 1);
}

static void *wbd_main(void *arg)
{
	struct zfs_wbd *w = arg;
	struct zfs_fs *fs = w->fs;
	unsigned int at = fs->opt.writeback_at;
	uint64_t high = mark_bytes(fs, at), low = low_mark(fs);

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		unsigned long moved = 0;
		struct timespec until;
		bool busy = false, tried = false;
		long r;

		if (!w->asked && zpool_get_total_size(fs->pool) <= high) {
			until = zfs_deadline_ms(WBD_TICK_MS);
			pthread_cond_timedwait(&w->kick, &w->lock, &until);
			continue;
		}
		w->asked = false;
		w->running = true;
		pthread_mutex_unlock(&w->lock);
		/* Idle pages first, then whatever is stored singly. */
		r = writeback_pass(fs, WB_IDLE, low, &busy, NULL);
		if (r > 0)
			moved += (unsigned long)r;
		if (zpool_get_total_size(fs->pool) > low) {
			tried = true;
			r = writeback_pass(fs, WB_ANY, low, &busy, NULL);
			if (r > 0)
				moved += (unsigned long)r;
		}
		zfs_count_add(&fs->counters, auto_writebacks, 1);
		pthread_mutex_lock(&w->lock);
		w->passes++;
		w->running = false;
		w->last_moved = moved;
		w->last_busy = busy;
		/* Not stuck when the pool was below the low mark already: others made room. */
		w->last_stuck = tried && !moved && !busy;
		pthread_cond_broadcast(&w->done);
		if (!moved && !busy && !w->asked) {
			/* Nothing to move: wait for a tick before trying again. */
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&w->kick, &w->lock, &until);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

bool zfs_wbd_make_room(struct zfs_fs *fs)
{
	struct zfs_wbd *w = fs->wbd;
	struct timespec until;
	unsigned long target;
	bool room, busy;
	int rc = 0;

	if (!w)
		return false;
	zfs_count_add(&fs->counters, writeback_waits, 1);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WBD_WAIT_MS / 1000;
	pthread_mutex_lock(&w->lock);
	/* A pass that starts after this call, and its end. */
	target = w->passes + (w->running ? 2 : 1);
	w->asked = true;
	pthread_cond_signal(&w->kick);
	while (!w->stop && w->passes < target && rc == 0)
		rc = pthread_cond_timedwait(&w->done, &w->lock, &until);
	/*
	 * Room may be taken by other allocators before this one tries again:
	 * the answer is whether the pass could make room, not whether there
	 * is some now.
	 */
	room = w->passes >= target && !w->last_stuck;
	busy = room && !w->last_moved && w->last_busy;
	pthread_mutex_unlock(&w->lock);
	if ((!room || busy) && held_file) {
		/* Maybe the file it skipped is ours: move its pages ourselves. */
		bool skipped = false;

		if (writeback_pass(fs, WB_ANY, low_mark(fs), &skipped, held_file) > 0) {
			zfs_count_add(&fs->counters, auto_writebacks, 1);
			return true;
		}
		/*
		 * Nothing of ours to move: the file the thread skipped was ours,
		 * and waiting cannot help while we hold it (a nap-and-retry here
		 * spun for ZFS_ROOM_WAIT_MS on every such allocation).
		 */
		return zpool_get_total_size(fs->pool) < fs->opt.mem_limit;
	}
	if (!room)
		return zpool_get_total_size(fs->pool) < fs->opt.mem_limit;
	/*
	 * Every file with something to move was locked (other requests writing
	 * the same file): give them a moment before the caller asks again.
	 */
	if (busy)
		nanosleep(&(struct timespec){ .tv_nsec = WBD_BUSY_NAP_US * 1000L }, NULL);
	return true;
}

int zfs_wbd_start(struct zfs_fs *fs)
{
	struct zfs_wbd *w;
	int err;

	if (!fs->backing || !fs->opt.writeback_at || !fs->opt.mem_limit)
		return 0;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fs = fs;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->kick, NULL);
	pthread_cond_init(&w->done, NULL);
	err = -pthread_create(&w->thread, NULL, wbd_main, w);
	if (err) {
		pthread_cond_destroy(&w->done);
		pthread_cond_destroy(&w->kick);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return err;
	}
	fs->wbd = w;
	return 0;
}

void zfs_wbd_stop(struct zfs_fs *fs)
{
	struct zfs_wbd *w = fs->wbd;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->kick);
	pthread_cond_broadcast(&w->done);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	fs->wbd = NULL;
	pthread_cond_destroy(&w->done);
	pthread_cond_destroy(&w->kick);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
