/* SPDX-License-Identifier: MIT */
/*
 * freestanding_probe.c - an object file that calls the hosted C library on
 * purpose (malloc, printf, free). check_freestanding.cmake must reject it;
 * that proves the freestanding check can fail. Never linked into anything.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

int buddy_probe_hosted(size_t n);

int buddy_probe_hosted(size_t n)
{
	char *p = malloc(n);
	if (!p)
		return -1;
	int r = printf("%zu\n", n);
	free(p);
	return r;
}
