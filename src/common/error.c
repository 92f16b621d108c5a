/* SPDX-License-Identifier: MIT */
/*
 * error.c - the text of the error kinds every allocator shares
 * (buddy/common.h). Freestanding.
 */
#include "buddy/common.h"

static const char *const error_names[BUDDY_NR_ERRORS] = {
	[BUDDY_ERR_INVALID] = "invalid pointer",
	[BUDDY_ERR_DOUBLE] = "double free",
	[BUDDY_ERR_INTERIOR] = "interior pointer",
	[BUDDY_ERR_CORRUPT] = "corrupted memory",
};

const char *buddy_error_name(int kind)
{
	if (kind <= 0 || kind >= BUDDY_NR_ERRORS)
		return "unknown error";
	return error_names[kind];
}
