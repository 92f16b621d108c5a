/* SPDX-License-Identifier: MIT */
/*
 * lineedit.c - command lines from libedit (readline interface, with
 * history) when BUDDY_HAVE_LIBEDIT is defined and the session is
 * interactive; from getline otherwise.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lineedit.h"

#ifdef BUDDY_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

void lineedit_open(struct lineedit *le, FILE *in, int interactive, const char *prompt)
{
	le->in = in;
	le->interactive = interactive;
	le->prompt = prompt;
	le->buf = NULL;
	le->cap = 0;
	le->nul = 0;
	le->error = 0;
}

/* A plain line from le->in, without the newline. */
static const char *plain_read(struct lineedit *le)
{
	if (le->interactive) {
		fputs(le->prompt, stdout);
		fflush(stdout);
	}
	errno = 0;
	ssize_t n = getline(&le->buf, &le->cap, le->in);
	if (n < 0) {
		le->error = ferror(le->in) ? (errno ? errno : EIO) : 0;
		return NULL;
	}
	le->nul = memchr(le->buf, '\0', (size_t)n) != NULL;
	if (n > 0 && le->buf[n - 1] == '\n')
		le->buf[--n] = '\0';
	return le->buf;
}

const char *lineedit_read(struct lineedit *le)
{
#ifdef BUDDY_HAVE_LIBEDIT
	if (le->interactive) {
		free(le->buf);
		le->buf = readline(le->prompt);
		if (le->buf && le->buf[strspn(le->buf, " \t")])
			add_history(le->buf);
		return le->buf;
	}
#endif
	return plain_read(le);
}

void lineedit_close(struct lineedit *le)
{
	free(le->buf);
	le->buf = NULL;
	le->cap = 0;
}
