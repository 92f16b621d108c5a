/* SPDX-License-Identifier: MIT */
/*
 * bench.c - the bench command: for every workload and allocator, start the
 * allocator's runner (`bench W ALLOC OPS RUNS`), read the median ns per
 * alloc+free pair, and print a table with the targets. Every run is a
 * process of its own, and the runs go round the allocators. With --callgrind,
 * every runner runs under `valgrind --tool=callgrind` collecting only
 * inside the timed loop (bench_loop_*), and the table gives instructions
 * per pair instead, which do not drift the way time does.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "progress.h"
#include "spawn.h"
#include "workload.h"

#define BENCH_MAX_ALLOCS 16
#define BENCH_MAX_TCOUNTS 4 /* W4 thread counts */

/* Options and results of one bench command. */
struct bench_cli {
	unsigned long long ops;  /* ops (W1 pairs, W2/W3 steps) per run */
	int runs;                /* runs per measurement; the median is reported */
	int callgrind;           /* count instructions instead of time */
	int csv;                 /* CSV instead of a table */
	int want[BENCH_NR_WORKLOADS]; /* workloads to run */
	const char *allocs[BENCH_MAX_ALLOCS]; /* allocators, in report order */
	size_t nallocs;
	char *alloc_buf;         /* storage for the names */
	double value[BENCH_MAX_ALLOCS][BENCH_NR_WORKLOADS]; /* ns or instructions per pair; <0 n/a */
	double sample[BENCH_MAX_ALLOCS][BENCH_NR_WORKLOADS][BENCH_MAX_RUNS]; /* per run */
	int nsamples[BENCH_MAX_ALLOCS][BENCH_NR_WORKLOADS];
	unsigned long long failures[BENCH_MAX_ALLOCS][BENCH_NR_WORKLOADS];
	int threads[BENCH_MAX_TCOUNTS]; /* W4's thread counts */
	int nthreads;
	double w4[BENCH_MAX_ALLOCS][BENCH_MAX_TCOUNTS]; /* ns per pair per thread; <0 n/a */
	double w4_sample[BENCH_MAX_ALLOCS][BENCH_MAX_TCOUNTS][BENCH_MAX_RUNS];
	int w4_nsamples[BENCH_MAX_ALLOCS][BENCH_MAX_TCOUNTS];
};

static void bench_usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s [options]\n"
		"Micro-benchmarks: W1 page churn, W2 random orders, W3 small mixed; median ns\n"
		"per alloc+free pair, every allocator in a process of its own. W4: threads\n"
		"each running W1 then W2 at once (one shared zone): pairs per second per thread.\n"
		"  -w, --workload W1,...,W4 workloads (default W1,W2,W3)\n"
		"      --threads 1,2,4      W4's thread counts (default 1,2,4; at most %d)\n"
		"  -a, --allocator A,B,...  allocators (default: loop, ours, glibc, installed peers)\n"
		"      --ops N              ops per run (default 10000000; 200000 with --callgrind)\n"
		"      --runs N             runs, median taken (default 5; 1 with --callgrind)\n"
		"      --callgrind          instructions per pair under valgrind --tool=callgrind\n"
		"      --csv                CSV output\n", prog, BENCH_MAX_THREADS);
}

static void add_alloc(struct bench_cli *c, const char *name)
{
	for (size_t i = 0; i < c->nallocs; i++)
		if (strcmp(c->allocs[i], name) == 0)
			return;
	if (c->nallocs < BENCH_MAX_ALLOCS)
		c->allocs[c->nallocs++] = name;
}

static void add_alloc_cb(void *arg, const char *name)
{
	add_alloc(arg, name);
}

static int parse_lists(struct bench_cli *c, const char *prog, char *workloads, char *allocs)
{
	for (int w = 0; w < BENCH_NR_WORKLOADS; w++)
		c->want[w] = workloads == NULL && w != BENCH_W4;
	for (char *t = workloads ? strtok(workloads, ",") : NULL; t; t = strtok(NULL, ",")) {
		int w = bench_workload_parse(t);
		if (w < 0)
			return tool_usage_error(prog, "--workload: '%s' is not W1, W2, W3 or W4%s", t, "");
		c->want[w] = 1;
	}
	if (!allocs) /* the runner lists loop, the page targets, then our heaps */
		return spawn_default_allocs(prog, "bench", &c->alloc_buf, add_alloc_cb, c);
	c->alloc_buf = strdup(allocs);
	for (char *t = c->alloc_buf ? strtok(c->alloc_buf, ",") : NULL; t; t = strtok(NULL, ","))
		add_alloc(c, t);
	if (!c->nallocs)
		return tool_usage_error(prog, "--allocator: no allocator named%s%s", "", "");
	/* Every name must be one a runner offers, before anything runs. */
	return spawn_check_allocs(prog, "bench", c->allocs, c->nallocs);
}

