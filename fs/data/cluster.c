// SPDX-License-Identifier: MIT
/*
 * cluster.c - pages of one cluster compressed together (-o cluster=SIZE).
 *
 * Design
 * ------
 * A file's pages are grouped in aligned clusters of cluster_pages pages (1,
 * 2, 4, 8 or 16: cluster=4k..64k). A write request that covers a whole
 * cluster (cp, tar and dd write 128 KiB to 1 MiB at a time) has it encoded
 * at once by zfs_cluster_encode(): same-filled pages stay SAME entries (no
 * pool memory), the others are compressed as one block (lz4 or zstd sees
 * up to 64 KiB, which is where the better ratio comes from) and that block
 * is cut into a chain of pool objects of at most chain_obj bytes, the
 * backend's largest object (zsmalloc 4096: a full object fills a page of the
 * huge class exactly; zbud 4032), the last one sized to what is left. The
 * descriptor (struct zfs_piece, cluster.h) holds the handles; every entry of
 * the cluster points at it with its slot (its place among the compressed
 * pages). So every byte of data is in the pool, counted in its size and in
 * mem_limit, and zsmalloc and zbud keep their kernel limits.
 *
 *   cluster of 4 pages:  [ data ][ zeros ][ data ][ data ]
 *   entries:             PIECE/0  SAME 0   PIECE/1  PIECE/2
 *   piece:               lz4(page0 | page2 | page3) = clen bytes
 *   chain:               [4096][4096][clen - 8192]
 *
 * A cluster is not worth a piece when it would not save an eighth of its
 * pages (incompressible data: the pages go their single-page way, HUGE raw
 * pages read without decompressing), or when only one page is not
 * same-filled. cluster=4k never makes a piece: accounting is zram's.
 *
 * Writes that touch part of a cluster never decompress and recompress it:
 * the pages written are stored singly (COMP/HUGE) and the entries they
 * replace just drop their reference to the piece, whose bytes stay until no
 * page points at it. To bound what stale pages cost, when a piece falls to
 * half of its pages live or less, zfs_cluster_tidy() decodes it once and
 * stores the live ones singly: each piece is split at most once, so a 4 KiB
 * rewrite costs at most one extra decompression and one page compression
 * amortised, and a piece never holds more than twice its live data.
 * Truncate and punch drop pages the same way.
 *
 * Reading: a page of a piece needs the piece's whole block: the chain is
 * mapped object by object and gathered into the thread's buffer, then
 * decompressed into the thread's second buffer, which keeps the last piece
 * expanded (keyed by the piece's address and id), so a sequential read of a
 * cluster decompresses it once. Pieces never change once published (see
 * pagestore.c), so the cache cannot go stale while the piece lives, and a
 * new piece at a recycled address has a new id.
 *
 * Failure: encoding allocates the chain object by object; a failing one
 * (ENOMEM, or mem_limit: ENOSPC) frees those before it and nothing is left
 * allocated. Splitting is best effort: a page that cannot be stored singly
 * stays in the piece.
 *
 * Locking: encoding needs no lock; decoding a piece needs a lock that keeps
 * one of its entries published (the inode's read lock); splitting needs the
 * write lock. refs, live, flags and atime are relaxed atomics.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backing.h"
#include "cluster.h"
#include "dedup.h"
#include "pagestore.h"
#include "writeback.h"
#include "zpool.h"

#define PAGE ZFS_PAGE_SIZE

_Static_assert(ZFS_BIG_SCRATCH == ZFS_PIECE_MAX_PAGES * PAGE, "a piece fills a big buffer");

static atomic_uint next_id;

/* The thread's last expanded piece (its pages are in the second big buffer). */
static __thread const struct zfs_piece *cached;
static __thread uint32_t cached_id;
static __thread unsigned int cached_pages;	/* slots expanded: lz4 stops early */

