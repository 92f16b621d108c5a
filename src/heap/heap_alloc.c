/* SPDX-License-Identifier: MIT */
/*
 * heap_alloc.c - the buddy heap's malloc family on the page allocator core.
 *
 * Algorithm: a request of n bytes takes a block of order
 * k = ceil(log2(ceil(n / min_block))) from the core zone, whose pages are
 * min_block bytes; when no block fits, the heap maps another chunk (see
 * heap_chunk.c) and tries once more. There is no header: the core knows
 * each block's order, and the requested size is kept as slack in a side
 * array (heap_internal.h). realloc resizes in place through the core
 * (shrinking splits off upper halves, growing absorbs free upper buddies)
 * and copies only when growing in place is impossible.
 *
 * Costs: O(max_order) per operation; a free or usable_size looks the
 * pointer up once (the zone's lookup finds the block and, as the region's
 * owner, its chunk); one map call when the heap grows; realloc that moves
 * adds a copy of the old block.
 *
 * Misuse (a pointer never handed out, a double free, an interior pointer)
 * is classified by the core before anything changes and passed to the
 * error handler; the default handler prints one line and aborts, as
 * glibc does for the same mistakes.
 *
 * Damage: the blocks carry no header, so the only values a program can
 * overwrite in them are the core's free-list links in free blocks, which
 * the core checks before following (page bytes and pair bits, out of the
 * blocks' reach, decide every hand-out). Everything else (core metadata,
 * chunk records, side bytes) lies behind a guard page (mapped chunks) or
 * before the region (fixed mode). When the core finds damage it tells the
 * heap (heap_zone_damage), the call reports it as BUDDY_ERR_CORRUPT, and
 * every later call refuses, saying so, rather than fail in confusing ways.
 *
 * Assertions name the invariants (H1..H5, heap_internal.h) they rely on;
 * with BUDDY_DEBUG >= 2 every public call ends with bheap_check.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/annotate.h"
#include "heap/heap_internal.h"

/* ------------------------------------------------------------------ */
/* configuration and set-up                                            */
/* ------------------------------------------------------------------ */

void bheap_config_default(struct bheap_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->min_block = BHEAP_MIN_BLOCK_DEFAULT;
	cfg->chunk_bytes = BHEAP_CHUNK_DEFAULT;
	cfg->retain_bytes = BHEAP_CHUNK_DEFAULT;
	cfg->cache_blocks = HEAP_CACHE_BLOCKS;
}

static int is_pow2(size_t v)
{
	return v && !(v & (v - 1));
}

static unsigned log2_ceil(size_t v)
{
	if (v <= 1)
		return 0;
	unsigned k = (unsigned)(sizeof(unsigned long long) * 8) -
		     (unsigned)__builtin_clzll((unsigned long long)(v - 1));
	return k < sizeof(size_t) * 8 - 1 ? k : (unsigned)(sizeof(size_t) * 8 - 1);
}

/* Check cfg and fill in what is left to defaults; 0 or EINVAL. */
static int config_resolve(struct bheap_config *cfg, size_t sys_page)
{
	if (!is_pow2(cfg->min_block) || cfg->min_block < BUDDY_PAGE_SIZE_MIN ||
	    cfg->min_block > HEAP_MIN_BLOCK_MAX)
		return EINVAL;
	if ((cfg->map == NULL) != (cfg->unmap == NULL))
		return EINVAL;
	if ((cfg->buffer == NULL) != (cfg->buffer_bytes == 0))
		return EINVAL;
	if (cfg->chunk_bytes > ((size_t)1 << (sizeof(size_t) * 8 - 2)))
		return EINVAL;
	if (cfg->chunk_bytes < sys_page)
		cfg->chunk_bytes = sys_page;
	cfg->chunk_bytes = (size_t)1 << log2_ceil(cfg->chunk_bytes);
	return 0;
}

/* Memory for the state struct: the buffer's start, or its own mapping. */
static struct bheap *state_place(const struct bheap_config *cfg, size_t sys_page,
				 size_t *state_bytes)
{
	*state_bytes = 0;
	if (cfg->buffer) {
		uintptr_t b = ((uintptr_t)cfg->buffer + 15) & ~(uintptr_t)15;
		size_t lost = b - (uintptr_t)cfg->buffer;
		if (cfg->buffer_bytes < lost + sizeof(struct bheap))
			return NULL;
		return (struct bheap *)b;
	}
	size_t len = (sizeof(struct bheap) + sys_page - 1) & ~(sys_page - 1);
	void *p;
	if (cfg->map) {
		p = cfg->map(cfg->map_arg, len);
	} else {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			p = NULL;
	}
	if (p)
		*state_bytes = len;
	return p;
}

