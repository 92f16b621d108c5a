/* SPDX-License-Identifier: MIT */
/*
 * test_page_cache.c - the page cache (deferred merging of small orders)
 * and the zone's reaction to damaged free-list links.
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

#define PS 64u
#define NPAGES 256u

struct fixture {
	struct buddy_zone zone;
	unsigned char *arena;
	unsigned char meta[8192];
	unsigned reports;
	char last_report[200];
};

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

static struct fixture *fixture_new(unsigned pcp_high, unsigned pcp_max_order)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct buddy_config cfg;

	assert_non_null(f);
	f->arena = aligned_alloc(PS, (size_t)PS * NPAGES);
	assert_non_null(f->arena);
	buddy_config_default(&cfg);
	cfg.page_size = PS;
	cfg.pcp_high = pcp_high;
	cfg.pcp_max_order = pcp_max_order;
	cfg.on_error = on_corrupt;
	cfg.error_arg = f;
	assert_int_equal(buddy_zone_init(&f->zone, &cfg), BUDDY_OK);
	assert_int_equal(buddy_add_region(&f->zone, f->arena, (size_t)PS * NPAGES, f->meta,
					  sizeof(f->meta)),
			 BUDDY_OK);
	return f;
}

static void fixture_free(struct fixture *f)
{
	free(f->arena);
	free(f);
}

static void assert_sound(const struct buddy_zone *z)
{
	assert_int_equal(buddy_check(z, NULL, NULL), 0);
}

static void test_page_cache_defers_merge(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(4, 1);
	struct buddy_stats st;

	void *a = buddy_alloc_pages(&f->zone, 0, 0);
	assert_non_null(a);
	assert_int_equal(buddy_free(&f->zone, a), BUDDY_OK);
	buddy_get_stats(&f->zone, &st);
	assert_int_equal(st.cached_pages, 1);
	assert_int_equal(st.free_pages, NPAGES - 1);
	assert_int_equal(st.used_pages, 0);
	assert_sound(&f->zone);

	/* The next order-0 allocation is the cached page itself. */
	void *b = buddy_alloc_pages(&f->zone, 0, 0);
	assert_ptr_equal(a, b);
	buddy_get_stats(&f->zone, &st);
	assert_int_equal(st.cached_pages, 0);
	assert_int_equal(buddy_free(&f->zone, b), BUDDY_OK);
	assert_int_equal(buddy_free(&f->zone, b), BUDDY_EDOUBLE); /* cached: still a double free */
	assert_sound(&f->zone);

	buddy_drain_cache(&f->zone);
	buddy_get_stats(&f->zone, &st);
	assert_int_equal(st.cached_pages, 0);
	assert_int_equal(st.free_pages, NPAGES);
	assert_int_equal(st.nr_free[8], 1); /* fully merged again */
	assert_sound(&f->zone);
	fixture_free(f);
}

static void test_page_cache_trims_long_lists(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(4, 0);
	void *p[8];
	struct buddy_stats st;

	for (int i = 0; i < 8; i++)
		assert_non_null(p[i] = buddy_alloc_pages(&f->zone, 0, 0));
	for (int i = 0; i < 5; i++)
		assert_int_equal(buddy_free(&f->zone, p[i]), BUDDY_OK);
	/* The fifth free went over pcp_high = 4 and gave back the oldest two. */
	buddy_get_stats(&f->zone, &st);
	assert_int_equal(st.cached_pages, 3);
	assert_sound(&f->zone);
	for (int i = 5; i < 8; i++)
		assert_int_equal(buddy_free(&f->zone, p[i]), BUDDY_OK);
	assert_sound(&f->zone);
	fixture_free(f);
}

/* Orders above the cache's merge at once; only orders <= pcp_max_order are cached. */
static void test_page_cache_only_small_orders(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(8, 1);
	struct buddy_stats st;

	void *a = buddy_alloc_pages(&f->zone, 2, 0);
	assert_int_equal(buddy_free(&f->zone, a), BUDDY_OK);
	buddy_get_stats(&f->zone, &st);
	assert_int_equal(st.cached_pages, 0);
	void *b = buddy_alloc_pages(&f->zone, 1, 0);
	assert_int_equal(buddy_free(&f->zone, b), BUDDY_OK);
	buddy_get_stats(&f->zone, &st);
	assert_int_equal(st.cached_pages, 2);
	assert_sound(&f->zone);
	fixture_free(f);
}

