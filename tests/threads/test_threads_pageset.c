/* SPDX-License-Identifier: MIT */
/*
 * test_threads_pageset.c - page sets one call at a time: every check of a
 * free made through a set gives the zone's status and changes nothing;
 * statistics add the sets up; damage to a set's block is caught and stops
 * the zone; a region whose missing pages sit in page sets can go, one with
 * an allocation cannot and changes nothing; a set whose list is full keeps
 * the block when the zone lock is busy; the hosted helper's errors; one
 * thread's statistics and peak exact through its set's inline paths.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buddy/page.h"
#include "buddy/thread.h"
#include "common/annotate.h"
#include "page/page_internal.h"
#include "page_fixture.h"

static int errors;

static void on_error(void *arg, int kind, const char *op, const void *ptr, const char *msg)
{
	(void)arg, (void)op, (void)ptr, (void)msg;
	assert_int_equal(kind, BUDDY_ERR_CORRUPT);
	errors++;
}

static int busy_lock; /* the trylock hook fails while set */

static void plain_lock(void *arg)
{
	(void)arg;
}

static int plain_trylock(void *arg)
{
	(void)arg;
	return !busy_lock;
}

static void zone_with_sets(struct buddy_zone *z, void *arena, size_t pages, unsigned high,
			   unsigned batch)
{
	struct buddy_config cfg;
	buddy_config_default(&cfg);
	cfg.pcp_high = high;
	cfg.pcp_batch = batch;
	cfg.pcp_max_order = 2;
	cfg.on_error = on_error;
	cfg.lock = plain_lock;
	cfg.unlock = plain_lock;
	cfg.trylock = plain_trylock;
	assert_int_equal(buddy_zone_init(z, &cfg), BUDDY_OK);
	fx_add(z, arena, pages);
	errors = 0;
}

static void test_frees_through_a_set_are_checked(void **state)
{
	struct buddy_zone z;
	struct buddy_pageset ps;
	struct fx_snap snap;
	int foreign;
	(void)state;
	void *arena = fx_arena(4096, 64, 4096);
	zone_with_sets(&z, arena, 64, 8, 2);
	assert_int_equal(buddy_pageset_init(&z, &ps), BUDDY_OK);
	char *a = buddy_pageset_alloc_pages(&ps, 1, 0);
	char *b = buddy_pageset_alloc_pages(&ps, 0, BUDDY_ZERO);
	char *c = buddy_pageset_alloc_pages(&ps, 5, 0); /* not a cached order: the zone */
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(b[100], 0);
	assert_int_equal(buddy_pageset_free_pages(&ps, b, 0), BUDDY_OK);

	fx_snap_take(&z, &snap);
	assert_int_equal(buddy_pageset_free_pages(&ps, b, 0), BUDDY_EDOUBLE);
	assert_int_equal(buddy_pageset_free_pages(&ps, a + 4096, 0), BUDDY_ENOTBLOCK);
	assert_int_equal(buddy_pageset_free_pages(&ps, a + 8, 1), BUDDY_ENOTBLOCK);
	assert_int_equal(buddy_pageset_free_pages(&ps, a, 0), BUDDY_EORDER);
	assert_int_equal(buddy_pageset_free_pages(&ps, a, 40), BUDDY_EORDER);
	assert_int_equal(buddy_pageset_free_pages(&ps, &foreign, 0), BUDDY_EOUTSIDE);
	assert_int_equal(buddy_pageset_free_pages(&ps, NULL, 0), BUDDY_ENULL);
	assert_int_equal(buddy_last_error(&z), BUDDY_ENULL);
	fx_snap_expect(&z, &snap);

	struct buddy_stats st;
	buddy_get_stats(&z, &st);
	assert_int_equal(st.nr_pagesets, 1);
	assert_int_equal(st.allocs, 3);
	assert_int_equal(st.frees, 1);
	assert_int_equal(st.used_pages, 2 + 32);
	assert_int_equal(st.free_pages + st.cached_pages + st.used_pages, st.total_pages);
	assert_true(st.nr_cached[0] >= 1);
	assert_int_equal(fx_check(&z), 0);
	assert_int_equal(buddy_pageset_free_pages(&ps, a, 1), BUDDY_OK);
	assert_int_equal(buddy_pageset_free_pages(&ps, c, 5), BUDDY_OK);
	buddy_pageset_release(&ps);
	buddy_get_stats(&z, &st);
	assert_int_equal(st.nr_pagesets, 0);
	assert_int_equal(st.allocs, st.frees);
	assert_int_equal(st.free_pages, 64);
	/* A released set does nothing. */
	assert_null(buddy_pageset_alloc_pages(&ps, 0, 0));
	assert_int_equal(buddy_pageset_free_pages(&ps, a, 0), BUDDY_ENULL);
	fx_cleanup();
	fx_arena_free(arena);
}

