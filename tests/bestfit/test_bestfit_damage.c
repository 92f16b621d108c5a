/* SPDX-License-Identifier: MIT */
/*
 * test_bestfit_damage.c - a program damaging the best-fit heap's memory:
 * writing past the end of its blocks (into the next header and the first
 * bytes of the next block) and after freeing them (into a free block's
 * tree links). Every case must end with the damage reported as corruption
 * (BUDDY_ERR_CORRUPT, naming the damaged block) before the heap acts on
 * it, or provably harmless; never a crash, never two live blocks that
 * overlap. After a report the heap refuses every change, saying so, and
 * bfit_check and bfit_walk still read it without crashing.
 *
 * Issue cases 1 (silent overlap) and 2 (crashes), each as the issue
 * describes it, then the refusals, the default handler, and random damage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bestfit/bestfit_internal.h"
#include "bfit_test.h"

static _Alignas(16) unsigned char buf[BFIT_DEMO_BYTES];
static struct bfit_test_errors errs;
static struct bfit *h;

static int heap_setup(void **state)
{
	(void)state;
	h = bfit_test_heap(buf, sizeof buf, 0, &errs);
	return h ? 0 : -1;
}

static void put32(void *at, uint32_t v)
{
	memcpy(at, &v, sizeof v);
}

static uint32_t get32(const void *at)
{
	uint32_t v;
	memcpy(&v, at, sizeof v);
	return v;
}

/* The granule index the heap uses for the block whose payload is p (a link's value). */
static uint32_t granule_of(const void *p)
{
	return (uint32_t)(((const unsigned char *)p - h->base) / GRANULE);
}

/* Exactly one report so far, of corruption of the block at `at` (NULL: any). */
static void expect_corrupt(const char *op, const void *at)
{
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.kind, BUDDY_ERR_CORRUPT);
	assert_string_equal(errs.op, op);
	assert_int_equal(bfit_last_error(h), BFIT_ECORRUPT);
	assert_true(strncmp(errs.msg, "bfit: ", 6) == 0);
	assert_non_null(strstr(errs.msg, "corrupted"));
	if (at) {
		char where[40];
		assert_ptr_equal(errs.ptr, at);
		snprintf(where, sizeof where, " at %p", at);
		assert_non_null(strstr(errs.msg, where));
	}
	errs.count = 0;
}

/* Every later call refuses and says so; nothing changes; the checker reads it. */
static void expect_refusals(void *live)
{
	struct bfit_stats before, after;
	size_t problems;

	bfit_get_stats(h, &before);
	errno = 0;
	assert_null(bfit_malloc(h, 10));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.kind, BUDDY_ERR_CORRUPT);
	assert_non_null(strstr(errs.msg, "bfit: malloc(): heap corrupted earlier, no further changes: "));
	errs.count = 0;
	assert_null(bfit_calloc(h, 2, 8));
	assert_null(bfit_aligned_alloc(h, 64, 10));
	assert_null(bfit_realloc(h, live, 100));
	assert_null(bfit_realloc(h, NULL, 100));
	bfit_free(h, live);
	assert_int_equal(bfit_usable_size(h, live), 0);
	assert_int_equal(errs.count, 6); /* one report per call */
	assert_int_equal(errs.kind, BUDDY_ERR_CORRUPT);
	bfit_free(h, NULL); /* nothing to refuse */
	assert_int_equal(errs.count, 6);
	errs.count = 0;
	bfit_get_stats(h, &after);
	assert_memory_equal(&before, &after, sizeof before);
	problems = bfit_check(h, NULL, NULL);
	(void)problems; /* any number: the point is that it returns */
}

/*
 * Cases where a call meets the damage without noticing it (it is harmless
 * to what that call does) cannot run with the full check after every call
 * (BUDDY_DEBUG >= 2, common/debug.h): the check reports the damage first.
 */
#if BUDDY_DEBUG >= 2
#define SKIP_AT_FULL_CHECK()                                                                   \
	do {                                                                                   \
		print_message("skipped at BUDDY_DEBUG >= 2: a call meets the damage unnoticed, " \
			      "and the full check after it traps by design\n");               \
		skip();                                                                        \
	} while (0)
