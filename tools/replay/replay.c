/* SPDX-License-Identifier: MIT */
/*
 * replay.c - the replay command: options, one child process per
 * measurement (a checked run, then the timed runs) through the runners,
 * and the report. See docs/replay-bench.md.
 */
#define _GNU_SOURCE
#include "replay.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "progress.h"
#include "report.h"
#include "spawn.h"
#include "trace.h"

#define REPLAY_MAX_ALLOCS 16
#define REPLAY_SAMPLES 400

/* Options of one replay command. */
struct replay_cli {
	const char *allocs[REPLAY_MAX_ALLOCS]; /* allocators, in report order */
	char *alloc_buf;     /* storage for names from the runners or --allocator */
	size_t nallocs;
	enum { OUT_TABLE, OUT_CSV, OUT_JSON } out;
	const char *plot;    /* SVG file, or NULL */
	const char *format;  /* trace format name */
	unsigned long align; /* required alignment */
	unsigned long repeat; /* timed runs per allocator */
	unsigned long long arena; /* arena bytes for our allocators, 0 = default */
	char **traces;       /* trace files as given */
	int ntraces;
	char tmpdir[64];     /* where the parsed traces are saved for the runners */
	char **saved;        /* per trace: its saved form in tmpdir */
	const char *prog;    /* the command's name, for messages */
};

static void replay_usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s [options] TRACE...\n"
		"Replay allocation traces (.rep, wee_alloc .trace, valgrind --trace-malloc=yes\n"
		"logs) on each allocator, each run in a process of its own.\n"
		"  -a, --allocator A,B,...  allocators (default: ours, glibc and installed peers)\n"
		"      --csv | --json       output format (default: a table)\n"
		"      --plot FILE.svg      footprint and live bytes over the trace\n"
		"      --format F           rep, wee, vlog or auto (default auto)\n"
		"      --align N            alignment every block must have (default 16)\n"
		"      --repeat N           timed runs per allocator, median taken (default 3)\n"
		"      --arena SIZE         arena for the project's allocators, K, M or G suffix\n"
		"                           (default theirs)\n",
		prog);
}

static int add_alloc(struct replay_cli *c, const char *name)
{
	for (size_t i = 0; i < c->nallocs; i++)
		if (strcmp(c->allocs[i], name) == 0)
			return 0;
	if (c->nallocs == REPLAY_MAX_ALLOCS)
		return -1;
	c->allocs[c->nallocs++] = name;
	return 0;
}

static void add_alloc_cb(void *arg, const char *name)
{
	add_alloc(arg, name);
}

static int parse_alloc_list(struct replay_cli *c, const char *list)
{
	c->alloc_buf = strdup(list);
	if (!c->alloc_buf)
		return -1;
	for (char *tok = strtok(c->alloc_buf, ","); tok; tok = strtok(NULL, ","))
		if (*tok && add_alloc(c, tok) < 0)
			return -1;
	return c->nallocs ? 0 : -1;
}

/* One option with its argument (arg, NULL when there is none); -1 if bad. */
static int option_apply(struct replay_cli *c, const char *prog, const char *o, const char *arg,
			const char **alloc_list)
{
	unsigned long long v;
	if (!arg)
		return tool_usage_error(prog, "option '%s' needs an argument%s", o, "");
	if (strcmp(o, "-a") == 0 || strcmp(o, "--allocator") == 0) {
		*alloc_list = arg;
	} else if (strcmp(o, "--plot") == 0) {
		c->plot = arg;
	} else if (strcmp(o, "--format") == 0) {
		if (trace_format_parse(arg) < 0)
			return tool_usage_error(prog, "%s: '%s' is not rep, wee, vlog or auto", o, arg);
		c->format = arg;
	} else if (strcmp(o, "--align") == 0) {
		if (tool_option_number(prog, o, arg, 1, 1, 1ULL << 30, &v))
			return -1;
		if (v & (v - 1))
			return tool_usage_error(prog, "%s: '%s' is not a power of two", o, arg);
		c->align = (unsigned long)v;
	} else if (strcmp(o, "--repeat") == 0) {
		if (tool_option_number(prog, o, arg, 0, 1, 99, &v))
			return -1;
		c->repeat = (unsigned long)v;
	} else if (strcmp(o, "--arena") == 0) {
		if (tool_option_number(prog, o, arg, 1, 1, 1ULL << 40, &v))
			return -1;
		c->arena = v;
	} else {
		return tool_usage_error(prog, "unknown option '%s'%s", o, "");
	}
	return 0;
}

