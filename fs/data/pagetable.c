// SPDX-License-Identifier: MIT
/*
 * pagetable.c - a file's sparse page table, a small radix tree.
 *
 * Design
 * ------
 * Entries are 16 bytes (struct zfs_pte, a hole is all zero). Leaves hold up
 * to 16 entries, interior nodes up to 64 child pointers; the tree is only as
 * tall as the largest index needs, and a file of one page keeps its entry
 * inline in the table (height 0) so that small files cost no node at all.
 *
 *   height 0:  [one]                           index 0 only, no allocation
 *   height 1:  leaf [e0 .. e15]                indexes 0..15
 *   height 2:  node [s0 .. s63] -> leaves      indexes 0..1023
 *   height h:  4 + 6 (h - 1) index bits        h = 9 covers 2^51 pages
 *
 * Nodes are right-sized: each has room for its first cap entries or
 * children (a leaf 2..16, an interior node 2..64) and is reallocated, when an
 * index past its end is stored, to just hold it (leaves) or to the next even
 * count (interior nodes): sizes that fill glibc's 16-byte malloc chunks
 * exactly. A file of 5 pages has a leaf of 5 entries (88 bytes, not 264), a
 * file of 20 pages an interior node of 2 slots (24 bytes, not 520). A file
 * written in order reallocates its last leaf once a page, a copy of at most
 * 264 bytes beside the page's compression. A child or entry past a node's
 * end is a hole. Nodes never shrink, except that a node whose count drops to
 * zero is freed at once, so holes punched in a file give their table memory
 * back too, and a table with no entry holds no node.
 *
 *   leaf:  [count | cap | pad] [e0 .. e(cap - 1)]     8 + 16 * cap bytes
 *   node:  [count | cap | pad] [s0 .. s(cap - 1)]     8 +  8 * cap bytes
 *
 * A store may move the leaf (and nodes) on its path, so a pointer from
 * zfs_ptab_slot() is good until the next store (stores need the write lock).
 * A failed reallocation leaves the node as it was (-ENOMEM, nothing stored).
 *
 * Locking: none inside; the owning inode's lock covers the whole table
 * (readers may look up in parallel under the read lock).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagetable.h"

#define LEAF_SHIFT 4
#define LEAF_SIZE (1U << LEAF_SHIFT)
#define NODE_SHIFT 6
#define NODE_SIZE (1U << NODE_SHIFT)
#define MAX_HEIGHT 9
#define MIN_CAP 2		/* the smallest node: 2 entries or children */

struct leaf {
	uint16_t count;		/* non-hole entries */
	uint8_t cap;		/* room for entries 0 .. cap - 1 */
	struct zfs_pte e[];
};

struct node {
	uint16_t count;		/* non-NULL children */
	uint8_t cap;		/* room for children 0 .. cap - 1 */
	void *slot[];
};

_Static_assert(sizeof(struct leaf) == 8, "leaf header");
_Static_assert(sizeof(struct node) == 8, "node header");

static const struct zfs_pte hole;

/* Index bits covered by a subtree whose root is at @level (1 = leaf). */
static unsigned int level_bits(unsigned int level)
{
	return LEAF_SHIFT + (level - 1) * NODE_SHIFT;
}

static uint64_t max_index(unsigned int height)
{
	return height ? (1ULL << level_bits(height)) - 1 : 0;
}

static unsigned int height_for(uint64_t idx)
{
	unsigned int h = 1;

	while (idx > max_index(h))
		h++;
	return h;
}

/* The room a leaf needs for entry @i: exactly that. */
static unsigned int leaf_cap(unsigned int i)
{
	return i + 1 < MIN_CAP ? MIN_CAP : i + 1;
}

/* The room an interior node needs for child @i: an even count (whole malloc chunks). */
static unsigned int node_cap(unsigned int i)
{
	return (i + 2) & ~1U;
}

static size_t leaf_bytes(unsigned int cap)
{
	return sizeof(struct leaf) + sizeof(struct zfs_pte) * cap;
}

static size_t node_bytes(unsigned int cap)
{
	return sizeof(struct node) + sizeof(void *) * cap;
}

/* The child of interior node @n (at @level) on the path to @idx, or NULL. */
static void *child(const struct node *n, unsigned int level, uint64_t idx)
{
	unsigned int i = (idx >> level_bits(level - 1)) & (NODE_SIZE - 1);

	return i < n->cap ? n->slot[i] : NULL;
}

