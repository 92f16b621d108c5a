/* SPDX-License-Identifier: MIT */
/*
 * runner.c - the program that runs one measurement in a process of its
 * own, so that no allocator disturbs another. `buddy replay` and `buddy bench`
 * start it and read its stdout. One runner is built per peer, linked
 * against that peer (which then is the process malloc); the native runner
 * uses glibc malloc and also offers the project's own allocators.
 *
 *   RUNNER list
 *   RUNNER replay check|time ALLOC TRACE [FORMAT ALIGN SAMPLES ARENA]
 *   RUNNER bench W1|W2|W3 ALLOC OPS RUNS
 *
 * Replay prints the lines of replay_result_write; bench prints
 * `bench ns=... pairs=... failures=... runs=...` and one `run NS` per run.
 * Exit status 0 on success, 1 on a failure (message on stderr), 2 on usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buddy/alloc.h"
#include "engine.h"
#include "peer.h"
#include "trace.h"
#include "workload.h"
#ifdef BUDDY_RUNNER_RUST
#include "heap_rust.h"
#endif

/*
 * The project's allocators, offered by the native runner only (a peer's
 * runner measures the peer): the two heaps by their constructors, and any
 * other name through the registry.
 */
struct runner_ours {
	const char *name;
	int (*create)(const struct balloc_options *opt, struct balloc *out);
	int fixed; /* works in one buffer of arena_bytes, which must fit the trace */
};

static const struct runner_ours ours[] = {
#ifdef BUDDY_NATIVE
	{ "buddy", balloc_buddy_heap_create, 0 },
	{ "bestfit", balloc_bestfit_create, 1 },
#endif
#ifdef BUDDY_RUNNER_RUST
	{ "rust", replay_rust_heap_create, 1 }, /* the Rust port's heap, one buffer */
#endif
	{ NULL, NULL, 0 }
};

/* Whether `name` works in one fixed buffer. */
static int replay_fixed(const char *name)
{
	for (const struct runner_ours *o = ours; o->name; o++)
		if (o->fixed && strcmp(name, o->name) == 0)
			return 1;
	return 0;
}

/*
 * Arena for a replay when none was given: the allocator's own default,
 * except for one that works in a single fixed buffer, which gets twice the
 * trace's peak live bytes (a power of two, at least 1 MiB) so that the trace
 * fits, but at most half the machine's memory: a trace that asks for more
 * (a 1 TiB request, say) gets failed allocations, counted, as any allocator
 * would give it. Such an allocator reports its high-water mark as its
 * footprint, so the buffer size does not enter the utilization.
 */
static size_t replay_arena(const char *name, const struct trace *t, size_t arena)
{
	size_t want = 1u << 20, cap = (size_t)1 << 40;
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	if (arena || !replay_fixed(name))
		return arena;
	if (pages > 0 && page > 0 && (uint64_t)pages * (uint64_t)page / 2 < cap)
		cap = (size_t)((uint64_t)pages * (uint64_t)page / 2);
	uint64_t peak = replay_trace_peak_live(t);
	while (want < 2 * peak && want <= cap / 2)
		want <<= 1;
	return want;
}

/*
 * Open allocator `name`: 0, or -1 after a message; -ENOMEM, silently, when it
 * ran out of memory and `quiet_nomem` is set (the caller tries a smaller arena).
 */
static int runner_open(const char *name, size_t arena, struct balloc *out, int quiet_nomem)
{
	struct balloc_options opt = { .arena_bytes = arena };
	int rc = ENOENT;
	if (strcmp(name, peer_name()) == 0) {
		peer_balloc(out);
		return 0;
	}
	for (const struct runner_ours *o = ours; o->name; o++)
		if (strcmp(name, o->name) == 0) {
			errno = 0;
			rc = o->create(&opt, out);
			if (rc == 0)
				return 0;
			rc = rc > 0 ? rc : errno ? errno : ENOMEM; /* -1 with errno, or the errno */
			break;
		}
#ifdef BUDDY_NATIVE
	if (rc == ENOENT && (rc = balloc_create(name, &opt, out)) == 0)
		return 0;
	if (rc < 0)
		rc = errno ? errno : ENOMEM;
#endif
	if (rc == ENOMEM && quiet_nomem)
		return -ENOMEM;
	fprintf(stderr, "%s: %s\n", name, rc == ENOENT ? "no such allocator in this runner"
						      : strerror(rc));
	return -1;
}

static void runner_close(struct balloc *a)
{
	if (a->ops->destroy)
		a->ops->destroy(a->self);
}

/* Print the project's allocator names (not "system": glibc is there already). */
static void runner_list_ours(void)
{
	for (const struct runner_ours *o = ours; o->name; o++)
		printf(" %s", o->name);
#ifdef BUDDY_NATIVE
	for (const char *const *n = balloc_names(); *n; n++) {
		int seen = strcmp(*n, "system") == 0;
		for (const struct runner_ours *o = ours; o->name; o++)
			seen |= strcmp(*n, o->name) == 0;
		if (!seen)
			printf(" %s", *n);
	}
#endif
}

static void runner_list(void)
{
	printf("replay %s", peer_name());
	runner_list_ours();
#ifdef BUDDY_NATIVE
	printf("\nbench %s loop page page-lock page-single page-nocache", peer_name());
#ifdef BUDDY_RUNNER_RUST
	printf(" page-rust page-rust-nocache");
#endif
#else
	printf("\nbench %s", peer_name());
#endif
	runner_list_ours();
	printf("\n");
}

