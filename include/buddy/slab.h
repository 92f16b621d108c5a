/* SPDX-License-Identifier: MIT */
/*
 * buddy/slab.h - slab caches: objects of one size carved out of buddy
 * blocks, in the style of the Linux kernel's SLUB allocator (kmem_cache).
 *
 * A cache hands out objects of one size and alignment. Its memory comes in
 * slabs: blocks of 2^order pages from a page zone (buddy/page.h), or from a
 * page source the caller supplies (struct bslab_hooks). Each slab starts
 * with a small header (struct bslab_slab) followed by its objects:
 *
 *     slab (2^order pages, aligned to its size)
 *     [ header | in-use bitmap | pad ][ obj 0 ][ obj 1 ] ... [ obj n-1 ][ leftover ]
 *
 * Slabs are naturally aligned blocks (a zone's blocks are, when its regions
 * start on a multiple of the slab size), so the slab of an object is found
 * in O(1) by masking its address. A free object holds the address of the
 * next free object of its slab, stored encoded as Linux's
 * SLAB_FREELIST_HARDENED does (next ^ cache key ^ byteswap(where stored)),
 * and every link is validated before it is used: it must decode to an
 * object start inside the same slab that the in-use bitmap says is free.
 * The bitmap also catches every double free, not only a free of the object
 * at the head of the list. Objects are carved lazily: a new slab is not
 * touched beyond its header until its objects are handed out.
 *
 * Slabs move between the cache's current slab (allocations come from it
 * first), a partial list, the full state (on no list, as SLUB keeps them)
 * and an empty list; empty slabs beyond cfg.reserve go back to the page
 * source at once (with reserve 0, the current slab too once it empties). Every slab is also on a list of all the cache's slabs,
 * for the walk and the check. A cache may start with smaller slabs than
 * its usual ones (cfg.small_slabs), so that one holding a few objects does
 * not hold a large slab.
 *
 * Freestanding, like the page core: no malloc, no stdio. The caller owns
 * the cache structure. Thread safety: see bslab_hooks.lock. The lock order
 * is: per-thread object caches (above this layer, no lock) -> this cache's
 * lock -> the page source's locks (the zone lock). Statistics read without
 * the lock while other threads allocate are approximate; with it, exact.
 *
 * Costs: allocation and free O(1) (a slab from the page source when the
 * cache has none with a free object: that source's cost); shrink and
 * destroy O(slabs); check and walk O(objects).
 */
#ifndef BUDDY_SLAB_H
#define BUDDY_SLAB_H

#include <stddef.h>
#include <stdint.h>

#include "buddy/common.h"
#include "buddy/page.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BSLAB_NAME_MAX 32u        /* bytes for a cache name, NUL included */
#define BSLAB_ORDER_AUTO 0xffffffffu /* cfg.order: pick one (see bslab_config) */
#define BSLAB_ORDER_MAX 15u       /* largest slab order */
#define BSLAB_SLAB_MAX ((size_t)1 << 22) /* largest slab in bytes (4 MiB) */
#define BSLAB_OBJS_MAX 65535u     /* most objects in one slab */
#define BSLAB_RESERVE_DEFAULT 1u  /* empty slabs kept per cache */
#define BSLAB_WASTE_SHIFT_DEFAULT 3u /* automatic order: at most 1/8 unused */

/* Allocation flags. */
#define BSLAB_ZERO 0x1u /* fill the object with zero bytes */

/* Status codes. A call that fails returns one and changes nothing. */
enum bslab_status {
	BSLAB_OK = 0,
	BSLAB_ENULL,     /* a required pointer argument is NULL */
	BSLAB_ECONFIG,   /* bad configuration: size, alignment, order, name */
	BSLAB_ENOMEM,    /* the page source had no block for a new slab */
	BSLAB_EBUSY,     /* the cache still has objects in use */
	BSLAB_EINVALID,  /* the pointer is not an object of this cache */
	BSLAB_EINTERIOR, /* the pointer is inside an object, not at its start */
	BSLAB_EDOUBLE,   /* the object is already free */
	BSLAB_EALIGN,    /* the page source gave a block not aligned to its size */
	BSLAB_ECORRUPT,  /* the cache's own data is damaged; it refuses every change */
	BSLAB_NR_STATUS
};

