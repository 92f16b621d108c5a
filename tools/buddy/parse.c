/* SPDX-License-Identifier: MIT */
/*
 * parse.c - the command language, parsed without touching any state.
 *
 * A line is words separated by blanks. '#' starts a comment at the start
 * of a line, or after a blank when a non-digit follows it, so `free #3 #
 * the first block` frees #3. Numbers are decimal or 0x hexadecimal; sizes
 * take a K, M or G suffix (powers of 1024). Every problem becomes a
 * one-line message, and the caller decides whether to print it.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "session.h"

/* Argument letters: n number, N optional number, s size, h handle,
 * t handle or offset, f file name, w optional command name. */
struct cmd_spec {
	const char *name;
	enum cmd_kind kind;
	const char *args;
	const char *usage;
	const char *help;
};

static const struct cmd_spec specs[] = {
	{ "alloc", CMD_ALLOC, "n", "alloc ORDER",
	  "allocate a block of 2^ORDER pages (pages mode)" },
	{ "pages", CMD_PAGES, "n", "pages N",
	  "exactly N pages; the tail goes back (pages mode)" },
	{ "malloc", CMD_MALLOC, "s", "malloc BYTES",
	  "allocate BYTES bytes (suffixes K, M, G)" },
	{ "calloc", CMD_CALLOC, "ns", "calloc N SIZE",
	  "allocate N * SIZE zeroed bytes" },
	{ "realloc", CMD_REALLOC, "hs", "realloc #ID BYTES",
	  "resize #ID to BYTES, in place when its buddies allow" },
	{ "free", CMD_FREE, "t", "free #ID | free OFFSET",
	  "free by handle, or by offset from the arena start" },
	{ "map", CMD_MAP, "", "map", "draw the arena, with the free lists and a legend" },
	{ "lists", CMD_LISTS, "", "lists", "show the free list of every order" },
	{ "buddyinfo", CMD_BUDDYINFO, "", "buddyinfo", "print the /proc/buddyinfo line" },
	{ "stats", CMD_STATS, "", "stats", "show the allocator's counters" },
	{ "frag", CMD_FRAG, "N", "frag [ORDER]",
	  "fragmentation and unusable-space indices per order" },
	{ "check", CMD_CHECK, "", "check", "verify every invariant of the allocator" },
	{ "handles", CMD_HANDLES, "", "handles", "list the live allocations" },
	{ "slabinfo", CMD_SLABINFO, "", "slabinfo",
	  "print /proc/slabinfo for the size classes (kmalloc mode)" },
	{ "save", CMD_SAVE, "f", "save FILE.svg", "write the map as an SVG image" },
	{ "reset", CMD_RESET, "", "reset", "start again on a fresh arena; handles restart at #1" },
	{ "help", CMD_HELP, "w", "help [COMMAND]", "list the commands, or explain one" },
	{ "quit", CMD_QUIT, "", "quit", "end the session (also: exit, or end of input)" },
	{ "exit", CMD_QUIT, "", "exit", "end the session" },
};

#define NSPECS (sizeof(specs) / sizeof(specs[0]))

static const struct cmd_spec *spec_of(enum cmd_kind kind)
{
	for (size_t i = 0; i < NSPECS; i++)
		if (specs[i].kind == kind)
			return &specs[i];
	return NULL;
}

const char *cmd_name(enum cmd_kind kind)
{
	const struct cmd_spec *sp = spec_of(kind);
	return sp ? sp->name : "";
}

enum cmd_kind cmd_lookup(const char *name)
{
	for (size_t i = 0; i < NSPECS; i++)
		if (strcmp(specs[i].name, name) == 0)
			return specs[i].kind;
	return CMD_NONE;
}

