/* SPDX-License-Identifier: MIT */
/*
 * test_page_corruption.c - free-list links damaged the ways a stray write
 * or a use after free damages them, each of which the zone must catch
 * before following the link: a link to NULL, outside every region, off a
 * block boundary, onto an allocated block or a block of another order, a
 * neighbour that does not point back, links that form a cycle without the
 * list head (a block linked to itself, two linked to each other), a
 * pattern written over both links,
 * on the buddy free lists and on the page cache lists, and found by
 * allocation, by a free that merges, by a resize and by a drain.
 *
 * Each case checks the same outcome: the operation fails with
 * BUDDY_ECORRUPT and hands out no memory, the corruption callback is called
 * exactly once with a clear message, and the zone then refuses every change.
 *
 * The layout every case starts from (page size 64, 256 pages):
 *
 *     without the cache: page 0 a (allocated), 1 free o0, 2 c (allocated),
 *                        3 free o0, 4 free o2, 8 free o3, ... 128 free o7
 *                        order-0 list: head -> 1 -> 3 -> head
 *     with the cache:    page 0 a, 1 and 2 cached (cache: head -> 2 -> 1),
 *                        3 free o0, 4 free o2, ...
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buddy/page.h"

#define PS ((size_t)64)
#define NPAGES 256u

struct fixture {
	struct buddy_zone zone;
	unsigned char *arena; /* NPAGES pages, PS-aligned */
	unsigned char meta[8192];
	unsigned char *a;     /* page 0, allocated */
	unsigned char *c;     /* page 2: allocated, or cached with the cache on */
	unsigned reports;     /* corruption callback calls */
	char last_report[200];
};

/* Memory that is never part of a region. */
static unsigned char outside[64];

static void on_corrupt(void *arg, int kind, const char *op, const void *ptr, const char *msg)
{
	struct fixture *f = arg;
	assert_int_equal(kind, BUDDY_ERR_CORRUPT);
	assert_non_null(op);
	assert_non_null(ptr);
	assert_true(strncmp(msg, "buddy: ", 7) == 0);
	f->reports++;
	snprintf(f->last_report, sizeof(f->last_report), "%s", msg);
}

static struct buddy_list *page_links(const struct fixture *f, size_t page)
{
	return (struct buddy_list *)(f->arena + page * PS);
}

/*
 * Build the layout described above; with_cache caches order-0 frees, and
 * with_callback installs on_error.
 */
static struct fixture *fixture_make(int with_cache, int with_callback)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct buddy_config cfg;

	assert_non_null(f);
	f->arena = aligned_alloc(PS, PS * NPAGES);
	assert_non_null(f->arena);
	buddy_config_default(&cfg);
	cfg.page_size = PS;
	cfg.pcp_high = with_cache ? 8 : 0;
	cfg.pcp_max_order = 0;
	cfg.on_error = with_callback ? on_corrupt : NULL;
	cfg.error_arg = f;
	assert_int_equal(buddy_zone_init(&f->zone, &cfg), BUDDY_OK);
	assert_int_equal(buddy_add_region(&f->zone, f->arena, PS * NPAGES, f->meta,
					  sizeof(f->meta)),
			 BUDDY_OK);
	f->a = buddy_alloc_pages(&f->zone, 0, 0);
	unsigned char *b = buddy_alloc_pages(&f->zone, 0, 0);
	f->c = buddy_alloc_pages(&f->zone, 0, 0);
	assert_ptr_equal(f->a, f->arena);
	assert_ptr_equal(b, f->arena + PS);
	assert_ptr_equal(f->c, f->arena + 2 * PS);
	assert_int_equal(buddy_free(&f->zone, b), BUDDY_OK);
	if (with_cache)
		assert_int_equal(buddy_free(&f->zone, f->c), BUDDY_OK);
	assert_int_equal(buddy_check(&f->zone, NULL, NULL), 0);
	return f;
}

static struct fixture *fixture_new(int with_cache)
{
	return fixture_make(with_cache, 1);
}

static void fixture_free(struct fixture *f)
{
	free(f->arena);
	free(f);
}

