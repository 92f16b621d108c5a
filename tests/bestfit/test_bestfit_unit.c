/* SPDX-License-Identifier: MIT */
/*
 * test_bestfit_unit.c - every function of the best-fit heap and its edge
 * cases, with the exact block layout after each sequence of operations.
 *
 * Block sizes follow from the 4-byte header and 16-byte granules: a
 * request of s bytes takes max(16, round_up(s + 4, 16)) bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bfit_test.h"
#include "buddy/bestfit.h"

static _Alignas(16) unsigned char buf[BFIT_DEMO_BYTES];
static struct bfit_test_errors errs;
static struct bfit *h;

static int heap_setup(void **state)
{
	(void)state;
	h = bfit_test_heap(buf, sizeof buf, 0x5a, &errs);
	return h ? 0 : -1;
}

static int heap_teardown(void **state)
{
	(void)state;
	assert_int_equal(bfit_test_check(h), 0);
	assert_int_equal(errs.count, 0);
	return 0;
}

static size_t heap_bytes(void)
{
	struct bfit_stats st;
	bfit_get_stats(h, &st);
	return st.heap_bytes;
}

/* ---- set-up ---- */

static void test_bestfit_init_rejects_null_and_small(void **state)
{
	unsigned char small[64];
	int status = -1;

	(void)state;
	assert_null(bfit_init(NULL, 4096, NULL, &status));
	assert_int_equal(status, BFIT_ENULL);
	assert_null(bfit_init(small, sizeof small, NULL, &status));
	assert_int_equal(status, BFIT_ESMALL);
	assert_null(bfit_init(buf, bfit_min_bytes() - 1, NULL, &status));
	assert_int_equal(status, BFIT_ESMALL);
	assert_null(bfit_init(buf, 0, NULL, NULL));
}

static void test_bestfit_init_min_bytes_holds_a_block(void **state)
{
	int status = -1;

	(void)state;
	for (size_t off = 0; off < 16; off++) {
		struct bfit *m = bfit_init(buf + off, bfit_min_bytes(), NULL, &status);
		void *p;
		assert_non_null(m);
		assert_int_equal(status, BFIT_OK);
		p = bfit_malloc(m, 0);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		bfit_free(m, p);
		assert_int_equal(bfit_test_check(m), 0);
	}
}

static void test_bestfit_init_one_free_block(void **state)
{
	struct bfit_stats st;

	(void)state;
	assert_true(bfit_test_layout(h, "F*"));
	bfit_get_stats(h, &st);
	assert_int_equal(st.header_bytes, 4);
	assert_int_equal(st.free_blocks, 1);
	assert_int_equal(st.free_bytes, st.heap_bytes);
	assert_int_equal(st.largest_free_bytes, st.heap_bytes);
	assert_int_equal(st.heap_bytes % 16, 0);
	assert_true(st.heap_bytes > 3800);
	assert_int_equal(st.heap_bytes + st.meta_bytes, BFIT_DEMO_BYTES);
	assert_true(st.fragmentation == 0.0);
	assert_int_equal(st.live_allocs, 0);
	assert_int_equal(st.footprint_bytes, 0);
}

/* ---- malloc ---- */

