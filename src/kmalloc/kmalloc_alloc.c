/* SPDX-License-Identifier: MIT */
/*
 * kmalloc_alloc.c - the kmalloc heap's malloc family.
 *
 * Size classes: every 16 bytes up to 128, then class_steps classes per
 * doubling (128 < 160 < 192 < 224 < 256 < 320 ... with 4 steps), up to
 * max_class_bytes. A request up to max_class_bytes takes its class from a table (one
 * load: by size / 16 up to 1 KiB, by (size - 1) / 128 above) and an object
 * from that class's slab cache, inline (slab/slab_internal.h). Classes that
 * are powers of two keep their objects aligned to their size, so
 * aligned_alloc is served by the power-of-two class of at least the
 * alignment. A larger request is an exact run of zone pages (Linux's
 * alloc_pages_exact); one of at least huge_bytes is a mapping of its own.
 *
 * free(p) finds p's arena (a hint, else bisection), reads the page map
 * byte of p's page, and for a slab page frees into that cache's slab found
 * by masking p: O(1), with the object checks of the slab layer (bounds,
 * boundary, in-use bit) telling an invalid, interior or double free apart
 * before anything changes.
 *
 * Costs: malloc and free of a small block O(1) (a slab from the zone when a
 * cache needs one: O(max_order)); runs O(max_order + pages / 64) for the
 * page map and resident bits; huge blocks one mmap or munmap.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/annotate.h"
#include "common/fmt.h"
#include "kmalloc/kmalloc_internal.h"
#include "slab/slab_internal.h"

/* ------------------------------------------------------------------ */
/* errors                                                              */
/* ------------------------------------------------------------------ */

static COLD void deliver(struct bkm_heap *h, int kind,
						     const char *op, const void *p,
						     const char *msg)
{
	h->misuse++;
	h->corrupted |= kind == BUDDY_ERR_CORRUPT;
	if (h->cfg.on_error) {
		h->cfg.on_error(h->cfg.error_arg, kind, op, p, msg);
		return;
	}
	fprintf(stderr, "%s\n", msg);
	fflush(stderr);
	abort();
}

/* "bkm: free(): double free at 0x1000" */
void bkm_report(struct bkm_heap *h, int kind, const char *op, const void *p)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "bkm: %s(): %s at %p", op, buddy_error_name(kind), p);
	deliver(h, kind, op, p, msg);
}

/*
 * A slab cache found its own data damaged (the heap frees through the
 * inline paths, so misuse never reaches here): report it as the heap's.
 */
static void slab_error(void *arg, int kind, const char *op, const void *ptr, const char *msg)
{
	struct bkm_heap *h = arg;
	char line[256];
	snprintf(line, sizeof(line), "bkm: %s", strncmp(msg, "bslab: ", 7) ? msg : msg + 7);
	deliver(h, kind, op, ptr, line);
}

#if BUDDY_DEBUG >= 2
/*
 * The expensive tier (common/debug.h): the heap a public call leaves must
 * pass bkm_check, every call while it is small and about every n / 256 + 1
 * calls for n units (arena pages, each worth up to 16 objects).
 */
static void heap_check_on_return(struct bkm_heap **hp)
{
	struct bkm_heap *h = *hp;
	if (h && !h->corrupted &&
	    BUDDY_DEBUG_CHECK_DUE(h->debug_calls++, (h->arena_bytes >> h->page_shift) << 4))
		BUDDY_ASSERT(bkm_check(h, NULL, NULL) == 0);
}
#endif
#define HEAP_CHECK_ON_RETURN(h) BUDDY_CHECK_ON_RETURN(heap_check_on_return, h)

/* ------------------------------------------------------------------ */
/* the slab caches' page source                                        */
/* ------------------------------------------------------------------ */

static uint8_t class_code(const struct bkm_heap *h, const struct bslab_cache *c)
{
	return (uint8_t)(1 + (c - h->caches));
}

/*
 * The caches' page source works on the zone, the arenas and the page map:
 * under cfg.page_lock when a caller locks each class on its own.
 */
static void pages_lock(const struct bkm_heap *h)
{
	if (h->cfg.page_lock)
		h->cfg.page_lock(h->cfg.lock_arg);
}

static void pages_unlock(const struct bkm_heap *h)
{
	if (h->cfg.page_unlock)
		h->cfg.page_unlock(h->cfg.lock_arg);
}

