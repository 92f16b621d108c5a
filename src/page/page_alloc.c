/* SPDX-License-Identifier: MIT */
/*
 * page_alloc.c - the binary buddy page allocator: regions, allocation,
 * free with merging, exact-size allocations and in-place resizing.
 *
 * Allocation (rmqueue): find the lowest non-empty order >= the request in
 * the zone's `nonempty` mask (one count-trailing-zeros, no scan), take the
 * first block of that list, and split it down (expand): each split puts the
 * upper half on the free list one order lower and keeps the lower half.
 *
 * Free (free_block): toggle the pair bit at the block's order; if it now
 * reads 0 the buddy (page index XOR 2^order) is free at the same order, so
 * unlink it, merge, and repeat one order up. Stops at the region's largest
 * order. Blocks never merge across regions: buddies and bits are per region.
 *
 * Page cache (optional, Linux's per-CPU page lists): blocks of small orders
 * are freed onto a per-order cache list without merging and allocated from
 * it first, so a program that frees and reallocates pages does no splitting
 * or merging at all. Long lists give their oldest half back; every list is
 * drained before an allocation is allowed to fail.
 *
 * Both are O(max_order). Every public entry point validates its arguments
 * completely before it changes anything, so a rejected call leaves the zone
 * exactly as it was. List links stored in free blocks are checked before
 * they are followed (inside a region, on a block of the expected order,
 * pointing back); damage stops the zone (BUDDY_ECORRUPT) instead of
 * handing out overlapping memory.
 *
 * For memory checkers (common/annotate.h): an allocation is announced as a
 * malloc-like block and its memory becomes no-access again when freed; of
 * a free block only its first ANNOT_LINK_BYTES (the list links) stay
 * accessible, re-poisoned when the block merges into a larger one.
 *
 * Assertions (common/debug.h) name the invariant they rely on (P1..P9,
 * page_internal.h). With BUDDY_DEBUG >= 2 every public call that changes
 * the zone ends with the full buddy_check (zone_check_on_return).
 */
#include "common/annotate.h"
#include "common/fmt.h"
#include "page/page_internal.h"

/* ------------------------------------------------------------------ */
/* small helpers                                                       */
/* ------------------------------------------------------------------ */

static unsigned log2_floor(size_t v)
{
	return (unsigned)(sizeof(unsigned long long) * 8 - 1) -
	       (unsigned)__builtin_clzll((unsigned long long)v);
}

unsigned buddy_carve_order(size_t idx, size_t n, unsigned max)
{
	unsigned k = idx ? (unsigned)__builtin_ctzll((unsigned long long)idx) : max;
	if (k > max)
		k = max;
	while (((size_t)1 << k) > n - idx)
		k--;
	return k;
}

static void mem_zero(void *p, size_t n)
{
	__builtin_memset(p, 0, n);
}

static int fail(struct buddy_zone *z, int status)
{
	z->last_error = status;
	return status;
}

#if BUDDY_DEBUG >= 2
/*
 * The expensive tier: a zone a public call leaves must pass the full check
 * (every call on small zones; see common/debug.h). A zone that has reported
 * damage is left alone: it changes no more.
 */
static void zone_check_on_return(struct buddy_zone **zp)
{
	const struct buddy_zone *z = *zp;
	if (z && !z->corrupted && BUDDY_DEBUG_CHECK_DUE(z->allocs + z->frees, z->total_pages))
		BUDDY_ASSERT(buddy_check(z, NULL, NULL) == 0);
}
#endif
#define ZONE_CHECK_ON_RETURN(z) BUDDY_CHECK_ON_RETURN(zone_check_on_return, z)

/* ------------------------------------------------------------------ */
/* free lists                                                          */
/* ------------------------------------------------------------------ */

static void list_init(struct buddy_list *h)
{
	h->next = h;
	h->prev = h;
}

static void area_add(struct buddy_zone *z, unsigned order, uintptr_t a)
{
	struct buddy_free_area *fa = &z->free_area[order];
	struct buddy_list *n = (struct buddy_list *)a;
	struct buddy_list *h = &fa->free_list;

	annot_links(n);
	n->next = h->next;
	n->prev = h;
	h->next->prev = n;
	h->next = n;
	if (fa->nr_free++ == 0)
		z->nonempty |= 1u << order;
}

static void area_unlink(struct buddy_zone *z, unsigned order, uintptr_t a)
{
	struct buddy_free_area *fa = &z->free_area[order];
	struct buddy_list *n = (struct buddy_list *)a;

	/* P4: checked by node_check before any unlink. */
	BUDDY_ASSERT(fa->nr_free > 0 && n->next->prev == n && n->prev->next == n);
	n->prev->next = n->next;
	n->next->prev = n->prev;
	if (--fa->nr_free == 0)
		z->nonempty &= ~(1u << order);
}

/*
 * Record damage once, tell the callback, and refuse every later change.
 * op names the step that met it, what the damage.
 */
static COLD int corrupt(struct buddy_zone *z, const char *op, const char *what,
			const void *where)
{
	if (!z->corrupted && z->on_error) {
		char msg[200];
		buddy_fmt(msg, sizeof(msg), "buddy: %s(): %s at %p", op, what, where);
		z->on_error(z->error_arg, BUDDY_ERR_CORRUPT, op, where, msg);
	}
	z->corrupted = 1;
	z->last_error = BUDDY_ECORRUPT;
	return BUDDY_ECORRUPT;
}

/* ------------------------------------------------------------------ */
/* page poisoning                                                      */
/* ------------------------------------------------------------------ */

/* Fill n freed bytes at a with the poison byte (when poisoning is on). */
static void poison_fill(const struct buddy_zone *z, uintptr_t a, size_t n)
{
	if (z->poison)
		__builtin_memset((void *)a, (int)BUDDY_POISON_BYTE, n);
}

/*
 * The free block of n bytes at a is about to be handed out: all but its
 * links must still hold the poison byte. A memory checker is told the
 * bytes are readable first, since the allocator itself reads them.
 */
