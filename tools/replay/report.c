/* SPDX-License-Identifier: MIT */
/*
 * report.c - table, CSV, JSON and SVG output of replay results (see report.h).
 */
#include "report.h"

#include <string.h>

double report_utilization(const struct replay_row *row)
{
	if (!row->check.peak_footprint)
		return 0;
	return (double)row->check.peak_live / (double)row->check.peak_footprint;
}

double report_internal_frag(const struct replay_row *row)
{
	const struct replay_result *r = &row->check;
	if (!r->held_at_peak || r->held_at_peak < r->peak_live)
		return 0;
	return (double)(r->held_at_peak - r->peak_live) / (double)r->held_at_peak;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Bytes in a short human form: 1023 B, 12.3 KiB, 4.0 MiB, 1.50 GiB. */
static void bytes_human(char *buf, size_t len, double b)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

void report_table(FILE *f, const struct replay_row *rows, size_t n)
{
	/* The name columns are as wide as their longest entry. */
	int tw = 22, aw = 9;
	for (size_t i = 0; i < n; i++) {
		if ((int)strlen(base_name(rows[i].trace)) > tw)
			tw = (int)strlen(base_name(rows[i].trace));
		if ((int)strlen(rows[i].alloc) > aw)
			aw = (int)strlen(rows[i].alloc);
	}
	fprintf(f, "%-*s %-*s %9s %9s %11s %11s %6s %6s %8s %6s\n", tw, "trace", aw, "allocator",
		"ops", "Mops/s", "peak live", "footprint", "util%", "frag%", "failures", "errors");
	for (size_t i = 0; i < n; i++) {
		const struct replay_row *r = &rows[i];
		char live[24], foot[24];
		if (!r->ok) {
			fprintf(f, "%-*s %-*s   (run failed)\n", tw, base_name(r->trace), aw, r->alloc);
			continue;
		}
		bytes_human(live, sizeof(live), (double)r->check.peak_live);
		bytes_human(foot, sizeof(foot), (double)r->check.peak_footprint);
		fprintf(f, "%-*s %-*s %9llu %9.2f %11s %11s %6.1f %6.1f %8llu %6llu\n",
			tw, base_name(r->trace), aw, r->alloc, (unsigned long long)r->check.ops,
			r->ops_per_sec / 1e6, live, foot, 100 * report_utilization(r),
			100 * report_internal_frag(r), (unsigned long long)r->check.failures,
			(unsigned long long)replay_result_errors(&r->check));
	}
	for (size_t i = 0; i < n; i++)
		if (rows[i].check.first_error[0])
			fprintf(f, "%s on %s: %s\n", rows[i].alloc, base_name(rows[i].trace),
				rows[i].check.first_error);
}

/* A string as a CSV field or JSON string (quotes doubled / escaped). */
static void quoted(FILE *f, const char *s, int json)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputs(json ? "\\\"" : "\"\"", f);
		else if (json && *s == '\\')
			fputs("\\\\", f);
		else if (json && (unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void report_csv(FILE *f, const struct replay_row *rows, size_t n)
{
	fprintf(f, "trace,allocator,ok,ops,ops_per_sec,peak_live_bytes,peak_footprint_bytes,"
		"utilization,held_at_peak_bytes,internal_fragmentation,failures,errors,first_error\n");
	for (size_t i = 0; i < n; i++) {
		const struct replay_row *r = &rows[i];
		quoted(f, r->trace, 0);
		fprintf(f, ",%s,%d,%llu,%.1f,%llu,%llu,%.6f,%llu,%.6f,%llu,%llu,", r->alloc, r->ok,
			(unsigned long long)r->check.ops, r->ops_per_sec,
			(unsigned long long)r->check.peak_live,
			(unsigned long long)r->check.peak_footprint, report_utilization(r),
			(unsigned long long)r->check.held_at_peak, report_internal_frag(r),
			(unsigned long long)r->check.failures,
			(unsigned long long)replay_result_errors(&r->check));
		quoted(f, r->check.first_error, 0);
		fputc('\n', f);
	}
}

void report_json(FILE *f, const struct replay_row *rows, size_t n)
{
	fprintf(f, "{\"results\": [");
	for (size_t i = 0; i < n; i++) {
		const struct replay_row *r = &rows[i];
		fprintf(f, "%s\n  {\"trace\": ", i ? "," : "");
		quoted(f, r->trace, 1);
		fprintf(f, ", \"allocator\": ");
		quoted(f, r->alloc, 1);
		fprintf(f, ", \"ok\": %s, \"ops\": %llu, \"ops_per_sec\": %.1f, "
			"\"peak_live_bytes\": %llu, \"peak_footprint_bytes\": %llu, "
			"\"utilization\": %.6f, \"held_at_peak_bytes\": %llu, "
			"\"internal_fragmentation\": %.6f, \"failures\": %llu, \"errors\": %llu, "
			"\"first_error\": ", r->ok ? "true" : "false",
			(unsigned long long)r->check.ops, r->ops_per_sec,
			(unsigned long long)r->check.peak_live,
			(unsigned long long)r->check.peak_footprint, report_utilization(r),
			(unsigned long long)r->check.held_at_peak, report_internal_frag(r),
			(unsigned long long)r->check.failures,
			(unsigned long long)replay_result_errors(&r->check));
		quoted(f, r->check.first_error, 1);
		fputc('}', f);
	}
	fprintf(f, "\n]}\n");
}
