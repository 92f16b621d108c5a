/* SPDX-License-Identifier: MIT */
/*
 * test_page_stress.c - model-based randomized stress test of the page
 * allocator. A fixed-seed xorshift64* generator drives a long mix of
 * operations (allocation by order and exact size, the three kinds of free,
 * resize, regions added and removed at run time, and deliberately bad calls)
 * over zones with 16-, 64- and 4096-byte pages. A reference model records
 * the owner of every page; each result is checked against it:
 *
 *   - a returned block lies in a region, is aligned to its order, and
 *     covers only pages the model says are free;
 *   - an allocation fails (ENOMEM) exactly when no free block of a large
 *     enough order exists; a grow fails exactly when the pages above are
 *     not all free or the region ends;
 *   - each allocation's pages carry a tag that must be intact on free;
 *   - a bad call returns the expected status and changes nothing;
 *   - after every operation buddy_check() finds nothing and the statistics
 *     match the model.
 *
 * BUDDY_STRESS_OPS sets the total number of operations (default 1,000,000;
 * 20,000 when BUDDY_UNDER_VALGRIND=1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buddy/page.h"

#define NR_SLOTS 4        /* region slots per zone */
#define MAX_REGION_PAGES 256
#define MAX_LIVE 1024     /* live allocations */
#define MAX_EXACT 70      /* largest exact allocation tried */

/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators"). */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t rng_below(size_t n)
{
	return (size_t)((rng_next() >> 11) % n);
}

struct slot {
	unsigned char *arena;   /* memory handed to the zone, or NULL when unused */
	void *meta;             /* separate metadata buffer, or NULL if carved */
	size_t nr_pages;        /* pages the zone manages (after carving) */
	unsigned max_order;     /* the region's largest order */
	uint32_t owner[MAX_REGION_PAGES]; /* live allocation id per page, 0 = free */
};

struct live {
	unsigned char *addr;
	size_t npages;
	unsigned order;         /* order of the block it came from */
	int slot;
	uint32_t id;
};

struct model {
	struct buddy_zone z;
	size_t ps;
	unsigned cap;           /* largest order requests use */
	unsigned zone_max;      /* the zone's max order (config, or the limit) */
	struct slot slots[NR_SLOTS];
	struct live live[MAX_LIVE];
	size_t nr_live;
	uint32_t next_id;
	size_t total, used, peak;
	uint64_t allocs, frees, failures;
	unsigned long long ops;
	unsigned long long resized, grow_refused, removed, remove_busy, bad_calls;
};

static struct model M;

static size_t pow2(unsigned k)
{
	return (size_t)1 << k;
}

static unsigned order_for(size_t n)
{
	unsigned k = 0;
	while (pow2(k) < n)
		k++;
	return k;
}

/* ------------------------------------------------------------------ */
/* consistency                                                         */
/* ------------------------------------------------------------------ */

static void report_fail(void *arg, const char *msg)
{
	(void)arg;
	print_error("buddy_check after op %llu: %s\n", M.ops, msg);
}

static void model_verify(void)
{
	struct buddy_stats st;
	if (buddy_check(&M.z, report_fail, NULL) != 0)
		fail_msg("zone inconsistent after op %llu", M.ops);
	buddy_get_stats(&M.z, &st);
	if (st.total_pages != M.total || st.used_pages != M.used ||
	    st.free_pages + st.cached_pages != M.total - M.used || st.peak_used_pages != M.peak ||
	    st.allocs != M.allocs || st.frees != M.frees || st.failures != M.failures)
		fail_msg("op %llu: stats total %zu/%zu used %zu/%zu peak %zu/%zu allocs %llu/%llu "
			 "frees %llu/%llu failures %llu/%llu", M.ops, st.total_pages, M.total,
			 st.used_pages, M.used, st.peak_used_pages, M.peak,
			 (unsigned long long)st.allocs, (unsigned long long)M.allocs,
			 (unsigned long long)st.frees, (unsigned long long)M.frees,
			 (unsigned long long)st.failures, (unsigned long long)M.failures);
}

/*
 * Can a request of order k be served? 1: a free block of order >= k is on
 * the lists, so it must succeed. 0: nothing is free or cached that could
 * serve it, so it must fail. 2 (page cache on, only cached pages could
 * help): either outcome, but a failure must leave the cache drained with
 * still no block large enough (checked by cache_drained_verify).
 */
