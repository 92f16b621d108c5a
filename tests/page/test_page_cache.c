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

/*
 * The one-thread fast paths (a zone without lock or page sets): a free
 * that says what it freed, frees that the page byte refuses, a page set
 * registered meanwhile (the zone path then serves the zone's own calls),
 * and damage met on the fast path, which closes it.
 */
static void test_page_cache_fast_paths(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(8, 1);
	struct buddy_alloc_info info;
	int owner;

	assert_int_equal(f->zone.nr_single_orders, 2);
	assert_int_equal(buddy_region_set_owner(&f->zone, f->arena, &owner), BUDDY_OK);
	void *a = buddy_alloc_pages(&f->zone, 1, 0), *b = buddy_alloc_pages(&f->zone, 3, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(buddy_free_pages(&f->zone, a, 0), BUDDY_EORDER);
	assert_int_equal(buddy_free_pages(&f->zone, (char *)a + PS, 0), BUDDY_ENOTBLOCK);
	assert_int_equal(buddy_free_pages(&f->zone, a, 33), BUDDY_EORDER);
	assert_int_equal(buddy_free_info(&f->zone, a, &info), BUDDY_OK);
	assert_int_equal(info.nr_pages, 2);
	assert_ptr_equal(info.owner, &owner);
	assert_int_equal(buddy_free_info(&f->zone, a, &info), BUDDY_EDOUBLE);
	assert_int_equal(buddy_free_info(&f->zone, b, &info), BUDDY_OK); /* not cached: the zone path */
	assert_int_equal(info.nr_pages, 8);
	assert_ptr_equal(buddy_alloc_pages(&f->zone, 1, BUDDY_ZERO), a);
	for (size_t i = 0; i < 2 * PS; i++)
		assert_int_equal(((unsigned char *)a)[i], 0);
	assert_int_equal(buddy_free(&f->zone, a), BUDDY_OK);
	assert_sound(&f->zone);

	/* With a page set registered, the zone's calls take the zone path, and work. */
	struct buddy_pageset *ps = calloc(1, sizeof(*ps));
	assert_non_null(ps);
	assert_int_equal(buddy_pageset_init(&f->zone, ps), BUDDY_OK);
	assert_int_equal(f->zone.nr_single_orders, 0);
	a = buddy_alloc_pages(&f->zone, 0, 0);
	assert_non_null(a);
	assert_int_equal(buddy_free_pages(&f->zone, a, 0), BUDDY_OK);
	assert_sound(&f->zone);
	buddy_pageset_release(ps);
	free(ps);
	assert_int_equal(f->zone.nr_single_orders, 2);

	/* Damage met on the fast path: the cached block's link no longer points back. */
	a = buddy_alloc_pages(&f->zone, 0, 0);
	b = buddy_alloc_pages(&f->zone, 0, 0);
	assert_int_equal(buddy_free_pages(&f->zone, a, 0), BUDDY_OK);
	assert_int_equal(buddy_free_pages(&f->zone, b, 0), BUDDY_OK); /* b, then a, on the list */
	((struct buddy_list *)b)->next = (struct buddy_list *)(f->arena + 3);
	assert_null(buddy_alloc_pages(&f->zone, 0, 0));
	assert_int_equal(buddy_last_error(&f->zone), BUDDY_ECORRUPT);
	assert_int_equal(f->reports, 1);
	assert_int_equal(f->zone.nr_single_orders, 0);
	assert_int_equal(buddy_free_pages(&f->zone, a, 0), BUDDY_ECORRUPT);
	assert_int_equal(buddy_free_info(&f->zone, a, &info), BUDDY_ECORRUPT);
	fixture_free(f);
}

/* The cached list of order 0 holds c (newest), b, a; one kind of damage to it. */
enum link_damage { NEXT_OUTSIDE, NEXT_ALLOCATED, NEXT_NOT_BACK, PREV_NOT_HEAD };

static void damage_found_on_fast_path(enum link_damage kind)
{
	struct fixture *f = fixture_new(8, 0);
	static struct buddy_list outside;

	print_message("damage kind %d\n", (int)kind);
	char *a = buddy_alloc_pages(&f->zone, 0, 0), *b = buddy_alloc_pages(&f->zone, 0, 0);
	char *c = buddy_alloc_pages(&f->zone, 0, 0), *d = buddy_alloc_pages(&f->zone, 0, 0);
	assert_non_null(d);
	assert_int_equal(buddy_free_pages(&f->zone, a, 0), BUDDY_OK);
	assert_int_equal(buddy_free_pages(&f->zone, b, 0), BUDDY_OK);
	assert_int_equal(buddy_free_pages(&f->zone, c, 0), BUDDY_OK);
	struct buddy_list *n = (struct buddy_list *)c;
	switch (kind) {
	case NEXT_OUTSIDE:
		n->next = &outside;
		break;
	case NEXT_ALLOCATED:
		n->next = (struct buddy_list *)d;
		break;
	case NEXT_NOT_BACK:
		n->next = (struct buddy_list *)a; /* a cached block, but its prev is b */
		break;
	case PREV_NOT_HEAD:
		n->prev = (struct buddy_list *)b;
		break;
	}
	assert_null(buddy_alloc_pages(&f->zone, 0, 0));
	assert_int_equal(buddy_last_error(&f->zone), BUDDY_ECORRUPT);
	assert_int_equal(f->reports, 1);
	assert_int_equal(buddy_free_pages(&f->zone, d, 0), BUDDY_ECORRUPT);
	fixture_free(f);
}

/* Each kind of damage to a cached block's links is caught before it is followed. */
static void test_page_cache_fast_path_damage(void **state)
{
	(void)state;
	damage_found_on_fast_path(NEXT_OUTSIDE);
	damage_found_on_fast_path(NEXT_ALLOCATED);
	damage_found_on_fast_path(NEXT_NOT_BACK);
	damage_found_on_fast_path(PREV_NOT_HEAD);
}

static struct buddy_pageset *no_pageset(struct buddy_zone *z, void *arg)
{
	(void)z, (void)arg;
	return NULL;
}

/*
 * The fast paths miss and the zone path serves: a second region (not the
 * last one used), a pointer off a page boundary, no last region (it was
 * removed), and a zone with a page-set hook but no lock.
 */
/*
 * buddy_free_pages_exact of a power of two of pages frees one block of
 * that order, as buddy_free_pages does (now through its fast path): a
 * cached order goes to the page cache; a wrong count or a second free is
 * refused, and a three-page run takes the zone path.
 */
static void test_page_cache_exact_free_fast_path(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(8, 1);
	struct buddy_stats st;

	void *a = buddy_alloc_pages_exact(&f->zone, 2, 0), *b = buddy_alloc_pages_exact(&f->zone, 3, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(buddy_free_pages_exact(&f->zone, a, 1), BUDDY_EORDER);
	assert_int_equal(buddy_free_pages_exact(&f->zone, a, 4), BUDDY_EORDER);
	assert_int_equal(buddy_free_pages_exact(&f->zone, b, 4), BUDDY_EORDER);
	buddy_get_stats(&f->zone, &st);
	size_t cached = st.cached_pages;
	assert_int_equal(buddy_free_pages_exact(&f->zone, a, 2), BUDDY_OK);
	buddy_get_stats(&f->zone, &st);
	assert_int_equal(st.cached_pages, cached + 2);
	assert_int_equal(buddy_free_pages_exact(&f->zone, a, 2), BUDDY_EDOUBLE);
	/* Three pages are no single block: the zone path frees them. */
	assert_int_equal(buddy_free_pages_exact(&f->zone, b, 3), BUDDY_OK);
	buddy_get_stats(&f->zone, &st);
	assert_int_equal(st.cached_pages, cached + 2);
	assert_ptr_equal(buddy_alloc_pages(&f->zone, 1, 0), a); /* from the cache */
	assert_int_equal(buddy_free_pages(&f->zone, a, 1), BUDDY_OK);
	assert_sound(&f->zone);
	fixture_free(f);
}

static void test_page_cache_fast_path_misses(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(8, 1);
	struct buddy_alloc_info info;
	unsigned char *second = aligned_alloc(PS, (size_t)PS * 16), meta2[1024];
	assert_non_null(second);

	void *a = buddy_alloc_pages(&f->zone, 0, 0);
	assert_int_equal(buddy_free_pages(&f->zone, (char *)a + 8, 0), BUDDY_ENOTBLOCK);
	assert_int_equal(buddy_free_info(&f->zone, (char *)a + 8, &info), BUDDY_ENOTBLOCK);
	assert_int_equal(buddy_add_region(&f->zone, second, (size_t)PS * 16, meta2, sizeof(meta2)),
			 BUDDY_OK);
	/* Take the first region's blocks until the second one's come out. */
	void *held[NPAGES + 16];
	size_t n = 0;
	while ((held[n] = buddy_alloc_pages(&f->zone, 0, 0)) != NULL &&
	       ((unsigned char *)held[n] < second || (unsigned char *)held[n] >= second + PS * 16))
		n++;
	assert_non_null(held[n]);
	void *in_second = held[n];
	assert_int_equal(buddy_free_pages(&f->zone, a, 0), BUDDY_OK); /* a miss: the first region */
	assert_int_equal(buddy_free_info(&f->zone, held[0], &info), BUDDY_OK); /* the first again */
	assert_int_equal(info.nr_pages, 1);
	assert_int_equal(buddy_free_pages(&f->zone, in_second, 0), BUDDY_OK);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(buddy_free(&f->zone, held[i]), BUDDY_OK);
	buddy_drain_cache(&f->zone);
	assert_sound(&f->zone);
	/* With the last region used gone, the fast paths have none to look in. */
	assert_int_equal(buddy_alloc_size(&f->zone, second), 0); /* a look-up there: the hint */
	assert_int_equal(buddy_remove_region(&f->zone, second), BUDDY_OK);
	assert_null(f->zone.hint);
	a = buddy_alloc_pages(&f->zone, 0, 0);
	assert_non_null(a);
	assert_int_equal(buddy_remove_region(&f->zone, f->arena), BUDDY_EBUSY);
	assert_int_equal(buddy_free_pages(&f->zone, a, 0), BUDDY_OK);
	assert_sound(&f->zone);
	fixture_free(f);
	free(second);

	/* A page-set hook without a lock: the fast paths are off, the hook serves. */
	struct buddy_config cfg;
	struct buddy_zone z;
	unsigned char *arena = aligned_alloc(PS, (size_t)PS * 16), meta[1024];
	assert_non_null(arena);
	buddy_config_default(&cfg);
	cfg.page_size = PS;
	cfg.pcp_high = 8;
	cfg.pageset = no_pageset;
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_OK);
	assert_int_equal(z.nr_single_orders, 0);
	assert_int_equal(buddy_add_region(&z, arena, (size_t)PS * 16, meta, sizeof(meta)), BUDDY_OK);
	a = buddy_alloc_pages(&z, 0, 0);
	assert_non_null(a);
	assert_int_equal(buddy_free_info(&z, a, &info), BUDDY_OK);
	assert_int_equal(info.nr_pages, 1);
	a = buddy_alloc_pages(&z, 0, 0);
	assert_int_equal(buddy_free(&z, a), BUDDY_OK);
	assert_int_equal(buddy_check(&z, NULL, NULL), 0);
	free(arena);
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
		cmocka_unit_test(test_page_cache_fast_paths),
		cmocka_unit_test(test_page_cache_fast_path_damage),
		cmocka_unit_test(test_page_cache_fast_path_misses),
		cmocka_unit_test(test_page_cache_exact_free_fast_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