static COLD int poison_check(struct buddy_zone *z, const char *op, uintptr_t a, size_t n)
{
	const unsigned char *p = (const unsigned char *)a;

	if (n <= ANNOT_LINK_BYTES)
		return BUDDY_OK;
	annot_defined(p + ANNOT_LINK_BYTES, n - ANNOT_LINK_BYTES);
	for (size_t i = ANNOT_LINK_BYTES; i < n; i++)
		if (p[i] != BUDDY_POISON_BYTE)
			return corrupt(z, op, "corrupted free page: freed page written after free",
				       p + i);
	return BUDDY_OK;
}

/*
 * Is p a list head of this zone's lists, or the first page of a block
 * whose page byte is `want`? Checked before p is ever dereferenced.
 */
static inline int link_ok(const struct buddy_zone *z, const struct buddy_list *head,
			  const struct buddy_list *p, uint8_t want)
{
	if (p == head)
		return 1;
	uintptr_t a = (uintptr_t)p;
	const struct buddy_region *r = buddy_region_lookup(z, a);
	return r && !(a & (z->page_size - 1)) && r->pg[region_index(z, r, a)] == want;
}

/*
 * Check the node at a (a block whose page byte should be `want`, on the
 * list `head`) and its neighbours before unlinking: both links must lead
 * to valid nodes that point back at it, as glibc's unlink checks.
 */
static int node_check(struct buddy_zone *z, const char *op, const struct buddy_list *head,
		      uintptr_t a, uint8_t want)
{
	const struct buddy_list *n = (const struct buddy_list *)a;
	if (!link_ok(z, head, n, want) || n == head)
		return corrupt(z, op, "corrupted free list: list entry is not a free block", n);
	if (!link_ok(z, head, n->next, want) || !link_ok(z, head, n->prev, want))
		return corrupt(z, op, "corrupted free list: link points outside the free blocks", n);
	if (n->next->prev != n || n->prev->next != n)
		return corrupt(z, op, "corrupted free list: neighbours do not point back", n);
	return BUDDY_OK;
}

/* Toggle the pair bit of block idx at order k; returns the new value. */
static int pair_toggle(struct buddy_region *r, unsigned k, size_t idx)
{
	/* P3: only orders below the region's max_order have a map. */
	BUDDY_ASSERT(k < r->max_order && idx < r->nr_pages);
	size_t bit = idx >> (k + 1);
	map_word m = (map_word)1 << (bit % MAP_WORD_BITS);
	map_word *w = &r->map[k][bit / MAP_WORD_BITS];

	*w ^= m;
	return (*w & m) != 0;
}

static void log_event(struct buddy_zone *z, const struct buddy_region *r,
		      enum buddy_event_kind kind, unsigned order, size_t idx)
{
	struct buddy_event ev = { kind, order, (void *)region_addr(z, r, idx), r->id, idx };
	z->log(z->log_arg, &ev);
}

/* ------------------------------------------------------------------ */
/* regions                                                             */
/* ------------------------------------------------------------------ */

const struct buddy_region *buddy_region_lookup(const struct buddy_zone *z, uintptr_t a)
{
	const struct buddy_region *r = z->hint;
	if (r && region_has(r, a))
		return r;
	if (z->nr_regions <= BUDDY_NR_REGION_INDEX) {
		/* Bisect the sorted index for the last region starting at or below a. */
		unsigned lo = 0, hi = z->nr_regions;
		while (lo < hi) {
			unsigned mid = (lo + hi) / 2;
			if (z->index[mid]->base <= a)
				lo = mid + 1;
			else
				hi = mid;
		}
		r = lo ? z->index[lo - 1] : NULL;
		return r && region_has(r, a) ? r : NULL;
	}
	for (r = z->regions; r && r->base <= a; r = r->next)
		if (a < r->end)
			return r;
	return NULL;
}

/* Rebuild the bisection index from the sorted list (after a region comes or goes). */
static void index_rebuild(struct buddy_zone *z)
{
	unsigned i = 0;
	for (struct buddy_region *r = z->regions; r && i < BUDDY_NR_REGION_INDEX; r = r->next)
		z->index[i++] = r;
}

static NOINLINE struct buddy_region *region_find_slow(struct buddy_zone *z, uintptr_t a)
{
	struct buddy_region *r = (struct buddy_region *)buddy_region_lookup(z, a);
	if (r)
		z->hint = r;
	return r;
}

/* The region holding a: the last region used first (one compare), then the list. */
static inline struct buddy_region *region_find(struct buddy_zone *z, uintptr_t a)
{
	struct buddy_region *r = z->hint;
	if (likely(r && region_has(r, a)))
		return r;
	return region_find_slow(z, a);
}

/* P9: a region's largest order. */
static unsigned region_max_order(const struct buddy_zone *z, size_t nr_pages)
{
	unsigned k = log2_floor(nr_pages);
	return k < z->cfg_max_order ? k : z->cfg_max_order;
}

/* P9: the zone's max_order after a region came or went. */
static void zone_max_order_update(struct buddy_zone *z)
{
	if (!z->max_order_auto)
		return;
	z->max_order = 0;
	for (const struct buddy_region *r = z->regions; r; r = r->next)
		if (r->max_order > z->max_order)
			z->max_order = r->max_order;
}

/* Metadata bytes for a region of nr_pages pages. */
static size_t meta_bytes_for(const struct buddy_zone *z, size_t nr_pages)
{
	size_t bytes = (sizeof(struct buddy_region) + 7) & ~(size_t)7;
	unsigned top = region_max_order(z, nr_pages);

	for (unsigned k = 0; k < top; k++)
		bytes += map_words(nr_pages, k) * sizeof(map_word);
	return bytes + nr_pages;
}

size_t buddy_meta_size(const struct buddy_zone *zone, size_t len)
{
	if (!zone || len < zone->page_size)
		return 0;
	return meta_bytes_for(zone, len >> zone->page_shift);
}

/*
 * Lay out the metadata and mark every page as in use, every pair bit 0
 * (already so when the caller says the memory is zeroed).
 */
