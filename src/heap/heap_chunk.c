/* SPDX-License-Identifier: MIT */
/*
 * heap_chunk.c - where the buddy heap's memory comes from: chunks mapped
 * with mmap (or the caller's map hook), or one fixed caller buffer.
 *
 * Every mapped chunk is a power of two of bytes aligned to its own size,
 * obtained by over-mapping by (bytes - page) and unmapping the unaligned
 * head and the unused tail. Its core metadata, its chunk record and its
 * side array follow it in the same mapping, behind one guard page mapped
 * without access, so the whole chunk region is one buddy block of the top
 * order, every block in it is aligned to its size, and no write running
 * past the region's last block reaches its metadata:
 *
 *     [region: bytes][guard page][core metadata][struct bheap_chunk][side]
 *
 * In fixed mode the metadata comes before the region instead (see
 * bheap_setup_fixed), where an overflow cannot reach it either.
 *
 * A chunk whose blocks are all free goes back with munmap as soon as the
 * heap's free bytes exceed retain_bytes (checked after every free).
 *
 * Each chunk's record is its region's owner in the zone, so the zone's own
 * lookup (one compare for the last region used, else a bisection) finds a
 * pointer's chunk; the heap keeps only the list of wholly free chunks.
 *
 * Costs: growing is one map call; a chunk becoming wholly free or used
 * again costs O(idle chunks) to keep the idle list in address order.
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

size_t bheap_footprint(const struct bheap *h)
{
	if (h->fixed)
		return h->cfg.buffer_bytes;
	return h->arena_bytes + h->meta_bytes + h->state_bytes;
}

/* H3: c holds nothing now; it joins the idle list in address order. */
void bheap_idle_add(struct bheap *h, struct bheap_chunk *c)
{
	struct bheap_chunk **pp = &h->idle;
	BUDDY_ASSERT(c->held_bytes == 0);
	while (*pp && (*pp)->base < c->base)
		pp = &(*pp)->idle_next;
	c->idle_next = *pp;
	*pp = c;
	h->idle_chunks++;
}

/* H3: c holds something again, or goes away; it leaves the idle list. */
void bheap_idle_remove(struct bheap *h, struct bheap_chunk *c)
{
	struct bheap_chunk **pp = &h->idle;
	while (*pp && *pp != c)
		pp = &(*pp)->idle_next;
	BUDDY_ASSERT(*pp == c); /* H3: a chunk holding nothing is on the list */
	*pp = c->idle_next;
	h->idle_chunks--;
}

/* The chunk c now owns its region: count it; it starts idle. */
static int chunk_link(struct bheap *h, struct bheap_chunk *c)
{
	int st = buddy_region_set_owner(&h->zone, (void *)c->base, c);
	if (st)
		return st;
	bheap_idle_add(h, c);
	h->arena_bytes += c->bytes;
	h->meta_bytes += c->meta_bytes;
	if (h->arena_bytes > h->peak_arena_bytes)
		h->peak_arena_bytes = h->arena_bytes;
	size_t fp = bheap_footprint(h);
	if (fp > h->peak_footprint_bytes)
		h->peak_footprint_bytes = fp;
	return BUDDY_OK;
}

static void chunk_unlink(struct bheap *h, struct bheap_chunk *c)
{
	bheap_idle_remove(h, c); /* only wholly free chunks are unlinked */
	h->arena_bytes -= c->bytes;
	h->meta_bytes -= c->meta_bytes;
}

/* Bytes of core metadata, chunk record and side array for a region. */
static size_t chunk_tail_bytes(const struct bheap *h, size_t bytes, size_t *core_meta)
{
	*core_meta = align_up(buddy_meta_size(&h->zone, bytes), 8);
	return *core_meta + align_up(sizeof(struct bheap_chunk), 8) + (bytes >> h->min_shift);
}

/* Fill in the record placed after the core metadata at `tail`. */
static struct bheap_chunk *chunk_record(struct bheap *h, uintptr_t base, size_t bytes,
					uintptr_t tail, size_t core_meta)
{
	struct bheap_chunk *c = (struct bheap_chunk *)(tail + core_meta);
	memset(c, 0, sizeof(*c));
	c->base = base;
	c->bytes = bytes;
	c->side = (uint8_t *)c + align_up(sizeof(*c), 8);
	c->meta_bytes = chunk_tail_bytes(h, bytes, &core_meta);
	return c;
}

/*
 * The guard page after a chunk's region gets its access back before the
 * mapping goes to a caller's unmap hook, which may hand the memory on.
 */
static void guard_open(struct bheap *h, const struct bheap_chunk *c)
{
	if (c->guarded && h->cfg.unmap)
		mprotect((void *)(c->base + c->bytes), h->sys_page, PROT_READ | PROT_WRITE);
}

