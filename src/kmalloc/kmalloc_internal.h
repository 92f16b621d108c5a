/* SPDX-License-Identifier: MIT */
/*
 * kmalloc_internal.h - the kmalloc heap's private state, shared by kmalloc_arena.c
 * (arenas, the page map, resident accounting, huge mappings), kmalloc_alloc.c
 * (the malloc family), kmalloc_info.c (statistics, check, walk, slabinfo) and
 * kmalloc_balloc.c (the common interface).
 *
 * An arena is one mapping:
 *
 *     [ zone region: bytes, aligned to bytes ][ region metadata | page map |
 *       resident bitmap | struct bkm_arena ]
 *
 * The page map has one byte per zone page: KM_PG_FREE when the heap does
 * not hold the page, 1 + i on every page of a slab of class i (plus
 * KM_PG_SMALL for one of the cache's small first slabs), KM_PG_RUN on the
 * first page of a run and KM_PG_TAIL on its other pages. free(p)
 * reads the byte of p's page: a class number names the cache, and the slab
 * is p with its low bits cleared (slabs are aligned to their size because
 * the arena is aligned to its own). The resident bitmap has one bit per
 * system page: set when the heap hands the page out or the zone writes a
 * free-list link into it, cleared when the page is given back with
 * madvise. Its population is the arena's share of the footprint.
 *
 * A damaged page map byte can only misroute a free to a cache that then
 * refuses the pointer (its slab header names another cache, or the object
 * checks fail); a damaged resident bit only misstates the footprint.
 */
#ifndef BUDDY_KMALLOC_INTERNAL_H
#define BUDDY_KMALLOC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "buddy/kmalloc.h"
#include "common/compiler.h"
#include "common/debug.h"

/* Page map bytes. A slab page reads 1 + its class, with KM_PG_SMALL added
 * for the small slabs a cache starts with. */
#define KM_PG_FREE 0x00u
#define KM_PG_SMALL 0x80u
#define KM_PG_RUN 0xfeu
#define KM_PG_TAIL 0xffu

#define KM_SMALL_STEP 16u    /* class spacing up to KM_LINEAR_MAX */
#define KM_LINEAR_MAX 128u
#define KM_TAB1_MAX 1024u    /* sizes up to this: table indexed by size / 16 */
#define KM_TAB2_SHIFT 7u     /* above: table indexed by (size - 1) / 128 */
#define KM_TAB2_LEN (65536u >> KM_TAB2_SHIFT)
#define KM_RESERVE_MAX_CLASS 2048u /* larger classes keep no empty slab */
#define KM_ZONE_PCP_ORDER 4u /* the largest order the zone's page cache keeps */

struct bkm_arena {
	uintptr_t base;           /* first byte of the region */
	size_t bytes;             /* region bytes */
	uint8_t *map;             /* bytes >> page_shift page map bytes */
	uint64_t *resident;       /* one bit per system page of the region */
	size_t resident_pages;    /* bits set in `resident` */
	size_t used_pages;        /* zone pages held by slabs and runs */
	void *map_base;           /* the whole mapping; NULL in fixed mode */
	size_t map_len;           /* its length */
	size_t meta_bytes;        /* region metadata, page map, bitmaps, this record;
				   * with outside links, less the system pages that
				   * hold list entries only (link_lo..) */
	uintptr_t links;          /* outside links: the region's list entries, else 0 */
	uintptr_t link_lo;        /* the first system page holding entries only */
	size_t link_n;            /* such pages */
	uint64_t *linkmap;        /* one bit each: the zone may have written an entry there */
	size_t link_pages;        /* bits set in `linkmap` */
	int guarded;              /* the page after the region is mapped without access */
	unsigned id;              /* order of mapping, from 0 */
};

struct bkm_huge {
	uintptr_t addr;           /* block start (page aligned) */
	size_t bytes;             /* usable bytes (the block) */
	void *map_base;           /* the mapping holding it */
	size_t map_len;
};

