/* SPDX-License-Identifier: MIT */
/*
 * preload_test.h - helpers for the process malloc's tests: byte stamps a
 * block is filled with and checked against, and running a function in a
 * child process to see how it ended and what it wrote on stderr.
 */
#ifndef PRELOAD_TEST_H
#define PRELOAD_TEST_H

#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "buddy/malloc.h"

/* The byte at offset i of a block stamped with `seed`. */
static inline uint8_t stamp_byte(uint32_t seed, size_t i)
{
	uint32_t x = seed * 2654435761u + (uint32_t)i * 40503u;
	return (uint8_t)(x ^ (x >> 13));
}

static inline void stamp_fill(void *p, size_t n, uint32_t seed)
{
	uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = stamp_byte(seed, i);
}

/* 1 if the first n bytes of p still hold the stamp. */
static inline int stamp_ok(const void *p, size_t n, uint32_t seed)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != stamp_byte(seed, i))
			return 0;
	return 1;
}

/*
 * A child's coverage counters are written at exit(), which a child that
 * aborts or calls _exit() never reaches: the coverage build writes them
 * first.
 */
#ifdef BUDDY_TEST_COVERAGE
void __gcov_dump(void);
static inline void coverage_dump(void)
{
	__gcov_dump();
}
#else
static inline void coverage_dump(void)
{
}
#endif

static inline void on_abort_dump(int sig)
{
	(void)sig;
	coverage_dump(); /* then abort() goes on and ends the process by SIGABRT */
}

static inline _Noreturn void child_exit(int code)
{
	coverage_dump();
	_exit(code);
}

/* How a child ended: its wait status and the start of its stderr. */
struct child_end {
	int status;
	char err[16384];
};

/* Run fn(arg) in a child (whose stderr is captured), which exits 0 if fn returns. */
static inline void run_child(void (*fn)(const void *), const void *arg, struct child_end *out)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		signal(SIGABRT, on_abort_dump);
		fn(arg);
		child_exit(0);
	}
	close(fds[1]);
	size_t len = 0;
	ssize_t r;
	while ((r = read(fds[0], out->err + len, sizeof(out->err) - 1 - len)) > 0)
		len += (size_t)r;
	out->err[len] = '\0';
	close(fds[0]);
	/* valgrind's own lines ("==pid== ...") are not the program's. */
	char *w = out->err;
	for (const char *l = out->err; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) + 1 : strlen(l);
		if (strncmp(l, "==", 2) != 0) {
			memmove(w, l, n);
			w += n;
		}
		l += n;
	}
	*w = '\0';
	assert_int_equal(waitpid(pid, &out->status, 0), pid);
}

#endif /* PRELOAD_TEST_H */
