/* SPDX-License-Identifier: MIT */
/*
 * system_balloc.c - the C library's malloc behind the common allocator
 * interface ("system"), as the yardstick for the project's own heaps.
 *
 * The instance counts what it can see cheaply: live allocations and the
 * bytes they hold (malloc_usable_size, taken at allocation and at free),
 * with peaks. The footprint is mallinfo2's arena plus mapped bytes, for
 * the whole process. Requested bytes, free blocks and fragmentation are
 * unknown (0). There is no walk or check: both are NULL in the table.
 */
#define _GNU_SOURCE /* malloc_usable_size, mallinfo2 */
#include "buddy/alloc.h"

#include <errno.h>
#include <stdint.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

struct system_instance {
	size_t held_bytes;           /* malloc_usable_size of every live allocation */
	size_t live_allocs;          /* live allocations */
	size_t peak_footprint_bytes; /* largest footprint seen by stats */
	uint64_t failures;           /* allocations that returned NULL */
};

static size_t footprint_now(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
	struct mallinfo2 mi = mallinfo2();
	return mi.arena + mi.hblkhd;
#else
	return 0;
#endif
}

/* Count a new allocation q (or a failure). */
static void *track_new(struct system_instance *in, void *q)
{
	if (!q) {
		in->failures++;
		return NULL;
	}
	in->held_bytes += malloc_usable_size(q);
	in->live_allocs++;
	return q;
}

static void *op_malloc(void *self, size_t size)
{
	return track_new(self, malloc(size));
}

/* The overflow is caught here, so that sanitizer runtimes see no bad request. */
static void *op_calloc(void *self, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		((struct system_instance *)self)->failures++;
		errno = ENOMEM;
		return NULL;
	}
	/* a zero-byte request asks for the smallest block, as malloc(0) would */
	return track_new(self, calloc(n ? n : 1, size ? size : 1));
}

static void op_free(void *self, void *p)
{
	struct system_instance *in = self;

	if (!p)
		return;
	in->held_bytes -= malloc_usable_size(p);
	in->live_allocs--;
	free(p);
}

/* realloc(p, 0) frees and returns NULL, as the other allocators do. */
static void *op_realloc(void *self, void *p, size_t size)
{
	struct system_instance *in = self;
	size_t old;
	void *q;

	if (!p)
		return op_malloc(self, size);
	if (size == 0) {
		op_free(self, p);
		return NULL;
	}
	old = malloc_usable_size(p);
	q = realloc(p, size);
	if (!q) {
		in->failures++;
		return NULL;
	}
	in->held_bytes = in->held_bytes - old + malloc_usable_size(q);
	return q;
}

static void *op_aligned_alloc(void *self, size_t align, size_t size)
{
	void *q = NULL;
	int rc;

	if (align == 0 || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	if (align < sizeof(void *))
		align = sizeof(void *);
	rc = posix_memalign(&q, align, size);
	if (rc) {
		errno = rc;
		q = NULL;
	}
	return track_new(self, q);
}

static size_t op_usable_size(void *self, const void *p)
{
	(void)self;
	return p ? malloc_usable_size((void *)p) : 0;
}

static void op_stats(void *self, struct balloc_stats *st)
{
	struct system_instance *in = self;

	memset(st, 0, sizeof *st);
	st->held_bytes = in->held_bytes;
	st->live_allocs = in->live_allocs;
	st->footprint_bytes = footprint_now();
	/* cppcheck-suppress unsignedLessThanZero ; footprint_now is 0 only off glibc */
	if (st->footprint_bytes > in->peak_footprint_bytes)
		in->peak_footprint_bytes = st->footprint_bytes;
	st->peak_footprint_bytes = in->peak_footprint_bytes;
	st->failures = in->failures;
}

static void op_destroy(void *self)
{
	free(self);
}

static const struct balloc_ops system_ops = {
	.name = "system",
	.malloc = op_malloc,
	.calloc = op_calloc,
	.realloc = op_realloc,
	.free = op_free,
	.aligned_alloc = op_aligned_alloc,
	.usable_size = op_usable_size,
	.stats = op_stats,
	.check = NULL, /* the C library offers neither */
	.walk = NULL,
	.destroy = op_destroy,
};

int balloc_system_create(const struct balloc_options *opt, struct balloc *out)
{
	struct system_instance *in;

	(void)opt;
	if (!out)
		return EINVAL;
	in = calloc(1, sizeof *in);
	if (!in)
		return ENOMEM;
	out->ops = &system_ops;
	out->self = in;
	return 0;
}
