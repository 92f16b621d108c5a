/* SPDX-License-Identifier: MIT */
/*
 * test_page_api.c - every public function of the page allocator against
 * every class of bad input. Each rejected call must return the exact
 * status, record it as the last error, and leave the zone exactly as it
 * was: same statistics, same buddyinfo line, same block layout, and a clean
 * buddy_check. Allocation failures return NULL, and only ENOMEM counts as
 * a failure in the statistics.
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

/*
 * The scene: a 64-page arena; region A is its pages 16..31 (16 pages) with
 * a separate metadata buffer. After the set-up allocations, A looks like
 *
 *     0:2A (a)  4:1A 6:0c (x, exact 3)  7:0F  8:3F
 */
struct scene {
	struct buddy_zone z;
	unsigned char *arena; /* 64 pages */
	unsigned char *A;     /* arena + 16 pages */
	void *a;              /* order 2 at A+0 */
	void *x;              /* exact 3 pages at A+4 */
	struct fx_snap snap;  /* taken by expect_* before each call */
};

static int scene_setup(void **state)
{
	static struct scene s;
	memset(&s, 0, sizeof(s));
	s.arena = fx_arena(PS, 64, PS);
	s.A = s.arena + 16 * PS;
	fx_zone(&s.z, PS, BUDDY_MAX_ORDER_AUTO);
	fx_add(&s.z, s.A, 16);
	s.a = buddy_alloc_pages(&s.z, 2, 0);
	s.x = buddy_alloc_pages_exact(&s.z, 3, 0);
	if (s.a != s.A || s.x != s.A + 4 * PS)
		return -1;
	if (strcmp(fx_layout(&s.z), "[r0] 0:2A 4:1A 6:0c 7:0F 8:3F") != 0)
		return -1;
	*state = &s;
	return 0;
}

static int scene_teardown(void **state)
{
	struct scene *s = *state;
	fx_cleanup();
	fx_arena_free(s->arena);
	return 0;
}

static unsigned char *pg(const struct scene *s, size_t i)
{
	return s->A + i * PS;
}

/* Run a status-returning call and prove it failed cleanly. */
#define EXPECT_STATUS(s, call, status)                                 \
	do {                                                           \
		fx_snap_take(&(s)->z, &(s)->snap);                     \
		assert_int_equal((call), (status));                    \
		assert_int_equal(buddy_last_error(&(s)->z), (status)); \
		fx_snap_expect(&(s)->z, &(s)->snap);                   \
	} while (0)

/* Same for an allocation: NULL, the status, and failures + 1 for ENOMEM. */
#define EXPECT_NULL(s, call, status)                                   \
	do {                                                           \
		fx_snap_take(&(s)->z, &(s)->snap);                     \
		assert_null(call);                                     \
		assert_int_equal(buddy_last_error(&(s)->z), (status)); \
		if ((status) == BUDDY_ENOMEM)                          \
			(s)->snap.st.failures++;                       \
		fx_snap_expect(&(s)->z, &(s)->snap);                   \
	} while (0)

/* ------------------------------------------------------------------ */
/* set-up                                                              */
/* ------------------------------------------------------------------ */

