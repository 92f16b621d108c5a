/* SPDX-License-Identifier: MIT */
/*
 * bestfit_tree.c - the free blocks of the best-fit heap, in a treap keyed
 * by (size, address).
 *
 * A treap (Seidel and Aragon, "Randomized search trees", 1996) is a binary
 * search tree on the keys that is also a max-heap on a random priority per
 * node; its expected depth is O(log F) for F nodes. Here a node's priority
 * is a fixed hash of its granule index, so the tree needs no storage beyond
 * the two child links inside the free block, and the shape is reproducible.
 *
 * Best fit is the leftmost node whose size is at least the request: one
 * descent. Insert descends while the priorities on the path are higher,
 * then splits the subtree below by the key; remove replaces the node by the
 * merge of its two subtrees. All are iterative and O(depth), expected
 * O(log F), with no recursion and no parent links.
 *
 * The free_bytes and free_blocks counters change here and only here.
 */
#include "bestfit/bestfit_internal.h"

/*
 * The 32-bit finaliser of MurmurHash3 (Austin Appleby, public domain): a
 * bijection on 32-bit values that spreads every input bit over the output.
 */
uint32_t bfit_tree_priority(uint32_t g)
{
	g ^= g >> 16;
	g *= 0x85ebca6bu;
	g ^= g >> 13;
	g *= 0xc2b2ae35u;
	g ^= g >> 16;
	return g;
}

/* Split the subtree t into keys below g (into *lo) and above g (into *hi). */
static void tree_split(const struct bfit *h, uint32_t t, uint32_t g, uint32_t *lo, uint32_t *hi)
{
	while (t) {
		if (key_less(h, t, g)) {
			*lo = t;
			lo = blk_right(h, t);
			t = *lo;
		} else {
			*hi = t;
			hi = blk_left(h, t);
			t = *hi;
		}
	}
	*lo = 0;
	*hi = 0;
}

/* Join two subtrees where every key in a is below every key in b. */
static uint32_t tree_join(const struct bfit *h, uint32_t a, uint32_t b)
{
	uint32_t root = 0;
	uint32_t *link = &root;

	while (a && b) {
		if (bfit_tree_priority(a) > bfit_tree_priority(b)) {
			*link = a;
			link = blk_right(h, a);
			a = *link;
		} else {
			*link = b;
			link = blk_left(h, b);
			b = *link;
		}
	}
	*link = a ? a : b;
	return root;
}

/* Add the free block g (its header already written) to the tree. */
void bfit_tree_insert(struct bfit *h, uint32_t g)
{
	uint32_t *link = &h->root;
	uint32_t pri = bfit_tree_priority(g);

	/* F6: only free blocks join the tree (their header was just written). */
	BUDDY_ASSERT(g >= 1 && g <= h->granules && bit_get(h, g) && !blk_alloc(h, g));

	while (*link && bfit_tree_priority(*link) > pri)
		link = key_less(h, g, *link) ? blk_left(h, *link) : blk_right(h, *link);
	tree_split(h, *link, g, blk_left(h, g), blk_right(h, g));
	*link = g;
	h->free_bytes += (size_t)blk_size(h, g) * GRANULE;
	h->free_blocks++;
}

/* Take the free block g out of the tree; 0 if it is not there. */
int bfit_tree_remove(struct bfit *h, uint32_t g)
{
	uint32_t *link = &h->root;

	while (*link && *link != g)
		link = key_less(h, g, *link) ? blk_left(h, *link) : blk_right(h, *link);
	if (!*link)
		return 0;
	*link = tree_join(h, *blk_left(h, g), *blk_right(h, g));
	h->free_bytes -= (size_t)blk_size(h, g) * GRANULE;
	h->free_blocks--;
	return 1;
}

/* The smallest free block of at least n granules, lowest address first; 0 if none. */
uint32_t bfit_tree_best_fit(const struct bfit *h, uint32_t n)
{
	uint32_t t = h->root, best = 0;

	while (t) {
		if (blk_size(h, t) >= n) {
			best = t;
			t = *blk_left(h, t);
		} else {
			t = *blk_right(h, t);
		}
	}
	return best;
}

/* The largest free block (highest address among equals); 0 if none. */
uint32_t bfit_tree_largest(const struct bfit *h)
{
	uint32_t t = h->root;

	while (t && *blk_right(h, t))
		t = *blk_right(h, t);
	return t;
}

/* Whether the block g is a node of the tree (searched by its key). */
int bfit_tree_contains(const struct bfit *h, uint32_t g)
{
	uint32_t t = h->root;
	unsigned depth = 0;

	while (t && t != g && depth++ < 1u << 20)
		t = key_less(h, g, t) ? *blk_left(h, t) : *blk_right(h, t);
	return t == g;
}
