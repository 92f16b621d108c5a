/* SPDX-License-Identifier: MIT */
/*
 * test_kmalloc_check.c - bkm_check names each of the heap's invariants
 * (K3..K6) when it is broken on purpose, and changes nothing; damage to the
 * zone's own links under the heap is reported as the heap's corruption; the
 * table of huge blocks grows past its first page and a heap destroyed with
 * huge blocks live unmaps them.
 */
#include "kmalloc_test.h"

#include "kmalloc/kmalloc_internal.h"

struct reports {
	char text[4096];
	size_t n;
};

static void collect(void *arg, const char *msg)
{
	struct reports *r = arg;
	size_t len = strlen(r->text);
	snprintf(r->text + len, sizeof(r->text) - len, "%s\n", msg);
	r->n++;
}

/* The check finds at least one problem, one of them containing want, each tagged K1..K6. */
static void expect_report(const struct bkm_heap *h, const char *want)
{
	struct reports r;
	memset(&r, 0, sizeof(r));
	size_t n = bkm_check(h, collect, &r);
	assert_int_equal(n, r.n);
	assert_true(n >= 1);
	if (!strstr(r.text, want)) {
		print_error("wanted '%s' in:\n%s", want, r.text);
		fail();
	}
	for (const char *l = r.text; *l; l = strchr(l, '\n') + 1)
		assert_true(l[0] == 'K' && l[1] >= '1' && l[1] <= '6' && l[2] == ':');
}

struct scene {
	struct bkm_heap *h;
	struct kerr e;
	char *small, *other, *run, *big, *huge1, *huge2;
};

/* Objects of two classes, a run, a run in a second arena, two huge blocks. */
static struct scene *scene_new(void)
{
	static struct scene sc;
	memset(&sc, 0, sizeof(sc));
	struct bkm_config cfg = kconfig(NULL, &sc.e, NULL);
	sc.h = kheap(&cfg);
	sc.small = bkm_malloc(sc.h, 64);
	sc.other = bkm_malloc(sc.h, 200);
	sc.run = bkm_malloc(sc.h, 5000);
	sc.big = bkm_malloc(sc.h, 300u << 10); /* more than the first arena */
	sc.huge1 = bkm_malloc(sc.h, 2u << 20);
	sc.huge2 = bkm_malloc(sc.h, 2u << 20);
	assert_non_null(sc.small);
	assert_non_null(sc.big);
	assert_non_null(sc.huge2);
	struct bkm_stats st;
	bkm_get_stats(sc.h, &st);
	assert_int_equal(st.nr_arenas, 2);
	assert_int_equal(st.huge_allocs, 2);
	assert_kheap_ok(sc.h);
	return &sc;
}

static uint8_t *map_byte(struct bkm_heap *h, const void *p)
{
	struct bkm_arena *a = bkm_arena_of(h, (uintptr_t)p);
	assert_non_null(a);
	return &a->map[bkm_page_index(h, a, (uintptr_t)p)];
}

static int first_free(void *arg, const struct bkm_block *b)
{
	if (b->kind != BKM_BLOCK_NONE)
		return 0;
	*(void **)arg = b->addr;
	return 1;
}

