/* SPDX-License-Identifier: MIT */
/*
 * test_kmalloc_memory.c - where the kmalloc heap's memory comes from and
 * goes back to: arenas mapped as it grows, the limit, a failing map hook,
 * free pages given back (madvise) and wholly free arenas unmapped once
 * enough is free, huge mappings, the footprint counting what may be
 * resident, and everything unmapped on destroy.
 */
#include "kmalloc_test.h"

#include <errno.h>
#include <unistd.h>

#include "kmalloc/kmalloc_internal.h"

/* A fresh heap holds its state, its first arena's metadata and 64 KiB made resident. */
static void test_kmalloc_footprint_at_start(void **state)
{
	(void)state;
	struct kmap m;
	memset(&m, 0, sizeof(m));
	struct bkm_config cfg = kconfig(&m, NULL, NULL);
	struct bkm_heap *h = kheap(&cfg);
	struct bkm_stats st;
	bkm_get_stats(h, &st);
	assert_int_equal(st.nr_arenas, 1);
	assert_int_equal(st.arena_bytes, BKM_ARENA_DEFAULT);
	assert_int_equal(st.resident_bytes, 64u << 10);
	assert_int_equal(st.footprint_bytes, st.resident_bytes + st.meta_bytes);
	assert_true(st.meta_bytes < 32u << 10);
	/*
	 * A first small block splits the 256 KiB arena down to one slab; of the
	 * free halves that get the zone's links, those at 64 and 128 KiB lie
	 * outside the populated part and become resident too (two pages).
	 */
	void *p = bkm_malloc(h, 10);
	struct bkm_stats after;
	bkm_get_stats(h, &after);
	assert_int_equal(after.resident_bytes, st.resident_bytes + 2 * (size_t)sysconf(_SC_PAGESIZE));
	bkm_free(h, p);
	assert_kheap_ok(h);
	bkm_destroy(h);
	assert_int_equal(m.mapped, 0);
	assert_int_equal(m.calls, 2); /* the state, the first arena */
}

/*
 * populate_bytes: 0 touches nothing at creation, so only what the zone and
 * the first block write becomes resident (the pages of the split links and
 * the slab); more than the arena touches the whole arena; an odd size is
 * rounded up to system pages.
 */
static void test_kmalloc_populate(void **state)
{
	(void)state;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	const size_t want[] = { 0, (size_t)1 << 30, 5000 };
	const size_t got[] = { 0, BKM_ARENA_DEFAULT, (5000 + pg - 1) / pg * pg };
	for (unsigned i = 0; i < 3; i++) {
		struct kmap m;
		memset(&m, 0, sizeof(m));
		struct bkm_config cfg = kconfig(&m, NULL, NULL);
		cfg.populate_bytes = want[i];
		struct bkm_heap *h = kheap(&cfg);
		struct bkm_stats st;
		bkm_get_stats(h, &st);
		/* The zone's link in the region's first block: its page counts from the start. */
		size_t first = got[i] ? got[i] : pg;
		assert_int_equal(st.resident_bytes, first);
		assert_int_equal(st.footprint_bytes, st.resident_bytes + st.meta_bytes);
		if (i == 0) {
			void *p = bkm_malloc(h, 10);
			bkm_get_stats(h, &st);
			/* Splitting 256 KiB down to a 1 KiB slab links a free half at
			 * 128, 64, ... 2 and 1 KiB: those on a page of their own add it. */
			size_t pages = 1;
			for (size_t off = BKM_PAGE_DEFAULT; off < BKM_ARENA_DEFAULT; off <<= 1)
				pages += off % pg == 0;
			assert_int_equal(st.resident_bytes, pages * pg);
			bkm_free(h, p);
		}
		assert_kheap_ok(h);
		bkm_destroy(h);
		assert_int_equal(m.mapped, 0);
	}
}

/*
 * outside_links: the zone writes no free page, so a fresh heap with nothing
 * populated holds no page, and a first small block makes only its slab's
 * page resident (splitting the arena links no free half); the metadata
 * holds 16 bytes per zone page more. Freed pages go back whole: their
 * first page holds no link.
 */
/* Nothing populated at creation, the links where `outside` says. */
static struct bkm_config unpopulated(int outside)
{
	struct bkm_config cfg = kconfig(NULL, NULL, NULL);
	cfg.populate_bytes = 0;
	cfg.outside_links = outside;
	return cfg;
}

