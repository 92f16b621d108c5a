/* SPDX-License-Identifier: MIT */
/*
 * buddy/page.h - the page allocator core: a binary buddy allocator over
 * caller-supplied memory, in the style of the Linux kernel's physical page
 * allocator.
 *
 * A zone manages one or more regions. Each region is carved into naturally
 * aligned blocks of 2^order pages (aligned relative to the region base).
 * Free blocks sit on one circular doubly linked list per order, with the
 * links stored inside the free blocks (or, with buddy_config.outside_links,
 * in the region's metadata). One bit per buddy pair per order
 * records whether exactly one of the two buddies is free at that order; it
 * is toggled on every allocation and free and decides whether a freed block
 * merges with its buddy.
 *
 * The core is freestanding: it never calls malloc, stdio or pthreads. All
 * memory it uses is handed to it: the zone structure, the regions and their
 * metadata, and the per-thread page sets.
 *
 * Threads (as Linux's zone->lock and per-CPU page lists). A zone configured
 * with lock hooks (buddy_config.lock, unlock, trylock) may be shared by any
 * number of threads: the lock guards the buddy lists, the regions and the
 * zone's counters, and every call that reads or changes them holds it. A
 * zone without hooks takes no lock and is for one thread at a time, as
 * before. Page sets (struct buddy_pageset, below) give each thread or CPU a
 * cache of free blocks of small orders that it allocates from and frees to
 * without the zone lock; buddy/thread.h gives a hosted program the lock and
 * a page set per thread ready-made.
 *
 * Costs: allocation O(max_order), free O(max_order) plus finding the region
 * of a pointer: one compare against the last region used, else a bisection
 * over the regions (O(log regions), a list walk past BUDDY_NR_REGION_INDEX).
 *
 * Names (docs/conventions.md): max_* limits are inclusive, nr_* counts are
 * exclusive; quantities carry their unit (_pages, _bytes).
 */
#ifndef BUDDY_PAGE_H
#define BUDDY_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buddy/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Orders run from 0 to BUDDY_MAX_ORDER; a block of order k is 2^k pages. */
#define BUDDY_MAX_ORDER 31
#define BUDDY_NR_ORDERS (BUDDY_MAX_ORDER + 1)

/* buddy_config.max_order: as large as the regions allow. */
#define BUDDY_MAX_ORDER_AUTO 0xffffffffu

#define BUDDY_PAGE_SIZE_DEFAULT 4096u
#define BUDDY_PAGE_SIZE_MIN 16u

/* Regions found by bisection; a zone with more also searches a list. */
#define BUDDY_NR_REGION_INDEX 64

/* Orders the page cache can hold: 0..BUDDY_PCP_MAX_ORDER. */
#define BUDDY_PCP_MAX_ORDER 10
#define BUDDY_NR_PCP_ORDERS (BUDDY_PCP_MAX_ORDER + 1)

/* Byte that freed pages are filled with when buddy_config.poison is set
 * (the value of Linux's PAGE_POISON, include/linux/poison.h). */
#define BUDDY_POISON_BYTE 0xaau

/* Allocation flags. */
#define BUDDY_ZERO 0x1u /* fill the returned pages with zero bytes */

/* Status codes. Every failing call returns one and changes nothing. */
enum buddy_status {
	BUDDY_OK = 0,
	BUDDY_ENULL,      /* a required pointer argument is NULL */
	BUDDY_EOUTSIDE,   /* the pointer lies outside every region */
	BUDDY_ENOTBLOCK,  /* the pointer is not the start of an allocated block */
	BUDDY_EDOUBLE,    /* the pointer lies in a block that is already free */
	BUDDY_EORDER,     /* freed with an order or page count it was not allocated with */
	BUDDY_EMAXORDER,  /* order above the zone's maximum */
	BUDDY_ECOUNT,     /* page count zero or above 2^max_order */
	BUDDY_ESMALL,     /* region smaller than one page (after its metadata) */
	BUDDY_EALIGN,     /* region base or length not a multiple of the page size */
	BUDDY_EOVERLAP,   /* region overlaps a region already in the zone */
	BUDDY_EMETA,      /* metadata buffer missing, too small or misaligned */
	BUDDY_ECONFIG,    /* bad configuration (page size, max order, name) */
	BUDDY_ENOMEM,     /* no free block large enough */
	BUDDY_EBUSY,      /* region still has allocated pages */
	BUDDY_ECORRUPT,   /* the allocator's own data structures are damaged */
	BUDDY_NR_STATUS
};

