/* SPDX-License-Identifier: MIT */
/*
 * annot_probe.c - makes one deliberate memory error on pages from a zone,
 * so the tests can prove that a memory checker sees our allocations:
 *
 *   annot_probe uaf       read a page after freeing it
 *   annot_probe overflow  write 32 bytes past the end of a one-page block,
 *                         into its free neighbour
 *   annot_probe ok        the same steps without the error (must stay silent)
 *
 * Built against an annotated library (ASan build, or the core compiled
 * with BUDDY_ANNOTATE_VALGRIND and run under valgrind), the first two must
 * be reported and the last must not. Exit status 0 when the program runs
 * to its end, 2 for a usage or set-up error.
 */
#include <stdio.h>
#include <string.h>

#include "buddy/page.h"

#define PS ((size_t)64)
#define NPAGES ((size_t)64)

static _Alignas(64) unsigned char arena[PS * NPAGES];
static _Alignas(8) unsigned char meta[4096];

int main(int argc, char **argv)
{
	struct buddy_zone zone;
	struct buddy_config cfg;
	const char *mode = argc > 1 ? argv[1] : "";

	buddy_config_default(&cfg);
	cfg.page_size = PS;
	if (buddy_zone_init(&zone, &cfg) != BUDDY_OK ||
	    buddy_add_region(&zone, arena, sizeof(arena), meta, sizeof(meta)) != BUDDY_OK) {
		fprintf(stderr, "annot_probe: set-up failed\n");
		return 2;
	}
	/* Page 0 is p; page 1, its buddy, stays free; pages 2-3 are q. */
	volatile unsigned char *p = buddy_alloc_pages(&zone, 0, 0);
	unsigned char *q = buddy_alloc_pages(&zone, 1, 0);
	if (!p || !q)
		return 2;
	memset((unsigned char *)p, 1, PS);
	if (strcmp(mode, "uaf") == 0) {
		buddy_free(&zone, (void *)p);
		printf("read after free: %d\n", p[PS / 2]);
	} else if (strcmp(mode, "overflow") == 0) {
		for (size_t i = 0; i < PS + 32; i++)
			p[i] = 2;
	} else if (strcmp(mode, "ok") == 0) {
		for (size_t i = 0; i < PS; i++)
			p[i] = 2;
		buddy_free(&zone, (void *)p);
		p = buddy_alloc_pages(&zone, 1, 0);
		if (!p)
			return 2;
		memset((unsigned char *)p, 3, 2 * PS);
	} else {
		fprintf(stderr, "usage: annot_probe uaf|overflow|ok\n");
		return 2;
	}
	puts("annot_probe: reached the end");
	return 0;
}
