// SPDX-License-Identifier: MIT
/* cli.c - argument helpers shared by the command-line tools (cli.h). */
#include <errno.h>
#include <stdlib.h>

#include "cli.h"

int cli_parse_long(const char *str, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(str, &end, 10);
	if (errno || end == str || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}
