/* SPDX-License-Identifier: MIT */
/*
 * test_threads_double.c - a double free raced through two page sets. On a
 * zone with strict frees (buddy_config.strict_frees), two threads free the
 * same blocks at the same instant, round after round: every block is freed
 * exactly once (one BUDDY_OK, the other call BUDDY_EDOUBLE), and no block
 * is handed out twice (each thread then allocates as many blocks from its
 * own set, stamps them and finds its stamps intact; at the end no block
 * sits in two sets, buddy_check, and the counts add up). Also: the zone
 * path's claim of a block a set could take, and strict frees off the
 * inline free path.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
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

#define PAGES 1024
#define NB 32          /* blocks raced per round */
#define ROUNDS 1000    /* 50 under valgrind, which runs one thread at a time */

struct race {
	struct buddy_zone zone;
	struct buddy_thread_lock lk;
	pthread_barrier_t bar;
	unsigned rounds;
	void *blk[NB];
	unsigned ord[NB];
	int st[2][NB];
	unsigned long doubles[2]; /* BUDDY_EDOUBLE seen by each thread */
	unsigned long bad;        /* rounds that broke a rule (checked by main) */
	unsigned long arrived;    /* meet()'s count */
	char why[160];
};

static void broke(struct race *r, const char *what, unsigned round, unsigned i)
{
	if (__atomic_fetch_add(&r->bad, 1, __ATOMIC_RELAXED) == 0)
		snprintf(r->why, sizeof(r->why), "round %u block %u: %s", round, i, what);
}

/*
 * Both threads arrive, then leave together: each counts itself in and spins
 * until the other has (yielding now and then: the machine may have fewer
 * free cores than threads).
 */
static void meet(struct race *r)
{
	unsigned long target = (__atomic_add_fetch(&r->arrived, 1, __ATOMIC_ACQ_REL) + 1) & ~1ul;
	for (unsigned spins = 1; __atomic_load_n(&r->arrived, __ATOMIC_ACQUIRE) < target; spins++)
		if (!(spins % 64))
			sched_yield();
}

static void *racer(void *arg)
{
	struct race *r = ((void **)arg)[0];
	int id = (int)(intptr_t)((void **)arg)[1];
	struct buddy_zone *z = &r->zone;
	void *mine[NB];

	for (unsigned round = 0; round < r->rounds; round++) {
		if (id == 0)
			for (unsigned i = 0; i < NB; i++) {
				r->ord[i] = (i + round) % 2;
				r->blk[i] = buddy_thread_alloc_pages(z, r->ord[i], 0);
				if (!r->blk[i])
					broke(r, "allocation failed", round, i);
			}
		pthread_barrier_wait(&r->bar);
		/* Both threads free every block at the same instant: they meet before each. */
		for (unsigned i = 0; i < NB; i++) {
			meet(r);
			r->st[id][i] = r->blk[i] ? buddy_thread_free_pages(z, r->blk[i], r->ord[i]) : BUDDY_OK;
		}
		pthread_barrier_wait(&r->bar);
		for (unsigned i = id; i < NB; i += 2) { /* each thread checks half */
			int a = r->st[0][i], b = r->st[1][i];
			if (!((a == BUDDY_OK && b == BUDDY_EDOUBLE) || (a == BUDDY_EDOUBLE && b == BUDDY_OK)))
				broke(r, "not exactly one free and one double free", round, i);
		}
		for (unsigned i = 0; i < NB; i++)
			r->doubles[id] += r->st[id][i] == BUDDY_EDOUBLE;
		/* Each takes blocks from its own set, which holds the blocks it won. */
		for (unsigned i = 0; i < NB; i++) {
			mine[i] = buddy_thread_alloc_pages(z, i % 2, 0);
			if (mine[i])
				*(uintptr_t *)mine[i] = ((uintptr_t)id << 32) | i;
			else
				broke(r, "allocation failed", round, i);
		}
		pthread_barrier_wait(&r->bar);
		for (unsigned i = 0; i < NB; i++) {
			if (!mine[i])
				continue;
			if (*(uintptr_t *)mine[i] != (((uintptr_t)id << 32) | i))
				broke(r, "a block handed out twice (its stamp changed)", round, i);
			if (buddy_thread_free_pages(z, mine[i], i % 2) != BUDDY_OK)
				broke(r, "a free of a block held failed", round, i);
		}
		pthread_barrier_wait(&r->bar);
	}
	return NULL;
}

