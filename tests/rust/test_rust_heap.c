/* SPDX-License-Identifier: MIT */
/*
 * test_rust_heap.c - the Rust port's byte heap through its C ABI
 * (brust_heap_*) and as `buddy replay`'s "rust" allocator: the malloc
 * family's C semantics, every refused pointer with its status and nothing
 * changed, out of memory, the statistics and check; a random trace checked
 * by the replay engine (alignment, overlap, contents across realloc);
 * misuse printed and aborted. (test_rust_bench runs it in the runner.)
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "buddy/page.h"
#include "buddy/rust.h"
#include "engine.h"
#include "heap_rust.h"
#include "testalloc.h"

#define ARENA (1u << 20)

struct fixture {
	void *mem;
	struct brust_heap *h;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int st = -1;
	assert_non_null(f);
	f->mem = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(f->mem != MAP_FAILED);
	f->h = brust_heap_create(f->mem, ARENA, &st);
	assert_non_null(f->h);
	assert_int_equal(st, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(brust_heap_check(f->h, NULL, NULL), 0);
	brust_heap_destroy(f->h);
	munmap(f->mem, ARENA);
	free(f);
	return 0;
}

static size_t used_pages(struct brust_heap *h)
{
	struct brust_stats st;
	brust_heap_get_stats(h, &st);
	assert_int_equal(st.page_size, 16);
	return st.used_pages;
}

static void test_rust_heap_create_refuses_no_memory_and_too_little(void **state)
{
	(void)state;
	char small[8];
	int st = 0;
	assert_null(brust_heap_create(NULL, ARENA, &st));
	assert_int_equal(st, BUDDY_ENULL);
	assert_null(brust_heap_create(small, sizeof(small), &st));
	assert_int_equal(st, BUDDY_ESMALL);
	brust_heap_destroy(NULL); /* nothing */
}

static void test_rust_heap_malloc_family_semantics(void **state)
{
	struct brust_heap *h = ((struct fixture *)*state)->h;
	unsigned char *p = brust_heap_malloc(h, 100);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 16, 0);
	assert_int_equal(brust_heap_usable_size(h, p), 128); /* 100 rounded to a power of two */
	assert_int_equal(used_pages(h), 8);
	memset(p, 0xab, 100);

	/* realloc grows keeping the bytes, shrinks, and NULL allocates */
	unsigned char *q = brust_heap_realloc(h, p, 1000);
	assert_non_null(q);
	for (int i = 0; i < 100; i++)
		assert_int_equal(q[i], 0xab);
	assert_int_equal(brust_heap_usable_size(h, q), 1024);
	q = brust_heap_realloc(h, q, 20);
	assert_non_null(q);
	assert_int_equal(q[19], 0xab);
	assert_int_equal(brust_heap_usable_size(h, q), 32);
	void *r = brust_heap_realloc(h, NULL, 10);
	assert_non_null(r);

	/* realloc(p, 0) frees, as glibc's does */
	assert_null(brust_heap_realloc(h, r, 0));
	assert_int_equal(brust_heap_usable_size(h, r), 0);

	/* calloc gives zeros over reused memory */
	memset(q, 0x5a, 32);
	assert_int_equal(brust_heap_free(h, q), 0);
	unsigned char *z = brust_heap_calloc(h, 4, 8);
	assert_non_null(z);
	for (int i = 0; i < 32; i++)
		assert_int_equal(z[i], 0);
	assert_int_equal(brust_heap_free(h, z), 0);

	/* aligned_alloc up to the buffer's page alignment */
	void *a = brust_heap_aligned_alloc(h, 4096, 10);
	assert_non_null(a);
	assert_int_equal((uintptr_t)a % 4096, 0);
	assert_int_equal(brust_heap_free(h, a), 0);
	assert_int_equal(brust_heap_free(h, NULL), 0);
	assert_int_equal(used_pages(h), 0);
}

