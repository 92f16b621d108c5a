/* SPDX-License-Identifier: MIT */
/*
 * fuzz_page.c - fuzz harness for the page allocator core (buddy_*).
 *
 * The input is an operation stream. The first three bytes pick the zone
 * configuration (page size 16..2048 bytes, links in the blocks or outside
 * them from 32-byte pages up, max order, page cache size and orders, page
 * poisoning); every following
 * operation is one opcode byte and its argument bytes:
 *
 *     alloc order k | alloc exact n pages | free (by order, by page count or
 *     by address) | bad free (inside a block, twice, outside) | resize |
 *     add region (from a pool of aligned buffers, metadata carved or apart) |
 *     remove region | size query | drain the page cache
 *
 * With bit 4 of the first byte the zone has page sets: a counting zone
 * lock (which must be free again after every call), two page sets whose
 * "owners" take turns (so blocks go from one set to the other, as between
 * threads), with or without the heavy barrier hook (free tags need it),
 * strict frees or not; the operations then also switch owner, release a
 * set and register it again (thread exit), and call the sets directly.
 *
 * A shadow model keeps every live allocation and region. After each
 * operation the harness runs buddy_check() and compares the zone's
 * statistics with the model; every allocation is filled with a tag byte
 * that must still be intact when it is freed, so handing out overlapping
 * memory is caught even when the checker misses it. Any disagreement
 * aborts, which the fuzzer reports as a crash.
 *
 * Built again as fuzz_page_damage (FUZZ_DAMAGE 1): the input also writes,
 * as a misbehaving program would, into blocks it freed (their links, their
 * free tags, anything) and past the end of live ones, and frees stale
 * pointers again. The zone may then report corruption (only then: never
 * without damage), after which every call must refuse and change nothing;
 * whatever it does, it must never hand out memory that overlaps a live
 * allocation, never write into one, and never crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buddy/page.h"
#include "fuzz_input.h"

#ifndef FUZZ_DAMAGE
#define FUZZ_DAMAGE 0
#endif

#define SLOTS 4              /* region buffers in the pool */
#define SLOT_PAGES ((size_t)256)     /* pages per region buffer, at any page size */
#define PAGE_MAX 2048u       /* largest page size tried */
#define SLOT_BYTES (SLOT_PAGES * PAGE_MAX) /* bytes per region buffer */
#define META_BYTES 8192u     /* bytes per separate metadata buffer (outside links: ~17 a page) */
#define TAG_BYTES 32u        /* tagged bytes at the start of every allocated page */
#define LIVE_MAX 64          /* live allocations the model tracks */
#define REGIONS_MAX 8        /* regions the model tracks */
#define FREED_MAX 16         /* freed allocations remembered (damage mode) */

enum { KIND_ORDER, KIND_EXACT };

struct live {
	unsigned char *p; /* first byte */
	size_t pages;     /* pages held */
	unsigned order;   /* KIND_ORDER: its order */
	int kind;         /* KIND_ORDER or KIND_EXACT */
	unsigned char tag; /* fill byte */
};

/* A region the zone accepted: its bytes and its metadata's. */
struct region {
	unsigned char *base, *end;      /* [base, end) as added */
	unsigned char *meta, *meta_end; /* separate metadata, or both NULL */
};

struct model {
	struct buddy_zone zone;
	size_t page_size;
	struct region reg[REGIONS_MAX]; /* regions in the zone */
	int nr_reg;
	struct live live[LIVE_MAX];
	int nr_live;
	unsigned char next_tag;
	/* Page sets (first byte, bit 4): */
	int sets;          /* the zone has them */
	int cur;           /* the set whose owner makes the calls */
	int switched;      /* the other owner has made calls: the peak may lag (buddy/page.h) */
	int set_on[2];     /* set i is registered */
	int lock_depth;    /* the counting zone lock: 1 while held */
	/* Damage mode: */
	int damaged;       /* the input wrote into memory it does not hold */
	int corrupted;     /* the zone reported corruption */
#if FUZZ_DAMAGE
	unsigned long damage_writes;
#endif
	struct { unsigned char *p; size_t bytes; } freed[FREED_MAX]; /* stale pointers */
	int freed_next;
};

