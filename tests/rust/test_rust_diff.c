/* SPDX-License-Identifier: MIT */
/*
 * test_rust_diff.c - differential test of the Rust port (rust/, through
 * its C ABI) against the C page allocator core.
 *
 * A fixed-seed xorshift64* generator drives the same random operation
 * sequence on a C zone and a Rust zone given the same regions (same
 * lengths, the same metadata placement) in separate memory: allocations by
 * order and exact size (with and without BUDDY_ZERO), the three frees,
 * resizes, size lookups, bad calls (wrong order or count, double, interior,
 * misaligned, outside and NULL pointers), regions added (good and bad:
 * misaligned, too small, overlapping, bad metadata) and removed (busy or
 * not), cache drains. After every operation the two must agree exactly:
 *
 *   - every status, returned address (as region slot + offset from its
 *     base) and alloc_size;
 *   - the statistics, the buddyinfo line and the whole block walk;
 *   - the fragmentation and unusable indices of one order, the region info
 *     and owners, alloc_info of a random address;
 *   - every damage report (kind, op, pointer and message, addresses made
 *     relative): none in correct use;
 *   - both integrity checks find nothing (every CHECK_EVERY operations and
 *     at the end: they cost more than everything else together).
 *
 * Configurations: page sizes 16, 64, 256, 512 and 4096, max order capped and
 * automatic, poisoning on and off; the first test's zones have no page
 * cache (every free merges), the second's have one. A third test damages
 * the same free-list link in both zones and checks that both stop with the
 * same statuses, the same report and the same check findings, word for word
 * (addresses made relative).
 *
 * BUDDY_DIFF_OPS sets the first test's operation count (default 1,000,000;
 * the page-cache test runs a quarter of it).
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
#include "buddy/rust.h"

#define NR_SLOTS 4
#define MAX_PAGES 300  /* largest region, in pages */
#define MAX_LIVE 600
#define MAX_EXACT 70
#define MAX_BLOCKS (NR_SLOTS * MAX_PAGES)
#define CHECK_EVERY 8  /* operations between the (costly) integrity checks */

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
	unsigned char *c_mem, *r_mem;   /* MAX_PAGES pages (+ a spare page) in the pools */
	unsigned char *c_meta, *r_meta; /* separate metadata buffers */
	size_t len;                     /* bytes handed to the zones; 0 = slot unused */
};

struct live {
	int slot;
	size_t off;     /* from the slot's base */
	size_t npages;  /* pages held */
	unsigned order; /* order it was allocated (or resized) with */
	int exact;      /* made by alloc_pages_exact with a count not a power of two */
};

/* One walk entry, addresses made relative. */
struct wblk {
	int slot;
	size_t off;
	unsigned region, order;
	size_t page;
	int state, first;
};

struct diff_cfg {
	size_t ps;
	unsigned max_order; /* BUDDY_MAX_ORDER_AUTO or a cap */
	unsigned pcp_high, pcp_max_order;
	int poison;
};

struct diff {
	struct diff_cfg cfg;
	struct buddy_zone c;
	struct brust_zone *r;
	unsigned cap; /* largest order requests use */
	unsigned char *c_pool, *r_pool; /* the slots' arenas, one after another */
	struct slot slots[NR_SLOTS];
	struct live live[MAX_LIVE];
	size_t nr_live;
	struct wblk cw[MAX_BLOCKS], rw[MAX_BLOCKS];
	size_t ncw, nrw;
	int c_reports, r_reports; /* damage callbacks seen */
	char c_report[256], r_report[256]; /* the last one, addresses made relative */
};


/* ------------------------------------------------------------------ */
/* addresses                                                           */
/* ------------------------------------------------------------------ */

/* Slot and offset of a C (rust = 0) or Rust (rust = 1) address; slot -1 if in no arena. */
static int where(const struct diff *d, const void *p, int rust, size_t *off)
{
	const unsigned char *a = p;
	for (int s = 0; s < NR_SLOTS; s++) {
		const unsigned char *m = rust ? d->slots[s].r_mem : d->slots[s].c_mem;
		if (a >= m && a < m + (MAX_PAGES + 1) * d->cfg.ps) {
			*off = (size_t)(a - m);
			return s;
		}
	}
	*off = (size_t)(uintptr_t)p;
	return -1;
}

