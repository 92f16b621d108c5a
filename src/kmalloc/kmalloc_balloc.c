/* SPDX-License-Identifier: MIT */
/*
 * kmalloc_balloc.c - the kmalloc heap behind the common allocator interface
 * (buddy/alloc.h), so tools and benchmarks drive it like any other.
 */
#include <errno.h>

#include "kmalloc/kmalloc_internal.h"

/* The instance behind struct balloc is the heap itself. */
#define H(self) ((struct bkm_heap *)(self))

static void *op_malloc(void *self, size_t size)
{
	return bkm_malloc(H(self), size);
}

static void *op_calloc(void *self, size_t n, size_t size)
{
	return bkm_calloc(H(self), n, size);
}

static void *op_realloc(void *self, void *p, size_t size)
{
	return bkm_realloc(H(self), p, size);
}

static void op_free(void *self, void *p)
{
	bkm_free(H(self), p);
}

static void *op_aligned_alloc(void *self, size_t align, size_t size)
{
	return bkm_aligned_alloc(H(self), align, size);
}

static size_t op_usable_size(void *self, const void *p)
{
	return bkm_usable_size(H(self), p);
}

/* Requested sizes are not kept (no per-object metadata): those fields stay 0. */
static void op_stats(void *self, struct balloc_stats *st)
{
	struct bkm_stats ks;
	bkm_get_stats(H(self), &ks);
	*st = (struct balloc_stats){ 0 };
	st->held_bytes = ks.held_bytes;
	st->live_allocs = ks.live_allocs;
	st->footprint_bytes = ks.footprint_bytes;
	st->peak_footprint_bytes = ks.peak_footprint_bytes;
	st->free_bytes = ks.free_bytes + ks.slab_free_bytes;
	st->largest_free_bytes = ks.largest_free_bytes;
	st->free_blocks = ks.free_blocks;
	st->failures = ks.failures;
	st->fragmentation = st->free_bytes
				    ? 1.0 - (double)st->largest_free_bytes / (double)st->free_bytes
				    : 0.0;
}

static size_t op_check(void *self, buddy_report_fn report, void *arg)
{
	return bkm_check(H(self), report, arg);
}

struct walk_adapter {
	balloc_walk_fn fn;
	void *arg;
};

static int walk_visit(void *arg, const struct bkm_block *b)
{
	struct walk_adapter *wa = arg;
	struct balloc_block blk = {
		.addr = b->addr,
		.offset = b->offset,
		.size = b->size,
		.allocated = b->allocated,
		.order = b->order,
	};
	return wa->fn(wa->arg, &blk);
}

static int op_walk(void *self, balloc_walk_fn fn, void *arg)
{
	struct walk_adapter wa = { fn, arg };
	return fn ? bkm_walk(H(self), walk_visit, &wa) : 0;
}

static void op_destroy(void *self)
{
	bkm_destroy(H(self));
}

static const struct balloc_ops kmalloc_ops = {
	.name = "kmalloc",
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

int bkm_balloc(struct bkm_heap *h, struct balloc *out)
{
	if (!h || !out)
		return EINVAL;
	out->ops = &kmalloc_ops;
	out->self = h;
	return 0;
}

int balloc_kmalloc_create(const struct balloc_options *opt, struct balloc *out)
{
	struct bkm_config cfg;
	if (!out)
		return EINVAL;
	bkm_config_default(&cfg);
	if (opt) {
		if (opt->arena_bytes)
			cfg.arena_bytes = cfg.retain_bytes = opt->arena_bytes;
		cfg.limit_bytes = opt->limit_bytes;
		cfg.buffer = opt->buffer;
		cfg.buffer_bytes = opt->buffer_bytes;
		if (opt->no_cache) {
			cfg.slab_reserve = 0;
			cfg.zone_pcp_high = 0;
		}
		cfg.on_error = opt->on_error;
		cfg.error_arg = opt->error_arg;
	}
	errno = 0;
	struct bkm_heap *h = bkm_create(&cfg);
	if (!h)
		return errno ? errno : ENOMEM;
	return bkm_balloc(h, out);
}
