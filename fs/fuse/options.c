// SPDX-License-Identifier: MIT
/*
 * options.c - zpoolfs's -o options.
 *
 * Design: one fuse_opt table fills struct zfs_opt_strings (offsetof into one
 * struct); options the table does not know are kept in the argument list, so
 * that libfuse sees its own (allow_other, ...) and refuses unknown ones with a
 * message before anything is mounted. zfs_opts_check() then turns the strings
 * into numbers the way tmpfs reads its own: sizes take k/m/g/t/p/e suffixes
 * or a percentage of RAM, size=0 and nr_inodes=0 mean "no limit", mode= is
 * octal. Every refusal names the option and the value. Nothing here is
 * shared between threads: options are parsed once, before the session starts.
 */
#include <errno.h>
#include <fuse_opt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compress.h"
#include "options.h"

#define OPT(t, f) { t, offsetof(struct zfs_opt_strings, f), 1 }

enum {
	KEY_NOATIME = 1, KEY_ATIME, KEY_STRICTATIME, KEY_RELATIME, KEY_NODIRATIME,
	KEY_ALLOW_OTHER, KEY_ALLOW_ROOT,
};

static const struct fuse_opt zfs_opt_spec[] = {
	OPT("size=%s", size),
	OPT("nr_inodes=%s", nr_inodes),
	OPT("mode=%s", mode),
	OPT("uid=%s", uid),
	OPT("gid=%s", gid),
	OPT("backend=%s", backend),
	OPT("comp=%s", comp),
	OPT("comp_level=%s", comp_level),
	OPT("mem_limit=%s", mem_limit),
	OPT("statsdir=%s", statsdir),
	OPT("threads=%s", threads),
	OPT("readahead=%s", readahead),
	OPT("cluster=%s", cluster),
	OPT("timeout=%s", timeout),
	OPT("recomp=%s", recomp),
	OPT("recomp_level=%s", recomp_level),
	OPT("recomp_after=%s", recomp_after),
	OPT("pack_after=%s", pack_after),
	OPT("nostats", nostats),
	OPT("compact_at=%s", compact_at),
	OPT("nocompact", nocompact),
	OPT("writeback_cache", writeback),
	OPT("backing=%s", backing),
	OPT("dedup", dedup),
	OPT("uring", uring),
	OPT("uring_depth=%s", uring_depth),
	OPT("spin=%s", spin),
	OPT("writeback_at=%s", writeback_at),
	FUSE_OPT_KEY("noatime", KEY_NOATIME),
	FUSE_OPT_KEY("atime", KEY_ATIME),
	FUSE_OPT_KEY("strictatime", KEY_STRICTATIME),
	FUSE_OPT_KEY("relatime", KEY_RELATIME),
	FUSE_OPT_KEY("nodiratime", KEY_NODIRATIME),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("allow_root", KEY_ALLOW_ROOT),
	OPT("-h", show_help),
	OPT("--help", show_help),
	OPT("-V", show_version),
	OPT("--version", show_version),
	FUSE_OPT_END
};

/*
 * Access-time options are noted here; noatime and atime also go on to libfuse
 * (which sets the kernel's mount flags), the others libfuse does not know.
 * Everything else is kept for libfuse, which refuses what it does not know.
 */
static int keep_unknown(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct zfs_opt_strings *s = data;

	switch (key) {
	case KEY_NOATIME:
		s->atime = ZFS_NOATIME;
		return 1;
	case KEY_ATIME:
		s->atime = ZFS_RELATIME;
		return 1;
	case KEY_STRICTATIME:
		s->atime = ZFS_STRICTATIME;
		return 0;
	case KEY_RELATIME:
		s->atime = ZFS_RELATIME;
		return 0;
	case KEY_NODIRATIME:
		s->nodiratime = 1;
		return 0;
	case KEY_ALLOW_OTHER:	/* noted for unpriv.c; libfuse applies them */
		s->allow_other = ZFS_ALLOW_OTHER;
		return 1;
	case KEY_ALLOW_ROOT:
		s->allow_other = ZFS_ALLOW_ROOT;
		return 1;
	default:
		return 1;
	}
}

