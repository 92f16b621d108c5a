/* SPDX-License-Identifier: MIT */
/*
 * slab.c - slab caches: creating and destroying them, allocating and
 * freeing objects, and the slow paths that move slabs between the lists
 * and to and from the page source.
 *
 * Allocation takes the first free object of the current slab (or carves
 * the next untouched one, see slab_internal.h). When the current slab has
 * none left it goes on the full list and the next comes from the partial
 * list, else the empty list, else the page source:
 *
 *     cur: [##########]  --full-->  full list
 *     partial list head  --------->  cur
 *
 * A free into a full slab moves it to the head of the partial list (so
 * the next refill takes the slab closest to full, which keeps the others
 * free to empty out); a free that empties a partial slab moves it to the
 * empty list, and an empty list longer than `reserve` gives its oldest slab
 * back. The current slab stays where it is whatever its occupancy, unless
 * the cache keeps no empty slab (reserve 0): then it goes back once empty.
 *
 * Every list unlink checks that the neighbours point back; every slab from
 * the page source must be aligned to its size; no slab goes back while its
 * bitmap shows an object in use. Damage stops the cache (BSLAB_ECORRUPT on
 * every later change) and is reported once.
 */
#include "common/compiler.h"
#include "common/debug.h"
#include "common/fmt.h"
#include "slab/slab_internal.h"


/* ------------------------------------------------------------------ */
/* locking, errors                                                     */
/* ------------------------------------------------------------------ */

static inline void cache_lock(struct bslab_cache *c)
{
	if (c->hooks && c->hooks->lock)
		c->hooks->lock(c->hooks->arg, c);
}

static inline void cache_unlock(struct bslab_cache *c)
{
	if (c->hooks && c->hooks->lock)
		c->hooks->unlock(c->hooks->arg, c);
}

static int fail(struct bslab_cache *c, int status)
{
	c->last_error = status;
	return status;
}

/* The error kind (buddy/common.h) of a misuse status. */
static int error_kind(int status)
{
	return status == BSLAB_EDOUBLE     ? BUDDY_ERR_DOUBLE
	       : status == BSLAB_EINTERIOR ? BUDDY_ERR_INTERIOR
					   : BUDDY_ERR_INVALID;
}

/* Tell on_error about a misused pointer ("bslab: free(): double free at 0x..."). */
static COLD int misuse(struct bslab_cache *c, int status, const char *op, const void *p)
{
	const struct bslab_hooks *h = c->hooks;
	if (h && h->on_error) {
		char msg[192];
		int kind = error_kind(status);
		buddy_fmt(msg, sizeof(msg), "bslab: %s(): %s at %p", op, buddy_error_name(kind), p);
		h->on_error(h->arg, kind, op, p, msg);
	}
	return fail(c, status);
}

/* Record damage found in call `op` once, report it, and refuse every later change. */
static COLD int corrupt(struct bslab_cache *c, const char *op, const char *what,
			const void *where)
{
	const struct bslab_hooks *h = c->hooks;
	if (!c->corrupted && h && h->on_error) {
		char msg[192];
		buddy_fmt(msg, sizeof(msg), "bslab: %s(): corrupted %s in cache %s at %p", op, what,
			  c->name, where);
		h->on_error(h->arg, BUDDY_ERR_CORRUPT, op, where, msg);
	}
	/* Stopped (bslab_stop): the fast path, which does not look at corrupted, hands
	 * nothing out of the current slab again (found by a free, the damage left it current). */
	bslab_stop(c);
	return fail(c, BSLAB_ECORRUPT);
}

/* With no current slab, every allocation takes the slow path, which refuses. */
void bslab_stop(struct bslab_cache *c)
{
	c->cur = NULL;
	c->corrupted = 1;
}

/*
 * Damage found by an allocation: the current slab is dropped (it stays on
 * no list, so nothing is taken from it again) and the cache stops.
 */
void *bslab_corrupt_slab(struct bslab_cache *c, const char *what, const void *where)
{
	corrupt(c, "alloc", what, where);
	return NULL;
}

