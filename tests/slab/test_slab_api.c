/* SPDX-License-Identifier: MIT */
/*
 * test_slab_api.c - slab caches through their public calls: layouts and
 * the order chosen per size, the slab states after exact sequences of
 * allocations and frees, the reserve of empty slabs, constructors, zeroing,
 * bulk calls, shrink, destroy, statistics, /proc/slabinfo lines, the walk,
 * events and the lock and page-source hooks.
 */
#include "slab_test.h"

#define PS ((size_t)4096)

/* The layout the automatic order picks, for several sizes and alignments. */
static void test_slab_layout_auto_order(void **state)
{
	(void)state;
	struct tzone t;
	tzone_init(&t, PS, 64);
	static const struct {
		size_t size, align;
		unsigned order, objs;
		size_t stride, header, pad, leftover;
	} want[] = {
		/* a 56-byte header and one bitmap word; objects from byte 64 */
		{ 64, 0, 0, 63, 64, 64, 0, 0 },
		{ 64, 64, 0, 63, 64, 64, 0, 0 },
		{ 1000, 0, 0, 4, 1000, 64, 0, 32 },
		/* 2048 wastes a slot per slab; order 2 brings it to 1/8 */
		{ 2048, 0, 2, 7, 2048, 64, 0, 1984 },
		/* sizes below a pointer take a pointer's slot; eight bitmap words */
		{ 3, 0, 0, 497, 8, 120, 0, 0 },
		/* aligned to 16: 8 bytes of padding after two bitmap words */
		{ 24, 16, 0, 125, 32, 72, 8, 16 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct bslab_cache c;
		struct bslab_stats st;
		cache_new(&c, &t, "lay", want[i].size, want[i].align, NULL);
		bslab_get_stats(&c, &st);
		assert_int_equal(st.order, want[i].order);
		assert_int_equal(st.objs_per_slab, want[i].objs);
		assert_int_equal(st.stride, want[i].stride);
		assert_int_equal(st.header_bytes, want[i].header);
		assert_int_equal(st.pad_bytes, want[i].pad);
		assert_int_equal(st.leftover_bytes, want[i].leftover);
		assert_int_equal(st.slab_bytes, PS << want[i].order);
		assert_int_equal(st.object_size, want[i].size);
		assert_int_equal(bslab_cache_destroy(&c), BSLAB_OK);
	}
	tzone_fini(&t);
}

static void test_slab_explicit_order(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_config cfg;
	struct bslab_cache c;
	struct bslab_stats st;
	tzone_init(&t, PS, 64);
	bslab_config_default(&cfg);
	cfg.size = 100;
	cfg.order = 2;
	assert_int_equal(bslab_cache_create(&c, &t.z, &cfg), BSLAB_OK);
	bslab_get_stats(&c, &st);
	assert_int_equal(st.order, 2);
	/* 156 slots of 104 bytes after an 80-byte header (three bitmap words) */
	assert_int_equal(st.objs_per_slab, 156);
	assert_string_equal(st.name, "cache");
	void *p = bslab_alloc(&c, 0);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 8, 0);
	assert_int_equal(bslab_free(&c, p), BSLAB_OK);
	assert_int_equal(bslab_cache_destroy(&c), BSLAB_OK);
	tzone_fini(&t);
}

