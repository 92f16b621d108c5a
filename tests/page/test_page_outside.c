/* SPDX-License-Identifier: MIT */
/*
 * test_page_outside.c - outside links (buddy_config.outside_links): the
 * free lists are linked through entries in the region's metadata, so the
 * zone never writes into a free block.
 *
 *   - never_writes_free_pages: a region whose pages are mapped without
 *     access except while a block is handed out; thousands of allocations,
 *     exact allocations, frees, resizes and drains through the page cache.
 *     Any write (or read) of a free page by the zone faults, and the test
 *     dies. The same start with links inside the blocks must fault (run in
 *     a child, which has to die of SIGSEGV), so the setting is what is
 *     tested.
 *   - use_after_free_harmless: a write over the whole of a free block is
 *     no damage to the zone (inside links: reported as corruption).
 *   - damaged_entry: an entry in the metadata that no longer points back
 *     is still caught before it is followed.
 *   - meta_size: the metadata is the inside-links size, 8-byte aligned,
 *     plus one entry of 16 bytes per page.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "buddy/page.h"

#define PS ((size_t)4096)
#define NPAGES 256u
#define NLIVE 64u

static uint64_t rng = 0x243f6a8885a308d3ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)((rng >> 11) % n);
}

static unsigned reports;

static void on_corrupt(void *arg, int kind, const char *op, const void *ptr, const char *msg)
{
	(void)arg;
	(void)op;
	(void)ptr;
	assert_int_equal(kind, BUDDY_ERR_CORRUPT);
	assert_true(strncmp(msg, "buddy: ", 7) == 0);
	reports++;
}

static void zone_make(struct buddy_zone *z, int outside, unsigned pcp_high)
{
	struct buddy_config cfg;
	buddy_config_default(&cfg);
	cfg.page_size = PS;
	cfg.pcp_high = pcp_high;
	cfg.pcp_max_order = 2;
	cfg.outside_links = outside;
	cfg.on_error = on_corrupt;
	assert_int_equal(buddy_zone_init(z, &cfg), BUDDY_OK);
}

struct held {
	unsigned char *p;
	size_t pages;
	unsigned order; /* exact allocations: ~0u */
	unsigned char stamp;
};

static void open_block(struct held *b)
{
	assert_int_equal(mprotect(b->p, b->pages * PS, PROT_READ | PROT_WRITE), 0);
	memset(b->p, b->stamp, b->pages * PS);
}

static void close_block(const struct held *b)
{
	for (size_t i = 0; i < b->pages * PS; i += 509)
		assert_int_equal(b->p[i], b->stamp);
	assert_int_equal(mprotect(b->p, b->pages * PS, PROT_NONE), 0);
}

/*
 * The workload on a region of no-access pages. Returns the operations
 * done; a write into a free page does not return (SIGSEGV).
 */
