/* SPDX-License-Identifier: MIT */
/*
 * kmalloc_arena.c - where the kmalloc heap's memory comes from and goes back
 * to: arenas (zone regions) mapped as needed, the page map and resident
 * accounting that go with them, giving free pages back with madvise or
 * unmapping whole arenas, and huge blocks mapped on their own.
 *
 * Every arena is a power of two of bytes aligned to its own size, so every
 * zone block in it is aligned to its size (slabs are found by masking).
 * It is mapped with MAP_NORESERVE: its pages cost nothing until touched.
 * The heap counts a system page as resident from the moment it hands the
 * page out or the zone writes a free-list link into it (the zone's split
 * events say where: the upper half of every split gets a link; with
 * cfg.outside_links the links live in the metadata and no free page is
 * written), until it gives the page back. When a free leaves more than
 * retain_bytes of free pages resident (beyond what the last purge could
 * not give back), a wholly free arena other than the first is unmapped, or
 * else every free block is given back with madvise (a purge), all but the
 * system page holding its first bytes when the zone's links live there,
 * in runs of at least release_min_bytes.
 *
 * An arena's metadata (the zone's region metadata, the page map, the
 * resident bitmap and the arena's record) follows its pages, behind a gap
 * that a write past the arena's last block meets first: a system page
 * mapped without access in a mapped arena (the write faults at once; with a
 * map hook whose memory mprotect refuses, the page is at least unused), 64
 * unused bytes in a fixed buffer. The record is also the region's owner in
 * the zone.
 *
 * Costs: mapping an arena is one mmap and one mprotect plus O(arenas); finding the arena of
 * a pointer is O(1) behind a hint, else O(log arenas); touching and
 * releasing are O(pages / 64) over the range.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE, madvise, mremap */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/annotate.h"
#include "kmalloc/kmalloc_internal.h"

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* ------------------------------------------------------------------ */
/* events and reports                                                  */
/* ------------------------------------------------------------------ */

void bkm_event_emit(struct bkm_heap *h, enum bkm_event_kind kind, void *addr, size_t bytes,
		    unsigned order, const char *cache)
{
	struct bkm_event ev = { kind, addr, bytes, order, cache };
	h->cfg.log(h->cfg.log_arg, &ev);
}

/* ------------------------------------------------------------------ */
/* mapping                                                             */
/* ------------------------------------------------------------------ */