/* A zone of 64 pages whose page set holds blocks of order 0; returns the one freed last. */
static void *set_holding_blocks(struct buddy_zone *z, struct buddy_pageset *ps, void *arena)
{
	zone_with_sets(z, arena, 64, 8, 4);
	assert_int_equal(buddy_pageset_init(z, ps), BUDDY_OK);
	void *p = buddy_pageset_alloc_pages(ps, 0, 0);
	assert_int_equal(buddy_pageset_free_pages(ps, p, 0), BUDDY_OK);
	return p;
}

static void test_damaged_set_block_stops_the_zone(void **state)
{
	struct buddy_zone z;
	struct buddy_pageset ps;
	(void)state;
	void *arena = fx_arena(4096, 64, 4096);
	void *p = set_holding_blocks(&z, &ps, arena);
	/* The newest entry's page byte no longer says "cached". */
	*ps.slot[0][ps_count(&ps, 0) - 1].pg = PG_HEAD;
	assert_null(buddy_pageset_alloc_pages(&ps, 0, 0));
	assert_int_equal(buddy_last_error(&z), BUDDY_ECORRUPT);
	assert_int_equal(errors, 1);
	/* The set is closed: frees and allocations go to the zone, which refuses. */
	assert_null(buddy_pageset_alloc_pages(&ps, 1, 0));
	assert_int_equal(buddy_pageset_free_pages(&ps, p, 0), BUDDY_ECORRUPT);
	buddy_drain_cache(&z);
	buddy_pageset_release(&ps);
	assert_int_equal(errors, 1);
	fx_cleanup();
	fx_arena_free(arena);
}

static void test_damaged_entry_found_on_give_back(void **state)
{
	struct buddy_zone z;
	struct buddy_pageset ps;
	(void)state;
	void *arena = fx_arena(4096, 64, 4096);
	set_holding_blocks(&z, &ps, arena);
	ps.slot[0][0].addr = (char *)ps.slot[0][0].addr + 8; /* off a page boundary */
	buddy_drain_cache(&z);
	assert_int_equal(buddy_last_error(&z), BUDDY_ECORRUPT);
	assert_int_equal(errors, 1);
	buddy_pageset_release(&ps);
	fx_cleanup();
	fx_arena_free(arena);
}

static void test_remove_region_with_sets(void **state)
{
	struct buddy_zone z;
	struct buddy_pageset ps;
	struct fx_snap snap;
	(void)state;
	void *arena = fx_arena(4096, 64, 4096), *second = fx_arena(4096, 16, 4096);
	zone_with_sets(&z, arena, 64, 8, 4);
	fx_add(&z, second, 16);
	assert_int_equal(buddy_pageset_init(&z, &ps), BUDDY_OK);
	void *held[18];
	for (int i = 0; i < 18; i++)
		assert_non_null(held[i] = buddy_pageset_alloc_pages(&ps, 2, 0)); /* 72 pages: both regions */
	for (int i = 1; i < 18; i++)
		assert_int_equal(buddy_pageset_free_pages(&ps, held[i], 2), BUDDY_OK);
	/* held[0]'s region is busy: EBUSY, and nothing changes (the set keeps its blocks). */
	int in_first = (char *)held[0] >= (char *)arena && (char *)held[0] < (char *)arena + 64 * 4096;
	void *busy_base = in_first ? arena : second, *other_base = in_first ? second : arena;
	struct buddy_region_info ri;
	assert_int_equal(buddy_region_info(&z, 0, &ri), BUDDY_OK); /* regions go by address */
	if (ri.base != busy_base)
		assert_int_equal(buddy_region_info(&z, 1, &ri), BUDDY_OK);
	assert_ptr_equal(ri.base, busy_base);
	fx_snap_take(&z, &snap);
	assert_true(snap.st.cached_pages > 0); /* which a failed remove must not drain */
	assert_int_equal(buddy_remove_region(&z, busy_base), BUDDY_EBUSY);
	fx_snap_expect(&z, &snap);
	/* The other region's missing pages are all in the set: it can go. */
	assert_int_equal(buddy_remove_region(&z, other_base), BUDDY_OK);
	assert_int_equal(fx_check(&z), 0);
	assert_int_equal(buddy_pageset_free_pages(&ps, held[0], 2), BUDDY_OK);
	assert_int_equal(buddy_remove_region(&z, busy_base), BUDDY_OK);
	buddy_pageset_release(&ps);
	fx_cleanup();
	fx_arena_free(arena);
	fx_arena_free(second);
}