static void test_kmalloc_outside_links(void **state)
{
	(void)state;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	struct bkm_stats in, st;
	struct bkm_config cfg = unpopulated(0);
	struct bkm_heap *h = kheap(&cfg);
	bkm_get_stats(h, &in);
	bkm_destroy(h);
	cfg.outside_links = 1;
	cfg.retain_bytes = 0;
	h = kheap(&cfg);
	bkm_get_stats(h, &st);
	assert_int_equal(st.resident_bytes, 0);
	assert_true(st.meta_bytes >= in.meta_bytes + BKM_ARENA_DEFAULT / BKM_PAGE_DEFAULT * 16 - pg);
	void *p = bkm_malloc(h, 10);
	assert_non_null(p);
	bkm_get_stats(h, &st);
	assert_int_equal(st.resident_bytes, pg);
	/* A run of 40 KiB written whole, then freed: its pages all go back. */
	unsigned char *r = bkm_malloc(h, 40u << 10);
	assert_non_null(r);
	memset(r, 7, 40u << 10);
	bkm_get_stats(h, &st);
	assert_int_equal(st.resident_bytes, pg + (40u << 10));
	bkm_free(h, r);
	bkm_get_stats(h, &st);
	assert_int_equal(st.resident_bytes, pg);
	assert_int_equal(st.released_bytes, 40u << 10);
	bkm_free(h, p);
	assert_kheap_ok(h);
	bkm_destroy(h);
}

/*
 * With outside links, the system pages of the arena's metadata that hold
 * list entries only count once the zone may have written one of their
 * entries: a 4 MiB arena has 64 KiB of entries (16 system pages); a small
 * block splits the arena down from 2 MiB halves, writing the entries of
 * five of those pages' first halves at most; runs across the arena write
 * more, and bkm_check holds every free block's entry to a counted page
 * (K4). Metadata the zone had to clear itself (a map hook's) counts whole.
 */
static void test_kmalloc_outside_links_count_written_entries(void **state)
{
	(void)state;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	struct bkm_stats st0, st;
	struct bkm_config cfg = unpopulated(1);
	cfg.arena_bytes = 4u << 20;
	struct bkm_heap *h = kheap(&cfg);
	struct bkm_arena *a = h->arenas[0];
	size_t entries = (cfg.arena_bytes / BKM_PAGE_DEFAULT) * 16;
	assert_true(a->link_n >= entries / pg - 1 && a->link_n <= entries / pg);
	assert_true(a->link_pages <= 1); /* the arena's one free block */
	size_t link0 = h->link_bytes;
	bkm_get_stats(h, &st0);
	assert_int_equal(st0.footprint_bytes, st0.resident_bytes + st0.meta_bytes);
	void *p = bkm_malloc(h, 10);
	assert_non_null(p);
	bkm_get_stats(h, &st);
	assert_true(a->link_pages >= 1 && a->link_pages <= 6);
	assert_int_equal(h->link_bytes, a->link_pages * pg);
	assert_int_equal(st.footprint_bytes - st0.footprint_bytes,
			 st.resident_bytes - st0.resident_bytes + h->link_bytes - link0);
	/* runs all over the arena, some freed: every free block's entry is counted */
	void *r[12];
	for (int i = 0; i < 12; i++)
		r[i] = bkm_malloc(h, (size_t)(i + 5) << 14);
	for (int i = 0; i < 12; i += 2)
		bkm_free(h, r[i]);
	assert_kheap_ok(h);
	assert_true(a->link_pages > 5 && a->link_pages <= a->link_n);
	bkm_get_stats(h, &st);
	assert_true(st.peak_footprint_bytes >= st.footprint_bytes);
	/* a free block's entry on a page no longer counted: K4 says so */
	size_t i = 0;
	while (i < a->link_n && !(a->linkmap[i / 64] >> (i % 64) & 1u))
		i++;
	a->linkmap[i / 64] &= ~((uint64_t)1 << (i % 64));
	a->link_pages--;
	h->link_bytes -= pg;
	assert_true(bkm_check(h, NULL, NULL) >= 1);
	a->linkmap[i / 64] |= (uint64_t)1 << (i % 64);
	a->link_pages++;
	h->link_bytes += pg;
	assert_kheap_ok(h);
	for (int k = 1; k < 12; k += 2)
		bkm_free(h, r[k]);
	bkm_free(h, p);
	assert_kheap_ok(h);
	bkm_destroy(h);
	/* metadata from a map hook: no promise of zero, the zone cleared it all */
	struct kmap m;
	memset(&m, 0, sizeof(m));
	cfg = kconfig(&m, NULL, NULL);
	cfg.outside_links = 1;
	cfg.arena_bytes = 4u << 20;
	h = kheap(&cfg);
	assert_int_equal(h->arenas[0]->link_n, 0);
	assert_int_equal(h->link_bytes, 0);
	bkm_destroy(h);
}

