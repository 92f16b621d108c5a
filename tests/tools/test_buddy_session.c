/* SPDX-License-Identifier: MIT */
/*
 * test_buddy_session.c - the `buddy` command's language and session,
 * driven through cmd_parse_line and cmd_session_exec_line: parsing,
 * the narration of splits and merges, errors that change nothing, reset,
 * the map at several widths, and a stream of random lines that must never
 * break the arena.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "session.h"

/* --- helpers --- */

static void opts_default(struct cmd_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = MODE_PAGES;
	o->arena_bytes = 64 * 4096;
	o->page_size = 4096;
	o->max_order = BUDDY_MAX_ORDER_AUTO;
	o->width = 80;
}

static struct cmd_session *session_new(const struct cmd_opts *o)
{
	static struct cmd_session s; /* the zone must not move once set up */
	char err[256];
	assert_int_equal(cmd_session_init(&s, o, err, sizeof(err)), 0);
	return &s;
}

/* Run one line; its stdout and stderr texts (caller frees), and the status. */
static int run(struct cmd_session *s, const char *line, char **out, char **err)
{
	size_t no, ne;
	FILE *fo = open_memstream(out, &no), *fe = open_memstream(err, &ne);
	assert_non_null(fo);
	assert_non_null(fe);
	int st = cmd_session_exec_line(s, line, fo, fe);
	fclose(fo);
	fclose(fe);
	return st;
}

/* Run a line that must succeed; returns its output (caller frees). */
static char *ok(struct cmd_session *s, const char *line)
{
	char *out, *err;
	int st = run(s, line, &out, &err);
	if (st == 1)
		fail_msg("'%s' failed: %s", line, err);
	free(err);
	return out;
}

static void ok_quiet(struct cmd_session *s, const char *line)
{
	free(ok(s, line));
}

/* Everything that describes the arena: every block, and the handle table. */
static int snap_block(void *arg, const struct buddy_block *b)
{
	FILE *f = arg;
	fprintf(f, "%zu:%u:%d:%d ", b->page, b->order, (int)b->state, b->first);
	return 0;
}

static char *snapshot(struct cmd_session *s)
{
	char *text;
	size_t n;
	FILE *f = open_memstream(&text, &n);
	buddy_walk(&s->zone, snap_block, f);
	for (size_t i = 0; i < s->nhandles; i++)
		fprintf(f, "#%lu@%zu+%zu ", s->handles[i].id, s->handles[i].off, s->handles[i].bytes);
	fprintf(f, "next %lu", s->next_id);
	fclose(f);
	return text;
}

/* The invariants after any command: the core's check and every handle's block. */
static void assert_consistent(struct cmd_session *s)
{
	assert_int_equal(buddy_check(&s->zone, NULL, NULL), 0);
	size_t used = 0;
	for (size_t i = 0; i < s->nhandles; i++) {
		size_t pages = buddy_alloc_size(&s->zone, s->handles[i].ptr);
		assert_int_equal(pages * 4096, s->handles[i].bytes);
		used += pages;
	}
	struct buddy_stats st;
	buddy_get_stats(&s->zone, &st);
	assert_int_equal(st.used_pages, used);
}

/* --- parsing --- */

static void test_buddy_parse_commands(void **state)
{
	(void)state;
	struct cmd c;
	char err[200];

	assert_int_equal(cmd_parse_line("  alloc 3  ", &c, err, sizeof(err)), 0);
	assert_int_equal(c.kind, CMD_ALLOC);
	assert_int_equal(c.num[0], 3);
	assert_int_equal(cmd_parse_line("calloc 3 0x10", &c, err, sizeof(err)), 0);
	assert_int_equal(c.kind, CMD_CALLOC);
	assert_int_equal(c.num[0], 3);
	assert_int_equal(c.num[1], 16);
	assert_int_equal(cmd_parse_line("realloc #12 4K", &c, err, sizeof(err)), 0);
	assert_int_equal(c.kind, CMD_REALLOC);
	assert_int_equal(c.handle, 12);
	assert_int_equal(c.num[0], 4096);
	assert_int_equal(cmd_parse_line("free 0x2000", &c, err, sizeof(err)), 0);
	assert_int_equal(c.kind, CMD_FREE);
	assert_int_equal(c.has_handle, 0);
	assert_int_equal(c.num[0], 0x2000);
	assert_int_equal(cmd_parse_line("help free", &c, err, sizeof(err)), 0);
	assert_string_equal(c.text, "free");
	assert_int_equal(cmd_parse_line("frag", &c, err, sizeof(err)), 0);
	assert_int_equal(c.nnum, 0);
	assert_int_equal(cmd_parse_line("exit", &c, err, sizeof(err)), 0);
	assert_int_equal(c.kind, CMD_QUIT);
}

