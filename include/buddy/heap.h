/* SPDX-License-Identifier: MIT */
/*
 * buddy/heap.h - a byte-granular heap (the malloc family) on top of the
 * page allocator core.
 *
 * The heap's zone uses a "page" of min_block bytes (16 by default), so a
 * block of order k is min_block << k bytes. Every request is rounded up to
 * such a power of two; no header precedes a block, since the core knows
 * each allocation's order. Memory comes from chunks mapped with mmap (or a
 * caller hook), each aligned to its own size, so every block is aligned to
 * its size in absolute terms; a heap may instead work in one fixed caller
 * buffer and never map anything.
 *
 * Edge cases (see docs/heap.md):
 *   malloc(0)            a unique min_block pointer that must be freed
 *   calloc(n, s)         NULL and errno ENOMEM when n*s overflows
 *   realloc(NULL, n)     malloc(n)
 *   realloc(p, 0)        frees p and returns NULL (as glibc does)
 *   realloc(p, n)        same order: p; smaller: split in place; larger:
 *                        in place when the upper buddies are free, else
 *                        moved (contents kept up to the old usable size);
 *                        on failure NULL, errno ENOMEM, p untouched
 *   aligned_alloc(a, n)  a not a power of two: NULL, errno EINVAL; any n;
 *                        in fixed-buffer mode also EINVAL when a exceeds
 *                        the region's base alignment (4096 for buffers of
 *                        32 KiB and more)
 *   posix_memalign       EINVAL when a is not a power of two or not a
 *                        multiple of sizeof(void *); ENOMEM; *p untouched
 *   free(NULL)           nothing
 *   bad pointers         free/realloc/usable_size of a pointer the heap
 *                        never handed out, an already freed one or one
 *                        inside a block call the error handler (default:
 *                        message on stderr, abort()); if a handler returns,
 *                        the call changes nothing (realloc returns NULL with
 *                        errno EINVAL, usable_size returns 0).
 *   damage               a call that finds the heap's own data damaged
 *                        (links in a free block overwritten after free or
 *                        by an overflow) calls the handler with
 *                        BUDDY_ERR_CORRUPT, the damaged address and a line
 *                        such as "bheap: malloc(): corrupted free list:
 *                        neighbours do not point back at 0x7f..", and
 *                        fails (NULL, errno ENOMEM); from then on every
 *                        call reports it again ("heap corrupted earlier, no
 *                        further changes: ...") and changes nothing
 *   overflow             a write past the end of a mapped chunk's last block
 *                        faults in a guard page; the heap's metadata lies
 *                        behind it (in fixed-buffer mode, before the blocks)
 *
 * Not thread-safe: callers sharing a heap between threads lock.
 */
#ifndef BUDDY_HEAP_H
#define BUDDY_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "buddy/alloc.h"
#include "buddy/page.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BHEAP_MIN_BLOCK_DEFAULT 16u
#define BHEAP_CHUNK_DEFAULT ((size_t)1 << 20)

/*
 * Misuse goes to the config's on_error (a buddy_error_fn, buddy/common.h)
 * with kind BUDDY_ERR_INVALID (a pointer outside every chunk),
 * BUDDY_ERR_DOUBLE (a block already free) or BUDDY_ERR_INTERIOR (a
 * pointer inside an allocated block), op "free", "realloc" or
 * "malloc_usable_size", and a complete line such as
 * "bheap: free(): double free at 0x1000". Damage to the heap's own data
 * goes there too, with BUDDY_ERR_CORRUPT, from the call that finds it and
 * from every call after it (see "damage" above).
 * The default (on_error NULL) prints the line to stderr and calls abort().
 */

/*
 * Memory source hooks. map returns len bytes aligned to the system page
 * size, or NULL. unmap must accept any page-aligned sub-range of a mapping,
 * as munmap does (the heap trims over-mapped chunks to align them).
 */
typedef void *(*bheap_map_fn)(void *arg, size_t len);
typedef void (*bheap_unmap_fn)(void *arg, void *addr, size_t len);

struct bheap_config {
	size_t min_block;    /* smallest block, power of two >= 16; default 16 */
	size_t chunk_bytes;  /* bytes per mapped chunk, rounded up to a power of two
			      * and at least the system page; default 1 MiB */
	size_t limit_bytes;  /* most chunk bytes mapped at once; 0 = no limit */
	size_t retain_bytes; /* free bytes kept mapped: after every free, wholly
			      * free chunks are unmapped while the heap's free
			      * bytes exceed this; default 1 MiB */
	void *buffer;        /* fixed memory to work in (no mapping at all), or NULL;
			      * the state and metadata go at its start */
	size_t buffer_bytes; /* its length */
	buddy_error_fn on_error; /* misuse and damage handler; NULL = print and abort */
	void *error_arg;
	unsigned cache_blocks; /* freed blocks of up to 4 KiB (256 smallest blocks)
				* kept per size for reuse before they merge, as
				* Linux's per-CPU page lists; 0 = merge at once;
				* default 64 */
	bheap_map_fn map;    /* NULL = mmap */
	bheap_unmap_fn unmap; /* NULL = munmap */
	void *map_arg;
};

struct bheap; /* opaque */

/* Fill cfg with the defaults above. */
void bheap_config_default(struct bheap_config *cfg);

