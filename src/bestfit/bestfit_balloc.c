/* SPDX-License-Identifier: MIT */
/*
 * bestfit_balloc.c - the best-fit heap behind the common allocator
 * interface (struct balloc, "bestfit"), so the tools and benchmarks drive
 * it exactly like the buddy heap and the system malloc.
 *
 * The instance owns the heap's memory when it mapped it itself (no buffer
 * in the options) and unmaps it on destroy; a caller buffer stays the
 * caller's. Bad pointers go to the options' error handler (the heap's own
 * on_error) when there is one, otherwise to the heap's default (message and
 * abort), as with the C library.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "buddy/alloc.h"
#include "buddy/bestfit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct bestfit_instance {
	struct bfit *heap; /* the heap, at the start of map or of the caller's buffer */
	void *map;         /* memory mapped for the heap, NULL for a caller buffer */
	size_t map_bytes;  /* length of map */
};

static struct bfit *heap_of(void *self)
{
	return ((struct bestfit_instance *)self)->heap;
}

static void *op_malloc(void *self, size_t size)
{
	return bfit_malloc(heap_of(self), size);
}

static void *op_calloc(void *self, size_t n, size_t size)
{
	return bfit_calloc(heap_of(self), n, size);
}

static void *op_realloc(void *self, void *p, size_t size)
{
	return bfit_realloc(heap_of(self), p, size);
}

static void op_free(void *self, void *p)
{
	bfit_free(heap_of(self), p);
}

static void *op_aligned_alloc(void *self, size_t align, size_t size)
{
	return bfit_aligned_alloc(heap_of(self), align, size);
}

static size_t op_usable_size(void *self, const void *p)
{
	return bfit_usable_size(heap_of(self), p);
}

static void op_stats(void *self, struct balloc_stats *st)
{
	struct bfit_stats bs;

	bfit_get_stats(heap_of(self), &bs);
	memset(st, 0, sizeof *st);
	st->held_bytes = bs.used_bytes;
	st->live_allocs = bs.live_allocs;
	st->footprint_bytes = bs.footprint_bytes;
	st->peak_footprint_bytes = bs.peak_footprint_bytes;
	st->free_bytes = bs.free_bytes;
	st->largest_free_bytes = bs.largest_free_bytes;
	st->free_blocks = bs.free_blocks;
	st->failures = bs.failures;
	st->fragmentation = bs.fragmentation;
}

static size_t op_check(void *self, buddy_report_fn report, void *arg)
{
	return bfit_check(heap_of(self), report, arg);
}

struct walk_relay {
	balloc_walk_fn fn; /* the caller's callback */
	void *arg;         /* and its argument */
};

static int walk_relay_block(void *arg, const struct bfit_block *b)
{
	struct walk_relay *r = arg;
	struct balloc_block blk = { b->ptr, b->offset, b->size, b->allocated, -1 };

	return r->fn(r->arg, &blk);
}

static int op_walk(void *self, balloc_walk_fn fn, void *arg)
{
	struct walk_relay r = { fn, arg };

	return bfit_walk(heap_of(self), walk_relay_block, &r);
}

static void op_destroy(void *self)
{
	struct bestfit_instance *in = self;

	if (in->map)
		munmap(in->map, in->map_bytes);
	free(in);
}

static const struct balloc_ops bestfit_ops = {
	.name = "bestfit",
	.malloc = op_malloc,
	.calloc = op_calloc,
	.realloc = op_realloc,
	.free = op_free,
	.aligned_alloc = op_aligned_alloc,
	.usable_size = op_usable_size,
	.stats = op_stats,
	.check = op_check,
	.walk = op_walk,
	.destroy = op_destroy,
};

/* Find memory for the heap: the caller's buffer, or a fresh mapping. */
static int instance_memory(struct bestfit_instance *in, const struct balloc_options *opt,
			   void **buf, size_t *len)
{
	if (opt && opt->buffer) {
		*buf = opt->buffer;
		*len = opt->buffer_bytes;
		return 0;
	}
	*len = opt && opt->arena_bytes ? opt->arena_bytes : BFIT_DEMO_BYTES;
	*buf = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*buf == MAP_FAILED)
		return -1;
	in->map = *buf;
	in->map_bytes = *len;
	return 0;
}

int balloc_bestfit_create(const struct balloc_options *opt, struct balloc *out)
{
	struct bfit_config cfg = { NULL, NULL };
	struct bestfit_instance *in;
	void *buf;
	size_t len;

	if (!out)
		return EINVAL;
	in = calloc(1, sizeof *in);
	if (!in || instance_memory(in, opt, &buf, &len) != 0) {
		free(in);
		return ENOMEM;
	}
	if (opt) {
		cfg.on_error = opt->on_error;
		cfg.error_arg = opt->error_arg;
	}
	in->heap = bfit_init(buf, len, &cfg, NULL);
	if (!in->heap) {
		op_destroy(in);
		return EINVAL;
	}
	out->ops = &bestfit_ops;
	out->self = in;
	return 0;
}