static void test_buddy_parse_sizes_and_comments(void **state)
{
	(void)state;
	struct cmd c;
	char err[200];
	static const struct { const char *line; unsigned long long v; } sizes[] = {
		{ "malloc 4K", 4096 }, { "malloc 4KiB", 4096 }, { "malloc 4kB", 4096 },
		{ "malloc 2M", 2u << 20 }, { "malloc 1G", 1u << 30 }, { "malloc 0x1k", 1024 },
		{ "malloc 17", 17 },
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(cmd_parse_line(sizes[i].line, &c, err, sizeof(err)), 0);
		assert_int_equal(c.num[0], sizes[i].v);
	}
	assert_int_equal(cmd_parse_line("# a comment", &c, err, sizeof(err)), 0);
	assert_int_equal(c.kind, CMD_NONE);
	assert_int_equal(cmd_parse_line("   ", &c, err, sizeof(err)), 0);
	assert_int_equal(c.kind, CMD_NONE);
	assert_int_equal(cmd_parse_line("free #3 # the first", &c, err, sizeof(err)), 0);
	assert_int_equal(c.kind, CMD_FREE);
	assert_int_equal(c.handle, 3);
	assert_int_equal(cmd_parse_line("alloc 2 #note", &c, err, sizeof(err)), 0);
	assert_int_equal(c.num[0], 2);
	/* Orders and counts take no suffix. */
	assert_int_equal(cmd_parse_line("alloc 1K", &c, err, sizeof(err)), -1);
}

static void test_buddy_parse_errors_are_one_line(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"alocc 3", "alloc", "alloc 1 2", "alloc x", "alloc -1", "alloc 0x",
		"alloc 99999999999999999999999", "malloc 12Q", "malloc 99999999999999999G",
		"free", "free #", "free #0", "free #-1", "free 7x", "realloc 1 4K",
		"realloc #1", "help nothing", "save", "map now", "a b c d e f",
		"\x01\x02\x7f", "free #99999999999", "calloc 1",
	};
	struct cmd c;
	char err[200];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (cmd_parse_line(bad[i], &c, err, sizeof(err)) != -1)
			fail_msg("'%s' parsed", bad[i]);
		assert_true(strlen(err) > 0);
		assert_null(strchr(err, '\n'));
		for (const char *p = err; *p; p++)
			assert_true(*p >= 32 && *p < 127);
	}
	char longline[CMD_LINE_MAX + 20];
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	assert_int_equal(cmd_parse_line(longline, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
}

/* --- sessions --- */

static void test_buddy_session_narrates_splits_and_merges(void **state)
{
	(void)state;
	struct cmd_opts o;
	opts_default(&o);
	struct cmd_session *s = session_new(&o);
	char *out = ok(s, "alloc 0");
	assert_non_null(strstr(out, "#1 = alloc 0 -> page 0"));
	assert_non_null(strstr(out, "split order 6 at page 0 -> 5 -> 4 -> 3 -> 2 -> 1 -> 0"));
	assert_non_null(strstr(out, "buddies freed at pages 32, 16, 8, 4, 2, 1"));
	free(out);
	out = ok(s, "alloc 0");
	assert_non_null(strstr(out, "#2 = alloc 0 -> page 1"));
	assert_non_null(strstr(out, "no split"));
	free(out);
	out = ok(s, "free #1");
	assert_non_null(strstr(out, "no merge: its buddy at page 1"));
	free(out);
	out = ok(s, "free #2");
	assert_non_null(strstr(out, "merged with buddies at pages 0, 2, 4, 8, 16, 32 -> order 6"));
	free(out);
	assert_consistent(s);
	cmd_session_fini(s);
}

static void test_buddy_session_errors_change_nothing(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"alocc 3", "alloc 7", "pages 0", "pages 65", "malloc 0", "malloc 1M",
		"calloc 99999999999 9999999999", "free #99", "free 0x1000", "free 0x1800",
		"free 0x3000", "free 0x100000", "realloc #9 4K", "realloc #1 0",
		"realloc #1 1M", "alloc 5", "pages 33", "frag 7", "help nope",
		"save /nonexistent-dir/x.svg", "free #x",
	};
	struct cmd_opts o;
	opts_default(&o);
	struct cmd_session *s = session_new(&o);
	ok_quiet(s, "alloc 1");
	ok_quiet(s, "alloc 5");
	ok_quiet(s, "pages 3");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *before = snapshot(s), *out, *err;
		if (run(s, bad[i], &out, &err) != 1)
			fail_msg("'%s' did not fail", bad[i]);
		char *after = snapshot(s);
		assert_string_equal(before, after);
		assert_int_equal(strncmp(err, "error: ", 7), 0);
		assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1); /* one line */
		assert_string_equal(out, "");
		free(before);
		free(after);
		free(out);
		free(err);
		assert_consistent(s);
	}
	cmd_session_fini(s);
}