int zfs_cluster_init(struct zfs_fs *fs)
{
	size_t max = zpool_max_alloc_size(fs->pool);

	if (max < PAGE / 2)
		return -EINVAL;
	fs->chain_obj = max > PAGE ? PAGE : max;
	fs->cluster_pages = fs->opt.cluster_pages ? fs->opt.cluster_pages : 1;
	/*
	 * The packer's pieces span 64 KiB whatever cluster= is; recompression
	 * merges them into 256 KiB, except where a piece must stay within what
	 * one write stores (dedup) or within a cluster (writeback), and with
	 * cluster=4k, whose accounting stays zram's (recompress.c).
	 */
	fs->piece_span = ZFS_CLUSTER_MAX_PAGES;
	if (fs->cluster_pages > 1 && fs->opt.recomp && !fs->opt.dedup && !fs->opt.backing)
		fs->piece_span = ZFS_PIECE_MAX_PAGES;
	return 0;
}

static unsigned int chain_len(const struct zfs_fs *fs, size_t clen)
{
	return (unsigned int)((clen + fs->chain_obj - 1) / fs->chain_obj);
}

static size_t obj_len(const struct zfs_fs *fs, const struct zfs_piece *p, unsigned int i)
{
	size_t start = i * fs->chain_obj;

	return p->clen - start < fs->chain_obj ? p->clen - start : fs->chain_obj;
}

static void free_chain(struct zfs_fs *fs, struct zfs_piece *p, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		zpool_free(fs->pool, p->h[i]);
}

struct zfs_piece *zfs_piece_alloc(unsigned int npages, unsigned int nobj, size_t clen)
{
	struct zfs_piece *p = malloc(sizeof(*p) + nobj * sizeof(p->h[0]));

	if (!p)
		return NULL;
	atomic_init(&p->refs, 0);
	atomic_init(&p->live, 0);
	atomic_init(&p->flags, 0);
	atomic_init(&p->atime, 0);
	p->npages = (uint8_t)npages;
	p->nobj = (uint8_t)nobj;
	p->spare = 0;
	p->clen = (uint32_t)clen;
	p->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
	return p;
}

int zfs_piece_store(struct zfs_fs *fs, const void *cbuf, size_t clen, unsigned int npages,
		    unsigned int flags, struct zfs_piece **out)
{
	unsigned int nobj = chain_len(fs, clen), i;
	struct zfs_piece *p = zfs_piece_alloc(npages, nobj, clen);
	int err = 0;

	if (!p)
		return -ENOMEM;
	atomic_store_explicit(&p->flags, flags, memory_order_relaxed);
	atomic_store_explicit(&p->atime, zfs_fs_seconds(fs), memory_order_relaxed);
	for (i = 0; i < nobj; i++) {
		size_t len = obj_len(fs, p, i);
		void *dst;

		err = zfs_pool_alloc(fs, len, &p->h[i]);
		if (err)
			break;
		dst = zpool_map_handle(fs->pool, p->h[i], ZPOOL_MM_WO);
		memcpy(dst, (const char *)cbuf + i * fs->chain_obj, len);
		zpool_unmap_handle(fs->pool, p->h[i]);
	}
	if (err) {
		free_chain(fs, p, i);
		free(p);
		return err;
	}
	*out = p;
	return 0;
}

static void release_all(struct zfs_fs *fs, struct zfs_pte *out, unsigned int n)
{
	static const struct zfs_pte hole;

	for (unsigned int i = 0; i < n; i++) {
		zfs_page_release(fs, &out[i]);
		out[i] = hole;
	}
}

/* Page by page, as without clusters. */
static int encode_singly(struct zfs_fs *fs, const char *src, unsigned int n, struct zfs_pte *out)
{
	for (unsigned int i = 0; i < n; i++) {
		int err = zfs_page_encode(fs, src + i * PAGE, &out[i]);

		if (err) {
			release_all(fs, out, i);
			return err;
		}
	}
	return 0;
}

/*
 * The @m pages of @src listed in @data one by one, into their places in @out
 * (whose other @n - @m entries are already SAME); on failure all @n go.
 */
static int encode_listed(struct zfs_fs *fs, const char *src, const unsigned int *data,
			 unsigned int m, unsigned int n, struct zfs_pte *out)
{
	for (unsigned int i = 0; i < m; i++) {
		int err = zfs_page_encode(fs, src + data[i] * PAGE, &out[data[i]]);

		if (err) {
			release_all(fs, out, n);
			return err;
		}
	}
	return 0;
}

