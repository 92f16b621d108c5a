/* SPDX-License-Identifier: MIT */
/*
 * buddy/kmalloc.h - a malloc family on slab caches, in the style of the
 * Linux kernel's kmalloc: small requests are rounded up to a size class and
 * served by that class's slab cache (buddy/slab.h); larger ones are exact
 * runs of pages from the page zone (Linux's alloc_pages_exact); very large
 * ones get a mapping of their own.
 *
 * Memory comes from mmap in arenas: each arena is one region of the heap's
 * zone, aligned to its size and mapped with room for its metadata (the
 * zone's page bytes and pair bitmaps, one byte per page saying which cache
 * or run holds it, one bit per system page saying whether it may be
 * resident). The first arena (cfg.arena_bytes) is mapped when the heap is
 * created and its first cfg.populate_bytes (64 KiB) touched, so the first
 * allocations take no page faults; each later one is four times the last
 * (twice from 1 MiB on), or as large as the request that needs it. Free
 * memory goes back to the system: empty slabs to the zone at once (beyond a
 * small reserve per cache of up to 2 KiB), and once more than
 * cfg.retain_bytes of free memory is resident
 * (or a quarter of the resident memory, if more), a wholly free arena other
 * than the first is unmapped, else every free page range of at least
 * cfg.release_min_bytes (16 KiB) is given back with madvise(MADV_DONTNEED).
 *
 * Footprint: the bytes the heap holds from the system that may be resident:
 * its state and metadata (with cfg.outside_links, of the pages holding the
 * zone's list entries only those it has written an entry into), every
 * system page of an arena that it has handed out or that the zone has
 * written a free-list link into (none with cfg.outside_links) since the
 * page was last given back, and the huge mappings. Pages of an
 * arena that were never touched are mapped (MAP_NORESERVE) but not
 * counted.
 *
 * Edge cases follow the C standard and glibc:
 *   malloc(0)            a unique pointer to the smallest class, to be freed
 *   calloc(n, s)         NULL and errno ENOMEM when n*s overflows
 *   realloc(NULL, n)     malloc(n)
 *   realloc(p, 0)        frees p and returns NULL (as glibc)
 *   realloc(p, n)        p when n still rounds to p's size class, or to the
 *                        same run of pages (or a run no more than twice the
 *                        pages needed); a huge block is moved with mremap;
 *                        otherwise a new block, contents kept up to
 *                        min(old usable size, n); on failure NULL, errno
 *                        ENOMEM, p untouched
 *   aligned_alloc(a, n)  a not a power of two: NULL, errno EINVAL
 *   posix_memalign       EINVAL when a is not a power of two or not a
 *                        multiple of sizeof(void *); ENOMEM; *p untouched
 *   free(NULL)           nothing
 *   bad pointers         free/realloc/usable_size of a pointer the heap
 *                        never handed out, an already freed one or one
 *                        inside a block call the error handler (default:
 *                        the message on stderr, then abort()); if a handler
 *                        returns, the call changes nothing (realloc
 *                        returns NULL with errno EINVAL, usable_size 0).
 *   damage               the heap's own data found damaged (a free pointer
 *                        or slab header overwritten): reported as
 *                        BUDDY_ERR_CORRUPT; the damaged cache then refuses
 *                        every allocation (NULL, ENOMEM) rather than hand
 *                        out overlapping memory.
 *
 * Not thread-safe: callers sharing a heap between threads lock. One lock
 * around every call is enough. A caller may instead lock each size class
 * on its own (buddy/malloc.h does): it then calls the slab layer's paths of
 * that class's cache under the class's lock, everything else under one heap
 * lock, and sets cfg.page_lock, which the caches' page source (slabs taken
 * from or given back to the zone, the page map lookups of the slab checks)
 * takes; the lock order is then thread cache (none) -> size class lock ->
 * heap lock (-> the zone, which has no lock of its own).
 */
