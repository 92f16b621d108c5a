/* SPDX-License-Identifier: MIT */
/*
 * cmd_info.c - the commands that look without changing anything: map,
 * lists, buddyinfo, stats, frag, check, handles, slabinfo and save.
 */
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define PLURAL(n) ((n) == 1 ? "" : "s")

static int fail(char *msg, size_t n, const char *name, const char *text)
{
	snprintf(msg, n, "%s: %s", name, text);
	return -1;
}

static int cmd_map(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n)
{
	struct vpicture p;
	if (vpicture_build(s, &p, msg, n))
		return -1;
	int st = 0;
	if (c->kind == CMD_MAP)
		map_draw(s, &p, out);
	else if ((st = svg_save(s, &p, c->text, msg, n)) == 0)
		fprintf(out, "saved %s\n", c->text);
	vpicture_free(&p);
	return st;
}

/* The free blocks of each order, with their positions (first 16 each). */
static int cmd_lists(struct cmd_session *s, FILE *out, char *msg, size_t n)
{
	struct vpicture p;
	if (vpicture_build(s, &p, msg, n))
		return -1;
	int top = p.max_order < 0 ? 0 : p.max_order;
	for (int k = 0; k <= top; k++) {
		size_t idx = p.max_order < 0 ? BUDDY_NR_ORDERS : (size_t)k;
		if (p.max_order < 0)
			fprintf(out, "free blocks: %zu", p.nr_free[idx]);
		else
			fprintf(out, "order %2d (%zu %s%s): %zu free", k,
				(size_t)1 << k, p.unit_name, k ? "s" : "", p.nr_free[idx]);
		size_t shown = 0;
		for (size_t i = 0; i < p.nblocks && shown < 16; i++) {
			const struct vblock *v = &p.blocks[i];
			if (!v->allocated && (p.max_order < 0 || v->order == k)) {
				char pos[24];
				vpicture_pos(&p, v->start, pos, sizeof(pos));
				fprintf(out, "%s%s", shown++ ? " " : p.byte_pos ? "  at "
						 : p.nr_free[idx] == 1 ? "  at page " : "  at pages ", pos);
			}
		}
		fprintf(out, "%s\n", shown < p.nr_free[idx] ? " ..." : "");
	}
	vpicture_free(&p);
	return 0;
}

static int cmd_buddyinfo(struct cmd_session *s, FILE *out, char *msg, size_t n)
{
	if (s->opt.mode == MODE_PAGES || s->opt.mode == MODE_KMALLOC) {
		char line[BUDDY_NR_ORDERS * 8 + 64];
		buddy_buddyinfo(s->opt.mode == MODE_PAGES ? &s->zone : bkm_zone(s->km), line,
				sizeof(line));
		fputs(line, out);
		return 0;
	}
	struct vpicture p;
	if (vpicture_build(s, &p, msg, n))
		return -1;
	int st = 0;
	if (p.max_order < 0) {
		st = fail(msg, n, "buddyinfo", "the best-fit heap has no orders (try 'lists')");
	} else {
		fprintf(out, "Node 0, zone %8s ", "heap");
		for (int k = 0; k <= p.max_order; k++)
			fprintf(out, "%6zu ", p.nr_free[k]);
		fputc('\n', out);
	}
	vpicture_free(&p);
	return st;
}

