/* SPDX-License-Identifier: MIT */
/*
 * test_threads_slab.c - slab caches over a page zone that threads share
 * (the zone lock and a page set per thread, buddy/thread.h).
 *
 * A cache per thread: 4 threads (more than the machine's cores), each with
 * a cache of its own object size, slab order and reserve, allocate and
 * free at random over one small shared zone, singly and in bulk, so slabs
 * come and go through the threads' page sets (orders 0..3) and the zone
 * lock (order 4), allocations run into ENOMEM (the zone then drains the
 * other threads' page sets while they run), and caches shrink. Every
 * object is stamped with its thread and a sequence number at both ends and
 * checked before it is freed: an object or slab handed out twice would
 * carry another stamp. Each thread checks its cache (bslab_check) as it
 * goes and destroys it at the end; the zone is then back to its initial
 * blocks.
 *
 * One cache that threads share: the cache's lock hooks hold a pthread
 * mutex; 4 threads allocate, free in bulk, hand objects to another thread
 * that checks the stamp and frees them, shrink the cache and read its
 * statistics and slabinfo line while the others run.
 *
 * Configurations: 4096-byte pages with the mutex and the heavy barrier,
 * 1024-byte pages with the spin lock and no barrier. BUDDY_THREADS_OPS
 * sets the total operations (default 4,000,000; divided by 100 under
 * valgrind, 20 under TSan and the expensive debug tier).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buddy/page.h"
#include "buddy/slab.h"
#include "buddy/thread.h"
#include "page_fixture.h"
#include "threads_test.h"

#define THREADS 4
#define HELD 192  /* objects a thread holds at most */
#define INBOX 32  /* objects waiting for another thread to free them */
#define NR_CONFIGS 2

/* Zones of 512 KiB: less than the threads would hold, so allocations fail at times. */
struct config {
	size_t page_size;
	size_t zone_pages;
	enum buddy_lock_kind lock;
	unsigned flags; /* BUDDY_THREAD_NO_BARRIER */
};

static const struct config configs[NR_CONFIGS] = {
	{ 4096, 128, BUDDY_LOCK_MUTEX, 0 },
	{ 1024, 512, BUDDY_LOCK_SPIN, BUDDY_THREAD_NO_BARRIER },
};

/* Per thread of the cache-per-thread test: object size, slab order, reserve. */
struct cache_shape {
	size_t size;
	unsigned order; /* BSLAB_ORDER_AUTO or a fixed order */
	unsigned reserve;
	unsigned small_slabs;
};

static const struct cache_shape shapes[THREADS] = {
	{ 24, BSLAB_ORDER_AUTO, 1, 0 },
	{ 200, BSLAB_ORDER_AUTO, 0, 2 },
	{ 1000, 4, 0, 0 }, /* order 4: above the page sets' orders, through the zone lock */
	{ 3000, BSLAB_ORDER_AUTO, 1, 1 },
};

struct held {
	uint64_t *p;
	uint64_t stamp;
};

struct inbox {
	pthread_mutex_t lock;
	struct held h[INBOX];
	unsigned n;
};

struct run {
	const struct config *cfg;
	struct buddy_zone zone;
	struct buddy_thread_lock lk;
	void *arena;
	struct bslab_cache shared; /* the shared-cache test */
	pthread_mutex_t shared_lock;
	struct bslab_hooks shared_hooks;
	struct inbox in[THREADS];
	unsigned long steps; /* per thread */
	pthread_barrier_t start; /* the threads start together */
	int failed;          /* atomic */
	char failure[256];
	pthread_mutex_t fail_lock;
};

struct worker {
	struct run *run;
	pthread_t th;
	uint64_t rng;
	uint64_t seq;
	struct bslab_cache own; /* the cache-per-thread test */
	struct bslab_cache *c;  /* the cache this thread uses */
	size_t size;
	struct held held[HELD];
	int id;
	unsigned limit; /* objects held at most */
	unsigned n;
	unsigned long ops, allocs, enomem, bulk, handoffs, shrunk, checks;
	uint64_t slabs; /* slabs its own cache took */
};

