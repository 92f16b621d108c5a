/* SPDX-License-Identifier: MIT */
/*
 * record.c - `buddy record [-o FILE] [--] PROGRAM [ARG...]`: run a program
 * under valgrind --trace-malloc=yes and keep its allocations as a trace
 * for `buddy replay`.
 *
 * What a bare `valgrind --trace-malloc=yes --log-file=x.vlog PROGRAM` gets
 * wrong, and what this does instead:
 *   - PROGRAM is often a script or a shim (Debian's python3 under pyenv is
 *     a bash script) that starts the real program: --trace-children=yes
 *     follows every child and exec;
 *   - with one log file, every process valgrind follows truncates it:
 *     each writes its own file (--log-file=DIR/%p.log), and the files are
 *     joined, in pid order, into FILE; a process that execs another
 *     program keeps only the new program's log, which is what matters;
 *   - CPython serves small objects from its own pools, so valgrind sees
 *     few of its allocations: PYTHONMALLOC=malloc (unless already set)
 *     sends them all to malloc.
 * Blocks in the joined trace are named by (pid, address), so processes
 * never mix; their operations follow one process after the other.
 */
#define _GNU_SOURCE
#include "record.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "options.h"
#include "trace.h"

static void record_usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s [-o FILE] [--] PROGRAM [ARG...]\n"
		"Run PROGRAM under valgrind --trace-malloc=yes, following its children, and\n"
		"write its allocations to FILE (default: PROGRAM's name + .vlog, here) for\n"
		"buddy replay. Sets PYTHONMALLOC=malloc unless it is set, so that Python's\n"
		"own allocations are seen.\n"
		"  -o, --output FILE  the trace to write\n", prog);
}

/* Whether `cmd` can be run from PATH. */
static int in_path(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, cmd);
		if (n && access(buf, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

/* Run valgrind on argv with one log per process in dir; the wait status, or -1. */
static int record_run(const char *dir, char **argv, int argc)
{
	char logopt[PATH_MAX + 32];
	snprintf(logopt, sizeof(logopt), "--log-file=%s/%%p.log", dir);
	char **args = calloc((size_t)argc + 6, sizeof(char *));
	if (!args)
		return -1;
	static char vg[] = "valgrind", tm[] = "--trace-malloc=yes", tc[] = "--trace-children=yes";
	args[0] = vg;
	args[1] = tm;
	args[2] = tc;
	args[3] = logopt;
	for (int i = 0; i < argc; i++)
		args[4 + i] = argv[i];
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		setenv("PYTHONMALLOC", "malloc", 0);
		execvp(args[0], args);
		fprintf(stderr, "valgrind: %s\n", strerror(errno));
		_exit(127);
	}
	free(args);
	int status;
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

static int pid_cmp(const void *a, const void *b)
{
	long x = strtol(*(char *const *)a, NULL, 10), y = strtol(*(char *const *)b, NULL, 10);
	return (x > y) - (x < y);
}

/*
 * Join the per-process logs of dir into out, in pid order, removing them.
 * Returns the number of logs that held an allocation call, or -1.
 */
static int logs_join(const char *dir, FILE *out)
{
	DIR *d = opendir(dir);
	char *names[4096], path[PATH_MAX + 300], line[4096];
	size_t n = 0;
	int processes = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d)) && n < sizeof(names) / sizeof(names[0]);)
		if (e->d_name[0] != '.' && (names[n] = strdup(e->d_name)))
			n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), pid_cmp);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		FILE *in = fopen(path, "r");
		int calls = 0;
		while (in && fgets(line, sizeof(line), in)) {
			calls |= strncmp(line, "--", 2) == 0 && strchr(line, '(') != NULL;
			fputs(line, out);
		}
		processes += calls;
		if (in)
			fclose(in);
		unlink(path);
		free(names[i]);
	}
	return processes;
}

/* Options: 0 with the program at argv[*first], 1 for --help, -1 bad (reported). */
static int record_options(int argc, char **argv, const char **outp, int *first)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];
		if (strcmp(o, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0)
			return 1;
		if (strcmp(o, "-o") != 0 && strcmp(o, "--output") != 0)
			return tool_usage_error(argv[0], "unknown option '%s'%s", o, "");
		if (i + 1 >= argc)
			return tool_usage_error(argv[0], "option '%s' needs an argument%s", o, "");
		*outp = argv[++i];
	}
	if (i >= argc)
		return tool_usage_error(argv[0], "no program given%s%s", "", "");
	*first = i;
	return 0;
}

/* What the recorded trace holds, said on stderr; 0 when it holds operations. */
static int record_report(const char *prog, const char *file, int processes, int status)
{
	struct trace t;
	char err[512];
	if (trace_load(file, TRACE_VLOG, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: the log does not read as a trace: %s\n", prog, err);
		return 1;
	}
	size_t nops = t.nops;
	trace_free(&t);
	if (WIFEXITED(status) && WEXITSTATUS(status))
		fprintf(stderr, "%s: the program exited with status %d\n", prog, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(stderr, "%s: the program was killed by signal %d\n", prog, WTERMSIG(status));
	if (nops == 0) {
		fprintf(stderr, "%s: no allocations recorded (did the program start?); %s not "
				"written\n", prog, file);
		unlink(file);
		return 1;
	}
	fprintf(stderr, "%s: %zu operations from %d process%s in %s; replay them with: "
		"buddy replay %s\n", prog, nops, processes, processes == 1 ? "" : "es", file, file);
	return 0;
}

int record_main(int argc, char **argv)
{
	const char *outp = NULL;
	char defname[PATH_MAX], dir[] = "/tmp/buddy-record-XXXXXX";
	int first = 0, rc = record_options(argc, argv, &outp, &first);
	if (rc) {
		if (rc == 1)
			record_usage(stdout, argv[0]);
		return rc == 1 ? 0 : 2;
	}
	if (!in_path("valgrind")) {
		fprintf(stderr, "%s: needs valgrind (apt-get install valgrind)\n", argv[0]);
		return 2;
	}
	if (!outp) {
		const char *base = strrchr(argv[first], '/');
		snprintf(defname, sizeof(defname), "%s.vlog", base ? base + 1 : argv[first]);
		outp = defname;
	}
	FILE *out = fopen(outp, "w");
	if (!out) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], outp, strerror(errno));
		return 2;
	}
	if (!mkdtemp(dir)) {
		fprintf(stderr, "%s: temporary folder: %s\n", argv[0], strerror(errno));
		fclose(out);
		return 2;
	}
	int status = record_run(dir, argv + first, argc - first);
	int processes = logs_join(dir, out);
	rmdir(dir);
	if (fclose(out) != 0 || processes < 0 || status < 0) {
		fprintf(stderr, "%s: could not run valgrind or write %s\n", argv[0], outp);
		return 1;
	}
	return record_report(argv[0], outp, processes, status);
}
