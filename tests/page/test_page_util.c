/* SPDX-License-Identifier: MIT */
/*
 * test_page_util.c - the page allocator's small building blocks, observed
 * directly or through the layout: region carving (buddy_carve_order), the order a
 * page count rounds up to for exact allocations, the buddy index (i XOR
 * 2^k), the pair bitmaps (one bit per buddy pair per order, 1 iff exactly
 * one of the two is a free block of that order) and the status texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "page/page_internal.h"
#include "page_fixture.h"

#define PS 4096u

static void test_page_carve_order_largest_aligned(void **state)
{
	(void)state;
	/* idx 0 takes the largest power of two that fits. */
	assert_int_equal(buddy_carve_order(0, 1, BUDDY_MAX_ORDER), 0);
	assert_int_equal(buddy_carve_order(0, 5, BUDDY_MAX_ORDER), 2);
	assert_int_equal(buddy_carve_order(0, 8, BUDDY_MAX_ORDER), 3);
	assert_int_equal(buddy_carve_order(0, 100, BUDDY_MAX_ORDER), 6);
	/* Later blocks are limited by their alignment ... */
	assert_int_equal(buddy_carve_order(4, 100, BUDDY_MAX_ORDER), 2);
	assert_int_equal(buddy_carve_order(64, 100, BUDDY_MAX_ORDER), 5);
	assert_int_equal(buddy_carve_order(96, 100, BUDDY_MAX_ORDER), 2);
	/* ... and by what is left of the region. */
	assert_int_equal(buddy_carve_order(4, 5, BUDDY_MAX_ORDER), 0);
	assert_int_equal(buddy_carve_order(4, 7, BUDDY_MAX_ORDER), 1);
	assert_int_equal(buddy_carve_order(6, 7, BUDDY_MAX_ORDER), 0);
	assert_int_equal(buddy_carve_order(8, 13, BUDDY_MAX_ORDER), 2);
	assert_int_equal(buddy_carve_order(12, 13, BUDDY_MAX_ORDER), 0);
	/* The cap wins over both. */
	assert_int_equal(buddy_carve_order(0, 64, 3), 3);
	assert_int_equal(buddy_carve_order(8, 64, 3), 3);
	assert_int_equal(buddy_carve_order(32, 64, 3), 3);
	assert_int_equal(buddy_carve_order(0, 64, 0), 0);
	assert_int_equal(buddy_carve_order(1024, 4096, 31), 10);
}

/* Exact allocations use a block of the next order up: ceil(log2(n)). */
static void test_page_exact_order_rounds_up(void **state)
{
	struct buddy_zone z;
	(void)state;
	/* 16 pages: exact n takes the order-ceil(log2 n) block at page 0. */
	for (size_t n = 1; n <= 16; n++) {
		unsigned char *base = fx_arena(PS, 16, PS);
		fx_zone(&z, PS, BUDDY_MAX_ORDER_AUTO);
		fx_add(&z, base, 16);
		void *p = buddy_alloc_pages_exact(&z, n, 0);
		assert_ptr_equal(p, base);
		assert_int_equal(buddy_alloc_size(&z, p), n);
		struct buddy_stats st;
		buddy_get_stats(&z, &st);
		assert_int_equal(st.free_pages, 16 - n);
		assert_int_equal(fx_check(&z), 0);
		fx_cleanup();
		fx_arena_free(base);
	}

	/* 12 pages = order-3 block at 0 + order-2 block at 8. */
	unsigned char *base = fx_arena(PS, 12, PS);
	fx_zone(&z, PS, BUDDY_MAX_ORDER_AUTO);
	fx_add(&z, base, 12);
	void *p3 = buddy_alloc_pages_exact(&z, 3, 0); /* order 2: the block at 8 */
	assert_ptr_equal(p3, base + 8 * PS);
	void *p5 = buddy_alloc_pages_exact(&z, 5, 0); /* order 3: the block at 0 */
	assert_ptr_equal(p5, base);
	assert_string_equal(fx_layout(&z), "[r0] 0:2A 4:0c 5:0F 6:1F 8:1A 10:0c 11:0F");
	assert_int_equal(buddy_free(&z, p3), BUDDY_OK);
	assert_int_equal(buddy_free(&z, p5), BUDDY_OK);
	/* 9 pages need an order-4 block although 12 pages are free. */
	assert_null(buddy_alloc_pages_exact(&z, 9, 0));
	assert_int_equal(buddy_last_error(&z), BUDDY_ENOMEM);
	assert_non_null(buddy_alloc_pages_exact(&z, 8, 0));
	assert_int_equal(fx_check(&z), 0);
	fx_cleanup();
	fx_arena_free(base);
}

