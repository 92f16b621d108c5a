/* SPDX-License-Identifier: MIT */
/*
 * heap_internal.h - the buddy heap's private state, shared by heap_chunk.c
 * (memory sources: mapped chunks and the fixed buffer), heap_alloc.c (the
 * malloc family) and heap_info.c (statistics, walk, check).
 *
 * A chunk is one region of the core zone. Mapped chunks are laid out as
 *
 *     [region: bytes, aligned to bytes][core metadata][struct heap_chunk][side]
 *
 * in one mapping (the over-mapped head and tail used for alignment are
 * unmapped at once). The side array has one byte per min_block page; for an
 * allocated block of order k starting at page i, bytes i .. i+min(2^k,8)-1
 * hold its slack (block bytes minus requested bytes) in little-endian
 * order. A block of order k needs log2(min_block)+k bits for its slack and
 * owns 2^k side bytes, which is enough for every k when min_block <= 128,
 * so requested sizes are exact with no header inside the blocks.
 */
#ifndef BUDDY_HEAP_INTERNAL_H
#define BUDDY_HEAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "buddy/heap.h"

#define HEAP_MIN_BLOCK_MAX 128u

struct heap_chunk {
	struct heap_chunk *next; /* next chunk by address */
	uintptr_t base;          /* first byte of the region */
	size_t bytes;            /* region bytes (block memory) */
	void *map_base;          /* start of the whole mapping; NULL in fixed mode */
	size_t map_len;          /* its length: bytes + tail */
	size_t meta_bytes;       /* core metadata + this record + side array */
	size_t held;             /* bytes of this chunk's live allocations */
	uint8_t *side;           /* slack bytes, one per page */
};

/* The zone's page cache: blocks per order kept unmerged, and the largest order kept. */
#define HEAP_CACHE_BLOCKS 64u
#define HEAP_CACHE_MAX_ORDER 8u

struct bheap {
	struct buddy_zone zone;   /* the core zone; page_size = min_block */
	struct bheap_config cfg;  /* resolved configuration (defaults filled in) */
	unsigned min_shift;       /* log2(min_block) */
	size_t sys_page;          /* system page size; mapping granularity */
	size_t state_bytes;       /* bytes mapped for this struct; 0 in fixed mode */
	int fixed;                /* working in cfg.buffer, never mapping */
	size_t fixed_align;       /* fixed mode: alignment of the region base */
	struct heap_chunk *chunks; /* all chunks, sorted by address */
	struct heap_chunk *hint;  /* chunk of the last lookup */
	size_t nr_chunks;         /* chunks in the list */
	size_t idle_chunks;       /* chunks holding no allocation */
	size_t arena_bytes;       /* sum of chunk bytes */
	size_t meta_bytes;        /* sum of chunk meta_bytes */
	/* --- statistics (see struct bheap_stats for meanings) --- */
	size_t requested;
	size_t held;
	size_t live;
	size_t peak_requested;
	size_t peak_held;
	size_t peak_live;
	size_t peak_arena;
	size_t peak_footprint;
	size_t smallest_block;
	size_t largest_block;
	uint64_t allocs;
	uint64_t frees;
	uint64_t reallocs_in_place;
	uint64_t reallocs_moved;
	uint64_t failures;
	uint64_t maps;
	uint64_t unmaps;
	uint64_t map_failures;
	uint64_t misuse;
};

/* heap_chunk.c */
int heap_setup_fixed(struct bheap *h);
int heap_grow(struct bheap *h, unsigned order);
void heap_release_idle(struct bheap *h);
void heap_unmap_all(struct bheap *h);
struct heap_chunk *heap_chunk_find(struct bheap *h, uintptr_t a);
size_t heap_footprint(const struct bheap *h);

/* Slack of the allocated block of `order` at address a in chunk c. */
size_t heap_side_read(const struct bheap *h, const struct heap_chunk *c, uintptr_t a,
		      unsigned order);
void heap_side_write(const struct bheap *h, struct heap_chunk *c, uintptr_t a, unsigned order,
		     size_t slack);

#endif /* BUDDY_HEAP_INTERNAL_H */