static _Alignas(4096) unsigned char pool[SLOTS][SLOT_BYTES];
static _Alignas(8) unsigned char meta_pool[SLOTS][META_BYTES];
static struct buddy_pageset sets[2];

/* The zone may report corruption in damage mode once damage was done; else it is a bug. */
#define CORRUPTED(m) (FUZZ_DAMAGE && (m)->corrupted)

static void die(const char *what)
{
	fprintf(stderr, "fuzz_page: %s\n", what);
	abort();
}

static void report_problem(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "buddy_check: %s\n", msg);
}

/* Corruption: a bug unless the input did damage first (damage mode). */
static void report_corrupt(void *arg, int kind, const char *op, const void *ptr,
			   const char *msg)
{
	struct model *m = arg;
	(void)op;
	(void)ptr;
	if (!FUZZ_DAMAGE || !m->damaged || kind != BUDDY_ERR_CORRUPT) {
		fprintf(stderr, "%s\n", msg);
		die("the zone reported corruption");
	}
	m->corrupted = 1;
}

/* The zone lock of a zone with page sets: one thread, so it counts and checks. */
static void lock_take(void *arg)
{
	struct model *m = arg;
	if (m->lock_depth++)
		die("the zone lock was taken while held");
}

static void lock_give(void *arg)
{
	struct model *m = arg;
	if (--m->lock_depth)
		die("the zone lock was released while not held");
}

static int lock_try(void *arg)
{
	lock_take(arg);
	return 1;
}

/* One thread: every owner has passed a full barrier by the time this returns. */
static void barrier_none(void *arg)
{
	(void)arg;
}

/* The page set of the owner whose turn it is (NULL while it has none: the zone path). */
static struct buddy_pageset *current_set(struct buddy_zone *z, void *arg)
{
	struct model *m = arg;
	(void)z;
	return m->set_on[m->cur] ? &sets[m->cur] : NULL;
}

static size_t live_pages(const struct model *m)
{
	size_t n = 0;
	for (int i = 0; i < m->nr_live; i++)
		n += m->live[i].pages;
	return n;
}

/* The zone must pass its own check and agree with the model (after damage: the check returns). */
static void model_verify(struct model *m)
{
	struct buddy_stats st;

	if (m->lock_depth)
		die("a call returned with the zone lock held");
	if (FUZZ_DAMAGE && m->damaged) {
		buddy_check(&m->zone, NULL, NULL);
		return;
	}
	if (buddy_check(&m->zone, report_problem, NULL) != 0)
		die("buddy_check found problems");
	buddy_get_stats(&m->zone, &st);
	if (st.used_pages != live_pages(m))
		die("used pages disagree with the live allocations");
	if (st.free_pages + st.cached_pages + st.used_pages != st.total_pages)
		die("free + cached + used != total");
	/* One owner: its peak is exact, so never below the pages in use (buddy_check holds a
	 * zone without page sets to that itself). */
	if (m->sets && !m->switched && st.peak_used_pages < st.used_pages)
		die("the peak is below the pages in use");
}

static int ranges_overlap(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	return a < b + blen && b < a + alen;
}

static size_t tag_bytes(const struct model *m)
{
	return m->page_size < TAG_BYTES ? m->page_size : TAG_BYTES;
}

