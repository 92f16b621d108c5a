/* SPDX-License-Identifier: MIT */
/*
 * test_page_poison.c - page poisoning (buddy_config.poison): freed pages
 * are filled with BUDDY_POISON_BYTE and checked when next handed out, so a
 * write after free is reported and stops the zone; without poisoning
 * nothing is checked; and no sequence of correct calls ever trips it.
 *
 * The deliberate writes after free go through poke(), which AddressSanitizer
 * does not instrument: in the ASan build freed pages are poisoned for ASan
 * too, and here the point is what the allocator itself notices.
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
#define NPAGES ((size_t)256)
#define LINKS sizeof(struct buddy_list) /* the allocator's bytes in a free block */

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

__attribute__((no_sanitize_address)) static void poke(unsigned char *p, unsigned char v)
{
	*(volatile unsigned char *)p = v;
}

__attribute__((no_sanitize_address)) static unsigned char peek(const unsigned char *p)
{
	return *(const volatile unsigned char *)p;
}

static struct fixture *fixture_new(int poison, unsigned pcp_high)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct buddy_config cfg;

	assert_non_null(f);
	f->arena = aligned_alloc(PS, PS * NPAGES);
	assert_non_null(f->arena);
	buddy_config_default(&cfg);
	cfg.page_size = PS;
	cfg.poison = poison;
	cfg.pcp_high = pcp_high;
	cfg.pcp_max_order = 2;
	cfg.on_error = on_corrupt;
	cfg.error_arg = f;
	assert_int_equal(buddy_zone_init(&f->zone, &cfg), BUDDY_OK);
	assert_int_equal(buddy_add_region(&f->zone, f->arena, PS * NPAGES, f->meta, sizeof(f->meta)),
			 BUDDY_OK);
	return f;
}

static void fixture_free(struct fixture *f)
{
	free(f->arena);
	free(f);
}

static void assert_caught(struct fixture *f)
{
	assert_int_equal(buddy_last_error(&f->zone), BUDDY_ECORRUPT);
	assert_int_equal(f->reports, 1);
	assert_non_null(strstr(f->last_report, "written after free"));
	assert_null(buddy_alloc_pages(&f->zone, 0, 0)); /* stopped */
}

static void test_page_poison_fills_freed_pages(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1, 0);
	unsigned char *p = buddy_alloc_pages(&f->zone, 1, 0);
	assert_non_null(p);
	memset(p, 0x11, 2 * PS);
	assert_int_equal(buddy_free(&f->zone, p), BUDDY_OK);
	for (size_t i = LINKS; i < 2 * PS; i++)
		assert_int_equal(peek(p + i), BUDDY_POISON_BYTE);
	fixture_free(f);
}

/* Free a two-page block, write into its second page, allocate it again. */
static void test_page_poison_catches_write_after_free(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1, 0);
	unsigned char *p = buddy_alloc_pages(&f->zone, 1, 0);
	assert_non_null(p);
	assert_int_equal(buddy_free(&f->zone, p), BUDDY_OK);
	poke(p + PS + 5, 0);
	/* The write sits in the order-8 block everything merged into. */
	assert_null(buddy_alloc_pages(&f->zone, 1, 0));
	assert_caught(f);
	fixture_free(f);
}

/* The page cache keeps the block unmerged; taking it back checks it too. */
static void test_page_poison_catches_write_in_cached_block(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1, 8);
	unsigned char *p = buddy_alloc_pages(&f->zone, 0, 0);
	assert_non_null(p);
	assert_int_equal(buddy_free(&f->zone, p), BUDDY_OK);
	poke(p + PS - 1, 0x42);
	assert_null(buddy_alloc_pages(&f->zone, 0, 0));
	assert_caught(f);
	fixture_free(f);
}

static void test_page_poison_catches_write_before_exact_alloc(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1, 0);
	unsigned char *p = buddy_alloc_pages_exact(&f->zone, 3, 0);
	assert_non_null(p);
	assert_int_equal(buddy_free(&f->zone, p), BUDDY_OK);
	poke(p + 2 * PS + 20, 7);
	assert_null(buddy_alloc_pages_exact(&f->zone, 3, 0));
	assert_caught(f);
	fixture_free(f);
}

