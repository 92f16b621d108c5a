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
 * accessible, re-poisoned when the block merges into a larger one; with
 * outside links (buddy_config.outside_links) none: the zone never writes
 * into a free block, and the entries live in the region's metadata.
 *
 * Assertions (common/debug.h) name the invariant they rely on (P1..P9,
 * page_internal.h). With BUDDY_DEBUG >= 2 every public call that changes
 * the zone ends with the full buddy_check (zone_check_on_return).
 *
 * Threads. With lock hooks, every public call holds the zone lock from its
 * first look at the zone to its return (ZONE_LOCK_SCOPE), except the page
 * sets' fast paths, which touch only their own set, the page bytes of the
 * blocks they hold or are handed, and (free tags) those blocks' first
 * words. Lock order: page set (entered by its owner) -> zone lock;
 * nothing that holds the zone lock waits for a page set, and nothing that
 * holds a page set waits for another one.
 *
 * The page-set protocol. A set belongs to one thread, its owner, which
 * alone enters it (ps_enter .. ps_exit) to allocate or free; another
 * thread takes every set from its owner to drain it (pagesets_stop ..
 * pagesets_start): before an allocation fails, for buddy_drain_cache, and
 * to remove a region. Linux 6.x gives each per-CPU list a spin lock that
 * its CPU takes with trylock; an atomic exchange on every allocation and
 * free costs more than the rest of the fast path, so a zone with a heavy
 * barrier hook (membarrier) does without it, as asymmetric Dekker locks
 * do (the pattern of Linux's membarrier(2) and of userspace RCU):
 *
 *   owner:   busy = 1; compiler barrier; load the list's mark (low for an
 *            allocation, lim for a free, acquire); closed: busy = 0, slow
 *            path, which looks at drain_req and bypasses the set
 *            ... use the set ...; busy = 0 (release)
 *   drainer: drain_req = 1 on every set; fence; close every set's marks
 *            (low at the end of each list, lim at its start: release);
 *            barrier() (every running thread passes a full fence); wait
 *            until each busy == 0 (acquire); drain; open the marks again
 *            (release); drain_req = 0 (release)
 *
 * The inline fast paths (buddy/pageset.h) read the mark they compare
 * anyway, so entering costs one store: no load of drain_req. barrier()
 * turns the owner's compiler barrier into a full fence wherever the two
 * meet, so either the drainer sees busy == 1 and waits for the owner's
 * release, or the owner sees its set closed and keeps off it
 * (it then allocates or frees through the zone, under the lock). The
 * owner's slow paths set the low marks too: after a full fence they look
 * at drain_req and close the marks again if it is set (ps_publish_lows),
 * so a mark an owner wrote never outlives a drainer's close. Without
 * the hook, busy is a real trylock: the owner's atomic exchange, the
 * drainer's compare-and-swap. Drainers take `registry` first, so one
 * drains at a time and the list of sets holds still; the owner of the
 * failing allocation has left its own set before it drains (it never
 * waits for itself), and it holds no zone lock while it waits (an owner
 * inside its set may be waiting for the zone lock).
 */
#include "buddy/pageset.h"
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

/* last_error is read without the lock (buddy_last_error). */
static void set_error(struct buddy_zone *z, int status)
{
	STORE_RELAXED(&z->last_error, status);
}

static int fail(struct buddy_zone *z, int status)
{
	set_error(z, status);
	return status;
}

/*
 * The one-thread fast paths (buddy_alloc_pages, buddy_free_pages) serve a
 * zone that takes no lock, gives no page set and holds none, and has seen
 * no damage: one compare of the order against nr_single_orders says so.
 * Called whenever one of those changes. A zone with a lock or a page-set
 * hook keeps the 0 it was initialised with, so the field is written only
 * where no other thread can be reading it.
 */
static void single_update(struct buddy_zone *z)
{
	if (!z->lock && !z->pageset_get)
		z->nr_single_orders =
			!z->pagesets && !z->corrupted && !z->outside_links ? z->nr_fast_orders : 0;
}

/* ------------------------------------------------------------------ */
/* the zone lock and the page-set protocol (see the top of this file)   */
/* ------------------------------------------------------------------ */

/* Take the zone lock without waiting, where the caller can do without it. */
static int zone_trylock(const struct buddy_zone *z)
{
	if (!z->lock)
		return 1;
	if (!z->trylock) {
		z->lock(z->lock_arg);
		return 1;
	}
	return z->trylock(z->lock_arg) != 0;
}

static void zone_relax(const struct buddy_zone *z)
{
	if (z->relax)
		z->relax(z->lock_arg);
}

