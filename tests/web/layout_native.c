/* SPDX-License-Identifier: MIT */
/*
 * layout_native.c - the native half of the native/wasm layout comparison
 * (layout_test.js runs the same operations on the WebAssembly core).
 *
 * Reads operations from stdin, one a line, runs them on the native page
 * core (public API only) and prints, after each, its result, the
 * buddyinfo line, the walk (page:order:state, 'a' allocated start, 'c'
 * continued exact allocation, 'f' free) and the number of problems
 * buddy_check finds. Addresses are offsets from the arena base.
 *
 *   init ARENA_BYTES PAGE_SIZE MAX_ORDER   (MAX_ORDER -1: auto)
 *   alloc ORDER | exact NPAGES | free OFFSET | resize OFFSET ORDER
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buddy/page.h"

static struct buddy_zone zone;
static unsigned char *arena;
static void *meta;
static size_t page_size;

static int walk_print(void *arg, const struct buddy_block *blk)
{
	(void)arg;
	const char *st = blk->state == BUDDY_BLOCK_FREE ? "f" : blk->first ? "a" : "c";
	printf(" %zu:%u:%s", (size_t)((unsigned char *)blk->addr - arena) / page_size, blk->order, st);
	return 0;
}

static void show(void)
{
	char line[512];
	buddy_buddyinfo(&zone, line, sizeof(line));
	printf("bi %s", line);
	printf("walk");
	buddy_walk(&zone, walk_print, NULL);
	printf("\ncheck %zu\n", buddy_check(&zone, NULL, NULL));
}

static long long offset_of(const void *p)
{
	return p ? (long long)((const unsigned char *)p - arena) : -1;
}

/* An allocation's offset (or -1) and the zone's last error, read after the call. */
static void result(const void *p)
{
	long long off = offset_of(p);
	printf("%lld %d\n", off, buddy_last_error(&zone));
}

static int init(size_t arena_bytes, size_t psize, long max_order)
{
	struct buddy_config cfg;
	buddy_config_default(&cfg);
	cfg.page_size = psize;
	cfg.max_order = max_order < 0 ? BUDDY_MAX_ORDER_AUTO : (unsigned)max_order;
	free(arena);
	free(meta);
	arena = NULL;
	meta = NULL;
	int st = buddy_zone_init(&zone, &cfg);
	if (st)
		return st;
	page_size = psize;
	arena = aligned_alloc(psize, arena_bytes);
	size_t mb = buddy_meta_size(&zone, arena_bytes);
	meta = malloc(mb ? mb : 1);
	if (!arena || !meta)
		return -1;
	memset(arena, 0, arena_bytes);
	return buddy_add_region(&zone, arena, arena_bytes, meta, mb);
}

int main(void)
{
	char line[256];
	while (fgets(line, sizeof(line), stdin)) {
		char op[16];
		unsigned long long a = 0, b = 0;
		long long c = 0;
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%15s", op) != 1)
			continue;
		printf("%s: ", line);
		if (!strcmp(op, "init") && sscanf(line, "%*s %llu %llu %lld", &a, &b, &c) == 3)
			printf("%d\n", init((size_t)a, (size_t)b, (long)c));
		else if (!strcmp(op, "alloc") && sscanf(line, "%*s %llu", &a) == 1)
			result(buddy_alloc_pages(&zone, (unsigned)a, 0));
		else if (!strcmp(op, "exact") && sscanf(line, "%*s %llu", &a) == 1)
			result(buddy_alloc_pages_exact(&zone, (size_t)a, 0));
		else if (!strcmp(op, "free") && sscanf(line, "%*s %llu", &a) == 1)
			printf("%d\n", buddy_free(&zone, arena + a));
		else if (!strcmp(op, "resize") && sscanf(line, "%*s %llu %llu", &a, &b) == 2)
			printf("%d\n", buddy_resize(&zone, arena + a, (unsigned)b));
		else {
			printf("bad line\n");
			return 2;
		}
		show();
	}
	free(arena);
	free(meta);
	return 0;
}