/* Text for a status code, e.g. "double free". Never NULL. */
const char *buddy_strerror(int status);

/* Split and merge events, for the optional log callback. */
enum buddy_event_kind {
	BUDDY_EV_SPLIT, /* a block of `order` was split into two of order-1 */
	BUDDY_EV_MERGE  /* two buddies of order-1 merged into a block of `order` */
};

struct buddy_event {
	enum buddy_event_kind kind;
	unsigned order;  /* order of the larger block (split parent, merge result) */
	void *addr;      /* address of the larger block */
	unsigned region; /* index of the region, in the order they were added */
	size_t page;     /* page index of the larger block within its region */
};

typedef void (*buddy_log_fn)(void *arg, const struct buddy_event *ev);

struct buddy_zone;
struct buddy_pageset;

/* The calling thread's page set for this zone (buddy_config.pageset), or NULL. */
typedef struct buddy_pageset *(*buddy_pageset_fn)(struct buddy_zone *zone, void *arg);

/* Configuration; buddy_config_default() gives the documented defaults. */
struct buddy_config {
	size_t page_size;  /* power of two >= 16; default 4096 */
	unsigned max_order; /* largest order, <= BUDDY_MAX_ORDER; default BUDDY_MAX_ORDER_AUTO */
	const char *name;   /* zone name for buddyinfo, <= 15 chars; default "Normal" */
	buddy_log_fn log;   /* split/merge log callback; default NULL (off) */
	void *log_arg;      /* passed to log */
	/*
	 * Page cache (Linux's per-CPU page lists): freed blocks of order <=
	 * pcp_max_order go on a per-order cache list without merging, and
	 * allocations of those orders take from it first. A list holding more
	 * than pcp_high blocks gives its oldest half back to the buddy lists;
	 * all lists are drained before an allocation would fail. 0 = off
	 * (default): every free merges at once.
	 */
	unsigned pcp_high;      /* blocks per cache list before draining; 0 = off */
	unsigned pcp_max_order; /* largest cached order, <= BUDDY_PCP_MAX_ORDER; default 3 */
	/*
	 * Called once when the allocator finds its own structures damaged
	 * (a free-list link that does not point back, a pointer outside every
	 * region or off a block boundary), with kind BUDDY_ERR_CORRUPT, op the
	 * step that met the damage ("alloc_pages", "free_pages", "drain_cache",
	 * "resize", "remove_region"; it may run inside another call), ptr the
	 * damaged block and msg a line such as
	 * "buddy: free_pages(): corrupted free list: neighbours do not point
	 * back at 0x1000". The zone then refuses every further change with
	 * BUDDY_ECORRUPT rather than hand out overlapping memory. NULL (the
	 * default): no report, only the status. Misuse (a bad pointer) is not
	 * reported here: it is the status the call returns.
	 */
	buddy_error_fn on_error;
	void *error_arg;
	/*
	 * Page poisoning (as Linux's page_poison): every freed page is filled
	 * with BUDDY_POISON_BYTE, and an allocation first checks that its
	 * pages still hold it. A write after free is then reported through
	 * on_error and stops the zone like a damaged link. Costs a fill and
	 * a scan of every page freed and allocated; 0 = off (default).
	 */
	int poison;
	/*
	 * The zone lock (Linux's zone->lock), for a zone that threads share:
	 * lock and unlock are both set or both NULL (default: no lock, one
	 * thread at a time). trylock returns nonzero when it took the lock;
	 * NULL: lock is used instead. All three get lock_arg. A kernel passes
	 * its spin lock; buddy_thread_config (buddy/thread.h) a pthread one.
	 */
	void (*lock)(void *arg);
	void (*unlock)(void *arg);
	int (*trylock)(void *arg);
	void *lock_arg;
	/*
	 * Page sets (see struct buddy_pageset). pageset, when set, gives the
	 * calling thread's page set, and buddy_alloc_pages, buddy_free_pages
	 * and buddy_free then use it (hosted: buddy/thread.h); NULL: they use
	 * the zone's own page cache above. pcp_batch: blocks a page set takes
	 * from the zone when a list is empty, and gives back when a list holds
	 * pcp_high (Linux's batch); 0: the power of two at or below
	 * pcp_high / 4. A page set needs pcp_high + pcp_batch <=
	 * BUDDY_PAGESET_SLOTS.
	 */
	buddy_pageset_fn pageset;
	void *pageset_arg;
	unsigned pcp_batch;
	/*
	 * How a thread takes a page set from its owner (to drain it before an
	 * allocation fails, or to remove a region), see page_alloc.c. barrier,
	 * when set, is an asymmetric heavy barrier (Linux's membarrier): it
	 * returns once every thread running this zone's calls has passed a
	 * full memory barrier; owners then enter their page set with plain
	 * stores. NULL: owners take their page set with an atomic exchange
	 * (correct everywhere, dearer). relax is called in wait loops (a
	 * hosted program yields the CPU there); NULL: spin. Both get lock_arg.
	 */
	void (*barrier)(void *arg);
	void (*relax)(void *arg);
	/*
	 * Strict frees, for a zone with page sets: a free through a set
	 * claims the block's page byte with an atomic compare-and-swap
	 * ("allocated" to "cached"), and a free on the zone path does the
	 * same before it merges, so that two threads freeing one block at
	 * the same instant cannot both take it: one of them gets
	 * BUDDY_EDOUBLE. It costs an atomic read-modify-write per free (the
	 * inline free path of buddy/pageset.h is off: every free goes out of
	 * line). 0 (default): a free through a set reads the page byte and
	 * then writes it, so two frees of one block racing through two sets
	 * can both succeed; the block then sits in both sets and may be
	 * handed out twice (a double free found only when a set meets the
	 * block's page byte saying "allocated", as damage). Sequential double
	 * frees, in any threads, are caught either way.
	 */
	int strict_frees;
	/*
	 * Outside links (as Linux keeps a free page's list links in its
	 * struct page): each region's metadata holds one struct buddy_list
	 * per page (16 bytes a page more, see buddy_meta_size), and the free
	 * lists are linked through it, so the zone never writes into a free
	 * block. A page nothing was ever allocated from is then never
	 * touched (over fresh mmap memory: never made resident), splitting a
	 * block or trimming an exact allocation writes no page of it, and a
	 * write after free cannot reach a link. 0 (default): the links live
	 * in the first 16 bytes of each free block.
	 */
	int outside_links;
};

