/* SPDX-License-Identifier: MIT */
/*
 * cmd_heap.c - malloc, calloc, realloc and free on the byte heaps (buddy
 * heap and best fit), through the common balloc interface.
 *
 * The heaps have no event log, so the story of a command is read from the
 * free blocks before and after it: blocks that vanished were split or
 * merged, blocks that appeared are what was left over or what the merge
 * made.
 */
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define SNAP_MAX 4096 /* free blocks remembered per snapshot; more are ignored */

struct fblock {
	size_t off;  /* bytes from the heap start */
	size_t size; /* bytes */
	int order;   /* buddy order, or -1 */
};

struct snapshot {
	struct fblock *b; /* free blocks in address order */
	size_t n;         /* how many */
	size_t cap;       /* allocated entries */
	void *find;       /* walk: the allocated block to locate */
	size_t found_off; /* its offset */
	size_t found_size; /* its size */
};

static int snap_block(void *arg, const struct balloc_block *blk)
{
	struct snapshot *sn = arg;
	if (blk->allocated) {
		if (blk->addr == sn->find) {
			sn->found_off = blk->offset;
			sn->found_size = blk->size;
		}
		return 0;
	}
	if (sn->n == sn->cap) {
		size_t cap = sn->cap ? sn->cap * 2 : 64;
		if (cap > SNAP_MAX)
			return 0;
		struct fblock *nb = realloc(sn->b, cap * sizeof(*nb));
		if (!nb)
			return 0;
		sn->b = nb;
		sn->cap = cap;
	}
	sn->b[sn->n++] = (struct fblock){ blk->offset, blk->size, blk->order };
	return 0;
}

static void snap_take(struct cmd_session *s, struct snapshot *sn, void *find)
{
	memset(sn, 0, sizeof(*sn));
	sn->find = find;
	sn->found_off = 0;
	s->heap.ops->walk(s->heap.self, snap_block, sn);
}

static int snap_has(const struct snapshot *sn, const struct fblock *f)
{
	for (size_t i = 0; i < sn->n; i++)
		if (sn->b[i].off == f->off && sn->b[i].size == f->size)
			return 1;
	return 0;
}

static void fblock_print(FILE *out, const struct fblock *f)
{
	char sz[32];
	fmt_size(sz, sizeof(sz), f->size);
	fprintf(out, " 0x%zx (%s)", f->off, sz);
}

/* Print the blocks of a that are not in b, at most 6; returns how many there were. */
static size_t diff_print(FILE *out, const struct snapshot *a, const struct snapshot *b)
{
	size_t count = 0;
	for (size_t i = 0; i < a->n; i++) {
		if (snap_has(b, &a->b[i]))
			continue;
		if (count < 6) {
			fprintf(out, "%s", count ? "," : "");
			fblock_print(out, &a->b[i]);
		}
		count++;
	}
	if (count > 6)
		fprintf(out, ", ... (%zu in all)", count);
	return count;
}

/* The story of an allocation: which free block it came from, what was left. */
static void alloc_story(FILE *out, const struct snapshot *before, const struct snapshot *after)
{
	fprintf(out, "  taken from free block");
	if (!diff_print(out, before, after))
		fprintf(out, "s of the arena, mapped just now");
	fprintf(out, "\n  left free:");
	if (!diff_print(out, after, before))
		fprintf(out, " nothing (the block fit)");
	fputc('\n', out);
}

static void snap_free(struct snapshot *sn)
{
	free(sn->b);
	sn->b = NULL;
}

/* "NAME: out of memory: ... (3968 of 4096 bytes free, the largest 2 KiB)", as the pages mode says it. */
static int heap_oom(struct cmd_session *s, const char *name, char *msg, size_t n)
{
	struct balloc_stats st;
	char largest[32];
	memset(&st, 0, sizeof(st));
	s->heap.ops->stats(s->heap.self, &st);
	fmt_size(largest, sizeof(largest), st.largest_free_bytes);
	snprintf(msg, n, "%s: out of memory: no free block large enough (%zu of %zu bytes free, "
		 "the largest %s)", name, st.free_bytes, s->opt.arena_bytes, largest);
	return -1;
}

