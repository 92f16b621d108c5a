/* SPDX-License-Identifier: MIT */
/*
 * page_info.c - looking at a zone without changing it: status texts,
 * statistics, the /proc/buddyinfo line, Linux's fragmentation indices, the
 * block walk and the integrity check.
 */
#include "common/fmt.h"
#include "page/page_internal.h"

static const char *const status_text[BUDDY_NR_STATUS] = {
	[BUDDY_OK] = "success",
	[BUDDY_ENULL] = "null pointer",
	[BUDDY_EOUTSIDE] = "pointer outside every region",
	[BUDDY_ENOTBLOCK] = "pointer is not the start of an allocated block",
	[BUDDY_EDOUBLE] = "double free: the block is already free",
	[BUDDY_EORDER] = "freed with a different order or size than allocated",
	[BUDDY_EMAXORDER] = "order above the maximum",
	[BUDDY_ECOUNT] = "page count is zero or above the largest block",
	[BUDDY_ESMALL] = "region too small",
	[BUDDY_EALIGN] = "region base or length not a multiple of the page size",
	[BUDDY_EOVERLAP] = "region overlaps another region or its metadata",
	[BUDDY_EMETA] = "metadata buffer missing, misaligned, too small or inside the region",
	[BUDDY_ECONFIG] = "bad configuration (page size, max order or zone name)",
	[BUDDY_ENOMEM] = "out of memory: no free block large enough",
	[BUDDY_EBUSY] = "region still has allocated pages",
	[BUDDY_ECORRUPT] = "allocator metadata is corrupted",
};

/*
 * Why the header of region r cannot be trusted, or NULL when it can: its
 * bounds, its place in its metadata, and every pointer into that metadata
 * (bitmaps, page bytes) recomputed from its page count and compared. The
 * checker, the walk and region_info read a region's page bytes and bitmaps
 * only through a header that passes, so damaged metadata is reported, never
 * followed. r itself comes from the zone (its index) or, past the index,
 * from the previous region's link.
 */
static const char *region_damage(const struct buddy_zone *z, const struct buddy_region *r)
{
	uintptr_t hdr = (uintptr_t)r, m = (uintptr_t)r->meta, end = m + r->meta_bytes;
	size_t n = r->nr_pages;

	if (hdr & 7 || (hdr != m && hdr != m + (buddy_guard_pages(z) << z->page_shift)))
		return "header is not at the start of its metadata";
	if (end < m || n == 0 || n > r->meta_bytes || (n << z->page_shift) >> z->page_shift != n ||
	    (r->base & (z->page_size - 1)) || r->end < r->base ||
	    r->end - r->base != n << z->page_shift)
		return "bounds disagree with its page count";
	if (r->max_order > BUDDY_MAX_ORDER)
		return "max_order out of range";
	uintptr_t p = hdr + ((sizeof(*r) + 7) & ~(size_t)7);
	for (unsigned k = 0; k < r->max_order; k++) {
		if ((uintptr_t)r->map[k] != p)
			return "pair bitmap pointer damaged";
		p += map_words(n, k) * sizeof(map_word);
		if (p > end)
			return "pair bitmaps run past its metadata";
	}
	if ((uintptr_t)r->pg != p || end - p < n)
		return "page-byte pointer damaged";
	return NULL;
}

/*
 * The i-th region after r (the i-1-th) in address order: from the zone's
 * index while it covers i, else r's link.
 */
static const struct buddy_region *region_next(const struct buddy_zone *z,
					      const struct buddy_region *r, unsigned i)
{
	if (i >= z->nr_regions)
		return NULL;
	return i < BUDDY_NR_REGION_INDEX ? z->index[i] : r->next;
}

const char *buddy_strerror(int status)
{
	if (status < 0 || status >= BUDDY_NR_STATUS)
		return "unknown status";
	return status_text[status];
}

