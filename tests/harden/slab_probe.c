/* SPDX-License-Identifier: MIT */
/*
 * slab_probe.c - makes one deliberate memory error on an object of a slab
 * cache, through the kmalloc heap, so the tests can prove that a memory
 * checker sees the objects the slab layer hands out:
 *
 *   slab_probe uaf       read an object after freeing it
 *   slab_probe overflow  write 16 bytes past the end of a 64-byte object,
 *                        into its neighbour (never handed out)
 *   slab_probe ok        the same steps without the error (must stay silent)
 *
 * Built against an annotated library (ASan build, or the library compiled
 * with BUDDY_ANNOTATE_VALGRIND and run under valgrind), the first two must
 * be reported and the last must not. Exit status 0 when the program runs
 * to its end, 2 for a usage or set-up error.
 */
#include <stdio.h>
#include <string.h>

#include "buddy/kmalloc.h"

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	struct bkm_heap *h = bkm_create(NULL);
	if (!h)
		return 2;
	/* The first object of its class: the next one in the slab is not handed out. */
	volatile unsigned char *p = bkm_malloc(h, 64);
	if (!p)
		return 2;
	memset((unsigned char *)p, 1, 64);
	if (strcmp(mode, "uaf") == 0) {
		bkm_free(h, (void *)p);
		printf("read after free: %d\n", p[32]);
	} else if (strcmp(mode, "overflow") == 0) {
		for (size_t i = 0; i < 64 + 16; i++)
			p[i] = 2;
	} else if (strcmp(mode, "ok") == 0) {
		for (size_t i = 0; i < 64; i++)
			p[i] = 2;
		bkm_free(h, (void *)p);
		p = bkm_malloc(h, 64);
		unsigned char *q = bkm_malloc(h, 64);
		if (!p || !q)
			return 2;
		memset((unsigned char *)p, 3, 64);
		memset(q, 4, 64);
		bkm_free(h, q);
		bkm_free(h, (void *)p);
	} else {
		fprintf(stderr, "usage: slab_probe uaf|overflow|ok\n");
		return 2;
	}
	bkm_destroy(h);
	puts("slab_probe: reached the end");
	return 0;
}
