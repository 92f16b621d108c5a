/* SPDX-License-Identifier: MIT */
/*
 * buddy/page.h - the page allocator core: a binary buddy allocator over
 * caller-supplied memory, in the style of the Linux kernel's physical page
 * allocator.
 *
 * A zone manages one or more regions. Each region is carved into naturally
 * aligned blocks of 2^order pages (aligned relative to the region base).
 * Free blocks sit on one circular doubly linked list per order, with the
 * links stored inside the free blocks. One bit per buddy pair per order
 * records whether exactly one of the two buddies is free at that order; it
 * is toggled on every allocation and free and decides whether a freed block
 * merges with its buddy.
 *
 * The core is freestanding: it never calls malloc or stdio. All memory it
 * uses is handed to it: the zone structure, the regions and their metadata.
 * It is not thread-safe; callers that share a zone between threads lock.
 *
 * Costs: allocation O(max_order), free O(max_order) plus O(regions) to find
 * the region of a pointer (with a one-entry cache in front of the search).
 */
#ifndef BUDDY_PAGE_H
#define BUDDY_PAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Orders run from 0 to BUDDY_ORDER_LIMIT; a block of order k is 2^k pages. */
#define BUDDY_ORDER_LIMIT 31
#define BUDDY_NR_ORDERS (BUDDY_ORDER_LIMIT + 1)

/* buddy_config.max_order: as large as the regions allow. */
#define BUDDY_ORDER_AUTO 0xffffffffu

#define BUDDY_PAGE_SIZE_DEFAULT 4096u
#define BUDDY_PAGE_SIZE_MIN 16u

/* Regions found by bisection; a zone with more also searches a list. */
#define BUDDY_REGION_INDEX 64

/* Orders the page cache can hold: 0..BUDDY_PCP_ORDER_LIMIT. */
#define BUDDY_PCP_ORDER_LIMIT 10
#define BUDDY_PCP_ORDERS (BUDDY_PCP_ORDER_LIMIT + 1)

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

/* Called by buddy_check for every problem found, with a one-line message. */
typedef void (*buddy_report_fn)(void *arg, const char *msg);

/* Configuration; buddy_config_default() gives the documented defaults. */
struct buddy_config {
	size_t page_size;  /* power of two >= 16; default 4096 */
	unsigned max_order; /* largest order, <= BUDDY_ORDER_LIMIT; default BUDDY_ORDER_AUTO */
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
	unsigned pcp_max_order; /* largest cached order, <= BUDDY_PCP_ORDER_LIMIT; default 3 */
	/*
	 * Called once when the allocator finds its own structures damaged
	 * (a free-list link that does not point back, a pointer outside every
	 * region or off a block boundary). The zone then refuses every further
	 * change with BUDDY_ECORRUPT rather than hand out overlapping memory.
	 */
	buddy_report_fn on_corrupt;
	void *corrupt_arg;
	/*
	 * Page poisoning (as Linux's page_poison): every freed page is filled
	 * with BUDDY_POISON_BYTE, and an allocation first checks that its
	 * pages still hold it. A write after free is then reported through
	 * on_corrupt and stops the zone like a damaged link. Costs a fill and
	 * a scan of every page freed and allocated; 0 = off (default).
	 */
	int poison;
};

/* --- Private types; read them only through the functions below. --- */