static unsigned long ops_done;

static void run_fail(struct run *run, const char *fmt, ...)
{
	pthread_mutex_lock(&run->fail_lock);
	if (!__atomic_load_n(&run->failed, __ATOMIC_RELAXED)) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(run->failure, sizeof(run->failure), fmt, ap);
		va_end(ap);
		__atomic_store_n(&run->failed, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&run->fail_lock);
}

static int run_failed(struct run *run)
{
	return __atomic_load_n(&run->failed, __ATOMIC_RELAXED);
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static unsigned rng_below(struct worker *w, unsigned n)
{
	return (unsigned)((rng_next(&w->rng) >> 11) % n);
}

static unsigned long total_ops(void)
{
	const char *env = getenv("BUDDY_THREADS_OPS");
	unsigned long n = env ? strtoul(env, NULL, 10) : 4000000ul;
	return n / threads_test_scale();
}

/* --- stamps at both ends of every held object --- */

static void stamp(struct worker *w, struct held *h)
{
	h->stamp = ((uint64_t)(unsigned)w->id << 48) | ++w->seq;
	h->p[0] = h->stamp;
	h->p[w->size / 8 - 1] = ~h->stamp;
}

static int stamp_ok(const struct worker *w, const struct held *h)
{
	return h->p[0] == h->stamp && h->p[w->size / 8 - 1] == ~h->stamp;
}

/* Check h's stamps and free it; 0 on success. */
static int release(struct worker *w, const struct held *h, int from)
{
	if (!stamp_ok(w, h)) {
		run_fail(w->run, "thread %d: object %p from thread %d holds another stamp", w->id,
			 (void *)h->p, from);
		return -1;
	}
	int st = bslab_free(w->c, h->p);
	if (st != BSLAB_OK) {
		run_fail(w->run, "thread %d: free of %p: %s", w->id, (void *)h->p,
			 bslab_strerror(st));
		return -1;
	}
	return 0;
}

static void drop_held(struct worker *w, unsigned i)
{
	if (release(w, &w->held[i], w->id) == 0)
		w->held[i] = w->held[--w->n];
}

static void note_enomem(struct worker *w)
{
	int st = bslab_last_error(w->c);
	if (st != BSLAB_ENOMEM)
		run_fail(w->run, "thread %d: alloc failed with %s", w->id, bslab_strerror(st));
	w->enomem++;
	while (w->n > w->limit / 2 && !run_failed(w->run))
		drop_held(w, rng_below(w, w->n));
}

static void take_one(struct worker *w)
{
	uint64_t *p = bslab_alloc(w->c, 0);
	if (!p) {
		note_enomem(w);
		return;
	}
	if ((uintptr_t)p % 8) {
		run_fail(w->run, "thread %d: object %p is not aligned", w->id, (void *)p);
		return;
	}
	w->held[w->n].p = p;
	stamp(w, &w->held[w->n++]);
	w->allocs++;
}

/* Eight objects at once, all or nothing, then freed in bulk half the time. */
static void take_bulk(struct worker *w)
{
	void *objs[8];
	if (w->n + 8 > w->limit)
		return;
	if (bslab_alloc_bulk(w->c, BSLAB_ZERO, 8, objs) != 8) {
		note_enomem(w);
		return;
	}
	w->bulk++;
	for (unsigned i = 0; i < 8; i++) {
		const unsigned char *b = objs[i];
		for (size_t k = 0; k < w->size; k += 61)
			if (b[k]) {
				run_fail(w->run, "thread %d: zeroed object %p has a nonzero byte", w->id,
					 objs[i]);
				return;
			}
	}
	if (rng_below(w, 2)) {
		size_t done = 0;
		int st = bslab_free_bulk(w->c, 8, objs, &done);
		if (st != BSLAB_OK || done != 8)
			run_fail(w->run, "thread %d: free_bulk: %s after %zu", w->id,
				 bslab_strerror(st), done);
		return;
	}
	for (unsigned i = 0; i < 8; i++) {
		w->held[w->n].p = objs[i];
		stamp(w, &w->held[w->n++]);
	}
	w->allocs += 8;
}

static void check_report(void *arg, const char *msg)
{
	struct worker *w = arg;
	run_fail(w->run, "thread %d: bslab_check: %s", w->id, msg);
}

/* --- a cache per thread --- */

static void *own_cache_main(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;
	const struct cache_shape *sh = &shapes[w->id];
	struct bslab_config cfg;
	char name[BSLAB_NAME_MAX];

	snprintf(name, sizeof(name), "thread%d-%zu", w->id, sh->size);
	bslab_config_default(&cfg);
	cfg.name = name;
	cfg.size = sh->size;
	cfg.order = sh->order;
	cfg.max_order = 3;
	cfg.reserve = sh->reserve;
	cfg.small_slabs = sh->small_slabs;
	cfg.random = rng_next(&w->rng);
	int st = bslab_cache_create(&w->own, &run->zone, &cfg);
	pthread_barrier_wait(&run->start);
	if (st != BSLAB_OK) {
		run_fail(run, "thread %d: cache_create: %s", w->id, bslab_strerror(st));
		return NULL;
	}
	w->c = &w->own;
	w->size = sh->size;
	w->limit = sh->size > 2048 ? HELD / 2 : HELD;
	for (unsigned long i = 0; i < run->steps && !run_failed(run); i++) {
		unsigned r = rng_below(w, 100);
		w->ops++;
		if (r < 50 && w->n < w->limit)
			take_one(w);
		else if (r < 53)
			take_bulk(w);
		else if (r == 53)
			w->shrunk += bslab_shrink(w->c);
		else if (w->n)
			drop_held(w, rng_below(w, w->n));
		if (i % 1024 == 1023) {
			w->checks++;
			if (bslab_check(w->c, check_report, w) != 0)
				break;
		}
	}
	while (w->n && !run_failed(run))
		drop_held(w, w->n - 1);
	if (run_failed(run))
		return NULL;
	struct bslab_stats s;
	bslab_get_stats(w->c, &s);
	if (s.active_objs != 0 || s.allocs != s.frees)
		run_fail(run, "thread %d: %zu objects active after freeing all", w->id, s.active_objs);
	w->slabs = s.slabs_allocated;
	bslab_check(w->c, check_report, w);
	st = bslab_cache_destroy(w->c);
	if (st != BSLAB_OK)
		run_fail(run, "thread %d: cache_destroy: %s", w->id, bslab_strerror(st));
	return NULL;
}

/* --- one cache that threads share --- */

static void shared_lock(void *arg, struct bslab_cache *c)
{
	(void)c;
	pthread_mutex_lock(arg);
}

static void shared_unlock(void *arg, struct bslab_cache *c)
{
	(void)c;
	pthread_mutex_unlock(arg);
}

/* Give one held object to the next thread, which checks and frees it. */
static void hand_off(struct worker *w)
{
	struct inbox *in = &w->run->in[(w->id + 1) % THREADS];
	unsigned i = rng_below(w, w->n);
	pthread_mutex_lock(&in->lock);
	if (in->n < INBOX) {
		in->h[in->n++] = w->held[i];
		w->held[i] = w->held[--w->n];
		w->handoffs++;
	}
	pthread_mutex_unlock(&in->lock);
}

/* Free what other threads handed over. */
static void empty_inbox(struct worker *w)
{
	struct inbox *in = &w->run->in[w->id];
	struct held h[INBOX];
	unsigned n;
	pthread_mutex_lock(&in->lock);
	n = in->n;
	memcpy(h, in->h, n * sizeof(h[0]));
	in->n = 0;
	pthread_mutex_unlock(&in->lock);
	for (unsigned i = 0; i < n; i++)
		release(w, &h[i], (int)(h[i].stamp >> 48));
}

static void *shared_cache_main(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;
	char line[256];
	w->c = &run->shared;
	w->size = run->shared.size;
	w->limit = HELD;
	pthread_barrier_wait(&run->start);
	for (unsigned long i = 0; i < run->steps && !run_failed(run); i++) {
		unsigned r = rng_below(w, 100);
		w->ops++;
		if (r < 45 && w->n < w->limit)
			take_one(w);
		else if (r < 48)
			take_bulk(w);
		else if (r < 60 && w->n)
			hand_off(w);
		else if (r < 70)
			empty_inbox(w);
		else if (r == 70 && w->id == 0)
			w->shrunk += bslab_shrink(w->c);
		else if (r == 71) {
			struct bslab_stats s;
			bslab_get_stats(w->c, &s);
			if (s.total_objs < s.active_objs || bslab_slabinfo(w->c, line, sizeof(line)) == 0)
				run_fail(run, "stats: %zu of %zu objects active", s.active_objs,
					 s.total_objs);
		} else if (w->n)
			drop_held(w, rng_below(w, w->n));
	}
	while (w->n && !run_failed(run))
		drop_held(w, w->n - 1);
	return NULL;
}

/* --- the runs --- */

static void run_init(struct run *run, const struct config *cfg)
{
	struct buddy_config bc;
	memset(run, 0, sizeof(*run));
	run->cfg = cfg;
	pthread_mutex_init(&run->fail_lock, NULL);
	buddy_config_default(&bc);
	bc.page_size = cfg->page_size;
	bc.pcp_high = 24;
	bc.pcp_max_order = 3;
	assert_int_equal(buddy_thread_config(&bc, &run->lk, cfg->lock,
					     cfg->flags | BUDDY_THREAD_PAGESETS),
			 0);
	assert_int_equal(buddy_zone_init(&run->zone, &bc), BUDDY_OK);
	run->arena = fx_arena(cfg->page_size, cfg->zone_pages, (size_t)64 << 10); /* the largest slab */
	fx_add(&run->zone, run->arena, cfg->zone_pages);
	run->steps = total_ops() / (2 * NR_CONFIGS) / THREADS + 1;
	for (int i = 0; i < THREADS; i++)
		pthread_mutex_init(&run->in[i].lock, NULL);
	pthread_barrier_init(&run->start, NULL, THREADS);
}

static unsigned long run_threads(struct run *run, struct worker *w, void *(*fn)(void *))
{
	unsigned long ops = 0;
	for (int i = 0; i < THREADS; i++) {
		w[i].run = run;
		w[i].id = i;
		w[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1) ^ run->cfg->page_size;
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&w[i].th, NULL, fn, &w[i]), 0);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(w[i].th, NULL);
		ops += w[i].ops;
	}
	if (run->failed)
		fail_msg("%zu-byte pages: %s", run->cfg->page_size, run->failure);
	struct buddy_stats st;
	buddy_get_stats(&run->zone, &st);
	assert_int_equal(st.nr_pagesets, 0); /* each went back as its thread exited */
	return ops;
}