static void *slab_pages(void *arg, struct bslab_cache *c, unsigned order)
{
	struct bkm_heap *h = arg;
	uint8_t small = order == c->order ? 0 : KM_PG_SMALL;
	pages_lock(h);
	void *p = bkm_pages_alloc(h, 0, order, (uint8_t)(class_code(h, c) | small));
	pages_unlock(h);
	return p;
}

static void slab_pages_free(void *arg, struct bslab_cache *c, void *block, unsigned order)
{
	struct bkm_heap *h = arg;
	(void)c;
	pages_lock(h);
	bkm_pages_free(h, bkm_arena_of(h, (uintptr_t)block), block, 0, order);
	pages_unlock(h);
}

static int slab_pages_owned(void *arg, const struct bslab_cache *c, const void *block)
{
	struct bkm_heap *h = arg;
	pages_lock(h);
	struct bkm_arena *a = bkm_arena_of(h, (uintptr_t)block);
	unsigned code = a ? a->map[bkm_page_index(h, a, (uintptr_t)block)] : KM_PG_FREE;
	pages_unlock(h);
	if ((code & ~KM_PG_SMALL) != class_code(h, c) || bkm_code_slab(c, code, block) != block)
		return 0;
	return 1 + (int)((code & KM_PG_SMALL) ? c->small_order : c->order);
}

static void slab_log(void *arg, const struct bslab_event *ev)
{
	struct bkm_heap *h = arg;
	bkm_event(h, ev->kind == BSLAB_EV_NEW_SLAB ? BKM_EV_SLAB_NEW : BKM_EV_SLAB_FREE, ev->slab,
		 (size_t)1 << (h->page_shift + ev->order), ev->order, ev->cache->name);
}

/* ------------------------------------------------------------------ */
/* size classes                                                        */
/* ------------------------------------------------------------------ */

static int is_pow2(size_t v)
{
	return v && !(v & (v - 1));
}

/* The class sizes for the configuration, ascending; returns how many. */
static unsigned class_sizes(const struct bkm_config *cfg, size_t *out)
{
	unsigned n = 0;
	for (size_t s = KM_SMALL_STEP; s <= KM_LINEAR_MAX; s += KM_SMALL_STEP)
		out[n++] = s;
	for (size_t b = KM_LINEAR_MAX; b < cfg->max_class_bytes; b *= 2)
		for (unsigned i = 1; i <= cfg->class_steps; i++) {
			size_t s = (b + b * i / cfg->class_steps + 15) & ~(size_t)15;
			if (s > out[n - 1] && n < BKM_CLASSES_MAX)
				out[n++] = s;
		}
	return n;
}

/* "kmalloc-96", "kmalloc-2k", as Linux names its caches: with the freestanding
 * formatter (every process start names 40 caches; snprintf cost 750
 * instructions a name, this about 290). */
static void class_name(char *buf, size_t len, size_t size)
{
	if (size >= 1024 && size % 1024 == 0)
		buddy_fmt(buf, len, "kmalloc-%zuk", size / 1024);
	else
		buddy_fmt(buf, len, "kmalloc-%zu", size);
}