static void test_page_api_zone_init_bad_config(void **state)
{
	struct scene *s = *state;
	struct buddy_config cfg;
	struct buddy_zone fresh, copy;
	static const size_t bad_sizes[] = { 0, 1, 8, 15, 48, 4097, 6000 };

	assert_int_equal(buddy_zone_init(NULL, NULL), BUDDY_ENULL);
	memset(&fresh, 0x5a, sizeof(fresh));
	memcpy(&copy, &fresh, sizeof(copy));
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		buddy_config_default(&cfg);
		cfg.page_size = bad_sizes[i];
		assert_int_equal(buddy_zone_init(&fresh, &cfg), BUDDY_ECONFIG);
		assert_memory_equal(&fresh, &copy, sizeof(fresh));
	}
	buddy_config_default(&cfg);
	cfg.max_order = BUDDY_MAX_ORDER + 1;
	assert_int_equal(buddy_zone_init(&fresh, &cfg), BUDDY_ECONFIG);
	cfg.max_order = 1000;
	assert_int_equal(buddy_zone_init(&fresh, &cfg), BUDDY_ECONFIG);
	buddy_config_default(&cfg);
	cfg.name = "SixteenCharsLong";
	assert_int_equal(buddy_zone_init(&fresh, &cfg), BUDDY_ECONFIG);
	assert_memory_equal(&fresh, &copy, sizeof(fresh));

	/* A zone in use is not wiped by a rejected re-initialisation. */
	fx_snap_take(&s->z, &s->snap);
	cfg.name = "Normal";
	cfg.page_size = 8;
	assert_int_equal(buddy_zone_init(&s->z, &cfg), BUDDY_ECONFIG);
	fx_snap_expect(&s->z, &s->snap);
}

static void test_page_api_zone_init_limits_accepted(void **state)
{
	struct buddy_config cfg;
	struct buddy_zone z;
	struct buddy_stats st;
	(void)state;

	assert_int_equal(buddy_zone_init(&z, NULL), BUDDY_OK);
	buddy_get_stats(&z, &st);
	assert_int_equal(st.page_size, BUDDY_PAGE_SIZE_DEFAULT);
	assert_string_equal(fx_info(&z), "Node 0, zone   Normal      0 \n");
	buddy_config_default(&cfg);
	assert_int_equal(cfg.page_size, 4096);
	assert_int_equal(cfg.max_order, BUDDY_MAX_ORDER_AUTO);
	assert_string_equal(cfg.name, "Normal");
	assert_null(cfg.log);
	buddy_config_default(NULL); /* must not crash */
	cfg.page_size = BUDDY_PAGE_SIZE_MIN;
	cfg.max_order = BUDDY_MAX_ORDER;
	cfg.name = "FifteenCharsLng";
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_OK);
	buddy_get_stats(&z, &st);
	assert_int_equal(st.page_size, 16);
	assert_int_equal(st.max_order, BUDDY_MAX_ORDER);
	cfg.name = NULL;
	cfg.max_order = 0;
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_OK);
	assert_string_equal(fx_info(&z), "Node 0, zone   Normal      0 \n");
}