static void pages_stats(struct cmd_session *s, FILE *out)
{
	struct buddy_stats st;
	char a[32], b[32];
	buddy_get_stats(&s->zone, &st);
	fmt_size(a, sizeof(a), st.total_pages * st.page_size);
	fmt_size(b, sizeof(b), st.page_size);
	fprintf(out, "allocator    buddy pages\n");
	fprintf(out, "arena        %s: %zu pages of %s, max order %u\n", a, st.total_pages, b,
		st.max_order);
	fprintf(out, "metadata     %zu bytes, outside the arena\n", st.meta_bytes);
	fprintf(out, "used         %zu of %zu page%s (peak %zu)\n", st.used_pages, st.total_pages,
		PLURAL(st.total_pages),
		st.peak_used_pages);
	size_t blocks = 0;
	int largest = -1;
	for (unsigned k = 0; k <= st.max_order; k++) {
		blocks += st.nr_free[k];
		if (st.nr_free[k])
			largest = (int)k;
	}
	fprintf(out, "free         %zu page%s in %zu block%s", st.free_pages, PLURAL(st.free_pages),
		blocks, PLURAL(blocks));
	if (largest >= 0)
		fprintf(out, ", largest order %d (%zu page%s)", largest, (size_t)1 << largest,
			PLURAL((size_t)1 << largest));
	fprintf(out, "\ncalls        allocs %llu, frees %llu, failed %llu; live handles %zu\n",
		(unsigned long long)st.allocs, (unsigned long long)st.frees,
		(unsigned long long)st.failures, s->nhandles);
}

/*
 * The buddy heap's Robson bound, live: the arena N = M(1 + log2(n)/2) - n + 1
 * (in smallest blocks; M the peak bytes held, n the largest block over the
 * smallest; J. M. Robson, 1974) at which no request can fail through
 * fragmentation, and whether this arena is that large.
 */
static void robson_print(const struct bheap *h, FILE *out)
{
	struct bheap_stats st;
	char need[32], peak[32], have[32];
	bheap_get_stats(h, &st);
	if (!st.robson_bytes || !st.smallest_block) {
		fprintf(out, "robson       no allocation yet, so no bound\n");
		return;
	}
	fmt_size(need, sizeof(need), st.robson_bytes);
	fmt_size(peak, sizeof(peak), st.peak_held_bytes);
	fmt_size(have, sizeof(have), st.arena_bytes);
	fprintf(out, "robson       no request can fail through fragmentation in an arena of %s\n"
		     "             (M = %s held at the peak, n = %zu = largest / smallest block);\n"
		     "             this one holds %s: %s\n", need, peak,
		st.largest_block / st.smallest_block, have, st.robson_met ? "met" : "not met");
}

static void heap_stats(struct cmd_session *s, FILE *out)
{
	struct balloc_stats st;
	memset(&st, 0, sizeof(st));
	s->heap.ops->stats(s->heap.self, &st);
	fprintf(out, "allocator    %s\n", session_mode_name(s));
	fprintf(out, "footprint    %zu bytes (peak %zu)\n", st.footprint_bytes, st.peak_footprint_bytes);
	/* Bytes asked are the session's own count: not every allocator keeps one. */
	fprintf(out, "live         %zu allocation%s: %zu byte%s asked, %zu held (peak asked %zu)\n",
		st.live_allocs, PLURAL(st.live_allocs), s->asked_bytes, PLURAL(s->asked_bytes),
		st.held_bytes, s->peak_asked_bytes);
	fprintf(out, "free         %zu byte%s in %zu block%s, largest %zu\n", st.free_bytes,
		PLURAL(st.free_bytes), st.free_blocks, PLURAL(st.free_blocks), st.largest_free_bytes);
	fprintf(out, "failures     %llu; fragmentation %.3f; live handles %zu\n",
		(unsigned long long)st.failures, st.fragmentation, s->nhandles);
	if (s->bheap)
		robson_print(s->bheap, out);
}

static void kmalloc_stats(struct cmd_session *s, FILE *out)
{
	struct bkm_stats st;
	char a[32], b[32];
	bkm_get_stats(s->km, &st);
	fmt_size(a, sizeof(a), st.max_class_bytes);
	fmt_size(b, sizeof(b), st.page_size);
	fprintf(out, "allocator    kmalloc: %zu size classes up to %s, on %s pages\n",
		st.nr_classes, a, b);
	fprintf(out, "footprint    %zu bytes (peak %zu), of which metadata %zu\n",
		st.footprint_bytes, st.peak_footprint_bytes, st.meta_bytes);
	fprintf(out, "live         %zu allocations, %zu bytes: %zu objects (%zu bytes), "
		     "%zu runs (%zu bytes)\n", st.live_allocs, st.held_bytes, st.small_allocs,
		st.small_bytes, st.large_allocs, st.large_bytes);
	fprintf(out, "slabs        %zu bytes, of which free objects %zu\n", st.slab_bytes,
		st.slab_free_bytes);
	fprintf(out, "free         %zu bytes in %zu zone blocks, largest %zu\n", st.free_bytes,
		st.free_blocks, st.largest_free_bytes);
	fprintf(out, "calls        allocs %llu, frees %llu, failed %llu, reallocs %llu in place "
		     "and %llu moved; live handles %zu\n",
		(unsigned long long)st.allocs, (unsigned long long)st.frees,
		(unsigned long long)st.failures, (unsigned long long)st.reallocs_in_place,
		(unsigned long long)st.reallocs_moved, s->nhandles);
}

