/* SPDX-License-Identifier: MIT */
/*
 * test_heap_stress.c - randomized use of the buddy heap with a fixed seed:
 * every block is filled with a pattern that must survive until it is freed
 * and the kept prefix must survive realloc; live blocks must never overlap;
 * the heap's check runs after every operation at first, then every 64.
 * Runs over mapped chunks (growing, hitting a limit, unmapping) and over a
 * fixed buffer. Scaled down (1,500 operations) under valgrind.
 */
#include "heap_test.h"

#include <errno.h>

#define NSLOTS 512

struct slot {
	unsigned char *p; /* NULL when empty */
	size_t size;      /* bytes filled with the pattern */
	unsigned seed;    /* pattern seed */
};

struct stress {
	struct bheap *h;
	struct slot s[NSLOTS];
	uint64_t rng;     /* xorshift64 state */
	size_t max_size;  /* largest request */
	size_t max_align; /* largest alignment asked for */
	unsigned gen;     /* next pattern seed */
	unsigned nulls;   /* requests that failed */
	unsigned every_op; /* check after each of this many first operations */
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
	unsigned r = (unsigned)(rnd(t) % 100);
	size_t cap = r < 70 ? 256 : r < 95 ? 8192 : t->max_size;
	if (cap > t->max_size)
		cap = t->max_size;
	return (size_t)(rnd(t) % (cap + 1)); /* zero included */
}

static void slot_fill(struct stress *t, struct slot *s, unsigned char *p, size_t size)
{
	s->p = p;
	s->size = size;
	s->seed = t->gen++;
	pattern_fill(p, size, s->seed);
}

static void op_alloc(struct stress *t, struct slot *s)
{
	size_t size = rnd_size(t);
	unsigned kind = (unsigned)(rnd(t) % 3);
	unsigned char *p;

	if (kind == 0) {
		p = bheap_malloc(t->h, size);
	} else if (kind == 1) {
		p = bheap_calloc(t->h, 1, size);
		for (size_t i = 0; p && i < size; i++)
			assert_int_equal(p[i], 0);
	} else {
		size_t align = (size_t)16 << (rnd(t) % 9);
		if (align > t->max_align)
			align = t->max_align;
		p = bheap_aligned_alloc(t->h, align, size);
		if (p)
			assert_int_equal((uintptr_t)p % align, 0);
	}
	if (!p) {
		assert_int_equal(errno, ENOMEM);
		t->nulls++;
		return;
	}
	assert_true(bheap_usable_size(t->h, p) >= size);
	slot_fill(t, s, p, size);
}

static void op_realloc(struct stress *t, struct slot *s)
{
	size_t size = rnd_size(t);
	if (size == 0)
		size = 1; /* realloc(p, 0) frees; covered by the unit tests */
	unsigned char *q = bheap_realloc(t->h, s->p, size);
	if (!q) {
		assert_int_equal(errno, ENOMEM);
		assert_true(pattern_ok(s->p, s->size, s->seed)); /* untouched */
		t->nulls++;
		return;
	}
	size_t keep = s->size < size ? s->size : size;
	assert_true(pattern_ok(q, keep, s->seed));
	slot_fill(t, s, q, size);
}

static void op_free(struct stress *t, struct slot *s)
{
	assert_true(pattern_ok(s->p, s->size, s->seed));
	bheap_free(t->h, s->p);
	s->p = NULL;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct slot *)a)->p;
	uintptr_t y = (uintptr_t)((const struct slot *)b)->p;
	return x < y ? -1 : x > y;
}

/* Live blocks sorted by address must not overlap; every pattern intact. */
static void check_no_overlap(struct stress *t)
{
	static struct slot live[NSLOTS];
	size_t n = 0, held = 0;
	for (int i = 0; i < NSLOTS; i++) {
		if (!t->s[i].p)
			continue;
		assert_true(pattern_ok(t->s[i].p, t->s[i].size, t->s[i].seed));
		live[n++] = t->s[i];
	}
	qsort(live, n, sizeof(live[0]), cmp_ptr);
	for (size_t i = 0; i < n; i++) {
		size_t u = bheap_usable_size(t->h, live[i].p);
		held += u;
		if (i + 1 < n)
			assert_true(live[i].p + u <= live[i + 1].p);
	}
	struct bheap_stats st;
	bheap_get_stats(t->h, &st);
	assert_int_equal(st.live_allocs, n);
	assert_int_equal(st.held_bytes, held);
}

static void stress_run(struct stress *t, unsigned ops)
{
	for (unsigned i = 0; i < ops; i++) {
		struct slot *s = &t->s[rnd(t) % NSLOTS];
		if (!s->p)
			op_alloc(t, s);
		else if (rnd(t) % 2)
			op_free(t, s);
		else
			op_realloc(t, s);
		if (i < t->every_op || i % 64 == 0)
			assert_heap_ok(t->h);
		if (i % 512 == 0)
			check_no_overlap(t);
	}
	check_no_overlap(t);
	for (int i = 0; i < NSLOTS; i++)
		if (t->s[i].p)
			op_free(t, &t->s[i]);
	struct bheap_stats st;
	bheap_get_stats(t->h, &st);
	assert_int_equal(st.live_allocs, 0);
	assert_int_equal(st.requested_bytes, 0);
	assert_heap_ok(t->h);
}

static unsigned nr_ops(struct stress *t)
{
	t->every_op = under_valgrind() ? 100 : 500;
	return under_valgrind() ? 1500 : 40000;
}

static void test_heap_stress_mapped_chunks(void **state)
{
	(void)state;
	static struct stress t;
	struct map_ctx m = { 0 };
	struct bheap_config cfg = test_config(&m, NULL, 65536);
	cfg.limit_bytes = (size_t)8 << 20;
	memset(&t, 0, sizeof(t));
	t.h = bheap_create(&cfg);
	t.rng = 0x9e3779b97f4a7c15ull;
	t.max_size = under_valgrind() ? 70000 : 300000; /* above the 64 KiB chunk */
	t.max_align = 8192;
	stress_run(&t, nr_ops(&t));
	struct bheap_stats st;
	bheap_get_stats(t.h, &st);
	print_message("stress (chunks): %u failed requests, %llu maps, %llu unmaps, "
		      "%llu in place, %llu moved, peak arena %zu\n",
		      t.nulls, (unsigned long long)st.maps, (unsigned long long)st.unmaps,
		      (unsigned long long)st.reallocs_in_place,
		      (unsigned long long)st.reallocs_moved, st.peak_arena_bytes);
	assert_true(st.maps > 1);
	assert_true(st.unmaps > 0);
	assert_true(st.reallocs_in_place > 0);
	assert_true(st.reallocs_moved > 0);
	bheap_destroy(t.h);
	assert_int_equal(m.mapped, 0);
}

static void test_heap_stress_fixed_buffer(void **state)
{
	(void)state;
	static struct stress t;
	static _Alignas(4096) unsigned char buf[1 << 20];
	struct bheap_config cfg = test_config(NULL, NULL, 0);
	cfg.buffer = buf;
	cfg.buffer_bytes = sizeof(buf);
	memset(&t, 0, sizeof(t));
	t.h = bheap_create(&cfg);
	assert_non_null(t.h);
	t.rng = 0x2545f4914f6cdd1dull;
	t.max_size = 16384;
	t.max_align = 4096;
	stress_run(&t, nr_ops(&t));
	print_message("stress (fixed): %u failed requests\n", t.nulls);
	bheap_destroy(t.h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_stress_mapped_chunks),
		cmocka_unit_test(test_heap_stress_fixed_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