/* A new allocation must lie in a region and overlap no live one. */
static void live_add(struct model *m, unsigned char *p, size_t pages, int kind, unsigned order)
{
	size_t bytes = pages * m->page_size;
	int inside = 0;

	if ((uintptr_t)p % m->page_size)
		die("allocation not page aligned");
	for (int r = 0; r < m->nr_reg; r++)
		if (p >= m->reg[r].base && p + bytes <= m->reg[r].end)
			inside = 1;
	if (!inside)
		die("allocation outside every region");
	if (pages == 0)
		die("empty allocation");
	for (int i = 0; i < m->nr_live; i++)
		if (ranges_overlap(p, bytes, m->live[i].p, m->live[i].pages * m->page_size))
			die("allocation overlaps a live allocation");
	struct live *l = &m->live[m->nr_live++];
	*l = (struct live){ p, pages, order, kind, ++m->next_tag };
	for (size_t pg = 0; pg < pages; pg++)
		memset(p + pg * m->page_size, l->tag, tag_bytes(m));
}

/* Its tag bytes must be intact; call before the allocator may reuse it. */
static void live_verify(const struct model *m, int i)
{
	const struct live *l = &m->live[i];
	for (size_t pg = 0; pg < l->pages; pg++)
		for (size_t b = 0; b < tag_bytes(m); b++)
			if (l->p[pg * m->page_size + b] != l->tag)
				die("allocation contents changed while it was live");
}

/* Gone from the program: remembered (damage mode) as a stale pointer. */
static void live_remove(struct model *m, int i)
{
	if (FUZZ_DAMAGE) {
		m->freed[m->freed_next].p = m->live[i].p;
		m->freed[m->freed_next].bytes = m->live[i].pages * m->page_size;
		m->freed_next = (m->freed_next + 1) % FREED_MAX;
	}
	m->live[i] = m->live[--m->nr_live];
}

static void op_alloc(struct model *m, struct fuzz_input *in, int exact)
{
	if (m->nr_live == LIVE_MAX)
		return;
	unsigned flags = fuzz_byte(in) & BUDDY_ZERO;
	if (exact) {
		size_t n = fuzz_byte(in) % 40;
		unsigned char *p = buddy_alloc_pages_exact(&m->zone, n, flags);
		if (p)
			live_add(m, p, n, KIND_EXACT, 0);
		else if (n == 0 && buddy_last_error(&m->zone) != BUDDY_ECOUNT && !CORRUPTED(m))
			die("zero-page allocation not rejected with BUDDY_ECOUNT");
		return;
	}
	unsigned order = fuzz_byte(in) % 12;
	unsigned char *p = buddy_alloc_pages(&m->zone, order, flags);
	if (p) {
		if (flags & BUDDY_ZERO)
			for (size_t b = 0; b < ((size_t)1 << order) * m->page_size; b++)
				if (p[b])
					die("BUDDY_ZERO allocation not zeroed");
		live_add(m, p, (size_t)1 << order, KIND_ORDER, order);
	}
}

static void op_free(struct model *m, struct fuzz_input *in)
{
	if (!m->nr_live)
		return;
	int i = fuzz_pick(in, m->nr_live);
	unsigned how = fuzz_byte(in) % 2;
	struct live *l = &m->live[i];
	int st;

	live_verify(m, i);
	if (how == 0)
		st = buddy_free(&m->zone, l->p);
	else if (l->kind == KIND_ORDER)
		st = buddy_free_pages(&m->zone, l->p, l->order);
	else
		st = buddy_free_pages_exact(&m->zone, l->p, l->pages);
	if (st != BUDDY_OK && !CORRUPTED(m))
		die("free of a live allocation failed");
	live_remove(m, i); /* given up by the program, taken or refused */
}

/* A rejected call must change nothing: compare the statistics. */
static void expect_rejected(struct model *m, int st, const struct buddy_stats *before)
{
	struct buddy_stats after;
	if (st == BUDDY_OK)
		die("bad free accepted");
	buddy_get_stats(&m->zone, &after);
	if (after.free_pages != before->free_pages || after.frees != before->frees)
		die("rejected free changed the zone");
}