static struct buddy_region *region_setup(struct buddy_zone *z, uintptr_t base,
					 size_t nr_pages, void *meta, size_t meta_len,
					 unsigned flags)
{
	struct buddy_region *r = meta;
	uint8_t *p = (uint8_t *)meta + ((sizeof(*r) + 7) & ~(size_t)7);

	mem_zero(meta, (flags & BUDDY_META_ZEROED) ? sizeof(*r) : meta_len);
	r->base = base;
	r->nr_pages = nr_pages;
	r->end = base + (nr_pages << z->page_shift);
	r->id = z->next_region_id;
	r->max_order = region_max_order(z, nr_pages);
	for (unsigned k = 0; k < r->max_order; k++) {
		r->map[k] = (map_word *)p;
		p += map_words(nr_pages, k) * sizeof(map_word);
	}
	r->pg = p;
	r->meta = meta;
	r->meta_bytes = meta_len;
	return r;
}

static int ranges_overlap(uintptr_t a, uintptr_t a_end, uintptr_t b, uintptr_t b_end)
{
	return a < b_end && b < a_end;
}

static int region_overlaps(const struct buddy_zone *z, uintptr_t a, uintptr_t a_end)
{
	for (const struct buddy_region *r = z->regions; r; r = r->next) {
		uintptr_t m = (uintptr_t)r->meta;
		if (ranges_overlap(a, a_end, r->base, r->end) ||
		    ranges_overlap(a, a_end, m, m + r->meta_bytes))
			return 1;
	}
	return 0;
}

static int free_block(struct buddy_zone *z, struct buddy_region *r, size_t idx, unsigned order);

int buddy_add_region(struct buddy_zone *z, void *base, size_t len, void *meta, size_t meta_len)
{
	return buddy_add_region_ex(z, base, len, meta, meta_len, 0);
}

int buddy_add_region_ex(struct buddy_zone *z, void *base, size_t len, void *meta,
			size_t meta_len, unsigned flags)
{
	ZONE_CHECK_ON_RETURN(z);
	if (!z)
		return BUDDY_ENULL;
	if (z->corrupted)
		return fail(z, BUDDY_ECORRUPT);
	if (!base)
		return fail(z, BUDDY_ENULL);
	uintptr_t b = (uintptr_t)base;
	if ((b & (z->page_size - 1)) || (len & (z->page_size - 1)))
		return fail(z, BUDDY_EALIGN);
	if (len < z->page_size || b + len < b)
		return fail(z, BUDDY_ESMALL);

	size_t nr_pages = len >> z->page_shift;
	if (!meta) {
		/* The metadata takes whole pages from the region's tail. */
		size_t need = meta_bytes_for(z, nr_pages);
		size_t meta_pages = (need + z->page_size - 1) >> z->page_shift;
		if (meta_pages >= nr_pages)
			return fail(z, BUDDY_ESMALL);
		nr_pages -= meta_pages;
		meta = (void *)(b + (nr_pages << z->page_shift));
		meta_len = meta_pages << z->page_shift;
	} else {
		uintptr_t m = (uintptr_t)meta;
		if ((m & 7) || meta_len < meta_bytes_for(z, nr_pages) ||
		    ranges_overlap(m, m + meta_len, b, b + len) || m + meta_len < m)
			return fail(z, BUDDY_EMETA);
		if (region_overlaps(z, m, m + meta_len))
			return fail(z, BUDDY_EOVERLAP);
	}
	if (region_overlaps(z, b, b + len))
		return fail(z, BUDDY_EOVERLAP);

	struct buddy_region *r = region_setup(z, b, nr_pages, meta, meta_len, flags);
	z->next_region_id++;

	struct buddy_region **pp = &z->regions;
	while (*pp && (*pp)->base < b)
		pp = &(*pp)->next;
	r->next = *pp;
	*pp = r;
	z->nr_regions++;
	index_rebuild(z);
	z->total_pages += nr_pages;
	z->meta_bytes += meta_len;
	zone_max_order_update(z);

	/* Every page starts in use; free the largest naturally aligned blocks. */
	poison_fill(z, b, nr_pages << z->page_shift);
	annot_noaccess(base, nr_pages << z->page_shift);
	for (size_t idx = 0; idx < nr_pages;) {
		unsigned k = buddy_carve_order(idx, nr_pages, r->max_order);
		free_block(z, r, idx, k);
		idx += (size_t)1 << k;
	}
	return BUDDY_OK;
}

/* The link that points at the region starting exactly at base (*pp NULL: none). */
static struct buddy_region **region_link(struct buddy_zone *z, const void *base)
{
	struct buddy_region **pp = &z->regions;
	while (*pp && (*pp)->base != (uintptr_t)base)
		pp = &(*pp)->next;
	return pp;
}

int buddy_region_set_owner(struct buddy_zone *z, void *base, void *owner)
{
	if (!z)
		return BUDDY_ENULL;
	if (z->corrupted)
		return fail(z, BUDDY_ECORRUPT);
	struct buddy_region *r = base ? *region_link(z, base) : NULL;
	if (!r)
		return fail(z, base ? BUDDY_EOUTSIDE : BUDDY_ENULL);
	r->owner = owner;
	return BUDDY_OK;
}

void *buddy_region_owner(const struct buddy_zone *z, const void *addr)
{
	const struct buddy_region *r = z ? buddy_region_lookup(z, (uintptr_t)addr) : NULL;
	return r ? r->owner : NULL;
}

int buddy_remove_region(struct buddy_zone *z, void *base)
{
	ZONE_CHECK_ON_RETURN(z);
	if (!z)
		return BUDDY_ENULL;
	if (z->corrupted)
		return fail(z, BUDDY_ECORRUPT);
	if (!base)
		return fail(z, BUDDY_ENULL);
	struct buddy_region **pp = region_link(z, base);
	struct buddy_region *r = *pp;
	if (!r)
		return fail(z, BUDDY_EOUTSIDE);
	if (r->free_pages != r->nr_pages && z->cached_pages)
		buddy_drain_cache(z); /* cached blocks may be all that is missing */
	if (r->free_pages != r->nr_pages)
		return fail(z, z->corrupted ? BUDDY_ECORRUPT : BUDDY_EBUSY);

	/* A wholly free region is fully merged: exactly its carving blocks. */
	for (size_t idx = 0; idx < r->nr_pages;) {
		unsigned k = buddy_carve_order(idx, r->nr_pages, r->max_order);
		if (node_check(z, "remove_region", &z->free_area[k].free_list,
			       region_addr(z, r, idx), (uint8_t)(PG_FREE | k)))
			return BUDDY_ECORRUPT;
		idx += (size_t)1 << k;
	}
	for (size_t idx = 0; idx < r->nr_pages;) {
		unsigned k = buddy_carve_order(idx, r->nr_pages, r->max_order);
		area_unlink(z, k, region_addr(z, r, idx));
		idx += (size_t)1 << k;
	}
	annot_defined((void *)r->base, r->nr_pages << z->page_shift);
	*pp = r->next;
	if (z->hint == r)
		z->hint = NULL;
	z->nr_regions--;
	index_rebuild(z);
	z->total_pages -= r->nr_pages;
	z->free_pages -= r->nr_pages;
	z->meta_bytes -= r->meta_bytes;
	zone_max_order_update(z);
	return BUDDY_OK;
}