/* splitmix64 (Steele, Lea, Flood, 2014), to spread one seed over the caches. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Create every class's cache and fill the lookup tables. 0 or EINVAL. */
static int classes_setup(struct bkm_heap *h, const size_t *sizes)
{
	h->hooks.page_alloc = slab_pages;
	h->hooks.page_free = slab_pages_free;
	h->hooks.page_owned = slab_pages_owned;
	h->hooks.on_error = slab_error;
	h->hooks.log = slab_log;
	h->hooks.arg = h;
	for (unsigned i = 0; i < h->nr_classes; i++) {
		struct bslab_config sc;
		char name[BSLAB_NAME_MAX];
		bslab_config_default(&sc);
		class_name(name, sizeof(name), sizes[i]);
		sc.name = name;
		sc.size = sizes[i];
		/* Powers of two are aligned to their size (free: the header fills a slot). */
		sc.align = is_pow2(sizes[i]) ? sizes[i] : KM_SMALL_STEP;
		/* Classes above 2 KiB have slabs of 8 to 32 KiB holding a few objects:
		 * an empty one kept would be much memory for little; none is. */
		sc.reserve = sizes[i] > KM_RESERVE_MAX_CLASS ? 0 : h->cfg.slab_reserve;
		sc.small_slabs = h->cfg.small_slabs;
		sc.waste_shift = h->cfg.slab_waste_shift;
		/* Within max_slab_bytes (or the smallest slab holding an object, if larger). */
		sc.max_order = 0;
		while ((h->cfg.page_size << (sc.max_order + 1)) <= h->cfg.max_slab_bytes)
			sc.max_order++;
		sc.min_order = 0;
		while ((h->cfg.page_size << sc.min_order) < h->cfg.min_slab_bytes &&
		       sc.min_order < sc.max_order)
			sc.min_order++;
		sc.random = mix64(h->cfg.random + i);
		sc.hooks = &h->hooks;
		if (bslab_cache_create(&h->caches[i], &h->zone, &sc) != BSLAB_OK)
			return EINVAL;
	}
	unsigned c = 0;
	for (size_t k = 0; k <= KM_TAB1_MAX / KM_SMALL_STEP; k++) {
		while (sizes[c] < k * KM_SMALL_STEP)
			c++;
		h->tab1[k] = (uint8_t)c;
	}
	c = 0; /* the sizes ascend: one pass */
	for (size_t j = 0; ((j + 1) << KM_TAB2_SHIFT) <= h->max_class_bytes; j++) {
		size_t top = (j + 1) << KM_TAB2_SHIFT;
		while (sizes[c] < top)
			c++;
		h->tab2[j] = (uint8_t)c;
	}
	return 0;
}

size_t bkm_class_size(const struct bkm_heap *h, size_t size)
{
	if (!h || size > h->max_class_bytes)
		return 0;
	return h->caches[bkm_class(h, size)].size;
}

/* ------------------------------------------------------------------ */
/* configuration, creation                                             */
/* ------------------------------------------------------------------ */

void bkm_config_default(struct bkm_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->page_size = BKM_PAGE_DEFAULT;
	cfg->max_class_bytes = BKM_MAX_CLASS_DEFAULT;
	cfg->class_steps = BKM_CLASS_STEPS_DEFAULT;
	cfg->huge_bytes = BKM_HUGE_DEFAULT;
	cfg->arena_bytes = BKM_ARENA_DEFAULT;
	cfg->populate_bytes = BKM_POPULATE_DEFAULT;
	cfg->retain_bytes = BKM_RETAIN_DEFAULT;
	cfg->release_min_bytes = BKM_RELEASE_MIN_DEFAULT;
	cfg->slab_reserve = BSLAB_RESERVE_DEFAULT;
	cfg->min_slab_bytes = BKM_MIN_SLAB_DEFAULT;
	cfg->max_slab_bytes = BKM_MAX_SLAB_DEFAULT;
	cfg->small_slabs = BKM_SMALL_SLABS_DEFAULT;
	cfg->slab_waste_shift = BKM_WASTE_SHIFT_DEFAULT;
	cfg->zone_pcp_high = BKM_ZONE_PCP_HIGH_DEFAULT;
}

static unsigned log2_of(size_t v)
{
	return (unsigned)__builtin_ctzll((unsigned long long)v);
}

/* Check cfg and fill in what is left to defaults; 0 or EINVAL. */
static int config_resolve(struct bkm_config *cfg, size_t sys_page)
{
	if (!is_pow2(cfg->page_size) || cfg->page_size < 256 || cfg->page_size > 65536)
		return EINVAL;
	if (!is_pow2(cfg->max_class_bytes) || cfg->max_class_bytes < 1024 || cfg->max_class_bytes > 65536)
		return EINVAL;
	if (cfg->class_steps != 2 && cfg->class_steps != 4 && cfg->class_steps != 8)
		return EINVAL;
	if (cfg->huge_bytes <= cfg->max_class_bytes)
		return EINVAL;
	if ((cfg->map == NULL) != (cfg->unmap == NULL) ||
	    (cfg->page_lock == NULL) != (cfg->page_unlock == NULL) ||
	    (cfg->buffer == NULL) != (cfg->buffer_bytes == 0))
		return EINVAL;
	if (cfg->arena_bytes > ((size_t)1 << 40) || cfg->small_slabs > 255 ||
	    cfg->slab_reserve > 255 || !cfg->slab_waste_shift || cfg->slab_waste_shift > 16)
		return EINVAL;
	size_t min_arena = (size_t)1 << 16;
	if (min_arena < sys_page)
		min_arena = sys_page;
	if (cfg->arena_bytes < min_arena)
		cfg->arena_bytes = min_arena;
	while (!is_pow2(cfg->arena_bytes))
		cfg->arena_bytes &= cfg->arena_bytes - 1; /* down to the top bit ... */
	if (cfg->arena_bytes < min_arena)
		cfg->arena_bytes = min_arena;
	if (!cfg->random && getrandom(&cfg->random, sizeof(cfg->random), GRND_NONBLOCK) !=
				    (ssize_t)sizeof(cfg->random))
		cfg->random = mix64((uint64_t)(uintptr_t)cfg ^ (uint64_t)getpid());
	return 0;
}