/* Objects come in address order from a fresh slab; frees are reused last-in first-out. */
static void test_slab_alloc_order_and_reuse(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_cache c;
	tzone_init(&t, PS, 64);
	cache_new(&c, &t, "seq", 64, 0, NULL);
	char *o[5];
	for (int i = 0; i < 5; i++) {
		o[i] = bslab_alloc(&c, 0);
		assert_non_null(o[i]);
		if (i)
			assert_ptr_equal(o[i], o[i - 1] + 64);
		memset(o[i], i, 64);
	}
	/* object 0 starts after the header, in the first slab of the arena */
	assert_ptr_equal(o[0], (char *)t.arena + 64);
	assert_string_equal(slabs_text(&c, &t), "C0:5/5");
	assert_int_equal(bslab_free(&c, o[1]), BSLAB_OK);
	assert_int_equal(bslab_free(&c, o[3]), BSLAB_OK);
	assert_string_equal(slabs_text(&c, &t), "C0:3/5");
	assert_ptr_equal(bslab_alloc(&c, 0), o[3]);
	assert_ptr_equal(bslab_alloc(&c, 0), o[1]);
	/* the list is empty again: carving goes on */
	assert_ptr_equal(bslab_alloc(&c, 0), o[4] + 64);
	assert_string_equal(slabs_text(&c, &t), "C0:6/6");
	assert_cache_ok(&c);
	assert_int_equal(bslab_cache_destroy(&c), BSLAB_EBUSY);
	tzone_fini(&t);
}

/*
 * Exact slab states: 4 objects per slab (1000 bytes). Fill three slabs,
 * then free so that one becomes partial, one empty, and watch the refill.
 * The walk lists every slab, newest first.
 */
static void test_slab_lists_follow_occupancy(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_cache c;
	struct trec r;
	memset(&r, 0, sizeof(r));
	struct bslab_hooks h = trec_hooks(&r, 0, 0);
	tzone_init(&t, PS, 64);
	cache_new(&c, &t, "occ", 1000, 0, &h);
	void *o[12];
	for (int i = 0; i < 12; i++)
		assert_non_null(o[i] = bslab_alloc(&c, 0));
	assert_int_equal(r.new_slabs, 3);
	assert_string_equal(slabs_text(&c, &t), "C2:4/4 F1:4/4 F0:4/4");
	/* a free into a full slab makes it partial */
	assert_int_equal(bslab_free(&c, o[0]), BSLAB_OK);
	assert_string_equal(slabs_text(&c, &t), "C2:4/4 F1:4/4 P0:3/4");
	/* emptying slab 1 puts it on the empty list (reserve 1: kept) */
	for (int i = 4; i < 8; i++)
		assert_int_equal(bslab_free(&c, o[i]), BSLAB_OK);
	assert_string_equal(slabs_text(&c, &t), "C2:4/4 E1:0/4 P0:3/4");
	assert_int_equal(r.freed_slabs, 0);
	/* the next allocation retires the full current slab and takes the partial one */
	void *n = bslab_alloc(&c, 0);
	assert_ptr_equal(n, o[0]);
	assert_string_equal(slabs_text(&c, &t), "F2:4/4 E1:0/4 C0:4/4");
	/* then the empty one, before any new slab */
	assert_non_null(bslab_alloc(&c, 0));
	assert_string_equal(slabs_text(&c, &t), "F2:4/4 C1:1/4 F0:4/4");
	assert_int_equal(r.new_slabs, 3);
	assert_cache_ok(&c);
	tzone_fini(&t);
}

/* Empty slabs beyond the reserve go back to the zone at once, oldest first. */
static void test_slab_reserve_returns_empty_slabs(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_cache c;
	struct bslab_config cfg;
	struct trec r;
	memset(&r, 0, sizeof(r));
	struct bslab_hooks h = trec_hooks(&r, 0, 0);
	tzone_init(&t, PS, 64);
	bslab_config_default(&cfg);
	cfg.size = 2000; /* 2 per slab */
	cfg.order = 0;
	cfg.reserve = 1;
	cfg.hooks = &h;
	assert_int_equal(bslab_cache_create(&c, &t.z, &cfg), BSLAB_OK);
	void *o[8];
	for (int i = 0; i < 8; i++)
		assert_non_null(o[i] = bslab_alloc(&c, 0));
	assert_string_equal(slabs_text(&c, &t), "C3:2/2 F2:2/2 F1:2/2 F0:2/2");
	size_t free_before = t.z.free_pages;
	for (int i = 0; i < 6; i++)
		assert_int_equal(bslab_free(&c, o[i]), BSLAB_OK);
	/* slabs 0, 1, 2 emptied in turn: 0 went back when 1 joined, 1 when 2 did */
	assert_string_equal(slabs_text(&c, &t), "C3:2/2 E2:0/2");
	assert_int_equal(r.freed_slabs, 2);
	assert_ptr_equal(r.last_slab, (char *)t.arena + PS);
	struct buddy_stats zs;
	buddy_get_stats(&t.z, &zs);
	assert_int_equal(zs.free_pages + zs.cached_pages, free_before + 2);
	/* the current slab stays even when empty */
	assert_int_equal(bslab_free(&c, o[6]), BSLAB_OK);
	assert_int_equal(bslab_free(&c, o[7]), BSLAB_OK);
	assert_string_equal(slabs_text(&c, &t), "C3:0/2 E2:0/2");
	assert_cache_ok(&c);
	assert_int_equal(bslab_shrink(&c), 2);
	assert_string_equal(slabs_text(&c, &t), "");
	assert_int_equal(bslab_shrink(&c), 0);
	assert_cache_ok(&c);
	assert_int_equal(bslab_cache_destroy(&c), BSLAB_OK);
	tzone_fini(&t);
}