int zfs_opts_parse(struct fuse_args *args, struct zfs_opt_strings *s)
{
	if (fuse_opt_parse(args, s, zfs_opt_spec, keep_unknown) == -1) {
		fprintf(stderr, "zpoolfs: cannot parse the options (out of memory?)\n");
		return -EINVAL;
	}
	return 0;
}

void zfs_opts_free(struct zfs_opt_strings *s)
{
	char **strs[] = { &s->size,	  &s->nr_inodes, &s->mode,	&s->uid,
			  &s->gid,	  &s->backend,	 &s->comp,	&s->comp_level,
			  &s->mem_limit, &s->statsdir,	 &s->threads,	&s->readahead,
			  &s->cluster,	  &s->compact_at, &s->timeout,	&s->backing,
			  &s->recomp,	  &s->recomp_level, &s->recomp_after, &s->pack_after,
			  &s->writeback_at, &s->uring_depth, &s->spin };

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

static uint64_t ram_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	long psz = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || psz <= 0)
		return 1ULL << 30;
	return (uint64_t)pages * (uint64_t)psz;
}

int zfs_parse_bytes(const char *s, bool allow_pct, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end == '%') {
		if (!allow_pct || end[1] || v > 100)
			return -EINVAL;
		*out = ram_bytes() / 100 * v;
		return 0;
	}
	switch (*end) {
	case 'e': case 'E': shift += 10; /* fall through */
	case 'p': case 'P': shift += 10; /* fall through */
	case 't': case 'T': shift += 10; /* fall through */
	case 'g': case 'G': shift += 10; /* fall through */
	case 'm': case 'M': shift += 10; /* fall through */
	case 'k': case 'K': shift += 10;
		end++;
		break;
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (~0ULL >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

static int parse_uint(const char *s, unsigned long long max, int base, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int bad(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "zpoolfs: bad option %s=%s: %s\n", opt, val, want);
	return -EINVAL;
}

static int check_ids(const struct zfs_opt_strings *s, struct zfs_options *o)
{
	unsigned long long v;

	o->uid = getuid();
	o->gid = getgid();
	if (s->uid) {
		struct passwd *pw;

		if (!parse_uint(s->uid, UINT_MAX - 1, 10, &v))
			o->uid = (uid_t)v;
		else if ((pw = getpwnam(s->uid)))
			o->uid = pw->pw_uid;
		else
			return bad("uid", s->uid, "want a user id or a user name");
	}
	if (s->gid) {
		struct group *gr;

		if (!parse_uint(s->gid, UINT_MAX - 1, 10, &v))
			o->gid = (gid_t)v;
		else if ((gr = getgrnam(s->gid)))
			o->gid = gr->gr_gid;
		else
			return bad("gid", s->gid, "want a group id or a group name");
	}
	return 0;
}

static int check_comp(const struct zfs_opt_strings *s, struct zfs_options *o)
{
	long long lv;
	char *end;

	o->comp = "lz4";
	if (s->comp) {
		if (!zfs_compressor_known(s->comp))
			return bad("comp", s->comp, "want lz4, zstd or none");
		o->comp = s->comp;
	}
	if (!s->comp_level)
		return 0;
	errno = 0;
	lv = strtoll(s->comp_level, &end, 10);
	if (errno || end == s->comp_level || *end || lv < INT_MIN || lv > INT_MAX)
		return bad("comp_level", s->comp_level, "want an integer");
	o->comp_level = (int)lv;
	o->comp_level_set = true;
	if (zfs_compressor_check_level(o->comp, o->comp_level)) {
		char want[128];

		zfs_compressor_level_range(o->comp, want, sizeof(want));
		return bad("comp_level", s->comp_level, want);
	}
	return 0;
}

static int check_statsdir(const struct zfs_opt_strings *s, struct zfs_options *o)
{
	const char *name = s->statsdir ? s->statsdir : ".zpool";

	if (s->nostats) {
		if (s->statsdir)
			return bad("statsdir", s->statsdir,
				   "nostats hides the statistics directory");
		o->statsdir[0] = '\0';
		return 0;
	}
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    strlen(name) >= sizeof(o->statsdir))
		return bad("statsdir", name, "want a file name (no '/', at most 255 bytes)");
	strcpy(o->statsdir, name);
	return 0;
}

/* recomp=, recomp_level=, recomp_after=: zram's second algorithm. */
static int check_recomp(const struct zfs_opt_strings *s, struct zfs_options *o)
{
	unsigned long long v;
	char *end;
	long long lv;

	if (!s->recomp) {
		if (s->recomp_level)
			return bad("recomp_level", s->recomp_level, "needs recomp=");
		if (s->recomp_after)
			return bad("recomp_after", s->recomp_after, "needs recomp=");
		return 0;
	}
	if (strcmp(s->recomp, "lz4") && strcmp(s->recomp, "zstd"))
		return bad("recomp", s->recomp, "want zstd or lz4");
	o->recomp = s->recomp;
	if (s->recomp_level) {
		errno = 0;
		lv = strtoll(s->recomp_level, &end, 10);
		if (errno || end == s->recomp_level || *end || lv < INT_MIN || lv > INT_MAX ||
		    zfs_compressor_check_level(o->recomp, (int)lv)) {
			char want[96];

			zfs_compressor_level_range(o->recomp, want, sizeof(want));
			return bad("recomp_level", s->recomp_level, want);
		}
		o->recomp_level = (int)lv;
		o->recomp_level_set = true;
	}
	if (s->recomp_after) {
		if (parse_uint(s->recomp_after, 100UL * 365 * 86400, 10, &v) || v == 0)
			return bad("recomp_after", s->recomp_after,
				   "want a number of seconds from 1 to 100 years");
		o->recomp_after = (unsigned int)v;
	}
	return 0;
}

int zfs_opts_check(const struct zfs_opt_strings *s, struct zfs_options *o)
{
	unsigned long long v;
	uint64_t bytes;
	int err;

	memset(o, 0, sizeof(*o));
	bytes = ram_bytes() / 2;
	if (s->size && zfs_parse_bytes(s->size, true, &bytes))
		return bad("size", s->size, "want bytes with a k/m/g/t suffix, or N% of RAM");
	o->size_pages = bytes / 4096 + (bytes % 4096 != 0);

	o->nr_inodes = ram_bytes() / 4096 / 2;
	if (s->nr_inodes) {
		if (zfs_parse_bytes(s->nr_inodes, false, &bytes))
			return bad("nr_inodes", s->nr_inodes, "want a number with a k/m/g suffix");
		o->nr_inodes = bytes;
	}

	o->root_mode = 01777;
	if (s->mode) {
		if (parse_uint(s->mode, 07777, 8, &v))
			return bad("mode", s->mode, "want octal permission bits (at most 07777)");
		o->root_mode = (mode_t)v;
	}
	err = check_ids(s, o);
	if (err)
		return err;

	o->backend = "zsmalloc";
	if (s->backend) {
		if (strcmp(s->backend, "zsmalloc") && strcmp(s->backend, "zbud"))
			return bad("backend", s->backend, "want zsmalloc or zbud");
		o->backend = s->backend;
	}
	err = check_comp(s, o);
	if (err)
		return err;

	if (s->mem_limit && zfs_parse_bytes(s->mem_limit, true, &o->mem_limit))
		return bad("mem_limit", s->mem_limit,
			   "want bytes with a k/m/g/t suffix, or N% of RAM");
	err = check_statsdir(s, o);
	if (err)
		return err;
	o->readahead_kib = 4096;
	if (s->readahead) {
		if (zfs_parse_bytes(s->readahead, false, &bytes) || bytes > (1ULL << 30))
			return bad("readahead", s->readahead,
				   "want bytes with a k/m suffix, at most 1g");
		o->readahead_kib = (unsigned long)(bytes / 1024);
	}
	o->cluster_pages = ZFS_DEFAULT_CLUSTER_PAGES;
	if (s->cluster) {
		if (zfs_parse_bytes(s->cluster, false, &bytes) || bytes < 4096 ||
		    bytes > 65536 || (bytes & (bytes - 1)))
			return bad("cluster", s->cluster, "want 4k, 8k, 16k, 32k or 64k");
		o->cluster_pages = (unsigned int)(bytes / 4096);
	}
	o->compact_at = ZFS_COMPACT_AT_DEFAULT;
	if (s->compact_at) {
		if (s->nocompact)
			return bad("compact_at", s->compact_at,
				   "nocompact turns automatic compaction off");
		if (parse_uint(s->compact_at, 100, 10, &v) || v == 0)
			return bad("compact_at", s->compact_at,
				   "want a percentage of the pool from 1 to 100");
		o->compact_at = (unsigned int)v;
	}
	o->nocompact = s->nocompact;
	if (s->backing && !*s->backing)
		return bad("backing", s->backing, "want the path of a file or block device");
	o->backing = s->backing;
	err = check_recomp(s, o);
	if (err)
		return err;
	o->dedup = s->dedup;
	if (s->writeback_at) {
		if (parse_uint(s->writeback_at, 100, 10, &v) || v == 0)
			return bad("writeback_at", s->writeback_at,
				   "want a percentage of mem_limit from 1 to 100");
		if (!s->backing || !o->mem_limit)
			return bad("writeback_at", s->writeback_at,
				   "needs backing= and mem_limit=");
		o->writeback_at = (unsigned int)v;
	}
	o->atime = (enum zfs_atime)s->atime;
	o->nodiratime = s->nodiratime;
	o->writeback = s->writeback;
	o->timeout = ZFS_DEFAULT_TIMEOUT;
	if (s->timeout) {
		char *end;

		errno = 0;
		o->timeout = strtod(s->timeout, &end);
		if (errno || end == s->timeout || *end || !(o->timeout >= 0) ||
		    o->timeout > 31536000.0)
			return bad("timeout", s->timeout,
				   "want seconds from 0 to 31536000 (a year)");
	}
	o->uring = s->uring;
	o->uring_depth = ZFS_DEFAULT_URING_DEPTH;
	if (s->uring_depth) {
		if (parse_uint(s->uring_depth, 64, 10, &v) || v == 0)
			return bad("uring_depth", s->uring_depth,
				   "want a number of requests per CPU from 1 to 64");
		if (!s->uring)
			return bad("uring_depth", s->uring_depth, "needs uring");
		o->uring_depth = (unsigned int)v;
	}
	o->pack_after = ZFS_DEFAULT_PACK_AFTER;
	if (s->pack_after) {
		if (parse_uint(s->pack_after, 100UL * 365 * 86400, 10, &v))
			return bad("pack_after", s->pack_after,
				   "want a number of seconds from 0 (never) to 100 years");
		o->pack_after = (unsigned int)v;
	}
	o->spin_us = s->uring ? 0 : ZFS_DEFAULT_SPIN_US;
	if (s->spin) {
		if (parse_uint(s->spin, 100000, 10, &v))
			return bad("spin", s->spin,
				   "want microseconds from 0 to 100000");
		o->spin_us = (unsigned int)v;
	}
	if (s->threads) {
		if (parse_uint(s->threads, 1024, 10, &v) || v == 0)
			return bad("threads", s->threads,
				   "want a number of threads from 1 to 1024");
		o->threads = (unsigned int)v;
	}
	return 0;
}

void zfs_opts_help(const char *prog)
{
	printf("usage: %s [SOURCE] MOUNTPOINT [-o OPTION[,OPTION...]] [-f] [-d] [-s]\n"
	       "\n"
	       "A compressed tmpfs: every 4 KiB page of file data is compressed and kept in a\n"
	       "zsmalloc or zbud pool in this process. SOURCE is ignored (mount(8) passes it).\n"
	       "\n"
	       "zpoolfs options:\n"
	       "    -o size=BYTES          limit of stored file data: k/m/g/t suffix or\n"
	       "                           N%% of RAM\n"
	       "                           (default 50%%, 0 = no limit)\n"
	       "    -o nr_inodes=N         limit of inodes (default: RAM pages / 2, 0 = no limit)\n"
	       "    -o mode=OCTAL          permissions of the root directory (default 1777)\n"
	       "    -o uid=ID -o gid=ID    owner of the root directory (default: the caller)\n"
	       "    -o backend=NAME        zsmalloc (default) or zbud\n"
	       "    -o comp=NAME           lz4 (default), zstd or none\n"
	       "    -o comp_level=N        lz4: acceleration 1..65537 (default 1);\n"
	       "                           zstd: level %d..%d (default 3)\n"
	       "    -o cluster=SIZE        compress file data in aligned clusters of SIZE:\n"
	       "                           4k (page by page, as zram), 8k, 16k (default),\n"
	       "                           32k or 64k\n"
	       "    -o recomp=NAME         second algorithm for idle data, zstd or lz4 (none):\n"
	       "                           echo type=idle > .zpool/recompress, as zram's\n"
	       "    -o recomp_level=N      its level (zstd: default 9)\n"
	       "    -o recomp_after=SECS   recompress, in the background, data neither read\n"
	       "                           nor written for SECS seconds (needs recomp=)\n"
	       "    -o pack_after=SECS     pack pages written piecemeal (smaller writes than\n"
	       "                           a cluster, e.g. tar's) into clusters once they are\n"
	       "                           SECS old, in the background (default %u; 0: never)\n"
	       "    -o mem_limit=BYTES     cap on the pool's memory, like zram's mem_limit\n"
	       "                           (default 0 = none); writes past it fail with ENOSPC\n"
	       "    -o statsdir=NAME       name of the statistics directory (default .zpool)\n"
	       "    -o nostats             no statistics directory\n"
	       "    -o compact_at=PERCENT  compact in the background when compaction can free\n"
	       "                           this share of the pool (default %d), and under\n"
	       "                           memory pressure\n"
	       "    -o nocompact           no automatic compaction (.zpool/compact still works)\n"
	       "    -o threads=N           N threads serve requests\n"
	       "    -o spin=USEC           after each request the reading thread polls for\n"
	       "                           USEC more before it sleeps (default %d: every\n"
	       "                           thread sleeps in read; 50 is measured; not with uring)\n"
	       "    -o uring               serve requests through io_uring too (FUSE over\n"
	       "                           io_uring, kernel 6.14+): one thread per CPU; needs\n"
	       "                           /sys/module/fuse/parameters/enable_uring = Y\n"
	       "    -o uring_depth=N       requests each CPU's queue holds at once (default %d)\n"
	       "    -o writeback_cache     gather writes in the kernel's page cache: fewer,\n"
	       "                           larger writes, but ENOSPC shows at close or\n"
	       "                           fsync and st_blocks lags until written back\n"
	       "    -o timeout=SECONDS     how long the kernel may trust names, attributes\n"
	       "                           and absent names it was told (default 86400;\n"
	       "                           0: ask every time)\n"
	       "    -o backing=PATH        backing file (created if missing, removed at unmount\n"
	       "                           unless it existed) or block device: written-back data\n"
	       "                           goes there, compressed (.zpool/writeback)\n"
	       "    -o dedup               store identical pages and clusters once (an index of\n"
	       "                           their hashes, every match compared byte for byte)\n"
	       "    -o writeback_at=PERCENT  with backing= and mem_limit=: write pages back\n"
	       "                           when the pool passes PERCENT of mem_limit, so that\n"
	       "                           writes go on until the backing file is full too\n"
	       "    -o readahead=BYTES     the kernel's readahead window (default 4m, as\n"
	       "                           root; 0 keeps the kernel's 128k; root only)\n"
	       "    -o relatime|strictatime|noatime|nodiratime   when reads update access\n"
	       "                           times (relatime, as tmpfs)\n"
	       "    -h, --help             this help, then libfuse's\n"
	       "    -V, --version          versions of zpoolfs and libfuse\n"
	       "\n"
	       "Test hooks (environment, read once at startup): ZPOOLFS_FAULT_NTH=N makes the\n"
	       "N-th pool page allocation fail, ZPOOLFS_FAULT_EVERY=N every N-th one;\n"
	       "ZPOOLFS_BD_FAULT_WRITE / ZPOOLFS_BD_FAULT_READ=EIO|ENOSPC[,nth=N|,every=N]\n"
	       "make writes / reads of the backing file fail.\n"
	       "\n"
	       "Examples:\n"
	       "    %s /mnt/z -o size=1g,comp=zstd\n"
	       "    mount -t fuse.zpoolfs zpoolfs /mnt/z -o size=1g,backend=zbud\n"
	       "    fusermount3 -u /mnt/z\n"
	       "\n",
	       prog, zfs_zstd_min_level(), zfs_zstd_max_level(), ZFS_DEFAULT_PACK_AFTER, ZFS_COMPACT_AT_DEFAULT, ZFS_DEFAULT_SPIN_US,
	       ZFS_DEFAULT_URING_DEPTH, prog);
}
