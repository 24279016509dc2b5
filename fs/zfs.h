/* SPDX-License-Identifier: MIT */
/*
 * zfs.h - the zpoolfs core: the filesystem, its inodes, and the calls the
 * FUSE glue (ops_*.c) makes into the modules.
 *
 * Lock order (outermost first):
 *   fs->rename_lock            renames that move between directories
 *   inode locks                several at once only in inode number order
 *                              (directories, files, the inodes of a rename
 *                              alike); see ops_namei.c
 *   inode table shard locks    (inode.c; never held while taking another)
 *   dedup index locks          (dedup.c; taken with an inode lock held, when
 *                              a piece is freed; never held while taking another)
 *   pool locks                 (inside libzpool)
 * Statistics are relaxed atomics and take no lock.
 */
#ifndef ZPOOLFS_ZFS_H
#define ZPOOLFS_ZFS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "compress.h"
#include "dir.h"
#include "fs_counters.h"
#include "options.h"
#include "pagetable.h"
#include "rwlock.h"

struct fuse_session;
struct zpool;
struct zfs_xattr;
struct zfs_dedup;

#define ZFS_PAGE_SIZE 4096UL
#define ZFS_PAGE_SHIFT 12
#define ZFS_MAX_FILE_SIZE ((1ULL << 63) - 1)
#define ZFS_NAME_MAX 255
#define ZFS_BOGO_DIRENT 20	/* tmpfs's directory size per entry */
#define ZFS_SHORT_SYMLINK 128	/* tmpfs: longer symlink targets take a page */

enum zfs_special {
	ZFS_NORMAL = 0,
	ZFS_STATSDIR,		/* the .zpool directory */
	ZFS_STATSFILE,		/* a file in it; stats_idx names it */
};

/* What a regular file stores, kept in the inode so user.zpool.stat is cheap. */
struct zfs_file {
	struct zfs_ptab pt;
	unsigned long pages;		/* non-hole entries: st_blocks = 8 per page */
	unsigned long pages_same;
	unsigned long pages_huge;
	unsigned long stored_bytes;	/* pool bytes asked for this file's pages */
	unsigned int cached_opens;	/* open files the kernel serves from its page cache */
	unsigned int direct_opens;	/* open files with direct_io (ops_file.c) */
};

/*
 * An inode: 192 bytes (a 208-byte malloc chunk), fields ordered so that
 * nothing is padding. The lock is rwlock.c's 4-byte one (issue 11: memory
 * per inode); rdev lives in the union, kept by device nodes only.
 */
struct zfs_inode {
	/* inode table (inode.c), under the shard lock */
	struct zfs_inode *hnext;
	uint64_t nlookup;		/* references the kernel holds (lookup - forget) */
	unsigned int refs;		/* requests using the inode right now */

	struct zfs_rwlock lock;		/* everything from mode on */

	/* constant after creation */
	uint64_t ino;
	mode_t ftype;			/* mode & S_IFMT: the type never changes */

	bool unlinked;			/* shard lock: nlink reached 0: freed when nlookup, refs are 0 */
	uint8_t special;		/* constant: enum zfs_special */
	uint8_t stats_idx;		/* constant: ZFS_STATSFILE: index in zfs_stats_files[] */

	/* under lock */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	unsigned int nlink;
	uint64_t size;
	struct timespec atime, mtime, ctime;
	struct zfs_xattr *xattrs;
	union {
		struct zfs_file file;	/* S_IFREG */
		struct zfs_dir *dir;	/* S_IFDIR */
		char *target;		/* S_IFLNK */
		dev_t rdev;		/* S_IFCHR, S_IFBLK (other types: 0) */
	};
};

_Static_assert(sizeof(struct zfs_inode) == 192, "struct zfs_inode: see issue 11 before growing it");

struct zfs_itable;
struct zfs_autocompact;
struct zfs_backing;
struct zfs_idlejob;
struct zfs_wbd;

