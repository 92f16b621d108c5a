/* SPDX-License-Identifier: MIT */
/*
 * test_replay_engine.c - the replay engine on test-only allocators: a
 * correct one gives exact peaks and no errors; broken ones (misaligned,
 * overlapping, losing or scribbling on data, failing) make each check fire.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "testalloc.h"

static void parse(const char *text, struct trace *t)
{
	char err[256];
	if (trace_parse("t.rep", text, strlen(text), TRACE_REP, t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static void run_check(enum testalloc_mode mode, const struct trace *t, struct testalloc *ta,
		      struct replay_result *r, size_t samples)
{
	struct balloc a;
	struct replay_config cfg = { 16, samples };
	testalloc_init(ta, mode, &a);
	assert_int_equal(replay_check(t, &a, &cfg, r), 0);
	a.ops->destroy(a.self);
}

static void test_engine_exact_peaks_on_a_correct_allocator(void **state)
{
	(void)state;
	struct trace t;
	struct testalloc ta;
	struct replay_result r;
	parse("0 2 5 1\na 0 512\na 1 128\nr 0 640\nf 1\nf 0\n", &t);
	run_check(TA_GOOD, &t, &ta, &r, 100);
	assert_int_equal(r.ops, 5);
	assert_int_equal(r.peak_live, 768);
	assert_int_equal(r.held_at_peak, 768);
	assert_int_equal(r.peak_footprint, 1280); /* its realloc holds old and new at once */
	assert_int_equal(r.failures, 0);
	assert_int_equal(replay_result_errors(&r), 0);
	assert_string_equal(r.first_error, "");
	assert_true(r.nsamples >= 5);
	assert_int_equal(r.samples[r.nsamples - 1].live, 0);
	assert_int_equal(ta.held, 0);
	replay_result_free(&r);
	trace_free(&t);
}

static void test_engine_random_trace_has_no_false_alarms(void **state)
{
	(void)state;
	struct trace t;
	struct testalloc ta;
	struct replay_result r;
	testalloc_random_trace(&t, 20000, 64, 600);
	run_check(TA_GOOD, &t, &ta, &r, 0);
	assert_int_equal(replay_result_errors(&r), 0);
	assert_int_equal(r.failures, 0);
	assert_true(r.peak_live > 0);
	assert_int_equal(ta.allocs, ta.frees); /* leftovers were freed too */
	replay_result_free(&r);
	trace_free(&t);
}

static void test_engine_adjacent_blocks_are_not_overlaps(void **state)
{
	(void)state;
	struct trace t;
	struct testalloc ta;
	struct replay_result r;
	parse("a 0 16\na 1 32\na 2 1\na 3 0\na 4 48\nf 1\nf 3\n", &t);
	run_check(TA_ADJACENT, &t, &ta, &r, 0);
	assert_int_equal(r.overlaps, 0);
	assert_int_equal(replay_result_errors(&r), 0);
	replay_result_free(&r);
	trace_free(&t);
}

static void test_engine_detects_overlap(void **state)
{
	(void)state;
	struct trace t;
	struct testalloc ta;
	struct replay_result r;
	parse("a 0 64\na 1 16\na 2 64\nf 0\nf 1\nf 2\n", &t); /* at 0, 32, 48 */
	run_check(TA_OVERLAP, &t, &ta, &r, 0);
	assert_int_equal(r.overlaps, 2);
	assert_non_null(strstr(r.first_error, "op 1: block overlaps a live block"));
	replay_result_free(&r);
	trace_free(&t);
}

static void test_engine_detects_misalignment(void **state)
{
	(void)state;
	struct trace t;
	struct testalloc ta;
	struct replay_result r;
	/* 8-byte blocks need only 8-byte alignment; 16 bytes and up need 16. */
	parse("a 0 8\na 1 15\na 2 16\na 3 100\nf 0\nf 1\nf 2\nf 3\n", &t);
	run_check(TA_MISALIGN, &t, &ta, &r, 0);
	assert_int_equal(r.misaligned, 2);
	assert_int_equal(r.overlaps + r.corrupted, 0);
	assert_non_null(strstr(r.first_error, "op 2: misaligned block (block 2"));
	replay_result_free(&r);
	trace_free(&t);
}

static void test_engine_detects_realloc_losing_data(void **state)
{
	(void)state;
	struct trace t;
	struct testalloc ta;
	struct replay_result r;
	parse("a 0 100\nr 0 300\nr 0 50\nf 0\n", &t);
	run_check(TA_LOSE, &t, &ta, &r, 0);
	assert_int_equal(r.corrupted, 2);
	assert_non_null(strstr(r.first_error, "op 1: realloc lost the data"));
	replay_result_free(&r);
	trace_free(&t);
}

