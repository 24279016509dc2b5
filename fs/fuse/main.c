// SPDX-License-Identifier: MIT
/*
 * main.c - zpoolfs: start-up, the FUSE session and its loop.
 *
 * Design: everything that can fail because of what the user typed is
 * checked before anything is mounted (options, compressor level, backend
 * name, the pool), so a bad command line prints one clear line and exits
 * non-zero with nothing mounted. Then the session is created (libfuse
 * rejects unknown -o options here, still before mounting), mounted, and the
 * process detaches unless -f/-d was given; the mount is complete when the
 * command returns. Requests are served by our own loop (loop.c: threads=
 * threads, or one with -s), which counts every request (requests.c).
 *
 * mount(8) and /etc/fstab run "zpoolfs SOURCE MOUNTPOINT -o OPTS" through
 * mount.fuse3: a first positional argument is taken as SOURCE, shown as the
 * filesystem's name and otherwise ignored.
 *
 * Mount options added for tmpfs semantics (the user's own come after and
 * win): default_permissions (the kernel checks permissions, ACLs and sticky
 * directories), and when root mounts, allow_other,dev,suid as tmpfs has.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autocompact.h"
#include "backing.h"
#include "pack.h"
#include "recompress.h"
#include "dedup.h"
#include "writeback.h"
#include "loop.h"
#include "uring.h"
#include "ops.h"
#include "replybuf.h"
#include "requests.h"
#include "unpriv.h"
#include "workers.h"
#include "zpage.h"
#include "zpool.h"

/* Drop SOURCE when two positional arguments are given. Return: 0 or -EINVAL. */
static int drop_source(int *argc, char **argv, const char **source)
{
	int pos[3], npos = 0;

	*source = NULL;
	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "-o")) {
			i++;	/* its value */
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			continue;
		if (npos == 3)
			break;
		pos[npos++] = i;
	}
	if (npos > 2) {
		fprintf(stderr, "zpoolfs: too many arguments: '%s' (usage: zpoolfs [SOURCE] "
			"MOUNTPOINT [-o OPTIONS])\n", argv[pos[2]]);
		return -EINVAL;
	}
	if (npos == 2) {
		*source = argv[pos[0]];
		memmove(&argv[pos[0]], &argv[pos[0] + 1], (size_t)(*argc - pos[0]) * sizeof(*argv));
		(*argc)--;
	}
	return 0;
}

static int read_env_number(const char *name, unsigned long *out)
{
	const char *s = getenv(name);
	char *end;

	*out = 0;
	if (!s || !*s)
		return 0;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *s == '-') {
		fprintf(stderr, "zpoolfs: %s=%s is not a number\n", name, s);
		return -EINVAL;
	}
	return 0;
}

static int add_mount_options(struct fuse_args *args, const char *source)
{
	char opts[512];
	const char *fsname = "zpoolfs";

	if (source && *source && !strpbrk(source, ",\\") && strlen(source) < 200)
		fsname = source;
	snprintf(opts, sizeof(opts), "-odefault_permissions,fsname=%s,subtype=zpoolfs%s", fsname,
		 geteuid() == 0 ? ",allow_other,dev,suid" : "");
	return fuse_opt_insert_arg(args, 1, opts) ? -ENOMEM : 0;
}

/* The filesystem, its pool and its root, before anything is mounted. */
static struct zfs_fs *fs_create(const struct zfs_options *opt)
{
	struct zfs_fs *fs = calloc(1, sizeof(*fs));
	int err;