/*
 * Every page back in the zone, which is clean and whole again (the main
 * thread's own page set, made when it freed what was left in the inboxes,
 * goes back first).
 */
static void run_fini(struct run *run, const char *initial)
{
	struct buddy_stats st;
	buddy_thread_zone_fini(&run->zone);
	buddy_get_stats(&run->zone, &st);
	assert_int_equal(st.nr_pagesets, 0);
	assert_int_equal(st.used_pages, 0);
	assert_int_equal(st.allocs, st.frees);
	buddy_drain_cache(&run->zone);
	assert_int_equal(fx_check(&run->zone), 0);
	assert_string_equal(fx_info(&run->zone), initial);
	buddy_thread_lock_destroy(&run->lk);
	for (int i = 0; i < THREADS; i++)
		pthread_mutex_destroy(&run->in[i].lock);
	pthread_mutex_destroy(&run->fail_lock);
	pthread_barrier_destroy(&run->start);
	fx_arena_free(run->arena);
	fx_cleanup();
}

static void test_a_cache_per_thread(void **state)
{
	(void)state;
	for (size_t k = 0; k < NR_CONFIGS; k++) {
		static struct run run;
		static struct worker w[THREADS];
		char initial[512];
		memset(w, 0, sizeof(w));
		run_init(&run, &configs[k]);
		snprintf(initial, sizeof(initial), "%s", fx_info(&run.zone));
		unsigned long ops = run_threads(&run, w, own_cache_main);
		unsigned long enomem = 0, bulk = 0, shrunk = 0, checks = 0, slabs = 0;
		for (int i = 0; i < THREADS; i++) {
			slabs += w[i].slabs;
			enomem += w[i].enomem;
			bulk += w[i].bulk;
			shrunk += w[i].shrunk;
			checks += w[i].checks;
		}
		printf("a cache per thread, %4zu-byte pages, %s lock: %lu operations, %lu bulk "
		       "allocations, %lu ENOMEM, %lu slabs taken, %lu shrunk, %lu checks\n",
		       run.cfg->page_size, run.cfg->lock == BUDDY_LOCK_SPIN ? "spin" : "mutex", ops,
		       bulk, enomem, slabs, shrunk, checks);
		assert_true(slabs > THREADS); /* slabs came and went */
		ops_done += ops;
		run_fini(&run, initial);
	}
}