#if BUDDY_DEBUG >= 2
/*
 * The expensive tier (common/debug.h): a cache a public call leaves must
 * pass its full check, every call while it is small and every n / 256 + 1
 * calls for n objects. A cache that has reported damage is left alone.
 */
static void cache_check_on_return(struct bslab_cache **cp)
{
	const struct bslab_cache *c = *cp;
	size_t objs = (size_t)(c->slabs_allocated - c->slabs_freed) * c->objs;
	if (!c->corrupted && BUDDY_DEBUG_CHECK_DUE(c->allocs + c->frees, objs))
		BUDDY_ASSERT(bslab_check(c, NULL, NULL) == 0);
}
#endif
#define CACHE_CHECK_ON_RETURN(c) BUDDY_CHECK_ON_RETURN(cache_check_on_return, c)

/* ------------------------------------------------------------------ */
/* lists                                                               */
/* ------------------------------------------------------------------ */

static void list_init(struct bslab_list *h)
{
	h->next = h;
	h->prev = h;
}

/* Add n after the list head h. Only h's own links are read: nothing from a slab. */
static void list_add(struct bslab_list *h, struct bslab_list *n)
{
	n->next = h->next;
	n->prev = h;
	h->next->prev = n;
	h->next = n;
}

/*
 * Add n before the list head h (at the tail). The tail's link is written,
 * never read: it lives in a slab header, where damage could have put any
 * pointer (following it crashed a free).
 */
static void list_add_tail(struct bslab_list *h, struct bslab_list *n)
{
	struct bslab_list *tail = h->prev;
	n->next = h;
	n->prev = tail;
	tail->next = n;
	h->prev = n;
}

static struct bslab_slab *slab_from_link(const struct bslab_list *l)
{
	return (struct bslab_slab *)((uintptr_t)l - offsetof(struct bslab_slab, link));
}

static int slab_owned(const struct bslab_cache *c, const struct bslab_slab *s);

/* bslab_link_ok, inline in the list moves. */
static HOT_INLINE int link_ok(const struct bslab_cache *c, const struct bslab_list *head,
			      const struct bslab_list *l, size_t off)
{
	if (l == head)
		return 1;
	const struct bslab_slab *s = (const struct bslab_slab *)((uintptr_t)l - off);
	size_t small = c->small_slabs ? c->small_bytes : c->slab_bytes;
	return !((uintptr_t)s & (small - 1)) && slab_owned(c, s) && s->cache == c;
}

int bslab_link_ok(const struct bslab_cache *c, const struct bslab_list *head,
		  const struct bslab_list *l, size_t off)
{
	return link_ok(c, head, l, off);
}

/*
 * Unlink n (at offset off of its slab header) from the list at head, after
 * checking that it is on a list (a slab on none links to itself), that its
 * neighbours are valid and point back at it, and that they are two slabs
 * unless both are the head (two headers made to point at each other pass
 * the rest, and unlinked, one would stay on the list). n is left linking to
 * itself.
 */
static HOT_INLINE int list_del(struct bslab_cache *c, const struct bslab_list *head,
			       struct bslab_list *n, size_t off, const char *op)
{
	if (n->next == n || !link_ok(c, head, n->next, off) || !link_ok(c, head, n->prev, off) ||
	    n->next->prev != n || n->prev->next != n || (n->next == n->prev && n->next != head))
		return corrupt(c, op, "slab list links", n);
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
	return BSLAB_OK;
}

/*
 * Take s off the partial list (partial) or the empty one: the caller says
 * which, from where it found s, not from s's state byte, which damage can
 * change; a count that is already 0 is damage too.
 */
static HOT_INLINE int slab_unlist(struct bslab_cache *c, struct bslab_slab *s, int partial,
				  const char *op)
{
	size_t *count = partial ? &c->nr_partial : &c->nr_empty;
	if (!*count)
		return corrupt(c, op, "slab lists (a count of 0)", s);
	int st = list_del(c, partial ? &c->partial : &c->empty, &s->link,
			  offsetof(struct bslab_slab, link), op);
	if (st == BSLAB_OK)
		(*count)--;
	return st;
}