static void test_bestfit_malloc_zero_unique(void **state)
{
	void *a, *b;

	(void)state;
	a = bfit_malloc(h, 0);
	b = bfit_malloc(h, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_int_equal(bfit_usable_size(h, a), 12);
	assert_true(bfit_test_layout(h, "A16 A16 F*"));
	bfit_free(h, a);
	bfit_free(h, b);
	assert_true(bfit_test_layout(h, "F*"));
}

static void test_bestfit_malloc_sizes_and_alignment(void **state)
{
	static const size_t sizes[] = { 1, 12, 13, 28, 29, 100, 1000 };
	static const size_t usable[] = { 12, 12, 28, 28, 44, 108, 1004 };
	void *p[7];

	(void)state;
	for (int i = 0; i < 7; i++) {
		p[i] = bfit_malloc(h, sizes[i]);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		assert_int_equal(bfit_usable_size(h, p[i]), usable[i]);
		memset(p[i], i, sizes[i]);
	}
	assert_true(bfit_test_layout(h, "A16 A16 A32 A32 A48 A112 A1008 F*"));
	for (int i = 0; i < 7; i++)
		bfit_free(h, p[i]);
	assert_true(bfit_test_layout(h, "F*"));
}

static void test_bestfit_malloc_too_large(void **state)
{
	struct bfit_stats st;

	(void)state;
	errno = 0;
	assert_null(bfit_malloc(h, heap_bytes()));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(bfit_last_error(h), BFIT_ENOMEM);
	assert_null(bfit_malloc(h, SIZE_MAX));
	assert_null(bfit_malloc(h, SIZE_MAX - 3));
	bfit_get_stats(h, &st);
	assert_int_equal(st.failures, 3);
	assert_true(bfit_test_layout(h, "F*"));
}

static void test_bestfit_malloc_whole_heap(void **state)
{
	void *p;

	(void)state;
	p = bfit_malloc(h, heap_bytes() - 4);
	assert_non_null(p);
	assert_true(bfit_test_layout(h, "A*"));
	assert_null(bfit_malloc(h, 0));
	bfit_free(h, p);
	assert_true(bfit_test_layout(h, "F*"));
}

/* Make free holes of the given block sizes, each followed by a 16-byte fence. */
static void holes_make(const size_t *sizes, int n, void **fences)
{
	void *hole[8];

	for (int i = 0; i < n; i++) {
		hole[i] = bfit_malloc(h, sizes[i] - 4);
		fences[i] = bfit_malloc(h, 0);
	}
	for (int i = 0; i < n; i++)
		bfit_free(h, hole[i]);
}

static void test_bestfit_malloc_takes_smallest_fit(void **state)
{
	static const size_t sizes[] = { 64, 32, 48 };
	void *fence[3], *p;

	(void)state;
	holes_make(sizes, 3, fence);
	assert_true(bfit_test_layout(h, "F64 A16 F32 A16 F48 A16 F*"));
	p = bfit_malloc(h, 20); /* 32 bytes: the second hole exactly */
	assert_true(bfit_test_layout(h, "F64 A16 A32 A16 F48 A16 F*"));
	bfit_free(h, p);
	p = bfit_malloc(h, 36); /* 48 bytes: the third hole, not the first */
	assert_true(bfit_test_layout(h, "F64 A16 F32 A16 A48 A16 F*"));
	bfit_free(h, p);
	for (int i = 0; i < 3; i++)
		bfit_free(h, fence[i]);
}

static void test_bestfit_malloc_ties_go_to_lowest_address(void **state)
{
	static const size_t sizes[] = { 48, 32, 32, 48 };
	void *fence[4], *p, *q;

	(void)state;
	holes_make(sizes, 4, fence);
	p = bfit_malloc(h, 28);
	assert_true(bfit_test_layout(h, "F48 A16 A32 A16 F32 A16 F48 A16 F*"));
	q = bfit_malloc(h, 28);
	assert_true(bfit_test_layout(h, "F48 A16 A32 A16 A32 A16 F48 A16 F*"));
	bfit_free(h, q);
	bfit_free(h, p);
	p = bfit_malloc(h, 40); /* two 48 holes: the lower one */
	assert_true(bfit_test_layout(h, "A48 A16 F32 A16 F32 A16 F48 A16 F*"));
	bfit_free(h, p);
	for (int i = 0; i < 4; i++)
		bfit_free(h, fence[i]);
}

static void test_bestfit_malloc_splits_remainder(void **state)
{
	static const size_t sizes[] = { 48 };
	void *fence[1], *p, *q;

	(void)state;
	holes_make(sizes, 1, fence);
	p = bfit_malloc(h, 20); /* 32 of the 48: a 16-byte remainder is a block */
	assert_true(bfit_test_layout(h, "A32 F16 A16 F*"));
	q = bfit_malloc(h, 0); /* exactly the remainder, no split */
	assert_true(bfit_test_layout(h, "A32 A16 A16 F*"));
	bfit_free(h, p);
	bfit_free(h, q);
	bfit_free(h, fence[0]);
	assert_true(bfit_test_layout(h, "F*"));
}

/* ---- free and coalescing ---- */

static void test_bestfit_free_coalesces_each_case(void **state)
{
	void *a = bfit_malloc(h, 12), *b = bfit_malloc(h, 28), *c = bfit_malloc(h, 44);
	void *d = bfit_malloc(h, 60), *e = bfit_malloc(h, 12);

	(void)state;
	assert_true(bfit_test_layout(h, "A16 A32 A48 A64 A16 F*"));
	bfit_free(h, b); /* no free neighbour */
	assert_true(bfit_test_layout(h, "A16 F32 A48 A64 A16 F*"));
	bfit_free(h, a); /* free right neighbour */
	assert_true(bfit_test_layout(h, "F48 A48 A64 A16 F*"));
	bfit_free(h, d); /* both allocated */
	assert_true(bfit_test_layout(h, "F48 A48 F64 A16 F*"));
	bfit_free(h, c); /* both free */
	assert_true(bfit_test_layout(h, "F160 A16 F*"));
	bfit_free(h, e); /* into the tail */
	assert_true(bfit_test_layout(h, "F*"));
}

static void test_bestfit_free_null_is_ignored(void **state)
{
	(void)state;
	bfit_free(h, NULL);
	bfit_free(NULL, buf);
	assert_true(bfit_test_layout(h, "F*"));
}

/* ---- calloc ---- */

static void test_bestfit_calloc_zeroes(void **state)
{
	unsigned char *p = bfit_malloc(h, 200), *q;

	(void)state;
	memset(p, 0xaa, 200);
	bfit_free(h, p);
	q = bfit_calloc(h, 50, 4);
	assert_ptr_equal(q, p);
	for (int i = 0; i < 200; i++)
		assert_int_equal(q[i], 0);
	bfit_free(h, q);
}

static void test_bestfit_calloc_overflow(void **state)
{
	(void)state;
	errno = 0;
	assert_null(bfit_calloc(h, SIZE_MAX / 2, 3));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(bfit_last_error(h), BFIT_EOVERFLOW);
	assert_null(bfit_calloc(h, (size_t)1 << (sizeof(size_t) * 4), (size_t)1 << (sizeof(size_t) * 4)));
	assert_true(bfit_test_layout(h, "F*"));
	void *z = bfit_calloc(h, 0, SIZE_MAX);
	assert_non_null(z);
	bfit_free(h, z);
	assert_null(bfit_calloc(h, 1000, 1000));
	assert_int_equal(bfit_last_error(h), BFIT_ENOMEM);
}

/* ---- realloc ---- */

static void test_bestfit_realloc_null_is_malloc(void **state)
{
	void *p;

	(void)state;
	p = bfit_realloc(h, NULL, 40);
	assert_non_null(p);
	assert_true(bfit_test_layout(h, "A48 F*"));
	bfit_free(h, p);
}

static void test_bestfit_realloc_zero_frees(void **state)
{
	void *p = bfit_malloc(h, 40);
	struct bfit_stats st;

	(void)state;
	assert_null(bfit_realloc(h, p, 0));
	bfit_get_stats(h, &st);
	assert_int_equal(st.live_allocs, 0);
	assert_true(bfit_test_layout(h, "F*"));
}

static void test_bestfit_realloc_shrinks_in_place(void **state)
{
	unsigned char *p = bfit_malloc(h, 200), *fence = bfit_malloc(h, 0);

	(void)state;
	memset(p, 7, 200);
	assert_ptr_equal(bfit_realloc(h, p, 50), p);
	assert_true(bfit_test_layout(h, "A64 F144 A16 F*"));
	for (int i = 0; i < 50; i++)
		assert_int_equal(p[i], 7);
	assert_ptr_equal(bfit_realloc(h, p, 60), p); /* same block size: nothing moves */
	assert_true(bfit_test_layout(h, "A64 F144 A16 F*"));
	assert_ptr_equal(bfit_realloc(h, p, 12), p); /* the tail merges with the free right */
	assert_true(bfit_test_layout(h, "A16 F192 A16 F*"));
	bfit_free(h, p);
	bfit_free(h, fence);
}

static void test_bestfit_realloc_grows_in_place(void **state)
{
	unsigned char *p = bfit_malloc(h, 28), *q = bfit_malloc(h, 60), *fence = bfit_malloc(h, 0);

	(void)state;
	memset(p, 3, 28);
	bfit_free(h, q);
	assert_true(bfit_test_layout(h, "A32 F64 A16 F*"));
	assert_ptr_equal(bfit_realloc(h, p, 60), p); /* takes part of the right block */
	assert_true(bfit_test_layout(h, "A64 F32 A16 F*"));
	assert_ptr_equal(bfit_realloc(h, p, 92), p); /* takes all of it */
	assert_true(bfit_test_layout(h, "A96 A16 F*"));
	for (int i = 0; i < 28; i++)
		assert_int_equal(p[i], 3);
	bfit_free(h, p);
	bfit_free(h, fence);
}

static void test_bestfit_realloc_moves_when_blocked(void **state)
{
	unsigned char *p = bfit_malloc(h, 28), *fence = bfit_malloc(h, 0), *q;
	struct bfit_stats st;

	(void)state;
	for (int i = 0; i < 28; i++)
		p[i] = (unsigned char)i;
	q = bfit_realloc(h, p, 100);
	assert_non_null(q);
	assert_ptr_not_equal(q, p);
	assert_true(bfit_test_layout(h, "F32 A16 A112 F*"));
	for (int i = 0; i < 28; i++)
		assert_int_equal(q[i], i);
	bfit_get_stats(h, &st);
	assert_int_equal(st.allocs, 2); /* a move is not a new allocation */
	assert_int_equal(st.live_allocs, 2);
	bfit_free(h, q);
	bfit_free(h, fence);
}

static void test_bestfit_realloc_failure_keeps_block(void **state)
{
	unsigned char *p = bfit_malloc(h, 28), *fence = bfit_malloc(h, 0);

	(void)state;
	memset(p, 9, 28);
	errno = 0;
	assert_null(bfit_realloc(h, p, heap_bytes()));
	assert_int_equal(errno, ENOMEM);
	assert_null(bfit_realloc(h, p, SIZE_MAX));
	assert_null(bfit_realloc(h, p, heap_bytes() - 40)); /* fits the heap, not the free space */
	assert_true(bfit_test_layout(h, "A32 A16 F*"));
	for (int i = 0; i < 28; i++)
		assert_int_equal(p[i], 9);
	bfit_free(h, p);
	bfit_free(h, fence);
}

/* ---- aligned_alloc ---- */

static void test_bestfit_aligned_alloc_aligns(void **state)
{
	static const size_t aligns[] = { 1, 8, 16, 32, 64, 256, 1024 };
	void *p[7], *skew = bfit_malloc(h, 0);

	(void)state;
	for (int i = 0; i < 7; i++) {
		p[i] = bfit_aligned_alloc(h, aligns[i], 40);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % aligns[i], 0);
		assert_true(bfit_usable_size(h, p[i]) >= 40);
		memset(p[i], 0xee, 40);
		assert_int_equal(bfit_test_check(h), 0);
	}
	for (int i = 0; i < 7; i++)
		bfit_free(h, p[i]);
	bfit_free(h, skew);
	assert_true(bfit_test_layout(h, "F*"));
}

