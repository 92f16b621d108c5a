/* SPDX-License-Identifier: MIT */
/*
 * test_bench_workload.c - the benchmark workloads do what they claim:
 * every target sees the same op sequence, the page allocator ends empty
 * and consistent, and the op counts are what the report divides by.
 * No timing is asserted.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "workload.h"

static void test_bench_w1_pairs_equal_ops(void **state)
{
	(void)state;
	struct bench_target t;
	struct bench_result r;
	bench_target_loop(&t);
	assert_int_equal(bench_run(BENCH_W1, &t, 1000, 3, &r), 0);
	assert_int_equal(r.pairs, 1000);
	assert_int_equal(r.runs, 3);
	assert_int_equal(r.failures, 0);
	/* Every run took time, and the result is the middle one of the three. */
	double lo = r.run_ns[0], hi = r.run_ns[0];
	for (int i = 0; i < 3; i++) {
		assert_true(r.run_ns[i] > 0);
		lo = r.run_ns[i] < lo ? r.run_ns[i] : lo;
		hi = r.run_ns[i] > hi ? r.run_ns[i] : hi;
	}
	assert_true(r.ns_per_pair >= lo && r.ns_per_pair <= hi);
	int at = 0;
	for (int i = 0; i < 3; i++)
		at += r.run_ns[i] == r.ns_per_pair;
	assert_true(at >= 1);
}

static void test_bench_page_target_sees_the_loop_sequence(void **state)
{
	(void)state;
	struct bench_target loop, page;
	struct bench_page pg;
	struct bench_result rl, rp;
	struct buddy_stats st;
	bench_target_loop(&loop);
	assert_int_equal(bench_target_page(&page, &pg, BENCH_PAGE_SHARED, 1), 0);
	for (int w = BENCH_W1; w <= BENCH_W2; w++) {
		assert_int_equal(bench_run((enum bench_workload)w, &loop, 20000, 1, &rl), 0);
		assert_int_equal(bench_run((enum bench_workload)w, &page, 20000, 2, &rp), 0);
		assert_int_equal(rp.failures, 0);
		assert_int_equal(rp.pairs, rl.pairs);
		buddy_get_stats(&pg.zone, &st);
		assert_int_equal(st.used_pages, 0); /* everything freed at the end of a run */
		assert_int_equal(st.free_pages + st.cached_pages, st.total_pages);
		assert_int_equal(st.allocs, st.frees);
		assert_int_equal(buddy_check(&pg.zone, NULL, NULL), 0);
	}
	assert_true(st.peak_used_pages > 16); /* W2 held many blocks at once */
	bench_page_release(&pg);
}

static void test_bench_malloc_target_w3_matches_loop(void **state)
{
	(void)state;
	struct bench_target loop, mal;
	struct bench_result rl, rm;
	bench_target_loop(&loop);
	bench_target_malloc(&mal, "glibc");
	assert_int_equal(bench_run(BENCH_W3, &loop, 30000, 1, &rl), 0);
	assert_int_equal(bench_run(BENCH_W3, &mal, 30000, 1, &rm), 0);
	assert_int_equal(rm.failures, 0);
	assert_int_equal(rm.pairs, rl.pairs);
	assert_true(rl.pairs > 10000 && rl.pairs < 30000);
}

static void test_bench_workload_names(void **state)
{
	(void)state;
	assert_int_equal(bench_workload_parse("W2"), BENCH_W2);
	assert_int_equal(bench_workload_parse("w3"), BENCH_W3);
	assert_int_equal(bench_workload_parse("w4"), BENCH_W4);
	assert_int_equal(bench_workload_parse("W5"), -1);
	assert_int_equal(bench_page_mode_parse("page-lock"), BENCH_PAGE_LOCK);
	assert_int_equal(bench_page_mode_parse("page-locked"), -1);
	assert_string_equal(bench_workload_name(BENCH_W1), "W1");
}

/* W4: two threads on one shared zone each do the same pairs as one thread alone. */
static void test_bench_threads_shared_zone(void **state)
{
	struct bench_target page;
	struct bench_page pg;
	struct bench_result r1, r2;
	(void)state;
	assert_int_equal(bench_target_page(&page, &pg, BENCH_PAGE_SHARED, 2), 0);
	assert_int_equal(bench_run_threads(&page, 1, 20000, 1, &r1), 0);
	assert_int_equal(bench_run_threads(&page, 2, 20000, 2, &r2), 0);
	assert_int_equal(r1.failures + r2.failures, 0);
	assert_int_equal(r1.pairs, r2.pairs);
	assert_true(r1.pairs > 20000 && r1.pairs < 40000); /* W1's 20000 and W2's share */
	struct buddy_stats st;
	buddy_get_stats(&pg.zone, &st);
	assert_int_equal(st.allocs, st.frees); /* every pair paired, in both threads */
	assert_int_equal(bench_run_threads(&page, 0, 100, 1, &r1), -1);
	bench_page_release(&pg);
}

/* BUDDY_BENCH_W4=W1|W2 times that part alone: W1 pairs = ops, W2 the rest; else both. */
static void test_bench_threads_one_part(void **state)
{
	struct bench_target page;
	struct bench_page pg;
	struct bench_result both, w1, w2, other;
	(void)state;
	assert_int_equal(bench_target_page(&page, &pg, BENCH_PAGE_SHARED, 2), 0);
	assert_int_equal(unsetenv("BUDDY_BENCH_W4"), 0);
	assert_int_equal(bench_run_threads(&page, 2, 20000, 1, &both), 0);
	assert_int_equal(setenv("BUDDY_BENCH_W4", "W1", 1), 0);
	assert_int_equal(bench_run_threads(&page, 2, 20000, 1, &w1), 0);
	assert_int_equal(setenv("BUDDY_BENCH_W4", "w2", 1), 0);
	assert_int_equal(bench_run_threads(&page, 2, 20000, 1, &w2), 0);
	assert_int_equal(setenv("BUDDY_BENCH_W4", "W3", 1), 0); /* not a part: both */
	assert_int_equal(bench_run_threads(&page, 2, 20000, 1, &other), 0);
	assert_int_equal(unsetenv("BUDDY_BENCH_W4"), 0);
	assert_int_equal(both.failures + w1.failures + w2.failures + other.failures, 0);
	assert_int_equal(w1.pairs, 20000);
	assert_true(w2.pairs > 0 && w2.pairs < 20000);
	assert_int_equal(w1.pairs + w2.pairs, both.pairs);
	assert_int_equal(other.pairs, both.pairs);
	bench_page_release(&pg);
}

static void test_bench_bad_run_count(void **state)
{
	(void)state;
	struct bench_target t;
	struct bench_result r;
	bench_target_loop(&t);
	assert_int_equal(bench_run(BENCH_W1, &t, 10, 0, &r), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bench_w1_pairs_equal_ops),
		cmocka_unit_test(test_bench_page_target_sees_the_loop_sequence),
		cmocka_unit_test(test_bench_malloc_target_w3_matches_loop),
		cmocka_unit_test(test_bench_workload_names),
		cmocka_unit_test(test_bench_threads_shared_zone),
		cmocka_unit_test(test_bench_threads_one_part),
		cmocka_unit_test(test_bench_bad_run_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
