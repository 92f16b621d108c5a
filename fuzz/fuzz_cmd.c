/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cmd.c - fuzz harness for the `buddy` command language: the parser
 * (cmd_parse_line) and the session that runs parsed commands.
 *
 * The first input byte picks the session: allocator (pages, buddy heap,
 * best fit, kmalloc), arena size and page size. The rest is split into
 * lines, each parsed and run as a person typing it would have it run. Every line must
 * either run or fail with a message; the parser must be pure (the same line
 * parses the same way twice); and after every line the allocator must pass
 * its own check. `save` is parsed but not run, so the fuzzer writes no
 * files. Output goes to /dev/null.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buddy/page.h"
#include "fuzz_input.h"
#include "session.h"

static void die(const char *what)
{
	fprintf(stderr, "fuzz_cmd: %s\n", what);
	abort();
}

static void on_problem(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "check: %s\n", msg);
}

static void session_verify(struct cmd_session *s)
{
	if (s->opt.mode == MODE_PAGES) {
		if (buddy_check(&s->zone, on_problem, NULL) != 0)
			die("buddy_check found problems after a command");
	} else if (s->heap.ops && s->heap.ops->check) {
		if (s->heap.ops->check(s->heap.self, on_problem, NULL) != 0)
			die("heap check found problems after a command");
	}
}

/* Parse twice (it must be pure), then run unless it would write a file. */
static int line_run(struct cmd_session *s, const char *line, FILE *out)
{
	struct cmd a, b;
	char err_a[256], err_b[256];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	int ra = cmd_parse_line(line, &a, err_a, sizeof(err_a));
	int rb = cmd_parse_line(line, &b, err_b, sizeof(err_b));
	if (ra != rb || (ra == 0 && (a.kind != b.kind || a.nnum != b.nnum)))
		die("the parser gave two answers for one line");
	if (ra != 0 && (ra != -1 || err_a[0] == '\0'))
		die("a rejected line has no message");
	if (ra == 0 && (a.kind >= CMD_COUNT || a.nnum < 0 || a.nnum > 2))
		die("parsed command out of range");
	if (ra == 0 && a.kind == CMD_SAVE)
		return 0;
	int st = cmd_session_exec_line(s, line, out, out);
	if (st < 0 || st > 2)
		die("exec_line returned an unknown status");
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *out;
	struct fuzz_input in = { data, size };
	struct cmd_opts opt;
	struct cmd_session s;
	char err[256], line[CMD_LINE_MAX + 2];

	if (!out && !(out = fopen("/dev/null", "w")))
		die("cannot open /dev/null");
	unsigned c = fuzz_byte(&in);
	memset(&opt, 0, sizeof(opt));
	opt.mode = (enum cmd_mode)(c % 4);
	opt.arena_bytes = (size_t)4096 << ((c >> 2) % 5);
	if (opt.mode == MODE_KMALLOC) /* a power of two of at least 64 KiB */
		opt.arena_bytes = (size_t)65536 << ((c >> 2) % 3);
	opt.page_size = (size_t)16 << ((c >> 5) % 4);
	opt.max_order = BUDDY_MAX_ORDER_AUTO;
	opt.width = 80;
	memset(&s, 0, sizeof(s));
	if (cmd_session_init(&s, &opt, err, sizeof(err)) != 0)
		die("session set-up failed");
	while (!fuzz_empty(&in)) {
		size_t n = 0;
		while (!fuzz_empty(&in) && n < sizeof(line) - 1) {
			char ch = (char)fuzz_byte(&in);
			if (ch == '\n')
				break;
			line[n++] = ch;
		}
		line[n] = '\0';
		int st = line_run(&s, line, out);
		session_verify(&s);
		if (st == 2)
			break;
	}
	cmd_session_fini(&s);
	return 0;
}