/* Growing in place absorbs free buddies: their pages are checked first. */
static void test_page_poison_catches_write_before_resize(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1, 0);
	unsigned char *p = buddy_alloc_pages(&f->zone, 2, 0);
	assert_non_null(p);
	assert_int_equal(buddy_resize(&f->zone, p, 0), BUDDY_OK);
	poke(p + 3 * PS, 1); /* in the order-1 buddy freed by the shrink */
	assert_int_equal(buddy_resize(&f->zone, p, 2), BUDDY_ECORRUPT);
	assert_caught(f);
	fixture_free(f);
}

/* Off by default: the same write goes unnoticed and the block is reused. */
static void test_page_poison_off_checks_nothing(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0, 0);
	unsigned char *p = buddy_alloc_pages(&f->zone, 1, 0);
	assert_non_null(p);
	assert_int_equal(buddy_free(&f->zone, p), BUDDY_OK);
	poke(p + PS + 5, 0);
	assert_ptr_equal(buddy_alloc_pages(&f->zone, 1, 0), p);
	assert_int_equal(f->reports, 0);
	struct buddy_config cfg;
	buddy_config_default(&cfg);
	assert_int_equal(cfg.poison, 0);
	fixture_free(f);
}

/*
 * Correct use never trips it: random allocations (by order and exact),
 * frees, resizes and drains, with and without the page cache, keep every
 * freed byte poisoned through splits, merges and cache drains.
 */
static void test_page_poison_random_use_is_clean(void **state)
{
	(void)state;
	int ops = getenv("BUDDY_UNDER_VALGRIND") ? 1500 : 20000;
	for (unsigned pcp = 0; pcp <= 4; pcp += 4) {
		struct fixture *f = fixture_new(1, pcp);
		unsigned char *live[32] = { 0 };
		size_t bytes[32] = { 0 };
		uint64_t x = 0x853c49e6748fea9bull + pcp;
		for (int i = 0; i < ops; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			unsigned slot = (unsigned)(x >> 59), what = (unsigned)(x >> 8) % 4;
			if (live[slot] && what == 0) {
				unsigned order = (unsigned)(x >> 16) % 4;
				if (buddy_alloc_size(&f->zone, live[slot]) == bytes[slot] / PS &&
				    (bytes[slot] / PS & (bytes[slot] / PS - 1)) == 0 &&
				    buddy_resize(&f->zone, live[slot], order) == BUDDY_OK)
					bytes[slot] = PS << order;
			} else if (live[slot]) {
				assert_int_equal(buddy_free(&f->zone, live[slot]), BUDDY_OK);
				live[slot] = NULL;
			} else if (what == 1) {
				size_t n = 1 + (x >> 20) % 7;
				live[slot] = buddy_alloc_pages_exact(&f->zone, n, 0);
				bytes[slot] = n * PS;
			} else {
				unsigned order = (unsigned)(x >> 20) % 4;
				live[slot] = buddy_alloc_pages(&f->zone, order, 0);
				bytes[slot] = PS << order;
			}
			if (live[slot])
				memset(live[slot], (int)slot, bytes[slot]);
			if ((x >> 40) % 64 == 0)
				buddy_drain_cache(&f->zone);
			assert_int_equal(f->reports, 0);
		}
		assert_int_equal(buddy_check(&f->zone, NULL, NULL), 0);
		fixture_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_poison_fills_freed_pages),
		cmocka_unit_test(test_page_poison_catches_write_after_free),
		cmocka_unit_test(test_page_poison_catches_write_in_cached_block),
		cmocka_unit_test(test_page_poison_catches_write_before_exact_alloc),
		cmocka_unit_test(test_page_poison_catches_write_before_resize),
		cmocka_unit_test(test_page_poison_off_checks_nothing),
		cmocka_unit_test(test_page_poison_random_use_is_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
