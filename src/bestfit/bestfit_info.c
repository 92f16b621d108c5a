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
	return (size_t)((is_free(h, h->last) ? h->last : h->granules + 1) - 1) * GRANULE;
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
	if (is_free(h, h->last) && (size_t)(h->granules + 1 - h->last) * GRANULE > st->largest_free_bytes)
		st->largest_free_bytes = (size_t)(h->granules + 1 - h->last) * GRANULE; /* the top */
	if (st->free_bytes)
		st->fragmentation = 1.0 - (double)st->largest_free_bytes / (double)st->free_bytes;
	st->footprint_bytes = heap_footprint(h);
	st->peak_footprint_bytes = h->peak_end ? (size_t)(h->peak_end - 1) * GRANULE : 0;
	st->peak_used_bytes = h->peak_used_bytes;
	st->allocs = h->allocs;
	st->frees = h->frees;
	st->failures = h->failures;
}

/*
 * Every block, as the start and free bitmaps cut the area: a damaged header
 * changes nothing the walk reports (bfit_check says where it is).
 */
int bfit_walk(const struct bfit *h, bfit_walk_fn fn, void *arg)
{
	uint32_t g = 1;
	struct bfit_block b;

	if (!h || !fn)
		return 0;
	while (g <= h->granules) {
		uint32_t next = next_start(h, g + 1);
		int rc;
		if (next > h->granules + 1)
			return 0; /* no sentinel bit: bfit_check reports it */
		b.ptr = blk_ptr(h, g);
		b.offset = (size_t)(g - 1) * GRANULE;
		b.size = (size_t)(next - g) * GRANULE;
		b.allocated = !is_free(h, g);
		rc = fn(arg, &b);
		if (rc)
			return rc;
		g = next;
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
	size_t tree_nodes;      /* nodes visited in the tree */
	int top;                /* the last block is free (out of the tree) */
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

/* Check the block g of n granules (by the start bitmap) against its header and the tree. */
static void check_block(struct check_state *cs, uint32_t g, uint32_t n, int prev_free)
{
	const struct bfit *h = cs->h;
	size_t off = (size_t)(g - 1) * GRANULE;
	uint32_t hdr = *blk_hdr(h, g);
	int free_bit = is_free(h, g);

	if (hdr >> HDR_SHIFT != n)
		check_fail(cs, "F1: block at offset %zu: header size %u, the start bitmap %u", off,
			   (unsigned)(hdr >> HDR_SHIFT), (unsigned)n);
	if ((hdr & HDR_ALLOC) != (free_bit ? 0 : HDR_ALLOC))
		check_fail(cs, "F3: block at offset %zu: header flags %u, free bit %d", off,
			   (unsigned)(hdr & HDR_FLAGS), free_bit);
	if (!!(hdr & HDR_PREV_FREE) != prev_free)
		check_fail(cs, "F3: block at offset %zu: prev-free bit %d, left block free %d", off,
			   !!(hdr & HDR_PREV_FREE), prev_free);
	if (!free_bit) {
		cs->used_bytes += (size_t)n * GRANULE;
		cs->live++;
		return;
	}
	cs->free_bytes += (size_t)n * GRANULE;
	cs->free_blocks++;
	if (prev_free)
		check_fail(cs, "F5: free block at offset %zu follows a free block", off);
	if (g == h->last)
		cs->top = 1;
	if (g == h->last && bfit_tree_contains(h, g))
		check_fail(cs, "F6: the top, at offset %zu, is in the tree", off);
	else if (g != h->last && !bfit_tree_contains(h, g))
		check_fail(cs, "F6: free block at offset %zu is not in the tree", off);
}

/* The first start bit at or after x, by a plain scan (the summaries are checked apart). */
static uint32_t scan_next_start(const struct bfit *h, uint32_t x)
{
	size_t w = x / 64;
	uint64_t bits = h->starts[w] & (~(uint64_t)0 << (x % 64));

	while (!bits && ++w < h->start_words)
		bits = h->starts[w];
	return bits ? (uint32_t)(w * 64 + (size_t)__builtin_ctzll(bits)) : h->granules + 2;
}

/* F1, F3, F5: walk the blocks the start bitmap makes. */
static void check_blocks(struct check_state *cs)
{
	const struct bfit *h = cs->h;
	uint32_t end = h->granules + 1;

	if (!is_start(h, 1)) {
		check_fail(cs, "F1: no block starts at offset 0");
	} else {
		uint32_t g = 1;
		int prev_free = 0;
		while (g < end) {
			uint32_t next = scan_next_start(h, g + 1);
			if (next > end) {
				check_fail(cs, "F4: sentinel missing from the start bitmap");
				return;
			}
			check_block(cs, g, next - g, prev_free);
			prev_free = is_free(h, g);
			if (next == end && g != h->last)
				check_fail(cs, "F4: the last block is at offset %zu, recorded %zu",
					   (size_t)(g - 1) * GRANULE, (size_t)(h->last - 1) * GRANULE);
			g = next;
		}
	}
	if (is_free(h, end) ||
	    *blk_hdr(h, end) != (HDR_ALLOC | (is_free(h, h->last) ? HDR_PREV_FREE : 0)))
		check_fail(cs, "F4: sentinel damaged");
}

/* F2, F3: no bits past the sentinel's, summaries true, free bits only on starts. */
static void check_bitmaps(struct check_state *cs)
{
	const struct bfit *h = cs->h;
	uint32_t last = h->granules + 1;
	const uint64_t *below = h->starts, *lv = h->summary;
	size_t words = h->start_words;

	for (uint32_t w = 0; w < h->start_words; w++) {
		uint64_t past = w == last / 64 ? ~(uint64_t)0 << 1 << (last % 64)
				: w > last / 64 ? ~(uint64_t)0 : 0;
		if (h->starts[w] & past)
			check_fail(cs, "F2: start bits set past the sentinel in word %u", (unsigned)w);
		if (h->free_starts[w] & ~h->starts[w])
			check_fail(cs, "F3: free bits set where no block starts, word %u", (unsigned)w);
	}
	for (unsigned k = 1; k < h->nlevels; k++) {
		for (size_t w = 0; w < words; w++)
			if (((lv[w / 64] >> (w % 64)) & 1u) != (below[w] != 0))
				check_fail(cs, "F2: summary level %u bit %zu disagrees with its word", k, w);
		below = lv;
		lv += level_up(words);
		words = level_up(words);
	}
}

/*
 * In-order walk of the tree: keys increase, priorities form a max-heap.
 * A node is read only once it is known to be a free block of the area.
 */
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
	if (!node_ok(h, t) || !is_start(h, t) || !is_free(h, t)) {
		check_fail(cs, "F6: tree node %u is not a free block", (unsigned)t);
		return;
	}
	uint64_t key = (uint64_t)blk_size(h, t) << 32 | t;
	if ((lo && ((uint64_t)blk_size(h, lo) << 32 | lo) >= key) ||
	    (hi && key >= ((uint64_t)blk_size(h, hi) << 32 | hi)))
		check_fail(cs, "F6: tree node at offset %zu out of order", (size_t)(t - 1) * GRANULE);
	for (int side = 0; side < 2; side++) {
		uint32_t c = side ? *blk_right(h, t) : *blk_left(h, t);
		if (c && node_ok(h, c) && *blk_prio(h, c) > *blk_prio(h, t))
			check_fail(cs, "F6: tree node at offset %zu breaks the heap order",
				   (size_t)(t - 1) * GRANULE);
	}
	check_tree(cs, *blk_left(h, t), lo, t, depth + 1);
	check_tree(cs, *blk_right(h, t), t, hi, depth + 1);
}

size_t bfit_check(const struct bfit *h, buddy_report_fn report, void *arg)
{
	struct check_state cs = { h, report, arg, 0, 0, 0, 0, 0, 0, 0 };

	if (!h) {
		check_fail(&cs, "no heap"); /* no invariant: an argument */
		return cs.problems;
	}
	check_bitmaps(&cs);
	check_blocks(&cs);
	check_tree(&cs, h->root, 0, 0, 0);
	if (cs.tree_nodes + (size_t)cs.top != cs.free_blocks || h->free_blocks != cs.free_blocks)
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