int cmd_heap_alloc(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n)
{
	unsigned long long bytes = c->num[0];
	if (c->kind == CMD_CALLOC && c->num[1] && c->num[0] > ~0ULL / c->num[1]) {
		snprintf(msg, n, "calloc: %llu * %llu overflows", c->num[0], c->num[1]);
		return -1;
	}
	if (c->kind == CMD_CALLOC)
		bytes = c->num[0] * c->num[1];
	if (bytes == 0 || bytes > s->opt.arena_bytes) {
		snprintf(msg, n, "%s: size must be 1 to %zu bytes (the arena)",
			 cmd_name(c->kind), s->opt.arena_bytes);
		return -1;
	}
	struct snapshot before, after;
	snap_take(s, &before, NULL);
	void *p = c->kind == CMD_CALLOC
			  ? s->heap.ops->calloc(s->heap.self, (size_t)c->num[0], (size_t)c->num[1])
			  : s->heap.ops->malloc(s->heap.self, (size_t)bytes);
	if (!p) {
		snap_free(&before);
		return heap_oom(s, cmd_name(c->kind), msg, n);
	}
	snap_take(s, &after, p);
	struct handle *h = session_handle_add(s, p, after.found_off, after.found_size, (size_t)bytes);
	if (!h) {
		s->heap.ops->free(s->heap.self, p);
		snprintf(msg, n, "out of memory for the handle table");
	} else {
		char sz[32];
		fmt_size(sz, sizeof(sz), h->bytes);
		fprintf(out, "#%lu = %s", h->id, cmd_name(c->kind));
		for (int i = 0; i < c->nnum; i++)
			fprintf(out, " %llu", c->num[i]);
		fprintf(out, " -> offset 0x%zx, a %s block\n", h->off, sz);
		alloc_story(out, &before, &after);
	}
	snap_free(&before);
	snap_free(&after);
	return h ? 0 : -1;
}

int cmd_heap_free(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n)
{
	struct handle *h = session_target(s, c, msg, n);
	if (!h)
		return -1;
	struct snapshot before, after;
	char sz[32];
	snap_take(s, &before, NULL);
	s->heap.ops->free(s->heap.self, h->ptr);
	snap_take(s, &after, NULL);
	fmt_size(sz, sizeof(sz), h->bytes);
	fprintf(out, "free #%lu: offset 0x%zx, %s\n", h->id, h->off, sz);
	fprintf(out, "  now free:");
	diff_print(out, &after, &before);
	fprintf(out, "\n");
	if (before.n + 1 > after.n) {
		fprintf(out, "  merged with free block%s", before.n + 1 - after.n > 1 ? "s" : "");
		diff_print(out, &before, &after);
		fprintf(out, "\n");
	} else {
		fprintf(out, "  no merge: no free neighbour%s\n",
			s->opt.mode == MODE_HEAP ? " is its buddy" : "");
	}
	session_handle_remove(s, h);
	snap_free(&before);
	snap_free(&after);
	return 0;
}

int cmd_heap_realloc(struct cmd_session *s, const struct cmd *c, FILE *out, char *msg, size_t n)
{
	struct handle *h = session_target(s, c, msg, n);
	if (!h)
		return -1;
	if (c->num[0] == 0 || c->num[0] > s->opt.arena_bytes) {
		snprintf(msg, n, "realloc: size must be 1 to %zu bytes (the arena)", s->opt.arena_bytes);
		return -1;
	}
	struct snapshot before, after;
	snap_take(s, &before, NULL);
	void *p = s->heap.ops->realloc(s->heap.self, h->ptr, (size_t)c->num[0]);
	if (!p) {
		snap_free(&before);
		return heap_oom(s, "realloc", msg, n);
	}
	snap_take(s, &after, p);
	char sz[32];
	fmt_size(sz, sizeof(sz), after.found_size);
	fprintf(out, "#%lu: %s offset 0x%zx, a %s block\n", h->id,
		p == h->ptr ? "resized in place at" : "moved to", after.found_off, sz);
	if (p != h->ptr) {
		char old[32];
		fmt_size(old, sizeof(old), h->bytes);
		fprintf(out, "  the old block at 0x%zx (%s) was freed after the copy\n", h->off, old);
	}
	fprintf(out, "  free blocks gone:");
	if (!diff_print(out, &before, &after))
		fprintf(out, " none");
	fprintf(out, "\n  free blocks new:");
	if (!diff_print(out, &after, &before))
		fprintf(out, " none");
	fputc('\n', out);
	h->ptr = p;
	h->off = after.found_off;
	h->bytes = after.found_size;
	session_handle_asked(s, h, (size_t)c->num[0]);
	snap_free(&before);
	snap_free(&after);
	return 0;
}