/* ------------------------------------------------------------------ */
/* set-up                                                              */
/* ------------------------------------------------------------------ */

void buddy_config_default(struct buddy_config *cfg)
{
	if (!cfg)
		return;
	cfg->page_size = BUDDY_PAGE_SIZE_DEFAULT;
	cfg->max_order = BUDDY_MAX_ORDER_AUTO;
	cfg->name = "Normal";
	cfg->log = NULL;
	cfg->log_arg = NULL;
	cfg->pcp_high = 0;
	cfg->pcp_max_order = 3;
	cfg->on_error = NULL;
	cfg->error_arg = NULL;
	cfg->poison = 0;
}

int buddy_zone_init(struct buddy_zone *z, const struct buddy_config *cfg)
{
	struct buddy_config def;

	if (!z)
		return BUDDY_ENULL;
	if (!cfg) {
		buddy_config_default(&def);
		cfg = &def;
	}
	size_t ps = cfg->page_size;
	if (ps < BUDDY_PAGE_SIZE_MIN || (ps & (ps - 1)))
		return BUDDY_ECONFIG;
	if (cfg->max_order != BUDDY_MAX_ORDER_AUTO && cfg->max_order > BUDDY_MAX_ORDER)
		return BUDDY_ECONFIG;
	const char *name = cfg->name ? cfg->name : "Normal";
	size_t name_len = 0;
	while (name[name_len])
		name_len++;
	if (name_len >= sizeof(z->name))
		return BUDDY_ECONFIG;
	if (cfg->pcp_high && cfg->pcp_max_order > BUDDY_PCP_MAX_ORDER)
		return BUDDY_ECONFIG;

	mem_zero(z, sizeof(*z));
	for (unsigned k = 0; k < BUDDY_NR_ORDERS; k++)
		list_init(&z->free_area[k].free_list);
	z->page_size = ps;
	z->page_shift = log2_floor(ps);
	z->max_order_auto = cfg->max_order == BUDDY_MAX_ORDER_AUTO;
	z->cfg_max_order = z->max_order_auto ? BUDDY_MAX_ORDER : cfg->max_order;
	z->max_order = z->max_order_auto ? 0 : z->cfg_max_order;
	z->log = cfg->log;
	z->log_arg = cfg->log_arg;
	z->on_error = cfg->on_error;
	z->error_arg = cfg->error_arg;
	for (unsigned k = 0; k < BUDDY_NR_PCP_ORDERS; k++)
		list_init(&z->pcp[k].list);
	z->pcp_high = cfg->pcp_high;
	z->nr_pcp_orders = cfg->pcp_high ? cfg->pcp_max_order + 1 : 0;
	z->poison = cfg->poison != 0;
	z->nr_fast_orders = z->poison ? 0 : z->nr_pcp_orders; /* the fast paths skip poisoning */
	for (size_t i = 0; i < name_len; i++)
		z->name[i] = name[i];
	return BUDDY_OK;
}

/* ------------------------------------------------------------------ */
/* allocation                                                          */
/* ------------------------------------------------------------------ */

/*
 * Split the block of order `high` at idx down to order `low`, keeping the
 * lower half each time and freeing the upper half one order down:
 *
 *     high: [...............................]
 *     high-1: [ kept ............][ free    ]
 *     high-2: [ kept ...][ free  ]
 */
static void expand(struct buddy_zone *z, struct buddy_region *r, size_t idx,
		   unsigned low, unsigned high)
{
	/* P2: the block is aligned to its order and lies in the region. */
	BUDDY_ASSERT(low <= high && high <= r->max_order && !(idx & (((size_t)1 << high) - 1)) &&
		     ((size_t)1 << high) <= r->nr_pages - idx);
	while (high > low) {
		if (z->log)
			log_event(z, r, BUDDY_EV_SPLIT, high, idx);
		high--;
		size_t upper = idx + ((size_t)1 << high);
		r->pg[upper] = (uint8_t)(PG_FREE | high);
		area_add(z, high, region_addr(z, r, upper));
		pair_toggle(r, high, upper);
	}
}

/*
 * Take a block of at least `order` off the free lists and split it down to
 * `order`. Returns its region and page index, or NULL when nothing fits
 * (or the list is damaged: then z->corrupted is set).
 */
static struct buddy_region *rmqueue(struct buddy_zone *z, unsigned order, size_t *idx_out)
{
	uint32_t avail = z->nonempty >> order;
	if (!avail)
		return NULL;
	unsigned cur = order + (unsigned)__builtin_ctz(avail);
	struct buddy_list *head = &z->free_area[cur].free_list;
	uintptr_t a = (uintptr_t)head->next;
	if (node_check(z, "alloc_pages", head, a, (uint8_t)(PG_FREE | cur)))
		return NULL;
	struct buddy_region *r = region_find(z, a);
	size_t idx = region_index(z, r, a);

	area_unlink(z, cur, a);
	if (cur < r->max_order)
		pair_toggle(r, cur, idx);
	expand(z, r, idx, order, cur);
	r->free_pages -= (size_t)1 << order;
	z->free_pages -= (size_t)1 << order;
	*idx_out = idx;
	return r;
}

/* ------------------------------------------------------------------ */
/* page cache                                                          */
/* ------------------------------------------------------------------ */

/*
 * Pop the newest cached block of `order`; NULL if the list is damaged. The
 * head's link was written by the allocator itself; the links stored in the
 * block are checked before they are used.
 */