/* The damage was reported once, clearly, and the zone now refuses changes. */
static void assert_stopped(struct fixture *f)
{
	assert_int_equal(buddy_last_error(&f->zone), BUDDY_ECORRUPT);
	assert_int_equal(f->reports, 1);
	assert_non_null(strstr(f->last_report, "corrupted free list"));
	assert_null(buddy_alloc_pages(&f->zone, 3, 0));
	assert_null(buddy_alloc_pages_exact(&f->zone, 3, 0));
	assert_int_equal(buddy_free(&f->zone, f->a), BUDDY_ECORRUPT);
	assert_int_equal(buddy_resize(&f->zone, f->a, 1), BUDDY_ECORRUPT);
	assert_int_equal(buddy_add_region(&f->zone, outside, sizeof(outside), NULL, 0),
			 BUDDY_ECORRUPT);
	assert_int_equal(buddy_remove_region(&f->zone, f->arena), BUDDY_ECORRUPT);
	assert_int_equal(buddy_last_error(&f->zone), BUDDY_ECORRUPT);
	assert_int_equal(f->reports, 1); /* reported once, not per refused call */
}

/* Damage the order-0 free block at page 1, then allocate: caught, no block. */
static void expect_alloc_caught(struct fixture *f)
{
	assert_null(buddy_alloc_pages(&f->zone, 0, 0));
	assert_stopped(f);
	fixture_free(f);
}

static void test_page_corruption_next_null(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	page_links(f, 1)->next = NULL;
	expect_alloc_caught(f);
}

static void test_page_corruption_next_outside_regions(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	page_links(f, 1)->next = (struct buddy_list *)outside;
	expect_alloc_caught(f);
}

static void test_page_corruption_next_off_block_boundary(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	page_links(f, 1)->next = (struct buddy_list *)(f->arena + 3 * PS + 8);
	expect_alloc_caught(f);
}

static void test_page_corruption_next_to_allocated_block(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	page_links(f, 1)->next = page_links(f, 2); /* c, allocated */
	expect_alloc_caught(f);
}

static void test_page_corruption_next_to_other_order(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	page_links(f, 1)->next = page_links(f, 4); /* free, but order 2 */
	expect_alloc_caught(f);
}

static void test_page_corruption_prev_outside_regions(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	page_links(f, 1)->prev = (struct buddy_list *)outside;
	expect_alloc_caught(f);
}

/* next leads to a genuine free block of the right order that does not point back. */
static void test_page_corruption_neighbour_not_pointing_back(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	page_links(f, 3)->prev = page_links(f, 3);
	expect_alloc_caught(f);
}

/* A use after free writes a byte pattern over both links. */
static void test_page_corruption_pattern_over_links(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	memset(page_links(f, 1), 0x41, sizeof(struct buddy_list));
	expect_alloc_caught(f);
}

/* expect_alloc_caught, for links that form a cycle: the report says so. */
static void expect_cycle_caught(struct fixture *f)
{
	assert_null(buddy_alloc_pages(&f->zone, 0, 0));
	assert_non_null(strstr(f->last_report, "cycle"));
	assert_stopped(f);
	fixture_free(f);
}

/*
 * A block whose links both point at itself (a use after free that sets up
 * an empty list head in the freed page) passes the check that neighbours
 * point back, as in glibc. Unlinked, it would stay on the list the head
 * still names, and the next free of a block of its order would write a link
 * into it after it was handed out. Both links naming one block that is not
 * the head is caught before the unlink.
 */
static void test_page_corruption_self_loop(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	struct buddy_list *v = page_links(f, 1);
	v->next = v;
	v->prev = v;
	expect_cycle_caught(f);
}

/* Two free blocks made to point at each other, both ways: the same test. */
static void test_page_corruption_two_block_cycle(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	struct buddy_list *p1 = page_links(f, 1), *p3 = page_links(f, 3);
	p1->next = p1->prev = p3;
	p3->next = p3->prev = p1;
	expect_cycle_caught(f);
}