static void test_full_list_keeps_the_block_when_the_lock_is_busy(void **state)
{
	struct buddy_zone z;
	struct buddy_pageset ps;
	void *p[BUDDY_PAGESET_SLOTS + 8];
	(void)state;
	void *arena = fx_arena(4096, 256, 4096);
	zone_with_sets(&z, arena, 256, 4, 2);
	assert_int_equal(buddy_pageset_init(&z, &ps), BUDDY_OK);
	for (int i = 0; i < BUDDY_PAGESET_SLOTS + 8; i++)
		assert_non_null(p[i] = buddy_alloc_pages(&z, 0, 0)); /* the zone path: no hook */
	busy_lock = 1;
	for (int i = 0; i < BUDDY_PAGESET_SLOTS + 8; i++)
		assert_int_equal(buddy_pageset_free_pages(&ps, p[i], 0), BUDDY_OK);
	busy_lock = 0;
	/* Over high while the lock was busy; at the last slot it waited for the lock. */
	assert_true(ps_count(&ps, 0) > 4 && ps_count(&ps, 0) <= BUDDY_PAGESET_SLOTS);
	assert_int_equal(fx_check(&z), 0);
	buddy_pageset_release(&ps);
	struct buddy_stats st;
	buddy_get_stats(&z, &st);
	assert_int_equal(st.allocs, st.frees);
	assert_int_equal(st.free_pages, 256);
	fx_cleanup();
	fx_arena_free(arena);
}

static void test_thread_helper_errors(void **state)
{
	struct buddy_config cfg;
	struct buddy_thread_lock lk;
	struct buddy_zone z;
	(void)state;
	buddy_config_default(&cfg);
	assert_int_equal(buddy_thread_config(NULL, &lk, BUDDY_LOCK_MUTEX, 0), EINVAL);
	assert_int_equal(buddy_thread_config(&cfg, NULL, BUDDY_LOCK_MUTEX, 0), EINVAL);
	assert_int_equal(buddy_thread_config(&cfg, &lk, (enum buddy_lock_kind)7, 0), EINVAL);
	assert_int_equal(buddy_thread_config(&cfg, &lk, BUDDY_LOCK_SPIN, 0x80), EINVAL);
	/* A page cache too long for a page set: the hook gives none, the zone serves. */
	cfg.pcp_high = BUDDY_PAGESET_SLOTS;
	cfg.pcp_batch = 8;
	assert_int_equal(buddy_thread_config(&cfg, &lk, BUDDY_LOCK_SPIN, BUDDY_THREAD_PAGESETS), 0);
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_OK);
	void *arena = fx_arena(4096, 16, 4096);
	fx_add(&z, arena, 16);
	assert_null(buddy_thread_pageset(&z));
	assert_null(buddy_thread_pageset(NULL));
	void *p = buddy_alloc_pages(&z, 0, 0);
	assert_non_null(p);
	assert_int_equal(buddy_free(&z, p), BUDDY_OK);
	p = buddy_thread_alloc_pages(&z, 1, 0);
	assert_int_equal(buddy_thread_free_pages(&z, p, 1), BUDDY_OK);
	assert_int_equal(fx_check(&z), 0);
	buddy_thread_zone_fini(&z);
	buddy_thread_lock_destroy(&lk);
	fx_cleanup();
	fx_arena_free(arena);
}

