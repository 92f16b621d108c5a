/* SPDX-License-Identifier: MIT */
/*
 * options.h - what every tool's command line (and the command language)
 * reads alike: numbers, decimal or 0x hexadecimal, and sizes, which take a
 * K, M or G suffix (powers of 1024) optionally followed by B or iB; and the
 * one-line message for a bad option.
 */
#ifndef BUDDY_TOOLS_OPTIONS_H
#define BUDDY_TOOLS_OPTIONS_H

/*
 * Parse w whole. With size set, a suffix is allowed. Returns 0 with the
 * value in *out, -1 when w is not such a number, -2 when it is too large
 * for 64 bits.
 */
int tool_parse_number(const char *w, int size, unsigned long long *out);

/* What a size looks like, for messages: "a number, with K, M or G for KiB, MiB, GiB". */
#define TOOL_SIZE_HINT "a number, with K, M or G for KiB, MiB, GiB"

/*
 * Report a bad option as "PROG: " + fmt (with what and arg) + " (try 'PROG
 * --help')" on stderr. Returns -1.
 */
int tool_usage_error(const char *prog, const char *fmt, const char *what, const char *arg);

/*
 * The value of option o: a number (a size when `size` is set) from lo to hi
 * into *v. Returns 0, or -1 after tool_usage_error.
 */
int tool_option_number(const char *prog, const char *o, const char *arg, int size,
		       unsigned long long lo, unsigned long long hi, unsigned long long *v);

#endif /* BUDDY_TOOLS_OPTIONS_H */