/*
 * Put s on the partial list (at its tail: the next refill takes the slab
 * that has been partial longest, which has had the most time to gather
 * free objects) or at the head of the empty list.
 */
static void slab_enlist(struct bslab_cache *c, struct bslab_slab *s, uint8_t state)
{
	BUDDY_ASSERT(state == SLAB_PARTIAL || state == SLAB_EMPTY); /* S4: only these are listed */
	s->state = state;
	if (state == SLAB_PARTIAL) {
		list_add_tail(&c->partial, &s->link);
		c->nr_partial++;
	} else {
		list_add(&c->empty, &s->link);
		c->nr_empty++;
	}
}

/* ------------------------------------------------------------------ */
/* slabs from and to the page source                                   */
/* ------------------------------------------------------------------ */

static void slab_log(struct bslab_cache *c, enum bslab_event_kind kind, void *slab,
		     unsigned order)
{
	if (c->hooks && c->hooks->log) {
		struct bslab_event ev = { kind, c, slab, order };
		c->hooks->log(c->hooks->arg, &ev);
	}
}

static size_t map_words(const struct bslab_cache *c)
{
	return (c->objs + 63) / 64;
}

static size_t held_slabs(const struct bslab_cache *c)
{
	return (size_t)(c->slabs_allocated - c->slabs_freed);
}

static void *source_alloc(struct bslab_cache *c, unsigned order)
{
	const struct bslab_hooks *h = c->hooks;
	if (h && h->page_alloc)
		return h->page_alloc(h->arg, c, order);
	return buddy_alloc_pages(c->zone, order, 0);
}

static void source_free(struct bslab_cache *c, void *block, unsigned order)
{
	const struct bslab_hooks *h = c->hooks;
	if (h && h->page_free)
		h->page_free(h->arg, c, block, order);
	else
		buddy_free_pages(c->zone, block, order);
}

/* A fresh slab (small while the cache holds few); NULL when the source has none. */
static struct bslab_slab *slab_new(struct bslab_cache *c)
{
	int small = held_slabs(c) < c->small_slabs;
	unsigned order = small ? c->small_order : c->order;
	size_t bytes = small ? c->small_bytes : c->slab_bytes;
	void *block = source_alloc(c, order);
	if (!block) {
		c->failures++;
		fail(c, BSLAB_ENOMEM);
		return NULL;
	}
	if ((uintptr_t)block & (bytes - 1)) {
		/* A region that does not start on a multiple of the slab size. */
		source_free(c, block, order);
		c->failures++;
		fail(c, BSLAB_EALIGN);
		return NULL;
	}
	/*
	 * The source handed over a malloc-like block; it shrinks to the header,
	 * so that each object can be a malloc-like block of its own (a memory
	 * checker then names the object, not the slab, in its reports).
	 */
	annot_resize(block, bytes, c->first);
	struct bslab_slab *s = block;
	s->link.next = s->link.prev = &s->link;
	s->cache = c;
	s->freelist = NULL;
	s->inuse = 0;
	s->carved = 0;
	s->objs = (uint16_t)(small ? c->small_objs : c->objs);
	s->state = SLAB_CUR;
	s->order = (uint8_t)order;
	__builtin_memset(s->map, 0, map_words(c) * sizeof(uint64_t));
	list_add(&c->slabs, &s->all);
	c->nr_small += small;
	c->slabs_allocated++;
	slab_log(c, BSLAB_EV_NEW_SLAB, s, order);
	return s;
}

/* Give the empty slab s (on no partial or empty list) back to the page source. */
static int slab_release(struct bslab_cache *c, struct bslab_slab *s, const char *op)
{
	for (size_t i = 0; i < map_words(c); i++)
		if (s->map[i])
			return corrupt(c, op, "slab counted empty with objects in use", s);
	/* Given back at the order the page source handed it over, not the header's. */
	int source_order = bslab_source_order(c, s);
	if (source_order < 0 || s->order != (unsigned)source_order)
		return corrupt(c, op, "slab order", s);
	int st = list_del(c, &c->slabs, &s->all, offsetof(struct bslab_slab, all), op);
	if (st)
		return st;
	unsigned order = (unsigned)source_order;
	size_t bytes = bslab_bytes(c, s);
	c->nr_small -= order != c->order;
	slab_log(c, BSLAB_EV_FREE_SLAB, s, order);
	c->slabs_freed++;
	/* Back to one malloc-like block of the slab's size, as the source handed it over. */
	annot_resize(s, c->first, bytes);
	source_free(c, s, order);
	return BSLAB_OK;
}