/* --- Private types; read them only through the functions below. --- */

/*
 * A free-list entry. next and prev hold the addresses of the neighbouring
 * free blocks (or of the list head); the entry itself is bytes 0..15 of
 * its free block, or with outside links the block's entry in its region's
 * metadata.
 */
struct buddy_list {
	struct buddy_list *next;
	struct buddy_list *prev;
};

struct buddy_free_area {
	struct buddy_list free_list; /* circular list of free blocks of this order */
	size_t nr_free;              /* blocks on free_list */
};

struct buddy_pcp {
	struct buddy_list list; /* cached blocks, newest first */
	size_t count;           /* blocks on list */
};

struct buddy_region; /* lives in the region's metadata */

/* Entries per order in a page set. */
#define BUDDY_PAGESET_SLOTS 128

/*
 * A page set: one thread's (or CPU's) cache of free blocks of orders below
 * the zone's nr_pcp_orders (Linux's per_cpu_pages). The caller provides
 * the memory and buddy_pageset_init registers it with the zone; hosted
 * code gets one per thread from buddy/thread.h. Its owner allocates from
 * and frees to it without the zone lock: an empty list is refilled with
 * pcp_batch blocks under one acquisition of the zone lock, a list over
 * pcp_high gives pcp_batch blocks back. The entries are pointers kept here,
 * outside the free pages, so a write after free cannot forge one. Any
 * thread may free a block that another allocated. Before an allocation
 * fails, every page set is drained (Linux's drain_all_pages), safely while
 * owners run: see the protocol in page_alloc.c. Fields are private.
 *
 * Every check of a free (double, interior, wrong order, foreign) works as
 * on the zone, through one of two marks of a block a set holds: its page
 * byte says "cached" (a block a refill brought, and every block in a zone
 * without a tag key), or, in a zone with a tag key (buddy_zone.tag_key),
 * its page byte still says "allocated" and its first word holds its free
 * tag: its address XOR the key. A free through a set writes the tag instead
 * of the page byte, and the allocation that hands the block out again
 * checks and clears it. So the page bytes, 64 pages' to a cache line, are
 * written only under the zone lock: two threads whose blocks' bytes share
 * a line do not move the line between their CPUs at every call. The first
 * word of a block of a cached order is then read and written when the
 * block is freed (and read when it is resized): it must be readable and
 * writable then, as the zone's links already require of a free block
 * without outside links. A look-up (buddy_alloc_info, buddy_alloc_size),
 * which may name a block that another thread holds, reads the sets'
 * entries instead. A write after free over a tag is found when a set would
 * hand the block out, or give it back (damage: the zone stops).
 */
