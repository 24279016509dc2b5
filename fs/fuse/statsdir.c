// SPDX-License-Identifier: MIT
/*
 * statsdir.c - the plumbing of MOUNT/.zpool/ (the rendering is stats.c's).
 *
 * Design
 * ------
 *   root/
 *   `-- .zpool/          dr-xr-xr-x owner   (name from statsdir=, absent with nostats)
 *       |-- mm_stat      -r--r--r--
 *       |-- ...          one inode per name in zfs_stats_file_list(backend)
 *       |-- requests     -r--r--r--  FUSE requests by opcode (requests.c)
 *       |-- compact      -rw-r--r-- owner   (write "1": compact now)
 *       |-- writeback    --w------- owner   (zram's: idle, huge, huge_idle, incompressible)
 *       |-- writeback_limit, writeback_limit_enable   -rw-r--r-- owner (zram's)
 *       |-- idle         --w------- owner   (zram's: "all" or SECONDS; recompress.c)
 *       `-- recompress   --w------- owner   (zram's: "type=idle ..."; recompress.c)
 *
 * The directory and its files are ordinary inodes marked special: created
 * once at mount, pinned (a reference that is never dropped), not counted in
 * statfs or in nr_inodes, and refused by every call that would change them
 * (EPERM: unlink, rmdir, rename, link, setattr, xattrs, creating inside).
 * open() gathers a zfs_stats_source and has stats.c render the whole file
 * once into the open file's handle; reads are served from that buffer, so
 * one open is one consistent snapshot. The files report size 0 (the text is
 * only known at open), so they are opened with direct_io, which makes the
 * kernel pass reads through instead of stopping at the size. Only the mount's
 * owner (uid=, else whoever mounted) and root may open the writable files
 * (writable[] below) for writing; each write is one command, parsed whole.
 * user.zpool.stat of a regular file is also formatted here, from the counts
 * data.c keeps in the inode (no page walk).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "backing.h"
#include "ops.h"
#include "recompress.h"
#include "share.h"
#include "stats.h"
#include "writeback.h"

/*
 * An open stats file. Two references: the open file's, dropped by release,
 * and one held by a read while it replies - the kernel lets the reader go
 * (and may send release) as soon as the reply is copied, and a sanitizer
 * checks the reply buffer only after writev() returns.
 */
struct zfs_stats_fh {
	struct zfs_fs *fs;
	atomic_int refs;
	int (*write)(struct zfs_fs *fs, const char *text);	/* NULL: read-only */
	char *buf;
	size_t len;
	struct zfs_stats_fh *prev, *next;	/* open_fhs, under open_lock */
};

/*
 * Every open stats file, so that unmount frees those whose RELEASE never
 * came: the kernel sends RELEASE after close(2) returns, in the background,
 * and an unmount right after the close may end the connection before it
 * arrives. One mount per process, so one list per process.
 */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zfs_stats_fh *open_fhs;

static void fh_link(struct zfs_stats_fh *fh)
{
	pthread_mutex_lock(&open_lock);
	fh->next = open_fhs;
	if (open_fhs)
		open_fhs->prev = fh;
	open_fhs = fh;
	pthread_mutex_unlock(&open_lock);
}

static void fh_free(struct zfs_stats_fh *fh)
{
	pthread_mutex_lock(&open_lock);
	if (fh->prev)
		fh->prev->next = fh->next;
	else
		open_fhs = fh->next;
	if (fh->next)
		fh->next->prev = fh->prev;
	pthread_mutex_unlock(&open_lock);
	free(fh->buf);
	free(fh);
}

static void fh_put(struct zfs_stats_fh *fh)
{
	if (atomic_fetch_sub(&fh->refs, 1) != 1)
		return;
	fh_free(fh);
}

void zfs_stats_release_all(void)
{
	while (open_fhs)
		fh_free(open_fhs);
}

static void fill_source(struct zfs_fs *fs, struct zfs_stats_source *src);

