/* SPDX-License-Identifier: MIT */
/*
 * test_replay_cli.c - buddy replay, buddy bench and the native runner as a
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
	int rc = run("%s/buddy replay -a glibc --repeat 1 --csv %s/tests/replay/fixtures/sample.vlog "
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
	int rc = run("%s/buddy replay --json --plot %s --allocator glibc --repeat 1 "
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
	int rc = run("%s/buddy replay -a glibc %s/tests/replay/fixtures/bad-op.rep", bin_dir(),
		     src_dir());
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "/tests/replay/fixtures/bad-op.rep:3: unknown operation 'x'\n"));
	assert_null(strstr(out, "trace "));
}

static void test_cli_replay_bad_usage(void **state)
{
	(void)state;
	assert_int_equal(run("%s/buddy replay --align 3 x.rep", bin_dir()), 2);
	assert_non_null(strstr(out, "buddy replay: --align: '3' is not a power of two "
				    "(try 'buddy replay --help')\n"));
	assert_int_equal(run("%s/buddy replay -a glibc", bin_dir()), 2);
	assert_non_null(strstr(out, "no trace given"));
	assert_int_equal(run("%s/buddy replay --format xyz x.rep", bin_dir()), 2);
	assert_non_null(strstr(out, "--format: 'xyz' is not rep, wee, vlog or auto"));
	assert_int_equal(run("%s/buddy replay --repeat 0 x.rep", bin_dir()), 2);
	assert_non_null(strstr(out, "--repeat: '0' is out of range (1 to 99)"));
	assert_int_equal(run("%s/buddy replay --arena 4Q x.rep", bin_dir()), 2);
	assert_non_null(strstr(out, "--arena: '4Q' is not a size"));
	assert_int_equal(run("%s/buddy replay --bogus x.rep", bin_dir()), 2);
	assert_non_null(strstr(out, "unknown option '--bogus'"));
	assert_int_equal(run("%s/buddy replay x.rep --plot", bin_dir()), 2);
	assert_non_null(strstr(out, "option '--plot' needs an argument"));
	assert_int_equal(run("%s/buddy replay --help", bin_dir()), 0);
	assert_non_null(strstr(out, "usage: "));
}

/* An allocator no runner offers is refused before anything runs. */
static void test_cli_replay_unknown_allocator_refused(void **state)
{
	(void)state;
	int rc = run("%s/buddy replay -a nosuch,glibc --repeat 1 %s/tests/replay/fixtures/rep-null.rep",
		     bin_dir(), src_dir());
	assert_int_equal(rc, 2);
	assert_non_null(strstr(out, "buddy replay: unknown allocator 'nosuch' (valid: "));
	assert_non_null(strstr(out, " glibc"));
	assert_null(strstr(out, "trace "));
	rc = run("%s/buddy bench -a loop,nosuch --ops 10", bin_dir());
	assert_int_equal(rc, 2);
	assert_non_null(strstr(out, "buddy bench: unknown allocator 'nosuch' (valid: loop, page"));
	assert_null(strstr(out, "median"));
}

/* --arena takes K, M and G as everywhere else. */
static void test_cli_replay_arena_size(void **state)
{
	(void)state;
	int rc = run("%s/buddy replay -a bestfit --arena 4K --repeat 1 --csv "
		     "%s/tests/replay/fixtures/rep-classic.rep", bin_dir(), src_dir());
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "rep-classic.rep\",bestfit,1,5,"));
}

/*
 * Inputs that are not traces: an empty one is worth a warning, garbage and
 * a cut line an error, a directory says so.
 */
static void test_cli_replay_inputs_that_are_not_traces(void **state)
{
	(void)state;
	char dir[] = "/tmp/buddy-test-traces-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[4200];
	snprintf(path, sizeof(path), "%s/empty.rep", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(run("%s/buddy replay -a glibc --repeat 1 %s", bin_dir(), path), 0);
	assert_non_null(strstr(out, "warning: "));
	assert_non_null(strstr(out, "empty.rep holds no operations"));
	snprintf(path, sizeof(path), "%s/noise.vlog", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 2000; i++)
		fputc((i * 7919 + 13) % 251, f);
	fclose(f);
	assert_int_equal(run("%s/buddy replay -a glibc %s", bin_dir(), path), 1);
	assert_non_null(strstr(out, "noise.vlog: not a valgrind log"));
	snprintf(path, sizeof(path), "%s/cut.vlog", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("==7== Memcheck\n--7-- malloc(16) = 0x1000\n--7-- free\n", f);
	fclose(f);
	assert_int_equal(run("%s/buddy replay -a glibc %s", bin_dir(), path), 1);
	assert_non_null(strstr(out, "cut.vlog:3: free without its arguments: the line is cut short"));
	assert_int_equal(run("%s/buddy replay -a glibc %s", bin_dir(), dir), 1);
	assert_non_null(strstr(out, ": Is a directory\n"));
	assert_int_equal(run("rm -r %s", dir), 0);
}

/*
 * A 1 TiB request fails on the best-fit heap's buffer and is counted as a
 * failure; the patterns of the checked run never write a huge block through.
 */
static void test_cli_replay_huge_request_counts_a_failure(void **state)
{
	(void)state;
	char path[] = "/tmp/buddy-test-huge-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("0 2 3 1\na 0 1099511627776\na 1 100\nf 1\n", f);
	fclose(f);
	/* (AddressSanitizer's malloc, glibc's stand-in under it, must return NULL as glibc does) */
	int rc = run("ASAN_OPTIONS=${ASAN_OPTIONS:-}:allocator_may_return_null=1 "
		     "%s/buddy replay -a bestfit,glibc --repeat 1 --csv --format rep %s", bin_dir(), path);
	unlink(path);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\",bestfit,1,3,"));
	assert_int_equal(count(out, ",1,0,\"\"\n"), 2); /* one failure, no errors, on both */
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
	int rc = run("%s/buddy bench --ops 3000 --runs 3 -a loop,page,glibc", bin_dir());
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "median ns per pair; 3000 ops, 3 run(s)"));
	assert_non_null(strstr(out, "\nloop "));
	assert_non_null(strstr(out, "\npage "));
	assert_non_null(strstr(out, "\nglibc "));
	assert_non_null(strstr(out, "targets: the project's goals")); /* its lines need tcmalloc */
	assert_null(strstr(out, "buddy bench: 1/")); /* no progress when stderr is no terminal */
	rc = run("%s/buddy bench --ops 1000 --runs 1 -a loop,page -w w2 --csv", bin_dir());
	assert_int_equal(rc, 0);
	assert_true(strncmp(out, "allocator,workload,ns_per_pair,failures\nloop,W2,", 48) == 0);
	assert_int_equal(count(out, "\n"), 3);
	assert_non_null(strstr(out, "\npage,W2,"));
	assert_int_equal(run("%s/buddy bench -w W9", bin_dir()), 2);
	assert_int_equal(run("%s/buddy bench --runs 0", bin_dir()), 2);
}

