/* SPDX-License-Identifier: MIT */
/*
 * page_internal.h - the page allocator's private structures, shared by
 * page_alloc.c (allocation, free, regions) and page_info.c (statistics,
 * walk, integrity check).
 *
 * Per region, the metadata is laid out as
 *
 *     [struct buddy_region][pair bitmap, order 0][order 1]...[one byte per page]
 *     [with outside links: one struct buddy_list per page, 8-byte aligned; the
 *      entry of a free block's first page is its list entry]
 *
 * When it is carved from the region's own tail (buddy_add_region with meta
 * NULL), a guard of buddy_guard_pages() unused pages comes first:
 *
 *     [pages handed out ...][guard][struct buddy_region][bitmaps][page bytes]
 *      ^ base               ^ end  ^ meta (meta_bytes reach the region's end)
 *
 * so that a program writing past the end of its last block meets the
 * guard, never the region's header, bitmaps or page bytes (a program may
 * also mprotect the guard when it is a whole system page).
 *
 * Page byte: the state of the page, meaningful on the first page of a block.
 *
 *     bit  7 6 | 5    | 4..0
 *        state | MORE | order
 *
 *     state 00  PG_TAIL  not the first page of a block
 *           01  PG_FREE  first page of a free block of `order`; with MORE
 *                        set, a free block held in the page cache (PG_CACHED)
 *           10  PG_HEAD  first page of an allocation; its first block has `order`
 *           11  PG_CONT  first page of a later block of an exact allocation
 *     MORE      (HEAD or CONT) the allocation goes on with the next block
 *
 * Pair bitmap: bit (i >> (k+1)) of order k's map is
 *     free(i, k) XOR free(buddy(i, k), k)
 * where free(j, k) means "page j starts a free block of order k" and pages
 * past the region's end count as never free. It is toggled whenever a block
 * of order k joins or leaves a free list (old Linux's MARK_USED), so on a
 * free, the bit reading 0 after the toggle means the buddy is free too.
 * Orders at or above the region's max_order have no map: blocks there
 * have no buddy.
 *
 * Invariants of a zone, as buddy_check verifies them and reports them by tag
 * (free(i, k): page byte i is exactly PG_FREE | k; cached(i, k): PG_CACHED | k):
 *
 *   P1  Regions: the list is sorted by base and no two regions (nor any
 *       region's metadata) overlap; end - base == nr_pages << page_shift;
 *       nr_regions counts the list, and index[] holds its first
 *       BUDDY_NR_REGION_INDEX entries in order.
 *   P2  Tiling: the page bytes cut each region into blocks. The first page
 *       of a block holds a state other than PG_TAIL and an order k <= the
 *       region's max_order, its page index is a multiple of 2^k, the block
 *       ends inside the region, and its other 2^k - 1 pages are PG_TAIL.
 *   P3  Pair bits: for k < the region's max_order, the bit of pair
 *       (i, i ^ 2^k) is free(i, k) XOR free(i ^ 2^k, k) (pages past the end
 *       are never free; cached blocks are not free); bits past the last
 *       pair are 0.
 *   P4  Free lists: free_area[k].free_list is a circular doubly linked list
 *       whose every node's next->prev and prev->next lead back to it, of
 *       exactly the blocks with free(i, k); nr_free counts them; bit k of
 *       nonempty is set iff nr_free != 0.
 *   P5  Merged: below the region's max_order, two buddies are never both
 *       free at the same order (a free merges them).
 *   P6  Page cache: pcp[k].list is such a list of blocks with cached(i, k),
 *       only for k < nr_pcp_orders; count counts them, and cached_pages ==
 *       sum of count << k. Each page set on the zone's list has count[k] <=
 *       BUDDY_PAGESET_SLOTS entries per order, each the address of a block
 *       with cached(i, k) (k < nr_pcp_orders), and its cached_pages is the
 *       sum of their pages. Every block with cached(i, k) is on exactly one
 *       of these: the zone's list or one entry of one page set.
 *   P7  Allocations: a PG_CONT block follows, without a gap, a PG_HEAD or
 *       PG_CONT block with PG_MORE set, and only such a block; no chain runs
 *       past the region's end.
 *   P8  Counts: a region's free_pages is the pages of its free blocks; the
 *       zone's total_pages, free_pages and meta_bytes are the sums over
 *       its regions; without page sets, peak_used_pages >= total - free -
 *       cached pages (with them the peak is exact for one thread only, and
 *       a thread's use can pass it by what other threads' sets moved since
 *       its set's last mark: see buddy/page.h).
 *   P9  Orders: max_order is cfg_max_order, or with max_order_auto the
 *       largest max_order of the regions (0 with none); a region's
 *       max_order is min(floor(log2(nr_pages)), cfg_max_order).
 *
 * Once `corrupted` is set, no call changes the zone again (nothing to
 * check: the damage is why).
 */