void buddy_get_stats(const struct buddy_zone *z, struct buddy_stats *st)
{
	if (!z || !st)
		return;
	ZONE_LOCK_SCOPE(z);
	st->page_size = z->page_size;
	st->max_order = z->max_order;
	st->nr_regions = z->nr_regions;
	st->total_pages = z->total_pages;
	st->free_pages = z->free_pages;
	st->used_pages = buddy_used_pages(z);
	st->cached_pages = z->total_pages - z->free_pages - st->used_pages;
	st->peak_used_pages = LOAD_RELAXED(&z->peak_used_pages); /* page sets raise it unlocked */
	st->meta_bytes = z->meta_bytes;
	for (unsigned k = 0; k < BUDDY_NR_ORDERS; k++)
		st->nr_free[k] = z->free_area[k].nr_free;
	for (unsigned k = 0; k < BUDDY_NR_PCP_ORDERS; k++)
		st->nr_cached[k] = z->pcp[k].count;
	st->allocs = z->allocs;
	st->frees = z->frees;
	st->failures = z->failures;
	st->nr_pagesets = 0;
	/* The page sets' counters as they stand (exact at a quiescent point). */
	for (const struct buddy_pageset *ps = z->pagesets; ps; ps = ps->next) {
		size_t entries = 0, allocs = LOAD_RELAXED(&ps->allocs);
		for (unsigned k = 0; k < BUDDY_NR_PCP_ORDERS; k++) {
			unsigned n = ps_count(ps, k);
			st->nr_cached[k] += n;
			entries += n;
		}
		/* A set counts its allocations; its frees follow (page_alloc.c, ps_fold). */
		st->allocs += allocs;
		st->frees += entries - ps->moved + allocs;
		st->nr_pagesets++;
	}
}

/* mm/vmstat.c, frag_show_print: "Node %d, zone %8s " then "%6lu " per order. */
size_t buddy_buddyinfo(const struct buddy_zone *z, char *buf, size_t size)
{
	if (!z) {
		if (size)
			buf[0] = '\0';
		return 0;
	}
	ZONE_LOCK_SCOPE(z);
	size_t len = buddy_fmt(buf, size, "Node 0, zone %8s ", z->name);
	for (unsigned k = 0; k <= z->max_order; k++)
		len += buddy_fmt(len < size ? buf + len : NULL, len < size ? size - len : 0, "%6zu ",
			    z->free_area[k].nr_free);
	len += buddy_fmt(len < size ? buf + len : NULL, len < size ? size - len : 0, "\n");
	return len;
}

struct contig_info {
	unsigned long long free_pages;           /* sum of nr_free[o] << o */
	unsigned long long free_blocks_total;    /* sum of nr_free[o] */
	unsigned long long free_blocks_suitable; /* sum over o >= j of nr_free[o] << (o - j) */
};

/* mm/vmstat.c, fill_contig_page_info. */
static void contig_info(const struct buddy_zone *z, unsigned j, struct contig_info *ci)
{
	ci->free_pages = ci->free_blocks_total = ci->free_blocks_suitable = 0;
	for (unsigned o = 0; o < BUDDY_NR_ORDERS; o++) {
		unsigned long long n = z->free_area[o].nr_free;
		ci->free_blocks_total += n;
		ci->free_pages += n << o;
		if (o >= j)
			ci->free_blocks_suitable += n << (o - j);
	}
}

/* mm/vmstat.c, __fragmentation_index. */
int buddy_fragmentation_index(const struct buddy_zone *z, unsigned order)
{
	struct contig_info ci;

	if (!z || order > BUDDY_MAX_ORDER)
		return 0;
	ZONE_LOCK_SCOPE(z);
	contig_info(z, order, &ci);
	if (ci.free_blocks_total == 0)
		return 0;
	if (ci.free_blocks_suitable)
		return -1000;
	return (int)(1000 - (1000 + ci.free_pages * 1000 / (1ull << order)) / ci.free_blocks_total);
}

