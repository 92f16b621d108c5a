/* SPDX-License-Identifier: MIT */
/*
 * buddy/malloc.h - the process malloc: the kmalloc heap (buddy/kmalloc.h)
 * behind the whole C allocation API, with per-thread object caches, for
 * any program. libbuddymalloc.so (LD_PRELOAD, or linked) and
 * libbuddymalloc.a export malloc, free, calloc, realloc, reallocarray,
 * aligned_alloc, posix_memalign, memalign, valloc, pvalloc and
 * malloc_usable_size (C++ new and delete reach them through malloc and
 * free); libbuddy has the same functions under the bmalloc_ prefix only,
 * for programs that keep the system malloc and for the sanitizer builds.
 *
 * One heap per process, created on the first call with nothing that
 * allocates on the way (no stdio, no dlsym). A lock per size class (a
 * pthread mutex) guards that class's slab cache, and the heap lock the
 * rest of the kmalloc heap and its zone; each thread keeps a cache of free
 * objects per size class (a bin, a singly linked list through the objects)
 * in front of it, so the common malloc and free take no lock. The heap here
 * has size classes up to 16 KiB (36 classes; kmalloc's default stops at
 * 4 KiB):
 *   - malloc of at most 16 KiB pops the bin of its class; an
 *     empty bin is refilled under one hold of the class's lock, with 2
 *     objects at first (1 above 1 KiB) and twice as many each time after,
 *     up to `batch` (half of `high`); the heap lock is taken inside only
 *     when the cache needs a slab from the zone (or gives one back);
 *   - free reads the size class of p from the owner map (one byte per
 *     zone page, written when an object is handed out, read without a
 *     lock: a live object's byte cannot change) and pushes p on the
 *     calling thread's bin, whichever thread allocated it (a cross-thread
 *     free is an ordinary free); a bin at `high` objects gives its `batch`
 *     coldest ones back under one hold of the class's lock;
 *   - larger blocks (runs of pages, blocks of 128 KiB and more mapped on
 *     their own), aligned blocks and pointers the map does not know take
 *     the locks of the classes they may touch, then the heap lock, and the
 *     heap's checked path.
 * A thread's bins go back to the heap when it exits (a pthread key's
 * destructor); fork takes every lock first (pthread_atfork), so the
 * child, even of a threaded program, finds the heap consistent and can
 * allocate. Lock order: thread cache (none) -> class locks (ascending) ->
 * heap lock -> (the zone the heap owns, no lock of its own).
 *
 * Misuse and damage (a pointer never handed out, a double free, a pointer
 * inside a block, damaged heap data) are written with write(2) as one line,
 * "buddymalloc: free(): double free at 0x55d0c1a3e010", then abort(), as
 * glibc does. With the thread caches on, a double free is caught when the
 * first free is still in the same thread's cache (a key in the object's
 * second word, as glibc's tcache) or already back in the heap; a pointer
 * never handed out, when its page holds no object; BUDDY_MALLOC_CHECK=1
 * sends every call through the heap's full checks.
 *
 * Environment (read once, at the first call):
 *   BUDDY_MALLOC_STATS=1  at exit, write the statistics, the zone's
 *                         buddyinfo line and the slabinfo lines to stderr
 *   BUDDY_MALLOC_STATS_FILE=PATH  the same, appended to PATH instead (each
 *                         process's report whole, for programs that close
 *                         stderr or that run others)
 *   BUDDY_MALLOC_CHECK=1  no thread caches: every pointer is checked by the
 *                         heap (double, interior and foreign frees named);
 *                         =2 also verifies every invariant of the heap
 *                         (bkm_check) after each call, at a cost linear in
 *                         the heap's size
 *   BUDDY_MALLOC_TCACHE=0 no thread caches (every call takes the lock)
 */
#ifndef BUDDY_MALLOC_H
#define BUDDY_MALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "buddy/kmalloc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The C API, with the C standard's and glibc's semantics (buddy/kmalloc.h lists them). */
void *bmalloc_malloc(size_t size);
void bmalloc_free(void *p);
void *bmalloc_calloc(size_t n, size_t size);
void *bmalloc_realloc(void *p, size_t size);
void *bmalloc_reallocarray(void *p, size_t n, size_t size);
void *bmalloc_aligned_alloc(size_t align, size_t size);
int bmalloc_posix_memalign(void **out, size_t align, size_t size);
void *bmalloc_memalign(size_t align, size_t size);
void *bmalloc_valloc(size_t size);
void *bmalloc_pvalloc(size_t size);
size_t bmalloc_usable_size(const void *p);

/* Give the calling thread's cached objects back to the heap now. */
void bmalloc_thread_flush(void);

/*
 * Statistics: the heap's (objects in thread caches count as live blocks),
 * and the thread caches' traffic. While threads run, each field is exact
 * at the moment the heap lock was held; they are not one snapshot with
 * the caches.
 */
struct bmalloc_stats {
	struct bkm_stats heap;
	uint64_t refills;        /* bins refilled from the heap */
	uint64_t flushes;        /* batches given back from a full bin */
	uint64_t thread_exits;   /* thread caches given back at thread exit */
	size_t nr_threads;       /* thread caches alive */
};
void bmalloc_get_stats(struct bmalloc_stats *st);

/* Write the exit report (statistics, buddyinfo, slabinfo) to file descriptor fd. */
void bmalloc_print_stats(int fd);

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_MALLOC_H */
