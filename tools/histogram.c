// SPDX-License-Identifier: MIT
/*
 * histogram.c - print and summarise log2 histograms (see histogram.h).
 */
#include <string.h>

#include "histogram.h"

#define BAR_WIDTH 52	/* as bpftrace: label 16, count 8, bar 52: 79 columns */
#define PAIR_BAR_WIDTH 20	/* two histograms side by side: 16 + 2 x (8 + 22) + 3 = 79 */

void hist_slot_bounds(int slot, uint64_t *lo, uint64_t *hi)
{
	if (slot <= 0) {
		*lo = 0;
		*hi = 1;
	} else if (slot >= 64) {
		*lo = 1ULL << 63;
		*hi = UINT64_MAX;
	} else {
		*lo = 1ULL << (slot - 1);
		*hi = 1ULL << slot;
	}
}

unsigned long long hist_total(const unsigned long long *slots, int nslots)
{
	unsigned long long n = 0;

	for (int i = 0; i < nslots; i++)
		n += slots[i];
	return n;
}

double hist_percentile(const unsigned long long *slots, int nslots, double q)
{
	unsigned long long total = hist_total(slots, nslots), seen = 0;
	double rank;

	if (!total)
		return 0;
	if (q <= 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = q * (double)total;
	for (int i = 0; i < nslots; i++) {
		uint64_t lo, hi;

		if (!slots[i])
			continue;
		if ((double)(seen + slots[i]) >= rank) {
			double within = (rank - (double)seen) / (double)slots[i];

			hist_slot_bounds(i, &lo, &hi);
			return (double)lo + within * (double)(hi - lo);
		}
		seen += slots[i];
	}
	return 0;	/* not reached: rank <= total */
}

/* 1536 -> "1536", 2048 -> "2K", 1048576 -> "1M", as bpftrace labels slots. */
static void fmt_bound(char *buf, size_t len, uint64_t v)
{
	static const char suffix[] = " KMGTPE";
	int i = 0;

	while (v && v % 1024 == 0 && i < 6) {
		v /= 1024;
		i++;
	}
	if (i)
		snprintf(buf, len, "%llu%c", (unsigned long long)v, suffix[i]);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

static void fmt_label(char *buf, size_t len, int slot)
{
	char a[24], b[24];
	uint64_t lo, hi;

	hist_slot_bounds(slot, &lo, &hi);
	if (hi - lo == 1) {
		fmt_bound(a, sizeof(a), lo);
		snprintf(buf, len, "[%s]", a);
		return;
	}
	fmt_bound(a, sizeof(a), lo);
	fmt_bound(b, sizeof(b), hi);
	snprintf(buf, len, "[%s, %s)", a, b);
}

/* The non-empty range [*first, *last] of @slots and its largest count; 0 if empty. */
static unsigned long long hist_range(const unsigned long long *slots, int nslots, int *first,
				     int *last)
{
	unsigned long long max = 0;

	for (int i = 0; i < nslots; i++) {
		if (!slots[i])
			continue;
		if (*first < 0 || i < *first)
			*first = i;
		if (i > *last)
			*last = i;
		if (slots[i] > max)
			max = slots[i];
	}
	return max;
}

static void fmt_bar(char *bar, int width, unsigned long long n, unsigned long long max)
{
	int w = max ? (int)(n * width / max) : 0;

	memset(bar, '@', w);
	bar[w] = '\0';
}

void hist_print_log2_pair(FILE *out, const char *unit, const char *title_a,
			  const unsigned long long *a, const char *title_b,
			  const unsigned long long *b, int nslots)
{
	int first = -1, last = -1;
	unsigned long long max_a, max_b;

	max_a = hist_range(a, nslots, &first, &last);
	max_b = hist_range(b, nslots, &first, &last);
	if (first < 0)
		return;
	fprintf(out, "%16s %7s  %-*s %7s  %s\n", unit, title_a, PAIR_BAR_WIDTH, "distribution",
		title_b, "distribution");
	for (int i = first; i <= last; i++) {
		char label[64], bar_a[PAIR_BAR_WIDTH + 1], bar_b[PAIR_BAR_WIDTH + 1];

		fmt_label(label, sizeof(label), i);
		fmt_bar(bar_a, PAIR_BAR_WIDTH, a[i], max_a);
		fmt_bar(bar_b, PAIR_BAR_WIDTH, b[i], max_b);
		fprintf(out, "%16s %7llu |%-*s| %7llu |%-*s|\n", label, a[i], PAIR_BAR_WIDTH, bar_a,
			b[i], PAIR_BAR_WIDTH, bar_b);
	}
}

void hist_print_log2(FILE *out, const unsigned long long *slots, int nslots)
{
	int first = -1, last = -1;
	unsigned long long max = hist_range(slots, nslots, &first, &last);

	for (int i = first; first >= 0 && i <= last; i++) {
		char label[64], bar[BAR_WIDTH + 1];

		fmt_label(label, sizeof(label), i);
		fmt_bar(bar, BAR_WIDTH, slots[i], max);
		fprintf(out, "%-16s %7llu |%-*s|\n", label, (unsigned long long)slots[i], BAR_WIDTH,
			bar);
	}
}

void hist_print_json_buckets(FILE *out, const unsigned long long *slots, int nslots)
{
	const char *sep = "";

	fputc('[', out);
	for (int i = 0; i < nslots; i++) {
		uint64_t lo, hi;

		if (!slots[i])
			continue;
		hist_slot_bounds(i, &lo, &hi);
		fprintf(out, "%s{\"low\":%llu,\"high\":%llu,\"count\":%llu}", sep,
			(unsigned long long)lo, (unsigned long long)hi,
			(unsigned long long)slots[i]);
		sep = ",";
	}
	fputc(']', out);
}
