/* SPDX-License-Identifier: MIT */
/*
 * main.c - the `buddy` command: options, then an interactive session on a
 * terminal, or a script (a file argument, or stdin when it is not a
 * terminal) run line by line. In a script a failed command is reported
 * with its line number, the script goes on, and the exit status is 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "lineedit.h"
#include "record.h"
#include "replay.h"
#include "session.h"

#define ARENA_MAX ((size_t)16 << 30)
#define PAGES_MAX ((size_t)1 << 24) /* keeps the metadata and the map walk modest */

static void usage_print(FILE *f)
{
	fprintf(f,
		"usage: buddy [OPTIONS] [SCRIPT]\n"
		"       buddy replay [OPTIONS] TRACE...   (buddy replay --help)\n"
		"       buddy bench [OPTIONS]             (buddy bench --help)\n"
		"       buddy record [-o FILE] -- PROGRAM [ARG...]   (buddy record --help)\n"
		"Watch a buddy allocator work: allocate, free and look at the arena.\n"
		"With SCRIPT, or with stdin not a terminal, runs the commands without prompting.\n"
		"'replay' replays allocation traces on every allocator; 'bench' runs the\n"
		"micro-benchmarks; 'record' records a program's allocations as a trace. (To\n"
		"run a script file named replay, bench or record, write ./replay and so on.)\n"
		"\n"
		"  -a, --allocator NAME  pages (buddy pages, default), heap (buddy heap), bestfit\n"
		"                        or kmalloc (slab caches on 1K pages)\n"
		"  -s, --arena SIZE      arena size, K, M or G suffix (default 256K; heaps 4K;\n"
		"                        kmalloc 64K, a power of two of at least 64K)\n"
		"  -p, --page-size SIZE  bytes per page, a power of two >= 16 (default 4K; pages)\n"
		"  -o, --max-order N     largest block order, or 'auto' (default auto; pages)\n"
		"  -w, --width N         columns for the map (default: the terminal's, or 80)\n"
		"  -c, --color WHEN      auto (default; honours NO_COLOR), always or never\n"
		"  -x, --echo            print each script line before running it\n"
		"  -h, --help            this text\n"
		"  -V, --version         the version\n"
		"\n"
		"Type 'help' in the session for the commands.\n");
}

struct cli {
	struct cmd_opts opt;
	int colour;           /* enum cmd_colour */
	int width_given;      /* --width was given */
	int arena_given;      /* --arena was given */
	int pages_only_given; /* --page-size or --max-order was given */
	int echo;             /* --echo */
	const char *script;   /* script file, or NULL */
};

static int die(const char *fmt, const char *arg)
{
	fprintf(stderr, "buddy: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (try 'buddy --help')\n");
	return -1;
}

static int size_arg(const char *arg, const char *what, unsigned long long *v)
{
	int st = cmd_parse_size(arg, v);
	if (st == 0)
		return 0;
	fprintf(stderr, "buddy: %s: '%s' is %s (try 'buddy --help')\n", what, arg,
		st == -2 ? "too large" : "not a size");
	return -1;
}

static int option_apply(struct cli *c, int ch, const char *arg)
{
	unsigned long long v;
	switch (ch) {
	case 'a':
		if (strcmp(arg, "pages") == 0) c->opt.mode = MODE_PAGES;
		else if (strcmp(arg, "heap") == 0) c->opt.mode = MODE_HEAP;
		else if (strcmp(arg, "bestfit") == 0) c->opt.mode = MODE_BESTFIT;
		else if (strcmp(arg, "kmalloc") == 0) c->opt.mode = MODE_KMALLOC;
		else return die("unknown allocator '%s' (pages, heap, bestfit or kmalloc)", arg);
		return 0;
	case 's':
		if (size_arg(arg, "--arena", &v))
			return -1;
		c->opt.arena_bytes = v > ARENA_MAX ? ARENA_MAX + 1 : (size_t)v;
		c->arena_given = 1;
		return 0;
	case 'p':
		if (size_arg(arg, "--page-size", &v))
			return -1;
		c->opt.page_size = v > ARENA_MAX ? 0 : (size_t)v;
		c->pages_only_given = 1;
		return 0;
	case 'o':
		c->pages_only_given = 1;
		if (strcmp(arg, "auto") == 0) {
			c->opt.max_order = BUDDY_MAX_ORDER_AUTO;
			return 0;
		}
		if (cmd_parse_size(arg, &v) || v > BUDDY_MAX_ORDER || strpbrk(arg, "KMGkmg"))
			return die("--max-order: '%s' is not 0 to 31 or 'auto'", arg);
		c->opt.max_order = (unsigned)v;
		return 0;
	case 'w':
		if (cmd_parse_size(arg, &v) || v < 20 || v > 1000 || strpbrk(arg, "KMGkmg"))
			return die("--width: '%s' is not 20 to 1000", arg);
		c->opt.width = (unsigned)v;
		c->width_given = 1;
		return 0;
	case 'c':
		if (strcmp(arg, "auto") == 0) c->colour = COLOUR_AUTO;
		else if (strcmp(arg, "always") == 0) c->colour = COLOUR_ALWAYS;
		else if (strcmp(arg, "never") == 0) c->colour = COLOUR_NEVER;
		else return die("--color: '%s' is not auto, always or never", arg);
		return 0;
	default:
		return -1;
	}
}

