/* SPDX-License-Identifier: MIT */
/*
 * cmd_pages.c - allocating and freeing in the pages mode, told as the
 * buddy algorithm does it.
 *
 * The core reports every split and merge through its log callback; the
 * session collects them for one command, and this file turns them into a
 * line or two: which block was split down to which order and which buddies
 * were freed on the way, or which buddies a freed block merged with.
 */
#include <string.h>

#include "session.h"

static size_t page_of(const struct cmd_session *s, const void *p)
{
	return (size_t)((const char *)p - (const char *)s->arena) / s->opt.page_size;
}

/* Smallest order whose block holds npages. */
static unsigned order_for(size_t npages)
{
	unsigned k = 0;
	while (((size_t)1 << k) < npages)
		k++;
	return k;
}

void cmd_range_print(FILE *out, size_t first, size_t npages)
{
	if (npages == 1)
		fprintf(out, "page %zu", first);
	else
		fprintf(out, "pages %zu-%zu", first, first + npages - 1);
}

/*
 * Print the split events as chains, each line starting with ind: "split
 * order 6 at page 0 -> 5 -> 4", then the upper halves that became free
 * blocks past the block taken ("buddies freed"), and for an exact
 * allocation the tail of its block that went back ("trimmed").
 */
void cmd_splits_print(const struct cmd_session *s, FILE *out, const struct cmd_taken *t,
		      const char *ind)
{
	size_t freed[SESSION_MAX_EVENTS], nfreed = 0;
	const struct buddy_event *prev = NULL;

	for (size_t i = 0; i < s->nevents; i++) {
		const struct buddy_event *ev = &s->events[i];
		if (ev->kind != BUDDY_EV_SPLIT)
			continue;
		if (prev && ev->page == prev->page && ev->order + 1 == prev->order)
			fprintf(out, " -> %u", ev->order - 1);
		else if (prev)
			fprintf(out, "; order %u at page %zu -> %u", ev->order, ev->page, ev->order - 1);
		else
			fprintf(out, "%ssplit order %u at page %zu -> %u", ind, ev->order, ev->page,
				ev->order - 1);
		size_t upper = ev->page + ((size_t)1 << (ev->order - 1));
		if (upper >= t->block_end)
			freed[nfreed++] = upper;
		prev = ev;
	}
	if (!prev)
		return;
	fputc('\n', out);
	if (nfreed) {
		fprintf(out, "%sbuddies freed at page%s", ind, nfreed == 1 ? "" : "s");
		for (size_t i = 0; i < nfreed; i++)
			fprintf(out, "%s %zu", i ? "," : "", freed[i]);
		fprintf(out, "%s\n", s->events_lost ? " (and more)" : "");
	}
	if (t->kept_end < t->block_end) {
		fprintf(out, "%strimmed: the order-%u block's unused tail, ", ind, t->order);
		cmd_range_print(out, t->kept_end, t->block_end - t->kept_end);
		fprintf(out, ", went back to the free lists\n");
	}
}

/* Which half of a just-merged block of `order` at page was the freed one. */
static size_t chain_start(size_t page, unsigned order, size_t a, size_t np)
{
	size_t upper = page + ((size_t)1 << (order - 1));
	return upper >= a && upper < a + np ? upper : page;
}

/* One chain of merges: the buddies absorbed, and the block they made. */
struct chain {
	size_t buddies[BUDDY_NR_ORDERS]; /* page of each buddy absorbed, in order */
	size_t n;                        /* buddies absorbed */
	size_t page;                     /* the merged block */
	unsigned order;                  /* its order */
};

static void chain_print(FILE *out, const struct chain *ch, int first, const char *ind)
{
	fprintf(out, "%s%s %s", first ? ind : "", first ? "merged with" : "; with",
		ch->n == 1 ? "buddy at page" : "buddies at pages");
	for (size_t i = 0; i < ch->n; i++)
		fprintf(out, "%s %zu", i ? "," : "", ch->buddies[i]);
	fprintf(out, " -> order %u at page %zu", ch->order, ch->page);
}

