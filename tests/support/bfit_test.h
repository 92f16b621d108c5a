/* SPDX-License-Identifier: MIT */
/*
 * bfit_test.h - helpers for the best-fit heap's tests: layouts written as
 * strings, and an error handler that records instead of aborting.
 */
#ifndef BFIT_TEST_H
#define BFIT_TEST_H

#include "buddy/bestfit.h"

/*
 * Compare the heap's blocks with a layout such as "A112 F32 A16 F*": one
 * token per block in address order, A (allocated) or F (free) and the block
 * size in bytes, or * for whatever the heap has left. Returns 1 when they
 * match; otherwise prints both layouts to stderr and returns 0.
 */
int bfit_test_layout(const struct bfit *h, const char *expect);

/* What the recording handler saw. */
struct bfit_test_errors {
	int count;         /* handler calls */
	int kind;          /* error kind of the last call (BUDDY_ERR_*) */
	char op[32];       /* its operation */
	const void *ptr;   /* its pointer */
	char msg[160];     /* its message */
};

/* An error handler (a buddy_error_fn) that fills a struct bfit_test_errors (its arg). */
void bfit_test_record(void *arg, int kind, const char *op, const void *ptr, const char *msg);

/* The error kind (BUDDY_ERR_*) the heap reports with a BFIT_E* status. */
int bfit_test_kind(int status);

/* Number of problems bfit_check finds, printing each to stderr. */
size_t bfit_test_check(const struct bfit *h);

/* 1 when the environment asks heavy tests to scale down (valgrind). */
int bfit_test_light(void);

/*
 * A heap over [buf, buf + len), its bytes first set to fill, reporting
 * through bfit_test_record into *errs (cleared).
 */
struct bfit *bfit_test_heap(void *buf, size_t len, int fill, struct bfit_test_errors *errs);

/*
 * Run fn in a child process whose stderr is collected into out (size
 * bytes, NUL-terminated); returns the child's wait status. The child exits
 * with 0 if fn returns.
 */
int bfit_test_child(void (*fn)(void), char *out, size_t size);

#endif
