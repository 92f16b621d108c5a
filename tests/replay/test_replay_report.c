/* SPDX-License-Identifier: MIT */
/*
 * test_replay_report.c - the structure of the replay outputs: table, CSV
 * (header and one line per row, same field count), JSON (the keys and
 * values), and the SVG plot (one panel per trace, one line per allocator).
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

#include "report.h"

static struct replay_sample samples[3] = { { 0, 0, 4096 }, { 5, 300, 8192 }, { 10, 0, 8192 } };

static void rows_make(struct replay_row *rows)
{
	memset(rows, 0, 3 * sizeof(*rows));
	const char *allocs[3] = { "glibc", "mine", "glibc" };
	const char *traces[3] = { "dir/a.rep", "dir/a.rep", "b \"x\".rep" };
	for (int i = 0; i < 3; i++) {
		rows[i].trace = traces[i];
		rows[i].alloc = allocs[i];
		rows[i].ok = 1;
		rows[i].ops_per_sec = 1e6 * (i + 1);
		rows[i].check = (struct replay_result){ .ops = 10, .peak_live = 300,
							.held_at_peak = 400, .peak_footprint = 8192,
							.samples = samples, .nsamples = 3 };
	}
	rows[1].check.failures = 2;
	rows[1].check.misaligned = 1;
	snprintf(rows[1].check.first_error, sizeof(rows[1].check.first_error), "op 4: misaligned");
}

static char *capture(void (*fn)(FILE *, const struct replay_row *, size_t),
		     const struct replay_row *rows, size_t n)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	fn(f, rows, n);
	long len = ftell(f);
	assert_true(len > 0);
	char *buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	rewind(f);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;
	for (const char *p = strstr(s, what); p; p = strstr(p + strlen(what), what))
		n++;
	return n;
}

static void test_report_definitions(void **state)
{
	(void)state;
	struct replay_row rows[3];
	rows_make(rows);
	assert_true(report_utilization(&rows[0]) > 0.0366 && report_utilization(&rows[0]) < 0.0367);
	assert_true(report_internal_frag(&rows[0]) > 0.2499 && report_internal_frag(&rows[0]) < 0.2501);
	rows[0].check.peak_footprint = 0;
	rows[0].check.held_at_peak = 0;
	assert_true(report_utilization(&rows[0]) == 0);
	assert_true(report_internal_frag(&rows[0]) == 0);
}

static void test_report_csv_has_a_header_and_equal_fields(void **state)
{
	(void)state;
	struct replay_row rows[3];
	rows_make(rows);
	char *out = capture(report_csv, rows, 3);
	char *save, *line = strtok_r(out, "\n", &save);
	assert_string_equal(line, "trace,allocator,ok,ops,ops_per_sec,peak_live_bytes,"
			    "peak_footprint_bytes,utilization,held_at_peak_bytes,"
			    "internal_fragmentation,failures,errors,first_error");
	size_t header_commas = count(line, ","), lines = 0;
	while ((line = strtok_r(NULL, "\n", &save))) {
		lines++;
		assert_int_equal(count(line, ","), header_commas);
	}
	assert_int_equal(lines, 3);
	free(out);
	out = capture(report_csv, rows, 3);
	assert_non_null(strstr(out, "\n\"b \"\"x\"\".rep\",glibc,")); /* quotes doubled */
	free(out);
	out = capture(report_csv, rows, 3);
	assert_non_null(strstr(out, "\"dir/a.rep\",mine,1,10,2000000.0,300,8192,0.036621,400,0.250000,2,1,\"op 4: misaligned\"\n"));
	free(out);
}

