// SPDX-License-Identifier: MIT
/*
 * backing.c - the backing file: room outside RAM for compressed data.
 *
 * Design
 * ------
 * zram writes back one uncompressed 4 KiB page per block of its backing
 * device. zpoolfs writes the compressed bytes, so the space is managed in
 * 512-byte units (a sector, ZFS_BD_UNIT): a 1.3 KiB compressed page takes 3
 * units, packed next to its neighbours, and a 40 KiB piece of a cluster 80.
 *
 *   backing file:  | unit 0 | unit 1 | unit 2 | unit 3 | ... (512 bytes each)
 *   map (bitmap):      1        1        0        1      ...  1 = in use
 *   4 KiB disk block = 8 units: when all 8 are free the block is punched
 *   (FALLOC_FL_PUNCH_HOLE | KEEP_SIZE) and the disk gives it back.
 *
 * Allocation is first-fit over the bitmap from the lowest unit that may be
 * free (a hint moved down by frees and up by allocations), so a range freed
 * is reused by the next allocations that fit and the file stays as short as
 * its data allows. The bitmap grows (doubling) as the used part of the file
 * grows, up to the capacity (a block device's size or capacity=, else
 * 2^40 bytes of address space, the filesystem under it deciding with
 * ENOSPC): one bit per 512 bytes, 256 KiB of map per GiB written back.
 *
 * Contents are volatile: at open an existing file is truncated and a block
 * device discarded; at close a file we created is removed, one that existed
 * is truncated again.
 *
 * Locking: bd->lock protects the map, the hint and the use counts, and is
 * held while punching, so a block being punched cannot be allocated and
 * written meanwhile. pwrite/pread run without it: each caller owns its range.
 * Counters are relaxed atomics (fs_counters.h); the limit is an atomic.
 *
 * Failures: an allocation fails with ENOSPC when no run of free units is
 * left, ENOMEM when the map cannot grow; a write that fails (EIO, ENOSPC of
 * the filesystem under us, a short write) returns the error and the caller
 * keeps its data in RAM and frees the range; a read error returns EIO to
 * the caller (one request), nothing else is affected. Punching is best
 * effort (a filesystem that cannot punch keeps its blocks; counted when it
 * works). Test hooks make the n-th or every n-th write or read fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backing.h"

#define UNIT ZFS_BD_UNIT
#define UNITS_PER_BLOCK 8		/* 4 KiB: what the disk can give back */
#define MAX_UNITS_FILE (1ULL << 31)	/* 1 TiB of units for a file with no capacity */
#define MAX_LEN (64UL * 1024)

struct bd_fault {
	atomic_int err;			/* 0: none */
	atomic_ulong nth;		/* fail the call when calls reaches this (0: unused) */
	atomic_ulong every;		/* fail every every-th call (0: unused) */
	atomic_ulong calls;		/* calls since set */
};

struct zfs_backing {
	int fd;
	bool blockdev;
	bool created;			/* we made the file: remove it at close */
	char *path;			/* absolute */
	uint64_t cap_units;		/* immutable: units it may hold */
	struct zfs_counters *c;

	pthread_mutex_t lock;		/* the fields below */
	uint64_t *map;			/* 1 bit per unit in use */
	uint64_t map_units;		/* units the map covers (a multiple of 64) */
	uint64_t first_free;		/* no unit below it is free */
	uint64_t used_units;

	atomic_bool limit_enable;	/* zram's writeback_limit_enable */
	atomic_ullong limit_bytes;	/* zram's writeback_limit, kept in bytes */
	struct bd_fault wfault, rfault;
};

static void say(char *msg, size_t len, const char *fmt, const char *path, int err)
{
	snprintf(msg, len, fmt, path, strerror(err));
	errno = err;
}

