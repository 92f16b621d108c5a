/* SPDX-License-Identifier: MIT */
/* progress.c - the progress line of the long commands (progress.h). */
#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void progress_start(struct progress *p, const char *prog, size_t total)
{
	const char *env = getenv("BUDDY_PROGRESS");
	memset(p, 0, sizeof(*p));
	p->prog = prog;
	p->total = total;
	if (env && *env)
		p->mode = strcmp(env, "0") == 0 ? 0 : 2;
	else
		p->mode = isatty(STDERR_FILENO) ? 1 : 0;
}

void progress_step(struct progress *p, const char *fmt, ...)
{
	char what[160], line[256];
	va_list ap;
	if (!p->mode)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	int n = snprintf(line, sizeof(line), "%s: %zu/%zu %s", p->prog, ++p->done, p->total, what);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	if (p->mode == 2) {
		fprintf(stderr, "%s\n", line);
		return;
	}
	/* Over the previous line: back to its start, the new text, blanks over the rest. */
	fprintf(stderr, "\r%s%*s", line, p->shown > len ? (int)(p->shown - len) : 0, "");
	if (p->shown > len)
		fprintf(stderr, "\r%s", line);
	p->shown = len;
	fflush(stderr);
}

void progress_end(struct progress *p)
{
	if (p->mode == 1 && p->shown) {
		fprintf(stderr, "\r%*s\r", (int)p->shown, "");
		fflush(stderr);
	}
	p->shown = 0;
}
