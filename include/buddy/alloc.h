/* SPDX-License-Identifier: MIT */
/*
 * buddy/alloc.h - one interface for every byte allocator in the project:
 * the buddy heap, the best-fit heap and the system malloc. The command
 * loop, the visualizer, trace replay and the benchmarks use only this, so
 * they treat every allocator alike.
 *
 * An allocator is a table of functions (struct balloc_ops) and an instance
 * pointer. Functions an allocator cannot provide (walk and check for the
 * system malloc) are NULL in its table.
 */
#ifndef BUDDY_ALLOC_H
#define BUDDY_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "buddy/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Statistics common to every allocator. Fields an allocator cannot know are 0. */
struct balloc_stats {
	size_t requested_bytes;   /* bytes asked for by live allocations */
	size_t held_bytes;        /* bytes held for live allocations (block sizes) */
	size_t live_allocs;       /* live allocations */
	size_t peak_requested_bytes; /* largest requested_bytes seen; only grows */
	size_t footprint_bytes;   /* memory the allocator holds (arena, mapped chunks) */
	size_t peak_footprint_bytes; /* largest footprint_bytes seen; only grows */
	size_t free_bytes;        /* bytes in free blocks */
	size_t largest_free_bytes; /* bytes in the largest free block */
	size_t free_blocks;       /* number of free blocks */
	uint64_t failures;        /* allocations that returned NULL for lack of memory */
	double fragmentation;     /* 1 - largest_free / free_bytes (0 when nothing is free) */
};

/* One block, as a walk reports it. */
struct balloc_block {
	void *addr;        /* first byte of the block (of its payload when allocated) */
	size_t offset;     /* bytes from the start of the allocator's memory (its first
			    * chunk or arena), for stable, printable positions */
	size_t size;       /* bytes in the block */
	int allocated;     /* 1 allocated, 0 free */
	int order;         /* buddy order of the block, or -1 when not a buddy block */
};

typedef int (*balloc_walk_fn)(void *arg, const struct balloc_block *blk);

struct balloc_ops {
	const char *name; /* "buddy", "bestfit", "system" */
	void *(*malloc)(void *self, size_t size);
	void *(*calloc)(void *self, size_t n, size_t size);
	void *(*realloc)(void *self, void *p, size_t size);
	void (*free)(void *self, void *p);
	void *(*aligned_alloc)(void *self, size_t align, size_t size);
	size_t (*usable_size)(void *self, const void *p);
	void (*stats)(void *self, struct balloc_stats *st);
	/*
	 * Problems found, each passed to report (may be NULL) as a line that
	 * starts with its invariant's tag. NULL when the allocator has no check.
	 */
	size_t (*check)(void *self, buddy_report_fn report, void *arg);
	/* Every block in address order; the callback's nonzero value, or 0. NULL when it cannot. */
	int (*walk)(void *self, balloc_walk_fn fn, void *arg);
	void (*destroy)(void *self);
};

struct balloc {
	const struct balloc_ops *ops;
	void *self;
};

/* Options for creating any allocator; zero means the allocator's default. */
struct balloc_options {
	size_t arena_bytes; /* size of the arena or the first chunk */
	size_t limit_bytes; /* most memory it may take from the system; 0 = no limit */
	void *buffer;       /* caller memory to work in instead of mapping its own */
	size_t buffer_bytes;
	/*
	 * Replaces the default reaction to a bad pointer or damage (print and
	 * abort), so a tool can report the mistake and go on; the call then
	 * changes nothing. Called as every allocator calls it (buddy/common.h):
	 * (error_arg, kind, op, ptr, msg). An allocator that cannot honour it
	 * ("system": the C library reacts on its own) ignores it.
	 */
	buddy_error_fn on_error;
	void *error_arg;    /* passed to on_error */
	int no_cache;       /* 1: freed blocks merge at once instead of being kept
			     * for reuse, so every merge can be shown */
};

/*
 * Constructors. Each returns 0 and fills *out, or an errno value (EINVAL,
 * ENOMEM) leaving *out untouched. opt may be NULL for the defaults.
 */
/*
 * "buddy": the buddy heap (buddy/heap.h). arena_bytes sets its chunk_bytes
 * and retain_bytes; limit_bytes and the buffer pass through; no_cache sets
 * cache_blocks to 0. bheap_balloc wraps a heap made with bheap_create.
 */
int balloc_buddy_heap_create(const struct balloc_options *opt, struct balloc *out);
/*
 * "bestfit": the best-fit heap in opt->buffer (buffer_bytes long) if given,
 * otherwise in an arena of opt->arena_bytes (default 4096) that it maps
 * itself and unmaps on destroy; limit_bytes does not apply (the heap never grows).
 */
int balloc_bestfit_create(const struct balloc_options *opt, struct balloc *out);
/*
 * "system": the C library's malloc. Stats count live allocations and held
 * bytes (malloc_usable_size) and take the footprint from mallinfo2 (for the
 * whole process); requested bytes are unknown (0). check and walk are NULL.
 */
int balloc_system_create(const struct balloc_options *opt, struct balloc *out);

/* Create an allocator by name ("buddy", "bestfit", "system"); ENOENT if unknown. */
int balloc_create(const char *name, const struct balloc_options *opt, struct balloc *out);

/* NULL-terminated list of the names balloc_create accepts. */
const char *const *balloc_names(void);

/* Destroy the allocator and clear *a. */
void balloc_destroy(struct balloc *a);

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_ALLOC_H */