#ifndef BUDDY_KMALLOC_H
#define BUDDY_KMALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "buddy/alloc.h"
#include "buddy/common.h"
#include "buddy/page.h"
#include "buddy/slab.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BKM_PAGE_DEFAULT 1024u            /* zone page bytes */
#define BKM_MAX_CLASS_DEFAULT 4096u       /* largest size class */
#define BKM_CLASS_STEPS_DEFAULT 4u        /* classes per doubling above 128 bytes */
#define BKM_HUGE_DEFAULT ((size_t)1 << 20) /* requests this large are mapped alone */
#define BKM_ARENA_DEFAULT ((size_t)256 << 10) /* the first arena */
#define BKM_POPULATE_DEFAULT ((size_t)64 << 10) /* of it, touched at creation */
#define BKM_RETAIN_DEFAULT ((size_t)4 << 20) /* free resident bytes kept */
#define BKM_RELEASE_MIN_DEFAULT ((size_t)16 << 10) /* smallest free range given back */
#define BKM_MIN_SLAB_DEFAULT ((size_t)4 << 10) /* smallest slab, after the first */
#define BKM_MAX_SLAB_DEFAULT ((size_t)32 << 10) /* largest slab, usually */
#define BKM_SMALL_SLABS_DEFAULT 1u        /* small first slabs per cache */
#define BKM_WASTE_SHIFT_DEFAULT 4u        /* slabs leave at most 1/16 unused */
#define BKM_ZONE_PCP_HIGH_DEFAULT 16u     /* the zone's page cache: blocks per order */
#define BKM_CLASSES_MAX 96u               /* size classes at most */
#define BKM_ARENAS_MAX 64u                /* arenas at most */

/*
 * Misuse and damage go to cfg.on_error (buddy/common.h) with kind
 * BUDDY_ERR_INVALID (a pointer the heap never handed out), BUDDY_ERR_DOUBLE
 * (a block already free), BUDDY_ERR_INTERIOR (a pointer inside a block) or
 * BUDDY_ERR_CORRUPT (damage to the heap's own data); op is "free",
 * "realloc", "malloc_usable_size", or the call that met the damage; msg a
 * line such as "bkm: free(): double free at 0x7f21c0a01040". The default
 * (on_error NULL) prints msg and a newline to stderr and calls abort().
 */

/* What the heap did, for the optional log hook (the `buddy` command shows it). */
enum bkm_event_kind {
	BKM_EV_SLAB_NEW,    /* a cache took a slab from the zone */
	BKM_EV_SLAB_FREE,   /* an empty slab went back to the zone */
	BKM_EV_SPLIT,       /* the zone split a block of `order` at addr */
	BKM_EV_MERGE,       /* the zone merged buddies into a block of `order` at addr */
	BKM_EV_RUN,         /* a run of `bytes` at addr was taken from the zone */
	BKM_EV_RUN_FREE,    /* a run went back */
	BKM_EV_HUGE,        /* a mapping of `bytes` at addr for one block */
	BKM_EV_HUGE_FREE,   /* it was unmapped */
	BKM_EV_ARENA,       /* an arena of `bytes` at addr was mapped */
	BKM_EV_ARENA_FREE,  /* a wholly free arena was unmapped */
	BKM_EV_RELEASE      /* `bytes` of free pages at addr went back (madvise) */
};

struct bkm_event {
	enum bkm_event_kind kind;
	void *addr;
	size_t bytes;
	unsigned order;       /* SLAB_*, SPLIT, MERGE: the block's order */
	const char *cache;    /* SLAB_*: the cache's name, else NULL */
};

typedef void (*bkm_log_fn)(void *arg, const struct bkm_event *ev);

/* Memory source hooks, as the buddy heap's (buddy/heap.h). */
typedef void *(*bkm_map_fn)(void *arg, size_t len);
typedef void (*bkm_unmap_fn)(void *arg, void *addr, size_t len);

/*
 * Configuration; bkm_config_default() gives the defaults, chosen by
 * replaying the traces in ../shared/traces (docs/kmalloc.md).
 */
