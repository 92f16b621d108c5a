/* SPDX-License-Identifier: MIT */
/*
 * test_threads_stress.c - the multi-threaded model stress of a shared page
 * zone. 2, 4 and 8 threads (more than the machine's cores) allocate blocks
 * of mixed orders and exact page counts, stamp every page they hold with
 * their thread id and a sequence number, check the stamps before each free
 * (a page handed out twice would carry another thread's stamp), free their
 * own blocks, hand others to another thread that checks, re-stamps and
 * frees them, resize, drain every cache, and take a spare region out and
 * put it back while the others run. Phases alternate: in one the threads
 * hold so much that allocations run into ENOMEM often (page sets are then
 * drained while their owners work), in the next so little that the spare
 * region can go. At quiescent points (all
 * threads at a barrier) buddy_check is clean and the counts add up to
 * what the threads hold; at the end every region is back to its initial
 * blocks. Configurations: page sets through the hosted helper (buddy/
 * thread.h), page sets passed explicitly, or none (the zone lock alone);
 * mutex and spin locks; with and without the membarrier protocol; pages of
 * 16, 64, 256 and 4096 bytes.
 *
 * BUDDY_THREADS_OPS sets the total operations over all configurations
 * (default 10,500,000; divided by 100 under valgrind, 20 under TSan).
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
#include "buddy/thread.h"
#include "page_fixture.h"
#include "threads_test.h"

#define MAX_THREADS 8
#define HELD 48          /* blocks a thread holds at most */
#define INBOX 16         /* blocks waiting to be freed by a thread */
#define PHASES 8         /* quiescent checks per configuration */
#define NR_REGIONS 3     /* the last one is the spare taken out and put back */

enum ps_mode { PS_NONE, PS_HOOK, PS_EXPLICIT };
enum held_kind { K_ORDER, K_EXACT, K_ANY };

struct held {
	unsigned char *p;
	size_t pages;
	unsigned order; /* K_ORDER, K_ANY */
	int kind;
	uint64_t seq;
};

struct inbox {
	pthread_mutex_t lock;
	struct held h[INBOX];
	int from[INBOX];
	unsigned n;
};

struct config {
	size_t page_size;
	int threads;
	enum ps_mode ps;
	enum buddy_lock_kind lock;
	unsigned flags; /* BUDDY_THREAD_NO_BARRIER */
	int outside;    /* buddy_config.outside_links */
};

struct worker;

struct run {
	const struct config *cfg;
	struct buddy_zone zone;
	struct buddy_thread_lock lk;
	void *arena[NR_REGIONS];
	size_t region_pages[NR_REGIONS];
	int spare_in; /* the spare region is in the zone (thread 0 only) */
	pthread_barrier_t barrier;
	unsigned long steps; /* per thread per phase */
	struct worker *w;
	int failed;
	char failure[256];
	pthread_mutex_t fail_lock;
};

struct worker {
	struct run *run;
	int id;
	pthread_t th;
	uint64_t rng;
	uint64_t seq;
	struct held held[HELD];
	unsigned n;
	unsigned limit; /* blocks held at most in this phase */
	struct inbox in;
	struct buddy_pageset ps;
	/* counts */
	unsigned long ops, allocs, enomem, frees, handoffs, resizes, drains, removes;
};

