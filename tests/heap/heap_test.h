/* SPDX-License-Identifier: MIT */
/*
 * heap_test.h - helpers shared by the buddy heap's tests: a map hook that
 * counts calls and can be told to fail, a misuse handler that records what
 * it was told, byte patterns, and a heap-check assertion.
 */
#ifndef HEAP_TEST_H
#define HEAP_TEST_H

#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "buddy/heap.h"
#include "guard_write.h"

/* Map hook state: counts, and the call number (from 1) that fails. */
struct map_ctx {
	int calls;         /* map calls so far */
	int fail_at;       /* fail the call with this number; 0 = never */
	int fail_from;     /* fail every call from this number on; 0 = never */
	int unmap_calls;   /* unmap calls so far */
	size_t mapped;     /* bytes mapped now */
};

static inline void *test_map(void *arg, size_t len)
{
	struct map_ctx *m = arg;
	m->calls++;
	if (m->calls == m->fail_at || (m->fail_from && m->calls >= m->fail_from))
		return NULL;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	m->mapped += len;
	return p;
}

static inline void test_unmap(void *arg, void *p, size_t len)
{
	struct map_ctx *m = arg;
	m->unmap_calls++;
	m->mapped -= len;
	munmap(p, len);
}

/* Misuse handler state: the last report and how many there were. */
struct err_ctx {
	int count;
	int kind;
	char op[32];
	const void *ptr;
	char msg[200];
};

static inline void test_on_error(void *arg, int kind, const char *op,
				 const void *ptr, const char *msg)
{
	struct err_ctx *e = arg;
	e->count++;
	e->kind = kind;
	snprintf(e->op, sizeof(e->op), "%s", op);
	e->ptr = ptr;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

/* A config with counted mapping and recorded misuse. */
static inline struct bheap_config test_config(struct map_ctx *m, struct err_ctx *e,
					      size_t chunk)
{
	struct bheap_config cfg;
	bheap_config_default(&cfg);
	if (chunk)
		cfg.chunk_bytes = cfg.retain_bytes = chunk;
	if (m) {
		cfg.map = test_map;
		cfg.unmap = test_unmap;
		cfg.map_arg = m;
	}
	if (e) {
		cfg.on_error = test_on_error;
		cfg.error_arg = e;
	}
	return cfg;
}

static inline void pattern_fill(void *p, size_t n, unsigned seed)
{
	unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seed * 131u + i * 7u + 1u);
}

static inline int pattern_ok(const void *p, size_t n, unsigned seed)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)(seed * 131u + i * 7u + 1u))
			return 0;
	return 1;
}

static inline void test_report(void *arg, const char *msg)
{
	(void)arg;
	print_message("check: %s\n", msg);
}

#define assert_heap_ok(h) assert_int_equal(bheap_check((h), test_report, NULL), 0)

static inline int under_valgrind(void)
{
	return test_under_valgrind();
}

/*
 * Run child(fd) in a child process with fd its stderr (child must not
 * return); collect what it wrote into buf (NUL-terminated) and return its
 * wait status.
 */
static inline int run_child(void (*child)(int fd), char *buf, size_t size)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		child(fds[1]);
	}
	close(fds[1]);
	size_t len = 0;
	ssize_t n;
	while ((n = read(fds[0], buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

#endif /* HEAP_TEST_H */
