/* SPDX-License-Identifier: MIT */
/*
 * fuzz_kmalloc_damage.c - fuzz_kmalloc.c in the malloc model's damage mode:
 * the input also writes into freed blocks and past live ones
 * (malloc_model.h).
 */
#define FUZZ_DAMAGE 1
/* The harness itself, compiled again with the mode on (one source for both). */
#include "fuzz_kmalloc.c" /* NOLINT(bugprone-suspicious-include) */