static void test_slab_reserve_zero(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_cache c;
	struct bslab_config cfg;
	tzone_init(&t, PS, 64);
	bslab_config_default(&cfg);
	cfg.size = 2000;
	cfg.order = 0;
	cfg.reserve = 0;
	assert_int_equal(bslab_cache_create(&c, &t.z, &cfg), BSLAB_OK);
	void *o[4];
	for (int i = 0; i < 4; i++)
		o[i] = bslab_alloc(&c, 0);
	bslab_free(&c, o[0]);
	bslab_free(&c, o[1]);
	assert_string_equal(slabs_text(&c, &t), "C1:2/2");
	assert_cache_ok(&c);
	bslab_free(&c, o[2]);
	assert_string_equal(slabs_text(&c, &t), "C1:1/2");
	/* the current slab emptied: with no reserve it goes back too */
	bslab_free(&c, o[3]);
	assert_string_equal(slabs_text(&c, &t), "");
	assert_null(c.cur);
	assert_cache_ok(&c);
	void *again = bslab_alloc(&c, 0); /* and a new one comes when needed */
	assert_non_null(again);
	assert_cache_ok(&c);
	bslab_free(&c, again);
	assert_int_equal(bslab_cache_destroy(&c), BSLAB_OK);
	/* everything is back in the zone: one free block of the whole arena */
	buddy_drain_cache(&t.z);
	assert_string_equal(fx_layout(&t.z), "[r0] 0:6F");
	tzone_fini(&t);
}

static int ctor_calls;

static void ctor_stamp(void *arg, void *obj)
{
	ctor_calls++;
	memcpy(obj, arg, 8);
}

/* A constructor runs once per object; objects keep their state while free. */
static void test_slab_ctor_once_and_state_kept(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_cache c;
	struct bslab_config cfg;
	struct bslab_stats st;
	tzone_init(&t, PS, 64);
	bslab_config_default(&cfg);
	cfg.size = 20;
	cfg.ctor = ctor_stamp;
	cfg.ctor_arg = "STAMPED!";
	assert_int_equal(bslab_cache_create(&c, &t.z, &cfg), BSLAB_OK);
	bslab_get_stats(&c, &st);
	/* the link goes after the object: 24 + 8 */
	assert_int_equal(st.stride, 32);
	ctor_calls = 0;
	char *a = bslab_alloc(&c, 0), *b = bslab_alloc(&c, 0);
	assert_int_equal(ctor_calls, 2);
	assert_memory_equal(a, "STAMPED!", 8);
	a[8] = 'm', a[9] = 'o', a[10] = 'r', a[11] = 'e';
	assert_int_equal(bslab_free(&c, a), BSLAB_OK);
	char *again = bslab_alloc(&c, 0);
	assert_ptr_equal(again, a);
	assert_int_equal(ctor_calls, 2);
	assert_memory_equal(again, "STAMPED!more", 12);
	bslab_free(&c, again);
	bslab_free(&c, b);
	assert_cache_ok(&c);
	assert_int_equal(bslab_cache_destroy(&c), BSLAB_OK);
	tzone_fini(&t);
}