/* A value in thousandths as a decimal: -500 -> "-0.500". */
static void thousandths_print(FILE *out, int width, int v)
{
	char buf[32];
	unsigned a = v < 0 ? (unsigned)-(long)v : (unsigned)v;
	snprintf(buf, sizeof(buf), "%s%u.%03u", v < 0 ? "-" : "", a / 1000, a % 1000);
	fprintf(out, "%*s", width, buf);
}

/*
 * Linux's fragmentation index (mm/vmstat.c) for one order, and what it says
 * about a request of that order. -1000 means a free block is there: the
 * request succeeds. Otherwise the failure is for lack of free memory when
 * fewer pages are free than the request needs (Linux checks the free pages
 * first, in compaction_suitable, before it looks at the index) or the index
 * is at or below its default threshold (extfrag_threshold, 500); above it,
 * the failure is fragmentation's: enough free pages, in blocks too small.
 */
#define FRAG_THRESHOLD 500

static void frag_print(FILE *out, const struct buddy_zone *z, unsigned k, size_t nr_free,
		       size_t free_pages)
{
	int fi = buddy_fragmentation_index(z, k), ui = buddy_unusable_index(z, k);
	fprintf(out, "%5u  %11zu  ", k, nr_free);
	if (fi == -1000)
		fprintf(out, "%10s", "fits");
	else
		thousandths_print(out, 10, fi);
	thousandths_print(out, 10, ui);
	fprintf(out, "  %s\n", fi == -1000 ? "succeeds"
		: free_pages == 0 ? "fails: nothing is free"
		: free_pages < (size_t)1 << k || fi <= FRAG_THRESHOLD ? "fails: too little free memory"
								       : "fails: free memory too fragmented");
}

/* Linux's fragmentation and unusable-free-space indices, per order. */
static int cmd_frag(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n)
{
	if (s->opt.mode != MODE_PAGES) {
		if (c->nnum)
			return fail(msg, n, "frag", "an ORDER applies to the pages allocator only; "
				    "a heap has one figure (type 'frag')");
		struct balloc_stats st;
		memset(&st, 0, sizeof(st));
		s->heap.ops->stats(s->heap.self, &st);
		fprintf(out, "fragmentation %.3f (1 - largest free %zu / free %zu bytes)\n",
			st.fragmentation, st.largest_free_bytes, st.free_bytes);
		return 0;
	}
	struct buddy_stats st;
	buddy_get_stats(&s->zone, &st);
	unsigned lo = 0, hi = st.max_order;
	if (c->nnum) {
		if (c->num[0] > st.max_order) {
			snprintf(msg, n, "frag: order %llu above the maximum (%u)", c->num[0], st.max_order);
			return -1;
		}
		lo = hi = (unsigned)c->num[0];
	}
	fprintf(out, "order  free blocks  frag index  unusable  a request of this order\n");
	for (unsigned k = lo; k <= hi; k++)
		frag_print(out, &s->zone, k, st.nr_free[k], st.free_pages);
	fprintf(out, "frag index (Linux's): 'fits' when a free block of the order exists. Otherwise a\n"
		     "  request fails for lack of free memory when fewer pages are free than it needs\n"
		     "  or the index is 0.500 or less, and for fragmentation (enough free pages, in\n"
		     "  blocks too small) when it is higher, towards 1.000\n"
		     "unusable: share of free memory in blocks too small for the order\n");
	return 0;
}

