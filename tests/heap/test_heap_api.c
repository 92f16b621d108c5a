/* SPDX-License-Identifier: MIT */
/*
 * test_heap_api.c - the buddy heap's malloc family and its edge cases:
 * rounding, malloc(0), calloc overflow, every realloc case, aligned
 * allocation and its errors, usable size, configuration errors.
 */
#include "heap_test.h"

#include <errno.h>

static struct bheap *heap_new(size_t chunk)
{
	struct bheap_config cfg = test_config(NULL, NULL, chunk);
	struct bheap *h = bheap_create(&cfg);
	assert_non_null(h);
	return h;
}

static void test_heap_malloc_rounds_to_power_of_two(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	static const size_t req[] = { 1, 15, 16, 17, 100, 128, 129, 1000, 4097 };
	static const size_t want[] = { 16, 16, 16, 32, 128, 128, 256, 1024, 8192 };
	void *p[9];
	for (int i = 0; i < 9; i++) {
		p[i] = bheap_malloc(h, req[i]);
		assert_non_null(p[i]);
		assert_int_equal(bheap_usable_size(h, p[i]), want[i]);
		/* every block is aligned to its own size */
		assert_int_equal((uintptr_t)p[i] % want[i], 0);
		pattern_fill(p[i], want[i], (unsigned)i);
	}
	for (int i = 0; i < 9; i++) {
		assert_true(pattern_ok(p[i], want[i], (unsigned)i));
		bheap_free(h, p[i]);
	}
	assert_heap_ok(h);
	bheap_destroy(h);
}

static void test_heap_malloc_zero_gives_unique_pointer(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	void *a = bheap_malloc(h, 0), *b = bheap_malloc(h, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_int_equal(bheap_usable_size(h, a), 16);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.live_allocs, 2);
	assert_int_equal(st.requested_bytes, 0);
	assert_int_equal(st.held_bytes, 32);
	bheap_free(h, a);
	bheap_free(h, b);
	bheap_get_stats(h, &st);
	assert_int_equal(st.live_allocs, 0);
	assert_heap_ok(h);
	bheap_destroy(h);
}

static void test_heap_malloc_huge_fails_enomem(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	errno = 0;
	assert_null(bheap_malloc(h, SIZE_MAX));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(bheap_malloc(h, SIZE_MAX / 2));
	assert_int_equal(errno, ENOMEM);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.failures, 2);
	assert_int_equal(st.live_allocs, 0);
	assert_heap_ok(h);
	bheap_destroy(h);
}

static void count_report(void *arg, const char *msg)
{
	(void)msg;
	(*(size_t *)arg)++;
}

static int count_walk(void *arg, const struct bheap_block *b)
{
	(void)b;
	(*(size_t *)arg)++;
	return 0;
}

static void test_heap_null_heap_is_rejected(void **state)
{
	(void)state;
	errno = 0;
	assert_null(bheap_malloc(NULL, 8));
	assert_int_equal(errno, EINVAL);
	assert_null(bheap_calloc(NULL, 1, 8));
	assert_null(bheap_realloc(NULL, NULL, 8));
	assert_null(bheap_aligned_alloc(NULL, 16, 8));
	void *out = &out;
	assert_int_equal(bheap_posix_memalign(NULL, &out, 16, 8), EINVAL);
	assert_int_equal(bheap_usable_size(NULL, &out), 0);
	bheap_free(NULL, &out); /* nothing happens */
	bheap_destroy(NULL);
	assert_null(bheap_zone(NULL));
	assert_int_equal(bheap_check(NULL, NULL, NULL), 1); /* a NULL heap is one problem, as for every checker */
	size_t reports = 0;
	assert_int_equal(bheap_check(NULL, count_report, &reports), 1);
	assert_int_equal(reports, 1);
	struct bheap_stats st;
	memset(&st, 0xff, sizeof st);
	bheap_get_stats(NULL, &st); /* all zero */
	assert_int_equal(st.live_allocs, 0);
	assert_int_equal(st.min_block, 0);
	assert_int_equal(bheap_walk(NULL, count_walk, &reports), 0);
	struct balloc b;
	assert_int_equal(bheap_balloc(NULL, &b), EINVAL);
	struct bheap *h = heap_new(0);
	assert_int_equal(bheap_walk(h, NULL, NULL), 0);
	assert_int_equal(bheap_balloc(h, NULL), EINVAL);
	bheap_destroy(h);
}