static void test_bestfit_aligned_alloc_rejects_bad_alignment(void **state)
{
	(void)state;
	errno = 0;
	assert_null(bfit_aligned_alloc(h, 48, 16));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(bfit_last_error(h), BFIT_EALIGN);
	errno = 0;
	assert_null(bfit_aligned_alloc(h, 0, 16));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(bfit_aligned_alloc(h, (size_t)1 << 40, 16));
	assert_int_equal(errno, ENOMEM);
	assert_null(bfit_aligned_alloc(h, 64, SIZE_MAX));
	assert_true(bfit_test_layout(h, "F*"));
}

static void test_bestfit_aligned_alloc_frees_head(void **state)
{
	uintptr_t first = (uintptr_t)bfit_malloc(h, 0), head;
	char want[64];
	void *p;

	(void)state;
	bfit_free(h, (void *)first);
	head = ((first + 1023) & ~(uintptr_t)1023) - first; /* bytes before the aligned payload */
	p = bfit_aligned_alloc(h, 1024, 100);
	assert_int_equal((uintptr_t)p, first + head);
	if (head)
		snprintf(want, sizeof want, "F%zu A112 F*", (size_t)head);
	else
		snprintf(want, sizeof want, "A112 F*");
	assert_true(bfit_test_layout(h, want));
	assert_int_equal(bfit_usable_size(h, p), 108);
	bfit_free(h, p);
	assert_true(bfit_test_layout(h, "F*"));
}