static void test_engine_detects_writes_into_live_blocks(void **state)
{
	(void)state;
	struct trace t;
	struct testalloc ta;
	struct replay_result r;
	parse("a 0 40\na 1 40\nf 0\nf 1\n", &t);
	run_check(TA_SCRIBBLE, &t, &ta, &r, 0);
	assert_int_equal(r.corrupted, 1);
	assert_non_null(strstr(r.first_error, "op 2: block changed before free (block 0"));
	replay_result_free(&r);
	trace_free(&t);
}

static void test_engine_counts_failures_and_survives_them(void **state)
{
	(void)state;
	struct trace t;
	struct testalloc ta;
	struct replay_result r;
	struct balloc a;
	struct replay_config cfg = { 16, 0 };
	/* Two allocations succeed; the rest fail, and their frees and reallocs are harmless. */
	parse("a 0 10\na 1 10\na 2 10\nr 2 20\nr 0 30\na 3 0\nf 2\nf 0\nf 1\nf 3\n", &t);
	testalloc_init(&ta, TA_FAIL, &a);
	ta.limit = 2;
	assert_int_equal(replay_check(&t, &a, &cfg, &r), 0);
	assert_int_equal(r.failures, 3); /* a 2, r 2 (realloc of NULL), r 0; not a 3 of 0 bytes */
	assert_int_equal(replay_result_errors(&r), 0);
	assert_int_equal(r.peak_live, 20);
	assert_int_equal(ta.held, 0);
	replay_result_free(&r);
	trace_free(&t);
}

static void test_engine_realloc_to_zero_frees(void **state)
{
	(void)state;
	struct trace t;
	struct testalloc ta;
	struct replay_result r;
	parse("a 0 10\nr 0 0\na 1 5\nf 1\n", &t);
	run_check(TA_GOOD, &t, &ta, &r, 0);
	assert_int_equal(r.failures, 0);
	assert_int_equal(replay_result_errors(&r), 0);
	assert_int_equal(ta.allocs, 2);
	assert_int_equal(ta.held, 0);
	replay_result_free(&r);
	trace_free(&t);
}

static void test_engine_timed_run_replays_every_op(void **state)
{
	(void)state;
	struct trace t;
	struct testalloc ta;
	struct replay_result r;
	struct balloc a;
	testalloc_random_trace(&t, 5000, 64, 600);
	testalloc_init(&ta, TA_GOOD, &a);
	assert_int_equal(replay_time(&t, &a, &r), 0);
	assert_int_equal(r.ops, 5000);
	assert_true(r.seconds > 0 && r.seconds < 60); /* the clock ran, and sanely */
	assert_int_equal(ta.held, 0);
	assert_int_equal(ta.allocs, ta.frees);
	trace_free(&t);
}

static void test_engine_result_text_round_trip(void **state)
{
	(void)state;
	struct replay_result r = { .ops = 7, .seconds = 0.25, .peak_live = 100, .held_at_peak = 128,
				   .peak_footprint = 4096, .failures = 1, .misaligned = 2,
				   .overlaps = 3, .corrupted = 4 };
	struct replay_sample s[2] = { { 1, 10, 4096 }, { 7, 0, 4096 } };
	struct replay_result back;
	char *buf = NULL;
	size_t len = 0;
	snprintf(r.first_error, sizeof(r.first_error), "op 3: misaligned block");
	r.samples = s;
	r.nsamples = 2;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	replay_result_write(f, &r);
	fclose(f);
	memset(&back, 0, sizeof(back));
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		assert_int_equal(replay_result_read_line(&back, line), 0);
	assert_int_equal(back.ops, 7);
	assert_true(back.seconds > 0.2499 && back.seconds < 0.2501);
	assert_int_equal(back.held_at_peak, 128);
	assert_int_equal(back.corrupted, 4);
	assert_int_equal(replay_result_errors(&back), 9);
	assert_int_equal(back.nsamples, 2);
	assert_non_null(back.samples);
	if (!back.samples)
		return;
	assert_int_equal(back.samples[1].op, 7);
	assert_string_equal(back.first_error, "op 3: misaligned block");
	assert_int_equal(replay_result_read_line(&back, "result ops=x"), -1);
	assert_int_equal(replay_result_read_line(&back, "result bogus=1"), -1);
	assert_int_equal(replay_result_read_line(&back, "sample 1 2"), -1);
	assert_int_equal(replay_result_read_line(&back, "hello"), -1);
	replay_result_free(&back);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine_exact_peaks_on_a_correct_allocator),
		cmocka_unit_test(test_engine_random_trace_has_no_false_alarms),
		cmocka_unit_test(test_engine_adjacent_blocks_are_not_overlaps),
		cmocka_unit_test(test_engine_detects_overlap),
		cmocka_unit_test(test_engine_detects_misalignment),
		cmocka_unit_test(test_engine_detects_realloc_losing_data),
		cmocka_unit_test(test_engine_detects_writes_into_live_blocks),
		cmocka_unit_test(test_engine_counts_failures_and_survives_them),
		cmocka_unit_test(test_engine_realloc_to_zero_frees),
		cmocka_unit_test(test_engine_timed_run_replays_every_op),
		cmocka_unit_test(test_engine_result_text_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
