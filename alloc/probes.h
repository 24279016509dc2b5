/* SPDX-License-Identifier: MIT */
/*
 * probes.h - USDT probes of libzpool (provider "zpool"), for zmaplat and bpftrace.
 *
 * Four probes bracket every map and unmap, in every backend:
 *
 *	zpool:map_entry    zpool:map_return    zpool:unmap_entry    zpool:unmap_return
 *
 * all with the same first six arguments:
 *	arg0 backend   (ZPOOL_BACKEND_ZSMALLOC = 0, ZPOOL_BACKEND_ZBUD = 1)
 *	arg1 pool id   (process-unique, zs_pool_id() / zbud_pool_id())
 *	arg2 handle
 *	arg3 size      (class size for zsmalloc, chunk-rounded size for zbud)
 *	arg4 mode      (ZS_MM_RW = 0, RO = 1, WO = 2; zbud reports RW)
 *	arg5 straddle  (1 if the object spans two pages and went through the copy buffer)
 * the return probes two more, about the call that returns:
 *	arg6 ns        how long it took, in ns (0: its start was not seen)
 *	arg7 start     when it started, CLOCK_MONOTONIC ns (the clock of
 *	               bpf_ktime_get_ns() and bpftrace's nsecs); 0 when not seen
 * and unmap_return two more, about the map call that made this mapping:
 *	arg8 map ns    how long that map took (0: not seen)
 *	arg9 map start when it started (0: not seen)
 * so that hold time = unmap start - (map start + map ns).
 *
 * Why the probes carry durations: a uprobe hit costs a trip into the kernel,
 * a microsecond or so, while a map takes tens of nanoseconds. Timing a call
 * from its entry probe to its return probe measures mostly those trips. So
 * while a return probe is traced, the entry helper reads the clock into a
 * thread-local slot and the return helper reports the difference; and while
 * unmap_return is traced, each map's times are kept in a small per-thread
 * ring until its unmap. A tracer of unmap_return alone (zmaplat) sees the map
 * latency, unmap latency and hold time of every pair for one kernel entry per
 * pair, and the latencies it sees are the calls' own.
 *
 * Each probe has a semaphore that the kernel raises while a tracer is
 * attached. A backend's map and unmap test ZPOOL_TRACED() once per call and
 * go to a cold copy of their body that holds the probe sites while anything
 * is traced; the copy that runs untraced holds no probe sites at all. So an
 * untraced process pays one compare and one predicted-not-taken branch per
 * call, and never evaluates the arguments nor reads the clock. Built with
 * ZPOOL_NO_PROBES (make PROBES=0) every helper below is an empty inline twin
 * and ZPOOL_TRACED() is 0.
 *
 * bpftrace 0.17 reads USDT arguments up to arg5 only, so the scripts in
 * tools/bpftrace/ time calls from entry probe to return probe instead of
 * reading arg6-arg9.
 *
 * ZPOOL_PROBE_ON(name) tells a call site whether trace_<name>() must run, so
 * that it can skip computing costly arguments; an entry helper must also run
 * while the return probes are traced, because it starts the clock.
 */
#ifndef ZPOOL_ALLOC_PROBES_H
#define ZPOOL_ALLOC_PROBES_H

#define ZPOOL_BACKEND_ZSMALLOC 0
#define ZPOOL_BACKEND_ZBUD 1

#ifndef ZPOOL_NO_PROBES

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

/*
 * A five-byte nop at each probe site instead of sdt.h's one-byte nop: since
 * Linux 6.18 the kernel rewrites a uprobe on a nop5 into a call to its uprobe
 * trampoline, a system call instead of an int3 trap, which makes each hit
 * cheaper (older kernels single-step it as they would any instruction).
 * sdt.h reads _SDT_NOP when a probe expands, so redefining it here is enough.
 */
#if defined(__x86_64__)
#undef _SDT_NOP
#define _SDT_NOP .nops 5
#endif

/*
 * The four semaphores live in the .probes section, defined in probes.c as one
 * aligned 8-byte word (map_entry, map_return, unmap_entry, unmap_return, two
 * bytes each), so that the untraced test of a call is one compare of that
 * word with zero. Hidden: reached without the GOT from libzpool.so.
 */
#define ZPOOL_HIDDEN __attribute__((visibility("hidden")))
extern unsigned short zpool_map_entry_semaphore ZPOOL_HIDDEN;
extern unsigned short zpool_map_return_semaphore ZPOOL_HIDDEN;
extern unsigned short zpool_unmap_entry_semaphore ZPOOL_HIDDEN;
extern unsigned short zpool_unmap_return_semaphore ZPOOL_HIDDEN;
extern unsigned long long zpool_probe_semaphores ZPOOL_HIDDEN;

/*
 * Start of the map or unmap call running on this thread (they never nest),
 * set only while a return probe is traced, 0 when not seen.
 */
