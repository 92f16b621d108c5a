/* SPDX-License-Identifier: MIT */
/*
 * test_alloc_failures.c - the common interface when memory runs out or a
 * constructor cannot proceed: "system" passes the C library's failures on
 * (NULL, errno, the failure counter, the old block kept by a failed
 * realloc), and the constructors return errno values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "buddy/alloc.h"

/* Under AddressSanitizer, let impossible requests return NULL as libc's do. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* Large enough to fail everywhere, small enough not to look negative. */
#define HUGE_REQUEST ((size_t)1 << 62)

static void test_alloc_system_out_of_memory(void **state)
{
	struct balloc a;
	struct balloc_stats st;
	unsigned char *p;

	(void)state;
	assert_int_equal(balloc_system_create(NULL, &a), 0);
	assert_null(a.ops->malloc(a.self, HUGE_REQUEST));
	p = a.ops->malloc(a.self, 64);
	memset(p, 0x3c, 64);
	assert_null(a.ops->realloc(a.self, p, HUGE_REQUEST));
	for (int i = 0; i < 64; i++)
		assert_int_equal(p[i], 0x3c);
	errno = 0;
	assert_null(a.ops->aligned_alloc(a.self, 64, HUGE_REQUEST));
	assert_int_equal(errno, ENOMEM);
	a.ops->stats(a.self, &st);
	assert_int_equal(st.failures, 3);
	assert_int_equal(st.live_allocs, 1);
	assert_true(st.footprint_bytes <= st.peak_footprint_bytes);
	a.ops->free(a.self, p);
	balloc_destroy(&a);
}

static void test_alloc_system_small_alignment(void **state)
{
	struct balloc a;
	void *p;

	(void)state;
	assert_int_equal(balloc_system_create(NULL, &a), 0);
	p = a.ops->aligned_alloc(a.self, 2, 10); /* below pointer size: still fine */
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 2, 0);
	a.ops->free(a.self, p);
	p = a.ops->calloc(a.self, 0, 10);
	assert_non_null(p);
	a.ops->free(a.self, p);
	balloc_destroy(&a);
}

static void test_alloc_constructors_reject_null_out(void **state)
{
	(void)state;
	assert_int_equal(balloc_system_create(NULL, NULL), EINVAL);
	assert_int_equal(balloc_bestfit_create(NULL, NULL), EINVAL);
}

static void test_alloc_bestfit_arena_cannot_be_mapped(void **state)
{
	static const struct balloc_ops untouched = { .name = "untouched" };
	struct balloc_options opt = { .arena_bytes = HUGE_REQUEST };
	struct balloc a = { &untouched, NULL };

	(void)state;
	assert_int_equal(balloc_bestfit_create(&opt, &a), ENOMEM);
	assert_ptr_equal(a.ops, &untouched);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_system_out_of_memory),
		cmocka_unit_test(test_alloc_system_small_alignment),
		cmocka_unit_test(test_alloc_constructors_reject_null_out),
		cmocka_unit_test(test_alloc_bestfit_arena_cannot_be_mapped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