static int model_has_block(unsigned k)
{
	struct buddy_stats st;
	buddy_get_stats(&M.z, &st);
	for (unsigned j = k; j < BUDDY_NR_ORDERS; j++)
		if (st.nr_free[j])
			return 1;
	return st.cached_pages ? 2 : 0;
}

/* After a failure: no allocation may fail while cached pages could serve it. */
static void cache_drained_verify(int can, unsigned k)
{
	struct buddy_stats st;
	if (can != 2)
		return;
	buddy_get_stats(&M.z, &st);
	if (st.cached_pages || model_has_block(k))
		fail_msg("op %llu: order %u failed without draining the page cache", M.ops, k);
}

static int slot_of(const void *p)
{
	const unsigned char *a = p;
	for (int i = 0; i < NR_SLOTS; i++) {
		const struct slot *s = &M.slots[i];
		if (s->arena && a >= s->arena && a < s->arena + s->nr_pages * M.ps)
			return i;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* tags: the first and last 8 bytes of every page of an allocation      */
/* ------------------------------------------------------------------ */

static uint64_t tag_of(uint32_t id, size_t page)
{
	return ((uint64_t)id << 32 | page) * 0x9e3779b97f4a7c15ull;
}

static void tags_write(const struct live *l)
{
	for (size_t i = 0; i < l->npages; i++) {
		uint64_t t = tag_of(l->id, i);
		unsigned char *p = l->addr + i * M.ps;
		memcpy(p, &t, 8);
		memcpy(p + M.ps - 8, &t, 8);
	}
}

static void tags_verify(const struct live *l)
{
	for (size_t i = 0; i < l->npages; i++) {
		uint64_t t = tag_of(l->id, i), a, b;
		unsigned char *p = l->addr + i * M.ps;
		memcpy(&a, p, 8);
		memcpy(&b, p + M.ps - 8, 8);
		if (a != t || b != t)
			fail_msg("op %llu: allocation %u page %zu overwritten", M.ops, l->id, i);
	}
}

/* ------------------------------------------------------------------ */
/* model updates                                                        */
/* ------------------------------------------------------------------ */

/* Record a new allocation, checking placement against the model. */
static void model_claim(void *p, size_t npages, unsigned order)
{
	int si = slot_of(p);
	if (si < 0)
		fail_msg("op %llu: block %p outside every region", M.ops, p);
	struct slot *s = &M.slots[si];
	size_t idx = (size_t)((unsigned char *)p - s->arena);
	if (idx % M.ps)
		fail_msg("op %llu: block %p not page aligned", M.ops, p);
	idx /= M.ps;
	if (idx % pow2(order) || idx + npages > s->nr_pages)
		fail_msg("op %llu: block at page %zu of order %u misplaced", M.ops, idx, order);
	assert_true(M.nr_live < MAX_LIVE);
	struct live *l = &M.live[M.nr_live++];
	*l = (struct live){ p, npages, order, si, ++M.next_id };
	for (size_t i = 0; i < npages; i++) {
		if (s->owner[idx + i])
			fail_msg("op %llu: block overlaps live allocation %u", M.ops,
				 s->owner[idx + i]);
		s->owner[idx + i] = l->id;
	}
	M.used += npages;
	if (M.used > M.peak)
		M.peak = M.used;
	M.allocs++;
	tags_write(l);
}

static size_t page_index(const struct live *l)
{
	return (size_t)(l->addr - M.slots[l->slot].arena) / M.ps;
}

static void model_release_pages(const struct live *l, size_t from, size_t to)
{
	struct slot *s = &M.slots[l->slot];
	size_t idx = page_index(l);
	for (size_t i = from; i < to; i++)
		s->owner[idx + i] = 0;
	M.used -= to - from;
}

/* Forget a freed allocation (its tags were verified before the free). */
static void model_drop(size_t li)
{
	struct live *l = &M.live[li];
	model_release_pages(l, 0, l->npages);
	M.frees++;
	M.live[li] = M.live[--M.nr_live];
}

/* ------------------------------------------------------------------ */
/* operations                                                           */
/* ------------------------------------------------------------------ */

static void op_alloc_order(void)
{
	unsigned k = (unsigned)rng_below(M.cap + 1);
	int can = model_has_block(k);
	void *p = buddy_alloc_pages(&M.z, k, rng_below(8) == 0 ? BUDDY_ZERO : 0);
	if (!p) {
		assert_int_equal(buddy_last_error(&M.z), BUDDY_ENOMEM);
		if (can == 1)
			fail_msg("op %llu: order %u failed with a free block available", M.ops, k);
		cache_drained_verify(can, k);
		M.failures++;
		return;
	}
	if (!can)
		fail_msg("op %llu: order %u succeeded with no free block", M.ops, k);
	model_claim(p, pow2(k), k);
}

static void op_alloc_exact(void)
{
	size_t limit = pow2(M.cap) < MAX_EXACT ? pow2(M.cap) : MAX_EXACT;
	size_t n = 1 + rng_below(limit);
	unsigned k = order_for(n);
	int can = model_has_block(k);
	int zero = rng_below(8) == 0;
	unsigned char *p = buddy_alloc_pages_exact(&M.z, n, zero ? BUDDY_ZERO : 0);
	if (!p) {
		assert_int_equal(buddy_last_error(&M.z), BUDDY_ENOMEM);
		if (can == 1)
			fail_msg("op %llu: exact %zu failed with a free block available", M.ops, n);
		cache_drained_verify(can, k);
		M.failures++;
		return;
	}
	if (!can)
		fail_msg("op %llu: exact %zu succeeded with no free block", M.ops, n);
	if (zero)
		for (size_t i = 0; i < n * M.ps; i += 61)
			if (p[i])
				fail_msg("op %llu: zeroed exact block has byte %zu set", M.ops, i);
	assert_int_equal(buddy_alloc_size(&M.z, p), n);
	model_claim(p, n, k);
}

static void op_free(void)
{
	if (!M.nr_live)
		return;
	size_t li = rng_below(M.nr_live);
	struct live *l = &M.live[li];
	int pow = (l->npages & (l->npages - 1)) == 0;
	int st;
	tags_verify(l); /* the free writes list links into the block */
	switch (rng_below(3)) {
	case 0:
		st = buddy_free(&M.z, l->addr);
		break;
	case 1:
		st = pow ? buddy_free_pages(&M.z, l->addr, l->order)
			 : buddy_free_pages_exact(&M.z, l->addr, l->npages);
		break;
	default:
		st = buddy_free_pages_exact(&M.z, l->addr, l->npages);
		break;
	}
	assert_int_equal(st, BUDDY_OK);
	model_drop(li);
}

/* Would growing l to order k succeed? (see buddy_resize) */
static int model_can_grow(const struct live *l, unsigned k)
{
	const struct slot *s = &M.slots[l->slot];
	size_t idx = page_index(l);
	if (k > s->max_order || idx % pow2(k) || idx + pow2(k) > s->nr_pages)
		return 0;
	for (size_t i = l->npages; i < pow2(k); i++)
		if (s->owner[idx + i])
			return 0;
	return 1;
}

static void op_resize(void)
{
	if (!M.nr_live)
		return;
	struct live *l = &M.live[rng_below(M.nr_live)];
	if (l->npages != pow2(l->order))
		return; /* exact allocations do not resize; the bad calls try that */
	unsigned k = (unsigned)rng_below(M.cap + 1);
	int can = k <= l->order || model_can_grow(l, k);
	uint64_t before_allocs = M.allocs;
	tags_verify(l);
	int st = buddy_resize(&M.z, l->addr, k);
	if (!can) {
		assert_int_equal(st, BUDDY_ENOMEM);
		M.grow_refused++;
		return;
	}
	assert_int_equal(st, BUDDY_OK);
	M.resized++;
	struct slot *s = &M.slots[l->slot];
	size_t idx = page_index(l);
	if (k < l->order) {
		model_release_pages(l, pow2(k), l->npages);
	} else {
		for (size_t i = l->npages; i < pow2(k); i++)
			s->owner[idx + i] = l->id;
		M.used += pow2(k) - l->npages;
		if (M.used > M.peak)
			M.peak = M.used;
	}
	l->order = k;
	l->npages = pow2(k);
	M.allocs = before_allocs;
	tags_write(l);
	assert_int_equal(buddy_alloc_size(&M.z, l->addr), l->npages);
}

static void op_add_region(void)
{
	int si = -1;
	for (int i = 0; i < NR_SLOTS; i++)
		if (!M.slots[i].arena)
			si = i;
	if (si < 0)
		return;
	struct slot *s = &M.slots[si];
	size_t npages = 1 + rng_below(MAX_REGION_PAGES);
	size_t len = npages * M.ps;
	int carve = rng_below(3) == 0;
	size_t need = buddy_meta_size(&M.z, len);
	/* Carved metadata takes whole pages behind a guard of at least 64 bytes. */
	size_t meta_pages = (need + M.ps - 1) / M.ps + (M.ps >= 64 ? 1 : 64 / M.ps);
	unsigned char *arena = aligned_alloc(M.ps, len);
	assert_non_null(arena);
	void *meta = NULL;
	if (!carve) {
		meta = malloc(need);
		assert_non_null(meta);
	}
	struct buddy_stats before;
	buddy_get_stats(&M.z, &before);
	int st = buddy_add_region(&M.z, arena, len, meta, meta ? need : 0);
	if (carve && meta_pages >= npages) {
		assert_int_equal(st, BUDDY_ESMALL);
		free(arena);
		return;
	}
	assert_int_equal(st, BUDDY_OK);
	memset(s, 0, sizeof(*s));
	s->arena = arena;
	s->meta = meta;
	s->nr_pages = carve ? npages - meta_pages : npages;
	M.total += s->nr_pages;
	/* Find its info by base to learn the region's max order. */
	struct buddy_region_info ri;
	for (unsigned i = 0; buddy_region_info(&M.z, i, &ri) == BUDDY_OK; i++)
		if (ri.base == arena)
			break;
	assert_ptr_equal(ri.base, arena);
	assert_int_equal(ri.nr_pages, s->nr_pages);
	s->max_order = ri.max_order;
}

static int slot_busy(const struct slot *s)
{
	for (size_t i = 0; i < s->nr_pages; i++)
		if (s->owner[i])
			return 1;
	return 0;
}

static void slot_release(struct slot *s)
{
	free(s->arena);
	free(s->meta);
	memset(s, 0, sizeof(*s));
}

static void op_remove_region(void)
{
	int si = (int)rng_below(NR_SLOTS);
	struct slot *s = &M.slots[si];
	if (!s->arena)
		return;
	int busy = slot_busy(s);
	int st = buddy_remove_region(&M.z, s->arena);
	if (busy) {
		assert_int_equal(st, BUDDY_EBUSY);
		M.remove_busy++;
		return;
	}
	assert_int_equal(st, BUDDY_OK);
	M.removed++;
	M.total -= s->nr_pages;
	slot_release(s);
}

/* A free page anywhere, or NULL. */
static unsigned char *free_page(void)
{
	int si = (int)rng_below(NR_SLOTS);
	for (int t = 0; t < NR_SLOTS; t++, si = (si + 1) % NR_SLOTS) {
		struct slot *s = &M.slots[si];
		if (!s->arena)
			continue;
		size_t p = rng_below(s->nr_pages);
		for (size_t i = 0; i < s->nr_pages; i++, p = (p + 1) % s->nr_pages)
			if (!s->owner[p])
				return s->arena + p * M.ps;
	}
	return NULL;
}

/* Call a freeing/looking-up entry point with a bad pointer or size. */
static int call_with(unsigned how, void *p, size_t n)
{
	switch (how) {
	case 0:
		return buddy_free(&M.z, p);
	case 1:
		return buddy_free_pages(&M.z, p, (unsigned)n);
	case 2:
		return buddy_free_pages_exact(&M.z, p, n);
	case 3:
		return buddy_resize(&M.z, p, (unsigned)n);
	default:
		return buddy_alloc_size(&M.z, p) ? BUDDY_OK : buddy_last_error(&M.z);
	}
}

/* One bad call: returns the status it must give, after making it. */
static int bad_call(int *got)
{
	int local = 0;
	unsigned how = (unsigned)rng_below(5);
	struct live *l = M.nr_live ? &M.live[rng_below(M.nr_live)] : NULL;

	switch (rng_below(9)) {
	case 0: /* outside every region */
		*got = call_with(how, &local, 0);
		return BUDDY_EOUTSIDE;
	case 1: /* a free page: already free */ {
		unsigned char *p = free_page();
		if (!p)
			break;
		*got = call_with(how, p + (rng_below(2) ? 0 : 1 + rng_below(M.ps - 1)), 0);
		return BUDDY_EDOUBLE;
	}
	case 2: /* inside a live allocation */
		if (!l || l->npages < 2)
			break;
		*got = call_with(how, l->addr + (1 + rng_below(l->npages - 1)) * M.ps, 0);
		return BUDDY_ENOTBLOCK;
	case 3: /* misaligned start of a live allocation */
		if (!l)
			break;
		*got = call_with(how, l->addr + 1 + rng_below(M.ps - 1), 0);
		return BUDDY_ENOTBLOCK;
	case 4: /* wrong order or count */
		if (!l)
			break;
		if (rng_below(2)) {
			unsigned k = l->npages == pow2(l->order) ? l->order + 1 + (unsigned)rng_below(40)
								 : (unsigned)rng_below(40);
			*got = buddy_free_pages(&M.z, l->addr, k);
		} else {
			*got = buddy_free_pages_exact(&M.z, l->addr,
						      rng_below(2) ? 0 : l->npages + 1 + rng_below(9));
		}
		return BUDDY_EORDER;
	case 5: /* order above the maximum */
		if (rng_below(2) || !l || l->npages != pow2(l->order)) {
			*got = buddy_alloc_pages(&M.z, M.zone_max + 1 + (unsigned)rng_below(9), 0)
				       ? BUDDY_OK : buddy_last_error(&M.z);
		} else {
			*got = buddy_resize(&M.z, l->addr, M.zone_max + 1 + (unsigned)rng_below(9));
		}
		return BUDDY_EMAXORDER;
	case 6: /* bad page counts */
		*got = buddy_alloc_pages_exact(&M.z, rng_below(2) ? 0 : pow2(M.zone_max) + 1, 0)
			       ? BUDDY_OK : buddy_last_error(&M.z);
		return BUDDY_ECOUNT;
	case 7: /* a region that overlaps, or is misaligned */ {
		int si = (int)rng_below(NR_SLOTS);
		if (!M.slots[si].arena)
			break;
		if (rng_below(2)) {
			*got = buddy_add_region(&M.z, M.slots[si].arena, M.ps, NULL, 0);
			return M.slots[si].nr_pages ? BUDDY_ESMALL : BUDDY_EOVERLAP;
		}
		*got = buddy_add_region(&M.z, M.slots[si].arena + 8, 4 * M.ps, NULL, 0);
		return BUDDY_EALIGN;
	}
	default: /* remove by a pointer that is not a region base */
		if (!l || (unsigned char *)l->addr == M.slots[l->slot].arena)
			break;
		*got = buddy_remove_region(&M.z, l->addr);
		return BUDDY_EOUTSIDE;
	}
	*got = -1;
	return -1; /* nothing suitable to try */
}

static void op_bad(void)
{
	struct buddy_stats before, after;
	int got;
	buddy_get_stats(&M.z, &before);
	int want = bad_call(&got);
	if (want < 0)
		return;
	if (got != want)
		fail_msg("op %llu: bad call returned %d (%s), expected %d (%s)", M.ops, got,
			 buddy_strerror(got), want, buddy_strerror(want));
	assert_int_equal(buddy_last_error(&M.z), want);
	M.bad_calls++;
	buddy_get_stats(&M.z, &after);
	assert_memory_equal(&before, &after, sizeof(before));
}

/* ------------------------------------------------------------------ */
/* driver                                                               */
/* ------------------------------------------------------------------ */

static void one_op(void)
{
	unsigned r = (unsigned)rng_below(100);
	if (r < 26)
		op_alloc_order();
	else if (r < 40)
		op_alloc_exact();
	else if (r < 80)
		op_free();
	else if (r < 88)
		op_resize();
	else if (r < 90)
		op_add_region();
	else if (r < 91)
		op_remove_region();
	else
		op_bad();
}

static unsigned long long ops_total(void)
{
	const char *e = getenv("BUDDY_STRESS_OPS");
	if (e && *e)
		return strtoull(e, NULL, 10);
	e = getenv("BUDDY_UNDER_VALGRIND");
	return e && strcmp(e, "1") == 0 ? 20000ull : 1000000ull;
}

/*
 * One phase: a zone with this page size, cap and page cache (pcp_high 0 =
 * off), ops operations, then tear-down.
 */
static void run_phase(size_t ps, unsigned max_order, unsigned pcp_high, int outside,
		      uint64_t seed, unsigned long long ops)
{
	struct buddy_config cfg;
	memset(&M, 0, sizeof(M));
	rng_state = seed;
	M.ps = ps;
	buddy_config_default(&cfg);
	cfg.page_size = ps;
	cfg.max_order = max_order;
	cfg.pcp_high = pcp_high;
	cfg.pcp_max_order = 2;
	cfg.outside_links = outside;
	assert_int_equal(buddy_zone_init(&M.z, &cfg), BUDDY_OK);
	M.zone_max = max_order == BUDDY_MAX_ORDER_AUTO ? BUDDY_MAX_ORDER : max_order;
	M.cap = max_order == BUDDY_MAX_ORDER_AUTO ? 8 : max_order;
	for (int i = 0; i < 2; i++)
		op_add_region();
	for (unsigned long long i = 0; i < ops; i++) {
		M.ops++;
		one_op();
		model_verify();
	}
	/* Free everything: each region must be whole again, then remove it. */
	while (M.nr_live) {
		tags_verify(&M.live[M.nr_live - 1]);
		assert_int_equal(buddy_free(&M.z, M.live[M.nr_live - 1].addr), BUDDY_OK);
		model_drop(M.nr_live - 1);
	}
	model_verify();
	for (int i = 0; i < NR_SLOTS; i++) {
		if (!M.slots[i].arena)
			continue;
		assert_int_equal(buddy_remove_region(&M.z, M.slots[i].arena), BUDDY_OK);
		M.total -= M.slots[i].nr_pages;
		slot_release(&M.slots[i]);
		model_verify();
	}
	print_message("page size %zu, max order %s, cache %s, links %s: %llu operations: "
		      "%llu allocations, "
		      "%llu frees, %llu ENOMEM, %llu resizes (%llu grows refused), "
		      "%llu regions removed (%llu busy), %llu bad calls; peak %zu pages\n", ps,
		      max_order == BUDDY_MAX_ORDER_AUTO ? "auto" : "capped", pcp_high ? "on" : "off",
		      outside ? "outside" : "inside", M.ops,
		      (unsigned long long)M.allocs, (unsigned long long)M.frees,
		      (unsigned long long)M.failures, M.resized, M.grow_refused, M.removed,
		      M.remove_busy, M.bad_calls, M.peak);
}

/*
 * Each test runs a third of the total, in four phases: auto order, capped
 * order, auto order with the page cache on (deferred merging), and capped
 * order with the cache and outside links (buddy_config.outside_links).
 */
static void run_size(size_t ps, unsigned cap, uint64_t seed)
{
	unsigned long long ops = (ops_total() + 11) / 12;
	run_phase(ps, BUDDY_MAX_ORDER_AUTO, 0, 0, seed, ops);
	run_phase(ps, cap, 0, 0, seed ^ 0x5deece66dull, ops);
	run_phase(ps, BUDDY_MAX_ORDER_AUTO, 4, 0, seed ^ 0x2545f4914f6cdd1dull, ops);
	run_phase(ps, cap, 4, 1, seed ^ 0x9e3779b97f4a7c15ull, ops);
}

static void test_page_stress_page_size_16(void **state)
{
	(void)state;
	run_size(16, 3, 0x9e3779b97f4a7c15ull);
}

static void test_page_stress_page_size_64(void **state)
{
	(void)state;
	run_size(64, 5, 0x0123456789abcdefull);
}

static void test_page_stress_page_size_4096(void **state)
{
	(void)state;
	run_size(4096, 6, 0xfedcba9876543210ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_stress_page_size_16),
		cmocka_unit_test(test_page_stress_page_size_64),
		cmocka_unit_test(test_page_stress_page_size_4096),
	};
	print_message("stress: %llu operations in total\n", (ops_total() + 11) / 12 * 12);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
