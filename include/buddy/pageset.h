/* SPDX-License-Identifier: MIT */
/*
 * buddy/pageset.h - the page sets' fast paths, inline: an allocation from,
 * and a free to, a page set's own lists (struct buddy_pageset, buddy/page.h).
 * buddy/thread.h builds its inline wrappers on them, and the page core's
 * buddy_pageset_alloc_pages and buddy_pageset_free_pages run the same code
 * first, so there is one fast path. Not an API of its own: the functions
 * and constants here are private (their names end in an underscore), and a
 * program that inlines them depends on the layout of struct buddy_pageset's
 * first part, on the page-byte value and the free tags below and on the
 * protocol with the drainers (src/page/page_alloc.c). A library in which
 * any of these changes is a new major version: its programs must be
 * compiled again.
 *
 * Freestanding (stdint, compiler builtins), like the core.
 */
#ifndef BUDDY_PAGESET_H
#define BUDDY_PAGESET_H

#include <stdint.h>

#include "buddy/page.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Page-byte states (src/page/page_internal.h): an allocation's first page,
 * a cached block's (one a refill brought, or any in a zone without a tag
 * key); the order (below BUDDY_NR_PCP_ORDERS here) in the low bits, added
 * (which is or-ing them, in one instruction).
 */
#define BUDDY_PG_HEAD_ 0x80u
#define BUDDY_PG_CACHED_ 0x60u

/*
 * A block's first word, where its free tag goes: a type that may alias any
 * other, so that the compiler keeps the program's own accesses to the
 * block (of any type) on their side of the tag's.
 */
#if defined(__GNUC__) || defined(__clang__)
typedef uintptr_t __attribute__((__may_alias__)) buddy_ps_word_;
#else
typedef uintptr_t buddy_ps_word_;
#endif

/*
 * Loads and stores of words another thread may access at the same time:
 * volatile accesses of aligned words, as Linux's READ_ONCE and WRITE_ONCE
 * (one move, which the compiler may fold into a compare); under
 * ThreadSanitizer, the relaxed and acquire atomics they stand for, so that
 * it checks the protocol.
 */
#if defined(__SANITIZE_THREAD__)
#define BUDDY_PS_TSAN_ 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BUDDY_PS_TSAN_ 1
#endif
#endif
#ifdef BUDDY_PS_TSAN_
#define BUDDY_PS_LOAD_(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define BUDDY_PS_READ_(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define BUDDY_PS_STORE_(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define BUDDY_PS_INC_(p) __atomic_store_n((p), __atomic_load_n((p), __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED)
#else
#define BUDDY_PS_LOAD_(p) (*(volatile __typeof__(*(p)) *)(p))
/* A word a drainer may be writing while the owner reads it only to find
 * its set closed (the value is then not used). */
#define BUDDY_PS_READ_(p) (*(p))
#define BUDDY_PS_STORE_(p, v) (*(volatile __typeof__(*(p)) *)(p) = (v))
/* A counter only its owner writes, which others add up as it stands (as
 * Linux's per-CPU counters): one add to memory. */
#define BUDDY_PS_INC_(p) ((*(p))++)
#endif

/*
 * The owner enters its set (the protocol with membarrier, page_alloc.c): a
 * plain store, and a compiler barrier that a drainer's heavy barrier turns
 * into a full fence wherever the two meet. The loads after it (low[order]
 * for an allocation, lim[order] for a free) are what a drainer closes: it
 * sets every low to the end of its list and every lim to its start before
 * its heavy barrier, so an owner that enters after that barrier finds its
 * lists "at the low mark" and "full", and takes the slow path, which looks
 * at drain_req (buddy_ps_enter_). Either the drainer sees busy, and waits,
 * or the owner sees the closed marks.
 */
