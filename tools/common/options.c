/* SPDX-License-Identifier: MIT */
/* options.c - numbers, sizes and option errors, alike in every tool (options.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "options.h"

/*
 * Parse an unsigned number: decimal or 0x hex, with a K/M/G suffix (and an
 * optional "B" or "iB" after it) when `size` is set. 0, -1 not a number,
 * -2 too large.
 */
int tool_parse_number(const char *w, int size, unsigned long long *out)
{
	unsigned long long v = 0, base = 10;
	const char *p = w;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16, p += 2;
	if (!isxdigit((unsigned char)*p) || (base == 10 && !isdigit((unsigned char)*p)))
		return -1;
	for (; *p && isxdigit((unsigned char)*p); p++) {
		if (base == 10 && !isdigit((unsigned char)*p))
			return -1;
		unsigned d = isdigit((unsigned char)*p) ? (unsigned)(*p - '0')
							 : (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
		if (v > (~0ULL - d) / base)
			return -2;
		v = v * base + d;
	}
	if (*p && size) {
		const char *units = "KMG";
		const char *u = strchr(units, toupper((unsigned char)*p));
		if (!u)
			return -1;
		unsigned shift = 10u * (unsigned)(u - units + 1);
		if (v > (~0ULL >> shift))
			return -2;
		v <<= shift;
		p++;
		if (*p == 'i' && p[1] == 'B')
			p += 2;
		else if (*p == 'B')
			p++;
	}
	if (*p)
		return -1;
	*out = v;
	return 0;
}

int tool_usage_error(const char *prog, const char *fmt, const char *what, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, what, arg);
	fprintf(stderr, " (try '%s --help')\n", prog);
	return -1;
}

int tool_option_number(const char *prog, const char *o, const char *arg, int size,
		       unsigned long long lo, unsigned long long hi, unsigned long long *v)
{
	int st = tool_parse_number(arg, size, v);
	if (st == 0 && *v >= lo && *v <= hi)
		return 0;
	if (st == -1)
		return tool_usage_error(prog, size ? "%s: '%s' is not a size (" TOOL_SIZE_HINT ")"
						   : "%s: '%s' is not a number", o, arg);
	char range[96];
	snprintf(range, sizeof(range), "%%s: '%%s' is out of range (%llu to %llu)", lo, hi);
	return tool_usage_error(prog, range, o, arg);
}