struct buddy_pageset_entry {
	void *addr;  /* a cached block */
	uint8_t *pg; /* its page byte */
};

struct buddy_pageset {
	/*
	 * Read by the inline fast paths of buddy/pageset.h (and so compiled
	 * into the programs that use buddy/thread.h's wrappers: the layout of
	 * this part is part of the ABI).
	 */
	struct buddy_zone *zone;          /* NULL once released */
	int busy;                         /* owner inside a call (atomic) */
	int drain_req;                    /* a drainer holds the set, or the zone is damaged (atomic) */
	unsigned inline_orders;           /* orders the inline allocations serve: the cached
					   * ones in a zone with free tags (tag_key); else 0 */
	unsigned inline_free_orders;      /* the same for frees */
	unsigned shift;                   /* the zone's page_shift */
	uintptr_t tag_key;                /* the zone's tag_key */
	uintptr_t base;                   /* the hint region: its first page, */
	size_t nr_pages;                  /* its pages (0: none), */
	uint8_t *pg;                      /* its page bytes */
	size_t allocs;                    /* allocations since the last fold (atomic) */
	struct buddy_pageset_entry *top[BUDDY_NR_PCP_ORDERS]; /* one past the newest entry (atomic) */
	struct buddy_pageset_entry *low[BUDDY_NR_PCP_ORDERS]; /* an allocation takes an entry
					   * without more ado only while top > low: an empty
					   * list, or one that may make a new peak, is below */
	struct buddy_pageset_entry *lim[BUDDY_NR_PCP_ORDERS]; /* a free adds one while top < lim (high) */
	/* The rest: */
	struct buddy_pageset *next;       /* the zone's list of page sets */
	int barrier;                      /* the zone has the heavy barrier hook */
	unsigned nr_orders;               /* the zone's nr_fast_orders */
	unsigned barrier_orders;          /* nr_orders with the heavy barrier, else 0 */
	const struct buddy_region *hint;  /* the region base, nr_pages and pg describe (NULL: none) */
	size_t mark_peak;                 /* the peak the low marks were set against, */
	ptrdiff_t thresh;                 /* and the set's pages below which the zone's use
					   * would pass it */
	size_t moved;                     /* blocks taken from the zone less blocks
					   * given back, since the last fold */
	struct buddy_pageset_entry slot[BUDDY_NR_PCP_ORDERS][BUDDY_PAGESET_SLOTS]; /* oldest first */
};