void zfs_ptab_init(struct zfs_ptab *pt)
{
	pt->root = NULL;
	pt->height = 0;
	pt->gen = 0;
	pt->one = hole;
}

struct zfs_pte *zfs_ptab_slot(struct zfs_ptab *pt, uint64_t idx)
{
	void *p = pt->root;
	struct leaf *l;
	unsigned int i;

	if (pt->height == 0)
		return idx == 0 ? &pt->one : NULL;
	if (idx > max_index(pt->height))
		return NULL;
	for (unsigned int level = pt->height; level > 1; level--) {
		p = child(p, level, idx);
		if (!p)
			return NULL;
	}
	l = p;
	i = idx & (LEAF_SIZE - 1);
	return i < l->cap ? &l->e[i] : NULL;
}

/*
 * Readers under the read lock may set an entry's idle flag and atime at the
 * same time (zfs_ptab_touch), so those two words are read atomically here;
 * val changes only under the write lock.
 */
static struct zfs_pte load_pte(const struct zfs_pte *e)
{
	return (struct zfs_pte){
		.val = e->val,
		.info = __atomic_load_n(&e->info, __ATOMIC_RELAXED),
		.atime = __atomic_load_n(&e->atime, __ATOMIC_RELAXED),
	};
}

struct zfs_pte zfs_ptab_lookup(const struct zfs_ptab *pt, uint64_t idx)
{
	const struct zfs_pte *e = zfs_ptab_slot((struct zfs_ptab *)pt, idx);

	return e ? load_pte(e) : hole;
}

bool zfs_ptab_touch(struct zfs_ptab *pt, uint64_t idx, uint32_t now)
{
	struct zfs_pte *e = zfs_ptab_slot(pt, idx);
	bool was_idle = false;

	if (!e)
		return false;
	if (__atomic_load_n(&e->info, __ATOMIC_RELAXED) & ZFS_PTE_IDLE)
		was_idle = __atomic_fetch_and(&e->info, ~ZFS_PTE_IDLE, __ATOMIC_RELAXED) &
			   ZFS_PTE_IDLE;
	if (__atomic_load_n(&e->atime, __ATOMIC_RELAXED) != now)
		__atomic_store_n(&e->atime, now, __ATOMIC_RELAXED);
	return was_idle;
}

/*
 * *@slotp as a leaf with room for entry @i: allocated, or grown (zeroed past
 * its old end). Return: it, or NULL (ENOMEM: *@slotp unchanged).
 */
static struct leaf *leaf_room(void **slotp, unsigned int i)
{
	struct leaf *l = *slotp;
	unsigned int cap = leaf_cap(i), old;

	if (l && i < l->cap)
		return l;
	old = l ? l->cap : 0;
	l = realloc(l, leaf_bytes(cap));
	if (!l)
		return NULL;
	if (!*slotp)
		memset(l, 0, leaf_bytes(cap));
	else
		memset(&l->e[old], 0, sizeof(struct zfs_pte) * (cap - old));
	l->cap = (uint8_t)cap;
	*slotp = l;
	return l;
}

/* The same for an interior node and child @i. */
static struct node *node_room(void **slotp, unsigned int i)
{
	struct node *n = *slotp;
	unsigned int cap = node_cap(i), old;

	if (n && i < n->cap)
		return n;
	old = n ? n->cap : 0;
	n = realloc(n, node_bytes(cap));
	if (!n)
		return NULL;
	if (!*slotp)
		memset(n, 0, node_bytes(cap));
	else
		memset(&n->slot[old], 0, sizeof(void *) * (cap - old));
	n->cap = (uint8_t)cap;
	*slotp = n;
	return n;
}

/* Return: 1 if *@slotp was created, 0 if it existed, -ENOMEM. */
static int set_rec(void **slotp, unsigned int level, uint64_t idx, struct zfs_pte e,
		   struct zfs_pte *old)
{
	bool created = !*slotp;
	unsigned int i;
	struct node *n;
	int r;