static void test_page_api_add_region_bad_input(void **state)
{
	struct scene *s = *state;
	static _Alignas(8) unsigned char meta[2 * PS];
	unsigned char *B = s->arena + 40 * PS; /* free memory after A */
	size_t need = buddy_meta_size(&s->z, 8 * PS);
	struct buddy_region_info ri;

	assert_int_equal(buddy_add_region(NULL, B, 8 * PS, meta, need), BUDDY_ENULL);
	EXPECT_STATUS(s, buddy_add_region(&s->z, NULL, 8 * PS, meta, need), BUDDY_ENULL);
	/* Alignment of base and length. */
	EXPECT_STATUS(s, buddy_add_region(&s->z, B + 8, 4 * PS, meta, need), BUDDY_EALIGN);
	EXPECT_STATUS(s, buddy_add_region(&s->z, B + PS / 2, 4 * PS, NULL, 0), BUDDY_EALIGN);
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, 4 * PS + 8, meta, need), BUDDY_EALIGN);
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, 100, meta, need), BUDDY_EALIGN);
	/* Too small: empty, or nothing left once the metadata is carved off. */
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, 0, meta, need), BUDDY_ESMALL);
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, PS, NULL, 0), BUDDY_ESMALL);
	/* A range that wraps around the address space. */
	void *top = (void *)(UINTPTR_MAX & ~(uintptr_t)(PS - 1));
	EXPECT_STATUS(s, buddy_add_region(&s->z, top, 2 * PS, meta, need), BUDDY_ESMALL);
	/* Overlap with A: same range, partial either side, containing it. */
	EXPECT_STATUS(s, buddy_add_region(&s->z, s->A, 16 * PS, meta, sizeof(meta)), BUDDY_EOVERLAP);
	EXPECT_STATUS(s, buddy_add_region(&s->z, s->A + 8 * PS, 16 * PS, meta, sizeof(meta)),
		      BUDDY_EOVERLAP);
	EXPECT_STATUS(s, buddy_add_region(&s->z, s->A - 8 * PS, 9 * PS, meta, sizeof(meta)),
		      BUDDY_EOVERLAP);
	EXPECT_STATUS(s, buddy_add_region(&s->z, s->A - 8 * PS, 32 * PS, meta, sizeof(meta)),
		      BUDDY_EOVERLAP);
	EXPECT_STATUS(s, buddy_add_region(&s->z, s->A + 15 * PS, 4 * PS, NULL, 0), BUDDY_EOVERLAP);
	/* Metadata: missing size, too small, misaligned, inside the region. */
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, 8 * PS, meta, 0), BUDDY_EMETA);
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, 8 * PS, meta, need - 1), BUDDY_EMETA);
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, 8 * PS, meta + 1, need), BUDDY_EMETA);
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, 8 * PS, meta + 4, need), BUDDY_EMETA);
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, 8 * PS, B + PS, need), BUDDY_EMETA);
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, 8 * PS, B + 8 * PS - 8, need), BUDDY_EMETA);
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, 8 * PS, B - 8, need), BUDDY_EMETA);
	/* Metadata on another region's pages or on its metadata. */
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, 8 * PS, s->A + 12 * PS, need), BUDDY_EOVERLAP);
	assert_int_equal(buddy_region_info(&s->z, 0, &ri), BUDDY_OK);
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, 8 * PS, (unsigned char *)ri.meta + 8, need),
		      BUDDY_EOVERLAP);
	/* The rejected calls left B unused: adding it properly works. */
	assert_int_equal(buddy_add_region(&s->z, B, 8 * PS, meta, need), BUDDY_OK);
	assert_int_equal(fx_check(&s->z), 0);
	/* Adding the same memory twice is an overlap. */
	EXPECT_STATUS(s, buddy_add_region(&s->z, B, 8 * PS, meta + PS, need), BUDDY_EOVERLAP);
}

static void test_page_api_remove_region_bad_input(void **state)
{
	struct scene *s = *state;
	int local;

	assert_int_equal(buddy_remove_region(NULL, s->A), BUDDY_ENULL);
	EXPECT_STATUS(s, buddy_remove_region(&s->z, NULL), BUDDY_ENULL);
	EXPECT_STATUS(s, buddy_remove_region(&s->z, &local), BUDDY_EOUTSIDE);
	EXPECT_STATUS(s, buddy_remove_region(&s->z, s->arena), BUDDY_EOUTSIDE);
	EXPECT_STATUS(s, buddy_remove_region(&s->z, pg(s, 8)), BUDDY_EOUTSIDE); /* not its base */
	EXPECT_STATUS(s, buddy_remove_region(&s->z, s->A), BUDDY_EBUSY);
	assert_int_equal(buddy_free(&s->z, s->a), BUDDY_OK);
	EXPECT_STATUS(s, buddy_remove_region(&s->z, s->A), BUDDY_EBUSY); /* x still there */
	assert_int_equal(buddy_free(&s->z, s->x), BUDDY_OK);
	assert_int_equal(buddy_remove_region(&s->z, s->A), BUDDY_OK);
	EXPECT_STATUS(s, buddy_remove_region(&s->z, s->A), BUDDY_EOUTSIDE); /* gone */
}

/* ------------------------------------------------------------------ */
/* allocation                                                          */
/* ------------------------------------------------------------------ */

