/* SPDX-License-Identifier: MIT */
/*
 * options.h - zpoolfs mount options: the fuse_opt table and the checked
 * values derived from it.
 */
#ifndef ZPOOLFS_OPTIONS_H
#define ZPOOLFS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct fuse_args;

/* Strings as fuse_opt_parse() stores them; NULL when not given. */
struct zfs_opt_strings {
	char *size;
	char *nr_inodes;
	char *mode;
	char *uid;
	char *gid;
	char *backend;
	char *comp;
	char *comp_level;
	char *mem_limit;
	char *statsdir;
	char *threads;
	char *readahead;
	char *cluster;
	char *recomp;
	char *recomp_level;
	char *recomp_after;
	char *pack_after;
	char *compact_at;
	char *timeout;
	char *backing;
	char *writeback_at;
	char *uring_depth;
	char *spin;
	int nostats;
	int nocompact;
	int writeback;			/* writeback_cache */
	int dedup;
	int uring;
	int atime;			/* enum zfs_atime */
	int nodiratime;
	int allow_other;		/* ZFS_ALLOW_OTHER/ROOT if given (kept for libfuse) */
	int show_help;
	int show_version;
};

/* allow_other or allow_root in the options (unpriv.c checks them for users). */
enum { ZFS_ALLOW_OTHER = 1, ZFS_ALLOW_ROOT };

/* When reads update access times (the mount's atime options). */
enum zfs_atime {
	ZFS_RELATIME,		/* tmpfs's default: when older than mtime/ctime or a day */
	ZFS_NOATIME,
	ZFS_STRICTATIME,
};

#define ZFS_DEFAULT_CLUSTER_PAGES 4	/* cluster=16k: see docs/BENCHMARKS.md */
#define ZFS_COMPACT_AT_DEFAULT 4	/* % of the pool freeable: see autocompact.c */
#define ZFS_DEFAULT_TIMEOUT 86400.0	/* timeout=: the daemon is the only writer */
#define ZFS_DEFAULT_URING_DEPTH 2	/* uring_depth=: see docs/BENCHMARKS.md */
#define ZFS_DEFAULT_PACK_AFTER 30	/* pack_after=: see fs/tier/pack.c, docs/BENCHMARKS.md */
#define ZFS_DEFAULT_SPIN_US 50		/* spin=: the spinning leader (fs/fuse/loop.c) */

/* Checked values. */
struct zfs_options {
	uint64_t size_pages;		/* 0 = no limit (size=0, as tmpfs) */
	uint64_t nr_inodes;		/* 0 = no limit */
	mode_t root_mode;		/* permission bits of the root directory */
	uid_t uid;
	gid_t gid;
	const char *backend;		/* "zsmalloc" | "zbud" */
	const char *comp;		/* "lz4" | "zstd" | "none" */
	int comp_level;
	bool comp_level_set;
	uint64_t mem_limit;		/* bytes, 0 = none */
	char statsdir[256];		/* "" with nostats */
	unsigned int threads;		/* 0 = libfuse's default */
	bool uring;			/* uring: requests through io_uring (uring.c) */
	unsigned int uring_depth;	/* entries per CPU queue */
	unsigned int spin_us;		/* spin=: the reader polls this long (loop.c) */
	enum zfs_atime atime;
	bool nodiratime;
	unsigned long readahead_kib;	/* 0: the kernel's default */
	unsigned int cluster_pages;	/* cluster=: 1 (page by page) .. 16, a power of two */
	const char *recomp;		/* recomp=: "zstd" | "lz4", NULL = none */
	int recomp_level;
	bool recomp_level_set;
	unsigned int recomp_after;	/* seconds; 0 = no background recompression */
	unsigned int pack_after;	/* seconds; 0 = no packing (pack.c) */
	unsigned int compact_at;	/* compact when freeable >= this % of the pool */
	bool nocompact;			/* no automatic compaction */
	double timeout;			/* timeout=: entry, attribute, negative entry (s) */
	bool writeback;			/* the kernel's writeback cache (see ops.c) */
	const char *backing;		/* backing=: path of the backing file, NULL: none */
	bool dedup;			/* store identical data once (dedup.c) */
	unsigned int writeback_at;	/* % of mem_limit kept by writing back, 0: off */
};

/**
 * zfs_opts_parse - take zpoolfs's own options out of @args.
 * Options libfuse knows (and unknown ones, which libfuse then rejects) stay in
 * @args. Return: 0, or -EINVAL after printing what is wrong.
 */
int zfs_opts_parse(struct fuse_args *args, struct zfs_opt_strings *s);

/**
 * zfs_opts_check - turn the strings into values, with tmpfs's defaults.
 * Return: 0, or -EINVAL after printing a message naming the bad option.
 */
int zfs_opts_check(const struct zfs_opt_strings *s, struct zfs_options *o);

void zfs_opts_free(struct zfs_opt_strings *s);

/** zfs_opts_help - print zpoolfs's options (libfuse's are printed after). */
void zfs_opts_help(const char *prog);

/**
 * zfs_parse_bytes - "123", "64k", "1.5g", "10%" (of RAM) into bytes.
 * Return: 0, or -EINVAL for anything else (trailing junk, overflow, % > 100
 * when @allow_pct is false any % is refused).
 */
int zfs_parse_bytes(const char *s, bool allow_pct, uint64_t *out);

#endif