/* A heavy barrier for one thread: a full fence (the protocol's other side is the caller itself). */
static void fence_barrier(void *arg)
{
	(void)arg;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/*
 * One thread through its page set (the inline fast paths: a zone with the
 * heavy barrier hook; or the thread helper's wrappers), mixed orders, some
 * the set does not cache, drains now and then (which close the set and open
 * it again); through the helper (the pageset hook), also exact allocations
 * of 3 and 5 pages and their frees, and resizes: zone calls the thread
 * makes itself, which move its set's mark. After every call the statistics
 * equal a model's, the peak exactly, and no page is handed out twice (each
 * holds its slot's stamp).
 */
#define MODEL_SLOTS 256
#define MODEL_STEPS 40000 /* 4,000 under valgrind */

static void *model_alloc(struct buddy_zone *z, struct buddy_pageset *ps, unsigned order)
{
	return ps ? buddy_pageset_alloc_pages(ps, order, 0) : buddy_thread_alloc_pages(z, order, 0);
}

static int model_free(struct buddy_zone *z, struct buddy_pageset *ps, void *p, unsigned order)
{
	return ps ? buddy_pageset_free_pages(ps, p, order) : buddy_thread_free_pages(z, p, order);
}

/* Slot kinds past the orders: an exact allocation of 3 or 5 pages. */
#define MODEL_EXACT3 4u
#define MODEL_EXACT5 5u

static size_t model_pages(unsigned kind)
{
	return kind == MODEL_EXACT3 ? 3 : kind == MODEL_EXACT5 ? 5 : (size_t)1 << kind;
}

static void run_model(struct buddy_zone *z, struct buddy_pageset *ps)
{
	static uintptr_t *slot[MODEL_SLOTS];
	static unsigned char ord[MODEL_SLOTS]; /* an order, or MODEL_EXACT3 / 5 */
	size_t used = 0, peak = 0;
	uint64_t allocs = 0, frees = 0, s = 0x9E3779B97F4A7C15ull;
	struct buddy_stats st;
	unsigned steps = getenv("BUDDY_UNDER_VALGRIND") ? MODEL_STEPS / 10 : MODEL_STEPS;
	memset(slot, 0, sizeof(slot));
	for (unsigned step = 0; step < steps; step++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		unsigned i = (unsigned)(s >> 40) % MODEL_SLOTS;
		if (!ps && slot[i] && ord[i] < MODEL_EXACT3 && (s >> 8) % 8 == 0) {
			/* A resize by one order either way: the zone path, in place. */
			unsigned to = ord[i] == 0 || (ord[i] < 3 && (s >> 12) % 2) ? ord[i] + 1u : ord[i] - 1u;
			int rs = buddy_resize(z, slot[i], to);
			if (rs == BUDDY_OK) {
				used = used - ((size_t)1 << ord[i]) + ((size_t)1 << to);
				peak = used > peak ? used : peak;
				ord[i] = (unsigned char)to;
			} else {
				assert_int_equal(rs, BUDDY_ENOMEM); /* a buddy in use: it cannot grow */
			}
			assert_int_equal(slot[i][0], i);
		} else if (slot[i]) {
			assert_int_equal(slot[i][0], i);
			if (ord[i] >= MODEL_EXACT3)
				assert_int_equal(buddy_free_pages_exact(z, slot[i], model_pages(ord[i])),
						 BUDDY_OK);
			else
				assert_int_equal(model_free(z, ps, slot[i], ord[i]), BUDDY_OK);
			slot[i] = NULL;
			used -= model_pages(ord[i]);
			frees++;
		} else {
			/* Orders 0..2 cached, 3 not; with the hook, exact 3 and 5. */
			ord[i] = (unsigned char)(s % (ps ? 4 : 6));
			slot[i] = ord[i] >= MODEL_EXACT3 ? buddy_alloc_pages_exact(z, model_pages(ord[i]), 0)
							 : model_alloc(z, ps, ord[i]);
			assert_non_null(slot[i]);
			slot[i][0] = i;
			used += model_pages(ord[i]);
			peak = used > peak ? used : peak;
			allocs++;
		}
		if (step % 997 == 996)
			buddy_drain_cache(z);
		buddy_get_stats(z, &st);
		assert_int_equal(st.used_pages, used);
		assert_int_equal(st.peak_used_pages, peak);
		assert_int_equal(st.allocs, allocs);
		assert_int_equal(st.frees, frees);
	}
	assert_int_equal(fx_check(z), 0);
	for (unsigned i = 0; i < MODEL_SLOTS; i++)
		if (slot[i])
			assert_int_equal(ord[i] >= MODEL_EXACT3
						 ? buddy_free_pages_exact(z, slot[i], model_pages(ord[i]))
						 : model_free(z, ps, slot[i], ord[i]),
					 BUDDY_OK);
	buddy_get_stats(z, &st);
	assert_int_equal(st.used_pages, 0);
	assert_int_equal(st.peak_used_pages, peak);
}

static void test_one_thread_counts_exact(void **state)
{
	struct buddy_config cfg;
	struct buddy_zone z;
	struct buddy_pageset ps;
	(void)state;
	void *arena = fx_arena(4096, 2048, 4096);
	buddy_config_default(&cfg);
	cfg.pcp_high = 16;
	cfg.pcp_max_order = 2;
	cfg.lock = plain_lock;
	cfg.unlock = plain_lock;
	cfg.barrier = fence_barrier;
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_OK);
	fx_add(&z, arena, 2048);
	assert_int_equal(buddy_pageset_init(&z, &ps), BUDDY_OK);
	run_model(&z, &ps);
	buddy_pageset_release(&ps);
	fx_cleanup();

	/* The same through the thread helper's inline wrappers. */
	struct buddy_thread_lock lk;
	buddy_config_default(&cfg);
	cfg.pcp_high = 16;
	cfg.pcp_max_order = 2;
	assert_int_equal(buddy_thread_config(&cfg, &lk, BUDDY_LOCK_DEFAULT, BUDDY_THREAD_PAGESETS), 0);
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_OK);
	fx_add(&z, arena, 2048);
	run_model(&z, NULL);
	buddy_thread_zone_fini(&z);
	buddy_thread_lock_destroy(&lk);
	fx_cleanup();
	fx_arena_free(arena);
}


