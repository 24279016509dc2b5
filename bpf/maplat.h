/* SPDX-License-Identifier: MIT */
/*
 * maplat.h - types shared by bpf/maplat.bpf.c (kernel side) and
 * tools/zmaplat.c (user side). Fixed-width types only, no libc.
 *
 * The BPF side keeps one log2 histogram per key in a hash map:
 *
 *	key   { kind, backend, mode, size }
 *	value { slots[MAPLAT_SLOTS], sum_ns }
 *
 * kind is map latency, unmap latency or hold time (map return -> unmap start
 * of the same handle on the same thread). size and mode are folded to
 * MAPLAT_ANY unless the tool asked for them (-C, -M), so that the common case
 * keeps a handful of entries. The histograms only ever grow: user space never
 * deletes or clears them, it reads them every interval and prints the
 * difference from its previous read, so a count can land in the next
 * interval but never be lost, whatever the BPF side is doing meanwhile.
 */
#ifndef ZPOOL_BPF_MAPLAT_H
#define ZPOOL_BPF_MAPLAT_H

#define MAPLAT_SLOTS 40		/* slot 0: 0; slot i: [2^(i-1), 2^i) */
#define MAPLAT_HIST_ENTRIES 8192	/* kinds x backends x classes x modes fit */
#define MAPLAT_ANY_MODE 0xff	/* mode folded */
#define MAPLAT_ANY_SIZE 0	/* size class folded */

/* Backends as the probes number them (ZPOOL_BACKEND_* in alloc/probes.h). */
#define MAPLAT_BACKEND_ZSMALLOC 0
#define MAPLAT_BACKEND_ZBUD 1

enum maplat_kind {
	MAPLAT_MAP,		/* a map call, start to return */
	MAPLAT_UNMAP,		/* an unmap call, start to return */
	MAPLAT_HOLD,		/* map return -> unmap start, same thread and handle */
	MAPLAT_NR_KINDS,
};

/* Event counters (a global array in the BPF program's .bss). */
enum maplat_counter {
	MAPLAT_CNT_MAP,			/* map calls timed (reported by their unmap) */
	MAPLAT_CNT_UNMAP,		/* zpool:unmap_return probes seen */
	MAPLAT_CNT_MAP_UNMATCHED,	/* unmaps whose map was not timed (made before
					 * we attached, or dropped from the thread's ring) */
	MAPLAT_CNT_UNMAP_UNMATCHED,	/* unmaps whose own start was not seen */
	MAPLAT_CNT_HOLD_UNMATCHED,	/* unmaps with no hold time (either of the above) */
	MAPLAT_CNT_LOST,		/* histogram not stored: the map was full */
	MAPLAT_CNT_STRADDLE,		/* timed maps served through the copy buffer */
	MAPLAT_NR_COUNTERS,
};

struct maplat_key {
	__u8 pad;
	__u8 kind;		/* enum maplat_kind */
	__u8 backend;		/* MAPLAT_BACKEND_* */
	__u8 mode;		/* ZS_MM_RW/RO/WO or MAPLAT_ANY_MODE */
	__u32 size;		/* class size, or MAPLAT_ANY_SIZE */
};

struct maplat_hist {
	__u64 slots[MAPLAT_SLOTS];	/* the count is their sum */
	__u64 sum_ns;		/* exact, for the average */
};

#endif
