/* SPDX-License-Identifier: MIT */
/*
 * test_page_check.c - buddy_check must catch damage. Each test builds a
 * small zone, proves it checks clean, damages one piece of state (a pair
 * bit, a page byte, a list link, a counter), and asserts that the checker
 * reports at least one problem through the report callback with a message
 * naming it; then repairs the damage and proves the zone checks clean again.
 * Every message starts with the tag of the invariant it reports (P1..P9,
 * src/page/page_internal.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "page/page_internal.h"
#include "page_fixture.h"

#define PS 64u

/* 32 pages: a = 0:2A, x = exact 3 at 4 (4:1A 6:0c), free 7:0 8:3 16:4. */
struct scratch {
	struct buddy_zone z;
	unsigned char *base;
	struct buddy_region *r;
	void *a, *x;
};

static int scratch_setup(void **state)
{
	static struct scratch s;
	s.base = fx_arena(PS, 32, PS);
	fx_zone(&s.z, PS, BUDDY_MAX_ORDER_AUTO);
	fx_add(&s.z, s.base, 32);
	s.a = buddy_alloc_pages(&s.z, 2, 0);
	s.x = buddy_alloc_pages_exact(&s.z, 3, 0);
	s.r = s.z.regions;
	if (strcmp(fx_layout(&s.z), "[r0] 0:2A 4:1A 6:0c 7:0F 8:3F 16:4F") != 0)
		return -1;
	if (buddy_check(&s.z, NULL, NULL) != 0)
		return -1;
	*state = &s;
	return 0;
}

static int scratch_teardown(void **state)
{
	struct scratch *s = *state;
	fx_cleanup();
	fx_arena_free(s->base);
	return 0;
}

struct report_rec {
	size_t calls;
	int matched;        /* some message contained `want` */
	const char *want;
};

static void report_record(void *arg, const char *msg)
{
	struct report_rec *rr = arg;
	rr->calls++;
	assert_non_null(msg);
	assert_true(strlen(msg) > 0);
	if (msg[0] != 'P' || msg[1] < '1' || msg[1] > '9' || msg[2] != ':' || msg[3] != ' ')
		fail_msg("message without an invariant tag: %s", msg);
	if (strstr(msg, rr->want))
		rr->matched = 1;
	print_message("  reported: %s\n", msg);
}

/* The check finds >= 1 problem, reports each, one message mentions `want`. */
static void expect_damage(const struct buddy_zone *z, const char *want)
{
	struct report_rec rr = { 0, 0, want };
	size_t n = buddy_check(z, report_record, &rr);
	assert_true(n >= 1);
	assert_int_equal(rr.calls, n);
	if (!rr.matched)
		fail_msg("no report mentioned \"%s\"", want);
	assert_int_equal(buddy_check(z, NULL, NULL), n); /* same count without a callback */
}

static void test_page_check_pair_bit_flipped(void **state)
{
	struct scratch *s = *state;
	/* Pair 6/7 at order 0: 7 free, 6 in use -> 1. Clear it. */
	size_t bit = 7 >> 1;
	assert_int_equal(map_test(s->r, 0, 7), 1);
	s->r->map[0][bit / MAP_WORD_BITS] ^= (map_word)1 << (bit % MAP_WORD_BITS);
	expect_damage(&s->z, "pair bit");
	s->r->map[0][bit / MAP_WORD_BITS] ^= (map_word)1 << (bit % MAP_WORD_BITS);
	assert_int_equal(fx_check(&s->z), 0);
	/* Pair 0/4 at order 2: both in use -> 0. Set it. */
	assert_int_equal(map_test(s->r, 2, 0), 0);
	s->r->map[2][0] ^= 1;
	expect_damage(&s->z, "pair bit");
	s->r->map[2][0] ^= 1;
	assert_int_equal(fx_check(&s->z), 0);
}

static void test_page_check_padding_bit_set(void **state)
{
	struct scratch *s = *state;
	/* Order 0 of 32 pages uses bits 0..15 of its word; bit 40 is padding. */
	s->r->map[0][0] ^= (map_word)1 << 40;
	expect_damage(&s->z, "past the last pair");
	s->r->map[0][0] ^= (map_word)1 << 40;
	assert_int_equal(fx_check(&s->z), 0);
}

