/* SPDX-License-Identifier: MIT */
/*
 * bestfit.c - the best-fit heap's malloc family: set-up, allocation with
 * exact best fit, splitting, coalescing with both neighbours, realloc in
 * place, aligned allocation, and the checks every pointer and every header
 * passes before the heap acts on them.
 *
 * Allocation: round the request up to whole granules (header included),
 * take the tree's best fit, and split off the tail when it is at least a
 * granule (the smallest block); the tail keeps the block's place in the
 * tree when the key order allows. Free: merge with the left neighbour when
 * the free bitmap says it is free (the start bitmap finds where it
 * begins), with the right neighbour likewise, and put the result in the
 * tree, in a merged neighbour's place when the order allows. O(1) word reads for blocks under 1 KiB and O(log64 heap) beyond,
 * plus the tree updates, which are expected O(log F).
 *
 *   free(B), both neighbours free:
 *     [ L free ][ B used ][ R free ]  ->  [ L + B + R free          ]
 *     (L's header grows; B's and R's start bits are cleared)
 *
 * A pointer is accepted only if it lies in the block area on a granule
 * whose start bit is set and whose free bit is clear; everything else is
 * classified (invalid, double free, interior) and handed to the error
 * handler before anything changes. A header is trusted only when it agrees
 * with the bitmaps (bestfit_internal.h); when one does not, or a tree link
 * leads outside the free blocks, the call reports corruption
 * (BUDDY_ERR_CORRUPT, naming the address) and every later call refuses,
 * saying so.
 */
#include "bestfit/bestfit_internal.h"
#include "bestfit/bestfit_tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------------ */
/* errors                                                              */
/* ------------------------------------------------------------------ */

/* The shared error kind of a misuse status (buddy/common.h). */
static int error_kind(int status)
{
	switch (status) {
	case BFIT_EDOUBLE: return BUDDY_ERR_DOUBLE;
	case BFIT_EINTERIOR: return BUDDY_ERR_INTERIOR;
	default: return BUDDY_ERR_INVALID;
	}
}

static COLD void report(struct bfit *h, int kind, const char *func, const void *p, const char *msg)
{
	if (h->on_error) {
		h->on_error(h->error_arg, kind, func, p, msg);
		return;
	}
	fprintf(stderr, "%s\n", msg);
	fflush(stderr);
	abort();
}

static COLD void error_report(struct bfit *h, int status, const char *func, const void *p)
{
	char msg[128];
	int kind = error_kind(status);

	h->last_error = status;
	snprintf(msg, sizeof msg, "bfit: %s(): %s at %p", func, buddy_error_name(kind), p);
	report(h, kind, func, p, msg);
}

int bfit_damage(struct bfit *h, const char *what, const void *where)
{
	if (!h->corrupted) { /* the first damage found is the one to report */
		h->corrupted = 1;
		h->damage = what;
		h->damage_at = where;
	}
	h->last_error = BFIT_ECORRUPT;
	return -1;
}

/*
 * The call func reports the damage, as BUDDY_ERR_CORRUPT at its address;
 * every call after the first says the heap was found corrupted earlier.
 */
static COLD void damage_report(struct bfit *h, const char *func)
{
	char msg[192];

	snprintf(msg, sizeof msg, "bfit: %s(): %s%s at %p", func,
		 h->damage_reported ? "heap corrupted earlier, no further changes: " : "", h->damage,
		 h->damage_at);
	h->damage_reported = 1;
	h->last_error = BFIT_ECORRUPT;
	report(h, BUDDY_ERR_CORRUPT, func, h->damage_at, msg);
}