static void expect_same_addr(const struct diff *d, const void *cp, const void *rp, const char *what)
{
	size_t co = 0, ro = 0;
	if (!cp || !rp) {
		if (cp != rp)
			fail_msg("%s: C returned %p, Rust %p", what, cp, rp);
		return;
	}
	int cs = where(d, cp, 0, &co), rs = where(d, rp, 1, &ro);
	if (cs != rs || co != ro)
		fail_msg("%s: C gave slot %d offset %zu, Rust slot %d offset %zu", what, cs, co, rs, ro);
}

/* ------------------------------------------------------------------ */
/* comparing everything observable                                     */
/* ------------------------------------------------------------------ */

/* Record one walk entry of the C (rust = 0) or Rust zone; stop when full. */
static int walk_add(struct diff *d, int rust, const void *addr, unsigned region, size_t page,
		    unsigned order, int state, int first)
{
	struct wblk *w = rust ? &d->rw[d->nrw++] : &d->cw[d->ncw++];
	*w = (struct wblk){ .region = region, .page = page, .order = order, .state = state,
			    .first = first };
	w->slot = where(d, addr, rust, &w->off);
	return (rust ? d->nrw : d->ncw) == MAX_BLOCKS;
}

static int c_walk_fn(void *arg, const struct buddy_block *b)
{
	return walk_add(arg, 0, b->addr, b->region, b->page, b->order, (int)b->state, b->first);
}

static int r_walk_fn(void *arg, const struct brust_block *b)
{
	return walk_add(arg, 1, b->addr, b->region, b->page, b->order, b->state, b->first);
}

static void report_fail(void *arg, const char *msg)
{
	fail_msg("%s check: %s", (const char *)arg, msg);
}

static void compare_stats(const struct diff *d)
{
	struct buddy_stats c;
	struct brust_stats r;
	buddy_get_stats(&d->c, &c);
	brust_get_stats(d->r, &r);
	assert_int_equal(c.page_size, r.page_size);
	assert_int_equal(c.max_order, r.max_order);
	assert_int_equal(c.nr_regions, r.nr_regions);
	assert_int_equal(c.total_pages, r.total_pages);
	assert_int_equal(c.free_pages, r.free_pages);
	assert_int_equal(c.cached_pages, r.cached_pages);
	assert_int_equal(c.used_pages, r.used_pages);
	assert_int_equal(c.peak_used_pages, r.peak_used_pages);
	assert_int_equal(c.meta_bytes, r.meta_bytes);
	for (unsigned k = 0; k < BUDDY_NR_ORDERS; k++)
		assert_int_equal(c.nr_free[k], r.nr_free[k]);
	for (unsigned k = 0; k < BUDDY_NR_PCP_ORDERS; k++)
		assert_int_equal(c.nr_cached[k], r.nr_cached[k]);
	assert_int_equal(c.allocs, r.allocs);
	assert_int_equal(c.frees, r.frees);
	assert_int_equal(c.failures, r.failures);
}

static void compare_walks(struct diff *d)
{
	d->ncw = d->nrw = 0;
	assert_int_equal(buddy_walk(&d->c, c_walk_fn, d), 0);
	assert_int_equal(brust_walk(d->r, r_walk_fn, d), 0);
	assert_int_equal(d->ncw, d->nrw);
	for (size_t i = 0; i < d->ncw; i++) {
		const struct wblk *c = &d->cw[i], *r = &d->rw[i];
		if (c->slot != r->slot || c->off != r->off || c->region != r->region ||
		    c->page != r->page || c->order != r->order || c->state != r->state ||
		    c->first != r->first)
			fail_msg("walk differs at block %zu: C region %u page %zu order %u state %d "
				 "first %d (slot %d +%zu), Rust region %u page %zu order %u state %d "
				 "first %d (slot %d +%zu)", i, c->region, c->page, c->order, c->state,
				 c->first, c->slot, c->off, r->region, r->page, r->order, r->state,
				 r->first, r->slot, r->off);
	}
}