/*
 * The zone's damage report (its on_error, called once, with a line
 * "buddy: OP(): WHAT at PTR"): the heap keeps WHAT and PTR, and the heap
 * call under way reports them in its own name.
 */
static void heap_zone_damage(void *arg, int kind, const char *op, const void *ptr,
			     const char *msg)
{
	const char *what = strstr(msg, "(): "), *end;
	(void)kind, (void)op;
	what = what ? what + 4 : msg;
	end = strstr(what, " at 0x");
	for (const char *e = end; e; e = strstr(e + 1, " at 0x"))
		end = e; /* the last " at " */
	char buf[sizeof(((struct bheap *)0)->damage)];
	size_t n = end ? (size_t)(end - what) : strlen(what);
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, what, n);
	buf[n] = '\0';
	bheap_damage(arg, buf, ptr);
}

void bheap_damage(struct bheap *h, const char *what, const void *at)
{
	if (h->corrupted)
		return; /* the first damage is the one to report */
	h->corrupted = 1;
	h->damage_at = at;
	snprintf(h->damage, sizeof(h->damage), "%s", what);
}

struct bheap *bheap_create(const struct bheap_config *cfg_in)
{
	struct bheap_config cfg;
	size_t sys_page = (size_t)sysconf(_SC_PAGESIZE);
	size_t state_bytes;

	if (cfg_in)
		cfg = *cfg_in;
	else
		bheap_config_default(&cfg);
	int err = config_resolve(&cfg, sys_page);
	if (err) {
		errno = err;
		return NULL;
	}
	struct bheap *h = state_place(&cfg, sys_page, &state_bytes);
	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	memset(h, 0, sizeof(*h));
	h->cfg = cfg;
	h->sys_page = sys_page;
	h->state_bytes = state_bytes;
	h->min_shift = log2_ceil(cfg.min_block);
	struct buddy_config zc;
	buddy_config_default(&zc);
	zc.page_size = cfg.min_block;
	zc.name = "Heap";
	/*
	 * Small blocks (up to 128 times the smallest, 2 KiB by default) are
	 * freed into the zone's page cache and reused from it without splitting
	 * or merging, as the per-CPU lists of Linux do for pages.
	 */
	zc.pcp_high = cfg.cache_blocks;
	zc.pcp_max_order = HEAP_CACHE_MAX_ORDER;
	zc.on_error = heap_zone_damage;
	zc.error_arg = h;
	buddy_zone_init(&h->zone, &zc);
	h->peak_footprint_bytes = bheap_footprint(h);
	if (cfg.buffer) {
		h->fixed = 1;
		if (bheap_setup_fixed(h) != BUDDY_OK) {
			errno = ENOMEM;
			return NULL;
		}
	}
	return h;
}

void bheap_destroy(struct bheap *h)
{
	if (!h)
		return;
	if (h->fixed) {
		/* The buffer goes back to its owner: a memory checker sees plain memory again. */
		annot_defined(h->cfg.buffer, h->cfg.buffer_bytes);
		return;
	}
	bheap_unmap_all(h);
	struct bheap_config cfg = h->cfg;
	size_t len = h->state_bytes;
	if (cfg.unmap)
		cfg.unmap(cfg.map_arg, h, len);
	else
		munmap(h, len);
}

#if BUDDY_DEBUG >= 2
/*
 * The expensive tier (common/debug.h): a heap a public call leaves passes
 * bheap_check, amortized over its pages. A heap whose zone has found damage
 * is left alone.
 */
static void heap_check_on_return(struct bheap **hp)
{
	const struct bheap *h = *hp;
	if (h && !h->corrupted &&
	    BUDDY_DEBUG_CHECK_DUE(h->allocs + h->frees, h->arena_bytes >> h->min_shift))
		BUDDY_ASSERT(bheap_check(h, NULL, NULL) == 0);
}
#endif
#define HEAP_CHECK_ON_RETURN(h) BUDDY_CHECK_ON_RETURN(heap_check_on_return, h)

/* ------------------------------------------------------------------ */
/* misuse                                                              */
/* ------------------------------------------------------------------ */

