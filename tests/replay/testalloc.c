/* SPDX-License-Identifier: MIT */
/*
 * testalloc.c - the test-only allocators (see testalloc.h). Each block is
 * a malloc'd chunk with a 32-byte header in front (the chunk address and
 * the size), so free and realloc find both.
 */
#include "testalloc.h"

#include <setjmp.h> /* cmocka.h needs these first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define TA_HEADER 32
#define TA_ARENA (1u << 20)

static void **header_of(void *p)
{
	return (void **)((unsigned char *)p - 16);
}

static void *ta_malloc(void *self, size_t size)
{
	struct testalloc *ta = self;
	if (ta->mode == TA_FAIL && ta->allocs >= ta->limit)
		return NULL;
	if (ta->mode == TA_OVERLAP || ta->mode == TA_ADJACENT) {
		if (!ta->arena)
			ta->arena = calloc(1, TA_ARENA);
		size_t at = ta->arena_used;
		if (!ta->arena || at + size + 16 > TA_ARENA)
			return NULL;
		if (ta->mode == TA_OVERLAP) /* the next block starts inside this one */
			ta->arena_used += (size / 2 + 15) & ~(size_t)15;
		else
			ta->arena_used += ((size ? size : 1) + 15) & ~(size_t)15;
		ta->allocs++;
		return ta->arena + at;
	}
	unsigned char *base = calloc(1, TA_HEADER + size + 8);
	if (!base)
		return NULL;
	unsigned char *p = base + TA_HEADER + (ta->mode == TA_MISALIGN && size >= 16 ? 8 : 0);
	header_of(p)[0] = base;
	header_of(p)[1] = (void *)(uintptr_t)size;
	if (ta->mode == TA_SCRIBBLE && ta->last && ta->last_size)
		*(unsigned char *)ta->last ^= 0x5a;
	ta->last = p;
	ta->last_size = size;
	ta->allocs++;
	ta->held += size;
	if (ta->held > ta->peak)
		ta->peak = ta->held;
	return p;
}

static void ta_free(void *self, void *p)
{
	struct testalloc *ta = self;
	if (!p || ta->mode == TA_OVERLAP || ta->mode == TA_ADJACENT)
		return;
	if (p == ta->last)
		ta->last = NULL;
	ta->held -= (size_t)(uintptr_t)header_of(p)[1];
	ta->frees++;
	free(header_of(p)[0]);
}

static size_t ta_usable(void *self, const void *p)
{
	struct testalloc *ta = self;
	if (ta->mode == TA_OVERLAP || ta->mode == TA_ADJACENT)
		return 0;
	return (size_t)(uintptr_t)header_of((void *)p)[1];
}

static void *ta_realloc(void *self, void *p, size_t size)
{
	if (!p)
		return ta_malloc(self, size);
	if (size == 0) {
		ta_free(self, p);
		return NULL;
	}
	void *q = ta_malloc(self, size);
	if (!q)
		return NULL;
	struct testalloc *ta = self;
	size_t old = ta_usable(self, p);
	if (ta->mode != TA_LOSE)
		memcpy(q, p, old < size ? old : size);
	ta_free(self, p);
	return q;
}

static void *ta_calloc(void *self, size_t n, size_t size)
{
	void *p = ta_malloc(self, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static void *ta_aligned(void *self, size_t align, size_t size)
{
	(void)align;
	return ta_malloc(self, size);
}

static void ta_stats(void *self, struct balloc_stats *st)
{
	struct testalloc *ta = self;
	memset(st, 0, sizeof(*st));
	int bump = ta->mode == TA_OVERLAP || ta->mode == TA_ADJACENT;
	st->footprint_bytes = bump ? ta->arena_used : ta->held;
	st->peak_footprint_bytes = bump ? ta->arena_used : ta->peak;
	st->held_bytes = ta->held;
}

static void ta_destroy(void *self)
{
	struct testalloc *ta = self;
	free(ta->arena);
	ta->arena = NULL;
}

static const struct balloc_ops ta_ops = {
	.name = "test", .malloc = ta_malloc, .calloc = ta_calloc, .realloc = ta_realloc,
	.free = ta_free, .aligned_alloc = ta_aligned, .usable_size = ta_usable,
	.stats = ta_stats, .check = NULL, .walk = NULL, .destroy = ta_destroy,
};

void testalloc_init(struct testalloc *ta, enum testalloc_mode mode, struct balloc *out)
{
	memset(ta, 0, sizeof(*ta));
	ta->mode = mode;
	out->ops = &ta_ops;
	out->self = ta;
}

void testalloc_random_trace(struct trace *t, size_t n, unsigned ids, unsigned max_size)
{
	size_t cap = n * 24 + 64, len = 0;
	char *buf = malloc(cap), err[256];
	int live[128] = { 0 };
	uint64_t x = 88172645463325252ull;
	assert_non_null(buf);
	assert_true(ids >= 1 && ids <= 128);
	len += (size_t)snprintf(buf + len, cap - len, "0 %u %zu 1\n", ids, n);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned id = (unsigned)(x % ids);
		unsigned size = 1 + (unsigned)((x >> 8) % max_size);
		if (live[id] && (x >> 40) % 3 == 0)
			len += (size_t)snprintf(buf + len, cap - len, "r %u %u\n", id, size);
		else if (live[id])
			len += (size_t)snprintf(buf + len, cap - len, "f %u\n", id), live[id] = 0;
		else
			len += (size_t)snprintf(buf + len, cap - len, "a %u %u\n", id, size), live[id] = 1;
	}
	if (trace_parse("t.rep", buf, len, TRACE_REP, t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	free(buf);
}