/* No allocation fails while cached pages could serve it. */
static void test_page_cache_drained_before_failing(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1000, 0);
	void *p[NPAGES];
	struct buddy_stats st;

	for (unsigned i = 0; i < NPAGES; i++)
		assert_non_null(p[i] = buddy_alloc_pages(&f->zone, 0, 0));
	assert_null(buddy_alloc_pages(&f->zone, 0, 0));
	for (unsigned i = 0; i < NPAGES; i++)
		assert_int_equal(buddy_free(&f->zone, p[i]), BUDDY_OK);
	buddy_get_stats(&f->zone, &st);
	assert_int_equal(st.cached_pages, NPAGES);
	/* Everything is cached as single pages; the whole arena is still available. */
	void *all = buddy_alloc_pages(&f->zone, 8, 0);
	assert_ptr_equal(all, f->arena);
	assert_sound(&f->zone);
	assert_int_equal(buddy_free(&f->zone, all), BUDDY_OK);
	/* Exact allocations and in-place growth also drain first. */
	void *q = buddy_alloc_pages(&f->zone, 0, 0);
	assert_int_equal(buddy_free(&f->zone, q), BUDDY_OK);
	void *e = buddy_alloc_pages_exact(&f->zone, NPAGES, 0);
	assert_non_null(e);
	assert_int_equal(buddy_free(&f->zone, e), BUDDY_OK);
	void *g = buddy_alloc_pages(&f->zone, 0, 0);
	void *h = buddy_alloc_pages(&f->zone, 0, 0);
	assert_int_equal(buddy_free(&f->zone, h), BUDDY_OK); /* h is g's buddy, now cached */
	assert_int_equal(buddy_resize(&f->zone, g, 1), BUDDY_OK);
	assert_int_equal(buddy_free(&f->zone, g), BUDDY_OK);
	assert_sound(&f->zone);
	/* A region can be removed once its only holders are cached blocks. */
	assert_int_equal(buddy_remove_region(&f->zone, f->arena), BUDDY_OK);
	fixture_free(f);
}

/* Growing in place takes a whole cached buddy off its list, leaving the rest cached. */
static void test_page_cache_grow_takes_cached_buddy(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(8, 1);
	struct buddy_stats st;

	void *g = buddy_alloc_pages(&f->zone, 0, 0);
	void *h = buddy_alloc_pages(&f->zone, 0, 0); /* g's buddy */
	void *x = buddy_alloc_pages(&f->zone, 0, 0);
	void *y = buddy_alloc_pages(&f->zone, 0, 0);
	assert_ptr_equal((unsigned char *)h, (unsigned char *)g + PS);
	assert_int_equal(buddy_free(&f->zone, h), BUDDY_OK);
	assert_int_equal(buddy_free(&f->zone, x), BUDDY_OK);
	buddy_get_stats(&f->zone, &st);
	assert_int_equal(st.cached_pages, 2);
	assert_int_equal(buddy_resize(&f->zone, g, 1), BUDDY_OK);
	buddy_get_stats(&f->zone, &st);
	assert_int_equal(st.cached_pages, 1); /* x is still cached: nothing was drained */
	assert_int_equal(st.used_pages, 3);
	assert_int_equal(buddy_alloc_size(&f->zone, g), 2);
	assert_sound(&f->zone);
	assert_int_equal(buddy_free(&f->zone, g), BUDDY_OK);
	assert_int_equal(buddy_free(&f->zone, y), BUDDY_OK);
	assert_sound(&f->zone);
	fixture_free(f);
}

static void test_page_cache_bad_config(void **state)
{
	(void)state;
	struct buddy_zone z;
	struct buddy_config cfg;
	buddy_config_default(&cfg);
	cfg.pcp_high = 4;
	cfg.pcp_max_order = BUDDY_PCP_MAX_ORDER + 1;
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_ECONFIG);
}

/* Randomized: the cache must never break an invariant. */
static void test_page_cache_random(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(6, 3);
	void *live[64] = { 0 };
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int ops = getenv("BUDDY_UNDER_VALGRIND") ? 2000 : 50000;

	for (int i = 0; i < ops; i++) {
		x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
		uint64_t r = x * 0x2545f4914f6cdd1dull;
		unsigned slot = (unsigned)(r >> 58);
		if (live[slot]) {
			assert_int_equal(buddy_free(&f->zone, live[slot]), BUDDY_OK);
			live[slot] = NULL;
		} else if ((r >> 20) & 1) {
			live[slot] = buddy_alloc_pages(&f->zone, (unsigned)((r >> 8) % 5), 0);
		} else {
			live[slot] = buddy_alloc_pages_exact(&f->zone, 1 + (r >> 8) % 11, 0);
		}
		assert_sound(&f->zone);
	}
	fixture_free(f);
}

/* A damaged link in a free block stops the zone instead of being followed. */
static void test_page_corrupt_link_stops_zone(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0, 0);

	void *a = buddy_alloc_pages(&f->zone, 0, 0); /* splits: free blocks of orders 0..7 */
	assert_non_null(a);
	/* The free order-0 block is page 1; point its next link into the middle of nowhere. */
	struct buddy_list *victim = (struct buddy_list *)(f->arena + PS);
	victim->next = (struct buddy_list *)(f->arena + PS + 8);
	assert_null(buddy_alloc_pages(&f->zone, 0, 0));
	assert_int_equal(buddy_last_error(&f->zone), BUDDY_ECORRUPT);
	assert_int_equal(f->reports, 1);
	assert_non_null(strstr(f->last_report, "corrupted free list"));
	/* Stopped: every change is refused, and the report is made only once. */
	assert_int_equal(buddy_free(&f->zone, a), BUDDY_ECORRUPT);
	assert_null(buddy_alloc_pages(&f->zone, 3, 0));
	assert_int_equal(f->reports, 1);
	assert_true(buddy_check(&f->zone, NULL, NULL) > 0);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_cache_defers_merge),
		cmocka_unit_test(test_page_cache_trims_long_lists),
		cmocka_unit_test(test_page_cache_only_small_orders),
		cmocka_unit_test(test_page_cache_drained_before_failing),
		cmocka_unit_test(test_page_cache_grow_takes_cached_buddy),
		cmocka_unit_test(test_page_cache_bad_config),
		cmocka_unit_test(test_page_cache_random),
		cmocka_unit_test(test_page_corrupt_link_stops_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
