/* SPDX-License-Identifier: MIT */
/*
 * zpool_internal.h - private to alloc/: the drivers built into libzpool.
 *
 * Each built-in driver lives in its own file (zpool_<name>.c) and defines
 * `struct zpool_driver zpool_<name>_driver`. zpool.c registers every driver
 * named in ZPOOL_BUILTIN_DRIVERS when the library loads; naming them there
 * (rather than letting each file register itself from a constructor) keeps
 * their object files in a static link, where nothing else refers to them.
 * Adding a driver: one new file, one more X(name) below.
 */
#ifndef ZPOOL_ALLOC_ZPOOL_INTERNAL_H
#define ZPOOL_ALLOC_ZPOOL_INTERNAL_H

#include "zpool.h"

#define ZPOOL_BUILTIN_DRIVERS(X) \
	X(zsmalloc)              \
	X(zbud)

#define ZPOOL_DECLARE_DRIVER(name) extern struct zpool_driver zpool_##name##_driver;
ZPOOL_BUILTIN_DRIVERS(ZPOOL_DECLARE_DRIVER)
#undef ZPOOL_DECLARE_DRIVER

#endif