/* A zone of `pages` pages with the heavy barrier hook: free tags, unless the library annotates. */
static int zone_with_tags(struct buddy_zone *z, void *arena, size_t pages, int strict, int outside)
{
	struct buddy_config cfg;
	buddy_config_default(&cfg);
	cfg.pcp_high = 8;
	cfg.pcp_batch = 2;
	cfg.pcp_max_order = 2;
	cfg.on_error = on_error;
	cfg.lock = plain_lock;
	cfg.unlock = plain_lock;
	cfg.trylock = plain_trylock;
	cfg.barrier = fence_barrier;
	cfg.strict_frees = strict;
	cfg.outside_links = outside;
	assert_int_equal(buddy_zone_init(z, &cfg), BUDDY_OK);
	fx_add(z, arena, pages);
	errors = 0;
	if (ANNOT_ACTIVE) {
		/* The memory checker watches free pages: no tags, every call out of line. */
		assert_true(z->tag_key == 0);
		printf("free tags: off in a library built for a memory checker; checked that\n");
		return 0;
	}
	return 1;
}

static int walk_state_of(void *arg, const struct buddy_block *b)
{
	struct buddy_block *want = arg;
	if (b->addr == want->addr) {
		*want = *b;
		return 1;
	}
	return 0;
}

static enum buddy_block_state state_of(const struct buddy_zone *z, void *p)
{
	struct buddy_block b = { .addr = p };
	assert_int_equal(buddy_walk(z, walk_state_of, &b), 1);
	return b.state;
}

/*
 * Free tags: a block freed through a set keeps its "allocated" page byte
 * and gets its tag; every check of a free, the look-ups, the walk and
 * buddy_check see it as cached, in this set and from another; handing it
 * out clears the tag.
 */