static void test_page_api_alloc_pages_bad_input(void **state)
{
	struct scene *s = *state;

	assert_null(buddy_alloc_pages(NULL, 0, 0));
	EXPECT_NULL(s, buddy_alloc_pages(&s->z, BUDDY_MAX_ORDER + 1, 0), BUDDY_EMAXORDER);
	EXPECT_NULL(s, buddy_alloc_pages(&s->z, 1000, 0), BUDDY_EMAXORDER);
	/* A legal order that no free block can satisfy. */
	EXPECT_NULL(s, buddy_alloc_pages(&s->z, 4, 0), BUDDY_ENOMEM);
	EXPECT_NULL(s, buddy_alloc_pages(&s->z, BUDDY_MAX_ORDER, BUDDY_ZERO), BUDDY_ENOMEM);
	/* Exhaust the zone: then even order 0 fails with ENOMEM. */
	assert_non_null(buddy_alloc_pages(&s->z, 3, 0));
	assert_non_null(buddy_alloc_pages(&s->z, 0, 0));
	EXPECT_NULL(s, buddy_alloc_pages(&s->z, 0, 0), BUDDY_ENOMEM);
	struct buddy_stats st;
	buddy_get_stats(&s->z, &st);
	assert_int_equal(st.failures, 3);
	assert_int_equal(st.free_pages, 0);

	/* A capped zone rejects orders above its cap, not only above the limit. */
	struct buddy_zone c;
	fx_zone(&c, PS, 2);
	assert_null(buddy_alloc_pages(&c, 3, 0));
	assert_int_equal(buddy_last_error(&c), BUDDY_EMAXORDER);
	assert_null(buddy_alloc_pages(&c, 2, 0)); /* no region at all */
	assert_int_equal(buddy_last_error(&c), BUDDY_ENOMEM);
	buddy_get_stats(&c, &st);
	assert_int_equal(st.failures, 1);
}

static void test_page_api_alloc_exact_bad_input(void **state)
{
	struct scene *s = *state;

	assert_null(buddy_alloc_pages_exact(NULL, 1, 0));
	EXPECT_NULL(s, buddy_alloc_pages_exact(&s->z, 0, 0), BUDDY_ECOUNT);
	EXPECT_NULL(s, buddy_alloc_pages_exact(&s->z, ((size_t)1 << BUDDY_MAX_ORDER) + 1, 0),
		    BUDDY_ECOUNT);
	EXPECT_NULL(s, buddy_alloc_pages_exact(&s->z, SIZE_MAX, 0), BUDDY_ECOUNT);
	EXPECT_NULL(s, buddy_alloc_pages_exact(&s->z, (size_t)1 << BUDDY_MAX_ORDER, 0),
		    BUDDY_ENOMEM);
	EXPECT_NULL(s, buddy_alloc_pages_exact(&s->z, 9, 0), BUDDY_ENOMEM);
	EXPECT_NULL(s, buddy_alloc_pages_exact(&s->z, 16, 0), BUDDY_ENOMEM);

	struct buddy_zone c;
	fx_zone(&c, PS, 3);
	assert_null(buddy_alloc_pages_exact(&c, 9, 0));
	assert_int_equal(buddy_last_error(&c), BUDDY_ECOUNT);
	assert_null(buddy_alloc_pages_exact(&c, 8, 0));
	assert_int_equal(buddy_last_error(&c), BUDDY_ENOMEM);
}

/* ------------------------------------------------------------------ */
/* free, size and resize: the same bad pointers for every function     */
/* ------------------------------------------------------------------ */

struct bad_ptr {
	const char *what;
	void *p;
	int status;
};

/*
 * After this, A is  0:2A (a) 4:1A 6:0c (x) 7:0F (freed, its buddy 6 in use)
 * 8:3F (c and d freed, merged back into order 3).
 */
