/* SPDX-License-Identifier: MIT */
/*
 * test_bestfit_placement.c - the heap's placement against a reference:
 * a plain array of blocks in address order, where malloc scans every free
 * block for the smallest that fits (lowest address among equals), free
 * merges with free neighbours, and realloc shrinks in place, grows into a
 * free right neighbour, or moves to a best-fit block. Both run the same
 * random workloads in lock-step; every returned offset and, every few
 * operations, the whole block layout must agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bfit_test.h"
#include "buddy/bestfit.h"

#define REF_MAX 8192

/* ---- the reference: blocks in address order, sizes in 16-byte granules ---- */

struct ref_heap {
	uint32_t off[REF_MAX];  /* block start, granules from the first block */
	uint32_t size[REF_MAX]; /* block size, granules */
	char used[REF_MAX];     /* 1 allocated */
	int n;                  /* blocks */
};

static void ref_insert(struct ref_heap *r, int i, uint32_t off, uint32_t size, char used)
{
	memmove(&r->off[i + 1], &r->off[i], (size_t)(r->n - i) * sizeof r->off[0]);
	memmove(&r->size[i + 1], &r->size[i], (size_t)(r->n - i) * sizeof r->size[0]);
	memmove(&r->used[i + 1], &r->used[i], (size_t)(r->n - i));
	r->off[i] = off;
	r->size[i] = size;
	r->used[i] = used;
	r->n++;
}

static void ref_delete(struct ref_heap *r, int i)
{
	memmove(&r->off[i], &r->off[i + 1], (size_t)(r->n - i - 1) * sizeof r->off[0]);
	memmove(&r->size[i], &r->size[i + 1], (size_t)(r->n - i - 1) * sizeof r->size[0]);
	memmove(&r->used[i], &r->used[i + 1], (size_t)(r->n - i - 1));
	r->n--;
}

static int ref_find(const struct ref_heap *r, uint32_t off)
{
	for (int i = 0; i < r->n; i++)
		if (r->off[i] == off)
			return i;
	fail_msg("reference has no block at %u", (unsigned)off);
	return -1;
}

static uint32_t ref_granules(size_t bytes)
{
	return (uint32_t)((bytes + 4 + 15) / 16); /* at least 1 */
}

/* Block i keeps m granules; the rest becomes a free block after it. */
static void ref_split(struct ref_heap *r, int i, uint32_t m)
{
	if (r->size[i] > m) {
		ref_insert(r, i + 1, r->off[i] + m, r->size[i] - m, 0);
		r->size[i] = m;
	}
}

static long ref_malloc(struct ref_heap *r, uint32_t m)
{
	int best = -1;

	for (int i = 0; i < r->n; i++)
		if (!r->used[i] && r->size[i] >= m && (best < 0 || r->size[i] < r->size[best]))
			best = i;
	if (best < 0)
		return -1;
	r->used[best] = 1;
	ref_split(r, best, m);
	return r->off[best];
}

/* Merge the free block i with free neighbours. */
static void ref_merge(struct ref_heap *r, int i)
{
	if (i + 1 < r->n && !r->used[i + 1]) {
		r->size[i] += r->size[i + 1];
		ref_delete(r, i + 1);
	}
	if (i > 0 && i < r->n && !r->used[i - 1]) {
		r->size[i - 1] += r->size[i];
		ref_delete(r, i);
	}
}

static void ref_free(struct ref_heap *r, uint32_t off)
{
	int i = ref_find(r, off);

	r->used[i] = 0;
	ref_merge(r, i);
}

static long ref_realloc(struct ref_heap *r, uint32_t off, uint32_t m)
{
	int i = ref_find(r, off);
	long moved;

	if (m <= r->size[i]) {
		ref_split(r, i, m);
		if (i + 1 < r->n && !r->used[i + 1])
			ref_merge(r, i + 1);
		return off;
	}
	if (i + 1 < r->n && !r->used[i + 1] && r->size[i] + r->size[i + 1] >= m) {
		r->size[i] += r->size[i + 1];
		ref_delete(r, i + 1);
		ref_split(r, i, m);
		return off;
	}
	moved = ref_malloc(r, m);
	if (moved >= 0)
		ref_free(r, off);
	return moved;
}

/* ---- lock-step driver ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12; /* xorshift64* (Vigna) */
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static size_t size_pick(void)
{
	uint64_t r = rng_next() % 100;

	if (r < 70)
		return (size_t)(rng_next() % 257);
	if (r < 95)
		return 256 + (size_t)(rng_next() % 1793);
	return 2048 + (size_t)(rng_next() % 6145);
}

struct lockstep {
	struct bfit *h;
	struct ref_heap ref;
	uintptr_t first;      /* payload address of the first block */
	void *live[REF_MAX];  /* allocated pointers */
	int nlive;
	long checked;         /* offsets compared */
};

