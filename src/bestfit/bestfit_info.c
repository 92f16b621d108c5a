/* SPDX-License-Identifier: MIT */
/*
 * bestfit_info.c - the best-fit heap seen from outside: status texts,
 * statistics, the block walk and the invariant check.
 *
 * Stats are O(log F) (the largest free block is the tree's rightmost
 * node); walk and check visit every block, O(heap / 16) at worst, and
 * check also searches the tree once per free block, O(F log F).
 */
#include "bestfit/bestfit_internal.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const status_text[BFIT_NR_STATUS] = {
	[BFIT_OK] = "success",
	[BFIT_ENULL] = "required pointer argument is NULL",
	[BFIT_ESMALL] = "buffer too small for a heap",
	[BFIT_EINVALID] = "invalid pointer (never handed out)",
	[BFIT_EDOUBLE] = "double free",
	[BFIT_EINTERIOR] = "pointer into the middle of a block",
	[BFIT_ENOMEM] = "out of memory",
	[BFIT_EALIGN] = "alignment is not a power of two",
	[BFIT_EOVERFLOW] = "size computation overflows",
	[BFIT_ECORRUPT] = "heap corrupted",
};

const char *bfit_strerror(int status)
{
	if (status < 0 || status >= BFIT_NR_STATUS)
		return "unknown status";
	return status_text[status];
}

/* Bytes from the heap start to the end of the highest allocated block. */
static size_t heap_footprint(const struct bfit *h)
{
	uint32_t end = h->granules + 1;

	if (blk_prev_free(h, end))
		end -= *blk_tag_before(h, end);
	return (size_t)(end - 1) * GRANULE;
}

void bfit_get_stats(const struct bfit *h, struct bfit_stats *st)
{
	uint32_t big;

	if (!h || !st)
		return;
	memset(st, 0, sizeof *st);
	st->heap_bytes = (size_t)h->granules * GRANULE;
	st->meta_bytes = h->buffer_bytes - st->heap_bytes;
	st->header_bytes = BFIT_HEADER_BYTES;
	st->used_bytes = h->used_bytes;
	st->live_allocs = h->live_allocs;
	st->free_bytes = h->free_bytes;
	st->free_blocks = h->free_blocks;
	big = bfit_tree_largest(h);
	st->largest_free_bytes = big ? (size_t)blk_size(h, big) * GRANULE : 0;
	if (st->free_bytes)
		st->fragmentation = 1.0 - (double)st->largest_free_bytes / (double)st->free_bytes;
	st->footprint_bytes = heap_footprint(h);
	st->peak_footprint_bytes = h->peak_end ? (size_t)(h->peak_end - 1) * GRANULE : 0;
	st->peak_used_bytes = h->peak_used_bytes;
	st->allocs = h->allocs;
	st->frees = h->frees;
	st->failures = h->failures;
}