	if (!fs) {
		fprintf(stderr, "zpoolfs: out of memory\n");
		return NULL;
	}
	fs->opt = *opt;
	fs->owner = opt->uid;
	fs->owner_gid = opt->gid;
	fs->timeout = opt->timeout;
	fs->readahead_kib = opt->readahead_kib;
	atomic_flag_clear(&fs->readahead_done);
	atomic_init(&fs->next_ino, FUSE_ROOT_ID);
	pthread_mutex_init(&fs->rename_lock, NULL);
	zfs_now(&fs->mount_time);
	if (zfs_compressor_init(&fs->comp, opt->comp, opt->comp_level, opt->comp_level_set)) {
		fprintf(stderr, "zpoolfs: unknown compressor %s\n", opt->comp);
		goto out_free;
	}
	fs->pool = zpool_create_pool(opt->backend, "zpoolfs", NULL);
	if (!fs->pool) {
		fprintf(stderr, "zpoolfs: cannot create a %s pool: %s\n", opt->backend,
			zpool_last_error());
		goto out_free;
	}
	err = zfs_data_init(fs);
	if (!err && opt->dedup)
		err = zfs_dedup_init(fs);
	if (!err)
		err = zfs_itable_init(fs);
	if (err) {
		fprintf(stderr, "zpoolfs: cannot set up the %s pool: %s\n", opt->backend,
			strerror(-err));
		goto out_pool;
	}
	fs->root = zfs_inode_new(fs, S_IFDIR | opt->root_mode, opt->uid, opt->gid, 0, ZFS_NORMAL);
	if (!fs->root || zfs_reserve_inode(fs) || zfs_statsdir_create(fs)) {
		fprintf(stderr, "zpoolfs: out of memory or inodes while creating the root\n");
		goto out_itable;
	}
	fs->root->nlookup = 1;	/* the kernel never forgets the root */
	return fs;

out_itable:
	zfs_itable_destroy(fs);
out_pool:
	zfs_dedup_destroy(fs);
	zpool_destroy_pool(fs->pool);
out_free:
	pthread_mutex_destroy(&fs->rename_lock);
	free(fs);
	return NULL;
}

static void fs_destroy(struct zfs_fs *fs)
{
	zfs_stats_release_all();
	zfs_itable_destroy(fs);
	zfs_backing_close(fs->backing);	/* after the entries that point into it */
	zfs_dedup_destroy(fs);
	zpool_destroy_pool(fs->pool);
	pthread_mutex_destroy(&fs->rename_lock);
	free(fs);
}

/*
 * The backing file, checked before anything is mounted: a bad path prints one
 * line naming the option and nothing is mounted. Test hooks for its errors.
 */
static int open_backing(struct zfs_fs *fs, const char *mountpoint)
{
	const char *wf = getenv("ZPOOLFS_BD_FAULT_WRITE"), *rf = getenv("ZPOOLFS_BD_FAULT_READ");
	char msg[600];

	if (!fs->opt.backing)
		return 0;
	fs->backing = zfs_backing_open(fs->opt.backing, mountpoint, 0, &fs->counters, msg,
				       sizeof(msg));
	if (!fs->backing) {
		fprintf(stderr, "zpoolfs: %s\n", msg);
		return -EINVAL;
	}
	if ((wf && *wf && zfs_backing_fault_parse(fs->backing, true, wf)) ||
	    (rf && *rf && zfs_backing_fault_parse(fs->backing, false, rf)))
		return -EINVAL;
	return 0;
}

/*
 * Request threads: threads=, or else two per CPU, at least four, at
 * most libfuse's max_threads (10 unless -o max_threads= says otherwise).
 * Every thread that receives a 1 MiB write keeps libfuse's 1 MiB request
 * buffer resident for as long as it lives, so more threads than the CPUs can
 * keep busy only add RSS.
 */
static unsigned int request_threads(const struct fuse_cmdline_opts *co,
				    const struct zfs_options *opt)
{
	long cpus;
	unsigned int n;

	if (co->singlethread)
		return 1;
	if (opt->threads)
		return opt->threads;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	n = cpus > 2 ? 2 * (unsigned int)cpus : 4;
	return n < co->max_threads ? n : co->max_threads;
}

/* Helpers sharing the pages of large reads and writes: one per core beyond the first (at most 3) */
static void start_helpers(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int n = cpus > 1 ? (unsigned int)(cpus - 1) : 0;

	if (zfs_workers_start(n > 3 ? 3 : n))
		fprintf(stderr, "zpoolfs: warning: could not start every compression helper\n");
}

static void print_version(void)
{
	printf("zpoolfs %s (libzpool %s, lz4, zstd)\n", ZPOOL_VERSION, ZPOOL_VERSION);
	printf("libfuse %s\n", fuse_pkgversion());
	fflush(stdout);
	fuse_lowlevel_version();
}

