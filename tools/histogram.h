/* SPDX-License-Identifier: MIT */
/*
 * histogram.h - log2 histograms as bpftrace prints them, for any tool.
 *
 * Slot convention (the one bpf/maplat.bpf.c fills):
 *	slot 0		the value 0
 *	slot i >= 1	values in [2^(i-1), 2^i)
 *
 * Printed as
 *	[256, 512)          1234 |@@@@@@@@@@@@@@@@@@@@                              |
 * from the first to the last non-empty slot, 79 columns wide. Slots are
 * unsigned long long, the type of the BPF side's __u64.
 */
#ifndef ZPOOL_TOOLS_HISTOGRAM_H
#define ZPOOL_TOOLS_HISTOGRAM_H

#include <stdint.h>
#include <stdio.h>

/* Bounds of @slot: values v with *lo <= v < *hi. */
void hist_slot_bounds(int slot, uint64_t *lo, uint64_t *hi);

/* Total count over the @nslots slots. */
unsigned long long hist_total(const unsigned long long *slots, int nslots);

/**
 * hist_percentile - estimate the @q quantile (0 < q <= 1) from the buckets.
 * The rank is found in its slot and placed by linear interpolation between
 * the slot's bounds, so the error is at most the slot's width.
 * Return: the estimate, or 0 for an empty histogram.
 */
double hist_percentile(const unsigned long long *slots, int nslots, double q);

/**
 * hist_print_log2 - print the non-empty range of a histogram with bars.
 * @out: stream
 * @slots: counts, @nslots of them
 * Prints nothing for an empty histogram.
 */
void hist_print_log2(FILE *out, const unsigned long long *slots, int nslots);

/**
 * hist_print_log2_pair - two histograms side by side, over the slots where
 * either is non-empty, each with its own bars: a header line naming @unit
 * and the two titles (at most 7 characters), then one line per slot.
 * Prints nothing when both are empty.
 */
void hist_print_log2_pair(FILE *out, const char *unit, const char *title_a,
			  const unsigned long long *a, const char *title_b,
			  const unsigned long long *b, int nslots);

/*
 * hist_print_json_buckets - the non-empty slots as a JSON array of
 * {"low":L,"high":H,"count":N} objects (no trailing newline).
 */
void hist_print_json_buckets(FILE *out, const unsigned long long *slots, int nslots);

#endif