static void test_free_tags_keep_every_check(void **state)
{
	struct buddy_zone z;
	struct buddy_pageset ps, other;
	struct buddy_alloc_info info;
	struct fx_snap snap;
	(void)state;
	void *arena = fx_arena(4096, 64, 4096);
	if (!zone_with_tags(&z, arena, 64, 0, 0)) {
		fx_cleanup();
		fx_arena_free(arena);
		return;
	}
	assert_true(z.tag_key & 1u);
	assert_int_equal(buddy_pageset_init(&z, &ps), BUDDY_OK);
	assert_int_equal(buddy_pageset_init(&z, &other), BUDDY_OK);
	assert_true(ps.inline_orders > 0 && ps.inline_free_orders > 0);
	char *a = buddy_pageset_alloc_pages(&ps, 0, 0);
	char *b = buddy_pageset_alloc_pages(&ps, 1, 0);
	assert_non_null(a);
	assert_non_null(b);
	memset(a, 0x5a, 4096);
	memset(b, 0x5a, 8192);
	const struct buddy_region *r = buddy_region_lookup(&z, (uintptr_t)a);
	size_t ia = region_index(&z, r, (uintptr_t)a);
	assert_int_equal(buddy_pageset_free_pages(&ps, a, 0), BUDDY_OK);
	assert_int_equal(buddy_pageset_free_pages(&ps, b, 1), BUDDY_OK);
	/* The page byte is untouched; the tag marks the block. */
	assert_int_equal(r->pg[ia], PG_HEAD); /* order 0 */
	assert_true(block_has_tag(z.tag_key, (uintptr_t)a));
	assert_int_equal(state_of(&z, a), BUDDY_BLOCK_CACHED);
	assert_int_equal(state_of(&z, b), BUDDY_BLOCK_CACHED);
	assert_int_equal(fx_check(&z), 0);

	fx_snap_take(&z, &snap);
	assert_int_equal(buddy_pageset_free_pages(&ps, a, 0), BUDDY_EDOUBLE);
	assert_int_equal(buddy_pageset_free_pages(&other, a, 0), BUDDY_EDOUBLE);
	assert_int_equal(buddy_free_pages(&z, a, 0), BUDDY_EDOUBLE);
	assert_int_equal(buddy_free(&z, b), BUDDY_EDOUBLE);
	assert_int_equal(buddy_pageset_free_pages(&ps, b + 4096, 0), BUDDY_EDOUBLE);
	assert_int_equal(buddy_pageset_free_pages(&ps, a + 8, 0), BUDDY_EDOUBLE);
	assert_int_equal(buddy_pageset_free_pages(&ps, a, 1), BUDDY_EDOUBLE);
	assert_int_equal(buddy_alloc_info(&z, a, &info), BUDDY_EDOUBLE);
	assert_int_equal(buddy_alloc_size(&z, a), 0);
	assert_int_equal(buddy_resize(&z, a, 1), BUDDY_EDOUBLE);
	fx_snap_expect(&z, &snap);
	assert_int_equal(errors, 0);

	/* Handed out again (newest first), with the tag cleared: the rest of the page as left. */
	assert_ptr_equal(buddy_pageset_alloc_pages(&ps, 1, 0), b);
	assert_ptr_equal(buddy_pageset_alloc_pages(&ps, 0, 0), a);
	assert_false(block_has_tag(z.tag_key, (uintptr_t)a));
	assert_int_equal(state_of(&z, a), BUDDY_BLOCK_ALLOCATED);
	size_t zeros = 0;
	for (size_t i = 0; i < 4096; i++)
		zeros += a[i] == 0;
	assert_int_equal(zeros, sizeof(uintptr_t)); /* the tag word, cleared */
	assert_int_equal(buddy_alloc_size(&z, a), 1); /* pages */
	/* Freed from the other set: its tag there; the first set's entry is gone. */
	assert_int_equal(buddy_pageset_free_pages(&other, a, 0), BUDDY_OK);
	assert_int_equal(buddy_pageset_free_pages(&ps, a, 0), BUDDY_EDOUBLE);
	assert_int_equal(buddy_pageset_free_pages(&ps, b, 1), BUDDY_OK);
	assert_int_equal(fx_check(&z), 0);

	/* Given back to the buddy lists: tags cleared, everything merges. */
	buddy_drain_cache(&z);
	assert_false(block_has_tag(z.tag_key, (uintptr_t)a));
	assert_false(block_has_tag(z.tag_key, (uintptr_t)b));
	struct buddy_stats st;
	buddy_get_stats(&z, &st);
	assert_int_equal(st.free_pages, 64);
	assert_int_equal(fx_check(&z), 0);
	buddy_pageset_release(&ps);
	buddy_pageset_release(&other);
	assert_int_equal(errors, 0);
	fx_cleanup();

	/* The thread helper's zones have tags wherever the kernel gives the heavy barrier. */
	struct buddy_config cfg;
	struct buddy_thread_lock lk;
	buddy_config_default(&cfg);
	cfg.pcp_high = 16;
	assert_int_equal(buddy_thread_config(&cfg, &lk, BUDDY_LOCK_DEFAULT, BUDDY_THREAD_PAGESETS), 0);
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_OK);
	assert_int_equal(z.tag_key != 0, cfg.barrier != NULL);
	printf("thread helper: heavy barrier %s, free tags %s\n", cfg.barrier ? "yes" : "no",
	       z.tag_key ? "on" : "off");
	buddy_thread_zone_fini(&z);
	buddy_thread_lock_destroy(&lk);
	fx_arena_free(arena);
}

