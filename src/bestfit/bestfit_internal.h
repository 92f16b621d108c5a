/* SPDX-License-Identifier: MIT */
/*
 * bestfit_internal.h - the best-fit heap's state and block layout, shared
 * by its source files (bestfit.c: the malloc family; bestfit_tree.c: the
 * free-block tree; bestfit_info.c: stats, walk, check).
 *
 * Layout of the caller's buffer:
 *
 *   [struct bfit][start bitmap][free bitmap][summaries][pad][hdr|payload ...]...[sentinel hdr]
 *                                                          ^ base + 16 * g (granule g)
 *
 * The block area is cut in 16-byte granules; granule g is the 16 bytes at
 * base + 16 * g. Each block's payload starts on a granule, and blocks are
 * named by that granule's index g (1..granules); 0 means "no block". A
 * block of n granules occupies [base + 16g - 4, base + 16(g + n) - 4): a
 * 4-byte header just before the payload, then the payload.
 *
 *   header (u32): bits 2..31 size in granules, bit 1 PREV_FREE (a hint: the
 *                 block to the left is free; when clear, a free does not
 *                 look for a free left neighbour), bit 0 ALLOC.
 *   free block:   payload bytes 0..3 left child, 4..7 right child (tree
 *                 links, granule indices), 8..11 its tree priority
 *                 (bfit_tree_priority(g) when it joins the tree; a block
 *                 that takes another's place in the tree, a split's
 *                 remainder or a merged block, takes that one's priority;
 *                 kept so that a descent reads it instead of hashing).
 *
 * The sentinel is a header of size 0 with ALLOC set, after the last block.
 *
 * What decides, and what only has to agree. Everything in the blocks (the
 * headers, the tree links) can be overwritten by the program: a write past
 * the end of a block reaches the next header and the first bytes of its
 * payload, a write after free reaches a free block's links and any header
 * inside the freed range. So the heap's decisions rest on state kept out of
 * the blocks, at the start of the buffer, which only a write before the
 * first block could reach:
 *
 *   the start bitmap   bit g set iff a block (or the sentinel) starts at g:
 *                      a block's size is the distance to the next set bit;
 *   its summaries      level k+1 has one bit per word of level k, set iff
 *                      that word is not 0, so the next or previous start is
 *                      found in O(log64 granules) word reads however far;
 *   the free bitmap    bit g set iff a free block starts at g.
 *
 * A header is read, and must agree with them (its size and ALLOC flag),
 * before the heap acts on its block: frees it, merges with it, hands it
 * out, splits it; a mismatch is reported as corruption (naming the header)
 * and the heap changes nothing more. A tree link is followed only when it
 * names a granule of the block area, and at most free_blocks steps are
 * taken in one descent (a damaged link may form a cycle); a node whose
 * links are written, or that is handed out, must be a free block by the
 * free bitmap. A link damaged into another free block can so misplace one
 * allocation (a free block that fits, not the best) or lose a free block
 * from the tree (found when it is next removed: corruption), and a damaged
 * priority can unbalance the tree; none of it can make the heap write into,
 * or hand out, memory that is in use.
 *
 * Invariants of a heap, as bfit_check verifies them and reports them by tag:
 *
 *   F1  Tiling: the start bitmap cuts granules 1..granules into blocks, the
 *       sentinel (size 0, ALLOC) stands at granules + 1, and every
 *       header's size is its block's.
 *   F2  Start bitmap: no bits past the sentinel's; each summary bit is set
 *       iff the word below it is not 0.
 *   F3  Free bitmap: its bits are block starts, and a header's ALLOC flag
 *       is set iff its block's bit is clear; its PREV_FREE flag (and the
 *       sentinel's) iff the block to its left is free.
 *   F4  Sentinel: the start bitmap holds it, its header is intact, and
 *       `last` is the block before it.
 *   F5  Coalesced: no two free blocks are neighbours.
 *   F6  Tree: the treap holds exactly the free blocks but the top (the
 *       last block, when free, which stays out of it), in (size, address)
 *       order, its stored priorities a max-heap; free_blocks counts them
 *       all.
 *   F7  Counters: free_bytes, used_bytes and live_allocs are the sums over
 *       the blocks; peak_used_bytes >= used_bytes.
 *
 * An assertion (common/debug.h) that fires on damage in the blocks marks a
 * value the heap uses without validating it first.
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
#define HDR_FLAGS 0x3u
#define HDR_SHIFT 2
#define GRANULE 16u
#define MAX_GRANULES ((uint32_t)0x3fffffffu) /* largest size a header can hold */