#else
#define SKIP_AT_FULL_CHECK() ((void)0)
#endif

static int overlap(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char *x = a, *y = b;
	return x < y + blen && y < x + alen;
}

/* ------------------------------------------------------------------ */
/* case 1: overflows that used to give overlapping blocks silently      */
/* ------------------------------------------------------------------ */

/* Four bytes past a double b's size in its header; free b. */
static void test_bestfit_damage_size_doubled(void **state)
{
	char *a = bfit_malloc(h, 28), *b = bfit_malloc(h, 28), *c = bfit_malloc(h, 28);

	(void)state;
	assert_ptr_equal(b, a + 32);
	memset(c, 'c', 28);
	put32(a + 28, get32(a + 28) * 2 - 1); /* size 2 -> 4 granules, allocated bit kept */
	bfit_free(h, b);
	expect_corrupt("free", b);
	expect_refusals(c);
	for (int i = 0; i < 28; i++)
		assert_int_equal(c[i], 'c');
}

/*
 * A header claiming a size that ends elsewhere than the next block: a few
 * words away with a block starting between, inside a block far away, at a
 * far block with another between, and at the end of the heap (the last
 * block's record says it is not). Each found by the free before it acts.
 */
static void test_bestfit_damage_size_claims_far(void **state)
{
	static _Alignas(16) unsigned char big[64u << 10];

	(void)state;
	for (int v = 0; v < 4; v++) {
		h = bfit_test_heap(big, sizeof big, 0, &errs);
		assert_non_null(h);
		char *a = bfit_malloc(h, 20), *mid = bfit_malloc(h, 8000), *c = bfit_malloc(h, 20);
		assert_non_null(a);
		assert_non_null(mid);
		assert_non_null(c);
		uint32_t ga = granule_of(a), claim;
		switch (v) {
		case 0: claim = 100; break;
		case 1: claim = 300; break;
		case 2: claim = granule_of(c) - ga; break;
		default: claim = h->granules + 1 - ga; break;
		}
		memset(c, 'c', 20);
		put32(a - 4, claim << HDR_SHIFT | (get32(a - 4) & HDR_FLAGS));
		bfit_free(h, a);
		expect_corrupt("free", a);
		expect_refusals(c);
		for (int i = 0; i < 20; i++)
			assert_int_equal(c[i], 'c');
	}
}

/* A one-bit overflow clears c's allocated bit: b's free must not merge into c. */
static void test_bestfit_damage_alloc_bit_cleared(void **state)
{
	char *a = bfit_malloc(h, 28), *b = bfit_malloc(h, 28), *c = bfit_malloc(h, 28);
	char *d;

	(void)state;
	SKIP_AT_FULL_CHECK();
	(void)a;
	memset(c, 'c', 28);
	put32(b + 28, get32(b + 28) & ~1u); /* c's header: "free" */
	bfit_free(h, b); /* harmless: the free bitmap says c is in use */
	assert_int_equal(errs.count, 0);
	d = bfit_malloc(h, 60);
	assert_non_null(d);
	assert_false(overlap(d, bfit_usable_size(h, d), c, 28));
	for (int i = 0; i < 28; i++)
		assert_int_equal(c[i], 'c');
	bfit_free(h, c); /* its header is used now: the damage is found */
	expect_corrupt("free", c);
	expect_refusals(d);
}

/*
 * The previous-block-free bit set with a fake boundary tag: the bit is only
 * a hint, the free bitmap says b is in use, so c's free merges nothing and
 * every block stays where it is.
 */
static void test_bestfit_damage_fake_prev_free(void **state)
{
	char *a = bfit_malloc(h, 28), *b = bfit_malloc(h, 28), *c = bfit_malloc(h, 28), *d;

	(void)state;
	SKIP_AT_FULL_CHECK(); /* the free meets the damaged bit unnoticed: it is harmless */
	bfit_malloc(h, 28); /* keeps c from merging into the top */
	memset(a, 'a', 28);
	memset(b, 'b', 24);
	put32(b + 24, 2); /* a "boundary tag" claiming b is a free block of 2 granules */
	put32(b + 28, get32(b + 28) | HDR_PREV_FREE);
	bfit_free(h, c);
	assert_int_equal(errs.count, 0);
	d = bfit_malloc(h, 28); /* c's block again, not one over b */
	assert_ptr_equal(d, c);
	for (int i = 0; i < 28; i++)
		assert_int_equal(a[i], 'a');
	for (int i = 0; i < 24; i++)
		assert_int_equal(b[i], 'b');
}

