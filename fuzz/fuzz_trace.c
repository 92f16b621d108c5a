/* SPDX-License-Identifier: MIT */
/*
 * fuzz_trace.c - fuzz harness for the trace readers (tools/replay/trace.c).
 *
 * The first input byte picks the format (auto, rep, wee, vlog) and the name
 * the parser is told (which drives detection by extension); the rest is
 * the trace text. A parse must either fail with a "name:line: message"
 * text and an empty trace, or succeed with ops a replay can trust: every
 * slot below nslots, allocations only of free slots, frees and reallocs
 * only of live ones (or free(NULL)). Anything else aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "trace.h"

static void die(const char *what)
{
	fprintf(stderr, "fuzz_trace: %s\n", what);
	abort();
}

/* Replay the ops on a live/free map of the slots. */
static void ops_verify(const struct trace *t)
{
	unsigned char *live = calloc(t->nslots ? t->nslots : 1, 1);
	if (!live)
		die("out of memory");
	for (size_t i = 0; i < t->nops; i++) {
		const struct trace_op *op = &t->ops[i];
		if (op->zero[0] || op->zero[1] || op->zero[2])
			die("padding bytes not zero");
		if (op->kind == TRACE_FREE && op->slot == TRACE_NO_SLOT)
			continue;
		if (op->slot >= t->nslots)
			die("slot out of range");
		switch (op->kind) {
		case TRACE_ALLOC:
			if (live[op->slot])
				die("allocation into a live slot");
			live[op->slot] = 1;
			break;
		case TRACE_FREE:
			if (!live[op->slot])
				die("free of a slot that is not live");
			live[op->slot] = 0;
			break;
		case TRACE_REALLOC:
			live[op->slot] = 1; /* realloc(NULL, n) opens a new slot */
			break;
		default:
			die("unknown op kind");
		}
	}
	free(live);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "t.rep", "t.trace", "t.vlog", "t.log", "t" };
	struct fuzz_input in = { data, size };
	unsigned c = fuzz_byte(&in);
	enum trace_format fmt = (enum trace_format)(c % 4);
	const char *name = names[(c >> 2) % 5];
	struct trace t;
	char err[256];

	memset(&t, 0, sizeof(t));
	err[0] = '\0';
	(void)trace_detect(name, (const char *)in.data, in.left);
	if (trace_parse(name, (const char *)in.data, in.left, fmt, &t, err, sizeof(err)) != 0) {
		if (strncmp(err, name, strlen(name)) != 0 || err[strlen(name)] != ':')
			die("error text does not start with name:");
		if (t.nops || t.ops)
			die("failed parse left ops behind");
		return 0;
	}
	if (t.nops && !t.ops)
		die("ops missing");
	ops_verify(&t);
	trace_free(&t);
	return 0;
}
