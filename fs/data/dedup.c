// SPDX-License-Identifier: MIT
/*
 * dedup.c - identical data stored once (-o dedup).
 *
 * Design
 * ------
 * Sharing stored data needs a reference count beside the data, which is
 * what a piece (cluster.h) has. With -o dedup every page that is not
 * same-filled is therefore stored as a piece: a whole cluster as the
 * cluster code stores it, a single page (written piecemeal, or one that is
 * alone in its cluster) as a one-page piece around its one pool object (the
 * same object a COMP or HUGE entry would hold: no pool byte more, 40 bytes
 * of descriptor more). The index maps a hash of the piece's pages (XXH3-64
 * over the uncompressed pages in slot order, from Debian's libxxhash) to
 * the piece. The hash goes through libxxhash's x86 dispatcher, which picks
 * the widest vector code the CPU runs (the plain entry points are built for
 * SSE2): 3-5x faster a page on an AVX2 machine, the same hash values; it was
 * nearly all of what dedup added to the instructions of a write
 * (docs/BENCHMARKS.md).
 *
 *   hash --(low 12 bits)--> shard[4096]: slots[cap] (linear probing)
 *                                        { hash, piece } ... empty = NULL
 *   piece->spare = INDEXED | shard   (set before the piece is visible)
 *
 * A write hashes its pages before compressing them; a hit is confirmed by
 * decoding the stored piece and comparing every byte (never the hash
 * alone), and then costs a reference instead of a compression and a pool
 * allocation; a miss compresses and stores as usual and adds the new piece.
 * The index holds no reference: zfs_piece_put() takes a piece out when its
 * last reference goes (zfs_dedup_forget()), and a lookup takes a reference
 * only while the count is not zero, under the shard's lock, so a piece being
 * freed is never handed out. A shard holds 1/4096 of the pieces, so taking
 * one out scans its slots for the pointer (the piece keeps its shard, not
 * its hash).
 *
 * Memory: 16 bytes a slot, at most 4/3 slots an entry once grown, plus the
 * one-page descriptors (counted in dedup_index_bytes with the tables).
 *
 * Locking: one mutex per 64 shards, never held while taking another lock,
 * decoding or freeing. Counters are relaxed atomics.
 *
 * Failure: the index is best effort. A slot table that cannot grow, or a
 * descriptor that cannot be allocated, leaves the data stored as it would be
 * without dedup; a comparison that cannot decode is a miss.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY	/* XXH3_state_t on the stack */
#include <xxhash.h>
#if defined(__x86_64__) || defined(__i386__)
/* XXH3 calls go to libxxhash's run-time dispatch: AVX2 or AVX-512 where the CPU has them. */
#include <xxh_x86dispatch.h>
#endif

#include "cluster.h"
#include "dedup.h"
#include "pagestore.h"

#define PAGE ZFS_PAGE_SIZE
#define SHARD_BITS 12
#define NSHARDS (1U << SHARD_BITS)
#define NLOCKS 64U
#define INDEXED 0x8000U

struct slot {
	uint64_t hash;
	struct zfs_piece *p;		/* NULL: empty */
};

struct shard {
	struct slot *slots;		/* cap slots, cap a power of two (0: none yet) */
	uint32_t cap;
	uint32_t used;
};

struct zfs_dedup {
	uint64_t hash_mask;		/* all ones; fewer bits under ZPOOLFS_DEDUP_HASH_BITS */
	pthread_mutex_t lock[NLOCKS];	/* lock[i % NLOCKS] guards shard[i] */
	struct shard shard[NSHARDS];
};

/* The bytes of a one-page piece's descriptor, as malloc gives them. */
#define SMALL_PIECE_BYTES (sizeof(struct zfs_piece) + sizeof(unsigned long) + 8)

int zfs_dedup_init(struct zfs_fs *fs)
{
	struct zfs_dedup *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	const char *bits = getenv("ZPOOLFS_DEDUP_HASH_BITS");

	for (unsigned int i = 0; i < NLOCKS; i++)
		pthread_mutex_init(&d->lock[i], NULL);
	d->hash_mask = ~0ULL;
	/* Test hook: keep N bits of each hash, so that unequal data collide. */
	if (bits && atoi(bits) > 0 && atoi(bits) < 64)
		d->hash_mask = (1ULL << atoi(bits)) - 1;
	fs->dedup = d;
	zfs_count_add(&fs->counters, dedup_index_bytes, sizeof(*d));
	return 0;
}

void zfs_dedup_destroy(struct zfs_fs *fs)
{
	struct zfs_dedup *d = fs->dedup;

	if (!d)
		return;
	for (unsigned int i = 0; i < NSHARDS; i++)
		free(d->shard[i].slots);
	for (unsigned int i = 0; i < NLOCKS; i++)
		pthread_mutex_destroy(&d->lock[i]);
	free(d);
	fs->dedup = NULL;
}