static size_t bad_pointers(struct scene *s, struct bad_ptr *out, int *local)
{
	void *b = buddy_alloc_pages(&s->z, 0, 0); /* page 7 */
	void *c = buddy_alloc_pages(&s->z, 1, 0); /* page 8 */
	void *d = buddy_alloc_pages(&s->z, 1, 0); /* page 10 */
	assert_ptr_equal(b, pg(s, 7));
	assert_ptr_equal(c, pg(s, 8));
	assert_ptr_equal(d, pg(s, 10));
	assert_int_equal(buddy_free(&s->z, b), BUDDY_OK);
	assert_int_equal(buddy_free(&s->z, d), BUDDY_OK);
	assert_int_equal(buddy_free(&s->z, c), BUDDY_OK);
	assert_string_equal(fx_layout(&s->z), "[r0] 0:2A 4:1A 6:0c 7:0F 8:3F");

	struct bad_ptr list[] = {
		{ "NULL", NULL, BUDDY_ENULL },
		{ "stack", local, BUDDY_EOUTSIDE },
		{ "arena before A", s->arena, BUDDY_EOUTSIDE },
		{ "page before A", s->A - PS, BUDDY_EOUTSIDE },
		{ "end of A", pg(s, 16), BUDDY_EOUTSIDE },
		{ "interior page 1", pg(s, 1), BUDDY_ENOTBLOCK },
		{ "interior page 3", pg(s, 3), BUDDY_ENOTBLOCK },
		{ "misaligned +8", (unsigned char *)s->a + 8, BUDDY_ENOTBLOCK },
		{ "misaligned +PS-1", (unsigned char *)s->a + PS - 1, BUDDY_ENOTBLOCK },
		{ "exact interior", pg(s, 5), BUDDY_ENOTBLOCK },
		{ "exact later block", pg(s, 6), BUDDY_ENOTBLOCK },
		{ "double free at start", b, BUDDY_EDOUBLE },
		{ "double free misaligned", (unsigned char *)b + 16, BUDDY_EDOUBLE },
		{ "double free after merge, merged start", c, BUDDY_EDOUBLE },
		{ "double free after merge, absorbed", d, BUDDY_EDOUBLE },
		{ "never allocated", pg(s, 12), BUDDY_EDOUBLE },
	};
	memcpy(out, list, sizeof(list));
	return sizeof(list) / sizeof(list[0]);
}

static void test_page_api_free_bad_pointers(void **state)
{
	struct scene *s = *state;
	struct bad_ptr bad[32];
	int local;
	size_t n = bad_pointers(s, bad, &local);

	assert_int_equal(buddy_free(NULL, s->a), BUDDY_ENULL);
	for (size_t i = 0; i < n; i++) {
		print_message("free: %s\n", bad[i].what);
		EXPECT_STATUS(s, buddy_free(&s->z, bad[i].p), bad[i].status);
	}
}

static void test_page_api_free_pages_bad_input(void **state)
{
	struct scene *s = *state;
	struct bad_ptr bad[32];
	int local;
	size_t n = bad_pointers(s, bad, &local);

	assert_int_equal(buddy_free_pages(NULL, s->a, 2), BUDDY_ENULL);
	for (size_t i = 0; i < n; i++) {
		print_message("free_pages: %s\n", bad[i].what);
		EXPECT_STATUS(s, buddy_free_pages(&s->z, bad[i].p, 0), bad[i].status);
	}
	/* Wrong orders, including ones above the maximum. */
	EXPECT_STATUS(s, buddy_free_pages(&s->z, s->a, 0), BUDDY_EORDER);
	EXPECT_STATUS(s, buddy_free_pages(&s->z, s->a, 1), BUDDY_EORDER);
	EXPECT_STATUS(s, buddy_free_pages(&s->z, s->a, 3), BUDDY_EORDER);
	EXPECT_STATUS(s, buddy_free_pages(&s->z, s->a, BUDDY_MAX_ORDER + 1), BUDDY_EORDER);
	EXPECT_STATUS(s, buddy_free_pages(&s->z, s->a, 1000), BUDDY_EORDER);
	/* A non-power-of-two exact allocation has no order. */
	EXPECT_STATUS(s, buddy_free_pages(&s->z, s->x, 1), BUDDY_EORDER);
	EXPECT_STATUS(s, buddy_free_pages(&s->z, s->x, 2), BUDDY_EORDER);
	assert_int_equal(buddy_free_pages(&s->z, s->a, 2), BUDDY_OK);
	EXPECT_STATUS(s, buddy_free_pages(&s->z, s->a, 2), BUDDY_EDOUBLE);
}

