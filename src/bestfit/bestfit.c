/* SPDX-License-Identifier: MIT */
/*
 * bestfit.c - the best-fit heap's malloc family: set-up, allocation with
 * exact best fit, splitting, boundary-tag coalescing, realloc in place,
 * aligned allocation, and the checks every pointer passes before free or
 * realloc touches anything.
 *
 * Allocation: round the request up to whole granules (header included),
 * take the tree's best fit, and split off the tail when it is at least a
 * granule (the smallest block). Free: merge with the left neighbour when
 * the block's PREV_FREE bit says it is free (its size is in the tag just
 * before the header), with the right neighbour when its header says free,
 * and put the result in the tree. Both O(1) apart from the tree updates,
 * which are expected O(log F).
 *
 *   free(B), both neighbours free:
 *     [ L free ][ B used ][ R free ]  ->  [ L + B + R free          ]
 *     (L's header grows; B's and R's start bits are cleared)
 *
 * A pointer is accepted only if it lies in the block area on a granule
 * whose start bit is set and whose header says allocated, with a size that
 * stays in the heap and ends where another start bit is set. Everything
 * else is classified (invalid, double free, interior, corrupt) and handed
 * to the error handler before anything changes.
 */
#include "bestfit/bestfit_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------------ */
/* errors                                                              */
/* ------------------------------------------------------------------ */

/* The shared error kind of a status (buddy/common.h), 0 for none. */
static int error_kind(int status)
{
	switch (status) {
	case BFIT_EINVALID: return BUDDY_ERR_INVALID;
	case BFIT_EDOUBLE: return BUDDY_ERR_DOUBLE;
	case BFIT_EINTERIOR: return BUDDY_ERR_INTERIOR;
	default: return BUDDY_ERR_CORRUPT;
	}
}

static void error_report(struct bfit *h, int status, const char *func, const void *p)
{
	char msg[128];
	int kind = error_kind(status);

	h->last_error = status;
	snprintf(msg, sizeof msg, "bfit: %s(): %s at %p", func,
		 kind == BUDDY_ERR_CORRUPT ? "corrupted block header" : buddy_error_name(kind), p);
	if (h->on_error) {
		h->on_error(h->error_arg, kind, func, p, msg);
		return;
	}
	fprintf(stderr, "%s\n", msg);
	abort();
}

#if BUDDY_DEBUG >= 2
/*
 * The expensive tier (common/debug.h): a heap a public call leaves passes
 * bfit_check, amortized over its granules. A heap known to be damaged
 * (a call reported corruption) is left alone.
 */
static void heap_check_on_return(struct bfit **hp)
{
	const struct bfit *h = *hp;
	if (h && h->last_error != BFIT_ECORRUPT &&
	    BUDDY_DEBUG_CHECK_DUE(h->allocs + h->frees, h->granules))
		BUDDY_ASSERT(bfit_check(h, NULL, NULL) == 0);
}
#endif
#define HEAP_CHECK_ON_RETURN(h) BUDDY_CHECK_ON_RETURN(heap_check_on_return, h)