static void run_fail(struct run *run, const char *fmt, ...)
{
	pthread_mutex_lock(&run->fail_lock);
	if (!run->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(run->failure, sizeof(run->failure), fmt, ap);
		va_end(ap);
		run->failed = 1;
	}
	pthread_mutex_unlock(&run->fail_lock);
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

/* --- stamps: every page of a held block says who holds it --- */

static void stamp(struct worker *w, struct held *h)
{
	size_t ps = w->run->cfg->page_size;
	for (size_t i = 0; i < h->pages; i++) {
		uint64_t *s = (uint64_t *)(h->p + i * ps);
		s[0] = ((uint64_t)(unsigned)w->id << 32) | (uint32_t)i;
		s[1] = h->seq;
	}
}

static int stamp_ok(struct worker *w, const struct held *h, int holder)
{
	size_t ps = w->run->cfg->page_size;
	for (size_t i = 0; i < h->pages; i++) {
		const uint64_t *s = (const uint64_t *)(h->p + i * ps);
		if (s[0] != (((uint64_t)(unsigned)holder << 32) | (uint32_t)i) || s[1] != h->seq) {
			run_fail(w->run, "thread %d: page %zu of block %p (seq %llu) holds another stamp",
				 w->id, i, (void *)h->p, (unsigned long long)h->seq);
			return 0;
		}
	}
	return 1;
}

/* --- operations --- */

static void *alloc_order(struct worker *w, unsigned order)
{
	if (w->run->cfg->ps == PS_EXPLICIT)
		return buddy_pageset_alloc_pages(&w->ps, order, 0);
	return buddy_alloc_pages(&w->run->zone, order, 0);
}

static void op_alloc(struct worker *w)
{
	struct held h = { 0 };
	unsigned r = rng_below(w, 100);
	if (w->n >= w->limit)
		return;
	if (r < 75) {
		h.order = r < 60 ? rng_below(w, 4) : 4 + rng_below(w, 3); /* mostly cached orders */
		h.pages = (size_t)1 << h.order;
		h.kind = rng_below(w, 4) == 0 ? K_ANY : K_ORDER;
		h.p = alloc_order(w, h.order);
	} else {
		h.pages = 1 + rng_below(w, 40);
		h.kind = K_EXACT;
		unsigned flags = rng_below(w, 8) ? 0 : BUDDY_ZERO;
		h.p = buddy_alloc_pages_exact(&w->run->zone, h.pages, flags);
		for (size_t i = 0; h.p && flags && i < h.pages * w->run->cfg->page_size; i++)
			if (h.p[i])
				run_fail(w->run, "BUDDY_ZERO block %p has a nonzero byte", (void *)h.p);
	}
	if (!h.p) {
		w->enomem++;
		return;
	}
	if ((uintptr_t)h.p % w->run->cfg->page_size)
		run_fail(w->run, "block %p is not page aligned", (void *)h.p);
	h.seq = ++w->seq;
	stamp(w, &h);
	w->held[w->n++] = h;
	w->allocs++;
}

static void free_block(struct worker *w, const struct held *h)
{
	struct buddy_zone *z = &w->run->zone;
	int st;
	if (h->kind == K_EXACT)
		st = buddy_free_pages_exact(z, h->p, h->pages);
	else if (h->kind == K_ANY)
		st = buddy_free(z, h->p);
	else if (w->run->cfg->ps == PS_EXPLICIT)
		st = buddy_pageset_free_pages(&w->ps, h->p, h->order);
	else
		st = buddy_free_pages(z, h->p, h->order);
	if (st != BUDDY_OK)
		run_fail(w->run, "thread %d: free of %p (%zu pages) failed: %s", w->id, (void *)h->p,
			 h->pages, buddy_strerror(st));
	w->frees++;
}

static struct held take(struct worker *w, unsigned i)
{
	struct held h = w->held[i];
	w->held[i] = w->held[--w->n];
	return h;
}

static void op_free(struct worker *w)
{
	if (!w->n)
		return;
	struct held h = take(w, rng_below(w, w->n));
	if (stamp_ok(w, &h, w->id))
		free_block(w, &h);
}

/* Hand a block to another thread, which checks the stamps and frees it. */
static void op_handoff(struct worker *w)
{
	int nth = w->run->cfg->threads;
	if (!w->n)
		return;
	struct worker *to = &w->run->w[(w->id + 1 + rng_below(w, (unsigned)nth - 1)) % nth];
	pthread_mutex_lock(&to->in.lock);
	if (to->in.n < INBOX) {
		to->in.from[to->in.n] = w->id;
		to->in.h[to->in.n++] = take(w, rng_below(w, w->n));
		w->handoffs++;
	}
	pthread_mutex_unlock(&to->in.lock);
}

/* Blocks handed to w: checked, then kept (re-stamped) or freed. */
static void take_inbox(struct worker *w, int keep)
{
	struct inbox got;
	pthread_mutex_lock(&w->in.lock);
	got.n = w->in.n;
	memcpy(got.h, w->in.h, sizeof(got.h));
	memcpy(got.from, w->in.from, sizeof(got.from));
	w->in.n = 0;
	pthread_mutex_unlock(&w->in.lock);
	for (unsigned i = 0; i < got.n; i++) {
		struct held h = got.h[i];
		if (!stamp_ok(w, &h, got.from[i]))
			continue;
		if (keep && w->n < w->limit && rng_below(w, 2)) {
			h.seq = ++w->seq;
			stamp(w, &h);
			w->held[w->n++] = h;
		} else {
			free_block(w, &h);
		}
	}
}

/* Shrink or grow a block of one order in place; the new pages get stamps. */
static void op_resize(struct worker *w)
{
	if (!w->n)
		return;
	unsigned i = rng_below(w, w->n);
	struct held *h = &w->held[i];
	if (h->kind == K_EXACT)
		return;
	unsigned to = h->order ? (rng_below(w, 2) ? h->order - 1 : h->order + 1) : 1;
	if (!stamp_ok(w, h, w->id))
		return;
	int st = buddy_resize(&w->run->zone, h->p, to);
	if (st == BUDDY_OK) {
		h->order = to;
		h->pages = (size_t)1 << to;
		h->kind = K_ANY; /* buddy_free, whatever the page set's orders */
		stamp(w, h);
		w->resizes++;
	} else if (st != BUDDY_ENOMEM) {
		run_fail(w->run, "resize of %p to order %u: %s", (void *)h->p, to, buddy_strerror(st));
	}
}

/* Thread 0 takes the spare region out and puts it back. */
static void op_spare(struct worker *w)
{
	struct run *run = w->run;
	void *base = run->arena[NR_REGIONS - 1];
	if (run->spare_in) {
		int st = buddy_remove_region(&run->zone, base);
		if (st == BUDDY_OK) {
			run->spare_in = 0;
			w->removes++;
		} else if (st != BUDDY_EBUSY) {
			run_fail(run, "remove_region: %s", buddy_strerror(st));
		}
	} else {
		size_t len = run->region_pages[NR_REGIONS - 1] * run->cfg->page_size;
		int st = buddy_add_region(&run->zone, base, len, NULL, 0);
		if (st != BUDDY_OK)
			run_fail(run, "add_region: %s", buddy_strerror(st));
		run->spare_in = 1;
	}
}

static void step(struct worker *w)
{
	unsigned r = rng_below(w, 1000);
	if (w->n > w->limit || (r >= 440 && r < 800))
		op_free(w); /* (past the limit: a calm phase starts, shed blocks) */
	else if (r < 440)
		op_alloc(w);
	else if (r < 900)
		op_handoff(w);
	else if (r < 960)
		take_inbox(w, 1);
	else if (r < 990)
		op_resize(w);
	else if (r < 993) {
		buddy_drain_cache(&w->run->zone);
		w->drains++;
	} else if (r < 996 && w->id == 0)
		op_spare(w);
	w->ops++;
}

/* --- quiescent checks --- */

static void report(void *arg, const char *msg)
{
	run_fail(arg, "buddy_check: %s", msg);
}

/* All threads stopped at the barrier: the zone agrees with what they hold. */
static void quiescent_check(struct run *run)
{
	struct buddy_stats st;
	size_t pages = 0, live = 0;
	for (int i = 0; i < run->cfg->threads; i++) {
		const struct worker *w = &run->w[i];
		for (unsigned j = 0; j < w->n; j++)
			pages += w->held[j].pages;
		for (unsigned j = 0; j < w->in.n; j++)
			pages += w->in.h[j].pages;
		live += w->n + w->in.n;
	}
	buddy_check(&run->zone, report, run);
	buddy_get_stats(&run->zone, &st);
	if (st.used_pages != pages)
		run_fail(run, "quiescent: used_pages %zu, the threads hold %zu", st.used_pages, pages);
	if (st.allocs - st.frees != live)
		run_fail(run, "quiescent: allocs - frees = %llu, the threads hold %zu blocks",
			 (unsigned long long)(st.allocs - st.frees), live);
	if (st.peak_used_pages < st.used_pages)
		run_fail(run, "quiescent: peak %zu below used %zu", st.peak_used_pages, st.used_pages);
	if (st.free_pages + st.cached_pages + st.used_pages != st.total_pages)
		run_fail(run, "quiescent: free + cached + used != total");
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;

	if (run->cfg->ps == PS_EXPLICIT && buddy_pageset_init(&run->zone, &w->ps) != BUDDY_OK)
		run_fail(run, "pageset_init failed");
	for (int phase = 0; phase < PHASES; phase++) {
		/* Phases alternate: memory runs out (drains while owners run), then
		 * little is held (the spare region can go). */
		w->limit = phase % 2 ? 2 : HELD;
		for (unsigned long i = 0; i < run->steps && !run->failed; i++)
			step(w);
		pthread_barrier_wait(&run->barrier);
		if (w->id == 0)
			quiescent_check(run);
		pthread_barrier_wait(&run->barrier);
	}
	/* Everything back: own blocks, then (once nobody hands any more) the inbox. */
	while (w->n) {
		struct held h = take(w, w->n - 1);
		if (stamp_ok(w, &h, w->id))
			free_block(w, &h);
	}
	pthread_barrier_wait(&run->barrier);
	take_inbox(w, 0);
	if (run->cfg->ps == PS_EXPLICIT)
		buddy_pageset_release(&w->ps);
	return NULL; /* a hook page set goes back at thread exit */
}

static unsigned long total_ops(void)
{
	const char *e = getenv("BUDDY_THREADS_OPS");
	unsigned long ops = e ? strtoul(e, NULL, 10) : 10500000ul;
	return ops / threads_test_scale();
}

static const struct config configs[] = {
	{ 4096, 2, PS_HOOK, BUDDY_LOCK_MUTEX, 0, 0 },
	{ 64, 4, PS_HOOK, BUDDY_LOCK_SPIN, BUDDY_THREAD_NO_BARRIER, 1 },
	{ 16, 8, PS_EXPLICIT, BUDDY_LOCK_MUTEX, 0, 0 },
	{ 4096, 2, PS_NONE, BUDDY_LOCK_SPIN, 0, 1 },
	{ 256, 4, PS_NONE, BUDDY_LOCK_MUTEX, 0, 0 },
	{ 256, 8, PS_HOOK, BUDDY_LOCK_MUTEX, BUDDY_THREAD_NO_BARRIER, 1 },
	{ 16, 2, PS_EXPLICIT, BUDDY_LOCK_SPIN, BUDDY_THREAD_NO_BARRIER, 0 },
	{ 64, 8, PS_NONE, BUDDY_LOCK_DEFAULT, 0, 1 },
};
#define NR_CONFIGS (sizeof(configs) / sizeof(configs[0]))

static unsigned long ops_done;

static void run_config(const struct config *cfg)
{
	static const size_t pages[NR_REGIONS] = { 512, 300, 128 };
	static struct run run;
	struct worker w[MAX_THREADS];
	struct buddy_config bc;
	char initial[512];

	memset(&run, 0, sizeof(run));
	memset(w, 0, sizeof(w));
	run.cfg = cfg;
	run.w = w;
	pthread_mutex_init(&run.fail_lock, NULL);
	buddy_config_default(&bc);
	bc.page_size = cfg->page_size;
	if (cfg->ps != PS_NONE) {
		bc.pcp_high = 24;
		bc.pcp_max_order = 3;
	} else {
		bc.pcp_high = 16; /* the zone's own page cache, under the lock */
	}
	bc.outside_links = cfg->outside;
	assert_int_equal(buddy_thread_config(&bc, &run.lk, cfg->lock,
					     cfg->flags | (cfg->ps == PS_HOOK ? BUDDY_THREAD_PAGESETS : 0)),
			 0);
	assert_int_equal(buddy_zone_init(&run.zone, &bc), BUDDY_OK);
	for (int i = 0; i < NR_REGIONS; i++) {
		run.region_pages[i] = pages[i];
		run.arena[i] = fx_arena(cfg->page_size, pages[i], cfg->page_size);
		assert_int_equal(buddy_add_region(&run.zone, run.arena[i], pages[i] * cfg->page_size,
						  NULL, 0),
				 BUDDY_OK);
	}
	run.spare_in = 1;
	snprintf(initial, sizeof(initial), "%s", fx_info(&run.zone));
	run.steps = total_ops() / NR_CONFIGS / PHASES / (unsigned long)cfg->threads + 1;
	pthread_barrier_init(&run.barrier, NULL, (unsigned)cfg->threads);

	for (int i = 0; i < cfg->threads; i++) {
		w[i].run = &run;
		w[i].id = i;
		w[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1) ^ cfg->page_size;
		pthread_mutex_init(&w[i].in.lock, NULL);
	}
	for (int i = 0; i < cfg->threads; i++)
		assert_int_equal(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
	unsigned long ops = 0, allocs = 0, enomem = 0, handoffs = 0, drains = 0, removes = 0;
	for (int i = 0; i < cfg->threads; i++) {
		pthread_join(w[i].th, NULL);
		ops += w[i].ops;
		allocs += w[i].allocs;
		enomem += w[i].enomem;
		handoffs += w[i].handoffs;
		drains += w[i].drains;
		removes += w[i].removes;
		pthread_mutex_destroy(&w[i].in.lock);
	}
	if (run.failed)
		fail_msg("%d threads, %zu-byte pages: %s", cfg->threads, cfg->page_size, run.failure);

	/* Every thread gone: its page set went back with it. */
	struct buddy_stats st;
	buddy_get_stats(&run.zone, &st);
	assert_int_equal(st.nr_pagesets, 0);
	assert_int_equal(st.used_pages, 0);
	assert_int_equal(st.allocs, st.frees);
	if (!run.spare_in)
		assert_int_equal(buddy_add_region(&run.zone, run.arena[NR_REGIONS - 1],
						  pages[NR_REGIONS - 1] * cfg->page_size, NULL, 0),
				 BUDDY_OK);
	buddy_drain_cache(&run.zone);
	assert_int_equal(fx_check(&run.zone), 0);
	assert_string_equal(fx_info(&run.zone), initial); /* back to the initial blocks */
	for (unsigned i = 0; i < NR_REGIONS; i++) {
		struct buddy_region_info ri;
		assert_int_equal(buddy_region_info(&run.zone, i, &ri), BUDDY_OK);
		assert_int_equal(ri.free_pages, ri.nr_pages);
	}
	printf("%d threads, %4zu-byte pages, %s, %s lock%s, links %s: %lu operations, %lu allocations "
	       "(%lu ENOMEM), %lu hand-offs, %lu drains, %lu region removals; peak %zu pages\n",
	       cfg->threads, cfg->page_size,
	       cfg->ps == PS_HOOK ? "page sets (hook)" : cfg->ps == PS_EXPLICIT ? "page sets (explicit)"
										: "no page sets",
	       cfg->lock == BUDDY_LOCK_SPIN ? "spin" : "mutex",
	       cfg->flags & BUDDY_THREAD_NO_BARRIER ? ", no barrier" : "",
	       cfg->outside ? "outside" : "inside", ops, allocs, enomem, handoffs,
	       drains, removes, st.peak_used_pages);
	ops_done += ops;
	buddy_thread_zone_fini(&run.zone);
	buddy_thread_lock_destroy(&run.lk);
	pthread_barrier_destroy(&run.barrier);
	pthread_mutex_destroy(&run.fail_lock);
	for (int i = 0; i < NR_REGIONS; i++)
		fx_arena_free(run.arena[i]);
}

static void test_threads_stress(void **state)
{
	(void)state;
	for (size_t i = 0; i < NR_CONFIGS; i++)
		run_config(&configs[i]);
	printf("threads stress: %lu operations in total\n", ops_done);
	assert_true(ops_done >= total_ops());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_stress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
