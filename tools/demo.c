/*
 * demo.c - a small tour of the page allocator: carve an arena, allocate,
 * free, and print /proc/buddyinfo-style lines along the way.
 */
#include <stdio.h>
#include <stdlib.h>

#include "buddy/page.h"

static void show(const struct buddy_zone *z, const char *what)
{
	char line[512];
	buddy_buddyinfo(z, line, sizeof(line));
	printf("%-28s %s", what, line);
}

static void on_event(void *arg, const struct buddy_event *ev)
{
	(void)arg;
	printf("    %s order %u block at page %zu\n",
	       ev->kind == BUDDY_EV_SPLIT ? "split" : "merged into", ev->order, ev->page);
}

int main(void)
{
	static _Alignas(4096) unsigned char arena[64 * 4096];
	static _Alignas(8) unsigned char meta[4096];
	struct buddy_config cfg;
	struct buddy_zone zone;

	buddy_config_default(&cfg);
	cfg.max_order = 6;
	cfg.log = on_event;
	if (buddy_zone_init(&zone, &cfg) ||
	    buddy_add_region(&zone, arena, sizeof(arena), meta, sizeof(meta))) {
		fprintf(stderr, "demo: cannot set up the zone: %s\n",
			buddy_strerror(buddy_last_error(&zone)));
		return 1;
	}
	printf("A 64-page arena of 4 KiB pages; metadata %zu bytes.\n\n",
	       buddy_meta_size(&zone, sizeof(arena)));
	show(&zone, "start:");
	void *a = buddy_alloc_pages(&zone, 0, 0);
	show(&zone, "alloc order 0 (a):");
	void *b = buddy_alloc_pages(&zone, 2, 0);
	show(&zone, "alloc order 2 (b):");
	void *c = buddy_alloc_pages_exact(&zone, 5, 0);
	show(&zone, "alloc exact 5 pages (c):");
	int st = buddy_free_pages(&zone, b, 1);
	printf("free b with the wrong order: %s\n", buddy_strerror(st));
	buddy_free_pages(&zone, b, 2);
	show(&zone, "free b:");
	buddy_free(&zone, c);
	show(&zone, "free c:");
	buddy_free(&zone, a);
	show(&zone, "free a:");
	st = buddy_free(&zone, a);
	printf("free a again: %s\n", buddy_strerror(st));
	printf("integrity check: %zu problems\n", buddy_check(&zone, NULL, NULL));
	return 0;
}