static void test_buddy_session_reset_and_quit(void **state)
{
	(void)state;
	struct cmd_opts o;
	opts_default(&o);
	struct cmd_session *s = session_new(&o);
	ok_quiet(s, "alloc 3");
	ok_quiet(s, "pages 7");
	ok_quiet(s, "reset");
	assert_int_equal(s->nhandles, 0);
	char *out = ok(s, "alloc 6");
	assert_non_null(strstr(out, "#1 = alloc 6 -> pages 0-63"));
	free(out);
	assert_consistent(s);
	char *err;
	assert_int_equal(run(s, "quit", &out, &err), 2);
	free(out);
	free(err);
	cmd_session_fini(s);
}

static void test_buddy_session_realloc_keeps_data(void **state)
{
	(void)state;
	struct cmd_opts o;
	opts_default(&o);
	struct cmd_session *s = session_new(&o);
	ok_quiet(s, "alloc 0");
	ok_quiet(s, "alloc 0"); /* #2 at page 1 blocks #1 from growing */
	struct handle *h = session_handle_find(s, 1);
	memset(h->ptr, 0x5a, 4096);
	char *out = ok(s, "realloc #1 16K");
	assert_non_null(strstr(out, "moved"));
	free(out);
	h = session_handle_find(s, 1);
	assert_int_equal(h->bytes, 16384);
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(((unsigned char *)h->ptr)[i], 0x5a);
	out = ok(s, "realloc #1 4K");
	assert_non_null(strstr(out, "in place"));
	free(out);
	assert_consistent(s);
	cmd_session_fini(s);
}

/* Longest line of text, counting bytes. */
static size_t widest(const char *text)
{
	size_t w = 0, cur = 0;
	for (const char *p = text; *p; p++) {
		cur = *p == '\n' ? 0 : cur + 1;
		w = cur > w ? cur : w;
	}
	return w;
}

static void test_buddy_session_map_fits_width(void **state)
{
	(void)state;
	static const unsigned widths[] = { 20, 40, 80, 132, 300 };
	static const size_t arenas[] = { 8 * 4096, 64 * 4096, 1000 * 4096, 16u << 20 };
	for (size_t a = 0; a < sizeof(arenas) / sizeof(arenas[0]); a++) {
		for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
			struct cmd_opts o;
			opts_default(&o);
			o.arena_bytes = arenas[a];
			o.width = widths[i];
			struct cmd_session *s = session_new(&o);
			ok_quiet(s, "alloc 0");
			ok_quiet(s, "pages 3");
			char *out = ok(s, "map");
			/* The map rows and the free lists stay within the width (the
			 * legend and header wrap or are short at 80 and up). */
			if (widths[i] >= 80)
				assert_true(widest(out) <= widths[i]);
			assert_non_null(strstr(out, "#1 page "));
			assert_non_null(strstr(out, "free lists"));
			free(out);
			cmd_session_fini(s);
		}
	}
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545F4914F6CDD1DULL;
}

