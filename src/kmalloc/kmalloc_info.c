/* SPDX-License-Identifier: MIT */
/*
 * kmalloc_info.c - looking at a kmalloc heap without changing it: statistics,
 * what a pointer is, the walk over every block in address order,
 * /proc/slabinfo, and the check of invariants K1..K6 (listed at struct
 * bkm_heap in kmalloc_internal.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kmalloc/kmalloc_internal.h"
#include "slab/slab_internal.h"

/* The lookups only move the arena hint, a cache of the last answer. */
static struct bkm_heap *mut(const struct bkm_heap *h)
{
	return (struct bkm_heap *)(uintptr_t)h;
}

void bkm_get_stats(const struct bkm_heap *h, struct bkm_stats *st)
{
	struct buddy_stats zs;
	if (!h || !st)
		return;
	memset(st, 0, sizeof(*st));
	st->page_size = (size_t)1 << h->page_shift;
	st->nr_classes = h->nr_classes;
	st->max_class_bytes = h->max_class_bytes;
	size_t slab_meta = 0;
	for (unsigned i = 0; i < h->nr_classes; i++) {
		struct bslab_stats cs;
		bslab_get_stats(&h->caches[i], &cs);
		st->small_allocs += cs.active_objs;
		st->small_bytes += cs.active_objs * cs.object_size;
		st->slab_bytes += (cs.total_slabs - cs.small_slabs) * cs.slab_bytes +
				  (cs.small_slabs << (cs.small_order + h->page_shift));
		st->slab_free_bytes += (cs.total_objs - cs.active_objs) * cs.stride;
		slab_meta += cs.meta_bytes;
		st->allocs += cs.allocs;
		st->frees += cs.frees;
	}
	st->large_allocs = h->large_allocs;
	st->large_bytes = h->large_bytes;
	st->huge_allocs = h->nr_huge;
	st->huge_bytes = h->huge_bytes;
	st->live_allocs = st->small_allocs + st->large_allocs + st->huge_allocs;
	st->held_bytes = st->small_bytes + st->large_bytes + st->huge_bytes;
	st->allocs += h->large_count + h->huge_count;
	st->frees += h->large_frees + h->huge_frees;
	st->footprint_bytes = bkm_footprint(h);
	st->peak_footprint_bytes = h->peak_footprint;
	st->resident_bytes = h->resident_bytes;
	st->arena_bytes = h->arena_bytes;
	st->nr_arenas = h->nr_arenas;
	st->meta_bytes = h->state_bytes + h->arena_meta_bytes + h->link_bytes + h->huge_map_len +
			 slab_meta;
	buddy_get_stats(&h->zone, &zs);
	st->free_bytes = (zs.free_pages + zs.cached_pages) << h->page_shift;
	for (unsigned k = 0; k < BUDDY_NR_ORDERS; k++) {
		size_t cached = k < BUDDY_NR_PCP_ORDERS ? zs.nr_cached[k] : 0;
		st->free_blocks += zs.nr_free[k] + cached;
		if (zs.nr_free[k] + cached)
			st->largest_free_bytes = (size_t)1 << (k + h->page_shift);
	}
	st->failures = h->failures;
	st->reallocs_in_place = h->reallocs_in_place;
	st->reallocs_moved = h->reallocs_moved;
	st->misuse = h->misuse;
	st->maps = h->maps;
	st->unmaps = h->unmaps;
	st->released_bytes = h->released_bytes;
}

const struct buddy_zone *bkm_zone(const struct bkm_heap *h)
{
	return h ? &h->zone : NULL;
}

const struct bslab_cache *bkm_cache(const struct bkm_heap *h, size_t i)
{
	return h && i < h->nr_classes ? &h->caches[i] : NULL;
}

size_t bkm_slabinfo(const struct bkm_heap *h, char *buf, size_t size)
{
	size_t len = bslab_slabinfo_header(buf, size);
	for (unsigned i = 0; h && i < h->nr_classes; i++)
		len += bslab_slabinfo(&h->caches[i], len < size ? buf + len : NULL,
				      len < size ? size - len : 0);
	return len;
}