static void test_page_api_free_exact_bad_input(void **state)
{
	struct scene *s = *state;
	struct bad_ptr bad[32];
	int local;
	size_t n = bad_pointers(s, bad, &local);

	assert_int_equal(buddy_free_pages_exact(NULL, s->x, 3), BUDDY_ENULL);
	for (size_t i = 0; i < n; i++) {
		print_message("free_pages_exact: %s\n", bad[i].what);
		EXPECT_STATUS(s, buddy_free_pages_exact(&s->z, bad[i].p, 1), bad[i].status);
	}
	EXPECT_STATUS(s, buddy_free_pages_exact(&s->z, s->x, 0), BUDDY_EORDER);
	EXPECT_STATUS(s, buddy_free_pages_exact(&s->z, s->x, 2), BUDDY_EORDER);
	EXPECT_STATUS(s, buddy_free_pages_exact(&s->z, s->x, 4), BUDDY_EORDER);
	EXPECT_STATUS(s, buddy_free_pages_exact(&s->z, s->x, SIZE_MAX), BUDDY_EORDER);
	EXPECT_STATUS(s, buddy_free_pages_exact(&s->z, s->a, 3), BUDDY_EORDER);
	EXPECT_STATUS(s, buddy_free_pages_exact(&s->z, s->a, 5), BUDDY_EORDER);
	/* An ordinary block is freed as exact by its page count. */
	assert_int_equal(buddy_free_pages_exact(&s->z, s->a, 4), BUDDY_OK);
	assert_int_equal(buddy_free_pages_exact(&s->z, s->x, 3), BUDDY_OK);
	EXPECT_STATUS(s, buddy_free_pages_exact(&s->z, s->x, 3), BUDDY_EDOUBLE);
	assert_string_equal(fx_layout(&s->z), "[r0] 0:4F");
}

static void test_page_api_alloc_size_bad_input(void **state)
{
	struct scene *s = *state;
	struct bad_ptr bad[32];
	int local;
	size_t n = bad_pointers(s, bad, &local);

	assert_int_equal(buddy_alloc_size(NULL, s->a), 0);
	for (size_t i = 0; i < n; i++) {
		print_message("alloc_size: %s\n", bad[i].what);
		fx_snap_take(&s->z, &s->snap);
		assert_int_equal(buddy_alloc_size(&s->z, bad[i].p), 0);
		assert_int_equal(buddy_last_error(&s->z), bad[i].status);
		fx_snap_expect(&s->z, &s->snap);
	}
	assert_int_equal(buddy_alloc_size(&s->z, s->a), 4);
	assert_int_equal(buddy_alloc_size(&s->z, s->x), 3);
}

/*
 * buddy_alloc_info and buddy_free_info reject what buddy_free rejects, and
 * say what the allocation is: its pages and its region's owner.
 */
static void test_page_api_alloc_info_and_free_info(void **state)
{
	struct scene *s = *state;
	struct bad_ptr bad[32];
	struct buddy_alloc_info info;
	int local;
	size_t n = bad_pointers(s, bad, &local);

	assert_int_equal(buddy_alloc_info(NULL, s->a, &info), BUDDY_ENULL);
	assert_int_equal(buddy_free_info(NULL, s->a, &info), BUDDY_ENULL);
	EXPECT_STATUS(s, buddy_alloc_info(&s->z, s->a, NULL), BUDDY_ENULL);
	for (size_t i = 0; i < n; i++) {
		print_message("alloc_info, free_info: %s\n", bad[i].what);
		memset(&info, 0x5a, sizeof(info));
		EXPECT_STATUS(s, buddy_alloc_info(&s->z, bad[i].p, &info), bad[i].status);
		EXPECT_STATUS(s, buddy_free_info(&s->z, bad[i].p, &info), bad[i].status);
		assert_int_equal(info.nr_pages, (size_t)0x5a5a5a5a5a5a5a5aull); /* untouched */
	}
	assert_int_equal(buddy_alloc_info(&s->z, s->a, &info), BUDDY_OK);
	assert_int_equal(info.nr_pages, 4);
	assert_null(info.owner);
	assert_int_equal(buddy_region_set_owner(&s->z, s->A, &local), BUDDY_OK);
	assert_int_equal(buddy_alloc_info(&s->z, s->x, &info), BUDDY_OK);
	assert_int_equal(info.nr_pages, 3);
	assert_ptr_equal(info.owner, &local);
	assert_string_equal(fx_layout(&s->z), "[r0] 0:2A 4:1A 6:0c 7:0F 8:3F");

	memset(&info, 0, sizeof(info));
	assert_int_equal(buddy_free_info(&s->z, s->x, &info), BUDDY_OK);
	assert_int_equal(info.nr_pages, 3);
	assert_ptr_equal(info.owner, &local);
	assert_int_equal(buddy_free_info(&s->z, s->a, NULL), BUDDY_OK);
	assert_string_equal(fx_layout(&s->z), "[r0] 0:4F");
	EXPECT_STATUS(s, buddy_free_info(&s->z, s->a, &info), BUDDY_EDOUBLE);
}