#ifndef BUDDY_PAGE_INTERNAL_H
#define BUDDY_PAGE_INTERNAL_H

#include <stdint.h>

#include "buddy/page.h"
#include "buddy/pageset.h"
#include "common/compiler.h"
#include "common/debug.h"

#define PG_STATE 0xc0u
#define PG_TAIL 0x00u
#define PG_FREE 0x40u
#define PG_HEAD 0x80u
#define PG_CONT 0xc0u
#define PG_MORE 0x20u
#define PG_ORDER 0x1fu
#define PG_CACHED (PG_FREE | PG_MORE)

/* The page sets' inline fast paths (buddy/pageset.h) know two page-byte states. */
_Static_assert(PG_HEAD == BUDDY_PG_HEAD_ && PG_CACHED == BUDDY_PG_CACHED_,
	       "buddy/pageset.h's page-byte states");

typedef uint64_t map_word;
#define MAP_WORD_BITS 64u

struct buddy_region {
	struct buddy_region *next;    /* next region by address */
	uintptr_t base;               /* first managed page */
	uintptr_t end;                /* one past the last managed page */
	size_t nr_pages;              /* managed pages */
	size_t free_pages;            /* pages of this region on the free lists
				       * (page-cache blocks not included) */
	unsigned id;                  /* order of addition, from 0 */
	unsigned max_order;           /* largest block order; no map at this order */
	uint8_t *pg;                  /* nr_pages page bytes (with outside links, then
				       * the list entries: region_links) */
	map_word *map[BUDDY_NR_ORDERS]; /* pair bitmaps, orders 0..max_order-1 */
	void *meta;                   /* start of this region's metadata */
	size_t meta_bytes;            /* its length */
	void *owner;                  /* buddy_region_set_owner's pointer */
};

static inline unsigned pg_state(uint8_t b) { return b & PG_STATE; }
static inline unsigned pg_order(uint8_t b) { return b & PG_ORDER; }

/* Does r hold address a? One compare (the subtraction wraps below base). */
static inline int region_has(const struct buddy_region *r, uintptr_t a)
{
	return a - r->base < r->end - r->base;
}

static inline uintptr_t region_addr(const struct buddy_zone *z,
				    const struct buddy_region *r, size_t idx)
{
	return r->base + (idx << z->page_shift);
}

static inline size_t region_index(const struct buddy_zone *z,
				  const struct buddy_region *r, uintptr_t a)
{
	return (a - r->base) >> z->page_shift;
}

/* Bits in order k's pair bitmap for a region of n pages. */
static inline size_t map_bits(size_t n, unsigned k)
{
	return (n + ((size_t)2 << k) - 1) >> (k + 1);
}

static inline size_t map_words(size_t n, unsigned k)
{
	return (map_bits(n, k) + MAP_WORD_BITS - 1) / MAP_WORD_BITS;
}

static inline int map_test(const struct buddy_region *r, unsigned k, size_t idx)
{
	size_t bit = idx >> (k + 1);
	return (int)((r->map[k][bit / MAP_WORD_BITS] >> (bit % MAP_WORD_BITS)) & 1u);
}

/*
 * Memory shared with page-set owners that run without the zone lock: the
 * page bytes of blocks a set holds or hands out, the sets' counters, the
 * zone's `corrupted` flag. Relaxed atomics there (plain moves on the usual
 * targets) say which accesses may meet a concurrent one; the order between
 * them comes from the zone lock and the page-set protocol (page_alloc.c).
 */