/* ------------------------------------------------------------------ */
/* one pointer                                                         */
/* ------------------------------------------------------------------ */

void bkm_block_info(const struct bkm_heap *h, const void *p, struct bkm_block_info *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!h || !p)
		return;
	uintptr_t a = (uintptr_t)p;
	struct bkm_arena *ar = bkm_arena_of(mut(h), a);
	if (!ar) {
		struct bkm_huge *e = bkm_huge_find(mut(h), a);
		if (e && e->addr == a)
			*out = (struct bkm_block_info){ BKM_BLOCK_HUGE, (void *)e->addr, e->bytes, NULL,
						   NULL, 0 };
		return;
	}
	unsigned code = ar->map[bkm_page_index(h, ar, a)];
	if (code == KM_PG_RUN && !(a & (((size_t)1 << h->page_shift) - 1))) {
		size_t pages = buddy_alloc_size(&mut(h)->zone, p);
		if (pages)
			*out = (struct bkm_block_info){ BKM_BLOCK_LARGE, (void *)p, pages << h->page_shift,
						   NULL, NULL, 0 };
		return;
	}
	const struct bslab_cache *c = bkm_code_cache(h, code);
	if (!c)
		return;
	struct bslab_slab *s = bkm_code_slab(c, code, p);
	uintptr_t off = a - bslab_objs_base(c, s);
	size_t i = bslab_index(c, off);
	if (s->cache != c || off >= (uintptr_t)s->objs * c->stride || i * c->stride != off ||
	    i >= s->carved || i >= c->objs || !bslab_bit(s, i))
		return;
	*out = (struct bkm_block_info){ BKM_BLOCK_SMALL, (void *)p, c->size, c, s, (unsigned)i };
}

/* ------------------------------------------------------------------ */
/* walk                                                                */
/* ------------------------------------------------------------------ */

struct walker {
	const struct bkm_heap *h;
	bkm_walk_fn fn;
	void *arg;
	size_t pos;               /* running offset after the last item */
	const struct bkm_arena *arena; /* arena of the last block */
	size_t arena_off;         /* offset of that arena's start */
	size_t next_huge;         /* huge blocks emitted so far */
	int rc;
};

static int emit(struct walker *w, const struct bkm_block *b)
{
	w->rc = w->fn(w->arg, b);
	return w->rc;
}

/* Huge blocks below `limit` (all with limit 0), in address order. */
static int emit_huge(struct walker *w, uintptr_t limit)
{
	const struct bkm_heap *h = w->h;
	while (w->next_huge < h->nr_huge && (!limit || h->huge[w->next_huge].addr < limit)) {
		const struct bkm_huge *e = &h->huge[w->next_huge++];
		struct bkm_block b = { (void *)e->addr, e->bytes, w->pos, 1, BKM_BLOCK_HUGE,
				       -1, NULL, NULL };
		w->pos += e->bytes;
		if (emit(w, &b))
			return w->rc;
	}
	return 0;
}

/* The objects of slab s, code its page map byte (not its header, which damage may change). */
static int emit_slab(struct walker *w, const struct bslab_cache *c, const struct bslab_slab *s,
		     unsigned code, size_t off)
{
	uintptr_t base = bslab_objs_base(c, s);
	size_t objs = (code & KM_PG_SMALL) ? c->small_objs : c->objs;
	for (size_t i = 0; i < objs; i++) {
		struct bkm_block b = { (void *)(base + i * c->stride), c->size,
				       off + (base - (uintptr_t)s) + i * c->stride,
				       i < s->carved && bslab_bit(s, i), BKM_BLOCK_SMALL, -1,
				       c, s };
		if (emit(w, &b))
			return w->rc;
	}
	return 0;
}