/* mm/vmstat.c, unusable_free_index. */
int buddy_unusable_index(const struct buddy_zone *z, unsigned order)
{
	struct contig_info ci;

	if (!z || order > BUDDY_MAX_ORDER)
		return 0;
	ZONE_LOCK_SCOPE(z);
	contig_info(z, order, &ci);
	if (ci.free_pages == 0)
		return 1000;
	return (int)((ci.free_pages - (ci.free_blocks_suitable << order)) * 1000 / ci.free_pages);
}

int buddy_walk(const struct buddy_zone *z, buddy_walk_fn fn, void *arg)
{
	if (!z || !fn)
		return 0;
	ZONE_LOCK_SCOPE(z);
	unsigned i = 0;
	for (const struct buddy_region *r = region_next(z, NULL, 0); r; r = region_next(z, r, ++i)) {
		if (region_damage(z, r))
			return 0; /* buddy_check says what */
		for (size_t idx = 0; idx < r->nr_pages;) {
			uint8_t b = r->pg[idx];
			struct buddy_block blk = {
				.addr = (void *)region_addr(z, r, idx),
				.region = r->id,
				.page = idx,
				.order = pg_order(b),
				.state = pg_held(z, r, idx, b)    ? BUDDY_BLOCK_CACHED
					 : pg_state(b) == PG_FREE ? BUDDY_BLOCK_FREE
								  : BUDDY_BLOCK_ALLOCATED,
				.first = pg_state(b) == PG_HEAD && !pg_held(z, r, idx, b),
			};
			int rc = fn(arg, &blk);
			if (rc)
				return rc;
			/* A damaged tail byte must not stall the walk. */
			idx += pg_state(b) == PG_TAIL ? 1 : (size_t)1 << pg_order(b);
		}
	}
	return 0;
}

int buddy_region_info(const struct buddy_zone *z, unsigned i, struct buddy_region_info *out)
{
	if (!z || !out)
		return BUDDY_ENULL;
	ZONE_LOCK_SCOPE(z);
	const struct buddy_region *r = region_next(z, NULL, 0);
	for (unsigned j = 0; r && j < i; j++) {
		if (region_damage(z, r))
			return BUDDY_ECORRUPT; /* its link cannot be trusted */
		r = region_next(z, r, j + 1);
	}
	if (!r)
		return BUDDY_ECOUNT;
	if (region_damage(z, r))
		return BUDDY_ECORRUPT;
	out->base = (void *)r->base;
	out->nr_pages = r->nr_pages;
	out->free_pages = r->free_pages;
	out->cached_pages = z->cached_pages || z->pagesets ? buddy_region_cached_pages(z, r) : 0;
	out->id = r->id;
	out->max_order = r->max_order;
	out->meta = r->meta;
	out->meta_bytes = r->meta_bytes;
	out->links = z->outside_links ? (void *)region_links(r) : NULL;
	out->links_bytes = z->outside_links ? r->nr_pages * sizeof(struct buddy_list) : 0;
	out->owner = r->owner;
	return BUDDY_OK;
}

/* ------------------------------------------------------------------ */
/* integrity check                                                     */
/* ------------------------------------------------------------------ */