static COLD void error_default(const char *msg)
{
	fprintf(stderr, "%s\n", msg);
	fflush(stderr);
	abort();
}

/* The shared error kind (buddy/common.h) of the core's status for a bad pointer. */
static int error_kind(int status)
{
	switch (status) {
	case BUDDY_EDOUBLE: return BUDDY_ERR_DOUBLE;
	case BUDDY_ENOTBLOCK: return BUDDY_ERR_INTERIOR;
	case BUDDY_ECORRUPT: return BUDDY_ERR_CORRUPT;
	default: return BUDDY_ERR_INVALID; /* outside every chunk */
	}
}

/*
 * Damage: the call `op` reports what was found and where, as
 * BUDDY_ERR_CORRUPT; every call after the first says the heap was found
 * corrupted earlier and that it refuses to change.
 */
void bheap_damage_report(struct bheap *h, const char *op)
{
	char msg[200];
	snprintf(msg, sizeof(msg), "bheap: %s(): %s%s at %p", op,
		 h->damage_reported ? "heap corrupted earlier, no further changes: " : "",
		 h->damage, h->damage_at);
	h->damage_reported = 1;
	if (h->cfg.on_error)
		h->cfg.on_error(h->cfg.error_arg, BUDDY_ERR_CORRUPT, op, h->damage_at, msg);
	else
		error_default(msg);
}

/*
 * At the start of every call that could change the heap, and where a call
 * into the zone failed: a heap found damaged says so and refuses.
 */
static inline int heap_damaged(struct bheap *h, const char *op)
{
	if (likely(!h->corrupted))
		return 0;
	bheap_damage_report(h, op);
	return 1;
}

/* An allocating call refused for damage: NULL, errno ENOMEM. */
static COLD void *alloc_refused(struct bheap *h, const char *op)
{
	bheap_damage_report(h, op);
	errno = ENOMEM;
	return NULL;
}

static void misuse_report(struct bheap *h, int status, const char *op, const void *p)
{
	int kind = error_kind(status);
	char msg[160];
	snprintf(msg, sizeof(msg), "bheap: %s(): %s at %p", op, buddy_error_name(kind), p);
	h->misuse++;
	if (h->cfg.on_error)
		h->cfg.on_error(h->cfg.error_arg, kind, op, p, msg);
	else
		error_default(msg);
}

/* ------------------------------------------------------------------ */
/* accounting                                                          */
/* ------------------------------------------------------------------ */

/* A live block as the heap sees it. */
struct heap_ref {
	struct bheap_chunk *chunk; /* its chunk */
	unsigned order;            /* its order */
	size_t held;               /* block bytes */
	size_t requested;          /* bytes asked for */
};

static void account_add(struct bheap *h, struct heap_ref *r)
{
	BUDDY_ASSERT(r->requested <= r->held); /* H4 */
	if (r->chunk->held_bytes == 0)
		bheap_idle_remove(h, r->chunk);
	r->chunk->held_bytes += r->held;
	h->held_bytes += r->held;
	h->requested_bytes += r->requested;
	if (h->held_bytes > h->peak_held_bytes)
		h->peak_held_bytes = h->held_bytes;
	if (h->requested_bytes > h->peak_requested_bytes)
		h->peak_requested_bytes = h->requested_bytes;
	if (!h->smallest_block || r->held < h->smallest_block)
		h->smallest_block = r->held;
	if (r->held > h->largest_block)
		h->largest_block = r->held;
}

static void account_sub(struct bheap *h, const struct heap_ref *r)
{
	/* H2, H4: the block was counted in its chunk and in the heap. */
	BUDDY_ASSERT(r->chunk->held_bytes >= r->held && h->requested_bytes >= r->requested);
	r->chunk->held_bytes -= r->held;
	if (r->chunk->held_bytes == 0)
		bheap_idle_add(h, r->chunk);
	h->held_bytes -= r->held;
	h->requested_bytes -= r->requested;
}

/* Order of the block for `size` bytes; -1 when no block can be that large. */
static HOT_INLINE int size_order(const struct bheap *h, size_t size)
{
	size_t pages = size ? ((size - 1) >> h->min_shift) + 1 : 1;
	unsigned k = log2_ceil(pages);
	if (((size_t)1 << k) < pages || k > BUDDY_MAX_ORDER ||
	    k + h->min_shift >= sizeof(size_t) * 8 - 1)
		return -1;
	return (int)k;
}