/* A write after free over a tag: found when the set would hand the block out, or give it back. */
/* A tagged zone of 64 pages with ps, and one block allocated and freed through it (its tag
 * on); NULL when the library annotates (no tags). */
static char *tagged_block_freed(struct buddy_zone *z, struct buddy_pageset *ps, void *arena)
{
	if (!zone_with_tags(z, arena, 64, 0, 0))
		return NULL;
	assert_int_equal(buddy_pageset_init(z, ps), BUDDY_OK);
	char *p = buddy_pageset_alloc_pages(ps, 0, 0);
	assert_int_equal(buddy_pageset_free_pages(ps, p, 0), BUDDY_OK);
	return p;
}

/* The set's next allocation (none handed out), or with give_back a drain, reports the damage. */
static void damage_found(struct buddy_zone *z, struct buddy_pageset *ps, int give_back)
{
	if (give_back)
		buddy_drain_cache(z);
	else
		assert_null(buddy_pageset_alloc_pages(ps, 0, 0));
	assert_int_equal(buddy_last_error(z), BUDDY_ECORRUPT);
	assert_int_equal(errors, 1);
}

static void test_damaged_free_tag_stops_the_zone(void **state)
{
	struct buddy_zone z;
	struct buddy_pageset ps;
	(void)state;
	void *arena = fx_arena(4096, 64, 4096);
	for (int give_back = 0; give_back < 2; give_back++) {
		char *p = tagged_block_freed(&z, &ps, arena);
		if (!p)
			break;
		memset(p, 0, 4096); /* the program writes to the block it freed */
		damage_found(&z, &ps, give_back);
		/* Stopped: nothing is handed out or taken again. */
		assert_null(buddy_pageset_alloc_pages(&ps, 0, 0));
		assert_int_equal(buddy_pageset_free_pages(&ps, p, 0), BUDDY_ECORRUPT);
		buddy_pageset_release(&ps);
		assert_int_equal(errors, 1);
	}
	fx_cleanup();
	fx_arena_free(arena);
}

/*
 * A write after free over a tag, then a second free of the block on the
 * zone path (a zone call, not through a set): the zone takes it into its
 * own page cache, whose blocks carry the "cached" page byte, while the set
 * still holds its entry. In a tagged zone no set's block carries that byte,
 * so the set must not take the entry for one of its own: it would hand the
 * block out while it sits on the page cache list, which hands it out again
 * (the page fuzzer's damage mode found a link written into the handed-out
 * block). The set's allocation, or its give-back, reports the damage.
 */
static void test_stale_entry_to_zone_cache_is_damage(void **state)
{
	struct buddy_zone z;
	struct buddy_pageset ps;
	(void)state;
	void *arena = fx_arena(4096, 64, 4096);
	for (int give_back = 0; give_back < 2; give_back++) {
		char *p = tagged_block_freed(&z, &ps, arena);
		if (!p)
			break;
		memset(p, 0, 16);                             /* the tag overwritten after free */
		assert_int_equal(buddy_free(&z, p), BUDDY_OK); /* freed again: the zone's cache */
		damage_found(&z, &ps, give_back);
		assert_null(buddy_alloc_pages(&z, 0, 0));
		buddy_pageset_release(&ps);
	}
	fx_cleanup();
	fx_arena_free(arena);
}