static void test_heap_free_null_does_nothing(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	bheap_free(h, NULL);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.frees, 0);
	assert_int_equal(st.misuse, 0);
	assert_int_equal(bheap_usable_size(h, NULL), 0);
	bheap_destroy(h);
}

static void test_heap_calloc_zeroes_reused_memory(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	unsigned char *p = bheap_malloc(h, 200);
	memset(p, 0xaa, 200);
	bheap_free(h, p);
	unsigned char *q = bheap_calloc(h, 10, 20);
	assert_ptr_equal(p, q); /* the same block comes back... */
	for (int i = 0; i < 200; i++)
		assert_int_equal(q[i], 0); /* ...zeroed */
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.requested_bytes, 200);
	bheap_free(h, q);
	bheap_destroy(h);
}

static void test_heap_calloc_overflow_fails_enomem(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	errno = 0;
	assert_null(bheap_calloc(h, SIZE_MAX / 2, 3));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(bheap_calloc(h, 3, SIZE_MAX / 2));
	assert_int_equal(errno, ENOMEM);
	void *z = bheap_calloc(h, 0, 5); /* zero bytes: like malloc(0) */
	assert_non_null(z);
	void *z2 = bheap_calloc(h, 5, 0);
	assert_non_null(z2);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.failures, 2);
	assert_int_equal(st.live_allocs, 2);
	bheap_free(h, z);
	bheap_free(h, z2);
	assert_heap_ok(h);
	bheap_destroy(h);
}

static void test_heap_realloc_null_is_malloc(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	void *p = bheap_realloc(h, NULL, 40);
	assert_non_null(p);
	assert_int_equal(bheap_usable_size(h, p), 64);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.allocs, 1);
	assert_int_equal(st.requested_bytes, 40);
	bheap_free(h, p);
	bheap_destroy(h);
}

static void test_heap_realloc_zero_frees(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	void *p = bheap_malloc(h, 40);
	assert_null(bheap_realloc(h, p, 0));
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.live_allocs, 0);
	assert_int_equal(st.frees, 1);
	assert_int_equal(st.held_bytes, 0);
	assert_heap_ok(h);
	bheap_destroy(h);
}

static void test_heap_realloc_same_order_keeps_pointer(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	void *p = bheap_malloc(h, 100);
	pattern_fill(p, 100, 3);
	assert_ptr_equal(bheap_realloc(h, p, 120), p);
	assert_true(pattern_ok(p, 100, 3));
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.requested_bytes, 120);
	assert_int_equal(st.held_bytes, 128);
	assert_int_equal(st.reallocs_in_place, 1);
	bheap_free(h, p);
	bheap_destroy(h);
}

static void test_heap_realloc_shrink_splits_in_place(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	char *p = bheap_malloc(h, 1000);
	pattern_fill(p, 100, 4);
	assert_ptr_equal(bheap_realloc(h, p, 100), p);
	assert_true(pattern_ok(p, 100, 4));
	assert_int_equal(bheap_usable_size(h, p), 128);
	/* the split-off upper half is a free 512-byte block right there */
	void *q = bheap_malloc(h, 512);
	assert_ptr_equal(q, p + 512);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.held_bytes, 128 + 512);
	assert_int_equal(st.reallocs_in_place, 1);
	assert_int_equal(st.reallocs_moved, 0);
	bheap_free(h, p);
	bheap_free(h, q);
	assert_heap_ok(h);
	bheap_destroy(h);
}

static void test_heap_realloc_grow_merges_in_place(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	void *p = bheap_malloc(h, 100); /* first block of a fresh chunk: buddies free */
	pattern_fill(p, 100, 5);
	assert_ptr_equal(bheap_realloc(h, p, 3000), p);
	assert_true(pattern_ok(p, 100, 5));
	assert_int_equal(bheap_usable_size(h, p), 4096);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.reallocs_in_place, 1);
	assert_int_equal(st.reallocs_moved, 0);
	assert_int_equal(st.requested_bytes, 3000);
	assert_int_equal(st.held_bytes, 4096);
	assert_heap_ok(h);
	bheap_free(h, p);
	bheap_destroy(h);
}