/* Options; returns 0, 1 for --help, -1 on a bad option (reported). */
static int parse_cli(struct replay_cli *c, int argc, char **argv)
{
	const char *alloc_list = NULL;
	int only_traces = 0;
	c->traces = calloc((size_t)argc, sizeof(char *));
	if (!c->traces)
		return -1;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *arg = i + 1 < argc ? argv[i + 1] : NULL;
		if (only_traces || o[0] != '-' || !o[1]) {
			c->traces[c->ntraces++] = argv[i];
			continue;
		}
		if (strcmp(o, "--") == 0)
			only_traces = 1;
		else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0)
			return 1;
		else if (strcmp(o, "--csv") == 0 || strcmp(o, "--json") == 0)
			c->out = o[2] == 'c' ? OUT_CSV : OUT_JSON;
		else if (option_apply(c, argv[0], o, arg, &alloc_list) < 0)
			return -1;
		else
			i++;
	}
	if (c->ntraces < 1)
		return tool_usage_error(argv[0], "no trace given%s%s", "", "");
	if (alloc_list ? parse_alloc_list(c, alloc_list)
		       : spawn_default_allocs(argv[0], "replay", &c->alloc_buf, add_alloc_cb, c)) {
		fprintf(stderr, "%s: cannot make the list of allocators\n", argv[0]);
		return -1;
	}
	/* Every name must be one a runner offers, before anything runs. */
	return alloc_list ? spawn_check_allocs(argv[0], "replay", c->allocs, c->nallocs) : 0;
}

/* The file name of a path, for short messages. */
static const char *base_of(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;
	return s ? s + 1 : path ? path : "";
}

/* Run one runner measurement; the parsed lines go into *r. Returns 0 or -1. */
static int run_measure(const struct replay_cli *c, const char *alloc, const char *trace,
		       const char *saved, int check, struct replay_result *r)
{
	char path[PATH_MAX], align[32], samples[32], arena[32], *out;
	memset(r, 0, sizeof(*r));
	if (spawn_runner_path(alloc, path, sizeof(path)) < 0) {
		fprintf(stderr, "replay: no runner for %s\n", alloc);
		return -1;
	}
	snprintf(align, sizeof(align), "%lu", c->align);
	snprintf(samples, sizeof(samples), "%d", c->plot ? REPLAY_SAMPLES : 0);
	snprintf(arena, sizeof(arena), "%llu", c->arena);
	char *argv[] = { path, "replay", check ? "check" : "time", (char *)alloc, (char *)saved,
			 "auto", align, samples, arena, NULL };
	int rc = spawn_capture(NULL, argv, &out);
	int bad = rc != 0 || !out;
	for (char *line = out, *next; !bad && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		bad = replay_result_read_line(r, line) < 0;
	}
	free(out);
	if (bad)
		fprintf(stderr, "replay: %s on %s: run failed\n", alloc, trace);
	return bad ? -1 : 0;
}

static int double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/*
 * The checked run of every row, then the timed runs going round the rows
 * (so that a change in the machine's load falls on every allocator alike);
 * ops per second from the median time.
 */
static int run_rows(const struct replay_cli *c, struct replay_row *rows, size_t n,
		    const int *trace_of)
{
	double *secs = calloc(n * c->repeat, sizeof(double));
	struct replay_result t;
	struct progress pr;
	if (!secs)
		return -1;
	progress_start(&pr, c->prog, n * (1 + c->repeat));
	for (size_t k = 0; k < n; k++) {
		progress_step(&pr, "checked run: %s on %s", base_of(rows[k].trace), rows[k].alloc);
		rows[k].ok = run_measure(c, rows[k].alloc, rows[k].trace, c->saved[trace_of[k]], 1,
					 &rows[k].check) == 0;
	}
	for (unsigned long i = 0; i < c->repeat; i++)
		for (size_t k = 0; k < n; k++) {
			progress_step(&pr, "timed run %lu of %lu: %s on %s", i + 1, c->repeat,
				      base_of(rows[k].trace), rows[k].alloc);
			if (!rows[k].ok)
				continue;
			rows[k].ok = run_measure(c, rows[k].alloc, rows[k].trace,
						 c->saved[trace_of[k]], 0, &t) == 0;
			secs[k * c->repeat + i] = t.seconds;
			replay_result_free(&t);
		}
	progress_end(&pr);
	for (size_t k = 0; k < n; k++) {
		double *s = secs + k * c->repeat;
		qsort(s, c->repeat, sizeof(double), double_cmp);
		double med = c->repeat % 2 ? s[c->repeat / 2]
					   : (s[c->repeat / 2 - 1] + s[c->repeat / 2]) / 2;
		rows[k].ops_per_sec = rows[k].ok && med > 0 ? (double)rows[k].check.ops / med : 0;
	}
	free(secs);
	return 0;
}

