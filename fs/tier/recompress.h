/* SPDX-License-Identifier: MIT */
/*
 * recompress.h - idle marking and recompression with a second algorithm
 * (recompress.c): zram's `idle` and `recompress`, and recomp_after=.
 */
#ifndef ZPOOLFS_RECOMPRESS_H
#define ZPOOLFS_RECOMPRESS_H

#include "zfs.h"

/* What `recompress` takes, as zram's: type=idle|huge|huge_idle threshold=N. */
struct zfs_recomp_req {
	bool idle;		/* only entries marked idle */
	bool huge;		/* only pages stored raw */
	uint32_t min_age;	/* only entries not read or written for this many s (0: any) */
	size_t threshold;	/* only entries of at least this many bytes per page (0: any) */
};

/** zfs_recomp_init - the second compressor from recomp=. Return: 0 or -EINVAL. */
int zfs_recomp_init(struct zfs_fs *fs);

/**
 * zfs_idle_mark - zram's `echo all > idle` (@min_age 0), or `echo N > idle`
 * (entries not read or written for @min_age seconds): flags stored pages
 * idle until their next read or write. Same-filled pages and holes are not
 * marked, as in zram. Return: pages newly marked. Context: takes each
 * file's write lock in turn.
 */
unsigned long zfs_idle_mark(struct zfs_fs *fs, uint32_t min_age);

/**
 * zfs_idle_parse / zfs_recomp_parse - the text written to `idle` /
 * `recompress`. Return: 0 or -EINVAL.
 */
int zfs_idle_parse(const char *text, uint32_t *min_age);
int zfs_recomp_parse(const struct zfs_fs *fs, const char *text, struct zfs_recomp_req *rq);

/**
 * zfs_recompress - recompress with recomp= every stored page (or piece)
 * that @rq selects and that is not recompressed or known incompressible
 * yet; keep the result only if it is smaller, else flag the entry INCOMP.
 * Pages are decoded under a file's read lock, compressed with no lock, and
 * republished under its write lock only if the file's table did not change
 * meanwhile (else that page is left for the next pass): requests wait at
 * most one decode or one republish. Return: pages recompressed, or -EINVAL
 * without recomp=, -ENOMEM.
 */
long zfs_recompress(struct zfs_fs *fs, const struct zfs_recomp_req *rq);

/**
 * zfs_recomp_start - the background thread of recomp_after= (none without
 * it): every few seconds, at SCHED_IDLE priority, recompresses what has not
 * been read or written for recomp_after seconds. Return: 0 (a thread that
 * cannot start is reported on stderr and the mount goes on without it).
 */
int zfs_recomp_start(struct zfs_fs *fs);
void zfs_recomp_stop(struct zfs_fs *fs);

#endif