/* Options; 0, 1 for --help, -1 on a bad option (reported). */
/* W4's thread counts: "1,2,4", each 1..BENCH_MAX_THREADS; 0 if malformed. */
static int threads_parse(struct bench_cli *c, char *arg)
{
	c->nthreads = 0;
	for (char *t = strtok(arg, ","); t; t = strtok(NULL, ",")) {
		char *end;
		long v = strtol(t, &end, 10);
		if (end == t || *end || v < 1 || v > BENCH_MAX_THREADS || c->nthreads == BENCH_MAX_TCOUNTS)
			return 0;
		c->threads[c->nthreads++] = (int)v;
	}
	return c->nthreads > 0;
}

static int parse_cli(struct bench_cli *c, int argc, char **argv)
{
	char *workloads = NULL, *allocs = NULL;
	static const int default_threads[] = { 1, 2, 4 };
	memcpy(c->threads, default_threads, sizeof(default_threads));
	c->nthreads = 3;
	int ops_set = 0, runs_set = 0;
	unsigned long long v;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		char *arg = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0)
			return 1;
		if (strcmp(o, "--callgrind") == 0 || strcmp(o, "--csv") == 0) {
			*(o[2] == 'c' && o[3] == 'a' ? &c->callgrind : &c->csv) = 1;
			continue;
		}
		int known = strcmp(o, "-w") == 0 || strcmp(o, "--workload") == 0 ||
			    strcmp(o, "-a") == 0 || strcmp(o, "--allocator") == 0 ||
			    strcmp(o, "--ops") == 0 || strcmp(o, "--runs") == 0 ||
			    strcmp(o, "--threads") == 0;
		if (!known)
			return tool_usage_error(argv[0], "unknown option '%s'%s", o, "");
		if (!arg)
			return tool_usage_error(argv[0], "option '%s' needs an argument%s", o, "");
		if (o[1] == 'w' || strcmp(o, "--workload") == 0) {
			workloads = arg;
		} else if (o[1] == 'a' || strcmp(o, "--allocator") == 0) {
			allocs = arg;
		} else if (strcmp(o, "--ops") == 0) {
			if (tool_option_number(argv[0], o, arg, 0, 1, 1ULL << 40, &v))
				return -1;
			c->ops = v;
			ops_set = 1;
		} else if (strcmp(o, "--threads") == 0) {
			if (!threads_parse(c, arg))
				return tool_usage_error(argv[0], "--threads: '%s' is not a list of 1 to 8%s",
							arg, "");
		} else {
			if (tool_option_number(argv[0], o, arg, 0, 1, BENCH_MAX_RUNS, &v))
				return -1;
			c->runs = (int)v;
			runs_set = 1;
		}
		i++;
	}
	if (!ops_set)
		c->ops = c->callgrind ? 200000 : 10000000;
	if (!runs_set)
		c->runs = c->callgrind ? 1 : 5;
	return parse_lists(c, argv[0], workloads, allocs) < 0 ? -1 : 0;
}

static int bench_is_peer(const char *name)
{
	for (int i = 0; spawn_peers[i]; i++)
		if (strcmp(name, spawn_peers[i]) == 0)
			return 1;
	return 0;
}

/* Whether allocator `name` takes part in workload w. */
static int bench_applies(const char *name, int w)
{
	if (w == BENCH_W4) /* the allocators threads may share */
		return strcmp(name, "page") == 0 || strcmp(name, "page-lock") == 0 ||
		       strcmp(name, "glibc") == 0 || bench_is_peer(name);
	if (strncmp(name, "page", 4) == 0)
		return w != BENCH_W3; /* the page allocator's own API: W1, W2 */
	if (strcmp(name, "loop") == 0 || strcmp(name, "glibc") == 0)
		return 1;
	for (int i = 0; spawn_peers[i]; i++)
		if (strcmp(name, spawn_peers[i]) == 0)
			return 1;
	return w == BENCH_W3; /* the byte heaps: W3 */
}

/* Instructions collected in a callgrind output file ("totals:" line); -1 if none. */
static double callgrind_total(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	double total = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "totals:", 7) == 0 || (total < 0 && strncmp(line, "summary:", 8) == 0))
			total = strtod(line + (line[0] == 't' ? 7 : 8), NULL);
	fclose(f);
	return total;
}