static void test_page_check_page_byte_changed(void **state)
{
	struct scratch *s = *state;
	uint8_t saved;
	/* A free block's order changed. */
	saved = s->r->pg[8];
	s->r->pg[8] = (uint8_t)(PG_FREE | 2);
	expect_damage(&s->z, "");
	s->r->pg[8] = saved;
	assert_int_equal(fx_check(&s->z), 0);
	/* A free block's first page marked as a tail. */
	s->r->pg[16] = PG_TAIL;
	expect_damage(&s->z, "expected the start of a block");
	s->r->pg[16] = (uint8_t)(PG_FREE | 4);
	/* A page inside an allocation marked as a block start. */
	s->r->pg[2] = (uint8_t)(PG_HEAD | 0);
	expect_damage(&s->z, "overlaps page 2");
	s->r->pg[2] = PG_TAIL;
	/* A misaligned block: order 2 at page 4 would be fine, order 3 is not. */
	saved = s->r->pg[4];
	s->r->pg[4] = (uint8_t)(PG_HEAD | PG_MORE | 3);
	expect_damage(&s->z, "misaligned");
	s->r->pg[4] = saved;
	/* An allocated block marked free. */
	s->r->pg[0] = (uint8_t)(PG_FREE | 2);
	expect_damage(&s->z, "");
	s->r->pg[0] = (uint8_t)(PG_HEAD | 2);
	assert_int_equal(fx_check(&s->z), 0);
}

static void test_page_check_exact_chain_broken(void **state)
{
	struct scratch *s = *state;
	uint8_t saved = s->r->pg[4];
	/* The head loses MORE: its continuation now follows nothing. */
	s->r->pg[4] = (uint8_t)(PG_HEAD | 1);
	expect_damage(&s->z, "broken exact-allocation chain");
	s->r->pg[4] = saved;
	/* The continuation becomes a head while the first still says MORE. */
	s->r->pg[6] = (uint8_t)(PG_HEAD | 0);
	expect_damage(&s->z, "broken exact-allocation chain");
	s->r->pg[6] = (uint8_t)(PG_CONT | 0);
	/* A free block marked as continued: with the cache off, a cached block cannot exist. */
	s->r->pg[7] = (uint8_t)(PG_FREE | PG_MORE | 0);
	expect_damage(&s->z, "above the cache's orders");
	s->r->pg[7] = (uint8_t)(PG_FREE | 0);
	assert_int_equal(fx_check(&s->z), 0);
}

static void test_page_check_list_link_broken(void **state)
{
	struct scratch *s = *state;
	int local;
	struct buddy_list *n = s->z.free_area[4].free_list.next; /* the block at 16 */
	assert_ptr_equal(n, s->base + 16 * PS);
	struct buddy_list saved = *n;

	n->next = (struct buddy_list *)&local; /* off into memory outside the zone */
	expect_damage(&s->z, "is not a block of this list");
	n->next = NULL;
	expect_damage(&s->z, "is not a block of this list");
	n->next = (struct buddy_list *)(s->base + 8 * PS); /* a free block, wrong order */
	expect_damage(&s->z, "is not a block of this list");
	*n = saved;
	assert_int_equal(fx_check(&s->z), 0);
	n->prev = n;
	expect_damage(&s->z, "prev does not point back");
	*n = saved;
	/* The head's prev is wrong. */
	struct buddy_list *h = &s->z.free_area[4].free_list;
	h->prev = h;
	expect_damage(&s->z, "list head's prev");
	h->prev = n;
	assert_int_equal(fx_check(&s->z), 0);
	/* A node unlinked without the counters knowing. */
	h->next = h;
	h->prev = h;
	expect_damage(&s->z, "its count is");
	h->next = n;
	h->prev = n;
	assert_int_equal(fx_check(&s->z), 0);
}