static void test_slab_zero_flag(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_cache c;
	tzone_init(&t, PS, 64);
	cache_new(&c, &t, "zero", 200, 0, NULL);
	unsigned char *p = bslab_alloc(&c, 0);
	memset(p, 0xee, 200);
	bslab_free(&c, p);
	unsigned char *q = bslab_alloc(&c, BSLAB_ZERO);
	assert_ptr_equal(q, p);
	for (int i = 0; i < 200; i++)
		assert_int_equal(q[i], 0);
	bslab_free(&c, q);
	assert_int_equal(bslab_cache_destroy(&c), BSLAB_OK);
	tzone_fini(&t);
}

/* Bulk calls take the lock once; a failed bulk allocation takes nothing. */
static void test_slab_bulk(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_cache c;
	struct trec r;
	memset(&r, 0, sizeof(r));
	struct bslab_hooks h = trec_hooks(&r, 1, 0);
	tzone_init(&t, PS, 4); /* 16 KiB: four slabs of 4 objects */
	cache_new(&c, &t, "bulk", 1000, 0, &h);
	void *o[20];
	assert_int_equal(bslab_alloc_bulk(&c, 0, 10, o), 10);
	assert_int_equal(r.locks, LOCKS_PER_CHANGE);
	for (int i = 1; i < 10; i++)
		assert_ptr_not_equal(o[i], o[i - 1]);
	/* 6 more fit, 7 do not: nothing is taken */
	assert_int_equal(bslab_alloc_bulk(&c, 0, 7, o + 10), 0);
	assert_int_equal(bslab_last_error(&c), BSLAB_ENOMEM);
	struct bslab_stats st;
	bslab_get_stats(&c, &st);
	assert_int_equal(st.active_objs, 10);
	assert_int_equal(bslab_alloc_bulk(&c, BSLAB_ZERO, 6, o + 10), 6);
	size_t done = 99;
	assert_int_equal(bslab_free_bulk(&c, 16, o, &done), BSLAB_OK);
	assert_int_equal(done, 16);
	/* a bad pointer stops a bulk free: the ones before it are freed */
	assert_int_equal(bslab_alloc_bulk(&c, 0, 3, o), 3);
	void *bad[4] = { o[0], o[1], o[1], o[2] };
	assert_int_equal(bslab_free_bulk(&c, 4, bad, &done), BSLAB_EDOUBLE);
	assert_int_equal(done, 2);
	assert_int_equal(r.errors, 1);
	assert_string_equal(r.op, "free_bulk");
	assert_int_equal(r.kind, BUDDY_ERR_DOUBLE);
	assert_int_equal(bslab_free_bulk(&c, 1, o + 2, NULL), BSLAB_OK);
	assert_int_equal(bslab_free_bulk(&c, 0, NULL, &done), BSLAB_OK);
	assert_int_equal(done, 0);
	assert_int_equal(r.locks, r.unlocks);
	assert_int_equal(r.max_depth, 1);
	assert_cache_ok(&c);
	assert_int_equal(bslab_cache_destroy(&c), BSLAB_OK);
	tzone_fini(&t);
}

