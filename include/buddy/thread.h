/* SPDX-License-Identifier: MIT */
/*
 * buddy/thread.h - a page zone that threads share, ready-made for hosted
 * programs (POSIX threads). The page core takes its lock and its page sets
 * through hooks (buddy/page.h) and stays freestanding; this helper fills
 * those hooks:
 *
 *   - the zone lock: a pthread mutex or a spin lock (test-and-test-and-set,
 *     yielding the CPU after a short spin); BUDDY_LOCK_DEFAULT is the one
 *     the W4 benchmark found faster on a shared zone (docs/threads.md);
 *   - a page set per thread, made on the thread's first call on the zone
 *     (malloc), kept in thread-local storage, and given back to the zone
 *     when the thread exits;
 *   - the heavy barrier of the page-set protocol: Linux's membarrier
 *     (MEMBARRIER_CMD_PRIVATE_EXPEDITED), when the kernel has it; else the
 *     owners take their sets with an atomic exchange;
 *   - sched_yield while a thread waits for another's page set.
 *
 *     struct buddy_thread_lock lk;
 *     struct buddy_config cfg;
 *     buddy_config_default(&cfg);
 *     buddy_thread_config(&cfg, &lk, BUDDY_LOCK_DEFAULT, BUDDY_THREAD_PAGESETS);
 *     buddy_zone_init(&zone, &cfg);   then any thread calls buddy_alloc_pages...
 *     ...
 *     buddy_thread_zone_fini(&zone);  once no other thread uses the zone
 *     buddy_thread_lock_destroy(&lk);
 */
#ifndef BUDDY_THREAD_H
#define BUDDY_THREAD_H

#include <pthread.h>

#include "buddy/page.h"
#include "buddy/pageset.h"

#ifdef __cplusplus
extern "C" {
#endif

enum buddy_lock_kind {
	BUDDY_LOCK_DEFAULT = 0, /* the measured choice (BUDDY_LOCK_MUTEX) */
	BUDDY_LOCK_MUTEX,       /* pthread_mutex_t */
	BUDDY_LOCK_SPIN         /* a spin lock that yields when it waits long */
};

/* The zone lock's storage; lives as long as the zone. Fields are private. */
struct buddy_thread_lock {
	int kind;
	int spin;
	pthread_mutex_t mutex;
};

/* buddy_thread_config flags. */
#define BUDDY_THREAD_PAGESETS 0x1u   /* a page set per thread */
#define BUDDY_THREAD_NO_BARRIER 0x2u /* owners take their sets with an atomic exchange */
#define BUDDY_THREAD_STRICT 0x4u     /* strict frees (buddy_config.strict_frees) */

/*
 * pcp_high and pcp_max_order set when the configuration has no page cache:
 * a set holds at most 96 blocks of each of orders 0..3 (1,440 pages).
 */
#define BUDDY_THREAD_PCP_HIGH 96u
#define BUDDY_THREAD_PCP_MAX_ORDER 3u

/*
 * Fill cfg's lock hooks with lk (initialised here) of the given kind, and
 * with BUDDY_THREAD_PAGESETS the per-thread page sets (turning the page
 * cache on with BUDDY_THREAD_PCP_HIGH and BUDDY_THREAD_PCP_MAX_ORDER when
 * cfg has it off); BUDDY_THREAD_STRICT sets cfg->strict_frees. Returns 0,
 * or an errno value (EINVAL for a bad kind or flag, or
 * pthread_mutex_init's).
 */
int buddy_thread_config(struct buddy_config *cfg, struct buddy_thread_lock *lk,
			enum buddy_lock_kind kind, unsigned flags);

/* The calling thread's page set for zone (made on first use); NULL without memory. */
struct buddy_pageset *buddy_thread_pageset(struct buddy_zone *zone);

/*
 * buddy_alloc_pages and buddy_free_pages through the calling thread's page
 * set, for the hottest callers: they behave exactly as the zone calls on a
 * zone configured with BUDDY_THREAD_PAGESETS, and their common case runs
 * inline (buddy/pageset.h): the thread's last zone and set come from one
 * thread-local pair (initial-exec: no call), one compare tells the zone,
 * and the set's own lists serve the call. Anything else (another zone,
 * a thread without a set yet, an empty or full list, a new peak, zeroing,
 * anything to report) goes to the _miss functions, out of line. The ABI
 * cost: a program compiled with these depends on the layout of struct
 * buddy_pageset's first part (see buddy/pageset.h).
 */
struct buddy_thread_last_ {
	struct buddy_zone *zone; /* the zone of the thread's last set; BUDDY_THREAD_NO_ZONE_ if none */
	struct buddy_pageset *ps;
};
#define BUDDY_THREAD_NO_ZONE_ ((struct buddy_zone *)1) /* no zone's address */
extern __thread __attribute__((tls_model("initial-exec"))) struct buddy_thread_last_ buddy_thread_last_;

void *buddy_thread_alloc_pages_miss(struct buddy_zone *zone, unsigned order, unsigned flags);
int buddy_thread_free_pages_miss(struct buddy_zone *zone, void *addr, unsigned order);

static inline void *buddy_thread_alloc_pages(struct buddy_zone *zone, unsigned order,
					     unsigned flags)
{
	void *p;
	if (__builtin_expect(buddy_thread_last_.zone == zone && !flags, 1) &&
	    __builtin_expect(buddy_ps_alloc_fast_(buddy_thread_last_.ps, order, &p), 1))
		return p;
	return buddy_thread_alloc_pages_miss(zone, order, flags);
}

static inline int buddy_thread_free_pages(struct buddy_zone *zone, void *addr, unsigned order)
{
	if (__builtin_expect(buddy_thread_last_.zone == zone, 1) &&
	    __builtin_expect(buddy_ps_free_fast_(buddy_thread_last_.ps, addr, order), 1))
		return BUDDY_OK;
	return buddy_thread_free_pages_miss(zone, addr, order);
}

/*
 * Before a zone configured with page sets is discarded: give every
 * thread's set back (buddy_zone_release_pagesets). No other thread may be
 * inside a call on the zone, or exiting, meanwhile.
 */
void buddy_thread_zone_fini(struct buddy_zone *zone);

void buddy_thread_lock_destroy(struct buddy_thread_lock *lk);

#ifdef __cplusplus
}
#endif

#endif /* BUDDY_THREAD_H */
