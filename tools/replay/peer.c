/* SPDX-License-Identifier: MIT */
/*
 * peer.c - the process malloc as a struct balloc (see peer.h). Built once
 * per runner with BUDDY_PEER set to the peer it is linked against:
 *   1 glibc     footprint = mallinfo2() arena + hblkhd (sbrk heap + mmapped chunks)
 *   2 jemalloc  footprint = mallctl "stats.mapped" (after an "epoch" refresh)
 *   3 mimalloc  footprint = mi_process_info() current commit
 *   4 tcmalloc  footprint = MallocExtension "generic.heap_size"
 */
#define _GNU_SOURCE
#include "peer.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#if BUDDY_PEER == 2
#include <jemalloc/jemalloc.h>
#define PEER_NAME "jemalloc"
#elif BUDDY_PEER == 3
#include <mimalloc.h>
#define PEER_NAME "mimalloc"
#elif BUDDY_PEER == 4
#include <gperftools/malloc_extension_c.h>
#define PEER_NAME "tcmalloc"
#else
#define PEER_NAME "glibc"
#endif

/* State of the adapter: one per process. */
struct peer_state {
	size_t peak;      /* largest footprint reported since */
	uint64_t failures; /* allocations that returned NULL */
};

static struct peer_state peer;

static size_t footprint_raw(void)
{
#if BUDDY_PEER == 2
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch), mapped = 0;
	mallctl("epoch", &epoch, &sz, &epoch, sz);
	sz = sizeof(mapped);
	if (mallctl("stats.mapped", &mapped, &sz, NULL, 0) != 0)
		return 0;
	return mapped;
#elif BUDDY_PEER == 3
	size_t elapsed, user, sys, rss, peak_rss, commit = 0, peak_commit, faults;
	mi_process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
	return commit;
#elif BUDDY_PEER == 4
	size_t v = 0;
	MallocExtension_GetNumericProperty("generic.heap_size", &v);
	return v;
#else
	struct mallinfo2 mi = mallinfo2();
	return mi.arena + mi.hblkhd;
#endif
}

static void *peer_malloc(void *self, size_t size)
{
	(void)self;
	void *p = malloc(size);
	peer.failures += !p && size;
	return p;
}

static void *peer_calloc(void *self, size_t n, size_t size)
{
	(void)self;
	return calloc(n, size);
}

static void *peer_realloc(void *self, void *p, size_t size)
{
	(void)self;
	return realloc(p, size);
}

static void peer_free(void *self, void *p)
{
	(void)self;
	free(p);
}

static void *peer_aligned(void *self, size_t align, size_t size)
{
	(void)self;
	return aligned_alloc(align, size);
}

static size_t peer_usable(void *self, const void *p)
{
	(void)self;
	return malloc_usable_size((void *)p);
}

static void peer_stats(void *self, struct balloc_stats *st)
{
	(void)self;
	memset(st, 0, sizeof(*st));
	st->footprint_bytes = footprint_raw();
	if (st->footprint_bytes > peer.peak)
		peer.peak = st->footprint_bytes;
	st->peak_footprint_bytes = peer.peak;
	st->failures = peer.failures;
}

static void peer_destroy(void *self)
{
	(void)self;
}

static const struct balloc_ops peer_ops = {
	.name = PEER_NAME, .malloc = peer_malloc, .calloc = peer_calloc,
	.realloc = peer_realloc, .free = peer_free, .aligned_alloc = peer_aligned,
	.usable_size = peer_usable, .stats = peer_stats, .check = NULL, /* none */
	.walk = NULL, .destroy = peer_destroy,
};

const char *peer_name(void)
{
	return PEER_NAME;
}

void peer_balloc(struct balloc *out)
{
	peer.peak = 0;
	peer.failures = 0;
	out->ops = &peer_ops;
	out->self = &peer;
}