/* Release empty slabs beyond `keep`, oldest first. */
static int empty_trim(struct bslab_cache *c, size_t keep, const char *op)
{
	while (c->nr_empty > keep) {
		if (c->empty.prev == &c->empty) /* S5: nr_empty counts the list */
			return corrupt(c, op, "slab lists (counts disagree)", &c->empty);
		struct bslab_slab *s = slab_from_link(c->empty.prev);
		int st = slab_unlist(c, s, 0, op);
		if (st == BSLAB_OK)
			st = slab_release(c, s, op);
		if (st)
			return st;
	}
	return BSLAB_OK;
}

/* ------------------------------------------------------------------ */
/* slow paths                                                          */
/* ------------------------------------------------------------------ */

/* The next current slab: partial head, else an empty one, else a new one. */
static struct bslab_slab *cur_refill(struct bslab_cache *c)
{
	struct bslab_slab *s = NULL;
	/* S5: the counts say whether the lists hold slabs (damage to a state byte can part them) */
	if (!c->nr_partial != (c->partial.next == &c->partial) ||
	    !c->nr_empty != (c->empty.next == &c->empty)) {
		corrupt(c, "alloc", "slab lists (counts disagree)", c);
		return NULL;
	}
	if (c->nr_partial)
		s = slab_from_link(c->partial.next);
	else if (c->nr_empty)
		s = slab_from_link(c->empty.next);
	if (s) {
		if (slab_unlist(c, s, c->nr_partial != 0, "alloc"))
			return NULL;
		s->state = SLAB_CUR;
		return s;
	}
	return slab_new(c);
}

/*
 * How many objects the fast path may carve or take in s, about to become
 * current (it never reads the header's count): from the header's order,
 * believed only where damage could not make it claim more than the block
 * holds. The full order is believed while the cache holds no small slab;
 * otherwise the page source is asked. The small order asks for fewer
 * (safe either way). 0: the header does not add up. (Carved and inuse
 * counts damaged past this bound stop the cache at the next carve or slab
 * switch.)
 */
static uint32_t cur_objs_of(const struct bslab_cache *c, const struct bslab_slab *s)
{
	uint32_t objs;
	if (s->order == c->order && (!c->nr_small || bslab_source_order(c, s) == (int)c->order))
		objs = c->objs;
	else if (s->order == c->small_order && c->small_slabs)
		objs = c->small_objs;
	else
		return 0;
	return s->objs == objs ? objs : 0;
}

/*
 * The current slab has no free object (or there is none): take the next
 * one, and the old one becomes full (SLUB keeps full slabs on no list).
 */
void *bslab_alloc_slow(struct bslab_cache *c, unsigned flags)
{
	if (c->corrupted) {
		fail(c, BSLAB_ECORRUPT);
		return NULL;
	}
	struct bslab_slab *old = c->cur;
	if (old && old->inuse != c->cur_objs)
		return bslab_corrupt_slab(c, "slab count (no free object but not full)", old);
	/* The replacement first, so that a failure leaves the current slab as it was. */
	struct bslab_slab *s = cur_refill(c);
	if (!s)
		return NULL;
	if (old) {
		old->state = SLAB_FULL;
		c->nr_full++;
	}
	c->cur = s;
	uint32_t objs = cur_objs_of(c, s);
	if (!objs)
		return bslab_corrupt_slab(c, "slab header", s);
	c->cur_objs = objs;
	if (!s->freelist && s->carved == objs)
		return bslab_corrupt_slab(c, "slab count (partial slab with no free object)", s);
	return bslab_alloc_fast(c, flags);
}

