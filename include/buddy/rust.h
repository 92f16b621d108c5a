/* SPDX-License-Identifier: MIT */
/*
 * buddy/rust.h - the Rust port of the page allocator (rust/), through its
 * C ABI: libbrust.a, built by cargo from rust/capi when the build has
 * cargo (CMake option BUDDY_RUST).
 *
 * The calls mirror buddy/page.h one for one, with the prefix brust_, and
 * return the same status codes (enum buddy_status) for the same calls: a
 * Rust zone given the same regions and the same calls as a C zone hands
 * out the same offsets and shows the same buddyinfo line and walk. The
 * zone lives on the Rust side (brust_zone_create); the memory it manages
 * is the caller's, as for the C core.
 *
 * Not thread-safe: callers that share a zone lock around it.
 */
#ifndef BUDDY_RUST_H
#define BUDDY_RUST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct brust_zone; /* opaque */

/* Called once when the zone finds its own structures damaged: kind is
 * BUDDY_ECORRUPT, ptr where, msg one printable line. */
typedef void (*brust_error_fn)(void *arg, int kind, const char *op, const void *ptr,
			       const char *msg);

/* As struct buddy_config (without the split/merge log). */
struct brust_config {
	size_t page_size;       /* power of two >= 16; default 4096 */
	unsigned max_order;     /* <= 31, or BUDDY_ORDER_AUTO (0xffffffff, default) */
	const char *name;       /* <= 15 bytes; default "Normal" */
	unsigned pcp_high;      /* page cache list length before a drain; 0 = off */
	unsigned pcp_max_order; /* largest cached order, <= 10; default 3 */
	int poison;             /* fill freed pages and check them on allocation */
	brust_error_fn on_error; /* damage callback; default NULL (none) */
	void *error_arg;
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
typedef void (*brust_report_fn)(void *arg, const char *msg);

struct brust_region_info {
	void *base;
	size_t nr_pages;
	size_t free_pages;
	size_t cached_pages;
	unsigned id;
	unsigned max_order;
	void *meta;
	size_t meta_bytes;
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
size_t brust_check(const struct brust_zone *zone, brust_report_fn report, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_RUST_H */