static void random_line(uint64_t *rng, char *buf, size_t n)
{
	static const char *const words[] = {
		"alloc", "pages", "malloc", "calloc", "realloc", "free", "map", "lists",
		"buddyinfo", "stats", "frag", "check", "handles", "help", "#1", "#2", "#3",
		"0", "1", "2", "3", "6", "7", "65", "0x1000", "4K", "1M", "#", "-1", "#0",
		"99999999999999999999", "0x", "\t", "reset", "slabinfo", "100", "3000", "40K",
	};
	size_t len = 0, nw = 1 + rng_next(rng) % 4;
	buf[0] = '\0';
	for (size_t i = 0; i < nw && len + 40 < n; i++) {
		uint64_t r = rng_next(rng);
		if (r % 11 == 0) { /* a few raw bytes */
			for (int k = 0; k < 3; k++)
				buf[len++] = (char)(1 + rng_next(rng) % 255);
			buf[len++] = ' ';
			buf[len] = '\0';
			continue;
		}
		len += (size_t)snprintf(buf + len, n - len, "%s ",
					words[r % (sizeof(words) / sizeof(words[0]))]);
	}
}

static void test_buddy_session_random_lines_keep_arena_sound(void **state)
{
	(void)state;
	const char *vg = getenv("BUDDY_UNDER_VALGRIND");
	size_t rounds = vg && *vg == '1' ? 400 : 4000;
	struct cmd_opts o;
	opts_default(&o);
	o.arena_bytes = 32 * 4096;
	struct cmd_session *s = session_new(&o);
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	char line[200];
	for (size_t i = 0; i < rounds; i++) {
		random_line(&rng, line, sizeof(line));
		char *out, *err;
		run(s, line, &out, &err);
		free(out);
		free(err);
		s->quit = 0;
		assert_consistent(s);
	}
	cmd_session_fini(s);
}


/* The same stream of lines on the real byte heaps and the kmalloc heap. */
static void test_buddy_session_random_lines_on_heaps(void **state)
{
	(void)state;
	const char *vg = getenv("BUDDY_UNDER_VALGRIND");
	size_t rounds = vg && *vg == '1' ? 300 : 3000;
	static const enum cmd_mode modes[] = { MODE_HEAP, MODE_BESTFIT, MODE_KMALLOC };
	for (size_t m = 0; m < 3; m++) {
		struct cmd_opts o;
		opts_default(&o);
		o.mode = modes[m];
		o.arena_bytes = modes[m] == MODE_KMALLOC ? (size_t)64 << 10 : 4096;
		static struct cmd_session s;
		char err[256];
		assert_int_equal(cmd_session_init(&s, &o, err, sizeof(err)), 0);
		uint64_t rng = 0x243f6a8885a308d3ULL;
		char line[200];
		for (size_t i = 0; i < rounds; i++) {
			random_line(&rng, line, sizeof(line));
			char *out, *e;
			run(&s, line, &out, &e);
			free(out);
			free(e);
			s.quit = 0;
			assert_int_equal(s.heap.ops->check(s.heap.self, NULL, NULL), 0);
			struct balloc_stats st;
			s.heap.ops->stats(s.heap.self, &st);
			assert_int_equal(st.live_allocs, s.nhandles);
		}
		cmd_session_fini(&s);
	}
}

/* The kmalloc heap told as it works: classes, slabs from the zone and back, runs. */
static void test_buddy_session_kmalloc_commands(void **state)
{
	(void)state;
	struct cmd_opts o;
	opts_default(&o);
	o.mode = MODE_KMALLOC;
	o.arena_bytes = (size_t)64 << 10;
	struct cmd_session *s = session_new(&o);
	char *out = ok(s, "malloc 100");
	assert_non_null(strstr(out, "112 B: object 0 of the kmalloc-112 slab at page 0 (1 of"));
	assert_non_null(strstr(out, "kmalloc-112 took a new slab of order 0: page 0"));
	assert_non_null(strstr(out, "split order 6 at page 0 -> 5"));
	free(out);
	out = ok(s, "malloc 100");
	assert_non_null(strstr(out, "object 1 of the kmalloc-112 slab"));
	assert_non_null(strstr(out, "no page taken"));
	free(out);
	out = ok(s, "malloc 6000");
	assert_non_null(strstr(out, "a run of pages"));
	free(out);
	out = ok(s, "map");
	assert_non_null(strstr(out, "kmalloc: 64 pages of 1 KiB"));
	assert_non_null(strstr(out, "kmalloc-112 @0: #1 #2"));
	assert_non_null(strstr(out, "[#3"));
	free(out);
	out = ok(s, "slabinfo");
	assert_non_null(strstr(out, "slabinfo - version: 2.1"));
	assert_non_null(strstr(out, "kmalloc-112            2"));
	free(out);
	out = ok(s, "free #1");
	assert_non_null(strstr(out, "back on its slab's free list (1 of"));
	free(out);
	out = ok(s, "free #2");
	assert_non_null(strstr(out, "the kmalloc-112 slab at page 0 is empty: back to the zone"));
	free(out);
	out = ok(s, "free #3");
	assert_non_null(strstr(out, "goes back to the zone"));
	assert_non_null(strstr(out, "merged with"));
	free(out);
	ok_quiet(s, "stats");
	ok_quiet(s, "buddyinfo");
	ok_quiet(s, "check");
	/* Everything went back: one free block of the whole arena. */
	out = ok(s, "lists");
	assert_non_null(strstr(out, "order  6 (64 pages): 1 free"));
	free(out);
	ok_quiet(s, "reset");
	cmd_session_fini(s);
}