	if (level == 1) {
		struct leaf *l;

		i = idx & (LEAF_SIZE - 1);
		l = leaf_room(slotp, i);
		if (!l)
			return -ENOMEM;
		*old = l->e[i];
		if (zfs_pte_kind(old) == ZFS_PTE_HOLE)
			l->count++;
		l->e[i] = e;
		return created;
	}

	i = (idx >> level_bits(level - 1)) & (NODE_SIZE - 1);
	n = node_room(slotp, i);
	if (!n)
		return -ENOMEM;
	r = set_rec(&n->slot[i], level - 1, idx, e, old);
	if (r < 0) {
		if (created) {
			free(n);
			*slotp = NULL;
		}
		return r;
	}
	n->count += r;
	return created;
}

/* Return: true if *@slotp became empty and was freed. */
static bool clear_rec(void **slotp, unsigned int level, uint64_t idx, struct zfs_pte *old)
{
	unsigned int i;

	if (!*slotp)
		return false;
	if (level == 1) {
		struct leaf *l = *slotp;

		i = idx & (LEAF_SIZE - 1);
		if (i >= l->cap)
			return false;
		*old = l->e[i];
		if (zfs_pte_kind(old) == ZFS_PTE_HOLE)
			return false;
		l->e[i] = hole;
		if (--l->count)
			return false;
		free(l);
		*slotp = NULL;
		return true;
	}

	struct node *n = *slotp;

	i = (idx >> level_bits(level - 1)) & (NODE_SIZE - 1);
	if (i >= n->cap || !clear_rec(&n->slot[i], level - 1, idx, old))
		return false;
	if (--n->count)
		return false;
	free(n);
	*slotp = NULL;
	return true;
}

/* Make the tree tall enough for @idx. Return: 0 or -ENOMEM (tree unchanged). */
static int grow(struct zfs_ptab *pt, uint64_t idx)
{
	unsigned int want = height_for(idx);

	if (pt->height == 0) {
		if (zfs_pte_kind(&pt->one) != ZFS_PTE_HOLE) {
			void *root = NULL;
			struct leaf *l = leaf_room(&root, 0);

			if (!l)
				return -ENOMEM;
			l->e[0] = pt->one;
			l->count = 1;
			pt->root = l;
			pt->height = 1;
			pt->one = hole;
		} else {
			pt->height = want;	/* empty: any height will do */
			return 0;
		}
	}
	while (pt->height < want) {
		if (pt->root) {
			void *root = NULL;
			struct node *n = node_room(&root, 1);	/* room for the child to come */

			if (!n)
				return -ENOMEM;
			n->slot[0] = pt->root;
			n->count = 1;
			pt->root = n;
		}
		pt->height++;
	}
	return 0;
}

int zfs_ptab_store(struct zfs_ptab *pt, uint64_t idx, struct zfs_pte e, struct zfs_pte *old)
{
	int r;

	pt->gen++;
	*old = hole;
	if (zfs_pte_kind(&e) == ZFS_PTE_HOLE) {
		if (pt->height == 0) {
			if (idx == 0) {
				*old = pt->one;
				pt->one = hole;
			}
			return 0;
		}
		if (idx > max_index(pt->height))
			return 0;
		clear_rec(&pt->root, pt->height, idx, old);
		if (!pt->root)
			pt->height = 0;
		return 0;
	}
	if (idx > ZFS_PTAB_MAX_INDEX)
		return -EFBIG;
	if (pt->height == 0 && idx == 0) {
		*old = pt->one;
		pt->one = e;
		return 0;
	}
	if (idx > max_index(pt->height)) {
		r = grow(pt, idx);
		if (r)
			return r;
	}
	r = set_rec(&pt->root, pt->height, idx, e, old);
	if (r < 0 && !pt->root)
		pt->height = 0;
	return r < 0 ? r : 0;
}

static bool next_rec(const void *p, unsigned int level, uint64_t base, uint64_t idx,
		     uint64_t *found, struct zfs_pte *e)
{
	if (level == 1) {
		const struct leaf *l = p;

		for (uint64_t i = idx - base; i < l->cap; i++) {
			if (zfs_pte_kind(&l->e[i]) != ZFS_PTE_HOLE) {
				*found = base + i;
				*e = load_pte(&l->e[i]);
				return true;
			}
		}
		return false;
	}

	const struct node *n = p;
	unsigned int cbits = level_bits(level - 1);

	for (uint64_t i = (idx - base) >> cbits; i < n->cap; i++) {
		uint64_t cbase = base + (i << cbits);

		if (n->slot[i] &&
		    next_rec(n->slot[i], level - 1, cbase, idx > cbase ? idx : cbase, found, e))
			return true;
	}
	return false;
}