/* A free neighbour's size enlarged over a live block: found by malloc or by a merge. */
static void test_bestfit_damage_free_size_enlarged(void **state)
{
	char *a = bfit_malloc(h, 28), *b = bfit_malloc(h, 28), *c = bfit_malloc(h, 28);
	char *guard = bfit_malloc(h, 28);

	(void)state;
	(void)guard;
	memset(c, 'c', 28);
	bfit_free(h, b); /* b: a free block of 2 granules */
	put32(a + 28, 4u << 2); /* b "free, 4 granules": over c */
	assert_null(bfit_malloc(h, 60)); /* b is the best fit for 4 granules */
	expect_corrupt("malloc", b);
	expect_refusals(c);
	for (int i = 0; i < 28; i++)
		assert_int_equal(c[i], 'c');

	heap_setup(NULL);
	a = bfit_malloc(h, 28), b = bfit_malloc(h, 28);
	bfit_malloc(h, 28); /* c, live after b */
	bfit_free(h, b);
	put32(a + 28, 4u << 2);
	bfit_free(h, a); /* a merges with b: b's header is checked first */
	expect_corrupt("free", b);
}

/* A freed block's tree link pointed at a live block. */
static void test_bestfit_damage_link_to_live_block(void **state)
{
	char *a = bfit_malloc(h, 28), *b = bfit_malloc(h, 28), *c = bfit_malloc(h, 60);
	char *d = bfit_malloc(h, 28), *got[8];
	int n = 0;

	(void)state;
	SKIP_AT_FULL_CHECK();
	(void)a;
	(void)d;
	memset(c, 'c', 60);
	bfit_free(h, b);
	put32(b, granule_of(c)); /* left child: the live block c */
	put32(b + 4, granule_of(c)); /* right child too */
	/* Allocate until the damage is met; nothing may land on c. */
	while (n < 8 && errs.count == 0) {
		got[n] = bfit_malloc(h, 12 + (size_t)n * 16);
		if (!got[n])
			break;
		assert_false(overlap(got[n], bfit_usable_size(h, got[n]), c, 64));
		n++;
	}
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.kind, BUDDY_ERR_CORRUPT);
	errs.count = 0;
	for (int i = 0; i < 60; i++)
		assert_int_equal(c[i], 'c');
	expect_refusals(c);
}

/* ------------------------------------------------------------------ */
/* case 2: damage that used to crash                                    */
/* ------------------------------------------------------------------ */