/*
 * release_min_bytes: a purge gives back runs of free resident pages of at
 * least that many bytes; a smaller one stays resident (and counted) until
 * it merges into a larger one. 0 gives back every run.
 */
static void test_kmalloc_release_min(void **state)
{
	(void)state;
	for (int every = 0; every < 2; every++) {
		struct bkm_stats st0, st;
		struct bkm_config cfg = unpopulated(1);
		cfg.retain_bytes = 0;
		if (every)
			cfg.release_min_bytes = 0;
		struct bkm_heap *h = kheap(&cfg);
		unsigned char *a = bkm_malloc(h, 8u << 10), *b = bkm_malloc(h, 8u << 10);
		assert_non_null(a);
		assert_ptr_equal(b, a + (8u << 10)); /* buddies in a fresh arena */
		memset(a, 1, 8u << 10);
		memset(b, 2, 8u << 10);
		bkm_get_stats(h, &st0);
		assert_int_equal(st0.resident_bytes, 16u << 10);
		/* 8 KiB free and resident: below the default least run. */
		bkm_free(h, a);
		bkm_get_stats(h, &st);
		assert_int_equal(st.resident_bytes, every ? 8u << 10 : 16u << 10);
		assert_int_equal(st.released_bytes, every ? 8u << 10 : 0);
		assert_int_equal(st.footprint_bytes, st0.footprint_bytes - st0.resident_bytes +
							     st.resident_bytes);
		/* With its buddy, one free run of 16 KiB: it goes back either way. */
		bkm_free(h, b);
		bkm_get_stats(h, &st);
		assert_int_equal(st.resident_bytes, 0);
		assert_int_equal(st.released_bytes, 16u << 10);
		assert_kheap_ok(h);
		bkm_destroy(h);
	}
}

/* Growing maps arenas four times larger up to 1 MiB, then twice; destroy unmaps them all. */
static void test_kmalloc_arenas_grow(void **state)
{
	(void)state;
	struct kmap m;
	memset(&m, 0, sizeof(m));
	struct bkm_config cfg = kconfig(&m, NULL, NULL);
	struct bkm_heap *h = kheap(&cfg);
	void *p[400];
	for (int i = 0; i < 400; i++) {
		p[i] = bkm_malloc(h, i % 2 ? 9000 : 3000);
		assert_non_null(p[i]);
		kfill(p[i], i % 2 ? 9000 : 3000, (unsigned)i);
	}
	struct bkm_stats st;
	bkm_get_stats(h, &st);
	assert_int_equal(st.nr_arenas, 4);
	assert_int_equal(st.arena_bytes, (256u << 10) + (1u << 20) + (2u << 20) + (4u << 20));
	assert_int_equal(st.maps, 4);
	assert_true(st.footprint_bytes >= st.held_bytes);
	for (int i = 0; i < 400; i++)
		assert_true(kfill_ok(p[i], i % 2 ? 9000 : 3000, (unsigned)i));
	assert_kheap_ok(h);
	bkm_destroy(h);
	assert_int_equal(m.mapped, 0);
}

/* At the limit: NULL and ENOMEM, a counted failure, and nothing already held is lost. */
static void test_kmalloc_limit(void **state)
{
	(void)state;
	struct bkm_config cfg = kconfig(NULL, NULL, NULL);
	cfg.limit_bytes = 2u << 20;
	struct bkm_heap *h = kheap(&cfg);
	void *p[4096];
	int n = 0;
	while (n < 4096 && (p[n] = bkm_malloc(h, 20000)) != NULL) {
		kfill(p[n], 20000, (unsigned)n);
		n++;
	}
	assert_true(n > 10 && n < 4096);
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(bkm_malloc(h, 3u << 20));
	assert_int_equal(errno, ENOMEM);
	struct bkm_stats st;
	bkm_get_stats(h, &st);
	assert_int_equal(st.failures, 2);
	assert_true(st.arena_bytes <= cfg.limit_bytes);
	for (int i = 0; i < n; i++) {
		assert_true(kfill_ok(p[i], 20000, (unsigned)i));
		bkm_free(h, p[i]);
	}
	assert_kheap_ok(h);
	bkm_destroy(h);
}

