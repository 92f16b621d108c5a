/* SPDX-License-Identifier: MIT */
/*
 * test_alloc_interface.c - the common allocator interface: the registry,
 * a contract every registered allocator keeps (driven only through struct
 * balloc), and what is particular to "bestfit" and "system".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buddy/alloc.h"
#include "buddy/bestfit.h"

/* ---- registry ---- */

static int names_has(const char *name)
{
	for (const char *const *n = balloc_names(); *n; n++)
		if (strcmp(*n, name) == 0)
			return 1;
	return 0;
}

static void test_alloc_registry_lists_allocators(void **state)
{
	(void)state;
	assert_true(names_has("bestfit"));
	assert_true(names_has("system"));
	assert_false(names_has("nonesuch"));
}

static void test_alloc_registry_rejects_unknown(void **state)
{
	struct balloc a = { NULL, NULL };

	(void)state;
	assert_int_equal(balloc_create("nonesuch", NULL, &a), ENOENT);
	assert_null(a.ops);
	assert_int_equal(balloc_create(NULL, NULL, &a), EINVAL);
	assert_int_equal(balloc_create("bestfit", NULL, NULL), EINVAL);
	assert_int_equal(balloc_create("system", NULL, NULL), EINVAL);
	assert_null(a.ops);
	balloc_destroy(NULL);
	balloc_destroy(&a); /* nothing created: a no-op */
}

static void test_alloc_registry_creates_by_name(void **state)
{
	(void)state;
	for (const char *const *n = balloc_names(); *n; n++) {
		struct balloc a;
		assert_int_equal(balloc_create(*n, NULL, &a), 0);
		assert_string_equal(a.ops->name, *n);
		balloc_destroy(&a);
		assert_null(a.ops);
		assert_null(a.self);
	}
}

/* ---- the contract, for every allocator ---- */

static void contract_malloc_free(const struct balloc *a)
{
	const struct balloc_ops *o = a->ops;
	struct balloc_stats st;
	unsigned char *p = o->malloc(a->self, 100), *z = o->malloc(a->self, 0);

	assert_non_null(p);
	assert_non_null(z);
	assert_ptr_not_equal(p, z);
	assert_int_equal((uintptr_t)p % 16, 0);
	assert_true(o->usable_size(a->self, p) >= 100);
	memset(p, 0xab, 100);
	o->stats(a->self, &st);
	assert_int_equal(st.live_allocs, 2);
	assert_true(st.held_bytes >= 100);
	o->free(a->self, p);
	o->free(a->self, z);
	o->free(a->self, NULL);
	o->stats(a->self, &st);
	assert_int_equal(st.live_allocs, 0);
	assert_int_equal(st.held_bytes, 0);
}

static void contract_calloc_realloc(const struct balloc *a)
{
	const struct balloc_ops *o = a->ops;
	unsigned char *p = o->calloc(a->self, 10, 10), *q;

	assert_non_null(p);
	for (int i = 0; i < 100; i++)
		assert_int_equal(p[i], 0);
	errno = 0;
	assert_null(o->calloc(a->self, SIZE_MAX / 2, 3));
	assert_int_equal(errno, ENOMEM);
	for (int i = 0; i < 100; i++)
		p[i] = (unsigned char)i;
	q = o->realloc(a->self, p, 300);
	assert_non_null(q);
	for (int i = 0; i < 100; i++)
		assert_int_equal(q[i], i);
	q = o->realloc(a->self, q, 20);
	for (int i = 0; i < 20; i++)
		assert_int_equal(q[i], i);
	assert_null(o->realloc(a->self, q, 0)); /* frees */
	p = o->realloc(a->self, NULL, 30);
	assert_non_null(p);
	o->free(a->self, p);
}

static void contract_aligned(const struct balloc *a)
{
	const struct balloc_ops *o = a->ops;
	void *p = o->aligned_alloc(a->self, 256, 50);

	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 256, 0);
	o->free(a->self, p);
	errno = 0;
	assert_null(o->aligned_alloc(a->self, 24, 50));
	assert_int_equal(errno, EINVAL);
}

static int walk_count(void *arg, const struct balloc_block *b)
{
	(void)b;
	++*(int *)arg;
	return 0;
}

/* check and walk, where the allocator has them (NULL where it has not). */
static void contract_check_walk(const struct balloc *a)
{
	int blocks = 0;

	if (a->ops->check)
		assert_int_equal(a->ops->check(a->self, NULL, NULL), 0);
	if (a->ops->walk) {
		assert_int_equal(a->ops->walk(a->self, walk_count, &blocks), 0);
		assert_true(blocks >= 1);
	}
}

