/* SPDX-License-Identifier: MIT */
/*
 * loop.h - the request loop: threads that read requests from /dev/fuse and
 * hand them to libfuse, with every request counted (requests.c).
 */
#ifndef ZPOOLFS_LOOP_H
#define ZPOOLFS_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct fuse_session;

/**
 * zfs_loop_setup - route the mounted session's /dev/fuse traffic through the
 * request accounting (a custom io on the same descriptor). Call after
 * fuse_session_mount(), before zfs_loop_run().
 * Return: 0 or -EINVAL/-ENOMEM (libfuse refused; nothing changed).
 */
int zfs_loop_setup(struct fuse_session *se);

/**
 * zfs_loop_init_flags - add FUSE_* capability bits of the kernel protocol
 * (<linux/fuse.h>) to the INIT reply, for those libfuse 3.14 cannot send.
 * Call from the init handler, only with bits the kernel offered.
 */
void zfs_loop_init_flags(uint32_t flags);

/**
 * zfs_loop_run - serve requests on @threads threads until the filesystem is
 * unmounted or a signal ends the session. With @clone_fd each thread reads
 * from its own clone of /dev/fuse. Without it and with @spin_us > 0, one
 * thread at a time reads and keeps polling for @spin_us after each request
 * (the spinning leader, loop.c).
 * Return: 0 after an unmount or a signal, or a negative errno (a thread
 * could not start: none is left running; /dev/fuse failed).
 */
int zfs_loop_run(struct fuse_session *se, unsigned int threads, bool clone_fd,
		 unsigned int spin_us);

#endif