int zfs_cluster_encode(struct zfs_fs *fs, const struct zfs_compressor *c, const void *src,
		       unsigned int n, struct zfs_pte *out)
{
	const char *s = src, *in;
	unsigned int data[ZFS_PIECE_MAX_PAGES], m = 0, i;
	/* dedup's index holds what one write stores (merging is off with dedup) */
	bool indexed = fs->dedup && n <= ZFS_CLUSTER_MAX_PAGES;
	struct zfs_piece *p;
	char *big, *cbuf;
	uint64_t hash = 0;
	size_t cap;
	int clen, err;

	if (n < 2)
		return encode_singly(fs, s, n, out);
	for (i = 0; i < n; i++) {
		unsigned long w;

		if (zfs_same_filled(s + i * PAGE, &w))
			out[i] = zfs_pte_make(ZFS_PTE_SAME, w, 0);
		else
			data[m++] = i;
	}
	if (m < 2) {
		return encode_listed(fs, s, data, m, n, out);
	}
	if (indexed && zfs_dedup_cluster(fs, s, data, m, out, &hash))
		return 0;	/* the same pages are stored: a reference each */
	big = zfs_thread_big();
	if (!big)
		return -ENOMEM;
	cached = NULL;		/* the buffers are about to be reused */
	in = s;
	if (m < n) {
		/* Gather the pages to compress into the second buffer. */
		char *g = big + ZFS_BIG_SCRATCH;

		for (i = 0; i < m; i++)
			memcpy(g + i * PAGE, s + data[i] * PAGE, PAGE);
		in = g;
	}
	cbuf = big;
	cap = (size_t)m * PAGE - (size_t)m * PAGE / 8;
	clen = zfs_compress_buf(c, in, (size_t)m * PAGE, cbuf, cap);
	if (clen < 0)
		return clen;
	if (clen == 0) {
		return encode_listed(fs, s, data, m, n, out);
	}
	err = zfs_piece_store(fs, cbuf, (size_t)clen, m,
			      c == &fs->recomp ? 1U << ZFS_PTE_PRIO_SHIFT : 0, &p);
	if (err)
		return err;
	atomic_init(&p->refs, m);
	if (indexed)
		zfs_dedup_insert(fs, p, hash);
	for (i = 0; i < m; i++)
		out[data[i]] = zfs_pte_make(ZFS_PTE_PIECE, (unsigned long)p, i);
	return 0;
}

int zfs_piece_copy_out(struct zfs_fs *fs, const struct zfs_piece *p, void *dst)
{
	if (zfs_piece_backed(p)) {
		if (!fs->backing || zfs_backing_read(fs->backing, p->h[0], dst, p->clen))
			return -EIO;
		zfs_count_add(&fs->counters, pages_read_back, p->npages);
		return 0;
	}
	for (unsigned int i = 0; i < p->nobj; i++) {
		const void *src = zpool_map_handle(fs->pool, p->h[i], ZPOOL_MM_RO);

		memcpy((char *)dst + i * fs->chain_obj, src, obj_len(fs, p, i));
		zpool_unmap_handle(fs->pool, p->h[i]);
	}
	return 0;
}

