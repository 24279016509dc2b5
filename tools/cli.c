// SPDX-License-Identifier: MIT
/* cli.c - argument and interval helpers shared by the command-line tools (cli.h). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

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

uint64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

bool cli_wait_until(int pidfd, uint64_t end_ns, volatile sig_atomic_t *stop)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	for (;;) {
		int left = -1, r;

		if (end_ns) {
			uint64_t now = cli_now_ns();

			if (now >= end_ns)
				return false;
			left = (int)((end_ns - now + 999999) / 1000000);
		}
		r = poll(&pfd, pidfd >= 0 ? 1 : 0, left);
		if (*stop)
			return false;
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}