#define LOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE_RELAXED(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* Entries of `order` in a page set (any thread's read: relaxed). */
static inline unsigned ps_count(const struct buddy_pageset *ps, unsigned order)
{
	return (unsigned)(LOAD_RELAXED(&ps->top[order]) - ps->slot[order]);
}

static inline uint8_t pg_get(const struct buddy_region *r, size_t idx)
{
	return LOAD_RELAXED(&r->pg[idx]);
}

static inline void pg_set(const struct buddy_region *r, size_t idx, unsigned v)
{
	STORE_RELAXED(&r->pg[idx], (uint8_t)v);
}

/*
 * Free tags (buddy/page.h, struct buddy_pageset): in a zone with a tag key,
 * a block a page set holds keeps (or, from a refill, gets) a PG_HEAD byte,
 * and its first word holds its address XOR the key. The tag is cleared
 * when the block leaves the set (handed out or given back), so a block
 * outside the sets never holds its own.
 */
static inline buddy_ps_word_ *block_word(uintptr_t a)
{
	return (buddy_ps_word_ *)a;
}

/* Does the block at a hold its tag under `key` (0: no tags, never)? */
static inline int block_has_tag(uintptr_t key, uintptr_t a)
{
	return key && LOAD_RELAXED(block_word(a)) == buddy_ps_tag_(key, (const void *)a);
}

static inline void block_tag(uintptr_t key, uintptr_t a)
{
	STORE_RELAXED(block_word(a), buddy_ps_tag_(key, (const void *)a));
}

static inline void block_untag(uintptr_t a)
{
	STORE_RELAXED(block_word(a), (uintptr_t)0);
}

/*
 * The mark of the block at a, of order k, page byte b, that a page set's
 * entry names: in a zone without a key MARK_CACHED (the page byte), in a
 * zone with one MARK_TAGGED (its free tag under `key`), or MARK_NONE
 * (damage). A tagged zone's sets never give a block the "cached" byte
 * (refills tag theirs too): there it marks only blocks of the zone's own
 * page cache, and an entry naming one is stale (a tag overwritten after
 * free, then a second free on the zone path). Reads the block: only for
 * blocks a set holds.
 */
enum { MARK_NONE, MARK_CACHED, MARK_TAGGED };

static inline int entry_mark(uintptr_t key, uint8_t b, unsigned k, uintptr_t a)
{
	if (!key)
		return b == (PG_CACHED | k) ? MARK_CACHED : MARK_NONE;
	return b == (PG_HEAD | k) && block_has_tag(key, a) ? MARK_TAGGED : MARK_NONE;
}

/* A single block of a cached order whose page byte is "allocated", in a zone whose sets tag. */
static inline int pg_may_tag(const struct buddy_zone *z, uint8_t b)
{
	return z->tag_key && z->pagesets && b == (PG_HEAD | pg_order(b)) &&
	       pg_order(b) < z->nr_fast_orders;
}

/*
 * The caller's own block at idx (the one it frees or looks up), page byte
 * b: does a page set hold it by its tag? Reads the block's first word
 * (read only while the zone has page sets: without them no block holds its
 * tag). With the zone lock.
 */
static inline int pg_tagged(const struct buddy_zone *z, const struct buddy_region *r, size_t idx,
			    uint8_t b)
{
	return pg_may_tag(z, b) && block_has_tag(z->tag_key, region_addr(z, r, idx));
}

/*
 * Does an entry of some page set name the block at a, of order k? For the
 * scans (the walk, buddy_check, a region's cached pages, a bad address's
 * neighbours), which must not read blocks that programs hold and write.
 * With the zone lock; exact while no owner is inside its set.
 */
static inline int pagesets_hold(const struct buddy_zone *z, uintptr_t a, unsigned k)
{
	for (const struct buddy_pageset *ps = z->pagesets; ps; ps = ps->next) {
		unsigned n = ps_count(ps, k);
		for (unsigned i = 0; i < n && i < BUDDY_PAGESET_SLOTS; i++)
			if ((uintptr_t)LOAD_RELAXED(&ps->slot[k][i].addr) == a)
				return 1;
	}
	return 0;
}

