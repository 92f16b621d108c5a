/* SPDX-License-Identifier: MIT */
/*
 * bestfit_internal.h - the best-fit heap's state and block layout, shared
 * by its source files (bestfit.c: the malloc family; bestfit_tree.c: the
 * free-block tree; bestfit_info.c: stats, walk, check).
 *
 * Layout of the caller's buffer:
 *
 *   [struct bfit][start bitmap][pad][12 unused][hdr|payload ...][hdr|payload ...]...[sentinel hdr]
 *                                   ^ base (16-aligned)          ^ base + 16 * g
 *
 * The block area is cut in 16-byte granules; granule g is the 16 bytes at
 * base + 16 * g. Each block's payload starts on a granule, and blocks are
 * named by that granule's index g (1..granules); 0 means "no block". A
 * block of n granules occupies [base + 16g - 4, base + 16(g + n) - 4): a
 * 4-byte header just before the payload, then the payload.
 *
 *   header (u32): bits 2..31 size in granules, bit 1 PREV_FREE (the block
 *                 to the left is free), bit 0 ALLOC.
 *   free block:   payload bytes 0..3 left child, 4..7 right child (tree
 *                 links, granule indices), and its last 4 bytes hold the
 *                 size in granules again (the boundary tag, read by the
 *                 right neighbour when it merges leftwards).
 *
 * An allocated block has no footer: its right neighbour's PREV_FREE bit
 * says whether the tag is there (Knuth's boundary tags with the "previous
 * in use" bit of dlmalloc). The sentinel is a header of size 0 with ALLOC
 * set, after the last block, so no block merges past the end.
 *
 * Invariants of a heap, as bfit_check verifies them and reports them by tag:
 *
 *   F1  Tiling: the blocks tile granules 1..granules exactly: each block
 *       has a size n >= 1 and ends at or before granules + 1, where the
 *       sentinel (size 0, ALLOC) stands.
 *   F2  Start bitmap: bit g is set iff a block or the sentinel starts at g.
 *   F3  Prev-free bits: the PREV_FREE bit of a block (and of the sentinel)
 *       is set iff the block to its left is free.
 *   F4  Boundary tags: the last 4 bytes of a free block hold its size.
 *   F5  Coalesced: no two free blocks are neighbours.
 *   F6  Tree: the treap holds exactly the free blocks, in (size, address)
 *       order, its priorities a max-heap; free_blocks counts them.
 *   F7  Counters: free_bytes, used_bytes and live_allocs are the sums over
 *       the blocks; peak_used_bytes >= used_bytes.
 *
 * Every one of them lives in the caller's buffer, where a program's stray
 * write can break it. An assertion (common/debug.h) that fires on such
 * damage marks a value the heap uses without validating it first.
 */
#ifndef BUDDY_BESTFIT_INTERNAL_H
#define BUDDY_BESTFIT_INTERNAL_H

#include "buddy/bestfit.h"

#include <stdint.h>
#include <string.h>

#include "common/compiler.h"
#include "common/debug.h"

#define HDR_ALLOC 0x1u
#define HDR_PREV_FREE 0x2u
#define HDR_SHIFT 2
#define GRANULE 16u
#define MAX_GRANULES ((uint32_t)0x3fffffffu) /* largest size a header can hold */

struct bfit {
	/* --- the block area --- */
	unsigned char *base;   /* 16-aligned; granule g is base + 16 * g */
	uint32_t granules;     /* blocks tile granules 1..granules; sentinel at granules + 1 */
	uint64_t *starts;      /* bitmap, bit g set iff a block or the sentinel starts at g */
	size_t buffer_bytes;   /* size of the caller's buffer */
	/* --- the free blocks --- */
	uint32_t root;         /* root of the treap of free blocks, 0 when none */
	size_t free_bytes;     /* bytes in free blocks */
	size_t free_blocks;    /* blocks in the tree */
	/* --- counters --- */
	size_t used_bytes;     /* bytes in allocated blocks */
	size_t live_allocs;    /* allocated blocks */
	size_t peak_used_bytes;      /* largest used_bytes seen */
	uint32_t peak_end;     /* largest end granule (g + n) of an allocated block seen */
	uint64_t allocs;    /* successful allocations */
	uint64_t frees;     /* successful frees */
	uint64_t failures;  /* allocations that found no block */
	int last_error;        /* status of the last failed call */
	/* --- configuration --- */
	buddy_error_fn on_error; /* NULL: print and abort */
	void *error_arg;       /* passed to on_error */
};

/* ---- block accessors ---- */

static inline uint32_t *blk_hdr(const struct bfit *h, uint32_t g)
{
	return (uint32_t *)(void *)(h->base + (size_t)g * GRANULE - 4);
}

static inline uint32_t blk_size(const struct bfit *h, uint32_t g)
{
	return *blk_hdr(h, g) >> HDR_SHIFT;
}

static inline int blk_alloc(const struct bfit *h, uint32_t g)
{
	return (*blk_hdr(h, g) & HDR_ALLOC) != 0;
}

static inline int blk_prev_free(const struct bfit *h, uint32_t g)
{
	return (*blk_hdr(h, g) & HDR_PREV_FREE) != 0;
}

/* The boundary tag of the free block that ends just before block g. */
static inline uint32_t *blk_tag_before(const struct bfit *h, uint32_t g)
{
	return (uint32_t *)(void *)(h->base + (size_t)g * GRANULE - 8);
}

static inline uint32_t *blk_left(const struct bfit *h, uint32_t g)
{
	return (uint32_t *)(void *)(h->base + (size_t)g * GRANULE);
}

static inline uint32_t *blk_right(const struct bfit *h, uint32_t g)
{
	return (uint32_t *)(void *)(h->base + (size_t)g * GRANULE + 4);
}

static inline void *blk_ptr(const struct bfit *h, uint32_t g)
{
	return h->base + (size_t)g * GRANULE;
}

static inline int bit_get(const struct bfit *h, uint32_t g)
{
	return (int)((h->starts[g / 64] >> (g % 64)) & 1u);
}

static inline void bit_set(struct bfit *h, uint32_t g)
{
	h->starts[g / 64] |= (uint64_t)1 << (g % 64);
}

static inline void bit_clear(struct bfit *h, uint32_t g)
{
	h->starts[g / 64] &= ~((uint64_t)1 << (g % 64));
}

/* ---- the free-block tree (bestfit_tree.c) ---- */

/* Tree order: by size, then by address. */
static inline int key_less(const struct bfit *h, uint32_t a, uint32_t b)
{
	uint32_t sa = blk_size(h, a), sb = blk_size(h, b);
	return sa < sb || (sa == sb && a < b);
}

BUDDY_INTERNAL uint32_t bfit_tree_priority(uint32_t g);
BUDDY_INTERNAL void bfit_tree_insert(struct bfit *h, uint32_t g);
BUDDY_INTERNAL int bfit_tree_remove(struct bfit *h, uint32_t g);
BUDDY_INTERNAL uint32_t bfit_tree_best_fit(const struct bfit *h, uint32_t n);
BUDDY_INTERNAL uint32_t bfit_tree_largest(const struct bfit *h);
BUDDY_INTERNAL int bfit_tree_contains(const struct bfit *h, uint32_t g);

#endif
