/* SPDX-License-Identifier: MIT */
/*
 * replybuf.h - a small shared stack of buffers that reads are decoded into
 * (replybuf.c).
 */
#ifndef ZPOOLFS_REPLYBUF_H
#define ZPOOLFS_REPLYBUF_H

#include <stddef.h>

/**
 * zfs_replybuf_init - keep at most @n idle buffers (0: one per CPU; main.c
 * passes the number of request threads).
 * Context: before the session starts, or any time.
 */
void zfs_replybuf_init(unsigned int n);

/**
 * zfs_replybuf_get - a buffer of at least @size bytes for one read.
 * Return: the buffer, or NULL (ENOMEM). Give it back with zfs_replybuf_put()
 * and the same @size.
 */
void *zfs_replybuf_get(size_t size);

/** zfs_replybuf_put - give back a buffer from zfs_replybuf_get(@size); NULL is ignored. */
void zfs_replybuf_put(void *buf, size_t size);

/** zfs_replybuf_kept - how many idle buffers the stack holds now. */
unsigned int zfs_replybuf_kept(void);

/** zfs_replybuf_fini - free the idle buffers (at unmount). */
void zfs_replybuf_fini(void);

#endif