int bfit_walk(const struct bfit *h, bfit_walk_fn fn, void *arg)
{
	uint32_t g = 1;
	struct bfit_block b;

	if (!h || !fn)
		return 0;
	while (g <= h->granules) {
		uint32_t n = blk_size(h, g);
		int rc;
		if (n == 0 || n > h->granules + 1 - g)
			return 0; /* damaged; bfit_check says where */
		b.ptr = blk_ptr(h, g);
		b.offset = (size_t)(g - 1) * GRANULE;
		b.size = (size_t)n * GRANULE;
		b.allocated = blk_alloc(h, g);
		rc = fn(arg, &b);
		if (rc)
			return rc;
		g += n;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* check                                                               */
/* ------------------------------------------------------------------ */

struct check_state {
	const struct bfit *h;
	buddy_report_fn report;
	void *arg;
	size_t problems;        /* problems found so far */
	size_t free_bytes;      /* bytes in free blocks, counted by the walk */
	size_t free_blocks;     /* free blocks counted by the walk */
	size_t used_bytes;      /* bytes in allocated blocks */
	size_t live;            /* allocated blocks */
	size_t starts;          /* blocks seen (start bits expected) */
	size_t tree_nodes;      /* nodes visited in the tree */
};

static void check_fail(struct check_state *cs, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	cs->problems++;
	if (!cs->report)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cs->report(cs->arg, msg);
}

/* Check the block g of n granules against its neighbours and the tree. */
static void check_block(struct check_state *cs, uint32_t g, uint32_t n, int prev_free)
{
	const struct bfit *h = cs->h;
	size_t off = (size_t)(g - 1) * GRANULE;

	if (!bit_get(h, g))
		check_fail(cs, "F2: block at offset %zu: start bit clear", off);
	if (blk_prev_free(h, g) != prev_free)
		check_fail(cs, "F3: block at offset %zu: prev-free bit is %d, left block free %d",
			   off, blk_prev_free(h, g), prev_free);
	cs->starts++;
	if (blk_alloc(h, g)) {
		cs->used_bytes += (size_t)n * GRANULE;
		cs->live++;
		return;
	}
	cs->free_bytes += (size_t)n * GRANULE;
	cs->free_blocks++;
	if (prev_free)
		check_fail(cs, "F5: free block at offset %zu follows a free block", off);
	if (*blk_tag_before(h, g + n) != n)
		check_fail(cs, "F4: free block at offset %zu: boundary tag %u, size %u",
			   off, (unsigned)*blk_tag_before(h, g + n), (unsigned)n);
	if (!bfit_tree_contains(h, g))
		check_fail(cs, "F6: free block at offset %zu is not in the tree", off);
}

/* Walk the blocks; returns 0 when the chain of sizes is broken. */
static int check_blocks(struct check_state *cs)
{
	const struct bfit *h = cs->h;
	uint32_t g = 1;
	int prev_free = 0;

	while (g <= h->granules) {
		uint32_t n = blk_size(h, g);
		if (n == 0 || n > h->granules + 1 - g) {
			check_fail(cs, "F1: block at offset %zu: bad size %u granules",
				   (size_t)(g - 1) * GRANULE, (unsigned)n);
			return 0;
		}
		check_block(cs, g, n, prev_free);
		prev_free = !blk_alloc(h, g);
		g += n;
	}
	if (!bit_get(h, g) || !blk_alloc(h, g) || blk_size(h, g) != 0)
		check_fail(cs, "F1: sentinel damaged");
	else if (blk_prev_free(h, g) != prev_free)
		check_fail(cs, "F3: sentinel prev-free bit wrong");
	return 1;
}

/* In-order walk of the tree: keys increase, priorities form a max-heap. */
static void check_tree(struct check_state *cs, uint32_t t, uint32_t lo, uint32_t hi, unsigned depth)
{
	const struct bfit *h = cs->h;

	if (!t)
		return;
	if (depth > 200 || cs->tree_nodes > h->granules) {
		check_fail(cs, "F6: tree too deep or cyclic");
		return;
	}
	cs->tree_nodes++;
	if (t > h->granules || !bit_get(h, t) || blk_alloc(h, t)) {
		check_fail(cs, "F6: tree node %u is not a free block", (unsigned)t);
		return;
	}
	if ((lo && !key_less(h, lo, t)) || (hi && !key_less(h, t, hi)))
		check_fail(cs, "F6: tree node at offset %zu out of order", (size_t)(t - 1) * GRANULE);
	for (int side = 0; side < 2; side++) {
		uint32_t c = side ? *blk_right(h, t) : *blk_left(h, t);
		if (c && bfit_tree_priority(c) > bfit_tree_priority(t))
			check_fail(cs, "F6: tree node at offset %zu breaks the heap order",
				   (size_t)(c - 1) * GRANULE);
	}
	check_tree(cs, *blk_left(h, t), lo, t, depth + 1);
	check_tree(cs, *blk_right(h, t), t, hi, depth + 1);
}

static size_t bits_count(const struct bfit *h)
{
	size_t words = ((size_t)h->granules + 2 + 63) / 64, total = 0;

	for (size_t w = 0; w < words; w++)
		total += (size_t)__builtin_popcountll(h->starts[w]);
	return total;
}

size_t bfit_check(const struct bfit *h, buddy_report_fn report, void *arg)
{
	struct check_state cs = { h, report, arg, 0, 0, 0, 0, 0, 0, 0 };

	if (!h) {
		check_fail(&cs, "no heap"); /* no invariant: an argument */
		return cs.problems;
	}
	if (!check_blocks(&cs))
		return cs.problems;
	check_tree(&cs, h->root, 0, 0, 0);
	if (bits_count(h) != cs.starts + 1)
		check_fail(&cs, "F2: %zu start bits set for %zu blocks and the sentinel",
			   bits_count(h), cs.starts);
	if (cs.tree_nodes != cs.free_blocks || h->free_blocks != cs.free_blocks)
		check_fail(&cs, "F6: free blocks: %zu in the heap, %zu in the tree, counter %zu",
			   cs.free_blocks, cs.tree_nodes, h->free_blocks);
	if (h->free_bytes != cs.free_bytes || h->used_bytes != cs.used_bytes ||
	    h->live_allocs != cs.live)
		check_fail(&cs, "F7: counters: free %zu/%zu used %zu/%zu live %zu/%zu",
			   h->free_bytes, cs.free_bytes, h->used_bytes, cs.used_bytes,
			   h->live_allocs, cs.live);
	if (h->peak_used_bytes < h->used_bytes)
		check_fail(&cs, "F7: peak_used_bytes %zu below used_bytes %zu", h->peak_used_bytes,
			   h->used_bytes);
	return cs.problems;
}