int main(int argc, char *argv[])
{
	struct zfs_opt_strings os = { 0 };
	struct fuse_cmdline_opts co = { 0 };
	unsigned long fault_nth, fault_every;
	struct fuse_session *se = NULL;
	struct zfs_options opt;
	struct zfs_fs *fs = NULL;
	const char *source;
	struct fuse_args args;
	unsigned int threads;
	int ret = 1;

	/*
	 * Allocations of 256 KiB and more (libfuse's 1 MiB request buffers) are
	 * mmap'd and unmapped when freed, always: glibc's default raises that
	 * threshold after the first such free, and buffers freed later would
	 * stay resident in the malloc arenas.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	if (drop_source(&argc, argv, &source))
		return 1;
	args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	if (zfs_opts_parse(&args, &os))
		goto out;
	if (os.show_help) {
		zfs_opts_help(argv[0]);
		printf("libfuse options:\n");
		fflush(stdout);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out;
	}
	if (os.show_version) {
		print_version();
		ret = 0;
		goto out;
	}
	if (fuse_parse_cmdline(&args, &co))
		goto out;
	if (!co.mountpoint) {
		fprintf(stderr, "zpoolfs: no mount point given (see zpoolfs --help)\n");
		goto out;
	}
	if (zfs_opts_check(&os, &opt) || zfs_unpriv_check(&opt, &os))
		goto out;
	if (read_env_number("ZPOOLFS_FAULT_NTH", &fault_nth) ||
	    read_env_number("ZPOOLFS_FAULT_EVERY", &fault_every) || zfs_req_delay_parse())
		goto out;
	fs = fs_create(&opt);
	if (!fs || open_backing(fs, co.mountpoint))
		goto out;
	if (add_mount_options(&args, source))
		goto out;
	fs->mountpoint = co.mountpoint;
	se = fuse_session_new(&args, &zfs_ops, sizeof(zfs_ops), fs);
	if (!se)
		goto out;	/* libfuse said why (an unknown option, most likely) */
	fs->se = se;
	if (fuse_set_signal_handlers(se))
		goto out_session;
	if (fuse_session_mount(se, co.mountpoint))
		goto out_signals;
	if (zfs_loop_setup(se)) {
		fprintf(stderr, "zpoolfs: libfuse refused the request hooks\n");
		goto out_unmount;
	}
	if (fuse_daemonize(co.foreground))
		goto out_unmount;
	/* Test hooks: only pool pages allocated after the mount are affected. */
	if (fault_nth)
		zpage_fail_nth(fault_nth);
	if (fault_every)
		zpage_fail_every(fault_every);
	start_helpers();
	if (zfs_autocompact_start(fs))
		fprintf(stderr, "zpoolfs: warning: no automatic compaction (no thread)\n");
	/* packing first: recomp_after='s thread reads fs->pack_bg (zfs_pack_min_age()) */
	if (zfs_pack_start(fs))
		fprintf(stderr, "zpoolfs: warning: no packing (no thread)\n");
	zfs_recomp_start(fs);
	if (zfs_wbd_start(fs))
		fprintf(stderr, "zpoolfs: warning: no automatic writeback (no thread)\n");
	threads = request_threads(&co, &opt);
	/* -o uring: its threads wait for INIT, which the loop reads (uring.c) */
	if (opt.uring)
		zfs_uring_setup(se, opt.uring_depth);
	/* As many reply buffers as threads can read at once: none is made twice. */
	zfs_replybuf_init(threads + zfs_uring_threads());
	ret = zfs_loop_run(se, threads, co.clone_fd, opt.spin_us) ? 1 : 0;
	zfs_uring_stop();
	zfs_wbd_stop(fs);
	zfs_autocompact_stop(fs);
	zfs_recomp_stop(fs);	/* before packing's, whose thread it reads */
	zfs_pack_stop(fs);
	zfs_workers_stop();
	zfs_replybuf_fini();
	zpage_fail_reset();
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out:
	if (fs)
		fs_destroy(fs);
	free(co.mountpoint);
	zfs_opts_free(&os);
	fuse_opt_free_args(&args);
	return ret;
}