/*
 * After a free into s (the current slab only when it emptied and the cache
 * keeps no empty slab: it goes back): a full slab goes to the head
 * of the partial list (so the next refill takes the slab closest to full,
 * which lets the others empty out), one that is now empty to the empty
 * list, and the empty list gives back its oldest beyond the reserve.
 */
void bslab_free_slow(struct bslab_cache *c, struct bslab_slab *s)
{
	if (s == c->cur) { /* reserve 0: an empty current slab goes back too */
		if (s->inuse == 0) {
			c->cur = NULL;
			slab_release(c, s, "free");
		}
		return;
	}
	if (s->state == SLAB_FULL) {
		/* A full slab is on no list, so it links to itself. */
		if (!c->nr_full || s->link.next != &s->link) {
			corrupt(c, "free", "slab state", s);
			return;
		}
		c->nr_full--;
	} else if (s->state != SLAB_PARTIAL) {
		corrupt(c, "free", "slab state", s);
		return;
	} else if (slab_unlist(c, s, 1, "free")) {
		return;
	}
	if (s->inuse == 0) {
		slab_enlist(c, s, SLAB_EMPTY);
		empty_trim(c, c->reserve, "free");
	} else {
		slab_enlist(c, s, SLAB_PARTIAL);
	}
}

/*
 * An object is being handed out: tell a memory checker, run the
 * constructor on an object never handed out before (fresh), zero it if
 * asked.
 */
void bslab_obj_ready(const struct bslab_cache *c, void *obj, unsigned flags, int fresh)
{
	annot_alloc(obj, c->size);
	if (c->ctor) {
		/* A constructed object keeps its contents while it is free. */
		annot_defined(obj, c->size);
		if (fresh)
			c->ctor(c->ctor_arg, obj);
	}
	if (flags & BSLAB_ZERO)
		__builtin_memset(obj, 0, c->size);
}

/* ------------------------------------------------------------------ */
/* set-up                                                              */
/* ------------------------------------------------------------------ */

void bslab_config_default(struct bslab_config *cfg)
{
	if (!cfg)
		return;
	__builtin_memset(cfg, 0, sizeof(*cfg));
	cfg->name = "cache";
	cfg->order = BSLAB_ORDER_AUTO;
	cfg->max_order = BSLAB_ORDER_MAX;
	cfg->waste_shift = BSLAB_WASTE_SHIFT_DEFAULT;
	cfg->small_order = BSLAB_ORDER_AUTO;
	cfg->reserve = BSLAB_RESERVE_DEFAULT;
}

/* Where things go in a slab of one order. */
struct slab_layout {
	size_t slab_bytes; /* page_size << order */
	size_t stride;     /* bytes per object slot */
	size_t link_off;   /* free pointer's offset in a slot */
	size_t first;      /* offset of object 0 */
	size_t objs;       /* objects per slab */
	size_t unused;     /* bytes outside the object slots: header, padding, tail */
};

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Fill *l for `order`; 0, or -1 when no object fits. */
static int layout_for(const struct bslab_config *cfg, size_t align, size_t page_size,
		      unsigned order, struct slab_layout *l)
{
	if (order > BSLAB_ORDER_MAX || page_size > (BSLAB_SLAB_MAX >> order))
		return -1;
	l->slab_bytes = page_size << order;
	if (align > l->slab_bytes || cfg->size > l->slab_bytes)
		return -1;
	/* A free object holds its link: inside it, or after it with a constructor. */
	size_t slot = cfg->size < sizeof(void *) ? sizeof(void *) : cfg->size;
	l->link_off = 0;
	if (cfg->ctor) {
		l->link_off = round_up(cfg->size, sizeof(void *));
		slot = l->link_off + sizeof(void *);
	}
	l->stride = round_up(slot, align);
	size_t n = (l->slab_bytes - SLAB_HEADER_FIXED) / l->stride;
	if (n > BSLAB_OBJS_MAX)
		n = BSLAB_OBJS_MAX;
	for (; n; n--) {
		l->first = round_up(SLAB_HEADER_FIXED + (n + 63) / 64 * sizeof(uint64_t), align);
		if (l->first + n * l->stride <= l->slab_bytes)
			break;
	}
	if (!n)
		return -1;
	l->objs = n;
	/* Padding inside a slot does not shrink with the order; count the rest. */
	l->unused = l->slab_bytes - n * l->stride;
	return 0;
}

