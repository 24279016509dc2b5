// SPDX-License-Identifier: MIT
/*
 * inode.c - the inode table and inode lifetimes.
 *
 * Design
 * ------
 * Inode numbers are handed out from a 64-bit counter and never reused in a
 * mount, so the kernel's node ids are our inode numbers and the generation
 * is always 0. The table maps numbers to inodes through 64 shards, each a
 * mutex and a chained hash that doubles when it holds twice as many inodes
 * as buckets (4-8 bytes of bucket per inode):
 *
 *   shard[ino % 64] --lock--> buckets[(ino / 64) % n] -> inode -> inode
 *
 * A request takes a reference (refs) for as long as it uses an inode; the
 * kernel's references are counted in nlookup (every entry reply adds one,
 * forget takes them away). An inode is freed when it has no name left
 * (unlinked), the kernel has forgotten it and no request uses it, so an
 * unlinked file that is still open keeps its data until the last close, as
 * on tmpfs. These three fields live under the shard lock; everything else in
 * the inode under its own lock (rwlock.c; see zfs.h for the lock order). The shard
 * lock is a leaf lock, held only for a few instructions.
 *
 * tmpfs counts inode slots for nr_inodes: one per inode, plus one per extra
 * hard link of a non-directory; zfs_reserve_inode() does the same.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xattr.h"
#include "zfs.h"

#define NSHARDS 64

struct shard {
	pthread_mutex_t lock;
	struct zfs_inode **buckets;	/* lock */
	size_t nbuckets;		/* lock: power of two */
	size_t count;			/* lock */
};

struct zfs_itable {
	struct shard s[NSHARDS];
};

static struct shard *shard_of(struct zfs_fs *fs, uint64_t ino)
{
	return &fs->itable->s[ino % NSHARDS];
}

static struct zfs_inode **bucket_of(struct shard *s, uint64_t ino)
{
	return &s->buckets[(ino / NSHARDS) & (s->nbuckets - 1)];
}

int zfs_itable_init(struct zfs_fs *fs)
{
	struct zfs_itable *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (int i = 0; i < NSHARDS; i++) {
		pthread_mutex_init(&t->s[i].lock, NULL);
		t->s[i].nbuckets = 16;
		t->s[i].buckets = calloc(16, sizeof(struct zfs_inode *));
		if (!t->s[i].buckets) {
			while (i-- > 0)
				free(t->s[i].buckets);
			free(t);
			return -ENOMEM;
		}
	}
	fs->itable = t;
	return 0;
}

void zfs_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

int zfs_reserve_inode(struct zfs_fs *fs)
{
	unsigned long used = atomic_load_explicit(&fs->inodes_used, memory_order_relaxed);

	do {
		if (fs->opt.nr_inodes && used >= fs->opt.nr_inodes)
			return -ENOSPC;
	} while (!atomic_compare_exchange_weak(&fs->inodes_used, &used, used + 1));
	return 0;
}

void zfs_release_inode(struct zfs_fs *fs)
{
	atomic_fetch_sub_explicit(&fs->inodes_used, 1, memory_order_relaxed);
}