/* Map a chunk of `bytes` (a power of two >= the system page), aligned to bytes. */
static int chunk_map(struct bheap *h, size_t bytes)
{
	size_t core_meta;
	size_t tail = h->sys_page + align_up(chunk_tail_bytes(h, bytes, &core_meta), h->sys_page);
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

	void *meta = (void *)(base + bytes + h->sys_page);
	/* Fresh anonymous mappings are zero; a caller's map hook promises no such thing. */
	unsigned flags = h->cfg.map ? 0 : BUDDY_META_ZEROED;
	int st = buddy_add_region_ex(&h->zone, (void *)base, bytes, meta, core_meta, flags);
	if (st) {
		unmap_pages(h, (void *)base, bytes + tail);
		return st;
	}
	struct bheap_chunk *c = chunk_record(h, base, bytes, (uintptr_t)meta, core_meta);
	c->map_base = (void *)base;
	c->map_len = bytes + tail;
	c->meta_bytes = tail; /* what is mapped for it, rounded to pages, guard included */
	/* Without mprotect (memory a hook cannot protect) the page is still a gap. */
	c->guarded = mprotect((void *)(base + bytes), h->sys_page, PROT_NONE) == 0;
	st = chunk_link(h, c);
	if (st) { /* cannot happen: the region was just added */
		buddy_remove_region(&h->zone, (void *)base);
		guard_open(h, c);
		unmap_pages(h, (void *)base, bytes + tail);
		return st;
	}
	h->maps++;
	return BUDDY_OK;
}

/*
 * Add memory for a block of `order`: a chunk of chunk_bytes, or one sized
 * to the block when it is larger. Fails in fixed mode and at the limit.
 */
int bheap_grow(struct bheap *h, unsigned order)
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
static void chunk_release(struct bheap *h, struct bheap_chunk *c)
{
	if (buddy_remove_region(&h->zone, (void *)c->base) != BUDDY_OK)
		return; /* cannot happen for a chunk with nothing held; keep it */
	chunk_unlink(h, c);
	h->unmaps++;
	guard_open(h, c);
	unmap_pages(h, c->map_base, c->map_len);
}

/*
 * While free memory (the bytes of the chunks that no allocation holds)
 * exceeds retain_bytes, unmap wholly free chunks, lowest address first.
 * O(1) unless some chunk is wholly free and memory is above retain_bytes;
 * then each chunk that goes costs one unmap. The zone checks a chunk's
 * free blocks as it removes them: damage found there stops this and is
 * reported by the call op.
 */
void bheap_release_idle(struct bheap *h, const char *op)
{
	struct bheap_chunk *c = h->idle;

	if (h->fixed)
		return;
	while (c && h->arena_bytes - h->held_bytes > h->cfg.retain_bytes) {
		struct bheap_chunk *next = c->idle_next;
		chunk_release(h, c);
		if (h->corrupted) {
			bheap_damage_report(h, op);
			return;
		}
		c = next;
	}
}

/*
 * Unmap every chunk, found through the zone's regions. From the highest
 * index down, so no region record is read after the chunk holding it went.
 */
void bheap_unmap_all(struct bheap *h)
{
	struct buddy_stats st;
	struct buddy_region_info ri;

	buddy_drain_cache(&h->zone); /* no cached pages: region_info needs no scan */
	buddy_get_stats(&h->zone, &st);
	for (unsigned i = st.nr_regions; i-- > 0;) {
		const struct bheap_chunk *c =
			buddy_region_info(&h->zone, i, &ri) == BUDDY_OK ? bheap_chunk_of(h, &ri) : NULL;
		if (c && c->map_base) {
			guard_open(h, c);
			unmap_pages(h, c->map_base, c->map_len);
		}
	}
	h->idle = NULL;
	h->idle_chunks = 0;
}

/*
 * Fixed mode: [struct bheap][core metadata][record][side] ... [region].
 * The region base is aligned to fixed_align (up to 4096, at most 1/8 of
 * the buffer) so blocks up to that size are aligned to their size.
 */
int bheap_setup_fixed(struct bheap *h)
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
	struct bheap_chunk *c = chunk_record(h, base, bytes, start, core_meta);
	h->fixed_align = a;
	return chunk_link(h, c);
}

static size_t side_width(unsigned order)
{
	return order >= 3 ? sizeof(uint64_t) : (size_t)1 << order;
}

size_t bheap_side_read(const struct bheap *h, const struct bheap_chunk *c, uintptr_t a,
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

void bheap_side_write(const struct bheap *h, struct bheap_chunk *c, uintptr_t a, unsigned order,
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