/* Text for a status code, e.g. "double free: the object is already free". Never NULL. */
const char *bslab_strerror(int status);

struct bslab_cache;

/* What happened to a slab, for the optional log hook. */
enum bslab_event_kind {
	BSLAB_EV_NEW_SLAB,  /* a slab was taken from the page source */
	BSLAB_EV_FREE_SLAB  /* an empty slab went back to the page source */
};

struct bslab_event {
	enum bslab_event_kind kind;
	const struct bslab_cache *cache;
	void *slab;     /* first byte of the slab */
	unsigned order; /* the slab is 2^order pages */
};

/*
 * Optional hooks, shared by any number of caches (the caller keeps the
 * struct alive while they exist). Every field may be NULL.
 *
 * Page source: page_alloc returns a block of 2^order pages aligned to its
 * size in bytes, or NULL; page_free takes it back; page_owned returns 1 +
 * the order of the block if `block` is a slab block this source handed to
 * cache c and has not taken back, else 0 (bslab_free asks it before
 * reading a header, so a stray pointer never makes the cache read memory
 * that is not a slab, and the cache takes a slab's size from it rather
 * than from the slab's header, which a program can overwrite). All three,
 * or none: then slabs come from the cache's zone with buddy_alloc_pages and
 * buddy_free_pages, and buddy_alloc_size answers page_owned.
 *
 * The page source hands a block over as the zone does for memory checkers
 * (a malloc-like block, common/annotate.h) and takes it back the same way.
 *
 * Lock: lock and unlock (both or neither) are called around every change
 * to the cache and every read of it (alloc, free, bulk calls, shrink,
 * destroy, stats, slabinfo, check, walk), never nested. The page source,
 * on_error, log and the check's and walk's callbacks are called with the
 * lock held: they must not call back into the same cache.
 *
 * on_error (buddy/common.h): told of every misuse, with kind
 * BUDDY_ERR_INVALID (not an object of this cache), BUDDY_ERR_INTERIOR or
 * BUDDY_ERR_DOUBLE, and of damage to the cache's own data
 * (BUDDY_ERR_CORRUPT, once), with op ("free", "alloc", ...), the pointer,
 * and a line such as "bslab: free(): double free at 0x7f12c0" or
 * "bslab: alloc(): corrupted free pointer in cache dentry at 0x7f12c0".
 * Without it the call just returns the status.
 *
 * log: told when a slab is taken from or given back to the page source.
 */
struct bslab_hooks {
	void *(*page_alloc)(void *arg, struct bslab_cache *c, unsigned order);
	void (*page_free)(void *arg, struct bslab_cache *c, void *block, unsigned order);
	int (*page_owned)(void *arg, const struct bslab_cache *c, const void *block);
	void (*lock)(void *arg, struct bslab_cache *c);
	void (*unlock)(void *arg, struct bslab_cache *c);
	buddy_error_fn on_error;
	void (*log)(void *arg, const struct bslab_event *ev);
	void *arg; /* passed to every hook */
};

/* Called on each object of a new slab, once, before it is first handed out. */
typedef void (*bslab_ctor_fn)(void *arg, void *obj);

