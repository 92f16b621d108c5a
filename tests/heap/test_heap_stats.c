/* SPDX-License-Identifier: MIT */
/*
 * test_heap_stats.c - the buddy heap's statistics (exact for a known
 * sequence), the Robson bound worked by hand, the block walk's exact
 * layout, the integrity check finding damage, and the balloc adapter.
 */
#include "heap_test.h"

#include <errno.h>

#include "heap/heap_internal.h"

static struct bheap *small_heap(void)
{
	struct bheap_config cfg = test_config(NULL, NULL, 4096);
	cfg.limit_bytes = 4096;
	cfg.cache_blocks = 0; /* exact layouts: every free merges at once */
	struct bheap *h = bheap_create(&cfg);
	assert_non_null(h);
	return h;
}

static void test_heap_stats_exact_for_sequence(void **state)
{
	(void)state;
	struct bheap *h = small_heap();
	char *a = bheap_malloc(h, 10);
	char *b = bheap_malloc(h, 100);
	char *c = bheap_malloc(h, 1000);
	assert_ptr_equal(b, a + 128);
	assert_ptr_equal(c, a + 1024);
	bheap_free(h, b);
	assert_null(bheap_malloc(h, 4096)); /* one failure */
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.min_block, 16);
	assert_int_equal(st.requested_bytes, 1010);
	assert_int_equal(st.held_bytes, 1040);
	assert_int_equal(st.peak_requested_bytes, 1110);
	assert_int_equal(st.peak_held_bytes, 1168);
	assert_int_equal(st.live_allocs, 2);
	assert_int_equal(st.peak_live_allocs, 3);
	assert_int_equal(st.arena_bytes, 4096);
	assert_int_equal(st.nr_chunks, 1);
	assert_int_equal(st.free_bytes, 3056);
	assert_int_equal(st.largest_free_bytes, 2048);
	assert_int_equal(st.free_blocks, 7); /* 16 32 64 128 256 512 2048 */
	assert_int_equal(st.smallest_block, 16);
	assert_int_equal(st.largest_block, 1024);
	assert_int_equal(st.allocs, 3);
	assert_int_equal(st.frees, 1);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.maps, 1);
	assert_int_equal(st.unmaps, 0);
	assert_int_equal(st.misuse, 0);
	assert_int_equal(st.reallocs_in_place + st.reallocs_moved, 0);
	/*
	 * Robson by hand, in 16-byte units: M = 1168/16 = 73, n = 1024/16 = 64,
	 * log2 n = 6: N = 73 * (1 + 6/2) - 64 + 1 = 229 units = 3664 bytes.
	 */
	assert_int_equal(st.robson_bytes, 3664);
	assert_int_equal(st.robson_met, 1); /* 4096 >= 3664 */
	bheap_free(h, a);
	bheap_free(h, c);
	bheap_destroy(h);
}

static void test_heap_robson_bound_not_met(void **state)
{
	(void)state;
	struct bheap *h = small_heap();
	void *a = bheap_malloc(h, 10);
	void *c = bheap_malloc(h, 1000);
	void *d = bheap_malloc(h, 2048);
	assert_non_null(d);
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	/*
	 * M = 16 + 1024 + 2048 = 3088 bytes = 193 units, n = 2048/16 = 128,
	 * log2 n = 7: N = 193 * 4.5 - 128 + 1 = 741.5 units = 11864 bytes.
	 */
	assert_int_equal(st.peak_held_bytes, 3088);
	assert_int_equal(st.largest_block, 2048);
	assert_int_equal(st.robson_bytes, 11864);
	assert_int_equal(st.robson_met, 0);
	bheap_free(h, a);
	bheap_free(h, c);
	bheap_free(h, d);
	bheap_destroy(h);
}

static void test_heap_robson_bound_zero_before_use(void **state)
{
	(void)state;
	struct bheap *h = small_heap();
	struct bheap_stats st;
	bheap_get_stats(h, &st);
	assert_int_equal(st.robson_bytes, 0);
	assert_int_equal(st.robson_met, 1);
	assert_int_equal(st.smallest_block, 0);
	bheap_get_stats(h, NULL); /* harmless */
	bheap_destroy(h);
}

struct walk_rec {
	int n;
	struct bheap_block b[32];
};

static int walk_collect(void *arg, const struct bheap_block *b)
{
	struct walk_rec *w = arg;
	if (w->n < 32)
		w->b[w->n] = *b;
	w->n++;
	return 0;
}