struct layout_cmp {
	const struct ref_heap *ref;
	int i;        /* next reference block */
	int mismatch; /* blocks that differed */
};

static int layout_cmp_block(void *arg, const struct bfit_block *b)
{
	struct layout_cmp *c = arg;
	const struct ref_heap *r = c->ref;

	if (c->i >= r->n || b->offset != (size_t)r->off[c->i] * 16 ||
	    b->size != (size_t)r->size[c->i] * 16 || b->allocated != r->used[c->i])
		c->mismatch++;
	c->i++;
	return 0;
}

static void layouts_compare(struct lockstep *ls)
{
	struct layout_cmp c = { &ls->ref, 0, 0 };

	bfit_walk(ls->h, layout_cmp_block, &c);
	assert_int_equal(c.mismatch, 0);
	assert_int_equal(c.i, ls->ref.n);
}

static long offset_of(const struct lockstep *ls, const void *p)
{
	return p ? (long)(((uintptr_t)p - ls->first) / 16) : -1;
}

static void step_malloc(struct lockstep *ls)
{
	size_t size = size_pick();
	void *p = bfit_malloc(ls->h, size);
	long want = ref_malloc(&ls->ref, ref_granules(size));

	assert_int_equal(offset_of(ls, p), want);
	if (p)
		ls->live[ls->nlive++] = p;
	ls->checked++;
}

static void step_free(struct lockstep *ls)
{
	int k = (int)(rng_next() % (uint64_t)ls->nlive);

	ref_free(&ls->ref, (uint32_t)offset_of(ls, ls->live[k]));
	bfit_free(ls->h, ls->live[k]);
	ls->live[k] = ls->live[--ls->nlive];
}

static void step_realloc(struct lockstep *ls)
{
	int k = (int)(rng_next() % (uint64_t)ls->nlive);
	size_t size = size_pick();
	long want = ref_realloc(&ls->ref, (uint32_t)offset_of(ls, ls->live[k]), ref_granules(size));
	void *p = bfit_realloc(ls->h, ls->live[k], size ? size : 1);

	assert_int_equal(offset_of(ls, p), want);
	if (p)
		ls->live[k] = p;
	ls->checked++;
}

static void lockstep_run(size_t heap, uint64_t seed, int ops)
{
	struct lockstep *ls = calloc(1, sizeof *ls);
	void *mem = malloc(heap);

	assert_non_null(ls);
	assert_non_null(mem);
	ls->h = bfit_init(mem, heap, NULL, NULL);
	ls->first = (uintptr_t)bfit_malloc(ls->h, 0);
	bfit_free(ls->h, (void *)ls->first);
	struct bfit_stats st;
	bfit_get_stats(ls->h, &st);
	ref_insert(&ls->ref, 0, 0, (uint32_t)(st.heap_bytes / 16), 0);
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	for (int op = 0; op < ops; op++) {
		uint64_t r = rng_next() % 100;
		if (ls->nlive == 0 || (r < 50 && ls->nlive < REF_MAX / 2))
			step_malloc(ls);
		else if (r < 85)
			step_free(ls);
		else
			step_realloc(ls);
		if (op % 16 == 0)
			layouts_compare(ls);
	}
	layouts_compare(ls);
	assert_int_equal(bfit_test_check(ls->h), 0);
	free(mem);
	free(ls);
}

static int ops_count(void)
{
	return bfit_test_light() ? 1500 : 6000;
}

static void test_bestfit_placement_matches_reference_small_heap(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 4; seed++)
		lockstep_run((size_t)16 << 10, seed, ops_count()); /* often full: failures must agree */
}

static void test_bestfit_placement_matches_reference_large_heap(void **state)
{
	(void)state;
	for (uint64_t seed = 11; seed <= 14; seed++)
		lockstep_run((size_t)256 << 10, seed, ops_count());
}

static void test_bestfit_placement_reference_is_not_first_fit(void **state)
{
	struct ref_heap *r = calloc(1, sizeof *r);

	(void)state;
	/* free 3-granule block at 0, free 2-granule block at 4: best fit takes 4 */
	ref_insert(r, 0, 0, 3, 0);
	ref_insert(r, 1, 3, 1, 1);
	ref_insert(r, 2, 4, 2, 0);
	ref_insert(r, 3, 6, 1, 1);
	assert_int_equal(ref_malloc(r, 2), 4);
	assert_int_equal(ref_malloc(r, 2), 0);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bestfit_placement_reference_is_not_first_fit),
		cmocka_unit_test(test_bestfit_placement_matches_reference_small_heap),
		cmocka_unit_test(test_bestfit_placement_matches_reference_large_heap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
