/* SPDX-License-Identifier: MIT */
/*
 * test_replay_trace.c - the trace readers against the fixtures in
 * tests/replay/fixtures (every .rep dialect, wee_alloc, valgrind logs) and
 * malformed inputs, each with its exact "file:line: message" error.
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
#include <sys/stat.h>
#include <unistd.h>

#include "trace.h"

struct want {
	int kind;
	uint32_t slot;
	uint64_t size;
};

#define NS TRACE_NO_SLOT

static const char *fixture(const char *name)
{
	static char path[4096];
	const char *src = getenv("BUDDY_SOURCE_DIR");
	if (!src)
		src = BUDDY_TEST_SOURCE_DIR;
	snprintf(path, sizeof(path), "%s/tests/replay/fixtures/%s", src, name);
	return path;
}

static void expect_ops(const struct trace *t, const struct want *w, size_t n, size_t nslots)
{
	assert_int_equal(t->nops, n);
	assert_int_equal(t->nslots, nslots);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(t->ops[i].kind, w[i].kind);
		assert_int_equal(t->ops[i].slot, w[i].slot);
		if (w[i].kind != TRACE_FREE)
			assert_int_equal(t->ops[i].size, w[i].size);
	}
}

static void load_ok(const char *name, struct trace *t)
{
	char err[512];
	int rc = trace_load(fixture(name), TRACE_AUTO, t, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s", err);
}

static void test_trace_rep_classic_header_on_four_lines(void **state)
{
	(void)state;
	struct trace t;
	static const struct want w[] = { { TRACE_ALLOC, 0, 512 }, { TRACE_ALLOC, 1, 128 },
					 { TRACE_REALLOC, 0, 640 }, { TRACE_FREE, 1, 0 },
					 { TRACE_FREE, 0, 0 } };
	load_ok("rep-classic.rep", &t);
	assert_int_equal(t.format, TRACE_REP);
	expect_ops(&t, w, 5, 2);
	trace_free(&t);
}

static void test_trace_rep_ids_reused_after_free(void **state)
{
	(void)state;
	struct trace t;
	static const struct want w[] = { { TRACE_ALLOC, 0, 24 }, { TRACE_ALLOC, 1, 100 },
					 { TRACE_FREE, 0, 0 }, { TRACE_ALLOC, 2, 48 },
					 { TRACE_FREE, 1, 0 }, { TRACE_FREE, 2, 0 } };
	load_ok("rep-oneline.rep", &t);
	expect_ops(&t, w, 6, 3);
	trace_free(&t);
}

static void test_trace_rep_crlf_line_endings(void **state)
{
	(void)state;
	struct trace t;
	static const struct want w[] = { { TRACE_ALLOC, 0, 10 }, { TRACE_ALLOC, 1, 20 },
					 { TRACE_FREE, 0, 0 }, { TRACE_FREE, 1, 0 } };
	load_ok("rep-crlf.rep", &t);
	expect_ops(&t, w, 4, 2);
	trace_free(&t);
}

static void test_trace_rep_free_null_and_realloc_of_new_id(void **state)
{
	(void)state;
	struct trace t;
	static const struct want w[] = { { TRACE_ALLOC, 0, 64 }, { TRACE_FREE, NS, 0 },
					 { TRACE_REALLOC, 1, 32 }, { TRACE_FREE, 0, 0 },
					 { TRACE_FREE, 1, 0 } };
	load_ok("rep-null.rep", &t);
	expect_ops(&t, w, 5, 2);
	trace_free(&t);
}

static void test_trace_rep_three_number_header_and_comments(void **state)
{
	(void)state;
	struct trace t;
	static const struct want w[] = { { TRACE_ALLOC, 0, 12 }, { TRACE_FREE, 0, 0 } };
	load_ok("rep-three.rep", &t);
	expect_ops(&t, w, 2, 1);
	trace_free(&t);
}

static void test_trace_wee_alloc_format(void **state)
{
	(void)state;
	struct trace t;
	static const struct want w[] = { { TRACE_ALLOC, 0, 552 }, { TRACE_ALLOC, 1, 120 },
					 { TRACE_FREE, 0, 0 }, { TRACE_ALLOC, 2, 24 },
					 { TRACE_FREE, 2, 0 } };
	load_ok("wee.trace", &t);
	assert_int_equal(t.format, TRACE_WEE);
	expect_ops(&t, w, 5, 3);
	trace_free(&t);
}

static void test_trace_vlog_calls_new_delete_and_realloc(void **state)
{
	(void)state;
	struct trace t;
	static const struct want w[] = {
		{ TRACE_ALLOC, 0, 16 },     { TRACE_ALLOC, 1, 208 },   { TRACE_REALLOC, 2, 1600 },
		{ TRACE_REALLOC, 2, 2048 }, { TRACE_ALLOC, 3, 48 },    { TRACE_ALLOC, 4, 100 },
		{ TRACE_FREE, NS, 0 },      { TRACE_FREE, 3, 0 },      { TRACE_FREE, 4, 0 },
		{ TRACE_ALLOC, 5, 32 },     { TRACE_FREE, 5, 0 },      { TRACE_FREE, 0, 0 },
		{ TRACE_FREE, 2, 0 } };
	load_ok("sample.vlog", &t);
	assert_int_equal(t.format, TRACE_VLOG);
	expect_ops(&t, w, sizeof(w) / sizeof(w[0]), 6);
	trace_free(&t);
}

static void test_trace_vlog_labelled_arguments_and_realloc_to_zero(void **state)
{
	(void)state;
	static const char log[] =
		"--9-- memalign(al 64, size 100) = 0x1000\n"
		"--9-- _ZnwmSt11align_val_t(size 40, al 32) = 0x2000\n"
		"--9-- realloc(0x1000,0) = 0x0\n"
		"--9-- malloc(5) = 0x0\n"
		"--9-- _ZdlPvSt11align_val_t(0x2000)\n";
	static const struct want w[] = { { TRACE_ALLOC, 0, 100 }, { TRACE_ALLOC, 1, 40 },
					 { TRACE_FREE, 0, 0 }, { TRACE_FREE, 1, 0 } };
	struct trace t;
	char err[256];
	assert_int_equal(trace_parse("x.vlog", log, strlen(log), TRACE_AUTO, &t, err, sizeof(err)), 0);
	expect_ops(&t, w, 4, 2);
	trace_free(&t);
}

static void test_trace_pids_name_blocks_apart(void **state)
{
	(void)state;
	static const char log[] = "--1-- malloc(8) = 0x1000\n--2-- malloc(8) = 0x1000\n"
				  "--2-- free(0x1000)\n--1-- free(0x1000)\n";
	struct trace t;
	char err[256];
	assert_int_equal(trace_parse("p.vlog", log, strlen(log), TRACE_VLOG, &t, err, sizeof(err)), 0);
	assert_int_equal(t.nslots, 2);
	assert_int_equal(t.ops[2].slot, 1);
	assert_int_equal(t.ops[3].slot, 0);
	trace_free(&t);
}

/*
 * A process forked from another one in the same log frees (and reallocs)
 * blocks it inherited: those frees are dropped, such a realloc is a fresh
 * allocation. A process whose parent is not in the log stays strict.
 */