static HOT_INLINE struct buddy_region *pcp_take(struct buddy_zone *z, unsigned order, size_t *idx_out)
{
	struct buddy_pcp *pc = &z->pcp[order];
	struct buddy_list *h = &pc->list, *n = h->next, *next = n->next;

	if (n->prev != h || !link_ok(z, h, next, (uint8_t)(PG_CACHED | order)) || next->prev != n) {
		corrupt(z, "alloc_pages", "corrupted free list: cached block's links are damaged", n);
		return NULL;
	}
	h->next = next;
	next->prev = h;
	pc->count--;
	z->cached_pages -= (size_t)1 << order;
	struct buddy_region *r = region_find(z, (uintptr_t)n);
	*idx_out = region_index(z, r, (uintptr_t)n);
	return r;
}

/* Give the `count` oldest cached blocks of `order` back to the buddy lists. */
static NOINLINE int pcp_drain(struct buddy_zone *z, unsigned order, size_t count)
{
	struct buddy_pcp *pc = &z->pcp[order];

	while (count-- && pc->count) {
		struct buddy_list *n = pc->list.prev;
		if (node_check(z, "drain_cache", &pc->list, (uintptr_t)n, (uint8_t)(PG_CACHED | order)))
			return BUDDY_ECORRUPT;
		n->prev->next = n->next;
		n->next->prev = n->prev;
		/* Its links may end up inside a merged block: poison them like the rest. */
		poison_fill(z, (uintptr_t)n, ANNOT_LINK_BYTES);
		annot_noaccess(n, ANNOT_LINK_BYTES);
		pc->count--;
		z->cached_pages -= (size_t)1 << order;
		struct buddy_region *r = region_find(z, (uintptr_t)n);
		int st = free_block(z, r, region_index(z, r, (uintptr_t)n), order);
		if (st)
			return st;
	}
	return BUDDY_OK;
}

/* Cache the block instead of merging it; trim the list when it grows long. */
static HOT_INLINE int pcp_put(struct buddy_zone *z, struct buddy_region *r, size_t idx, unsigned order)
{
	struct buddy_pcp *pc = &z->pcp[order];
	struct buddy_list *n = (struct buddy_list *)region_addr(z, r, idx);

	r->pg[idx] = (uint8_t)(PG_CACHED | order);
	annot_links(n);
	n->next = pc->list.next;
	n->prev = &pc->list;
	pc->list.next->prev = n;
	pc->list.next = n;
	pc->count++;
	z->cached_pages += (size_t)1 << order;
	if (pc->count > z->pcp_high)
		return pcp_drain(z, order, (z->pcp_high + 1) / 2);
	return BUDDY_OK;
}

void buddy_drain_cache(struct buddy_zone *z)
{
	ZONE_CHECK_ON_RETURN(z);
	if (!z || z->corrupted)
		return;
	for (unsigned k = 0; k < z->nr_pcp_orders; k++)
		if (pcp_drain(z, k, z->pcp[k].count))
			return;
}

/*
 * rmqueue, draining the cache and trying again before giving up, so that
 * no allocation fails while cached pages could serve it.
 */
static NOINLINE struct buddy_region *rmqueue_drain(struct buddy_zone *z, unsigned order, size_t *idx)
{
	struct buddy_region *r = rmqueue(z, order, idx);
	if (!r && z->cached_pages && !z->corrupted) {
		buddy_drain_cache(z);
		if (!z->corrupted)
			r = rmqueue(z, order, idx);
	}
	return r;
}

/* A block of exactly `order`: from the cache, else from the free lists. */
static struct buddy_region *block_take(struct buddy_zone *z, unsigned order, size_t *idx)
{
	if (order < z->nr_pcp_orders && z->pcp[order].count)
		return pcp_take(z, order, idx);
	return rmqueue_drain(z, order, idx);
}

/* Pages in use only grow on allocation: note a new peak. */
static inline void peak_note(struct buddy_zone *z)
{
	size_t used = z->total_pages - z->free_pages - z->cached_pages;
	if (used > z->peak_used_pages)
		z->peak_used_pages = used;
}

static void account_alloc(struct buddy_zone *z)
{
	peak_note(z);
	z->allocs++;
}

/* Why no block was found: damage, or a counted failure. */
static void *alloc_failed(struct buddy_zone *z)
{
	if (!z->corrupted) {
		z->failures++;
		z->last_error = BUDDY_ENOMEM;
	}
	return NULL;
}

/* The block at idx becomes an allocation of `order`. */
static inline void *alloc_finish(struct buddy_zone *z, struct buddy_region *r, size_t idx,
				 unsigned order, unsigned flags)
{
	r->pg[idx] = (uint8_t)(PG_HEAD | order);
	account_alloc(z);
	void *p = (void *)region_addr(z, r, idx);
	annot_alloc(p, (size_t)z->page_size << order);
	if (unlikely(flags & BUDDY_ZERO))
		mem_zero(p, (size_t)z->page_size << order);
	return p;
}

static NOINLINE void *alloc_pages_slow(struct buddy_zone *z, unsigned order, unsigned flags)
{
	size_t idx;

	if (!z)
		return NULL;
	if (z->corrupted) {
		z->last_error = BUDDY_ECORRUPT;
		return NULL;
	}
	if (order > z->cfg_max_order) {
		z->last_error = BUDDY_EMAXORDER;
		return NULL;
	}
	struct buddy_region *r = block_take(z, order, &idx);
	if (!r)
		return alloc_failed(z);
	if (z->poison &&
	    poison_check(z, "alloc_pages", region_addr(z, r, idx), (size_t)z->page_size << order))
		return NULL;
	return alloc_finish(z, r, idx, order, flags);
}

static COLD void *zero_fill(void *p, size_t n)
{
	mem_zero(p, n);
	return p;
}

/*
 * Fast path: the newest cached block of this order, when it and the link
 * stored in it (checked: a cached block of this order, pointing back) lie
 * in the last region used. It calls nothing, so it needs no stack frame;
 * anything unusual goes to the slow path, which checks and reports fully.
 */
