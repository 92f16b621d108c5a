/* SPDX-License-Identifier: MIT */
/*
 * page_fixture.h - helpers shared by the page allocator tests: page-aligned
 * arenas, a snapshot of everything observable about a zone (to prove a
 * rejected call changed nothing), and a compact text rendering of the
 * block walk so layout tests can assert the exact list of blocks.
 */
#ifndef BUDDY_PAGE_FIXTURE_H
#define BUDDY_PAGE_FIXTURE_H

#include <stddef.h>

#include "buddy/page.h"

/* A block of npages pages of page_size bytes, aligned to align (>= page_size). */
void *fx_arena(size_t page_size, size_t npages, size_t align);
void fx_arena_free(void *p);

/* Zone with the given page size and max order (BUDDY_MAX_ORDER_AUTO for auto), name "Normal". */
void fx_zone(struct buddy_zone *z, size_t page_size, unsigned max_order);

/* Add [base, base + npages pages) with a separate metadata buffer that fx_cleanup frees. */
void fx_add(struct buddy_zone *z, void *base, size_t npages);

/* Free every metadata buffer fx_add allocated. */
void fx_cleanup(void);

/*
 * The walk as text: one "[rID]" per region, then "PAGE:ORDER" and a state
 * letter per block: F free, A first block of an allocation, c a later block
 * of an exact allocation. Example: "[r0] 0:2A 4:0c 5:0F 6:1F".
 */
const char *fx_layout(const struct buddy_zone *z);

/* The buddyinfo line (static buffer). */
const char *fx_info(const struct buddy_zone *z);

/* buddy_check with its messages passed to cmocka's print_error; returns the count. */
size_t fx_check(const struct buddy_zone *z);

/* Everything a caller can observe about a zone. */
struct fx_snap {
	struct buddy_stats st;
	char info[512];
	char layout[8192];
};

void fx_snap_take(const struct buddy_zone *z, struct fx_snap *s);

/* Fails the test if the zone differs from the snapshot or its check fails. */
void fx_snap_expect(const struct buddy_zone *z, const struct fx_snap *s);

#endif
