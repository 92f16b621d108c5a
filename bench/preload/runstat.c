/* SPDX-License-Identifier: MIT */
/*
 * runstat.c - run a command and write what GNU time's -f '%e %M %U %S'
 * writes (wall seconds, the peak resident KiB of its largest process, user
 * and system seconds), at microsecond resolution instead of hundredths.
 * The real programs of bench/preload/programs.sh include short ones (git's
 * workload takes about 0.1 s), where a tick of 10 ms is a ratio of 1.1.
 * Usage: runstat OUTFILE COMMAND [ARGS...]; the exit status is the
 * command's (or 127 when it cannot start). Without
 * RUNSTAT_PRELOAD, LD_PRELOAD passes to the command as usual; with it,
 * runstat itself runs without the library under test, and the command gets
 * LD_PRELOAD=$RUNSTAT_PRELOAD (empty: none).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: runstat OUTFILE COMMAND [ARGS...]\n");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0) {
		perror("runstat: fork");
		return 127;
	}
	if (pid == 0) {
		const char *pre = getenv("RUNSTAT_PRELOAD");
		if (pre && *pre)
			setenv("LD_PRELOAD", pre, 1);
		else if (pre)
			unsetenv("LD_PRELOAD");
		execvp(argv[2], argv + 2);
		fprintf(stderr, "runstat: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("runstat: wait4");
			return 127;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	FILE *f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 127;
	}
	fprintf(f, "%.6f %ld %.6f %.6f\n", wall, ru.ru_maxrss, seconds(ru.ru_utime),
		seconds(ru.ru_stime));
	if (fclose(f) != 0) {
		perror(argv[1]);
		return 127;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