/* Is the directory holding @abs inside the mount point @mnt (or is it @mnt)? */
static bool on_mount(const char *dir, const char *mountpoint)
{
	char mnt[PATH_MAX];
	size_t n;

	if (!mountpoint || !realpath(mountpoint, mnt))
		return false;
	n = strlen(mnt);
	if (n == 1)
		return true;	/* mounted on / : everything is below it */
	return !strncmp(dir, mnt, n) && (dir[n] == '\0' || dir[n] == '/');
}

/* The absolute path of @path, whose parent must exist (the file need not). */
static char *absolute(const char *path, char *dir_out)
{
	char tmp[PATH_MAX], dir[PATH_MAX], *slash, *out;
	const char *base;
	size_t n;

	if (strlen(path) >= sizeof(tmp))
		return NULL;
	strcpy(tmp, path);
	slash = strrchr(tmp, '/');
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		if (!realpath(tmp[0] ? tmp : "/", dir))
			return NULL;
	} else {
		base = tmp;
		if (!realpath(".", dir))
			return NULL;
	}
	if (!*base || strlen(dir) + strlen(base) + 2 > PATH_MAX) {
		errno = EISDIR;
		return NULL;
	}
	n = strlen(dir);
	out = malloc(n + strlen(base) + 2);
	if (!out)
		return NULL;
	memcpy(out, dir, n);
	if (strcmp(dir, "/"))
		out[n++] = '/';
	strcpy(out + n, base);
	strcpy(dir_out, dir);
	return out;
}

