/* SPDX-License-Identifier: MIT */
/*
 * test_build.h - what kind of build a test runs in, so that long tests can
 * do less where every operation costs more.
 *
 * TEST_SANITIZED: 1 in an AddressSanitizer build (gcc or clang).
 * TEST_OPTIMIZED: 1 in an optimized build (make check's gcc build), 0 in an
 * unoptimized one (the Debug builds: coverage, valgrind, the sanitizers).
 */
#ifndef BUDDY_TEST_BUILD_H
#define BUDDY_TEST_BUILD_H

#if defined(__SANITIZE_ADDRESS__)
#define TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_SANITIZED 1
#endif
#endif
#ifndef TEST_SANITIZED
#define TEST_SANITIZED 0
#endif

#ifdef __OPTIMIZE__
#define TEST_OPTIMIZED 1
#else
#define TEST_OPTIMIZED 0
#endif

#endif
