/* SPDX-License-Identifier: MIT */
/*
 * buddy/common.h - the types every layer of the library shares: the
 * checker's report callback and the misuse/corruption callback with its
 * error kinds. Every other public header includes this one. Freestanding:
 * it needs only <stddef.h>.
 *
 * Conventions (docs/conventions.md):
 *   - A checker, <prefix>_check(obj, report, arg), calls report once per
 *     problem with a one-line message that starts with the tag of the
 *     invariant it breaks ("P3: ..." for the page core, "H2: ..." for the
 *     buddy heap, "F4: ..." for best fit) and returns the number of problems.
 *   - A misuse or corruption found by an allocator goes to its on_error
 *     callback (config fields on_error and error_arg) as (arg, kind, op,
 *     ptr, msg): what happened, in which call, to which pointer, then the
 *     printable line "<prefix>: <op>(): <problem> at <ptr>", e.g.
 *     "bheap: free(): double free at 0x1000". The byte allocators' default
 *     (on_error NULL) writes msg and a newline to stderr and calls abort();
 *     the freestanding page zone has no default output and only returns
 *     BUDDY_ECORRUPT.
 */
#ifndef BUDDY_COMMON_H
#define BUDDY_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called by a checker for every problem found, with a one-line message. */
typedef void (*buddy_report_fn)(void *arg, const char *msg);

/*
 * What went wrong, as every allocator reports it. The set is shared so a
 * layer above (the drop-in malloc, a tool) reports any layer's problem the
 * same way.
 */
enum buddy_error_kind {
	BUDDY_ERR_INVALID = 1, /* a pointer the allocator never handed out */
	BUDDY_ERR_DOUBLE,      /* a pointer to a block that is already free */
	BUDDY_ERR_INTERIOR,    /* a pointer inside a block, not at its start */
	BUDDY_ERR_CORRUPT,     /* damage to the allocator's own data */
	BUDDY_NR_ERRORS
};

/* Text for an error kind: "invalid pointer", "double free", ... Never NULL. */
const char *buddy_error_name(int kind);

/*
 * Misuse/corruption callback: kind is an enum buddy_error_kind, op the
 * function that met the problem ("free", "realloc", "free_pages", ...), ptr
 * the pointer concerned, msg the complete line without a newline.
 */
typedef void (*buddy_error_fn)(void *arg, int kind, const char *op, const void *ptr,
			       const char *msg);

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_COMMON_H */