/* Every public call takes the lock exactly once, and the page source is called under it. */
static void test_slab_lock_hooks(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_cache c;
	struct trec r;
	memset(&r, 0, sizeof(r));
	struct bslab_hooks h = trec_hooks(&r, 1, 1);
	tzone_init(&t, PS, 64);
	r.zone = &t.z;
	cache_new(&c, &t, "locked", 2000, 0, &h);
	int calls = 0;
	void *o[6];
	for (int i = 0; i < 6; i++, calls += LOCKS_PER_CHANGE)
		o[i] = bslab_alloc(&c, 0);
	for (int i = 0; i < 6; i++, calls += LOCKS_PER_CHANGE)
		assert_int_equal(bslab_free(&c, o[i]), BSLAB_OK);
	struct bslab_stats st;
	char line[256];
	bslab_get_stats(&c, &st);
	calls++;
	bslab_slabinfo(&c, line, sizeof(line));
	calls++;
	assert_cache_ok(&c);
	calls++;
	bslab_walk(&c, walk_text_add, &(struct walk_text){ .slab_bytes = PS });
	calls++;
	bslab_shrink(&c);
	calls += LOCKS_PER_CHANGE;
	assert_int_equal(bslab_cache_destroy(&c), BSLAB_OK);
	calls++;
	assert_int_equal(r.locks, calls);
	assert_int_equal(r.unlocks, calls);
	assert_int_equal(r.max_depth, 1);
	assert_true(r.page_allocs > 0);
	assert_int_equal(r.page_allocs, r.page_frees);
	assert_int_equal(r.unlocked_page_calls, 0);
	tzone_fini(&t);
}

/* Without hooks nothing is called; with page hooks the zone is not used directly. */
static void test_slab_page_source_hooks(void **state)
{
	(void)state;
	struct tzone t, other;
	struct bslab_cache c;
	struct trec r;
	memset(&r, 0, sizeof(r));
	struct bslab_hooks h = trec_hooks(&r, 0, 1);
	tzone_init(&t, PS, 16);
	tzone_init(&other, PS, 16);
	r.zone = &other.z;
	cache_new(&c, &t, "hooked", 500, 0, &h);
	void *p = bslab_alloc(&c, 0);
	assert_non_null(p);
	assert_true((char *)p >= (char *)other.arena &&
		    (char *)p < (char *)other.arena + 16 * PS);
	assert_int_equal(r.page_allocs, 1);
	assert_int_equal(bslab_free(&c, p), BSLAB_OK);
	assert_int_equal(bslab_cache_destroy(&c), BSLAB_OK);
	assert_int_equal(r.page_frees, 1);
	tzone_fini(&other);
	tzone_fini(&t);
}

/* Statistics after an exact sequence. */
static void test_slab_stats_exact(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_cache c;
	struct bslab_stats st;
	tzone_init(&t, PS, 64);
	cache_new(&c, &t, "stats", 1000, 0, NULL);
	void *o[9];
	for (int i = 0; i < 9; i++)
		o[i] = bslab_alloc(&c, 0);
	bslab_free(&c, o[0]);
	bslab_free(&c, o[8]);
	bslab_get_stats(&c, &st);
	assert_string_equal(st.name, "stats");
	assert_int_equal(st.active_objs, 7);
	assert_int_equal(st.total_slabs, 3);
	assert_int_equal(st.total_objs, 12);
	/* slab 0 partial (3), slab 1 full, slab 2 current with none in use */
	assert_int_equal(st.active_slabs, 2);
	assert_int_equal(st.partial_slabs, 1);
	assert_int_equal(st.full_slabs, 1);
	assert_int_equal(st.empty_slabs, 0);
	assert_int_equal(st.meta_bytes, 3 * 64);
	assert_int_equal(st.allocs, 9);
	assert_int_equal(st.frees, 2);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.slabs_allocated, 3);
	assert_int_equal(st.slabs_freed, 0);
	assert_int_equal(st.align, 8);
	for (int i = 1; i < 8; i++)
		bslab_free(&c, o[i]);
	assert_int_equal(bslab_cache_destroy(&c), BSLAB_OK);
	tzone_fini(&t);
}