/*
 * Does the block at idx, whose page byte is b, sit in a page set or the
 * page cache? A "cached" byte, or an "allocated" one of a single block of
 * a cached order that a set's entry names (a set holds it by its tag).
 */
static inline int pg_held(const struct buddy_zone *z, const struct buddy_region *r, size_t idx,
			  uint8_t b)
{
	if (b == (PG_CACHED | pg_order(b)))
		return 1;
	return pg_may_tag(z, b) && pagesets_hold(z, region_addr(z, r, idx), pg_order(b));
}

/* With outside links: the region's list entries, after its page bytes, 8-byte aligned. */
static inline struct buddy_list *region_links(const struct buddy_region *r)
{
	return (struct buddy_list *)(((uintptr_t)r->pg + r->nr_pages + 7) & ~(uintptr_t)7);
}

/* The list entry of the block at a in r: the block itself, or its entry in r's metadata. */
static inline struct buddy_list *region_link_of(const struct buddy_zone *z,
						const struct buddy_region *r, uintptr_t a)
{
	return z->outside_links ? &region_links(r)[region_index(z, r, a)] : (struct buddy_list *)a;
}

BUDDY_INTERNAL struct buddy_list *buddy_links_outside(const struct buddy_zone *z,
						      const struct buddy_list *p);

/*
 * The list entry of p, the address of a list head or of a free block that
 * was checked (link_ok) or that the zone itself linked: p itself, or with
 * outside links the entry of p's first page in its region's metadata.
 */
static inline struct buddy_list *list_entry(const struct buddy_zone *z, const struct buddy_list *p)
{
	if (likely(!z->outside_links))
		return (struct buddy_list *)p;
	return buddy_links_outside(z, p);
}

/* The zone lock, when the zone has one (inline: a zone without costs one test). */
static inline void buddy_zone_lock(const struct buddy_zone *z)
{
	if (z && z->lock)
		z->lock(z->lock_arg);
}

static inline void buddy_zone_unlock(const struct buddy_zone *z)
{
	if (z && z->unlock)
		z->unlock(z->lock_arg);
}

static inline void buddy_zone_unlock_at_exit(const struct buddy_zone **zp)
{
	buddy_zone_unlock(*zp);
}

/*
 * Hold the zone lock until the enclosing block ends (every return). Declared
 * before ZONE_CHECK_ON_RETURN, so that the full check runs under the lock.
 */
#define ZONE_LOCK_SCOPE(z) \
	const struct buddy_zone *zone_lock_scope_ \
		__attribute__((cleanup(buddy_zone_unlock_at_exit), unused)) = (z); \
	buddy_zone_lock(zone_lock_scope_)

/* Pages of r held in page caches (the zone's or a set's): a scan of its blocks. */
BUDDY_INTERNAL size_t buddy_region_cached_pages(const struct buddy_zone *z, const struct buddy_region *r);

/* buddy_check with the zone lock already held. */
BUDDY_INTERNAL size_t buddy_check_locked(const struct buddy_zone *z, buddy_report_fn report,
					 void *arg);

/* The pages used: not free, not cached in the zone or any page set. */
BUDDY_INTERNAL size_t buddy_used_pages(const struct buddy_zone *z);

/*
 * Unused pages between a region's pages and metadata carved from its tail:
 * one page, or as many as make 64 bytes for smaller pages.
 */
static inline size_t buddy_guard_pages(const struct buddy_zone *z)
{
	return z->page_size >= 64 ? 1 : 64 >> z->page_shift;
}

/* The region holding address a, or NULL; does not update the hint. */
BUDDY_INTERNAL const struct buddy_region *buddy_region_lookup(const struct buddy_zone *z,
							      uintptr_t a);

/* Largest order a block at idx may have in a region of n pages capped at max. */
BUDDY_INTERNAL unsigned buddy_carve_order(size_t idx, size_t n, unsigned max);

#endif /* BUDDY_PAGE_INTERNAL_H */
