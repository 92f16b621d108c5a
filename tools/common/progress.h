/* SPDX-License-Identifier: MIT */
/*
 * progress.h - one line of progress on stderr for the long commands
 * (buddy replay, buddy bench): "buddy bench: 17/90 W2 on jemalloc, run 2 of
 * 5", rewritten in place and erased at the end. Shown when stderr is a
 * terminal; BUDDY_PROGRESS=1 shows it anyway (one line per step, for logs),
 * BUDDY_PROGRESS=0 never. Output on stdout is never touched.
 */
#ifndef BUDDY_TOOLS_PROGRESS_H
#define BUDDY_TOOLS_PROGRESS_H

#include <stddef.h>

struct progress {
	const char *prog; /* command name, the line's start */
	size_t done;      /* steps finished */
	size_t total;     /* steps in all */
	int mode;         /* 0 off, 1 a line rewritten in place, 2 one line per step */
	size_t shown;     /* length of the line on screen (mode 1) */
};

void progress_start(struct progress *p, const char *prog, size_t total);
/* Step `done + 1` begins: say what it is (printf format). */
void progress_step(struct progress *p, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* Erase the line (mode 1). */
void progress_end(struct progress *p);

#endif /* BUDDY_TOOLS_PROGRESS_H */
