/* SPDX-License-Identifier: MIT */
/*
 * compiler.h - the few compiler hints the library uses (GCC and clang).
 * Freestanding.
 *
 *   BUDDY_INTERNAL  on the declaration of a function shared between the
 *                   library's source files: hidden from the shared
 *                   library's exports (it still carries its module's prefix,
 *                   so a static link cannot collide with a user's names)
 *   likely/unlikely branch hints for the fast paths
 *   COLD, NOINLINE  keep rarely taken paths out of the fast paths' code
 *   HOT_INLINE      inline even where the compiler would not
 */
#ifndef BUDDY_COMPILER_H
#define BUDDY_COMPILER_H

#define BUDDY_INTERNAL __attribute__((visibility("hidden")))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define COLD __attribute__((noinline, cold))
#define NOINLINE __attribute__((noinline))
/*
 * A coverage build (BUDDY_COVERAGE_BUILD) measures the source's lines and
 * branches: a function inlined by force there counts its branches once per
 * call site, so it is only inline, as written, in that build.
 */
#ifdef BUDDY_COVERAGE_BUILD
#define HOT_INLINE inline
#else
#define HOT_INLINE inline __attribute__((always_inline))
#endif

#endif /* BUDDY_COMPILER_H */