static void test_trace_vlog_forked_children_free_inherited_blocks(void **state)
{
	(void)state;
	static const char log[] =
		"==2== Parent PID: 1\n"          /* forked from 1, listed before it */
		"--2-- free(0x10)\n"             /* 1's block, inherited: dropped */
		"--2-- realloc(0x20,64) = 0x90\n" /* inherited too: a new block here */
		"--2-- free(0x90)\n"
		"==1== Parent PID: 77\n"         /* the root: its parent is not traced */
		"--1-- malloc(8) = 0x10\n"
		"--1-- free(0x10)\n";
	static const struct want w[] = { { TRACE_REALLOC, 0, 64 }, { TRACE_FREE, 0, 0 },
					 { TRACE_ALLOC, 1, 8 }, { TRACE_FREE, 1, 0 } };
	struct trace t;
	char err[256];
	assert_int_equal(trace_parse("f.vlog", log, strlen(log), TRACE_VLOG, &t, err, sizeof(err)), 0);
	expect_ops(&t, w, 4, 2);
	trace_free(&t);
	static const char root[] = "==1== Parent PID: 77\n--1-- free(0x10)\n";
	assert_int_equal(trace_parse("r.vlog", root, strlen(root), TRACE_VLOG, &t, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "r.vlog:2: free of 0x10, which is not allocated");
}

static void expect_error(const char *name, const char *line_and_msg)
{
	struct trace t;
	char err[512], want[4200];
	snprintf(want, sizeof(want), "%s:%s", fixture(name), line_and_msg);
	assert_int_equal(trace_load(fixture(name), TRACE_AUTO, &t, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_null(t.ops);
	assert_int_equal(t.nops, 0);
}

static void test_trace_malformed_inputs_name_file_and_line(void **state)
{
	(void)state;
	expect_error("bad-op.rep", "3: unknown operation 'x'");
	expect_error("bad-header.rep", "2: header has 2 numbers, expected 4");
	expect_error("bad-size.rep", "2: expected a size in bytes");
	expect_error("bad-double-free.rep", "4: free of id 0, which is not allocated");
	expect_error("bad-live-id.rep", "3: allocation of id 0, which is already allocated");
	expect_error("bad-negative-id.rep", "2: negative block id");
	expect_error("bad-extra.rep", "2: unexpected text after the operation");
	expect_error("bad-crlf-free.rep", "2: free of id 5, which is not allocated");
	expect_error("bad-free.trace", "2: free of allocation 1, which is not allocated");
	expect_error("bad-syntax.trace", "2: expected ')'");
	expect_error("bad-free.vlog", "2: free of 0x2000, which is not allocated");
	expect_error("bad-func.vlog", "2: unknown allocation function 'frobnicate'");
	expect_error("bad-result.vlog", "1: missing result of malloc");
	expect_error("bad-calloc.vlog", "2: calloc needs two arguments");
}

static void test_trace_malformed_buffers(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum trace_format fmt;
		const char *err;
	} cases[] = {
		{ "1 2 3 4 5\n", TRACE_REP, "b:1: header has more than 4 numbers" },
		{ "1 2 3 4\nab 0 1\n", TRACE_REP, "b:2: unknown operation 'ab 0 1'" },
		{ "1 2 3 4\nf\n", TRACE_REP, "b:2: expected a block id" },
		{ "a 0 99999999999999999999999\n", TRACE_REP, "b:1: expected a size in bytes" },
		{ "Free(0),\n", TRACE_WEE, "b:1: free of allocation 0, which is not allocated" },
		{ "Calloc(3),\n", TRACE_WEE, "b:1: expected Alloc(n) or Free(k)" },
		{ "--1-- realloc(0x10,8) = 0x20\n", TRACE_VLOG,
		  "b:1: realloc of 0x10, which is not allocated" },
		{ "--1-- malloc(8) = 0x10\n--1-- malloc(8) = 0x10\n", TRACE_VLOG,
		  "b:2: allocation returned 0x10, which is already allocated" },
		{ "--1-- malloc(8 = 0x10\n", TRACE_VLOG, "b:1: expected ',' or ')' in a call to malloc" },
		{ "--1-- malloc(8) = 0x10 junk\n", TRACE_VLOG, "b:1: unexpected text after the call" },
		{ "--1-- calloc(4294967296,4294967296) = 0x10\n", TRACE_VLOG,
		  "b:1: calloc size overflows" },
		{ "--1-- malloc(8) = 0x10\n--1-- free\n", TRACE_VLOG,
		  "b:2: free without its arguments: the line is cut short" },
		{ "--1-- _ZnwmRKSt9nothrow_t", TRACE_VLOG,
		  "b:1: _ZnwmRKSt9nothrow_t without its arguments: the line is cut short" },
		{ "\x7f" "ELF\x02\x01\nnot a log at all\n", TRACE_VLOG,
		  "b: not a valgrind log: no line starts with --PID-- or ==PID== (record one with "
		  "valgrind --trace-malloc=yes)" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct trace t;
		char err[256];
		int rc = trace_parse("b", cases[i].text, strlen(cases[i].text), cases[i].fmt, &t,
				     err, sizeof(err));
		assert_int_equal(rc, -1);
		assert_string_equal(err, cases[i].err);
	}
}

static void test_trace_buffer_without_final_newline_or_nul(void **state)
{
	(void)state;
	char buf[] = { '1', ' ', '1', ' ', '1', ' ', '1', '\n', 'a', ' ', '0', ' ', '7', 'X' };
	struct trace t;
	char err[256];
	/* The X after the last line's end is outside the buffer and must not be read. */
	assert_int_equal(trace_parse("n", buf, sizeof(buf) - 1, TRACE_REP, &t, err, sizeof(err)), 0);
	assert_int_equal(t.nops, 1);
	assert_int_equal(t.ops[0].size, 7);
	trace_free(&t);
}

static void test_trace_detect_by_extension_and_content(void **state)
{
	(void)state;
	assert_int_equal(trace_detect("x.rep", "Alloc(1),", 9), TRACE_REP);
	assert_int_equal(trace_detect("x.trace", "", 0), TRACE_WEE);
	assert_int_equal(trace_detect("x.vlog", "", 0), TRACE_VLOG);
	assert_int_equal(trace_detect("x", "\n  Alloc(3),\n", 13), TRACE_WEE);
	assert_int_equal(trace_detect("x", "==12== Memcheck", 15), TRACE_VLOG);
	assert_int_equal(trace_detect("x", "--12-- malloc(1) = 0x1", 22), TRACE_VLOG);
	assert_int_equal(trace_detect("x", "20000\n", 6), TRACE_REP);
	assert_int_equal(trace_format_parse("vlog"), TRACE_VLOG);
	assert_int_equal(trace_format_parse("nope"), -1);
	assert_string_equal(trace_format_name(TRACE_WEE), "wee");
}

static void test_trace_missing_file(void **state)
{
	(void)state;
	struct trace t;
	char err[256];
	assert_int_equal(trace_load("/nonexistent/x.rep", TRACE_AUTO, &t, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/x.rep: No such file or directory");
	assert_int_equal(trace_load("/", TRACE_AUTO, &t, err, sizeof(err)), -1);
	assert_string_equal(err, "/: Is a directory");
}

/*
 * Logs with no allocation in them are empty traces, not errors: nothing at
 * all, or only valgrind's own messages (a program that never allocates).
 */
static void test_trace_vlog_without_allocations_is_empty(void **state)
{
	(void)state;
	static const char *const logs[] = { "", "==4== Memcheck, a memory error detector\n"
						"--4-- some other message\n==4== \n" };
	for (size_t i = 0; i < 2; i++) {
		struct trace t;
		char err[256];
		assert_int_equal(trace_parse("e.vlog", logs[i], strlen(logs[i]), TRACE_VLOG, &t, err,
					     sizeof(err)), 0);
		assert_int_equal(t.nops, 0);
		trace_free(&t);
	}
}

static void test_trace_save_and_map_round_trip(void **state)
{
	(void)state;
	struct trace t, m;
	char err[256], path[] = "/tmp/buddy-test-ops-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	load_ok("sample.vlog", &t);
	assert_int_equal(trace_save(&t, path, err, sizeof(err)), 0);
	assert_int_equal(trace_load(path, TRACE_AUTO, &m, err, sizeof(err)), 0);
	assert_non_null(m.map);
	assert_int_equal(m.nops, t.nops);
	assert_int_equal(m.nslots, t.nslots);
	assert_memory_equal(m.ops, t.ops, t.nops * sizeof(*t.ops));
	trace_free(&m);
	/* A damaged saved trace (a slot out of range) is refused, not replayed. */
	t.ops[1].slot = 1000;
	assert_int_equal(trace_save(&t, path, err, sizeof(err)), 0);
	assert_int_equal(trace_load(path, TRACE_AUTO, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad op 1 in saved trace"));
	/* So is a truncated one. */
	assert_int_equal(truncate(path, 24 + 8), 0);
	assert_int_equal(trace_load(path, TRACE_AUTO, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated saved trace"));
	unlink(path);
	trace_free(&t);
}

/* The shared traces, when present: tar-gz.vlog must give tar-gz.rep's ops. */
static void test_trace_shared_vlog_matches_its_rep(void **state)
{
	(void)state;
	char dir[4096], rep[4200], vlog[4200], err[512];
	struct stat st;
	const char *src = getenv("BUDDY_SOURCE_DIR");
	snprintf(dir, sizeof(dir), "%s/../shared/traces", src ? src : BUDDY_TEST_SOURCE_DIR);
	if (stat(dir, &st) != 0) {
		print_message("skipped: %s absent\n", dir);
		skip();
		return;
	}
	snprintf(rep, sizeof(rep), "%s/tar-gz.rep", dir);
	snprintf(vlog, sizeof(vlog), "%s/tar-gz.vlog", dir);
	struct trace r, v;
	assert_int_equal(trace_load(rep, TRACE_AUTO, &r, err, sizeof(err)), 0);
	assert_int_equal(trace_load(vlog, TRACE_AUTO, &v, err, sizeof(err)), 0);
	size_t j = 0;
	for (size_t i = 0; i < v.nops; i++) {
		if (v.ops[i].slot == TRACE_NO_SLOT)
			continue; /* free(NULL), which the .rep dropped */
		assert_true(j < r.nops);
		int vk = v.ops[i].kind, rk = r.ops[j].kind;
		/* the .rep writes realloc(NULL, n) as `a` */
		assert_int_equal(vk == TRACE_REALLOC && rk == TRACE_ALLOC ? TRACE_ALLOC : vk, rk);
		if (rk != TRACE_FREE)
			assert_int_equal(v.ops[i].size, r.ops[j].size);
		j++;
	}
	assert_int_equal(j, r.nops);
	trace_free(&r);
	trace_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_rep_classic_header_on_four_lines),
		cmocka_unit_test(test_trace_rep_ids_reused_after_free),
		cmocka_unit_test(test_trace_rep_crlf_line_endings),
		cmocka_unit_test(test_trace_rep_free_null_and_realloc_of_new_id),
		cmocka_unit_test(test_trace_rep_three_number_header_and_comments),
		cmocka_unit_test(test_trace_wee_alloc_format),
		cmocka_unit_test(test_trace_vlog_calls_new_delete_and_realloc),
		cmocka_unit_test(test_trace_vlog_labelled_arguments_and_realloc_to_zero),
		cmocka_unit_test(test_trace_pids_name_blocks_apart),
		cmocka_unit_test(test_trace_malformed_inputs_name_file_and_line),
		cmocka_unit_test(test_trace_malformed_buffers),
		cmocka_unit_test(test_trace_buffer_without_final_newline_or_nul),
		cmocka_unit_test(test_trace_detect_by_extension_and_content),
		cmocka_unit_test(test_trace_missing_file),
		cmocka_unit_test(test_trace_vlog_forked_children_free_inherited_blocks),
		cmocka_unit_test(test_trace_vlog_without_allocations_is_empty),
		cmocka_unit_test(test_trace_save_and_map_round_trip),
		cmocka_unit_test(test_trace_shared_vlog_matches_its_rep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
