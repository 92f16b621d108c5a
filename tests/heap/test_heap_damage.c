/* SPDX-License-Identifier: MIT */
/*
 * test_heap_damage.c - a program damaging the buddy heap's memory: writing
 * past the end of its blocks and after freeing them. The heap's own data
 * lies behind a guard page (a write past a chunk's last block faults there,
 * at the write, instead of damaging the metadata), and damage to the links
 * the core keeps in free blocks is reported as corruption, naming the
 * address, by the call that meets it; every later call refuses, saying so,
 * and changes nothing. The checker and the walk never crash on it.
 *
 * Issue cases: 3 (metadata overflow) and 4 (damage misreported).
 */
#include "heap_test.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK ((size_t)1 << 20)

static int count_blocks(void *arg, const struct bheap_block *b)
{
	(void)b;
	(*(size_t *)arg)++;
	return 0;
}

static void quiet_report(void *arg, const char *msg)
{
	(void)msg;
	(*(size_t *)arg)++;
}

/* ------------------------------------------------------------------ */
/* case 3: the metadata behind a chunk                                 */
/* ------------------------------------------------------------------ */

/* Fill a chunk with two 512 KiB blocks: where a write past the last starts. */
static unsigned char *fill_chunk(const void *hooked)
{
	static struct map_ctx m;
	struct bheap_config cfg = test_config(hooked ? &m : NULL, NULL, CHUNK);
	struct bheap *h = bheap_create(&cfg);
	unsigned char *a = bheap_malloc(h, CHUNK / 2);
	unsigned char *b = bheap_malloc(h, CHUNK / 2);
	unsigned char *last = a > b ? a : b;
	if (!a || !b || (uintptr_t)(a < b ? a : b) % CHUNK)
		return NULL;
	return last + CHUNK / 2;
}

/*
 * Two 512 KiB blocks fill a 1 MiB chunk; a write of 1, 16 or 24 bytes past
 * the end of the last one faults at the first byte, in the guard page,
 * with the default mmap and with a map hook.
 */
static void test_heap_overflow_past_chunk_hits_guard(void **state)
{
	(void)state;
	guard_write_expect_faults(fill_chunk);
}

/* The blocks next to the guard are whole, and the heap around them works. */
static void test_heap_blocks_end_at_guard(void **state)
{
	(void)state;
	struct map_ctx m = { 0 };
	struct bheap_config cfg = test_config(&m, NULL, CHUNK);
	struct bheap *h = bheap_create(&cfg);
	unsigned char *a = bheap_malloc(h, CHUNK / 2);
	unsigned char *b = bheap_malloc(h, CHUNK / 2);
	assert_non_null(a);
	assert_non_null(b);
	memset(a, 0x11, CHUNK / 2);
	memset(b, 0x22, CHUNK / 2); /* every byte up to the guard */
	assert_heap_ok(h);
	bheap_free(h, a);
	bheap_free(h, b);
	assert_heap_ok(h);
	bheap_destroy(h);
	assert_int_equal(m.mapped, 0); /* the guard went back with its chunk */
}

/* ------------------------------------------------------------------ */
/* case 4: damaged links in a freed block                              */
/* ------------------------------------------------------------------ */

struct damaged {
	struct err_ctx e;
	struct bheap *h;
	unsigned char *a, *b, *c; /* a and c live, b freed and its links overwritten */
};

/*
 * Three 64-byte blocks side by side; b is freed (into the page cache, or
 * with cache_blocks 0 onto a free list) and a writes 16 bytes past its
 * end: b's list links.
 */
static void damage_links(struct damaged *d, unsigned cache_blocks)
{
	struct bheap_config cfg = test_config(NULL, &d->e, 65536);
	cfg.cache_blocks = cache_blocks;
	d->h = bheap_create(&cfg);
	assert_non_null(d->h);
	d->a = bheap_malloc(d->h, 64);
	d->b = bheap_malloc(d->h, 64);
	d->c = bheap_malloc(d->h, 64);
	assert_ptr_equal(d->b, d->a + 64);
	memset(d->a, 'a', 64);
	memset(d->c, 'c', 64);
	bheap_free(d->h, d->b);
	assert_int_equal(d->e.count, 0);
	memset(d->a + 64, 0x41, 16); /* the overflow */
}

