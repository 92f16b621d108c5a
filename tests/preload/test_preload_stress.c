/* SPDX-License-Identifier: MIT */
/*
 * test_preload_stress.c - the process malloc under threads: rounds of
 * worker threads created and ending, each allocating every size class,
 * runs and huge blocks (malloc, calloc, memalign), growing and shrinking
 * them with realloc, freeing its own blocks and blocks other threads
 * handed over through a shared exchange, and leaving its live blocks to
 * the next round when it exits; a fork during each round, whose child
 * allocates. Every block carries a stamp, checked before it is freed,
 * moved or handed over, and every live block is checked at the end.
 * Run under ThreadSanitizer in the TSan build. STRESS_OPS scales it.
 */
#include "preload_test.h"

#include <pthread.h>

enum { THREADS = 3, ROUNDS = 6, SLOTS = 192, XCHG = 64 };

struct blk {
	unsigned char *p;
	size_t n;
	uint32_t seed;
};

/* Blocks handed between threads, and the ones left by threads that ended. */
static pthread_mutex_t xlock = PTHREAD_MUTEX_INITIALIZER;
static struct blk xchg[XCHG];
static struct blk left[THREADS * SLOTS];
static size_t nr_left;
static unsigned long bad, ops_per_thread = 40000;

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

static size_t pick_size(uint64_t *s)
{
	uint32_t r = rnd(s) % 1000;
	if (r < 600)
		return rnd(s) % 257;
	if (r < 900)
		return rnd(s) % 4097;
	if (r < 995)
		return 4097 + rnd(s) % 60000;
	return ((size_t)1 << 20) + rnd(s) % ((size_t)1 << 20);
}

static void check(const struct blk *b)
{
	/* A huge block: its ends, so a round stays short. */
	size_t n = b->n > 8192 ? 4096 : b->n;
	if (!stamp_ok(b->p, n, b->seed) ||
	    (b->n > 8192 && !stamp_ok(b->p + b->n - 4096, 4096, b->seed + 1)))
		__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
}

static void stamp(struct blk *b)
{
	size_t n = b->n > 8192 ? 4096 : b->n;
	stamp_fill(b->p, n, b->seed);
	if (b->n > 8192)
		stamp_fill(b->p + b->n - 4096, 4096, b->seed + 1);
}

static void drop(struct blk *b)
{
	if (b->p) {
		check(b);
		bmalloc_free(b->p);
		b->p = NULL;
	}
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void fresh(struct blk *b, uint64_t *s)
{
	size_t n = pick_size(s);
	uint32_t how = rnd(s) % 10;
	if (how == 0) {
		b->p = bmalloc_calloc(1, n);
		if (b->p && !all_zero(b->p, n < 512 ? n : 512))
			__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
	} else if (how == 1) {
		size_t align = (size_t)16 << (rnd(s) % 12);
		b->p = bmalloc_memalign(align, n);
		if ((uintptr_t)b->p % align)
			__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
	} else {
		b->p = bmalloc_malloc(n);
	}
	if (!b->p) {
		__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
		return;
	}
	b->n = n;
	b->seed = rnd(s);
	stamp(b);
}

static void resize(struct blk *b, uint64_t *s)
{
	size_t n = rnd(s) % 2 ? b->n * 2 + rnd(s) % 100 : b->n / 3;
	if (n > ((size_t)3 << 20))
		n = b->n / 2;
	check(b);
	/* Keep what both sizes cover: the stamp is positional. */
	unsigned char *q = bmalloc_realloc(b->p, n ? n : 1);
	if (!q) {
		__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
		return;
	}
	size_t keep = (b->n < n ? b->n : n);
	if (keep > 4096)
		keep = 4096;
	if (!stamp_ok(q, keep, b->seed))
		__atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
	b->p = q;
	b->n = n ? n : 1;
	stamp(b);
}

static void *worker(void *arg)
{
	uint64_t s = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	static __thread struct blk mine[SLOTS];
	memset(mine, 0, sizeof(mine));
	/* Adopt what the last round left. */
	pthread_mutex_lock(&xlock);
	for (int i = 0; i < SLOTS && nr_left; i++)
		mine[i] = left[--nr_left];
	pthread_mutex_unlock(&xlock);
	for (unsigned long op = 0; op < ops_per_thread; op++) {
		struct blk *b = &mine[rnd(&s) % SLOTS];
		uint32_t what = rnd(&s) % 100;
		if (!b->p) {
			fresh(b, &s);
		} else if (what < 50) {
			drop(b);
		} else if (what < 70) {
			resize(b, &s);
		} else {
			/* Swap with the exchange: another thread's block comes back. */
			check(b);
			pthread_mutex_lock(&xlock);
			struct blk *x = &xchg[rnd(&s) % XCHG];
			struct blk t = *x;
			*x = *b;
			*b = t;
			pthread_mutex_unlock(&xlock);
			if (b->p)
				check(b);
		}
	}
	/* Leave the live blocks to the next round (its threads free them). */
	pthread_mutex_lock(&xlock);
	for (int i = 0; i < SLOTS; i++)
		if (mine[i].p)
			left[nr_left++] = mine[i];
	pthread_mutex_unlock(&xlock);
	return NULL;
}

static void test_stress(void **state)
{
	(void)state;
	const char *ops = getenv("STRESS_OPS");
	/*
	 * The instrumented builds run less (every round, thread, fork and kind
	 * of operation still): memcheck a twentieth (it runs the threads one at
	 * a time, every access checked: 77 s with a tenth; with a fortieth no
	 * bin fills up to a flush), the sanitizers and the coverage build
	 * (counters on every branch: 151 s in full) a quarter.
	 */
	if (getenv("BUDDY_UNDER_VALGRIND"))
		ops_per_thread /= 20;
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__) || defined(BUDDY_TEST_COVERAGE)
	ops_per_thread /= 4;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
	ops_per_thread /= 4;
#endif
#endif
	if (ops)
		ops_per_thread = strtoul(ops, NULL, 10);
	struct bmalloc_stats a, b;
	bmalloc_free(bmalloc_malloc(1)); /* this thread's cache is made (a block of the heap) */
	bmalloc_thread_flush();
	bmalloc_get_stats(&a);
	for (int round = 0; round < ROUNDS; round++) {
		pthread_t t[THREADS];
		for (int i = 0; i < THREADS; i++)
			assert_int_equal(pthread_create(&t[i], NULL, worker,
							(void *)(uintptr_t)(round * THREADS + i + 1)),
					 0);
		/* fork while they run: the child checks and frees the exchange, then allocates. */
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			uint64_t s = 77;
			unsigned long before = bad;
			struct blk mine[64];
			for (int i = 0; i < 64; i++)
				fresh(&mine[i], &s);
			for (int i = 0; i < 64; i++)
				drop(&mine[i]);
			child_exit(bad != before ? 1 : 0);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		for (int i = 0; i < THREADS; i++)
			assert_int_equal(pthread_join(t[i], NULL), 0);
	}
	/* Every block still live: checked, then freed. */
	for (size_t i = 0; i < nr_left; i++)
		drop(&left[i]);
	for (int i = 0; i < XCHG; i++)
		drop(&xchg[i]);
	assert_int_equal(bad, 0);
	bmalloc_thread_flush();
	bmalloc_get_stats(&b);
	assert_int_equal(b.heap.live_allocs, a.heap.live_allocs);
	assert_int_equal(b.thread_exits, a.thread_exits + ROUNDS * THREADS);
	assert_true(b.refills > a.refills);
	assert_true(b.flushes > a.flushes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
