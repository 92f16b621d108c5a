/* SPDX-License-Identifier: MIT */
/*
 * workload.h - the micro-benchmark workloads W1-W3 and the targets they
 * run on. A workload is a fixed op sequence from a fixed-seed xorshift64*
 * generator; a target is any allocator seen as alloc(bytes, order) and
 * free(p, bytes, order), so the page allocator (which wants orders), the
 * byte heaps and the peers' malloc run the same loop. The do-nothing
 * target measures the loop itself.
 *
 *   W1 page churn:    allocate one 4 KiB page and free it at once.
 *   W2 random orders: 4096 slots; a random slot is freed if live, else
 *                     gets 2^k pages, k uniform in 0..4.
 *   W3 small mixed:   10,000 slots; the same loop with sizes uniform in
 *                     16..4096 bytes.
 *   W4 threads:       T threads at once, each running W1 and then W2 (its
 *                     own slots) on the same target: for the page targets
 *                     one shared zone. Reported per thread: wall time per
 *                     pair, so pairs per second per thread is 1e9 / it.
 */
#ifndef BUDDY_BENCH_WORKLOAD_H
#define BUDDY_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "buddy/alloc.h"
#include "buddy/page.h"
#include "buddy/thread.h"

#define BENCH_MAX_RUNS 32
#define BENCH_W2_SLOTS 4096
#define BENCH_W3_SLOTS 10000
#define BENCH_PAGE_ARENA (64u << 20)  /* W1/W2 arena: 64 MiB of 4 KiB pages */
#define BENCH_HEAP_ARENA (256u << 20) /* W3 arena for the byte heaps */
#ifndef BENCH_PCP_HIGH
#define BENCH_PCP_HIGH 96 /* page cache list length before a drain */
#endif
#define BENCH_PCP_MAX_ORDER 4         /* cached orders: all of W2's */
#define BENCH_MAX_THREADS 8

enum bench_workload { BENCH_W1, BENCH_W2, BENCH_W3, BENCH_W4, BENCH_NR_WORKLOADS };

/*
 * The page allocator's configurations:
 *   page          a zone threads share: the zone lock, a page set per thread
 *                 (buddy/thread.h: the default lock, membarrier), every check
 *   page-lock     the zone lock and the zone's own page cache, no page sets
 *   page-single   no lock, the zone's page cache (a zone for one thread)
 *   page-nocache  no lock, no cache: every free merges
 */
enum bench_page_mode { BENCH_PAGE_SHARED, BENCH_PAGE_LOCK, BENCH_PAGE_SINGLE, BENCH_PAGE_NOCACHE };

struct bench_target {
	const char *name;
	void *ctx; /* passed to alloc and free */
	void *(*alloc)(void *ctx, size_t bytes, unsigned order);
	void (*free)(void *ctx, void *p, size_t bytes, unsigned order);
};

struct bench_result {
	double ns_per_pair;             /* median over the runs */
	double run_ns[BENCH_MAX_RUNS];  /* ns per pair of each run */
	int runs;
	uint64_t pairs;                 /* alloc+free pairs in one run */
	uint64_t failures;              /* allocations that failed, summed over the runs */
};

/* The page allocator's own zone over a 64 MiB aligned arena. */
struct bench_page {
	struct buddy_zone zone;
	struct buddy_thread_lock lock;
	int locked;
	void *map;       /* the mapping the arena was cut from */
	size_t map_len;
	void *meta;      /* region metadata */
};

/*
 * The Rust port's page allocator (rust/, libbrust.a) over the same arena,
 * when the build has it (BUDDY_RUNNER_RUST; workload_rust.c).
 */
struct brust_zone;
struct bench_page_rust {
	struct brust_zone *zone;
	void *map;
	size_t map_len;
	void *meta;
};

const char *bench_workload_name(enum bench_workload w);
int bench_workload_parse(const char *name); /* "W1".."W4" (any case); -1 if unknown */
/* What W4's threads time: BENCH_W1 or BENCH_W2 alone when BUDDY_BENCH_W4 names it, else BENCH_W4 (both). */
enum bench_workload bench_w4_part(void);

/* Targets. */
void bench_target_loop(struct bench_target *t);
void bench_target_malloc(struct bench_target *t, const char *name);
/*
 * The page allocator over a fresh arena of `arenas` times 64 MiB, in one of
 * the modes above; its caches hold BENCH_PCP_HIGH blocks per list, orders
 * 0..BENCH_PCP_MAX_ORDER. Returns 0 or -1.
 */
int bench_target_page(struct bench_target *t, struct bench_page *pg, enum bench_page_mode mode,
		      unsigned arenas);
/* The mode named (page, page-lock, page-single, page-nocache), or -1. */
int bench_page_mode_parse(const char *name);
void bench_page_release(struct bench_page *pg);
/* A BENCH_PAGE_ARENA-aligned arena of BENCH_PAGE_ARENA bytes from a fresh mapping; 0 if none. */
uintptr_t bench_page_arena(void **map, size_t *map_len);
/* bench_target_page for the Rust port ("page-rust", "page-rust-nocache"); 0 or -1. */
int bench_target_page_rust(struct bench_target *t, struct bench_page_rust *pg, int cache);
void bench_page_rust_release(struct bench_page_rust *pg);
void bench_target_balloc(struct bench_target *t, const struct balloc *a);

/* Run workload w `runs` times with `ops` ops each (steps for W2/W3). 0 or -1 (no memory). */
int bench_run(enum bench_workload w, const struct bench_target *t, uint64_t ops, int runs,
	      struct bench_result *r);

/*
 * W4: `threads` threads at once, each W1 then W2 with `ops` ops each, `runs`
 * times; r->ns_per_pair is the median wall time per pair of one thread, and
 * r->pairs the pairs one thread did in a run. 0 or -1.
 */
int bench_run_threads(const struct bench_target *t, int threads, uint64_t ops, int runs,
		      struct bench_result *r);

/* The timed loops, one per workload (named for profilers); return the pairs done. */
uint64_t bench_loop_w1(const struct bench_target *t, uint64_t ops, uint64_t *failures);
uint64_t bench_loop_w2(const struct bench_target *t, uint64_t ops, void **slot,
		       unsigned char *order, uint64_t *failures);
uint64_t bench_loop_w3(const struct bench_target *t, uint64_t ops, void **slot,
		       uint32_t *size, uint64_t *failures);

#endif /* BUDDY_BENCH_WORKLOAD_H */