static void compare_all(struct diff *d, int checks)
{
	char cl[1024], rl[1024];
	size_t cn = buddy_buddyinfo(&d->c, cl, sizeof(cl));
	size_t rn = brust_buddyinfo(d->r, rl, sizeof(rl));
	assert_int_equal(cn, rn);
	assert_string_equal(cl, rl);
	compare_stats(d);
	compare_walks(d);
	assert_int_equal(buddy_last_error(&d->c), brust_last_error(d->r));
	unsigned k = (unsigned)rng_below(BUDDY_NR_ORDERS + 1);
	assert_int_equal(buddy_fragmentation_index(&d->c, k), brust_fragmentation_index(d->r, k));
	assert_int_equal(buddy_unusable_index(&d->c, k), brust_unusable_index(d->r, k));
	struct buddy_region_info ci;
	struct brust_region_info ri;
	unsigned i = (unsigned)rng_below(NR_SLOTS + 1);
	int cst = buddy_region_info(&d->c, i, &ci), rst = brust_region_info(d->r, i, &ri);
	assert_int_equal(cst, rst);
	if (cst == BUDDY_OK) {
		expect_same_addr(d, ci.base, ri.base, "region_info base");
		assert_int_equal(ci.nr_pages, ri.nr_pages);
		assert_int_equal(ci.free_pages, ri.free_pages);
		assert_int_equal(ci.cached_pages, ri.cached_pages);
		assert_int_equal(ci.id, ri.id);
		assert_int_equal(ci.max_order, ri.max_order);
		assert_int_equal(ci.meta_bytes, ri.meta_bytes);
		assert_ptr_equal(ci.owner, ri.owner);
	}
	assert_int_equal(d->c_reports, d->r_reports);
	assert_string_equal(d->c_report, d->r_report);
	if (checks) {
		assert_int_equal(buddy_check(&d->c, report_fail, "C"), 0);
		assert_int_equal(brust_check(d->r, report_fail, "Rust"), 0);
	}
}

/* ------------------------------------------------------------------ */
/* set-up                                                              */
/* ------------------------------------------------------------------ */

/*
 * A message with every address in it ("0x...") written as slot+offset, so
 * that the C zone's and the Rust zone's messages compare equal.
 */
static void relative_text(const struct diff *d, int rust, const char *msg, char *out, size_t size)
{
	size_t n = 0;
	while (*msg && n + 40 < size) {
		if (msg[0] == '0' && msg[1] == 'x') {
			char *end;
			uintptr_t a = (uintptr_t)strtoull(msg + 2, &end, 16);
			size_t off;
			int s = where(d, (const void *)a, rust, &off);
			n += (size_t)snprintf(out + n, size - n, s < 0 ? "(outside)" : "s%d+%zu", s, off);
			msg = end;
		} else {
			out[n++] = *msg++;
		}
	}
	out[n] = '\0';
}

/* A damage report: the kind, the op, the pointer (relative) and the message. */
static void damage_note(struct diff *d, int rust, int kind, const char *op, const void *ptr,
			const char *msg)
{
	char rel[200];
	size_t off;
	int s = where(d, ptr, rust, &off);
	relative_text(d, rust, msg, rel, sizeof(rel));
	snprintf(rust ? d->r_report : d->c_report, sizeof(d->c_report), "%d %s s%d+%zu %s", kind, op,
		 s, off, rel);
	(*(rust ? &d->r_reports : &d->c_reports))++;
}

static void c_damage(void *arg, int kind, const char *op, const void *ptr, const char *msg)
{
	damage_note(arg, 0, kind, op, ptr, msg);
}

static void r_damage(void *arg, int kind, const char *op, const void *ptr, const char *msg)
{
	damage_note(arg, 1, kind, op, ptr, msg);
}

static void diff_init(struct diff *d, const struct diff_cfg *cfg)
{
	struct buddy_config cc;
	struct brust_config rc;
	int st = -1;

	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	buddy_config_default(&cc);
	brust_config_default(&rc);
	cc.page_size = rc.page_size = cfg->ps;
	cc.max_order = rc.max_order = cfg->max_order;
	cc.pcp_high = rc.pcp_high = cfg->pcp_high;
	cc.pcp_max_order = rc.pcp_max_order = cfg->pcp_max_order;
	cc.poison = rc.poison = cfg->poison;
	cc.on_error = c_damage;
	cc.error_arg = d;
	rc.on_error = r_damage;
	rc.error_arg = d;
	assert_int_equal(buddy_zone_init(&d->c, &cc), BUDDY_OK);
	d->r = brust_zone_create(&rc, &st);
	assert_non_null(d->r);
	assert_int_equal(st, 0);
	/* Requests go up to the largest order a region can have, and one past it. */
	unsigned top = 31 - (unsigned)__builtin_clz(MAX_PAGES);
	d->cap = cfg->max_order < top ? cfg->max_order : top;
	/* One pool per zone, slot s at the same offset in both: regions are kept
	 * in address order, so both zones must see the slots in the same order. */
	size_t align = cfg->ps < 64 ? 64 : cfg->ps;
	size_t arena = (MAX_PAGES + 1) * cfg->ps;
	d->c_pool = aligned_alloc(align, NR_SLOTS * arena);
	d->r_pool = aligned_alloc(align, NR_SLOTS * arena);
	assert_true(d->c_pool && d->r_pool);
	for (int s = 0; s < NR_SLOTS; s++) {
		struct slot *sl = &d->slots[s];
		sl->c_mem = d->c_pool + (size_t)s * arena;
		sl->r_mem = d->r_pool + (size_t)s * arena;
		sl->c_meta = aligned_alloc(64, 8192);
		sl->r_meta = aligned_alloc(64, 8192);
		assert_true(sl->c_meta && sl->r_meta);
		sl->len = 0;
	}
}

