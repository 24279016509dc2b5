// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * maplat.bpf.c - map/unmap latency and hold time of libzpool, from its USDT
 * probe zpool:unmap_return (see alloc/probes.h for the arguments).
 *
 *   map call                              unmap call
 *   |<-- arg8 map ns -->|                 |<-- arg6 ns -->|
 *   arg9 map start      |<-- hold time -->arg7 start      zpool:unmap_return fires
 *
 * libzpool times its own calls while this probe is traced and hands every
 * map/unmap pair's times over at the unmap, so one program on one probe sees
 * all three for one kernel entry per pair, with nothing to keep between
 * probes: no per-thread start map, nothing to leak when a thread dies.
 *
 * Whatever cannot be matched (a call already running when we attached, a
 * mapping made before) is counted, never guessed: see enum maplat_counter.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "log2.bpf.h"
#include "maplat.h"

/* USDT argument positions, as alloc/probes.h defines them. */
#define ARG_BACKEND 0
#define ARG_SIZE 3
#define ARG_MODE 4
#define ARG_STRADDLE 5
#define ARG_NS 6
#define ARG_START 7
#define ARG_MAP_NS 8
#define ARG_MAP_START 9

/* Filters and options, set by zmaplat before load. */
const volatile __u32 targ_tgid = 0;	/* 0: every process */
const volatile bool targ_per_class = false;
const volatile bool targ_per_mode = false;
const volatile bool targ_hold = false;
const volatile __u64 targ_unit_ns = 1;	/* histogram unit: 1, 1000 or 1000000 ns */

/*
 * Written by user space: the CLOCK_MONOTONIC time just before attaching. A
 * start older than that is a leftover of an earlier tracing session in the
 * process, not ours to time.
 */
__u64 attach_ns = 0;
__u64 counters[MAPLAT_NR_COUNTERS] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAPLAT_HIST_ENTRIES);
	__type(key, struct maplat_key);
	__type(value, struct maplat_hist);
} hists SEC(".maps");

/* Too big for the BPF stack: the initial value of a new histogram. */
static struct maplat_hist zero_hist;

static __always_inline void count(enum maplat_counter c)
{
	__sync_fetch_and_add(&counters[c], 1);
}

/* Each argument costs a lookup of the probe's spec: fetch only what is used. */
static __always_inline __u64 usdt_arg(struct pt_regs *ctx, int n)
{
	long v;

	if (bpf_usdt_arg(ctx, n, &v))
		return 0;
	return v;
}

static __always_inline void hist_add(struct maplat_key *key, __u8 kind, __u64 ns)
{
	struct maplat_hist *h;
	__u32 slot = log2_slot(ns / targ_unit_ns, MAPLAT_SLOTS);

	key->kind = kind;
	h = bpf_map_lookup_elem(&hists, key);
	if (!h) {
		/* Two CPUs may race to create it: NOEXIST lets one win, both then find it. */
		bpf_map_update_elem(&hists, key, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, key);
		if (!h) {
			count(MAPLAT_CNT_LOST);
			return;
		}
	}
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
}

/* A start time we may use: seen, and not from before we attached. */
static __always_inline bool ours(__u64 start)
{
	return start && start >= attach_ns;
}

SEC("usdt")
int unmap_return(struct pt_regs *ctx)
{
	__u64 start, ns, map_start, map_ns;
	struct maplat_key key = {};

	if (targ_tgid && (bpf_get_current_pid_tgid() >> 32) != targ_tgid)
		return 0;
	count(MAPLAT_CNT_UNMAP);
	start = usdt_arg(ctx, ARG_START);
	ns = usdt_arg(ctx, ARG_NS);
	map_start = usdt_arg(ctx, ARG_MAP_START);
	map_ns = usdt_arg(ctx, ARG_MAP_NS);

	key.backend = usdt_arg(ctx, ARG_BACKEND);
	key.mode = targ_per_mode ? usdt_arg(ctx, ARG_MODE) : MAPLAT_ANY_MODE;
	key.size = targ_per_class ? usdt_arg(ctx, ARG_SIZE) : MAPLAT_ANY_SIZE;

	if (ours(map_start)) {
		count(MAPLAT_CNT_MAP);
		if (usdt_arg(ctx, ARG_STRADDLE))
			count(MAPLAT_CNT_STRADDLE);
		hist_add(&key, MAPLAT_MAP, map_ns);
	} else {
		count(MAPLAT_CNT_MAP_UNMATCHED);
	}
	if (ours(start)) {
		hist_add(&key, MAPLAT_UNMAP, ns);
	} else {
		count(MAPLAT_CNT_UNMAP_UNMATCHED);
	}
	if (targ_hold) {
		if (ours(map_start) && ours(start) && start >= map_start + map_ns)
			hist_add(&key, MAPLAT_HOLD, start - (map_start + map_ns));
		else
			count(MAPLAT_CNT_HOLD_UNMATCHED);
	}
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