/* Memory for the state: the buffer's start, or a mapping of its own. */
static struct bkm_heap *state_place(const struct bkm_config *cfg, size_t bytes, size_t sys_page,
				    size_t *state_bytes)
{
	*state_bytes = 0;
	if (cfg->buffer) {
		uintptr_t b = ((uintptr_t)cfg->buffer + 63) & ~(uintptr_t)63;
		if (cfg->buffer_bytes < (b - (uintptr_t)cfg->buffer) + bytes)
			return NULL;
		memset((void *)b, 0, bytes);
		return (struct bkm_heap *)b;
	}
	size_t len = (bytes + sys_page - 1) & ~(sys_page - 1);
	void *p = cfg->map ? cfg->map(cfg->map_arg, len)
			   : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);
	if (p == MAP_FAILED || !p)
		return NULL;
	if (cfg->map)
		memset(p, 0, len);
	*state_bytes = len;
	return p;
}

static void state_unmap(struct bkm_heap *h)
{
	if (!h->state_bytes)
		return;
	struct bkm_config cfg = h->cfg;
	size_t len = h->state_bytes;
	if (cfg.unmap)
		cfg.unmap(cfg.map_arg, h, len);
	else
		munmap(h, len);
}

struct bkm_heap *bkm_create(const struct bkm_config *cfg_in)
{
	struct bkm_config cfg;
	size_t sizes[BKM_CLASSES_MAX];
	size_t sys_page = (size_t)sysconf(_SC_PAGESIZE), state_bytes;

	if (cfg_in)
		cfg = *cfg_in;
	else
		bkm_config_default(&cfg);
	int err = config_resolve(&cfg, sys_page);
	if (err) {
		errno = err;
		return NULL;
	}
	unsigned n = class_sizes(&cfg, sizes);
	size_t head = (sizeof(struct bkm_heap) + 63) & ~(size_t)63;
	struct bkm_heap *h = state_place(&cfg, head + n * sizeof(struct bslab_cache), sys_page,
					 &state_bytes);
	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	h->cfg = cfg;
	h->state_bytes = state_bytes;
	h->caches = (struct bslab_cache *)((char *)h + head);
	h->nr_classes = n;
	h->max_class_bytes = cfg.max_class_bytes;
	h->page_shift = log2_of(cfg.page_size);
	h->sys_page = sys_page;
	h->sys_shift = log2_of(sys_page);
	h->fixed = cfg.buffer != NULL;
	err = bkm_setup(h);
	if (!err)
		err = classes_setup(h, sizes);
	if (err) {
		bkm_teardown(h);
		state_unmap(h);
		errno = err;
		return NULL;
	}
	h->peak_footprint = bkm_footprint(h);
	return h;
}

void bkm_destroy(struct bkm_heap *h)
{
	if (!h)
		return;
	bkm_teardown(h);
	if (h->fixed) {
		/* The buffer goes back to its owner: a memory checker sees plain memory again. */
		annot_defined(h->cfg.buffer, h->cfg.buffer_bytes);
		return;
	}
	state_unmap(h);
}

/* ------------------------------------------------------------------ */
/* looking a pointer up                                                */
/* ------------------------------------------------------------------ */

/* A live block as the heap sees it. */
struct bkm_ref {
	enum bkm_block_kind kind;
	struct bslab_cache *cache; /* SMALL */
	struct bslab_slab *slab;   /* SMALL */
	struct bkm_arena *arena;    /* SMALL, LARGE */
	size_t pages;              /* LARGE */
	struct bkm_huge *huge;      /* HUGE */
	size_t size;               /* usable bytes */
};

