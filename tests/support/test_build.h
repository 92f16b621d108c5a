/* SPDX-License-Identifier: MIT */
/*
 * test_build.h - what kind of build a test runs in, so that long tests can
 * do less where every operation costs more.
 */
#ifndef BUDDY_TEST_BUILD_H
#define BUDDY_TEST_BUILD_H

/* Nonzero in an AddressSanitizer build (gcc or clang). */
static inline int test_sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return 1;
#else
	return 0;
#endif
#else
	return 0;
#endif
}

/*
 * Nonzero in an optimized build (make check's gcc build); zero in an
 * unoptimized one (the Debug builds: coverage, valgrind, the sanitizers).
 */
static inline int test_optimized(void)
{
#ifdef __OPTIMIZE__
	return 1;
#else
	return 0;
#endif
}

#endif
