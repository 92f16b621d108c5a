/* SPDX-License-Identifier: MIT */
/*
 * picture.c - the arena as a list of blocks in units, built from the
 * allocators' public walks, for the terminal map and the SVG alike.
 *
 * Pages mode: one unit is one page; an exact allocation (several blocks
 * chained) is shown as one allocated stretch. Heap modes: one unit is the
 * buddy heap's order-0 block, or for other heaps the largest power of two
 * (at most 16) dividing every block offset and size, so each block is a
 * whole number of units; gaps the walk does not cover are shown as
 * allocated without a handle (allocator overhead). kmalloc mode: one unit
 * is one zone page; a slab is one block labelled with its cache and how
 * many of its objects are in use, a run one block with its handle.
 */
#include <stdlib.h>
#include <string.h>

#include "session.h"

unsigned palette_index(unsigned long id)
{
	return (unsigned)((id + PALETTE_SIZE - 1) % PALETTE_SIZE);
}

struct builder {
	struct vpicture *p;
	struct cmd_session *s;
	size_t cap;    /* entries allocated in p->blocks */
	int failed;    /* out of memory */
};

static int block_push(struct builder *b, size_t start, size_t len, int alloc, int order,
		      unsigned long handle)
{
	struct vpicture *p = b->p;
	if (p->nblocks == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct vblock *nb = realloc(p->blocks, cap * sizeof(*nb));
		if (!nb) {
			b->failed = 1;
			return 1;
		}
		p->blocks = nb;
		b->cap = cap;
	}
	struct vblock *v = &p->blocks[p->nblocks++];
	v->start = start;
	v->len = len;
	v->allocated = alloc;
	v->order = order;
	v->handle = handle;
	v->label = NULL;
	v->inuse = v->objs = 0;
	if (!alloc) {
		p->nr_free[order < 0 ? BUDDY_NR_ORDERS : (unsigned)order]++;
		p->free_units += len;
	}
	return 0;
}

static int page_block(void *arg, const struct buddy_block *blk)
{
	struct builder *b = arg;
	struct cmd_session *s = b->s;
	size_t len = (size_t)1 << blk->order;
	struct vpicture *p = b->p;
	if (blk->state == BUDDY_BLOCK_ALLOCATED && !blk->first && p->nblocks &&
	    p->blocks[p->nblocks - 1].allocated) {
		p->blocks[p->nblocks - 1].len += len; /* continues an exact allocation */
		return 0;
	}
	unsigned long id = 0;
	if (blk->state == BUDDY_BLOCK_ALLOCATED) {
		struct handle *h = session_handle_at(s, blk->page * s->opt.page_size);
		id = h ? h->id : 0;
	}
	return block_push(b, blk->page, len, blk->state == BUDDY_BLOCK_ALLOCATED,
			  blk->state == BUDDY_BLOCK_ALLOCATED ? -1 : (int)blk->order, id);
}

/* First pass over a heap: the unit (lowest set bit of all offsets and sizes) and the end. */
struct heap_scan {
	size_t bits;  /* OR of every offset and size */
	size_t end;   /* end of the last block */
	int maxo;     /* largest order seen, or -1 */
	size_t order0; /* bytes of an order-0 block (size >> order), 0 if no orders */
};

static int heap_scan_block(void *arg, const struct balloc_block *blk)
{
	struct heap_scan *hs = arg;
	hs->bits |= blk->offset | blk->size;
	if (blk->offset + blk->size > hs->end)
		hs->end = blk->offset + blk->size;
	if (blk->order > hs->maxo)
		hs->maxo = blk->order;
	if (blk->order >= 0 && blk->order < 64)
		hs->order0 = blk->size >> blk->order;
	return 0;
}

static int heap_block(void *arg, const struct balloc_block *blk)
{
	struct builder *b = arg;
	struct vpicture *p = b->p;
	size_t u = p->unit_bytes, start = blk->offset / u;
	size_t prev_end = p->nblocks ? p->blocks[p->nblocks - 1].start + p->blocks[p->nblocks - 1].len
				     : 0;
	if (start > prev_end && block_push(b, prev_end, start - prev_end, 1, -1, 0))
		return 1;
	unsigned long id = 0;
	if (blk->allocated)
		for (size_t i = 0; i < b->s->nhandles && !id; i++)
			if (b->s->handles[i].ptr == blk->addr)
				id = b->s->handles[i].id;
	return block_push(b, start, blk->size / u, blk->allocated,
			  blk->allocated ? -1 : blk->order, id);
}