/* Why p, in arena a on a page the heap does not hold, is no block. */
static int classify_free_page(struct bkm_heap *h, const void *p)
{
	/* The zone knows whether the page lies in a free block (freed before). */
	if (buddy_alloc_size(&h->zone, p) == 0 && buddy_last_error(&h->zone) == BUDDY_EDOUBLE)
		return BUDDY_ERR_DOUBLE;
	return BUDDY_ERR_INVALID;
}

/* Fill *r for the live block starting at p; 0, or the error kind. */
static int lookup(struct bkm_heap *h, const void *p, struct bkm_ref *r)
{
	uintptr_t a = (uintptr_t)p;
	struct bkm_arena *ar = bkm_arena_of(h, a);
	memset(r, 0, sizeof(*r));
	if (!ar) {
		struct bkm_huge *e = bkm_huge_find(h, a);
		if (!e)
			return BUDDY_ERR_INVALID;
		if (e->addr != a)
			return BUDDY_ERR_INTERIOR;
		r->kind = BKM_BLOCK_HUGE;
		r->huge = e;
		r->size = e->bytes;
		return 0;
	}
	r->arena = ar;
	size_t idx = bkm_page_index(h, ar, a);
	uint8_t code = ar->map[idx];
	if (code == KM_PG_FREE)
		return classify_free_page(h, p);
	if (code == KM_PG_TAIL || (code == KM_PG_RUN && (a & (((size_t)1 << h->page_shift) - 1))))
		return BUDDY_ERR_INTERIOR;
	if (code == KM_PG_RUN) {
		r->kind = BKM_BLOCK_LARGE;
		r->pages = buddy_alloc_size(&h->zone, p);
		r->size = r->pages << h->page_shift;
		return r->pages ? 0 : BUDDY_ERR_CORRUPT;
	}
	struct bslab_cache *c = bkm_code_cache(h, code);
	if (!c)
		return BUDDY_ERR_CORRUPT;
	struct bslab_slab *s = bkm_code_slab(c, code, p);
	if (s->cache != c)
		return BUDDY_ERR_CORRUPT;
	uintptr_t off = a - bslab_objs_base(c, s);
	size_t i = bslab_index(c, off);
	int kind = 0;
	/* (bslab_free_in's tests, and more: a pointer found here frees there) */
	if (off >= (uintptr_t)s->objs * c->stride || i >= s->carved || s->carved > c->objs)
		kind = BUDDY_ERR_INVALID;
	else if (i * c->stride != off)
		kind = BUDDY_ERR_INTERIOR;
	else if (!bslab_bit(s, i))
		kind = BUDDY_ERR_DOUBLE;
	/* The caller is blamed only if the slab's header holds together. */
	if (kind && bslab_slab_damaged(c, s)) {
		bslab_stop(c);
		return BUDDY_ERR_CORRUPT;
	}
	if (kind)
		return kind;
	r->kind = BKM_BLOCK_SMALL;
	r->cache = c;
	r->slab = s;
	r->size = c->size;
	return 0;
}

/* Free the block r describes (found by lookup). */
static void ref_free(struct bkm_heap *h, void *p, const struct bkm_ref *r)
{
	if (r->kind == BKM_BLOCK_SMALL) {
		/* lookup made the same tests: this fails only in a cache that
		 * stopped on damage, and the refusal is said, not swallowed */
		if (bslab_free_in(r->cache, r->slab, p) != BSLAB_OK)
			bkm_report(h, BUDDY_ERR_CORRUPT, "free", p);
	} else if (r->kind == BKM_BLOCK_LARGE) {
		h->large_allocs--;
		h->large_bytes -= r->size;
		h->large_frees++;
		bkm_event(h, BKM_EV_RUN_FREE, p, r->size, 0, NULL);
		bkm_pages_free(h, r->arena, p, r->pages, 0);
	} else {
		/* Found again: an allocation since the lookup may have moved the records. */
		bkm_huge_free(h, bkm_huge_find(h, (uintptr_t)p));
	}
}

/* ------------------------------------------------------------------ */
/* allocation                                                          */
/* ------------------------------------------------------------------ */

