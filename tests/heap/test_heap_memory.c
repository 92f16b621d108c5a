/* SPDX-License-Identifier: MIT */
/*
 * test_heap_memory.c - where the buddy heap's memory comes from: growing
 * by mapped chunks, dedicated chunks for large requests, the limit, a
 * failing map hook, unmapping wholly free chunks beyond retain_bytes, and
 * the fixed-buffer mode that never maps.
 */
#include "heap_test.h"

#include <errno.h>

#define CHUNK ((size_t)65536)

static void test_heap_grows_by_mapping_chunks(void **state)
{
	(void)state;
	struct map_ctx m = { 0 };
	struct bheap_config cfg = test_config(&m, NULL, CHUNK);
	struct bheap *h = bheap_create(&cfg);
	assert_non_null(h);
	assert_int_equal(m.calls, 1); /* the state; no chunk before first use */
	void *p[3];
	for (int i = 0; i < 3; i++) {
		p[i] = bheap_malloc(h, 40000); /* a whole 64 KiB chunk each */
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % CHUNK, 0);
		pattern_fill(p[i], 40000, (unsigned)i);
	}
	assert_int_equal(m.calls, 4);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.nr_chunks, 3);
	assert_int_equal(st.maps, 3);
	assert_int_equal(st.arena_bytes, 3 * CHUNK);
	assert_int_equal(st.peak_arena_bytes, 3 * CHUNK);
	assert_true(st.footprint_bytes > st.arena_bytes + st.meta_bytes);
	assert_int_equal(st.footprint_bytes, m.mapped); /* counted exactly */
	for (int i = 0; i < 3; i++)
		assert_true(pattern_ok(p[i], 40000, (unsigned)i));
	assert_heap_ok(h);
	bheap_destroy(h);
	assert_int_equal(m.mapped, 0);
}

static void test_heap_large_request_gets_its_own_chunk(void **state)
{
	(void)state;
	struct map_ctx m = { 0 };
	struct bheap_config cfg = test_config(&m, NULL, CHUNK);
	struct bheap *h = bheap_create(&cfg);
	void *small = bheap_malloc(h, 10);
	void *big = bheap_malloc(h, 200000);
	assert_non_null(big);
	assert_int_equal(bheap_usable_size(h, big), 262144);
	assert_int_equal((uintptr_t)big % 262144, 0);
	pattern_fill(big, 200000, 9);
	assert_true(pattern_ok(big, 200000, 9));
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.nr_chunks, 2);
	assert_int_equal(st.arena_bytes, CHUNK + 262144);
	bheap_free(h, big);
	bheap_free(h, small);
	assert_heap_ok(h);
	bheap_destroy(h);
	assert_int_equal(m.mapped, 0);
}

static void test_heap_limit_returns_enomem_and_keeps_blocks(void **state)
{
	(void)state;
	struct map_ctx m = { 0 };
	struct bheap_config cfg = test_config(&m, NULL, CHUNK);
	cfg.limit_bytes = 2 * CHUNK;
	struct bheap *h = bheap_create(&cfg);
	void *p[64] = { 0 };
	int n = 0;
	for (;;) {
		void *q = bheap_malloc(h, 4000);
		if (!q)
			break;
		assert_true(n < 64);
		pattern_fill(q, 4000, (unsigned)n);
		p[n++] = q;
	}
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(n, 32); /* 2 chunks of 16 blocks of 4 KiB */
	assert_null(bheap_malloc(h, 16));
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.failures, 2);
	assert_int_equal(st.nr_chunks, 2);
	assert_int_equal(st.live_allocs, 32);
	for (int i = 0; i < n; i++)
		assert_true(pattern_ok(p[i], 4000, (unsigned)i));
	assert_heap_ok(h);
	/* after a free the space is usable again */
	bheap_free(h, p[5]);
	void *again = bheap_malloc(h, 16);
	assert_non_null(again);
	bheap_free(h, again);
	for (int i = 0; i < n; i++)
		if (i != 5)
			bheap_free(h, p[i]);
	assert_heap_ok(h);
	bheap_destroy(h);
}

static void test_heap_limit_below_request_fails(void **state)
{
	(void)state;
	struct bheap_config cfg = test_config(NULL, NULL, CHUNK);
	cfg.limit_bytes = CHUNK;
	struct bheap *h = bheap_create(&cfg);
	errno = 0;
	assert_null(bheap_malloc(h, CHUNK + 1));
	assert_int_equal(errno, ENOMEM);
	void *p = bheap_malloc(h, CHUNK);
	assert_non_null(p);
	bheap_free(h, p);
	bheap_destroy(h);
}

