/* SPDX-License-Identifier: MIT */
/*
 * probes.h - USDT probes of libzpool (provider "zpool"), for zmaplat and bpftrace.
 *
 * Four probes bracket every map and unmap, in every backend:
 *
 *	zpool:map_entry    zpool:map_return    zpool:unmap_entry    zpool:unmap_return
 *
 * each with the same six arguments:
 *	arg0 backend   (ZPOOL_BACKEND_ZSMALLOC = 0, ZPOOL_BACKEND_ZBUD = 1)
 *	arg1 pool id   (process-unique, zs_pool_id() / zbud_pool_id())
 *	arg2 handle
 *	arg3 size      (class size for zsmalloc, chunk-rounded size for zbud)
 *	arg4 mode      (ZS_MM_RW = 0, RO = 1, WO = 2; zbud reports RW)
 *	arg5 straddle  (1 if the object spans two pages and went through the copy buffer)
 *
 * Each probe has a semaphore that the kernel raises while a tracer is
 * attached, so an untraced process pays one predicted-not-taken branch per
 * probe and never evaluates the arguments. Built with ZPOOL_NO_PROBES (make
 * PROBES=0) every helper below is an empty inline twin.
 */
#ifndef ZPOOL_ALLOC_PROBES_H
#define ZPOOL_ALLOC_PROBES_H

#define ZPOOL_BACKEND_ZSMALLOC 0
#define ZPOOL_BACKEND_ZBUD 1

#ifndef ZPOOL_NO_PROBES

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

/* Semaphores live in the .probes section, defined once in probes.c. */
extern unsigned short zpool_map_entry_semaphore;
extern unsigned short zpool_map_return_semaphore;
extern unsigned short zpool_unmap_entry_semaphore;
extern unsigned short zpool_unmap_return_semaphore;

#define ZPOOL_PROBE_ON(name) __builtin_expect(zpool_##name##_semaphore != 0, 0)

#define ZPOOL_DEFINE_PROBE(name)                                                           \
	static inline void trace_##name(int backend, unsigned int pool_id,                 \
					unsigned long handle, unsigned long size, int mode, \
					int straddle)                                      \
	{                                                                                  \
		if (ZPOOL_PROBE_ON(name))                                                  \
			STAP_PROBE6(zpool, name, backend, pool_id, handle, size, mode,     \
				    straddle);                                             \
	}

#else /* ZPOOL_NO_PROBES */

#define ZPOOL_PROBE_ON(name) 0
#define ZPOOL_DEFINE_PROBE(name)                                                           \
	static inline void trace_##name(int backend, unsigned int pool_id,                 \
					unsigned long handle, unsigned long size, int mode, \
					int straddle)                                      \
	{                                                                                  \
		(void)backend, (void)pool_id, (void)handle, (void)size, (void)mode,        \
			(void)straddle;                                                    \
	}

#endif /* ZPOOL_NO_PROBES */

/* trace_map_entry(), trace_map_return(), trace_unmap_entry(), trace_unmap_return() */
ZPOOL_DEFINE_PROBE(map_entry)
ZPOOL_DEFINE_PROBE(map_return)
ZPOOL_DEFINE_PROBE(unmap_entry)
ZPOOL_DEFINE_PROBE(unmap_return)

#endif
