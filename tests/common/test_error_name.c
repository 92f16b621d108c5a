/* SPDX-License-Identifier: MIT */
/*
 * test_error_name.c - the error kinds every allocator shares
 * (buddy/common.h): each has its own text, anything else reads "unknown".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buddy/common.h"

static void test_error_name_each_kind(void **state)
{
	(void)state;
	assert_string_equal(buddy_error_name(BUDDY_ERR_INVALID), "invalid pointer");
	assert_string_equal(buddy_error_name(BUDDY_ERR_DOUBLE), "double free");
	assert_string_equal(buddy_error_name(BUDDY_ERR_INTERIOR), "interior pointer");
	assert_string_equal(buddy_error_name(BUDDY_ERR_CORRUPT), "corrupted memory");
}

static void test_error_name_out_of_range(void **state)
{
	(void)state;
	static const int bad[] = { 0, -1, BUDDY_NR_ERRORS, 1000 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_string_equal(buddy_error_name(bad[i]), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_name_each_kind),
		cmocka_unit_test(test_error_name_out_of_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