static void test_kmalloc_check_names_each_invariant(void **state)
{
	(void)state;
	struct scene *sc = scene_new();
	struct bkm_heap *h = sc->h;
	uint8_t *m, saved;

	/* K3: a free page marked as a slab's */
	void *free_block = NULL;
	assert_int_equal(bkm_walk(h, first_free, &free_block), 1);
	m = map_byte(h, free_block);
	*m = 1;
	expect_report(h, "(free) reads 1, expected 0");
	*m = KM_PG_FREE;

	/* K3: a run's second page not marked as its tail */
	m = map_byte(h, sc->run) + 1;
	saved = *m;
	*m = KM_PG_FREE;
	expect_report(h, "K3: page");
	*m = saved;

	/* K3: a run's head naming no class */
	m = map_byte(h, sc->run);
	saved = *m;
	*m = 0x7f;
	expect_report(h, "K3: allocated block at page");
	*m = saved;

	/* K3: a slab's pages marked for another class */
	m = map_byte(h, sc->small);
	saved = *m;
	*m = (uint8_t)(saved + 1);
	expect_report(h, "is not one of its slabs");
	*m = saved;

	/* K3: the pages an arena counts held */
	struct bkm_arena *a0 = h->arenas[0];
	a0->used_pages++;
	expect_report(h, "pages held, the zone");
	a0->used_pages--;

	/* K3: the runs counted */
	h->large_allocs++;
	expect_report(h, "runs of");
	h->large_allocs--;

	/* K4: a held page not marked resident */
	struct bkm_arena *ar = bkm_arena_of(h, (uintptr_t)sc->run);
	size_t sp = ((uintptr_t)sc->run - ar->base) >> h->sys_shift;
	ar->resident[sp / 64] &= ~((uint64_t)1 << (sp % 64));
	expect_report(h, "is held but not resident");
	ar->resident[sp / 64] |= (uint64_t)1 << (sp % 64);

	/* K4: the resident count, and the footprint made of it */
	h->resident_bytes += h->sys_page;
	expect_report(h, "arena totals differ");
	expect_report(h, "K4: footprint");
	h->resident_bytes -= h->sys_page;

	/* K4: a peak below the footprint */
	size_t peak = h->peak_footprint;
	h->peak_footprint = 0;
	expect_report(h, ", peak 0");
	h->peak_footprint = peak;

	/* K5: arenas out of order */
	struct bkm_arena *first = h->arenas[0];
	h->arenas[0] = h->arenas[1];
	h->arenas[1] = first;
	expect_report(h, "overlaps or precedes the one before");
	h->arenas[1] = h->arenas[0];
	h->arenas[0] = first;
	h->hint = first;

	/* K5: an arena the heap forgot */
	h->nr_arenas--;
	expect_report(h, "2 zone regions for 1 arenas");
	h->nr_arenas++;
	h->hint = first;

	/* K6: the huge bytes counted */
	h->huge_bytes++;
	expect_report(h, "K6: huge blocks hold");
	h->huge_bytes--;

	/* K6: two huge blocks overlapping */
	uintptr_t second = h->huge[1].addr;
	h->huge[1].addr = h->huge[0].addr;
	expect_report(h, "overlaps the one before");
	h->huge[1].addr = second;

	/* K6: a huge block inside an arena */
	uintptr_t zeroth = h->huge[0].addr;
	h->huge[0].addr = first->base;
	expect_report(h, "lies in an arena");
	h->huge[0].addr = zeroth;

	/* K1/K2 forward the zone's and the caches' own messages under the heap's tags */
	struct bslab_cache *c = &h->caches[bkm_class(h, 64)];
	c->allocs++;
	expect_report(h, "K2: S6: kmalloc-64:");
	c->allocs--;

	/* none of it reported damage, and the heap is whole again */
	assert_int_equal(sc->e.count, 0);
	assert_kheap_ok(h);
	struct reports r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(bkm_check(NULL, collect, &r), 1);
	assert_string_equal(r.text, "heap is NULL\n");
	assert_int_equal(bkm_check(NULL, NULL, NULL), 1);
	bkm_destroy(h);
}

/*
 * A free zone block's list link overwritten (a write after free into pages
 * the heap gave back): the zone finds it when it next takes that block, the
 * heap reports corruption through its own handler, and hands nothing out.
 */
static void test_kmalloc_zone_damage_is_reported(void **state)
{
	(void)state;
	SKIP_IF_FULL_CHECKS();
	struct kerr e;
	memset(&e, 0, sizeof(e));
	struct bkm_config cfg = kconfig(NULL, &e, NULL);
	cfg.zone_pcp_high = 0;
	struct bkm_heap *h = kheap(&cfg);
	assert_non_null(bkm_malloc(h, 64));
	/* the largest free block: the upper half of the first arena */
	uintptr_t *links = (uintptr_t *)(h->arenas[0]->base + h->arenas[0]->bytes / 2);
	struct bkm_block_info bi;
	bkm_block_info(h, links, &bi);
	assert_int_equal(bi.kind, BKM_BLOCK_NONE);
	annot_defined(links, 2 * sizeof(*links));
	links[0] = 0x4141414141414141ull;
	assert_null(bkm_malloc(h, 100u << 10)); /* a run from that block */
	assert_int_equal(e.count, 1);
	assert_int_equal(e.kind, BUDDY_ERR_CORRUPT);
	assert_true(bkm_check(h, NULL, NULL) >= 1);
	bkm_destroy(h);
}

/* More huge blocks than the first page of the table holds; destroy unmaps live ones. */
static void test_kmalloc_huge_table_grows(void **state)
{
	(void)state;
	struct kmap m;
	memset(&m, 0, sizeof(m));
	struct bkm_config cfg = kconfig(&m, NULL, NULL);
	cfg.max_class_bytes = 1024;
	cfg.huge_bytes = 2048;
	struct bkm_heap *h = kheap(&cfg);
	enum { N = 300 };
	static char *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = bkm_malloc(h, 3000 + (size_t)i);
		assert_non_null(p[i]);
		kfill(p[i], 16, (unsigned)i);
	}
	struct bkm_stats st;
	bkm_get_stats(h, &st);
	assert_int_equal(st.huge_allocs, N);
	assert_true(h->huge_cap >= N && h->huge_map_len > h->sys_page);
	assert_kheap_ok(h);
	for (int i = 0; i < N; i += 2)
		bkm_free(h, p[i]);
	for (int i = 1; i < N; i += 2)
		assert_true(kfill_ok(p[i], 16, (unsigned)i));
	assert_kheap_ok(h);
	bkm_destroy(h); /* half of them still live */
	assert_int_equal(m.mapped, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kmalloc_check_names_each_invariant),
		cmocka_unit_test(test_kmalloc_zone_damage_is_reported),
		cmocka_unit_test(test_kmalloc_huge_table_grows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