static void test_page_check_counters_changed(void **state)
{
	struct scratch *s = *state;
	struct buddy_zone *z = &s->z;

	z->free_area[3].nr_free++;
	expect_damage(z, "nr_free");
	z->free_area[3].nr_free--;
	z->free_area[0].nr_free = 0;
	expect_damage(z, "nr_free");
	z->free_area[0].nr_free = 1;
	assert_int_equal(fx_check(z), 0);

	z->free_pages++;
	expect_damage(z, "totals disagree");
	z->free_pages--;
	s->r->free_pages--;
	expect_damage(z, "free_pages is");
	s->r->free_pages++;
	z->total_pages += 4;
	expect_damage(z, "totals disagree");
	z->total_pages -= 4;
	z->nr_regions = 2;
	expect_damage(z, "nr_regions");
	z->nr_regions = 1;
	z->nonempty ^= 1u << 1;
	expect_damage(z, "non-empty mask");
	z->nonempty ^= 1u << 1;
	s->r->end += PS;
	expect_damage(z, "bounds disagree");
	s->r->end -= PS;
	assert_int_equal(fx_check(z), 0);
	size_t peak = z->peak_used_pages;
	z->peak_used_pages = 1;
	expect_damage(z, "P8: zone: peak_used_pages 1 below the pages in use");
	z->peak_used_pages = peak;
	z->max_order = 3;
	expect_damage(z, "P9: zone: max_order 3, expected 5");
	z->max_order = 5;
	assert_int_equal(fx_check(z), 0);
}

/* P5: two free buddies that did not merge (page 6, x's last page, marked free beside 7). */
static void test_page_check_buddies_both_free(void **state)
{
	struct scratch *s = *state;
	uint8_t saved = s->r->pg[6];
	s->r->pg[6] = (uint8_t)(PG_FREE | 0);
	expect_damage(&s->z, "P5: region 0 order 0: buddies at pages 6 and 7 are both free");
	s->r->pg[6] = saved;
	assert_int_equal(fx_check(&s->z), 0);
}

/*
 * A region whose base is damaged: the list check must report the nodes that
 * now fall past the region's page bytes, not read beyond those bytes.
 */
static void test_page_check_region_base_damaged(void **state)
{
	struct scratch *s = *state;
	uintptr_t saved = s->r->base;
	s->r->base -= 64 * PS;
	expect_damage(&s->z, "bounds disagree");
	/* The lists lead into the region: not followed through a damaged header. */
	expect_damage(&s->z, "free lists and page cache not checked");
	s->r->base = saved;
	assert_int_equal(fx_check(&s->z), 0);
	/* Both bounds moved together: the free lists then lead outside the region. */
	s->r->base -= 64 * PS;
	s->r->end -= 64 * PS;
	expect_damage(&s->z, "is not a block of this list");
	s->r->base = saved;
	s->r->end += 64 * PS;
	assert_int_equal(fx_check(&s->z), 0);
}

static void test_page_check_regions_out_of_order(void **state)
{
	struct scratch *s = *state;
	unsigned char *more = fx_arena(PS, 8, PS);
	fx_add(&s->z, more, 8);
	assert_int_equal(fx_check(&s->z), 0);
	/* Make the two regions claim overlapping ranges. */
	struct buddy_region *lo = s->z.regions, *hi = lo->next;
	uintptr_t saved = hi->base, delta = hi->base - lo->base;
	hi->base -= delta;
	hi->end -= delta;
	expect_damage(&s->z, "overlap or are out of order");
	hi->base = saved;
	hi->end += delta;
	assert_int_equal(fx_check(&s->z), 0);
	/* P1: the bisection index out of step with the list. */
	s->z.index[0] = hi;
	s->z.index[1] = lo;
	expect_damage(&s->z, "not at place 0 of the bisection index");
	s->z.index[0] = lo;
	s->z.index[1] = hi;
	assert_int_equal(fx_check(&s->z), 0);
	assert_int_equal(buddy_remove_region(&s->z, more), BUDDY_OK);
	fx_arena_free(more);
}

static int walk_count(void *arg, const struct buddy_block *b)
{
	(void)b;
	(*(int *)arg)++;
	return 0;
}

/*
 * Every pointer and count in a region's header is checked before the
 * checker, the walk or region_info reads what it points to: damage to any
 * of them is reported, never followed.
 */