/*
 * The configured order, or the smallest from min_order up to max_order leaving at most
 * 1/2^waste_shift of the slab unused (else the one leaving the least, as a fraction);
 * when no object fits a slab of max_order, the smallest order that holds
 * one. -1 if none fits at all.
 */
static int layout_choose(const struct bslab_config *cfg, size_t align, size_t page_size,
			 struct slab_layout *l)
{
	if (cfg->order != BSLAB_ORDER_AUTO)
		return layout_for(cfg, align, page_size, cfg->order, l);
	struct slab_layout best, cand;
	int found = 0;
	for (unsigned k = cfg->min_order; k <= BSLAB_ORDER_MAX; k++) {
		if (layout_for(cfg, align, page_size, k, &cand))
			continue;
		if (k > cfg->max_order) {
			if (!found)
				best = cand;
			found = 1;
			break;
		}
		if (cand.unused <= cand.slab_bytes >> cfg->waste_shift) {
			*l = cand;
			return 0;
		}
		/* cand.unused / cand.slab_bytes < best.unused / best.slab_bytes */
		if (!found || (unsigned long long)cand.unused * best.slab_bytes <
				      (unsigned long long)best.unused * cand.slab_bytes) {
			best = cand;
			found = 1;
		}
	}
	if (found)
		*l = best;
	return found ? 0 : -1;
}

/* splitmix64's finaliser (Steele, Lea, Flood, "Fast splittable PRNGs", 2014). */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * The small order: cfg's, or the smallest that holds an object after the
 * header of a full-size slab (its bitmap is that large). Sets c's small
 * fields; -1 when a configured small order holds nothing or is not below
 * the order.
 */
static int small_choose(struct bslab_cache *c, const struct bslab_config *cfg, size_t page_size)
{
	if (!cfg->small_slabs)
		return 0;
	for (unsigned k = 0; k < c->order; k++) {
		if (cfg->small_order != BSLAB_ORDER_AUTO && k != cfg->small_order)
			continue;
		size_t bytes = page_size << k;
		if (bytes < c->align || bytes < c->first + c->stride)
			continue;
		c->small_order = (uint8_t)k;
		c->small_bytes = bytes;
		c->small_objs = (uint32_t)((bytes - c->first) / c->stride);
		c->small_slabs = (uint8_t)cfg->small_slabs;
		return 0;
	}
	/* No smaller slab holds an object: a configured order is an error, else none. */
	return cfg->small_order == BSLAB_ORDER_AUTO ? 0 : -1;
}

static int hooks_ok(const struct bslab_hooks *h)
{
	if (!h)
		return 1;
	int pages = !!h->page_alloc + !!h->page_free + !!h->page_owned;
	return (pages == 0 || pages == 3) && !h->lock == !h->unlock;
}

