/* SPDX-License-Identifier: MIT */
/*
 * test_threads_lock.c - the zone lock hooks. Counting lock functions prove
 * that every call that changes the zone's shared state does so holding the
 * lock: the unlock hook photographs the zone (its structure, and every
 * region's header, pair bitmaps and page bytes), and the next lock, and the
 * test after every call, compare the zone with the photograph: nothing may
 * change while the lock is free. Split and merge events and damage reports
 * must arrive with the lock held; calls take it once and never twice (the
 * hooks are not recursive). With page sets, whose owners write the page
 * bytes of their own blocks without the lock, the photograph leaves the
 * page bytes and the peak (raised by an atomic maximum) out. A zone without hooks takes no lock and gives the same
 * results as the same calls on a locked zone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buddy/page.h"
#include "page/page_internal.h"
#include "page_fixture.h"

#define SNAP_BYTES (1u << 16)

struct counting {
	const struct buddy_zone *z;
	int held;
	int with_pages; /* photograph the page bytes too */
	unsigned long locks, trylocks, events, errors;
	size_t len;
	unsigned char snap[SNAP_BYTES];
	unsigned char now[SNAP_BYTES];
};

static struct counting C;

/* The zone's shared state, as bytes: the structure, then each region's
 * metadata (header, bitmaps, and the page bytes when asked; not the unused
 * guard in front of carved metadata, never written). */
static size_t photograph(const struct buddy_zone *z, unsigned char *buf)
{
	size_t len = sizeof(*z);
	memcpy(buf, z, sizeof(*z));
	/* `registry` is the drainers' own lock, taken before the zone lock. */
	memset(buf + offsetof(struct buddy_zone, registry), 0, sizeof(z->registry));
	/* Page sets raise the peak without the lock (an atomic maximum). */
	if (!C.with_pages)
		memset(buf + offsetof(struct buddy_zone, peak_used_pages), 0, sizeof(z->peak_used_pages));
	for (const struct buddy_region *r = z->regions; r; r = r->next) {
		size_t n = (size_t)((const unsigned char *)r->pg - (const unsigned char *)r);
		if (C.with_pages)
			n += r->nr_pages;
		assert_true(len + n <= SNAP_BYTES);
		memcpy(buf + len, r, n);
		len += n;
	}
	return len;
}

/* Nothing changed since the lock was last let go. */
static void unchanged(void)
{
	size_t len = photograph(C.z, C.now);
	assert_int_equal(len, C.len);
	assert_memory_equal(C.now, C.snap, len);
}

static void count_lock(void *arg)
{
	assert_ptr_equal(arg, &C);
	assert_false(C.held); /* never taken twice */
	unchanged();
	C.held = 1;
	C.locks++;
}

static void count_unlock(void *arg)
{
	assert_ptr_equal(arg, &C);
	assert_true(C.held);
	C.held = 0;
	C.len = photograph(C.z, C.snap);
}

static int count_trylock(void *arg)
{
	C.trylocks++;
	count_lock(arg);
	return 1;
}

static void count_event(void *arg, const struct buddy_event *ev)
{
	(void)arg, (void)ev;
	if (C.z->lock)
		assert_true(C.held);
	C.events++;
}

static void count_error(void *arg, int kind, const char *op, const void *ptr, const char *msg)
{
	(void)arg, (void)kind, (void)op, (void)ptr, (void)msg;
	assert_true(C.held);
	C.errors++;
}

/* After a call: the lock is free and nothing changed since it was let go. */
#define CALL(expr) \
	do { \
		expr; \
		if (z->lock) { \
			assert_false(C.held); \
			unchanged(); \
		} \
	} while (0)

/* A zone of 4096-byte pages over two regions, locked by the counting hooks or not. */
static void zone_setup(struct buddy_zone *z, int locked, int pcp, void *a, void *b)
{
	struct buddy_config cfg;
	buddy_config_default(&cfg);
	cfg.log = count_event;
	cfg.on_error = count_error;
	if (pcp) {
		cfg.pcp_high = 4;
		cfg.pcp_batch = 4;
		cfg.pcp_max_order = 2;
	}
	if (locked) {
		cfg.lock = count_lock;
		cfg.unlock = count_unlock;
		cfg.trylock = count_trylock;
		cfg.lock_arg = &C;
	}
	memset(&C, 0, sizeof(C));
	C.z = z;
	C.with_pages = 1;
	assert_int_equal(buddy_zone_init(z, &cfg), BUDDY_OK);
	C.len = photograph(z, C.snap);
	assert_int_equal(buddy_add_region(z, a, 64 * 4096, NULL, 0), BUDDY_OK);
	assert_int_equal(buddy_add_region(z, b, 16 * 4096, NULL, 0), BUDDY_OK);
}