/*
 * Create a heap; cfg may be NULL for the defaults. Returns NULL with errno
 * EINVAL for a bad configuration, ENOMEM when the first mapping fails or
 * the buffer is too small. The first chunk is mapped on first use.
 */
struct bheap *bheap_create(const struct bheap_config *cfg);

/* Unmap every chunk (live allocations die with them) and the heap itself. */
void bheap_destroy(struct bheap *h);

void *bheap_malloc(struct bheap *h, size_t size);
void *bheap_calloc(struct bheap *h, size_t n, size_t size);
void *bheap_realloc(struct bheap *h, void *p, size_t size);
void bheap_free(struct bheap *h, void *p);
void *bheap_aligned_alloc(struct bheap *h, size_t align, size_t size);
int bheap_posix_memalign(struct bheap *h, void **out, size_t align, size_t size);

/* Bytes the block at p holds (its power-of-two size); 0 for NULL. */
size_t bheap_usable_size(struct bheap *h, const void *p);

/*
 * Statistics. Bytes are bytes; "peak" fields only grow. The Robson bound
 * (J. M. Robson, JACM 21(3), 1974; stated in SQLite's malloc.html for its
 * power-of-two memsys5): with M the peak of held (rounded) live bytes and
 * n = largest / smallest block ever held, an arena of
 *     N >= M * (1 + log2(n) / 2) - n + 1      (units of the smallest block)
 * never fails a request through fragmentation. In bytes, with s the
 * smallest and b the largest block: N = M * (1 + log2(b/s) / 2) - b + s.
 * The guarantee is for one arena; with several chunks it is an estimate.
 * A realloc that moves holds both blocks for a moment, and the peaks
 * include that moment.
 */
struct bheap_stats {
	size_t min_block;           /* bytes in the smallest block */
	size_t requested_bytes;     /* bytes asked for by live allocations */
	size_t held_bytes;          /* bytes in live allocations' blocks */
	size_t peak_requested_bytes; /* largest requested_bytes seen */
	size_t peak_held_bytes;     /* largest held_bytes seen (Robson's M) */
	size_t live_allocs;         /* live allocations */
	size_t peak_live_allocs;    /* largest live_allocs seen */
	size_t arena_bytes;         /* block bytes in all chunks (or the buffer region) */
	size_t peak_arena_bytes;    /* largest arena_bytes seen */
	size_t meta_bytes;          /* bytes of metadata (core + heap) for all chunks, with
				     * each mapped chunk's guard page (address space only) */
	size_t footprint_bytes;     /* everything mapped: chunks, metadata, heap state */
	size_t peak_footprint_bytes; /* largest footprint_bytes seen */
	size_t nr_chunks;           /* chunks (regions) in the heap */
	size_t free_bytes;          /* bytes in free blocks */
	size_t largest_free_bytes;  /* bytes in the largest free block */
	size_t free_blocks;         /* free blocks */
	size_t smallest_block;      /* smallest block ever handed out; 0 before any */
	size_t largest_block;       /* largest block ever handed out; 0 before any */
	uint64_t allocs;            /* successful malloc/calloc/aligned allocations */
	uint64_t frees;             /* successful frees (realloc moves included) */
	uint64_t reallocs_in_place; /* reallocs that kept the pointer */
	uint64_t reallocs_moved;    /* reallocs that copied to a new block */
	uint64_t failures;          /* requests that returned NULL for lack of memory */
	uint64_t maps;              /* chunks mapped */
	uint64_t unmaps;            /* chunks unmapped before destroy */
	uint64_t map_failures;      /* map hook calls that failed */
	uint64_t misuse;            /* bad pointers reported to the error handler */
	size_t robson_bytes;        /* arena N the Robson bound asks for; 0 before any */
	int robson_met;             /* arena_bytes >= robson_bytes */
};

void bheap_get_stats(const struct bheap *h, struct bheap_stats *st);

/* One block, in address order, for walking. */
struct bheap_block {
	void *addr;          /* first byte */
	size_t size;         /* bytes (min_block << order) */
	unsigned order;      /* buddy order */
	int allocated;       /* 1 allocated, 0 free */
	size_t requested;    /* allocated: bytes asked for; 0 when free */
	unsigned chunk;      /* index of its chunk in address order */
	size_t offset;       /* running byte position across chunks in address order */
};

typedef int (*bheap_walk_fn)(void *arg, const struct bheap_block *blk);

/* Every block of every chunk in address order; the callback's nonzero value, or 0. */
int bheap_walk(const struct bheap *h, bheap_walk_fn fn, void *arg);

/*
 * Verify the core's invariants (P1..) and the heap's own (H1.., listed in
 * src/heap/heap_internal.h: requested <= held per block, counters equal to
 * the sums over the blocks, every region a chunk of this heap). Each
 * problem goes to report (may be NULL) as a line that starts with its tag.
 * Returns the count.
 */
size_t bheap_check(const struct bheap *h, buddy_report_fn report, void *arg);

/* The underlying zone, for the visualizer's buddyinfo and walk. */
const struct buddy_zone *bheap_zone(const struct bheap *h);

/*
 * The common interface (buddy/alloc.h, ops name "buddy") over a heap made
 * with bheap_create: for a caller that needs a configuration the options
 * of balloc_buddy_heap_create do not carry. Fills *out; its destroy
 * destroys the heap. Returns 0, or EINVAL when h or out is NULL.
 */
int bheap_balloc(struct bheap *h, struct balloc *out);

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_HEAP_H */
