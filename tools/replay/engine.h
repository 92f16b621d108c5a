/* SPDX-License-Identifier: MIT */
/*
 * engine.h - replay a trace on one allocator (struct balloc).
 *
 * Two kinds of run, each meant for a fresh allocator in a fresh process:
 *   - a checked run, which fills every block with a pattern derived from
 *     its slot, checks the pattern before every free and realloc (and that
 *     realloc kept the data), checks alignment and that no two live blocks
 *     overlap, and records live bytes, footprint and failures;
 *   - a timed run, which only calls the allocator, for ops per second.
 * The engine keeps its own data in memory it maps itself, so it does not
 * disturb the allocator it measures.
 */
#ifndef BUDDY_REPLAY_ENGINE_H
#define BUDDY_REPLAY_ENGINE_H

#include <stdint.h>
#include <stdio.h>

#include "buddy/alloc.h"
#include "trace.h"

struct replay_config {
	size_t align;       /* alignment every block must have; 0 means 16 */
	size_t max_samples; /* footprint/live samples kept for plotting; 0 = none */
};

struct replay_sample {
	uint64_t op;        /* ops done when sampled */
	uint64_t live;      /* requested bytes of live blocks */
	uint64_t footprint; /* the allocator's footprint_bytes */
};

struct replay_result {
	uint64_t ops;            /* operations replayed */
	double seconds;          /* wall time of the timed run; 0 for a checked run */
	uint64_t peak_live;      /* largest sum of requested bytes of live blocks */
	uint64_t held_at_peak;   /* usable bytes of the live blocks at that moment */
	uint64_t peak_footprint; /* largest footprint seen (sampled, and the stats peak) */
	uint64_t failures;       /* allocations of > 0 bytes that returned NULL */
	uint64_t misaligned;     /* blocks not aligned to config.align */
	uint64_t overlaps;       /* blocks overlapping a live block */
	uint64_t corrupted;      /* blocks whose pattern changed (incl. realloc losing data) */
	char first_error[200];   /* the first check failure, or "" */
	struct replay_sample *samples; /* nsamples points, malloc'd; NULL when none */
	size_t nsamples;
};

/* Checked run of t on a. Returns 0, or -1 if out of memory for the checks. */
int replay_check(const struct trace *t, const struct balloc *a,
		 const struct replay_config *cfg, struct replay_result *r);

/* Timed run of t on a: r->ops and r->seconds. Returns 0 or -1 (no memory). */
int replay_time(const struct trace *t, const struct balloc *a, struct replay_result *r);

/*
 * Peak live bytes of t if no allocation fails (the sum of requested bytes
 * of live blocks, a realloc counting its new size). 0 if out of memory.
 */
uint64_t replay_trace_peak_live(const struct trace *t);

/* Free the samples of r. */
void replay_result_free(struct replay_result *r);

/* Check-failure total of r. */
uint64_t replay_result_errors(const struct replay_result *r);

/* Write r as text lines ("result k=v ...", "sample op live foot", "error text"). */
void replay_result_write(FILE *f, const struct replay_result *r);

/*
 * Add one line written by replay_result_write to r (start from a zeroed
 * r). Returns 0, or -1 if the line is not one of them.
 */
int replay_result_read_line(struct replay_result *r, const char *line);

#endif /* BUDDY_REPLAY_ENGINE_H */