static unsigned run_protected(int outside, unsigned ops)
{
	static struct buddy_zone z;
	static unsigned char meta[65536] __attribute__((aligned(8)));
	struct held live[NLIVE];
	unsigned nr = 0, done = 0;
	memset(live, 0, sizeof(live));
	unsigned char *arena = mmap(NULL, NPAGES * PS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(arena != MAP_FAILED);
	zone_make(&z, outside, 8);
	assert_true(buddy_meta_size(&z, NPAGES * PS) <= sizeof(meta));
	assert_int_equal(buddy_add_region(&z, arena, NPAGES * PS, meta, sizeof(meta)), BUDDY_OK);
	for (unsigned i = 0; i < ops; i++) {
		unsigned what = rnd(10);
		if (nr && (what < 4 || nr == NLIVE)) {
			unsigned k = rnd(nr);
			struct held b = live[k];
			close_block(&b);
			int st = b.order == ~0u ? buddy_free_pages_exact(&z, b.p, b.pages)
						: buddy_free_pages(&z, b.p, b.order);
			assert_int_equal(st, BUDDY_OK);
			live[k] = live[--nr];
		} else if (nr && what == 4) {
			/* Grow in place where the buddies are free; shrink otherwise. */
			unsigned k = rnd(nr);
			struct held *b = &live[k];
			if (b->order == ~0u)
				continue;
			unsigned to = b->order ? b->order - 1 : 1;
			close_block(b);
			if (buddy_resize(&z, b->p, to) == BUDDY_OK) {
				b->order = to;
				b->pages = (size_t)1 << to;
			}
			open_block(b);
		} else if (what == 5) {
			buddy_drain_cache(&z);
		} else {
			struct held b;
			b.stamp = (unsigned char)(1 + rnd(255));
			if (what < 8) {
				b.order = rnd(5);
				b.pages = (size_t)1 << b.order;
				b.p = buddy_alloc_pages(&z, b.order, 0);
			} else {
				b.order = ~0u;
				b.pages = 1 + rnd(23);
				b.p = buddy_alloc_pages_exact(&z, b.pages, 0);
			}
			if (!b.p)
				continue;
			open_block(&b);
			live[nr++] = b;
		}
		done++;
	}
	while (nr) {
		struct held b = live[--nr];
		close_block(&b);
		assert_int_equal(b.order == ~0u ? buddy_free_pages_exact(&z, b.p, b.pages)
						: buddy_free_pages(&z, b.p, b.order),
				 BUDDY_OK);
	}
	buddy_drain_cache(&z);
	assert_int_equal(buddy_check(&z, NULL, NULL), 0);
	struct buddy_stats st;
	buddy_get_stats(&z, &st);
	assert_int_equal(st.free_pages, NPAGES);
	assert_int_equal(buddy_remove_region(&z, arena), BUDDY_OK);
	munmap(arena, NPAGES * PS);
	return done;
}

static void test_outside_never_writes_free_pages(void **state)
{
	(void)state;
	const char *v = getenv("BUDDY_UNDER_VALGRIND");
	unsigned ops = v && strcmp(v, "1") == 0 ? 3000 : 30000;
	unsigned done = run_protected(1, ops);
	print_message("outside links: %u operations, no free page touched\n", done);
	assert_true(done > ops / 2);
	assert_int_equal(reports, 0);
}

/* The control: links inside the blocks write into the fresh region at once. */
static void test_inside_links_write_free_pages(void **state)
{
	(void)state;
	if (getenv("BUDDY_UNDER_VALGRIND"))
		skip(); /* a child that dies of SIGSEGV under valgrind is reported as an error */
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		run_protected(0, 100);
		_exit(0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
}

/* A write after free, which AddressSanitizer is not to stop: the zone is to see it, or not. */
__attribute__((no_sanitize_address)) static void scribble(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((volatile unsigned char *)p)[i] = 0x41;
}

/*
 * A zone of 16 pages of 256 bytes (metadata: just what it needs when
 * exact, else 4096 bytes), with pages 0, 1 and 2 allocated and page 1
 * (*freed) freed again: the order-0 list is then page 1, page 3 (left by
 * the split for page 2). Returns the metadata's length.
 */
static struct buddy_zone small_z;
static unsigned char small_arena[16 * 256] __attribute__((aligned(256)));
static unsigned char small_meta[4096] __attribute__((aligned(8)));

static size_t small_zone(int outside, int exact, unsigned char **freed)
{
	struct buddy_config cfg;
	buddy_config_default(&cfg);
	cfg.page_size = 256;
	cfg.outside_links = outside;
	cfg.on_error = on_corrupt;
	reports = 0;
	assert_int_equal(buddy_zone_init(&small_z, &cfg), BUDDY_OK);
	size_t meta_len = exact ? buddy_meta_size(&small_z, sizeof(small_arena)) : sizeof(small_meta);
	assert_int_equal(buddy_add_region(&small_z, small_arena, sizeof(small_arena), small_meta,
					  meta_len),
			 BUDDY_OK);
	unsigned char *a = buddy_alloc_pages(&small_z, 0, 0), *b = buddy_alloc_pages(&small_z, 0, 0);
	unsigned char *c = buddy_alloc_pages(&small_z, 0, 0);
	assert_ptr_equal(a, small_arena);
	assert_ptr_equal(b, small_arena + 256);
	assert_ptr_equal(c, small_arena + 512);
	assert_int_equal(buddy_free_pages(&small_z, b, 0), BUDDY_OK);
	*freed = b;
	return meta_len;
}

/* Free a block and scribble over it; does the zone care? */
static unsigned scribble_after_free(int outside)
{
	unsigned char *b;
	small_zone(outside, 0, &b);
	scribble(b, 256); /* use after free over the whole block */
	/* The first call after the write meets b's links (b heads the order-0 list). */
	void *e = buddy_alloc_pages(&small_z, 0, 0);
	if (reports)
		return reports;
	assert_ptr_equal(e, b);
	assert_non_null(buddy_alloc_pages(&small_z, 1, 0));
	assert_int_equal(buddy_check(&small_z, NULL, NULL), 0);
	return reports;
}

static void test_outside_use_after_free_harmless(void **state)
{
	(void)state;
	assert_int_equal(scribble_after_free(1), 0);
	/* Links inside the block: the same write is damage, and is caught. */
	assert_int_equal(scribble_after_free(0), 1);
}

static void test_outside_damaged_entry(void **state)
{
	(void)state;
	unsigned char *b;
	size_t need = small_zone(1, 1, &b);
	/* The entries are the last 16 bytes a page of the metadata; b is page 1. */
	uintptr_t *entry = (uintptr_t *)(small_meta + need - (16 - 1) * 16);
	/* Its next: page 3 or the list head, in the zone. */
	assert_true(entry[0] == (uintptr_t)(small_arena + 3 * 256) ||
		    entry[0] - (uintptr_t)&small_z < sizeof(small_z));
	entry[0] = (uintptr_t)(small_arena + 100); /* next: off a block boundary */
	assert_null(buddy_alloc_pages(&small_z, 0, 0));
	assert_int_equal(buddy_last_error(&small_z), BUDDY_ECORRUPT);
	assert_int_equal(reports, 1);
	assert_null(buddy_alloc_pages(&small_z, 2, 0));
	assert_int_equal(reports, 1);
}

static void test_outside_meta_size(void **state)
{
	(void)state;
	struct buddy_zone in, out;
	zone_make(&in, 0, 0);
	zone_make(&out, 1, 0);
	for (size_t pages = 1; pages <= 4096; pages = pages * 3 + 1) {
		size_t a = buddy_meta_size(&in, pages * PS), b = buddy_meta_size(&out, pages * PS);
		assert_int_equal(b, ((a + 7) & ~(size_t)7) + pages * 16);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outside_never_writes_free_pages),
		cmocka_unit_test(test_inside_links_write_free_pages),
		cmocka_unit_test(test_outside_use_after_free_harmless),
		cmocka_unit_test(test_outside_damaged_entry),
		cmocka_unit_test(test_outside_meta_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
