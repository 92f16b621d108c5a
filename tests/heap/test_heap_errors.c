/* SPDX-License-Identifier: MIT */
/*
 * test_heap_errors.c - misuse of the buddy heap: a pointer it never handed
 * out, a double free, an interior pointer, through free, realloc and
 * usable_size. Each is reported to the handler with its kind and pointer
 * and changes nothing; the default handler prints and aborts.
 */
#include "heap_test.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
	struct err_ctx e;
	struct bheap *h;
	struct bheap_stats before;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct bheap_config cfg = test_config(NULL, &f->e, 65536);
	f->h = bheap_create(&cfg);
	*state = f;
	return f->h ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	bheap_destroy(f->h);
	free(f);
	return 0;
}

/* Nothing but the misuse counter may differ from `before`. */
static void assert_unchanged(struct fixture *f)
{
	struct bheap_stats now;
	bheap_get_stats(f->h, &now);
	now.misuse = f->before.misuse;
	assert_memory_equal(&now, &f->before, sizeof(now));
	assert_heap_ok(f->h);
}

/* One report of kind in op for p, with the line "bheap: OP(): KIND at PTR". */
static void expect_report(struct fixture *f, int kind, const char *op, const void *p)
{
	char want[200];
	assert_int_equal(f->e.count, 1);
	assert_int_equal(f->e.kind, kind);
	assert_string_equal(f->e.op, op);
	assert_ptr_equal(f->e.ptr, p);
	snprintf(want, sizeof(want), "bheap: %s(): %s at %p", op, buddy_error_name(kind), p);
	assert_string_equal(f->e.msg, want);
	f->e.count = 0;
}

static void test_heap_free_foreign_pointer_reported(void **state)
{
	struct fixture *f = *state;
	void *keep = bheap_malloc(f->h, 32);
	int local;
	bheap_get_stats(f->h, &f->before);
	bheap_free(f->h, &local);
	expect_report(f, BUDDY_ERR_INVALID, "free", &local);
	void *libc = malloc(16);
	bheap_free(f->h, libc);
	expect_report(f, BUDDY_ERR_INVALID, "free", libc);
	free(libc);
	assert_unchanged(f);
	struct bheap_stats st;
	bheap_get_stats(f->h, &st);
	assert_int_equal(st.misuse, 2);
	bheap_free(f->h, keep);
}

static void test_heap_double_free_reported(void **state)
{
	struct fixture *f = *state;
	void *keep = bheap_malloc(f->h, 32);
	void *p = bheap_malloc(f->h, 100);
	bheap_free(f->h, p);
	bheap_get_stats(f->h, &f->before);
	bheap_free(f->h, p);
	expect_report(f, BUDDY_ERR_DOUBLE, "free", p);
	assert_unchanged(f);
	bheap_free(f->h, keep);
}

static void test_heap_double_free_after_merge_reported(void **state)
{
	struct fixture *f = *state;
	void *a = bheap_malloc(f->h, 16);
	void *b = bheap_malloc(f->h, 16);
	void *c = bheap_malloc(f->h, 5000); /* keeps the chunk mapped */
	bheap_free(f->h, b);
	bheap_free(f->h, a); /* a and b merge upward */
	bheap_get_stats(f->h, &f->before);
	bheap_free(f->h, b); /* b now lies inside a larger free block */
	expect_report(f, BUDDY_ERR_DOUBLE, "free", b);
	bheap_free(f->h, a);
	expect_report(f, BUDDY_ERR_DOUBLE, "free", a);
	assert_unchanged(f);
	bheap_free(f->h, c);
}

static void test_heap_interior_pointer_reported(void **state)
{
	struct fixture *f = *state;
	char *p = bheap_malloc(f->h, 64);
	bheap_get_stats(f->h, &f->before);
	bheap_free(f->h, p + 16); /* a block boundary inside the allocation */
	expect_report(f, BUDDY_ERR_INTERIOR, "free", p + 16);
	bheap_free(f->h, p + 1); /* not even min_block aligned */
	expect_report(f, BUDDY_ERR_INTERIOR, "free", p + 1);
	bheap_free(f->h, p + 63);
	expect_report(f, BUDDY_ERR_INTERIOR, "free", p + 63);
	assert_unchanged(f);
	bheap_free(f->h, p);
	assert_int_equal(f->e.count, 0);
}

static void test_heap_realloc_bad_pointer_reported(void **state)
{
	struct fixture *f = *state;
	char *p = bheap_malloc(f->h, 64);
	char *q = bheap_malloc(f->h, 64);
	pattern_fill(p, 64, 1);
	bheap_free(f->h, q);
	bheap_get_stats(f->h, &f->before);
	errno = 0;
	assert_null(bheap_realloc(f->h, p + 32, 200));
	assert_int_equal(errno, EINVAL);
	expect_report(f, BUDDY_ERR_INTERIOR, "realloc", p + 32);
	assert_null(bheap_realloc(f->h, q, 200));
	expect_report(f, BUDDY_ERR_DOUBLE, "realloc", q);
	int local;
	assert_null(bheap_realloc(f->h, &local, 0));
	expect_report(f, BUDDY_ERR_INVALID, "realloc", &local);
	assert_unchanged(f);
	assert_true(pattern_ok(p, 64, 1));
	bheap_free(f->h, p);
}

static void test_heap_usable_size_bad_pointer_reported(void **state)
{
	struct fixture *f = *state;
	char *p = bheap_malloc(f->h, 64);
	bheap_get_stats(f->h, &f->before);
	assert_int_equal(bheap_usable_size(f->h, p + 8), 0);
	expect_report(f, BUDDY_ERR_INTERIOR, "malloc_usable_size", p + 8);
	assert_unchanged(f);
	bheap_free(f->h, p);
	assert_int_equal(bheap_usable_size(f->h, p), 0);
	expect_report(f, BUDDY_ERR_DOUBLE, "malloc_usable_size", p);
}

static void test_heap_pointer_into_unmapped_chunk_reported(void **state)
{
	(void)state;
	struct err_ctx e = { 0 };
	struct bheap_config cfg = test_config(NULL, &e, 65536);
	cfg.retain_bytes = 0;
	struct bheap *h = bheap_create(&cfg);
	void *p = bheap_malloc(h, 100);
	bheap_free(h, p); /* its chunk goes back to the system */
	bheap_free(h, p);
	assert_int_equal(e.count, 1);
	assert_int_equal(e.kind, BUDDY_ERR_INVALID);
	assert_heap_ok(h);
	bheap_destroy(h);
}

/* The child double-frees with the default handler; the parent reads stderr. */
static void child_double_free(int fd)
{
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	dup2(fd, 2);
	struct bheap *h = bheap_create(NULL);
	void *p = bheap_malloc(h, 10);
	bheap_free(h, p);
	bheap_free(h, p);
	_exit(0); /* not reached when the default handler aborts */
}

static void test_heap_default_handler_aborts_with_message(void **state)
{
	(void)state;
	char buf[4096];
	int status = run_child(child_double_free, buf, sizeof(buf));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(buf, "bheap: free(): double free"));
	assert_non_null(strstr(buf, "0x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_heap_free_foreign_pointer_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heap_double_free_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heap_double_free_after_merge_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heap_interior_pointer_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heap_realloc_bad_pointer_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heap_usable_size_bad_pointer_reported, setup, teardown),
		cmocka_unit_test(test_heap_pointer_into_unmapped_chunk_reported),
		cmocka_unit_test(test_heap_default_handler_aborts_with_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
