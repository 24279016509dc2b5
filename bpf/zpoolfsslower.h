/* SPDX-License-Identifier: MIT */
/*
 * zpoolfsslower.h - what bpf/zpoolfsslower.bpf.c hands tools/zpoolfsslower.c:
 * one struct rq_event (bpf/reqtrace.h) per system call on the mount that took
 * at least targ_min_ns, through the ring buffer `events`.
 */
#ifndef ZPOOL_BPF_ZPOOLFSSLOWER_H
#define ZPOOL_BPF_ZPOOLFSSLOWER_H

#include "reqtrace.h"

#define SLOWER_RINGBUF_BYTES (256 * 1024)

#endif
