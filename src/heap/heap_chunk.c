/* SPDX-License-Identifier: MIT */
/*
 * heap_chunk.c - where the buddy heap's memory comes from: chunks mapped
 * with mmap (or the caller's map hook), or one fixed caller buffer.
 *
 * Every mapped chunk is a power of two of bytes aligned to its own size,
 * obtained by over-mapping by (bytes - page) and unmapping the unaligned
 * head and the unused tail. Its core metadata, its chunk record and its
 * side array follow it in the same mapping, so the whole chunk region is
 * one buddy block of the top order and every block in it is aligned to its
 * size. A chunk whose blocks are all free goes back with munmap as soon as
 * the heap's free bytes exceed retain_bytes (checked after every free).
 *
 * Costs: growing is one map call plus O(chunks) to link the record;
 * finding the chunk of a pointer is O(chunks) behind a one-entry hint.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "common/annotate.h"
#include "heap/heap_internal.h"

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static void *map_pages(struct bheap *h, size_t len)
{
	if (h->cfg.map)
		return h->cfg.map(h->cfg.map_arg, len);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void unmap_pages(struct bheap *h, void *p, size_t len)
{
	if (len == 0)
		return;
	/* A later mapping may reuse the addresses: leave no checker state on them. */
	annot_defined(p, len);
	if (h->cfg.unmap)
		h->cfg.unmap(h->cfg.map_arg, p, len);
	else
		munmap(p, len);
}

size_t heap_footprint(const struct bheap *h)
{
	if (h->fixed)
		return h->cfg.buffer_bytes;
	return h->arena_bytes + h->meta_bytes + h->state_bytes;
}

/* Link c into the address-sorted chunk list and count it. */
static void chunk_link(struct bheap *h, struct heap_chunk *c)
{
	struct heap_chunk **pp = &h->chunks;
	while (*pp && (*pp)->base < c->base)
		pp = &(*pp)->next;
	c->next = *pp;
	*pp = c;
	h->nr_chunks++;
	h->idle_chunks++; /* nothing held in it yet */
	h->arena_bytes += c->bytes;
	h->meta_bytes += c->meta_bytes;
	if (h->arena_bytes > h->peak_arena)
		h->peak_arena = h->arena_bytes;
	size_t fp = heap_footprint(h);
	if (fp > h->peak_footprint)
		h->peak_footprint = fp;
}

static void chunk_unlink(struct bheap *h, struct heap_chunk *c)
{
	struct heap_chunk **pp = &h->chunks;
	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	if (h->hint == c)
		h->hint = NULL;
	h->nr_chunks--;
	h->idle_chunks--; /* only wholly free chunks are unlinked */
	h->arena_bytes -= c->bytes;
	h->meta_bytes -= c->meta_bytes;
}

/* Bytes of core metadata, chunk record and side array for a region. */
static size_t chunk_tail_bytes(const struct bheap *h, size_t bytes, size_t *core_meta)
{
	*core_meta = align_up(buddy_meta_size(&h->zone, bytes), 8);
	return *core_meta + align_up(sizeof(struct heap_chunk), 8) + (bytes >> h->min_shift);
}

/* Fill in the record placed after the core metadata at `tail`. */
static struct heap_chunk *chunk_record(struct bheap *h, uintptr_t base, size_t bytes,
				       uintptr_t tail, size_t core_meta)
{
	struct heap_chunk *c = (struct heap_chunk *)(tail + core_meta);
	memset(c, 0, sizeof(*c));
	c->base = base;
	c->bytes = bytes;
	c->side = (uint8_t *)c + align_up(sizeof(*c), 8);
	c->meta_bytes = chunk_tail_bytes(h, bytes, &core_meta);
	return c;
}

/* Map a chunk of `bytes` (a power of two >= the system page), aligned to bytes. */
static int chunk_map(struct bheap *h, size_t bytes)
{
	size_t core_meta;
	size_t tail = align_up(chunk_tail_bytes(h, bytes, &core_meta), h->sys_page);
	size_t slack = bytes - h->sys_page;
	if (bytes + tail < bytes || bytes + tail + slack < bytes + tail)
		return BUDDY_ENOMEM;
	size_t len = bytes + tail + slack;
	uint8_t *p = map_pages(h, len);
	if (!p) {
		h->map_failures++;
		return BUDDY_ENOMEM;
	}
	uintptr_t base = align_up((uintptr_t)p, bytes);
	size_t head = base - (uintptr_t)p;
	unmap_pages(h, p, head);
	unmap_pages(h, (void *)(base + bytes + tail), len - head - bytes - tail);

	void *meta = (void *)(base + bytes);
	/* Fresh anonymous mappings are zero; a caller's map hook promises no such thing. */
	unsigned flags = h->cfg.map ? 0 : BUDDY_META_ZEROED;
	int st = buddy_add_region_ex(&h->zone, (void *)base, bytes, meta, core_meta, flags);
	if (st) {
		unmap_pages(h, (void *)base, bytes + tail);
		return st;
	}
	struct heap_chunk *c = chunk_record(h, base, bytes, base + bytes, core_meta);
	c->map_base = (void *)base;
	c->map_len = bytes + tail;
	c->meta_bytes = tail; /* what is mapped for it, rounded to pages */
	chunk_link(h, c);
	h->maps++;
	return BUDDY_OK;
}

/*
 * Add memory for a block of `order`: a chunk of chunk_bytes, or one sized
 * to the block when it is larger. Fails in fixed mode and at the limit.
 */
