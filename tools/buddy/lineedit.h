/* SPDX-License-Identifier: MIT */
/*
 * lineedit.h - reading command lines: with libedit's line editing and
 * history when the program was built with it and input is a terminal,
 * plain lines otherwise.
 */
#ifndef BUDDY_TOOL_LINEEDIT_H
#define BUDDY_TOOL_LINEEDIT_H

#include <stdio.h>

struct lineedit {
	FILE *in;         /* where plain lines come from */
	int interactive;  /* 1: prompt, and use libedit if built in */
	const char *prompt; /* shown before each line when interactive */
	char *buf;        /* the last line read (owned) */
	size_t cap;       /* bytes allocated for buf (plain reads) */
	int nul;          /* the last line held a NUL byte (plain reads): it ends the
			   * string early, so the caller should refuse the line */
	int error;        /* errno of a read error that ended the input, else 0 */
};

void lineedit_open(struct lineedit *le, FILE *in, int interactive, const char *prompt);
/*
 * The next line without its newline, or NULL at the end of input or on a
 * read error (le->error). Valid until the next call.
 */
const char *lineedit_read(struct lineedit *le);
void lineedit_close(struct lineedit *le);

#endif