struct bfit {
	/* --- the block area --- */
	unsigned char *base;   /* 16-aligned; granule g is base + 16 * g */
	uint32_t granules;     /* blocks tile granules 1..granules; sentinel at granules + 1 */
	uint32_t last;         /* the last block, the one the sentinel follows */
	uint64_t *starts;      /* start bitmap: bit g set iff a block or the sentinel starts at g */
	uint64_t *free_starts; /* free bitmap: bit g set iff a free block starts at g */
	uint64_t *summary;     /* the summary levels 1.., one after the other: bit w of
				* level k+1 is set iff word w of level k is not 0
				* (level 0 is the start bitmap) */
	uint32_t start_words;  /* words of the start bitmap; level k+1 has
				* ceil(words of level k / 64) */
	unsigned nlevels;      /* levels in use, start bitmap included: the last has one word */
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
	/* --- damage --- */
	int corrupted;         /* damage found: every later call refuses, saying so */
	int damage_reported;   /* a call has reported it already */
	const char *damage;    /* what was found, e.g. "corrupted block header" */
	const void *damage_at; /* where */
	/* --- configuration --- */
	buddy_error_fn on_error; /* NULL: print and abort */
	void *error_arg;       /* passed to on_error */
};

/* ---- block accessors ---- */

static inline uint32_t *blk_hdr(const struct bfit *h, uint32_t g)
{
	return (uint32_t *)(void *)(h->base + (size_t)g * GRANULE - 4);
}

/* The size a header claims (only the bitmaps say whether it is true). */
static inline uint32_t blk_size(const struct bfit *h, uint32_t g)
{
	return *blk_hdr(h, g) >> HDR_SHIFT;
}

static inline uint32_t *blk_left(const struct bfit *h, uint32_t g)
{
	return (uint32_t *)(void *)(h->base + (size_t)g * GRANULE);
}

static inline uint32_t *blk_right(const struct bfit *h, uint32_t g)
{
	return (uint32_t *)(void *)(h->base + (size_t)g * GRANULE + 4);
}

/* The free block g's stored priority (damage to it can only unbalance the tree). */
static inline uint32_t *blk_prio(const struct bfit *h, uint32_t g)
{
	return (uint32_t *)(void *)(h->base + (size_t)g * GRANULE + 8);
}

static inline void *blk_ptr(const struct bfit *h, uint32_t g)
{
	return h->base + (size_t)g * GRANULE;
}

/* A link that may be followed: a granule of the block area (not 0, not the sentinel). */
static inline int node_ok(const struct bfit *h, uint32_t t)
{
	return t - 1u < h->granules;
}

/* ---- the bitmaps ---- */

static inline int bit_get(const uint64_t *map, uint32_t g)
{
	return (int)((map[g / 64] >> (g % 64)) & 1u);
}

static inline int is_start(const struct bfit *h, uint32_t g)
{
	return bit_get(h->starts, g);
}

static inline int is_free(const struct bfit *h, uint32_t g)
{
	return bit_get(h->free_starts, g);
}

static inline void free_mark(struct bfit *h, uint32_t g)
{
	h->free_starts[g / 64] |= (uint64_t)1 << (g % 64);
}

static inline void free_unmark(struct bfit *h, uint32_t g)
{
	h->free_starts[g / 64] &= ~((uint64_t)1 << (g % 64));
}

/* Words in the bitmap level above one of `words` words. */
static inline size_t level_up(size_t words)
{
	return (words + 63) / 64;
}

/* A block starts at g: set its bit, and each summary bit of a word newly not 0. */
static inline void start_set(struct bfit *h, uint32_t g)
{
	uint64_t *lv = h->starts;
	size_t i = g, words = h->start_words;
	unsigned k = 0;

	for (;;) {
		uint64_t old = lv[i / 64];
		lv[i / 64] = old | (uint64_t)1 << (i % 64);
		if (old || ++k == h->nlevels)
			return;
		lv = k == 1 ? h->summary : lv + words;
		words = level_up(words);
		i /= 64;
	}
}