/*
 * Print the merge events as chains: "merged with buddies at pages 1, 2, 4
 * -> order 3 at page 0". [a, a+np) is the freed allocation. Returns the
 * number of merges.
 */
size_t cmd_merges_print(const struct cmd_session *s, FILE *out, size_t a, size_t np,
			const char *ind)
{
	struct chain ch = { { 0 }, 0, 0, 0 };
	size_t chains = 0, merges = 0;

	for (size_t i = 0; i < s->nevents; i++) {
		const struct buddy_event *ev = &s->events[i];
		if (ev->kind != BUDDY_EV_MERGE)
			continue;
		int cont = ch.n && ev->order == ch.order + 1 &&
			   ev->page == (ch.page & ~(((size_t)1 << ev->order) - 1));
		if (!cont) {
			if (ch.n)
				chain_print(out, &ch, chains++ == 0, ind);
			ch.n = 0;
			ch.page = chain_start(ev->page, ev->order, a, np);
		}
		if (ch.n < BUDDY_NR_ORDERS)
			ch.buddies[ch.n++] = ch.page ^ ((size_t)1 << (ev->order - 1));
		ch.page = ev->page;
		ch.order = ev->order;
		merges++;
	}
	if (ch.n) {
		chain_print(out, &ch, chains == 0, ind);
		fprintf(out, "%s\n", s->events_lost ? " (and more)" : "");
	}
	return merges;
}

/* Why a freed block of `order` at page did not merge. */
static void nomerge_print(const struct cmd_session *s, FILE *out, size_t page, unsigned order,
			  const char *ind)
{
	struct buddy_stats st;
	buddy_get_stats(&s->zone, &st);
	size_t buddy = page ^ ((size_t)1 << order);
	if (order >= st.max_order)
		fprintf(out, "%sno merge: order %u is the largest\n", ind, order);
	else if (buddy + ((size_t)1 << order) > st.total_pages)
		fprintf(out, "%sno merge: its buddy would lie past the end of the arena\n", ind);
	else
		fprintf(out, "%sno merge: its buddy at page %zu is not a free order-%u block\n", ind,
			buddy, order);
}

static int core_fail(struct cmd_session *s, const char *what, char *msg, size_t n)
{
	int st = buddy_last_error(&s->zone);
	struct buddy_stats bs;
	buddy_get_stats(&s->zone, &bs);
	if (st == BUDDY_ENOMEM)
		snprintf(msg, n, "%s: out of memory: no free block large enough (%zu of %zu pages free)",
			 what, bs.free_pages, bs.total_pages);
	else
		snprintf(msg, n, "%s: %s", what, buddy_strerror(st));
	return -1;
}

/* Record a new allocation of npages at p; -1 when the handle table is full. */
static struct handle *handle_new(struct cmd_session *s, void *p, size_t npages, size_t asked,
				 char *msg, size_t n)
{
	struct handle *h = session_handle_add(s, p, (size_t)((char *)p - (char *)s->arena),
					      npages * s->opt.page_size, asked);
	if (!h) {
		buddy_free(&s->zone, p);
		snprintf(msg, n, "out of memory for the handle table");
	}
	return h;
}