static void *alloc_fail(struct bfit *h, int status, int err)
{
	if (h) {
		h->last_error = status;
		if (status == BFIT_ENOMEM)
			h->failures++;
	}
	errno = err;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* set-up                                                              */
/* ------------------------------------------------------------------ */

static uintptr_t align_up(uintptr_t v, uintptr_t a)
{
	return (v + a - 1) & ~(a - 1);
}

size_t bfit_min_bytes(void)
{
	/* worst-case alignment padding, state, one bitmap word, granule 0, one block, sentinel */
	return (GRANULE - 1) + sizeof(struct bfit) + 8 + (GRANULE - 1) + 3 * (size_t)GRANULE;
}

/*
 * Place the bitmap and the block area. bfit_min_bytes() guarantees room:
 * with L bytes after the state, the bitmap takes at most L/128 + 9 bytes
 * and the area needs 47 more (alignment, granule 0, one block, sentinel).
 */
static void heap_layout(struct bfit *h, uintptr_t end)
{
	uintptr_t after = align_up((uintptr_t)(h + 1), 8);
	size_t guess = (end - after) / GRANULE; /* granules if the bitmap were free */
	size_t words, g;
	uintptr_t base;

	if (guess > (size_t)MAX_GRANULES + 2)
		guess = (size_t)MAX_GRANULES + 2; /* the rest of a huge buffer goes unused */
	words = (guess + 2 + 63) / 64;
	base = align_up(after + words * 8, GRANULE);
	g = (end - base) / GRANULE - 1;
	h->starts = (uint64_t *)after;
	h->base = (unsigned char *)base;
	h->granules = (uint32_t)(g < MAX_GRANULES ? g : MAX_GRANULES);
	memset(h->starts, 0, words * 8);
}

struct bfit *bfit_init(void *buf, size_t size, const struct bfit_config *cfg, int *status)
{
	uintptr_t start = (uintptr_t)buf, end = start + size;
	struct bfit *h;
	uint32_t g;

	if (!buf || end < start) {
		if (status)
			*status = BFIT_ENULL;
		return NULL;
	}
	if (size < bfit_min_bytes()) {
		if (status)
			*status = BFIT_ESMALL;
		return NULL;
	}
	h = (struct bfit *)align_up(start, GRANULE);
	memset(h, 0, sizeof *h);
	heap_layout(h, end);
	h->buffer_bytes = size;
	if (cfg) {
		h->on_error = cfg->on_error;
		h->error_arg = cfg->error_arg;
	}
	g = h->granules;
	bit_set(h, 1);
	bit_set(h, g + 1);
	*blk_hdr(h, 1) = g << HDR_SHIFT;
	*blk_tag_before(h, g + 1) = g;
	*blk_hdr(h, g + 1) = HDR_ALLOC | HDR_PREV_FREE;
	bfit_tree_insert(h, 1);
	if (status)
		*status = BFIT_OK;
	return h;
}

int bfit_last_error(const struct bfit *h)
{
	return h ? h->last_error : BFIT_ENULL;
}

/* ------------------------------------------------------------------ */
/* blocks                                                              */
/* ------------------------------------------------------------------ */

/* Granules for a request of size bytes, header included; 0 if too large. */
static uint32_t granules_for(const struct bfit *h, size_t size)
{
	if (size > (size_t)h->granules * GRANULE)
		return 0;
	return (uint32_t)((size + BFIT_HEADER_BYTES + GRANULE - 1) / GRANULE); /* >= 1 */
}

/* Write the free block g of n granules: header, tag, and the right neighbour's PREV_FREE. */
static void free_block_write(struct bfit *h, uint32_t g, uint32_t n)
{
	BUDDY_ASSERT(n >= 1 && g >= 1 && n <= h->granules + 1 - g); /* F1 */
	*blk_hdr(h, g) = n << HDR_SHIFT; /* a free block's left neighbour is never free */
	*blk_tag_before(h, g + n) = n;
	*blk_hdr(h, g + n) |= HDR_PREV_FREE;
}

/*
 * Make the block g of n granules (out of the tree) an allocated block of m
 * granules, m <= n, splitting off the tail as a free block when there is one.
 * The block's right neighbour is allocated, so the tail needs no merge.
 */
static void block_carve(struct bfit *h, uint32_t g, uint32_t n, uint32_t m)
{
	uint32_t prev = *blk_hdr(h, g) & HDR_PREV_FREE;

	BUDDY_ASSERT(m >= 1 && m <= n && n <= h->granules + 1 - g); /* F1 */
	if (n > m) {
		bit_set(h, g + m);
		free_block_write(h, g + m, n - m);
		bfit_tree_insert(h, g + m);
		n = m;
	} else {
		*blk_hdr(h, g + n) &= ~HDR_PREV_FREE;
	}
	*blk_hdr(h, g) = n << HDR_SHIFT | HDR_ALLOC | prev;
	h->used_bytes += (size_t)n * GRANULE;
	if (h->used_bytes > h->peak_used_bytes)
		h->peak_used_bytes = h->used_bytes;
	if (g + n > h->peak_end)
		h->peak_end = g + n;
	h->live_allocs++;
	h->allocs++;
}

/*
 * Return the block g (header valid, counted nowhere, out of the tree) to
 * the free blocks, merging with free neighbours.
 */
static void block_release(struct bfit *h, uint32_t g)
{
	uint32_t n = blk_size(h, g), next = g + n;

	if (blk_prev_free(h, g)) {
		uint32_t left = g - *blk_tag_before(h, g);
		bfit_tree_remove(h, left);
		bit_clear(h, g);
		n += g - left;
		g = left;
		BUDDY_ASSERT(!blk_prev_free(h, g)); /* F5: the free left block's left is in use */
	}
	if (!blk_alloc(h, next)) {
		bfit_tree_remove(h, next);
		bit_clear(h, next);
		n += blk_size(h, next);
		BUDDY_ASSERT(blk_alloc(h, g + n)); /* F5: so is the free right block's right */
	}
	free_block_write(h, g, n);
	bfit_tree_insert(h, g);
}

/* Account for the allocated block g of n granules leaving the used blocks. */
static void used_drop(struct bfit *h, uint32_t n)
{
	BUDDY_ASSERT(h->live_allocs > 0 && h->used_bytes >= (size_t)n * GRANULE); /* F7 */
	h->used_bytes -= (size_t)n * GRANULE;
	h->live_allocs--;
}

/* ------------------------------------------------------------------ */
/* pointer checks                                                      */
/* ------------------------------------------------------------------ */

/* Highest granule <= g whose start bit is set (granule 1 always is). */
static uint32_t start_before(const struct bfit *h, uint32_t g)
{
	size_t w = g / 64;
	uint64_t bits = h->starts[w] & (~(uint64_t)0 >> (63 - g % 64));

	while (!bits)
		bits = h->starts[--w];
	return (uint32_t)(w * 64 + 63 - (unsigned)__builtin_clzll(bits));
}

/* Classify a pointer that is not the payload of an allocated block. */
static int ptr_misuse(const struct bfit *h, uintptr_t off)
{
	uint32_t g = (uint32_t)(off / GRANULE), c;

	if (off % GRANULE >= GRANULE - BFIT_HEADER_BYTES && bit_get(h, g + 1))
		return BFIT_EINVALID; /* in the next block's header */
	c = start_before(h, g);
	if (blk_alloc(h, c))
		return BFIT_EINTERIOR;
	return off % GRANULE ? BFIT_EINVALID : BFIT_EDOUBLE;
}

/* The block whose payload is p, or 0 with *status saying what is wrong. */
static uint32_t ptr_block(const struct bfit *h, const void *p, int *status)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)blk_ptr(h, 1);
	uintptr_t hi = (uintptr_t)blk_ptr(h, h->granules + 1);
	uint32_t g, n;

	*status = BFIT_EINVALID;
	if (a < lo || a >= hi)
		return 0;
	g = (uint32_t)((a - (uintptr_t)h->base) / GRANULE);
	if ((a - (uintptr_t)h->base) % GRANULE || !bit_get(h, g) || !blk_alloc(h, g)) {
		*status = ptr_misuse(h, a - (uintptr_t)h->base);
		return 0;
	}
	n = blk_size(h, g);
	if (n == 0 || n > h->granules + 1 - g || !bit_get(h, g + n)) {
		*status = BFIT_ECORRUPT;
		return 0;
	}
	*status = BFIT_OK;
	return g;
}

