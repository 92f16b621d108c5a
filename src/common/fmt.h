/* SPDX-License-Identifier: MIT */
/*
 * fmt.h - a tiny freestanding formatter, so the core can write buddyinfo
 * lines and check messages without stdio. Supports %s %c %d %u %x %zu %zx
 * %lu %llu %p and %%, with an optional field width and '-' for left
 * alignment. Returns the length the full text needs, like snprintf.
 */
#ifndef BUDDY_FMT_H
#define BUDDY_FMT_H

#include <stdarg.h>
#include <stddef.h>

#include "common/compiler.h"

BUDDY_INTERNAL size_t buddy_fmt(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;
BUDDY_INTERNAL size_t buddy_vfmt(char *buf, size_t size, const char *fmt, va_list ap);

#endif