/*
 * A link in the zone's page cache overwritten after free to name a block a
 * page set holds: in a zone without free tags both carry the "cached" page
 * byte. Damage, found before the zone hands anything out; in a library
 * built for a memory checker the set's block is marked inaccessible, and
 * its words are not even read (they were, and the checker reported the
 * zone's own read: the page fuzzer's damage mode under ASan).
 */
static void test_cache_link_to_a_set_block_is_damage(void **state)
{
	struct buddy_zone z;
	struct buddy_pageset ps;
	(void)state;
	void *arena = fx_arena(4096, 64, 4096);
	zone_with_sets(&z, arena, 64, 8, 2);
	assert_int_equal(buddy_pageset_init(&z, &ps), BUDDY_OK);
	char *x = buddy_pageset_alloc_pages(&ps, 0, 0), *y = buddy_alloc_pages(&z, 0, 0);
	memset(x, 0x5a, 4096);                                            /* no links in it */
	assert_int_equal(buddy_pageset_free_pages(&ps, x, 0), BUDDY_OK); /* held by the set */
	assert_int_equal(buddy_free(&z, y), BUDDY_OK);                    /* the zone's cache */
	((struct buddy_list *)(void *)y)->next = (struct buddy_list *)(void *)x;
	assert_null(buddy_alloc_pages(&z, 0, 0));
	assert_int_equal(buddy_last_error(&z), BUDDY_ECORRUPT);
	assert_int_equal(errors, 1);
	assert_true(buddy_check(&z, NULL, NULL) > 0);
	buddy_pageset_release(&ps);
	fx_cleanup();
	fx_arena_free(arena);
}

/* No tags where a strict free claims the page byte, or the zone writes nothing into free blocks. */
static void test_free_tags_off(void **state)
{
	struct buddy_zone z;
	struct buddy_pageset ps;
	(void)state;
	void *arena = fx_arena(4096, 64, 4096);
	for (int i = 0; i < 2; i++) {
		zone_with_tags(&z, arena, 64, i == 0, i == 1);
		assert_true(z.tag_key == 0);
		assert_int_equal(buddy_pageset_init(&z, &ps), BUDDY_OK);
		assert_int_equal(ps.inline_orders, 0);
		assert_int_equal(ps.inline_free_orders, 0);
		char *p = buddy_pageset_alloc_pages(&ps, 0, 0);
		memset(p, 0x33, 4096);
		assert_int_equal(buddy_pageset_free_pages(&ps, p, 0), BUDDY_OK);
		const struct buddy_region *r = buddy_region_lookup(&z, (uintptr_t)p);
		assert_int_equal(r->pg[region_index(&z, r, (uintptr_t)p)], PG_CACHED); /* order 0 */
		/* Nothing written into it (links in the first 16 bytes, or none); a memory
		 * checker's library keeps it inaccessible. */
		for (size_t j = i == 1 ? 0 : 16; !ANNOT_ACTIVE && j < 4096; j++)
			if ((unsigned char)p[j] != 0x33)
				fail_msg("byte %zu of a cached block changed", j);
		assert_int_equal(buddy_pageset_free_pages(&ps, p, 0), BUDDY_EDOUBLE);
		buddy_pageset_release(&ps);
		assert_int_equal(fx_check(&z), 0);
	}
	fx_cleanup();
	fx_arena_free(arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frees_through_a_set_are_checked),
		cmocka_unit_test(test_damaged_set_block_stops_the_zone),
		cmocka_unit_test(test_damaged_entry_found_on_give_back),
		cmocka_unit_test(test_remove_region_with_sets),
		cmocka_unit_test(test_full_list_keeps_the_block_when_the_lock_is_busy),
		cmocka_unit_test(test_thread_helper_errors),
		cmocka_unit_test(test_one_thread_counts_exact),
		cmocka_unit_test(test_free_tags_keep_every_check),
		cmocka_unit_test(test_damaged_free_tag_stops_the_zone),
		cmocka_unit_test(test_stale_entry_to_zone_cache_is_damage),
		cmocka_unit_test(test_cache_link_to_a_set_block_is_damage),
		cmocka_unit_test(test_free_tags_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
