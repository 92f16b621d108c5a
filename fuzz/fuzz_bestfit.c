/* SPDX-License-Identifier: MIT */
/*
 * fuzz_bestfit.c - fuzz harness for the best-fit heap (bfit_*).
 *
 * The first bytes of the input pick the buffer: its length and its offset
 * from an aligned address (the heap must cope with any). Then each
 * operation is an opcode byte and its arguments:
 *
 *     malloc | calloc (with overflowing products) | realloc (grow, shrink,
 *     to 0, of NULL) | free | aligned_alloc | usable_size | bad pointer
 *     (inside a block, freed, never allocated)
 *
 * A model keeps every live allocation with its size and fill byte:
 * contents must survive until freed (realloc keeps the common prefix),
 * blocks never overlap and stay inside the buffer, usable_size covers the
 * request, alignment holds. bfit_check runs after every operation; misuse
 * must reach the error handler with the right status and change nothing.
 * Any disagreement aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buddy/bestfit.h"
#include "fuzz_input.h"

#define LIVE_MAX 48                 /* live allocations the model tracks */
#define SIZE_MAX_FUZZ 40000u        /* largest request tried */
#define BUFFER_BYTES ((size_t)1 << 18) /* largest buffer tried */

struct live {
	unsigned char *p; /* what the heap returned */
	size_t size;      /* bytes asked for */
	unsigned char tag; /* every byte of [p, p+size) holds it */
};

struct model {
	struct bfit *heap;
	unsigned char *lo, *hi;    /* the buffer the heap works in */
	struct live live[LIVE_MAX];
	int nr_live;
	unsigned char next_tag;
	int misuse;            /* error handler calls seen */
	int kind;              /* status of the last one */
};

static _Alignas(64) unsigned char buffer[BUFFER_BYTES];

static void die(const char *what)
{
	fprintf(stderr, "fuzz_heap: %s\n", what);
	abort();
}

static void on_misuse(void *arg, int status, const char *msg, const void *ptr)
{
	struct model *m = arg;
	(void)msg, (void)ptr;
	m->misuse++;
	m->kind = status;
}

static void on_problem(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "bfit_check: %s\n", msg);
}

static int ranges_overlap(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	return a < b + blen && b < a + alen;
}

static void live_verify(const struct model *m, int i)
{
	const struct live *l = &m->live[i];
	for (size_t b = 0; b < l->size; b++)
		if (l->p[b] != l->tag)
			die("allocation contents changed while it was live");
}

/* Record a new allocation of size bytes at p (p may be NULL on failure). */
static void live_add(struct model *m, unsigned char *p, size_t size, size_t align)
{
	if (!p)
		return;
	size_t usable = bfit_usable_size(m->heap, p);
	if (usable < size || usable == 0)
		die("usable size below the request");
	if (align && (uintptr_t)p % align)
		die("allocation not aligned as asked");
	if ((uintptr_t)p % BFIT_ALIGN)
		die("allocation not 16-byte aligned");
	if (p < m->lo || p + usable > m->hi)
		die("allocation outside the buffer");
	for (int i = 0; i < m->nr_live; i++)
		if (ranges_overlap(p, usable, m->live[i].p, bfit_usable_size(m->heap, m->live[i].p)))
			die("allocation overlaps a live allocation");
	if (m->nr_live == LIVE_MAX) {
		bfit_free(m->heap, p); /* the model is full: give it back */
		return;
	}
	struct live *l = &m->live[m->nr_live++];
	*l = (struct live){ p, size, ++m->next_tag };
	memset(p, l->tag, size);
}

static void live_remove(struct model *m, int i)
{
	m->live[i] = m->live[--m->nr_live];
}

static size_t fuzz_size(struct fuzz_input *in)
{
	unsigned v = fuzz_u16(in);
	/* Mostly small requests, sometimes large ones. */
	return (v & 0x8000) ? (v & 0x7fff) % SIZE_MAX_FUZZ : (v & 0x7fff) % 300;
}

static void op_malloc(struct model *m, struct fuzz_input *in)
{
	size_t size = fuzz_size(in);
	live_add(m, bfit_malloc(m->heap, size), size, 0);
}

static void op_calloc(struct model *m, struct fuzz_input *in)
{
	size_t n = fuzz_byte(in) % 64, size = fuzz_size(in) % 1024;
	if (fuzz_byte(in) == 0xff)
		n = SIZE_MAX / 2 + 1; /* n * size overflows unless size < 2 */
	unsigned char *p = bfit_calloc(m->heap, n, size);
	if (n > SIZE_MAX / 4 && size > 1 && p)
		die("calloc overflow not refused");
	if (!p)
		return;
	for (size_t b = 0; b < n * size; b++)
		if (p[b])
			die("calloc memory not zero");
	live_add(m, p, n * size, 0);
}

static void op_realloc(struct model *m, struct fuzz_input *in)
{
	size_t size = fuzz_size(in);
	if (!m->nr_live || fuzz_byte(in) % 8 == 0) {
		live_add(m, bfit_realloc(m->heap, NULL, size), size, 0);
		return;
	}
	int i = fuzz_pick(in, m->nr_live);
	struct live l = m->live[i];
	live_verify(m, i);
	unsigned char *q = bfit_realloc(m->heap, l.p, size);
	if (size == 0) {
		if (q)
			die("realloc to 0 returned a block");
		live_remove(m, i);
		return;
	}
	if (!q)
		return; /* failed: the old block stays, unchanged */
	live_remove(m, i);
	size_t keep = l.size < size ? l.size : size;
	for (size_t b = 0; b < keep; b++)
		if (q[b] != l.tag)
			die("realloc lost contents");
	live_add(m, q, size, 0);
}

