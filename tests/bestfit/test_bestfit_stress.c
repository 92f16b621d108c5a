/* SPDX-License-Identifier: MIT */
/*
 * test_bestfit_stress.c - random workloads that fill every allocation with
 * a pattern of its own and verify it before every free and realloc, with
 * bfit_check after every operation; and a heap over a 1 GiB buffer.
 * Scaled down under valgrind (BUDDY_UNDER_VALGRIND); the 1 GiB heap is
 * skipped there.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bfit_test.h"
#include "buddy/bestfit.h"

#define LIVE_MAX 512

struct live_block {
	unsigned char *p; /* the allocation */
	size_t size;      /* bytes asked for */
	unsigned tag;     /* seeds the pattern */
};

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12; /* xorshift64* (Vigna) */
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static unsigned char pattern_byte(unsigned tag, size_t i)
{
	return (unsigned char)((size_t)tag * 131u + i * 7u + (i >> 8));
}

static void pattern_fill(struct live_block *b, size_t from)
{
	for (size_t i = from; i < b->size; i++)
		b->p[i] = pattern_byte(b->tag, i);
}

static void pattern_verify(const struct live_block *b, size_t upto)
{
	for (size_t i = 0; i < upto && i < b->size; i++)
		if (b->p[i] != pattern_byte(b->tag, i))
			fail_msg("block %p byte %zu: 0x%02x, want 0x%02x", (void *)b->p, i,
				 b->p[i], pattern_byte(b->tag, i));
}

static size_t size_pick(void)
{
	uint64_t r = rng_next() % 100;

	if (r < 75)
		return (size_t)(rng_next() % 200);
	if (r < 97)
		return (size_t)(rng_next() % 3000);
	return (size_t)(rng_next() % 40000);
}

/* One allocation by malloc, calloc or aligned_alloc, patterned. */
static void stress_alloc(struct bfit *h, struct live_block *live, int *n, unsigned tag)
{
	size_t size = size_pick();
	uint64_t how = rng_next() % 10;
	unsigned char *p;

	if (how < 7)
		p = bfit_malloc(h, size);
	else if (how < 9)
		p = bfit_calloc(h, 1, size);
	else
		p = bfit_aligned_alloc(h, (size_t)32 << (rng_next() % 6), size);
	if (!p)
		return;
	assert_int_equal((uintptr_t)p % 16, 0);
	assert_true(bfit_usable_size(h, p) >= size);
	if (how >= 7 && how < 9)
		for (size_t i = 0; i < size; i++)
			assert_int_equal(p[i], 0);
	live[*n] = (struct live_block){ p, size, tag };
	pattern_fill(&live[*n], 0);
	++*n;
}

static void stress_realloc(struct bfit *h, struct live_block *b)
{
	size_t size = size_pick() + 1;
	unsigned char *p = bfit_realloc(h, b->p, size);

	if (!p) {
		pattern_verify(b, b->size); /* a failed realloc keeps the block */
		return;
	}
	b->p = p;
	pattern_verify(b, size);
	if (size > b->size) {
		size_t old = b->size;
		b->size = size;
		pattern_fill(b, old);
	}
	b->size = size;
}

static void stress_run(size_t heap, uint64_t seed, int ops)
{
	struct live_block live[LIVE_MAX];
	unsigned char *mem = malloc(heap);
	struct bfit *h;
	int n = 0;

	assert_non_null(mem);
	h = bfit_init(mem, heap, NULL, NULL);
	rng_state = seed;
	for (int op = 0; op < ops; op++) {
		uint64_t r = rng_next() % 100;
		if (n == 0 || (r < 50 && n < LIVE_MAX)) {
			stress_alloc(h, live, &n, (unsigned)op);
		} else if (r < 85) {
			int k = (int)(rng_next() % (uint64_t)n);
			pattern_verify(&live[k], live[k].size);
			bfit_free(h, live[k].p);
			live[k] = live[--n];
		} else {
			stress_realloc(h, &live[rng_next() % (uint64_t)n]);
		}
		assert_int_equal(bfit_test_check(h), 0);
	}
	for (int k = 0; k < n; k++) {
		pattern_verify(&live[k], live[k].size);
		bfit_free(h, live[k].p);
	}
	assert_true(bfit_test_layout(h, "F*"));
	free(mem);
}

static void test_bestfit_stress_patterns_survive(void **state)
{
	int ops = bfit_test_light() ? 1500 : 12000;

	(void)state;
	stress_run((size_t)64 << 10, 7, ops);
	stress_run((size_t)1 << 20, 8, ops);
	stress_run(((size_t)1 << 20) + 13, 9, ops);
}

/* ---- 1 GiB ---- */

static void gib_workload(struct bfit *h)
{
	static void *small[20000];
	void *big[6];
	size_t nsmall = bfit_test_light() ? 2000 : 20000;

	for (int i = 0; i < 6; i++) {
		big[i] = bfit_malloc(h, (size_t)150 << 20);
		assert_non_null(big[i]);
		((char *)big[i])[0] = 1;
		((char *)big[i])[((size_t)150 << 20) - 1] = 2;
	}
	assert_null(bfit_malloc(h, (size_t)200 << 20)); /* 1 GiB - 900 MiB left */
	for (size_t i = 0; i < nsmall; i++)
		assert_non_null(small[i] = bfit_malloc(h, 16 + i % 500));
	for (size_t i = 0; i < nsmall; i += 2)
		bfit_free(h, small[i]);
	bfit_free(h, big[1]);
	bfit_free(h, big[3]);
	void *grown = bfit_realloc(h, big[2], (size_t)300 << 20); /* into big[3]'s space */
	assert_ptr_equal(grown, big[2]);
	assert_int_equal(((char *)big[2])[0], 1);
	assert_int_equal(bfit_test_check(h), 0);
	for (size_t i = 1; i < nsmall; i += 2)
		bfit_free(h, small[i]);
	for (int i = 0; i < 6; i++)
		if (i != 1 && i != 3)
			bfit_free(h, big[i]);
}

static void test_bestfit_gib_buffer(void **state)
{
	size_t len = (size_t)1 << 30;
	struct bfit_stats st;
	struct bfit *h;
	void *mem;

	(void)state;
	if (bfit_test_light()) {
		print_message("skipped: a heap this large is too slow under valgrind\n");
		skip();
	}
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		print_message("skipped: cannot reserve %zu bytes of address space\n", len);
		skip();
	}
	h = bfit_init(mem, len, NULL, NULL);
	assert_non_null(h);
	bfit_get_stats(h, &st);
	/* Two bitmaps of one bit per 16 bytes, and their summaries: 1.6 %. */
	assert_true(st.heap_bytes > len - len / 60);
	assert_true(st.meta_bytes < len / 60);
	gib_workload(h);
	assert_true(bfit_test_layout(h, "F*"));
	assert_int_equal(bfit_test_check(h), 0);
	munmap(mem, len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bestfit_stress_patterns_survive),
		cmocka_unit_test(test_bestfit_gib_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
