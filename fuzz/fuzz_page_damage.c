/* SPDX-License-Identifier: MIT */
/*
 * fuzz_page_damage.c - fuzz_page.c in damage mode: the input also writes
 * into blocks it freed (links, free tags) and past live ones, and frees
 * stale pointers again (see fuzz_page.c).
 */
#define FUZZ_DAMAGE 1
/* The harness itself, compiled again with the mode on (one source for both). */
#include "fuzz_page.c" /* NOLINT(bugprone-suspicious-include) */