static void test_rust_heap_refused_pointers_change_nothing(void **state)
{
	struct fixture *f = *state;
	struct brust_heap *h = f->h;
	char *p = brust_heap_malloc(h, 64);
	char *keep = brust_heap_malloc(h, 64);
	char outside[16];
	assert_non_null(p);
	assert_non_null(keep);
	size_t used = used_pages(h);
	assert_int_equal(brust_heap_free(h, p + 16), BUDDY_ENOTBLOCK);
	assert_int_equal(brust_heap_last_error(h), BUDDY_ENOTBLOCK);
	assert_int_equal(brust_heap_free(h, outside), BUDDY_EOUTSIDE);
	assert_null(brust_heap_realloc(h, outside, 10));
	assert_int_equal(brust_heap_last_error(h), BUDDY_EOUTSIDE);
	assert_int_equal(used_pages(h), used);
	assert_int_equal(brust_heap_free(h, p), 0);
	assert_int_equal(brust_heap_free(h, p), BUDDY_EDOUBLE);
	assert_int_equal(brust_heap_usable_size(h, keep), 64);
	assert_int_equal(brust_heap_free(h, keep), 0);
	/* a NULL heap */
	assert_int_equal(brust_heap_free(NULL, p), BUDDY_ENULL);
	assert_null(brust_heap_malloc(NULL, 1));
	assert_int_equal(brust_heap_check(NULL, NULL, NULL), 1);
}

static void test_rust_heap_out_of_memory_and_overflow(void **state)
{
	struct brust_heap *h = ((struct fixture *)*state)->h;
	assert_null(brust_heap_malloc(h, ARENA));
	assert_int_equal(brust_heap_last_error(h), BUDDY_ENOMEM);
	assert_null(brust_heap_calloc(h, SIZE_MAX / 2, 4));
	assert_null(brust_heap_aligned_alloc(h, 3, 16)); /* not a power of two */
	char *p = brust_heap_malloc(h, 256);
	assert_non_null(p);
	memset(p, 7, 256);
	assert_null(brust_heap_realloc(h, p, ARENA)); /* the old block stays */
	assert_int_equal(brust_heap_last_error(h), BUDDY_ENOMEM);
	assert_int_equal(p[255], 7);
	assert_int_equal(brust_heap_free(h, p), 0);
	assert_int_equal(used_pages(h), 0);
}

/* The replay engine's checked run of a random trace through the adapter. */
static void test_rust_heap_replays_a_random_trace_cleanly(void **state)
{
	(void)state;
	size_t n = 20000;
	struct trace t;
	testalloc_random_trace(&t, n, 128, 3000);

	struct balloc a;
	struct balloc_options opt = { .arena_bytes = 4u << 20 };
	struct replay_config cfg = { 16, 0 };
	struct replay_result r;
	assert_int_equal(replay_rust_heap_create(&opt, &a), 0);
	assert_string_equal(a.ops->name, "rust");
	assert_int_equal(replay_check(&t, &a, &cfg, &r), 0);
	assert_string_equal(r.first_error, "");
	assert_int_equal(r.ops, n);
	assert_int_equal(r.failures + r.misaligned + r.overlaps + r.corrupted, 0);
	assert_true(r.peak_footprint >= r.peak_live);
	struct balloc_stats st;
	a.ops->stats(a.self, &st);
	assert_int_equal(st.live_allocs, 0); /* the engine frees what the trace left */
	assert_int_equal(st.held_bytes, 0);
	assert_int_equal(a.ops->check(a.self, NULL, NULL), 0);
	a.ops->destroy(a.self);
	replay_result_free(&r);
	trace_free(&t);
}

/* A free the heap refuses: one line on stderr, then abort. */
static void test_rust_heap_misuse_aborts_with_one_line(void **state)
{
	(void)state;
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct balloc a;
		dup2(fd[1], 2);
		if (replay_rust_heap_create(NULL, &a) != 0)
			_exit(3);
		char *p = a.ops->malloc(a.self, 32);
		a.ops->free(a.self, p);
		a.ops->free(a.self, p); /* double free */
		_exit(4);
	}
	close(fd[1]);
	char msg[256] = "";
	ssize_t got = read(fd[0], msg, sizeof(msg) - 1);
	int status;
	close(fd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	assert_true(got > 0);
	msg[got] = '\0';
	assert_true(strncmp(msg, "rust: free(): double free", 25) == 0);
	assert_non_null(strstr(msg, " at 0x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rust_heap_create_refuses_no_memory_and_too_little),
		cmocka_unit_test_setup_teardown(test_rust_heap_malloc_family_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rust_heap_refused_pointers_change_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rust_heap_out_of_memory_and_overflow, setup,
						teardown),
		cmocka_unit_test(test_rust_heap_replays_a_random_trace_cleanly),
		cmocka_unit_test(test_rust_heap_misuse_aborts_with_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
