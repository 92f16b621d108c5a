/* SPDX-License-Identifier: MIT */
/*
 * bestfit_tree.c - the free-block tree's operations (bestfit_tree.h) as
 * functions, for the checker and the statistics, and the tests; and the
 * searches only they need.
 */
#include "bestfit/bestfit_tree.h"

uint32_t bfit_tree_priority(uint32_t g)
{
	return tree_priority(g);
}

int bfit_tree_insert(struct bfit *h, uint32_t g)
{
	return tree_insert(h, g);
}

int bfit_tree_remove(struct bfit *h, uint32_t g)
{
	return tree_remove(h, g);
}

/*
 * The largest free block (highest address among equals), for statistics:
 * the rightmost node, if it is a free block with a true header; else 0.
 */
uint32_t bfit_tree_largest(const struct bfit *h)
{
	uint32_t t = h->root;
	budget_t budget = (budget_t)h->free_blocks;

	if (!t)
		return 0;
	while (node_ok(h, t) && --budget >= 0 && *blk_right(h, t))
		t = *blk_right(h, t);
	return node_ok(h, t) && is_free(h, t) && blk_checked_size(h, t, 0) ? t : 0;
}

/* Whether the block g is a node of the tree (searched by its key; never leaves the area). */
int bfit_tree_contains(const struct bfit *h, uint32_t g)
{
	uint32_t t = h->root;
	uint64_t k = key_of(h, g);
	budget_t budget = (budget_t)h->free_blocks;

	while (t != g && node_ok(h, t) && --budget >= 0)
		t = k < key_of(h, t) ? *blk_left(h, t) : *blk_right(h, t);
	return t == g;
}