static void diff_release(struct diff *d)
{
	brust_zone_destroy(d->r);
	free(d->c_pool);
	free(d->r_pool);
	for (int s = 0; s < NR_SLOTS; s++) {
		free(d->slots[s].c_meta);
		free(d->slots[s].r_meta);
	}
}

/* ------------------------------------------------------------------ */
/* operations                                                          */
/* ------------------------------------------------------------------ */

static void live_add(struct diff *d, const void *cp, size_t npages, unsigned order, int exact)
{
	if (!cp)
		return;
	assert_true(d->nr_live < MAX_LIVE);
	struct live *l = &d->live[d->nr_live++];
	l->slot = where(d, cp, 0, &l->off);
	assert_true(l->slot >= 0);
	l->npages = npages;
	l->order = order;
	l->exact = exact;
}

static void live_drop(struct diff *d, size_t i)
{
	d->live[i] = d->live[--d->nr_live];
}

/* Drop the live entry starting at C address cp, if any (a random free that hit one). */
static void live_drop_at(struct diff *d, const void *cp)
{
	size_t off;
	int s = where(d, cp, 0, &off);
	for (size_t i = 0; i < d->nr_live; i++)
		if (d->live[i].slot == s && d->live[i].off == off) {
			live_drop(d, i);
			return;
		}
	fail_msg("a free of slot %d offset %zu succeeded, but nothing starts there", s, off);
}

static unsigned char *c_addr(const struct diff *d, const struct live *l)
{
	return d->slots[l->slot].c_mem + l->off;
}

static unsigned char *r_addr(const struct diff *d, const struct live *l)
{
	return d->slots[l->slot].r_mem + l->off;
}

/* Fill both copies of a new allocation with the same bytes; check BUDDY_ZERO. */
static void touch(const struct diff *d, unsigned char *cp, unsigned char *rp, size_t npages, int zero)
{
	size_t n = npages * d->cfg.ps;
	if (!cp)
		return;
	if (zero)
		for (size_t i = 0; i < n; i += 7)
			if (cp[i] || rp[i])
				fail_msg("zeroed allocation holds a nonzero byte at %zu", i);
	memset(cp, 0x5c, n < 64 ? n : 64);
	memset(rp, 0x5c, n < 64 ? n : 64);
	cp[n - 1] = rp[n - 1] = 0x3a;
}

static size_t random_offset(const struct diff *d, int s);
static int random_used_slot(const struct diff *d);

static void op_alloc(struct diff *d)
{
	unsigned order = (unsigned)rng_below(d->cap + 2);
	unsigned flags = rng_below(8) == 0 ? BUDDY_ZERO : 0;
	void *cp = buddy_alloc_pages(&d->c, order, flags);
	void *rp = brust_alloc_pages(d->r, order, flags);
	expect_same_addr(d, cp, rp, "alloc_pages");
	if (d->nr_live < MAX_LIVE - 1) {
		touch(d, cp, rp, (size_t)1 << order, flags != 0);
		live_add(d, cp, (size_t)1 << order, order, 0);
	} else if (cp) {
		assert_int_equal(buddy_free(&d->c, cp), BUDDY_OK);
		assert_int_equal(brust_free(d->r, rp), BUDDY_OK);
	}
}

static void op_alloc_exact(struct diff *d)
{
	size_t n = rng_below(16) == 0 ? (rng_below(2) ? 0 : ((size_t)1 << 31) + 1) : 1 + rng_below(MAX_EXACT);
	unsigned flags = rng_below(8) == 0 ? BUDDY_ZERO : 0;
	void *cp = buddy_alloc_pages_exact(&d->c, n, flags);
	void *rp = brust_alloc_pages_exact(d->r, n, flags);
	expect_same_addr(d, cp, rp, "alloc_pages_exact");
	unsigned order = n <= 1 ? 0 : 32 - (unsigned)__builtin_clz((unsigned)(n - 1));
	if (d->nr_live < MAX_LIVE - 1) {
		touch(d, cp, rp, n, flags != 0);
		live_add(d, cp, n, order, (n & (n - 1)) != 0);
	} else if (cp) {
		assert_int_equal(buddy_free(&d->c, cp), BUDDY_OK);
		assert_int_equal(brust_free(d->r, rp), BUDDY_OK);
	}
}

