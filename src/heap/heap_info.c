/* SPDX-License-Identifier: MIT */
/*
 * heap_info.c - what the buddy heap tells about itself: statistics with
 * the Robson bound, a walk over every block with its requested size, and
 * an integrity check that recomputes every counter from the blocks.
 *
 * Costs: stats O(max_order); walk O(blocks + chunks log chunks); check
 * O(blocks + pages + chunks^2) (it reads every region's record by index).
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

/* What the zone knows: chunks (its regions) and free blocks. */
static void stats_zone(const struct bheap *h, struct bheap_stats *st)
{
	struct buddy_stats bs;
	buddy_get_stats(&h->zone, &bs);
	st->nr_chunks = bs.nr_regions;
	st->free_bytes = (bs.free_pages + bs.cached_pages) << h->min_shift;
	for (unsigned k = 0; k < BUDDY_NR_PCP_ORDERS; k++) {
		st->free_blocks += bs.nr_cached[k];
		if (bs.nr_cached[k] && ((size_t)h->cfg.min_block << k) > st->largest_free_bytes)
			st->largest_free_bytes = (size_t)h->cfg.min_block << k;
	}
	for (unsigned k = 0; k < BUDDY_NR_ORDERS; k++) {
		st->free_blocks += bs.nr_free[k];
		if (bs.nr_free[k] && ((size_t)h->cfg.min_block << k) > st->largest_free_bytes)
			st->largest_free_bytes = (size_t)h->cfg.min_block << k;
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
	st->requested_bytes = h->requested_bytes;
	st->held_bytes = h->held_bytes;
	st->peak_requested_bytes = h->peak_requested_bytes;
	st->peak_held_bytes = h->peak_held_bytes;
	st->live_allocs = h->live_allocs;
	st->peak_live_allocs = h->peak_live_allocs;
	st->arena_bytes = h->arena_bytes;
	st->peak_arena_bytes = h->peak_arena_bytes;
	st->meta_bytes = h->meta_bytes;
	st->footprint_bytes = bheap_footprint(h);
	st->peak_footprint_bytes = h->peak_footprint_bytes;
	stats_zone(h, st);
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
	st->robson_bytes = robson_bytes(h->peak_held_bytes, h->smallest_block, h->largest_block);
	st->robson_met = h->arena_bytes >= st->robson_bytes;
}

/* ------------------------------------------------------------------ */
/* walk                                                                */
/* ------------------------------------------------------------------ */

struct walker {
	const struct bheap *h;
	const struct bheap_chunk *c; /* chunk of the current block; NULL before the first */
	unsigned chunk;              /* its index in address order */
	size_t before;               /* bytes of the chunks before it */
	bheap_walk_fn fn;
	void *arg;
	int stopped;                 /* a region without a sound chunk record ended the walk */
};

static int walker_visit(void *arg, const struct buddy_block *b)
{
	struct walker *w = arg;
	uintptr_t a = (uintptr_t)b->addr;
	if (!w->c || a - w->c->base >= w->c->bytes) {
		/* The zone walks its regions in address order: the next chunk. */
		struct buddy_region_info ri;
		const struct bheap_chunk *c = NULL;
		if (buddy_region_info(&w->h->zone, w->c ? w->chunk + 1 : 0, &ri) == BUDDY_OK)
			c = bheap_chunk_of(w->h, &ri);
		if (!c || a - c->base >= c->bytes) {
			w->stopped = 1; /* a region the heap does not know: check reports it */
			return 1;
		}
		if (w->c) {
			w->before += w->c->bytes;
			w->chunk++;
		}
		w->c = c;
	}
	struct bheap_block blk = {
		.addr = b->addr,
		.size = (size_t)w->h->cfg.min_block << b->order,
		.order = b->order,
		.allocated = b->state == BUDDY_BLOCK_ALLOCATED,
		.chunk = w->chunk,
		.offset = w->before + (a - w->c->base),
	};
	if (blk.allocated)
		blk.requested = blk.size - bheap_side_read(w->h, w->c, a, b->order);
	return w->fn(w->arg, &blk);
}

int bheap_walk(const struct bheap *h, bheap_walk_fn fn, void *arg)
{
	if (!h || !fn)
		return 0;
	struct walker w = { h, NULL, 0, 0, fn, arg, 0 };
	int rc = buddy_walk(&h->zone, walker_visit, &w);
	return w.stopped ? 0 : rc; /* stopped at a region without a sound record */
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

/* One problem: "TAG: what (found X, expected Y)". */
static void check_fail(struct checker *ck, const char *tag, const char *msg, size_t got,
		       size_t want)
{
	char line[160];
	ck->problems++;
	if (!ck->report)
		return;
	snprintf(line, sizeof(line), "%s: %s (found %zu, expected %zu)", tag, msg, got, want);
	ck->report(ck->arg, line);
}

static int check_block(void *arg, const struct bheap_block *b)
{
	struct checker *ck = arg;
	if (!b->allocated)
		return 0;
	if (b->requested > b->size)
		check_fail(ck, "H4", "block slack larger than the block", b->requested, b->size);
	ck->held += b->size;
	ck->requested += b->requested;
	ck->live++;
	return 0;
}

/* H4: the heap makes no exact allocations, so no block continues one. */
static int check_single(void *arg, const struct buddy_block *b)
{
	struct checker *ck = arg;
	if (b->state == BUDDY_BLOCK_ALLOCATED && !b->first)
		check_fail(ck, "H4", "allocation of more than one block, at page", b->page, 0);
	return 0;
}

/* H1, H2: every region's owner is its chunk, holding what the region has in use. */
static void check_chunks(struct checker *ck)
{
	const struct bheap *h = ck->h;
	size_t bytes = 0, meta = 0, held = 0, idle = 0;
	struct buddy_region_info ri;

	for (unsigned i = 0; buddy_region_info(&h->zone, i, &ri) == BUDDY_OK; i++) {
		const struct bheap_chunk *c = bheap_chunk_of(h, &ri);
		size_t in_use = (ri.nr_pages - ri.free_pages - ri.cached_pages) << h->min_shift;
		if (!c) {
			check_fail(ck, "H1", "region without its chunk record, region", ri.id, ri.id);
			continue;
		}
		if (c->held_bytes != in_use)
			check_fail(ck, "H2", "chunk held bytes", c->held_bytes, in_use);
		bytes += c->bytes;
		meta += c->meta_bytes;
		held += c->held_bytes;
		idle += c->held_bytes == 0;
	}
	if (bytes != h->arena_bytes)
		check_fail(ck, "H1", "arena bytes over the chunks", bytes, h->arena_bytes);
	if (meta != h->meta_bytes)
		check_fail(ck, "H1", "metadata bytes over the chunks", meta, h->meta_bytes);
	if (held != h->held_bytes)
		check_fail(ck, "H2", "held bytes over the chunks", held, h->held_bytes);
	if (idle != h->idle_chunks)
		check_fail(ck, "H3", "wholly free chunks", idle, h->idle_chunks);
}

/* Whether c is the sound chunk record of one of the zone's regions. */
static int is_chunk(const struct bheap *h, const struct bheap_chunk *c)
{
	struct buddy_region_info ri;
	for (unsigned i = 0; buddy_region_info(&h->zone, i, &ri) == BUDDY_OK; i++)
		if (ri.owner == c)
			return bheap_chunk_of(h, &ri) == c;
	return 0;
}

/*
 * H3: the idle list: chunks holding nothing, in address order, as many as
 * counted. Each entry is found among the regions' records before it is read.
 */
static void check_idle(struct checker *ck)
{
	const struct bheap *h = ck->h;
	size_t n = 0;
	uintptr_t last = 0;
	int broken = 0;

	for (const struct bheap_chunk *c = h->idle; c && n <= h->idle_chunks; c = c->idle_next, n++) {
		if (!is_chunk(h, c)) {
			check_fail(ck, "H3", "idle list entry is not a chunk, entry", n, n);
			broken = 1; /* its link cannot be followed */
			break;
		}
		if (c->held_bytes)
			check_fail(ck, "H3", "idle chunk holds bytes", c->held_bytes, 0);
		if (n && c->base <= last)
			check_fail(ck, "H3", "idle list out of address order at entry", n, n);
		last = c->base;
	}
	if (!broken && n != h->idle_chunks)
		check_fail(ck, "H3", "chunks on the idle list", n, h->idle_chunks);
}

/* H5: no peak below what it tracks. */
static void check_peaks(struct checker *ck)
{
	const struct bheap *h = ck->h;
	const struct {
		size_t peak, now;
		const char *what;
	} p[] = {
		{ h->peak_requested_bytes, h->requested_bytes, "peak_requested_bytes" },
		{ h->peak_held_bytes, h->held_bytes, "peak_held_bytes" },
		{ h->peak_live_allocs, h->live_allocs, "peak_live_allocs" },
		{ h->peak_arena_bytes, h->arena_bytes, "peak_arena_bytes" },
		{ h->peak_footprint_bytes, bheap_footprint(h), "peak_footprint_bytes" },
	};
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		if (p[i].peak < p[i].now)
			check_fail(ck, "H5", p[i].what, p[i].peak, p[i].now);
}

size_t bheap_check(const struct bheap *h, buddy_report_fn report, void *arg)
{
	struct checker ck = { h, report, arg, 0, 0, 0, 0 };
	if (!h) {
		ck.problems = 1; /* no invariant: an argument */
		if (report)
			report(arg, "heap is NULL");
		return ck.problems;
	}
	ck.problems = buddy_check(&h->zone, report, arg);
	bheap_walk(h, check_block, &ck);
	buddy_walk(&h->zone, check_single, &ck);
	if (ck.held != h->held_bytes)
		check_fail(&ck, "H2", "held bytes over the blocks", ck.held, h->held_bytes);
	if (ck.requested != h->requested_bytes)
		check_fail(&ck, "H4", "requested bytes", ck.requested, h->requested_bytes);
	if (ck.live != h->live_allocs)
		check_fail(&ck, "H4", "live allocations", ck.live, h->live_allocs);
	check_chunks(&ck);
	check_idle(&ck);
	check_peaks(&ck);
	return ck.problems;
}
