/* SPDX-License-Identifier: MIT */
/*
 * heap_info.c - what the buddy heap tells about itself: statistics with
 * the Robson bound, a walk over every block with its requested size, and
 * an integrity check that recomputes every counter from the blocks.
 *
 * Costs: stats O(max_order); walk and check O(blocks + chunks).
 */
#include <stdio.h>
#include <string.h>

#include "heap/heap_internal.h"

const struct buddy_zone *bheap_zone(const struct bheap *h)
{
	return h ? &h->zone : NULL;
}

/*
 * Robson's bound in bytes (see buddy/heap.h): with s the smallest and b
 * the largest block and M the peak held bytes, all powers of two,
 *     N = M * (1 + log2(b/s) / 2) - b + s,
 * which is SQLite's N >= M*(1 + log2(n)/2) - n + 1 with M, n, N counted in
 * blocks of s bytes. Rounded up to whole bytes.
 */
static size_t robson_bytes(size_t peak, size_t smallest, size_t largest)
{
	if (!peak || !smallest)
		return 0;
	unsigned lg = 0;
	while ((smallest << lg) < largest)
		lg++;
	/* M * (2 + lg) / 2, rounded up; peak is a multiple of smallest >= 16. */
	size_t n = peak + (peak / 2) * lg + ((peak % 2) * lg + 1) / 2;
	return n - largest + smallest;
}

static void stats_free_blocks(const struct bheap *h, struct bheap_stats *st)
{
	struct buddy_stats bs;
	buddy_get_stats(&h->zone, &bs);
	st->free_bytes = (bs.free_pages + bs.cached_pages) << h->min_shift;
	for (unsigned k = 0; k < BUDDY_NR_PCP_ORDERS; k++) {
		st->free_blocks += bs.nr_cached[k];
		if (bs.nr_cached[k] && ((size_t)h->cfg.min_block << k) > st->largest_free)
			st->largest_free = (size_t)h->cfg.min_block << k;
	}
	for (unsigned k = 0; k < BUDDY_NR_ORDERS; k++) {
		st->free_blocks += bs.nr_free[k];
		if (bs.nr_free[k] && ((size_t)h->cfg.min_block << k) > st->largest_free)
			st->largest_free = (size_t)h->cfg.min_block << k;
	}
}

void bheap_get_stats(const struct bheap *h, struct bheap_stats *st)
{
	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	if (!h)
		return;
	st->min_block = h->cfg.min_block;
	st->requested_bytes = h->requested;
	st->held_bytes = h->held;
	st->peak_requested_bytes = h->peak_requested;
	st->peak_held_bytes = h->peak_held;
	st->live_allocs = h->live;
	st->peak_live_allocs = h->peak_live;
	st->arena_bytes = h->arena_bytes;
	st->peak_arena_bytes = h->peak_arena;
	st->meta_bytes = h->meta_bytes;
	st->footprint_bytes = heap_footprint(h);
	st->peak_footprint_bytes = h->peak_footprint;
	st->nr_chunks = h->nr_chunks;
	stats_free_blocks(h, st);
	st->smallest_block = h->smallest_block;
	st->largest_block = h->largest_block;
	st->allocs = h->allocs;
	st->frees = h->frees;
	st->reallocs_in_place = h->reallocs_in_place;
	st->reallocs_moved = h->reallocs_moved;
	st->failures = h->failures;
	st->maps = h->maps;
	st->unmaps = h->unmaps;
	st->map_failures = h->map_failures;
	st->misuse = h->misuse;
	st->robson_bytes = robson_bytes(h->peak_held, h->smallest_block, h->largest_block);
	st->robson_met = h->arena_bytes >= st->robson_bytes;
}

/* ------------------------------------------------------------------ */
/* walk                                                                */
/* ------------------------------------------------------------------ */

struct walker {
	const struct bheap *h;
	const struct heap_chunk *c; /* chunk of the current block */
	unsigned chunk;             /* its index */
	size_t before;              /* bytes of the chunks before it */
	bheap_walk_fn fn;
	void *arg;
};