static void op_free_live(struct diff *d)
{
	if (!d->nr_live)
		return;
	size_t i = rng_below(d->nr_live);
	const struct live *l = &d->live[i];
	unsigned char *cp = c_addr(d, l), *rp = r_addr(d, l);
	int cst, rst;
	switch (rng_below(7)) {
	case 0: case 1: { /* by order; now and then the wrong one */
		unsigned order = rng_below(6) ? l->order : (unsigned)rng_below(d->cap + 2);
		cst = buddy_free_pages(&d->c, cp, order);
		rst = brust_free_pages(d->r, rp, order);
		break;
	}
	case 2: case 3: { /* by count */
		size_t n = rng_below(6) ? l->npages : rng_below(MAX_EXACT + 2);
		cst = buddy_free_pages_exact(&d->c, cp, n);
		rst = brust_free_pages_exact(d->r, rp, n);
		break;
	}
	case 4: { /* by address, saying what was freed */
		struct buddy_alloc_info ci = { 0, NULL };
		struct brust_alloc_info ri = { 0, NULL };
		cst = buddy_free_info(&d->c, cp, rng_below(8) ? &ci : NULL);
		rst = brust_free_info(d->r, rp, ci.nr_pages ? &ri : NULL);
		assert_int_equal(ci.nr_pages, ri.nr_pages);
		assert_ptr_equal(ci.owner, ri.owner);
		break;
	}
	default:
		cst = buddy_free(&d->c, cp);
		rst = brust_free(d->r, rp);
		break;
	}
	assert_int_equal(cst, rst);
	if (cst == BUDDY_OK)
		live_drop(d, i);
}

/* alloc_info of a live allocation or of any address; owners set and read. */
static void op_info(struct diff *d)
{
	int s = random_used_slot(d);
	const unsigned char *cp = NULL, *rp = NULL;
	if (d->nr_live && rng_below(2)) {
		const struct live *l = &d->live[rng_below(d->nr_live)];
		cp = c_addr(d, l), rp = r_addr(d, l);
	} else if (s >= 0) {
		size_t off = random_offset(d, s);
		cp = d->slots[s].c_mem + off, rp = d->slots[s].r_mem + off;
	}
	struct buddy_alloc_info ci = { 0, NULL };
	struct brust_alloc_info ri = { 0, NULL };
	int with = rng_below(10) != 0;
	assert_int_equal(buddy_alloc_info(&d->c, cp, with ? &ci : NULL),
			 brust_alloc_info(d->r, rp, with ? &ri : NULL));
	assert_int_equal(ci.nr_pages, ri.nr_pages);
	assert_ptr_equal(ci.owner, ri.owner);
	assert_ptr_equal(buddy_region_owner(&d->c, cp), brust_region_owner(d->r, rp));
	if (s >= 0 && rng_below(4) == 0) { /* a new owner: the same word in both */
		void *owner = rng_below(4) ? (void *)(uintptr_t)(0x1000 * (1 + rng_below(64))) : NULL;
		size_t off = rng_below(8) ? 0 : d->cfg.ps; /* EOUTSIDE: not a base */
		assert_int_equal(buddy_region_set_owner(&d->c, d->slots[s].c_mem + off, owner),
				 brust_region_set_owner(d->r, d->slots[s].r_mem + off, owner));
	}
}

static void op_resize(struct diff *d)
{
	if (!d->nr_live)
		return;
	size_t i = rng_below(d->nr_live);
	struct live *l = &d->live[i];
	unsigned order = (unsigned)rng_below(d->cap + 2);
	int cst = buddy_resize(&d->c, c_addr(d, l), order);
	int rst = brust_resize(d->r, r_addr(d, l), order);
	assert_int_equal(cst, rst);
	if (cst == BUDDY_OK) {
		l->order = order;
		l->npages = (size_t)1 << order;
	}
}

/* An address in a used slot (or just past it), page-aligned or not. */
static size_t random_offset(const struct diff *d, int s)
{
	size_t off = rng_below(d->slots[s].len / d->cfg.ps + 1) * d->cfg.ps;
	if (rng_below(4) == 0)
		off += 1 + rng_below(d->cfg.ps - 1);
	return off;
}