/* Configuration; bslab_config_default() gives the documented defaults. */
struct bslab_config {
	const char *name;  /* copied; at most BSLAB_NAME_MAX - 1 bytes; default "cache" */
	size_t size;       /* object size in bytes, >= 1 (no default) */
	size_t align;      /* object alignment: a power of two; 0 = 8 (the default) */
	/*
	 * Slab order. BSLAB_ORDER_AUTO (default): the smallest order whose
	 * slab holds at least one object and leaves at most 1/2^waste_shift
	 * of it outside the object slots (header, padding and the leftover
	 * tail), from min_order up to max_order; failing that, the order
	 * leaving the least,
	 * as a fraction of the slab.
	 */
	unsigned order;
	unsigned waste_shift; /* see order; at most 16; default 3 (1/8) */
	unsigned min_order;  /* BSLAB_ORDER_AUTO chooses no order below this; default 0 */
	unsigned max_order; /* BSLAB_ORDER_AUTO chooses no order above this unless
			     * no object fits a slab of this order (then the
			     * smallest that holds one); default BSLAB_ORDER_MAX */
	/*
	 * Small first slabs: while the cache holds fewer than small_slabs
	 * slabs, a new slab has small_order (below the order), so a cache with
	 * few objects holds little memory. BSLAB_ORDER_AUTO (default): the
	 * smallest order holding one object. small_slabs 0 (default): off.
	 */
	unsigned small_order;
	unsigned small_slabs; /* at most 255 */
	unsigned reserve;  /* empty slabs kept for reuse, at most 255; default
			    * BSLAB_RESERVE_DEFAULT; 0 = none, not even the
			    * current slab once it empties */
	bslab_ctor_fn ctor; /* constructor, or NULL. With one, objects keep their
			     * contents while free (the link is stored after them) */
	void *ctor_arg;
	/*
	 * Key for the encoded free pointers: a random value (from getrandom,
	 * say). 0 (default) derives one from the cache's address, which keeps
	 * the link checks but is guessable.
	 */
	uint64_t random;
	const struct bslab_hooks *hooks; /* NULL for none */
};

/* --- Private types; read them only through the functions below. --- */

struct bslab_list {
	struct bslab_list *next;
	struct bslab_list *prev;
};

/*
 * The header at the start of every slab. The bitmap has one bit per
 * object, set while the object is handed out; it has room for the
 * objects of a full-size slab even in a small one.
 */
struct bslab_slab {
	struct bslab_list all;       /* on the cache's list of every slab it holds */
	struct bslab_list link;      /* on the partial or the empty list (not when
				      * current or full) */
	const struct bslab_cache *cache; /* owner; compared on every free */
	void *freelist;              /* first free object (raw; validated before use) */
	uint16_t inuse;              /* objects handed out */
	uint16_t carved;             /* objects handed out at least once: the others
				      * are untouched and not on the freelist */
	uint16_t objs;               /* objects in this slab */
	uint8_t state;               /* enum bslab_slab_state */
	uint8_t order;               /* this slab is 2^order pages */
	uint64_t map[];              /* in-use bitmap */
};

/*
 * A cache. Invariants (bslab_check verifies each; its messages start with
 * the tag):
 *   S1 every slab held names this cache, is aligned to its own size, has
 *      the cache's order or small order and the objects that go with it,
 *      and sits once on the list of all slabs; the links of that list and
 *      of the partial and empty lists point back;
 *   S2 a slab's carved <= objs, its bitmap has bits only below carved, and
 *      inuse equals the number of bits set;
 *   S3 a slab's freelist visits distinct object starts below carved whose
 *      bits are clear, each link decoding with the cache key, and holds
 *      exactly carved - inuse objects;
 *   S4 state and occupancy agree: full slabs have every object in use,
 *      partial ones some but not all, empty ones none; exactly the partial
 *      slabs are on the partial list and the empty ones on the empty list;
 *   S5 nr_partial, nr_full, nr_empty and nr_small count the slabs in those
 *      states and of the small order, and nr_empty <= reserve;
 *   S6 allocs - frees equals the objects in use over all slabs;
 *   S7 slabs_allocated - slabs_freed equals the slabs held.
 */