static void op_bad_free(struct model *m, struct fuzz_input *in)
{
	struct buddy_stats before;
	unsigned char *p;

	buddy_get_stats(&m->zone, &before);
	unsigned what = fuzz_byte(in) % 4;
	unsigned off = fuzz_byte(in);
	if (what == 0 && m->nr_live) {
		struct live *l = &m->live[off % (unsigned)m->nr_live];
		size_t bytes = l->pages * m->page_size;
		p = l->p + 1 + fuzz_u16(in) % (bytes - 1); /* inside, not its start */
	} else if (what == 1) {
		/* Memory that is never a region, or the end of the pool. */
		p = off & 1 ? (unsigned char *)&before : pool[SLOTS - 1] + SLOT_BYTES - 16;
	} else if (what == 2 && m->nr_live) {
		struct live *l = &m->live[off % (unsigned)m->nr_live];
		if (l->kind != KIND_ORDER)
			return;
		expect_rejected(m, buddy_free_pages(&m->zone, l->p, l->order + 1), &before);
		return;
	} else {
		return;
	}
	expect_rejected(m, buddy_free(&m->zone, p), &before);
}

static void op_double_free(struct model *m, struct fuzz_input *in)
{
	if (!m->nr_live)
		return;
	int i = fuzz_pick(in, m->nr_live);
	unsigned char *p = m->live[i].p;
	live_verify(m, i);
	int st = buddy_free(&m->zone, p);
	if (st != BUDDY_OK && !CORRUPTED(m))
		die("free of a live allocation failed");
	live_remove(m, i);
	if (st != BUDDY_OK)
		return;
	/* The pages may have merged into a larger free block: still rejected. */
	struct buddy_stats before;
	buddy_get_stats(&m->zone, &before);
	expect_rejected(m, buddy_free(&m->zone, p), &before);
}

static void op_resize(struct model *m, struct fuzz_input *in)
{
	if (!m->nr_live)
		return;
	int i = fuzz_pick(in, m->nr_live);
	unsigned new_order = fuzz_byte(in) % 12;
	struct live l = m->live[i];
	live_verify(m, i);
	int st = buddy_resize(&m->zone, l.p, new_order);
	if (st != BUDDY_OK) {
		if (CORRUPTED(m))
			return;
		if (l.kind == KIND_ORDER && new_order <= l.order)
			die("shrinking resize failed");
		if (st != BUDDY_ENOMEM && st != BUDDY_EORDER && st != BUDDY_EMAXORDER)
			die("resize failed with an unexpected status");
		return;
	}
	if (l.kind != KIND_ORDER && (l.pages & (l.pages - 1)))
		die("exact allocation of a non-power-of-two size resized");
	live_remove(m, i);
	live_add(m, l.p, (size_t)1 << new_order, KIND_ORDER, new_order);
}

static int region_clashes(const struct model *m, const struct region *n)
{
	for (int r = 0; r < m->nr_reg; r++) {
		const struct region *o = &m->reg[r];
		size_t nlen = (size_t)(n->end - n->base);
		size_t nmeta = (size_t)(n->meta_end - n->meta);
		if (ranges_overlap(n->base, nlen, o->base, (size_t)(o->end - o->base)) ||
		    (o->meta && ranges_overlap(n->base, nlen, o->meta, (size_t)(o->meta_end - o->meta))) ||
		    (n->meta && ranges_overlap(n->meta, nmeta, o->base, (size_t)(o->end - o->base))) ||
		    (n->meta && o->meta && ranges_overlap(n->meta, nmeta, o->meta, (size_t)(o->meta_end - o->meta))))
			return 1;
	}
	return 0;
}