/* The live block p as the zone's lookup found it (info), for the heap. */
static HOT_INLINE int block_ref(struct bheap *h, const void *p,
				const struct buddy_alloc_info *info, struct heap_ref *r)
{
	r->chunk = info->owner;
	if (!r->chunk) { /* H1: every region has its chunk */
		bheap_damage(h, "chunk record missing for the block", p);
		return BUDDY_ECORRUPT;
	}
	r->order = log2_ceil(info->nr_pages);
	r->held = info->nr_pages << h->min_shift;
	r->requested = r->held - bheap_side_read(h, r->chunk, (uintptr_t)p, r->order);
	return 0;
}

/*
 * Look p up: 0 with *r filled in, or the core's status for a pointer that
 * does not start a live block.
 */
static int block_lookup(struct bheap *h, const void *p, struct heap_ref *r)
{
	struct buddy_alloc_info info;
	int st = buddy_alloc_info(&h->zone, p, &info);
	return st ? st : block_ref(h, p, &info, r);
}

/* ------------------------------------------------------------------ */
/* allocation and free                                                 */
/* ------------------------------------------------------------------ */

/*
 * A block of `order` for `requested` bytes, growing the heap if needed;
 * op names the public call, for a damage report.
 */
static void *block_alloc(struct bheap *h, int order, size_t requested, const char *op)
{
	if (order < 0) {
		h->failures++;
		errno = ENOMEM;
		return NULL;
	}
	void *p = buddy_alloc_pages(&h->zone, (unsigned)order, 0);
	if (unlikely(!p)) {
		if (!h->corrupted && bheap_grow(h, (unsigned)order) == BUDDY_OK)
			p = buddy_alloc_pages(&h->zone, (unsigned)order, 0);
		if (!p) {
			if (h->corrupted)
				return alloc_refused(h, op);
			h->failures++;
			errno = ENOMEM;
			return NULL;
		}
	}
	struct heap_ref r = { buddy_region_owner(&h->zone, p), (unsigned)order,
			      (size_t)h->cfg.min_block << order, requested };
	BUDDY_ASSERT(r.chunk != NULL); /* H1 */
	bheap_side_write(h, r.chunk, (uintptr_t)p, r.order, r.held - requested);
	account_add(h, &r);
	h->live_allocs++;
	if (h->live_allocs > h->peak_live_allocs)
		h->peak_live_allocs = h->live_allocs;
	h->allocs++;
	return p;
}

/*
 * The live block r is gone: count it out; wholly free chunks may go back
 * (the zone may find damage there: the call op reports it).
 */
static void block_forget(struct bheap *h, const struct heap_ref *r, const char *op)
{
	BUDDY_ASSERT(h->live_allocs > 0); /* H4 */
	account_sub(h, r);
	h->live_allocs--;
	h->frees++;
	bheap_release_idle(h, op);
}

/* Free the live block p described by r (found by an earlier lookup). */
static void block_free(struct bheap *h, void *p, const struct heap_ref *r, const char *op)
{
	if (buddy_free_pages(&h->zone, p, r->order) != BUDDY_OK && heap_damaged(h, op))
		return;
	block_forget(h, r, op);
}

void *bheap_malloc(struct bheap *h, size_t size)
{
	HEAP_CHECK_ON_RETURN(h);
	if (unlikely(!h)) {
		errno = EINVAL;
		return NULL;
	}
	if (unlikely(h->corrupted))
		return alloc_refused(h, "malloc");
	return block_alloc(h, size_order(h, size), size, "malloc");
}

void *bheap_calloc(struct bheap *h, size_t n, size_t size)
{
	HEAP_CHECK_ON_RETURN(h);
	if (!h) {
		errno = EINVAL;
		return NULL;
	}
	if (unlikely(h->corrupted))
		return alloc_refused(h, "calloc");
	if (size && n > SIZE_MAX / size) {
		h->failures++;
		errno = ENOMEM;
		return NULL;
	}
	void *p = block_alloc(h, size_order(h, n * size), n * size, "calloc");
	if (p)
		memset(p, 0, n * size);
	return p;
}

/*
 * One lookup: the zone frees the block and says what it was and whose. A
 * failure is misuse, or damage the zone met (then the heap is corrupted).
 */