/*
 * The zone. Its invariants, P1..P9, are listed once in
 * src/page/page_internal.h beside the region and page-byte layout they
 * speak of; buddy_check reports each broken one with its tag.
 */
struct buddy_zone {
	struct buddy_free_area free_area[BUDDY_NR_ORDERS];
	uint32_t nonempty;          /* bit k set iff free_area[k] has a block */
	unsigned page_shift;        /* log2(page_size) */
	size_t page_size;           /* bytes per page */
	unsigned max_order;         /* largest order a block can have (buddy_stats.max_order):
				     * cfg_max_order, or with BUDDY_MAX_ORDER_AUTO the
				     * largest order of any region */
	unsigned cfg_max_order;     /* buddy_config.max_order, BUDDY_MAX_ORDER for AUTO:
				     * requests above it fail with BUDDY_EMAXORDER */
	int max_order_auto;         /* configured as BUDDY_MAX_ORDER_AUTO */
	struct buddy_region *regions; /* sorted by base address */
	struct buddy_region *hint;  /* region of the last lookup */
	struct buddy_region *index[BUDDY_NR_REGION_INDEX]; /* the first regions by
				     * address, for bisection; valid while
				     * nr_regions <= BUDDY_NR_REGION_INDEX */
	unsigned nr_regions;        /* regions currently in the zone */
	unsigned next_region_id;    /* id given to the next region added */
	size_t total_pages;         /* pages in all regions (metadata excluded) */
	size_t free_pages;          /* pages on the free lists */
	size_t peak_used_pages;     /* largest total_pages - free_pages - cached_pages seen
				     * (atomic: page sets raise it without the lock) */
	size_t meta_bytes;          /* metadata bytes of all regions */
	uint64_t allocs;            /* successful allocations */
	uint64_t frees;             /* successful frees */
	uint64_t failures;          /* allocations that found no block */
	int last_error;             /* status of the last failed call */
	buddy_log_fn log;
	void *log_arg;
	struct buddy_pcp pcp[BUDDY_NR_PCP_ORDERS]; /* page cache lists per order */
	size_t cached_pages;        /* pages held on the page cache lists */
	unsigned pcp_high;          /* cache list length that triggers a drain */
	unsigned pcp_batch;         /* blocks a page set moves at a time */
	unsigned nr_pcp_orders;     /* orders below this are cached; 0 = cache off */
	int corrupted;              /* damage seen: every change now fails */
	int poison;                 /* fill freed pages, check them on allocation */
	int strict_frees;           /* buddy_config.strict_frees, with page sets */
	int outside_links;          /* buddy_config.outside_links */
	unsigned nr_fast_orders;    /* orders below this take the fast paths:
				     * nr_pcp_orders, or 0 when poisoning */
	uintptr_t tag_key;          /* free tags (see struct buddy_pageset): a
				     * zone with the heavy barrier hook, without
				     * memory-checker annotations in the library,
				     * strict frees, outside links or poisoning has
				     * a key (never 0); else 0 */
	unsigned nr_single_orders;  /* orders below this take the one-thread fast
				     * paths: nr_fast_orders in a zone without lock,
				     * page-set hook, page sets, outside links or damage;
				     * else 0 */
	buddy_error_fn on_error;
	void *error_arg;
	char name[16];
	/* Threads: the configuration's hooks, and the page sets (each on this
	 * list from buddy_pageset_init to buddy_pageset_release; the list
	 * changes with both `registry` and the zone lock held). */
	void (*lock)(void *arg);
	void (*unlock)(void *arg);
	int (*trylock)(void *arg);
	void *lock_arg;
	buddy_pageset_fn pageset_get;
	void *pageset_arg;
	void (*barrier)(void *arg);
	void (*relax)(void *arg);
	struct buddy_pageset *pagesets;
	int registry;               /* held while the page-set list is walked or changed */
};

/* --- Set-up --- */

void buddy_config_default(struct buddy_config *cfg);