static NOINLINE void *no_memory(struct bkm_heap *h)
{
	h->failures++;
	errno = ENOMEM;
	return NULL;
}

/* A run of pages for n bytes, or a huge block; aligned to `align` (0: any). */
static NOINLINE void *alloc_large(struct bkm_heap *h, size_t n, size_t align)
{
	if (n >= h->cfg.huge_bytes || align >= h->cfg.huge_bytes) {
		void *p = bkm_huge_alloc(h, n, align);
		return p ? p : no_memory(h);
	}
	size_t pages = (n + ((size_t)1 << h->page_shift) - 1) >> h->page_shift;
	void *p;
	if (align > ((size_t)1 << h->page_shift)) {
		/* A block of a power of two pages is aligned to its size. */
		unsigned order = 0;
		while (((size_t)1 << order) < pages ||
		       ((size_t)1 << (order + h->page_shift)) < align)
			order++;
		pages = (size_t)1 << order;
	}
	p = bkm_pages_alloc(h, pages, 0, KM_PG_RUN);
	if (!p)
		return no_memory(h);
	h->large_allocs++;
	h->large_bytes += pages << h->page_shift;
	h->large_count++;
	bkm_event(h, BKM_EV_RUN, p, pages << h->page_shift, 0, NULL);
	return p;
}

void *bkm_malloc(struct bkm_heap *h, size_t size)
{
	HEAP_CHECK_ON_RETURN(h);
	if (likely(h && size <= h->max_class_bytes)) {
		void *p = bslab_alloc_fast(&h->caches[bkm_class(h, size)], 0);
		return likely(p != NULL) ? p : no_memory(h);
	}
	if (!h) {
		errno = EINVAL;
		return NULL;
	}
	return alloc_large(h, size, 0);
}

void *bkm_calloc(struct bkm_heap *h, size_t n, size_t size)
{
	HEAP_CHECK_ON_RETURN(h);
	if (!h) {
		errno = EINVAL;
		return NULL;
	}
	if (size && n > SIZE_MAX / size)
		return no_memory(h);
	size_t bytes = n * size;
	if (bytes <= h->max_class_bytes) {
		void *p = bslab_alloc_fast(&h->caches[bkm_class(h, bytes)], BSLAB_ZERO);
		return p ? p : no_memory(h);
	}
	void *p = alloc_large(h, bytes, 0);
	/* A fresh mapping is zero already. */
	if (p && bytes < h->cfg.huge_bytes)
		memset(p, 0, bytes);
	return p;
}

/* ------------------------------------------------------------------ */
/* free                                                                */
/* ------------------------------------------------------------------ */

static NOINLINE void free_slow(struct bkm_heap *h, void *p)
{
	struct bkm_ref r;
	int kind = lookup(h, p, &r);
	if (kind) {
		bkm_report(h, kind, "free", p);
		return;
	}
	ref_free(h, p, &r);
}

/* Free the run starting at p in arena ar (its first page reads KM_PG_RUN). */
static NOINLINE void free_run(struct bkm_heap *h, struct bkm_arena *ar, void *p)
{
	struct bkm_ref r = { BKM_BLOCK_LARGE, NULL, NULL, ar, 0, NULL, 0 };
	r.pages = buddy_alloc_size(&h->zone, p);
	if (!r.pages) {
		bkm_report(h, BUDDY_ERR_CORRUPT, "free", p);
		return;
	}
	r.size = r.pages << h->page_shift;
	ref_free(h, p, &r);
}

/*
 * The arena (hint, else bisection), its page map byte, and then a slab
 * object freed inline or a run; anything else (a huge block, a bad
 * pointer) takes the checked path, which names the problem.
 */
void bkm_free(struct bkm_heap *h, void *p)
{
	HEAP_CHECK_ON_RETURN(h);
	if (unlikely(!h || !p))
		return;
	uintptr_t a = (uintptr_t)p;
	struct bkm_arena *ar = bkm_arena_of(h, a);
	if (likely(ar != NULL)) {
		unsigned code = ar->map[(a - ar->base) >> h->page_shift];
		struct bslab_cache *c = bkm_code_cache(h, code);
		if (likely(c != NULL)) {
			struct bslab_slab *s = bkm_code_slab(c, code, p);
			if (likely(s->cache == c && bslab_free_in(c, s, p) == BSLAB_OK))
				return;
		} else if (code == KM_PG_RUN && !(a & (((size_t)1 << h->page_shift) - 1))) {
			free_run(h, ar, p);
			return;
		}
	}
	free_slow(h, p);
}