/* With the default cache, a freed small block is reused as it is and still counts as free. */
static void test_heap_cache_reuses_freed_blocks(void **state)
{
	(void)state;
	struct bheap_config cfg = test_config(NULL, NULL, 4096);
	cfg.limit_bytes = 4096;
	assert_int_equal(cfg.cache_blocks, 64);
	struct bheap *h = bheap_create(&cfg);
	assert_non_null(h);
	char *a = bheap_malloc(h, 100);
	char *keep = bheap_malloc(h, 1000);
	struct bheap_stats st;
	bheap_free(h, a);
	bheap_get_stats(h, &st);
	assert_int_equal(st.free_bytes, 4096 - 1024);
	assert_int_equal(st.held_bytes, 1024);
	assert_true(st.largest_free_bytes >= 2048);
	assert_ptr_equal(bheap_malloc(h, 120), a); /* the cached 128-byte block, no split */
	assert_int_equal(bheap_check(h, NULL, NULL), 0);
	bheap_free(h, a);
	bheap_free(h, keep);
	assert_int_equal(bheap_check(h, NULL, NULL), 0);
	/* Everything is free; nothing fails for want of merging. */
	char *big = bheap_malloc(h, 4096);
	assert_non_null(big);
	bheap_free(h, big);
	bheap_destroy(h);
}

static void test_heap_walk_exact_layout(void **state)
{
	(void)state;
	struct bheap *h = small_heap();
	char *a = bheap_malloc(h, 10);
	char *b = bheap_malloc(h, 100);
	struct walk_rec w = { 0 };
	assert_int_equal(bheap_walk(h, walk_collect, &w), 0);
	static const struct {
		size_t off, size;
		int allocated;
		size_t requested;
	} want[] = {
		{ 0, 16, 1, 10 },     { 16, 16, 0, 0 },    { 32, 32, 0, 0 },
		{ 64, 64, 0, 0 },     { 128, 128, 1, 100 }, { 256, 256, 0, 0 },
		{ 512, 512, 0, 0 },   { 1024, 1024, 0, 0 }, { 2048, 2048, 0, 0 },
	};
	assert_int_equal(w.n, 9);
	for (int i = 0; i < 9; i++) {
		assert_int_equal(w.b[i].offset, want[i].off);
		assert_int_equal(w.b[i].size, want[i].size);
		assert_int_equal(w.b[i].allocated, want[i].allocated);
		assert_int_equal(w.b[i].requested, want[i].requested);
		assert_int_equal(w.b[i].size, (size_t)16 << w.b[i].order);
		assert_ptr_equal(w.b[i].addr, a + want[i].off);
		assert_int_equal(w.b[i].chunk, 0);
	}
	bheap_free(h, a);
	bheap_free(h, b);
	w.n = 0;
	bheap_walk(h, walk_collect, &w);
	assert_int_equal(w.n, 1); /* all merged back into the chunk */
	assert_int_equal(w.b[0].size, 4096);
	assert_int_equal(bheap_walk(h, NULL, NULL), 0);
	bheap_destroy(h);
}

static int walk_stop(void *arg, const struct bheap_block *b)
{
	(void)b;
	return ++*(int *)arg == 2 ? 42 : 0;
}

static void test_heap_walk_stops_on_nonzero(void **state)
{
	(void)state;
	struct bheap *h = small_heap();
	void *a = bheap_malloc(h, 10);
	int seen = 0;
	assert_int_equal(bheap_walk(h, walk_stop, &seen), 42);
	assert_int_equal(seen, 2);
	bheap_free(h, a);
	bheap_destroy(h);
}

static void test_heap_zone_exposes_buddyinfo(void **state)
{
	(void)state;
	struct bheap *h = small_heap();
	void *a = bheap_malloc(h, 10);
	const struct buddy_zone *z = bheap_zone(h);
	assert_non_null(z);
	struct buddy_stats bs;
	buddy_get_stats(z, &bs);
	assert_int_equal(bs.page_size, 16);
	assert_int_equal(bs.nr_regions, 1);
	for (unsigned k = 0; k < 8; k++)
		assert_int_equal(bs.nr_free[k], 1);
	assert_int_equal(bs.nr_free[8], 0);
	bheap_free(h, a);
	bheap_destroy(h);
}

static void report_counter(void *arg, const char *msg)
{
	(void)msg;
	++*(int *)arg;
}

static void test_heap_check_finds_damage(void **state)
{
	(void)state;
	struct bheap *h = small_heap();
	char *a = bheap_malloc(h, 10);
	assert_heap_ok(h);
	/* a counter out of step with the blocks */
	h->requested_bytes -= 5;
	int reports = 0;
	assert_int_equal(bheap_check(h, report_counter, &reports), 1);
	assert_int_equal(reports, 1);
	h->requested_bytes += 5;
	/* a free block's list link overwritten (a write after free) */
	void **link = (void **)(a + 16);
	void *saved = *link;
	*link = a + 48;
	assert_true(bheap_check(h, NULL, NULL) > 0);
	*link = saved;
	assert_heap_ok(h);
	bheap_free(h, a);
	bheap_destroy(h);
}