static int random_used_slot(const struct diff *d)
{
	int s = (int)rng_below(NR_SLOTS);
	for (int i = 0; i < NR_SLOTS; i++, s = (s + 1) % NR_SLOTS)
		if (d->slots[s].len)
			return s;
	return -1;
}

static void op_bad_free(struct diff *d)
{
	int s = random_used_slot(d);
	int cst, rst;
	if (s < 0 || rng_below(10) == 0) { /* NULL, or nowhere near any region */
		static unsigned char outside[64];
		void *p = rng_below(2) ? NULL : outside;
		cst = buddy_free(&d->c, p);
		rst = brust_free(d->r, p);
		assert_int_equal(cst, rst);
		assert_int_equal(buddy_alloc_size(&d->c, p), brust_alloc_size(d->r, p));
		return;
	}
	size_t off = random_offset(d, s);
	unsigned char *cp = d->slots[s].c_mem + off, *rp = d->slots[s].r_mem + off;
	assert_int_equal(buddy_alloc_size(&d->c, cp), brust_alloc_size(d->r, rp));
	assert_int_equal(buddy_last_error(&d->c), brust_last_error(d->r));
	if (rng_below(2)) {
		unsigned order = (unsigned)rng_below(d->cap + 1);
		cst = buddy_free_pages(&d->c, cp, order);
		rst = brust_free_pages(d->r, rp, order);
	} else {
		cst = buddy_free(&d->c, cp);
		rst = brust_free(d->r, rp);
	}
	assert_int_equal(cst, rst);
	if (cst == BUDDY_OK)
		live_drop_at(d, cp);
}

static void op_add_region(struct diff *d)
{
	int s = (int)rng_below(NR_SLOTS);
	struct slot *sl = &d->slots[s];
	size_t ps = d->cfg.ps;
	if (sl->len)
		return;
	size_t pages = rng_below(4) ? 1 + rng_below(MAX_PAGES) : 1 + rng_below(8);
	size_t len = pages * ps;
	unsigned char *cbase = sl->c_mem, *rbase = sl->r_mem;
	void *cmeta = NULL, *rmeta = NULL;
	size_t meta_len = 0;
	switch (rng_below(16)) {
	case 0: len += 8; break;                       /* EALIGN: length */
	case 1: cbase += 8, rbase += 8; break;         /* EALIGN: base */
	case 2: { /* EOVERLAP: another used slot's memory */
		int o = random_used_slot(d);
		if (o >= 0)
			cbase = d->slots[o].c_mem, rbase = d->slots[o].r_mem;
		break;
	}
	case 3: len = 0; break;                        /* ESMALL */
	default: break;
	}
	if (rng_below(2)) { /* a separate metadata buffer */
		meta_len = buddy_meta_size(&d->c, len);
		assert_int_equal(meta_len, brust_meta_size(d->r, len));
		assert_true(meta_len <= 8192);
		cmeta = sl->c_meta, rmeta = sl->r_meta;
		switch (rng_below(12)) {
		case 0: if (meta_len) meta_len--; break;                 /* EMETA: too small */
		case 1: cmeta = sl->c_meta + 4, rmeta = sl->r_meta + 4; break; /* EMETA: misaligned */
		case 2: cmeta = cbase, rmeta = rbase; break;             /* EMETA: inside the region */
		default: break;
		}
	}
	unsigned flags = rng_below(4) == 0 ? BUDDY_META_ZEROED : 0;
	if (flags) { /* the promise must be true: this slot's memory is unused */
		size_t n = len + 8 < (MAX_PAGES + 1) * ps ? len + 8 : (MAX_PAGES + 1) * ps;
		memset(sl->c_mem, 0, n);
		memset(sl->r_mem, 0, n);
		memset(sl->c_meta, 0, meta_len + 4);
		memset(sl->r_meta, 0, meta_len + 4);
	}
	int cst = buddy_add_region_ex(&d->c, cbase, len, cmeta, meta_len, flags);
	int rst = brust_add_region_ex(d->r, rbase, len, rmeta, meta_len, flags);
	assert_int_equal(cst, rst);
	if (cst == BUDDY_OK) {
		assert_ptr_equal(cbase, sl->c_mem);
		sl->len = len;
	}
}

