/* SPDX-License-Identifier: MIT */
/*
 * heap_internal.h - the buddy heap's private state, shared by heap_chunk.c
 * (memory sources: mapped chunks and the fixed buffer), heap_alloc.c (the
 * malloc family) and heap_info.c (statistics, walk, check).
 *
 * A chunk is one region of the core zone, and its record (struct
 * bheap_chunk) is that region's owner (buddy_region_set_owner): the heap
 * keeps no list of chunks of its own, and finds a pointer's chunk with the
 * same lookup that finds its block (buddy_alloc_info, buddy_free_info).
 * Mapped chunks are laid out as
 *
 *     [region: bytes, aligned to bytes][guard page][core metadata][struct bheap_chunk][side]
 *
 * in one mapping (the over-mapped head and tail used for alignment are
 * unmapped at once). The guard page is mapped without access: a program
 * writing past the end of the chunk's last block faults there instead of
 * damaging the metadata (it is counted in meta_bytes, as mapped address
 * space). The side array has one byte per min_block page; for an
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
#include "common/compiler.h"
#include "common/debug.h"

#define HEAP_MIN_BLOCK_MAX 128u

/* One chunk: the owner of its zone region. */
struct bheap_chunk {
	struct bheap_chunk *idle_next; /* next wholly free chunk by address, on bheap.idle */
	uintptr_t base;          /* first byte of the region */
	size_t bytes;            /* region bytes (block memory) */
	void *map_base;          /* start of the whole mapping; NULL in fixed mode */
	size_t map_len;          /* its length: bytes + tail */
	size_t meta_bytes;       /* guard page + core metadata + this record + side array */
	size_t held_bytes;       /* bytes of this chunk's live allocations */
	uint8_t *side;           /* slack bytes, one per page */
	int guarded;             /* the guard page was made inaccessible (mprotect) */
};

/* The zone's page cache: blocks per order kept unmerged, and the largest order kept. */
#define HEAP_CACHE_BLOCKS 64u
#define HEAP_CACHE_MAX_ORDER 8u

/*
 * The heap. Its invariants, as bheap_check verifies them and reports them
 * by tag (on top of the zone's P1..P9):
 *
 *   H1  Chunks: every region of the zone is owned by a chunk record whose
 *       base and bytes are the region's; arena_bytes and meta_bytes are the
 *       sums over the chunks.
 *   H2  Held bytes: a chunk's held_bytes is the bytes of its region's pages
 *       in use (neither free nor cached); held_bytes is the sum over chunks.
 *   H3  Idle chunks: the idle list holds, in address order, exactly the
 *       chunks whose held_bytes is 0; idle_chunks counts them.
 *   H4  Blocks: every allocation in the zone is one block (the heap makes
 *       no exact allocations) whose slack (side bytes) is at most its size;
 *       requested_bytes is the sum of size - slack, live_allocs the count.
 *   H5  Peaks: each peak_X is at least X.
 */
struct bheap {
	struct buddy_zone zone;   /* the core zone; page_size = min_block */
	struct bheap_config cfg;  /* resolved configuration (defaults filled in) */
	unsigned min_shift;       /* log2(min_block) */
	size_t sys_page;          /* system page size; mapping granularity */
	size_t state_bytes;       /* bytes mapped for this struct; 0 in fixed mode */
	int fixed;                /* working in cfg.buffer, never mapping */
	size_t fixed_align;       /* fixed mode: alignment of the region base */
	struct bheap_chunk *idle; /* wholly free chunks, by address */
	size_t idle_chunks;       /* chunks on the idle list */
	/* --- statistics (see struct bheap_stats for meanings) --- */
	size_t arena_bytes;
	size_t meta_bytes;
	size_t requested_bytes;
	size_t held_bytes;
	size_t live_allocs;
	size_t peak_requested_bytes;
	size_t peak_held_bytes;
	size_t peak_live_allocs;
	size_t peak_arena_bytes;
	size_t peak_footprint_bytes;
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
	/* --- damage (the zone reports it once through heap_zone_damage) --- */
	int corrupted;            /* found damaged: every later call refuses, saying so */
	int damage_reported;      /* a call has reported it already */
	const void *damage_at;    /* where the damage was found */
	char damage[96];          /* what it is, e.g. "corrupted free list: ..." */
};

/*
 * The chunk record owning the region ri describes, checked before it is
 * read through: it must sit right after the region's core metadata (where
 * chunk_record puts it) and agree with the region. NULL otherwise.
 */
static inline const struct bheap_chunk *bheap_chunk_of(const struct bheap *h,
						       const struct buddy_region_info *ri)
{
	const struct bheap_chunk *c = ri->owner;
	if (!c || (uintptr_t)c != (uintptr_t)ri->meta + ri->meta_bytes)
		return NULL;
	if (c->base != (uintptr_t)ri->base || c->bytes != ri->nr_pages << h->min_shift ||
	    c->side != (const uint8_t *)c + ((sizeof(*c) + 7) & ~(size_t)7))
		return NULL;
	return c;
}

/* heap_alloc.c: record damage found at `at` (the zone's reports come here too). */
BUDDY_INTERNAL void bheap_damage(struct bheap *h, const char *what, const void *at);
/* heap_alloc.c: the call op reports the damage to the handler (default: abort). */
BUDDY_INTERNAL void bheap_damage_report(struct bheap *h, const char *op);

/* heap_chunk.c */
BUDDY_INTERNAL int bheap_setup_fixed(struct bheap *h);
BUDDY_INTERNAL int bheap_grow(struct bheap *h, unsigned order);
BUDDY_INTERNAL void bheap_idle_add(struct bheap *h, struct bheap_chunk *c);
BUDDY_INTERNAL void bheap_idle_remove(struct bheap *h, struct bheap_chunk *c);
BUDDY_INTERNAL void bheap_release_idle(struct bheap *h, const char *op);
BUDDY_INTERNAL void bheap_unmap_all(struct bheap *h);
BUDDY_INTERNAL size_t bheap_footprint(const struct bheap *h);

/* Slack of the allocated block of `order` at address a in chunk c. */
BUDDY_INTERNAL size_t bheap_side_read(const struct bheap *h, const struct bheap_chunk *c,
				      uintptr_t a, unsigned order);
BUDDY_INTERNAL void bheap_side_write(const struct bheap *h, struct bheap_chunk *c, uintptr_t a,
				     unsigned order, size_t slack);

#endif /* BUDDY_HEAP_INTERNAL_H */
