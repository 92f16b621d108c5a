/* SPDX-License-Identifier: MIT */
/*
 * test_bestfit_tree.c - the free-block tree stays shallow. Free blocks are
 * made in the orders that turn a plain search tree into a list (sizes
 * rising with the address, falling, all equal) and the tree's height must
 * stay within a small multiple of log2 of the number of free blocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "bestfit/bestfit_internal.h"
#include "bfit_test.h"

static unsigned tree_height(const struct bfit *h, uint32_t t)
{
	unsigned l, r;

	if (!t)
		return 0;
	l = tree_height(h, *blk_left(h, t));
	r = tree_height(h, *blk_right(h, t));
	return 1 + (l > r ? l : r);
}

static unsigned log2_ceil(size_t n)
{
	unsigned k = 0;

	while (((size_t)1 << k) < n)
		k++;
	return k;
}

/* n free blocks whose size in granules is size_of(i) for the i-th by address. */
static void height_check(size_t n, uint32_t (*size_of)(size_t i))
{
	size_t bytes = 0;
	void **blocks = calloc(n, sizeof *blocks), **fences = calloc(n, sizeof *fences);
	unsigned char *mem;
	struct bfit *h;
	struct bfit_stats st;

	for (size_t i = 0; i < n; i++)
		bytes += (size_t)(size_of(i) + 1) * GRANULE;
	mem = malloc(bytes + 4096 + bytes / 32); /* room for the bitmaps too */
	assert_non_null(mem);
	h = bfit_init(mem, bytes + 4096 + bytes / 32, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		blocks[i] = bfit_malloc(h, (size_t)size_of(i) * GRANULE - BFIT_HEADER_BYTES);
		fences[i] = bfit_malloc(h, 0);
		assert_non_null(fences[i]);
	}
	for (size_t i = 0; i < n; i++)
		bfit_free(h, blocks[i]);
	bfit_get_stats(h, &st);
	assert_int_equal(st.free_blocks, n + 1); /* and the tail */
	assert_true(tree_height(h, h->root) <= 3 * log2_ceil(n + 1) + 4);
	assert_int_equal(bfit_test_check(h), 0);
	free(mem);
	free(blocks);
	free(fences);
}

static uint32_t size_rising(size_t i)
{
	return (uint32_t)(1 + i);
}

static uint32_t size_falling(size_t i)
{
	return (uint32_t)(5000 - i % 5000);
}

static uint32_t size_equal(size_t i)
{
	(void)i;
	return 2;
}

static size_t blocks_count(void)
{
	return bfit_test_light() ? 500 : 4000;
}

static void test_bestfit_tree_shallow_for_rising_sizes(void **state)
{
	(void)state;
	height_check(blocks_count(), size_rising);
}

static void test_bestfit_tree_shallow_for_falling_sizes(void **state)
{
	(void)state;
	height_check(blocks_count(), size_falling);
}

static void test_bestfit_tree_shallow_for_equal_sizes(void **state)
{
	(void)state;
	height_check(blocks_count() * 8, size_equal);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bestfit_tree_shallow_for_rising_sizes),
		cmocka_unit_test(test_bestfit_tree_shallow_for_falling_sizes),
		cmocka_unit_test(test_bestfit_tree_shallow_for_equal_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