/* One run in its own process: ns (or instructions) per pair into c->sample[a][w]
 * (W4: into c->w4_sample[a][ti], with c->threads[ti] threads). */
static int bench_measure(struct bench_cli *c, size_t a, int w, int ti)
{
	char path[PATH_MAX], ops[32], runs[32], dir[] = "/tmp/buddy-bench-XXXXXX", cg[PATH_MAX + 64];
	char outopt[PATH_MAX + 96], nthreads[16], *out = NULL;
	double ns = -1;
	unsigned long long pairs = 0, fails = 0;
	if (spawn_runner_path(c->allocs[a], path, sizeof(path)) < 0) {
		fprintf(stderr, "bench: no runner for %s\n", c->allocs[a]);
		return -1;
	}
	snprintf(ops, sizeof(ops), "%llu", c->ops);
	snprintf(runs, sizeof(runs), "1");
	snprintf(nthreads, sizeof(nthreads), "%d", c->threads[ti]);
	char *argv[] = { path, "bench", (char *)bench_workload_name((enum bench_workload)w),
			 (char *)c->allocs[a], ops, runs, w == BENCH_W4 ? nthreads : NULL, NULL };
	char *prefix[] = { "valgrind", "-q", "--tool=callgrind", "--toggle-collect=bench_loop_*",
			   outopt, NULL };
	if (c->callgrind && !mkdtemp(dir))
		return -1;
	snprintf(cg, sizeof(cg), "%s/callgrind.out", dir);
	snprintf(outopt, sizeof(outopt), "--callgrind-out-file=%s", cg);
	int rc = spawn_capture(c->callgrind ? prefix : NULL, argv, &out);
	char *line = out ? strstr(out, "bench ") : NULL;
	/* The line was written by our own bench program; its count check suffices. */
	if (rc != 0 || !line || sscanf(line, "bench ns=%lf pairs=%llu failures=%llu", &ns, &pairs, // NOLINT(cert-err34-c)
				       &fails) != 3)
		ns = -1;
	if (c->callgrind) {
		double ir = ns >= 0 ? callgrind_total(cg) : -1;
		ns = ir >= 0 && pairs ? ir / (double)pairs : -1;
		unlink(cg);
		rmdir(dir);
	}
	free(out);
	if (ns >= 0 && w == BENCH_W4)
		c->w4_sample[a][ti][c->w4_nsamples[a][ti]++] = ns;
	else if (ns >= 0)
		c->sample[a][w][c->nsamples[a][w]++] = ns;
	if (fails > c->failures[a][w])
		c->failures[a][w] = fails;
	if (ns < 0)
		fprintf(stderr, "bench: %s on %s failed\n", c->allocs[a],
			bench_workload_name((enum bench_workload)w));
	return ns < 0 ? -1 : 0;
}

static int double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double sample_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), double_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void bench_print(const struct bench_cli *c)
{
	const char *unit = c->callgrind ? "instructions per pair" : "median ns per pair";
	if (c->csv) {
		printf("allocator,workload,%s,failures\n", c->callgrind ? "instructions_per_pair"
								      : "ns_per_pair");
		for (size_t a = 0; a < c->nallocs; a++)
			for (int w = 0; w < BENCH_W4; w++)
				if (c->value[a][w] >= 0)
					printf("%s,%s,%.2f,%llu\n", c->allocs[a],
					       bench_workload_name((enum bench_workload)w), c->value[a][w],
					       c->failures[a][w]);
		return;
	}
	/* The first column is as wide as the longest allocator name. */
	int nw = 9;
	for (size_t a = 0; a < c->nallocs; a++)
		if ((int)strlen(c->allocs[a]) > nw)
			nw = (int)strlen(c->allocs[a]);
	printf("%s; %llu ops, %d run(s); loop = the harness with a do-nothing allocator\n"
	       "%-*s %12s %12s %12s\n", unit, c->ops, c->runs, nw, "allocator", "W1", "W2", "W3");
	for (size_t a = 0; a < c->nallocs; a++) {
		printf("%-*s", nw, c->allocs[a]);
		for (int w = 0; w < BENCH_W4; w++) {
			if (c->value[a][w] < 0)
				printf(" %12s", "-");
			else
				printf(" %12.1f", c->value[a][w]);
		}
		printf("\n");
	}
	for (size_t a = 0; a < c->nallocs; a++)
		for (int w = 0; w < BENCH_W4; w++)
			if (c->value[a][w] >= 0 && c->failures[a][w])
				printf("%s on %s: %llu allocations failed (out of memory)\n",
				       bench_workload_name((enum bench_workload)w), c->allocs[a],
				       c->failures[a][w]);
}