static inline void buddy_ps_busy_(struct buddy_pageset *ps)
{
	__atomic_store_n(&ps->busy, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void buddy_ps_exit_(struct buddy_pageset *ps)
{
	__atomic_store_n(&ps->busy, 0, __ATOMIC_RELEASE);
}

/* Entering for the slow paths: also 0 when a drainer holds the set, or the zone is damaged. */
static inline int buddy_ps_enter_(struct buddy_pageset *ps)
{
	buddy_ps_busy_(ps);
	if (__builtin_expect(!__atomic_load_n(&ps->drain_req, __ATOMIC_ACQUIRE), 1))
		return 1;
	buddy_ps_exit_(ps);
	return 0;
}

/* A block's free tag (buddy/page.h, struct buddy_pageset): its address XOR the zone's key. */
static inline uintptr_t buddy_ps_tag_(uintptr_t key, const void *addr)
{
	return (uintptr_t)addr ^ key;
}

/*
 * Inside the set, order < BUDDY_NR_PCP_ORDERS, in a zone with a tag key:
 * the newest entry of `order` becomes an allocation (*out), when the list
 * is above its low mark (an empty list, one whose next allocation may make
 * a new peak, and a set that a drainer closed are at or below it) and the
 * block holds its free tag, which is cleared (a block with its tag is in
 * this set alone: a free of it anywhere is refused as a double free);
 * else 0 (the slow path refills, takes a block a refill brought, notes the
 * peak, finds the drainer or reports).
 * The entry lives in the set, not in the free page: a write after free
 * cannot forge one. Nothing shared is written.
 */
static inline int buddy_ps_pop_(struct buddy_pageset *ps, unsigned order, void **out)
{
	/* The mark first: a set a drainer opened again is seen with its new top. */
	struct buddy_pageset_entry *low = BUDDY_PS_LOAD_(&ps->low[order]),
				   *t = BUDDY_PS_READ_(&ps->top[order]);
	if (__builtin_expect(t <= low, 0))
		return 0;
	void *a = t[-1].addr;
	buddy_ps_word_ *w = (buddy_ps_word_ *)a;
	if (__builtin_expect(BUDDY_PS_READ_(w) != buddy_ps_tag_(ps->tag_key, a), 0))
		return 0;
	BUDDY_PS_STORE_(w, (uintptr_t)0);
	BUDDY_PS_STORE_(&ps->top[order], t - 1);
	BUDDY_PS_INC_(&ps->allocs);
	*out = a;
	return 1;
}

/*
 * Inside the set, order < BUDDY_NR_PCP_ORDERS, in a zone with a tag key:
 * the set takes this free at once when its list is below lim (high; a
 * closed set's is at its start), addr starts a page of the hint region (one
 * rotation finds its page and, in the high bits, any offset into the page:
 * one compare tests both), its page byte says "an allocation of one block
 * of this order" (the test that also finds an interior or wrong-order
 * free) and it does not hold its free tag (else a double free, or a
 * program's word that equals the tag: the slow path tells). The block gets
 * its tag; its page byte is only read. Else 0: the slow path.
 */
static inline int buddy_ps_push_(struct buddy_pageset *ps, void *addr, unsigned order)
{
	struct buddy_pageset_entry *lim = BUDDY_PS_LOAD_(&ps->lim[order]),
				   *t = BUDDY_PS_READ_(&ps->top[order]);
	if (__builtin_expect(t >= lim, 0))
		return 0;
	uintptr_t off = (uintptr_t)addr - ps->base;
	unsigned s = ps->shift;
	uintptr_t idx = (off >> s) | (off << ((sizeof(uintptr_t) * 8 - s) & (sizeof(uintptr_t) * 8 - 1)));
	if (__builtin_expect(idx >= ps->nr_pages, 0))
		return 0;
	uint8_t *pg = ps->pg + idx;
	buddy_ps_word_ *w = (buddy_ps_word_ *)addr;
	uintptr_t tag = buddy_ps_tag_(ps->tag_key, addr);
	if (__builtin_expect(BUDDY_PS_READ_(pg) != (uint8_t)(BUDDY_PG_HEAD_ + order) ||
			     BUDDY_PS_READ_(w) == tag, 0))
		return 0;
	BUDDY_PS_STORE_(w, tag);
	BUDDY_PS_STORE_(&t->addr, addr);
	BUDDY_PS_STORE_(&t->pg, pg);
	BUDDY_PS_STORE_(&ps->top[order], t + 1);
	return 1;
}

/*
 * The whole fast paths, for a set its owner has found: 0 when they cannot
 * serve the call (an order they do not cache, a set without inline paths,
 * a drainer, an empty list or a new peak, a pointer outside the hint
 * region, anything to report): then call buddy_pageset_*_pages, which does
 * everything. inline_orders and inline_free_orders change only while no
 * call runs through the set (buddy_pageset_release,
 * buddy_zone_release_pagesets): a plain read.
 */
static inline int buddy_ps_alloc_fast_(struct buddy_pageset *ps, unsigned order, void **out)
{
	if (__builtin_expect(order < ps->inline_orders, 1)) {
		buddy_ps_busy_(ps);
		int ok = buddy_ps_pop_(ps, order, out);
		buddy_ps_exit_(ps);
		return ok;
	}
	return 0;
}

static inline int buddy_ps_free_fast_(struct buddy_pageset *ps, void *addr, unsigned order)
{
	if (__builtin_expect(order < ps->inline_free_orders, 1)) {
		buddy_ps_busy_(ps);
		int ok = buddy_ps_push_(ps, addr, order);
		buddy_ps_exit_(ps);
		return ok;
	}
	return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_PAGESET_H */