/* ------------------------------------------------------------------ */
/* the malloc family                                                   */
/* ------------------------------------------------------------------ */

void *bfit_malloc(struct bfit *h, size_t size)
{
	uint32_t m, g, n;

	HEAP_CHECK_ON_RETURN(h);
	if (!h)
		return alloc_fail(h, BFIT_ENULL, EINVAL);
	m = granules_for(h, size);
	g = m ? bfit_tree_best_fit(h, m) : 0;
	if (!g)
		return alloc_fail(h, BFIT_ENOMEM, ENOMEM);
	n = blk_size(h, g);
	bfit_tree_remove(h, g);
	block_carve(h, g, n, m);
	return blk_ptr(h, g);
}

void *bfit_calloc(struct bfit *h, size_t n, size_t size)
{
	void *p;

	if (!h)
		return alloc_fail(h, BFIT_ENULL, EINVAL);
	if (size && n > SIZE_MAX / size)
		return alloc_fail(h, BFIT_EOVERFLOW, ENOMEM);
	p = bfit_malloc(h, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void bfit_free(struct bfit *h, void *p)
{
	int status;
	uint32_t g;

	HEAP_CHECK_ON_RETURN(h);
	if (!h || !p)
		return;
	g = ptr_block(h, p, &status);
	if (!g) {
		error_report(h, status, "free", p);
		return;
	}
	used_drop(h, blk_size(h, g));
	h->frees++;
	block_release(h, g);
}

size_t bfit_usable_size(struct bfit *h, const void *p)
{
	int status;
	uint32_t g;

	if (!h || !p)
		return 0;
	g = ptr_block(h, p, &status);
	if (!g) {
		error_report(h, status, "malloc_usable_size", p);
		return 0;
	}
	return (size_t)blk_size(h, g) * GRANULE - BFIT_HEADER_BYTES;
}

/* Shrink the allocated block g of n granules to m < n, freeing the tail. */
static void block_shrink(struct bfit *h, uint32_t g, uint32_t n, uint32_t m)
{
	uint32_t prev = *blk_hdr(h, g) & HDR_PREV_FREE;

	*blk_hdr(h, g) = m << HDR_SHIFT | HDR_ALLOC | prev;
	bit_set(h, g + m);
	*blk_hdr(h, g + m) = (n - m) << HDR_SHIFT | HDR_ALLOC;
	h->used_bytes -= (size_t)(n - m) * GRANULE;
	block_release(h, g + m);
}

/* Grow the allocated block g of n granules to m > n into its free right neighbour. */
static int block_grow(struct bfit *h, uint32_t g, uint32_t n, uint32_t m)
{
	uint32_t next = g + n, total;

	if (blk_alloc(h, next) || n + blk_size(h, next) < m)
		return 0;
	total = n + blk_size(h, next);
	bfit_tree_remove(h, next);
	bit_clear(h, next);
	h->used_bytes -= (size_t)n * GRANULE; /* block_carve counts the block anew */
	h->live_allocs--;
	h->allocs--;
	block_carve(h, g, total, m);
	return 1;
}

/* realloc by allocating a new block, copying and freeing the old one. */
static void *block_move(struct bfit *h, void *p, uint32_t g, size_t size)
{
	size_t old = (size_t)blk_size(h, g) * GRANULE - BFIT_HEADER_BYTES;
	void *q = bfit_malloc(h, size);

	if (!q)
		return NULL;
	memcpy(q, p, old < size ? old : size);
	h->allocs--; /* a moved block is one allocation, not two */
	used_drop(h, blk_size(h, g));
	block_release(h, g);
	return q;
}

void *bfit_realloc(struct bfit *h, void *p, size_t size)
{
	int status;
	uint32_t g, n, m;

	HEAP_CHECK_ON_RETURN(h);
	if (!p)
		return bfit_malloc(h, size);
	if (!h)
		return alloc_fail(h, BFIT_ENULL, EINVAL);
	g = ptr_block(h, p, &status);
	if (!g) {
		error_report(h, status, "realloc", p);
		errno = EINVAL;
		return NULL;
	}
	if (size == 0) {
		bfit_free(h, p);
		return NULL;
	}
	m = granules_for(h, size);
	if (!m)
		return alloc_fail(h, BFIT_ENOMEM, ENOMEM);
	n = blk_size(h, g);
	if (m < n)
		block_shrink(h, g, n, m);
	if (m <= n || block_grow(h, g, n, m))
		return p;
	return block_move(h, p, g, size);
}

/* First granule at or after g whose payload is aligned to align bytes. */
static uint32_t granule_aligned(const struct bfit *h, uint32_t g, size_t align)
{
	uintptr_t a = (uintptr_t)blk_ptr(h, g);

	return g + (uint32_t)((align_up(a, align) - a) / GRANULE);
}

void *bfit_aligned_alloc(struct bfit *h, size_t align, size_t size)
{
	uint32_t m, g, n, k;

	HEAP_CHECK_ON_RETURN(h);
	if (!h)
		return alloc_fail(h, BFIT_ENULL, EINVAL);
	if (align == 0 || (align & (align - 1)))
		return alloc_fail(h, BFIT_EALIGN, EINVAL);
	if (align <= GRANULE)
		return bfit_malloc(h, size);
	m = granules_for(h, size);
	if (!m || align / GRANULE > (size_t)h->granules - m + 1)
		return alloc_fail(h, BFIT_ENOMEM, ENOMEM);
	g = bfit_tree_best_fit(h, m + (uint32_t)(align / GRANULE) - 1);
	if (!g)
		return alloc_fail(h, BFIT_ENOMEM, ENOMEM);
	n = blk_size(h, g);
	bfit_tree_remove(h, g);
	k = granule_aligned(h, g, align);
	if (k > g) { /* the head becomes a free block of its own */
		bit_set(h, k);
		free_block_write(h, g, k - g);
		*blk_hdr(h, k) = (n - (k - g)) << HDR_SHIFT | HDR_PREV_FREE;
		bfit_tree_insert(h, g);
	}
	block_carve(h, k, n - (k - g), m);
	return blk_ptr(h, k);
}