/* The value for allocator `name` in workload w, or -1. */
static double bench_value(const struct bench_cli *c, const char *name, int w)
{
	for (size_t a = 0; a < c->nallocs; a++)
		if (strcmp(c->allocs[a], name) == 0)
			return c->value[a][w];
	return -1;
}

static void target_line(const char *what, double ours, double ref, double limit,
			const char *refname)
{
	if (ours < 0 || ref <= 0)
		return;
	double r = ours / ref;
	/* Three decimals where two would round a miss (or a hit) onto the target. */
	int prec = r > limit - 0.005 && r < limit + 0.005 ? 3 : 2;
	printf("  %-28s %.*fx %s (target <= %.2fx): %s\n", what, prec, r, refname, limit,
	       r <= limit ? "met" : "not met");
}

/* W4's value for allocator `name` with c->threads[ti] threads, or -1. */
static double w4_value(const struct bench_cli *c, const char *name, int ti)
{
	for (size_t a = 0; a < c->nallocs; a++)
		if (strcmp(c->allocs[a], name) == 0)
			return c->w4[a][ti];
	return -1;
}

/* Index of n threads among W4's counts, or -1. */
static int w4_index(const struct bench_cli *c, int n)
{
	for (int i = 0; i < c->nthreads; i++)
		if (c->threads[i] == n)
			return i;
	return -1;
}

/*
 * W4: per allocator and thread count, millions of pairs per second per
 * thread (1000 / ns per pair of one thread), and the total throughput of
 * each count against one thread's.
 */
static void w4_print(const struct bench_cli *c)
{
	int one = w4_index(c, 1);
	if (c->csv) {
		for (size_t a = 0; a < c->nallocs; a++)
			for (int i = 0; i < c->nthreads; i++)
				if (c->w4[a][i] > 0)
					printf("%s,W4x%d,%.2f,0\n", c->allocs[a], c->threads[i], c->w4[a][i]);
		return;
	}
	enum bench_workload part = bench_w4_part();
	printf("\nW4: threads each running %s at once%s; Mpairs/s per thread (scaling: total vs 1 "
	       "thread); %llu ops, %d run(s)\n%-12s",
	       part == BENCH_W4 ? "W1 then W2" : bench_workload_name(part),
	       part == BENCH_W4 ? "" : " (BUDDY_BENCH_W4)", c->ops, c->runs, "allocator");
	for (int i = 0; i < c->nthreads; i++)
		printf("  %2d thread%s        ", c->threads[i], c->threads[i] > 1 ? "s" : " ");
	printf("\n");
	for (size_t a = 0; a < c->nallocs; a++) {
		if (!bench_applies(c->allocs[a], BENCH_W4))
			continue;
		printf("%-12s", c->allocs[a]);
		for (int i = 0; i < c->nthreads; i++) {
			double v = c->w4[a][i];
			if (v <= 0) {
				printf("  %-19s", "-");
				continue;
			}
			double base = one >= 0 ? c->w4[a][one] : -1;
			if (base > 0)
				printf("  %7.2f (%5.2fx)  ", 1000 / v, c->threads[i] * base / v);
			else
				printf("  %7.2f           ", 1000 / v);
		}
		printf("\n");
	}
}