static void test_raced_double_frees_are_all_reported(void **state)
{
	static struct race r;
	struct buddy_config cfg;
	struct buddy_stats st;
	pthread_t t[2];
	void *args[2][2];
	(void)state;
	memset(&r, 0, sizeof(r));
	r.rounds = getenv("BUDDY_UNDER_VALGRIND") ? ROUNDS / 20 : ROUNDS;
	void *arena = fx_arena(4096, PAGES, 4096);
	buddy_config_default(&cfg);
	cfg.pcp_high = 16;
	cfg.pcp_max_order = 1;
	assert_int_equal(buddy_thread_config(&cfg, &r.lk, BUDDY_LOCK_DEFAULT,
					     BUDDY_THREAD_PAGESETS | BUDDY_THREAD_STRICT), 0);
	assert_int_equal(cfg.strict_frees, 1);
	assert_int_equal(buddy_zone_init(&r.zone, &cfg), BUDDY_OK);
	fx_add(&r.zone, arena, PAGES);
	assert_int_equal(pthread_barrier_init(&r.bar, NULL, 2), 0);
	for (int i = 0; i < 2; i++) {
		args[i][0] = &r;
		args[i][1] = (void *)(intptr_t)i;
		assert_int_equal(pthread_create(&t[i], NULL, racer, args[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	if (r.bad)
		fail_msg("%lu broken rounds; first: %s", r.bad, r.why);
	/* Every raced block once freed, once reported; who lost varies. */
	assert_int_equal(r.doubles[0] + r.doubles[1], (unsigned long)r.rounds * NB);
	printf("raced double frees: %u, reported: thread 0 %lu, thread 1 %lu\n", r.rounds * NB,
	       r.doubles[0], r.doubles[1]);
	/* The exited threads gave their sets back; nothing sits in two places. */
	assert_int_equal(fx_check(&r.zone), 0);
	buddy_get_stats(&r.zone, &st);
	assert_int_equal(st.allocs, st.frees);
	assert_int_equal(st.used_pages, 0);
	buddy_thread_zone_fini(&r.zone);
	buddy_get_stats(&r.zone, &st);
	assert_int_equal(st.free_pages, st.total_pages);
	pthread_barrier_destroy(&r.bar);
	buddy_thread_lock_destroy(&r.lk);
	fx_cleanup();
	fx_arena_free(arena);
}

/*
 * One thread: with strict frees the sets take no inline free path (every
 * free goes out of line, where the claim is), and a free on the zone path of a
 * block a set could take claims it too. Statuses as without strict frees.
 */
static void test_strict_frees_one_thread(void **state)
{
	struct buddy_config cfg;
	struct buddy_zone z;
	struct buddy_pageset ps;
	struct buddy_thread_lock lk;
	(void)state;
	void *arena = fx_arena(4096, 64, 4096);
	buddy_config_default(&cfg);
	cfg.pcp_high = 8;
	cfg.pcp_max_order = 1;
	assert_int_equal(buddy_thread_config(&cfg, &lk, BUDDY_LOCK_DEFAULT, BUDDY_THREAD_STRICT), 0);
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_OK);
	fx_add(&z, arena, 64);
	assert_int_equal(buddy_pageset_init(&z, &ps), BUDDY_OK);
	assert_int_equal(ps.inline_free_orders, 0);
	void *a = buddy_pageset_alloc_pages(&ps, 0, 0), *b = buddy_alloc_pages(&z, 1, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(buddy_pageset_free_pages(&ps, a, 0), BUDDY_OK);
	assert_int_equal(buddy_pageset_free_pages(&ps, a, 0), BUDDY_EDOUBLE);
	assert_int_equal(buddy_free_pages(&z, a, 0), BUDDY_EDOUBLE);
	/* The zone path (no page-set hook): claimed, then freed. */
	assert_int_equal(buddy_free_pages(&z, b, 1), BUDDY_OK);
	assert_int_equal(buddy_free_pages(&z, b, 1), BUDDY_EDOUBLE);
	assert_int_equal(buddy_pageset_free_pages(&ps, b, 1), BUDDY_EDOUBLE);
	assert_int_equal(fx_check(&z), 0);
	buddy_pageset_release(&ps);
	buddy_drain_cache(&z); /* b went to the zone's own page cache */
	struct buddy_stats st;
	buddy_get_stats(&z, &st);
	assert_int_equal(st.allocs, 2);
	assert_int_equal(st.frees, 2);
	assert_int_equal(st.free_pages, 64);
	buddy_thread_lock_destroy(&lk);
	fx_cleanup();
	fx_arena_free(arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raced_double_frees_are_all_reported),
		cmocka_unit_test(test_strict_frees_one_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