/* Open (or create) and check the type. Return: the fd, or -1 with @msg set. */
static int open_checked(struct zfs_backing *bd, const char *user_path, char *msg, size_t len)
{
	struct stat st;
	int fd;

	fd = open(bd->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		fd = open(bd->path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
		bd->created = fd >= 0;
	}
	if (fd < 0) {
		int err = errno;

		if (err == EISDIR)
			say(msg, len, "backing=%s: is a directory (%s); want a file or block device",
			    user_path, err);
		else if (err == ELOOP)
			say(msg, len, "backing=%s: is a symbolic link (%s); give the file itself",
			    user_path, err);
		else
			say(msg, len, "backing=%s: cannot open it for reading and writing: %s",
			    user_path, err);
		return -1;
	}
	if (fstat(fd, &st)) {
		say(msg, len, "backing=%s: %s", user_path, errno);
		goto out_close;
	}
	if (S_ISBLK(st.st_mode)) {
		/* Exclusive: refuse a device mounted or used elsewhere. */
		int ex = open(bd->path, O_RDWR | O_CLOEXEC | O_EXCL);

		if (ex < 0) {
			say(msg, len, "backing=%s: the block device is in use: %s", user_path,
			    errno);
			goto out_close;
		}
		close(fd);
		fd = ex;
		bd->blockdev = true;
	} else if (!S_ISREG(st.st_mode)) {
		say(msg, len, "backing=%s: not a regular file or block device (%s)", user_path,
		    EINVAL);
		goto out_close;
	}
	return fd;

out_close:
	close(fd);
	if (bd->created)
		unlink(bd->path);
	bd->created = false;
	return -1;
}

static void discard_all(struct zfs_backing *bd)
{
	if (bd->blockdev) {
		uint64_t size = 0, range[2];

		if (!ioctl(bd->fd, BLKGETSIZE64, &size) && size) {
			range[0] = 0;
			range[1] = size;
			if (ioctl(bd->fd, BLKDISCARD, range))
				(void)0;	/* best effort: contents are ignored anyway */
		}
	} else if (ftruncate(bd->fd, 0)) {
		(void)0;		/* nothing written here is ever read before written */
	}
}

struct zfs_backing *zfs_backing_open(const char *path, const char *mountpoint, uint64_t capacity,
				     struct zfs_counters *counters, char *msg, size_t msglen)
{
	struct zfs_backing *bd = calloc(1, sizeof(*bd));
	char dir[PATH_MAX];
	uint64_t units;

	if (!bd) {
		say(msg, msglen, "backing=%s: %s", path, ENOMEM);
		return NULL;
	}
	bd->fd = -1;
	bd->c = counters;
	if (!path || !*path) {
		say(msg, msglen, "backing=%s: want a path (%s)", "", EINVAL);
		goto out_free;
	}
	bd->path = absolute(path, dir);
	if (!bd->path) {
		int err = errno;

		if (err == EISDIR)
			say(msg, msglen, "backing=%s: is a directory (%s); want a file or block device",
			    path, err);
		else
			say(msg, msglen, "backing=%s: its directory cannot be used: %s", path, err);
		goto out_free;
	}
	if (on_mount(dir, mountpoint) || on_mount(bd->path, mountpoint)) {
		say(msg, msglen, "backing=%s: is on the mount itself; put it outside (%s)", path,
		    EINVAL);
		goto out_free;
	}
	bd->fd = open_checked(bd, path, msg, msglen);
	if (bd->fd < 0)
		goto out_free;
	units = MAX_UNITS_FILE;
	if (bd->blockdev) {
		uint64_t size = 0;

		if (ioctl(bd->fd, BLKGETSIZE64, &size) || size < UNITS_PER_BLOCK * UNIT) {
			say(msg, msglen, "backing=%s: cannot use the device's size (%s)", path,
			    errno ? errno : ENOSPC);
			goto out_close;
		}
		units = size / UNIT;
	}
	if (capacity && capacity / UNIT < units)
		units = capacity / UNIT;
	if (units < UNITS_PER_BLOCK) {
		say(msg, msglen, "backing=%s: capacity below 4 KiB (%s)", path, EINVAL);
		goto out_close;
	}
	bd->cap_units = units;
	pthread_mutex_init(&bd->lock, NULL);
	discard_all(bd);
	return bd;

out_close:
	close(bd->fd);
	if (bd->created)
		unlink(bd->path);
out_free:
	free(bd->path);
	free(bd);
	return NULL;
}

void zfs_backing_close(struct zfs_backing *bd)
{
	if (!bd)
		return;
	if (bd->created)
		unlink(bd->path);
	else
		discard_all(bd);
	close(bd->fd);
	pthread_mutex_destroy(&bd->lock);
	free(bd->map);
	free(bd->path);
	free(bd);
}

/* ---- faults (test hooks) */

void zfs_backing_fault(struct zfs_backing *bd, bool write, int err, unsigned long nth,
		       unsigned long every)
{
	struct bd_fault *f = write ? &bd->wfault : &bd->rfault;

	atomic_store(&f->err, 0);
	atomic_store(&f->calls, 0);
	atomic_store(&f->nth, nth);
	atomic_store(&f->every, every);
	atomic_store(&f->err, err);
}

int zfs_backing_fault_parse(struct zfs_backing *bd, bool write, const char *spec)
{
	unsigned long nth = 0, every = 0;
	const char *comma = strchr(spec, ',');
	size_t n = comma ? (size_t)(comma - spec) : strlen(spec);
	char *end;
	int err;

	if (n == 3 && !strncmp(spec, "EIO", 3))
		err = EIO;
	else if (n == 6 && !strncmp(spec, "ENOSPC", 6))
		err = ENOSPC;
	else
		goto bad;
	if (comma) {
		bool is_nth = !strncmp(comma + 1, "nth=", 4);

		if (!is_nth && strncmp(comma + 1, "every=", 6))
			goto bad;
		errno = 0;
		if (is_nth)
			nth = strtoul(comma + 5, &end, 10);
		else
			every = strtoul(comma + 7, &end, 10);
		if (errno || *end || (nth | every) == 0)
			goto bad;
	}
	zfs_backing_fault(bd, write, err, nth, every);
	return 0;
bad:
	fprintf(stderr, "zpoolfs: bad backing fault %s: want EIO or ENOSPC, then ,nth=N or "
		",every=N\n", spec);
	return -EINVAL;
}

/* Does this call fail by request? Return: 0 or the error to report. */
static int fault_hit(struct bd_fault *f)
{
	int err = atomic_load_explicit(&f->err, memory_order_relaxed);
	unsigned long n, nth, every;

	if (!err)
		return 0;
	n = atomic_fetch_add(&f->calls, 1) + 1;
	nth = atomic_load(&f->nth);
	every = atomic_load(&f->every);
	if (nth)
		return n == nth ? err : 0;
	if (every)
		return n % every == 0 ? err : 0;
	return err;
}

/* ---- the map */

static bool unit_used(const struct zfs_backing *bd, uint64_t u)
{
	return bd->map[u / 64] >> (u % 64) & 1;
}

static void mark(struct zfs_backing *bd, uint64_t u, uint64_t n, bool used)
{
	for (uint64_t i = u; i < u + n; i++) {
		if (used)
			bd->map[i / 64] |= 1ULL << (i % 64);
		else
			bd->map[i / 64] &= ~(1ULL << (i % 64));
	}
}

/* A run of @n free units in [@from, @to). Context: bd->lock. */
static bool find_run(const struct zfs_backing *bd, uint64_t from, uint64_t to, uint64_t n,
		     uint64_t *out)
{
	uint64_t u = from;

	while (u + n <= to) {
		uint64_t run = 0;

		if (u % 64 == 0 && bd->map[u / 64] == ~0ULL) {
			u += 64;
			continue;
		}
		while (run < n && !unit_used(bd, u + run))
			run++;
		if (run == n) {
			*out = u;
			return true;
		}
		u += run + 1;
	}
	return false;
}

/* Make the map cover at least @units. Return: 0 or -ENOMEM. Context: bd->lock. */
static int grow(struct zfs_backing *bd, uint64_t units)
{
	uint64_t want = bd->map_units ? bd->map_units : 8192, *map;

	while (want < units)
		want *= 2;
	if (want > bd->cap_units)
		want = (bd->cap_units + 63) / 64 * 64;
	map = realloc(bd->map, want / 8);
	if (!map)
		return -ENOMEM;
	memset((char *)map + bd->map_units / 8, 0, (want - bd->map_units) / 8);
	bd->map = map;
	bd->map_units = want;
	return 0;
}

int zfs_backing_alloc(struct zfs_backing *bd, size_t len, uint64_t *off)
{
	uint64_t n = (len + UNIT - 1) / UNIT, u, limit;
	int err = 0;

	if (!len || len > MAX_LEN)
		return -EINVAL;
	pthread_mutex_lock(&bd->lock);
	limit = bd->map_units < bd->cap_units ? bd->map_units : bd->cap_units;
	if (bd->used_units + n <= limit && find_run(bd, bd->first_free, limit, n, &u))
		goto found;
	/* Grow: past the last unit in use at the end of the map. */
	u = limit;
	while (u > 0 && !unit_used(bd, u - 1) && limit - u < n)
		u--;
	if (u + n > bd->cap_units) {
		err = -ENOSPC;
		goto out;
	}
	if (u + n > bd->map_units) {
		err = grow(bd, u + n);
		if (err)
			goto out;
	}
found:
	mark(bd, u, n, true);
	bd->used_units += n;
	if (u == bd->first_free) {
		bd->first_free = u + n;
		while (bd->first_free < limit && unit_used(bd, bd->first_free))
			bd->first_free++;
	}
	*off = u * UNIT;
	zfs_count_add(bd->c, bd_bytes, n * UNIT);
out:
	pthread_mutex_unlock(&bd->lock);
	return err;
}

/* Punch the 4 KiB blocks of [@u, @u + @n) that hold nothing now. Context: bd->lock. */
static void punch_free_blocks(struct zfs_backing *bd, uint64_t u, uint64_t n)
{
	uint64_t first = u / UNITS_PER_BLOCK, last = (u + n - 1) / UNITS_PER_BLOCK;
	uint64_t run_start = 0, run_len = 0;

	for (uint64_t b = first; b <= last + 1; b++) {
		bool empty = false;

		if (b <= last && (b + 1) * UNITS_PER_BLOCK <= bd->map_units) {
			empty = true;
			for (uint64_t i = b * UNITS_PER_BLOCK; i < (b + 1) * UNITS_PER_BLOCK; i++)
				if (unit_used(bd, i)) {
					empty = false;
					break;
				}
		}
		if (empty) {
			if (!run_len)
				run_start = b;
			run_len++;
			continue;
		}
		if (run_len &&
		    !fallocate(bd->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)(run_start * UNITS_PER_BLOCK * UNIT),
			       (off_t)(run_len * UNITS_PER_BLOCK * UNIT)))
			zfs_count_add(bd->c, bd_punches, 1);
		run_len = 0;
	}
}

