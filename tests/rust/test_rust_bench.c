/* SPDX-License-Identifier: MIT */
/*
 * test_rust_bench.c - the Rust port as a bench target ("page-rust"): set up
 * as the C core's "page" target (same arena, same page cache), it runs the
 * same W1 and W2 sequences, and after each the two zones agree (statistics,
 * buddyinfo line, check) and are empty; the native runner lists it and runs
 * it, and replays a trace on the Rust byte heap ("rust"). No timing is asserted.
 */
#define _POSIX_C_SOURCE 200809L /* popen */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buddy/rust.h"
#include "workload.h"

static void test_rust_bench_target_matches_the_c_core(void **state)
{
	(void)state;
	for (int cache = 0; cache <= 1; cache++) {
		struct bench_target page, rust;
		struct bench_page pg;
		struct bench_page_rust rpg;
		struct bench_result rc, rr;
		assert_int_equal(bench_target_page(&page, &pg, cache ? BENCH_PAGE_SINGLE : BENCH_PAGE_NOCACHE, 1),
				 0);
		assert_int_equal(bench_target_page_rust(&rust, &rpg, cache), 0);
		assert_string_equal(rust.name, cache ? "page-rust" : "page-rust-nocache");
		for (int w = BENCH_W1; w <= BENCH_W2; w++) {
			assert_int_equal(bench_run((enum bench_workload)w, &page, 20000, 2, &rc), 0);
			assert_int_equal(bench_run((enum bench_workload)w, &rust, 20000, 2, &rr), 0);
			assert_int_equal(rr.failures, 0);
			assert_int_equal(rr.pairs, rc.pairs);
			struct buddy_stats cs;
			struct brust_stats rs;
			buddy_get_stats(&pg.zone, &cs);
			brust_get_stats(rpg.zone, &rs);
			assert_int_equal(rs.used_pages, 0); /* everything freed at the end of a run */
			assert_int_equal(rs.allocs, cs.allocs);
			assert_int_equal(rs.frees, cs.frees);
			assert_int_equal(rs.peak_used_pages, cs.peak_used_pages);
			assert_int_equal(rs.cached_pages, cs.cached_pages);
			char cl[512], rl[512];
			buddy_buddyinfo(&pg.zone, cl, sizeof(cl));
			brust_buddyinfo(rpg.zone, rl, sizeof(rl));
			assert_string_equal(cl, rl);
			assert_int_equal(brust_check(rpg.zone, NULL, NULL), 0);
		}
		bench_page_release(&pg);
		bench_page_rust_release(&rpg);
	}
}

/* Run the native runner with `args`; its output into out. Returns the exit status. */
static int runner(const char *args, char *out, size_t size)
{
	const char *bin = getenv("BUDDY_BINARY_DIR");
	char cmd[4096];
	assert_non_null(bin);
	snprintf(cmd, sizeof(cmd), "%s/buddy-run-native %s", bin, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	return pclose(p);
}

static void test_rust_bench_runner_offers_it(void **state)
{
	(void)state;
	char out[4096];
	assert_int_equal(runner("list", out, sizeof(out)), 0);
	assert_non_null(strstr(out, " page-rust page-rust-nocache"));
	assert_int_equal(runner("bench W2 page-rust 2000 1", out, sizeof(out)), 0);
	assert_true(strncmp(out, "bench ns=", 9) == 0);
	assert_non_null(strstr(out, " failures=0 runs=1\n"));
}

/* The Rust byte heap as replay's "rust" (test_rust_heap tests it in process). */
static void test_rust_bench_runner_replays_the_rust_heap(void **state)
{
	(void)state;
	char out[4096], args[1024];
	assert_int_equal(runner("list", out, sizeof(out)), 0);
	char *line = strstr(out, "replay ");
	assert_non_null(line);
	assert_non_null(strstr(line, " rust"));
	snprintf(args, sizeof(args), "replay check rust %s/tests/replay/fixtures/rep-three.rep",
		 getenv("BUDDY_SOURCE_DIR"));
	assert_int_equal(runner(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "overlaps=0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rust_bench_target_matches_the_c_core),
		cmocka_unit_test(test_rust_bench_runner_offers_it),
		cmocka_unit_test(test_rust_bench_runner_replays_the_rust_heap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