/* 0xff over the tree links of a free block, then malloc: reported, no crash. */
static void test_bestfit_damage_links_ff(void **state)
{
	char *p[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		p[i] = bfit_malloc(h, 100);
	bfit_free(h, p[0]);
	bfit_free(h, p[2]);
	memset(p[2], 0xff, 8);
	assert_null(bfit_malloc(h, 100));
	expect_corrupt("malloc", NULL);
	expect_refusals(p[1]);
}

/*
 * 0x7f over the last bytes of a free block (where its boundary tag was):
 * the heap keeps no tags, so the free of its neighbour merges correctly.
 */
static void test_bestfit_damage_old_tag_harmless(void **state)
{
	char *a = bfit_malloc(h, 100), *b = bfit_malloc(h, 100), *c = bfit_malloc(h, 100);
	char *d = bfit_malloc(h, 100);

	(void)state;
	memset(a, 'a', 100);
	memset(d, 'd', 100);
	bfit_free(h, b);
	memset(b + 104, 0x7f, 4); /* the last 4 bytes of b's 112-byte block */
	bfit_free(h, c);
	assert_int_equal(errs.count, 0);
	assert_int_equal(bfit_test_check(h), 0);
	assert_true(bfit_test_layout(h, "A112 F224 A112 F*"));
	for (int i = 0; i < 100; i++)
		assert_true(a[i] == 'a' && d[i] == 'd');
}

/* A link made into a cycle: the descent gives up instead of looping. */
static void test_bestfit_damage_link_cycle(void **state)
{
	char *p[6];

	(void)state;
	SKIP_AT_FULL_CHECK();
	for (int i = 0; i < 6; i++)
		p[i] = bfit_malloc(h, 40);
	bfit_free(h, p[1]);
	bfit_free(h, p[3]);
	put32(p[1], granule_of(p[1])); /* both children: itself */
	put32(p[1] + 4, granule_of(p[1]));
	put32(p[3], granule_of(p[1]));
	put32(p[3] + 4, granule_of(p[1]));
	for (int i = 0; i < 4 && errs.count == 0; i++)
		bfit_malloc(h, 12 + (size_t)i * 50);
	expect_corrupt("malloc", NULL);
	assert_true(bfit_check(h, NULL, NULL) > 0);
}

/* ------------------------------------------------------------------ */
/* each call meets damage                                              */
/* ------------------------------------------------------------------ */

/* The tree's root made to lead outside the area: any walk of the tree meets it. */
static void damage_root(void)
{
	put32(blk_left(h, h->root), 0xffffffffu);
	put32(blk_right(h, h->root), 0xffffffffu);
}

/* realloc shrinking a block whose right neighbour's header is damaged: nothing changes. */
static void test_bestfit_damage_realloc_shrink_refused(void **state)
{
	char *a = bfit_malloc(h, 200), *b = bfit_malloc(h, 28);

	(void)state;
	bfit_malloc(h, 28); /* keeps b from merging into the top */
	memset(a, 'a', 200);
	bfit_free(h, b); /* a's right neighbour: free */
	put32(a + 204, get32(a + 204) + (1u << HDR_SHIFT)); /* its size, one granule more */
	errno = 0;
	assert_null(bfit_realloc(h, a, 20));
	assert_int_equal(errno, ENOMEM);
	expect_corrupt("realloc", b);
	for (int i = 0; i < 200; i++)
		assert_int_equal(a[i], 'a');
}

/* realloc shrinking, the tail then meeting a damaged tree: the shrink stands, reported. */
static void test_bestfit_damage_realloc_shrink_tail_lost(void **state)
{
	char *x = bfit_malloc(h, 28), *a = bfit_malloc(h, 200);

	(void)state;
	bfit_malloc(h, 28); /* a's right neighbour: in use, so the tail does not merge */
	bfit_free(h, x); /* a node in the tree to damage */
	memset(a, 'a', 200);
	damage_root();
	assert_ptr_equal(bfit_realloc(h, a, 20), a);
	expect_corrupt("realloc", NULL);
	for (int i = 0; i < 20; i++)
		assert_int_equal(a[i], 'a');
}

/* realloc growing into a right neighbour whose header, or whose tree, is damaged. */
static void test_bestfit_damage_realloc_grow(void **state)
{
	char *a = bfit_malloc(h, 28), *b = bfit_malloc(h, 100);

	(void)state;
	bfit_malloc(h, 28);
	bfit_free(h, b);
	put32(a + 28, 3u << HDR_SHIFT); /* b: 7 granules, now "3" */
	assert_null(bfit_realloc(h, a, 60));
	expect_corrupt("realloc", b);

	heap_setup(NULL);
	a = bfit_malloc(h, 28), b = bfit_malloc(h, 100);
	bfit_malloc(h, 28);
	bfit_free(h, b);
	damage_root();
	assert_null(bfit_realloc(h, a, 60)); /* b must leave the tree: it cannot be found */
	expect_corrupt("realloc", NULL);
}

/* realloc moving: the old block's left neighbour is damaged; the new block is the result. */
static void test_bestfit_damage_realloc_move(void **state)
{
	char *l = bfit_malloc(h, 28), *a = bfit_malloc(h, 28), *q;

	(void)state;
	SKIP_AT_FULL_CHECK(); /* the moving realloc's own malloc returns before the damage is met */
	bfit_malloc(h, 28); /* in use after a: a cannot grow */
	memset(a, 'a', 28);
	bfit_free(h, l);
	put32(l - 4, 5u << HDR_SHIFT); /* l's header: free, wrong size */
	q = bfit_realloc(h, a, 300);
	assert_non_null(q);
	expect_corrupt("realloc", l);
	for (int i = 0; i < 28; i++)
		assert_int_equal(q[i], 'a');
}

/* realloc of a block whose own header is damaged: NULL with ENOMEM, reported. */
static void test_bestfit_damage_realloc_own_header(void **state)
{
	char *a = bfit_malloc(h, 28), *b = bfit_malloc(h, 28);

	(void)state;
	put32(a + 28, 7u << HDR_SHIFT | HDR_ALLOC);
	errno = 0;
	assert_null(bfit_realloc(h, b, 10));
	assert_int_equal(errno, ENOMEM);
	expect_corrupt("realloc", b);
}

/* aligned_alloc and free meeting a damaged tree. */
static void test_bestfit_damage_tree_met(void **state)
{
	char *a = bfit_malloc(h, 28), *b, *c;

	(void)state;
	for (int i = 0; i < 3; i++)
		bfit_malloc(h, 28);
	bfit_free(h, a);
	damage_root();
	assert_null(bfit_aligned_alloc(h, 256, 10));
	expect_corrupt("aligned_alloc", NULL);

	heap_setup(NULL);
	a = bfit_malloc(h, 28), b = bfit_malloc(h, 28), c = bfit_malloc(h, 28);
	bfit_malloc(h, 28);
	bfit_free(h, a);
	bfit_free(h, c);
	damage_root();
	bfit_free(h, b); /* merges with a: a must leave the tree */
	expect_corrupt("free", NULL);
}

/* xorshift64*, for reproducible random tests. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

/*
 * The start bitmap's searches beyond one word, through the summary levels,
 * against a plain scan, on a heap of 4 MiB (four levels) with start bits
 * set and cleared at random; and a damaged summary bit that leads to an
 * empty word answers "none" (no header can then agree), never a wrong
 * start.
 */
static void test_bestfit_bitmap_searches(void **state)
{
	static _Alignas(16) unsigned char big[4u << 20];
	struct bfit *saved = h;
	const int rounds = bfit_test_light() ? 300 : 3000;

	(void)state;
	h = bfit_init(big, sizeof big, NULL, NULL);
	assert_true(h->nlevels >= 3);
	for (int r = 0; r < rounds; r++) {
		uint32_t g = 2 + (uint32_t)(rng() % (h->granules - 1)), x, want;
		if (rng() % 3)
			start_set(h, g);
		else if (g <= h->granules)
			start_clear(h, g);
		x = 1 + (uint32_t)(rng() % h->granules);
		for (want = x; !is_start(h, want); want++)
			;
		assert_int_equal(next_start(h, x), want);
		for (want = x; !is_start(h, want); want--)
			;
		assert_int_equal(prev_start(h, x), want);
	}
	/* Clear everything but granule 1 and the sentinel: the longest searches. */
	for (uint32_t g = 2; g <= h->granules; g++)
		if (is_start(h, g))
			start_clear(h, g);
	assert_int_equal(next_start(h, 2), h->granules + 1);
	assert_int_equal(prev_start(h, h->granules), 1);
	/* A summary bit set over an empty word, found searching either way. */
	h->summary[0] |= (uint64_t)1 << 7;
	assert_int_equal(bfit_next_start_far(h, 2), h->granules + 2);
	assert_int_equal(bfit_prev_start_far(h, 64 * 12 + 5), 0);
	h->summary[0] &= ~((uint64_t)1 << 7);
	h = saved;
}

/* ------------------------------------------------------------------ */
/* the default handler, and random damage                              */
/* ------------------------------------------------------------------ */

static void child_damage(void)
{
	struct bfit *d = bfit_init(buf, sizeof buf, NULL, NULL);
	char *a = bfit_malloc(d, 28), *b = bfit_malloc(d, 28);

	bfit_malloc(d, 28);
	put32(a + 28, get32(a + 28) * 2 - 1);
	bfit_free(d, b); /* prints and aborts */
}

static void test_bestfit_damage_default_handler_aborts(void **state)
{
	char out[1024];
	int status;

	(void)state;
	status = bfit_test_child(child_damage, out, sizeof out);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(out, "bfit: free(): corrupted block header at 0x"));
}

