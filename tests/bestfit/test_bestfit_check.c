/* SPDX-License-Identifier: MIT */
/*
 * test_bestfit_check.c - bfit_check against each kind of damage, one at a
 * time: every invariant it claims to verify is broken on purpose (through
 * the heap's internal layout) and must be reported, and a repaired heap
 * must check clean again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bestfit/bestfit_internal.h"
#include "bfit_test.h"

static _Alignas(16) unsigned char buf[BFIT_DEMO_BYTES];
static struct bfit *h;
static char *a, *b, *c; /* blocks of 32, 48 and 64 bytes; b is freed */

struct report_log {
	int count;      /* reports */
	char all[1024]; /* every message, one per line */
};

static struct report_log log_;

static void report_add(void *arg, const char *msg)
{
	struct report_log *l = arg;
	size_t len = strlen(l->all);

	l->count++;
	if (len + strlen(msg) + 2 < sizeof l->all) {
		memcpy(l->all + len, msg, strlen(msg));
		memcpy(l->all + len + strlen(msg), "\n", 2);
	}
}

static int heap_setup(void **state)
{
	(void)state;
	h = bfit_init(buf, sizeof buf, NULL, NULL);
	a = bfit_malloc(h, 28);
	b = bfit_malloc(h, 44);
	c = bfit_malloc(h, 60);
	bfit_free(h, b); /* layout: A32 F48 A64 F* */
	memset(&log_, 0, sizeof log_);
	return bfit_test_layout(h, "A32 F48 A64 F*") ? 0 : -1;
}

static uint32_t gran(const void *p)
{
	return (uint32_t)(((const unsigned char *)p - h->base) / GRANULE);
}

/* bfit_check must find at least one problem and say `what`. */
static void check_reports(const char *what)
{
	memset(&log_, 0, sizeof log_);
	assert_true(bfit_check(h, report_add, &log_) > 0);
	assert_true(log_.count > 0);
	if (!strstr(log_.all, what))
		fail_msg("no report containing \"%s\" in:\n%s", what, log_.all);
}

static void check_clean(void)
{
	assert_int_equal(bfit_test_check(h), 0);
}

static void test_bestfit_check_start_bit(void **state)
{
	(void)state;
	start_clear(h, gran(c)); /* c now looks part of b */
	check_reports("header size");
	start_set(h, gran(c));
	start_set(h, gran(c) + 1); /* a stray start inside c */
	check_reports("header size 4, the start bitmap 1");
	start_clear(h, gran(c) + 1);
	check_clean();
	h->starts[(h->granules + 2) / 64] |= (uint64_t)1 << ((h->granules + 2) % 64);
	check_reports("past the sentinel");
	h->starts[(h->granules + 2) / 64] &= ~((uint64_t)1 << ((h->granules + 2) % 64));
	check_clean();
}

static void test_bestfit_check_free_bit(void **state)
{
	(void)state;
	free_mark(h, gran(c)); /* c, allocated, marked free */
	check_reports("free bit 1");
	free_unmark(h, gran(c));
	free_mark(h, gran(c) + 1); /* no block starts there */
	check_reports("free bits set where no block starts");
	free_unmark(h, gran(c) + 1);
	check_clean();
}

static void test_bestfit_check_header_flags(void **state)
{
	(void)state;
	/* c follows the free block b: PREV_FREE set. */
	*blk_hdr(h, gran(c)) &= ~HDR_ALLOC;
	check_reports("header flags 2, free bit 0");
	*blk_hdr(h, gran(c)) |= HDR_ALLOC;
	*blk_hdr(h, gran(c)) &= ~HDR_PREV_FREE;
	check_reports("prev-free bit 0, left block free 1");
	*blk_hdr(h, gran(c)) |= HDR_PREV_FREE;
	check_clean();
}

static void test_bestfit_check_free_neighbours(void **state)
{
	(void)state;
	free_mark(h, gran(a)); /* a looks free beside free b */
	*blk_hdr(h, gran(a)) &= ~HDR_ALLOC;
	check_reports("follows a free block");
	free_unmark(h, gran(a));
	*blk_hdr(h, gran(a)) |= HDR_ALLOC;
	check_clean();
}

static void test_bestfit_check_tree_membership(void **state)
{
	(void)state;
	assert_true(bfit_tree_remove(h, gran(b)));
	assert_false(bfit_tree_remove(h, gran(b))); /* not there any more */
	check_reports("not in the tree");
	bfit_tree_insert(h, gran(b));
	check_clean();
}

static void test_bestfit_check_tree_node_allocated(void **state)
{
	(void)state;
	free_unmark(h, gran(b)); /* b in the tree, but allocated by the free bitmap */
	check_reports("is not a free block");
	free_mark(h, gran(b));
	check_clean();
}

/*
 * A second free block in the tree (the tail, the top, stays out of it):
 * d, of four granules, after c. Layout A32 F48 A64 F64 A64 F*.
 */
static uint32_t second_free_block(void)
{
	char *d = bfit_malloc(h, 60);

	bfit_malloc(h, 60);
	bfit_free(h, d);
	assert_true(bfit_test_layout(h, "A32 F48 A64 F64 A64 F*"));
	check_clean();
	return gran(d);
}