static void test_page_check_region_header_damaged(void **state)
{
	struct scratch *s = *state;
	struct buddy_region *r = s->r;
	struct buddy_region saved = *r;
	struct buddy_region_info ri;
	static uint8_t far_away[64];

	size_t pg_off = (size_t)((uintptr_t)saved.pg - (uintptr_t)saved.meta);

	for (int c = 0; c < 15; c++) {
		switch (c) {
		case 9: r->nr_pages = 0; break;
		case 10: /* a page count whose byte length overflows */
			r->meta_bytes = SIZE_MAX / 2;
			r->nr_pages = SIZE_MAX / 4;
			break;
		case 11: r->base += 8; break;
		case 12: r->end = r->base - PS; break;
		case 13: r->meta_bytes = r->nr_pages; break; /* the bitmaps run past it */
		case 14: r->meta_bytes = pg_off + r->nr_pages - 1; break; /* a page byte short */
		case 0: r->pg = far_away; break;
		case 1: r->pg = (uint8_t *)(uintptr_t)0x10; break;
		case 2: r->map[0] = (map_word *)(uintptr_t)0xdead0000; break;
		case 3: r->nr_pages = SIZE_MAX / 2; break;
		case 4: r->end = r->base + 64 * PS; break;
		case 5: r->max_order = 200; break;
		case 6: r->meta = far_away; break;
		case 7: r->meta_bytes = 8; break;
		default: r->meta_bytes = SIZE_MAX; break;
		}
		expect_damage(&s->z, "its pages are not checked");
		int blocks = 0;
		assert_int_equal(buddy_walk(&s->z, walk_count, &blocks), 0);
		assert_int_equal(blocks, 0);
		assert_int_equal(buddy_region_info(&s->z, 0, &ri), BUDDY_ECORRUPT);
		*r = saved;
		assert_int_equal(fx_check(&s->z), 0);
	}
	/* A link that is not the next region: reported, never followed (the index is). */
	r->next = (struct buddy_region *)(uintptr_t)0xdead0008;
	expect_damage(&s->z, "its link is not the region at place 1");
	*r = saved;
	assert_int_equal(fx_check(&s->z), 0);
}

/*
 * Metadata carved from the region's tail sits behind a guard: writing up to
 * a page past the last block (the "1-16 bytes past the end", and
 * more) reaches the guard, never the metadata, and the zone stays whole.
 */
static void test_page_check_carved_metadata_overflow(void **state)
{
	(void)state;
	struct buddy_zone z;
	unsigned char *base = fx_arena(PS, 32, PS);
	void *p[32];
	size_t n = 0;
	fx_zone(&z, PS, BUDDY_MAX_ORDER_AUTO);
	assert_int_equal(buddy_add_region(&z, base, 32 * PS, NULL, 0), BUDDY_OK);
	while (n < 32 && (p[n] = buddy_alloc_pages(&z, 0, 0)) != NULL)
		n++;
	unsigned char *last = NULL;
	for (size_t i = 0; i < n; i++)
		if (!last || (unsigned char *)p[i] > last)
			last = p[i];
	assert_non_null(last);
	if (!last)
		return; /* not reached; tells the static analyser */
	for (size_t len = 1; len <= PS; len++) {
		memset(last + PS, 0xff, len); /* past the last page handed out */
		assert_int_equal(fx_check(&z), 0);
	}
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buddy_free_pages(&z, p[i], 0), BUDDY_OK);
	assert_int_equal(fx_check(&z), 0);
	assert_int_equal(buddy_remove_region(&z, base), BUDDY_OK);
	fx_arena_free(base);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, scratch_setup, scratch_teardown)
	const struct CMUnitTest tests[] = {
		T(test_page_check_pair_bit_flipped),
		T(test_page_check_padding_bit_set),
		T(test_page_check_page_byte_changed),
		T(test_page_check_exact_chain_broken),
		T(test_page_check_list_link_broken),
		T(test_page_check_counters_changed),
		T(test_page_check_buddies_both_free),
		T(test_page_check_region_base_damaged),
		T(test_page_check_regions_out_of_order),
		T(test_page_check_region_header_damaged),
		cmocka_unit_test(test_page_check_carved_metadata_overflow),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