/* The /proc/slabinfo header and line, character for character. */
static void test_slab_slabinfo_format(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_cache c;
	char buf[512];
	tzone_init(&t, PS, 64);
	cache_new(&c, &t, "kmalloc-2k", 2048, 0, NULL);
	void *o[9];
	for (int i = 0; i < 9; i++)
		o[i] = bslab_alloc(&c, 0);
	size_t n = bslab_slabinfo_header(buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf,
			    "slabinfo - version: 2.1\n"
			    "# name            <active_objs> <num_objs> <objsize> <objperslab> "
			    "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : "
			    "slabdata <active_slabs> <num_slabs> <sharedavail>\n");
	n = bslab_slabinfo(&c, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "kmalloc-2k             9     14   2048    7    4 : tunables    0 "
				 "   0    0 : slabdata      2      2      0\n");
	/* truncated like snprintf, and the length still counted */
	char small[10];
	assert_int_equal(bslab_slabinfo(&c, small, sizeof(small)), n);
	assert_string_equal(small, "kmalloc-2");
	assert_int_equal(bslab_slabinfo(NULL, small, sizeof(small)), 0);
	assert_string_equal(small, "");
	for (int i = 0; i < 9; i++)
		bslab_free(&c, o[i]);
	assert_int_equal(bslab_cache_destroy(&c), BSLAB_OK);
	tzone_fini(&t);
}

struct walk_probe {
	int calls;
	int stop_at;
	unsigned inuse_bits;
};

static int walk_probe_fn(void *arg, const struct bslab_block *s)
{
	struct walk_probe *w = arg;
	w->calls++;
	for (unsigned i = 0; i < s->objs; i++)
		w->inuse_bits += (unsigned)(s->inuse_map[i / 64] >> (i % 64) & 1u);
	assert_int_equal((uintptr_t)s->addr % s->bytes, 0);
	assert_int_equal(s->stride, 1000);
	assert_ptr_equal(s->first_obj, (char *)s->addr + 64);
	return w->calls == w->stop_at ? 7 : 0;
}

static void test_slab_walk_reports_and_stops(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_cache c;
	tzone_init(&t, PS, 64);
	cache_new(&c, &t, "walk", 1000, 0, NULL);
	void *o[10];
	for (int i = 0; i < 10; i++)
		o[i] = bslab_alloc(&c, 0);
	bslab_free(&c, o[5]);
	struct walk_probe w = { 0, 0, 0 };
	assert_int_equal(bslab_walk(&c, walk_probe_fn, &w), 0);
	assert_int_equal(w.calls, 3);
	assert_int_equal(w.inuse_bits, 9);
	w = (struct walk_probe){ 0, 2, 0 };
	assert_int_equal(bslab_walk(&c, walk_probe_fn, &w), 7);
	assert_int_equal(w.calls, 2);
	assert_int_equal(bslab_walk(&c, NULL, NULL), 0);
	assert_int_equal(bslab_walk(NULL, walk_probe_fn, &w), 0);
	tzone_fini(&t);
}

static int walk_orders(void *arg, const struct bslab_block *s)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 64, "%s%u:%u/%u", n ? " " : "", s->order, s->inuse, s->objs);
	return 0;
}