/* Take the word *w from 0 to 1 (acquire), waiting with the zone's relax hook. */
static void word_take(const struct buddy_zone *z, int *w)
{
	int idle = 0;
	while (!__atomic_compare_exchange_n(w, &idle, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		idle = 0;
		zone_relax(z);
	}
}

/* `registry`: one drainer at a time, and the page-set list holds still. */
static void registry_lock(struct buddy_zone *z)
{
	word_take(z, &z->registry);
}

static void registry_unlock(struct buddy_zone *z)
{
	__atomic_store_n(&z->registry, 0, __ATOMIC_RELEASE);
}

/*
 * The owner enters its set; 0 when a drainer holds it, or the zone is
 * damaged (drain_req 2, set by corrupt): then it keeps off. With the heavy
 * barrier, buddy_ps_enter_ (buddy/pageset.h); else an exchange.
 */
static HOT_INLINE int ps_enter(struct buddy_pageset *ps)
{
	if (likely(ps->barrier)) {
		return buddy_ps_enter_(ps);
	} else if (!__atomic_exchange_n(&ps->busy, 1, __ATOMIC_ACQUIRE)) {
		if (likely(!LOAD_RELAXED(&ps->drain_req)))
			return 1;
	} else {
		return 0;
	}
	__atomic_store_n(&ps->busy, 0, __ATOMIC_RELEASE);
	return 0;
}

static HOT_INLINE void ps_exit(struct buddy_pageset *ps)
{
	buddy_ps_exit_(ps);
}

/*
 * Close a set's inline paths (buddy/pageset.h): every list at its low mark
 * (its end) and full (lim at its start), so that the owner's next call
 * takes the slow path, which looks at drain_req. Release: an owner that
 * finds the marks open again sees what was done to the set meanwhile.
 */
static void ps_close(struct buddy_pageset *ps)
{
	for (unsigned k = 0; k < BUDDY_NR_PCP_ORDERS; k++) {
		__atomic_store_n(&ps->low[k], &ps->slot[k][BUDDY_PAGESET_SLOTS], __ATOMIC_RELEASE);
		__atomic_store_n(&ps->lim[k], &ps->slot[k][0], __ATOMIC_RELEASE);
	}
}

/* Every set: drain_req = req, then (after a full fence: see ps_publish_lows) closed. */
static void pagesets_close(struct buddy_zone *z, int req)
{
	struct buddy_pageset *ps;
	for (ps = z->pagesets; ps; ps = ps->next)
		__atomic_store_n(&ps->drain_req, req, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (ps = z->pagesets; ps; ps = ps->next)
		ps_close(ps);
}

/*
 * Take every page set from its owner; the caller holds neither the zone
 * lock nor a set of its own. Owners are inside their sets for a bounded
 * time (at most one zone-lock acquisition), so the waits end.
 *
 * With the heavy barrier: drain_req = 1 and the sets closed (pagesets_close),
 * barrier(), then wait until no owner is inside its set. An owner that
 * entered before the barrier is seen busy; one that enters after it sees
 * its set closed, and its slow path sees drain_req. An owner that sets its
 * low marks again in a slow path (ps_publish_lows) looks at drain_req after
 * a full fence and closes them again if it is set, so no open mark written
 * before the close outlives it.
 */
static void pagesets_stop(struct buddy_zone *z)
{
	struct buddy_pageset *ps;

	registry_lock(z);
	if (z->barrier && z->pagesets) {
		pagesets_close(z, 1);
		z->barrier(z->lock_arg);
		for (ps = z->pagesets; ps; ps = ps->next)
			while (__atomic_load_n(&ps->busy, __ATOMIC_ACQUIRE))
				zone_relax(z);
		return;
	}
	for (ps = z->pagesets; ps; ps = ps->next)
		word_take(z, &ps->busy);
}

static void ps_mark(struct buddy_zone *z, struct buddy_pageset *ps, int reopen);
static void ps_lims_open(const struct buddy_zone *z, struct buddy_pageset *ps);

/*
 * Give the sets back to their owners; with the zone lock, so that a zone
 * found damaged meanwhile keeps them closed (corrupt runs under the lock).
 * The marks open first (release), then drain_req goes.
 */
static void pagesets_start(struct buddy_zone *z)
{
	for (struct buddy_pageset *ps = z->pagesets; ps; ps = ps->next) {
		if (ps->barrier && !z->corrupted) {
			ps_mark(z, ps, 1);
			ps_lims_open(z, ps);
		}
		__atomic_store_n(ps->barrier ? &ps->drain_req : &ps->busy,
				 ps->barrier && z->corrupted ? 2 : 0, __ATOMIC_RELEASE);
	}
	registry_unlock(z);
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
	/* Other threads' page sets change without the lock: check those at quiescence. */
	if (z && !z->corrupted && !(z->lock && z->pagesets) &&
	    BUDDY_DEBUG_CHECK_DUE(z->allocs + z->frees, z->total_pages))
		BUDDY_ASSERT(buddy_check_locked(z, NULL, NULL) == 0);
}
#endif
#define ZONE_CHECK_ON_RETURN(z) BUDDY_CHECK_ON_RETURN(zone_check_on_return, z)

#if BUDDY_DEBUG >= 2
/*
 * The same for the one-thread fast paths (single_update), which run
 * without the zone path's frame: only a zone they serve, since another
 * zone's lock is no longer held here (its zone path checks under it).
 */
static void single_check_on_return(struct buddy_zone **zp)
{
	if (*zp && (*zp)->nr_single_orders)
		zone_check_on_return(zp);
}
#endif
#define SINGLE_CHECK_ON_RETURN(z) BUDDY_CHECK_ON_RETURN(single_check_on_return, z)

/* ------------------------------------------------------------------ */
/* free lists                                                          */
/* ------------------------------------------------------------------ */

static void list_init(struct buddy_list *h)
{
	h->next = h;
	h->prev = h;
}

/*
 * Outside links: the entry of p, a list head (inside the zone) or a free
 * block of a region. Every caller passes a head or a block address that
 * was checked or that the zone linked itself, so the region is there.
 */
struct buddy_list *buddy_links_outside(const struct buddy_zone *z, const struct buddy_list *p)
{
	uintptr_t a = (uintptr_t)p;
	if (a - (uintptr_t)z < sizeof(*z))
		return (struct buddy_list *)p;
	const struct buddy_region *r = buddy_region_lookup(z, a);
	BUDDY_ASSERT(r != NULL);
	return region_link_of(z, r, a);
}

/*
 * Put the block at a (its list entry e) at the front of the list at h.
 * outside: z->outside_links (a constant where the caller knows it).
 */
static HOT_INLINE void list_push(const struct buddy_zone *z, struct buddy_list *h, uintptr_t a,
				 struct buddy_list *e, int outside)
{
	struct buddy_list *n = (struct buddy_list *)a;
	if (!outside)
		annot_links(n);
	e->next = h->next;
	e->prev = h;
	(outside ? buddy_links_outside(z, h->next) : h->next)->prev = n;
	h->next = n;
}

/* The free block of `order` at page idx of r joins its free list. */
static HOT_INLINE void area_add(struct buddy_zone *z, const struct buddy_region *r, unsigned order,
				 size_t idx)
{
	struct buddy_free_area *fa = &z->free_area[order];
	uintptr_t a = region_addr(z, r, idx);

	list_push(z, &fa->free_list, a, region_link_of(z, r, a), z->outside_links);
	if (fa->nr_free++ == 0)
		z->nonempty |= 1u << order;
}

/* Take n off its list (its links were checked: node_check or pcp_take). */
static inline void list_del(const struct buddy_zone *z, struct buddy_list *n)
{
	struct buddy_list *e = list_entry(z, n);
	struct buddy_list *next = list_entry(z, e->next), *prev = list_entry(z, e->prev);
	/* P4, P6: a node on a list is pointed back at by both neighbours. */
	BUDDY_ASSERT(next->prev == n && prev->next == n);
	prev->next = e->next;
	next->prev = e->prev;
}

/*
 * The block at a leaves the lists for good (merged into its buddy, or
 * handed to a page set): links in the block get the poison byte back (it
 * may become part of a larger free block) and lose access again.
 */
static void links_retire(const struct buddy_zone *z, uintptr_t a);

/* The list entries of a checked node (node_check) and of its two neighbours. */
struct node_links {
	struct buddy_list *e, *next, *prev;
};

/* Take the checked node n off its list, through the entries node_check found. */
static inline void node_unlink(const struct node_links *l, const struct buddy_list *n)
{
	/* P4, P6: a node on a list is pointed back at by both neighbours. */
	BUDDY_ASSERT(l->next->prev == n && l->prev->next == n);
	(void)n;
	l->prev->next = l->e->next;
	l->next->prev = l->e->prev;
}

/* Unlink the free block at a: through its checked entries l, or (l NULL) found anew. */
static void area_unlink(struct buddy_zone *z, unsigned order, uintptr_t a,
			const struct node_links *l)
{
	struct buddy_free_area *fa = &z->free_area[order];

	BUDDY_ASSERT(fa->nr_free > 0);
	if (l)
		node_unlink(l, (const struct buddy_list *)a);
	else
		list_del(z, (struct buddy_list *)a);
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
	STORE_RELAXED(&z->corrupted, 1);
	single_update(z);
	set_error(z, BUDDY_ECORRUPT);
	/* Page sets close too: their owners' calls go to the zone, which refuses. */
	pagesets_close(z, 2);
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

static void links_retire(const struct buddy_zone *z, uintptr_t a)
{
	if (z->outside_links)
		return;
	poison_fill(z, a, ANNOT_LINK_BYTES);
	annot_noaccess((void *)a, ANNOT_LINK_BYTES);
}

/*
 * The free block of n bytes at a is about to be handed out: all but its
 * links (none with outside links) must still hold the poison byte. A
 * memory checker is told the bytes are readable first, since the
 * allocator itself reads them.
 */
static COLD int poison_check(struct buddy_zone *z, const char *op, uintptr_t a, size_t n)
{
	const unsigned char *p = (const unsigned char *)a;
	size_t from = z->outside_links ? 0 : ANNOT_LINK_BYTES;

	if (n <= from)
		return BUDDY_OK;
	annot_defined(p + from, n - from);
	for (size_t i = from; i < n; i++)
		if (p[i] != BUDDY_POISON_BYTE)
			return corrupt(z, op, "corrupted free page: freed page written after free",
				       p + i);
	return BUDDY_OK;
}

/* The hinted region when it holds a: the one test every fast path makes. */
static inline struct buddy_region *hint_region(const struct buddy_region *hint, uintptr_t a)
{
	return likely(hint && region_has(hint, a)) ? (struct buddy_region *)hint : NULL;
}

/*
 * Is p a list head of this zone's lists, or the first page of a block
 * whose page byte is `want`? Checked before p is ever dereferenced. The
 * entry of p (p itself, or with outside links its entry in the region's
 * metadata), or NULL when it is neither.
 */
static inline struct buddy_list *link_entry(const struct buddy_zone *z,
					    const struct buddy_list *head,
					    const struct buddy_list *p, uint8_t want, int outside)
{
	if (p == head)
		return (struct buddy_list *)p;
	uintptr_t a = (uintptr_t)p;
	const struct buddy_region *r = hint_region(z->hint, a);
	if (unlikely(!r))
		r = buddy_region_lookup(z, a);
	if (!r || (a & (z->page_size - 1)) || r->pg[region_index(z, r, a)] != want)
		return NULL;
	/*
	 * In a library built for a memory checker, a block a page set holds has
	 * the page cache's byte but no links, and is marked inaccessible: a link
	 * naming one is damage, and is not followed (reading it would be a
	 * report of the checker's own). Elsewhere its words are read, and do not
	 * point back.
	 */
	if (ANNOT_ACTIVE && !outside && (want & (uint8_t)~PG_ORDER) == PG_CACHED && z->pagesets &&
	    pagesets_hold(z, a, want & PG_ORDER))
		return NULL;
	return outside ? &region_links(r)[region_index(z, r, a)] : (struct buddy_list *)p;
}

static inline int link_ok(const struct buddy_zone *z, const struct buddy_list *head,
			  const struct buddy_list *p, uint8_t want)
{
	return link_entry(z, head, p, want, z->outside_links) != NULL;
}

/*
 * Check the node at a (a block whose page byte should be `want`, on the
 * list `head`) and its neighbours before unlinking: both links must lead
 * to valid nodes that point back at it, as glibc's unlink checks, and they
 * must be two nodes unless both are the head (a list of one block). That
 * last test catches what pointing back cannot: a block whose links were
 * overwritten with its own address (a program initialising a list head in
 * memory it freed), or two blocks made to point at each other, pass it,
 * and unlinking such a block would leave the list still leading to it
 * once it is handed out. On success *l (when l is not NULL) holds the
 * three entries, for area_unlink to use without finding them again.
 */
static int node_check(struct buddy_zone *z, const char *op, const struct buddy_list *head,
		      uintptr_t a, uint8_t want, struct node_links *l)
{
	const struct buddy_list *n = (const struct buddy_list *)a;
	int outside = z->outside_links;
	struct buddy_list *e = n == head ? NULL : link_entry(z, head, n, want, outside);
	const char *what = NULL;
	struct buddy_list *next = NULL, *prev = NULL;
	if (!e) {
		what = "corrupted free list: list entry is not a free block";
	} else {
		next = link_entry(z, head, e->next, want, outside);
		prev = link_entry(z, head, e->prev, want, outside);
		if (!next || !prev)
			what = "corrupted free list: link points outside the free blocks";
		else if (next->prev != n || prev->next != n)
			what = "corrupted free list: neighbours do not point back";
		else if (next == prev && next != head)
			what = "corrupted free list: links form a cycle without the list head";
	}
	if (what) {
		corrupt(z, op, what, n);
		return BUDDY_ECORRUPT;
	}
	if (l)
		*l = (struct node_links){ e, next, prev };
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
	const struct buddy_region *r = hint_region(z->hint, a);
	if (r)
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
	struct buddy_region *r = hint_region(z->hint, a);
	return r ? r : region_find_slow(z, a);
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
	bytes += nr_pages;
	if (z->outside_links)
		bytes = ((bytes + 7) & ~(size_t)7) + nr_pages * sizeof(struct buddy_list);
	return bytes;
}

size_t buddy_meta_size(const struct buddy_zone *zone, size_t len)
{
	if (!zone || len < zone->page_size)
		return 0;
	return meta_bytes_for(zone, len >> zone->page_shift);
}

/*
 * Lay out the metadata `skip` bytes into [meta, meta + meta_len) (skip is
 * the guard in front of carved metadata) and mark every page as in use,
 * every pair bit 0 (already so when the caller says the memory is zeroed).
 */
static struct buddy_region *region_setup(struct buddy_zone *z, uintptr_t base,
					 size_t nr_pages, void *meta, size_t meta_len,
					 size_t skip, unsigned flags)
{
	struct buddy_region *r = (struct buddy_region *)((uint8_t *)meta + skip);
	uint8_t *p = (uint8_t *)r + ((sizeof(*r) + 7) & ~(size_t)7);

	mem_zero(r, (flags & BUDDY_META_ZEROED) ? sizeof(*r) : meta_len - skip);
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
	/* Outside links need no set-up: an entry is read only once its block is linked. */
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
	ZONE_LOCK_SCOPE(z);
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

	size_t nr_pages = len >> z->page_shift, skip = 0;
	if (!meta) {
		/*
		 * The metadata takes whole pages from the region's tail, behind
		 * a guard of unused pages (buddy_guard_pages) that an overflow
		 * past the last page handed out reaches first.
		 */
		size_t need = meta_bytes_for(z, nr_pages);
		size_t meta_pages = ((need + z->page_size - 1) >> z->page_shift) + buddy_guard_pages(z);
		if (meta_pages >= nr_pages)
			return fail(z, BUDDY_ESMALL);
		nr_pages -= meta_pages;
		meta = (void *)(b + (nr_pages << z->page_shift));
		meta_len = meta_pages << z->page_shift;
		skip = buddy_guard_pages(z) << z->page_shift;
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

	struct buddy_region *r = region_setup(z, b, nr_pages, meta, meta_len, skip, flags);
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
	ZONE_LOCK_SCOPE(z);
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
	ZONE_LOCK_SCOPE(z);
	const struct buddy_region *r = z ? buddy_region_lookup(z, (uintptr_t)addr) : NULL;
	return r ? r->owner : NULL;
}

size_t buddy_region_cached_pages(const struct buddy_zone *z, const struct buddy_region *r)
{
	size_t n = 0;
	for (size_t idx = 0; idx < r->nr_pages;) {
		uint8_t b = pg_get(r, idx);
		size_t len = pg_state(b) == PG_TAIL ? 1 : (size_t)1 << pg_order(b);
		if (pg_held(z, r, idx, b))
			n += len;
		idx += len;
	}
	return n;
}

static void pagesets_drain_locked(struct buddy_zone *z);
static void ps_set_hint(const struct buddy_zone *z, struct buddy_pageset *ps,
			const struct buddy_region *r);

/*
 * With the zone lock (and every page set stopped): the region goes when
 * all its pages are free or cached; a busy region changes nothing.
 */
static int remove_region_locked(struct buddy_zone *z, void *base)
{
	ZONE_CHECK_ON_RETURN(z);
	if (z->corrupted)
		return fail(z, BUDDY_ECORRUPT);
	if (!base)
		return fail(z, BUDDY_ENULL);
	struct buddy_region **pp = region_link(z, base);
	struct buddy_region *r = *pp;
	if (!r)
		return fail(z, BUDDY_EOUTSIDE);
	if (r->free_pages != r->nr_pages &&
	    r->free_pages + (z->cached_pages || z->pagesets ? buddy_region_cached_pages(z, r) : 0) !=
		    r->nr_pages)
		return fail(z, BUDDY_EBUSY);
	if (r->free_pages != r->nr_pages) {
		/* Only cached blocks are missing: merge them back. */
		pagesets_drain_locked(z);
		if (z->corrupted)
			return BUDDY_ECORRUPT;
	}

	/* A wholly free region is fully merged: exactly its carving blocks. */
	for (size_t idx = 0; idx < r->nr_pages;) {
		unsigned k = buddy_carve_order(idx, r->nr_pages, r->max_order);
		if (node_check(z, "remove_region", &z->free_area[k].free_list,
			       region_addr(z, r, idx), (uint8_t)(PG_FREE | k), NULL))
			return BUDDY_ECORRUPT;
		idx += (size_t)1 << k;
	}
	for (size_t idx = 0; idx < r->nr_pages;) {
		unsigned k = buddy_carve_order(idx, r->nr_pages, r->max_order);
		area_unlink(z, k, region_addr(z, r, idx), NULL);
		idx += (size_t)1 << k;
	}
	annot_defined((void *)r->base, r->nr_pages << z->page_shift);
	*pp = r->next;
	if (z->hint == r)
		z->hint = NULL;
	for (struct buddy_pageset *ps = z->pagesets; ps; ps = ps->next)
		if (ps->hint == r)
			ps_set_hint(z, ps, NULL);
	z->nr_regions--;
	index_rebuild(z);
	z->total_pages -= r->nr_pages;
	z->free_pages -= r->nr_pages;
	z->meta_bytes -= r->meta_bytes;
	zone_max_order_update(z);
	return BUDDY_OK;
}

int buddy_remove_region(struct buddy_zone *z, void *base)
{
	if (!z)
		return BUDDY_ENULL;
	/* Page sets hold blocks and region pointers: take them all first. */
	pagesets_stop(z);
	buddy_zone_lock(z);
	int st = remove_region_locked(z, base);
	pagesets_start(z);
	buddy_zone_unlock(z);
	return st;
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
	cfg->lock = NULL;
	cfg->unlock = NULL;
	cfg->trylock = NULL;
	cfg->lock_arg = NULL;
	cfg->pageset = NULL;
	cfg->pageset_arg = NULL;
	cfg->pcp_batch = 0;
	cfg->barrier = NULL;
	cfg->relax = NULL;
	cfg->strict_frees = 0;
	cfg->outside_links = 0;
}

/*
 * A zone's tag key: odd (a page-aligned block's tag is then never 0, the
 * cleared word), different for each zone this process initialises (a
 * counter) and, with address-space randomisation, from run to run (the
 * zone's and the stack's addresses), mixed by splitmix64's finaliser. The
 * tags find damage, as the links' checks do; they are no secret from a
 * program that reads its freed memory.
 */
static uintptr_t tag_key_new(const struct buddy_zone *z)
{
	static uint64_t seq;
	uint64_t x = (uint64_t)(uintptr_t)z ^ ((uint64_t)(uintptr_t)&seq << 21) ^
		     ((uint64_t)(uintptr_t)&x << 7) ^
		     __atomic_add_fetch(&seq, 0x9e3779b97f4a7c15ull, __ATOMIC_RELAXED);
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (uintptr_t)x | 1u;
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
	if (!cfg->lock != !cfg->unlock || (cfg->trylock && !cfg->lock))
		return BUDDY_ECONFIG;
	if (cfg->pageset && !cfg->pcp_high)
		return BUDDY_ECONFIG; /* page sets cache what the page cache would */

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
	/* Default batch: a quarter of high, a power of two (Linux's is a sixth;
	 * W2 measured fewer lock trips with a quarter, see docs/threads.md). */
	z->pcp_batch = cfg->pcp_batch;
	if (!z->pcp_batch && cfg->pcp_high)
		z->pcp_batch = 1u << log2_floor(cfg->pcp_high >= 4 ? cfg->pcp_high / 4 : 1);
	z->lock = cfg->lock;
	z->unlock = cfg->unlock;
	z->trylock = cfg->trylock;
	z->lock_arg = cfg->lock_arg;
	z->pageset_get = cfg->pageset;
	z->pageset_arg = cfg->pageset_arg;
	z->barrier = cfg->barrier;
	z->relax = cfg->relax;
	z->strict_frees = cfg->strict_frees != 0;
	z->outside_links = cfg->outside_links != 0;
	/* Free tags where the sets' inline paths run (see struct buddy_pageset):
	 * not where a memory checker watches the free pages, a strict free
	 * claims the page byte, the zone promises never to write into a free
	 * block, or poisoning fills it. */
	z->tag_key = z->barrier && !ANNOT_ACTIVE && !z->strict_frees && !z->outside_links &&
				     z->nr_fast_orders
			     ? tag_key_new(z)
			     : 0;
	single_update(z);
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
		area_add(z, r, high, upper);
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
	struct node_links l = { NULL, NULL, NULL };
	if (node_check(z, "alloc_pages", head, a, (uint8_t)(PG_FREE | cur), &l))
		return NULL;
	/* The first block links back to the head itself (else the head would keep leading to it). */
	if (unlikely(l.prev != head)) {
		corrupt(z, "alloc_pages", "corrupted free list: first block does not link to the head",
			(void *)a);
		return NULL;
	}
	struct buddy_region *r = region_find(z, a);
	size_t idx = region_index(z, r, a);

	area_unlink(z, cur, a, &l);
	if (cur < r->max_order)
		pair_toggle(r, cur, idx);
	expand(z, r, idx, order, cur);
	r->free_pages -= (size_t)1 << order;
	z->free_pages -= (size_t)1 << order;
	*idx_out = idx;
	return r;
}

/* ------------------------------------------------------------------ */
/* the zone's page cache (under the zone lock)                          */
/* ------------------------------------------------------------------ */

/*
 * Pop the newest cached block of `order`; NULL if the list is damaged. The
 * head's link was written by the allocator itself; the links stored in the
 * block are checked before they are used.
 */
static HOT_INLINE struct buddy_region *pcp_take(struct buddy_zone *z, unsigned order, size_t *idx_out)
{
	struct buddy_pcp *pc = &z->pcp[order];
	struct buddy_list *h = &pc->list, *n = h->next, *e = list_entry(z, n), *next = e->next;

	if (e->prev != h || !link_ok(z, h, next, (uint8_t)(PG_CACHED | order)) ||
	    list_entry(z, next)->prev != n) {
		corrupt(z, "alloc_pages", "corrupted free list: cached block's links are damaged", n);
		return NULL;
	}
	list_del(z, n);
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
		struct node_links l = { NULL, NULL, NULL };
		if (node_check(z, "drain_cache", &pc->list, (uintptr_t)n, (uint8_t)(PG_CACHED | order),
			       &l))
			return BUDDY_ECORRUPT;
		if (unlikely(l.next != &pc->list)) /* the last block links on to the head itself */
			return corrupt(z, "drain_cache",
				       "corrupted free list: last cached block does not link to the head", n);
		node_unlink(&l, n);
		links_retire(z, (uintptr_t)n);
		pc->count--;
		z->cached_pages -= (size_t)1 << order;
		struct buddy_region *r = region_find(z, (uintptr_t)n);
		int st = free_block(z, r, region_index(z, r, (uintptr_t)n), order);
		if (st)
			return st;
	}
	return BUDDY_OK;
}

/*
 * Cache the block instead of merging it; trim the list when it grows long.
 * outside: z->outside_links (a constant 0 on the one-thread fast path).
 */
static HOT_INLINE int pcp_put_in(struct buddy_zone *z, struct buddy_region *r, size_t idx,
				 unsigned order, int outside)
{
	struct buddy_pcp *pc = &z->pcp[order];
	struct buddy_list *n = (struct buddy_list *)region_addr(z, r, idx);

	r->pg[idx] = (uint8_t)(PG_CACHED | order);
	list_push(z, &pc->list, (uintptr_t)n, outside ? region_link_of(z, r, (uintptr_t)n) : n,
		  outside);
	pc->count++;
	z->cached_pages += (size_t)1 << order;
	if (pc->count > z->pcp_high)
		return pcp_drain(z, order, (z->pcp_high + 1) / 2);
	return BUDDY_OK;
}

static inline int pcp_put(struct buddy_zone *z, struct buddy_region *r, size_t idx, unsigned order)
{
	return pcp_put_in(z, r, idx, order, z->outside_links);
}

/* Pages in use only grow on allocation: note a new peak. */
/*
 * The peak only grows. Page-set owners raise it without the zone lock
 * (ps_peak), so every write is an atomic maximum; a compare-and-swap only
 * when the peak really moves.
 */
static inline void peak_raise(struct buddy_zone *z, size_t used)
{
	size_t old = LOAD_RELAXED(&z->peak_used_pages);
	while (unlikely(used > old) &&
	       !__atomic_compare_exchange_n(&z->peak_used_pages, &old, used, 1, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

static inline void peak_note(struct buddy_zone *z)
{
	size_t used = z->total_pages - z->free_pages - z->cached_pages;
	if (unlikely(z->pagesets != NULL))
		used = buddy_used_pages(z);
	peak_raise(z, used);
}

/* ------------------------------------------------------------------ */
/* page sets (the protocol is at the top of this file)                 */
/* ------------------------------------------------------------------ */

/* Pages a set holds: its counts (the owner's, or any thread's at a quiescent point). */
static size_t ps_cached(const struct buddy_pageset *ps)
{
	size_t n = 0;
	for (unsigned k = 0; k < BUDDY_NR_PCP_ORDERS; k++)
		n += (size_t)ps_count(ps, k) << k;
	return n;
}

static size_t pagesets_cached(const struct buddy_zone *z, const struct buddy_pageset *except)
{
	size_t n = 0;
	for (const struct buddy_pageset *ps = z->pagesets; ps; ps = ps->next)
		if (ps != except)
			n += ps_cached(ps);
	return n;
}

size_t buddy_used_pages(const struct buddy_zone *z)
{
	size_t used = z->total_pages - z->free_pages - z->cached_pages;
	return z->pagesets ? used - pagesets_cached(z, NULL) : used;
}

/*
 * The low marks (the peak, derived lazily). The zone's use is rest - P,
 * where P is the set's pages and rest every page neither free nor in the
 * zone's cache nor in another set; it passes the peak mark_peak exactly
 * when P falls below thresh = rest - mark_peak. A free only raises P, and
 * an allocation that leaves every list at or above its low mark keeps
 * P >= sum(low[k] << k) >= thresh: so the fast paths need no counter and
 * no compare for the peak, only the compare of top against low that finds
 * an empty list anyway. Below a mark, the slow path (ps_low) counts P,
 * notes a new peak, and sets the marks again.
 *
 * ps_set_lows shares the slack P - thresh (P after the allocation of
 * `order` at hand, whose list has already given up that block) among the
 * lists, as many blocks to each (2^nr_orders - 1 pages buy one block of
 * every order), the remainder to `order`'s, each list at most its entries (the
 * orders the set does not cache are never served: their marks stay).
 *
 * The marks are also what a drainer closes (pagesets_close). The owner
 * writes them only inside its set, and then, after a full fence, looks at
 * drain_req: set, it closes them again. Either the drainer's store of
 * drain_req comes first in the fences' order, and the owner sees it, or
 * the owner's marks come before the drainer's close. `reopen`: the drainer
 * itself opens a set it gives back (pagesets_start).
 */
static void ps_publish_lows(struct buddy_pageset *ps, struct buddy_pageset_entry *const *low,
			    int reopen)
{
	for (unsigned k = 0; k < ps->nr_orders; k++)
		__atomic_store_n(&ps->low[k], low[k], __ATOMIC_RELEASE);
	if (reopen)
		return;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&ps->drain_req, __ATOMIC_RELAXED))
		ps_close(ps);
}

static void ps_set_lows(struct buddy_pageset *ps, size_t pages, unsigned order, unsigned taken,
			int reopen)
{
	struct buddy_pageset_entry *low[BUDDY_NR_PCP_ORDERS];
	/* pages >= thresh: the callers noted any new peak first. */
	size_t slack = (size_t)((ptrdiff_t)pages - ps->thresh), weight = ((size_t)1 << ps->nr_orders) - 1;
	size_t per = weight ? slack / weight : 0, rest = slack - per * weight;
	for (unsigned k = 0; k < ps->nr_orders; k++) {
		size_t n = ps_count(ps, k) - (k == order ? taken : 0);
		size_t give = per + (k == order ? rest >> k : 0);
		low[k] = &ps->slot[k][n - (give < n ? give : n)];
	}
	ps_publish_lows(ps, low, reopen);
}

/*
 * With the zone lock: mark the set against the zone's peak as it stands
 * (used = rest - P, above). A use already past the peak (another set's
 * margin was stale) is noted here.
 */
static void ps_mark(struct buddy_zone *z, struct buddy_pageset *ps, int reopen)
{
	size_t rest = z->total_pages - z->free_pages - z->cached_pages - pagesets_cached(z, ps);
	size_t pages = ps_cached(ps), peak = LOAD_RELAXED(&z->peak_used_pages);
	if (rest - pages > peak) {
		peak = rest - pages;
		peak_raise(z, peak);
	}
	ps->mark_peak = peak;
	ps->thresh = (ptrdiff_t)rest - (ptrdiff_t)peak;
	ps_set_lows(ps, pages, 0, 0, reopen);
}

/* A free adds an entry to a list below high: lim, for the orders the set caches. */
static void ps_lims_open(const struct buddy_zone *z, struct buddy_pageset *ps)
{
	for (unsigned k = 0; k < BUDDY_NR_PCP_ORDERS; k++)
		__atomic_store_n(&ps->lim[k], &ps->slot[k][k < ps->nr_orders ? z->pcp_high : 0],
				 __ATOMIC_RELEASE);
}

/*
 * With the zone lock: the set's calls join the zone's counters. Only
 * allocations are counted on the fast path: the entries a set holds are
 * moved + frees - allocs, so its frees are entries - moved + allocs.
 */
static void ps_fold(struct buddy_zone *z, struct buddy_pageset *ps)
{
	size_t entries = 0;
	for (unsigned k = 0; k < BUDDY_NR_PCP_ORDERS; k++)
		entries += ps_count(ps, k);
	z->allocs += ps->allocs;
	z->frees += entries - ps->moved + ps->allocs;
	STORE_RELAXED(&ps->allocs, 0);
	ps->moved = entries;
}

/* The set's copy of its hint region (r NULL: none, every address misses). */
static void ps_set_hint(const struct buddy_zone *z, struct buddy_pageset *ps,
			const struct buddy_region *r)
{
	ps->hint = r;
	ps->base = r ? r->base : 0;
	ps->nr_pages = r ? r->nr_pages : 0;
	ps->pg = r ? r->pg : NULL;
	ps->shift = z->page_shift;
}

/*
 * With the zone lock: the `nr` oldest entries of `order` go back to the
 * buddy lists. Each must still be a cached block of that order.
 */
static int ps_give_back(struct buddy_zone *z, struct buddy_pageset *ps, unsigned order, unsigned nr)
{
	unsigned n = ps_count(ps, order), i;
	int st = BUDDY_OK;

	for (i = 0; i < nr && !st; i++) {
		const struct buddy_pageset_entry *e = &ps->slot[order][i];
		uintptr_t a = (uintptr_t)e->addr;
		struct buddy_region *r = region_find(z, a);
		size_t idx = r ? region_index(z, r, a) : 0;
		int mark = r ? entry_mark(z->tag_key, r->pg[idx], order, a) : MARK_NONE;
		if (!r || (a & (z->page_size - 1)) || e->pg != &r->pg[idx] || mark == MARK_NONE) {
			st = corrupt(z, "drain_cache", "corrupted page set: entry is not a cached block",
				     e->addr);
		} else {
			if (mark == MARK_TAGGED)
				block_untag(a);
			st = free_block(z, r, idx, order);
		}
	}
	for (unsigned j = i; j < n; j++) /* the rest move down: oldest first */
		ps->slot[order][j - i] = ps->slot[order][j];
	STORE_RELAXED(&ps->top[order], &ps->slot[order][n - i]);
	ps->moved -= i;
	return st;
}

/*
 * With the zone lock, every page set stopped: every cached block, in the
 * sets and the zone's page cache, goes back to the buddy lists.
 */
static void pagesets_drain_locked(struct buddy_zone *z)
{
	struct buddy_pageset *ps;

	for (ps = z->pagesets; ps && !z->corrupted; ps = ps->next) {
		ps_fold(z, ps);
		for (unsigned k = 0; k < z->nr_pcp_orders && !z->corrupted; k++)
			ps_give_back(z, ps, k, ps_count(ps, k));
	}
	for (unsigned k = 0; k < z->nr_pcp_orders && !z->corrupted; k++)
		pcp_drain(z, k, z->pcp[k].count);
	for (ps = z->pagesets; ps; ps = ps->next)
		ps_mark(z, ps, 0);
}

/*
 * With the zone lock, the caller in no page set: drain every cache. The
 * lock is let go while the sets are taken from their owners (an owner may
 * be waiting for it) and held again on return.
 */
static void cache_drain_relock(struct buddy_zone *z)
{
	if (z->pagesets) {
		buddy_zone_unlock(z);
		pagesets_stop(z);
		buddy_zone_lock(z);
		if (!z->corrupted)
			pagesets_drain_locked(z);
		pagesets_start(z);
		return;
	}
	for (unsigned k = 0; k < z->nr_pcp_orders; k++)
		if (pcp_drain(z, k, z->pcp[k].count))
			return;
}

void buddy_drain_cache(struct buddy_zone *z)
{
	if (!z)
		return;
	ZONE_LOCK_SCOPE(z);
	ZONE_CHECK_ON_RETURN(z);
	if (!z->corrupted)
		cache_drain_relock(z);
}

/* Every list empty. */
static void ps_lists_init(const struct buddy_zone *z, struct buddy_pageset *ps)
{
	for (unsigned k = 0; k < BUDDY_NR_PCP_ORDERS; k++)
		ps->top[k] = ps->low[k] = &ps->slot[k][0];
	ps_lims_open(z, ps);
}

int buddy_pageset_init(struct buddy_zone *z, struct buddy_pageset *ps)
{
	if (!z || !ps)
		return BUDDY_ENULL;
	if (!z->nr_pcp_orders || z->pcp_high + z->pcp_batch > BUDDY_PAGESET_SLOTS)
		return BUDDY_ECONFIG;
	mem_zero(ps, sizeof(*ps));
	ps->zone = z;
	ps->barrier = z->barrier != NULL;
	ps->nr_orders = z->nr_fast_orders;
	ps->barrier_orders = ps->barrier ? ps->nr_orders : 0;
	/* The inline paths use free tags (and so annotate nothing and claim no
	 * page byte atomically): without a tag key every call comes here. */
	ps->tag_key = z->tag_key;
	ps->inline_orders = z->tag_key ? ps->barrier_orders : 0;
	ps->inline_free_orders = ps->inline_orders;
	ps_lists_init(z, ps);
	ps_set_hint(z, ps, NULL);
	registry_lock(z);
	buddy_zone_lock(z);
	ps->next = z->pagesets;
	z->pagesets = ps;
	single_update(z);
	ps_mark(z, ps, 0);
	buddy_zone_unlock(z);
	registry_unlock(z);
	return BUDDY_OK;
}

/* With `registry` and the zone lock: ps gives everything back and leaves the list. */
static void ps_unregister(struct buddy_zone *z, struct buddy_pageset *ps)
{
	ps_fold(z, ps);
	for (unsigned k = 0; k < z->nr_pcp_orders && !z->corrupted; k++)
		ps_give_back(z, ps, k, ps_count(ps, k));
	/*
	 * A stopped zone keeps the set's blocks where they are, and no set names
	 * them any more: for a memory checker their link bytes become readable,
	 * as other cached blocks' are (a damaged link that names one is then
	 * read, found not to point back, and not followed).
	 */
	if (ANNOT_ACTIVE && z->corrupted && !z->outside_links)
		for (unsigned k = 0; k < z->nr_pcp_orders; k++)
			for (unsigned i = 0; i < ps_count(ps, k) && i < BUDDY_PAGESET_SLOTS; i++)
				annot_defined(ps->slot[k][i].addr, ANNOT_LINK_BYTES);
	struct buddy_pageset **pp = &z->pagesets;
	while (*pp && *pp != ps)
		pp = &(*pp)->next;
	if (*pp)
		*pp = ps->next;
	single_update(z);
	/* The last set gone, the peak is exact again: a use that passed it unseen (another
	 * thread's set moved since a mark, buddy/page.h) is noted now. */
	if (!z->pagesets)
		peak_note(z);
	/* Released: its owner's calls miss every order and region, and find no zone. */
	ps_close(ps);
	ps->nr_orders = 0;
	ps->barrier_orders = 0;
	ps->inline_orders = 0;
	ps->inline_free_orders = 0;
	ps_set_hint(z, ps, NULL);
	STORE_RELAXED(&ps->zone, NULL);
}

void buddy_pageset_release(struct buddy_pageset *ps)
{
	struct buddy_zone *z = ps ? LOAD_RELAXED(&ps->zone) : NULL;
	if (!z)
		return;
	/* With `registry` no drainer holds the set, and its owner is the caller. */
	registry_lock(z);
	buddy_zone_lock(z);
	if (LOAD_RELAXED(&ps->zone) == z) /* not let go by buddy_zone_release_pagesets meanwhile */
		ps_unregister(z, ps);
	buddy_zone_unlock(z);
	registry_unlock(z);
}

void buddy_zone_release_pagesets(struct buddy_zone *z)
{
	if (!z)
		return;
	pagesets_stop(z);
	buddy_zone_lock(z);
	struct buddy_pageset *list = z->pagesets;
	while (z->pagesets)
		ps_unregister(z, z->pagesets);
	/* As pagesets_start, for the sets that were on the list. */
	for (struct buddy_pageset *ps = list, *next; ps; ps = next) {
		next = ps->next;
		__atomic_store_n(ps->barrier ? &ps->drain_req : &ps->busy, 0, __ATOMIC_RELEASE);
	}
	buddy_zone_unlock(z);
	registry_unlock(z);
}

static COLD void *zero_fill(void *p, size_t n)
{
	mem_zero(p, n);
	return p;
}

/*
 * Inside the set, the newest entry of `order` becomes an allocation, as
 * buddy_ps_pop_ does, whichever mark it has: a "cached" page byte (a block
 * a refill brought, or any in a zone without a tag key), which it sets to
 * "allocated", or a free tag, which it clears. 0 at the low mark or when
 * the entry has neither (the caller tells which).
 */
static int ps_pop(struct buddy_pageset *ps, unsigned order, void **out)
{
	struct buddy_pageset_entry *low = BUDDY_PS_LOAD_(&ps->low[order]),
				   *t = BUDDY_PS_READ_(&ps->top[order]);
	if (t <= low)
		return 0;
	uint8_t *pg = t[-1].pg;
	void *a = t[-1].addr;
	int mark = entry_mark(ps->tag_key, LOAD_RELAXED(pg), order, (uintptr_t)a);
	if (mark == MARK_CACHED)
		STORE_RELAXED(pg, (uint8_t)(PG_HEAD | order));
	else if (mark == MARK_TAGGED)
		block_untag((uintptr_t)a);
	else
		return 0;
	STORE_RELAXED(&ps->top[order], t - 1);
	BUDDY_PS_INC_(&ps->allocs);
	*out = a;
	return 1;
}

/* The newest entry of `order`, of a list that has one, holds a block with either mark. */
static int ps_top_held(const struct buddy_pageset *ps, unsigned order)
{
	const struct buddy_pageset_entry *e = ps->top[order] - 1;
	return entry_mark(ps->tag_key, LOAD_RELAXED(e->pg), order, (uintptr_t)e->addr) != MARK_NONE;
}

/* Inside the set, a block popped: leave, hand the block out. */
static HOT_INLINE void *ps_alloc_done(struct buddy_pageset *ps, void *p, unsigned order,
				      unsigned flags)
{
	ps_exit(ps);
	annot_alloc(p, (size_t)1 << (ps->shift + order));
	if (unlikely(flags & BUDDY_ZERO))
		return zero_fill(p, (size_t)1 << (ps->shift + order));
	return p;
}

/* Page bytes in a cache line (64 bytes on the usual targets). */
#define PS_LINE_PAGES 64u

/* Blocks of `order` a set takes or gives back at once. */
static unsigned ps_batch(const struct buddy_zone *z, unsigned order)
{
	(void)order;
	return z->pcp_batch;
}

/* With the zone lock: the block of `order` at idx joins the set (its list of that order). */
static void ps_take_block(struct buddy_zone *z, struct buddy_pageset *ps, struct buddy_region *r,
			  size_t idx, unsigned order, unsigned n)
{
	void *a = (void *)region_addr(z, r, idx);
	/* With tags, the page byte is written here, under the lock, for the whole batch, and
	 * the allocation that hands the block out writes nothing shared. */
	if (ps->tag_key)
		block_tag(ps->tag_key, (uintptr_t)a);
	pg_set(r, idx, ps->tag_key ? PG_HEAD | order : PG_CACHED | order);
	ps->slot[order][n] = (struct buddy_pageset_entry){ a, &r->pg[idx] };
	if (r != ps->hint)
		ps_set_hint(z, ps, r);
}

/*
 * With the zone lock: refill the empty list of `order` (Linux's
 * rmqueue_bulk): the zone's page cache first, then, when the buddy lists
 * have one, a naturally aligned block of pcp_batch blocks' size cut into
 * blocks of `order` (so that each thread's blocks, and their page bytes,
 * lie together: two threads' page bytes share fewer cache lines), else one
 * block at a time. Returns how many it got.
 */
static unsigned ps_refill(struct buddy_zone *z, struct buddy_pageset *ps, unsigned order)
{
	unsigned n = 0, want = ps_batch(z, order), take = want;
	size_t idx;

	/*
	 * A chunk whose page bytes fill whole cache lines (PS_LINE_PAGES), when
	 * the list may hold that many: otherwise the page bytes of two threads'
	 * chunks share a line, and each one's every allocation and free makes
	 * the line travel between their CPUs (false sharing).
	 */
	while (((size_t)take << order) < PS_LINE_PAGES && take * 2 <= z->pcp_high)
		take *= 2;
	unsigned chunk = order + log2_floor(take);

	ps_fold(z, ps);
	while (n < want && z->pcp[order].count && !z->corrupted) {
		struct buddy_region *r = pcp_take(z, order, &idx);
		if (r)
			ps_take_block(z, ps, r, idx, order, n++);
	}
	struct buddy_region *r = n || chunk == order || z->corrupted ? NULL : rmqueue(z, chunk, &idx);
	if (r) {
		/* The block's inner pair bits read "both in use" already (P3), as cached blocks need. */
		if (!z->outside_links)
			annot_noaccess((void *)region_addr(z, r, idx), ANNOT_LINK_BYTES);
		for (size_t sub = 0; sub < ((size_t)1 << chunk); sub += (size_t)1 << order)
			ps_take_block(z, ps, r, idx + sub, order, n++);
	}
	while (n < want && !z->corrupted && (r = rmqueue(z, order, &idx)) != NULL) {
		if (!z->outside_links) /* links no longer in use */
			annot_noaccess((void *)region_addr(z, r, idx), ANNOT_LINK_BYTES);
		ps_take_block(z, ps, r, idx, order, n++);
	}
	STORE_RELAXED(&ps->top[order], &ps->slot[order][n]);
	ps->moved += n;
	ps_mark(z, ps, 0);
	return n;
}

static void *alloc_pages_zone(struct buddy_zone *z, unsigned order, unsigned flags);

/*
 * Inside the set, its list of `order` at its low mark, not empty: count the
 * set's pages after this allocation; below thresh, the zone's use passes
 * the peak by the difference: raise it, without the zone lock (an atomic
 * maximum: a ramp of allocations raises it on each, exactly so with one
 * thread; other threads' sets may have moved since the last mark). Then
 * share the slack again (ps_set_lows).
 */
static void ps_low(struct buddy_pageset *ps, unsigned order)
{
	size_t after = ps_cached(ps) - ((size_t)1 << order);
	if ((ptrdiff_t)after < ps->thresh) {
		size_t used = ps->mark_peak + (size_t)(ps->thresh - (ptrdiff_t)after);
		peak_raise(ps->zone, used);
		ps->mark_peak = used;
		ps->thresh = (ptrdiff_t)after;
	}
	ps_set_lows(ps, after, order, 1, 0);
}

/*
 * After a call its owner made on the zone path (an order the set does not
 * serve, an exact allocation, a set closed or empty): the zone's use moved
 * by `pages` (an allocation +, a free -) outside the set, which moves the
 * set's mark the same way (thresh = rest - peak, rest by `pages`, the peak
 * as the zone path left it), so that one thread's peak stays exact. A set
 * that a drainer holds is marked again when the drainer gives it back.
 */
static NOINLINE void ps_zone_moved(struct buddy_pageset *ps, ptrdiff_t pages)
{
	struct buddy_zone *z = ps->zone;
	if (!z || !ps_enter(ps))
		return;
	ptrdiff_t rest = ps->thresh + (ptrdiff_t)ps->mark_peak + pages;
	size_t peak = LOAD_RELAXED(&z->peak_used_pages), cached = ps_cached(ps);
	if (rest - (ptrdiff_t)cached > (ptrdiff_t)peak) { /* another set's margin was stale */
		peak = (size_t)(rest - (ptrdiff_t)cached);
		peak_raise(z, peak);
	}
	ps->mark_peak = peak;
	ps->thresh = rest - (ptrdiff_t)peak;
	ps_set_lows(ps, cached, 0, 0, 0);
	ps_exit(ps);
}

/*
 * With the pageset hook: a zone call of the calling thread moved the zone's
 * use by `pages` outside its page set (an exact allocation or free, a
 * resize), which moves its set's mark the same way. The lock is not held.
 */
static void caller_moved(struct buddy_zone *z, ptrdiff_t pages)
{
	struct buddy_pageset *ps = z->pageset_get && pages ? z->pageset_get(z, z->pageset_arg) : NULL;
	if (ps)
		ps_zone_moved(ps, pages);
}

/* The zone path of an allocation the owner of ps makes. */
static void *ps_alloc_zone_path(struct buddy_pageset *ps, unsigned order, unsigned flags)
{
	void *p = alloc_pages_zone(ps->zone, order, flags);
	if (p)
		ps_zone_moved(ps, (ptrdiff_t)1 << order);
	return p;
}

/*
 * Inside the set, a cached order whose newest entry buddy_ps_pop_ did not
 * hand out: an entry whose block has neither mark of a cached block
 * (entry_mark: damage, stop the zone), a list at its low mark (ps_low), an
 * empty list (refill under the zone lock). A set a drainer closed
 * meanwhile stays closed (ps_publish_lows): then the zone path.
 */
static NOINLINE void *ps_alloc_slow(struct buddy_pageset *ps, unsigned order, unsigned flags)
{
	struct buddy_zone *z = ps->zone;
	struct buddy_pageset_entry *t = ps->top[order];
	void *p;

	if (t > ps->slot[order]) {
		if (!ps_top_held(ps, order)) {
			buddy_zone_lock(z);
			corrupt(z, "alloc_pages", "corrupted page set: entry is not a cached block",
				t[-1].addr);
			buddy_zone_unlock(z);
		} else {
			ps_low(ps, order);
			if (ps_pop(ps, order, &p))
				return ps_alloc_done(ps, p, order, flags);
		}
	} else {
		buddy_zone_lock(z);
		unsigned n = z->corrupted ? 0 : ps_refill(z, ps, order);
		buddy_zone_unlock(z);
		/* The refilled entries' marks were set just now, under the lock. */
		if (n && (ps_pop(ps, order, &p) || (ps_low(ps, order), ps_pop(ps, order, &p))))
			return ps_alloc_done(ps, p, order, flags);
	}
	ps_exit(ps);
	/* Closed, or nothing left on the buddy lists: the zone path drains every set, or fails. */
	return ps_alloc_zone_path(ps, order, flags);
}

/* An allocation the set does not serve: the zone path (none for a released set). */
static NOINLINE void *ps_alloc_zone(struct buddy_pageset *ps, unsigned order, unsigned flags)
{
	return ps->zone ? ps_alloc_zone_path(ps, order, flags) : NULL;
}

/* Inside the set, a cached order: its newest entry, else the slow path. */
static HOT_INLINE void *ps_alloc_entered(struct buddy_pageset *ps, unsigned order, unsigned flags)
{
	void *p;
	if (likely(ps_pop(ps, order, &p)))
		return ps_alloc_done(ps, p, order, flags);
	return ps_alloc_slow(ps, order, flags);
}

/* Not the first choice: a set without the heavy barrier enters with an exchange. */
static NOINLINE void *ps_alloc_other(struct buddy_pageset *ps, unsigned order, unsigned flags)
{
	if (!ps->barrier && order < ps->nr_orders && ps_enter(ps))
		return ps_alloc_entered(ps, order, flags);
	return ps_alloc_zone(ps, order, flags);
}

/*
 * One allocation through the set; anything it cannot do goes to the zone.
 * barrier_orders tells in one compare that the order is cached and the set
 * is entered with plain stores. A released set caches no order
 * (ps_unregister), so its calls take the zone path, which finds no zone.
 */
static NOINLINE void *ps_alloc_full(struct buddy_pageset *ps, unsigned order, unsigned flags)
{
	if (likely(order < ps->barrier_orders) && likely(buddy_ps_enter_(ps)))
		return ps_alloc_entered(ps, order, flags);
	return ps_alloc_other(ps, order, flags);
}

/* The inline fast path (buddy/pageset.h) first, then everything else. */
static HOT_INLINE void *pageset_alloc(struct buddy_pageset *ps, unsigned order, unsigned flags)
{
	void *p;
	if (likely(!flags) && likely(buddy_ps_alloc_fast_(ps, order, &p)))
		return p;
	return ps_alloc_full(ps, order, flags);
}

void *buddy_pageset_alloc_pages(struct buddy_pageset *ps, unsigned order, unsigned flags)
{
	return likely(ps != NULL) ? pageset_alloc(ps, order, flags) : NULL;
}

/* ------------------------------------------------------------------ */
/* allocation                                                          */
/* ------------------------------------------------------------------ */

/*
 * rmqueue, draining every cache and trying again before giving up, so that
 * no allocation fails while cached pages could serve it.
 */
static NOINLINE struct buddy_region *rmqueue_drain(struct buddy_zone *z, unsigned order, size_t *idx)
{
	struct buddy_region *r = rmqueue(z, order, idx);
	if (!r && (z->cached_pages || z->pagesets) && !z->corrupted) {
		cache_drain_relock(z);
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
		set_error(z, BUDDY_ENOMEM);
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
		return zero_fill(p, (size_t)z->page_size << order);
	return p;
}

/* The zone path of an allocation: under the zone lock, from the zone's cache or lists. */
static void *alloc_pages_zone(struct buddy_zone *z, unsigned order, unsigned flags)
{
	size_t idx;

	ZONE_LOCK_SCOPE(z);
	ZONE_CHECK_ON_RETURN(z);
	if (unlikely(z->corrupted || order > z->cfg_max_order)) {
		set_error(z, z->corrupted ? BUDDY_ECORRUPT : BUDDY_EMAXORDER);
		return NULL;
	}
	struct buddy_region *r = block_take(z, order, &idx);
	if (unlikely(!r))
		return alloc_failed(z);
	if (unlikely(z->poison) &&
	    poison_check(z, "alloc_pages", region_addr(z, r, idx), (size_t)z->page_size << order))
		return NULL;
	return alloc_finish(z, r, idx, order, flags);
}

/* Through the page set the zone's hook gives (a call of its own: the hook's frame stays here). */
static NOINLINE void *alloc_pages_hook(struct buddy_zone *z, unsigned order, unsigned flags)
{
	struct buddy_pageset *ps = z->pageset_get(z, z->pageset_arg);
	return ps ? pageset_alloc(ps, order, flags) : alloc_pages_zone(z, order, flags);
}

/* Anything but the one-thread fast path: the caller's page set, or the zone path. */
static NOINLINE void *alloc_pages_other(struct buddy_zone *z, unsigned order, unsigned flags)
{
	if (unlikely(!z))
		return NULL;
	if (z->pageset_get)
		return alloc_pages_hook(z, order, flags);
	return alloc_pages_zone(z, order, flags);
}

/*
 * The one-thread fast path (a zone without lock or page sets,
 * single_update): the newest block on the page cache list of this order,
 * when it and the link stored in it (checked: a cached block of this
 * order, pointing back) lie in the last region used. It calls nothing, so
 * it needs no stack frame; anything unusual goes to the zone path, which
 * checks and reports fully. Other zones: through the caller's page set
 * when the zone gives one (buddy_config.pageset), else the zone path.
 */
void *buddy_alloc_pages(struct buddy_zone *z, unsigned order, unsigned flags)
{
	SINGLE_CHECK_ON_RETURN(z); /* at the very end: after damage is recorded, too */
	if (likely(z && order < z->nr_single_orders)) {
		/* Links inside the blocks: a zone with outside links has no such path. */
		struct buddy_list *h = &z->pcp[order].list, *n = h->next, *next;
		const struct buddy_region *r = z->hint;
		if (likely(r != NULL)) {
			uintptr_t base = r->base, span = r->end - base, off = (uintptr_t)n - base;
			if (likely(off < span && n->prev == h)) { /* n == h: the head is in no region */
				next = n->next;
				uintptr_t noff = (uintptr_t)next - base;
				if (likely((next == h || (noff < span && !(noff & (z->page_size - 1)) &&
							  r->pg[noff >> z->page_shift] == (PG_CACHED | order))) &&
					   next->prev == n)) {
					h->next = next;
					next->prev = h;
					z->pcp[order].count--;
					z->cached_pages -= (size_t)1 << order;
					r->pg[off >> z->page_shift] = (uint8_t)(PG_HEAD | order);
					size_t used = z->total_pages - z->free_pages - z->cached_pages;
					if (used > z->peak_used_pages)
						z->peak_used_pages = used;
					z->allocs++;
					annot_alloc(n, (size_t)z->page_size << order);
					if (unlikely(flags & BUDDY_ZERO))
						return zero_fill(n, (size_t)z->page_size << order);
					return n;
				}
			}
		}
	}
	return alloc_pages_other(z, order, flags);
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
			area_add(z, r, k, p + half);
			pair_toggle(r, k, p + half);
		}
	}
	/* The working block left over after the last kept block is free (P2: it ends the block). */
	BUDDY_ASSERT(p == idx + npages && p + ((size_t)1 << k) <= idx + ((size_t)1 << order));
	r->pg[p] = (uint8_t)(PG_FREE | k);
	area_add(z, r, k, p);
	pair_toggle(r, k, p);
	size_t freed = ((size_t)1 << order) - npages;
	r->free_pages += freed;
	z->free_pages += freed;
}

static void *alloc_exact_zone(struct buddy_zone *z, size_t npages, unsigned flags)
{
	ZONE_LOCK_SCOPE(z);
	ZONE_CHECK_ON_RETURN(z);
	if (z->corrupted || npages == 0 || npages > ((size_t)1 << z->cfg_max_order)) {
		set_error(z, z->corrupted ? BUDDY_ECORRUPT : BUDDY_ECOUNT);
		return NULL;
	}
	unsigned order = log2_floor(npages - 1) + 1;

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

void *buddy_alloc_pages_exact(struct buddy_zone *z, size_t npages, unsigned flags)
{
	if (!z)
		return NULL;
	if (npages && (npages & (npages - 1)) == 0 && npages <= ((size_t)1 << z->cfg_max_order))
		return buddy_alloc_pages(z, log2_floor(npages), flags);
	void *p = alloc_exact_zone(z, npages, flags);
	if (p)
		caller_moved(z, (ptrdiff_t)npages);
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
		struct node_links l = { NULL, NULL, NULL };
		if (buddy >= r->nr_pages || node_check(z, "free_pages", &z->free_area[order].free_list,
						       ba, (uint8_t)(PG_FREE | order), &l))
			return corrupt(z, "free_pages",
				       "corrupted free list: pair bitmap names a buddy that is not free",
				       (void *)ba);
		pair_toggle(r, order, idx);
		area_unlink(z, order, ba, &l);
		links_retire(z, ba);
		r->pg[buddy] = PG_TAIL;
		idx &= ~((size_t)1 << order);
		order++;
		if (z->log)
			log_event(z, r, BUDDY_EV_MERGE, order, idx);
	}
	r->pg[idx] = (uint8_t)(PG_FREE | order);
	area_add(z, r, order, idx);
	return BUDDY_OK;
}

/*
 * Classify an address that does not start an allocation: inside a free
 * block means it was freed already (double free); otherwise it points into
 * the middle of an allocation.
 */
static int classify_bad(const struct buddy_zone *z, const struct buddy_region *r, size_t idx)
{
	uint8_t b = pg_get(r, idx);
	if (pg_state(b) == PG_FREE || pg_held(z, r, idx, b))
		return BUDDY_EDOUBLE;
	for (unsigned k = 1; k <= r->max_order; k++) {
		size_t head = idx & ~(((size_t)1 << k) - 1);
		b = pg_get(r, head);
		if (pg_state(b) != PG_TAIL)
			return (pg_state(b) == PG_FREE || pg_held(z, r, head, b)) && pg_order(b) >= k
				       ? BUDDY_EDOUBLE
				       : BUDDY_ENOTBLOCK;
	}
	return BUDDY_ENOTBLOCK;
}

/*
 * Classify addr: BUDDY_OK when it starts an allocation, found at *r_out,
 * *idx_out. `own`: the caller holds the block (a free, a resize), so its
 * first word may be read for a free tag; else (a look-up, perhaps of a
 * block another thread holds and writes) the page sets' entries tell.
 */
static int lookup_alloc_status(struct buddy_zone *z, const void *addr,
			       struct buddy_region **r_out, size_t *idx_out, int own)
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
		return classify_bad(z, r, idx) == BUDDY_EDOUBLE ? BUDDY_EDOUBLE : BUDDY_ENOTBLOCK;
	uint8_t b = pg_get(r, idx);
	if (pg_state(b) != PG_HEAD)
		return classify_bad(z, r, idx);
	return (own ? pg_tagged(z, r, idx, b) : pg_held(z, r, idx, b)) ? BUDDY_EDOUBLE : BUDDY_OK;
}

/*
 * The prologue of every call that takes an allocation's address: find its
 * region and first page, or fail (recording last_error) changing nothing.
 */
static int lookup_alloc(struct buddy_zone *z, const void *addr,
			struct buddy_region **r_out, size_t *idx_out, int own)
{
	if (!z)
		return BUDDY_ENULL;
	int st = lookup_alloc_status(z, addr, r_out, idx_out, own);
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
	uint8_t b = pg_get(r, idx);
	int st;

	if (ANNOT_ACTIVE || z->poison) {
		uintptr_t a = region_addr(z, r, idx);
		size_t bytes = alloc_pages_count(r, idx) << z->page_shift;
		poison_fill(z, a, bytes);
		annot_free((void *)a, bytes);
	}
	/* Strict frees: a block a page set may take is claimed as a set does (ps_claim). */
	if (unlikely(z->strict_frees) && z->pagesets && !(b & PG_MORE) &&
	    pg_order(b) < z->nr_fast_orders &&
	    !__atomic_compare_exchange_n(&r->pg[idx], &b, (uint8_t)PG_TAIL, 0, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		return fail(z, BUDDY_EDOUBLE);
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

	ZONE_LOCK_SCOPE(z);
	if (!info)
		return z ? fail(z, BUDDY_ENULL) : BUDDY_ENULL;
	int st = lookup_alloc(z, addr, &r, &idx, 0);
	if (!st)
		alloc_info_fill(r, idx, info);
	return st;
}

static NOINLINE int free_info_zone(struct buddy_zone *z, void *addr, struct buddy_alloc_info *info)
{
	struct buddy_region *r;
	size_t idx;

	ZONE_LOCK_SCOPE(z);
	ZONE_CHECK_ON_RETURN(z);
	int st = lookup_alloc(z, addr, &r, &idx, 1);
	if (st)
		return st;
	if (info)
		alloc_info_fill(r, idx, info);
	return free_alloc(z, r, idx);
}

/* free_pages_zone's order for a free that takes the allocation's own size. */
#define ANY_ORDER BUDDY_NR_ORDERS

/*
 * The zone path of a free: under the zone lock, every check; order is the
 * one the caller says the block has, or ANY_ORDER (buddy_free).
 */
static int free_pages_zone(struct buddy_zone *z, void *addr, unsigned order)
{
	struct buddy_region *r;
	size_t idx;

	ZONE_LOCK_SCOPE(z);
	ZONE_CHECK_ON_RETURN(z);
	int st = lookup_alloc(z, addr, &r, &idx, 1);
	if (st)
		return st;
	uint8_t b = r->pg[idx];
	if (order != ANY_ORDER && ((b & PG_MORE) || pg_order(b) != order))
		return fail(z, BUDDY_EORDER);
	return free_alloc(z, r, idx);
}

/* Inside the set, a free checked (and annotated): the block joins the list of `order`. */
static void ps_push(struct buddy_pageset *ps, void *addr, uint8_t *pg, unsigned order)
{
	struct buddy_pageset_entry *t = ps->top[order];
	STORE_RELAXED(&t->addr, addr);
	STORE_RELAXED(&t->pg, pg);
	if (ps->tag_key)
		block_tag(ps->tag_key, (uintptr_t)addr);
	else
		STORE_RELAXED(pg, (uint8_t)(PG_CACHED | order));
	STORE_RELAXED(&ps->top[order], t + 1);
}

/*
 * Inside the set, the list of `order` full (pcp_high entries): give the
 * pcp_batch oldest back under one acquisition of the zone lock (Linux's
 * free_pcppages_bulk), then take the block. When another thread holds the
 * lock, the block joins the list anyway, up to BUDDY_PAGESET_SLOTS, and the
 * next free tries again.
 */
static NOINLINE int ps_free_slow(struct buddy_pageset *ps, void *addr, uint8_t *pg, unsigned order)
{
	struct buddy_zone *z = ps->zone;
	unsigned n = ps_count(ps, order);
	int st = BUDDY_OK;

	if (n + 1 < BUDDY_PAGESET_SLOTS ? zone_trylock(z) : (buddy_zone_lock(z), 1)) {
		ps_fold(z, ps);
		if (!z->corrupted)
			st = ps_give_back(z, ps, order, ps_batch(z, order) < n ? ps_batch(z, order) : n);
		ps_mark(z, ps, 0);
		buddy_zone_unlock(z);
	}
	if (!st) {
		/* Annotated before the entry can be seen: a drainer may give it back at once. */
		annot_free(addr, (size_t)1 << (ps->shift + order));
		ps_push(ps, addr, pg, order);
	}
	ps_exit(ps);
	return st;
}

static int ps_free_full(struct buddy_pageset *ps, void *addr, unsigned order, int any);

/* An order as the caller gave it, or one no block has (ANY_ORDER is buddy_free's). */
static inline unsigned order_given(unsigned order)
{
	return order < ANY_ORDER ? order : ANY_ORDER + 1;
}

/* The order for the zone path: the caller's, or with `any` the block's own. */
static inline unsigned order_zone(unsigned order, int any)
{
	return any ? ANY_ORDER : order_given(order);
}

/*
 * Inside the set: addr lies outside its hint region. Find the region, and
 * try again. A released set has no hint region and no zone: ENULL.
 */
static NOINLINE int ps_free_miss(struct buddy_pageset *ps, void *addr, unsigned order, int any)
{
	struct buddy_zone *z = ps->zone;
	if (!z) {
		ps_exit(ps);
		return BUDDY_ENULL;
	}
	buddy_zone_lock(z);
	const struct buddy_region *r = buddy_region_lookup(z, (uintptr_t)addr);
	if (r)
		ps_set_hint(z, ps, r);
	buddy_zone_unlock(z);
	ps_exit(ps);
	return r ? ps_free_full(ps, addr, order, any) : free_pages_zone(z, addr, order_zone(order, any));
}

/* A free the set does not take: the zone path, whose checks classify it. */
static NOINLINE int ps_free_zone(struct buddy_pageset *ps, void *addr, unsigned order, int any)
{
	struct buddy_alloc_info info = { (size_t)1 << (order & 31), NULL };
	int st = any ? free_info_zone(ps->zone, addr, &info)
		     : free_pages_zone(ps->zone, addr, order_given(order));
	if (!st)
		ps_zone_moved(ps, -(ptrdiff_t)info.nr_pages);
	return st;
}

/*
 * Strict frees: the page byte goes from "allocated" (b) to "cached" by one
 * compare-and-swap, so of two frees of one block at the same instant (two
 * sets, or a set and the zone path, which claims too: free_alloc) one
 * wins and the other finds the block free: BUDDY_EDOUBLE on the zone path.
 */
static inline int ps_claim(const struct buddy_pageset *ps, uint8_t *pg, uint8_t b)
{
	return !ps->zone->strict_frees ||
	       __atomic_compare_exchange_n(pg, &b, (uint8_t)(PG_CACHED | pg_order(b)), 0,
					   __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/*
 * One free through the set, every case: a single-block allocation of a
 * cached order (the page byte says so: the same test that finds an
 * interior or wrong-order free; with free tags, the block does not hold
 * its tag already: a double free) joins the set's list; anything else
 * takes the zone path, whose checks classify it.
 */
static NOINLINE int ps_free_full(struct buddy_pageset *ps, void *addr, unsigned order, int any)
{
	if (likely(ps_enter(ps))) {
		uintptr_t off = (uintptr_t)addr - ps->base;
		if (unlikely((off >> ps->shift) >= ps->nr_pages))
			return ps_free_miss(ps, addr, order, any);
		uint8_t *pg = ps->pg + (off >> ps->shift);
		uint8_t b = LOAD_RELAXED(pg);
		unsigned k = any ? pg_order(b) : order;
		if (likely(b == (PG_HEAD | k) && k < ps->nr_orders &&
			   !(off & (((uintptr_t)1 << ps->shift) - 1)) &&
			   !block_has_tag(ps->tag_key, (uintptr_t)addr) &&
			   ps_claim(ps, pg, b))) {
			if (unlikely(ps->top[k] >= __atomic_load_n(&ps->lim[k], __ATOMIC_ACQUIRE)))
				return ps_free_slow(ps, addr, pg, k);
			/* Annotated inside the set: once it is left, a drainer may give
			 * the block back to the lists (and make its links usable). */
			annot_free(addr, (size_t)1 << (ps->shift + k));
			ps_push(ps, addr, pg, k);
			ps_exit(ps);
			return BUDDY_OK;
		}
		ps_exit(ps);
	}
	return ps_free_zone(ps, addr, order, any);
}

/* The inline fast path (buddy/pageset.h) first, then everything else. */
static HOT_INLINE int pageset_free(struct buddy_pageset *ps, void *addr, unsigned order, int any)
{
	if (likely(!any) && likely(buddy_ps_free_fast_(ps, addr, order)))
		return BUDDY_OK;
	return ps_free_full(ps, addr, order, any);
}

int buddy_pageset_free_pages(struct buddy_pageset *ps, void *addr, unsigned order)
{
	return likely(ps != NULL) ? pageset_free(ps, addr, order, 0) : BUDDY_ENULL;
}

/* Through the page set the zone's hook gives, else the zone path. */
static NOINLINE int free_pages_hook(struct buddy_zone *z, void *addr, unsigned order)
{
	struct buddy_pageset *ps = z->pageset_get(z, z->pageset_arg);
	return ps ? pageset_free(ps, addr, order, order == ANY_ORDER) : free_pages_zone(z, addr, order);
}

/* Anything but the one-thread fast path: the caller's page set, or the zone path. */
static NOINLINE int free_pages_other(struct buddy_zone *z, void *addr, unsigned order)
{
	if (z && z->pageset_get)
		return free_pages_hook(z, addr, order);
	return free_pages_zone(z, addr, order);
}

/*
 * The one-thread fast paths of a free (single_update) look for addr in the
 * last region used: its page byte when addr is a page boundary there (*rp
 * the region), else NULL.
 */
static HOT_INLINE uint8_t *single_pg(const struct buddy_zone *z, uintptr_t a,
				     struct buddy_region **rp)
{
	struct buddy_region *r = z->hint;
	*rp = r;
	if (likely(r && region_has(r, a) && !(a & (z->page_size - 1))))
		return &r->pg[region_index(z, r, a)];
	return NULL;
}

/*
 * A single block of a cached order (its page byte says exactly that: the
 * test that also finds a double, interior or wrong-order free) goes onto
 * the page cache without the zone path's frame: its page byte (and *rp
 * its region) when it qualifies, else NULL (the caller's zone path then
 * classifies the call).
 */
static HOT_INLINE uint8_t *single_block(const struct buddy_zone *z, void *addr, unsigned order,
					struct buddy_region **rp)
{
	uint8_t *pg;
	if (likely(order < z->nr_single_orders) &&
	    likely((pg = single_pg(z, (uintptr_t)addr, rp)) != NULL) &&
	    likely(*pg == (PG_HEAD | order)))
		return pg;
	return NULL;
}

static HOT_INLINE int single_put(struct buddy_zone *z, struct buddy_region *r, const uint8_t *pg,
				 void *addr, unsigned order)
{
	annot_free(addr, (size_t)z->page_size << order);
	z->frees++;
	return pcp_put_in(z, r, (size_t)(pg - r->pg), order, 0);
}

int buddy_free_pages(struct buddy_zone *z, void *addr, unsigned order)
{
	SINGLE_CHECK_ON_RETURN(z);
	struct buddy_region *r;
	uint8_t *pg;
	if (likely(z != NULL) && likely((pg = single_block(z, addr, order, &r)) != NULL))
		return single_put(z, r, pg, addr, order);
	return free_pages_other(z, addr, order_given(order));
}

/* buddy_free's fast path, with the order from the page byte, saying what it freed. */
int buddy_free_info(struct buddy_zone *z, void *addr, struct buddy_alloc_info *info)
{
	SINGLE_CHECK_ON_RETURN(z);
	struct buddy_region *r;
	uint8_t *pg;
	if (likely(z && z->nr_single_orders) &&
	    likely((pg = single_pg(z, (uintptr_t)addr, &r)) != NULL)) {
		uint8_t b = *pg;
		unsigned k = pg_order(b);
		if (likely(b == (PG_HEAD | k) && k < z->nr_single_orders)) {
			annot_free(addr, (size_t)z->page_size << k);
			if (info) {
				info->nr_pages = (size_t)1 << k;
				info->owner = r->owner;
			}
			z->frees++;
			return pcp_put_in(z, r, (size_t)(pg - r->pg), k, 0);
		}
	}
	return free_info_zone(z, addr, info);
}

int buddy_free(struct buddy_zone *z, void *addr)
{
	/* A zone the fast path serves: the same call without the report. */
	if (z && z->nr_single_orders)
		return buddy_free_info(z, addr, NULL);
	return free_pages_other(z, addr, ANY_ORDER);
}

/* The zone path of buddy_free_pages_exact: every check, under the lock. */
static NOINLINE int free_exact_zone(struct buddy_zone *z, void *addr, size_t npages)
{
	struct buddy_region *r;
	size_t idx;

	ZONE_LOCK_SCOPE(z);
	ZONE_CHECK_ON_RETURN(z);
	int st = lookup_alloc(z, addr, &r, &idx, 1);
	if (st)
		return st;
	if (alloc_pages_count(r, idx) != npages)
		return fail(z, BUDDY_EORDER);
	return free_alloc(z, r, idx);
}

int buddy_free_pages_exact(struct buddy_zone *z, void *addr, size_t npages)
{
	struct buddy_region *r;

	/*
	 * A power of two of pages is one block (buddy_alloc_pages_exact makes
	 * it so): buddy_free_pages' fast path frees it when its page byte says
	 * exactly that. Anything else takes the zone path, which names it.
	 */
	if (likely(z && npages && !(npages & (npages - 1)))) {
		SINGLE_CHECK_ON_RETURN(z);
		unsigned order = log2_floor(npages);
		uint8_t *pg = single_block(z, addr, order, &r);
		if (pg)
			return single_put(z, r, pg, addr, order);
	}
	int st = free_exact_zone(z, addr, npages);
	if (st == BUDDY_OK)
		caller_moved(z, -(ptrdiff_t)npages);
	return st;
}

size_t buddy_alloc_size(struct buddy_zone *z, const void *addr)
{
	struct buddy_region *r;
	size_t idx;

	if (!z)
		return 0;
	ZONE_LOCK_SCOPE(z);
	/* Fast path: the start of a single-block allocation in the last region used. */
	uintptr_t a = (uintptr_t)addr;
	const struct buddy_region *h = hint_region(z->hint, a);
	if (likely(h && !(a & (z->page_size - 1)) && !z->corrupted)) {
		size_t idx0 = region_index(z, h, a);
		uint8_t b = pg_get(h, idx0);
		if ((b & (PG_STATE | PG_MORE)) == PG_HEAD && !pg_held(z, h, idx0, b))
			return (size_t)1 << pg_order(b);
	}
	return lookup_alloc(z, addr, &r, &idx, 0) ? 0 : alloc_pages_count(r, idx);
}

/* ------------------------------------------------------------------ */
/* in-place resize                                                     */
/* ------------------------------------------------------------------ */

/*
 * Can the block of `order` at idx absorb its upper buddies up to new_order?
 * Each buddy must be whole: a free block, or one in the zone's page cache,
 * of its order. A zone with page sets cannot tell its cache's blocks from
 * theirs by the page byte, and the sets' belong to their owners: there a
 * cached buddy waits for the drain.
 */
static int can_grow(const struct buddy_zone *z, const struct buddy_region *r, size_t idx,
		    unsigned order, unsigned new_order)
{
	if (new_order > r->max_order || (idx & (((size_t)1 << new_order) - 1)))
		return 0;
	for (unsigned k = order; k < new_order; k++) {
		size_t buddy = idx + ((size_t)1 << k);
		uint8_t b = buddy < r->nr_pages ? pg_get(r, buddy) : 0;
		if (buddy >= r->nr_pages ||
		    (b != (PG_FREE | k) && (b != (PG_CACHED | k) || z->pagesets)))
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
	if (!can_grow(z, r, idx, order, new_order) && (z->cached_pages || z->pagesets))
		cache_drain_relock(z);
	if (z->corrupted)
		return BUDDY_ECORRUPT;
	if (!can_grow(z, r, idx, order, new_order))
		return fail(z, BUDDY_ENOMEM);
	for (unsigned k = order; k < new_order; k++) {
		size_t buddy = idx + ((size_t)1 << k);
		const struct buddy_list *head = r->pg[buddy] == (PG_FREE | k)
							? &z->free_area[k].free_list
							: &z->pcp[k].list;
		uintptr_t ba = region_addr(z, r, buddy);
		if (node_check(z, "resize", head, ba, r->pg[buddy], NULL))
			return BUDDY_ECORRUPT;
		if (z->poison && poison_check(z, "resize", ba, (size_t)z->page_size << k))
			return BUDDY_ECORRUPT;
	}
	for (unsigned k = order; k < new_order; k++) {
		size_t buddy = idx + ((size_t)1 << k);
		uintptr_t ba = region_addr(z, r, buddy);
		if (r->pg[buddy] == (PG_FREE | k)) {
			area_unlink(z, k, ba, NULL);
			pair_toggle(r, k, buddy);
			r->free_pages -= (size_t)1 << k;
			z->free_pages -= (size_t)1 << k;
		} else {
			list_del(z, (struct buddy_list *)ba);
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

static int resize_zone(struct buddy_zone *z, void *addr, unsigned new_order, ptrdiff_t *moved)
{
	struct buddy_region *r;
	size_t idx;

	ZONE_LOCK_SCOPE(z);
	ZONE_CHECK_ON_RETURN(z);
	int st = lookup_alloc(z, addr, &r, &idx, 1);
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
	*moved = (ptrdiff_t)((size_t)1 << new_order) - (ptrdiff_t)((size_t)1 << order);
	return BUDDY_OK;
}

int buddy_resize(struct buddy_zone *z, void *addr, unsigned new_order)
{
	ptrdiff_t moved = 0;
	int st = resize_zone(z, addr, new_order, &moved);
	if (st == BUDDY_OK && z)
		caller_moved(z, moved);
	return st;
}

int buddy_last_error(const struct buddy_zone *z)
{
	return z ? LOAD_RELAXED(&z->last_error) : BUDDY_ENULL;
}