/* The report the heap makes: corruption, in op, at b, naming b. */
static void expect_corrupt(struct damaged *d, const char *op, int earlier)
{
	char where[32];
	assert_int_equal(d->e.count, 1);
	assert_int_equal(d->e.kind, BUDDY_ERR_CORRUPT);
	assert_string_equal(d->e.op, op);
	assert_ptr_equal(d->e.ptr, d->b);
	snprintf(where, sizeof(where), " at %p", (void *)d->b);
	assert_non_null(strstr(d->e.msg, where));
	assert_non_null(strstr(d->e.msg, "corrupted free list"));
	assert_true(strncmp(d->e.msg, "bheap: ", 7) == 0);
	assert_int_equal(strstr(d->e.msg, "heap corrupted earlier") != NULL, earlier);
	d->e.count = 0;
}

/*
 * Every call after the damage was found: refused, reported, nothing changed.
 * a_live: a is still the program's (not freed by the call that met the damage).
 */
static void expect_refusals(struct damaged *d, int a_live)
{
	struct bheap_stats before, after;
	void *out = NULL;
	bheap_get_stats(d->h, &before);
	errno = 0;
	assert_null(bheap_malloc(d->h, 64));
	assert_int_equal(errno, ENOMEM);
	expect_corrupt(d, "malloc", 1);
	assert_null(bheap_calloc(d->h, 4, 16));
	expect_corrupt(d, "calloc", 1);
	assert_null(bheap_realloc(d->h, d->a, 200));
	expect_corrupt(d, "realloc", 1);
	assert_null(bheap_realloc(d->h, NULL, 200));
	expect_corrupt(d, "malloc", 1);
	assert_null(bheap_aligned_alloc(d->h, 64, 64));
	expect_corrupt(d, "aligned_alloc", 1);
	assert_int_equal(bheap_posix_memalign(d->h, &out, 64, 64), ENOMEM);
	assert_null(out);
	expect_corrupt(d, "posix_memalign", 1);
	bheap_free(d->h, d->a); /* a valid free */
	expect_corrupt(d, "free", 1);
	bheap_free(d->h, d->c);
	expect_corrupt(d, "free", 1);
	assert_int_equal(bheap_usable_size(d->h, d->a), 0);
	expect_corrupt(d, "malloc_usable_size", 1);
	bheap_free(d->h, NULL); /* nothing to refuse */
	assert_int_equal(d->e.count, 0);
	bheap_get_stats(d->h, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	/* The live blocks are untouched. */
	for (int i = 0; i < 64; i++)
		assert_true((!a_live || d->a[i] == 'a') && d->c[i] == 'c');
	/* The checker and the walk read the damaged heap without crashing. */
	size_t problems = 0, blocks = 0;
	assert_true(bheap_check(d->h, quiet_report, &problems) > 0);
	assert_true(problems > 0);
	bheap_walk(d->h, count_blocks, &blocks);
	assert_true(blocks > 0);
	bheap_destroy(d->h);
}

static void test_heap_damaged_cached_block_reported(void **state)
{
	(void)state;
	struct damaged d = { 0 };
	damage_links(&d, 64);
	errno = 0;
	assert_null(bheap_malloc(d.h, 64)); /* would take b from the page cache */
	assert_int_equal(errno, ENOMEM);
	expect_corrupt(&d, "malloc", 0);
	expect_refusals(&d, 1);
}

static void test_heap_damaged_free_block_reported(void **state)
{
	(void)state;
	struct damaged d = { 0 };
	damage_links(&d, 0);
	assert_null(bheap_malloc(d.h, 64)); /* would take b from its free list */
	expect_corrupt(&d, "malloc", 0);
	expect_refusals(&d, 1);
}

/* The damage found while merging on a free: that free reports it. */
static void test_heap_damage_found_by_free_reported(void **state)
{
	(void)state;
	struct damaged d = { 0 };
	damage_links(&d, 0);
	bheap_free(d.h, d.a); /* a merges with its buddy b, whose links are damaged */
	expect_corrupt(&d, "free", 0);
	expect_refusals(&d, 0); /* a was freed all the same */
}

/* With the default handler, the first report prints the line and aborts. */
static void child_damage(int fd)
{
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	dup2(fd, 2);
	struct bheap_config cfg;
	bheap_config_default(&cfg);
	struct bheap *h = bheap_create(&cfg);
	unsigned char *a = bheap_malloc(h, 64), *b = bheap_malloc(h, 64);
	bheap_free(h, b);
	memset(a + 64, 0x41, 16);
	bheap_malloc(h, 64);
	_exit(0); /* not reached */
}

static void test_heap_damage_default_handler_aborts(void **state)
{
	(void)state;
	char buf[4096];
	int status = run_child(child_damage, buf, sizeof(buf));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(buf, "bheap: malloc(): corrupted free list"));
	assert_non_null(strstr(buf, " at 0x"));
}

/* ------------------------------------------------------------------ */
/* the checker on damaged chunk records                                */
/* ------------------------------------------------------------------ */

