/* SPDX-License-Identifier: MIT */
/*
 * buddy/bestfit.h - a best-fit heap over one caller buffer: malloc, calloc,
 * realloc, aligned_alloc and free, with splitting, boundary-tag coalescing
 * and exact best-fit placement.
 *
 * Placement is exact best fit: a request takes the smallest free block that
 * fits, and among equal sizes the one at the lowest address. Free blocks are
 * kept in one balanced search tree (a treap) keyed by (size, address), so a
 * request costs one descent of that tree, never a scan over the free blocks.
 *
 * Every block carries a 4-byte header (BFIT_HEADER_BYTES); payloads are
 * 16-byte aligned; the smallest block is 16 bytes, giving 12 usable bytes.
 * Two bitmaps with one bit per 16 bytes of the heap (1.6% of the buffer),
 * kept before the blocks, record where blocks start and which are free, so
 * free() recognises any pointer it never handed out, a double free and a
 * pointer into the middle of a block before it changes anything.
 *
 * Damage: the headers and the free blocks' tree links are checked against
 * the bitmaps before the heap acts on them, so a program that writes past
 * the end of a block or into a freed one gets a report of corruption
 * (BUDDY_ERR_CORRUPT, BFIT_ECORRUPT, naming the damaged block), never two
 * blocks that overlap; after that every call refuses, saying so. What is
 * and is not protected: docs/hardening.md.
 *
 * Costs (F = free blocks): malloc, free, realloc, aligned_alloc expected
 * O(log F); free's merge with both neighbours O(1) for blocks of a few KiB
 * (O(log64 heap) beyond) plus the tree updates; stats O(log F); check and
 * walk O(heap size / 16).
 *
 * Not thread-safe: callers that share a heap between threads lock.
 */
#ifndef BUDDY_BESTFIT_H
#define BUDDY_BESTFIT_H

#include <stddef.h>
#include <stdint.h>

#include "buddy/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BFIT_HEADER_BYTES 4u  /* per-block overhead of an allocated block */
#define BFIT_ALIGN 16u        /* payload alignment, and the block size granule */
#define BFIT_MIN_BLOCK 16u    /* smallest block (header + 12 usable bytes) */
#define BFIT_DEMO_BYTES 4096u /* the demo's default buffer size */

/* Status codes. A call that fails with one changes nothing. */
enum bfit_status {
	BFIT_OK = 0,
	BFIT_ENULL,     /* a required pointer argument is NULL */
	BFIT_ESMALL,    /* buffer too small to hold the heap and one block */
	BFIT_EINVALID,  /* pointer never handed out (outside the heap, misaligned, in metadata) */
	BFIT_EDOUBLE,   /* pointer into memory that is already free: a double free */
	BFIT_EINTERIOR, /* pointer into the middle of an allocated block */
	BFIT_ENOMEM,    /* no free block large enough */
	BFIT_EALIGN,    /* alignment is not a power of two */
	BFIT_EOVERFLOW, /* calloc's n * size overflows */
	BFIT_ECORRUPT,  /* a block header or tree link is damaged: the heap makes no more changes */
	BFIT_NR_STATUS
};

/* Text for a status code, e.g. "double free". Never NULL. */
const char *bfit_strerror(int status);

/*
 * Configuration; a NULL config gives the defaults. When free, realloc or
 * usable_size is given a bad pointer, or any call finds damage, on_error
 * (a buddy_error_fn, buddy/common.h) is called with the kind
 * (BUDDY_ERR_INVALID, _DOUBLE, _INTERIOR or _CORRUPT; the call's status is
 * the matching BFIT_EINVALID, _EDOUBLE, _EINTERIOR or _ECORRUPT), the
 * function ("free", "realloc", "malloc_usable_size"), the pointer and one
 * line without a newline, e.g. "bfit: free(): double free at 0x5000". If
 * the handler returns, the call returns having changed nothing (realloc:
 * NULL with errno EINVAL; usable_size: 0). Damage (BUDDY_ERR_CORRUPT) is
 * reported by whichever call meets it, malloc included, with the damaged
 * block, e.g. "bfit: free(): corrupted block header at 0x5040"; the heap
 * then makes no further changes, and every later call reports again
 * ("bfit: malloc(): heap corrupted earlier, no further changes: ...") and
 * fails (allocations: NULL, errno ENOMEM). The default (on_error NULL)
 * prints the line and a newline to stderr and calls abort(), as the C
 * library's malloc does.
 */
struct bfit_config {
	buddy_error_fn on_error; /* error handler; NULL = print and abort */
	void *error_arg;         /* passed to on_error */
};

struct bfit; /* opaque; lives at the start of the caller's buffer */

