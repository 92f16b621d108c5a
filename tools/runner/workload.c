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

#include <pthread.h>
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
	static const char *const names[] = { "W1", "W2", "W3", "W4" };
	return w < BENCH_NR_WORKLOADS ? names[w] : "?";
}

int bench_workload_parse(const char *name)
{
	for (int w = 0; w < BENCH_NR_WORKLOADS; w++)
		if (strcasecmp(name, bench_workload_name((enum bench_workload)w)) == 0)
			return w;
	return -1;
}

enum bench_workload bench_w4_part(void)
{
	const char *p = getenv("BUDDY_BENCH_W4");
	int w = p ? bench_workload_parse(p) : -1;
	return w == BENCH_W1 || w == BENCH_W2 ? (enum bench_workload)w : BENCH_W4;
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

/* An aligned arena of len bytes (a multiple of BENCH_PAGE_ARENA); its base, or 0. */
static uintptr_t page_arena(void **map, size_t *map_len, size_t len)
{
	*map_len = len + BENCH_PAGE_ARENA;
	*map = mmap(NULL, *map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return 0;
	}
	return ((uintptr_t)*map + BENCH_PAGE_ARENA - 1) & ~(uintptr_t)(BENCH_PAGE_ARENA - 1);
}

uintptr_t bench_page_arena(void **map, size_t *map_len)
{
	return page_arena(map, map_len, BENCH_PAGE_ARENA);
}

static const char *const page_mode_names[] = { "page", "page-lock", "page-single", "page-nocache" };

int bench_page_mode_parse(const char *name)
{
	for (int m = 0; m < 4; m++)
		if (strcmp(name, page_mode_names[m]) == 0)
			return m;
	return -1;
}

/* The shared zone through the calling thread's page set (buddy/thread.h, inline). */
static void *page_alloc_thread(void *ctx, size_t bytes, unsigned order)
{
	(void)bytes;
	return buddy_thread_alloc_pages(ctx, order, 0);
}

static void page_free_thread(void *ctx, void *p, size_t bytes, unsigned order)
{
	(void)bytes;
	buddy_thread_free_pages(ctx, p, order);
}

int bench_target_page(struct bench_target *t, struct bench_page *pg, enum bench_page_mode mode,
		      unsigned arenas)
{
	struct buddy_config cfg;
	size_t len = (size_t)BENCH_PAGE_ARENA * (arenas ? arenas : 1);
	memset(pg, 0, sizeof(*pg));
	uintptr_t base = page_arena(&pg->map, &pg->map_len, len);
	if (!base)
		return -1;
	buddy_config_default(&cfg);
	if (mode != BENCH_PAGE_NOCACHE) {
		cfg.pcp_high = BENCH_PCP_HIGH;
		cfg.pcp_max_order = BENCH_PCP_MAX_ORDER;
	}
	if (mode == BENCH_PAGE_SHARED || mode == BENCH_PAGE_LOCK) {
		/* BUDDY_BENCH_LOCK=mutex|spin: the lock to measure (default: the helper's). */
		const char *lk = getenv("BUDDY_BENCH_LOCK");
		enum buddy_lock_kind kind = !lk ? BUDDY_LOCK_DEFAULT
				: strcmp(lk, "spin") == 0 ? BUDDY_LOCK_SPIN : BUDDY_LOCK_MUTEX;
		/* BUDDY_BENCH_STRICT=1: strict frees (buddy_config.strict_frees), to measure them. */
		const char *strict = getenv("BUDDY_BENCH_STRICT");
		unsigned flags = (mode == BENCH_PAGE_SHARED ? BUDDY_THREAD_PAGESETS : 0) |
				 (strict && strcmp(strict, "1") == 0 ? BUDDY_THREAD_STRICT : 0);
		if (buddy_thread_config(&cfg, &pg->lock, kind, flags) != 0) {
			bench_page_release(pg);
			return -1;
		}
		pg->locked = 1;
	}
	buddy_zone_init(&pg->zone, &cfg);
	size_t meta_len = buddy_meta_size(&pg->zone, len);
	pg->meta = malloc(meta_len);
	if (!pg->meta || buddy_add_region(&pg->zone, (void *)base, len, pg->meta, meta_len) != BUDDY_OK) {
		bench_page_release(pg);
		return -1;
	}
	*t = (struct bench_target){ page_mode_names[mode], &pg->zone,
				    mode == BENCH_PAGE_SHARED ? page_alloc_thread : page_alloc,
				    mode == BENCH_PAGE_SHARED ? page_free_thread : page_free };
	return 0;
}

void bench_page_release(struct bench_page *pg)
{
	if (pg->locked) {
		buddy_thread_zone_fini(&pg->zone);
		buddy_thread_lock_destroy(&pg->lock);
	}
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
	if (runs < 1 || w >= BENCH_W4)
		return -1; /* W4: bench_run_threads */
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

/* --- W4: threads --- */

struct w4_thread {
	const struct bench_target *t;
	uint64_t ops;
	pthread_barrier_t *start, *stop;
	int runs;
	int w1, w2; /* the parts each thread times */
	uint64_t pairs, failures;
	void *slot[BENCH_W2_SLOTS];
	unsigned char order[BENCH_W2_SLOTS];
};

static void *w4_main(void *arg)
{
	struct w4_thread *th = arg;
	/* Warm-up as bench_run's, then the runs between the barriers. */
	loop_w1(th->t, th->ops / 4, &th->failures);
	loop_w2(th->t, th->ops / 4, th->slot, th->order, &th->failures);
	th->failures = 0;
	for (int i = 0; i < th->runs; i++) {
		pthread_barrier_wait(th->start);
		th->pairs = th->w1 ? bench_loop_w1(th->t, th->ops, &th->failures) : 0;
		if (th->w2)
			th->pairs += bench_loop_w2(th->t, th->ops, th->slot, th->order, &th->failures);
		pthread_barrier_wait(th->stop);
	}
	return NULL;
}

int bench_run_threads(const struct bench_target *t, int threads, uint64_t ops, int runs,
		      struct bench_result *r)
{
	pthread_barrier_t start, stop;
	pthread_t tid[BENCH_MAX_THREADS];
	memset(r, 0, sizeof(*r));
	if (threads < 1 || threads > BENCH_MAX_THREADS || runs < 1)
		return -1;
	size_t bytes = (size_t)threads * sizeof(struct w4_thread);
	struct w4_thread *th = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (th == MAP_FAILED)
		return -1;
	r->runs = runs < BENCH_MAX_RUNS ? runs : BENCH_MAX_RUNS;
	pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&stop, NULL, (unsigned)threads + 1);
	/* BUDDY_BENCH_W4=W1|W2: time only that part in each thread, to tell which one
	 * limits the scaling. */
	enum bench_workload part = bench_w4_part();
	int w1 = part != BENCH_W2, w2 = part != BENCH_W1;
	int started = 0;
	for (; started < threads; started++) {
		th[started] = (struct w4_thread){ .t = t, .ops = ops, .start = &start, .stop = &stop,
						  .runs = r->runs, .w1 = w1, .w2 = w2 };
		if (pthread_create(&tid[started], NULL, w4_main, &th[started]) != 0)
			break;
	}
	if (started < threads)
		abort(); /* the barriers wait for every thread: nothing sensible is left to do */
	for (int i = 0; i < r->runs; i++) {
		pthread_barrier_wait(&start);
		double t0 = now_ns();
		pthread_barrier_wait(&stop);
		r->pairs = th[0].pairs;
		r->run_ns[i] = (now_ns() - t0) / (double)(r->pairs ? r->pairs : 1);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		r->failures += th[i].failures;
	}
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&stop);
	r->ns_per_pair = median(r->run_ns, r->runs);
	munmap(th, bytes);
	return 0;
}
