// SPDX-License-Identifier: MIT
/*
 * rtt.c - the cost of one FUSE round trip, seen from the caller.
 *
 *   rtt getattr DIR N [P]   P processes, each fstat()s its own file in DIR N times
 *                           (mount with timeout=0: every fstat is one GETATTR)
 *   rtt create DIR N [P]    P processes, each creates, closes and unlinks a file N times
 *
 * Prints one line: "<test> <P> <ns per call> <calls per second in all>", where a call is
 * one fstat or one create+close+unlink. Processes, not threads, so that nothing in
 * this program is shared between the callers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_getattr(const char *dir, long n, int id)
{
	char path[4096];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/rtt-getattr-%d", dir, id);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		if (fstat(fd, &st)) {
			perror("fstat");
			return 1;
		}
	}
	close(fd);
	unlink(path);
	return 0;
}

static int run_create(const char *dir, long n, int id)
{
	char path[4096];
	int fd;

	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/rtt-create-%d-%ld", dir, id, i);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0 || close(fd) || unlink(path)) {
			perror(path);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	long n, p = 1;
	double t0, t1;
	int status, bad = 0;
	char *end;

	if (argc < 4 || argc > 5 || (strcmp(argv[1], "getattr") && strcmp(argv[1], "create"))) {
		fprintf(stderr, "usage: rtt getattr|create DIR N [PROCESSES]\n");
		return 2;
	}
	n = strtol(argv[3], &end, 10);
	if (*end || n <= 0) {
		fprintf(stderr, "rtt: bad N '%s'\n", argv[3]);
		return 2;
	}
	if (argc == 5) {
		p = strtol(argv[4], &end, 10);
		if (*end || p <= 0 || p > 64) {
			fprintf(stderr, "rtt: bad process count '%s' (1..64)\n", argv[4]);
			return 2;
		}
	}
	t0 = now();
	for (int i = 0; i < p; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			_exit(strcmp(argv[1], "getattr") ? run_create(argv[2], n, i)
							  : run_getattr(argv[2], n, i));
	}
	for (int i = 0; i < p; i++) {
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			bad = 1;
	}
	t1 = now();
	if (bad)
		return 1;
	printf("%s %ld %.0f %.0f\n", argv[1], p, (t1 - t0) * 1e9 / (double)n,
	       (double)(n * p) / (t1 - t0));
	return 0;
}