int heap_grow(struct bheap *h, unsigned order)
{
	if (h->fixed)
		return BUDDY_ENOMEM;
	size_t bytes = h->cfg.chunk_bytes;
	if (order + h->min_shift >= sizeof(size_t) * 8 - 1)
		return BUDDY_ENOMEM;
	size_t need = (size_t)1 << (order + h->min_shift);
	if (need > bytes)
		bytes = need;
	if (h->cfg.limit_bytes &&
	    (bytes > h->cfg.limit_bytes || h->arena_bytes > h->cfg.limit_bytes - bytes))
		return BUDDY_ENOMEM;
	return chunk_map(h, bytes);
}

/* Give back the wholly free chunk c. */
static void chunk_release(struct bheap *h, struct heap_chunk *c)
{
	if (buddy_remove_region(&h->zone, (void *)c->base) != BUDDY_OK)
		return; /* cannot happen for a chunk with nothing held; keep it */
	chunk_unlink(h, c);
	h->unmaps++;
	unmap_pages(h, c->map_base, c->map_len);
}

/*
 * While free memory exceeds retain_bytes, unmap wholly free chunks (lowest
 * address first). O(1) unless some chunk is wholly free and memory is above
 * retain_bytes; then O(chunks), and at least one chunk goes.
 */
void heap_release_idle(struct bheap *h)
{
	struct heap_chunk *c = h->chunks;

	if (h->fixed)
		return;
	while (c && h->idle_chunks &&
	       ((h->zone.free_pages + h->zone.cached_pages) << h->min_shift) >
		       h->cfg.retain_bytes) {
		struct heap_chunk *next = c->next;
		if (c->held == 0)
			chunk_release(h, c);
		c = next;
	}
}

void heap_unmap_all(struct bheap *h)
{
	while (h->chunks) {
		struct heap_chunk *c = h->chunks;
		h->chunks = c->next;
		if (c->map_base)
			unmap_pages(h, c->map_base, c->map_len);
	}
	h->nr_chunks = 0;
	h->idle_chunks = 0;
}

/*
 * Fixed mode: [struct bheap][core metadata][record][side] ... [region].
 * The region base is aligned to fixed_align (up to 4096, at most 1/8 of
 * the buffer) so blocks up to that size are aligned to their size.
 */
int heap_setup_fixed(struct bheap *h)
{
	uintptr_t start = (uintptr_t)h + align_up(sizeof(*h), 16);
	uintptr_t end = (uintptr_t)h->cfg.buffer + h->cfg.buffer_bytes;
	if (end <= start + h->cfg.min_block)
		return BUDDY_ESMALL;
	size_t avail = (end - start) & ~(h->cfg.min_block - 1);
	size_t a = h->cfg.min_block;
	while (a < 4096 && a * 2 <= avail / 8)
		a *= 2;
	size_t core_meta;
	size_t tail = chunk_tail_bytes(h, avail, &core_meta);
	uintptr_t base = align_up(start + tail, a);
	if (base >= end || end - base < h->cfg.min_block)
		return BUDDY_ESMALL;
	size_t bytes = (end - base) & ~(h->cfg.min_block - 1);
	/* The metadata area was sized for `avail` >= bytes: big enough. */
	int st = buddy_add_region(&h->zone, (void *)base, bytes, (void *)start, core_meta);
	if (st)
		return st;
	struct heap_chunk *c = chunk_record(h, base, bytes, start, core_meta);
	h->fixed_align = a;
	chunk_link(h, c);
	return BUDDY_OK;
}

struct heap_chunk *heap_chunk_find(struct bheap *h, uintptr_t a)
{
	struct heap_chunk *c = h->hint;
	if (c && a - c->base < c->bytes)
		return c;
	for (c = h->chunks; c && c->base <= a; c = c->next) {
		if (a - c->base < c->bytes) {
			h->hint = c;
			return c;
		}
	}
	return NULL;
}

static size_t side_width(unsigned order)
{
	return order >= 3 ? sizeof(uint64_t) : (size_t)1 << order;
}

size_t heap_side_read(const struct bheap *h, const struct heap_chunk *c, uintptr_t a,
		      unsigned order)
{
	const uint8_t *s = c->side + ((a - c->base) >> h->min_shift);
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	switch (side_width(order)) { /* native byte order: the array is private */
	case 1:
		memcpy(&v8, s, 1);
		return v8;
	case 2:
		memcpy(&v16, s, 2);
		return v16;
	case 4:
		memcpy(&v32, s, 4);
		return v32;
	default:
		memcpy(&v64, s, 8);
		return (size_t)v64;
	}
}

void heap_side_write(const struct bheap *h, struct heap_chunk *c, uintptr_t a, unsigned order,
		     size_t slack)
{
	uint8_t *s = c->side + ((a - c->base) >> h->min_shift);
	uint8_t v8 = (uint8_t)slack;
	uint16_t v16 = (uint16_t)slack;
	uint32_t v32 = (uint32_t)slack;
	uint64_t v64 = slack;
	switch (side_width(order)) { /* slack < block size, so it fits the width */
	case 1:
		memcpy(s, &v8, 1);
		break;
	case 2:
		memcpy(s, &v16, 2);
		break;
	case 4:
		memcpy(s, &v32, 4);
		break;
	default:
		memcpy(s, &v64, 8);
		break;
	}
}