/* The map hook failing: creation fails cleanly, growth fails cleanly. */
static void test_kmalloc_map_failure(void **state)
{
	(void)state;
	struct kmap m;
	memset(&m, 0, sizeof(m));
	m.fail_from = 1;
	struct bkm_config cfg = kconfig(&m, NULL, NULL);
	errno = 0;
	assert_null(bkm_create(&cfg));
	assert_int_equal(errno, ENOMEM);
	memset(&m, 0, sizeof(m));
	m.fail_from = 2; /* the state maps, the first arena does not */
	errno = 0;
	assert_null(bkm_create(&cfg));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(m.mapped, 0);
	memset(&m, 0, sizeof(m));
	m.fail_from = 3; /* no second arena, no huge block */
	struct bkm_heap *h = kheap(&cfg);
	void *p[100];
	int n = 0;
	while (n < 100 && (p[n] = bkm_malloc(h, 30000)) != NULL)
		n++;
	assert_true(n > 0 && n < 100);
	assert_int_equal(errno, ENOMEM);
	assert_null(bkm_malloc(h, 2u << 20));
	for (int i = 0; i < n; i++)
		bkm_free(h, p[i]);
	assert_non_null(p[0] = bkm_malloc(h, 30000));
	bkm_free(h, p[0]);
	assert_kheap_ok(h);
	bkm_destroy(h);
	assert_int_equal(m.mapped, 0);
}

/*
 * Memory goes back: after most of 24 MiB is freed, free pages are given
 * back with madvise and wholly free arenas unmapped, so the footprint falls
 * to a fraction of its peak; allocating again works.
 */
static void test_kmalloc_memory_goes_back(void **state)
{
	(void)state;
	struct klog l;
	memset(&l, 0, sizeof(l));
	struct bkm_config cfg = kconfig(NULL, NULL, &l);
	struct bkm_heap *h = kheap(&cfg);
	enum { N = 1200 };
	static void *p[N];
	for (int i = 0; i < N; i++) {
		size_t n = i % 3 ? 30000 : 500;
		p[i] = bkm_malloc(h, n);
		assert_non_null(p[i]);
		memset(p[i], 1, n);
	}
	struct bkm_stats peak;
	bkm_get_stats(h, &peak);
	assert_true(peak.footprint_bytes > 20u << 20);
	for (int i = 0; i < N; i++)
		if (i % 50)
			bkm_free(h, p[i]);
	struct bkm_stats after;
	bkm_get_stats(h, &after);
	assert_true(after.footprint_bytes < peak.footprint_bytes / 3);
	assert_true(after.released_bytes > 0 || after.unmaps > 0);
	assert_int_equal(after.peak_footprint_bytes, peak.footprint_bytes);
	assert_true(l.n[BKM_EV_RELEASE] + l.n[BKM_EV_ARENA_FREE] > 0);
	assert_kheap_ok(h);
	for (int i = 0; i < N; i++)
		if (i % 50 == 0)
			bkm_free(h, p[i]);
	for (int i = 0; i < 200; i++) {
		p[i] = bkm_malloc(h, 30000);
		assert_non_null(p[i]);
		memset(p[i], 2, 30000);
	}
	for (int i = 0; i < 200; i++)
		bkm_free(h, p[i]);
	assert_kheap_ok(h);
	bkm_destroy(h);
}

/* Huge blocks are mappings of their own, counted while held, unmapped when freed. */
static void test_kmalloc_huge_blocks(void **state)
{
	(void)state;
	struct kmap m;
	memset(&m, 0, sizeof(m));
	struct bkm_config cfg = kconfig(&m, NULL, NULL);
	struct bkm_heap *h = kheap(&cfg);
	struct bkm_stats before, st;
	bkm_get_stats(h, &before);
	void *a = bkm_malloc(h, 5u << 20), *b = bkm_malloc(h, (1u << 20) + 1);
	bkm_get_stats(h, &st);
	assert_int_equal(st.huge_allocs, 2);
	assert_int_equal(st.huge_bytes, (5u << 20) + (1u << 20) + 4096);
	assert_true(st.footprint_bytes >= before.footprint_bytes + st.huge_bytes);
	assert_int_equal(st.nr_arenas, 1);
	bkm_free(h, a);
	bkm_free(h, b);
	bkm_get_stats(h, &st);
	assert_int_equal(st.huge_allocs, 0);
	assert_int_equal(st.unmaps, 2);
	assert_kheap_ok(h);
	bkm_destroy(h);
	assert_int_equal(m.mapped, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kmalloc_footprint_at_start),
		cmocka_unit_test(test_kmalloc_populate),
		cmocka_unit_test(test_kmalloc_outside_links),
		cmocka_unit_test(test_kmalloc_outside_links_count_written_entries),
		cmocka_unit_test(test_kmalloc_release_min),
		cmocka_unit_test(test_kmalloc_arenas_grow),
		cmocka_unit_test(test_kmalloc_limit),
		cmocka_unit_test(test_kmalloc_map_failure),
		cmocka_unit_test(test_kmalloc_memory_goes_back),
		cmocka_unit_test(test_kmalloc_huge_blocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