/* Add part of a pool buffer; an overlap with a region in the zone must be refused. */
static void op_add_region(struct model *m, struct fuzz_input *in)
{
	int s = fuzz_pick(in, SLOTS);
	size_t off = fuzz_byte(in) % SLOT_PAGES;   /* leading pages left out */
	size_t len = 1 + fuzz_byte(in) % SLOT_PAGES;
	int carved = (int)(fuzz_byte(in) & 1);
	if (off + len > SLOT_PAGES)
		len = SLOT_PAGES - off;
	if (m->nr_reg == REGIONS_MAX)
		return;
	struct region n = { pool[s] + off * m->page_size, pool[s] + (off + len) * m->page_size,
			    carved ? NULL : meta_pool[s], carved ? NULL : meta_pool[s] + META_BYTES };
	int st = buddy_add_region(&m->zone, n.base, len * m->page_size, n.meta,
				  carved ? 0 : META_BYTES);
	if (region_clashes(m, &n)) {
		if (st == BUDDY_OK)
			die("overlapping region accepted");
		return;
	}
	if (st == BUDDY_OK)
		m->reg[m->nr_reg++] = n;
	else if (st != BUDDY_ESMALL && st != BUDDY_EMETA && !CORRUPTED(m))
		die("region add failed unexpectedly");
}

static void op_remove_region(struct model *m, struct fuzz_input *in)
{
	int busy = 0;
	if (!m->nr_reg)
		return;
	int r = fuzz_pick(in, m->nr_reg);
	for (int i = 0; i < m->nr_live; i++)
		if (m->live[i].p >= m->reg[r].base && m->live[i].p < m->reg[r].end)
			busy = 1;
	int st = buddy_remove_region(&m->zone, m->reg[r].base);
	if (CORRUPTED(m))
		return;
	if (busy != (st == BUDDY_EBUSY) || (!busy && st != BUDDY_OK))
		die("region removal disagrees with the live allocations");
	if (st == BUDDY_OK)
		m->reg[r] = m->reg[--m->nr_reg];
}

static void op_size(struct model *m, struct fuzz_input *in)
{
	if (!m->nr_live)
		return;
	struct live *l = &m->live[fuzz_pick(in, m->nr_live)];
	/* After damage not found yet (a stale free a page set took), a look-up may go by the
	 * set's entries and be wrong; the zone finds it before the block is handed out twice. */
	if (buddy_alloc_size(&m->zone, l->p) != l->pages && !(FUZZ_DAMAGE && m->damaged))
		die("buddy_alloc_size disagrees with the allocation");
}

/* --- Page sets --- */

/* Another owner's turn; or the owner's set released (thread exit), or registered again. */
static void op_set(struct model *m, struct fuzz_input *in)
{
	unsigned what = fuzz_byte(in) % 4;
	if (!m->sets)
		return;
	if (what < 2) {
		m->cur ^= 1;
		m->switched = 1;
	} else if (what == 2 && m->set_on[m->cur]) {
		buddy_pageset_release(&sets[m->cur]);
		m->set_on[m->cur] = 0;
	} else if (what == 3 && !m->set_on[m->cur]) {
		int st = buddy_pageset_init(&m->zone, &sets[m->cur]);
		if (st != BUDDY_OK && !CORRUPTED(m))
			die("a page set could not be registered again");
		m->set_on[m->cur] = st == BUDDY_OK;
	}
}

/* buddy_pageset_alloc_pages and buddy_pageset_free_pages through the owner's set. */
static void op_set_call(struct model *m, struct fuzz_input *in)
{
	unsigned what = fuzz_byte(in);
	if (!m->sets || !m->set_on[m->cur])
		return;
	struct buddy_pageset *ps = &sets[m->cur];
	if (what & 1) {
		if (m->nr_live == LIVE_MAX)
			return;
		unsigned order = (what >> 1) % 6;
		unsigned char *p = buddy_pageset_alloc_pages(ps, order, 0);
		if (p)
			live_add(m, p, (size_t)1 << order, KIND_ORDER, order);
		return;
	}
	if (!m->nr_live)
		return;
	int i = fuzz_pick(in, m->nr_live);
	struct live *l = &m->live[i];
	if (l->kind != KIND_ORDER)
		return;
	live_verify(m, i);
	if (buddy_pageset_free_pages(ps, l->p, l->order) != BUDDY_OK && !CORRUPTED(m))
		die("free of a live allocation through a page set failed");
	live_remove(m, i);
}