static void test_heap_map_failure_returns_enomem(void **state)
{
	(void)state;
	struct map_ctx m = { 0 };
	m.fail_at = 3; /* state, first chunk, then the second chunk fails */
	struct bheap_config cfg = test_config(&m, NULL, CHUNK);
	struct bheap *h = bheap_create(&cfg);
	void *a = bheap_malloc(h, 30000);
	void *b = bheap_malloc(h, 30000);
	assert_non_null(a);
	assert_non_null(b);
	pattern_fill(a, 30000, 1);
	pattern_fill(b, 30000, 2);
	errno = 0;
	assert_null(bheap_malloc(h, 30000));
	assert_int_equal(errno, ENOMEM);
	assert_true(pattern_ok(a, 30000, 1));
	assert_true(pattern_ok(b, 30000, 2));
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.map_failures, 1);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.nr_chunks, 1);
	assert_int_equal(st.live_allocs, 2);
	assert_heap_ok(h);
	/* the hook works again: the heap grows on the next request */
	void *c = bheap_malloc(h, 30000);
	assert_non_null(c);
	bheap_free(h, a);
	bheap_free(h, b);
	bheap_free(h, c);
	assert_heap_ok(h);
	bheap_destroy(h);
	assert_int_equal(m.mapped, 0);
}

static void test_heap_map_failure_during_realloc_keeps_block(void **state)
{
	(void)state;
	struct map_ctx m = { 0 };
	m.fail_from = 3;
	struct bheap_config cfg = test_config(&m, NULL, CHUNK);
	struct bheap *h = bheap_create(&cfg);
	void *a = bheap_malloc(h, 100);
	void *b = bheap_malloc(h, 100); /* a cannot grow in place */
	pattern_fill(a, 100, 3);
	errno = 0;
	assert_null(bheap_realloc(h, a, 2 * CHUNK));
	assert_int_equal(errno, ENOMEM);
	assert_true(pattern_ok(a, 100, 3));
	assert_int_equal(bheap_usable_size(h, a), 128);
	bheap_free(h, a);
	bheap_free(h, b);
	assert_heap_ok(h);
	bheap_destroy(h);
}

static void test_heap_create_fails_when_map_fails(void **state)
{
	(void)state;
	struct map_ctx m = { 0 };
	m.fail_at = 1;
	struct bheap_config cfg = test_config(&m, NULL, CHUNK);
	errno = 0;
	assert_null(bheap_create(&cfg));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(m.mapped, 0);
}

static void test_heap_unmaps_free_chunks_beyond_retain(void **state)
{
	(void)state;
	struct map_ctx m = { 0 };
	struct bheap_config cfg = test_config(&m, NULL, CHUNK);
	cfg.retain_bytes = CHUNK; /* keep one free chunk's worth */
	struct bheap *h = bheap_create(&cfg);
	void *a = bheap_malloc(h, CHUNK);
	void *b = bheap_malloc(h, CHUNK);
	void *c = bheap_malloc(h, 16);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.nr_chunks, 3);
	size_t mapped3 = m.mapped;
	bheap_free(h, a); /* free bytes = 64 KiB + the rest of c's chunk: above retain */
	bheap_get_stats(h, &st);
	assert_int_equal(st.nr_chunks, 2);
	assert_int_equal(st.unmaps, 1);
	assert_true(m.mapped < mapped3);
	assert_int_equal(st.footprint_bytes, m.mapped);
	bheap_free(h, c); /* c's chunk wholly free: 64 KiB free, not above retain: kept */
	bheap_get_stats(h, &st);
	assert_int_equal(st.nr_chunks, 2);
	assert_int_equal(st.unmaps, 1);
	bheap_free(h, b); /* 128 KiB free: b's chunk goes */
	bheap_get_stats(h, &st);
	assert_int_equal(st.nr_chunks, 1);
	assert_int_equal(st.unmaps, 2);
	assert_int_equal(st.free_bytes, CHUNK);
	assert_int_equal(st.peak_arena_bytes, 3 * CHUNK);
	assert_heap_ok(h);
	bheap_destroy(h);
	assert_int_equal(m.mapped, 0);
}

static void test_heap_idle_chunk_goes_when_free_memory_grows(void **state)
{
	(void)state;
	struct bheap_config cfg = test_config(NULL, NULL, CHUNK);
	cfg.retain_bytes = 80000;
	struct bheap *h = bheap_create(&cfg);
	void *a = bheap_malloc(h, CHUNK); /* a chunk of its own */
	void *c = bheap_malloc(h, 16);    /* the second chunk: 16 + 32K + 16K + 8K held */
	void *d = bheap_malloc(h, 32768);
	void *e = bheap_malloc(h, 16384);
	void *f = bheap_malloc(h, 8192);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.nr_chunks, 2);
	assert_int_equal(st.free_bytes, 8176);
	bheap_free(h, a); /* 73712 free bytes, not above 80000: a's chunk stays */
	bheap_get_stats(h, &st);
	assert_int_equal(st.nr_chunks, 2);
	assert_int_equal(st.unmaps, 0);
	assert_heap_ok(h);
	bheap_free(h, e); /* 90096 free: the idle chunk goes, though e's is still busy */
	bheap_get_stats(h, &st);
	assert_int_equal(st.nr_chunks, 1);
	assert_int_equal(st.unmaps, 1);
	assert_int_equal(st.free_bytes, 24560);
	assert_heap_ok(h);
	bheap_free(h, c);
	bheap_free(h, d);
	bheap_free(h, f);
	bheap_destroy(h);
}