void *buddy_alloc_pages(struct buddy_zone *z, unsigned order, unsigned flags)
{
	ZONE_CHECK_ON_RETURN(z);
	if (likely(z && order < z->nr_fast_orders && !z->corrupted && z->hint)) {
		struct buddy_pcp *pc = &z->pcp[order];
		struct buddy_list *h = &pc->list, *n = h->next, *next;
		struct buddy_region *r = z->hint;
		uintptr_t span = r->end - r->base, off = (uintptr_t)n - r->base;
		if (n != h && off < span && n->prev == h) {
			next = n->next;
			uintptr_t noff = (uintptr_t)next - r->base;
			if ((next == h || (noff < span && !(noff & (z->page_size - 1)) &&
					   r->pg[noff >> z->page_shift] == (PG_CACHED | order))) &&
			    next->prev == n) {
				h->next = next;
				next->prev = h;
				pc->count--;
				z->cached_pages -= (size_t)1 << order;
				r->pg[off >> z->page_shift] = (uint8_t)(PG_HEAD | order);
				account_alloc(z);
				annot_alloc(n, (size_t)z->page_size << order);
				if (unlikely(flags & BUDDY_ZERO))
					return zero_fill(n, (size_t)z->page_size << order);
				return n;
			}
		}
	}
	return alloc_pages_slow(z, order, flags);
}

/*
 * Keep the first npages of the block of `order` at idx and free the rest,
 * as alloc_pages_exact does. The kept part becomes the blocks of npages'
 * binary digits, highest first, chained with PG_MORE; at each level the
 * working block is split, and its upper half is either freed (not needed)
 * or becomes the next working block (the lower half is kept whole).
 */
static void trim_exact(struct buddy_zone *z, struct buddy_region *r, size_t idx,
		       unsigned order, size_t npages)
{
	size_t p = idx, rest = npages;
	unsigned k = order;
	uint8_t state = PG_HEAD;

	/* P7: a chain of more than one block, shorter than the block. */
	BUDDY_ASSERT(npages > 1 && npages < ((size_t)1 << order) && order <= r->max_order);
	while (rest) {
		if (z->log)
			log_event(z, r, BUDDY_EV_SPLIT, k, p);
		k--;
		size_t half = (size_t)1 << k;
		if (rest >= half) {
			rest -= half;
			r->pg[p] = (uint8_t)(state | (rest ? PG_MORE : 0) | k);
			state = PG_CONT;
			p += half;
		} else {
			r->pg[p + half] = (uint8_t)(PG_FREE | k);
			area_add(z, k, region_addr(z, r, p + half));
			pair_toggle(r, k, p + half);
		}
	}
	/* The working block left over after the last kept block is free (P2: it ends the block). */
	BUDDY_ASSERT(p == idx + npages && p + ((size_t)1 << k) <= idx + ((size_t)1 << order));
	r->pg[p] = (uint8_t)(PG_FREE | k);
	area_add(z, k, region_addr(z, r, p));
	pair_toggle(r, k, p);
	size_t freed = ((size_t)1 << order) - npages;
	r->free_pages += freed;
	z->free_pages += freed;
}

void *buddy_alloc_pages_exact(struct buddy_zone *z, size_t npages, unsigned flags)
{
	ZONE_CHECK_ON_RETURN(z);
	if (!z)
		return NULL;
	if (z->corrupted) {
		z->last_error = BUDDY_ECORRUPT;
		return NULL;
	}
	if (npages == 0 || npages > ((size_t)1 << z->cfg_max_order)) {
		z->last_error = BUDDY_ECOUNT;
		return NULL;
	}
	unsigned order = npages == 1 ? 0 : log2_floor(npages - 1) + 1;
	if ((npages & (npages - 1)) == 0)
		return buddy_alloc_pages(z, order, flags);

	size_t idx;
	struct buddy_region *r = rmqueue_drain(z, order, &idx);
	if (!r)
		return alloc_failed(z);
	trim_exact(z, r, idx, order, npages);
	void *p = (void *)region_addr(z, r, idx);
	if (z->poison && poison_check(z, "alloc_pages_exact", (uintptr_t)p, npages << z->page_shift))
		return NULL;
	account_alloc(z);
	annot_alloc(p, npages << z->page_shift);
	if (flags & BUDDY_ZERO)
		mem_zero(p, npages << z->page_shift);
	return p;
}

/* ------------------------------------------------------------------ */
/* free                                                                */
/* ------------------------------------------------------------------ */

/*
 * Put the in-use block of `order` at idx back, merging upward while its
 * buddy is free at the same order:
 *
 *     order k:   [ freed ][ buddy free ]   pair bit 1 -> toggled to 0: merge
 *     order k+1: [ merged .............]   toggle this pair's bit, and so on
 */
static NOINLINE int free_block(struct buddy_zone *z, struct buddy_region *r, size_t idx,
				unsigned order)
{
	r->free_pages += (size_t)1 << order;
	z->free_pages += (size_t)1 << order;
	r->pg[idx] = PG_TAIL;
	while (order < r->max_order) {
		/* P2: the block being freed is aligned to its order. */
		BUDDY_ASSERT(!(idx & (((size_t)1 << order) - 1)) && idx < r->nr_pages);
		if (!map_test(r, order, idx)) {
			pair_toggle(r, order, idx); /* the buddy is in use (or split) */
			break;
		}
		size_t buddy = idx ^ ((size_t)1 << order);
		uintptr_t ba = region_addr(z, r, buddy);
		/* P3: the pair bit says the buddy is free: it must be on its list (P4). */
		if (buddy >= r->nr_pages || node_check(z, "free_pages", &z->free_area[order].free_list,
						       ba, (uint8_t)(PG_FREE | order)))
			return corrupt(z, "free_pages",
				       "corrupted free list: pair bitmap names a buddy that is not free",
				       (void *)ba);
		pair_toggle(r, order, idx);
		area_unlink(z, order, ba);
		poison_fill(z, ba, ANNOT_LINK_BYTES);
		annot_noaccess((void *)ba, ANNOT_LINK_BYTES);
		r->pg[buddy] = PG_TAIL;
		idx &= ~((size_t)1 << order);
		order++;
		if (z->log)
			log_event(z, r, BUDDY_EV_MERGE, order, idx);
	}
	r->pg[idx] = (uint8_t)(PG_FREE | order);
	area_add(z, order, region_addr(z, r, idx));
	return BUDDY_OK;
}