/* ---- usable size, stats, walk, check, strings ---- */

static void test_bestfit_usable_size_bad_pointers(void **state)
{
	void *p = bfit_malloc(h, 30);
	char want[96];

	(void)state;
	assert_int_equal(bfit_usable_size(h, NULL), 0);
	assert_int_equal(bfit_usable_size(NULL, p), 0);
	assert_int_equal(bfit_usable_size(h, (char *)p + 16), 0);
	assert_int_equal(bfit_last_error(h), BFIT_EINTERIOR);
	assert_int_equal(bfit_usable_size(h, buf), 0);
	assert_int_equal(bfit_last_error(h), BFIT_EINVALID);
	assert_int_equal(bfit_usable_size(h, p), 44);
	bfit_free(h, p);
	assert_int_equal(bfit_usable_size(h, p), 0);
	assert_int_equal(bfit_last_error(h), BFIT_EDOUBLE);
	assert_int_equal(errs.count, 3); /* each bad pointer went to the handler */
	snprintf(want, sizeof want, "bfit: malloc_usable_size(): double free at %p", p);
	assert_string_equal(errs.msg, want);
	errs.count = 0; /* the teardown expects none */
}

static void test_bestfit_stats_count(void **state)
{
	struct bfit_stats st;
	void *a = bfit_malloc(h, 100), *b = bfit_malloc(h, 0), *c = bfit_malloc(h, 200);

	(void)state;
	bfit_free(h, a);
	bfit_get_stats(h, &st);
	assert_int_equal(st.used_bytes, 16 + 208);
	assert_int_equal(st.live_allocs, 2);
	assert_int_equal(st.free_blocks, 2);
	assert_int_equal(st.free_bytes, st.heap_bytes - 224);
	assert_int_equal(st.largest_free_bytes, st.heap_bytes - 112 - 224);
	assert_true(st.fragmentation > 0.0 && st.fragmentation < 0.05);
	assert_true(st.fragmentation > 112.0 / st.free_bytes - 1e-9);
	assert_int_equal(st.footprint_bytes, 112 + 16 + 208);
	assert_int_equal(st.peak_footprint_bytes, 336);
	assert_int_equal(st.peak_used_bytes, 336);
	assert_int_equal(st.allocs, 3);
	assert_int_equal(st.frees, 1);
	bfit_free(h, c);
	bfit_get_stats(h, &st);
	assert_int_equal(st.footprint_bytes, 128); /* b is now the highest block */
	assert_int_equal(st.peak_footprint_bytes, 336);
	bfit_free(h, b);
	bfit_get_stats(h, &st);
	assert_int_equal(st.footprint_bytes, 0);
	assert_true(st.fragmentation == 0.0);
	bfit_get_stats(h, NULL);
	bfit_get_stats(NULL, &st);
}