#if FUZZ_DAMAGE
/* --- Damage --- */

/* Is [p, p+1) in a live allocation (the program's own data, never damaged)? */
static int in_live(const struct model *m, const unsigned char *p)
{
	for (int i = 0; i < m->nr_live; i++)
		if (p >= m->live[i].p && p < m->live[i].p + m->live[i].pages * m->page_size)
			return 1;
	return 0;
}

/* Is p in the pages of a region of the zone (not its metadata, not outside)? */
static int in_region_pages(const struct model *m, const unsigned char *p)
{
	struct buddy_region_info ri;
	for (unsigned i = 0; buddy_region_info(&m->zone, i, &ri) == BUDDY_OK; i++) {
		const unsigned char *b = ri.base;
		if (p >= b && p < b + ri.nr_pages * m->page_size)
			return 1;
	}
	return 0;
}

/*
 * Write up to 16 bytes as a misbehaving program would: through a stale
 * pointer into a block it freed (most often over its first 16 bytes,
 * where the zone keeps a free block's links or a cached block's free
 * tag), or just past the end of a live allocation. The bytes: from the
 * input, zeros, all 0xff, a copy of the start of another freed block
 * (links or a tag that look right), or an address twice (a forged next
 * and prev). Bytes of live allocations and outside the regions' pages
 * are left alone.
 */
static void op_damage(struct model *m, struct fuzz_input *in)
{
	unsigned char data[16];
	unsigned how = fuzz_byte(in), len = 1 + fuzz_byte(in) % 16;
	unsigned char *at;

	switch (how % 5) {
	case 0:
		for (unsigned i = 0; i < sizeof(data); i++)
			data[i] = (unsigned char)fuzz_byte(in);
		break;
	case 1:
		memset(data, 0, sizeof(data));
		break;
	case 2:
		memset(data, 0xff, sizeof(data));
		break;
	case 3: {
		unsigned char *src = m->freed[fuzz_pick(in, FREED_MAX)].p;
		memset(data, 0x01, sizeof(data));
		if (src && in_region_pages(m, src) && in_region_pages(m, src + 15)) {
			fuzz_reclaim(src, 16);
			memcpy(data, src, 16);
		}
		break;
	}
	default: {
		unsigned char *a = m->nr_live && (how & 0x40) ? m->live[fuzz_pick(in, m->nr_live)].p
							     : m->freed[fuzz_pick(in, FREED_MAX)].p;
		uintptr_t v = (uintptr_t)a + (fuzz_byte(in) % 4) * m->page_size;
		memcpy(data, &v, sizeof(v));
		memcpy(data + 8, &v, sizeof(v));
	}
	}
	if ((how & 0x20) && m->nr_live) {
		const struct live *l = &m->live[fuzz_pick(in, m->nr_live)];
		at = l->p + l->pages * m->page_size + fuzz_byte(in) % 16;
	} else {
		int f = fuzz_pick(in, FREED_MAX);
		if (!m->freed[f].p)
			return;
		size_t off = (how & 0x80) ? fuzz_u16(in) % m->freed[f].bytes : fuzz_byte(in) % 16;
		at = m->freed[f].p + off % m->freed[f].bytes;
	}
	for (unsigned i = 0; i < len; i++) {
		if (in_live(m, at + i) || !in_region_pages(m, at + i))
			continue;
		fuzz_reclaim(at + i, 1); /* a memory checker may have it marked free */
		at[i] = data[i];
		m->damaged = 1;
		m->damage_writes++;
	}
}

/*
 * Free a stale pointer again (unless the program holds that memory again:
 * then it would be a free of its own block). Refused, changing nothing;
 * only after damage may the zone take it (the evidence of the first free,
 * a free tag say, may be gone), and then it must find out before it hands
 * the block out twice.
 */