/*
 * Parse every trace here, once: a bad one stops the command before any
 * run, and the runners map the saved op arrays instead of parsing, so they
 * take no memory from the allocator they measure.
 */
static int prepare_traces(struct replay_cli *c)
{
	int fmt = trace_format_parse(c->format);
	snprintf(c->tmpdir, sizeof(c->tmpdir), "/tmp/buddy-replay-XXXXXX");
	c->saved = calloc((size_t)c->ntraces, sizeof(char *));
	if (!c->saved || !mkdtemp(c->tmpdir)) {
		perror("replay: temporary folder");
		c->tmpdir[0] = '\0';
		return -1;
	}
	for (int i = 0; i < c->ntraces; i++) {
		struct trace t;
		char err[512];
		if (trace_load(c->traces[i], (enum trace_format)fmt, &t, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
		if (t.nops == 0) /* legal, but most likely not what was meant */
			fprintf(stderr, "%s: warning: %s holds no operations: nothing to replay\n",
				c->prog, c->traces[i]);
		c->saved[i] = malloc(sizeof(c->tmpdir) + 32);
		if (c->saved[i])
			snprintf(c->saved[i], sizeof(c->tmpdir) + 32, "%s/%d.ops", c->tmpdir, i);
		int rc = c->saved[i] ? trace_save(&t, c->saved[i], err, sizeof(err)) : -1;
		trace_free(&t);
		if (rc < 0) {
			fprintf(stderr, "%s\n", c->saved[i] ? err : "replay: out of memory");
			return -1;
		}
	}
	return 0;
}

static void cleanup_traces(struct replay_cli *c)
{
	for (int i = 0; c->saved && i < c->ntraces; i++) {
		if (c->saved[i])
			unlink(c->saved[i]);
		free(c->saved[i]);
	}
	free(c->saved);
	if (c->tmpdir[0])
		rmdir(c->tmpdir);
}

static int write_plot(const char *path, const struct replay_row *rows, size_t n)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	report_plot(f, rows, n);
	if (fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

static int replay_all(const struct replay_cli *c)
{
	size_t n = (size_t)c->ntraces * c->nallocs, k = 0;
	struct replay_row *rows = calloc(n, sizeof(*rows));
	int *trace_of = calloc(n, sizeof(int));
	int status = 0;
	if (!rows || !trace_of) {
		free(rows);
		free(trace_of);
		return 1;
	}
	for (int i = 0; i < c->ntraces; i++)
		for (size_t a = 0; a < c->nallocs; a++, k++) {
			rows[k].trace = c->traces[i];
			rows[k].alloc = c->allocs[a];
			trace_of[k] = i;
		}
	if (run_rows(c, rows, n, trace_of) < 0)
		status = 1;
	for (k = 0; k < n; k++)
		if (!rows[k].ok || replay_result_errors(&rows[k].check))
			status = 1;
	free(trace_of);
	if (c->out == OUT_CSV)
		report_csv(stdout, rows, n);
	else if (c->out == OUT_JSON)
		report_json(stdout, rows, n);
	else
		report_table(stdout, rows, n);
	if (c->plot && write_plot(c->plot, rows, n) < 0)
		status = 1;
	for (k = 0; k < n; k++)
		replay_result_free(&rows[k].check);
	free(rows);
	return status;
}

int replay_main(int argc, char **argv)
{
	struct replay_cli c = { .format = "auto", .align = 16, .repeat = 3, .prog = argv[0] };
	int status, rc = parse_cli(&c, argc, argv);
	if (rc == 1) {
		replay_usage(stdout, argv[0]);
		status = 0;
	} else if (rc < 0) {
		status = 2;
	} else if (prepare_traces(&c) < 0) {
		status = 1;
	} else {
		status = replay_all(&c);
	}
	cleanup_traces(&c);
	free(c.alloc_buf);
	free(c.traces);
	return status;
}