int zfs_piece_decode(struct zfs_fs *fs, const struct zfs_piece *p, unsigned int slot, void *dst)
{
	char *big, *pages;
	int err = 0;

	if (slot >= p->npages)
		return -EIO;
	big = zfs_thread_big();
	if (!big)
		return -ENOMEM;
	pages = big + ZFS_BIG_SCRATCH;
	if (cached != p || cached_id != p->id || slot >= cached_pages) {
		const struct zfs_compressor *c = &fs->comp;
		bool again = cached == p && cached_id == p->id;	/* a later slot of it */
		unsigned int want = p->npages;
		int n;

		cached = NULL;
		err = zfs_piece_copy_out(fs, p, big);
		if (atomic_load_explicit(&p->flags, memory_order_relaxed) & ZFS_PTE_PRIO_MASK)
			c = &fs->recomp;
		if (err) {
			/* the backing file could not be read (writeback.c) */
		} else if (p->clen == (size_t)p->npages * PAGE) {	/* a raw page shared */
			memcpy(pages, big, p->clen);
		} else if (c->type == ZFS_COMP_LZ4 && slot + 1 < p->npages && !again &&
			   !(atomic_load_explicit(&p->flags, memory_order_relaxed) &
			     ZFS_PIECE_GATHERED)) {
			/*
			 * A random read needs the stream only up to its slot:
			 * lz4 stops there (half the work on average). A read
			 * of a later slot of the same piece (a sequential
			 * read that does not cover the piece, as a readahead
			 * window that starts inside it) expands it whole, so
			 * the pages of a piece read one by one cost at most
			 * two expansions, not one per page. Not for a piece
			 * gathered from small files: they are read one after
			 * another (grep -r, cp -r: each file its own READ,
			 * slot after slot), so it is expanded whole at once.
			 */
			n = zfs_decompress_prefix(c, big, p->clen, pages,
						  (size_t)p->npages * PAGE, (slot + 1) * PAGE);
			if (n < 0)
				err = n;
			else
				want = (unsigned int)((size_t)n / PAGE);
		} else {
			err = zfs_decompress_buf(c, big, p->clen, pages,
						 (size_t)p->npages * PAGE);
		}
		if (err) {
			zfs_count_add(&fs->counters, failed_reads, 1);
			return err;
		}
		cached = p;
		cached_id = p->id;
		cached_pages = want;
	}
	memcpy(dst, pages + slot * PAGE, PAGE);
	return 0;
}

int zfs_piece_decode_all(struct zfs_fs *fs, const struct zfs_piece *p, void *dst)
{
	const struct zfs_compressor *c = &fs->comp;
	char *big = zfs_thread_big();
	int err;

	if (!big)
		return -ENOMEM;
	if (p->clen == (size_t)p->npages * PAGE) {	/* a raw page shared (share.c) */
		err = zfs_piece_copy_out(fs, p, dst);
		if (err)
			zfs_count_add(&fs->counters, failed_reads, 1);
		return err;
	}
	if (atomic_load_explicit(&p->flags, memory_order_relaxed) & ZFS_PTE_PRIO_MASK)
		c = &fs->recomp;
	/* The first buffer only: the second keeps this thread's cached piece. */
	err = zfs_piece_copy_out(fs, p, big);
	if (!err)
		err = zfs_decompress_buf(c, big, p->clen, dst, (size_t)p->npages * PAGE);
	if (err)
		zfs_count_add(&fs->counters, failed_reads, 1);
	return err;
}

void zfs_piece_put(struct zfs_fs *fs, struct zfs_piece *p)
{
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (fs->dedup)
		zfs_dedup_forget(fs, p);	/* out of the index before it goes */
	if (zfs_piece_backed(p))
		zfs_backing_free(fs->backing, p->h[0], p->clen);
	else
		free_chain(fs, p, p->nobj);
	free(p);
}

struct zfs_piece *zfs_piece_new_backed(const struct zfs_piece *old, uint64_t off)
{
	struct zfs_piece *p = malloc(sizeof(*p) + sizeof(p->h[0]));
	unsigned int flags = atomic_load_explicit(&((struct zfs_piece *)old)->flags,
						  memory_order_relaxed);

	if (!p)
		return NULL;
	atomic_init(&p->refs, 0);
	atomic_init(&p->live, 0);
	atomic_init(&p->flags, (flags & ~ZFS_PTE_IDLE) | ZFS_PIECE_BACKED);
	atomic_init(&p->atime, atomic_load_explicit(&((struct zfs_piece *)old)->atime,
						    memory_order_relaxed));
	p->npages = old->npages;
	p->nobj = 0;
	p->spare = 0;
	p->clen = old->clen;
	p->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
	p->h[0] = off;
	return p;
}

bool zfs_piece_touch(struct zfs_fs *fs, struct zfs_piece *p, uint32_t now)
{
	bool was_idle = false;

	(void)fs;
	if (atomic_load_explicit(&p->flags, memory_order_relaxed) & ZFS_PTE_IDLE)
		was_idle = atomic_fetch_and_explicit(&p->flags, ~ZFS_PTE_IDLE,
						     memory_order_relaxed) & ZFS_PTE_IDLE;
	if (atomic_load_explicit(&p->atime, memory_order_relaxed) != now)
		atomic_store_explicit(&p->atime, now, memory_order_relaxed);
	return was_idle;
}