struct walk_count {
	int calls;     /* blocks seen */
	int stop_at;   /* return nonzero at this call */
	size_t next;   /* expected offset of the next block */
	int in_order;  /* offsets were contiguous */
};

static int walk_counter(void *arg, const struct bfit_block *b)
{
	struct walk_count *w = arg;

	if (b->offset != w->next)
		w->in_order = 0;
	w->next = b->offset + b->size;
	return ++w->calls == w->stop_at ? 42 : 0;
}

static void test_bestfit_walk_visits_and_stops(void **state)
{
	void *p[5];
	struct walk_count w = { 0, 0, 0, 1 };

	(void)state;
	for (int i = 0; i < 5; i++)
		p[i] = bfit_malloc(h, (size_t)i * 10);
	assert_int_equal(bfit_walk(h, walk_counter, &w), 0);
	assert_int_equal(w.calls, 6);
	assert_true(w.in_order);
	assert_int_equal(w.next, heap_bytes());
	w = (struct walk_count){ 0, 3, 0, 1 };
	assert_int_equal(bfit_walk(h, walk_counter, &w), 42);
	assert_int_equal(w.calls, 3);
	assert_int_equal(bfit_walk(h, NULL, NULL), 0);
	assert_int_equal(bfit_walk(NULL, walk_counter, &w), 0);
	for (int i = 0; i < 5; i++)
		bfit_free(h, p[i]);
}