void zfs_backing_free(struct zfs_backing *bd, uint64_t off, size_t len)
{
	uint64_t u = off / UNIT, n = (len + UNIT - 1) / UNIT;

	if (!len)
		return;
	pthread_mutex_lock(&bd->lock);
	mark(bd, u, n, false);
	bd->used_units -= n;
	if (u < bd->first_free)
		bd->first_free = u;
	zfs_count_sub(bd->c, bd_bytes, n * UNIT);
	punch_free_blocks(bd, u, n);
	pthread_mutex_unlock(&bd->lock);
}

/* ---- I/O */

int zfs_backing_write(struct zfs_backing *bd, uint64_t off, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;
	int err = fault_hit(&bd->wfault);

	while (!err && done < len) {
		ssize_t n = pwrite(bd->fd, p + done, len - done, (off_t)(off + done));

		if (n > 0)
			done += (size_t)n;
		else if (n == 0)
			err = ENOSPC;
		else if (errno != EINTR)
			err = errno;
	}
	if (err) {
		zfs_count_add(bd->c, bd_failed_writes, 1);
		return -err;
	}
	zfs_count_add(bd->c, bd_write_bytes, len);
	return 0;
}

int zfs_backing_read(struct zfs_backing *bd, uint64_t off, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;
	int err = fault_hit(&bd->rfault);

	while (!err && done < len) {
		ssize_t n = pread(bd->fd, p + done, len - done, (off_t)(off + done));

		if (n > 0)
			done += (size_t)n;
		else if (n == 0)
			err = EIO;	/* past the end: the file was cut under us */
		else if (errno != EINTR)
			err = errno;
	}
	if (err) {
		zfs_count_add(bd->c, bd_failed_reads, 1);
		return -err;
	}
	zfs_count_add(bd->c, bd_read_bytes, len);
	return 0;
}

