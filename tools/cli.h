/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the command-line tools (zmaplat, zpoolfsdist, zpoolfsslower)
 * share to read their arguments.
 */
#ifndef ZPOOL_TOOLS_CLI_H
#define ZPOOL_TOOLS_CLI_H

/* Parse a whole decimal number in [min, max]. Return: 0 or -EINVAL. */
int cli_parse_long(const char *str, long min, long max, long *out);

#endif
