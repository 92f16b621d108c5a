/* SPDX-License-Identifier: MIT */
/*
 * test_kmalloc_stress.c - a model-based stress of the kmalloc heap: a
 * fixed-seed generator mallocs, callocs, reallocs, aligned-allocs and frees
 * blocks of every kind (slab objects of all classes, runs, huge blocks);
 * the model knows every live block, its size and the pattern it was filled
 * with. Every block must be aligned, hold at least what was asked
 * (usable_size), and keep its pattern until it is freed (so no two live
 * blocks ever overlap); realloc must keep the prefix. bkm_check runs after
 * every operation. Four configurations: the defaults; 4 KiB pages with
 * eight classes per doubling and a low retain (so pages go back often);
 * a limit that makes allocations fail; a fixed buffer.
 * 1,000,000 operations in all in the optimized build (make check's gcc
 * build); 100,000 in an unoptimized one (the coverage build), 4,000 under
 * valgrind, 16,000 with the sanitizers, whose build also checks after
 * every call itself: the check is O(heap). The slab caches' own stress
 * (tests/slab) runs a million operations in the same build.
 */
#include "kmalloc_test.h"
#include "test_build.h"

#include <errno.h>

#define NSLOTS 256

struct slot {
	unsigned char *p;
	size_t size;
	unsigned seed;
};

struct stress {
	struct bkm_heap *h;
	struct slot s[NSLOTS];
	uint64_t rng;
	unsigned seed;
	int allow_huge;
	unsigned long fails;
};

static uint64_t rnd(struct stress *t)
{
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return t->rng;
}

static size_t rnd_size(struct stress *t)
{
	unsigned r = (unsigned)(rnd(t) % 1000);
	size_t cap = r < 700 ? 256 : r < 950 ? 4096 : r < 995 || !t->allow_huge ? 70000 : 3u << 20;
	return (size_t)(rnd(t) % (cap + 1));
}

static void slot_set(struct stress *t, struct slot *s, unsigned char *p, size_t size, size_t align)
{
	assert_int_equal((uintptr_t)p % align, 0);
	assert_true(bkm_usable_size(t->h, p) >= size);
	s->p = p;
	s->size = size;
	s->seed = t->seed++;
	kfill(p, size, s->seed);
}

static void slot_verify(const struct slot *s)
{
	if (!kfill_ok(s->p, s->size, s->seed)) {
		print_error("block %p of %zu bytes damaged\n", (void *)s->p, s->size);
		fail();
	}
}

static void nomem(struct stress *t)
{
	assert_int_equal(errno, ENOMEM);
	t->fails++;
}

static void op_new(struct stress *t, struct slot *s)
{
	size_t size = rnd_size(t), align = 16;
	unsigned kind = (unsigned)(rnd(t) % 8);
	unsigned char *p;
	errno = 0;
	if (kind < 5) {
		p = bkm_malloc(t->h, size);
	} else if (kind < 7) {
		p = bkm_calloc(t->h, 1, size);
		for (size_t i = 0; p && i < size; i++)
			assert_int_equal(p[i], 0);
	} else {
		align = (size_t)16 << (rnd(t) % 10);
		p = bkm_aligned_alloc(t->h, align, size);
	}
	if (p)
		slot_set(t, s, p, size, size >= 16 ? align : 1);
	else
		nomem(t);
}

static void op_realloc(struct stress *t, struct slot *s)
{
	size_t size = rnd_size(t);
	slot_verify(s);
	errno = 0;
	unsigned char *q = bkm_realloc(t->h, s->p, size);
	if (!q && size) {
		nomem(t);
		slot_verify(s); /* untouched */
		return;
	}
	if (!size) {
		s->p = NULL;
		return;
	}
	size_t keep = s->size < size ? s->size : size;
	assert_true(kfill_ok(q, keep, s->seed));
	slot_set(t, s, q, size, size >= 16 ? 16 : 1);
}

static void op_free(struct stress *t, struct slot *s)
{
	slot_verify(s);
	bkm_free(t->h, s->p);
	s->p = NULL;
}