/* --- heap modes, on a small first-fit heap standing in for the real ones --- */

#define MOCK_BYTES 4096
#define MOCK_GRAIN 16

/* A first-fit heap: blocks in address order, split on allocation, joined on free. */
struct mock_heap {
	unsigned char mem[MOCK_BYTES];
	struct { size_t off, size; int used; size_t asked; } b[MOCK_BYTES / MOCK_GRAIN];
	size_t n;
	int destroyed;
};

static void *mock_malloc(void *self, size_t size)
{
	struct mock_heap *h = self;
	size_t need = (size + MOCK_GRAIN - 1) / MOCK_GRAIN * MOCK_GRAIN;
	for (size_t i = 0; i < h->n; i++) {
		if (h->b[i].used || h->b[i].size < need)
			continue;
		if (h->b[i].size > need) {
			memmove(&h->b[i + 2], &h->b[i + 1], (h->n - i - 1) * sizeof(h->b[0]));
			h->b[i + 1].off = h->b[i].off + need;
			h->b[i + 1].size = h->b[i].size - need;
			h->b[i + 1].used = 0;
			h->n++;
			h->b[i].size = need;
		}
		h->b[i].used = 1;
		h->b[i].asked = size;
		return h->mem + h->b[i].off;
	}
	return NULL;
}