/*
 * A chunk record's fields and the idle list's links are checked before the
 * checker reads through them; damage to them is reported with H1 or H3.
 */
static void test_heap_check_damaged_chunk_record(void **state)
{
	(void)state;
	struct err_ctx e = { 0 };
	struct bheap_config cfg = test_config(NULL, &e, 65536);
	struct bheap *h = bheap_create(&cfg);
	void *p = bheap_malloc(h, 100);
	bheap_free(h, p); /* one idle chunk */
	struct buddy_region_info ri;
	assert_int_equal(buddy_region_info(bheap_zone(h), 0, &ri), BUDDY_OK);
	uintptr_t *rec = ri.owner; /* struct bheap_chunk: idle_next, then base */
	const uintptr_t saved[2] = { rec[0], rec[1] };
	size_t problems = 0, blocks = 0;
	rec[0] = (uintptr_t)0xdead0000; /* the idle list's link */
	assert_true(bheap_check(h, quiet_report, &problems) > 0);
	rec[0] = saved[0];
	assert_heap_ok(h);
	rec[1] += 4096; /* the record's base */
	problems = 0;
	assert_true(bheap_check(h, quiet_report, &problems) > 0);
	assert_int_equal(bheap_walk(h, count_blocks, &blocks), 0);
	assert_int_equal(blocks, 0);
	rec[1] = saved[1];
	assert_heap_ok(h);
	bheap_destroy(h);
}

/* The idle list damaged into a loop: the checker reports it and stops. */
static void test_heap_check_idle_list_loop(void **state)
{
	(void)state;
	struct err_ctx e = { 0 };
	struct bheap_config cfg = test_config(NULL, &e, 65536);
	cfg.retain_bytes = 4 * cfg.chunk_bytes; /* both chunks stay, idle */
	struct bheap *h = bheap_create(&cfg);
	void *p = bheap_malloc(h, 40000), *q = bheap_malloc(h, 40000);
	assert_non_null(p);
	assert_non_null(q);
	bheap_free(h, p);
	bheap_free(h, q);
	assert_heap_ok(h); /* two idle chunks, in address order */
	struct buddy_region_info r0, r1;
	assert_int_equal(buddy_region_info(bheap_zone(h), 0, &r0), BUDDY_OK);
	assert_int_equal(buddy_region_info(bheap_zone(h), 1, &r1), BUDDY_OK);
	uintptr_t *first = (uintptr_t)r0.base < (uintptr_t)r1.base ? r0.owner : r1.owner;
	const uintptr_t saved = first[0]; /* struct bheap_chunk: idle_next first */
	size_t problems = 0;
	first[0] = (uintptr_t)first; /* the first idle chunk links to itself */
	assert_true(bheap_check(h, quiet_report, &problems) >= 2); /* order, then count */
	first[0] = saved;
	assert_heap_ok(h);
	assert_int_equal(e.count, 0);
	bheap_destroy(h);
}

/* ------------------------------------------------------------------ */
/* damage met by each kind of call                                     */
/* ------------------------------------------------------------------ */

/* A region whose chunk record went missing: every call on it reports damage. */
static void test_heap_damage_chunk_record_missing(void **state)
{
	(void)state;
	struct err_ctx e = { 0 };
	struct bheap_config cfg = test_config(NULL, &e, 65536);
	struct bheap *h = bheap_create(&cfg);
	void *p = bheap_malloc(h, 100), *q = bheap_malloc(h, 100);
	struct buddy_region_info ri;
	size_t problems = 0;
	assert_int_equal(buddy_region_info(bheap_zone(h), 0, &ri), BUDDY_OK);
	/* The record the region names, lost (as a wild write would lose it). */
	assert_int_equal(buddy_region_set_owner((struct buddy_zone *)bheap_zone(h), ri.base, NULL),
			 BUDDY_OK);
	assert_int_equal(bheap_usable_size(h, p), 0);
	assert_int_equal(e.count, 1);
	assert_int_equal(e.kind, BUDDY_ERR_CORRUPT);
	assert_ptr_equal(e.ptr, p);
	assert_non_null(strstr(e.msg, "bheap: malloc_usable_size(): chunk record missing"));
	assert_null(bheap_realloc(h, q, 10));
	assert_null(bheap_malloc(h, 10));
	bheap_free(h, q);
	assert_int_equal(e.count, 4);
	assert_non_null(strstr(e.msg, "heap corrupted earlier"));
	assert_true(bheap_check(h, quiet_report, &problems) > 0); /* H1 */
	bheap_destroy(h);
}