struct checker {
	const struct buddy_zone *z;
	buddy_report_fn report;
	void *arg;
	size_t problems;
	int damaged_region;                  /* a region header failed region_damage */
	size_t free_heads[BUDDY_NR_ORDERS];  /* free blocks found by scanning pages */
	size_t cached_heads[BUDDY_NR_ORDERS]; /* cached blocks found by scanning pages */
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void problem(struct checker *c, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	c->problems++;
	if (!c->report)
		return;
	va_start(ap, fmt);
	buddy_vfmt(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->report(c->arg, msg);
}

static int is_free_at(const struct buddy_region *r, size_t idx, unsigned k)
{
	return idx < r->nr_pages && r->pg[idx] == (PG_FREE | k);
}

/* Scan the page bytes: blocks tile the region, are aligned, chains are sound. */
static void check_blocks(struct checker *c, const struct buddy_region *r)
{
	size_t free_pages = 0;
	int expect_cont = 0;

	for (size_t idx = 0; idx < r->nr_pages;) {
		uint8_t b = r->pg[idx];
		unsigned k = pg_order(b), st = pg_state(b);
		if (st == PG_TAIL) {
			problem(c, "P2: region %u page %zu: expected the start of a block", r->id, idx);
			idx++;
			continue;
		}
		size_t n = (size_t)1 << k;
		if (k > r->max_order || (idx & (n - 1)) || n > r->nr_pages - idx) {
			problem(c, "P2: region %u page %zu: order %u block misaligned or too large",
				r->id, idx, k);
			idx++;
			continue;
		}
		if ((st == PG_CONT) != expect_cont)
			problem(c, "P7: region %u page %zu: broken exact-allocation chain", r->id, idx);
		if (st == PG_FREE && (b & PG_MORE) && k >= c->z->nr_pcp_orders)
			problem(c, "P6: region %u page %zu: cached block of order %u above the cache's orders",
				r->id, idx, k);
		expect_cont = st != PG_FREE && (b & PG_MORE);
		for (size_t t = 1; t < n; t++)
			if (r->pg[idx + t] != PG_TAIL) {
				problem(c, "P2: region %u page %zu: block of order %u overlaps page %zu",
					r->id, idx, k, idx + t);
				break;
			}
		if (b == (PG_FREE | k)) {
			free_pages += n;
			c->free_heads[k]++;
		} else if (pg_held(c->z, r, idx, b)) {
			c->cached_heads[k]++;
		}
		idx += n;
	}
	if (expect_cont)
		problem(c, "P7: region %u: exact allocation runs past the end", r->id);
	if (free_pages != r->free_pages)
		problem(c, "P8: region %u: %zu pages free in blocks but free_pages is %zu", r->id,
			free_pages, r->free_pages);
}

/*
 * P3: every pair bit equals free(lower) XOR free(upper); padding bits are 0.
 * P5: the two are never both free.
 */
static void check_bitmaps(struct checker *c, const struct buddy_region *r)
{
	for (unsigned k = 0; k < r->max_order; k++) {
		size_t bits = map_bits(r->nr_pages, k);
		for (size_t bit = 0; bit < bits; bit++) {
			size_t lo = bit << (k + 1), hi = lo + ((size_t)1 << k);
			int lo_free = is_free_at(r, lo, k), hi_free = is_free_at(r, hi, k);
			int want = lo_free ^ hi_free;
			if (map_test(r, k, lo) != want) {
				problem(c, "P3: region %u order %u: pair bit for pages %zu/%zu is %d, expected %d",
					r->id, k, lo, hi, !want, want);
			}
			if (lo_free && hi_free)
				problem(c, "P5: region %u order %u: buddies at pages %zu and %zu are both free",
					r->id, k, lo, hi);
		}
		size_t words = map_words(r->nr_pages, k);
		if (bits % MAP_WORD_BITS &&
		    r->map[k][words - 1] >> (bits % MAP_WORD_BITS))
			problem(c, "P3: region %u order %u: bits set past the last pair", r->id, k);
	}
}

/*
 * Walk one list. A node is validated (inside a region, page aligned, its
 * page byte `want`) before it is dereferenced, so a damaged link is
 * reported rather than followed into wild memory. Returns 1 if sound.
 */
static int check_list(struct checker *c, const char *tag, const char *what, unsigned k,
		      const struct buddy_list *h, size_t nr, uint8_t want)
{
	const struct buddy_zone *z = c->z;
	const struct buddy_list *prev = h, *n = h->next;
	size_t count = 0;

	while (n != h) {
		const struct buddy_region *r = buddy_region_lookup(z, (uintptr_t)n);
		size_t idx = r ? region_index(z, r, (uintptr_t)n) : 0;
		/* idx < nr_pages: damaged region bounds must not send us past pg[]. */
		if (!r || ((uintptr_t)n & (z->page_size - 1)) || idx >= r->nr_pages ||
		    r->pg[idx] != want) {
			problem(c, "%s: %s order %u: node %p is not a block of this list", tag, what, k,
				(const void *)n);
			return 0;
		}
		/* The page cache's byte, but a page set's block: it has no links to read. */
		if (want == (PG_CACHED | k) && pagesets_hold(z, (uintptr_t)n, k)) {
			problem(c, "%s: %s order %u: node %p is a block a page set holds", tag, what, k,
				(const void *)n);
			return 0;
		}
		const struct buddy_list *e = region_link_of(z, r, (uintptr_t)n);
		if (e->prev != prev) {
			problem(c, "%s: %s order %u: node %p: prev does not point back", tag, what, k,
				(const void *)n);
			return 0;
		}
		if (++count > nr) {
			problem(c, "%s: %s order %u: list holds more than its count (%zu)", tag, what, k, nr);
			return 0;
		}
		prev = n;
		n = e->next;
	}
	if (h->prev != prev) {
		problem(c, "%s: %s order %u: list head's prev is not the last node", tag, what, k);
		return 0;
	}
	if (count != nr) {
		problem(c, "%s: %s order %u: list holds %zu blocks but its count is %zu", tag, what, k,
			count, nr);
		return 0;
	}
	return 1;
}

/* Is the entry at place i of set ps also somewhere later, in it or another set? */
static int entry_repeated(const struct buddy_pageset *ps, unsigned k, unsigned i)
{
	const void *p = ps->slot[k][i].addr;
	for (const struct buddy_pageset *q = ps; q; q = q->next)
		for (unsigned j = q == ps ? i + 1 : 0; j < ps_count(q, k) && j < BUDDY_PAGESET_SLOTS; j++)
			if (q->slot[k][j].addr == p)
				return 1;
	return 0;
}

/*
 * P6 for the page sets at order k: every entry a distinct cached block of
 * that order, with its own page byte. Returns the entries.
 */
static size_t check_pagesets(struct checker *c, unsigned k)
{
	const struct buddy_zone *z = c->z;
	size_t entries = 0;

	for (const struct buddy_pageset *ps = z->pagesets; ps; ps = ps->next) {
		unsigned n = ps_count(ps, k);
		if (n > BUDDY_PAGESET_SLOTS || (n && k >= z->nr_pcp_orders)) {
			problem(c, "P6: page set %p order %u: %u entries", (const void *)ps, k, n);
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			const struct buddy_pageset_entry *e = &ps->slot[k][i];
			uintptr_t a = (uintptr_t)e->addr;
			const struct buddy_region *r = buddy_region_lookup(z, a);
			size_t idx = r ? region_index(z, r, a) : 0;
			if (!r || (a & (z->page_size - 1)) || e->pg != &r->pg[idx] ||
			    entry_mark(z->tag_key, r->pg[idx], k, a) == MARK_NONE)
				problem(c, "P6: page set %p order %u: entry %p is not a cached block",
					(const void *)ps, k, e->addr);
			else if (entry_repeated(ps, k, i))
				problem(c, "P6: page set %p order %u: block %p held twice", (const void *)ps,
					k, e->addr);
		}
		entries += n;
	}
	return entries;
}

static void check_lists(struct checker *c)
{
	const struct buddy_zone *z = c->z;
	size_t cached = 0;

	for (unsigned k = 0; k < BUDDY_NR_ORDERS; k++) {
		const struct buddy_free_area *fa = &z->free_area[k];
		check_list(c, "P4", "free list", k, &fa->free_list, fa->nr_free, (uint8_t)(PG_FREE | k));
		if (c->free_heads[k] != fa->nr_free)
			problem(c, "P4: order %u: %zu free blocks in the regions but nr_free is %zu", k,
				c->free_heads[k], fa->nr_free);
		if (((z->nonempty >> k) & 1u) != (fa->nr_free != 0))
			problem(c, "P4: order %u: non-empty mask bit disagrees with nr_free", k);
	}
	for (unsigned k = 0; k < BUDDY_NR_PCP_ORDERS; k++) {
		const struct buddy_pcp *pc = &z->pcp[k];
		check_list(c, "P6", "page cache", k, &pc->list, pc->count, (uint8_t)(PG_CACHED | k));
		size_t held = pc->count + check_pagesets(c, k);
		if (c->cached_heads[k] != held)
			problem(c, "P6: order %u: %zu cached blocks in the regions but the caches hold %zu",
				k, c->cached_heads[k], held);
		cached += pc->count << k;
	}
	if (cached != z->cached_pages)
		problem(c, "P6: zone: cache lists hold %zu pages but cached_pages is %zu", cached,
			z->cached_pages);
}

static void check_regions(struct checker *c)
{
	const struct buddy_zone *z = c->z;
	size_t total = 0, free_pages = 0, meta = 0;
	unsigned count = 0, max_order = 0;
	const struct buddy_region *r = z->regions;

	if (z->nr_regions && r != z->index[0])
		problem(c, "P1: zone: the list's first region is not at place 0 of the bisection index");
	/*
	 * Regions are taken from the index, which the zone keeps in its own
	 * structure, and past it from the previous region's link; each
	 * header is checked before anything it points to is read.
	 */
	for (r = region_next(z, NULL, 0); r; r = region_next(z, r, ++count)) {
		const char *why = region_damage(z, r);
		if (why) {
			problem(c, "P1: region at %p: %s; its pages are not checked", (const void *)r, why);
			c->damaged_region = 1;
			if (count + 1 >= BUDDY_NR_REGION_INDEX)
				break; /* its link leads on: no further */
			continue;
		}
		const struct buddy_region *next = region_next(z, r, count + 1);
		if (r->next != next)
			problem(c, "P1: region %u: its link is not the region at place %u of the bisection index",
				r->id, count + 1);
		else if (next && !region_damage(z, next) && next->base < r->end)
			problem(c, "P1: regions %u and %u overlap or are out of order", r->id, next->id);
		unsigned lg = 0;
		while (lg < BUDDY_MAX_ORDER && ((size_t)2 << lg) <= r->nr_pages)
			lg++;
		if (r->max_order != (lg < z->cfg_max_order ? lg : z->cfg_max_order))
			problem(c, "P9: region %u: max_order %u, expected %u", r->id, r->max_order,
				lg < z->cfg_max_order ? lg : z->cfg_max_order);
		if (r->max_order > max_order)
			max_order = r->max_order;
		check_blocks(c, r);
		check_bitmaps(c, r);
		total += r->nr_pages;
		free_pages += r->free_pages;
		meta += r->meta_bytes;
	}
	/* A list longer than nr_regions shows as the last region's link above. */
	if (!c->damaged_region && count != z->nr_regions)
		problem(c, "P1: zone: %u regions linked but nr_regions is %u", count, z->nr_regions);
	if (z->max_order != (z->max_order_auto ? max_order : z->cfg_max_order))
		problem(c, "P9: zone: max_order %u, expected %u", z->max_order,
			z->max_order_auto ? max_order : z->cfg_max_order);
	/* With page sets the peak is exact for one thread only (buddy/page.h): not checked. */
	if (!z->pagesets && z->peak_used_pages < buddy_used_pages(z))
		problem(c, "P8: zone: peak_used_pages %zu below the pages in use", z->peak_used_pages);
	if (total != z->total_pages || free_pages != z->free_pages || meta != z->meta_bytes)
		problem(c, "P8: zone: totals disagree with the regions (pages %zu/%zu, free %zu/%zu)",
			total, z->total_pages, free_pages, z->free_pages);
}

size_t buddy_check_locked(const struct buddy_zone *z, buddy_report_fn report, void *arg)
{
	struct checker c = { .z = z, .report = report, .arg = arg };

	if (!z) {
		problem(&c, "zone is NULL"); /* no invariant: an argument */
		return c.problems;
	}
	check_regions(&c);
	if (c.damaged_region)
		problem(&c, "P4: free lists and page cache not checked: a region header is damaged");
	else
		check_lists(&c);
	return c.problems;
}

size_t buddy_check(const struct buddy_zone *z, buddy_report_fn report, void *arg)
{
	ZONE_LOCK_SCOPE(z);
	return buddy_check_locked(z, report, arg);
}
