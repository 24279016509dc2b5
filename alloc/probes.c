// SPDX-License-Identifier: MIT
/*
 * probes.c - the USDT semaphores of alloc/probes.h. A tracer attaching to a
 * probe increments its semaphore (uprobe reference counter); the probe sites
 * test it before doing anything.
 */
#ifndef ZPOOL_NO_PROBES
#define ZPOOL_SEMAPHORE(name) \
	__attribute__((section(".probes"), used)) unsigned short zpool_##name##_semaphore

ZPOOL_SEMAPHORE(map_entry);
ZPOOL_SEMAPHORE(map_return);
ZPOOL_SEMAPHORE(unmap_entry);
ZPOOL_SEMAPHORE(unmap_return);
#else
/* ISO C wants at least one declaration in a translation unit. */
extern int zpool_probes_compiled_out;
#endif