/*
 * zfs_cluster_tidy() looks at the aligned fs->piece_span pages around a
 * page, not just its cluster: the packer's pieces span 64 KiB of a file
 * whatever cluster= is (pack.c), recompression's up to 256 KiB.
 */

/* Store the live pages of @p in the fs->piece_span pages at @first singly. */
static void split_piece(struct zfs_fs *fs, struct zfs_inode *in, uint64_t first,
			struct zfs_piece *p, char *page)
{
	zfs_piece_get(p);	/* until the last entry is gone from the table */
	for (uint64_t i = first; i < first + fs->piece_span; i++) {
		struct zfs_pte e = zfs_ptab_lookup(&in->file.pt, i), ne, old;

		if (zfs_pte_kind(&e) != ZFS_PTE_PIECE || (struct zfs_piece *)e.val != p)
			continue;
		if (zfs_piece_decode(fs, p, zfs_pte_slot(&e), page))
			break;
		if (zfs_page_encode(fs, page, &ne))
			break;
		if (zfs_page_publish(fs, in, i, ne, &old)) {
			zfs_page_release(fs, &ne);
			break;
		}
		zfs_page_release(fs, &old);
	}
	if (!atomic_load_explicit(&p->live, memory_order_relaxed))
		zfs_count_add(&fs->counters, clusters_split, 1);
	zfs_piece_put(fs, p);
}

void zfs_cluster_tidy(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx)
{
	uint64_t first = idx & ~(uint64_t)(fs->piece_span - 1);
	struct zfs_inode *held;
	char *page;

	if (fs->cluster_pages < 2)
		return;
	/* Pages stored singly under mem_limit may need room from this file. */
	held = zfs_wb_hold(in);
	for (uint64_t i = first; i < first + fs->piece_span; i++) {
		struct zfs_pte e = zfs_ptab_lookup(&in->file.pt, i);
		struct zfs_piece *p = (struct zfs_piece *)e.val;
		unsigned int live;

		if (zfs_pte_kind(&e) != ZFS_PTE_PIECE)
			continue;
		live = atomic_load_explicit(&p->live, memory_order_relaxed);
		if (live * 2 > p->npages)
			continue;
		page = zfs_thread_scratch();
		if (!page)
			break;
		split_piece(fs, in, first, p, page);
	}
	zfs_wb_hold(held);
}

unsigned int zfs_piece_replace(struct zfs_fs *fs, struct zfs_inode *in, uint64_t first,
			       unsigned int n, struct zfs_piece *old, struct zfs_piece *new)
{
	unsigned int moved = 0;

	for (uint64_t i = first; i < first + n; i++) {
		struct zfs_pte e = zfs_ptab_lookup(&in->file.pt, i), ne, prev;

		if (zfs_pte_kind(&e) != ZFS_PTE_PIECE || (struct zfs_piece *)e.val != old)
			continue;
		ne = zfs_pte_make(ZFS_PTE_PIECE, (unsigned long)new, zfs_pte_slot(&e));
		ne.atime = e.atime;
		zfs_piece_get(new);
		/* Same kind in, same kind out: no node allocation, no size= change. */
		if (zfs_page_publish(fs, in, i, ne, &prev)) {
			zfs_piece_put(fs, new);
			continue;
		}
		zfs_page_release(fs, &prev);
		moved++;
	}
	return moved;
}

unsigned int zfs_cluster_publish(struct zfs_fs *fs, struct zfs_inode *in, uint64_t idx,
				 struct zfs_pte *out, unsigned int n, uint32_t gen)
{
	struct zfs_pte old[ZFS_PIECE_MAX_PAGES];
	unsigned int i, done = 0, moved = 0;

	zfs_wrlock(in);
	if (in->file.pt.gen == gen) {
		for (; done < n; done++) {
			if (zfs_page_publish(fs, in, idx + done, out[done], &old[done]))
				break;
			moved += zfs_pte_kind(&out[done]) == ZFS_PTE_PIECE;
		}
	}
	zfs_unlock(in);
	for (i = 0; i < done; i++)
		zfs_page_release(fs, &old[i]);
	for (i = done; i < n; i++)
		zfs_page_release(fs, &out[i]);
	return moved;
}