/* Initialise an empty zone. cfg may be NULL for the defaults. */
int buddy_zone_init(struct buddy_zone *zone, const struct buddy_config *cfg);

/*
 * Bytes of metadata a region of `len` bytes needs (pair bitmaps, one byte
 * per page, a small header): one byte per page plus about one bitmap bit per page, plus a ~380-byte header;
 * with outside links, 16 bytes more per page.
 */
size_t buddy_meta_size(const struct buddy_zone *zone, size_t len);

/*
 * Add the region [base, base+len) to the zone. base and len must be
 * multiples of the page size. The metadata goes in [meta, meta+meta_len),
 * which must be 8-byte aligned and at least buddy_meta_size(zone, len)
 * bytes. With meta == NULL, the metadata is carved from the end of the
 * region itself, behind a guard of unused pages (one page, or 64 bytes of
 * smaller pages) that a program writing past the end of its last block
 * meets first, and the region shrinks by the guard and metadata pages
 * (buddy_region_info's meta and meta_bytes cover both).
 */
int buddy_add_region(struct buddy_zone *zone, void *base, size_t len,
		     void *meta, size_t meta_len);

/*
 * buddy_add_region with flags. BUDDY_META_ZEROED: the metadata memory is
 * known to hold only zero bytes (fresh from mmap, say), so it is not
 * cleared; for a large region that saves touching every metadata page.
 */
#define BUDDY_META_ZEROED 0x1u
int buddy_add_region_ex(struct buddy_zone *zone, void *base, size_t len,
			void *meta, size_t meta_len, unsigned flags);

/*
 * Take a wholly free region out of the zone (by its base address). Fails
 * with BUDDY_EBUSY while any of its pages is allocated, changing nothing
 * (blocks held in page caches count as free: they are drained only when
 * the region goes).
 */
int buddy_remove_region(struct buddy_zone *zone, void *base);

/* --- Allocation --- */

/* 2^order contiguous pages, or NULL (see buddy_last_error). */
void *buddy_alloc_pages(struct buddy_zone *zone, unsigned order, unsigned flags);

/*
 * Exactly npages contiguous pages: a block of the next order up, whose
 * unused tail pages go back to the free lists (Linux's alloc_pages_exact).
 */
void *buddy_alloc_pages_exact(struct buddy_zone *zone, size_t npages, unsigned flags);

/* Free a block allocated by buddy_alloc_pages with this order. */
int buddy_free_pages(struct buddy_zone *zone, void *addr, unsigned order);

/* Free an allocation of npages made by buddy_alloc_pages_exact. */
int buddy_free_pages_exact(struct buddy_zone *zone, void *addr, size_t npages);

/* Free any allocation by its address; the size is looked up. */
int buddy_free(struct buddy_zone *zone, void *addr);

/*
 * An allocation as buddy_alloc_info and buddy_free_info find it: for a
 * layer above that keeps state per region (an owner, see below) and wants
 * to find it with the same lookup that finds the allocation.
 */
struct buddy_alloc_info {
	size_t nr_pages; /* pages held: 2^order, or npages for an exact allocation */
	void *owner;     /* the owner of its region (buddy_region_set_owner), or NULL */
};

/*
 * Look up the allocation starting at addr without changing it. Returns
 * BUDDY_OK and fills *info, or the status buddy_free would fail with
 * (BUDDY_EOUTSIDE, BUDDY_ENOTBLOCK, BUDDY_EDOUBLE, ...; also in last_error).
 */
int buddy_alloc_info(struct buddy_zone *zone, const void *addr, struct buddy_alloc_info *info);

/* buddy_free that also fills *info (which may be NULL) with what it freed, on success. */
int buddy_free_info(struct buddy_zone *zone, void *addr, struct buddy_alloc_info *info);

/*
 * Change the order of an allocated block in place: shrinking splits off
 * the upper halves; growing absorbs free buddies above the block and
 * fails with BUDDY_ENOMEM (changing nothing) when they are not all free
 * (whole free or cached blocks).
 */