/* Owners: set by a region's base, found from any byte of its pages, gone with the region. */
static void test_page_api_region_owner(void **state)
{
	struct scene *s = *state;
	struct buddy_region_info ri;
	int one, two;

	assert_int_equal(buddy_region_set_owner(NULL, s->A, &one), BUDDY_ENULL);
	EXPECT_STATUS(s, buddy_region_set_owner(&s->z, NULL, &one), BUDDY_ENULL);
	EXPECT_STATUS(s, buddy_region_set_owner(&s->z, pg(s, 1), &one), BUDDY_EOUTSIDE);
	EXPECT_STATUS(s, buddy_region_set_owner(&s->z, s->arena, &one), BUDDY_EOUTSIDE);
	assert_null(buddy_region_owner(&s->z, s->A));
	assert_int_equal(buddy_region_info(&s->z, 0, &ri), BUDDY_OK);
	assert_null(ri.owner);

	unsigned char *B = s->arena + 40 * PS;
	fx_add(&s->z, B, 8);
	assert_int_equal(buddy_region_set_owner(&s->z, s->A, &one), BUDDY_OK);
	assert_int_equal(buddy_region_set_owner(&s->z, B, &two), BUDDY_OK);
	assert_ptr_equal(buddy_region_owner(&s->z, s->A), &one);
	assert_ptr_equal(buddy_region_owner(&s->z, pg(s, 15) + PS - 1), &one);
	assert_ptr_equal(buddy_region_owner(&s->z, B + 3 * PS + 5), &two);
	assert_ptr_equal(buddy_region_owner(&s->z, B + 8 * PS - 1), &two);
	assert_null(buddy_region_owner(&s->z, B + 8 * PS));
	assert_null(buddy_region_owner(&s->z, s->arena));
	assert_null(buddy_region_owner(&s->z, NULL));
	assert_null(buddy_region_owner(NULL, s->A));
	assert_int_equal(buddy_region_info(&s->z, 1, &ri), BUDDY_OK);
	assert_ptr_equal(ri.owner, &two);

	/* Detached, and forgotten when the region goes. */
	assert_int_equal(buddy_region_set_owner(&s->z, s->A, NULL), BUDDY_OK);
	assert_null(buddy_region_owner(&s->z, s->A));
	assert_int_equal(buddy_remove_region(&s->z, B), BUDDY_OK);
	assert_null(buddy_region_owner(&s->z, B));
	fx_add(&s->z, B, 8);
	assert_null(buddy_region_owner(&s->z, B));
	assert_int_equal(buddy_remove_region(&s->z, B), BUDDY_OK);
}