static void op_remove_region(struct diff *d)
{
	int s = random_used_slot(d);
	if (s < 0)
		return;
	size_t off = rng_below(8) == 0 ? d->cfg.ps : 0; /* EOUTSIDE: not a base */
	int cst = buddy_remove_region(&d->c, d->slots[s].c_mem + off);
	int rst = brust_remove_region(d->r, d->slots[s].r_mem + off);
	assert_int_equal(cst, rst);
	if (cst == BUDDY_OK)
		d->slots[s].len = 0;
}

static void run_op(struct diff *d)
{
	size_t pick = rng_below(100);
	if (pick < 28)
		op_alloc(d);
	else if (pick < 40)
		op_alloc_exact(d);
	else if (pick < 70)
		op_free_live(d);
	else if (pick < 78)
		op_resize(d);
	else if (pick < 88)
		op_bad_free(d);
	else if (pick < 93)
		op_add_region(d);
	else if (pick < 96)
		op_remove_region(d);
	else if (pick < 98)
		op_info(d);
	else {
		buddy_drain_cache(&d->c);
		brust_drain_cache(d->r);
	}
}

/* Operations per test: BUDDY_DIFF_OPS, or the given default. */
static uint64_t ops_budget(uint64_t dflt)
{
	const char *e = getenv("BUDDY_DIFF_OPS");
	return e && *e ? strtoull(e, NULL, 10) : dflt;
}

/*
 * Zones without the page cache: every free merges at once. These carry the
 * test's million operations (a zone configured without caches behaves the
 * same whatever is built on the cache later).
 */
static const struct diff_cfg plain_configs[] = {
	{ 4096, BUDDY_MAX_ORDER_AUTO, 0, 3, 0 },
	{ 64, 5, 0, 3, 0 },
	{ 16, BUDDY_MAX_ORDER_AUTO, 0, 3, 0 },
	{ 512, 7, 0, 3, 1 },
	{ 256, 3, 0, 3, 1 },
};
/* Zones with the page cache: freed small blocks wait unmerged. */
static const struct diff_cfg cache_configs[] = {
	{ 16, BUDDY_MAX_ORDER_AUTO, 4, 2, 0 },
	{ 512, 7, 8, 3, 1 },
	{ 16, 6, 6, 10, 0 },
};
#define NR_PLAIN (sizeof(plain_configs) / sizeof(plain_configs[0]))
#define NR_CACHE (sizeof(cache_configs) / sizeof(cache_configs[0]))

/* `ops` random operations on each configuration, everything compared after each. */
static uint64_t diff_random(const struct diff_cfg *cfgs, size_t n, uint64_t ops, uint64_t seed)
{
	uint64_t done = 0;
	for (size_t i = 0; i < n; i++) {
		struct diff *d = calloc(1, sizeof(*d));
		assert_non_null(d);
		rng_state = seed ^ (i * 0x1234567ull + 1);
		diff_init(d, &cfgs[i]);
		for (uint64_t k = 0; k < ops; k++) {
			run_op(d);
			compare_all(d, k % CHECK_EVERY == 0);
			done++;
		}
		/* Free everything: both end with their regions whole again. */
		while (d->nr_live) {
			assert_int_equal(buddy_free(&d->c, c_addr(d, &d->live[0])), BUDDY_OK);
			assert_int_equal(brust_free(d->r, r_addr(d, &d->live[0])), BUDDY_OK);
			live_drop(d, 0);
		}
		buddy_drain_cache(&d->c);
		brust_drain_cache(d->r);
		compare_all(d, 1);
		assert_int_equal(d->c_reports, 0);
		assert_int_equal(d->r_reports, 0);
		diff_release(d);
		free(d);
	}
	return done;
}

static void test_rust_diff_random(void **state)
{
	(void)state;
	uint64_t ops = ops_budget(1000000);
	uint64_t done = diff_random(plain_configs, NR_PLAIN, ops / NR_PLAIN, 0x9e3779b97f4a7c15ull);
	printf("rust diff: %llu operations compared on zones without the page cache\n",
	       (unsigned long long)done);
}

static void test_rust_diff_random_page_cache(void **state)
{
	(void)state;
	uint64_t ops = ops_budget(1000000) / 4;
	uint64_t done = diff_random(cache_configs, NR_CACHE, ops / NR_CACHE, 0x2545f4914f6cdd1dull);
	printf("rust diff: %llu operations compared on zones with the page cache\n",
	       (unsigned long long)done);
}

/* ------------------------------------------------------------------ */
/* damage                                                              */
/* ------------------------------------------------------------------ */

/* Check findings, as relative text, one per line (C: rust = 0). */
struct findings {
	const struct diff *d;
	int rust;
	char text[4096];
	size_t len;
};

