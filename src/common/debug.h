/* SPDX-License-Identifier: MIT */
/*
 * debug.h - assertions in two tiers, as mimalloc's MI_DEBUG levels.
 * Freestanding: a failed assertion traps (no stdio), so the core can use it.
 *
 * BUDDY_DEBUG (set by the build, see CMakeLists.txt):
 *   0  release: nothing is checked beyond what every build checks
 *   1  cheap tier: BUDDY_ASSERT(cond) at the places that rely on an
 *      invariant (a list unlink, a split, a merge); O(1) each. On in Debug
 *      builds and in every test build.
 *   2  expensive tier as well: BUDDY_CHECK_ON_RETURN(fn, obj) runs fn(&obj)
 *      when the enclosing public function returns; the allocators use it to
 *      run their full checker after the public calls that change them. A
 *      full check costs O(size of the allocator), so it runs after every
 *      call while the allocator is small, and every n / BUDDY_DEBUG_CHECK_COST
 *      + 1 calls for one of n units (pages, granules): about that many steps
 *      per call, however large. On in the sanitizer test build.
 *
 * Each assertion names, in a comment, the numbered invariant it relies on
 * (P3, H1, F2, ...: listed next to each allocator's state).
 */
#ifndef BUDDY_DEBUG_H
#define BUDDY_DEBUG_H

#ifndef BUDDY_DEBUG
#define BUDDY_DEBUG 0
#endif

#if BUDDY_DEBUG >= 1
#define BUDDY_ASSERT(cond) ((cond) ? (void)0 : __builtin_trap())
#else
#define BUDDY_ASSERT(cond) ((void)sizeof(!(cond))) /* not evaluated */
#endif

#define BUDDY_DEBUG_CHECK_COST 256u

/* Is call number `calls` one the expensive tier checks, in an allocator of `units`? */
#define BUDDY_DEBUG_CHECK_DUE(calls, units) ((calls) % ((units) / BUDDY_DEBUG_CHECK_COST + 1u) == 0)

#if BUDDY_DEBUG >= 2
#define BUDDY_CHECK_ON_RETURN(fn, obj) \
	__typeof__(obj) buddy_check_on_return_ __attribute__((cleanup(fn), unused)) = (obj)
#else
#define BUDDY_CHECK_ON_RETURN(fn, obj) ((void)0)
#endif

#endif /* BUDDY_DEBUG_H */