struct bslab_cache {
	/* --- the allocation and free paths read these --- */
	struct bslab_slab *cur;   /* slab allocations come from first; on no list */
	uintptr_t random;         /* free-pointer key */
	size_t slab_bytes;        /* bytes per slab: page_size << order */
	uint32_t stride;          /* bytes from one object to the next */
	uint32_t first;           /* offset of object 0 from the slab start */
	uint32_t objs;            /* objects per slab */
	uint32_t link_off;        /* offset of the free pointer inside a free object */
	uint64_t recip;           /* ceil(2^44 / stride): index by multiplication */
	size_t size;              /* object size asked for */
	int corrupted;            /* damage seen: every change now fails */
	uint32_t cur_objs;        /* objects of the current slab, from its order as the
				   * page source knows it (not from its header) */
	/* --- lists (counts in slabs) --- */
	struct bslab_list slabs;   /* every slab held, newest first */
	struct bslab_list partial; /* some objects free (not the current slab) */
	struct bslab_list empty;   /* no object in use, kept for reuse */
	size_t nr_partial;
	size_t nr_full;            /* full slabs (on no list but `slabs`) */
	size_t nr_empty;
	size_t nr_small;           /* slabs of the small order */
	/* --- statistics (see struct bslab_stats) --- */
	uint64_t allocs;
	uint64_t frees;
	uint64_t failures;
	uint64_t slabs_allocated;
	uint64_t slabs_freed;
	/* --- configuration --- */
	struct buddy_zone *zone;  /* page zone (default page source) */
	const struct bslab_hooks *hooks; /* or NULL */
	bslab_ctor_fn ctor;
	void *ctor_arg;
	size_t small_bytes;       /* bytes per small slab */
	uint32_t small_objs;      /* objects per small slab */
	uint32_t align;           /* object alignment */
	uint8_t order;            /* slab order */
	uint8_t small_order;      /* order of the first small_slabs slabs */
	uint8_t small_slabs;      /* while fewer slabs are held, new ones are small */
	uint8_t reserve;          /* empty slabs kept */
	int last_error;           /* status of the last failed call */
	char name[BSLAB_NAME_MAX];
};

/* --- Set-up --- */

void bslab_config_default(struct bslab_config *cfg);

/*
 * Create an empty cache in *c for objects of cfg->size bytes, taking slabs
 * from `zone` (whose page size is read once) unless the hooks supply
 * pages. BSLAB_ECONFIG when the size is 0, the alignment not a power of
 * two, the order above BSLAB_ORDER_MAX or its slab above BSLAB_SLAB_MAX or
 * holding no object, or the name too long; BSLAB_ENULL when c, zone or cfg
 * is NULL. No memory is taken until the first allocation.
 */
int bslab_cache_create(struct bslab_cache *c, struct buddy_zone *zone,
		       const struct bslab_config *cfg);

/*
 * Give every slab back and clear the cache. BSLAB_EBUSY (nothing changed)
 * while any object is in use.
 */
int bslab_cache_destroy(struct bslab_cache *c);

/* --- Objects --- */

/* An object, or NULL (see bslab_last_error: BSLAB_ENOMEM, BSLAB_ECORRUPT). */
void *bslab_alloc(struct bslab_cache *c, unsigned flags);

/*
 * Free an object. BSLAB_EINVALID for a pointer that is not an object of
 * this cache (outside its slabs, in a slab header, never handed out),
 * BSLAB_EINTERIOR inside an object, BSLAB_EDOUBLE for a free object;
 * nothing changes then. NULL is BSLAB_ENULL.
 */
int bslab_free(struct bslab_cache *c, void *obj);

/*
 * n objects into objs[0..n), taking the lock once (Linux's
 * kmem_cache_alloc_bulk). All or nothing: returns n, or 0 with nothing
 * taken.
 */
size_t bslab_alloc_bulk(struct bslab_cache *c, unsigned flags, size_t n, void **objs);

/*
 * Free objs[0..n) in order under one lock. Stops at the first pointer that
 * bslab_free would refuse and returns its status (the objects before it
 * are freed; *done, if not NULL, says how many); BSLAB_OK when all were.
 */
int bslab_free_bulk(struct bslab_cache *c, size_t n, void *const *objs, size_t *done);

/* Give every empty slab back to the page source. Returns the number given back. */
size_t bslab_shrink(struct bslab_cache *c);