/* A cache's first slabs are small; later ones have the full order. */
static void test_slab_small_first_slabs(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_cache c;
	struct bslab_config cfg;
	struct bslab_stats st;
	char text[256] = "";
	tzone_init(&t, PS, 64);
	bslab_config_default(&cfg);
	cfg.size = 1000;
	cfg.order = 2; /* 16 objects */
	cfg.small_slabs = 2;
	assert_int_equal(bslab_cache_create(&c, &t.z, &cfg), BSLAB_OK);
	bslab_get_stats(&c, &st);
	/* the smallest slab holding an object after a full-size header: one page, four */
	assert_int_equal(st.small_order, 0);
	assert_int_equal(st.small_objs, 4);
	assert_int_equal(st.objs_per_slab, 16);
	void *o[24];
	for (int i = 0; i < 24; i++)
		assert_non_null(o[i] = bslab_alloc(&c, 0));
	bslab_walk(&c, walk_orders, text);
	assert_string_equal(text, "2:16/16 0:4/4 0:4/4");
	bslab_get_stats(&c, &st);
	assert_int_equal(st.small_slabs, 2);
	assert_int_equal(st.total_objs, 24);
	assert_int_equal(st.total_slabs, 3);
	assert_cache_ok(&c);
	/* frees find small and large slabs alike; bad pointers in small slabs too */
	assert_int_equal(bslab_free(&c, (char *)o[0] + 8), BSLAB_EINTERIOR);
	for (int i = 0; i < 24; i++)
		assert_int_equal(bslab_free(&c, o[i]), BSLAB_OK);
	assert_int_equal(bslab_free(&c, o[5]), BSLAB_EDOUBLE);
	assert_cache_ok(&c);
	assert_int_equal(bslab_shrink(&c), 2); /* the current slab and the one kept empty */
	bslab_get_stats(&c, &st);
	assert_int_equal(st.total_slabs, 0);
	assert_int_equal(st.small_slabs, 0);
	/* holding nothing again, the cache starts small again */
	void *p = bslab_alloc(&c, 0);
	memset(text, 0, sizeof(text));
	bslab_walk(&c, walk_orders, text);
	assert_string_equal(text, "0:1/4");
	bslab_free(&c, p);
	assert_int_equal(bslab_cache_destroy(&c), BSLAB_OK);

	/* a small order that holds no object, or is not below the order, is refused */
	cfg.size = 5000;
	cfg.small_order = 0;
	assert_int_equal(bslab_cache_create(&c, &t.z, &cfg), BSLAB_ECONFIG);
	cfg.size = 1000;
	cfg.small_order = 2;
	assert_int_equal(bslab_cache_create(&c, &t.z, &cfg), BSLAB_ECONFIG);
	cfg.small_order = BSLAB_ORDER_AUTO;
	cfg.small_slabs = 256;
	assert_int_equal(bslab_cache_create(&c, &t.z, &cfg), BSLAB_ECONFIG);
	tzone_fini(&t);
}

/* Many caches share one zone; each object is where its cache says. */
static void test_slab_caches_share_zone(void **state)
{
	(void)state;
	struct tzone t;
	struct bslab_cache c[6];
	static const size_t sizes[] = { 8, 24, 96, 512, 3000, 9000 };
	tzone_init(&t, PS, 256);
	for (int i = 0; i < 6; i++)
		cache_new(&c[i], &t, "share", sizes[i], 0, NULL);
	void *o[6][20];
	for (int k = 0; k < 20; k++)
		for (int i = 0; i < 6; i++) {
			o[i][k] = bslab_alloc(&c[i], 0);
			assert_non_null(o[i][k]);
			memset(o[i][k], i + k, sizes[i]);
		}
	/* an object of one cache is not an object of another */
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 6; j++)
			if (j != i)
				assert_int_equal(bslab_free(&c[j], o[i][0]), BSLAB_EINVALID);
	for (int i = 0; i < 6; i++) {
		for (int k = 0; k < 20; k++) {
			unsigned char *p = o[i][k];
			for (size_t b = 0; b < sizes[i]; b++)
				assert_int_equal(p[b], (unsigned char)(i + k));
			assert_int_equal(bslab_free(&c[i], p), BSLAB_OK);
		}
		assert_cache_ok(&c[i]);
		assert_int_equal(bslab_cache_destroy(&c[i]), BSLAB_OK);
	}
	assert_int_equal(fx_check(&t.z), 0);
	tzone_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slab_layout_auto_order),
		cmocka_unit_test(test_slab_explicit_order),
		cmocka_unit_test(test_slab_alloc_order_and_reuse),
		cmocka_unit_test(test_slab_lists_follow_occupancy),
		cmocka_unit_test(test_slab_reserve_returns_empty_slabs),
		cmocka_unit_test(test_slab_reserve_zero),
		cmocka_unit_test(test_slab_ctor_once_and_state_kept),
		cmocka_unit_test(test_slab_zero_flag),
		cmocka_unit_test(test_slab_bulk),
		cmocka_unit_test(test_slab_lock_hooks),
		cmocka_unit_test(test_slab_page_source_hooks),
		cmocka_unit_test(test_slab_stats_exact),
		cmocka_unit_test(test_slab_slabinfo_format),
		cmocka_unit_test(test_slab_walk_reports_and_stops),
		cmocka_unit_test(test_slab_small_first_slabs),
		cmocka_unit_test(test_slab_caches_share_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