void bheap_free(struct bheap *h, void *p)
{
	struct buddy_alloc_info info;
	struct heap_ref r;

	HEAP_CHECK_ON_RETURN(h);
	if (unlikely(!h || !p) || heap_damaged(h, "free"))
		return;
	int st = buddy_free_info(&h->zone, p, &info);
	if (likely(!st))
		st = block_ref(h, p, &info, &r);
	if (unlikely(st)) {
		if (!heap_damaged(h, "free"))
			misuse_report(h, st, "free", p);
		return;
	}
	block_forget(h, &r, "free");
}

size_t bheap_usable_size(struct bheap *h, const void *p)
{
	struct heap_ref r;

	if (!h || !p || heap_damaged(h, "malloc_usable_size"))
		return 0;
	int st = block_lookup(h, p, &r);
	if (st) {
		if (!heap_damaged(h, "malloc_usable_size"))
			misuse_report(h, st, "malloc_usable_size", p);
		return 0;
	}
	return r.held;
}

/* ------------------------------------------------------------------ */
/* realloc                                                             */
/* ------------------------------------------------------------------ */

/* Give the live block p (described by r) order k for `size` bytes in place. */
static int block_resize(struct bheap *h, void *p, struct heap_ref *r, unsigned k, size_t size)
{
	if (k != r->order && buddy_resize(&h->zone, p, k) != BUDDY_OK)
		return -1;
	account_sub(h, r);
	r->order = k;
	r->held = (size_t)h->cfg.min_block << k;
	r->requested = size;
	bheap_side_write(h, r->chunk, (uintptr_t)p, k, r->held - size);
	account_add(h, r);
	h->reallocs_in_place++;
	return 0;
}

void *bheap_realloc(struct bheap *h, void *p, size_t size)
{
	struct heap_ref r;

	HEAP_CHECK_ON_RETURN(h);
	if (!h) {
		errno = EINVAL;
		return NULL;
	}
	if (!p)
		return bheap_malloc(h, size);
	if (unlikely(h->corrupted))
		return alloc_refused(h, "realloc");
	int st = block_lookup(h, p, &r);
	if (st) {
		if (h->corrupted)
			return alloc_refused(h, "realloc");
		misuse_report(h, st, "realloc", p);
		errno = EINVAL;
		return NULL;
	}
	if (size == 0) {
		block_free(h, p, &r, "realloc");
		return NULL;
	}
	int k = size_order(h, size);
	if (k < 0) {
		h->failures++;
		errno = ENOMEM;
		return NULL;
	}
	if (block_resize(h, p, &r, (unsigned)k, size) == 0)
		return p;
	if (h->corrupted)
		return alloc_refused(h, "realloc");
	void *q = block_alloc(h, k, size, "realloc");
	if (!q)
		return NULL;
	memcpy(q, p, r.held);
	h->allocs--; /* a move is not a new allocation ... */
	block_free(h, p, &r, "realloc");
	h->frees--; /* ... nor a free */
	h->reallocs_moved++;
	return q;
}

/* ------------------------------------------------------------------ */
/* aligned allocation                                                  */
/* ------------------------------------------------------------------ */

/*
 * Every block is aligned to its own size (chunks are aligned to theirs),
 * so a block of at least `align` bytes is aligned to align. In fixed mode
 * only up to the region base's alignment.
 */
static void *aligned_block(struct bheap *h, size_t align, size_t size, int *err,
			   const char *op)
{
	if (!is_pow2(align)) {
		*err = EINVAL;
		return NULL;
	}
	if (h->fixed && align > h->fixed_align) {
		*err = EINVAL;
		return NULL;
	}
	if (heap_damaged(h, op)) {
		*err = ENOMEM;
		return NULL;
	}
	int k = size_order(h, size > align ? size : align);
	void *p = block_alloc(h, k, size, op);
	*err = p ? 0 : ENOMEM;
	return p;
}

void *bheap_aligned_alloc(struct bheap *h, size_t align, size_t size)
{
	int err;

	HEAP_CHECK_ON_RETURN(h);
	if (!h) {
		errno = EINVAL;
		return NULL;
	}
	void *p = aligned_block(h, align, size, &err, "aligned_alloc");
	if (!p)
		errno = err;
	return p;
}

int bheap_posix_memalign(struct bheap *h, void **out, size_t align, size_t size)
{
	int err, saved = errno;

	HEAP_CHECK_ON_RETURN(h);
	if (!h || !out || align % sizeof(void *))
		return EINVAL;
	void *p = aligned_block(h, align, size, &err, "posix_memalign");
	errno = saved;
	if (p)
		*out = p;
	return err;
}