static int walker_visit(void *arg, const struct buddy_block *b)
{
	struct walker *w = arg;
	uintptr_t a = (uintptr_t)b->addr;
	while (w->c && a - w->c->base >= w->c->bytes) {
		w->before += w->c->bytes;
		w->c = w->c->next;
		w->chunk++;
	}
	if (!w->c)
		return 0; /* a region the heap does not know: check reports it */
	struct bheap_block blk = {
		.addr = b->addr,
		.size = (size_t)w->h->cfg.min_block << b->order,
		.order = b->order,
		.allocated = b->state == BUDDY_BLOCK_ALLOCATED,
		.chunk = w->chunk,
		.offset = w->before + (a - w->c->base),
	};
	if (blk.allocated)
		blk.requested = blk.size - heap_side_read(w->h, w->c, a, b->order);
	return w->fn(w->arg, &blk);
}

int bheap_walk(const struct bheap *h, bheap_walk_fn fn, void *arg)
{
	if (!h || !fn)
		return 0;
	struct walker w = { h, h->chunks, 0, 0, fn, arg };
	return buddy_walk(&h->zone, walker_visit, &w);
}

/* ------------------------------------------------------------------ */
/* check                                                               */
/* ------------------------------------------------------------------ */

struct checker {
	const struct bheap *h;
	buddy_report_fn report;
	void *arg;
	size_t problems;
	size_t held, requested, live; /* sums over the allocated blocks */
};

static void check_fail(struct checker *ck, const char *msg, size_t got, size_t want)
{
	char line[160];
	ck->problems++;
	if (!ck->report)
		return;
	snprintf(line, sizeof(line), "bheap: %s (found %zu, expected %zu)", msg, got, want);
	ck->report(ck->arg, line);
}

static int check_block(void *arg, const struct bheap_block *b)
{
	struct checker *ck = arg;
	if (!b->allocated)
		return 0;
	if (b->requested > b->size)
		check_fail(ck, "block slack larger than the block", b->requested, b->size);
	ck->held += b->size;
	ck->requested += b->requested;
	ck->live++;
	return 0;
}

static void check_chunks(struct checker *ck)
{
	const struct bheap *h = ck->h;
	size_t n = 0, bytes = 0, held = 0, idle = 0;
	struct buddy_region_info ri;

	for (const struct heap_chunk *c = h->chunks; c; c = c->next, n++) {
		if (buddy_region_info(&h->zone, (unsigned)n, &ri) != BUDDY_OK ||
		    (uintptr_t)ri.base != c->base || ri.nr_pages << h->min_shift != c->bytes)
			check_fail(ck, "chunk does not match its zone region", n, n);
		else if ((ri.nr_pages - ri.free_pages - ri.cached_pages) << h->min_shift != c->held)
			check_fail(ck, "chunk held bytes", c->held,
				   (ri.nr_pages - ri.free_pages - ri.cached_pages) << h->min_shift);
		bytes += c->bytes;
		held += c->held;
		idle += c->held == 0;
	}
	if (n != h->nr_chunks || n != h->zone.nr_regions)
		check_fail(ck, "chunk count", n, h->nr_chunks);
	if (bytes != h->arena_bytes)
		check_fail(ck, "arena bytes", bytes, h->arena_bytes);
	if (held != h->held)
		check_fail(ck, "held bytes over the chunks", held, h->held);
	if (idle != h->idle_chunks)
		check_fail(ck, "wholly free chunks", idle, h->idle_chunks);
}

size_t bheap_check(const struct bheap *h, buddy_report_fn report, void *arg)
{
	if (!h)
		return 0;
	struct checker ck = { h, report, arg, 0, 0, 0, 0 };
	ck.problems = buddy_check(&h->zone, report, arg);
	bheap_walk(h, check_block, &ck);
	if (ck.held != h->held)
		check_fail(&ck, "held bytes", ck.held, h->held);
	if (ck.requested != h->requested)
		check_fail(&ck, "requested bytes", ck.requested, h->requested);
	if (ck.live != h->live)
		check_fail(&ck, "live allocations", ck.live, h->live);
	check_chunks(&ck);
	return ck.problems;
}