/*
 * Make a heap in [buf, buf + size). The heap's state and its bitmap go at
 * the start of the buffer; the rest becomes one free block. Any size from
 * bfit_min_bytes() up works (at most 16 GiB of it is used); buf needs no
 * particular alignment. Returns the heap (== buf rounded up to 16 bytes),
 * or NULL with *status (if status is not NULL) set to BFIT_ENULL or
 * BFIT_ESMALL. The heap holds no other resources: to discard it, stop
 * using the buffer.
 */
struct bfit *bfit_init(void *buf, size_t size, const struct bfit_config *cfg, int *status);

/* Smallest buffer bfit_init accepts (holds the state and one block). */
size_t bfit_min_bytes(void);

/* --- The malloc family. errno is set to ENOMEM / EINVAL on failure. --- */

/* size bytes, 16-byte aligned. malloc(0) returns a unique pointer (12 usable bytes). */
void *bfit_malloc(struct bfit *h, size_t size);

/* n * size zeroed bytes; NULL with errno ENOMEM when n * size overflows. */
void *bfit_calloc(struct bfit *h, size_t n, size_t size);

/*
 * Resize p to size bytes, keeping the contents up to the smaller size.
 * realloc(NULL, size) is malloc(size). realloc(p, 0) frees p and returns
 * NULL. Shrinking splits the block in place; growing takes the free block
 * to the right in place when it is large enough, and otherwise moves to a
 * best-fit block. On failure returns NULL and p is untouched.
 */
void *bfit_realloc(struct bfit *h, void *p, size_t size);

/* Free p (NULL is ignored). Bad pointers go to the error handler. */
void bfit_free(struct bfit *h, void *p);

/*
 * size bytes aligned to align, a power of two (otherwise NULL, errno
 * EINVAL). Alignments up to 16 are plain malloc; larger ones take the
 * smallest free block of at least size + align bytes and free the unused
 * head and tail. The result is freed with bfit_free.
 */
void *bfit_aligned_alloc(struct bfit *h, size_t align, size_t size);

/* Usable bytes at p (>= the size asked for); 0 for NULL, and for a bad pointer after the handler. */
size_t bfit_usable_size(struct bfit *h, const void *p);

/* Status of the last call that failed. */
int bfit_last_error(const struct bfit *h);

/* --- Introspection --- */

struct bfit_stats {
	size_t heap_bytes;       /* bytes of the block area (every block, free or not) */
	size_t meta_bytes;       /* buffer bytes outside the block area: state, bitmap, padding */
	size_t header_bytes;     /* per-block overhead: BFIT_HEADER_BYTES */
	size_t used_bytes;       /* bytes in allocated blocks, headers included */
	size_t live_allocs;      /* allocated blocks */
	size_t free_bytes;       /* bytes in free blocks, headers included */
	size_t largest_free_bytes; /* bytes in the largest free block */
	size_t free_blocks;      /* number of free blocks */
	double fragmentation;    /* 1 - largest_free / free_bytes; 0 when nothing is free */
	size_t footprint_bytes;  /* end of the highest allocated block, from the heap start */
	size_t peak_footprint_bytes; /* largest footprint_bytes seen; only grows */
	size_t peak_used_bytes;  /* largest used_bytes seen; only grows */
	uint64_t allocs;         /* successful allocations; only grows */
	uint64_t frees;          /* successful frees; only grows */
	uint64_t failures;       /* allocations that returned NULL for lack of memory */
};

void bfit_get_stats(const struct bfit *h, struct bfit_stats *st);

/* One block, as bfit_walk reports it. */
struct bfit_block {
	void *ptr;      /* the payload (what malloc returned, for an allocated block) */
	size_t offset;  /* bytes from the first block's payload to this block's payload */
	size_t size;    /* bytes in the block, its header included */
	int allocated;  /* 1 allocated, 0 free */
};

/* Called for every block in address order; return nonzero to stop. */
typedef int (*bfit_walk_fn)(void *arg, const struct bfit_block *blk);

/*
 * Walk every block, as the start and free bitmaps cut the heap (a damaged
 * header does not change what it reports). Returns the callback's nonzero
 * value, or 0.
 */
int bfit_walk(const struct bfit *h, bfit_walk_fn fn, void *arg);

/*
 * Verify every invariant (F1.., listed in src/bestfit/bestfit_internal.h):
 * every header against the start and free bitmaps, the bitmaps' summaries,
 * the sentinel, no two free neighbours, the tree's order and balance keys,
 * tree membership of exactly the free blocks, and the counters. It reads a
 * damaged heap without crashing: every link is checked before it is
 * followed. Each
 * problem goes to report (which may be NULL) as one line that starts with
 * its invariant's tag. Returns the number of problems.
 */
size_t bfit_check(const struct bfit *h, buddy_report_fn report, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_BESTFIT_H */