/* Check the options against each other; fill in what depends on the terminal. */
static int options_finish(struct cli *c)
{
	struct cmd_opts *o = &c->opt;
	if (!c->arena_given && o->mode == MODE_KMALLOC)
		o->arena_bytes = (size_t)64 << 10; /* 64 pages of 1 KiB, the smallest arena */
	else if (!c->arena_given && o->mode != MODE_PAGES)
		o->arena_bytes = 4096; /* 256 granules of 16 bytes: a readable map */
	if (o->mode != MODE_PAGES && c->pages_only_given)
		return die("%s", "--page-size and --max-order apply to the pages allocator only");
	if (o->page_size < BUDDY_PAGE_SIZE_MIN || (o->page_size & (o->page_size - 1)))
		return die("%s", "--page-size must be a power of two, at least 16");
	if (o->arena_bytes == 0 || o->arena_bytes > ARENA_MAX)
		return die("%s", "--arena must be 1 byte to 16G");
	if (o->mode == MODE_PAGES && o->arena_bytes % o->page_size)
		return die("%s", "--arena must be a whole number of pages");
	if (o->mode == MODE_PAGES && o->arena_bytes / o->page_size > PAGES_MAX)
		return die("%s", "--arena holds too many pages (16M at most); use larger pages");
	const char *nc = getenv("NO_COLOR");
	o->colour = c->colour == COLOUR_ALWAYS ||
		    (c->colour == COLOUR_AUTO && isatty(STDOUT_FILENO) && !(nc && *nc));
	if (!c->width_given) {
		struct winsize ws;
		const char *cols = getenv("COLUMNS");
		unsigned long long v;
		if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
			o->width = ws.ws_col;
		else if (cols && cmd_parse_size(cols, &v) == 0 && v >= 20 && v <= 1000)
			o->width = (unsigned)v;
		o->width = o->width < 20 ? 20 : o->width > 1000 ? 1000 : o->width;
	}
	return 0;
}

