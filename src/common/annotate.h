/* SPDX-License-Identifier: MIT */
/*
 * annotate.h - telling a memory checker which of our bytes are allocated,
 * so that valgrind's memcheck and AddressSanitizer report a use after free
 * or an overflow inside our arenas as they would for malloc.
 *
 * Selected at compile time:
 *   BUDDY_ANNOTATE_VALGRIND defined (CMake: -DBUDDY_VALGRIND_ANNOTATE=ON):
 *       memcheck client requests (valgrind/memcheck.h). Allocations become
 *       malloc-like blocks, so memcheck names them in its reports (and
 *       reports those never freed as leaks); free memory is no-access.
 *   built with AddressSanitizer (detected, nothing to set):
 *       manual poisoning (sanitizer/asan_interface.h); free memory reads
 *       as "use-after-poison".
 *   otherwise every macro is empty and costs nothing.
 * Both are header-only (inline asm, or calls into the ASan runtime), so the
 * freestanding core may use them.
 *
 * The allocators keep their own list links in the first ANNOT_LINK_BYTES
 * of every free block; those bytes stay accessible (annot_links) while the
 * rest of a free block is no-access. Damage to the links is what the
 * allocators' unlink checks catch instead.
 *
 *   annot_alloc(p, n)     [p, p+n) becomes an allocation (contents undefined)
 *   annot_free(p, n)      the allocation at p, n bytes, is gone: no access
 *   annot_resize(p, o, n) the allocation at p grows or shrinks in place
 *                         from o to n bytes
 *   annot_links(p)        the link bytes of the free block at p are usable
 *   annot_noaccess(p, n)  nobody may touch [p, p+n)
 *   annot_defined(p, n)   [p, p+n) is accessible and initialised (memory
 *                         handed back to its owner, or read by the allocator
 *                         itself, e.g. to check a fill pattern)
 */
#ifndef BUDDY_ANNOTATE_H
#define BUDDY_ANNOTATE_H

#define ANNOT_LINK_BYTES 16u /* struct buddy_list: next and prev */

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUDDY_ANNOTATE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(BUDDY_ANNOTATE_ASAN)
#define BUDDY_ANNOTATE_ASAN 1
#endif

#if defined(BUDDY_ANNOTATE_VALGRIND)

#include <valgrind/memcheck.h>

#define annot_alloc(p, n) VALGRIND_MALLOCLIKE_BLOCK((p), (n), 0, 0)
#define annot_free(p, n) \
	do { \
		(void)(n); \
		VALGRIND_FREELIKE_BLOCK((p), 0); \
	} while (0)
#define annot_resize(p, o, n) VALGRIND_RESIZEINPLACE_BLOCK((p), (o), (n), 0)
#define annot_links(p) VALGRIND_MAKE_MEM_UNDEFINED((p), ANNOT_LINK_BYTES)
#define annot_noaccess(p, n) VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#define annot_defined(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#define ANNOT_ACTIVE 1

#elif defined(BUDDY_ANNOTATE_ASAN)

#include <sanitizer/asan_interface.h>

#define annot_alloc(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define annot_free(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define annot_resize(p, o, n) \
	do { \
		if ((n) > (o)) \
			ASAN_UNPOISON_MEMORY_REGION((char *)(p) + (o), (n) - (o)); \
		else \
			ASAN_POISON_MEMORY_REGION((char *)(p) + (n), (o) - (n)); \
	} while (0)
#define annot_links(p) ASAN_UNPOISON_MEMORY_REGION((p), ANNOT_LINK_BYTES)
#define annot_noaccess(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define annot_defined(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define ANNOT_ACTIVE 1

#else

#define annot_alloc(p, n) ((void)(p), (void)(n))
#define annot_free(p, n) ((void)(p), (void)(n))
#define annot_resize(p, o, n) ((void)(p), (void)(o), (void)(n))
#define annot_links(p) ((void)(p))
#define annot_noaccess(p, n) ((void)(p), (void)(n))
#define annot_defined(p, n) ((void)(p), (void)(n))
#define ANNOT_ACTIVE 0

#endif

#endif /* BUDDY_ANNOTATE_H */
