/* SPDX-License-Identifier: MIT */
/*
 * workload.c - the W1-W3 loops and their targets (see workload.h).
 * Each run restarts the generator, so every target sees the same sequence
 * (until an allocation fails, which leaves its slot empty). An untimed
 * warm-up of a quarter of the ops goes first. The time of a
 * W2/W3 run includes freeing what is left live at the end, so every
 * allocation in it is paired with its free.
 */
#define _GNU_SOURCE
#include "workload.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>

#define BENCH_SEED 0x9E3779B97F4A7C15ull

/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators"). */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

const char *bench_workload_name(enum bench_workload w)
{
	static const char *const names[] = { "W1", "W2", "W3" };
	return w < BENCH_NR_WORKLOADS ? names[w] : "?";
}

int bench_workload_parse(const char *name)
{
	for (int w = 0; w < BENCH_NR_WORKLOADS; w++)
		if (strcasecmp(name, bench_workload_name((enum bench_workload)w)) == 0)
			return w;
	return -1;
}

/* --- Targets --- */

static char loop_block[64];

static void *loop_alloc(void *ctx, size_t bytes, unsigned order)
{
	(void)bytes, (void)order;
	return ctx;
}

static void loop_free(void *ctx, void *p, size_t bytes, unsigned order)
{
	(void)ctx, (void)p, (void)bytes, (void)order;
}

void bench_target_loop(struct bench_target *t)
{
	*t = (struct bench_target){ "loop", loop_block, loop_alloc, loop_free };
}

static void *libc_alloc(void *ctx, size_t bytes, unsigned order)
{
	(void)ctx, (void)order;
	return malloc(bytes);
}

static void libc_free(void *ctx, void *p, size_t bytes, unsigned order)
{
	(void)ctx, (void)bytes, (void)order;
	free(p);
}

void bench_target_malloc(struct bench_target *t, const char *name)
{
	*t = (struct bench_target){ name, NULL, libc_alloc, libc_free };
}

static void *page_alloc(void *ctx, size_t bytes, unsigned order)
{
	(void)bytes;
	return buddy_alloc_pages(ctx, order, 0);
}

static void page_free(void *ctx, void *p, size_t bytes, unsigned order)
{
	(void)bytes;
	buddy_free_pages(ctx, p, order);
}

uintptr_t bench_page_arena(void **map, size_t *map_len)
{
	*map_len = 2 * (size_t)BENCH_PAGE_ARENA;
	*map = mmap(NULL, *map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return 0;
	}
	return ((uintptr_t)*map + BENCH_PAGE_ARENA - 1) & ~(uintptr_t)(BENCH_PAGE_ARENA - 1);
}

int bench_target_page(struct bench_target *t, struct bench_page *pg, int cache)
{
	struct buddy_config cfg;
	memset(pg, 0, sizeof(*pg));
	uintptr_t base = bench_page_arena(&pg->map, &pg->map_len);
	if (!base)
		return -1;
	buddy_config_default(&cfg);
	if (cache) {
		cfg.pcp_high = BENCH_PCP_HIGH;
		cfg.pcp_max_order = BENCH_PCP_MAX_ORDER;
	}
	buddy_zone_init(&pg->zone, &cfg);
	size_t meta_len = buddy_meta_size(&pg->zone, BENCH_PAGE_ARENA);
	pg->meta = malloc(meta_len);
	if (!pg->meta || buddy_add_region(&pg->zone, (void *)base, BENCH_PAGE_ARENA,
					  pg->meta, meta_len) != BUDDY_OK) {
		bench_page_release(pg);
		return -1;
	}
	*t = (struct bench_target){ cache ? "page" : "page-nocache", &pg->zone, page_alloc,
				    page_free };
	return 0;
}

void bench_page_release(struct bench_page *pg)
{
	if (pg->map)
		munmap(pg->map, pg->map_len);
	free(pg->meta);
	memset(pg, 0, sizeof(*pg));
}

static void *heap_alloc(void *ctx, size_t bytes, unsigned order)
{
	const struct balloc *a = ctx;
	(void)order;
	return a->ops->malloc(a->self, bytes);
}

static void heap_free(void *ctx, void *p, size_t bytes, unsigned order)
{
	const struct balloc *a = ctx;
	(void)bytes, (void)order;
	a->ops->free(a->self, p);
}

void bench_target_balloc(struct bench_target *t, const struct balloc *a)
{
	*t = (struct bench_target){ a->ops->name, (void *)a, heap_alloc, heap_free };
}

/* --- The loops --- */

static inline uint64_t loop_w1(const struct bench_target *t, uint64_t ops, uint64_t *failures)
{
	void *(*alloc)(void *, size_t, unsigned) = t->alloc;
	void (*release)(void *, void *, size_t, unsigned) = t->free;
	void *ctx = t->ctx;
	for (uint64_t i = 0; i < ops; i++) {
		void *p = alloc(ctx, 4096, 0);
		if (!p) {
			(*failures)++;
			continue;
		}
		release(ctx, p, 4096, 0);
	}
	return ops;
}