struct report_ctx {
	FILE *out;
	size_t n;
};

static void report_line(void *arg, const char *text)
{
	struct report_ctx *r = arg;
	fprintf(r->out, "  problem: %s\n", text);
	r->n++;
}

/* The allocator's own check, and the handle table against it. */
static int cmd_check(struct cmd_session *s, FILE *out, char *msg, size_t n)
{
	struct report_ctx r = { out, 0 };
	if (s->opt.mode == MODE_PAGES) {
		buddy_check(&s->zone, report_line, &r);
		for (size_t i = 0; i < s->nhandles; i++) {
			const struct handle *h = &s->handles[i];
			if (buddy_alloc_size(&s->zone, h->ptr) * s->opt.page_size != h->bytes) {
				fprintf(out, "  problem: #%lu does not match its block\n", h->id);
				r.n++;
			}
		}
	} else if (!s->heap.ops->check) {
		return fail(msg, n, "check", "this allocator cannot check itself");
	} else {
		s->heap.ops->check(s->heap.self, report_line, &r);
	}
	if (r.n) {
		snprintf(msg, n, "check: %zu problem%s", r.n, r.n == 1 ? "" : "s");
		return -1;
	}
	fprintf(out, "check: ok (%zu live allocations)\n", s->nhandles);
	return 0;
}

static void cmd_handles(struct cmd_session *s, FILE *out)
{
	if (!s->nhandles)
		fprintf(out, "no live allocations\n");
	for (size_t i = 0; i < s->nhandles; i++) {
		const struct handle *h = &s->handles[i];
		char held[32];
		fmt_size(held, sizeof(held), h->bytes);
		fprintf(out, "#%-4lu offset 0x%-8zx %-10s", h->id, h->off, held);
		if (s->opt.mode == MODE_PAGES) {
			size_t first = h->off / s->opt.page_size, np = h->bytes / s->opt.page_size;
			if (np == 1)
				fprintf(out, " page %zu", first);
			else
				fprintf(out, " pages %zu-%zu", first, first + np - 1);
		}
		if (h->asked != h->bytes)
			fprintf(out, " (asked %zu byte%s)", h->asked, PLURAL(h->asked));
		fputc('\n', out);
	}
}

/* /proc/slabinfo of the kmalloc heap: the caches that hold slabs, or all with none. */
static int cmd_slabinfo(struct cmd_session *s, FILE *out, char *msg, size_t n)
{
	if (s->opt.mode != MODE_KMALLOC)
		return fail(msg, n, "slabinfo", "only the kmalloc heap has slab caches (-a kmalloc)");
	size_t len = bkm_slabinfo(s->km, NULL, 0);
	char *buf = malloc(len + 1);
	if (!buf)
		return fail(msg, n, "slabinfo", "out of memory");
	bkm_slabinfo(s->km, buf, len + 1);
	fputs(buf, out);
	free(buf);
	return 0;
}

int cmd_info(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n)
{
	switch (c->kind) {
	case CMD_MAP:
	case CMD_SAVE:
		return cmd_map(s, c, out, msg, n);
	case CMD_LISTS:
		return cmd_lists(s, out, msg, n);
	case CMD_BUDDYINFO:
		return cmd_buddyinfo(s, out, msg, n);
	case CMD_STATS:
		if (s->opt.mode == MODE_PAGES)
			pages_stats(s, out);
		else if (s->opt.mode == MODE_KMALLOC)
			kmalloc_stats(s, out);
		else
			heap_stats(s, out);
		return 0;
	case CMD_FRAG:
		return cmd_frag(s, c, out, msg, n);
	case CMD_CHECK:
		return cmd_check(s, out, msg, n);
	case CMD_HANDLES:
		cmd_handles(s, out);
		return 0;
	case CMD_SLABINFO:
		return cmd_slabinfo(s, out, msg, n);
	default:
		return fail(msg, n, cmd_name(c->kind), "not a command here");
	}
}
