/* SPDX-License-Identifier: MIT */
/*
 * fuzz_heap_damage.c - fuzz_heap.c in the malloc model's damage mode: the
 * input also writes into freed blocks and past live ones (malloc_model.h).
 */
#define FUZZ_DAMAGE 1
/* The harness itself, compiled again with the mode on (one source for both). */
#include "fuzz_heap.c" /* NOLINT(bugprone-suspicious-include) */