/* The block to ask the core for: order (or npages for `pages`), and flags. */
static int request_of(struct cmd_session *s, const struct cmd *c, size_t *npages,
		      int *exact, char *msg, size_t n)
{
	unsigned long long bytes = c->num[0];
	struct buddy_stats st;
	buddy_get_stats(&s->zone, &st);
	size_t maxp = (size_t)1 << st.max_order;
	*exact = c->kind == CMD_PAGES;
	if (c->kind == CMD_ALLOC) {
		if (c->num[0] > st.max_order) {
			snprintf(msg, n, "alloc: order %llu above the maximum (%u)", c->num[0],
				 st.max_order);
			return -1;
		}
		*npages = (size_t)1 << c->num[0];
		return 0;
	}
	if (c->kind == CMD_CALLOC) {
		if (c->num[1] && c->num[0] > ~0ULL / c->num[1]) {
			snprintf(msg, n, "calloc: %llu * %llu overflows", c->num[0], c->num[1]);
			return -1;
		}
		bytes = c->num[0] * c->num[1];
	}
	if (c->kind == CMD_PAGES) {
		if (c->num[0] == 0 || c->num[0] > maxp) {
			snprintf(msg, n, "pages: count must be 1 to %zu (the largest block)", maxp);
			return -1;
		}
		*npages = (size_t)c->num[0];
		return 0;
	}
	if (bytes == 0 || bytes > (unsigned long long)maxp * st.page_size) {
		snprintf(msg, n, "%s: size must be 1 to %zu bytes (the largest block)",
			 cmd_name(c->kind), maxp * st.page_size);
		return -1;
	}
	*npages = (size_t)1 << order_for((size_t)((bytes + st.page_size - 1) / st.page_size));
	return 0;
}

int cmd_pages_alloc(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n)
{
	size_t np;
	int exact;
	if (request_of(s, c, &np, &exact, msg, n))
		return -1;
	unsigned flags = c->kind == CMD_CALLOC ? BUDDY_ZERO : 0;
	void *p = exact ? buddy_alloc_pages_exact(&s->zone, np, flags)
			: buddy_alloc_pages(&s->zone, order_for(np), flags);
	if (!p)
		return core_fail(s, cmd_name(c->kind), msg, n);
	size_t asked = c->kind == CMD_CALLOC ? (size_t)(c->num[0] * c->num[1])
		       : c->kind == CMD_MALLOC ? (size_t)c->num[0] : np * s->opt.page_size;
	struct handle *h = handle_new(s, p, np, asked, msg, n);
	if (!h)
		return -1;
	size_t pg = page_of(s, p);
	fprintf(out, "#%lu = %s", h->id, cmd_name(c->kind));
	for (int i = 0; i < c->nnum; i++)
		fprintf(out, " %llu", c->num[i]);
	fprintf(out, " -> ");
	cmd_range_print(out, pg, np);
	fprintf(out, " (offset 0x%zx, order %u%s)\n", h->off, order_for(np),
		exact && (np & (np - 1)) ? ", trimmed" : "");
	if (s->nevents)
		cmd_splits_print(s, out,
				 &(struct cmd_taken){ pg + np, pg + ((size_t)1 << order_for(np)),
						      order_for(np) }, "  ");
	else
		fprintf(out, "  taken whole from the order-%u free list, no split\n", order_for(np));
	return 0;
}

/* Free h's pages and tell how they merged. */
static void pages_release(struct cmd_session *s, struct handle *h, FILE *out, const char *ind)
{
	size_t pg = page_of(s, h->ptr), np = h->bytes / s->opt.page_size;
	buddy_free(&s->zone, h->ptr);
	if (!cmd_merges_print(s, out, pg, np, ind)) {
		if (np & (np - 1))
			fprintf(out, "%sno merge: no buddy of its blocks is free\n", ind);
		else
			nomerge_print(s, out, pg, order_for(np), ind);
	}
}

int cmd_pages_free(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n)
{
	struct handle *h = session_target(s, c, msg, n);
	if (!h)
		return -1;
	size_t pg = page_of(s, h->ptr), np = h->bytes / s->opt.page_size;
	fprintf(out, "free #%lu: ", h->id);
	cmd_range_print(out, pg, np);
	if (np & (np - 1))
		fprintf(out, " (offset 0x%zx, %zu pages)\n", h->off, np);
	else
		fprintf(out, " (offset 0x%zx, order %u)\n", h->off, order_for(np));
	pages_release(s, h, out, "  ");
	session_handle_remove(s, h);
	return 0;
}