static inline uint64_t loop_w2(const struct bench_target *t, uint64_t ops, void **slot,
			       unsigned char *order, uint64_t *failures)
{
	uint64_t s = BENCH_SEED, pairs = 0;
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t r = rng_next(&s);
		size_t k = (size_t)(r >> 52); /* 12 bits: 0..4095 */
		if (slot[k]) {
			t->free(t->ctx, slot[k], (size_t)4096 << order[k], order[k]);
			slot[k] = NULL;
			continue;
		}
		unsigned o = (unsigned)((uint32_t)r % 5);
		order[k] = (unsigned char)o;
		slot[k] = t->alloc(t->ctx, (size_t)4096 << o, o);
		*failures += !slot[k];
		pairs++;
	}
	for (size_t k = 0; k < BENCH_W2_SLOTS; k++)
		if (slot[k]) {
			t->free(t->ctx, slot[k], (size_t)4096 << order[k], order[k]);
			slot[k] = NULL;
		}
	return pairs;
}

static inline uint64_t loop_w3(const struct bench_target *t, uint64_t ops, void **slot,
			       uint32_t *size, uint64_t *failures)
{
	uint64_t s = BENCH_SEED, pairs = 0;
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t r = rng_next(&s);
		size_t k = (size_t)((r >> 32) % BENCH_W3_SLOTS);
		if (slot[k]) {
			t->free(t->ctx, slot[k], size[k], 0);
			slot[k] = NULL;
			continue;
		}
		size[k] = 16 + (uint32_t)r % 4081; /* 16..4096 */
		slot[k] = t->alloc(t->ctx, size[k], 0);
		*failures += !slot[k];
		pairs++;
	}
	for (size_t k = 0; k < BENCH_W3_SLOTS; k++)
		if (slot[k]) {
			t->free(t->ctx, slot[k], size[k], 0);
			slot[k] = NULL;
		}
	return pairs;
}

/*
 * The measured loops, and the same loops again under other names for the
 * warm-up, so that a profiler collecting only in bench_loop_* (callgrind
 * --toggle-collect) leaves the warm-up out.
 */
__attribute__((noinline)) uint64_t bench_loop_w1(const struct bench_target *t, uint64_t ops,
						 uint64_t *failures)
{
	return loop_w1(t, ops, failures);
}

__attribute__((noinline)) uint64_t bench_loop_w2(const struct bench_target *t, uint64_t ops,
						 void **slot, unsigned char *order,
						 uint64_t *failures)
{
	return loop_w2(t, ops, slot, order, failures);
}

__attribute__((noinline)) uint64_t bench_loop_w3(const struct bench_target *t, uint64_t ops,
						 void **slot, uint32_t *size, uint64_t *failures)
{
	return loop_w3(t, ops, slot, size, failures);
}

__attribute__((noinline)) static void warmup_run(enum bench_workload w,
						 const struct bench_target *t, uint64_t ops,
						 void **slot, uint32_t *size)
{
	uint64_t failures = 0;
	if (w == BENCH_W1)
		loop_w1(t, ops, &failures);
	else if (w == BENCH_W2)
		loop_w2(t, ops, slot, (unsigned char *)size, &failures);
	else
		loop_w3(t, ops, slot, size, &failures);
}

/* --- Runs and the median --- */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double s[BENCH_MAX_RUNS];
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), double_cmp);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int bench_run(enum bench_workload w, const struct bench_target *t, uint64_t ops, int runs,
	      struct bench_result *r)
{
	/* Slot arrays are mapped, so that the allocators under test do not hold them. */
	size_t bytes = BENCH_W3_SLOTS * (sizeof(void *) + sizeof(uint32_t));
	memset(r, 0, sizeof(*r));
	if (runs < 1)
		return -1;
	void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -1;
	void **slot = mem;
	uint32_t *size = (uint32_t *)(slot + BENCH_W3_SLOTS);
	r->runs = runs < BENCH_MAX_RUNS ? runs : BENCH_MAX_RUNS;
	/* Untimed warm-up (a quarter of the ops): the allocator maps its memory and
	 * fills its caches before the clock starts, as a long-running program has. */
	warmup_run(w, t, ops / 4, slot, size);
	for (int i = 0; i < r->runs; i++) {
		double t0 = now_ns();
		if (w == BENCH_W1)
			r->pairs = bench_loop_w1(t, ops, &r->failures);
		else if (w == BENCH_W2)
			r->pairs = bench_loop_w2(t, ops, slot, (unsigned char *)size, &r->failures);
		else
			r->pairs = bench_loop_w3(t, ops, slot, size, &r->failures);
		r->run_ns[i] = (now_ns() - t0) / (double)(r->pairs ? r->pairs : 1);
	}
	r->ns_per_pair = median(r->run_ns, r->runs);
	munmap(mem, bytes);
	return 0;
}
