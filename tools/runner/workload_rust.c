/* SPDX-License-Identifier: MIT */
/*
 * workload_rust.c - the Rust port's page allocator (rust/, through
 * libbrust.a) as a bench target, set up as bench_target_page sets up the C
 * core: the same arena, the same page cache, calls of the same shape, so
 * that `buddy bench` compares the two in one run. Built only when the
 * build has the Rust port.
 */
#include "workload.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "buddy/rust.h"

static void *rust_alloc(void *ctx, size_t bytes, unsigned order)
{
	(void)bytes;
	return brust_alloc_pages(ctx, order, 0);
}

static void rust_free(void *ctx, void *p, size_t bytes, unsigned order)
{
	(void)bytes;
	brust_free_pages(ctx, p, order);
}

int bench_target_page_rust(struct bench_target *t, struct bench_page_rust *pg, int cache)
{
	struct brust_config cfg;
	memset(pg, 0, sizeof(*pg));
	uintptr_t base = bench_page_arena(&pg->map, &pg->map_len);
	if (!base)
		return -1;
	brust_config_default(&cfg);
	if (cache) {
		cfg.pcp_high = BENCH_PCP_HIGH;
		cfg.pcp_max_order = BENCH_PCP_MAX_ORDER;
	}
	pg->zone = brust_zone_create(&cfg, NULL);
	size_t meta_len = brust_meta_size(pg->zone, BENCH_PAGE_ARENA);
	pg->meta = pg->zone ? malloc(meta_len) : NULL;
	if (!pg->meta || brust_add_region(pg->zone, (void *)base, BENCH_PAGE_ARENA, pg->meta,
					  meta_len) != BUDDY_OK) {
		bench_page_rust_release(pg);
		return -1;
	}
	*t = (struct bench_target){ cache ? "page-rust" : "page-rust-nocache", pg->zone, rust_alloc,
				    rust_free };
	return 0;
}

void bench_page_rust_release(struct bench_page_rust *pg)
{
	brust_zone_destroy(pg->zone);
	if (pg->map)
		munmap(pg->map, pg->map_len);
	free(pg->meta);
	memset(pg, 0, sizeof(*pg));
}
