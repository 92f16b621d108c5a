/* SPDX-License-Identifier: MIT */
/*
 * heap_rust.c - the Rust byte heap behind struct balloc (see heap_rust.h).
 *
 * Its statistics come from the heap's zone (16-byte pages): held bytes are
 * the pages in live blocks; the footprint is the pages ever held at once
 * plus the zone's metadata, the buffer's high-water use as the zone sees it
 * (the buffer itself is sized by the caller for the trace, so its length
 * says nothing of the heap). Live allocations and failures are counted
 * here, since one realloc may be several zone calls.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */
#include "heap_rust.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "buddy/page.h"
#include "buddy/rust.h"

#define RUST_HEAP_DEFAULT_ARENA (64u << 20)

struct rust_heap {
	struct brust_heap *heap;
	void *map;
	size_t map_len;
	size_t live_allocs;
	uint64_t failures;
};

#define R(self) ((struct rust_heap *)(self))

/* Count a call's outcome: a block, or a failure when memory was asked for. */
static void *counted(struct rust_heap *r, void *p, size_t size)
{
	if (p)
		r->live_allocs++;
	else if (size)
		r->failures++;
	return p;
}

static void *op_malloc(void *self, size_t size)
{
	return counted(R(self), brust_heap_malloc(R(self)->heap, size), size);
}

static void *op_calloc(void *self, size_t n, size_t size)
{
	return counted(R(self), brust_heap_calloc(R(self)->heap, n, size), n && size ? 1 : 0);
}

static void *op_aligned_alloc(void *self, size_t align, size_t size)
{
	return counted(R(self), brust_heap_aligned_alloc(R(self)->heap, align, size), size);
}

static void misuse(const char *op, int status, const void *p)
{
	fprintf(stderr, "rust: %s(): %s at %p\n", op, brust_strerror(status), p);
	abort();
}

static void op_free(void *self, void *p)
{
	int rc = brust_heap_free(R(self)->heap, p);
	if (rc)
		misuse("free", rc, p);
	if (p)
		R(self)->live_allocs--;
}

static void *op_realloc(void *self, void *p, size_t size)
{
	struct rust_heap *r = R(self);
	if (!p)
		return op_malloc(self, size);
	if (!size) { /* frees, as glibc's realloc does */
		op_free(self, p);
		return NULL;
	}
	void *q = brust_heap_realloc(r->heap, p, size);
	if (!q) { /* the old block is as it was */
		int rc = brust_heap_last_error(r->heap);
		if (rc != BUDDY_ENOMEM)
			misuse("realloc", rc, p);
		r->failures++;
	}
	return q;
}

static size_t op_usable_size(void *self, const void *p)
{
	return brust_heap_usable_size(R(self)->heap, p);
}

static void op_stats(void *self, struct balloc_stats *st)
{
	struct brust_stats zs;
	size_t largest = 0, blocks = 0;

	brust_heap_get_stats(R(self)->heap, &zs);
	memset(st, 0, sizeof *st);
	for (unsigned o = 0; o < sizeof zs.nr_free / sizeof zs.nr_free[0]; o++) {
		blocks += zs.nr_free[o];
		if (zs.nr_free[o])
			largest = zs.page_size << o;
	}
	st->held_bytes = zs.used_pages * zs.page_size;
	st->live_allocs = R(self)->live_allocs;
	st->footprint_bytes = zs.used_pages * zs.page_size + zs.meta_bytes;
	st->peak_footprint_bytes = zs.peak_used_pages * zs.page_size + zs.meta_bytes;
	st->free_bytes = zs.free_pages * zs.page_size;
	st->largest_free_bytes = largest;
	st->free_blocks = blocks;
	st->failures = R(self)->failures;
	st->fragmentation = st->free_bytes
				    ? 1.0 - (double)st->largest_free_bytes / (double)st->free_bytes
				    : 0.0;
}

static size_t op_check(void *self, buddy_report_fn report, void *arg)
{
	return brust_heap_check(R(self)->heap, report, arg);
}

static void op_destroy(void *self)
{
	struct rust_heap *r = R(self);
	brust_heap_destroy(r->heap);
	munmap(r->map, r->map_len);
	free(r);
}

static const struct balloc_ops rust_heap_ops = {
	.name = "rust",
	.malloc = op_malloc,
	.calloc = op_calloc,
	.realloc = op_realloc,
	.free = op_free,
	.aligned_alloc = op_aligned_alloc,
	.usable_size = op_usable_size,
	.stats = op_stats,
	.check = op_check,
	.walk = NULL, /* the zone's walk is not part of the heap's C ABI */
	.destroy = op_destroy,
};

int replay_rust_heap_create(const struct balloc_options *opt, struct balloc *out)
{
	size_t len = opt && opt->arena_bytes ? opt->arena_bytes : RUST_HEAP_DEFAULT_ARENA;
	struct rust_heap *r = calloc(1, sizeof *r);
	int status = 0;

	if (!r)
		return ENOMEM;
	r->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0);
	if (r->map == MAP_FAILED) {
		free(r);
		return ENOMEM;
	}
	r->map_len = len;
	r->heap = brust_heap_create(r->map, len, &status);
	if (!r->heap) {
		munmap(r->map, len);
		free(r);
		return status == BUDDY_ESMALL ? EINVAL : ENOMEM;
	}
	out->ops = &rust_heap_ops;
	out->self = r;
	return 0;
}