/* 0 to run, 1 done (help/version printed), -1 bad options. */
static int options_parse(int argc, char **argv, struct cli *c)
{
	static const struct option longopts[] = {
		{ "allocator", required_argument, NULL, 'a' },
		{ "arena", required_argument, NULL, 's' },
		{ "page-size", required_argument, NULL, 'p' },
		{ "max-order", required_argument, NULL, 'o' },
		{ "width", required_argument, NULL, 'w' },
		{ "color", required_argument, NULL, 'c' },
		{ "colour", required_argument, NULL, 'c' },
		{ "echo", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	opterr = 0; /* our own messages, without the program's path */
	while ((ch = getopt_long(argc, argv, ":a:s:p:o:w:c:xhV", longopts, NULL)) != -1) {
		if (ch == ':')
			return die("option '%s' needs an argument", argv[optind - 1]);
		if (ch == '?')
			return die("unknown option '%s'", argv[optind - 1]);
		if (ch == 'h') {
			usage_print(stdout);
			return 1;
		}
		if (ch == 'V') {
			printf("buddy %s\n", BUDDY_VERSION);
			return 1;
		}
		if (ch == 'x')
			c->echo = 1;
		else if (option_apply(c, ch, optarg))
			return -1;
	}
	if (argc - optind > 1)
		return die("one script at most, not '%s'", argv[optind + 1]);
	c->script = optind < argc ? argv[optind] : NULL;
	return options_finish(c);
}

/* Run every line of a script; the exit status. */
static int script_run(struct cmd_session *s, FILE *in, const char *name, int echo)
{
	struct lineedit le;
	const char *line;
	int failed = 0;
	lineedit_open(&le, in, 0, "");
	s->src_name = name;
	while (!s->quit && (line = lineedit_read(&le))) {
		s->lineno++;
		if (echo)
			printf("%s%s\n", line[strspn(line, " \t")] && line[strspn(line, " \t")] != '#'
						  ? "buddy> " : "", line);
		if (le.nul) {
			/* A NUL would cut the line short and run what comes before it. */
			fflush(stdout);
			fprintf(stderr, "%s:%lu: error: the line holds a NUL byte; not run\n", name,
				s->lineno);
			failed = 1;
		} else if (cmd_session_exec_line(s, line, stdout, stderr) == 1) {
			failed = 1;
		}
	}
	lineedit_close(&le);
	fflush(stdout);
	if (le.error) {
		fprintf(stderr, "buddy: %s: %s\n", name, strerror(le.error));
		return 2;
	}
	return failed;
}

static int interactive_run(struct cmd_session *s)
{
	struct lineedit le;
	const char *line;
	char arena[32];
	fmt_size(arena, sizeof(arena), s->opt.arena_bytes);
	printf("buddy %s: %s, %s arena. Type 'help' for the commands.\n",
	       BUDDY_VERSION, session_mode_name(s), arena);
	lineedit_open(&le, stdin, 1, "buddy> ");
	while (!s->quit && (line = lineedit_read(&le))) {
#ifndef BUDDY_HAVE_LIBEDIT
		/* Arrow keys arrive as escape sequences when nothing edits the line. */
		if (strchr(line, '\x1b')) {
			fprintf(stderr, "error: arrow keys and history need line editing, which this "
					"build lacks: install libedit-dev and rebuild\n");
			continue;
		}
#endif
		cmd_session_exec_line(s, line, stdout, stderr);
		fflush(stdout);
	}
	if (!s->quit)
		putchar('\n');
	lineedit_close(&le);
	return 0;
}

/* `buddy replay ...`, `buddy bench ...`, `buddy record ...`: argv from the subcommand on. */
static int subcommand_run(int argc, char **argv, int *status)
{
	static char replay_name[] = "buddy replay", bench_name[] = "buddy bench";
	static char record_name[] = "buddy record";

	if (argc < 2)
		return 0;
	if (strcmp(argv[1], "record") == 0) {
		argv[1] = record_name;
		*status = record_main(argc - 1, argv + 1);
		return 1;
	}
	if (strcmp(argv[1], "replay") == 0) {
		argv[1] = replay_name;
		*status = replay_main(argc - 1, argv + 1);
		return 1;
	}
	if (strcmp(argv[1], "bench") == 0) {
		argv[1] = bench_name;
		*status = bench_main(argc - 1, argv + 1);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c;
	int sub_status;
	if (subcommand_run(argc, argv, &sub_status))
		return sub_status;
	memset(&c, 0, sizeof(c));
	c.opt.mode = MODE_PAGES;
	c.opt.arena_bytes = (size_t)64 * BUDDY_PAGE_SIZE_DEFAULT;
	c.opt.page_size = BUDDY_PAGE_SIZE_DEFAULT;
	c.opt.max_order = BUDDY_MAX_ORDER_AUTO;
	c.opt.width = 80;
	int st = options_parse(argc, argv, &c);
	if (st)
		return st < 0 ? 2 : 0;

	FILE *in = stdin;
	struct stat sb;
	if (c.script && !(in = fopen(c.script, "r"))) {
		fprintf(stderr, "buddy: %s: %s\n", c.script, strerror(errno));
		return 2;
	}
	if (c.script && fstat(fileno(in), &sb) == 0 && S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "buddy: %s: %s\n", c.script, strerror(EISDIR));
		fclose(in);
		return 2;
	}
	static struct cmd_session s;
	char err[256];
	if (cmd_session_init(&s, &c.opt, err, sizeof(err))) {
		fprintf(stderr, "buddy: %s\n", err);
		if (in != stdin)
			fclose(in);
		return 2;
	}
	if (c.script || !isatty(STDIN_FILENO))
		st = script_run(&s, in, c.script ? c.script : "<stdin>", c.echo);
	else
		st = interactive_run(&s);
	cmd_session_fini(&s);
	if (in != stdin)
		fclose(in);
	return st;
}
