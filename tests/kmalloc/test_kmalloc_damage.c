/* SPDX-License-Identifier: MIT */
/*
 * test_kmalloc_damage.c - a program writing past the last block of an
 * arena. The arena's metadata (the zone's region metadata, the page map,
 * the resident bitmap, the arena's record) follows its pages behind a gap:
 * in a mapped arena a system page without access, where such a write
 * faults at its first byte, with the default mmap and with a map hook; in
 * a fixed buffer 64 unused bytes, where a write of up to 16 bytes changes
 * nothing the heap reads. Before the gap, 16 bytes there made a later free
 * of a valid block crash in the zone.
 */
#include "kmalloc_test.h"

#include "guard_write.h"

#define ARENA ((size_t)64 << 10)
#define PAGE ((size_t)4096)

/* Pages of 4 KiB, one 64 KiB arena to start, blocks above 4 KiB as page runs. */
static struct bkm_config arena_config(struct kmap *m, struct kerr *e)
{
	struct bkm_config cfg = kconfig(m, e, NULL);
	cfg.page_size = PAGE;
	cfg.arena_bytes = ARENA;
	cfg.max_class_bytes = PAGE;
	cfg.huge_bytes = (size_t)1 << 20;
	return cfg;
}

/* Two 32 KiB runs fill the first arena: where a write past the last starts. */
static unsigned char *fill_arena(const void *hooked)
{
	static struct kmap m;
	struct bkm_config cfg = arena_config(hooked ? &m : NULL, NULL);
	struct bkm_heap *h = bkm_create(&cfg);
	unsigned char *a = h ? bkm_malloc(h, ARENA / 2) : NULL;
	unsigned char *b = h ? bkm_malloc(h, ARENA / 2) : NULL;
	unsigned char *last = a > b ? a : b;
	if (!a || !b || (uintptr_t)(a < b ? a : b) % ARENA || bkm_usable_size(h, last) != ARENA / 2)
		return NULL;
	return last + ARENA / 2;
}

/* A write of 1, 16 or 24 bytes past a mapped arena's last block faults in the guard page. */
static void test_kmalloc_overflow_past_arena_hits_guard(void **state)
{
	(void)state;
	guard_write_expect_faults(fill_arena);
}

/* The blocks next to the guard are whole, and the guard goes back with its arena. */
static void test_kmalloc_blocks_end_at_guard(void **state)
{
	(void)state;
	struct kmap m = { 0 };
	struct kerr e = { 0 };
	struct bkm_config cfg = arena_config(&m, &e);
	struct bkm_heap *h = kheap(&cfg);
	unsigned char *a = bkm_malloc(h, ARENA / 2);
	unsigned char *b = bkm_malloc(h, ARENA / 2);
	assert_non_null(a);
	assert_non_null(b);
	kfill(a, ARENA / 2, 1);
	kfill(b, ARENA / 2, 2); /* every byte up to the guard */
	assert_kheap_ok(h);
	assert_true(kfill_ok(a, ARENA / 2, 1) && kfill_ok(b, ARENA / 2, 2));
	bkm_free(h, a);
	bkm_free(h, b);
	assert_kheap_ok(h);
	assert_int_equal(e.count, 0);
	bkm_destroy(h);
	assert_int_equal(m.mapped, 0); /* every mapping, the guard's too, went back */
}

/*
 * In a fixed buffer the arena's last run ends at the gap: 16 bytes written
 * past it change nothing the heap reads (its check stays clean, nothing is
 * reported, the blocks free and are handed out again).
 */
static void test_kmalloc_fixed_overflow_lands_in_gap(void **state)
{
	(void)state;
	static _Alignas(4096) unsigned char buf[(size_t)160 << 10];
	struct kerr e = { 0 };
	struct bkm_config cfg = arena_config(NULL, &e);
	cfg.buffer = buf;
	cfg.buffer_bytes = sizeof(buf);
	struct bkm_heap *h = kheap(&cfg);
	struct buddy_region_info ri;
	assert_int_equal(buddy_region_info(bkm_zone(h), 0, &ri), BUDDY_OK);
	unsigned char *end = (unsigned char *)ri.base + ri.nr_pages * PAGE;
	assert_true(end + 64 <= buf + sizeof(buf));
	/* Page runs until the arena is full: the last one ends at the gap. */
	void *blocks[64];
	unsigned char *last = NULL;
	size_t n = 0;
	while (n < 64 && (blocks[n] = bkm_malloc(h, PAGE + 1)) != NULL) {
		if ((unsigned char *)blocks[n] > last)
			last = blocks[n];
		n++;
	}
	assert_non_null(last);
	size_t usable = bkm_usable_size(h, last);
	assert_ptr_equal(last + usable, end);
	memset(end, 0xff, 16);
	assert_kheap_ok(h);
	for (size_t i = 0; i < n; i++)
		bkm_free(h, blocks[i]);
	assert_kheap_ok(h);
	assert_int_equal(e.count, 0);
	void *again = bkm_malloc(h, PAGE + 1);
	assert_non_null(again);
	bkm_free(h, again);
	assert_kheap_ok(h);
	bkm_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kmalloc_overflow_past_arena_hits_guard),
		cmocka_unit_test(test_kmalloc_blocks_end_at_guard),
		cmocka_unit_test(test_kmalloc_fixed_overflow_lands_in_gap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