static void test_a_shared_cache(void **state)
{
	(void)state;
	for (size_t k = 0; k < NR_CONFIGS; k++) {
		static struct run run;
		static struct worker w[THREADS];
		struct bslab_config cfg;
		char initial[512];
		memset(w, 0, sizeof(w));
		run_init(&run, &configs[k]);
		snprintf(initial, sizeof(initial), "%s", fx_info(&run.zone));
		pthread_mutex_init(&run.shared_lock, NULL);
		run.shared_hooks.lock = shared_lock;
		run.shared_hooks.unlock = shared_unlock;
		run.shared_hooks.arg = &run.shared_lock;
		bslab_config_default(&cfg);
		cfg.name = "shared-96";
		cfg.size = 96;
		cfg.reserve = 2;
		cfg.hooks = &run.shared_hooks;
		assert_int_equal(bslab_cache_create(&run.shared, &run.zone, &cfg), BSLAB_OK);
		unsigned long ops = run_threads(&run, w, shared_cache_main);
		unsigned long handoffs = 0, shrunk = 0;
		for (int i = 0; i < THREADS; i++) {
			struct worker *x = &w[i];
			x->c = &run.shared;
			empty_inbox(x); /* what was handed over last */
			handoffs += x->handoffs;
			shrunk += x->shrunk;
		}
		if (run.failed)
			fail_msg("%s", run.failure);
		struct bslab_stats s;
		bslab_get_stats(&run.shared, &s);
		assert_int_equal(s.active_objs, 0);
		assert_true(s.allocs == s.frees);
		assert_true(s.slabs_allocated > 1);
		assert_true(handoffs > 0);
		assert_int_equal(bslab_check(&run.shared, NULL, NULL), 0);
		assert_int_equal(bslab_cache_destroy(&run.shared), BSLAB_OK);
		pthread_mutex_destroy(&run.shared_lock);
		printf("a shared cache, %4zu-byte pages, %s lock: %lu operations, %lu hand-offs, "
		       "%llu slabs taken, %lu shrunk\n",
		       run.cfg->page_size, run.cfg->lock == BUDDY_LOCK_SPIN ? "spin" : "mutex", ops,
		       handoffs, (unsigned long long)s.slabs_allocated, shrunk);
		ops_done += ops;
		run_fini(&run, initial);
	}
}

static void test_ops_done(void **state)
{
	(void)state;
	printf("slab caches over a shared zone: %lu operations in total\n", ops_done);
	assert_true(ops_done >= total_ops());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_cache_per_thread),
		cmocka_unit_test(test_a_shared_cache),
		cmocka_unit_test(test_ops_done),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