static void test_heap_realloc_grow_moves_when_buddy_taken(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	char *p = bheap_malloc(h, 100);
	char *q = bheap_malloc(h, 100);
	assert_ptr_equal(q, p + 128); /* p's buddy is now in use */
	pattern_fill(p, 128, 6);
	pattern_fill(q, 128, 7);
	char *r = bheap_realloc(h, p, 1000);
	assert_non_null(r);
	assert_ptr_not_equal(r, p);
	assert_true(pattern_ok(r, 128, 6)); /* old usable bytes kept */
	assert_true(pattern_ok(q, 128, 7));
	assert_int_equal(bheap_usable_size(h, r), 1024);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.reallocs_moved, 1);
	assert_int_equal(st.live_allocs, 2);
	assert_int_equal(st.allocs, 2);
	assert_int_equal(st.frees, 0);
	assert_int_equal(st.held_bytes, 1024 + 128);
	assert_int_equal(st.requested_bytes, 1100);
	assert_heap_ok(h);
	bheap_free(h, r);
	bheap_free(h, q);
	bheap_destroy(h);
}

static void test_heap_realloc_failure_keeps_block(void **state)
{
	(void)state;
	struct bheap_config cfg = test_config(NULL, NULL, 65536);
	cfg.limit_bytes = 65536;
	struct bheap *h = bheap_create(&cfg);
	void *p = bheap_malloc(h, 100);
	void *q = bheap_malloc(h, 100);
	pattern_fill(p, 100, 8);
	errno = 0;
	assert_null(bheap_realloc(h, p, 65536)); /* needs a second chunk */
	assert_int_equal(errno, ENOMEM);
	assert_true(pattern_ok(p, 100, 8));
	assert_int_equal(bheap_usable_size(h, p), 128);
	errno = 0;
	assert_null(bheap_realloc(h, p, SIZE_MAX)); /* no such block size */
	assert_int_equal(errno, ENOMEM);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.failures, 2);
	assert_int_equal(st.live_allocs, 2);
	assert_int_equal(st.requested_bytes, 200);
	assert_heap_ok(h);
	bheap_free(h, p);
	bheap_free(h, q);
	bheap_destroy(h);
}

static void test_heap_aligned_alloc_alignments(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	void *keep = bheap_malloc(h, 16); /* so nothing starts at a chunk base by luck */
	for (size_t a = 1; a <= ((size_t)1 << 22); a <<= 1) {
		void *p = bheap_aligned_alloc(h, a, 24);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % a, 0);
		assert_true(bheap_usable_size(h, p) >= 24);
		pattern_fill(p, 24, (unsigned)a);
		assert_true(pattern_ok(p, 24, (unsigned)a));
		bheap_free(h, p);
	}
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.requested_bytes, 16);
	bheap_free(h, keep);
	assert_heap_ok(h);
	bheap_destroy(h);
}

static void test_heap_aligned_alloc_bad_alignment_einval(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	static const size_t bad[] = { 0, 3, 24, 48, 100, 4095 };
	for (int i = 0; i < 6; i++) {
		errno = 0;
		assert_null(bheap_aligned_alloc(h, bad[i], 64));
		assert_int_equal(errno, EINVAL);
	}
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.live_allocs, 0);
	assert_int_equal(st.failures, 0);
	bheap_destroy(h);
}

static void test_heap_aligned_alloc_counts_requested_size(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	void *p = bheap_aligned_alloc(h, 4096, 10);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.requested_bytes, 10);
	assert_int_equal(st.held_bytes, 4096);
	bheap_free(h, p);
	bheap_destroy(h);
}

static void test_heap_posix_memalign_cases(void **state)
{
	(void)state;
	struct bheap *h = heap_new(0);
	void *out = &out;
	void *const sentinel = &out;
	errno = 1234;
	assert_int_equal(bheap_posix_memalign(h, &out, 24, 8), EINVAL);
	assert_int_equal(bheap_posix_memalign(h, &out, 0, 8), EINVAL);
	assert_int_equal(bheap_posix_memalign(h, &out, sizeof(void *) / 2, 8), EINVAL);
	assert_int_equal(bheap_posix_memalign(h, &out, 2, 8), EINVAL);
	assert_int_equal(bheap_posix_memalign(h, NULL, 64, 8), EINVAL);
	assert_int_equal(bheap_posix_memalign(h, &out, 64, SIZE_MAX), ENOMEM);
	assert_ptr_equal(out, sentinel); /* untouched on failure */
	assert_int_equal(errno, 1234);   /* and errno is left alone */
	assert_int_equal(bheap_posix_memalign(h, &out, sizeof(void *), 8), 0);
	assert_ptr_not_equal(out, sentinel);
	bheap_free(h, out);
	assert_int_equal(bheap_posix_memalign(h, &out, 8192, 100), 0);
	assert_int_equal((uintptr_t)out % 8192, 0);
	bheap_free(h, out);
	assert_int_equal(bheap_posix_memalign(h, &out, 64, 0), 0);
	assert_non_null(out);
	bheap_free(h, out);
	assert_heap_ok(h);
	bheap_destroy(h);
}

