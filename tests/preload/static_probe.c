/* SPDX-License-Identifier: MIT */
/*
 * static_probe.c - a program linked with libbuddymalloc.a: its malloc,
 * free, calloc, realloc and the aligned family are the library's (the
 * heap's statistics move with them, usable sizes are its size classes),
 * and C's own callers (strdup, stdio) use them too.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buddy/malloc.h"

static int fails;

static void expect(int ok, const char *what)
{
	if (!ok) {
		printf("static_probe: %s\n", what);
		fails++;
	}
}

int main(void)
{
	struct bmalloc_stats a, b;
	bmalloc_get_stats(&a);
	char *p = malloc(100);
	expect(p != NULL, "malloc(100) failed");
	expect(malloc_usable_size(p) == bmalloc_usable_size(p), "malloc_usable_size is not ours");
	expect(malloc_usable_size(p) == 112, "malloc(100) is not in the 112-byte class");
	char *big = malloc(1 << 20);
	expect(big != NULL, "malloc(1 MiB) failed");
	if (big)
		memset(big, 1, 1 << 20);
	void *al = aligned_alloc(4096, 5000);
	void *pm = NULL;
	expect(posix_memalign(&pm, 256, 300) == 0 && (size_t)pm % 256 == 0, "posix_memalign");
	expect(al && (size_t)al % 4096 == 0, "aligned_alloc");
	char *s = strdup("a string libc allocates");
	expect(bmalloc_usable_size(s) == 32, "strdup's block is not ours");
	char *grown = realloc(p, 40000);
	expect(grown != NULL, "realloc failed");
	p = grown;
	char *z = calloc(10, 10);
	expect(z && z[99] == 0, "calloc");
	bmalloc_get_stats(&b);
	expect(b.heap.allocs > a.heap.allocs || b.refills > a.refills, "the heap saw no allocation");
	expect(b.heap.huge_allocs + b.heap.large_allocs >= 2, "the large blocks are not the heap's");
	free(p);
	free(big);
	free(al);
	free(pm);
	free(s);
	free(z);
	if (!fails)
		printf("static_probe: malloc, the aligned family and libc's callers use libbuddymalloc.a\n");
	return fails != 0;
}
