/* SPDX-License-Identifier: MIT */
/*
 * cmd_kmalloc.c - malloc, calloc, realloc and free on the kmalloc heap,
 * told as the heap does them: which size class and slab an object came
 * from, when a cache took a new slab from the zone (and which blocks the
 * zone split for it), when an empty slab went back (and what it merged
 * with); larger requests are runs of pages, told like the pages mode.
 *
 * The heap reports slabs, runs, splits and merges through its log hook
 * (session.c collects them per command); where an object sits comes from
 * bkm_block_info.
 */
#include <string.h>

#include "session.h"

static size_t km_page_of(const struct cmd_session *s, const void *p)
{
	return (size_t)((uintptr_t)p - s->km_base) / s->km_page;
}

/* Where a live block sits: "object 3 of the kmalloc-64 slab at page 2 (4 of 15 in use)". */
static void where_print(const struct cmd_session *s, FILE *out, const struct bkm_block_info *bi)
{
	if (bi->kind == BKM_BLOCK_SMALL) {
		const struct bslab_slab *sl = bi->slab;
		size_t np = ((size_t)1 << sl->order);
		fprintf(out, "object %u of the %s slab at ", bi->index, bi->cache->name);
		cmd_range_print(out, km_page_of(s, sl), np);
		fprintf(out, " (%u of %u in use)", (unsigned)sl->inuse, (unsigned)sl->objs);
	} else if (bi->kind == BKM_BLOCK_LARGE) {
		fprintf(out, "a run of ");
		cmd_range_print(out, km_page_of(s, bi->addr), bi->size / s->km_page);
	} else {
		char sz[32];
		fmt_size(sz, sizeof(sz), bi->size);
		fprintf(out, "a mapping of its own (%s)", sz);
	}
}

/* The slab and run events of the command, one line each. */
static void kevents_print(const struct cmd_session *s, FILE *out)
{
	for (size_t i = 0; i < s->nkevents; i++) {
		const struct bkm_event *ev = &s->kevents[i];
		size_t pg = km_page_of(s, ev->addr), np = ev->bytes / s->km_page;
		switch (ev->kind) {
		case BKM_EV_SLAB_NEW:
			fprintf(out, "  %s took a new slab of order %u: ", ev->cache, ev->order);
			cmd_range_print(out, pg, np);
			fputc('\n', out);
			break;
		case BKM_EV_SLAB_FREE:
			fprintf(out, "  the %s slab at ", ev->cache);
			cmd_range_print(out, pg, np);
			fprintf(out, " is empty: back to the zone\n");
			break;
		case BKM_EV_RUN:
			fprintf(out, "  a run of %zu page%s from the zone: ", np, np == 1 ? "" : "s");
			cmd_range_print(out, pg, np);
			fputc('\n', out);
			break;
		case BKM_EV_RUN_FREE:
			fprintf(out, "  the run at ");
			cmd_range_print(out, pg, np);
			fprintf(out, " goes back to the zone\n");
			break;
		default: /* arenas, huge blocks and releases do not happen in the session's arena */
			break;
		}
	}
}

/* The first block the command took from the zone (slab or run): its pages. */
static int taken_range(const struct cmd_session *s, size_t *pg, size_t *np)
{
	for (size_t i = 0; i < s->nkevents; i++) {
		const struct bkm_event *ev = &s->kevents[i];
		if (ev->kind == BKM_EV_SLAB_NEW || ev->kind == BKM_EV_RUN) {
			*pg = km_page_of(s, ev->addr);
			*np = ev->bytes / s->km_page;
			return 1;
		}
	}
	return 0;
}

/* The first block the command gave back to the zone: its pages. */
static int given_range(const struct cmd_session *s, size_t *pg, size_t *np)
{
	for (size_t i = 0; i < s->nkevents; i++) {
		const struct bkm_event *ev = &s->kevents[i];
		if (ev->kind == BKM_EV_SLAB_FREE || ev->kind == BKM_EV_RUN_FREE) {
			*pg = km_page_of(s, ev->addr);
			*np = ev->bytes / s->km_page;
			return 1;
		}
	}
	return 0;
}

/* The order of the smallest block holding n pages, and its pages. */
static unsigned block_order(size_t n)
{
	unsigned k = 0;
	while (((size_t)1 << k) < n)
		k++;
	return k;
}

static size_t block_pages(size_t n)
{
	return (size_t)1 << block_order(n);
}