/* Grow or shrink h in place to new_order; 0 done, -1 not possible here. */
static int realloc_in_place(struct cmd_session *s, struct handle *h, unsigned new_order, FILE *out)
{
	size_t np = h->bytes / s->opt.page_size, pg = page_of(s, h->ptr);
	if ((np & (np - 1)) || buddy_resize(&s->zone, h->ptr, new_order) != BUDDY_OK)
		return -1;
	fprintf(out, "#%lu: order %u -> %u in place, ", h->id, order_for(np), new_order);
	cmd_range_print(out, pg, (size_t)1 << new_order);
	fprintf(out, "\n");
	if (new_order < order_for(np)) {
		size_t end = pg + ((size_t)1 << new_order);
		cmd_splits_print(s, out, &(struct cmd_taken){ end, end, new_order }, "  ");
	} else {
		fprintf(out, "  absorbed free buddies at pages");
		for (size_t i = 0; i < s->nevents; i++)
			fprintf(out, "%s %zu", i ? "," : "",
				pg + ((size_t)1 << (s->events[i].order - 1)));
		fprintf(out, "\n");
	}
	h->bytes = ((size_t)1 << new_order) * s->opt.page_size;
	return 0;
}

/* Move h to a new block of new_order: allocate, copy, free the old one. */
static int realloc_move(struct cmd_session *s, struct handle *h, unsigned new_order, FILE *out,
			char *msg, size_t n)
{
	s->nevents = 0;
	void *p = buddy_alloc_pages(&s->zone, new_order, 0);
	if (!p)
		return core_fail(s, "realloc", msg, n);
	size_t newb = ((size_t)1 << new_order) * s->opt.page_size;
	memcpy(p, h->ptr, newb < h->bytes ? newb : h->bytes);
	fprintf(out, "#%lu: moved from ", h->id);
	cmd_range_print(out, page_of(s, h->ptr), h->bytes / s->opt.page_size);
	fprintf(out, " to ");
	cmd_range_print(out, page_of(s, p), (size_t)1 << new_order);
	fprintf(out, " (offset 0x%zx, order %u): no room to grow in place\n",
		(size_t)((char *)p - (char *)s->arena), new_order);
	/* Two stories, each under its own heading: the new block's, then the old one's. */
	size_t end = page_of(s, p) + ((size_t)1 << new_order);
	fprintf(out, "  the new block, ");
	cmd_range_print(out, page_of(s, p), (size_t)1 << new_order);
	fprintf(out, ":\n");
	if (s->nevents)
		cmd_splits_print(s, out, &(struct cmd_taken){ end, end, new_order }, "    ");
	else
		fprintf(out, "    taken whole from the order-%u free list, no split\n", new_order);
	s->nevents = 0;
	fprintf(out, "  the old block, ");
	cmd_range_print(out, page_of(s, h->ptr), h->bytes / s->opt.page_size);
	fprintf(out, ", freed:\n");
	pages_release(s, h, out, "    ");
	h->ptr = p;
	h->off = (size_t)((char *)p - (char *)s->arena);
	h->bytes = newb;
	return 0;
}

int cmd_pages_realloc(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n)
{
	struct handle *h = session_target(s, c, msg, n);
	if (!h)
		return -1;
	struct cmd req = *c;
	req.kind = CMD_MALLOC;
	req.num[0] = c->num[0];
	size_t np;
	int exact;
	if (request_of(s, &req, &np, &exact, msg, n)) {
		struct buddy_stats st;
		buddy_get_stats(&s->zone, &st);
		snprintf(msg, n, "realloc: size must be 1 to %zu bytes (the largest block)",
			 ((size_t)1 << st.max_order) * st.page_size);
		return -1;
	}
	unsigned new_order = order_for(np);
	size_t old_np = h->bytes / s->opt.page_size;
	if (np == old_np) {
		fprintf(out, "#%lu: already order %u, nothing to move\n", h->id, new_order);
		session_handle_asked(s, h, (size_t)c->num[0]);
		return 0;
	}
	if (realloc_in_place(s, h, new_order, out) &&
	    realloc_move(s, h, new_order, out, msg, n))
		return -1;
	session_handle_asked(s, h, (size_t)c->num[0]);
	return 0;
}