/* No block starts at g any more: clear its bit, and each summary bit of a word gone 0. */
static inline void start_clear(struct bfit *h, uint32_t g)
{
	uint64_t *lv = h->starts;
	size_t i = g, words = h->start_words;
	unsigned k = 0;

	for (;;) {
		lv[i / 64] &= ~((uint64_t)1 << (i % 64));
		if (lv[i / 64] || ++k == h->nlevels)
			return;
		lv = k == 1 ? h->summary : lv + words;
		words = level_up(words);
		i /= 64;
	}
}

BUDDY_INTERNAL uint32_t bfit_next_start_far(const struct bfit *h, uint32_t x);
/* Whether no block starts in granules [a, b): O(log64 heap), for long spans. */
BUDDY_INTERNAL int bfit_no_start_between(const struct bfit *h, uint32_t a, uint32_t b);
BUDDY_INTERNAL uint32_t bfit_prev_start_far(const struct bfit *h, uint32_t x);

/* The first block start at or after x (x <= granules + 1: the sentinel's bit ends the search). */
static inline uint32_t next_start(const struct bfit *h, uint32_t x)
{
	uint64_t bits = h->starts[x / 64] >> (x % 64);
	if (likely(bits))
		return x + (uint32_t)__builtin_ctzll(bits);
	return bfit_next_start_far(h, x);
}

/*
 * The last block start at or before x (1 <= x: granule 1 always starts a
 * block): up to four words here, beyond by the summaries.
 */
static inline uint32_t prev_start(const struct bfit *h, uint32_t x)
{
	size_t w = x / 64;
	uint64_t bits = h->starts[w] << (63 - x % 64);
	if (likely(bits))
		return x - (uint32_t)__builtin_clzll(bits);
	for (size_t stop = w > 3 ? w - 3 : 0; w > stop;)
		if ((bits = h->starts[--w]) != 0)
			return (uint32_t)(w * 64 + 63 - (size_t)__builtin_clzll(bits));
	return bfit_prev_start_far(h, x);
}

/* blk_checked_size's answer for a block that does not end in g's word. */
BUDDY_INTERNAL uint32_t bfit_checked_size_far(const struct bfit *h, uint32_t g, uint32_t n);

/*
 * The size of the block g if its header is true: the size the start bitmap
 * gives it (the next start bit is at g + n), and ALLOC as expected (flags
 * HDR_ALLOC; PREV_FREE may be either) or a free block's (flags 0: neither,
 * since a free block's left neighbour is in use). 0 when the header is
 * damaged. A block that ends in g's own bitmap word (up to 1 KiB) costs
 * one word read and a count of trailing zeros: the start bits after g's
 * name the next block, and only bits up to the sentinel's exist, so a
 * size that matches is also in bounds. O(log64 heap) beyond.
 */
static inline uint32_t blk_checked_size(const struct bfit *h, uint32_t g, uint32_t flags)
{
	uint32_t hdr = *blk_hdr(h, g), n = hdr >> HDR_SHIFT;
	uint64_t after = h->starts[g / 64] >> (g % 64) >> 1; /* the start bits after g's */

	if (unlikely((hdr & (flags ? HDR_ALLOC : HDR_FLAGS)) != flags))
		return 0;
	if (likely(after))
		return (uint32_t)__builtin_ctzll(after) + 1 == n ? n : 0;
	/* Up to five words on: those between must be 0, the last start at e. */
	uint32_t e = g + n;
	size_t w = g / 64 + 1, we = e / 64;
	if (unlikely(we - w > 4 || n - 1u >= h->granules + 1 - g))
		return bfit_checked_size_far(h, g, n);
	for (; w < we; w++)
		if (h->starts[w])
			return 0;
	after = h->starts[we];
	return after && (uint32_t)__builtin_ctzll(after) == e % 64 ? n : 0;
}

/* Record damage found at `where` (the first only); the public call reports it. */
BUDDY_INTERNAL int bfit_damage(struct bfit *h, const char *what, const void *where);

/* ---- the free-block tree (bestfit_tree.c) ---- */

BUDDY_INTERNAL uint32_t bfit_tree_priority(uint32_t g);
/* 0, or -1 with the damage recorded. */
BUDDY_INTERNAL int bfit_tree_insert(struct bfit *h, uint32_t g);
/* 1 when the free block g was found and taken out; 0 when not (the tree is damaged). */
BUDDY_INTERNAL int bfit_tree_remove(struct bfit *h, uint32_t g);
BUDDY_INTERNAL uint32_t bfit_tree_largest(const struct bfit *h);
BUDDY_INTERNAL int bfit_tree_contains(const struct bfit *h, uint32_t g);

#endif