size_t bkm_usable_size(struct bkm_heap *h, const void *p)
{
	struct bkm_ref r;
	if (!h || !p)
		return 0;
	int kind = lookup(h, p, &r);
	if (kind) {
		bkm_report(h, kind, "malloc_usable_size", p);
		return 0;
	}
	return r.size;
}

/* ------------------------------------------------------------------ */
/* realloc                                                             */
/* ------------------------------------------------------------------ */

/* Can the block r stay where it is for `size` bytes? */
static int fits_in_place(const struct bkm_heap *h, const struct bkm_ref *r, size_t size)
{
	if (r->kind == BKM_BLOCK_SMALL)
		return size <= h->max_class_bytes && &h->caches[bkm_class(h, size)] == r->cache;
	if (r->kind == BKM_BLOCK_LARGE) {
		size_t pages = (size + ((size_t)1 << h->page_shift) - 1) >> h->page_shift;
		return size > h->max_class_bytes && size < h->cfg.huge_bytes && pages <= r->pages &&
		       pages * 2 >= r->pages;
	}
	return 0;
}

void *bkm_realloc(struct bkm_heap *h, void *p, size_t size)
{
	HEAP_CHECK_ON_RETURN(h);
	struct bkm_ref r;
	if (!h) {
		errno = EINVAL;
		return NULL;
	}
	if (!p)
		return bkm_malloc(h, size);
	int kind = lookup(h, p, &r);
	if (kind) {
		bkm_report(h, kind, "realloc", p);
		errno = EINVAL;
		return NULL;
	}
	if (size == 0) {
		ref_free(h, p, &r);
		return NULL;
	}
	if (fits_in_place(h, &r, size)) {
		h->reallocs_in_place++;
		return p;
	}
	if (r.kind == BKM_BLOCK_HUGE && size >= h->cfg.huge_bytes / 2) {
		void *q = bkm_huge_resize(h, r.huge, size);
		if (q) {
			h->reallocs_in_place += q == p;
			h->reallocs_moved += q != p;
			return q;
		}
	}
	void *q = bkm_malloc(h, size);
	if (!q)
		return NULL;
	memcpy(q, p, r.size < size ? r.size : size);
	/* p's slab or run may have moved since lookup only if q came from it: not freed. */
	ref_free(h, p, &r);
	h->reallocs_moved++;
	return q;
}

/* ------------------------------------------------------------------ */
/* aligned allocation                                                  */
/* ------------------------------------------------------------------ */

static void *aligned_block(struct bkm_heap *h, size_t align, size_t size, int *err)
{
	*err = 0;
	if (!is_pow2(align)) {
		*err = EINVAL;
		return NULL;
	}
	void *p;
	if (align <= KM_SMALL_STEP) {
		p = bkm_malloc(h, size);
	} else if (size <= h->max_class_bytes && align <= h->max_class_bytes) {
		/* The power-of-two class of at least both: its objects are aligned to it. */
		size_t c = align;
		while (c < size)
			c *= 2;
		p = bslab_alloc_fast(&h->caches[bkm_class(h, c)], 0);
		if (!p)
			p = no_memory(h);
	} else {
		if (size <= h->max_class_bytes)
			size = h->max_class_bytes + 1;
		p = alloc_large(h, size, align);
	}
	if (!p)
		*err = ENOMEM;
	return p;
}

void *bkm_aligned_alloc(struct bkm_heap *h, size_t align, size_t size)
{
	HEAP_CHECK_ON_RETURN(h);
	int err;
	if (!h) {
		errno = EINVAL;
		return NULL;
	}
	void *p = aligned_block(h, align, size, &err);
	if (!p)
		errno = err;
	return p;
}

int bkm_posix_memalign(struct bkm_heap *h, void **out, size_t align, size_t size)
{
	HEAP_CHECK_ON_RETURN(h);
	int err, saved = errno;
	if (!h || !out || align % sizeof(void *))
		return EINVAL;
	void *p = aligned_block(h, align, size, &err);
	errno = saved;
	if (p)
		*out = p;
	return err;
}
