#include <stdio.h>
#include <stdlib.h>
#include "buddy/page.h"

int main(void)
{
	static _Alignas(4096) unsigned char arena[16 * 4096];
	static _Alignas(8) unsigned char meta[1024];
	struct buddy_zone zone;
	char line[256];

	buddy_zone_init(&zone, NULL);               /* 4 KiB pages, max order auto */
	if (buddy_add_region(&zone, arena, sizeof(arena), meta, sizeof(meta)) != BUDDY_OK)
		return 1;

	void *a = buddy_alloc_pages(&zone, 0, 0);   /* 1 page */
	void *b = buddy_alloc_pages_exact(&zone, 3, BUDDY_ZERO); /* 3 zeroed pages */
	buddy_buddyinfo(&zone, line, sizeof(line));
	fputs(line, stdout);

	int st = buddy_free_pages(&zone, a, 2);      /* wrong order: refused */
	printf("%s\n", buddy_strerror(st));
	buddy_free_pages(&zone, a, 0);
	buddy_free(&zone, b);                         /* size looked up */
	buddy_buddyinfo(&zone, line, sizeof(line));
	fputs(line, stdout);
	return buddy_check(&zone, NULL, NULL) != 0;
}