/*
 * Classify an address that does not start an allocation: inside a free
 * block means it was freed already (double free); otherwise it points into
 * the middle of an allocation.
 */
static int classify_bad(const struct buddy_region *r, size_t idx)
{
	if (pg_state(r->pg[idx]) == PG_FREE)
		return BUDDY_EDOUBLE;
	for (unsigned k = 1; k <= r->max_order; k++) {
		size_t head = idx & ~(((size_t)1 << k) - 1);
		uint8_t b = r->pg[head];
		if (pg_state(b) != PG_TAIL)
			return pg_state(b) == PG_FREE && pg_order(b) >= k ? BUDDY_EDOUBLE
									 : BUDDY_ENOTBLOCK;
	}
	return BUDDY_ENOTBLOCK;
}

/* Classify addr: BUDDY_OK when it starts an allocation, found at *r_out, *idx_out. */
static int lookup_alloc_status(struct buddy_zone *z, const void *addr,
			       struct buddy_region **r_out, size_t *idx_out)
{
	if (z->corrupted)
		return BUDDY_ECORRUPT;
	if (!addr)
		return BUDDY_ENULL;
	uintptr_t a = (uintptr_t)addr;
	struct buddy_region *r = region_find(z, a);
	if (!r)
		return BUDDY_EOUTSIDE;
	size_t idx = region_index(z, r, a);
	*r_out = r;
	*idx_out = idx;
	if (a & (z->page_size - 1))
		return classify_bad(r, idx) == BUDDY_EDOUBLE ? BUDDY_EDOUBLE : BUDDY_ENOTBLOCK;
	if (pg_state(r->pg[idx]) != PG_HEAD)
		return classify_bad(r, idx);
	return BUDDY_OK;
}

/*
 * The prologue of every call that takes an allocation's address: find its
 * region and first page, or fail (recording last_error) changing nothing.
 */
static int lookup_alloc(struct buddy_zone *z, const void *addr,
			struct buddy_region **r_out, size_t *idx_out)
{
	if (!z)
		return BUDDY_ENULL;
	int st = lookup_alloc_status(z, addr, r_out, idx_out);
	return st ? fail(z, st) : BUDDY_OK;
}

/* Pages in the allocation whose first block is at idx (follows PG_MORE). */
static size_t alloc_pages_count(const struct buddy_region *r, size_t idx)
{
	size_t n = 0;
	uint8_t b;
	do {
		b = r->pg[idx + n];
		n += (size_t)1 << pg_order(b);
	} while (b & PG_MORE);
	return n;
}

static int free_alloc(struct buddy_zone *z, struct buddy_region *r, size_t idx)
{
	uint8_t b = r->pg[idx];
	int st;

	if (ANNOT_ACTIVE || z->poison) {
		uintptr_t a = region_addr(z, r, idx);
		size_t bytes = alloc_pages_count(r, idx) << z->page_shift;
		poison_fill(z, a, bytes);
		annot_free((void *)a, bytes);
	}
	z->frees++;
	if (!(b & PG_MORE) && pg_order(b) < z->nr_pcp_orders)
		return pcp_put(z, r, idx, pg_order(b));
	do {
		b = r->pg[idx];
		st = free_block(z, r, idx, pg_order(b));
		idx += (size_t)1 << pg_order(b);
	} while ((b & PG_MORE) && !st);
	return st;
}

/*
 * Fast path for frees: addr in the last region used, on a page boundary,
 * and its page byte exactly `want` (the start of a single-block allocation
 * of the expected order). Returns its page index, or (size_t)-1.
 */
static inline size_t free_fast_index(struct buddy_zone *z, uintptr_t a, uint8_t want)
{
	const struct buddy_region *r = z->hint;
	if (!r || !region_has(r, a) || (a & (z->page_size - 1)) || z->corrupted)
		return (size_t)-1;
	size_t idx = region_index(z, r, a);
	return r->pg[idx] == want ? idx : (size_t)-1;
}

int buddy_free(struct buddy_zone *z, void *addr)
{
	struct buddy_region *r;
	size_t idx;

	ZONE_CHECK_ON_RETURN(z);
	int st = lookup_alloc(z, addr, &r, &idx);
	return st ? st : free_alloc(z, r, idx);
}

/* What the allocation at idx is, for buddy_alloc_info and buddy_free_info. */
static void alloc_info_fill(const struct buddy_region *r, size_t idx, struct buddy_alloc_info *info)
{
	info->nr_pages = alloc_pages_count(r, idx);
	info->owner = r->owner;
}

int buddy_alloc_info(struct buddy_zone *z, const void *addr, struct buddy_alloc_info *info)
{
	struct buddy_region *r;
	size_t idx;

	if (!info)
		return z ? fail(z, BUDDY_ENULL) : BUDDY_ENULL;
	int st = lookup_alloc(z, addr, &r, &idx);
	if (!st)
		alloc_info_fill(r, idx, info);
	return st;
}

int buddy_free_info(struct buddy_zone *z, void *addr, struct buddy_alloc_info *info)
{
	struct buddy_region *r;
	size_t idx;

	ZONE_CHECK_ON_RETURN(z);
	int st = lookup_alloc(z, addr, &r, &idx);
	if (st)
		return st;
	if (info)
		alloc_info_fill(r, idx, info);
	return free_alloc(z, r, idx);
}

static NOINLINE int free_pages_slow(struct buddy_zone *z, void *addr, unsigned order)
{
	struct buddy_region *r;
	size_t idx;

	int st = lookup_alloc(z, addr, &r, &idx);
	if (st)
		return st;
	uint8_t b = r->pg[idx];
	if ((b & PG_MORE) || pg_order(b) != order)
		return fail(z, BUDDY_EORDER);
	return free_alloc(z, r, idx);
}

/*
 * Fast path: a single block of a cached order in the last region used goes
 * straight onto the cache list; everything else takes the checked path.
 */