/* Grow a shard's hash; on ENOMEM it just stays denser. Called with the lock. */
static void shard_grow(struct shard *s)
{
	size_t n = s->nbuckets * 2;
	struct zfs_inode **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct zfs_inode *in = s->buckets[i], *next;

		for (; in; in = next) {
			next = in->hnext;
			in->hnext = b[(in->ino / NSHARDS) & (n - 1)];
			b[(in->ino / NSHARDS) & (n - 1)] = in;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
}

struct zfs_inode *zfs_inode_new(struct zfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
				enum zfs_special special)
{
	struct zfs_inode *in = calloc(1, sizeof(*in));
	struct zfs_inode **b;
	struct shard *s;

	if (!in)
		return NULL;
	if (S_ISDIR(mode)) {
		in->dir = zfs_dir_new(NULL);
		if (!in->dir) {
			free(in);
			return NULL;
		}
		in->nlink = 2;
		in->size = 2 * ZFS_BOGO_DIRENT;
	} else {
		in->nlink = 1;
		if (S_ISREG(mode))
			zfs_ptab_init(&in->file.pt);
	}
	zfs_rwlock_init(&in->lock);
	in->ino = atomic_fetch_add(&fs->next_ino, 1);
	in->mode = mode;
	in->ftype = mode & S_IFMT;
	in->uid = uid;
	in->gid = gid;
	if (S_ISCHR(mode) || S_ISBLK(mode))
		in->rdev = rdev;
	in->refs = 1;
	in->special = (uint8_t)special;
	zfs_now(&in->ctime);
	in->atime = in->mtime = in->ctime;

	if (special == ZFS_NORMAL) {
		atomic_fetch_add_explicit(&fs->files, 1, memory_order_relaxed);
		if (S_ISREG(mode))
			atomic_fetch_add_explicit(&fs->regular_files, 1, memory_order_relaxed);
	}

	s = shard_of(fs, in->ino);
	pthread_mutex_lock(&s->lock);
	b = bucket_of(s, in->ino);
	in->hnext = *b;
	*b = in;
	if (++s->count > 2 * s->nbuckets)
		shard_grow(s);
	pthread_mutex_unlock(&s->lock);
	return in;
}

static void inode_destroy(struct zfs_fs *fs, struct zfs_inode *in)
{
	if (S_ISREG(in->mode)) {
		zfs_data_release_all(fs, in);
		if (in->special == ZFS_NORMAL)
			atomic_fetch_sub_explicit(&fs->regular_files, 1, memory_order_relaxed);
	} else if (S_ISDIR(in->mode)) {
		zfs_dir_free(in->dir);
	} else if (S_ISLNK(in->mode)) {
		if (in->size >= ZFS_SHORT_SYMLINK)
			zfs_uncharge_pages(fs, 1);
		free(in->target);
	}
	zfs_xattr_free_all(&in->xattrs);
	if (in->special == ZFS_NORMAL) {
		atomic_fetch_sub_explicit(&fs->files, 1, memory_order_relaxed);
		zfs_release_inode(fs);
	}
	free(in);
}

/* Take @in out of its shard if nothing holds it any more. Called with the lock. */
static bool unhash_if_dead(struct shard *s, struct zfs_inode *in)
{
	struct zfs_inode **pp;

	if (in->refs || in->nlookup || !in->unlinked)
		return false;
	pp = bucket_of(s, in->ino);
	while (*pp != in)
		pp = &(*pp)->hnext;
	*pp = in->hnext;
	s->count--;
	return true;
}

struct zfs_inode *zfs_iget(struct zfs_fs *fs, uint64_t ino)
{
	struct shard *s = shard_of(fs, ino);
	struct zfs_inode *in;

	pthread_mutex_lock(&s->lock);
	for (in = *bucket_of(s, ino); in; in = in->hnext)
		if (in->ino == ino)
			break;
	if (in)
		in->refs++;
	pthread_mutex_unlock(&s->lock);
	return in;
}

void zfs_iput(struct zfs_fs *fs, struct zfs_inode *in)
{
	struct shard *s;
	bool dead;

	if (!in)
		return;
	s = shard_of(fs, in->ino);
	pthread_mutex_lock(&s->lock);
	in->refs--;
	dead = unhash_if_dead(s, in);
	pthread_mutex_unlock(&s->lock);
	if (dead)
		inode_destroy(fs, in);
}

void zfs_inode_lookup_ref(struct zfs_fs *fs, struct zfs_inode *in)
{
	struct shard *s = shard_of(fs, in->ino);

	pthread_mutex_lock(&s->lock);
	in->nlookup++;
	pthread_mutex_unlock(&s->lock);
}

void zfs_inode_forget(struct zfs_fs *fs, uint64_t ino, uint64_t n)
{
	struct shard *s = shard_of(fs, ino);
	struct zfs_inode *in;
	bool dead = false;

	pthread_mutex_lock(&s->lock);
	for (in = *bucket_of(s, ino); in; in = in->hnext)
		if (in->ino == ino)
			break;
	if (in) {
		in->nlookup = in->nlookup > n ? in->nlookup - n : 0;
		dead = unhash_if_dead(s, in);
	}
	pthread_mutex_unlock(&s->lock);
	if (dead)
		inode_destroy(fs, in);
}

void zfs_inode_drop_link(struct zfs_fs *fs, struct zfs_inode *in)
{
	struct shard *s = shard_of(fs, in->ino);

	/* The caller holds a reference, so this never frees. */
	pthread_mutex_lock(&s->lock);
	in->unlinked = true;
	pthread_mutex_unlock(&s->lock);
}

void zfs_inode_abort_new(struct zfs_fs *fs, struct zfs_inode *in)
{
	in->nlink = 0;
	zfs_inode_drop_link(fs, in);
	zfs_iput(fs, in);
}

void zfs_inode_stat(const struct zfs_fs *fs, const struct zfs_inode *in, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = in->ino;
	st->st_mode = in->mode;
	st->st_nlink = in->nlink;
	st->st_uid = in->uid;
	st->st_gid = in->gid;
	if (S_ISCHR(in->mode) || S_ISBLK(in->mode))
		st->st_rdev = in->rdev;
	st->st_size = (off_t)in->size;
	st->st_blksize = ZFS_PAGE_SIZE;
	if (S_ISREG(in->mode))
		st->st_blocks = (blkcnt_t)in->file.pages * (ZFS_PAGE_SIZE / 512);
	else if (S_ISLNK(in->mode) && in->size >= ZFS_SHORT_SYMLINK)
		st->st_blocks = ZFS_PAGE_SIZE / 512;
	st->st_atim = in->atime;
	st->st_mtim = in->mtime;
	st->st_ctim = in->ctime;
}

void zfs_itable_destroy(struct zfs_fs *fs)
{
	struct zfs_itable *t = fs->itable;

	if (!t)
		return;
	for (int i = 0; i < NSHARDS; i++) {
		struct shard *s = &t->s[i];

		for (size_t b = 0; b < s->nbuckets; b++) {
			struct zfs_inode *in = s->buckets[b], *next;

			for (; in; in = next) {
				next = in->hnext;
				inode_destroy(fs, in);
			}
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(t);
	fs->itable = NULL;
}
