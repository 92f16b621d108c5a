/* SPDX-License-Identifier: MIT */
/*
 * test_alloc_replay.c - replay of allocation traces in the malloc-lab .rep
 * form (a/r/f lines, see ../shared/traces/README.md) through the common
 * interface, for every registered allocator.
 *
 * The small trace in this folder is always replayed, with the allocator's
 * check after every operation and a pattern in every block verified before
 * it is freed or moved. cc1-O0-small.rep from ../shared/traces is replayed
 * when present (skipped cleanly otherwise; BUDDY_TRACES_DIR overrides
 * where the traces are looked for); its throughput (operations per
 * second, the fastest of three runs after a first one that warms the
 * memory) and utilization (peak live requested bytes / peak footprint) are
 * printed, never asserted on.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buddy/alloc.h"

struct rep_op {
	char kind;   /* 'a', 'r' or 'f' */
	size_t id;   /* allocation id */
	size_t size; /* bytes for a and r */
};

struct rep_trace {
	struct rep_op *ops;
	size_t nops;
	size_t nids; /* ids run from 0 to nids - 1 */
};

/* The next unsigned number in *s, moving *s past it; 0 when there is none. */
static int number_next(char **s, size_t *out)
{
	char *end;
	unsigned long long v;

	while (**s == ' ' || **s == '\t')
		(*s)++;
	if (**s < '0' || **s > '9')
		return 0;
	v = strtoull(*s, &end, 10);
	*s = end;
	*out = (size_t)v;
	return 1;
}

/* Parse one "a id bytes" / "r id bytes" / "f id" line; 0 if malformed. */
static int rep_line(char *line, size_t nids, struct rep_op *op)
{
	char *s = line + 1;

	op->kind = line[0];
	op->size = 0;
	if (op->kind != 'a' && op->kind != 'r' && op->kind != 'f')
		return 0;
	if (!number_next(&s, &op->id) || op->id >= nids)
		return 0;
	return op->kind == 'f' || number_next(&s, &op->size);
}

/* Read a .rep file; 0 when it cannot be opened or parsed. */
static int rep_load(const char *path, struct rep_trace *t)
{
	FILE *f = fopen(path, "r");
	char line[128], *s = line;
	size_t head[4];
	int ok = 1;

	if (!f)
		return 0;
	if (!fgets(line, sizeof line, f))
		ok = 0;
	for (int i = 0; ok && i < 4; i++)
		ok = number_next(&s, &head[i]);
	t->nids = ok ? head[1] : 0;
	t->ops = ok ? calloc(head[2] + 1, sizeof *t->ops) : NULL;
	t->nops = 0;
	while (t->ops && t->nops < head[2] && fgets(line, sizeof line, f) &&
	       rep_line(line, t->nids, &t->ops[t->nops]))
		t->nops++;
	fclose(f);
	return t->ops && t->nops == head[2];
}

struct replay_result {
	double seconds;       /* time spent in the allocator calls' loop */
	size_t peak_requested; /* largest sum of live requested bytes */
	size_t live;          /* allocations live at the end */
	struct balloc_stats st; /* the allocator's stats at the end */
};

static unsigned char pattern_byte(size_t id, size_t i)
{
	return (unsigned char)(id * 29u + i);
}

/* Careful replay: patterns and the allocator's check after every operation. */
static void replay_checked_op(const struct balloc *a, const struct rep_op *op,
			      unsigned char **ptr, size_t *size)
{
	const struct balloc_ops *o = a->ops;
	size_t id = op->id, keep = size[id] < op->size ? size[id] : op->size;

	for (size_t i = 0; ptr[id] && i < (op->kind == 'r' ? keep : size[id]); i++)
		assert_int_equal(ptr[id][i], pattern_byte(id, i));
	if (op->kind == 'f') {
		o->free(a->self, ptr[id]);
		ptr[id] = NULL;
		size[id] = 0;
	} else {
		ptr[id] = op->kind == 'a' ? o->malloc(a->self, op->size)
					  : o->realloc(a->self, ptr[id], op->size);
		assert_true(ptr[id] != NULL || op->size == 0);
		for (size_t i = op->kind == 'r' ? keep : 0; i < op->size; i++)
			ptr[id][i] = pattern_byte(id, i);
		size[id] = op->size;
	}
	if (o->check)
		assert_int_equal(o->check(a->self, NULL, NULL), 0);
}

/* Fast replay: only the calls, timed; requested bytes tracked on the side. */
static void replay_run(const struct balloc *a, const struct rep_trace *t, int checked,
		       struct replay_result *res)
{
	unsigned char **ptr = calloc(t->nids + 1, sizeof *ptr);
	size_t *size = calloc(t->nids + 1, sizeof *size), live_bytes = 0;
	struct timespec t0, t1;

