/* SPDX-License-Identifier: MIT */
/*
 * buddy/rust.h - the Rust port of the page allocator (rust/), through its
 * C ABI: libbrust.a, built by cargo from rust/capi when the build has
 * cargo (CMake option BUDDY_RUST).
 *
 * The calls mirror buddy/page.h one for one, with the prefix brust_, and
 * return the same status codes (enum buddy_status) for the same calls: a
 * Rust zone given the same regions and the same calls as a C zone hands
 * out the same offsets, shows the same buddyinfo line and walk, and
 * reports damage and check findings in the same words. The
 * zone lives on the Rust side (brust_zone_create); the memory it manages
 * is the caller's, as for the C core.
 *
 * Not thread-safe: callers that share a zone lock around it.
 */
#ifndef BUDDY_RUST_H
#define BUDDY_RUST_H

#include <stddef.h>
#include <stdint.h>

#include "buddy/common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct brust_zone; /* opaque */

/* As struct buddy_config (without the split/merge log). */
struct brust_config {
	size_t page_size;       /* power of two >= 16; default 4096 */
	unsigned max_order;     /* <= 31, or BUDDY_MAX_ORDER_AUTO (0xffffffff, default) */
	const char *name;       /* <= 15 bytes; default "Normal" */
	unsigned pcp_high;      /* page cache list length before a drain; 0 = off */
	unsigned pcp_max_order; /* largest cached order, <= 10; default 3 */
	int poison;             /* fill freed pages and check them on allocation */
	/* Damage: (arg, BUDDY_ERR_CORRUPT, op, ptr, msg) once, as buddy_config's
	 * on_error, with the same op and message text; default NULL (none). */
	buddy_error_fn on_error;
	void *error_arg;
};

/* As struct buddy_alloc_info. */
struct brust_alloc_info {
	size_t nr_pages; /* pages held */
	void *owner;     /* the owner of its region, or NULL */
};

struct brust_stats {
	size_t page_size;
	unsigned max_order;
	unsigned nr_regions;
	size_t total_pages;
	size_t free_pages;
	size_t cached_pages;
	size_t used_pages;
	size_t peak_used_pages;
	size_t meta_bytes;
	size_t nr_free[32];
	size_t nr_cached[11];
	uint64_t allocs;
	uint64_t frees;
	uint64_t failures;
};

/* state: 0 free, 1 allocated, 2 cached (as enum buddy_block_state). */
struct brust_block {
	void *addr;
	unsigned region;
	size_t page;
	unsigned order;
	int state;
	int first;
};

typedef int (*brust_walk_fn)(void *arg, const struct brust_block *blk);

struct brust_region_info {
	void *base;
	size_t nr_pages;
	size_t free_pages;
	size_t cached_pages;
	unsigned id;
	unsigned max_order;
	void *meta;
	size_t meta_bytes;
	void *owner;
};

void brust_config_default(struct brust_config *cfg);
/* A new zone (cfg NULL: the defaults), or NULL with *status set (status may be NULL). */
struct brust_zone *brust_zone_create(const struct brust_config *cfg, int *status);
/* Free the zone itself; its regions' memory stays the caller's. */
void brust_zone_destroy(struct brust_zone *zone);

size_t brust_meta_size(const struct brust_zone *zone, size_t len);
int brust_add_region(struct brust_zone *zone, void *base, size_t len, void *meta, size_t meta_len);
int brust_add_region_ex(struct brust_zone *zone, void *base, size_t len, void *meta,
			size_t meta_len, unsigned flags);
int brust_remove_region(struct brust_zone *zone, void *base);

void *brust_alloc_pages(struct brust_zone *zone, unsigned order, unsigned flags);
void *brust_alloc_pages_exact(struct brust_zone *zone, size_t npages, unsigned flags);
int brust_free_pages(struct brust_zone *zone, void *addr, unsigned order);
int brust_free_pages_exact(struct brust_zone *zone, void *addr, size_t npages);
int brust_free(struct brust_zone *zone, void *addr);
int brust_alloc_info(struct brust_zone *zone, const void *addr, struct brust_alloc_info *info);
int brust_free_info(struct brust_zone *zone, void *addr, struct brust_alloc_info *info);
int brust_region_set_owner(struct brust_zone *zone, void *base, void *owner);
void *brust_region_owner(const struct brust_zone *zone, const void *addr);
int brust_resize(struct brust_zone *zone, void *addr, unsigned new_order);
size_t brust_alloc_size(struct brust_zone *zone, const void *addr);
void brust_drain_cache(struct brust_zone *zone);
int brust_last_error(const struct brust_zone *zone);
const char *brust_strerror(int status);

void brust_get_stats(const struct brust_zone *zone, struct brust_stats *st);
size_t brust_buddyinfo(const struct brust_zone *zone, char *buf, size_t size);
int brust_fragmentation_index(const struct brust_zone *zone, unsigned order);
int brust_unusable_index(const struct brust_zone *zone, unsigned order);
int brust_walk(const struct brust_zone *zone, brust_walk_fn fn, void *arg);
int brust_region_info(const struct brust_zone *zone, unsigned i, struct brust_region_info *out);
size_t brust_check(const struct brust_zone *zone, buddy_report_fn report, void *arg);

/*
 * The Rust byte heap (power-of-two blocks of 16-byte units over a zone, as
 * the C buddy heap's) over one buffer the caller hands in, its metadata
 * carved from the buffer's end, with C's malloc conventions: blocks aligned
 * to 16, realloc(p, 0) frees and returns NULL, a failed call returns NULL
 * or a nonzero status and changes nothing. `buddy replay -a rust` runs
 * traces on it. Not thread-safe.
 */
struct brust_heap; /* opaque */

/* A heap over [mem, mem + len), or NULL with *status set (BUDDY_ESMALL when
 * nothing fits). */
struct brust_heap *brust_heap_create(void *mem, size_t len, int *status);
void brust_heap_destroy(struct brust_heap *heap); /* the buffer is the caller's again */
void *brust_heap_malloc(struct brust_heap *heap, size_t size);
void *brust_heap_calloc(struct brust_heap *heap, size_t n, size_t size);
void *brust_heap_aligned_alloc(struct brust_heap *heap, size_t align, size_t size);
void *brust_heap_realloc(struct brust_heap *heap, void *p, size_t size);
/* 0, or the status of a pointer refused (never handed out, already free,
 * inside a block); NULL frees nothing. */
int brust_heap_free(struct brust_heap *heap, void *p);
size_t brust_heap_usable_size(struct brust_heap *heap, const void *p); /* 0: not a block */
int brust_heap_last_error(struct brust_heap *heap); /* status of the last failed call */
void brust_heap_get_stats(struct brust_heap *heap, struct brust_stats *st); /* 16-byte pages */
size_t brust_heap_check(struct brust_heap *heap, buddy_report_fn report, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_RUST_H */