struct zfs_fs {
	struct zfs_options opt;
	struct zfs_compressor comp;
	struct zfs_compressor recomp;	/* recomp=: the second algorithm (type NONE: none) */
	struct zpool *pool;
	bool split_huge;		/* zbud: raw pages are stored as two halves */
	size_t huge_threshold;		/* compressed >= this: store the page raw */
	size_t chain_obj;		/* largest pool object of a piece's chain (cluster.c) */
	unsigned int cluster_pages;	/* opt.cluster_pages: pages per cluster, 1 = none */
	unsigned int piece_span;	/* aligned pages a piece may span (cluster.c) */
	struct zfs_dedup *dedup;	/* -o dedup: the index (dedup.c), else NULL */
	time_t mono_base;		/* CLOCK_MONOTONIC_COARSE seconds at mount */
	uid_t owner;			/* who mounted: may write .zpool/compact */
	gid_t owner_gid;
	struct timespec mount_time;

	struct zfs_counters counters;
	atomic_ulong inodes_used;	/* tmpfs's inode slots (nr_inodes) */
	atomic_ulong pages_charged;	/* pages counted against size= (data + long symlinks) */
	atomic_ulong files;		/* inodes in use, all types, stats ones excluded */
	atomic_ulong regular_files;
	atomic_ullong next_ino;

	struct zfs_itable *itable;
	struct zfs_inode *root;
	struct zfs_inode *statsdir;	/* NULL with nostats */
	pthread_mutex_t rename_lock;
	double timeout;			/* entry and attribute cache time for the kernel */

	struct fuse_session *se;	/* for notifications to the kernel */
	const char *mountpoint;		/* absolute; for readahead.c */
	unsigned long readahead_kib;
	atomic_bool readahead_set;	/* cheap test on the request path */
	atomic_flag readahead_done;	/* the work is done once */
	struct zfs_idlejob *recomp_bg;	/* recomp_after='s thread (idlejob.c); NULL: none */
	struct zfs_idlejob *pack_bg;	/* pack_after='s thread (pack.c); NULL: none */
	atomic_uint pack_offered;	/* written at or before this second: offered to a whole pack pass (0: none yet) */
	struct zfs_autocompact *autocompact;	/* NULL: none (nocompact, zbud) */
	struct zfs_backing *backing;	/* backing=, NULL: none (backing.c) */
	struct zfs_wbd *wbd;		/* writeback_at= thread, NULL: none (writeback.c) */
};

/* inode.c: the inode table (see its design comment). */
int zfs_itable_init(struct zfs_fs *fs);
/** zfs_itable_destroy - free every inode and its data (at unmount). */
void zfs_itable_destroy(struct zfs_fs *fs);
/**
 * zfs_inode_new - a new inode, in the table, with one reference (refs) for
 * the caller and no kernel reference yet. The caller has reserved its slot.
 * Return: the inode, or NULL (ENOMEM).
 */
struct zfs_inode *zfs_inode_new(struct zfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
				enum zfs_special special);
/** zfs_iget - the inode @ino with a reference, or NULL. Context: a shard lock. */
struct zfs_inode *zfs_iget(struct zfs_fs *fs, uint64_t ino);
/** zfs_iput - drop a reference; frees the inode if nothing holds it. NULL is ignored. */
void zfs_iput(struct zfs_fs *fs, struct zfs_inode *inode);
/** zfs_inode_lookup_ref - count one more kernel reference (an entry reply). */
void zfs_inode_lookup_ref(struct zfs_fs *fs, struct zfs_inode *inode);
/** zfs_inode_forget - the kernel drops @n references; may free the inode. */
void zfs_inode_forget(struct zfs_fs *fs, uint64_t ino, uint64_t n);
/** zfs_inode_drop_link - mark an inode whose last name went. Context: its lock, a reference. */
void zfs_inode_drop_link(struct zfs_fs *fs, struct zfs_inode *inode);
/** zfs_inode_abort_new - undo zfs_inode_new() (drops the caller's reference). */
void zfs_inode_abort_new(struct zfs_fs *fs, struct zfs_inode *inode);
/** zfs_reserve_inode - take an inode slot of nr_inodes. Return: 0 or -ENOSPC. */
int zfs_reserve_inode(struct zfs_fs *fs);
void zfs_release_inode(struct zfs_fs *fs);
/** zfs_inode_stat - the inode's attributes. Context: its lock (read). */
void zfs_inode_stat(const struct zfs_fs *fs, const struct zfs_inode *inode, struct stat *st);
void zfs_now(struct timespec *ts);