static int fail(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A word made safe to echo in a one-line message: printable, at most 24 chars. */
static const char *word_show(const char *w, char *buf, size_t n)
{
	size_t i = 0;
	for (; w[i] && i + 4 < n && i < 24; i++)
		buf[i] = isprint((unsigned char)w[i]) ? w[i] : '?';
	if (w[i] && i + 4 < n)
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

/* Where the comment starts in line, or its end. */
static size_t comment_start(const char *line)
{
	size_t i = 0;
	while (line[i] == ' ' || line[i] == '\t')
		i++;
	if (line[i] == '#')
		return i;
	for (; line[i]; i++) {
		if (line[i] != '#' || i == 0)
			continue;
		int after_blank = line[i - 1] == ' ' || line[i - 1] == '\t';
		if (after_blank && !isdigit((unsigned char)line[i + 1]))
			return i;
	}
	return i;
}

/*
 * Edit distance between a and b, counting an insertion, a deletion, a
 * change or a swap of two neighbours as one (optimal string alignment),
 * ignoring case; words longer than 15 characters count as far from all.
 */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[16][16];
	if (la > 15 || lb > 15)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
			size_t v = d[i - 1][j - 1] + !same;
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

/*
 * What to say after "unknown command 'w'": the command it differs from only
 * in case, else the nearest commands (at most two edits away, and fewer
 * than half its letters), else "try 'help'".
 */
static const char *suggest(const char *w, char *buf, size_t n)
{
	size_t best = 3, found = 0, len = 0;
	for (size_t i = 0; i < NSPECS; i++) {
		size_t d = edit_distance(w, specs[i].name);
		if (d == 0) {
			snprintf(buf, n, "commands are lower case: '%s'", specs[i].name);
			return buf;
		}
		if (d < best && 2 * d < strlen(w))
			best = d, found = 0, len = 0;
		if (d == best && found < 3 && 2 * d < strlen(w)) {
			len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s'%s'",
						found ? " or " : "did you mean ", specs[i].name);
			found++;
		}
	}
	if (!found || len + 2 > n)
		return "try 'help'";
	snprintf(buf + len, n - len, "?");
	return buf;
}

#define MAX_WORDS 4

/* Split buf in place into at most MAX_WORDS words; returns the count, or MAX_WORDS+1. */
static int words_split(char *buf, char **w)
{
	int n = 0;
	char *p = buf;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p)
			return n;
		if (n == MAX_WORDS)
			return MAX_WORDS + 1;
		w[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

/* "#12" -> 12; 0 on success, -1 otherwise. */
static int handle_parse(const char *w, unsigned long *out)
{
	unsigned long long v;
	if (w[0] != '#' || !isdigit((unsigned char)w[1]) || tool_parse_number(w + 1, 0, &v) ||
	    v == 0 || v > 0xffffffffULL)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

static int arg_number(struct cmd *c, const char *name, const char *w, int size,
		      char *err, size_t n)
{
	char show[32];
	unsigned long long v;
	int st = tool_parse_number(w, size, &v);
	if (st == -1)
		return fail(err, n, "%s: '%s' is not a number", name, word_show(w, show, sizeof(show)));
	if (st == -2)
		return fail(err, n, "%s: '%s' is too large", name, word_show(w, show, sizeof(show)));
	c->num[c->nnum++] = v;
	return 0;
}

/* Fill one argument of kind `a` from word w. */
static int arg_parse(struct cmd *c, const struct cmd_spec *sp, char a, const char *w,
		     char *err, size_t n)
{
	char show[32];
	switch (a) {
	case 'n':
	case 'N':
		return arg_number(c, sp->name, w, 0, err, n);
	case 's':
		return arg_number(c, sp->name, w, 1, err, n);
	case 'h':
		if (handle_parse(w, &c->handle))
			return fail(err, n, "%s: '%s' is not a handle (like #3)", sp->name,
				    word_show(w, show, sizeof(show)));
		c->has_handle = 1;
		return 0;
	case 't':
		if (w[0] == '#')
			return arg_parse(c, sp, 'h', w, err, n);
		if (tool_parse_number(w, 0, &c->num[0]))
			return fail(err, n, "%s: '%s' is neither a handle (#3) nor an offset",
				    sp->name, word_show(w, show, sizeof(show)));
		c->nnum = 1;
		return 0;
	case 'f':
		if (strlen(w) >= sizeof(c->text))
			return fail(err, n, "%s: file name too long", sp->name);
		strcpy(c->text, w);
		return 0;
	default: /* 'w' */
		if (cmd_lookup(w) == CMD_NONE)
			return fail(err, n, "help: no command '%s'", word_show(w, show, sizeof(show)));
		strcpy(c->text, w);
		return 0;
	}
}

static int args_parse(struct cmd *c, const struct cmd_spec *sp, char **w, int nw,
		      char *err, size_t n)
{
	size_t want = strlen(sp->args);
	size_t need = want;
	if (want && (sp->args[want - 1] == 'N' || sp->args[want - 1] == 'w'))
		need--;
	if ((size_t)nw - 1 < need)
		return fail(err, n, "%s: missing argument (usage: %s)", sp->name, sp->usage);
	if ((size_t)nw - 1 > want)
		return fail(err, n, "%s: too many arguments (usage: %s)", sp->name, sp->usage);
	for (int i = 1; i < nw; i++)
		if (arg_parse(c, sp, sp->args[i - 1], w[i], err, n))
			return -1;
	return 0;
}

int cmd_parse_line(const char *line, struct cmd *cmd, char *err, size_t errlen)
{
	char buf[CMD_LINE_MAX + 1];
	char *w[MAX_WORDS];

	memset(cmd, 0, sizeof(*cmd));
	cmd->kind = CMD_NONE;
	size_t len = comment_start(line);
	if (len > CMD_LINE_MAX)
		return fail(err, errlen, "line too long (over %d bytes)", CMD_LINE_MAX);
	memcpy(buf, line, len);
	buf[len] = '\0';
	int nw = words_split(buf, w);
	if (nw == 0)
		return 0;
	const struct cmd_spec *sp = NULL;
	for (size_t i = 0; i < NSPECS && !sp; i++)
		if (strcmp(specs[i].name, w[0]) == 0)
			sp = &specs[i];
	if (!sp) {
		char show[32], hint[96];
		return fail(err, errlen, "unknown command '%s' (%s)", word_show(w[0], show, sizeof(show)),
			    suggest(w[0], hint, sizeof(hint)));
	}
	if (nw > MAX_WORDS)
		return fail(err, errlen, "%s: too many arguments (usage: %s)", sp->name, sp->usage);
	cmd->kind = sp->kind;
	if (args_parse(cmd, sp, w, nw, err, errlen)) {
		cmd->kind = CMD_NONE;
		return -1;
	}
	return 0;
}

int cmd_parse_size(const char *w, unsigned long long *out)
{
	return tool_parse_number(w, 1, out);
}

void cmd_help_print(FILE *out, const char *topic)
{
	if (topic && *topic) {
		const struct cmd_spec *sp = spec_of(cmd_lookup(topic));
		if (sp)
			fprintf(out, "usage: %s\n  %s\n", sp->usage, sp->help);
		return;
	}
	fprintf(out, "commands:\n");
	for (size_t i = 0; i < NSPECS; i++)
		if (specs[i].kind != CMD_QUIT || strcmp(specs[i].name, "quit") == 0)
			fprintf(out, "  %-24s %s\n", specs[i].usage, specs[i].help);
	fprintf(out, "Handles are #1, #2, ...; offsets count bytes from the arena start.\n"
		     "'#' starts a comment, except in a handle like #3.\n");
}