static void *mock_calloc(void *self, size_t n, size_t size)
{
	void *p = mock_malloc(self, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static void mock_free(void *self, void *p)
{
	struct mock_heap *h = self;
	size_t i = 0;
	while (h->mem + h->b[i].off != (unsigned char *)p)
		i++;
	h->b[i].used = 0;
	if (i + 1 < h->n && !h->b[i + 1].used) {
		h->b[i].size += h->b[i + 1].size;
		memmove(&h->b[i + 1], &h->b[i + 2], (h->n - i - 2) * sizeof(h->b[0]));
		h->n--;
	}
	if (i > 0 && !h->b[i - 1].used) {
		h->b[i - 1].size += h->b[i].size;
		memmove(&h->b[i], &h->b[i + 1], (h->n - i - 1) * sizeof(h->b[0]));
		h->n--;
	}
}

static void *mock_realloc(void *self, void *p, size_t size)
{
	struct mock_heap *h = self;
	size_t old = 0;
	for (size_t i = 0; i < h->n; i++)
		if (h->mem + h->b[i].off == (unsigned char *)p)
			old = h->b[i].size;
	void *q = mock_malloc(self, size);
	if (q) {
		memcpy(q, p, old < size ? old : size);
		mock_free(self, p);
	}
	return q;
}

static void mock_stats(void *self, struct balloc_stats *st)
{
	struct mock_heap *h = self;
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < h->n; i++) {
		if (h->b[i].used) {
			st->live_allocs++;
			st->held_bytes += h->b[i].size;
			st->requested_bytes += h->b[i].asked;
		} else {
			st->free_blocks++;
			st->free_bytes += h->b[i].size;
			if (h->b[i].size > st->largest_free_bytes)
				st->largest_free_bytes = h->b[i].size;
		}
	}
	st->footprint_bytes = MOCK_BYTES;
}

static size_t mock_check(void *self, buddy_report_fn report, void *arg)
{
	struct mock_heap *h = self;
	size_t end = 0;
	size_t problems = 0;
	for (size_t i = 0; i < h->n; i++) {
		if (h->b[i].off != end) {
			report(arg, "gap");
			problems++;
		}
		end = h->b[i].off + h->b[i].size;
	}
	return problems;
}

static int mock_walk(void *self, balloc_walk_fn fn, void *arg)
{
	struct mock_heap *h = self;
	for (size_t i = 0; i < h->n; i++) {
		struct balloc_block blk = { h->mem + h->b[i].off, h->b[i].off, h->b[i].size,
					    h->b[i].used, -1 };
		int r = fn(arg, &blk);
		if (r)
			return r;
	}
	return 0;
}

static void mock_destroy(void *self)
{
	((struct mock_heap *)self)->destroyed = 1;
}

static const struct balloc_ops mock_ops = {
	"mock", mock_malloc, mock_calloc, mock_realloc, mock_free, NULL, NULL,
	mock_stats, mock_check, mock_walk, mock_destroy,
};

static struct mock_heap mock;

static struct cmd_session *heap_session(void)
{
	static struct cmd_session s;
	memset(&s, 0, sizeof(s));
	memset(&mock, 0, sizeof(mock));
	mock.b[0].size = MOCK_BYTES;
	mock.n = 1;
	s.opt.mode = MODE_BESTFIT;
	s.opt.arena_bytes = MOCK_BYTES;
	s.opt.width = 80;
	s.heap.ops = &mock_ops;
	s.heap.self = &mock;
	s.next_id = 1;
	return &s;
}

static void test_buddy_session_heap_commands(void **state)
{
	(void)state;
	struct cmd_session *s = heap_session();
	char *out = ok(s, "malloc 100");
	assert_non_null(strstr(out, "#1 = malloc 100 -> offset 0x0, a 112 B block"));
	assert_non_null(strstr(out, "taken from free block 0x0 (4 KiB)"));
	assert_non_null(strstr(out, "left free: 0x70 (3.9 KiB)"));
	free(out);
	ok_quiet(s, "calloc 4 8");
	ok_quiet(s, "malloc 64");
	out = ok(s, "free #2");
	assert_non_null(strstr(out, "free #2: offset 0x70, 32 B"));
	assert_non_null(strstr(out, "no merge"));
	free(out);
	out = ok(s, "free 0x0");
	assert_non_null(strstr(out, "merged with free block 0x70 (32 B)"));
	free(out);
	out = ok(s, "realloc #3 200");
	assert_non_null(strstr(out, "#3: moved to offset 0x"));
	free(out);
	out = ok(s, "map");
	assert_non_null(strstr(out, "best fit: "));
	assert_non_null(strstr(out, "[#3"));
	free(out);
	out = ok(s, "lists");
	assert_non_null(strstr(out, "free blocks: 2"));
	free(out);
	ok_quiet(s, "stats");
	ok_quiet(s, "frag");
	ok_quiet(s, "check");
	ok_quiet(s, "handles");
	static const char *const bad[] = {
		"alloc 3", "pages 2", "free #9", "free 0x5", "realloc #9 10", "realloc #3 0",
		"malloc 0", "malloc 5000", "calloc 2 4K", "buddyinfo",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err;
		if (run(s, bad[i], &out, &err) != 1)
			fail_msg("'%s' did not fail", bad[i]);
		assert_int_equal(strncmp(err, "error: ", 7), 0);
		assert_int_equal(s->nhandles, 1);
		free(out);
		free(err);
	}
	assert_int_equal(mock.n, 3);
	/* A damaged heap: check reports each problem and fails. */
	mock.b[1].off += MOCK_GRAIN;
	char *err;
	assert_int_equal(run(s, "check", &out, &err), 1);
	assert_non_null(strstr(out, "problem: gap"));
	assert_string_equal(err, "error: check: 2 problems\n");
	free(out);
	free(err);
	mock.b[1].off -= MOCK_GRAIN;
	cmd_session_fini(s);
	assert_true(mock.destroyed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buddy_parse_commands),
		cmocka_unit_test(test_buddy_parse_sizes_and_comments),
		cmocka_unit_test(test_buddy_parse_errors_are_one_line),
		cmocka_unit_test(test_buddy_session_narrates_splits_and_merges),
		cmocka_unit_test(test_buddy_session_errors_change_nothing),
		cmocka_unit_test(test_buddy_session_reset_and_quit),
		cmocka_unit_test(test_buddy_session_realloc_keeps_data),
		cmocka_unit_test(test_buddy_session_map_fits_width),
		cmocka_unit_test(test_buddy_session_random_lines_keep_arena_sound),
		cmocka_unit_test(test_buddy_session_random_lines_on_heaps),
		cmocka_unit_test(test_buddy_session_heap_commands),
		cmocka_unit_test(test_buddy_session_kmalloc_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