/* Every public call of the zone API, the failing ones too; returns a digest of the results. */
static uint64_t exercise(struct buddy_zone *z, void *b)
{
	uint64_t digest = 0;
	struct buddy_stats st;
	struct buddy_alloc_info info;
	struct buddy_region_info ri;
	char line[256];
	void *p, *q, *x;
	int st_;

#define MIX(v) (digest = digest * 31 + (uint64_t)(uintptr_t)(v))
	CALL(p = buddy_alloc_pages(z, 1, 0));
	MIX(p);
	CALL(q = buddy_alloc_pages_exact(z, 5, BUDDY_ZERO));
	MIX(q);
	CALL(x = buddy_alloc_pages(z, 0, 0));
	MIX(x);
	CALL(MIX(buddy_alloc_size(z, q)));
	CALL(MIX(buddy_alloc_info(z, q, &info)));
	CALL(MIX(buddy_resize(z, p, 3)));
	CALL(MIX(buddy_resize(z, p, 2)));
	CALL(MIX(buddy_free_pages(z, p, 1)));   /* wrong order */
	CALL(MIX(buddy_free_pages(z, p, 2)));
	CALL(MIX(buddy_free_pages(z, p, 2)));   /* double free */
	CALL(MIX(buddy_free(z, (char *)q + 4096))); /* interior */
	CALL(MIX(buddy_free(z, &digest)));      /* foreign */
	CALL(MIX(buddy_free_info(z, q, &info)));
	CALL(MIX(buddy_free(z, x)));
	CALL(MIX(buddy_alloc_pages(z, 9, 0)));   /* too large: ENOMEM */
	CALL(MIX(buddy_alloc_pages(z, 40, 0)));  /* above the maximum */
	CALL(MIX(buddy_region_set_owner(z, b, &digest)));
	CALL(MIX(buddy_region_owner(z, b)));
	CALL(p = buddy_alloc_pages(z, 0, 0));
	CALL(MIX(buddy_remove_region(z, b)));   /* busy or not, by where p is */
	CALL(MIX(buddy_free_pages(z, p, 0)));
	CALL(buddy_drain_cache(z));
	CALL(MIX(buddy_remove_region(z, b)));
	CALL(MIX(buddy_add_region(z, b, 16 * 4096, NULL, 0)));
	CALL(MIX(buddy_add_region(z, b, 16 * 4096, NULL, 0))); /* overlap */
	CALL(buddy_get_stats(z, &st));
	MIX(st.free_pages);
	MIX(st.allocs);
	CALL(MIX(buddy_buddyinfo(z, line, sizeof(line))));
	CALL(MIX(buddy_fragmentation_index(z, 3)));
	CALL(MIX(buddy_unusable_index(z, 3)));
	CALL(MIX(buddy_region_info(z, 0, &ri)));
	CALL(MIX(buddy_walk(z, NULL, NULL)));
	CALL(MIX(buddy_check(z, NULL, NULL)));
	CALL(st_ = buddy_last_error(z));
	MIX(st_);
#undef MIX
	return digest;
}

static void test_lock_held_for_every_change(void **state)
{
	struct buddy_zone z, plain;
	(void)state;
	for (int pcp = 0; pcp < 2; pcp++) {
		void *a = fx_arena(4096, 64, 64 * 4096), *b = fx_arena(4096, 16, 16 * 4096);
		zone_setup(&plain, 0, pcp, a, b);
		assert_int_equal(C.locks, 0);
		uint64_t want = exercise(&plain, b);
		unsigned long plain_events = C.events;
		assert_true(C.locks == 0 && C.trylocks == 0); /* a zone without hooks takes none */

		/* The same calls on the same memory, locked: the same results. */
		zone_setup(&z, 1, pcp, a, b);
		uint64_t got = exercise(&z, b);
		assert_true(C.locks >= 30);
		assert_int_equal(C.events, plain_events);
		assert_false(C.held);
		assert_true(got == want);
		fx_arena_free(a);
		fx_arena_free(b);
	}
}