/* Only the buddy (index XOR 2^order) merges; an adjacent non-buddy does not. */
static void test_page_buddy_index_decides_merge(void **state)
{
	struct buddy_zone z;
	void *pg[8];
	(void)state;
	unsigned char *base = fx_arena(PS, 8, PS);
	fx_zone(&z, PS, BUDDY_MAX_ORDER_AUTO);
	fx_add(&z, base, 8);
	for (int i = 0; i < 8; i++) {
		pg[i] = buddy_alloc_pages(&z, 0, 0);
		assert_ptr_equal(pg[i], base + (size_t)i * PS);
	}
	/* Pages 1 and 2 touch but are not buddies (1 ^ 1 = 0, 2 ^ 1 = 3). */
	assert_int_equal(buddy_free_pages(&z, pg[1], 0), BUDDY_OK);
	assert_int_equal(buddy_free_pages(&z, pg[2], 0), BUDDY_OK);
	assert_string_equal(fx_layout(&z), "[r0] 0:0A 1:0F 2:0F 3:0A 4:0A 5:0A 6:0A 7:0A");
	/* 3 is 2's buddy: they merge into the order-1 block at 2. */
	assert_int_equal(buddy_free_pages(&z, pg[3], 0), BUDDY_OK);
	assert_string_equal(fx_layout(&z), "[r0] 0:0A 1:0F 2:1F 4:0A 5:0A 6:0A 7:0A");
	/* Order-1 blocks 2 and 4 are adjacent, but 2's buddy at order 1 is 0. */
	assert_int_equal(buddy_free_pages(&z, pg[5], 0), BUDDY_OK);
	assert_int_equal(buddy_free_pages(&z, pg[4], 0), BUDDY_OK);
	assert_string_equal(fx_layout(&z), "[r0] 0:0A 1:0F 2:1F 4:1F 6:0A 7:0A");
	/* 0 completes 0/1, then 0/2 at order 1. */
	assert_int_equal(buddy_free_pages(&z, pg[0], 0), BUDDY_OK);
	assert_string_equal(fx_layout(&z), "[r0] 0:2F 4:1F 6:0A 7:0A");
	assert_int_equal(buddy_free_pages(&z, pg[7], 0), BUDDY_OK);
	assert_int_equal(buddy_free_pages(&z, pg[6], 0), BUDDY_OK);
	assert_string_equal(fx_layout(&z), "[r0] 0:3F");
	assert_int_equal(fx_check(&z), 0);
	fx_cleanup();
	fx_arena_free(base);
}

static const struct buddy_region *first_region(const struct buddy_zone *z)
{
	return z->regions;
}