bool zfs_ptab_next(const struct zfs_ptab *pt, uint64_t idx, uint64_t *found, struct zfs_pte *e)
{
	if (pt->height == 0) {
		if (idx == 0 && zfs_pte_kind(&pt->one) != ZFS_PTE_HOLE) {
			*found = 0;
			*e = load_pte(&pt->one);
			return true;
		}
		return false;
	}
	if (!pt->root || idx > max_index(pt->height))
		return false;
	return next_rec(pt->root, pt->height, 0, idx, found, e);
}

static uint64_t walk_free(void *p, unsigned int level, bool do_free)
{
	uint64_t bytes;

	if (!p)
		return 0;
	if (level == 1) {
		bytes = leaf_bytes(((struct leaf *)p)->cap);
	} else {
		struct node *n = p;

		bytes = node_bytes(n->cap);
		for (unsigned int i = 0; i < n->cap; i++)
			bytes += walk_free(n->slot[i], level - 1, do_free);
	}
	if (do_free)
		free(p);
	return bytes;
}

void zfs_ptab_destroy(struct zfs_ptab *pt)
{
	if (pt->height)
		walk_free(pt->root, pt->height, true);
	zfs_ptab_init(pt);
}

uint64_t zfs_ptab_memory(const struct zfs_ptab *pt)
{
	return pt->height ? walk_free(pt->root, pt->height, false) : 0;
}

/*
 * Runs: the entries of one leaf, read or stored in place (share.c's copy of
 * many pages), so that a copy walks from the root once a leaf instead of
 * once a page. A run never crosses a leaf; its slots are contiguous.
 */

/* The leaf holding @idx, or NULL. Context: height >= 1. */
static struct leaf *leaf_at(struct zfs_ptab *pt, uint64_t idx)
{
	void *p = pt->root;

	if (idx > max_index(pt->height))
		return NULL;
	for (unsigned int level = pt->height; level > 1 && p; level--)
		p = child(p, level, idx);
	return p;
}

unsigned int zfs_ptab_run(struct zfs_ptab *pt, uint64_t idx, uint64_t *found,
			  const struct zfs_pte **run)
{
	unsigned int i;
	struct zfs_pte e;
	struct leaf *l;

	if (!zfs_ptab_next(pt, idx, found, &e))
		return 0;
	if (pt->height == 0) {
		*run = &pt->one;
		return 1;
	}
	i = (unsigned int)(*found & (LEAF_SIZE - 1));
	l = leaf_at(pt, *found);
	*run = &l->e[i];
	return l->cap - i;
}

unsigned int zfs_ptab_store_run(struct zfs_ptab *pt, uint64_t idx, const struct zfs_pte *e,
				unsigned int n, struct zfs_pte *old)
{
	unsigned int done = 0;

	while (done < n) {
		uint64_t at = idx + done;
		unsigned int seg = LEAF_SIZE - (unsigned int)(at & (LEAF_SIZE - 1)), i;
		struct leaf *l;

		if (seg > n - done)
			seg = n - done;
		for (i = 0; i < seg; i++)
			if (zfs_pte_kind(&e[done + i]) == ZFS_PTE_HOLE)
				break;
		seg = i;
		/*
		 * The segment's last entry first: its store makes the path to the
		 * leaf and gives the leaf room for the whole segment.
		 */
		if (!seg || zfs_ptab_store(pt, at + seg - 1, e[done + seg - 1], &old[done + seg - 1]))
			break;
		if (seg > 1) {
			l = leaf_at(pt, at);
			for (i = 0; i < seg - 1; i++) {
				struct zfs_pte *slot = &l->e[(at + i) & (LEAF_SIZE - 1)];

				old[done + i] = *slot;
				if (zfs_pte_kind(slot) == ZFS_PTE_HOLE)
					l->count++;
				*slot = e[done + i];
			}
		}
		done += seg;
		if (seg < LEAF_SIZE - (unsigned int)(at & (LEAF_SIZE - 1)) && done < n)
			break;	/* a hole in @e */
	}
	return done;
}