static int walk_block(void *arg, const struct buddy_block *blk)
{
	struct walker *w = arg;
	const struct bkm_heap *h = w->h;
	uintptr_t a = (uintptr_t)blk->addr;
	size_t bytes = (size_t)1 << (blk->order + h->page_shift);
	if (emit_huge(w, a))
		return w->rc;
	const struct bkm_arena *ar = bkm_arena_of(mut(h), a);
	if (!ar)
		return 0;
	if (ar != w->arena) {
		w->arena = ar;
		w->arena_off = w->pos;
	}
	size_t off = w->arena_off + (a - ar->base);
	w->pos = off + bytes;
	if (blk->state != BUDDY_BLOCK_ALLOCATED) {
		struct bkm_block b = { blk->addr, bytes, off, 0, BKM_BLOCK_NONE, (int)blk->order,
				       NULL, NULL };
		return emit(w, &b);
	}
	if (!blk->first)
		return 0; /* a later block of a run, reported with its first */
	unsigned code = ar->map[bkm_page_index(h, ar, a)];
	if (code == KM_PG_RUN) {
		size_t pages = buddy_alloc_size(&mut(h)->zone, blk->addr);
		struct bkm_block b = { blk->addr, pages << h->page_shift, off, 1,
				       BKM_BLOCK_LARGE,
				       (pages & (pages - 1)) ? -1 : (int)blk->order, NULL, NULL };
		return emit(w, &b);
	}
	const struct bslab_cache *c = bkm_code_cache(h, code);
	return c ? emit_slab(w, c, (const struct bslab_slab *)a, code, off) : 0;
}

int bkm_walk(const struct bkm_heap *h, bkm_walk_fn fn, void *arg)
{
	struct walker w = { h, fn, arg, 0, NULL, 0, 0, 0 };
	if (!h || !fn)
		return 0;
	if (buddy_walk(&h->zone, walk_block, &w))
		return w.rc;
	return emit_huge(&w, 0);
}

/* ------------------------------------------------------------------ */
/* check                                                               */
/* ------------------------------------------------------------------ */

struct kcheck {
	const struct bkm_heap *h;
	buddy_report_fn report;
	void *arg;
	size_t problems;
	const char *tag;        /* prefix for forwarded messages */
	size_t slabs[BKM_CLASSES_MAX]; /* slabs seen in the page map, per class */
	size_t runs, run_bytes; /* runs seen */
	size_t held[BKM_ARENAS_MAX]; /* pages held per arena (by arenas[] index) */
};

__attribute__((format(printf, 3, 4))) static void problem(struct kcheck *k, const char *tag,
							  const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int n = snprintf(msg, sizeof(msg), "%s: ", tag);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	k->problems++;
	if (k->report)
		k->report(k->arg, msg);
}

/* Pass a lower layer's message on under our tag. */
static void forward(void *arg, const char *msg)
{
	struct kcheck *k = arg;
	problem(k, k->tag, "%s", msg);
}

static unsigned arena_index(const struct bkm_heap *h, const struct bkm_arena *a)
{
	unsigned i = 0;
	while (i < h->nr_arenas && h->arenas[i] != a)
		i++;
	return i;
}

/* Do pages [idx, idx + n) of arena a all read `code`? Reports the first that does not. */
static void expect_pages(struct kcheck *k, const struct bkm_arena *a, size_t idx, size_t n,
			 unsigned code, const char *what)
{
	for (size_t i = idx; i < idx + n; i++)
		if (a->map[i] != code) {
			problem(k, "K3", "page %zu of arena %u (%s) reads %u, expected %u", i, a->id,
				what, a->map[i], code);
			return;
		}
}

/* K4: every system page of the held pages [idx, idx + n) is marked resident. */
static void expect_resident(struct kcheck *k, const struct bkm_arena *a, size_t idx, size_t n)
{
	const struct bkm_heap *h = k->h;
	size_t first = (idx << h->page_shift) >> h->sys_shift;
	size_t last = (((idx + n) << h->page_shift) - 1) >> h->sys_shift;
	for (size_t sp = first; sp <= last; sp++)
		if (!(a->resident[sp / 64] >> (sp % 64) & 1u)) {
			problem(k, "K4", "page %zu of arena %u is held but not resident",
				(sp << h->sys_shift) >> h->page_shift, a->id);
			return;
		}
}

