/* SPDX-License-Identifier: MIT */
/*
 * test_replay_cli.c - buddy-replay, buddy-bench and the native runner as a
 * user runs them: output formats, exit statuses, and errors that name the
 * file and line. Only glibc and the do-nothing allocator are used, with
 * tiny op counts; nothing here looks at timings.
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
#include <sys/wait.h>
#include <unistd.h>

static char out[1 << 16];

static const char *bin_dir(void)
{
	const char *b = getenv("BUDDY_BINARY_DIR");
	return b ? b : ".";
}

static const char *src_dir(void)
{
	const char *s = getenv("BUDDY_SOURCE_DIR");
	return s ? s : BUDDY_TEST_SOURCE_DIR;
}

/* Run a shell command (stdout and stderr into `out`); its exit status. */
static int run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(cmd, sizeof(cmd) - 6, fmt, ap);
	va_end(ap);
	assert_true(len >= 0 && (size_t)len < sizeof(cmd) - 6);
	memcpy(cmd + len, " 2>&1", 6);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;
	for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

static void test_cli_replay_csv_on_fixtures(void **state)
{
	(void)state;
	int rc = run("%s/buddy-replay -a glibc --repeat 1 --csv %s/tests/replay/fixtures/sample.vlog "
		     "%s/tests/replay/fixtures/rep-classic.rep", bin_dir(), src_dir(), src_dir());
	assert_int_equal(rc, 0);
	assert_true(strncmp(out, "trace,allocator,ok,ops,", 23) == 0);
	assert_int_equal(count(out, "\n"), 3);
	assert_int_equal(count(out, ",glibc,1,"), 2);
	assert_non_null(strstr(out, "sample.vlog\",glibc,1,13,"));
	assert_non_null(strstr(out, "rep-classic.rep\",glibc,1,5,"));
	assert_int_equal(count(out, ",0,0,\"\"\n"), 2); /* no failures, no errors */
}

static void test_cli_replay_json_and_plot(void **state)
{
	(void)state;
	char svg[] = "/tmp/buddy-test-plot-XXXXXX";
	int fd = mkstemp(svg);
	assert_true(fd >= 0);
	close(fd);
	int rc = run("%s/buddy-replay --json --plot %s --allocator glibc --repeat 1 "
		     "%s/tests/replay/fixtures/wee.trace", bin_dir(), svg, src_dir());
	assert_int_equal(rc, 0);
	assert_true(strncmp(out, "{\"results\": [", 13) == 0);
	assert_non_null(strstr(out, "\"allocator\": \"glibc\", \"ok\": true, \"ops\": 5,"));
	FILE *f = fopen(svg, "r");
	char head[8] = "";
	assert_non_null(f);
	assert_int_equal(fread(head, 1, 5, f), 5);
	fclose(f);
	unlink(svg);
	assert_string_equal(head, "<svg ");
}

static void test_cli_replay_malformed_trace_names_file_and_line(void **state)
{
	(void)state;
	int rc = run("%s/buddy-replay -a glibc %s/tests/replay/fixtures/bad-op.rep", bin_dir(),
		     src_dir());
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "/tests/replay/fixtures/bad-op.rep:3: unknown operation 'x'\n"));
	assert_null(strstr(out, "trace "));
}

static void test_cli_replay_bad_usage(void **state)
{
	(void)state;
	assert_int_equal(run("%s/buddy-replay --align 3 x.rep", bin_dir()), 2);
	assert_non_null(strstr(out, "bad option or argument: --align"));
	assert_int_equal(run("%s/buddy-replay -a glibc", bin_dir()), 2);
	assert_non_null(strstr(out, "no trace given"));
	assert_int_equal(run("%s/buddy-replay --help", bin_dir()), 0);
	assert_non_null(strstr(out, "usage: "));
}

static void test_cli_replay_unknown_allocator_fails_its_row(void **state)
{
	(void)state;
	int rc = run("%s/buddy-replay -a nosuch,glibc --repeat 1 %s/tests/replay/fixtures/rep-null.rep",
		     bin_dir(), src_dir());
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "nosuch: "));
	assert_non_null(strstr(out, "(run failed)"));
	assert_non_null(strstr(out, "rep-null.rep           glibc"));
}

static void test_cli_runner_protocol(void **state)
{
	(void)state;
	int rc = run("%s/buddy-run-native replay check glibc %s/tests/replay/fixtures/rep-classic.rep "
		     "auto 16 4 0", bin_dir(), src_dir());
	assert_int_equal(rc, 0);
	assert_true(strncmp(out, "result ops=5 seconds=0.000000000 peak_live=768 ", 47) == 0);
	assert_true(count(out, "\nsample ") >= 4);
	assert_int_equal(run("%s/buddy-run-native frob", bin_dir()), 2);
	assert_int_equal(run("%s/buddy-run-native bench W1 loop 100 1", bin_dir()), 0);
	assert_true(strncmp(out, "bench ns=", 9) == 0);
	assert_non_null(strstr(out, " pairs=100 failures=0 runs=1\nrun "));
}

static void test_cli_bench_small_run(void **state)
{
	(void)state;
	int rc = run("%s/buddy-bench --ops 3000 --runs 3 -a loop,page,glibc", bin_dir());
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "median ns per pair; 3000 ops, 3 run(s)"));
	assert_non_null(strstr(out, "\nloop "));
	assert_non_null(strstr(out, "\npage "));
	assert_non_null(strstr(out, "\nglibc "));
	assert_non_null(strstr(out, "targets:\n  W1 page vs fastest peer"));
	rc = run("%s/buddy-bench --ops 1000 --runs 1 -a loop,page -w w2 --csv", bin_dir());
	assert_int_equal(rc, 0);
	assert_true(strncmp(out, "allocator,workload,ns_per_pair,failures\nloop,W2,", 48) == 0);
	assert_int_equal(count(out, "\n"), 3);
	assert_non_null(strstr(out, "\npage,W2,"));
	assert_int_equal(run("%s/buddy-bench -w W9", bin_dir()), 2);
	assert_int_equal(run("%s/buddy-bench --runs 0", bin_dir()), 2);
}

/* The real traces, when the shared folder is there. */
static void test_cli_replay_shared_python_trace(void **state)
{
	(void)state;
	char dir[4096];
	struct stat st;
	snprintf(dir, sizeof(dir), "%s/../shared/traces", src_dir());
	if (stat(dir, &st) != 0) {
		print_message("skipped: %s absent\n", dir);
		skip();
		return;
	}
	int rc = run("%s/buddy-replay -a glibc --repeat 1 --csv %s/python-imports.rep", bin_dir(), dir);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "python-imports.rep\",glibc,1,298639,"));
	assert_non_null(strstr(out, ",0,0,\"\"\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_replay_csv_on_fixtures),
		cmocka_unit_test(test_cli_replay_json_and_plot),
		cmocka_unit_test(test_cli_replay_malformed_trace_names_file_and_line),
		cmocka_unit_test(test_cli_replay_bad_usage),
		cmocka_unit_test(test_cli_replay_unknown_allocator_fails_its_row),
		cmocka_unit_test(test_cli_runner_protocol),
		cmocka_unit_test(test_cli_bench_small_run),
		cmocka_unit_test(test_cli_replay_shared_python_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