/* The pair bit reads 1 exactly when one of the two buddies is free. */
static void test_page_pair_bits_toggle(void **state)
{
	struct buddy_zone z;
	(void)state;
	unsigned char *base = fx_arena(PS, 8, PS);
	fx_zone(&z, PS, BUDDY_MAX_ORDER_AUTO);
	fx_add(&z, base, 8);
	const struct buddy_region *r = first_region(&z);
	assert_int_equal(r->max_order, 3);
	for (unsigned k = 0; k < 3; k++)
		assert_int_equal(map_test(r, k, 0), 0); /* one free order-3 block: no pairs */

	void *a = buddy_alloc_pages(&z, 0, 0); /* splits: 1:0F 2:1F 4:2F */
	assert_ptr_equal(a, base);
	assert_int_equal(map_test(r, 0, 0), 1);
	assert_int_equal(map_test(r, 1, 0), 1);
	assert_int_equal(map_test(r, 2, 0), 1);

	void *b = buddy_alloc_pages(&z, 0, 0); /* page 1: both of pair 0/1 in use */
	assert_ptr_equal(b, base + PS);
	assert_int_equal(map_test(r, 0, 0), 0);
	assert_int_equal(map_test(r, 1, 0), 1);

	void *c = buddy_alloc_pages(&z, 1, 0); /* page 2: pair 0/2 both in use */
	assert_ptr_equal(c, base + 2 * PS);
	assert_int_equal(map_test(r, 1, 0), 0);
	assert_int_equal(map_test(r, 2, 0), 1);

	assert_int_equal(buddy_free(&z, a), BUDDY_OK); /* 0 free, 1 in use */
	assert_int_equal(map_test(r, 0, 0), 1);
	assert_int_equal(buddy_free(&z, b), BUDDY_OK); /* merged into 0:1F */
	assert_int_equal(map_test(r, 0, 0), 0);
	assert_int_equal(map_test(r, 1, 0), 1);
	assert_int_equal(buddy_free(&z, c), BUDDY_OK); /* everything merged */
	for (unsigned k = 0; k < 3; k++)
		assert_int_equal(map_test(r, k, 0), 0);
	assert_int_equal(fx_check(&z), 0);
	fx_cleanup();
	fx_arena_free(base);
}

/* A block whose buddy lies past the region's end counts the buddy as in use. */
static void test_page_pair_bits_past_end(void **state)
{
	struct buddy_zone z;
	(void)state;
	unsigned char *base = fx_arena(PS, 7, PS);
	fx_zone(&z, PS, BUDDY_MAX_ORDER_AUTO);
	fx_add(&z, base, 7); /* 0:2F 4:1F 6:0F */
	const struct buddy_region *r = first_region(&z);
	assert_int_equal(r->max_order, 2);
	assert_int_equal(map_test(r, 1, 4), 1); /* 4 free, 6 (order 1) past the end */
	assert_int_equal(map_test(r, 0, 6), 1); /* 6 free, 7 past the end */
	assert_int_equal(map_test(r, 0, 4), 0); /* 4 and 5 are inside a free order-1 block */
	assert_int_equal(map_test(r, 1, 0), 0);
	void *p = buddy_alloc_pages(&z, 0, 0); /* takes page 6 */
	assert_ptr_equal(p, base + 6 * PS);
	assert_int_equal(map_test(r, 0, 6), 0);
	assert_int_equal(fx_check(&z), 0);
	fx_cleanup();
	fx_arena_free(base);
}

static void test_page_strerror_texts(void **state)
{
	(void)state;
	for (int i = 0; i < BUDDY_NR_STATUS; i++) {
		const char *s = buddy_strerror(i);
		assert_non_null(s);
		assert_true(strlen(s) > 0);
		assert_string_not_equal(s, "unknown status");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(s, buddy_strerror(j));
	}
	assert_string_equal(buddy_strerror(BUDDY_OK), "success");
	assert_string_equal(buddy_strerror(BUDDY_EDOUBLE), "double free: the block is already free");
	assert_string_equal(buddy_strerror(-1), "unknown status");
	assert_string_equal(buddy_strerror(BUDDY_NR_STATUS), "unknown status");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_carve_order_largest_aligned),
		cmocka_unit_test(test_page_exact_order_rounds_up),
		cmocka_unit_test(test_page_buddy_index_decides_merge),
		cmocka_unit_test(test_page_pair_bits_toggle),
		cmocka_unit_test(test_page_pair_bits_past_end),
		cmocka_unit_test(test_page_strerror_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