/* A positive number, as zram's stores take it. Return: 0 or -EINVAL. */
static int parse_ull(const char *text, unsigned long long *v)
{
	char *end;

	if (!*text || text[0] == '-' || text[0] == '+')
		return -EINVAL;
	errno = 0;
	*v = strtoull(text, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static int write_compact(struct zfs_fs *fs, const char *text)
{
	struct zfs_stats_source src;
	unsigned long long v;

	if (parse_ull(text, &v) || v == 0)
		return -EINVAL;
	fill_source(fs, &src);
	zfs_stats_compact(&src);
	return 0;
}

static int write_wb_limit(struct zfs_fs *fs, const char *text)
{
	unsigned long long v;
	uint64_t pages;

	if (parse_ull(text, &v))
		return -EINVAL;
	if (!fs->backing)
		return -ENODEV;
	pages = v;
	zfs_backing_limit_set(fs->backing, -1, &pages);
	return 0;
}

static int write_wb_limit_enable(struct zfs_fs *fs, const char *text)
{
	unsigned long long v;

	if (parse_ull(text, &v))
		return -EINVAL;
	if (!fs->backing)
		return -ENODEV;
	zfs_backing_limit_set(fs->backing, v != 0, NULL);
	return 0;
}

static int write_writeback(struct zfs_fs *fs, const char *text)
{
	if (!fs->backing)
		return -ENODEV;
	return zfs_writeback_cmd(fs, text);
}

static int write_idle(struct zfs_fs *fs, const char *text)
{
	uint32_t min_age;

	if (zfs_idle_parse(text, &min_age))
		return -EINVAL;
	zfs_idle_mark(fs, min_age);
	return 0;
}

static int write_recompress(struct zfs_fs *fs, const char *text)
{
	struct zfs_recomp_req rq;
	long r;

	if (zfs_recomp_parse(fs, text, &rq))
		return -EINVAL;
	r = zfs_recompress(fs, &rq);
	return r < 0 ? (int)r : 0;
}

/* The files that take writes, their modes, and what a write does. */
static const struct {
	const char *name;
	mode_t mode;
	int (*write)(struct zfs_fs *fs, const char *text);
} writable[] = {
	{ "compact", 0644, write_compact },
	{ "writeback", 0200, write_writeback },
	{ "writeback_limit", 0644, write_wb_limit },
	{ "writeback_limit_enable", 0644, write_wb_limit_enable },
	{ "idle", 0200, write_idle },
	{ "recompress", 0200, write_recompress },
};

static int writable_idx(const char *name)
{
	for (size_t i = 0; i < sizeof(writable) / sizeof(writable[0]); i++)
		if (!strcmp(writable[i].name, name))
			return (int)i;
	return -1;
}

int zfs_statsdir_create(struct zfs_fs *fs)
{
	const char *const *names = zfs_stats_file_list(fs->opt.backend);
	struct zfs_inode *dir, *f;
	int err;

	if (!fs->opt.statsdir[0])
		return 0;
	dir = zfs_inode_new(fs, S_IFDIR | 0555, fs->owner, fs->owner_gid, 0, ZFS_STATSDIR);
	if (!dir)
		return -ENOMEM;
	dir->dir->parent = fs->root;
	for (unsigned int i = 0; names[i]; i++) {
		int w = writable_idx(names[i]);
		mode_t mode = S_IFREG | (w < 0 ? 0444 : writable[w].mode);

		f = zfs_inode_new(fs, mode, fs->owner, fs->owner_gid, 0, ZFS_STATSFILE);
		if (!f)
			return -ENOMEM;
		f->stats_idx = (uint8_t)i;
		err = zfs_dir_add(dir->dir, names[i], strlen(names[i]), f, mode);
		if (err)
			return err;
		dir->size += ZFS_BOGO_DIRENT;
	}
	err = zfs_dir_add(fs->root->dir, fs->opt.statsdir, strlen(fs->opt.statsdir), dir,
			  S_IFDIR);
	if (err)
		return err;
	fs->root->nlink++;
	fs->root->size += ZFS_BOGO_DIRENT;
	fs->statsdir = dir;
	return 0;
}

static void fill_source(struct zfs_fs *fs, struct zfs_stats_source *src)
{
	memset(src, 0, sizeof(*src));
	src->pool = fs->pool;
	src->counters = &fs->counters;
	src->backend = fs->opt.backend;
	src->compressor = fs->comp.name;
	src->comp_level = fs->comp.level;
	src->mem_limit = fs->opt.mem_limit;
	src->size_limit = fs->opt.size_pages * ZFS_PAGE_SIZE;
	src->files = atomic_load_explicit(&fs->files, memory_order_relaxed);
	src->regular_files = atomic_load_explicit(&fs->regular_files, memory_order_relaxed);
	src->raw_bytes = 0;	/* zbud's raw pages are stored in the pool too (data.c) */
	if (fs->backing) {
		struct zfs_backing_info bi;

		zfs_backing_info(fs->backing, &bi);
		src->backing = true;
		src->bd_capacity = bi.capacity;
		src->bd_limit_enable = bi.limit_enable;
		src->bd_limit_pages = bi.limit_pages;
	}
}

static const char *stats_name(struct zfs_fs *fs, const struct zfs_inode *in)
{
	return zfs_stats_file_list(fs->opt.backend)[in->stats_idx];
}

int zfs_stats_open(fuse_req_t req, struct zfs_inode *in, int flags, struct zfs_stats_fh **out)
{
	struct zfs_fs *fs = req_fs(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	const char *name = stats_name(fs, in);
	int acc = flags & O_ACCMODE;
	struct zfs_stats_source src;
	struct zfs_req_snap rq;
	struct zfs_stats_fh *fh;
	int err;

	int w = writable_idx(name);

	if (acc != O_RDONLY) {
		if (w < 0)
			return -EACCES;
		if (ctx->uid != 0 && ctx->uid != fs->owner)
			return -EACCES;
	}
	if (acc != O_WRONLY && w >= 0 && !(writable[w].mode & 0444))
		return -EACCES;	/* write-only, as zram's writeback */
	fh = calloc(1, sizeof(*fh));
	if (!fh)
		return -ENOMEM;
	fh->fs = fs;
	atomic_init(&fh->refs, 1);
	fh->write = w >= 0 ? writable[w].write : NULL;
	if (acc != O_WRONLY) {
		fill_source(fs, &src);
		zfs_req_snapshot(&rq);
		src.requests = &rq;
		err = zfs_stats_render(&src, name, &fh->buf, &fh->len);
		if (err) {
			free(fh);
			return err;
		}
	}
	fh_link(fh);
	*out = fh;
	return 0;
}

void zfs_stats_read(fuse_req_t req, struct zfs_stats_fh *fh, size_t size, off_t off)
{
	if (off < 0 || (size_t)off >= fh->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > fh->len - (size_t)off)
		size = fh->len - (size_t)off;
	atomic_fetch_add(&fh->refs, 1);
	fuse_reply_buf(req, fh->buf + off, size);
	fh_put(fh);
}

void zfs_stats_write(fuse_req_t req, struct zfs_stats_fh *fh, const char *buf, size_t size)
{
	char text[128];
	size_t n = size;
	int err;

	if (!fh->write) {
		reply_err(req, -EBADF);
		return;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(text)) {
		reply_err(req, -EINVAL);
		return;
	}
	memcpy(text, buf, n);
	text[n] = '\0';
	err = fh->write(fh->fs, text);
	if (err) {
		reply_err(req, err);
		return;
	}
	fuse_reply_write(req, size);
}

void zfs_stats_release(struct zfs_stats_fh *fh)
{
	if (fh)
		fh_put(fh);
}

size_t zfs_stats_usage_xattr(struct zfs_inode *in, char *buf, size_t size)
{
	struct zfs_file_usage u;
	uint64_t in_size, idx, past_eof = 0;
	struct zfs_pte e;

	zfs_rdlock(in);
	in_size = (in->size + ZFS_PAGE_SIZE - 1) >> ZFS_PAGE_SHIFT;
	/* Pages kept past EOF (fallocate KEEP_SIZE) are stored but not inside st_size. */
	while (zfs_ptab_next(&in->file.pt, in_size, &idx, &e)) {
		past_eof++;
		in_size = idx + 1;
	}
	in_size = (in->size + ZFS_PAGE_SIZE - 1) >> ZFS_PAGE_SHIFT;
	u.shared_bytes = zfs_share_file_bytes(in);
	u.logical_bytes = in->size;
	u.stored_bytes = in->file.stored_bytes;
	u.pages_same = in->file.pages_same;
	u.pages_huge = in->file.pages_huge;
	u.pages_compressed = in->file.pages - in->file.pages_same - in->file.pages_huge;
	u.pages_hole = in_size - (in->file.pages - past_eof);
	zfs_unlock(in);
	return zfs_stats_file_xattr(&u, buf, size);
}