int bslab_cache_create(struct bslab_cache *c, struct buddy_zone *zone,
		       const struct bslab_config *cfg)
{
	struct slab_layout l;

	if (!c || !zone || !cfg)
		return BSLAB_ENULL;
	size_t align = cfg->align ? cfg->align : sizeof(void *);
	const char *name = cfg->name ? cfg->name : "cache";
	size_t name_len = 0;
	while (name_len < BSLAB_NAME_MAX && name[name_len])
		name_len++;
	if (cfg->size == 0 || (align & (align - 1)) || name_len >= BSLAB_NAME_MAX ||
	    !hooks_ok(cfg->hooks) || cfg->small_slabs > 255 || cfg->reserve > 255 ||
	    cfg->waste_shift > 16 || cfg->min_order > BSLAB_ORDER_MAX ||
	    align > BSLAB_SLAB_MAX)
		return BSLAB_ECONFIG;
	if (align < sizeof(void *))
		align = sizeof(void *);
	/* Fixed when the zone was set up. Read as a field: buddy_get_stats
	 * adds up all the zone's counters (over 300 instructions), and a heap
	 * makes dozens of caches at start-up. */
	size_t page_size = zone->page_size;
	if (layout_choose(cfg, align, page_size, &l))
		return BSLAB_ECONFIG;

	__builtin_memset(c, 0, sizeof(*c));
	c->slab_bytes = l.slab_bytes;
	c->stride = (uint32_t)l.stride;
	c->first = (uint32_t)l.first;
	c->objs = (uint32_t)l.objs;
	c->link_off = (uint32_t)l.link_off;
	c->recip = (((uint64_t)1 << SLAB_RECIP_SHIFT) + l.stride - 1) / l.stride;
	c->size = cfg->size;
	c->random = (uintptr_t)(cfg->random ? cfg->random
					    : mix64((uint64_t)(uintptr_t)c ^ 0x9e3779b97f4a7c15ull));
	list_init(&c->slabs);
	list_init(&c->partial);
	list_init(&c->empty);
	c->zone = zone;
	c->hooks = cfg->hooks;
	c->ctor = cfg->ctor;
	c->ctor_arg = cfg->ctor_arg;
	c->align = (uint32_t)align;
	c->order = (uint8_t)__builtin_ctzll((unsigned long long)(l.slab_bytes / page_size));
	c->small_order = c->order;
	c->small_bytes = c->slab_bytes;
	c->small_objs = c->objs;
	c->reserve = (uint8_t)cfg->reserve;
	__builtin_memcpy(c->name, name, name_len);
	if (small_choose(c, cfg, page_size)) {
		__builtin_memset(c, 0, sizeof(*c));
		return BSLAB_ECONFIG;
	}
	return BSLAB_OK;
}

int bslab_cache_destroy(struct bslab_cache *c)
{
	if (!c)
		return BSLAB_ENULL;
	cache_lock(c);
	int st = BSLAB_OK;
	if (c->corrupted)
		st = fail(c, BSLAB_ECORRUPT);
	else if (c->allocs != c->frees || c->nr_partial || c->nr_full ||
		 (c->cur && c->cur->inuse))
		st = fail(c, BSLAB_EBUSY);
	if (st == BSLAB_OK && c->cur) {
		st = slab_release(c, c->cur, "destroy");
		if (st == BSLAB_OK)
			c->cur = NULL;
	}
	if (st == BSLAB_OK)
		st = empty_trim(c, 0, "destroy");
	cache_unlock(c);
	if (st == BSLAB_OK) {
		const struct bslab_hooks *h = c->hooks;
		__builtin_memset(c, 0, sizeof(*c));
		c->hooks = h; /* so a late call still finds no lock to take */
		c->corrupted = 1;
		c->last_error = BSLAB_ECONFIG;
	}
	return st;
}

/* ------------------------------------------------------------------ */
/* allocation and free                                                 */
/* ------------------------------------------------------------------ */

void *bslab_alloc(struct bslab_cache *c, unsigned flags)
{
	if (!c)
		return NULL;
	CACHE_CHECK_ON_RETURN(c);
	cache_lock(c);
	void *obj = bslab_alloc_fast(c, flags);
	cache_unlock(c);
	return obj;
}

/*
 * The order of the slab block at s as the page source knows it (never read
 * from s's header, which a program can overwrite); -1 if s is no slab
 * block the source handed to this cache.
 */
int bslab_source_order(const struct bslab_cache *c, const struct bslab_slab *s)
{
	if (!s)
		return -1; /* a damaged link of 0 (the cache may have no current slab) */
	if (c->hooks && c->hooks->page_owned) {
		int o = c->hooks->page_owned(c->hooks->arg, c, s) - 1;
		return o == (int)c->order || (c->small_slabs && o == (int)c->small_order) ? o : -1;
	}
	size_t pages = buddy_alloc_size(c->zone, s);
	if (pages == (size_t)1 << c->order)
		return (int)c->order;
	if (c->small_slabs && pages == (size_t)1 << c->small_order)
		return (int)c->small_order;
	return -1;
}