/* K4, outside links: the entry of a free block's first page lies on a page counted. */
static void expect_link(struct kcheck *k, const struct bkm_arena *a, const void *addr)
{
	const struct bkm_heap *h = k->h;
	if (!a->links)
		return;
	uintptr_t e = bkm_link_entry(h, a, (uintptr_t)addr);
	/* the entry's first and last byte: it may straddle two pages */
	for (uintptr_t b = e; b <= e + sizeof(struct buddy_list) - 1;
	     b += sizeof(struct buddy_list) - 1) {
		size_t i = (b - a->link_lo) >> h->sys_shift;
		if (b >= a->link_lo && i < a->link_n && !(a->linkmap[i / 64] >> (i % 64) & 1u)) {
			problem(k, "K4", "the list entry of free block %p is on a page not counted",
				addr);
			return;
		}
	}
}

/* K3 for one zone block. */
static int check_block(void *arg, const struct buddy_block *blk)
{
	struct kcheck *k = arg;
	const struct bkm_heap *h = k->h;
	const struct bkm_arena *a = bkm_arena_of(mut(h), (uintptr_t)blk->addr);
	if (!a) {
		problem(k, "K5", "zone block %p lies in no arena", blk->addr);
		return 0;
	}
	size_t idx = bkm_page_index(h, a, (uintptr_t)blk->addr), n = (size_t)1 << blk->order;
	unsigned ai = arena_index(h, a);
	if (blk->state != BUDDY_BLOCK_ALLOCATED) {
		expect_pages(k, a, idx, n, KM_PG_FREE, "free");
		expect_link(k, a, blk->addr);
		return 0;
	}
	if (ai < BKM_ARENAS_MAX)
		k->held[ai] += n;
	expect_resident(k, a, idx, n);
	unsigned code = a->map[idx];
	if (!blk->first) {
		expect_pages(k, a, idx, n, KM_PG_TAIL, "run continued");
		return 0;
	}
	if (code == KM_PG_RUN) {
		size_t pages = buddy_alloc_size(&mut(h)->zone, blk->addr);
		if (pages > 1)
			expect_pages(k, a, idx + 1, (n < pages ? n : pages) - 1, KM_PG_TAIL, "run");
		k->runs++;
		k->run_bytes += pages << h->page_shift;
		return 0;
	}
	const struct bslab_cache *c = bkm_code_cache(h, code);
	if (!c) {
		problem(k, "K3", "allocated block at page %zu of arena %u reads %u", idx, a->id, code);
		return 0;
	}
	unsigned order = (code & KM_PG_SMALL) ? c->small_order : c->order;
	if (blk->order != order || ((const struct bslab_slab *)blk->addr)->cache != c ||
	    ((const struct bslab_slab *)blk->addr)->order != order)
		problem(k, "K3", "block %p marked for %s is not one of its slabs", blk->addr,
			c->name);
	expect_pages(k, a, idx, n, code, c->name);
	k->slabs[c - h->caches]++;
	return 0;
}

