/* SPDX-License-Identifier: MIT */
/*
 * bestfit_tree.h - the free blocks of the best-fit heap, in a treap keyed
 * by (size, address).
 *
 * A treap (Seidel and Aragon, "Randomized search trees", 1996) is a binary
 * search tree on the keys that is also a max-heap on a random priority per
 * node; its expected depth is O(log F) for F nodes. Here a block joining
 * the tree gets a fixed hash of its granule index as its priority, stored
 * in the block beside the two child links, so runs are reproducible.
 *
 * Best fit is the leftmost node whose size is at least the request: one
 * descent, which also keeps the link to it, so the node is taken out
 * without a second search. Insert descends while the priorities on the
 * path are higher, then splits the subtree below by the key; remove
 * replaces the node by the merge of its two subtrees. All are iterative
 * and O(depth), expected O(log F), with no recursion and no parent links.
 *
 * Most changes a malloc or a free makes to the tree keep its shape: the
 * remainder of a split is the best fit's key made smaller, a merged block
 * a neighbour's key made larger. When the new key still lies between the
 * old one's neighbours in key order (the descent that finds the node finds
 * them too), the new block simply takes the node's place, links and
 * priority (tree_take, tree_grow), instead of a remove and an insert. The
 * priority it inherits was a hash of some other address, as independent of
 * the keys as its own would be, so the expected depth is unchanged.
 *
 * The operations are inline here for the malloc family's hot paths; a call
 * per tree operation cost a tenth of a short program's allocator
 * instructions (bestfit_tree.c has them as functions for the rest).
 *
 * The links live in free blocks, where a program's stray write can change
 * them (bestfit_internal.h): every descent follows a link only to a granule
 * of the block area and takes at most free_blocks + 1 steps, and a node
 * whose links are written, or that is handed out, must be a free block by
 * the free bitmap. A key (a node's header size) read on the way is not
 * checked: a damaged one can only misdirect the search.
 *
 * The free_bytes and free_blocks counters change here for the tree's
 * blocks; the top (the last block, when free) is counted in bestfit.c.
 */
#ifndef BUDDY_BESTFIT_TREE_H
#define BUDDY_BESTFIT_TREE_H

#include "bestfit/bestfit_internal.h"

/*
 * The 32-bit finaliser of MurmurHash3 (Austin Appleby, public domain): a
 * bijection on 32-bit values that spreads every input bit over the output.
 */
static inline uint32_t tree_priority(uint32_t g)
{
	g ^= g >> 16;
	g *= 0x85ebca6bu;
	g ^= g >> 13;
	g *= 0xc2b2ae35u;
	g ^= g >> 16;
	return g;
}

/*
 * The tree's order: size, then address, as one 64-bit number. A free
 * block's header is its size shifted left, with no flags, so the header
 * itself orders as the size.
 */
static inline uint64_t key_of(const struct bfit *h, uint32_t t)
{
	return (uint64_t)*blk_hdr(h, t) << 32 | t;
}

/* A node whose links are about to be written: a free block of the area. */
static inline int node_writable(const struct bfit *h, uint32_t t)
{
	return node_ok(h, t) && is_free(h, t);
}

/* The node a link lives in (0 for the root pointer). */
static inline uint32_t link_owner(const struct bfit *h, const uint32_t *link)
{
	return link == &h->root ? 0 : (uint32_t)(((uintptr_t)link - (uintptr_t)h->base) / GRANULE);
}

/* A link that may be written: the root, or one in a free block. */
static inline int link_writable(const struct bfit *h, const uint32_t *link)
{
	return link == &h->root || is_free(h, link_owner(h, link));
}

static COLD int tree_damaged(struct bfit *h, uint32_t t)
{
	return bfit_damage(h, "corrupted free-block tree: a link leads outside the free blocks",
			   node_ok(h, t) ? blk_ptr(h, t) : h->base);
}

/*
 * Budgets: a descent takes at most free_blocks steps in a sound tree; one
 * more means a damaged link made a cycle.
 */
typedef ptrdiff_t budget_t;

/*
 * Split the subtree t into keys below k (hung from *lo) and above k (from
 * *hi). Every node on the way has one link rewritten.
 */
