/* SPDX-License-Identifier: MIT */
/*
 * test_page_layout.c - exact-layout tests: after a known sequence of
 * operations, the full list of blocks (page, order, state, first) from
 * buddy_walk and the exact buddyinfo line must be what the buddy algorithm
 * dictates. Also the features whose effect is only visible in the layout:
 * exact allocations, the max_order cap, several regions, run-time regions,
 * zero fill, carved metadata, resize, the split/merge log, the
 * fragmentation indices, region info and statistics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "page_fixture.h"

#define PS 4096u

struct env {
	struct buddy_zone z;
	unsigned char *base;
};

static struct env *env_new(size_t npages, unsigned max_order)
{
	static struct env e;
	e.base = fx_arena(PS, npages, PS);
	fx_zone(&e.z, PS, max_order);
	return &e;
}

static void env_done(struct env *e)
{
	assert_int_equal(fx_check(&e->z), 0);
	fx_cleanup();
	fx_arena_free(e->base);
}

static void expect_carving(size_t npages, const char *layout, const char *info)
{
	struct env *e = env_new(npages, BUDDY_MAX_ORDER_AUTO);
	fx_add(&e->z, e->base, npages);
	assert_string_equal(fx_layout(&e->z), layout);
	assert_string_equal(fx_info(&e->z), info);
	env_done(e);
}

static void test_page_layout_carving(void **state)
{
	(void)state;
	expect_carving(1, "[r0] 0:0F", "Node 0, zone   Normal      1 \n");
	expect_carving(5, "[r0] 0:2F 4:0F", "Node 0, zone   Normal      1      0      1 \n");
	expect_carving(6, "[r0] 0:2F 4:1F", "Node 0, zone   Normal      0      1      1 \n");
	expect_carving(7, "[r0] 0:2F 4:1F 6:0F", "Node 0, zone   Normal      1      1      1 \n");
	expect_carving(8, "[r0] 0:3F", "Node 0, zone   Normal      0      0      0      1 \n");
	expect_carving(13, "[r0] 0:3F 8:2F 12:0F",
		       "Node 0, zone   Normal      1      0      1      1 \n");
	expect_carving(100, "[r0] 0:6F 64:5F 96:2F",
		       "Node 0, zone   Normal      0      0      1      0      0      1      1 \n");
	/* 1000 = 512+256+128+64+32+8: order-0 pairs need several bitmap words. */
	expect_carving(1000, "[r0] 0:9F 512:8F 768:7F 896:6F 960:5F 992:3F",
		       "Node 0, zone   Normal      0      0      0      1      0      1      1"
		       "      1      1      1 \n");
}