/* Is the block at s a slab the page source handed to this cache (of either order)? */
static int slab_owned(const struct bslab_cache *c, const struct bslab_slab *s)
{
	if (!s)
		return 0; /* a damaged link of 0 (the cache may have no current slab) */
	if (s == c->cur)
		return 1;
	/* (the hook's answer as it stands: the order is not needed here) */
	if (c->hooks && c->hooks->page_owned)
		return c->hooks->page_owned(c->hooks->arg, c, s) != 0;
	return bslab_source_order(c, s) >= 0;
}

/* The slab holding obj, its size asked of the page source before it is read; NULL if none. */
static struct bslab_slab *slab_find(struct bslab_cache *c, const void *obj)
{
	struct bslab_slab *s = bslab_slab_at(obj, c->slab_bytes);
	if (bslab_source_order(c, s) == (int)c->order && s->cache == c)
		return s;
	if (!c->small_slabs)
		return NULL;
	s = bslab_slab_at(obj, c->small_bytes);
	if (bslab_source_order(c, s) == (int)c->small_order && s->cache == c)
		return s;
	return NULL;
}

/* bslab_free without the lock. */
static int free_checked(struct bslab_cache *c, void *obj, const char *op)
{
	if (c->corrupted)
		return fail(c, BSLAB_ECORRUPT);
	if (!obj)
		return fail(c, BSLAB_ENULL);
	struct bslab_slab *s = slab_find(c, obj);
	if (!s)
		return misuse(c, BSLAB_EINVALID, op, obj);
	int st = bslab_free_in(c, s, obj);
	if (st && bslab_slab_damaged(c, s)) {
		corrupt(c, op, "slab header", s);
		bslab_stop(c);
		return BSLAB_ECORRUPT;
	}
	return st ? misuse(c, st, op, obj) : BSLAB_OK;
}

int bslab_free(struct bslab_cache *c, void *obj)
{
	if (!c)
		return BSLAB_ENULL;
	CACHE_CHECK_ON_RETURN(c);
	cache_lock(c);
	int st = free_checked(c, obj, "free");
	cache_unlock(c);
	return st;
}

size_t bslab_alloc_bulk(struct bslab_cache *c, unsigned flags, size_t n, void **objs)
{
	if (!c || (n && !objs))
		return 0;
	CACHE_CHECK_ON_RETURN(c);
	cache_lock(c);
	for (size_t i = 0; i < n; i++) {
		objs[i] = bslab_alloc_fast(c, flags);
		if (!objs[i]) {
			int st = c->last_error;
			while (i--)
				bslab_free_in(c, slab_find(c, objs[i]), objs[i]);
			c->last_error = st;
			cache_unlock(c);
			return 0;
		}
	}
	cache_unlock(c);
	return n;
}

int bslab_free_bulk(struct bslab_cache *c, size_t n, void *const *objs, size_t *done)
{
	size_t i = 0;
	int st = BSLAB_OK;
	if (!c || (n && !objs)) {
		st = BSLAB_ENULL;
	} else {
		CACHE_CHECK_ON_RETURN(c);
		cache_lock(c);
		for (; i < n && st == BSLAB_OK; i++)
			st = free_checked(c, objs[i], "free_bulk");
		if (st)
			i--;
		cache_unlock(c);
	}
	if (done)
		*done = i;
	return st;
}

size_t bslab_shrink(struct bslab_cache *c)
{
	if (!c)
		return 0;
	CACHE_CHECK_ON_RETURN(c);
	cache_lock(c);
	uint64_t before = c->slabs_freed;
	if (!c->corrupted) {
		struct bslab_slab *s = c->cur;
		if (s && s->inuse == 0 && slab_release(c, s, "shrink") == BSLAB_OK)
			c->cur = NULL;
		if (!c->corrupted)
			empty_trim(c, 0, "shrink");
	}
	size_t n = (size_t)(c->slabs_freed - before);
	cache_unlock(c);
	return n;
}

int bslab_last_error(const struct bslab_cache *c)
{
	return c ? c->last_error : BSLAB_ENULL;
}
