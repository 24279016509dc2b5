/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the command-line tools (zmaplat, zpoolfsdist, zpoolfsslower)
 * share to read their arguments and to keep their intervals.
 */
#ifndef ZPOOL_TOOLS_CLI_H
#define ZPOOL_TOOLS_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Parse a whole decimal number in [min, max]. Return: 0 or -EINVAL. */
int cli_parse_long(const char *str, long min, long max, long *out);

/* CLOCK_MONOTONIC now, in nanoseconds. */
uint64_t cli_now_ns(void);

/**
 * cli_wait_until - wait until @end_ns (CLOCK_MONOTONIC; 0: no end), until
 * *@stop is set (by a signal handler), or until the process of @pidfd (-1:
 * none) ends. Interval loops move @end_ns on by whole intervals, so the time
 * spent printing does not make later intervals drift.
 * Return: true when the traced process is gone.
 */
bool cli_wait_until(int pidfd, uint64_t end_ns, volatile sig_atomic_t *stop);

#endif