/* argv: check|time ALLOC TRACE [FORMAT ALIGN SAMPLES ARENA] */
static int runner_replay(int argc, char **argv)
{
	struct trace t;
	struct replay_config cfg = { 0, 0 };
	struct replay_result r;
	struct balloc a;
	char err[512];
	int fmt = argc > 3 ? trace_format_parse(argv[3]) : TRACE_AUTO;
	if (argc < 3 || fmt < 0 || (strcmp(argv[0], "check") != 0 && strcmp(argv[0], "time") != 0))
		return 2;
	cfg.align = argc > 4 ? strtoull(argv[4], NULL, 0) : 16;
	cfg.max_samples = argc > 5 ? strtoull(argv[5], NULL, 0) : 0;
	size_t arena = argc > 6 ? strtoull(argv[6], NULL, 0) : 0;
	if (trace_load(argv[2], (enum trace_format)fmt, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	size_t bytes = replay_arena(argv[1], &t, arena);
	int opened = runner_open(argv[1], bytes, &a, !arena && replay_fixed(argv[1]));
	/* A buffer the system will not map: smaller ones, down to 1 MiB. */
	while (opened == -ENOMEM && bytes > (1u << 20)) {
		bytes /= 2;
		opened = runner_open(argv[1], bytes, &a, bytes > (1u << 20));
	}
	if (opened < 0) {
		trace_free(&t);
		return 1;
	}
	int rc = argv[0][0] == 'c' ? replay_check(&t, &a, &cfg, &r) : replay_time(&t, &a, &r);
	if (rc == 0)
		replay_result_write(stdout, &r);
	else
		fprintf(stderr, "%s: out of memory for the replay\n", argv[2]);
	replay_result_free(&r);
	runner_close(&a);
	trace_free(&t);
	return rc == 0 ? 0 : 1;
}

/* The target named `name` for a bench run; *a / *pg / *rpg hold its state. */
static int runner_target(const char *name, int w, int threads, struct bench_target *t,
			 struct balloc *a, struct bench_page *pg, struct bench_page_rust *rpg,
			 int *opened)
{
	*opened = 0;
	if (strcmp(name, "loop") == 0) {
		bench_target_loop(t);
		return 0;
	}
	if (strcmp(name, peer_name()) == 0) {
		bench_target_malloc(t, name);
		return 0;
	}
#ifdef BUDDY_NATIVE
	int mode = bench_page_mode_parse(name);
	if (mode >= 0)
		return bench_target_page(t, pg, (enum bench_page_mode)mode, (unsigned)threads);
#else
	(void)pg;
	(void)threads;
#endif
#ifdef BUDDY_RUNNER_RUST
	if (strcmp(name, "page-rust") == 0 || strcmp(name, "page-rust-nocache") == 0)
		return bench_target_page_rust(t, rpg, strcmp(name, "page-rust") == 0);
#else
	(void)rpg;
#endif
	if (runner_open(name, w == BENCH_W3 ? BENCH_HEAP_ARENA : BENCH_PAGE_ARENA * 2, a, 0) < 0)
		return -1;
	*opened = 1;
	bench_target_balloc(t, a);
	return 0;
}

/* argv: W ALLOC OPS RUNS [THREADS] (threads for W4: 1..BENCH_MAX_THREADS) */
static int runner_bench(int argc, char **argv)
{
	struct bench_target t;
	struct bench_result r;
	struct bench_page pg = { .map = NULL };
	struct bench_page_rust rpg = { .zone = NULL };
	struct balloc a;
	int opened;
	int w = argc == 4 || argc == 5 ? bench_workload_parse(argv[0]) : -1;
	long threads = argc == 5 ? strtol(argv[4], NULL, 10) : 1;
	if (w < 0 || (w == BENCH_W4) != (argc == 5) || threads < 1 || threads > BENCH_MAX_THREADS)
		return 2;
	uint64_t ops = strtoull(argv[2], NULL, 0);
	char *end;
	long runs = strtol(argv[3], &end, 10);
	if (end == argv[3] || *end || runs < 1 || runs > BENCH_MAX_RUNS)
		return 2;
	if (runner_target(argv[1], w, (int)threads, &t, &a, &pg, &rpg, &opened) < 0) {
		fprintf(stderr, "%s: cannot set up the allocator\n", argv[1]);
		return 1;
	}
	int rc = w == BENCH_W4 ? bench_run_threads(&t, (int)threads, ops, (int)runs, &r)
			       : bench_run((enum bench_workload)w, &t, ops, (int)runs, &r);
	if (rc == 0) {
		printf("bench ns=%.3f pairs=%llu failures=%llu runs=%d\n", r.ns_per_pair,
		       (unsigned long long)r.pairs, (unsigned long long)r.failures, r.runs);
		for (int i = 0; i < r.runs; i++)
			printf("run %.3f\n", r.run_ns[i]);
	}
	if (opened)
		runner_close(&a);
	bench_page_release(&pg);
#ifdef BUDDY_RUNNER_RUST
	bench_page_rust_release(&rpg);
#endif
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	int rc = 2;
	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		runner_list();
		rc = 0;
	} else if (argc >= 2 && strcmp(argv[1], "replay") == 0) {
		rc = runner_replay(argc - 2, argv + 2);
	} else if (argc >= 2 && strcmp(argv[1], "bench") == 0) {
		rc = runner_bench(argc - 2, argv + 2);
	}
	if (rc == 2)
		fprintf(stderr, "usage: %s list | replay check|time ALLOC TRACE [FORMAT ALIGN "
			"SAMPLES ARENA] | bench W1|W2|W3 ALLOC OPS RUNS | bench W4 ALLOC OPS RUNS THREADS\n",
			argv[0]);
	fflush(stdout);
	return rc;
}