/* The two free blocks in the tree, as a tree of our own making. */
static void tree_make(uint32_t root, uint32_t child, int left)
{
	h->root = root;
	*blk_left(h, root) = left ? child : 0;
	*blk_right(h, root) = left ? 0 : child;
	*blk_left(h, child) = 0;
	*blk_right(h, child) = 0;
}

/* Rebuild the proper tree of b and d (given). */
static void tree_restore(uint32_t d)
{
	h->root = 0;
	h->free_blocks = 1; /* the top */
	h->free_bytes = (size_t)(h->granules + 1 - h->last) * GRANULE;
	bfit_tree_insert(h, gran(b));
	bfit_tree_insert(h, d);
}

static void test_bestfit_check_tree_order(void **state)
{
	uint32_t big = second_free_block(), small = gran(b); /* keys: b < d */

	(void)state;
	assert_true(blk_size(h, small) < blk_size(h, big));
	tree_make(small, big, 1); /* the larger key on the left */
	check_reports("out of order");
	tree_restore(big);
	check_clean();
}

static void test_bestfit_check_tree_heap_order(void **state)
{
	uint32_t big = second_free_block(), small = gran(b);

	(void)state;
	if (bfit_tree_priority(small) > bfit_tree_priority(big))
		tree_make(big, small, 1); /* keys fine, the child outranks its parent */
	else
		tree_make(small, big, 0);
	check_reports("heap order");
	tree_restore(big);
	check_clean();
}

static void test_bestfit_check_top_in_tree(void **state)
{
	(void)state;
	bfit_tree_insert(h, h->last); /* the top may not be in the tree */
	check_reports("F6: the top, at offset");
}

static void test_bestfit_check_tree_cycle(void **state)
{
	uint32_t root = h->root, saved = *blk_left(h, root);

	(void)state;
	*blk_left(h, root) = root;
	check_reports("tree");
	*blk_left(h, root) = saved;
	check_clean();
}

static void test_bestfit_check_counters(void **state)
{
	(void)state;
	h->free_bytes += 16;
	check_reports("counters");
	h->free_bytes -= 16;
	h->free_blocks++;
	check_reports("free blocks");
	h->free_blocks--;
	check_clean();
}

static void test_bestfit_check_sentinel(void **state)
{
	uint32_t *s = blk_hdr(h, h->granules + 1), saved = *s;

	(void)state;
	*s = 7u << HDR_SHIFT | HDR_ALLOC;
	check_reports("F4: sentinel damaged");
	*s = saved;
	check_clean();
	start_clear(h, h->granules + 1);
	check_reports("sentinel missing");
	start_set(h, h->granules + 1);
	check_clean();
	h->last = gran(c); /* the record of the last block, wrong */
	check_reports("F4: the last block is at offset");
	h->last = gran(c) + 4;
	check_clean();
}

static int block_count(void *arg, const struct bfit_block *blk)
{
	(void)blk;
	++*(int *)arg;
	return 0;
}

/* A header damaged to any value: reported, and the walk still shows the true blocks. */
static void test_bestfit_check_bad_size_walk_unchanged(void **state)
{
	uint32_t saved = *blk_hdr(h, gran(c));
	int blocks = 0;

	(void)state;
	*blk_hdr(h, gran(c)) = HDR_ALLOC; /* size 0 */
	check_reports("header size 0, the start bitmap 4");
	assert_int_equal(bfit_walk(h, block_count, &blocks), 0);
	assert_int_equal(blocks, 4); /* a, b, c and the tail, from the bitmaps */
	*blk_hdr(h, gran(c)) = 0xffffffffu;
	check_reports("F1: block at offset");
	*blk_hdr(h, gran(c)) = saved;
	check_clean();
}

/* The summaries: a bit that disagrees with its word is reported. */
static void test_bestfit_check_summary(void **state)
{
	static _Alignas(16) unsigned char big[1 << 16];
	struct bfit *saved = h;

	(void)state;
	h = bfit_init(big, sizeof big, NULL, NULL);
	assert_true(h->nlevels >= 2);
	h->summary[0] ^= (uint64_t)1 << 5; /* word 5 of the start bitmap is 0 */
	check_reports("F2: summary level 1 bit 5");
	h->summary[0] ^= (uint64_t)1 << 5;
	check_clean();
	h = saved;
}

#define T(name) cmocka_unit_test_setup(name, heap_setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bestfit_check_start_bit),
		T(test_bestfit_check_free_bit),
		T(test_bestfit_check_header_flags),
		T(test_bestfit_check_free_neighbours),
		T(test_bestfit_check_tree_membership),
		T(test_bestfit_check_tree_node_allocated),
		T(test_bestfit_check_tree_order),
		T(test_bestfit_check_tree_heap_order),
		T(test_bestfit_check_top_in_tree),
		T(test_bestfit_check_tree_cycle),
		T(test_bestfit_check_counters),
		T(test_bestfit_check_sentinel),
		T(test_bestfit_check_bad_size_walk_unchanged),
		T(test_bestfit_check_summary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