/* ---- zram's writeback_limit */

bool zfs_backing_limit_take(struct zfs_backing *bd, uint64_t bytes)
{
	unsigned long long have;

	if (!atomic_load(&bd->limit_enable))
		return true;
	have = atomic_load(&bd->limit_bytes);
	do {
		if (have < bytes)
			return false;
	} while (!atomic_compare_exchange_weak(&bd->limit_bytes, &have, have - bytes));
	return true;
}

void zfs_backing_limit_set(struct zfs_backing *bd, int enable, const uint64_t *pages)
{
	if (pages)
		atomic_store(&bd->limit_bytes,
			      *pages > UINT64_MAX / 4096 ? UINT64_MAX : *pages * 4096);
	if (enable >= 0)
		atomic_store(&bd->limit_enable, enable != 0);
}

void zfs_backing_info(struct zfs_backing *bd, struct zfs_backing_info *info)
{
	pthread_mutex_lock(&bd->lock);
	info->used = bd->used_units * UNIT;
	pthread_mutex_unlock(&bd->lock);
	info->capacity = bd->blockdev || bd->cap_units != MAX_UNITS_FILE ? bd->cap_units * UNIT : 0;
	info->limit_enable = atomic_load(&bd->limit_enable);
	info->limit_pages = atomic_load(&bd->limit_bytes) / 4096;
}

uint64_t zfs_backing_blocks(struct zfs_backing *bd)
{
	struct stat st;

	if (fstat(bd->fd, &st))
		return 0;
	return (uint64_t)st.st_blocks;
}