/*
 * The heap. Invariants (bkm_check verifies each; messages start with the tag):
 *   K1 the zone's own invariants hold (buddy_check);
 *   K2 every cache's invariants hold (bslab_check: S1..S7);
 *   K3 the page map agrees with the zone and the caches: every page of a
 *      slab of class i reads 1 + i, every run reads KM_PG_RUN then
 *      KM_PG_TAIL over exactly the pages the zone gave it, every page the
 *      heap does not hold reads KM_PG_FREE, and each arena's used_pages is
 *      the number of pages held;
 *   K4 the resident bitmap covers every page held, and resident_pages is
 *      its population; with outside links, the link map marks the entry
 *      of every free block's first page, and link_pages is its
 *      population; footprint and its parts add up;
 *   K5 arenas are sorted, disjoint and each is one zone region;
 *   K6 huge blocks are sorted, disjoint, outside the arenas, and their
 *      count and bytes match the counters.
 */
struct bkm_heap {
	/* --- read by malloc and free first --- */
	struct bkm_arena *hint;    /* arena of the last lookup (never NULL) */
	struct bkm_arena *hint2;   /* the one before it (never NULL) */
	size_t max_class_bytes;         /* largest class */
	unsigned page_shift;      /* log2(page_size) */
	unsigned nr_classes;      /* caches in use */
	uint8_t tab1[KM_TAB1_MAX / KM_SMALL_STEP + 1]; /* (size + 15) / 16 -> class */
	uint8_t tab2[KM_TAB2_LEN];  /* (size - 1) >> 7 -> class, sizes above 1 KiB */
	struct bslab_cache *caches; /* nr_classes caches, right after this struct */
	/* --- the page zone and arenas --- */
	struct buddy_zone zone;
	struct bkm_config cfg;    /* resolved configuration */
	struct bslab_hooks hooks; /* page source, errors and log for every cache */
	size_t sys_page;          /* system page size */
	unsigned sys_shift;       /* log2(sys_page) */
	struct bkm_arena *arenas[BKM_ARENAS_MAX]; /* sorted by base */
	unsigned nr_arenas;
	unsigned next_arena_id;
	size_t next_arena_bytes;  /* size of the next arena to map */
	size_t arena_bytes;       /* sum of region bytes */
	size_t arena_meta_bytes;  /* sum of arena meta_bytes */
	size_t link_bytes;        /* sum of arena link_pages, in bytes */
	size_t resident_bytes;    /* sum of resident pages, in bytes */
	size_t used_bytes;        /* zone pages held by slabs and runs, in bytes */
	size_t purge_floor;       /* dirty bytes left after the last purge */
	struct bkm_arena none;     /* an empty arena the hint starts on */
	int fixed;                /* working in cfg.buffer */
	size_t state_bytes;       /* bytes mapped for this struct; 0 in fixed mode */
	/* --- huge blocks --- */
	struct bkm_huge *huge;     /* sorted by addr */
	size_t nr_huge;
	size_t huge_cap;          /* entries the array can hold */
	size_t huge_map_len;      /* bytes mapped for the array */
	size_t huge_bytes;        /* sum of huge block bytes */
	size_t huge_mapped;       /* sum of their mappings */
	/* --- statistics (see struct bkm_stats) --- */
	size_t large_allocs;
	size_t large_bytes;
	size_t peak_footprint;
	uint64_t large_count;     /* runs allocated; only grows */
	uint64_t large_frees;
	uint64_t huge_count;
	uint64_t huge_frees;
	uint64_t failures;
	uint64_t reallocs_in_place;
	uint64_t reallocs_moved;
	uint64_t misuse;
	uint64_t maps;
	uint64_t unmaps;
	uint64_t released_bytes;
	uint64_t debug_calls;     /* public calls, for the expensive debug tier */
	int corrupted;            /* damage reported (the damaged part refuses changes) */
};

/* The class of a request of n <= max_class_bytes bytes. */
static inline unsigned bkm_class(const struct bkm_heap *h, size_t n)
{
	if (n <= KM_TAB1_MAX)
		return h->tab1[(n + KM_SMALL_STEP - 1) / KM_SMALL_STEP];
	return h->tab2[(n - 1) >> KM_TAB2_SHIFT];
}