/* The targets of the threads issue, as ratios in this run. */
static void bench_targets(const struct bench_cli *c)
{
	printf("targets: the project's goals, each a ratio of %s in this run, the first\n"
	       "allocator named over the second (below 1.00x the first is faster), then the\n"
	       "goal, and 'met' when the ratio is within it\n",
	       c->callgrind ? "instructions" : "times");
	target_line("W1 page vs tcmalloc", bench_value(c, "page", BENCH_W1),
		    bench_value(c, "tcmalloc", BENCH_W1), 0.8, "tcmalloc");
	target_line("W2 page vs tcmalloc", bench_value(c, "page", BENCH_W2),
		    bench_value(c, "tcmalloc", BENCH_W2), 0.8, "tcmalloc");
	/* The Rust port's zone is for one thread: against the C zone for one thread. */
	target_line("W1 page-rust vs page-single", bench_value(c, "page-rust", BENCH_W1),
		    bench_value(c, "page-single", BENCH_W1), 1.1, "page-single");
	target_line("W2 page-rust vs page-single", bench_value(c, "page-rust", BENCH_W2),
		    bench_value(c, "page-single", BENCH_W2), 1.1, "page-single");
	target_line("W3 buddy vs glibc", bench_value(c, "buddy", BENCH_W3),
		    bench_value(c, "glibc", BENCH_W3), 1.0, "glibc");
	target_line("W3 bestfit vs glibc", bench_value(c, "bestfit", BENCH_W3),
		    bench_value(c, "glibc", BENCH_W3), 1.0, "glibc");
	/* kmalloc: at most 0.8x glibc's time, 1.0x its instructions */
	target_line("W3 kmalloc vs glibc", bench_value(c, "kmalloc", BENCH_W3),
		    bench_value(c, "glibc", BENCH_W3), c->callgrind ? 1.0 : 0.8, "glibc");
	int one = w4_index(c, 1), two = w4_index(c, 2);
	if (one < 0 || two < 0 || bench_w4_part() != BENCH_W4) /* the targets are for W1 then W2 */
		return;
	double p1 = w4_value(c, "page", one), p2 = w4_value(c, "page", two);
	double t2 = w4_value(c, "tcmalloc", two);
	if (p1 > 0 && p2 > 0)
		printf("  %-28s %.2fx one thread's work (target >= 1.70x): %s\n",
		       "W4 page, 2 threads", 2 * p1 / p2, 2 * p1 / p2 >= 1.7 ? "met" : "not met");
	if (p2 > 0 && t2 > 0)
		printf("  %-28s %.2fx tcmalloc's throughput (target >= 1.00x): %s\n",
		       "W4 page, 2 threads", t2 / p2, t2 / p2 >= 1.0 ? "met" : "not met");
}

int bench_main(int argc, char **argv)
{
	static struct bench_cli c;
	int status = 0, rc;
	memset(&c, 0, sizeof(c));
	rc = parse_cli(&c, argc, argv);
	if (rc != 0) {
		if (rc == 1)
			bench_usage(stdout, argv[0]);
		free(c.alloc_buf);
		return rc == 1 ? 0 : 2;
	}
	if (c.callgrind && c.want[BENCH_W4]) {
		fprintf(stderr, "bench: W4 measures threads at once, which callgrind serialises: "
				"left out\n");
		c.want[BENCH_W4] = 0;
	}
	/* Runs go round the allocators, one process each, so that a change in the
	 * machine's load falls on all of them alike; the median is reported. */
	static int failed[BENCH_MAX_ALLOCS][BENCH_NR_WORKLOADS + BENCH_MAX_TCOUNTS];
	memset(failed, 0, sizeof(failed));
	int runs = c.callgrind ? 1 : c.runs;
	size_t steps = 0;
	for (size_t a = 0; a < c.nallocs; a++)
		for (int w = 0; w < BENCH_NR_WORKLOADS; w++)
			steps += (c.want[w] && bench_applies(c.allocs[a], w)) *
				 (size_t)(w == BENCH_W4 ? c.nthreads : 1);
	struct progress pr;
	progress_start(&pr, argv[0], steps * (size_t)runs);
	for (int r = 0; r < runs; r++)
		for (size_t a = 0; a < c.nallocs; a++)
			for (int w = 0; w < BENCH_NR_WORKLOADS; w++)
				for (int ti = 0; ti < (w == BENCH_W4 ? c.nthreads : 1); ti++) {
					int *f = &failed[a][w + ti];
					if (!c.want[w] || !bench_applies(c.allocs[a], w))
						continue;
					progress_step(&pr, "run %d of %d: %s on %s", r + 1, runs,
						      bench_workload_name((enum bench_workload)w),
						      c.allocs[a]);
					if (!*f && bench_measure(&c, a, w, ti) < 0)
						*f = status = 1;
				}
	progress_end(&pr);
	for (size_t a = 0; a < c.nallocs; a++) {
		for (int w = 0; w < BENCH_W4; w++)
			c.value[a][w] = failed[a][w] || !c.nsamples[a][w]
				? -1 : sample_median(c.sample[a][w], c.nsamples[a][w]);
		for (int ti = 0; ti < c.nthreads; ti++)
			c.w4[a][ti] = failed[a][BENCH_W4 + ti] || !c.w4_nsamples[a][ti]
				? -1 : sample_median(c.w4_sample[a][ti], c.w4_nsamples[a][ti]);
	}
	if (c.want[BENCH_W1] || c.want[BENCH_W2] || c.want[BENCH_W3])
		bench_print(&c);
	if (c.want[BENCH_W4])
		w4_print(&c);
	if (!c.csv)
		bench_targets(&c);
	free(c.alloc_buf);
	return status;
}