uint64_t zfs_dedup_hash(struct zfs_fs *fs, const void *const *pages, unsigned int n)
{
	XXH3_state_t st;

	if (n == 1)
		return XXH3_64bits(pages[0], PAGE) & fs->dedup->hash_mask;
	XXH3_64bits_reset(&st);
	for (unsigned int i = 0; i < n; i++)
		XXH3_64bits_update(&st, pages[i], PAGE);
	return XXH3_64bits_digest(&st) & fs->dedup->hash_mask;
}

static unsigned int shard_of(uint64_t hash)
{
	return (unsigned int)(hash & (NSHARDS - 1));
}

static uint32_t home_of(const struct shard *s, uint64_t hash)
{
	return (uint32_t)(hash >> SHARD_BITS) & (s->cap - 1);
}

/* A reference on @p unless it has none left (it is being freed). */
static bool get_unless_zero(struct zfs_piece *p)
{
	unsigned int r = atomic_load_explicit(&p->refs, memory_order_relaxed);

	while (r) {
		if (atomic_compare_exchange_weak_explicit(&p->refs, &r, r + 1,
							  memory_order_acquire,
							  memory_order_relaxed))
			return true;
	}
	return false;
}

/* Is @p, decoded, byte for byte @pages[0..n-1]? */
static bool piece_equals(struct zfs_fs *fs, const struct zfs_piece *p, const void *const *pages,
			 unsigned int n)
{
	static __thread char buf[ZFS_PAGE_SIZE] __attribute__((aligned(64)));

	if (p->npages != n)
		return false;
	for (unsigned int i = 0; i < n; i++) {
		if (zfs_piece_decode(fs, p, i, buf) || memcmp(buf, pages[i], PAGE))
			return false;
	}
	return true;
}

#define MAX_CAND 8

struct zfs_piece *zfs_dedup_find(struct zfs_fs *fs, uint64_t hash, const void *const *pages,
				 unsigned int n)
{
	struct zfs_dedup *d = fs->dedup;
	unsigned int si = shard_of(hash), nc = 0, i;
	struct shard *s = &d->shard[si];
	struct zfs_piece *cand[MAX_CAND], *found = NULL;
	pthread_mutex_t *lock = &d->lock[si % NLOCKS];

	pthread_mutex_lock(lock);
	if (s->cap) {
		for (uint32_t j = home_of(s, hash); s->slots[j].p && nc < MAX_CAND;
		     j = (j + 1) & (s->cap - 1)) {
			struct zfs_piece *p = s->slots[j].p;

			if (s->slots[j].hash == hash && p->npages == n && get_unless_zero(p))
				cand[nc++] = p;
		}
	}
	pthread_mutex_unlock(lock);
	/* Equal hashes are only candidates: compare the bytes, keep the first equal. */
	for (i = 0; i < nc; i++) {
		if (!found && piece_equals(fs, cand[i], pages, n))
			found = cand[i];
		else
			zfs_piece_put(fs, cand[i]);
	}
	if (nc && !found)
		zfs_count_add(&fs->counters, dedup_collisions, 1);
	/* Writing the data again is an access: the piece is no longer idle (zram's rule). */
	if (found && zfs_piece_touch(fs, found, zfs_fs_seconds(fs)))
		zfs_count_sub(&fs->counters, idle_pages,
			      atomic_load_explicit(&found->live, memory_order_relaxed));
	return found;
}

/* Double the table (or make the first). Return: 0 or -ENOMEM. Context: its lock. */
static int grow(struct zfs_fs *fs, struct shard *s)
{
	uint32_t cap = s->cap ? s->cap * 2 : 8;
	struct slot *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->cap; i++) {
		struct slot *o = &s->slots[i];
		uint32_t j;

		if (!o->p)
			continue;
		for (j = (uint32_t)(o->hash >> SHARD_BITS) & (cap - 1); t[j].p; j = (j + 1) & (cap - 1))
			;
		t[j] = *o;
	}
	free(s->slots);
	zfs_count_add(&fs->counters, dedup_index_bytes, (cap - s->cap) * sizeof(*t));
	s->slots = t;
	s->cap = cap;
	return 0;
}

static bool insert_locked(struct zfs_fs *fs, struct shard *s, struct zfs_piece *p, uint64_t hash)
{
	uint32_t i;

	if ((s->used + 1) * 4 > s->cap * 3 && grow(fs, s))
		return false;
	for (i = home_of(s, hash); s->slots[i].p; i = (i + 1) & (s->cap - 1))
		;
	s->slots[i].hash = hash;
	s->slots[i].p = p;
	s->used++;
	return true;
}

void zfs_dedup_insert(struct zfs_fs *fs, struct zfs_piece *p, uint64_t hash)
{
	struct zfs_dedup *d = fs->dedup;
	unsigned int si = shard_of(hash);
	pthread_mutex_t *lock = &d->lock[si % NLOCKS];
	bool ok;

	p->spare = (uint16_t)(INDEXED | si);	/* before anyone can see @p */
	pthread_mutex_lock(lock);
	ok = insert_locked(fs, &d->shard[si], p, hash);
	pthread_mutex_unlock(lock);
	if (!ok) {
		p->spare = 0;
		return;
	}
	zfs_count_add(&fs->counters, dedup_index_entries, 1);
	if (p->npages == 1)
		zfs_count_add(&fs->counters, dedup_index_bytes, SMALL_PIECE_BYTES);
}

