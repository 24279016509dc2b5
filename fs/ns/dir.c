// SPDX-License-Identifier: MIT
/*
 * dir.c - directory entries.
 *
 * Design
 * ------
 * Two views of the same entries:
 *
 *   buckets[hash & (nbuckets-1)] -> de -> de        name lookup in O(1)
 *   order[]: (seq 3, de) (seq 4, NULL) (seq 9, de)  readdir, sorted by seq
 *
 * Each new entry takes the directory's next sequence number and is appended
 * to order[], so order[] stays sorted. readdir hands out an entry's seq as
 * the offset of the next call, which resumes at the first seq greater than
 * it (binary search): an offset stays valid however many entries are added
 * or removed meanwhile, telldir/seekdir work, and nothing is listed twice or
 * skipped except entries added or removed during the listing. Removing an
 * entry leaves a tombstone (de = NULL) in order[]; when tombstones outnumber
 * live entries the array is compacted, so listing and removing are O(1)
 * amortised per entry and a 100 000-entry directory has no quadratic step.
 * The bucket array doubles when entries outnumber buckets twice (chains of
 * one to two entries: 4-8 bytes of bucket per entry) and halves when they
 * fall below an eighth.
 *
 * Locking: none inside; the directory inode's lock covers everything (read
 * for lookup and readdir, write for changes).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dir.h"

#define MIN_BUCKETS 8U

static uint32_t name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619u;
	}
	return h;
}

struct zfs_dir *zfs_dir_new(struct zfs_inode *parent)
{
	struct zfs_dir *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->next_seq = ZFS_DIR_FIRST_SEQ;
	d->parent = parent;
	return d;
}

void zfs_dir_free(struct zfs_dir *d)
{
	if (!d)
		return;
	for (uint32_t i = 0; i < d->olen; i++)
		free(d->order[i].de);
	free(d->order);
	free(d->buckets);
	free(d);
}

struct zfs_dirent *zfs_dir_find(const struct zfs_dir *d, const char *name, size_t len)
{
	uint32_t h;

	if (!d->nbuckets)
		return NULL;
	h = name_hash(name, len);
	for (struct zfs_dirent *de = d->buckets[h & (d->nbuckets - 1)]; de; de = de->hnext)
		if (de->hash == h && de->namelen == len && !memcmp(de->name, name, len))
			return de;
	return NULL;
}

/* Rebuild the bucket array with @n buckets; on ENOMEM keep the old one. */
static void rehash(struct zfs_dir *d, uint32_t n)
{
	struct zfs_dirent **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (uint32_t i = 0; i < d->nbuckets; i++) {
		struct zfs_dirent *de = d->buckets[i], *next;

		for (; de; de = next) {
			next = de->hnext;
			de->hnext = b[de->hash & (n - 1)];
			b[de->hash & (n - 1)] = de;
		}
	}
	free(d->buckets);
	d->buckets = b;
	d->nbuckets = n;
}

static void compact_order(struct zfs_dir *d)
{
	uint32_t j = 0;

	for (uint32_t i = 0; i < d->olen; i++) {
		if (!d->order[i].de)
			continue;
		d->order[j] = d->order[i];
		d->order[j].de->slot = j;
		j++;
	}
	d->olen = j;
	d->tombs = 0;
}

int zfs_dir_add(struct zfs_dir *d, const char *name, size_t len, struct zfs_inode *inode,
		unsigned int mode)
{
	struct zfs_dirent *de;
	uint32_t b;

	if (len > ZFS_DIR_NAME_MAX)
		return -ENAMETOOLONG;
	if (!d->nbuckets) {
		d->buckets = calloc(MIN_BUCKETS, sizeof(*d->buckets));
		if (!d->buckets)
			return -ENOMEM;
		d->nbuckets = MIN_BUCKETS;
	}
	if (d->olen == d->ocap) {
		if (d->tombs > d->olen / 4) {
			compact_order(d);
		} else {
			uint32_t cap = d->ocap ? d->ocap * 2 : 8;
			struct zfs_dir_slot *o;

			if (cap <= d->ocap)
				return -ENOSPC;
			o = realloc(d->order, cap * sizeof(*o));
			if (!o)
				return -ENOMEM;
			d->order = o;
			d->ocap = cap;
		}
	}
	de = malloc(offsetof(struct zfs_dirent, name) + len + 1);
	if (!de)
		return -ENOMEM;
	de->inode = inode;
	de->hash = name_hash(name, len);
	de->namelen = (uint8_t)len;
	de->dtype = (uint8_t)((mode & 0170000) >> 12);
	memcpy(de->name, name, len);
	de->name[len] = '\0';
	de->slot = d->olen;
	d->order[d->olen++] = (struct zfs_dir_slot){ d->next_seq++, de };

	b = de->hash & (d->nbuckets - 1);
	de->hnext = d->buckets[b];
	d->buckets[b] = de;
	d->count++;
	if (d->count > 2 * d->nbuckets)
		rehash(d, d->nbuckets * 2);
	return 0;
}

void zfs_dir_remove(struct zfs_dir *d, struct zfs_dirent *de)
{
	struct zfs_dirent **pp = &d->buckets[de->hash & (d->nbuckets - 1)];

	while (*pp != de)
		pp = &(*pp)->hnext;
	*pp = de->hnext;
	d->order[de->slot].de = NULL;
	d->tombs++;
	d->count--;
	free(de);

	if (d->tombs > 32 && d->tombs > d->olen / 2)
		compact_order(d);
	if (d->nbuckets > MIN_BUCKETS && d->count < d->nbuckets / 8)
		rehash(d, d->nbuckets / 2);
}

struct zfs_dirent *zfs_dir_next(const struct zfs_dir *d, uint64_t after)
{
	uint32_t lo = 0, hi = d->olen;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (d->order[mid].seq <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < d->olen; lo++)
		if (d->order[lo].de)
			return d->order[lo].de;
	return NULL;
}
