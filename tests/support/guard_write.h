/* SPDX-License-Identifier: MIT */
/*
 * guard_write.h - for the heaps' damage tests: a write past the end of a
 * heap's memory, made in a child process, and whether it faulted at its
 * first byte (in a guard page) rather than damaging what lies behind.
 */
#ifndef BUDDY_GUARD_WRITE_H
#define BUDDY_GUARD_WRITE_H

#include <stddef.h>

/* What guard_write_status returns. */
enum {
	GUARD_FAULTED = 42,   /* the write faulted at its first byte */
	GUARD_ELSEWHERE = 43, /* it faulted, somewhere else */
	GUARD_NO_SETUP = 44,  /* setup returned NULL */
	GUARD_WENT_IN = 45    /* the write went through: no guard */
};

/*
 * In a child process: setup(arg) builds a heap and returns where a write
 * past its memory starts; n bytes of 0xff are then written there one by
 * one. Returns the child's exit status (above), or minus a signal number.
 */
int guard_write_status(unsigned char *(*setup)(const void *arg), const void *arg, size_t n);

/*
 * A cmocka test's body: writes of 1, 16 and 24 bytes past the memory
 * setup(NULL) and setup(non-NULL: with a map hook) return must each fault at
 * their first byte. Skipped under valgrind, whose memcheck reports the
 * write into the guard page itself, which is what this provokes.
 */
void guard_write_expect_faults(unsigned char *(*setup)(const void *hooked));

/* Whether the test runs under valgrind (BUDDY_UNDER_VALGRIND set and not "0"). */
int test_under_valgrind(void);

#endif
