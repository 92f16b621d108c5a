/* SPDX-License-Identifier: MIT */
/*
 * page_internal.h - the page allocator's private structures, shared by
 * page_alloc.c (allocation, free, regions) and page_info.c (statistics,
 * walk, integrity check).
 *
 * Per region, the metadata is laid out as
 *
 *     [struct buddy_region][pair bitmap, order 0][order 1]...[one byte per page]
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
 */
#ifndef BUDDY_PAGE_INTERNAL_H
#define BUDDY_PAGE_INTERNAL_H

#include <stdint.h>

#include "buddy/page.h"

#define PG_STATE 0xc0u
#define PG_TAIL 0x00u
#define PG_FREE 0x40u
#define PG_HEAD 0x80u
#define PG_CONT 0xc0u
#define PG_MORE 0x20u
#define PG_ORDER 0x1fu
#define PG_CACHED (PG_FREE | PG_MORE)

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
	uint8_t *pg;                  /* nr_pages page bytes */
	map_word *map[BUDDY_NR_ORDERS]; /* pair bitmaps, orders 0..max_order-1 */
	void *meta;                   /* start of this region's metadata */
	size_t meta_bytes;            /* its length */
	int carved;                   /* metadata lies in the region's own tail */
};

static inline unsigned pg_state(uint8_t b) { return b & PG_STATE; }
static inline unsigned pg_order(uint8_t b) { return b & PG_ORDER; }

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

/* The region holding address a, or NULL; does not update the hint. */
const struct buddy_region *region_lookup(const struct buddy_zone *z, uintptr_t a);

/* Largest order a block at idx may have in a region of n pages capped at max. */
unsigned carve_order(size_t idx, size_t n, unsigned max);

#endif /* BUDDY_PAGE_INTERNAL_H */
