/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * log2.bpf.h - the log2 slot of a value, for the BPF programs' histograms
 * (tools/histogram.h prints them): slot 0 holds 0, slot i >= 1 holds
 * [2^(i-1), 2^i), and the last slot everything above.
 */
#ifndef ZPOOL_BPF_LOG2_H
#define ZPOOL_BPF_LOG2_H

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

/* The slot of @v among @nslots. */
static __always_inline __u32 log2_slot(__u64 v, __u32 nslots)
{
	__u32 slot = v ? log2_u64(v) + 1 : 0;

	return slot < nslots ? slot : nslots - 1;
}

#endif