static int walk_nothing(void *arg, const struct bfit_block *b)
{
	(void)b;
	++*(int *)arg;
	return 0;
}

/*
 * Random bytes written into headers, links and free memory (everything
 * from the first block's header to the sentinel), then random calls: the
 * heap reports corruption or keeps every live block intact and apart,
 * and the checker, the walk and the statistics always return.
 */
static void test_bestfit_damage_random(void **state)
{
	const int rounds = bfit_test_light() ? 150 : 1500;

	(void)state;
	SKIP_AT_FULL_CHECK();
	for (int round = 0; round < rounds; round++) {
		char *live[16];
		size_t size[16];
		int nlive = 0;
		struct bfit_stats st;
		unsigned char *lo, *hi;

		heap_setup(NULL);
		for (int i = 0; i < 16; i++) {
			size[nlive] = (size_t)(rng() % 200);
			live[nlive] = bfit_malloc(h, size[nlive]);
			if (live[nlive]) {
				memset(live[nlive], nlive + 1, size[nlive]);
				nlive++;
			}
		}
		for (int i = 0; i < nlive; i += 2) { /* every other one freed */
			bfit_free(h, live[i]);
			live[i] = NULL;
		}
		lo = h->base + GRANULE - BFIT_HEADER_BYTES; /* the first header */
		hi = h->base + (size_t)(h->granules + 1) * GRANULE; /* past the sentinel's */
		for (int w = 0; w < 1 + (int)(rng() % 4); w++) {
			/* bytes in free memory or headers, never inside a live block's data */
			unsigned char *at = lo + rng() % (size_t)(hi - lo);
			int inside = 0;
			for (int i = 0; i < nlive; i++)
				if (live[i] && at >= (unsigned char *)live[i] &&
				    at < (unsigned char *)live[i] + size[i])
					inside = 1;
			if (!inside)
				*at = (unsigned char)rng();
		}
		for (int op = 0; op < 12 && !errs.count; op++) {
			int i = (int)(rng() % (uint64_t)nlive);
			if (live[i]) {
				bfit_free(h, live[i]);
				live[i] = NULL;
			} else {
				size[i] = (size_t)(rng() % 300);
				live[i] = bfit_malloc(h, size[i]);
				if (live[i])
					memset(live[i], i + 1, size[i]);
			}
			for (int x = 0; x < nlive && !errs.count; x++) {
				if (!live[x])
					continue;
				for (size_t k = 0; k < size[x]; k++)
					assert_int_equal((unsigned char)live[x][k], x + 1);
				for (int y = x + 1; y < nlive; y++)
					if (live[y])
						assert_false(overlap(live[x], size[x], live[y], size[y]));
			}
		}
		int blocks = 0;
		(void)bfit_check(h, NULL, NULL);
		bfit_walk(h, walk_nothing, &blocks);
		bfit_get_stats(h, &st);
		assert_true(blocks > 0);
		if (errs.count)
			assert_int_equal(errs.kind, BUDDY_ERR_CORRUPT);
	}
}

#define T(name) cmocka_unit_test_setup(name, heap_setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bestfit_damage_size_doubled),
		T(test_bestfit_damage_size_claims_far),
		T(test_bestfit_damage_alloc_bit_cleared),
		T(test_bestfit_damage_fake_prev_free),
		T(test_bestfit_damage_free_size_enlarged),
		T(test_bestfit_damage_link_to_live_block),
		T(test_bestfit_damage_links_ff),
		T(test_bestfit_damage_old_tag_harmless),
		T(test_bestfit_damage_link_cycle),
		T(test_bestfit_damage_realloc_shrink_refused),
		T(test_bestfit_damage_realloc_shrink_tail_lost),
		T(test_bestfit_damage_realloc_grow),
		T(test_bestfit_damage_realloc_move),
		T(test_bestfit_damage_realloc_own_header),
		T(test_bestfit_damage_tree_met),
		T(test_bestfit_bitmap_searches),
		T(test_bestfit_damage_default_handler_aborts),
		T(test_bestfit_damage_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