/* realloc to 0 whose free drains the page cache onto a damaged cached block. */
static void test_heap_damage_found_by_realloc_free(void **state)
{
	(void)state;
	struct damaged d = { 0 };
	damage_links(&d, 1); /* a cache of one block per size: the second free drains */
	assert_null(bheap_realloc(d.h, d.c, 0));
	expect_corrupt(&d, "realloc", 0);
	bheap_destroy(d.h);
}

/* realloc growing into its upper buddy, whose links are damaged. */
static void test_heap_damage_found_by_realloc_grow(void **state)
{
	(void)state;
	struct damaged d = { 0 };
	struct bheap_config cfg = test_config(NULL, &d.e, 65536);
	cfg.cache_blocks = 0;
	d.h = bheap_create(&cfg);
	d.a = bheap_malloc(d.h, 64);
	d.b = bheap_malloc(d.h, 64);
	bheap_malloc(d.h, 128); /* keeps a and b from merging upward */
	bheap_free(d.h, d.b); /* a's buddy, free */
	memset(d.a, 'a', 64);
	memset(d.a + 64, 0x41, 16);
	errno = 0;
	assert_null(bheap_realloc(d.h, d.a, 100)); /* would absorb b in place */
	assert_int_equal(errno, ENOMEM);
	expect_corrupt(&d, "realloc", 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(d.a[i], 'a');
	bheap_destroy(d.h);
}

/*
 * The last free of a chunk: giving the chunk back takes its cached blocks
 * out of the cache, where one has damaged links; that free reports it.
 */
static void test_heap_damage_found_giving_a_chunk_back(void **state)
{
	(void)state;
	struct err_ctx e = { 0 };
	struct bheap_config cfg = test_config(NULL, &e, 65536);
	cfg.retain_bytes = 0;
	struct bheap *h = bheap_create(&cfg);
	unsigned char *a = bheap_malloc(h, 64), *b = bheap_malloc(h, 64);
	bheap_free(h, b); /* cached */
	memset(a + 64, 0x41, 16);
	bheap_free(h, a); /* the chunk is wholly free: it goes back, the cache drained first */
	assert_int_equal(e.count, 1);
	assert_int_equal(e.kind, BUDDY_ERR_CORRUPT);
	assert_string_equal(e.op, "free");
	assert_ptr_equal(e.ptr, b);
	bheap_destroy(h);
}

/* A chunk record the checker cannot find where it must be: H1, and the walk stops. */
static void test_heap_check_record_misplaced(void **state)
{
	(void)state;
	struct bheap_config cfg = test_config(NULL, NULL, 65536);
	struct bheap *h = bheap_create(&cfg);
	void *p = bheap_malloc(h, 100);
	struct buddy_region_info ri;
	size_t problems = 0, blocks = 0;
	assert_int_equal(buddy_region_info(bheap_zone(h), 0, &ri), BUDDY_OK);
	struct buddy_zone *z = (struct buddy_zone *)bheap_zone(h);
	static uintptr_t elsewhere[8];
	assert_int_equal(buddy_region_set_owner(z, ri.base, elsewhere), BUDDY_OK);
	assert_true(bheap_check(h, quiet_report, &problems) > 0);
	assert_int_equal(bheap_walk(h, count_blocks, &blocks), 0);
	assert_int_equal(blocks, 0);
	uintptr_t *rec = ri.owner; /* fields: idle_next, base, bytes, ... side at the end */
	assert_int_equal(buddy_region_set_owner(z, ri.base, rec), BUDDY_OK);
	rec[2] += 16; /* bytes */
	assert_true(bheap_check(h, NULL, NULL) > 0);
	rec[2] -= 16;
	assert_heap_ok(h);
	bheap_free(h, p);
	bheap_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_overflow_past_chunk_hits_guard),
		cmocka_unit_test(test_heap_blocks_end_at_guard),
		cmocka_unit_test(test_heap_damaged_cached_block_reported),
		cmocka_unit_test(test_heap_damaged_free_block_reported),
		cmocka_unit_test(test_heap_damage_found_by_free_reported),
		cmocka_unit_test(test_heap_damage_default_handler_aborts),
		cmocka_unit_test(test_heap_check_damaged_chunk_record),
		cmocka_unit_test(test_heap_check_idle_list_loop),
		cmocka_unit_test(test_heap_damage_chunk_record_missing),
		cmocka_unit_test(test_heap_damage_found_by_realloc_free),
		cmocka_unit_test(test_heap_damage_found_by_realloc_grow),
		cmocka_unit_test(test_heap_damage_found_giving_a_chunk_back),
		cmocka_unit_test(test_heap_check_record_misplaced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