static void count_reports(void *arg, const char *msg)
{
	(void)msg;
	++*(int *)arg;
}

/* Overwrite a block header as a stray write would; returns the old value. */
static uint32_t header_poke(uint32_t *hdr, uint32_t value)
{
	uint32_t old = *hdr;

	*hdr = value;
	return old;
}

static void test_bestfit_check_finds_damage(void **state)
{
	uint32_t *hdr, saved;
	unsigned char *p = bfit_malloc(h, 28), *q = bfit_malloc(h, 28);
	int reports = 0;

	(void)state;
	assert_int_equal(bfit_check(h, NULL, NULL), 0);
	assert_int_equal(bfit_check(NULL, count_reports, &reports), 1);
	reports = 0;
	hdr = (uint32_t *)(void *)(q - 4);
	saved = header_poke(hdr, 0x7fffff01u); /* an overflow from p into q's header */
	assert_true(bfit_check(h, count_reports, &reports) > 0);
	assert_true(reports > 0);
	header_poke(hdr, saved);
	bfit_free(h, q);
	hdr = (uint32_t *)(void *)(p + 28); /* the free block's header after p */
	saved = header_poke(hdr, *hdr | 1); /* mark it allocated by mistake */
	assert_true(bfit_check(h, NULL, NULL) > 0);
	header_poke(hdr, saved);
	assert_int_equal(bfit_check(h, NULL, NULL), 0);
	bfit_free(h, p);
}

static void test_bestfit_strerror_every_status(void **state)
{
	(void)state;
	for (int s = 0; s < BFIT_NR_STATUS; s++) {
		assert_non_null(bfit_strerror(s));
		assert_string_not_equal(bfit_strerror(s), "unknown status");
	}
	assert_string_equal(bfit_strerror(BFIT_EDOUBLE), "double free");
	assert_string_equal(bfit_strerror(-1), "unknown status");
	assert_string_equal(bfit_strerror(BFIT_NR_STATUS), "unknown status");
	assert_int_equal(bfit_last_error(NULL), BFIT_ENULL);
}

static void test_bestfit_null_heap_calls_fail(void **state)
{
	(void)state;
	errno = 0;
	assert_null(bfit_malloc(NULL, 1));
	assert_int_equal(errno, EINVAL);
	assert_null(bfit_calloc(NULL, 1, 1));
	assert_null(bfit_realloc(NULL, buf, 1));
	assert_null(bfit_aligned_alloc(NULL, 16, 1));
}

#define T(name) cmocka_unit_test_setup_teardown(name, heap_setup, heap_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bestfit_init_rejects_null_and_small),
		cmocka_unit_test(test_bestfit_init_min_bytes_holds_a_block),
		T(test_bestfit_init_one_free_block),
		T(test_bestfit_malloc_zero_unique),
		T(test_bestfit_malloc_sizes_and_alignment),
		T(test_bestfit_malloc_too_large),
		T(test_bestfit_malloc_whole_heap),
		T(test_bestfit_malloc_takes_smallest_fit),
		T(test_bestfit_malloc_ties_go_to_lowest_address),
		T(test_bestfit_malloc_splits_remainder),
		T(test_bestfit_free_coalesces_each_case),
		T(test_bestfit_free_null_is_ignored),
		T(test_bestfit_calloc_zeroes),
		T(test_bestfit_calloc_overflow),
		T(test_bestfit_realloc_null_is_malloc),
		T(test_bestfit_realloc_zero_frees),
		T(test_bestfit_realloc_shrinks_in_place),
		T(test_bestfit_realloc_grows_in_place),
		T(test_bestfit_realloc_moves_when_blocked),
		T(test_bestfit_realloc_failure_keeps_block),
		T(test_bestfit_aligned_alloc_aligns),
		T(test_bestfit_aligned_alloc_rejects_bad_alignment),
		T(test_bestfit_aligned_alloc_frees_head),
		T(test_bestfit_usable_size_bad_pointers),
		T(test_bestfit_stats_count),
		T(test_bestfit_walk_visits_and_stops),
		T(test_bestfit_check_finds_damage),
		T(test_bestfit_strerror_every_status),
		T(test_bestfit_null_heap_calls_fail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
