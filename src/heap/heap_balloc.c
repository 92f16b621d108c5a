/* SPDX-License-Identifier: MIT */
/*
 * heap_balloc.c - the buddy heap behind the common allocator interface
 * (buddy/alloc.h), so tools and benchmarks drive it like any other.
 *
 * Walk offsets are running byte positions across the chunks in address
 * order (the first chunk starts at 0, the second at the first's size, and
 * so on), so they stay small and printable however the chunks are mapped.
 */
#include <errno.h>

#include "heap/heap_internal.h"

/* The instance behind struct balloc is the heap itself. */
#define H(self) ((struct bheap *)(self))

static void *op_malloc(void *self, size_t size)
{
	return bheap_malloc(H(self), size);
}

static void *op_calloc(void *self, size_t n, size_t size)
{
	return bheap_calloc(H(self), n, size);
}

static void *op_realloc(void *self, void *p, size_t size)
{
	return bheap_realloc(H(self), p, size);
}

static void op_free(void *self, void *p)
{
	bheap_free(H(self), p);
}

static void *op_aligned_alloc(void *self, size_t align, size_t size)
{
	return bheap_aligned_alloc(H(self), align, size);
}

static size_t op_usable_size(void *self, const void *p)
{
	return bheap_usable_size(H(self), p);
}

static void op_stats(void *self, struct balloc_stats *st)
{
	struct bheap_stats hs;
	bheap_get_stats(H(self), &hs);
	st->requested_bytes = hs.requested_bytes;
	st->held_bytes = hs.held_bytes;
	st->live_allocs = hs.live_allocs;
	st->peak_requested_bytes = hs.peak_requested_bytes;
	st->footprint_bytes = hs.footprint_bytes;
	st->peak_footprint_bytes = hs.peak_footprint_bytes;
	st->free_bytes = hs.free_bytes;
	st->largest_free_bytes = hs.largest_free_bytes;
	st->free_blocks = hs.free_blocks;
	st->failures = hs.failures;
	st->fragmentation = hs.free_bytes
				    ? 1.0 - (double)hs.largest_free_bytes / (double)hs.free_bytes
				    : 0.0;
}

static size_t op_check(void *self, buddy_report_fn report, void *arg)
{
	return bheap_check(H(self), report, arg);
}

struct walk_adapter {
	balloc_walk_fn fn;
	void *arg;
};

static int walk_visit(void *arg, const struct bheap_block *b)
{
	struct walk_adapter *wa = arg;
	struct balloc_block blk = {
		.addr = b->addr,
		.offset = b->offset,
		.size = b->size,
		.allocated = b->allocated,
		.order = (int)b->order,
	};
	return wa->fn(wa->arg, &blk);
}

static int op_walk(void *self, balloc_walk_fn fn, void *arg)
{
	struct walk_adapter wa = { fn, arg };
	return fn ? bheap_walk(H(self), walk_visit, &wa) : 0;
}

static void op_destroy(void *self)
{
	bheap_destroy(H(self));
}

static const struct balloc_ops heap_ops = {
	.name = "buddy",
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

int bheap_balloc(struct bheap *h, struct balloc *out)
{
	if (!h || !out)
		return EINVAL;
	out->ops = &heap_ops;
	out->self = h;
	return 0;
}

int balloc_buddy_heap_create(const struct balloc_options *opt, struct balloc *out)
{
	struct bheap_config cfg;

	if (!out)
		return EINVAL;
	bheap_config_default(&cfg);
	if (opt) {
		if (opt->arena_bytes)
			cfg.chunk_bytes = cfg.retain_bytes = opt->arena_bytes;
		cfg.limit_bytes = opt->limit_bytes;
		cfg.buffer = opt->buffer;
		cfg.buffer_bytes = opt->buffer_bytes;
		if (opt->no_cache)
			cfg.cache_blocks = 0;
		cfg.on_error = opt->on_error;
		cfg.error_arg = opt->error_arg;
	}
	errno = 0;
	struct bheap *h = bheap_create(&cfg);
	if (!h)
		return errno ? errno : ENOMEM;
	return bheap_balloc(h, out);
}