static int heap_picture(struct builder *b)
{
	struct cmd_session *s = b->s;
	struct heap_scan hs = { 0, 0, -1, 0 };
	if (!s->heap.ops->walk)
		return -1;
	s->heap.ops->walk(s->heap.self, heap_scan_block, &hs);
	/* The unit: the order-0 block of a buddy heap; else the largest power
	 * of two dividing every offset and size, at most 16 bytes. */
	size_t u = hs.bits ? hs.bits & (~hs.bits + 1) : 16;
	u = u > 16 ? 16 : u;
	if (hs.order0 && (hs.bits & (hs.order0 - 1)) == 0)
		u = hs.order0;
	b->p->unit_bytes = u;
	b->p->unit_name = "granule";
	b->p->byte_pos = 1;
	b->p->max_order = hs.maxo;
	b->p->units = hs.end / u;
	s->heap.ops->walk(s->heap.self, heap_block, b);
	return 0;
}

static int km_block(void *arg, const struct bkm_block *kb)
{
	struct builder *b = arg;
	struct cmd_session *s = b->s;
	struct vpicture *p = b->p;
	if (kb->kind == BKM_BLOCK_HUGE)
		return 0; /* outside the arena */
	const void *first = kb->kind == BKM_BLOCK_SMALL ? kb->slab : kb->addr;
	size_t start = (size_t)((uintptr_t)first - s->km_base) / s->km_page;
	size_t prev_end = 0;
	if (p->nblocks) {
		const struct vblock *last = &p->blocks[p->nblocks - 1];
		if (kb->kind == BKM_BLOCK_SMALL && last->label && last->start == start)
			return 0; /* another object of the slab already drawn */
		prev_end = last->start + last->len;
	}
	if (start > prev_end && block_push(b, prev_end, start - prev_end, 1, -1, 0))
		return 1;
	if (kb->kind == BKM_BLOCK_NONE)
		return block_push(b, start, kb->size / s->km_page, 0, kb->order, 0);
	if (kb->kind == BKM_BLOCK_LARGE) {
		unsigned long id = 0;
		for (size_t i = 0; i < s->nhandles && !id; i++)
			if (s->handles[i].ptr == kb->addr)
				id = s->handles[i].id;
		return block_push(b, start, kb->size / s->km_page, 1, -1, id);
	}
	const struct bslab_slab *sl = kb->slab;
	if (block_push(b, start, (size_t)1 << sl->order, 1, -1, 0))
		return 1;
	struct vblock *v = &p->blocks[p->nblocks - 1];
	v->label = kb->cache->name;
	v->inuse = sl->inuse;
	v->objs = sl->objs;
	return 0;
}

static void km_picture(struct builder *b)
{
	struct cmd_session *s = b->s;
	struct buddy_stats st;
	buddy_get_stats(bkm_zone(s->km), &st);
	b->p->units = st.total_pages;
	b->p->unit_bytes = st.page_size;
	b->p->unit_name = "page";
	b->p->max_order = (int)st.max_order;
	bkm_walk(s->km, km_block, b);
}

int vpicture_build(struct cmd_session *s, struct vpicture *p, char *msg, size_t n)
{
	struct builder b = { p, s, 0, 0 };
	memset(p, 0, sizeof(*p));
	if (s->opt.mode == MODE_PAGES) {
		struct buddy_stats st;
		buddy_get_stats(&s->zone, &st);
		p->units = st.total_pages;
		p->unit_bytes = st.page_size;
		p->unit_name = "page";
		p->max_order = (int)st.max_order;
		buddy_walk(&s->zone, page_block, &b);
	} else if (s->opt.mode == MODE_KMALLOC) {
		km_picture(&b);
	} else if (heap_picture(&b)) {
		snprintf(msg, n, "this allocator cannot be walked");
		return -1;
	}
	if (b.failed) {
		vpicture_free(p);
		snprintf(msg, n, "out of memory for the picture");
		return -1;
	}
	return 0;
}

int vpicture_pos(const struct vpicture *p, size_t u, char *buf, size_t n)
{
	return p->byte_pos ? snprintf(buf, n, "0x%zx", u * p->unit_bytes) : snprintf(buf, n, "%zu", u);
}

void vpicture_free(struct vpicture *p)
{
	free(p->blocks);
	p->blocks = NULL;
	p->nblocks = 0;
}