/* An allocating call that met damage: reported, NULL with errno ENOMEM. */
static COLD void *alloc_refused(struct bfit *h, const char *func)
{
	damage_report(h, func);
	errno = ENOMEM;
	return NULL;
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
	if (h && !h->corrupted && BUDDY_DEBUG_CHECK_DUE(h->allocs + h->frees, h->granules))
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
/* the start bitmap beyond one word                                    */
/* ------------------------------------------------------------------ */

/*
 * The first start at or after x when none is in x's word: up the summary
 * levels to the first level with a set bit at or after the position, then
 * down through the first set bit of each word below. O(levels). The
 * summaries lie outside the blocks; if they were damaged all the same, the
 * answer is "none" (granules + 2), which no check accepts.
 */
uint32_t bfit_next_start_far(const struct bfit *h, uint32_t x)
{
	const uint64_t *lv[8];
	size_t words[8], i = x;
	unsigned k = 0;

	/* Blocks of up to a few KiB end within the next words: look there first. */
	for (size_t w = x / 64 + 1; w <= x / 64 + 3 && w < h->start_words; w++)
		if (h->starts[w])
			return (uint32_t)(w * 64 + (size_t)__builtin_ctzll(h->starts[w]));

	lv[0] = h->starts;
	words[0] = h->start_words;
	for (;;) {
		size_t w = i / 64;
		uint64_t bits;
		if (w >= words[k])
			return h->granules + 2; /* none; the sentinel's bit stops every search */
		bits = lv[k][w] & (~(uint64_t)0 << (i % 64));
		if (bits) {
			i = w * 64 + (size_t)__builtin_ctzll(bits);
			break;
		}
		if (++k == h->nlevels)
			return h->granules + 2;
		lv[k] = k == 1 ? h->summary : lv[k - 1] + words[k - 1];
		words[k] = level_up(words[k - 1]);
		i = w + 1;
	}
	while (k--) {
		if (!lv[k][i])
			return h->granules + 2; /* F2 broken: a summary bit names a word of 0 */
		i = i * 64 + (size_t)__builtin_ctzll(lv[k][i]);
	}
	return (uint32_t)i;
}

/* The last start at or before x when none is in x's word (granule 1 always is). */
uint32_t bfit_prev_start_far(const struct bfit *h, uint32_t x)
{
	const uint64_t *lv[8];
	size_t words[8], i = x;
	unsigned k = 0;

	/* prev_start looked through x's word and the three before: start above them. */
	if (x / 64 > 3)
		i = (x / 64 - 3) * 64 - 1;

	lv[0] = h->starts;
	words[0] = h->start_words;
	for (;;) {
		size_t w = i / 64;
		uint64_t bits = lv[k][w] & (~(uint64_t)0 >> (63 - i % 64));
		if (bits) {
			i = w * 64 + 63 - (size_t)__builtin_clzll(bits);
			break;
		}
		if (w == 0 || ++k == h->nlevels)
			return 0;
		lv[k] = k == 1 ? h->summary : lv[k - 1] + words[k - 1];
		words[k] = level_up(words[k - 1]);
		i = w - 1;
	}
	while (k--) {
		if (!lv[k][i])
			return 0; /* F2 broken */
		i = i * 64 + 63 - (size_t)__builtin_clzll(lv[k][i]);
	}
	return (uint32_t)i;
}

/*
 * Whether bits [a, b) of a bitmap level (lv, of `words` words) are all 0:
 * the partial words at the ends directly, the whole words between through
 * the level above when there are more than a few (a word of 0 has its
 * summary bit clear). O(levels).
 */
static int level_bits_zero(const struct bfit *h, unsigned k, const uint64_t *lv, size_t words,
			   size_t a, size_t b)
{
	for (;;) {
		size_t wa = a / 64, wb = b / 64;
		if (a >= b)
			return 1;
		if (wa == wb)
			return !(lv[wa] & (~(uint64_t)0 << (a % 64)) & ~(~(uint64_t)0 << (b % 64)));
		if ((lv[wa] & (~(uint64_t)0 << (a % 64))) ||
		    (b % 64 && (lv[wb] & ~(~(uint64_t)0 << (b % 64)))))
			return 0;
		if (wb - wa - 1 <= 4 || k + 1 == h->nlevels) {
			for (size_t w = wa + 1; w < wb; w++)
				if (lv[w])
					return 0;
			return 1;
		}
		/* The whole words between: their summary bits, one level up. */
		lv = k++ == 0 ? h->summary : lv + words;
		words = level_up(words);
		a = wa + 1;
		b = wb;
	}
}

int bfit_no_start_between(const struct bfit *h, uint32_t a, uint32_t b)
{
	return level_bits_zero(h, 0, h->starts, h->start_words, a, b);
}

/*
 * The checked size of the block g whose header claims n granules, when the
 * claim is out of bounds or the block ends more than five words after g's
 * (blk_checked_size): the last block by its record, others by the summaries.
 */
uint32_t bfit_checked_size_far(const struct bfit *h, uint32_t g, uint32_t n)
{
	uint32_t e = g + n;

	if (n - 1u >= h->granules + 1 - g)
		return 0;
	if (e == h->granules + 1)
		return g == h->last ? n : 0;
	return is_start(h, e) && bfit_no_start_between(h, g + 1, e) ? n : 0;
}

/* ------------------------------------------------------------------ */
/* set-up                                                              */
/* ------------------------------------------------------------------ */

static inline int free_block_add(struct bfit *h, uint32_t g, uint32_t n);

static uintptr_t align_up(uintptr_t v, uintptr_t a)
{
	return (v + a - 1) & ~(a - 1);
}

size_t bfit_min_bytes(void)
{
	/*
	 * Worst-case alignment padding, state, one word each of the start and
	 * free bitmaps, granule 0, one block, sentinel.
	 */
	return (GRANULE - 1) + sizeof(struct bfit) + 2 * sizeof(uint64_t) + (GRANULE - 1) +
	       3 * (size_t)GRANULE;
}

/*
 * Place the bitmaps and the block area. bfit_min_bytes() guarantees room:
 * with L bytes after the state, the bitmaps take at most about L/60 + 17
 * bytes and the area needs 47 more (alignment, granule 0, one block,
 * sentinel); for L that small there is one word of each bitmap.
 */
static void heap_layout(struct bfit *h, uintptr_t end)
{
	uintptr_t after = align_up((uintptr_t)(h + 1), 8);
	size_t guess = (end - after) / GRANULE; /* granules if the bitmaps were free */
	size_t words, total, g;
	uintptr_t base;

	if (guess > (size_t)MAX_GRANULES + 2)
		guess = (size_t)MAX_GRANULES + 2; /* the rest of a huge buffer goes unused */
	words = (guess + 2 + 63) / 64;
	total = 2 * words; /* start and free bitmaps */
	h->nlevels = 1;
	for (size_t w = words; w > 1; w = level_up(w)) {
		total += level_up(w);
		h->nlevels++;
	}
	base = align_up(after + total * 8, GRANULE);
	g = (end - base) / GRANULE - 1;
	h->base = (unsigned char *)base;
	h->granules = (uint32_t)(g < MAX_GRANULES ? g : MAX_GRANULES);
	h->starts = (uint64_t *)after;
	h->start_words = (uint32_t)words;
	h->free_starts = h->starts + words;
	h->summary = h->free_starts + words;
	memset(h->starts, 0, total * 8);
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
	start_set(h, 1);
	start_set(h, g + 1);
	*blk_hdr(h, g + 1) = HDR_ALLOC;
	free_block_add(h, 1, g); /* the top; the sentinel's PREV_FREE set */
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

/*
 * The top: the last block, when it is free, is kept out of the tree (as
 * dlmalloc keeps its top chunk): allocations carved from the end of the heap
 * and frees next to it then cost no tree updates. Its size comes from the
 * record of the last block, never from its header. 0 when the last block is
 * in use.
 */
static inline uint32_t top_size(const struct bfit *h)
{
	return is_free(h, h->last) ? h->granules + 1 - h->last : 0;
}

/* The top of n granules stops being a free block (handed out or merged). */
static inline void top_drop(struct bfit *h, uint32_t n)
{
	h->free_bytes -= (size_t)n * GRANULE;
	h->free_blocks--;
}

/* The block g of n granules becomes free: header, free bit, and the tree or the top. */
static HOT_INLINE int free_block_add(struct bfit *h, uint32_t g, uint32_t n)
{
	BUDDY_ASSERT(n >= 1 && g >= 1 && n <= h->granules + 1 - g); /* F1 */
	*blk_hdr(h, g) = n << HDR_SHIFT; /* its left neighbour is in use */
	*blk_hdr(h, g + n) |= HDR_PREV_FREE;
	free_mark(h, g);
	if (g + n == h->granules + 1) {
		h->last = g;
		h->free_bytes += (size_t)n * GRANULE;
		h->free_blocks++;
		return 0;
	}
	return tree_insert(h, g);
}

/*
 * The best fit for m granules, out of the free blocks, its size in *n: the
 * tree's, or the top when it fits and is smaller than any tree block that
 * fits (equal sizes go to the lower address, which is the tree's). 0 when
 * nothing fits or the tree is damaged (recorded). With split, a tree block
 * may leave its remainder past split granules in its place in the tree
 * (*placed set; see tree_take).
 */
static HOT_INLINE uint32_t block_take(struct bfit *h, uint32_t m, uint32_t split, uint32_t *n,
				      int *placed)
{
	uint32_t top = top_size(h), g;

	g = tree_take(h, m, top >= m ? top : UINT32_MAX, split, placed);
	if (g) {
		*n = blk_size(h, g); /* checked as it was taken */
		return g;
	}
	if (h->corrupted || top < m)
		return 0;
	top_drop(h, top);
	*n = top;
	return h->last;
}

/*
 * Make the block g of n granules (out of the tree) an allocated block of m
 * granules, m <= n, splitting off the tail as a free block when there is
 * one; prev is its PREV_FREE flag. The block's right neighbour is
 * allocated, so the tail needs no merge. When placed, the tail already
 * holds g's place in the tree (block_take). -1 when the tree turns out
 * damaged (recorded).
 */
static HOT_INLINE int block_carve(struct bfit *h, uint32_t g, uint32_t n, uint32_t m, uint32_t prev,
		       int placed)
{
	BUDDY_ASSERT(m >= 1 && m <= n && n <= h->granules + 1 - g); /* F1 */
	free_unmark(h, g);
	*blk_hdr(h, g) = m << HDR_SHIFT | HDR_ALLOC | prev;
	if (g + m == h->granules + 1)
		h->last = g;
	h->used_bytes += (size_t)m * GRANULE;
	if (h->used_bytes > h->peak_used_bytes)
		h->peak_used_bytes = h->used_bytes;
	if (g + m > h->peak_end)
		h->peak_end = g + m;
	h->live_allocs++;
	h->allocs++;
	if (n > m) {
		start_set(h, g + m);
		if (placed) {
			free_mark(h, g + m);
			return 0;
		}
		return free_block_add(h, g + m, n - m);
	}
	*blk_hdr(h, g + n) &= ~HDR_PREV_FREE;
	return 0;
}

/* The free neighbours of a block about to be freed, checked and out of the tree. */
struct neighbours {
	uint32_t left;  /* the free block just before, or 0 */
	uint32_t right; /* its size: the free block just after has it, or 0 */
	uint32_t kept;  /* the merged block took this many granules' place in the tree, or 0 */
};

/* The free block at next: its checked size, 0 when in use, -1 damaged (recorded). */
static HOT_INLINE int64_t right_free(struct bfit *h, uint32_t next)
{
	uint32_t rn;

	if (!is_free(h, next))
		return 0;
	if (next == h->last) /* the top: its size from the record */
		return h->granules + 1 - next;
	rn = blk_checked_size(h, next, 0);
	if (!rn)
		return bfit_damage(h, "corrupted block header", blk_ptr(h, next));
	return rn;
}

/*
 * The merged block g of n granules takes the place of the tree's free
 * block old (of `was` granules) when the order allows (tree_grow),
 * else old leaves the tree: 0, or -1 on damage (recorded). A merged block
 * that ends at the sentinel becomes the top, out of the tree (its
 * neighbour was not the top only if the record of the last block was
 * damaged, which a sound heap never sees).
 */
static HOT_INLINE int merge_into(struct bfit *h, uint32_t old, uint32_t was, uint32_t g,
				 uint32_t n, struct neighbours *nb)
{
	if (unlikely(g + n == h->granules + 1))
		return tree_remove(h, old) ? 0 : -1;
	int grown = tree_grow(h, old, g, n << HDR_SHIFT);

	if (grown > 0)
		nb->kept = was;
	return grown < 0 ? -1 : 0;
}

/*
 * Freeing the allocated block g of n granules, first step: find its free
 * neighbours, check their headers against the bitmaps, and take them out of
 * the tree. Nothing of g is written yet, and the tree is written only in
 * free blocks. -1 on damage (recorded).
 */
static HOT_INLINE int release_prepare(struct bfit *h, uint32_t g, uint32_t n,
				   struct neighbours *nb, int look_left)
{
	/*
	 * The left neighbour is looked for only when g's header says it is
	 * free: a damaged hint can only leave two free blocks side by side.
	 */
	uint32_t left = look_left && (*blk_hdr(h, g) & HDR_PREV_FREE) ? prev_start(h, g - 1) : 0;
	uint32_t next = g + n, r;
	int64_t rn;

	nb->left = left && is_free(h, left) ? left : 0;
	nb->kept = 0;
	if (nb->left && *blk_hdr(h, left) != (g - left) << HDR_SHIFT)
		return bfit_damage(h, "corrupted block header", blk_ptr(h, left));
	rn = right_free(h, next);
	if (rn < 0)
		return -1;
	r = nb->right = (uint32_t)rn;
	if (r && next == h->last) /* the top grows */
		top_drop(h, r);
	else if (r && !nb->left)
		return merge_into(h, next, r, g, n + r, nb);
	else if (r && !tree_remove(h, next))
		return -1;
	if (!nb->left)
		return 0;
	return merge_into(h, left, g - left, left, g - left + n + r, nb);
}

/*
 * Second step: the block g of n granules and its neighbours become one free
 * block in the tree. -1 when the tree turns out damaged (recorded); the
 * block is given up all the same.
 */
static HOT_INLINE int release_commit(struct bfit *h, uint32_t g, uint32_t n,
				  const struct neighbours *nb)
{
	if (nb->left) {
		start_clear(h, g);
		n += g - nb->left;
		g = nb->left;
	}
	if (nb->right) {
		start_clear(h, g + n);
		free_unmark(h, g + n);
		n += nb->right;
	}
	if (nb->kept) { /* g holds a place in the tree already */
		*blk_hdr(h, g) = n << HDR_SHIFT;
		*blk_hdr(h, g + n) |= HDR_PREV_FREE;
		free_mark(h, g);
		h->free_bytes += (size_t)(n - nb->kept) * GRANULE;
		return 0;
	}
	return free_block_add(h, g, n);
}

/* Both steps: free the allocated block g of n granules (checked, counted nowhere). */
static HOT_INLINE int block_release(struct bfit *h, uint32_t g, uint32_t n)
{
	struct neighbours nb;

	if (release_prepare(h, g, n, &nb, 1))
		return -1;
	return release_commit(h, g, n, &nb);
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

/* Classify a pointer that is not the payload of an allocated block. */
static int ptr_misuse(const struct bfit *h, uintptr_t off)
{
	uint32_t g = (uint32_t)(off / GRANULE), c;

	if (off % GRANULE >= GRANULE - BFIT_HEADER_BYTES && is_start(h, g + 1))
		return BFIT_EINVALID; /* in the next block's header */
	c = prev_start(h, g);
	if (!is_free(h, c))
		return BFIT_EINTERIOR;
	return off % GRANULE ? BFIT_EINVALID : BFIT_EDOUBLE;
}

/*
 * The block whose payload is p, or 0 with *status saying what is wrong:
 * misuse, or BFIT_ECORRUPT when its header disagrees with the bitmaps
 * (recorded as damage).
 */
static HOT_INLINE uint32_t ptr_block(struct bfit *h, const void *p, int *status)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)h->base; /* below the base it wraps: too large */
	uint32_t g;

	*status = BFIT_EINVALID;
	if (off - GRANULE >= (uintptr_t)h->granules * GRANULE) /* granules 1..granules */
		return 0;
	g = (uint32_t)(off / GRANULE);
	if (off % GRANULE || !is_start(h, g) || is_free(h, g)) {
		*status = ptr_misuse(h, off);
		return 0;
	}
	if (unlikely(!blk_checked_size(h, g, HDR_ALLOC))) {
		bfit_damage(h, "corrupted block header", blk_ptr(h, g));
		*status = BFIT_ECORRUPT;
		return 0;
	}
	*status = BFIT_OK;
	return g;
}

/* A pointer that free, realloc or usable_size refuses: misuse or damage, reported. */
static COLD void ptr_refused(struct bfit *h, int status, const char *func, const void *p)
{
	if (status == BFIT_ECORRUPT)
		damage_report(h, func);
	else
		error_report(h, status, func, p);
}

/* ------------------------------------------------------------------ */
/* the malloc family                                                   */
/* ------------------------------------------------------------------ */

void *bfit_malloc(struct bfit *h, size_t size)
{
	uint32_t m, g, n = 0;
	int placed = 0;

	HEAP_CHECK_ON_RETURN(h);
	if (unlikely(!h))
		return alloc_fail(h, BFIT_ENULL, EINVAL);
	if (unlikely(h->corrupted))
		return alloc_refused(h, "malloc");
	m = granules_for(h, size);
	g = m ? block_take(h, m, m, &n, &placed) : 0;
	if (unlikely(!g)) {
		if (h->corrupted)
			return alloc_refused(h, "malloc");
		return alloc_fail(h, BFIT_ENOMEM, ENOMEM);
	}
	if (unlikely(block_carve(h, g, n, m, 0, placed)))
		return alloc_refused(h, "malloc");
	return blk_ptr(h, g);
}

void *bfit_calloc(struct bfit *h, size_t n, size_t size)
{
	void *p;

	if (!h)
		return alloc_fail(h, BFIT_ENULL, EINVAL);
	if (unlikely(h->corrupted))
		return alloc_refused(h, "calloc");
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
	uint32_t g, n;

	HEAP_CHECK_ON_RETURN(h);
	if (unlikely(!h || !p))
		return;
	if (unlikely(h->corrupted)) {
		damage_report(h, "free");
		return;
	}
	g = ptr_block(h, p, &status);
	if (unlikely(!g)) {
		ptr_refused(h, status, "free", p);
		return;
	}
	n = blk_size(h, g);
	if (unlikely(block_release(h, g, n))) {
		damage_report(h, "free");
		return;
	}
	used_drop(h, n);
	h->frees++;
}

size_t bfit_usable_size(struct bfit *h, const void *p)
{
	int status;
	uint32_t g;

	if (!h || !p)
		return 0;
	if (unlikely(h->corrupted)) {
		damage_report(h, "malloc_usable_size");
		return 0;
	}
	g = ptr_block(h, p, &status);
	if (!g) {
		ptr_refused(h, status, "malloc_usable_size", p);
		return 0;
	}
	return (size_t)blk_size(h, g) * GRANULE - BFIT_HEADER_BYTES;
}

/*
 * Shrink the allocated block g of n granules to m < n, freeing the tail:
 * 1 done, 0 refused with nothing changed, -1 done but the tree turned out
 * damaged as the tail joined it (recorded either way when not 1).
 */
static int block_shrink(struct bfit *h, uint32_t g, uint32_t n, uint32_t m)
{
	struct neighbours nb;

	if (release_prepare(h, g + m, n - m, &nb, 0)) /* the tail's left is g, in use */
		return 0;
	*blk_hdr(h, g) = m << HDR_SHIFT | HDR_ALLOC | (*blk_hdr(h, g) & HDR_PREV_FREE);
	start_set(h, g + m);
	h->used_bytes -= (size_t)(n - m) * GRANULE;
	return release_commit(h, g + m, n - m, &nb) ? -1 : 1;
}

/*
 * Grow the allocated block g of n granules to m > n into its free right
 * neighbour: 1 done, 0 not possible, -1 damage (recorded).
 */
static int block_grow(struct bfit *h, uint32_t g, uint32_t n, uint32_t m)
{
	uint32_t next = g + n, rn;

	if (!is_free(h, next))
		return 0;
	rn = next == h->last ? h->granules + 1 - next : blk_checked_size(h, next, 0);
	if (!rn)
		return bfit_damage(h, "corrupted block header", blk_ptr(h, next));
	if (n + rn < m)
		return 0;
	if (next == h->last)
		top_drop(h, rn);
	else if (!tree_remove(h, next))
		return -1;
	start_clear(h, next);
	free_unmark(h, next);
	h->used_bytes -= (size_t)n * GRANULE; /* block_carve counts the block anew */
	h->live_allocs--;
	h->allocs--;
	return block_carve(h, g, n + rn, m, *blk_hdr(h, g) & HDR_PREV_FREE, 0) ? -1 : 1;
}

/*
 * realloc by allocating a new block, copying and freeing the old one. Once
 * the copy is made the new block is the result: damage met while freeing
 * the old one is reported, and the old one stays allocated.
 */
static void *block_move(struct bfit *h, void *p, uint32_t g, size_t size)
{
	uint32_t n = blk_size(h, g);
	size_t old = (size_t)n * GRANULE - BFIT_HEADER_BYTES;
	void *q = bfit_malloc(h, size);

	if (!q)
		return NULL;
	memcpy(q, p, old < size ? old : size);
	h->allocs--; /* a moved block is one allocation, not two */
	if (block_release(h, g, n)) {
		damage_report(h, "realloc");
		return q;
	}
	used_drop(h, n);
	return q;
}

void *bfit_realloc(struct bfit *h, void *p, size_t size)
{
	int status, grown;
	uint32_t g, n, m;

	HEAP_CHECK_ON_RETURN(h);
	if (!p)
		return bfit_malloc(h, size);
	if (!h)
		return alloc_fail(h, BFIT_ENULL, EINVAL);
	if (unlikely(h->corrupted))
		return alloc_refused(h, "realloc");
	g = ptr_block(h, p, &status);
	if (!g) {
		ptr_refused(h, status, "realloc", p);
		errno = status == BFIT_ECORRUPT ? ENOMEM : EINVAL;
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
	if (m < n) {
		int shrunk = block_shrink(h, g, n, m);
		if (shrunk == 0) /* nothing changed: p stays as it was */
			return alloc_refused(h, "realloc");
		if (shrunk < 0) /* p is shrunk; the freed tail met the damage */
			damage_report(h, "realloc");
		return p;
	}
	if (m == n)
		return p;
	grown = block_grow(h, g, n, m);
	if (grown > 0)
		return p;
	if (grown < 0)
		return alloc_refused(h, "realloc");
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
	uint32_t m, g, n = 0, k;
	int placed = 0;

	HEAP_CHECK_ON_RETURN(h);
	if (!h)
		return alloc_fail(h, BFIT_ENULL, EINVAL);
	if (unlikely(h->corrupted))
		return alloc_refused(h, "aligned_alloc");
	if (align == 0 || (align & (align - 1)))
		return alloc_fail(h, BFIT_EALIGN, EINVAL);
	if (align <= GRANULE)
		return bfit_malloc(h, size);
	m = granules_for(h, size);
	if (!m || align / GRANULE > (size_t)h->granules - m + 1)
		return alloc_fail(h, BFIT_ENOMEM, ENOMEM);
	g = block_take(h, m + (uint32_t)(align / GRANULE) - 1, 0, &n, &placed);
	if (!g) {
		if (h->corrupted)
			return alloc_refused(h, "aligned_alloc");
		return alloc_fail(h, BFIT_ENOMEM, ENOMEM);
	}
	k = granule_aligned(h, g, align);
	if (k > g) { /* the head becomes a free block of its own */
		start_set(h, k);
		if (free_block_add(h, g, k - g))
			return alloc_refused(h, "aligned_alloc");
	}
	if (block_carve(h, k, n - (k - g), m, k > g ? HDR_PREV_FREE : 0, 0))
		return alloc_refused(h, "aligned_alloc");
	return blk_ptr(h, k);
}