struct buddy_list {
	struct buddy_list *next; /* stored in bytes 0..7 of a free block */
	struct buddy_list *prev; /* stored in bytes 8..15 of a free block */
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

struct buddy_zone {
	struct buddy_free_area free_area[BUDDY_NR_ORDERS];
	uint32_t nonempty;          /* bit k set iff free_area[k] has a block */
	unsigned page_shift;        /* log2(page_size) */
	size_t page_size;           /* bytes per page */
	unsigned max_order;         /* cap on orders: configured, or BUDDY_ORDER_LIMIT */
	int order_auto;             /* max_order was BUDDY_ORDER_AUTO */
	unsigned top_order;         /* largest order any region supports */
	struct buddy_region *regions; /* sorted by base address */
	struct buddy_region *hint;  /* region of the last lookup */
	struct buddy_region *index[BUDDY_REGION_INDEX]; /* the first regions by
				     * address, for bisection; valid while
				     * nr_regions <= BUDDY_REGION_INDEX */
	unsigned nr_regions;        /* regions currently in the zone */
	unsigned next_region_id;    /* id given to the next region added */
	size_t total_pages;         /* pages in all regions (metadata excluded) */
	size_t free_pages;          /* pages on the free lists */
	size_t peak_used;           /* largest total_pages - free_pages seen */
	size_t meta_bytes;          /* metadata bytes of all regions */
	uint64_t nr_allocs;         /* successful allocations */
	uint64_t nr_frees;          /* successful frees */
	uint64_t nr_failures;       /* allocations that found no block */
	int last_error;             /* status of the last failed call */
	buddy_log_fn log;
	void *log_arg;
	struct buddy_pcp pcp[BUDDY_PCP_ORDERS]; /* page cache lists per order */
	size_t cached_pages;        /* pages held on the page cache lists */
	unsigned pcp_high;          /* cache list length that triggers a drain */
	unsigned pcp_orders;        /* orders below this are cached; 0 = cache off */
	int corrupted;              /* damage seen: every change now fails */
	int poison;                 /* fill freed pages, check them on allocation */
	unsigned fast_orders;       /* orders below this take the fast paths:
				     * pcp_orders, or 0 when poisoning */
	buddy_report_fn on_corrupt;
	void *corrupt_arg;
	char name[16];
};

/* --- Set-up --- */

void buddy_config_default(struct buddy_config *cfg);

/* Initialise an empty zone. cfg may be NULL for the defaults. */
int buddy_zone_init(struct buddy_zone *zone, const struct buddy_config *cfg);

/*
 * Bytes of metadata a region of `len` bytes needs (pair bitmaps, one byte
 * per page, a small header): one byte per page plus about one bitmap bit per page, plus a ~380-byte header.
 */
size_t buddy_meta_size(const struct buddy_zone *zone, size_t len);

/*
 * Add the region [base, base+len) to the zone. base and len must be
 * multiples of the page size. The metadata goes in [meta, meta+meta_len),
 * which must be 8-byte aligned and at least buddy_meta_size(zone, len)
 * bytes. With meta == NULL, the metadata is carved from the end of the
 * region itself, and the region shrinks by that many pages.
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
 * with BUDDY_EBUSY while any of its pages is allocated.
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

/* Give every cached block back to the buddy lists, merging as it goes. */
void buddy_drain_cache(struct buddy_zone *zone);

/* Status of the last call that failed. */
int buddy_last_error(const struct buddy_zone *zone);

/* --- Introspection --- */

struct buddy_stats {
	size_t page_size;        /* bytes per page */
	unsigned max_order;      /* largest order a block can have in this zone */
	unsigned nr_regions;     /* regions in the zone */
	size_t total_pages;      /* pages managed (metadata excluded) */
	size_t free_pages;       /* pages on the free lists */
	size_t cached_pages;     /* free pages held in the page cache, off the lists */
	size_t used_pages;       /* total_pages - free_pages - cached_pages */
	size_t peak_used_pages;  /* largest used_pages seen; only grows */
	size_t meta_bytes;       /* bytes of metadata for all regions */
	size_t nr_free[BUDDY_NR_ORDERS]; /* free blocks per order */
	size_t nr_cached[BUDDY_PCP_ORDERS]; /* cached blocks per order */
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
	void *meta;        /* metadata (in the region's tail if carved from it) */
	size_t meta_bytes;
};

/* Information about the i-th region in address order; BUDDY_ECOUNT past the end. */
int buddy_region_info(const struct buddy_zone *zone, unsigned i, struct buddy_region_info *out);

/*
 * Verify every invariant: list links, block markings, the pair bitmaps
 * against the lists, no overlap, counts that add up. Each problem is
 * passed to report (which may be NULL). Returns the number of problems.
 */
size_t buddy_check(const struct buddy_zone *zone, buddy_report_fn report, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_PAGE_H */
