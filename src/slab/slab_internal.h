/* SPDX-License-Identifier: MIT */
/*
 * slab_internal.h - the slab layer's fast paths, shared by slab.c (the
 * public calls) and the heaps built on slab caches, which find an object's
 * slab themselves and call these directly, without a function call per
 * object. Everything here expects the cache's lock (if any) to be held.
 *
 * Object index: objects start `first` bytes into the slab, `stride` apart,
 * so object i is at slab + first + i * stride. The index of an offset is
 * found by multiplying with recip = ceil(2^44 / stride) and shifting right
 * by 44: exact for every offset below 2^44 / stride, which holds because a
 * slab is at most 2^22 bytes and an object at most that (offset * stride <
 * 2^44). Then idx * stride == offset says the pointer is an object start.
 *
 * Free pointer: a free object holds, at link_off, the next free object of
 * its slab stored as next ^ random ^ bswap64(address of the link) (Linux's
 * freelist_ptr_encode with CONFIG_SLAB_FREELIST_HARDENED). The head of a
 * slab's list lives in its header. A pointer taken off a list is used only
 * after it checks out: inside the slab's carved objects, on an object
 * boundary, and free in the bitmap; then its bit is set. So even a damaged
 * list can never hand out an object twice.
 */
#ifndef BUDDY_SLAB_INTERNAL_H
#define BUDDY_SLAB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "buddy/slab.h"
#include "common/annotate.h"
#include "common/compiler.h"
#include "common/debug.h"


#define SLAB_RECIP_SHIFT 44u

/* Slab states are the public enum's values, stored in a byte. */
#define SLAB_CUR ((uint8_t)BSLAB_SLAB_CURRENT)
#define SLAB_PARTIAL ((uint8_t)BSLAB_SLAB_PARTIAL)
#define SLAB_FULL ((uint8_t)BSLAB_SLAB_FULL)
#define SLAB_EMPTY ((uint8_t)BSLAB_SLAB_EMPTY)

/* Bytes of the fixed part of a slab header. */
#define SLAB_HEADER_FIXED (sizeof(struct bslab_slab))

/* Bytes of a slab of c's order, or of its small order. */
static inline size_t bslab_bytes(const struct bslab_cache *c, const struct bslab_slab *s)
{
	return s->order == c->order ? c->slab_bytes : c->small_bytes;
}

static inline uintptr_t bslab_swab(uintptr_t v)
{
	return (uintptr_t)__builtin_bswap64((uint64_t)v);
}

/* The slab of `bytes` holding obj (slabs are aligned to their size). */
static inline struct bslab_slab *bslab_slab_at(const void *obj, size_t bytes)
{
	return (struct bslab_slab *)((uintptr_t)obj & ~(uintptr_t)(bytes - 1));
}

/* The full-size slab of c that would hold obj. */
static inline struct bslab_slab *bslab_slab_of(const struct bslab_cache *c, const void *obj)
{
	return bslab_slab_at(obj, c->slab_bytes);
}

static inline uintptr_t bslab_objs_base(const struct bslab_cache *c, const struct bslab_slab *s)
{
	return (uintptr_t)s + c->first;
}

static inline size_t bslab_index(const struct bslab_cache *c, uintptr_t off)
{
	return (size_t)((off * c->recip) >> SLAB_RECIP_SHIFT);
}

static inline int bslab_bit(const struct bslab_slab *s, size_t idx)
{
	return (int)((s->map[idx / 64] >> (idx % 64)) & 1u);
}

/* Store `next` in the free object obj, encoded. */
static inline void bslab_link_set(const struct bslab_cache *c, void *obj, void *next)
{
	uintptr_t *slot = (uintptr_t *)((char *)obj + c->link_off);
	annot_defined(slot, sizeof(*slot));
	*slot = (uintptr_t)next ^ c->random ^ bslab_swab((uintptr_t)slot);
	annot_noaccess(slot, sizeof(*slot));
}

/* The next free object stored in obj, decoded (not yet validated). */
static inline void *bslab_link_get(const struct bslab_cache *c, const void *obj)
{
	const uintptr_t *slot = (const uintptr_t *)((const char *)obj + c->link_off);
	annot_defined(slot, sizeof(*slot));
	uintptr_t v = *slot ^ c->random ^ bslab_swab((uintptr_t)slot);
	annot_noaccess(slot, sizeof(*slot));
	return (void *)v;
}

/* slab.c: the slow paths (not inline: they run once per slab, or on damage). */
BUDDY_INTERNAL void *bslab_alloc_slow(struct bslab_cache *c, unsigned flags);
/* Damage found in one of c's slabs, reported by the caller: c refuses every later change. */
BUDDY_INTERNAL void bslab_stop(struct bslab_cache *c);
BUDDY_INTERNAL void bslab_free_slow(struct bslab_cache *c, struct bslab_slab *s);
BUDDY_INTERNAL void *bslab_corrupt_slab(struct bslab_cache *c, const char *what, const void *where);
BUDDY_INTERNAL void bslab_obj_ready(const struct bslab_cache *c, void *obj, unsigned flags,
				 int fresh);