struct bkm_config {
	size_t page_size;       /* zone page: a power of two from 256 to 65536; default 1 KiB */
	size_t max_class_bytes; /* largest size class: a power of two from 1 KiB to 64 KiB;
				 * larger requests are runs of pages; default 4 KiB */
	unsigned class_steps;   /* classes per doubling above 128 bytes: 2, 4 or 8, so
				 * rounding wastes at most 1/3, 1/5 or 1/9 of a request;
				 * up to 128 bytes a class every 16; default 4 */
	size_t huge_bytes;      /* requests of at least this get a mapping of their own;
				 * above max_class_bytes; default 1 MiB */
	size_t arena_bytes;     /* the first arena, rounded to a power of two of at least
				 * 64 KiB; later ones are 4 times larger each (2 times
				 * from 1 MiB on); default 256 KiB */
	size_t populate_bytes;  /* of the first arena, touched at creation (rounded up to
				 * system pages, at most the arena), so that the first
				 * allocations take no page faults; 0 = none; default 64 KiB */
	size_t limit_bytes;     /* most bytes mapped for arenas and huge blocks; 0 = none */
	size_t retain_bytes;    /* free resident bytes kept before free pages go back (or
				 * a quarter of the resident bytes, if more); default 4 MiB */
	size_t release_min_bytes; /* free pages go back only in ranges of at least this
				 * many bytes (one madvise call each); smaller free ranges
				 * stay resident until they merge into a larger one;
				 * 0 = every range; default 16 KiB */
	size_t min_slab_bytes;  /* each class takes the smallest slab from min_slab_bytes
				 * to max_slab_bytes that leaves at most 1/2^slab_waste_shift
				 * of it unused; defaults 4 KiB, 32 KiB and 4 (1/16) */
	size_t max_slab_bytes;
	unsigned slab_waste_shift; /* 1..16 */
	unsigned small_slabs;   /* while a cache holds fewer slabs than this, a new one is
				 * the smallest that holds one object, so that a class
				 * used little holds little; 0..255, default 1 */
	unsigned slab_reserve;  /* empty slabs each cache of up to 2 KiB keeps (larger
				 * ones keep none); 0..255, default 1 */
	unsigned zone_pcp_high; /* the zone's page cache (buddy_config.pcp_high) for slab
				 * orders up to 4; 0 = off; default 16 */
	int outside_links;      /* the zone's free-list links in the arenas' metadata
				 * (buddy_config.outside_links): a free page is never
				 * written, so splitting a block or trimming a run makes
				 * no page resident (nor takes a page fault), and a write
				 * after free cannot reach a link; costs 16 bytes of
				 * metadata per zone page (1.6% of an arena with 1 KiB
				 * pages), of which the footprint counts the system
				 * pages the zone has written an entry into. 0 (default):
				 * links in the free blocks */
	void *buffer;           /* fixed memory to work in (no mapping at all), or NULL */
	size_t buffer_bytes;    /* its length */
	uint64_t random;        /* key for the slab free pointers; 0 = from getrandom() */
	buddy_error_fn on_error; /* misuse and damage; NULL = print and abort */
	void *error_arg;
	bkm_log_fn log;         /* event log; NULL = none */
	void *log_arg;
	bkm_map_fn map;         /* NULL = mmap (with MAP_NORESERVE) */
	bkm_unmap_fn unmap;     /* NULL = munmap */
	void *map_arg;
	void (*page_lock)(void *arg);   /* NULL = none: taken around the page work of */
	void (*page_unlock)(void *arg); /* the slab caches (see "Not thread-safe" above) */
	void *lock_arg;
};

struct bkm_heap; /* opaque */

void bkm_config_default(struct bkm_config *cfg);

/*
 * Create a heap; cfg may be NULL for the defaults. NULL with errno EINVAL
 * for a bad configuration, ENOMEM when the first mapping fails or the
 * buffer is too small.
 */
struct bkm_heap *bkm_create(const struct bkm_config *cfg);

/* Unmap everything (live blocks die with it). */
void bkm_destroy(struct bkm_heap *h);

void *bkm_malloc(struct bkm_heap *h, size_t size);
void *bkm_calloc(struct bkm_heap *h, size_t n, size_t size);
void *bkm_realloc(struct bkm_heap *h, void *p, size_t size);
void bkm_free(struct bkm_heap *h, void *p);
void *bkm_aligned_alloc(struct bkm_heap *h, size_t align, size_t size);
int bkm_posix_memalign(struct bkm_heap *h, void **out, size_t align, size_t size);

/* Bytes the block at p may hold (its class size, run or mapping); 0 for NULL. */
size_t bkm_usable_size(struct bkm_heap *h, const void *p);

/* The size class a request of `size` bytes gets; 0 when it is above max_class_bytes. */
size_t bkm_class_size(const struct bkm_heap *h, size_t size);

/*
 * Statistics. Bytes are bytes; peak fields only grow. Requested sizes are
 * not kept (no per-object metadata): byte counts are usable sizes.
 */
