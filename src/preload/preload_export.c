/* SPDX-License-Identifier: MIT */
/*
 * preload_export.c - libbuddymalloc's copy of the process malloc: the same
 * source as libbuddy's bmalloc_ functions, with the C names (malloc, free,
 * ...) defined too, so that LD_PRELOAD or a link puts every allocation of
 * the program on it.
 */
#define BMALLOC_EXPORT 1
#include "preload.c"