	assert_non_null(ptr);
	assert_non_null(size);
	memset(res, 0, sizeof *res);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t k = 0; k < t->nops; k++) {
		const struct rep_op *op = &t->ops[k];
		live_bytes += (op->kind == 'f' ? 0 : op->size) - size[op->id];
		if (checked) {
			replay_checked_op(a, op, ptr, size);
		} else if (op->kind == 'f') {
			a->ops->free(a->self, ptr[op->id]);
			ptr[op->id] = NULL;
			size[op->id] = 0;
		} else {
			ptr[op->id] = op->kind == 'a' ? a->ops->malloc(a->self, op->size)
						      : a->ops->realloc(a->self, ptr[op->id], op->size);
			size[op->id] = op->size;
		}
		if (live_bytes > res->peak_requested)
			res->peak_requested = live_bytes;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	a->ops->stats(a->self, &res->st);
	for (size_t id = 0; id < t->nids; id++) {
		res->live += ptr[id] != NULL;
		a->ops->free(a->self, ptr[id]);
	}
	free(ptr);
	free(size);
}

static char *source_path(const char *rel)
{
	const char *dir = getenv("BUDDY_SOURCE_DIR");
	char *path;

	if (!dir)
		return NULL;
	path = malloc(strlen(dir) + strlen(rel) + 2);
	sprintf(path, "%s/%s", dir, rel);
	return path;
}

static void test_alloc_replay_tiny_trace(void **state)
{
	char *path = source_path("tests/alloc/tiny.rep");
	struct balloc_options opt = { .arena_bytes = 4096 };
	struct rep_trace t = { NULL, 0, 0 };
	struct replay_result res;

	(void)state;
	if (!path) {
		print_message("skipped: tests/alloc/tiny.rep not found (BUDDY_SOURCE_DIR is not set)\n");
		skip();
		return;
	}
	assert_true(rep_load(path, &t));
	assert_int_equal(t.nops, 26);
	for (const char *const *n = balloc_names(); *n; n++) {
		struct balloc a;
		assert_int_equal(balloc_create(*n, &opt, &a), 0);
		replay_run(&a, &t, 1, &res);
		assert_int_equal(res.live, 4);
		assert_int_equal(res.st.live_allocs, 4);
		assert_int_equal(res.peak_requested, 880);
		assert_int_equal(res.st.failures, 0);
		balloc_destroy(&a);
	}
	free(t.ops);
	free(path);
}

/* The shared traces: $BUDDY_TRACES_DIR, else $BUDDY_SOURCE_DIR/../shared/traces. */
static char *trace_path(const char *name)
{
	const char *dir = getenv("BUDDY_TRACES_DIR");
	char *path;

	if (!dir) {
		char rel[256];
		snprintf(rel, sizeof rel, "../shared/traces/%s", name);
		return source_path(rel);
	}
	path = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(path, "%s/%s", dir, name);
	return path;
}

/* Timed runs after the first: three, or none under valgrind. */
static int timed_runs(void)
{
	const char *v = getenv("BUDDY_UNDER_VALGRIND");

	return v && *v && strcmp(v, "0") != 0 ? 0 : 3;
}

static void test_alloc_replay_cc1_numbers(void **state)
{
	char *path = trace_path("cc1-O0-small.rep");
	struct rep_trace t = { NULL, 0, 0 };
	struct replay_result res;

	(void)state;
	if (!path || !rep_load(path, &t)) {
		print_message("skipped: cc1-O0-small.rep not found ($BUDDY_TRACES_DIR, or "
			      "../shared/traces beside the sources)\n");
		free(path);
		free(t.ops);
		skip();
		return;
	}
	for (const char *const *n = balloc_names(); *n; n++) {
		/* the fixed best-fit heap needs its arena up front; the others grow */
		struct balloc_options opt = {
			.arena_bytes = strcmp(*n, "bestfit") == 0 ? (size_t)64 << 20 : 0
		};
		struct balloc a;
		assert_int_equal(balloc_create(*n, &opt, &a), 0);
		replay_run(&a, &t, 0, &res); /* also warms the arena's pages */
		assert_int_equal(res.st.failures, 0);
		assert_int_equal(res.st.live_allocs, res.live);
		for (int run = 0; run < timed_runs(); run++) { /* report the fastest */
			struct replay_result again;
			replay_run(&a, &t, 0, &again);
			if (run == 0 || again.seconds < res.seconds)
				res.seconds = again.seconds;
		}
		/* system: footprint from mallinfo2, for the whole process */
		printf("replay cc1-O0-small.rep %-8s %zu ops in %.4f s = %.0f ops/s; "
		       "peak requested %zu B, peak footprint %zu B, utilization %.1f%%\n",
		       *n, t.nops, res.seconds, (double)t.nops / res.seconds, res.peak_requested,
		       res.st.peak_footprint_bytes,
		       res.st.peak_footprint_bytes
			       ? 100.0 * (double)res.peak_requested / (double)res.st.peak_footprint_bytes
			       : 0.0);
		balloc_destroy(&a);
	}
	free(t.ops);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_replay_tiny_trace),
		cmocka_unit_test(test_alloc_replay_cc1_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