/* K3 totals, K4 and K5 per arena. */
static void check_arenas(struct kcheck *k)
{
	const struct bkm_heap *h = k->h;
	size_t resident = 0, bytes = 0, meta = 0, used = 0, links = 0;
	struct buddy_stats zs;
	buddy_get_stats(&h->zone, &zs);
	if (zs.nr_regions != h->nr_arenas)
		problem(k, "K5", "%u zone regions for %u arenas", zs.nr_regions, h->nr_arenas);
	for (unsigned i = 0; i < h->nr_arenas; i++) {
		const struct bkm_arena *a = h->arenas[i];
		if (i && h->arenas[i - 1]->base + h->arenas[i - 1]->bytes > a->base)
			problem(k, "K5", "arena %u overlaps or precedes the one before", a->id);
		if (a->used_pages != k->held[i])
			problem(k, "K3", "arena %u counts %zu pages held, the zone %zu", a->id,
				a->used_pages, k->held[i]);
		size_t set = 0, words = ((a->bytes >> h->sys_shift) + 63) / 64;
		for (size_t w = 0; w < words; w++)
			set += (size_t)__builtin_popcountll((unsigned long long)a->resident[w]);
		if (set != a->resident_pages)
			problem(k, "K4", "arena %u has %zu resident bits, counts %zu", a->id, set,
				a->resident_pages);
		size_t lset = 0;
		for (size_t w = 0; a->links && w < (a->link_n + 63) / 64; w++)
			lset += (size_t)__builtin_popcountll((unsigned long long)a->linkmap[w]);
		if (lset != a->link_pages)
			problem(k, "K4", "arena %u has %zu link page bits, counts %zu", a->id, lset,
				a->link_pages);
		links += a->link_pages << h->sys_shift;
		resident += a->resident_pages << h->sys_shift;
		bytes += a->bytes;
		meta += a->meta_bytes;
		used += a->used_pages << h->page_shift;
	}
	if (links != h->link_bytes)
		problem(k, "K4", "arena link pages add up to %zu bytes, counted %zu", links,
			h->link_bytes);
	if (resident != h->resident_bytes || bytes != h->arena_bytes ||
	    meta != h->arena_meta_bytes || used != h->used_bytes)
		problem(k, "K4", "arena totals differ: resident %zu/%zu, bytes %zu/%zu, meta %zu/%zu, "
			"used %zu/%zu", resident, h->resident_bytes, bytes, h->arena_bytes, meta,
			h->arena_meta_bytes, used, h->used_bytes);
	if (k->runs != h->large_allocs || k->run_bytes != h->large_bytes)
		problem(k, "K3", "%zu runs of %zu bytes in the page map, counted %zu of %zu", k->runs,
			k->run_bytes, h->large_allocs, h->large_bytes);
}

/* K6: huge blocks. */
static void check_huge(struct kcheck *k)
{
	const struct bkm_heap *h = k->h;
	size_t bytes = 0, mapped = 0;
	for (size_t i = 0; i < h->nr_huge; i++) {
		const struct bkm_huge *e = &h->huge[i];
		if (i && h->huge[i - 1].addr + h->huge[i - 1].bytes > e->addr)
			problem(k, "K6", "huge block %p overlaps the one before", (void *)e->addr);
		if (bkm_arena_of(mut(h), e->addr))
			problem(k, "K6", "huge block %p lies in an arena", (void *)e->addr);
		bytes += e->bytes;
		mapped += e->map_len;
	}
	if (bytes != h->huge_bytes || mapped != h->huge_mapped)
		problem(k, "K6", "huge blocks hold %zu bytes in %zu mapped, counted %zu and %zu", bytes,
			mapped, h->huge_bytes, h->huge_mapped);
}

size_t bkm_check(const struct bkm_heap *h, buddy_report_fn report, void *arg)
{
	struct kcheck k;
	memset(&k, 0, sizeof(k));
	k.h = h;
	k.report = report;
	k.arg = arg;
	if (!h) {
		k.problems++;
		if (report)
			report(arg, "heap is NULL");
		return k.problems;
	}
	k.tag = "K1";
	buddy_check(&h->zone, forward, &k);
	k.tag = "K2";
	for (unsigned i = 0; i < h->nr_classes; i++)
		bslab_check(&h->caches[i], forward, &k);
	buddy_walk(&h->zone, check_block, &k);
	for (unsigned i = 0; i < h->nr_classes; i++) {
		struct bslab_stats cs;
		bslab_get_stats(&h->caches[i], &cs);
		if (k.slabs[i] != cs.total_slabs)
			problem(&k, "K3", "%zu slabs of %s in the page map, the cache holds %zu",
				k.slabs[i], h->caches[i].name, cs.total_slabs);
	}
	check_arenas(&k);
	check_huge(&k);
	size_t parts = h->state_bytes + h->arena_meta_bytes + h->link_bytes + h->resident_bytes +
		       h->huge_mapped + h->huge_map_len;
	if (bkm_footprint(h) != parts || h->peak_footprint < parts)
		problem(&k, "K4", "footprint %zu, its parts %zu, peak %zu", bkm_footprint(h), parts,
			h->peak_footprint);
	return k.problems;
}