int buddy_free_pages(struct buddy_zone *z, void *addr, unsigned order)
{
	ZONE_CHECK_ON_RETURN(z);
	if (likely(z && order < z->nr_fast_orders)) {
		size_t idx = free_fast_index(z, (uintptr_t)addr, (uint8_t)(PG_HEAD | order));
		if (likely(idx != (size_t)-1)) {
			annot_free(addr, (size_t)z->page_size << order);
			z->frees++;
			return pcp_put(z, z->hint, idx, order);
		}
	}
	return free_pages_slow(z, addr, order);
}

int buddy_free_pages_exact(struct buddy_zone *z, void *addr, size_t npages)
{
	struct buddy_region *r;
	size_t idx;

	ZONE_CHECK_ON_RETURN(z);
	int st = lookup_alloc(z, addr, &r, &idx);
	if (st)
		return st;
	if (alloc_pages_count(r, idx) != npages)
		return fail(z, BUDDY_EORDER);
	return free_alloc(z, r, idx);
}

size_t buddy_alloc_size(struct buddy_zone *z, const void *addr)
{
	struct buddy_region *r;
	size_t idx;

	if (!z)
		return 0;
	/* Fast path: the start of a single-block allocation in the last region used. */
	const struct buddy_region *h = z->hint;
	uintptr_t a = (uintptr_t)addr;
	if (likely(h && region_has(h, a) && !(a & (z->page_size - 1)) && !z->corrupted)) {
		uint8_t b = h->pg[region_index(z, h, a)];
		if ((b & (PG_STATE | PG_MORE)) == PG_HEAD)
			return (size_t)1 << pg_order(b);
	}
	return lookup_alloc(z, addr, &r, &idx) ? 0 : alloc_pages_count(r, idx);
}

/* ------------------------------------------------------------------ */
/* in-place resize                                                     */
/* ------------------------------------------------------------------ */

/*
 * Can the block of `order` at idx absorb its upper buddies up to new_order?
 * Each buddy must be whole: a free block, or a cached one, of its order.
 */
static int can_grow(const struct buddy_region *r, size_t idx, unsigned order, unsigned new_order)
{
	if (new_order > r->max_order || (idx & (((size_t)1 << new_order) - 1)))
		return 0;
	for (unsigned k = order; k < new_order; k++) {
		size_t buddy = idx + ((size_t)1 << k);
		if (buddy >= r->nr_pages ||
		    (r->pg[buddy] != (PG_FREE | k) && r->pg[buddy] != (PG_CACHED | k)))
			return 0;
	}
	return 1;
}

/*
 * Absorb the upper buddies of the block of `order` at idx until it has
 * new_order. A buddy on a free list leaves it (toggling its pair bit); a
 * cached buddy leaves its cache list (its bit already reads "in use").
 * Only when a buddy is cut into smaller cached pieces is the cache drained
 * first. Nothing changes unless every buddy is whole and its links check out.
 */
static int block_grow(struct buddy_zone *z, struct buddy_region *r, size_t idx,
		      unsigned order, unsigned new_order)
{
	/* Smaller cached pieces inside a buddy: merge them back and look again. */
	if (!can_grow(r, idx, order, new_order) && z->cached_pages)
		buddy_drain_cache(z);
	if (z->corrupted)
		return BUDDY_ECORRUPT;
	if (!can_grow(r, idx, order, new_order))
		return fail(z, BUDDY_ENOMEM);
	for (unsigned k = order; k < new_order; k++) {
		size_t buddy = idx + ((size_t)1 << k);
		const struct buddy_list *head = r->pg[buddy] == (PG_FREE | k)
							? &z->free_area[k].free_list
							: &z->pcp[k].list;
		uintptr_t ba = region_addr(z, r, buddy);
		if (node_check(z, "resize", head, ba, r->pg[buddy]))
			return BUDDY_ECORRUPT;
		if (z->poison && poison_check(z, "resize", ba, (size_t)z->page_size << k))
			return BUDDY_ECORRUPT;
	}
	for (unsigned k = order; k < new_order; k++) {
		size_t buddy = idx + ((size_t)1 << k);
		uintptr_t ba = region_addr(z, r, buddy);
		if (r->pg[buddy] == (PG_FREE | k)) {
			area_unlink(z, k, ba);
			pair_toggle(r, k, buddy);
			r->free_pages -= (size_t)1 << k;
			z->free_pages -= (size_t)1 << k;
		} else {
			struct buddy_list *n = (struct buddy_list *)ba;
			n->prev->next = n->next;
			n->next->prev = n->prev;
			z->pcp[k].count--;
			z->cached_pages -= (size_t)1 << k;
		}
		r->pg[buddy] = PG_TAIL;
		if (z->log)
			log_event(z, r, BUDDY_EV_MERGE, k + 1, idx);
	}
	peak_note(z);
	return BUDDY_OK;
}

int buddy_resize(struct buddy_zone *z, void *addr, unsigned new_order)
{
	struct buddy_region *r;
	size_t idx;

	ZONE_CHECK_ON_RETURN(z);
	int st = lookup_alloc(z, addr, &r, &idx);
	if (st)
		return st;
	uint8_t b = r->pg[idx];
	if (b & PG_MORE)
		return fail(z, BUDDY_EORDER); /* exact allocations do not resize */
	if (new_order > z->cfg_max_order)
		return fail(z, BUDDY_EMAXORDER);
	unsigned order = pg_order(b);

	uintptr_t a = region_addr(z, r, idx);
	if (new_order < order) {
		poison_fill(z, a + ((size_t)z->page_size << new_order),
			    ((size_t)z->page_size << order) - ((size_t)z->page_size << new_order));
		annot_resize((void *)a, (size_t)z->page_size << order, (size_t)z->page_size << new_order);
		expand(z, r, idx, new_order, order);
		size_t freed = ((size_t)1 << order) - ((size_t)1 << new_order);
		r->free_pages += freed;
		z->free_pages += freed;
	} else if (new_order > order) {
		st = block_grow(z, r, idx, order, new_order);
		if (st)
			return st;
		annot_resize((void *)a, (size_t)z->page_size << order, (size_t)z->page_size << new_order);
	}
	r->pg[idx] = (uint8_t)(PG_HEAD | new_order);
	return BUDDY_OK;
}

int buddy_last_error(const struct buddy_zone *z)
{
	return z ? z->last_error : BUDDY_ENULL;
}