static void *map_pages(struct bkm_heap *h, size_t len)
{
	if (h->cfg.map)
		return h->cfg.map(h->cfg.map_arg, len);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void unmap_pages(struct bkm_heap *h, void *p, size_t len)
{
	if (!len)
		return;
	/* A later mapping may reuse the addresses: leave no checker state on them. */
	annot_defined(p, len);
	if (h->cfg.unmap)
		h->cfg.unmap(h->cfg.map_arg, p, len);
	else
		munmap(p, len);
}

size_t bkm_footprint(const struct bkm_heap *h)
{
	return h->state_bytes + h->arena_meta_bytes + h->link_bytes + h->resident_bytes +
	       h->huge_mapped + h->huge_map_len;
}

static void peak_note(struct bkm_heap *h)
{
	size_t fp = bkm_footprint(h);
	if (fp > h->peak_footprint)
		h->peak_footprint = fp;
}

/* ------------------------------------------------------------------ */
/* resident accounting                                                 */
/* ------------------------------------------------------------------ */

/*
 * With outside links, the zone writes a page's list entry (in the arena's
 * metadata) only when a free block starts on that page: at the arena's
 * start, at the upper half of each split (the zone's split events; the
 * trimmed tails of exact runs are such halves too), and where a freed or
 * merged block starts, which was such a page before. So the system pages
 * holding nothing but entries count as resident from the first split
 * event or block start that names one of their entries: python-imports.rep
 * maps 15.25 MiB of arenas, whose 244 KiB of entries would all count, and
 * at its peak has written into 38 of those 61 pages.
 */
static void link_mark(struct bkm_heap *h, struct bkm_arena *a, uintptr_t page)
{
	uintptr_t e = bkm_link_entry(h, a, page);
	/* the entry's first and last byte: it may straddle two pages */
	for (uintptr_t b = e; b <= e + sizeof(struct buddy_list) - 1;
	     b += sizeof(struct buddy_list) - 1) {
		size_t i = (b - a->link_lo) >> h->sys_shift;
		if (b < a->link_lo || i >= a->link_n || (a->linkmap[i / 64] >> (i % 64) & 1u))
			continue;
		a->linkmap[i / 64] |= (uint64_t)1 << (i % 64);
		a->link_pages++;
		h->link_bytes += h->sys_page;
	}
}

/* Mark the system pages of [addr, addr + len) resident; returns how many were not. */
/* The bits of bitmap word w that pages first..last cover. */
static inline uint64_t word_mask(size_t w, size_t first, size_t last)
{
	uint64_t m = ~(uint64_t)0;
	if (w == first / 64)
		m <<= first % 64;
	if (w == last / 64)
		m &= ~(uint64_t)0 >> (63 - last % 64);
	return m;
}

static NOINLINE size_t touch_pages(struct bkm_heap *h, struct bkm_arena *a, size_t first,
				   size_t last)
{
	size_t added = 0;
	for (size_t w = first / 64; w <= last / 64; w++) {
		uint64_t m = word_mask(w, first, last);
		uint64_t fresh = m & ~a->resident[w];
		if (fresh) {
			added += (size_t)__builtin_popcountll((unsigned long long)fresh);
			a->resident[w] |= m;
		}
	}
	a->resident_pages += added;
	h->resident_bytes += added << h->sys_shift;
	return added;
}

static size_t touch(struct bkm_heap *h, struct bkm_arena *a, uintptr_t addr, size_t len)
{
	size_t first = (addr - a->base) >> h->sys_shift;
	size_t last = (addr + len - 1 - a->base) >> h->sys_shift;
	/* Mostly one word of the bitmap, whose pages are resident already. */
	if (first / 64 == last / 64 &&
	    !(word_mask(first / 64, first, last) & ~a->resident[first / 64]))
		return 0;
	return touch_pages(h, a, first, last);
}

/*
 * Give back the resident system pages wholly inside the free block
 * [addr, addr + len), except the one holding its first bytes when the
 * zone's links live there, in runs of at least cfg.release_min_bytes.
 *
 * Why a least run: a purge of python-imports.rep made 224 madvise calls,
 * 127 of them for a single 4 KiB page and 65 for three (a free block of
 * 8 or 16 KiB less its link page), and gave back nothing that the rest of
 * the trace faulted in again. Leaving runs below 16 KiB resident cut that
 * to 32 calls, the replay went from 44.98 to 47.10 Mops/s (glibc: 47.42
 * and 47.15 in the same runs), and no trace's peak footprint moved.
 */
static void release_range(struct bkm_heap *h, struct bkm_arena *a, uintptr_t addr, size_t len)
{
	if (h->fixed)
		return;
	size_t from = ((addr - a->base) >> h->sys_shift) + (h->cfg.outside_links ? 0 : 1);
	size_t to = (addr + len - a->base) >> h->sys_shift;
	size_t run = 0;
	for (size_t i = from; i <= to; i++) {
		if (i < to && (a->resident[i / 64] >> (i % 64) & 1u)) {
			run++;
			continue;
		}
		size_t bytes = run << h->sys_shift;
		size_t first = i - run;
		run = 0;
		if (!bytes || bytes < h->cfg.release_min_bytes)
			continue;
		for (size_t j = first; j < i; j++)
			a->resident[j / 64] &= ~((uint64_t)1 << (j % 64));
		uintptr_t start = a->base + (first << h->sys_shift);
		madvise((void *)start, bytes, MADV_DONTNEED);
		a->resident_pages -= bytes >> h->sys_shift;
		h->resident_bytes -= bytes;
		h->released_bytes += bytes;
		bkm_event(h, BKM_EV_RELEASE, (void *)start, bytes, 0, NULL);
	}
}

/*
 * Free resident bytes kept before a purge: retain_bytes, or a quarter of
 * the resident memory when that is more (so a large heap in a steady state
 * does not give pages back only to fault them in again). An eighth was too
 * little for the process malloc's threaded benchmark at 2 threads (28 MiB
 * resident): 84 MB given back and 13,700 page faults in a run of 8M
 * operations, against 20 MB and 6,100 with a quarter; the real programs'
 * peak RSS did not move.
 */
static size_t retain(const struct bkm_heap *h)
{
	size_t r = h->resident_bytes / 4;
	return r > h->cfg.retain_bytes ? r : h->cfg.retain_bytes;
}

/* Resident bytes the heap holds but does not use. */
static size_t dirty_bytes(const struct bkm_heap *h)
{
	return h->resident_bytes > h->used_bytes ? h->resident_bytes - h->used_bytes : 0;
}

struct purge_walk {
	struct bkm_heap *h;
};

static int purge_block(void *arg, const struct buddy_block *b)
{
	struct bkm_heap *h = ((struct purge_walk *)arg)->h;
	size_t len = (size_t)1 << (b->order + h->page_shift);
	if (b->state == BUDDY_BLOCK_FREE && len >= h->sys_page + !h->cfg.outside_links) {
		struct bkm_arena *a = bkm_arena_of(h, (uintptr_t)b->addr);
		if (a)
			release_range(h, a, (uintptr_t)b->addr, len);
	}
	return 0;
}

/* Give back every free block, after merging the zone's cached ones. */
static void purge(struct bkm_heap *h)
{
	struct purge_walk pw = { h };
	buddy_drain_cache(&h->zone);
	buddy_walk(&h->zone, purge_block, &pw);
	h->purge_floor = dirty_bytes(h);
}

/* ------------------------------------------------------------------ */
/* arenas                                                              */
/* ------------------------------------------------------------------ */

/* The gap between a fixed buffer's arena and its metadata (a mapped arena's is a system page). */
#define KM_FIXED_GAP 64

struct arena_sizes {
	size_t gap;        /* between the pages and the metadata */
	size_t zone_meta;  /* zone region metadata */
	size_t map;        /* page map */
	size_t bitmap;     /* resident bitmap */
	size_t linkmap;    /* with outside links: one bit per system page of entries */
	size_t tail;       /* all of it with the record, rounded to system pages */
};

static void arena_sizes(const struct bkm_heap *h, size_t bytes, struct arena_sizes *s)
{
	s->gap = h->fixed ? KM_FIXED_GAP : h->sys_page;
	s->zone_meta = align_up(buddy_meta_size(&h->zone, bytes), 8);
	s->map = align_up(bytes >> h->page_shift, 8);
	s->bitmap = ((bytes >> h->sys_shift) + 63) / 64 * 8;
	s->linkmap = h->cfg.outside_links
			     ? (((bytes >> h->page_shift) * sizeof(struct buddy_list) >> h->sys_shift) +
				64) / 64 * 8
			     : 0;
	s->tail = align_up(s->zone_meta + s->map + s->bitmap + s->linkmap +
				   sizeof(struct bkm_arena),
			   h->sys_page);
}

/* Lay out an arena's metadata at `meta` and make its region and record. */
static int arena_add(struct bkm_heap *h, uintptr_t base, size_t bytes, uint8_t *meta,
		     const struct arena_sizes *s, unsigned flags)
{
	if (h->nr_arenas == BKM_ARENAS_MAX)
		return BUDDY_ENOMEM;
	int st = buddy_add_region_ex(&h->zone, (void *)base, bytes, meta, s->zone_meta, flags);
	if (st)
		return st;
	struct bkm_arena *a =
		(struct bkm_arena *)(meta + s->zone_meta + s->map + s->bitmap + s->linkmap);
	(void)buddy_region_set_owner(&h->zone, (void *)base, a); /* the region was just added */
	memset(a, 0, sizeof(*a));
	a->base = base;
	a->bytes = bytes;
	a->map = meta + s->zone_meta;
	a->resident = (uint64_t *)(meta + s->zone_meta + s->map);
	a->linkmap = (uint64_t *)(meta + s->zone_meta + s->map + s->bitmap);
	if (!(flags & BUDDY_META_ZEROED)) {
		memset(a->map, 0, s->map);
		memset(a->resident, 0, s->bitmap + s->linkmap);
	}
	a->meta_bytes = s->tail;
	struct buddy_region_info ri = { 0 };
	for (unsigned j = 0; s->linkmap && j <= h->nr_arenas && ri.base != (void *)base; j++)
		if (buddy_region_info(&h->zone, j, &ri) != BUDDY_OK)
			break;
	/* Fresh metadata only: the zone cleared metadata it was not promised zero. */
	if (s->linkmap && (flags & BUDDY_META_ZEROED) && ri.base == (void *)base && ri.links) {
		a->links = (uintptr_t)ri.links;
		a->link_lo = align_up(a->links, h->sys_page);
		uintptr_t hi = (a->links + ri.links_bytes) & ~(uintptr_t)(h->sys_page - 1);
		a->link_n = hi > a->link_lo ? (hi - a->link_lo) >> h->sys_shift : 0;
		a->meta_bytes -= a->link_n << h->sys_shift;
		/* the region's first blocks are on the free lists */
		for (size_t i = 0; i < ri.nr_pages; i += (size_t)1 << ri.max_order)
			link_mark(h, a, base + (i << h->page_shift));
	}
	a->id = h->next_arena_id++;
	unsigned i = h->nr_arenas;
	while (i && h->arenas[i - 1]->base > base) {
		h->arenas[i] = h->arenas[i - 1];
		i--;
	}
	h->arenas[i] = a;
	h->nr_arenas++;
	h->arena_bytes += bytes;
	h->arena_meta_bytes += a->meta_bytes;
	/* The zone linked the region's first block into a free list. */
	if (!h->cfg.outside_links)
		touch(h, a, base, 16);
	peak_note(h);
	return BUDDY_OK;
}

/*
 * Map an arena of `bytes` (a power of two), aligned to its size, and touch
 * its first `populate` bytes (at most the arena), so that the heap's first
 * allocations take no page faults (those pages count as resident from then
 * on).
 */
static int arena_map(struct bkm_heap *h, size_t bytes, size_t populate)
{
	struct arena_sizes s;
	arena_sizes(h, bytes, &s);
	size_t slack = bytes - h->sys_page;
	size_t len = bytes + s.gap + s.tail + slack;
	if (h->cfg.limit_bytes &&
	    (bytes > h->cfg.limit_bytes ||
	     h->arena_bytes + h->huge_mapped > h->cfg.limit_bytes - bytes))
		return BUDDY_ENOMEM;
	uint8_t *p = map_pages(h, len);
	if (!p)
		return BUDDY_ENOMEM;
	uintptr_t base = align_up((uintptr_t)p, bytes);
	size_t head = base - (uintptr_t)p;
	unmap_pages(h, p, head);
	unmap_pages(h, (void *)(base + bytes + s.gap + s.tail), len - head - bytes - s.gap - s.tail);
	size_t pre = populate < bytes ? align_up(populate, h->sys_page) : bytes;
	for (size_t off = 0; off < pre; off += h->sys_page)
		*(volatile char *)(base + off) = 0;
	/* Fresh anonymous mappings are zero; a caller's map hook promises no such thing. */
	unsigned flags = h->cfg.map ? 0 : BUDDY_META_ZEROED;
	int st = arena_add(h, base, bytes, (uint8_t *)(base + bytes + s.gap), &s, flags);
	if (st) {
		unmap_pages(h, (void *)base, bytes + s.gap + s.tail);
		return st;
	}
	struct bkm_arena *a = bkm_arena_find(h, base);
	if (pre)
		touch(h, a, base, pre);
	a->map_base = (void *)base;
	a->map_len = bytes + s.gap + s.tail;
	a->guarded = mprotect((void *)(base + bytes), s.gap, PROT_NONE) == 0;
	h->maps++;
	bkm_event(h, BKM_EV_ARENA, (void *)base, bytes, 0, NULL);
	return BUDDY_OK;
}

/* Add an arena that can hold a block of npages pages. */
static int grow(struct bkm_heap *h, size_t npages)
{
	if (h->fixed)
		return BUDDY_ENOMEM;
	size_t need = npages << h->page_shift;
	size_t bytes = h->next_arena_bytes;
	while (bytes < need && bytes < ((size_t)1 << (sizeof(size_t) * 8 - 2)))
		bytes <<= 1;
	if (bytes < need)
		return BUDDY_ENOMEM;
	int st = arena_map(h, bytes, 0);
	/* Four times larger each time up to 1 MiB, then twice: few arenas to search,
	 * and not much more mapped (with its metadata) than the heap needs. */
	if (st == BUDDY_OK && h->next_arena_bytes < ((size_t)1 << 30))
		h->next_arena_bytes = bytes * (bytes < ((size_t)1 << 20) ? 4 : 2);
	return st;
}

/*
 * Give a mapped arena's memory back, the guard page with access again first
 * when a map hook takes it back (its owner may reuse the memory).
 */
static void arena_release(struct bkm_heap *h, const struct bkm_arena *a)
{
	if (a->guarded && h->cfg.unmap)
		mprotect((void *)(a->base + a->bytes), h->sys_page, PROT_READ | PROT_WRITE);
	unmap_pages(h, a->map_base, a->map_len);
}

/* Unmap the wholly free arena a (not the first). */
static void arena_unmap(struct bkm_heap *h, struct bkm_arena *a)
{
	if (buddy_remove_region(&h->zone, (void *)a->base) != BUDDY_OK)
		return;
	unsigned i = 0;
	while (h->arenas[i] != a)
		i++;
	for (; i + 1 < h->nr_arenas; i++)
		h->arenas[i] = h->arenas[i + 1];
	h->nr_arenas--;
	if (h->hint == a)
		h->hint = &h->none;
	if (h->hint2 == a)
		h->hint2 = &h->none;
	h->arena_bytes -= a->bytes;
	h->arena_meta_bytes -= a->meta_bytes;
	h->link_bytes -= a->link_pages << h->sys_shift;
	h->resident_bytes -= a->resident_pages << h->sys_shift;
	h->unmaps++;
	bkm_event(h, BKM_EV_ARENA_FREE, (void *)a->base, a->bytes, 0, NULL);
	arena_release(h, a);
}

struct bkm_arena *bkm_arena_find(struct bkm_heap *h, uintptr_t a)
{
	unsigned lo = 0, hi = h->nr_arenas;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (h->arenas[mid]->base <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct bkm_arena *r = lo ? h->arenas[lo - 1] : NULL;
	if (!r || a - r->base >= r->bytes)
		return NULL;
	return bkm_hint_set(h, r);
}

/* ------------------------------------------------------------------ */
/* zone callbacks                                                      */
/* ------------------------------------------------------------------ */

/* The zone split or merged a block: note where a split wrote links, and pass it on. */
static void zone_log(void *arg, const struct buddy_event *ev)
{
	struct bkm_heap *h = arg;
	uintptr_t addr = (uintptr_t)ev->addr;
	if (ev->kind == BUDDY_EV_SPLIT) {
		uintptr_t upper = addr + ((size_t)1 << (ev->order - 1 + h->page_shift));
		struct bkm_arena *a = bkm_arena_of(h, upper);
		if (a && !h->cfg.outside_links)
			touch(h, a, upper, 16);
		else if (a && a->links)
			link_mark(h, a, upper);
		bkm_event(h, BKM_EV_SPLIT, ev->addr, (size_t)1 << (ev->order + h->page_shift),
			 ev->order, NULL);
	} else {
		bkm_event(h, BKM_EV_MERGE, ev->addr, (size_t)1 << (ev->order + h->page_shift),
			 ev->order, NULL);
	}
}

/* The zone found its own data damaged: report it as the heap's (it stops itself). */
static void zone_error(void *arg, int kind, const char *op, const void *ptr, const char *msg)
{
	struct bkm_heap *h = arg;
	h->misuse++;
	h->corrupted = 1;
	if (h->cfg.on_error) {
		h->cfg.on_error(h->cfg.error_arg, kind, op, ptr, msg);
		return;
	}
	fprintf(stderr, "%s\n", msg);
	fflush(stderr);
	abort();
}

/* ------------------------------------------------------------------ */
/* pages for slabs and runs                                            */
/* ------------------------------------------------------------------ */

/*
 * n bytes of a page map set to v. Most slabs and runs are a few pages, for
 * which a call to memset costs more than the stores (cc1-O0-small.rep, 8 KiB
 * runs mostly: 4,537 calls; its replay loop ran 3.57 M instructions with
 * them, 3.53 M without).
 */
static inline void map_fill(uint8_t *m, uint8_t v, size_t n)
{
	uint64_t w = 0x0101010101010101ull * v;
	if (n >= 8 && n <= 16) {
		memcpy(m, &w, 8);
		memcpy(m + n - 8, &w, 8);
	} else if (n >= 4 && n < 8) {
		memcpy(m, &w, 4);
		memcpy(m + n - 4, &w, 4);
	} else if (n < 4) {
		for (size_t i = 0; i < n; i++)
			m[i] = v;
	} else {
		memset(m, v, n);
	}
}

/*
 * npages pages (an exact run) or, with npages 0, a block of `order`, marked
 * in the page map with `code` (a class for a slab, KM_PG_RUN for a run).
 * The heap grows when the zone has no room. NULL when nothing can be had.
 */
void *bkm_pages_alloc(struct bkm_heap *h, size_t npages, unsigned order, uint8_t code)
{
	size_t n = npages ? npages : (size_t)1 << order;
	void *p = npages ? buddy_alloc_pages_exact(&h->zone, npages, 0)
			 : buddy_alloc_pages(&h->zone, order, 0);
	if (!p && grow(h, n) == BUDDY_OK)
		p = npages ? buddy_alloc_pages_exact(&h->zone, npages, 0)
			   : buddy_alloc_pages(&h->zone, order, 0);
	if (!p)
		return NULL;
	struct bkm_arena *a = bkm_arena_of(h, (uintptr_t)p);
	size_t idx = bkm_page_index(h, a, (uintptr_t)p);
	if (code == KM_PG_RUN) {
		a->map[idx] = KM_PG_RUN;
		map_fill(a->map + idx + 1, KM_PG_TAIL, n - 1);
	} else {
		map_fill(a->map + idx, code, n);
	}
	a->used_pages += n;
	h->used_bytes += n << h->page_shift;
	touch(h, a, (uintptr_t)p, n << h->page_shift);
	peak_note(h);
	return p;
}

/*
 * Give back what bkm_pages_alloc gave (npages for a run, else a block of
 * `order`); then, if more than retain_bytes of free memory has become
 * resident since the last purge, give it back to the system.
 */
void bkm_pages_free(struct bkm_heap *h, struct bkm_arena *a, void *p, size_t npages,
		   unsigned order)
{
	size_t n = npages ? npages : (size_t)1 << order;
	size_t idx = bkm_page_index(h, a, (uintptr_t)p);
	map_fill(a->map + idx, KM_PG_FREE, n);
	a->used_pages -= n;
	h->used_bytes -= n << h->page_shift;
	if (npages)
		buddy_free_pages_exact(&h->zone, p, npages);
	else
		buddy_free_pages(&h->zone, p, order);
	if (h->fixed || dirty_bytes(h) <= h->purge_floor + retain(h))
		return;
	/* Too much free memory is resident: a wholly free arena goes, else a purge. */
	if (a->used_pages == 0 && a->id != 0) {
		arena_unmap(h, a);
		if (dirty_bytes(h) <= h->purge_floor + retain(h))
			return;
	}
	purge(h);
}

/* ------------------------------------------------------------------ */
/* huge blocks                                                         */
/* ------------------------------------------------------------------ */

/* Room for one more record in the sorted array. */
static int huge_reserve(struct bkm_heap *h)
{
	if (h->nr_huge < h->huge_cap)
		return 0;
	size_t len = h->huge_map_len ? h->huge_map_len * 2 : h->sys_page;
	struct bkm_huge *n = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0);
	if (n == MAP_FAILED)
		return -1;
	if (h->huge) {
		memcpy(n, h->huge, h->nr_huge * sizeof(*n));
		munmap(h->huge, h->huge_map_len);
	}
	h->huge = n;
	h->huge_map_len = len;
	h->huge_cap = len / sizeof(*n);
	peak_note(h);
	return 0;
}

static size_t huge_slot(const struct bkm_heap *h, uintptr_t a)
{
	size_t lo = 0, hi = h->nr_huge;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (h->huge[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo; /* entries before lo start at or below a */
}

static void huge_insert(struct bkm_heap *h, const struct bkm_huge *e)
{
	size_t i = huge_slot(h, e->addr);
	memmove(&h->huge[i + 1], &h->huge[i], (h->nr_huge - i) * sizeof(*e));
	h->huge[i] = *e;
	h->nr_huge++;
	h->huge_bytes += e->bytes;
	h->huge_mapped += e->map_len;
}

static void huge_remove(struct bkm_heap *h, struct bkm_huge *e)
{
	size_t i = (size_t)(e - h->huge);
	h->huge_bytes -= e->bytes;
	h->huge_mapped -= e->map_len;
	memmove(&h->huge[i], &h->huge[i + 1], (h->nr_huge - i - 1) * sizeof(*e));
	h->nr_huge--;
}

struct bkm_huge *bkm_huge_find(struct bkm_heap *h, uintptr_t a)
{
	size_t i = huge_slot(h, a);
	if (!i)
		return NULL;
	struct bkm_huge *e = &h->huge[i - 1];
	return a - e->addr < e->bytes ? e : NULL;
}

static int huge_limit_ok(const struct bkm_heap *h, size_t len)
{
	return !h->cfg.limit_bytes ||
	       (len <= h->cfg.limit_bytes &&
		h->arena_bytes + h->huge_mapped <= h->cfg.limit_bytes - len);
}

/* A block of n bytes aligned to `align` (a power of two) in a mapping of its own. */
void *bkm_huge_alloc(struct bkm_heap *h, size_t n, size_t align)
{
	if (h->fixed || n > SIZE_MAX / 2 || align > SIZE_MAX / 4)
		return NULL;
	size_t bytes = align_up(n, h->sys_page);
	size_t extra = align > h->sys_page ? align - h->sys_page : 0;
	if (!huge_limit_ok(h, bytes + extra) || huge_reserve(h))
		return NULL;
	uint8_t *p = map_pages(h, bytes + extra);
	if (!p)
		return NULL;
	uintptr_t addr = align_up((uintptr_t)p, align > h->sys_page ? align : h->sys_page);
	size_t head = addr - (uintptr_t)p;
	unmap_pages(h, p, head);
	unmap_pages(h, (void *)(addr + bytes), extra - head);
	struct bkm_huge e = { addr, bytes, (void *)addr, bytes };
	huge_insert(h, &e);
	h->maps++;
	h->huge_count++;
	peak_note(h);
	bkm_event(h, BKM_EV_HUGE, (void *)addr, bytes, 0, NULL);
	return (void *)addr;
}

void bkm_huge_free(struct bkm_heap *h, struct bkm_huge *e)
{
	struct bkm_huge copy = *e;
	huge_remove(h, e);
	h->unmaps++;
	h->huge_frees++;
	bkm_event(h, BKM_EV_HUGE_FREE, (void *)copy.addr, copy.bytes, 0, NULL);
	unmap_pages(h, copy.map_base, copy.map_len);
}

/* Move or resize the huge block e to n bytes with mremap; NULL (nothing changed) on failure. */
void *bkm_huge_resize(struct bkm_heap *h, struct bkm_huge *e, size_t n)
{
	size_t bytes = align_up(n, h->sys_page);
	if (bytes == e->bytes)
		return (void *)e->addr;
	if (h->cfg.map || (bytes > e->bytes && !huge_limit_ok(h, bytes - e->bytes)))
		return NULL;
	void *q = mremap(e->map_base, e->map_len, bytes, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		return NULL;
	struct bkm_huge moved = { (uintptr_t)q, bytes, q, bytes };
	huge_remove(h, e);
	huge_insert(h, &moved);
	peak_note(h);
	return q;
}

/* ------------------------------------------------------------------ */
/* set-up and tear-down                                                */
/* ------------------------------------------------------------------ */

/*
 * Fixed mode: the state lies at the buffer's start (placed by the caller);
 * the arena is the largest power of two that fits after it, aligned to
 * itself, with its metadata after it.
 */
static int setup_fixed(struct bkm_heap *h, uintptr_t start)
{
	uintptr_t end = (uintptr_t)h->cfg.buffer + h->cfg.buffer_bytes;
	for (size_t bytes = (size_t)1 << 30; bytes >= h->sys_page; bytes >>= 1) {
		struct arena_sizes s;
		arena_sizes(h, bytes, &s);
		uintptr_t base = align_up(start, bytes);
		uintptr_t meta = base + bytes + s.gap;
		if (base < start || meta + s.tail > end || meta + s.tail < base)
			continue;
		h->next_arena_bytes = bytes;
		return arena_add(h, base, bytes, (uint8_t *)meta, &s, 0);
	}
	return BUDDY_ESMALL;
}

int bkm_setup(struct bkm_heap *h)
{
	struct buddy_config zc;
	buddy_config_default(&zc);
	zc.page_size = h->cfg.page_size;
	zc.name = "kmalloc";
	zc.pcp_high = h->cfg.zone_pcp_high;
	zc.pcp_max_order = KM_ZONE_PCP_ORDER;
	zc.outside_links = h->cfg.outside_links;
	zc.log = zone_log;
	zc.log_arg = h;
	zc.on_error = zone_error;
	zc.error_arg = h;
	if (buddy_zone_init(&h->zone, &zc) != BUDDY_OK)
		return EINVAL;
	h->hint = h->hint2 = &h->none;
	h->next_arena_bytes = h->cfg.arena_bytes;
	if (h->fixed) {
		uintptr_t start = (uintptr_t)h->caches + h->nr_classes * sizeof(*h->caches);
		return setup_fixed(h, start) == BUDDY_OK ? 0 : ENOMEM;
	}
	/* The first arena now, ready for use; later ones grow four times as large. */
	if (arena_map(h, h->cfg.arena_bytes, h->cfg.populate_bytes) != BUDDY_OK)
		return ENOMEM;
	h->next_arena_bytes = h->cfg.arena_bytes * 4;
	return 0;
}

void bkm_teardown(struct bkm_heap *h)
{
	while (h->nr_huge)
		bkm_huge_free(h, &h->huge[h->nr_huge - 1]);
	if (h->huge)
		munmap(h->huge, h->huge_map_len);
	for (unsigned i = 0; i < h->nr_arenas; i++)
		if (h->arenas[i]->map_base)
			arena_release(h, h->arenas[i]);
	h->nr_arenas = 0;
}
