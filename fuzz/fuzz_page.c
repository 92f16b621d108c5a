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
 * A shadow model keeps every live allocation and region. After each
 * operation the harness runs buddy_check() and compares the zone's
 * statistics with the model; every allocation is filled with a tag byte
 * that must still be intact when it is freed, so handing out overlapping
 * memory is caught even when the checker misses it. Any disagreement
 * aborts, which the fuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buddy/page.h"
#include "fuzz_input.h"

#define SLOTS 4              /* region buffers in the pool */
#define SLOT_PAGES ((size_t)256)     /* pages per region buffer, at any page size */
#define PAGE_MAX 2048u       /* largest page size tried */
#define SLOT_BYTES (SLOT_PAGES * PAGE_MAX) /* bytes per region buffer */
#define META_BYTES 8192u     /* bytes per separate metadata buffer (outside links: ~17 a page) */
#define TAG_BYTES 32u        /* tagged bytes at the start of every allocated page */
#define LIVE_MAX 64          /* live allocations the model tracks */
#define REGIONS_MAX 8        /* regions the model tracks */

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
};

static _Alignas(4096) unsigned char pool[SLOTS][SLOT_BYTES];
static _Alignas(8) unsigned char meta_pool[SLOTS][META_BYTES];

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

/* Only the harness's own use of the API runs here: damage is a bug. */
static void report_corrupt(void *arg, int kind, const char *op, const void *ptr,
			   const char *msg)
{
	(void)arg;
	(void)kind;
	(void)op;
	(void)ptr;
	fprintf(stderr, "%s\n", msg);
	die("the zone reported corruption");
}

static size_t live_pages(const struct model *m)
{
	size_t n = 0;
	for (int i = 0; i < m->nr_live; i++)
		n += m->live[i].pages;
	return n;
}

/* The zone must pass its own check and agree with the model. */
static void model_verify(struct model *m)
{
	struct buddy_stats st;

	if (buddy_check(&m->zone, report_problem, NULL) != 0)
		die("buddy_check found problems");
	buddy_get_stats(&m->zone, &st);
	if (st.used_pages != live_pages(m))
		die("used pages disagree with the live allocations");
	if (st.free_pages + st.cached_pages + st.used_pages != st.total_pages)
		die("free + cached + used != total");
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

static void live_remove(struct model *m, int i)
{
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
		else if (n == 0 && buddy_last_error(&m->zone) != BUDDY_ECOUNT)
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
	if (st != BUDDY_OK)
		die("free of a live allocation failed");
	live_remove(m, i);
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
	if (buddy_free(&m->zone, p) != BUDDY_OK)
		die("free of a live allocation failed");
	live_remove(m, i);
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
	else if (st != BUDDY_ESMALL && st != BUDDY_EMETA)
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
	if (buddy_alloc_size(&m->zone, l->p) != l->pages)
		die("buddy_alloc_size disagrees with the allocation");
}

static void model_run(struct model *m, struct fuzz_input *in)
{
	while (!fuzz_empty(in)) {
		switch (fuzz_byte(in) % 10) {
		case 0: case 1: op_alloc(m, in, 0); break;
		case 2: op_alloc(m, in, 1); break;
		case 3: case 4: op_free(m, in); break;
		case 5: op_bad_free(m, in); break;
		case 6: op_double_free(m, in); break;
		case 7: op_resize(m, in); break;
		case 8: op_add_region(m, in); break;
		default:
			switch (fuzz_byte(in) % 3) {
			case 0: op_remove_region(m, in); break;
			case 1: op_size(m, in); break;
			default: buddy_drain_cache(&m->zone);
			}
		}
		model_verify(m);
	}
}

/*
 * Free everything and take every region out again: each must succeed, and
 * the pool goes back to the harness (a memory checker sees it as ordinary
 * memory again) for the next input.
 */
static void model_teardown(struct model *m)
{
	while (m->nr_live) {
		live_verify(m, m->nr_live - 1);
		if (buddy_free(&m->zone, m->live[m->nr_live - 1].p) != BUDDY_OK)
			die("teardown: free failed");
		live_remove(m, m->nr_live - 1);
	}
	while (m->nr_reg) {
		if (buddy_remove_region(&m->zone, m->reg[m->nr_reg - 1].base) != BUDDY_OK)
			die("teardown: a wholly free region could not be removed");
		m->nr_reg--;
	}
	model_verify(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct fuzz_input in = { data, size };
	struct buddy_config cfg;

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
	if (buddy_zone_init(&m.zone, &cfg) != BUDDY_OK)
		die("zone init failed");
	m.page_size = cfg.page_size;
	/* Start with one region so that short inputs already allocate. */
	if (buddy_add_region(&m.zone, pool[0], SLOT_PAGES * m.page_size, NULL, 0) != BUDDY_OK)
		die("first region rejected");
	m.reg[0] = (struct region){ pool[0], pool[0] + SLOT_PAGES * m.page_size, NULL, NULL };
	m.nr_reg = 1;
	model_run(&m, &in);
	model_teardown(&m);
	return 0;
}