/* Empty slot @i, moving later entries of its run back (linear probing's delete). */
static void delete_slot(struct shard *s, uint32_t i)
{
	uint32_t mask = s->cap - 1, j = i;

	for (;;) {
		uint32_t home;

		j = (j + 1) & mask;
		if (!s->slots[j].p)
			break;
		home = (uint32_t)(s->slots[j].hash >> SHARD_BITS) & mask;
		/* The entry at j may fill i only if its home is not cyclically in (i, j]. */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		s->slots[i] = s->slots[j];
		i = j;
	}
	s->slots[i].p = NULL;
	s->slots[i].hash = 0;
	s->used--;
}

void zfs_dedup_forget(struct zfs_fs *fs, struct zfs_piece *p)
{
	struct zfs_dedup *d = fs->dedup;
	unsigned int si = p->spare & (NSHARDS - 1);
	struct shard *s = &d->shard[si];
	pthread_mutex_t *lock = &d->lock[si % NLOCKS];
	bool found = false;

	if (!(p->spare & INDEXED))
		return;
	pthread_mutex_lock(lock);
	for (uint32_t i = 0; i < s->cap; i++) {
		if (s->slots[i].p == p) {
			delete_slot(s, i);
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(lock);
	if (!found)
		return;
	zfs_count_sub(&fs->counters, dedup_index_entries, 1);
	if (p->npages == 1)
		zfs_count_sub(&fs->counters, dedup_index_bytes, SMALL_PIECE_BYTES);
}

bool zfs_dedup_cluster(struct zfs_fs *fs, const char *s, const unsigned int *data, unsigned int m,
		       struct zfs_pte *out, uint64_t *hash)
{
	const void *pv[ZFS_CLUSTER_MAX_PAGES] = { 0 };
	struct zfs_piece *p;

	for (unsigned int i = 0; i < m; i++)
		pv[i] = s + (size_t)data[i] * PAGE;
	*hash = zfs_dedup_hash(fs, pv, m);
	p = zfs_dedup_find(fs, *hash, pv, m);
	if (!p)
		return false;
	if (m > 1)	/* find took the first */
		atomic_fetch_add_explicit(&p->refs, m - 1, memory_order_relaxed);
	for (unsigned int i = 0; i < m; i++)
		out[data[i]] = zfs_pte_make(ZFS_PTE_PIECE, (unsigned long)p, i);
	zfs_count_add(&fs->counters, pages_deduped, m);
	return true;
}

int zfs_dedup_page(struct zfs_fs *fs, const void *src, struct zfs_pte *out)
{
	const void *pages[1] = { src };
	uint64_t hash = zfs_dedup_hash(fs, pages, 1);
	struct zfs_piece *p = zfs_dedup_find(fs, hash, pages, 1);
	struct zfs_pte e;
	bool adopted = false;	/* p wraps e's object, which e still owns */
	int err;

	if (p) {
		*out = zfs_pte_make(ZFS_PTE_PIECE, (unsigned long)p, 0);
		zfs_count_add(&fs->counters, pages_deduped, 1);
		return 0;
	}
	err = zfs_page_store(fs, src, &e);
	if (err)
		return err;
	*out = e;
	if (zfs_pte_kind(&e) == ZFS_PTE_HUGE && fs->split_huge) {
		/*
		 * zbud keeps a raw page as two halves, which are not a chain:
		 * store it again as a raw one-page piece (a chain of the
		 * backend's largest object and the rest), so it can be shared.
		 * If that fails the page is not stored at all and the write
		 * fails as any failed allocation makes it fail.
		 */
		err = zfs_piece_store(fs, src, PAGE, 1, 0, &p);
		zfs_page_release(fs, &e);
		if (err) {
			*out = (struct zfs_pte){ 0 };
			return err;
		}
	} else {
		p = zfs_piece_alloc(1, 1,
				    zfs_pte_kind(&e) == ZFS_PTE_HUGE ? PAGE : zfs_pte_len(&e));
		if (!p)
			return 0;	/* stored plainly, not indexed */
		p->h[0] = e.val;
		adopted = true;
	}
	atomic_init(&p->refs, 1);
	zfs_dedup_insert(fs, p, hash);
	if (!(p->spare & INDEXED) && adopted) {
		free(p);	/* the entry keeps its object, not indexed */
		return 0;
	}
	if (zfs_pte_kind(&e) == ZFS_PTE_HUGE)	/* counted here: never published as HUGE */
		zfs_count_add(&fs->counters, huge_pages_since, 1);
	*out = zfs_pte_make(ZFS_PTE_PIECE, (unsigned long)p, 0);
	return 0;
}