static void test_report_json_fields(void **state)
{
	(void)state;
	struct replay_row rows[3];
	rows_make(rows);
	char *out = capture(report_json, rows, 3);
	assert_true(strncmp(out, "{\"results\": [", 13) == 0);
	assert_int_equal(count(out, "\"allocator\": "), 3);
	assert_int_equal(count(out, "\"ok\": true"), 3);
	assert_non_null(strstr(out, "\"trace\": \"b \\\"x\\\".rep\""));
	assert_non_null(strstr(out, "\"failures\": 2, \"errors\": 1, \"first_error\": \"op 4: misaligned\"}"));
	assert_non_null(strstr(out, "\"peak_footprint_bytes\": 8192, \"utilization\": 0.036621"));
	assert_int_equal(count(out, "{"), 4);
	assert_int_equal(count(out, "}"), 4);
	assert_non_null(strstr(out, "]}\n"));
	free(out);
}

static void test_report_table_rows_and_errors(void **state)
{
	(void)state;
	struct replay_row rows[3];
	rows_make(rows);
	rows[2].ok = 0;
	char *out = capture(report_table, rows, 3);
	assert_true(strncmp(out, "trace ", 6) == 0);
	assert_int_equal(count(out, "\n"), 5); /* header, 3 rows, 1 error line */
	assert_non_null(strstr(out, "(run failed)"));
	assert_non_null(strstr(out, "mine on a.rep: op 4: misaligned\n"));
	assert_non_null(strstr(out, "300 B"));
	assert_non_null(strstr(out, "8.0 KiB"));
	free(out);
}

static void test_report_plot_panels_and_lines(void **state)
{
	(void)state;
	struct replay_row rows[3];
	rows_make(rows);
	char *out = capture(report_plot, rows, 3);
	assert_true(strncmp(out, "<svg ", 5) == 0);
	assert_non_null(strstr(out, "</svg>\n"));
	assert_non_null(strstr(out, "height=\"660\"")); /* two panels: a.rep and b "x".rep */
	/* a.rep: live once + glibc + mine + mine's live (it had failures); b: live + glibc. */
	assert_int_equal(count(out, "<polyline"), 6);
	assert_int_equal(count(out, ">mine</text>"), 1);
	assert_int_equal(count(out, ">live bytes</text>"), 2);
	/* Both axes titled in each panel; bytes on a log scale, so no zero on it. */
	assert_int_equal(count(out, ">bytes (log scale)</text>"), 2);
	assert_int_equal(count(out, ">operations replayed</text>"), 2);
	assert_null(strstr(out, ">0.0 KiB<"));
	free(out);
}

/*
 * The ticks are round: the byte axis at powers of two with exact labels
 * (samples from 300 B to 8 KiB: 256 B up to 8 KiB), the op axis at 1, 2 or 5
 * times a power of ten (10 ops: every 2).
 */
static void test_report_plot_round_ticks(void **state)
{
	(void)state;
	struct replay_row rows[3];
	rows_make(rows);
	char *out = capture(report_plot, rows, 1);
	static const char *const bytes[] = { ">256 B<", ">512 B<", ">1 KiB<", ">2 KiB<", ">4 KiB<",
					     ">8 KiB<" };
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(count(out, bytes[i]), 1);
	assert_int_equal(count(out, "text-anchor=\"end\">"), 6); /* no other byte tick */
	static const char *const ops[] = { ">0<", ">2<", ">4<", ">6<", ">8<", ">10<" };
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(count(out, ops[i]), 1);
	assert_int_equal(count(out, "text-anchor=\"middle\">"), 8); /* six ticks, two titles */
	free(out);
	/* A trace name is text, not markup. */
	rows[0].trace = "a<b&c.rep";
	out = capture(report_plot, rows, 1);
	assert_non_null(strstr(out, ">a&lt;b&amp;c.rep</tspan>"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_definitions),
		cmocka_unit_test(test_report_csv_has_a_header_and_equal_fields),
		cmocka_unit_test(test_report_json_fields),
		cmocka_unit_test(test_report_table_rows_and_errors),
		cmocka_unit_test(test_report_plot_panels_and_lines),
		cmocka_unit_test(test_report_plot_round_ticks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
