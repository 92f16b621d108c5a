/* SPDX-License-Identifier: MIT */
/*
 * threads_test.h - what the multi-threaded page tests share: how much work
 * to do under a slow checker, and a zone made as a program would make one.
 */
#ifndef BUDDY_THREADS_TEST_H
#define BUDDY_THREADS_TEST_H

#include <stdlib.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define THREADS_TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(THREADS_TEST_TSAN)
#define THREADS_TEST_TSAN 1
#endif

/*
 * Divisor of the operation counts: memcheck runs threads one at a time and
 * some 50 times slower, ThreadSanitizer some 10 times, and the expensive
 * assertion tier (BUDDY_DEBUG=2, the ASan build) checks a lock-only zone
 * in full every few calls; all still run every configuration and every
 * kind of operation.
 */
static inline unsigned long threads_test_scale(void)
{
	const char *vg = getenv("BUDDY_UNDER_VALGRIND");
	if (vg && *vg == '1')
		return 100;
#if defined(THREADS_TEST_TSAN) || (defined(BUDDY_DEBUG) && BUDDY_DEBUG >= 2)
	return 20;
#else
	return 1;
#endif
}

#endif
