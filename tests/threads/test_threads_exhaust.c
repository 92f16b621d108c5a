/* SPDX-License-Identifier: MIT */
/*
 * test_threads_exhaust.c - no false failure. Threads fill their page sets
 * and then wait, alive, holding the blocks; an allocation (or an in-place
 * grow) that fits only once those blocks are back must succeed, draining
 * every set (Linux's drain_all_pages); one that cannot fit fails with
 * BUDDY_ENOMEM, hands nothing out and leaves the zone sound. For page sets
 * from the hosted helper (with and without the membarrier protocol) and
 * page sets passed explicitly.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buddy/page.h"
#include "buddy/thread.h"
#include "page_fixture.h"

#define PAGES 64 /* one block of order 6 */
#define FILLERS 3
#define EACH 6   /* order-0 pages each filler allocates and frees */

struct exhaust {
	struct buddy_zone zone;
	struct buddy_thread_lock lk;
	int explicit_sets;
	pthread_barrier_t filled, done;
	struct buddy_pageset ps[FILLERS];
};

/* Allocate EACH pages and free them: they stay in the thread's page set. */
static void fill(struct exhaust *e, int id)
{
	void *p[EACH];
	for (int i = 0; i < EACH; i++) {
		p[i] = e->explicit_sets ? buddy_pageset_alloc_pages(&e->ps[id], 0, 0)
					: buddy_alloc_pages(&e->zone, 0, 0);
		assert_non_null(p[i]);
	}
	for (int i = 0; i < EACH; i++)
		assert_int_equal(e->explicit_sets ? buddy_pageset_free_pages(&e->ps[id], p[i], 0)
						  : buddy_free_pages(&e->zone, p[i], 0),
				 BUDDY_OK);
}

struct filler {
	struct exhaust *e;
	int id;
};

static void *filler_main(void *arg)
{
	struct filler *f = arg;
	struct exhaust *e = f->e;
	if (e->explicit_sets)
		assert_int_equal(buddy_pageset_init(&e->zone, &e->ps[f->id]), BUDDY_OK);
	for (int round = 0; round < 3; round++) {
		fill(e, f->id);
		pthread_barrier_wait(&e->filled); /* the sets hold blocks; this thread waits */
		pthread_barrier_wait(&e->done);
	}
	if (e->explicit_sets)
		buddy_pageset_release(&e->ps[f->id]);
	return NULL;
}

static size_t cached(const struct buddy_zone *z)
{
	struct buddy_stats st;
	buddy_get_stats(z, &st);
	return st.cached_pages;
}

static void exhaust_run(int explicit_sets, unsigned flags)
{
	static struct exhaust e;
	struct buddy_config cfg;
	struct filler f[FILLERS];
	pthread_t th[FILLERS];

	memset(&e, 0, sizeof(e));
	e.explicit_sets = explicit_sets;
	buddy_config_default(&cfg);
	cfg.pcp_high = 8;
	cfg.pcp_batch = 4;
	cfg.pcp_max_order = 2;
	assert_int_equal(buddy_thread_config(&cfg, &e.lk, BUDDY_LOCK_DEFAULT,
					     flags | (explicit_sets ? 0 : BUDDY_THREAD_PAGESETS)),
			 0);
	assert_int_equal(buddy_zone_init(&e.zone, &cfg), BUDDY_OK);
	void *arena = fx_arena(4096, PAGES, 4096 * PAGES);
	fx_add(&e.zone, arena, PAGES);
	pthread_barrier_init(&e.filled, NULL, FILLERS + 1);
	pthread_barrier_init(&e.done, NULL, FILLERS + 1);
	for (int i = 0; i < FILLERS; i++) {
		f[i] = (struct filler){ &e, i };
		assert_int_equal(pthread_create(&th[i], NULL, filler_main, &f[i]), 0);
	}

	/* 1. The whole zone in one block: only after every set is drained. */
	pthread_barrier_wait(&e.filled);
	assert_true(cached(&e.zone) >= FILLERS * EACH);
	void *all = buddy_alloc_pages(&e.zone, 6, 0);
	assert_ptr_equal(all, arena);
	assert_int_equal(cached(&e.zone), 0);
	assert_int_equal(buddy_free_pages(&e.zone, all, 6), BUDDY_OK);
	pthread_barrier_wait(&e.done);

	/* 2. One page held elsewhere: the whole zone cannot fit. */
	pthread_barrier_wait(&e.filled);
	void *one = buddy_alloc_pages_exact(&e.zone, 3, 0); /* the zone path: no set of main's */
	assert_non_null(one);
	struct buddy_stats before, after;
	buddy_get_stats(&e.zone, &before);
	assert_null(buddy_alloc_pages(&e.zone, 6, 0));
	assert_int_equal(buddy_last_error(&e.zone), BUDDY_ENOMEM);
	assert_null(buddy_alloc_pages_exact(&e.zone, PAGES, 0));
	buddy_get_stats(&e.zone, &after);
	assert_int_equal(after.used_pages, before.used_pages); /* nothing handed out */
	assert_int_equal(after.allocs, before.allocs);
	assert_int_equal(after.failures, before.failures + 2);
	assert_int_equal(after.free_pages + after.cached_pages, before.free_pages + before.cached_pages);
	assert_int_equal(fx_check(&e.zone), 0);
	assert_int_equal(buddy_free_pages_exact(&e.zone, one, 3), BUDDY_OK);
	pthread_barrier_wait(&e.done);

	/* 3. A grow in place whose upper buddy lies in the threads' sets. */
	pthread_barrier_wait(&e.filled);
	void *half = buddy_alloc_pages_exact(&e.zone, 32, 0);
	assert_non_null(half);
	if (half == arena) {
		assert_int_equal(buddy_resize(&e.zone, half, 6), BUDDY_OK);
		assert_int_equal(buddy_free_pages(&e.zone, half, 6), BUDDY_OK);
	} else {
		assert_int_equal(buddy_free_pages(&e.zone, half, 5), BUDDY_OK);
	}
	pthread_barrier_wait(&e.done);

	for (int i = 0; i < FILLERS; i++)
		pthread_join(th[i], NULL);
	buddy_drain_cache(&e.zone);
	assert_int_equal(fx_check(&e.zone), 0);
	assert_string_equal(fx_info(&e.zone), "Node 0, zone   Normal      0      0      0      0      0      0      1 \n");
	buddy_thread_zone_fini(&e.zone);
	buddy_thread_lock_destroy(&e.lk);
	pthread_barrier_destroy(&e.filled);
	pthread_barrier_destroy(&e.done);
	fx_cleanup();
	fx_arena_free(arena);
}

static void test_exhaust_hook(void **state)
{
	(void)state;
	exhaust_run(0, 0);
}

static void test_exhaust_hook_no_barrier(void **state)
{
	(void)state;
	exhaust_run(0, BUDDY_THREAD_NO_BARRIER);
}

static void test_exhaust_explicit(void **state)
{
	(void)state;
	exhaust_run(1, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exhaust_hook),
		cmocka_unit_test(test_exhaust_hook_no_barrier),
		cmocka_unit_test(test_exhaust_explicit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