struct bkm_stats {
	size_t page_size;         /* zone page bytes */
	size_t nr_classes;        /* size classes (slab caches) */
	size_t max_class_bytes;   /* largest class */
	size_t live_allocs;       /* live blocks */
	size_t held_bytes;        /* usable bytes of live blocks */
	size_t small_allocs;      /* live slab objects */
	size_t small_bytes;       /* their class sizes */
	size_t large_allocs;      /* live runs */
	size_t large_bytes;       /* their pages */
	size_t huge_allocs;       /* live huge blocks */
	size_t huge_bytes;        /* their mappings */
	size_t footprint_bytes;   /* state + metadata + resident arena pages + huge */
	size_t peak_footprint_bytes;
	size_t resident_bytes;    /* arena pages that may be resident */
	size_t arena_bytes;       /* arena bytes mapped */
	size_t nr_arenas;
	size_t meta_bytes;        /* state, arena metadata and slab headers */
	size_t slab_bytes;        /* bytes of slabs held by the caches */
	size_t slab_free_bytes;   /* free object slots in those slabs */
	size_t free_bytes;        /* bytes in the zone's free blocks (cached ones included) */
	size_t largest_free_bytes; /* the largest free block */
	size_t free_blocks;       /* free blocks in the zone */
	uint64_t allocs;          /* successful allocations */
	uint64_t frees;           /* successful frees (realloc moves included) */
	uint64_t failures;        /* requests that returned NULL for lack of memory */
	uint64_t reallocs_in_place;
	uint64_t reallocs_moved;
	uint64_t misuse;          /* bad pointers reported */
	uint64_t maps;            /* arenas and huge blocks mapped */
	uint64_t unmaps;          /* and unmapped before destroy */
	uint64_t released_bytes;  /* free pages given back with madvise; only grows */
};

void bkm_get_stats(const struct bkm_heap *h, struct bkm_stats *st);

/* What a pointer is, for tools. */
enum bkm_block_kind {
	BKM_BLOCK_NONE,  /* not a live block (or not the heap's) */
	BKM_BLOCK_SMALL, /* an object of a slab cache */
	BKM_BLOCK_LARGE, /* a run of zone pages */
	BKM_BLOCK_HUGE   /* a mapping of its own */
};

struct bkm_block_info {
	enum bkm_block_kind kind;
	void *addr;          /* first byte */
	size_t size;         /* usable bytes */
	const struct bslab_cache *cache; /* SMALL: its cache */
	void *slab;          /* SMALL: its slab */
	unsigned index;      /* SMALL: object number in the slab */
};

/* Describe the live block starting at p; kind BKM_BLOCK_NONE if there is none. */
void bkm_block_info(const struct bkm_heap *h, const void *p, struct bkm_block_info *out);

/* One walk entry: a free zone block, a slab object (live or free), a run, a huge block. */
struct bkm_block {
	void *addr;
	size_t size;
	size_t offset;       /* running byte position over the arenas in address order */
	int allocated;       /* 1 live block, 0 free */
	enum bkm_block_kind kind; /* NONE for a free zone block */
	int order;           /* zone order of a free block, slab or power-of-two run; else -1 */
	const struct bslab_cache *cache; /* slab objects: the cache */
	const void *slab;    /* slab objects: the slab (its first byte) */
};

typedef int (*bkm_walk_fn)(void *arg, const struct bkm_block *b);

/* Every free block, object, run and huge block in address order; stops on nonzero. */
int bkm_walk(const struct bkm_heap *h, bkm_walk_fn fn, void *arg);

/*
 * Verify the zone's invariants, every cache's (S1..S7) and the heap's own
 * (K1..K6, listed in src/kmalloc/kmalloc_internal.h); each problem goes to
 * report as a line starting with its tag. Returns the problems found.
 */
size_t bkm_check(const struct bkm_heap *h, buddy_report_fn report, void *arg);

/*
 * /proc/slabinfo for every size class: the two header lines, then one line
 * per cache. Returns the length needed, writes at most size bytes (NUL
 * included), like snprintf.
 */
size_t bkm_slabinfo(const struct bkm_heap *h, char *buf, size_t size);

/* The cache of class i (0 .. nr_classes-1), NULL past the end. */
const struct bslab_cache *bkm_cache(const struct bkm_heap *h, size_t i);

/* The heap's zone, for buddyinfo and the page walk. */
const struct buddy_zone *bkm_zone(const struct bkm_heap *h);

/*
 * The heap h behind the common interface (buddy/alloc.h), ops name
 * "kmalloc": fills *out, whose destroy destroys h. 0, or EINVAL for NULL.
 */
int bkm_balloc(struct bkm_heap *h, struct balloc *out);

/*
 * "kmalloc" for balloc_create: a heap with the defaults, except that
 * arena_bytes sets the first arena and retain_bytes, limit_bytes, the
 * buffer and on_error pass through, and no_cache keeps no empty slab and
 * no page cache (so every merge shows). Returns 0 or an errno value.
 */
int balloc_kmalloc_create(const struct balloc_options *opt, struct balloc *out);

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_KMALLOC_H */
