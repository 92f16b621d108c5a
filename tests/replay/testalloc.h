/* SPDX-License-Identifier: MIT */
/*
 * testalloc.h - test-only allocators behind struct balloc, for the replay
 * engine tests: a correct one (malloc with a header) and broken ones that
 * prove each check of the engine fires.
 */
#ifndef BUDDY_TEST_TESTALLOC_H
#define BUDDY_TEST_TESTALLOC_H

#include <stddef.h>

#include "buddy/alloc.h"
#include "trace.h"

enum testalloc_mode {
	TA_GOOD,      /* malloc with a header; footprint = bytes held */
	TA_MISALIGN,  /* blocks of 16 bytes or more come back 8 bytes off */
	TA_OVERLAP,   /* each block starts in the middle of the previous one */
	TA_ADJACENT,  /* bump allocator: each block starts where the previous ended */
	TA_LOSE,      /* realloc moves the block without copying the data */
	TA_SCRIBBLE,  /* every allocation writes a byte into the previous live block */
	TA_FAIL       /* allocations after the first `limit` return NULL */
};

struct testalloc {
	enum testalloc_mode mode;
	size_t limit;      /* TA_FAIL: allocations allowed */
	size_t allocs;     /* allocations made */
	size_t frees;      /* non-NULL frees */
	size_t held;       /* bytes held (usable sizes) */
	size_t peak;       /* largest held */
	void *last;        /* last block returned (TA_SCRIBBLE, TA_OVERLAP) */
	size_t last_size;
	unsigned char *arena; /* TA_OVERLAP: bump arena */
	size_t arena_used;
};

/* An allocator of the given mode over *ta (which the caller owns). */
void testalloc_init(struct testalloc *ta, enum testalloc_mode mode, struct balloc *out);

/*
 * A balanced random trace of n ops over `ids` ids (at most 128), sizes
 * 1..max_size, a third of the ops on live blocks reallocs; the same trace
 * for the same arguments. Fails the test if it does not parse.
 */
void testalloc_random_trace(struct trace *t, size_t n, unsigned ids, unsigned max_size);

#endif /* BUDDY_TEST_TESTALLOC_H */