/* ---- the common interface ---- */

struct bwalk_rec {
	int n;
	struct balloc_block b[8];
};

static int bwalk_collect(void *arg, const struct balloc_block *b)
{
	struct bwalk_rec *w = arg;
	if (w->n < 8)
		w->b[w->n] = *b;
	w->n++;
	return 0;
}

static void test_heap_balloc_interface(void **state)
{
	(void)state;
	struct balloc_options opt = { .arena_bytes = 4096, .no_cache = 1 };
	struct balloc ba;
	assert_int_equal(balloc_buddy_heap_create(&opt, &ba), 0);
	assert_string_equal(ba.ops->name, "buddy");
	void *a = ba.ops->malloc(ba.self, 4096);
	void *b = ba.ops->calloc(ba.self, 64, 64);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(ba.ops->usable_size(ba.self, b), 4096);
	struct bwalk_rec w = { 0 };
	assert_int_equal(ba.ops->walk(ba.self, bwalk_collect, &w), 0);
	assert_int_equal(w.n, 2); /* two chunks, one block each */
	assert_int_equal(w.b[0].offset, 0);
	assert_int_equal(w.b[1].offset, 4096); /* running position across chunks */
	assert_int_equal(w.b[0].order, 8);
	assert_int_equal(w.b[1].allocated, 1);
	assert_true(w.b[0].addr < w.b[1].addr);
	assert_int_equal(ba.ops->check(ba.self, NULL, NULL), 0);
	void *c = ba.ops->realloc(ba.self, a, 100); /* shrinks in place */
	assert_ptr_equal(c, a);
	void *d = ba.ops->aligned_alloc(ba.self, 256, 10);
	assert_int_equal((uintptr_t)d % 256, 0);
	struct balloc_stats st;
	ba.ops->stats(ba.self, &st);
	assert_int_equal(st.requested_bytes, 100 + 4096 + 10);
	assert_int_equal(st.held_bytes, 128 + 4096 + 256);
	assert_int_equal(st.live_allocs, 3);
	assert_int_equal(st.free_bytes, 4096 - 128 - 256);
	/* free: 128@128, 512@512, 1024, 2048: largest 2048 of 3712 */
	assert_int_equal(st.largest_free_bytes, 2048);
	assert_int_equal(st.free_blocks, 4);
	assert_true(st.fragmentation > 0.448 && st.fragmentation < 0.449);
	ba.ops->free(ba.self, c);
	ba.ops->free(ba.self, b);
	ba.ops->free(ba.self, d);
	ba.ops->stats(ba.self, &st);
	assert_int_equal(st.live_allocs, 0);
	assert_true(st.fragmentation == 0.0);
	ba.ops->destroy(ba.self);
}

static void test_heap_balloc_buffer_and_errors(void **state)
{
	(void)state;
	static _Alignas(16) unsigned char buf[16384];
	struct balloc ba = { 0 };
	/* Constructors return an errno value, as buddy/alloc.h says. */
	assert_int_equal(balloc_buddy_heap_create(NULL, NULL), EINVAL);
	struct balloc_options bad = { .buffer = buf, .buffer_bytes = 0 };
	assert_int_not_equal(balloc_buddy_heap_create(&bad, &ba), 0);
	assert_null(ba.ops); /* untouched */
	struct balloc_options opt = { .buffer = buf, .buffer_bytes = sizeof(buf) };
	assert_int_equal(balloc_buddy_heap_create(&opt, &ba), 0);
	void *p = ba.ops->malloc(ba.self, 100);
	assert_true((unsigned char *)p >= buf && (unsigned char *)p < buf + sizeof(buf));
	ba.ops->free(ba.self, p);
	assert_int_equal(ba.ops->check(ba.self, NULL, NULL), 0);
	ba.ops->destroy(ba.self);
	assert_int_equal(balloc_buddy_heap_create(NULL, &ba), 0); /* all defaults */
	p = ba.ops->malloc(ba.self, 1);
	ba.ops->free(ba.self, p);
	ba.ops->destroy(ba.self);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_stats_exact_for_sequence),
		cmocka_unit_test(test_heap_robson_bound_not_met),
		cmocka_unit_test(test_heap_robson_bound_zero_before_use),
		cmocka_unit_test(test_heap_cache_reuses_freed_blocks),
		cmocka_unit_test(test_heap_walk_exact_layout),
		cmocka_unit_test(test_heap_walk_stops_on_nonzero),
		cmocka_unit_test(test_heap_zone_exposes_buddyinfo),
		cmocka_unit_test(test_heap_check_finds_damage),
		cmocka_unit_test(test_heap_balloc_interface),
		cmocka_unit_test(test_heap_balloc_buffer_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
