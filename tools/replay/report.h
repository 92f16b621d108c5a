/* SPDX-License-Identifier: MIT */
/*
 * report.h - the results of a replay (one row per trace and allocator)
 * and their output: a table, CSV, JSON, and an SVG plot.
 *
 * Definitions (per trace, per allocator):
 *   ops/s          trace ops / wall seconds of a timed run (median of runs);
 *   peak live      largest sum of requested bytes of live blocks (a realloc
 *                  counts its new size), as in the CS:APP malloc lab;
 *   peak footprint largest memory the allocator held (balloc footprint);
 *   utilization    peak live / peak footprint;
 *   internal frag  (usable - requested) / usable bytes of the live blocks at
 *                  the moment of peak live (usable = usable_size of each block);
 *   failures       allocations of > 0 bytes that returned NULL;
 *   errors         correctness check failures (alignment, overlap, data).
 */
#ifndef BUDDY_REPLAY_REPORT_H
#define BUDDY_REPLAY_REPORT_H

#include <stdio.h>

#include "engine.h"

struct replay_row {
	const char *trace;          /* trace file as given */
	const char *alloc;          /* allocator name */
	int ok;                     /* 1 if its runs completed */
	struct replay_result check; /* the checked run */
	double ops_per_sec;         /* median over the timed runs */
};

double report_utilization(const struct replay_row *row);
double report_internal_frag(const struct replay_row *row);

void report_table(FILE *f, const struct replay_row *rows, size_t n);
void report_csv(FILE *f, const struct replay_row *rows, size_t n);
void report_json(FILE *f, const struct replay_row *rows, size_t n);

/*
 * SVG: one panel per trace (rows of one trace are consecutive), with the
 * footprint of every allocator (solid) and the live bytes (dashed) over the
 * ops of the trace, from the samples of the checked runs.
 */
void report_plot(FILE *f, const struct replay_row *rows, size_t n);

#endif /* BUDDY_REPLAY_REPORT_H */