/* With page sets: the zone's shared state (not the owners' page bytes) changes under the lock. */
static void test_lock_with_pagesets(void **state)
{
	struct buddy_zone zz, *z = &zz;
	struct buddy_pageset ps;
	void *blocks[24];
	(void)state;
	void *a = fx_arena(4096, 64, 64 * 4096), *b = fx_arena(4096, 16, 16 * 4096);
	zone_setup(z, 1, 1, a, b);
	C.with_pages = 0;
	C.len = photograph(z, C.snap);
	CALL(assert_int_equal(buddy_pageset_init(z, &ps), BUDDY_OK));
	unsigned long locks = C.locks;
	for (int i = 0; i < 24; i++)
		CALL(blocks[i] = buddy_pageset_alloc_pages(&ps, (unsigned)i % 3, 0));
	for (int i = 0; i < 24; i++)
		CALL(assert_int_equal(buddy_pageset_free_pages(&ps, blocks[i], (unsigned)i % 3), BUDDY_OK));
	/* Refills and gives-back in batches took the lock, far fewer times than calls. */
	print_message("page-set calls: 48, zone lock taken %lu times\n", C.locks - locks);
	assert_true(C.locks > locks && C.locks - locks < 48); /* fewer than the 48 calls */
	assert_true(C.trylocks > 0);
	CALL(assert_null(buddy_pageset_alloc_pages(&ps, 12, 0))); /* zone path: ENOMEM */
	CALL(assert_int_equal(buddy_pageset_free_pages(&ps, blocks[0], 0), BUDDY_EDOUBLE));
	CALL(buddy_drain_cache(z));
	CALL(assert_int_equal(buddy_remove_region(z, b), BUDDY_OK));
	CALL(buddy_pageset_release(&ps));
	CALL(assert_int_equal(fx_check(z), 0));
	assert_false(C.held);
	fx_arena_free(a);
	fx_arena_free(b);
}

/* Damage is reported, and the zone stopped, with the lock held. */
static void test_corruption_under_lock(void **state)
{
	struct buddy_zone zz, *z = &zz;
	(void)state;
	void *a = fx_arena(4096, 64, 64 * 4096), *b = fx_arena(4096, 16, 16 * 4096);
	zone_setup(z, 1, 0, a, b);
	void *p = buddy_alloc_pages(z, 0, 0);
	CALL(assert_int_equal(buddy_free_pages(z, p, 0), BUDDY_OK));
	/* A write after free into the block's list links. */
	void *volatile *link = p;
	link[0] = &zz;
	CALL(buddy_alloc_pages(z, 0, 0));
	CALL(assert_null(buddy_alloc_pages(z, 5, 0)));
	assert_int_equal(C.errors, 1);
	assert_int_equal(buddy_last_error(z), BUDDY_ECORRUPT);
	fx_arena_free(a);
	fx_arena_free(b);
}

/* Hooks come in pairs. */
static void test_lock_config(void **state)
{
	struct buddy_zone z;
	struct buddy_config cfg;
	(void)state;
	buddy_config_default(&cfg);
	cfg.lock = count_lock;
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_ECONFIG);
	cfg.lock = NULL;
	cfg.unlock = count_unlock;
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_ECONFIG);
	cfg.unlock = NULL;
	cfg.trylock = count_trylock;
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_ECONFIG);
	cfg.trylock = NULL;
	cfg.pageset = (buddy_pageset_fn)NULL;
	cfg.pcp_high = 0;
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_OK);
	struct buddy_pageset ps;
	assert_int_equal(buddy_pageset_init(&z, &ps), BUDDY_ECONFIG); /* no page cache */
	cfg.pcp_high = BUDDY_PAGESET_SLOTS;
	assert_int_equal(buddy_zone_init(&z, &cfg), BUDDY_OK);
	assert_int_equal(buddy_pageset_init(&z, &ps), BUDDY_ECONFIG); /* high + batch too many */
	assert_int_equal(buddy_pageset_init(NULL, &ps), BUDDY_ENULL);
	assert_null(buddy_pageset_alloc_pages(NULL, 0, 0));
	assert_int_equal(buddy_pageset_free_pages(NULL, &ps, 0), BUDDY_ENULL);
	buddy_pageset_release(NULL);
	buddy_zone_release_pagesets(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_held_for_every_change),
		cmocka_unit_test(test_lock_with_pagesets),
		cmocka_unit_test(test_corruption_under_lock),
		cmocka_unit_test(test_lock_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