static void op_free(struct model *m, struct fuzz_input *in)
{
	if (!m->nr_live) {
		bfit_free(m->heap, NULL);
		return;
	}
	int i = fuzz_pick(in, m->nr_live);
	live_verify(m, i);
	bfit_free(m->heap, m->live[i].p);
	live_remove(m, i);
}

static void op_aligned(struct model *m, struct fuzz_input *in)
{
	unsigned shift = fuzz_byte(in);
	size_t align = (size_t)1 << (shift % 13);
	size_t size = fuzz_size(in);
	if (shift & 0x80)
		align += 8; /* not a power of two (or 9 or 24...): must be refused */
	void *p = bfit_aligned_alloc(m->heap, align, size);
	if (align & (align - 1)) {
		if (p || bfit_last_error(m->heap) != BFIT_EALIGN)
			die("aligned_alloc accepted an alignment that is not a power of two");
		return;
	}
	live_add(m, p, size, align);
}

/* Misuse must be reported with the right kind and change nothing. */
static void op_bad_pointer(struct model *m, struct fuzz_input *in)
{
	struct bfit_stats before, after;
	unsigned what = fuzz_byte(in) % 3;
	unsigned char *p;
	int want;

	if (what == 0 && m->nr_live) {
		struct live *l = &m->live[fuzz_pick(in, m->nr_live)];
		size_t usable = bfit_usable_size(m->heap, l->p);
		p = l->p + 1 + fuzz_u16(in) % (usable - 1);
		want = BFIT_EINTERIOR;
	} else if (what == 1) {
		p = (unsigned char *)&before; /* never in the heap */
		want = BFIT_EINVALID;
	} else {
		/* Free a fresh block twice; the second free must be refused. */
		size_t size = fuzz_size(in);
		p = bfit_malloc(m->heap, size);
		if (!p)
			return;
		bfit_free(m->heap, p);
		want = BFIT_EDOUBLE;
	}
	bfit_get_stats(m->heap, &before);
	int seen = m->misuse;
	switch (fuzz_byte(in) % 3) {
	case 0: bfit_free(m->heap, p); break;
	case 1:
		if (bfit_realloc(m->heap, p, 10))
			die("realloc of a bad pointer returned a block");
		break;
	default:
		if (bfit_usable_size(m->heap, p))
			die("usable_size of a bad pointer is not 0");
	}
	bfit_get_stats(m->heap, &after);
	if (m->misuse != seen + 1)
		die("misuse not reported exactly once");
	if (m->kind != want)
		die("misuse reported with the wrong status");
	if (after.live_allocs != before.live_allocs || after.used_bytes != before.used_bytes)
		die("misuse changed the heap");
}

static void op_usable(struct model *m, struct fuzz_input *in)
{
	if (!m->nr_live)
		return;
	struct live *l = &m->live[fuzz_pick(in, m->nr_live)];
	if (bfit_usable_size(m->heap, l->p) < l->size)
		die("usable size shrank below the request");
}

static void model_verify(struct model *m)
{
	struct bfit_stats st;

	if (bfit_check(m->heap, on_problem, NULL) != 0)
		die("bfit_check found problems");
	bfit_get_stats(m->heap, &st);
	if (st.live_allocs != (size_t)m->nr_live)
		die("live allocations disagree with the model");
	if (st.used_bytes + st.free_bytes != st.heap_bytes)
		die("used + free != heap bytes");
}

static void model_run(struct model *m, struct fuzz_input *in)
{
	while (!fuzz_empty(in)) {
		switch (fuzz_byte(in) % 10) {
		case 0: case 1: op_malloc(m, in); break;
		case 2: op_calloc(m, in); break;
		case 3: op_realloc(m, in); break;
		case 4: case 5: op_free(m, in); break;
		case 6: op_aligned(m, in); break;
		case 7: op_bad_pointer(m, in); break;
		default: op_usable(m, in);
		}
		model_verify(m);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct fuzz_input in = { data, size };
	struct bfit_config cfg = { 0 };

	memset(&m, 0, sizeof(m));
	fuzz_reclaim(buffer, sizeof(buffer));
	cfg.on_error = on_misuse;
	cfg.error_arg = &m;
	size_t off = fuzz_byte(&in) % 64;
	size_t len = bfit_min_bytes() + (size_t)fuzz_u16(&in) * 4;
	if (off + len > BUFFER_BYTES)
		len = BUFFER_BYTES - off;
	int st = -1;
	m.heap = bfit_init(buffer + off, len, &cfg, &st);
	if (!m.heap || st != BFIT_OK)
		die("heap creation failed");
	m.lo = buffer + off;
	m.hi = buffer + off + len;
	model_run(&m, &in);
	while (m.nr_live) {
		live_verify(&m, m.nr_live - 1);
		bfit_free(m.heap, m.live[m.nr_live - 1].p);
		live_remove(&m, m.nr_live - 1);
	}
	model_verify(&m);
	return 0;
}
