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
	bit_clear(h, gran(c));
	check_reports("start bit clear");
	bit_set(h, gran(c));
	bit_set(h, gran(c) + 1); /* a stray bit inside c */
	check_reports("start bits set");
	bit_clear(h, gran(c) + 1);
	check_clean();
}

static void test_bestfit_check_prev_free_bit(void **state)
{
	(void)state;
	*blk_hdr(h, gran(c)) &= ~HDR_PREV_FREE;
	check_reports("prev-free bit");
	*blk_hdr(h, gran(c)) |= HDR_PREV_FREE;
	check_clean();
}

static void test_bestfit_check_boundary_tag(void **state)
{
	(void)state;
	*blk_tag_before(h, gran(c)) = 5;
	check_reports("boundary tag");
	*blk_tag_before(h, gran(c)) = 3;
	check_clean();
}

static void test_bestfit_check_free_neighbours(void **state)
{
	(void)state;
	*blk_hdr(h, gran(a)) &= ~HDR_ALLOC; /* a looks free beside free b */
	check_reports("follows a free block");
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
	*blk_hdr(h, gran(b)) |= HDR_ALLOC;
	check_reports("is not a free block");
	*blk_hdr(h, gran(b)) &= ~HDR_ALLOC;
	check_clean();
}

/* The two free blocks, b and the tail, as a tree of our own making. */
static void tree_make(uint32_t root, uint32_t child, int left)
{
	h->root = root;
	*blk_left(h, root) = left ? child : 0;
	*blk_right(h, root) = left ? 0 : child;
	*blk_left(h, child) = 0;
	*blk_right(h, child) = 0;
}

/* Rebuild the proper tree of b and the tail. */
static void tree_restore(void)
{
	h->root = 0;
	h->free_blocks = 0;
	h->free_bytes = 0;
	bfit_tree_insert(h, gran(b));
	bfit_tree_insert(h, gran(c) + 4);
}

static void test_bestfit_check_tree_order(void **state)
{
	uint32_t small = gran(b), big = gran(c) + 4; /* keys: b < tail */

	(void)state;
	assert_true(key_less(h, small, big));
	tree_make(small, big, 1); /* the larger key on the left */
	check_reports("out of order");
	tree_restore();
	check_clean();
}

static void test_bestfit_check_tree_heap_order(void **state)
{
	uint32_t small = gran(b), big = gran(c) + 4;

	(void)state;
	if (bfit_tree_priority(small) > bfit_tree_priority(big))
		tree_make(big, small, 1); /* keys fine, the child outranks its parent */
	else
		tree_make(small, big, 0);
	check_reports("heap order");
	tree_restore();
	check_clean();
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
	check_reports("sentinel damaged");
	*s = HDR_ALLOC; /* right shape, prev-free bit lost */
	check_reports("sentinel prev-free");
	*s = saved;
	check_clean();
}

static int block_count(void *arg, const struct bfit_block *blk)
{
	(void)blk;
	++*(int *)arg;
	return 0;
}

static void test_bestfit_check_bad_size_stops_walk(void **state)
{
	uint32_t saved = *blk_hdr(h, gran(c));
	int blocks = 0;

	(void)state;
	*blk_hdr(h, gran(c)) = HDR_ALLOC | HDR_PREV_FREE; /* size 0 */
	check_reports("bad size");
	assert_int_equal(bfit_walk(h, block_count, &blocks), 0);
	assert_int_equal(blocks, 2); /* a and b, then the walk stops at c */
	*blk_hdr(h, gran(c)) = saved;
	check_clean();
}

#define T(name) cmocka_unit_test_setup(name, heap_setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bestfit_check_start_bit),
		T(test_bestfit_check_prev_free_bit),
		T(test_bestfit_check_boundary_tag),
		T(test_bestfit_check_free_neighbours),
		T(test_bestfit_check_tree_membership),
		T(test_bestfit_check_tree_node_allocated),
		T(test_bestfit_check_tree_order),
		T(test_bestfit_check_tree_heap_order),
		T(test_bestfit_check_tree_cycle),
		T(test_bestfit_check_counters),
		T(test_bestfit_check_sentinel),
		T(test_bestfit_check_bad_size_stops_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