static void test_page_api_resize_bad_input(void **state)
{
	struct scene *s = *state;
	struct bad_ptr bad[32];
	int local;
	size_t n = bad_pointers(s, bad, &local);

	assert_int_equal(buddy_resize(NULL, s->a, 1), BUDDY_ENULL);
	for (size_t i = 0; i < n; i++) {
		print_message("resize: %s\n", bad[i].what);
		EXPECT_STATUS(s, buddy_resize(&s->z, bad[i].p, 1), bad[i].status);
	}
	EXPECT_STATUS(s, buddy_resize(&s->z, s->x, 1), BUDDY_EORDER); /* exact: no resize */
	EXPECT_STATUS(s, buddy_resize(&s->z, s->x, 2), BUDDY_EORDER);
	EXPECT_STATUS(s, buddy_resize(&s->z, s->a, BUDDY_MAX_ORDER + 1), BUDDY_EMAXORDER);
	EXPECT_STATUS(s, buddy_resize(&s->z, s->a, 3), BUDDY_ENOMEM); /* x is the buddy */
	EXPECT_STATUS(s, buddy_resize(&s->z, s->a, 4), BUDDY_ENOMEM);
	EXPECT_STATUS(s, buddy_resize(&s->z, s->a, 20), BUDDY_ENOMEM);  /* past the region */
	struct buddy_stats st;
	buddy_get_stats(&s->z, &st);
	assert_int_equal(st.failures, 0); /* a refused grow is not a failed allocation */
}

/* ------------------------------------------------------------------ */
/* introspection                                                       */
/* ------------------------------------------------------------------ */

static int walk_stop_at_third(void *arg, const struct buddy_block *b)
{
	int *seen = arg;
	(void)b;
	return ++*seen == 3 ? 42 : 0;
}

struct report_rec {
	int calls;
	char last[256];
};

static void report_record(void *arg, const char *msg)
{
	struct report_rec *rr = arg;
	rr->calls++;
	snprintf(rr->last, sizeof(rr->last), "%s", msg);
}

static void test_page_api_introspection_null_args(void **state)
{
	struct scene *s = *state;
	struct buddy_stats st;
	char buf[16];
	int seen = 0;

	assert_int_equal(buddy_last_error(NULL), BUDDY_ENULL);
	memset(&st, 0x77, sizeof(st));
	buddy_get_stats(NULL, &st);
	assert_int_equal(st.page_size, (size_t)0x7777777777777777ull);
	buddy_get_stats(&s->z, NULL); /* must not crash */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(buddy_buddyinfo(NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(buddy_buddyinfo(NULL, NULL, 0), 0);
	assert_int_equal(buddy_meta_size(NULL, PS), 0);
	assert_int_equal(buddy_walk(NULL, walk_stop_at_third, &seen), 0);
	assert_int_equal(buddy_walk(&s->z, NULL, NULL), 0);
	assert_int_equal(seen, 0);
	assert_int_equal(buddy_walk(&s->z, walk_stop_at_third, &seen), 42);
	assert_int_equal(seen, 3);

	struct report_rec rr = { 0, "" };
	assert_int_equal(buddy_check(NULL, report_record, &rr), 1);
	assert_int_equal(rr.calls, 1);
	assert_string_equal(rr.last, "zone is NULL");
	assert_int_equal(buddy_check(NULL, NULL, NULL), 1);
	assert_int_equal(buddy_check(&s->z, report_record, &rr), 0);
	assert_int_equal(rr.calls, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, scene_setup, scene_teardown)
	const struct CMUnitTest tests[] = {
		T(test_page_api_zone_init_bad_config),
		T(test_page_api_zone_init_limits_accepted),
		T(test_page_api_add_region_bad_input),
		T(test_page_api_remove_region_bad_input),
		T(test_page_api_alloc_pages_bad_input),
		T(test_page_api_alloc_exact_bad_input),
		T(test_page_api_free_bad_pointers),
		T(test_page_api_free_pages_bad_input),
		T(test_page_api_free_exact_bad_input),
		T(test_page_api_alloc_size_bad_input),
		T(test_page_api_alloc_info_and_free_info),
		T(test_page_api_region_owner),
		T(test_page_api_resize_bad_input),
		T(test_page_api_introspection_null_args),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