static inline int tree_split(struct bfit *h, uint32_t t, uint64_t k, uint32_t *lo, uint32_t *hi)
{
	budget_t budget = (budget_t)h->free_blocks;

	while (t) {
		if (unlikely(!node_writable(h, t) || --budget < 0))
			return tree_damaged(h, t);
		if (key_of(h, t) < k) {
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
	return 0;
}

/* Join two subtrees where every key in a is below every key in b, at *link. */
static inline int tree_join(struct bfit *h, uint32_t a, uint32_t b, uint32_t *link)
{
	budget_t budget = (budget_t)h->free_blocks;

	while (a && b) {
		if (unlikely(!node_writable(h, a) || !node_writable(h, b) || --budget < 0))
			return tree_damaged(h, node_writable(h, a) ? b : a);
		if (*blk_prio(h, a) > *blk_prio(h, b)) {
			*link = a;
			link = blk_right(h, a);
			a = *link;
		} else {
			*link = b;
			link = blk_left(h, b);
			b = *link;
		}
	}
	a = a ? a : b;
	if (unlikely(a && !node_writable(h, a)))
		return tree_damaged(h, a);
	*link = a;
	return 0;
}

/*
 * The descents below take their steps four at a time between budget
 * checks (a step checks only that the link stays in the area): a sound
 * tree is walked in at most free_blocks steps, so a budget of
 * free_blocks + 3 cannot run out before a cycle has been gone round. The
 * four calls in a row look alike to clang-tidy, but each moves the link on.
 */
#define STEPS 4

/* Insert: one step down while the node outranks the new one. */
static inline int insert_step(const struct bfit *h, uint32_t **link, uint32_t pri, uint64_t k)
{
	uint32_t t = **link;
	if (t - 1u >= h->granules || *blk_prio(h, t) <= pri)
		return 0;
	*link = k < key_of(h, t) ? blk_left(h, t) : blk_right(h, t);
	return 1;
}

/* Add the free block g (its header written, its bit in the free bitmap) to the tree. */
static HOT_INLINE int tree_insert(struct bfit *h, uint32_t g)
{
	uint32_t *link = &h->root, pri = tree_priority(g), t;
	uint64_t k = key_of(h, g);
	budget_t budget = (budget_t)h->free_blocks + STEPS - 1;

	BUDDY_ASSERT(node_writable(h, g) && is_start(h, g)); /* F3, F6: only free blocks join */
	*blk_prio(h, g) = pri;
	/* NOLINTNEXTLINE(misc-redundant-expression): four steps, not one */
	while (insert_step(h, &link, pri, k) && insert_step(h, &link, pri, k) &&
	       insert_step(h, &link, pri, k) && insert_step(h, &link, pri, k))
		if (unlikely((budget -= STEPS) < 0))
			return tree_damaged(h, *link);
	t = *link;
	if (unlikely((t && t - 1u >= h->granules) || !link_writable(h, link)))
		return tree_damaged(h, t && t - 1u >= h->granules ? t : link_owner(h, link));
	if (tree_split(h, t, k, blk_left(h, g), blk_right(h, g)))
		return -1;
	*link = g;
	h->free_bytes += (size_t)blk_size(h, g) * GRANULE;
	h->free_blocks++;
	return 0;
}

/* Remove: one step down towards g. */
static inline int remove_step(const struct bfit *h, uint32_t **link, uint32_t g, uint64_t k)
{
	uint32_t t = **link;
	if (t == g || t - 1u >= h->granules)
		return 0;
	*link = k < key_of(h, t) ? blk_left(h, t) : blk_right(h, t);
	return 1;
}

/* Take the free block g out of the tree; 0 if it is not there (damage, recorded). */
static HOT_INLINE int tree_remove(struct bfit *h, uint32_t g)
{
	uint32_t *link = &h->root;
	uint64_t k = key_of(h, g);
	budget_t budget = (budget_t)h->free_blocks + STEPS - 1;

	/* NOLINTNEXTLINE(misc-redundant-expression): four steps, not one */
	while (remove_step(h, &link, g, k) && remove_step(h, &link, g, k) &&
	       remove_step(h, &link, g, k) && remove_step(h, &link, g, k))
		if (unlikely((budget -= STEPS) < 0))
			break;
	if (unlikely(*link != g)) {
		bfit_damage(h, "corrupted free-block tree: a free block is not in it", blk_ptr(h, g));
		return 0;
	}
	if (unlikely(!link_writable(h, link))) {
		tree_damaged(h, link_owner(h, link));
		return 0;
	}
	if (tree_join(h, *blk_left(h, g), *blk_right(h, g), link))
		return 0;
	h->free_bytes -= (size_t)blk_size(h, g) * GRANULE;
	h->free_blocks--;
	return 1;
}

/*
 * Best fit: one step down, keeping the link to the smallest fitting node
 * seen and the last node passed on the right, which ends as the best fit's
 * predecessor in key order (the largest key of a block that does not fit).
 */
static inline int take_step(const struct bfit *h, uint32_t **link, uint32_t **best_link,
			    uint32_t *pred, uint32_t n_hdr)
{
	uint32_t t = **link;
	if (t - 1u >= h->granules)
		return 0;
	if (*blk_hdr(h, t) >= n_hdr) {
		*best_link = *link;
		*link = blk_left(h, t);
	} else {
		*pred = t;
		*link = blk_right(h, t);
	}
	return 1;
}

/*
 * The node at *link (old, a free block) gives its place to the block g:
 * g takes its links and its priority. The caller has made sure that g's key
 * lies between old's neighbours in key order, so the tree stays ordered,
 * and that g's links may be written (g is free, or being freed).
 */
static inline void node_replace(struct bfit *h, uint32_t *link, uint32_t old, uint32_t g)
{
	*blk_left(h, g) = *blk_left(h, old);
	*blk_right(h, g) = *blk_right(h, old);
	*blk_prio(h, g) = *blk_prio(h, old);
	*link = g;
}

/*
 * Take the best fit for n granules out of the tree, checked (a free block
 * whose header is true), if its size is at most max; 0 when none fits, when
 * it is larger than max (nothing taken), or on damage (recorded). With
 * split (0 < split <= n), when the block is larger than split granules and
 * its remainder past them can stay in its place in the tree, the remainder
 * is made a free block there (header written, its granules still counted
 * free; bitmaps not yet) and *placed set to 1.
 */
static HOT_INLINE uint32_t tree_take(struct bfit *h, uint32_t n, uint32_t max, uint32_t split,
				 int *placed)
{
	uint32_t *link = &h->root, *best_link = NULL, best, n_hdr = n << HDR_SHIFT, pred = 0;
	budget_t budget = (budget_t)h->free_blocks + STEPS - 1;

	/* NOLINTNEXTLINE(misc-redundant-expression): four steps, not one */
	while (take_step(h, &link, &best_link, &pred, n_hdr) &&
	       take_step(h, &link, &best_link, &pred, n_hdr) &&
	       take_step(h, &link, &best_link, &pred, n_hdr) &&
	       take_step(h, &link, &best_link, &pred, n_hdr))
		if (unlikely((budget -= STEPS) < 0))
			break;
	if (unlikely(*link)) { /* a link out of the area, or a cycle */
		tree_damaged(h, *link);
		return 0;
	}
	if (!best_link)
		return 0;
	best = *best_link;
	if (blk_size(h, best) > max)
		return 0; /* the caller has a smaller block that fits (checked when taken) */
	/* The block handed out, and the node whose link changes, are free blocks. */
	if (unlikely(!is_free(h, best) || !link_writable(h, best_link))) {
		tree_damaged(h, is_free(h, best) ? link_owner(h, best_link) : best);
		return 0;
	}
	uint32_t size = blk_checked_size(h, best, 0);
	if (unlikely(size < n)) {
		bfit_damage(h, "corrupted block header", blk_ptr(h, best));
		return 0;
	}
	/*
	 * Split in place: the remainder past the first `split` granules keeps
	 * best's place in the tree when its key is still above best's
	 * predecessor's (it is below best's, so below every later key), which
	 * saves taking best out and putting the remainder in. Not when best is
	 * the last block (it ends at the sentinel), which a sound tree never
	 * holds (the top stays out of it) but a damaged one can: its remainder
	 * must become the top.
	 */
	uint32_t rest = best + split;
	if (split && size > split && best + size != h->granules + 1 &&
	    (!pred || ((uint64_t)(size - split) << (HDR_SHIFT + 32) | rest) > key_of(h, pred))) {
		*blk_hdr(h, rest) = (size - split) << HDR_SHIFT;
		node_replace(h, best_link, best, rest);
		h->free_bytes -= (size_t)split * GRANULE;
		*placed = 1;
		return best;
	}
	if (tree_join(h, *blk_left(h, best), *blk_right(h, best), best_link))
		return 0;
	h->free_bytes -= (size_t)size * GRANULE;
	h->free_blocks--;
	return best;
}

/*
 * Grow in place: the free block old, in the tree, is to be replaced by the
 * block g (old itself, or the block just before it) with the larger key
 * (hdr, g), as a free sees a merge. Done without taking old out and putting
 * g in when the new key stays below old's successor (the leftmost node of
 * old's right subtree, else the last node the descent passed on the left).
 * 1 done (g holds old's place, links and priority; nothing else changes,
 * the counters neither); 0 when the order would break: old is taken out
 * of the tree instead, from the place the descent found (as
 * bfit_tree_remove); -1 on damage (recorded).
 */
static HOT_INLINE int tree_grow(struct bfit *h, uint32_t old, uint32_t g, uint32_t hdr)
{
	uint32_t *link = &h->root, succ = 0, t;
	uint64_t k = key_of(h, old);
	budget_t budget = (budget_t)h->free_blocks + 1;

	for (t = *link; t != old; t = *link) {
		if (unlikely(!node_ok(h, t) || --budget < 0))
			break;
		if (k < key_of(h, t)) {
			succ = t;
			link = blk_left(h, t);
		} else {
			link = blk_right(h, t);
		}
	}
	if (unlikely(t != old)) {
		bfit_damage(h, "corrupted free-block tree: a free block is not in it", blk_ptr(h, old));
		return -1;
	}
	if (unlikely(!link_writable(h, link)))
		return tree_damaged(h, link_owner(h, link));
	for (t = *blk_right(h, old); t; t = *blk_left(h, t)) {
		if (unlikely(!node_ok(h, t) || --budget < 0))
			return tree_damaged(h, t);
		succ = t;
	}
	if (succ && ((uint64_t)hdr << 32 | g) >= key_of(h, succ)) {
		if (tree_join(h, *blk_left(h, old), *blk_right(h, old), link))
			return -1;
		h->free_bytes -= (size_t)blk_size(h, old) * GRANULE;
		h->free_blocks--;
		return 0;
	}
	if (g != old)
		node_replace(h, link, old, g);
	return 1;
}

#endif