static void op_stale_free(struct model *m, struct fuzz_input *in)
{
	int f = fuzz_pick(in, FREED_MAX);
	unsigned char *p = m->freed[f].p;
	struct buddy_stats before;
	if (!p || in_live(m, p))
		return;
	buddy_get_stats(&m->zone, &before);
	int st = buddy_free(&m->zone, p);
	if (st == BUDDY_OK && !m->damaged)
		die("a stale pointer's free was accepted without damage");
	if (st != BUDDY_OK && !CORRUPTED(m) && !m->damaged)
		expect_rejected(m, st, &before);
}

/*
 * After a corruption report: every call refuses, reporting corruption
 * again, and changes nothing; the live allocations keep their contents.
 */
static void refusals_verify(struct model *m)
{
	struct buddy_stats before, after;
	buddy_get_stats(&m->zone, &before);
	if (buddy_alloc_pages(&m->zone, 0, 0) || buddy_alloc_pages_exact(&m->zone, 3, 0))
		die("a corrupted zone handed out a block");
	if (m->sets && m->set_on[m->cur] && buddy_pageset_alloc_pages(&sets[m->cur], 0, 0))
		die("a corrupted zone's page set handed out a block");
	if (m->nr_live) {
		if (buddy_free(&m->zone, m->live[0].p) == BUDDY_OK)
			die("a corrupted zone took a free");
		live_remove(m, 0); /* given up by the program, refused or not */
	}
	if (buddy_last_error(&m->zone) != BUDDY_ECORRUPT)
		die("a corrupted zone refused a call with another status");
	buddy_get_stats(&m->zone, &after);
	if (after.free_pages != before.free_pages || after.used_pages != before.used_pages ||
	    after.cached_pages != before.cached_pages)
		die("a corrupted zone changed");
	for (int i = 0; i < m->nr_live; i++)
		live_verify(m, i);
	buddy_check(&m->zone, NULL, NULL); /* must return; any count */
}
#endif

static void model_run(struct model *m, struct fuzz_input *in)
{
	/* Operations 10 and up only with page sets or damage: older inputs read as before. */
	unsigned nr_ops = m->sets || FUZZ_DAMAGE ? 14 : 10;
	while (!fuzz_empty(in)) {
		switch (fuzz_byte(in) % nr_ops) {
		case 0: case 1: op_alloc(m, in, 0); break;
		case 2: op_alloc(m, in, 1); break;
		case 3: case 4: op_free(m, in); break;
		case 5: op_bad_free(m, in); break;
		case 6: op_double_free(m, in); break;
		case 7: op_resize(m, in); break;
		case 8: op_add_region(m, in); break;
		case 9:
			switch (fuzz_byte(in) % 3) {
			case 0: op_remove_region(m, in); break;
			case 1: op_size(m, in); break;
			default: buddy_drain_cache(&m->zone);
			}
			break;
		case 10: op_set(m, in); break;
		case 11: op_set_call(m, in); break;
#if FUZZ_DAMAGE
		case 12: op_damage(m, in); break;
		default: op_stale_free(m, in); break;
#else
		case 12: op_alloc(m, in, 0); break;
		default: op_free(m, in); break;
#endif
		}
		model_verify(m);
#if FUZZ_DAMAGE
		if (m->corrupted) {
			refusals_verify(m);
			return; /* the zone has stopped: the input ends here */
		}
#endif
	}
}

/*
 * Free everything and take every region out again: each must succeed, and
 * the pool goes back to the harness (a memory checker sees it as ordinary
 * memory again) for the next input.
 */
