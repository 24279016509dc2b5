// SPDX-License-Identifier: MIT
/*
 * probes.c - the USDT semaphores of alloc/probes.h, and the slow path the
 * probe helpers take while a tracer is attached: the clock, and the ring of
 * this thread's live mappings whose map times unmap_return reports.
 *
 * A tracer attaching to a probe increments its semaphore (the uprobe's
 * reference counter, which the kernel finds through the note's semaphore
 * address); the probe sites test it before doing anything.
 */
#ifndef ZPOOL_NO_PROBES
#include <time.h>

#include "probes.h"

/*
 * One aligned 8-byte word holding the four 2-byte semaphores, in the order
 * probes.h's comment gives; written in assembly because C cannot give one
 * object several names at fixed offsets. Each semaphore keeps its own symbol,
 * the one sdt.h's notes name and the kernel's uprobe reference counter uses.
 */
#define SEMAPHORE(name)                                                                    \
	"\t.globl zpool_" #name "_semaphore\n"                                               \
	"\t.hidden zpool_" #name "_semaphore\n"                                              \
	"\t.type zpool_" #name "_semaphore, @object\n"                                       \
	"\t.size zpool_" #name "_semaphore, 2\n"                                             \
	"zpool_" #name "_semaphore:\n"                                                        \
	"\t.2byte 0\n"

__asm__(".pushsection .probes, \"aw\", @progbits\n"
	"\t.balign 8\n"
	"\t.globl zpool_probe_semaphores\n"
	"\t.hidden zpool_probe_semaphores\n"
	"\t.type zpool_probe_semaphores, @object\n"
	"\t.size zpool_probe_semaphores, 8\n"
	"zpool_probe_semaphores:\n"
	SEMAPHORE(map_entry)
	SEMAPHORE(map_return)
	SEMAPHORE(unmap_entry)
	SEMAPHORE(unmap_return)
	".popsection\n");

__thread unsigned long long zpool_trace_start;

/*
 * A thread rarely holds more than one or two mappings at once; should it hold
 * more than this, the oldest ones' map times are dropped, and their unmaps
 * report a map start of 0 (a tracer counts them as unmatched).
 */
#define TRACE_RING 8

static __thread struct {
	unsigned long handle;		/* 0: free */
	unsigned long long start;
	unsigned long long ns;
} ring[TRACE_RING];
static __thread unsigned int ring_next;

unsigned long long zpool_trace_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void zpool_trace_keep_map(unsigned long handle, unsigned long long start, unsigned long long ns)
{
	unsigned int i = ring_next++ % TRACE_RING;

	ring[i].handle = handle;
	ring[i].start = start;
	ring[i].ns = ns;
}

void zpool_trace_take_map(unsigned long handle, unsigned long long *start,
			  unsigned long long *ns)
{
	/* Newest first: the mapping being ended is most often the last one made. */
	for (unsigned int k = 1; k <= TRACE_RING; k++) {
		unsigned int i = (ring_next - k) % TRACE_RING;

		if (ring[i].handle == handle) {
			*start = ring[i].start;
			*ns = ring[i].ns;
			ring[i].handle = 0;
			return;
		}
	}
	*start = 0;
	*ns = 0;
}
#else
/* ISO C wants at least one declaration in a translation unit. */
extern int zpool_probes_compiled_out;
#endif