/* Everything the zone did: new slabs and runs with their splits, frees with their merges. */
static void zone_story(const struct cmd_session *s, FILE *out)
{
	size_t pg, np;
	kevents_print(s, out);
	if (taken_range(s, &pg, &np)) {
		int split = 0;
		for (size_t i = 0; i < s->nevents && !split; i++)
			split = s->events[i].kind == BUDDY_EV_SPLIT;
		if (split)
			cmd_splits_print(s, out, &(struct cmd_taken){ pg + np, pg + block_pages(np),
								    block_order(np) }, "  ");
		else if ((np & (np - 1)) == 0)
			fprintf(out, "  taken whole from a free block, no split\n");
	}
	if (given_range(s, &pg, &np) && !cmd_merges_print(s, out, pg, np, "  "))
		fprintf(out, "  no merge: no buddy of it is free\n");
}

static int size_check(const struct cmd_session *s, const char *name, unsigned long long bytes,
		      char *msg, size_t n)
{
	if (bytes == 0 || bytes > s->opt.arena_bytes) {
		snprintf(msg, n, "%s: size must be 1 to %zu bytes (the arena)", name,
			 s->opt.arena_bytes);
		return -1;
	}
	return 0;
}

int cmd_kmalloc_alloc(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n)
{
	unsigned long long bytes = c->num[0];
	if (c->kind == CMD_CALLOC && c->num[1] && c->num[0] > ~0ULL / c->num[1]) {
		snprintf(msg, n, "calloc: %llu * %llu overflows", c->num[0], c->num[1]);
		return -1;
	}
	if (c->kind == CMD_CALLOC)
		bytes = c->num[0] * c->num[1];
	if (size_check(s, cmd_name(c->kind), bytes, msg, n))
		return -1;
	void *p = c->kind == CMD_CALLOC
			  ? s->heap.ops->calloc(s->heap.self, (size_t)c->num[0], (size_t)c->num[1])
			  : s->heap.ops->malloc(s->heap.self, (size_t)bytes);
	if (!p) {
		snprintf(msg, n, "%s: out of memory: no free block large enough", cmd_name(c->kind));
		return -1;
	}
	struct bkm_block_info bi;
	bkm_block_info(s->km, p, &bi);
	struct handle *h = session_handle_add(s, p, (size_t)((uintptr_t)p - s->km_base), bi.size,
					      (size_t)bytes);
	if (!h) {
		s->heap.ops->free(s->heap.self, p);
		snprintf(msg, n, "out of memory for the handle table");
		return -1;
	}
	char sz[32];
	fmt_size(sz, sizeof(sz), bi.size);
	fprintf(out, "#%lu = %s", h->id, cmd_name(c->kind));
	for (int i = 0; i < c->nnum; i++)
		fprintf(out, " %llu", c->num[i]);
	fprintf(out, " -> offset 0x%zx, %s: ", h->off, sz);
	where_print(s, out, &bi);
	fputc('\n', out);
	if (bi.kind == BKM_BLOCK_SMALL && !s->nkevents)
		fprintf(out, "  from a slab the cache held, no page taken\n");
	zone_story(s, out);
	return 0;
}

int cmd_kmalloc_free(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n)
{
	struct handle *h = session_target(s, c, msg, n);
	if (!h)
		return -1;
	struct bkm_block_info bi;
	bkm_block_info(s->km, h->ptr, &bi);
	char sz[32];
	fmt_size(sz, sizeof(sz), h->bytes);
	fprintf(out, "free #%lu: offset 0x%zx, %s: ", h->id, h->off, sz);
	where_print(s, out, &bi);
	fputc('\n', out);
	s->heap.ops->free(s->heap.self, h->ptr);
	if (bi.kind == BKM_BLOCK_SMALL && !s->nkevents) {
		const struct bslab_slab *sl = bi.slab;
		fprintf(out, "  back on its slab's free list (%u of %u in use now)\n",
			(unsigned)sl->inuse, (unsigned)sl->objs);
	}
	zone_story(s, out);
	session_handle_remove(s, h);
	return 0;
}

int cmd_kmalloc_realloc(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg,
			size_t n)
{
	struct handle *h = session_target(s, c, msg, n);
	if (!h)
		return -1;
	if (size_check(s, "realloc", c->num[0], msg, n))
		return -1;
	void *p = s->heap.ops->realloc(s->heap.self, h->ptr, (size_t)c->num[0]);
	if (!p) {
		snprintf(msg, n, "realloc: out of memory: no free block large enough");
		return -1;
	}
	struct bkm_block_info bi;
	bkm_block_info(s->km, p, &bi);
	char sz[32];
	fmt_size(sz, sizeof(sz), bi.size);
	fprintf(out, "#%lu: %s offset 0x%zx, %s: ", h->id,
		p == h->ptr ? "resized in place at" : "moved to",
		(size_t)((uintptr_t)p - s->km_base), sz);
	where_print(s, out, &bi);
	fputc('\n', out);
	zone_story(s, out);
	h->ptr = p;
	h->off = (size_t)((uintptr_t)p - s->km_base);
	h->bytes = bi.size;
	session_handle_asked(s, h, (size_t)c->num[0]);
	return 0;
}