/* slab_info.c: does slab s break an invariant of its own (header, bitmap, freelist, state)? */
/* slab.c: the order of slab s as the page source knows it, or -1 if it is none of c's. */
BUDDY_INTERNAL int bslab_source_order(const struct bslab_cache *c, const struct bslab_slab *s);
BUDDY_INTERNAL int bslab_slab_damaged(const struct bslab_cache *c, const struct bslab_slab *s);
/*
 * May the list link l, read from a slab header (or the list head) where
 * links sit at offset `off`, be followed: the list head, or a slab of this
 * cache (aligned, its page source's, naming the cache)? For the cache's
 * unlinks and for its checker, which must not follow a damaged link.
 */
BUDDY_INTERNAL int bslab_link_ok(const struct bslab_cache *c, const struct bslab_list *head,
				 const struct bslab_list *l, size_t off);

/*
 * Take the first free object of the current slab, or carve a new one; the
 * slow path when the current slab has neither (or the list is damaged).
 */
static inline void *bslab_alloc_fast(struct bslab_cache *c, unsigned flags)
{
	struct bslab_slab *s = c->cur;
	if (likely(s != NULL)) {
		char *obj = s->freelist;
		uintptr_t base = bslab_objs_base(c, s);
		size_t idx;
		int fresh = 0;
		if (likely(obj != NULL)) {
			uintptr_t off = (uintptr_t)obj - base;
			idx = bslab_index(c, off);
			/* Below cur_objs (not the header's counts, which damage
			 * may raise): inside the slab and its bitmap. An object
			 * not carved yet would be caught when carving reaches it. */
			if (unlikely(off >= (uintptr_t)c->cur_objs * c->stride ||
					  idx * c->stride != off || bslab_bit(s, idx)))
				return bslab_corrupt_slab(c, "free pointer", obj);
			s->freelist = bslab_link_get(c, obj);
		} else if (likely(s->carved < c->cur_objs)) {
			/*
			 * A carved count lowered by damage would hand out a live
			 * object: its bit says so, and with the freelist empty every
			 * carved object is in use, so inuse must equal carved (a
			 * second witness, for damage that also cleared the bit).
			 */
			idx = s->carved;
			obj = (char *)base + idx * c->stride;
			if (unlikely(bslab_bit(s, idx) || s->inuse != idx))
				return bslab_corrupt_slab(c, "carved count", obj);
			s->carved++;
			fresh = 1;
		} else {
			return bslab_alloc_slow(c, flags);
		}
		s->map[idx / 64] |= (uint64_t)1 << (idx % 64);
		s->inuse++;
		c->allocs++;
		if (unlikely(flags || c->ctor || ANNOT_ACTIVE))
			bslab_obj_ready(c, obj, flags, fresh);
		return obj;
	}
	return bslab_alloc_slow(c, flags);
}

/*
 * Free obj, which the caller knows lies in slab s of cache c (s->cache ==
 * c checked). Returns BSLAB_OK or the misuse status, changing nothing then.
 */
static inline int bslab_free_in(struct bslab_cache *c, struct bslab_slab *s, void *obj)
{
	if (unlikely(c->corrupted))
		return BSLAB_ECORRUPT;
	/* In the header, the leftover tail, or never handed out: not an object.
	 * (A carved count damaged past the cache's objects per slab would
	 * index beyond the bitmap.) */
	uintptr_t off = (uintptr_t)obj - bslab_objs_base(c, s);
	if (unlikely(off >= (uintptr_t)s->carved * c->stride || s->carved > c->objs))
		return BSLAB_EINVALID;
	size_t idx = bslab_index(c, off);
	if (unlikely(idx * c->stride != off))
		return BSLAB_EINTERIOR;
	uint64_t *w = &s->map[idx / 64], bit = (uint64_t)1 << (idx % 64);
	if (unlikely(!(*w & bit)))
		return BSLAB_EDOUBLE;
	*w &= ~bit;
	annot_free(obj, c->size);
	bslab_link_set(c, obj, s->freelist);
	s->freelist = obj;
	c->frees++;
	/* Leaving the full state, or becoming empty, moves the slab (not the
	 * current one, unless the cache keeps no empty slab and it emptied). */
	if (unlikely(s->inuse-- == s->objs || s->inuse == 0) && (s != c->cur || !c->reserve))
		bslab_free_slow(c, s);
	return BSLAB_OK;
}

#endif /* BUDDY_SLAB_INTERNAL_H */