/* The cache a page map byte names, or NULL (free page, run, or a bad byte). */
static inline struct bslab_cache *bkm_code_cache(const struct bkm_heap *h, unsigned code)
{
	unsigned ci = (code & ~KM_PG_SMALL) - 1;
	return ci < h->nr_classes ? &h->caches[ci] : NULL;
}

/* The slab a page map byte says holds p. */
static inline struct bslab_slab *bkm_code_slab(const struct bslab_cache *c, unsigned code,
					      const void *p)
{
	size_t bytes = (code & KM_PG_SMALL) ? c->small_bytes : c->slab_bytes;
	return (struct bslab_slab *)((uintptr_t)p & ~(uintptr_t)(bytes - 1));
}

/* The arena holding address a by bisection, or NULL (updates the hints). */
BUDDY_INTERNAL struct bkm_arena *bkm_arena_find(struct bkm_heap *h, uintptr_t a);
/*
 * The arena holding address a, or NULL: the hint, the arena the hint
 * named before it (a heap of a few arenas mostly moves between two:
 * cc1-O0-small.rep bisected 3,852 times in 24,438 calls, 3% of its
 * replay's instructions, with the first hint alone; 51 times with both),
 * else bisection.
 */
static inline struct bkm_arena *bkm_hint_set(struct bkm_heap *h, struct bkm_arena *ar)
{
	h->hint2 = h->hint;
	h->hint = ar;
	return ar;
}

static inline struct bkm_arena *bkm_arena_of(struct bkm_heap *h, uintptr_t a)
{
	struct bkm_arena *ar = h->hint;
	if (likely(a - ar->base < ar->bytes))
		return ar;
	ar = h->hint2;
	if (likely(a - ar->base < ar->bytes))
		return bkm_hint_set(h, ar);
	return bkm_arena_find(h, a);
}

static inline size_t bkm_page_index(const struct bkm_heap *h, const struct bkm_arena *a,
				   uintptr_t p)
{
	return (p - a->base) >> h->page_shift;
}

/* Outside links: where the list entry of the zone page at p lies in a's metadata. */
static inline uintptr_t bkm_link_entry(const struct bkm_heap *h, const struct bkm_arena *a,
				       uintptr_t p)
{
	return a->links + bkm_page_index(h, a, p) * sizeof(struct buddy_list);
}

/* kmalloc_arena.c */
BUDDY_INTERNAL int bkm_setup(struct bkm_heap *h);
BUDDY_INTERNAL void bkm_teardown(struct bkm_heap *h);
BUDDY_INTERNAL void *bkm_pages_alloc(struct bkm_heap *h, size_t npages, unsigned order,
			       uint8_t code);
BUDDY_INTERNAL void bkm_pages_free(struct bkm_heap *h, struct bkm_arena *a, void *p, size_t npages,
			     unsigned order);
BUDDY_INTERNAL size_t bkm_footprint(const struct bkm_heap *h);
BUDDY_INTERNAL void *bkm_huge_alloc(struct bkm_heap *h, size_t n, size_t align);
BUDDY_INTERNAL struct bkm_huge *bkm_huge_find(struct bkm_heap *h, uintptr_t a);
BUDDY_INTERNAL void bkm_huge_free(struct bkm_heap *h, struct bkm_huge *e);
BUDDY_INTERNAL void *bkm_huge_resize(struct bkm_heap *h, struct bkm_huge *e, size_t n);
BUDDY_INTERNAL void bkm_event_emit(struct bkm_heap *h, enum bkm_event_kind kind, void *addr,
				   size_t bytes, unsigned order, const char *cache);
/* Pass an event to cfg.log, if any (most heaps have none: no call then). */
static inline void bkm_event(struct bkm_heap *h, enum bkm_event_kind kind, void *addr, size_t bytes,
			     unsigned order, const char *cache)
{
	if (unlikely(h->cfg.log != NULL))
		bkm_event_emit(h, kind, addr, bytes, order, cache);
}
BUDDY_INTERNAL void bkm_report(struct bkm_heap *h, int kind, const char *op, const void *p);


#endif /* BUDDY_KMALLOC_INTERNAL_H */