static void run(const struct bkm_config *cfg, unsigned long nops, uint64_t seed, int allow_huge)
{
	static struct stress t;
	memset(&t, 0, sizeof(t));
	t.h = kheap(cfg);
	t.rng = seed;
	t.allow_huge = allow_huge;
	for (unsigned long i = 0; i < nops; i++) {
		struct slot *s = &t.s[rnd(&t) % NSLOTS];
		unsigned what = (unsigned)(rnd(&t) % 10);
		if (!s->p)
			op_new(&t, s);
		else if (what < 3)
			op_realloc(&t, s);
		else
			op_free(&t, s);
		assert_kheap_ok(t.h);
	}
	struct bkm_stats st;
	size_t live = 0;
	for (int i = 0; i < NSLOTS; i++)
		live += t.s[i].p != NULL;
	bkm_get_stats(t.h, &st);
	assert_int_equal(st.live_allocs, live);
	for (int i = 0; i < NSLOTS; i++)
		if (t.s[i].p)
			op_free(&t, &t.s[i]);
	bkm_get_stats(t.h, &st);
	assert_int_equal(st.live_allocs, 0);
	assert_int_equal(st.held_bytes, 0);
	assert_kheap_ok(t.h);
	print_message("%lu operations, %lu allocations failed, footprint peak %zu\n", nops, t.fails,
		      st.peak_footprint_bytes);
	bkm_destroy(t.h);
}

static unsigned long ops_per_run(void)
{
	if (getenv("BUDDY_UNDER_VALGRIND"))
		return 1000;
#if TEST_SANITIZED
	return 4000;
#elif TEST_OPTIMIZED
	return 250000;
#else
	return 25000;
#endif
}

static void test_kmalloc_stress_defaults(void **state)
{
	(void)state;
	struct bkm_config cfg = kconfig(NULL, NULL, NULL);
	run(&cfg, ops_per_run(), 0x9e3779b97f4a7c15ull, 1);
}

static void test_kmalloc_stress_4k_pages_low_retain(void **state)
{
	(void)state;
	struct bkm_config cfg = kconfig(NULL, NULL, NULL);
	cfg.page_size = 4096;
	cfg.class_steps = 8;
	cfg.max_class_bytes = 8192;
	cfg.retain_bytes = 64u << 10;
	cfg.small_slabs = 1;
	cfg.slab_reserve = 0;
	run(&cfg, ops_per_run(), 0x2545f4914f6cdd1dull, 1);
}

/* The zone's links in the metadata; a low retain, so free pages go back whole. */
static void test_kmalloc_stress_outside_links(void **state)
{
	(void)state;
	struct bkm_config cfg = kconfig(NULL, NULL, NULL);
	cfg.outside_links = 1;
	cfg.retain_bytes = 64u << 10;
	run(&cfg, ops_per_run() / 4, 0x51ed270b27402c1dull, 1);
}

static void test_kmalloc_stress_limited(void **state)
{
	(void)state;
	struct bkm_config cfg = kconfig(NULL, NULL, NULL);
	cfg.limit_bytes = 3u << 20;
	cfg.huge_bytes = 256u << 10;
	run(&cfg, ops_per_run(), 0x123456789ull, 1);
}

static void test_kmalloc_stress_fixed_buffer(void **state)
{
	(void)state;
	size_t len = 4u << 20;
	void *buf = aligned_alloc(4096, len);
	struct bkm_config cfg = kconfig(NULL, NULL, NULL);
	cfg.buffer = buf;
	cfg.buffer_bytes = len;
	run(&cfg, ops_per_run(), 0xfeedfaceull, 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kmalloc_stress_defaults),
		cmocka_unit_test(test_kmalloc_stress_4k_pages_low_retain),
		cmocka_unit_test(test_kmalloc_stress_outside_links),
		cmocka_unit_test(test_kmalloc_stress_limited),
		cmocka_unit_test(test_kmalloc_stress_fixed_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
