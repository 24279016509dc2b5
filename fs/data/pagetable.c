// SPDX-License-Identifier: MIT
/*
 * pagetable.c - a file's sparse page table, a small radix tree.
 *
 * Design
 * ------
 * Entries are 16 bytes (struct zfs_pte, a hole is all zero). Leaves hold 16
 * entries, interior nodes 64 child pointers; the tree is only as tall as the
 * largest index needs, and a file of one page keeps its entry inline in the
 * table (height 0) so that small files cost no node at all.
 *
 *   height 0:  [one]                           index 0 only, no allocation
 *   height 1:  leaf [e0 .. e15]                indexes 0..15
 *   height 2:  node [s0 .. s63] -> leaves      indexes 0..1023
 *   height h:  4 + 6 (h - 1) index bits        h = 9 covers 2^51 pages
 *
 * Every node counts its non-empty children (leaves: non-hole entries); a
 * node whose count drops to zero is freed at once, so holes punched in a file
 * give their table memory back too, and a table with no entry holds no node.
 *
 * Locking: none inside; the owning inode's lock covers the whole table
 * (readers may look up in parallel under the read lock).
 */
#include <errno.h>
#include <stdlib.h>

#include "pagetable.h"

#define LEAF_SHIFT 4
#define LEAF_SIZE (1U << LEAF_SHIFT)
#define NODE_SHIFT 6
#define NODE_SIZE (1U << NODE_SHIFT)
#define MAX_HEIGHT 9

struct leaf {
	unsigned int count;
	struct zfs_pte e[LEAF_SIZE];
};

struct node {
	unsigned int count;
	void *slot[NODE_SIZE];
};

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

	if (pt->height == 0)
		return idx == 0 ? &pt->one : NULL;
	if (idx > max_index(pt->height))
		return NULL;
	for (unsigned int level = pt->height; level > 1; level--) {
		struct node *n = p;

		p = n->slot[(idx >> level_bits(level - 1)) & (NODE_SIZE - 1)];
		if (!p)
			return NULL;
	}
	return &((struct leaf *)p)->e[idx & (LEAF_SIZE - 1)];
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

/* Return: 1 if *@slotp was created, 0 if it existed, -ENOMEM. */
static int set_rec(void **slotp, unsigned int level, uint64_t idx, struct zfs_pte e,
		   struct zfs_pte *old)
{
	bool created = false;
	int r;

	if (level == 1) {
		struct leaf *l = *slotp;
		unsigned int i = idx & (LEAF_SIZE - 1);

		if (!l) {
			l = calloc(1, sizeof(*l));
			if (!l)
				return -ENOMEM;
			*slotp = l;
			created = true;
		}
		*old = l->e[i];
		if (zfs_pte_kind(old) == ZFS_PTE_HOLE)
			l->count++;
		l->e[i] = e;
		return created;
	}

	struct node *n = *slotp;

	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		*slotp = n;
		created = true;
	}
	r = set_rec(&n->slot[(idx >> level_bits(level - 1)) & (NODE_SIZE - 1)], level - 1, idx, e,
		    old);
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
	if (!*slotp)
		return false;
	if (level == 1) {
		struct leaf *l = *slotp;
		unsigned int i = idx & (LEAF_SIZE - 1);

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

	if (!clear_rec(&n->slot[(idx >> level_bits(level - 1)) & (NODE_SIZE - 1)], level - 1, idx,
		       old))
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
			struct leaf *l = calloc(1, sizeof(*l));

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
			struct node *n = calloc(1, sizeof(*n));

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

		for (uint64_t i = idx - base; i < LEAF_SIZE; i++) {
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

	for (uint64_t i = (idx - base) >> cbits; i < NODE_SIZE; i++) {
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
		bytes = sizeof(struct leaf);
	} else {
		struct node *n = p;

		bytes = sizeof(*n);
		for (unsigned int i = 0; i < NODE_SIZE; i++)
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