/* Freeing a's page merges with its free buddy (page 1): the buddy's links are checked. */
static void test_page_corruption_found_by_merging_free(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	page_links(f, 1)->next = (struct buddy_list *)outside;
	assert_int_equal(buddy_free(&f->zone, f->a), BUDDY_ECORRUPT);
	assert_stopped(f);
	fixture_free(f);
}

/* Growing a over its free buddy (page 1) checks the buddy's links first. */
static void test_page_corruption_found_by_resize(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	page_links(f, 1)->prev = page_links(f, 2);
	assert_int_equal(buddy_resize(&f->zone, f->a, 1), BUDDY_ECORRUPT);
	assert_stopped(f);
	fixture_free(f);
}

static void test_page_corruption_cached_next_outside(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1);
	page_links(f, 2)->next = (struct buddy_list *)outside; /* newest cached block */
	expect_alloc_caught(f);
}

static void test_page_corruption_cached_prev_not_head(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1);
	page_links(f, 2)->prev = page_links(f, 1);
	expect_alloc_caught(f);
}

static void test_page_corruption_cached_neighbour_not_pointing_back(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1);
	page_links(f, 1)->prev = page_links(f, 1);
	expect_alloc_caught(f);
}

/* Draining gives the oldest cached block (page 1) back: its links are checked. */
static void test_page_corruption_found_by_drain(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1);
	page_links(f, 1)->next = (struct buddy_list *)(f->arena + 5 * PS);
	buddy_drain_cache(&f->zone);
	assert_stopped(f);
	fixture_free(f);
}

/* Without a callback the zone still stops; nothing is printed or aborted. */
static void test_page_corruption_without_callback(void **state)
{
	(void)state;
	struct fixture *f = fixture_make(0, 0);
	page_links(f, 1)->next = NULL;
	assert_null(buddy_alloc_pages(&f->zone, 0, 0));
	assert_int_equal(buddy_last_error(&f->zone), BUDDY_ECORRUPT);
	assert_null(buddy_alloc_pages(&f->zone, 1, 0));
	assert_int_equal(f->reports, 0);
	fixture_free(f);
}

/* Sound links are never reported: the same operations succeed undamaged. */
static void test_page_corruption_none_without_damage(void **state)
{
	(void)state;
	for (int cache = 0; cache <= 1; cache++) {
		struct fixture *f = fixture_new(cache);
		assert_non_null(buddy_alloc_pages(&f->zone, 0, 0));
		assert_int_equal(buddy_resize(&f->zone, f->a, 0), BUDDY_OK);
		buddy_drain_cache(&f->zone);
		assert_int_equal(buddy_free(&f->zone, f->a), BUDDY_OK);
		assert_int_equal(f->reports, 0);
		assert_int_equal(buddy_check(&f->zone, NULL, NULL), 0);
		fixture_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_corruption_next_null),
		cmocka_unit_test(test_page_corruption_next_outside_regions),
		cmocka_unit_test(test_page_corruption_next_off_block_boundary),
		cmocka_unit_test(test_page_corruption_next_to_allocated_block),
		cmocka_unit_test(test_page_corruption_next_to_other_order),
		cmocka_unit_test(test_page_corruption_prev_outside_regions),
		cmocka_unit_test(test_page_corruption_neighbour_not_pointing_back),
		cmocka_unit_test(test_page_corruption_pattern_over_links),
		cmocka_unit_test(test_page_corruption_self_loop),
		cmocka_unit_test(test_page_corruption_two_block_cycle),
		cmocka_unit_test(test_page_corruption_found_by_merging_free),
		cmocka_unit_test(test_page_corruption_found_by_resize),
		cmocka_unit_test(test_page_corruption_cached_next_outside),
		cmocka_unit_test(test_page_corruption_cached_prev_not_head),
		cmocka_unit_test(test_page_corruption_cached_neighbour_not_pointing_back),
		cmocka_unit_test(test_page_corruption_found_by_drain),
		cmocka_unit_test(test_page_corruption_without_callback),
		cmocka_unit_test(test_page_corruption_none_without_damage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