extern __thread unsigned long long zpool_trace_start;

/* The out-of-line slow path, only ever called while traced (probes.c). */
unsigned long long zpool_trace_clock(void);
void zpool_trace_keep_map(unsigned long handle, unsigned long long start, unsigned long long ns);
void zpool_trace_take_map(unsigned long handle, unsigned long long *start,
			  unsigned long long *ns);

#define ZPOOL_SEMA(name) zpool_##name##_semaphore
#define ZPOOL_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* Any tracer at all? The one test an untraced call pays at each site. */
#define ZPOOL_TRACED() ZPOOL_UNLIKELY(zpool_probe_semaphores != 0)
#define ZPOOL_PROBE_ON(name) (ZPOOL_TRACED() && zpool_probe_on_##name())

static inline int zpool_probe_on_map_entry(void)
{
	return (ZPOOL_SEMA(map_entry) | ZPOOL_SEMA(map_return) | ZPOOL_SEMA(unmap_return)) != 0;
}

static inline int zpool_probe_on_map_return(void)
{
	return (ZPOOL_SEMA(map_return) | ZPOOL_SEMA(unmap_return)) != 0;
}

static inline int zpool_probe_on_unmap_entry(void)
{
	return (ZPOOL_SEMA(unmap_entry) | ZPOOL_SEMA(unmap_return)) != 0;
}

static inline int zpool_probe_on_unmap_return(void)
{
	return ZPOOL_SEMA(unmap_return) != 0;
}

/* The time since zpool_trace_start, and clear it for the next call. */
static inline unsigned long long zpool_trace_elapsed(unsigned long long *start)
{
	*start = zpool_trace_start;
	zpool_trace_start = 0;
	return *start ? zpool_trace_clock() - *start : 0;
}

static inline void trace_map_entry(int backend, unsigned int pool_id, unsigned long handle,
				   unsigned long size, int mode, int straddle)
{
	if (!ZPOOL_TRACED())
		return;
	if (ZPOOL_SEMA(map_entry))
		STAP_PROBE6(zpool, map_entry, backend, pool_id, handle, size, mode, straddle);
	/* After the entry probe, so that its kernel entry is not counted. */
	if (zpool_probe_on_map_return())
		zpool_trace_start = zpool_trace_clock();
}

static inline void trace_map_return(int backend, unsigned int pool_id, unsigned long handle,
				    unsigned long size, int mode, int straddle)
{
	unsigned long long start, ns;

	if (!ZPOOL_PROBE_ON(map_return))
		return;
	ns = zpool_trace_elapsed(&start);
	if (ZPOOL_SEMA(map_return))
		STAP_PROBE8(zpool, map_return, backend, pool_id, handle, size, mode, straddle,
			    ns, start);
	if (ZPOOL_SEMA(unmap_return) && start)
		zpool_trace_keep_map(handle, start, ns);
}

static inline void trace_unmap_entry(int backend, unsigned int pool_id, unsigned long handle,
				     unsigned long size, int mode, int straddle)
{
	if (!ZPOOL_TRACED())
		return;
	if (ZPOOL_SEMA(unmap_entry))
		STAP_PROBE6(zpool, unmap_entry, backend, pool_id, handle, size, mode, straddle);
	if (zpool_probe_on_unmap_return())
		zpool_trace_start = zpool_trace_clock();
}

static inline void trace_unmap_return(int backend, unsigned int pool_id, unsigned long handle,
				      unsigned long size, int mode, int straddle)
{
	unsigned long long start, ns, map_start, map_ns;

	if (!ZPOOL_PROBE_ON(unmap_return))
		return;
	ns = zpool_trace_elapsed(&start);
	zpool_trace_take_map(handle, &map_start, &map_ns);
	STAP_PROBE10(zpool, unmap_return, backend, pool_id, handle, size, mode, straddle, ns,
		     start, map_ns, map_start);
}

#else /* ZPOOL_NO_PROBES */

#define ZPOOL_TRACED() 0
#define ZPOOL_PROBE_ON(name) 0
#define ZPOOL_DEFINE_PROBE_STUB(name)                                                      \
	static inline void trace_##name(int backend, unsigned int pool_id,                 \
					unsigned long handle, unsigned long size, int mode, \
					int straddle)                                      \
	{                                                                                  \
		(void)backend, (void)pool_id, (void)handle, (void)size, (void)mode,        \
			(void)straddle;                                                    \
	}

/* trace_map_entry(), trace_map_return(), trace_unmap_entry(), trace_unmap_return() */
ZPOOL_DEFINE_PROBE_STUB(map_entry)
ZPOOL_DEFINE_PROBE_STUB(map_return)
ZPOOL_DEFINE_PROBE_STUB(unmap_entry)
ZPOOL_DEFINE_PROBE_STUB(unmap_return)

#endif /* ZPOOL_NO_PROBES */

#endif