static void test_page_layout_large_region_round_trip(void **state)
{
	(void)state;
	struct env *e = env_new(1000, BUDDY_MAX_ORDER_AUTO);
	static void *pg[1000];
	fx_add(&e->z, e->base, 1000);
	for (int i = 0; i < 1000; i++)
		assert_non_null(pg[i] = buddy_alloc_pages(&e->z, 0, 0));
	assert_null(buddy_alloc_pages(&e->z, 0, 0));
	assert_int_equal(fx_check(&e->z), 0);
	/* Odd pages first (no merges), then even ones (every merge). */
	for (int i = 1; i < 1000; i += 2)
		assert_int_equal(buddy_free(&e->z, pg[i]), BUDDY_OK);
	assert_int_equal(fx_check(&e->z), 0);
	struct buddy_stats st;
	buddy_get_stats(&e->z, &st);
	assert_int_equal(st.nr_free[0], 500);
	for (int i = 0; i < 1000; i += 2)
		assert_int_equal(buddy_free(&e->z, pg[i]), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:9F 512:8F 768:7F 896:6F 960:5F 992:3F");
	env_done(e);
}

static void test_page_layout_max_order_zero(void **state)
{
	(void)state;
	struct env *e = env_new(5, 0);
	fx_add(&e->z, e->base, 5);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:0F 1:0F 2:0F 3:0F 4:0F");
	assert_string_equal(fx_info(&e->z), "Node 0, zone   Normal      5 \n");
	assert_null(buddy_alloc_pages_exact(&e->z, 2, 0));
	assert_int_equal(buddy_last_error(&e->z), BUDDY_ECOUNT);
	assert_null(buddy_alloc_pages(&e->z, 1, 0));
	assert_int_equal(buddy_last_error(&e->z), BUDDY_EMAXORDER);
	void *a = buddy_alloc_pages(&e->z, 0, 0);
	void *b = buddy_alloc_pages_exact(&e->z, 1, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(buddy_free(&e->z, a), BUDDY_OK);
	assert_int_equal(buddy_free(&e->z, b), BUDDY_OK);
	assert_string_equal(fx_info(&e->z), "Node 0, zone   Normal      5 \n");
	env_done(e);
}

static void test_page_layout_alloc_splits_lowest_first(void **state)
{
	(void)state;
	struct env *e = env_new(16, BUDDY_MAX_ORDER_AUTO);
	fx_add(&e->z, e->base, 16);
	void *a = buddy_alloc_pages(&e->z, 0, 0);
	assert_ptr_equal(a, e->base);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:0A 1:0F 2:1F 4:2F 8:3F");
	assert_string_equal(fx_info(&e->z), "Node 0, zone   Normal      1      1      1      1      0 \n");
	void *b = buddy_alloc_pages(&e->z, 2, 0); /* the free order-2 block, no split */
	assert_ptr_equal(b, e->base + 4 * PS);
	void *c = buddy_alloc_pages(&e->z, 2, 0); /* splits 8:3 */
	assert_ptr_equal(c, e->base + 8 * PS);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:0A 1:0F 2:1F 4:2A 8:2A 12:2F");
	assert_int_equal(buddy_free_pages(&e->z, b, 2), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:0A 1:0F 2:1F 4:2F 8:2A 12:2F");
	assert_int_equal(buddy_free_pages(&e->z, a, 0), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:3F 8:2A 12:2F");
	assert_int_equal(buddy_free(&e->z, c), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:4F");
	env_done(e);
}

static void test_page_layout_exact_trims_tail(void **state)
{
	(void)state;
	struct env *e = env_new(16, BUDDY_MAX_ORDER_AUTO);
	fx_add(&e->z, e->base, 16);
	/* 5 of 8: blocks 4 + 1, tail 1 + 2 back on the lists. */
	void *p = buddy_alloc_pages_exact(&e->z, 5, 0);
	assert_ptr_equal(p, e->base);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:2A 4:0c 5:0F 6:1F 8:3F");
	assert_string_equal(fx_info(&e->z), "Node 0, zone   Normal      1      1      0      1      0 \n");
	assert_int_equal(buddy_alloc_size(&e->z, p), 5);
	/* 7 from the order-3 block at 8: 4 + 2 + 1, one page back. */
	void *q = buddy_alloc_pages_exact(&e->z, 7, 0);
	assert_ptr_equal(q, e->base + 8 * PS);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:2A 4:0c 5:0F 6:1F 8:2A 12:1c 14:0c 15:0F");
	/* 3 pages need an order-2 block; only orders 0 and 1 are free now. */
	assert_null(buddy_alloc_pages_exact(&e->z, 3, 0));
	assert_int_equal(buddy_last_error(&e->z), BUDDY_ENOMEM);
	/* Freeing by address returns all N pages and merges fully. */
	assert_int_equal(buddy_free(&e->z, p), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:3F 8:2A 12:1c 14:0c 15:0F");
	assert_int_equal(buddy_free_pages_exact(&e->z, q, 7), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:4F");
	struct buddy_stats st;
	buddy_get_stats(&e->z, &st);
	assert_int_equal(st.free_pages, 16);
	assert_int_equal(st.allocs, 2);
	assert_int_equal(st.frees, 2);
	assert_int_equal(st.failures, 1);
	env_done(e);
}

static void test_page_layout_exact_wrong_size_rejected(void **state)
{
	(void)state;
	struct env *e = env_new(8, BUDDY_MAX_ORDER_AUTO);
	struct fx_snap s;
	fx_add(&e->z, e->base, 8);
	void *p = buddy_alloc_pages_exact(&e->z, 3, 0);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:1A 2:0c 3:0F 4:2F");
	fx_snap_take(&e->z, &s);
	assert_int_equal(buddy_free_pages_exact(&e->z, p, 2), BUDDY_EORDER);
	assert_int_equal(buddy_free_pages_exact(&e->z, p, 4), BUDDY_EORDER);
	/* free_pages cannot free a non-power-of-two exact allocation at any order. */
	assert_int_equal(buddy_free_pages(&e->z, p, 1), BUDDY_EORDER);
	assert_int_equal(buddy_free_pages(&e->z, p, 2), BUDDY_EORDER);
	assert_int_equal(buddy_last_error(&e->z), BUDDY_EORDER);
	fx_snap_expect(&e->z, &s);
	/* A power-of-two exact allocation is an ordinary block. */
	void *q = buddy_alloc_pages_exact(&e->z, 4, 0);
	assert_ptr_equal(q, e->base + 4 * PS);
	assert_int_equal(buddy_free_pages(&e->z, q, 2), BUDDY_OK);
	assert_int_equal(buddy_free_pages_exact(&e->z, p, 3), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:3F");
	env_done(e);
}

static void test_page_layout_max_order_cap(void **state)
{
	(void)state;
	struct env *e = env_new(64, 3);
	fx_add(&e->z, e->base, 64);
	assert_string_equal(fx_layout(&e->z),
			    "[r0] 0:3F 8:3F 16:3F 24:3F 32:3F 40:3F 48:3F 56:3F");
	assert_string_equal(fx_info(&e->z), "Node 0, zone   Normal      0      0      0      8 \n");
	assert_null(buddy_alloc_pages(&e->z, 4, 0));
	assert_int_equal(buddy_last_error(&e->z), BUDDY_EMAXORDER);
	assert_null(buddy_alloc_pages_exact(&e->z, 9, 0));
	assert_int_equal(buddy_last_error(&e->z), BUDDY_ECOUNT);
	/* Freed order-3 blocks do not merge past the cap. */
	void *a = buddy_alloc_pages(&e->z, 3, 0);
	void *b = buddy_alloc_pages(&e->z, 3, 0);
	assert_int_equal(buddy_free(&e->z, b), BUDDY_OK);
	assert_int_equal(buddy_free(&e->z, a), BUDDY_OK);
	assert_string_equal(fx_info(&e->z), "Node 0, zone   Normal      0      0      0      8 \n");
	struct buddy_stats st;
	buddy_get_stats(&e->z, &st);
	assert_int_equal(st.max_order, 3);
	env_done(e);
}

static void test_page_layout_regions_never_merge(void **state)
{
	(void)state;
	struct env *e = env_new(16, BUDDY_MAX_ORDER_AUTO);
	/* Two adjacent 8-page regions, the upper one added first. */
	fx_add(&e->z, e->base + 8 * PS, 8);
	fx_add(&e->z, e->base, 8);
	assert_string_equal(fx_layout(&e->z), "[r1] 0:3F [r0] 0:3F");
	assert_string_equal(fx_info(&e->z), "Node 0, zone   Normal      0      0      0      2 \n");
	assert_null(buddy_alloc_pages(&e->z, 4, 0));
	assert_int_equal(buddy_last_error(&e->z), BUDDY_ENOMEM);
	void *a = buddy_alloc_pages(&e->z, 3, 0);
	void *b = buddy_alloc_pages(&e->z, 3, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(buddy_free(&e->z, a), BUDDY_OK);
	assert_int_equal(buddy_free(&e->z, b), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r1] 0:3F [r0] 0:3F");
	/* Order-0 pages at the boundary: 7 of the lower and 0 of the upper. */
	void *pg[16];
	for (int i = 0; i < 16; i++)
		assert_non_null(pg[i] = buddy_alloc_pages(&e->z, 0, 0));
	for (int i = 0; i < 16; i++)
		assert_int_equal(buddy_free(&e->z, pg[i]), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r1] 0:3F [r0] 0:3F");
	env_done(e);
}

static void test_page_layout_add_region_at_run_time(void **state)
{
	(void)state;
	struct env *e = env_new(4, BUDDY_MAX_ORDER_AUTO);
	unsigned char *more = fx_arena(PS, 8, PS);
	fx_add(&e->z, e->base, 4);
	assert_ptr_equal(buddy_alloc_pages(&e->z, 2, 0), e->base);
	assert_null(buddy_alloc_pages(&e->z, 1, 0));
	assert_int_equal(buddy_last_error(&e->z), BUDDY_ENOMEM);
	fx_add(&e->z, more, 8);
	void *p = buddy_alloc_pages(&e->z, 1, 0);
	assert_ptr_equal(p, more);
	struct buddy_stats st;
	buddy_get_stats(&e->z, &st);
	assert_int_equal(st.nr_regions, 2);
	assert_int_equal(st.total_pages, 12);
	assert_int_equal(st.free_pages, 6);
	assert_int_equal(st.max_order, 3);
	assert_int_equal(buddy_alloc_size(&e->z, p), 2);
	assert_int_equal(buddy_free(&e->z, p), BUDDY_OK);
	assert_int_equal(fx_check(&e->z), 0);
	/* The zone is done with `more` only after it is removed. */
	assert_int_equal(buddy_remove_region(&e->z, more), BUDDY_OK);
	env_done(e);
	fx_arena_free(more);
}

static void test_page_layout_remove_region(void **state)
{
	(void)state;
	struct env *e = env_new(24, BUDDY_MAX_ORDER_AUTO);
	fx_add(&e->z, e->base, 8);
	fx_add(&e->z, e->base + 8 * PS, 16);
	void *p = buddy_alloc_pages(&e->z, 0, 0);
	assert_ptr_equal(p, e->base);
	assert_int_equal(buddy_remove_region(&e->z, e->base), BUDDY_EBUSY);
	assert_int_equal(buddy_free(&e->z, p), BUDDY_OK);
	assert_int_equal(buddy_remove_region(&e->z, e->base + 8 * PS), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:3F");
	assert_string_equal(fx_info(&e->z), "Node 0, zone   Normal      0      0      0      1 \n");
	struct buddy_stats st;
	buddy_get_stats(&e->z, &st);
	assert_int_equal(st.nr_regions, 1);
	assert_int_equal(st.total_pages, 8);
	assert_int_equal(st.free_pages, 8);
	assert_int_equal(st.max_order, 3);
	/* Nothing comes from the removed region any more. */
	assert_null(buddy_alloc_pages(&e->z, 4, 0));
	for (int i = 0; i < 8; i++) {
		unsigned char *q = buddy_alloc_pages(&e->z, 0, 0);
		assert_true(q >= e->base && q < e->base + 8 * PS);
	}
	assert_null(buddy_alloc_pages(&e->z, 0, 0));
	/* The memory can be added again; it gets the next id. */
	fx_add(&e->z, e->base + 8 * PS, 16);
	assert_string_equal(fx_layout(&e->z),
			    "[r0] 0:0A 1:0A 2:0A 3:0A 4:0A 5:0A 6:0A 7:0A [r2] 0:4F");
	/* Removing the last region leaves an empty zone. */
	assert_int_equal(buddy_remove_region(&e->z, e->base + 8 * PS), BUDDY_OK);
	for (int i = 0; i < 8; i++)
		assert_int_equal(buddy_free(&e->z, e->base + (size_t)i * PS), BUDDY_OK);
	assert_int_equal(buddy_remove_region(&e->z, e->base), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "");
	buddy_get_stats(&e->z, &st);
	assert_int_equal(st.nr_regions, 0);
	assert_int_equal(st.total_pages, 0);
	assert_int_equal(st.meta_bytes, 0);
	assert_null(buddy_alloc_pages(&e->z, 0, 0));
	env_done(e);
}

/*
 * A byte of a free block, read past an allocation on purpose: uninstrumented,
 * since memory checkers (rightly) see free blocks as out of bounds.
 */
__attribute__((no_sanitize_address)) static unsigned byte_outside(const unsigned char *p)
{
	return *(const volatile unsigned char *)p;
}

static void test_page_layout_zero_fill(void **state)
{
	(void)state;
	struct env *e = env_new(8, BUDDY_MAX_ORDER_AUTO);
	fx_add(&e->z, e->base, 8);
	unsigned char *p = buddy_alloc_pages(&e->z, 3, 0);
	memset(p, 0xa5, 8 * PS);
	assert_int_equal(buddy_free(&e->z, p), BUDDY_OK);
	/* Without the flag the old bytes (past the list links) stay. */
	p = buddy_alloc_pages(&e->z, 2, 0);
	assert_int_equal(p[100], 0xa5);
	assert_int_equal(buddy_free(&e->z, p), BUDDY_OK);
	p = buddy_alloc_pages(&e->z, 2, BUDDY_ZERO);
	for (size_t i = 0; i < 4 * PS; i++)
		if (p[i])
			fail_msg("byte %zu is %u, not zero", i, p[i]);
	assert_int_equal(byte_outside(p + 4 * PS + 100), 0xa5); /* only the block is zeroed */
	assert_int_equal(buddy_free(&e->z, p), BUDDY_OK);
	/* Exact allocations zero exactly their pages. */
	p = buddy_alloc_pages_exact(&e->z, 5, 0);
	memset(p, 0xa5, 5 * PS);
	assert_int_equal(buddy_free(&e->z, p), BUDDY_OK);
	p = buddy_alloc_pages_exact(&e->z, 5, BUDDY_ZERO);
	for (size_t i = 0; i < 5 * PS; i++)
		if (p[i])
			fail_msg("exact: byte %zu is %u, not zero", i, p[i]);
	assert_int_equal(buddy_free(&e->z, p), BUDDY_OK);
	env_done(e);
}

static void test_page_layout_carved_metadata(void **state)
{
	(void)state;
	struct env *e = env_new(64, BUDDY_MAX_ORDER_AUTO);
	size_t need = buddy_meta_size(&e->z, 64 * PS);
	assert_true(need > 64 && need <= PS); /* one byte per page + maps + header */
	memset(e->base + 62 * PS, 0x5c, PS);
	assert_int_equal(buddy_add_region(&e->z, e->base, 64 * PS, NULL, 0), BUDDY_OK);
	/* One page of metadata at the end behind one guard page: 62 pages = 32+16+8+4+2. */
	assert_string_equal(fx_layout(&e->z), "[r0] 0:5F 32:4F 48:3F 56:2F 60:1F");
	struct buddy_region_info ri;
	assert_int_equal(buddy_region_info(&e->z, 0, &ri), BUDDY_OK);
	assert_ptr_equal(ri.base, e->base);
	assert_int_equal(ri.nr_pages, 62);
	assert_int_equal(ri.free_pages, 62);
	assert_ptr_equal(ri.meta, e->base + 62 * PS); /* the guard, then the metadata */
	assert_int_equal(ri.meta_bytes, 2 * PS);
	assert_int_equal(ri.max_order, 5);
	struct buddy_stats st;
	buddy_get_stats(&e->z, &st);
	assert_int_equal(st.total_pages, 62);
	assert_int_equal(st.meta_bytes, 2 * PS);
	/* All 62 pages can be handed out; none overlaps the guard or the metadata. */
	for (int i = 0; i < 62; i++) {
		unsigned char *p = buddy_alloc_pages(&e->z, 0, 0);
		assert_non_null(p);
		assert_true(p < e->base + 62 * PS);
		memset(p, 0xee, PS);
	}
	assert_null(buddy_alloc_pages(&e->z, 0, 0));
	/* The guard page is never written: it still holds what the arena held. */
	for (size_t i = 0; i < PS; i++)
		if (e->base[62 * PS + i] != 0x5c)
			fail_msg("guard byte %zu written", i);
	assert_int_equal(fx_check(&e->z), 0);
	assert_int_equal(buddy_remove_region(&e->z, e->base), BUDDY_EBUSY);
	env_done(e);
}

static void test_page_layout_carved_metadata_small_pages(void **state)
{
	(void)state;
	struct buddy_zone z;
	unsigned char *base = fx_arena(16, 64, 16);
	fx_zone(&z, 16, BUDDY_MAX_ORDER_AUTO);
	size_t need = buddy_meta_size(&z, 64 * 16);
	size_t meta_pages = (need + 15) / 16, guard_pages = 64 / 16; /* a guard of 64 bytes */
	assert_true(meta_pages > 1 && meta_pages + guard_pages < 64);
	assert_int_equal(buddy_add_region(&z, base, 64 * 16, NULL, 0), BUDDY_OK);
	struct buddy_stats st;
	buddy_get_stats(&z, &st);
	assert_int_equal(st.total_pages, 64 - meta_pages - guard_pages);
	assert_int_equal(st.meta_bytes, (meta_pages + guard_pages) * 16);
	assert_int_equal(fx_check(&z), 0);
	fx_arena_free(base);
}

static void test_page_layout_meta_size(void **state)
{
	(void)state;
	struct buddy_zone z;
	fx_zone(&z, PS, BUDDY_MAX_ORDER_AUTO);
	assert_int_equal(buddy_meta_size(&z, 0), 0);
	assert_int_equal(buddy_meta_size(&z, PS - 1), 0);
	assert_int_equal(buddy_meta_size(NULL, 64 * PS), 0);
	/* 64 pages: maps for orders 0..5 (one 8-byte word each) + 64 page bytes;
	 * 128 pages: orders 0..6 + 128 bytes. The header is the same. */
	size_t m64 = buddy_meta_size(&z, 64 * PS), m128 = buddy_meta_size(&z, 128 * PS);
	assert_int_equal(m128 - m64, (7 * 8 + 128) - (6 * 8 + 64));
	/* 1 page: no maps (max order 0), one page byte. */
	assert_int_equal(m64 - buddy_meta_size(&z, PS), 6 * 8 + 64 - 1);
	/* 8192 pages: order 0 needs 4096 bits = 64 words, order k 64 >> k words (min 1). */
	size_t words = 0;
	for (unsigned k = 0; k < 13; k++)
		words += (4096u >> k) / 64 ? (4096u >> k) / 64 : 1;
	assert_int_equal(buddy_meta_size(&z, 8192 * (size_t)PS) - buddy_meta_size(&z, PS),
			 words * 8 + 8192 - 1);
	/* A capped zone needs no maps above the cap. */
	struct buddy_zone c;
	fx_zone(&c, PS, 2);
	assert_int_equal(buddy_meta_size(&c, 64 * PS) - buddy_meta_size(&c, PS), 2 * 8 + 64 - 1);
	/* Exactly the reported size is accepted; one byte less is not. */
	unsigned char *base = fx_arena(PS, 64, PS);
	static _Alignas(8) unsigned char meta[2 * PS];
	assert_true(m64 <= sizeof(meta));
	assert_int_equal(buddy_add_region(&z, base, 64 * PS, meta, m64 - 1), BUDDY_EMETA);
	assert_int_equal(buddy_add_region(&z, base, 64 * PS, meta, m64), BUDDY_OK);
	assert_int_equal(fx_check(&z), 0);
	fx_arena_free(base);
}

static void test_page_layout_resize(void **state)
{
	(void)state;
	struct env *e = env_new(16, BUDDY_MAX_ORDER_AUTO);
	struct fx_snap s;
	fx_add(&e->z, e->base, 16);
	void *p = buddy_alloc_pages(&e->z, 3, 0);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:3A 8:3F");
	assert_int_equal(buddy_resize(&e->z, p, 1), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:1A 2:1F 4:2F 8:3F");
	assert_int_equal(buddy_alloc_size(&e->z, p), 2);
	assert_int_equal(buddy_resize(&e->z, p, 3), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:3A 8:3F");
	assert_int_equal(buddy_resize(&e->z, p, 4), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:4A");
	assert_int_equal(buddy_resize(&e->z, p, 4), BUDDY_OK); /* same order: no change */
	assert_string_equal(fx_layout(&e->z), "[r0] 0:4A");
	assert_int_equal(buddy_resize(&e->z, p, 0), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:0A 1:0F 2:1F 4:2F 8:3F");
	struct buddy_stats st;
	buddy_get_stats(&e->z, &st);
	assert_int_equal(st.peak_used_pages, 16);
	assert_int_equal(st.used_pages, 1);
	assert_int_equal(st.allocs, 1); /* resizes are not allocations */

	/* Grow is blocked when the buddy is in use: ENOMEM, nothing changes. */
	void *q = buddy_alloc_pages(&e->z, 0, 0);
	assert_ptr_equal(q, e->base + PS);
	fx_snap_take(&e->z, &s);
	assert_int_equal(buddy_resize(&e->z, p, 1), BUDDY_ENOMEM);
	assert_int_equal(buddy_resize(&e->z, p, 4), BUDDY_ENOMEM);
	/* q at page 1 cannot grow: its order-1 block would start at page 0. */
	assert_int_equal(buddy_resize(&e->z, q, 1), BUDDY_ENOMEM);
	assert_int_equal(buddy_last_error(&e->z), BUDDY_ENOMEM);
	fx_snap_expect(&e->z, &s);
	/* Once q is freed, pages 1..3 are free buddies again and p grows to order 2. */
	assert_int_equal(buddy_free(&e->z, q), BUDDY_OK);
	assert_int_equal(buddy_resize(&e->z, p, 2), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:2A 4:2F 8:3F");
	assert_int_equal(buddy_free_pages(&e->z, p, 2), BUDDY_OK);
	assert_string_equal(fx_layout(&e->z), "[r0] 0:4F");
	env_done(e);
}

static void test_page_layout_resize_grow_stops_at_region(void **state)
{
	(void)state;
	struct env *e = env_new(12, BUDDY_MAX_ORDER_AUTO);
	struct fx_snap s;
	fx_add(&e->z, e->base, 12); /* 0:3F 8:2F */
	void *p = buddy_alloc_pages(&e->z, 2, 0);
	assert_ptr_equal(p, e->base + 8 * PS);
	fx_snap_take(&e->z, &s);
	/* Its order-3 buddy range would run past the region's end. */
	assert_int_equal(buddy_resize(&e->z, p, 3), BUDDY_ENOMEM);
	/* The region's largest order is 3; order 5 is legal for the zone but impossible here. */
	assert_int_equal(buddy_resize(&e->z, p, 5), BUDDY_ENOMEM);
	fx_snap_expect(&e->z, &s);
	env_done(e);
}

struct log_rec {
	char text[1024];
	size_t len;
	const unsigned char *base;
};

static void log_event(void *arg, const struct buddy_event *ev)
{
	struct log_rec *lr = arg;
	size_t page = (size_t)((const unsigned char *)ev->addr - lr->base) / PS;
	int n = snprintf(lr->text + lr->len, sizeof(lr->text) - lr->len, "%s%s%u@%zu/r%u",
			 lr->len ? " " : "", ev->kind == BUDDY_EV_SPLIT ? "S" : "M", ev->order,
			 ev->page, ev->region);
	lr->len += (size_t)n;
	assert_int_equal(page, ev->page); /* addr and page agree */
}

static void test_page_layout_log_events(void **state)
{
	(void)state;
	struct log_rec lr = { .len = 0 };
	struct buddy_config cfg;
	struct buddy_zone z;
	unsigned char *base = fx_arena(PS, 8, PS);
	lr.base = base;
	buddy_config_default(&cfg);
	cfg.log = log_event;
	cfg.log_arg = &lr;
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_OK);
	fx_add(&z, base, 8);
	assert_string_equal(lr.text, ""); /* carving frees whole blocks: no merges */

	void *a = buddy_alloc_pages(&z, 0, 0);
	assert_string_equal(lr.text, "S3@0/r0 S2@0/r0 S1@0/r0");
	lr.len = 0;
	lr.text[0] = '\0';
	assert_int_equal(buddy_free(&z, a), BUDDY_OK);
	assert_string_equal(lr.text, "M1@0/r0 M2@0/r0 M3@0/r0");

	lr.len = 0;
	lr.text[0] = '\0';
	void *x = buddy_alloc_pages_exact(&z, 5, 0);
	assert_string_equal(lr.text, "S3@0/r0 S2@4/r0 S1@4/r0");
	assert_string_equal(fx_layout(&z), "[r0] 0:2A 4:0c 5:0F 6:1F");
	lr.len = 0;
	lr.text[0] = '\0';
	assert_int_equal(buddy_free(&z, x), BUDDY_OK);
	assert_string_equal(lr.text, "M1@4/r0 M2@4/r0 M3@0/r0");

	lr.len = 0;
	lr.text[0] = '\0';
	void *r = buddy_alloc_pages(&z, 3, 0);
	assert_string_equal(lr.text, "");
	assert_int_equal(buddy_resize(&z, r, 1), BUDDY_OK);
	assert_string_equal(lr.text, "S3@0/r0 S2@0/r0");
	lr.len = 0;
	lr.text[0] = '\0';
	assert_int_equal(buddy_resize(&z, r, 3), BUDDY_OK);
	assert_string_equal(lr.text, "M2@0/r0 M3@0/r0");
	/* Failed calls log nothing. */
	lr.len = 0;
	lr.text[0] = '\0';
	assert_null(buddy_alloc_pages(&z, 0, 0));
	assert_int_equal(buddy_free(&z, base + PS), BUDDY_ENOTBLOCK);
	assert_string_equal(lr.text, "");
	assert_int_equal(buddy_free(&z, r), BUDDY_OK);
	assert_int_equal(fx_check(&z), 0);
	fx_cleanup();
	fx_arena_free(base);
}

static void test_page_layout_buddyinfo_text(void **state)
{
	(void)state;
	struct env *e = env_new(5, BUDDY_MAX_ORDER_AUTO);
	char buf[64];
	const char *want = "Node 0, zone   Normal      1      0      1 \n";
	size_t n = strlen(want);
	assert_int_equal(n, 44);
	/* Empty zone (no region yet): orders 0..0. */
	assert_int_equal(buddy_buddyinfo(&e->z, buf, sizeof(buf)), 30);
	assert_string_equal(buf, "Node 0, zone   Normal      0 \n");
	fx_add(&e->z, e->base, 5);
	assert_int_equal(buddy_buddyinfo(&e->z, buf, sizeof(buf)), n);
	assert_string_equal(buf, want);
	assert_int_equal(buddy_buddyinfo(&e->z, NULL, 0), n);
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(buddy_buddyinfo(&e->z, buf, 10), n);
	assert_string_equal(buf, "Node 0, z");
	assert_int_equal(buf[10], 'Z');
	assert_int_equal(buddy_buddyinfo(&e->z, buf, n), n); /* the newline is cut */
	assert_int_equal(strlen(buf), n - 1);
	assert_memory_equal(buf, want, n - 1);
	assert_int_equal(buddy_buddyinfo(&e->z, buf, n + 1), n);
	assert_string_equal(buf, want);
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(buddy_buddyinfo(&e->z, buf, 1), n);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buddy_buddyinfo(&e->z, buf, 25), n); /* cut inside a number */
	assert_string_equal(buf, "Node 0, zone   Normal   ");
	env_done(e);

	/* Names: right-aligned in 8 columns, longer ones in full. */
	struct buddy_config cfg;
	struct buddy_zone z;
	buddy_config_default(&cfg);
	cfg.name = "DMA32";
	cfg.max_order = 2;
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_OK);
	buddy_buddyinfo(&z, buf, sizeof(buf));
	assert_string_equal(buf, "Node 0, zone    DMA32      0      0      0 \n");
	cfg.name = "VeryLongName123";
	cfg.max_order = 0;
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_OK);
	buddy_buddyinfo(&z, buf, sizeof(buf));
	assert_string_equal(buf, "Node 0, zone VeryLongName123      0 \n");
}

/* Indices computed by hand with mm/vmstat.c's formulas (see REFERENCE.md). */
static void test_page_layout_fragmentation_indices(void **state)
{
	(void)state;
	struct env *e = env_new(16, BUDDY_MAX_ORDER_AUTO);
	void *pg[16];
	fx_add(&e->z, e->base, 16);
	/* Whole: one free order-4 block, every order can be met. */
	for (unsigned j = 0; j <= 4; j++) {
		assert_int_equal(buddy_fragmentation_index(&e->z, j), -1000);
		assert_int_equal(buddy_unusable_index(&e->z, j), 0);
	}
	/* After one order-0 allocation: nr_free = 1 1 1 1 0, 15 pages, 4 blocks. */
	pg[0] = buddy_alloc_pages(&e->z, 0, 0);
	assert_string_equal(fx_info(&e->z), "Node 0, zone   Normal      1      1      1      1      0 \n");
	/* order 4: suitable 0 -> 1000 - (1000 + 15*1000/16) / 4 = 1000 - 1937/4 = 516 */
	assert_int_equal(buddy_fragmentation_index(&e->z, 4), 516);
	assert_int_equal(buddy_fragmentation_index(&e->z, 3), -1000);
	/* unusable: (free - suitable << j) * 1000 / free */
	assert_int_equal(buddy_unusable_index(&e->z, 0), 0);
	assert_int_equal(buddy_unusable_index(&e->z, 1), 66);  /* (15 - 7*2) * 1000 / 15 */
	assert_int_equal(buddy_unusable_index(&e->z, 2), 200); /* (15 - 3*4) * 1000 / 15 */
	assert_int_equal(buddy_unusable_index(&e->z, 3), 466); /* (15 - 1*8) * 1000 / 15 */
	assert_int_equal(buddy_unusable_index(&e->z, 4), 1000);
	/* Checkerboard: all 16 pages taken, every other one freed: nr_free[0] = 8. */
	for (int i = 1; i < 16; i++)
		pg[i] = buddy_alloc_pages(&e->z, 0, 0);
	assert_int_equal(buddy_fragmentation_index(&e->z, 0), 0); /* no free memory */
	assert_int_equal(buddy_unusable_index(&e->z, 0), 1000);
	for (int i = 0; i < 16; i++) {
		unsigned char *p = pg[i];
		if ((size_t)(p - e->base) / PS % 2 == 0)
			assert_int_equal(buddy_free(&e->z, p), BUDDY_OK);
	}
	assert_string_equal(fx_info(&e->z), "Node 0, zone   Normal      8      0      0      0      0 \n");
	assert_int_equal(buddy_fragmentation_index(&e->z, 0), -1000);
	assert_int_equal(buddy_fragmentation_index(&e->z, 1), 375); /* 1000 - 5000/8 */
	assert_int_equal(buddy_fragmentation_index(&e->z, 2), 625); /* 1000 - 3000/8 */
	assert_int_equal(buddy_fragmentation_index(&e->z, 3), 750); /* 1000 - 2000/8 */
	assert_int_equal(buddy_fragmentation_index(&e->z, 4), 813); /* 1000 - 1500/8 */
	assert_int_equal(buddy_unusable_index(&e->z, 0), 0);
	assert_int_equal(buddy_unusable_index(&e->z, 1), 1000);
	/* Orders past the limit are not an index at all. */
	assert_int_equal(buddy_fragmentation_index(&e->z, BUDDY_MAX_ORDER + 1), 0);
	assert_int_equal(buddy_unusable_index(&e->z, BUDDY_MAX_ORDER + 1), 0);
	assert_int_equal(buddy_fragmentation_index(NULL, 1), 0);
	assert_int_equal(buddy_unusable_index(NULL, 1), 0);
	env_done(e);
}

static void test_page_layout_region_info(void **state)
{
	(void)state;
	struct env *e = env_new(32, BUDDY_MAX_ORDER_AUTO);
	static _Alignas(8) unsigned char meta[PS];
	struct buddy_region_info ri;
	/* Upper region first (id 0), lower second (id 1): info follows addresses. */
	size_t need = buddy_meta_size(&e->z, 20 * PS);
	assert_int_equal(buddy_add_region(&e->z, e->base + 12 * PS, 20 * PS, meta, need), BUDDY_OK);
	fx_add(&e->z, e->base, 12);
	void *p = buddy_alloc_pages(&e->z, 4, 0);
	assert_ptr_equal(p, e->base + 12 * PS);
	assert_int_equal(buddy_region_info(&e->z, 0, &ri), BUDDY_OK);
	assert_ptr_equal(ri.base, e->base);
	assert_int_equal(ri.nr_pages, 12);
	assert_int_equal(ri.free_pages, 12);
	assert_int_equal(ri.id, 1);
	assert_int_equal(ri.max_order, 3);
	assert_int_equal(ri.meta_bytes, buddy_meta_size(&e->z, 12 * PS));
	assert_int_equal(buddy_region_info(&e->z, 1, &ri), BUDDY_OK);
	assert_ptr_equal(ri.base, e->base + 12 * PS);
	assert_int_equal(ri.nr_pages, 20);
	assert_int_equal(ri.free_pages, 4);
	assert_int_equal(ri.id, 0);
	assert_int_equal(ri.max_order, 4);
	assert_ptr_equal(ri.meta, meta);
	assert_int_equal(ri.meta_bytes, need);
	assert_int_equal(buddy_region_info(&e->z, 2, &ri), BUDDY_ECOUNT);
	assert_int_equal(buddy_region_info(&e->z, 0, NULL), BUDDY_ENULL);
	assert_int_equal(buddy_region_info(NULL, 0, &ri), BUDDY_ENULL);
	assert_int_equal(buddy_free(&e->z, p), BUDDY_OK);
	env_done(e);
}

static void test_page_layout_stats(void **state)
{
	(void)state;
	struct env *e = env_new(16, BUDDY_MAX_ORDER_AUTO);
	struct buddy_stats st;
	fx_add(&e->z, e->base, 16);
	buddy_get_stats(&e->z, &st);
	assert_int_equal(st.page_size, PS);
	assert_int_equal(st.max_order, 4);
	assert_int_equal(st.nr_regions, 1);
	assert_int_equal(st.total_pages, 16);
	assert_int_equal(st.free_pages, 16);
	assert_int_equal(st.used_pages, 0);
	assert_int_equal(st.peak_used_pages, 0);
	assert_int_equal(st.meta_bytes, buddy_meta_size(&e->z, 16 * PS));
	assert_int_equal(st.nr_free[4], 1);
	assert_int_equal(st.allocs + st.frees + st.failures, 0);

	void *a = buddy_alloc_pages(&e->z, 3, 0);
	void *b = buddy_alloc_pages_exact(&e->z, 3, 0);
	assert_int_equal(buddy_free(&e->z, a), BUDDY_OK);
	void *c = buddy_alloc_pages(&e->z, 1, 0);
	assert_null(buddy_alloc_pages(&e->z, 4, 0));          /* ENOMEM: counted */
	assert_null(buddy_alloc_pages_exact(&e->z, 16, 0));   /* ENOMEM: counted */
	assert_null(buddy_alloc_pages(&e->z, 9, 0));          /* ENOMEM (order fits the zone limit) */
	assert_null(buddy_alloc_pages(&e->z, 40, 0));         /* EMAXORDER: not counted */
	assert_null(buddy_alloc_pages_exact(&e->z, 0, 0));    /* ECOUNT: not counted */
	assert_int_equal(buddy_free(&e->z, a), BUDDY_EDOUBLE); /* failed frees are not frees */
	buddy_get_stats(&e->z, &st);
	assert_int_equal(st.allocs, 3);
	assert_int_equal(st.frees, 1);
	assert_int_equal(st.failures, 3);
	assert_int_equal(st.used_pages, 5);
	assert_int_equal(st.peak_used_pages, 11);
	assert_int_equal(st.free_pages, 11);
	/* b = 8:1A 10:0c + free 11:0; c split 12:2 into 12:1A + free 14:1. */
	assert_string_equal(fx_layout(&e->z), "[r0] 0:3F 8:1A 10:0c 11:0F 12:1A 14:1F");
	assert_int_equal(st.nr_free[0], 1);
	assert_int_equal(st.nr_free[1], 1);
	assert_int_equal(st.nr_free[2], 0);
	assert_int_equal(st.nr_free[3], 1);
	assert_int_equal(buddy_free(&e->z, b), BUDDY_OK);
	assert_int_equal(buddy_free(&e->z, c), BUDDY_OK);
	buddy_get_stats(&e->z, &st);
	assert_int_equal(st.frees, 3);
	assert_int_equal(st.used_pages, 0);
	assert_int_equal(st.peak_used_pages, 11); /* only grows */
	env_done(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_layout_carving),
		cmocka_unit_test(test_page_layout_large_region_round_trip),
		cmocka_unit_test(test_page_layout_max_order_zero),
		cmocka_unit_test(test_page_layout_alloc_splits_lowest_first),
		cmocka_unit_test(test_page_layout_exact_trims_tail),
		cmocka_unit_test(test_page_layout_exact_wrong_size_rejected),
		cmocka_unit_test(test_page_layout_max_order_cap),
		cmocka_unit_test(test_page_layout_regions_never_merge),
		cmocka_unit_test(test_page_layout_add_region_at_run_time),
		cmocka_unit_test(test_page_layout_remove_region),
		cmocka_unit_test(test_page_layout_zero_fill),
		cmocka_unit_test(test_page_layout_carved_metadata),
		cmocka_unit_test(test_page_layout_carved_metadata_small_pages),
		cmocka_unit_test(test_page_layout_meta_size),
		cmocka_unit_test(test_page_layout_resize),
		cmocka_unit_test(test_page_layout_resize_grow_stops_at_region),
		cmocka_unit_test(test_page_layout_log_events),
		cmocka_unit_test(test_page_layout_buddyinfo_text),
		cmocka_unit_test(test_page_layout_fragmentation_indices),
		cmocka_unit_test(test_page_layout_region_info),
		cmocka_unit_test(test_page_layout_stats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
