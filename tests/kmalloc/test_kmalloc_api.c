/* SPDX-License-Identifier: MIT */
/*
 * test_kmalloc_api.c - the kmalloc heap's malloc family and its edge cases:
 * size classes and their alignment, malloc(0), calloc, every realloc case,
 * aligned allocation and its errors, configuration, statistics, slabinfo,
 * what a pointer is, the walk, a fixed buffer, the common interface.
 */
#include "kmalloc_test.h"

#include <errno.h>

static struct bkm_heap *heap_default(void)
{
	struct bkm_config cfg = kconfig(NULL, NULL, NULL);
	return kheap(&cfg);
}

static void test_kmalloc_class_sizes(void **state)
{
	(void)state;
	struct bkm_heap *h = heap_default();
	static const size_t req[] = { 0,   1,    16,   17,   100,  128,  129,  200,
				      257, 1000, 1025, 2049, 4096, 4097, 10000, (1u << 20) + 1 };
	static const size_t want[] = { 16,   16,   16,   32,   112,  128,   160,  224,
				       320,  1024, 1280, 2560, 4096, 5120, 10240, (1u << 20) + 4096 };
	void *p[16];
	for (int i = 0; i < 16; i++) {
		p[i] = bkm_malloc(h, req[i]);
		assert_non_null(p[i]);
		assert_int_equal(bkm_usable_size(h, p[i]), want[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		if (req[i] <= 4096)
			assert_int_equal(bkm_class_size(h, req[i]), want[i]);
		kfill(p[i], want[i], (unsigned)i);
	}
	assert_int_equal(bkm_class_size(h, 4097), 0);
	assert_int_equal(bkm_class_size(NULL, 1), 0);
	for (int i = 0; i < 16; i++) {
		assert_true(kfill_ok(p[i], want[i], (unsigned)i));
		bkm_free(h, p[i]);
	}
	/* classes that are powers of two keep their objects aligned to their size */
	for (size_t s = 16; s <= 4096; s *= 2)
		for (int k = 0; k < 5; k++) {
			void *q = bkm_malloc(h, s);
			assert_int_equal((uintptr_t)q % s, 0);
			bkm_free(h, q);
		}
	assert_kheap_ok(h);
	bkm_destroy(h);
}

static void test_kmalloc_malloc_zero_is_unique(void **state)
{
	(void)state;
	struct bkm_heap *h = heap_default();
	void *a = bkm_malloc(h, 0), *b = bkm_malloc(h, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_int_equal(bkm_usable_size(h, a), 16);
	bkm_free(h, a);
	bkm_free(h, b);
	bkm_free(h, NULL);
	assert_int_equal(bkm_usable_size(h, NULL), 0);
	assert_kheap_ok(h);
	bkm_destroy(h);
	bkm_destroy(NULL);
}

static void test_kmalloc_calloc(void **state)
{
	(void)state;
	struct bkm_heap *h = heap_default();
	static const size_t sizes[] = { 24, 3000, 20000, 2u << 20 };
	for (int i = 0; i < 4; i++) {
		/* dirty memory first, so zeroing is seen */
		unsigned char *d = bkm_malloc(h, sizes[i]);
		memset(d, 0xab, sizes[i]);
		bkm_free(h, d);
		unsigned char *z = bkm_calloc(h, 1, sizes[i]);
		assert_non_null(z);
		for (size_t k = 0; k < sizes[i]; k++)
			assert_int_equal(z[k], 0);
		bkm_free(h, z);
	}
	errno = 0;
	assert_null(bkm_calloc(h, SIZE_MAX / 2, 3));
	assert_int_equal(errno, ENOMEM);
	void *e = bkm_calloc(h, 0, 5);
	assert_non_null(e);
	bkm_free(h, e);
	struct bkm_stats st;
	bkm_get_stats(h, &st);
	assert_int_equal(st.failures, 1);
	assert_kheap_ok(h);
	bkm_destroy(h);
}

static void test_kmalloc_realloc_cases(void **state)
{
	(void)state;
	struct bkm_heap *h = heap_default();
	struct bkm_stats st;
	/* NULL: malloc */
	char *p = bkm_realloc(h, NULL, 100);
	assert_non_null(p);
	kfill(p, 100, 1);
	/* the same class (112): in place */
	assert_ptr_equal(bkm_realloc(h, p, 110), p);
	/* a larger class: moved, contents kept */
	char *q = bkm_realloc(h, p, 700);
	assert_ptr_not_equal(q, p);
	assert_true(kfill_ok(q, 100, 1));
	assert_int_equal(bkm_usable_size(h, q), 768);
	/* a smaller class: moved, the prefix kept */
	kfill(q, 700, 2);
	char *r = bkm_realloc(h, q, 40);
	assert_true(kfill_ok(r, 40, 2));
	assert_int_equal(bkm_usable_size(h, r), 48);
	/* into a run and back */
	kfill(r, 40, 3);
	char *s = bkm_realloc(h, r, 5000);
	assert_int_equal(bkm_usable_size(h, s), 5120);
	assert_true(kfill_ok(s, 40, 3));
	kfill(s, 5000, 4);
	/* the same pages, or down to half of them: in place */
	assert_ptr_equal(bkm_realloc(h, s, 5100), s);
	assert_ptr_equal(bkm_realloc(h, s, 4600), s);
	assert_int_equal(bkm_usable_size(h, s), 5120);
	char *t = bkm_realloc(h, s, 9000);
	assert_true(kfill_ok(t, 4600, 4));
	assert_ptr_equal(bkm_realloc(h, t, 4500), t); /* 5 of 9 pages */
	char *u = bkm_realloc(h, t, 3000);
	assert_int_equal(bkm_usable_size(h, u), 3072);
	assert_true(kfill_ok(u, 3000, 4));
	/* huge blocks move with mremap and keep their contents */
	char *v = bkm_realloc(h, u, 3u << 20);
	assert_true(kfill_ok(v, 3000, 4));
	kfill(v, 3u << 20, 5);
	char *w = bkm_realloc(h, v, 6u << 20);
	assert_true(kfill_ok(w, 3u << 20, 5));
	assert_int_equal(bkm_usable_size(h, w), 6u << 20);
	char *x = bkm_realloc(h, w, 100);
	assert_true(kfill_ok(x, 100, 5));
	bkm_get_stats(h, &st);
	assert_int_equal(st.live_allocs, 1);
	/* four in place above, and the huge one moved or grown in place by mremap */
	assert_true(st.reallocs_in_place >= 4);
	assert_int_equal(st.reallocs_in_place + st.reallocs_moved, 12);
	/* size 0: freed, NULL */
	assert_null(bkm_realloc(h, x, 0));
	bkm_get_stats(h, &st);
	assert_int_equal(st.live_allocs, 0);
	/* a failed move leaves the block as it was */
	struct bkm_config cfg = kconfig(NULL, NULL, NULL);
	cfg.limit_bytes = 4u << 20;
	struct bkm_heap *lim = kheap(&cfg);
	char *y = bkm_malloc(lim, 1000);
	kfill(y, 1000, 6);
	errno = 0;
	assert_null(bkm_realloc(lim, y, 8u << 20));
	assert_int_equal(errno, ENOMEM);
	assert_true(kfill_ok(y, 1000, 6));
	bkm_free(lim, y);
	assert_kheap_ok(lim);
	bkm_destroy(lim);
	assert_kheap_ok(h);
	bkm_destroy(h);
}

/*
 * Huge blocks moved by copying (a map hook: no mremap) while others are
 * mapped around them: the right mapping goes, the others keep their data.
 * (Found by fuzzing: the record of the old block moved when the new one
 * was inserted.)
 */
static void test_kmalloc_realloc_huge_by_copy(void **state)
{
	(void)state;
	struct kmap m;
	memset(&m, 0, sizeof(m));
	struct bkm_config cfg = kconfig(&m, NULL, NULL);
	struct bkm_heap *h = kheap(&cfg);
	char *a = bkm_malloc(h, 3u << 20), *b = bkm_malloc(h, 2u << 20);
	size_t bn = 2u << 20;
	kfill(a, 3u << 20, 1);
	kfill(b, bn, 2);
	for (int i = 0; i < 6; i++) {
		size_t n = (i % 2 ? 5u : 2u) << 19; /* 1 MiB and 2.5 MiB in turn */
		char *c = bkm_realloc(h, b, n);
		assert_non_null(c);
		assert_true(kfill_ok(c, n < bn ? n : bn, 2));
		kfill(c, n, 2);
		b = c;
		bn = n;
		assert_true(kfill_ok(a, 3u << 20, 1));
		assert_kheap_ok(h);
	}
	bkm_free(h, a);
	bkm_free(h, b);
	struct bkm_stats st;
	bkm_get_stats(h, &st);
	assert_int_equal(st.huge_allocs, 0);
	bkm_destroy(h);
	assert_int_equal(m.mapped, 0);
}

static void test_kmalloc_aligned(void **state)
{
	(void)state;
	struct bkm_heap *h = heap_default();
	errno = 0;
	assert_null(bkm_aligned_alloc(h, 3, 10));
	assert_int_equal(errno, EINVAL);
	assert_null(bkm_aligned_alloc(h, 0, 10));
	static const size_t align[] = { 1, 8, 16, 64, 256, 4096, 8192, 65536, 2u << 20 };
	static const size_t size[] = { 10, 10, 100, 10, 1000, 10, 100, 70000, 100 };
	for (int i = 0; i < 9; i++) {
		char *p = bkm_aligned_alloc(h, align[i], size[i]);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % align[i], 0);
		assert_true(bkm_usable_size(h, p) >= size[i]);
		memset(p, i, size[i]);
		bkm_free(h, p);
	}
	/* a class at least as large as the alignment serves small aligned requests */
	void *a = bkm_aligned_alloc(h, 64, 10);
	assert_int_equal(bkm_usable_size(h, a), 64);
	bkm_free(h, a);

	void *out = (void *)1;
	int saved = errno = 1234;
	assert_int_equal(bkm_posix_memalign(h, &out, 24, 10), EINVAL);
	assert_int_equal(bkm_posix_memalign(h, &out, 4, 10), EINVAL);
	assert_int_equal(bkm_posix_memalign(h, NULL, 16, 10), EINVAL);
	assert_ptr_equal(out, (void *)1);
	assert_int_equal(bkm_posix_memalign(h, &out, 128, 300), 0);
	assert_int_equal((uintptr_t)out % 128, 0);
	assert_int_equal(errno, saved);
	bkm_free(h, out);
	struct bkm_config cfg = kconfig(NULL, NULL, NULL);
	cfg.limit_bytes = 1u << 20;
	struct bkm_heap *lim = kheap(&cfg);
	out = (void *)1;
	assert_int_equal(bkm_posix_memalign(lim, &out, 4096, 8u << 20), ENOMEM);
	assert_ptr_equal(out, (void *)1);
	bkm_destroy(lim);
	assert_kheap_ok(h);
	bkm_destroy(h);
}

static void test_kmalloc_null_heap(void **state)
{
	(void)state;
	errno = 0;
	assert_null(bkm_malloc(NULL, 1));
	assert_int_equal(errno, EINVAL);
	assert_null(bkm_calloc(NULL, 1, 1));
	assert_null(bkm_realloc(NULL, NULL, 1));
	assert_null(bkm_aligned_alloc(NULL, 16, 1));
	void *out;
	assert_int_equal(bkm_posix_memalign(NULL, &out, 16, 1), EINVAL);
	bkm_free(NULL, &out);
	assert_int_equal(bkm_usable_size(NULL, &out), 0);
	assert_int_equal(bkm_check(NULL, NULL, NULL), 1);
	bkm_get_stats(NULL, NULL);
	assert_null(bkm_zone(NULL));
	assert_null(bkm_cache(NULL, 0));
	struct bkm_block_info b;
	bkm_block_info(NULL, &out, &b);
	assert_int_equal(b.kind, BKM_BLOCK_NONE);
	assert_int_equal(bkm_walk(NULL, NULL, NULL), 0);
}

/* page_lock hooks: how often taken, and how deep now. */
struct page_locks {
	int takes, depth, maps_unlocked;
};

static void count_lock(void *arg)
{
	struct page_locks *l = arg;
	l->takes++;
	l->depth++;
}

static void count_unlock(void *arg)
{
	((struct page_locks *)arg)->depth--;
}

static struct page_locks *map_locks;

/* The map hook, which the page work reaches when the heap grows: under the page lock. */
static void *locked_map(void *arg, size_t len)
{
	if (map_locks && map_locks->depth != 1)
		map_locks->maps_unlocked++;
	return kmap_map(arg, len);
}

/*
 * With page_lock set, the caches' page work (a slab from the zone, and the
 * heap growing for it; a slab given back; the slab checks' page map
 * lookups) runs under it, once per slab rather than per object.
 */
static void test_kmalloc_page_lock(void **state)
{
	(void)state;
	struct kmap m;
	memset(&m, 0, sizeof(m));
	struct bkm_config cfg = kconfig(&m, NULL, NULL);
	struct page_locks l = { 0, 0, 0 };
	cfg.map = locked_map;
	cfg.page_lock = count_lock;
	cfg.page_unlock = count_unlock;
	cfg.lock_arg = &l;
	struct bkm_heap *h = kheap(&cfg);
	map_locks = &l;
	enum { N = 3000 };
	static void *p[N];
	for (int i = 0; i < N; i++)
		p[i] = bkm_malloc(h, 1000);
	int taken = l.takes;
	assert_true(taken > 0);
#if BUDDY_DEBUG < 2
	/* (builds that check the whole heap on the way also take it per slab checked) */
	assert_true(taken < N / 4);
#endif
	assert_int_equal(l.depth, 0);
	for (int i = 0; i < N; i++)
		bkm_free(h, p[i]);
	assert_true(l.takes > taken);
	assert_int_equal(l.depth, 0);
	assert_true(m.calls > 2); /* the heap grew (under the lock) */
	assert_int_equal(l.maps_unlocked, 0);
	map_locks = NULL;
	assert_kheap_ok(h);
	bkm_destroy(h);
}

static void test_kmalloc_config(void **state)
{
	(void)state;
	struct bkm_config d;
	bkm_config_default(&d);
	bkm_config_default(NULL);
	assert_int_equal(d.page_size, BKM_PAGE_DEFAULT);
	assert_int_equal(d.max_class_bytes, BKM_MAX_CLASS_DEFAULT);
	assert_int_equal(d.class_steps, BKM_CLASS_STEPS_DEFAULT);
	assert_int_equal(d.huge_bytes, BKM_HUGE_DEFAULT);
	assert_int_equal(d.arena_bytes, BKM_ARENA_DEFAULT);
	assert_int_equal(d.retain_bytes, BKM_RETAIN_DEFAULT);
	assert_int_equal(d.release_min_bytes, BKM_RELEASE_MIN_DEFAULT);
	assert_int_equal(d.small_slabs, BKM_SMALL_SLABS_DEFAULT);
	assert_int_equal(d.slab_waste_shift, BKM_WASTE_SHIFT_DEFAULT);
	assert_null(d.on_error);

	struct bkm_config bad;
	for (int i = 0; i < 15; i++) {
		bad = d;
		switch (i) {
		case 0: bad.page_size = 100; break;
		case 1: bad.page_size = 128; break;
		case 2: bad.page_size = 1u << 17; break;
		case 3: bad.max_class_bytes = 3000; break;
		case 4: bad.max_class_bytes = 512; break;
		case 5: bad.max_class_bytes = 1u << 17; break;
		case 6: bad.class_steps = 3; break;
		case 7: bad.huge_bytes = bad.max_class_bytes; break;
		case 8: bad.map = kmap_map; break;
		case 9: bad.buffer_bytes = 4096; break;
		case 10: bad.small_slabs = 256; break;
		case 11: bad.slab_waste_shift = 0; break;
		case 12: bad.slab_waste_shift = 17; break;
		case 13: bad.page_lock = count_lock; break; /* without page_unlock */
		default: bad.slab_reserve = 256; break;
		}
		errno = 0;
		assert_null(bkm_create(&bad));
		assert_int_equal(errno, EINVAL);
	}
	/* a small first arena is rounded up; eight and two steps per doubling work */
	bad = d;
	bad.arena_bytes = 1000;
	bad.class_steps = 8;
	struct bkm_heap *h = kheap(&bad);
	struct bkm_stats st;
	bkm_get_stats(h, &st);
	assert_int_equal(st.nr_classes, 8 + 8 * 5);
	assert_int_equal(bkm_class_size(h, 129), 144);
	bkm_destroy(h);
	bad.class_steps = 2;
	h = kheap(&bad);
	bkm_get_stats(h, &st);
	assert_int_equal(st.nr_classes, 8 + 2 * 5);
	assert_int_equal(bkm_class_size(h, 129), 192);
	bkm_destroy(h);
	/* NULL configuration: the defaults */
	h = bkm_create(NULL);
	assert_non_null(h);
	bkm_get_stats(h, &st);
	assert_int_equal(st.nr_classes, 28);
	assert_int_equal(st.max_class_bytes, 4096);
	assert_int_equal(st.page_size, 1024);
	bkm_destroy(h);
}

/* Statistics after an exact sequence. */
static void test_kmalloc_stats(void **state)
{
	(void)state;
	struct klog l;
	memset(&l, 0, sizeof(l));
	struct bkm_config cfg = kconfig(NULL, NULL, &l);
	struct bkm_heap *h = kheap(&cfg);
	struct bkm_stats st;
	void *small[10], *run, *huge;
	for (int i = 0; i < 10; i++)
		small[i] = bkm_malloc(h, 60);
	run = bkm_malloc(h, 6000);
	huge = bkm_malloc(h, 3u << 20);
	bkm_get_stats(h, &st);
	assert_int_equal(st.live_allocs, 12);
	assert_int_equal(st.small_allocs, 10);
	assert_int_equal(st.small_bytes, 640);
	assert_int_equal(st.large_allocs, 1);
	assert_int_equal(st.large_bytes, 6144);
	assert_int_equal(st.huge_allocs, 1);
	assert_int_equal(st.huge_bytes, 3u << 20);
	assert_int_equal(st.held_bytes, 640 + 6144 + (3u << 20));
	assert_int_equal(st.allocs, 12);
	assert_int_equal(st.frees, 0);
	assert_int_equal(st.nr_arenas, 1);
	assert_true(st.footprint_bytes >= st.resident_bytes + st.huge_bytes);
	assert_int_equal(st.peak_footprint_bytes, st.footprint_bytes);
	assert_true(st.meta_bytes > 0 && st.meta_bytes < st.footprint_bytes / 16);
	assert_int_equal(l.n[BKM_EV_RUN], 1);
	assert_int_equal(l.n[BKM_EV_HUGE], 1);
	assert_true(l.n[BKM_EV_SLAB_NEW] >= 1);
	assert_string_equal(l.last_cache, "kmalloc-64");
	for (int i = 0; i < 10; i++)
		bkm_free(h, small[i]);
	bkm_free(h, run);
	bkm_free(h, huge);
	bkm_get_stats(h, &st);
	assert_int_equal(st.live_allocs, 0);
	assert_int_equal(st.held_bytes, 0);
	assert_int_equal(st.frees, 12);
	assert_int_equal(st.huge_bytes, 0);
	assert_int_equal(l.n[BKM_EV_RUN_FREE], 1);
	assert_int_equal(l.n[BKM_EV_HUGE_FREE], 1);
	assert_true(st.peak_footprint_bytes > st.footprint_bytes);
	assert_kheap_ok(h);
	bkm_destroy(h);
}

/* /proc/slabinfo: the header, then one line per class in order. */
static void test_kmalloc_slabinfo(void **state)
{
	(void)state;
	struct bkm_heap *h = heap_default();
	void *p[3];
	for (int i = 0; i < 3; i++)
		p[i] = bkm_malloc(h, 64);
	char buf[8192];
	size_t n = bkm_slabinfo(h, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	int lines = 0;
	for (const char *c = buf; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, 2 + 28);
	assert_true(strncmp(buf, "slabinfo - version: 2.1\n# name ", 31) == 0);
	/* the 64-byte class starts with a small slab (1 KiB, 15 objects); its slabs
	 * are 4 KiB, 63 objects */
	assert_non_null(strstr(buf, "\nkmalloc-64             3     15     64   63    4 : tunables    0    0 "
				    "   0 : slabdata      1      1      0\n"));
	assert_non_null(strstr(buf, "\nkmalloc-4k             0      0   4096    7   32 : "));
	assert_int_equal(bkm_slabinfo(h, NULL, 0), n);
	for (int i = 0; i < 3; i++)
		bkm_free(h, p[i]);
	const struct bslab_cache *c = bkm_cache(h, 3);
	assert_non_null(c);
	assert_string_equal(c->name, "kmalloc-64");
	assert_null(bkm_cache(h, 28));
	bkm_destroy(h);
}

struct walk_rec {
	uintptr_t last;
	size_t last_off;
	size_t live, small, large, huge, free_blocks;
};

static int walk_rec(void *arg, const struct bkm_block *b)
{
	struct walk_rec *w = arg;
	assert_true((uintptr_t)b->addr > w->last || w->last == 0);
	assert_true(b->offset >= w->last_off);
	w->last = (uintptr_t)b->addr;
	w->last_off = b->offset;
	if (b->allocated) {
		w->live++;
		w->small += b->kind == BKM_BLOCK_SMALL;
		w->large += b->kind == BKM_BLOCK_LARGE;
		w->huge += b->kind == BKM_BLOCK_HUGE;
	} else if (b->kind == BKM_BLOCK_NONE) {
		w->free_blocks++;
		assert_true(b->order >= 0);
	}
	return 0;
}

static int walk_stop(void *arg, const struct bkm_block *b)
{
	(void)b;
	return ++*(int *)arg == 3 ? 42 : 0;
}

static void test_kmalloc_walk_and_block_info(void **state)
{
	(void)state;
	struct bkm_heap *h = heap_default();
	void *p[8];
	static const size_t sizes[] = { 10, 100, 1000, 3000, 5000, 9000, 2u << 20, 30 };
	for (int i = 0; i < 8; i++)
		p[i] = bkm_malloc(h, sizes[i]);
	struct walk_rec w;
	memset(&w, 0, sizeof(w));
	assert_int_equal(bkm_walk(h, walk_rec, &w), 0);
	assert_int_equal(w.live, 8);
	assert_int_equal(w.small, 5);
	assert_int_equal(w.large, 2);
	assert_int_equal(w.huge, 1);
	assert_true(w.free_blocks > 0);
	int count = 0;
	assert_int_equal(bkm_walk(h, walk_stop, &count), 42);

	struct bkm_block_info b;
	bkm_block_info(h, p[1], &b);
	assert_int_equal(b.kind, BKM_BLOCK_SMALL);
	assert_int_equal(b.size, 112);
	assert_string_equal(b.cache->name, "kmalloc-112");
	assert_ptr_equal(b.addr, p[1]);
	bkm_block_info(h, p[4], &b);
	assert_int_equal(b.kind, BKM_BLOCK_LARGE);
	assert_int_equal(b.size, 5120);
	bkm_block_info(h, p[6], &b);
	assert_int_equal(b.kind, BKM_BLOCK_HUGE);
	assert_int_equal(b.size, 2u << 20);
	/* not block starts, or not live: nothing */
	bkm_block_info(h, (char *)p[1] + 1, &b);
	assert_int_equal(b.kind, BKM_BLOCK_NONE);
	bkm_block_info(h, (char *)p[4] + 1024, &b);
	assert_int_equal(b.kind, BKM_BLOCK_NONE);
	bkm_block_info(h, &b, &b);
	assert_int_equal(b.kind, BKM_BLOCK_NONE);
	bkm_free(h, p[7]);
	bkm_block_info(h, p[7], &b);
	assert_int_equal(b.kind, BKM_BLOCK_NONE);
	for (int i = 0; i < 7; i++)
		bkm_free(h, p[i]);
	assert_kheap_ok(h);
	bkm_destroy(h);
}

/* A heap in a caller's buffer: no mapping, a clean ENOMEM when full. */
static void test_kmalloc_fixed_buffer(void **state)
{
	(void)state;
	size_t len = 1u << 20;
	void *buf = aligned_alloc(4096, len);
	struct bkm_config cfg = kconfig(NULL, NULL, NULL);
	cfg.buffer = buf;
	cfg.buffer_bytes = len;
	struct bkm_heap *h = kheap(&cfg);
	void *p[4096];
	size_t n = 0;
	while (n < 4096 && (p[n] = bkm_malloc(h, 1000)) != NULL)
		n++;
	assert_true(n > 100 && n < 4096);
	assert_int_equal(errno, ENOMEM);
	for (size_t i = 0; i < n; i++)
		assert_true((char *)p[i] >= (char *)buf && (char *)p[i] < (char *)buf + len);
	assert_null(bkm_malloc(h, 2u << 20));
	assert_kheap_ok(h);
	for (size_t i = 0; i < n; i++)
		bkm_free(h, p[i]);
	assert_non_null(p[0] = bkm_malloc(h, 100000));
	bkm_free(h, p[0]);
	assert_kheap_ok(h);
	bkm_destroy(h);
	/* too small for the state */
	cfg.buffer_bytes = 256;
	errno = 0;
	assert_null(bkm_create(&cfg));
	assert_int_equal(errno, ENOMEM);
	free(buf);
}

static int balloc_walk_count(void *arg, const struct balloc_block *b)
{
	*(int *)arg += b->allocated;
	return 0;
}

static void relay(void *arg, int kind, const char *op, const void *ptr, const char *msg)
{
	(void)kind, (void)op, (void)ptr;
	snprintf(arg, 128, "%s", msg);
}

/* Through the common interface, by name. */
static void test_kmalloc_balloc(void **state)
{
	(void)state;
	struct balloc a;
	char msg[128] = "";
	struct balloc_options opt = { .on_error = relay, .error_arg = msg };
	assert_int_equal(balloc_create("kmalloc", &opt, &a), 0);
	assert_string_equal(a.ops->name, "kmalloc");
	void *p = a.ops->malloc(a.self, 100);
	void *q = a.ops->calloc(a.self, 10, 10);
	void *r = a.ops->aligned_alloc(a.self, 256, 10);
	p = a.ops->realloc(a.self, p, 200);
	assert_int_equal(a.ops->usable_size(a.self, p), 224);
	struct balloc_stats st;
	a.ops->stats(a.self, &st);
	assert_int_equal(st.live_allocs, 3);
	assert_int_equal(st.held_bytes, 224 + 112 + 256);
	assert_true(st.footprint_bytes > 0);
	int live = 0;
	assert_int_equal(a.ops->walk(a.self, balloc_walk_count, &live), 0);
	assert_int_equal(live, 3);
	assert_int_equal(a.ops->check(a.self, NULL, NULL), 0);
	a.ops->free(a.self, q);
	a.ops->free(a.self, q);
	char want[128];
	snprintf(want, sizeof(want), "bkm: free(): double free at %p", q);
	assert_string_equal(msg, want);
	a.ops->free(a.self, p);
	a.ops->free(a.self, r);
	balloc_destroy(&a);
	assert_null(a.ops);
	assert_int_equal(balloc_kmalloc_create(NULL, NULL), EINVAL);
	/* a heap made here, wrapped; no_cache keeps nothing back */
	struct bkm_heap *h = bkm_create(NULL);
	assert_int_equal(bkm_balloc(h, &a), 0);
	assert_int_equal(bkm_balloc(NULL, &a), EINVAL);
	assert_int_equal(bkm_balloc(h, NULL), EINVAL);
	assert_int_equal(a.ops->walk(a.self, NULL, NULL), 0); /* no callback: nothing to do */
	void *x = a.ops->malloc(a.self, 10);
	assert_int_equal(bkm_usable_size(h, x), 16);
	a.ops->free(a.self, x);
	balloc_destroy(&a);
	/* a buffer too small for the heap's state: the heap's errno */
	static char tiny[64];
	struct balloc_options small = { .buffer = tiny, .buffer_bytes = sizeof(tiny) };
	assert_int_equal(balloc_create("kmalloc", &small, &a), ENOMEM);
	opt.no_cache = 1;
	assert_int_equal(balloc_create("kmalloc", &opt, &a), 0);
	x = a.ops->malloc(a.self, 3000);
	a.ops->free(a.self, x);
	a.ops->stats(a.self, &st);
	assert_int_equal(st.live_allocs, 0);
	balloc_destroy(&a);
}

/* Stops the walk at the nth block it is shown. */
static int stop_at(void *arg, const struct bkm_block *b)
{
	(void)b;
	int *n = arg;
	return --*n == 0 ? 42 : 0;
}

/* Introspection with NULL arguments does nothing; a walk stops at any block. */
static void test_kmalloc_introspection_edges(void **state)
{
	(void)state;
	struct bkm_heap *h = bkm_create(NULL);
	struct bkm_stats st;
	struct bkm_block_info bi;
	char buf[64];
	assert_non_null(h);
	void *obj = bkm_malloc(h, 40);
	void *run = bkm_malloc(h, 10000);
	void *huge = bkm_malloc(h, 2u << 20);
	assert_non_null(obj);
	assert_non_null(run);
	assert_non_null(huge);
	bkm_get_stats(NULL, &st);
	bkm_get_stats(h, NULL);
	bkm_block_info(h, obj, NULL);
	bkm_block_info(NULL, obj, &bi);
	assert_int_equal(bi.kind, BKM_BLOCK_NONE);
	bkm_block_info(h, NULL, &bi);
	assert_int_equal(bi.kind, BKM_BLOCK_NONE);
	assert_int_equal(bkm_walk(h, NULL, NULL), 0);
	assert_int_equal(bkm_walk(NULL, stop_at, NULL), 0);
	/* the header alone without a heap, and a cache's line with no room */
	assert_int_equal(bkm_slabinfo(NULL, buf, sizeof(buf)), bslab_slabinfo_header(NULL, 0));
	assert_true(bslab_slabinfo(bkm_cache(h, 0), NULL, 0) > 0);
	assert_int_equal(bslab_slabinfo(NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	struct bslab_stats ss;
	memset(&ss, 0x5a, sizeof(ss));
	bslab_get_stats(NULL, &ss);
	assert_int_equal(ss.allocs, 0x5a5a5a5a5a5a5a5aull); /* untouched */
	bslab_get_stats(bkm_cache(h, 0), NULL);
	/* every block may stop the walk, and its value is returned */
	int total = 0, n;
	do {
		n = ++total;
	} while (bkm_walk(h, stop_at, &n) == 42);
	assert_true(total > 4); /* free blocks, the object, its free neighbours, the run, the huge */
	for (int k = 1; k < total; k++) {
		n = k;
		assert_int_equal(bkm_walk(h, stop_at, &n), 42);
	}
	bkm_free(h, obj);
	bkm_free(h, run);
	bkm_free(h, huge);
	bkm_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kmalloc_class_sizes),
		cmocka_unit_test(test_kmalloc_introspection_edges),
		cmocka_unit_test(test_kmalloc_malloc_zero_is_unique),
		cmocka_unit_test(test_kmalloc_calloc),
		cmocka_unit_test(test_kmalloc_realloc_cases),
		cmocka_unit_test(test_kmalloc_realloc_huge_by_copy),
		cmocka_unit_test(test_kmalloc_aligned),
		cmocka_unit_test(test_kmalloc_null_heap),
		cmocka_unit_test(test_kmalloc_config),
		cmocka_unit_test(test_kmalloc_page_lock),
		cmocka_unit_test(test_kmalloc_stats),
		cmocka_unit_test(test_kmalloc_slabinfo),
		cmocka_unit_test(test_kmalloc_walk_and_block_info),
		cmocka_unit_test(test_kmalloc_fixed_buffer),
		cmocka_unit_test(test_kmalloc_balloc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