static void finding_add(void *arg, const char *msg)
{
	struct findings *f = arg;
	char rel[256];
	relative_text(f->d, f->rust, msg, rel, sizeof(rel));
	if (f->len + strlen(rel) + 2 < sizeof(f->text))
		f->len += (size_t)snprintf(f->text + f->len, sizeof(f->text) - f->len, "%s\n", rel);
}

/*
 * Damage a free (or cached) block's link the same way in both zones:
 * garbage, a pointer to an allocated page, to itself, or a cleared prev.
 * Then both must refuse the same calls and their checks must agree.
 */
static void test_rust_diff_damage(void **state)
{
	int damaged = 0, stopped = 0;
	(void)state;
	for (int trial = 0; trial < 400; trial++) {
		struct diff *d = calloc(1, sizeof(*d));
		assert_non_null(d);
		rng_state = 0x5eedull + (uint64_t)trial * 7919u;
		diff_init(d, trial % 2 ? &plain_configs[(size_t)trial / 2 % NR_PLAIN]
				   : &cache_configs[(size_t)trial / 2 % NR_CACHE]);
		/* A region first (bad requests may come before a good one). */
		for (int n = 0; n < 100 && random_used_slot(d) < 0; n++) {
			op_add_region(d);
			compare_all(d, 1);
		}
		for (int n = 0; n < 60; n++) {
			run_op(d);
			compare_all(d, 1);
		}
		/* A free or cached block to damage. */
		compare_walks(d);
		size_t nfree = 0, pick;
		for (size_t i = 0; i < d->ncw; i++)
			nfree += d->cw[i].state != BUDDY_BLOCK_ALLOCATED;
		if (!nfree) {
			diff_release(d);
			free(d);
			continue;
		}
		pick = rng_below(nfree);
		size_t bi = d->ncw;
		for (size_t i = 0; i < d->ncw; i++)
			if (d->cw[i].state != BUDDY_BLOCK_ALLOCATED && pick-- == 0)
				bi = i;
		assert_true(bi < d->ncw);
		const struct wblk *b = &d->cw[bi];
		uintptr_t *cl = (uintptr_t *)(void *)(d->slots[b->slot].c_mem + b->off);
		uintptr_t *rl = (uintptr_t *)(void *)(d->slots[b->slot].r_mem + b->off);
		int word = (int)rng_below(2);
		switch (rng_below(4)) {
		case 0:
			cl[word] = rl[word] = 0x1230;
			break;
		case 1: { /* another page of the same region (not the link's own value) */
			size_t pages = d->slots[b->slot].len / d->cfg.ps;
			size_t off = rng_below(pages) * d->cfg.ps;
			if (cl[word] == (uintptr_t)(d->slots[b->slot].c_mem + off))
				off = (off + d->cfg.ps) % (pages * d->cfg.ps);
			cl[word] = (uintptr_t)(d->slots[b->slot].c_mem + off);
			rl[word] = (uintptr_t)(d->slots[b->slot].r_mem + off);
			break;
		}
		case 2:
			cl[word] = (uintptr_t)cl;
			rl[word] = (uintptr_t)rl;
			break;
		default: /* Rust writes the head as 0; C as its address. Skip that one. */
			cl[0] = (uintptr_t)(cl + 4);
			rl[0] = (uintptr_t)(rl + 4);
			break;
		}
		/* (A pointer to another page may happen to be the link's own value.) */
		struct findings *cf = calloc(2, sizeof(*cf)), *rf = cf + 1;
		assert_non_null(cf);
		cf->d = rf->d = d;
		rf->rust = 1;
		size_t cp = buddy_check(&d->c, finding_add, cf), rp = brust_check(d->r, finding_add, rf);
		assert_int_equal(cp, rp);
		assert_string_equal(cf->text, rf->text);
		free(cf);
		damaged += cp > 0;
		for (int n = 0; n < 40; n++) {
			run_op(d);
			compare_all(d, 0);
		}
		assert_int_equal(d->c_reports, d->r_reports);
		assert_true(d->c_reports <= 1);
		stopped += d->c_reports;
		diff_release(d);
		free(d);
	}
	printf("rust diff: %d of 400 zones damaged, %d stopped by the damage\n", damaged, stopped);
	assert_true(damaged >= 340);
	assert_true(stopped >= 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rust_diff_random),
		cmocka_unit_test(test_rust_diff_random_page_cache),
		cmocka_unit_test(test_rust_diff_damage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