int buddy_resize(struct buddy_zone *zone, void *addr, unsigned new_order);

/*
 * Pages held by the allocation starting at addr (2^order, or npages for an
 * exact allocation); 0 with last_error set when addr starts none.
 */
size_t buddy_alloc_size(struct buddy_zone *zone, const void *addr);

/*
 * Give every cached block back to the buddy lists, merging as it goes:
 * the zone's page cache and every page set (Linux's drain_all_pages).
 */
void buddy_drain_cache(struct buddy_zone *zone);

/* --- Page sets (see struct buddy_pageset) --- */

/*
 * Register ps with the zone. BUDDY_ECONFIG when the zone has no page cache
 * (pcp_high 0) or pcp_high + pcp_batch > BUDDY_PAGESET_SLOTS.
 */
int buddy_pageset_init(struct buddy_zone *zone, struct buddy_pageset *ps);

/* Give every block of ps back to the zone and unregister it (thread exit). */
void buddy_pageset_release(struct buddy_pageset *ps);

/*
 * Give every page set's blocks back and unregister them all (each set's
 * zone becomes NULL: its owner's calls through it then do nothing), for a
 * zone about to be discarded. No thread may be inside a call through one.
 */
void buddy_zone_release_pagesets(struct buddy_zone *zone);

/*
 * buddy_alloc_pages and buddy_free_pages through ps, which belongs to the
 * calling thread (or CPU): only its owner calls these. Orders the set does
 * not cache, poisoning, and a block of another region than the set's last
 * go to the zone under its lock; statuses are those of the zone calls.
 */
void *buddy_pageset_alloc_pages(struct buddy_pageset *ps, unsigned order, unsigned flags);
int buddy_pageset_free_pages(struct buddy_pageset *ps, void *addr, unsigned order);

/*
 * Status of the last call that failed. With threads, of any thread: use
 * the status a call returns where it returns one.
 */
int buddy_last_error(const struct buddy_zone *zone);

/* --- Region owners --- */

/*
 * Attach an owner pointer to the region starting at base (the layer above
 * keeps its per-region record there; NULL detaches). BUDDY_EOUTSIDE when no
 * region starts at base.
 */
int buddy_region_set_owner(struct buddy_zone *zone, void *base, void *owner);

/*
 * The owner of the region holding addr (any byte of its pages), or NULL
 * when addr lies outside every region or the region has none. One compare
 * when addr is in the last region used, else a bisection over the regions.
 */
void *buddy_region_owner(const struct buddy_zone *zone, const void *addr);

/*
 * --- Introspection ---
 *
 * With threads: statistics, buddyinfo and the region information are
 * exact whenever no thread is inside an allocator call (a quiescent
 * point). While threads run they are read under the zone lock and add up
 * the page sets' counters as they stand, so each figure is one that was
 * true a moment before, but two figures need not be from the same moment
 * (used_pages may count a block one set just gave to another). The peak
 * is exact for one thread: its calls through its page set, and with the
 * pageset hook (buddy_config.pageset) every zone call it makes, which
 * moves its set's mark (buddy_alloc_pages_exact, buddy_free_pages_exact,
 * buddy_resize, an order no set caches); without the hook, those zone
 * calls move the mark of the set its owner passes (buddy_pageset_*) only
 * at the set's next zone-lock acquisition. With several threads, a thread
 * notes a new peak when its own page set's use passes the mark set at its
 * last zone-lock acquisition, so the peak can be below the true one by
 * what other threads moved since: buddy_check holds the peak to the pages
 * in use only in a zone without page sets (when the last page set is
 * released, the zone notes the use as it stands). buddy_check and
 * buddy_walk read every page set: call them only at a quiescent point.
 */