/* Status of the last call that failed. */
int bslab_last_error(const struct bslab_cache *c);

/* --- Introspection --- */

struct bslab_stats {
	const char *name;          /* the cache's name */
	size_t object_size;        /* bytes asked for per object */
	size_t stride;             /* bytes from one object to the next */
	size_t align;              /* object alignment */
	unsigned order;            /* slab order */
	size_t slab_bytes;         /* bytes per slab */
	unsigned objs_per_slab;    /* objects per slab */
	size_t header_bytes;       /* per slab: the header and its bitmap */
	size_t pad_bytes;          /* per slab: between the bitmap and object 0 (alignment) */
	size_t leftover_bytes;     /* per slab: unused bytes after the last object
				    * (and, with a constructor, link words excluded) */
	size_t active_objs;        /* objects in use: allocs - frees */
	size_t total_objs;         /* objects in all slabs: slabs * objs_per_slab */
	size_t active_slabs;       /* slabs with at least one object in use */
	size_t total_slabs;        /* slabs held: current, partial, full, empty */
	size_t partial_slabs;      /* on the partial list */
	size_t full_slabs;         /* full (not the current slab) */
	size_t empty_slabs;        /* on the empty list */
	size_t small_slabs;        /* of the small order (included above) */
	unsigned small_order;      /* their order */
	unsigned small_objs;       /* objects in each */
	size_t meta_bytes;         /* total_slabs * header_bytes: metadata held */
	uint64_t allocs;           /* objects handed out; only grows */
	uint64_t frees;            /* objects freed; only grows */
	uint64_t failures;         /* allocations that found no memory */
	uint64_t slabs_allocated;  /* slabs taken from the page source; only grows */
	uint64_t slabs_freed;      /* slabs given back; only grows */
};

void bslab_get_stats(const struct bslab_cache *c, struct bslab_stats *st);

/*
 * The two header lines of /proc/slabinfo (version 2.1), each ending in a
 * newline. Returns the length needed without the NUL; writes at most size
 * bytes, NUL-terminated when size > 0, like snprintf.
 */
size_t bslab_slabinfo_header(char *buf, size_t size);

/*
 * The cache's /proc/slabinfo line (mm/slab_common.c, cache_show): name,
 * active objects, objects, object size, objects per slab, pages per slab,
 * tunables 0 0 0 (as SLUB), slabdata: active slabs, slabs, 0. Same
 * return convention as bslab_slabinfo_header.
 */
size_t bslab_slabinfo(const struct bslab_cache *c, char *buf, size_t size);

enum bslab_slab_state {
	BSLAB_SLAB_CURRENT, /* the slab allocations come from */
	BSLAB_SLAB_PARTIAL,
	BSLAB_SLAB_FULL,
	BSLAB_SLAB_EMPTY
};

/* One slab, as the walk reports it. */
struct bslab_block {
	void *addr;              /* first byte of the slab */
	unsigned order;          /* 2^order pages */
	size_t bytes;            /* slab bytes */
	enum bslab_slab_state state;
	unsigned objs;           /* objects in the slab */
	unsigned inuse;          /* objects handed out */
	unsigned carved;         /* objects handed out at least once */
	void *first_obj;         /* address of object 0 */
	size_t stride;           /* bytes between objects */
	const uint64_t *inuse_map; /* bit i (word i / 64, bit i % 64) set: object i in use */
};

/* Called for every slab; return nonzero to stop. */
typedef int (*bslab_walk_fn)(void *arg, const struct bslab_block *slab);

/* Every slab the cache holds, newest first. */
int bslab_walk(const struct bslab_cache *c, bslab_walk_fn fn, void *arg);

/*
 * Verify every invariant (S1..S7, listed at struct bslab_cache); each
 * problem goes to report (may be NULL) as a line starting with its tag.
 * Returns the number of problems.
 */
size_t bslab_check(const struct bslab_cache *c, buddy_report_fn report, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_SLAB_H */