static void test_heap_retain_zero_unmaps_every_free_chunk(void **state)
{
	(void)state;
	struct map_ctx m = { 0 };
	struct bheap_config cfg = test_config(&m, NULL, CHUNK);
	cfg.retain_bytes = 0;
	struct bheap *h = bheap_create(&cfg);
	size_t state_only = m.mapped;
	void *a = bheap_malloc(h, 100);
	bheap_free(h, a);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.nr_chunks, 0);
	assert_int_equal(m.mapped, state_only);
	/* and the heap grows again when asked */
	a = bheap_malloc(h, 100);
	assert_non_null(a);
	bheap_get_stats(h, &st);
	assert_int_equal(st.maps, 2);
	bheap_free(h, a);
	assert_heap_ok(h);
	bheap_destroy(h);
}

static _Alignas(4096) unsigned char fixed_buf[1 << 16];

static void test_heap_fixed_buffer_never_maps(void **state)
{
	(void)state;
	struct map_ctx m = { 0 };
	struct bheap_config cfg = test_config(&m, NULL, 0);
	cfg.buffer = fixed_buf;
	cfg.buffer_bytes = sizeof(fixed_buf);
	struct bheap *h = bheap_create(&cfg);
	assert_non_null(h);
	void *p[4096];
	int n = 0;
	while (n < 4096 && (p[n] = bheap_malloc(h, 100)) != NULL) {
		assert_true((unsigned char *)p[n] >= fixed_buf &&
			    (unsigned char *)p[n] + 128 <= fixed_buf + sizeof(fixed_buf));
		pattern_fill(p[n], 100, (unsigned)n);
		n++;
	}
	assert_int_equal(errno, ENOMEM);
	assert_true(n > 300 && n < 512); /* most of 64 KiB in 128-byte blocks */
	assert_int_equal(m.calls, 0);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.nr_chunks, 1);
	assert_int_equal(st.maps, 0);
	assert_int_equal(st.footprint_bytes, sizeof(fixed_buf));
	assert_int_equal(st.failures, 1);
	for (int i = 0; i < n; i++) {
		assert_true(pattern_ok(p[i], 100, (unsigned)i));
		bheap_free(h, p[i]);
	}
	bheap_get_stats(h, &st);
	assert_int_equal(st.nr_chunks, 1); /* never unmapped */
	assert_int_equal(st.unmaps, 0);
	assert_heap_ok(h);
	bheap_destroy(h);
	assert_int_equal(m.calls, 0);
}

static void test_heap_fixed_buffer_alignment(void **state)
{
	(void)state;
	struct bheap_config cfg = test_config(NULL, NULL, 0);
	cfg.buffer = fixed_buf + 8; /* deliberately misaligned */
	cfg.buffer_bytes = sizeof(fixed_buf) - 8;
	struct bheap *h = bheap_create(&cfg);
	assert_non_null(h);
	void *p = bheap_aligned_alloc(h, 4096, 100);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 4096, 0);
	errno = 0;
	assert_null(bheap_aligned_alloc(h, 8192, 100)); /* beyond the base's alignment */
	assert_int_equal(errno, EINVAL);
	void *q = bheap_malloc(h, 1);
	assert_int_equal((uintptr_t)q % 16, 0);
	bheap_free(h, p);
	bheap_free(h, q);
	assert_heap_ok(h);
	bheap_destroy(h);
}

static void test_heap_fixed_buffer_too_small(void **state)
{
	(void)state;
	static _Alignas(16) unsigned char tiny[64];
	struct bheap_config cfg = test_config(NULL, NULL, 0);
	cfg.buffer = tiny;
	cfg.buffer_bytes = sizeof(tiny);
	errno = 0;
	assert_null(bheap_create(&cfg));
	assert_int_equal(errno, ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_grows_by_mapping_chunks),
		cmocka_unit_test(test_heap_large_request_gets_its_own_chunk),
		cmocka_unit_test(test_heap_limit_returns_enomem_and_keeps_blocks),
		cmocka_unit_test(test_heap_limit_below_request_fails),
		cmocka_unit_test(test_heap_map_failure_returns_enomem),
		cmocka_unit_test(test_heap_map_failure_during_realloc_keeps_block),
		cmocka_unit_test(test_heap_create_fails_when_map_fails),
		cmocka_unit_test(test_heap_unmaps_free_chunks_beyond_retain),
		cmocka_unit_test(test_heap_idle_chunk_goes_when_free_memory_grows),
		cmocka_unit_test(test_heap_retain_zero_unmaps_every_free_chunk),
		cmocka_unit_test(test_heap_fixed_buffer_never_maps),
		cmocka_unit_test(test_heap_fixed_buffer_alignment),
		cmocka_unit_test(test_heap_fixed_buffer_too_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