static void model_teardown(struct model *m)
{
	while (m->nr_live && !CORRUPTED(m)) {
		live_verify(m, m->nr_live - 1);
		if (buddy_free(&m->zone, m->live[m->nr_live - 1].p) != BUDDY_OK && !CORRUPTED(m))
			die("teardown: free failed");
		live_remove(m, m->nr_live - 1);
	}
	/* Thread exit: each set gives its blocks back (a stopped zone keeps them). */
	for (int i = 0; i < 2; i++)
		if (m->set_on[i])
			buddy_pageset_release(&sets[i]);
	while (m->nr_reg && !CORRUPTED(m)) {
		if (buddy_remove_region(&m->zone, m->reg[m->nr_reg - 1].base) != BUDDY_OK &&
		    !CORRUPTED(m))
			die("teardown: a wholly free region could not be removed");
		m->nr_reg--;
	}
	model_verify(m);
#if FUZZ_DAMAGE
	if (getenv("FUZZ_DAMAGE_LOG")) /* what a replayed input did */
		fprintf(stderr, "page: %lu bytes of damage, corruption %s\n", m->damage_writes,
			m->corrupted ? "reported" : "not reported");
	if (m->corrupted) /* the stopped zone left its blocks annotated as it had them */
		fuzz_reclaim(pool, sizeof(pool));
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct fuzz_input in = { data, size };
	struct buddy_config cfg;

#if FUZZ_DAMAGE && BUDDY_DEBUG >= 2
	/* The expensive debug tier asserts the full check on every return: damage trips it. */
	static int said;
	if (!said++)
		fprintf(stderr, "fuzz_page_damage: skipped at BUDDY_DEBUG >= 2\n");
	(void)data, (void)size;
	return 0;
#endif
	memset(&m, 0, sizeof(m));
	buddy_config_default(&cfg);
	unsigned b0 = fuzz_byte(&in);
	cfg.page_size = (size_t)16 << (b0 % 8);
	/* Outside links need 16 bytes a page more: the first region (metadata carved) must fit. */
	cfg.outside_links = (int)((b0 >> 3) & 1) && cfg.page_size >= 32;
	unsigned mo = fuzz_byte(&in) % 16;
	cfg.max_order = mo >= 12 ? BUDDY_MAX_ORDER_AUTO : mo;
	unsigned pcp = fuzz_byte(&in);
	cfg.pcp_high = pcp % 8;                 /* 0: cache off */
	cfg.pcp_max_order = (pcp >> 3) % BUDDY_NR_PCP_ORDERS;
	cfg.poison = (int)((pcp >> 6) & 1);
	cfg.on_error = report_corrupt;
	cfg.error_arg = &m;
	m.sets = (int)((b0 >> 4) & 1);
	if (m.sets) {
		cfg.pcp_high = 1 + pcp % 8;
		cfg.lock = lock_take;
		cfg.unlock = lock_give;
		cfg.trylock = b0 & 0x80 ? lock_try : NULL;
		cfg.lock_arg = &m;
		cfg.pageset = current_set;
		cfg.pageset_arg = &m;
		cfg.barrier = b0 & 0x20 ? barrier_none : NULL; /* with it (and no strict frees, no
		                                                * outside links): free tags */
		cfg.strict_frees = (int)((b0 >> 6) & 1);
	}
	if (buddy_zone_init(&m.zone, &cfg) != BUDDY_OK)
		die("zone init failed");
	m.page_size = cfg.page_size;
	for (int i = 0; i < 2 && m.sets; i++) {
		if (buddy_pageset_init(&m.zone, &sets[i]) != BUDDY_OK)
			die("page set init failed");
		m.set_on[i] = 1;
	}
	/* Start with one region so that short inputs already allocate. */
	if (buddy_add_region(&m.zone, pool[0], SLOT_PAGES * m.page_size, NULL, 0) != BUDDY_OK)
		die("first region rejected");
	m.reg[0] = (struct region){ pool[0], pool[0] + SLOT_PAGES * m.page_size, NULL, NULL };
	m.nr_reg = 1;
	model_run(&m, &in);
	model_teardown(&m);
	return 0;
}
