/* SPDX-License-Identifier: MIT */
/*
 * test_fmt.c - the freestanding formatter buddy_fmt: every conversion it
 * supports, field widths and left alignment, truncation with NUL
 * termination, and the snprintf-like return of the full length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/fmt.h"

/* buddy_vfmt behind a wrapper without the printf attribute, for formats the
 * compiler would reject at build time (they must still be handled). */
static size_t vfmt_wrapper(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = buddy_vfmt(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static void test_fmt_plain_text(void **state)
{
	char buf[32];
	(void)state;
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "hello"), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%%"), 1);
	assert_string_equal(buf, "%");
	assert_int_equal(vfmt_wrapper(buf, sizeof(buf), ""), 0);
	assert_string_equal(buf, "");
}

static void test_fmt_string_widths(void **state)
{
	char buf[32];
	(void)state;
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "[%8s]", "Normal"), 10);
	assert_string_equal(buf, "[  Normal]");
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "[%-8s]", "DMA"), 10);
	assert_string_equal(buf, "[DMA     ]");
	/* A width smaller than the text does not cut it. */
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "[%2s]", "Movable"), 9);
	assert_string_equal(buf, "[Movable]");
	assert_int_equal(vfmt_wrapper(buf, sizeof(buf), "%s", (const char *)NULL), 6);
	assert_string_equal(buf, "(null)");
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%c%3c", 'a', 'b'), 4);
	assert_string_equal(buf, "a  b");
}

static void test_fmt_integers(void **state)
{
	char buf[64];
	(void)state;
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%d %d %d", 0, -42, 2147483647), 16);
	assert_string_equal(buf, "0 -42 2147483647");
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%d", (int)(-2147483647 - 1)), 11);
	assert_string_equal(buf, "-2147483648");
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%u %x", 4294967295u, 0xbeefu), 15);
	assert_string_equal(buf, "4294967295 beef");
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%lu %llu", 123ul, 18446744073709551615ull), 24);
	assert_string_equal(buf, "123 18446744073709551615");
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%ld %lld", -7L, -9000000000LL), 14);
	assert_string_equal(buf, "-7 -9000000000");
}

static void test_fmt_size_t(void **state)
{
	char buf[64];
	(void)state;
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%zu|%6zu |%-6zu|", (size_t)0, (size_t)3,
			      (size_t)12), 17);
	assert_string_equal(buf, "0|     3 |12    |");
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%zu", SIZE_MAX), strlen("18446744073709551615"));
	assert_string_equal(buf, "18446744073709551615");
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%zx", (size_t)0x1f00), 4);
	assert_string_equal(buf, "1f00");
	/* Numbers wider than the field are written whole. */
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%6zu ", (size_t)12345678), 9);
	assert_string_equal(buf, "12345678 ");
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%5d|%-5d|", -3, -3), 12);
	assert_string_equal(buf, "   -3|-3   |");
}

static void test_fmt_pointer(void **state)
{
	char buf[64];
	(void)state;
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%p", (void *)(uintptr_t)0x1000), 6);
	assert_string_equal(buf, "0x1000");
	assert_int_equal(buddy_fmt(buf, sizeof(buf), "%p", (void *)0), 3);
	assert_string_equal(buf, "0x0");
}

static void test_fmt_truncation(void **state)
{
	char buf[8];
	(void)state;
	memset(buf, 'Z', sizeof(buf));
	/* Returns the full length; writes size-1 characters and a NUL. */
	assert_int_equal(buddy_fmt(buf, 5, "abcdefgh"), 8);
	assert_string_equal(buf, "abcd");
	assert_int_equal(buf[5], 'Z'); /* nothing past size is touched */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(buddy_fmt(buf, 1, "%zu", (size_t)1234), 4);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'Z');
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(buddy_fmt(buf, 0, "%6zu", (size_t)1), 6);
	assert_int_equal(buf[0], 'Z'); /* size 0 writes nothing */
	assert_int_equal(buddy_fmt(NULL, 0, "%s %d", "abc", 10), 6);
	/* Exactly fitting: size = length + 1. */
	assert_int_equal(buddy_fmt(buf, 4, "%3s", "x"), 3);
	assert_string_equal(buf, "  x");
	/* One short: the last character is dropped. */
	assert_int_equal(buddy_fmt(buf, 3, "%3s", "x"), 3);
	assert_string_equal(buf, "  ");
}

static void test_fmt_unknown_conversion_echoed(void **state)
{
	char buf[32];
	(void)state;
	assert_int_equal(vfmt_wrapper(buf, sizeof(buf), "a%qb"), 4);
	assert_string_equal(buf, "a%qb");
	assert_int_equal(vfmt_wrapper(buf, sizeof(buf), "end%"), 4);
	assert_string_equal(buf, "end%");
}

static void test_fmt_vfmt_matches_fmt(void **state)
{
	char a[64], b[64];
	(void)state;
	size_t na = buddy_fmt(a, sizeof(a), "%s %u %zu %-4d|", "z", 7u, (size_t)99, 5);
	size_t nb = vfmt_wrapper(b, sizeof(b), "%s %u %zu %-4d|", "z", 7u, (size_t)99, 5);
	assert_int_equal(na, nb);
	assert_string_equal(a, b);
	assert_string_equal(a, "z 7 99 5   |");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_plain_text),
		cmocka_unit_test(test_fmt_string_widths),
		cmocka_unit_test(test_fmt_integers),
		cmocka_unit_test(test_fmt_size_t),
		cmocka_unit_test(test_fmt_pointer),
		cmocka_unit_test(test_fmt_truncation),
		cmocka_unit_test(test_fmt_unknown_conversion_echoed),
		cmocka_unit_test(test_fmt_vfmt_matches_fmt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