/* Length of the line of `text` that starts with `start`, or 0. */
static size_t line_len(const char *text, const char *start)
{
	size_t n = strlen(start);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, start, n) == 0)
			return strchr(l, '\n') ? (size_t)(strchr(l, '\n') - l) : strlen(l);
	return 0;
}

/* Columns line up whatever the names: a long allocator name, a long trace name. */
static void test_cli_tables_align(void **state)
{
	(void)state;
	assert_int_equal(run("%s/buddy bench --ops 500 --runs 1 -a loop,page-nocache -w W1", bin_dir()),
			 0);
	size_t header = line_len(out, "allocator");
	assert_true(header > 0);
	assert_int_equal(line_len(out, "loop "), header);
	assert_int_equal(line_len(out, "page-nocache "), header);
	char path[] = "/tmp/buddy-test-a-rather-long-trace-name-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(run("cp %s/tests/replay/fixtures/rep-classic.rep %s", src_dir(), path), 0);
	assert_int_equal(run("%s/buddy replay -a glibc,bestfit --repeat 1 --format rep %s", bin_dir(),
			     path), 0);
	unlink(path);
	header = line_len(out, "trace ");
	assert_true(header > 0);
	assert_int_equal(line_len(out, strrchr(path, '/') + 1), header);
	assert_int_equal(count(out, " bestfit "), 1);
}

/* A progress line on stderr, forced here (it shows by itself on a terminal). */
static void test_cli_progress(void **state)
{
	(void)state;
	assert_int_equal(run("BUDDY_PROGRESS=1 %s/buddy bench --ops 500 --runs 2 -a loop -w W1,W2",
			     bin_dir()), 0);
	assert_non_null(strstr(out, "buddy bench: 1/4 run 1 of 2: W1 on loop\n"));
	assert_non_null(strstr(out, "buddy bench: 4/4 run 2 of 2: W2 on loop\n"));
	assert_int_equal(run("BUDDY_PROGRESS=1 %s/buddy replay -a glibc --repeat 1 "
			     "%s/tests/replay/fixtures/rep-classic.rep", bin_dir(), src_dir()), 0);
	assert_non_null(strstr(out, "buddy replay: 1/2 checked run: rep-classic.rep on glibc\n"));
	assert_non_null(strstr(out, "buddy replay: 2/2 timed run 1 of 1: rep-classic.rep on glibc\n"));
}

/*
 * buddy record follows a program's children (sh starts ls) and writes a
 * trace that replays. Needs valgrind, which make check installs; skips,
 * saying so, without it.
 */
static void test_cli_record(void **state)
{
	(void)state;
	if (run("command -v valgrind") != 0) {
		print_message("skipped: valgrind is not installed\n");
		skip();
		return;
	}
	char dir[] = "/tmp/buddy-test-record-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int rc = run("cd %s && %s/buddy record -o t.vlog -- sh -c 'ls / >/dev/null; true' 2>&1 && "
		     "%s/buddy replay -a glibc --repeat 1 --csv t.vlog", dir, bin_dir(), bin_dir());
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, " operations from 2 processes in t.vlog; replay them with: "
				    "buddy replay t.vlog\n"));
	assert_non_null(strstr(out, "\"t.vlog\",glibc,1,"));
	/* A program that does not start records nothing, and says so. */
	assert_int_equal(run("cd %s && %s/buddy record -- ./no-such-program", dir, bin_dir()), 1);
	assert_non_null(strstr(out, "no allocations recorded"));
	assert_int_equal(run("test -e %s/no-such-program.vlog", dir), 1);
	assert_int_equal(run("%s/buddy record -o x.vlog", bin_dir()), 2);
	assert_non_null(strstr(out, "no program given"));
	assert_int_equal(run("rm -r %s", dir), 0);
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
	int rc = run("%s/buddy replay -a glibc --repeat 1 --csv %s/python-imports.rep", bin_dir(), dir);
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
		cmocka_unit_test(test_cli_replay_unknown_allocator_refused),
		cmocka_unit_test(test_cli_replay_arena_size),
		cmocka_unit_test(test_cli_replay_inputs_that_are_not_traces),
		cmocka_unit_test(test_cli_replay_huge_request_counts_a_failure),
		cmocka_unit_test(test_cli_runner_protocol),
		cmocka_unit_test(test_cli_bench_small_run),
		cmocka_unit_test(test_cli_tables_align),
		cmocka_unit_test(test_cli_progress),
		cmocka_unit_test(test_cli_record),
		cmocka_unit_test(test_cli_replay_shared_python_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