static void test_alloc_contract_every_allocator(void **state)
{
	struct balloc_options opt = { .arena_bytes = 1 << 20 };

	(void)state;
	for (const char *const *n = balloc_names(); *n; n++) {
		struct balloc a;
		assert_int_equal(balloc_create(*n, &opt, &a), 0);
		contract_malloc_free(&a);
		contract_calloc_realloc(&a);
		contract_aligned(&a);
		contract_check_walk(&a);
		balloc_destroy(&a);
	}
}

/* ---- bestfit ---- */

struct walk_list {
	struct balloc_block blk[8]; /* the first blocks seen */
	int n;                      /* blocks seen */
};

static int walk_list_add(void *arg, const struct balloc_block *b)
{
	struct walk_list *w = arg;

	if (w->n < 8)
		w->blk[w->n] = *b;
	w->n++;
	return 0;
}

static void test_alloc_bestfit_default_arena(void **state)
{
	struct balloc a;
	struct balloc_stats st;
	struct walk_list w = { .n = 0 };
	void *p;

	(void)state;
	assert_int_equal(balloc_bestfit_create(NULL, &a), 0);
	assert_string_equal(a.ops->name, "bestfit");
	a.ops->stats(a.self, &st);
	assert_true(st.free_bytes > 3800 && st.free_bytes < BFIT_DEMO_BYTES);
	assert_null(a.ops->malloc(a.self, BFIT_DEMO_BYTES));
	a.ops->stats(a.self, &st);
	assert_int_equal(st.failures, 1);
	p = a.ops->malloc(a.self, 100);
	assert_int_equal(a.ops->walk(a.self, walk_list_add, &w), 0);
	assert_int_equal(w.n, 2);
	assert_ptr_equal(w.blk[0].addr, p);
	assert_int_equal(w.blk[0].offset, 0);
	assert_int_equal(w.blk[0].size, 112);
	assert_int_equal(w.blk[0].allocated, 1);
	assert_int_equal(w.blk[0].order, -1);
	assert_int_equal(w.blk[1].offset, 112);
	assert_int_equal(w.blk[1].allocated, 0);
	a.ops->stats(a.self, &st);
	assert_int_equal(st.free_blocks, 1);
	assert_int_equal(st.largest_free_bytes, w.blk[1].size);
	assert_int_equal(st.peak_footprint_bytes, 112);
	assert_int_equal(a.ops->check(a.self, NULL, NULL), 0);
	a.ops->free(a.self, p);
	balloc_destroy(&a);
}

static void test_alloc_bestfit_caller_buffer(void **state)
{
	static const struct balloc_ops untouched = { .name = "untouched" };
	static _Alignas(16) unsigned char mem[8192];
	struct balloc_options opt = { .buffer = mem, .buffer_bytes = sizeof mem };
	struct balloc a;
	unsigned char *p;

	(void)state;
	assert_int_equal(balloc_bestfit_create(&opt, &a), 0);
	p = a.ops->malloc(a.self, 5000);
	assert_true(p > mem && p < mem + sizeof mem);
	a.ops->free(a.self, p);
	balloc_destroy(&a);
	opt.buffer_bytes = 16; /* too small for a heap */
	a.ops = &untouched;
	assert_int_equal(balloc_bestfit_create(&opt, &a), EINVAL);
	assert_ptr_equal(a.ops, &untouched);
}

static void count_report(void *arg, const char *msg)
{
	(void)msg;
	++*(int *)arg;
}

static void test_alloc_bestfit_check_reports(void **state)
{
	struct balloc a;
	unsigned char *p, *q;
	int reports = 0;
	uint32_t saved;

	(void)state;
	assert_int_equal(balloc_bestfit_create(NULL, &a), 0);
	p = a.ops->malloc(a.self, 28);
	q = a.ops->malloc(a.self, 28);
	memcpy(&saved, q - 4, 4);
	memset(q - 4, 0xff, 4); /* p overflows into q's header */
	assert_true(a.ops->check(a.self, count_report, &reports) > 0);
	assert_true(reports > 0);
	memcpy(q - 4, &saved, 4);
	assert_int_equal(a.ops->check(a.self, count_report, &reports), 0);
	a.ops->free(a.self, p);
	a.ops->free(a.self, q);
	balloc_destroy(&a);
}