static void test_heap_config_rejects_bad_values(void **state)
{
	(void)state;
	struct bheap_config cfg;
	static const size_t bad_min[] = { 0, 8, 24, 256, 4096 };
	for (int i = 0; i < 5; i++) {
		bheap_config_default(&cfg);
		cfg.min_block = bad_min[i];
		errno = 0;
		assert_null(bheap_create(&cfg));
		assert_int_equal(errno, EINVAL);
	}
	struct map_ctx m = { 0 };
	cfg = test_config(&m, NULL, 0);
	cfg.unmap = NULL; /* a map hook needs an unmap hook */
	errno = 0;
	assert_null(bheap_create(&cfg));
	assert_int_equal(errno, EINVAL);
	bheap_config_default(&cfg);
	cfg.buffer_bytes = 4096; /* length without a buffer */
	assert_null(bheap_create(&cfg));
	assert_int_equal(m.calls, 0);
}

static void test_heap_config_defaults(void **state)
{
	(void)state;
	struct bheap_config cfg;
	bheap_config_default(&cfg);
	assert_int_equal(cfg.min_block, 16);
	assert_int_equal(cfg.chunk_bytes, (size_t)1 << 20);
	assert_int_equal(cfg.retain_bytes, (size_t)1 << 20);
	assert_int_equal(cfg.limit_bytes, 0);
	assert_null(cfg.buffer);
	assert_null(cfg.map);
	assert_null(cfg.on_error);
	bheap_config_default(NULL); /* harmless */
}

static void test_heap_min_block_configurable(void **state)
{
	(void)state;
	struct bheap_config cfg = test_config(NULL, NULL, 0);
	cfg.min_block = 64;
	struct bheap *h = bheap_create(&cfg);
	assert_non_null(h);
	void *p = bheap_malloc(h, 1);
	assert_int_equal(bheap_usable_size(h, p), 64);
	void *q = bheap_malloc(h, 65);
	assert_int_equal(bheap_usable_size(h, q), 128);
	void *z = bheap_malloc(h, 0);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.min_block, 64);
	assert_int_equal(st.requested_bytes, 66);
	assert_int_equal(st.held_bytes, 256);
	assert_int_equal(bheap_zone(h)->page_size, 64);
	bheap_free(h, p);
	bheap_free(h, q);
	bheap_free(h, z);
	assert_heap_ok(h);
	bheap_destroy(h);
}

static void test_heap_chunk_size_rounds_up(void **state)
{
	(void)state;
	struct bheap_config cfg = test_config(NULL, NULL, 100000);
	struct bheap *h = bheap_create(&cfg);
	void *p = bheap_malloc(h, 16);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.arena_bytes, 131072);
	bheap_free(h, p);
	bheap_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_malloc_rounds_to_power_of_two),
		cmocka_unit_test(test_heap_malloc_zero_gives_unique_pointer),
		cmocka_unit_test(test_heap_malloc_huge_fails_enomem),
		cmocka_unit_test(test_heap_null_heap_is_rejected),
		cmocka_unit_test(test_heap_free_null_does_nothing),
		cmocka_unit_test(test_heap_calloc_zeroes_reused_memory),
		cmocka_unit_test(test_heap_calloc_overflow_fails_enomem),
		cmocka_unit_test(test_heap_realloc_null_is_malloc),
		cmocka_unit_test(test_heap_realloc_zero_frees),
		cmocka_unit_test(test_heap_realloc_same_order_keeps_pointer),
		cmocka_unit_test(test_heap_realloc_shrink_splits_in_place),
		cmocka_unit_test(test_heap_realloc_grow_merges_in_place),
		cmocka_unit_test(test_heap_realloc_grow_moves_when_buddy_taken),
		cmocka_unit_test(test_heap_realloc_failure_keeps_block),
		cmocka_unit_test(test_heap_aligned_alloc_alignments),
		cmocka_unit_test(test_heap_aligned_alloc_bad_alignment_einval),
		cmocka_unit_test(test_heap_aligned_alloc_counts_requested_size),
		cmocka_unit_test(test_heap_posix_memalign_cases),
		cmocka_unit_test(test_heap_config_rejects_bad_values),
		cmocka_unit_test(test_heap_config_defaults),
		cmocka_unit_test(test_heap_min_block_configurable),
		cmocka_unit_test(test_heap_chunk_size_rounds_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