/* The CLOCK_REALTIME deadline @ms milliseconds from now (pthread_cond_timedwait()'s clock). */
static inline struct timespec zfs_deadline_ms(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ms % 1000 * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

static inline bool zfs_is_dir(const struct zfs_inode *i)
{
	return S_ISDIR(i->ftype);
}

static inline bool zfs_is_reg(const struct zfs_inode *i)
{
	return S_ISREG(i->ftype);
}

static inline void zfs_rdlock(struct zfs_inode *i)
{
	zfs_rw_rdlock(&i->lock);
}

static inline void zfs_wrlock(struct zfs_inode *i)
{
	zfs_rw_wrlock(&i->lock);
}

/* zfs_tryrdlock, zfs_trywrlock - take the lock if that needs no waiting. Return: true if taken. */
static inline bool zfs_tryrdlock(struct zfs_inode *i)
{
	return zfs_rw_tryrdlock(&i->lock);
}

static inline bool zfs_trywrlock(struct zfs_inode *i)
{
	return zfs_rw_trywrlock(&i->lock);
}

static inline void zfs_unlock(struct zfs_inode *i)
{
	zfs_rw_unlock(&i->lock);
}

/*
 * zfs_readahead_apply - set the mount's readahead window to fs->readahead_kib
 * (readahead.c), once, on the first requests after FUSE_INIT. Best effort.
 */
void zfs_readahead_apply_slow(struct zfs_fs *fs);

static inline void zfs_readahead_apply(struct zfs_fs *fs)
{
	if (!atomic_load_explicit(&fs->readahead_set, memory_order_relaxed)) {
		atomic_store_explicit(&fs->readahead_set, true, memory_order_relaxed);
		zfs_readahead_apply_slow(fs);
	}
}

/* zfs_fs_seconds - seconds since the mount, for entries' and pieces' atime. */
static inline uint32_t zfs_fs_seconds(const struct zfs_fs *fs)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	return (uint32_t)(now.tv_sec - fs->mono_base);
}

/* pagestore.c: size= accounting and pool set-up. */
/** zfs_charge_pages - count @n pages against size=. Return: 0 or -ENOSPC. */
int zfs_charge_pages(struct zfs_fs *fs, unsigned long n);
void zfs_uncharge_pages(struct zfs_fs *fs, unsigned long n);
/** zfs_data_init - the huge threshold from the pool's geometry. Return: 0, -EINVAL, -ENOMEM. */
int zfs_data_init(struct zfs_fs *fs);

/* data.c: the read and write path. */
/**
 * zfs_data_read - up to @len bytes at @off (stops at EOF) into @buf.
 * Return: bytes read, or -EIO/-ENOMEM if nothing could be. Context: read lock.
 */
ssize_t zfs_data_read(struct zfs_fs *fs, struct zfs_inode *inode, char *buf, size_t len,
		      uint64_t off);
/**
 * zfs_data_write - store @len bytes at @off, growing the file, setting mtime.
 * Return: bytes written (short when a page failed), or -ENOSPC, -ENOMEM,
 * -EFBIG, -EIO when none was. Context: takes the inode's write lock.
 */
ssize_t zfs_data_write(struct zfs_fs *fs, struct zfs_inode *inode, const char *buf, size_t len,
		       uint64_t off);

/* range.c: page ranges; the caller holds the inode's write lock (seek: read lock). */
/** zfs_data_truncate - set the size. Return: 0, -EFBIG, or (growing) -ENOMEM/-ENOSPC. */
int zfs_data_truncate(struct zfs_fs *fs, struct zfs_inode *inode, uint64_t size);
/**
 * zfs_data_fallocate - FALLOC_FL_* @mode over [@off, @off + @len).
 * Return: 0, -EINVAL, -EFBIG, -EOPNOTSUPP, -ENOSPC, -ENOMEM.
 */
int zfs_data_fallocate(struct zfs_fs *fs, struct zfs_inode *inode, int mode, uint64_t off,
		       uint64_t len);
/** zfs_data_seek - SEEK_DATA / SEEK_HOLE from @off. Return: 0, -ENXIO, -EINVAL. */
int zfs_data_seek(struct zfs_fs *fs, struct zfs_inode *inode, uint64_t off, int whence,
		  uint64_t *out);
/** zfs_data_release_all - free every page of a file being destroyed. */
void zfs_data_release_all(struct zfs_fs *fs, struct zfs_inode *inode);

#endif