struct error_log {
	int count;        /* messages received */
	int kind;         /* the last one's kind */
	const char *op;   /* its operation */
	const void *ptr;  /* its pointer */
	char msg[160];    /* its line */
};

static void error_log_add(void *arg, int kind, const char *op, const void *ptr, const char *msg)
{
	struct error_log *log = arg;

	log->count++;
	log->kind = kind;
	log->op = op;
	log->ptr = ptr;
	strncpy(log->msg, msg, sizeof log->msg - 1);
}

static void test_alloc_bestfit_error_handler_option(void **state)
{
	struct error_log log = { 0, 0, NULL, NULL, { 0 } };
	struct balloc_options opt = { .on_error = error_log_add, .error_arg = &log };
	struct balloc a;
	char *p, want[96];

	(void)state;
	assert_int_equal(balloc_create("bestfit", &opt, &a), 0);
	p = a.ops->malloc(a.self, 10);
	a.ops->free(a.self, p);
	a.ops->free(a.self, p);
	assert_int_equal(log.count, 1);
	snprintf(want, sizeof want, "bfit: free(): double free at %p", (void *)p);
	assert_string_equal(log.msg, want);
	assert_int_equal(log.kind, BUDDY_ERR_DOUBLE);
	assert_string_equal(log.op, "free");
	assert_ptr_equal(log.ptr, p);
	assert_null(a.ops->realloc(a.self, p + 16, 20));
	assert_int_equal(log.count, 2);
	assert_int_equal(a.ops->check(a.self, NULL, NULL), 0);
	balloc_destroy(&a);
}

/* The buddy heap relays its misuse reports to the interface's handler too. */
static void test_alloc_buddy_error_handler_option(void **state)
{
	struct error_log log = { 0, 0, NULL, NULL, { 0 } };
	struct balloc_options opt = { .on_error = error_log_add, .error_arg = &log };
	struct balloc a;
	char *p, want[96];

	(void)state;
	assert_int_equal(balloc_create("buddy", &opt, &a), 0);
	p = a.ops->malloc(a.self, 10);
	a.ops->free(a.self, p);
	a.ops->free(a.self, p);
	assert_int_equal(log.count, 1);
	snprintf(want, sizeof want, "bheap: free(): double free at %p", (void *)p);
	assert_string_equal(log.msg, want);
	assert_int_equal(log.kind, BUDDY_ERR_DOUBLE);
	assert_string_equal(log.op, "free");
	assert_ptr_equal(log.ptr, p);
	/* An interior pointer is reported, and the block stays allocated. */
	p = a.ops->malloc(a.self, 64);
	a.ops->free(a.self, p + 16);
	assert_int_equal(log.count, 2);
	assert_int_equal(log.kind, BUDDY_ERR_INTERIOR);
	assert_int_equal(a.ops->check(a.self, NULL, NULL), 0);
	a.ops->free(a.self, p);
	balloc_destroy(&a);
}

/* ---- system ---- */

static void test_alloc_system_unsupported(void **state)
{
	struct balloc a;
	struct balloc_stats st;
		void *p;

	(void)state;
	assert_int_equal(balloc_system_create(NULL, &a), 0);
	assert_string_equal(a.ops->name, "system");
	assert_null(a.ops->check);
	assert_null(a.ops->walk);
	p = a.ops->malloc(a.self, 1000);
	a.ops->stats(a.self, &st);
	assert_int_equal(st.live_allocs, 1);
	assert_int_equal(st.held_bytes, a.ops->usable_size(a.self, p));
	assert_int_equal(st.requested_bytes, 0); /* unknown to this allocator */
	assert_int_equal(a.ops->usable_size(a.self, NULL), 0);
	a.ops->free(a.self, p);
	balloc_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_registry_lists_allocators),
		cmocka_unit_test(test_alloc_registry_rejects_unknown),
		cmocka_unit_test(test_alloc_registry_creates_by_name),
		cmocka_unit_test(test_alloc_contract_every_allocator),
		cmocka_unit_test(test_alloc_bestfit_default_arena),
		cmocka_unit_test(test_alloc_bestfit_caller_buffer),
		cmocka_unit_test(test_alloc_bestfit_check_reports),
		cmocka_unit_test(test_alloc_buddy_error_handler_option),
		cmocka_unit_test(test_alloc_bestfit_error_handler_option),
		cmocka_unit_test(test_alloc_system_unsupported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