struct buddy_stats {
	size_t page_size;        /* bytes per page */
	unsigned max_order;      /* largest order a block can have in this zone */
	unsigned nr_regions;     /* regions in the zone */
	size_t total_pages;      /* pages managed (metadata excluded) */
	size_t free_pages;       /* pages on the free lists */
	size_t cached_pages;     /* free pages held in the page cache and page sets */
	size_t used_pages;       /* total_pages - free_pages - cached_pages */
	size_t peak_used_pages;  /* largest used_pages seen; only grows */
	size_t meta_bytes;       /* bytes of metadata for all regions */
	size_t nr_free[BUDDY_NR_ORDERS]; /* free blocks per order */
	size_t nr_cached[BUDDY_NR_PCP_ORDERS]; /* cached blocks per order (cache and sets) */
	size_t nr_pagesets;      /* page sets registered */
	uint64_t allocs;         /* successful allocations; only grows */
	uint64_t frees;          /* successful frees; only grows */
	uint64_t failures;       /* allocations that returned NULL for lack of a block */
};

void buddy_get_stats(const struct buddy_zone *zone, struct buddy_stats *st);

/*
 * Write one line in the /proc/buddyinfo format (orders 0..max_order, with
 * the trailing space and a newline) into buf. Returns the length the line
 * needs, not counting the NUL; writes at most size bytes, NUL-terminated
 * when size > 0, like snprintf.
 */
size_t buddy_buddyinfo(const struct buddy_zone *zone, char *buf, size_t size);

/*
 * Linux's fragmentation index for an allocation of `order` (mm/vmstat.c,
 * __fragmentation_index), in thousandths: -1000 when the request can be
 * met, 0 when there is no free memory, otherwise towards 1000 the more a
 * failure would be due to fragmentation rather than lack of memory.
 */
int buddy_fragmentation_index(const struct buddy_zone *zone, unsigned order);

/* Linux's unusable free space index for `order`, in thousandths (0..1000). */
int buddy_unusable_index(const struct buddy_zone *zone, unsigned order);

enum buddy_block_state {
	BUDDY_BLOCK_FREE,      /* on a free list */
	BUDDY_BLOCK_ALLOCATED, /* handed out */
	BUDDY_BLOCK_CACHED     /* free, held in the page cache (not merged yet) */
};

struct buddy_block {
	void *addr;                   /* first byte of the block */
	unsigned region;              /* region id (order of addition, from 0) */
	size_t page;                  /* page index within the region */
	unsigned order;               /* the block is 2^order pages */
	enum buddy_block_state state;
	int first;                    /* allocated: 1 if the block starts an allocation,
				       * 0 if it continues an exact allocation */
};

/* Called for every block in address order; return nonzero to stop. */
typedef int (*buddy_walk_fn)(void *arg, const struct buddy_block *blk);

/* Walk every block of every region. Returns the callback's nonzero value, or 0. */
int buddy_walk(const struct buddy_zone *zone, buddy_walk_fn fn, void *arg);

struct buddy_region_info {
	void *base;        /* first page */
	size_t nr_pages;   /* pages managed */
	size_t free_pages; /* of which on the free lists */
	size_t cached_pages; /* of which in the page cache (counted by a scan: O(pages)) */
	unsigned id;       /* order of addition, from 0 */
	unsigned max_order; /* largest block order in this region */
	void *meta;        /* metadata (in the region's tail if carved from it,
			    * starting with the guard pages) */
	size_t meta_bytes;
	void *links;       /* with outside links, the pages' list entries (inside the
			    * metadata, 16 bytes a page): else NULL */
	size_t links_bytes;
	void *owner;       /* buddy_region_set_owner's pointer, or NULL */
};

/* Information about the i-th region in address order; BUDDY_ECOUNT past the end. */
int buddy_region_info(const struct buddy_zone *zone, unsigned i, struct buddy_region_info *out);

/*
 * Verify every invariant (P1..P9, src/page/page_internal.h): list links,
 * block markings, the pair bitmaps against the lists, no overlap, counts
 * that add up. Each problem is passed to report (which may be NULL) as one
 * line starting with the invariant's tag ("P3: region 0 order 1: ...").
 * Returns the number of problems.
 */
size_t buddy_check(const struct buddy_zone *zone, buddy_report_fn report, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_PAGE_H */
